"""Write one row now: the recording hot paths' rows (postings, exchanges, contributions) go to the database by a
prepared statement on the unit of work's connection, without the ORM's flush, and the session is kept in step
with them, also when the transaction or savepoint that wrote them rolls back. Also the rows a unit of work has
locked, kept for it to reuse until it ends."""
from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import bindparam, event, insert, inspect, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from .uow import kept_for_unit

_HELD = "held"
_WRITTEN = "coop_rows_written"


def held() -> dict | None:
    """What the current unit of work has locked (and may reuse until it ends); None outside a unit."""
    kept = kept_for_unit()
    return None if kept is None else kept.setdefault(_HELD, {})


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
    locked = (kept_for_unit(session) or {}).pop(_HELD, None) or {}
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
    # SQLAlchemy reports a savepoint's release as a commit too: only the outermost commit makes rows final.
    if not session.in_nested_transaction():
        session.info.pop(_WRITTEN, None)


def update_now(obj: Any, **values: Any) -> None:
    """Write these columns of a persistent row at once (one statement) and keep ``obj`` in step with them
    (read again if the transaction or savepoint that wrote them rolls back)."""
    session = db.session()
    table = inspect(obj).mapper.local_table
    params = {"row_id": obj.id, **{f"new_{column}": value for column, value in values.items()}}
    if "club_id" in table.c:  # a club's row is found by its whole key (on Citus, one node)
        params["row_club"] = obj.club_id
    session.connection().execute(_updates(table, tuple(sorted(values))), params)
    for key, value in values.items():
        set_committed_value(obj, key, value)
    _remember_written(session, obj, inserted=False)


@cache
def _updates(table, columns: tuple[str, ...]):
    stmt = update(table).where(table.c.id == bindparam("row_id"))
    if "club_id" in table.c:
        stmt = stmt.where(table.c.club_id == bindparam("row_club"))
    return stmt.values({c: bindparam(f"new_{c}") for c in columns})


@cache
def _inserts(table):
    return insert(table).returning(*table.c)
