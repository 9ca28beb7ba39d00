"""Each club has a time zone (issue 15, point 17): chosen at creation, changed by the manager; deadlines typed
on the club's clock are stored in UTC; the club's dates (its term) are those of its clock."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import select, update

from coop.extensions import db
from coop.models import AuditEntry, Ballot, Club
from coop.services import access, ballots
from coop.services import clubs as ms
from coop.services.ballots import Subject
from coop.services.errors import Conflict, InvalidInput, NotPermitted
from tests.conftest import by_id, key, refused, row_counts


def new_club(user, **overrides):
    values = {"name": "Cigale du Vercors", "town": "Die", "country": "FR", "currency": "EUR", "form_key": key()}
    return ms.create_club(user.id, **{**values, **overrides})


def zone_of(club_id: int) -> str:
    db.session.rollback()
    return db.session.scalar(select(Club.time_zone).where(Club.id == club_id))


# --- Choosing the zone ------------------------------------------------------------------------------------------


def test_a_club_is_created_with_the_zone_chosen_and_the_choice_is_audited(app, make_user):
    founder = make_user()

    club = new_club(founder, currency="CAD", country="CA", time_zone="America/Halifax")

    assert zone_of(club.id) == "America/Halifax"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "club.create"))
    assert entry.after["time_zone"] == "America/Halifax"


@pytest.mark.parametrize(("currency", "zone"), [("EUR", "Europe/Paris"), ("CAD", "America/Montreal")])
def test_without_a_choice_the_zone_follows_the_currency(app, make_user, currency, zone):
    club = new_club(make_user(), currency=currency)

    assert zone_of(club.id) == zone


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "europe/paris", "CET ", "", "localtime", 3, "Europe/Paris" * 6])
def test_a_club_is_not_created_with_an_unknown_zone(app, make_user, zone):
    founder = make_user()

    error = refused(lambda: new_club(founder, time_zone=zone), InvalidInput, field="time_zone")

    assert "Europe/Paris" in str(error.message)
    assert row_counts(Club) == (0,)


def test_the_manager_changes_the_zone_and_it_is_audited(app, make_club):
    setup = make_club(5)

    club = ms.set_time_zone(setup.manager.id, setup.club_id, "America/Montreal")

    assert club.time_zone == "America/Montreal"
    assert zone_of(setup.club_id) == "America/Montreal"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "club.time_zone"))
    assert (entry.actor_id, entry.club_id) == (setup.manager.id, setup.club_id)
    assert (entry.before, entry.after) == ({"time_zone": "Europe/Paris"}, {"time_zone": "America/Montreal"})


def test_an_unknown_zone_is_refused_and_nothing_is_written(app, make_club):
    setup = make_club(5)

    error = refused(lambda: ms.set_time_zone(setup.manager.id, setup.club_id, "Europe/Atlantis"), InvalidInput,
                    field="time_zone")

    assert "America/Montreal" in str(error.message)
    assert zone_of(setup.club_id) == "Europe/Paris"


def test_only_the_manager_changes_the_zone(app, make_club):
    setup = make_club(5)

    refused(lambda: ms.set_time_zone(setup.treasurer.id, setup.club_id, "America/Montreal"), NotPermitted)
    refused(lambda: ms.set_time_zone(setup.manager.id, setup.club_id, "Europe/Paris"), Conflict)  # the same zone
    assert zone_of(setup.club_id) == "Europe/Paris"


# --- Deadlines typed on the club's clock ----------------------------------------------------------------------------


def open_at(setup, closes_at: datetime, now: datetime) -> Ballot:
    return ballots.open_ballot(setup.manager.id, setup.club_id, kind="dissolution", method="yes_no",
                               closes_at=closes_at, subject=Subject(), form_key=key(), local=True, now=now)


@pytest.mark.parametrize(("zone", "typed", "stored"), [
    # Paris moves to summer time on 28 March 2027: the same 10:00 is 09:00 UTC before, 08:00 UTC after.
    ("Europe/Paris", datetime(2027, 3, 27, 10, 0), datetime(2027, 3, 27, 9, 0)),
    ("Europe/Paris", datetime(2027, 3, 29, 10, 0), datetime(2027, 3, 29, 8, 0)),
    # Montréal moves on 14 March 2027: 10:00 is 15:00 UTC before, 14:00 UTC after.
    ("America/Montreal", datetime(2027, 3, 13, 10, 0), datetime(2027, 3, 13, 15, 0)),
    ("America/Montreal", datetime(2027, 3, 29, 10, 0), datetime(2027, 3, 29, 14, 0)),
])
def test_a_deadline_typed_on_the_clubs_clock_is_stored_as_the_right_utc_moment(app, make_club, zone, typed, stored):
    setup = make_club(5)
    if zone != "Europe/Paris":
        ms.set_time_zone(setup.manager.id, setup.club_id, zone)

    ballot = open_at(setup, typed, now=datetime(2027, 3, 10, 12, 0))

    db.session.rollback()
    assert by_id(Ballot, ballot.id).closes_at == stored


def test_a_deadline_in_the_hour_the_clocks_skip_is_refused(app, make_club):
    setup = make_club(5)

    error = refused(lambda: open_at(setup, datetime(2027, 3, 28, 2, 30), now=datetime(2027, 3, 20, 12, 0)),
                    InvalidInput, field="closes_at")

    assert "02:30" in str(error.message) and "Europe/Paris" in str(error.message)


def test_a_deadline_in_the_hour_the_clocks_repeat_is_its_first_occurrence(app, make_club):
    setup = make_club(5)

    ballot = open_at(setup, datetime(2027, 10, 31, 2, 30), now=datetime(2027, 10, 25, 12, 0))

    db.session.rollback()
    assert by_id(Ballot, ballot.id).closes_at == datetime(2027, 10, 31, 0, 30)  # still summer time


def test_the_deadlines_bounds_are_checked_after_conversion(app, make_club):
    """15 minutes ahead on a Paris clock, typed as if it were UTC, is in the past: refused."""
    setup = make_club(5)
    now = datetime(2027, 1, 15, 12, 0)

    refused(lambda: open_at(setup, datetime(2027, 1, 15, 12, 15), now=now), InvalidInput, field="closes_at")
    ballot = open_at(setup, datetime(2027, 1, 15, 13, 15), now=now)
    assert ballot.closes_at == datetime(2027, 1, 15, 12, 15)


# --- The club's dates are those of its clock ------------------------------------------------------------------------


def test_the_term_ends_on_the_last_day_of_the_clubs_own_calendar(app, make_club):
    """At 03:00 UTC on 2 June, Montréal still lives 1 June, the term's last day; Paris is past it (R5)."""
    paris, montreal = make_club(5), make_club(5, name="Cigale de Montréal")
    ms.set_time_zone(montreal.manager.id, montreal.club_id, "America/Montreal")
    db.session.execute(update(Club).where(Club.id.in_([paris.club_id, montreal.club_id]))
                       .values(term_ends_on=date(2031, 6, 1)))
    db.session.commit()

    with time_machine.travel(datetime(2031, 6, 2, 3, 0, tzinfo=UTC), tick=False):
        statuses = {zone: access.club_status(db.session.get(Club, setup.club_id))
                    for zone, setup in (("paris", paris), ("montreal", montreal))}
        assert statuses == {"paris": "in_management", "montreal": "active"}
        assert ms.end_terms() == 1
    db.session.rollback()
    assert db.session.get(Club, paris.club_id).status == "in_management"
    assert db.session.get(Club, montreal.club_id).status == "active"


