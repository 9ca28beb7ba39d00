"""The treasurer's books, read only: journal, account statements, trial balance, balance sheet,
income statement.

Every list is a page at a time with a keyset cursor (the last row's date and
id), so page 1 and a page ten thousand rows deep cost the same queries.
The manager and the treasurer read the whole club's books; a member reads
their own accounts' statements.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, exists, func, select, tuple_
from sqlalchemy.orm import aliased, lazyload

from ..amounts import next_month
from ..database import sum_of
from ..extensions import db
from ..models import (
    Account,
    AccountType,
    AssertionStatus,
    AuditEntry,
    BalanceAssertion,
    ClosingBalance,
    JournalTransaction,
    LedgerHead,
    PeriodClose,
    Posting,
    TransactionKind,
    Unit,
    User,
    YearEnd,
)
from ..models.base import utcnow
from . import access, ledger
from .access import membership_for
from .audit import record
from .errors import Conflict, InvalidInput, NotFound, RuleViolation, _l
from .lookup import in_club
from .transitions import move
from .uow import unit_of_work
from .validate import check_day, is_id, one_line

PAGE = 50
MAX_PAGE = 500
MAX_TEXT = 100


# --- Cursors ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last row's date and transaction id (newest first)."""

    on: date
    id: int

    def __str__(self) -> str:
        return f"{self.on.isoformat()}.{self.id}"

    @classmethod
    def parse(cls, text: object) -> Cursor | None:
        if text in (None, ""):
            return None
        if not isinstance(text, str) or len(text) > 40 or "." not in text:
            raise InvalidInput(_l("This page link is not valid."), field="after")
        day, _, number = text.partition(".")
        try:
            on = date.fromisoformat(day)
        except ValueError:
            raise InvalidInput(_l("This page link is not valid."), field="after") from None
        if not (number.isascii() and number.isdigit()) or len(number) > 18:
            raise InvalidInput(_l("This page link is not valid."), field="after")
        return cls(on, int(number))


def _limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(_l("Between 1 and %(max)d lines a page.", max=MAX_PAGE), field="limit")
    return limit


def _before(cursor: Cursor | None):
    """Rows after the cursor in newest-first order."""
    if cursor is None:
        return True
    return tuple_(JournalTransaction.occurred_on, JournalTransaction.id) < tuple_(cursor.on, cursor.id)


# --- Journal ---------------------------------------------------------------------------------------------


def _check_period(start: object, end: object) -> None:
    """A filter's dates, each optional, within the window of dates (validate.check_day)."""
    if start is not None:
        check_day(start, "start")
    if end is not None:
        check_day(end, "end")


@dataclass(frozen=True)
class JournalFilter:
    start: date | None = None
    end: date | None = None
    kind: str | None = None
    membership_id: int | None = None
    account_id: int | None = None
    unit: str | None = None
    text: str = ""

    def check(self) -> None:
        _check_period(self.start, self.end)
        if self.start and self.end and self.start > self.end:
            raise InvalidInput(_l("The start date is after the end date."), field="start")
        if self.kind is not None and self.kind not in set(TransactionKind):
            raise InvalidInput(_l("Choose a value from the list."), field="kind")
        if self.unit is not None and self.unit not in set(Unit):
            raise InvalidInput(_l("Choose a value from the list."), field="unit")
        if not isinstance(self.text, str) or len(self.text) > MAX_TEXT:
            raise InvalidInput(_l("Use at most %(n)d characters.", n=MAX_TEXT), field="text")
        for name in ("membership_id", "account_id"):
            value = getattr(self, name)
            if value is not None and not is_id(value):
                raise InvalidInput(_l("Choose a value from the list."), field=name)

    def as_args(self) -> dict[str, Any]:
        """For links to the next page: the filters as query-string values."""
        values = {"start": self.start.isoformat() if self.start else None,
                  "end": self.end.isoformat() if self.end else None, "kind": self.kind,
                  "member": self.membership_id, "account": self.account_id, "unit": self.unit,
                  "text": self.text or None}
        return {k: v for k, v in values.items() if v is not None}


@dataclass
class JournalRow:
    transaction: JournalTransaction
    author: str
    #: the reversal that undid this transaction, if any
    reversed_by: int | None = None


@dataclass
class JournalPage:
    rows: list[JournalRow]
    next: Cursor | None
    accounts: dict[int, Account] = field(default_factory=dict)


