"""Bank reconciliation: the bank's statement beside the books.

The treasurer uploads the bank's CSV and says which column holds what (the
date, the amount or a debit and a credit column, the label); French and
English ways of writing dates and amounts are read. Lines are matched to the
journal's bank postings automatically (same amount, dates within a window)
or by hand; what is left on either side is listed. Nothing is posted from
the file unless the treasurer asks for one line to be recorded (a bank fee,
a member's contribution), and the match follows. Once every line up to a
day is matched, the treasurer marks the bank reconciled through that day.

A bank line is positive when money came into the club's account, like a
debit of the ``bank`` account (debit-positive ledger).
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import exists, func, select

from .. import csvfile
from ..database import sum_of
from ..extensions import db
from ..models import (
    Account,
    AccountType,
    BankLine,
    BankReconciliation,
    BankStatement,
    JournalTransaction,
    Posting,
    TransactionKind,
    Unit,
)
from ..models.base import utcnow
from . import access, fund, ledger
from .audit import record
from .books import balances_on
from .clubs import use_form_key
from .errors import Conflict, InvalidInput, NotFound, RuleViolation, _l
from .lookup import in_club
from .uow import unit_of_work
from .validate import check_day, in_window, is_id, one_line, window_message

MAX_LINES = 5000
MAX_WINDOW = 15
DATE_STYLES = ("dmy", "mdy", "ymd")
DECIMAL_STYLES = ("comma", "point")


# --- Reading a bank file ------------------------------------------------------------------------------------------


def _read(data: bytes) -> list[csvfile.Row]:
    """The file's rows with their lines: UTF-8 (with or without a byte-order mark) or Windows-1252, the
    separator guessed from the first line among ``;``, ``,`` and tab."""
    rows = csvfile.read(data, separators=(";", ",", "\t"), max_lines=MAX_LINES, fallback="cp1252")
    if len(rows) < 2:
        raise InvalidInput(_l("The file needs a line of column names and at least one line."), field="file")
    return rows


def read_table(data: bytes) -> list[list[str]]:
    """The file's rows, blank ones left out: the column names, then the bank's lines."""
    return [row.cells for row in _read(data)]


@dataclass(frozen=True)
class Columns:
    """Which column (0-based) holds what, and how the bank writes dates and amounts."""

    date: int
    label: int | None = None
    amount: int | None = None  # one signed column …
    debit: int | None = None  # … or money out and money in in two columns
    credit: int | None = None
    date_style: str = "dmy"
    decimal: str = "comma"

    def check(self, width: int) -> None:
        for name in ("date", "label", "amount", "debit", "credit"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not 0 <= value < width):
                raise InvalidInput(_l("Choose a column of the file."), field=name)
        if self.amount is None and (self.debit is None or self.credit is None):
            raise InvalidInput(_l("Choose the amount column, or both the money-out and money-in columns."),
                               field="amount")
        if self.date_style not in DATE_STYLES:
            raise InvalidInput(_l("Choose a value from the list."), field="date_style")
        if self.decimal not in DECIMAL_STYLES:
            raise InvalidInput(_l("Choose a value from the list."), field="decimal")


DATE_SHAPE = re.compile(r"(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})")


def parse_day(text: str, style: str) -> date:
    match = DATE_SHAPE.fullmatch(text.strip())
    if not match:
        raise ValueError(text)
    a, b, c = (int(x) for x in match.groups())
    if len(match.group(1)) == 4 or style == "ymd":  # 2026-11-05 whatever the style; 26-11-05 year first
        y, m, d = a, b, c
        year_digits = len(match.group(1))
    elif style == "mdy":
        m, d, y = a, b, c
        year_digits = len(match.group(3))
    else:
        d, m, y = a, b, c
        year_digits = len(match.group(3))
    if year_digits <= 2:  # a two-digit year is this century; 0001 is the year 1 (refused: out of the window)
        y += 2000
    return date(y, m, d)


def parse_cents(text: str, decimal: str) -> int:
    """``-1 234,56`` (comma) or ``-1,234.56`` (point) → ``-123456``; an empty cell is zero.

    A sign is a leading ``-`` or ``+``, a trailing ``-`` (as some banks write money out) or brackets
    around the whole amount; thousands marks must group three digits, so an amount written the other
    way (``12.50`` read with the comma style) is refused rather than read a hundred times too large."""
    raw = text.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace("€", "").replace("$", "")
    if raw in ("", "-", "+"):
        return 0
    negative = False
    if raw.startswith("(") and raw.endswith(")"):
        negative, raw = True, raw[1:-1]
    elif raw[:1] in "+-":
        negative, raw = raw[0] == "-", raw[1:]
    elif raw.endswith("-"):
        negative, raw = True, raw[:-1]
    thousands, point = (".", ",") if decimal == "comma" else (",", ".")
    raw = raw.replace("'", "")
    shape = r"(\d{1,3}(" + re.escape(thousands) + r"\d{3})+|\d+)(" + re.escape(point) + r"\d{1,2})?"
    if not re.fullmatch(shape, raw):
        raise ValueError(text)
    whole, _, cents = raw.replace(thousands, "").partition(point)
    value = int(whole) * 100 + int((cents + "00")[:2])
    if value > 10**12:
        raise ValueError(text)
    return -value if negative else value


@dataclass
class ParsedLine:
    line_no: int
    booked_on: date | None
    amount: int | None
    label: str
    error: str = ""
    duplicate: bool = False
    fingerprint: str = ""


@dataclass
class Preview:
    header: list[str]
    lines: list[ParsedLine] = field(default_factory=list)

    @property
    def errors(self) -> list[ParsedLine]:
        return [line for line in self.lines if line.error]

    @property
    def new_lines(self) -> list[ParsedLine]:
        return [line for line in self.lines if not line.error and not line.duplicate]


def _cell(row: list[str], index: int | None) -> str:
    return row[index] if index is not None and index < len(row) else ""


def _parse(rows: list[csvfile.Row], columns: Columns) -> Preview:
    header, body = rows[0].cells, rows[1:]
    columns.check(len(header))
    preview = Preview(header=header)
    seen: Counter = Counter()
    for number, row in body:
        label = " ".join(_cell(row, columns.label).split())[:300]
        line = ParsedLine(number, None, None, label)
        try:
            line.booked_on = parse_day(_cell(row, columns.date), columns.date_style)
        except ValueError:
            line.error = str(_l("Line %(n)d: the date “%(text)s” cannot be read.", n=number,
                                text=_cell(row, columns.date)[:40]))
        else:
            if not in_window(line.booked_on):
                line.error = str(_l("Line %(n)d: %(date)s: %(reason)s", n=number, date=_cell(row, columns.date)[:40],
                                    reason=window_message()))
        try:
            if columns.amount is not None:
                line.amount = parse_cents(_cell(row, columns.amount), columns.decimal)
            else:
                line.amount = (parse_cents(_cell(row, columns.credit), columns.decimal)
                               - abs(parse_cents(_cell(row, columns.debit), columns.decimal)))
            if line.amount == 0 and not line.error:
                line.error = str(_l("Line %(n)d has no amount.", n=number))
        except ValueError:
            line.error = line.error or str(_l("Line %(n)d: the amount cannot be read.", n=number))
        if not line.error:
            key = (line.booked_on.isoformat(), line.amount, label.casefold())
            seen[key] += 1  # the second of two identical lines in one file is a line of its own
            line.fingerprint = hashlib.sha256("|".join([*map(str, key), str(seen[key])]).encode()).hexdigest()
        preview.lines.append(line)
    return preview


def preview(user_id: int, club_id: int, data: bytes, columns: Columns) -> Preview:
    """What the file holds, line by line, with the lines already uploaded before marked as such."""
    access.bookkeeper(user_id, club_id)
    result = _parse(_read(data), columns)
    prints = [line.fingerprint for line in result.lines if line.fingerprint]
    known = set()
    for start in range(0, len(prints), 500):
        known |= set(db.session.scalars(select(BankLine.fingerprint).where(
            BankLine.club_id == club_id, BankLine.fingerprint.in_(prints[start:start + 500]))))
    for line in result.lines:
        line.duplicate = line.fingerprint in known
    return result


def upload(user_id: int, club_id: int, data: bytes, columns: Columns, *, filename: str = "",
           window_days: int = 3) -> tuple[BankStatement, int]:
    """Keep the statement's new lines (a line uploaded before is skipped), then match what can be matched.
    A file with a line that cannot be read is refused whole. Returns the statement and how many lines matched."""
    filename = one_line(filename, "file", maximum=200, required=False)
    with unit_of_work() as session:
        access.money_keeper(user_id, club_id)
        result = preview(user_id, club_id, data, columns)
        if result.errors:
            raise InvalidInput(_l("%(first)s Correct the file or the columns and try again.",
                                  first=result.errors[0].error), field="file")
        fresh = result.new_lines
        if not fresh:
            raise Conflict(_l("Every line of this file was already uploaded."), field="file")
        statement = BankStatement(club_id=club_id, filename=filename, sha256=hashlib.sha256(data).hexdigest(),
                                  uploaded_by_id=user_id, first_on=min(line.booked_on for line in fresh),
                                  last_on=max(line.booked_on for line in fresh))
        session.add(statement)
        session.flush()
        session.add_all(BankLine(club_id=club_id, statement_id=statement.id, line_no=line.line_no,
                                 booked_on=line.booked_on, amount=line.amount, label=line.label,
                                 fingerprint=line.fingerprint) for line in fresh)
        session.flush()
        matched = _auto_match(club_id, user_id, window_days)
        record(user_id, club_id, "bank.upload", statement, after={
            "lines": len(fresh), "skipped": len(result.lines) - len(fresh), "matched": matched,
            "sha256": statement.sha256})
        return statement, matched


# --- Matching ----------------------------------------------------------------------------------------------------


def _bank(club_id: int) -> Account:
    return ledger.find_account(club_id, "bank")


def _bank_movements(club_id: int, *, unmatched_only: bool = True):
    """(transaction id, day, memo, net amount on the bank account) of the club's transactions that touch it."""
    bank = _bank(club_id)
    stmt = (select(JournalTransaction.id, JournalTransaction.occurred_on, JournalTransaction.memo,
                   sum_of(Posting.amount).label("amount"))
            .join(Posting, ledger.POSTING_TRANSACTION)
            .where(Posting.club_id == club_id, Posting.account_id == bank.id)
            .group_by(JournalTransaction.id, JournalTransaction.occurred_on, JournalTransaction.memo)
            .having(sum_of(Posting.amount) != 0))
    if unmatched_only:
        stmt = stmt.where(~exists().where(BankLine.club_id == club_id,
                                          BankLine.transaction_id == JournalTransaction.id))
    return db.session.execute(stmt.order_by(JournalTransaction.occurred_on, JournalTransaction.id)).all()


