"""Ballots: one mechanism for every collective decision (R2, R3, R6–R9).

The manager opens a ballot; the rules in force are copied onto it (R9):
quorum, threshold for its kind (R7), proxies allowed per holder, and who
may vote (active members, less the recused, R6 and R8). One member, one
vote (R2). Members vote, change their vote until the close (open ballots),
or hand their vote to another member by proxy. The ballot closes at its
deadline (when a page reads it, or ``flask coop tick``) or early, once
everyone eligible has voted. The decision is applied through the service
that owns it.

Secrecy: who took part goes into ``ballot_voter``. An open ballot writes each
member's choice (``ballot_vote``). A secret ballot puts each choice into its
box (``ballot_choice``), rows with no voter, no time, rewritten sorted by every
vote, so that the rows, their order and PostgreSQL's row versions are the same
whoever voted last; a proxy's vote waits sealed (coop/envelope.py) until the
close, void if the giver votes in person. Choices are counted at the close;
then the box is emptied and the tables' old row versions are removed
(``scrub``). docs/security.md says what a copy taken while the vote is open
still shows."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import force_locale
from sqlalchemy import delete, func, insert, select

from .. import clock, envelope, notify
from ..database import scrub
from ..extensions import db
from ..models import (
    Ballot,
    BallotChoice,
    BallotCount,
    BallotKind,
    BallotOption,
    BallotStatus,
    BallotVote,
    BallotVoter,
    Club,
    ClubStatus,
    Investment,
    Meeting,
    MeetingStatus,
    Membership,
    MemberStatus,
    Method,
    Outcome,
    Project,
    ProjectLink,
    ProjectStatus,
    Proxy,
    Role,
    SealedVote,
    Threshold,
)
from ..models.base import utcnow
from . import (
    access,
    attendance,
    clubs,
    fund,
    investments,
    partners,
    projects,
    regions,
    rules,
    tally,
    transfers,
    yearend,
)
from .access import membership_for
from .audit import record
from .charter import charter_of
from .clubs import use_form_key
from .errors import Conflict, CoopError, InvalidInput, NotFound, NotPermitted, RuleViolation, _l
from .ledger import Violation, chain_key
from .lookup import in_club
from .transitions import move, sources
from .uow import after_commit, unit_of_work
from .validate import is_id, one_line, paragraphs

#: The charter's threshold for each kind of decision (R7).
THRESHOLD_OF = {
    BallotKind.FUNDING: "threshold_investment",
    BallotKind.ADMISSION: "threshold_membership",
    BallotKind.EXCLUSION: "threshold_membership",
    BallotKind.ELECTION: "threshold_officers",
    BallotKind.CHARTER: "threshold_charter",
    BallotKind.RENEWAL: "threshold_renewal",
    BallotKind.STAKE_SALE: "threshold_stake_sale",
    BallotKind.DISSOLUTION: "threshold_dissolution",
    BallotKind.TRANSFER: "threshold_membership",  # a newcomer joins by taking a member's share
    BallotKind.PARTNERSHIP: "threshold_membership",  # trading time with another club's members
    BallotKind.REGION: "threshold_investment",  # joining an association: the charter's ordinary decision
}
#: Decisions whose threshold the charter does not set: approving the accounts is an ordinary decision of the
#: general meeting, by a majority of votes cast (R14).
FIXED_THRESHOLD = {
    BallotKind.ACCOUNTS: Threshold.MAJORITY,
}
#: The choices each method offers, per option.
VALUES = {
    Method.YES_NO: (tally.YES, tally.NO, tally.ABSTAIN),
    Method.CONSENT: (tally.YES, tally.NO, tally.ABSTAIN),
    Method.JUDGMENT: tuple(int(g) for g in tally.Grade),
    Method.APPROVAL: (tally.APPROVED, tally.NOT_APPROVED),
}
MAX_DAYS = 90
MIN_MINUTES = 10
REASON_MAX = 500
#: Decisions a club past its term may no longer take (R5).
NOT_IN_MANAGEMENT = (BallotKind.FUNDING, BallotKind.ADMISSION)


# --- Opening ---------------------------------------------------------------------------


@dataclass
class Subject:
    """What a new ballot decides; which fields matter depends on its kind."""

    project_ids: list[int] = field(default_factory=list)
    membership_id: int | None = None
    investment_id: int | None = None
    role: str | None = None
    candidate_ids: list[int] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)
    transfer_id: int | None = None
    year: int | None = None
    partnership_id: int | None = None
    region_id: int | None = None


def _enum(value: object, choices, name: str):
    try:
        return choices(value)
    except ValueError:
        raise InvalidInput(_l("Choose a value from the list."), field=name) from None


def _ids(values: Iterable[object], name: str) -> list[int]:
    out = []
    for value in values:
        if not is_id(value):
            raise InvalidInput(_l("Choose from the list."), field=name)
        if value in out:
            raise InvalidInput(_l("Each option may appear only once."), field=name)
        out.append(value)
    if len(out) > rules.MAX_OPTIONS:
        raise InvalidInput(_l("Choose at most %(n)d options.", n=rules.MAX_OPTIONS), field=name)
    return out


def _deadline(closes_at: object, now: datetime, zone: str | None = None) -> datetime:
    """The moment the vote closes, in UTC as stored. ``zone``: ``closes_at`` is a time on that clock, as a
    member types it (a naive one is otherwise UTC, an aware one any zone)."""
    if not isinstance(closes_at, datetime):
        raise InvalidInput(_l("Give the date and time the vote closes."), field="closes_at")
    try:
        closes_at = clock.to_utc(closes_at, zone or "UTC")
    except clock.NoSuchTime:
        raise InvalidInput(_l("There is no %(time)s that day in %(zone)s: the clocks go forward an hour. Choose "
                              "another time.", time=closes_at.strftime("%H:%M"), zone=zone), field="closes_at") from None
    except OverflowError:  # the first or last hours of the calendar (year 1 or 9999): far out of bounds either way
        closes_at = datetime.min if closes_at.year < now.year else datetime.max
    if closes_at < now + timedelta(minutes=MIN_MINUTES):
        raise InvalidInput(_l("The vote must stay open at least %(n)d minutes.", n=MIN_MINUTES), field="closes_at")
    if closes_at > now + timedelta(days=MAX_DAYS):
        raise InvalidInput(_l("The vote may stay open at most %(n)d days.", n=MAX_DAYS), field="closes_at")
    return closes_at.replace(second=0, microsecond=0)


def threshold_for(charter, kind: str) -> str:
    """The threshold a decision of this kind needs under this charter (R7, R14)."""
    fixed = FIXED_THRESHOLD.get(kind)
    return fixed if fixed is not None else getattr(charter, THRESHOLD_OF[kind])


def open_ballot(user_id: int, club_id: int, *, kind: str, method: str, closes_at: datetime, subject: Subject,
                secret: bool | None = None, title: str = "", details: str = "", form_key: str, local: bool = False,
                meeting_id: int | None = None, now: datetime | None = None) -> Ballot:
    """The manager opens a ballot. Officer elections are secret unless said otherwise.

    ``closes_at`` is UTC (naive), or with ``local`` a time on the club's clock as a member types it: a time
    the clocks skip is refused, a repeated one is its first occurrence (``clock.to_utc``).

    ``meeting_id``: an item of a general meeting's agenda, put there by the meetings service (which checks the
    meeting): no mail (the members are convened with the agenda), and no vote before the meeting is in
    session. The accounts are approved only by a meeting (R14)."""
    now = now or utcnow()
    kind = _enum(kind, BallotKind, "kind")
    method = _enum(method, Method, "method")
    if not local:
        closes_at = _deadline(closes_at, now)
    elif not isinstance(closes_at, datetime):
        raise InvalidInput(_l("Give the date and time the vote closes."), field="closes_at")
    title = one_line(title, "title", maximum=200, required=False)
    details = paragraphs(details, "details", maximum=4000, required=False)
    if secret is None:
        secret = kind == BallotKind.ELECTION
    if not isinstance(secret, bool):
        raise InvalidInput(_l("Choose yes or no."), field="secret")
    if kind in FIXED_THRESHOLD and meeting_id is None:
        raise RuleViolation(_l("The accounts are approved by the ordinary general meeting: put them on its agenda."),
                            rule="R14", field="kind")
    with unit_of_work() as session:
        club = _opener(user_id, club_id, kind, lock=True).club
        if local:
            closes_at = _deadline(closes_at, now, club.time_zone)
        # The term ends on its date on the club's clock, recorded or not (R5).
        status = access.club_status(club, today=clock.local_date(now, club.time_zone))
        if status == ClubStatus.IN_MANAGEMENT and kind in NOT_IN_MANAGEMENT:
            raise RuleViolation(_l("The club is past its term: it takes no new investments and no new members."),
                                rule="R5")
        if status not in (ClubStatus.ACTIVE, ClubStatus.IN_MANAGEMENT):
            raise Conflict(_l("Members vote once the club is active, and until it dissolves."))
        charter = charter_of(club_id)
        if kind == BallotKind.FUNDING:  # below the minimum, only admission and dissolution bring a way out (R1)
            rules.check_enough_members(clubs.active_count(club_id), charter.min_members)
        threshold = threshold_for(charter, kind)
        ballot = Ballot(club_id=club_id, kind=kind, method=method, title=title, details=details, secret=secret,
                        opened_by_id=user_id, opened_at=now, closes_at=closes_at, charter_version=charter.version,
                        quorum_percent=charter.quorum_percent, threshold=threshold,
                        max_proxies=charter.max_proxies_per_holder, eligible_count=0, meeting_id=meeting_id)
        options, recused = _subject(ballot, subject)
        rules.check_ballot_method(kind, method, threshold, secret, len(options))
        use_form_key(user_id, form_key, club_id)
        session.add(ballot)
        session.flush()
        for position, option in enumerate(options, start=1):
            option.club_id, option.ballot_id, option.position = club_id, ballot.id, position
            session.add(option)
        session.flush()
        if kind == BallotKind.TRANSFER:
            transfers.put_to_vote(club_id, subject.transfer_id, ballot.id, user_id)
        voters = list(session.scalars(select(Membership).where(
            Membership.club_id == club_id, Membership.status == MemberStatus.ACTIVE)))
        session.add_all(BallotVoter(club_id=club_id, ballot_id=ballot.id, membership_id=m.id, recused=m.id in recused)
                        for m in voters)
        ballot.eligible_count = sum(1 for m in voters if m.id not in recused)
        if ballot.eligible_count == 0:
            raise RuleViolation(_l("Every member is recused: nobody could vote."), rule="R6")
        record(user_id, club_id, "ballot.open", ballot, after={
            "kind": kind, "method": method, "secret": secret, "closes_at": closes_at, "threshold": threshold,
            "quorum_percent": ballot.quorum_percent, "eligible": ballot.eligible_count,
            "charter_version": charter.version, "meeting": meeting_id})
        if meeting_id is None:
            notify.later("ballot_opened", ballot)
        return ballot


def _opener(user_id: int, club_id: int, kind: str, *, lock: bool = False) -> Membership:
    """The manager opens ballots. An election may also be opened by a manager past their term, and by any
    member once the manager's term is over (R3, ``access.may_call_election``)."""
    if kind == BallotKind.ELECTION:
        me = membership_for(user_id, club_id, lock=lock)
        if access.may_call_election(me):
            return me
    return access.manager(user_id, club_id, lock=lock)


