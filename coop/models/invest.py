"""The club's investments in the projects members approved, and the
payments that fund them (R10, R11).

An investment has its own asset account (``investment:<id>``) in the
ledger: payments out debit it, repayments credit it. A disbursement is
entered by one officer and approved by another; until approved it is a
commitment that lowers the cash available. A revaluation records the
investment at a new value, the same way (entered by one officer, approved
by another), against its revaluation reserve (``revaluation:<id>``)."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import ClubOwned, club_fk, club_parent, one_of, utcnow
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


class RevaluationStatus(enum.StrEnum):
    PENDING = "pending"  # entered, waiting for a second officer
    APPROVED = "approved"  # posted to the ledger
    CANCELLED = "cancelled"


class Frequency(enum.StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class EventKind(enum.StrEnum):
    REPAYMENT = "repayment"  # principal back, with its interest
    RETURN = "return"  # dividends or interest alone
    SALE = "sale"  # shares sold, in part or in whole
    WRITE_OFF = "write_off"  # what is left is lost
    HANDOVER = "handover"  # shares handed over to a leaver in payment of their share, as if sold to them (R13)


class Investment(ClubOwned, db.Model):
    __tablename__ = "investment"
    __table_args__ = (
        one_of("status", InvestmentStatus),
        one_of("instrument", Instrument),
        one_of("legal_form", LegalForm),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("stake_hundredths IS NULL OR (stake_hundredths > 0 AND stake_hundredths <= 10000)",
                        name="stake_range"),
        CheckConstraint("second_mentor_id IS NULL OR second_mentor_id <> mentor_id", name="two_mentors"),
        one_of("frequency", Frequency),
        CheckConstraint("rate_basis_points IS NULL OR rate_basis_points BETWEEN 0 AND 5000", name="rate_range"),
        CheckConstraint("term_periods IS NULL OR term_periods BETWEEN 1 AND 240", name="term_range"),
        Index("ix_investment_club_status", "club_id", "status"),
        club_fk("project_id", "project"),
        UniqueConstraint("project_id", "club_id"),
        club_fk("ballot_id", "ballot"),
        club_fk("mentor_id", "membership"),
        club_fk("second_mentor_id", "membership"),
        club_fk("account_id", "account"),
        UniqueConstraint("account_id", "club_id"),
    )

    project_id: Mapped[int] = mapped_column()
    #: the ballot that approved the project
    ballot_id: Mapped[int | None] = mapped_column()
    #: the enterprise, as the project named it
    name: Mapped[str] = mapped_column(String(120))
    legal_form: Mapped[str] = mapped_column(String(16))
    instrument: Mapped[str] = mapped_column(String(16))
    #: what the club decided to put in, in cents
    amount: Mapped[int] = mapped_column(BigInteger)
    stake_hundredths: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default=InvestmentStatus.ACTIVE)
    #: parrain / marraine: members who follow the enterprise
    mentor_id: Mapped[int] = mapped_column()
    second_mentor_id: Mapped[int | None] = mapped_column()
    account_id: Mapped[int] = mapped_column()
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the day of the first payment out; for shares, the IR-PME holding period starts then
    first_paid_on: Mapped[date | None]
    # A loan's terms (loans and current-account loans): equal principal each period, interest on what is owed.
    rate_basis_points: Mapped[int | None]  # yearly interest, 250 = 2.50 %
    term_periods: Mapped[int | None]
    frequency: Mapped[str | None] = mapped_column(String(10))
    first_due_on: Mapped[date | None]
    ended_on: Mapped[date | None]
    end_reason: Mapped[str | None] = mapped_column(String(300))

    project: Mapped[Project] = club_parent("Project", "Investment", "project_id", lazy="joined")
    mentor: Mapped[Membership] = club_parent("Membership", "Investment", "mentor_id", lazy="joined")
    second_mentor: Mapped[Membership | None] = club_parent("Membership", "Investment", "second_mentor_id", lazy="joined")


class Disbursement(ClubOwned, db.Model):
    """A payment to the enterprise: entered by one officer, approved by another (R11)."""

    __tablename__ = "disbursement"
    __table_args__ = (
        one_of("status", DisbursementStatus),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("approved_by_id IS NULL OR approved_by_id <> entered_by_id", name="two_people"),
        Index("ix_disbursement_club_status", "club_id", "status"),
        Index("ix_disbursement_investment", "investment_id"),
        club_fk("investment_id", "investment"),
        club_fk("entered_by_id", "membership"),
        club_fk("approved_by_id", "membership"),
        club_fk("transaction_id", "journal_transaction"),
        UniqueConstraint("transaction_id", "club_id"),
    )

    investment_id: Mapped[int] = mapped_column()
    amount: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date]
    bank_reference: Mapped[str] = mapped_column(String(80), default="")
    status: Mapped[str] = mapped_column(String(16), default=DisbursementStatus.PENDING)
    entered_by_id: Mapped[int] = mapped_column()
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column()
    approved_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    transaction_id: Mapped[int | None] = mapped_column()

    investment: Mapped[Investment] = club_parent("Investment", "Disbursement", "investment_id", lazy="joined")
    entered_by: Mapped[Membership] = club_parent("Membership", "Disbursement", "entered_by_id", lazy="joined")
    approved_by: Mapped[Membership | None] = club_parent("Membership", "Disbursement", "approved_by_id", lazy="joined")


class InvestmentEvent(ClubOwned, db.Model):
    """Money coming back, or lost: one ledger transaction each.

    ``book`` lowers the investment's account (principal repaid, the cost of
    shares sold, what is written off); ``income`` is interest, dividends or a
    gain on a sale; ``loss`` a loss on a sale or a write-off; ``cash`` what
    reached the bank, or for a hand-over (``handover``) what the shares handed
    to a leaver settle of the club's debt to them (``payable``), in place of
    cash. cash + loss = book + income. Book, income and loss are
    measured at cost, as if the investment had never been revalued; what a
    revaluation added to (or took from) the part that leaves the books is
    ``revalued``: it leaves the investment's account with ``book`` and its
    revaluation reserve with it, so the gain or loss reaches the result."""

    __tablename__ = "investment_event"
    __table_args__ = (
        one_of("kind", EventKind),
        CheckConstraint("book >= 0 AND income >= 0 AND loss >= 0 AND cash >= 0", name="amounts_positive"),
        CheckConstraint("cash + loss = book + income", name="balanced"),
        Index("ix_investment_event_investment", "investment_id", "occurred_on"),
        Index("ix_investment_event_club", "club_id", "occurred_on"),
        club_fk("investment_id", "investment"),
        club_fk("ballot_id", "ballot"),
        club_fk("transaction_id", "journal_transaction"),
        UniqueConstraint("transaction_id", "club_id"),
    )

    investment_id: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(16))
    occurred_on: Mapped[date]
    book: Mapped[int] = mapped_column(BigInteger, default=0)
    income: Mapped[int] = mapped_column(BigInteger, default=0)
    loss: Mapped[int] = mapped_column(BigInteger, default=0)
    #: what reached the bank; for a hand-over, what the shares settle of the club's debt to the leaver, in place of cash
    cash: Mapped[int] = mapped_column(BigInteger, default=0)
    #: the revaluation leaving the books with ``book`` (a rise positive, a fall negative): the investment's account
    #: falls by book + revalued, its revaluation reserve moves by as much as the revaluation did
    revalued: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: a sale or a hand-over: the stake that left, in hundredths of a percent of the enterprise
    stake_sold_hundredths: Mapped[int | None]
    #: a sale: the unanimous ballot that allowed it (R7)
    ballot_id: Mapped[int | None] = mapped_column()
    note: Mapped[str] = mapped_column(String(300), default="")
    transaction_id: Mapped[int] = mapped_column()
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InvestmentNote(ClubOwned, db.Model):
    """A mentor's dated news of the enterprise."""

    __tablename__ = "investment_note"
    __table_args__ = (
        Index("ix_investment_note_investment", "investment_id", "written_on"),
        club_fk("investment_id", "investment"),
        club_fk("author_id", "membership"),
    )

    investment_id: Mapped[int] = mapped_column()
    author_id: Mapped[int] = mapped_column()
    written_on: Mapped[date]
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[Membership] = club_parent("Membership", "InvestmentNote", "author_id", lazy="joined")


