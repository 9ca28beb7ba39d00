"""Time credits: offers and requests of services, and exchanges (R12).

An exchange moves minutes between two members' time accounts once, through
the ledger; the rows here say what was done, who recorded it, who confirmed
or disputed it, and link to the ledger's transaction (and its reversal).
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import one_of, utcnow

if TYPE_CHECKING:
    from .club import Membership


class ListingKind(enum.StrEnum):
    OFFER = "offer"  # "I can do this for others"
    REQUEST = "request"  # "I need someone to do this"


class ListingStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


class Category(enum.StrEnum):
    GARDENING = "gardening"
    DIY = "diy"  # DIY and repairs
    COMPUTING = "computing"
    LESSONS = "lessons"  # lessons and languages
    CHILDCARE = "childcare"
    TRANSPORT = "transport"
    COOKING = "cooking"
    SEWING = "sewing"
    PAPERWORK = "paperwork"  # paperwork and accounting
    WELL_BEING = "well_being"
    OTHER = "other"


class ExchangeStatus(enum.StrEnum):
    ARRANGED = "arranged"  # started from an answer to an offer or request; not done yet
    PENDING = "pending"  # recorded, awaiting the receiver's confirmation
    CONFIRMED = "confirmed"  # posted to the time ledger
    DISPUTED = "disputed"  # contested; the manager settles it
    CANCELLED = "cancelled"  # never posted
    EXPIRED = "expired"  # not confirmed in time; never posted
    REVERSED = "reversed"  # posted, then undone by a reversal


class Listing(db.Model):
    """An offer or a request of a service, in one club."""

    __tablename__ = "listing"
    __table_args__ = (
        one_of("kind", ListingKind),
        one_of("status", ListingStatus),
        one_of("category", Category),
        Index("ix_listing_club_recent", "club_id", "id"),
        Index("ix_listing_author", "author_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("club.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    kind: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16))
    #: when the author is available, in their words ("weekday evenings")
    availability: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(8), default=ListingStatus.ACTIVE)
    #: a request is no longer shown after this day
    expires_on: Mapped[date | None]
    #: title and description folded (lower case, no accents) for a search that
    #: behaves the same on SQLite and PostgreSQL
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[Membership] = relationship(lazy="joined")


class Exchange(db.Model):
    """One service given by a member to another, counted in minutes."""

    __tablename__ = "exchange"
    __table_args__ = (
        one_of("status", ExchangeStatus),
        CheckConstraint("provider_id <> receiver_id", name="two_members"),
        CheckConstraint("minutes IS NULL OR minutes > 0", name="minutes_positive"),
        Index("ix_exchange_club_status", "club_id", "status"),
        Index("ix_exchange_provider", "provider_id", "done_on"),
        Index("ix_exchange_receiver", "receiver_id", "done_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("club.id"))
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"))
    #: the member who gave the service (credited)
    provider_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    #: the member who received it (debited); they confirm it
    receiver_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    #: who started it: answered the offer or request, or recorded it directly
    started_by_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    #: who entered the duration; the other party confirms or disputes
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id"))
    minutes: Mapped[int | None]
    done_on: Mapped[date | None]
    description: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(12))
    #: an unconfirmed exchange expires after this day (charter: exchange_expiry_days)
    expires_on: Mapped[date | None]
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("journal_transaction.id"), unique=True)
    reversal_id: Mapped[int | None] = mapped_column(ForeignKey("journal_transaction.id"), unique=True)
    recorded_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    dispute_reason: Mapped[str | None] = mapped_column(String(500))
    disputed_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id"))
    disputed_at: Mapped[datetime | None]
    #: the manager's (or the party's) reason for cancelling, reversing or keeping it
    resolution: Mapped[str | None] = mapped_column(String(500))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id"))
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    provider: Mapped[Membership] = relationship(foreign_keys=[provider_id], lazy="joined")
    receiver: Mapped[Membership] = relationship(foreign_keys=[receiver_id], lazy="joined")
    listing: Mapped[Listing | None] = relationship(lazy="joined")

    @property
    def posted(self) -> bool:
        return self.transaction_id is not None and self.reversal_id is None

    def party(self, membership_id: int) -> bool:
        return membership_id in (self.provider_id, self.receiver_id)

    def other(self, membership_id: int) -> Membership:
        return self.receiver if membership_id == self.provider_id else self.provider
