"""The pure governance and ledger rules (R1–R12, invariants 1 and 4) as tables of cases."""
from __future__ import annotations

import pytest

from coop.services import rules
from coop.services.errors import InvalidInput, LimitExceeded, RuleViolation
from tests.conftest import DEFAULT_CHARTER

# --- check_charter: every setting within its bounds -----------------------------------

#: The bounds DESIGN.md and the law give each charter setting, written out here
#: so that loosening one in the code fails a test.
BOUNDS = [
    # field, low, high, rule
    ("min_members", 5, 20, "R1"),
    ("max_members", 5, 20, "R1"),
    ("officer_term_months", 6, 36, "R3"),
    ("min_monthly_contribution", 100, 100_000, "R4"),
    ("max_yearly_contribution", 1_000, 550_000, "R4"),  # 5,500 a year: the investment-club ceiling
    ("term_years", 1, 5, "R5"),  # an indivision lasts at most 5 years
    ("max_renewals", 0, 1, "R5"),  # renewable once
    ("quorum_percent", 25, 100, "R6"),
    ("max_proxies_per_holder", 0, 3, "R9"),
    ("project_cap_percent", 1, 100, "R10"),
    ("minority_stake_percent", 1, 49, "R10"),  # a minority stake stays below half
    ("time_floor_minutes", -6_000, 0, "R12"),
    ("time_ceiling_minutes", 0, 24_000, "R12"),
    ("time_warning_percent", 50, 99, "R12"),
    ("exchange_expiry_days", 1, 365, "R12"),
    ("exit_notice_days", 0, 365, "R13"),
    ("exit_pay_months", 0, 60, "R13"),
    ("meeting_notice_days", 8, 60, "R14"),  # the Cigales' fifteen days by default
    ("meeting_quorum_percent", 25, 100, "R14"),
]


def test_every_bounded_setting_is_in_the_table():
    assert {field for field, *_ in BOUNDS} == set(rules.CHARTER_BOUNDS)


def _edges(accepted: bool):
    for field, low, high, rule in BOUNDS:
        if accepted:
            yield pytest.param(field, low, id=f"{field}={low} (low)")
            yield pytest.param(field, high, id=f"{field}={high} (high)")
        else:
            yield pytest.param(field, low - 1, rule, id=f"{field}={low - 1} (low-1)")
            yield pytest.param(field, high + 1, rule, id=f"{field}={high + 1} (high+1)")


@pytest.mark.parametrize(("field", "value"), list(_edges(accepted=True)))
def test_charter_accepts_each_bound(field, value):
    rules.check_charter({field: value})


@pytest.mark.parametrize(("field", "value", "rule"), list(_edges(accepted=False)))
def test_charter_refuses_just_outside_each_bound(field, value, rule):
    with pytest.raises(RuleViolation) as refusal:
        rules.check_charter({field: value})
    assert type(refusal.value) is RuleViolation
    assert refusal.value.rule == rule
    assert refusal.value.field == field


@pytest.mark.parametrize(
    ("values", "ok"),
    [
        pytest.param({"min_members": 5, "max_members": 5}, True, id="min=max"),
        pytest.param({"min_members": 12, "max_members": 12}, True, id="min=max=12"),
        pytest.param({"min_members": 6, "max_members": 5}, False, id="min>max by one"),
        pytest.param({"min_members": 20, "max_members": 5}, False, id="min=20 max=5"),
    ],
)
def test_charter_minimum_members_not_above_maximum(values, ok):
    if ok:
        rules.check_charter(values)
        return
    with pytest.raises(RuleViolation) as refusal:
        rules.check_charter(values)
    assert refusal.value.rule == "R1"
    assert refusal.value.field == "min_members"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("quorum_percent", "50", id="text"),
        pytest.param("quorum_percent", 50.0, id="float"),
        pytest.param("quorum_percent", None, id="none"),
        pytest.param("min_members", True, id="bool True is not 1"),
        pytest.param("max_renewals", False, id="bool False is not 0"),
        pytest.param("time_floor_minutes", "-600", id="negative text"),
    ],
)
def test_charter_numbers_must_be_whole_numbers_not_bools(field, value):
    with pytest.raises(InvalidInput) as refusal:
        rules.check_charter({field: value})
    assert refusal.value.field == field


