"""A bank's CSV export read as the bank wrote it: the file's encoding, its preamble (account, "Solde au …"
lines), its line of column names or none, its operations (labels spanning lines inside quotes, signed
amounts or money-out and money-in columns, thousands separated by spaces, points or no-break spaces, a
decimal comma or point, dates day or year first), and what follows them (a trailer, a card section).

Two ways of saying which column holds what:

* a **preset** (``LAYOUTS``): a bank's layout as data — its encoding, separator, line of column names (or
  none, and how many cells a line has), the columns, how dates and amounts are written, where the file
  states a balance and the account. ``detect`` tries each against the file's first lines;
* the **columns** the treasurer chooses (``Columns``), by name or, for a file without column names, by
  position; the line of column names is found (the line above the first operation), preamble lines and
  blank lines skipped.

Every message names the physical line of the file (1 = the first; a row whose label spans lines is
named by the line it starts on). What the reader leaves out — the preamble, a trailer, a section after
the operations — is listed with its lines (``Reading.left_out``), never dropped silently. The operations
table ends at a title line (one cell of text: a new section) and, for a layout that says so, at the first
blank line; rows at its end whose date cell holds no date and that either hold no amount or start with
a word of a total ("Solde", "Total", "Balance") are a trailer. Any other row in the table that does not
read is an error of its own line: the file is refused whole.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from .. import csvfile
from ..services.errors import InvalidInput, _l
from ..services.validate import in_window, window_message
from .common import MAX_ENTRIES as MAX_LINES
from .model import Balance, Line, Statement

SEPARATORS = (";", ",", "\t")
DATE_STYLES = ("dmy", "mdy", "ymd")
DECIMAL_STYLES = ("comma", "point")
#: how far into the file a line of column names (or a preset's first line) is looked for
SCAN = 60


def fold(text: str) -> str:
    """Lower case without accents, quotes, ``="…"`` wrappers and padding: ``' Débit  euros '`` → ``debit euros``."""
    text = (text or "").strip()
    if text.startswith('="') and text.endswith('"'):
        text = text[2:-1]
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().replace("’", "'").split()).strip(" :")


def unwrap(text: str) -> str:
    """A cell as a spreadsheet shows it: ``="0123"`` → ``0123``, padding dropped."""
    text = (text or "").strip()
    if text.startswith('="') and text.endswith('"'):
        text = text[2:-1]
    return text.strip()


# --- Dates and amounts ------------------------------------------------------------------------------------------

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


def looks_like_day(text: str) -> bool:
    return bool(DATE_SHAPE.fullmatch(text.strip()))


CURRENCY_WORD = re.compile(r"\s*(€|\$|eur|euros?|cad)\s*$", re.I)


def parse_cents(text: str, decimal: str) -> int:
    """``-1 234,56`` (comma) or ``-1,234.56`` (point) → ``-123456``; an empty cell is zero.

    A sign is a leading ``-`` or ``+``, a trailing ``-`` (as some banks write money out) or brackets
    around the whole amount; thousands marks (a space, a no-break or narrow no-break space, an
    apostrophe, or the other mark than the decimal one) must group three digits, so an amount written
    the other way (``12.50`` read with the comma style) is refused rather than read a hundred times too
    large. A currency (``€``, ``$``, ``EUR``, ``CAD``) after the amount is allowed."""
    raw = CURRENCY_WORD.sub("", text.strip())
    raw = raw.replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace("€", "").replace("$", "")
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


def looks_like_amount(text: str) -> bool:
    for style in DECIMAL_STYLES:
        try:
            if parse_cents(text, style):
                return True
        except ValueError:
            pass
    return False


# --- What a layout says -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Columns:
    """The treasurer's own choice: which column (0-based) holds what, how the bank writes dates and amounts,
    and whether the file has a line of column names (without one, columns are chosen by position)."""

    date: int | None
    label: int | None = None
    amount: int | None = None  # one signed column …
    debit: int | None = None  # … or money out and money in in two columns
    credit: int | None = None
    date_style: str = "dmy"
    decimal: str = "comma"
    header: bool = True
    balance: int | None = None  # the account's balance after each line, when the file has it

    NAMES = ("date", "label", "amount", "debit", "credit", "balance")

    def check(self, width: int) -> None:
        if self.date is None:
            raise InvalidInput(_l("Choose the date column."), field="date")
        for name in self.NAMES:
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

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in (*self.NAMES, "date_style", "decimal", "header")}

    @classmethod
    def from_dict(cls, data: dict) -> Columns | None:
        """The columns a club chose before, or None for anything that is not such a record."""
        try:
            columns = cls(**{k: data[k] for k in (*cls.NAMES, "date_style", "decimal", "header") if k in data})
        except (TypeError, KeyError):
            return None
        ints = all(getattr(columns, n) is None or (type(getattr(columns, n)) is int and getattr(columns, n) >= 0)
                   for n in cls.NAMES)
        ok = ints and columns.date is not None and columns.date_style in DATE_STYLES \
            and columns.decimal in DECIMAL_STYLES and isinstance(columns.header, bool)
        return columns if ok else None


@dataclass(frozen=True)
class Layout:
    """A bank's CSV layout, as data. Columns are named by their folded column name (``fold``) or, for a file
    without column names, by position."""

    name: str
    bank: str
    #: the encoding when the file is not UTF-8 (UTF-8, with or without a byte-order mark, is always tried first)
    encoding: str
    separator: str
    #: the line of column names, folded, trailing empty cells left out; None: the file has none
    header: tuple[str, ...] | None
    date: str | int
    label: tuple[str | int, ...]
    amount: str | int | None = None
    debit: str | int | None = None
    credit: str | int | None = None
    value_date: str | int | None = None
    balance: str | int | None = None
    #: cells joined with "-" into the bank's reference of a line ("" when one is empty)
    reference: tuple[str | int, ...] = ()
    #: a column naming the currency of each line
    currency_column: str | int | None = None
    #: cells that name the account and must be the same on every line (one account per file)
    same_account: tuple[str | int, ...] = ()
    date_style: str = "dmy"
    decimal: str = "comma"
    currency: str | None = "EUR"
    #: without a header: how many cells every line has (what detection checks)
    width: int | None = None
    #: the operations end at the first blank line after them (a section of another kind follows)
    stop_at_blank: bool = False
    #: the file's first line: its shape (a regular expression over the line's text), and which of its
    #: cells are the day and amount of a stated balance, the account and the number of operations
    first_line: str | None = None
    first_balance: tuple[int, int] | None = None
    first_account: int | None = None
    first_count: int | None = None
    #: preamble lines "key;value": the keys (folded) of the day and amount of a stated balance, and of the account
    key_balance: tuple[str, str] | None = None
    key_account: str | None = None
    #: a regular expression whose first group is the account, searched in the preamble
    account_pattern: str | None = None

    def index(self, column: str | int | None) -> int | None:
        if column is None or isinstance(column, int):
            return column
        return self.header.index(column)


LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (
    Layout(
        name="credit-agricole", bank="Crédit Agricole", encoding="cp1252", separator=";",
        header=("date", "date valeur", "libelle", "debit euros", "credit euros"),
        date="date", value_date="date valeur", label=("libelle",), debit="debit euros", credit="credit euros",
        stop_at_blank=True, account_pattern=r"n°\s*([0-9A-Z]{5,})"),
    Layout(
        name="la-banque-postale", bank="La Banque Postale", encoding="cp1252", separator=";",
        header=("date", "libelle", "montant(euros)"),
        date="date", label=("libelle",), amount="montant(euros)",
        key_balance=("date", "solde (euros)"), key_account="numero compte"),
    Layout(
        name="credit-mutuel", bank="Crédit Mutuel / CIC", encoding="iso-8859-15", separator=";",
        header=("date", "date de valeur", "debit", "credit", "libelle", "solde"),
        date="date", value_date="date de valeur", debit="debit", credit="credit", label=("libelle",),
        balance="solde"),
    Layout(
        name="societe-generale", bank="Société Générale", encoding="cp1252", separator=";",
        header=("date de l'operation", "libelle", "detail de l'ecriture", "montant de l'operation", "devise"),
        date="date de l'operation", label=("detail de l'ecriture", "libelle"), amount="montant de l'operation",
        currency_column="devise",
        first_line=r'^="?[^;"]*"?;\d{2}/\d{2}/\d{4};\d{2}/\d{2}/\d{4};\d+;\d{2}/\d{2}/\d{4};',
        first_balance=(4, 5), first_account=0, first_count=3),
    Layout(
        name="bnp-paribas", bank="BNP Paribas", encoding="cp1252", separator=";",
        header=("date operation", "libelle court", "type operation", "libelle operation",
                "montant operation en euro"),
        date="date operation", label=("libelle operation", "libelle court"), amount="montant operation en euro",
        first_line=r"^[^;]*;[^;]*;[^;]*;\d{2}/\d{2}/\d{4};", first_balance=(3, 5), first_account=2),
    Layout(
        name="caisse-epargne", bank="Caisse d'Épargne", encoding="cp1252", separator=";",
        header=("date de comptabilisation", "libelle simplifie", "libelle operation", "reference",
                "informations complementaires", "type operation", "categorie", "sous categorie", "debit",
                "credit", "date operation", "date de valeur", "pointage operation"),
        date="date de comptabilisation", label=("libelle operation", "libelle simplifie"), debit="debit",
        credit="credit", value_date="date de valeur", reference=("reference",)),
    Layout(
        name="desjardins", bank="Desjardins", encoding="cp1252", separator=",", header=None, width=14,
        # caisse, folio, type, date, sequence, description, cheque, withdrawal, deposit, interest, capital,
        # advance, repayment, balance
        date=3, label=(5,), debit=7, credit=8, balance=13, reference=(0, 1, 3, 4), same_account=(0, 1),
        date_style="ymd", decimal="point", currency="CAD"),
)}

#: the layout name of the treasurer's own choice of columns
BY_HAND = "columns"


# --- Reading --------------------------------------------------------------------------------------------------------


class Row:
    __slots__ = ("line", "cells", "end")

    def __init__(self, line: int, cells: list[str], end: int):
        self.line, self.cells, self.end = line, cells, end

    @property
    def blank(self) -> bool:
        return not any(cell.strip() for cell in self.cells)

    @property
    def filled(self) -> list[str]:
        return [cell for cell in self.cells if cell.strip()]

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.filled).split())


def decode(data: bytes, encoding: str = "cp1252") -> str:
    return csvfile.decode(data, fallback=encoding)


def rows_of(text: str, separator: str, *, limit: int | None = None, lenient: bool = False) -> list[Row]:
    """Every row of the file, blank ones included, each with the physical lines it spans (``lenient``: the
    rows up to a quote never closed, instead of the refusal)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    rows, line = [], 1
    try:
        for cells in reader:
            if any("\n" in cell and separator in cell for cell in cells):  # a quote opened and never closed
                raise csv.Error("a quote runs over lines")
            rows.append(Row(line, cells, reader.line_num))
            line = reader.line_num + 1
            if limit is not None and len(rows) >= limit:
                break
            if len(rows) > MAX_LINES + SCAN * 2:
                raise InvalidInput(_l("The file has too many lines (%(n)d at most).", n=MAX_LINES), field="file")
    except csv.Error:  # a quote never closed, or a cell past the csv module's size limit
        if lenient:
            return rows
        raise InvalidInput(_l("Line %(n)d: a quoted cell is not closed, or a cell is too long.", n=line),
                           field="file") from None
    return rows


