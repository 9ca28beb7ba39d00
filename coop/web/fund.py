"""Pooled savings: my savings, the fund, contributions, the month sheet, arrears, refunds, dissolution."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from .. import amounts, csvfile
from ..forms.auth import EmptyForm
from ..forms.fund import (
    AmountForm,
    ConfirmImportForm,
    ContributionForm,
    HandOverForm,
    ImportForm,
    OneTimeButton,
    PledgeForm,
    ReverseForm,
    month_form_class,
)
from ..models import OFFICER_ROLES, MemberStatus, PayoutKind
from ..services import access, clubs, fund, imports, shares
from ..services.charter import charter_of
from . import sealed
from .charts import line_chart
from .handling import attempt, cancel_with_reason, check_button, club_today, enter_club, locale_name, members_only, render_form

bp = members_only(Blueprint("fund", __name__))


# --- A member's savings ----------------------------------------------------------------------


@bp.route("/clubs/<id:club_id>/savings", methods=["GET", "POST"])
def my_savings(club_id: int):
    me = enter_club(club_id)
    form = PledgeForm()
    current = fund.pledge_in_force(club_id, me.id, club_today())
    if not form.is_submitted() and current is not None:
        form.monthly_amount.set_cents(current.monthly_amount, locale_name())
        form.rhythm.data = current.rhythm
    if form.validate_on_submit():
        pledge = attempt(form, lambda: fund.set_pledge(current_user.id, club_id,
                                                       monthly_amount=form.monthly_amount.cents,
                                                       rhythm=form.rhythm.data))
        if pledge is not None:
            flash(_("Your pledge is recorded; it applies from %(date)s.",
                    date=format_date(pledge.effective_from, "MMMM y")), "success")
            return redirect(url_for("fund.my_savings", club_id=club_id))
    charter = charter_of(club_id)
    return render_form(
        "fund/my_savings.html", form,
        pledge=current, history=fund.pledge_history(current_user.id, club_id),
        standing=fund.my_standing(current_user.id, club_id),
        position=fund.position(current_user.id, club_id),
        rows=fund.contributions(current_user.id, club_id, membership_id=me.id, limit=24),
        charter_min=charter.min_monthly_contribution, charter_max=charter.max_yearly_contribution,
    )


# --- The fund ----------------------------------------------------------------------------------


@bp.get("/clubs/<id:club_id>/fund")
def position(club_id: int):
    enter_club(club_id)
    history = fund.fund_history(current_user.id, club_id)
    running, cumulative = 0, []
    for point in history:
        running += point.contributions
        cumulative.append(running)
    chart = line_chart(
        [format_date(p.month, "MMM yy") for p in history],
        [(_("Contributions received (total)"), "contributions", cumulative),
         (_("Invested"), "invested", [p.invested for p in history]),
         (_("Cash"), "cash", [p.cash for p in history])],
    )
    return render_template("fund/position.html", position=fund.position(current_user.id, club_id),
                           history=history, chart=chart)


# --- Contributions (the treasurer) ------------------------------------------------------------


@bp.get("/clubs/<id:club_id>/contributions")
def contributions(club_id: int):
    me = enter_club(club_id)
    if not access.is_bookkeeper(me):
        return redirect(url_for("fund.my_savings", club_id=club_id))
    before = request.args.get("before", type=int)
    if before is not None and not 0 < before < 2**31:
        abort(404)
    rows = fund.contributions(current_user.id, club_id, before_id=before, limit=50)
    next_before = rows[-1].contribution.id if len(rows) == 50 else None
    return render_template("fund/contributions.html", rows=rows, next_before=next_before)


def _member_choices(club_id: int):
    return [(m.id, m.user.name) for m in clubs.members_of(current_user.id, club_id)]


@bp.route("/clubs/<id:club_id>/contributions/new", methods=["GET", "POST"])
def record_contribution(club_id: int):
    enter_club(club_id)
    access.money_keeper(current_user.id, club_id)
    form = ContributionForm()
    form.membership_id.choices = _member_choices(club_id)
    if not form.is_submitted():
        form.received_on.data = club_today()
        form.membership_id.data = request.args.get("member", type=int)
    if form.validate_on_submit():
        done = attempt(form, lambda: fund.record_contribution(
            current_user.id, club_id, membership_id=form.membership_id.data, amount=form.amount.cents,
            received_on=form.received_on.data, method=form.method.data, bank_reference=form.bank_reference.data or "",
            idempotency_key=form.form_key.data))
        if done is not None:
            flash(_("Contribution recorded."), "success")
            return redirect(url_for("fund.contributions", club_id=club_id))
    return render_form("fund/contribution_new.html", form)


@bp.route("/clubs/<id:club_id>/contributions/<id:contribution_id>/reverse", methods=["GET", "POST"])
def reverse_contribution(club_id: int, contribution_id: int):
    enter_club(club_id)
    access.money_keeper(current_user.id, club_id)
    contribution = fund.contribution_in(club_id, contribution_id)
    form = ReverseForm()
    if form.validate_on_submit():
        done = attempt(form, lambda: fund.reverse_contribution(current_user.id, club_id, contribution_id,
                                                               reason=form.reason.data,
                                                               idempotency_key=form.form_key.data))
        if done is not None:
            flash(_("The contribution is reversed."), "success")
            return redirect(url_for("fund.contributions", club_id=club_id))
    return render_form("fund/reverse.html", form, contribution=contribution)


def _month_from(text: str | None) -> date:
    if not text:
        return club_today().replace(day=1)
    try:
        year, month = (int(part) for part in text.split("-"))
        if not 2000 <= year <= 2999:
            abort(404)
        return date(year, month, 1)
    except (TypeError, ValueError):
        abort(404)


@bp.route("/clubs/<id:club_id>/contributions/month", methods=["GET", "POST"])
def month_sheet(club_id: int):
    enter_club(club_id)
    month = _month_from(request.args.get("month"))
    lines = fund.month_sheet(current_user.id, club_id, month)
    form = month_form_class([line.membership.id for line in lines])()
    if not form.is_submitted():
        form.received_on.data = min(club_today(), month.replace(day=5)) if month <= club_today() else club_today()
        for line in lines:
            left = max(line.due - line.paid_in_month, 0)
            if left:
                form[f"amount_{line.membership.id}"].set_cents(left, locale_name())
    if form.validate_on_submit():
        entries = [(line.membership.id, form[f"amount_{line.membership.id}"].cents) for line in lines]
        done = attempt(form, lambda: fund.record_month(
            current_user.id, club_id, lines=entries, received_on=form.received_on.data, method=form.method.data,
            form_key=form.form_key.data))
        if done is not None:
            flash(ngettext("%(num)d contribution recorded.", "%(num)d contributions recorded.", len(done)), "success")
            return redirect(url_for("fund.contributions", club_id=club_id))
    return render_form("fund/month.html", form, lines=lines, month=month)


# --- Importing a CSV file ----------------------------------------------------------------------------


SALT = "coop-contribution-import"


def _seal(club_id: int, data: bytes) -> str:
    return sealed.seal(SALT, club_id, data)


def _unseal(club_id: int, payload: str) -> bytes:
    return sealed.unseal(SALT, club_id, payload, csvfile.MAX_BYTES)


@bp.route("/clubs/<id:club_id>/contributions/import", methods=["GET", "POST"])
def import_contributions(club_id: int):
    enter_club(club_id)
    access.money_keeper(current_user.id, club_id)
    form = ImportForm()
    result, confirm_form = None, None
    if form.validate_on_submit():
        data = form.file.data.read(csvfile.MAX_BYTES + 1)
        result = attempt(form, lambda: imports.preview(current_user.id, club_id, data))
        if result is not None and not result.error_count:
            confirm_form = ConfirmImportForm(payload=_seal(club_id, data))
    status = 400 if result is not None and result.error_count else None
    page, code = render_form("fund/import.html", form, result=result, confirm_form=confirm_form,
                             columns=imports.HEADERS)
    return page, status or code


@bp.post("/clubs/<id:club_id>/contributions/import/confirm")
def confirm_import(club_id: int):
    enter_club(club_id)
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400)
    outcome = imports.confirm(current_user.id, club_id, _unseal(club_id, form.payload.data))
    flash(" ".join([ngettext("%(num)d contribution imported (%(total)s).", "%(num)d contributions imported (%(total)s).",
                             outcome.created, total=format_currency_cents(outcome.total)),
                    ngettext("%(num)d line was already recorded.", "%(num)d lines were already recorded.",
                             outcome.skipped)]), "success")
    return redirect(url_for("fund.contributions", club_id=club_id))


def format_currency_cents(cents: int) -> str:
    return amounts.money(cents, g.club.currency, locale_name())


# --- Arrears -------------------------------------------------------------------------------------


@bp.get("/clubs/<id:club_id>/arrears")
def arrears(club_id: int):
    enter_club(club_id)
    return render_template("fund/arrears.html", standings=fund.arrears(current_user.id, club_id))


# --- The share register -------------------------------------------------------------------------------


@bp.get("/clubs/<id:club_id>/shares")
def share_register(club_id: int):
    me = enter_club(club_id)
    member = request.args.get("member", type=int)
    moves = shares.movements_for(current_user.id, club_id, member if access.is_bookkeeper(me) else None)
    names = {m.id: m.user.name for m in clubs.members_of(current_user.id, club_id, statuses=tuple(MemberStatus))}
    return render_template("fund/share_register.html", moves=moves, names=names,
                           shares=shares.shares_for(current_user.id, club_id))


# --- Leavers: their share valued, then paid ---------------------------------------------------------------


@bp.get("/clubs/<id:club_id>/refunds")
def refunds(club_id: int):
    enter_club(club_id)
    return render_template("fund/refunds.html", leavers=fund.leavers(current_user.id, club_id),
                           position=fund.position(current_user.id, club_id), today=club_today(),
                           charter=charter_of(club_id), action_form=OneTimeButton(),
                           holdings=fund.shares_to_hand_over(current_user.id, club_id), hand_over_form=HandOverForm(),
                           waiting=fund.payouts_waiting(current_user.id, club_id, fund.LEAVER_PAYOUTS))


@bp.post("/clubs/<id:club_id>/leavers/<id:membership_id>/value")
def value_exit(club_id: int, membership_id: int):
    enter_club(club_id)
    form = OneTimeButton()
    if not form.validate_on_submit():
        abort(400)
    valuation = fund.value_exit(current_user.id, club_id, membership_id, form_key=form.form_key.data)
    flash(_("%(name)s's share is valued at %(amount)s: the club owes it and pays it by %(day)s.",
            name=valuation.membership.user.name, amount=amounts.money(valuation.value, g.club.currency, locale_name()),
            day=format_date(valuation.pay_by, "medium")), "success")
    return redirect(url_for("fund.refunds", club_id=club_id))


@bp.route("/clubs/<id:club_id>/refunds/<id:membership_id>", methods=["GET", "POST"])
def refund(club_id: int, membership_id: int):
    enter_club(club_id)
    leaver = next((s for s in fund.leavers_to_refund(current_user.id, club_id)
                   if s.membership.id == membership_id), None)
    if leaver is None:
        abort(404)
    form = AmountForm()
    if not form.is_submitted():
        form.amount.set_cents(min(leaver.to_enter, max(fund.available_cash(club_id), 0)), locale_name())
    if form.validate_on_submit():
        done = attempt(form, lambda: fund.refund(current_user.id, club_id, membership_id, amount=form.amount.cents,
                                                 idempotency_key=form.form_key.data))
        if done is not None:
            flash(_("The refund is entered. A second officer must approve it before it is paid (R11)."), "success")
            return redirect(url_for("fund.refunds", club_id=club_id))
    return render_form("fund/refund.html", form, leaver=leaver, available=fund.available_cash(club_id))


@bp.post("/clubs/<id:club_id>/refunds/<id:membership_id>/shares")
def hand_over(club_id: int, membership_id: int):
    enter_club(club_id)
    access.money_keeper(current_user.id, club_id)
    form = HandOverForm()
    if not form.validate_on_submit() or form.stake.hundredths is None:
        message = "; ".join(str(e) for errors in form.errors.values() for e in errors) or _("Enter a stake.")
        flash(message, "error")
        return render_template("errors/http.html", status=400, message=message), 400
    fund.hand_over(current_user.id, club_id, membership_id, investment_id=form.investment_id.data,
                   stake_hundredths=form.stake.hundredths, idempotency_key=form.form_key.data)
    flash(_("The shares are entered. A second officer must approve the hand-over before they leave the books "
            "(R11)."), "success")
    return redirect(url_for("fund.refunds", club_id=club_id))


# --- Partial withdrawals, where the charter allows them ----------------------------------------------------


def _enter_amount(club_id: int, enter, success: str, page: str):
    """An amount typed in a line of a page's table (a withdrawal, a part at dissolution): a malformed one is a 400
    with its message; the service refuses the rest."""
    enter_club(club_id)
    form = AmountForm()
    if not form.validate_on_submit() or form.amount.cents is None:
        message = "; ".join(str(e) for errors in form.errors.values() for e in errors) or _("Enter an amount.")
        flash(message, "error")
        return render_template("errors/http.html", status=400, message=message), 400
    enter(form)
    flash(success, "success")
    return redirect(url_for(page, club_id=club_id))


@bp.get("/clubs/<id:club_id>/withdrawals")
def withdrawals(club_id: int):
    enter_club(club_id, roles=set(OFFICER_ROLES))
    position = fund.position(current_user.id, club_id)
    return render_template("fund/withdrawals.html", position=position, amount_form=AmountForm(),
                           allowed=charter_of(club_id).partial_withdrawals,
                           waiting=fund.payouts_waiting(current_user.id, club_id, PayoutKind.WITHDRAWAL))


@bp.post("/clubs/<id:club_id>/withdrawals/<id:membership_id>")
def withdraw(club_id: int, membership_id: int):
    return _enter_amount(club_id, lambda form: fund.withdraw(
        current_user.id, club_id, membership_id, amount=form.amount.cents, idempotency_key=form.form_key.data),
        _("The withdrawal is entered. A second officer must approve it before it is paid (R11)."), "fund.withdrawals")


# --- Dissolution --------------------------------------------------------------------------------------


@bp.get("/clubs/<id:club_id>/dissolution")
def dissolution(club_id: int):
    enter_club(club_id)
    return render_template("fund/dissolution.html", plan=fund.dissolution_plan(current_user.id, club_id),
                           amount_form=AmountForm(), action_form=EmptyForm(),
                           waiting=fund.payouts_waiting(current_user.id, club_id, PayoutKind.DISTRIBUTION))


@bp.post("/clubs/<id:club_id>/dissolution/<id:membership_id>")
def distribute(club_id: int, membership_id: int):
    return _enter_amount(club_id, lambda form: fund.distribute(
        current_user.id, club_id, membership_id, amount=form.amount.cents, idempotency_key=form.form_key.data),
        _("The payment is entered. A second officer must approve it before it is posted (R11)."), "fund.dissolution")


# --- Money leaving the fund: a second officer approves (R11) ------------------------------------------


PAYOUT_PAGES = {PayoutKind.REFUND: "fund.refunds", PayoutKind.WITHDRAWAL: "fund.withdrawals",
                PayoutKind.DISTRIBUTION: "fund.dissolution", PayoutKind.IN_KIND: "fund.refunds"}


def _after_payout(club_id: int, payout) -> str:
    page = PAYOUT_PAGES[PayoutKind(payout.kind)]
    return url_for(page, club_id=club_id)


@bp.post("/clubs/<id:club_id>/payouts/<id:payout_id>/approve")
def approve_payout(club_id: int, payout_id: int):
    enter_club(club_id, roles=set(OFFICER_ROLES))
    check_button()
    payout = fund.approve_payout(current_user.id, club_id, payout_id)
    flash(_("The payment is approved and posted to the books."), "success")
    return redirect(_after_payout(club_id, payout))


@bp.post("/clubs/<id:club_id>/payouts/<id:payout_id>/cancel")
def cancel_payout(club_id: int, payout_id: int):
    payout = cancel_with_reason(club_id, lambda reason: fund.cancel_payout(current_user.id, club_id, payout_id,
                                                                            reason))
    return redirect(_after_payout(club_id, payout))


@bp.post("/clubs/<id:club_id>/close")
def close(club_id: int):
    club = fund.close_club(current_user.id, club_id)
    flash(_("%(name)s is closed.", name=club.name), "success")
    return redirect(url_for("main.index"))
