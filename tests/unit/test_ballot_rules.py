"""The outcome of one ballot (``tally.decide``) and the rules that shape a ballot (method, proxies), as tables.

Pure functions: no database, no request. ``tests/unit/test_tally.py`` covers the counting primitives
(``quorum_met``, ``threshold_met``, ``majority_grade``...); here the whole decision a member reads in the minutes.
Vote values: yes/no and consent use YES=1, NO=-1 (consent: objection), ABSTAIN=0 (consent: stand aside);
majority judgment grades 0 (to reject) .. 5 (excellent); approval 1 / 0."""
from __future__ import annotations

import pytest

from coop.services import rules
from coop.services.errors import InvalidInput, LimitExceeded, RuleViolation
from coop.services.tally import ABSTAIN, NO, YES, decide, rank_majority_judgment

OPTION = 7  # the single option of a yes/no or consent ballot (any id will do)


def yes_no(yes=0, no=0, abstain=0):
    return {OPTION: {YES: yes, NO: no, ABSTAIN: abstain}}


# --- 1. Yes / no -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("threshold", "eligible", "participants", "votes", "outcome"),
    [
        # Quorum (R6), 50 %: participants * 100 >= 50 * eligible.
        pytest.param("majority", 10, 5, yes_no(4, 1), "adopted", id="quorum: exactly 5 of 10 is enough"),
        pytest.param("majority", 10, 4, yes_no(4), "no_quorum", id="quorum: 4 of 10 is one short"),
        pytest.param("majority", 11, 6, yes_no(6), "adopted", id="quorum: 6 of 11 (54%)"),
        pytest.param("majority", 11, 5, yes_no(5), "no_quorum", id="quorum: 5 of 11 (45%)"),
        pytest.param("majority", 0, 0, yes_no(), "no_quorum", id="quorum: nobody eligible never meets it"),
        # Majority of votes cast: yes > no.
        pytest.param("majority", 6, 6, yes_no(3, 3), "rejected", id="majority: a 3-3 tie fails"),
        pytest.param("majority", 6, 6, yes_no(abstain=6), "rejected", id="majority: everyone abstains fails"),
        pytest.param("majority", 6, 6, yes_no(4, 2), "adopted", id="majority: 4 yes 2 no"),
        pytest.param("majority", 6, 6, yes_no(1, 0, 5), "adopted", id="majority: 1 yes, 5 abstain"),
        # Two thirds of votes cast: 3 * yes >= 2 * (yes + no).
        pytest.param("two_thirds", 6, 6, yes_no(4, 2), "adopted", id="two thirds: 4 of 6 cast, 12 >= 12"),
        pytest.param("two_thirds", 6, 5, yes_no(3, 2), "rejected", id="two thirds: 3 of 5 cast (60%), 9 < 10"),
        pytest.param("two_thirds", 8, 8, yes_no(5, 3), "rejected", id="two thirds: 5 of 8 cast, 15 < 16"),
        pytest.param("two_thirds", 6, 6, yes_no(2, 1, 3), "adopted", id="two thirds: abstentions left out, 2 of 3"),
        pytest.param("two_thirds", 6, 6, yes_no(abstain=6), "rejected", id="two thirds: nothing cast"),
        # Unanimity: every eligible member says yes.
        pytest.param("unanimity", 5, 5, yes_no(4, 1), "rejected", id="unanimity: one no"),
        pytest.param("unanimity", 5, 5, yes_no(4, 0, 1), "rejected", id="unanimity: one abstention"),
        pytest.param("unanimity", 5, 4, yes_no(4), "rejected", id="unanimity: one absent (quorum met, 80%)"),
        pytest.param("unanimity", 5, 5, yes_no(5), "adopted", id="unanimity: everyone yes"),
        # A recused majority (R8): 11 members, 7 recused -> 4 eligible; 2 taking part is exactly 50 %.
        pytest.param("majority", 4, 2, yes_no(2), "adopted", id="recused majority: 2 of 4 eligible decide"),
        pytest.param("majority", 4, 1, yes_no(1), "no_quorum", id="recused majority: 1 of 4 is short"),
        pytest.param("unanimity", 4, 2, yes_no(2), "rejected", id="recused majority: unanimity asks all 4"),
        pytest.param("unanimity", 4, 4, yes_no(4), "adopted", id="recused majority: all 4 non-recused say yes"),
        # Proxies: 3 in person + 2 by proxy = 5 participants of 10 -> quorum met; without the proxies, 3 of 10.
        pytest.param("majority", 10, 5, yes_no(3, 1, 1), "adopted", id="proxies count: 3 + 2 proxies of 10"),
        pytest.param("majority", 10, 3, yes_no(3), "no_quorum", id="without the 2 proxies: 3 of 10"),
        # One member left: 1 of 1 eligible takes part and says yes.
        pytest.param("majority", 1, 1, yes_no(1), "adopted", id="one member left: majority"),
        pytest.param("two_thirds", 1, 1, yes_no(1), "adopted", id="one member left: two thirds"),
        pytest.param("unanimity", 1, 1, yes_no(1), "adopted", id="one member left: unanimity"),
        pytest.param("unanimity", 1, 1, yes_no(0, 1), "rejected", id="one member left says no"),
    ],
)
def test_yes_no_outcome(threshold, eligible, participants, votes, outcome):
    decision = decide("yes_no", threshold, 50, eligible, participants, votes)
    assert decision.outcome == outcome
    assert decision.winner is None  # a single question has no winner
    figures = votes[OPTION]
    assert decision.summary == {
        "eligible": eligible, "participants": participants, "quorum_percent": 50, "threshold": threshold,
        "quorum_met": outcome != "no_quorum",
        "yes": figures[YES], "no": figures[NO], "abstain": figures[ABSTAIN],
    }


