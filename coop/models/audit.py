"""Who changed what, when. Written by services in the same transaction as the change."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import utcnow

#: The club_id of what belongs to no club (a person's registration, a club still being created): no club has it.
OUTSIDE_CLUBS = 0


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_club_time", "club_id", "created_at"),
        Index("ix_audit_entry_actor", "actor_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    #: OUTSIDE_CLUBS for changes outside any club (registration, password): a key, not a reference to a club,
    #: so that the log is distributed by club like the rest (docs/scaling.md)
    club_id: Mapped[int] = mapped_column(primary_key=True)
    #: None when the system acted (demo loading, expiry jobs)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UsedFormKey(db.Model):
    """One-time keys of forms that create things, so a replayed form writes nothing."""

    __tablename__ = "used_form_key"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: the club the form writes to (OUTSIDE_CLUBS for a club being created): the key is spent there
    club_id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    used_at: Mapped[datetime] = mapped_column(default=utcnow)
