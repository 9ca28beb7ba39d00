"""The ledger core: posting, refusals, idempotency, reversals, limits, append-only guards and concurrency."""
from __future__ import annotations

from datetime import date
from functools import partial

import pytest
import sqlalchemy.exc
from sqlalchemy import func, select, text

from coop.extensions import db
from coop.models import (
    Account,
    AccountType,
    AuditEntry,
    JournalTransaction,
    Posting,
    TransactionKind,
    Unit,
)
from coop.services import ledger
from coop.services.errors import Conflict, InvalidInput, LimitExceeded, NotFound, RuleViolation
from tests.conftest import SERVERS, by_id, in_threads, key, refused, row_counts
from tests.services.conftest import Books, books_of

MONEY, TIME = Unit.MONEY, Unit.TIME
CONTRIBUTION, EXCHANGE = TransactionKind.CONTRIBUTION, TransactionKind.EXCHANGE


# --- Helpers ----------------------------------------------------------------------------


def balances(*account_ids: int) -> list[int]:
    return [ledger.balance_of(a) for a in account_ids]


def posting_sum(account_id: int) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(Posting.amount), 0)).where(Posting.account_id == account_id))


def contribute(b: Books, member: int, amount: int, **kw):
    return ledger.post(b.club_id, unit=MONEY, kind=CONTRIBUTION,
                       lines=[(b.bank, amount), (b.capital[member], -amount)],
                       idempotency_key=kw.pop("idempotency_key", key()), **kw)


def exchange(b: Books, giver: int, receiver: int, minutes: int, **kw):
    """The giver's time account is debited (credits held go up), the receiver's credited."""
    return ledger.post(b.club_id, unit=TIME, kind=EXCHANGE,
                       lines=[(b.time[giver], minutes), (b.time[receiver], -minutes)],
                       idempotency_key=kw.pop("idempotency_key", key()), **kw)


def refused_and_balanced(call, error, **expected):
    """Refused as ``refused`` checks, nothing written, and the ledger still checks out."""
    caught = refused(call, error, **expected)
    assert ledger.check() == []
    return caught


# --- post(): success ----------------------------------------------------------------------


def test_contribution_moves_balances_debit_positive(books):
    user = books.setup.treasurer
    txn = contribute(books, 2, 3000, memo="Versement mensuel", author_id=user.id, occurred_on=date(2026, 3, 5))

    assert ledger.balance_of(books.bank) == 3000  # asset: debited
    assert ledger.balance_of(books.capital[2]) == -3000  # equity: credited
    stored = by_id(JournalTransaction, txn.id)
    assert (stored.club_id, stored.unit, stored.kind, stored.memo, stored.author_id, stored.occurred_on) == (
        books.club_id, "money", "contribution", "Versement mensuel", user.id, date(2026, 3, 5))
    assert stored.reverses_id is None
    assert sorted((p.account_id, p.amount) for p in stored.postings) == sorted(
        [(books.bank, 3000), (books.capital[2], -3000)])
    assert all(p.club_id == books.club_id for p in stored.postings)
    assert row_counts(JournalTransaction, Posting) == (1, 2)
    assert ledger.check() == []


def test_time_exchange_and_default_date(books):
    txn = exchange(books, 0, 1, 90)
    assert balances(books.time[0], books.time[1]) == [90, -90]
    assert by_id(JournalTransaction, txn.id).occurred_on == date.today()
    assert ledger.check() == []


def test_line_objects_and_several_lines(books):
    txn = ledger.post(books.club_id, unit=TIME, kind=EXCHANGE, idempotency_key=key(),
                      lines=[ledger.Line(books.time[0], 60), ledger.Line(books.time[1], 30),
                             ledger.Line(books.time[2], -90)])
    assert balances(*books.time[:3]) == [60, 30, -90]
    assert len(by_id(JournalTransaction, txn.id).postings) == 3
    for account_id in books.time:
        assert ledger.balance_of(account_id) == posting_sum(account_id)


