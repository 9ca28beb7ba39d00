"""Ballots through the real services: who may open one, what it copies (R9), and the effect of every kind of
decision once it closes (R1, R3, R5–R8, R13).

The default club (``make_club(5)``): manager = members[0], treasurer = members[1], three plain members. Unless a
test says otherwise the charter is the default one: quorum 50 %, so with 5 eligible members a ballot needs
3 participants (3 × 100 ≥ 50 × 5, while 2 × 100 < 250)."""
from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from coop.extensions import db
from coop.models import (
    Account,
    AuditEntry,
    Ballot,
    BallotVote,
    BallotVoter,
    Charter,
    Club,
    Membership,
    Project,
)
from coop.models.base import utcnow
from coop.services import access, ballots, clubs, projects
from coop.services.ballots import Subject
from coop.services.charter import charter_of
from coop.services.errors import Conflict, InvalidInput, NotFound, NotPermitted, RuleViolation
from coop.services.tally import ABSTAIN, APPROVED, NO, YES
from tests.conftest import by_id, english, fund_for_projects, key, refused

WEEK = timedelta(days=7)


def later(days: int = 8):
    """A moment after the default one-week deadline."""
    return utcnow() + timedelta(days=days)


def years_later(start: date, years: int) -> date:
    """Same day ``years`` later; 29 February becomes the 28th (what a 12-month term ends on)."""
    year = start.year + years
    return start.replace(year=year, day=min(start.day, calendar.monthrange(year, start.month)[1]))


def fresh(model, id_):
    db.session.expire_all()
    return by_id(model, id_)


PROJECT = dict(description="Un projet local.", town="Die", legal_form="scop", instrument="loan",
               amount_requested=300_000, stake_hundredths=None, holder_name="Anne Martin",
               holder_contact="anne@example.org")


def presented(setup, name: str = "Fournil de Die", *, proposer=None) -> int:
    fund_for_projects(setup)
    proposer = proposer or setup.members[2]
    project = projects.propose(proposer.id, setup.club_id, {**PROJECT, "name": name}, form_key=key())
    projects.present(proposer.id, setup.club_id, project.id)
    return project.id


def draft(setup, name: str = "Brouillon") -> int:
    return projects.propose(setup.members[2].id, setup.club_id, {**PROJECT, "name": name}, form_key=key()).id


def ask_to_join(setup, user) -> int:
    """invite + join: a pending request in the club."""
    _, code = clubs.invite(setup.manager.id, setup.club_id, form_key=key())
    return clubs.join(user.id, code).id


def open_(setup, kind: str, subject: Subject, method: str = "yes_no", *, by=None, days: int = 7, **kwargs):
    return ballots.open_ballot((by or setup.manager).id, setup.club_id, kind=kind, method=method,
                               closes_at=utcnow() + timedelta(days=days), subject=subject,
                               form_key=kwargs.pop("form_key", None) or key(), **kwargs)


def cast(setup, ballot, *, yes=(), no=(), abstain=()):
    """Yes/no votes on a single-question ballot."""
    option = ballot.options[0].id
    for users, value in ((yes, YES), (no, NO), (abstain, ABSTAIN)):
        for user in users:
            ballots.vote(user.id, setup.club_id, ballot.id, choices={option: value})


def close(ballot_id: int) -> Ballot:
    """Past the deadline, the cron job closes it."""
    assert ballots.tick(now=later()) == 1
    return fresh(Ballot, ballot_id)


def set_club_status(club_id: int, status: str) -> None:
    db.session.execute(update(Club).where(Club.id == club_id).values(status=status))
    db.session.commit()


def mid(setup, index: int) -> int:
    return setup.membership_id(setup.members[index])


def subject_for(kind: str, setup, make_user) -> Subject:
    """A subject each kind can decide in the default club."""
    if kind == "funding":
        return Subject(project_ids=[presented(setup)])
    if kind == "admission":
        return Subject(membership_id=ask_to_join(setup, make_user()))
    if kind == "exclusion":
        return Subject(membership_id=mid(setup, 4))
    if kind == "election":
        return Subject(role="secretary", candidate_ids=[mid(setup, 2)])
    if kind == "charter":
        return Subject(changes={"quorum_percent": 75})
    return Subject()


KINDS = ("funding", "admission", "exclusion", "election", "charter", "renewal", "dissolution")


# --- Opening: what the ballot copies (R9) ---------------------------------------------------------------------------

DEFAULT_THRESHOLD = {"funding": "majority", "admission": "two_thirds", "exclusion": "two_thirds",
                     "election": "majority", "charter": "unanimity", "renewal": "unanimity",
                     "dissolution": "unanimity"}


@pytest.mark.parametrize("kind", KINDS)
def test_a_ballot_copies_the_rules_in_force(make_club, make_user, kind):
    setup = make_club(5)
    ballot = open_(setup, kind, subject_for(kind, setup, make_user))
    ballot = fresh(Ballot, ballot.id)
    assert ballot.status == "open" and ballot.outcome is None
    assert ballot.threshold == DEFAULT_THRESHOLD[kind]
    assert (ballot.quorum_percent, ballot.max_proxies, ballot.charter_version) == (50, 1, 1)
    # Five active members; the member an exclusion is about does not vote on it (R8).
    assert ballot.eligible_count == (4 if kind == "exclusion" else 5)
    voters = db.session.scalars(select(BallotVoter).where(BallotVoter.ballot_id == ballot.id)).all()
    assert len(voters) == 5
    # Officer elections are secret unless said otherwise; nothing else is.
    assert ballot.secret is (kind == "election")