def test_yes_no_reads_missing_values_as_zero():
    # The counters only hold the values somebody chose: 3 yes, nobody said no or abstained.
    decision = decide("yes_no", "majority", 50, 4, 3, {OPTION: {YES: 3}})
    assert decision.outcome == "adopted"
    assert (decision.summary["yes"], decision.summary["no"], decision.summary["abstain"]) == (3, 0, 0)


@pytest.mark.parametrize(
    ("quorum_percent", "participants", "met"),
    [(25, 2, True), (25, 1, False), (100, 8, True), (100, 7, False)],
    ids=["25%: 2 of 8 is exactly 25%", "25%: 1 of 8", "100%: all 8", "100%: 7 of 8"],
)
def test_the_charter_quorum_is_used(quorum_percent, participants, met):
    # 8 eligible: 2 * 100 >= 25 * 8 (200 >= 200); 1 * 100 < 200; 100 %: 800 >= 800, 700 < 800.
    decision = decide("yes_no", "majority", quorum_percent, 8, participants, yes_no(participants))
    assert decision.summary["quorum_met"] is met
    assert decision.outcome == ("adopted" if met else "no_quorum")


# --- 2. Consent ------------------------------------------------------------------------------
# Consent: at least one yes and no objection (NO); abstaining is standing aside. The threshold plays no part.


@pytest.mark.parametrize(
    ("eligible", "participants", "votes", "outcome"),
    [
        pytest.param(6, 5, yes_no(3, 0, 2), "adopted", id="3 agree, 2 stand aside"),
        pytest.param(2, 1, yes_no(1), "adopted", id="a single yes and nobody objects"),
        pytest.param(6, 5, yes_no(4, 1, 0), "rejected", id="one objection among 4 agreeing"),
        pytest.param(6, 6, yes_no(4, 1, 1), "rejected", id="one objection, one standing aside"),
        pytest.param(6, 4, yes_no(0, 0, 4), "rejected", id="only stand-asides: nobody agreed"),
        pytest.param(6, 2, yes_no(2), "no_quorum", id="2 of 6 agree: 33%, no quorum"),
        pytest.param(6, 2, yes_no(1, 1), "no_quorum", id="no quorum comes before the objection"),
    ],
)
def test_consent_outcome(eligible, participants, votes, outcome):
    decision = decide("consent", "majority", 50, eligible, participants, votes)
    assert decision.outcome == outcome
    assert decision.winner is None
    figures = votes[OPTION]
    assert decision.summary["quorum_met"] is (outcome != "no_quorum")
    assert (decision.summary["yes"], decision.summary["no"], decision.summary["abstain"]) == (
        figures[YES], figures[NO], figures[ABSTAIN])


