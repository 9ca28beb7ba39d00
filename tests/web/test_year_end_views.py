"""Year end through the pages (issue 16, part 2), in French and in English, on both databases: the treasurer
closes 2025 after ticking the confirmation, the balance sheet shows the result allocated, the year is reopened
with a reason; members read their yearly statement (page, printable page, CSV with columns in their language)
and nobody else's; refusals answer 4xx and write nothing."""
from __future__ import annotations

import csv
import io
from datetime import date

from markupsafe import escape
from sqlalchemy import select

from coop.amounts import money
from coop.extensions import db
from coop.models import User, YearEnd
from tests.conftest import hidden_fields, say, snapshot
from tests.services.test_year_end import YEAR, contribute, fee

BOM = "\ufeff"


def year_2025(make_club):
    """Five members; four pay 1,000.00 on 1 January 2025, the fifth 1,000.00 on 2 July; a fee of 10.00."""
    setup = make_club(5)
    for user in setup.members[:4]:
        contribute(setup, user, 100_000, date(YEAR, 1, 1))
    contribute(setup, setup.members[4], 100_000, date(YEAR, 7, 2))
    fee(setup, 1_000, date(YEAR, 6, 1))
    return setup


def closes(club_id: int) -> list[YearEnd]:
    db.session.rollback()
    return list(db.session.scalars(select(YearEnd).where(YearEnd.club_id == club_id).order_by(YearEnd.id)))


def test_the_treasurer_closes_and_reopens_a_year_through_the_pages(make_club, make_browser):
    setup = year_2025(make_club)
    c = setup.club_id
    years = f"/clubs/{c}/books/years"
    browser = make_browser(setup.treasurer)
    page = browser.get(years)
    assert page.status_code == 200
    assert say("Close the year %(year)d", year=YEAR) in page.text
    assert say("over, not closed: its result is not allocated yet") in page.text
    assert 'class="table-scroll"' in page.text

    # Without the confirmation: the page again, 400, nothing written.
    before = snapshot()
    unconfirmed = browser.submit(f"{years}/{YEAR}/close", {}, page=years)
    assert unconfirmed.status_code == 400
    assert say("Tick the box to confirm the year end.") in unconfirmed.text
    assert snapshot() == before

    # Confirmed: closed, once, even if the form is sent twice.
    fields = hidden_fields(browser.get(years).text)
    done = browser.client.post(f"{years}/{YEAR}/close", data={**fields, "confirm": "y"})
    assert done.status_code == 302 and done.headers["Location"] == years
    [closed] = closes(c)
    assert closed.year == YEAR and closed.result == -1_000
    before = snapshot()
    again = browser.client.post(f"{years}/{YEAR}/close", data={**fields, "confirm": "y"})
    assert again.status_code == 302
    assert snapshot() == before
    page = browser.get(years).text
    assert say("Reopen the year %(year)d", year=YEAR) in page
    sheet = browser.get(f"/clubs/{c}/books/balance-sheet?on={YEAR}-12-31").text
    assert say("Result of %(year)d and earlier years: allocated to members’ capital (year closed).",
               year=YEAR) in sheet

    # Reopened with a reason; without one, refused.
    before = snapshot()
    assert browser.submit(f"{years}/{YEAR}/reopen", {"reason": ""}, page=years).status_code == 400
    assert snapshot() == before
    reopened = browser.submit(f"{years}/{YEAR}/reopen", {"reason": "Frais à corriger"}, page=years)
    assert reopened.status_code == 302
    [row] = closes(c)
    assert row.reason == "Frais à corriger" and row.reopen_transaction_id is not None
    assert "Frais à corriger" in browser.get(years).text