def _check_window(window_days: object) -> int:
    if isinstance(window_days, bool) or not isinstance(window_days, int) or not 0 <= window_days <= MAX_WINDOW:
        raise InvalidInput(_l("Choose a window of 0 to %(n)d days.", n=MAX_WINDOW), field="window_days")
    return window_days


def _auto_match(club_id: int, user_id: int, window_days: int) -> int:
    """Each unmatched line takes the unmatched bank movement of the same amount nearest in date within the
    window (the earliest on a tie); a movement serves one line."""
    window = _check_window(window_days)
    lines = list(db.session.scalars(select(BankLine).where(BankLine.club_id == club_id,
                                                           BankLine.transaction_id.is_(None))
                                    .order_by(BankLine.booked_on, BankLine.id)))
    by_amount: dict[int, list] = {}
    for movement in _bank_movements(club_id):
        by_amount.setdefault(movement.amount, []).append(movement)
    taken: set[int] = set()
    matched = 0
    for line in lines:
        best = None
        for m in by_amount.get(line.amount, []):
            gap = abs((m.occurred_on - line.booked_on).days)
            if m.id in taken or gap > window:
                continue
            if best is None or (gap, m.occurred_on, m.id) < best[0]:
                best = ((gap, m.occurred_on, m.id), m)
        if best is not None:
            taken.add(best[1].id)
            _match(line, best[1].id, user_id, by_hand=False)
            matched += 1
    db.session.flush()
    return matched


