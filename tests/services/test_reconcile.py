"""Bank reconciliation (coop/services/reconcile.py): reading the bank's CSV, uploading it, matching its lines to
the books' bank movements (automatically and by hand), recording a fee or a contribution from a line, and marking
the bank reconciled through a day. A bank line is positive when money came in."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from coop import csvfile
from coop.extensions import db
from coop.models import (
    Account,
    AccountType,
    BankLine,
    BankReconciliation,
    BankStatement,
    Contribution,
    JournalTransaction,
    Posting,
    TransactionKind,
    Unit,
)
from coop.services import clubs as ms
from coop.services import fund, ledger, reconcile
from coop.services.errors import Conflict, InvalidInput, NotFound, NotPermitted, RuleViolation
from coop.services.reconcile import Columns, parse_cents, parse_day, read_table
from tests.conftest import by_id, english, key, snapshot

D = date(2025, 3, 10)  # the days of most tests: in the past, one calendar year (R4 cap per year)
COLS = Columns(date=0, amount=1, label=2)  # "Date;Montant;Libellé", day first, decimal comma


def day(n: int) -> date:
    return D + timedelta(days=n)


def bank_file(*lines: tuple[date, str, str], sep: str = ";") -> bytes:
    """A French bank's file: day first, decimal comma; ``lines`` are (day, amount text, label)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep)
    writer.writerow(["Date", "Montant", "Libellé"])
    for on, amount, label in lines:
        writer.writerow([on.strftime("%d/%m/%Y"), amount, label])
    return out.getvalue().encode("utf-8")


def pay(setup, index: int, amount: int, on: date) -> int:
    """The treasurer records ``amount`` received from member ``index`` on ``on``: the transaction id."""
    user = setup.members[index]
    contribution = fund.record_contribution(setup.treasurer.id, setup.club_id,
                                            membership_id=setup.memberships[user.id], amount=amount,
                                            received_on=on, method="transfer", bank_reference=f"ref {index}",
                                            idempotency_key=key())
    return contribution.transaction_id


def upload(setup, data: bytes, columns: Columns = COLS, *, window: int = 3, by=None):
    return reconcile.upload((by or setup.treasurer).id, setup.club_id, data, columns, filename="releve.csv",
                            window_days=window)


def lines_of(club_id: int) -> list[BankLine]:
    db.session.rollback()
    return list(db.session.scalars(select(BankLine).where(BankLine.club_id == club_id)
                                   .order_by(BankLine.booked_on, BankLine.id)))


def line_on(club_id: int, on: date, amount: int) -> BankLine:
    found = [line for line in lines_of(club_id) if line.booked_on == on and line.amount == amount]
    assert len(found) == 1, found
    return found[0]


def bank_balance(club_id: int) -> int:
    db.session.rollback()
    return ledger.find_account(club_id, "bank").balance


# --- parse_day ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "style", "expected"), [
    ("05/11/2026", "dmy", date(2026, 11, 5)),
    ("5.11.2026", "dmy", date(2026, 11, 5)),
    ("05-11-2026", "dmy", date(2026, 11, 5)),
    ("11/05/2026", "mdy", date(2026, 11, 5)),
    ("2026-11-05", "ymd", date(2026, 11, 5)),
    ("2026-11-05", "dmy", date(2026, 11, 5)),  # a four-digit first number is a year whatever the style
    ("2026/11/05", "mdy", date(2026, 11, 5)),
    ("05/11/26", "dmy", date(2026, 11, 5)),  # two-digit years are this century
    ("11/05/26", "mdy", date(2026, 11, 5)),
    ("  05/11/2026 ", "dmy", date(2026, 11, 5)),
])
def test_parse_day_reads_the_bank_s_ways_of_writing_dates(text, style, expected):
    assert parse_day(text, style) == expected


def test_parse_day_reads_two_digit_years_year_first():
    assert parse_day("26-11-05", "ymd") == date(2026, 11, 5)


@pytest.mark.parametrize("text", ["", "hier", "31/02/2026", "05/13/2026", "2026-11", "05/11/2026 10:00",
                                  "05112026", "0/11/2026"])
def test_parse_day_refuses_what_is_not_a_day(text):
    with pytest.raises(ValueError):
        parse_day(text, "dmy")


def test_parse_day_mdy_refuses_a_month_13():
    with pytest.raises(ValueError):
        parse_day("13/05/2026", "mdy")


