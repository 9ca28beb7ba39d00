"""Importing contributions from a CSV file: the preview's one message per bad line, French and English formats,
files refused whole, a 5,000-line file imported once, overlapping files, who may import, and the audit trail."""
from __future__ import annotations

import hashlib
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from coop.amounts import LazyMoney
from coop.extensions import db
from coop.models import Account, AuditEntry, Contribution, JournalTransaction, Posting
from coop.services import clubs as ms
from coop.services import fund, imports, ledger
from coop.services.errors import InvalidInput, NotFound, NotPermitted, RuleViolation
from tests.conftest import DEFAULT_CHARTER, english, key, refused, snapshot

TODAY = date(2026, 6, 15)
CAP = DEFAULT_CHARTER["max_yearly_contribution"]  # 5,500 a year per member (R4)
HEADER = "member,amount,date,method,reference"


# --- Helpers ----------------------------------------------------------------------------


def csv(*lines: str, header: str = HEADER, eol: str = "\n") -> bytes:
    return eol.join([header, *lines, ""]).encode()


def errors_by_line(result: imports.ImportPreview) -> dict[int, list[str]]:
    return {line.number: [english(e) for e in line.errors] for line in result.lines}


def preview(setup, data: bytes, *, by=None, today: date = TODAY) -> imports.ImportPreview:
    result = imports.preview((by or setup.treasurer).id, setup.club_id, data, today=today)
    db.session.rollback()
    return result


def confirm(setup, data: bytes, *, by=None, today: date = TODAY) -> imports.ImportResult:
    return imports.confirm((by or setup.treasurer).id, setup.club_id, data, today=today)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def mid(setup, user) -> int:
    return setup.memberships[user.id]


def balance(club_id: int, code: str) -> int:
    return db.session.scalar(select(Account.balance).where(Account.club_id == club_id, Account.code == code))


def contributions_of(club_id: int) -> list[Contribution]:
    db.session.rollback()
    return list(db.session.scalars(select(Contribution).where(Contribution.club_id == club_id)
                                   .order_by(Contribution.id)))


def pay(setup, user, amount: int, on: date):
    """The treasurer records a contribution through the form's service."""
    return fund.record_contribution(setup.treasurer.id, setup.club_id, membership_id=mid(setup, user), amount=amount,
                                    received_on=on, method="transfer", idempotency_key=key(), today=TODAY)


def consistent():
    db.session.rollback()
    assert ledger.check() == []
    assert fund.check_contributions() == []


@pytest.fixture
def club(make_club):
    """manager, treasurer and three plain members, all active."""
    return make_club(5)


# --- Wrong columns --------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["member,total,date", "courriel;date;moyen", "amount_x,member,date"])
def test_a_file_without_an_amount_column_is_refused(club, header):
    sep = ";" if ";" in header else ","
    data = csv(sep.join([club.members[2].email, "30", "05/01/2026"]), header=header)
    for call in (lambda: imports.preview(club.treasurer.id, club.club_id, data, today=TODAY),
                 lambda: confirm(club, data)):
        err = refused(call, InvalidInput, field="file")
        assert english(err.message) == english(
            "The first line must name the columns; missing: %(columns)s. Expected: member, amount, date, and "
            "optionally method and reference.", columns="amount")


def test_a_file_missing_several_columns_names_them_all(club):
    err = refused(lambda: preview(club, b"nom,prenom\nA,B\n"), InvalidInput, field="file")
    assert "member, amount, date" in english(err.message)


# --- One message per bad line --------------------------------------------------------------------------


