"""The state machines (``coop.services.transitions``): every move the services make, the moves refused, and
no status changed anywhere but through the one function that checks it."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from coop.models import (
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
from coop.services.errors import Conflict
from coop.services.transitions import MACHINES, check_move, move, sources

PACKAGE = Path(__file__).resolve().parents[2] / "coop"

#: Each machine's statuses, so that a status added to a model without a row in its table fails here.
STATUSES = {
    Club: ClubStatus,
    Membership: MemberStatus,
    Project: ProjectStatus,
    Ballot: BallotStatus,
    Meeting: MeetingStatus,
    Investment: InvestmentStatus,
    Disbursement: DisbursementStatus,
    Payout: PayoutStatus,
    Revaluation: RevaluationStatus,
    ShareTransfer: TransferStatus,
    Listing: ListingStatus,
    Exchange: ExchangeStatus,
    BalanceAssertion: AssertionStatus,
    Partnership: PartnershipStatus,
    Relay: RelayStatus,
}

#: Every move a service makes, written out here so that a move added to a table without a use case fails.
MOVES = [
    pytest.param(Partnership, PartnershipStatus.DRAFT, PartnershipStatus.PROPOSED, id="partnership: agreed here first"),
    pytest.param(Partnership, PartnershipStatus.DRAFT, PartnershipStatus.REFUSED, id="partnership: refused here"),
    pytest.param(Partnership, PartnershipStatus.DRAFT, PartnershipStatus.OFFERED,
                 id="partnership: the partner's offer arrives before this club voted on its own"),
    pytest.param(Partnership, PartnershipStatus.PROPOSED, PartnershipStatus.ACTIVE, id="partnership: partner agreed"),
    pytest.param(Partnership, PartnershipStatus.PROPOSED, PartnershipStatus.REFUSED, id="partnership: partner refused"),
    pytest.param(Partnership, PartnershipStatus.OFFERED, PartnershipStatus.ACTIVE, id="partnership: agreed here second"),
    pytest.param(Partnership, PartnershipStatus.OFFERED, PartnershipStatus.REFUSED, id="partnership: offer refused"),
    pytest.param(Partnership, PartnershipStatus.REFUSED, PartnershipStatus.DRAFT, id="partnership: proposed again"),
    pytest.param(Partnership, PartnershipStatus.REFUSED, PartnershipStatus.OFFERED, id="partnership: offered again"),
    pytest.param(Relay, RelayStatus.PENDING, RelayStatus.DELIVERED, id="relay: applied by the partner club"),
    pytest.param(Club, ClubStatus.FORMING, ClubStatus.ACTIVE, id="club: activated (membership.activate)"),
    pytest.param(Club, ClubStatus.ACTIVE, ClubStatus.IN_MANAGEMENT, id="club: past its term (end_term_if_due)"),
    pytest.param(Club, ClubStatus.IN_MANAGEMENT, ClubStatus.ACTIVE, id="club: term renewed (renew_term)"),
    pytest.param(Club, ClubStatus.ACTIVE, ClubStatus.DISSOLVING, id="club: dissolution voted (begin_dissolution)"),
    pytest.param(Club, ClubStatus.IN_MANAGEMENT, ClubStatus.DISSOLVING, id="club in management: dissolution voted"),
    pytest.param(Club, ClubStatus.DISSOLVING, ClubStatus.CLOSED, id="club: closed at zero (close_club)"),
    pytest.param(Membership, MemberStatus.PENDING, MemberStatus.ACTIVE, id="membership: admitted"),
    pytest.param(Membership, MemberStatus.PENDING, MemberStatus.DECLINED, id="membership: declined"),
    pytest.param(Membership, MemberStatus.ACTIVE, MemberStatus.LEFT, id="membership: leaves"),
    pytest.param(Membership, MemberStatus.ACTIVE, MemberStatus.EXCLUDED, id="membership: excluded by vote"),
    pytest.param(Membership, MemberStatus.DECLINED, MemberStatus.PENDING, id="membership: declined, asks again"),
    pytest.param(Membership, MemberStatus.LEFT, MemberStatus.PENDING, id="membership: left, asks again"),
    pytest.param(Project, ProjectStatus.DRAFT, ProjectStatus.PRESENTED, id="project: presented"),
    pytest.param(Project, ProjectStatus.DRAFT, ProjectStatus.WITHDRAWN, id="project: draft withdrawn"),
    pytest.param(Project, ProjectStatus.PRESENTED, ProjectStatus.WITHDRAWN, id="project: presented, withdrawn"),
    pytest.param(Project, ProjectStatus.PRESENTED, ProjectStatus.IN_VOTE, id="project: put to the vote"),
    pytest.param(Project, ProjectStatus.IN_VOTE, ProjectStatus.APPROVED, id="project: approved"),
    pytest.param(Project, ProjectStatus.IN_VOTE, ProjectStatus.REJECTED, id="project: rejected"),
    pytest.param(Project, ProjectStatus.IN_VOTE, ProjectStatus.PRESENTED, id="project: no decision, or ballot cancelled"),
    pytest.param(Ballot, BallotStatus.OPEN, BallotStatus.CLOSED, id="ballot: closed"),
    pytest.param(Ballot, BallotStatus.OPEN, BallotStatus.CANCELLED, id="ballot: cancelled"),
    pytest.param(Meeting, MeetingStatus.PLANNED, MeetingStatus.IN_SESSION, id="meeting: opened (meetings.open_meeting)"),
    pytest.param(Meeting, MeetingStatus.PLANNED, MeetingStatus.CANCELLED, id="meeting: cancelled (meetings.cancel)"),
    pytest.param(Meeting, MeetingStatus.IN_SESSION, MeetingStatus.CLOSED, id="meeting: closed (meetings.close_meeting)"),
    pytest.param(Investment, InvestmentStatus.ACTIVE, InvestmentStatus.REPAID, id="investment: repaid"),
    pytest.param(Investment, InvestmentStatus.ACTIVE, InvestmentStatus.EXITED, id="investment: whole stake sold"),
    pytest.param(Investment, InvestmentStatus.ACTIVE, InvestmentStatus.WRITTEN_OFF, id="investment: written off"),
    pytest.param(Disbursement, DisbursementStatus.PENDING, DisbursementStatus.APPROVED, id="payment: approved"),
    pytest.param(Disbursement, DisbursementStatus.PENDING, DisbursementStatus.CANCELLED, id="payment: cancelled"),
    pytest.param(Payout, PayoutStatus.PENDING, PayoutStatus.APPROVED, id="payout: approved (fund.approve_payout)"),
    pytest.param(Payout, PayoutStatus.PENDING, PayoutStatus.CANCELLED, id="payout: cancelled (fund.cancel_payout)"),
    pytest.param(Revaluation, RevaluationStatus.PENDING, RevaluationStatus.APPROVED,
                 id="revaluation: approved (valuation.approve_revaluation)"),
    pytest.param(Revaluation, RevaluationStatus.PENDING, RevaluationStatus.CANCELLED,
                 id="revaluation: cancelled (valuation.cancel_revaluation)"),
    pytest.param(ShareTransfer, TransferStatus.PREEMPTION, TransferStatus.AWAITING_VOTE,
                 id="transfer: nobody bought first (transfers.settle_preemption)"),
    pytest.param(ShareTransfer, TransferStatus.PREEMPTION, TransferStatus.PREEMPTED,
                 id="transfer: co-owners bought first (transfers.settle_preemption)"),
    pytest.param(ShareTransfer, TransferStatus.PREEMPTION, TransferStatus.WITHDRAWN,
                 id="transfer: withdrawn while the co-owners may buy first"),
    pytest.param(ShareTransfer, TransferStatus.AWAITING_VOTE, TransferStatus.IN_VOTE, id="transfer: put to the vote"),
    pytest.param(ShareTransfer, TransferStatus.AWAITING_VOTE, TransferStatus.WITHDRAWN, id="transfer: withdrawn"),
    pytest.param(ShareTransfer, TransferStatus.IN_VOTE, TransferStatus.DONE, id="transfer: approved, passed (apply)"),
    pytest.param(ShareTransfer, TransferStatus.IN_VOTE, TransferStatus.REFUSED, id="transfer: refused by the vote"),
    pytest.param(ShareTransfer, TransferStatus.IN_VOTE, TransferStatus.AWAITING_VOTE,
                 id="transfer: no decision, ballot cancelled, or not applicable (back_to_vote)"),
    pytest.param(Listing, ListingStatus.ACTIVE, ListingStatus.PAUSED, id="listing: paused"),
    pytest.param(Listing, ListingStatus.PAUSED, ListingStatus.ACTIVE, id="listing: resumed"),
    pytest.param(Listing, ListingStatus.ACTIVE, ListingStatus.CLOSED, id="listing: closed"),
    pytest.param(Listing, ListingStatus.PAUSED, ListingStatus.CLOSED, id="listing: paused, closed"),
    pytest.param(Exchange, ExchangeStatus.ARRANGED, ExchangeStatus.PENDING, id="exchange: arranged, recorded"),
    pytest.param(Exchange, ExchangeStatus.ARRANGED, ExchangeStatus.CONFIRMED, id="exchange: arranged, recorded and posted"),
    pytest.param(Exchange, ExchangeStatus.ARRANGED, ExchangeStatus.CANCELLED, id="exchange: arranged, called off"),
    pytest.param(Exchange, ExchangeStatus.ARRANGED, ExchangeStatus.EXPIRED, id="exchange: arranged, expired"),
    pytest.param(Exchange, ExchangeStatus.PENDING, ExchangeStatus.CONFIRMED, id="exchange: confirmed"),
    pytest.param(Exchange, ExchangeStatus.PENDING, ExchangeStatus.DISPUTED, id="exchange: pending, disputed"),
    pytest.param(Exchange, ExchangeStatus.PENDING, ExchangeStatus.CANCELLED, id="exchange: withdrawn"),
    pytest.param(Exchange, ExchangeStatus.PENDING, ExchangeStatus.EXPIRED, id="exchange: not confirmed in time"),
    pytest.param(Exchange, ExchangeStatus.CONFIRMED, ExchangeStatus.DISPUTED, id="exchange: confirmed, disputed"),
    pytest.param(Exchange, ExchangeStatus.DISPUTED, ExchangeStatus.CANCELLED, id="exchange: dispute settled, cancel"),
    pytest.param(Exchange, ExchangeStatus.DISPUTED, ExchangeStatus.REVERSED, id="exchange: dispute settled, reverse"),
    pytest.param(Exchange, ExchangeStatus.DISPUTED, ExchangeStatus.CONFIRMED, id="exchange: dispute settled, keep"),
    pytest.param(BalanceAssertion, AssertionStatus.OPEN, AssertionStatus.RESOLVED, id="balance check: resolved"),
]

#: Moves no service makes, with the status the refusal names.
ILLEGAL = [
    pytest.param(Ballot, BallotStatus.CLOSED, BallotStatus.OPEN, "closed", id="a closed ballot reopened"),
    pytest.param(Ballot, BallotStatus.CANCELLED, BallotStatus.CLOSED, "cancelled", id="a cancelled ballot closed"),
    pytest.param(Ballot, BallotStatus.OPEN, BallotStatus.OPEN, "open", id="a ballot opened twice"),
    pytest.param(Meeting, MeetingStatus.CLOSED, MeetingStatus.IN_SESSION, "closed", id="a closed meeting reopened"),
    pytest.param(Meeting, MeetingStatus.IN_SESSION, MeetingStatus.CANCELLED, "in session",
                 id="a meeting in session cancelled"),
    pytest.param(Meeting, MeetingStatus.CANCELLED, MeetingStatus.IN_SESSION, "cancelled", id="a cancelled meeting opened"),
    pytest.param(Exchange, ExchangeStatus.CONFIRMED, ExchangeStatus.PENDING, "confirmed",
                 id="a confirmed exchange back to pending"),
    pytest.param(Exchange, ExchangeStatus.CONFIRMED, ExchangeStatus.CONFIRMED, "confirmed",
                 id="an exchange confirmed twice"),
    pytest.param(Exchange, ExchangeStatus.EXPIRED, ExchangeStatus.CONFIRMED, "expired", id="an expired exchange confirmed"),
    pytest.param(Exchange, ExchangeStatus.CONFIRMED, ExchangeStatus.CANCELLED, "confirmed",
                 id="a posted exchange cancelled without a dispute"),
    pytest.param(Exchange, ExchangeStatus.REVERSED, ExchangeStatus.DISPUTED, "reversed", id="a reversed exchange disputed"),
    pytest.param(Exchange, ExchangeStatus.ARRANGED, ExchangeStatus.DISPUTED, "arranged, not done yet",
                 id="an exchange disputed before it is recorded"),
    pytest.param(Membership, MemberStatus.LEFT, MemberStatus.ACTIVE, "left the club", id="a member who left back to active"),
    pytest.param(Membership, MemberStatus.EXCLUDED, MemberStatus.PENDING, "excluded", id="an excluded member asks again"),
    pytest.param(Membership, MemberStatus.DECLINED, MemberStatus.ACTIVE, "declined", id="a declined request admitted"),
    pytest.param(Membership, MemberStatus.PENDING, MemberStatus.LEFT, "waiting for admission", id="a request leaves"),
    pytest.param(Club, ClubStatus.CLOSED, ClubStatus.ACTIVE, "closed", id="a closed club reopened"),
    pytest.param(Club, ClubStatus.FORMING, ClubStatus.DISSOLVING, "in formation", id="a forming club dissolved"),
    pytest.param(Club, ClubStatus.DISSOLVING, ClubStatus.ACTIVE, "being dissolved", id="a dissolution undone"),
    pytest.param(Club, ClubStatus.ACTIVE, ClubStatus.ACTIVE, "active", id="a club activated twice"),
    pytest.param(Club, ClubStatus.IN_MANAGEMENT, ClubStatus.CLOSED, "in management (term over)", id="a club closed undissolved"),
    pytest.param(Project, ProjectStatus.APPROVED, ProjectStatus.PRESENTED, "approved", id="an approved project voted again"),
    pytest.param(Project, ProjectStatus.IN_VOTE, ProjectStatus.WITHDRAWN, "in vote", id="a project in vote withdrawn"),
    pytest.param(Project, ProjectStatus.DRAFT, ProjectStatus.IN_VOTE, "draft", id="a draft put to the vote"),
    pytest.param(Project, ProjectStatus.WITHDRAWN, ProjectStatus.PRESENTED, "withdrawn", id="a withdrawn project presented"),
    pytest.param(Investment, InvestmentStatus.WRITTEN_OFF, InvestmentStatus.ACTIVE, "written off",
                 id="a written-off investment followed again"),
    pytest.param(Investment, InvestmentStatus.REPAID, InvestmentStatus.WRITTEN_OFF, "repaid",
                 id="a repaid investment written off"),
    pytest.param(Disbursement, DisbursementStatus.APPROVED, DisbursementStatus.CANCELLED, "approved and posted",
                 id="an approved payment cancelled"),
    pytest.param(Disbursement, DisbursementStatus.CANCELLED, DisbursementStatus.APPROVED, "cancelled",
                 id="a cancelled payment approved"),
    pytest.param(Revaluation, RevaluationStatus.CANCELLED, RevaluationStatus.APPROVED, "cancelled",
                 id="a cancelled revaluation approved"),
    pytest.param(Listing, ListingStatus.CLOSED, ListingStatus.ACTIVE, "closed", id="a closed listing reopened"),
    pytest.param(BalanceAssertion, AssertionStatus.RESOLVED, AssertionStatus.OPEN, "explained",
                 id="a resolved balance check reopened"),
    pytest.param(ShareTransfer, TransferStatus.IN_VOTE, TransferStatus.WITHDRAWN, "in vote",
                 id="a transfer withdrawn while the members vote"),
    pytest.param(ShareTransfer, TransferStatus.PREEMPTION, TransferStatus.IN_VOTE, "the co-owners may buy first",
                 id="a transfer put to the vote while the co-owners may buy first"),
    pytest.param(ShareTransfer, TransferStatus.DONE, TransferStatus.AWAITING_VOTE, "passed on",
                 id="a share passed on voted again"),
]


def test_every_status_has_its_row():
    assert set(MACHINES) == set(STATUSES)
    for model, statuses in STATUSES.items():
        assert list(MACHINES[model]) == list(statuses), model.__name__
        assert set().union(*MACHINES[model].values()) <= set(statuses), model.__name__


def test_the_tables_hold_the_services_moves_and_no_other():
    listed = {(model, start, end) for model, start, end in (p.values for p in MOVES)}
    tables = {(model, start, end) for model, table in MACHINES.items() for start, ends in table.items() for end in ends}
    assert tables == listed


@pytest.mark.parametrize(("model", "start", "end"), MOVES)
def test_an_allowed_move_is_made(model, start, end):
    row = model(status=start)
    move(row, end)
    assert row.status == end


@pytest.mark.parametrize(("model", "start", "end"), MOVES)
def test_check_move_leaves_the_writing_to_its_caller(model, start, end):
    row = model(status=start)
    assert check_move(row, end) == end
    assert row.status == start


@pytest.mark.parametrize(("model", "start", "end", "named"), ILLEGAL)
def test_an_illegal_move_is_refused(model, start, end, named):
    row = model(status=start)
    with pytest.raises(Conflict) as refusal:
        move(row, end)
    assert type(refusal.value) is Conflict
    assert (refusal.value.rule, refusal.value.field) == (None, None)
    assert str(refusal.value.message) == f"This cannot be done: it is {named}."
    assert row.status == start
    with pytest.raises(Conflict):
        check_move(row, end)


@pytest.mark.parametrize(
    ("model", "end", "starts"),
    [
        pytest.param(Exchange, ExchangeStatus.EXPIRED, (ExchangeStatus.ARRANGED, ExchangeStatus.PENDING),
                     id="exchanges that expire"),
        pytest.param(Ballot, BallotStatus.CLOSED, (BallotStatus.OPEN,), id="ballots that close"),
        pytest.param(Club, ClubStatus.IN_MANAGEMENT, (ClubStatus.ACTIVE,), id="clubs past their term"),
        pytest.param(Exchange, ExchangeStatus.ARRANGED, (), id="nothing moves back to arranged"),
    ],
)
def test_a_change_of_many_rows_selects_the_statuses_the_table_moves_from(model, end, starts):
    assert sources(model, end) == starts


# --- No status changes but through the tables -----------------------------------------------------


def _status_writes(tree: ast.AST) -> list[int]:
    """Lines that set a ``status`` attribute, or pass a status to ``update_now`` without ``check_move``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        else:
            targets = []
        if any(isinstance(n, ast.Attribute) and n.attr == "status" for t in targets for n in ast.walk(t)):
            found.append(node.lineno)
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name == "setattr" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant) \
                and node.args[1].value == "status":
            found.append(node.lineno)
        if name == "update_now":
            for keyword in node.keywords:
                checked = isinstance(keyword.value, ast.Call) and getattr(keyword.value.func, "id", None) == "check_move"
                if keyword.arg == "status" and not checked:
                    found.append(node.lineno)
    return sorted(found)


def test_the_guard_finds_each_way_of_writing_a_status():
    source = """
row.status = "closed"
row.status, row.note = "closed", ""
setattr(row, "status", "closed")
update_now(row, status="confirmed")
update_now(row, status=check_move(row, "confirmed"), at=now)
"""
    assert _status_writes(ast.parse(source)) == [2, 3, 4, 5]


def test_no_status_is_written_outside_the_transitions_module():
    modules = [path for path in sorted(PACKAGE.rglob("*.py")) if path != PACKAGE / "services" / "transitions.py"]
    assert PACKAGE / "services" / "timebank.py" in modules
    found = [f"{path.relative_to(PACKAGE.parent)}:{line}" for path in modules
             for line in _status_writes(ast.parse(path.read_text(encoding="utf-8")))]
    assert not found, "change a status with transitions.move (or check_move for update_now):\n" + "\n".join(found)
