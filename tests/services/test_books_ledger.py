"""The treasurer's books at the ledger level: the hash chain (invariant 12) and its tamper evidence, closing a
period, balance checks against bank statements, the audit log, and two postings racing for the chain head."""
from __future__ import annotations

import hashlib
import hmac
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
import sqlalchemy.exc
from sqlalchemy import func, select, text

from coop.extensions import db
from coop.models import (
    AccountType,
    AuditEntry,
    Contribution,
    JournalTransaction,
    LedgerHead,
    PeriodClose,
    Posting,
    TransactionKind,
    Unit,
)
from coop.models.base import utcnow
from coop.services import books, fund, ledger
from coop.services import clubs as ms
from coop.services.errors import Conflict, InvalidInput, NotFound, NotPermitted, RuleViolation
from tests.conftest import SERVERS, at_once, by_id, key, pause_after, refused, snapshot

MONEY, TIME = Unit.MONEY, Unit.TIME
JAN_5, JAN_10, JAN_15, JAN_20 = date(2026, 1, 5), date(2026, 1, 10), date(2026, 1, 15), date(2026, 1, 20)
JAN_30, JAN_31, FEB_1 = date(2026, 1, 30), date(2026, 1, 31), date(2026, 2, 1)
MAR_2, MAR_10, MAR_15, MAR_31 = date(2026, 3, 2), date(2026, 3, 10), date(2026, 3, 15), date(2026, 3, 31)


# --- Helpers --------------------------------------------------------------------------------------------------


def contribute(setup, user, amount: int, on: date, *, idempotency_key: str | None = None, by=None) -> Contribution:
    return fund.record_contribution((by or setup.treasurer).id, setup.club_id, membership_id=setup.membership_id(user),
                                    amount=amount, received_on=on, method="transfer", bank_reference="virement",
                                    idempotency_key=idempotency_key or key())


def acc(club_id: int, code: str) -> int:
    return ledger.find_account(club_id, code).id


def fees_account(club_id: int) -> int:
    return ledger.open_account(club_id, code="expense:fees", name="Frais bancaires", type=AccountType.EXPENSE,
                               unit=MONEY).id


def pay_fee(club_id: int, amount: int, on: date, *, memo: str = "Frais") -> JournalTransaction:
    """A bank fee: the expense account debited, the bank credited."""
    return ledger.post(club_id, unit=MONEY, kind=TransactionKind.FEE, occurred_on=on, memo=memo,
                       lines=[(acc(club_id, "expense:fees"), amount), (acc(club_id, "bank"), -amount)],
                       idempotency_key=key())


def chain_of(club_id: int) -> list[tuple[int, int, str]]:
    """(id, seq, hash) of the club's transactions in the order they were written."""
    rows = db.session.execute(select(JournalTransaction.id, JournalTransaction.seq, JournalTransaction.hash)
                              .where(JournalTransaction.club_id == club_id).order_by(JournalTransaction.id)).all()
    return [tuple(r) for r in rows]


def head_of(club_id: int) -> tuple[int, str]:
    return tuple(db.session.execute(select(LedgerHead.seq, LedgerHead.hash)
                                    .where(LedgerHead.club_id == club_id)).one())


def run_check(app):
    db.session.remove()  # the command sees what is committed, as it would from a shell
    return app.test_cli_runner().invoke(args=["coop", "check"])


# --- The append-only guards, lifted for a tampering test --------------------------------------------------------

GUARDED = ("journal_transaction", "posting")


def _guard(backend: str, table: str, action: str = "update") -> str:
    """The update (or delete) guard as migration 0001 (create_append_only_guards) makes it."""
    if backend in SERVERS:
        return (f"CREATE TRIGGER {table}_no_{action} BEFORE {action.upper()} ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION coop_append_only()")
    return (f"CREATE TRIGGER {table}_no_{action} BEFORE {action.upper()} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only: record a reversal instead'); END")


@contextmanager
def guards_lifted(backend: str, actions: tuple[str, ...] = ("update",)):
    """Someone with the database's password edits ledger rows: the update guards are dropped, the body edits
    rows, the guards are put back and everything commits in one transaction. Whatever happens, the guards are
    in place afterwards (PostgreSQL's schema is shared by the tests that follow)."""
    db.session.remove()
    on = (lambda table: f" ON {table}") if backend in SERVERS else (lambda table: "")
    try:
        for table in GUARDED:
            for action in actions:
                db.session.execute(text(f"DROP TRIGGER {table}_no_{action}{on(table)}"))
        yield
        for table in GUARDED:
            for action in actions:
                db.session.execute(text(_guard(backend, table, action)))
        db.session.commit()
    finally:
        db.session.rollback()
        present = ledger._triggers_present()
        for table in GUARDED:
            if f"{table}.{table}_no_update" not in present:
                db.session.execute(text(_guard(backend, table)))
        db.session.commit()


def assert_guards_back() -> None:
    for statement in ("UPDATE posting SET amount = amount", "UPDATE journal_transaction SET memo = memo"):
        with pytest.raises(sqlalchemy.exc.DBAPIError) as info:
            db.session.execute(text(statement))
            db.session.commit()
        assert "append-only" in str(info.value)
        db.session.rollback()


