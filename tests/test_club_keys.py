"""Every club's row carries the club in its keys (migration 0025, docs/scaling.md): the models say so for every
table, the database refuses a row that points into another club, and the migration carries a club's data both
ways."""
from __future__ import annotations

import flask_migrate
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from coop import citus
from coop.extensions import db
from coop.models import BallotVoter, Membership, Posting
from coop.models.audit import OUTSIDE_CLUBS
from coop.models.base import PEOPLE_TABLES, REGION_TABLES
from coop.services import ballots, ledger, meetings, transfers
from tests.services.test_ballot_check import voted_ballot

UNSCOPED = PEOPLE_TABLES | REGION_TABLES | {"club"}


def club_owned_tables():
    return [t for t in db.metadata.sorted_tables if t.name not in UNSCOPED]


def test_people_tables_regions_and_the_club_are_the_only_tables_without_club_id():
    assert {t.name for t in db.metadata.sorted_tables if "club_id" not in t.c} == UNSCOPED


@pytest.mark.parametrize("table", [t.name for t in club_owned_tables()])
def test_every_key_of_a_club_owned_table_names_the_club(table):
    t = db.metadata.tables[table]
    assert "club_id" in t.primary_key.columns, "primary key"
    assert not t.c.club_id.nullable
    for constraint in t.constraints:
        if constraint.__class__.__name__ == "UniqueConstraint":
            assert "club_id" in constraint.columns, constraint.name
    for index in t.indexes:
        if index.unique:
            assert "club_id" in index.columns, index.name
    for fk in t.foreign_key_constraints:
        if fk.referred_table.name in UNSCOPED:
            continue
        assert [c.name for c in fk.columns][1:] == ["club_id"], fk.name
        assert [e.column.name for e in fk.elements] == ["id", "club_id"], fk.name


def test_a_row_pointing_into_another_club_is_refused_by_the_database(make_club):
    first, second = make_club(5), make_club(5)
    ballot_id, _option = voted_ballot(first, secret=False)
    stranger = second.membership_id(second.members[1])
    voters = db.session.scalar(select(func.count()).select_from(BallotVoter))

    with pytest.raises(IntegrityError):
        db.session.execute(insert(BallotVoter).values(club_id=first.club_id, ballot_id=ballot_id,
                                                      membership_id=stranger, recused=False, voted=False))
    db.session.rollback()
    with pytest.raises(IntegrityError):  # nor by claiming the other club: the ballot is not there
        db.session.execute(insert(BallotVoter).values(club_id=second.club_id, ballot_id=ballot_id,
                                                      membership_id=stranger, recused=False, voted=False))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(BallotVoter)) == voters

    # The same row in its own club is taken (a member who joined later, say).
    own = first.membership_id(first.members[0])
    db.session.execute(text("DELETE FROM ballot_voter WHERE ballot_id = :b AND membership_id = :m"),
                       {"b": ballot_id, "m": own})
    db.session.execute(insert(BallotVoter).values(club_id=first.club_id, ballot_id=ballot_id, membership_id=own,
                                                  recused=False, voted=False))
    db.session.rollback()


def test_the_ids_stay_unique_across_clubs(make_club):
    first, second = make_club(5), make_club(5)
    ids = db.session.scalars(select(Membership.id).where(Membership.club_id.in_([first.club_id, second.club_id])))
    ids = list(ids)
    assert len(ids) == len(set(ids)) == 10


def _counts() -> dict[str, tuple]:
    result = {}
    for table in club_owned_tables():
        rows = db.session.execute(select(table.c.club_id, func.count()).group_by(table.c.club_id)).all()
        result[table.name] = sorted(tuple(row) for row in rows)
    return result


def test_the_migration_carries_every_clubs_rows_down_and_up_again(make_club, app, backend):
    if backend == "citus":
        pytest.skip("Citus keeps a distributed table's keys on its distribution column: the schema before 0025 "
                    "(keys on id alone) cannot be distributed")
    first, second = make_club(5), make_club(5, activate=True)
    voted_ballot(first, secret=False)
    voted_ballot(second, secret=True)
    db.session.commit()
    before = _counts()
    postings = db.session.scalar(select(func.count()).select_from(Posting))
    assert postings > 0
    assert before["ballot_voter"] == [(first.club_id, 5), (second.club_id, 5)]
    assert before["audit_entry"][0][0] == OUTSIDE_CLUBS  # the members' registrations
    db.session.remove()

    flask_migrate.downgrade(revision="0024_in_kind")
    db.engine.dispose()
    with db.engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM audit_entry WHERE club_id IS NULL")) > 0
        assert connection.scalar(text("SELECT count(*) FROM ballot_voter")) == 10
    flask_migrate.upgrade()
    db.engine.dispose()

    # Form keys spent before the way down are kept, outside any club: their club was not kept.
    keys = before.pop("used_form_key")
    after = _counts()
    assert after.pop("used_form_key") == [(OUTSIDE_CLUBS, sum(count for _club, count in keys))]
    assert after == before
    assert db.session.scalar(select(func.count()).select_from(Posting)) == postings
    assert ledger.check() == [] and ballots.check() == [] and meetings.check() == [] and transfers.check() == []


@pytest.mark.parametrize(("revision", "table", "wanted"), [
    ("0026_partnerships", "cross_exchange", {"fk_cross_exchange_member_id_membership",
                                             "fk_cross_exchange_partnership_id_partnership"}),
    ("0027_api_tokens", "api_token", {"fk_api_token_membership_id_membership"}),
    ("0028_regions", "region_member", {"fk_region_member_club_id_club", "fk_region_member_ballot_id_ballot"}),
])
def test_a_distributed_install_upgrades_through_each_new_revision_on_citus(app, backend, revision, table, wanted):
    """A migration that adds club tables, on a cluster already distributed: Citus refuses a key from a new
    table into a distributed one, so the migration distributes its tables first, then makes those keys."""
    if backend != "citus":
        pytest.skip("Citus only (TEST_BACKENDS=citus)")
    before = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config()).get_revision(
        revision).down_revision
    db.session.remove()
    flask_migrate.downgrade(revision=before)
    db.engine.dispose()
    with db.engine.connect() as connection:
        assert table not in inspect(connection).get_table_names()
        assert citus.check(connection) == []  # the clubs' tables are still distributed

    flask_migrate.upgrade()
    db.engine.dispose()
    with db.engine.connect() as connection:
        assert citus.check(connection) == []
        keys = {k["name"] for k in inspect(connection).get_foreign_keys(table)}
        ballot_keys = {k["name"] for k in inspect(connection).get_foreign_keys("ballot")}
    assert wanted <= keys
    assert {"fk_ballot_region_id_region", "fk_ballot_partnership_id_partnership"} <= ballot_keys
