"""General meetings (assemblées générales, R14): the meeting, who attended it, and its minutes.

The agenda is a list of ballots (``ballot.meeting_id``): they are voted in the room while the meeting is in
session. Attendance is taken per active member when the meeting opens: present, represented by a present
member who holds their proxy, or absent. The minutes (procès-verbal) are built from that record; the
secretary adds their text, then the secretary and the chair, two different members, sign them."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import ClubOwned, club_fk, club_parent, one_of, utcnow
from .club import Membership


class MeetingKind(enum.StrEnum):
    ORDINARY = "ordinary"  # the yearly meeting: accounts, elections, the club's ordinary business
    EXTRAORDINARY = "extraordinary"  # the charter, the term, dissolution


class MeetingStatus(enum.StrEnum):
    PLANNED = "planned"  # convened, not yet opened
    IN_SESSION = "in_session"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Presence(enum.StrEnum):
    PRESENT = "present"
    REPRESENTED = "represented"  # by the holder of their proxy for the meeting
    ABSENT = "absent"


class Meeting(ClubOwned, db.Model):
    __tablename__ = "meeting"
    __table_args__ = (
        one_of("kind", MeetingKind),
        one_of("status", MeetingStatus),
        CheckConstraint("place <> '' OR video_link <> ''", name="place_or_link"),
        CheckConstraint("quorum_percent IS NULL OR quorum_percent BETWEEN 1 AND 100", name="quorum_range"),
        # The minutes are signed by two different members, the secretary first.
        CheckConstraint("chair_id IS NULL OR secretary_id IS NULL OR chair_id <> secretary_id", name="two_signers"),
        CheckConstraint("chair_signed_at IS NULL OR secretary_signed_at IS NOT NULL", name="secretary_signs_first"),
        Index("ix_meeting_club", "club_id", "scheduled_at"),
        club_fk("chair_id", "membership"),
        club_fk("secretary_id", "membership"),
    )

    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200), default="")
    #: the convocation's words to members, beside the agenda
    details: Mapped[str] = mapped_column(Text, default="")
    #: UTC; typed and shown on the club's clock
    scheduled_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(String(200), default="")
    #: a video meeting's link (http or https)
    video_link: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default=MeetingStatus.PLANNED)
    convened_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    convened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_at: Mapped[datetime | None]
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(300))

    # Copied from the charter when the meeting opens, with the active members of that moment (R14).
    quorum_percent: Mapped[int | None]
    max_proxies: Mapped[int | None]
    eligible_count: Mapped[int | None]
    #: whether present and represented members made the quorum when the meeting closed
    quorum_met: Mapped[bool | None]

    chair_id: Mapped[int | None] = mapped_column()
    #: writes the minutes
    secretary_id: Mapped[int | None] = mapped_column()
    #: the secretary's text, added to the record the minutes are built from
    minutes: Mapped[str] = mapped_column(Text, default="")
    secretary_signed_at: Mapped[datetime | None]
    #: the second signature: from then on the minutes are final and in the register of decisions
    chair_signed_at: Mapped[datetime | None]

    chair: Mapped[Membership | None] = club_parent("Membership", "Meeting", "chair_id", lazy="joined")
    secretary: Mapped[Membership | None] = club_parent("Membership", "Meeting", "secretary_id", lazy="joined")

    @property
    def in_session(self) -> bool:
        return self.status == MeetingStatus.IN_SESSION

    @property
    def minutes_signed(self) -> bool:
        return self.chair_signed_at is not None


class MeetingAttendance(ClubOwned, db.Model):
    """One member at one meeting. Before the meeting opens only the proxies given for it have a row; when
    it opens every active member has one."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (
        UniqueConstraint("meeting_id", "membership_id", "club_id"),
        one_of("presence", Presence),
        CheckConstraint("(presence = 'represented' AND holder_id IS NOT NULL) OR "
                        "(presence <> 'represented' AND holder_id IS NULL)", name="holder_if_represented"),
        CheckConstraint("holder_id IS NULL OR holder_id <> membership_id", name="not_own_holder"),
        Index("ix_meeting_attendance_holder", "meeting_id", "holder_id"),
        club_fk("meeting_id", "meeting"),
        club_fk("membership_id", "membership"),
        club_fk("holder_id", "membership"),
    )

    meeting_id: Mapped[int] = mapped_column()
    membership_id: Mapped[int] = mapped_column()
    #: not a state machine: the chair may record any of the three at any time of the session
    presence: Mapped[str] = mapped_column(String(16), default=Presence.ABSENT)
    #: who holds the member's proxy for the meeting; it counts while the holder is present
    holder_id: Mapped[int | None] = mapped_column()
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    membership: Mapped[Membership] = club_parent("Membership", "MeetingAttendance", "membership_id", lazy="joined")
    holder: Mapped[Membership | None] = club_parent("Membership", "MeetingAttendance", "holder_id", lazy="joined")
