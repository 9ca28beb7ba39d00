"""`flask coop check`, invariant 8: ballot counters agree with who took part and with the recorded votes."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from coop.extensions import db
from coop.models.base import utcnow
from coop.services import ballots, projects, tally
from coop.services.ballots import Subject
from tests.conftest import fund_for_projects, key

PROJECT = dict(name="Fournil", description="Un four.", town="Die", legal_form="scop", instrument="loan",
               amount_requested=100_000, stake_hundredths=None, holder_name="Anne", holder_contact="anne@x.org")


def voted_ballot(setup, *, secret: bool):
    fund_for_projects(setup)
    pid = projects.propose(setup.members[2].id, setup.club_id, PROJECT, form_key=key()).id
    projects.present(setup.members[2].id, setup.club_id, pid)
    ballot = ballots.open_ballot(setup.manager.id, setup.club_id, kind="funding", method="yes_no", secret=secret,
                                 closes_at=utcnow() + timedelta(days=2), subject=Subject(project_ids=[pid]),
                                 form_key=key())
    option = ballot.options[0].id
    for user, value in zip(setup.members, (tally.YES, tally.YES, tally.NO), strict=False):
        ballots.vote(user.id, setup.club_id, ballot.id, choices={option: value})
    db.session.rollback()
    return ballot.id, option


def test_a_sound_ballot_passes_the_check(make_club, app):
    setup = make_club(5)
    voted_ballot(setup, secret=False)
    voted_ballot(setup, secret=True)
    assert ballots.check() == []
    result = app.test_cli_runner().invoke(args=["coop", "check"])
    assert result.exit_code == 0, result.output


def test_a_counter_changed_behind_the_services_back_is_reported(make_club, app):
    setup = make_club(5)
    ballot_id, option = voted_ballot(setup, secret=True)
    db.session.execute(text("UPDATE ballot_count SET count = count + 1 WHERE option_id = :o AND value = 1"),
                       {"o": option})
    db.session.commit()
    found = [str(v) for v in ballots.check()]
    assert found == [f"invariant 8 (club {setup.club_id}): ballot {ballot_id} option {option}: 4 choices counted "
                     "for 3 members who took part"]
    result = app.test_cli_runner().invoke(args=["coop", "check"])
    assert result.exit_code == 1
    assert "invariant 8" in result.output


def test_an_open_ballot_whose_recorded_vote_disagrees_with_its_counters_is_reported(make_club):
    setup = make_club(5)
    ballot_id, option = voted_ballot(setup, secret=False)
    db.session.execute(text("DELETE FROM ballot_vote WHERE option_id = :o AND value = -1"), {"o": option})
    db.session.commit()
    found = [str(v) for v in ballots.check()]
    assert found == [f"invariant 8 (club {setup.club_id}): ballot {ballot_id} option {option}: 3 choices counted "
                     "but 2 votes recorded"]
