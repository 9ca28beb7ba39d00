"""Trading time with partner clubs: the partnerships, their votes and suspension, exchanges across clubs."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..amounts import duration
from ..extensions import limiter
from ..forms.auth import EmptyForm
from ..forms.base import OneTimeForm
from ..forms.partners import CrossExchangeForm, DeclineForm, ProposeForm, PutToVoteForm
from ..models import CrossState, PartnershipStatus, Role
from ..services import access, ballots, partners
from .handling import attempt, check_button, club_today, enter_club, members_only, post_on_page
from .timebank import _exchange_limit, _per_person

bp = members_only(Blueprint("partners", __name__))


@bp.get("/clubs/<id:club_id>/partners")
def overview(club_id: int, status: int = 200, **forms):
    me = enter_club(club_id)
    partners.expire_due(club_id=club_id)
    lines = partners.partnerships_of(current_user.id, club_id)
    vote_form = forms.get("vote_form") or PutToVoteForm(formdata=None)
    if vote_form.closes_at.data is None:
        vote_form.closes_at.data = clock.deadline_in(me.club.time_zone, days=7)
    return render_template(
        "partners/overview.html", me=me, lines=lines, to_confirm=partners.to_confirm(current_user.id, club_id),
        propose_form=forms.get("propose_form") or ProposeForm(formdata=None), vote_form=vote_form,
        key_form=OneTimeForm(formdata=None), Status=PartnershipStatus, manager=access.is_manager(me)), status


@bp.post("/clubs/<id:club_id>/partners")
@limiter.limit(_exchange_limit, key_func=_per_person)
def propose(club_id: int):
    enter_club(club_id, roles={Role.MANAGER})
    form = ProposeForm()
    return post_on_page(form, lambda f: partners.propose(
        current_user.id, club_id, partner_club_id=f.partner_club_id.data, limit_minutes=f.limit_hours.data * 60,
        form_key=f.form_key.data),
        lambda row: _("Partnership with %(club)s proposed: now put it to your members' vote.", club=row.partner_name),
        url_for("partners.overview", club_id=club_id),
        lambda status: overview(club_id, status, propose_form=form),
        field_for=lambda f: "limit_hours" if f == "limit_minutes" else f)


@bp.post("/clubs/<id:club_id>/partners/<id:partnership_id>/vote")
def put_to_vote(club_id: int, partnership_id: int):
    enter_club(club_id, roles={Role.MANAGER})
    form = PutToVoteForm()
    return post_on_page(form, lambda f: ballots.open_ballot(
        current_user.id, club_id, kind="partnership", method="yes_no", closes_at=f.closes_at.data, local=True,
        subject=ballots.Subject(partnership_id=partnership_id), form_key=f.form_key.data),
        _("The members are asked to vote."), url_for("partners.overview", club_id=club_id),
        lambda status: overview(club_id, status, vote_form=form))


def _keyed_button() -> str:
    form = OneTimeForm()
    if not form.validate_on_submit():
        abort(400)
    return form.form_key.data


@bp.post("/clubs/<id:club_id>/partners/<id:partnership_id>/suspend")
def suspend(club_id: int, partnership_id: int):
    enter_club(club_id, roles={Role.MANAGER})
    row = partners.suspend(current_user.id, club_id, partnership_id, form_key=_keyed_button())
    flash(_("Trading with %(club)s is suspended.", club=row.partner_name), "info")
    return redirect(url_for("partners.overview", club_id=club_id))


@bp.post("/clubs/<id:club_id>/partners/<id:partnership_id>/resume")
def resume(club_id: int, partnership_id: int):
    enter_club(club_id, roles={Role.MANAGER})
    row = partners.resume(current_user.id, club_id, partnership_id, form_key=_keyed_button())
    flash(_("This club trades with %(club)s again.", club=row.partner_name), "success")
    return redirect(url_for("partners.overview", club_id=club_id))


@bp.route("/clubs/<id:club_id>/partners/<id:partnership_id>", methods=["GET"])
def partnership(club_id: int, partnership_id: int, status: int = 200, **forms):
    me = enter_club(club_id)
    partners.expire_due(club_id=club_id)
    line = partners.partnership_for(current_user.id, club_id, partnership_id)
    form = forms.get("record_form")
    listings, people = [], []
    if line.partnership.trading:
        people = partners.partner_members(current_user.id, club_id, partnership_id)
        listings = partners.partner_listings(current_user.id, club_id, partnership_id)
        if form is None:
            form = CrossExchangeForm(formdata=None)
            form.done_on.data = club_today()
        form.partner_member_id.choices = people
    return render_template(
        "partners/partnership.html", me=me, line=line, listings=listings, record_form=form,
        exchanges=partners.exchanges_with(current_user.id, club_id, partnership_id),
        decline_form=forms.get("decline_form") or DeclineForm(formdata=None), action_form=EmptyForm(),
        State=CrossState), status


@bp.post("/clubs/<id:club_id>/partners/<id:partnership_id>/exchanges")
@limiter.limit(_exchange_limit, key_func=_per_person)
def record(club_id: int, partnership_id: int):
    enter_club(club_id)
    form = CrossExchangeForm()
    form.partner_member_id.choices = partners.partner_members(current_user.id, club_id, partnership_id)
    return post_on_page(form, lambda f: partners.record_exchange(
        current_user.id, club_id, partnership_id, partner_member_id=f.partner_member_id.data,
        direction=f.direction.data, minutes=f.total_minutes, done_on=f.done_on.data, description=f.description.data,
        form_key=f.form_key.data),
        lambda x: _("The exchange of %(duration)s is recorded. %(name)s will confirm it in their club.",
                    duration=duration(x.minutes), name=x.partner_member_name),
        url_for("partners.partnership", club_id=club_id, partnership_id=partnership_id),
        lambda status: partnership(club_id, partnership_id, status, record_form=form),
        field_for=lambda f: "hours" if f == "minutes" else f)


def _back(club_id: int, cross) -> object:
    return redirect(url_for("partners.partnership", club_id=club_id, partnership_id=cross.partnership_id))


@bp.post("/clubs/<id:club_id>/partners/exchanges/<id:cross_id>/confirm")
def confirm(club_id: int, cross_id: int):
    enter_club(club_id)
    check_button()
    cross = partners.confirm(current_user.id, club_id, cross_id)
    flash(_("Thank you: %(duration)s are counted in both clubs.", duration=duration(cross.minutes))
          if cross.state == CrossState.COMPLETED else
          _("Confirmed: %(duration)s are counted here; the other club counts them as soon as it hears.",
            duration=duration(cross.minutes)), "success")
    return _back(club_id, cross)


@bp.post("/clubs/<id:club_id>/partners/exchanges/<id:cross_id>/decline")
def decline(club_id: int, cross_id: int):
    enter_club(club_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        abort(400)
    cross = attempt(form, lambda: partners.decline(current_user.id, club_id, cross_id, reason=form.reason.data))
    if cross is None:  # refused: already confirmed (409), not theirs to decline (403)…
        abort(getattr(form, "refusal_status", 400))
    flash(_("The exchange is declined."), "info")
    return _back(club_id, cross)


@bp.post("/clubs/<id:club_id>/partners/exchanges/<id:cross_id>/withdraw")
def withdraw(club_id: int, cross_id: int):
    enter_club(club_id)
    check_button()
    cross = partners.withdraw(current_user.id, club_id, cross_id)
    flash(_("The exchange is withdrawn."), "info")
    return _back(club_id, cross)
