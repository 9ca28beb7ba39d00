"""coop/citus.py on a real Citus cluster (``CITUS_DATABASE_URL``, printed by ``bash .ci/citus-setup`` as root).

Each test builds a small schema of its own, shaped as the app's will be once every club-owned table has a
``club_id`` (a club, a member table keyed by ``(club_id, id)`` with composite foreign keys, a reference
table of people, an append-only table with the ledger's triggers, two tables referencing each other), in a
schema of its own that it drops after. Without the variable the tests skip, and fail under ``CI=true``.
"""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from coop import citus
from tests.conftest import _unavailable

CITUS_URL = os.environ.get("CITUS_DATABASE_URL", "")


@pytest.fixture(scope="module")
def engine():
    if not CITUS_URL:
        _unavailable("the Citus tests need a cluster: set CITUS_DATABASE_URL (`bash .ci/citus-setup` as root "
                     "makes one and prints it)")
    url = CITUS_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url, connect_args={"options": "-c client_min_messages=warning"})
    try:
        with engine.connect() as conn:
            if not citus.is_citus(conn):
                _unavailable(f"{CITUS_URL} has no citus extension")
    except DBAPIError as exc:
        _unavailable(f"Citus at {CITUS_URL} is not reachable: {exc}")
    yield engine
    engine.dispose()


SCHEMA = """
CREATE TABLE {s}.user_account (id serial PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE {s}.password_reset (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES {s}.user_account (id));
CREATE TABLE {s}.alembic_version (version_num varchar(32) PRIMARY KEY);
CREATE TABLE {s}.club (id serial PRIMARY KEY, name text NOT NULL,
                       created_by int REFERENCES {s}.user_account (id));
CREATE TABLE {s}.membership (club_id int NOT NULL REFERENCES {s}.club (id), id serial,
                             user_id int NOT NULL REFERENCES {s}.user_account (id),
                             PRIMARY KEY (club_id, id), UNIQUE (club_id, user_id));
CREATE TABLE {s}.journal_transaction (
    club_id int NOT NULL REFERENCES {s}.club (id), id serial, amount int NOT NULL, reverses_id int,
    membership_id int NOT NULL, PRIMARY KEY (club_id, id),
    FOREIGN KEY (club_id, membership_id) REFERENCES {s}.membership (club_id, id),
    FOREIGN KEY (club_id, reverses_id) REFERENCES {s}.journal_transaction (club_id, id));
CREATE FUNCTION {s}.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: record a reversal instead', TG_TABLE_NAME
        USING ERRCODE = 'raise_exception';
END;
$$;
CREATE TRIGGER journal_transaction_no_update BEFORE UPDATE ON {s}.journal_transaction
    FOR EACH ROW EXECUTE FUNCTION {s}.append_only();
CREATE TRIGGER journal_transaction_no_delete BEFORE DELETE ON {s}.journal_transaction
    FOR EACH ROW EXECUTE FUNCTION {s}.append_only();
CREATE TRIGGER journal_transaction_no_truncate BEFORE TRUNCATE ON {s}.journal_transaction
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.append_only();
-- a cycle, as ballot and investment make one
CREATE TABLE {s}.ballot (club_id int NOT NULL REFERENCES {s}.club (id), id serial, investment_id int,
                         PRIMARY KEY (club_id, id));
CREATE TABLE {s}.investment (club_id int NOT NULL REFERENCES {s}.club (id), id serial, ballot_id int,
                             PRIMARY KEY (club_id, id),
                             FOREIGN KEY (club_id, ballot_id) REFERENCES {s}.ballot (club_id, id));
ALTER TABLE {s}.ballot ADD FOREIGN KEY (club_id, investment_id) REFERENCES {s}.investment (club_id, id);
"""

