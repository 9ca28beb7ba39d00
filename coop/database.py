"""Engine set-up per backend.

SQLite: foreign keys on, WAL, deleted content overwritten (``secure_delete``:
a secret ballot's emptied box leaves nothing in the file), and explicit ``BEGIN``. A write use case
asks for ``BEGIN IMMEDIATE`` so it holds the write lock from its first read
(no stale snapshot, no lost update); reads stay deferred.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, cast, event, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

IMMEDIATE = "coop_sqlite_immediate"


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    in_memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, say when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA secure_delete=ON")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if connection.get_execution_options().get(IMMEDIATE):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def refresh_statistics(engine: Engine) -> None:
    """Let SQLite's query planner know the tables' sizes. PostgreSQL keeps its statistics itself
    (autovacuum); SQLite keeps none until asked, and without them may walk every club's rows where an
    index would reach one person's (the home page's open ballots: 5 ms instead of 0.2 at 1,000 clubs).
    A bounded ANALYZE takes milliseconds; ``flask coop tick`` runs it."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def scrub(engine: Engine, tables: tuple[str, ...]) -> bool:
    """Remove what the database still keeps of rows deleted from ``tables``: their old row versions.

    PostgreSQL: ``VACUUM FULL`` writes the tables anew, without them (the tables are small: they hold
    only what open ballots need; the lock it takes is given up after two seconds of waiting, then a
    plain ``VACUUM`` removes the old versions from the pages). SQLite: deleted content is already
    overwritten (``secure_delete``); the write-ahead log, which keeps every page as each transaction
    wrote it, is copied into the database and emptied. Returns True when it did all that; False (and
    ``flask coop tick`` does it again) when readers held it back."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("SET lock_timeout = '2s'")
            try:
                conn.exec_driver_sql(f"VACUUM FULL {', '.join(tables)}")
            except OperationalError:
                conn.exec_driver_sql(f"VACUUM {', '.join(tables)}")
                return False
            finally:
                conn.exec_driver_sql("RESET lock_timeout")
        return True
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA busy_timeout=2000")
            busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
        finally:
            raw.close()
        return not busy
    return True


def sum_of(column):
    """SUM as a whole number on both databases (PostgreSQL's SUM of a bigint is a numeric)."""
    return cast(func.sum(column), BigInteger)