def guess_separator(text: str) -> str:
    """The separator that the most of the first lines hold the same number of times (more of them first, then
    ``;``, ``,``, tab): a decimal comma varies from line to line, a separator does not."""
    best, best_score = SEPARATORS[0], (0, 0)
    lines = [line for line in text.splitlines()[:SCAN] if line.strip()]
    for sep in SEPARATORS:
        counts = Counter(line.count(sep) for line in lines if sep in line)
        if not counts:
            continue
        times, how_many = counts.most_common(1)[0]
        if (how_many, times) > best_score:
            best, best_score = sep, (how_many, times)
    return best


def _trimmed(cells: list[str]) -> tuple[str, ...]:
    folded = [fold(cell) for cell in cells]
    while folded and not folded[-1]:
        folded.pop()
    return tuple(folded)


def _header_at(rows: list[Row], header: tuple[str, ...]) -> int | None:
    for i, row in enumerate(rows[:SCAN]):
        if _trimmed(row.cells) == header:
            return i
    return None


def detect(data: bytes) -> str | None:
    """The preset whose layout the file has (its line of column names, or for a file without one its
    shape), or None."""
    try:
        text = decode(data)
    except InvalidInput:
        return None
    lines = text.splitlines()
    for layout in LAYOUTS.values():
        if layout.header is None:
            continue
        rows = rows_of("\n".join(lines[:SCAN * 3]), layout.separator, limit=SCAN, lenient=True)
        if _header_at(rows, layout.header) is not None:
            return layout.name
    for layout in LAYOUTS.values():
        if layout.header is not None:
            continue
        rows = [row for row in rows_of("\n".join(lines[:20]), layout.separator, limit=20, lenient=True)
                if not row.blank][:10]
        date_at = layout.index(layout.date)
        fits = [row for row in rows if len(row.cells) == layout.width and _reads_day(row.cells[date_at],
                                                                                     layout.date_style)]
        if rows and fits and fits[0] is rows[0] and len(fits) * 5 >= len(rows) * 4:  # a bad line or two is read
            return layout.name                                                          # to be refused by its line
    return None


