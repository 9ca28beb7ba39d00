"""What every reader of a bank file gives: the statement's lines and the balances it states, in cents,
whatever the file's format (a bank's CSV export, OFX, ISO 20022 CAMT.053).

A reader refuses a file it cannot read whole with ``InvalidInput`` (field ``file``), its message naming
the line of the file (CSV: the physical line; XML and OFX: the entry's position) and what is wrong."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Line:
    #: CSV: the physical line of the file the row starts on (1 = the first); OFX, CAMT: the entry's rank (1 = first)
    line_no: int
    booked_on: date
    #: cents; positive when money came into the club's account
    amount: int
    #: what the bank says of it, on one line (the fullest text the file gives: a detail column over a short label)
    label: str
    value_on: date | None = None
    #: the bank's own identifier of the entry when the file has one (OFX FITID, CAMT AcctSvcrRef or
    #: NtryRef); when present, it is what tells a line uploaded twice
    reference: str = ""
    #: the account's balance after this line, when the file states it (a running balance column)
    balance_after: int | None = None


@dataclass(frozen=True)
class Balance:
    """The account's balance in cents at the end of day ``on``, as the file states it (an opening balance
    is the balance at the end of the day before)."""

    on: date
    amount: int
    #: where the file says it: "opening", "closing", "running" (a line's running balance), "stated" (a
    #: "Solde au …" line of a preamble or trailer)
    source: str


@dataclass
class Statement:
    lines: list[Line]
    balances: list[Balance] = field(default_factory=list)
    #: ISO 4217 code when the file says it ("EUR", "CAD"), else None
    currency: str | None = None
    #: the account as the file names it (IBAN, account number), "" if it does not
    account: str = ""
    #: how it was read: "ofx", "camt.053", a bank preset's name, or "columns" (chosen by hand)
    layout: str = ""