# --- 1. The hash chain -------------------------------------------------------------------------------------------


def test_each_club_numbers_its_transactions_without_a_gap_and_the_chain_checks(app, make_club):
    a, b = make_club(5), make_club(5, name="Fourmi des Tests")
    fees_account(a.club_id)
    b_fees = fees_account(b.club_id)
    # The two clubs' postings interleave: each club's numbers still run 1, 2, 3 … on their own.
    first = contribute(a, a.members[0], 40_000, JAN_5)
    contribute(b, b.members[0], 30_000, JAN_5)
    contribute(a, a.members[2], 10_000, JAN_10)
    pay_fee(b.club_id, 250, JAN_10)
    fee = pay_fee(a.club_id, 300, JAN_15)
    contribute(b, b.members[1], 5_000, JAN_20)
    ledger.reverse(a.club_id, fee.id, reason="Frais remboursés", idempotency_key=key(), author_id=a.treasurer.id,
                   occurred_on=JAN_20)
    ledger.post_many(b.club_id, unit=MONEY, author_id=b.treasurer.id, entries=[
        ledger.Entry(TransactionKind.FEE, [(b_fees, 100), (acc(b.club_id, "bank"), -100)], key(), JAN_20),
        ledger.Entry(TransactionKind.FEE, [(b_fees, 200), (acc(b.club_id, "bank"), -200)], key(), JAN_31),
    ])

    chain_a, chain_b = chain_of(a.club_id), chain_of(b.club_id)
    assert [seq for _, seq, _ in chain_a] == [1, 2, 3, 4]
    assert [seq for _, seq, _ in chain_b] == [1, 2, 3, 4, 5]
    assert head_of(a.club_id) == (4, chain_a[-1][2])
    assert head_of(b.club_id) == (5, chain_b[-1][2])

    # The first link, sealed by hand in the fixed text form of version 2: genesis hash, club, number, unit,
    # kind, date, memo, author, key, reversal link, postings sorted "account:amount"; HMAC-SHA256 under the
    # chain key, which the database does not hold.
    txn = by_id(JournalTransaction, first.transaction_id)
    bank, capital = acc(a.club_id, "bank"), acc(a.club_id, f"capital:{a.membership_id(a.members[0])}")
    lines = ";".join(f"{account}:{amount}" for account, amount in sorted([(bank, 40_000), (capital, -40_000)]))
    content = "\x1f".join(["v2", "0" * 64, str(a.club_id), "1", "money", "contribution", "2026-01-05", txn.memo,
                           str(a.treasurer.id), txn.idempotency_key, "", lines])
    assert txn.hash == chain_a[0][2] == hmac.new(app.config["CHAIN_KEY"].encode(), content.encode(),
                                                 hashlib.sha256).hexdigest()
    assert app.config["CHAIN_KEY"] == "test-only-chain-key"

    assert ledger.check() == []
    result = run_check(app)
    assert result.exit_code == 0, result.output
    assert "all invariants hold" in result.output


@pytest.fixture
def tampered_club(make_club):
    """A club with five transactions; the fee of Jan 15 (number 3) is the one someone edits later."""
    setup = make_club(5)
    fees_account(setup.club_id)
    contribute(setup, setup.members[0], 40_000, JAN_5)  # 1
    contribute(setup, setup.members[1], 20_000, JAN_10)  # 2
    fee = pay_fee(setup.club_id, 1_500, JAN_15, memo="Frais de tenue de compte")  # 3
    pay_fee(setup.club_id, 700, JAN_20)  # 4
    contribute(setup, setup.members[2], 5_000, JAN_31)  # 5
    ids = [txn_id for txn_id, _, _ in chain_of(setup.club_id)]
    db.session.rollback()
    assert ledger.check() == []
    return setup, fee.id, ids


def test_an_amount_changed_behind_the_ledgers_back_is_caught_by_the_chain_only(app, backend, tampered_club):
    setup, fee_id, _ = tampered_club
    bank, fees = acc(setup.club_id, "bank"), acc(setup.club_id, "expense:fees")
    db.session.rollback()
    # 15.00 of fees become 16.00: both postings and both cached balances move together, so the transaction
    # still balances (invariant 1) and the balances still match their postings (invariant 3).
    with guards_lifted(backend):
        db.session.execute(text("UPDATE posting SET amount = amount + 100 WHERE transaction_id = :t AND account_id = :a"),
                           {"t": fee_id, "a": fees})
        db.session.execute(text("UPDATE posting SET amount = amount - 100 WHERE transaction_id = :t AND account_id = :a"),
                           {"t": fee_id, "a": bank})
        db.session.execute(text("UPDATE account SET balance = balance + 100 WHERE id = :a"), {"a": fees})
        db.session.execute(text("UPDATE account SET balance = balance - 100 WHERE id = :a"), {"a": bank})
    assert db.session.scalar(select(Posting.amount).where(Posting.transaction_id == fee_id,
                                                         Posting.account_id == fees)) == 1_600
    assert ledger.balance_of(bank) == 40_000 + 20_000 - 1_600 - 700 + 5_000

    result = run_check(app)
    assert result.exit_code == 1
    assert "Check: 1 violation(s)." in result.stderr
    assert (f"invariant 12 (club {setup.club_id}): transaction {fee_id} (number 3) does not match its hash"
            in result.stderr)
    assert_guards_back()