def test_a_ballot_copies_an_amended_charter(make_club, make_user):
    setup = make_club(5, activate=False)
    clubs.amend_charter(setup.manager.id, setup.club_id, {
        "quorum_percent": 60, "max_proxies_per_holder": 2, "threshold_investment": "two_thirds",
        "threshold_membership": "majority", "threshold_officers": "two_thirds", "threshold_dissolution": "two_thirds"})
    clubs.activate(setup.manager.id, setup.club_id)
    expected = {"funding": "two_thirds", "admission": "majority", "exclusion": "majority",
                "election": "two_thirds", "charter": "unanimity", "renewal": "unanimity", "dissolution": "two_thirds"}
    for kind in KINDS:
        ballot = fresh(Ballot, open_(setup, kind, subject_for(kind, setup, make_user)).id)
        assert ballot.threshold == expected[kind], kind
        assert (ballot.quorum_percent, ballot.max_proxies, ballot.charter_version) == (60, 2, 2), kind


def test_a_project_linked_member_is_recused_and_not_counted(make_club):
    setup = make_club(5)
    project_id = presented(setup)
    ballots.declare_link(setup.members[3].id, setup.club_id, project_id, "Cousine de la porteuse")
    ballot = open_(setup, "funding", Subject(project_ids=[project_id]))
    assert fresh(Ballot, ballot.id).eligible_count == 4
    voter = db.session.scalar(select(BallotVoter).where(BallotVoter.ballot_id == ballot.id,
                                                        BallotVoter.membership_id == mid(setup, 3)))
    assert voter.recused is True


# --- Opening: refusals, each writing nothing ------------------------------------------------------------------------


@pytest.mark.parametrize("who", [1, 2], ids=["treasurer", "member"])
def test_only_the_manager_opens_a_ballot(make_club, who):
    setup = make_club(5)
    project_id = presented(setup)
    refused(lambda: open_(setup, "funding", Subject(project_ids=[project_id]), by=setup.members[who]), NotPermitted, rule=None)
    assert fresh(Project, project_id).status == "presented"


def test_outsiders_and_other_clubs_get_not_found(make_club, make_user):
    setup = make_club(5, name="Cigale A")
    other = make_club(5, name="Cigale B")
    project_id = presented(setup)
    theirs = presented(other, "Projet de B")
    pending_elsewhere = ask_to_join(other, make_user())
    outsider = make_user()
    subject = Subject(project_ids=[project_id])
    refused(lambda: open_(setup, "funding", subject, by=outsider), NotFound)
    refused(lambda: open_(setup, "funding", subject, by=other.manager), NotFound)
    # The manager of A names things of club B: as if they did not exist.
    refused(lambda: open_(setup, "funding", Subject(project_ids=[theirs])), NotFound)
    refused(lambda: open_(setup, "funding", Subject(project_ids=[project_id, theirs]), method="judgment"), NotFound)
    refused(lambda: open_(setup, "admission", Subject(membership_id=pending_elsewhere)), NotFound)
    refused(lambda: open_(setup, "exclusion", Subject(membership_id=mid(other, 4))), NotFound)
    refused(lambda: open_(setup, "election", Subject(role="secretary", candidate_ids=[mid(other, 2)])), NotFound)
    assert fresh(Project, theirs).status == "presented"


def test_a_forming_club_does_not_vote(make_club):
    setup = make_club(5, activate=False)
    project_id = presented(setup)
    refused(lambda: open_(setup, "funding", Subject(project_ids=[project_id])), Conflict)
    refused(lambda: open_(setup, "dissolution", Subject()), Conflict)


@pytest.mark.parametrize("kind", ["funding", "admission"])
def test_a_club_in_management_takes_no_investment_and_no_member(make_club, make_user, kind):
    setup = make_club(5)
    subject = subject_for(kind, setup, make_user)  # presented / asked while the club was active
    set_club_status(setup.club_id, "in_management")
    refused(lambda: open_(setup, kind, subject), RuleViolation, rule="R5")


@pytest.mark.parametrize("kind", ["exclusion", "election", "charter", "renewal", "dissolution"])
def test_a_club_in_management_still_takes_other_decisions(make_club, make_user, kind):
    setup = make_club(5)
    set_club_status(setup.club_id, "in_management")
    ballot = open_(setup, kind, subject_for(kind, setup, make_user))
    assert fresh(Ballot, ballot.id).status == "open"


def test_a_club_in_management_that_renews_is_active_again(make_club):
    setup = make_club(5)
    set_club_status(setup.club_id, "in_management")
    ballot = open_(setup, "renewal", Subject())
    cast(setup, ballot, yes=setup.members)
    assert close(ballot.id).outcome == "adopted"
    club = fresh(Club, setup.club_id)
    assert (club.status, club.renewals) == ("active", 1)


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        pytest.param(timedelta(minutes=10), True, id="exactly 10 minutes"),
        pytest.param(timedelta(minutes=10) - timedelta(seconds=1), False, id="a second under 10 minutes"),
        pytest.param(timedelta(days=90), True, id="exactly 90 days"),
        pytest.param(timedelta(days=90, minutes=1), False, id="past 90 days"),
        pytest.param(-timedelta(hours=1), False, id="in the past"),
    ],
)
def test_the_deadline_is_10_minutes_to_90_days_away(make_club, offset, accepted):
    setup = make_club(5)
    now = utcnow().replace(second=0, microsecond=0)

    def call():
        return ballots.open_ballot(setup.manager.id, setup.club_id, kind="dissolution", method="yes_no",
                                   closes_at=now + offset, subject=Subject(), form_key=key(), now=now)

    if accepted:
        ballot = fresh(Ballot, call().id)
        assert ballot.closes_at == now + offset and ballot.opened_at == now
    else:
        refused(call, InvalidInput, field="closes_at")


