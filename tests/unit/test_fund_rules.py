"""The pure rules of pooled savings (R4 pledges and yearly cap, R13 refunds) and pro-rata sharing, as tables of cases."""
from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from coop.services import rules
from coop.services.errors import InvalidInput, RuleViolation

MIN = 750  # 7.50 a month, the default minimum
CAP = 550_000  # 5,500 a year, the default cap


# --- check_pledge (R4) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("monthly", "minimum", "cap"),
    [
        pytest.param(MIN, MIN, CAP, id="exactly the minimum"),
        pytest.param(MIN + 1, MIN, CAP, id="one cent above the minimum"),
        pytest.param(45_833, MIN, CAP, id="default cap: largest pledge (12x = 5,499.96)"),
        pytest.param(10_000, MIN, 120_000, id="12x exactly the cap"),
        pytest.param(100, 100, 1_200, id="minimum and 12x the cap at once"),
        pytest.param(2_000, MIN, CAP, id="an ordinary pledge"),
    ],
)
def test_pledge_within_bounds_passes(monthly, minimum, cap):
    rules.check_pledge(monthly, minimum, cap, "EUR")


@pytest.mark.parametrize(
    ("monthly", "minimum", "cap"),
    [
        pytest.param(MIN - 1, MIN, CAP, id="one cent below the minimum"),
        pytest.param(1, MIN, CAP, id="one cent"),
        pytest.param(99, 100, 1_200, id="one cent below a charter's minimum"),
        pytest.param(45_834, MIN, CAP, id="default cap: one cent more a month passes it"),
        pytest.param(10_001, MIN, 120_000, id="12x the cap plus one cent a month"),
        pytest.param(101, 100, 1_200, id="minimum plus one cent passes a cap of 12x the minimum"),
        pytest.param(CAP, MIN, CAP, id="the yearly cap as a monthly pledge"),
    ],
)
def test_pledge_outside_bounds_is_refused(monthly, minimum, cap):
    with pytest.raises(RuleViolation) as refusal:
        rules.check_pledge(monthly, minimum, cap, "EUR")
    assert type(refusal.value) is RuleViolation
    assert refusal.value.rule == "R4"
    assert refusal.value.field == "monthly_amount"


# --- check_yearly_cap (R4) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("paid", "amount", "cap"),
    [
        pytest.param(0, CAP, CAP, id="the whole cap at once"),
        pytest.param(549_000, 1_000, CAP, id="reaches the cap exactly"),
        pytest.param(CAP - 1, 1, CAP, id="last cent"),
        pytest.param(0, 1, CAP, id="one cent, nothing paid"),
        pytest.param(100_000, 20_000, 120_000, id="a charter's lower cap, reached exactly"),
    ],
)
def test_contribution_within_the_yearly_cap_passes(paid, amount, cap):
    rules.check_yearly_cap(paid, amount, cap, "EUR")


@pytest.mark.parametrize(
    ("paid", "amount", "cap"),
    [
        pytest.param(0, CAP + 1, CAP, id="the cap plus one cent at once"),
        pytest.param(549_000, 1_001, CAP, id="passes the cap by one cent"),
        pytest.param(CAP, 1, CAP, id="cap already reached"),
        pytest.param(CAP + 500, 1, CAP, id="already above the cap"),
        pytest.param(100_000, 20_001, 120_000, id="a charter's lower cap, passed by one cent"),
    ],
)
def test_contribution_passing_the_yearly_cap_is_refused(paid, amount, cap):
    with pytest.raises(RuleViolation) as refusal:
        rules.check_yearly_cap(paid, amount, cap, "EUR")
    assert type(refusal.value) is RuleViolation
    assert refusal.value.rule == "R4"
    assert refusal.value.field == "amount"


# --- check_refund (R13) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "capital", "cash"),
    [
        pytest.param(10_000, 10_000, 50_000, id="exactly the capital"),
        pytest.param(5_000, 10_000, 5_000, id="exactly the cash"),
        pytest.param(7_000, 7_000, 7_000, id="capital = cash = amount"),
        pytest.param(1, 10_000, 50_000, id="one cent"),
        pytest.param(4_000, 10_000, 50_000, id="part of the capital"),
    ],
)
def test_refund_within_capital_and_cash_passes(amount, capital, cash):
    rules.check_refund(amount, capital, cash, "EUR")