def test_limits_are_checked_on_each_accounts_net_change(books):
    # -400 and -300 on one account: each line alone fits the floor of -600, together they do not.
    refused_and_balanced(lambda: ledger.post(
        books.club_id, unit=TIME, kind=EXCHANGE, idempotency_key=key(),
        lines=[(books.time[0], -400), (books.time[0], -300), (books.time[1], 700)]), LimitExceeded, rule="floor")
    # -700 then +200 on one account nets to -500: within the floor.
    ledger.post(books.club_id, unit=TIME, kind=EXCHANGE, idempotency_key=key(),
                lines=[(books.time[0], -700), (books.time[0], 200), (books.time[1], 500)])
    assert balances(books.time[0], books.time[1]) == [-500, 500]
    assert ledger.check() == []


def test_exactly_at_the_limits(books):
    exchange(books, 1, 0, 600)  # time[0] at -600: its floor
    refused_and_balanced(lambda: exchange(books, 1, 0, 1), LimitExceeded, rule="floor")
    ledger.post(books.club_id, unit=TIME, kind=EXCHANGE, idempotency_key=key(),
                lines=[(books.time[2], 2400), (books.time[1], -1200), (books.time[3], -600), (books.time[4], -600)])
    assert balances(*books.time) == [-600, -600, 2400, -600, -600]
    pool = ledger.open_account(books.club_id, code="time:pool", name="Réserve", type=AccountType.ASSET, unit=TIME).id
    refused_and_balanced(lambda: ledger.post(books.club_id, unit=TIME, kind=EXCHANGE, idempotency_key=key(),
                                             lines=[(books.time[2], 1), (pool, -1)]), LimitExceeded, rule="ceiling")
    assert ledger.check() == []


def test_a_posting_undone_with_its_unit_of_work_or_savepoint_leaves_nothing_behind(books):
    """The ledger writes its rows itself: a rollback must forget the transaction it returned, or the next
    posting (which SQLite may give the same id) would collide with it in the session."""
    from coop.services.uow import unit_of_work

    with pytest.raises(RuntimeError), unit_of_work():
        undone = contribute(books, 1, 500)
        raise RuntimeError("the use case fails after posting")
    assert undone not in db.session
    with unit_of_work():
        savepoint = db.session.begin_nested()
        in_savepoint = contribute(books, 1, 700)
        savepoint.rollback()
        kept = contribute(books, 2, 900)
    assert in_savepoint not in db.session and kept in db.session
    again = contribute(books, 3, 1100)
    assert row_counts(JournalTransaction, Posting) == (2, 4)
    assert sorted((p.account_id, p.amount) for p in by_id(JournalTransaction, again.id).postings) == sorted(
        [(books.bank, 1100), (books.capital[3], -1100)])
    assert balances(books.bank, books.capital[1], books.capital[2]) == [2000, 0, -900]
    assert ledger.check() == []


def test_a_posting_before_a_released_savepoint_is_forgotten_when_its_unit_rolls_back(books):
    """Releasing a savepoint is not the unit's commit (SQLAlchemy reports both as ``after_commit``): a
    posting made before it must still leave the session when the whole unit of work rolls back."""
    from coop.services.uow import unit_of_work

    with pytest.raises(RuntimeError), unit_of_work():
        before = contribute(books, 1, 500)
        with db.session.begin_nested():
            inside = contribute(books, 2, 700)
        raise RuntimeError("the use case fails after its savepoint")
    assert before not in db.session and inside not in db.session
    assert row_counts(JournalTransaction, Posting) == (0, 0)
    assert ledger.check() == []


def test_rows_written_directly_follow_a_savepoint_rolled_back(books):
    """A row updated by a prepared statement inside a savepoint that rolls back is read again, not kept as
    written; a row inserted that way leaves the session; only new objects may be inserted that way."""
    from coop.models import Account
    from coop.services.rows import insert_now, update_now
    from coop.services.uow import unit_of_work

    with unit_of_work():
        bank = by_id(Account, books.bank)
        savepoint = db.session.begin_nested()
        update_now(bank, name="Banque renommée")
        assert bank.name == "Banque renommée"
        savepoint.rollback()
        assert bank.name != "Banque renommée"
        with pytest.raises(RuntimeError):
            insert_now(bank)
    assert by_id(Account, books.bank).name != "Banque renommée"


