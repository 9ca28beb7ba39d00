"""Pooled savings: members' pledges and the contributions the treasurer records.

A contribution is one row here plus one ledger transaction (bank debited,
the member's capital credited). Neither is ever changed: a mistake is undone
by reversing the transaction."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import ClubOwned, club_children, club_fk, club_parent, one_of, utcnow
from .club import Membership
from .ledger import JournalTransaction

if TYPE_CHECKING:
    from .invest import Investment


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


class Pledge(ClubOwned, db.Model):
    """What a member commits to pay each month. A change adds a row; the one
    in force on a date is the latest whose month has started."""

    __tablename__ = "pledge"
    __table_args__ = (
        Index("ix_pledge_club_member", "club_id", "membership_id", "effective_from", "id"),
        CheckConstraint("monthly_amount > 0", name="amount_positive"),
        one_of("rhythm", Rhythm),
        club_fk("membership_id", "membership"),
    )

    membership_id: Mapped[int] = mapped_column()
    #: cents a month, whatever the rhythm of payment
    monthly_amount: Mapped[int] = mapped_column(BigInteger)
    rhythm: Mapped[str] = mapped_column(String(10), default=Rhythm.MONTHLY)
    #: the first day of the month from which this pledge applies
    effective_from: Mapped[date]
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Contribution(ClubOwned, db.Model):
    __tablename__ = "contribution"
    __table_args__ = (
        Index("ix_contribution_club_member", "club_id", "membership_id", "received_on"),
        Index("ix_contribution_club_date", "club_id", "received_on"),
        UniqueConstraint("transaction_id", "club_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
        one_of("method", PaymentMethod),
        one_of("source", ContributionSource),
        club_fk("membership_id", "membership"),
        club_fk("transaction_id", "journal_transaction"),
    )

    membership_id: Mapped[int] = mapped_column()
    #: cents received
    amount: Mapped[int] = mapped_column(BigInteger)
    received_on: Mapped[date]
    method: Mapped[str] = mapped_column(String(10))
    bank_reference: Mapped[str] = mapped_column(String(80), default="")
    source: Mapped[str] = mapped_column(String(10), default=ContributionSource.FORM)
    #: the ledger transaction that posted it (bank debited, capital credited)
    transaction_id: Mapped[int] = mapped_column()
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    transaction: Mapped[JournalTransaction] = club_parent("JournalTransaction", "Contribution", "transaction_id", lazy="joined")


class PayoutKind(enum.StrEnum):
    REFUND = "refund"  # to a member who left (R13)
    DISTRIBUTION = "distribution"  # a member's part of a dissolving club's net assets (R13)
    WITHDRAWAL = "withdrawal"  # part of a member's share, where the charter allows it
    IN_KIND = "in_kind"  # a leaver paid with part of the club's shares in an enterprise, where the charter allows it


class PayoutStatus(enum.StrEnum):
    PENDING = "pending"  # entered, waiting for a second officer: a commitment
    APPROVED = "approved"  # posted to the ledger
    CANCELLED = "cancelled"


class Payout(ClubOwned, db.Model):
    """Money paid back to a member: entered by one officer, approved by another, posted only then (R11),
    as a payment to an enterprise is (``Disbursement``). Where the charter allows it, a leaver may be paid in
    kind: part of the club's shares in an enterprise handed over instead of cash (``in_kind``)."""

    __tablename__ = "payout"
    __table_args__ = (
        one_of("kind", PayoutKind),
        one_of("status", PayoutStatus),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("approved_by_id IS NULL OR approved_by_id <> entered_by_id", name="two_people"),
        CheckConstraint("(kind = 'in_kind' AND investment_id IS NOT NULL AND stake_hundredths IS NOT NULL) OR "
                        "(kind <> 'in_kind' AND investment_id IS NULL AND stake_hundredths IS NULL)",
                        name="shares_in_kind"),
        CheckConstraint("stake_hundredths IS NULL OR stake_hundredths BETWEEN 1 AND 10000", name="stake_range"),
        UniqueConstraint("club_id", "form_key"),
        UniqueConstraint("transaction_id", "club_id"),
        Index("ix_payout_club_status", "club_id", "status"),
        club_fk("membership_id", "membership"),
        club_fk("investment_id", "investment"),
        club_fk("entered_by_id", "membership"),
        club_fk("approved_by_id", "membership"),
        club_fk("transaction_id", "journal_transaction"),
    )

    #: the member paid
    membership_id: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(16))
    #: cents; paid in kind, what the shares handed over are worth (the investment's value recorded, pro rata)
    amount: Mapped[int] = mapped_column(BigInteger)
    #: paid in kind: the investment whose shares are handed over, and the stake (hundredths of a percent)
    investment_id: Mapped[int | None] = mapped_column()
    stake_hundredths: Mapped[int | None]
    memo: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default=PayoutStatus.PENDING)
    #: the entry form's one-time key: a replayed form returns the first payout
    form_key: Mapped[str] = mapped_column(String(64))
    entered_by_id: Mapped[int] = mapped_column()
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column()
    approved_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    transaction_id: Mapped[int | None] = mapped_column()

    membership: Mapped[Membership] = club_parent("Membership", "Payout", "membership_id", lazy="joined")
    entered_by: Mapped[Membership] = club_parent("Membership", "Payout", "entered_by_id", lazy="joined")
    investment: Mapped[Investment | None] = club_parent("Investment", "Payout", "investment_id", lazy="joined")


