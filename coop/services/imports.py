"""Importing contributions from a CSV file: preview every line with its
errors, then post the whole file once the treasurer confirms it.

Columns (a header row names them, in English or French, in any order):

=============  ===========================================  ==========
column         what                                          required
=============  ===========================================  ==========
``member``     the member's email (also ``email``,           yes
               ``membre``, ``courriel``)
``amount``     ``30``, ``1 234,56``, ``1,234.56``             yes
               (also ``montant``)
``date``       ``31/01/2026``, ``31.01.2026`` or              yes
               ``2026-01-31`` (day first)
``method``     transfer / cheque / cash, or virement /        no
               chèque / espèces (also ``moyen``)
``reference``  the bank's reference (also ``référence``)      no
=============  ===========================================  ==========

Separator ``,`` or ``;``; UTF-8 (with or without BOM). A line already
imported (same member, date, amount and reference) is recognised and
skipped, so importing a file twice posts nothing new.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import insert, select

from .. import csvfile
from ..amounts import AmountError, LazyMoney, parse_money
from ..extensions import db
from ..models import (
    Contribution,
    ContributionSource,
    JournalTransaction,
    Membership,
    MemberStatus,
    PaymentMethod,
    TransactionKind,
    Unit,
    User,
)
from . import access, ledger
from .audit import record
from .charter import charter_of
from .errors import InvalidInput, RuleViolation, _l
from .fund import MAX_CONTRIBUTION, OPEN_STATUSES, REFERENCE_MAX, paid_in_year
from .uow import unit_of_work
from .validate import in_window, window_message

MAX_LINES = 20_000

HEADERS = {
    "member": ("member", "email", "e-mail", "membre", "courriel", "adresse courriel"),
    "amount": ("amount", "montant", "somme"),
    "date": ("date", "received on", "reçu le", "date de réception"),
    "method": ("method", "moyen", "mode", "moyen de paiement", "payment method"),
    "reference": ("reference", "référence", "ref", "réf", "bank reference", "référence bancaire"),
}
REQUIRED = ("member", "amount", "date")
METHODS = {
    "transfer": PaymentMethod.TRANSFER, "virement": PaymentMethod.TRANSFER, "vir": PaymentMethod.TRANSFER,
    "cheque": PaymentMethod.CHEQUE, "chèque": PaymentMethod.CHEQUE, "check": PaymentMethod.CHEQUE,
    "cash": PaymentMethod.CASH, "espèces": PaymentMethod.CASH, "especes": PaymentMethod.CASH,
}
DATE_FORMATS = (
    re.compile(r"(?P<d>\d{1,2})[/.](?P<m>\d{1,2})[/.](?P<y>\d{4})"),
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"),
)


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).strip().lower().split())


def parse_date(text: str) -> date:
    for pattern in DATE_FORMATS:
        match = pattern.fullmatch((text or "").strip())
        if match:
            return date(int(match["y"]), int(match["m"]), int(match["d"]))  # ValueError if no such day
    raise ValueError(text)


@dataclass
class ImportLine:
    number: int  # the line of the file the row starts on, the first being 1
    email: str
    amount: int | None = None
    received_on: date | None = None
    method: str = PaymentMethod.TRANSFER
    reference: str = ""
    member: Membership | None = None
    already_recorded: bool = False
    errors: list = field(default_factory=list)

    def key(self, club_id: int) -> str:
        """The same line imported again gets the same key, so it posts once."""
        raw = f"{club_id}|{self.member.id}|{self.received_on}|{self.amount}|{self.reference}"
        return "csv:" + hashlib.sha256(raw.encode()).hexdigest()[:56]


@dataclass
class ImportPreview:
    lines: list[ImportLine]
    file_errors: list = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return len(self.file_errors) + sum(1 for line in self.lines if line.errors)

    @property
    def to_post(self) -> list[ImportLine]:
        return [line for line in self.lines if not line.errors and not line.already_recorded]

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.to_post)


def _read_rows(data: bytes) -> tuple[dict[str, int], list[csvfile.Row]]:
    rows = csvfile.read(data, separators=(",", ";"), max_lines=MAX_LINES)
    header = [_fold(cell) for cell in rows[0].cells] if rows else []  # blank rows alone name no column
    columns: dict[str, int] = {}
    for name, aliases in HEADERS.items():
        for index, cell in enumerate(header):
            if cell in aliases:
                columns.setdefault(name, index)
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise InvalidInput(_l("The first line must name the columns; missing: %(columns)s. Expected: member, amount, "
                              "date, and optionally method and reference.", columns=", ".join(missing)), field="file")
    return columns, rows[1:]


def _parse_lines(columns: dict[str, int], rows: list[csvfile.Row], today: date) -> list[ImportLine]:
    lines = []
    for number, row in rows:
        def cell(name: str, row: list[str] = row) -> str:
            index = columns.get(name)
            return row[index].strip() if index is not None and index < len(row) else ""

        line = ImportLine(number=number, email=cell("member").lower())
        if any(columns[name] >= len(row) for name in REQUIRED):
            line.errors.append(_l("Some columns are missing on this line."))
            lines.append(line)
            continue
        try:
            line.amount = parse_money(cell("amount"))
            if line.amount == 0:
                line.errors.append(_l("The amount is zero."))
            elif line.amount > MAX_CONTRIBUTION:
                line.errors.append(_l("The amount is too large."))
        except AmountError as exc:
            line.errors.append({
                "negative": _l("The amount is negative."),
                "empty": _l("The amount is missing."),
                "ambiguous": _l("The amount is ambiguous: write thousands with a space."),
            }.get(str(exc), _l("The amount is not a number such as 30 or 1 234,56.")))
        try:
            line.received_on = parse_date(cell("date"))
            if line.received_on > today:
                line.errors.append(_l("The date is in the future."))
            elif not in_window(line.received_on, today):
                line.errors.append(window_message(today))
        except ValueError:
            line.errors.append(_l("The date is not a date such as 31/01/2026."))
        if cell("method"):
            method = METHODS.get(_fold(cell("method")))
            if method is None:
                line.errors.append(_l("Unknown method: use transfer, cheque or cash."))
            else:
                line.method = method
        line.reference = " ".join(cell("reference").split())
        if len(line.reference) > REFERENCE_MAX or any(unicodedata.category(c) == "Cc" for c in line.reference):
            line.errors.append(_l("The reference is too long or has control characters."))
        lines.append(line)
    return lines


def _check_against_club(club_id: int, currency: str, lines: list[ImportLine]) -> None:
    members = {
        user.email: m
        for m, user in db.session.execute(
            select(Membership, User).join(User, User.id == Membership.user_id).where(Membership.club_id == club_id)
        )
    }
    for line in lines:
        member = members.get(line.email)
        if member is None:
            line.errors.append(_l("No member of the club has the email “%(email)s”.", email=line.email[:80]))
        else:
            line.member = member

    complete = [line for line in lines if line.member and line.amount and line.received_on and not line.errors]
    seen: dict[str, int] = {}
    for line in complete:
        key = line.key(club_id)
        if key in seen:
            line.errors.append(_l("Duplicate of line %(n)d.", n=seen[key]))
        else:
            seen[key] = line.number
    keys = list(seen)
    recorded = set()
    for start in range(0, len(keys), 500):
        recorded.update(db.session.scalars(select(JournalTransaction.idempotency_key).where(
            JournalTransaction.club_id == club_id, JournalTransaction.idempotency_key.in_(keys[start:start + 500]))))
    cap = charter_of(club_id).max_yearly_contribution
    running: Counter = Counter()
    for line in complete:
        if line.errors:
            continue
        if line.key(club_id) in recorded:
            line.already_recorded = True  # even if the member has left since
            continue
        if line.member.status != MemberStatus.ACTIVE:
            line.errors.append(_l("%(name)s is not an active member (R4).", name=line.member.user.name))
            continue
        year_key = (line.member.id, line.received_on.year)
        if year_key not in running:
            running[year_key] = paid_in_year(club_id, line.member.id, line.received_on.year)
        if running[year_key] + line.amount > cap:
            line.errors.append(_l("Over the yearly cap of %(cap)s for %(name)s (R4).",
                                  cap=LazyMoney(cap, currency), name=line.member.user.name))
        else:
            running[year_key] += line.amount


def _check_open(club) -> None:
    if club.status not in OPEN_STATUSES:
        raise RuleViolation(_l("This club no longer takes contributions."), rule="R5")


def preview(user_id: int, club_id: int, data: bytes, today: date | None = None) -> ImportPreview:
    """Every line of the file with its errors; nothing is written."""
    today = today or date.today()
    me = access.money_keeper(user_id, club_id)
    _check_open(me.club)
    columns, rows = _read_rows(data)
    lines = _parse_lines(columns, rows, today)
    if not lines:
        raise InvalidInput(_l("The file has no line to import."), field="file")
    _check_against_club(club_id, me.club.currency, lines)
    return ImportPreview(lines)


@dataclass(frozen=True)
class ImportResult:
    created: int
    skipped: int
    total: int


def _post_lines(user_id: int, club_id: int, lines: list[ImportLine]) -> None:
    """The checked lines, posted in bulk: one ledger transaction and one register row each."""
    bank = ledger.find_account(club_id, "bank")
    capitals = {a.membership_id: a.id for a in ledger.accounts_of(club_id) if a.code.startswith("capital:")}
    ids = ledger.post_many(club_id, unit=Unit.MONEY, author_id=user_id, entries=[
        ledger.Entry(TransactionKind.CONTRIBUTION, [(bank.id, line.amount), (capitals[line.member.id], -line.amount)],
                     line.key(club_id), line.received_on, f"{line.member.user.name} — {line.reference}".rstrip(" —"))
        for line in lines
    ])
    if ids:
        db.session.execute(insert(Contribution), [
            {"club_id": club_id, "membership_id": line.member.id, "amount": line.amount,
             "received_on": line.received_on, "method": line.method, "bank_reference": line.reference,
             "source": ContributionSource.IMPORT, "transaction_id": txn_id, "recorded_by_id": user_id}
            for line, txn_id in zip(lines, ids, strict=True)
        ])


def confirm(user_id: int, club_id: int, data: bytes, today: date | None = None) -> ImportResult:
    """Post every line of a file without errors, in one transaction; lines already imported are skipped."""
    today = today or date.today()
    with unit_of_work():
        me = access.money_keeper(user_id, club_id, lock=True)
        _check_open(me.club)
        columns, rows = _read_rows(data)
        lines = _parse_lines(columns, rows, today)
        _check_against_club(club_id, me.club.currency, lines)
        result = ImportPreview(lines)
        if not lines or result.error_count:
            raise InvalidInput(_l("The file has %(n)d lines with errors: correct them and preview it again.",
                                  n=result.error_count), field="file")
        _post_lines(user_id, me.club.id, result.to_post)
        outcome = ImportResult(len(result.to_post), len(lines) - len(result.to_post), result.total)
        record(user_id, club_id, "contribution.import", me.club,
               after={"created": outcome.created, "skipped": outcome.skipped, "total": outcome.total,
                      "sha256": hashlib.sha256(data).hexdigest()})
        return outcome
