"""Bank files through the upload page, as a treasurer sends them: a Crédit Agricole and a Desjardins export taken
as the banks wrote them (detected, previewed at once, kept, matched, the balances they state checked against the
books on the reconciliation page); a file without column names read by position, and its columns chosen again
for the next file; a malformed file refused with its line, nothing written."""
from __future__ import annotations

import io
from datetime import date

from markupsafe import escape
from sqlalchemy import select

from coop.amounts import money
from coop.extensions import db
from coop.models import BankLine, BankStatement
from coop.services import fund
from tests.conftest import form_values, hidden_fields, key, say, say_n, snapshot
from tests.services.test_bank_files import standard_file
from tests.unit.test_bankfiles import data


def token(browser, page: str = "/") -> str:
    return hidden_fields(browser.get(page).text)["csrf_token"]


def send_file(browser, club_id: int, raw: bytes, name: str):
    url = f"/clubs/{club_id}/books/bank/upload"
    return browser.client.post(url, data={"csrf_token": token(browser, url), "file": (io.BytesIO(raw), name)},
                               content_type="multipart/form-data")


def send_columns(browser, club_id: int, html: str, step: str, **changes):
    sent = {**form_values(html), "csrf_token": token(browser), "step": step, **changes}
    return browser.client.post(f"/clubs/{club_id}/books/bank/columns", data=sent)


def pay(setup, user, amount: int, on: date) -> int:
    return fund.record_contribution(setup.treasurer.id, setup.club_id, membership_id=setup.membership_id(user),
                                    amount=amount, received_on=on, method="transfer", bank_reference="",
                                    idempotency_key=key()).transaction_id


def lines(club_id: int) -> list[BankLine]:
    db.session.rollback()
    return list(db.session.scalars(select(BankLine).where(BankLine.club_id == club_id).order_by(BankLine.line_no)))


def shown(cents: int, currency: str) -> str:
    return str(escape(money(cents, currency, "fr")))


def test_a_credit_agricole_export_is_read_as_the_bank_wrote_it_kept_matched_and_its_balance_checked(
        club, make_browser):
    c = club.club_id
    dupont, martin, cheques = club.members[3], club.members[4], club.members[5]
    pay(club, martin, 4_500, date(2025, 3, 10))
    pay(club, dupont, 4_500, date(2025, 3, 28))
    pay(club, cheques, 262_590, date(2025, 1, 15))
    browser = make_browser(club.treasurer)
    before = snapshot()

    page = send_file(browser, c, data("credit_agricole.csv"), "CA20250402.csv")
    assert page.status_code == 200, page.text
    assert say("This is a file from %(bank)s: it is read as that bank writes it. Check the lines below, then keep "
               "them.", bank="Crédit Agricole") in page.text
    assert form_values(page.text)["layout"] == "credit-agricole"
    assert say_n("%(num)d new line; %(known)d already uploaded before.",
                 "%(num)d new lines; %(known)d already uploaded before.", 5, known=0) in page.text
    assert say("Lines %(first)d to %(last)d, before the operations, are not operations: left out.",
               first=1, last=8) in page.text
    assert say("Lines %(first)d to %(last)d, after the operations, are another section of the file (a card’s "
               "operations, totals): left out.", first=23, last=25) in page.text
    assert "VIREMENT EN VOTRE FAVEUR COTISATION MARS M. DUPONT JEAN" in page.text
    assert snapshot() == before  # reading and previewing keep nothing

    kept = send_columns(browser, c, page.text, "upload")
    assert kept.status_code == 302, kept.text
    assert [(x.line_no, x.amount, x.transaction_id is not None) for x in lines(c)] == [
        (11, 4_500, True), (14, -350, False), (16, -120_000, False), (18, 4_500, True), (20, 262_590, True)]
    assert db.session.scalar(select(BankStatement.layout).where(BankStatement.club_id == c)) == "credit-agricole"
    bank_page = browser.get(kept.headers["Location"]).text
    assert say_n("%(num)d balance the file states differs from the books: see below.",
                 "%(num)d balances the file states differ from the books: see below.", 1) in bank_page
    # Bank 1 512,40 on 31 March; the books 2 715,90 (neither the loan nor the fee is in them): −1 203,50.
    for cents in (151_240, 271_590, -120_350):
        assert shown(cents, "EUR") in bank_page