# --- parse_cents ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "decimal", "expected"), [
    ("1 234,56", "comma", 123456),
    ("1\u00a0234,56", "comma", 123456),  # a no-break space as thousands separator
    ("-1.234,56", "comma", -123456),
    ("-1234,5", "comma", -123450),
    ("12", "comma", 1200),
    ("+12,00", "comma", 1200),
    ("(12,00)", "comma", -1200),  # accountants write money out in brackets
    ("12,00 €", "comma", 1200),
    ("1,234.56", "point", 123456),
    ("-1,234.56", "point", -123456),
    ("(1,234.56)", "point", -123456),
    ("0.07", "point", 7),
    ("$1,000", "point", 100000),
    ("", "comma", 0),  # an empty cell is zero (the other column of a debit/credit pair)
    ("  ", "point", 0),
])
def test_parse_cents_reads_french_and_english_amounts(text, decimal, expected):
    assert parse_cents(text, decimal) == expected


@pytest.mark.parametrize(("text", "decimal"), [
    ("abc", "comma"), ("12,3,4", "comma"), ("1,234.56", "comma"), ("12,345", "comma"), ("1.234,56", "point"),
    ("12.345", "point"), ("1e5", "point"), ("10000000001", "comma"),  # more than 10^12 cents
])
def test_parse_cents_refuses_garbage(text, decimal):
    with pytest.raises(ValueError):
        parse_cents(text, decimal)


@pytest.mark.parametrize("text", ["12,00-", "(12,00"])
def test_parse_cents_never_loses_a_sign(text):
    try:
        value = parse_cents(text, "comma")
    except ValueError:
        return  # refusing is fine
    assert value == -1200


def test_parse_cents_comma_style_refuses_a_decimal_point():
    with pytest.raises(ValueError):
        parse_cents("12.50", "comma")


# --- read_table ----------------------------------------------------------------------------------------------------


def test_read_table_utf8_with_a_byte_order_mark():
    rows = read_table("\ufeffDate;Montant;Libellé\n05/03/2025;12,00;Café\n".encode())
    assert rows == [["Date", "Montant", "Libellé"], ["05/03/2025", "12,00", "Café"]]


def test_read_table_windows_1252_with_accents():
    rows = read_table("Date;Montant;Libellé\r\n05/03/2025;-3,50;Frais clôture été\r\n".encode("cp1252"))
    assert rows[0][2] == "Libellé"
    assert rows[1] == ["05/03/2025", "-3,50", "Frais clôture été"]


@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_read_table_guesses_the_separator(sep):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep)
    writer.writerows([["Date", "Amount", "Label"], ["05/03/2025", "1,50", "Coffee; tea"]])  # quoted where needed
    rows = read_table(out.getvalue().encode())
    assert rows == [["Date", "Amount", "Label"], ["05/03/2025", "1,50", "Coffee; tea"]]


def test_read_table_skips_blank_lines():
    assert read_table(b"a;b\n\n1;2\n;\n") == [["a", "b"], ["1", "2"]]


@pytest.mark.parametrize("data", [b"", b"  \n\n", b"Date;Montant;Libelle\n", b"Date;Montant;Libelle\n;;\n"])
def test_read_table_refuses_an_empty_file_or_a_header_alone(data):
    with pytest.raises(InvalidInput) as err:
        read_table(data)
    assert err.value.field == "file"


def test_read_table_line_limit():
    header = b"Date;Montant;Libelle\n"
    body = b"05/03/2025;1,00;x\n"
    assert len(read_table(header + body * reconcile.MAX_LINES)) == reconcile.MAX_LINES + 1
    with pytest.raises(InvalidInput) as err:
        read_table(header + body * (reconcile.MAX_LINES + 1))
    assert err.value.field == "file"


def test_read_table_refuses_more_than_2_mb():
    header = b"Date;Montant;Libelle\n"
    line = b"05/03/2025;1,00;" + b"x" * 500 + b"\n"  # 517 bytes: 4 100 lines weigh 2 119 700 bytes
    body = line * 4100
    fits = header + body[:csvfile.MAX_BYTES - len(header) - 1] + b"\n"
    assert len(fits) == csvfile.MAX_BYTES and len(read_table(fits)) > 4000 // 2
    with pytest.raises(InvalidInput) as err:
        read_table(fits + b"x")
    assert err.value.field == "file"


def test_read_table_refuses_a_huge_cell_politely():
    data = b"Date;Montant;Libelle\n05/03/2025;1,00;" + b"x" * 200_000 + b"\n"
    with pytest.raises(InvalidInput) as err:
        read_table(data)
    assert err.value.field == "file"


def test_read_table_refuses_nul_bytes():
    with pytest.raises(InvalidInput) as err:
        read_table(b"Date;Montant\x00;Libelle\n05/03/2025;1,00;x\n")
    assert err.value.field == "file"
    with pytest.raises(InvalidInput):
        read_table("Date;Montant;Libelle\n05/03/2025;1,00;x\n".encode("utf-16"))


# --- The round trip: the books' own export is a bank statement that matches itself ---------------------------------


@pytest.mark.parametrize(("query", "decimal", "sep"), [("", "comma", ";"),
                                                       ("&sep=comma&decimal=point", "point", ",")])
