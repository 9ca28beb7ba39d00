"""The two-person rule (R11): what payments to enterprises, payouts to members (refunds, parts at dissolution)
and revaluations of investments share. One officer enters, another approves; until then an officer may
withdraw the entry, saying why."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..models.base import utcnow
from . import access
from .audit import record
from .errors import Conflict, RuleViolation, _l
from .transitions import move
from .uow import unit_of_work
from .validate import one_line

PENDING, APPROVED, CANCELLED = "pending", "approved", "cancelled"


@dataclass(frozen=True)
class Words:
    """The refusals, in the words of what is signed off."""

    approved: Any
    cancelled: Any
    second_officer: Any
    not_pending: Any


PAYMENT = Words(
    approved=_l("This payment is already approved."),
    cancelled=_l("This payment was cancelled."),
    second_officer=_l("A second officer approves a payment: not the one who entered it."),
    not_pending=_l("Only a payment waiting for approval can be cancelled."),
)
REVALUATION = Words(
    approved=_l("This revaluation is already approved."),
    cancelled=_l("This revaluation was cancelled."),
    second_officer=_l("A second officer approves a revaluation: not the one who entered it."),
    not_pending=_l("Only a revaluation waiting for approval can be cancelled."),
)


def check_approvable(payment: Any, officer: Any, words: Words = PAYMENT) -> None:
    """What every approval checks first: the entry still waits, and the approver is a second officer (R11)."""
    if payment.status == APPROVED:
        raise Conflict(words.approved)
    if payment.status != PENDING:
        raise Conflict(words.cancelled)
    if payment.entered_by_id == officer.id:
        raise RuleViolation(words.second_officer, rule="R11")


def mark_approved(payment: Any, officer: Any, transaction_id: int) -> None:
    """The entry is approved by ``officer`` and posted as ``transaction_id``."""
    move(payment, APPROVED)
    payment.approved_by_id = officer.id
    payment.approved_at = utcnow()
    payment.transaction_id = transaction_id


def cancel(user_id: int, club_id: int, find: Callable[[], Any], reason: str, *, action: str,
           words: Words = PAYMENT) -> Any:
    """An officer withdraws the entry ``find()`` gives (this club's, locked), not yet approved, with a
    reason: the commitment goes, the reason stays."""
    reason = one_line(reason, "reason", maximum=300)
    with unit_of_work():
        access.officer(user_id, club_id)
        payment = find()
        if payment.status != PENDING:
            raise Conflict(words.not_pending)
        move(payment, CANCELLED)
        payment.cancelled_at = utcnow()
        payment.cancel_reason = reason
        record(user_id, club_id, action, payment, after={"reason": reason})
        return payment
