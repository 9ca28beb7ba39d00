"""The treasurer's checks on the books: closed periods, balance assertions, bank statements and their
reconciliation with the journal."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import ClubOwned, club_children, club_fk, one_of, utcnow


class PeriodClose(ClubOwned, db.Model):
    """The books closed through a day (the end of a month or a year). Only ever added."""

    __tablename__ = "period_close"
    __table_args__ = (UniqueConstraint("club_id", "through"),)

    through: Mapped[date]
    closed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(String(300), default="")
    #: the hash chain's head when the books closed (number and hash, printed on the statements), which
    #: ``flask coop check`` compares with the chain; None for the closes made before heads were recorded
    head_seq: Mapped[int | None]
    head_hash: Mapped[str | None] = mapped_column(String(64))

    balances: Mapped[list[ClosingBalance]] = club_children("ClosingBalance", "PeriodClose", "period_close_id",
                                                           lazy="selectin", order_by="ClosingBalance.account_id")


class ClosingBalance(db.Model):
    """What each account held at the end of a closed period."""

    __tablename__ = "closing_balance"

    __table_args__ = (club_fk("period_close_id", "period_close"), club_fk("account_id", "account"))

    period_close_id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("club.id"), primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger)


class YearEnd(ClubOwned, db.Model):
    """A year closed: its result shared into members' capital by one closing entry, and, if it was reopened,
    the reversal of that entry with the reason. Rows are only added, and a reopened row gets its reopening
    once (and an approved one its approval by a general meeting, once); a year closed again has a new row."""

    __tablename__ = "year_end"
    __table_args__ = (
        Index("ix_year_end_club_year", "club_id", "year"),
        UniqueConstraint("club_id", "form_key"),
        UniqueConstraint("transaction_id", "club_id"),
        UniqueConstraint("reopen_transaction_id", "club_id"),
        club_fk("transaction_id", "journal_transaction"),
        club_fk("reopen_transaction_id", "journal_transaction"),
        club_fk("approval_ballot_id", "ballot"),
    )

    year: Mapped[int]
    #: the year's result (income less expenses, gains and losses), in cents: negative for a loss
    result: Mapped[int] = mapped_column(BigInteger)
    #: how it was shared: "days" (paid-in capital × days held) or "year_end" (paid-in capital on 31 December)
    basis: Mapped[str] = mapped_column(String(10))
    #: the closing entry's date: 31 December, or the first open day when the books were closed past it
    closed_on: Mapped[date]
    closed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the closing entry (None when the year had no income nor expense: nothing to share)
    transaction_id: Mapped[int | None] = mapped_column()
    #: the close form's one-time key: the same form sent again finds this row
    form_key: Mapped[str] = mapped_column(String(64))
    reopened_at: Mapped[datetime | None]
    reopened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: the reversal of the closing entry
    reopen_transaction_id: Mapped[int | None] = mapped_column()
    reopen_form_key: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(300))
    #: the general meeting's ballot that approved the accounts of this close (R14)
    approval_ballot_id: Mapped[int | None] = mapped_column()
    approved_at: Mapped[datetime | None]


class AssertionStatus(enum.StrEnum):
    OPEN = "open"  # compared with the books each time it is read
    RESOLVED = "resolved"  # a mismatch the treasurer explained


class BalanceAssertion(ClubOwned, db.Model):
    """"The bank balance on day D is X", as a bank statement says."""

    __tablename__ = "balance_assertion"
    __table_args__ = (
        one_of("status", AssertionStatus),
        Index("ix_balance_assertion_club", "club_id", "stated_on"),
        club_fk("account_id", "account"),
    )

    account_id: Mapped[int] = mapped_column()
    stated_on: Mapped[date]
    #: the balance the statement shows, debit-positive like the account
    expected: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(10), default=AssertionStatus.OPEN)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolution: Mapped[str | None] = mapped_column(String(300))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resolved_at: Mapped[datetime | None]


class BankStatement(ClubOwned, db.Model):
    """A bank statement file the treasurer uploaded; its lines wait to be matched."""

    __tablename__ = "bank_statement"
    __table_args__ = (Index("ix_bank_statement_club", "club_id", "id"),)

    filename: Mapped[str] = mapped_column(String(200), default="")
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_on: Mapped[date | None]
    last_on: Mapped[date | None]
    #: how the file was read: a bank preset's name ("credit-agricole" …), "columns" (chosen by hand), "ofx" …
    layout: Mapped[str] = mapped_column(String(40), default="")
    #: the columns chosen by hand (JSON), remembered for the club's next upload; "" for a preset
    mapping: Mapped[str] = mapped_column(String(300), default="")
    #: the account as the file names it, and its currency when it says
    account: Mapped[str] = mapped_column(String(64), default="")
    currency: Mapped[str | None] = mapped_column(String(3))


class BankLine(ClubOwned, db.Model):
    """One line of a bank statement: positive when money came into the club's account."""

    __tablename__ = "bank_line"
    __table_args__ = (
        UniqueConstraint("club_id", "fingerprint"),
        UniqueConstraint("club_id", "transaction_id"),
        Index("ix_bank_line_club_day", "club_id", "booked_on"),
        Index("ix_bank_line_statement", "statement_id"),
        club_fk("statement_id", "bank_statement"),
        club_fk("transaction_id", "journal_transaction"),
        club_fk("reconciliation_id", "bank_reconciliation"),
    )

    statement_id: Mapped[int] = mapped_column()
    line_no: Mapped[int]
    booked_on: Mapped[date]
    amount: Mapped[int] = mapped_column(BigInteger)
    label: Mapped[str] = mapped_column(String(300), default="")
    #: the day the bank counts the money from, when the file says
    value_on: Mapped[date | None]
    #: the bank's own identifier of the line, when the file gives one
    reference: Mapped[str] = mapped_column(String(100), default="")
    #: the bank's reference when the file gives one, else date, amount, label and rank among identical lines:
    #: the same line uploaded twice is found
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: the journal transaction whose bank posting this line is (matched automatically or by hand)
    transaction_id: Mapped[int | None] = mapped_column()
    matched_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: True when the treasurer matched it by hand
    by_hand: Mapped[bool] = mapped_column(default=False)
    matched_at: Mapped[datetime | None]
    reconciliation_id: Mapped[int | None] = mapped_column()