def _subject(ballot: Ballot, subject: Subject) -> tuple[list[BallotOption], set[int]]:
    """The options of a new ballot and who is recused on it; refuses a subject that cannot be decided."""
    kind, club_id = ballot.kind, ballot.club_id
    session = db.session
    if kind == BallotKind.FUNDING:
        ids = _ids(subject.project_ids, "project_ids")
        if not ids:
            raise InvalidInput(_l("Choose the project to vote on."), field="project_ids")
        found = {p.id: p for p in session.scalars(select(Project).where(
            Project.club_id == club_id, Project.id.in_(ids)).with_for_update(of=Project))}
        if len(found) != len(ids):
            raise NotFound(_l("No such project."))
        chosen = [found[i] for i in ids]
        for project in chosen:
            projects.put_to_vote(project)
            investments.check_project(project)  # R10 now, and again at payment
        ballot.project_id = chosen[0].id if len(chosen) == 1 else None
        options = [BallotOption(label=p.name, project_id=p.id) for p in chosen]
        return options, projects.recused_member_ids(club_id, ids)
    if kind in (BallotKind.ADMISSION, BallotKind.EXCLUSION):
        if not is_id(subject.membership_id):
            raise InvalidInput(_l("Choose the member concerned."), field="membership_id")
        if kind == BallotKind.ADMISSION:
            target = clubs.check_admission(club_id, subject.membership_id)
        else:
            target = clubs.check_exclusion(club_id, subject.membership_id)
        _no_open_ballot(club_id, Ballot.membership_id == target.id)
        ballot.membership_id = target.id
        # The member concerned does not vote on their own exclusion (R8).
        return [BallotOption(label=target.user.name)], {target.id}
    if kind == BallotKind.ELECTION:
        role = _enum(subject.role, Role, "role")
        if role == Role.MEMBER:
            raise InvalidInput(_l("Choose an office from the list."), field="role")
        ids = _ids(subject.candidate_ids, "candidate_ids")
        if not ids:
            raise InvalidInput(_l("Choose at least one candidate."), field="candidate_ids")
        candidates = [clubs.check_candidate(club_id, i, role) for i in ids]
        _no_open_ballot(club_id, Ballot.kind == BallotKind.ELECTION, Ballot.role == role)
        ballot.role = role
        return [BallotOption(label=c.user.name, membership_id=c.id) for c in candidates], set()
    if kind == BallotKind.CHARTER:
        if not isinstance(subject.changes, dict):
            raise InvalidInput(_l("Give the settings to change."), field="changes")
        ballot.proposal = clubs.check_amendment(club_id, subject.changes)
        _no_open_ballot(club_id, Ballot.kind == BallotKind.CHARTER)
        return [BallotOption(label="charter")], set()
    if kind == BallotKind.STAKE_SALE:
        investment = investments.check_sellable(club_id, subject.investment_id)
        _no_open_ballot(club_id, Ballot.investment_id == investment.id)
        ballot.investment_id = investment.id
        return [BallotOption(label=investment.name)], projects.recused_member_ids(club_id, [investment.project_id])
    if kind == BallotKind.TRANSFER:
        transfer = transfers.check_votable(club_id, subject.transfer_id)
        # The member whose share passes does not vote on it (R8).
        return [BallotOption(label=transfers.ballot_label(transfer))], {transfer.from_membership_id}
    if kind == BallotKind.RENEWAL:
        clubs.check_renewal(session.get(Club, club_id))
        _no_open_ballot(club_id, Ballot.kind == BallotKind.RENEWAL)
        return [BallotOption(label="renewal")], set()
    if kind == BallotKind.ACCOUNTS:
        year = yearend.approvable(club_id, subject.year).year
        _no_open_ballot(club_id, Ballot.kind == BallotKind.ACCOUNTS, Ballot.year == year)
        ballot.year = year
        return [BallotOption(label=str(year))], set()
    if kind == BallotKind.PARTNERSHIP:
        partnership = partners.check_votable(club_id, subject.partnership_id)
        ballot.partnership_id = partnership.id
        return [BallotOption(label=partners.ballot_label(partnership))], set()
    if kind == BallotKind.REGION:
        region = regions.check_joinable(club_id, subject.region_id)
        _no_open_ballot(club_id, Ballot.kind == BallotKind.REGION, Ballot.region_id == region.id)
        ballot.region_id = region.id
        return [BallotOption(label=region.name)], set()
    _no_open_ballot(club_id, Ballot.kind == BallotKind.DISSOLUTION)
    return [BallotOption(label="dissolution")], set()