# --- 3. Majority judgment --------------------------------------------------------------------
# Grades: 0 to reject, 1 poor, 2 fair, 3 good, 4 very good, 5 excellent; every voter grades every option.
# Majority grade = lower median = sorted(grades)[(n - 1) // 2]. Gauge when medians tie: with p grades above
# the median and q below, "+" (share p/n) if p > q, otherwise "-" (share q/n); "+" beats "-", a larger "+"
# share wins, a smaller "-" share wins. Still tied: take one median grade away from each and start again.
# The winner is adopted when its accepting voters (grade >= fair) meet the threshold among the participants.


def graded(*grades: int) -> dict[int, int]:
    """The counters of one option: {grade: how many voters gave it}."""
    counts: dict[int, int] = {}
    for grade in grades:
        counts[grade] = counts.get(grade, 0) + 1
    return counts


JUDGMENT_EXAMPLES = {
    # 5 voters. 1: [1,3,3,4,5] -> median 3 (good); 2: [0,2,2,4,5] -> median 2 (fair). 1 wins on the median.
    # 1 is accepted (>= 2) by 3,3,4,5: 4 of 5 -> majority 4 > 1, adopted.
    "median": ({1: [1, 3, 3, 4, 5], 2: [0, 2, 2, 4, 5]}, [(1, "1"), (2, "2")], {"1": 3, "2": 2}),
    # 4 voters: the LOWER median. 1: [1,2,4,5] -> index (4-1)//2 = 1 -> 2 (fair; the upper median would be 4,
    # and its mean 3 is the higher); 2: [0,3,3,3] -> 3 (good). 2 wins; accepted by 3 of 4: 3 > 1, adopted.
    "lower median": ({1: [1, 2, 4, 5], 2: [0, 3, 3, 3]}, [(1, "2"), (2, "1")], {"1": 2, "2": 3}),
    # Both medians 3 (good). 1: [2,3,3,4,4]: 2 above, 1 below -> "+" 2/5. 2: [0,0,3,5,5]: 2 above, 2 below ->
    # "-" 2/5. "+" beats "-": 1 wins although 2 has two "excellent". 1 accepted by all 5.
    "gauge plus beats minus": ({1: [2, 3, 3, 4, 4], 2: [0, 0, 3, 5, 5]}, [(1, "1"), (2, "2")], {"1": 3, "2": 3}),
    # 7 voters, both medians 3 (index 3). 1: [1,3,3,3,4,4,5]: 3 above, 1 below -> "+" 3/7.
    # 2: [1,3,3,3,3,4,5]: 2 above, 1 below -> "+" 2/7. The larger "+" share wins: 1. Accepted by 6 of 7.
    "gauge larger plus": ({1: [1, 3, 3, 3, 4, 4, 5], 2: [1, 3, 3, 3, 3, 4, 5]}, [(1, "1"), (2, "2")],
                          {"1": 3, "2": 3}),
    # Gauge tied too. 1: [2,2,3,3,3] median 3, 0 above, 2 below -> "-" 2/5; 2: [2,2,3,4,4] median 3, 2 above,
    # 2 below -> "-" 2/5 (p = q is "-"). Equal. Remove a 3: 1: [2,2,3,3] -> median 2, 2 above, 0 below, "+" 2/4;
    # 2: [2,2,4,4] -> median 2, "+" 2/4. Equal. Remove a 2: 1: [2,3,3] -> 3; 2: [2,4,4] -> 4. 2 wins.
    # 2 is accepted by all 5 (every grade >= 2).
    "median removal": ({1: [2, 2, 3, 3, 3], 2: [2, 2, 3, 4, 4]}, [(1, "2"), (2, "1")], {"1": 3, "2": 3}),
    # Identical profiles (in another voter order): nothing tells them apart, both rank 1; 3 ([0,0,1], median 0)
    # comes third.
    "identical": ({1: [1, 2, 4], 2: [4, 1, 2], 3: [0, 0, 1]}, [(1, "1"), (1, "2"), (3, "3")],
                  {"1": 2, "2": 2, "3": 0}),
}


@pytest.mark.parametrize("example", list(JUDGMENT_EXAMPLES), ids=list(JUDGMENT_EXAMPLES))
def test_rank_majority_judgment_examples(example):
    grades, ranking, _ = JUDGMENT_EXAMPLES[example]
    assert rank_majority_judgment({str(o): g for o, g in grades.items()}) == ranking