def test_every_bad_line_gets_exactly_one_message_and_nothing_is_written(club):
    manager, treasurer, m2, m3, m4 = club.members
    ms.leave(m2.id, club.club_id)  # m2 has left the club
    pay(club, m3, 500_000, date(2026, 1, 20))  # m3 has already paid 5,000 of the 5,500 this year
    m3_name, m2_name = m3.name, m2.name
    db.session.rollback()
    data = csv(
        f"{m4.email};30,00;05/01/2026;virement;A1",           # 2 good
        f"{m4.email};-10;06/01/2026;virement;A2",             # 3 negative
        "nobody@example.org;10;07/01/2026;virement;A3",       # 4 unknown member
        f"{m4.email};12;08/01/2026;virement;DUP",             # 5 good
        f"{m4.email};12;08/01/2026;virement;DUP",             # 6 duplicate of 5
        f"{m4.email};10;31/02/2026;virement;A6",              # 7 no such day
        f"{m4.email};10;soon;virement;A7",                    # 8 not a date
        f"{m4.email};10;16/06/2026;virement;A8",              # 9 tomorrow
        f"{m3.email};300,00;10/02/2026;virement;A9",          # 10 good: 5,300 paid this year
        f"{m3.email};300,00;11/02/2026;virement;A10",         # 11 5,600: over the cap with what was paid
        f"{manager.email};3 000,00;01/03/2026;chèque;A11",    # 12 good
        f"{manager.email};2 500,00;02/03/2026;chèque;A12",    # 13 good: the cap exactly, within the file
        f"{manager.email};0,01;03/03/2026;espèces;A13",       # 14 one cent over the cap, within the file
        f"{m4.email};12,345;09/01/2026;virement;A14",         # 15 ambiguous
        f"{m2.email};10;10/01/2026;virement;A15",             # 16 left the club
        f"{treasurer.email};1 234,56;2026-01-31;;",           # 17 good
        header="member;amount;date;method;reference",
    )

    result = preview(club, data)

    cap = LazyMoney(CAP, "EUR")
    assert errors_by_line(result) == {
        2: [],
        3: [english("The amount is negative.")],
        4: [english("No member of the club has the email “%(email)s”.", email="nobody@example.org")],
        5: [],
        6: [english("Duplicate of line %(n)d.", n=5)],
        7: [english("The date is not a date such as 31/01/2026.")],
        8: [english("The date is not a date such as 31/01/2026.")],
        9: [english("The date is in the future.")],
        10: [],
        11: [english("Over the yearly cap of %(cap)s for %(name)s (R4).", cap=cap, name=m3_name)],
        12: [],
        13: [],
        14: [english("Over the yearly cap of %(cap)s for %(name)s (R4).", cap=cap, name=manager.name)],
        15: [english("The amount is ambiguous: write thousands with a space.")],
        16: [english("%(name)s is not an active member (R4).", name=m2_name)],
        17: [],
    }
    assert result.error_count == 10
    assert result.file_errors == []
    good = {line.number: line.amount for line in result.lines if not line.errors}
    assert good == {2: 3000, 5: 1200, 10: 30_000, 12: 300_000, 13: 250_000, 17: 123_456}

    err = refused(lambda: confirm(club, data), InvalidInput, field="file")
    assert english(err.message) == english(
        "The file has %(n)d lines with errors: correct them and preview it again.", n=10)
    assert count(AuditEntry, AuditEntry.action == "contribution.import") == 0
    consistent()


@pytest.mark.parametrize("amount, message", [
    ("-10", "The amount is negative."),
    ("0", "The amount is zero."),
    ("0,00", "The amount is zero."),
    ("", "The amount is missing."),
    ("douze", "The amount is not a number such as 30 or 1 234,56."),
    ("1.234.56", "The amount is not a number such as 30 or 1 234,56."),
    ("12,345", "The amount is ambiguous: write thousands with a space."),
    ("12.345", "The amount is ambiguous: write thousands with a space."),
    ("20 000 000,00", "The amount is too large."),
])
def test_each_kind_of_bad_amount(club, amount, message):
    data = csv(f"{club.members[3].email};{amount};05/01/2026", header="member;amount;date")
    result = preview(club, data)
    assert errors_by_line(result) == {2: [english(message)]}
    refused(lambda: confirm(club, data), InvalidInput, field="file")


@pytest.mark.parametrize("text", ["31/02/2026", "soon", "", "2026/01/05", "05-01-2026", "32/01/2026",
                                  "05/13/2026", "5 janvier 2026"])
def test_each_kind_of_bad_date(club, text):
    result = preview(club, csv(f"{club.members[3].email},10,{text}", header="member,amount,date"))
    assert errors_by_line(result) == {2: [english("The date is not a date such as 31/01/2026.")]}


def test_today_is_accepted_and_tomorrow_is_not(club):
    email = club.members[3].email
    result = preview(club, csv(f"{email},10,15/06/2026", f"{email},10,16/06/2026", header="member,amount,date"))
    assert errors_by_line(result) == {2: [], 3: [english("The date is in the future.")]}


