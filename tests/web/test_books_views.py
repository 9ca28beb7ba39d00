"""The treasurer's books through the browser (blueprint ``books``), on both databases: who opens which page,
query strings that cannot be read (400, never 500), the CSV exports as docs/books.md documents them, and the
forms: a bank statement uploaded, previewed, kept, matched, a fee posted and the bank reconciled; a period
closed; a bank balance one cent off flagged then explained; replays and other clubs' ids refused with
nothing written.

The ``club`` fixture: manager, treasurer, secretary, three plain members (members[3:]), all French."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from babel.dates import format_date
from markupsafe import escape
from sqlalchemy import select

from coop.amounts import money
from coop.extensions import db
from coop.models import (
    Account,
    AssertionStatus,
    BalanceAssertion,
    BankLine,
    BankReconciliation,
    ClosingBalance,
    JournalTransaction,
    PeriodClose,
)
from coop.services import books, fund, ledger, reconcile
from tests.conftest import ATTR, HIDDEN, by_id, form_values, hidden_fields, key, say, say_n, say_window, snapshot

TODAY = date.today()
BOM = "\ufeff".encode()
DOCS = Path(__file__).resolve().parents[2] / "docs" / "books.md"


# --- Helpers ----------------------------------------------------------------------------------------------


def fresh():
    db.session.rollback()
    return db.session


def by_id_fresh(model, object_id):
    fresh()
    return by_id(model, object_id)


def eur(cents: int) -> str:
    return str(escape(money(cents, "EUR", "fr")))


def token(browser, page: str = "/") -> str:
    shown = browser.get(page)
    assert shown.status_code == 200, f"{page} answered {shown.status_code}"
    return hidden_fields(shown.text)["csrf_token"]


def contribute(setup, user, amount: int, on: date, reference: str = ""):
    return fund.record_contribution(setup.treasurer.id, setup.club_id, membership_id=setup.membership_id(user),
                                    amount=amount, received_on=on, method="transfer", bank_reference=reference,
                                    idempotency_key=key())


def account_id(club_id: int, code: str) -> int:
    found = ledger.find_account(club_id, code).id
    db.session.rollback()
    return found


def balance(club_id: int, code: str) -> int:
    return fresh().scalar(select(Account.balance).where(Account.club_id == club_id, Account.code == code))


def documented_columns(name: str, language: str = "fr") -> list[str]:
    """The column names docs/books.md lists for an export file, in English or French."""
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == f"`{name}`":
            return [c.strip() for c in cells[2 if language == "en" else 3].split(",")]
    raise AssertionError(f"{name} is not documented")


def read_csv(response, sep: str = ";") -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    assert response.data.startswith(BOM)
    return list(csv.reader(io.StringIO(response.data.decode("utf-8")[1:]), delimiter=sep))


def payload_of(html: str) -> str | None:
    for tag in HIDDEN.findall(html):
        attrs = dict(ATTR.findall(tag))
        if attrs.get("name") == "payload":
            return attrs.get("value")
    return None


def warnings_of(html: str) -> list[str]:
    return re.findall(r'<p class="warning" role="alert">(.*?)</p>', html, re.S)


def upload_file(browser, club_id: int, data: bytes, name: str = "releve.csv"):
    url = f"/clubs/{club_id}/books/bank/upload"
    return browser.client.post(url, data={"csrf_token": token(browser, url), "file": (io.BytesIO(data), name)},
                               content_type="multipart/form-data")


def columns_form(browser, html: str, step: str, **changes) -> dict:
    """What the columns page sends back: its fields as shown (the guessed columns), the date and amount styles
    as a French bank writes them (a browser sends a list's first option), changed where asked."""
    sent = {"date_style": "dmy", "decimal": "comma", **form_values(html), "csrf_token": token(browser),
            "step": step}
    sent.update({k: str(v) for k, v in changes.items()})
    return sent


def bank_csv(*lines: str) -> bytes:
    return "\n".join(["Date;Libellé;Montant", *lines, ""]).encode()


def day(d: date) -> str:
    return d.strftime("%d/%m/%Y")


@pytest.fixture
def kept(club):
    """Two contributions: 25.00 from members[3] five days ago, 40.00 from members[4] three days ago."""
    club.c1 = contribute(club, club.members[3], 2_500, TODAY - timedelta(days=5), "VIR-A")
    club.c2 = contribute(club, club.members[4], 4_000, TODAY - timedelta(days=3), "VIR-C")
    db.session.rollback()
    return club


# --- Who opens which page -------------------------------------------------------------------------------------


def test_every_books_page_opens_for_the_treasurer_only_own_statements_for_a_member_and_404_elsewhere(
        kept, neighbour, make_browser):
    s = kept
    c = s.club_id
    member = s.members[3]
    bank = account_id(c, "bank")
    own = account_id(c, f"capital:{s.membership_id(member)}")
    others = account_id(c, f"capital:{s.membership_id(s.members[4])}")
    statement, _ = reconcile.upload(s.treasurer.id, c, bank_csv(f"{day(TODAY)};FRAIS;-1,00"),
                                    reconcile.Columns(0, 1, 2))
    line = fresh().scalar(select(BankLine.id).where(BankLine.statement_id == statement.id))
    filters = (f"start={TODAY - timedelta(days=30)}&end={TODAY}&kind=contribution&unit=money"
               f"&member={s.membership_id(member)}&account={bank}&text=vir-a")
    # path: (treasurer, plain member)
    pages = {
        f"/clubs/{c}/books": (200, 403),
        f"/clubs/{c}/books?{filters}": (200, 403),
        f"/clubs/{c}/books/journal.csv": (200, 403),
        f"/clubs/{c}/books/transactions/{s.c1.transaction_id}": (200, 403),
        f"/clubs/{c}/books/accounts/{bank}": (200, 404),
        f"/clubs/{c}/books/accounts/{bank}?print=1": (200, 404),
        f"/clubs/{c}/books/accounts/{bank}.csv": (200, 404),
        f"/clubs/{c}/books/accounts/{others}": (200, 404),
        f"/clubs/{c}/books/accounts/{own}": (200, 200),
        f"/clubs/{c}/books/accounts/{own}?print=1": (200, 200),
        f"/clubs/{c}/books/accounts/{own}.csv": (200, 200),
        f"/clubs/{c}/books/trial-balance": (200, 403),
        f"/clubs/{c}/books/trial-balance?on={TODAY - timedelta(days=4)}": (200, 403),
        f"/clubs/{c}/books/trial-balance.csv": (200, 403),
        f"/clubs/{c}/books/balance-sheet": (200, 403),
        f"/clubs/{c}/books/income": (200, 403),
        f"/clubs/{c}/books/capital.csv": (200, 403),
        f"/clubs/{c}/books/checks": (200, 403),
        f"/clubs/{c}/books/bank": (200, 403),
        f"/clubs/{c}/books/bank/lines/{line}": (200, 403),
        f"/clubs/{c}/books/bank/upload": (200, 403),
        f"/clubs/{c}/books/charts": (200, 403),
        f"/clubs/{c}/audit": (200, 403),
    }
    treasurer, plain = make_browser(s.treasurer), make_browser(member)
    outsiders = [make_browser(neighbour.members[3]), make_browser(neighbour.treasurer)]
    seen = {path: (treasurer.get(path).status_code, plain.get(path).status_code) for path in pages}
    assert seen == pages
    for outsider in outsiders:
        assert {path: outsider.get(path).status_code for path in pages} == dict.fromkeys(pages, 404)

    # What the pages show.
    filtered = treasurer.get(f"/clubs/{c}/books?{filters}").text
    assert f"/books/transactions/{s.c1.transaction_id}\"" in filtered
    assert f"/books/transactions/{s.c2.transaction_id}\"" not in filtered
    mine = plain.get(f"/clubs/{c}/books/accounts/{own}").text
    assert eur(2_500) in mine  # what they paid in, positive
    assert "/books/transactions/" not in mine  # a member sees the numbers, not the officers' pages
    printable = treasurer.get(f"/clubs/{c}/books/accounts/{bank}?print=1").text
    assert 'class="stacked filters no-print"' in printable and eur(6_500) in printable
    sheet = treasurer.get(f"/clubs/{c}/books/balance-sheet").text
    assert say("Assets equal capital, liabilities and result.") in sheet
    assert say("Debits equal credits.") in treasurer.get(f"/clubs/{c}/books/trial-balance").text
    # The secretary reads the audit log but not the books.
    secretary = make_browser(s.members[2])
    assert secretary.get(f"/clubs/{c}/audit").status_code == 200
    assert secretary.get(f"/clubs/{c}/books").status_code == 403


def test_a_member_reads_their_own_capital_as_positive_amounts_paid_in_the_treasurer_keeps_the_books_signs(
        kept, make_browser):
    s = kept
    c = s.club_id
    member = s.members[3]
    own = account_id(c, f"capital:{s.membership_id(member)}")
    plain, treasurer = make_browser(member), make_browser(s.treasurer)
    mine = plain.get(f"/clubs/{c}/books/accounts/{own}").text
    assert say("you have paid in %(amount)s", amount=money(2_500, "EUR", "fr")) in mine
    assert eur(2_500) in mine and eur(-2_500) not in mine
    assert say("Newest first; the balance after each line. Debits are positive.") not in mine
    assert read_csv(plain.get(f"/clubs/{c}/books/accounts/{own}.csv"))[1][-2:] == ["25,00", "25,00"]
    # The same account in the treasurer's books: the accountant's signs (a credit is negative).
    books_page = treasurer.get(f"/clubs/{c}/books/accounts/{own}").text
    assert eur(-2_500) in books_page
    assert say("Newest first; the balance after each line. Debits are positive.") in books_page
    assert read_csv(treasurer.get(f"/clubs/{c}/books/accounts/{own}.csv"))[1][-2:] == ["-25,00", "-25,00"]


def test_query_strings_that_cannot_be_read_are_400_never_500(kept, make_browser):
    s = kept
    c = s.club_id
    bank = account_id(c, "bank")
    browser = make_browser(s.treasurer)
    bad = [
        f"/clubs/{c}/books?after=garbage",
        f"/clubs/{c}/books?after=2026-02-30.5",
        f"/clubs/{c}/books?after=2026-11-05.{'9' * 19}",
        f"/clubs/{c}/books?start=not-a-date",
        f"/clubs/{c}/books?end=31/02/2026",
        f"/clubs/{c}/books?kind=unknown",
        f"/clubs/{c}/books?unit=gold",
        f"/clubs/{c}/books?member=abc",
        f"/clubs/{c}/books?account=999999",
        f"/clubs/{c}/books?text={'x' * 101}",
        f"/clubs/{c}/books?start={TODAY}&end={TODAY - timedelta(days=1)}",
        f"/clubs/{c}/books/journal.csv?sep=tab",
        f"/clubs/{c}/books/journal.csv?decimal=tab",
        f"/clubs/{c}/books/journal.csv?kind=unknown",
        f"/clubs/{c}/books/journal.csv?start=not-a-date",
        f"/clubs/{c}/books/accounts/{bank}?after=garbage",
        f"/clubs/{c}/books/accounts/{bank}?start=not-a-date",
        f"/clubs/{c}/books/accounts/{bank}?start={TODAY}&end={TODAY - timedelta(days=1)}",
        f"/clubs/{c}/books/accounts/{bank}.csv?sep=tab",
        f"/clubs/{c}/books/accounts/{bank}.csv?end=not-a-date",
        f"/clubs/{c}/books/trial-balance?on=not-a-date",
        f"/clubs/{c}/books/trial-balance.csv?sep=tab",
        f"/clubs/{c}/books/trial-balance.csv?on=2026-13-01",
        f"/clubs/{c}/books/balance-sheet?on=not-a-date",
        f"/clubs/{c}/books/income?start=not-a-date",
        f"/clubs/{c}/books/income?start={TODAY}&end={TODAY - timedelta(days=1)}",
        f"/clubs/{c}/books/capital.csv?sep=tab",
        f"/clubs/{c}/books/capital.csv?decimal=tab",
        f"/clubs/{c}/audit?before=abc",
        f"/clubs/{c}/audit?start=not-a-date",
    ]
    assert {url: browser.get(url).status_code for url in bad} == dict.fromkeys(bad, 400)
    # A cursor that parses but points nowhere is an empty or short page, not an error.
    assert browser.get(f"/clubs/{c}/books?after=2000-01-01.1").status_code == 200
    assert say("No transaction matches.") in browser.get(f"/clubs/{c}/books?after=2000-01-01.1").text


# --- CSV exports ------------------------------------------------------------------------------------------------


def test_csv_exports_in_french_have_a_bom_the_documented_columns_semicolons_and_decimal_commas(kept, make_browser):
    s = kept
    c, t1, t2 = s.club_id, s.c1.transaction_id, s.c2.transaction_id
    bank = account_id(c, "bank")
    browser = make_browser(s.treasurer)
    d1, d2 = (TODAY - timedelta(days=5)).isoformat(), (TODAY - timedelta(days=3)).isoformat()
    m3, m4 = s.membership_id(s.members[3]), s.membership_id(s.members[4])

    journal = read_csv(browser.get(f"/clubs/{c}/books/journal.csv"))
    assert journal[0] == documented_columns("journal.csv") == [
        "Écriture", "Date", "Nature", "Unité", "Description", "Auteur·rice", "Extourne", "Extournée par",
        "Code du compte", "Nom du compte", "Montant"]
    name3, name4, treasurer = s.members[3].name, s.members[4].name, s.treasurer.name
    assert sorted(journal[1:]) == sorted([
        [str(t2), d2, "contribution", "money", f"{name4} — VIR-C", treasurer, "", "", "bank", "Banque", "40,00"],
        [str(t2), d2, "contribution", "money", f"{name4} — VIR-C", treasurer, "", "", f"capital:{m4}",
         f"Capital — {name4}", "-40,00"],
        [str(t1), d1, "contribution", "money", f"{name3} — VIR-A", treasurer, "", "", "bank", "Banque", "25,00"],
        [str(t1), d1, "contribution", "money", f"{name3} — VIR-A", treasurer, "", "", f"capital:{m3}",
         f"Capital — {name3}", "-25,00"]])
    assert [row[0] for row in journal[1:]] == [str(t2), str(t2), str(t1), str(t1)]  # newest first

    statement = read_csv(browser.get(f"/clubs/{c}/books/accounts/{bank}.csv"))
    assert statement[0] == documented_columns("accounts/<id>.csv") == [
        "Écriture", "Date", "Nature", "Description", "Montant", "Solde"]
    assert statement[1:] == [[str(t1), d1, "contribution", f"{name3} — VIR-A", "25,00", "25,00"],
                             [str(t2), d2, "contribution", f"{name4} — VIR-C", "40,00", "65,00"]]  # oldest first
    period = read_csv(browser.get(f"/clubs/{c}/books/accounts/{bank}.csv?start={d2}"))
    assert period[1:] == [[str(t2), d2, "contribution", f"{name4} — VIR-C", "40,00", "65,00"]]

    trial = read_csv(browser.get(f"/clubs/{c}/books/trial-balance.csv"))
    assert trial[0] == documented_columns("trial-balance.csv") == [
        "Unité", "Code du compte", "Nom du compte", "Type", "Débits", "Crédits", "Solde"]
    rows = {row[1]: row for row in trial[1:]}
    assert rows["bank"] == ["money", "bank", "Banque", "asset", "65,00", "0,00", "65,00"]
    assert rows[f"capital:{m4}"] == ["money", f"capital:{m4}", f"Capital — {name4}", "equity", "0,00", "40,00",
                                     "-40,00"]
    assert rows[f"time:{m4}"][0] == "time" and rows[f"time:{m4}"][4:] == ["0", "0", "0"]  # minutes
    before = read_csv(browser.get(f"/clubs/{c}/books/trial-balance.csv?on={d1}"))
    assert {row[1]: row[6] for row in before[1:]}["bank"] == "25,00"

    capital = read_csv(browser.get(f"/clubs/{c}/books/capital.csv"))
    assert capital[0] == documented_columns("capital.csv") == [
        "Numéro de membre", "Nom", "État", "Versé", "Remboursé", "Capital", "Part (%)", "Valeur de la part"]
    people = {row[0]: row for row in capital[1:]}
    assert people[str(m3)][:6] == [str(m3), name3, "active", "25,00", "0,00", "25,00"]
    assert people[str(m4)][:6] == [str(m4), name4, "active", "40,00", "0,00", "40,00"]
    assert "." not in people[str(m3)][6]  # 25 / 65 of the capital, written with a decimal comma


def test_csv_separator_and_decimal_mark_follow_the_readers_choice(kept, make_browser):
    s = kept
    c = s.club_id
    bank = account_id(c, "bank")
    browser = make_browser(s.treasurer)
    chosen = "sep=comma&decimal=point"
    journal = read_csv(browser.get(f"/clubs/{c}/books/journal.csv?{chosen}"), sep=",")
    assert len(journal[0]) == 11 and sorted(row[10] for row in journal[1:]) == ["-25.00", "-40.00", "25.00", "40.00"]
    statement = read_csv(browser.get(f"/clubs/{c}/books/accounts/{bank}.csv?{chosen}"), sep=",")
    assert [row[4:] for row in statement[1:]] == [["25.00", "25.00"], ["40.00", "65.00"]]
    trial = read_csv(browser.get(f"/clubs/{c}/books/trial-balance.csv?{chosen}"), sep=",")
    assert ["money", "bank", "Banque", "asset", "65.00", "0.00", "65.00"] in trial
    capital = read_csv(browser.get(f"/clubs/{c}/books/capital.csv?{chosen}"), sep=",")
    assert len(capital[0]) == 8 and all("," not in cell for row in capital for cell in row)
    # Each choice on its own: a semicolon with decimal points, a comma with decimal commas (quoted cells).
    semi = read_csv(browser.get(f"/clubs/{c}/books/accounts/{bank}.csv?sep=semicolon&decimal=point"))
    assert [row[4:] for row in semi[1:]] == [["25.00", "25.00"], ["40.00", "65.00"]]
    comma = read_csv(browser.get(f"/clubs/{c}/books/accounts/{bank}.csv?sep=comma"), sep=",")
    assert [row[4:] for row in comma[1:]] == [["25,00", "25,00"], ["40,00", "65,00"]]


def test_text_that_looks_like_a_formula_is_neutralised_in_the_exports(kept, make_browser):
    s = kept
    c = s.club_id
    bank = account_id(c, "bank")
    fund.reverse_contribution(s.treasurer.id, c, s.c1.id, reason="=HYPERLINK(\"http://x\")", idempotency_key=key())
    fund.reverse_contribution(s.treasurer.id, c, s.c2.id, reason="@SUM(A1)", idempotency_key=key())
    db.session.rollback()
    browser = make_browser(s.treasurer)
    journal = read_csv(browser.get(f"/clubs/{c}/books/journal.csv"))
    descriptions = {row[4] for row in journal[1:]}
    assert "'=HYPERLINK(\"http://x\")" in descriptions and "'@SUM(A1)" in descriptions
    assert not any(d[:1] and d[:1] in "=+-@" for d in descriptions)
    reversal_rows = [row for row in journal[1:] if row[2] == "reversal"]
    assert {row[6] for row in reversal_rows} == {str(s.c1.transaction_id), str(s.c2.transaction_id)}
    reversed_by = {row[0]: row[7] for row in journal[1:] if row[2] == "contribution"}
    assert all(reversed_by.values())
    statement = read_csv(browser.get(f"/clubs/{c}/books/accounts/{bank}.csv"))
    assert [row[3] for row in statement[-2:]] == ["'=HYPERLINK(\"http://x\")", "'@SUM(A1)"]
    assert statement[-1][5] == "0,00"
    # A negative amount is a number, not text: it keeps its minus sign.
    assert "-25,00" in [row[4] for row in statement]


# --- Bank reconciliation through the forms ----------------------------------------------------------------------


def test_a_bank_statement_uploaded_previewed_kept_matched_with_a_fee_then_reconciled(kept, make_browser):
    """Books: 25.00 on day −5, 40.00 on day −3. The bank file: 25.00 on day −4 (one day off), 40.00 on day −3,
    a 12.50 fee on day −3. Kept with a window of 0 days only the 40.00 matches; automatic matching with 3
    days takes the 25.00; the fee is posted; every line and movement then has its pair: reconciled, the books
    holding 65.00 − 12.50 = 52.50."""
    s = kept
    c = s.club_id
    browser = make_browser(s.treasurer)
    upload_page = browser.get(f"/clubs/{c}/books/bank/upload")
    assert upload_page.status_code == 200 and 'enctype="multipart/form-data"' in upload_page.text
    data = bank_csv(f"{day(TODAY - timedelta(days=4))};VIR MEMBRE A;25,00",
                    f"{day(TODAY - timedelta(days=3))};VIR MEMBRE C;40,00",
                    f"{day(TODAY - timedelta(days=3))};FRAIS TENUE DE COMPTE;-12,50")
    before = snapshot()

    columns = upload_file(browser, c, data)
    assert columns.status_code == 200
    assert payload_of(columns.text)
    shown = form_values(columns.text)
    assert (shown["date"], shown["label"], shown["amount"]) == ("0", "1", "2")  # guessed from the header
    assert "FRAIS TENUE DE COMPTE" in columns.text

    preview = browser.client.post(f"/clubs/{c}/books/bank/columns",
                                  data=columns_form(browser, columns.text, "preview", window_days=0))
    assert preview.status_code == 200
    assert say_n("%(num)d new line; %(known)d already uploaded before.", "%(num)d new lines; %(known)d already uploaded before.",
                 3, known=0) in preview.text
    assert eur(-1_250) in preview.text
    assert snapshot() == before  # a preview keeps nothing

    kept_lines = browser.client.post(f"/clubs/{c}/books/bank/columns",
                                     data=columns_form(browser, columns.text, "upload", window_days=0))
    assert kept_lines.status_code == 302
    assert kept_lines.headers["Location"] == f"/clubs/{c}/books/bank"
    assert say_n("The statement is kept; %(num)d line matched the books at once.",
                 "The statement is kept; %(num)d lines matched the books at once.", 1) in \
        browser.get(kept_lines.headers["Location"]).text
    lines = {line.label: line for line in fresh().scalars(select(BankLine).where(BankLine.club_id == c))}
    assert {k: (v.amount, v.transaction_id) for k, v in lines.items()} == {
        "VIR MEMBRE A": (2_500, None), "VIR MEMBRE C": (4_000, s.c2.transaction_id),
        "FRAIS TENUE DE COMPTE": (-1_250, None)}

    # The same file kept again: every line is known, nothing is written.
    again = snapshot()
    replay = browser.client.post(f"/clubs/{c}/books/bank/columns",
                                 data=columns_form(browser, columns.text, "upload", window_days=0))
    assert replay.status_code == 409
    assert say("Every line of this file was already uploaded.") in replay.text
    assert snapshot() == again

    # Not reconciled while two lines wait.
    through = {"through": TODAY.isoformat()}
    early = browser.submit(f"/clubs/{c}/books/bank/reconcile", through, page=f"/clubs/{c}/books/bank")
    assert early.status_code == 400
    assert say("%(lines)d bank line(s) and %(movements)d movement(s) of the books up to this day are not matched "
               "yet.", lines=2, movements=0) in early.text
    assert snapshot() == again

    matched = browser.submit(f"/clubs/{c}/books/bank/auto-match", {"window_days": "3"},
                             page=f"/clubs/{c}/books/bank")
    assert matched.status_code == 302
    assert by_id_fresh(BankLine, lines["VIR MEMBRE A"].id).transaction_id == s.c1.transaction_id

    fee_line = lines["FRAIS TENUE DE COMPTE"].id
    bank_page = browser.get(f"/clubs/{c}/books/bank").text
    fee_form = {**hidden_fields(bank_page), "memo": "Frais tenue de compte"}
    assert fee_form.get("form_key")
    fee = browser.client.post(f"/clubs/{c}/books/bank/lines/{fee_line}/fee", data=fee_form)
    assert fee.status_code == 302
    line = by_id_fresh(BankLine, fee_line)
    txn = by_id(JournalTransaction, line.transaction_id)
    assert (txn.kind, txn.occurred_on, txn.memo) == ("fee", TODAY - timedelta(days=3), "Frais tenue de compte")
    assert balance(c, "expense:fees") == 1_250 and balance(c, "bank") == 5_250
    # The same fee form again: refused, nothing written.
    after_fee = snapshot()
    assert browser.client.post(f"/clubs/{c}/books/bank/lines/{fee_line}/fee", data=fee_form).status_code == 409
    assert snapshot() == after_fee

    done = browser.submit(f"/clubs/{c}/books/bank/reconcile", through, page=f"/clubs/{c}/books/bank")
    assert done.status_code == 302
    [rec] = fresh().scalars(select(BankReconciliation).where(BankReconciliation.club_id == c)).all()
    assert (rec.through, rec.book_balance) == (TODAY, 5_250)
    assert all(line.reconciliation_id == rec.id for line in db.session.scalars(
        select(BankLine).where(BankLine.club_id == c)))
    page = browser.get(f"/clubs/{c}/books/bank").text
    assert say("Every uploaded line is matched.") in page
    assert say("Every movement of the books has its bank line.") in page
    assert say("This line is already matched.") in browser.get(
        f"/clubs/{c}/books/bank/lines/{lines['VIR MEMBRE A'].id}").text


def test_matching_a_line_by_hand_and_undoing_it(kept, make_browser):
    s = kept
    c = s.club_id
    statement, matched = reconcile.upload(s.treasurer.id, c, bank_csv(f"{day(TODAY)};VIR TARDIF;25,00"),
                                          reconcile.Columns(0, 1, 2), window_days=0)
    assert matched == 0
    line = fresh().scalar(select(BankLine.id).where(BankLine.statement_id == statement.id))
    browser = make_browser(s.treasurer)
    page = browser.get(f"/clubs/{c}/books/bank/lines/{line}")
    assert f'name="transaction_id" value="{s.c1.transaction_id}"' in page.text  # same amount, five days off
    assert f'name="transaction_id" value="{s.c2.transaction_id}"' not in page.text  # another amount
    csrf = hidden_fields(page.text)["csrf_token"]
    wrong = snapshot()
    assert browser.client.post(f"/clubs/{c}/books/bank/lines/{line}/match",
                               data={"csrf_token": csrf, "transaction_id": str(s.c2.transaction_id)}
                               ).status_code == 400  # the amounts differ
    assert snapshot() == wrong
    done = browser.client.post(f"/clubs/{c}/books/bank/lines/{line}/match",
                               data={"csrf_token": csrf, "transaction_id": str(s.c1.transaction_id)})
    assert done.status_code == 302
    assert by_id_fresh(BankLine, line).by_hand is True
    undone = browser.client.post(f"/clubs/{c}/books/bank/lines/{line}/unmatch", data={"csrf_token": csrf})
    assert undone.status_code == 302 and by_id_fresh(BankLine, line).transaction_id is None


# --- Closing a period ---------------------------------------------------------------------------------------


def test_a_closed_period_refuses_a_contribution_dated_in_it(kept, make_browser):
    s = kept
    c = s.club_id
    through = TODAY.replace(day=1) - timedelta(days=1)  # the last day of last month
    browser = make_browser(s.treasurer)
    checks = f"/clubs/{c}/books/checks"
    assert say("No period is closed yet.") in browser.get(checks).text

    closed = browser.submit(f"/clubs/{c}/books/periods", {"through": through.isoformat(), "note": "Mois clos"},
                            page=checks)
    assert closed.status_code == 302 and closed.headers["Location"] == checks
    [period] = fresh().scalars(select(PeriodClose).where(PeriodClose.club_id == c)).all()
    assert (period.through, period.note, period.closed_by_id) == (through, "Mois clos", s.treasurer.id)
    kept_balances = {b.account_id: b.balance for b in db.session.scalars(
        select(ClosingBalance).where(ClosingBalance.period_close_id == period.id))}
    # Each account's balance at the end of ``through``: the contributions of day −5 and −3 count when dated
    # on or before it (early in a month they are), every other account holds nothing.
    c1_in = TODAY - timedelta(days=5) <= through
    c2_in = TODAY - timedelta(days=3) <= through
    expected = dict.fromkeys((a.id for a in ledger.accounts_of(c)), 0)
    expected[account_id(c, "bank")] = 2_500 * c1_in + 4_000 * c2_in
    expected[account_id(c, f"capital:{s.membership_id(s.members[3])}")] = -2_500 * c1_in
    expected[account_id(c, f"capital:{s.membership_id(s.members[4])}")] = -4_000 * c2_in
    assert kept_balances == expected
    assert books.closed_through(c) == through
    page = browser.get(checks).text
    assert say("No period is closed yet.") not in page and "Mois clos" in page

    # A contribution dated on the closed day: the form comes back with the ledger's message, nothing written.
    url = f"/clubs/{c}/contributions/new"
    before = snapshot()
    refused = browser.submit(url, {"membership_id": str(s.membership_id(s.members[5])), "amount": "10,00",
                                   "received_on": through.isoformat(), "method": "transfer", "bank_reference": ""})
    assert refused.status_code == 400
    assert say("The books are closed through %(day)s: date this entry after it (corrections go into the open "
               "period).", day=through.isoformat()) in refused.text
    assert snapshot() == before
    # The day after is open.
    ok = browser.submit(url, {"membership_id": str(s.membership_id(s.members[5])), "amount": "10,00",
                              "received_on": (through + timedelta(days=1)).isoformat(), "method": "transfer",
                              "bank_reference": ""})
    assert ok.status_code == 302

    # Closing the same month again, a day that ends no month, or a month not over: refused, nothing written.
    before = snapshot()
    assert browser.submit(f"/clubs/{c}/books/periods", {"through": through.isoformat()},
                          page=checks).status_code == 409
    assert browser.submit(f"/clubs/{c}/books/periods", {"through": (through - timedelta(days=1)).isoformat()},
                          page=checks).status_code == 400
    month_end = (TODAY.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    not_over = browser.submit(f"/clubs/{c}/books/periods", {"through": month_end.isoformat()}, page=checks)
    assert not_over.status_code == 400
    assert say("Only a period that is over can be closed.") in not_over.text
    assert snapshot() == before


# --- Balance checks --------------------------------------------------------------------------------------------


def test_closing_through_the_last_day_there_is_is_refused_not_a_500(kept, make_browser):
    """9999-12-31 is the last day of a month, but it has no next day: found by the fuzz, a 500 before."""
    c = kept.club_id
    before = snapshot()
    response = make_browser(kept.treasurer).submit(f"/clubs/{c}/books/periods", {"through": "9999-12-31"},
                                                   page=f"/clubs/{c}/books/checks")
    assert response.status_code == 400
    assert say_window() in response.text  # the date window (2000 to today + 40 years) refuses it first
    assert snapshot() == before


def test_a_bank_balance_one_cent_off_is_flagged_on_the_journal_until_explained(kept, make_browser):
    s = kept
    c = s.club_id
    browser = make_browser(s.treasurer)
    checks = f"/clubs/{c}/books/checks"
    journal = f"/clubs/{c}/books"
    assert warnings_of(browser.get(journal).text) == []

    noted = browser.submit(f"/clubs/{c}/books/assertions",
                           {"stated_on": TODAY.isoformat(), "amount": "65,01", "source": "Relevé n° 12"}, page=checks)
    assert noted.status_code == 302
    [assertion] = fresh().scalars(select(BalanceAssertion).where(BalanceAssertion.club_id == c)).all()
    assert (assertion.expected, assertion.stated_on, assertion.status) == (6_501, TODAY, AssertionStatus.OPEN)
    # The books hold 65.00: a difference of −0.01 on every books page.
    for page in (journal, checks, f"/clubs/{c}/books/trial-balance"):
        [warning] = warnings_of(browser.get(page).text)
        assert eur(6_501) in warning and eur(6_500) in warning and eur(-1) in warning
    # A member's own statement shows no officer's warning.
    own = account_id(c, f"capital:{s.membership_id(s.members[3])}")
    assert warnings_of(make_browser(s.members[3]).get(f"/clubs/{c}/books/accounts/{own}").text) == []

    resolve = f"/clubs/{c}/books/assertions/{assertion.id}/resolve"
    before = snapshot()
    assert browser.submit(resolve, {"note": ""}, page=checks).status_code == 400
    assert snapshot() == before
    explained = browser.submit(resolve, {"note": "Erreur de la banque, corrigée le mois suivant"}, page=checks)
    assert explained.status_code == 302
    assertion = by_id_fresh(BalanceAssertion, assertion.id)
    assert (assertion.status, assertion.resolution) == (AssertionStatus.RESOLVED,
                                                        "Erreur de la banque, corrigée le mois suivant")
    assert warnings_of(browser.get(journal).text) == []
    assert "Erreur de la banque" in browser.get(checks).text
    before = snapshot()
    assert browser.submit(resolve, {"note": "Encore"}, page=checks).status_code == 409
    assert snapshot() == before

    # A balance that agrees is never flagged.
    agreed = browser.submit(f"/clubs/{c}/books/assertions", {"stated_on": TODAY.isoformat(), "amount": "65,00"},
                            page=checks)
    assert agreed.status_code == 302
    assert warnings_of(browser.get(journal).text) == []
    assert say("in agreement") in browser.get(checks).text


def test_a_difference_disappears_when_a_later_entry_dated_before_the_day_explains_it(kept, make_browser):
    s = kept
    c = s.club_id
    browser = make_browser(s.treasurer)
    stated = TODAY - timedelta(days=1)
    assert browser.submit(f"/clubs/{c}/books/assertions", {"stated_on": stated.isoformat(), "amount": "75,00"},
                          page=f"/clubs/{c}/books/checks").status_code == 302
    assert len(warnings_of(browser.get(f"/clubs/{c}/books").text)) == 1
    contribute(s, s.members[5], 1_000, stated - timedelta(days=1), "Oublié")  # 65.00 + 10.00 = 75.00
    db.session.rollback()
    assert warnings_of(browser.get(f"/clubs/{c}/books").text) == []


# --- Refusals: other clubs, members, replays ---------------------------------------------------------------------


def test_other_clubs_and_plain_members_write_nothing(kept, neighbour, make_browser):
    s = kept
    c = s.club_id
    statement, _ = reconcile.upload(s.treasurer.id, c, bank_csv(f"{day(TODAY)};FRAIS;-1,00",
                                                                f"{day(TODAY)};VIR;3,00"),
                                    reconcile.Columns(0, 1, 2))
    line = fresh().scalar(select(BankLine.id).where(BankLine.statement_id == statement.id, BankLine.amount < 0))
    theirs_statement, _ = reconcile.upload(neighbour.treasurer.id, neighbour.club_id,
                                           bank_csv(f"{day(TODAY)};FRAIS;-2,00"), reconcile.Columns(0, 1, 2))
    theirs = fresh().scalar(select(BankLine.id).where(BankLine.statement_id == theirs_statement.id))
    assertion = books.assert_balance(s.treasurer.id, c, stated_on=TODAY, amount=1)
    their_txn = contribute(neighbour, neighbour.members[3], 500, TODAY).transaction_id
    db.session.rollback()
    through = (TODAY.replace(day=1) - timedelta(days=1)).isoformat()

    def posts(club_id: int, line_id: int, assertion_id: int, transaction_id: int) -> dict[str, dict]:
        base = f"/clubs/{club_id}/books"
        return {
            f"{base}/periods": {"through": through},
            f"{base}/assertions": {"stated_on": TODAY.isoformat(), "amount": "1,00"},
            f"{base}/assertions/{assertion_id}/resolve": {"note": "Pourquoi pas"},
            f"{base}/bank/auto-match": {"window_days": "3"},
            f"{base}/bank/reconcile": {"through": TODAY.isoformat()},
            f"{base}/bank/lines/{line_id}/fee": {"memo": "Frais", "form_key": key()},
            f"{base}/bank/lines/{line_id}/match": {"transaction_id": str(transaction_id)},
            f"{base}/bank/lines/{line_id}/unmatch": {},
            f"{base}/bank/lines/{line_id}/contribution": {"membership_id": str(s.membership_id(s.members[3]))},
        }

    before = snapshot()
    # A member of another club, even its treasurer: 404 everywhere.
    for person in (neighbour.treasurer, neighbour.members[3]):
        outsider = make_browser(person)
        csrf = token(outsider)
        sent = {url: outsider.client.post(url, data={**data, "csrf_token": csrf}).status_code
                for url, data in posts(c, line, assertion.id, s.c1.transaction_id).items()}
        assert sent == dict.fromkeys(sent, 404)
        upload = outsider.client.post(f"/clubs/{c}/books/bank/upload",
                                      data={"csrf_token": csrf, "file": (io.BytesIO(bank_csv("x;y;1")), "f.csv")},
                                      content_type="multipart/form-data")
        assert upload.status_code == 404
    # A plain member of this club: 403.
    plain = make_browser(s.members[3])
    csrf = token(plain)
    sent = {url: plain.client.post(url, data={**data, "csrf_token": csrf}).status_code
            for url, data in posts(c, line, assertion.id, s.c1.transaction_id).items()}
    assert sent == dict.fromkeys(sent, 403)
    assert snapshot() == before
    # This club's treasurer with another club's line, transaction or balance check: 404.
    treasurer = make_browser(s.treasurer)
    csrf = token(treasurer)
    foreign = posts(c, theirs, assertion.id, their_txn)
    for url in (f"/clubs/{c}/books/bank/lines/{theirs}/fee", f"/clubs/{c}/books/bank/lines/{theirs}/match",
                f"/clubs/{c}/books/bank/lines/{theirs}/unmatch"):
        assert treasurer.client.post(url, data={**foreign[url], "csrf_token": csrf}).status_code == 404, url
    assert treasurer.client.get(f"/clubs/{c}/books/bank/lines/{theirs}").status_code == 404
    assert treasurer.client.post(f"/clubs/{c}/books/bank/lines/{line}/match",
                                 data={"csrf_token": csrf, "transaction_id": str(their_txn)}).status_code == 404
    their_check = books.assert_balance(neighbour.treasurer.id, neighbour.club_id, stated_on=TODAY, amount=1)
    db.session.rollback()
    before = snapshot()
    assert treasurer.client.post(f"/clubs/{c}/books/assertions/{their_check.id}/resolve",
                                 data={"csrf_token": csrf, "note": "Pas chez nous"}).status_code == 404
    assert treasurer.client.get(f"/clubs/{c}/books/transactions/{their_txn}").status_code == 404
    assert treasurer.client.get(
        f"/clubs/{c}/books/accounts/{account_id(neighbour.club_id, 'bank')}").status_code == 404
    # Without the CSRF token: 400.
    assert treasurer.client.post(f"/clubs/{c}/books/periods", data={"through": through}).status_code == 400
    assert snapshot() == before


def test_a_statement_file_sealed_for_one_person_or_altered_is_refused(kept, make_browser):
    s = kept
    c = s.club_id
    treasurer = make_browser(s.treasurer)
    columns = upload_file(treasurer, c, bank_csv(f"{day(TODAY)};VIR;3,00"))
    assert columns.status_code == 200
    sent = columns_form(treasurer, columns.text, "upload")
    before = snapshot()
    # The manager (who reads the books) sends the treasurer's sealed file: 400.
    manager = make_browser(s.manager)
    assert manager.client.post(f"/clubs/{c}/books/bank/columns",
                               data={**sent, "csrf_token": token(manager)}).status_code == 400
    # An altered payload: 400.
    payload = sent["payload"]
    altered = payload[:-3] + ("AAA" if not payload.endswith("AAA") else "BBB")
    assert treasurer.client.post(f"/clubs/{c}/books/bank/columns",
                                 data={**sent, "payload": altered}).status_code == 400
    assert treasurer.client.post(f"/clubs/{c}/books/bank/columns", data={**sent, "payload": ""}).status_code == 400
    # A column that does not exist: the form again, 400.
    assert treasurer.client.post(f"/clubs/{c}/books/bank/columns", data={**sent, "date": "7"}).status_code == 400
    assert snapshot() == before
    # The manager may not upload at all (the treasurer keeps the books).
    assert manager.get(f"/clubs/{c}/books/bank/upload").status_code == 403


# --- The chain's head, printed at each close --------------------------------------------------------------------


def format_day(day: date) -> str:
    return format_date(day, "medium", locale="fr")


def test_the_printable_statement_shows_the_chain_head_recorded_at_the_last_close(kept, make_browser):
    """The head (number and seal) recorded when the books closed is on every printable statement and on the
    closed periods: kept on paper, it shows later whether transactions were cut off the end of the chain."""
    s = kept
    c = s.club_id
    through = TODAY.replace(day=1) - timedelta(days=1)
    period = books.close_period(s.treasurer.id, c, through=through, today=TODAY)
    seq, seal = period.head_seq, period.head_hash
    assert seq == 2 and len(seal) == 64
    bank = ledger.find_account(c, "bank").id
    own = ledger.find_account(c, f"capital:{s.membership_id(s.members[3])}").id
    db.session.rollback()

    printable = make_browser(s.treasurer).get(f"/clubs/{c}/books/accounts/{bank}?print=1").text
    member_page = make_browser(s.members[3]).get(f"/clubs/{c}/books/accounts/{own}?print=1").text
    checks = make_browser(s.treasurer).get(f"/clubs/{c}/books/checks").text

    for page in (printable, member_page, checks):
        assert seal in page
        assert say("Books closed through %(day)s: the journal then ended at number %(seq)s, sealed %(hash)s.",
                   day=format_day(through), seq=seq, hash=seal) in page