THRESHOLD_FIELDS = [
    "threshold_investment",
    "threshold_membership",
    "threshold_officers",
    "threshold_charter",
    "threshold_stake_sale",
    "threshold_renewal",
    "threshold_dissolution",
]


@pytest.mark.parametrize("field", THRESHOLD_FIELDS)
@pytest.mark.parametrize("value", ["simple", "", "UNANIMITY", None, 1])
def test_charter_threshold_must_come_from_the_list(field, value):
    with pytest.raises(InvalidInput) as refusal:
        rules.check_charter({field: value})
    assert refusal.value.field == field


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        # R7: what the law reserves to every co-owner cannot be made easier.
        ("threshold_charter", "majority", "R7"),
        ("threshold_charter", "two_thirds", "R7"),
        ("threshold_stake_sale", "majority", "R7"),
        ("threshold_stake_sale", "two_thirds", "R7"),
        ("threshold_renewal", "majority", "R7"),
        ("threshold_renewal", "two_thirds", "R7"),
    ],
)
def test_charter_unanimity_required_for_charter_stake_sale_and_renewal(field, value, rule):
    with pytest.raises(RuleViolation) as refusal:
        rules.check_charter({field: value})
    assert refusal.value.rule == rule
    assert refusal.value.field == field


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("threshold_charter", "unanimity"),
        ("threshold_stake_sale", "unanimity"),
        ("threshold_renewal", "unanimity"),
        ("threshold_investment", "majority"),
        ("threshold_investment", "two_thirds"),
        ("threshold_investment", "unanimity"),
        ("threshold_membership", "majority"),
        ("threshold_membership", "two_thirds"),
        ("threshold_officers", "two_thirds"),
        ("threshold_dissolution", "two_thirds"),
    ],
)
def test_charter_accepts_allowed_thresholds(field, value):
    rules.check_charter({field: value})


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        pytest.param(True, True, id="True"),
        pytest.param(False, True, id="False"),
        pytest.param(1, False, id="1"),
        pytest.param(0, False, id="0"),
        pytest.param("yes", False, id="text"),
        pytest.param(None, False, id="None"),
    ],
)
def test_charter_exchange_confirmation_is_yes_or_no(value, ok):
    values = {"exchange_needs_confirmation": value}
    if ok:
        rules.check_charter(values)
        return
    with pytest.raises(InvalidInput) as refusal:
        rules.check_charter(values)
    assert refusal.value.field == "exchange_needs_confirmation"


def test_charter_with_every_default_passes():
    rules.check_charter(DEFAULT_CHARTER)


# --- check_member_count, check_room_for_member (R1) ------------------------------------


@pytest.mark.parametrize(
    ("active", "minimum", "maximum", "ok"),
    [
        pytest.param(4, 5, 20, False, id="one short"),
        pytest.param(5, 5, 20, True, id="exactly the minimum"),
        pytest.param(12, 5, 20, True, id="in between"),
        pytest.param(20, 5, 20, True, id="exactly the maximum"),
        pytest.param(21, 5, 20, False, id="one over"),
        pytest.param(0, 5, 20, False, id="nobody"),
        pytest.param(8, 8, 8, True, id="min=max, met"),
        pytest.param(7, 8, 8, False, id="min=max, short"),
    ],
)
def test_member_count_of_an_active_club(active, minimum, maximum, ok):
    if ok:
        rules.check_member_count(active, minimum, maximum)
        return
    with pytest.raises(RuleViolation) as refusal:
        rules.check_member_count(active, minimum, maximum)
    assert refusal.value.rule == "R1"


@pytest.mark.parametrize(
    ("active", "maximum", "ok"),
    [
        pytest.param(0, 20, True, id="empty club"),
        pytest.param(19, 20, True, id="last seat"),
        pytest.param(20, 20, False, id="full"),
        pytest.param(21, 20, False, id="already over"),
        pytest.param(4, 5, True, id="small club, last seat"),
        pytest.param(5, 5, False, id="small club, full"),
    ],
)
def test_room_for_one_more_member(active, maximum, ok):
    if ok:
        rules.check_room_for_member(active, maximum)
        return
    with pytest.raises(RuleViolation) as refusal:
        rules.check_room_for_member(active, maximum)
    assert refusal.value.rule == "R1"


