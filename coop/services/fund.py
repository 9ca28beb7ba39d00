"""Pooled savings: pledges, contributions, arrears, the fund's position,
refunds to leavers and the dissolution of a club (R4, R13).

Money is recorded by the treasurer, and by the manager where the charter
says so. A member sees their own details and the club's totals."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache

from flask_babel import lazy_ngettext
from sqlalchemy import and_, bindparam, exists, func, select
from sqlalchemy.orm import aliased

from .. import clock, notify
from ..amounts import LazyMoney, LazyStake, add_months, month_start, months_between, next_month
from ..database import sum_of
from ..extensions import db
from ..models import (
    OPEN_TRANSFER_STATUSES,
    Account,
    AccountType,
    Club,
    ClubStatus,
    Contribution,
    ContributionSource,
    Disbursement,
    DisbursementStatus,
    ExitValuation,
    Investment,
    InvestmentStatus,
    JournalTransaction,
    Meeting,
    MeetingStatus,
    Membership,
    MemberStatus,
    PaymentMethod,
    Payout,
    PayoutKind,
    PayoutStatus,
    Pledge,
    Posting,
    Rhythm,
    ShareTransfer,
    TransactionKind,
    Unit,
    User,
)
from . import access, disposals, ledger, rules, signoff
from . import shares as shares_service
from .access import membership_for
from .audit import record
from .charter import charter_of
from .errors import Conflict, InvalidInput, NotFound, RuleViolation, _l
from .lookup import in_club
from .projects import recused_member_ids
from .rows import insert_now
from .transitions import move
from .uow import unit_of_work
from .validate import LazyDay, check_day, form_ledger_key, one_line

MAX_CONTRIBUTION = 10**9  # ten million in cents: far above any cap
REFERENCE_MAX = 80
EARLIEST = date(2000, 1, 1)
OPEN_STATUSES = (ClubStatus.FORMING, ClubStatus.ACTIVE, ClubStatus.IN_MANAGEMENT)


# --- Members and their capital -----------------------------------------------------------------


def _member_of(club_id: int, membership_id: int) -> Membership:
    """A membership of this club (any status), or NotFound: another club's ids are never found."""
    return in_club(Membership, club_id, membership_id, missing=_l("No such member."))


def _visible_member(user_id: int, club_id: int, membership_id: int | None) -> tuple[Membership, Membership]:
    """(acting member, member looked at): a member looks at themself, officers at anyone."""
    me = membership_for(user_id, club_id)
    if membership_id is None or membership_id == me.id:
        return me, me
    if not access.is_bookkeeper(me):
        raise NotFound(_l("No such member."))
    return me, _member_of(club_id, membership_id)


def _capital_account(club_id: int, membership_id: int) -> Account:
    return ledger.find_account(club_id, f"capital:{membership_id}")


# --- Pledges -----------------------------------------------------------------------------


def pledge_in_force(club_id: int, membership_id: int, on: date) -> Pledge | None:
    return db.session.scalar(
        select(Pledge)
        .where(Pledge.club_id == club_id, Pledge.membership_id == membership_id, Pledge.effective_from <= on)
        .order_by(Pledge.effective_from.desc(), Pledge.id.desc())
        .limit(1)
    )


def latest_pledge(club_id: int, membership_id: int) -> Pledge | None:
    return db.session.scalar(
        select(Pledge)
        .where(Pledge.club_id == club_id, Pledge.membership_id == membership_id)
        .order_by(Pledge.effective_from.desc(), Pledge.id.desc())
        .limit(1)
    )


def set_pledge(user_id: int, club_id: int, *, monthly_amount: int, rhythm: str, today: date | None = None) -> Pledge:
    """A member pledges a monthly amount (R4). The first pledge applies from
    this month; a change applies from the next one. History is kept. Months are the club's."""
    today = today or access.today_of(club_id)
    if isinstance(monthly_amount, bool) or not isinstance(monthly_amount, int) or monthly_amount <= 0:
        raise InvalidInput(_l("Enter an amount more than zero."), field="monthly_amount")
    if monthly_amount > MAX_CONTRIBUTION:
        raise InvalidInput(_l("This amount is too large."), field="monthly_amount")
    try:
        rhythm = Rhythm(rhythm)
    except ValueError:
        raise InvalidInput(_l("Choose a rhythm from the list."), field="rhythm") from None
    with unit_of_work() as session:
        me = membership_for(user_id, club_id, lock=True)
        club = me.club
        if access.club_status(club, today=today) not in (ClubStatus.FORMING, ClubStatus.ACTIVE):
            raise RuleViolation(_l("This club no longer takes pledges."), rule="R5")
        charter = charter_of(club_id)
        rules.check_pledge(monthly_amount, charter.min_monthly_contribution, charter.max_yearly_contribution,
                           club.currency)
        latest = latest_pledge(club_id, me.id)
        if latest is not None and (latest.monthly_amount, latest.rhythm) == (monthly_amount, rhythm):
            raise Conflict(_l("This is already your pledge."))
        effective_from = month_start(today) if latest is None else next_month(today)
        pledge = Pledge(club_id=club_id, membership_id=me.id, monthly_amount=monthly_amount, rhythm=rhythm,
                        effective_from=effective_from, author_id=user_id)
        session.add(pledge)
        session.flush()
        record(user_id, club_id, "pledge.set", pledge,
               before={"monthly_amount": latest.monthly_amount, "rhythm": latest.rhythm} if latest else None,
               after={"monthly_amount": monthly_amount, "rhythm": rhythm, "effective_from": effective_from})
        return pledge


def pledge_history(user_id: int, club_id: int, membership_id: int | None = None) -> list[Pledge]:
    _, member = _visible_member(user_id, club_id, membership_id)
    return list(db.session.scalars(
        select(Pledge).where(Pledge.club_id == club_id, Pledge.membership_id == member.id)
        .order_by(Pledge.effective_from.desc(), Pledge.id.desc())
    ))


# --- Contributions -----------------------------------------------------------------------


def _not_reversed(transaction_id_column, club_id):
    """No reversal of the transaction: ``club_id`` is the club's id (or a bound parameter), not the outer row's
    column, so that on Citus the subquery stays on the club's node."""
    reversal = aliased(JournalTransaction)
    return ~exists().where(reversal.club_id == club_id, reversal.reverses_id == transaction_id_column)


#: the condition "this contribution's transaction is not reversed", for other services' queries
not_reversed = _not_reversed


def paid_in_year(club_id: int, membership_id: int, year: int) -> int:
    """What a member has paid in one calendar year, reversed contributions left out (R4)."""
    return db.session.scalar(_paid_between(), {"club": club_id, "member": membership_id, "first": date(year, 1, 1),
                                               "last": date(year, 12, 31)})


@cache
def _paid_between():
    # Built once: it runs with every contribution recorded.
    return select(func.coalesce(sum_of(Contribution.amount), 0)).where(
        Contribution.club_id == bindparam("club"),
        Contribution.membership_id == bindparam("member"),
        Contribution.received_on >= bindparam("first"),
        Contribution.received_on <= bindparam("last"),
        _not_reversed(Contribution.transaction_id, bindparam("club")),
    )


def _check_contribution_values(amount, received_on, method, reference, today):
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidInput(_l("Enter an amount more than zero."), field="amount")
    if amount > MAX_CONTRIBUTION:
        raise InvalidInput(_l("This amount is too large."), field="amount")
    if not isinstance(received_on, date) or isinstance(received_on, datetime) or not EARLIEST <= received_on <= today:
        raise InvalidInput(_l("Enter the date the money was received (not in the future)."), field="received_on")
    try:
        method = PaymentMethod(method)
    except ValueError:
        raise InvalidInput(_l("Choose a payment method from the list."), field="method") from None
    reference = one_line(reference, "bank_reference", maximum=REFERENCE_MAX, required=False)
    return method, reference


