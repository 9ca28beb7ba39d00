"""Time credits: offers and requests of services, and exchanges (R12).

An exchange moves minutes between two members' time accounts once, through
the ledger; the rows here say what was done, who recorded it, who confirmed
or disputed it, and link to the ledger's transaction (and its reversal).
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import ClubOwned, club_fk, club_parent, one_of, utcnow

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


class Listing(ClubOwned, db.Model):
    """An offer or a request of a service, in one club."""

    __tablename__ = "listing"
    __table_args__ = (
        one_of("kind", ListingKind),
        one_of("status", ListingStatus),
        one_of("category", Category),
        Index("ix_listing_club_recent", "club_id", "id"),
        Index("ix_listing_author", "author_id"),
        club_fk("author_id", "membership"),
    )

    author_id: Mapped[int] = mapped_column()
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
    #: shown to the members of partner clubs too (services.partners)
    partners_see: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[Membership] = club_parent("Membership", "Listing", "author_id", lazy="joined")


class Exchange(ClubOwned, db.Model):
    """One service given by a member to another, counted in minutes."""

    __tablename__ = "exchange"
    __table_args__ = (
        one_of("status", ExchangeStatus),
        CheckConstraint("provider_id <> receiver_id", name="two_members"),
        CheckConstraint("minutes IS NULL OR minutes > 0", name="minutes_positive"),
        Index("ix_exchange_club_status", "club_id", "status"),
        Index("ix_exchange_provider", "provider_id", "done_on"),
        Index("ix_exchange_receiver", "receiver_id", "done_on"),
        club_fk("listing_id", "listing"),
        club_fk("provider_id", "membership"),
        club_fk("receiver_id", "membership"),
        club_fk("started_by_id", "membership"),
        club_fk("recorded_by_id", "membership"),
        club_fk("transaction_id", "journal_transaction"),
        UniqueConstraint("transaction_id", "club_id"),
        club_fk("reversal_id", "journal_transaction"),
        UniqueConstraint("reversal_id", "club_id"),
        club_fk("disputed_by_id", "membership"),
        club_fk("resolved_by_id", "membership"),
    )

    listing_id: Mapped[int | None] = mapped_column()
    #: the member who gave the service (credited)
    provider_id: Mapped[int] = mapped_column()
    #: the member who received it (debited); they confirm it
    receiver_id: Mapped[int] = mapped_column()
    #: who started it: answered the offer or request, or recorded it directly
    started_by_id: Mapped[int] = mapped_column()
    #: who entered the duration; the other party confirms or disputes
    recorded_by_id: Mapped[int | None] = mapped_column()
    minutes: Mapped[int | None]
    done_on: Mapped[date | None]
    description: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(12))
    #: an unconfirmed exchange expires after this day (charter: exchange_expiry_days)
    expires_on: Mapped[date | None]
    transaction_id: Mapped[int | None] = mapped_column()
    reversal_id: Mapped[int | None] = mapped_column()
    recorded_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    dispute_reason: Mapped[str | None] = mapped_column(String(500))
    disputed_by_id: Mapped[int | None] = mapped_column()
    disputed_at: Mapped[datetime | None]
    #: the manager's (or the party's) reason for cancelling, reversing or keeping it
    resolution: Mapped[str | None] = mapped_column(String(500))
    resolved_by_id: Mapped[int | None] = mapped_column()
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    provider: Mapped[Membership] = club_parent("Membership", "Exchange", "provider_id", lazy="joined")
    receiver: Mapped[Membership] = club_parent("Membership", "Exchange", "receiver_id", lazy="joined")
    listing: Mapped[Listing | None] = club_parent("Listing", "Exchange", "listing_id", lazy="joined")

    @property
    def posted(self) -> bool:
        return self.transaction_id is not None and self.reversal_id is None

    def party(self, membership_id: int) -> bool:
        return membership_id in (self.provider_id, self.receiver_id)

    def other(self, membership_id: int) -> Membership:
        return self.receiver if membership_id == self.provider_id else self.provider
