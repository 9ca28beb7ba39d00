"""A secret ballot as someone who can read the database would see it (issue 15, point 2).

The page promises that nobody, not even the database, can tell who chose what. These tests read
what such a reader reads: the live tables in the order their rows lie, PostgreSQL's row versions
(``xmin``) and pages, SQLite's raw files, and find no link between a voter and a choice."""
from __future__ import annotations

import os
import struct

import pytest
from sqlalchemy import text

from coop.extensions import db
from coop.models import Ballot
from coop.services import ballots
from coop.services.tally import ABSTAIN, NO, YES
from tests.conftest import SERVERS, by_id
from tests.services.test_ballot_voting import cast, open_funding, presented

#: Two plans with the same choices (2 yes, 2 no, 1 abstention) given by other members in another order.
PLAN_A = [YES, YES, NO, NO, ABSTAIN]
PLAN_B = [NO, ABSTAIN, YES, NO, YES]


def choice_tables():
    """The tables that can hold a choice: a ``value`` beside a ``ballot_id``."""
    return [t for t in db.metadata.sorted_tables if {"ballot_id", "value"} <= set(t.columns.keys())]


def reader_sees(ballot_id: int, backend: str) -> dict[str, list[tuple]]:
    """Every row holding a choice of this ballot, in the order the rows lie in their table, as
    (option's position, value, count if any, whether the row version is the last voter's)."""
    db.session.rollback()
    pg = backend in SERVERS
    position = dict(db.session.execute(text("SELECT id, position FROM ballot_option WHERE ballot_id = :b"),
                                       {"b": ballot_id}).all())
    last_voter_version = None
    if pg:
        last_voter_version = db.session.scalar(text(
            "SELECT xmin::text FROM ballot_voter WHERE ballot_id = :b AND voted "
            "ORDER BY age(xmin) LIMIT 1"), {"b": ballot_id})
    seen = {}
    for table in choice_tables():
        columns = table.columns.keys()
        rows = db.session.execute(text(
            f"SELECT {'xmin::text' if pg else 'NULL'} AS version, option_id, value"  # noqa: S608 - table names from the models
            f"{', count' if 'count' in columns else ''} FROM {table.name} WHERE ballot_id = :b "
            f"ORDER BY {'ctid' if pg else 'rowid'}"), {"b": ballot_id}).all()
        seen[table.name] = [(position[row.option_id], row.value, *row[3:], row.version == last_voter_version)
                            for row in rows]
    return seen


def vote_in_order(setup, ballot: Ballot, plan: list[int], voters) -> None:
    for user, value in zip(voters, plan, strict=True):
        cast(setup, user, ballot, value)


def test_while_open_the_tables_tell_the_choices_made_not_who_made_them(make_club, backend):
    setup = make_club(5)
    first = open_funding(setup, presented(setup), secret=True)
    second = open_funding(setup, presented(setup), secret=True)

    vote_in_order(setup, first, PLAN_A, setup.members)
    vote_in_order(setup, second, PLAN_B, list(reversed(setup.members)))

    # Same choices, other voters, other order: the reader sees the same thing in both ballots, so what
    # they see cannot say who chose what (nor which choice came last, with the last voter's row version).
    seen_first, seen_second = reader_sees(first.id, backend), reader_sees(second.id, backend)
    assert seen_first == seen_second
    assert sorted(v for rows in seen_first.values() for _, v, *_ in rows) == sorted(PLAN_A)
    # No running count either: the choices are counted at the close.
    assert all(not ballots.counts_of(setup.club_id, b.id) for b in (first, second))
    assert ballots.check() == []


