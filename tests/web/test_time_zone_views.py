"""Times on a club's pages, in its mail and in its forms are on the club's clock (issue 15, point 17), never UTC.

The club (``club`` fixture): members[0] manager, [1] treasurer, [2] secretary, [3] [4] [5] plain members; its zone
is Europe/Paris unless a test moves it."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from babel.dates import format_date
from sqlalchemy import select

from coop.extensions import db
from coop.models import Ballot, Club
from coop.models.base import utcnow
from coop.services import ballots, clubs
from coop.services.ballots import Subject
from tests.conftest import key, say, snapshot
from tests.smtp import smtp_server


@pytest.fixture
def inbox(app):
    with smtp_server(app) as box:
        yield box


def shown(moment: datetime, zone: str) -> str:
    """How a French page writes a stored (UTC) moment on ``zone``'s clock, worked out here independently."""
    wall = moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
    return f"{format_date(wall, 'medium', locale='fr')}, {wall:%H:%M} ({zone})"


def deadline() -> datetime:
    """A week ahead, at 17 minutes past an hour, in UTC as stored."""
    return (utcnow() + timedelta(days=7)).replace(minute=17, second=0, microsecond=0)


def open_dissolution(setup, closes_at: datetime) -> Ballot:
    return ballots.open_ballot(setup.manager.id, setup.club_id, kind="dissolution", method="yes_no",
                               closes_at=closes_at, subject=Subject(), form_key=key())


def stored_ballot(club_id: int) -> Ballot:
    db.session.rollback()
    return db.session.scalar(select(Ballot).where(Ballot.club_id == club_id))


@pytest.mark.parametrize("zone", ["America/Montreal", "Europe/Paris", "Pacific/Noumea"])
def test_a_ballots_deadline_is_shown_on_the_clubs_clock(club, make_browser, zone):
    if zone != "Europe/Paris":
        clubs.set_time_zone(club.manager.id, club.club_id, zone)
    closes_at = deadline()
    ballot = open_dissolution(club, closes_at)
    browser = make_browser(club.members[4])

    pages = {path: browser.get(f"/clubs/{club.club_id}{path}") for path in ("/", "/ballots", f"/ballots/{ballot.id}")}
    pages["home"] = browser.get("/")

    utc_text = f"{closes_at:%H:%M}"
    for path, page in pages.items():
        assert page.status_code == 200, path
        assert shown(closes_at, zone) in page.text, path
        assert " UTC" not in page.text and f", {utc_text}" not in page.text, path


def test_the_opening_date_and_the_close_are_on_the_clubs_clock_too(club, make_browser):
    clubs.set_time_zone(club.manager.id, club.club_id, "America/Montreal")
    ballot = open_dissolution(club, deadline())
    ballots.tick(now=ballot.closes_at + timedelta(minutes=1))

    page = make_browser(club.members[3]).get(f"/clubs/{club.club_id}/ballots/{ballot.id}")

    closed = stored_ballot(club.club_id)
    assert shown(closed.opened_at, "America/Montreal") in page.text
    assert shown(closed.closed_at, "America/Montreal") in page.text
    assert " UTC" not in page.text


def test_a_deadline_typed_in_the_form_is_the_clubs_local_time(club, make_browser):
    clubs.set_time_zone(club.manager.id, club.club_id, "America/Montreal")
    browser = make_browser(club.manager)
    form = browser.get(f"/clubs/{club.club_id}/ballots/new/dissolution")
    assert say("On the club’s clock: %(zone)s.", zone="America/Montreal") in form.text
    day = (datetime.now(ZoneInfo("America/Montreal")) + timedelta(days=7)).date()
    typed = datetime.combine(day, datetime.min.time()).replace(hour=10, minute=30)

    response = browser.submit(f"/clubs/{club.club_id}/ballots/new/dissolution",
                              {"method": "yes_no", "closes_at": f"{typed:%Y-%m-%dT%H:%M}"})

    assert response.status_code == 302
    expected = typed.replace(tzinfo=ZoneInfo("America/Montreal")).astimezone(UTC).replace(tzinfo=None)
    assert stored_ballot(club.club_id).closes_at == expected  # 15:30 UTC in winter, 14:30 in summer
    assert shown(expected, "America/Montreal") in browser.get(response.headers["Location"]).text


def test_the_forms_default_deadline_is_a_week_ahead_on_the_clubs_clock(club, make_browser):
    clubs.set_time_zone(club.manager.id, club.club_id, "Pacific/Noumea")
    page = make_browser(club.manager).get(f"/clubs/{club.club_id}/ballots/new/dissolution").text

    value = re.search(r'name="closes_at"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="closes_at"', page)
    default = datetime.fromisoformat(next(v for v in value.groups() if v))
    ahead = datetime.now(ZoneInfo("Pacific/Noumea")).replace(tzinfo=None) + timedelta(days=7)
    assert timedelta(0) <= ahead - default < timedelta(hours=1, minutes=1)


