"""General meetings (assemblées générales, R14): convening, the agenda, attendance, voting in the room and the
minutes (procès-verbal).

The manager convenes a meeting, ordinary or extraordinary, at least the charter's number of days ahead
(``meeting_notice_days``, 15 by default; the same notice for both kinds, counted in days on the club's
clock), with a place, a video link or both; every active member is sent the convocation with the agenda by
mail. The agenda is a list of ballots of the meeting (``ballot.meeting_id``), put on it while the meeting is
convened and the notice still runs, so that members learn every item in time; the yearly ordinary meeting's is
prefilled with the approval of the last closed year's accounts and the elections of the officers whose term
ends before the next yearly meeting. The charter, the term and dissolution go to an extraordinary meeting, the
accounts to the ordinary one.

A member who will not come gives their proxy for the whole meeting to another member (no proxy on a proxy, at
most the charter's number per holder). The manager opens the meeting at its time and chairs it, or names its
chair; the club's secretary, or a member named then, is the meeting's secretary: both are present. Attendance
is then taken for every active member: present, represented by a present holder of their proxy, or absent,
changed while the session lasts (a late arrival). The meeting's quorum is its own (``meeting_quorum_percent``,
copied at the opening): below it the meeting votes nothing. Agenda items open for voting with the meeting;
only present members vote, in person and for the members they represent, under every rule of an online ballot
(the ballots service does the counting). The chair closes each item, or the meeting, which closes the items
still open (or, without a quorum, cancels them).

The meeting's secretary writes the minutes: the record the service builds (date, place, chair, secretary,
attendance, quorum, each decision worded as in the register of decisions) and their text. The secretary signs
first, which fixes the text, then the chair: signed, they are final and listed in the register of decisions.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select

from .. import clock, notify
from ..amounts import add_months
from ..extensions import db
from ..models import (
    Ballot,
    BallotKind,
    BallotStatus,
    BallotVoter,
    Club,
    ClubStatus,
    Meeting,
    MeetingAttendance,
    MeetingKind,
    MeetingStatus,
    Membership,
    MemberStatus,
    Presence,
    Role,
    User,
)
from ..models.base import utcnow
from . import access, attendance, ballots, rules, yearend
from .access import membership_for
from .audit import record
from .ballots import Subject
from .charter import charter_of
from .clubs import use_form_key
from .errors import Conflict, InvalidInput, NotFound, NotPermitted, RuleViolation, _l
from .ledger import Violation
from .lookup import in_club
from .transitions import check_move, move
from .uow import unit_of_work
from .validate import is_id, one_line, paragraphs

#: The chair opens the meeting from an hour before its time until a day after it; later, it is cancelled and
#: convened again.
OPEN_EARLY = timedelta(hours=1)
OPEN_LATE = timedelta(hours=24)
#: An item still open this long after the latest opening closes at its deadline, like any ballot.
SESSION = timedelta(hours=24)
#: The furthest ahead a meeting is convened (its items' deadline stays within a ballot's 90 days).
MAX_DAYS_AHEAD = 85
MAX_ITEMS = 30
TITLE_MAX = 200
PLACE_MAX = 200
LINK_MAX = 500
DETAILS_MAX = 4000
MINUTES_MAX = 20_000
#: Written into a ballot's record, which every member reads in their language: both languages.
NO_QUORUM = "Pas de quorum à l'assemblée générale / No quorum at the general meeting"
CANCELLED = "Assemblée générale annulée / General meeting cancelled: "


# --- Looking things up ------------------------------------------------------------------------------


def _meeting(club_id: int, meeting_id: object, *, lock: bool = False) -> Meeting:
    return in_club(Meeting, club_id, meeting_id, lock=lock, missing=_l("No such meeting."))


def _active_member(club_id: int, membership_id: object, field: str) -> Membership:
    found = db.session.scalar(select(Membership).where(
        Membership.id == membership_id, Membership.club_id == club_id,
        Membership.status == MemberStatus.ACTIVE)) if is_id(membership_id) else None
    if found is None:
        raise InvalidInput(_l("Choose an active member of the club."), field=field)
    return found


def _active_members(club_id: int) -> list[Membership]:
    return list(db.session.scalars(select(Membership).join(User, User.id == Membership.user_id).where(
        Membership.club_id == club_id, Membership.status == MemberStatus.ACTIVE).order_by(User.name, Membership.id)))


def _runs(meeting: Meeting, member: Membership) -> None:
    """The chair runs the meeting; the manager may too (and alone before it opens, when it has no chair)."""
    if member.id == meeting.chair_id or access.is_manager(member):
        return
    raise NotPermitted(_l("Only the chair of the meeting, or the manager, may do this."))


def _days_ahead(moment: datetime, now: datetime, zone: str) -> int:
    """Whole days from today to the meeting's date, both on the club's clock."""
    return (clock.local_date(moment, zone) - clock.local_date(now, zone)).days


# --- Convening --------------------------------------------------------------------------------------


def _when(value: object, club: Club, notice_days: int, now: datetime) -> datetime:
    """The meeting's moment, typed on the club's clock, as stored (UTC): ahead by the notice, not too far."""
    if not isinstance(value, datetime):
        raise InvalidInput(_l("Give the date and time of the meeting."), field="scheduled_at")
    try:
        moment = clock.to_utc(value, club.time_zone)
    except clock.NoSuchTime:
        raise InvalidInput(_l("There is no %(time)s that day in %(zone)s: the clocks go forward an hour. Choose "
                              "another time.", time=value.strftime("%H:%M"), zone=club.time_zone),
                           field="scheduled_at") from None
    except OverflowError:  # the first or last hours of the calendar
        raise InvalidInput(_l("Choose a date within the next %(n)d days.", n=MAX_DAYS_AHEAD),
                           field="scheduled_at") from None
    if moment <= now:
        raise InvalidInput(_l("This moment is past: choose a date ahead."), field="scheduled_at")
    if moment > now + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput(_l("Choose a date within the next %(n)d days.", n=MAX_DAYS_AHEAD), field="scheduled_at")
    rules.check_notice(_days_ahead(moment, now, club.time_zone), notice_days)
    return moment.replace(second=0, microsecond=0)


def _link(value: object) -> str:
    link = one_line(value, "video_link", maximum=LINK_MAX, required=False)
    if link:
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in link:
            raise InvalidInput(_l("Give the video link in full, starting with https:// (or http://)."),
                               field="video_link")
    return link


def _kind(value: object) -> str:
    try:
        return MeetingKind(value)
    except ValueError:
        raise InvalidInput(_l("Choose a value from the list."), field="kind") from None


def convene(user_id: int, club_id: int, *, kind: str, scheduled_at: datetime, place: str = "",
            video_link: str = "", title: str = "", details: str = "", prefill: bool = False,
            report: str = "", form_key: str, now: datetime | None = None) -> Meeting:
    """The manager convenes a general meeting; every active member is sent the convocation with the agenda.

    ``scheduled_at`` is a time on the club's clock, as a member types it. With ``prefill`` (an ordinary
    meeting), the yearly agenda is put on it first, so that the convocation lists it (``report``: the
    treasurer's report, the details of the accounts' item)."""
    now = now or utcnow()
    kind = _kind(kind)
    title = one_line(title, "title", maximum=TITLE_MAX, required=False)
    place = one_line(place, "place", maximum=PLACE_MAX, required=False)
    video_link = _link(video_link)
    details = paragraphs(details, "details", maximum=DETAILS_MAX, required=False)
    report = paragraphs(report, "report", maximum=DETAILS_MAX, required=False)
    if not place and not video_link:
        raise InvalidInput(_l("Give the place of the meeting, or a video link, or both."), field="place")
    if not isinstance(prefill, bool):
        raise InvalidInput(_l("Choose yes or no."), field="prefill")
    if prefill and kind != MeetingKind.ORDINARY:
        raise InvalidInput(_l("Only the ordinary meeting's agenda is prefilled."), field="prefill")
    with unit_of_work() as session:
        club = access.manager(user_id, club_id, lock=True).club
        _holds_meetings(club, now)
        moment = _when(scheduled_at, club, charter_of(club_id).meeting_notice_days, now)
        use_form_key(user_id, form_key, club_id)
        meeting = Meeting(club_id=club_id, kind=kind, title=title, details=details, scheduled_at=moment, place=place,
                          video_link=video_link, status=MeetingStatus.PLANNED, convened_by_id=user_id, convened_at=now)
        session.add(meeting)
        session.flush()
        record(user_id, club_id, "meeting.convene", meeting, after={
            "kind": kind, "scheduled_at": moment, "place": place, "video_link": video_link})
        if prefill:
            _prefill(user_id, meeting, report, now)
        notify.later("meeting_convened", meeting)
        return meeting


def _holds_meetings(club: Club, now: datetime) -> None:
    if access.club_status(club, today=clock.local_date(now, club.time_zone)) not in (
            ClubStatus.ACTIVE, ClubStatus.IN_MANAGEMENT):
        raise Conflict(_l("A club holds general meetings once it is active, and until it dissolves."))


def cancel(user_id: int, club_id: int, meeting_id: int, reason: str, *, now: datetime | None = None) -> Meeting:
    """The manager calls off a meeting that has not opened, with the reason; its items are cancelled and the
    members told."""
    now = now or utcnow()
    reason = one_line(reason, "reason", maximum=300)
    with unit_of_work():
        access.manager(user_id, club_id, lock=True)
        meeting = _meeting(club_id, meeting_id, lock=True)
        check_move(meeting, MeetingStatus.CANCELLED)
        for item in ballots.meeting_items(meeting, lock=True, status=BallotStatus.OPEN):
            ballots.cancel_meeting_item(item, user_id, (CANCELLED + reason)[:300], now)
        move(meeting, MeetingStatus.CANCELLED)
        meeting.cancel_reason, meeting.closed_at = reason, now
        record(user_id, club_id, "meeting.cancel", meeting, after={"reason": reason})
        notify.later("meeting_cancelled", meeting)
        return meeting


# --- The agenda ---------------------------------------------------------------------------------------


def _agenda_open(meeting: Meeting, now: datetime) -> None:
    """Items are put on the agenda while the meeting is convened and the notice still runs (R14)."""
    if meeting.status != MeetingStatus.PLANNED:
        raise Conflict(_l("The agenda changes only while the meeting is convened and not yet open."))
    club = db.session.get(Club, meeting.club_id)
    notice = charter_of(meeting.club_id).meeting_notice_days
    if _days_ahead(meeting.scheduled_at, now, club.time_zone) < notice:
        raise RuleViolation(_l("Members receive the agenda %(n)d days before the meeting at least: it is too late to "
                               "add an item.", n=notice), rule="R14")
    if len(ballots.meeting_items(meeting)) >= MAX_ITEMS:
        raise InvalidInput(_l("An agenda holds at most %(n)d items.", n=MAX_ITEMS))


def _put(user_id: int, meeting: Meeting, *, kind: str, method: str, subject: Subject, secret: bool | None,
         title: str, details: str, form_key: str, now: datetime) -> Ballot:
    """One item on the agenda: a ballot of the meeting, open for voting once the meeting is in session. Its
    deadline lets the meeting open a day late and sit a day; the chair closes it before."""
    return ballots.open_ballot(user_id, meeting.club_id, kind=kind, method=method,
                               closes_at=meeting.scheduled_at + OPEN_LATE + SESSION, subject=subject, secret=secret,
                               title=title, details=details, form_key=form_key, meeting_id=meeting.id, now=now)


def add_item(user_id: int, club_id: int, meeting_id: int, *, kind: str, method: str, subject: Subject,
             secret: bool | None = None, title: str = "", details: str = "", form_key: str,
             now: datetime | None = None) -> Ballot:
    """The manager puts a decision of any kind on the agenda (the charter, the term and dissolution on an
    extraordinary meeting's, the accounts on the ordinary one's); members are sent the new agenda."""
    now = now or utcnow()
    with unit_of_work():
        access.manager(user_id, club_id, lock=True)
        meeting = _meeting(club_id, meeting_id, lock=True)
        _agenda_open(meeting, now)
        if not isinstance(kind, str) or kind not in {k.value for k in BallotKind}:
            raise InvalidInput(_l("Choose a value from the list."), field="kind")
        rules.check_agenda_kind(meeting.kind, kind)
        item = _put(user_id, meeting, kind=kind, method=method, subject=subject, secret=secret, title=title,
                    details=details, form_key=form_key, now=now)
        notify.later("meeting_agenda", meeting)
        return item


def prefill_ordinary_agenda(user_id: int, club_id: int, meeting_id: int, *, report: str = "", form_key: str,
                            now: datetime | None = None) -> list[Ballot]:
    """The yearly ordinary meeting's agenda: approving the last closed year's accounts and the treasurer's report
    (``report``), and an election for every officer whose term ends before the next yearly meeting. What is
    already on an agenda, or voted on, is left out."""
    now = now or utcnow()
    report = paragraphs(report, "report", maximum=DETAILS_MAX, required=False)
    with unit_of_work():
        access.manager(user_id, club_id, lock=True)
        meeting = _meeting(club_id, meeting_id, lock=True)
        _agenda_open(meeting, now)
        if meeting.kind != MeetingKind.ORDINARY:
            raise RuleViolation(_l("Only the ordinary meeting's agenda is prefilled."), rule="R14")
        use_form_key(user_id, form_key, club_id)
        added = _prefill(user_id, meeting, report, now)
        if not added:
            raise Conflict(_l("Nothing to add: the last closed year's accounts are approved or on an agenda, and no "
                              "officer's term ends before the next yearly meeting without an election."))
        notify.later("meeting_agenda", meeting)
        return added


def due_elections(club_id: int, meeting: Meeting) -> list[Membership]:
    """Officers whose term ends before the next yearly meeting (a year after this one), lapsed ones included."""
    club = db.session.get(Club, club_id)
    limit = add_months(clock.local_date(meeting.scheduled_at, club.time_zone), 12)
    order = {Role.MANAGER: 0, Role.TREASURER: 1, Role.SECRETARY: 2}
    officers = db.session.scalars(select(Membership).where(
        Membership.club_id == club_id, Membership.status == MemberStatus.ACTIVE, Membership.role != Role.MEMBER,
        Membership.role_until.is_not(None), Membership.role_until < limit))
    return sorted(officers, key=lambda m: order[m.role])


def _open_exists(club_id: int, *where) -> bool:
    return db.session.scalar(select(Ballot.id).where(Ballot.club_id == club_id, Ballot.status == BallotStatus.OPEN,
                                                     *where).limit(1)) is not None


def _prefill(user_id: int, meeting: Meeting, report: str, now: datetime) -> list[Ballot]:
    club_id = meeting.club_id
    added = []
    last = max(yearend.closed_years(club_id), default=None)
    if last is not None and last in yearend.approvable_years(club_id) and not _open_exists(
            club_id, Ballot.kind == BallotKind.ACCOUNTS, Ballot.year == last):
        added.append(_put(user_id, meeting, kind=BallotKind.ACCOUNTS, method="yes_no", subject=Subject(year=last),
                          secret=False, title="", details=report, form_key=uuid.uuid4().hex, now=now))
    for officer in due_elections(club_id, meeting):
        if _open_exists(club_id, Ballot.kind == BallotKind.ELECTION, Ballot.role == officer.role):
            continue
        added.append(_put(user_id, meeting, kind=BallotKind.ELECTION, method="yes_no",
                          subject=Subject(role=officer.role, candidate_ids=[officer.id]), secret=True, title="",
                          details="", form_key=uuid.uuid4().hex, now=now))
    return added


# --- Proxies for the meeting -----------------------------------------------------------------------


def give_proxy(user_id: int, club_id: int, meeting_id: int, holder_id: int, *,
               now: datetime | None = None) -> MeetingAttendance:
    """A member who will not be there lets another member vote for them at the whole meeting (R14, R9)."""
    now = now or utcnow()
    with unit_of_work() as session:
        me = membership_for(user_id, club_id)
        meeting = _meeting(club_id, meeting_id, lock=True)
        if meeting.status not in (MeetingStatus.PLANNED, MeetingStatus.IN_SESSION):
            raise Conflict(_l("This meeting is over."))
        if not is_id(holder_id) or holder_id == me.id:
            raise InvalidInput(_l("Choose another member."), field="holder_id")
        holder = _active_member(club_id, holder_id, "holder_id")
        mine = attendance.row_of(meeting, me.id, lock=True)
        if meeting.in_session and mine is None:
            raise NotPermitted(_l("You joined after the meeting opened: you do not vote at it."))
        if mine is not None and mine.presence == Presence.REPRESENTED:
            raise Conflict(_l("You have already given your proxy; withdraw it first."))
        rows = attendance.rows(meeting)
        limit = meeting.max_proxies if meeting.in_session else charter_of(club_id).max_proxies_per_holder
        rules.check_meeting_proxy(
            giver_present=mine is not None and mine.presence == Presence.PRESENT,
            giver_holds=sum(1 for r in rows if r.holder_id == me.id),
            holder_gave=any(r.membership_id == holder.id and r.presence == Presence.REPRESENTED for r in rows),
            holder_holds=sum(1 for r in rows if r.holder_id == holder.id), limit=limit)
        if mine is None:
            mine = MeetingAttendance(club_id=meeting.club_id, meeting_id=meeting.id, membership_id=me.id)
            session.add(mine)
        mine.presence, mine.holder_id, mine.changed_at = Presence.REPRESENTED, holder.id, now
        session.flush()
        if meeting.in_session:
            ballots.represent(meeting, me.id, holder.id, now)
        record(user_id, club_id, "meeting.proxy", meeting, after={"member": me.id, "holder": holder.id})
        return mine


def withdraw_proxy(user_id: int, club_id: int, meeting_id: int, *, now: datetime | None = None) -> Meeting:
    now = now or utcnow()
    with unit_of_work() as session:
        me = membership_for(user_id, club_id)
        meeting = _meeting(club_id, meeting_id, lock=True)
        if meeting.status not in (MeetingStatus.PLANNED, MeetingStatus.IN_SESSION):
            raise Conflict(_l("This meeting is over."))
        mine = attendance.row_of(meeting, me.id, lock=True)
        if mine is None or mine.presence != Presence.REPRESENTED:
            raise Conflict(_l("You have not given your proxy for this meeting."))
        holder = mine.holder_id
        if meeting.in_session:
            mine.presence, mine.holder_id, mine.changed_at = Presence.ABSENT, None, now
            ballots.represent(meeting, me.id, None, now)
        else:
            session.delete(mine)
        record(user_id, club_id, "meeting.proxy_withdraw", meeting, after={"member": me.id, "holder": holder})
        return meeting


# --- The session ---------------------------------------------------------------------------------------


def _secretary_of(club_id: int, chair: Membership, secretary_id: object) -> Membership:
    if secretary_id is not None:
        return _active_member(club_id, secretary_id, "secretary_id")
    found = [m for m in db.session.scalars(select(Membership).where(
        Membership.club_id == club_id, Membership.status == MemberStatus.ACTIVE, Membership.role == Role.SECRETARY))
        if access.in_office(m)]
    if not found or found[0].id == chair.id:
        raise InvalidInput(_l("Choose the meeting's secretary: they write the minutes and sign them with the chair."),
                           field="secretary_id")
    return found[0]


def open_meeting(user_id: int, club_id: int, meeting_id: int, *, chair_id: int | None = None,
                 secretary_id: int | None = None, now: datetime | None = None) -> Meeting:
    """The manager opens the meeting at its time: its chair (the manager, unless another member is named) and its
    secretary (the club's secretary, unless another member is named: never the chair) are present; every
    other active member is absent, or represented by the holder of the proxy they gave. The charter's meeting
    quorum and proxies are copied, and the agenda's items open for voting."""
    now = now or utcnow()
    with unit_of_work() as session:
        me = access.manager(user_id, club_id, lock=True)
        meeting = _meeting(club_id, meeting_id, lock=True)
        check_move(meeting, MeetingStatus.IN_SESSION)
        if now < meeting.scheduled_at - OPEN_EARLY:
            raise Conflict(_l("It is too early: the meeting opens an hour before its time at the earliest."))
        if now > meeting.scheduled_at + OPEN_LATE:
            raise Conflict(_l("The meeting was due more than a day ago: cancel it and convene another."))
        _holds_meetings(me.club, now)
        chair = me if chair_id is None else _active_member(club_id, chair_id, "chair_id")
        secretary = _secretary_of(club_id, chair, secretary_id)
        if secretary.id == chair.id:
            raise RuleViolation(_l("The chair and the secretary sign the minutes together: choose two different "
                                   "members."), rule="R14", field="secretary_id")
        charter = charter_of(club_id)
        members = _active_members(club_id)
        active = {m.id for m in members}
        rows = {r.membership_id: r for r in attendance.rows(meeting)}
        for row in list(rows.values()):
            if row.membership_id not in active:  # left since giving their proxy
                session.delete(rows.pop(row.membership_id))
        session.flush()
        for member in members:
            row = rows.get(member.id)
            if row is None:
                rows[member.id] = row = MeetingAttendance(club_id=meeting.club_id, meeting_id=meeting.id,
                                                          membership_id=member.id,
                                                          presence=Presence.ABSENT, holder_id=None, changed_at=now)
                session.add(row)
            elif row.holder_id not in active or member.id in (chair.id, secretary.id):
                row.presence, row.holder_id, row.changed_at = Presence.ABSENT, None, now
        for officer in (chair, secretary):
            rows[officer.id].presence = Presence.PRESENT
        held: dict[int, int] = {}
        for row in sorted(rows.values(), key=lambda r: r.id or 0):  # proxies past the charter's limit now lapse
            if row.presence == Presence.REPRESENTED:
                held[row.holder_id] = held.get(row.holder_id, 0) + 1
                if held[row.holder_id] > charter.max_proxies_per_holder:
                    row.presence, row.holder_id = Presence.ABSENT, None
        meeting.quorum_percent, meeting.max_proxies = charter.meeting_quorum_percent, charter.max_proxies_per_holder
        meeting.eligible_count = len(members)
        meeting.chair_id, meeting.secretary_id = chair.id, secretary.id
        meeting.opened_at, meeting.opened_by_id = now, user_id
        move(meeting, MeetingStatus.IN_SESSION)
        session.flush()
        ballots.start_meeting_items(meeting, user_id, now)
        for row in rows.values():
            if row.presence == Presence.REPRESENTED:
                ballots.represent(meeting, row.membership_id, row.holder_id, now)
        record(user_id, club_id, "meeting.open", meeting, after={
            "chair": chair.id, "secretary": secretary.id, "quorum_percent": meeting.quorum_percent,
            "eligible": meeting.eligible_count, "max_proxies": meeting.max_proxies})
        return meeting


def record_attendance(user_id: int, club_id: int, meeting_id: int, membership_id: int, presence: str, *,
                      holder_id: int | None = None, now: datetime | None = None) -> MeetingAttendance:
    """The chair records a member present (a late arrival), absent (gone), or represented by a present member
    who holds their proxy (one handed in on paper). The ballots' proxies follow at once."""
    now = now or utcnow()
    try:
        presence = Presence(presence)
    except ValueError:
        raise InvalidInput(_l("Choose a value from the list."), field="presence") from None
    with unit_of_work():
        me = membership_for(user_id, club_id)
        meeting = _meeting(club_id, meeting_id, lock=True)
        _runs(meeting, me)
        if not meeting.in_session:
            raise Conflict(_l("Attendance is taken while the meeting is in session."))
        row = attendance.row_of(meeting, membership_id, lock=True) if is_id(membership_id) else None
        if row is None:
            raise NotFound(_l("This member is not on the meeting's attendance list."))
        before = {"presence": row.presence, "holder": row.holder_id}
        if presence != Presence.PRESENT and row.membership_id in (meeting.chair_id, meeting.secretary_id):
            raise RuleViolation(_l("The chair and the secretary are present for the whole session."), rule="R14",
                                field="presence")
        holder = None
        if presence == Presence.REPRESENTED:
            if not is_id(holder_id) or holder_id == row.membership_id:
                raise InvalidInput(_l("Choose the member present who holds the proxy."), field="holder_id")
            if not attendance.is_present(meeting, holder_id):
                raise InvalidInput(_l("The holder of a proxy must be present."), field="holder_id")
            rows = attendance.rows(meeting)
            rules.check_proxy(giver_recused=False, holder_recused=False,
                              giver_holds=sum(1 for r in rows if r.holder_id == row.membership_id), holder_gave=False,
                              holder_holds=sum(1 for r in rows if r.holder_id == holder_id and r.id != row.id),
                              limit=meeting.max_proxies)
            holder = holder_id
        if (row.presence, row.holder_id) == (presence, holder):
            raise Conflict(_l("Nothing was changed."))
        row.presence, row.holder_id, row.changed_at = presence, holder, now
        db.session.flush()
        ballots.represent(meeting, row.membership_id, holder, now)
        record(user_id, club_id, "meeting.attendance", meeting, before=before,
               after={"member": row.membership_id, "presence": presence, "holder": holder})
        return row


def close_item(user_id: int, club_id: int, meeting_id: int, ballot_id: int, *, now: datetime | None = None) -> Ballot:
    """The chair closes the vote on one item: it is counted and decided like any ballot."""
    now = now or utcnow()
    ballots.close_if_due(club_id, ballot_id, now=now)
    with unit_of_work():
        me = membership_for(user_id, club_id)
        meeting = _meeting(club_id, meeting_id, lock=True)
        _runs(meeting, me)
        item = in_club(Ballot, club_id, ballot_id, lock=True, missing=_l("No such item on this meeting's agenda."))
        if item.meeting_id != meeting.id:
            raise NotFound(_l("No such item on this meeting's agenda."))
        if not meeting.in_session:
            raise Conflict(_l("The items are voted and closed while the meeting is in session."))
        ballots.close_meeting_item(item, user_id, now)
        return item


def close_meeting(user_id: int, club_id: int, meeting_id: int, *, now: datetime | None = None) -> Meeting:
    """The chair closes the meeting. With its quorum, the items still open are counted and decided; without it
    they are cancelled, and the minutes say the meeting had no quorum. A member still represented by an absent
    holder is recorded absent."""
    now = now or utcnow()
    with unit_of_work():
        me = membership_for(user_id, club_id)
        meeting = _meeting(club_id, meeting_id, lock=True)
        _runs(meeting, me)
        check_move(meeting, MeetingStatus.CLOSED)
        quorum = attendance.quorum(meeting)
        for item in ballots.meeting_items(meeting, lock=True, status=BallotStatus.OPEN):
            if quorum.met:
                ballots.close_meeting_item(item, user_id, now)
            else:
                ballots.cancel_meeting_item(item, user_id, NO_QUORUM, now)
        present = {r.membership_id for r in attendance.rows(meeting) if r.presence == Presence.PRESENT}
        for row in attendance.rows(meeting):
            if row.presence == Presence.REPRESENTED and row.holder_id not in present:
                row.presence, row.holder_id, row.changed_at = Presence.ABSENT, None, now
        meeting.quorum_met, meeting.closed_at = quorum.met, now
        move(meeting, MeetingStatus.CLOSED)
        record(user_id, club_id, "meeting.close", meeting, after={
            "quorum_met": quorum.met, "present": quorum.present, "represented": quorum.represented,
            "eligible": quorum.eligible})
        return meeting


# --- The minutes ------------------------------------------------------------------------------------------


def write_minutes(user_id: int, club_id: int, meeting_id: int, text: str, *, now: datetime | None = None) -> Meeting:
    """The meeting's secretary writes (or rewrites) their text of the minutes, until they sign them."""
    now = now or utcnow()
    text = paragraphs(text, "text", maximum=MINUTES_MAX, required=False)
    with unit_of_work():
        me = membership_for(user_id, club_id)
        meeting = _meeting(club_id, meeting_id, lock=True)
        if me.id != meeting.secretary_id:
            raise NotPermitted(_l("Only the meeting's secretary writes its minutes."))
        if meeting.status != MeetingStatus.CLOSED:
            raise Conflict(_l("The minutes are written once the meeting is closed."))
        if meeting.secretary_signed_at is not None:
            raise Conflict(_l("The minutes are signed: they no longer change."))
        if text == meeting.minutes:
            raise Conflict(_l("Nothing was changed."))
        meeting.minutes = text
        record(user_id, club_id, "meeting.minutes", meeting, after={"length": len(text)})
        return meeting


def sign_minutes(user_id: int, club_id: int, meeting_id: int, *, now: datetime | None = None) -> Meeting:
    """The secretary signs the minutes (their text no longer changes), then the chair: signed by both, two
    different members, they are final and in the register of decisions."""
    now = now or utcnow()
    with unit_of_work():
        me = membership_for(user_id, club_id)
        meeting = _meeting(club_id, meeting_id, lock=True)
        if me.id not in (meeting.secretary_id, meeting.chair_id):
            raise NotPermitted(_l("Only the meeting's secretary and chair sign its minutes."))
        if meeting.status != MeetingStatus.CLOSED:
            raise Conflict(_l("The minutes are written once the meeting is closed."))
        if me.id == meeting.secretary_id:
            if meeting.secretary_signed_at is not None:
                raise Conflict(_l("You have already signed these minutes."))
            meeting.secretary_signed_at = now
            role = "secretary"
        else:
            if meeting.secretary_signed_at is None:
                raise Conflict(_l("The secretary signs the minutes first."))
            if meeting.chair_signed_at is not None:
                raise Conflict(_l("You have already signed these minutes."))
            meeting.chair_signed_at = now
            role = "chair"
        record(user_id, club_id, "meeting.sign", meeting, after={"as": role, "final": meeting.minutes_signed})
        return meeting


# --- Reading -----------------------------------------------------------------------------------------------


def meetings_of(user_id: int, club_id: int) -> list[Meeting]:
    """The club's meetings: those to come or in session first (soonest first), then the past ones, latest first."""
    membership_for(user_id, club_id)
    rows = list(db.session.scalars(select(Meeting).where(Meeting.club_id == club_id)))
    live = (MeetingStatus.PLANNED, MeetingStatus.IN_SESSION)
    rows.sort(key=lambda m: (m.status not in live, m.scheduled_at if m.status in live
                             else datetime.max - m.scheduled_at, m.id))
    return rows


@dataclass
class MeetingPage:
    meeting: Meeting
    me: Membership
    items: list[Ballot]
    #: every attendance row once the meeting opened (before: the proxies given), by member name
    rows: list[MeetingAttendance]
    quorum: attendance.Quorum | None
    mine: MeetingAttendance | None
    #: members I may give my proxy to
    holders: list[Membership]
    #: present members, who may hold a proxy handed in to the chair
    present: list[Membership]
    runs: bool  # the chair, or the manager
    is_manager: bool
    agenda_open: bool  # items may still be added
    #: the last day items may be added, on the club's clock
    agenda_until: date
    notice_days: int
    my_items: dict[int, BallotVoter]


def meeting_page(user_id: int, club_id: int, meeting_id: int, *, now: datetime | None = None) -> MeetingPage:
    now = now or utcnow()
    me = membership_for(user_id, club_id)
    meeting = _meeting(club_id, meeting_id)
    for item in ballots.meeting_items(meeting, status=BallotStatus.OPEN):
        ballots.close_if_due(club_id, item.id, now=now)
    meeting = _meeting(club_id, meeting_id)
    items = ballots.meeting_items(meeting)
    rows = sorted(attendance.rows(meeting), key=lambda r: (r.membership.user.name.casefold(), r.id))
    mine = next((r for r in rows if r.membership_id == me.id), None)
    present = [r.membership for r in rows if r.presence == Presence.PRESENT]
    holders = []
    if meeting.status in (MeetingStatus.PLANNED, MeetingStatus.IN_SESSION) and (mine is None or mine.presence == Presence.ABSENT):
        if not (meeting.in_session and mine is None):
            holders = [m for m in _active_members(club_id) if m.id != me.id]
    is_manager = access.is_manager(me)
    zone = me.club.time_zone
    notice = charter_of(club_id).meeting_notice_days
    days_left = _days_ahead(meeting.scheduled_at, now, zone)
    voters = {v.ballot_id: v for v in db.session.scalars(select(BallotVoter).where(
        BallotVoter.club_id == club_id, BallotVoter.membership_id == me.id,
        BallotVoter.ballot_id.in_([i.id for i in items])))} if items else {}
    return MeetingPage(
        meeting=meeting, me=me, items=items, rows=rows,
        quorum=attendance.quorum(meeting) if meeting.opened_at is not None else None, mine=mine, holders=holders,
        present=present, runs=me.id == meeting.chair_id or is_manager, is_manager=is_manager,
        agenda_open=(meeting.status == MeetingStatus.PLANNED and days_left >= notice
                     and len(items) < MAX_ITEMS),
        agenda_until=clock.local_date(meeting.scheduled_at, zone) - timedelta(days=notice), notice_days=notice,
        my_items=voters)


def item_choices(user_id: int, club_id: int, meeting_id: int, kind: str) -> dict[str, list]:
    """What the manager may put on this meeting's agenda now: the ballots' subjects, and the closed years whose
    accounts await approval."""
    access.manager(user_id, club_id)
    _meeting(club_id, meeting_id)
    choices = ballots.subject_choices(user_id, club_id, kind=kind)
    choices["years"] = yearend.approvable_years(club_id)
    return choices


@dataclass
class Minutes:
    meeting: Meeting
    club: Club
    items: list[Ballot]
    present: list[Membership]
    represented: list[tuple[Membership, Membership]]  # (member, the present holder of their proxy)
    absent: list[Membership]
    quorum: attendance.Quorum | None
    may_write: bool
    may_sign: bool


def minutes_of(user_id: int, club_id: int, meeting_id: int) -> Minutes:
    """The minutes as the record builds them: date, place, chair, secretary, attendance, quorum, each decision;
    with the secretary's text and the signatures."""
    me = membership_for(user_id, club_id)
    meeting = _meeting(club_id, meeting_id)
    rows = sorted(attendance.rows(meeting), key=lambda r: (r.membership.user.name.casefold(), r.id))
    opened = meeting.opened_at is not None
    closed = meeting.status == MeetingStatus.CLOSED
    signing = closed and ((me.id == meeting.secretary_id and meeting.secretary_signed_at is None)
                          or (me.id == meeting.chair_id and meeting.secretary_signed_at is not None
                              and meeting.chair_signed_at is None))
    return Minutes(
        meeting=meeting, club=me.club, items=ballots.meeting_items(meeting),
        present=[r.membership for r in rows if r.presence == Presence.PRESENT] if opened else [],
        represented=[(r.membership, r.holder) for r in rows if r.presence == Presence.REPRESENTED] if opened else [],
        absent=[r.membership for r in rows if r.presence == Presence.ABSENT] if opened else [],
        quorum=attendance.quorum(meeting) if opened else None,
        may_write=closed and me.id == meeting.secretary_id and meeting.secretary_signed_at is None,
        may_sign=signing)


def signed_minutes(user_id: int, club_id: int) -> list[Meeting]:
    """The register's minutes: every meeting whose minutes both signed, oldest first."""
    membership_for(user_id, club_id)
    return list(db.session.scalars(select(Meeting).where(Meeting.club_id == club_id,
                                                         Meeting.chair_signed_at.is_not(None))
                                   .order_by(Meeting.scheduled_at, Meeting.id)))


# --- Integrity -----------------------------------------------------------------------------------------------


def check() -> list:
    """Invariant 14: a meeting's items are voted only in session — none of a meeting never opened holds a vote,
    and none stays open once the meeting is closed or cancelled; signed minutes are those of a closed meeting;
    attendance is taken once, for the members the meeting counted."""
    found = []
    for meeting_id, club_id, status, opened_at, eligible, signed in db.session.execute(select(
            Meeting.id, Meeting.club_id, Meeting.status, Meeting.opened_at, Meeting.eligible_count,
            Meeting.secretary_signed_at)):
        where = f"meeting {meeting_id}"
        if opened_at is None:
            voted = db.session.scalar(select(func.count()).select_from(BallotVoter).join(
                Ballot, (Ballot.id == BallotVoter.ballot_id) & (Ballot.club_id == BallotVoter.club_id)).where(
                Ballot.club_id == club_id, Ballot.meeting_id == meeting_id, BallotVoter.voted.is_(True)))
            if voted:
                found.append(Violation(14, club_id, f"{where} never opened but its items hold {voted} votes"))
        if status in (MeetingStatus.CLOSED, MeetingStatus.CANCELLED):
            still = db.session.scalar(select(func.count()).select_from(Ballot).where(
                Ballot.club_id == club_id, Ballot.meeting_id == meeting_id, Ballot.status == BallotStatus.OPEN))
            if still:
                found.append(Violation(14, club_id, f"{where} is {status} but {still} of its items are open"))
        if signed is not None and status != MeetingStatus.CLOSED:
            found.append(Violation(14, club_id, f"{where} has signed minutes but is {status}"))
        if opened_at is not None:
            rows = db.session.scalar(select(func.count()).select_from(MeetingAttendance).where(
                MeetingAttendance.club_id == club_id, MeetingAttendance.meeting_id == meeting_id))
            if rows != eligible:
                found.append(Violation(14, club_id, f"{where}: {rows} attendance rows for {eligible} members counted"))
    return found
