"""Citus (distributed PostgreSQL): every club's rows on one node, the people shared by all.

Each table that carries a ``club_id`` is hash-distributed by it, co-located with ``club`` (itself
distributed by ``id``): a club's rows, whatever their table, live in the same shard group, so a
statement that names one club runs on one node, joins and foreign keys included. The tables about
people rather than clubs (``REFERENCE_TABLES``) are reference tables: a copy on every node, that
any shard may join or reference. ``alembic_version`` stays a plain table of the coordinator.

The tables come from the live catalog, not from a list kept here: a new table with a ``club_id``
is distributed with the others; a new table with none must be added to ``REFERENCE_TABLES`` (or
``LOCAL_TABLES``) first, else ``distribute`` refuses and names it.

Triggers: Citus refuses to distribute a table that has triggers, and to create, drop, enable or
disable a trigger on a distributed table, unless ``citus.enable_unsafe_triggers`` is on in that
session (its "unsafe": a trigger runs on each shard, where reading other tables may not see what it
expects; the ledger's append-only guards read nothing, they only raise). Citus then creates each
trigger, and its function, on every shard: an UPDATE or DELETE is still refused there, a TRUNCATE by
the coordinator's own copy. ``distribute`` turns the setting on for its own transaction and for the
database (``ALTER DATABASE … SET``, read by every new session), so that ``ledger.reseal`` may still
lift and restore a guard and migrations may change triggers.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

#: Tables about people, not clubs, and the regional associations of clubs with their coordinators: one copy on
#: every node, so that any club's shard may reference them (a club's ``region_member`` row, a ballot to join).
#: Written rarely (an operator's command, a coordinator added), so their two-phase commit costs little.
REFERENCE_TABLES = ("user_account", "password_reset", "rate_count", "region", "region_coordinator")
#: Tables left as plain tables of the coordinator.
LOCAL_TABLES = ("alembic_version",)
#: The table every club-owned table is co-located with, and its distribution column.
CLUB, CLUB_KEY, CLUB_COLUMN = "club", "id", "club_id"
TRIGGERS_SETTING = "citus.enable_unsafe_triggers"
#: One connection per node for a statement over several shards, in every session of the database: Citus refuses
#: to write a reference table (a person's row, a rate count) in a transaction that has already run a statement
#: over several shards in parallel, and a use case may do both (a home page read across clubs, then a rate
#: count). Sequential is also the quicker for this app's few cross-club statements at 8 shards a node.
MODIFY_MODE_SETTING = "citus.multi_shard_modify_mode"


class CitusError(RuntimeError):
    """The schema cannot be distributed as it is (or the database has no Citus)."""


@dataclass(frozen=True)
class Placement:
    """What Citus knows of a table (``pg_dist_partition``)."""

    kind: str  # "distributed", "reference", "citus local" (a local table in Citus metadata) or "other"
    column: str | None
    colocation: int


def is_citus(connection: Connection) -> bool:
    """The citus extension is installed in this database."""
    if connection.dialect.name != "postgresql":
        return False
    return bool(connection.scalar(text("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")))


# --- The catalog ------------------------------------------------------------------------------

# The coordinator keeps its own copy of each reference table as a shard (``user_account_102008``) in the same
# schema. Citus hides shards from client sessions' reads of pg_class (unless their application_name is in
# ``citus.show_shards_for_app_name_prefixes``); the catalogue reads below say so explicitly
# (``relation_is_a_known_shard``), written out in each statement.


def _tables(connection: Connection, schema: str) -> list[str]:
    """The ordinary and partitioned tables of ``schema`` (not the partitions themselves)."""
    return list(connection.scalars(text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
        "AND pg_catalog.relation_is_a_known_shard(c.oid) IS NOT TRUE ORDER BY c.relname"),
        {"schema": schema}))


def _with_column(connection: Connection, schema: str, column: str) -> set[str]:
    return set(connection.scalars(text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid "
        "WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') AND a.attname = :column AND NOT a.attisdropped "
        "AND pg_catalog.relation_is_a_known_shard(c.oid) IS NOT TRUE"),
        {"schema": schema, "column": column}))


def _placements(connection: Connection, schema: str) -> dict[str, Placement]:
    rows = connection.execute(text(
        "SELECT c.relname, p.partmethod, p.repmodel, p.colocationid, "
        "       CASE WHEN p.partmethod = 'h' THEN column_to_column_name(p.logicalrelid, p.partkey) END "
        "FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema"), {"schema": schema})
    found = {}
    for name, method, model, colocation, column in rows:
        if method == "h":
            kind = "distributed"
        elif method == "n" and model == "t":
            kind = "reference"
        elif method == "n":
            kind = "citus local"  # a Citus local table (e.g. converted by a foreign key to a reference table)
        else:
            kind = "other"
        found[name] = Placement(kind, column, colocation)
    return found


@dataclass(frozen=True)
class _ForeignKey:
    table: str
    parent: str
    name: str
    definition: str


def _foreign_keys(connection: Connection, schema: str) -> list[_ForeignKey]:
    """The foreign keys between two tables of ``schema`` (a table's references to itself left out)."""
    rows = connection.execute(text(
        "SELECT c.relname, p.relname, k.conname, pg_get_constraintdef(k.oid) "
        "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_namespace pn ON pn.oid = p.relnamespace "
        "WHERE k.contype = 'f' AND n.nspname = :schema AND pn.nspname = :schema AND k.conrelid <> k.confrelid "
        "AND pg_catalog.relation_is_a_known_shard(c.oid) IS NOT TRUE ORDER BY c.relname, k.conname"), {"schema": schema})
    return [_ForeignKey(*row) for row in rows]


def _order(tables: list[str], keys: list[_ForeignKey], first: str | None = None) -> list[str]:
    """``tables`` with each after the tables it references (``first`` before all): a topological order. A
    cycle of foreign keys is broken at the table, of those left, that references the fewest others still left
    (then by name)."""
    wanted = set(tables)
    parents = {t: {k.parent for k in keys if k.table == t and k.parent in wanted and k.parent != t} for t in tables}
    done: list[str] = []
    left = sorted(tables)
    if first in wanted:
        done.append(first)
        left.remove(first)
    while left:
        ready = [t for t in left if not (parents[t] - set(done))]
        if not ready:
            ready = [min(left, key=lambda t: (len(parents[t] - set(done)), t))]
        for table in ready:
            done.append(table)
            left.remove(table)
    return done


@dataclass
class Plan:
    reference: list[str]  # each after the reference tables it references
    distributed: list[str]  # ``club`` first, then each table after the tables it references
    local: list[str]


def plan(connection: Connection, schema: str = "public") -> Plan:
    """What each table of ``schema`` becomes, in the order ``distribute`` makes them. Raises ``CitusError``
    naming any table that is neither club-owned nor listed, or a foreign key Citus cannot keep."""
    tables = _tables(connection, schema)
    if CLUB not in tables:
        raise CitusError(f"no table {CLUB!r} in schema {schema!r}")
    if CLUB_KEY not in _columns(connection, schema, CLUB):
        raise CitusError(f"table {CLUB!r} has no column {CLUB_KEY!r}")
    owned = _with_column(connection, schema, CLUB_COLUMN) - set(REFERENCE_TABLES) - set(LOCAL_TABLES)
    unknown = [t for t in tables if t not in owned and t != CLUB and t not in REFERENCE_TABLES
               and t not in LOCAL_TABLES]
    if unknown:
        raise CitusError(
            "neither club-owned (no club_id column) nor a reference or local table: " + ", ".join(unknown)
            + ". Give it a club_id, or add it to REFERENCE_TABLES (or LOCAL_TABLES) in coop/citus.py.")
    keys = _foreign_keys(connection, schema)
    reference = [t for t in REFERENCE_TABLES if t in tables]
    distributed = sorted(owned | {CLUB})
    local = [t for t in LOCAL_TABLES if t in tables]
    for key in keys:
        if key.table in reference and key.parent not in reference:
            raise CitusError(f"reference table {key.table} references {key.parent} ({key.name}): a reference table "
                             "may only reference other reference tables")
        if key.table in distributed and key.parent in local:
            raise CitusError(f"table {key.table} references the local table {key.parent} ({key.name})")
    return Plan(_order(reference, keys), _order(distributed, keys, first=CLUB), local)


def _columns(connection: Connection, schema: str, table: str) -> set[str]:
    return set(connection.scalars(text(
        "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :schema AND c.relname = :table AND a.attnum > 0 AND NOT a.attisdropped"),
        {"schema": schema, "table": table}))


def _triggers(connection: Connection, schema: str, tables: list[str], *, truncate: bool = False) -> list[tuple[str, str]]:
    """(table, trigger) of the enabled user triggers on ``tables`` (only the TRUNCATE ones with ``truncate``)."""
    if not tables:
        return []
    return [tuple(row) for row in connection.execute(text(
        "SELECT c.relname, g.tgname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE NOT g.tgisinternal AND g.tgenabled <> 'D' AND n.nspname = :schema AND c.relname = ANY(:tables) "
        "AND (NOT :truncate OR g.tgtype & 32 <> 0) ORDER BY 1, 2"),
        {"schema": schema, "tables": list(tables), "truncate": truncate})]


def _database_setting(connection: Connection, name: str, *values: str) -> bool:
    """``name`` is one of ``values`` for every session of this database (ALTER DATABASE … SET)."""
    settings = connection.scalar(text(
        "SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
        "WHERE d.datname = current_database() AND s.setrole = 0")) or []
    return any(f"{name}={value}" in settings for value in values)


def _database_triggers_setting(connection: Connection) -> bool:
    """``citus.enable_unsafe_triggers`` is on for every session of this database."""
    return _database_setting(connection, TRIGGERS_SETTING, "on", "true")


def drop_tables(connection: Connection, schema: str = "public") -> None:
    """Every table of ``schema`` and the ledger guards' function dropped, for a test or benchmark database made
    anew: not the schema itself, where CREATE EXTENSION citus put some of its own objects."""
    tables = connection.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = :schema"),
                                {"schema": schema}).all()
    if tables:
        q = connection.dialect.identifier_preparer.quote
        connection.execute(text(f"DROP TABLE IF EXISTS {', '.join(f'{q(schema)}.{q(t)}' for t in tables)} CASCADE"))
    connection.execute(text(f"DROP FUNCTION IF EXISTS {connection.dialect.identifier_preparer.quote(schema)}"
                            ".coop_append_only() CASCADE"))