def test_a_deadline_must_be_a_date_and_time(make_club):
    setup = make_club(5)
    refused(lambda: ballots.open_ballot(
        setup.manager.id, setup.club_id, kind="dissolution", method="yes_no", closes_at="2030-01-01",
        subject=Subject(), form_key=key()), InvalidInput, field="closes_at")


def test_a_replayed_form_opens_nothing(make_club):
    setup = make_club(5)
    form_key = key()
    open_(setup, "dissolution", Subject(), form_key=form_key)
    # Another subject, so that only the spent key can refuse it.
    error = refused(lambda: open_(setup, "renewal", Subject(), form_key=form_key), Conflict)
    assert english(error) == "This form has already been sent."


@pytest.mark.parametrize(
    ("kind", "method", "projects_count", "secret", "error", "rule", "field"),
    [
        pytest.param("funding", "yes_no", 2, None, InvalidInput, None, "method", id="yes/no on two projects"),
        pytest.param("funding", "consent", 2, None, InvalidInput, None, "method", id="consent on two projects"),
        pytest.param("funding", "judgment", 1, None, InvalidInput, None, "method", id="judgment on one project"),
        pytest.param("funding", "approval", 1, None, InvalidInput, None, "method", id="approval on one project"),
        pytest.param("funding", "consent", 1, True, InvalidInput, None, "secret", id="secret consent"),
        pytest.param("admission", "judgment", 0, None, InvalidInput, None, "method", id="judgment for admission"),
        pytest.param("renewal", "approval", 0, None, InvalidInput, None, "method", id="approval for renewal"),
        pytest.param("charter", "consent", 0, None, RuleViolation, "R7", "method", id="consent for unanimity"),
        pytest.param("dissolution", "consent", 0, None, RuleViolation, "R7", "method",
                     id="consent for dissolution"),
        pytest.param("election", "consent", 0, None, InvalidInput, None, "secret",
                     id="consent in a secret-by-default election"),
        pytest.param("funding", "ranked", 1, None, InvalidInput, None, "method", id="unknown method"),
        pytest.param("lottery", "yes_no", 0, None, InvalidInput, None, "kind", id="unknown kind"),
    ],
)
def test_the_method_must_fit_the_decision(make_club, make_user, kind, method, projects_count, secret, error, rule,
                                          field):
    setup = make_club(5)
    if projects_count:
        subject = Subject(project_ids=[presented(setup, f"Projet {n}") for n in range(projects_count)])
    elif kind in KINDS:
        subject = subject_for(kind, setup, make_user)
    else:
        subject = Subject()
    refused(lambda: open_(setup, kind, subject, method=method, secret=secret), error, rule=rule, field=field)
    for project_id in subject.project_ids:
        assert fresh(Project, project_id).status == "presented"


def test_consent_fits_an_open_funding_decision(make_club):
    setup = make_club(5)
    ballot = open_(setup, "funding", Subject(project_ids=[presented(setup)]), method="consent")
    assert fresh(Ballot, ballot.id).method == "consent"


def test_only_a_presented_project_is_put_to_the_vote(make_club):
    setup = make_club(5)
    draft_id = draft(setup)
    refused(lambda: open_(setup, "funding", Subject(project_ids=[draft_id])), Conflict)
    first = presented(setup, "Premier")
    open_(setup, "funding", Subject(project_ids=[first]))
    assert fresh(Project, first).status == "in_vote"
    # Already in vote, alone or among others: refused, and the other project stays presented.
    second = presented(setup, "Second")
    refused(lambda: open_(setup, "funding", Subject(project_ids=[first])), Conflict)
    refused(lambda: open_(setup, "funding", Subject(project_ids=[second, first]), method="judgment"), Conflict)
    assert fresh(Project, second).status == "presented"


def test_a_subject_is_listed_once(make_club):
    setup = make_club(5)
    project_id = presented(setup)
    refused(lambda: open_(setup, "funding", Subject(project_ids=[project_id, project_id]),
                          method="judgment"), InvalidInput, field="project_ids")
    refused(lambda: open_(setup, "funding", Subject(project_ids=[])), InvalidInput, field="project_ids")


@pytest.mark.parametrize("kind", ["admission", "exclusion", "election", "charter", "renewal", "dissolution"])
def test_two_open_ballots_on_the_same_subject_are_refused(make_club, make_user, kind):
    setup = make_club(5)
    subject = subject_for(kind, setup, make_user)
    open_(setup, kind, subject)
    if kind == "election":  # the same office, even with another candidate
        subject = Subject(role="secretary", candidate_ids=[mid(setup, 3)])
    elif kind == "charter":  # any other amendment
        subject = Subject(changes={"max_proxies_per_holder": 2})
    error = refused(lambda: open_(setup, kind, subject), Conflict)
    assert english(error) == "A ballot on this is already open."