@pytest.mark.parametrize(
    ("example", "winner", "accepting"),
    [
        pytest.param("median", 1, 4, id="median"),
        pytest.param("lower median", 2, 3, id="lower median"),
        pytest.param("gauge plus beats minus", 1, 5, id="gauge plus beats minus"),
        pytest.param("gauge larger plus", 1, 6, id="gauge larger plus"),
        pytest.param("median removal", 2, 5, id="median removal"),
    ],
)
def test_judgment_winner_is_adopted(example, winner, accepting):
    grades, ranking, medians = JUDGMENT_EXAMPLES[example]
    voters = len(grades[1])
    decision = decide("judgment", "majority", 50, voters + 1, voters, {o: graded(*g) for o, g in grades.items()})
    assert decision.outcome == "adopted"
    assert decision.winner == winner
    summary = decision.summary
    assert (summary["yes"], summary["no"], summary["abstain"]) == (accepting, voters - accepting, 0)
    assert summary["quorum_met"] is True
    assert {o: f["rank"] for o, f in summary["options"].items()} == {o: r for r, o in ranking}
    assert {o: f["majority_grade"] for o, f in summary["options"].items()} == medians
    assert summary["options"][str(winner)]["accepting"] == accepting
    # Every grade is listed, the ones nobody gave as 0.
    assert summary["options"][str(winner)]["grades"] == {
        str(g): grades[winner].count(g) for g in range(6)}


@pytest.mark.parametrize(
    ("threshold", "grades", "outcome", "accepting"),
    [
        # 1: [0,1,1,3,4] median 1 (poor), first ahead of 2: [0,0,0,2,5] median 0. Accepted (>= fair) by 3 and 4
        # only: 2 of 5 -> majority needs 2 > 3: rejected, no winner.
        pytest.param("majority", {1: [0, 1, 1, 3, 4], 2: [0, 0, 0, 2, 5]}, "rejected", 2,
                     id="majority: first but accepted by 2 of 5"),
        # 1: [1,1,2,3,3] median 2 (fair) ahead of 2: [0,1,1,2,2] median 1. Accepted by 2,3,3: 3 of 5.
        # Majority: 3 > 2, adopted. Two thirds: 3*3 = 9 < 2*5 = 10, rejected. Unanimity: 3 of 5 eligible, rejected.
        pytest.param("majority", {1: [1, 1, 2, 3, 3], 2: [0, 1, 1, 2, 2]}, "adopted", 3,
                     id="majority: accepted by 3 of 5"),
        pytest.param("two_thirds", {1: [1, 1, 2, 3, 3], 2: [0, 1, 1, 2, 2]}, "rejected", 3,
                     id="two thirds: 3 of 5 is short"),
        pytest.param("unanimity", {1: [1, 1, 2, 3, 3], 2: [0, 1, 1, 2, 2]}, "rejected", 3,
                     id="unanimity: 3 of 5 is short"),
        # 1: [2,2,3,4,5] accepted by all 5 eligible: adopted even under unanimity.
        pytest.param("unanimity", {1: [2, 2, 3, 4, 5], 2: [0, 1, 1, 2, 2]}, "adopted", 5,
                     id="unanimity: every eligible member accepts"),
    ],
)
def test_judgment_winner_must_be_accepted(threshold, grades, outcome, accepting):
    decision = decide("judgment", threshold, 50, 5, 5, {o: graded(*g) for o, g in grades.items()})
    assert decision.outcome == outcome
    assert decision.winner == (1 if outcome == "adopted" else None)
    assert decision.summary["options"]["1"]["rank"] == 1
    assert (decision.summary["yes"], decision.summary["no"]) == (accepting, 5 - accepting)


def test_judgment_identical_profiles_are_a_tie():
    grades, _, _ = JUDGMENT_EXAMPLES["identical"]
    decision = decide("judgment", "majority", 50, 3, 3, {o: graded(*g) for o, g in grades.items()})
    assert decision.outcome == "tie"
    assert decision.winner is None
    assert {o: f["rank"] for o, f in decision.summary["options"].items()} == {"1": 1, "2": 1, "3": 3}
    assert "yes" not in decision.summary  # no winner, so no acceptance was counted


