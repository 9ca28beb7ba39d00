"""Projects: proposing, editing, presenting, withdrawing, declaring a link (R5, R8) and club scoping."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from coop.extensions import db
from coop.models import AuditEntry, Ballot, BallotVoter, Club, Project, ProjectLink
from coop.models.base import utcnow
from coop.services import ballots, projects
from coop.services.ballots import Subject
from coop.services.errors import Conflict, InvalidInput, NotFound, NotPermitted, RuleViolation
from tests.conftest import by_id, fund_for_projects, key, snapshot

PROJECT = dict(name="Fournil de Die", description="Un four à pain bio.\nPour le quartier.", town="Die",
               legal_form="scop", instrument="loan", amount_requested=300_000, stake_hundredths=None,
               holder_name="Anne Martin", holder_contact="anne@example.org")


def reload(model, id_):
    db.session.expire_all()
    return by_id(model, id_)


def audit(action: str, object_id: int) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action,
                                                            AuditEntry.object_id == object_id)
                                   .order_by(AuditEntry.id)))


def propose(setup, user=None, **overrides) -> Project:
    user = user or setup.members[2]
    return projects.propose(user.id, setup.club_id, {**PROJECT, **overrides}, form_key=key())


def open_funding(setup, project_id: int) -> Ballot:
    fund_for_projects(setup)
    return ballots.open_ballot(setup.manager.id, setup.club_id, kind="funding", method="yes_no",
                               closes_at=utcnow() + timedelta(days=7), subject=Subject(project_ids=[project_id]),
                               form_key=key())


def set_club_status(club_id: int, status: str) -> None:
    db.session.get(Club, club_id).status = status
    db.session.commit()


# --- Proposing --------------------------------------------------------------------------


def test_any_member_proposes_a_draft(make_club):
    setup = make_club(5)
    member = setup.members[3]  # neither manager nor treasurer

    project = propose(setup, member)

    saved = reload(Project, project.id)
    assert saved.status == "draft"
    assert saved.club_id == setup.club_id
    assert saved.proposed_by_id == setup.membership_id(member)
    assert (saved.name, saved.town, saved.legal_form, saved.instrument) == ("Fournil de Die", "Die", "scop", "loan")
    assert saved.description == "Un four à pain bio.\nPour le quartier."  # line breaks kept
    assert saved.amount_requested == 300_000 and saved.stake_hundredths is None
    assert saved.presented_at is None and saved.decided_at is None
    [entry] = audit("project.propose", project.id)
    assert entry.actor_id == member.id and entry.club_id == setup.club_id
    assert entry.after == {"name": "Fournil de Die", "amount": 300_000}


def test_a_forming_club_takes_proposals(make_club):
    setup = make_club(3, activate=False)
    assert reload(Project, propose(setup, setup.members[1]).id).status == "draft"


def test_text_is_tidied_on_one_line(make_club):
    setup = make_club(5)
    project = propose(setup, name="  Fournil \t de   Die ")
    assert reload(Project, project.id).name == "Fournil de Die"


@pytest.mark.parametrize("overrides", [
    {"instrument": "equity", "stake_hundredths": 1},  # 0.01 %
    {"instrument": "equity", "stake_hundredths": 10_000},  # 100 %
    {"amount_requested": 10**10},  # exactly the most
    {"amount_requested": 1},
    {"instrument": "returnable", "stake_hundredths": 0},  # 0 means "no stake": stored as none
    {"name": "N" * 120, "holder_contact": "c" * 200, "description": "d" * 4000},
])
def test_values_at_their_bounds_are_accepted(make_club, overrides):
    setup = make_club(5)
    saved = reload(Project, propose(setup, **overrides).id)
    expected = {**PROJECT, **overrides}
    if expected["instrument"] != "equity":
        expected["stake_hundredths"] = None
    for field, value in expected.items():
        assert getattr(saved, field) == value, field


@pytest.mark.parametrize(("overrides", "field"), [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "N" * 121}, "name"),
    ({"name": "Four\x00nil"}, "name"),
    ({"name": 42}, "name"),
    ({"description": ""}, "description"),
    ({"description": "d" * 4001}, "description"),
    ({"town": "T" * 121}, "town"),
    ({"holder_name": ""}, "holder_name"),
    ({"holder_contact": "c" * 201}, "holder_contact"),
    ({"legal_form": "gmbh"}, "legal_form"),
    ({"legal_form": None}, "legal_form"),
    ({"instrument": "crypto"}, "instrument"),
    ({"amount_requested": 0}, "amount_requested"),
    ({"amount_requested": -500}, "amount_requested"),
    ({"amount_requested": 10**10 + 1}, "amount_requested"),
    ({"amount_requested": "3000"}, "amount_requested"),
    ({"amount_requested": 3000.0}, "amount_requested"),
    ({"amount_requested": True}, "amount_requested"),
    ({"amount_requested": None}, "amount_requested"),
    ({"instrument": "equity", "stake_hundredths": None}, "stake_hundredths"),
    ({"instrument": "equity", "stake_hundredths": 0}, "stake_hundredths"),
    ({"instrument": "equity", "stake_hundredths": 10_001}, "stake_hundredths"),
    ({"instrument": "equity", "stake_hundredths": -1}, "stake_hundredths"),
    ({"instrument": "equity", "stake_hundredths": True}, "stake_hundredths"),
    ({"instrument": "equity", "stake_hundredths": "25"}, "stake_hundredths"),
    ({"instrument": "loan", "stake_hundredths": 500}, "stake_hundredths"),
    ({"instrument": "current_account", "stake_hundredths": 1}, "stake_hundredths"),
    ({"colour": "red"}, "colour"),
])
def test_bad_values_are_refused_and_nothing_is_written(make_club, overrides, field):
    setup = make_club(5)
    before = snapshot()

    with pytest.raises(InvalidInput) as refused:
        propose(setup, **overrides)

    assert refused.value.field == field
    assert snapshot() == before


def test_a_replayed_form_proposes_once(make_club):
    setup = make_club(5)
    user, form_key = setup.members[2], key()
    projects.propose(user.id, setup.club_id, PROJECT, form_key=form_key)
    before = snapshot()

    with pytest.raises(Conflict):
        projects.propose(user.id, setup.club_id, {**PROJECT, "name": "Autre"}, form_key=form_key)

    assert snapshot() == before
    assert len(db.session.scalars(select(Project)).all()) == 1


def test_a_club_in_management_takes_no_new_project(make_club):
    setup = make_club(5)
    set_club_status(setup.club_id, "in_management")  # R5: the term is over
    before = snapshot()

    with pytest.raises(RuleViolation) as refused:
        propose(setup)

    assert refused.value.rule == "R5"
    assert snapshot() == before


@pytest.mark.parametrize("status", ["dissolving", "closed"])
def test_a_dissolving_or_closed_club_takes_no_project(make_club, status):
    setup = make_club(5)
    set_club_status(setup.club_id, status)
    before = snapshot()

    with pytest.raises(Conflict):
        propose(setup)

    assert snapshot() == before


def test_someone_outside_the_club_cannot_propose(make_club, make_user):
    setup = make_club(5)
    stranger = make_user()
    other = make_club(5, name="Autre cigale")
    before = snapshot()

    with pytest.raises(NotFound):
        projects.propose(stranger.id, setup.club_id, PROJECT, form_key=key())
    with pytest.raises(NotFound):  # a member of another club, too
        projects.propose(other.members[2].id, setup.club_id, PROJECT, form_key=key())

    assert snapshot() == before


# --- Editing ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["proposer", "manager"])
def test_the_proposer_or_the_manager_edits_a_draft(make_club, who):
    setup = make_club(5)
    proposer = setup.members[3]
    project = propose(setup, proposer)
    editor = proposer if who == "proposer" else setup.manager

    projects.update(editor.id, setup.club_id, project.id, {**PROJECT, "amount_requested": 250_000, "town": "Crest"})

    saved = reload(Project, project.id)
    assert (saved.amount_requested, saved.town, saved.name) == (250_000, "Crest", "Fournil de Die")
    [entry] = audit("project.update", project.id)
    assert entry.actor_id == editor.id
    # Only what changed is recorded, before and after.
    assert entry.before == {"amount_requested": 300_000, "town": "Die"}
    assert entry.after == {"amount_requested": 250_000, "town": "Crest"}


def test_a_presented_project_can_still_be_edited(make_club):
    setup = make_club(5)
    proposer = setup.members[2]
    project = propose(setup, proposer)
    projects.present(proposer.id, setup.club_id, project.id)

    projects.update(proposer.id, setup.club_id, project.id,
                    {**PROJECT, "instrument": "equity", "stake_hundredths": 1250})

    saved = reload(Project, project.id)
    assert (saved.instrument, saved.stake_hundredths, saved.status) == ("equity", 1250, "presented")


@pytest.mark.parametrize("who", [1, 4])  # the treasurer, a plain member
def test_other_members_cannot_edit(make_club, who):
    setup = make_club(5)
    project = propose(setup, setup.members[2])
    before = snapshot()

    with pytest.raises(NotPermitted):
        projects.update(setup.members[who].id, setup.club_id, project.id, {**PROJECT, "town": "Crest"})

    assert snapshot() == before


def test_an_edit_that_changes_nothing_is_refused(make_club):
    setup = make_club(5)
    proposer = setup.members[2]
    project = propose(setup, proposer)
    before = snapshot()

    with pytest.raises(Conflict):
        projects.update(proposer.id, setup.club_id, project.id, dict(PROJECT))
    with pytest.raises(Conflict):  # white space is folded the same way as when proposing
        projects.update(proposer.id, setup.club_id, project.id, {**PROJECT, "name": " Fournil  de Die "})

    assert snapshot() == before


def test_an_edit_with_a_bad_value_is_refused(make_club):
    setup = make_club(5)
    proposer = setup.members[2]
    project = propose(setup, proposer)
    before = snapshot()

    with pytest.raises(InvalidInput) as refused:
        projects.update(proposer.id, setup.club_id, project.id, {**PROJECT, "stake_hundredths": 1000})

    assert refused.value.field == "stake_hundredths"
    assert snapshot() == before


@pytest.mark.parametrize("state", ["in_vote", "approved", "withdrawn"])
def test_a_project_in_vote_decided_or_withdrawn_cannot_be_edited(make_club, state):
    setup = make_club(5)
    proposer = setup.members[2]
    project = propose(setup, proposer)
    projects.present(proposer.id, setup.club_id, project.id)
    if state == "withdrawn":
        projects.withdraw(proposer.id, setup.club_id, project.id)
    else:
        ballot = open_funding(setup, project.id)
        if state == "approved":
            option = ballot.options[0].id
            for user in setup.members:
                ballots.vote(user.id, setup.club_id, ballot.id, choices={option: 1})
            ballots.close_early(setup.manager.id, setup.club_id, ballot.id)
    assert reload(Project, project.id).status == state
    before = snapshot()

    with pytest.raises(Conflict):
        projects.update(proposer.id, setup.club_id, project.id, {**PROJECT, "town": "Crest"})
    with pytest.raises(Conflict):
        projects.update(setup.manager.id, setup.club_id, project.id, {**PROJECT, "town": "Crest"})

    assert snapshot() == before


# --- Presenting and withdrawing -------------------------------------------------------------


@pytest.mark.parametrize("who", ["proposer", "manager"])
def test_a_draft_is_presented(make_club, who):
    setup = make_club(5)
    proposer = setup.members[3]
    project = propose(setup, proposer)
    actor = proposer if who == "proposer" else setup.manager

    projects.present(actor.id, setup.club_id, project.id)

    saved = reload(Project, project.id)
    assert saved.status == "presented" and saved.presented_at is not None
    [entry] = audit("project.present", project.id)
    assert entry.actor_id == actor.id
    assert (entry.before, entry.after) == ({"status": "draft"}, {"status": "presented"})


def test_only_a_draft_is_presented(make_club):
    setup = make_club(5)
    proposer = setup.members[2]
    project = propose(setup, proposer)
    projects.present(proposer.id, setup.club_id, project.id)
    before = snapshot()

    with pytest.raises(Conflict):
        projects.present(proposer.id, setup.club_id, project.id)

    assert snapshot() == before


def test_another_member_cannot_present(make_club):
    setup = make_club(5)
    project = propose(setup, setup.members[2])
    before = snapshot()

    with pytest.raises(NotPermitted):
        projects.present(setup.members[4].id, setup.club_id, project.id)

    assert snapshot() == before
    assert reload(Project, project.id).status == "draft"


def test_a_club_in_management_presents_nothing(make_club):
    setup = make_club(5)
    proposer = setup.members[2]
    project = propose(setup, proposer)
    set_club_status(setup.club_id, "in_management")
    before = snapshot()

    with pytest.raises(RuleViolation) as refused:
        projects.present(proposer.id, setup.club_id, project.id)

    assert refused.value.rule == "R5"
    assert snapshot() == before


@pytest.mark.parametrize("presented", [False, True])
def test_a_draft_or_presented_project_is_withdrawn(make_club, presented):
    setup = make_club(5)
    proposer = setup.members[2]
    project = propose(setup, proposer)
    if presented:
        projects.present(proposer.id, setup.club_id, project.id)

    projects.withdraw(proposer.id, setup.club_id, project.id)

    assert reload(Project, project.id).status == "withdrawn"
    [entry] = audit("project.withdraw", project.id)
    assert entry.actor_id == proposer.id
    assert (entry.before, entry.after) == ({"status": "presented" if presented else "draft"}, {"status": "withdrawn"})


def test_withdrawing_is_refused_to_others_twice_and_in_vote(make_club):
    setup = make_club(5)
    proposer = setup.members[2]
    first, second = propose(setup, proposer), propose(setup, proposer, name="Épicerie")
    projects.present(proposer.id, setup.club_id, first.id)
    open_funding(setup, first.id)
    projects.withdraw(proposer.id, setup.club_id, second.id)
    before = snapshot()

    with pytest.raises(Conflict):  # in vote
        projects.withdraw(proposer.id, setup.club_id, first.id)
    with pytest.raises(Conflict):  # already withdrawn
        projects.withdraw(proposer.id, setup.club_id, second.id)
    with pytest.raises(NotPermitted):
        projects.withdraw(setup.members[3].id, setup.club_id, first.id)

    assert snapshot() == before


# --- Declaring a link (R8) ----------------------------------------------------------------


def test_a_declared_link_recuses_the_member_on_the_next_ballot(make_club):
    setup = make_club(5)
    proposer, linked = setup.members[2], setup.members[4]
    project = propose(setup, proposer)
    projects.present(proposer.id, setup.club_id, project.id)

    link = ballots.declare_link(linked.id, setup.club_id, project.id, "  sœur de la porteuse ")

    saved = reload(ProjectLink, link.id)
    assert (saved.project_id, saved.membership_id, saved.nature) == (
        project.id, setup.membership_id(linked), "sœur de la porteuse")
    assert projects.recused_member_ids(setup.club_id, [project.id]) == {setup.membership_id(linked)}
    [entry] = audit("project.declare_link", link.id)
    assert entry.actor_id == linked.id and entry.after == {"project": project.id, "nature": "sœur de la porteuse"}

    ballot = open_funding(setup, project.id)
    voter = db.session.scalar(select(BallotVoter).where(BallotVoter.ballot_id == ballot.id,
                                                        BallotVoter.membership_id == setup.membership_id(linked)))
    assert voter.recused
    assert reload(Ballot, ballot.id).eligible_count == 4  # five active members, one recused


def test_a_link_is_declared_once(make_club):
    setup = make_club(5)
    project = propose(setup)
    linked = setup.members[4]
    ballots.declare_link(linked.id, setup.club_id, project.id, "cousin")
    before = snapshot()

    with pytest.raises(Conflict):
        ballots.declare_link(linked.id, setup.club_id, project.id, "associé")

    assert snapshot() == before


def test_no_link_to_a_withdrawn_project_and_no_empty_nature(make_club):
    setup = make_club(5)
    proposer = setup.members[2]
    withdrawn, live = propose(setup, proposer), propose(setup, proposer, name="Épicerie")
    projects.withdraw(proposer.id, setup.club_id, withdrawn.id)
    before = snapshot()

    with pytest.raises(Conflict):
        ballots.declare_link(setup.members[3].id, setup.club_id, withdrawn.id, "cousin")
    with pytest.raises(InvalidInput) as empty:
        ballots.declare_link(setup.members[3].id, setup.club_id, live.id, "   ")
    with pytest.raises(InvalidInput) as long:
        ballots.declare_link(setup.members[3].id, setup.club_id, live.id, "x" * 201)

    assert empty.value.field == long.value.field == "nature"
    assert snapshot() == before


# --- Club scoping ---------------------------------------------------------------------------


def test_another_clubs_project_is_not_found(make_club):
    ours = make_club(5)
    theirs = make_club(5, name="Autre cigale")
    project = propose(theirs, theirs.members[2])
    manager = ours.manager
    before = snapshot()

    calls = [
        lambda: projects.update(manager.id, ours.club_id, project.id, {**PROJECT, "town": "Crest"}),
        lambda: projects.present(manager.id, ours.club_id, project.id),
        lambda: projects.withdraw(manager.id, ours.club_id, project.id),
        lambda: ballots.declare_link(manager.id, ours.club_id, project.id, "cousin"),
        lambda: projects.project_for(manager.id, ours.club_id, project.id),
        # Asking with the other club's id is no better for someone who is not its member.
        lambda: projects.present(manager.id, theirs.club_id, project.id),
        lambda: projects.project_for(manager.id, theirs.club_id, project.id),
        lambda: projects.projects_of(manager.id, theirs.club_id),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()

    assert snapshot() == before
    assert projects.projects_of(manager.id, ours.club_id) == []


@pytest.mark.parametrize("bad_id", [10**9, "1", None, True])
def test_an_unknown_project_id_is_not_found(make_club, bad_id):
    setup = make_club(5)
    propose(setup)
    before = snapshot()

    with pytest.raises(NotFound):
        projects.present(setup.manager.id, setup.club_id, bad_id)
    with pytest.raises(NotFound):
        ballots.declare_link(setup.manager.id, setup.club_id, bad_id, "cousin")

    assert snapshot() == before


def test_a_non_member_or_former_member_finds_nothing(make_club, make_user):
    from coop.services import clubs

    setup = make_club(6)
    proposer, leaver = setup.members[2], setup.members[5]
    project = propose(setup, proposer)
    clubs.leave(leaver.id, setup.club_id)
    stranger = make_user()
    before = snapshot()

    for user in (stranger, leaver):
        with pytest.raises(NotFound):
            projects.update(user.id, setup.club_id, project.id, {**PROJECT, "town": "Crest"})
        with pytest.raises(NotFound):
            projects.present(user.id, setup.club_id, project.id)
        with pytest.raises(NotFound):
            projects.withdraw(user.id, setup.club_id, project.id)
        with pytest.raises(NotFound):
            ballots.declare_link(user.id, setup.club_id, project.id, "cousin")
        with pytest.raises(NotFound):
            projects.project_for(user.id, setup.club_id, project.id)
        with pytest.raises(NotFound):
            projects.propose(user.id, setup.club_id, PROJECT, form_key=key())

    assert snapshot() == before


def test_a_leaver_who_proposed_loses_the_right_to_steer(make_club):
    """The proposer's right to edit goes with their membership; the manager keeps it."""
    from coop.services import clubs

    setup = make_club(6)
    proposer = setup.members[5]
    project = propose(setup, proposer)
    clubs.leave(proposer.id, setup.club_id)
    before = snapshot()

    with pytest.raises(NotFound):
        projects.present(proposer.id, setup.club_id, project.id)
    assert snapshot() == before

    projects.present(setup.manager.id, setup.club_id, project.id)
    assert reload(Project, project.id).status == "presented"
