"""What the OFX and CAMT.053 readers share: the size limits, amounts to the cent, the currency, dates
within the window, labels on one line, and the bank's references.

Every refusal is ``InvalidInput`` on the field ``file``; one about an entry names its rank in the file
("Entry 3: …"), the first being 1, counting every entry the file holds (a pending one too)."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import date

from babel.numbers import get_currency_precision

from .. import csvfile
from ..services.errors import InvalidInput, _l
from ..services.validate import in_window, window_message
from .model import Line

#: At most this many entries (or CSV lines) in one bank file, whatever its format.
MAX_ENTRIES = 5000
#: A label longer than a bank line keeps (``BankLine.label``) is cut, with an ellipsis.
MAX_LABEL = 300

_AMOUNT = re.compile(r"([+-]?)(\d*)(?:([.,])(\d*))?", re.ASCII)
_CURRENCY = re.compile(r"[A-Z]{3}")


def refuse(message) -> InvalidInput:
    return InvalidInput(message, field="file")


def check_size(data: bytes) -> None:
    """Empty or over the size limit, the file is refused before anything is read."""
    if not isinstance(data, bytes | bytearray):
        raise refuse(_l("The file is empty."))
    csvfile.check_size(data)


def check_count(count: int) -> None:
    if count > MAX_ENTRIES:
        raise refuse(_l("The file has too many entries (%(n)d at most).", n=MAX_ENTRIES))


class Unreadable(ValueError):
    """An amount that is not a number."""


class SubCent(ValueError):
    """An amount with a fraction of a cent."""


def cents(text: str | None, *, signed: bool, comma: bool) -> int:
    """Cents, exactly, of a decimal written with a point (or a comma when ``comma``), a sign only when
    ``signed``. Trailing zeros past the cents are fine ("12.500"); a fraction of a cent is not."""
    match = _AMOUNT.fullmatch((text or "").strip())
    if not match:
        raise Unreadable(text)
    sign, units, separator, fraction = match.groups()
    fraction = fraction or ""
    if not (units or fraction) or (sign and not signed) or (separator == "," and not comma):
        raise Unreadable(text)
    if fraction[2:].strip("0"):
        raise SubCent(text)
    value = int(units or "0") * 100 + int((fraction + "00")[:2])
    return -value if sign == "-" else value


def entry_amount(n: int, text: str | None, *, signed: bool, comma: bool) -> int:
    """The amount of entry ``n`` in cents, or the refusal naming the entry."""
    if text is None or not text.strip():
        raise refuse(_l("Entry %(n)d has no amount.", n=n))
    try:
        return cents(text, signed=signed, comma=comma)
    except SubCent:
        raise refuse(_l("Entry %(n)d: the amount has a fraction of a cent.", n=n)) from None
    except Unreadable:
        raise refuse(_l("Entry %(n)d: the amount cannot be read.", n=n)) from None


def currency(code: str | None) -> str | None:
    """An ISO 4217 code the books can hold: cents, so two decimals (the yen, with none, or the dinars, with
    three, are refused)."""
    if code is None or not code.strip():
        return None
    code = code.strip().upper()
    if not _CURRENCY.fullmatch(code):
        raise refuse(_l("The currency “%(code)s” is not a currency code.", code=code[:10]))
    if get_currency_precision(code) != 2:
        raise refuse(_l("Amounts in %(code)s do not have two decimals: this file cannot be read.", code=code))
    return code


def day(y: str, m: str, d: str) -> date | None:
    try:
        return date(int(y), int(m), int(d))
    except ValueError:
        return None


def entry_day(n: int, value: date | None, present: bool) -> date:
    """The date of entry ``n``: refused when missing, unreadable or outside the window of accepted dates."""
    if value is None:
        if present:
            raise refuse(_l("Entry %(n)d: the date cannot be read.", n=n))
        raise refuse(_l("Entry %(n)d has no date.", n=n))
    if not in_window(value):
        raise refuse(_l("Entry %(n)d: %(reason)s", n=n, reason=window_message()))
    return value


def one_line(text: str | None) -> str:
    """White space folded, control characters dropped."""
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text or "")
    return " ".join(text.split())


def label(parts) -> str:
    """The texts the file gives about an entry, in order, on one line: one another says (the same words,
    or words within it, whatever the case) is left out."""
    kept: list[str] = []
    for part in parts:
        part = one_line(part)
        if not part or any(_says(k, part) for k in kept):
            continue
        kept = [k for k in kept if not _says(part, k)]
        kept.append(part)
    text = " · ".join(kept)
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1].rstrip() + "…"


def _says(text: str, part: str) -> bool:
    """``text`` holds ``part`` as whole words, whatever the case."""
    return f" {part.casefold()} " in f" {text.casefold()} "


def unique_references(lines: list[Line]) -> list[Line]:
    """A reference the file gives two entries does not tell them apart: those entries keep none (they are
    then told apart as lines of a CSV file are, by date, amount, label and rank)."""
    seen: dict[str, int] = {}
    for line in lines:
        if line.reference:
            seen[line.reference] = seen.get(line.reference, 0) + 1
    return [line if seen.get(line.reference, 0) < 2 else replace(line, reference="") for line in lines]


def one_account(keys) -> tuple[str, str | None]:
    """The (account, currency) every statement of the file is of; a file mixing several accounts is refused."""
    accounts = list(dict.fromkeys(keys))
    if len(accounts) > 1:
        raise refuse(_l("The file holds statements of %(n)d accounts (%(accounts)s): export one account at a time.",
                        n=len(accounts), accounts=", ".join(f"{a or '?'} {c or ''}".strip() for a, c in accounts)))
    return accounts[0]