ROWS = """
INSERT INTO {s}.user_account (email) VALUES ('a@example.org'), ('b@example.org'), ('c@example.org');
INSERT INTO {s}.password_reset (user_id) VALUES (1);
INSERT INTO {s}.club (name, created_by) VALUES ('Cigale', 1), ('Fourmi', 2), ('Abeille', 3);
INSERT INTO {s}.membership (club_id, user_id) VALUES (1, 1), (1, 2), (2, 2), (3, 3);
INSERT INTO {s}.journal_transaction (club_id, amount, membership_id) VALUES (1, 100, 1), (2, 200, 3), (3, 300, 4);
INSERT INTO {s}.ballot (club_id) VALUES (1);
INSERT INTO {s}.investment (club_id, ballot_id) VALUES (1, 1);
UPDATE {s}.ballot SET investment_id = 1;
"""

TABLES = {"user_account", "password_reset", "alembic_version", "club", "membership", "journal_transaction",
          "ballot", "investment"}


@pytest.fixture
def schema(engine):
    """A schema of its own, with the tables above and a few rows, dropped after the test."""
    name = f"citus_test_{uuid.uuid4().hex[:10]}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
        script(conn, SCHEMA.format(s=name))
        script(conn, ROWS.format(s=name))
    yield name
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {name} CASCADE"))


def script(conn, sql: str) -> None:
    """Several statements, as they are (the driver's own cursor: no placeholders)."""
    conn.connection.driver_connection.cursor().execute(sql)


def placements(conn, schema: str) -> dict[str, tuple]:
    """table -> (partmethod, repmodel, colocationid, distribution column) from pg_dist_partition."""
    rows = conn.execute(text(
        "SELECT c.relname, p.partmethod, p.repmodel, p.colocationid, "
        "CASE WHEN p.partmethod = 'h' THEN column_to_column_name(p.logicalrelid, p.partkey) END "
        "FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s"), {"s": schema})
    return {name: tuple(rest) for name, *rest in rows}


def foreign_keys(conn, schema: str) -> list[tuple]:
    return sorted(tuple(row) for row in conn.execute(text(
        "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid WHERE k.contype = 'f' AND k.connamespace = CAST(:s AS regnamespace) "
        "AND NOT pg_catalog.relation_is_a_known_shard(c.oid)"), {"s": schema}))


def distribute(engine, schema: str, **kwargs) -> list[str]:
    with engine.begin() as conn:
        return citus.distribute(conn, schema=schema, **kwargs)


def refused(engine, sql: str) -> str:
    """``sql`` fails in a transaction of its own; the error's message."""
    with pytest.raises(DBAPIError) as caught:
        with engine.begin() as conn:
            conn.exec_driver_sql(sql)
    return str(caught.value.orig)


# --- is_citus ------------------------------------------------------------------------------------


def test_is_citus(engine):
    with engine.connect() as conn:
        assert citus.is_citus(conn)
    sqlite = create_engine("sqlite://")
    with sqlite.connect() as conn:
        assert not citus.is_citus(conn)
    sqlite.dispose()


# --- distribute -----------------------------------------------------------------------------------


