"""Personal access tokens for the JSON API (/api/v1): a member's key to one club, to read or to write.

The secret is shown once, when the token is made; only its SHA-256 digest is kept (``secret_hash``), with a short
non-secret ``prefix`` so that the member can tell their tokens apart in the list."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import ClubOwned, club_fk, club_parent, one_of, utcnow

if TYPE_CHECKING:
    from .club import Membership


class TokenScope(enum.StrEnum):
    READ = "read"  # GET only
    WRITE = "write"  # GET and the writes the owner may make on the pages


class ApiToken(ClubOwned, db.Model):
    """A member's personal access token to one club's API."""

    __tablename__ = "api_token"
    __table_args__ = (
        one_of("scope", TokenScope),
        CheckConstraint("length(secret_hash) = 64", name="secret_hash_length"),
        club_fk("membership_id", "membership"),
        club_fk("revoked_by_id", "membership"),
        #: the API finds a token by its club (which the secret names) and digest, on the club's node
        UniqueConstraint("club_id", "secret_hash"),
        Index("ix_api_token_membership", "club_id", "membership_id"),
    )

    #: the owner: the token acts as this member, with whatever role they hold when it is used
    membership_id: Mapped[int]
    name: Mapped[str] = mapped_column(String(80))
    scope: Mapped[str] = mapped_column(String(8))
    #: the secret's first characters, not enough to guess it: how the owner recognises it in the list
    prefix: Mapped[str] = mapped_column(String(24))
    #: hex SHA-256 of the whole secret (a 256-bit random value needs no slow hash: nothing to guess)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: None: no expiry; else the token stops working at this moment (naive UTC)
    expires_at: Mapped[datetime | None]
    #: updated at most once a minute, so that reading through the API does not write on every call
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None]

    membership: Mapped[Membership] = club_parent("Membership", "ApiToken", "membership_id", lazy="joined")