# --- check_officers (R3) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("managers", "treasurers", "ok"),
    [
        pytest.param([1], [2], True, id="two different people"),
        pytest.param([1], [1], False, id="manager is treasurer"),
        pytest.param([1], [], False, id="no treasurer"),
        pytest.param([], [2], False, id="no manager"),
        pytest.param([], [], False, id="no officers"),
        pytest.param([1, 3], [2], False, id="two managers"),
        pytest.param([1], [2, 3], False, id="two treasurers"),
    ],
)
def test_one_manager_and_one_other_treasurer(managers, treasurers, ok):
    if ok:
        rules.check_officers(managers, treasurers)
        return
    with pytest.raises(RuleViolation) as refusal:
        rules.check_officers(managers, treasurers)
    assert refusal.value.rule == "R3"


# --- check_balanced (invariant 1) -------------------------------------------------------


@pytest.mark.parametrize(
    "amounts",
    [
        pytest.param([100, -100], id="two lines"),
        pytest.param([-100, 100], id="credit first"),
        pytest.param([50, 50, -100], id="three lines"),
        pytest.param([1, -1], id="one cent"),
        pytest.param([10**15, -(10**15)], id="huge"),
        pytest.param((a for a in (30, -30)), id="any iterable"),
    ],
)
def test_balanced_postings_pass(amounts):
    rules.check_balanced(amounts)


@pytest.mark.parametrize(
    ("amounts", "error", "rule"),
    [
        pytest.param([], InvalidInput, None, id="no lines"),
        pytest.param([0], InvalidInput, None, id="one zero line"),
        pytest.param([100], InvalidInput, None, id="one line"),
        pytest.param([100, -100, 0], InvalidInput, None, id="a zero line"),
        pytest.param([100, -99], RuleViolation, "ledger", id="off by one"),
        pytest.param([100, 100], RuleViolation, "ledger", id="two debits"),
        pytest.param([1.5, -1.5], InvalidInput, None, id="floats"),
        pytest.param([100.0, -100.0], InvalidInput, None, id="whole floats"),
        pytest.param(["100", "-100"], InvalidInput, None, id="text"),
        pytest.param([True, -1], InvalidInput, None, id="bool"),
        pytest.param([None, 1], InvalidInput, None, id="None"),
    ],
)
def test_unbalanced_or_malformed_postings_are_refused(amounts, error, rule):
    with pytest.raises(error) as refusal:
        rules.check_balanced(amounts)
    assert type(refusal.value) is error
    assert refusal.value.rule == rule


# --- check_limits (invariant 4) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("balance", "amount", "floor", "ceiling"),
    [
        pytest.param(100, -100, 0, None, id="down to the floor exactly"),
        pytest.param(0, -600, -600, 2400, id="time: down to -10 h exactly"),
        pytest.param(2300, 100, -600, 2400, id="time: up to +40 h exactly"),
        pytest.param(0, 10**12, None, None, id="no limits"),
        pytest.param(0, -(10**12), None, None, id="no limits, down"),
        pytest.param(-50, 20, 0, None, id="below floor, moving back up"),
        pytest.param(-50, 50, 0, None, id="below floor, back to it"),
        pytest.param(3000, -100, -600, 2400, id="above ceiling, moving back down"),
        pytest.param(50, 1_000, 0, None, id="floor only: up is free"),
        pytest.param(50, -1_000, None, 100, id="ceiling only: down is free"),
        pytest.param(0, 0, 0, 0, id="no change at both limits"),
    ],
)
def test_postings_within_limits_pass(balance, amount, floor, ceiling):
    rules.check_limits("acct", balance, amount, floor, ceiling)


@pytest.mark.parametrize(
    ("balance", "amount", "floor", "ceiling", "rule"),
    [
        pytest.param(100, -101, 0, None, "floor", id="one below the floor"),
        pytest.param(0, -601, -600, 2400, "floor", id="time: one minute past -10 h"),
        pytest.param(2300, 101, -600, 2400, "ceiling", id="time: one minute past +40 h"),
        pytest.param(0, 1, None, 0, "ceiling", id="equity capital ceiling 0"),
        pytest.param(-50, -1, 0, None, "floor", id="below floor, further down"),
        pytest.param(3000, 1, -600, 2400, "ceiling", id="above ceiling, further up"),
    ],
)
def test_postings_past_a_limit_are_refused(balance, amount, floor, ceiling, rule):
    with pytest.raises(LimitExceeded) as refusal:
        rules.check_limits("acct", balance, amount, floor, ceiling)
    assert refusal.value.rule == rule