def test_an_election_for_another_office_may_run_alongside(make_club):
    setup = make_club(5)
    open_(setup, "election", Subject(role="secretary", candidate_ids=[mid(setup, 2)]))
    ballot = open_(setup, "election", Subject(role="treasurer", candidate_ids=[mid(setup, 3)]))
    assert fresh(Ballot, ballot.id).role == "treasurer"


# --- Funding -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yes", "no", "abstain", "outcome", "status"),
    [
        pytest.param(3, 1, 0, "adopted", "approved", id="3 yes 1 no: approved"),
        pytest.param(1, 0, 2, "adopted", "approved", id="abstentions make the quorum, 1 yes 0 no"),
        pytest.param(2, 2, 1, "rejected", "rejected", id="a tie fails"),
        pytest.param(1, 1, 0, "no_quorum", "presented", id="2 of 5 take part: no quorum"),
    ],
)
def test_funding_yes_no(make_club, yes, no, abstain, outcome, status):
    setup = make_club(5)
    project_id = presented(setup)
    ballot = open_(setup, "funding", Subject(project_ids=[project_id]))
    voters = iter(setup.members)
    cast(setup, ballot, yes=[next(voters) for _ in range(yes)], no=[next(voters) for _ in range(no)],
         abstain=[next(voters) for _ in range(abstain)])
    ballot = close(ballot.id)
    assert ballot.outcome == outcome and ballot.effect_error is None
    assert (ballot.tally["yes"], ballot.tally["no"], ballot.tally["abstain"]) == (yes, no, abstain)
    assert ballot.tally["participants"] == yes + no + abstain and ballot.tally["eligible"] == 5
    project = fresh(Project, project_id)
    assert project.status == status
    assert (project.decided_at is not None) is (status != "presented")


def test_funding_by_majority_judgment_among_three_projects(make_club):
    setup = make_club(5)
    a, b, c = presented(setup, "A"), presented(setup, "B"), presented(setup, "C")
    ballot = open_(setup, "funding", Subject(project_ids=[b, a, c]), method="judgment")
    option = {o.project_id: o.id for o in ballot.options}
    grades = [  # (A, B, C) per voter
        (5, 4, 3),
        (4, 4, 3),
        (3, 2, 3),
        (3, 2, 2),
        (1, 0, 2),
    ]
    for user, (ga, gb, gc) in zip(setup.members, grades, strict=True):
        ballots.vote(user.id, setup.club_id, ballot.id, choices={option[a]: ga, option[b]: gb, option[c]: gc})
    ballot = close(ballot.id)
    # Sorted grades, lower median at index (5 - 1) // 2 = 2:
    #   A 1 3 3 4 5 -> 3, two above and one below: "3+"
    #   C 2 2 3 3 3 -> 3, none above and two below: "3-"
    #   B 0 2 2 4 4 -> 2
    # so A, C, B. A is graded fair (2) or better by 4 of 5: 4 > 1, a majority.
    figures = ballot.tally["options"]
    assert [figures[str(option[p])]["rank"] for p in (a, c, b)] == [1, 2, 3]
    assert [figures[str(option[p])]["majority_grade"] for p in (a, c, b)] == [3, 3, 2]
    assert figures[str(option[a])]["accepting"] == 4
    assert ballot.outcome == "adopted" and ballot.winner_option_id == option[a]
    assert (ballot.tally["yes"], ballot.tally["no"]) == (4, 1)
    assert [fresh(Project, p).status for p in (a, b, c)] == ["approved", "presented", "presented"]
    assert fresh(Ballot, ballot.id).project_id is None  # several projects: no single subject


def test_funding_by_approval_between_two_projects(make_club):
    setup = make_club(5)
    a, b = presented(setup, "A"), presented(setup, "B")
    ballot = open_(setup, "funding", Subject(project_ids=[a, b]), method="approval")
    oa, ob = (o.id for o in ballot.options)
    approvals = [{oa: APPROVED, ob: APPROVED}, {oa: APPROVED}, {oa: APPROVED}, {oa: APPROVED, ob: APPROVED}, {}]
    for user, choices in zip(setup.members, approvals, strict=True):
        ballots.vote(user.id, setup.club_id, ballot.id, choices=choices)
    ballot = close(ballot.id)
    # A: 4 approvals, B: 2; A is approved by 4 of the 5 participants, a majority (4 > 1).
    assert ballot.tally["options"][str(oa)]["approvals"] == 4 and ballot.tally["options"][str(ob)]["approvals"] == 2
    assert ballot.outcome == "adopted" and ballot.winner_option_id == oa
    assert [fresh(Project, p).status for p in (a, b)] == ["approved", "presented"]


def test_a_tie_at_the_top_approves_no_project(make_club):
    setup = make_club(5)
    a, b = presented(setup, "A"), presented(setup, "B")
    ballot = open_(setup, "funding", Subject(project_ids=[a, b]), method="approval")
    oa, ob = (o.id for o in ballot.options)
    approvals = [{oa: APPROVED, ob: APPROVED}, {oa: APPROVED}, {ob: APPROVED}, {oa: APPROVED}, {ob: APPROVED}]
    for user, choices in zip(setup.members, approvals, strict=True):
        ballots.vote(user.id, setup.club_id, ballot.id, choices=choices)
    ballot = close(ballot.id)
    # 3 approvals each: both first, nobody wins.
    assert ballot.outcome == "tie" and ballot.winner_option_id is None
    assert {ballot.tally["options"][str(o)]["rank"] for o in (oa, ob)} == {1}
    assert [fresh(Project, p).status for p in (a, b)] == ["presented", "presented"]


