"""Shared column helpers for the typed models."""
from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import CheckConstraint, ForeignKey, ForeignKeyConstraint, PrimaryKeyConstraint
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.schema import CreateColumn


def utcnow() -> datetime:
    """Naive UTC, the same on SQLite and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)


def one_of(column: str, choices: type[enum.StrEnum], name: str | None = None) -> CheckConstraint:
    values = ", ".join(f"'{c.value}'" for c in choices)
    return CheckConstraint(f"{column} IN ({values})", name=name or f"{column}_valid")


# --- Keys scoped by club -----------------------------------------------------------------------------------
#
# Every row of a club carries the club's id in its keys: the primary key is (id, club_id), every foreign key to
# another club-owned table is (x_id, club_id) → (id, club_id), every unique key includes club_id. The database
# itself then refuses a row that points into another club, and Citus can distribute each table by club_id with
# a club's rows together on one node (docs/scaling.md). ``id`` stays unique on its own (one sequence per
# table); the ORM knows a row by its whole key (``session.get(Ballot, (7, club_id))``, or a select by id), so
# every statement it writes for a row — UPDATE, DELETE, a refresh after a commit or rollback, a lazy, joined or
# "select IN" load — carries club_id too, which lets Citus send it to one node.

#: Tables of people, not of a club: Citus keeps them as reference tables (a copy on every node).
PEOPLE_TABLES = frozenset({"user_account", "password_reset", "rate_count"})
#: Regional associations and their coordinators: no club's, reference tables like the people's (coop/models/region.py).
REGION_TABLES = frozenset({"region", "region_coordinator"})


class ClubOwned:
    """A row of one club: primary key (id, club_id), which is also how the ORM knows it."""

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True, sort_order=-2)
    club_id: Mapped[int] = mapped_column(ForeignKey("club.id"), primary_key=True, sort_order=-1)


def club_fk(column: str, table: str, **kwargs) -> ForeignKeyConstraint:
    """``column`` points to a row of ``table`` of the same club: (column, club_id) → table(id, club_id)."""
    return ForeignKeyConstraint([column, "club_id"], [f"{table}.id", f"{table}.club_id"], **kwargs)


def club_parent(target: str, owner: str, column: str, **kwargs):
    """Many-to-one to the ``target`` row that ``owner.column`` names, joined on the club too."""
    return relationship(target, primaryjoin=f"and_({target}.id == foreign({owner}.{column}), "
                                            f"{target}.club_id == {owner}.club_id)", **kwargs)


def club_children(target: str, owner: str, column: str, **kwargs):
    """One-to-many: the ``target`` rows whose ``column`` names this ``owner`` row, joined on the club too.
    Their club_id is set by whoever makes them, never copied through the relationship."""
    return relationship(target, primaryjoin=f"and_({owner}.id == foreign({target}.{column}), "
                                            f"{owner}.club_id == {target}.club_id)", **kwargs)


@compiles(CreateColumn, "sqlite")
def _sqlite_column(element, compiler, **kw):
    """SQLite numbers rows only through a one-column INTEGER PRIMARY KEY (the rowid): a club-owned table's
    ``id`` is that key there, and (id, club_id) a unique key beside it that the foreign keys point to."""
    column = element.element
    if _club_scoped_id(column):
        return f"{compiler.preparer.format_column(column)} INTEGER NOT NULL"
    return compiler.visit_create_column(element, **kw)


@compiles(PrimaryKeyConstraint, "sqlite")
def _sqlite_primary_key(constraint, compiler, **kw):
    columns = list(constraint.columns)
    if any(_club_scoped_id(c) for c in columns):
        table = constraint.table.name
        others = ", ".join(compiler.preparer.quote(c.name) for c in columns)
        return (f"CONSTRAINT pk_{table} PRIMARY KEY (id), "
                f"CONSTRAINT {SQLITE_ROW_KEY.format(table=table)} UNIQUE ({others})")
    return compiler.visit_primary_key_constraint(constraint, **kw)


#: The name of the unique key (id, club_id) that SQLite has beside its one-column primary key.
SQLITE_ROW_KEY = "uq_{table}_id_club_id"


def in_schema_comparison(obj, name, type_, reflected, compare_to) -> bool:
    """For Alembic's comparison of the database with the models: SQLite's (id, club_id) keys are made by
    ``_sqlite_primary_key`` from the models' primary keys, not declared in them."""
    return not (type_ == "unique_constraint" and reflected and name and name.endswith("_id_club_id")
                and name == SQLITE_ROW_KEY.format(table=obj.table.name))


def _club_scoped_id(column) -> bool:
    table = column.table
    return (column.name == "id" and column.autoincrement is True and "club_id" in table.c
            and len(table.primary_key.columns) > 1)