def test_an_unknown_method_is_one_message(club):
    result = preview(club, csv(f"{club.members[3].email},10,05/01/2026,paypal,X"))
    assert errors_by_line(result) == {2: [english("Unknown method: use transfer, cheque or cash.")]}


def test_the_cap_counts_only_the_same_calendar_year(club):
    m3 = club.members[3]
    pay(club, m3, CAP, date(2025, 12, 31))  # last year's cap reached
    db.session.rollback()
    result = preview(club, csv(f"{m3.email},5 500,01/01/2026", f"{m3.email},0.01,31/12/2025",
                               header="member,amount,date"))
    assert errors_by_line(result) == {
        2: [],
        3: [english("Over the yearly cap of %(cap)s for %(name)s (R4).", cap=LazyMoney(CAP, "EUR"), name=m3.name)],
    }


# --- French and English formats ------------------------------------------------------------------------


def test_a_french_file_with_bom_crlf_semicolons_and_french_headers(club):
    _, treasurer, m2, m3, m4 = club.members
    text = "\r\n".join([
        "Courriel;Montant;Date;Moyen;Référence",
        f"{m2.email};1 234,56;31/01/2026;virement;VIR-0131",
        f"{m3.email};30;01.02.2026;chèque;CHQ 000123",
        f"{m4.email};7,5;2026-02-03;Espèces;",
        f"{treasurer.email};\"2\u00a0000,00\";05/02/2026;VIREMENT;\"VIR; dupont\"",
        "",
    ])
    data = "\ufeff".encode() + text.encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")

    result = preview(club, data)
    assert errors_by_line(result) == {2: [], 3: [], 4: [], 5: []}
    assert result.total == 123_456 + 3000 + 750 + 200_000

    outcome = confirm(club, data)
    assert (outcome.created, outcome.skipped, outcome.total) == (4, 0, 123_456 + 3000 + 750 + 200_000)
    rows = [(c.membership_id, c.amount, c.received_on, c.method, c.bank_reference, c.source)
            for c in contributions_of(club.club_id)]
    assert rows == [
        (mid(club, m2), 123_456, date(2026, 1, 31), "transfer", "VIR-0131", "import"),
        (mid(club, m3), 3000, date(2026, 2, 1), "cheque", "CHQ 000123", "import"),
        (mid(club, m4), 750, date(2026, 2, 3), "cash", "", "import"),
        (mid(club, treasurer), 200_000, date(2026, 2, 5), "transfer", "VIR; dupont", "import"),
    ]
    consistent()


def test_an_english_file_with_commas_quotes_and_columns_in_another_order(club):
    manager, _, m2, m3, m4 = club.members
    data = csv(
        f'31/01/2026,"1,234.56",{m2.email.upper()},transfer,"REF, with a comma"',
        f'2026-02-01,30.00,  {m3.email}  ,cheque,"CHQ ""42"""',
        f"01.02.2026,12.5,{m4.email},Cash,",
        f"02/02/2026,1 000,{manager.email},check,",
        header="Date,Amount,Email,Payment method,Bank reference",
    )
    result = preview(club, data)
    assert errors_by_line(result) == {2: [], 3: [], 4: [], 5: []}

    outcome = confirm(club, data)
    assert (outcome.created, outcome.skipped, outcome.total) == (4, 0, 123_456 + 3000 + 1250 + 100_000)
    rows = [(c.membership_id, c.amount, c.received_on, c.method, c.bank_reference)
            for c in contributions_of(club.club_id)]
    assert rows == [
        (mid(club, m2), 123_456, date(2026, 1, 31), "transfer", "REF, with a comma"),
        (mid(club, m3), 3000, date(2026, 2, 1), "cheque", 'CHQ "42"'),
        (mid(club, m4), 1250, date(2026, 2, 1), "cash", ""),
        (mid(club, manager), 100_000, date(2026, 2, 2), "cheque", ""),
    ]
    consistent()


def test_a_file_that_is_not_utf8_is_refused(club):
    data = f"courriel;montant;date;référence\n{club.members[3].email};10;05/01/2026;réf é\n".encode("latin-1")
    for call in (lambda: imports.preview(club.treasurer.id, club.club_id, data, today=TODAY),
                 lambda: confirm(club, data)):
        err = refused(call, InvalidInput, field="file")
        assert english(err.message) == english("Save the file as UTF-8 text (CSV UTF-8) and try again.")