@cache
def _by_key():
    return select(Contribution).join(JournalTransaction, (JournalTransaction.id == Contribution.transaction_id)
                                     & (JournalTransaction.club_id == Contribution.club_id)).where(
        JournalTransaction.club_id == bindparam("club"), JournalTransaction.idempotency_key == bindparam("key"))


def _post_contribution(user_id: int, club: Club, member: Membership, *, amount: int, received_on: date, method: str,
                       reference: str, idempotency_key: str, source: str) -> Contribution:
    """Inside a unit of work holding the club's lock."""
    existing = db.session.scalar(_by_key(), {"club": club.id, "key": idempotency_key})
    if existing is not None:
        if (existing.membership_id, existing.amount, existing.received_on) == (member.id, amount, received_on):
            return existing  # the same form again: posted once
        raise Conflict(_l("This form was already used for another entry."))
    if member.status != MemberStatus.ACTIVE:
        raise RuleViolation(_l("%(name)s is not an active member of the club.", name=member.user.name),
                            rule="R4", field="membership_id")
    charter = charter_of(club.id)
    rules.check_yearly_cap(paid_in_year(club.id, member.id, received_on.year), amount, charter.max_yearly_contribution,
                           club.currency)
    accounts = ledger.lock_codes(club.id, ["bank", f"capital:{member.id}"])
    bank, capital = accounts["bank"], accounts[f"capital:{member.id}"]
    txn = ledger.post(club.id, unit=Unit.MONEY, kind=TransactionKind.CONTRIBUTION,
                      lines=[(bank.id, amount), (capital.id, -amount)], idempotency_key=idempotency_key,
                      occurred_on=received_on, memo=f"{member.user.name} — {reference}".rstrip(" —"),
                      author_id=user_id)
    contribution = Contribution(club_id=club.id, membership_id=member.id, amount=amount, received_on=received_on,
                                method=method, bank_reference=reference, source=source, transaction_id=txn.id,
                                recorded_by_id=user_id)
    insert_now(contribution)
    record(user_id, club.id, "contribution.record", contribution,
           after={"member": member.id, "amount": amount, "received_on": received_on, "method": method,
                  "reference": reference, "transaction": txn.id})
    notify.later("contribution_recorded", contribution)
    return contribution


def record_contribution(user_id: int, club_id: int, *, membership_id: int, amount: int, received_on: date,
                        method: str, bank_reference: str = "", idempotency_key: str,
                        today: date | None = None) -> Contribution:
    """The treasurer records money received from a member: bank debited, the
    member's capital credited, once however often the form is sent (R4). ``idempotency_key`` is the form's."""
    return record_contribution_under(user_id, club_id, membership_id=membership_id, amount=amount,
                                     received_on=received_on, method=method, bank_reference=bank_reference,
                                     ledger_key=form_ledger_key(idempotency_key), today=today)


def record_contribution_under(user_id: int, club_id: int, *, membership_id: int, amount: int, received_on: date,
                              method: str, bank_reference: str = "", ledger_key: str,
                              today: date | None = None) -> Contribution:
    """record_contribution() under a ledger key a service makes (a bank line's), not a form's."""
    method, reference = _check_contribution_values(amount, received_on, method, bank_reference,
                                                   today or access.today_of(club_id))
    with unit_of_work():
        me = access.money_keeper(user_id, club_id, lock=True)
        if me.club.status not in OPEN_STATUSES:
            raise RuleViolation(_l("This club no longer takes contributions."), rule="R5")
        member = _member_of(club_id, membership_id)
        return _post_contribution(user_id, me.club, member, amount=amount, received_on=received_on, method=method,
                                  reference=reference, idempotency_key=ledger_key, source=ContributionSource.FORM)


def reverse_contribution(user_id: int, club_id: int, contribution_id: int, *, reason: str,
                         idempotency_key: str) -> JournalTransaction:
    """A mistaken contribution is undone by a reversal with a reason; the row stays."""
    return reverse_contribution_under(user_id, club_id, contribution_id, reason=reason,
                                      ledger_key=form_ledger_key(idempotency_key))


def reverse_contribution_under(user_id: int, club_id: int, contribution_id: int, *, reason: str, ledger_key: str,
                               occurred_on: date | None = None) -> JournalTransaction:
    """reverse_contribution() under a ledger key a service makes (a bank line's), dated ``occurred_on`` (a
    refund's day on the bank statement) rather than today."""
    reason = one_line(reason, "reason", maximum=300)
    with unit_of_work():
        access.money_keeper(user_id, club_id, lock=True)
        contribution = contribution_in(club_id, contribution_id)
        if valuation_of(club_id, contribution.membership_id) is not None:
            raise RuleViolation(_l("This member's share was valued when they left: their contributions can no "
                                   "longer be undone."), rule="R13")
        reversal = ledger.reverse(club_id, contribution.transaction_id, reason=reason,
                                  idempotency_key=ledger_key, author_id=user_id, occurred_on=occurred_on)
        record(user_id, club_id, "contribution.reverse", contribution,
               after={"reversal": reversal.id, "reason": reason,
                      **({"occurred_on": occurred_on} if occurred_on else {})})
        return reversal


def contribution_in(club_id: int, contribution_id: int) -> Contribution:
    return in_club(Contribution, club_id, contribution_id, missing=_l("No such contribution."))


@dataclass(frozen=True)
class ContributionRow:
    contribution: Contribution
    member_name: str
    reversed_by: int | None


def contributions(user_id: int, club_id: int, *, membership_id: int | None = None, before_id: int | None = None,
                  limit: int = 50) -> list[ContributionRow]:
    """Newest first, a page at a time (keyset: ``before_id``). A member sees their own; officers every one."""
    me = membership_for(user_id, club_id)
    if membership_id is None and not access.is_bookkeeper(me):
        membership_id = me.id
    elif membership_id is not None:
        _visible_member(user_id, club_id, membership_id)
    reversal = aliased(JournalTransaction)
    stmt = (
        select(Contribution, Membership, reversal.id)
        .join(Membership, (Membership.id == Contribution.membership_id) & (Membership.club_id == Contribution.club_id))
        .outerjoin(reversal, (reversal.reverses_id == Contribution.transaction_id)
                   & (reversal.club_id == Contribution.club_id))
        .where(Contribution.club_id == club_id)
        .order_by(Contribution.id.desc())
        .limit(min(max(limit, 1), 500))
    )
    if membership_id is not None:
        stmt = stmt.where(Contribution.membership_id == membership_id)
    if before_id is not None:
        stmt = stmt.where(Contribution.id < before_id)
    return [ContributionRow(c, m.user.name, r) for c, m, r in db.session.execute(stmt)]


# --- The month entry -----------------------------------------------------------------------


def due_in_month(pledge: Pledge | None, month: date) -> int:
    """What a pledge asks for in a month: monthly every month, quarterly in
    January, April, July and October, yearly in January."""
    if pledge is None:
        return 0
    if pledge.rhythm == Rhythm.MONTHLY:
        return pledge.monthly_amount
    if pledge.rhythm == Rhythm.QUARTERLY:
        return pledge.monthly_amount * 3 if month.month in (1, 4, 7, 10) else 0
    return pledge.monthly_amount * 12 if month.month == 1 else 0


@dataclass(frozen=True)
class MonthLine:
    membership: Membership
    due: int
    paid_in_month: int


def month_sheet(user_id: int, club_id: int, month: date) -> list[MonthLine]:
    """Every active member with what their pledge asks for this month and what was already received."""
    access.bookkeeper(user_id, club_id)
    month = month_start(check_day(month, "month"))
    members = _active_members(club_id)
    paid = dict(db.session.execute(
        select(Contribution.membership_id, sum_of(Contribution.amount))
        .where(Contribution.club_id == club_id, Contribution.received_on >= month,
               Contribution.received_on < next_month(month), _not_reversed(Contribution.transaction_id, club_id))
        .group_by(Contribution.membership_id)
    ).all())
    return [MonthLine(m, due_in_month(pledge_in_force(club_id, m.id, month), month), paid.get(m.id, 0)) for m in members]


