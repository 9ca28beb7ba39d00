"""Members' shares at their true value (issue 17): a leaver is paid their share of the net assets under the
charter's method, once their notice has run; a member takes part of their share out where the charter allows it;
a dissolved club closes with its reserves at zero. Figures are worked out by hand in the comments."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from coop.extensions import db
from coop.models import Account, AccountType, ExitValuation, Membership, TransactionKind, Unit
from coop.services import access, clubs, fund, ledger, shares
from coop.services.errors import Conflict, InvalidInput, NotFound, NotPermitted, RuleViolation
from tests.conftest import by_id, key, refused, row_counts

DAY = date(2025, 3, 5)


def mid(setup, user) -> int:
    return setup.memberships[user.id]


def pay(setup, user, amount: int, on: date = DAY):
    return fund.record_contribution(setup.treasurer.id, setup.club_id, membership_id=mid(setup, user), amount=amount,
                                    received_on=on, method="transfer", idempotency_key=key())


def balance(setup, code: str) -> int:
    return db.session.scalar(select(Account.balance).where(Account.club_id == setup.club_id, Account.code == code)) or 0


def earn(setup, amount: int) -> None:
    """Interest received: cash and net assets up by ``amount``, not yet shared into anyone's capital."""
    income = db.session.scalar(select(Account.id).where(Account.club_id == setup.club_id,
                                                        Account.code == "income:returns"))
    income = income or ledger.open_account(setup.club_id, code="income:returns", name="Intérêts",
                                           type=AccountType.INCOME, unit=Unit.MONEY).id
    ledger.post(setup.club_id, unit=Unit.MONEY, kind=TransactionKind.RETURN, idempotency_key=key(),
                lines=[(ledger.find_account(setup.club_id, "bank").id, amount), (income, -amount)])


def charter(setup, **changes) -> None:
    clubs.adopt_charter(setup.club_id, changes, ballot_id=None, author_id=None)


def values(setup, method: str | None = None) -> dict[int, int]:
    """membership id → share under ``method`` (the charter's by default), members with a share only."""
    found = shares.club_shares(setup.club_id)
    return {line.membership.id: line.value(method or found.method) for line in found.lines if line.value(
        method or found.method)}


def approve(setup, payout):
    approver = setup.manager if payout.entered_by_id != mid(setup, setup.manager) else setup.treasurer
    return fund.approve_payout(approver.id, setup.club_id, payout.id)


def consistent():
    assert ledger.check() == []
    assert fund.check_contributions() == []


@pytest.fixture
def grown(make_club):
    """a paid 1,000.00, b 1,000.00, c 2,000.00; then the fund earned 400.00 (net assets 4,400.00)."""
    club = make_club(5)
    _, _, a, b, c = club.members
    pay(club, a, 100_000)
    pay(club, b, 100_000)
    pay(club, c, 200_000)
    earn(club, 40_000)
    return club


# --- Valuing a leaver's share ---------------------------------------------------------------------------------


def test_a_leaver_is_paid_their_share_of_the_gain_not_just_their_capital(grown):
    manager, treasurer, a, b, c = grown.members
    clubs.leave(a.id, grown.club_id)
    valuation = fund.value_exit(treasurer.id, grown.club_id, mid(grown, a), form_key=key())
    # Pro rata to contributions: 4,400.00 × 1,000 / 4,000 = 1,100.00, of which 1,000.00 is capital in the books.
    assert (valuation.value, valuation.capital, valuation.net_assets, valuation.method) == (
        110_000, 100_000, 440_000, "pro_rata")
    assert valuation.pay_by == valuation.valued_on.replace(year=valuation.valued_on.year + 1)  # 12 months
    assert balance(grown, f"capital:{mid(grown, a)}") == 0
    assert balance(grown, f"payable:{mid(grown, a)}") == -110_000  # the club owes it
    assert balance(grown, "reserves") == 10_000  # the 100.00 above capital came out of the unshared gain
    # The others' shares did not move: b 1,100.00, c 2,200.00 of the 3,300.00 left.
    assert values(grown) == {mid(grown, b): 110_000, mid(grown, c): 220_000}
    # Paid in two instalments, each entered by the treasurer and approved by the manager (R11).
    approve(grown, fund.refund(treasurer.id, grown.club_id, mid(grown, a), amount=60_000, idempotency_key=key()))
    refused(lambda: fund.refund(treasurer.id, grown.club_id, mid(grown, a), amount=50_001, idempotency_key=key()),
            RuleViolation, rule="R13", field="amount")
    approve(grown, fund.refund(treasurer.id, grown.club_id, mid(grown, a), amount=50_000, idempotency_key=key()))
    assert (balance(grown, "bank"), balance(grown, f"payable:{mid(grown, a)}")) == (330_000, 0)
    assert fund.leavers(treasurer.id, grown.club_id) == []
    consistent()