def test_judgment_without_quorum_still_ranks_but_decides_nothing():
    # 10 eligible, 4 took part: 400 < 500. 1: [3,3,4,4] median 3; 2: [0,1,1,2] median 1.
    decision = decide("judgment", "majority", 50, 10, 4, {1: graded(3, 3, 4, 4), 2: graded(0, 1, 1, 2)})
    assert decision.outcome == "no_quorum"
    assert decision.winner is None
    assert decision.summary["quorum_met"] is False
    assert decision.summary["options"]["1"]["rank"] == 1 and decision.summary["options"]["1"]["majority_grade"] == 3


def test_judgment_nobody_voted():
    decision = decide("judgment", "majority", 50, 5, 0, {1: {}, 2: {}})
    assert decision.outcome == "no_quorum"
    assert decision.winner is None
    assert {o: (f["rank"], f["majority_grade"], f["accepting"]) for o, f in decision.summary["options"].items()} == {
        "1": (1, None, 0), "2": (1, None, 0)}


# --- 4. Approval -----------------------------------------------------------------------------
# The most approved option wins, alone at the top, if 2 * approvals > participants ("majority").


def approved(participants: int, **approvals: int) -> dict[int, dict[int, int]]:
    """{option: {1: approvals, 0: the other participants}}, options named o1, o2..."""
    return {int(name[1:]): {1: n, 0: participants - n} for name, n in approvals.items()}


@pytest.mark.parametrize(
    ("eligible", "participants", "counts", "outcome", "winner", "ranks"),
    [
        # 5 took part: 1 approved by 3 -> 6 > 5, adopted.
        pytest.param(6, 5, approved(5, o1=3, o2=2, o3=1), "adopted", 1, {"1": 1, "2": 2, "3": 3},
                     id="most approved, by 3 of 5"),
        pytest.param(6, 5, approved(5, o1=1, o2=5), "adopted", 2, {"2": 1, "1": 2}, id="approved by all 5"),
        pytest.param(6, 5, approved(5, o1=3, o2=3, o3=0), "tie", None, {"1": 1, "2": 1, "3": 3},
                     id="two at the top: tie"),
        # 2 * 2 = 4 is not > 5.
        pytest.param(6, 5, approved(5, o1=2, o2=1, o3=1), "rejected", None, {"1": 1, "2": 2, "3": 2},
                     id="top approved by 2 of 5"),
        # Exactly half is not a majority: 2 * 2 = 4 is not > 4.
        pytest.param(4, 4, approved(4, o1=2, o2=1), "rejected", None, {"1": 1, "2": 2}, id="top approved by half"),
        pytest.param(10, 4, approved(4, o1=4, o2=0), "no_quorum", None, {"1": 1, "2": 2}, id="4 of 10: no quorum"),
    ],
)
def test_approval_outcome(eligible, participants, counts, outcome, winner, ranks):
    decision = decide("approval", "majority", 50, eligible, participants, counts)
    assert decision.outcome == outcome
    assert decision.winner == winner
    options = decision.summary["options"]
    assert {o: f["rank"] for o, f in options.items()} == ranks
    assert {o: f["approvals"] for o, f in options.items()} == {str(o): v[1] for o, v in counts.items()}
    if outcome in ("adopted", "rejected"):
        top = max(v[1] for v in counts.values())
        assert (decision.summary["yes"], decision.summary["no"]) == (top, participants - top)


def test_approval_reads_a_missing_approval_as_none():
    # Nobody approved option 2: its counter only holds 0s (or nothing at all).
    decision = decide("approval", "majority", 50, 3, 3, {1: {1: 2, 0: 1}, 2: {}})
    assert decision.outcome == "adopted" and decision.winner == 1  # 2 * 2 > 3
    assert decision.summary["options"]["2"] == {"rank": 2, "approvals": 0, "accepting": 0}


