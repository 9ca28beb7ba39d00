"""One use case, one database transaction: commit on success, roll back on
any error. Nested calls join the outer unit."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import bindparam, event, insert, inspect, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from ..database import IMMEDIATE
from ..extensions import db

_DEPTH = "coop_uow_depth"
_AFTER = "coop_uow_after_commit"
_CACHE = "coop_uow_cache"
_WRITTEN = "coop_uow_written"


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
        session.info.pop(_CACHE, None)
    for callback in session.info.pop(_AFTER, []):
        callback()


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the current unit of work has committed (never if it rolls back): mail is sent
    about what is really recorded."""
    session = db.session()
    if not session.info.get(_DEPTH):
        raise RuntimeError("after_commit outside a unit of work")
    session.info.setdefault(_AFTER, []).append(callback)


def held() -> dict | None:
    """What the current unit of work has locked (and may reuse until it ends); None outside a unit."""
    session = db.session()
    if not session.info.get(_DEPTH):
        return None
    return session.info.setdefault(_CACHE, {})


def is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def insert_now(obj: Any) -> Any:
    """Write a new row at once with one prepared insert and keep ``obj`` in the session as persistent and fully
    loaded (every column read back): the recording hot paths' rows, without the flush machinery.

    ``obj`` must be new (not yet added to the session). Columns are taken as set on the object: foreign keys
    by id, since relationships are not synced here; the ones left unset get their defaults. After a rollback
    the object is gone from the session: use its values only if the unit of work commits."""
    session = db.session()
    state = inspect(obj)
    if not state.transient:
        raise RuntimeError("insert_now takes a new object that the session does not know yet")
    table = state.mapper.local_table
    values = {prop.columns[0].key: state.dict[prop.key] for prop in state.mapper.column_attrs if prop.key in state.dict}
    row = session.connection().execute(_inserts(table), values).one()
    for prop in state.mapper.column_attrs:
        set_committed_value(obj, prop.key, row._mapping[prop.columns[0]])
    attach_written(obj)
    return obj


def attach_written(obj: Any) -> None:
    """Make ``obj``, whose row this transaction has just written, a persistent object of the session.

    The session did not write it, so a rollback would not forget it by itself: it is forgotten when the
    transaction (or savepoint) that wrote it rolls back, since SQLite may give its id to the next row."""
    session = db.session()
    make_transient_to_detached(obj)
    session.add(obj)
    _remember_written(session, obj, inserted=True)


def _remember_written(session: Session, obj: Any, *, inserted: bool) -> None:
    writer = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_WRITTEN, []).append((writer, obj, inserted))


@event.listens_for(Session, "after_soft_rollback")
def _forget_written(session: Session, rolled_back) -> None:
    # What was locked and moved in memory (chain heads, balances) is read again, and locked again: a savepoint
    # rolled back on PostgreSQL releases the locks it took.
    locked = session.info.pop(_CACHE, None) or {}
    for held_objects in locked.values():
        for obj in held_objects.values():
            if obj in session:
                session.expire(obj)
    kept = []
    for writer, obj, inserted in session.info.get(_WRITTEN, ()):
        outer = writer
        while outer is not None and outer is not rolled_back:
            outer = outer.parent
        if outer is None:
            kept.append((writer, obj, inserted))
        elif obj in session:
            if inserted:
                session.expunge(obj)
            else:  # its row is back to what it was: read it again
                session.expire(obj)
    session.info[_WRITTEN] = kept


@event.listens_for(Session, "after_commit")
def _written_for_good(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


def update_now(obj: Any, **values: Any) -> None:
    """Write these columns of a persistent row at once (one statement) and keep ``obj`` in step with them
    (read again if the transaction or savepoint that wrote them rolls back)."""
    session = db.session()
    table = inspect(obj).mapper.local_table
    params = {"row_id": obj.id, **{f"new_{column}": value for column, value in values.items()}}
    session.connection().execute(_updates(table, tuple(sorted(values))), params)
    for key, value in values.items():
        set_committed_value(obj, key, value)
    _remember_written(session, obj, inserted=False)


@cache
def _updates(table, columns: tuple[str, ...]):
    return update(table).where(table.c.id == bindparam("row_id")).values({c: bindparam(f"new_{c}") for c in columns})


@cache
def _inserts(table):
    return insert(table).returning(*table.c)
