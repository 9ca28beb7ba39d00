"""The club's term (R5): five years from activation, then *in management*, unless members renew it once."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_babel import force_locale, format_date, ngettext
from sqlalchemy import text, update

from coop.extensions import db
from coop.models import AuditEntry, Club
from coop.models.base import utcnow
from coop.services import ballots, clubs, projects, tally
from coop.services.ballots import Subject
from coop.services.errors import RuleViolation
from tests.conftest import fund_for_projects, key, say, snapshot


def end_term(setup, on: date) -> None:
    db.session.execute(update(Club).where(Club.id == setup.club_id).values(term_ends_on=on))
    db.session.commit()


def status(setup) -> str:
    db.session.rollback()
    return db.session.get(Club, setup.club_id).status


def test_activation_starts_a_five_year_term(make_club):
    setup = make_club(5)
    club = clubs.club_for(setup.manager.id, setup.club_id)
    today = date.today()
    assert club.term_ends_on.year == today.year + 5 and club.term_ends_on.month == today.month
    assert clubs.months_left(club, today) == 60


@pytest.mark.parametrize("ends, today, left", [
    (date(2031, 6, 15), date(2026, 6, 15), 60),
    (date(2031, 6, 15), date(2026, 6, 16), 59),  # a day into the month: one whole month less
    (date(2026, 7, 1), date(2026, 6, 30), 0),
    (date(2026, 6, 1), date(2026, 6, 30), 0),  # past the end: nothing left, never negative
])
def test_months_left_counts_whole_months(make_club, ends, today, left):
    club = Club(name="x", town="y", country="FR", currency="EUR", term_ends_on=ends)
    assert clubs.months_left(club, today) == left


def test_a_club_past_its_term_goes_into_management_and_funds_nothing_new(make_club):
    setup = make_club(5)
    fund_for_projects(setup)
    project = projects.propose(setup.members[2].id, setup.club_id, {
        "name": "Fournil", "description": "Un four.", "town": "Die", "legal_form": "scop", "instrument": "loan",
        "amount_requested": 100_000, "stake_hundredths": None, "holder_name": "Anne",
        "holder_contact": "anne@example.org"}, form_key=key())
    projects.present(setup.members[2].id, setup.club_id, project.id)
    end_term(setup, date.today() - timedelta(days=1))

    assert clubs.end_term_if_due(setup.club_id) is True
    assert clubs.end_term_if_due(setup.club_id) is False  # once
    assert status(setup) == "in_management"
    assert db.session.query(AuditEntry).filter_by(action="club.in_management").count() == 1
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        ballots.open_ballot(setup.manager.id, setup.club_id, kind="funding", method="yes_no",
                            closes_at=utcnow() + timedelta(days=7), subject=Subject(project_ids=[project.id]),
                            form_key=key())
    assert refused.value.rule == "R5"
    assert snapshot() == before


def test_a_club_on_its_last_day_is_still_active(make_club):
    setup = make_club(5)
    end_term(setup, date.today())
    assert clubs.end_term_if_due(setup.club_id) is False
    assert status(setup) == "active"


def test_a_unanimous_renewal_brings_a_club_in_management_back_once(make_club):
    setup = make_club(5)
    end_term(setup, date.today() - timedelta(days=1))
    clubs.end_terms()
    renewal = ballots.open_ballot(setup.manager.id, setup.club_id, kind="renewal", method="yes_no",
                                  closes_at=utcnow() + timedelta(days=7), subject=Subject(), form_key=key())
    for user in setup.members:
        ballots.vote(user.id, setup.club_id, renewal.id, choices={renewal.options[0].id: tally.YES})
    ballots.close_early(setup.manager.id, setup.club_id, renewal.id)

    club = clubs.club_for(setup.manager.id, setup.club_id)
    assert club.status == "active" and club.renewals == 1
    assert club.term_ends_on.year == date.today().year + 5
    with pytest.raises(RuleViolation) as again:
        ballots.open_ballot(setup.manager.id, setup.club_id, kind="renewal", method="yes_no",
                            closes_at=utcnow() + timedelta(days=7), subject=Subject(), form_key=key())
    assert again.value.rule == "R5"


def test_tick_puts_every_club_past_its_term_in_management(make_club, app):
    first, second, current = make_club(5), make_club(5), make_club(5)
    end_term(first, date.today() - timedelta(days=3))
    end_term(second, date.today() - timedelta(days=1))

    result = app.test_cli_runner().invoke(args=["coop", "tick"])

    assert result.exit_code == 0, result.output
    assert "2 club(s) reached the end of their term;" in result.output
    assert [status(s) for s in (first, second, current)] == ["in_management", "in_management", "active"]


def test_tick_gives_sqlite_the_statistics_its_planner_needs(make_club, app, backend):
    """SQLite keeps no statistics by itself: without them the home page's open ballots walked every club's
    voters at 1,000 clubs. PostgreSQL keeps its own (autovacuum): tick leaves it alone."""
    make_club(5)
    if backend == "sqlite":
        db.session.execute(text("DROP TABLE IF EXISTS sqlite_stat1"))
        db.session.commit()

    assert app.test_cli_runner().invoke(args=["coop", "tick"]).exit_code == 0

    if backend == "sqlite":
        db.session.rollback()  # a snapshot taken before the tick would not show the statistics
        analysed = set(db.session.scalars(text("SELECT DISTINCT tbl FROM sqlite_stat1")))
        assert {"membership", "account", "club"} <= analysed


def test_the_club_home_says_how_long_is_left_then_that_the_club_is_in_management(make_club, make_browser):
    setup = make_club(5)
    browser = make_browser(setup.members[3])
    left = say_n("%(num)d month left (R5).", "%(num)d months left (R5).", 60)
    assert left in browser.get(f"/clubs/{setup.club_id}/").text
    ended = date.today() - timedelta(days=1)
    end_term(setup, ended)
    page = browser.get(f"/clubs/{setup.club_id}/").text
    assert status(setup) == "in_management"
    assert left not in page
    with force_locale("fr"):
        when = format_date(ended, "medium")
    assert say("The club’s term ended on %(end)s: it is in management. No new investment or member; follow-up, "
               "sales and liquidation go on. A renewal vote can extend the term (R5).", end=when) in page


def say_n(singular: str, plural: str, num: int) -> str:
    with force_locale("fr"):
        return ngettext(singular, plural, num)
