"""Hypothesis: random postings and a stateful model of the ledger keep every invariant."""
from __future__ import annotations

import itertools

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from coop.extensions import db
from coop.models import AccountType, JournalTransaction, Posting, TransactionKind, Unit
from coop.services import ledger
from coop.services.errors import Conflict, InvalidInput, LimitExceeded, RuleViolation
from tests.conftest import by_id, key, row_counts


def a_club(make_club) -> int:
    setup = make_club(1, treasurer=False, activate=False)
    return setup.club_id


# --- Random postings, balanced or not --------------------------------------------------------

MONEY_ACCOUNTS = 3  # indices 0-2 are money accounts, 3 is a time account

small = st.one_of(st.integers(1, 5_000), st.integers(-5_000, -1))
wild = st.one_of(
    st.integers(-ledger.MAX_AMOUNT, ledger.MAX_AMOUNT),
    st.sampled_from([0, ledger.MAX_AMOUNT + 1, -(ledger.MAX_AMOUNT + 1)]),
)


@st.composite
def postings(draw):
    """Lines over the accounts: amounts tame or wild, the time account now and then, balanced about half the time."""
    amount = wild if draw(st.integers(0, 3)) == 0 else small
    account = st.integers(0, MONEY_ACCOUNTS if draw(st.integers(0, 3)) == 0 else MONEY_ACCOUNTS - 1)
    lines = draw(st.lists(st.tuples(account, amount), max_size=6))
    if draw(st.booleans()):
        total = sum(a for _, a in lines)
        if total:
            lines.append((draw(account), -total))
        if len(lines) < 2:
            lines += [(draw(account), 700), (draw(account), -700)]
    return lines


def expected_error(lines: list[tuple[int, int]]) -> type[Exception] | None:
    values = [a for _, a in lines]
    if len(lines) < 2 or any(a == 0 or abs(a) > ledger.MAX_AMOUNT for a in values):
        return InvalidInput
    if sum(values) != 0:
        return RuleViolation
    if any(i >= MONEY_ACCOUNTS for i, _ in lines):
        return InvalidInput  # a time account in a money transaction
    return None


def test_random_postings_commit_only_when_balanced(app, make_club):
    club_id = a_club(make_club)
    accounts = [
        ledger.open_account(club_id, code=f"m{i}", name=f"Compte {i}", type=AccountType.ASSET, unit=Unit.MONEY).id
        for i in range(MONEY_ACCOUNTS)
    ]
    accounts.append(
        ledger.open_account(club_id, code="t0", name="Temps", type=AccountType.ASSET, unit=Unit.TIME).id
    )
    expected = dict.fromkeys(accounts, 0)
    outcomes = {"committed": 0, "refused": 0}

    @settings(max_examples=120, deadline=None, database=None)
    @given(lines=postings())
    def check(lines):
        db.session.rollback()
        before = row_counts(JournalTransaction, Posting)
        real = [(accounts[i], a) for i, a in lines]
        error = expected_error(lines)
        if error is None:
            txn = ledger.post(club_id, unit=Unit.MONEY, kind=TransactionKind.ADJUSTMENT, lines=real,
                              idempotency_key=key())
            for account_id, amount in real:
                expected[account_id] += amount
            assert row_counts(JournalTransaction, Posting) == (before[0] + 1, before[1] + len(lines))
            assert sorted((p.account_id, p.amount) for p in by_id(JournalTransaction, txn.id).postings) \
                == sorted(real)
            outcomes["committed"] += 1
            event("committed")
        else:
            try:
                ledger.post(club_id, unit=Unit.MONEY, kind=TransactionKind.ADJUSTMENT, lines=real,
                            idempotency_key=key())
            except error as exc:
                assert error is not RuleViolation or not isinstance(exc, LimitExceeded)
            else:
                raise AssertionError(f"{lines} should have been refused with {error.__name__}")
            db.session.rollback()
            assert row_counts(JournalTransaction, Posting) == before
            outcomes["refused"] += 1
            event(f"refused: {error.__name__}")
        assert {a: ledger.balance_of(a) for a in accounts} == expected

    check()
    assert ledger.check() == []
    # The strategy reaches both sides.
    assert outcomes["committed"] > 5 and outcomes["refused"] > 5


# --- A stateful model -------------------------------------------------------------------------


