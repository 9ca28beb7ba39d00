"""The pages of a regional association (issue 19): the manager puts joining to the vote from the ballots' form,
the coordinators read the sharing clubs' totals (table, charts, CSV) and nothing personal, the manager stops
sharing from the club's page, a coordinator names another; anyone else gets a 404."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask_babel import force_locale

from coop.extensions import db
from coop.models import Ballot, RegionMember
from coop.models.base import utcnow
from coop.services import access, ballots, fund, regions, tally
from coop.web.regions import CSV_HEADER
from tests.conftest import key, snapshot
from tests.services.test_meetings import ahead
from tests.web.test_csv_languages import read_csv, set_language
from tests.web.test_meetings import CONVENE, last_meeting


def week_ahead() -> str:
    return (utcnow() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def region(make_user):
    coordinator = make_user("Coordinatrice Régionale")
    made = regions.create_region("Cigales du Sud-Est", coordinator.email)
    return made.id, coordinator


def join(setup, region_id: int) -> None:
    ballot = ballots.open_ballot(setup.manager.id, setup.club_id, kind="region", method="yes_no",
                                 closes_at=utcnow() + timedelta(days=7),
                                 subject=ballots.Subject(region_id=region_id), form_key=key())
    for user in setup.members:
        ballots.vote(user.id, setup.club_id, ballot.id, choices={ballot.options[0].id: tally.YES})
    ballots.close_early(setup.manager.id, setup.club_id, ballot.id)


def pay(setup, each: int) -> int:
    today = access.today_of(setup.club_id)
    for user in setup.members:
        fund.record_contribution(setup.treasurer.id, setup.club_id, membership_id=setup.membership_id(user),
                                 amount=each, received_on=today, method="transfer", bank_reference="",
                                 idempotency_key=key())
    return each * len(setup.members)


def test_the_manager_opens_the_ballot_from_the_form_and_the_adopted_decision_shares(club, region, make_browser):
    region_id, _coordinator = region
    manager = make_browser(club.manager)
    listed = manager.get(f"/clubs/{club.club_id}/ballots").text
    assert f"/clubs/{club.club_id}/ballots/new/region" in listed
    form = manager.get(f"/clubs/{club.club_id}/ballots/new/region")
    assert form.status_code == 200 and "Cigales du Sud-Est" in form.text
    opened = manager.submit(f"/clubs/{club.club_id}/ballots/new/region",
                            {"region_id": str(region_id), "method": "yes_no", "closes_at": week_ahead()})
    assert opened.status_code == 302, opened.text
    ballot_id = int(re.search(r"/ballots/(\d+)$", opened.headers["Location"]).group(1))
    ballot = db.session.get(Ballot, (ballot_id, club.club_id))
    assert ballot.region_id == region_id and ballot.kind == "region"
    for user in club.members:
        ballots.vote(user.id, club.club_id, ballot_id, choices={ballot.options[0].id: tally.YES})
    ballots.close_early(club.manager.id, club.club_id, ballot_id)
    shown = manager.get(f"/clubs/{club.club_id}/regions").text
    assert "Cigales du Sud-Est" in shown and "Arrêter le partage" in shown


@pytest.mark.parametrize("region_id", ["", "abc", "999999", "-1"])
def test_the_ballots_form_refuses_a_bad_association_and_writes_nothing(club, region, make_browser, region_id):
    manager = make_browser(club.manager)
    before = snapshot()
    answered = manager.submit(f"/clubs/{club.club_id}/ballots/new/region",
                              {"region_id": region_id, "method": "yes_no", "closes_at": week_ahead()})
    assert 400 <= answered.status_code < 500
    assert snapshot() == before


def test_the_coordinator_reads_each_sharing_club_and_nothing_personal(make_club, region, make_browser):
    region_id, coordinator = region
    paris, montreal = make_club(5, name="Cigale de Paris"), make_club(5, currency="CAD", name="Cercle de Montréal")
    silent = make_club(5, name="Cigale Discrète")
    paid = {paris.club_id: pay(paris, 300_000), montreal.club_id: pay(montreal, 200_000)}
    pay(silent, 100_000)
    join(paris, region_id)
    join(montreal, region_id)
    browser = make_browser(coordinator)

    page = browser.get(f"/regions/{region_id}")
    assert page.status_code == 200
    text = page.text
    assert "Cigale de Paris" in text and "Cercle de Montréal" in text and "Cigale Discrète" not in text
    assert text.count("<svg") == 4  # members, hours, savings in EUR, savings in CAD
    people = [u for s in (paris, montreal, silent) for u in s.members]
    assert not [u.name for u in people if u.name in text]
    assert not [u.email for u in people if u.email in text]

    set_language(coordinator, "en")
    rows = read_csv(browser.get(f"/regions/{region_id}/figures.csv"), "en")
    with force_locale("en"):
        assert rows[0] == [str(name) for name in CSV_HEADER]
    by_club = {row[0]: row for row in rows[1:]}
    assert set(by_club) == {"Cigale de Paris", "Cercle de Montréal", "Total (CAD)", "Total (EUR)"}
    savings = rows[0].index("Savings collected")
    assert by_club["Cigale de Paris"][savings] == f"{paid[paris.club_id] // 100}.00"
    assert by_club["Total (EUR)"][savings] == f"{paid[paris.club_id] // 100}.00"
    assert by_club["Total (CAD)"][savings] == f"{paid[montreal.club_id] // 100}.00"
    assert by_club["Cigale de Paris"][rows[0].index("Active members")] == str(len(paris.members))
    csv_text = "\n".join(";".join(row) for row in rows)
    assert not [u.name for u in people if u.name in csv_text]

    set_language(coordinator, "fr")
    french = read_csv(browser.get(f"/regions/{region_id}/figures.csv"), "fr")
    with force_locale("fr"):
        assert french[0] == [str(name) for name in CSV_HEADER]
    assert french[0][:4] == ["Club", "Ville", "Partage depuis", "Membres actifs"]


def test_nobody_but_the_coordinators_reads_the_association(club, region, make_user, make_browser):
    region_id, _coordinator = region
    join(club, region_id)
    other = make_user()
    regions.create_region("Autre association", other.email)
    for person in (club.manager, club.members[3], other):
        browser = make_browser(person)
        assert browser.get(f"/regions/{region_id}").status_code == 404
        assert browser.get(f"/regions/{region_id}/figures.csv").status_code == 404
    assert make_browser().get(f"/regions/{region_id}").status_code == 302  # to the login page


def test_the_manager_stops_sharing_from_the_clubs_page(club, region, make_browser):
    region_id, coordinator = region
    join(club, region_id)
    member = make_browser(club.members[3])
    assert "Arrêter le partage" not in member.get(f"/clubs/{club.club_id}/regions").text
    before = snapshot()
    assert member.action(f"/clubs/{club.club_id}/regions/{region_id}/stop").status_code == 403
    assert snapshot() == before

    manager = make_browser(club.manager)
    stopped = manager.action(f"/clubs/{club.club_id}/regions/{region_id}/stop")
    assert stopped.status_code == 302
    shown = manager.get(stopped.headers["Location"]).text
    assert "ne partage plus ses chiffres avec Cigales du Sud-Est" in shown
    assert db.session.scalar(db.select(RegionMember.left_by_id)) == club.manager.id
    assert "Cigale des Tests" not in make_browser(coordinator).get(f"/regions/{region_id}").text
    again = manager.action(f"/clubs/{club.club_id}/regions/{region_id}/stop")
    assert again.status_code == 404


def test_a_coordinator_names_another_from_the_page(region, make_user, make_browser):
    region_id, coordinator = region
    newcomer = make_user("Nouvelle Coordinatrice")
    browser = make_browser(coordinator)
    added = browser.submit(f"/regions/{region_id}/coordinators", {"email": newcomer.email},
                           page=f"/regions/{region_id}")
    assert added.status_code == 302
    assert "Nouvelle Coordinatrice" in browser.get(f"/regions/{region_id}").text
    assert make_browser(newcomer).get(f"/regions/{region_id}").status_code == 200

    before = snapshot()
    for email, status, message in [("", 400, None), ("pas-une-adresse", 400, None),
                                   ("personne@example.org", 404, "Personne n’a de compte"),
                                   (newcomer.email, 409, "coordonne déjà")]:
        answered = browser.submit(f"/regions/{region_id}/coordinators", {"email": email},
                                  page=f"/regions/{region_id}")
        assert answered.status_code == status, email
        if message:
            assert message in answered.text
    assert snapshot() == before


def test_the_ballot_page_names_the_association_and_a_general_meeting_may_decide_it(club, region, make_browser):
    region_id, _coordinator = region
    manager = make_browser(club.manager)
    opened = manager.submit(f"/clubs/{club.club_id}/ballots/new/region",
                            {"region_id": str(region_id), "method": "yes_no", "closes_at": week_ahead()})
    page = manager.get(opened.headers["Location"])
    assert page.status_code == 200
    assert "Partager les chiffres du club avec Cigales du Sud-Est" in page.text
    cancelled = manager.action(f"{opened.headers['Location']}/cancel", {"reason": "À l’assemblée générale"})
    assert cancelled.status_code == 302

    convened = manager.submit(f"/clubs/{club.club_id}/meetings/new",
                              {**CONVENE, "scheduled_at": ahead(20).strftime("%Y-%m-%dT%H:%M")})
    assert convened.status_code == 302
    meeting = last_meeting(club.club_id)
    form = manager.get(f"/clubs/{club.club_id}/meetings/{meeting.id}/agenda/region")
    assert form.status_code == 200 and "Cigales du Sud-Est" in form.text
    item = manager.submit(f"/clubs/{club.club_id}/meetings/{meeting.id}/agenda/region",
                          {"method": "yes_no", "region_id": str(region_id), "title": "", "details": ""})
    assert item.status_code == 302
    [ballot] = ballots.meeting_items(meeting)
    assert (ballot.kind, ballot.region_id) == ("region", region_id)


def test_a_club_too_small_to_show_is_named_nowhere_and_the_page_says_why(make_club, region, make_browser):
    from coop.services import clubs

    region_id, coordinator = region
    small = make_club(5, name="Cigale Réduite")
    join(small, region_id)
    for member in small.members[2:]:
        clubs.leave(member.id, small.club_id)
    page = make_browser(coordinator).get(f"/regions/{region_id}")
    assert page.status_code == 200 and "Cigale Réduite" not in page.text
    assert "1 club partageant ses chiffres compte moins de 3 membres actifs" in page.text
