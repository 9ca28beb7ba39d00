"""`flask coop check`, invariant 8: the choices recorded (named votes, the box, the envelopes) and the counts
agree with who took part, and a closed secret ballot keeps no box."""
from __future__ import annotations

from datetime import timedelta

import pytest
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


BOX = ("INSERT INTO ballot_choice (club_id, ballot_id, option_id, value) "
       "SELECT club_id, :b, :o, 1 FROM ballot WHERE id = :b")
UNNAMED = "DELETE FROM ballot_vote WHERE option_id = :o AND value = -1"


@pytest.mark.parametrize(("secret", "closed", "sql", "report"), [
    (True, False, BOX, "4 choices recorded for 3 members who took part"),
    (True, True, "UPDATE ballot_count SET count = count + 1 WHERE option_id = :o AND value = 1",
     "4 choices counted for 3 members who took part"),
    (True, True, BOX, "the box or the envelopes were not emptied at the close"),
    (False, False, UNNAMED, "2 choices recorded for 3 members who took part"),
    (False, True, UNNAMED, "3 choices counted but 2 votes recorded"),
], ids=["slipped into an open box", "count changed", "left in a closed box", "open vote deleted",
        "closed vote deleted"])
def test_choices_changed_behind_the_services_back_are_reported(make_club, app, secret, closed, sql, report):
    setup = make_club(5)
    ballot_id, option = voted_ballot(setup, secret=secret)
    if closed:
        ballots.tick(now=utcnow() + timedelta(days=3))
        db.session.rollback()
        assert ballots.check() == []

    db.session.execute(text(sql), {"b": ballot_id, "o": option})
    db.session.commit()

    assert [str(v) for v in ballots.check()] == [
        f"invariant 8 (club {setup.club_id}): ballot {ballot_id} option {option}: {report}"]
    result = app.test_cli_runner().invoke(args=["coop", "check"])
    assert result.exit_code == 1
    assert "invariant 8" in result.output