# --- Distributing -----------------------------------------------------------------------------


def distribute(connection: Connection, shard_count: int | None = None, *, schema: str = "public") -> list[str]:
    """Make the tables of ``schema`` reference tables (``REFERENCE_TABLES``) or tables distributed by club and
    co-located with ``club``, in the caller's transaction (commit it to keep them). Tables already so are left
    as they are: on a distributed schema it does nothing, after a migration it distributes the new tables.
    Returns what it did, a line each.

    ``shard_count``: for ``club`` when it is distributed (the tables co-located with it have the same);
    by default Citus's ``citus.shard_count``. Rows already there are moved into the shards, and the local
    copies Citus leaves behind are truncated.

    How: the foreign keys of the tables to be made are dropped first and made again at the end (a local
    table that references a reference table becomes a Citus local table, which then cannot be distributed
    while another such table references it; and a cycle of foreign keys has no order to follow); the tables
    are made in the order of the foreign keys all the same (reference tables, ``club``, then each table after
    those it references). The transaction runs over one connection per node
    (``citus.multi_shard_modify_mode = sequential``): Citus requires it once a distributed table with a
    foreign key to a reference table has been changed in a transaction."""
    if not is_citus(connection):
        raise CitusError("the citus extension is not installed in this database")
    the = plan(connection, schema)
    placements = _placements(connection, schema)
    for table in the.reference + the.distributed:
        placement = placements.get(table)
        if placement is None or placement.kind == "citus local":
            continue
        wanted = "reference" if table in the.reference else "distributed"
        if placement.kind != wanted:
            raise CitusError(f"table {table} is already a {placement.kind} table, not a {wanted} one: "
                             "undistribute_table() it first")
        column = CLUB_KEY if table == CLUB else CLUB_COLUMN
        if wanted == "distributed" and placement.column != column:
            raise CitusError(f"table {table} is distributed by {placement.column}, not by {column}")
    made = [t for t in the.reference + the.distributed if placements.get(t) is None or placements[t].kind == "citus local"]
    if not made:
        return []

    q = connection.dialect.identifier_preparer.quote

    def name(table: str) -> str:
        return f"{q(schema)}.{q(table)}"

    done: list[str] = []
    connection.execute(text("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'"))
    triggered = sorted({table for table, _ in _triggers(connection, schema, made)})
    if triggered:
        connection.execute(text(f"SET LOCAL {TRIGGERS_SETTING} = on"))
        if not _database_triggers_setting(connection):
            database = connection.scalar(text("SELECT current_database()"))
            connection.execute(text(f"ALTER DATABASE {q(database)} SET {TRIGGERS_SETTING} = on"))
            done.append(f"database {database}: {TRIGGERS_SETTING} = on (tables with triggers: "
                        f"{', '.join(triggered)})")
    if not _database_setting(connection, MODIFY_MODE_SETTING, "sequential"):
        database = connection.scalar(text("SELECT current_database()"))
        connection.execute(text(f"ALTER DATABASE {q(database)} SET {MODIFY_MODE_SETTING} = 'sequential'"))
        done.append(f"database {database}: {MODIFY_MODE_SETTING} = sequential")

    keys = [k for k in _foreign_keys(connection, schema) if k.table in made]
    for key in keys:
        connection.execute(text(f"ALTER TABLE {name(key.table)} DROP CONSTRAINT {q(key.name)}"))

    for table in the.reference:
        if table in made:
            connection.execute(text("SELECT create_reference_table(:t)"), {"t": name(table)})
            done.append(f"{table}: reference table")
    for table in the.distributed:
        if table not in made:
            continue
        if table == CLUB:
            connection.execute(
                text("SELECT create_distributed_table(:t, :c, colocate_with => 'none', shard_count => :n)"
                     if shard_count else "SELECT create_distributed_table(:t, :c, colocate_with => 'none')"),
                {"t": name(table), "c": CLUB_KEY, "n": shard_count})
            shards = connection.scalar(text("SELECT count(*) FROM pg_dist_shard "
                                            "WHERE logicalrelid = CAST(:t AS regclass)"), {"t": name(table)})
            done.append(f"{table}: distributed by {CLUB_KEY}, {shards} shards")
        else:
            connection.execute(text("SELECT create_distributed_table(:t, :c, colocate_with => :w)"),
                               {"t": name(table), "c": CLUB_COLUMN, "w": name(CLUB)})
            done.append(f"{table}: distributed by {CLUB_COLUMN}, co-located with {CLUB}")

    for key in keys:
        connection.execute(text(f"ALTER TABLE {name(key.table)} ADD CONSTRAINT {q(key.name)} {key.definition}"))

    _truncate_local_copies(connection, schema, made, name, q)
    return done


