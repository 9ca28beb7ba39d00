"""The FEC (fichier des écritures comptables, article A. 47 A-1 of the livre des procédures fiscales): one
fiscal year of the club's money books as the French tax administration reads them, and the French chart of
accounts (PCG) numbers the treasurer gives the club's accounts for it.

The choices the file makes (docs/books.md, § FEC):

- the fiscal year is the calendar year, closed on 31 December: the file is ``<SIREN>FEC<year>1231.txt``;
- 18 columns, named on the first line; one line per posting; tab (the default) or ``|`` between fields,
  neither ever inside one; CR LF at each line's end; ISO 8859-15 (one of the three character sets the article
  allows; UTF-8 is not one of them);
- dates ``YYYYMMDD``; amounts with a decimal comma, no thousands separator, Debit and Credit both given on
  every line, one of them ``0,00``;
- entries numbered 1, 2, 3 … without a gap over the whole year, in the order they were validated: the
  carried-forward balances (journal AN) first, then the ledger's transactions in the order of its hash chain
  (the order they were recorded: an entry is final, sealed, when it is recorded);
- ``ValidDate`` is the day (in Paris) the entry was recorded; ``PieceRef`` the transaction's number in the
  journal pages, ``PieceDate`` its date;
- members' capital accounts share one general account, each member being its auxiliary account
  (``CompAuxNum``/``CompAuxLib``); no lettering (bank reconciliation is not lettering); no foreign currency:
  only a club keeping its books in euros gets a FEC; time credits are not money and never appear.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from ..extensions import db
from ..labels import account_name
from ..models import (
    Account,
    AccountType,
    Club,
    Investment,
    JournalTransaction,
    Membership,
    PcgMapping,
    TransactionKind,
    Unit,
    User,
)
from ..models.base import utcnow
from . import access, ledger
from .audit import record
from .books import balances_on, closed_through
from .errors import InvalidInput, RuleViolation, _l
from .uow import unit_of_work
from .validate import one_line

#: The 18 columns of article A. 47 A-1, in order.
COLUMNS = ("JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
           "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
           "ValidDate", "Montantdevise", "Idevise")

#: Journals: code and name (in French: the file is for the French administration, whatever the reader's language).
JOURNALS = {"AN": "A nouveaux", "BQ": "Banque", "OD": "Opérations diverses"}

#: Money through the club's bank account; any other money entry is a miscellaneous one (OD). A reversal goes
#: to the journal of the entry it reverses. Time exchanges are not money: they are not in the file.
BANK_KINDS = frozenset({TransactionKind.CONTRIBUTION, TransactionKind.DISBURSEMENT, TransactionKind.REPAYMENT,
                        TransactionKind.RETURN, TransactionKind.FEE, TransactionKind.REFUND,
                        TransactionKind.DISTRIBUTION})

#: What an entry without a description says (EcritureLib may not be empty).
KIND_NAMES = {"opening": "A nouveaux", "contribution": "Versement d'un membre", "disbursement": "Investissement",
              "repayment": "Remboursement", "return": "Revenus d'investissement", "fee": "Frais",
              "refund": "Remboursement d'un membre", "distribution": "Partage de l'actif", "adjustment": "Ajustement",
              "closing": "Affectation du résultat", "revaluation": "Réévaluation d'un investissement",
              "reversal": "Contre-passation", "exit": "Part d'un membre sortant évaluée",
              "withdrawal": "Retrait partiel d'une part", "transfer": "Transmission de parts entre membres",
              "handover": "Parts sociales remises à un membre sortant"}

SEPARATORS = {"tab": "\t", "pipe": "|"}
ENCODING = "iso-8859-15"
CLOSING_DAY = (12, 31)
PARIS = ZoneInfo("Europe/Paris")

#: Every member's capital account: one general account, the member as its auxiliary account.
CAPITAL = "capital:*"
#: Every investment's revaluation reserve: one general account.
REVALUATION = "revaluation:*"

#: What the club owes each leaver once their share is valued: one general account, the member as auxiliary.
PAYABLE = "payable:*"

#: Carried-forward result (income less expenses of the years before): the ledger shares it into members'
#: capital only at dissolution, so the opening entry carries it to the report à nouveau.
CARRIED_PROFIT = ("110000", "Report à nouveau (solde créditeur)")
CARRIED_LOSS = ("119000", "Report à nouveau (solde débiteur)")

DEFAULTS = {
    "bank": ("512000", "Banque"),
    CAPITAL: ("455100", "Associés - Comptes courants"),
    PAYABLE: ("467100", "Associés sortants - Parts à payer"),
    "reserves": ("106800", "Autres réserves"),
    REVALUATION: ("105000", "Écarts de réévaluation"),
    "income:returns": ("762000", "Produits des autres immobilisations financières"),
    "income:gains": ("767000", "Produits nets sur cessions de valeurs mobilières de placement"),
    "expense:losses": ("667000", "Charges nettes sur cessions de valeurs mobilières de placement"),
    "expense:fees": ("627000", "Services bancaires et assimilés"),
}
#: An investment's account, by the instrument (coop.models.Instrument).
BY_INSTRUMENT = {
    "equity": ("261000", "Titres de participation"),
    "current_account": ("267400", "Créances rattachées à des participations (apports en compte courant)"),
    "loan": ("274000", "Prêts"),
    "returnable": ("276800", "Autres créances immobilisées"),
}
#: Any other account, by its type.
BY_TYPE = {
    AccountType.ASSET: ("471000", "Compte d'attente"),
    AccountType.LIABILITY: ("467000", "Autres comptes débiteurs ou créditeurs"),
    AccountType.EQUITY: ("471000", "Compte d'attente"),
    AccountType.INCOME: ("758000", "Produits divers de gestion courante"),
    AccountType.EXPENSE: ("658000", "Charges diverses de gestion courante"),
}
#: The PCG classes an account of each type may take: 1 capital and debts, 2 fixed assets, 3 stocks, 4 third
#: parties, 5 bank and cash, 6 expenses, 7 income.
CLASSES = {
    AccountType.ASSET: "2345",
    AccountType.LIABILITY: "14",
    AccountType.EQUITY: "14",
    AccountType.INCOME: "7",
    AccountType.EXPENSE: "6",
}
NUMBER = re.compile(r"^[1-7][0-9]{2,11}$")


# --- The club's chart: PCG numbers for its accounts ------------------------------------------------------


@dataclass(frozen=True)
class MappingRow:
    """One line of the chart: an account (or every member's capital account) and its PCG number and name."""

    pattern: str
    name: str
    type: str
    number: str
    label: str
    default_number: str
    default_label: str

    @property
    def changed(self) -> bool:
        return (self.number, self.label) != (self.default_number, self.default_label)


def why_not(club: Club):
    """Why this club has no FEC (a message), or None: the FEC is a French tax file, for books kept in euros."""
    if club.currency != "EUR":
        return _l("The FEC is a French tax file for books kept in euros; this club keeps its books in "
                  "%(currency)s.", currency=club.currency)
    return None


def _euro_books(club: Club) -> None:
    refusal = why_not(club)
    if refusal is not None:
        raise RuleViolation(refusal, rule="fec")


def _money_accounts(club_id: int) -> list[Account]:
    return list(db.session.scalars(select(Account).where(Account.club_id == club_id, Account.unit == Unit.MONEY)
                                   .order_by(Account.id)))


def _pattern(account: Account) -> str:
    if account.membership_id is not None and account.code.startswith("capital:"):
        return CAPITAL
    if account.membership_id is not None and account.code.startswith("payable:"):
        return PAYABLE
    if account.code.startswith("revaluation:") and account.type == AccountType.EQUITY:
        return REVALUATION
    return account.code


def _defaults(club_id: int, accounts: list[Account]) -> dict[str, tuple[str, str, str, str]]:
    """pattern -> (number, name, the account's name in the club, its type), in the order of the page."""
    instruments = dict(db.session.execute(select(Investment.account_id, Investment.instrument)
                                          .where(Investment.club_id == club_id)).all())
    rows: dict[str, tuple[str, str, str, str]] = {}
    for account in accounts:
        pattern = _pattern(account)
        if pattern in rows:
            continue
        if pattern in DEFAULTS:
            number, label = DEFAULTS[pattern]
        elif account.id in instruments:
            number, label = BY_INSTRUMENT.get(instruments[account.id], BY_TYPE[AccountType(account.type)])
        else:
            number, label = BY_TYPE[AccountType(account.type)]
        rows[pattern] = (number, label, "" if pattern in (CAPITAL, PAYABLE, REVALUATION) else account_name(account),
                         account.type)
    return rows


def _rows(club_id: int) -> list[MappingRow]:
    kept = {m.pattern: m for m in db.session.scalars(select(PcgMapping).where(PcgMapping.club_id == club_id))}
    rows = []
    for pattern, (number, label, name, type_) in _defaults(club_id, _money_accounts(club_id)).items():
        mine = kept.get(pattern)
        rows.append(MappingRow(pattern, name, type_, mine.number if mine else number, mine.label if mine else label,
                               number, label))
    order = {"bank": 0, CAPITAL: 1}
    return sorted(rows, key=lambda r: (order.get(r.pattern, 2), r.number, r.pattern))


def chart(user_id: int, club_id: int) -> list[MappingRow]:
    """The PCG number and name of each of the club's money accounts, for those who keep the books."""
    me = access.bookkeeper(user_id, club_id)
    _euro_books(me.club)
    return _rows(club_id)


def _check_number(value: object, type_: str, field: str) -> str:
    number = value.strip() if isinstance(value, str) else ""
    if not NUMBER.match(number):
        raise InvalidInput(_l("A PCG account number has 3 to 12 digits and starts with its class, 1 to 7."),
                           field=field)
    if number[0] not in CLASSES[AccountType(type_)]:
        raise InvalidInput(_l("This account cannot go to class %(digit)s: use class %(classes)s.", digit=number[0],
                              classes=" / ".join(CLASSES[AccountType(type_)])), field=field)
    return number


def set_chart(user_id: int, club_id: int, changes: dict[str, tuple[object, object]]) -> int:
    """The treasurer changes the PCG numbers and names of some accounts (``pattern -> (number, name)``); one name
    per number across the chart. Each change goes into the audit log; returns how many changed."""
    if not isinstance(changes, dict):
        raise InvalidInput(_l("Choose a value from the list."))
    with unit_of_work() as session:
        me = access.money_keeper(user_id, club_id)
        _euro_books(me.club)
        rows = {r.pattern: r for r in _rows(club_id)}
        wanted = {}
        for pattern, pair in changes.items():
            if pattern not in rows or not isinstance(pair, tuple) or len(pair) != 2:
                raise InvalidInput(_l("Choose a value from the list."))
            number = _check_number(pair[0], rows[pattern].type, f"number-{pattern}")
            label = one_line(pair[1], f"label-{pattern}", maximum=120)
            wanted[pattern] = (number, label)
        named: dict[str, str] = {}
        # One name per number, over the whole chart as it will be: the rows left as they are first, so that a
        # clash is told next to a row being changed.
        for pattern, row in sorted(rows.items(), key=lambda item: item[0] in wanted):
            number, label = wanted.get(pattern, (row.number, row.label))
            if named.setdefault(number, label) != label:
                raise InvalidInput(_l("Account %(number)s has two names, “%(first)s” and “%(second)s”: give it one.",
                                      number=number, first=named[number], second=label), field=f"label-{pattern}")
        kept = {m.pattern: m for m in session.scalars(select(PcgMapping).where(PcgMapping.club_id == club_id))}
        changed = 0
        for pattern, (number, label) in wanted.items():
            row = rows[pattern]
            if (number, label) == (row.number, row.label):
                continue
            mapping = kept.get(pattern)
            if mapping is None:
                mapping = PcgMapping(club_id=club_id, pattern=pattern, number=number, label=label,
                                     updated_by_id=user_id)
                session.add(mapping)
            else:
                mapping.number, mapping.label = number, label
                mapping.updated_by_id, mapping.updated_at = user_id, utcnow()
            session.flush()
            record(user_id, club_id, "fec.chart", mapping, before={"account": pattern, "number": row.number,
                                                                    "label": row.label},
                   after={"account": pattern, "number": number, "label": label})
            changed += 1
        return changed


# --- SIREN, year, separator ---------------------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def check_siren(value: object) -> str:
    """A SIREN: nine digits (spaces allowed between them) whose Luhn checksum holds."""
    siren = "".join(value.split()) if isinstance(value, str) and len(value) <= 20 else ""
    if not (len(siren) == 9 and siren.isascii() and siren.isdigit()):
        raise InvalidInput(_l("A SIREN has nine digits."), field="siren")
    if not luhn_valid(siren):
        raise InvalidInput(_l("This SIREN is not valid: check its digits."), field="siren")
    return siren


def _check_year(value: object) -> int:
    last = date.today().year + 1
    if isinstance(value, bool) or not isinstance(value, int) or not 2000 <= value <= last:
        raise InvalidInput(_l("Choose a year from 2000 to %(last)d.", last=last), field="year")
    return value


def closing_day(year: int) -> date:
    return date(year, *CLOSING_DAY)


@dataclass(frozen=True)
class Year:
    year: int
    closed: bool


def years(user_id: int, club_id: int) -> list[Year]:
    """The years that have money entries (from the first one's to this one), newest first, each closed or not."""
    me = access.bookkeeper(user_id, club_id)
    _euro_books(me.club)
    first = db.session.scalar(select(func.min(JournalTransaction.occurred_on)).where(
        JournalTransaction.club_id == club_id, JournalTransaction.unit == Unit.MONEY))
    if first is None:
        return []
    closed = closed_through(club_id)
    return [Year(y, closed is not None and closed >= closing_day(y))
            for y in range(date.today().year, first.year - 1, -1)]


# --- The file ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FecFile:
    filename: str
    data: bytes
    year: int
    #: the books are closed through the year's last day: the file will not change any more
    closed: bool
    entries: int
    lines: int


@dataclass
class _Entry:
    journal: str
    on: date
    valid: date
    piece: str
    text: str
    #: (account number, its name, auxiliary number, auxiliary name, debit, credit)
    lines: list[tuple[str, str, str, str, int, int]]


#: Characters ISO 8859-15 lacks, written as the nearest it has.
_NEAREST = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "“": '"', "”": '"', "„": '"',
                          "″": '"', "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
                          "…": "...", "\u202f": " ", "\u2009": " ", "\u2007": " "})
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f|]")