def test_a_changed_memo_is_caught_by_the_chain(app, backend, tampered_club):
    setup, fee_id, _ = tampered_club
    with guards_lifted(backend):
        db.session.execute(text("UPDATE journal_transaction SET memo = 'Cadeau' WHERE id = :t"), {"t": fee_id})

    violations = [str(v) for v in ledger.check()]
    assert violations == [f"invariant 12 (club {setup.club_id}): transaction {fee_id} (number 3) does not match "
                          "its hash: it or an earlier one was changed"]
    result = run_check(app)
    assert result.exit_code == 1
    assert f"transaction {fee_id} (number 3) does not match its hash" in result.stderr
    assert_guards_back()


def reseal_plainly(club_id: int, from_seq: int) -> None:
    """What anyone who can write to the database can do: seal the transactions again with plain SHA-256 (the
    published algorithm) from ``from_seq`` on, and move the head to the new last hash."""
    prev = db.session.scalar(select(JournalTransaction.hash).where(JournalTransaction.club_id == club_id,
                                                                  JournalTransaction.seq == from_seq - 1)) or "0" * 64
    for txn in db.session.scalars(select(JournalTransaction).where(JournalTransaction.club_id == club_id,
                                                                   JournalTransaction.seq >= from_seq)
                                  .order_by(JournalTransaction.seq)).all():
        lines = [(p.account_id, p.amount) for p in txn.postings]
        prev = hashlib.sha256("\x1f".join([
            "v1", prev, str(club_id), str(txn.seq), txn.unit, txn.kind, txn.occurred_on.isoformat(), txn.memo or "",
            "" if txn.author_id is None else str(txn.author_id), txn.idempotency_key,
            "" if txn.reverses_id is None else str(txn.reverses_id),
            ";".join(f"{a}:{m}" for a, m in sorted(lines))]).encode()).hexdigest()
        db.session.execute(text("UPDATE journal_transaction SET hash = :h WHERE id = :t"), {"h": prev, "t": txn.id})
        db.session.execute(text("UPDATE ledger_head SET seq = :s, hash = :h WHERE club_id = :c"),
                           {"s": txn.seq, "h": prev, "c": club_id})


def test_an_edit_sealed_again_with_plain_sha256_is_caught_by_the_keyed_chain(app, backend, tampered_club):
    """Editing an amount and computing the chain again is in reach of anyone with write access, unless the chain
    is keyed with a secret kept outside the database (HMAC-SHA256)."""
    setup, fee_id, ids = tampered_club
    bank, fees = acc(setup.club_id, "bank"), acc(setup.club_id, "expense:fees")
    with guards_lifted(backend):
        for account, change in ((fees, 100), (bank, -100)):
            db.session.execute(text("UPDATE posting SET amount = amount + :c WHERE transaction_id = :t "
                                    "AND account_id = :a"), {"c": change, "t": fee_id, "a": account})
            db.session.execute(text("UPDATE account SET balance = balance + :c WHERE id = :a"),
                               {"c": change, "a": account})
        reseal_plainly(setup.club_id, 3)

    violations = [str(v) for v in ledger.check()]
    assert f"invariant 12 (club {setup.club_id}): transaction {fee_id} (number 3) does not match its hash: it or an " \
           "earlier one was changed" in violations
    result = run_check(app)
    assert result.exit_code == 1
    assert f"transaction {fee_id} (number 3) does not match its hash" in result.stderr
    assert_guards_back()


def test_deleting_the_last_transactions_and_the_head_is_caught_by_the_recorded_close(app, backend, tampered_club):
    """The chain alone cannot see its own end cut off: each period close records the head (number and hash),
    and the check compares the chain with every record."""
    setup, _, ids = tampered_club
    period = books.close_period(setup.treasurer.id, setup.club_id, through=date(2026, 1, 31), today=date(2026, 2, 3))
    assert (period.head_seq, period.head_hash) == head_of(setup.club_id) == (5, chain_of(setup.club_id)[-1][2])
    third = chain_of(setup.club_id)[2][2]
    cut = ids[3:]  # numbers 4 and 5: the fee of Jan 20 and the contribution of Jan 31
    with guards_lifted(backend, ("update", "delete")):
        for txn_id in cut:
            for account, amount in db.session.execute(text("SELECT account_id, amount FROM posting "
                                                           "WHERE transaction_id = :t"), {"t": txn_id}).all():
                db.session.execute(text("UPDATE account SET balance = balance - :m WHERE id = :a"),
                                   {"m": amount, "a": account})
            db.session.execute(text("DELETE FROM contribution WHERE transaction_id = :t"), {"t": txn_id})
            db.session.execute(text("DELETE FROM posting WHERE transaction_id = :t"), {"t": txn_id})
            db.session.execute(text("DELETE FROM journal_transaction WHERE id = :t"), {"t": txn_id})
        db.session.execute(text("UPDATE ledger_head SET seq = 3, hash = :h WHERE club_id = :c"),
                           {"h": third, "c": setup.club_id})

    violations = [str(v) for v in ledger.check()]
    assert violations == [f"invariant 12 (club {setup.club_id}): the close through 2026-01-31 recorded the chain's "
                          "head at number 5, but the chain ends at number 3: transactions were deleted"]
    result = run_check(app)
    assert result.exit_code == 1
    assert "recorded the chain's head at number 5" in result.stderr
    assert_guards_back()