def test_a_limit_refusal_is_a_rule_violation():
    assert issubclass(LimitExceeded, RuleViolation)


# --- check_new_limits -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("balance", "floor", "ceiling"),
    [
        pytest.param(0, -600, 2400, id="defaults"),
        pytest.param(-600, -600, 2400, id="balance on the floor"),
        pytest.param(2400, -600, 2400, id="balance on the ceiling"),
        pytest.param(5, 5, 5, id="floor = ceiling = balance"),
        pytest.param(-10**9, None, None, id="no limits"),
        pytest.param(7, 7, None, id="floor only"),
        pytest.param(7, None, 7, id="ceiling only"),
    ],
)
def test_new_limits_containing_the_balance_pass(balance, floor, ceiling):
    rules.check_new_limits(balance, floor, ceiling)


@pytest.mark.parametrize(
    ("balance", "floor", "ceiling", "error", "rule", "field"),
    [
        pytest.param(0, 1, 0, InvalidInput, None, "floor", id="floor above ceiling"),
        pytest.param(0, 10, -10, InvalidInput, None, "floor", id="floor far above ceiling"),
        pytest.param(-601, -600, 2400, RuleViolation, "floor", "floor", id="balance below new floor"),
        pytest.param(2401, -600, 2400, RuleViolation, "ceiling", "ceiling", id="balance above new ceiling"),
        pytest.param(-1, 0, None, RuleViolation, "floor", "floor", id="floor only, one below"),
        pytest.param(1, None, 0, RuleViolation, "ceiling", "ceiling", id="ceiling only, one above"),
    ],
)
def test_new_limits_excluding_the_balance_are_refused(balance, floor, ceiling, error, rule, field):
    with pytest.raises(error) as refusal:
        rules.check_new_limits(balance, floor, ceiling)
    assert type(refusal.value) is error
    assert refusal.value.rule == rule
    assert refusal.value.field == field


# --- check_time_limit (R12) ---------------------------------------------------------------

EXCHANGE, REVERSAL = rules.LimitCheck.EXCHANGE, rules.LimitCheck.REVERSAL
MEMBER, CHARTER = rules.LimitCheck.MEMBER_LIMITS, rules.LimitCheck.CHARTER_LIMITS


@pytest.mark.parametrize(
    ("check", "balance", "floor", "ceiling", "minutes"),
    [
        pytest.param(EXCHANGE, 0, -600, 2400, -600, id="receive down to -10 h exactly"),
        pytest.param(EXCHANGE, 2300, -600, 2400, 100, id="give up to +40 h exactly"),
        pytest.param(EXCHANGE, -700, -600, 2400, 60, id="below a tightened floor, giving moves back up"),
        pytest.param(EXCHANGE, -700, -600, 2400, 100, id="below a tightened floor, giving goes back to it"),
        pytest.param(EXCHANGE, 2500, -600, 2400, -60, id="above a tightened ceiling, receiving moves back down"),
        pytest.param(EXCHANGE, 0, None, None, -(10**6), id="no floor"),
        pytest.param(EXCHANGE, 0, None, None, 10**6, id="no ceiling"),
        pytest.param(REVERSAL, 60, 0, 2400, -60, id="reversal: down to the floor exactly"),
        pytest.param(REVERSAL, 2340, -600, 2400, 60, id="reversal: up to the ceiling exactly"),
        pytest.param(REVERSAL, -700, -600, 2400, 60, id="reversal: below a tightened floor, moving back up"),
        pytest.param(MEMBER, -600, -600, 2400, 0, id="member limits: balance on the floor"),
        pytest.param(MEMBER, 2400, -600, 2400, 0, id="member limits: balance on the ceiling"),
        pytest.param(MEMBER, 0, 0, 0, 0, id="member limits: 0 to 0 at 0"),
        pytest.param(CHARTER, -1200, -1200, 4800, 0, id="charter limits: balance on the floor"),
        pytest.param(CHARTER, 4800, -1200, 4800, 0, id="charter limits: balance on the ceiling"),
    ],
)
def test_time_within_limits_passes(check, balance, floor, ceiling, minutes):
    rules.check_time_limit(check, balance, floor, ceiling, minutes=minutes, name="Ada")