def test_only_the_treasurer_closes_and_a_member_sees_no_year_end_page(make_club, make_browser):
    setup = year_2025(make_club)
    c = setup.club_id
    member = make_browser(setup.members[3])
    assert member.get(f"/clubs/{c}/books/years").status_code == 403
    before = snapshot()
    token = hidden_fields(member.get("/").text)
    assert member.client.post(f"/clubs/{c}/books/years/{YEAR}/close",
                              data={**token, "form_key": "a" * 32, "confirm": "y"}).status_code == 403
    manager = make_browser(setup.manager)
    page = manager.get(f"/clubs/{c}/books/years")
    assert page.status_code == 200 and say("Close the year %(year)d", year=YEAR) not in page.text
    assert manager.client.post(f"/clubs/{c}/books/years/{YEAR}/close",
                               data={**hidden_fields(page.text), "form_key": "b" * 32, "confirm": "y"}).status_code == 403
    # A year not over, or not a year: 4xx, never a 500.
    treasurer = make_browser(setup.treasurer)
    shown = treasurer.get(f"/clubs/{c}/books/years").text
    not_over = treasurer.client.post(f"/clubs/{c}/books/years/{date.today().year}/close",
                                     data={**hidden_fields(shown), "confirm": "y"})
    assert not_over.status_code in (400, 409, 422)
    huge = treasurer.client.post(f"/clubs/{c}/books/years/99999999999/close",
                                 data={**hidden_fields(shown), "confirm": "y"})
    assert 400 <= huge.status_code < 500
    assert snapshot() == before


def test_a_member_reads_their_yearly_statement_in_french_and_in_english(make_club, make_browser):
    setup = year_2025(make_club)
    c = setup.club_id
    treasurer = make_browser(setup.treasurer)
    fields = hidden_fields(treasurer.get(f"/clubs/{c}/books/years").text)
    assert treasurer.client.post(f"/clubs/{c}/books/years/{YEAR}/close",
                                 data={**fields, "confirm": "y"}).status_code == 302
    late = setup.members[4]
    browser = make_browser(late)
    home = browser.get(f"/clubs/{c}/").text
    assert f"/clubs/{c}/statements" in home
    listing = browser.get(f"/clubs/{c}/statements")
    assert listing.status_code == 200 and say("My statement for %(year)d", year=YEAR) in listing.text

    page = browser.get(f"/clubs/{c}/statements/{YEAR}")
    assert page.status_code == 200
    assert say("Statement for %(year)d", year=YEAR) in page.text
    assert say("Fees and other expenses") in page.text
    # Weights 365 × 4 and 183 of 1,643: the loss of 1,000 cents → 222.2 × 4 and 111.4; the cent left goes to
    # the largest remainder, the fifth member's (0.38 against 0.15): 1.12 €.
    assert str(escape(money(-112, "EUR", "fr"))) in page.text
    assert browser.get(f"/clubs/{c}/statements/{YEAR}?print=1").status_code == 200

    sheet = browser.get(f"/clubs/{c}/statements/{YEAR}.csv")
    assert sheet.status_code == 200
    text = sheet.data.decode("utf-8")
    assert text.startswith(BOM)
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows[0] == ["Ligne", "Tout le club", "Part du membre"]
    assert ["Frais et autres charges", "10,00", "1,12"] in rows
    assert ["Résultat de l’exercice", "-10,00", "-1,12"] in rows

    # Nobody else's statement; a bad member number is a 400; a year not over is refused.
    other = setup.membership_id(setup.members[0])
    assert browser.get(f"/clubs/{c}/statements/{YEAR}?member={other}").status_code == 404
    assert browser.get(f"/clubs/{c}/statements/{YEAR}?member=abc").status_code == 400
    assert browser.get(f"/clubs/{c}/statements/{date.today().year}").status_code in (400, 409, 422)
    # The treasurer reads anyone's.
    assert treasurer.get(f"/clubs/{c}/statements/{YEAR}?member={other}").status_code == 200

    # In English.
    user = db.session.get(User, late.id)
    user.language = "en"
    db.session.commit()
    english = make_browser(late)
    page = english.get(f"/clubs/{c}/statements/{YEAR}").text
    assert f"Statement for {YEAR}" in page and "Fees and other expenses" in page
    rows = list(csv.reader(io.StringIO(english.get(f"/clubs/{c}/statements/{YEAR}.csv").data.decode()[1:])))
    assert rows[0] == ["Line", "Whole club", "Member's share"]
    assert ["Fees and other expenses", "10.00", "1.12"] in rows
    treasurer_en = db.session.get(User, setup.treasurer.id)
    treasurer_en.language = "en"
    db.session.commit()
    years = make_browser(setup.treasurer).get(f"/clubs/{c}/books/years").text
    assert f"Reopen the year {YEAR}" in years