def _active_members(club_id: int) -> list[Membership]:
    return list(db.session.scalars(
        select(Membership).join(User, User.id == Membership.user_id)
        .where(Membership.club_id == club_id, Membership.status == MemberStatus.ACTIVE).order_by(User.name)
    ))


def record_month(user_id: int, club_id: int, *, lines: list[tuple[int, int | None]], received_on: date,
                 method: str, form_key: str, today: date | None = None) -> list[Contribution]:
    """Record a month's contributions in one go. Empty or zero lines are
    skipped; a refused line refuses the whole sheet, so nothing half-posts."""
    today = today or access.today_of(club_id)
    method, _ = _check_contribution_values(1, received_on, method, "", today)
    sheet_key = form_ledger_key(form_key)
    if not lines or len(lines) > 200:
        raise InvalidInput(_l("There is nothing to record."))
    if len({m for m, _ in lines}) != len(lines):
        raise InvalidInput(_l("A member appears twice on the sheet."))
    recorded = []
    with unit_of_work():
        me = access.money_keeper(user_id, club_id, lock=True)
        if me.club.status not in OPEN_STATUSES:
            raise RuleViolation(_l("This club no longer takes contributions."), rule="R5")
        for membership_id, amount in lines:
            if not amount:
                continue
            member = _member_of(club_id, membership_id)
            try:
                _check_contribution_values(amount, received_on, method, "", today)
                recorded.append(_post_contribution(
                    user_id, me.club, member, amount=amount, received_on=received_on, method=method, reference="",
                    idempotency_key=f"{sheet_key}:{membership_id}", source=ContributionSource.MONTH))
            except (RuleViolation, InvalidInput) as refusal:
                raise type(refusal)(_l("%(name)s: %(reason)s", name=member.user.name, reason=refusal.message),
                                    rule=refusal.rule, field=f"amount_{membership_id}") from None
        if not recorded:
            raise InvalidInput(_l("There is nothing to record."))
        return recorded


# --- Arrears -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    membership: Membership
    pledge: Pledge | None
    due: int
    paid: int
    #: the first month whose due is not covered by what was paid
    behind_since: date | None

    @property
    def arrears(self) -> int:
        return max(self.due - self.paid, 0)


def _standing(member: Membership, today: date) -> Standing:
    """Dues of every month since the first pledge that has ended, against what was paid since."""
    pledges = list(db.session.scalars(
        select(Pledge).where(Pledge.club_id == member.club_id, Pledge.membership_id == member.id)
        .order_by(Pledge.effective_from, Pledge.id)
    ))
    current = pledge_in_force(member.club_id, member.id, today)
    if not pledges:
        return Standing(member, current, 0, 0, None)
    start = pledges[0].effective_from
    this_month = month_start(today)
    months = [m for m in months_between(start, today) if next_month(m) <= this_month]
    dues = []
    for month in months:
        in_force = None
        for p in pledges:
            if p.effective_from <= month:
                in_force = p
        dues.append((month, due_in_month(in_force, month)))
    paid = db.session.scalar(
        select(func.coalesce(sum_of(Contribution.amount), 0)).where(
            Contribution.club_id == member.club_id, Contribution.membership_id == member.id,
            Contribution.received_on >= start, _not_reversed(Contribution.transaction_id, member.club_id))
    )
    total, since, running = 0, None, 0
    for month, due in dues:
        total += due
        running += due
        if since is None and running > paid:
            since = month
    return Standing(member, current, total, paid, since if total > paid else None)


def my_standing(user_id: int, club_id: int, membership_id: int | None = None, today: date | None = None) -> Standing:
    _, member = _visible_member(user_id, club_id, membership_id)
    return _standing(member, today or access.today_of(club_id))


def arrears(user_id: int, club_id: int, today: date | None = None) -> list[Standing]:
    """Every active member behind on their pledge, the furthest behind first (officers only)."""
    access.bookkeeper(user_id, club_id)
    today = today or access.today_of(club_id)
    behind = [s for s in (_standing(m, today) for m in _active_members(club_id)) if s.arrears > 0]
    return sorted(behind, key=lambda s: (-s.arrears, s.membership.user.name))


# --- The fund's position -----------------------------------------------------------------------


@dataclass(frozen=True)
class MemberShare:
    membership: Membership
    contributed: int
    refunded: int  # paid in, less capital still in the books
    capital: int
    share: Decimal  # percent of the net assets, under the charter's share method
    value: int = 0  # the member's share of the net assets, under the charter's share method
    #: capital received (positive) or passed on (negative) when a share passed from member to member
    transferred: int = 0


@dataclass
class Position:
    currency: str
    cash: int
    invested: int
    committed: int
    total_capital: int
    members: list[MemberShare] = field(default_factory=list)
    shares: shares_service.Shares | None = None

    @property
    def available(self) -> int:
        """Cash that may still be invested: cash less what is already committed (R10)."""
        return self.cash - self.committed

    @property
    def net_assets(self) -> int:
        return self.shares.net_assets if self.shares else self.cash + self.invested


#: Payouts paid in cash: entered and not yet approved, they are commitments that lower the cash available.
CASH_PAYOUTS = (PayoutKind.REFUND, PayoutKind.DISTRIBUTION, PayoutKind.WITHDRAWAL)
#: What pays a leaver's valued share: refunds in cash, and shares handed over where the charter allows it (R13).
LEAVER_PAYOUTS = (PayoutKind.REFUND, PayoutKind.IN_KIND)


def committed_amount(club_id: int, *, excluding: int | None = None, excluding_payout: int | None = None) -> int:
    """Payments to enterprises and payouts to members entered but not yet approved by a second officer (R11):
    money the club has promised (``excluding`` one payment, or ``excluding_payout`` one payout, the one being
    approved). Shares handed over to a leaver take no cash: they are not counted."""
    stmt = select(func.coalesce(sum_of(Disbursement.amount), 0)).where(
        Disbursement.club_id == club_id, Disbursement.status == DisbursementStatus.PENDING)
    if excluding is not None:
        stmt = stmt.where(Disbursement.id != excluding)
    return db.session.scalar(stmt) + _pending_payouts(club_id, kind=CASH_PAYOUTS, excluding=excluding_payout)


def _pending_payouts(club_id: int, *, membership_id: int | None = None, kind: str | tuple[str, ...] | None = None,
                     excluding: int | None = None) -> int:
    stmt = select(func.coalesce(sum_of(Payout.amount), 0)).where(
        Payout.club_id == club_id, Payout.status == PayoutStatus.PENDING)
    if membership_id is not None:
        stmt = stmt.where(Payout.membership_id == membership_id)
    if isinstance(kind, tuple):
        stmt = stmt.where(Payout.kind.in_(kind))
    elif kind is not None:
        stmt = stmt.where(Payout.kind == kind)
    if excluding is not None:
        stmt = stmt.where(Payout.id != excluding)
    return db.session.scalar(stmt)


def available_cash(club_id: int, *, excluding: int | None = None, excluding_payout: int | None = None) -> int:
    """Cash that may still be paid out: the bank less what is already promised (R10)."""
    return ledger.find_account(club_id, "bank").balance - committed_amount(club_id, excluding=excluding,
                                                                           excluding_payout=excluding_payout)


def invested_amount(club_id: int) -> int:
    return db.session.scalar(
        select(func.coalesce(sum_of(Account.balance), 0)).where(
            Account.club_id == club_id, Account.unit == Unit.MONEY, Account.type == "asset", Account.code != "bank")
    )