def test_a_member_joins_on_the_clubs_date(app, make_club, make_user):
    """Admitted at 23:30 UTC on 15 January: it is already the 16th in Paris."""
    setup = make_club(5, activate=False)
    _, code = ms.invite(setup.manager.id, setup.club_id, form_key=key())
    asked = ms.join(make_user().id, code)

    with time_machine.travel(datetime(2027, 1, 15, 23, 30, tzinfo=UTC), tick=False):
        admitted = ms.admit(setup.manager.id, setup.club_id, asked.id)

    assert admitted.joined_on == date(2027, 1, 16)


@pytest.mark.parametrize(("zone", "typed"), [("Europe/Paris", datetime(1, 1, 1, 0, 0)),
                                            ("America/Montreal", datetime(9999, 12, 31, 23, 59))])
def test_a_deadline_at_the_ends_of_the_calendar_is_refused_not_a_crash(app, make_club, zone, typed):
    """On Paris's clock year 1 begins before UTC's does; on Montréal's, 9999 ends after it."""
    setup = make_club(5)
    if zone != "Europe/Paris":
        ms.set_time_zone(setup.manager.id, setup.club_id, zone)

    refused(lambda: open_at(setup, typed, now=datetime(2027, 1, 15, 12, 0)), InvalidInput, field="closes_at")