def test_the_journal_export_of_the_bank_uploads_and_matches_everything(make_club, make_browser, query, decimal, sep):
    setup = make_club(5)
    today = date.today()
    m0, m1, m2, m3, m4 = setup.members
    pay(setup, 0, 12_345, today - timedelta(days=9))
    pay(setup, 0, 123_456, today - timedelta(days=7))  # 1 234,56: four digits before the decimal mark
    pay(setup, 2, 50_000, today - timedelta(days=5))
    pay(setup, 3, 50_000, today - timedelta(days=5))  # same day, same amount, another member
    pay(setup, 4, 7_500, today - timedelta(days=2))
    mistaken = pay(setup, 2, 20_000, today - timedelta(days=1))
    ledger.reverse(setup.club_id, mistaken, reason="-saisie en double", idempotency_key=key(),
                   author_id=setup.treasurer.id)  # reversal dated today, money out
    ms.leave(m4.id, setup.club_id)
    fund.value_exit(setup.treasurer.id, setup.club_id, setup.memberships[m4.id], form_key=key())  # 75,00: all paid in
    payout = fund.refund(setup.treasurer.id, setup.club_id, setup.memberships[m4.id], amount=7_500,
                         idempotency_key=key())
    fund.approve_payout(setup.manager.id, setup.club_id, payout.id)  # money out today
    # by hand: 12 345 + 123 456 + 50 000 + 50 000 + 7 500 + 20 000 − 20 000 − 7 500 = 235 801
    bank = ledger.find_account(setup.club_id, "bank")
    bank_id = bank.id
    assert bank.balance == 235_801
    db.session.rollback()

    browser = make_browser(setup.treasurer)
    response = browser.get(f"/clubs/{setup.club_id}/books/journal.csv?account={bank_id}{query}")
    assert response.status_code == 200, response.text
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=sep))
    header, body = rows[0], rows[1:]
    # The column names in the reader's language (docs/books.md § CSV exports)
    assert [header[i] for i in (1, 4, 8, 10)] in (["Date", "Description", "Account code", "Amount"],
                                                 ["Date", "Description", "Code du compte", "Montant"])
    bank_rows = [row for row in body if row[8] == "bank"]
    assert len(bank_rows) == 8 and len(body) == 16  # each of the 8 transactions has one other posting
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep)
    writer.writerow(header)
    writer.writerows(bank_rows)
    data = "\ufeff".encode() + out.getvalue().encode()

    columns = Columns(date=1, amount=10, label=4, date_style="ymd", decimal=decimal)
    statement, matched = upload(setup, data, columns, window=0)
    assert matched == 8
    lines = lines_of(setup.club_id)
    assert len(lines) == 8 and all(line.statement_id == statement.id and not line.by_hand for line in lines)
    # every line is matched to a bank movement of its own day and amount, each movement once
    exported = {int(row[0]) for row in bank_rows}
    assert {line.transaction_id for line in lines} == exported
    for line in lines:
        txn = by_id(JournalTransaction, line.transaction_id)
        on_bank = db.session.scalar(select(func.sum(Posting.amount)).where(
            Posting.transaction_id == txn.id, Posting.account_id == bank_id))
        assert (txn.occurred_on, on_bank) == (line.booked_on, line.amount)
    seen = reconcile.overview(setup.treasurer.id, setup.club_id)
    assert seen.unmatched_lines == [] and seen.unmatched_movements == []

    done = reconcile.reconcile(setup.treasurer.id, setup.club_id, through=today, today=today)
    assert done.through == today and done.book_balance == 235_801
    assert all(line.reconciliation_id == done.id for line in lines_of(setup.club_id))


# --- Upload --------------------------------------------------------------------------------------------------------


def test_upload_keeps_the_lines_and_says_what_it_holds(make_club):
    setup = make_club(5)
    statement, matched = upload(setup, bank_file((day(0), "1 234,56", "VIR  SEPA   Dupont"),
                                                 (day(2), "-3,50", "FRAIS")))
    assert matched == 0
    lines = lines_of(setup.club_id)
    assert [(x.booked_on, x.amount, x.label, x.line_no) for x in lines] == [
        (day(0), 123456, "VIR SEPA Dupont", 2), (day(2), -350, "FRAIS", 3)]
    assert (statement.first_on, statement.last_on, statement.filename) == (day(0), day(2), "releve.csv")


def test_upload_with_debit_and_credit_columns(make_club):
    setup = make_club(5)
    data = b"Date\tLabel\tDebit\tCredit\n03/10/2025\tFee\t3.50\t\n03/11/2025\tTransfer\t\t1,200.00\n"
    upload(setup, data, Columns(date=0, label=1, debit=2, credit=3, date_style="mdy", decimal="point"))
    assert [(x.booked_on, x.amount) for x in lines_of(setup.club_id)] == [(day(0), -350), (day(1), 120000)]