def test_a_recorded_close_whose_head_no_longer_matches_is_caught(app, backend, tampered_club):
    setup, _, ids = tampered_club
    books.close_period(setup.treasurer.id, setup.club_id, through=date(2026, 1, 31), today=date(2026, 2, 3))
    db.session.rollback()
    db.session.execute(text("UPDATE period_close SET head_hash = :h WHERE club_id = :c"),
                       {"h": "e" * 64, "c": setup.club_id})
    db.session.commit()

    assert [str(v) for v in ledger.check()] == [
        f"invariant 12 (club {setup.club_id}): the close through 2026-01-31 recorded the chain's head at number 5 "
        f"with another hash than transaction {ids[4]} holds: the books were changed since"]


def test_a_chain_sealed_before_the_key_is_reported_until_resealed(app, backend, tampered_club):
    """Books from before the key: their chain was sealed plain (version 1). The check says so, postings go on
    keyed after them, and `flask coop reseal` seals the whole chain under the key, once."""
    setup, fee_id, ids = tampered_club
    period = books.close_period(setup.treasurer.id, setup.club_id, through=date(2026, 1, 31),
                                today=date(2026, 2, 3)).id
    with guards_lifted(backend):
        reseal_plainly(setup.club_id, 1)
        db.session.execute(text("UPDATE period_close SET head_hash = (SELECT hash FROM ledger_head WHERE club_id = :c) "
                                "WHERE id = :p AND club_id = :c"), {"c": setup.club_id, "p": period})
    pay_fee(setup.club_id, 300, date(2026, 2, 2))  # number 6, keyed, on top of the plain chain
    legacy = (f"invariant 12 (club {setup.club_id}): numbers 1 to 5 of the chain are sealed without the key: run "
              "`flask coop reseal` once after the upgrade (docs/security.md); on books already resealed, this "
              "means they were rewritten")
    assert [str(v) for v in ledger.check()] == [legacy]
    assert run_check(app).exit_code == 1

    result = app.test_cli_runner().invoke(args=["coop", "reseal"])

    assert result.exit_code == 0, result.output
    assert f"Club {setup.club_id}: 6 transaction(s) sealed under the key." in result.output
    db.session.remove()
    assert ledger.check() == []
    assert fresh_close(period) == (5, chain_of(setup.club_id)[4][2])  # the recorded head follows
    again = app.test_cli_runner().invoke(args=["coop", "reseal"])
    assert again.exit_code == 0 and "transaction(s) sealed" not in again.output  # once: nothing left to seal
    assert_guards_back()


def test_reseal_refuses_a_chain_that_does_not_check(app, backend, tampered_club):
    setup, fee_id, _ = tampered_club
    with guards_lifted(backend):
        reseal_plainly(setup.club_id, 1)
        db.session.execute(text("UPDATE journal_transaction SET memo = 'Cadeau' WHERE id = :t"), {"t": fee_id})
    before = chain_of(setup.club_id)

    result = app.test_cli_runner().invoke(args=["coop", "reseal"])

    assert result.exit_code == 1
    assert f"Club {setup.club_id}: refused" in result.stderr
    db.session.remove()
    assert chain_of(setup.club_id) == before
    assert_guards_back()


def fresh_close(period_id: int) -> tuple[int, str]:
    db.session.remove()
    return tuple(db.session.execute(select(PeriodClose.head_seq, PeriodClose.head_hash)
                                    .where(PeriodClose.id == period_id)).one())


def test_a_changed_stored_hash_is_caught_by_the_chain(app, backend, tampered_club):
    setup, fee_id, ids = tampered_club
    with guards_lifted(backend):
        db.session.execute(text("UPDATE journal_transaction SET hash = :h WHERE id = :t"),
                           {"h": "f" * 64, "t": fee_id})

    # Number 3 no longer matches its content, and number 4 was sealed on the real hash of number 3.
    violations = [str(v) for v in ledger.check()]
    assert violations == [
        f"invariant 12 (club {setup.club_id}): transaction {fee_id} (number 3) does not match its hash: it or an "
        "earlier one was changed",
        f"invariant 12 (club {setup.club_id}): transaction {ids[3]} (number 4) does not match its hash: it or an "
        "earlier one was changed",
    ]
    result = run_check(app)
    assert result.exit_code == 1
    assert f"invariant 12 (club {setup.club_id}): transaction {fee_id} (number 3)" in result.stderr
    assert_guards_back()


# --- 2. Closing a period -----------------------------------------------------------------------------------------


#: The form that recorded M's contribution of January 5th, sent again in the tests below.
JAN_5_FORM = "5" * 32


