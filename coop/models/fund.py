"""Pooled savings: members' pledges and the contributions the treasurer records.

A contribution is one row here plus one ledger transaction (bank debited,
the member's capital credited). Neither is ever changed: a mistake is undone
by reversing the transaction."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import one_of, utcnow
from .club import Membership
from .ledger import JournalTransaction


class Rhythm(enum.StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class PaymentMethod(enum.StrEnum):
    TRANSFER = "transfer"
    CHEQUE = "cheque"
    CASH = "cash"


class ContributionSource(enum.StrEnum):
    FORM = "form"
    MONTH = "month"  # the month-entry form
    IMPORT = "import"  # a CSV file


class Pledge(db.Model):
    """What a member commits to pay each month. A change adds a row; the one
    in force on a date is the latest whose month has started."""

    __tablename__ = "pledge"
    __table_args__ = (
        Index("ix_pledge_club_member", "club_id", "membership_id", "effective_from", "id"),
        CheckConstraint("monthly_amount > 0", name="amount_positive"),
        one_of("rhythm", Rhythm),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("club.id"))
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    #: cents a month, whatever the rhythm of payment
    monthly_amount: Mapped[int] = mapped_column(BigInteger)
    rhythm: Mapped[str] = mapped_column(String(10), default=Rhythm.MONTHLY)
    #: the first day of the month from which this pledge applies
    effective_from: Mapped[date]
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Contribution(db.Model):
    __tablename__ = "contribution"
    __table_args__ = (
        Index("ix_contribution_club_member", "club_id", "membership_id", "received_on"),
        Index("ix_contribution_club_date", "club_id", "received_on"),
        UniqueConstraint("transaction_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
        one_of("method", PaymentMethod),
        one_of("source", ContributionSource),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("club.id"))
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    #: cents received
    amount: Mapped[int] = mapped_column(BigInteger)
    received_on: Mapped[date]
    method: Mapped[str] = mapped_column(String(10))
    bank_reference: Mapped[str] = mapped_column(String(80), default="")
    source: Mapped[str] = mapped_column(String(10), default=ContributionSource.FORM)
    #: the ledger transaction that posted it (bank debited, capital credited)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("journal_transaction.id"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    transaction: Mapped[JournalTransaction] = relationship(lazy="joined")


class PayoutKind(enum.StrEnum):
    REFUND = "refund"  # to a member who left (R13)
    DISTRIBUTION = "distribution"  # a member's part of a dissolving club's net assets (R13)
    WITHDRAWAL = "withdrawal"  # part of a member's share, where the charter allows it


class PayoutStatus(enum.StrEnum):
    PENDING = "pending"  # entered, waiting for a second officer: a commitment
    APPROVED = "approved"  # posted to the ledger
    CANCELLED = "cancelled"


class Payout(db.Model):
    """Money paid back to a member: entered by one officer, approved by another, posted only then (R11),
    as a payment to an enterprise is (``Disbursement``)."""

    __tablename__ = "payout"
    __table_args__ = (
        one_of("kind", PayoutKind),
        one_of("status", PayoutStatus),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("approved_by_id IS NULL OR approved_by_id <> entered_by_id", name="two_people"),
        UniqueConstraint("club_id", "form_key"),
        UniqueConstraint("transaction_id"),
        Index("ix_payout_club_status", "club_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("club.id"))
    #: the member paid
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    memo: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default=PayoutStatus.PENDING)
    #: the entry form's one-time key: a replayed form returns the first payout
    form_key: Mapped[str] = mapped_column(String(64))
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id"))
    approved_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("journal_transaction.id"))

    membership: Mapped[Membership] = relationship(lazy="joined", foreign_keys=[membership_id])
    entered_by: Mapped[Membership] = relationship(lazy="joined", foreign_keys=[entered_by_id])


class ExitValuation(db.Model):
    """A leaver's share valued once their notice has run (R13): what the club then owes them, fixed, paid in
    one or several payouts. The ledger transaction moves their capital to ``payable:<membership>``."""

    __tablename__ = "exit_valuation"
    __table_args__ = (
        UniqueConstraint("club_id", "membership_id"),
        UniqueConstraint("club_id", "form_key"),
        UniqueConstraint("transaction_id"),
        CheckConstraint("value >= 0 AND net_assets >= value", name="value_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("club.id"))
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    valued_on: Mapped[date]
    #: the charter's share method at the valuation
    method: Mapped[str] = mapped_column(String(10))
    #: the club's net assets just before, in cents
    net_assets: Mapped[int] = mapped_column(BigInteger)
    #: the leaver's share: what the club owes them
    value: Mapped[int] = mapped_column(BigInteger)
    #: their capital in the books just before
    capital: Mapped[int] = mapped_column(BigInteger)
    #: their units (millionths) and the club's, just before
    units: Mapped[int] = mapped_column(BigInteger)
    total_units: Mapped[int] = mapped_column(BigInteger)
    #: what they paid in net (pro rata weight), and the club's total
    weight: Mapped[int] = mapped_column(BigInteger)
    total_weight: Mapped[int] = mapped_column(BigInteger)
    #: the charter's time to pay, from the valuation
    pay_by: Mapped[date]
    transaction_id: Mapped[int] = mapped_column(ForeignKey("journal_transaction.id"))
    form_key: Mapped[str] = mapped_column(String(64))
    valued_by_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    membership: Mapped[Membership] = relationship(lazy="joined", foreign_keys=[membership_id])
