"""ledger.post_many, the bulk poster behind the CSV import: ids in order, balances as if posted one by one,
and every refusal of ``post`` refusing the whole batch with nothing written."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from coop.extensions import db
from coop.models import Account, AccountType, JournalTransaction, Posting, TransactionKind, Unit
from coop.services import ledger
from coop.services.errors import Conflict, InvalidInput, LimitExceeded, NotFound, RuleViolation
from tests.conftest import by_id, key, row_counts
from tests.services.conftest import Books, books_of
from tests.services.test_ledger import refused_and_balanced

MONEY, TIME = Unit.MONEY, Unit.TIME
CONTRIBUTION, DISBURSEMENT, EXCHANGE = TransactionKind.CONTRIBUTION, TransactionKind.DISBURSEMENT, TransactionKind.EXCHANGE


# --- Helpers ----------------------------------------------------------------------------


def contribution(b: Books, member: int, amount: int, k: str | None = None, on: date = date(2026, 1, 5),
                 memo: str = "") -> ledger.Entry:
    return ledger.Entry(CONTRIBUTION, [(b.bank, amount), (b.capital[member], -amount)], k or key(), on, memo)


def disbursement(b: Books, to: int, amount: int, on: date = date(2026, 1, 6)) -> ledger.Entry:
    return ledger.Entry(DISBURSEMENT, [(b.bank, -amount), (to, amount)], key(), on)


def post_many(b: Books, entries, unit: Unit = MONEY, author_id: int | None = None, club_id: int | None = None):
    return ledger.post_many(club_id or b.club_id, unit=unit, entries=entries, author_id=author_id)


def every_balance() -> list[tuple[int, int]]:
    return db.session.execute(select(Account.id, Account.balance).order_by(Account.id)).all()


def balances(*account_ids: int) -> list[int]:
    db.session.rollback()
    return [ledger.balance_of(a) for a in account_ids]


def open_money_account(b: Books, code: str, **limits) -> int:
    account = ledger.open_account(b.club_id, code=code, name=code.title(), type=AccountType.ASSET, unit=MONEY,
                                  **limits)
    return account.id


# --- Success ---------------------------------------------------------------------------------------


def test_posts_several_balanced_transactions_in_order(books):
    invest = open_money_account(books, "stake:1")
    author = books.setup.treasurer.id
    entries = [
        contribution(books, 0, 3000, on=date(2026, 1, 5), memo="Janvier — Membre 1"),
        contribution(books, 2, 4500, on=date(2026, 1, 7)),
        ledger.Entry(CONTRIBUTION, [ledger.Line(books.bank, 1000), ledger.Line(books.bank, 500),
                                    ledger.Line(books.capital[3], -1500)], key(), date(2026, 1, 9), "deux lignes"),
        disbursement(books, invest, 6000, on=date(2026, 1, 10)),
        contribution(books, 0, 200, on=date(2026, 1, 11)),
    ]

    ids = post_many(books, entries, author_id=author)

    assert len(ids) == 5 and ids == sorted(ids) and len(set(ids)) == 5
    db.session.rollback()
    stored = [by_id(JournalTransaction, i) for i in ids]
    assert [(t.club_id, t.unit, t.kind, t.idempotency_key, t.occurred_on, t.memo, t.author_id, t.reverses_id)
            for t in stored] == [
        (books.club_id, "money", e.kind, e.idempotency_key, e.occurred_on, e.memo, author, None) for e in entries]
    for txn, entry in zip(stored, entries, strict=True):
        expected = sorted((line.account_id, line.amount) if isinstance(line, ledger.Line) else line
                          for line in entry.lines)
        assert sorted((p.account_id, p.amount) for p in txn.postings) == expected
        assert all(p.club_id == books.club_id for p in txn.postings)
    assert balances(books.bank, invest, books.capital[0], books.capital[2], books.capital[3]) == [
        3000 + 4500 + 1500 - 6000 + 200, 6000, -3200, -4500, -1500]
    assert row_counts(JournalTransaction, Posting) == (5, 11)
    assert ledger.check() == []


def test_a_batch_after_single_posts_continues_from_the_balances(books):
    ledger.post(books.club_id, unit=MONEY, kind=CONTRIBUTION, idempotency_key=key(),
                lines=[(books.bank, 1000), (books.capital[1], -1000)])
    first = post_many(books, [contribution(books, 1, 250)])
    second = post_many(books, [contribution(books, 1, 750), contribution(books, 4, 10)])
    assert first[0] < second[0] < second[1]
    assert balances(books.bank, books.capital[1], books.capital[4]) == [2010, -2000, -10]
    assert ledger.check() == []


def test_time_credits_post_in_bulk_too(books):
    ids = post_many(books, [
        ledger.Entry(EXCHANGE, [(books.time[0], 60), (books.time[1], -60)], key(), date(2026, 2, 1)),
        ledger.Entry(EXCHANGE, [(books.time[1], 90), (books.time[2], -90)], key(), date(2026, 2, 2)),
    ], unit=TIME)
    assert len(ids) == 2
    assert balances(*books.time[:3]) == [60, 30, -90]
    assert ledger.check() == []


def test_an_empty_batch_returns_nothing_and_writes_nothing(books):
    db.session.rollback()
    before = (row_counts(JournalTransaction, Posting), every_balance())
    assert post_many(books, []) == []
    db.session.rollback()
    assert (row_counts(JournalTransaction, Posting), every_balance()) == before


# --- Refusals: the whole batch or nothing ------------------------------------------------------------------


def test_an_unbalanced_entry_refuses_the_batch(books):
    entries = [contribution(books, 0, 1000),
               ledger.Entry(CONTRIBUTION, [(books.bank, 1000), (books.capital[1], -999)], key(), date(2026, 1, 5)),
               contribution(books, 2, 1000)]
    err = refused_and_balanced(lambda: post_many(books, entries), RuleViolation, rule="ledger")
    assert not isinstance(err, LimitExceeded)


@pytest.mark.parametrize("lines", ["single", "zero", "float"])
def test_a_malformed_entry_refuses_the_batch(books, lines):
    bad = {"single": [(books.bank, 100)], "zero": [(books.bank, 0), (books.capital[0], 0)],
           "float": [(books.bank, 1.5), (books.capital[0], -1.5)]}[lines]
    entries = [contribution(books, 0, 1000), ledger.Entry(CONTRIBUTION, bad, key(), date(2026, 1, 5))]
    refused_and_balanced(lambda: post_many(books, entries), InvalidInput)


def test_a_bad_key_or_memo_refuses_the_batch(books):
    refused_and_balanced(lambda: post_many(books, [contribution(books, 0, 1000), contribution(books, 1, 10, k="short")]),
                         InvalidInput)
    refused_and_balanced(lambda: post_many(books, [contribution(books, 0, 1000, memo="x" * 501)]), InvalidInput, field="memo")


def test_the_same_key_twice_in_a_batch_is_a_conflict(books):
    k = key()
    refused_and_balanced(lambda: post_many(books, [contribution(books, 0, 1000, k), contribution(books, 1, 500),
                                                   contribution(books, 0, 1000, k)]), Conflict)


def test_a_key_already_in_the_ledger_is_a_conflict_and_nothing_is_written(books):
    k = key()
    ledger.post(books.club_id, unit=MONEY, kind=CONTRIBUTION, idempotency_key=k,
                lines=[(books.bank, 1000), (books.capital[0], -1000)])
    # Even with the very same content: a batch takes only new keys.
    refused_and_balanced(lambda: post_many(books, [contribution(books, 1, 500), contribution(books, 0, 1000, k)]), Conflict)
    assert balances(books.bank, books.capital[0], books.capital[1]) == [1000, -1000, 0]


def test_a_key_used_in_another_club_is_free(books, make_club):
    other = books_of(make_club(5))
    k = key()
    post_many(other, [contribution(other, 0, 1000, k)])
    post_many(books, [contribution(books, 0, 700, k)])
    assert balances(books.bank, other.bank) == [700, 1000]
    assert ledger.check() == []


def test_limits_are_checked_in_order_not_on_the_end_result(books):
    invest = open_money_account(books, "stake:1")
    # The bank (floor 0) would dip to -50 at the second entry, though the batch ends at +50.
    dipping = [contribution(books, 0, 100), disbursement(books, invest, 150), contribution(books, 1, 100)]
    refused_and_balanced(lambda: post_many(books, dipping), LimitExceeded, rule="floor")
    # The same money in another order never goes below the floor.
    post_many(books, [contribution(books, 0, 100), contribution(books, 1, 100), disbursement(books, invest, 150)])
    assert balances(books.bank, invest) == [50, 150]
    assert ledger.check() == []


def test_a_ceiling_passed_midway_refuses_the_batch(books):
    float_account = open_money_account(books, "petty", floor=0, ceiling=10_000)
    source = open_money_account(books, "source")
    up = lambda n: ledger.Entry(DISBURSEMENT, [(source, -n), (float_account, n)], key(), date(2026, 1, 5))  # noqa: E731
    down = lambda n: ledger.Entry(DISBURSEMENT, [(float_account, -n), (source, n)], key(), date(2026, 1, 6))  # noqa: E731
    refused_and_balanced(lambda: post_many(books, [up(8000), up(8000), down(8000)]), LimitExceeded, rule="ceiling")
    refused_and_balanced(lambda: post_many(books, [up(8000), down(9000), up(8000)]), LimitExceeded, rule="floor")
    post_many(books, [up(8000), down(8000), up(8000)])
    post_many(books, [up(2000)])  # exactly at the ceiling
    assert balances(float_account, source) == [10_000, -10_000]
    refused_and_balanced(lambda: post_many(books, [up(1)]), LimitExceeded, rule="ceiling")
    assert ledger.check() == []


def test_a_members_capital_cannot_go_above_zero_midway(books):
    """The capital account's ceiling of 0: a refund larger than what was paid so far is refused."""
    refund = ledger.Entry(TransactionKind.REFUND, [(books.bank, -500), (books.capital[2], 500)], key(),
                          date(2026, 1, 6))
    refused_and_balanced(lambda: post_many(books, [contribution(books, 0, 1000), contribution(books, 2, 400), refund,
                                                   contribution(books, 2, 400)]), LimitExceeded, rule="ceiling")


