"""Bank reconciliation: the bank's statement beside the books.

The treasurer uploads the bank's CSV export as the bank wrote it: its layout
is detected among the banks' presets (``coop.bankfiles``), or the one the
club used last is offered, or the treasurer says which column holds what
(the date, the amount or a debit and a credit column, the label), by name or
by position for a file without column names. The balances the file states
(a running balance column, a "Solde au …" line) are kept and compared with
the books (``balance_checks``). Lines are matched to the
journal's bank postings automatically (same amount, dates within a window;
among ties, the label first: the member it names, a reference, the memo's
words) or by hand (dates far apart only once confirmed); what is left on
either side is listed. Nothing is posted from the file unless the treasurer
asks for one line to be recorded (a bank fee, a member's contribution, the
refund of an overpayment: the duplicate contribution reversed), and the match
follows. Once every line up to a day is matched, and the bank's balance that
day agrees with the books' or the difference is explained, the treasurer
marks the bank reconciled through that day.

A bank line is positive when money came into the club's account, like a
debit of the ``bank`` account (debit-positive ledger).
"""
from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import exists, func, or_, select

from .. import bankfiles, csvfile
from ..amounts import LazyMoney
from ..bankfiles.csvbanks import MAX_LINES as MAX_FILE_LINES
from ..bankfiles.csvbanks import Columns, fingerprint_of, parse_cents, parse_day  # noqa: F401  (used from here)
from ..database import sum_of
from ..extensions import db
from ..models import (
    Account,
    AccountType,
    BankBalance,
    BankLine,
    BankReconciliation,
    BankStatement,
    Club,
    Contribution,
    JournalTransaction,
    Membership,
    Posting,
    TransactionKind,
    Unit,
    User,
)
from ..models.base import utcnow
from . import access, fund, ledger
from .audit import record
from .books import balances_on
from .clubs import use_form_key
from .errors import Conflict, InvalidInput, NeedsConfirmation, NotFound, RuleViolation, _l
from .lookup import in_club
from .timebank import fold
from .uow import unit_of_work
from .validate import check_day, is_id, one_line

MAX_LINES = MAX_FILE_LINES
MAX_WINDOW = 15


# --- Reading a bank file ------------------------------------------------------------------------------------------


def _read(data: bytes) -> list[csvfile.Row]:
    """The file's rows with their lines: UTF-8 (with or without a byte-order mark) or Windows-1252, the
    separator guessed from the first line among ``;``, ``,`` and tab."""
    rows = csvfile.read(data, separators=(";", ",", "\t"), max_lines=MAX_LINES, fallback="cp1252")
    if len(rows) < 2:
        raise InvalidInput(_l("The file needs a line of column names and at least one line."), field="file")
    return rows


def read_table(data: bytes) -> list[list[str]]:
    """The file's rows, blank ones left out, its first line taken as the column names (as before presets)."""
    return [row.cells for row in _read(data)]


@dataclass
class ParsedLine:
    line_no: int
    booked_on: date | None
    amount: int | None
    label: str
    error: str = ""
    duplicate: bool = False
    fingerprint: str = ""
    value_on: date | None = None
    reference: str = ""
    balance_after: int | None = None


@dataclass
class Preview:
    #: the column names (None: the file has none, columns go by position)
    header: list[str] | None
    lines: list[ParsedLine] = field(default_factory=list)
    #: a preset's name, or "columns" (chosen by hand)
    layout: str = bankfiles.BY_HAND
    bank: str = ""
    balances: list = field(default_factory=list)
    #: (first line, last line, why) of what the reader left out: "before", "after", "section"
    left_out: list = field(default_factory=list)
    currency: str | None = None
    account: str = ""
    #: messages about the whole file
    problems: list[str] = field(default_factory=list)
    #: what the reader left out on purpose (CAMT's pending entries …), not errors
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[ParsedLine]:
        return [line for line in self.lines if line.error]

    @property
    def new_lines(self) -> list[ParsedLine]:
        return [line for line in self.lines if not line.error and not line.duplicate]

    @property
    def messages(self) -> list[str]:
        return self.problems + [line.error for line in self.errors]


