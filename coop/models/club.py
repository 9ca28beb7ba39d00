"""Clubs, their members, their charter (versioned) and invitations."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import DEFAULT_ZONE
from ..extensions import db
from .base import ClubOwned, one_of, utcnow

if TYPE_CHECKING:
    from .user import User


class Currency(enum.StrEnum):
    EUR = "EUR"
    CAD = "CAD"


class ClubStatus(enum.StrEnum):
    FORMING = "forming"
    ACTIVE = "active"
    IN_MANAGEMENT = "in_management"  # R5: past its term, follow-up only
    DISSOLVING = "dissolving"
    CLOSED = "closed"


class MemberStatus(enum.StrEnum):
    PENDING = "pending"  # asked to join with an invitation, awaiting the manager
    ACTIVE = "active"
    DECLINED = "declined"
    LEFT = "left"
    EXCLUDED = "excluded"


class Role(enum.StrEnum):
    MANAGER = "manager"
    TREASURER = "treasurer"
    SECRETARY = "secretary"
    MEMBER = "member"


OFFICER_ROLES = frozenset({Role.MANAGER, Role.TREASURER, Role.SECRETARY})


class ShareMethod(enum.StrEnum):
    """How members' shares of the net assets are valued (coop/services/shares.py)."""

    PRO_RATA = "pro_rata"  # pro rata to contributions, net of withdrawals: the usual Cigales rule
    UNITS = "units"  # valuation units bought and cashed in at net assets ÷ units


class Threshold(enum.StrEnum):
    MAJORITY = "majority"  # yes > no among votes cast
    TWO_THIRDS = "two_thirds"  # 3·yes ≥ 2·(yes + no)
    UNANIMITY = "unanimity"  # every eligible member votes yes


#: The charter's thresholds (R7), one per kind of decision.
THRESHOLD_FIELDS = (
    "threshold_investment",
    "threshold_membership",
    "threshold_officers",
    "threshold_charter",
    "threshold_stake_sale",
    "threshold_renewal",
    "threshold_dissolution",
)