def _shares(club_id: int, shares: shares_service.Shares | None = None) -> list[MemberShare]:
    shares = shares or shares_service.club_shares(club_id)
    transferred = dict(db.session.execute(
        select(Account.membership_id, sum_of(Posting.amount))
        .join(Posting, (Posting.account_id == Account.id) & (Posting.club_id == Account.club_id))
        .join(JournalTransaction, ledger.POSTING_TRANSACTION)
        .where(Account.club_id == club_id, Posting.club_id == club_id, Account.code.like("capital:%"),
               JournalTransaction.kind == TransactionKind.TRANSFER)
        .group_by(Account.membership_id)
    ).all())
    net = shares.net_assets
    result = []
    for line in shares.lines:
        value = line.value(shares.method)
        moved = -int(transferred.get(line.membership.id) or 0)  # credits received: positive
        percent = (Decimal(value) * 100 / Decimal(net)).quantize(Decimal("0.01")) if net > 0 else Decimal(0)
        result.append(MemberShare(line.membership, line.paid_in, line.paid_in + moved - line.capital, line.capital,
                                  percent, value, moved))
    return result


def position(user_id: int, club_id: int) -> Position:
    """Cash, invested, committed, available; the net assets and each member's share of them, both ways.
    A member sees the totals and their own line; officers every line."""
    me = membership_for(user_id, club_id)
    everyone = shares_service.club_shares(club_id)
    lines = _shares(club_id, everyone)
    bookkeeper = access.is_bookkeeper(me)
    visible = lines if bookkeeper else [s for s in lines if s.membership.id == me.id]
    shares = everyone if bookkeeper else replace(
        everyone, lines=[line for line in everyone.lines if line.membership.id == me.id])
    return Position(
        currency=me.club.currency,
        cash=ledger.find_account(club_id, "bank").balance,
        invested=invested_amount(club_id),
        committed=committed_amount(club_id),
        total_capital=sum(s.capital for s in lines),
        members=visible,
        shares=shares,
    )


@dataclass(frozen=True)
class MonthPoint:
    month: date
    contributions: int
    invested: int
    cash: int


def fund_history(user_id: int, club_id: int) -> list[MonthPoint]:
    """Month by month: contributions received, the invested total and cash at the month's end."""
    membership_for(user_id, club_id)
    bank = ledger.find_account(club_id, "bank")
    by_day = db.session.execute(
        select(JournalTransaction.occurred_on, JournalTransaction.kind, sum_of(Posting.amount))
        .join(Posting, ledger.POSTING_TRANSACTION)
        .where(Posting.club_id == club_id, Posting.account_id == bank.id)
        .group_by(JournalTransaction.occurred_on, JournalTransaction.kind)
        .order_by(JournalTransaction.occurred_on)
    ).all()
    invested_by_day = db.session.execute(
        select(JournalTransaction.occurred_on, sum_of(Posting.amount))
        .join(Posting, ledger.POSTING_TRANSACTION)
        .join(Account, (Account.id == Posting.account_id) & (Account.club_id == Posting.club_id))
        .where(Posting.club_id == club_id, Account.club_id == club_id, Account.unit == Unit.MONEY, Account.type == "asset",
               Account.code != "bank")
        .group_by(JournalTransaction.occurred_on)
    ).all()
    if not by_day:
        return []
    months = months_between(by_day[0][0], date.today())
    contributions_by_month: dict[date, int] = {}
    cash_change: dict[date, int] = {}
    invested_change: dict[date, int] = {}
    for day, kind, amount in by_day:
        m = month_start(day)
        cash_change[m] = cash_change.get(m, 0) + amount
        if kind == TransactionKind.CONTRIBUTION:
            contributions_by_month[m] = contributions_by_month.get(m, 0) + amount
    for day, amount in invested_by_day:
        m = month_start(day)
        invested_change[m] = invested_change.get(m, 0) + amount
    points, cash, invested = [], 0, 0
    for m in months:
        cash += cash_change.get(m, 0)
        invested += invested_change.get(m, 0)
        points.append(MonthPoint(m, contributions_by_month.get(m, 0), invested, cash))
    return points


# --- Leaving: the share valued once the notice has run, then paid (R13) -------------------------------


LEFT = (MemberStatus.LEFT, MemberStatus.EXCLUDED)


def notice_end(member: Membership, charter) -> date | None:
    """The day a leaver's notice has run: the day they left plus the charter's notice."""
    return member.left_on + timedelta(days=charter.exit_notice_days) if member.left_on else None


def valuation_day(member: Membership, charter) -> date | None:
    """The first day a leaver's share may be valued: once their notice has run; where the charter says so
    (``exit_at_meeting``), the day of the first general meeting held from then on (on the club's clock), and
    None until one is."""
    day = notice_end(member, charter)
    if day is None or not charter.exit_at_meeting:
        return day
    zone = member.club.time_zone
    for opened in db.session.scalars(select(Meeting.opened_at).where(
            Meeting.club_id == member.club_id, Meeting.opened_at.is_not(None),
            Meeting.status.in_((MeetingStatus.IN_SESSION, MeetingStatus.CLOSED))).order_by(Meeting.opened_at)):
        held = clock.local_date(opened, zone)
        if held >= day:
            return held
    return None


def _passing_on(club_id: int, membership_id: int) -> bool:
    """Is this member's share passing to someone else (a transfer under way)?"""
    return db.session.scalar(select(ShareTransfer.id).where(
        ShareTransfer.club_id == club_id, ShareTransfer.from_membership_id == membership_id,
        ShareTransfer.status.in_(OPEN_TRANSFER_STATUSES)).limit(1)) is not None


def valuation_of(club_id: int, membership_id: int) -> ExitValuation | None:
    return db.session.scalar(select(ExitValuation).where(ExitValuation.club_id == club_id,
                                                         ExitValuation.membership_id == membership_id))


@dataclass(frozen=True)
class Leaver:
    """A member who left, and where their share stands."""

    membership: Membership
    due_on: date | None  # the share is valued from this day
    value_now: int  # not yet valued: what the share is worth today, under the charter's method
    valuation: ExitValuation | None
    owed: int  # valued: what the club still owes them
    pending: int  # refunds and shares handed over, entered, waiting for a second officer

    @property
    def to_enter(self) -> int:
        return self.owed - self.pending


def leavers(user_id: int, club_id: int) -> list[Leaver]:
    """Members who left with a share still in the club, or still owed: for those who keep the books."""
    access.bookkeeper(user_id, club_id)
    return _leavers(club_id)


def _leavers(club_id: int) -> list[Leaver]:
    charter = charter_of(club_id)
    shares = shares_service.club_shares(club_id)
    valuations = {v.membership_id: v for v in db.session.scalars(
        select(ExitValuation).where(ExitValuation.club_id == club_id))}
    pending = dict(db.session.execute(
        select(Payout.membership_id, sum_of(Payout.amount)).where(
            Payout.club_id == club_id, Payout.kind.in_(LEAVER_PAYOUTS), Payout.status == PayoutStatus.PENDING)
        .group_by(Payout.membership_id)).all())
    found = []
    for line in shares.lines:
        member = line.membership
        if member.status not in LEFT:
            continue
        valuation = valuations.get(member.id)
        value = 0 if valuation else line.value(shares.method)
        if valuation is None and not (value or line.capital) or valuation is not None and not line.owed:
            continue
        found.append(Leaver(member, valuation_day(member, charter), value, valuation, line.owed,
                            pending.get(member.id, 0)))
    return sorted(found, key=lambda x: (x.valuation is not None, x.due_on or date.min, x.membership.user.name))


def leavers_to_refund(user_id: int, club_id: int) -> list[Leaver]:
    """Leavers whose share is valued and not yet paid in full."""
    return [leaver for leaver in leavers(user_id, club_id) if leaver.valuation is not None]