def journal(user_id: int, club_id: int, filters: JournalFilter | None = None, *, after: Cursor | None = None,
            limit: int = PAGE) -> JournalPage:
    """The club's transactions, newest first, filtered, one page."""
    access.bookkeeper(user_id, club_id)
    filters = filters or JournalFilter()
    filters.check()
    limit = _limit(limit)
    conditions: list[Any] = [JournalTransaction.club_id == club_id, _before(after)]
    if filters.start:
        conditions.append(JournalTransaction.occurred_on >= filters.start)
    if filters.end:
        conditions.append(JournalTransaction.occurred_on <= filters.end)
    if filters.kind:
        conditions.append(JournalTransaction.kind == filters.kind)
    if filters.unit:
        conditions.append(JournalTransaction.unit == filters.unit)
    if filters.text.strip():
        conditions.append(JournalTransaction.memo.icontains(filters.text.strip(), autoescape=True))
    if filters.account_id is not None:
        conditions.append(exists().where(Posting.transaction_id == JournalTransaction.id,
                                         Posting.club_id == club_id, Posting.account_id == filters.account_id))
    if filters.membership_id is not None:
        conditions.append(exists().where(Posting.transaction_id == JournalTransaction.id,
                                         Posting.club_id == club_id, Account.id == Posting.account_id,
                                         Account.club_id == club_id, Account.membership_id == filters.membership_id))
    author = aliased(User)
    found = db.session.execute(
        select(JournalTransaction, author.name).outerjoin(author, author.id == JournalTransaction.author_id)
        .where(*conditions).order_by(JournalTransaction.occurred_on.desc(), JournalTransaction.id.desc())
        .limit(limit + 1).options(lazyload(JournalTransaction.postings))).all()
    rows = [JournalRow(txn, name or "") for txn, name in found[:limit]]
    ledger.with_postings(club_id, [r.transaction for r in rows])
    if rows:
        reversals = dict(db.session.execute(select(JournalTransaction.reverses_id, JournalTransaction.id).where(
            JournalTransaction.club_id == club_id,
            JournalTransaction.reverses_id.in_([r.transaction.id for r in rows]))).all())
        for row in rows:
            row.reversed_by = reversals.get(row.transaction.id)
    last = rows[-1].transaction if rows else None
    return JournalPage(rows=rows, next=Cursor(last.occurred_on, last.id) if len(found) > limit else None,
                       accounts=_accounts(club_id))


def journal_lines(user_id: int, club_id: int, filters: JournalFilter | None = None):
    """Every posting of the filtered journal, newest transaction first, for an export: read a page of
    500 transactions at a time (keyset), so memory stays flat however long the journal."""
    after = None
    while True:
        page = journal(user_id, club_id, filters, after=after, limit=MAX_PAGE)
        for row in page.rows:
            for posting in row.transaction.postings:
                yield row, posting, page.accounts[posting.account_id]
        if page.next is None:
            return
        after = page.next


def accounts_of(user_id: int, club_id: int) -> list[Account]:
    """Every account of the club, for the bookkeepers."""
    access.bookkeeper(user_id, club_id)
    return list(db.session.scalars(select(Account).where(Account.club_id == club_id)
                                   .order_by(Account.unit, Account.code)))


def my_accounts(user_id: int, club_id: int) -> list[Account]:
    """The acting member's own accounts in the club (capital, time …) with their balances."""
    me = access.membership_for(user_id, club_id)
    return list(db.session.scalars(select(Account).where(Account.club_id == club_id, Account.membership_id == me.id)
                                   .order_by(Account.unit, Account.code)))


def _accounts(club_id: int) -> dict[int, Account]:
    return {a.id: a for a in db.session.scalars(select(Account).where(Account.club_id == club_id))}


def transaction_for(user_id: int, club_id: int, transaction_id: object) -> JournalTransaction:
    access.bookkeeper(user_id, club_id)
    return in_club(JournalTransaction, club_id, transaction_id, missing=_l("No such transaction in this club."))


@dataclass(frozen=True)
class TransactionDetail:
    author: str
    lines: list[tuple[Account, int]]
    #: the transaction this one reverses, and the one that reversed it
    reverses: JournalTransaction | None
    reversed_by: JournalTransaction | None