def test_across_the_change_to_summer_time_a_deadline_keeps_its_wall_clock_time(make_club, make_browser):
    """A week before Paris moves to summer time (28 March 2027), a vote closing on the 29th at 10:00 closes at
    08:00 UTC, one typed for the 27th at 10:00 at 09:00 UTC; 02:30 on the 28th does not exist and is refused."""
    setup = make_club(5)
    form_url = f"/clubs/{setup.club_id}/ballots/new/"
    with time_machine.travel(datetime(2027, 3, 21, 12, 0, tzinfo=UTC), tick=True):
        browser = make_browser(setup.manager)
        after = browser.submit(form_url + "dissolution", {"method": "yes_no", "closes_at": "2027-03-29T10:00"})
        before = browser.submit(form_url + "renewal", {"method": "yes_no", "closes_at": "2027-03-27T10:00"})
        assert (after.status_code, before.status_code) == (302, 302)
        untouched = snapshot()
        skipped = browser.submit(form_url + "dissolution", {"method": "yes_no", "closes_at": "2027-03-28T02:30"})
        assert snapshot() == untouched

    db.session.rollback()
    stored = {b.kind: b.closes_at for b in db.session.scalars(select(Ballot).where(Ballot.club_id == setup.club_id))}
    assert stored == {"dissolution": datetime(2027, 3, 29, 8, 0), "renewal": datetime(2027, 3, 27, 9, 0)}
    assert skipped.status_code == 400
    assert say("There is no %(time)s that day in %(zone)s: the clocks go forward an hour. Choose another time.",
               time="02:30", zone="Europe/Paris") in skipped.text


def test_the_mail_of_a_new_ballot_gives_the_deadline_on_the_clubs_clock(club, make_browser, inbox):
    clubs.set_time_zone(club.manager.id, club.club_id, "America/Montreal")
    closes_at = deadline()

    open_dissolution(club, closes_at)

    assert inbox.mail
    for sent in inbox.mail:
        assert shown(closes_at, "America/Montreal") in sent.body
        assert "UTC" not in sent.body


# --- Choosing the zone -----------------------------------------------------------------------------------------


def test_a_club_is_created_with_the_zone_chosen_in_the_form(app, make_user, make_browser):
    browser = make_browser(make_user())
    page = browser.get("/clubs/new").text
    assert '<option value="America/Montreal">America/Montreal</option>' in page
    assert '<option selected value="">' in page or '<option value="" selected>' in page

    chosen = browser.submit("/clubs/new", {"name": "Cigale de Moncton", "town": "Moncton", "country": "CA",
                                           "currency": "CAD", "time_zone": "America/Moncton"})
    usual = browser.submit("/clubs/new", {"name": "Cigale de Montréal", "town": "Montréal", "country": "CA",
                                          "currency": "CAD", "time_zone": ""})

    assert (chosen.status_code, usual.status_code) == (302, 302)
    db.session.rollback()
    assert dict(db.session.execute(select(Club.name, Club.time_zone)).all()) == {
        "Cigale de Moncton": "America/Moncton", "Cigale de Montréal": "America/Montreal"}


def test_the_manager_changes_the_zone_on_the_charter_page(club, make_browser):
    browser = make_browser(club.manager)
    charter = browser.get(f"/clubs/{club.club_id}/charter").text
    assert f'action="/clubs/{club.club_id}/time-zone"' in charter

    response = browser.submit(f"/clubs/{club.club_id}/time-zone", {"time_zone": "Indian/Reunion"},
                              page=f"/clubs/{club.club_id}/charter")

    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(Club, club.club_id).time_zone == "Indian/Reunion"
    page = browser.get(f"/clubs/{club.club_id}/charter").text
    assert say("Times are shown, and deadlines set, on the clock of %(zone)s.", zone="Indian/Reunion") in page


def test_an_unknown_zone_is_refused_on_the_page_and_nothing_changes(club, make_browser):
    browser = make_browser(club.manager)
    before = snapshot()

    response = browser.submit(f"/clubs/{club.club_id}/time-zone", {"time_zone": "Europe/Atlantis"},
                              page=f"/clubs/{club.club_id}/charter")

    assert response.status_code == 400
    assert snapshot() == before


def test_a_member_sees_the_zone_but_no_form_to_change_it(club, make_browser):
    page = make_browser(club.members[3]).get(f"/clubs/{club.club_id}/charter").text

    assert say("Times are shown, and deadlines set, on the clock of %(zone)s.", zone="Europe/Paris") in page
    assert "/time-zone" not in page
