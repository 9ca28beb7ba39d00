"""The audit log: every state change says who, when, what."""
from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from ..extensions import db
from ..models import AuditEntry
from ..models.audit import OUTSIDE_CLUBS
from ..models.base import utcnow


def record(
    actor_id: int | None,
    club_id: int | None,
    action: str,
    obj: Any,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Write an entry in the current unit of work (it commits or rolls back with it).

    One prepared insert on the unit's connection: every recording writes an entry, and nothing reads it back
    in the same unit."""
    if obj is not None and getattr(obj, "id", 0) is None:
        db.session.flush()
    db.session.connection().execute(_INSERT, {
        "club_id": OUTSIDE_CLUBS if club_id is None else club_id,
        "actor_id": actor_id,
        "action": action,
        "object_type": type(obj).__name__ if obj is not None else "",
        "object_id": getattr(obj, "id", None),
        "before": _plain(before),
        "after": _plain(after),
        "created_at": utcnow(),
    })


_INSERT = insert(AuditEntry.__table__)


def _plain(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: (v if v is None or isinstance(v, (bool, int, str)) else str(v)) for k, v in values.items()}
