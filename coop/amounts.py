"""Reading and writing amounts. Money is held in cents and time in minutes,
always as integers; text is parsed with Decimal, never float."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from babel import Locale
from babel.numbers import format_currency, format_decimal, format_percent

_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_SYMBOLS = re.compile(r"(€|\$|EUR|CAD|CA\$)", re.IGNORECASE)
_AMOUNT = re.compile(
    r"(?P<whole>\d{1,3}(?P<sep>[ .,'])\d{3}(?:(?P=sep)\d{3})*|\d+)"
    r"(?:(?P<dec>[.,])(?P<fraction>\d{1,2}))?"
)
MAX_DIGITS = 13  # ten thousand billion cents: far above any club


class AmountError(ValueError):
    """Text that is not an amount; its text says why: empty, negative,
    malformed, ambiguous or too large."""


def parse_money(text: str, *, allow_negative: bool = False) -> int:
    """``"1 234,56"``, ``"1,234.56"``, ``"1234.5"``, ``"7,50 €"`` → cents.

    A mark followed by one or two digits at the end is the decimal mark;
    groups of three digits, all with the same mark, are thousands. Anything
    else is refused rather than guessed, including a lone ``12,345`` (twelve
    thousand, or twelve and a bit?)."""
    if text is None:
        raise AmountError("empty")
    raw = _SPACES.sub(" ", _SYMBOLS.sub("", str(text))).strip()
    if not raw:
        raise AmountError("empty")
    negative = raw.startswith("-")
    if negative or raw.startswith("+"):
        raw = raw[1:].lstrip()
    if negative and not allow_negative:
        raise AmountError("negative")
    match = _AMOUNT.fullmatch(raw)
    if not match:
        raise AmountError("malformed")
    whole, sep, dec, fraction = match.group("whole", "sep", "dec", "fraction")
    if sep and dec and sep == dec:
        raise AmountError("malformed")  # "1.234.56": the same mark for both
    if sep in (".", ",") and not dec and whole.count(sep) == 1:
        raise AmountError("ambiguous")
    digits = re.sub(r"\D", "", whole)
    if len(digits.lstrip("0")) > MAX_DIGITS:
        raise AmountError("too large")
    cents = int(digits) * 100 + int((fraction or "").ljust(2, "0"))
    return -cents if negative else cents


def to_decimal(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


#: Amounts in a currency read the way its country writes them: a Québec club's dollars are "1 234,56 $"
#: in French and "$1,234.56" in English, not "$CA" / "CA$".
CURRENCY_REGION = {"CAD": "CA"}


def money(cents: int, currency: str, locale: str) -> str:
    """``123456`` → ``1 234,56 €`` (fr) or ``€1,234.56`` (en); in CAD ``1 234,56 $`` or ``$1,234.56``."""
    region = CURRENCY_REGION.get(currency)
    if region and "_" not in locale:
        locale = f"{locale}_{region}"
    return format_currency(to_decimal(cents), currency, locale=locale)


def decimal_text(cents: int, locale: str) -> str:
    """For a form field: ``750`` → ``7,50`` (fr), ``7.50`` (en)."""
    return format_decimal(to_decimal(cents), format="#,##0.00", locale=locale).replace("\u202f", " ").replace("\u00a0", " ")


def duration(minutes: int) -> str:
    """``150`` → ``2 h 30``; ``-90`` → ``−1 h 30``, with no-break spaces: a duration never breaks across lines."""
    sign = "−" if minutes < 0 else ""
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours}\u00a0h\u00a0{rest:02d}" if rest else f"{sign}{hours}\u00a0h"


class LazyMoney:
    """An amount for a message: formatted when shown, in the reader's locale."""

    def __init__(self, cents: int, currency: str):
        self.cents = cents
        self.currency = currency

    def __str__(self) -> str:
        from flask_babel import get_locale

        return money(self.cents, self.currency, str(get_locale() or "fr"))

    def __repr__(self) -> str:
        return f"LazyMoney({self.cents}, {self.currency!r})"


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it is shorter (31 January + 1 → 28 February)."""
    import calendar

    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def months_between(first: date, last: date) -> list[date]:
    """First days of the months from ``first``'s to ``last``'s, both included."""
    months, current = [], month_start(first)
    while current <= last:
        months.append(current)
        current = next_month(current)
    return months


def percent(value, locale: str) -> str:
    """A percentage as the reader's language writes it, up to two decimals: ``25.71`` → ``25.71%`` (en),
    ``25,71 %`` (fr, a no-break space). ``value`` is in percent (50 is half)."""
    pattern = Locale.parse(locale).percent_formats[None].pattern.replace("#,##0", "#,##0.##", 1)
    return format_percent(Decimal(str(value)) / 100, pattern, locale=locale)


class LazyStake:
    """A stake in hundredths of a percent (250 is 2.5 %) for a message: written when shown, in the reader's
    locale."""

    def __init__(self, hundredths: int):
        self.hundredths = hundredths

    def __str__(self) -> str:
        from flask_babel import get_locale

        return percent(Decimal(self.hundredths) / 100, str(get_locale() or "fr"))

    def __repr__(self) -> str:
        return f"LazyStake({self.hundredths})"