# --- Admission and exclusion ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yes", "no", "outcome", "status"),
    [
        pytest.param(2, 1, "adopted", "active", id="2 of 3 cast is exactly two thirds: 6 >= 6"),
        pytest.param(3, 2, "rejected", "declined", id="3 of 5 cast is short of two thirds: 9 < 10"),
        pytest.param(2, 0, "no_quorum", "pending", id="2 of 5 take part: no quorum"),
    ],
)
def test_admission_by_vote(make_club, make_user, yes, no, outcome, status):
    setup = make_club(5)
    newcomer = make_user()
    asked = ask_to_join(setup, newcomer)
    ballot = open_(setup, "admission", Subject(membership_id=asked))
    assert fresh(Ballot, ballot.id).eligible_count == 5  # a pending request does not vote
    cast(setup, ballot, yes=setup.members[:yes], no=setup.members[yes:yes + no])
    ballot = close(ballot.id)
    assert ballot.outcome == outcome and ballot.effect_error is None
    member = fresh(Membership, asked)
    assert member.status == status
    accounts = set(db.session.scalars(select(Account.code).where(Account.membership_id == asked)))
    if status == "active":
        assert member.joined_on == date.today()
        assert accounts == {f"capital:{asked}", f"time:{asked}"}
        assert access.membership_for(newcomer.id, setup.club_id).id == asked
    else:
        assert accounts == set()
        with pytest.raises(NotFound):
            access.membership_for(newcomer.id, setup.club_id)


def test_the_manager_cannot_admit_directly_in_an_active_club(make_club, make_user):
    setup = make_club(5)
    asked = ask_to_join(setup, make_user())
    refused(lambda: clubs.admit(setup.manager.id, setup.club_id, asked), RuleViolation, rule="R7")
    assert fresh(Membership, asked).status == "pending"


def test_exclusion_by_vote(make_club):
    setup = make_club(5)
    target_user = setup.members[4]
    target = mid(setup, 4)
    ballot = open_(setup, "exclusion", Subject(membership_id=target))
    # The member concerned is recused: 4 eligible, and their vote is refused.
    assert fresh(Ballot, ballot.id).eligible_count == 4
    voter = db.session.scalar(select(BallotVoter).where(BallotVoter.ballot_id == ballot.id,
                                                        BallotVoter.membership_id == target))
    assert voter.recused is True
    refused(lambda: cast(setup, ballot, no=[target_user]), RuleViolation, rule="R8")
    # 3 yes 1 no: 9 >= 8, two thirds. Everyone eligible has voted, so the manager may close early.
    cast(setup, ballot, yes=setup.members[:3], no=[setup.members[3]])
    ballots.close_early(setup.manager.id, setup.club_id, ballot.id)
    ballot = fresh(Ballot, ballot.id)
    assert ballot.outcome == "adopted" and ballot.effect_error is None
    member = fresh(Membership, target)
    assert (member.status, member.role, member.left_on) == ("excluded", "member", date.today())
    with pytest.raises(NotFound):
        ballots.decisions(target_user.id, setup.club_id)


@pytest.mark.parametrize("office", [0, 1], ids=["manager", "treasurer"])
def test_an_officer_cannot_be_excluded(make_club, office):
    setup = make_club(5)
    refused(lambda: open_(setup, "exclusion", Subject(membership_id=mid(setup, office))), RuleViolation, rule="R3")


# --- Elections ------------------------------------------------------------------------------------------------------


def test_electing_a_single_candidate_yes_or_no(make_club):
    setup = make_club(5)
    candidate, previous = mid(setup, 2), mid(setup, 1)
    ballot = open_(setup, "election", Subject(role="treasurer", candidate_ids=[candidate]))
    cast(setup, ballot, yes=setup.members[:3], no=setup.members[3:])
    # Secret: who took part is known, what they chose is not kept.
    assert db.session.scalar(select(func.count()).select_from(BallotVote).where(BallotVote.ballot_id == ballot.id)) == 0
    assert db.session.scalar(select(func.count()).select_from(BallotVoter).where(
        BallotVoter.ballot_id == ballot.id, BallotVoter.voted.is_(True))) == 5
    ballot = close(ballot.id)
    assert ballot.outcome == "adopted" and (ballot.tally["yes"], ballot.tally["no"]) == (3, 2)
    winner, before = fresh(Membership, candidate), fresh(Membership, previous)
    assert (winner.role, winner.role_until) == ("treasurer", years_later(date.today(), 1))  # 12-month term
    assert (before.role, before.role_until) == ("member", None)


