"""Revaluing an investment: the club records it at a new value, up (the enterprise does well) or down (an
impairment while it still lives), so that the fund's net assets, and members' shares of them, follow what
the investments are worth.

Two officers, as for money leaving the fund (R11): an officer who keeps the money enters the new value with
its date and reason; another officer approves it, and only then one ``revaluation`` transaction moves the
investment's account to the new value against its revaluation reserve (``revaluation:<project>``, equity,
opened on first use). Neither may be recused on the project (R8). The result does not move: a revaluation
is not realised. When the investment later leaves the books (a sale, a repayment, a write-off), the part of
the reserve that goes with it leaves too (``disposals.leaving``), so the gain or loss the club records
over the investment's life is what came back less what was paid."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from ..extensions import db
from ..models import (
    Account,
    AccountType,
    Investment,
    InvestmentStatus,
    JournalTransaction,
    Membership,
    Posting,
    Revaluation,
    RevaluationStatus,
    TransactionKind,
    Unit,
)
from . import access, books, ledger, signoff
from .access import membership_for
from .audit import record
from .disposals import at_cost, reserve_code, value_of
from .errors import Conflict, InvalidInput, RuleViolation, _l
from .investments import MAX_AMOUNT, money_text
from .lookup import in_club
from .projects import recused_member_ids
from .uow import unit_of_work
from .validate import LazyDay, check_day, form_ledger_key, one_line

#: The name the reserve is opened with (what follows " — " is the enterprise: see labels.account_name).
RESERVE_NAME = "Écart de réévaluation — {name}"


def _new_value(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_AMOUNT:
        raise InvalidInput(_l("Enter a value of zero or more."), field="new_value")
    return value


def _not_recused(member: Membership, investment: Investment) -> None:
    if member.id in recused_member_ids(investment.club_id, [investment.project_id]):
        raise RuleViolation(_l("You declared a link to this project: you cannot sign its revaluations."), rule="R8")


def _last_entry_on(investment: Investment) -> date | None:
    """The date of the latest entry on the investment's account: the value recorded dates from then."""
    return db.session.scalar(
        select(func.max(JournalTransaction.occurred_on)).join(Posting, ledger.POSTING_TRANSACTION)
        .where(Posting.club_id == investment.club_id, Posting.account_id == investment.account_id))


def enter_revaluation(user_id: int, club_id: int, investment_id: int, *, new_value: int, valued_on: date,
                      reason: str, form_key: str, today: date | None = None) -> Revaluation:
    """An officer who keeps the money enters a new value for an investment the club still holds; a second
    officer approves it before it is posted (R11). The same form sent again returns the first entry."""
    new_value = _new_value(new_value)
    check_day(valued_on, "valued_on", today=today)
    reason = one_line(reason, "reason", maximum=300)
    key = form_ledger_key(form_key)
    with unit_of_work() as session:
        me = access.money_keeper(user_id, club_id)
        today = today or access.today_of(club_id)
        if valued_on > today:
            raise InvalidInput(_l("Give a date that is not in the future."), field="valued_on")
        investment = in_club(Investment, club_id, investment_id, lock=True, missing=_l("No such investment."))
        sent = session.scalar(select(Revaluation).where(Revaluation.club_id == club_id, Revaluation.form_key == key))
        if sent is not None:
            if (sent.investment_id, sent.new_value, sent.valued_on) != (investment.id, new_value, valued_on):
                raise Conflict(_l("This form was already used for another entry."))
            return sent
        _not_recused(me, investment)
        if investment.status != InvestmentStatus.ACTIVE:
            raise Conflict(_l("This investment is closed."))
        if investment.first_paid_on is None or at_cost(investment) == 0:
            raise Conflict(_l("Nothing paid out is left on this investment: there is nothing to revalue."))
        if session.scalar(select(Revaluation.id).where(Revaluation.club_id == club_id, Revaluation.investment_id == investment.id,
                                                       Revaluation.status == RevaluationStatus.PENDING).limit(1)):
            raise Conflict(_l("A revaluation of this investment already waits for a second officer: approve or "
                              "cancel it first."))
        value = value_of(investment)
        if new_value == value:
            raise InvalidInput(_l("%(value)s is already the value recorded: enter another one.",
                                  value=money_text(club_id)(value)), field="new_value")
        last = _last_entry_on(investment)
        if valued_on < investment.first_paid_on or (last is not None and valued_on < last):
            since = max(investment.first_paid_on, last or investment.first_paid_on)
            raise InvalidInput(_l("The value recorded dates from %(day)s: date the new one on or after it.",
                                  day=LazyDay(since)), field="valued_on")
        closed = books.closed_through(club_id)
        if closed is not None and valued_on <= closed:
            raise RuleViolation(_l("The books are closed through %(day)s: date the new value after it.",
                                   day=LazyDay(closed)), rule="period", field="valued_on")
        revaluation = Revaluation(club_id=club_id, investment_id=investment.id, value_before=value,
                                  new_value=new_value, valued_on=valued_on, reason=reason, form_key=key,
                                  entered_by_id=me.id)
        session.add(revaluation)
        session.flush()
        record(user_id, club_id, "revaluation.enter", revaluation, after={
            "investment": investment.id, "value_before": value, "new_value": new_value, "valued_on": valued_on,
            "reason": reason})
        return revaluation