@pytest.fixture
def january(make_club):
    """Manager M, treasurer T, member X (two more members do nothing). January: M 300.00 (5th), X gives M
    90 minutes (10th), T 200.00 (20th), X 50.00 on the 31st itself; then M 70.00 on Feb 1."""
    setup = make_club(5)
    manager, treasurer, member = setup.members[:3]
    contribute(setup, manager, 30_000, JAN_5, idempotency_key=JAN_5_FORM)
    exchange = ledger.post(setup.club_id, unit=TIME, kind=TransactionKind.EXCHANGE, occurred_on=JAN_10,
                           idempotency_key="exchange-jan-10",
                           lines=[(acc(setup.club_id, f"time:{setup.membership_id(member)}"), 90),
                                  (acc(setup.club_id, f"time:{setup.membership_id(manager)}"), -90)])
    contribute(setup, treasurer, 20_000, JAN_20)
    contribute(setup, member, 5_000, JAN_31)
    contribute(setup, manager, 7_000, FEB_1)
    setup.exchange_id = exchange.id
    db.session.rollback()
    return setup


def close_january(setup, **kw):
    return books.close_period(setup.treasurer.id, setup.club_id, through=JAN_31, note="Janvier",
                              today=kw.pop("today", FEB_1), **kw)


def test_the_treasurer_closes_january_and_each_account_keeps_its_balance_that_day(january):
    setup = january
    manager, treasurer, member, y, z = setup.members
    period = close_january(setup)

    mid = setup.membership_id
    code_of = {a.id: a.code for a in ledger.accounts_of(setup.club_id)}
    kept = {code_of[b.account_id]: b.balance for b in by_id(PeriodClose, period.id).balances}
    # Up to Jan 31 included, Feb 1 left out: bank 300 + 200 + 50 = 550.00; each capital credited what its
    # member paid in January; 90 minutes given by X to M.
    assert kept == {
        "bank": 55_000,
        f"capital:{mid(manager)}": -30_000, f"capital:{mid(treasurer)}": -20_000, f"capital:{mid(member)}": -5_000,
        f"time:{mid(member)}": 90, f"time:{mid(manager)}": -90, f"time:{mid(treasurer)}": 0,
        f"capital:{mid(y)}": 0, f"capital:{mid(z)}": 0, f"time:{mid(y)}": 0, f"time:{mid(z)}": 0,
    }
    assert books.closed_through(setup.club_id) == JAN_31
    assert [(p.through, p.note) for p in books.periods(setup.manager.id, setup.club_id)] == [(JAN_31, "Janvier")]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "books.close"))
    assert (entry.actor_id, entry.object_id, entry.club_id) == (treasurer.id, period.id, setup.club_id)
    # The cached balances still include February: closing changes no account.
    assert ledger.balance_of(acc(setup.club_id, "bank")) == 62_000
    assert ledger.check() == []


def test_only_the_treasurer_closes_a_period(january):
    setup = january
    manager, _, member = setup.members[:3]
    refused(lambda: books.close_period(manager.id, setup.club_id, through=JAN_31, today=FEB_1), NotPermitted)
    refused(lambda: books.close_period(member.id, setup.club_id, through=JAN_31, today=FEB_1), NotPermitted)
    assert books.closed_through(setup.club_id) is None


def test_the_manager_closes_when_the_charter_lets_them_record_money(make_club):
    setup = make_club(5, activate=False)
    ms.amend_charter(setup.manager.id, setup.club_id, {"manager_records_money": True})
    ms.activate(setup.manager.id, setup.club_id)
    contribute(setup, setup.members[2], 12_345, JAN_10, by=setup.manager)
    period = books.close_period(setup.manager.id, setup.club_id, through=JAN_31, today=FEB_1)
    kept = {b.account_id: b.balance for b in by_id(PeriodClose, period.id).balances}
    assert kept[acc(setup.club_id, "bank")] == 12_345
    assert books.closed_through(setup.club_id) == JAN_31


@pytest.mark.parametrize("through", [JAN_30, date(2026, 2, 27), date(2026, 2, 1), date(2025, 12, 30)])
def test_a_period_ends_on_the_last_day_of_a_month(january, through):
    error = refused(lambda: books.close_period(january.treasurer.id, january.club_id, through=through,
                                               today=date(2026, 6, 1)), InvalidInput)
    assert error.field == "through"


def test_the_last_day_of_any_month_or_year_closes(make_club):
    setup = make_club(5)
    for through in (date(2025, 12, 31), date(2026, 2, 28), date(2026, 4, 30)):
        books.close_period(setup.treasurer.id, setup.club_id, through=through, today=date(2026, 6, 1))
        assert books.closed_through(setup.club_id) == through


def test_a_period_that_is_not_over_cannot_be_closed(january):
    # Jan 31 is closed from Feb 1 on, not on Jan 31 itself.
    error = refused(lambda: close_january(january, today=JAN_31), RuleViolation)
    assert (error.rule, error.field) == ("period", "through")
    refused(lambda: close_january(january, today=JAN_15), RuleViolation, rule="period")


def test_a_close_must_come_after_the_previous_one(january):
    close_january(january)
    error = refused(lambda: close_january(january, today=date(2026, 3, 1)), Conflict)
    assert error.field == "through"
    refused(lambda: books.close_period(january.treasurer.id, january.club_id, through=date(2025, 12, 31),
                                       today=date(2026, 3, 1)), Conflict)
    books.close_period(january.treasurer.id, january.club_id, through=date(2026, 2, 28), today=date(2026, 3, 1))
    assert books.closed_through(january.club_id) == date(2026, 2, 28)


