"""Pure rule functions: no database, no request. Each raises a typed
refusal naming its rule, or returns quietly."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ..amounts import LazyMoney, duration
from ..models.club import THRESHOLD_FIELDS, ClubStatus, ShareMethod, Threshold
from .errors import InvalidInput, LimitExceeded, RuleViolation, _l


@dataclass(frozen=True)
class Bound:
    low: int
    high: int
    rule: str


#: What a charter may change, and within which bounds (DESIGN.md, R1–R12).
CHARTER_BOUNDS: Mapping[str, Bound] = {
    "min_members": Bound(5, 20, "R1"),
    "max_members": Bound(5, 20, "R1"),
    "officer_term_months": Bound(6, 36, "R3"),
    "min_monthly_contribution": Bound(100, 100_000, "R4"),  # cents
    "max_yearly_contribution": Bound(1_000, 550_000, "R4"),  # cents: the legal ceiling
    "term_years": Bound(1, 5, "R5"),  # indivision agreements last at most 5 years
    "max_renewals": Bound(0, 1, "R5"),
    "quorum_percent": Bound(25, 100, "R6"),
    "max_proxies_per_holder": Bound(0, 3, "R9"),
    "project_cap_percent": Bound(1, 100, "R10"),
    "minority_stake_percent": Bound(1, 49, "R10"),
    "time_floor_minutes": Bound(-6_000, 0, "R12"),
    "time_ceiling_minutes": Bound(0, 24_000, "R12"),
    "time_warning_percent": Bound(50, 99, "R12"),
    "exchange_expiry_days": Bound(1, 365, "R12"),
    "exit_notice_days": Bound(0, 365, "R13"),
    "exit_pay_months": Bound(0, 60, "R13"),
    "meeting_notice_days": Bound(8, 60, "R14"),
    "meeting_quorum_percent": Bound(25, 100, "R14"),
}

THRESHOLDS = tuple(Threshold)
#: Yes-or-no settings of the charter.
CHARTER_FLAGS = ("exchange_needs_confirmation", "manager_records_money", "result_by_days", "partial_withdrawals",
                 "exit_at_meeting", "exit_in_kind")
#: Settings chosen from a list.
CHARTER_CHOICES: Mapping[str, tuple[str, ...]] = {"share_method": tuple(ShareMethod)}

#: R7: the decisions the law reserves to every co-owner cannot be made easier.
UNANIMITY_REQUIRED = ("threshold_charter", "threshold_stake_sale", "threshold_renewal")


def check_charter(values: Mapping[str, object]) -> None:
    """Refuse charter values outside their bounds (R1–R12)."""
    for field, bound in CHARTER_BOUNDS.items():
        if field not in values:
            continue
        value = values[field]
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(_l("This value must be a whole number."), field=field)
        if not bound.low <= value <= bound.high:
            raise RuleViolation(
                _l("Allowed values are %(low)d to %(high)d.", low=bound.low, high=bound.high),
                rule=bound.rule,
                field=field,
            )
    if values.get("min_members", 0) > values.get("max_members", 20):
        raise RuleViolation(
            _l("The minimum number of members cannot exceed the maximum."), rule="R1", field="min_members"
        )
    for field in THRESHOLD_FIELDS:
        if field in values and values[field] not in THRESHOLDS:
            raise InvalidInput(_l("Choose a threshold from the list."), field=field)
    for field in UNANIMITY_REQUIRED:
        if field in values and values[field] != "unanimity":
            raise RuleViolation(
                _l("Amending the charter, selling a stake and renewing the term need unanimity."),
                rule="R7",
                field=field,
            )
    for field in CHARTER_FLAGS:
        if field in values and not isinstance(values[field], bool):
            raise InvalidInput(_l("Choose yes or no."), field=field)
    for field, choices in CHARTER_CHOICES.items():
        if field in values and values[field] not in choices:
            raise InvalidInput(_l("Choose a value from the list."), field=field)


def check_member_count(active: int, minimum: int, maximum: int) -> None:
    """R1: an active club has between its minimum and maximum of members."""
    if not minimum <= active <= maximum:
        raise RuleViolation(
            _l(
                "A club needs between %(min)d and %(max)d active members to be active; it has %(count)d.",
                min=minimum,
                max=maximum,
                count=active,
            ),
            rule="R1",
        )


def check_enough_members(active: int, minimum: int) -> None:
    """R1: an active club below its charter's minimum opens no funding ballot and pays nothing out until it is
    back to that number (admission and dissolution stay open to it)."""
    if active < minimum:
        raise RuleViolation(_l("The club has %(count)d active members; its charter asks for at least %(min)d: it "
                               "funds nothing until it is back to that number.", count=active, min=minimum),
                            rule="R1")


def status_on(status: str, term_ends_on: date | None, today: date) -> str:
    """R5: the club's status on this day. An active club past its term is in management from the day after
    its last, whether or not ``flask coop tick`` or the club home has recorded it yet."""
    if status == ClubStatus.ACTIVE and term_ends_on is not None and term_ends_on < today:
        return ClubStatus.IN_MANAGEMENT
    return status


def in_office(role_until: date | None, today: date) -> bool:
    """R3: an officer holds their powers until the last day of their term (no term recorded: no end)."""
    return role_until is None or today <= role_until


def check_room_for_member(active: int, maximum: int) -> None:
    """R1: admitting one more member must not pass the maximum."""
    if active + 1 > maximum:
        raise RuleViolation(
            _l("The club already has its maximum of %(max)d members.", max=maximum), rule="R1"
        )


def check_officers(manager_ids: Sequence[int], treasurer_ids: Sequence[int]) -> None:
    """R3: one manager and one treasurer, two different people."""
    if len(manager_ids) != 1:
        raise RuleViolation(_l("The club needs exactly one manager."), rule="R3")
    if len(treasurer_ids) != 1:
        raise RuleViolation(_l("The club needs a treasurer."), rule="R3")
    if manager_ids[0] == treasurer_ids[0]:
        raise RuleViolation(_l("The manager and the treasurer must be two different members."), rule="R3")


def check_balanced(amounts: Iterable[int]) -> None:
    """Ledger invariant 1: at least two non-zero lines summing to zero."""
    amounts = list(amounts)
    if len(amounts) < 2:
        raise InvalidInput(_l("A transaction needs at least two postings."))
    for amount in amounts:
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise InvalidInput(_l("Amounts are whole numbers of cents or minutes."))
        if amount == 0:
            raise InvalidInput(_l("A posting cannot be zero."))
    if sum(amounts) != 0:
        raise RuleViolation(_l("Debits and credits must be equal."), rule="ledger")


def check_limits(code: str, balance: int, amount: int, floor: int | None, ceiling: int | None) -> None:
    """Ledger invariant 4: a posting never takes an account past its floor or ceiling.

    An account already outside a limit (after the limit was tightened) may
    still move back toward it."""
    new = balance + amount
    if floor is not None and amount < 0 and new < floor:
        raise LimitExceeded(
            _l(
                "Account %(code)s would go below its floor of %(floor)d (balance %(balance)d, change %(amount)d).",
                code=code,
                floor=floor,
                balance=balance,
                amount=amount,
            ),
            rule="floor",
        )
    if ceiling is not None and amount > 0 and new > ceiling:
        raise LimitExceeded(
            _l(
                "Account %(code)s would go above its ceiling of %(ceiling)d (balance %(balance)d, change %(amount)d).",
                code=code,
                ceiling=ceiling,
                balance=balance,
                amount=amount,
            ),
            rule="ceiling",
        )


def check_new_limits(balance: int, floor: int | None, ceiling: int | None) -> None:
    """New limits must contain the current balance."""
    if floor is not None and ceiling is not None and floor > ceiling:
        raise InvalidInput(_l("The floor must not be above the ceiling."), field="floor")
    if floor is not None and balance < floor:
        raise RuleViolation(
            _l("The balance (%(balance)d) is already below this floor.", balance=balance), rule="floor", field="floor"
        )
    if ceiling is not None and balance > ceiling:
        raise RuleViolation(
            _l("The balance (%(balance)d) is already above this ceiling.", balance=balance),
            rule="ceiling",
            field="ceiling",
        )


# --- Time credits (R12) ------------------------------------------------------------------------


class LimitCheck(StrEnum):
    """What moves a member's time balance or its limits: each keeps its own wording."""

    EXCHANGE = "exchange"  # a service given or received
    REVERSAL = "reversal"  # a disputed exchange undone by an officer
    MEMBER_LIMITS = "member_limits"  # the manager sets one member's own limits
    CHARTER_LIMITS = "charter_limits"  # the charter changes the members' limits