def test_a_file_with_one_bad_line_is_refused_whole(make_club):
    setup = make_club(5)
    data = bank_file((day(0), "10,00", "a"), (day(1), "20,00", "b"), (day(2), "vingt", "c"))
    before = snapshot()
    with pytest.raises(InvalidInput) as err:
        upload(setup, data)
    assert err.value.field == "file"
    assert re.search(r"\b(Line|Ligne) 4\b", str(err.value.message))  # the header is line 1
    assert snapshot() == before


def test_a_line_without_an_amount_is_refused(make_club):
    setup = make_club(5)
    before = snapshot()
    with pytest.raises(InvalidInput) as err:
        upload(setup, bank_file((day(0), "10,00", "a"), (day(1), "", "b")))
    assert re.search(r"\b(Line|ligne) 3\b", str(err.value.message))
    assert snapshot() == before


def test_the_same_file_twice_is_refused_the_second_time(make_club):
    setup = make_club(5)
    data = bank_file((day(0), "10,00", "a"), (day(1), "-20,00", "b"))
    upload(setup, data)
    before = snapshot()
    with pytest.raises(Conflict) as err:
        upload(setup, data)
    assert err.value.field == "file"
    assert snapshot() == before
    assert len(lines_of(setup.club_id)) == 2


def test_an_overlapping_file_keeps_only_its_new_lines(make_club):
    setup = make_club(5)
    a, b, c, d, e = ((day(i), f"{i + 1},00", f"op {i}") for i in range(5))
    upload(setup, bank_file(a, b, c))
    preview = reconcile.preview(setup.treasurer.id, setup.club_id, bank_file(b, c, d, e), COLS)
    assert [x.duplicate for x in preview.lines] == [True, True, False, False]
    statement, _ = upload(setup, bank_file(b, c, d, e))
    lines = lines_of(setup.club_id)
    assert len(lines) == 5
    assert [(x.booked_on, x.amount) for x in lines if x.statement_id == statement.id] == [(day(3), 400), (day(4), 500)]
    assert (statement.first_on, statement.last_on) == (day(3), day(4))


def test_two_identical_lines_in_one_file_are_two_lines(make_club):
    setup = make_club(5)
    twice = (day(0), "-1,20", "CB BOULANGERIE")
    upload(setup, bank_file(twice, twice))
    assert [(x.booked_on, x.amount) for x in lines_of(setup.club_id)] == [(day(0), -120), (day(0), -120)]
    before = snapshot()
    with pytest.raises(Conflict):
        upload(setup, bank_file(twice, twice))
    assert snapshot() == before
    statement, _ = upload(setup, bank_file(twice, twice, twice))  # the third is new
    assert [x.statement_id for x in lines_of(setup.club_id)].count(statement.id) == 1


def test_only_the_treasurer_uploads(make_club):
    setup = make_club(5)
    data = bank_file((day(0), "10,00", "a"))
    before = snapshot()
    for user in (setup.manager, setup.members[2]):
        with pytest.raises(NotPermitted):
            upload(setup, data, by=user)
    assert snapshot() == before


# --- Automatic matching ---------------------------------------------------------------------------------------------


def test_auto_match_takes_the_nearest_day(make_club):
    setup = make_club(5)
    pay(setup, 2, 10_000, day(-3))  # gap 3
    near = pay(setup, 3, 10_000, day(1))  # gap 1
    _, matched = upload(setup, bank_file((day(0), "100,00", "VIR")))
    assert matched == 1
    assert lines_of(setup.club_id)[0].transaction_id == near


def test_auto_match_takes_the_earliest_on_a_tie(make_club):
    setup = make_club(5)
    pay(setup, 2, 10_000, day(2))  # recorded first (smaller id) but later in date
    earlier = pay(setup, 3, 10_000, day(-2))
    upload(setup, bank_file((day(0), "100,00", "VIR")))
    assert lines_of(setup.club_id)[0].transaction_id == earlier


def test_auto_match_stays_within_the_window_and_the_amount(make_club):
    setup = make_club(5)
    txn = pay(setup, 2, 10_000, day(-9))
    pay(setup, 3, 10_001, day(0))  # one cent away
    _, matched = upload(setup, bank_file((day(0), "100,00", "VIR")), window=8)
    assert matched == 0
    assert reconcile.auto_match(setup.treasurer.id, setup.club_id, window_days=8) == 0
    assert lines_of(setup.club_id)[0].transaction_id is None
    assert reconcile.auto_match(setup.treasurer.id, setup.club_id, window_days=9) == 1  # the window's edge counts
    assert lines_of(setup.club_id)[0].transaction_id == txn


def test_a_movement_serves_one_line(make_club):
    setup = make_club(5)
    txn = pay(setup, 2, 10_000, day(0))
    _, matched = upload(setup, bank_file((day(0), "100,00", "VIR A"), (day(1), "100,00", "VIR B")))
    assert matched == 1
    first, second = lines_of(setup.club_id)
    assert (first.transaction_id, second.transaction_id) == (txn, None)
    assert reconcile.auto_match(setup.treasurer.id, setup.club_id, window_days=15) == 0


