"""The two-person rule (R11) for money leaving the fund: what payments to enterprises and payouts to
members (refunds, parts at dissolution) share. One officer enters, another approves; until then an
officer may withdraw the payment, saying why."""
from __future__ import annotations

from typing import Any

from ..models.base import utcnow
from .audit import record
from .errors import Conflict, _l
from .transitions import move

PENDING, CANCELLED = "pending", "cancelled"


def cancel_pending(user_id: int, club_id: int, payment: Any, reason: str, *, action: str) -> None:
    """Withdraw a payment not yet approved: the commitment goes, the reason stays."""
    if payment.status != PENDING:
        raise Conflict(_l("Only a payment waiting for approval can be cancelled."))
    move(payment, CANCELLED)
    payment.cancelled_at = utcnow()
    payment.cancel_reason = reason
    record(user_id, club_id, action, payment, after={"reason": reason})