def _reads_day(text: str, style: str) -> bool:
    try:
        parse_day(text, style)
    except ValueError:
        return False
    return True


@dataclass
class Spec:
    """A layout resolved to positions in the file at hand."""

    date: int
    label: tuple[int, ...] = ()
    amount: int | None = None
    debit: int | None = None
    credit: int | None = None
    value_date: int | None = None
    balance: int | None = None
    reference: tuple[int, ...] = ()
    currency: int | None = None
    same_account: tuple[int, ...] = ()
    date_style: str = "dmy"
    decimal: str = "comma"
    #: a preset's number of columns: a row with more cells that are not empty has its cells shifted
    width: int | None = None

    @property
    def needed(self) -> int:
        used = [self.date, *self.label, self.amount, self.debit, self.credit, self.value_date, self.balance,
                *self.reference, self.currency, *self.same_account]
        return max(i for i in used if i is not None) + 1

    @property
    def money(self) -> tuple[int, ...]:
        return tuple(i for i in (self.amount, self.debit, self.credit) if i is not None)


@dataclass
class Operation:
    """One operation row as read: what it says, or why it cannot be read."""

    line_no: int
    booked_on: date | None
    amount: int | None
    label: str
    value_on: date | None = None
    reference: str = ""
    balance_after: int | None = None
    error: str = ""


