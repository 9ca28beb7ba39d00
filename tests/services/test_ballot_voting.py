"""Voting on ballots: casting and changing a vote, deadlines, who may vote (R8), proxies (R9),
secrecy, rules frozen at opening (R9) and closing early."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import JSON, select, text

from coop import envelope
from coop.extensions import db
from coop.models import (
    AuditEntry,
    Ballot,
    BallotCount,
    BallotVote,
    BallotVoter,
    Charter,
    Project,
    Proxy,
    SealedVote,
)
from coop.models.base import utcnow
from coop.services import access, ballots, projects, rules
from coop.services.ballots import Subject
from coop.services.charter import charter_of
from coop.services.errors import Conflict, InvalidInput, LimitExceeded, NotFound, NotPermitted, RuleViolation
from coop.services.tally import ABSTAIN, NO, YES
from tests.conftest import SERVERS, admit_by_vote, at_once, by_id, english, fund_for_projects, key, pause_after, snapshot

PROJECT = dict(name="Fournil de Die", description="Un four à pain bio.", town="Die", legal_form="scop",
               instrument="loan", amount_requested=300_000, stake_hundredths=None, holder_name="Anne Martin",
               holder_contact="anne@example.org")
WEEK = timedelta(days=7)


# --- Helpers ----------------------------------------------------------------------------------


def presented(setup, proposer=None, **overrides) -> int:
    fund_for_projects(setup)
    proposer = proposer or setup.members[2]
    project = projects.propose(proposer.id, setup.club_id, {**PROJECT, **overrides}, form_key=key())
    projects.present(proposer.id, setup.club_id, project.id)
    return project.id


def open_funding(setup, project_id: int | None = None, *, secret: bool = False,
                 now: datetime | None = None) -> Ballot:
    project_id = project_id or presented(setup)
    now = now or utcnow()
    return ballots.open_ballot(setup.manager.id, setup.club_id, kind="funding", method="yes_no",
                               closes_at=now + WEEK, subject=Subject(project_ids=[project_id]), secret=secret,
                               form_key=key(), now=now)


def option_of(ballot: Ballot) -> int:
    return ballot.options[0].id


def cast(setup, user, ballot: Ballot, value: int, **kwargs):
    return ballots.vote(user.id, setup.club_id, ballot.id, choices={option_of(ballot): value}, **kwargs)


def counters(ballot: Ballot) -> dict[int, int]:
    """The choices recorded on the ballot's only option: {YES: n, NO: n, ABSTAIN: n}: its counts once
    closed; before, what the close would count (the named votes, or the box and the sealed proxy votes)."""
    db.session.rollback()
    ballot = by_id(Ballot, ballot.id)
    if ballot.status == "closed":
        return ballots.counts_of(ballot.club_id, ballot.id)[option_of(ballot)]
    found = dict.fromkeys((YES, NO, ABSTAIN), 0)
    for _, value in ballots._choices(ballot):  # noqa: SLF001 - what the close will count, read by the test only
        found[value] += 1
    return found


def reload(model, id_):
    db.session.expire_all()
    return by_id(model, id_)


def voter_row(ballot: Ballot, membership_id: int) -> BallotVoter:
    db.session.expire_all()
    return db.session.scalar(select(BallotVoter).where(BallotVoter.ballot_id == ballot.id,
                                                       BallotVoter.membership_id == membership_id))


def vote_rows(ballot: Ballot) -> list[tuple[int, int, int]]:
    """(voter, cast by, value) of every BallotVote row of an open ballot."""
    db.session.expire_all()
    return [(r.voter_id, r.cast_by_id, r.value) for r in db.session.scalars(
        select(BallotVote).where(BallotVote.ballot_id == ballot.id).order_by(BallotVote.voter_id))]


def live_proxies(ballot: Ballot) -> list[tuple[int, int]]:
    db.session.expire_all()
    return [(p.giver_id, p.holder_id) for p in db.session.scalars(
        select(Proxy).where(Proxy.ballot_id == ballot.id, Proxy.ended_at.is_(None)).order_by(Proxy.id))]






# --- Voting and changing one's vote ------------------------------------------------------------


def test_a_vote_is_counted_and_can_be_changed_while_open(make_club):
    setup = make_club(5)
    ballot = open_funding(setup)
    member = setup.members[3]
    mid = setup.membership_id(member)
    assert counters(ballot) == {YES: 0, NO: 0, ABSTAIN: 0}  # every counter exists from the opening

    cast(setup, member, ballot, YES)
    assert counters(ballot) == {YES: 1, NO: 0, ABSTAIN: 0}
    assert vote_rows(ballot) == [(mid, mid, YES)]

    cast(setup, member, ballot, NO)  # a change moves the vote, it does not add one
    assert counters(ballot) == {YES: 0, NO: 1, ABSTAIN: 0}
    assert vote_rows(ballot) == [(mid, mid, NO)]

    cast(setup, member, ballot, ABSTAIN)
    assert counters(ballot) == {YES: 0, NO: 0, ABSTAIN: 1}
    voter = voter_row(ballot, mid)
    assert voter.voted and voter.cast_by_id == mid
    page = ballots.ballot_page(member.id, setup.club_id, ballot.id)
    assert page.my_choices == {option_of(ballot): ABSTAIN} and page.participants == 1


def test_a_secret_vote_cannot_be_changed(make_club):
    setup = make_club(5)
    ballot = open_funding(setup, secret=True)
    member = setup.members[3]
    cast(setup, member, ballot, YES)
    before = snapshot()

    with pytest.raises(Conflict):
        cast(setup, member, ballot, NO)

    assert snapshot() == before
    assert counters(ballot) == {YES: 1, NO: 0, ABSTAIN: 0}


@pytest.mark.parametrize("choices", [{}, {"x": 1}, "yes", None])
def test_a_vote_without_a_proper_choice_is_refused(make_club, choices):
    setup = make_club(5)
    ballot = open_funding(setup)
    before = snapshot()

    with pytest.raises(InvalidInput) as refused:
        ballots.vote(setup.members[3].id, setup.club_id, ballot.id, choices=choices)

    assert refused.value.field == "choice"
    assert snapshot() == before


@pytest.mark.parametrize("value", [2, -2, 5, True])
def test_a_value_off_the_yes_no_scale_is_refused(make_club, value):
    setup = make_club(5)
    ballot = open_funding(setup)
    before = snapshot()

    with pytest.raises(InvalidInput):
        cast(setup, setup.members[3], ballot, value)

    assert snapshot() == before


def test_a_vote_after_the_deadline_is_refused(make_club):
    setup = make_club(5)
    now = utcnow()
    ballot = open_funding(setup, now=now)
    cast(setup, setup.members[1], ballot, YES, now=now + timedelta(hours=1))
    deadline = reload(Ballot, ballot.id).closes_at  # rounded down to the minute
    assert deadline <= now + WEEK

    # The first request after the deadline closes the ballot; then the vote is refused.
    with pytest.raises(Conflict):
        cast(setup, setup.members[3], ballot, YES, now=deadline)
    closed = reload(Ballot, ballot.id)
    assert closed.status == "closed" and closed.closed_by_id is None
    assert counters(ballot) == {YES: 1, NO: 0, ABSTAIN: 0}
    before = snapshot()

    with pytest.raises(Conflict):
        cast(setup, setup.members[4], ballot, NO, now=deadline + timedelta(days=1))
    with pytest.raises(Conflict):  # not even a change of a vote cast in time
        cast(setup, setup.members[1], ballot, NO, now=deadline + timedelta(days=1))

    assert snapshot() == before


def test_a_member_admitted_after_the_opening_does_not_vote(make_club, make_user):
    setup = make_club(5)
    ballot = open_funding(setup)
    newcomer = make_user()
    admit_by_vote(setup, newcomer)  # a second ballot, adopted while the first is open
    assert access.membership_for(newcomer.id, setup.club_id).status == "active"
    before = snapshot()

    with pytest.raises(NotPermitted):
        cast(setup, newcomer, ballot, YES)
    with pytest.raises(NotPermitted):
        ballots.give_proxy(newcomer.id, setup.club_id, ballot.id, setup.membership_id(setup.members[1]))
    with pytest.raises(InvalidInput) as not_holder:  # nor hold a proxy on it
        ballots.give_proxy(setup.members[1].id, setup.club_id, ballot.id, setup.membership_id(newcomer))

    assert not_holder.value.field == "holder_id"
    assert snapshot() == before
    assert reload(Ballot, ballot.id).eligible_count == 5  # the five members when it opened


def test_a_member_recused_before_the_opening_does_not_vote(make_club):
    setup = make_club(5)
    project_id = presented(setup)
    linked = setup.members[4]
    ballots.declare_link(linked.id, setup.club_id, project_id, "frère du porteur")
    ballot = open_funding(setup, project_id)
    assert ballot.eligible_count == 4  # five active members less the recused one (R6, R8)
    assert voter_row(ballot, setup.membership_id(linked)).recused
    before = snapshot()

    with pytest.raises(RuleViolation) as refused:
        cast(setup, linked, ballot, YES)

    assert refused.value.rule == "R8"
    assert snapshot() == before


def test_a_link_declared_while_open_takes_the_vote_back(make_club):
    setup = make_club(5)
    project_id = presented(setup)
    ballot = open_funding(setup, project_id)
    linked, other = setup.members[4], setup.members[3]
    cast(setup, linked, ballot, YES)
    cast(setup, other, ballot, YES)
    assert counters(ballot) == {YES: 2, NO: 0, ABSTAIN: 0}

    ballots.declare_link(linked.id, setup.club_id, project_id, "associée du porteur")

    assert counters(ballot) == {YES: 1, NO: 0, ABSTAIN: 0}  # only the other member's yes is left
    mid = setup.membership_id(linked)
    voter = voter_row(ballot, mid)
    assert voter.recused and not voter.voted
    assert vote_rows(ballot) == [(setup.membership_id(other), setup.membership_id(other), YES)]
    assert reload(Ballot, ballot.id).eligible_count == 4
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "ballot.recuse",
                                                      AuditEntry.object_id == ballot.id)).after == {"member": mid}
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        cast(setup, linked, ballot, NO)
    assert refused.value.rule == "R8"
    assert snapshot() == before


@pytest.mark.parametrize("secret", [False, True], ids=["open", "secret"])
def test_a_link_declared_while_open_ends_the_proxies_and_takes_back_the_votes_cast_for_others(make_club, secret):
    setup = make_club(5)
    project_id = presented(setup)
    ballot = open_funding(setup, project_id, secret=secret)
    giver, holder = setup.members[3], setup.members[4]
    ballots.give_proxy(giver.id, setup.club_id, ballot.id, setup.membership_id(holder))
    cast(setup, holder, ballot, YES, for_member=setup.membership_id(giver))
    assert counters(ballot)[YES] == 1

    ballots.declare_link(holder.id, setup.club_id, project_id, "cousin")

    assert counters(ballot) == {YES: 0, NO: 0, ABSTAIN: 0}
    assert live_proxies(ballot) == []
    assert not voter_row(ballot, setup.membership_id(giver)).voted
    cast(setup, giver, ballot, NO)  # the giver has their vote back
    assert counters(ballot) == {YES: 0, NO: 1, ABSTAIN: 0}
    assert ballots.check() == []


@pytest.mark.parametrize("secret", [False, True], ids=["open", "secret"])
def test_a_giver_who_declares_a_link_after_their_holder_voted_is_recused_and_the_proxy_vote_removed(make_club,
                                                                                                     secret):
    setup = make_club(5)
    project_id = presented(setup)
    ballot = open_funding(setup, project_id, secret=secret)
    giver, holder = setup.members[3], setup.members[4]
    gid = setup.membership_id(giver)
    ballots.give_proxy(giver.id, setup.club_id, ballot.id, setup.membership_id(holder))
    cast(setup, holder, ballot, YES, for_member=gid)
    cast(setup, holder, ballot, NO)

    ballots.declare_link(giver.id, setup.club_id, project_id, "sœur de la porteuse")

    assert counters(ballot) == {YES: 0, NO: 1, ABSTAIN: 0}  # the holder's own vote stays
    voter = voter_row(ballot, gid)
    assert voter.recused and not voter.voted and voter.cast_by_id is None
    assert live_proxies(ballot) == []
    assert reload(Ballot, ballot.id).eligible_count == 4
    assert ballots.check() == []
    ballots.tick(now=ballot.closes_at)
    closed = reload(Ballot, ballot.id)
    assert (closed.tally["participants"], closed.tally["yes"], closed.tally["no"]) == (1, 0, 1)


def test_a_link_cannot_be_declared_after_voting_in_secret(make_club):
    setup = make_club(5)
    project_id = presented(setup)
    ballot = open_funding(setup, project_id, secret=True)
    member = setup.members[4]
    cast(setup, member, ballot, YES)
    before = snapshot()

    with pytest.raises(Conflict):
        ballots.declare_link(member.id, setup.club_id, project_id, "cousin")

    assert snapshot() == before
    assert reload(Ballot, ballot.id).eligible_count == 5


def test_a_link_declared_in_a_secret_ballot_before_voting_recuses(make_club):
    setup = make_club(5)
    project_id = presented(setup)
    ballot = open_funding(setup, project_id, secret=True)
    member = setup.members[4]

    ballots.declare_link(member.id, setup.club_id, project_id, "cousin")

    assert voter_row(ballot, setup.membership_id(member)).recused
    assert reload(Ballot, ballot.id).eligible_count == 4


# --- Proxies (R9) ---------------------------------------------------------------------------------


def test_a_proxy_vote_counts_toward_the_quorum(make_club):
    setup = make_club(5)
    ballot = open_funding(setup)
    giver, holder, other = setup.members[2], setup.members[3], setup.members[4]
    given = ballots.give_proxy(giver.id, setup.club_id, ballot.id, setup.membership_id(holder))
    assert reload(Proxy, given.id).ended_at is None

    cast(setup, holder, ballot, YES)
    cast(setup, holder, ballot, YES, for_member=setup.membership_id(giver))
    cast(setup, other, ballot, NO)

    gave = voter_row(ballot, setup.membership_id(giver))
    assert gave.voted and gave.cast_by_id == setup.membership_id(holder)
    assert counters(ballot) == {YES: 2, NO: 1, ABSTAIN: 0}
    assert ballots.tick(now=ballot.closes_at) == 1
    closed = reload(Ballot, ballot.id)
    # 3 of 5 took part: 3 × 100 ≥ 50 × 5, quorum met (without the proxy, 2 × 100 < 250 would miss it);
    # 2 yes > 1 no: a majority of votes cast.
    assert closed.tally["participants"] == 3 and closed.tally["eligible"] == 5
    assert closed.tally["quorum_met"] is True
    assert (closed.tally["yes"], closed.tally["no"]) == (2, 1)
    assert closed.outcome == "adopted"
    assert reload(Project, closed.project_id).status == "approved"


def test_without_the_proxy_vote_the_same_ballot_misses_the_quorum(make_club):
    setup = make_club(5)
    ballot = open_funding(setup)
    giver, holder, other = setup.members[2], setup.members[3], setup.members[4]
    ballots.give_proxy(giver.id, setup.club_id, ballot.id, setup.membership_id(holder))
    cast(setup, holder, ballot, YES)
    cast(setup, other, ballot, NO)

    ballots.tick(now=ballot.closes_at)

    closed = reload(Ballot, ballot.id)
    assert closed.tally["participants"] == 2 and closed.outcome == "no_quorum"  # 200 < 250
    assert reload(Project, closed.project_id).status == "presented"  # back to presented, may be voted again


def test_a_holder_holds_at_most_the_charters_number_of_proxies(make_club):
    setup = make_club(5)
    ballot = open_funding(setup)
    assert ballot.max_proxies == 1  # the default charter
    holder = setup.membership_id(setup.members[4])
    ballots.give_proxy(setup.members[2].id, setup.club_id, ballot.id, holder)
    before = snapshot()

    with pytest.raises(LimitExceeded) as refused:
        ballots.give_proxy(setup.members[3].id, setup.club_id, ballot.id, holder)

    assert refused.value.rule == "R9"
    assert snapshot() == before


def test_a_proxy_cannot_be_passed_on(make_club):
    setup = make_club(5)
    ballot = open_funding(setup)
    a, b, c, d = setup.members[1:5]
    ballots.give_proxy(a.id, setup.club_id, ballot.id, setup.membership_id(b))
    before = snapshot()

    with pytest.raises(RuleViolation) as holder_gives:  # b holds a's proxy and would pass it to c
        ballots.give_proxy(b.id, setup.club_id, ballot.id, setup.membership_id(c))
    with pytest.raises(RuleViolation) as to_a_giver:  # d would give to a, who gave theirs away
        ballots.give_proxy(d.id, setup.club_id, ballot.id, setup.membership_id(a))

    for refused in (holder_gives, to_a_giver):
        assert type(refused.value) is RuleViolation and refused.value.rule == "R9"
    assert snapshot() == before


def test_a_recused_member_neither_gives_nor_holds_a_proxy(make_club):
    setup = make_club(5)
    project_id = presented(setup)
    linked, other = setup.members[4], setup.members[3]
    ballots.declare_link(linked.id, setup.club_id, project_id, "cousin")
    ballot = open_funding(setup, project_id)
    before = snapshot()

    with pytest.raises(RuleViolation) as gives:
        ballots.give_proxy(linked.id, setup.club_id, ballot.id, setup.membership_id(other))
    with pytest.raises(RuleViolation) as holds:
        ballots.give_proxy(other.id, setup.club_id, ballot.id, setup.membership_id(linked))

    assert gives.value.rule == holds.value.rule == "R8"
    assert snapshot() == before


def test_voting_in_person_voids_the_proxy(make_club):
    setup = make_club(5)
    ballot = open_funding(setup)
    giver, holder = setup.members[2], setup.members[3]
    proxy = ballots.give_proxy(giver.id, setup.club_id, ballot.id, setup.membership_id(holder))

    cast(setup, giver, ballot, NO)

    assert reload(Proxy, proxy.id).ended_at is not None
    assert live_proxies(ballot) == []
    before = snapshot()
    with pytest.raises(NotPermitted):
        cast(setup, holder, ballot, YES, for_member=setup.membership_id(giver))
    assert snapshot() == before
    assert counters(ballot) == {YES: 0, NO: 1, ABSTAIN: 0}


def test_in_an_open_ballot_the_givers_own_vote_replaces_the_holders(make_club):
    setup = make_club(5)
    ballot = open_funding(setup)
    giver, holder = setup.members[2], setup.members[3]
    gid, hid = setup.membership_id(giver), setup.membership_id(holder)
    ballots.give_proxy(giver.id, setup.club_id, ballot.id, hid)
    cast(setup, holder, ballot, YES, for_member=gid)
    assert vote_rows(ballot) == [(gid, hid, YES)]

    cast(setup, giver, ballot, NO)

    assert counters(ballot) == {YES: 0, NO: 1, ABSTAIN: 0}  # one vote for the giver, theirs
    assert vote_rows(ballot) == [(gid, gid, NO)]
    assert voter_row(ballot, gid).cast_by_id == gid
    assert live_proxies(ballot) == []


def test_in_a_secret_ballot_the_givers_own_vote_voids_the_proxys_unread(make_club):
    setup = make_club(5)
    ballot = open_funding(setup, secret=True)
    giver, holder = setup.members[2], setup.members[3]
    gid, hid = setup.membership_id(giver), setup.membership_id(holder)
    ballots.give_proxy(giver.id, setup.club_id, ballot.id, hid)
    cast(setup, holder, ballot, YES, for_member=gid)
    cast(setup, holder, ballot, NO)
    # The proxy's vote waits sealed, named by the member it counts for; the holder's own is in the box.
    sealed = db.session.scalars(select(SealedVote).where(SealedVote.ballot_id == ballot.id)).all()
    assert [s.voter_id for s in sealed] == [gid]
    assert len(sealed[0].sealed) == envelope.NONCE + envelope.PADDED + 16  # one size, whatever the choice

    cast(setup, giver, ballot, NO)  # the giver votes in person after all

    assert counters(ballot) == {YES: 0, NO: 2, ABSTAIN: 0}  # the giver's own vote counts, the proxy's is void
    assert db.session.scalars(select(SealedVote).where(SealedVote.ballot_id == ballot.id)).all() == []
    assert voter_row(ballot, gid).cast_by_id == gid
    assert live_proxies(ballot) == []
    # Nobody is told what the proxy chose: the giver's page shows no choice, theirs or the proxy's.
    assert ballots.ballot_page(giver.id, setup.club_id, ballot.id).my_choices == {}
    before = snapshot()
    with pytest.raises(NotPermitted):
        cast(setup, holder, ballot, YES, for_member=gid)
    with pytest.raises(Conflict):
        cast(setup, giver, ballot, YES)  # and now the giver's vote is final
    assert snapshot() == before
    ballots.tick(now=ballot.closes_at)
    assert reload(Ballot, ballot.id).tally["no"] == 2 and reload(Ballot, ballot.id).tally["participants"] == 2


def test_in_a_secret_ballot_the_holder_cannot_change_the_proxy_vote(make_club):
    setup = make_club(5)
    ballot = open_funding(setup, secret=True)
    giver, holder = setup.members[2], setup.members[3]
    ballots.give_proxy(giver.id, setup.club_id, ballot.id, setup.membership_id(holder))
    cast(setup, holder, ballot, YES, for_member=setup.membership_id(giver))
    before = snapshot()

    with pytest.raises(Conflict):
        cast(setup, holder, ballot, NO, for_member=setup.membership_id(giver))
    with pytest.raises(Conflict) as withdrawn:  # the giver replaces it by voting, not by withdrawing
        ballots.withdraw_proxy(giver.id, setup.club_id, ballot.id)

    assert english(withdrawn.value) == "Your proxy has already voted for you; vote in person to replace it."
    assert snapshot() == before
    ballots.tick(now=ballot.closes_at)
    assert reload(Ballot, ballot.id).tally["yes"] == 1  # the sealed vote was opened and counted at the close


def test_a_proxy_is_withdrawn_and_can_then_go_to_someone_else(make_club):
    setup = make_club(5)
    ballot = open_funding(setup)
    giver, first, second = setup.members[2], setup.members[3], setup.members[4]
    gid = setup.membership_id(giver)
    proxy = ballots.give_proxy(giver.id, setup.club_id, ballot.id, setup.membership_id(first))

    ballots.withdraw_proxy(giver.id, setup.club_id, ballot.id)

    assert reload(Proxy, proxy.id).ended_at is not None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "ballot.proxy_withdraw",
                                                      AuditEntry.object_id == proxy.id)).actor_id == giver.id
    before = snapshot()
    with pytest.raises(NotPermitted):
        cast(setup, first, ballot, YES, for_member=gid)
    with pytest.raises(Conflict):  # nothing left to withdraw
        ballots.withdraw_proxy(giver.id, setup.club_id, ballot.id)
    assert snapshot() == before

    ballots.give_proxy(giver.id, setup.club_id, ballot.id, setup.membership_id(second))
    assert live_proxies(ballot) == [(gid, setup.membership_id(second))]


def test_a_proxy_given_twice_or_after_voting_is_refused(make_club):
    setup = make_club(5)
    ballot = open_funding(setup)
    giver, voter_, holder = setup.members[2], setup.members[3], setup.members[4]
    ballots.give_proxy(giver.id, setup.club_id, ballot.id, setup.membership_id(holder))
    cast(setup, voter_, ballot, YES)
    before = snapshot()

    with pytest.raises(Conflict):
        ballots.give_proxy(giver.id, setup.club_id, ballot.id, setup.membership_id(setup.members[1]))
    with pytest.raises(Conflict):
        ballots.give_proxy(voter_.id, setup.club_id, ballot.id, setup.membership_id(setup.members[1]))

    assert snapshot() == before


def test_a_proxy_to_oneself_or_to_a_non_member_is_refused(make_club):
    setup = make_club(5)
    ballot = open_funding(setup)
    other_club = make_club(5, name="Autre cigale")
    giver = setup.members[2]
    before = snapshot()

    for holder in (setup.membership_id(giver), other_club.membership_id(other_club.members[2]), 10**9, None, "3",
                   True):
        with pytest.raises(InvalidInput) as refused:
            ballots.give_proxy(giver.id, setup.club_id, ballot.id, holder)
        assert refused.value.field == "holder_id", holder

    assert snapshot() == before


def test_someone_outside_the_club_cannot_vote_or_give_a_proxy(make_club, make_user):
    setup = make_club(5)
    ballot = open_funding(setup)
    other_club = make_club(5, name="Autre cigale")
    stranger = make_user()
    before = snapshot()

    for user in (stranger, other_club.members[2]):
        with pytest.raises(NotFound):
            cast(setup, user, ballot, YES)
        with pytest.raises(NotFound):
            ballots.give_proxy(user.id, setup.club_id, ballot.id, setup.membership_id(setup.members[1]))
    with pytest.raises(NotFound):  # nor from their own club, naming our ballot
        ballots.vote(other_club.members[2].id, other_club.club_id, ballot.id, choices={option_of(ballot): YES})

    assert snapshot() == before


def test_two_members_giving_their_proxy_to_the_same_holder_at_once(app, make_club, monkeypatch):
    setup = make_club(5)
    ballot = open_funding(setup)
    club_id, ballot_id = setup.club_id, ballot.id
    holder = setup.membership_id(setup.members[4])
    first, second = setup.members[2].id, setup.members[3].id
    # Both have checked the limit before either writes, unless the ballot's lock keeps them apart.
    pause_after(monkeypatch, rules, "check_proxy")

    outcomes = at_once(app, lambda: ballots.give_proxy(first, club_id, ballot_id, holder),
                       lambda: ballots.give_proxy(second, club_id, ballot_id, holder))

    assert outcomes == ["LimitExceeded R9", "done"]
    assert [h for _, h in live_proxies(ballot)] == [holder]


# --- Closing early -------------------------------------------------------------------------------


def test_closing_early_waits_for_every_eligible_member(make_club):
    setup = make_club(5)
    ballot = open_funding(setup)
    for user in setup.members[:4]:
        cast(setup, user, ballot, YES)
    before = snapshot()

    with pytest.raises(RuleViolation) as refused:
        ballots.close_early(setup.manager.id, setup.club_id, ballot.id)

    assert refused.value.rule == "R9"
    assert snapshot() == before
    assert reload(Ballot, ballot.id).status == "open"


def test_closing_early_once_everyone_has_voted_counting_proxies(make_club):
    setup = make_club(5)
    ballot = open_funding(setup)
    giver, holder = setup.members[4], setup.members[3]
    ballots.give_proxy(giver.id, setup.club_id, ballot.id, setup.membership_id(holder))
    for user in setup.members[:4]:
        cast(setup, user, ballot, YES)
    cast(setup, holder, ballot, NO, for_member=setup.membership_id(giver))

    closed = ballots.close_early(setup.manager.id, setup.club_id, ballot.id)

    closed = reload(Ballot, closed.id)
    assert closed.status == "closed" and closed.closed_by_id == setup.manager.id
    # 5 of 5 took part; 4 yes > 1 no.
    assert (closed.tally["participants"], closed.tally["yes"], closed.tally["no"]) == (5, 4, 1)
    assert closed.outcome == "adopted"


def test_closing_early_needs_the_manager(make_club):
    setup = make_club(5)
    ballot = open_funding(setup)
    for user in setup.members:
        cast(setup, user, ballot, YES)
    before = snapshot()

    with pytest.raises(NotPermitted):
        ballots.close_early(setup.members[1].id, setup.club_id, ballot.id)

    assert snapshot() == before


def test_closing_early_counts_recused_members_out(make_club):
    setup = make_club(5)
    project_id = presented(setup)
    ballots.declare_link(setup.members[4].id, setup.club_id, project_id, "cousin")
    ballot = open_funding(setup, project_id)
    for user in setup.members[:4]:
        cast(setup, user, ballot, NO)

    ballots.close_early(setup.manager.id, setup.club_id, ballot.id)

    closed = reload(Ballot, ballot.id)
    assert (closed.tally["eligible"], closed.tally["participants"]) == (4, 4)
    assert closed.outcome == "rejected"  # 0 yes, 4 no
    assert reload(Project, project_id).status == "rejected"


# --- Secrecy (R9) ----------------------------------------------------------------------------------

CHOICE_COLUMNS = {"value", "values", "choice", "choices", "grade", "grades", "reason"}
CHOICE_KEYS = CHOICE_COLUMNS | {"yes", "no", "abstain", "option", "options", "approved"}


def _keys(value) -> set[str]:
    """Every key in a JSON value, at any depth."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_a_secret_ballot_keeps_no_link_between_a_voter_and_a_choice(make_club, backend):
    setup = make_club(7)
    ballot = open_funding(setup, secret=True)
    # Different choices: 3 yes, 2 no, 1 abstention, and one by proxy (yes).
    plan = [YES, NO, YES, ABSTAIN, NO, YES]
    voters = setup.members[:6]
    giver, holder = setup.members[6], setup.members[0]
    ballots.give_proxy(giver.id, setup.club_id, ballot.id, setup.membership_id(holder))
    for user, value in zip(voters, plan, strict=True):
        cast(setup, user, ballot, value)
    cast(setup, holder, ballot, YES, for_member=setup.membership_id(giver))

    # Results stay hidden while the ballot is open.
    page = ballots.ballot_page(setup.manager.id, setup.club_id, ballot.id)
    assert page.ballot.tally is None and page.ballot.outcome is None and page.ballot.winner_option_id is None
    assert page.my_choices == {} and page.votes == []

    ballots.close_early(setup.manager.id, setup.club_id, ballot.id)
    closed = reload(Ballot, ballot.id)
    # 7 of 7 took part; yes 4 (3 + proxy) > no 2: adopted.
    assert (closed.tally["participants"], closed.tally["yes"], closed.tally["no"], closed.tally["abstain"]) == (
        7, 4, 2, 1)
    assert closed.outcome == "adopted"

    voter_users = {u.id for u in setup.members}
    voter_members = set(setup.memberships.values())
    db.session.rollback()
    tables = db.metadata.sorted_tables
    assert {"ballot_vote", "ballot_count", "ballot_voter", "audit_entry", "proxy"} <= {t.name for t in tables}
    for table in tables:
        rows = db.session.execute(select(table)).mappings().all()
        person_columns = {c.name for c in table.columns
                          if any(fk.column.table.name in ("membership", "user_account") for fk in c.foreign_keys)}
        choice_columns = {c.name for c in table.columns} & CHOICE_COLUMNS
        json_columns = [c.name for c in table.columns if isinstance(c.type, JSON)]
        for row in rows:
            people = {row[c] for c in person_columns} - {None}
            if table.name == "membership":
                people.add(row["id"])
            if table.name == "user_account":
                people.add(row["id"])
            if not people & (voter_users | voter_members):
                continue
            # A row naming a voter carries no choice: no choice column for this ballot…
            if choice_columns and row.get("ballot_id") == ballot.id:
                raise AssertionError(f"{table.name} links a voter to a choice: {dict(row)}")
            # …and no choice inside its JSON, except the ballot's own totals, which name no voter.
            for column in json_columns:
                if table.name == "ballot" and column == "tally":
                    continue
                found = _keys(row[column]) & CHOICE_KEYS
                assert not found, f"{table.name}.{column} carries {found}: {dict(row)}"
    assert db.session.scalars(select(BallotVote).where(BallotVote.ballot_id == ballot.id)).all() == []
    # The vote's audit entries say who took part, not what they chose.
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "ballot.vote",
                                                          AuditEntry.object_id == ballot.id)).all()
    assert len(entries) == 7
    assert {frozenset(e.after) for e in entries} == {frozenset({"voter", "by_proxy"})}
    assert all(e.before is None for e in entries)
    # The counters have no voter column: only the option, the value and how many.
    assert {c.name for c in BallotCount.__table__.columns} == {"id", "club_id", "ballot_id", "option_id", "value", "count"}
    assert counters(ballot) == {YES: 4, NO: 2, ABSTAIN: 1}
    page = ballots.ballot_page(setup.members[1].id, setup.club_id, ballot.id)
    assert page.votes == [] and page.my_choices == {}
    if backend in SERVERS:
        # Every counter was rewritten by the close: no row version points at the last voter's transaction.
        versions = db.session.execute(text("SELECT DISTINCT xmin::text FROM ballot_count WHERE ballot_id = :b"),
                                      {"b": ballot.id}).scalars().all()
        assert len(versions) == 1