def _revaluation(club_id: int, revaluation_id: object) -> Revaluation:
    return in_club(Revaluation, club_id, revaluation_id, lock=True, missing=_l("No such revaluation."))


def approve_revaluation(user_id: int, club_id: int, revaluation_id: int) -> Revaluation:
    """A second officer approves: the investment's account moves to the new value against its revaluation
    reserve, in one transaction dated the day of the valuation, posted once (R11)."""
    with unit_of_work():
        officer = access.officer(user_id, club_id)
        revaluation = _revaluation(club_id, revaluation_id)
        signoff.check_approvable(revaluation, officer, signoff.REVALUATION)
        # The investment's row before the chain head, as a sale or a write-off takes them: never a deadlock.
        investment = in_club(Investment, club_id, revaluation.investment_id, lock=True,
                             missing=_l("No such investment."))
        _not_recused(officer, investment)
        if revaluation.entered_by_id in recused_member_ids(investment.club_id, [investment.project_id]):
            raise RuleViolation(_l("The officer who entered this revaluation has declared a link to the project: "
                                   "cancel it and have another officer enter it."), rule="R8")
        if investment.status != InvestmentStatus.ACTIVE:
            raise Conflict(_l("This investment is closed: cancel the revaluation."))
        code = db.session.scalar(select(Account.code).where(Account.club_id == club_id, Account.id == investment.account_id))
        value = ledger.lock_codes(club_id, [code])[code].balance  # read under lock: no payment slips in
        if value != revaluation.value_before:
            text = money_text(club_id)
            raise Conflict(_l("The value recorded has changed since this revaluation was entered (%(before)s, now "
                              "%(now)s): cancel it and enter it again.", before=text(revaluation.value_before),
                              now=text(value)))
        reserve = _reserve(investment)
        change = revaluation.new_value - value
        transaction = ledger.post(club_id, unit=Unit.MONEY, kind=TransactionKind.REVALUATION,
                                  lines=[(investment.account_id, change), (reserve.id, -change)],
                                  idempotency_key=f"revaluation:{revaluation.id}", occurred_on=revaluation.valued_on,
                                  memo=f"{investment.name} {revaluation.reason}"[:200], author_id=user_id)
        signoff.mark_approved(revaluation, officer, transaction.id)
        record(user_id, club_id, "revaluation.approve", revaluation, after={
            "transaction": transaction.id, "investment": investment.id, "change": change,
            "entered_by": revaluation.entered_by_id})
        return revaluation


def _reserve(investment: Investment) -> Account:
    """The investment's revaluation reserve, opened on its first revaluation."""
    code = reserve_code(investment)
    found = db.session.scalar(select(Account).where(Account.club_id == investment.club_id, Account.code == code))
    return found or ledger.open_account(investment.club_id, code=code,
                                        name=RESERVE_NAME.format(name=investment.name)[:120],
                                        type=AccountType.EQUITY, unit=Unit.MONEY)


def cancel_revaluation(user_id: int, club_id: int, revaluation_id: int, reason: str) -> Revaluation:
    """An officer withdraws a revaluation not yet approved, saying why."""
    return signoff.cancel(user_id, club_id, lambda: _revaluation(club_id, revaluation_id), reason,
                          action="revaluation.cancel", words=signoff.REVALUATION)


# --- Reading --------------------------------------------------------------------------------------------


def revaluations_waiting(user_id: int, club_id: int) -> list[Revaluation]:
    """Revaluations entered and waiting for a second officer: for the officers."""
    me = membership_for(user_id, club_id)
    if not me.is_officer:
        return []
    return list(db.session.scalars(select(Revaluation).where(
        Revaluation.club_id == club_id, Revaluation.status == RevaluationStatus.PENDING)
        .order_by(Revaluation.entered_at, Revaluation.id)))


def revaluations_of(user_id: int, club_id: int, investment_id: int) -> list[Revaluation]:
    """An investment's revaluations, approved, waiting or cancelled, oldest first: for every member."""
    membership_for(user_id, club_id)
    return list(db.session.scalars(select(Revaluation).where(
        Revaluation.club_id == club_id, Revaluation.investment_id == investment_id)
        .order_by(Revaluation.valued_on, Revaluation.id)))

