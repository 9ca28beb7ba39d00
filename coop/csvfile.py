"""Reading a CSV file the treasurer uploads (contributions from a spreadsheet, a bank's statement): the
bytes checked and decoded, the separator guessed from the first line, and the rows that are not blank, each
with the line of the file it starts on, so that a message about a row names the line the treasurer sees."""
from __future__ import annotations

import csv
import io
from typing import NamedTuple

from .services.errors import InvalidInput, _l

MAX_BYTES = 2 * 1024 * 1024


class Row(NamedTuple):
    line: int  #: the line of the file the row starts on, the first being 1 (a quoted cell may span lines)
    cells: list[str]


def check_size(data: bytes) -> None:
    """Empty or over the size limit, a file is refused before anything is read (every upload: CSV, OFX, CAMT)."""
    if not data or not data.strip():
        raise InvalidInput(_l("The file is empty."), field="file")
    if len(data) > MAX_BYTES:
        raise InvalidInput(_l("The file is too large (2 MB at most)."), field="file")


def decode(data: bytes, *, fallback: str | None = None) -> str:
    """The text of a file: UTF-8 with or without a byte-order mark, else the ``fallback`` encoding (refused
    without one); never a binary file."""
    check_size(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if fallback is None:
            raise InvalidInput(_l("Save the file as UTF-8 text (CSV UTF-8) and try again."), field="file") from None
        text = data.decode(fallback, errors="replace")
    if "\x00" in text:
        raise InvalidInput(_l("This is not a CSV text file."), field="file")
    return text


def read(data: bytes, *, separators: tuple[str, ...], max_lines: int, fallback: str | None = None) -> list[Row]:
    """The rows of a file whose first row names the columns, with at most ``max_lines`` rows after it.

    The separator is the one of ``separators`` the first line holds most of (the first listed on a tie).
    The file is UTF-8, with or without a byte-order mark; one that is not is read in the ``fallback``
    encoding, or refused without one."""
    text = decode(data, fallback=fallback)
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=max(separators, key=first.count))
    rows, line = [], 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):  # blank lines are nobody's mistake
                rows.append(Row(line, cells))
            line = reader.line_num + 1
    except csv.Error:  # a cell past the csv module's size limit
        raise InvalidInput(_l("This is not a CSV text file."), field="file") from None
    if len(rows) > max_lines + 1:
        raise InvalidInput(_l("The file has too many lines (%(n)d at most).", n=max_lines), field="file")
    return rows
