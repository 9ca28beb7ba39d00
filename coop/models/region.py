"""Regional associations: an organisation of clubs, its coordinators, and each club's decision to share its
figures with it (docs/regions.md).

The association and its coordinators belong to no club: like the people's tables they are Citus reference
tables (a copy on every node), so that a club's own row of membership (``region_member``, club-owned) may
reference the association from the club's shard. A club joins by a ballot of its members (``BallotKind.REGION``)
and leaves when its manager stops sharing: the row keeps when, by which ballot, and when it ended."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import ClubOwned, club_fk, utcnow


class Region(db.Model):
    """A regional association of clubs."""

    __tablename__ = "region"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Region {self.id} {self.name!r}>"


class RegionCoordinator(db.Model):
    """A person who reads the association's figures and may add other coordinators."""

    __tablename__ = "region_coordinator"
    __table_args__ = (
        UniqueConstraint("region_id", "user_id"),
        Index("ix_region_coordinator_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    #: None when the operator named them (``flask coop region create``)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    user = relationship("User", foreign_keys=[user_id], lazy="joined")


class RegionMember(ClubOwned, db.Model):
    """A club's membership of an association: it shares its figures from ``joined_at`` until ``left_at``.
    A club that joins again after leaving has a new row."""

    __tablename__ = "region_member"
    __table_args__ = (
        Index("ix_region_member_club", "club_id", "region_id"),
        # The association's view finds the clubs that share with it (a read across clubs, docs/scaling.md).
        Index("ix_region_member_region", "region_id"),
        club_fk("ballot_id", "ballot"),
    )

    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"))
    #: the members' ballot that decided it
    ballot_id: Mapped[int] = mapped_column()
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: when the club stopped sharing; None while it shares
    left_at: Mapped[datetime | None]
    #: the manager who stopped it
    left_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    region: Mapped[Region] = relationship(lazy="joined")

    @property
    def shares(self) -> bool:
        return self.left_at is None
