"""Counting votes: pure functions over whole numbers (DESIGN, voting conventions).

No database and no request: the ballots service gathers the votes, these
functions decide. Every ratio is compared in integers, never in floats."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

from ..models.club import Threshold
from ..models.vote import Method, Outcome


@dataclass(frozen=True)
class Count:
    """A yes / no / abstain ballot, as counted."""

    eligible: int  # active when the ballot opened, not recused
    yes: int
    no: int
    abstain: int

    @property
    def cast(self) -> int:
        """Votes cast: abstentions are left out."""
        return self.yes + self.no

    @property
    def participants(self) -> int:
        """Who took part (in person or by a valid proxy), abstentions included."""
        return self.yes + self.no + self.abstain


def quorum_met(participants: int, eligible: int, percent: int) -> bool:
    """R6: at least ``percent`` % of the eligible members took part; exactly
    the share is enough; nobody eligible never makes a quorum."""
    return eligible > 0 and participants * 100 >= percent * eligible


def threshold_met(count: Count, threshold: Threshold | str) -> bool:
    """R7, over the votes cast (abstentions left out), except unanimity,
    which asks every eligible member for a yes."""
    threshold = Threshold(threshold)
    if threshold is Threshold.MAJORITY:
        return count.yes > count.no  # a tie fails
    if threshold is Threshold.TWO_THIRDS:
        return count.cast > 0 and 3 * count.yes >= 2 * count.cast
    return count.eligible > 0 and count.yes == count.eligible


def passes(count: Count, threshold: Threshold | str, quorum_percent: int) -> bool:
    return quorum_met(count.participants, count.eligible, quorum_percent) and threshold_met(count, threshold)


def consent_given(yes: int, objections: int) -> bool:
    """Consent: at least one yes and no objection; abstaining is standing aside."""
    return yes > 0 and objections == 0


# --- Majority judgment ------------------------------------------------------------------------


class Grade(IntEnum):
    """From worst to best (jugement majoritaire)."""

    TO_REJECT = 0
    POOR = 1
    FAIR = 2
    GOOD = 3
    VERY_GOOD = 4
    EXCELLENT = 5


def majority_grade(grades: Sequence[int]) -> int:
    """The lower median: with grades sorted worst to best, the one at index (n − 1) // 2."""
    if not grades:
        raise ValueError("no grades")
    ordered = sorted(grades)
    return ordered[(len(ordered) - 1) // 2]


def _gauge_key(grades: list[int]) -> tuple:
    """Orders options whose majority grades are equal: the share of grades
    above the median against the share below (the majority gauge)."""
    median = majority_grade(grades)
    above = sum(1 for g in grades if g > median)
    below = sum(1 for g in grades if g < median)
    n = len(grades)
    if above > below:
        return (median, 1, above, n)  # "+": the larger the share above, the better
    return (median, 0, -below, n)  # "−": the smaller the share below, the better


def _compare(a: list[int], b: list[int]) -> int:
    """> 0 when ``a`` ranks above ``b``; 0 when they cannot be told apart."""
    a, b = sorted(a), sorted(b)
    while a and b:
        ka, kb = _gauge_key(a), _gauge_key(b)
        # Shares are compared as fractions: above_a / n_a against above_b / n_b.
        if ka[0] != kb[0]:
            return ka[0] - kb[0]
        if ka[1] != kb[1]:
            return ka[1] - kb[1]
        left, right = ka[2] * kb[3], kb[2] * ka[3]
        if left != right:
            return left - right
        # Still tied: take one median grade away from each and look again.
        a.remove(majority_grade(a))
        b.remove(majority_grade(b))
    return 0


def rank_majority_judgment(grades: Mapping[str, Sequence[int]]) -> list[tuple[int, str]]:
    """(rank, option), best first; options that cannot be told apart share a rank.

    Every option must have the same number of grades (a voter who leaves
    an option ungraded gives it "to reject")."""
    sizes = {len(g) for g in grades.values()}
    if len(sizes) > 1 or 0 in sizes:
        raise ValueError("every option needs the same, non-zero number of grades")
    from functools import cmp_to_key

    options = sorted(grades, key=cmp_to_key(lambda x, y: -_compare(list(grades[x]), list(grades[y])) or
                                            (x > y) - (x < y)))
    ranked, rank = [], 0
    for index, option in enumerate(options):
        if index == 0 or _compare(list(grades[options[index - 1]]), list(grades[option])) != 0:
            rank = index + 1
        ranked.append((rank, option))
    return ranked


def rank_approval(approvals: Mapping[str, int]) -> list[tuple[int, str]]:
    """Most approvals first; ties share a rank."""
    options = sorted(approvals, key=lambda o: (-approvals[o], o))
    ranked, rank = [], 0
    for index, option in enumerate(options):
        if index == 0 or approvals[options[index - 1]] != approvals[option]:
            rank = index + 1
        ranked.append((rank, option))
    return ranked


def percent(part: int, whole: int) -> int:
    """A whole percentage for explanations (rounded down), 0 when there is no whole."""
    return part * 100 // whole if whole else 0


# --- One ballot's decision ---------------------------------------------------------------

#: The values a choice may take, per method.
YES, NO, ABSTAIN = 1, -1, 0  # yes/no; consent reads them as agree, object, stand aside
APPROVED, NOT_APPROVED = 1, 0
#: A grade at or above this one counts as accepting the option (majority judgment).
ACCEPTABLE = Grade.FAIR


@dataclass(frozen=True)
class Decision:
    outcome: str  # an ``Outcome`` value
    winner: int | None  # the winning option, for judgment and approval
    summary: dict  # the figures the outcome rests on, kept in the minutes


def decide(method: str, threshold: str, quorum_percent: int, eligible: int, participants: int,
           counts: Mapping[int, Mapping[int, int]]) -> Decision:
    """The outcome of a ballot from its counts: ``counts[option][value]``.

    Yes/no: quorum (R6) and the threshold (R7). Consent: quorum, a yes and
    no objection. Majority judgment and approval: quorum; the first-ranked
    option, alone at its rank, wins if enough participants accept it (a
    grade of fair or better, or an approval) to meet the threshold."""
    summary: dict = {"eligible": eligible, "participants": participants, "quorum_percent": quorum_percent,
                     "threshold": str(threshold)}
    quorum = quorum_met(participants, eligible, quorum_percent)
    summary["quorum_met"] = quorum
    if method in (Method.YES_NO, Method.CONSENT):
        (values,) = counts.values()
        yes, no, abstain = values.get(YES, 0), values.get(NO, 0), values.get(ABSTAIN, 0)
        summary.update(yes=yes, no=no, abstain=abstain)
        if not quorum:
            return Decision(Outcome.NO_QUORUM, None, summary)
        if method == Method.CONSENT:
            ok = consent_given(yes, no)
        else:
            ok = threshold_met(Count(eligible, yes, no, abstain), threshold)
        return Decision(Outcome.ADOPTED if ok else Outcome.REJECTED, None, summary)

    options: dict[int, dict] = {}
    if method == Method.JUDGMENT:
        grades = {str(option): [grade for grade, n in values.items() for _ in range(n)]
                  for option, values in counts.items()}
        ranking = rank_majority_judgment(grades) if participants else [(1, str(o)) for o in counts]
        for rank, option in ranking:
            values = counts[int(option)]
            options[int(option)] = {
                "rank": rank,
                "grades": {str(g): values.get(g, 0) for g in Grade},
                "majority_grade": majority_grade(grades[option]) if participants else None,
                "accepting": sum(n for g, n in values.items() if g >= ACCEPTABLE),
            }
    else:
        approvals = {str(option): values.get(APPROVED, 0) for option, values in counts.items()}
        for rank, option in rank_approval(approvals):
            options[int(option)] = {"rank": rank, "approvals": approvals[option], "accepting": approvals[option]}
    summary["options"] = {str(k): v for k, v in options.items()}
    if not quorum:
        return Decision(Outcome.NO_QUORUM, None, summary)
    first = [option for option, figures in options.items() if figures["rank"] == 1]
    if len(first) > 1:
        return Decision(Outcome.TIE, None, summary)
    winner = first[0]
    accepting = options[winner]["accepting"]
    summary.update(yes=accepting, no=participants - accepting, abstain=0)
    ok = threshold_met(Count(eligible, accepting, participants - accepting, 0), threshold)
    return Decision(Outcome.ADOPTED if ok else Outcome.REJECTED, winner if ok else None, summary)
