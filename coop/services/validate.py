"""Shape checks shared by services, for values that reach them from any entry point."""
from __future__ import annotations

import unicodedata

from .errors import InvalidInput, _l

#: Ids are 32-bit integers in the database: anything outside 1..2³¹−1 names nothing (and would be an
#: error on PostgreSQL rather than "not found").
MAX_ID = 2**31 - 1


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