def test_rows_locked_are_kept_for_their_unit_of_work_only(books):
    """The chain head a unit of work locked is reused by its nested calls, forgotten when a savepoint rolls back
    (PostgreSQL releases the locks taken in it) and when the unit ends."""
    from coop.services.rows import held
    from coop.services.uow import unit_of_work

    assert held() is None
    with unit_of_work():
        head = ledger.lock_for_posting(books.club_id)
        with unit_of_work():
            assert held() == {"heads": {books.club_id: head}}
        db.session.begin_nested().rollback()
        assert held() == {}
        ledger.lock_for_posting(books.club_id)
    with unit_of_work():
        assert held() == {}


# --- post(): refusals ------------------------------------------------------------------------


def test_unbalanced_is_refused(books):
    err = refused_and_balanced(lambda: ledger.post(
        books.club_id, unit=MONEY, kind=CONTRIBUTION, idempotency_key=key(),
        lines=[(books.bank, 100), (books.capital[0], -99)]), RuleViolation)
    assert not isinstance(err, LimitExceeded)


@pytest.mark.parametrize("lines", [[], "single"], ids=["no line", "one line"])
def test_fewer_than_two_lines_refused(books, lines):
    lines = [(books.bank, 100)] if lines == "single" else lines
    refused_and_balanced(lambda: ledger.post(books.club_id, unit=MONEY, kind=CONTRIBUTION,
                                             idempotency_key=key(), lines=lines), InvalidInput)


def test_zero_amount_refused(books):
    refused_and_balanced(lambda: ledger.post(books.club_id, unit=MONEY, kind=CONTRIBUTION, idempotency_key=key(),
                                             lines=[(books.bank, 0), (books.capital[0], 0)]), InvalidInput)
    refused_and_balanced(lambda: ledger.post(
        books.club_id, unit=TIME, kind=EXCHANGE, idempotency_key=key(),
        lines=[(books.time[0], 60), (books.time[1], 0), (books.time[2], -60)]), InvalidInput)


@pytest.mark.parametrize("amount", [1.5, 100.0, "100", None, True], ids=repr)
def test_non_integer_amount_refused(books, amount):
    refused_and_balanced(lambda: ledger.post(books.club_id, unit=MONEY, kind=CONTRIBUTION, idempotency_key=key(),
                                             lines=[(books.bank, amount), (books.capital[0], -100)]), InvalidInput)


def test_huge_amount_refused(books):
    huge = ledger.MAX_AMOUNT + 1
    refused_and_balanced(lambda: ledger.post(books.club_id, unit=MONEY, kind=CONTRIBUTION, idempotency_key=key(),
                                             lines=[(books.bank, huge), (books.capital[0], -huge)]), InvalidInput)


def test_account_of_another_club_not_found(books, make_club):
    other = books_of(make_club(5, name="Autre club"))
    refused_and_balanced(lambda: ledger.post(books.club_id, unit=MONEY, kind=CONTRIBUTION, idempotency_key=key(),
                                             lines=[(books.bank, 100), (other.capital[0], -100)]), NotFound)
    assert balances(other.capital[0]) == [0]


def test_unknown_account_not_found(books):
    missing = db.session.scalar(select(func.max(Account.id))) + 1000
    refused_and_balanced(lambda: ledger.post(books.club_id, unit=MONEY, kind=CONTRIBUTION, idempotency_key=key(),
                                             lines=[(books.bank, 100), (missing, -100)]), NotFound)


@pytest.mark.parametrize("bad_id", ["7", None, 1.0, True], ids=repr)
def test_malformed_account_id_refused(books, bad_id):
    refused_and_balanced(lambda: ledger.post(books.club_id, unit=MONEY, kind=CONTRIBUTION, idempotency_key=key(),
                                             lines=[(books.bank, 100), (bad_id, -100)]), InvalidInput)


@pytest.mark.parametrize("unit", [MONEY, TIME])
def test_money_and_time_never_mix(books, unit):
    refused_and_balanced(lambda: ledger.post(books.club_id, unit=unit, kind=EXCHANGE, idempotency_key=key(),
                                             lines=[(books.capital[0], 100), (books.time[1], -100)]), InvalidInput, field="unit")


def test_unit_must_match_the_accounts(books):
    refused_and_balanced(lambda: ledger.post(books.club_id, unit=MONEY, kind=EXCHANGE, idempotency_key=key(),
                                             lines=[(books.time[0], 60), (books.time[1], -60)]), InvalidInput, field="unit")