def check_time_bound(field: str, value: object) -> None:
    """R12: a floor or ceiling the manager sets for one member stays within the charter's bounds.

    Checked before the rest of the form (the reason), so kept apart from ``check_time_limit``."""
    bound = CHARTER_BOUNDS[f"time_{field}_minutes"]
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(_l("This value must be a whole number."), field=field)
    if not bound.low <= value <= bound.high:
        raise RuleViolation(
            _l("Allowed values are %(low)s to %(high)s.", low=duration(bound.low), high=duration(bound.high)),
            rule=bound.rule, field=field)


def check_time_limit(check: LimitCheck, balance: int, floor: int | None, ceiling: int | None, *,
                     minutes: int = 0, name: str = "") -> None:
    """R12, in words a member understands: would ``name``'s time balance pass a limit?

    For an exchange or a reversal, ``floor`` and ``ceiling`` are the member's and ``minutes`` is what their
    balance moves by (negative when they receive, or give back in a reversal); a balance already outside
    a limit (the limit was tightened) may still move back toward it. For new limits, ``floor`` and
    ``ceiling`` are the new ones and must contain the balance."""
    if check is LimitCheck.CHARTER_LIMITS:
        check_new_limits(balance, floor, ceiling)  # the ledger's words, as for any account
    elif check is LimitCheck.MEMBER_LIMITS:
        if floor is not None and balance < floor:
            raise RuleViolation(_l("%(name)s's time balance (%(balance)s) is below this floor.",
                                   name=name, balance=duration(balance)), rule="R12", field="floor")
        if ceiling is not None and balance > ceiling:
            raise RuleViolation(_l("%(name)s's time balance (%(balance)s) is above this ceiling.",
                                   name=name, balance=duration(balance)), rule="R12", field="ceiling")
    elif minutes < 0 and floor is not None and balance + minutes < floor:
        if check is LimitCheck.REVERSAL:
            raise LimitExceeded(_l(
                "Reversing would take %(name)s's time balance (%(balance)s) below their floor of %(floor)s. "
                "Lower their floor first, with a reason.", name=name, balance=duration(balance),
                floor=duration(floor)), rule="R12")
        raise LimitExceeded(_l(
            "%(name)s's time balance is %(balance)s and their floor is %(floor)s: receiving %(minutes)s would "
            "take it below (at most %(room)s more).", name=name, balance=duration(balance),
            floor=duration(floor), minutes=duration(-minutes),
            room=duration(max(0, balance - floor))), rule="R12", field="minutes")
    elif minutes > 0 and ceiling is not None and balance + minutes > ceiling:
        if check is LimitCheck.REVERSAL:
            raise LimitExceeded(_l(
                "Reversing would take %(name)s's time balance (%(balance)s) above their ceiling of %(ceiling)s. "
                "Raise their ceiling first, with a reason.", name=name, balance=duration(balance),
                ceiling=duration(ceiling)), rule="R12")
        raise LimitExceeded(_l(
            "%(name)s's time balance is %(balance)s and their ceiling is %(ceiling)s: giving %(minutes)s would "
            "take it above (at most %(room)s more).", name=name, balance=duration(balance),
            ceiling=duration(ceiling), minutes=duration(minutes),
            room=duration(max(0, ceiling - balance))), rule="R12", field="minutes")