def test_a_window_of_16_days_is_refused(make_club):
    setup = make_club(5)
    pay(setup, 2, 10_000, day(0))
    data = bank_file((day(0), "100,00", "VIR"))
    before = snapshot()
    with pytest.raises(InvalidInput) as err:
        upload(setup, data, window=16)
    assert err.value.field == "window_days"
    with pytest.raises(InvalidInput):
        upload(setup, data, window=-1)
    assert snapshot() == before
    upload(setup, data, window=0)
    reconcile.unmatch(setup.treasurer.id, setup.club_id, lines_of(setup.club_id)[0].id)
    before = snapshot()
    with pytest.raises(InvalidInput) as err:
        reconcile.auto_match(setup.treasurer.id, setup.club_id, window_days=16)
    assert err.value.field == "window_days"
    assert snapshot() == before
    assert reconcile.auto_match(setup.treasurer.id, setup.club_id, window_days=15) == 1


# --- Matching by hand ----------------------------------------------------------------------------------------------


@pytest.fixture
def by_hand(make_club):
    """A: 100,00 on day 0, no line near; B: 200,00 on day 1, matched automatically; C: 300,00 on day 2, no line.
    Lines: 100,00 on day 10 (far from A), 200,00 on day 1 (B's), 200,00 on day 15 (B is taken)."""
    setup = make_club(5)
    a = pay(setup, 2, 10_000, day(0))
    b = pay(setup, 3, 20_000, day(1))
    c = pay(setup, 4, 30_000, day(2))
    upload(setup, bank_file((day(10), "100,00", "L1"), (day(1), "200,00", "L2"), (day(15), "200,00", "L3")))
    lines = {line.label: line.id for line in lines_of(setup.club_id)}
    return setup, (a, b, c), lines


def test_match_by_hand_any_day(by_hand):
    setup, (a, _, _), lines = by_hand
    reconcile.match(setup.treasurer.id, setup.club_id, lines["L1"], a)
    line = by_id(BankLine, lines["L1"])
    assert (line.transaction_id, line.by_hand, line.matched_by_id) == (a, True, setup.treasurer.id)
    assert a not in [m.id for m in reconcile.overview(setup.treasurer.id, setup.club_id).unmatched_movements]


def test_match_by_hand_refuses_another_amount(by_hand):
    setup, (_, _, c), lines = by_hand
    before = snapshot()
    with pytest.raises(RuleViolation) as err:
        reconcile.match(setup.treasurer.id, setup.club_id, lines["L1"], c)
    assert err.value.rule == "reconciliation"
    assert snapshot() == before


def test_match_by_hand_refuses_a_movement_already_matched(by_hand):
    setup, (_, b, _), lines = by_hand
    before = snapshot()
    with pytest.raises(Conflict):
        reconcile.match(setup.treasurer.id, setup.club_id, lines["L3"], b)  # B is L2's
    assert snapshot() == before


def test_match_by_hand_refuses_a_line_already_matched(by_hand):
    setup, (a, _, _), lines = by_hand
    before = snapshot()
    with pytest.raises(Conflict):
        reconcile.match(setup.treasurer.id, setup.club_id, lines["L2"], a)
    assert snapshot() == before


def test_match_by_hand_finds_nothing_of_another_club(by_hand, make_club):
    setup, (a, _, _), lines = by_hand
    other = make_club(5, name="Autre Cigale")
    theirs = pay(other, 2, 10_000, day(10))
    upload(other, bank_file((day(10), "100,00", "THEIRS")), window=0)
    their_line = lines_of(other.club_id)[0]
    reconcile.unmatch(other.treasurer.id, other.club_id, their_line.id)
    db.session.rollback()
    before = snapshot()
    with pytest.raises(NotFound):
        reconcile.match(setup.treasurer.id, setup.club_id, lines["L1"], theirs)
    with pytest.raises(NotFound):
        reconcile.match(setup.treasurer.id, setup.club_id, their_line.id, a)
    with pytest.raises(NotFound):
        reconcile.unmatch(setup.treasurer.id, setup.club_id, their_line.id)
    with pytest.raises(NotFound):  # a treasurer of one club is no one in the other
        reconcile.match(other.treasurer.id, setup.club_id, lines["L1"], a)
    with pytest.raises(NotFound):
        reconcile.match(setup.treasurer.id, setup.club_id, 999_999, a)
    assert snapshot() == before