def _no_open_ballot(club_id: int, *where) -> None:
    if db.session.scalar(select(Ballot.id).where(Ballot.club_id == club_id, Ballot.status == BallotStatus.OPEN,
                                                 *where).limit(1)):
        raise Conflict(_l("A ballot on this is already open."))


# --- Voting ------------------------------------------------------------------------------


def _ballot(club_id: int, ballot_id: int, *, lock: bool = False) -> Ballot:
    return in_club(Ballot, club_id, ballot_id, lock=lock, missing=_l("No such ballot."))


def _voter(club_id: int, ballot_id: int, membership_id: int) -> BallotVoter | None:
    return db.session.scalar(select(BallotVoter).where(BallotVoter.club_id == club_id, BallotVoter.ballot_id == ballot_id,
                                                       BallotVoter.membership_id == membership_id))


def _live_proxy(club_id: int, ballot_id: int, *, giver_id: int | None = None, holder_id: int | None = None):
    stmt = select(Proxy).where(Proxy.club_id == club_id, Proxy.ballot_id == ballot_id, Proxy.ended_at.is_(None))
    if giver_id is not None:
        stmt = stmt.where(Proxy.giver_id == giver_id)
    if holder_id is not None:
        stmt = stmt.where(Proxy.holder_id == holder_id)
    return list(db.session.scalars(stmt.order_by(Proxy.id)))


def _still_open(ballot: Ballot, now: datetime) -> None:
    if ballot.status != BallotStatus.OPEN or ballot.closes_at <= now:
        raise Conflict(_l("This ballot is closed."))


def _open_ballot(club_id: int, ballot_id: int, now: datetime) -> Ballot:
    """The club's ballot, locked, while voting is open."""
    ballot = _ballot(club_id, ballot_id, lock=True)
    _still_open(ballot, now)
    return ballot


def _check_choices(ballot: Ballot, choices: dict[int, int], reason: str | None) -> tuple[dict[int, int], str | None]:
    """One value per option, from the method's scale; an objection needs its reason."""
    if not isinstance(choices, dict):
        raise InvalidInput(_l("Make your choice."), field="choice")
    option_ids = [o.id for o in ballot.options]
    allowed = VALUES[Method(ballot.method)]
    if set(choices) - set(option_ids):
        raise InvalidInput(_l("This option is not on the ballot."), field="choice")
    clean = {}
    for option_id in option_ids:
        value = choices.get(option_id)
        if value is None and ballot.method == Method.APPROVAL:
            value = tally.NOT_APPROVED
        if value is None:
            raise InvalidInput(_l("Grade every option.") if ballot.method == Method.JUDGMENT
                               else _l("Make your choice."), field="choice")
        if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
            raise InvalidInput(_l("Choose a value from the list."), field="choice")
        clean[option_id] = value
    if ballot.method == Method.CONSENT and clean[option_ids[0]] == tally.NO:
        reason = one_line(reason, "reason", maximum=REASON_MAX, required=False)
        if not reason:
            raise InvalidInput(_l("An objection must give its reason."), field="reason")
    else:
        reason = None
    return clean, reason


def _into_box(ballot: Ballot, choices: dict[int, int]) -> None:
    """A secret vote goes into the ballot's box. Every row of the box is written again, sorted by
    option and value: the rows, the order they lie in and (PostgreSQL) their row version are then the
    same whoever voted last, and say only which choices were made."""
    position = {o.id: o.position for o in ballot.options}
    kept = db.session.execute(select(BallotChoice.option_id, BallotChoice.value)
                              .where(BallotChoice.club_id == ballot.club_id, BallotChoice.ballot_id == ballot.id)).all()
    rows = sorted([*kept, *choices.items()], key=lambda row: (position[row[0]], row[1]))
    db.session.execute(delete(BallotChoice).where(BallotChoice.club_id == ballot.club_id,
                                                  BallotChoice.ballot_id == ballot.id))
    db.session.execute(insert(BallotChoice), [{"club_id": ballot.club_id, "ballot_id": ballot.id,
                                               "option_id": option_id, "value": value} for option_id, value in rows])


def _envelope_key() -> bytes:
    return envelope.derive_key(chain_key())


def _withdraw_vote(ballot: Ballot, voter: BallotVoter) -> None:
    """A vote taken back (changed, replaced in person, or its voter recused): an open ballot's named
    vote, or a secret ballot's sealed proxy vote. A secret vote cast in person is in the box, where
    nothing says whose it is: it cannot be taken back."""
    if ballot.secret:
        db.session.execute(delete(SealedVote).where(SealedVote.club_id == ballot.club_id, SealedVote.ballot_id == ballot.id,
                                                    SealedVote.voter_id == voter.membership_id))
    else:
        db.session.execute(delete(BallotVote).where(BallotVote.club_id == ballot.club_id, BallotVote.ballot_id == ballot.id,
                                                    BallotVote.voter_id == voter.membership_id))
    voter.voted = False
    voter.cast_by_id = None


def _in_person(voter: BallotVoter) -> bool:
    return voter.voted and voter.cast_by_id == voter.membership_id