def test_a_desjardins_export_without_column_names_is_kept_and_its_running_balance_agrees(make_club, make_browser):
    setup = make_club(5, currency="CAD")
    c = setup.club_id
    pay(setup, setup.members[2], 262_590, date(2025, 1, 15))
    pay(setup, setup.members[3], 4_500, date(2025, 3, 10))
    pay(setup, setup.members[4], 4_500, date(2025, 3, 28))
    browser = make_browser(setup.treasurer)
    page = send_file(browser, c, data("desjardins.csv"), "releve.csv")
    assert page.status_code == 200, page.text
    assert say("This is a file from %(bank)s: it is read as that bank writes it. Check the lines below, then keep "
               "them.", bank="Desjardins") in page.text
    assert "Virement Interac reçu - Élodie Martin" in page.text
    kept = send_columns(browser, c, page.text, "upload")
    assert kept.status_code == 302, kept.text
    kept_lines = lines(c)
    assert [(x.line_no, x.amount, x.reference) for x in kept_lines] == [
        (1, 262_590, "815-30001-2025/01/15-1"), (2, -120_000, "815-30001-2025/03/10-1"),
        (3, 4_500, "815-30001-2025/03/10-2"), (4, -350, "815-30001-2025/03/25-1"),
        (5, 4_500, "815-30001-2025/03/28-1")]
    assert sum(x.transaction_id is not None for x in kept_lines) == 3
    # The two money-out lines posted (as fees, for the test): every running balance then agrees.
    bank_page = browser.get(f"/clubs/{c}/books/bank").text
    assert shown(151_240, "CAD") in bank_page
    for line in kept_lines:
        if line.amount < 0:
            form = {**hidden_fields(browser.get(f"/clubs/{c}/books/bank").text), "memo": "Sortie"}
            assert browser.client.post(f"/clubs/{c}/books/bank/lines/{line.id}/fee", data=form).status_code == 302
    assert say("Every balance the bank’s files state agrees with the books.") in browser.get(
        f"/clubs/{c}/books/bank").text


NO_HEADER = b"05/03/2025;VIR COTISATION MARS;25,00\r\n07/03/2025;FRAIS;-1,50\r\n"


def test_a_file_without_column_names_is_read_by_position_and_its_columns_chosen_again_next_time(club, make_browser):
    c = club.club_id
    browser = make_browser(club.treasurer)
    page = send_file(browser, c, NO_HEADER, "export.csv")
    assert page.status_code == 200
    values = form_values(page.text)
    assert (values["layout"], values.get("no_header")) == ("columns", "y")
    assert say("Column %(n)d: %(sample)s", n=1, sample="05/03/2025") in page.text
    assert say("Column %(n)d: %(sample)s", n=3, sample="25,00") in page.text
    kept = send_columns(browser, c, page.text, "upload", date="0", label="1", amount="2")
    assert kept.status_code == 302, kept.text
    assert [(x.line_no, x.amount, x.label) for x in lines(c)] == [(1, 2_500, "VIR COTISATION MARS"),
                                                                  (2, -150, "FRAIS")]
    # The next file: the same columns, chosen again, previewed at once.
    page = send_file(browser, c, b"01/04/2025;VIR COTISATION AVRIL;25,00\r\n", "export2.csv")
    assert page.status_code == 200
    assert say("The columns chosen for the club’s last statement are chosen again. Check the lines below, then "
               "keep them.") in page.text
    values = form_values(page.text)
    assert (values["date"], values["label"], values["amount"], values.get("no_header")) == ("0", "1", "2", "y")
    assert send_columns(browser, c, page.text, "upload").status_code == 302
    assert len(lines(c)) == 3


def test_a_malformed_bank_file_is_refused_with_its_line_and_nothing_is_written(club, make_browser):
    c = club.club_id
    browser = make_browser(club.treasurer)
    raw = data("credit_agricole.csv").replace("1 200,00".encode("cp1252"), b"1 2OO,00")
    before = snapshot()
    page = send_file(browser, c, raw, "CA.csv")
    assert page.status_code == 400
    assert say("Line %(n)d: the amount cannot be read.", n=16) in page.text
    kept = send_columns(browser, c, page.text, "upload")
    assert kept.status_code == 400
    assert say("Line %(n)d: the amount cannot be read.", n=16) in kept.text
    # Another bank's layout asked for: refused, 400.
    other = send_columns(browser, c, page.text, "preview", layout="desjardins")
    assert other.status_code == 400
    assert send_columns(browser, c, page.text, "preview", layout="nowhere").status_code == 400
    assert snapshot() == before


def test_a_camt_statement_is_read_as_the_standard_says_and_kept_through_the_pages(club, make_browser):
    c = club.club_id
    browser = make_browser(club.treasurer)
    before = snapshot()

    page = send_file(browser, c, standard_file("camt.053"), "releve.xml")

    assert page.status_code == 200, page.text
    assert say("This is an %(format)s file: it is read as the standard says. Check the lines below, then keep "
               "them.", format="ISO 20022 CAMT.053") in page.text
    assert form_values(page.text)["layout"] == "camt.053"
    assert 'name="date"' not in page.text  # no columns to choose
    assert snapshot() == before
    kept = send_columns(browser, c, page.text, "upload")
    assert kept.status_code == 302, kept.text
    assert db.session.scalar(select(BankStatement.layout).where(BankStatement.club_id == c)) == "camt.053"
    assert lines(c)


def test_a_damaged_ofx_or_camt_file_is_refused_on_the_page_with_its_reason(club, make_browser):
    browser = make_browser(club.treasurer)
    before = snapshot()
    for raw, name, reason in (
            (standard_file("camt.053")[:700], "releve.xml", "Le fichier n’est pas un XML bien formé (ligne 17)"),
            (standard_file("ofx").replace(b"<TRNAMT>150.00", b"<TRNAMT>cent"), "releve.ofx",
             "Opération 1 : le montant est illisible.")):
        page = send_file(browser, club.club_id, raw, name)
        assert page.status_code == 400, page.text
        assert str(escape(reason)) in page.text
    assert snapshot() == before