def test_match_by_hand_refuses_a_transaction_that_does_not_move_the_bank(by_hand):
    setup, _, lines = by_hand
    giver, taker = (setup.memberships[u.id] for u in setup.members[2:4])
    exchange = ledger.post(setup.club_id, unit=Unit.TIME, kind=TransactionKind.EXCHANGE,
                           lines=[(ledger.find_account(setup.club_id, f"time:{giver}").id, 60),
                                  (ledger.find_account(setup.club_id, f"time:{taker}").id, -60)],
                           idempotency_key=key(), occurred_on=day(10), memo="1 h de jardinage").id
    before = snapshot()
    with pytest.raises(NotFound):
        reconcile.match(setup.treasurer.id, setup.club_id, lines["L1"], exchange)
    assert snapshot() == before


def test_unmatch_frees_both_sides(by_hand):
    setup, (_, b, _), lines = by_hand
    reconcile.unmatch(setup.treasurer.id, setup.club_id, lines["L2"])
    line = by_id(BankLine, lines["L2"])
    assert (line.transaction_id, line.by_hand, line.matched_by_id, line.matched_at) == (None, False, None, None)
    seen = reconcile.overview(setup.treasurer.id, setup.club_id)
    assert b in [m.id for m in seen.unmatched_movements]
    assert lines["L2"] in [x.id for x in seen.unmatched_lines]
    before = snapshot()
    with pytest.raises(Conflict):
        reconcile.unmatch(setup.treasurer.id, setup.club_id, lines["L2"])  # not matched any more
    assert snapshot() == before
    reconcile.match(setup.treasurer.id, setup.club_id, lines["L3"], b)  # now L3 may take B


def test_unmatch_a_reconciled_line_is_refused(make_club):
    setup = make_club(5)
    pay(setup, 2, 10_000, day(0))
    upload(setup, bank_file((day(0), "100,00", "VIR")))
    reconcile.reconcile(setup.treasurer.id, setup.club_id, through=day(0), today=day(5))
    line = lines_of(setup.club_id)[0]
    before = snapshot()
    with pytest.raises(Conflict):
        reconcile.unmatch(setup.treasurer.id, setup.club_id, line.id)
    assert snapshot() == before


def test_only_the_treasurer_matches(by_hand):
    setup, (a, b, _), lines = by_hand
    before = snapshot()
    for user in (setup.manager, setup.members[2]):
        with pytest.raises(NotPermitted):
            reconcile.match(user.id, setup.club_id, lines["L1"], a)
        with pytest.raises(NotPermitted):
            reconcile.unmatch(user.id, setup.club_id, lines["L2"])
        with pytest.raises(NotPermitted):
            reconcile.auto_match(user.id, setup.club_id, window_days=15)
    assert snapshot() == before


# --- Recording a fee or a contribution from a line --------------------------------------------------------------------


def test_record_fee_posts_it_on_the_line_s_day_and_matches(make_club):
    setup = make_club(5)
    pay(setup, 2, 10_000, day(-5))
    upload(setup, bank_file((day(0), "-3,50", "FRAIS TENUE DE COMPTE")))
    line = lines_of(setup.club_id)[0]
    reconcile.record_fee(setup.treasurer.id, setup.club_id, line.id, memo="Frais de mars", form_key=key())
    line = lines_of(setup.club_id)[0]
    txn = by_id(JournalTransaction, line.transaction_id)
    assert (txn.kind, txn.occurred_on, txn.memo) == (TransactionKind.FEE, day(0), "Frais de mars")
    fees = db.session.scalar(select(Account).where(Account.club_id == setup.club_id, Account.code == "expense:fees"))
    assert fees.type == AccountType.EXPENSE
    bank = ledger.find_account(setup.club_id, "bank")
    assert sorted((p.account_id, p.amount) for p in txn.postings) == sorted([(fees.id, 350), (bank.id, -350)])
    assert bank.balance == 10_000 - 350 and fees.balance == 350
    assert (line.by_hand, line.matched_by_id) == (True, setup.treasurer.id)
    assert reconcile.overview(setup.treasurer.id, setup.club_id).unmatched_lines == []


def test_record_fee_refuses_money_in_a_matched_line_and_a_replayed_form(make_club):
    setup = make_club(5)
    pay(setup, 2, 10_000, day(0))
    upload(setup, bank_file((day(0), "100,00", "VIR"), (day(1), "-1,00", "F1"), (day(2), "-2,00", "F2")))
    money_in, fee1, fee2 = lines_of(setup.club_id)
    assert money_in.transaction_id is not None
    form = key()
    reconcile.record_fee(setup.treasurer.id, setup.club_id, fee1.id, memo="Frais", form_key=form)
    before = snapshot()
    with pytest.raises(Conflict):  # the same form sent again, for another line
        reconcile.record_fee(setup.treasurer.id, setup.club_id, fee2.id, memo="Frais", form_key=form)
    with pytest.raises(Conflict):  # already matched
        reconcile.record_fee(setup.treasurer.id, setup.club_id, fee1.id, memo="Frais", form_key=key())
    with pytest.raises(Conflict):  # money in, and matched anyway
        reconcile.record_fee(setup.treasurer.id, setup.club_id, money_in.id, memo="Frais", form_key=key())
    for user in (setup.manager, setup.members[2]):
        with pytest.raises(NotPermitted):
            reconcile.record_fee(user.id, setup.club_id, fee2.id, memo="Frais", form_key=key())
    assert snapshot() == before