def test_an_open_ballot_hides_its_result_until_the_close(make_club):
    setup = make_club(5)
    ballot = open_funding(setup)
    for user in setup.members[:3]:
        cast(setup, user, ballot, YES)

    page = ballots.ballot_page(setup.members[4].id, setup.club_id, ballot.id)
    assert page.ballot.tally is None and page.ballot.outcome is None
    assert page.votes == []  # who voted what shows only after the close
    ballots.tick(now=ballot.closes_at)
    page = ballots.ballot_page(setup.members[4].id, setup.club_id, ballot.id)
    assert page.ballot.outcome == "adopted"  # 3 of 5 took part (300 ≥ 250), 3 yes > 0 no
    assert len(page.votes) == 3


def test_an_election_is_secret_by_default(make_club):
    setup = make_club(5)
    candidates = [setup.membership_id(setup.members[2]), setup.membership_id(setup.members[3])]
    ballot = ballots.open_ballot(setup.manager.id, setup.club_id, kind="election", method="approval",
                                 closes_at=utcnow() + WEEK, subject=Subject(role="secretary", candidate_ids=candidates),
                                 form_key=key())
    assert ballot.secret
    first, second = (o.id for o in ballot.options)
    ballots.vote(setup.members[1].id, setup.club_id, ballot.id, choices={first: 1})
    ballots.vote(setup.members[4].id, setup.club_id, ballot.id, choices={second: 1, first: 0})

    db.session.rollback()
    assert db.session.scalars(select(BallotVote).where(BallotVote.ballot_id == ballot.id)).all() == []
    assert reload(Ballot, ballot.id).tally is None