def _read_file(club_id: int, data: bytes, columns: Columns | None, layout: str | None) -> Preview:
    if columns is not None and layout in (None, ""):
        layout = bankfiles.BY_HAND
    reading = bankfiles.inspect(data, layout=layout, columns=columns)
    result = Preview(header=reading.header, layout=reading.layout, bank=reading.bank, balances=reading.balances,
                     left_out=reading.left_out, currency=reading.currency, account=reading.account,
                     problems=list(reading.problems), notes=list(reading.notes))
    club_currency = db.session.scalar(select(Club.currency).where(Club.id == club_id))
    if reading.currency and club_currency and reading.currency != club_currency:
        result.problems.insert(0, str(_l("This file is in %(file)s; the club's money is in %(club)s.",
                                          file=reading.currency, club=club_currency)))
    seen: Counter = Counter()
    for op in reading.operations:
        line = ParsedLine(op.line_no, op.booked_on, op.amount, op.label, op.error, value_on=op.value_on,
                          reference=op.reference, balance_after=op.balance_after)
        if not line.error:
            key = (line.booked_on.isoformat(), line.amount, line.label.casefold())
            seen[key] += 1  # the second of two identical lines in one file is a line of its own
            line.fingerprint = fingerprint_of(op, seen[key])
        result.lines.append(line)
    if not result.lines and not result.problems:
        result.problems.append(str(_l("The file holds no operation.")))
    return result


def preview(user_id: int, club_id: int, data: bytes, columns: Columns | None = None, *,
            layout: str | None = None) -> Preview:
    """What the file holds, line by line, with the lines already uploaded before marked as such. The file is
    read with ``layout`` (a bank preset's name), or the ``columns`` chosen by hand, or the preset detected."""
    access.bookkeeper(user_id, club_id)
    result = _read_file(club_id, data, columns, layout)
    prints = [line.fingerprint for line in result.lines if line.fingerprint]
    known = set()
    for start in range(0, len(prints), 500):
        known |= set(db.session.scalars(select(BankLine.fingerprint).where(
            BankLine.club_id == club_id, BankLine.fingerprint.in_(prints[start:start + 500]))))
    taken: set[str] = set()
    for line in result.lines:
        line.duplicate = line.fingerprint in known
        if line.reference and line.reference in taken:  # a reference given twice in one file: the second is refused
            line.error = str(_l("Line %(n)d: the bank's reference %(ref)s is on another line of the file too.",
                                n=line.line_no, ref=line.reference[:40]))
        elif line.reference:
            taken.add(line.reference)
    return result