def _match(line: BankLine, transaction_id: int | None, user_id: int | None, *, by_hand: bool) -> None:
    """Tie a bank line to a transaction of the books (or untie it, with None)."""
    line.transaction_id, line.matched_by_id, line.by_hand = transaction_id, user_id, by_hand
    line.matched_at = utcnow() if transaction_id is not None else None


def auto_match(user_id: int, club_id: int, *, window_days: int = 3) -> int:
    with unit_of_work():
        access.money_keeper(user_id, club_id)
        matched = _auto_match(club_id, user_id, window_days)
        if matched:
            record(user_id, club_id, "bank.auto_match", None, after={"matched": matched, "window": window_days})
        return matched


def _line(club_id: int, line_id: object, *, lock: bool = True) -> BankLine:
    return in_club(BankLine, club_id, line_id, lock=lock, missing=_l("No such bank line."))


def match(user_id: int, club_id: int, line_id: int, transaction_id: int) -> BankLine:
    """The treasurer matches a line to a bank movement by hand: same amount, any date."""
    with unit_of_work():
        access.money_keeper(user_id, club_id)
        line = _line(club_id, line_id)
        if line.transaction_id is not None:
            raise Conflict(_l("This bank line is already matched."))
        if not is_id(transaction_id):
            raise NotFound(_l("No such transaction in this club."))
        movement = next((m for m in _bank_movements(club_id, unmatched_only=False) if m.id == transaction_id), None)
        if movement is None:
            raise NotFound(_l("No such bank movement in the books."))
        if db.session.scalar(select(BankLine.id).where(BankLine.club_id == club_id,
                                                       BankLine.transaction_id == transaction_id)):
            raise Conflict(_l("This movement is already matched to another bank line."))
        if movement.amount != line.amount:
            raise RuleViolation(_l("The amounts differ: a line matches a movement of the same amount."),
                                rule="reconciliation", field="transaction_id")
        _match(line, transaction_id, user_id, by_hand=True)
        record(user_id, club_id, "bank.match", line, after={"transaction": transaction_id})
        return line