def test_record_fee_refuses_a_positive_line(make_club):
    setup = make_club(5)
    upload(setup, bank_file((day(0), "5,00", "INTERETS")))
    line = lines_of(setup.club_id)[0]
    before = snapshot()
    with pytest.raises(InvalidInput):
        reconcile.record_fee(setup.treasurer.id, setup.club_id, line.id, memo="Frais", form_key=key())
    assert snapshot() == before


def test_record_contribution_goes_through_the_savings_register(make_club):
    setup = make_club(5)
    member = setup.memberships[setup.members[2].id]
    upload(setup, bank_file((day(0), "250,00", "VIR M. DUPONT COTISATION")))
    line = lines_of(setup.club_id)[0]
    reconcile.record_contribution(setup.treasurer.id, setup.club_id, line.id, membership_id=member)
    line = lines_of(setup.club_id)[0]
    contribution = db.session.scalar(select(Contribution).where(Contribution.club_id == setup.club_id))
    assert (contribution.membership_id, contribution.amount, contribution.received_on) == (member, 25_000, day(0))
    assert contribution.bank_reference == "VIR M. DUPONT COTISATION"
    assert line.transaction_id == contribution.transaction_id and line.by_hand
    assert ledger.find_account(setup.club_id, "bank").balance == 25_000
    assert ledger.find_account(setup.club_id, f"capital:{member}").balance == -25_000  # credited


def test_record_contribution_refusals(make_club):
    setup = make_club(5)
    other = make_club(5, name="Autre Cigale")
    pay(setup, 2, 540_000, day(-30))  # this year: 5 400,00 of the 5 500,00 cap
    leaver = setup.members[3]
    ms.leave(leaver.id, setup.club_id)
    upload(setup, bank_file((day(0), "200,00", "VIR"), (day(1), "-2,00", "FRAIS"), (day(2), "50,00", "VIR2")))
    big, fee, small = lines_of(setup.club_id)
    before = snapshot()
    with pytest.raises(RuleViolation) as err:  # 5 400 + 200 > 5 500 (R4)
        reconcile.record_contribution(setup.treasurer.id, setup.club_id, big.id,
                                      membership_id=setup.memberships[setup.members[2].id])
    assert err.value.rule == "R4"
    with pytest.raises(NotFound):  # a member of another club
        reconcile.record_contribution(setup.treasurer.id, setup.club_id, small.id,
                                      membership_id=other.memberships[other.members[2].id])
    with pytest.raises(NotFound):
        reconcile.record_contribution(setup.treasurer.id, setup.club_id, small.id, membership_id=999_999)
    with pytest.raises(RuleViolation) as err:  # someone who has left
        reconcile.record_contribution(setup.treasurer.id, setup.club_id, small.id,
                                      membership_id=setup.memberships[leaver.id])
    assert err.value.rule == "R4"
    with pytest.raises(InvalidInput):  # money out is no contribution
        reconcile.record_contribution(setup.treasurer.id, setup.club_id, fee.id,
                                      membership_id=setup.memberships[setup.members[1].id])
    with pytest.raises(NotPermitted):
        reconcile.record_contribution(setup.manager.id, setup.club_id, small.id,
                                      membership_id=setup.memberships[setup.members[1].id])
    assert snapshot() == before
    # 5 400 + 50 fits under the cap
    reconcile.record_contribution(setup.treasurer.id, setup.club_id, small.id,
                                  membership_id=setup.memberships[setup.members[2].id])
    assert lines_of(setup.club_id)[2].transaction_id is not None


# --- Marking reconciled ------------------------------------------------------------------------------------------------


@pytest.fixture
def statement(make_club):
    """C: 300,00 on day -20, before the file's first line (not the file's business);
    A: 100,00 on day 0 with its line; lines 50,00 on day 1 and 60,00 on day 2 with no movement;
    B: 200,00 on day 3 with no line."""
    setup = make_club(5)
    pay(setup, 4, 30_000, day(-20))
    pay(setup, 2, 10_000, day(0))
    pay(setup, 3, 20_000, day(3))
    upload(setup, bank_file((day(0), "100,00", "VIR A"), (day(1), "50,00", "VIR X"), (day(2), "60,00", "VIR Y")),
           window=0)
    return setup