def _truncate_local_copies(connection: Connection, schema: str, tables: list[str], name, q) -> None:
    """Citus copies a table's rows into its shards and leaves them on the coordinator's disk, unseen: remove
    them (a deleted secret vote must not survive there). The truncation is the coordinator's own (it
    cascades to the local copies of the tables that reference it): the TRUNCATE guards of those copies are
    lifted for it, there only (``citus.enable_ddl_propagation = off``: the shards keep theirs), and put back."""
    full = [t for t in tables if connection.scalar(text("SELECT pg_relation_size(CAST(:t AS regclass)) > 0"),
                                                   {"t": name(t)})]
    if not full:
        return
    guards = _triggers(connection, schema, tables, truncate=True)  # the cascade reaches none but ``tables``
    propagation = connection.scalar(text("SELECT current_setting('citus.enable_ddl_propagation')"))
    connection.execute(text("SET LOCAL citus.enable_ddl_propagation = off"))
    for table, trigger in guards:
        connection.execute(text(f"ALTER TABLE {name(table)} DISABLE TRIGGER {q(trigger)}"))
    for table in full:
        connection.execute(text("SELECT truncate_local_data_after_distributing_table(:t)"), {"t": name(table)})
    for table, trigger in guards:
        connection.execute(text(f"ALTER TABLE {name(table)} ENABLE TRIGGER {q(trigger)}"))
    connection.execute(text("SELECT set_config('citus.enable_ddl_propagation', :v, true)"), {"v": propagation})