def unmatch(user_id: int, club_id: int, line_id: int) -> BankLine:
    with unit_of_work():
        access.money_keeper(user_id, club_id)
        line = _line(club_id, line_id)
        if line.transaction_id is None:
            raise Conflict(_l("This bank line is not matched."))
        if line.reconciliation_id is not None:
            raise Conflict(_l("This line is part of a reconciled period."))
        before = line.transaction_id
        _match(line, None, None, by_hand=False)
        record(user_id, club_id, "bank.unmatch", line, before={"transaction": before})
        return line


def _fee_account(club_id: int) -> Account:
    account = db.session.scalar(select(Account).where(Account.club_id == club_id, Account.code == "expense:fees"))
    if account is None:
        account = ledger.open_account(club_id, code="expense:fees", name="Frais bancaires", type=AccountType.EXPENSE,
                                      unit=Unit.MONEY)
    return account


def record_fee(user_id: int, club_id: int, line_id: int, *, memo: str, form_key: str) -> BankLine:
    """The treasurer confirms that an unmatched money-out line is a bank fee: it is posted (bank credited,
    fees debited) on the line's day and matched."""
    memo = one_line(memo, "memo", maximum=200)
    with unit_of_work():
        access.money_keeper(user_id, club_id)
        line = _line(club_id, line_id)
        if line.transaction_id is not None:
            raise Conflict(_l("This bank line is already matched."))
        if line.amount >= 0:
            raise InvalidInput(_l("Only money going out can be a bank fee."))
        use_form_key(user_id, form_key)
        fees, bank = _fee_account(club_id), _bank(club_id)
        txn = ledger.post(club_id, unit=Unit.MONEY, kind=TransactionKind.FEE,
                          lines=[(fees.id, -line.amount), (bank.id, line.amount)],
                          idempotency_key=f"bank-line:{line.id}", occurred_on=line.booked_on, memo=memo,
                          author_id=user_id)
        _match(line, txn.id, user_id, by_hand=True)
        record(user_id, club_id, "bank.record_fee", line, after={"transaction": txn.id, "amount": line.amount})
        return line


def record_contribution(user_id: int, club_id: int, line_id: int, *, membership_id: int, today: date | None = None
                        ) -> BankLine:
    """The treasurer confirms that an unmatched money-in line is a member's contribution: it is recorded
    through the savings register (every rule of R4 applies) and matched."""
    with unit_of_work():
        access.money_keeper(user_id, club_id)
        line = _line(club_id, line_id)
        if line.transaction_id is not None:
            raise Conflict(_l("This bank line is already matched."))
        if line.amount <= 0:
            raise InvalidInput(_l("Only money coming in can be a contribution."))
        contribution = fund.record_contribution_under(
            user_id, club_id, membership_id=membership_id, amount=line.amount, received_on=line.booked_on,
            method="transfer", bank_reference=line.label[:80], ledger_key=f"bank-line:{line.id}", today=today)
        _match(line, contribution.transaction_id, user_id, by_hand=True)
        record(user_id, club_id, "bank.record_contribution", line, after={"contribution": contribution.id})
        return line


