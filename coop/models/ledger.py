"""The double-entry ledger: accounts, transactions, postings.

Transactions and postings are append-only (database triggers, see the
migration that creates them); a mistake is undone by a reversal.
Amounts are integers: cents for money, minutes for time; debit-positive.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import ClubOwned, club_children, club_fk, club_parent, one_of, utcnow


class Unit(enum.StrEnum):
    MONEY = "money"  # cents of the club's currency
    TIME = "time"  # minutes


class AccountType(enum.StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"


class TransactionKind(enum.StrEnum):
    OPENING = "opening"
    CONTRIBUTION = "contribution"
    DISBURSEMENT = "disbursement"
    REPAYMENT = "repayment"
    RETURN = "return"
    FEE = "fee"
    REFUND = "refund"
    DISTRIBUTION = "distribution"
    EXCHANGE = "exchange"
    ADJUSTMENT = "adjustment"
    CLOSING = "closing"  # a dissolving club's result shared into members' capital
    EXIT = "exit"  # a leaver's share valued: from their capital to what the club owes them
    WITHDRAWAL = "withdrawal"  # part of a member's share taken out: from their capital to what the club owes them
    TRANSFER = "transfer"  # a member's share passing to another person: capital to capital, no cash
    REVALUATION = "revaluation"  # an investment at a new value, against its revaluation reserve
    HANDOVER = "handover"  # shares of an investment handed over to a leaver: what the club owes them, settled in kind
    REVERSAL = "reversal"


class Account(ClubOwned, db.Model):
    __tablename__ = "account"
    __table_args__ = (
        UniqueConstraint("club_id", "code"),
        Index("ix_account_club_membership", "club_id", "membership_id"),
        one_of("type", AccountType),
        one_of("unit", Unit),
        CheckConstraint("floor IS NULL OR ceiling IS NULL OR floor <= ceiling", name="limits_ordered"),
        club_fk("membership_id", "membership"),
    )

    #: short, stable, unique in the club: "bank", "capital:12", "time:12"
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(12))
    unit: Mapped[str] = mapped_column(String(8))
    membership_id: Mapped[int | None] = mapped_column()
    #: sum of this account's postings, kept by ledger.post() under a row lock
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    #: lowest balance allowed (None: no floor)
    floor: Mapped[int | None] = mapped_column(BigInteger)
    #: highest balance allowed (None: no ceiling)
    ceiling: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Account {self.id} {self.code} {self.balance} {self.unit}>"


class JournalTransaction(ClubOwned, db.Model):
    __tablename__ = "journal_transaction"
    __table_args__ = (
        UniqueConstraint("club_id", "idempotency_key"),
        UniqueConstraint("reverses_id", "club_id"),
        Index("ix_journal_transaction_club_date", "club_id", "occurred_on", "id"),
        Index("ix_journal_transaction_club_seq", "club_id", "seq", unique=True),
        one_of("unit", Unit),
        club_fk("reverses_id", "journal_transaction"),
    )

    unit: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(20))
    memo: Mapped[str] = mapped_column(String(500), default="")
    occurred_on: Mapped[date]
    #: None for postings made by the system itself (demo loading)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: one-time key from the form or caller: a replay finds this row instead of posting again
    idempotency_key: Mapped[str] = mapped_column(String(64))
    #: the transaction this one undoes; unique, so a transaction is reversed at most once
    reverses_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: place in the club's hash chain (1, 2, 3 …) and the chained hash (see coop/chain.py)
    seq: Mapped[int | None]
    hash: Mapped[str | None] = mapped_column(String(64))

    postings: Mapped[list[Posting]] = club_children("Posting", "JournalTransaction", "transaction_id",
                                                    back_populates="transaction", order_by="Posting.id",
                                                    lazy="selectin")


class Posting(ClubOwned, db.Model):
    __tablename__ = "posting"
    __table_args__ = (
        Index("ix_posting_club_account", "club_id", "account_id", "id"),
        Index("ix_posting_transaction", "transaction_id"),
        CheckConstraint("amount <> 0", name="amount_nonzero"),
        club_fk("transaction_id", "journal_transaction"),
        club_fk("account_id", "account"),
    )

    transaction_id: Mapped[int] = mapped_column()
    account_id: Mapped[int] = mapped_column()
    #: > 0 debit, < 0 credit
    amount: Mapped[int] = mapped_column(BigInteger)

    transaction: Mapped[JournalTransaction] = club_parent("JournalTransaction", "Posting", "transaction_id",
                                                          back_populates="postings")
    account: Mapped[Account] = club_parent("Account", "Posting", "account_id", lazy="joined")


class LedgerHead(db.Model):
    """Per club: the end of the hash chain, and the last day of the closed periods.

    Every posting locks this row first, so a club's transactions take their
    place in the chain one at a time (and before any account lock: no deadlock)."""

    __tablename__ = "ledger_head"

    club_id: Mapped[int] = mapped_column(ForeignKey("club.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64))
    #: no posting may be dated on or before this day (period close)
    closed_through: Mapped[date | None]