def transaction_detail(club_id: int, txn: JournalTransaction) -> TransactionDetail:
    accounts = _accounts(club_id)
    author = db.session.get(User, txn.author_id).name if txn.author_id else ""
    reverses = db.session.scalar(select(JournalTransaction).where(
        JournalTransaction.id == txn.reverses_id, JournalTransaction.club_id == club_id)) if txn.reverses_id else None
    reversed_by = db.session.scalar(select(JournalTransaction).where(JournalTransaction.club_id == club_id,
                                                                     JournalTransaction.reverses_id == txn.id))
    return TransactionDetail(author, [(accounts[p.account_id], p.amount) for p in txn.postings], reverses,
                             reversed_by)


# --- Account statements ----------------------------------------------------------------------------------


def account_for(user_id: int, club_id: int, account_id: object) -> Account:
    """The bookkeepers read any account of the club; a member their own."""
    return _readable(user_id, club_id, account_id)[0]


def _readable(user_id: int, club_id: int, account_id: object) -> tuple[Account, int]:
    """The account and the sign its reader reads it with: a member's own capital is credited by what they pay
    in, so its books balance is negative; they read it turned, as what they paid in. Those who keep the books
    read every account, their own included, with the accountant's signs (debits positive)."""
    me = membership_for(user_id, club_id)
    account = in_club(Account, club_id, account_id, missing=_l("No such account."))
    keeper = access.is_bookkeeper(me)
    if not keeper and account.membership_id != me.id:
        raise NotFound(_l("No such account."))
    return account, -1 if not keeper and account.type == AccountType.EQUITY else 1


@dataclass(frozen=True)
class StatementLine:
    transaction_id: int
    occurred_on: date
    kind: str
    memo: str
    amount: int
    #: the account's balance after this line
    balance: int
    reverses_id: int | None


@dataclass
class Statement:
    account: Account
    lines: list[StatementLine]
    next: Cursor | None
    #: balance after the newest line shown (the account's balance on page 1)
    closing: int
    #: balance before the oldest line shown
    opening: int
    #: the account's balance now
    balance: int
    #: the reader's own capital, signs turned: what they paid in is positive (all amounts above are turned)
    paid_in: bool = False


def _lines(club_id: int, account_id: int):
    """One statement line per transaction touching the account: its number, day, kind, memo, what it reverses
    and the account's net movement."""
    return (select(JournalTransaction.id, JournalTransaction.occurred_on, JournalTransaction.kind,
                   JournalTransaction.memo, JournalTransaction.reverses_id, sum_of(Posting.amount).label("amount"))
            .join(Posting, ledger.POSTING_TRANSACTION)
            .where(Posting.club_id == club_id, Posting.account_id == account_id)
            .group_by(JournalTransaction.id, JournalTransaction.occurred_on, JournalTransaction.kind,
                      JournalTransaction.memo, JournalTransaction.reverses_id))


def statement(user_id: int, club_id: int, account_id: int, *, after: Cursor | None = None,
              start: date | None = None, end: date | None = None, limit: int = PAGE) -> Statement:
    """One account's lines, newest first, each with the balance after it.

    The balance of the first line of a page is the account's cached balance less what the
    lines after it (in time) moved: one aggregate, whatever the page's depth."""
    account, sign = _readable(user_id, club_id, account_id)
    limit = _limit(limit)
    _check_period(start, end)
    if start and end and start > end:
        raise InvalidInput(_l("The start date is after the end date."), field="start")
    key = tuple_(JournalTransaction.occurred_on, JournalTransaction.id)
    base = _lines(club_id, account.id)
    upper = after
    if end is not None and (upper is None or upper.on > end):
        upper = Cursor(end, 2**62)
    stmt = base.where(key < tuple_(upper.on, upper.id)) if upper else base
    if start is not None:
        stmt = stmt.where(JournalTransaction.occurred_on >= start)
    found = db.session.execute(stmt.order_by(JournalTransaction.occurred_on.desc(), JournalTransaction.id.desc())
                               .limit(limit + 1)).all()
    page = found[:limit]
    if upper is None:
        balance = account.balance
    else:
        later = db.session.scalar(
            select(func.coalesce(sum_of(Posting.amount), 0))
            .join(JournalTransaction, ledger.POSTING_TRANSACTION)
            .where(Posting.club_id == club_id, Posting.account_id == account.id,
                   key >= tuple_(upper.on, upper.id)))
        balance = account.balance - later
    closing = balance
    lines = []
    for txn_id, on, kind, memo, reverses_id, amount in page:
        lines.append(StatementLine(txn_id, on, kind, memo, sign * amount, sign * balance, reverses_id))
        balance -= amount
    last = page[-1] if page else None
    more = len(found) > limit
    return Statement(account=account, lines=lines, next=Cursor(last[1], last[0]) if more and last else None,
                     closing=sign * closing, opening=sign * balance, balance=sign * account.balance,
                     paid_in=sign < 0)


