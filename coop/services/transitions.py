"""The state machines: for each kind of row with a status, the moves the services make.

Every status change goes through ``move`` (``check_move`` for a one-statement ``update_now``), which
refuses a move its table does not list. The services refuse in their own words first; the tables are the
last guard, and the documentation of each machine. A new row starts in its first status when it is built:
that is not a move."""
from __future__ import annotations

from typing import Any

from .. import labels
from ..models import (
    AssertionStatus,
    BalanceAssertion,
    Ballot,
    BallotStatus,
    Club,
    ClubStatus,
    Disbursement,
    DisbursementStatus,
    Exchange,
    ExchangeStatus,
    Investment,
    InvestmentStatus,
    Listing,
    ListingStatus,
    Meeting,
    MeetingStatus,
    Membership,
    MemberStatus,
    Partnership,
    PartnershipStatus,
    Payout,
    PayoutStatus,
    Project,
    ProjectStatus,
    Relay,
    RelayStatus,
    Revaluation,
    RevaluationStatus,
    ShareTransfer,
    TransferStatus,
)
from .errors import Conflict, _l

#: The allowed moves of one machine: from a status, the statuses it may move to.
Table = dict[str, frozenset[str]]

#: A club forms, runs its term (renewed, or past it in management), then dissolves and closes (R5, R13).
CLUB: Table = {
    ClubStatus.FORMING: frozenset({ClubStatus.ACTIVE}),
    ClubStatus.ACTIVE: frozenset({ClubStatus.IN_MANAGEMENT, ClubStatus.DISSOLVING}),
    ClubStatus.IN_MANAGEMENT: frozenset({ClubStatus.ACTIVE, ClubStatus.DISSOLVING}),
    ClubStatus.DISSOLVING: frozenset({ClubStatus.CLOSED}),
    ClubStatus.CLOSED: frozenset(),
}

#: A request to join is answered; a member leaves or is excluded; one declined or gone may ask again.
MEMBERSHIP: Table = {
    MemberStatus.PENDING: frozenset({MemberStatus.ACTIVE, MemberStatus.DECLINED}),
    MemberStatus.ACTIVE: frozenset({MemberStatus.LEFT, MemberStatus.EXCLUDED}),
    MemberStatus.DECLINED: frozenset({MemberStatus.PENDING}),
    MemberStatus.LEFT: frozenset({MemberStatus.PENDING}),
    MemberStatus.EXCLUDED: frozenset(),
}

#: A project is presented, put to the vote and decided; a vote without a decision sends it back to presented.
PROJECT: Table = {
    ProjectStatus.DRAFT: frozenset({ProjectStatus.PRESENTED, ProjectStatus.WITHDRAWN}),
    ProjectStatus.PRESENTED: frozenset({ProjectStatus.IN_VOTE, ProjectStatus.WITHDRAWN}),
    ProjectStatus.IN_VOTE: frozenset({ProjectStatus.PRESENTED, ProjectStatus.APPROVED, ProjectStatus.REJECTED}),
    ProjectStatus.APPROVED: frozenset(),
    ProjectStatus.REJECTED: frozenset(),
    ProjectStatus.WITHDRAWN: frozenset(),
}

#: A ballot is open until it closes (at its deadline or early) or the manager cancels it; never reopened.
BALLOT: Table = {
    BallotStatus.OPEN: frozenset({BallotStatus.CLOSED, BallotStatus.CANCELLED}),
    BallotStatus.CLOSED: frozenset(),
    BallotStatus.CANCELLED: frozenset(),
}

#: A general meeting is convened, opened and closed; the manager may cancel it until it opens (R14).
MEETING: Table = {
    MeetingStatus.PLANNED: frozenset({MeetingStatus.IN_SESSION, MeetingStatus.CANCELLED}),
    MeetingStatus.IN_SESSION: frozenset({MeetingStatus.CLOSED}),
    MeetingStatus.CLOSED: frozenset(),
    MeetingStatus.CANCELLED: frozenset(),
}

