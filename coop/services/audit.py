"""The audit log: every state change says who, when, what."""
from __future__ import annotations

from typing import Any

from ..extensions import db
from ..models import AuditEntry


def record(
    actor_id: int | None,
    club_id: int | None,
    action: str,
    obj: Any,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry to the current unit of work (it commits or rolls back with it)."""
    if obj is not None and getattr(obj, "id", 0) is None:
        db.session.flush()
    entry = AuditEntry(
        club_id=club_id,
        actor_id=actor_id,
        action=action,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=getattr(obj, "id", None),
        before=_plain(before),
        after=_plain(after),
    )
    db.session.add(entry)
    return entry


def _plain(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: (v if v is None or isinstance(v, (bool, int, str)) else str(v)) for k, v in values.items()}
