"""Counting votes: quorum, thresholds, consent, majority judgment and approval, as the conventions state them."""
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coop.services.tally import (
    Count,
    Grade,
    consent_given,
    majority_grade,
    passes,
    quorum_met,
    rank_approval,
    rank_majority_judgment,
    threshold_met,
)


@pytest.mark.parametrize(
    ("participants", "eligible", "percent", "met"),
    [
        pytest.param(6, 11, 50, True, id="6 of 11 at 50%"),
        pytest.param(5, 11, 50, False, id="5 of 11 at 50%"),
        pytest.param(5, 10, 50, True, id="exactly the share is enough"),
        pytest.param(4, 10, 50, False, id="one short"),
        pytest.param(0, 0, 50, False, id="nobody eligible never meets quorum"),
        pytest.param(1, 1, 100, True, id="one of one at 100%"),
        pytest.param(2, 3, 67, False, id="2 of 3 is 66.7% < 67%"),
        pytest.param(2, 3, 66, True, id="2 of 3 is 66.7% >= 66%"),
    ],
)
def test_quorum(participants, eligible, percent, met):
    assert quorum_met(participants, eligible, percent) is met


@pytest.mark.parametrize(
    ("count", "threshold", "met"),
    [
        pytest.param(Count(10, 5, 4, 1), "majority", True, id="majority: 5 yes 4 no"),
        pytest.param(Count(10, 4, 4, 2), "majority", False, id="majority: a tie fails"),
        pytest.param(Count(10, 1, 0, 9), "majority", True, id="majority: abstentions are left out"),
        pytest.param(Count(10, 0, 0, 10), "majority", False, id="majority: nothing cast"),
        pytest.param(Count(9, 6, 3, 0), "two_thirds", True, id="two thirds: exactly 6 of 9"),
        pytest.param(Count(9, 5, 3, 1), "two_thirds", False, id="two thirds: 5 of 8 is short"),
        pytest.param(Count(9, 2, 1, 6), "two_thirds", True, id="two thirds: 2 of 3 cast"),
        pytest.param(Count(9, 0, 0, 9), "two_thirds", False, id="two thirds: nothing cast"),
        pytest.param(Count(5, 5, 0, 0), "unanimity", True, id="unanimity: every eligible says yes"),
        pytest.param(Count(5, 4, 0, 1), "unanimity", False, id="unanimity: an abstention fails it"),
        pytest.param(Count(5, 4, 0, 0), "unanimity", False, id="unanimity: an absence fails it"),
        pytest.param(Count(0, 0, 0, 0), "unanimity", False, id="unanimity: nobody eligible"),
    ],
)
def test_thresholds(count, threshold, met):
    assert threshold_met(count, threshold) is met


def test_passing_needs_quorum_and_threshold():
    assert passes(Count(11, 5, 1, 0), "majority", 50) is True  # quorum 6 of 11, 5 yes of 6
    assert passes(Count(11, 5, 0, 0), "majority", 50) is False  # 5 of 11: no quorum
    assert passes(Count(11, 3, 3, 0), "majority", 50) is False  # quorum, but a tie


@pytest.mark.parametrize(
    ("yes", "objections", "given_"),
    [(1, 0, True), (0, 0, False), (5, 1, False), (0, 2, False)],
    ids=["one yes", "nobody said yes", "one objection", "objections only"],
)
def test_consent(yes, objections, given_):
    assert consent_given(yes, objections) is given_


@pytest.mark.parametrize(
    ("grades", "median"),
    [([5], 5), ([0, 5], 0), ([1, 2, 3], 2), ([4, 1, 3, 2], 2), ([0, 0, 5, 5, 5], 5)],
    ids=["one", "two: the lower", "three", "four, unsorted: the lower middle", "five"],
)
def test_the_majority_grade_is_the_lower_median(grades, median):
    assert majority_grade(grades) == median