@dataclass
class Reading:
    """What a bank file holds, as the preview shows it."""

    layout: str
    bank: str
    #: the column names (None when the file has none: columns go by position)
    header: list[str] | None
    #: the first operation rows' cells, to show beside the column choice
    sample: list[list[str]]
    #: how many columns the table has
    width: int
    operations: list[Operation] = field(default_factory=list)
    balances: list[Balance] = field(default_factory=list)
    #: (first line, last line, why) of what the reader left out
    left_out: list[tuple[int, int, str]] = field(default_factory=list)
    currency: str | None = None
    account: str = ""
    #: messages about the whole file (the count of operations the file states differs …)
    problems: list[str] = field(default_factory=list)
    #: what the reader says of entries it left out on purpose (CAMT's pending entries …), not errors
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return self.problems + [op.error for op in self.operations if op.error]

    def statement(self) -> Statement:
        """The statement, or ``InvalidInput`` naming the first line that cannot be read."""
        if self.errors:
            raise InvalidInput(_l("%(first)s Correct the file or the columns and try again.", first=self.errors[0]),
                               field="file")
        if not self.operations:
            raise InvalidInput(_l("The file holds no operation."), field="file")
        return Statement(lines=[Line(op.line_no, op.booked_on, op.amount, op.label, op.value_on, op.reference,
                                     op.balance_after) for op in self.operations],
                         balances=list(self.balances), currency=self.currency, account=self.account,
                         layout=self.layout)