def test_by_valuation_units_a_late_joiner_does_not_share_the_gains_made_before(make_club):
    club = make_club(5)
    _, treasurer, a, b, c = club.members
    charter(club, share_method="units")
    pay(club, a, 100_000)  # 100 units at 10.00
    pay(club, c, 200_000)  # 200 units
    earn(club, 30_000)  # 3,300.00 for 300 units: 11.00 a unit
    pay(club, b, 110_000)  # 1,100.00 buys exactly 100 units
    found = shares.club_shares(club.club_id)
    assert (found.net_assets, found.total_units, found.unit_value) == (440_000, 400_000_000, 1_100)
    assert values(club, "units") == {mid(club, a): 110_000, mid(club, b): 110_000, mid(club, c): 220_000}
    # Pro rata to contributions b would own 1,100 / 4,100 of 4,400.00 = 1,180.49 (largest remainder), taking
    # 80.49 of the gain made before they joined: the fund page shows both, the charter decides.
    assert values(club, "pro_rata") == {mid(club, a): 107_317, mid(club, b): 118_049, mid(club, c): 214_634}
    clubs.leave(a.id, club.club_id)
    assert fund.value_exit(treasurer.id, club.club_id, mid(club, a), form_key=key()).value == 110_000
    consistent()


def test_the_share_is_valued_once_the_notice_has_run_and_shares_what_happened_meanwhile(grown):
    _, treasurer, a, b, _ = grown.members
    charter(grown, exit_notice_days=30)
    clubs.leave(a.id, grown.club_id)
    left_on = by_id(Membership, mid(grown, a)).left_on
    refused(lambda: fund.value_exit(treasurer.id, grown.club_id, mid(grown, a), form_key=key(),
                                    today=left_on + timedelta(days=29)), RuleViolation, rule="R13")
    [waiting] = fund.leavers(treasurer.id, grown.club_id)
    assert (waiting.due_on, waiting.value_now, waiting.valuation) == (left_on + timedelta(days=30), 110_000, None)
    earn(grown, 40_000)  # during the notice: 4,800.00, a's quarter is 1,200.00
    valuation = fund.value_exit(treasurer.id, grown.club_id, mid(grown, a), form_key=key(),
                                today=left_on + timedelta(days=30))
    assert (valuation.value, valuation.valued_on) == (120_000, left_on + timedelta(days=30))
    earn(grown, 30_000)  # after the valuation: a's share no longer moves, the others share it
    assert balance(grown, f"payable:{mid(grown, a)}") == -120_000
    assert sum(values(grown).values()) == 480_000 + 30_000 - 120_000
    consistent()


def test_valuing_is_refused_with_nothing_written(grown, make_club):
    manager, treasurer, a, b, _ = grown.members
    other = make_club(5, name="Autre")
    k = key()
    refused(lambda: fund.value_exit(treasurer.id, grown.club_id, mid(grown, a), form_key=k), RuleViolation,
            rule="R13")  # still a member
    clubs.leave(a.id, grown.club_id)
    refused(lambda: fund.value_exit(b.id, grown.club_id, mid(grown, a), form_key=key()), NotPermitted)
    refused(lambda: fund.value_exit(other.treasurer.id, grown.club_id, mid(grown, a), form_key=key()), NotFound)
    refused(lambda: fund.value_exit(treasurer.id, grown.club_id, 10**6, form_key=key()), NotFound)
    refused(lambda: fund.value_exit(treasurer.id, grown.club_id, mid(grown, a), form_key="short"), InvalidInput)
    first = fund.value_exit(treasurer.id, grown.club_id, mid(grown, a), form_key=k)
    before = row_counts(ExitValuation)
    assert fund.value_exit(treasurer.id, grown.club_id, mid(grown, a), form_key=k).id == first.id  # a replay
    assert row_counts(ExitValuation) == before
    refused(lambda: fund.value_exit(treasurer.id, grown.club_id, mid(grown, a), form_key=key()), Conflict)
    # Its contributions can no longer be undone: the share they bought was paid for.
    [contribution] = fund.contributions(treasurer.id, grown.club_id, membership_id=mid(grown, a))
    refused(lambda: fund.reverse_contribution(treasurer.id, grown.club_id, contribution.contribution.id,
                                              reason="Erreur", idempotency_key=key()), RuleViolation, rule="R13")