def test_money_and_time_never_mix(books):
    # A time entry in a money batch.
    refused_and_balanced(lambda: post_many(books, [
        contribution(books, 0, 1000),
        ledger.Entry(EXCHANGE, [(books.time[0], 60), (books.time[1], -60)], key(), date(2026, 1, 5))]),
        InvalidInput, field="unit")
    # One entry touching both units.
    refused_and_balanced(lambda: post_many(books, [
        ledger.Entry(CONTRIBUTION, [(books.bank, 60), (books.time[1], -60)], key(), date(2026, 1, 5))]),
        InvalidInput, field="unit")
    # Money entries declared as a time batch.
    refused_and_balanced(lambda: post_many(books, [contribution(books, 0, 1000)], unit=TIME), InvalidInput, field="unit")


def test_accounts_of_another_club_are_not_found(books, make_club):
    other = books_of(make_club(5))
    # Another club's capital account in this club's batch.
    refused_and_balanced(lambda: post_many(books, [
        contribution(books, 0, 1000),
        ledger.Entry(CONTRIBUTION, [(books.bank, 500), (other.capital[0], -500)], key(), date(2026, 1, 5))]), NotFound)
    # This club's accounts posted under the other club's id.
    refused_and_balanced(lambda: post_many(books, [contribution(books, 0, 1000)], club_id=other.club_id), NotFound)
    # An account that does not exist at all.
    refused_and_balanced(lambda: post_many(books, [
        ledger.Entry(CONTRIBUTION, [(books.bank, 500), (10**9, -500)], key(), date(2026, 1, 5))]), NotFound)