def upload(user_id: int, club_id: int, data: bytes, columns: Columns | None = None, *, layout: str | None = None,
           filename: str = "", window_days: int = 3) -> tuple[BankStatement, int]:
    """Keep the statement's new lines (a line uploaded before is skipped) and the balances it states, then
    match what can be matched. A file with a line that cannot be read is refused whole. The layout is
    remembered for the club's next upload. Returns the statement and how many lines matched."""
    filename = one_line(filename, "file", maximum=200, required=False)
    with unit_of_work() as session:
        access.money_keeper(user_id, club_id)
        result = preview(user_id, club_id, data, columns, layout=layout)
        if result.messages:
            raise InvalidInput(_l("%(first)s Correct the file or the columns and try again.",
                                  first=result.messages[0]), field="file")
        fresh = result.new_lines
        if not fresh:
            raise Conflict(_l("Every line of this file was already uploaded."), field="file")
        mapping = json.dumps(columns.as_dict()) if result.layout == bankfiles.BY_HAND and columns else ""
        statement = BankStatement(club_id=club_id, filename=filename, sha256=hashlib.sha256(data).hexdigest(),
                                  uploaded_by_id=user_id, first_on=min(line.booked_on for line in fresh),
                                  last_on=max(line.booked_on for line in fresh), layout=result.layout,
                                  mapping=mapping, account=result.account[:64], currency=result.currency)
        session.add(statement)
        session.flush()
        session.add_all(BankLine(club_id=club_id, statement_id=statement.id, line_no=line.line_no,
                                 booked_on=line.booked_on, amount=line.amount, label=line.label,
                                 value_on=line.value_on, reference=line.reference,
                                 fingerprint=line.fingerprint) for line in fresh)
        session.add_all(BankBalance(club_id=club_id, statement_id=statement.id, stated_on=b.on, amount=b.amount,
                                    source=b.source[:10]) for b in result.balances)
        session.flush()
        matched = _auto_match(club_id, user_id, window_days)
        record(user_id, club_id, "bank.upload", statement, after={
            "lines": len(fresh), "skipped": len(result.lines) - len(fresh), "matched": matched,
            "sha256": statement.sha256, "layout": result.layout, "balances": len(result.balances)})
        return statement, matched


@dataclass
class FileLayout:
    """How the upload page first offers to read a file: the layout detected, else the one the club used
    last (its columns when chosen by hand and they fit), else columns chosen by hand."""

    #: the file's table as the treasurer's own choice of columns reads it (column names or none, sample rows)
    table: bankfiles.Reading
    layout: str
    detected: bool = False
    remembered: bool = False
    columns: Columns | None = None


def layout_for(user_id: int, club_id: int, data: bytes, *, header: bool = True) -> FileLayout:
    access.bookkeeper(user_id, club_id)
    detected = bankfiles.detect_layout(data)
    if bankfiles.is_format(detected):  # OFX, CAMT: read whole by their reader, no columns to show or choose
        return FileLayout(bankfiles.Reading(detected, bankfiles.FORMAT_NAMES[detected], None, [], 0), detected,
                          detected=True)
    table = bankfiles.csvbanks.table(data, header=header)
    if detected is not None:
        return FileLayout(table, detected, detected=True)
    layout, columns = remembered(user_id, club_id)
    if layout == bankfiles.BY_HAND and columns is not None:
        if columns.header != header:
            table = bankfiles.csvbanks.table(data, header=columns.header)
        if all(getattr(columns, name) is None or getattr(columns, name) < table.width for name in Columns.NAMES):
            return FileLayout(table, layout, remembered=True, columns=columns)
    return FileLayout(table, bankfiles.BY_HAND)


def remembered(user_id: int, club_id: int) -> tuple[str, Columns | None]:
    """The layout the club's last statement was read with ("" if none), and its columns when chosen by hand."""
    access.bookkeeper(user_id, club_id)
    last = db.session.execute(select(BankStatement.layout, BankStatement.mapping).where(
        BankStatement.club_id == club_id, BankStatement.layout != "").order_by(BankStatement.id.desc())
        .limit(1)).first()
    if last is None:
        return "", None
    columns = None
    if last.layout == bankfiles.BY_HAND and last.mapping:
        try:
            columns = Columns.from_dict(json.loads(last.mapping))
        except (ValueError, AttributeError):
            columns = None
    return last.layout, columns


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
    """Pair unmatched lines with unmatched bank movements of the same amount within the window, a movement
    serving one line. Among the pairs that tie on amount and window, the label decides first (``_Labels``:
    the member's name, the contribution's bank reference, words of the transaction's memo), then the nearest
    date, then the earliest movement; a pair the label contradicts (the line names another member) is never
    made automatically. Deterministic: the pairs are taken best first in one fixed order."""
    window = _check_window(window_days)
    lines = list(db.session.scalars(select(BankLine).where(BankLine.club_id == club_id,
                                                           BankLine.transaction_id.is_(None))
                                    .order_by(BankLine.booked_on, BankLine.id)))
    if not lines:
        return 0
    by_amount: dict[int, list] = {}
    for movement in _bank_movements(club_id):
        by_amount.setdefault(movement.amount, []).append(movement)
    near = {line.id: [m for m in by_amount.get(line.amount, []) if abs((m.occurred_on - line.booked_on).days) <= window]
            for line in lines}
    labels = _Labels(club_id, [m for found in near.values() for m in found])
    pairs = []
    for line in lines:
        said = labels.line(line.label)
        for m in near[line.id]:
            score = labels.score(said, m.id)
            if score is not None:
                pairs.append(((-score, abs((m.occurred_on - line.booked_on).days), m.occurred_on, m.id,
                               line.booked_on, line.id), line, m))
    pairs.sort(key=lambda pair: pair[0])
    taken_lines: set[int] = set()
    taken: set[int] = set()
    for _, line, m in pairs:
        if line.id in taken_lines or m.id in taken:
            continue
        taken_lines.add(line.id)
        taken.add(m.id)
        _match(line, m.id, user_id, by_hand=False)
    db.session.flush()
    return len(taken)