def test_a_refund_needs_the_share_valued_first(grown):
    _, treasurer, a, _, _ = grown.members
    clubs.leave(a.id, grown.club_id)
    refused(lambda: fund.refund(treasurer.id, grown.club_id, mid(grown, a), amount=1_000, idempotency_key=key()),
            RuleViolation, rule="R13")


# --- Partial withdrawals --------------------------------------------------------------------------------------


def test_a_partial_withdrawal_needs_the_charter(grown):
    _, treasurer, a, _, _ = grown.members
    refused(lambda: fund.withdraw(treasurer.id, grown.club_id, mid(grown, a), amount=1_000, idempotency_key=key()),
            RuleViolation, rule="R13")


def test_a_partial_withdrawal_is_valued_at_approval_and_leaves_the_others_shares_alone(grown):
    manager, treasurer, a, b, c = grown.members
    charter(grown, partial_withdrawals=True)
    refused(lambda: fund.withdraw(treasurer.id, grown.club_id, mid(grown, a), amount=110_001, idempotency_key=key()),
            RuleViolation, rule="R13", field="amount")  # a's share is 1,100.00
    k = key()
    payout = fund.withdraw(treasurer.id, grown.club_id, mid(grown, a), amount=30_000, idempotency_key=k)
    assert fund.withdraw(treasurer.id, grown.club_id, mid(grown, a), amount=30_000, idempotency_key=k).id == payout.id
    refused(lambda: fund.withdraw(treasurer.id, grown.club_id, mid(grown, a), amount=80_001, idempotency_key=key()),
            RuleViolation, rule="R13", field="amount")  # 300.00 already waits
    refused(lambda: fund.approve_payout(treasurer.id, grown.club_id, payout.id), RuleViolation, rule="R11")
    assert balance(grown, "bank") == 440_000  # nothing paid before a second officer approves
    fund.approve_payout(manager.id, grown.club_id, payout.id)
    # a keeps 800.00; b and c still 1,100.00 and 2,200.00; capital in the books falls by 300/1,100 of 1,000.00.
    assert values(grown) == {mid(grown, a): 80_000, mid(grown, b): 110_000, mid(grown, c): 220_000}
    assert balance(grown, "bank") == 410_000
    assert balance(grown, f"capital:{mid(grown, a)}") == -(100_000 - 27_273)
    assert balance(grown, f"payable:{mid(grown, a)}") == 0
    [move] = [m for m in shares.movements_for(treasurer.id, grown.club_id, mid(grown, a)) if m.kind == "withdrawal"]
    assert (move.amount, move.weight) == (-30_000, -27_273)  # 300 × 4,000 / 4,400, to the cent
    consistent()


def test_a_partial_withdrawal_refusals(grown):
    _, treasurer, a, b, _ = grown.members
    charter(grown, partial_withdrawals=True)
    for amount in (0, -5, 1.5, "100", None, True):
        refused(lambda amount=amount: fund.withdraw(treasurer.id, grown.club_id, mid(grown, a), amount=amount,
                                                    idempotency_key=key()), InvalidInput, field="amount")
    refused(lambda: fund.withdraw(b.id, grown.club_id, mid(grown, a), amount=1_000, idempotency_key=key()),
            NotPermitted)
    clubs.leave(a.id, grown.club_id)
    refused(lambda: fund.withdraw(treasurer.id, grown.club_id, mid(grown, a), amount=1_000, idempotency_key=key()),
            RuleViolation, rule="R13")  # a leaver's share is valued whole


def test_a_withdrawal_waiting_blocks_the_valuation_of_a_leaver(grown):
    manager, treasurer, a, _, _ = grown.members
    charter(grown, partial_withdrawals=True)
    payout = fund.withdraw(treasurer.id, grown.club_id, mid(grown, a), amount=10_000, idempotency_key=key())
    clubs.leave(a.id, grown.club_id)
    refused(lambda: fund.value_exit(treasurer.id, grown.club_id, mid(grown, a), form_key=key()), Conflict)
    refused(lambda: fund.approve_payout(manager.id, grown.club_id, payout.id), RuleViolation, rule="R13")
    fund.cancel_payout(manager.id, grown.club_id, payout.id, "Parti entre-temps")
    assert fund.value_exit(treasurer.id, grown.club_id, mid(grown, a), form_key=key()).value == 110_000


# --- Dissolution ---------------------------------------------------------------------------------------------


