"""CSV files for spreadsheets: UTF-8 with a byte-order mark (Excel reads the accents), a separator and a
decimal style chosen by the reader or taken from their language, and no formula smuggled in a cell."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from flask import Response, request

from .handling import locale_name


def _french() -> bool:
    return locale_name().startswith("fr")


def separator() -> str:
    """``;`` or ``,``: the reader's choice (``?sep=``), else ``;`` in French (the comma is the decimal mark)."""
    chosen = request.args.get("sep", "")
    if chosen in ("comma", "semicolon"):
        return "," if chosen == "comma" else ";"
    return ";" if _french() else ","


def decimal_mark() -> str:
    chosen = request.args.get("decimal", "")
    if chosen in ("point", "comma"):
        return "." if chosen == "point" else ","
    return "," if _french() else "."


def cents_text(cents: int, mark: str | None = None) -> str:
    """``-123456`` → ``-1234.56`` (or ``-1234,56``): no thousands separator, two decimals."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole}{mark or decimal_mark()}{rest:02d}"


def safe(text: object) -> str:
    """No spreadsheet formula from a member's text (CSV injection)."""
    text = "" if text is None else str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


#: The no-break spaces that keep figures whole on a page: a spreadsheet's cell wants plain ones.
_PLAIN = str.maketrans({"\xa0": " ", "\u202f": " "})


def csv_response(filename: str, header: Sequence[object], rows: Iterable[Sequence[object]]) -> Response:
    """A CSV download: ``header`` the column names, each through Babel (``_()`` or ``_l()``) so that they read in
    the reader's language, then the rows."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator())
    writer.writerow([str(name) for name in header])  # lazy names, in the reader's language
    writer.writerows([cell.translate(_PLAIN) if isinstance(cell, str) else cell for cell in row] for row in rows)
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