@pytest.mark.parametrize("data", [b"", b"   ", b"\r\n\r\n"], ids=["nothing", "spaces", "blank lines"])
def test_an_empty_file_is_refused(club, data):
    for call in (lambda: imports.preview(club.treasurer.id, club.club_id, data, today=TODAY),
                 lambda: confirm(club, data)):
        err = refused(call, InvalidInput, field="file")
        assert english(err.message) == english("The file is empty.")


@pytest.mark.parametrize("data", [b"member,amount,date\n", b"member,amount,date", b"member;amount;date\n\n;;\n"],
                         ids=["header", "header without newline", "header and blank lines"])
def test_a_file_with_only_its_header_is_refused(club, data):
    err = refused(lambda: imports.preview(club.treasurer.id, club.club_id, data, today=TODAY), InvalidInput, field="file")
    assert english(err.message) == english("The file has no line to import.")
    refused(lambda: confirm(club, data), InvalidInput, field="file")


def test_a_cell_past_the_csv_readers_limit_is_refused_not_a_server_error(club):
    """Found when the import and the bank statements came to share one reader: this was a 500."""
    data = csv(f"{club.members[2].email},10,05/01/2026,transfer,{'x' * 200_000}")
    for call in (lambda: imports.preview(club.treasurer.id, club.club_id, data, today=TODAY),
                 lambda: confirm(club, data)):
        err = refused(call, InvalidInput, field="file")
        assert english(err.message) == english("This is not a CSV text file.")


def test_a_file_holding_only_a_byte_order_mark_is_refused_not_a_server_error(club):
    for call in (lambda: imports.preview(club.treasurer.id, club.club_id, b"\xef\xbb\xbf", today=TODAY),
                 lambda: confirm(club, b"\xef\xbb\xbf")):
        err = refused(call, InvalidInput, field="file")
        assert english(err.message).startswith("The first line must name the columns; missing: member, amount, date.")


def test_a_line_after_a_reference_over_two_lines_keeps_its_number_in_the_file(club):
    m3, m4 = club.members[3], club.members[4]
    data = csv(f'{m3.email},10,05/01/2026,transfer,"VIR 12\nsuite"', f"{m4.email},-1,05/01/2026,transfer,")
    assert errors_by_line(preview(club, data)) == {2: [], 4: [english("The amount is negative.")]}


def test_blank_lines_are_ignored_and_numbers_stay_those_of_the_file(club):
    m3, m4 = club.members[3], club.members[4]
    data = csv("", f"{m3.email},10,05/01/2026", ",,", "   ", f"{m4.email},-1,05/01/2026", "",
               header="member,amount,date")
    result = preview(club, data)
    assert errors_by_line(result) == {3: [], 6: [english("The amount is negative.")]}
    fixed = data.replace(b"-1,", b"1,")
    outcome = confirm(club, fixed)
    assert (outcome.created, outcome.skipped) == (2, 0)
    assert [c.amount for c in contributions_of(club.club_id)] == [1000, 100]


# --- A large file, imported once ------------------------------------------------------------------------------


def big_file(setup, n: int = 5000) -> tuple[bytes, dict[int, int]]:
    """``n`` lines over the five members, under the cap: at most 4.99 each, 1,000 lines a member in 2026."""
    lines, sums = [], {}
    first = date(2026, 1, 1)
    for i in range(n):
        user = setup.members[i % 5]
        amount = 100 + (i * 7) % 400
        on = first + timedelta(days=i % 160)
        lines.append(f"{user.email},{amount // 100}.{amount % 100:02d},{on:%d/%m/%Y},transfer,REF-{i:05d}")
        sums[mid(setup, user)] = sums.get(mid(setup, user), 0) + amount
    return csv(*lines), sums