def test_bank_floor(books):
    # Nothing in the bank yet: paying out of it would take it below 0.
    expense = ledger.open_account(books.club_id, code="frais", name="Frais", type=AccountType.EXPENSE, unit=MONEY).id
    refused_and_balanced(lambda: ledger.post(books.club_id, unit=MONEY, kind=TransactionKind.FEE,
                                             idempotency_key=key(), lines=[(books.bank, -1), (expense, 1)]),
                         LimitExceeded, rule="floor")
    contribute(books, 0, 500)
    ledger.post(books.club_id, unit=MONEY, kind=TransactionKind.FEE, idempotency_key=key(),
                lines=[(books.bank, -500), (expense, 500)])
    assert balances(books.bank, expense) == [0, 500]


def test_capital_ceiling(books):
    contribute(books, 0, 1000)
    # The bank can pay 50, but member 1's capital account (ceiling 0) cannot be debited.
    refused_and_balanced(lambda: ledger.post(books.club_id, unit=MONEY, kind=TransactionKind.RETURN,
                                             idempotency_key=key(),
                                             lines=[(books.bank, -50), (books.capital[1], 50)]),
                         LimitExceeded, rule="ceiling")
    ledger.post(books.club_id, unit=MONEY, kind=TransactionKind.RETURN, idempotency_key=key(),
                lines=[(books.bank, -1000), (books.capital[0], 1000)])
    assert balances(books.bank, books.capital[0]) == [0, 0]


def test_time_floor_and_ceiling(books):
    pool = ledger.open_account(books.club_id, code="time:pool", name="Réserve", type=AccountType.ASSET, unit=TIME).id
    refused_and_balanced(lambda: ledger.post(books.club_id, unit=TIME, kind=EXCHANGE, idempotency_key=key(),
                                             lines=[(books.time[0], -601), (pool, 601)]), LimitExceeded, rule="floor")
    refused_and_balanced(lambda: ledger.post(books.club_id, unit=TIME, kind=EXCHANGE, idempotency_key=key(),
                                             lines=[(books.time[0], 2401), (pool, -2401)]), LimitExceeded, rule="ceiling")
    ledger.post(books.club_id, unit=TIME, kind=EXCHANGE, idempotency_key=key(),
                lines=[(books.time[0], 2400), (books.time[1], -600), (pool, -1800)])
    assert balances(books.time[0], books.time[1], pool) == [2400, -600, -1800]


@pytest.mark.parametrize("bad_key", ["short", "has spaces in it", "x" * 65, "ünïcödé-key", "", None, 12345678],
                         ids=repr)
def test_malformed_idempotency_key_refused(books, bad_key):
    refused_and_balanced(lambda: contribute(books, 0, 100, idempotency_key=bad_key), InvalidInput)


def test_memo_length(books):
    refused_and_balanced(lambda: contribute(books, 0, 100, memo="m" * 501), InvalidInput, field="memo")
    txn = contribute(books, 0, 100, memo="m" * 500)
    assert len(by_id(JournalTransaction, txn.id).memo) == 500


# --- Idempotency -------------------------------------------------------------------------


def test_replay_same_content_returns_first_and_writes_nothing(books):
    k = key()
    first = contribute(books, 0, 2500, idempotency_key=k)
    counts = row_counts(JournalTransaction, Posting)
    again = ledger.post(books.club_id, unit=MONEY, kind=CONTRIBUTION, idempotency_key=k,
                        lines=[(books.capital[0], -2500), (books.bank, 2500)])  # same lines, other order
    assert again.id == first.id
    assert row_counts(JournalTransaction, Posting) == counts
    assert balances(books.bank, books.capital[0]) == [2500, -2500]