class ExitValuation(ClubOwned, db.Model):
    """A leaver's share valued once their notice has run (R13): what the club then owes them, fixed, paid in
    one or several payouts. The ledger transaction moves their capital to ``payable:<membership>``."""

    __tablename__ = "exit_valuation"
    __table_args__ = (
        UniqueConstraint("club_id", "membership_id"),
        UniqueConstraint("club_id", "form_key"),
        UniqueConstraint("transaction_id", "club_id"),
        CheckConstraint("value >= 0 AND net_assets >= value", name="value_range"),
        club_fk("membership_id", "membership"),
        club_fk("transaction_id", "journal_transaction"),
        club_fk("valued_by_id", "membership"),
    )

    membership_id: Mapped[int] = mapped_column()
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
    transaction_id: Mapped[int] = mapped_column()
    form_key: Mapped[str] = mapped_column(String(64))
    valued_by_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    membership: Mapped[Membership] = club_parent("Membership", "ExitValuation", "membership_id", lazy="joined")


class TransferReason(enum.StrEnum):
    HEIR = "heir"  # the member died: their share passes to their heirs, no pre-emption
    ASSIGNMENT = "assignment"  # the member sells their share (cession)


class TransferStatus(enum.StrEnum):
    PREEMPTION = "preemption"  # the co-owners may buy first until ``preemption_ends_on`` (C. civ. art. 815-14)
    AWAITING_VOTE = "awaiting_vote"  # no co-owner bought it: the members vote on the newcomer
    IN_VOTE = "in_vote"
    DONE = "done"  # the share passed: posted to the ledger
    REFUSED = "refused"  # the members voted no
    WITHDRAWN = "withdrawn"  # its proposer took it back before a decision
    PREEMPTED = "preempted"  # co-owners bought it first: posted to the ledger, no vote


class ShareTransfer(ClubOwned, db.Model):
    """A member's share of the indivision passing to an assignee or to heirs: with the members' approval (a
    ballot), and for a sale to someone outside the club, after the co-owners' month to buy first."""

    __tablename__ = "share_transfer"
    __table_args__ = (
        one_of("reason", TransferReason),
        one_of("status", TransferStatus),
        CheckConstraint("price IS NULL OR price > 0", name="price_positive"),
        CheckConstraint("(reason = 'assignment') = (price IS NOT NULL)", name="price_for_assignment"),
        CheckConstraint("to_membership_id IS NULL OR to_membership_id <> from_membership_id", name="not_to_self"),
        UniqueConstraint("club_id", "form_key"),
        UniqueConstraint("transaction_id", "club_id"),
        Index("ix_share_transfer_club_status", "club_id", "status"),
        Index("ix_share_transfer_from", "club_id", "from_membership_id"),
        club_fk("from_membership_id", "membership"),
        club_fk("to_membership_id", "membership"),
        club_fk("ballot_id", "ballot"),
        club_fk("created_by_id", "membership"),
        club_fk("transaction_id", "journal_transaction"),
    )

    #: the member whose share passes (the seller, or the deceased)
    from_membership_id: Mapped[int] = mapped_column()
    #: the assignee or heir: a pending membership (asked to join with an invitation) or an active member
    to_membership_id: Mapped[int | None] = mapped_column()
    reason: Mapped[str] = mapped_column(String(16))
    #: cents the assignee pays the seller, outside the club's books; None for heirs
    price: Mapped[int | None] = mapped_column(BigInteger)
    #: the day the co-owners were told the price and terms (a sale to someone outside the club)
    notified_on: Mapped[date | None]
    #: the last day a co-owner may say they buy first: notified_on + one calendar month
    preemption_ends_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16))
    #: the ballot that decides it (the latest, when a vote ended without a decision)
    ballot_id: Mapped[int | None] = mapped_column()
    #: the member who proposed it: the seller, or the officer acting for the heirs
    created_by_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    form_key: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    #: the ledger transaction that moved the capital (done or preempted)
    transaction_id: Mapped[int | None] = mapped_column()

    from_membership: Mapped[Membership] = club_parent("Membership", "ShareTransfer", "from_membership_id", lazy="joined")
    to_membership: Mapped[Membership | None] = club_parent("Membership", "ShareTransfer", "to_membership_id", lazy="joined")
    claims: Mapped[list[PreemptionClaim]] = club_children("PreemptionClaim", "ShareTransfer", "transfer_id",
                                                          back_populates="transfer", order_by="PreemptionClaim.id",
                                                          lazy="selectin")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TRANSFER_STATUSES


#: A transfer not yet decided: one at a time per member.
OPEN_TRANSFER_STATUSES = (TransferStatus.PREEMPTION, TransferStatus.AWAITING_VOTE, TransferStatus.IN_VOTE)


class PreemptionClaim(ClubOwned, db.Model):
    """A co-owner says they buy the share first, at the notified price (art. 815-14): one claim per member."""

    __tablename__ = "preemption_claim"
    __table_args__ = (
        UniqueConstraint("transfer_id", "membership_id", "club_id"),
        club_fk("transfer_id", "share_transfer"),
        club_fk("membership_id", "membership"),
    )

    transfer_id: Mapped[int] = mapped_column()
    membership_id: Mapped[int] = mapped_column()
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)

    transfer: Mapped[ShareTransfer] = club_parent("ShareTransfer", "PreemptionClaim", "transfer_id", back_populates="claims")
    membership: Mapped[Membership] = club_parent("Membership", "PreemptionClaim", "membership_id", lazy="joined")