def vote(user_id: int, club_id: int, ballot_id: int, *, choices: dict[int, int], reason: str | None = None,
         for_member: int | None = None, now: datetime | None = None) -> BallotVoter:
    """Cast (or, in an open ballot, change) a vote, in person or as a proxy holder for ``for_member``."""
    now = now or utcnow()
    close_if_due(club_id, ballot_id, now=now)
    with unit_of_work() as session:
        member = membership_for(user_id, club_id)
        ballot = _open_ballot(club_id, ballot_id, now)
        if ballot.meeting_id is not None:
            _in_the_room(ballot, member)
        choices, reason = _check_choices(ballot, choices, reason)
        me = _voter(ballot.club_id, ballot.id, member.id)
        if me is None:
            raise NotPermitted(_l("You joined after this ballot opened: you do not vote on it."))
        if me.recused:
            if ballot.kind == BallotKind.TRANSFER:
                raise RuleViolation(_l("This ballot decides on your own share: you do not vote on it."), rule="R8")
            raise RuleViolation(_l("You declared a link to this project: you are recused and do not vote."),
                                rule="R8")
        if for_member is None:
            voter = me
            for proxy in _live_proxy(ballot.club_id, ballot.id, giver_id=member.id):  # voting in person ends the proxy (R9)
                proxy.ended_at = now
        else:
            if not is_id(for_member):
                raise NotFound(_l("No such member."))
            if not _live_proxy(ballot.club_id, ballot.id, giver_id=for_member, holder_id=member.id):
                raise NotPermitted(_l("You do not hold this member's proxy for this ballot."))
            voter = _voter(ballot.club_id, ballot.id, for_member)
            if voter is None or voter.recused:
                raise RuleViolation(_l("This member is recused: their proxy cannot be used."), rule="R8")
        if voter.voted:
            # In a secret ballot, only the giver's own vote replaces their proxy's, sealed and unread (R9).
            if ballot.secret and (_in_person(voter) or for_member is not None):
                raise Conflict(_l("You have already voted. In a secret ballot a vote cannot be changed."))
            _withdraw_vote(ballot, voter)
        if ballot.secret and for_member is None:
            _into_box(ballot, choices)
        elif ballot.secret:
            session.add(SealedVote(club_id=ballot.club_id, ballot_id=ballot.id, voter_id=voter.membership_id,
                                   sealed=envelope.seal(_envelope_key(), ballot.id, voter.membership_id, choices)))
        else:
            session.add_all(BallotVote(club_id=ballot.club_id, ballot_id=ballot.id, option_id=option_id,
                                       voter_id=voter.membership_id,
                                       cast_by_id=member.id, value=value, reason=reason, cast_at=now)
                            for option_id, value in choices.items())
        voter.voted = True
        voter.cast_by_id = member.id
        record(user_id, club_id, "ballot.vote", ballot,
               after={"voter": voter.membership_id, "by_proxy": voter.membership_id != member.id})
        return voter


def give_proxy(user_id: int, club_id: int, ballot_id: int, holder_id: int, *, now: datetime | None = None) -> Proxy:
    """Let another member vote for me on this ballot (R9)."""
    now = now or utcnow()
    close_if_due(club_id, ballot_id, now=now)
    with unit_of_work() as session:
        member = membership_for(user_id, club_id)
        ballot = _open_ballot(club_id, ballot_id, now)
        _not_a_meeting_item(ballot)
        me = _voter(ballot.club_id, ballot.id, member.id)
        if me is None:
            raise NotPermitted(_l("You joined after this ballot opened: you do not vote on it."))
        if not is_id(holder_id) or holder_id == member.id:
            raise InvalidInput(_l("Choose another member."), field="holder_id")
        holder = _voter(ballot.club_id, ballot.id, holder_id)
        if holder is None or holder.membership.status != MemberStatus.ACTIVE:
            raise InvalidInput(_l("This member does not vote on this ballot."), field="holder_id")
        if me.voted:
            raise Conflict(_l("You have already voted."))
        if _live_proxy(ballot.club_id, ballot.id, giver_id=member.id):
            raise Conflict(_l("You have already given your proxy; withdraw it first."))
        rules.check_proxy(
            giver_recused=me.recused, holder_recused=holder.recused,
            giver_holds=len(_live_proxy(ballot.club_id, ballot.id, holder_id=member.id)),
            holder_gave=bool(_live_proxy(ballot.club_id, ballot.id, giver_id=holder_id)),
            holder_holds=len(_live_proxy(ballot.club_id, ballot.id, holder_id=holder_id)), limit=ballot.max_proxies)
        proxy = Proxy(club_id=ballot.club_id, ballot_id=ballot.id, giver_id=member.id, holder_id=holder_id,
                      given_at=now)
        session.add(proxy)
        session.flush()
        record(user_id, club_id, "ballot.proxy", proxy, after={"ballot": ballot.id, "holder": holder_id})
        return proxy


def withdraw_proxy(user_id: int, club_id: int, ballot_id: int, *, now: datetime | None = None) -> Proxy:
    now = now or utcnow()
    close_if_due(club_id, ballot_id, now=now)
    with unit_of_work():
        member = membership_for(user_id, club_id)
        ballot = _open_ballot(club_id, ballot_id, now)
        _not_a_meeting_item(ballot)
        given = _live_proxy(ballot.club_id, ballot.id, giver_id=member.id)
        if not given:
            raise Conflict(_l("You have not given your proxy on this ballot."))
        me = _voter(ballot.club_id, ballot.id, member.id)
        if me.voted:
            raise Conflict(_l("Your proxy has already voted for you; vote in person to replace it."))
        given[0].ended_at = now
        record(user_id, club_id, "ballot.proxy_withdraw", given[0], after={"ballot": ballot.id})
        return given[0]


def declare_link(user_id: int, club_id: int, project_id: int, nature: str) -> ProjectLink:
    """R8: the acting member declares a link to the project (family, business,
    friendship, holder's creditor…). From now on they are recused on it,
    including on a ballot already open unless they voted in person in secret."""
    nature = one_line(nature, "nature", maximum=200)
    with unit_of_work() as session:
        member = membership_for(user_id, club_id, lock=True)
        project = in_club(Project, club_id, project_id, lock=True, missing=_l("No such project."))
        if project.status == ProjectStatus.WITHDRAWN:
            raise Conflict(_l("This project was withdrawn."))
        existing = session.scalar(select(ProjectLink).where(ProjectLink.club_id == project.club_id,
                                                            ProjectLink.project_id == project.id,
                                                            ProjectLink.membership_id == member.id))
        if existing is not None:
            raise Conflict(_l("You have already declared a link to this project."))
        recuse_on_open_ballots(member, project)
        link = ProjectLink(club_id=project.club_id, project_id=project.id, membership_id=member.id, nature=nature)
        session.add(link)
        session.flush()
        record(user_id, club_id, "project.declare_link", link, after={"project": project.id, "nature": nature})
        return link


def recuse_on_open_ballots(member: Membership, project: Project) -> None:
    """A link declared while the project is in vote: the member stops voting on it (R8).

    Their vote and the votes they cast as a proxy are taken back (in a secret
    ballot, the sealed proxy votes), their proxies end. A secret vote cast in
    person cannot be taken back: then the declaration waits for the manager
    to cancel the ballot."""
    ballot_ids = db.session.scalars(select(BallotOption.ballot_id)
                                    .join(Ballot, (Ballot.id == BallotOption.ballot_id)
                                          & (Ballot.club_id == BallotOption.club_id))
                                    .where(BallotOption.club_id == member.club_id, BallotOption.project_id == project.id,
                                           Ballot.status == BallotStatus.OPEN))
    for ballot_id in list(ballot_ids):
        ballot = _ballot(member.club_id, ballot_id, lock=True)
        me = _voter(ballot.club_id, ballot.id, member.id)
        if me is None or me.recused:
            continue
        cast_for_others = list(db.session.scalars(select(BallotVoter).where(
            BallotVoter.club_id == ballot.club_id, BallotVoter.ballot_id == ballot.id, BallotVoter.cast_by_id == member.id,
            BallotVoter.membership_id != member.id)))
        if ballot.secret and _in_person(me):
            raise Conflict(_l("You have already voted in secret on this project: ask the manager to cancel the "
                              "ballot, then declare your link."))
        if me.voted:
            _withdraw_vote(ballot, me)
        for other in cast_for_others:
            _withdraw_vote(ballot, other)
        for proxy in [*_live_proxy(ballot.club_id, ballot.id, giver_id=member.id),
                      *_live_proxy(ballot.club_id, ballot.id, holder_id=member.id)]:
            proxy.ended_at = utcnow()
        me.recused = True
        ballot.eligible_count -= 1
        record(member.user_id, member.club_id, "ballot.recuse", ballot, after={"member": member.id})


