"""The two-person rule (R11) for money leaving the fund: what payments to enterprises and payouts to
members (refunds, parts at dissolution) share. One officer enters, another approves; until then an
officer may withdraw the payment, saying why."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..models.base import utcnow
from . import access
from .audit import record
from .errors import Conflict, RuleViolation, _l
from .transitions import move
from .uow import unit_of_work
from .validate import one_line

PENDING, APPROVED, CANCELLED = "pending", "approved", "cancelled"


def check_approvable(payment: Any, officer: Any) -> None:
    """What every approval checks first: the payment still waits, and the approver is a second officer (R11)."""
    if payment.status == APPROVED:
        raise Conflict(_l("This payment is already approved."))
    if payment.status != PENDING:
        raise Conflict(_l("This payment was cancelled."))
    if payment.entered_by_id == officer.id:
        raise RuleViolation(_l("A second officer approves a payment: not the one who entered it."), rule="R11")


def mark_approved(payment: Any, officer: Any, transaction_id: int) -> None:
    """The payment is approved by ``officer`` and posted as ``transaction_id``."""
    move(payment, APPROVED)
    payment.approved_by_id = officer.id
    payment.approved_at = utcnow()
    payment.transaction_id = transaction_id


def cancel(user_id: int, club_id: int, find: Callable[[], Any], reason: str, *, action: str) -> Any:
    """An officer withdraws the payment ``find()`` gives (this club's, locked), not yet approved, with a
    reason: the commitment goes, the reason stays."""
    reason = one_line(reason, "reason", maximum=300)
    with unit_of_work():
        access.officer(user_id, club_id)
        payment = find()
        if payment.status != PENDING:
            raise Conflict(_l("Only a payment waiting for approval can be cancelled."))
        move(payment, CANCELLED)
        payment.cancelled_at = utcnow()
        payment.cancel_reason = reason
        record(user_id, club_id, action, payment, after={"reason": reason})
        return payment