#: An investment is followed until it is repaid, sold (exited) or written off.
INVESTMENT: Table = {
    InvestmentStatus.ACTIVE: frozenset({InvestmentStatus.REPAID, InvestmentStatus.EXITED, InvestmentStatus.WRITTEN_OFF}),
    InvestmentStatus.REPAID: frozenset(),
    InvestmentStatus.EXITED: frozenset(),
    InvestmentStatus.WRITTEN_OFF: frozenset(),
}

#: A payment waits for a second officer, who approves it (it posts), unless an officer cancels it first (R11).
DISBURSEMENT: Table = {
    DisbursementStatus.PENDING: frozenset({DisbursementStatus.APPROVED, DisbursementStatus.CANCELLED}),
    DisbursementStatus.APPROVED: frozenset(),
    DisbursementStatus.CANCELLED: frozenset(),
}

#: Money paid back to a member (a refund, a part at dissolution) waits for a second officer the same way (R11).
PAYOUT: Table = {
    PayoutStatus.PENDING: frozenset({PayoutStatus.APPROVED, PayoutStatus.CANCELLED}),
    PayoutStatus.APPROVED: frozenset(),
    PayoutStatus.CANCELLED: frozenset(),
}

#: A revaluation waits for a second officer the same way: approved, it posts; cancelled, it never does (R11).
REVALUATION: Table = {
    RevaluationStatus.PENDING: frozenset({RevaluationStatus.APPROVED, RevaluationStatus.CANCELLED}),
    RevaluationStatus.APPROVED: frozenset(),
    RevaluationStatus.CANCELLED: frozenset(),
}

#: A member's share passing on: a sale outside the club waits a month for the co-owners to buy first (then it
#: is theirs, or goes to the vote); heirs go straight to the vote; a vote without a decision, or a cancelled
#: one, sends it back to wait for another (C. civ. art. 815-14).
TRANSFER: Table = {
    TransferStatus.PREEMPTION: frozenset({TransferStatus.AWAITING_VOTE, TransferStatus.PREEMPTED,
                                          TransferStatus.WITHDRAWN}),
    TransferStatus.AWAITING_VOTE: frozenset({TransferStatus.IN_VOTE, TransferStatus.WITHDRAWN}),
    TransferStatus.IN_VOTE: frozenset({TransferStatus.DONE, TransferStatus.REFUSED, TransferStatus.AWAITING_VOTE}),
    TransferStatus.DONE: frozenset(),
    TransferStatus.REFUSED: frozenset(),
    TransferStatus.WITHDRAWN: frozenset(),
    TransferStatus.PREEMPTED: frozenset(),
}

#: Its author pauses and resumes an offer or a request; closing it is final.
LISTING: Table = {
    ListingStatus.ACTIVE: frozenset({ListingStatus.PAUSED, ListingStatus.CLOSED}),
    ListingStatus.PAUSED: frozenset({ListingStatus.ACTIVE, ListingStatus.CLOSED}),
    ListingStatus.CLOSED: frozenset(),
}

#: An exchange is arranged or recorded, then confirmed (posted), withdrawn, expired or disputed; the manager
#: settles a dispute by cancelling what was never posted, or reversing or keeping what was (R12).
EXCHANGE: Table = {
    ExchangeStatus.ARRANGED: frozenset({ExchangeStatus.PENDING, ExchangeStatus.CONFIRMED, ExchangeStatus.CANCELLED,
                                        ExchangeStatus.EXPIRED}),
    ExchangeStatus.PENDING: frozenset({ExchangeStatus.CONFIRMED, ExchangeStatus.DISPUTED, ExchangeStatus.CANCELLED,
                                       ExchangeStatus.EXPIRED}),
    ExchangeStatus.CONFIRMED: frozenset({ExchangeStatus.DISPUTED}),
    ExchangeStatus.DISPUTED: frozenset({ExchangeStatus.CANCELLED, ExchangeStatus.REVERSED, ExchangeStatus.CONFIRMED}),
    ExchangeStatus.CANCELLED: frozenset(),
    ExchangeStatus.EXPIRED: frozenset(),
    ExchangeStatus.REVERSED: frozenset(),
}

