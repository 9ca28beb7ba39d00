"""Shape checks shared by services, for values that reach them from any entry point."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from ..amounts import add_months
from .errors import InvalidInput, _l

#: Ids are 32-bit integers in the database: anything outside 1..2³¹−1 names nothing (and would be an
#: error on PostgreSQL rather than "not found").
MAX_ID = 2**31 - 1


#: A form's one-time key as ``forms/base.py`` makes it (``uuid4().hex``), and nothing else: see form_key().
FORM_KEY = re.compile(r"[0-9a-f]{32}")


def form_key(value: object) -> str:
    """A form's one-time key: 32 hex digits, so it can never be shaped like a key a service makes itself
    (``disbursement:10``). Missing or malformed, the form is refused: it is never given a fresh key."""
    if not isinstance(value, str) or not FORM_KEY.fullmatch(value):
        raise InvalidInput(_l("This form has expired; please reload the page and try again."))
    return value


def form_ledger_key(value: object) -> str:
    """The ledger key of what a form posts: in the forms' own namespace, which no service key starts with."""
    return f"form:{form_key(value)}"


#: The window of every date a person gives (issue 15): from before any club existed to 40 years ahead (a loan's
#: last instalment). Beyond it, pages that draw month by month would draw centuries, and day arithmetic fails.
FIRST_DAY = date(2000, 1, 1)
YEARS_AHEAD = 40


def last_day(today: date | None = None) -> date:
    """The last date accepted today."""
    return add_months(today or date.today(), 12 * YEARS_AHEAD)


def in_window(value: date, today: date | None = None) -> bool:
    """A date is in the window of dates accepted from people (see check_day)."""
    return FIRST_DAY <= value <= last_day(today)


def check_day(value: object, field: str, *, today: date | None = None) -> date:
    """A date from any entry point (form, file, service call): a date (not a time), within the window."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput(_l("Enter a date such as 31/01/2026."), field=field)
    if not in_window(value, today):
        raise InvalidInput(window_message(today), field=field)
    return value


def window_message(today: date | None = None):
    """"This date must be between 1 January 2000 and …", in the reader's language."""
    return _l("This date must be between %(first)s and %(last)s.", first=LazyDay(FIRST_DAY), last=LazyDay(last_day(today)))


class LazyDay:
    """A date for a message: written out when shown, in the reader's language."""

    def __init__(self, day: date):
        self.day = day

    def __str__(self) -> str:
        from flask_babel import format_date

        return format_date(self.day, format="d MMMM y")

    def __repr__(self) -> str:
        return f"LazyDay({self.day!r})"


def is_id(value: object) -> bool:
    """A whole number that can be a row's id."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def one_line(value: object, field: str, *, maximum: int, required: bool = True) -> str:
    """A single line of text: white space folded, no control characters, not too long."""
    return _text(value, field, maximum=maximum, required=required, keep="",
                 tidy=lambda text: " ".join(text.split()))


def paragraphs(value: object, field: str, *, maximum: int, required: bool = True) -> str:
    """Text over several lines: line breaks and tabs kept, other control characters refused."""
    return _text(value, field, maximum=maximum, required=required, keep="\n\t",
                 tidy=lambda text: text.replace("\r\n", "\n").replace("\r", "\n").strip())


def _text(value: object, field: str, *, maximum: int, required: bool, keep: str, tidy) -> str:
    """Text tidied by ``tidy``, with no control character but those in ``keep``, present if ``required``, at
    most ``maximum`` characters."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(_l("This field must be text."), field=field)
    value = tidy(value)
    if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in keep for ch in value):
        raise InvalidInput(_l("Remove the control characters from this text."), field=field)
    if required and not value:
        raise InvalidInput(_l("This field is required."), field=field)
    if len(value) > maximum:
        raise InvalidInput(_l("Use at most %(n)d characters.", n=maximum), field=field)
    return value
