"""The share registers, replayed by hand: pro rata to contributions and valuation units (coop/services/shares.py).

Every figure below is worked out on paper in the comments; the unit starts at 10.00 and is kept in millionths."""
from __future__ import annotations

from datetime import date

from coop.models import ShareMethod
from coop.services.shares import Register

DAY = date(2026, 1, 15)
A, B, C = 1, 2, 3
PRO_RATA, UNITS = ShareMethod.PRO_RATA, ShareMethod.UNITS


def gain(register: Register, cents: int) -> None:
    register.net_assets += cents


def paid(register: Register, txn: int, member: int, cents: int) -> None:
    register.deposit(txn, DAY, member, cents)
    register.net_assets += cents


def late_joiner() -> Register:
    """A pays 1,000.00; the fund gains 500.00; then B pays 1,000.00."""
    r = Register()
    paid(r, 1, A, 100_000)  # 100 units at 10.00
    gain(r, 50_000)  # unit value 1,500.00 / 100 = 15.00
    paid(r, 2, B, 100_000)  # 1,000.00 / 15.00 = 66.666666 units
    return r


def test_the_first_payment_buys_units_at_the_opening_value():
    r = Register()
    paid(r, 1, A, 100_000)
    assert r.holdings[A].units == 100_000_000
    assert r.unit_value() == 1_000


def test_a_late_joiner_buys_at_the_unit_value_of_the_moment():
    r = late_joiner()
    assert r.holdings[B].units == 66_666_666
    assert r.movements[-1].unit_value == 1_500  # 15.00 a unit
    assert r.net_assets == 250_000
    # Units: A holds 100 / 166.666666 of 2,500.00 = 1,500.00; B the rest, 1,000.00 (to the cent, adding up).
    assert r.values(UNITS) == {A: 150_000, B: 100_000}
    # Pro rata to contributions: both paid 1,000.00, so each owns half, 1,250.00.
    assert r.values(PRO_RATA) == {A: 125_000, B: 125_000}


def test_a_withdrawal_leaves_the_others_shares_where_they_were():
    r = late_joiner()
    r.withdraw(3, DAY, B, 50_000)
    r.net_assets -= 50_000
    # Units: 500.00 / 15.00 = 33.333333 units cashed in; B keeps 33.333333, worth 500.00; A still 1,500.00.
    assert r.holdings[B].units == 33_333_333
    assert r.values(UNITS) == {A: 150_000, B: 50_000}
    # Pro rata: B's weight falls by 500.00 × 2,000.00 / 2,500.00 = 400.00, to 600.00 of 1,600.00:
    # B 750.00 (their 1,250.00 less the 500.00), A 1,250.00.
    assert r.holdings[B].weight == 60_000
    assert r.values(PRO_RATA) == {A: 125_000, B: 75_000}


def test_taking_out_the_whole_value_takes_out_every_unit():
    r = late_joiner()
    r.withdraw(3, DAY, B, 100_000)
    r.net_assets -= 100_000
    assert r.holdings[B].units == 0 and r.values(UNITS) == {A: 150_000, B: 0}


def test_an_exit_sells_everything_at_the_value_settled():
    r = late_joiner()
    value = r.value_of(A, PRO_RATA)
    r.exit(3, DAY, A, value)
    r.net_assets -= value
    assert (r.holdings[A].units, r.holdings[A].weight) == (0, 0)
    assert r.values(PRO_RATA) == {A: 0, B: 125_000}
    assert r.values(UNITS) == {A: 0, B: 125_000}


def test_a_reversed_contribution_gives_back_exactly_what_it_bought():
    r = late_joiner()
    assert r.undo(3, DAY, 2)
    r.net_assets -= 100_000
    assert r.holdings[B].units == 0 and r.holdings[B].weight == 0
    assert r.values(UNITS) == {A: 150_000, B: 0}
    assert not r.undo(4, DAY, 99)  # a transaction that bought nothing


def test_a_transfer_moves_the_whole_share_in_the_given_proportions():
    r = late_joiner()
    paid(r, 3, C, 50_000)  # C: 500.00 at 15.00 = 33.333333 units; net assets 3,000.00
    r.transfer(4, DAY, A, {B: 2, C: 1})
    assert r.holdings[A].units == 0
    # A's 100 units: two thirds to B (66.666667 by largest remainder), one third to C (33.333333).
    assert r.holdings[B].units == 66_666_666 + 66_666_667
    assert r.holdings[C].units == 33_333_333 + 33_333_333
    assert sum(r.values(UNITS).values()) == r.net_assets == 300_000


def test_losses_are_shared_and_values_add_up_to_the_net_assets():
    r = late_joiner()
    gain(r, -100_001)  # a write-off: 1,499.99 left
    assert sum(r.values(UNITS).values()) == 149_999
    assert sum(r.values(PRO_RATA).values()) == 149_999
    assert r.values(PRO_RATA) == {A: 75_000, B: 74_999}  # 749.995 each: the leftover cent goes to the first