def test_nothing_is_posted_into_a_closed_period_whatever_the_use_case(january, make_club):
    setup = january
    manager, treasurer, member = setup.members[:3]
    bank, capital_x = acc(setup.club_id, "bank"), acc(setup.club_id, f"capital:{setup.membership_id(member)}")
    close_january(setup)

    for day in (JAN_31, JAN_15, date(2025, 12, 31)):
        error = refused(lambda day=day: ledger.post(
            setup.club_id, unit=MONEY, kind=TransactionKind.CONTRIBUTION, occurred_on=day,
            lines=[(bank, 1_000), (capital_x, -1_000)], idempotency_key=key()), RuleViolation, rule="period")
        assert error.field == "occurred_on"
        assert "2026-01-31" in str(error.message)
    refused(lambda: contribute(setup, member, 1_000, JAN_15), RuleViolation, rule="period")
    refused(lambda: contribute(setup, member, 1_000, JAN_31), RuleViolation, rule="period")
    refused(lambda: ledger.reverse(setup.club_id, setup.exchange_id, reason="Erreur",
                                   idempotency_key=key(), author_id=treasurer.id,
                                   occurred_on=JAN_31), RuleViolation, rule="period")

    # The day after is open: corrections go there.
    contribution = contribute(setup, member, 1_000, FEB_1)
    assert by_id(JournalTransaction, contribution.transaction_id).occurred_on == FEB_1
    reversal = ledger.reverse(setup.club_id, setup.exchange_id, reason="Erreur", idempotency_key=key(),
                              author_id=treasurer.id, occurred_on=FEB_1)
    assert (reversal.occurred_on, reversal.reverses_id) == (FEB_1, setup.exchange_id)
    # bank: 550 (January) + 70 (M, Feb 1) + 10 (X, Feb 1) = 630.00
    assert ledger.balance_of(bank) == 63_000
    assert ledger.check() == []

    # Another club's books are not closed.
    other = make_club(5, name="Fourmi des Tests")
    contribute(other, other.members[1], 1_000, JAN_15)


def test_a_form_sent_again_after_the_close_returns_what_it_recorded(january):
    """The replay check comes before the closed-period check: a contribution form or a posting sent twice, the
    second time after January was closed, gets the original back and writes nothing (it is not refused)."""
    setup = january
    manager, _, member = setup.members[:3]
    original = db.session.scalar(select(Contribution).join(JournalTransaction,
                                                           (JournalTransaction.id == Contribution.transaction_id)
                                                           & (JournalTransaction.club_id == Contribution.club_id))
                                 .where(JournalTransaction.idempotency_key == f"form:{JAN_5_FORM}"))
    original_id = original.id
    close_january(setup)

    before = snapshot()
    again = contribute(setup, manager, 30_000, JAN_5, idempotency_key=JAN_5_FORM)
    assert again.id == original_id
    posted = ledger.post(setup.club_id, unit=TIME, kind=TransactionKind.EXCHANGE, occurred_on=JAN_10,
                         idempotency_key="exchange-jan-10",
                         lines=[(acc(setup.club_id, f"time:{setup.membership_id(member)}"), 90),
                                (acc(setup.club_id, f"time:{setup.membership_id(manager)}"), -90)])
    assert posted.id == setup.exchange_id
    assert snapshot() == before
    # The same key with other content is still a conflict, not a closed-period refusal.
    refused(lambda: contribute(setup, manager, 31_000, JAN_5, idempotency_key=JAN_5_FORM), Conflict)


# --- 3. Balance checks -------------------------------------------------------------------------------------------


@pytest.fixture
def march(make_club):
    """The bank holds 1,000.00 at the end of March (M 600.00 on Mar 2, T 400.00 on Mar 10)."""
    setup = make_club(5)
    contribute(setup, setup.members[0], 60_000, MAR_2)
    contribute(setup, setup.members[1], 40_000, MAR_10)
    db.session.rollback()
    return setup


def stated(setup, amount: int, on: date = MAR_31, **kw):
    return books.assert_balance(setup.treasurer.id, setup.club_id, stated_on=on, amount=amount,
                                source="Relevé de mars", **kw).id


def views(setup) -> dict[int, tuple[int, int, bool]]:
    """assertion id -> (books' balance that day, difference, flagged)."""
    return {v.assertion.id: (v.actual, v.difference, v.flagged)
            for v in books.assertions(setup.treasurer.id, setup.club_id)}


def flagged(setup) -> dict[int, int]:
    return {v.assertion.id: v.difference for v in books.flagged_assertions(setup.club_id)}