def test_distribute_makes_reference_tables_then_club_then_its_tables(engine, schema):
    with engine.connect() as conn:
        assert citus.plan(conn, schema) == citus.Plan(
            reference=["user_account", "password_reset"],
            # each after those it references; ballot and investment reference each other: by name
            distributed=["club", "membership", "journal_transaction", "ballot", "investment"],
            local=["alembic_version"])
        before = sorted(conn.execute(text(f"SELECT club_id, id, amount FROM {schema}.journal_transaction")).all())
        keys_before = foreign_keys(conn, schema)
        assert len(keys_before) == 11
        # as on a database never distributed (an earlier test set it): distribute sets it again
        conn.execute(text(f"ALTER DATABASE {engine.url.database} RESET citus.enable_unsafe_triggers"))
        conn.execute(text(f"ALTER DATABASE {engine.url.database} RESET citus.multi_shard_modify_mode"))
        conn.commit()

    done = distribute(engine, schema, shard_count=4)

    assert done == [
        f"database {engine.url.database}: citus.enable_unsafe_triggers = on (tables with triggers: journal_transaction)",
        f"database {engine.url.database}: citus.multi_shard_modify_mode = sequential",
        "user_account: reference table",
        "password_reset: reference table",
        "club: distributed by id, 4 shards",
        "membership: distributed by club_id, co-located with club",
        "journal_transaction: distributed by club_id, co-located with club",
        "ballot: distributed by club_id, co-located with club",
        "investment: distributed by club_id, co-located with club",
    ]
    with engine.connect() as conn:
        found = placements(conn, schema)
        assert set(found) == TABLES - {"alembic_version"}
        assert found["user_account"][:2] == ("n", "t") and found["password_reset"][:2] == ("n", "t")
        club = found["club"]
        assert club[0] == "h" and club[3] == "id"
        for table in ("membership", "journal_transaction", "ballot", "investment"):
            assert found[table][0] == "h" and found[table][3] == "club_id" and found[table][2] == club[2], table
        assert conn.scalar(text("SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = CAST(:t AS regclass)"),
                           {"t": f"{schema}.journal_transaction"}) == 4
        assert citus.check(conn, schema=schema) == []
        # the rows went into the shards, none is left on the coordinator's own copies
        assert sorted(conn.execute(text(f"SELECT club_id, id, amount FROM {schema}.journal_transaction")).all()) == before
        for table in TABLES - {"alembic_version"}:
            assert conn.scalar(text("SELECT pg_relation_size(CAST(:t AS regclass))"), {"t": f"{schema}.{table}"}) == 0
        # every foreign key is back, the cycle's included
        assert foreign_keys(conn, schema) == keys_before
        # a statement about one club runs on one shard; the join of co-located tables too
        plan = "\n".join(conn.execute(text(
            f"EXPLAIN SELECT * FROM {schema}.journal_transaction t JOIN {schema}.membership m "
            "ON m.club_id = t.club_id AND m.id = t.membership_id WHERE t.club_id = 2")).scalars())
        assert "Task Count: 1" in plan, plan


def test_the_foreign_keys_hold_across_the_shards(engine, schema):
    distribute(engine, schema)
    # a membership of another club
    assert "violates foreign key constraint" in refused(
        engine, f"INSERT INTO {schema}.journal_transaction (club_id, amount, membership_id) VALUES (1, 5, 3)")
    assert "violates foreign key constraint" in refused(
        engine, f"INSERT INTO {schema}.membership (club_id, user_id) VALUES (2, 99)")
    assert "violates foreign key constraint" in refused(engine, f"DELETE FROM {schema}.user_account WHERE id = 3")
    with engine.begin() as conn:
        new = conn.scalar(text(f"INSERT INTO {schema}.journal_transaction (club_id, amount, membership_id) "
                               "VALUES (1, 5, 2) RETURNING id"))
    assert new == 5  # the coordinator's sequence goes on (3 rows before; 4 went to the refused insert)


def test_the_append_only_triggers_still_refuse_on_the_shards(engine, schema):
    distribute(engine, schema)
    for sql in (f"UPDATE {schema}.journal_transaction SET amount = 0 WHERE club_id = 1",  # one shard
                f"UPDATE {schema}.journal_transaction SET amount = 0",  # all
                f"DELETE FROM {schema}.journal_transaction WHERE club_id = 2",
                f"DELETE FROM {schema}.journal_transaction",
                f"TRUNCATE {schema}.journal_transaction CASCADE"):
        assert "rows are append-only" in refused(engine, sql), sql
    with engine.connect() as conn:
        assert conn.scalar(text(f"SELECT sum(amount) FROM {schema}.journal_transaction")) == 600
        # each shard has the guards, enabled
        shards = conn.scalar(text("SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = CAST(:t AS regclass)"),
                             {"t": f"{schema}.journal_transaction"})
        guards = conn.execute(text(
            "SELECT result FROM run_command_on_shards(:t, $$SELECT count(*) FROM pg_trigger "
            "WHERE tgrelid = '%s'::regclass AND tgenabled = 'O' AND NOT tgisinternal$$)"),
            {"t": f"{schema}.journal_transaction"}).scalars().all()
        assert guards == ["3"] * shards