class Club(db.Model):
    __tablename__ = "club"
    __table_args__ = (
        one_of("currency", Currency),
        one_of("status", ClubStatus),
        CheckConstraint("country IN ('FR', 'CA', 'BE', 'CH', 'LU')", name="country_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    town: Mapped[str] = mapped_column(String(120))
    #: ISO 3166 code; the currency follows the club, not the country
    country: Mapped[str] = mapped_column(String(2))
    currency: Mapped[str] = mapped_column(String(3))
    #: IANA name of the club's time zone: every time shown and every deadline typed is on its clock
    time_zone: Mapped[str] = mapped_column(String(64), default=DEFAULT_ZONE, server_default=DEFAULT_ZONE)
    status: Mapped[str] = mapped_column(String(16), default=ClubStatus.FORMING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_on: Mapped[date | None]
    #: R5: activation date plus the charter's term; renewal moves it once
    term_ends_on: Mapped[date | None]
    #: how many times members voted to extend the term (R5: at most the charter's max_renewals)
    renewals: Mapped[int] = mapped_column(default=0, server_default="0")
    #: the charter version in force
    charter_version: Mapped[int] = mapped_column(default=1)

    memberships: Mapped[list[Membership]] = relationship(back_populates="club", lazy="raise_on_sql")

    def __repr__(self) -> str:
        return f"<Club {self.id} {self.name!r} {self.status}>"


class Membership(ClubOwned, db.Model):
    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("club_id", "user_id"),
        one_of("status", MemberStatus),
        one_of("role", Role),
        Index("ix_membership_user", "user_id"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[str] = mapped_column(String(16), default=MemberStatus.PENDING)
    role: Mapped[str] = mapped_column(String(16), default=Role.MEMBER)
    #: R3: officers serve for a term; renewal sets a new end date
    role_until: Mapped[date | None]
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    joined_on: Mapped[date | None]
    left_on: Mapped[date | None]
    #: R12 reciprocity: the member's time balance is shown to officers only
    hides_time_balance: Mapped[bool] = mapped_column(default=False, server_default=false())

    club: Mapped[Club] = relationship(back_populates="memberships", lazy="joined")
    user: Mapped[User] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:
        return self.status == MemberStatus.ACTIVE

    @property
    def is_officer(self) -> bool:
        return self.role in OFFICER_ROLES

    def __repr__(self) -> str:
        return f"<Membership {self.id} club={self.club_id} user={self.user_id} {self.status}/{self.role}>"


class Charter(ClubOwned, db.Model):
    """One version of a club's charter. Versions are only ever added."""

    __tablename__ = "charter"
    __table_args__ = (
        UniqueConstraint("club_id", "version"),
        CheckConstraint("min_members >= 2 AND min_members <= max_members", name="members_range"),
        CheckConstraint("quorum_percent BETWEEN 1 AND 100", name="quorum_range"),
        CheckConstraint("meeting_quorum_percent BETWEEN 1 AND 100", name="meeting_quorum_range"),
        CheckConstraint("time_floor_minutes <= 0 AND time_ceiling_minutes >= 0", name="time_limits"),
        CheckConstraint("min_monthly_contribution >= 0", name="min_contribution_positive"),
        CheckConstraint("max_yearly_contribution > 0", name="max_contribution_positive"),
        *(one_of(col, Threshold) for col in THRESHOLD_FIELDS),
        one_of("share_method", ShareMethod),
        CheckConstraint("exit_notice_days BETWEEN 0 AND 365", name="exit_notice_range"),
        CheckConstraint("exit_pay_months BETWEEN 0 AND 60", name="exit_pay_range"),
    )

    version: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    # R1
    min_members: Mapped[int] = mapped_column(default=5)
    max_members: Mapped[int] = mapped_column(default=20)
    # R3
    officer_term_months: Mapped[int] = mapped_column(default=12)
    # R4, in cents of the club's currency
    min_monthly_contribution: Mapped[int] = mapped_column(default=750)
    max_yearly_contribution: Mapped[int] = mapped_column(default=550_000)
    # R5
    term_years: Mapped[int] = mapped_column(default=5)
    max_renewals: Mapped[int] = mapped_column(default=1)
    # R6
    quorum_percent: Mapped[int] = mapped_column(default=50)
    # R7
    threshold_investment: Mapped[str] = mapped_column(String(16), default=Threshold.MAJORITY)
    threshold_membership: Mapped[str] = mapped_column(String(16), default=Threshold.TWO_THIRDS)
    threshold_officers: Mapped[str] = mapped_column(String(16), default=Threshold.MAJORITY)
    threshold_charter: Mapped[str] = mapped_column(String(16), default=Threshold.UNANIMITY)
    threshold_stake_sale: Mapped[str] = mapped_column(String(16), default=Threshold.UNANIMITY)
    threshold_renewal: Mapped[str] = mapped_column(String(16), default=Threshold.UNANIMITY)
    threshold_dissolution: Mapped[str] = mapped_column(String(16), default=Threshold.UNANIMITY)
    # R9 / proxies
    max_proxies_per_holder: Mapped[int] = mapped_column(default=1)
    # R10, percentages
    project_cap_percent: Mapped[int] = mapped_column(default=25)
    minority_stake_percent: Mapped[int] = mapped_column(default=33)
    # R12, minutes
    time_floor_minutes: Mapped[int] = mapped_column(default=-600)
    time_ceiling_minutes: Mapped[int] = mapped_column(default=2400)
    time_warning_percent: Mapped[int] = mapped_column(default=80)
    exchange_needs_confirmation: Mapped[bool] = mapped_column(default=True)
    exchange_expiry_days: Mapped[int] = mapped_column(default=30)
    # Item 9 of pooled savings: may the manager record money too?
    manager_records_money: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Year end: the result is shared pro rata to paid-in capital × days held (True) or to paid-in capital on
    # 31 December (False)
    result_by_days: Mapped[bool] = mapped_column(default=True, server_default=true())
    # R13, shares and leaving (coop/services/shares.py, coop/services/exits.py)
    #: how members' shares of the net assets are valued
    share_method: Mapped[str] = mapped_column(String(10), default=ShareMethod.PRO_RATA,
                                              server_default=ShareMethod.PRO_RATA.value)
    #: days from a member's notice to the valuation of their share
    exit_notice_days: Mapped[int] = mapped_column(default=0, server_default="0")
    #: months the club has to pay a leaver's share when cash is short (instalments)
    exit_pay_months: Mapped[int] = mapped_column(default=12, server_default="12")
    #: may members take out part of their share while they stay?
    partial_withdrawals: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: is a leaver's share valued at the first general meeting held once their notice has run?
    exit_at_meeting: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: may a leaver be paid with part of the club's shares in an enterprise when cash is short? Adopted
    #: unanimously with the charter, it is the members' consent in advance: no stake-sale ballot each time
    exit_in_kind: Mapped[bool] = mapped_column(default=False, server_default=false())
    # R14: general meetings are convened this many days ahead at least, and vote with this share of the active
    # members present or represented
    meeting_notice_days: Mapped[int] = mapped_column(default=15, server_default="15")
    meeting_quorum_percent: Mapped[int] = mapped_column(default=50, server_default="50")


class Invitation(ClubOwned, db.Model):
    """A one-time code (also sent as a link) that lets a person ask to join."""

    __tablename__ = "invitation"
    # The code is looked up alone (the person who types it names no club): code_hash leads the key.
    __table_args__ = (Index("ix_invitation_club", "club_id", "created_at"), UniqueConstraint("code_hash", "club_id"))

    #: SHA-256 of the code: the code itself is shown once, never stored
    code_hash: Mapped[str] = mapped_column(String(64))
    #: the last characters, so the manager can tell invitations apart
    code_hint: Mapped[str] = mapped_column(String(8))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    revoked_at: Mapped[datetime | None]

    @property
    def is_open(self) -> bool:
        return self.used_at is None and self.revoked_at is None and self.expires_at > utcnow()
