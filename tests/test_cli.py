"""The `flask coop` commands: `check` reports ledger violations, `reseal` seals old chains under the key, `demo`
loads only into an empty database."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text

from coop.extensions import db
from coop.models import Account, Club, Contribution, JournalTransaction, Region, RegionCoordinator, User
from coop.services import ledger
from tests.conftest import SERVERS


def run(app, *args):
    db.session.remove()  # the command sees what is committed, as it would from a shell
    return app.test_cli_runner().invoke(args=["coop", *args])


@pytest.fixture
def demo(app):
    result = run(app, "demo")
    assert result.exit_code == 0, result.output
    return result


def test_demo_loads_a_club_and_prints_logins(app, demo):
    assert "camille@demo.entraide.example" in demo.output
    assert db.session.scalar(select(func.count()).select_from(Club)) == 1
    assert db.session.scalar(select(func.count()).select_from(User)) == 8
    assert db.session.scalar(select(func.count()).select_from(JournalTransaction)) > 0


def test_check_passes_on_demo_data(app, demo):
    result = run(app, "check")
    assert result.exit_code == 0, result.output
    assert "all invariants hold" in result.output


def test_distribute_refuses_a_database_without_citus(app, backend):
    if backend == "citus":
        pytest.skip("a database without Citus")
    result = run(app, "distribute")
    assert result.exit_code == 1
    assert "this database has no Citus" in result.output


def test_on_citus_every_table_is_distributed_and_check_says_so(app, demo, backend):
    if backend != "citus":
        pytest.skip("Citus only (TEST_BACKENDS=citus)")
    again = run(app, "distribute")
    assert again.exit_code == 0, again.output
    assert "already distributed" in again.output
    placed = dict(db.session.execute(text(
        "SELECT logicalrelid::text, partmethod FROM pg_dist_partition")).all())
    tables = db.session.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                     "AND tablename <> 'alembic_version'")).all()
    assert set(tables) <= set(placed)
    assert {t for t, method in placed.items() if method == "n"} == {"user_account", "password_reset", "rate_count",
                                                                   "region", "region_coordinator"}
    result = run(app, "check")
    assert result.exit_code == 0, result.output

    # A table left out of the distribution (say, added by hand) is a violation, and one without a club the
    # distribution refuses to guess about.
    db.session.execute(text("CREATE TABLE stray (id integer PRIMARY KEY)"))
    db.session.commit()
    try:
        result = run(app, "check")
        assert result.exit_code == 1
        assert "Citus: stray" in result.output
        refused = run(app, "distribute")
        assert refused.exit_code == 1
        assert "stray" in refused.output
    finally:
        db.session.execute(text("DROP TABLE stray"))
        db.session.commit()
    assert run(app, "check").exit_code == 0


def test_the_demo_is_sealed_under_the_chain_key_and_reseal_leaves_it_alone(app, demo):
    """New books are keyed from their first transaction: `flask coop reseal` has nothing to do (and says so)."""
    before = db.session.execute(select(JournalTransaction.id, JournalTransaction.hash)
                                .order_by(JournalTransaction.id)).all()
    result = run(app, "reseal")
    assert result.exit_code == 0, result.output
    assert "transaction(s) sealed" not in result.output
    assert "every chain is sealed under the key" in result.output
    assert db.session.execute(select(JournalTransaction.id, JournalTransaction.hash)
                              .order_by(JournalTransaction.id)).all() == before
    assert run(app, "check").exit_code == 0


def test_check_fails_on_a_corrupted_cached_balance(app, demo):
    bank = db.session.scalar(select(Account).where(Account.code == "bank"))
    club_id, bank_id, cached = bank.club_id, bank.id, bank.balance
    db.session.execute(text("UPDATE account SET balance = balance + 1 WHERE code = 'bank'"))
    db.session.commit()

    result = run(app, "check")
    assert result.exit_code == 1
    assert "1 violation(s)" in result.stderr
    assert f"invariant 3 (club {club_id}): account bank (#{bank_id}) caches {cached + 1} " \
           f"but its postings sum to {cached}" in result.stderr


def test_check_fails_on_an_unbalanced_transaction(app, demo):
    bank = db.session.scalar(select(Account).where(Account.code == "bank"))
    club_id, bank_id = bank.club_id, bank.id
    txn_id = db.session.scalar(
        text("INSERT INTO journal_transaction (club_id, unit, kind, memo, occurred_on, idempotency_key, created_at) "
             "VALUES (:club, 'money', 'adjustment', 'raw', :day, 'raw-sql-unbalanced', :now) RETURNING id"),
        {"club": club_id, "day": date.today(), "now": date.today()},
    )
    db.session.execute(
        text("INSERT INTO posting (club_id, transaction_id, account_id, amount) VALUES (:club, :txn, :acc, 500)"),
        {"club": club_id, "txn": txn_id, "acc": bank_id},
    )
    # Keep the cached balance in step, so that only invariant 1 is broken.
    db.session.execute(text("UPDATE account SET balance = balance + 500 WHERE id = :id"), {"id": bank_id})
    db.session.commit()

    result = run(app, "check")
    assert result.exit_code == 1
    # Written behind the ledger's back, it is also outside the hash chain (invariant 12).
    assert "2 violation(s)" in result.stderr
    assert f"invariant 1 (club {club_id}): transaction {txn_id} has 1 postings summing to 500" in result.stderr
    assert f"invariant 12 (club {club_id}): 1 transaction(s) have no place in the hash chain" in result.stderr


def test_check_fails_when_a_contribution_disagrees_with_the_capital_it_credited(app, demo):
    """The register and the ledger must agree: a contribution row whose amount was changed behind the
    services' back no longer matches what its transaction credited to the member's capital."""
    contribution_id, amount, club_id = db.session.execute(
        select(Contribution.id, Contribution.amount, Contribution.club_id).order_by(Contribution.id).limit(1)).one()
    db.session.execute(text("UPDATE contribution SET amount = amount + 100 WHERE id = :id"), {"id": contribution_id})
    db.session.commit()

    result = run(app, "check")
    assert result.exit_code == 1
    assert f"invariant 7 (club {club_id}): contribution {contribution_id} of {amount + 100} credited {amount} " \
           "to the member's capital" in result.stderr


def test_check_fails_on_mixed_units(app, demo):
    bank = db.session.scalar(select(Account).where(Account.code == "bank"))
    time = db.session.scalar(select(Account).where(Account.code.like("time:%")).order_by(Account.id))
    club_id, bank_id, time_id = bank.club_id, bank.id, time.id
    txn_id = db.session.scalar(
        text("INSERT INTO journal_transaction (club_id, unit, kind, memo, occurred_on, idempotency_key, created_at) "
             "VALUES (:club, 'money', 'adjustment', 'raw', :day, 'raw-sql-mixed', :now) RETURNING id"),
        {"club": club_id, "day": date.today(), "now": date.today()},
    )
    for account_id, amount in ((bank_id, 60), (time_id, -60)):
        db.session.execute(
            text("INSERT INTO posting (club_id, transaction_id, account_id, amount) VALUES (:club, :txn, :acc, :amt)"),
            {"club": club_id, "txn": txn_id, "acc": account_id, "amt": amount},
        )
        db.session.execute(text("UPDATE account SET balance = balance + :amt WHERE id = :id"),
                           {"amt": amount, "id": account_id})
    db.session.commit()

    result = run(app, "check")
    assert result.exit_code == 1
    assert f"invariant 6 (club {club_id}):" in result.stderr
    assert f"into money transaction {txn_id}" in result.stderr


def test_check_reports_a_missing_append_only_trigger(app, demo, backend):
    """Dropped inside one transaction that is rolled back afterwards (PostgreSQL's schema is shared)."""
    db.session.remove()
    if backend in SERVERS:
        db.session.execute(text("ALTER TABLE posting DISABLE TRIGGER posting_no_delete"))
    else:
        db.session.execute(text("DROP TRIGGER posting_no_delete"))
    try:
        messages = [str(v) for v in ledger.check()]
    finally:
        db.session.rollback()
    assert messages == ["invariant 2 (database): trigger posting_no_delete is missing or disabled"]
    assert ledger.check() == []


def test_demo_refuses_a_non_empty_database(app, demo):
    users = db.session.scalar(select(func.count()).select_from(User))
    result = run(app, "demo")
    assert result.exit_code == 1
    assert "Refused:" in result.stderr
    assert db.session.scalar(select(func.count()).select_from(User)) == users


def test_demo_if_empty_on_a_non_empty_database(app, demo):
    users = db.session.scalar(select(func.count()).select_from(User))
    result = run(app, "demo", "--if-empty")
    assert result.exit_code == 0, result.output
    assert "no demo loaded" in result.output
    assert "camille@demo.entraide.example" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == users


def test_demo_refuses_when_only_a_user_exists(app, make_user):
    make_user()
    result = run(app, "demo")
    assert result.exit_code == 1
    assert db.session.scalar(select(func.count()).select_from(Club)) == 0


def test_demo_if_empty_loads_into_an_empty_database(app):
    result = run(app, "demo", "--if-empty")
    assert result.exit_code == 0, result.output
    assert "loaded" in result.output
    assert db.session.scalar(select(func.count()).select_from(Club)) == 1
    assert run(app, "check").exit_code == 0


def test_region_create_makes_an_association_with_its_first_coordinator(app, make_user):
    person = make_user()
    result = run(app, "region", "create", "Cigales du Sud-Est", "--coordinator", person.email.upper(),
                 "--description", "Les clubs de la Drôme")
    assert result.exit_code == 0, result.output
    region = db.session.scalars(select(Region)).one()
    assert f"Association {region.id} “Cigales du Sud-Est” created" in result.output
    assert (region.name, region.description) == ("Cigales du Sud-Est", "Les clubs de la Drôme")
    assert db.session.scalars(select(RegionCoordinator.user_id)).all() == [person.id]


@pytest.mark.parametrize(("args", "message"), [
    (["Cigales du Sud-Est", "--coordinator", "nobody@example.org"], "Nobody has an account"),
    (["cigales du sud-est", "--coordinator", "KNOWN"], "already exists"),
    (["", "--coordinator", "KNOWN"], "Refused"),
    (["x" * 200, "--coordinator", "KNOWN"], "Refused"),
])
def test_region_create_refuses_and_writes_nothing(app, make_user, args, message):
    person = make_user()
    assert run(app, "region", "create", "Cigales du Sud-Est", "--coordinator", person.email).exit_code == 0
    result = run(app, "region", "create", *[person.email if a == "KNOWN" else a for a in args])
    assert result.exit_code == 1
    assert message in result.output
    assert db.session.scalar(select(func.count()).select_from(Region)) == 1
    assert db.session.scalar(select(func.count()).select_from(RegionCoordinator)) == 1


def test_region_create_needs_a_coordinator(app):
    result = run(app, "region", "create", "Cigales du Sud-Est")
    assert result.exit_code == 2
    assert "--coordinator" in result.output
    assert db.session.scalar(select(func.count()).select_from(Region)) == 0