def _text(value: object) -> str:
    """A field's text: no separator, line break or control character inside, in ISO 8859-15 (a character it
    lacks becomes its letter without the accent, or ``?``)."""
    text = " ".join(_UNSAFE.sub(" ", str(value or "").translate(_NEAREST)).split())
    out = []
    for char in text:
        try:
            char.encode(ENCODING)
            out.append(char)
        except UnicodeEncodeError:
            plain = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            try:
                plain.encode(ENCODING)
                out.append(plain or "?")
            except UnicodeEncodeError:
                out.append("?")
    return "".join(out)


def _amount(cents: int) -> str:
    whole, rest = divmod(cents, 100)
    return f"{whole},{rest:02d}"


def _day(on: date) -> str:
    return f"{on.year:04d}{on.month:02d}{on.day:02d}"


def _valid_day(created_at: datetime) -> date:
    """The day, in Paris, an entry was recorded (stored as naive UTC)."""
    return created_at.replace(tzinfo=UTC).astimezone(PARIS).date()


def export(user_id: int, club_id: int, *, year: object, siren: object, separator: object = "tab") -> FecFile:
    """The FEC of one fiscal year (the calendar year): for those who keep the books, of a club keeping its books in
    euros. A year with nothing to write is refused; a year not yet closed is written (``closed`` says it)."""
    me = access.bookkeeper(user_id, club_id)
    _euro_books(me.club)
    year = _check_year(year)
    siren = check_siren(siren)
    if separator not in SEPARATORS:
        raise InvalidInput(_l("Choose a value from the list."), field="sep")
    sep = SEPARATORS[separator]
    first, last = date(year, 1, 1), closing_day(year)

    accounts = {a.id: a for a in _money_accounts(club_id)}
    chart_rows = {r.pattern: r for r in _rows(club_id)}
    # One name per number in the file: the treasurer's own names first, then the defaults.
    names: dict[str, str] = {}
    for row in sorted(chart_rows.values(), key=lambda r: not r.changed):
        names.setdefault(row.number, row.label)
    members = dict(db.session.execute(select(Membership.id, User.name).join(User, User.id == Membership.user_id)
                                      .where(Membership.club_id == club_id)).all())

    def general(account: Account) -> tuple[str, str, str, str]:
        number = chart_rows[_pattern(account)].number
        aux, aux_name = "", ""
        if account.membership_id is not None:
            aux, aux_name = f"M{account.membership_id:05d}", members.get(account.membership_id, "")
        return number, names[number], aux, aux_name

    entries = []
    opening = _opening(club_id, first, accounts, general, names)
    if opening:
        entries.append(opening)
    txns = list(db.session.scalars(select(JournalTransaction).where(
        JournalTransaction.club_id == club_id, JournalTransaction.unit == Unit.MONEY,
        JournalTransaction.occurred_on >= first, JournalTransaction.occurred_on <= last)
        .order_by(JournalTransaction.seq, JournalTransaction.id).options(lazyload(JournalTransaction.postings))))
    ledger.with_postings(club_id, txns)
    reversed_kinds = _kinds(club_id, {t.reverses_id for t in txns if t.reverses_id})
    bank = next((a.id for a in accounts.values() if a.code == "bank"), None)
    for txn in txns:
        kind = reversed_kinds.get(txn.reverses_id, txn.kind) if txn.kind == TransactionKind.REVERSAL else txn.kind
        lines = []
        for posting in txn.postings:
            number, name, aux, aux_name = general(accounts[posting.account_id])
            lines.append((number, name, aux, aux_name, max(posting.amount, 0), max(-posting.amount, 0)))
        entries.append(_Entry(_journal(kind, any(p.account_id == bank for p in txn.postings)), txn.occurred_on,
                              _valid_day(txn.created_at), str(txn.id),
                              txn.memo or KIND_NAMES.get(txn.kind, txn.kind), lines))
    if not entries:
        raise InvalidInput(_l("The books hold no money entry for %(year)d and no balance carried into it: there is "
                              "nothing to export.", year=year), field="year")
    if opening and len(entries) > 1:  # validated before any entry of the year
        opening.valid = min(opening.valid, *(entry.valid for entry in entries[1:]))

    out = [sep.join(COLUMNS)]
    for number, entry in enumerate(entries, start=1):
        for account_number, name, aux, aux_name, debit, credit in entry.lines:
            out.append(sep.join([
                entry.journal, JOURNALS[entry.journal], str(number), _day(entry.on), account_number, _text(name),
                _text(aux), _text(aux_name), _text(entry.piece), _day(entry.on), _text(entry.text), _amount(debit),
                _amount(credit), "", "", _day(entry.valid), "", ""]))
    closed = closed_through(club_id)
    return FecFile(filename=f"{siren}FEC{_day(last)}.txt", data=("\r\n".join(out) + "\r\n").encode(ENCODING),
                   year=year, closed=closed is not None and closed >= last, entries=len(entries),
                   lines=len(out) - 1)