def test_after_the_close_only_the_counts_remain(make_club, backend):
    setup = make_club(5)
    ballot = open_funding(setup, presented(setup), secret=True)
    vote_in_order(setup, ballot, PLAN_A, setup.members)

    ballots.close_early(setup.manager.id, setup.club_id, ballot.id)

    db.session.rollback()
    closed = by_id(Ballot, ballot.id)
    assert (closed.tally["yes"], closed.tally["no"], closed.tally["abstain"]) == (2, 2, 1)
    assert ballots.counts_of(setup.club_id, ballot.id) == {ballot.options[0].id: {YES: 2, NO: 2, ABSTAIN: 1}}
    seen = reader_sees(ballot.id, backend)
    assert [rows for rows in seen.values() if rows] == [sorted(rows) for rows in seen.values() if rows]
    assert sum(len(rows) for rows in seen.values()) == 3  # one count per value, nothing per voter
    if backend in SERVERS:
        # The counts were written by the close, not by any voter's transaction …
        voter_versions = set(db.session.scalars(text("SELECT xmin::text FROM ballot_voter WHERE ballot_id = :b"),
                                                {"b": ballot.id}))
        assert not any(row[-1] for rows in seen.values() for row in rows)
        count_versions = set(db.session.scalars(text("SELECT xmin::text FROM ballot_count WHERE ballot_id = :b"),
                                                {"b": ballot.id}))
        assert len(count_versions) == 1 and not count_versions & voter_versions
    if backend == "postgresql":  # (on Citus the coordinator's tables hold no pages: the rows are the workers')
        # … and the pages of the tables that held the box and the envelopes keep no older version of a
        # row (the close writes them anew): every row stored is a live one.
        db.session.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        db.session.commit()
        assert "ballot_choice" in ballots.SCRUBBED
        for table in ballots.SCRUBBED:
            pages = db.session.scalar(text(
                f"SELECT pg_relation_size('{table}') / current_setting('block_size')::int"))  # noqa: S608
            stored = sum(db.session.scalar(text(
                f"SELECT count(*) FROM heap_page_items(get_raw_page('{table}', {page})) "  # noqa: S608
                "WHERE lp_flags <> 0")) for page in range(pages))
            live = db.session.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
            assert stored == live, f"{table} keeps {stored - live} old row versions"
        db.session.rollback()


def _sqlite_record(*values: int | None) -> bytes:
    """SQLite's record format for a row of small integers (the INTEGER PRIMARY KEY stored as NULL)."""
    header, body = [], b""
    for value in values:
        if value is None:
            header.append(0)
        elif value in (0, 1):
            header.append(8 + value)
        elif -128 <= value < 128:
            header.append(1)
            body += struct.pack(">b", value)
        else:
            header.append(2)
            body += struct.pack(">h", value)
    return bytes([len(header) + 1, *header]) + body


def test_after_the_close_sqlites_files_keep_no_choice(make_club, backend):
    if backend != "sqlite":
        pytest.skip("SQLite's files only")
    setup = make_club(5)
    ballot = open_funding(setup, presented(setup), secret=True)
    option = ballot.options[0].id
    vote_in_order(setup, ballot, PLAN_A, setup.members)
    # While open, the choices are in the files (the WAL holds every version: see docs/security.md).
    path = db.engine.url.database

    ballots.close_early(setup.manager.id, setup.club_id, ballot.id)

    db.session.rollback()
    assert db.session.scalar(text("PRAGMA secure_delete")) == 1
    wal = path + "-wal"
    assert not os.path.exists(wal) or os.path.getsize(wal) == 0, "the write-ahead log still holds old pages"
    with open(path, "rb") as f:
        raw = f.read()
    for table in choice_tables():
        if table.name in ("ballot_count", "ballot_vote"):
            continue  # the totals, written by the close; named votes, in open ballots only
        assert set(table.columns.keys()) == {"id", "club_id", "ballot_id", "option_id", "value"}
        # the row as SQLite stores it, its columns in the file's order
        stored = [row[1] for row in db.session.execute(text(f"PRAGMA table_info({table.name})"))]
        for value in (YES, NO, ABSTAIN):
            row = {"id": None, "club_id": setup.club_id, "ballot_id": ballot.id, "option_id": option, "value": value}
            record = _sqlite_record(*(row[name] for name in stored))
            assert record not in raw, f"a deleted {table.name} row of the ballot is still in the file"
