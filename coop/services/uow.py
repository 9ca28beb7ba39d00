"""One use case, one database transaction: commit on success, roll back on
any error. Nested calls join the outer unit."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from ..database import IMMEDIATE
from ..extensions import db

_DEPTH = "coop_uow_depth"
_AFTER = "coop_uow_after_commit"
_KEPT = "coop_uow_kept"


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
    session.info[_AFTER] = []
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        session.info[_AFTER] = []
        raise
    finally:
        session.info[_DEPTH] = 0
        session.info.pop(_KEPT, None)
    for callback in session.info.pop(_AFTER, []):
        callback()


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the current unit of work has committed (never if it rolls back): mail is sent
    about what is really recorded."""
    session = db.session()
    if not session.info.get(_DEPTH):
        raise RuntimeError("after_commit outside a unit of work")
    session.info.setdefault(_AFTER, []).append(callback)


def kept_for_unit(session: Session | None = None) -> dict | None:
    """What the current unit of work keeps until it ends, shared by its nested calls (the rows it has locked:
    ``rows.held``); None outside a unit."""
    if session is None:
        session = db.session()
    if not session.info.get(_DEPTH):
        return None
    return session.info.setdefault(_KEPT, {})


def is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"