def test_electing_a_manager_among_three_by_judgment(make_club):
    setup = make_club(5)
    x, y, z = mid(setup, 2), mid(setup, 3), mid(setup, 4)
    ballot = open_(setup, "election", Subject(role="manager", candidate_ids=[z, x, y]), method="judgment")
    assert fresh(Ballot, ballot.id).secret is True
    option = {o.membership_id: o.id for o in ballot.options}
    grades = [(4, 3, 5), (4, 2, 1), (3, 2, 1), (2, 2, 0), (1, 1, 0)]  # (X, Y, Z) per voter
    for user, (gx, gy, gz) in zip(setup.members, grades, strict=True):
        ballots.vote(user.id, setup.club_id, ballot.id, choices={option[x]: gx, option[y]: gy, option[z]: gz})
    ballot = close(ballot.id)
    # X 1 2 3 4 4 -> 3; Y 1 2 2 2 3 -> 2; Z 0 0 1 1 5 -> 1. X is graded fair or better by 4 of 5: elected.
    figures = ballot.tally["options"]
    assert [figures[str(option[m])]["majority_grade"] for m in (x, y, z)] == [3, 2, 1]
    assert [figures[str(option[m])]["rank"] for m in (x, y, z)] == [1, 2, 3]
    assert ballot.outcome == "adopted" and ballot.winner_option_id == option[x]
    new, old = fresh(Membership, x), fresh(Membership, mid(setup, 0))
    assert (new.role, new.role_until) == ("manager", years_later(date.today(), 1))
    assert (old.role, old.role_until) == ("member", None)
    assert [fresh(Membership, m).role for m in (y, z)] == ["member", "member"]
    # The management has changed hands.
    with pytest.raises(NotPermitted):
        open_(setup, "dissolution", Subject())
    assert open_(setup, "dissolution", Subject(), by=setup.members[2]).id


@pytest.mark.parametrize("others", [False, True], ids=["alone", "among others"])
@pytest.mark.parametrize(("role", "holder"), [("manager", 1), ("treasurer", 0)],
                         ids=["the treasurer for manager", "the manager for treasurer"])
def test_one_officer_cannot_stand_for_the_other_office(make_club, others, role, holder):
    setup = make_club(5)
    candidates = [mid(setup, 2), mid(setup, holder)] if others else [mid(setup, holder)]
    method = "judgment" if others else "yes_no"
    refused(lambda: open_(setup, "election", Subject(role=role, candidate_ids=candidates),
                          method=method), RuleViolation, rule="R3")


def test_an_election_may_be_open_when_the_manager_says_so(make_club):
    setup = make_club(5)
    ballot = open_(setup, "election", Subject(role="secretary", candidate_ids=[mid(setup, 2)]), secret=False)
    cast(setup, ballot, yes=setup.members[:3])
    assert fresh(Ballot, ballot.id).secret is False
    assert db.session.scalar(select(func.count()).select_from(BallotVote).where(BallotVote.ballot_id == ballot.id)) == 3
    assert close(ballot.id).outcome == "adopted"
    assert fresh(Membership, mid(setup, 2)).role == "secretary"


# --- Charter, renewal, dissolution ----------------------------------------------------------------------------------


def test_a_unanimous_charter_amendment_adds_a_version(make_club):
    setup = make_club(5)
    earlier = open_(setup, "funding", Subject(project_ids=[presented(setup)]))  # opened under version 1
    ballot = open_(setup, "charter", Subject(changes={"quorum_percent": 60, "officer_term_months": 12}))
    assert fresh(Ballot, ballot.id).proposal == {"quorum_percent": 60}  # only what changes
    cast(setup, ballot, yes=setup.members)
    ballots.close_early(setup.manager.id, setup.club_id, ballot.id)
    ballot = fresh(Ballot, ballot.id)
    assert ballot.outcome == "adopted" and ballot.effect_error is None
    versions = db.session.scalars(select(Charter).where(Charter.club_id == setup.club_id)
                                  .order_by(Charter.version)).all()
    assert [(c.version, c.quorum_percent) for c in versions] == [(1, 50), (2, 60)]
    assert clubs.charter_values(versions[0]) | {"quorum_percent": 60} == clubs.charter_values(versions[1])
    assert fresh(Club, setup.club_id).charter_version == 2
    # R9: the ballot already open keeps the rules it opened under.
    earlier = fresh(Ballot, earlier.id)
    assert (earlier.quorum_percent, earlier.charter_version) == (50, 1)


def test_one_abstention_defeats_a_charter_amendment(make_club):
    setup = make_club(5)
    ballot = open_(setup, "charter", Subject(changes={"quorum_percent": 60}))
    cast(setup, ballot, yes=setup.members[:4], abstain=[setup.members[4]])
    ballot = close(ballot.id)
    # Unanimity asks every eligible member for a yes: 4 of 5 is not enough.
    assert ballot.outcome == "rejected"
    assert db.session.scalar(select(func.count()).select_from(Charter).where(Charter.club_id == setup.club_id)) == 1
    assert charter_of(setup.club_id).quorum_percent == 50
    assert fresh(Club, setup.club_id).charter_version == 1


def test_renewal_moves_the_term_once(make_club):
    setup = make_club(5)
    term = fresh(Club, setup.club_id).term_ends_on
    assert term == years_later(date.today(), 5)
    ballot = open_(setup, "renewal", Subject())
    cast(setup, ballot, yes=setup.members)
    assert close(ballot.id).outcome == "adopted"
    club = fresh(Club, setup.club_id)
    assert (club.term_ends_on, club.renewals, club.status) == (years_later(term, 5), 1, "active")
    # The default charter allows one renewal (R5).
    refused(lambda: open_(setup, "renewal", Subject()), RuleViolation, rule="R5")