class Revaluation(ClubOwned, db.Model):
    """The investment at a new value (the enterprise doing well, or an impairment while it lives): entered by an
    officer who keeps the money, approved by another officer (R11); only then posted, against the investment's
    revaluation reserve."""

    __tablename__ = "revaluation"
    __table_args__ = (
        one_of("status", RevaluationStatus),
        CheckConstraint("value_before >= 0 AND new_value >= 0 AND new_value <= 10000000000", name="values_range"),
        CheckConstraint("new_value <> value_before", name="changes_value"),
        CheckConstraint("approved_by_id IS NULL OR approved_by_id <> entered_by_id", name="two_people"),
        UniqueConstraint("club_id", "form_key"),
        UniqueConstraint("transaction_id", "club_id"),
        Index("ix_revaluation_club_status", "club_id", "status"),
        Index("ix_revaluation_investment", "investment_id", "valued_on"),
        club_fk("investment_id", "investment"),
        club_fk("entered_by_id", "membership"),
        club_fk("approved_by_id", "membership"),
        club_fk("transaction_id", "journal_transaction"),
    )

    investment_id: Mapped[int] = mapped_column()
    #: the investment's account when the revaluation was entered: approval is refused if it moved since
    value_before: Mapped[int] = mapped_column(BigInteger)
    new_value: Mapped[int] = mapped_column(BigInteger)
    valued_on: Mapped[date]
    reason: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default=RevaluationStatus.PENDING)
    #: the entry form's one-time key: a replayed form returns the first revaluation
    form_key: Mapped[str] = mapped_column(String(64))
    entered_by_id: Mapped[int] = mapped_column()
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column()
    approved_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    transaction_id: Mapped[int | None] = mapped_column()

    investment: Mapped[Investment] = club_parent("Investment", "Revaluation", "investment_id", lazy="joined")
    entered_by: Mapped[Membership] = club_parent("Membership", "Revaluation", "entered_by_id", lazy="joined")
    approved_by: Mapped[Membership | None] = club_parent("Membership", "Revaluation", "approved_by_id", lazy="joined")

    @property
    def change(self) -> int:
        """What the revaluation adds to the investment's value (negative: takes from it)."""
        return self.new_value - self.value_before