class BankBalance(ClubOwned, db.Model):
    """A balance a bank file states: at the end of a day (a running balance column's last value that day, a
    "Solde au …" line, a first line's balance). The reconciliation page compares it with the books."""

    __tablename__ = "bank_balance"
    __table_args__ = (Index("ix_bank_balance_club_day", "club_id", "stated_on"),
                      Index("ix_bank_balance_statement", "statement_id"),
                      club_fk("statement_id", "bank_statement"))

    statement_id: Mapped[int] = mapped_column()
    stated_on: Mapped[date]
    #: cents, positive when the account holds money (debit-positive, like the books' bank account)
    amount: Mapped[int] = mapped_column(BigInteger)
    #: "running", "stated", "opening", "closing" (``coop.bankfiles.model.Balance.source``)
    source: Mapped[str] = mapped_column(String(10))


class BankReconciliation(ClubOwned, db.Model):
    """The treasurer marks the bank reconciled through a day: every line up to it matched, and the bank's
    balance that day (when its files state one) the books', or the difference explained."""

    __tablename__ = "bank_reconciliation"
    __table_args__ = (UniqueConstraint("club_id", "through"),)

    through: Mapped[date]
    #: the bank's balance by the statement lines and the books' balance, both at ``through``
    book_balance: Mapped[int] = mapped_column(BigInteger)
    reconciled_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    reconciled_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the bank's balance at ``through`` as its files tell it (None: no file states a balance)
    bank_balance: Mapped[int | None] = mapped_column(BigInteger)
    #: why the bank's balance and the books' differ that day, as the treasurer says ("" when they agree)
    explanation: Mapped[str] = mapped_column(String(300), default="")


class PcgMapping(ClubOwned, db.Model):
    """The treasurer's French chart of accounts (PCG) number and name for one of the club's money accounts, in
    the FEC export: ``pattern`` is an account's code, or ``capital:*`` for every member's capital account (one
    general account, the member as its auxiliary account). Only the rows the treasurer changed are kept; the
    others take their defaults (``coop/services/fec.py``)."""

    __tablename__ = "pcg_mapping"
    __table_args__ = (
        UniqueConstraint("club_id", "pattern"),
        CheckConstraint("length(number) BETWEEN 3 AND 12", name="number_length"),
    )

    pattern: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(12))
    label: Mapped[str] = mapped_column(String(120))
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