@pytest.mark.parametrize("change", ["amount", "account", "kind", "unit"])
def test_replay_other_content_conflicts(books, change):
    k = key()
    contribute(books, 0, 2500, idempotency_key=k)
    calls = {
        "amount": lambda: contribute(books, 0, 2600, idempotency_key=k),
        "account": lambda: contribute(books, 1, 2500, idempotency_key=k),
        "kind": lambda: ledger.post(books.club_id, unit=MONEY, kind=TransactionKind.REPAYMENT, idempotency_key=k,
                                    lines=[(books.bank, 2500), (books.capital[0], -2500)]),
        "unit": lambda: ledger.post(books.club_id, unit=TIME, kind=CONTRIBUTION, idempotency_key=k,
                                    lines=[(books.time[0], 60), (books.time[1], -60)]),
    }
    refused_and_balanced(calls[change], Conflict)


def test_key_is_unique_per_club_only(books, make_club):
    other = books_of(make_club(5, name="Autre club"))
    k = key()
    a = contribute(books, 0, 100, idempotency_key=k)
    b = contribute(other, 0, 100, idempotency_key=k)
    assert a.id != b.id
    assert balances(books.bank, other.bank) == [100, 100]


# --- reverse() -------------------------------------------------------------------------------


def test_reverse_mirrors_and_restores(books):
    original = exchange(books, 0, 1, 120)
    user = books.setup.manager
    rev = ledger.reverse(books.club_id, original.id, reason="Saisie en double", idempotency_key=key(),
                         author_id=user.id)
    stored = by_id(JournalTransaction, rev.id)
    assert stored.reverses_id == original.id
    assert (stored.kind, stored.unit, stored.memo, stored.author_id) == ("reversal", "time", "Saisie en double",
                                                                         user.id)
    assert sorted((p.account_id, p.amount) for p in stored.postings) == sorted(
        (p.account_id, -p.amount) for p in by_id(JournalTransaction, original.id).postings)
    assert balances(books.time[0], books.time[1]) == [0, 0]
    assert row_counts(JournalTransaction, Posting) == (2, 4)
    assert ledger.check() == []


def test_reverse_twice_conflicts_but_replay_returns_it(books):
    original = contribute(books, 0, 700)
    k = key()
    rev = ledger.reverse(books.club_id, original.id, reason="Erreur", idempotency_key=k, author_id=None)
    again = ledger.reverse(books.club_id, original.id, reason="Erreur", idempotency_key=k, author_id=None)
    assert again.id == rev.id
    refused_and_balanced(lambda: ledger.reverse(books.club_id, original.id, reason="Encore", idempotency_key=key(),
                                                author_id=None), Conflict)


def test_reversal_cannot_be_reversed(books):
    original = contribute(books, 0, 700)
    rev = ledger.reverse(books.club_id, original.id, reason="Erreur", idempotency_key=key(), author_id=None)
    refused_and_balanced(lambda: ledger.reverse(books.club_id, rev.id, reason="Annuler l'annulation",
                                                idempotency_key=key(), author_id=None), Conflict)


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_reverse_needs_a_reason(books, reason):
    original = contribute(books, 0, 700)
    refused_and_balanced(lambda: ledger.reverse(books.club_id, original.id, reason=reason, idempotency_key=key(),
                                                author_id=None), InvalidInput, field="reason")


def test_reverse_other_clubs_transaction_not_found(books, make_club):
    other = books_of(make_club(5, name="Autre club"))
    theirs = contribute(other, 0, 700)
    refused_and_balanced(lambda: ledger.reverse(books.club_id, theirs.id, reason="Erreur", idempotency_key=key(),
                                                author_id=None), NotFound)
    refused_and_balanced(lambda: ledger.reverse(books.club_id, theirs.id + 1000, reason="Erreur",
                                                idempotency_key=key(), author_id=None), NotFound)
    assert ledger.balance_of(other.bank) == 700


def test_reversal_respects_limits(books):
    contribution = contribute(books, 0, 1000)
    expense = ledger.open_account(books.club_id, code="frais", name="Frais", type=AccountType.EXPENSE, unit=MONEY).id
    ledger.post(books.club_id, unit=MONEY, kind=TransactionKind.FEE, idempotency_key=key(),
                lines=[(books.bank, -1000), (expense, 1000)])
    # Undoing the contribution would take the (now empty) bank below its floor.
    refused_and_balanced(lambda: ledger.reverse(books.club_id, contribution.id, reason="Erreur",
                                                idempotency_key=key(), author_id=None), LimitExceeded, rule="floor")


# --- set_limits() ----------------------------------------------------------------------------