@pytest.mark.parametrize(
    ("check", "balance", "floor", "ceiling", "minutes", "error", "rule", "field", "words"),
    [
        pytest.param(EXCHANGE, 0, -600, 2400, -601, LimitExceeded, "R12", "minutes",
                     ["Ada's time balance is 0 h", "their floor is −10 h", "receiving 10 h 01", "at most 10 h more"],
                     id="receive one minute past -10 h"),
        pytest.param(EXCHANGE, 2300, -600, 2400, 101, LimitExceeded, "R12", "minutes",
                     ["Ada's time balance is 38 h 20", "their ceiling is 40 h", "giving 1 h 41", "at most 1 h 40 more"],
                     id="give one minute past +40 h"),
        pytest.param(EXCHANGE, -700, -600, 2400, -1, LimitExceeded, "R12", "minutes",
                     ["their floor is −10 h", "receiving 0 h 01", "at most 0 h more"],
                     id="below a tightened floor, receiving more"),
        pytest.param(EXCHANGE, 2500, -600, 2400, 1, LimitExceeded, "R12", "minutes",
                     ["their ceiling is 40 h", "giving 0 h 01", "at most 0 h more"],
                     id="above a tightened ceiling, giving more"),
        pytest.param(EXCHANGE, 0, 0, 0, -1, LimitExceeded, "R12", "minutes", ["floor is 0 h"], id="floor 0"),
        pytest.param(REVERSAL, 59, 0, 2400, -60, LimitExceeded, "R12", None,
                     ["Reversing would take Ada's time balance (0 h 59) below their floor of 0 h",
                      "Lower their floor first"],
                     id="reversal: one minute past the floor"),
        pytest.param(REVERSAL, 2341, -600, 2400, 60, LimitExceeded, "R12", None,
                     ["Reversing would take Ada's time balance (39 h 01) above their ceiling of 40 h",
                      "Raise their ceiling first"],
                     id="reversal: one minute past the ceiling"),
        pytest.param(MEMBER, -601, -600, 2400, 0, RuleViolation, "R12", "floor",
                     ["Ada's time balance (−10 h 01) is below this floor."], id="member limits: one below the floor"),
        pytest.param(MEMBER, 2401, -600, 2400, 0, RuleViolation, "R12", "ceiling",
                     ["Ada's time balance (40 h 01) is above this ceiling."],
                     id="member limits: one above the ceiling"),
        pytest.param(CHARTER, -1201, -1200, 4800, 0, RuleViolation, "floor", "floor",
                     ["The balance (-1201) is already below this floor."], id="charter limits: one below the floor"),
        pytest.param(CHARTER, 4801, -1200, 4800, 0, RuleViolation, "ceiling", "ceiling",
                     ["The balance (4801) is already above this ceiling."], id="charter limits: one above the ceiling"),
        pytest.param(CHARTER, 0, 1, 0, 0, InvalidInput, None, "floor", ["The floor must not be above the ceiling."],
                     id="charter limits: floor above ceiling"),
    ],
)
def test_time_past_a_limit_is_refused(check, balance, floor, ceiling, minutes, error, rule, field, words):
    with pytest.raises(error) as refusal:
        rules.check_time_limit(check, balance, floor, ceiling, minutes=minutes, name="Ada")
    assert type(refusal.value) is error
    assert (refusal.value.rule, refusal.value.field) == (rule, field)
    for word in words:
        assert word in str(refusal.value.message).replace("\u00a0", " ")  # durations keep no-break spaces


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("floor", -6_000, id="floor -100 h"),
        pytest.param("floor", 0, id="floor 0"),
        pytest.param("ceiling", 0, id="ceiling 0"),
        pytest.param("ceiling", 24_000, id="ceiling 400 h"),
    ],
)
def test_a_members_own_limits_within_the_charters_bounds_pass(field, value):
    rules.check_time_bound(field, value)