def statement_lines(user_id: int, club_id: int, account_id: int, *, start: date | None = None,
                    end: date | None = None) -> tuple[Account, list[StatementLine]]:
    """The whole statement of a period, oldest first (for an export): the opening balance is what the
    account held before the period. A member's own capital reads as what they paid in, as on the page."""
    account, sign = _readable(user_id, club_id, account_id)
    _check_period(start, end)
    if start and end and start > end:
        raise InvalidInput(_l("The start date is after the end date."), field="start")
    balance, period = 0, []
    if start is not None:
        balance = db.session.scalar(
            select(func.coalesce(sum_of(Posting.amount), 0))
            .join(JournalTransaction, ledger.POSTING_TRANSACTION)
            .where(Posting.club_id == club_id, Posting.account_id == account.id,
                   JournalTransaction.occurred_on < start))
        period.append(JournalTransaction.occurred_on >= start)
    if end is not None:
        period.append(JournalTransaction.occurred_on <= end)
    rows = db.session.execute(_lines(club_id, account.id).where(*period)
                              .order_by(JournalTransaction.occurred_on, JournalTransaction.id))
    lines = []
    for txn_id, on, kind, memo, reverses_id, amount in rows:
        balance += amount
        lines.append(StatementLine(txn_id, on, kind, memo, sign * amount, sign * balance, reverses_id))
    return account, lines


# --- Trial balance, balance sheet, income statement ----------------------------------------------------------


@dataclass(frozen=True)
class TrialLine:
    account: Account
    debits: int
    credits: int  # a positive number

    @property
    def balance(self) -> int:
        return self.debits - self.credits


@dataclass
class TrialBalance:
    unit: str
    on: date | None
    lines: list[TrialLine]

    @property
    def debits(self) -> int:
        return sum(line.debits for line in self.lines)

    @property
    def credits(self) -> int:
        return sum(line.credits for line in self.lines)

    @property
    def balanced(self) -> bool:
        return self.debits == self.credits


def closing_entry(club_id: int):
    """Closing entries (a year's or a dissolution's result shared into capital) and their reversals: they move
    the result into capital; they are not income or expense. The subquery names the club itself (not the outer
    row's club), so that on Citus the statement stays on the club's node."""
    original = aliased(JournalTransaction)
    return (JournalTransaction.kind == TransactionKind.CLOSING) | (
        (JournalTransaction.kind == TransactionKind.REVERSAL)
        & exists().where(original.club_id == club_id, original.id == JournalTransaction.reverses_id,
                         original.kind == TransactionKind.CLOSING))


def _totals(club_id: int, *, start: date | None = None, end: date | None = None,
            without_closing: bool = False) -> dict[int, tuple[int, int]]:
    """Per account: (debits, credits as a positive number) of postings dated in the period (closing entries
    left out, ``without_closing``)."""
    stmt = (select(Posting.account_id,
                   func.coalesce(sum_of(case((Posting.amount > 0, Posting.amount), else_=0)), 0),
                   func.coalesce(sum_of(case((Posting.amount < 0, -Posting.amount), else_=0)), 0))
            .where(Posting.club_id == club_id).group_by(Posting.account_id))
    if start is not None or end is not None or without_closing:
        stmt = stmt.join(JournalTransaction, ledger.POSTING_TRANSACTION)
        if without_closing:
            stmt = stmt.where(~closing_entry(club_id))
        if start is not None:
            stmt = stmt.where(JournalTransaction.occurred_on >= start)
        if end is not None:
            stmt = stmt.where(JournalTransaction.occurred_on <= end)
    return {account_id: (int(d), int(c)) for account_id, d, c in db.session.execute(stmt)}


def trial_balance(user_id: int, club_id: int, *, on: date | None = None) -> list[TrialBalance]:
    """Debits and credits of every account up to a date, one table per unit; each table balances."""
    access.bookkeeper(user_id, club_id)
    if on is not None:
        check_day(on, "on")
    totals = _totals(club_id, end=on)
    tables = []
    for unit in (Unit.MONEY, Unit.TIME):
        accounts = db.session.scalars(select(Account).where(Account.club_id == club_id, Account.unit == unit)
                                      .order_by(Account.code))
        lines = [TrialLine(a, *totals.get(a.id, (0, 0))) for a in accounts]
        tables.append(TrialBalance(unit, on, lines))
    return tables


