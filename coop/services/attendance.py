"""Who is at a general meeting (R14), and whether they make its quorum.

Read by the ballots (at a meeting only the members present vote, for themselves and for those they represent)
and by the meetings service, which records attendance. A represented member counts while the holder of
their proxy is present."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..models import Meeting, MeetingAttendance, Presence
from . import tally


@dataclass(frozen=True)
class Quorum:
    """The meeting's quorum now: present and represented members against the active members when it opened."""

    eligible: int
    present: int
    #: represented by a holder who is present
    represented: int
    percent: int

    @property
    def taking_part(self) -> int:
        return self.present + self.represented

    @property
    def needed(self) -> int:
        """The fewest members present or represented that make the quorum: ⌈percent × eligible / 100⌉."""
        return -(-self.percent * self.eligible // 100)

    @property
    def met(self) -> bool:
        return tally.quorum_met(self.taking_part, self.eligible, self.percent)


def rows(meeting: Meeting) -> list[MeetingAttendance]:
    return list(db.session.scalars(select(MeetingAttendance).where(MeetingAttendance.club_id == meeting.club_id,
                                                                   MeetingAttendance.meeting_id == meeting.id)
                                   .order_by(MeetingAttendance.id)))


def row_of(meeting: Meeting, membership_id: int, *, lock: bool = False) -> MeetingAttendance | None:
    stmt = select(MeetingAttendance).where(MeetingAttendance.club_id == meeting.club_id,
                                           MeetingAttendance.meeting_id == meeting.id,
                                           MeetingAttendance.membership_id == membership_id)
    if lock:
        stmt = stmt.with_for_update(of=MeetingAttendance)
    return db.session.scalar(stmt)


def is_present(meeting: Meeting, membership_id: int) -> bool:
    row = row_of(meeting, membership_id)
    return row is not None and row.presence == Presence.PRESENT


def counts(row: MeetingAttendance, present: set[int]) -> bool:
    """Whether the member takes part: present, or represented by a holder who is present."""
    return row.presence == Presence.PRESENT or (row.presence == Presence.REPRESENTED and row.holder_id in present)


def quorum(meeting: Meeting) -> Quorum:
    found = rows(meeting)
    present = {r.membership_id for r in found if r.presence == Presence.PRESENT}
    represented = sum(1 for r in found if r.presence == Presence.REPRESENTED and r.holder_id in present)
    return Quorum(eligible=meeting.eligible_count or 0, present=len(present), represented=represented,
                  percent=meeting.quorum_percent or 100)
