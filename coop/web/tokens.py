"""A member's personal access tokens for the JSON API: made, listed, revoked, one club at a time."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..forms.auth import EmptyForm
from ..forms.tokens import TokenForm
from ..services import tokens
from .handling import attempt, check_button, enter_club, members_only

bp = members_only(Blueprint("tokens", __name__))


def _page(club_id: int, form: TokenForm, *, secret: str | None = None, status: int = 200):
    return render_template("tokens/tokens.html", form=form, secret=secret, action_form=EmptyForm(),
                           tokens=tokens.tokens_of(current_user.id, club_id), working=tokens.is_working), status


@bp.route("/clubs/<id:club_id>/tokens", methods=["GET", "POST"])
def token_list(club_id: int):
    enter_club(club_id)
    form = TokenForm()
    if form.validate_on_submit():
        made = attempt(form, lambda: tokens.create_token(
            current_user.id, club_id, name=form.name.data, scope=form.scope.data, expires_on=form.expires_on.data,
            form_key=form.form_key.data))
        if made is not None:
            # The secret is shown on this answer only: never in a flash message (the session cookie) or a link.
            return _page(club_id, TokenForm(formdata=None), secret=made.secret, status=201)
    status = getattr(form, "refusal_status", 400) if form.is_submitted() else 200
    return _page(club_id, form, status=status)


@bp.post("/clubs/<id:club_id>/tokens/<id:token_id>/revoke")
def revoke(club_id: int, token_id: int):
    enter_club(club_id)
    check_button()
    done = tokens.revoke_token(current_user.id, club_id, token_id)
    flash(_("The token “%(name)s” no longer works.", name=done.name), "info")
    return redirect(url_for("tokens.token_list", club_id=club_id))
