"""Between clubs: partnerships for trading time, the exchanges across them, and the hand-offs that carry
each step from one club to the other.

Every row here belongs to ONE club (its ``club_id``): a partnership and a cross-club exchange exist as two
rows, one in each club, that share a ``uuid``. No transaction ever writes both clubs: a club writes its own
row and a ``Relay`` (its outbox) in one unit of work; delivering the relay is another unit of work in the
other club, which applies it idempotently (by ``uuid``), then a third marks the relay delivered. A crash
between any two of them leaves each club's books balanced; ``flask coop tick`` delivers what is left.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import ClubOwned, club_fk, club_parent, one_of, utcnow

if TYPE_CHECKING:
    from .club import Membership


class PartnershipStatus(enum.StrEnum):
    DRAFT = "draft"  # proposed here; this club's members have not agreed yet
    PROPOSED = "proposed"  # this club agreed; waiting for the partner's vote
    OFFERED = "offered"  # the partner club agreed; this club's members decide
    ACTIVE = "active"  # both clubs agreed: members trade (unless suspended)
    REFUSED = "refused"  # one of the two clubs voted no


class Partnership(ClubOwned, db.Model):
    """This club's side of an agreement to trade time with another club."""

    __tablename__ = "partnership"
    __table_args__ = (
        one_of("status", PartnershipStatus),
        UniqueConstraint("club_id", "partner_club_id"),
        UniqueConstraint("club_id", "uuid"),
        CheckConstraint("limit_minutes > 0", name="limit_positive"),
        CheckConstraint("partner_club_id <> club_id", name="two_clubs"),
        club_fk("account_id", "account"),
        club_fk("ballot_id", "ballot"),
    )

    #: the other club (no foreign key: it may live on another node, one day on another server)
    partner_club_id: Mapped[int] = mapped_column()
    #: the other club's name when the partnership was made, shown even if that club cannot be read
    partner_name: Mapped[str] = mapped_column(String(120))
    #: the same in both clubs' rows
    uuid: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(10), default=PartnershipStatus.DRAFT)
    #: the most either club may owe the other, in minutes: the clearing account's floor and ceiling
    limit_minutes: Mapped[int]
    #: True when this club proposed it
    proposed_here: Mapped[bool] = mapped_column(default=False)
    #: this club's ballot that agreed (or refused)
    ballot_id: Mapped[int | None] = mapped_column()
    #: the clearing account for the partner, in this club's time ledger (made when it becomes active)
    account_id: Mapped[int | None] = mapped_column()
    #: set when this club suspended trading, and when the partner did
    suspended_here_at: Mapped[datetime | None]
    suspended_there_at: Mapped[datetime | None]
    #: the head of this club's hash chain of exchanges with the partner
    chain_head: Mapped[str] = mapped_column(String(64), default="")
    chain_length: Mapped[int] = mapped_column(default=0)
    #: the last relay from the partner club applied here: relays are numbered in the order they were written,
    #: so a step that arrives again (two deliveries racing, a retry after a lost mark) is seen and skipped
    last_relay_in: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    active_since: Mapped[datetime | None]

    @property
    def trading(self) -> bool:
        return (self.status == PartnershipStatus.ACTIVE and self.suspended_here_at is None
                and self.suspended_there_at is None)


class CrossState(enum.StrEnum):
    """Modelled on the Credit Commons transaction's states (docs/between-clubs.md)."""

    PENDING = "pending"  # recorded by one member, awaiting the other's confirmation
    COMMITTED = "committed"  # posted in this club; the partner club's side is on its way
    COMPLETED = "completed"  # posted in both clubs
    UNDOING = "undoing"  # the partner club could not count it; this club's side waits for room to be reversed
    ERASED = "erased"  # withdrawn, declined, refused or expired: on neither book (or posted and reversed)


class CrossExchange(ClubOwned, db.Model):
    """This club's side of a service given between a member of this club and a member of a partner club."""

    __tablename__ = "cross_exchange"
    __table_args__ = (
        one_of("state", CrossState),
        UniqueConstraint("club_id", "uuid"),
        CheckConstraint("minutes > 0", name="minutes_positive"),
        CheckConstraint("direction IN ('given', 'received')", name="direction_valid"),
        Index("ix_cross_exchange_partnership", "club_id", "partnership_id", "id"),
        Index("ix_cross_exchange_member", "club_id", "member_id"),
        club_fk("partnership_id", "partnership"),
        club_fk("member_id", "membership"),
        club_fk("transaction_id", "journal_transaction"),
        UniqueConstraint("transaction_id", "club_id"),
        club_fk("reversal_id", "journal_transaction"),
        UniqueConstraint("reversal_id", "club_id"),
    )

    uuid: Mapped[str] = mapped_column(String(36))
    partnership_id: Mapped[int] = mapped_column()
    #: this club's member
    member_id: Mapped[int] = mapped_column()
    #: "given": this club's member gave the service (the payee, credited); "received": they received it (the payer)
    direction: Mapped[str] = mapped_column(String(8))
    #: the partner club's member: their membership id there, and their name as that club sent it
    partner_member_id: Mapped[int] = mapped_column()
    partner_member_name: Mapped[str] = mapped_column(String(120))
    minutes: Mapped[int]
    done_on: Mapped[date]
    description: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[str] = mapped_column(String(10), default=CrossState.PENDING)
    #: True when this club's member recorded it (the partner's member confirms)
    recorded_here: Mapped[bool] = mapped_column(default=False)
    expires_on: Mapped[date | None]
    transaction_id: Mapped[int | None] = mapped_column()
    reversal_id: Mapped[int | None] = mapped_column()
    #: why it was erased, in the words of whoever erased it
    reason: Mapped[str | None] = mapped_column(String(300))
    #: this exchange's link in the partnership's hash chain, once completed here
    chain_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[Membership] = club_parent("Membership", "CrossExchange", "member_id", lazy="joined")
    partnership: Mapped[Partnership] = club_parent("Partnership", "CrossExchange", "partnership_id", lazy="joined")

    @property
    def payer_is_here(self) -> bool:
        return self.direction == "received"


class RelayStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"


class Relay(ClubOwned, db.Model):
    """One step for the partner club to apply, kept in the sending club until it is applied there."""

    __tablename__ = "relay"
    __table_args__ = (
        one_of("status", RelayStatus),
        UniqueConstraint("club_id", "key"),
        Index("ix_relay_pending", "status", "next_attempt_at"),
    )

    to_club_id: Mapped[int] = mapped_column()
    #: what to apply: "partnership.offer", "exchange.commit", … (services.partners.HANDLERS)
    kind: Mapped[str] = mapped_column(String(32))
    #: the same step sent twice has the same key: ``<kind>:<uuid>``
    key: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default=RelayStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