# Reasons a part of the file is left out (shown in the preview).
BEFORE = "before"
AFTER = "after"
SECTION = "section"


def inspect(data: bytes, *, layout: str | None = None, columns: Columns | None = None) -> Reading:
    """Read a CSV bank file with a preset (``layout``), the treasurer's ``columns``, or the preset detected.
    A file no preset fits and no columns are given for is refused (the treasurer then chooses them)."""
    if layout in (None, "") and columns is None:
        layout = detect(data)
        if layout is None:
            raise InvalidInput(_l("This file's layout is not one the application knows: choose its columns."),
                               field="layout")
    if layout not in (None, "", BY_HAND):
        preset = LAYOUTS.get(layout)
        if preset is None:
            raise InvalidInput(_l("Choose a value from the list."), field="layout")
        return _read_preset(data, preset)
    if columns is None:
        raise InvalidInput(_l("Choose the date column."), field="date")
    return _read_columns(data, columns)


def table(data: bytes, *, header: bool = True) -> Reading:
    """The file's table before any column is chosen: column names (found, or none), sample rows, width."""
    text = decode(data)
    rows = rows_of(text, guess_separator(text))
    header_at, start = _find_table(rows, header)
    body = [row for row in rows[start:] if not row.blank]
    if not body:
        raise InvalidInput(_l("The file needs a line of column names and at least one line."), field="file")
    width = max(len(row.cells) for row in body[:50])
    names = list(rows[header_at].cells) if header_at is not None else None
    if names is not None:
        width = max(width, len(names))
    return Reading(BY_HAND, "", names, [row.cells for row in body[:5]], width)


def _find_table(rows: list[Row], header: bool) -> tuple[int | None, int]:
    """(index of the line of column names or None, index of the first operation row): the first operation is
    the first row of the most common width among rows holding a day and at least one more cell; the line
    of column names is the non-blank row just above it, when it holds no day."""
    candidates = [i for i, row in enumerate(rows[:MAX_LINES + SCAN])
                  if len(row.filled) >= 2 and any(looks_like_day(cell) for cell in row.cells)]
    if not candidates:  # nothing reads as a day: the first line names the columns, as before
        first = next((i for i, row in enumerate(rows) if not row.blank), 0)
        return (first, first + 1) if header else (None, first)
    width = Counter(len(rows[i].cells) for i in candidates).most_common(1)[0][0]
    start = next(i for i in candidates if len(rows[i].cells) == width)
    if not header:
        return None, start
    above = start - 1
    while above >= 0 and rows[above].blank:
        above -= 1
    if above >= 0 and len(rows[above].filled) >= 2 and not any(looks_like_day(c) for c in rows[above].cells):
        return above, start
    return None, start


def _read_columns(data: bytes, columns: Columns) -> Reading:
    text = decode(data)
    rows = rows_of(text, guess_separator(text))
    header_at, start = _find_table(rows, columns.header)
    body = [row for row in rows[start:] if not row.blank]
    if not body:
        raise InvalidInput(_l("The file needs a line of column names and at least one line."), field="file")
    width = max(len(row.cells) for row in body[:50])
    if header_at is not None:
        width = max(width, len(rows[header_at].cells))
    columns.check(width)
    spec = Spec(date=columns.date, label=(columns.label,) if columns.label is not None else (),
                amount=columns.amount, debit=columns.debit if columns.amount is None else None,
                credit=columns.credit if columns.amount is None else None, balance=columns.balance,
                date_style=columns.date_style, decimal=columns.decimal)
    reading = Reading(BY_HAND, "", list(rows[header_at].cells) if header_at is not None else None,
                      [row.cells for row in body[:5]], width)
    preamble_end = header_at if header_at is not None else start
    _read_table(reading, rows, preamble_end, start, spec, stop_at_blank=False)
    return reading


