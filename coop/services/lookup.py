"""One object of one club by its id, or NotFound: another club's ids name nothing here."""
from __future__ import annotations

from functools import cache
from typing import TypeVar

from sqlalchemy import bindparam, select

from ..extensions import db
from .errors import NotFound
from .validate import is_id

T = TypeVar("T")


def in_club(model: type[T], club_id: int, object_id: object, *, lock: bool = False, missing) -> T:
    """The ``model`` row with this id in this club, or ``NotFound(missing)``; an id outside 1..2³¹−1
    (or not a whole number) names nothing.

    The one locking rule: with ``lock`` the row is read with ``SELECT … FOR UPDATE`` of that row on
    PostgreSQL, and read afresh over what the session holds; on SQLite the unit of work already holds
    the database's write lock (no ``FOR UPDATE`` is written there)."""
    if not is_id(object_id):
        raise NotFound(missing)
    found = db.session.scalar(_by_id(model, lock), {"id": object_id, "club": club_id})
    if found is None:
        raise NotFound(missing)
    return found


@cache
def _by_id(model, lock: bool):
    # Built once per model: lookups start most use cases.
    stmt = select(model).where(model.id == bindparam("id"), model.club_id == bindparam("club"))
    if lock:
        stmt = stmt.with_for_update(of=model).execution_options(populate_existing=True)
    return stmt