# --- Checking ---------------------------------------------------------------------------------


def check(connection: Connection, *, schema: str = "public") -> list[str]:
    """What is not as ``distribute`` leaves it: a table neither distributed (by the right column,
    co-located with ``club``) nor a reference table, or one that no rule covers. Empty when all is well."""
    if not is_citus(connection):
        return ["the citus extension is not installed in this database"]
    problems: list[str] = []
    tables = _tables(connection, schema)
    owned = _with_column(connection, schema, CLUB_COLUMN) - set(REFERENCE_TABLES) - set(LOCAL_TABLES)
    placements = _placements(connection, schema)
    club = placements.get(CLUB)
    for table in tables:
        if table in LOCAL_TABLES:
            continue
        placement = placements.get(table)
        kind = placement.kind if placement else "plain PostgreSQL"
        if table in REFERENCE_TABLES:
            if kind != "reference":
                problems.append(f"{table}: {kind} table, should be a reference table")
            continue
        if table != CLUB and table not in owned:
            problems.append(f"{table}: no club_id and not a reference table ({kind} table)")
            continue
        column = CLUB_KEY if table == CLUB else CLUB_COLUMN
        if kind != "distributed":
            problems.append(f"{table}: {kind} table, should be distributed by {column}")
        elif placement.column != column:
            problems.append(f"{table}: distributed by {placement.column}, should be by {column}")
        elif table != CLUB and (club is None or club.kind != "distributed" or placement.colocation != club.colocation):
            problems.append(f"{table}: not co-located with {CLUB}")
    if not _database_setting(connection, MODIFY_MODE_SETTING, "sequential"):
        problems.append(f"{MODIFY_MODE_SETTING} is not sequential for the database: a use case that reads over "
                        "several shards then writes a reference table would be refused")
    citus_tables = [t for t in tables if t in placements]
    triggered = sorted({table for table, _ in _triggers(connection, schema, citus_tables)})
    if triggered and not _database_triggers_setting(connection):
        problems.append(f"tables with triggers ({', '.join(triggered)}) but {TRIGGERS_SETTING} is not on for the "
                        "database: their triggers cannot be changed, enabled or disabled")
    return problems


