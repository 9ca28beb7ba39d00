"""Regional associations (issue 19): created by the operator, coordinators added by coordinators, a club joining
by a ballot of its members and leaving when its manager stops, and the figures its coordinators see: each sharing
club's totals and the sum, money per currency, nothing about any one member, no club that does not share."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from coop.extensions import db
from coop.models import AuditEntry, Ballot, BallotKind, Outcome, ProjectStatus, Region, RegionCoordinator, RegionMember
from coop.models.base import utcnow
from coop.services import access, ballots, clubs, fund, investments, regions, tally, timebank
from coop.services.ballots import Subject
from coop.services.errors import Conflict, InvalidInput, NotFound, NotPermitted
from tests.conftest import key, snapshot
from tests.services.test_investment_flow import approved
from tests.web.test_one_node import SINGLE_NODE


@pytest.fixture
def make_region(make_user):
    def make(name: str = "Cigales du Sud-Est"):
        coordinator = make_user("Coordinatrice Régionale")
        return regions.create_region(name, coordinator.email, description="Les clubs de la Drôme"), coordinator

    return make


def put_to_vote(setup, region_id: int) -> Ballot:
    return ballots.open_ballot(setup.manager.id, setup.club_id, kind="region", method="yes_no",
                               closes_at=utcnow() + timedelta(days=7), subject=Subject(region_id=region_id),
                               form_key=key())


def vote_on_joining(setup, region_id: int, answer: int = tally.YES, voters=None) -> Ballot:
    """The manager opens the ballot, ``voters`` (everyone) answer, and the manager closes it early."""
    ballot = put_to_vote(setup, region_id)
    for user in setup.members if voters is None else voters:
        ballots.vote(user.id, setup.club_id, ballot.id, choices={ballot.options[0].id: answer})
    ballots.close_early(setup.manager.id, setup.club_id, ballot.id)
    return db.session.get(Ballot, (ballot.id, setup.club_id))


def shared_club_ids(coordinator, region_id: int) -> list[int]:
    return [c.club_id for c in regions.region_view(coordinator.id, region_id).clubs]


# --- Creating an association, its coordinators -----------------------------------------------------------------


def test_the_operator_creates_an_association_with_its_first_coordinator(make_region):
    region, coordinator = make_region()
    assert region.name == "Cigales du Sud-Est" and region.description == "Les clubs de la Drôme"
    assert [c.user_id for c in regions.coordinators_of(region.id)] == [coordinator.id]
    assert regions.my_regions(coordinator.id) == [region]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "region.create"))
    assert entry.object_id == region.id and entry.actor_id is None


@pytest.mark.parametrize(("name", "email", "error", "field"), [
    ("", "known", InvalidInput, "name"),
    ("   ", "known", InvalidInput, "name"),
    ("x" * 121, "known", InvalidInput, "name"),
    ("Une association", "", InvalidInput, "email"),
    ("Une association", "personne@example.org", NotFound, "email"),
    ("Une association", "x" * 300, InvalidInput, "email"),
    ("cigales du sud-est", "known", Conflict, "name"),  # the same name, whatever the case
])
def test_creating_an_association_refuses_bad_input_and_writes_nothing(make_region, make_user, name, email, error,
                                                                     field):
    make_region()
    someone = make_user()
    before = snapshot()
    with pytest.raises(error) as refused:
        regions.create_region(name, someone.email if email == "known" else email)
    assert refused.value.field == field
    assert snapshot() == before


def test_a_coordinator_adds_another_and_nobody_else_may(make_region, make_user):
    region, coordinator = make_region()
    other_region, stranger = make_region("Cercles du Québec")
    newcomer = make_user()
    added = regions.add_coordinator(coordinator.id, region.id, newcomer.email.upper())
    assert added.added_by_id == coordinator.id
    assert {c.user_id for c in regions.coordinators_of(region.id)} == {coordinator.id, newcomer.id}
    assert regions.region_view(newcomer.id, region.id).region.id == region.id

    someone = make_user()
    before = snapshot()
    with pytest.raises(Conflict):
        regions.add_coordinator(coordinator.id, region.id, newcomer.email)
    with pytest.raises(NotFound):  # another association's coordinator: as if it did not exist
        regions.add_coordinator(stranger.id, region.id, someone.email)
    with pytest.raises(NotFound):
        regions.add_coordinator(coordinator.id, region.id, "nobody@example.org")
    with pytest.raises(NotFound):
        regions.add_coordinator(coordinator.id, 2**40, newcomer.email)
    assert snapshot() == before
    assert other_region.id != region.id


# --- Joining by ballot -------------------------------------------------------------------------------------------


def test_an_adopted_ballot_makes_the_club_share(make_club, make_region):
    setup = make_club(5)
    region, coordinator = make_region()
    ballot = vote_on_joining(setup, region.id)
    assert ballot.kind == BallotKind.REGION and ballot.region_id == region.id
    assert ballot.outcome == Outcome.ADOPTED and ballot.effect_error is None
    assert ballot.threshold == "majority"  # the charter's ordinary threshold (threshold_investment)
    sharing = regions.sharing_of(setup.manager.id, setup.club_id)
    assert [(s.region_id, s.ballot_id, s.shares) for s in sharing] == [(region.id, ballot.id, True)]
    assert shared_club_ids(coordinator, region.id) == [setup.club_id]
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "region.join", AuditEntry.club_id == setup.club_id)) == 1


@pytest.mark.parametrize("how", ["rejected", "no_quorum"])
def test_a_ballot_that_does_not_pass_shares_nothing(make_club, make_region, how):
    setup = make_club(5)
    region, coordinator = make_region()
    if how == "rejected":
        ballot = vote_on_joining(setup, region.id, answer=tally.NO)
        assert ballot.outcome == Outcome.REJECTED
    else:  # one of five votes, then the deadline passes
        ballot = put_to_vote(setup, region.id)
        ballots.vote(setup.manager.id, setup.club_id, ballot.id, choices={ballot.options[0].id: tally.YES})
        ballots.close_if_due(setup.club_id, ballot.id, now=ballot.closes_at + timedelta(minutes=1))
        ballot = db.session.get(Ballot, (ballot.id, setup.club_id))
        assert ballot.outcome == Outcome.NO_QUORUM
    assert db.session.scalar(select(func.count()).select_from(RegionMember)) == 0
    assert shared_club_ids(coordinator, region.id) == []


def test_opening_a_ballot_to_join_refuses_what_cannot_be_decided(make_club, make_region):
    setup = make_club(5)
    region, _coordinator = make_region()
    before = snapshot()
    for region_id, error in [(None, InvalidInput), ("3", InvalidInput), (-1, InvalidInput), (2**40, InvalidInput),
                             (region.id + 1000, NotFound)]:
        with pytest.raises(error):
            put_to_vote(setup, region_id)
    with pytest.raises(NotPermitted):  # the manager opens ballots
        ballots.open_ballot(setup.members[3].id, setup.club_id, kind="region", method="yes_no",
                            closes_at=utcnow() + timedelta(days=7), subject=Subject(region_id=region.id),
                            form_key=key())
    assert snapshot() == before
    put_to_vote(setup, region.id)
    with pytest.raises(Conflict):  # one ballot at a time on one association
        put_to_vote(setup, region.id)


def test_a_club_already_sharing_cannot_vote_to_join_again(make_club, make_region):
    setup = make_club(5)
    region, _coordinator = make_region()
    vote_on_joining(setup, region.id)
    with pytest.raises(Conflict):
        put_to_vote(setup, region.id)
    assert regions.joinable(setup.club_id) == []
    other, _ = make_region("Autre association")
    assert regions.joinable(setup.club_id) == [other]


# --- Stopping ----------------------------------------------------------------------------------------------------


def test_the_manager_stops_sharing_at_once_and_the_club_leaves_the_view(make_club, make_region):
    setup = make_club(5)
    region, coordinator = make_region()
    vote_on_joining(setup, region.id)
    before = snapshot()
    with pytest.raises(NotPermitted):
        regions.stop_sharing(setup.members[3].id, setup.club_id, region.id)
    with pytest.raises(NotPermitted):
        regions.stop_sharing(setup.treasurer.id, setup.club_id, region.id)
    with pytest.raises(NotFound):
        regions.stop_sharing(setup.manager.id, setup.club_id, region.id + 1000)
    with pytest.raises(NotFound):
        regions.stop_sharing(setup.manager.id, setup.club_id, "x")
    assert snapshot() == before

    stopped = regions.stop_sharing(setup.manager.id, setup.club_id, region.id)
    assert stopped.left_by_id == setup.manager.id and not stopped.shares
    assert shared_club_ids(coordinator, region.id) == []
    assert db.session.scalar(select(AuditEntry.actor_id).where(AuditEntry.action == "region.stop_sharing",
                                                               AuditEntry.club_id == setup.club_id)) == setup.manager.id
    with pytest.raises(NotFound):  # no longer sharing: nothing to stop
        regions.stop_sharing(setup.manager.id, setup.club_id, region.id)

    # The members may vote to share again: a new membership, the old one kept.
    vote_on_joining(setup, region.id)
    assert [s.shares for s in regions.sharing_of(setup.members[3].id, setup.club_id)] == [True, False]
    assert shared_club_ids(coordinator, region.id) == [setup.club_id]


def test_another_clubs_manager_cannot_stop_a_clubs_sharing(make_club, make_region):
    setup, neighbour = make_club(5), make_club(5, name="Cigale Voisine")
    region, _coordinator = make_region()
    vote_on_joining(setup, region.id)
    with pytest.raises(NotFound):
        regions.stop_sharing(neighbour.manager.id, setup.club_id, region.id)
    with pytest.raises(NotFound):  # nor through their own club, which does not share
        regions.stop_sharing(neighbour.manager.id, neighbour.club_id, region.id)
    assert db.session.scalar(select(RegionMember.left_at)) is None


# --- The figures ---------------------------------------------------------------------------------------------------


def _activity(setup, each: int, minutes: int) -> dict:
    """Contributions from every member, a project approved and paid in part, one confirmed exchange."""
    today = access.today_of(setup.club_id)  # a Canadian club's today is still yesterday just after midnight UTC
    for user in setup.members:
        fund.record_contribution(setup.treasurer.id, setup.club_id, membership_id=setup.membership_id(user),
                                 amount=each, received_on=today, method="transfer", bank_reference="",
                                 idempotency_key=key())
    project_id = approved(setup)
    investment = investments.record_investment(setup.treasurer.id, setup.club_id, project_id,
                                               mentor_id=setup.membership_id(setup.members[3]), form_key=key())
    paid = investments.enter_payment(setup.treasurer.id, setup.club_id, investment.id, amount=100_000,
                                     paid_on=today, form_key=key())
    investments.approve_payment(setup.manager.id, setup.club_id, paid.id)
    giver, receiver = setup.members[3], setup.members[4]
    exchange = timebank.record_exchange(giver.id, setup.club_id, other_id=setup.membership_id(receiver),
                                        direction="given", minutes=minutes, done_on=today,
                                        description="Jardinage", form_key=key())
    timebank.confirm(receiver.id, setup.club_id, exchange.id)
    return {"savings": each * len(setup.members), "invested": 100_000, "minutes": minutes,
            "members": len(setup.members)}


def test_the_view_adds_each_sharing_clubs_figures_per_currency_and_leaves_out_the_others(make_club, make_region):
    region, coordinator = make_region()
    paris, lyon = make_club(5, name="Cigale de Paris"), make_club(6, name="Cigale de Lyon")
    montreal = make_club(5, currency="CAD", name="Cercle de Montréal")
    silent = make_club(5, name="Cigale Discrète")  # has figures, shares nothing
    expected = {paris.club_id: _activity(paris, 300_000, 90), lyon.club_id: _activity(lyon, 250_000, 45),
                montreal.club_id: _activity(montreal, 400_000, 120)}
    _activity(silent, 500_000, 600)
    for setup in (paris, lyon, montreal):
        vote_on_joining(setup, region.id)

    view = regions.region_view(coordinator.id, region.id)
    assert {c.club_id for c in view.clubs} == set(expected)
    for club in view.clubs:
        wanted = expected[club.club_id]
        assert (club.members, club.savings, club.invested, club.minutes) == (
            wanted["members"], wanted["savings"], wanted["invested"], wanted["minutes"])
        assert club.projects[ProjectStatus.APPROVED] == club.funded == 1
        assert sum(club.projects.values()) == 1
    eur = [expected[s.club_id] for s in (paris, lyon)]
    assert view.totals.savings == {"EUR": sum(e["savings"] for e in eur),
                                   "CAD": expected[montreal.club_id]["savings"]}
    assert view.totals.invested == {"EUR": sum(e["invested"] for e in eur),
                                    "CAD": expected[montreal.club_id]["invested"]}
    assert view.totals.members == sum(e["members"] for e in expected.values())
    assert view.totals.minutes == sum(e["minutes"] for e in expected.values())
    assert view.totals.projects[ProjectStatus.APPROVED] == view.totals.clubs == 3

    regions.stop_sharing(lyon.manager.id, lyon.club_id, region.id)
    view = regions.region_view(coordinator.id, region.id)
    assert {c.club_id for c in view.clubs} == {paris.club_id, montreal.club_id}
    assert view.totals.savings["EUR"] == expected[paris.club_id]["savings"]


def test_only_the_associations_coordinators_see_it(make_club, make_region):
    setup = make_club(5)
    region, _coordinator = make_region()
    _other, other_coordinator = make_region("Autre association")
    vote_on_joining(setup, region.id)
    for person in (setup.manager, setup.members[3], other_coordinator):
        with pytest.raises(NotFound):
            regions.region_view(person.id, region.id)
    with pytest.raises(NotFound):
        regions.region_view(other_coordinator.id, "1; DROP TABLE region")
    assert db.session.scalar(select(func.count()).select_from(Region)) == 2
    assert db.session.scalar(select(func.count()).select_from(RegionCoordinator)) == 2


def test_on_citus_each_clubs_figures_are_read_on_its_node(make_club, make_region, backend):
    """Only finding the sharing clubs reads across clubs: each club's figures name the club (docs/scaling.md)."""
    if backend != "citus":
        pytest.skip("Citus only (TEST_BACKENDS=citus)")
    setup = make_club(5)
    region, _coordinator = make_region()
    expected = _activity(setup, 300_000, 30)
    vote_on_joining(setup, region.id)
    (sharing,) = regions.sharing_clubs(region.id)
    db.session.rollback()
    db.session.execute(text(SINGLE_NODE))  # a statement that would ask several shards now fails
    figures = regions._club_figures(sharing.club_id, sharing.joined_at)
    db.session.rollback()
    db.session.execute(text(SINGLE_NODE))
    with pytest.raises(DBAPIError, match="multi-task query"):  # the guard holds: the one read across clubs fails
        regions.sharing_clubs(region.id)
    db.session.rollback()
    assert (figures.savings, figures.minutes, figures.members) == (expected["savings"], expected["minutes"],
                                                                   expected["members"])


def test_a_club_with_fewer_than_three_active_members_is_left_out_of_every_figure(make_club, make_region):
    """Two members' totals are each one's own savings and hours, readable by subtraction from the total."""
    setup = make_club(5)
    region, coordinator = make_region()
    vote_on_joining(setup, region.id)
    for member in setup.members[2:]:
        clubs.leave(member.id, setup.club_id)
    view = regions.region_view(coordinator.id, region.id)
    assert (view.clubs, view.withheld, view.totals.clubs, view.totals.members, view.totals.savings) == ([], 1, 0, 0, {})