#: A balance check that disagrees with the books stays open until the treasurer explains it.
BALANCE_CHECK: Table = {
    AssertionStatus.OPEN: frozenset({AssertionStatus.RESOLVED}),
    AssertionStatus.RESOLVED: frozenset(),
}

#: Trading time with another club (services.partners): agreed by a ballot in each club; a refused one may be
#: proposed again, by either club. An active partnership is suspended and resumed by marks, not by its status.
PARTNERSHIP: Table = {
    PartnershipStatus.DRAFT: frozenset({PartnershipStatus.PROPOSED, PartnershipStatus.REFUSED,
                                        PartnershipStatus.OFFERED}),
    PartnershipStatus.PROPOSED: frozenset({PartnershipStatus.ACTIVE, PartnershipStatus.REFUSED}),
    PartnershipStatus.OFFERED: frozenset({PartnershipStatus.ACTIVE, PartnershipStatus.REFUSED}),
    PartnershipStatus.ACTIVE: frozenset(),
    PartnershipStatus.REFUSED: frozenset({PartnershipStatus.DRAFT, PartnershipStatus.OFFERED}),
}

#: A step for a partner club waits in the sending club until it is applied there.
RELAY: Table = {
    RelayStatus.PENDING: frozenset({RelayStatus.DELIVERED}),
    RelayStatus.DELIVERED: frozenset(),
}

#: Each machine, by the table whose rows move through it.
MACHINES: dict[type, Table] = {
    Club: CLUB,
    Membership: MEMBERSHIP,
    Project: PROJECT,
    Ballot: BALLOT,
    Meeting: MEETING,
    Investment: INVESTMENT,
    Disbursement: DISBURSEMENT,
    Payout: PAYOUT,
    Revaluation: REVALUATION,
    ShareTransfer: TRANSFER,
    Listing: LISTING,
    Exchange: EXCHANGE,
    BalanceAssertion: BALANCE_CHECK,
    Partnership: PARTNERSHIP,
    Relay: RELAY,
}
#: Each machine's statuses in the reader's words.
WORDS = {
    Club: labels.CLUB_STATUSES,
    Membership: labels.MEMBER_STATUSES,
    Project: labels.PROJECT_STATUSES,
    Ballot: labels.BALLOT_STATUSES,
    Meeting: labels.MEETING_STATUSES,
    Investment: labels.INVESTMENT_STATUSES,
    Disbursement: labels.PAYMENT_STATUSES,
    Payout: labels.PAYMENT_STATUSES,
    Revaluation: labels.PAYMENT_STATUSES,
    ShareTransfer: labels.TRANSFER_STATUSES,
    Listing: labels.LISTING_STATUSES,
    Exchange: labels.EXCHANGE_STATUSES,
    BalanceAssertion: labels.ASSERTION_STATUSES,
    Partnership: labels.PARTNERSHIP_STATUSES,
    Relay: labels.RELAY_STATUSES,
}


def check_move(obj: Any, to: str) -> str:
    """``to``, once the table of ``obj``'s machine allows the move from its status; for a caller that writes
    the status itself (``update_now``, one statement)."""
    if to not in MACHINES[type(obj)].get(obj.status, ()):
        raise Conflict(_l("This cannot be done: it is %(status)s.", status=WORDS[type(obj)][obj.status]))
    return to


def move(obj: Any, to: str) -> None:
    """Move ``obj`` to the status ``to``, or refuse a move its machine does not allow."""
    obj.status = check_move(obj, to)


def sources(model: type, to: str) -> tuple[str, ...]:
    """The statuses a row of ``model`` may move to ``to`` from: what a change of many rows selects."""
    return tuple(status for status, targets in MACHINES[model].items() if to in targets)