def audit_entries(account_id: int) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "account.set_limits",
                                                            AuditEntry.object_id == account_id)))


def test_set_limits_changes_and_audits(books):
    manager = books.setup.manager
    account = ledger.set_limits(books.club_id, books.time[0], floor=-1200, ceiling=3000, actor_id=manager.id,
                                reason="Décision de l'assemblée")
    assert (account.floor, account.ceiling) == (-1200, 3000)
    stored = by_id(Account, books.time[0])
    assert (stored.floor, stored.ceiling) == (-1200, 3000)
    [entry] = audit_entries(books.time[0])
    assert (entry.actor_id, entry.club_id, entry.object_type) == (manager.id, books.club_id, "Account")
    assert entry.before == {"floor": -600, "ceiling": 2400}
    assert entry.after == {"floor": -1200, "ceiling": 3000, "reason": "Décision de l'assemblée"}
    exchange(books, 1, 0, 1000)  # allowed by the new floor
    assert ledger.balance_of(books.time[0]) == -1000


def test_set_limits_to_none_removes_them(books):
    ledger.set_limits(books.club_id, books.bank, floor=None, ceiling=None, actor_id=None)
    expense = ledger.open_account(books.club_id, code="frais", name="Frais", type=AccountType.EXPENSE, unit=MONEY).id
    ledger.post(books.club_id, unit=MONEY, kind=TransactionKind.FEE, idempotency_key=key(),
                lines=[(books.bank, -300), (expense, 300)])
    assert ledger.balance_of(books.bank) == -300


def test_set_limits_refused_when_balance_outside(books):
    exchange(books, 1, 0, 300)  # time[0] at -300, time[1] at 300
    refused_and_balanced(lambda: ledger.set_limits(books.club_id, books.time[0], floor=-200, ceiling=2400,
                                                   actor_id=None), RuleViolation, rule="floor")
    refused_and_balanced(lambda: ledger.set_limits(books.club_id, books.time[1], floor=-600, ceiling=299,
                                                   actor_id=None), RuleViolation, rule="ceiling")
    refused_and_balanced(lambda: ledger.set_limits(books.club_id, books.time[1], floor=500, ceiling=100,
                                                   actor_id=None), InvalidInput)
    refused_and_balanced(lambda: ledger.set_limits(books.club_id, books.time[1], floor=-1.5, ceiling=None,
                                                   actor_id=None), InvalidInput, field="floor")
    assert audit_entries(books.time[0]) == [] and audit_entries(books.time[1]) == []
    # Exactly at the balance is allowed.
    ledger.set_limits(books.club_id, books.time[0], floor=-300, ceiling=-300, actor_id=None)
    assert len(audit_entries(books.time[0])) == 1


def test_set_limits_other_club_not_found(books, make_club):
    other = books_of(make_club(5, name="Autre club"))
    refused_and_balanced(lambda: ledger.set_limits(books.club_id, other.bank, floor=None, ceiling=None, actor_id=None), NotFound)
    assert by_id(Account, other.bank).floor == 0


# --- open_account() --------------------------------------------------------------------------


def test_open_account(books):
    account = ledger.open_account(books.club_id, code="caisse", name="Caisse", type=AccountType.ASSET, unit=MONEY,
                                  floor=0)
    assert (account.balance, account.floor, account.ceiling, account.unit) == (0, 0, None, "money")
    with pytest.raises(Conflict):
        ledger.open_account(books.club_id, code="caisse", name="Autre", type=AccountType.ASSET, unit=MONEY)
    with pytest.raises(InvalidInput):
        ledger.open_account(books.club_id, code="x", name="X", type=AccountType.ASSET, unit=MONEY, floor=10,
                            ceiling=5)
    with pytest.raises(RuleViolation):  # a new account starts at 0, outside [10, 20]
        ledger.open_account(books.club_id, code="y", name="Y", type=AccountType.ASSET, unit=MONEY, floor=10,
                            ceiling=20)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Account).where(Account.code.in_(["x", "y"]))) == 0


# --- Append-only -----------------------------------------------------------------------------

TAMPERING = [
    "UPDATE posting SET amount = amount * 2",
    "UPDATE posting SET account_id = account_id",
    "DELETE FROM posting",
    "UPDATE journal_transaction SET memo = 'changed'",
    "DELETE FROM journal_transaction",
]


