"""People who log in. A person may belong to several clubs."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, true
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import utcnow


class User(db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stored lower-cased, so uniqueness is case-insensitive
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(5), default="fr")
    #: what the login cookie carries; replaced at logout and password change
    session_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: which notifications the person wants by email
    notify_ballots: Mapped[bool] = mapped_column(default=True, server_default=true())
    notify_exchanges: Mapped[bool] = mapped_column(default=True, server_default=true())
    notify_contributions: Mapped[bool] = mapped_column(default=True, server_default=true())

    # Flask-Login protocol; every User that exists can log in.
    is_active = True
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.session_token

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class PasswordReset(db.Model):
    """A one-time link to choose a new password: only its SHA-256 is kept; it expires."""

    __tablename__ = "password_reset"
    __table_args__ = (Index("ix_password_reset_user", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class RateCount(db.Model):
    """One rate limit's count for one key (an address, a person, an account) in its current window: kept in
    the database so that every worker and every machine counts together (``coop/ratelimit.py``)."""

    __tablename__ = "rate_count"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int]
    #: when the window ends, in seconds since the epoch
    expires_at: Mapped[float]