@pytest.mark.parametrize("amount", [0, -1, -10_000], ids=["zero", "minus one cent", "negative"])
def test_refund_of_nothing_or_less_is_invalid(amount):
    with pytest.raises(InvalidInput) as refusal:
        rules.check_refund(amount, 10_000, 50_000, "EUR")
    assert type(refusal.value) is InvalidInput
    assert refusal.value.field == "amount"


@pytest.mark.parametrize(
    ("amount", "capital", "cash"),
    [
        pytest.param(10_001, 10_000, 50_000, id="capital plus one cent"),
        pytest.param(5_001, 10_000, 5_000, id="cash plus one cent"),
        pytest.param(1, 0, 50_000, id="no capital left"),
        pytest.param(1, 10_000, 0, id="no cash"),
        pytest.param(1, 10_000, -500, id="cash below nothing (commitments)"),
        pytest.param(20_000, 10_000, 5_000, id="above both"),
    ],
)
def test_refund_above_capital_or_cash_is_refused(amount, capital, cash):
    with pytest.raises(RuleViolation) as refusal:
        rules.check_refund(amount, capital, cash, "EUR")
    assert type(refusal.value) is RuleViolation
    assert refusal.value.rule == "R13"
    assert refusal.value.field == "amount"


# --- pro_rata ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        pytest.param(60_000, {1: 10_000, 2: 20_000, 3: 30_000}, {1: 10_000, 2: 20_000, 3: 30_000}, id="same as weights"),
        pytest.param(66_000, {1: 10_000, 2: 20_000, 3: 30_000}, {1: 11_000, 2: 22_000, 3: 33_000}, id="a gain"),
        pytest.param(100, {1: 1, 2: 1, 3: 1}, {1: 34, 2: 33, 3: 33}, id="thirds: ties to the lowest key"),
        pytest.param(10, {1: 1, 2: 2}, {1: 3, 2: 7}, id="largest remainder gets the cent"),
        pytest.param(1, {1: 5, 2: 5}, {1: 1, 2: 0}, id="one cent for two"),
        pytest.param(100, {1: 0, 2: 3}, {1: 0, 2: 100}, id="zero weight gets nothing"),
        pytest.param(100, {1: -5, 2: 5}, {1: 0, 2: 100}, id="negative weight gets nothing"),
        pytest.param(0, {1: 3, 2: 4}, {1: 0, 2: 0}, id="nothing to share"),
        pytest.param(-100, {1: 3, 2: 4}, {1: 0, 2: 0}, id="less than nothing to share"),
        pytest.param(100, {1: 0, 2: 0}, {1: 0, 2: 0}, id="all weights zero"),
        pytest.param(100, {}, {}, id="nobody"),
        pytest.param(7, {5: 1}, {5: 7}, id="one member takes all"),
    ],
)
def test_pro_rata_examples(total, weights, parts):
    assert rules.pro_rata(total, weights) == parts


weights_st = st.dictionaries(st.integers(0, 40), st.integers(0, 10**9), min_size=1, max_size=25)


@given(total=st.integers(0, 10**13), weights=weights_st)
@example(total=1, weights={1: 1, 2: 1, 3: 1})
@example(total=10**13, weights={1: 10**9, 2: 1})
@example(total=2, weights={1: 0, 2: 1, 3: 1, 4: 1})
def test_pro_rata_parts_add_up_and_stay_within_a_cent(total, weights):
    assume(any(w > 0 for w in weights.values()))
    parts = rules.pro_rata(total, weights)
    whole = sum(weights.values())

    assert set(parts) == set(weights)
    assert all(isinstance(p, int) for p in parts.values())
    assert sum(parts.values()) == total
    for k, w in weights.items():
        exact = Fraction(total * w, whole)
        assert abs(parts[k] - exact) < 1
        assert parts[k] >= 0
        if w == 0:
            assert parts[k] == 0


@given(total=st.integers(-10**13, 10**13), weights=st.dictionaries(st.integers(0, 40), st.just(0), max_size=10))
def test_pro_rata_with_no_positive_weight_gives_zeros(total, weights):
    assert rules.pro_rata(total, weights) == {k: 0 for k in weights}