def test_a_statement_one_cent_off_the_books_is_flagged_until_an_entry_makes_them_agree(march):
    setup = march
    agrees, over, under = stated(setup, 100_000), stated(setup, 100_001), stated(setup, 99_999)
    # difference = books - statement
    assert views(setup) == {agrees: (100_000, 0, False), over: (100_000, -1, True), under: (100_000, 1, True)}
    assert flagged(setup) == {over: -1, under: 1}

    # A cent received on Mar 15, entered later, dated before the statement's day: now the books say 1,000.01.
    contribute(setup, setup.members[2], 1, MAR_15)
    assert views(setup) == {agrees: (100_001, 1, True), over: (100_001, 0, False), under: (100_001, 2, True)}
    assert flagged(setup) == {agrees: 1, under: 2}
    # Dated after the day, an entry changes nothing for it.
    contribute(setup, setup.members[2], 500, date(2026, 4, 1))
    assert flagged(setup) == {agrees: 1, under: 2}


def test_the_treasurer_explains_a_difference_once(march):
    setup = march
    agrees, off = stated(setup, 100_000), stated(setup, 99_000)
    treasurer = setup.treasurer.id

    refused(lambda: books.resolve_assertion(treasurer, setup.club_id, off, note="  "), InvalidInput)
    refused(lambda: books.resolve_assertion(treasurer, setup.club_id, agrees, note="Rien à dire"), Conflict)
    refused(lambda: books.resolve_assertion(setup.manager.id, setup.club_id, off, note="Frais"), NotPermitted)
    refused(lambda: books.resolve_assertion(setup.members[2].id, setup.club_id, off, note="Frais"), NotPermitted)

    resolved = books.resolve_assertion(treasurer, setup.club_id, off, note="Erreur de la banque, corrigée en avril")
    assert (resolved.status, resolved.resolution, resolved.resolved_by_id) == (
        "resolved", "Erreur de la banque, corrigée en avril", treasurer)
    assert views(setup)[off] == (100_000, 1_000, False)
    assert flagged(setup) == {}
    refused(lambda: books.resolve_assertion(treasurer, setup.club_id, off, note="Encore"), Conflict)


def test_only_the_treasurer_states_a_balance_and_never_for_a_future_day(march):
    setup = march
    manager, _, member = setup.members[:3]
    for user in (manager, member):
        refused(lambda user=user: books.assert_balance(user.id, setup.club_id, stated_on=MAR_31,
                                                       amount=100_000), NotPermitted)
    error = refused(lambda: stated(setup, 100_000, on=date(2026, 4, 1), today=MAR_31), InvalidInput)
    assert error.field == "stated_on"
    refused(lambda: stated(setup, 100_000, on=date.today() + timedelta(days=1)), InvalidInput)
    refused(lambda: stated(setup, 100_000, account_id=acc(setup.club_id,
                                                          f"time:{setup.membership_id(member)}")), InvalidInput)
    assert stated(setup, 100_000, on=MAR_31, today=MAR_31)  # the day itself is not in the future


def test_another_clubs_balance_check_is_not_found(march, make_club):
    other = make_club(5, name="Fourmi des Tests")
    theirs = books.assert_balance(other.treasurer.id, other.club_id, stated_on=MAR_31, amount=5)
    theirs_id = theirs.id
    refused(lambda: books.resolve_assertion(march.treasurer.id, march.club_id, theirs_id, note="Frais"), NotFound)
    assert [v.assertion.id for v in books.assertions(march.treasurer.id, march.club_id)] == []
    assert views(other) == {theirs_id: (0, -5, True)}


# --- 4. Audit log ------------------------------------------------------------------------------------------------


def test_the_audit_log_filters_by_person_object_and_dates_and_pages(make_club):
    setup = make_club(5)
    other = make_club(5, name="Fourmi des Tests")
    contribute(other, other.members[0], 1_000, MAR_2)
    first = contribute(setup, setup.members[0], 10_000, MAR_2).id
    second = contribute(setup, setup.members[2], 20_000, MAR_10).id
    check = stated(setup, 30_000)
    treasurer, club = setup.treasurer.id, setup.club_id

    everything = books.audit_log(setup.manager.id, club, limit=500)
    assert everything.next is None
    ids = [entry.id for entry, _ in everything.entries]
    assert ids == sorted(ids, reverse=True) and len(ids) > 5
    assert {entry.club_id for entry, _ in everything.entries} == {club}
    assert ("club.create", setup.manager.id) in {(e.action, e.actor_id) for e, _ in everything.entries}

    by_treasurer = books.audit_log(setup.manager.id, club, actor_id=treasurer, limit=500).entries
    assert {e.actor_id for e, _ in by_treasurer} == {treasurer}
    assert {name for _, name in by_treasurer} == {setup.treasurer.name}
    assert {("Contribution", first), ("Contribution", second), ("BalanceAssertion", check)} <= {
        (e.object_type, e.object_id) for e, _ in by_treasurer}

    contributions = books.audit_log(treasurer, club, object_type="Contribution").entries
    assert [(e.action, e.object_id) for e, _ in contributions] == [("contribution.record", second),
                                                                  ("contribution.record", first)]
    one = books.audit_log(treasurer, club, object_type="Contribution", object_id=first).entries
    assert [(e.action, e.object_id, e.after["amount"]) for e, _ in one] == [("contribution.record", first, 10_000)]

    today = utcnow().date()
    assert len(books.audit_log(treasurer, club, start=today, end=today, limit=500).entries) == len(ids)
    assert books.audit_log(treasurer, club, end=today - timedelta(days=1)).entries == []
    assert books.audit_log(treasurer, club, start=today + timedelta(days=1)).entries == []
    refused(lambda: books.audit_log(treasurer, club, start=today, end=today - timedelta(days=1)), InvalidInput)

    # Pages of 3, each continuing below the last id shown, add up to the whole log with no repeat.
    pages, before_id = [], None
    while True:
        page = books.audit_log(treasurer, club, limit=3, before_id=before_id)
        pages.append([entry.id for entry, _ in page.entries])
        if page.next is None:
            break
        assert page.next == pages[-1][-1]
        before_id = page.next
    assert [i for p in pages for i in p] == ids
    assert all(len(p) == 3 for p in pages[:-1]) and 1 <= len(pages[-1]) <= 3