def test_majority_judgment_ranks_by_majority_grade():
    ranking = rank_majority_judgment({
        "bakery": [Grade.GOOD, Grade.GOOD, Grade.VERY_GOOD],
        "garage": [Grade.POOR, Grade.FAIR, Grade.EXCELLENT],
        "farm": [Grade.EXCELLENT, Grade.VERY_GOOD, Grade.VERY_GOOD],
    })
    assert ranking == [(1, "farm"), (2, "bakery"), (3, "garage")]


def test_a_tie_on_the_median_goes_to_the_majority_gauge():
    # Both have "good" as majority grade; A has more grades above it than below: "+" beats "−".
    ranking = rank_majority_judgment({
        "A": [Grade.FAIR, Grade.GOOD, Grade.GOOD, Grade.EXCELLENT, Grade.EXCELLENT],
        "B": [Grade.POOR, Grade.POOR, Grade.GOOD, Grade.GOOD, Grade.EXCELLENT],
    })
    assert ranking == [(1, "A"), (2, "B")]


def test_two_minus_gauges_prefer_the_smaller_share_below():
    ranking = rank_majority_judgment({
        "A": [Grade.POOR, Grade.GOOD, Grade.GOOD, Grade.GOOD, Grade.GOOD],  # 1 of 5 below
        "B": [Grade.POOR, Grade.POOR, Grade.GOOD, Grade.GOOD, Grade.GOOD],  # 2 of 5 below
    })
    assert ranking == [(1, "A"), (2, "B")]


def test_equal_gauges_are_broken_by_removing_median_grades():
    # Same median and same shares above and below; removing one median grade at a time tells them apart.
    ranking = rank_majority_judgment({
        "A": [Grade.FAIR, Grade.GOOD, Grade.GOOD, Grade.VERY_GOOD, Grade.EXCELLENT],
        "B": [Grade.FAIR, Grade.GOOD, Grade.GOOD, Grade.VERY_GOOD, Grade.VERY_GOOD],
    })
    assert ranking == [(1, "A"), (2, "B")]


def test_options_that_cannot_be_told_apart_share_a_rank():
    ranking = rank_majority_judgment({
        "A": [Grade.GOOD, Grade.FAIR, Grade.EXCELLENT],
        "B": [Grade.EXCELLENT, Grade.GOOD, Grade.FAIR],
        "C": [Grade.POOR, Grade.POOR, Grade.POOR],
    })
    assert ranking == [(1, "A"), (1, "B"), (3, "C")]


def test_majority_judgment_needs_the_same_number_of_grades():
    with pytest.raises(ValueError):
        rank_majority_judgment({"A": [1, 2], "B": [1]})
    with pytest.raises(ValueError):
        rank_majority_judgment({"A": []})


grades = st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=15)


@given(st.integers(min_value=1, max_value=15).flatmap(
    lambda n: st.dictionaries(st.sampled_from("ABCDE"), st.lists(st.integers(0, 5), min_size=n, max_size=n),
                              min_size=1, max_size=5)))
def test_majority_judgment_properties(ballots):
    ranking = rank_majority_judgment(ballots)
    assert sorted(o for _, o in ranking) == sorted(ballots)
    ranks = [r for r, _ in ranking]
    assert ranks == sorted(ranks) and ranks[0] == 1
    # A better majority grade always ranks strictly higher.
    position = {o: r for r, o in ranking}
    for a in ballots:
        for b in ballots:
            if majority_grade(ballots[a]) > majority_grade(ballots[b]):
                assert position[a] < position[b]
    # Shuffling a voter's order of options changes nothing; identical grade sets share a rank.
    for a in ballots:
        for b in ballots:
            if Counter(ballots[a]) == Counter(ballots[b]):
                assert position[a] == position[b]


@pytest.mark.parametrize(
    ("approvals", "ranking"),
    [
        ({"A": 3, "B": 5, "C": 1}, [(1, "B"), (2, "A"), (3, "C")]),
        ({"A": 4, "B": 4, "C": 1}, [(1, "A"), (1, "B"), (3, "C")]),
        ({"A": 0}, [(1, "A")]),
    ],
    ids=["most approvals wins", "ties share a rank", "one option"],
)
def test_approval(approvals, ranking):
    assert rank_approval(approvals) == ranking
