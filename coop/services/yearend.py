"""Year end: the year's result shared into members' capital, and each member's yearly statement.

Closing a year posts one closing entry (kind ``closing``) that brings every income and expense account's
amounts of the year to zero and shares the result among members' capital accounts, pro rata to paid-in
capital as the charter says (``result_by_days``: capital × days held, the default, or capital on
31 December), to the cent by the largest remainders (``rules.pro_rata``). The books are then closed through
31 December (``books.close_period``), so nothing more is dated in the year.

A closed year is reopened only by reversing its closing entry, with a reason. Period closes are final: the
reversal is dated on the first open day after the year (1 January of the next year, unless the books were
closed past it), as is a new closing entry when the year is closed again. The year's result is always what
was posted *dated in the year*, closing entries and their reversals left out, so it does not depend on the
date the closing entry carries.

A member's yearly statement gives their share of the year's interest, dividends, gains and losses on
disposals, write-offs and fees, with the same weights, and their capital at the start and end of the year.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from ..database import sum_of
from ..extensions import db
from ..models import (
    Account,
    AccountType,
    ClubStatus,
    EventKind,
    Investment,
    InvestmentEvent,
    JournalTransaction,
    Membership,
    Posting,
    TransactionKind,
    Unit,
    YearEnd,
)
from ..models.base import utcnow
from . import access, books, fund, investments, ledger, rules
from .access import membership_for
from .audit import record
from .charter import charter_of
from .errors import Conflict, InvalidInput, NotFound, RuleViolation, _l
from .lookup import in_club
from .uow import unit_of_work
from .validate import FIRST_DAY, form_ledger_key, one_line

BY_DAYS = "days"
AT_YEAR_END = "year_end"


# --- Which entries belong to a year --------------------------------------------------------------------


_closing_entry = books.closing_entry


def _year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def _check_year(year: object) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not FIRST_DAY.year <= year <= 9998:
        raise InvalidInput(_l("Choose a year from the list."), field="year")
    return year


def activity_years(club_id: int) -> list[int]:
    """The years in which money moved (closing entries and their reversals aside), oldest first."""
    days = db.session.execute(
        select(func.min(JournalTransaction.occurred_on), func.max(JournalTransaction.occurred_on))
        .where(JournalTransaction.club_id == club_id, JournalTransaction.unit == Unit.MONEY,
               ~_closing_entry(club_id))).one()
    if days[0] is None:
        return []
    years = []
    for year in range(days[0].year, days[1].year + 1):
        first, last = _year_bounds(year)
        if db.session.scalar(select(JournalTransaction.id).where(
                JournalTransaction.club_id == club_id, JournalTransaction.unit == Unit.MONEY,
                JournalTransaction.occurred_on >= first, JournalTransaction.occurred_on <= last,
                ~_closing_entry(club_id)).limit(1)):
            years.append(year)
    return years


def result_lines(club_id: int, year: int) -> list[tuple[Account, int]]:
    """Each income and expense account with what was posted to it dated in the year (debit positive),
    closing entries and their reversals left out; accounts that did not move are left out."""
    first, last = _year_bounds(year)
    rows = db.session.execute(
        select(Account, sum_of(Posting.amount))
        .join(Posting, (Posting.account_id == Account.id) & (Posting.club_id == Account.club_id))
        .join(JournalTransaction, ledger.POSTING_TRANSACTION)
        .where(Account.club_id == club_id, Posting.club_id == club_id, Account.unit == Unit.MONEY,
               Account.type.in_((AccountType.INCOME, AccountType.EXPENSE)),
               JournalTransaction.occurred_on >= first, JournalTransaction.occurred_on <= last,
               ~_closing_entry(club_id))
        .group_by(Account.id, Account.club_id).order_by(Account.code)).all()
    return [(account, int(amount)) for account, amount in rows if amount]


def year_result(club_id: int, year: int) -> int:
    """Income less expenses (gains and losses, write-offs and fees included) dated in the year: a gain is
    positive."""
    return -sum(amount for _, amount in result_lines(club_id, year))


# --- Weights -------------------------------------------------------------------------------------------


def basis_of(club_id: int) -> str:
    return BY_DAYS if charter_of(club_id).result_by_days else AT_YEAR_END


def weights(club_id: int, year: int, basis: str | None = None) -> dict[int, int]:
    """Each member's weight in the year's result (membership id → weight), the same for the closing entry
    and the yearly statements.

    Paid-in capital is what the member paid in less what was paid back (contributions, refunds,
    distributions and their reversals), without the results shared in earlier years (Cigales practice:
    pro rata to contributions). By days (the default), the weight is the sum over the year's days of the
    paid-in capital held at the end of each day (cent-days): a member who paid in on 1 July weighs about
    half one who paid the same on 1 January. At the year end, it is the paid-in capital on 31 December.
    A member with no paid-in capital left on 31 December (gone and refunded) takes no part: they settled
    with the club when they were refunded."""
    basis = basis or basis_of(club_id)
    first, last = _year_bounds(year)
    movements = db.session.execute(
        select(Account.membership_id, JournalTransaction.occurred_on, sum_of(Posting.amount))
        .join(Posting, (Posting.account_id == Account.id) & (Posting.club_id == Account.club_id))
        .join(JournalTransaction, ledger.POSTING_TRANSACTION)
        .where(Account.club_id == club_id, Posting.club_id == club_id, Account.code.like("capital:%"),
               Account.membership_id.is_not(None), JournalTransaction.occurred_on <= last, ~_closing_entry(club_id))
        .group_by(Account.membership_id, JournalTransaction.occurred_on)
        .order_by(Account.membership_id, JournalTransaction.occurred_on)).all()
    by_member: dict[int, list[tuple[date, int]]] = {}
    for membership_id, on, amount in movements:
        by_member.setdefault(membership_id, []).append((on, -int(amount)))  # paid in: credits, positive
    result = {}
    for membership_id, moves in by_member.items():
        held = sum(amount for on, amount in moves if on < first)
        weight, since = 0, first
        for on, amount in moves:
            if on < first:
                continue
            weight += max(held, 0) * (on - since).days
            held += amount
            since = on
        if held <= 0:
            result[membership_id] = 0
            continue
        weight += held * ((last - since).days + 1)
        result[membership_id] = weight if basis == BY_DAYS else held
    return result


def share(total: int, member_weights: dict[int, int]) -> dict[int, int]:
    """``total`` (a gain or a loss, in cents) shared pro rata to the weights, the parts adding up exactly."""
    parts = rules.pro_rata(abs(total), member_weights)
    return {k: v if total >= 0 else -v for k, v in parts.items()}


# --- The years of a club --------------------------------------------------------------------------------


@dataclass
class YearView:
    year: int
    #: the result dated in the year (what a close shares, or shared)
    result: int
    #: the close in force, if the year is closed
    close: YearEnd | None
    #: earlier closes of the year, each reopened by a reversal
    reopened: list[YearEnd] = field(default_factory=list)
    over: bool = True

    @property
    def closed(self) -> bool:
        return self.close is not None


def _closes(club_id: int) -> list[YearEnd]:
    return list(db.session.scalars(select(YearEnd).where(YearEnd.club_id == club_id)
                                   .order_by(YearEnd.year, YearEnd.id)))


def _close_in_force(club_id: int, year: int) -> YearEnd | None:
    return db.session.scalar(select(YearEnd).where(YearEnd.club_id == club_id, YearEnd.year == year,
                                                   YearEnd.reopened_at.is_(None)).order_by(YearEnd.id.desc())
                             .limit(1))


def years(user_id: int, club_id: int, *, today: date | None = None) -> list[YearView]:
    """Every year with activity, newest first: its result, whether it is over, closed, or was reopened."""
    access.bookkeeper(user_id, club_id)
    return _years(club_id, today or date.today())


def _years(club_id: int, today: date) -> list[YearView]:
    views: dict[int, YearView] = {}
    for year in activity_years(club_id):
        views[year] = YearView(year, year_result(club_id, year), None, over=_year_bounds(year)[1] < today)
    for close in _closes(club_id):
        view = views.setdefault(close.year, YearView(close.year, year_result(club_id, close.year), None))
        if close.reopened_at is None:
            view.close = close
        else:
            view.reopened.append(close)
    return [views[y] for y in sorted(views, reverse=True)]


def closed_years(club_id: int) -> set[int]:
    return {c.year for c in _closes(club_id) if c.reopened_at is None}


# --- Closing and reopening ------------------------------------------------------------------------------


def _first_open_day(club_id: int, year: int) -> date:
    """31 December of the year if the books are open on it, else the first day after the closed period."""
    last = _year_bounds(year)[1]
    closed = books.closed_through(club_id)
    return last if closed is None or closed < last else closed + timedelta(days=1)


def _check_books(user_id: int, club_id: int) -> None:
    """The club's books balance and its invariants hold (``flask coop check``, this club's part)."""
    for table in books.trial_balance(user_id, club_id):
        if not table.balanced:
            raise RuleViolation(_l("The books do not balance: run flask coop check and correct them before "
                                   "closing the year."), rule="books")
    found = ledger.check(club_id) + fund.check_contributions(club_id) + investments.check(club_id)
    if found:
        raise RuleViolation(_l("The books fail their checks (flask coop check): correct them before closing the "
                               "year."), rule="books")


def close_year(user_id: int, club_id: int, year: int, *, form_key: str, today: date | None = None) -> YearEnd:
    """The treasurer closes a year that is over: the closing entry shares its result into members' capital
    and the books close through 31 December. The same form sent again returns the first close."""
    today = today or date.today()
    year = _check_year(year)
    key = form_ledger_key(form_key)
    first, last = _year_bounds(year)
    with unit_of_work() as session:
        me = access.money_keeper(user_id, club_id, lock=True)
        head = ledger.lock_for_posting(club_id)  # one close at a time, and no posting slips in meanwhile
        sent = session.scalar(select(YearEnd).where(YearEnd.club_id == club_id, YearEnd.form_key == key))
        if sent is not None:
            if sent.year != year:
                raise Conflict(_l("This form was already used for another entry."))
            return sent
        if last >= today:
            raise RuleViolation(_l("Only a year that is over can be closed: %(year)d ends on 31 December.",
                                   year=year), rule="year_end", field="year")
        if me.club.status in (ClubStatus.DISSOLVING, ClubStatus.CLOSED):
            raise RuleViolation(_l("A club being dissolved shares its result at the dissolution, not by year."),
                                rule="year_end")
        if _close_in_force(club_id, year) is not None:
            raise Conflict(_l("The year %(year)d is already closed.", year=year), field="year")
        done = closed_years(club_id)
        later = [y for y in done if y > year]
        if later:
            raise Conflict(_l("The year %(year)d is already closed.", year=min(later)), field="year")
        active = activity_years(club_id)
        open_before = [y for y in active if y < year and y not in done]
        if open_before:
            raise RuleViolation(_l("Close the year %(year)d first: the years are closed in order.",
                                   year=open_before[0]), rule="year_end", field="year")
        if year not in active:
            raise RuleViolation(_l("Nothing was recorded in %(year)d: there is no year to close.", year=year),
                                rule="year_end", field="year")
        _check_books(user_id, club_id)
        basis = basis_of(club_id)
        lines_of_year = result_lines(club_id, year)
        result = -sum(amount for _, amount in lines_of_year)
        closed_on = _first_open_day(club_id, year)
        transaction_id = None
        parts: dict[int, int] = {}
        if lines_of_year:
            member_weights = weights(club_id, year, basis)
            if not any(member_weights.values()):
                raise RuleViolation(_l("No member holds paid-in capital: the year's result cannot be shared."),
                                    rule="year_end")
            parts = share(result, member_weights)
            capital = {a.membership_id: a for a in session.scalars(select(Account).where(
                Account.club_id == club_id, Account.code.like("capital:%"), Account.membership_id.in_(parts)))}
            lines = [(account.id, -amount) for account, amount in lines_of_year]
            lines += [(capital[m].id, -part) for m, part in sorted(parts.items()) if part]
            txn = ledger.post(club_id, unit=Unit.MONEY, kind=TransactionKind.CLOSING, lines=lines,
                              idempotency_key=key, occurred_on=closed_on, author_id=user_id,
                              memo=f"Affectation du résultat {year} / Allocation of the {year} result")
            transaction_id = txn.id
        close = YearEnd(club_id=club_id, year=year, result=result, basis=basis, closed_on=closed_on,
                        closed_by_id=user_id, closed_at=utcnow(), transaction_id=transaction_id, form_key=key)
        session.add(close)
        session.flush()
        if head.closed_through is None or head.closed_through < last:
            books.close_period(user_id, club_id, through=last, note=f"{year}", today=today)
        record(user_id, club_id, "year_end.close", close, after={
            "year": year, "result": result, "basis": basis, "closed_on": closed_on, "transaction": transaction_id,
            "parts": {str(m): p for m, p in sorted(parts.items())}, "first": first})
        return close


def reopen_year(user_id: int, club_id: int, year: int, reason: str, *, form_key: str,
                today: date | None = None) -> YearEnd:
    """The treasurer reopens a closed year by reversing its closing entry, with the reason; the reversal is
    dated on the first open day after the year. Refused while a later year is closed."""
    today = today or date.today()
    year = _check_year(year)
    reason = one_line(reason, "reason", maximum=300)
    key = form_ledger_key(form_key)
    with unit_of_work() as session:
        access.money_keeper(user_id, club_id, lock=True)
        ledger.lock_for_posting(club_id)
        sent = session.scalar(select(YearEnd).where(YearEnd.club_id == club_id, YearEnd.reopen_form_key == key))
        if sent is not None:
            if sent.year != year:
                raise Conflict(_l("This form was already used for another entry."))
            return sent
        close = _close_in_force(club_id, year)
        if close is None:
            raise Conflict(_l("The year %(year)d is not closed.", year=year), field="year")
        later = sorted(y for y in closed_years(club_id) if y > year)
        if later:
            raise Conflict(_l("Reopen %(later)d first: a year is reopened only while no later year is closed.",
                              later=later[-1]), field="year")
        reversal = None
        if close.transaction_id is not None:
            on = max(_first_open_day(club_id, year), date(year + 1, 1, 1))
            reversal = ledger.reverse(club_id, close.transaction_id, reason=reason, idempotency_key=key,
                                      author_id=user_id, occurred_on=on)
        close.reopened_at, close.reopened_by_id, close.reason = utcnow(), user_id, reason
        close.reopen_transaction_id = reversal.id if reversal else None
        close.reopen_form_key = key
        record(user_id, club_id, "year_end.reopen", close, before={"closed": True}, after={
            "year": year, "reason": reason, "reversal": close.reopen_transaction_id,
            "dated": reversal.occurred_on if reversal else None})
        return close


# --- Approval by the general meeting (R14) ---------------------------------------------------------------


def approvable(club_id: int, year: object) -> YearEnd:
    """The close in force of a year whose accounts the ordinary general meeting may approve: closed, and not
    approved yet."""
    if isinstance(year, bool) or not isinstance(year, int) or not FIRST_DAY.year <= year <= 9998:
        raise InvalidInput(_l("Choose a closed year from the list."), field="year")
    close = _close_in_force(club_id, year)
    if close is None:
        raise RuleViolation(_l("The year %(year)d is not closed: the treasurer closes it before the general "
                               "meeting approves its accounts.", year=year), rule="R14", field="year")
    if close.approval_ballot_id is not None:
        raise Conflict(_l("The accounts of %(year)d are already approved.", year=year), field="year")
    return close


def approvable_years(club_id: int) -> list[int]:
    """The closed years whose accounts are not approved yet, latest first."""
    return sorted((c.year for c in _closes(club_id) if c.reopened_at is None and c.approval_ballot_id is None),
                  reverse=True)


def approve_accounts(club_id: int, year: int, *, ballot_id: int, put_at: datetime, now: datetime) -> YearEnd:
    """The general meeting adopted the accounts of ``year`` (its ballot ``ballot_id``, opened for voting at
    ``put_at``): its close in force is approved. Refused if the year was reopened since the accounts were put
    to the vote: the figures voted on are no longer those of the books."""
    with unit_of_work():
        close = approvable(club_id, year)
        if close.closed_at > put_at:
            raise RuleViolation(_l("The year %(year)d was reopened after its accounts were put to the vote: close "
                                   "it again and put them to a new vote.", year=year), rule="R14")
        close.approval_ballot_id, close.approved_at = ballot_id, now
        record(None, club_id, "year_end.approve", close, after={"year": year, "ballot": ballot_id})
        return close


# --- A member's yearly statement ---------------------------------------------------------------------------


@dataclass(frozen=True)
class YearlyStatement:
    membership: Membership
    year: int
    #: closed: the figures of the close in force; otherwise provisional (the year may still change)
    close: YearEnd | None
    basis: str
    #: the member's weight and the whole club's (cent-days, or cents at the year end)
    weight: int
    total_weight: int
    #: the club's figures for the year, and the member's share of each (cents)
    club: dict[str, int]
    mine: dict[str, int]
    #: what the closing entry put in (or, provisionally, would put in) the member's capital
    allocated: int
    capital_start: int
    contributed: int
    paid_back: int
    capital_end: int

    @property
    def provisional(self) -> bool:
        return self.close is None

    @property
    def share_percent(self) -> float:
        return 100 * self.weight / self.total_weight if self.total_weight else 0.0


#: The statement's lines, in the order a tax return asks for them.
CATEGORIES = ("interest", "dividends", "gains", "disposal_losses", "write_offs", "fees", "other")


def _club_figures(club_id: int, year: int) -> dict[str, int]:
    """The year's income and expenses by kind, as positive amounts (``other``: what the investment events do
    not explain, signed like the result)."""
    first, last = _year_bounds(year)
    reversal = aliased(JournalTransaction)
    events = db.session.execute(
        select(InvestmentEvent.kind, Investment.instrument, sum_of(InvestmentEvent.income),
               sum_of(InvestmentEvent.loss))
        .join(Investment, (Investment.id == InvestmentEvent.investment_id) & (Investment.club_id == InvestmentEvent.club_id))
        .where(InvestmentEvent.club_id == club_id, InvestmentEvent.occurred_on >= first,
               InvestmentEvent.occurred_on <= last,
               ~exists().where(reversal.reverses_id == InvestmentEvent.transaction_id,
                               reversal.club_id == InvestmentEvent.club_id))
        .group_by(InvestmentEvent.kind, Investment.instrument)).all()
    figures = dict.fromkeys(CATEGORIES, 0)
    for kind, instrument, income, loss in events:
        income, loss = int(income or 0), int(loss or 0)
        if kind in (EventKind.SALE, EventKind.HANDOVER):  # shares handed over to a leaver count as sold
            figures["gains"] += income
            figures["disposal_losses"] += loss
        elif kind == EventKind.WRITE_OFF:
            figures["write_offs"] += loss
        elif kind == EventKind.RETURN and instrument == "equity":
            figures["dividends"] += income
        else:
            figures["interest"] += income
    fees = 0
    for account, amount in result_lines(club_id, year):
        if account.type == AccountType.EXPENSE and account.code != "expense:losses":
            fees += amount
    figures["fees"] = fees
    explained = (figures["interest"] + figures["dividends"] + figures["gains"] - figures["disposal_losses"]
                 - figures["write_offs"] - figures["fees"])
    figures["other"] = year_result(club_id, year) - explained
    return figures


def _paid_in_moves(club_id: int, membership_id: int, year: int) -> tuple[int, int, int]:
    """Paid-in capital before the year, paid in during it, paid back during it (contributions, refunds,
    distributions and their reversals)."""
    first, last = _year_bounds(year)
    rows = db.session.execute(
        select(JournalTransaction.occurred_on < first, Posting.amount)
        .join(Posting, ledger.POSTING_TRANSACTION)
        .join(Account, and_(Account.id == Posting.account_id, Account.club_id == club_id))
        .where(Posting.club_id == club_id, Account.membership_id == membership_id, Account.code.like("capital:%"),
               JournalTransaction.occurred_on <= last, ~_closing_entry(club_id))).all()
    before = sum(-amount for early, amount in rows if early)
    paid = sum(-amount for early, amount in rows if not early and amount < 0)
    back = sum(amount for early, amount in rows if not early and amount > 0)
    return before, paid, back


def _shared_into(club_id: int, membership_id: int, closes: list[YearEnd]) -> int:
    """What these closing entries put into the member's capital (a loss negative)."""
    ids = [c.transaction_id for c in closes if c.transaction_id is not None]
    if not ids:
        return 0
    return -int(db.session.scalar(
        select(func.coalesce(sum_of(Posting.amount), 0))
        .join(Account, (Account.id == Posting.account_id) & (Account.club_id == Posting.club_id))
        .where(Posting.transaction_id.in_(ids), Posting.club_id == club_id, Account.membership_id == membership_id,
               Account.code.like("capital:%"))))