def test_dissolution_by_vote(make_club):
    setup = make_club(5)
    ballot = open_(setup, "dissolution", Subject())
    cast(setup, ballot, yes=setup.members)
    assert close(ballot.id).outcome == "adopted"
    assert fresh(Club, setup.club_id).status == "dissolving"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.club_id == setup.club_id, AuditEntry.action == "club.dissolve")) == 1
    # A dissolving club takes no more decisions.
    refused(lambda: open_(setup, "renewal", Subject()), Conflict)


def test_a_dissolution_short_of_unanimity_changes_nothing(make_club):
    setup = make_club(5)
    ballot = open_(setup, "dissolution", Subject())
    cast(setup, ballot, yes=setup.members[:4], no=[setup.members[4]])
    assert close(ballot.id).outcome == "rejected"
    assert fresh(Club, setup.club_id).status == "active"


# --- An effect that cannot apply is recorded, not raised ------------------------------------------------------------


def test_an_admission_that_passes_into_a_full_club_is_recorded(make_club, make_user):
    setup = make_club(19)
    first, second = ask_to_join(setup, make_user()), ask_to_join(setup, make_user())
    # 19 active: each request alone leaves room for one more (19 + 1 <= 20), so both ballots open.
    b1 = open_(setup, "admission", Subject(membership_id=first))
    b2 = open_(setup, "admission", Subject(membership_id=second))
    cast(setup, b1, yes=setup.members)
    cast(setup, b2, yes=setup.members)
    ballots.close_early(setup.manager.id, setup.club_id, b1.id)
    assert clubs.active_count(setup.club_id) == 20
    ballots.close_early(setup.manager.id, setup.club_id, b2.id)  # does not raise
    b2 = fresh(Ballot, b2.id)
    assert (b2.status, b2.outcome) == ("closed", "adopted")
    assert b2.effect_error.startswith("R1")
    assert fresh(Membership, second).status == "pending"
    assert fresh(Membership, first).status == "active"
    assert clubs.active_count(setup.club_id) == 20
    assert not db.session.scalars(select(Account).where(Account.membership_id == second)).all()
    refusals = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "ballot.effect_refused")).all()
    assert [(e.object_id, e.after["error"]) for e in refusals] == [(b2.id, b2.effect_error)]


# --- Closing --------------------------------------------------------------------------------------------------------


def test_tick_closes_what_is_due_and_counts_it(make_club):
    setup = make_club(5)
    other = make_club(5, name="Autre cigale")
    soon = open_(setup, "funding", Subject(project_ids=[presented(setup, "Tôt")]), days=2)
    soon_elsewhere = open_(other, "dissolution", Subject(), days=3)
    late = open_(setup, "funding", Subject(project_ids=[presented(setup, "Tard")]), days=10)
    assert ballots.tick(now=utcnow() + timedelta(days=1)) == 0
    assert ballots.tick(now=utcnow() + timedelta(days=4)) == 2  # every club's due ballots
    assert ballots.tick(now=utcnow() + timedelta(days=4)) == 0
    assert [fresh(Ballot, b.id).status for b in (soon, soon_elsewhere, late)] == ["closed", "closed", "open"]
    closed = fresh(Ballot, soon.id)
    assert closed.outcome == "no_quorum" and closed.closed_by_id is None
    assert fresh(Club, other.club_id).status == "active"  # no quorum: nothing decided


def test_a_vote_after_the_deadline_is_refused_and_closes_the_ballot(make_club):
    setup = make_club(5)
    ballot = open_(setup, "dissolution", Subject())
    option = ballot.options[0].id
    with pytest.raises(Conflict):
        ballots.vote(setup.members[2].id, setup.club_id, ballot.id, choices={option: YES}, now=later())
    assert fresh(Ballot, ballot.id).status == "closed"