# --- Rules frozen at opening (R9) -----------------------------------------------------------------


def test_a_ballot_keeps_the_rules_in_force_when_it_opened(make_club):
    setup = make_club(5)
    now = utcnow()
    funding = open_funding(setup, now=now)
    assert (funding.charter_version, funding.quorum_percent, funding.threshold) == (1, 50, "majority")

    charter_ballot = ballots.open_ballot(
        setup.manager.id, setup.club_id, kind="charter", method="yes_no", closes_at=now + WEEK,
        subject=Subject(changes={"quorum_percent": 100, "threshold_investment": "unanimity"}), form_key=key(),
        now=now)
    for user in setup.members:
        ballots.vote(user.id, setup.club_id, charter_ballot.id, choices={option_of(charter_ballot): YES})
    ballots.close_early(setup.manager.id, setup.club_id, charter_ballot.id)

    assert reload(Ballot, charter_ballot.id).outcome == "adopted"
    charter = charter_of(setup.club_id)
    assert (charter.version, charter.quorum_percent, charter.threshold_investment) == (2, 100, "unanimity")
    assert db.session.scalar(select(Charter).where(Charter.club_id == setup.club_id, Charter.version == 1)
                             ).quorum_percent == 50  # the old version is kept

    # Now the funding ballot: 3 yes, 1 no, one member silent.
    for user, value in zip(setup.members[:4], [YES, YES, YES, NO], strict=True):
        cast(setup, user, funding, value)
    ballots.tick(now=funding.closes_at)

    closed = reload(Ballot, funding.id)
    # Old rules: 4 × 100 ≥ 50 × 5 and 3 yes > 1 no: adopted.
    # The new ones would refuse it twice: 4 × 100 < 100 × 5 (no quorum) and 3 yes ≠ 5 eligible (no unanimity).
    assert closed.outcome == "adopted"
    assert (closed.charter_version, closed.quorum_percent, closed.threshold) == (1, 50, "majority")
    assert (closed.tally["quorum_percent"], closed.tally["threshold"]) == (50, "majority")
    assert reload(Project, closed.project_id).status == "approved"

    # A ballot opened now takes the new rules.
    later = open_funding(setup, presented(setup, name="Épicerie"))
    assert (later.charter_version, later.quorum_percent, later.threshold) == (2, 100, "unanimity")