# --- The items of a general meeting (R14) ------------------------------------------------------------
#
# The meetings service puts ballots on a meeting's agenda, opens them with the meeting and closes them; these
# functions do the ballots' part inside its unit of work. The counting, the secrecy and the effects are the
# ballots' own, as for any ballot.


def _not_a_meeting_item(ballot: Ballot) -> None:
    if ballot.meeting_id is not None:
        raise RuleViolation(_l("At a general meeting a proxy is given for the whole meeting, on the meeting's "
                               "page."), rule="R14")


def _in_the_room(ballot: Ballot, member: Membership) -> None:
    """A meeting's item is voted while the meeting is in session and has its quorum, by members present, for
    themselves and for the members whose proxy they hold (R14)."""
    meeting = in_club(Meeting, ballot.club_id, ballot.meeting_id, missing=_l("No such meeting."))
    if meeting.status != MeetingStatus.IN_SESSION:
        raise Conflict(_l("This item is voted at the general meeting, once it is in session."))
    if not attendance.quorum(meeting).met:
        raise RuleViolation(_l("The meeting has not reached its quorum: it cannot vote."), rule="R14")
    if not attendance.is_present(meeting, member.id):
        raise RuleViolation(_l("Only members present at the meeting vote, for themselves and for the members whose "
                               "proxy they hold."), rule="R14")


def meeting_items(meeting: Meeting, *, lock: bool = False, status: str | None = None) -> list[Ballot]:
    """A meeting's agenda, in the order the items were put on it."""
    stmt = select(Ballot).where(Ballot.club_id == meeting.club_id, Ballot.meeting_id == meeting.id)
    if status is not None:
        stmt = stmt.where(Ballot.status == status)
    if lock:
        stmt = stmt.with_for_update(of=Ballot).execution_options(populate_existing=True)
    return list(db.session.scalars(stmt.order_by(Ballot.id)))


def _recused(ballot: Ballot) -> set[int]:
    """Who is recused on a ballot, from what it decides (R8): as ``_subject`` found when it opened."""
    if ballot.kind == BallotKind.FUNDING:
        return projects.recused_member_ids(ballot.club_id, [o.project_id for o in ballot.options])
    if ballot.kind == BallotKind.STAKE_SALE:
        return projects.recused_member_ids(ballot.club_id, [in_club(Investment, ballot.club_id, ballot.investment_id,
                                                                    missing=_l("No such investment.")).project_id])
    if ballot.kind in (BallotKind.ADMISSION, BallotKind.EXCLUSION):
        return {ballot.membership_id}
    return set()


def start_meeting_items(meeting: Meeting, actor_id: int, now: datetime) -> None:
    """The meeting opens: each open item of its agenda opens for voting now. It takes the rules in force now
    and the members active now (R9), since nobody could vote on it before."""
    charter = charter_of(meeting.club_id)
    members = list(db.session.scalars(select(Membership).where(
        Membership.club_id == meeting.club_id, Membership.status == MemberStatus.ACTIVE)))
    for ballot in meeting_items(meeting, lock=True, status=BallotStatus.OPEN):
        recused = _recused(ballot)
        db.session.execute(delete(Proxy).where(Proxy.club_id == ballot.club_id, Proxy.ballot_id == ballot.id))
        db.session.execute(delete(BallotVoter).where(BallotVoter.club_id == ballot.club_id,
                                                     BallotVoter.ballot_id == ballot.id))
        db.session.add_all(BallotVoter(club_id=ballot.club_id, ballot_id=ballot.id, membership_id=m.id,
                                       recused=m.id in recused) for m in members)
        ballot.eligible_count = sum(1 for m in members if m.id not in recused)
        ballot.opened_at = now
        ballot.charter_version, ballot.quorum_percent = charter.version, charter.quorum_percent
        ballot.threshold, ballot.max_proxies = threshold_for(charter, ballot.kind), charter.max_proxies_per_holder
        db.session.flush()
        record(actor_id, meeting.club_id, "ballot.start", ballot, after={
            "meeting": meeting.id, "eligible": ballot.eligible_count, "threshold": ballot.threshold,
            "quorum_percent": ballot.quorum_percent, "charter_version": charter.version})


def represent(meeting: Meeting, giver_id: int, holder_id: int | None, now: datetime) -> None:
    """At the meeting, ``giver_id`` is now represented by ``holder_id`` (None: by nobody) on every open item:
    the ballots' proxies follow. A vote the former holder cast for the giver stays until the giver votes in
    person (R9); a member recused on an item neither gives nor holds a proxy on it (R8)."""
    for ballot in meeting_items(meeting, status=BallotStatus.OPEN):
        for proxy in _live_proxy(ballot.club_id, ballot.id, giver_id=giver_id):
            proxy.ended_at = now
        if holder_id is None:
            continue
        giver, holder = _voter(ballot.club_id, ballot.id, giver_id), _voter(ballot.club_id, ballot.id, holder_id)
        if giver is None or holder is None or giver.recused or holder.recused or _in_person(giver):
            continue
        db.session.add(Proxy(club_id=ballot.club_id, ballot_id=ballot.id, giver_id=giver_id, holder_id=holder_id,
                             given_at=now))
    db.session.flush()


def close_meeting_item(ballot: Ballot, actor_id: int, now: datetime) -> None:
    """The chair closes an item: it is counted and decided like any ballot."""
    if ballot.status != BallotStatus.OPEN:
        raise Conflict(_l("This ballot is closed."))
    _close(ballot, actor_id, now)


def cancel_meeting_item(ballot: Ballot, actor_id: int, reason: str, now: datetime) -> None:
    """An item the meeting does not vote on (cancelled meeting, no quorum): nothing is decided."""
    _cancel(ballot, actor_id, reason, now)


# --- Closing -----------------------------------------------------------------------------


def close_if_due(club_id: int, ballot_id: int, *, now: datetime | None = None) -> None:
    """Close a ballot whose deadline has passed (called before any read or write of it)."""
    now = now or utcnow()
    if not isinstance(ballot_id, int):
        return
    due = db.session.scalar(select(Ballot.id).where(Ballot.id == ballot_id, Ballot.club_id == club_id,
                                                    Ballot.status == BallotStatus.OPEN, Ballot.closes_at <= now))
    if due:
        with unit_of_work():
            ballot = _ballot(club_id, ballot_id, lock=True)
            if ballot.status == BallotStatus.OPEN and ballot.closes_at <= now:
                _close(ballot, None, now)