def value_exit(user_id: int, club_id: int, membership_id: int, *, form_key: str,
               today: date | None = None) -> ExitValuation:
    """The treasurer values a leaver's share once their notice has run (R13): their share of the net assets
    under the charter's method, at today's figures. From then on it no longer moves with the fund: the club
    owes it (``payable``) and pays it, within the charter's time to pay, by refunds a second officer approves."""
    form_key = form_ledger_key(form_key)
    with unit_of_work() as session:
        me = access.money_keeper(user_id, club_id, lock=True)
        today = today or access.today_of(club_id)
        member = _member_of(club_id, membership_id)
        existing = valuation_of(club_id, member.id)
        if existing is not None:
            if existing.form_key == form_key:
                return existing
            raise Conflict(_l("This member's share is already valued."))
        if member.status not in LEFT:
            raise RuleViolation(_l("Only the share of a member who has left is valued for paying out."), rule="R13")
        charter = charter_of(club_id)
        due = valuation_day(member, charter)
        if due is None and charter.exit_at_meeting:
            raise RuleViolation(_l("The charter values a leaver's share at the first general meeting held once the "
                                   "notice has run (%(day)s): none has been held since.",
                                   day=LazyDay(notice_end(member, charter))), rule="R13")
        if due is not None and today < due:
            raise RuleViolation(_l("The notice runs until %(day)s: the share is valued from that day.",
                                   day=LazyDay(due)), rule="R13")
        if _pending_payouts(club_id, membership_id=member.id):
            raise Conflict(_l("A payment to this member is waiting for approval: approve or cancel it first."))
        if _passing_on(club_id, member.id):
            raise Conflict(_l("This member's share is passing to someone else: it is valued only if that fails."))
        register = shares_service.register_of(club_id)
        holding = register.holdings.get(member.id, shares_service.Holding())
        value = register.value_of(member.id, charter.share_method)
        capital = -_capital_account(club_id, member.id).balance
        if not (value or capital or holding.units or holding.weight):
            raise Conflict(_l("This member has no share in the club."))
        txn = shares_service.post_out(
            club_id, member, value, kind=TransactionKind.EXIT, whole=value, key=f"share-exit:{member.id}",
            memo=f"Part de {member.user.name} évaluée / share valued", author_id=user_id, on=today)
        valuation = ExitValuation(
            club_id=club_id, membership_id=member.id, valued_on=today, method=charter.share_method,
            net_assets=register.net_assets, value=value, capital=capital, units=holding.units,
            total_units=register.total_units, weight=holding.weight, total_weight=register.total_weight,
            pay_by=add_months(today, charter.exit_pay_months), transaction_id=txn.id, form_key=form_key,
            valued_by_id=me.id)
        session.add(valuation)
        session.flush()
        record(user_id, club_id, "share.value_exit", valuation, after={
            "member": member.id, "method": charter.share_method, "value": value, "net_assets": register.net_assets,
            "capital": capital, "transaction": txn.id})
        return valuation


def refund(user_id: int, club_id: int, membership_id: int, *, amount: int, idempotency_key: str,
           memo: str = "") -> Payout:
    """The treasurer enters a payment of a leaver's valued share: no more than what the club still owes them
    nor the cash available, less what is already entered (R13); in one payment or in instalments. A second
    officer approves it; only then it posts (R11)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput(_l("Enter an amount more than zero."), field="amount")  # R13's rule words the rest
    memo = one_line(memo, "memo", maximum=200, required=False)
    idempotency_key = form_ledger_key(idempotency_key)
    return _enter_checked(user_id, club_id, membership_id, PayoutKind.REFUND, amount, idempotency_key, _check_refund,
                          memo, "Remboursement — ")


def _owed(club_id: int, membership_id: int) -> int:
    account = db.session.scalar(select(Account).where(Account.club_id == club_id,
                                                      Account.code == f"payable:{membership_id}"))
    return -account.balance if account else 0


def _check_leaver(club: Club, member: Membership) -> None:
    """A member whose share may be paid: they left, their share is valued and not passing to someone else."""
    if member.status not in LEFT:
        raise RuleViolation(_l("Only a member who has left the club is refunded."), rule="R13")
    if _passing_on(club.id, member.id):
        raise RuleViolation(_l("This member's share is passing to someone else: it is refunded only if that "
                               "fails."), rule="R13")
    if valuation_of(club.id, member.id) is None:
        raise RuleViolation(_l("Value the leaver's share first: it is paid once valued."), rule="R13")


def _left_to_enter(club: Club, member: Membership, *, excluding: int | None = None) -> int:
    """What the club still owes a leaver, less the refunds and shares handed over that wait for approval."""
    entered = _pending_payouts(club.id, membership_id=member.id, kind=LEAVER_PAYOUTS, excluding=excluding)
    return _owed(club.id, member.id) - entered


def _check_refund(club: Club, member: Membership, amount: int, *, excluding: int | None = None) -> None:
    _check_leaver(club, member)
    rules.check_refund(amount, _left_to_enter(club, member, excluding=excluding),
                       available_cash(club.id, excluding_payout=excluding), club.currency)


# --- Paying a leaver in shares, where the charter allows it (R13) ------------------------------------------


def hand_over(user_id: int, club_id: int, membership_id: int, *, investment_id: int, stake_hundredths: int,
              idempotency_key: str) -> Payout:
    """An officer who keeps the money enters shares of an enterprise handed over to a leaver whose share is
    valued, in payment of it, where the charter allows it (``exit_in_kind``): when cash is short, a stake of
    shares the club holds, worth the investment's value recorded pro rata to the stake. No more than what the
    club still owes the member less what waits for approval. The charter's clause, adopted unanimously, is the
    members' consent: no stake-sale ballot (R7) is held for it. A second officer approves it; only then the
    shares leave the books, as if sold to the member at that value (R11)."""
    stake = _stake(stake_hundredths)
    idempotency_key = form_ledger_key(idempotency_key)
    with unit_of_work():
        me = access.money_keeper(user_id, club_id, lock=True)
        member = _member_of(club_id, membership_id)
        investment = _investment_of(club_id, investment_id)
        replay = _replayed_payout(club_id, idempotency_key, member, PayoutKind.IN_KIND, None,
                                  investment_id=investment.id, stake=stake)
        if replay is not None:
            return replay
        club = me.club
        value = _hand_over_value(club, member, investment, stake)
        _not_recused(me, investment)
        _check_owed(club, member, value)
        return _enter_payout(user_id, me, member, PayoutKind.IN_KIND, value, idempotency_key,
                             f"Parts de {investment.name} remises — {member.user.name}",
                             investment_id=investment.id, stake=stake)


def _stake(stake: object) -> int:
    if isinstance(stake, bool) or not isinstance(stake, int) or not 0 < stake <= 10_000:
        raise InvalidInput(_l("Enter a stake above zero, in percent of the enterprise (2,5 for instance)."),
                           field="stake")
    return stake


def _investment_of(club_id: int, investment_id: object, *, lock: bool = False) -> Investment:
    return in_club(Investment, club_id, investment_id, lock=lock, missing=_l("No such investment."))


def _promised_stake(investment: Investment, *, excluding: int | None = None) -> int:
    """The stake of shares already entered to be handed over, waiting for approval."""
    stmt = select(func.coalesce(func.sum(Payout.stake_hundredths), 0)).where(
        Payout.club_id == investment.club_id, Payout.investment_id == investment.id, Payout.kind == PayoutKind.IN_KIND,
        Payout.status == PayoutStatus.PENDING)
    if excluding is not None:
        stmt = stmt.where(Payout.id != excluding)
    return int(db.session.scalar(stmt))


def _hand_over_value(club: Club, member: Membership, investment: Investment, stake: int, *,
                     excluding: int | None = None) -> int:
    """What ``stake`` of the investment's shares is worth today for a leaver's payment, after checking that the
    charter allows it, that the member is a leaver whose share is valued, and that the club holds these shares
    (and has not promised them already)."""
    if not charter_of(club.id).exit_in_kind:
        raise RuleViolation(_l("The charter does not allow paying a leaver with shares the club holds."), rule="R13")
    _check_leaver(club, member)
    if investment.instrument != "equity" or investment.status != InvestmentStatus.ACTIVE \
            or investment.first_paid_on is None:
        raise InvalidInput(_l("Only shares the club still holds can be handed over: choose them from the list."),
                           field="investment_id")
    held = disposals.stake_held(investment)
    free = held - _promised_stake(investment, excluding=excluding)
    if stake > free:
        raise InvalidInput(_l("The club holds %(held)s of this enterprise not yet promised to anyone: hand over at "
                              "most that.", held=LazyStake(max(free, 0))), field="stake")
    value = disposals.stake_value(investment, stake, held)
    if value <= 0:
        raise InvalidInput(_l("At the value recorded for the investment, this stake is worth nothing: it pays "
                              "nothing."), field="stake")
    return value


def _check_owed(club: Club, member: Membership, value: int, *, excluding: int | None = None) -> None:
    left = _left_to_enter(club, member, excluding=excluding)
    if value > left:
        raise RuleViolation(_l("These shares are worth %(value)s: more than the %(left)s still owed to the member, "
                               "less what waits for approval.", value=LazyMoney(value, club.currency),
                               left=LazyMoney(max(left, 0), club.currency)), rule="R13", field="stake")


def _not_recused(officer: Membership, investment: Investment) -> None:
    if officer.id in recused_member_ids(investment.club_id, [investment.project_id]):
        raise RuleViolation(_l("You declared a link to this enterprise's project: you cannot sign a hand-over of "
                               "its shares."), rule="R8")


def _approve_hand_over(user_id: int, officer: Membership, payout: Payout) -> JournalTransaction:
    """Inside approve_payout: everything checked again against today's figures; the shares leave the books as
    a sale at their value would, the value settling what the club owes the member instead of reaching the
    bank. One transaction, one investment event (``handover``)."""
    club, member = officer.club, payout.membership
    # The investment's row, then the chain head and its account, as a sale and a revaluation take them.
    investment = _investment_of(club.id, payout.investment_id, lock=True)
    _not_recused(officer, investment)
    if payout.entered_by_id in recused_member_ids(investment.club_id, [investment.project_id]):
        raise RuleViolation(_l("The officer who entered this hand-over has declared a link to the project: cancel "
                               "it and have another officer enter it."), rule="R8")
    code = db.session.scalar(select(Account.code).where(Account.club_id == club.id, Account.id == investment.account_id))
    ledger.lock_codes(club.id, [code])  # the value is read under lock: no payment or revaluation slips in
    value = _hand_over_value(club, member, investment, payout.stake_hundredths, excluding=payout.id)
    if value != payout.amount:
        raise Conflict(_l("These shares were worth %(before)s when the hand-over was entered and are worth %(now)s "
                          "today: cancel it and enter it again.", before=LazyMoney(payout.amount, club.currency),
                          now=LazyMoney(value, club.currency)))
    _check_owed(club, member, value, excluding=payout.id)
    event = disposals.sell(user_id, investment, stake=payout.stake_hundredths, price=value,
                           on=access.today_of(club.id), key=f"payout:{payout.id}", note=member.user.name,
                           memo=f"{investment.name} — parts remises à {member.user.name} / shares handed over",
                           received_in=shares_service.payable_account(club.id, member))
    return db.session.get(JournalTransaction, (event.transaction_id, event.club_id))


def shares_to_hand_over(user_id: int, club_id: int) -> list[HeldShares]:
    """The shares a leaver may be paid with, where the charter allows it: for those who keep the money."""
    me = membership_for(user_id, club_id)
    if not access.may_record_money(me) or not charter_of(club_id).exit_in_kind:
        return []
    return [HeldShares(i, disposals.stake_held(i), disposals.value_of(i)) for i in disposals.shares_held(club_id)]


@dataclass(frozen=True)
class HeldShares:
    investment: Investment
    stake: int  # held, in hundredths of a percent
    value: int  # the investment's value recorded


# --- Taking part of a share out, where the charter allows it (R13) ------------------------------------------


def withdraw(user_id: int, club_id: int, membership_id: int, *, amount: int, idempotency_key: str,
             memo: str = "") -> Payout:
    """The treasurer enters a partial withdrawal a member asked for, where the charter allows it: no more than
    their share under the charter's method, nor the cash available. A second officer approves it: the part is
    then valued at that day's figures and paid (R11, R13)."""
    amount = _payout_amount(amount)
    memo = one_line(memo, "memo", maximum=200, required=False)
    idempotency_key = form_ledger_key(idempotency_key)
    return _enter_checked(user_id, club_id, membership_id, PayoutKind.WITHDRAWAL, amount, idempotency_key,
                          _check_withdrawal, memo, "Retrait partiel — ")