# --- 5. Which method fits which decision -----------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "method", "threshold", "secret", "options"),
    [
        pytest.param("funding", "yes_no", "majority", False, 1, id="yes/no on one project"),
        pytest.param("charter", "yes_no", "unanimity", True, 1, id="yes/no, unanimity, secret"),
        pytest.param("admission", "consent", "two_thirds", False, 1, id="consent on an admission"),
        pytest.param("funding", "consent", "majority", False, 1, id="consent on a project"),
        pytest.param("funding", "judgment", "majority", True, 2, id="judgment among 2 projects"),
        pytest.param("election", "judgment", "majority", False, 10, id="judgment among 10 candidates"),
        pytest.param("funding", "approval", "majority", False, 10, id="approval among 10 projects"),
        pytest.param("election", "approval", "majority", True, 2, id="approval among 2 candidates"),
    ],
)
def test_ballot_method_accepted(kind, method, threshold, secret, options):
    assert rules.check_ballot_method(kind, method, threshold, secret, options) is None


@pytest.mark.parametrize(
    ("kind", "method", "threshold", "secret", "options", "error", "rule", "field"),
    [
        pytest.param("funding", "yes_no", "majority", False, 2, InvalidInput, None, "method", id="yes/no, 2 options"),
        pytest.param("funding", "yes_no", "majority", False, 0, InvalidInput, None, "method", id="yes/no, no option"),
        pytest.param("funding", "consent", "majority", False, 2, InvalidInput, None, "method",
                     id="consent, 2 options"),
        pytest.param("funding", "judgment", "majority", False, 1, InvalidInput, None, "method",
                     id="judgment, 1 option"),
        pytest.param("election", "judgment", "majority", False, 11, InvalidInput, None, "method",
                     id="judgment, 11 options"),
        pytest.param("funding", "approval", "majority", False, 1, InvalidInput, None, "method",
                     id="approval, 1 option"),
        pytest.param("election", "approval", "majority", False, 11, InvalidInput, None, "method",
                     id="approval, 11 options"),
        *[pytest.param(kind, method, "majority", False, 2, InvalidInput, None, "method", id=f"{method} for {kind}")
          for kind in ("admission", "exclusion", "charter", "renewal", "dissolution")
          for method in ("judgment", "approval")],
        pytest.param("charter", "consent", "unanimity", False, 1, RuleViolation, "R7", "method",
                     id="consent under unanimity (R7)"),
        pytest.param("funding", "consent", "unanimity", True, 1, RuleViolation, "R7", "method",
                     id="consent under unanimity and secret: R7 first"),
        pytest.param("funding", "consent", "majority", True, 1, InvalidInput, None, "secret", id="secret consent"),
    ],
)
def test_ballot_method_refused(kind, method, threshold, secret, options, error, rule, field):
    with pytest.raises(error) as refused:
        rules.check_ballot_method(kind, method, threshold, secret, options)
    assert type(refused.value) is error
    assert refused.value.rule == rule
    assert refused.value.field == field


# --- 6. Proxies ------------------------------------------------------------------------------

FREE = {"giver_recused": False, "holder_recused": False, "giver_holds": 0, "holder_gave": False, "holder_holds": 0,
        "limit": 1}


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({}, id="default: limit 1, holder holds none"),
        pytest.param({"limit": 3, "holder_holds": 2}, id="the third of 3 allowed"),
        pytest.param({"limit": 2, "holder_holds": 1}, id="the second of 2 allowed"),
    ],
)
def test_proxy_accepted(changes):
    assert rules.check_proxy(**{**FREE, **changes}) is None


@pytest.mark.parametrize(
    ("changes", "error", "rule"),
    [
        pytest.param({"giver_recused": True}, RuleViolation, "R8", id="giver recused"),
        pytest.param({"holder_recused": True}, RuleViolation, "R8", id="holder recused"),
        pytest.param({"giver_holds": 1}, RuleViolation, "R9", id="giver holds a proxy: no passing on"),
        pytest.param({"holder_gave": True}, RuleViolation, "R9", id="holder gave theirs: no passing on"),
        pytest.param({"holder_holds": 1}, LimitExceeded, "R9", id="limit 1 reached"),
        pytest.param({"limit": 3, "holder_holds": 3}, LimitExceeded, "R9", id="limit 3 reached"),
        pytest.param({"limit": 0}, RuleViolation, "R9", id="charter allows no proxy"),
    ],
)
def test_proxy_refused(changes, error, rule):
    with pytest.raises(error) as refused:
        rules.check_proxy(**{**FREE, **changes})
    assert type(refused.value) is error  # LimitExceeded is a RuleViolation: tell them apart
    assert refused.value.rule == rule
