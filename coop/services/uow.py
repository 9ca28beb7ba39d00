"""One use case, one database transaction: commit on success, roll back on
any error. Nested calls join the outer unit."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from ..database import IMMEDIATE
from ..extensions import db

_DEPTH = "coop_uow_depth"


@contextmanager
def unit_of_work() -> Iterator[Session]:
    session = db.session()
    depth = session.info.get(_DEPTH, 0)
    if depth:
        session.info[_DEPTH] = depth + 1
        try:
            yield session
        finally:
            session.info[_DEPTH] = depth
        return

    if session.new or session.dirty or session.deleted:
        raise RuntimeError("changes were made outside a unit of work")
    # End the read snapshot a request may hold, so the write starts fresh
    # (and on SQLite takes the write lock first).
    if session.in_transaction():
        session.rollback()
    if session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={IMMEDIATE: True})
    session.info[_DEPTH] = 1
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info[_DEPTH] = 0


def is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"
