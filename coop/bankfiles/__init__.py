"""Bank files as banks write them: CSV exports (with presets per bank), OFX, ISO 20022 CAMT.053.

``read`` is the one way in: it gives a ``Statement`` (``model.py``) whatever the format, or refuses the file
with ``InvalidInput``. ``inspect`` gives what the upload's preview shows (every row with its own error,
what was left out, the column names and sample rows); for a format read whole by its reader (OFX, CAMT),
it wraps that reader's statement.

The formats that are not CSV layouts are in ``FORMATS``: a reader module with ``looks_like(data) -> bool``
and ``read_notes(data) -> (Statement, notes)``; a file it recognises is read by it before any CSV layout is
tried (and when the ``layout`` asked is its name). Their notes (entries left out, such as CAMT's pending
ones) are shown in the preview.
"""
from __future__ import annotations

from collections.abc import Callable

from . import camt, ofx
from .csvbanks import BY_HAND, LAYOUTS, Columns, Operation, Reading, detect
from .csvbanks import inspect as csvbanks_inspect
from .model import Balance, Line, Statement

__all__ = ["BY_HAND", "FORMATS", "FORMAT_NAMES", "LAYOUTS", "Balance", "Columns", "Line", "Reading", "Statement", "detect_layout",
           "inspect", "is_format", "read"]

#: (name, looks_like, read_notes) of the formats that are not CSV layouts, tried first
FORMATS: list[tuple[str, Callable[[bytes], bool], Callable[[bytes], tuple[Statement, list]]]] = [
    ("ofx", ofx.looks_like, ofx.read_notes),
    ("camt.053", camt.looks_like, camt.read_notes),
]
#: What the upload page calls them
FORMAT_NAMES = {"ofx": "OFX", "camt.053": "ISO 20022 CAMT.053"}


def is_format(layout: str | None) -> bool:
    """Whether ``layout`` names a format read whole by its reader (no columns to choose)."""
    return any(layout == name for name, _looks_like, _reader in FORMATS)


def detect_layout(data: bytes) -> str | None:
    """The format or CSV preset the file has, or None (the treasurer then chooses its columns)."""
    for name, looks_like, _reader in FORMATS:
        if looks_like(data):
            return name
    return detect(data)


def inspect(data: bytes, *, layout: str | None = None, columns: Columns | None = None) -> Reading:
    """The file read line by line for the preview: with ``layout`` (a format or preset name, or ``"columns"``
    with ``columns``), or, with neither, the format or preset detected."""
    for name, looks_like, reader in FORMATS:
        if layout == name or (layout in (None, "") and columns is None and looks_like(data)):
            return _reading_of(*reader(data))
    return csvbanks_inspect(data, layout=layout, columns=columns)


def read(data: bytes, *, layout: str | None = None, columns: Columns | None = None) -> Statement:
    """The statement the file holds, or ``InvalidInput`` naming the first line that cannot be read."""
    return inspect(data, layout=layout, columns=columns).statement()


def _reading_of(statement: Statement, notes: list) -> Reading:
    reading = Reading(statement.layout, FORMAT_NAMES[statement.layout], None, [], 0, currency=statement.currency,
                      account=statement.account, notes=[str(note) for note in notes])
    reading.operations = [Operation(line.line_no, line.booked_on, line.amount, line.label, line.value_on,
                                    line.reference, line.balance_after) for line in statement.lines]
    reading.balances = list(statement.balances)
    return reading