# --- Reading, and marking reconciled -------------------------------------------------------------------------------


@dataclass
class Overview:
    lines: list[BankLine]
    #: bank movements of the books that no line matches: (transaction id, day, memo, amount)
    unmatched_movements: list
    reconciliations: list[BankReconciliation]

    @property
    def unmatched_lines(self) -> list[BankLine]:
        return [line for line in self.lines if line.transaction_id is None]


def overview(user_id: int, club_id: int, *, limit: int = 500) -> Overview:
    access.bookkeeper(user_id, club_id)
    lines = list(db.session.scalars(select(BankLine).where(BankLine.club_id == club_id)
                                    .order_by(BankLine.booked_on.desc(), BankLine.id.desc()).limit(limit)))
    last = db.session.scalar(select(func.max(BankReconciliation.through)).where(
        BankReconciliation.club_id == club_id))
    movements = [m for m in _bank_movements(club_id) if last is None or m.occurred_on > last]
    reconciliations = list(db.session.scalars(select(BankReconciliation).where(
        BankReconciliation.club_id == club_id).order_by(BankReconciliation.through.desc())))
    return Overview(lines, movements, reconciliations)


def line_for(user_id: int, club_id: int, line_id: int) -> BankLine:
    access.bookkeeper(user_id, club_id)
    return _line(club_id, line_id, lock=False)


def candidates(user_id: int, club_id: int, line_id: int) -> list:
    """Unmatched bank movements of the line's amount, nearest in date first."""
    access.bookkeeper(user_id, club_id)
    line = _line(club_id, line_id, lock=False)
    found = [m for m in _bank_movements(club_id) if m.amount == line.amount]
    return sorted(found, key=lambda m: (abs((m.occurred_on - line.booked_on).days), m.id))


def reconcile(user_id: int, club_id: int, *, through: date, today: date | None = None) -> BankReconciliation:
    """Mark the bank reconciled through a day: every line up to it is matched, and every bank movement of the
    books since the last reconciliation up to it has its line."""
    today = today or date.today()
    if not isinstance(through, date) or through > today:
        raise InvalidInput(_l("Choose a day that is not in the future."), field="through")
    check_day(through, "through", today=today)
    with unit_of_work() as session:
        access.money_keeper(user_id, club_id)
        last = session.scalar(select(func.max(BankReconciliation.through)).where(
            BankReconciliation.club_id == club_id))
        if last is not None and through <= last:
            raise Conflict(_l("The bank is already reconciled through %(day)s.", day=last.isoformat()),
                           field="through")
        open_lines = session.scalar(select(func.count()).select_from(BankLine).where(
            BankLine.club_id == club_id, BankLine.booked_on <= through, BankLine.transaction_id.is_(None)))
        # The books' movements the bank files cover (from their first line on) must all have their line.
        first = session.scalar(select(func.min(BankLine.booked_on)).where(BankLine.club_id == club_id))
        if first is None:
            raise RuleViolation(_l("Upload the bank's statement first."), rule="reconciliation", field="through")
        missing = [m for m in _bank_movements(club_id)
                   if first <= m.occurred_on <= through and (last is None or m.occurred_on > last)]
        if open_lines or missing:
            raise RuleViolation(_l("%(lines)d bank line(s) and %(movements)d movement(s) of the books up to this day "
                                   "are not matched yet.", lines=open_lines, movements=len(missing)),
                                rule="reconciliation", field="through")
        bank_total = session.scalar(select(func.coalesce(sum_of(BankLine.amount), 0)).where(
            BankLine.club_id == club_id, BankLine.booked_on <= through, BankLine.transaction_id.is_not(None)))
        book = balances_on(club_id, through).get(_bank(club_id).id, 0)
        done = BankReconciliation(club_id=club_id, through=through, book_balance=book, reconciled_by_id=user_id)
        session.add(done)
        session.flush()
        for line in session.scalars(select(BankLine).where(
                BankLine.club_id == club_id, BankLine.booked_on <= through, BankLine.reconciliation_id.is_(None))):
            line.reconciliation_id = done.id
        record(user_id, club_id, "bank.reconcile", done, after={"through": through, "book_balance": book,
                                                                 "matched_lines_total": bank_total})
        return done
