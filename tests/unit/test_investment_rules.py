"""R10 as a pure rule: `rules.check_investment` against `rules.Caps`, no database.

Amounts are cents. The fund is members' capital; the per-project cap is
`project_cap_percent` of it; the stake is in hundredths of a percent."""
from __future__ import annotations

import pytest

from coop.services import rules
from coop.services.errors import LimitExceeded, RuleViolation
from tests.conftest import refused

FUND = 1_000_000  # 10,000.00 pooled: 25 % of it is 250,000


def caps(*, cash: int = FUND, fund: int = FUND, project_cap: int = 25, minority: int = 33,
         holds: bool = False) -> rules.Caps:
    return rules.Caps(available_cash=cash, fund=fund, project_cap_percent=project_cap,
                      minority_stake_percent=minority, holds_shares=holds)


def text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def check(amount: int, *, instrument: str = "loan", legal_form: str = "scop", stake: int | None = None, **limits):
    rules.check_investment(amount, instrument, legal_form, stake, caps(**limits), text)


def refused_by_r10(error_type, amount: int, **kwargs):
    """``check`` refuses ``amount`` under R10; a pure rule writes nothing, so there is nothing to compare."""
    return refused(lambda: check(amount, **kwargs), error_type, rule="R10", unchanged=False)


# --- Cash available -------------------------------------------------------------------------


def test_exactly_the_cash_available_passes():
    check(123_456, cash=123_456)


def test_one_cent_over_the_cash_available_is_refused_and_says_what_is_available():
    error = refused_by_r10(LimitExceeded, 123_457, cash=123_456)
    assert "1234.57" in str(error.message) and "1234.56" in str(error.message)


def test_commitments_above_the_bank_balance_leave_nothing_to_pay_not_even_a_cent():
    # bank 100,000 with 100,500 already committed: available is -500, shown as 0.00
    error = refused_by_r10(LimitExceeded, 1, cash=-500)
    assert "0.00" in str(error.message)


# --- Per-project share of the fund ----------------------------------------------------------


def test_exactly_the_default_quarter_of_the_fund_passes_and_one_cent_more_is_refused():
    check(250_000)  # 25 % of 1,000,000
    error = refused_by_r10(LimitExceeded, 250_001)
    assert "2500.00" in str(error.message)


@pytest.mark.parametrize("fund, largest", [
    (1_000_003, 250_000),  # 25 % is 250,000.75: the cap does not round up
    (1_000_004, 250_001),  # 25 % is exactly 250,001
])
def test_the_cap_is_exact_to_the_cent_when_the_fund_does_not_divide(fund, largest):
    check(largest, fund=fund, cash=fund)
    refused_by_r10(LimitExceeded, largest + 1, fund=fund, cash=fund)


def test_the_charter_sets_the_share():
    check(100_000, project_cap=10)  # 10 % of 1,000,000
    refused_by_r10(LimitExceeded, 100_001, project_cap=10)
    check(1_000_000, project_cap=100)


def test_an_empty_fund_allows_nothing_even_with_cash():
    refused_by_r10(LimitExceeded, 1, fund=0, cash=50_000)


# --- Minority stake (equity) ----------------------------------------------------------------


def test_a_stake_exactly_at_the_default_minority_cap_passes_and_one_hundredth_more_is_refused():
    check(100_000, instrument="equity", legal_form="sas", stake=3300)
    error = refused_by_r10(RuleViolation, 100_000, instrument="equity", legal_form="sas", stake=3301)
    assert "33" in str(error.message)


def test_the_charter_sets_the_minority_cap():
    check(100_000, instrument="equity", legal_form="sarl", stake=4900, minority=49)
    refused_by_r10(RuleViolation, 100_000, instrument="equity", legal_form="sarl", stake=4901, minority=49)
    refused_by_r10(RuleViolation, 100_000, instrument="equity", legal_form="sarl", stake=2001, minority=20)


def test_equity_without_a_stake_is_refused():
    refused_by_r10(RuleViolation, 100_000, instrument="equity", legal_form="sas", stake=None)


@pytest.mark.parametrize("legal_form", ["association", "sole_trader", "obnl"])
def test_no_shares_in_a_legal_form_that_has_none(legal_form):
    refused_by_r10(RuleViolation, 100_000, instrument="equity", legal_form=legal_form, stake=1000)


@pytest.mark.parametrize("legal_form", ["association", "sole_trader", "obnl"])
@pytest.mark.parametrize("instrument", ["loan", "returnable"])
def test_a_loan_or_returnable_contribution_to_them_is_allowed(legal_form, instrument):
    check(100_000, instrument=instrument, legal_form=legal_form)


@pytest.mark.parametrize("legal_form", ["sarl", "sas", "sa", "scop", "scic", "quebec_coop", "other"])
def test_equity_in_a_company_with_shares_is_allowed(legal_form):
    check(100_000, instrument="equity", legal_form=legal_form, stake=1)


# --- Shareholder current-account loans -------------------------------------------------------


def test_a_current_account_loan_needs_shares_already_held():
    error = refused_by_r10(RuleViolation, 100_000, instrument="current_account", legal_form="sas", holds=False)
    assert not isinstance(error, LimitExceeded)
    check(100_000, instrument="current_account", legal_form="sas", holds=True)


def test_holding_shares_does_not_lift_the_money_caps():
    refused_by_r10(LimitExceeded, 250_001, instrument="current_account", legal_form="sas", holds=True)
    refused_by_r10(LimitExceeded, 50_001, instrument="current_account", legal_form="sas", holds=True, cash=50_000)