def _read_preset(data: bytes, layout: Layout) -> Reading:
    text = decode(data, layout.encoding)
    rows = rows_of(text, layout.separator)
    if layout.header is not None:
        header_at = _header_at(rows, layout.header)
        if header_at is None:
            raise InvalidInput(_l("This is not a %(bank)s file: its line of column names (%(names)s) is missing.",
                                  bank=layout.bank, names="; ".join(layout.header)), field="file")
        start, width = header_at + 1, len(layout.header)
        preamble_end = header_at
    else:
        start = next((i for i, row in enumerate(rows) if not row.blank), len(rows))
        preamble_end, width = start, layout.width or 0
    spec = Spec(date=layout.index(layout.date), label=tuple(layout.index(c) for c in layout.label),
                amount=layout.index(layout.amount), debit=layout.index(layout.debit),
                credit=layout.index(layout.credit), value_date=layout.index(layout.value_date),
                balance=layout.index(layout.balance), reference=tuple(layout.index(c) for c in layout.reference),
                currency=layout.index(layout.currency_column),
                same_account=tuple(layout.index(c) for c in layout.same_account),
                date_style=layout.date_style, decimal=layout.decimal, width=width)
    body = [row for row in rows[start:] if not row.blank]
    reading = Reading(layout.name, layout.bank, list(rows[preamble_end].cells) if layout.header else None,
                      [row.cells for row in body[:5]], width, currency=layout.currency)
    _read_table(reading, rows, preamble_end, start, spec, stop_at_blank=layout.stop_at_blank)
    _preamble_facts(reading, layout, rows[:preamble_end])
    if layout.same_account and reading.operations:
        first = body[0]
        reading.account = "-".join(unwrap(first.cells[i]) for i in spec.same_account if i < len(first.cells))
    return reading


SOLDE_AU = re.compile(r"solde\s+(?:au|du|le)\s+(\d{1,2}/\d{1,2}/\d{2,4})\s*:?\s*([-+]?[\d\s\u00a0\u202f.,]*\d)"
                      r"\s*(?:€|eur|euros)?\s*(-|cr|db|debiteur|crediteur)?", re.I)


def _solde_au(reading: Reading, rows: list[Row], decimal: str) -> None:
    """"Solde au 31/03/2025 1 234,56 €" anywhere outside the operations: a stated balance ("-", "débiteur"
    after the amount: money owed to the bank)."""
    for row in rows:
        match = SOLDE_AU.search(fold(" ".join(row.filled)))
        if not match:
            continue
        try:
            on = parse_day(match.group(1), "dmy")
            amount = parse_cents(match.group(2), decimal)
        except ValueError:
            continue
        if (match.group(3) or "").lower() in ("-", "db", "debiteur"):
            amount = -abs(amount)
        if in_window(on):
            reading.balances.append(Balance(on, amount, "stated"))


