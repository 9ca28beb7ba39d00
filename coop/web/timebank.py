"""The time bank's pages (R12): offers and requests, exchanges, limits, reciprocity, statements."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user

from .. import labels
from ..amounts import duration
from ..extensions import limiter
from ..forms.auth import EmptyForm
from ..forms.timebank import (
    AnswerForm,
    CompleteForm,
    DisputeForm,
    ExchangeForm,
    LimitsForm,
    ListingForm,
    PrivacyForm,
    SearchForm,
    SettleForm,
    StatusForm,
)
from ..models import ExchangeStatus, ListingStatus, Role
from ..services import access, clubs, timebank
from ..services.charter import charter_of
from .exports import csv_response, safe
from .handling import attempt, check_button, enter_club, members_only, post_on_page, render_form

bp = members_only(Blueprint("timebank", __name__))


def _exchange_limit() -> str:
    return current_app.config["RATELIMIT_EXCHANGE"]


def _per_person() -> str:
    """Exchanges are limited per person (several members may share one address)."""
    return f"user:{current_user.id}" if current_user.is_authenticated else get_remote_address()


def _enter(club_id: int, roles=None):
    """The acting member; exchanges past their day are marked expired first."""
    me = enter_club(club_id, roles=roles)
    timebank.expire_due(club_id=club_id)
    return me


# --- Overview ------------------------------------------------------------------------------------


@bp.get("/clubs/<id:club_id>/time")
def overview(club_id: int):
    me = _enter(club_id)
    return render_template(
        "timebank/overview.html", me=me, standing=timebank.standing(current_user.id, club_id),
        to_confirm=timebank.to_confirm(current_user.id, club_id),
        exchanges=timebank.exchanges_of(current_user.id, club_id, limit=20),
        listings=timebank.listings_of(current_user.id, club_id),
        members=timebank.reciprocity(current_user.id, club_id),
        disputes=timebank.disputes(current_user.id, club_id) if access.is_bookkeeper(me) else [],
        privacy_form=PrivacyForm(hidden=me.hides_time_balance), action_form=EmptyForm(),
        warning_percent=charter_of(club_id).time_warning_percent)


@bp.post("/clubs/<id:club_id>/time/privacy")
def privacy(club_id: int):
    enter_club(club_id)
    form = PrivacyForm()
    if not form.validate_on_submit():
        abort(400)
    timebank.hide_balance(current_user.id, club_id, bool(form.hidden.data))
    flash(_("Your time balance is now hidden from other members.") if form.hidden.data
          else _("Your time balance is now shown to other members."), "success")
    return redirect(url_for("timebank.overview", club_id=club_id))


# --- Offers and requests ---------------------------------------------------------------------------


@bp.get("/clubs/<id:club_id>/time/offers")
def offers(club_id: int):
    _enter(club_id)
    form = SearchForm(request.args)
    page_text = request.args.get("page", "1")
    if not form.validate() or not (page_text.isascii() and page_text.isdigit()) or len(page_text) > 6:
        flash(_("This search could not be understood."), "error")
        return render_template("timebank/offers.html", form=form, results=None), 400
    results = timebank.search(current_user.id, club_id, words=form.q.data or "", category=form.category.data or None,
                              kind=form.kind.data or None, page=int(page_text))
    args = {k: v for k, v in (("q", form.q.data), ("category", form.category.data), ("kind", form.kind.data)) if v}
    return render_template("timebank/offers.html", form=form, results=results, args=args)


@bp.route("/clubs/<id:club_id>/time/offers/new", methods=["GET", "POST"])
def publish(club_id: int):
    enter_club(club_id)
    form = ListingForm(kind=request.args.get("kind", "offer")[:10])
    if form.validate_on_submit():
        done = attempt(form, lambda: timebank.publish(current_user.id, club_id, form.values(),
                                                      form_key=form.form_key.data))
        if done is not None:
            flash(_("Your offer is published.") if done.kind == "offer" else _("Your request is published."),
                  "success")
            return redirect(url_for("timebank.listing", club_id=club_id, listing_id=done.id))
    return render_form("timebank/listing_form.html", form, listing=None)


@bp.get("/clubs/<id:club_id>/time/offers/<id:listing_id>")
def listing(club_id: int, listing_id: int):
    me = _enter(club_id)
    shown = timebank.listing_for(current_user.id, club_id, listing_id)
    return render_template("timebank/listing.html", listing=shown, me=me, open=timebank.is_open(shown),
                           status_form=StatusForm(status=shown.status), answer_form=AnswerForm())


@bp.route("/clubs/<id:club_id>/time/offers/<id:listing_id>/edit", methods=["GET", "POST"])
def edit_listing(club_id: int, listing_id: int):
    me = enter_club(club_id)
    shown = timebank.listing_for(current_user.id, club_id, listing_id)
    if shown.author_id != me.id or shown.status == ListingStatus.CLOSED:
        abort(404)
    form = ListingForm(obj=shown if request.method == "GET" else None)
    if form.validate_on_submit():
        done = attempt(form, lambda: timebank.update_listing(current_user.id, club_id, listing_id, form.values()))
        if done is not None:
            flash(_("Your changes are saved."), "success")
            return redirect(url_for("timebank.listing", club_id=club_id, listing_id=listing_id))
    return render_form("timebank/listing_form.html", form, listing=shown)


@bp.post("/clubs/<id:club_id>/time/offers/<id:listing_id>/status")
def listing_status(club_id: int, listing_id: int):
    enter_club(club_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    done = timebank.set_listing_status(current_user.id, club_id, listing_id, form.status.data)
    flash(_("It is now %(status)s.", status=labels.LISTING_STATUSES[done.status]), "success")
    return redirect(url_for("timebank.listing", club_id=club_id, listing_id=listing_id))


@bp.post("/clubs/<id:club_id>/time/offers/<id:listing_id>/answer")
def answer(club_id: int, listing_id: int):
    enter_club(club_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        abort(400)
    done = timebank.answer(current_user.id, club_id, listing_id, form_key=form.form_key.data)
    flash(_("%(name)s will see your answer. Once the service is done, either of you records its duration.",
            name=timebank.listing_for(current_user.id, club_id, listing_id).author.user.name), "success")
    return redirect(url_for("timebank.exchange", club_id=club_id, exchange_id=done.id))


# --- Exchanges ----------------------------------------------------------------------------------------


def _partners(club_id: int, me) -> list[tuple[int, str]]:
    return [(m.id, m.user.name) for m in clubs.members_of(current_user.id, club_id) if m.id != me.id]


@bp.route("/clubs/<id:club_id>/time/exchanges/new", methods=["GET", "POST"])
@limiter.limit(_exchange_limit, methods=["POST"], key_func=_per_person)
def record(club_id: int):
    me = enter_club(club_id)
    form = ExchangeForm()
    form.other_id.choices = _partners(club_id, me)
    if request.method == "GET":
        form.done_on.data = date.today()
    if form.validate_on_submit():
        done = attempt(form, lambda: timebank.record_exchange(
            current_user.id, club_id, other_id=form.other_id.data, direction=form.direction.data,
            minutes=form.total_minutes, done_on=form.done_on.data, description=form.description.data,
            form_key=form.form_key.data), field_for=lambda f: "hours" if f == "minutes" else f)
        if done is not None:
            flash(_recorded(done, me), "success")
            return redirect(url_for("timebank.exchange", club_id=club_id, exchange_id=done.id))
    return render_form("timebank/record.html", form)


def _recorded(exchange, me) -> str:
    if exchange.status == ExchangeStatus.CONFIRMED:
        return _("The exchange of %(duration)s is recorded and counted.", duration=duration(exchange.minutes))
    return _("The exchange of %(duration)s is recorded. %(name)s will confirm it.",
             duration=duration(exchange.minutes), name=exchange.other(me.id).user.name)


def _exchange_page(club_id: int, exchange_id: int, status: int = 200, **submitted):
    me = _enter(club_id)
    shown = timebank.exchange_for(current_user.id, club_id, exchange_id)
    complete_form = submitted.get("complete_form") or CompleteForm(formdata=None)
    if "complete_form" not in submitted:
        complete_form.done_on.data = date.today()
        complete_form.description.data = shown.description
    return render_template(
        "timebank/exchange.html", exchange=shown, me=me, party=shown.party(me.id),
        settler=timebank.may_settle(me, shown),
        complete_form=complete_form, dispute_form=submitted.get("dispute_form") or DisputeForm(formdata=None),
        settle_form=submitted.get("settle_form") or SettleForm(formdata=None), action_form=EmptyForm(),
        expired=shown.expires_on is not None and shown.expires_on < date.today()), status


@bp.get("/clubs/<id:club_id>/time/exchanges/<id:exchange_id>")
def exchange(club_id: int, exchange_id: int):
    return _exchange_page(club_id, exchange_id)


def _exchange_form(club_id: int, exchange_id: int, name: str, form, action, success):
    enter_club(club_id)
    return post_on_page(form, action, success, url_for("timebank.exchange", club_id=club_id, exchange_id=exchange_id),
                        lambda status: _exchange_page(club_id, exchange_id, status, **{name: form}),
                        field_for=lambda f: "hours" if f == "minutes" else f)


@bp.post("/clubs/<id:club_id>/time/exchanges/<id:exchange_id>/complete")
@limiter.limit(_exchange_limit, key_func=_per_person)
def complete(club_id: int, exchange_id: int):
    me = enter_club(club_id)
    return _exchange_form(club_id, exchange_id, "complete_form", CompleteForm(), lambda f: timebank.complete(
        current_user.id, club_id, exchange_id, minutes=f.total_minutes, done_on=f.done_on.data,
        description=f.description.data), lambda done: _recorded(done, me))


@bp.post("/clubs/<id:club_id>/time/exchanges/<id:exchange_id>/confirm")
def confirm(club_id: int, exchange_id: int):
    enter_club(club_id)
    check_button()
    done = timebank.confirm(current_user.id, club_id, exchange_id)
    flash(_("Thank you: %(duration)s go to %(name)s.", duration=duration(done.minutes),
            name=done.provider.user.name), "success")
    return redirect(url_for("timebank.exchange", club_id=club_id, exchange_id=exchange_id))


@bp.post("/clubs/<id:club_id>/time/exchanges/<id:exchange_id>/dispute")
def dispute(club_id: int, exchange_id: int):
    return _exchange_form(club_id, exchange_id, "dispute_form", DisputeForm(), lambda f: timebank.dispute(
        current_user.id, club_id, exchange_id, reason=f.reason.data),
        _("The exchange is disputed. The manager will look at it."))


@bp.post("/clubs/<id:club_id>/time/exchanges/<id:exchange_id>/withdraw")
def withdraw(club_id: int, exchange_id: int):
    enter_club(club_id)
    check_button()
    timebank.withdraw(current_user.id, club_id, exchange_id)
    flash(_("The exchange is withdrawn."), "info")
    return redirect(url_for("timebank.exchange", club_id=club_id, exchange_id=exchange_id))


@bp.post("/clubs/<id:club_id>/time/exchanges/<id:exchange_id>/settle")
def settle(club_id: int, exchange_id: int):
    return _exchange_form(club_id, exchange_id, "settle_form", SettleForm(), lambda f: timebank.settle(
        current_user.id, club_id, exchange_id, decision=f.decision.data, reason=f.reason.data),
        _("The dispute is settled; both members can read your reason."))


# --- Statements ------------------------------------------------------------------------------------------


def _member_arg() -> int | None:
    text = request.args.get("member", "")
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        abort(404)
    return int(text)


@bp.get("/clubs/<id:club_id>/time/statement")
def statement(club_id: int):
    _enter(club_id)
    member, lines = timebank.statement(current_user.id, club_id, _member_arg())
    return render_template("timebank/statement.html", member=member, lines=list(reversed(lines)),
                           limits=timebank.limits_of(current_user.id, club_id, member.id))


@bp.get("/clubs/<id:club_id>/time/statement.csv")
def statement_csv(club_id: int):
    enter_club(club_id)
    member, lines = timebank.statement(current_user.id, club_id, _member_arg())
    rows = [[line.occurred_on.isoformat(), line.transaction_id, line.kind, safe(line.description), safe(line.partner),
             line.amount, line.balance, duration(line.amount), duration(line.balance)] for line in lines]
    return csv_response(f"time-{g.club.id}-{member.id}.csv", [
        _("Date"), _("Transaction"), _("Kind"), _("Description"), _("With"), _("Minutes"), _("Balance in minutes"),
        _("Hours"), _("Balance")], rows)


# --- Officers: the club's flows, attention list, limits ------------------------------------------------------


@bp.get("/clubs/<id:club_id>/time/club")
def club_view(club_id: int):
    me = _enter(club_id, roles={Role.MANAGER, Role.TREASURER, Role.SECRETARY})
    return render_template("timebank/club.html", flows=timebank.flows(current_user.id, club_id),
                           attention=timebank.attention(current_user.id, club_id),
                           members=timebank.reciprocity(current_user.id, club_id),
                           disputes=timebank.disputes(current_user.id, club_id)
                           if access.is_bookkeeper(me) else [],
                           charter=charter_of(club_id))


@bp.route("/clubs/<id:club_id>/time/limits/<id:membership_id>", methods=["GET", "POST"])
def limits(club_id: int, membership_id: int):
    enter_club(club_id, roles={Role.MANAGER})
    member = timebank.standing(current_user.id, club_id, membership_id)
    form = LimitsForm()
    if request.method == "GET":
        form.floor.data = int((member.limits.floor or 0) / 60)
        form.ceiling.data = int((member.limits.ceiling or 0) / 60)
    if form.validate_on_submit():
        done = attempt(form, lambda: timebank.set_member_limits(
            current_user.id, club_id, membership_id, floor=form.floor.data * 60, ceiling=form.ceiling.data * 60,
            reason=form.reason.data))
        if done is not None:
            flash(_("%(name)s's limits are now %(floor)s and %(ceiling)s.", name=member.member.user.name,
                    floor=duration(done.floor), ceiling=duration(done.ceiling)), "success")
            return redirect(url_for("timebank.club_view", club_id=club_id))
    return render_form("timebank/limits.html", form, member=member)
