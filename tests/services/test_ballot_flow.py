"""End-to-end decisions through the ballots service: each kind applies its effect."""
from datetime import timedelta

from coop.models.base import utcnow
from coop.services import ballots, projects, tally
from coop.services.ballots import Subject
from tests.conftest import fund_for_projects, key

PROJECT = dict(name="Fournil de Die", description="Un four à pain bio.", town="Die", legal_form="scop",
               instrument="loan", amount_requested=300_000, stake_hundredths=None, holder_name="Anne Martin",
               holder_contact="anne@example.org")


def presented(setup, proposer=None):
    fund_for_projects(setup)
    proposer = proposer or setup.members[2]
    project = projects.propose(proposer.id, setup.club_id, PROJECT, form_key=key())
    projects.present(proposer.id, setup.club_id, project.id)
    return project.id


def test_a_funding_vote_approves_the_project(make_club):
    setup = make_club(5)
    project_id = presented(setup)
    ballot = ballots.open_ballot(setup.manager.id, setup.club_id, kind="funding", method="yes_no",
                                 closes_at=utcnow() + timedelta(days=7), subject=Subject(project_ids=[project_id]),
                                 form_key=key())
    option = ballot.options[0].id
    for user in setup.members[:3]:
        ballots.vote(user.id, setup.club_id, ballot.id, choices={option: tally.YES})
    ballots.vote(setup.members[3].id, setup.club_id, ballot.id, choices={option: tally.NO})
    closed = ballots.tick(now=utcnow() + timedelta(days=8))
    assert closed == 1
    ballot = ballots.ballot_page(setup.manager.id, setup.club_id, ballot.id).ballot
    assert ballot.outcome == "adopted"
    assert ballot.tally["yes"] == 3 and ballot.tally["no"] == 1 and ballot.tally["participants"] == 4
    assert projects.project_for(setup.manager.id, setup.club_id, project_id).status == "approved"