def _preamble_facts(reading: Reading, layout: Layout, preamble: list[Row]) -> None:
    """The stated balance, the account and the count of operations a preset's preamble gives."""
    filled = [row for row in preamble if not row.blank]
    if layout.first_line and filled:
        first = filled[0]
        if not re.match(layout.first_line, ";".join(first.cells)):
            reading.problems.append(str(_l("Line %(n)d is not the first line of a %(bank)s file.", n=first.line,
                                           bank=layout.bank)))
            return
        cells = first.cells
        if layout.first_account is not None and layout.first_account < len(cells):
            reading.account = unwrap(cells[layout.first_account])
        if layout.first_balance is not None:
            day_at, amount_at = layout.first_balance
            try:
                on = parse_day(cells[day_at], "dmy")
                amount = parse_cents(cells[amount_at], layout.decimal)
            except (ValueError, IndexError):
                reading.problems.append(str(_l("Line %(n)d: the balance it states cannot be read.", n=first.line)))
            else:
                if in_window(on):
                    reading.balances.append(Balance(on, amount, "stated"))
        if layout.first_count is not None:
            count = cells[layout.first_count].strip()
            if count.isdigit() and int(count) != len(reading.operations):
                reading.problems.append(str(_l(
                    "Line %(n)d says the file holds %(count)d operations, but %(read)d were read: is the file "
                    "whole?", n=first.line, count=int(count), read=len(reading.operations))))
    if layout.key_balance or layout.key_account:
        values = {fold(row.cells[0]): (row, unwrap(row.cells[1])) for row in filled if len(row.cells) >= 2}
        if layout.key_account and layout.key_account in values:
            reading.account = values[layout.key_account][1]
        if layout.key_balance and all(k in values for k in layout.key_balance):
            (_, day_text), (row, amount_text) = (values[k] for k in layout.key_balance)
            try:
                on = parse_day(day_text, "dmy")
                amount = parse_cents(amount_text, layout.decimal)
            except ValueError:
                reading.problems.append(str(_l("Line %(n)d: the balance it states cannot be read.", n=row.line)))
            else:
                if in_window(on):
                    reading.balances.append(Balance(on, amount, "stated"))
    if layout.account_pattern and not reading.account:
        for row in filled:
            match = re.search(layout.account_pattern, " ".join(row.filled), re.I)
            if match:
                reading.account = match.group(1)
                break


TOTAL_WORDS = ("solde", "total", "balance", "sous-total", "nombre", "ancien solde", "nouveau solde")


def _is_title(row: Row) -> bool:
    return len(row.filled) == 1 and not looks_like_day(row.filled[0]) and not looks_like_amount(row.filled[0])


def _read_table(reading: Reading, rows: list[Row], preamble_end: int, start: int, spec: Spec, *,
                stop_at_blank: bool) -> None:
    """The operations from row ``start`` on; what is before, and what ends the table, is left out."""
    if preamble_end > 0:
        before = [row for row in rows[:preamble_end] if not row.blank]
        if before:
            reading.left_out.append((before[0].line, before[-1].end, BEFORE))
    _solde_au(reading, rows[:preamble_end], spec.decimal)
    body: list[Row] = []
    end = len(rows)
    for i in range(start, len(rows)):
        row = rows[i]
        if row.blank:
            if stop_at_blank and body:
                end = i
                break
            continue
        if _is_title(row):
            end = i
            break
        body.append(row)
    # A trailer: rows at the end of the table whose date cell holds no day and which hold no amount or
    # start with a word of a total.
    trailer: list[Row] = []
    while body and not looks_like_day(_cell(body[-1].cells, spec.date)) and (
            not any(looks_like_amount(_cell(body[-1].cells, i)) for i in spec.money)
            or fold(body[-1].filled[0]).startswith(TOTAL_WORDS)):
        trailer.insert(0, body.pop())
    after = trailer + [row for row in rows[end:] if not row.blank]
    if after:
        reading.left_out.append((after[0].line, after[-1].end, SECTION if end < len(rows) else AFTER))
        _solde_au(reading, after, spec.decimal)
    if len(body) > MAX_LINES:
        raise InvalidInput(_l("The file has too many lines (%(n)d at most).", n=MAX_LINES), field="file")
    needed = spec.needed
    account = None
    for row in body:
        op = _operation(row, spec, reading)
        if spec.same_account and len(row.cells) >= needed:
            here = tuple(unwrap(row.cells[i]) for i in spec.same_account)
            if account is None:
                account = here
            elif here != account and not op.error:
                op.error = str(_l("Line %(n)d is of another account (%(other)s): export one account per file.",
                                  n=row.line, other=" ".join(here)[:40]))
        reading.operations.append(op)
    _running_balances(reading)


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index] if index is not None and index < len(cells) else ""


