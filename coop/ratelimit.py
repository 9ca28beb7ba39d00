"""Rate-limit counts kept in the application's database.

Flask-Limiter's default store (``memory://``) counts in each worker's memory: with four gunicorn workers an
address gets four times its allowance (39 of 60 wrong passwords went through in ten seconds against ten a
minute). Counting in the database needs no other server, works for every worker and machine that share the
database, and is what ``RATELIMIT_STORAGE_URI = "entraide+db://"`` (the default) selects. One count is one
row, moved by one atomic upsert in a transaction of its own, so it never joins or waits for a use case's
unit of work. Fixed windows: the count restarts when its window has ended."""
from __future__ import annotations

import time

from limits.storage import Storage
from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .models import RateCount

_COUNT = RateCount.__table__


class DatabaseStorage(Storage):
    """The ``limits`` storage that Flask-Limiter finds by the scheme ``entraide+db://``."""

    STORAGE_SCHEME = ["entraide+db"]

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
        ended = _COUNT.c.expires_at <= now
        stmt = insert(_COUNT).values(key=key, count=amount, expires_at=now + expiry)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={
            "count": case((ended, amount), else_=_COUNT.c.count + amount),
            "expires_at": case((ended, now + expiry), else_=_COUNT.c.expires_at),
        }).returning(_COUNT.c.count)
        with db.engine.begin() as connection:
            return connection.execute(stmt).scalar_one()

    def get(self, key: str) -> int:
        with db.engine.connect() as connection:
            count = connection.execute(select(_COUNT.c.count).where(
                _COUNT.c.key == key, _COUNT.c.expires_at > time.time())).scalar()
        return count or 0

    def get_expiry(self, key: str) -> float:
        with db.engine.connect() as connection:
            expires_at = connection.execute(select(_COUNT.c.expires_at).where(_COUNT.c.key == key)).scalar()
        return expires_at if expires_at is not None else time.time()

    def clear(self, key: str) -> None:
        with db.engine.begin() as connection:
            connection.execute(delete(_COUNT).where(_COUNT.c.key == key))

    def reset(self) -> int:
        with db.engine.begin() as connection:
            return connection.execute(delete(_COUNT)).rowcount

    def check(self) -> bool:
        try:
            with db.engine.connect() as connection:
                connection.execute(select(func.count()).select_from(_COUNT))
            return True
        except SQLAlchemyError:
            return False
