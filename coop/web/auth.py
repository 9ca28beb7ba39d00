"""Register, log in, log out, change password."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import limiter
from ..forms.auth import (
    FinishRegistrationForm,
    LoginForm,
    NotificationsForm,
    PasswordForm,
    RegisterForm,
    ResetForm,
    ResetRequestForm,
)
from ..services import auth
from .handling import attempt, render_form
from .main import safe_next

bp = Blueprint("auth", __name__, url_prefix="/account")


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _account_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN_ACCOUNT"]


def _account_tried() -> str:
    """The account a login names: wrong passwords are counted per account too, whatever the address."""
    return "account:" + (request.form.get("email") or "").strip().casefold()[:254]


def _refused(response) -> bool:
    return response.status_code == 401


def _register_limit() -> str:
    return current_app.config["RATELIMIT_REGISTER"]


def _reset_limit() -> str:
    return current_app.config["RATELIMIT_RESET"]


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_register_limit, methods=["POST"])
def register():
    """Step one: the address. The same answer whether it has an account or not (docs/security.md)."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        done = attempt(form, lambda: auth.request_registration(form.email.data, str(get_locale() or "fr")) or True)
        if done:
            flash(_("We have sent a message to this address to finish creating your account. Open the link in it "
                    "within %(hours)d hours.", hours=current_app.config["REGISTRATION_LINK_HOURS"]), "info")
            return redirect(url_for("main.index"))
    return render_form("auth/register.html", form)


@bp.route("/register/<token>", methods=["GET", "POST"])
@limiter.limit(_register_limit, methods=["POST"])
def finish_registration(token: str):
    """Step two, from the link in the mail: name, password, language; then the new member is logged in."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    email = auth.registration_email(token)
    form = FinishRegistrationForm()
    if request.method == "GET":
        form.language.data = session.get("language") or request.accept_languages.best_match(("fr", "en")) or "fr"
    if form.validate_on_submit():
        user = attempt(form, lambda: auth.finish_registration(token, form.name.data, form.password.data,
                                                              form.language.data))
        if user is not None:
            session.clear()
            login_user(user)
            flash(_("Welcome to Entraide, %(name)s.", name=user.name), "success")
            return redirect(url_for("main.index"))
    return render_form("auth/finish_registration.html", form, email=email)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_account_limit, methods=["POST"], key_func=_account_tried, deduct_when=_refused)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = attempt(form, lambda: auth.authenticate(form.email.data, form.password.data))
        if user is not None:
            language = session.get("language")
            session.clear()  # a fresh session: nothing carried over from before login
            if language:
                session["language"] = language
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")))
        form.refusal_status = 401
    return render_form("auth/login.html", form)


@bp.post("/logout")
@login_required
def logout():
    auth.end_sessions(current_user.id)
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        user = attempt(form, lambda: auth.change_password(current_user.id, form.current_password.data,
                                                          form.new_password.data))
        if user is not None:
            # The old token is dead everywhere; keep this browser signed in with the new one.
            session.clear()
            login_user(user)
            flash(_("Your password is changed. Other devices are logged out."), "success")
            return redirect(url_for("main.index"))
    return render_form("auth/password.html", form)


@bp.route("/", methods=["GET", "POST"])
@login_required
def settings():
    form = NotificationsForm(obj=current_user if request.method == "GET" else None)
    if form.validate_on_submit():
        auth.set_notifications(current_user.id, **{name: bool(form[name].data) for name in auth.NOTIFICATIONS})
        flash(_("Your choices of messages are saved."), "success")
        return redirect(url_for("auth.settings"))
    return render_form("auth/settings.html", form)


# --- Forgotten password ----------------------------------------------------------------------------------------


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def request_reset():
    form = ResetRequestForm()
    if form.validate_on_submit():
        done = attempt(form, lambda: auth.request_reset(form.email.data) or True)
        if done:
            flash(_("If an account uses this address, a link to choose a new password is on its way. "
                    "It works once, within %(minutes)d minutes.",
                    minutes=current_app.config["PASSWORD_RESET_MINUTES"]), "info")
            return redirect(url_for("auth.login"))
    return render_form("auth/reset_request.html", form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset_password(token: str):
    auth.check_reset(token)
    form = ResetForm()
    if form.validate_on_submit():
        user = attempt(form, lambda: auth.reset_password(token, form.new_password.data))
        if user is not None:
            logout_user()
            session.clear()
            flash(_("Your new password is set. Log in with it; every device was logged out."), "success")
            return redirect(url_for("auth.login"))
    return render_form("auth/reset.html", form)
