"""Home page and the language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user

from ..forms.auth import LanguageForm
from ..services import auth, ballots, clubs, regions

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return render_template("main/welcome.html")
    return render_template("main/home.html", memberships=clubs.my_memberships(current_user.id),
                           waiting=ballots.open_ballots_for(current_user.id),
                           regions=regions.my_regions(current_user.id))


@bp.post("/language")
def switch_language():
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    language = form.language.data
    session["language"] = language
    if current_user.is_authenticated:
        auth.set_language(current_user.id, language)
    return redirect(safe_next(request.form.get("next")))


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect, never a control character (a CR LF would split the
    Location header: werkzeug refuses it with a 500, after the login was done)."""
    if target and target.isprintable() and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and len(target) <= 2000:
            return target
    return url_for("main.index")


@bp.get("/healthz")
def health():
    return {"status": "ok", "version": current_app.config.get("VERSION", "0.1.0")}