def test_ledger_state_machine(app, make_club):
    club_id = a_club(make_club)
    batch = itertools.count()

    class LedgerMachine(RuleBasedStateMachine):
        """Post, reverse, set limits and replay keys on fresh accounts; the model must match."""

        @initialize(
            time_floor=st.sampled_from([None, -600, -100]),
            time_ceiling=st.sampled_from([None, 2400, 300]),
        )
        def open_accounts(self, time_floor, time_ceiling):
            n = next(batch)
            specs = [
                # (unit, type, floor, ceiling)
                (Unit.MONEY, AccountType.ASSET, 0, None),  # a bank
                (Unit.MONEY, AccountType.EQUITY, None, 0),  # two capital accounts
                (Unit.MONEY, AccountType.EQUITY, None, 0),
                (Unit.MONEY, AccountType.EXPENSE, None, None),
                (Unit.TIME, AccountType.ASSET, time_floor, time_ceiling),
                (Unit.TIME, AccountType.ASSET, time_floor, time_ceiling),
                (Unit.TIME, AccountType.ASSET, time_floor, time_ceiling),
            ]
            self.accounts: dict[int, dict] = {}
            for i, (unit, type_, floor, ceiling) in enumerate(specs):
                account = ledger.open_account(club_id, code=f"sm{n}:{i}", name=f"Compte {n}.{i}", type=type_,
                                              unit=unit, floor=floor, ceiling=ceiling)
                self.accounts[account.id] = {"unit": unit, "balance": 0, "floor": floor, "ceiling": ceiling}
            # transaction id -> {"lines", "unit", "kind", "key", "reversed_by", "is_reversal"}
            self.txns: dict[int, dict] = {}
            self.counts = row_counts(JournalTransaction, Posting)

        def ids(self, unit: Unit) -> list[int]:
            return sorted(a for a, m in self.accounts.items() if m["unit"] == unit)

        def fits(self, lines) -> bool:
            net: dict[int, int] = {}
            for account_id, amount in lines:
                net[account_id] = net.get(account_id, 0) + amount
            for account_id, amount in net.items():
                m = self.accounts[account_id]
                new = m["balance"] + amount
                if m["floor"] is not None and amount < 0 and new < m["floor"]:
                    return False
                if m["ceiling"] is not None and amount > 0 and new > m["ceiling"]:
                    return False
            return True

        def apply(self, lines) -> None:
            for account_id, amount in lines:
                self.accounts[account_id]["balance"] += amount

        def expect_refusal(self, error, call):
            try:
                call()
            except error:
                db.session.rollback()
            else:
                raise AssertionError(f"expected {error.__name__}")
            assert row_counts(JournalTransaction, Posting) == self.counts

        @rule(
            unit=st.sampled_from([Unit.MONEY, Unit.TIME]),
            picks=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 900), st.booleans()), min_size=1, max_size=3),
            sink=st.integers(0, 3),
        )
        def post(self, unit, picks, sink):
            ids = self.ids(unit)
            lines = [(ids[i % len(ids)], amount if debit else -amount) for i, amount, debit in picks]
            total = sum(a for _, a in lines)
            if total:
                lines.append((ids[sink % len(ids)], -total))
            else:
                lines.append((ids[sink % len(ids)], 50))
                lines.append((ids[(sink + 1) % len(ids)], -50))
            k = key()
            kind = TransactionKind.EXCHANGE if unit == Unit.TIME else TransactionKind.CONTRIBUTION
            if self.fits(lines):
                txn = ledger.post(club_id, unit=unit, kind=kind, lines=lines, idempotency_key=k)
                assert txn.id not in self.txns
                self.txns[txn.id] = {"lines": lines, "unit": unit, "kind": kind, "key": k, "reversed_by": None,
                                     "is_reversal": False}
                self.apply(lines)
                self.counts = (self.counts[0] + 1, self.counts[1] + len(lines))
                assert row_counts(JournalTransaction, Posting) == self.counts
                event("post: committed")
            else:
                event("post: past a limit")
                self.expect_refusal(LimitExceeded, lambda: ledger.post(club_id, unit=unit, kind=kind, lines=lines,
                                                                       idempotency_key=k))

        @precondition(lambda self: any(t["reversed_by"] is None and not t["is_reversal"] for t in self.txns.values()))
        @rule(pick=st.integers(0, 10_000))
        def reverse(self, pick):
            open_ids = sorted(i for i, t in self.txns.items() if t["reversed_by"] is None and not t["is_reversal"])
            original_id = open_ids[pick % len(open_ids)]
            original = self.txns[original_id]
            mirror = [(a, -amount) for a, amount in original["lines"]]
            k = key()
            call = lambda: ledger.reverse(club_id, original_id, reason="Erreur de saisie", idempotency_key=k,
                                          author_id=None)
            if self.fits(mirror):
                rev = call()
                assert rev.reverses_id == original_id
                original["reversed_by"] = rev.id
                self.txns[rev.id] = {"lines": mirror, "unit": original["unit"], "kind": TransactionKind.REVERSAL,
                                     "key": k, "reversed_by": None, "is_reversal": True}
                self.apply(mirror)
                self.counts = (self.counts[0] + 1, self.counts[1] + len(mirror))
                assert row_counts(JournalTransaction, Posting) == self.counts
                event("reverse: committed")
            else:
                event("reverse: past a limit")
                self.expect_refusal(LimitExceeded, call)

        @precondition(lambda self: any(t["reversed_by"] is not None or t["is_reversal"] for t in self.txns.values()))
        @rule(pick=st.integers(0, 10_000))
        def reverse_again(self, pick):
            done = sorted(i for i, t in self.txns.items() if t["reversed_by"] is not None or t["is_reversal"])
            txn_id = done[pick % len(done)]
            event("reverse again: refused")
            self.expect_refusal(Conflict, lambda: ledger.reverse(club_id, txn_id, reason="Encore",
                                                                 idempotency_key=key(), author_id=None))

        @rule(pick=st.integers(0, 6), floor=st.one_of(st.none(), st.integers(-3000, 500)),
              ceiling=st.one_of(st.none(), st.integers(-500, 3000)))
        def set_limits(self, pick, floor, ceiling):
            account_id = sorted(self.accounts)[pick]
            m = self.accounts[account_id]
            call = lambda: ledger.set_limits(club_id, account_id, floor=floor, ceiling=ceiling, actor_id=None,
                                             reason="Test")
            if floor is not None and ceiling is not None and floor > ceiling:
                event("set_limits: crossed")
                self.expect_refusal(InvalidInput, call)
            elif (floor is not None and m["balance"] < floor) or (ceiling is not None and m["balance"] > ceiling):
                event("set_limits: balance outside")
                self.expect_refusal(RuleViolation, call)
            else:
                event("set_limits: changed")
                account = call()
                assert (account.floor, account.ceiling) == (floor, ceiling)
                m["floor"], m["ceiling"] = floor, ceiling

        @precondition(lambda self: bool(self.txns))
        @rule(pick=st.integers(0, 10_000), shuffle=st.randoms(use_true_random=False))
        def replay_same(self, pick, shuffle):
            txn_id = sorted(self.txns)[pick % len(self.txns)]
            t = self.txns[txn_id]
            lines = list(t["lines"])
            shuffle.shuffle(lines)
            event("replay: same content")
            again = ledger.post(club_id, unit=t["unit"], kind=t["kind"], lines=lines, idempotency_key=t["key"])
            assert again.id == txn_id
            assert row_counts(JournalTransaction, Posting) == self.counts

        @precondition(lambda self: bool(self.txns))
        @rule(pick=st.integers(0, 10_000), extra=st.integers(1, 50))
        def replay_other_content(self, pick, extra):
            txn_id = sorted(self.txns)[pick % len(self.txns)]
            t = self.txns[txn_id]
            (a, amount), (b, other), *rest = t["lines"]
            changed = [(a, amount + extra if amount + extra else amount + 2 * extra), (b, other), *rest]
            total = sum(x for _, x in changed)
            changed.append((b, -total))
            event("replay: other content")
            self.expect_refusal(Conflict, lambda: ledger.post(club_id, unit=t["unit"], kind=t["kind"], lines=changed,
                                                              idempotency_key=t["key"]))

        @invariant()
        def ledger_holds(self):
            db.session.rollback()
            assert ledger.check() == []
            for account_id, m in self.accounts.items():
                assert ledger.balance_of(account_id) == m["balance"], account_id

    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
    assert ledger.check() == []