def test_a_file_of_5000_lines_imports_once(club):
    data, sums = big_file(club)
    assert max(sums.values()) <= CAP
    total = sum(sums.values())

    shown = preview(club, data)
    assert len(shown.lines) == 5000 and shown.error_count == 0
    assert len(shown.to_post) == 5000 and shown.total == total

    outcome = confirm(club, data)
    assert (outcome.created, outcome.skipped, outcome.total) == (5000, 0, total)
    db.session.rollback()
    assert count(Contribution, Contribution.club_id == club.club_id) == 5000
    assert count(Contribution, Contribution.source == "import") == 5000
    assert count(JournalTransaction, JournalTransaction.club_id == club.club_id) == 5000
    assert count(Posting, Posting.club_id == club.club_id) == 10_000
    assert balance(club.club_id, "bank") == total
    for membership_id, paid in sums.items():
        assert balance(club.club_id, f"capital:{membership_id}") == -paid
        assert fund.paid_in_year(club.club_id, membership_id, 2026) == paid
    # Each register row points at its own transaction, of its amount and date.
    mismatched = db.session.scalar(
        select(func.count()).select_from(Contribution)
        .join(JournalTransaction, (JournalTransaction.id == Contribution.transaction_id)
              & (JournalTransaction.club_id == Contribution.club_id))
        .where(JournalTransaction.occurred_on != Contribution.received_on))
    assert mismatched == 0
    consistent()

    before = snapshot()
    again = confirm(club, data)
    assert (again.created, again.skipped, again.total) == (0, 5000, 0)
    after = snapshot()
    assert {t: rows for t, rows in after.items() if t != "audit_entry"} == {
        t: rows for t, rows in before.items() if t != "audit_entry"}

    shown = preview(club, data)
    assert shown.error_count == 0
    assert all(line.already_recorded for line in shown.lines)
    assert shown.to_post == [] and shown.total == 0
    consistent()


def test_a_file_overlapping_a_previous_one_posts_only_its_new_lines(club):
    m3, m4 = club.members[3], club.members[4]
    rows = [f"{m3.email},10,05/01/2026,transfer,R1", f"{m4.email},20,05/01/2026,transfer,R2",
            f"{m3.email},30,06/01/2026,transfer,R3", f"{m4.email},40,06/01/2026,transfer,R4",
            f"{m3.email},50,07/01/2026,transfer,R5"]
    first = confirm(club, csv(*rows[:3]))
    assert (first.created, first.skipped, first.total) == (3, 0, 6000)

    second_file = csv(*rows[1:])
    shown = preview(club, second_file)
    assert [(line.number, line.already_recorded, line.errors) for line in shown.lines] == [
        (2, True, []), (3, True, []), (4, False, []), (5, False, [])]
    second = confirm(club, second_file)
    assert (second.created, second.skipped, second.total) == (2, 2, 9000)
    assert [c.amount for c in contributions_of(club.club_id)] == [1000, 2000, 3000, 4000, 5000]
    assert balance(club.club_id, "bank") == 15_000
    assert balance(club.club_id, f"capital:{mid(club, m3)}") == -9000
    assert balance(club.club_id, f"capital:{mid(club, m4)}") == -6000
    consistent()


def test_importing_a_file_again_after_a_member_left_skips_their_recorded_lines(club):
    m3, m4 = club.members[3], club.members[4]
    data = csv(f"{m3.email},10,05/01/2026,transfer,R1", f"{m4.email},20,05/01/2026,transfer,R2")
    confirm(club, data)
    ms.leave(m4.id, club.club_id)

    again = preview(club, data)
    assert [(line.already_recorded, line.errors) for line in again.lines] == [(True, []), (True, [])]
    assert (confirm(club, data).created, confirm(club, data).skipped) == (0, 2)

    with_new_line = csv(f"{m4.email},30,06/01/2026,transfer,R3")
    refused = preview(club, with_new_line)
    assert [english(e) for e in refused.lines[0].errors] == [english("%(name)s is not an active member (R4).", name=m4.name)]


def test_a_line_without_its_optional_columns_is_fine(club):
    m3 = club.members[3]
    result = preview(club, csv(f"{m3.email},10,05/01/2026"))
    assert result.lines[0].errors == [] and result.lines[0].method == "transfer"


def test_the_same_payment_with_another_reference_is_a_new_line(club):
    m3 = club.members[3]
    confirm(club, csv(f"{m3.email},10,05/01/2026,transfer,R1"))
    outcome = confirm(club, csv(f"{m3.email},10,05/01/2026,transfer,R1", f"{m3.email},10,05/01/2026,transfer,R2"))
    assert (outcome.created, outcome.skipped) == (1, 1)
    assert len(contributions_of(club.club_id)) == 2