def test_the_cli_tick_closes_due_ballots(app, make_club):
    setup = make_club(5)
    project_id = presented(setup)
    ballot = open_(setup, "funding", Subject(project_ids=[project_id]))
    cast(setup, ballot, yes=setup.members[:3])
    # The command uses the real clock: the deadline is moved into the past.
    db.session.execute(update(Ballot).where(Ballot.id == ballot.id).values(closes_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["coop", "tick"])
    assert result.exit_code == 0, result.output
    assert "1 ballot(s) closed;" in result.output
    db.session.rollback()
    assert fresh(Ballot, ballot.id).outcome == "adopted"
    assert fresh(Project, project_id).status == "approved"
    result = app.test_cli_runner().invoke(args=["coop", "tick"])
    assert "0 ballot(s) closed;" in result.output


def test_reading_the_page_closes_a_ballot_past_its_deadline(make_club):
    setup = make_club(5)
    project_id = presented(setup)
    ballot = open_(setup, "funding", Subject(project_ids=[project_id]))
    cast(setup, ballot, yes=setup.members[:2], no=[setup.members[2]])
    page = ballots.ballot_page(setup.members[3].id, setup.club_id, ballot.id, now=utcnow() + timedelta(days=6))
    assert page.ballot.status == "open" and page.may_vote
    page = ballots.ballot_page(setup.members[3].id, setup.club_id, ballot.id, now=later())
    assert page.ballot.status == "closed" and not page.may_vote
    assert page.ballot.outcome == "adopted" and page.participants == 3
    # Not secret: after the close the minutes say who chose what.
    assert sorted((v.voter_id, v.value) for v in page.votes) == sorted(
        [(mid(setup, 0), YES), (mid(setup, 1), YES), (mid(setup, 2), NO)])
    assert fresh(Project, project_id).status == "approved"


def test_the_manager_closes_early_only_once_everyone_has_voted(make_club):
    setup = make_club(5)
    project_id = presented(setup)
    ballot = open_(setup, "funding", Subject(project_ids=[project_id]))
    cast(setup, ballot, yes=setup.members[:3], no=[setup.members[3]])
    refused(lambda: ballots.close_early(setup.manager.id, setup.club_id, ballot.id), RuleViolation, rule="R9")
    page = ballots.ballot_page(setup.manager.id, setup.club_id, ballot.id)
    assert not page.may_close_early
    cast(setup, ballot, no=[setup.members[4]])
    assert ballots.ballot_page(setup.manager.id, setup.club_id, ballot.id).may_close_early
    refused(lambda: ballots.close_early(setup.members[2].id, setup.club_id, ballot.id), NotPermitted, rule=None)
    now = utcnow()
    ballots.close_early(setup.manager.id, setup.club_id, ballot.id, now=now)
    ballot = fresh(Ballot, ballot.id)
    # 3 yes, 2 no: a majority of votes cast.
    assert (ballot.status, ballot.outcome, ballot.closed_by_id, ballot.closed_at) == (
        "closed", "adopted", setup.manager.id, now)
    assert fresh(Project, project_id).status == "approved"
    refused(lambda: ballots.close_early(setup.manager.id, setup.club_id, ballot.id), Conflict)


def test_cancelling_a_ballot_decides_nothing(make_club):
    setup = make_club(5)
    a, b = presented(setup, "A"), presented(setup, "B")
    ballot = open_(setup, "funding", Subject(project_ids=[a, b]), method="approval")
    oa = ballot.options[0].id
    ballots.vote(setup.members[2].id, setup.club_id, ballot.id, choices={oa: APPROVED})
    refused(lambda: ballots.cancel(setup.manager.id, setup.club_id, ballot.id, "  "), InvalidInput, field="reason")
    refused(lambda: ballots.cancel(setup.members[2].id, setup.club_id, ballot.id, "Pas moi"), NotPermitted, rule=None)
    ballots.cancel(setup.manager.id, setup.club_id, ballot.id, "Le porteur du projet B s'est retiré.")
    ballot = fresh(Ballot, ballot.id)
    assert (ballot.status, ballot.outcome, ballot.cancel_reason, ballot.closed_by_id) == (
        "cancelled", None, "Le porteur du projet B s'est retiré.", setup.manager.id)
    assert [fresh(Project, p).status for p in (a, b)] == ["presented", "presented"]
    refused(lambda: ballots.vote(setup.members[3].id, setup.club_id, ballot.id, choices={oa: APPROVED}), Conflict)
    refused(lambda: ballots.cancel(setup.manager.id, setup.club_id, ballot.id, "Encore"), Conflict)
    assert ballots.decisions(setup.manager.id, setup.club_id) == []
    # The projects may be put to the vote again.
    assert open_(setup, "funding", Subject(project_ids=[a, b]), method="approval").id


def test_open_ballots_for_a_member(make_club, make_user):
    setup = make_club(5)
    me = setup.members[2]
    first = open_(setup, "funding", Subject(project_ids=[presented(setup, "A")]), days=3)
    second = open_(setup, "dissolution", Subject(), days=5)
    cancelled = open_(setup, "renewal", Subject(), days=4)
    ballots.cancel(setup.manager.id, setup.club_id, cancelled.id, "Trop tôt")
    cast(setup, second, yes=[me])
    waiting = ballots.open_ballots_for(me.id)
    assert [(w.ballot.id, w.voted, w.recused, w.club.id) for w in waiting] == [
        (first.id, False, False, setup.club_id), (second.id, True, False, setup.club_id)]
    assert ballots.open_ballots_for(make_user().id) == []
    # Past the first deadline, the first is closed on the way and no longer listed.
    waiting = ballots.open_ballots_for(me.id, now=utcnow() + timedelta(days=4))
    assert [w.ballot.id for w in waiting] == [second.id]
    assert fresh(Ballot, first.id).status == "closed"


def test_decisions_lists_closed_ballots_oldest_first(make_club, make_user):
    setup = make_club(5)
    opened_first = open_(setup, "funding", Subject(project_ids=[presented(setup, "A")]), days=5)
    opened_second = open_(setup, "funding", Subject(project_ids=[presented(setup, "B")]), days=3)
    still_open = open_(setup, "funding", Subject(project_ids=[presented(setup, "C")]), days=20)
    cancelled = open_(setup, "dissolution", Subject())
    ballots.cancel(setup.manager.id, setup.club_id, cancelled.id, "Erreur")
    assert ballots.tick(now=utcnow() + timedelta(days=4)) == 1
    assert ballots.tick(now=utcnow() + timedelta(days=6)) == 1
    # The second one opened closed first: the register follows the closing dates.
    listed = ballots.decisions(setup.members[3].id, setup.club_id)
    assert [b.id for b in listed] == [opened_second.id, opened_first.id]
    assert still_open.id not in [b.id for b in listed]
    with pytest.raises(NotFound):
        ballots.decisions(make_user().id, setup.club_id)