def test_a_dissolved_club_closes_with_its_reserves_brought_to_zero(grown):
    manager, treasurer, a, b, c = grown.members
    clubs.leave(a.id, grown.club_id)
    fund.value_exit(treasurer.id, grown.club_id, mid(grown, a), form_key=key())
    approve(grown, fund.refund(treasurer.id, grown.club_id, mid(grown, a), amount=110_000, idempotency_key=key()))
    fund.begin_dissolution(grown.club_id, decided_by=manager.id)  # the 400.00 earned goes into b's and c's capital
    earn(grown, 3_000)  # a last interest payment, after the result was shared into capital
    plan = {line.membership.id: line.due for line in fund.dissolution_plan(treasurer.id, grown.club_id)}
    assert plan == {mid(grown, b): 111_000, mid(grown, c): 222_000, mid(grown, manager): 0, mid(grown, treasurer): 0}
    for user in (b, c):
        approve(grown, fund.distribute(treasurer.id, grown.club_id, mid(grown, user), amount=plan[mid(grown, user)],
                                       idempotency_key=key()))
    # Nothing held, nothing owed; what is left in the books are the last interest and the reserves it fed.
    assert (balance(grown, "bank"), balance(grown, "income:returns"), balance(grown, "reserves")) == (0, -3_000, 3_000)
    assert fund.close_club(treasurer.id, grown.club_id).status == "closed"
    assert db.session.scalar(select(Account.id).where(Account.club_id == grown.club_id, Account.unit == Unit.MONEY,
                                                      Account.balance != 0)) is None
    consistent()


# --- Who sees what --------------------------------------------------------------------------------------------


def test_a_member_sees_their_own_line_and_register(grown, make_club):
    _, treasurer, a, b, _ = grown.members
    mine = shares.shares_for(a.id, grown.club_id)
    assert [line.membership.id for line in mine.lines] == [mid(grown, a)] and mine.net_assets == 440_000
    assert len(shares.shares_for(treasurer.id, grown.club_id).lines) == 5
    assert {m.membership_id for m in shares.movements_for(a.id, grown.club_id)} == {mid(grown, a)}
    refused(lambda: shares.movements_for(a.id, grown.club_id, mid(grown, b)), NotPermitted)
    assert {m.membership_id for m in shares.movements_for(treasurer.id, grown.club_id)} == {
        mid(grown, u) for u in grown.members[2:]}
    other = make_club(5, name="Autre")
    refused(lambda: shares.shares_for(other.members[2].id, grown.club_id), NotFound)


def test_payouts_of_every_kind_are_listed_for_officers_only(grown):
    manager, treasurer, a, b, _ = grown.members
    charter(grown, partial_withdrawals=True)
    fund.withdraw(treasurer.id, grown.club_id, mid(grown, a), amount=10_000, idempotency_key=key())
    assert [p.kind for p in fund.payouts_waiting(manager.id, grown.club_id, "withdrawal")] == ["withdrawal"]
    assert fund.payouts_waiting(b.id, grown.club_id, "withdrawal") == []


# --- Valued at the next general meeting ------------------------------------------------------------------------


def test_the_charter_may_value_a_leavers_share_at_the_first_general_meeting_after_the_notice(grown):
    from datetime import UTC

    import time_machine

    from coop.models.base import utcnow
    from tests.services.test_meetings import at_hand

    manager, treasurer, a, b, _ = grown.members
    charter(grown, exit_at_meeting=True, exit_notice_days=1)
    at_hand(grown).open(secretary_id=mid(grown, b))  # a meeting held today, before a's notice has run
    clubs.leave(a.id, grown.club_id)
    refused(lambda: fund.value_exit(treasurer.id, grown.club_id, mid(grown, a), form_key=key()), RuleViolation,
            rule="R13")
    [waiting] = fund.leavers(treasurer.id, grown.club_id)
    assert (waiting.due_on, waiting.value_now) == (None, 110_000)
    later = utcnow().replace(tzinfo=UTC) + timedelta(days=3)
    with time_machine.travel(later, tick=False):
        earn(grown, 20_000)  # a still shares what the fund earns until the meeting: 4,600.00 / 4 = 1,150.00
        refused(lambda: fund.value_exit(treasurer.id, grown.club_id, mid(grown, a), form_key=key()), RuleViolation,
                rule="R13")
        at_hand(grown).open(secretary_id=mid(grown, b))
        [waiting] = fund.leavers(treasurer.id, grown.club_id)
        assert waiting.due_on == access.today_of(grown.club_id)  # the day it was held, on the club's clock
        valuation = fund.value_exit(treasurer.id, grown.club_id, mid(grown, a), form_key=key())
        assert (valuation.value, valuation.valued_on) == (115_000, waiting.due_on)
    consistent()