# --- Pooled savings (R4, R13) ------------------------------------------------------


def check_pledge(monthly: int, minimum: int, yearly_cap: int, currency: str) -> None:
    """R4: a pledge is at least the monthly minimum and at most the yearly cap over twelve months."""
    if monthly < minimum:
        raise RuleViolation(
            _l("The charter asks for at least %(min)s a month.", min=LazyMoney(minimum, currency)),
            rule="R4", field="monthly_amount")
    if monthly * 12 > yearly_cap:
        raise RuleViolation(
            _l("Twelve months of this pledge pass the yearly cap of %(cap)s.", cap=LazyMoney(yearly_cap, currency)),
            rule="R4", field="monthly_amount")


def check_yearly_cap(paid_this_year: int, amount: int, yearly_cap: int, currency: str) -> None:
    """R4: what a member pays in one calendar year never passes the cap."""
    if paid_this_year + amount > yearly_cap:
        raise RuleViolation(
            _l("This would pass the yearly cap of %(cap)s: %(paid)s already received this year, %(left)s left.",
               cap=LazyMoney(yearly_cap, currency), paid=LazyMoney(paid_this_year, currency),
               left=LazyMoney(max(yearly_cap - paid_this_year, 0), currency)),
            rule="R4", field="amount")


def check_refund(amount: int, capital: int, available_cash: int, currency: str) -> None:
    """R13: a leaver is refunded no more than their capital, and no more than the cash available."""
    if amount <= 0:
        raise InvalidInput(_l("The amount must be more than zero."), field="amount")
    if amount > capital:
        raise RuleViolation(
            _l("This is more than the member's capital of %(capital)s.", capital=LazyMoney(capital, currency)),
            rule="R13", field="amount")
    if amount > available_cash:
        raise RuleViolation(
            _l("The club has only %(cash)s available.", cash=LazyMoney(max(available_cash, 0), currency)),
            rule="R13", field="amount")