def _operation(row: Row, spec: Spec, reading: Reading) -> Operation:
    cells, number = row.cells, row.line
    label = ""
    for index in spec.label:
        label = " ".join(_cell(cells, index).split())
        if label:
            break
    # Cells missing at the end of a row are empty cells, as spreadsheets write them: a row lacking its date
    # or amount is refused for what it lacks.
    op = Operation(number, None, None, unwrap(label)[:300])
    if spec.width is not None and any(cell.strip() for cell in cells[spec.width:]):
        op.error = str(_l("Line %(n)d has %(found)d columns where the file has %(expected)d: a separator in a "
                          "cell, or a cell missing?", n=number, found=len(cells), expected=spec.width))
        return op
    date_text = _cell(cells, spec.date)
    try:
        op.booked_on = parse_day(date_text, spec.date_style)
    except ValueError:
        op.error = str(_l("Line %(n)d: the date “%(text)s” cannot be read.", n=number, text=date_text[:40]))
    else:
        if not in_window(op.booked_on):
            op.error = str(_l("Line %(n)d: %(date)s: %(reason)s", n=number, date=date_text[:40],
                              reason=window_message()))
    value_text = _cell(cells, spec.value_date).strip()
    if value_text and not op.error:
        try:
            op.value_on = parse_day(value_text, spec.date_style)
        except ValueError:
            op.error = str(_l("Line %(n)d: the value date “%(text)s” cannot be read.", n=number,
                              text=value_text[:40]))
        else:
            if not in_window(op.value_on):
                op.error = str(_l("Line %(n)d: %(date)s: %(reason)s", n=number, date=value_text[:40],
                                  reason=window_message()))
    try:
        if spec.amount is not None:
            op.amount = parse_cents(_cell(cells, spec.amount), spec.decimal)
        else:
            money_in = parse_cents(_cell(cells, spec.credit), spec.decimal)
            money_out = parse_cents(_cell(cells, spec.debit), spec.decimal)
            if money_in and money_out:
                raise ValueError("both")
            op.amount = abs(money_in) - abs(money_out)
        if op.amount == 0 and not op.error:
            op.error = str(_l("Line %(n)d has no amount.", n=number))
    except ValueError:
        op.error = op.error or str(_l("Line %(n)d: the amount cannot be read.", n=number))
    balance_text = _cell(cells, spec.balance).strip()
    if balance_text:
        try:
            op.balance_after = parse_cents(balance_text, spec.decimal)
        except ValueError:
            op.error = op.error or str(_l("Line %(n)d: the balance cannot be read.", n=number))
    if spec.reference:
        parts = [unwrap(_cell(cells, i)) for i in spec.reference]
        op.reference = "-".join(parts)[:100] if all(parts) else ""
    if spec.currency is not None:
        currency = unwrap(_cell(cells, spec.currency)).upper()
        if currency:
            if reading.currency and currency != reading.currency and not op.error:
                op.error = str(_l("Line %(n)d is in %(currency)s, the lines above in %(first)s.", n=number,
                                  currency=currency[:3], first=reading.currency))
            reading.currency = reading.currency or currency[:3]
    return op


def _running_balances(reading: Reading) -> None:
    """End-of-day balances from a running balance column: the balance after the day's last operation (in
    the order of time: a file newest first is read backwards)."""
    ops = [op for op in reading.operations if not op.error and op.balance_after is not None]
    if not ops:
        return
    readable = [op for op in reading.operations if op.booked_on is not None]
    newest_first = len(readable) > 1 and readable[0].booked_on > readable[-1].booked_on
    in_time = list(reversed(ops)) if newest_first else ops
    last: dict[date, int] = {}
    for op in in_time:
        last[op.booked_on] = op.balance_after
    reading.balances.extend(Balance(on, amount, "running") for on, amount in sorted(last.items()))


def fingerprint_of(op: Line | Operation, rank: int) -> str:
    """The key that tells a line uploaded twice: the bank's reference with the day and the amount when the file
    gives one (some banks number a statement's entries 1, 2, 3…: the reference alone would make the next
    statement's lines look uploaded already), else the day, amount, label and rank among identical lines."""
    if op.reference:
        return hashlib.sha256(f"ref|{op.reference}|{op.booked_on.isoformat()}|{op.amount}".encode()).hexdigest()
    key = (op.booked_on.isoformat(), op.amount, op.label.casefold())
    return hashlib.sha256("|".join([*map(str, key), str(rank)]).encode()).hexdigest()