def test_reconcile_is_refused_while_something_is_unmatched(statement):
    setup = statement
    before = snapshot()
    with pytest.raises(RuleViolation) as err:
        reconcile.reconcile(setup.treasurer.id, setup.club_id, through=day(1), today=day(30))
    assert err.value.rule == "reconciliation" and err.value.field == "through"
    assert "1 bank line(s) and 0 movement(s)" in english(err.value)
    with pytest.raises(RuleViolation) as err:
        reconcile.reconcile(setup.treasurer.id, setup.club_id, through=day(10), today=day(30))
    assert "2 bank line(s) and 1 movement(s)" in english(err.value)
    assert snapshot() == before
    # through day 0 every line is matched, and C, before the first line, is not asked for
    done = reconcile.reconcile(setup.treasurer.id, setup.club_id, through=day(0), today=day(30))
    assert done.book_balance == 40_000  # C 30 000 + A 10 000


def test_reconcile_succeeds_once_everything_is_matched(statement):
    setup = statement
    x, y = lines_of(setup.club_id)[1:]
    reconcile.record_contribution(setup.treasurer.id, setup.club_id, x.id,
                                  membership_id=setup.memberships[setup.members[2].id])
    reconcile.record_contribution(setup.treasurer.id, setup.club_id, y.id,
                                  membership_id=setup.memberships[setup.members[3].id])
    upload(setup, bank_file((day(3), "200,00", "VIR B")), window=0)  # B's line comes with the next statement
    done = reconcile.reconcile(setup.treasurer.id, setup.club_id, through=day(10), today=day(30))
    # by hand: C 30 000 + A 10 000 + 5 000 + 6 000 + B 20 000
    assert (done.through, done.book_balance, done.reconciled_by_id) == (day(10), 71_000, setup.treasurer.id)
    assert all(line.reconciliation_id == done.id for line in lines_of(setup.club_id))
    assert reconcile.overview(setup.treasurer.id, setup.club_id).reconciliations[0].id == done.id


def test_reconcile_twice_for_the_same_or_an_earlier_day_is_refused(statement):
    setup = statement
    reconcile.reconcile(setup.treasurer.id, setup.club_id, through=day(0), today=day(30))
    before = snapshot()
    for through in (day(0), day(-1)):
        with pytest.raises(Conflict) as err:
            reconcile.reconcile(setup.treasurer.id, setup.club_id, through=through, today=day(30))
        assert err.value.field == "through"
    assert snapshot() == before
    assert db.session.scalar(select(func.count()).select_from(BankReconciliation)) == 1


def test_reconcile_a_later_day_after_a_first_reconciliation(make_club):
    setup = make_club(5)
    pay(setup, 2, 10_000, day(0))
    pay(setup, 2, 20_000, day(5))
    upload(setup, bank_file((day(0), "100,00", "A"), (day(5), "200,00", "B")))
    first = reconcile.reconcile(setup.treasurer.id, setup.club_id, through=day(2), today=day(30))
    second = reconcile.reconcile(setup.treasurer.id, setup.club_id, through=day(6), today=day(30))
    assert (first.book_balance, second.book_balance) == (10_000, 30_000)
    assert [line.reconciliation_id for line in lines_of(setup.club_id)] == [first.id, second.id]


def test_reconcile_refuses_a_future_day(statement):
    setup = statement
    before = snapshot()
    with pytest.raises(InvalidInput) as err:
        reconcile.reconcile(setup.treasurer.id, setup.club_id, through=day(1), today=day(0))
    assert err.value.field == "through"
    assert snapshot() == before


def test_reconcile_without_a_statement_is_refused(make_club):
    setup = make_club(5)
    pay(setup, 2, 10_000, day(0))
    before = snapshot()
    with pytest.raises(RuleViolation) as err:
        reconcile.reconcile(setup.treasurer.id, setup.club_id, through=day(0), today=day(1))
    assert err.value.rule == "reconciliation"
    assert snapshot() == before


def test_only_the_treasurer_reconciles(statement):
    setup = statement
    before = snapshot()
    for user in (setup.manager, setup.members[2]):
        with pytest.raises(NotPermitted):
            reconcile.reconcile(user.id, setup.club_id, through=day(0), today=day(30))
    assert snapshot() == before
    assert db.session.scalar(select(func.count()).select_from(BankStatement)) == 1


def test_bank_lines_dated_far_from_now_are_refused_line_by_line(make_club):
    """Issue 15: lines dated 0001 and 9999 were stored. Every date is in 2000 … today + 40 years."""
    setup = make_club(5)
    data = "Date;Montant;Libellé\n01/01/0001;10,00;VIR X\n31/12/9999;20,00;VIR Y\n05/01/2026;30,00;VIR Z\n".encode()
    preview = reconcile.preview(setup.treasurer.id, setup.club_id, data, COLS)
    assert [bool(line.error) for line in preview.lines] == [True, True, False]
    assert "0001" in preview.lines[0].error and "9999" in preview.lines[1].error
    before = snapshot()
    with pytest.raises(InvalidInput):
        upload(setup, data)
    assert snapshot() == before