def test_a_contribution_recorded_by_form_counts_toward_the_cap_of_an_import(club):
    m3 = club.members[3]
    pay(club, m3, CAP - 100, date(2026, 2, 1))
    db.session.rollback()
    over = csv(f"{m3.email},1.01,05/02/2026", header="member,amount,date")
    assert errors_by_line(preview(club, over)) == {
        2: [english("Over the yearly cap of %(cap)s for %(name)s (R4).", cap=LazyMoney(CAP, "EUR"), name=m3.name)]}
    refused(lambda: confirm(club, over), InvalidInput, field="file")
    outcome = confirm(club, csv(f"{m3.email},1.00,05/02/2026", header="member,amount,date"))
    assert outcome.created == 1
    assert fund.paid_in_year(club.club_id, mid(club, m3), 2026) == CAP
    consistent()


# --- Who may import ------------------------------------------------------------------------------------


GOOD = "member,amount,date\n{email},10,05/01/2026\n"


@pytest.mark.parametrize("who", ["member", "secretary", "manager"])
def test_only_the_treasurer_may_import(make_club, who):
    setup = make_club(5, activate=False)
    if who == "secretary":
        ms.appoint(setup.manager.id, setup.club_id, mid(setup, setup.members[2]), "secretary")
    ms.activate(setup.manager.id, setup.club_id)
    actor = setup.manager if who == "manager" else setup.members[2]
    data = GOOD.format(email=setup.members[3].email).encode()
    refused(lambda: imports.preview(actor.id, setup.club_id, data, today=TODAY), NotPermitted)
    refused(lambda: confirm(setup, data, by=actor), NotPermitted)


def test_a_member_of_another_club_finds_nothing(club, make_club):
    other = make_club(5)
    data = GOOD.format(email=club.members[3].email).encode()
    refused(lambda: imports.preview(other.treasurer.id, club.club_id, data, today=TODAY), NotFound)
    refused(lambda: confirm(club, data, by=other.treasurer), NotFound)


def test_another_clubs_members_are_unknown(club, make_club):
    other = make_club(5)
    email = other.members[3].email
    result = preview(club, GOOD.format(email=email).encode())
    assert errors_by_line(result) == {2: [english("No member of the club has the email “%(email)s”.", email=email)]}


def test_a_club_being_dissolved_takes_no_import(club):
    """Like a contribution by form (R5), an import into a club being dissolved is refused."""
    fund.begin_dissolution(club.club_id, decided_by=club.manager.id)
    data = GOOD.format(email=club.members[3].email).encode()
    before = snapshot()
    with pytest.raises(RuleViolation) as info:
        confirm(club, data)
    assert info.value.rule == "R5"
    assert snapshot() == before


# --- The audit trail ---------------------------------------------------------------------------------------


def test_each_confirmed_file_leaves_one_audit_entry(club):
    m3 = club.members[3]
    first = csv(f"{m3.email},10,05/01/2026,transfer,R1", f"{m3.email},20,06/01/2026,transfer,R2")
    second = csv(f"{m3.email},20,06/01/2026,transfer,R2", f"{m3.email},30,07/01/2026,transfer,R3")
    confirm(club, first)
    confirm(club, second)
    refused(lambda: confirm(club, csv(f"{m3.email},-1,07/01/2026,transfer,R9")), InvalidInput, field="file")
    preview(club, first)
    db.session.rollback()
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "contribution.import")
                                      .order_by(AuditEntry.id)))
    assert [(e.club_id, e.actor_id, e.object_type, e.object_id) for e in entries] == [
        (club.club_id, club.treasurer.id, "Club", club.club_id)] * 2
    assert [e.after for e in entries] == [
        {"created": 2, "skipped": 0, "total": 3000, "sha256": hashlib.sha256(first).hexdigest()},
        {"created": 1, "skipped": 1, "total": 3000, "sha256": hashlib.sha256(second).hexdigest()},
    ]


@pytest.mark.parametrize("text", ["01/01/0001", "31/12/1999"])
def test_a_line_dated_before_2000_is_a_line_error(club, text):
    """Issue 15: a line dated 01/01/0001 was taken, and the fund page then drew 2,000 years of months."""
    result = preview(club, csv(f"{club.members[3].email},10,{text}", header="member,amount,date"))
    [error] = errors_by_line(result)[2]
    assert error.startswith("This date must be between 1 January 2000 and ")