@dataclass(frozen=True)
class Section:
    title_type: str
    lines: list[tuple[Account, int]]

    @property
    def total(self) -> int:
        return sum(amount for _, amount in self.lines)


@dataclass(frozen=True)
class BalanceSheet:
    on: date
    assets: Section
    liabilities: Section
    equity: Section
    #: income less expenses not yet shared into members' capital
    result: int
    #: the last year closed by the day of the sheet: its result and earlier ones are in members' capital
    allocated_year: int | None = None

    @property
    def balanced(self) -> bool:
        return self.assets.total == self.liabilities.total + self.equity.total + self.result

    @property
    def capital(self) -> Section:
        """Members' capital: the equity but the investments' revaluation reserves."""
        return Section("equity", [line for line in self.equity.lines if not _is_reserve(line[0])])

    @property
    def reserves(self) -> Section:
        """What revaluations added to the investments (a fall: negative), held against them."""
        return Section("equity", [line for line in self.equity.lines if _is_reserve(line[0])])


def _is_reserve(account: Account) -> bool:
    return account.code.startswith("revaluation:")


def balance_sheet(user_id: int, club_id: int, *, on: date) -> BalanceSheet:
    """Money accounts at the end of a day: assets = liabilities + equity + the result so far.
    Liabilities, equity and income are shown as positive numbers."""
    access.bookkeeper(user_id, club_id)
    check_day(on, "on")
    totals = _totals(club_id, end=on)
    by_type: dict[str, list[tuple[Account, int]]] = {t: [] for t in AccountType}
    for account in db.session.scalars(select(Account).where(Account.club_id == club_id, Account.unit == Unit.MONEY)
                                      .order_by(Account.code)):
        debits, credits = totals.get(account.id, (0, 0))
        balance = debits - credits
        by_type[account.type].append((account, balance if account.type in (AccountType.ASSET, AccountType.EXPENSE)
                                      else -balance))
    result = sum(a for _, a in by_type[AccountType.INCOME]) - sum(a for _, a in by_type[AccountType.EXPENSE])
    allocated = db.session.scalar(select(func.max(YearEnd.year)).where(
        YearEnd.club_id == club_id, YearEnd.reopened_at.is_(None), YearEnd.closed_on <= on))
    return BalanceSheet(on, Section("asset", by_type[AccountType.ASSET]),
                        Section("liability", by_type[AccountType.LIABILITY]),
                        Section("equity", by_type[AccountType.EQUITY]), result, allocated)


@dataclass(frozen=True)
class IncomeStatement:
    start: date
    end: date
    income: Section
    expenses: Section

    @property
    def result(self) -> int:
        return self.income.total - self.expenses.total


def income_statement(user_id: int, club_id: int, *, start: date, end: date) -> IncomeStatement:
    """Income and expenses of the money accounts dated in a period."""
    access.bookkeeper(user_id, club_id)
    check_day(start, "start")
    check_day(end, "end")
    if start > end:
        raise InvalidInput(_l("The start date is after the end date."), field="start")
    totals = _totals(club_id, start=start, end=end, without_closing=True)
    income, expenses = [], []
    for account in db.session.scalars(select(Account).where(
            Account.club_id == club_id, Account.unit == Unit.MONEY,
            Account.type.in_((AccountType.INCOME, AccountType.EXPENSE))).order_by(Account.code)):
        debits, credits = totals.get(account.id, (0, 0))
        if account.type == AccountType.INCOME:
            income.append((account, credits - debits))
        else:
            expenses.append((account, debits - credits))
    return IncomeStatement(start, end, Section("income", income), Section("expense", expenses))



# --- Period close ----------------------------------------------------------------------------------------------


def balances_on(club_id: int, on: date) -> dict[int, int]:
    """Every account's balance at the end of a day (postings dated on or before it)."""
    return {account_id: debits - credits for account_id, (debits, credits) in _totals(club_id, end=on).items()}