def _check_withdrawal(club: Club, member: Membership, amount: int, *, excluding: int | None = None) -> None:
    if not charter_of(club.id).partial_withdrawals:
        raise RuleViolation(_l("The charter does not allow taking part of a share out."), rule="R13")
    if club.status not in (ClubStatus.ACTIVE, ClubStatus.IN_MANAGEMENT):
        raise RuleViolation(_l("Parts of shares are taken out only while the club is active."), rule="R13")
    if member.status != MemberStatus.ACTIVE:
        raise RuleViolation(_l("Only an active member takes part of their share out; a leaver's share is valued "
                               "whole."), rule="R13")
    shares = shares_service.club_shares(club.id)
    line = shares.line_of(member.id)
    value = line.value(shares.method) if line else 0
    entered = _pending_payouts(club.id, membership_id=member.id, kind=PayoutKind.WITHDRAWAL, excluding=excluding)
    if amount > value - entered:
        raise RuleViolation(_l("This is more than the member's share of %(value)s.",
                               value=LazyMoney(max(value - entered, 0), club.currency)), rule="R13", field="amount")
    cash = available_cash(club.id, excluding_payout=excluding)
    if amount > cash:
        raise RuleViolation(_l("The club has only %(cash)s available.", cash=LazyMoney(max(cash, 0), club.currency)),
                            rule="R13", field="amount")


# --- Money leaving the fund: one officer enters, another approves (R11) ------------------------------


def _payout_amount(amount: object) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidInput(_l("Enter an amount more than zero."), field="amount")
    return amount


def _replayed_payout(club_id: int, form_key: str, member: Membership, kind: str, amount: int | None, *,
                     investment_id: int | None = None, stake: int | None = None) -> Payout | None:
    """The payout a replayed form entered already, or None; a key spent on other figures is refused. Shares
    handed over (``amount`` None: the service values them) are the same form for the same stake."""
    ledger.check_key(form_key)
    existing = db.session.scalar(select(Payout).where(Payout.club_id == club_id, Payout.form_key == form_key))
    if existing is None:
        return None
    sent = (existing.membership_id, existing.kind, existing.investment_id, existing.stake_hundredths)
    if sent != (member.id, kind, investment_id, stake) or amount is not None and existing.amount != amount:
        raise Conflict(_l("This form was already used for another entry."))
    return existing


def _enter_payout(user_id: int, me: Membership, member: Membership, kind: str, amount: int, form_key: str,
                  memo: str, *, investment_id: int | None = None, stake: int | None = None) -> Payout:
    payout = Payout(club_id=me.club_id, membership_id=member.id, kind=kind, amount=amount, memo=memo[:200],
                    form_key=form_key, entered_by_id=me.id, investment_id=investment_id, stake_hundredths=stake)
    db.session.add(payout)
    db.session.flush()
    shares = {"investment": investment_id, "stake": stake} if investment_id is not None else {}
    record(user_id, me.club_id, "payout.enter", payout,
           after={"kind": kind, "member": member.id, "amount": amount, **shares})
    return payout


def _enter_checked(user_id: int, club_id: int, membership_id: int, kind: str, amount: int, form_key: str, check,
                   memo: str, default_memo: str) -> Payout:
    """One officer who keeps the money enters a payout of ``kind`` that ``check`` allows (without a ``memo``, the
    default one followed by the member's name); the same form again returns the first entry."""
    with unit_of_work():
        me = access.money_keeper(user_id, club_id, lock=True)
        member = _member_of(club_id, membership_id)
        replay = _replayed_payout(club_id, form_key, member, kind, amount)
        if replay is not None:
            return replay
        check(me.club, member, amount)
        return _enter_payout(user_id, me, member, kind, amount, form_key, memo or default_memo + member.user.name)