class NewTableKeys:
    """For a migration that adds club tables to an install already distributed on Citus: Citus refuses a
    table that is not distributed yet a foreign key into a distributed table (``CREATE TABLE … REFERENCES
    club`` fails). ``to(…)`` gives the key to put in ``create_table`` on any other database, and on such an
    install keeps it for ``finish(op)``, which distributes the new tables (in a transaction of their own: Citus
    copies a table's sequence to the workers only once it is committed) and then makes the keys."""

    def __init__(self, connection: Connection):
        self.distributed = is_citus(connection) and bool(connection.scalar(text(
            "SELECT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = CAST('club' AS regclass))")))
        self.later: list[tuple[str, str, str, list[str], list[str]]] = []

    def to(self, table: str, columns: list[str], referred: str, referred_columns: list[str], name: str) -> list:
        if self.distributed:
            self.later.append((name, table, referred, columns, referred_columns))
            return []
        from sqlalchemy import ForeignKeyConstraint

        return [ForeignKeyConstraint(columns, [f"{referred}.{c}" for c in referred_columns], name=name)]

    def finish(self, op) -> None:
        if not self.distributed:
            return
        with op.get_context().autocommit_block():
            pass  # commits the new tables
        distribute(op.get_bind())
        for name, table, referred, columns, referred_columns in self.later:
            op.create_foreign_key(name, table, referred, columns, referred_columns)