def close_due_in(club_id: int, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    for ballot_id in list(db.session.scalars(select(Ballot.id).where(
            Ballot.club_id == club_id, Ballot.status.in_(sources(Ballot, BallotStatus.CLOSED)), Ballot.closes_at <= now))):
        close_if_due(club_id, ballot_id, now=now)


def tick(*, now: datetime | None = None) -> int:
    """Close every ballot past its deadline, in every club (for cron). Returns how many closed."""
    now = now or utcnow()
    due = list(db.session.execute(select(Ballot.club_id, Ballot.id).where(
        Ballot.status.in_(sources(Ballot, BallotStatus.CLOSED)), Ballot.closes_at <= now).order_by(Ballot.closes_at)))
    db.session.rollback()
    for club_id, ballot_id in due:
        close_if_due(club_id, ballot_id, now=now)
    return len(due)


def close_early(user_id: int, club_id: int, ballot_id: int, *, now: datetime | None = None) -> Ballot:
    """The manager closes before the deadline once every eligible member has taken part."""
    now = now or utcnow()
    close_if_due(club_id, ballot_id, now=now)
    with unit_of_work():
        access.manager(user_id, club_id)
        ballot = _open_ballot(club_id, ballot_id, now)
        if ballot.meeting_id is not None:
            raise Conflict(_l("The chair closes the items of a general meeting, from the meeting's page."))
        taken_part = _participants(ballot.club_id, ballot.id)
        if taken_part < ballot.eligible_count:
            raise RuleViolation(_l("%(n)d eligible members have not voted yet: the ballot closes at its deadline.",
                                   n=ballot.eligible_count - taken_part), rule="R9")
        _close(ballot, user_id, now)
        return ballot


def cancel(user_id: int, club_id: int, ballot_id: int, reason: str, *, now: datetime | None = None) -> Ballot:
    """The manager cancels an open ballot, with a reason; nothing is decided."""
    now = now or utcnow()
    reason = one_line(reason, "reason", maximum=300)
    close_if_due(club_id, ballot_id, now=now)
    with unit_of_work():
        access.manager(user_id, club_id)
        ballot = _open_ballot(club_id, ballot_id, now)
        _cancel(ballot, user_id, reason, now)
        return ballot


def _cancel(ballot: Ballot, actor_id: int | None, reason: str, now: datetime) -> None:
    move(ballot, BallotStatus.CANCELLED)
    ballot.closed_at, ballot.closed_by_id, ballot.cancel_reason = now, actor_id, reason[:300]
    for option in ballot.options:
        if option.project_id:
            projects.decide(in_club(Project, ballot.club_id, option.project_id, missing=_l("No such project.")),
                            approved=None, actor_id=actor_id, ballot_id=ballot.id)
    if ballot.kind == BallotKind.TRANSFER:
        transfers.back_to_vote(ballot.club_id, ballot_id=ballot.id, actor_id=actor_id)
    _empty_box(ballot)
    record(actor_id, ballot.club_id, "ballot.cancel", ballot, after={"reason": reason})


def _participants(club_id: int, ballot_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(BallotVoter).where(
        BallotVoter.club_id == club_id, BallotVoter.ballot_id == ballot_id, BallotVoter.voted.is_(True),
        BallotVoter.recused.is_(False)))


def counts_of(club_id: int, ballot_id: int) -> dict[int, dict[int, int]]:
    """A closed ballot's counts: {option: {value: how many}}; empty until the close."""
    counts: dict[int, dict[int, int]] = {}
    for row in db.session.scalars(select(BallotCount).where(BallotCount.club_id == club_id,
                                                            BallotCount.ballot_id == ballot_id)):
        counts.setdefault(row.option_id, {})[row.value] = row.count
    return counts


def _choices(ballot: Ballot) -> list[tuple[int, int]]:
    """Every choice of an open ballot as (option, value): the named votes, or the box and the envelopes."""
    if not ballot.secret:
        return db.session.execute(select(BallotVote.option_id, BallotVote.value)
                                  .where(BallotVote.club_id == ballot.club_id, BallotVote.ballot_id == ballot.id)).all()
    rows = [tuple(row) for row in db.session.execute(select(BallotChoice.option_id, BallotChoice.value)
                                                     .where(BallotChoice.club_id == ballot.club_id,
                                                            BallotChoice.ballot_id == ballot.id))]
    key = _envelope_key()
    for sealed in db.session.scalars(select(SealedVote).where(SealedVote.club_id == ballot.club_id,
                                                              SealedVote.ballot_id == ballot.id)):
        rows.extend(envelope.open_(key, ballot.id, sealed.voter_id, bytes(sealed.sealed)).items())
    return rows


def _count(ballot: Ballot) -> dict[int, dict[int, int]]:
    """Count the choices into the ballot's counts, one row per option and value of the scale."""
    counts = {o.id: dict.fromkeys(VALUES[Method(ballot.method)], 0) for o in ballot.options}
    for option_id, value in _choices(ballot):
        counts[option_id][value] += 1
    db.session.execute(insert(BallotCount), [
        {"club_id": ballot.club_id, "ballot_id": ballot.id, "option_id": option.id, "value": value,
         "count": counts[option.id][value]}
        for option in ballot.options for value in sorted(counts[option.id])])
    return counts


def _empty_box(ballot: Ballot) -> None:
    """Once counted (or cancelled), a secret ballot's box and envelopes are emptied, and after the commit
    the old row versions that still held them are removed."""
    if ballot.secret:
        db.session.execute(delete(BallotChoice).where(BallotChoice.club_id == ballot.club_id,
                                                      BallotChoice.ballot_id == ballot.id))
        db.session.execute(delete(SealedVote).where(SealedVote.club_id == ballot.club_id,
                                                    SealedVote.ballot_id == ballot.id))
        after_commit(lambda: scrub(db.engine, SCRUBBED))


#: The tables that held a secret ballot's choices: rewritten without their old row versions after a close.
SCRUBBED = ("ballot_choice", "sealed_vote")


def _close(ballot: Ballot, actor_id: int | None, now: datetime) -> None:
    counts = _count(ballot)
    ordered = {o.id: counts[o.id] for o in ballot.options}
    decision = tally.decide(ballot.method, ballot.threshold, ballot.quorum_percent, ballot.eligible_count,
                            _participants(ballot.club_id, ballot.id), ordered)
    move(ballot, BallotStatus.CLOSED)
    ballot.closed_at, ballot.closed_by_id = now, actor_id
    ballot.outcome = decision.outcome
    ballot.tally = decision.summary
    ballot.winner_option_id = decision.winner
    _empty_box(ballot)
    db.session.flush()
    record(actor_id, ballot.club_id, "ballot.close", ballot, after={"outcome": decision.outcome,
                                                                    "winner": decision.winner})
    savepoint = db.session.begin_nested()
    try:
        _apply(ballot, actor_id)
        savepoint.commit()
    except CoopError as refusal:
        savepoint.rollback()
        _effect_refused(ballot, actor_id, refusal)
        if ballot.kind == BallotKind.TRANSFER:  # approved, but it could not pass now: it waits for another vote
            transfers.back_to_vote(ballot.club_id, ballot_id=ballot.id, actor_id=actor_id)


def _effect_refused(ballot: Ballot, actor_id: int | None, refusal: CoopError) -> None:
    """The ballot closes and records, in English, why its decision could not apply."""
    with force_locale("en"):
        message = str(refusal.message)
    ballot.effect_error = f"{refusal.rule}: {message}"[:300] if refusal.rule else message[:300]
    record(actor_id, ballot.club_id, "ballot.effect_refused", ballot, after={"error": ballot.effect_error})


def _apply(ballot: Ballot, actor_id: int | None) -> None:
    """The decision takes effect through the service that owns it."""
    adopted = ballot.outcome == Outcome.ADOPTED
    kind = ballot.kind
    if kind == BallotKind.FUNDING:
        # Adopted after the term ended: too late to invest (R5); the projects go back to presented.
        club = db.session.get(Club, ballot.club_id)
        too_late = adopted and access.club_status(
            club, today=clock.local_date(ballot.closed_at, club.time_zone)) == ClubStatus.IN_MANAGEMENT
        for option in ballot.options:
            project = in_club(Project, ballot.club_id, option.project_id, missing=_l("No such project."))
            if project.status != ProjectStatus.IN_VOTE:
                continue
            if ballot.outcome == Outcome.REJECTED:
                approved = False
            elif adopted and not too_late and (len(ballot.options) == 1 or option.id == ballot.winner_option_id):
                approved = True
            else:
                approved = None  # no decision on it: back to presented, it may be voted on again
            projects.decide(project, approved=approved, actor_id=actor_id, ballot_id=ballot.id)
        if too_late:
            _effect_refused(ballot, actor_id, RuleViolation(
                _l("The club is past its term: it makes no new investments."), rule="R5"))
        return
    if kind == BallotKind.ADMISSION:
        if ballot.outcome in (Outcome.ADOPTED, Outcome.REJECTED):
            clubs.admit_by_vote(ballot.club_id, ballot.membership_id, ballot_id=ballot.id, approved=adopted)
        return
    if kind == BallotKind.TRANSFER:
        if adopted:
            transfers.apply(ballot.club_id, ballot_id=ballot.id, actor_id=actor_id)
        elif ballot.outcome == Outcome.REJECTED:
            transfers.refuse(ballot.club_id, ballot_id=ballot.id, actor_id=actor_id)
        else:  # no quorum, or no decision: it may be voted on again
            transfers.back_to_vote(ballot.club_id, ballot_id=ballot.id, actor_id=actor_id)
        return
    if kind == BallotKind.PARTNERSHIP:
        if ballot.outcome in (Outcome.ADOPTED, Outcome.REJECTED):
            partners.decided(ballot.club_id, ballot.partnership_id, adopted=adopted, ballot_id=ballot.id,
                             actor_id=actor_id)
        return
    if not adopted:
        return
    if kind == BallotKind.EXCLUSION:
        clubs.exclude_by_vote(ballot.club_id, ballot.membership_id, ballot_id=ballot.id)
    elif kind == BallotKind.ELECTION:
        winner = next(o for o in ballot.options if o.id == ballot.winner_option_id or len(ballot.options) == 1)
        clubs.elect(ballot.club_id, winner.membership_id, ballot.role, ballot_id=ballot.id)
    elif kind == BallotKind.CHARTER:
        clubs.adopt_charter(ballot.club_id, ballot.proposal, ballot_id=ballot.id, author_id=ballot.opened_by_id)
    elif kind == BallotKind.RENEWAL:
        clubs.renew_term(ballot.club_id, ballot_id=ballot.id)
    elif kind == BallotKind.DISSOLUTION:
        fund.begin_dissolution(ballot.club_id, decided_by=actor_id, ballot_id=ballot.id)
    elif kind == BallotKind.ACCOUNTS:
        yearend.approve_accounts(ballot.club_id, ballot.year, ballot_id=ballot.id, put_at=ballot.opened_at,
                                 now=ballot.closed_at)
    elif kind == BallotKind.REGION:
        regions.join_by_vote(ballot.club_id, ballot.region_id, ballot_id=ballot.id, now=ballot.closed_at)


# --- Reading -----------------------------------------------------------------------------


@dataclass
class BallotPage:
    ballot: Ballot
    me: BallotVoter | None
    my_choices: dict[int, int]
    my_reason: str | None
    my_proxy: Proxy | None  # the proxy I gave, if live
    held: list[tuple[Proxy, BallotVoter]]  # proxies I hold, with their giver's participation
    proxy_holders: list[Membership]  # whom I may give my proxy to
    participants: int
    may_close_early: bool
    votes: list[BallotVote]  # after the close of an open ballot: who chose what
    voters: list[BallotVoter]
    meeting: Meeting | None = None  # the general meeting whose agenda holds the ballot
    in_the_room: bool = True  # a meeting's item: it is in session with its quorum, and I am present

    @property
    def may_vote(self) -> bool:
        return self.ballot.is_open and self.me is not None and not self.me.recused and self.in_the_room


def ballot_page(user_id: int, club_id: int, ballot_id: int, *, now: datetime | None = None) -> BallotPage:
    close_if_due(club_id, ballot_id, now=now)
    member = membership_for(user_id, club_id)
    ballot = _ballot(club_id, ballot_id)
    me = _voter(ballot.club_id, ballot.id, member.id)
    voters = list(db.session.scalars(select(BallotVoter).where(BallotVoter.club_id == ballot.club_id,
                                                               BallotVoter.ballot_id == ballot.id)
                                     .order_by(BallotVoter.id)))
    my_choices, my_reason = {}, None
    if me is not None and not ballot.secret:
        for row in db.session.scalars(select(BallotVote).where(BallotVote.club_id == ballot.club_id,
                                                               BallotVote.ballot_id == ballot.id,
                                                               BallotVote.voter_id == member.id)):
            my_choices[row.option_id] = row.value
            my_reason = row.reason or my_reason
    given = _live_proxy(ballot.club_id, ballot.id, giver_id=member.id)
    held_proxies = _live_proxy(ballot.club_id, ballot.id, holder_id=member.id)
    by_member = {v.membership_id: v for v in voters}
    held = [(p, by_member[p.giver_id]) for p in held_proxies if p.giver_id in by_member]
    meeting = (in_club(Meeting, ballot.club_id, ballot.meeting_id, missing=_l("No such meeting."))
               if ballot.meeting_id is not None else None)
    in_the_room = meeting is None or (meeting.status == MeetingStatus.IN_SESSION
                                      and attendance.is_present(meeting, member.id)
                                      and attendance.quorum(meeting).met)
    holders = []
    if (ballot.is_open and meeting is None and me is not None and not me.recused and not me.voted and not given
            and not held_proxies):
        gave = {p.giver_id for p in _live_proxy(ballot.club_id, ballot.id)}
        holding: dict[int, int] = {}
        for p in _live_proxy(ballot.club_id, ballot.id):
            holding[p.holder_id] = holding.get(p.holder_id, 0) + 1
        holders = [v.membership for v in voters if v.membership_id != member.id and not v.recused
                   and v.membership.status == MemberStatus.ACTIVE and v.membership_id not in gave
                   and holding.get(v.membership_id, 0) < ballot.max_proxies]
        holders.sort(key=lambda m: m.user.name.casefold())
    participants = sum(1 for v in voters if v.voted and not v.recused)
    votes = []
    if ballot.status == BallotStatus.CLOSED and not ballot.secret:
        votes = list(db.session.scalars(select(BallotVote).where(BallotVote.club_id == ballot.club_id,
                                                                 BallotVote.ballot_id == ballot.id)
                                        .order_by(BallotVote.voter_id, BallotVote.option_id)))
    return BallotPage(ballot=ballot, me=me, my_choices=my_choices, my_reason=my_reason,
                      my_proxy=given[0] if given else None, held=held, proxy_holders=holders,
                      participants=participants,
                      may_close_early=(ballot.is_open and meeting is None and access.is_manager(member)
                                       and participants >= ballot.eligible_count),
                      votes=votes, voters=voters, meeting=meeting, in_the_room=in_the_room)


def ballots_of(user_id: int, club_id: int, *, now: datetime | None = None) -> list[Ballot]:
    """Every ballot of the club, open ones first (soonest deadline), then the latest closed."""
    membership_for(user_id, club_id)
    close_due_in(club_id, now=now)
    rows = list(db.session.scalars(select(Ballot).where(Ballot.club_id == club_id)))
    rows.sort(key=lambda b: (b.status != BallotStatus.OPEN,
                             b.closes_at if b.is_open else datetime.max - (b.closed_at or b.opened_at)))
    return rows


@dataclass(frozen=True)
class Waiting:
    ballot: Ballot
    club: Club
    voted: bool
    recused: bool


def open_ballots_for(user_id: int, club_id: int | None = None, *, now: datetime | None = None) -> list[Waiting]:
    """The open ballots of every club the person belongs to, and whether they have voted (the home page); with
    ``club_id``, those of that club only (the club's home page)."""
    now = now or utcnow()
    stmt = (select(Ballot, BallotVoter).join(BallotVoter, (BallotVoter.ballot_id == Ballot.id)
                                             & (BallotVoter.club_id == Ballot.club_id))
            .join(Membership, (Membership.id == BallotVoter.membership_id) & (Membership.club_id == BallotVoter.club_id))
            .where(Membership.user_id == user_id, Membership.status == MemberStatus.ACTIVE,
                   Ballot.status == BallotStatus.OPEN, Ballot.meeting_id.is_(None))  # a meeting's items: voted in the room
            .order_by(Ballot.closes_at))
    if club_id is not None:
        stmt = stmt.where(Ballot.club_id == club_id)
    rows = list(db.session.execute(stmt))
    out = []
    for ballot, voter in rows:
        if ballot.closes_at <= now:
            close_if_due(ballot.club_id, ballot.id, now=now)
            continue
        out.append(Waiting(ballot=ballot, club=voter.membership.club, voted=voter.voted, recused=voter.recused))
    return out


def decisions(user_id: int, club_id: int, *, now: datetime | None = None) -> list[Ballot]:
    """The club's register of decisions: every closed ballot, oldest first, like minutes."""
    membership_for(user_id, club_id)
    close_due_in(club_id, now=now)
    return list(db.session.scalars(select(Ballot).where(Ballot.club_id == club_id,
                                                        Ballot.status == BallotStatus.CLOSED)
                                   .order_by(Ballot.closed_at, Ballot.id)))


def subject_choices(user_id: int, club_id: int, *, kind: str | None = None) -> dict[str, list]:
    """What the manager (or whoever may open a ballot of this kind) may put to a vote now: presented projects,
    pending requests, active members."""
    _opener(user_id, club_id, kind)
    session = db.session
    return {
        "projects": list(session.scalars(select(Project).where(Project.club_id == club_id,
                                                               Project.status == ProjectStatus.PRESENTED)
                                         .order_by(Project.name))),
        "pending": list(session.scalars(select(Membership).where(Membership.club_id == club_id,
                                                                 Membership.status == MemberStatus.PENDING))),
        "members": list(session.scalars(select(Membership).where(Membership.club_id == club_id,
                                                                 Membership.status == MemberStatus.ACTIVE))),
        "shares": investments.shares_held(club_id),
        "transfers": transfers.waiting_for_vote(club_id),
        "regions": regions.joinable(club_id),
    }


def ballots_on_project(user_id: int, club_id: int, project_id: int) -> list[Ballot]:
    membership_for(user_id, club_id)
    return list(db.session.scalars(select(Ballot).join(BallotOption, (BallotOption.ballot_id == Ballot.id)
                                                                      & (BallotOption.club_id == Ballot.club_id))
                                   .where(Ballot.club_id == club_id, BallotOption.project_id == project_id)
                                   .order_by(Ballot.opened_at.desc(), Ballot.id.desc())))


def my_participation(user_id: int, club_id: int) -> dict[int, BallotVoter]:
    """My row on each ballot of the club: whether I may vote, am recused, have voted."""
    member = membership_for(user_id, club_id)
    return {v.ballot_id: v for v in db.session.scalars(select(BallotVoter).where(
        BallotVoter.club_id == club_id, BallotVoter.membership_id == member.id))}


# --- Integrity ---------------------------------------------------------------------------


def check() -> list:
    """Invariant 8: every option of a ballot holds one choice per member who took part (everyone answers
    every option): an open ballot's named votes, or its box and envelopes; a closed ballot's counts, which
    also agree with its named votes. A secret ballot names no voter's choice, and once closed or cancelled
    keeps no box or envelope."""
    found = []
    voted = dict(db.session.execute(
        select(BallotVoter.ballot_id, func.count()).where(BallotVoter.voted.is_(True), BallotVoter.recused.is_(False))
        .group_by(BallotVoter.ballot_id)).all())

    def per_option(stmt) -> dict[int, int]:
        return {option_id: int(n or 0) for option_id, n in db.session.execute(stmt).all()}

    named = per_option(select(BallotVote.option_id, func.count()).group_by(BallotVote.option_id))
    in_box = per_option(select(BallotChoice.option_id, func.count()).group_by(BallotChoice.option_id))
    counted = per_option(select(BallotCount.option_id, func.sum(BallotCount.count)).group_by(BallotCount.option_id))
    sealed = dict(db.session.execute(select(SealedVote.ballot_id, func.count()).group_by(SealedVote.ballot_id)).all())
    options = db.session.execute(select(Ballot.id, Ballot.club_id, Ballot.secret, Ballot.status, BallotOption.id)
                                 .join(BallotOption, (BallotOption.ballot_id == Ballot.id)
                                       & (BallotOption.club_id == Ballot.club_id))
                                 .order_by(Ballot.id, BallotOption.position))
    for ballot_id, club_id, secret, status, option_id in options:
        took_part = voted.get(ballot_id, 0)
        where = f"ballot {ballot_id} option {option_id}"
        if secret and named.get(option_id):
            found.append(Violation(8, club_id, f"secret ballot {ballot_id} keeps {named[option_id]} named votes"))
        if status == BallotStatus.OPEN:
            recorded = in_box.get(option_id, 0) + sealed.get(ballot_id, 0) if secret else named.get(option_id, 0)
            if recorded != took_part:
                found.append(Violation(8, club_id, f"{where}: {recorded} choices recorded for {took_part} members "
                                                   "who took part"))
            if option_id in counted:
                found.append(Violation(8, club_id, f"{where}: counted before the close"))
            continue
        if secret and (in_box.get(option_id) or sealed.get(ballot_id)):
            found.append(Violation(8, club_id, f"{where}: the box or the envelopes were not emptied at the close"))
        if status != BallotStatus.CLOSED:
            continue
        total = counted.get(option_id, 0)
        if total != took_part:
            found.append(Violation(8, club_id, f"{where}: {total} choices counted for {took_part} members who "
                                               "took part"))
        if not secret and named.get(option_id, 0) != total:
            found.append(Violation(8, club_id, f"{where}: {total} choices counted but {named.get(option_id, 0)} "
                                               "votes recorded"))
    return found
