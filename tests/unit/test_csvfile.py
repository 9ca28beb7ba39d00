"""Reading an uploaded CSV file: bytes in, the rows that are not blank out with the line each starts on, or
the refusal, for the encodings, separators and line ends treasurers' spreadsheets and banks produce."""
from __future__ import annotations

import pytest

from coop import csvfile
from coop.services.errors import InvalidInput

SEPARATORS = (";", ",", "\t")  # a bank's choice; ``;`` wins a tie
LIMIT = 5

# --- Files that are read -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "rows"),
    [
        pytest.param(b"a;b\n1;2\n", [(1, ["a", "b"]), (2, ["1", "2"])], id="semicolons"),
        pytest.param(b"a,b\n1,2\n", [(1, ["a", "b"]), (2, ["1", "2"])], id="commas"),
        pytest.param(b"a\tb\n1\t2\n", [(1, ["a", "b"]), (2, ["1", "2"])], id="tabs"),
        pytest.param(b"a;b\n\"1,5\";2\n", [(1, ["a", "b"]), (2, ["1,5", "2"])], id="the separator of the first line"),
        pytest.param(b"a,b;c\n1,2;3\n", [(1, ["a,b", "c"]), (2, ["1,2", "3"])], id="a tie: the first listed"),
        pytest.param(b"a\n1\n", [(1, ["a"]), (2, ["1"])], id="one column"),
        pytest.param("\ufeffDate;Libellé\n05/03/2025;Café\n".encode(),
                     [(1, ["Date", "Libellé"]), (2, ["05/03/2025", "Café"])], id="UTF-8 with a byte-order mark"),
        pytest.param("Date;Libellé\n05/03/2025;Café\n".encode(),
                     [(1, ["Date", "Libellé"]), (2, ["05/03/2025", "Café"])], id="UTF-8 without one"),
        pytest.param("Date;Libellé\n05/03/2025;Frais clôture été – 3 €\n".encode("cp1252"),
                     [(1, ["Date", "Libellé"]), (2, ["05/03/2025", "Frais clôture été – 3 €"])],
                     id="Windows-1252"),
        pytest.param(b"a;b\x81\n1;2\n", [(1, ["a", "b\ufffd"]), (2, ["1", "2"])], id="a byte Windows-1252 lacks"),
        pytest.param(b"a;b\r\n1;2\r\n3;4", [(1, ["a", "b"]), (2, ["1", "2"]), (3, ["3", "4"])],
                     id="CRLF, no end of line at the end"),
        pytest.param(b"a;b\r1;2\r", [(1, ["a", "b"]), (2, ["1", "2"])], id="CR alone"),
        pytest.param(b"a;b\n\"two\nlines\";2\n3;4\n", [(1, ["a", "b"]), (2, ["two\nlines", "2"]), (4, ["3", "4"])],
                     id="a quoted cell spanning two lines"),
        pytest.param(b"a;b\r\n\"two\r\nlines\";2\r\n3;4\r\n",
                     [(1, ["a", "b"]), (2, ["two\r\nlines", "2"]), (4, ["3", "4"])],
                     id="a quoted cell spanning two lines, CRLF"),
        pytest.param(b"a;b\n\n1;2\n;\n  ; \n3;4\n\n", [(1, ["a", "b"]), (3, ["1", "2"]), (6, ["3", "4"])],
                     id="blank lines left out, the numbers those of the file"),
        pytest.param(b"\na;b\n1;2\n", [(2, ["a", "b"]), (3, ["1", "2"])], id="a blank first line"),
        pytest.param(b";;\n ; \r\n\t\n", [], id="blank rows only"),
        pytest.param(b"a;b\n1;2\n" + b"3;4\n" * (LIMIT - 1), [(1, ["a", "b"])] + [(2, ["1", "2"])]
                     + [(n, ["3", "4"]) for n in range(3, LIMIT + 2)], id="as many lines as allowed"),
        pytest.param(b"a;b\n" + b"1;" + b"x" * 100_000 + b"\n", [(1, ["a", "b"]), (2, ["1", "x" * 100_000])],
                     id="a long cell"),
    ],
)
def test_a_file_is_read_into_its_rows_with_their_lines(data, rows):
    assert csvfile.read(data, separators=SEPARATORS, max_lines=LIMIT, fallback="cp1252") == rows


def test_the_separators_are_the_callers():
    """Without tab among the separators, a tab-separated line is one cell."""
    assert csvfile.read(b"a\tb\n1\t2\n", separators=(",", ";"), max_lines=LIMIT) == [(1, ["a\tb"]), (2, ["1\t2"])]


def test_a_file_of_exactly_2_mb_is_read():
    header, line = b"a;b\n", b"1;" + b"x" * 1021 + b"\n"  # 1 KB a line
    data = header + (line * 2048)[:csvfile.MAX_BYTES - len(header) - 1] + b"\n"
    assert len(data) == csvfile.MAX_BYTES
    assert len(csvfile.read(data, separators=SEPARATORS, max_lines=2048)) == 1 + 2048


# --- Files that are refused ----------------------------------------------------------------------------------------

EMPTY = "The file is empty."
TOO_LARGE = "The file is too large (2 MB at most)."
NOT_CSV = "This is not a CSV text file."
NOT_UTF8 = "Save the file as UTF-8 text (CSV UTF-8) and try again."
TOO_MANY = f"The file has too many lines ({LIMIT} at most)."


@pytest.mark.parametrize(
    ("data", "fallback", "message"),
    [
        pytest.param(b"", None, EMPTY, id="an empty file"),
        pytest.param(b"  \t ", None, EMPTY, id="spaces"),
        pytest.param(b"\r\n\r\n\n", "cp1252", EMPTY, id="blank lines"),
        pytest.param(b"a;b\n" + b"x" * csvfile.MAX_BYTES, None, TOO_LARGE, id="over 2 MB"),
        pytest.param(b"a;b\n1;" + b"x" * 200_000 + b"\n", None, NOT_CSV, id="a huge cell"),
        pytest.param(b"a;b\x00\n1;2\n", "cp1252", NOT_CSV, id="a NUL byte"),
        pytest.param("a;b\n1;2\n".encode("utf-16"), "cp1252", NOT_CSV, id="UTF-16"),
        pytest.param("a;b\né;2\n".encode("cp1252"), None, NOT_UTF8, id="Windows-1252 where UTF-8 is asked"),
        pytest.param(b"a;b\n\xff\xfe;2\n", None, NOT_UTF8, id="undecodable bytes"),
        pytest.param(b"a;b\n" + b"1;2\n" * (LIMIT + 1), None, TOO_MANY, id="one line too many"),
    ],
)
def test_a_file_is_refused_with_one_message(data, fallback, message):
    with pytest.raises(InvalidInput) as err:
        csvfile.read(data, separators=SEPARATORS, max_lines=LIMIT, fallback=fallback)
    assert (str(err.value.message), err.value.field, err.value.rule) == (message, "file", None)


def test_blank_lines_do_not_count_towards_the_limit():
    data = b"a;b\n" + b"1;2\n\n" * LIMIT
    assert len(csvfile.read(data, separators=SEPARATORS, max_lines=LIMIT)) == LIMIT + 1