def test_a_guard_is_lifted_and_put_back_within_a_transaction_as_reseal_does(engine, schema):
    """ledger.reseal: ALTER TABLE … DISABLE TRIGGER, UPDATE, ENABLE TRIGGER in one transaction. On Citus the
    ALTER needs citus.enable_unsafe_triggers: distribute set it for the database, so a new session has it."""
    distribute(engine, schema)
    engine.dispose()  # new sessions: they read the database's settings
    table = f"{schema}.journal_transaction"
    with engine.begin() as conn:
        assert conn.scalar(text("SHOW citus.enable_unsafe_triggers")) == "on"
        conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER journal_transaction_no_update"))
        conn.execute(text(f"UPDATE {table} SET amount = amount + 1"))  # every shard
        conn.execute(text(f"UPDATE {table} SET amount = amount + 1 WHERE club_id = 1"))
        conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER journal_transaction_no_update"))
    with engine.connect() as conn:
        assert conn.scalar(text(f"SELECT sum(amount) FROM {table}")) == 604
    assert "rows are append-only" in refused(engine, f"UPDATE {table} SET amount = 0 WHERE club_id = 1")
    # without the setting Citus refuses to touch the trigger at all
    with pytest.raises(DBAPIError, match="triggers are not supported on distributed tables"):
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL citus.enable_unsafe_triggers = off"))
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER journal_transaction_no_update"))


def test_distribute_again_does_nothing(engine, schema):
    distribute(engine, schema)
    with engine.connect() as conn:
        before = placements(conn, schema)
    assert distribute(engine, schema) == []
    with engine.connect() as conn:
        assert placements(conn, schema) == before
        assert citus.check(conn, schema=schema) == []
        # the coordinator's shards of the reference tables are not taken for tables, even when shown
        conn.execute(text("SET citus.show_shards_for_app_name_prefixes = '*'"))
        assert conn.scalar(text("SELECT count(*) FROM pg_class WHERE relname LIKE 'user_account\\_%' "
                                "AND relnamespace = CAST(:s AS regnamespace)"), {"s": schema}) > 0
        assert citus.check(conn, schema=schema) == []
        assert distribute(engine, schema) == []


def test_a_table_added_later_is_distributed_with_its_club(engine, schema):
    """As after a migration. A new club-owned table that references a reference table is already a Citus local
    table (Citus made it one); one that references ``club`` is a plain table (its foreign key checks go to the
    shards). The next run distributes them, alone, their rows and foreign keys kept."""
    distribute(engine, schema)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {schema}.pledge (club_id int NOT NULL, id serial, "
                             f"author_id int REFERENCES {schema}.user_account (id), PRIMARY KEY (club_id, id))")
        conn.exec_driver_sql(f"INSERT INTO {schema}.pledge (club_id, author_id) VALUES (1, 1)")
        conn.exec_driver_sql(f"CREATE TABLE {schema}.listing (club_id int NOT NULL REFERENCES {schema}.club (id), "
                             "id serial, PRIMARY KEY (club_id, id))")
        conn.exec_driver_sql(f"INSERT INTO {schema}.listing (club_id) VALUES (2)")
    assert "violates foreign key constraint" in refused(engine, f"INSERT INTO {schema}.listing (club_id) VALUES (9)")
    with engine.connect() as conn:
        assert citus.check(conn, schema=schema) == [
            "listing: plain PostgreSQL table, should be distributed by club_id",
            "pledge: citus local table, should be distributed by club_id"]
        keys = foreign_keys(conn, schema)
    assert distribute(engine, schema) == ["listing: distributed by club_id, co-located with club",
                                          "pledge: distributed by club_id, co-located with club"]
    with engine.begin() as conn:
        assert foreign_keys(conn, schema) == keys
        conn.exec_driver_sql(f"ALTER TABLE {schema}.pledge ADD FOREIGN KEY (club_id) REFERENCES {schema}.club (id)")
        assert citus.check(conn, schema=schema) == []
        assert conn.scalar(text(f"SELECT count(*) FROM {schema}.pledge")) == 1
        assert conn.scalar(text(f"SELECT count(*) FROM {schema}.listing WHERE club_id = 2")) == 1
    assert "violates foreign key constraint" in refused(engine, f"INSERT INTO {schema}.listing (club_id) VALUES (9)")


