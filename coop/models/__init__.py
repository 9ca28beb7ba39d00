"""Typed tables. No rules and no commits here: see ``coop.services``."""
from .audit import AuditEntry, UsedFormKey
from .club import (
    OFFICER_ROLES,
    Charter,
    Club,
    ClubStatus,
    Currency,
    Invitation,
    Membership,
    MemberStatus,
    Role,
    Threshold,
)
from .fund import Contribution, ContributionSource, PaymentMethod, Pledge, Rhythm
from .ledger import Account, AccountType, JournalTransaction, Posting, TransactionKind, Unit
from .user import User

__all__ = [
    "OFFICER_ROLES",
    "Account",
    "AccountType",
    "AuditEntry",
    "Charter",
    "Club",
    "Contribution",
    "ContributionSource",
    "ClubStatus",
    "Currency",
    "Invitation",
    "JournalTransaction",
    "MemberStatus",
    "Membership",
    "PaymentMethod",
    "Pledge",
    "Posting",
    "Rhythm",
    "Role",
    "Threshold",
    "TransactionKind",
    "Unit",
    "UsedFormKey",
    "User",
]