def _payout(club_id: int, payout_id: object) -> Payout:
    return in_club(Payout, club_id, payout_id, lock=True, missing=_l("No such payment."))


#: What each kind of payout posts when it is paid, and its audit action.
PAID_AS = {PayoutKind.REFUND: (TransactionKind.REFUND, "capital.refund"),
           PayoutKind.WITHDRAWAL: (TransactionKind.REFUND, "capital.withdraw"),
           PayoutKind.DISTRIBUTION: (TransactionKind.DISTRIBUTION, "capital.distribute"),
           PayoutKind.IN_KIND: (TransactionKind.HANDOVER, "capital.hand_over")}


def approve_payout(user_id: int, club_id: int, payout_id: int) -> Payout:
    """A second officer approves a payout: it posts to the ledger, once (R11). The rules are checked again
    against today's figures (R13). A withdrawal or a part at dissolution is valued now (from the member's
    capital to what the club owes them), then paid; a leaver's refund pays what their valuation fixed, and so
    do shares handed over, worth what they were entered at (or refused: enter them again)."""
    with unit_of_work():
        officer = access.officer(user_id, club_id)
        access.lock_club(club_id)
        payout = _payout(club_id, payout_id)
        signoff.check_approvable(payout, officer)
        club, member = officer.club, payout.membership
        if payout.kind == PayoutKind.IN_KIND:
            txn = _approve_hand_over(user_id, officer, payout)
            return _approved(user_id, officer, payout, txn)
        if payout.kind == PayoutKind.REFUND:
            _check_refund(club, member, payout.amount, excluding=payout.id)
        elif payout.kind == PayoutKind.WITHDRAWAL:
            _check_withdrawal(club, member, payout.amount, excluding=payout.id)
        else:
            _check_distribution(club, member, payout.amount, excluding=payout.id)
        if payout.kind != PayoutKind.REFUND:
            shares = shares_service.club_shares(club_id)
            whole = shares.line_of(member.id).value(shares.method)
            shares_service.post_out(club_id, member, payout.amount, kind=TransactionKind.WITHDRAWAL, whole=whole,
                                    key=f"payout-value:{payout.id}", memo=payout.memo, author_id=user_id)
        bank = ledger.find_account(club_id, "bank")
        owed = shares_service.payable_account(club_id, member)
        kind, _ = PAID_AS[PayoutKind(payout.kind)]
        txn = ledger.post(club_id, unit=Unit.MONEY, kind=kind, lines=[(bank.id, -payout.amount),
                                                                       (owed.id, payout.amount)],
                          idempotency_key=f"payout:{payout.id}", memo=payout.memo, author_id=user_id)
        return _approved(user_id, officer, payout, txn)


def _approved(user_id: int, officer: Membership, payout: Payout, txn: JournalTransaction) -> Payout:
    signoff.mark_approved(payout, officer, txn.id)
    shares = {"investment": payout.investment_id, "stake": payout.stake_hundredths} if payout.investment_id else {}
    record(user_id, payout.club_id, PAID_AS[PayoutKind(payout.kind)][1], payout.membership,
           after={"amount": payout.amount, "transaction": txn.id, "payout": payout.id,
                  "entered_by": payout.entered_by_id, **shares})
    return payout


def cancel_payout(user_id: int, club_id: int, payout_id: int, reason: str) -> Payout:
    """An officer withdraws a payout not yet approved, with a reason; the commitment goes."""
    return signoff.cancel(user_id, club_id, lambda: _payout(club_id, payout_id), reason, action="payout.cancel")


def payouts_waiting(user_id: int, club_id: int, kind: str | tuple[str, ...]) -> list[Payout]:
    """Payouts of a kind (or of several) entered and waiting for a second officer: for the officers."""
    me = membership_for(user_id, club_id)
    if not me.is_officer:
        return []
    kinds = (kind,) if isinstance(kind, str) else kind
    return list(db.session.scalars(select(Payout).where(
        Payout.club_id == club_id, Payout.kind.in_(kinds), Payout.status == PayoutStatus.PENDING)
        .order_by(Payout.entered_at, Payout.id)))


# --- Dissolution (R13) ------------------------------------------------------------------------------


def begin_dissolution(club_id: int, *, decided_by: int | None, ballot_id: int | None = None) -> Club:
    """Called once the dissolution ballot has passed: the club stops taking
    money in and shares its net assets out."""
    with unit_of_work():
        club = db.session.scalar(select(Club).where(Club.id == club_id).with_for_update())
        if club is None:
            raise NotFound(_l("No such club."))
        if club.status not in (ClubStatus.ACTIVE, ClubStatus.IN_MANAGEMENT):
            raise Conflict(_l("Only an active club can be dissolved."))
        before = club.status
        move(club, ClubStatus.DISSOLVING)
        closing = _close_results(club_id, decided_by)
        record(decided_by, club_id, "club.dissolve", club, before={"status": before},
               after={"status": "dissolving", "ballot": ballot_id, "closing_entry": closing})
        return club


def _close_results(club_id: int, author_id: int | None) -> int | None:
    """Bring the income and expense accounts to zero into members' capital,
    pro rata to it: a gain or a loss is shared like the rest (R13)."""
    results = list(db.session.scalars(select(Account).where(
        Account.club_id == club_id, Account.unit == Unit.MONEY, Account.type.in_(("income", "expense")),
        Account.balance != 0)))
    if not results:
        return None
    gain = -sum(a.balance for a in results)  # income is credit-normal: a gain leaves a negative sum
    capitals = list(db.session.scalars(select(Account).where(
        Account.club_id == club_id, Account.code.like("capital:%"), Account.membership_id.is_not(None))))
    parts = rules.pro_rata(abs(gain), {a.id: -a.balance for a in capitals})
    sign = -1 if gain > 0 else 1  # a gain credits capital further; a loss debits it
    lines = [(a.id, -a.balance) for a in results] + [(a_id, sign * part) for a_id, part in parts.items() if part]
    if sum(x for _, x in lines):  # no capital to take a loss: the reserves carry it
        lines.append((shares_service.reserves_account(club_id).id, -sum(x for _, x in lines)))
    txn = ledger.post(club_id, unit=Unit.MONEY, kind=TransactionKind.CLOSING, lines=lines,
                      idempotency_key=f"closing:{club_id}", author_id=author_id,
                      memo="Affectation du résultat avant partage / Allocation of the result before sharing")
    return txn.id


@dataclass(frozen=True)
class DistributionLine:
    membership: Membership
    contributed: int
    due: int  # the member's part: their share of the net assets under the charter's method, plus what was paid
    distributed: int
    pending: int = 0  # entered, waiting for a second officer (R11)

    @property
    def remaining(self) -> int:
        return self.due - self.distributed

    @property
    def to_enter(self) -> int:
        """What may still be entered: the remaining part less what waits for approval."""
        return self.remaining - self.pending


def dissolution_plan(user_id: int, club_id: int) -> list[DistributionLine]:
    """Each member's part of the net assets under the charter's share method (R13). A member sees their own
    line; officers every line."""
    me = membership_for(user_id, club_id)
    plan = _plan(club_id)
    if access.is_bookkeeper(me):
        return plan
    return [line for line in plan if line.membership.id == me.id]