def test_distribute_refuses_a_table_that_is_neither_club_owned_nor_a_reference_table(engine, schema):
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {schema}.newsletter (id serial PRIMARY KEY, body text)")
    with pytest.raises(citus.CitusError, match="newsletter"):
        distribute(engine, schema)
    with engine.connect() as conn:  # nothing done
        assert placements(conn, schema) == {}
        problems = citus.check(conn, schema=schema)
    assert "newsletter: no club_id and not a reference table (plain PostgreSQL table)" in problems


def test_distribute_refuses_without_citus():
    sqlite = create_engine("sqlite://")
    with sqlite.connect() as conn, pytest.raises(citus.CitusError, match="not installed"):
        citus.distribute(conn)
    sqlite.dispose()


# --- check ----------------------------------------------------------------------------------------


def test_check_names_each_table_not_yet_distributed(engine, schema):
    with engine.connect() as conn:
        assert citus.check(conn, schema=schema) == [
            "ballot: plain PostgreSQL table, should be distributed by club_id",
            "club: plain PostgreSQL table, should be distributed by id",
            "investment: plain PostgreSQL table, should be distributed by club_id",
            "journal_transaction: plain PostgreSQL table, should be distributed by club_id",
            "membership: plain PostgreSQL table, should be distributed by club_id",
            "password_reset: plain PostgreSQL table, should be a reference table",
            "user_account: plain PostgreSQL table, should be a reference table",
        ]


def test_check_names_a_table_not_co_located_with_club(engine, schema):
    distribute(engine, schema)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {schema}.listing (club_id int NOT NULL, id serial, PRIMARY KEY (club_id, id))")
        conn.execute(text("SELECT create_distributed_table(:t, 'club_id', colocate_with => 'none', shard_count => 3)"),
                     {"t": f"{schema}.listing"})
        conn.exec_driver_sql(f"CREATE TABLE {schema}.exchange (club_id int NOT NULL, id int, PRIMARY KEY (club_id, id))")
        conn.execute(text("SELECT create_distributed_table(:t, 'id', colocate_with => 'none')"),
                     {"t": f"{schema}.exchange"})
        assert citus.check(conn, schema=schema) == ["exchange: distributed by id, should be by club_id",
                                                    "listing: not co-located with club"]
        with pytest.raises(citus.CitusError, match="exchange is distributed by id, not by club_id"):
            citus.distribute(conn, schema=schema)


def test_check_names_a_database_without_the_trigger_setting(engine, schema):
    distribute(engine, schema)
    with engine.connect() as conn:
        database = conn.scalar(text("SELECT current_database()"))
        conn.execute(text(f"ALTER DATABASE {database} RESET citus.enable_unsafe_triggers"))
        try:
            assert citus.check(conn, schema=schema) == [
                "tables with triggers (journal_transaction) but citus.enable_unsafe_triggers is not on for the "
                "database: their triggers cannot be changed, enabled or disabled"]
        finally:
            conn.rollback()  # the setting stays as it was
        assert citus.check(conn, schema=schema) == []