def close_period(user_id: int, club_id: int, *, through: date, note: str = "", today: date | None = None) -> PeriodClose:
    """Close the books through the last day of a month (or of a year): no posting may be dated on or before it
    any more; each account's balance that day is kept."""
    today = today or date.today()
    if not isinstance(through, date):
        raise InvalidInput(_l("Choose the last day of a month."), field="through")
    check_day(through, "through", today=today)
    if through >= today:  # first: a day past today may be the last there is (9999-12-31 has no next day)
        raise RuleViolation(_l("Only a period that is over can be closed."), rule="period", field="through")
    if next_month(through) != through + timedelta(days=1):
        raise InvalidInput(_l("A period ends on the last day of a month."), field="through")
    note = one_line(note, "note", maximum=300, required=False)
    with unit_of_work() as session:
        access.money_keeper(user_id, club_id)
        head = ledger.lock_for_posting(club_id)  # no posting slips into the period while it closes
        if head.closed_through is not None and through <= head.closed_through:
            raise Conflict(_l("The books are already closed through %(day)s.", day=head.closed_through.isoformat()),
                          field="through")
        # The head as it stands under its lock: printed on the statements, compared by `flask coop check`.
        period = PeriodClose(club_id=club_id, through=through, closed_by_id=user_id, note=note,
                             head_seq=head.seq, head_hash=head.hash)
        session.add(period)
        session.flush()
        balances = balances_on(club_id, through)
        for account_id in session.scalars(select(Account.id).where(Account.club_id == club_id)):
            session.add(ClosingBalance(club_id=period.club_id, period_close_id=period.id, account_id=account_id,
                                       balance=balances.get(account_id, 0)))
        before = head.closed_through
        head.closed_through = through
        record(user_id, club_id, "books.close", period, before={"closed_through": before},
               after={"closed_through": through, "note": note, "head_seq": head.seq, "head_hash": head.hash})
        return period


def periods(user_id: int, club_id: int) -> list[PeriodClose]:
    access.bookkeeper(user_id, club_id)
    return list(db.session.scalars(select(PeriodClose).where(PeriodClose.club_id == club_id)
                                   .order_by(PeriodClose.through.desc())))


def last_close(user_id: int, club_id: int) -> PeriodClose | None:
    """The latest period close, whose recorded chain head the statements print (any member reads it)."""
    membership_for(user_id, club_id)
    return db.session.scalar(select(PeriodClose).where(PeriodClose.club_id == club_id)
                             .order_by(PeriodClose.through.desc()).limit(1))


def closed_through(club_id: int) -> date | None:
    return db.session.scalar(select(LedgerHead.closed_through).where(LedgerHead.club_id == club_id))


# --- Balance assertions ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssertionView:
    assertion: BalanceAssertion
    account: Account
    actual: int

    @property
    def difference(self) -> int:
        return self.actual - self.assertion.expected

    @property
    def flagged(self) -> bool:
        """A mismatch not yet explained."""
        return self.difference != 0 and self.assertion.status == AssertionStatus.OPEN


MAX_STATED = 10**13


def assert_balance(user_id: int, club_id: int, *, stated_on: date, amount: int, account_id: int | None = None,
                   source: str = "", today: date | None = None) -> BalanceAssertion:
    """The treasurer states what a bank statement says the balance was at the end of a day."""
    today = today or date.today()
    if isinstance(stated_on, date):
        check_day(stated_on, "stated_on", today=today)
    if not isinstance(stated_on, date) or stated_on > today:
        raise InvalidInput(_l("Choose a day that is not in the future."), field="stated_on")
    if isinstance(amount, bool) or not isinstance(amount, int) or abs(amount) > MAX_STATED:
        raise InvalidInput(_l("Enter the balance the statement shows."), field="amount")
    source = one_line(source, "source", maximum=200, required=False)
    with unit_of_work() as session:
        access.money_keeper(user_id, club_id)
        account = ledger.find_account(club_id, "bank") if account_id is None else account_for(user_id, club_id,
                                                                                                 account_id)
        if account.unit != Unit.MONEY:
            raise InvalidInput(_l("Choose a money account."), field="account_id")
        assertion = BalanceAssertion(club_id=club_id, account_id=account.id, stated_on=stated_on, expected=amount,
                                     source=source, created_by_id=user_id, status=AssertionStatus.OPEN)
        session.add(assertion)
        session.flush()
        actual = balances_on(club_id, stated_on).get(account.id, 0)
        record(user_id, club_id, "books.assert_balance", assertion, after={
            "account": account.code, "on": stated_on, "expected": amount, "actual": actual})
        return assertion


