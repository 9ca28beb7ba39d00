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