# --- What a label says: the member it names, a reference, words of the memo ------------------------------------

#: words of bank labels and memos that tell nothing about who paid
_NOISE = frozenset("""vir virement virt sepa recu emis inst instantane cb carte prlv prelevement cheque chq remise depot
cotisation cotis versement paiement transfer payment deposit from pour par des les the and mr mme mlle mme ref
frais""".split())
_WORD = re.compile(r"[^\W_]+")


def _words(text: str) -> list[str]:
    """A label's words: case and accents folded ("Lefèvre" and "LEFEVRE" are one word)."""
    folded = fold(text or "").replace("œ", "oe").replace("æ", "ae")
    return _WORD.findall(folded)


def _name_words(text: str) -> set[str]:
    return {w for w in _words(text) if len(w) >= 2 and not w.isdigit() and w not in _NOISE}


@dataclass(frozen=True)
class _Said:
    """What a bank line's label says."""

    words: tuple[str, ...]
    significant: frozenset[str]
    compact: str
    #: the members it names
    people: frozenset[int]


class _Labels:
    """The club's members as labels name them (each by the words of their name no other member's name holds)
    and, for each movement of the books, whom it is about (the contribution's member, or the members its memo
    names), the contribution's bank reference and the memo's words."""

    def __init__(self, club_id: int, movements) -> None:
        names = db.session.execute(select(Membership.id, User.name).join(User, User.id == Membership.user_id)
                                   .where(Membership.club_id == club_id)).all()
        seen: Counter = Counter()
        words = {mid: _name_words(name) for mid, name in names}
        for found in words.values():
            seen.update(found)
        #: membership id -> the words of their name no other member's name holds
        self.own = {mid: frozenset(w for w in found if seen[w] == 1) for mid, found in words.items()}
        self.own = {mid: found for mid, found in self.own.items() if found}
        ids = sorted({m.id for m in movements})
        about: dict[int, tuple[int, str]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for txn_id, mid, reference in db.session.execute(
                    select(JournalTransaction.id, Contribution.membership_id, Contribution.bank_reference)
                    .join(Contribution, or_(Contribution.transaction_id == JournalTransaction.id,
                                            Contribution.transaction_id == JournalTransaction.reverses_id)
                          & (Contribution.club_id == JournalTransaction.club_id))
                    .where(JournalTransaction.club_id == club_id, JournalTransaction.id.in_(chunk))):
                about[txn_id] = (mid, reference or "")
        self.movements: dict[int, tuple[frozenset[int], tuple[str, ...], frozenset[str]]] = {}
        for m in movements:
            memo = _name_words(m.memo or "")
            mid, reference = about.get(m.id, (None, ""))
            people = frozenset([mid]) if mid is not None else self._named(memo)
            reference_words = tuple(_words(reference))
            if len("".join(reference_words)) < 3:
                reference_words = ()
            self.movements[m.id] = (people, reference_words, frozenset(w for w in memo if len(w) >= 3))

    def _named(self, words: set[str] | frozenset[str]) -> frozenset[int]:
        return frozenset(mid for mid, own in self.own.items() if own & words)

    def line(self, label: str) -> _Said:
        words = tuple(_words(label))
        significant = frozenset(w for w in words if len(w) >= 2 and not w.isdigit() and w not in _NOISE)
        return _Said(words, significant, "".join(words), self._named(significant))

    def score(self, said: _Said, movement_id: int) -> int | None:
        """How much the line's label agrees with the movement (0: it says nothing of it), or None when it
        contradicts it: the line names members, the movement is about others."""
        people, reference, memo = self.movements.get(movement_id, (frozenset(), (), frozenset()))
        if said.people and people and not said.people & people:
            return None
        score = sum(3 * len(self.own[mid] & said.significant) for mid in said.people & people)
        if reference and (_within(reference, said.words) or (len("".join(reference)) >= 6
                                                             and "".join(reference) in said.compact)):
            score += 4
        return score + len(memo & said.significant)


def _within(part: tuple[str, ...], words: tuple[str, ...]) -> bool:
    """``part`` appears in ``words`` as consecutive words."""
    n = len(part)
    return any(words[i:i + n] == part for i in range(len(words) - n + 1))


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


def _unmatched_line(user_id: int, club_id: int, line_id: object) -> BankLine:
    """The club's bank line, locked, for the one who records money to match or confirm: not matched yet."""
    access.money_keeper(user_id, club_id)
    line = _line(club_id, line_id)
    if line.transaction_id is not None:
        raise Conflict(_l("This bank line is already matched."))
    return line


#: a hand match of a line and a movement more days apart than this (the widest automatic window) is made only
#: once the treasurer confirms it
CONFIRM_AFTER_DAYS = MAX_WINDOW


def match(user_id: int, club_id: int, line_id: int, transaction_id: int, *, confirm: bool = False) -> BankLine:
    """The treasurer matches a line to a bank movement by hand: same amount, any date; dates more than
    ``CONFIRM_AFTER_DAYS`` apart only with ``confirm`` (else ``NeedsConfirmation``, saying how many days)."""
    with unit_of_work():
        line = _unmatched_line(user_id, club_id, line_id)
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
        apart = abs((movement.occurred_on - line.booked_on).days)
        if apart > CONFIRM_AFTER_DAYS and confirm is not True:
            raise NeedsConfirmation(_l("The bank line and this movement of the books are %(days)d days apart. "
                                       "Match them all the same?", days=apart), field="confirm", days=apart)
        _match(line, transaction_id, user_id, by_hand=True)
        record(user_id, club_id, "bank.match", line, after={"transaction": transaction_id,
                                                            **({"days_apart": apart} if apart else {})})
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
        line = _unmatched_line(user_id, club_id, line_id)
        if line.amount >= 0:
            raise InvalidInput(_l("Only money going out can be a bank fee."))
        use_form_key(user_id, form_key, club_id)
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
        line = _unmatched_line(user_id, club_id, line_id)
        if line.amount <= 0:
            raise InvalidInput(_l("Only money coming in can be a contribution."))
        contribution = fund.record_contribution_under(
            user_id, club_id, membership_id=membership_id, amount=line.amount, received_on=line.booked_on,
            method="transfer", bank_reference=line.label[:80], ledger_key=f"bank-line:{line.id}", today=today)
        _match(line, contribution.transaction_id, user_id, by_hand=True)
        record(user_id, club_id, "bank.record_contribution", line, after={"contribution": contribution.id})
        return line


def record_refund(user_id: int, club_id: int, line_id: int, *, contribution_id: int) -> BankLine:
    """The treasurer confirms that an unmatched money-out line is the refund of an overpayment: the member paid
    twice, the bank paid one back. The duplicate contribution is reversed through the savings register, dated
    on the line's day (the ledger is append-only: the reversal is the correction), and the line is matched to
    that reversal. Refused when the line is money in, the amounts differ, the contribution was received after
    the line's day or is already reversed; another club's contribution is not found."""
    with unit_of_work() as session:
        line = _unmatched_line(user_id, club_id, line_id)
        if line.amount >= 0:
            raise InvalidInput(_l("Only money going out can be the refund of an overpayment."))
        contribution = fund.contribution_in(club_id, contribution_id)
        if contribution.amount != -line.amount:
            raise RuleViolation(_l("The amounts differ: the refund of an overpayment gives back the whole "
                                   "contribution."), rule="reconciliation", field="contribution_id")
        if session.scalar(select(JournalTransaction.id).where(
                JournalTransaction.club_id == club_id,
                JournalTransaction.reverses_id == contribution.transaction_id)) is not None:
            raise Conflict(_l("This contribution is already reversed."), field="contribution_id")
        if contribution.received_on > line.booked_on:
            raise RuleViolation(_l("This contribution was received after the bank paid this money back."),
                                rule="reconciliation", field="contribution_id")
        reversal = fund.reverse_contribution_under(
            user_id, club_id, contribution.id, reason=f"Trop-perçu remboursé — {line.label}"[:300],
            ledger_key=f"bank-line:{line.id}", occurred_on=line.booked_on)
        _match(line, reversal.id, user_id, by_hand=True)
        record(user_id, club_id, "bank.record_refund", line, after={
            "contribution": contribution.id, "reversal": reversal.id, "amount": line.amount})
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
    """Unmatched bank movements of the line's amount: those the label agrees with first, then nearest in date
    (those it contradicts last)."""
    access.bookkeeper(user_id, club_id)
    line = _line(club_id, line_id, lock=False)
    found = [m for m in _bank_movements(club_id) if m.amount == line.amount]
    labels = _Labels(club_id, found)
    said = labels.line(line.label)

    def order(m):
        score = labels.score(said, m.id)
        return (score is None, -(score or 0), abs((m.occurred_on - line.booked_on).days), m.id)

    return sorted(found, key=order)


@dataclass(frozen=True)
class RefundChoice:
    """A contribution a money-out line may be the refund of."""

    contribution: Contribution
    member_name: str


def refund_candidates(user_id: int, club_id: int, line_id: int, *, limit: int = 50) -> list[RefundChoice]:
    """For an unmatched money-out line: the contributions of its amount, not reversed, received on or before
    its day, those whose member the label names first, then the latest first."""
    access.bookkeeper(user_id, club_id)
    line = _line(club_id, line_id, lock=False)
    if line.amount >= 0 or line.transaction_id is not None:
        return []
    rows = db.session.execute(
        select(Contribution, User.name)
        .join(Membership, (Membership.id == Contribution.membership_id) & (Membership.club_id == Contribution.club_id))
        .join(User, User.id == Membership.user_id)
        .where(Contribution.club_id == club_id, Contribution.amount == -line.amount,
               Contribution.received_on <= line.booked_on,
               fund.not_reversed(Contribution.transaction_id, club_id))
        .order_by(Contribution.received_on.desc(), Contribution.id.desc()).limit(500)).all()
    named = _Labels(club_id, []).line(line.label).people
    rows.sort(key=lambda row: row[0].membership_id not in named)  # stable: the latest first within each
    return [RefundChoice(c, name) for c, name in rows[:limit]]


@dataclass(frozen=True)
class DayBalances:
    """The bank's balance at the end of a day, as its files tell it, beside the books' bank balance."""

    on: date
    #: None when no file states a balance (then nothing is compared)
    bank: int | None
    books: int
    #: how the bank's figure is known: "stated" that day, or "from" a stated balance and the lines between
    source: str = ""
    stated_on: date | None = None

    @property
    def difference(self) -> int:
        return 0 if self.bank is None else self.bank - self.books

    @property
    def known(self) -> bool:
        return self.bank is not None


def _stated_near(club_id: int, on: date, *, after: bool) -> tuple[date, int] | None:
    """The nearest day a bank file states the balance of — the latest on or before ``on``, or the earliest
    after it — with that balance (the latest file's word for a day stated twice)."""
    day = BankBalance.stated_on
    row = db.session.execute(select(day, BankBalance.amount)
                             .where(BankBalance.club_id == club_id, day > on if after else day <= on)
                             .order_by(day.asc() if after else day.desc(), BankBalance.statement_id.desc(),
                                       BankBalance.id.desc())
                             .limit(1)).first()
    return None if row is None else (row.stated_on, int(row.amount))


def _lines_between(club_id: int, after: date, through: date) -> int:
    """What the uploaded lines of the days after ``after`` up to ``through`` add up to."""
    return int(db.session.scalar(select(func.coalesce(sum_of(BankLine.amount), 0)).where(
        BankLine.club_id == club_id, BankLine.booked_on > after, BankLine.booked_on <= through)))


def _day_balances(club_id: int, on: date) -> DayBalances:
    """The bank's balance at the end of ``on``: the balance a file states for that day; else the latest stated
    before it plus the lines since; else the first stated after it less the lines up to it; else unknown."""
    books = balances_on(club_id, on).get(_bank(club_id).id, 0)
    before = _stated_near(club_id, on, after=False)
    if before is not None:
        start, amount = before
        if start == on:
            return DayBalances(on, amount, books, "stated", on)
        return DayBalances(on, amount + _lines_between(club_id, start, on), books, "from", start)
    after = _stated_near(club_id, on, after=True)
    if after is not None:
        end, amount = after
        return DayBalances(on, amount - _lines_between(club_id, on, end), books, "from", end)
    return DayBalances(on, None, books)


def day_balances(user_id: int, club_id: int, on: date) -> DayBalances:
    """For the reconciliation form: the bank's and the books' balances at the end of ``on``."""
    access.bookkeeper(user_id, club_id)
    return _day_balances(club_id, on)


def reconcile(user_id: int, club_id: int, *, through: date, explanation: str = "",
              today: date | None = None) -> BankReconciliation:
    """Mark the bank reconciled through a day: every line up to it is matched, every bank movement of the
    books since the last reconciliation up to it has its line, and the bank's balance that day (when a file
    states one: ``_day_balances``) is the books' — or the treasurer explains the difference (``explanation``,
    kept with the reconciliation). With no balance stated by any file, the matching alone is checked."""
    today = today or date.today()
    if not isinstance(through, date) or through > today:
        raise InvalidInput(_l("Choose a day that is not in the future."), field="through")
    check_day(through, "through", today=today)
    explanation = one_line(explanation, "explanation", maximum=300, required=False)
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
        balances = _day_balances(club_id, through)
        if balances.difference and not explanation:
            currency = session.scalar(select(Club.currency).where(Club.id == club_id))
            raise RuleViolation(_l("At the end of %(day)s the bank's balance is %(bank)s and the books' %(books)s: "
                                   "a difference of %(difference)s. Say what explains it to reconcile all the same.",
                                   day=through.isoformat(), bank=LazyMoney(balances.bank, currency),
                                   books=LazyMoney(balances.books, currency),
                                   difference=LazyMoney(balances.difference, currency)),
                                rule="reconciliation", field="explanation")
        bank_total = session.scalar(select(func.coalesce(sum_of(BankLine.amount), 0)).where(
            BankLine.club_id == club_id, BankLine.booked_on <= through, BankLine.transaction_id.is_not(None)))
        book = balances.books
        done = BankReconciliation(club_id=club_id, through=through, book_balance=book, reconciled_by_id=user_id,
                                  bank_balance=balances.bank, explanation=explanation)
        session.add(done)
        session.flush()
        for line in session.scalars(select(BankLine).where(
                BankLine.club_id == club_id, BankLine.booked_on <= through, BankLine.reconciliation_id.is_(None))):
            line.reconciliation_id = done.id
        record(user_id, club_id, "bank.reconcile", done, after={
            "through": through, "book_balance": book, "matched_lines_total": bank_total,
            "bank_balance": balances.bank, "difference": balances.difference, "explanation": explanation})
        return done


# --- The balances the bank's files state, beside the books ----------------------------------------------------------


@dataclass
class BalanceCheck:
    """A balance a bank file states at the end of a day, beside the books' bank balance that day; and, since the
    previous stated balance, how the bank's balance moved beside what the uploaded lines add up to."""

    on: date
    bank: int
    books: int
    source: str
    statement_id: int
    filename: str
    previous_on: date | None = None
    moved: int | None = None
    lines_total: int | None = None

    @property
    def difference(self) -> int:
        return self.bank - self.books

    @property
    def lines_gap(self) -> int:
        return 0 if self.moved is None or self.lines_total is None else self.moved - self.lines_total

    @property
    def agrees(self) -> bool:
        return self.difference == 0 and self.lines_gap == 0


def _running_totals(rows) -> tuple[list[date], list[int]]:
    """(days, totals up to and including each day) of (day, amount) rows sorted by day."""
    days, totals, total = [], [], 0
    for on, amount in rows:
        total += int(amount)
        days.append(on)
        totals.append(total)
    return days, totals


def _upto(days: list[date], totals: list[int], on: date) -> int:
    i = bisect_right(days, on)
    return totals[i - 1] if i else 0


def balance_checks(user_id: int, club_id: int) -> list[BalanceCheck]:
    """Every day a bank file states the balance (the latest file's word for a day stated twice), newest first,
    compared with the books' bank balance at the end of that day, as the books are now (an entry dated on
    or before it, made later, changes the comparison)."""
    access.bookkeeper(user_id, club_id)
    bank = _bank(club_id)
    stated: dict[date, tuple] = {}
    for row in db.session.execute(
            select(BankBalance.stated_on, BankBalance.amount, BankBalance.source, BankBalance.statement_id,
                   BankStatement.filename)
            .join(BankStatement, (BankStatement.id == BankBalance.statement_id)
                  & (BankStatement.club_id == BankBalance.club_id))
            .where(BankBalance.club_id == club_id).order_by(BankBalance.statement_id, BankBalance.id)):
        stated[row.stated_on] = row
    if not stated:
        return []
    book_days, book_totals = _running_totals(db.session.execute(
        select(JournalTransaction.occurred_on, sum_of(Posting.amount))
        .join(Posting, ledger.POSTING_TRANSACTION)
        .where(Posting.club_id == club_id, Posting.account_id == bank.id)
        .group_by(JournalTransaction.occurred_on).order_by(JournalTransaction.occurred_on)).all())
    line_days, line_totals = _running_totals(db.session.execute(
        select(BankLine.booked_on, sum_of(BankLine.amount)).where(BankLine.club_id == club_id)
        .group_by(BankLine.booked_on).order_by(BankLine.booked_on)).all())
    checks, previous = [], None
    for on in sorted(stated):
        row = stated[on]
        check = BalanceCheck(on, int(row.amount), _upto(book_days, book_totals, on), row.source, row.statement_id,
                             row.filename)
        if previous is not None:
            check.previous_on = previous.on
            check.moved = check.bank - previous.bank
            check.lines_total = _upto(line_days, line_totals, on) - _upto(line_days, line_totals, previous.on)
        checks.append(check)
        previous = check
    return checks[::-1]
