"""The FEC pages through the browser (blueprint ``books``), on both databases: who opens the page and downloads
the file, the file as served (name, type, character set, content), a changed chart of accounts in the next file,
and bad input — a SIREN, a year, a number, a post without its token — refused with a 4xx and the reason on the
page, nothing written.

The ``club`` fixture: manager, treasurer, secretary, three plain members (members[3:]), all French."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from coop.extensions import db
from coop.models import AuditEntry, PcgMapping
from coop.services import fund
from tests.conftest import hidden_fields, key, say, say_n, snapshot

TODAY = date.today()
YEAR = TODAY.year - 1
SIREN = "552100554"
HEADER = ("JournalCode\tJournalLib\tEcritureNum\tEcritureDate\tCompteNum\tCompteLib\tCompAuxNum\tCompAuxLib\tPieceRef\t"
          "PieceDate\tEcritureLib\tDebit\tCredit\tEcritureLet\tDateLet\tValidDate\tMontantdevise\tIdevise")


@pytest.fixture
def paid(club):
    """Two members paid in last year: 25.00 on 3 March and 40.00 on 5 July."""
    for user, amount, on in ((club.members[3], 2_500, date(YEAR, 3, 3)), (club.members[4], 4_000, date(YEAR, 7, 5))):
        fund.record_contribution(club.treasurer.id, club.club_id, membership_id=club.membership_id(user),
                                 amount=amount, received_on=on, method="transfer", bank_reference="Virement",
                                 idempotency_key=key())
    db.session.rollback()
    return club


def fec_url(club_id: int, **args) -> str:
    query = {"year": YEAR, "siren": SIREN, "sep": "tab", **args}
    return f"/clubs/{club_id}/books/fec.txt?" + "&".join(f"{k}={v}" for k, v in query.items())


def test_bookkeepers_open_the_page_and_download_members_and_outsiders_do_not(paid, neighbour, make_browser):
    s = paid
    c = s.club_id
    pages = {f"/clubs/{c}/books/fec": (200, 200, 403), fec_url(c): (200, 200, 403)}
    treasurer, manager, plain = make_browser(s.treasurer), make_browser(s.manager), make_browser(s.members[3])
    assert {p: (treasurer.get(p).status_code, manager.get(p).status_code, plain.get(p).status_code)
            for p in pages} == pages
    outsider = make_browser(neighbour.treasurer)
    assert {p: outsider.get(p).status_code for p in pages} == dict.fromkeys(pages, 404)
    page = treasurer.get(f"/clubs/{c}/books/fec").text
    assert say("Download the FEC") in page and 'name="number-bank"' in page and 'value="512000"' in page
    assert say("not closed: entries may still be dated in it, so its file may change") in page
    # The manager reads the chart but has no form to change it.
    shown = manager.get(f"/clubs/{c}/books/fec").text
    assert 'name="number-bank"' not in shown and "512000" in shown
    assert f'href="/clubs/{c}/books/fec"' in treasurer.get(f"/clubs/{c}/books").text


def test_the_file_is_served_with_its_name_its_character_set_and_the_years_entries(paid, make_browser):
    s = paid
    response = make_browser(s.treasurer).get(fec_url(s.club_id, siren="552+100+554"))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="{SIREN}FEC{YEAR}1231.txt"'
    assert response.mimetype == "text/plain" and response.mimetype_params["charset"] == "iso-8859-15"
    text = response.data.decode("iso-8859-15")
    lines = text.split("\r\n")
    assert lines[0] == HEADER and lines[-1] == ""
    assert len(lines) == 1 + 4 + 1  # header, two entries of two lines, the final line break
    assert {line.split("\t")[2] for line in lines[1:-1]} == {"1", "2"}
    assert [line.split("\t")[11:13] for line in lines[1:-1]] == [["25,00", "0,00"], ["0,00", "25,00"],
                                                                  ["40,00", "0,00"], ["0,00", "40,00"]]
    pipe = make_browser(s.treasurer).get(fec_url(s.club_id, sep="pipe"))
    assert pipe.data.replace(b"|", b"\t") == response.data


@pytest.mark.parametrize("args, message", [
    ({"siren": "123456789"}, "This SIREN is not valid: check its digits."),
    ({"siren": "12345"}, "A SIREN has nine digits."),
    ({"year": 1999}, "Choose a year from 2000 to %(last)d."),
    ({"year": YEAR - 3}, "The books hold no money entry for %(year)d and no balance carried into it: there is "
                         "nothing to export."),
])
def test_bad_input_is_shown_on_the_page_with_a_400_and_no_file(paid, make_browser, args, message):
    before = snapshot()
    response = make_browser(paid.treasurer).get(fec_url(paid.club_id, **args))
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert say(message, last=TODAY.year + 1, year=args.get("year", 0)) in response.text
    assert snapshot() == before


@pytest.mark.parametrize("query", ["year=abc&siren=552100554", "siren=552100554", "year=2025", "year=2025&siren="
                                   "552100554&sep=comma", "year=99999999999999999999&siren=552100554"])
def test_a_query_that_cannot_be_read_is_a_400_never_a_500(paid, make_browser, query):
    response = make_browser(paid.treasurer).get(f"/clubs/{paid.club_id}/books/fec.txt?{query}")
    assert response.status_code == 400 and response.mimetype == "text/html"


def chart_form(browser, club_id: int, **changes) -> dict:
    page = browser.get(f"/clubs/{club_id}/books/fec")
    sent = {"csrf_token": hidden_fields(page.text)["csrf_token"]}
    sent.update(changes)
    return sent


def test_the_treasurer_changes_an_account_number_and_the_next_file_has_it(paid, make_browser):
    s = paid
    c = s.club_id
    treasurer = make_browser(s.treasurer)
    response = treasurer.client.post(f"/clubs/{c}/books/fec/chart", data=chart_form(
        treasurer, c, **{"number-bank": "512100", "label-bank": "Crédit Coopératif"}), follow_redirects=True)
    assert response.status_code == 200
    assert say_n("%(num)d account number changed.", "%(num)d account numbers changed.", 1) in response.text
    assert db.session.scalar(select(PcgMapping.number).where(PcgMapping.club_id == c)) == "512100"
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "fec.chart")) == "fec.chart"
    text = treasurer.get(fec_url(c)).data.decode("iso-8859-15")
    assert "\t512100\tCrédit Coopératif\t" in text and "\t512000\t" not in text


@pytest.mark.parametrize("changes, message", [
    ({"number-bank": "612000", "label-bank": "Banque"}, "This account cannot go to class %(digit)s: use class "
                                                        "%(classes)s."),
    ({"number-bank": "12", "label-bank": "Banque"}, "A PCG account number has 3 to 12 digits and starts with its "
                                                    "class, 1 to 7."),
    ({"number-bank": "455100", "label-bank": "Banque"}, "Account %(number)s has two names, “%(first)s” and "
                                                        "“%(second)s”: give it one."),
])
def test_a_bad_number_is_refused_next_to_its_field_with_nothing_written(paid, make_browser, changes, message):
    s = paid
    treasurer = make_browser(s.treasurer)
    sent = chart_form(treasurer, s.club_id, **changes)
    before = snapshot()
    response = treasurer.client.post(f"/clubs/{s.club_id}/books/fec/chart", data=sent)
    assert response.status_code == 400
    assert say(message, digit="6", classes="2 / 3 / 4 / 5", number="455100", first="Associés - Comptes courants",
               second="Banque") in response.text
    assert 'aria-invalid="true"' in response.text
    assert snapshot() == before


def test_only_the_treasurer_changes_the_chart_and_a_post_without_its_token_is_refused(paid, make_browser):
    s = paid
    c = s.club_id
    before = snapshot()
    manager = make_browser(s.manager)
    sent = chart_form(manager, c, **{"number-bank": "512100", "label-bank": "Banque"})
    assert manager.client.post(f"/clubs/{c}/books/fec/chart", data=sent).status_code == 403
    plain = make_browser(s.members[3])
    token = hidden_fields(plain.get("/").text)["csrf_token"]
    assert plain.client.post(f"/clubs/{c}/books/fec/chart", data={"csrf_token": token, "number-bank": "512100",
                                                                 "label-bank": "Banque"}).status_code == 403
    treasurer = make_browser(s.treasurer)
    assert treasurer.client.post(f"/clubs/{c}/books/fec/chart", data={"number-bank": "512100",
                                                                     "label-bank": "Banque"}).status_code == 400
    assert snapshot() == before


def test_a_club_in_cad_is_told_why_it_has_no_fec(make_club, make_browser):
    setup = make_club(5, currency="CAD", name="Cercle de Québec")
    treasurer = make_browser(setup.treasurer)
    page = treasurer.get(f"/clubs/{setup.club_id}/books/fec")
    message = say("The FEC is a French tax file for books kept in euros; this club keeps its books in %(currency)s.",
                  currency="CAD")
    assert page.status_code == 200 and message in page.text and "number-bank" not in page.text
    response = treasurer.get(fec_url(setup.club_id, year=TODAY.year))
    assert response.status_code == 400 and message in response.text