def _plan(club_id: int) -> list[DistributionLine]:
    shares = shares_service.club_shares(club_id)
    distributed = dict(db.session.execute(
        select(Payout.membership_id, sum_of(Payout.amount))
        .where(Payout.club_id == club_id, Payout.kind == PayoutKind.DISTRIBUTION, Payout.status == PayoutStatus.APPROVED)
        .group_by(Payout.membership_id)).all())
    pending = dict(db.session.execute(
        select(Payout.membership_id, sum_of(Payout.amount))
        .where(Payout.club_id == club_id, Payout.kind == PayoutKind.DISTRIBUTION, Payout.status == PayoutStatus.PENDING)
        .group_by(Payout.membership_id)).all())
    valued = set(db.session.scalars(select(ExitValuation.membership_id).where(ExitValuation.club_id == club_id)))
    return [DistributionLine(line.membership, line.paid_in,
                             line.value(shares.method) + distributed.get(line.membership.id, 0),
                             distributed.get(line.membership.id, 0), pending.get(line.membership.id, 0))
            for line in shares.lines if line.membership.id not in valued]


def distribute(user_id: int, club_id: int, membership_id: int, *, amount: int, idempotency_key: str) -> Payout:
    """The treasurer enters a payment of a member's part of a dissolving club's net assets (R13);
    a second officer approves it before it posts (R11)."""
    amount = _payout_amount(amount)
    idempotency_key = f"{form_ledger_key(idempotency_key)}:{membership_id}"  # one form key for the page's lines
    with unit_of_work():
        me = access.money_keeper(user_id, club_id, lock=True)
        if me.club.status != ClubStatus.DISSOLVING:
            raise RuleViolation(_l("Net assets are shared only once the club has voted its dissolution."), rule="R13")
        member = _member_of(club_id, membership_id)
        replay = _replayed_payout(club_id, idempotency_key, member, PayoutKind.DISTRIBUTION, amount)
        if replay is not None:
            return replay
        _check_distribution(me.club, member, amount)
        return _enter_payout(user_id, me, member, PayoutKind.DISTRIBUTION, amount, idempotency_key,
                             f"Partage de l'actif — {member.user.name}")


def _check_distribution(club: Club, member: Membership, amount: int, *, excluding: int | None = None) -> None:
    if club.status != ClubStatus.DISSOLVING:
        raise RuleViolation(_l("Net assets are shared only once the club has voted its dissolution."), rule="R13")
    line = next((l for l in _plan(club.id) if l.membership.id == member.id), None)  # noqa: E741
    # Not line.pending: at approval the payout approved is left out.
    remaining = (line.remaining if line else 0) - _pending_payouts(
        club.id, membership_id=member.id, kind=PayoutKind.DISTRIBUTION, excluding=excluding)
    if amount > remaining:
        raise RuleViolation(_l("This is more than the member's remaining part of %(left)s.",
                               left=LazyMoney(max(remaining, 0), club.currency)), rule="R13", field="amount")
    cash = available_cash(club.id, excluding_payout=excluding)
    if amount > cash:
        raise RuleViolation(_l("The club has only %(cash)s available.", cash=LazyMoney(max(cash, 0), club.currency)),
                            rule="R13", field="amount")


def close_club(user_id: int, club_id: int) -> Club:
    """A dissolved club closes once it holds nothing and owes nothing (R13): a last entry then brings what is
    left in its equity, result and reserve accounts, which add up to nothing, to zero."""
    with unit_of_work():
        me = access.money_keeper(user_id, club_id, lock=True)
        club = me.club
        if club.status != ClubStatus.DISSOLVING:
            raise RuleViolation(_l("Only a club being dissolved can be closed."), rule="R13")
        held = db.session.scalar(select(func.count()).select_from(Account).where(
            Account.club_id == club_id, Account.unit == Unit.MONEY, Account.balance != 0,
            Account.type.in_((AccountType.ASSET, AccountType.LIABILITY))))
        if held:
            raise RuleViolation(lazy_ngettext("%(num)d account still holds money: share everything out first.",
                                              "%(num)d accounts still hold money: share everything out first.",
                                              held), rule="R13")
        rest = list(db.session.scalars(select(Account).where(
            Account.club_id == club_id, Account.unit == Unit.MONEY, Account.balance != 0).order_by(Account.id)))
        if rest:
            ledger.post(club_id, unit=Unit.MONEY, kind=TransactionKind.CLOSING,
                        lines=[(a.id, -a.balance) for a in rest], idempotency_key=f"closing-final:{club_id}",
                        author_id=user_id, memo="Clôture des comptes / Closing the accounts")
        move(club, ClubStatus.CLOSED)
        record(user_id, club_id, "club.close", club, before={"status": "dissolving"}, after={"status": "closed"})
        return club


# --- Invariant for `flask coop check` --------------------------------------------------------------


def check_contributions(club_only: int | None = None) -> list[ledger.Violation]:
    """Members' capital agrees with the register: each contribution row posted
    exactly its amount to its member's capital, and capital moves only by
    contributions, refunds, distributions, the closing of results, shares passing
    from member to member (nothing but capital accounts) and their reversals."""
    found = []
    capital = aliased(Account)
    mismatched = db.session.execute(
        select(Contribution.id, Contribution.club_id, Contribution.amount, func.coalesce(sum_of(Posting.amount), 0))
        .outerjoin(capital, and_(capital.club_id == Contribution.club_id,
                                 capital.membership_id == Contribution.membership_id,
                                 capital.code.like("capital:%")))
        .outerjoin(Posting, and_(Posting.transaction_id == Contribution.transaction_id,
                                 Posting.account_id == capital.id, Posting.club_id == Contribution.club_id))
        .where(ledger.of_club(Contribution.club_id, club_only))
        .group_by(Contribution.id, Contribution.club_id, Contribution.amount)
        .having(func.coalesce(sum_of(Posting.amount), 0) != -Contribution.amount)
    )
    for contribution_id, club_id, amount, posted in mismatched:
        found.append(ledger.Violation(7, club_id, f"contribution {contribution_id} of {amount} credited {-posted} "
                                                  "to the member's capital"))
    allowed = (TransactionKind.CONTRIBUTION, TransactionKind.REFUND, TransactionKind.DISTRIBUTION,
               TransactionKind.CLOSING, TransactionKind.REVERSAL, TransactionKind.EXIT, TransactionKind.WITHDRAWAL,
               TransactionKind.TRANSFER)
    stray = db.session.execute(
        select(JournalTransaction.id, JournalTransaction.club_id, JournalTransaction.kind)
        .join(Posting, ledger.POSTING_TRANSACTION)
        .join(Account, (Account.id == Posting.account_id) & (Account.club_id == Posting.club_id))
        .where(ledger.of_club(Posting.club_id, club_only), Account.code.like("capital:%"),
               JournalTransaction.kind.not_in([k.value for k in allowed]))
        .distinct()
    )
    for txn_id, club_id, kind in stray:
        found.append(ledger.Violation(7, club_id, f"transaction {txn_id} ({kind}) moves a member's capital"))
    unregistered = db.session.execute(
        select(JournalTransaction.id, JournalTransaction.club_id)
        .where(ledger.of_club(JournalTransaction.club_id, club_only),
               JournalTransaction.kind == TransactionKind.CONTRIBUTION,
               ~exists().where(Contribution.transaction_id == JournalTransaction.id,
                               Contribution.club_id == JournalTransaction.club_id))
    )
    for txn_id, club_id in unregistered:
        found.append(ledger.Violation(7, club_id, f"contribution transaction {txn_id} has no contribution record"))
    # A share passing on moves capital from member to member: no money enters or leaves the club.
    leaking = db.session.execute(
        select(JournalTransaction.id, JournalTransaction.club_id)
        .join(Posting, ledger.POSTING_TRANSACTION)
        .join(Account, (Account.id == Posting.account_id) & (Account.club_id == Posting.club_id))
        .where(ledger.of_club(Posting.club_id, club_only), JournalTransaction.kind == TransactionKind.TRANSFER,
               ~(Account.code.like("capital:%") & Account.membership_id.is_not(None)))
        .distinct()
    )
    for txn_id, club_id in leaking:
        found.append(ledger.Violation(7, club_id, f"transfer transaction {txn_id} moves money outside members' "
                                                  "capital"))
    return found