@pytest.mark.parametrize("statement", TAMPERING)
def test_database_refuses_update_and_delete(books, statement):
    original = contribute(books, 0, 1234, memo="Versement")
    rows = sorted(db.session.execute(text("SELECT id, account_id, amount FROM posting")).all())
    db.session.rollback()

    with pytest.raises(sqlalchemy.exc.DBAPIError) as info:
        db.session.execute(text(statement))
        db.session.commit()
    assert "append-only" in str(info.value)
    db.session.rollback()

    assert sorted(db.session.execute(text("SELECT id, account_id, amount FROM posting")).all()) == rows
    assert db.session.scalar(text("SELECT memo FROM journal_transaction WHERE id = :id"),
                             {"id": original.id}) == "Versement"
    assert ledger.check() == []


def test_postgresql_refuses_truncate(books, backend):
    if backend not in SERVERS:
        pytest.skip("TRUNCATE exists on PostgreSQL only")
    contribute(books, 0, 100)
    for table in ("posting", "journal_transaction"):
        with pytest.raises(sqlalchemy.exc.DBAPIError) as info:
            db.session.execute(text(f"TRUNCATE {table} CASCADE"))
        assert "append-only" in str(info.value)
        db.session.rollback()
    assert row_counts(JournalTransaction, Posting) == (1, 2)


# --- Concurrency -----------------------------------------------------------------------------

THREADS = 16


def run_together(app, work) -> list:
    """``work(i)`` for each of THREADS threads, started at once: what each returned or raised."""
    return in_threads(app, *(partial(work, i) for i in range(THREADS)))


def test_concurrent_spending_respects_the_floor(app, books):
    """Time account 0 (floor -600) gives 100 minutes per thread: exactly 6 succeed."""

    def spend(i: int):
        receiver = books.time[1 + i % 4]
        return ledger.post(books.club_id, unit=TIME, kind=EXCHANGE, idempotency_key=key(),
                           lines=[(books.time[0], -100), (receiver, 100)]).id

    results = run_together(app, spend)
    ok = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, LimitExceeded)]
    others = [r for r in results if not isinstance(r, (int, LimitExceeded))]
    assert others == []
    assert (len(ok), len(refused)) == (6, THREADS - 6)
    assert len(set(ok)) == 6
    assert ledger.balance_of(books.time[0]) == -600 == posting_sum(books.time[0])
    for account_id in books.time:
        assert ledger.balance_of(account_id) == posting_sum(account_id)
    assert row_counts(JournalTransaction, Posting) == (6, 12)
    assert ledger.check() == []


def test_concurrent_money_spending_respects_the_bank_floor(app, books):
    """The bank holds 1000 cents; 16 threads each pay 100 out: exactly 10 succeed."""
    contribute(books, 0, 1000)
    expense = ledger.open_account(books.club_id, code="frais", name="Frais", type=AccountType.EXPENSE, unit=MONEY).id

    def pay(i: int):
        return ledger.post(books.club_id, unit=MONEY, kind=TransactionKind.FEE, idempotency_key=key(),
                           lines=[(expense, 100), (books.bank, -100)]).id

    results = run_together(app, pay)
    assert [r for r in results if not isinstance(r, (int, LimitExceeded))] == []
    assert sum(isinstance(r, int) for r in results) == 10
    assert sum(isinstance(r, LimitExceeded) for r in results) == THREADS - 10
    assert ledger.balance_of(books.bank) == 0 == posting_sum(books.bank)
    assert ledger.balance_of(expense) == 1000 == posting_sum(expense)
    assert ledger.check() == []


def test_concurrent_replays_post_once(app, books):
    """16 threads send the same form at once: one transaction, the same one for all."""
    k = key()

    def send(i: int):
        return contribute(books, 0, 2000, idempotency_key=k).id

    results = run_together(app, send)
    assert [r for r in results if not isinstance(r, int)] == []
    assert len(set(results)) == 1
    assert row_counts(JournalTransaction, Posting) == (1, 2)
    assert balances(books.bank, books.capital[0]) == [2000, -2000]
    assert ledger.check() == []
