"""The club's investments in the projects members approved, and the
payments that fund them (R10, R11).

An investment has its own asset account (``investment:<id>``) in the
ledger: payments out debit it, repayments credit it. A disbursement is
entered by one officer and approved by another; until approved it is a
commitment that lowers the cash available."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import one_of, utcnow
from .club import Membership
from .vote import Instrument, LegalForm, Project


class InvestmentStatus(enum.StrEnum):
    ACTIVE = "active"
    REPAID = "repaid"
    EXITED = "exited"
    WRITTEN_OFF = "written_off"


class DisbursementStatus(enum.StrEnum):
    PENDING = "pending"  # entered, waiting for a second officer: a commitment
    APPROVED = "approved"  # posted to the ledger
    CANCELLED = "cancelled"


class Investment(db.Model):
    __tablename__ = "investment"
    __table_args__ = (
        one_of("status", InvestmentStatus),
        one_of("instrument", Instrument),
        one_of("legal_form", LegalForm),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("stake_hundredths IS NULL OR (stake_hundredths > 0 AND stake_hundredths <= 10000)",
                        name="stake_range"),
        CheckConstraint("second_mentor_id IS NULL OR second_mentor_id <> mentor_id", name="two_mentors"),
        Index("ix_investment_club_status", "club_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("club.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), unique=True)
    #: the ballot that approved the project
    ballot_id: Mapped[int | None] = mapped_column(ForeignKey("ballot.id"))
    #: the enterprise, as the project named it
    name: Mapped[str] = mapped_column(String(120))
    legal_form: Mapped[str] = mapped_column(String(16))
    instrument: Mapped[str] = mapped_column(String(16))
    #: what the club decided to put in, in cents
    amount: Mapped[int] = mapped_column(BigInteger)
    stake_hundredths: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default=InvestmentStatus.ACTIVE)
    #: parrain / marraine: members who follow the enterprise
    mentor_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    second_mentor_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the day of the first payment out; for shares, the IR-PME holding period starts then
    first_paid_on: Mapped[date | None]

    project: Mapped[Project] = relationship(lazy="joined")
    mentor: Mapped[Membership] = relationship(lazy="joined", foreign_keys=[mentor_id])
    second_mentor: Mapped[Membership | None] = relationship(lazy="joined", foreign_keys=[second_mentor_id])


class Disbursement(db.Model):
    """A payment to the enterprise: entered by one officer, approved by another (R11)."""

    __tablename__ = "disbursement"
    __table_args__ = (
        one_of("status", DisbursementStatus),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("approved_by_id IS NULL OR approved_by_id <> entered_by_id", name="two_people"),
        Index("ix_disbursement_club_status", "club_id", "status"),
        Index("ix_disbursement_investment", "investment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("club.id"))
    investment_id: Mapped[int] = mapped_column(ForeignKey("investment.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date]
    bank_reference: Mapped[str] = mapped_column(String(80), default="")
    status: Mapped[str] = mapped_column(String(16), default=DisbursementStatus.PENDING)
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id"))
    approved_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("journal_transaction.id"), unique=True)

    investment: Mapped[Investment] = relationship(lazy="joined")
    entered_by: Mapped[Membership] = relationship(lazy="joined", foreign_keys=[entered_by_id])
    approved_by: Mapped[Membership | None] = relationship(lazy="joined", foreign_keys=[approved_by_id])