def test_only_officers_read_the_audit_log(make_club):
    setup = make_club(5)
    other = make_club(5, name="Fourmi des Tests")
    refused(lambda: books.audit_log(setup.members[2].id, setup.club_id), NotPermitted)
    refused(lambda: books.audit_log(other.members[1].id, setup.club_id), NotFound)
    assert books.audit_log(setup.treasurer.id, setup.club_id).entries


# --- 5. Two postings at once -------------------------------------------------------------------------------------


def test_two_contributions_at_once_take_consecutive_numbers(app, make_club, monkeypatch):
    setup = make_club(5)
    contribute(setup, setup.members[0], 10_000, MAR_2)  # number 1
    club_id, treasurer_id = setup.club_id, setup.treasurer.id
    m1, m2 = setup.membership_id(setup.members[1]), setup.membership_id(setup.members[2])
    bank = acc(club_id, "bank")
    db.session.rollback()
    # Both forms pass their checks before either takes a lock.
    pause_after(monkeypatch, fund, "_check_contribution_values")

    def pay(membership_id: int, amount: int):
        return lambda: fund.record_contribution(treasurer_id, club_id, membership_id=membership_id, amount=amount,
                                                received_on=MAR_10, method="transfer", idempotency_key=key())

    assert at_once(app, pay(m1, 2_000), pay(m2, 3_000)) == ["done", "done"]
    assert [seq for _, seq, _ in chain_of(club_id)] == [1, 2, 3]
    assert head_of(club_id) == (3, chain_of(club_id)[-1][2])
    assert ledger.balance_of(bank) == 15_000
    assert ledger.check() == []


def test_the_first_two_postings_of_a_club_at_once_both_join_the_chain(app, make_club, monkeypatch):
    """No chain head yet: both postings create it on first use, one waits for the other."""
    setup = make_club(5)
    club_id = setup.club_id
    bank = acc(club_id, "bank")
    capitals = [acc(club_id, f"capital:{setup.membership_id(u)}") for u in setup.members[:2]]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(LedgerHead).where(LedgerHead.club_id == club_id)) == 0
    pause_after(monkeypatch, ledger, "_normalise")

    def post(capital: int, amount: int):
        return lambda: ledger.post(club_id, unit=MONEY, kind=TransactionKind.ADJUSTMENT, occurred_on=MAR_2,
                                   lines=[(bank, amount), (capital, -amount)], idempotency_key=key())

    assert at_once(app, post(capitals[0], 1_000), post(capitals[1], 2_000)) == ["done", "done"]
    assert [seq for _, seq, _ in chain_of(club_id)] == [1, 2]
    assert head_of(club_id) == (2, chain_of(club_id)[-1][2])
    assert ledger.balance_of(bank) == 3_000
    assert ledger.check_chain() == []


@pytest.mark.parametrize("through", [date(9999, 12, 31), date(1999, 12, 31)])
def test_a_period_far_from_now_cannot_be_closed(january, through):
    """Issue 15: ``through=9999-12-31`` was a 500 (the day after it does not exist)."""
    refused(lambda: books.close_period(january.treasurer.id, january.club_id, through=through, today=FEB_1),
            InvalidInput, field="through")


@pytest.mark.parametrize("field", ["start", "end"])
@pytest.mark.parametrize("on", [date(9999, 12, 31), date(1, 1, 1)])
def test_dates_far_from_now_are_refused_by_every_book_filter(january, field, on):
    """Issue 15: ``end=9999-12-31`` on the audit log was a 500."""
    s = january
    account = ledger.find_account(s.club_id, "bank").id
    refused(lambda: books.audit_log(s.treasurer.id, s.club_id, **{field: on}), InvalidInput, field=field)
    refused(lambda: books.journal(s.treasurer.id, s.club_id, books.JournalFilter(**{field: on})), InvalidInput,
            field=field)
    refused(lambda: books.statement(s.treasurer.id, s.club_id, account, **{field: on}), InvalidInput, field=field)
    refused(lambda: books.income_statement(s.treasurer.id, s.club_id, **{"start": JAN_5, "end": FEB_1, field: on}),
            InvalidInput, field=field)
    if field == "end":
        refused(lambda: books.balance_sheet(s.treasurer.id, s.club_id, on=on), InvalidInput, field="on")
        refused(lambda: books.trial_balance(s.treasurer.id, s.club_id, on=on), InvalidInput, field="on")