@pytest.mark.parametrize(
    ("field", "value", "error", "rule", "words"),
    [
        pytest.param("floor", -6_001, RuleViolation, "R12", "Allowed values are −100 h to 0 h.", id="floor past -100 h"),
        pytest.param("floor", 1, RuleViolation, "R12", "Allowed values are −100 h to 0 h.", id="floor above 0"),
        pytest.param("ceiling", -1, RuleViolation, "R12", "Allowed values are 0 h to 400 h.", id="ceiling below 0"),
        pytest.param("ceiling", 24_001, RuleViolation, "R12", "Allowed values are 0 h to 400 h.",
                     id="ceiling past 400 h"),
        pytest.param("floor", "-600", InvalidInput, None, "This value must be a whole number.", id="text"),
        pytest.param("ceiling", 60.0, InvalidInput, None, "This value must be a whole number.", id="float"),
        pytest.param("ceiling", True, InvalidInput, None, "This value must be a whole number.", id="bool"),
    ],
)
def test_a_members_own_limits_outside_the_charters_bounds_are_refused(field, value, error, rule, words):
    with pytest.raises(error) as refusal:
        rules.check_time_bound(field, value)
    assert type(refusal.value) is error
    assert (refusal.value.rule, refusal.value.field) == (rule, field)
    assert words in str(refusal.value.message).replace("\u00a0", " ")  # durations keep no-break spaces


# --- General meetings (R14) ---------------------------------------------------------------------


@pytest.mark.parametrize(("days_ahead", "notice", "ok"), [
    (15, 15, True),  # exactly the notice is enough
    (14, 15, False),
    (60, 15, True),
    (0, 8, False),
    (8, 8, True),
])
def test_a_meeting_is_convened_at_least_the_notice_ahead(days_ahead, notice, ok):
    if ok:
        rules.check_notice(days_ahead, notice)
        return
    with pytest.raises(RuleViolation) as refusal:
        rules.check_notice(days_ahead, notice)
    assert (refusal.value.rule, refusal.value.field) == ("R14", "scheduled_at")


@pytest.mark.parametrize(("meeting", "kind", "ok"), [
    ("ordinary", "accounts", True),
    ("extraordinary", "accounts", False),
    ("extraordinary", "charter", True),
    ("ordinary", "charter", False),
    ("ordinary", "renewal", False),
    ("ordinary", "dissolution", False),
    ("extraordinary", "dissolution", True),
    ("ordinary", "election", True),
    ("extraordinary", "election", True),
    ("ordinary", "funding", True),
    ("extraordinary", "exclusion", True),
])
def test_the_charter_the_term_and_dissolution_go_to_an_extraordinary_meeting_the_accounts_to_the_ordinary_one(
        meeting, kind, ok):
    if ok:
        rules.check_agenda_kind(meeting, kind)
        return
    with pytest.raises(RuleViolation) as refusal:
        rules.check_agenda_kind(meeting, kind)
    assert (refusal.value.rule, refusal.value.field) == ("R14", "kind")


@pytest.mark.parametrize(("present", "giver_holds", "holder_gave", "holder_holds", "limit", "error", "rule"), [
    (False, 0, False, 0, 1, None, None),
    (True, 0, False, 0, 1, RuleViolation, "R14"),  # present: votes themself
    (False, 1, False, 0, 1, RuleViolation, "R9"),  # no proxy on a proxy
    (False, 0, True, 0, 1, RuleViolation, "R9"),
    (False, 0, False, 1, 1, LimitExceeded, "R9"),  # the holder already holds the charter's number
    (False, 0, False, 1, 2, None, None),
    (False, 0, False, 0, 0, RuleViolation, "R9"),  # the charter allows none
])
def test_a_proxy_for_a_meeting(present, giver_holds, holder_gave, holder_holds, limit, error, rule):
    def call():
        rules.check_meeting_proxy(giver_present=present, giver_holds=giver_holds, holder_gave=holder_gave,
                                  holder_holds=holder_holds, limit=limit)

    if error is None:
        call()
        return
    with pytest.raises(error) as refusal:
        call()
    assert type(refusal.value) is error
    assert refusal.value.rule == rule