def pro_rata(total: int, weights: Mapping[int, int]) -> dict[int, int]:
    """Share ``total`` cents in proportion to ``weights``, to the cent: the
    largest remainders get the leftover cents, so the parts add up exactly."""
    positive = {k: w for k, w in weights.items() if w > 0}
    whole = sum(positive.values())
    if total <= 0 or whole == 0:
        return {k: 0 for k in weights}
    parts = {k: total * w // whole for k, w in positive.items()}
    leftover = total - sum(parts.values())
    by_remainder = sorted(positive, key=lambda k: (-(total * positive[k] % whole), k))
    for k in by_remainder[:leftover]:
        parts[k] += 1
    return {k: parts.get(k, 0) for k in weights}


# --- Ballots (R7–R9) ---------------------------------------------------------------------

#: Kinds of decision that may choose among several options.
MULTI_OPTION_KINDS = ("funding", "election")
MAX_OPTIONS = 10


def check_ballot_method(kind: str, method: str, threshold: str, secret: bool, options: int) -> None:
    """Which method fits which decision.

    Yes/no and consent decide one question; majority judgment and approval
    choose among two to ten projects or candidates. Consent (no objection)
    would make a unanimous decision easier, so R7 keeps it out of those;
    an objection is a reason given to the club, so consent is never secret."""
    if method in ("yes_no", "consent"):
        if options != 1:
            raise InvalidInput(_l("A yes-or-no or consent ballot decides on a single project or candidate."),
                               field="method")
    else:
        if kind not in MULTI_OPTION_KINDS:
            raise InvalidInput(_l("Choosing among several options is for projects and elections."), field="method")
        if not 2 <= options <= MAX_OPTIONS:
            raise InvalidInput(_l("Choose between 2 and %(n)d options for this method.", n=MAX_OPTIONS),
                               field="method")
    if method == "consent":
        if Threshold(threshold) is Threshold.UNANIMITY:
            raise RuleViolation(_l("This decision needs every member's yes: consent, where members may stand "
                                   "aside, is not enough."), rule="R7", field="method")
        if secret:
            raise InvalidInput(_l("A consent ballot cannot be secret: an objection is a reason given to the "
                                  "club."), field="secret")


def check_proxy(*, giver_recused: bool, holder_recused: bool, giver_holds: int, holder_gave: bool,
                holder_holds: int, limit: int) -> None:
    """A proxy for one ballot: neither side recused (R8), no proxy on a
    proxy, at most the charter's number per holder (R9)."""
    if giver_recused:
        raise RuleViolation(_l("You are recused on this ballot: you have no vote to hand over."), rule="R8")
    if holder_recused:
        raise RuleViolation(_l("This member is recused on this ballot and cannot hold a proxy."), rule="R8")
    if giver_holds:
        raise RuleViolation(_l("You hold another member's proxy: a proxy cannot be passed on."), rule="R9")
    if holder_gave:
        raise RuleViolation(_l("This member has given their own proxy: a proxy cannot be passed on."), rule="R9")
    if limit <= 0:
        raise RuleViolation(_l("The charter allows no proxies."), rule="R9")
    if holder_holds >= limit:
        raise LimitExceeded(
            _l("The charter allows %(n)d proxy per member and this member already holds it.", n=limit) if limit == 1
            else _l("The charter allows %(n)d proxies per member and this member already holds them.", n=limit),
            rule="R9")


# --- General meetings (R14) ---------------------------------------------------------------

#: What only an extraordinary meeting decides (the charter, the term, dissolution), and what only the yearly
#: ordinary one does (the accounts); every other decision may be on either's agenda.
EXTRAORDINARY_ONLY = ("charter", "renewal", "dissolution")
ORDINARY_ONLY = ("accounts",)


def check_notice(days_ahead: int, notice_days: int) -> None:
    """R14: a general meeting, ordinary or extraordinary, is convened at least the charter's number of days
    before its date (counted in days on the club's clock: convened on 1 March, a meeting needing 15 days may
    be held on 16 March). The same notice for both: an extraordinary meeting decides the gravest matters."""
    if days_ahead < notice_days:
        raise RuleViolation(
            _l("Members must be convened at least %(n)d days before the meeting: choose %(n)d days from today or "
               "later.", n=notice_days), rule="R14", field="scheduled_at")


def check_agenda_kind(meeting_kind: str, ballot_kind: str) -> None:
    """R14: the charter, the term and dissolution go to an extraordinary meeting; the accounts to the ordinary
    one."""
    if ballot_kind in EXTRAORDINARY_ONLY and meeting_kind != "extraordinary":
        raise RuleViolation(_l("The charter, the club's term and its dissolution are decided by an extraordinary "
                               "general meeting."), rule="R14", field="kind")
    if ballot_kind in ORDINARY_ONLY and meeting_kind != "ordinary":
        raise RuleViolation(_l("The accounts are approved by the ordinary general meeting."), rule="R14",
                            field="kind")


def check_meeting_proxy(*, giver_present: bool, giver_holds: int, holder_gave: bool, holder_holds: int,
                        limit: int) -> None:
    """R14 with R9: a member who is not present gives their proxy for the meeting to another member; no proxy
    on a proxy, at most the charter's number per holder."""
    if giver_present:
        raise RuleViolation(_l("You are present at the meeting: you vote yourself."), rule="R14")
    check_proxy(giver_recused=False, holder_recused=False, giver_holds=giver_holds, holder_gave=holder_gave,
                holder_holds=holder_holds, limit=limit)


# --- Investments (R5, R10, R11) ------------------------------------------------------------

#: Legal forms without shares: the club can lend to them, not own part of them.
NO_SHARES = ("association", "sole_trader", "obnl")


@dataclass(frozen=True)
class Caps:
    """What R10 measures an investment against, in cents."""

    available_cash: int  # bank balance less commitments (entered, unapproved payments)
    fund: int  # members' capital: the savings the club pooled
    project_cap_percent: int
    minority_stake_percent: int
    holds_shares: bool  # the club already owns shares of this enterprise


def check_investment(amount: int, instrument: str, legal_form: str, stake_hundredths: int | None, caps: Caps,
                     money_text, *, project_total: int | None = None) -> None:
    """R10: no more than the cash available, no more than the charter's share of the fund in one project,
    a minority stake in a company that has shares, a current-account loan only to a company the club owns
    shares of. ``project_total`` is what the project takes in all, this amount included (several payments);
    ``money_text`` formats cents for the message."""
    total = amount if project_total is None else project_total
    if amount > caps.available_cash:
        raise LimitExceeded(_l("This takes %(amount)s but the club has %(available)s available (cash less the "
                               "payments already committed).", amount=money_text(amount),
                               available=money_text(max(caps.available_cash, 0))), rule="R10")
    if total * 100 > caps.project_cap_percent * caps.fund:
        raise LimitExceeded(_l("One project may take at most %(cap)d %% of the fund, that is %(max)s.",
                               cap=caps.project_cap_percent, max=money_text(caps.project_cap_percent * caps.fund // 100)),
                            rule="R10")
    if instrument == "equity":
        if legal_form in NO_SHARES:
            raise RuleViolation(_l("This legal form has no shares: the club can lend to it, not own part of it."),
                                rule="R10")
        if stake_hundredths is None or stake_hundredths > caps.minority_stake_percent * 100:
            raise RuleViolation(_l("The club's stake must stay a minority: at most %(cap)d %% of the enterprise.",
                                   cap=caps.minority_stake_percent), rule="R10")
    if instrument == "current_account" and not caps.holds_shares:
        raise RuleViolation(_l("A shareholder current-account loan is only for an enterprise the club already "
                               "owns shares of."), rule="R10")