def assertions(user_id: int, club_id: int) -> list[AssertionView]:
    """Every assertion with what the books say today for its day: a later entry dated on or before it can
    make a mismatch disappear."""
    access.bookkeeper(user_id, club_id)
    return _assertion_views(club_id)


def _assertion_views(club_id: int) -> list[AssertionView]:
    rows = list(db.session.scalars(select(BalanceAssertion).where(BalanceAssertion.club_id == club_id)
                                   .order_by(BalanceAssertion.stated_on.desc(), BalanceAssertion.id.desc())))
    accounts = _accounts(club_id)
    views, cache = [], {}
    for a in rows:
        if a.stated_on not in cache:
            cache[a.stated_on] = balances_on(club_id, a.stated_on)
        views.append(AssertionView(a, accounts[a.account_id], cache[a.stated_on].get(a.account_id, 0)))
    return views


def flagged_assertions(club_id: int) -> list[AssertionView]:
    return [v for v in _assertion_views(club_id) if v.flagged]


def resolve_assertion(user_id: int, club_id: int, assertion_id: object, *, note: str) -> BalanceAssertion:
    """The treasurer explains a mismatch (a bank error, a correction entered in the open period…)."""
    note = one_line(note, "note", maximum=300)
    with unit_of_work():
        access.money_keeper(user_id, club_id)
        assertion = in_club(BalanceAssertion, club_id, assertion_id, missing=_l("No such balance check."))
        if assertion.status == AssertionStatus.RESOLVED:
            raise Conflict(_l("This balance check is already resolved."))
        actual = balances_on(club_id, assertion.stated_on).get(assertion.account_id, 0)
        if actual == assertion.expected:
            raise Conflict(_l("The books agree with this statement: there is nothing to resolve."))
        move(assertion, AssertionStatus.RESOLVED)
        assertion.resolution = note
        assertion.resolved_by_id, assertion.resolved_at = user_id, utcnow()
        record(user_id, club_id, "books.resolve_assertion", assertion, after={
            "note": note, "expected": assertion.expected, "actual": actual})
        return assertion


# --- Audit log --------------------------------------------------------------------------------------------------


@dataclass
class AuditPage:
    entries: list[tuple[AuditEntry, str]]
    next: int | None


def audit_log(user_id: int, club_id: int, *, actor_id: int | None = None, object_type: str | None = None,
              object_id: int | None = None, start: date | None = None, end: date | None = None,
              before_id: int | None = None, limit: int = PAGE) -> AuditPage:
    """Who changed what, newest first, for the officers: filtered by person, object and dates."""
    access.officer(user_id, club_id)
    limit = _limit(limit)
    for name, value in (("actor_id", actor_id), ("object_id", object_id), ("before_id", before_id)):
        if value is not None and not is_id(value):
            raise InvalidInput(_l("Choose a value from the list."), field=name)
    if object_type is not None and (not isinstance(object_type, str) or len(object_type) > 40):
        raise InvalidInput(_l("Choose a value from the list."), field="object_type")
    _check_period(start, end)
    if start and end and start > end:
        raise InvalidInput(_l("The start date is after the end date."), field="start")
    conditions: list[Any] = [AuditEntry.club_id == club_id]
    if actor_id is not None:
        conditions.append(AuditEntry.actor_id == actor_id)
    if object_type:
        conditions.append(AuditEntry.object_type == object_type)
    if object_id is not None:
        conditions.append(AuditEntry.object_id == object_id)
    if start:
        conditions.append(AuditEntry.created_at >= datetime.combine(start, time.min))
    if end:
        conditions.append(AuditEntry.created_at < datetime.combine(end, time.min) + timedelta(days=1))
    if before_id is not None:
        conditions.append(AuditEntry.id < before_id)
    found = db.session.execute(select(AuditEntry, User.name).outerjoin(User, User.id == AuditEntry.actor_id)
                               .where(*conditions).order_by(AuditEntry.id.desc()).limit(limit + 1)).all()
    entries = [(entry, name or "") for entry, name in found[:limit]]
    return AuditPage(entries, entries[-1][0].id if len(found) > limit else None)


def audit_object_types(club_id: int) -> list[str]:
    return list(db.session.scalars(select(AuditEntry.object_type).where(
        AuditEntry.club_id == club_id, AuditEntry.object_type != "").distinct().order_by(AuditEntry.object_type)))