def yearly_statement(user_id: int, club_id: int, year: int, membership_id: int | None = None,
                     *, today: date | None = None) -> YearlyStatement:
    """A member's figures for the year: their share of the interest, dividends, gains and losses, pro rata as
    in the closing entry. A member reads their own; the manager and the treasurer anyone's. Only for a year
    that is over; before it is closed, the figures are provisional."""
    today = today or date.today()
    year = _check_year(year)
    me = membership_for(user_id, club_id)
    if membership_id is None or membership_id == me.id:
        member = me
    elif access.is_bookkeeper(me):
        member = in_club(Membership, club_id, membership_id, missing=_l("No such member."))
    else:
        raise NotFound(_l("No such member."))
    if _year_bounds(year)[1] >= today:
        raise RuleViolation(_l("The statement of %(year)d is ready once the year is over.", year=year),
                            rule="year_end", field="year")
    close = _close_in_force(club_id, year)
    basis = close.basis if close else basis_of(club_id)
    member_weights = weights(club_id, year, basis)
    club = _club_figures(club_id, year)
    mine = {name: share(amount, member_weights).get(member.id, 0) for name, amount in club.items()}
    result = close.result if close else year_result(club_id, year)
    if close is not None:
        allocated = _shared_into(club_id, member.id, [close])
    else:
        allocated = share(result, member_weights).get(member.id, 0)
    # Capital by the years' figures, whatever day each closing entry is dated: paid in, plus the results of
    # the earlier years closed.
    before, paid, back = _paid_in_moves(club_id, member.id, year)
    earlier = [c for c in _closes(club_id) if c.year < year and c.reopened_at is None]
    capital_start = before + _shared_into(club_id, member.id, earlier)
    capital_end = capital_start + paid - back + allocated
    return YearlyStatement(member, year, close, basis, member_weights.get(member.id, 0),
                           sum(member_weights.values()), club, mine, allocated, capital_start, paid, back,
                           capital_end)


def statement_years(user_id: int, club_id: int, *, today: date | None = None) -> list[int]:
    """The years over in which money moved, newest first: those a member may ask a statement for."""
    membership_for(user_id, club_id)
    today = today or date.today()
    return sorted((y for y in activity_years(club_id) if _year_bounds(y)[1] < today), reverse=True)

