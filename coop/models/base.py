"""Shared column helpers for the typed models."""
from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import CheckConstraint


def utcnow() -> datetime:
    """Naive UTC, the same on SQLite and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)


def one_of(column: str, choices: type[enum.StrEnum], name: str | None = None) -> CheckConstraint:
    values = ", ".join(f"'{c.value}'" for c in choices)
    return CheckConstraint(f"{column} IN ({values})", name=name or f"{column}_valid")