def _journal(kind: str, touches_bank: bool) -> str:
    if kind == TransactionKind.OPENING:
        return "AN"
    return "BQ" if kind in BANK_KINDS and touches_bank else "OD"


def _kinds(club_id: int, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(JournalTransaction.id, JournalTransaction.kind).where(
        JournalTransaction.club_id == club_id, JournalTransaction.id.in_(sorted(ids)))).all())


def _opening(club_id: int, first: date, accounts: dict[int, Account], general, names: dict[str, str]
             ) -> _Entry | None:
    """The balances carried from the years before (journal AN): each balance-sheet account's, and the result of
    those years (income less expenses, never closed into capital but at dissolution) to the report à nouveau."""
    if first.year <= 2000:
        return None
    balances = balances_on(club_id, date(first.year - 1, 12, 31))
    lines, result = [], 0
    for account_id, balance in sorted(balances.items()):
        account = accounts.get(account_id)
        if account is None or not balance:
            continue
        if account.type in (AccountType.INCOME, AccountType.EXPENSE):
            result += balance
            continue
        number, name, aux, aux_name = general(account)
        lines.append((number, name, aux, aux_name, max(balance, 0), max(-balance, 0)))
    if result:
        number, name = CARRIED_LOSS if result > 0 else CARRIED_PROFIT
        lines.append((number, names.get(number, name), "", "", max(result, 0), max(-result, 0)))
    if not lines:
        return None
    lines.sort(key=lambda line: (line[0], line[2]))
    return _Entry("AN", first, first, f"AN{first.year}", f"A nouveaux au {first.day:02d}/{first.month:02d}/"
                  f"{first.year}", lines)
