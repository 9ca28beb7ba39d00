"""Investments and their payments through the services (R5, R8, R10, R11), on both databases.

The club: six members — manager, treasurer, secretary (appointed while forming), three plain members —
each paying in 200,000 cents, so the fund (members' capital) and the bank both hold 1,200,000. With the
default charter one project may take 25 % of that: 300,000."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text, update

from coop.extensions import db
from coop.models import Club, Disbursement, Investment, TransactionKind
from coop.models.base import utcnow
from coop.models.ledger import JournalTransaction
from coop.services import ballots, fund, investments, ledger, projects, tally
from coop.services import clubs as ms
from coop.services.errors import Conflict, InvalidInput, LimitExceeded, NotFound, NotPermitted, RuleViolation
from tests.conftest import SetupView, at_once, by_id, key, refused

EACH = 200_000
FUND = 6 * EACH  # 1,200,000
TODAY = date.today()
PROJECT = dict(name="Fournil de Die", description="Un four à pain bio.", town="Die", legal_form="scop",
               instrument="loan", amount_requested=300_000, stake_hundredths=None, holder_name="Anne Martin",
               holder_contact="anne@example.org")


@dataclass
class World(SetupView):
    @property
    def secretary(self):
        return self.setup.members[2]

    @property
    def member(self):  # a plain member
        return self.setup.members[3]


def make_world(make_club, **charter) -> World:
    setup = make_club(6, secretary=True, activate=not charter)
    if charter:
        ms.amend_charter(setup.manager.id, setup.club_id, charter)
        ms.activate(setup.manager.id, setup.club_id)
    for user in setup.members:
        fund.record_contribution(setup.treasurer.id, setup.club_id, membership_id=setup.membership_id(user),
                                 amount=EACH, received_on=TODAY, method="transfer", idempotency_key=key())
    return World(setup)


@pytest.fixture
def world(make_club) -> World:
    return make_world(make_club)


def proposed(world: World, **changes) -> int:
    """A project proposed by a plain member (not an officer), still a draft."""
    return projects.propose(world.setup.members[4].id, world.club_id, {**PROJECT, **changes}, form_key=key()).id


def open_vote(world: World, project_id: int):
    return ballots.open_ballot(world.manager.id, world.club_id, kind="funding", method="yes_no",
                               closes_at=utcnow() + timedelta(days=7),
                               subject=ballots.Subject(project_ids=[project_id]), form_key=key())


def voted(world: World, project_id: int, answer: int = tally.YES) -> None:
    projects.present(world.setup.members[4].id, world.club_id, project_id)
    ballot = open_vote(world, project_id)
    for user in world.setup.members:
        ballots.vote(user.id, world.club_id, ballot.id, choices={ballot.options[0].id: answer})
    ballots.close_early(world.manager.id, world.club_id, ballot.id)


def not_put_to_vote(world: World, error_type, **changes):
    """R10 is checked when the ballot opens: this project cannot be put to the vote, and nothing is written."""
    project_id = proposed(world, **changes)
    projects.present(world.setup.members[4].id, world.club_id, project_id)
    return refused(lambda: open_vote(world, project_id), error_type, rule="R10")


def approved(world: World, **changes) -> int:
    project_id = proposed(world, **changes)
    voted(world, project_id)
    return project_id


def invest(world: World, **changes) -> int:
    """An investment recorded by the treasurer on a newly approved project; its id."""
    project_id = approved(world, **changes)
    return investments.record_investment(world.treasurer.id, world.club_id, project_id,
                                         mentor_id=world.mid(world.setup.members[3]), form_key=key()).id


def enter(world: World, investment_id: int, amount: int, *, by=None, paid_on: date = TODAY) -> int:
    return investments.enter_payment((by or world.treasurer).id, world.club_id, investment_id, amount=amount,
                                     paid_on=paid_on, form_key=key()).id


def approve(world: World, payment_id: int, *, by=None) -> None:
    investments.approve_payment((by or world.manager).id, world.club_id, payment_id)


def pay(world: World, investment_id: int, amount: int, *, paid_on: date = TODAY) -> int:
    """Entered by the treasurer, approved by the manager."""
    payment_id = enter(world, investment_id, amount, paid_on=paid_on)
    approve(world, payment_id)
    return payment_id


def refused_entry(world: World, investment_id: int, amount: int, error_type=LimitExceeded, *, rule="R10", by=None):
    return refused(lambda: enter(world, investment_id, amount, by=by), error_type, rule=rule)


def bank(world: World) -> int:
    db.session.rollback()
    return ledger.find_account(world.club_id, "bank").balance


def held(world: World, investment_id: int) -> int:
    """The balance of the investment's own asset account."""
    db.session.rollback()
    return ledger.find_account(world.club_id, f"investment:{by_id(Investment, investment_id).project_id}").balance


def payment(payment_id: int) -> Disbursement:
    db.session.rollback()
    return by_id(Disbursement, payment_id)


def disbursement_transactions(club_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(JournalTransaction).where(
        JournalTransaction.club_id == club_id, JournalTransaction.kind == TransactionKind.DISBURSEMENT))


def set_status(club_id: int, status: str) -> None:
    db.session.rollback()
    db.session.execute(update(Club).where(Club.id == club_id).values(status=status))
    db.session.commit()




# --- R10: cash available ---------------------------------------------------------------------


def test_exactly_the_cash_available_passes_and_a_pending_payment_lowers_it(make_club):
    world = make_world(make_club, project_cap_percent=100)  # the cap is the whole fund: cash is the limit
    first = invest(world, name="Fournil de Die", amount_requested=FUND)
    second = invest(world, name="Scierie du Vercors", amount_requested=FUND)
    a = enter(world, first, 500_000)
    assert fund.committed_amount(world.club_id) == 500_000
    # bank 1,200,000 less 500,000 committed: 700,000 available
    error = refused_entry(world, second, 700_001)
    assert "7" in str(error.message)
    b = enter(world, second, 700_000)
    assert fund.committed_amount(world.club_id) == FUND
    refused_entry(world, first, 1)  # nothing left to commit
    # Approval checks again, leaving the payment itself out: each fits exactly.
    approve(world, a)
    approve(world, b)
    assert bank(world) == 0
    assert fund.committed_amount(world.club_id) == 0
    assert held(world, first) == 500_000 and held(world, second) == 700_000
    assert investments.check() == []


def test_cancelling_a_pending_payment_frees_its_commitment(make_club):
    world = make_world(make_club, project_cap_percent=100)
    first = invest(world, name="Fournil de Die", amount_requested=FUND)
    second = invest(world, name="Scierie du Vercors", amount_requested=FUND)
    a = enter(world, first, 500_000)
    refused_entry(world, second, 700_001)
    refused(lambda: investments.cancel_payment(world.manager.id, world.club_id, a, "  "), InvalidInput,
            field="reason")
    investments.cancel_payment(world.manager.id, world.club_id, a, "Mauvais RIB")
    assert fund.committed_amount(world.club_id) == 0
    cancelled = payment(a)
    assert cancelled.status == "cancelled" and cancelled.cancel_reason == "Mauvais RIB"
    refused(lambda: approve(world, a, by=world.secretary), Conflict)
    refused(lambda: investments.cancel_payment(world.manager.id, world.club_id, a, "encore"), Conflict)
    b = enter(world, second, FUND)  # the whole bank is free again
    approve(world, b)
    assert bank(world) == 0 and held(world, first) == 0
    assert disbursement_transactions(world.club_id) == 1


# --- R10: the per-project share of the fund ----------------------------------------------------


def leave_and_refund(world: World, user) -> None:
    """A plain member leaves and the treasurer and the manager refund their 200,000: the fund and the bank fall by as much."""
    ms.leave(user.id, world.club_id)
    assert fund.value_exit(world.treasurer.id, world.club_id, world.mid(user), form_key=key()).value == EACH
    payout = fund.refund(world.treasurer.id, world.club_id, world.mid(user), amount=EACH, idempotency_key=key())
    fund.approve_payout(world.setup.manager.id, world.club_id, payout.id)  # a second officer (R11)


def test_a_project_exactly_at_the_default_quarter_of_the_fund_is_put_to_the_vote_one_cent_more_is_not(world):
    error = not_put_to_vote(world, LimitExceeded, amount_requested=300_001)  # 25 % of 1,200,000 = 300,000
    assert "25" in str(error.message)
    investment = invest(world, amount_requested=300_000)
    pay(world, investment, 300_000)
    assert bank(world) == FUND - 300_000


def test_a_payment_is_measured_against_the_fund_of_the_day(world):
    investment = invest(world, amount_requested=300_000)  # the quarter of 1,200,000
    leave_and_refund(world, world.setup.members[5])
    # fund 1,000,000 now: its quarter is 250,000 (cash is 1,000,000, so the cap is what refuses)
    refused_entry(world, investment, 250_001)
    pay(world, investment, 250_000)


def test_the_per_project_cap_counts_every_payment_to_the_project(world):
    investment = invest(world, amount_requested=300_000)
    leave_and_refund(world, world.setup.members[5])
    refused_entry(world, investment, 300_000)  # over the quarter of 1,000,000 in one go
    pay(world, investment, 250_000)  # exactly the quarter
    refused_entry(world, investment, 50_000)  # 300,000 in one project in two goes


def test_the_charter_sets_the_share_of_one_project(make_club):
    world = make_world(make_club, project_cap_percent=10)
    not_put_to_vote(world, LimitExceeded, amount_requested=120_001)  # 10 % of 1,200,000 = 120,000
    investment = invest(world, amount_requested=120_000)
    pay(world, investment, 120_000)


def test_a_project_larger_than_the_cash_available_is_not_put_to_the_vote(make_club):
    world = make_world(make_club, project_cap_percent=100)
    first = invest(world, name="Fournil de Die", amount_requested=500_000)
    enter(world, first, 500_000)  # committed: 700,000 available
    not_put_to_vote(world, LimitExceeded, name="Scierie du Vercors", amount_requested=700_001)
    invest(world, name="Scierie du Vercors", amount_requested=700_000)


# --- R10: the approved amount -------------------------------------------------------------------


def test_no_more_than_the_amount_members_approved_paid_and_pending_together(world):
    investment = invest(world, amount_requested=250_000)
    first = enter(world, investment, 200_000)
    error = refused_entry(world, investment, 50_001, RuleViolation)  # 200,000 pending + 50,001 > 250,000
    assert "2" in str(error.message)
    second = enter(world, investment, 50_000)
    approve(world, first)
    approve(world, second, by=world.secretary)
    refused_entry(world, investment, 1, RuleViolation)
    assert held(world, investment) == 250_000 and bank(world) == FUND - 250_000


# --- R10: minority stake, legal forms, current-account loans -------------------------------------

SHARES = dict(legal_form="sas", instrument="equity", amount_requested=100_000, stake_hundredths=2000)


def test_a_stake_exactly_at_the_minority_cap_passes_one_hundredth_more_is_refused(world):
    error = not_put_to_vote(world, RuleViolation, **{**SHARES, "name": "Menuiserie Roux", "stake_hundredths": 3301})
    assert "33" in str(error.message)
    at_cap = invest(world, **{**SHARES, "name": "Scierie du Vercors", "stake_hundredths": 3300})
    pay(world, at_cap, 100_000)


@pytest.mark.parametrize("legal_form", ["association", "sole_trader", "obnl"])
def test_no_equity_in_a_legal_form_without_shares(world, legal_form):
    not_put_to_vote(world, RuleViolation, **{**SHARES, "name": "Les Amis du Four", "legal_form": legal_form})
    loan = invest(world, name="Les Amis du Moulin", legal_form=legal_form, instrument="loan", amount_requested=100_000)
    pay(world, loan, 100_000)  # lending to them is allowed


def test_a_current_account_loan_only_where_the_club_already_holds_paid_shares(world):
    loan = dict(name="Fournil de Die", legal_form="sas", instrument="current_account", amount_requested=100_000)
    not_put_to_vote(world, RuleViolation, **loan)  # no shares at all
    pay(world, invest(world, **{**SHARES, "name": "Scierie du Vercors"}), 100_000)
    not_put_to_vote(world, RuleViolation, **loan)  # shares, but of another enterprise
    shares = invest(world, **{**SHARES, "name": "FOURNIL DE DIE"})
    pending = enter(world, shares, 100_000)
    not_put_to_vote(world, RuleViolation, **loan)  # shares recorded, not paid yet
    approve(world, pending)
    current_account = invest(world, **loan)  # the same name in another case
    first = pay(world, current_account, 40_000)
    second = enter(world, current_account, 30_000)
    # The club sells its shares: the loan it voted may not grow any more (checked at entry and at approval).
    db.session.execute(update(Investment).where(Investment.id == shares).values(status="exited"))
    db.session.commit()
    refused(lambda: approve(world, second), RuleViolation, rule="R10")
    refused_entry(world, current_account, 30_000, RuleViolation)
    assert payment(first).status == "approved" and payment(second).status == "pending"


@pytest.mark.parametrize("name", ["Épicerie de Die", "Brasserie Straße"])
def test_a_current_account_loan_to_an_enterprise_named_exactly_as_the_shares_held(world, name):
    pay(world, invest(world, **{**SHARES, "name": name}), 100_000)
    loan = invest(world, name=name, legal_form="sas", instrument="current_account", amount_requested=50_000)
    pay(world, loan, 50_000)


# --- R5: a club in management pays nothing ----------------------------------------------------


def test_a_club_in_management_neither_enters_nor_approves_nor_records(world):
    """What members approved after the term ended (here: the day after its last) is not carried out (R5)."""
    investment = invest(world)
    pending = enter(world, investment, 100_000)
    project_id = approved(world, name="Scierie du Vercors")
    set_status(world.club_id, "in_management")
    db.session.execute(update(Club).where(Club.id == world.club_id).values(term_ends_on=date.today() - timedelta(days=1)))
    db.session.commit()
    refused(lambda: enter(world, investment, 100_000), RuleViolation, rule="R5")
    refused(lambda: approve(world, pending), RuleViolation, rule="R5")
    refused(lambda: investments.record_investment(
        world.treasurer.id, world.club_id, project_id, mentor_id=world.mid(world.member), form_key=key()),
            RuleViolation, rule="R5")
    assert bank(world) == FUND


# --- R11 and R8: two officers, neither recused --------------------------------------------------


def test_the_officer_who_entered_a_payment_cannot_approve_it(world):
    investment = invest(world)
    entered = enter(world, investment, 100_000, by=world.secretary)
    refused(lambda: approve(world, entered, by=world.secretary), RuleViolation, rule="R11")
    approve(world, entered, by=world.treasurer)
    done = payment(entered)
    assert (done.status, done.entered_by_id, done.approved_by_id) == (
        "approved", world.mid(world.secretary), world.mid(world.treasurer))
    assert done.transaction_id is not None and bank(world) == FUND - 100_000


def test_a_recused_officer_neither_enters_nor_approves(world):
    investment = invest(world)
    project_id = by_id(Investment, investment).project_id
    ballots.declare_link(world.treasurer.id, world.club_id, project_id, "Ma sœur tient le fournil")
    refused_entry(world, investment, 100_000, RuleViolation, rule="R8", by=world.treasurer)
    entered = enter(world, investment, 100_000, by=world.manager)
    refused(lambda: approve(world, entered, by=world.treasurer), RuleViolation, rule="R8")
    approve(world, entered, by=world.secretary)
    assert bank(world) == FUND - 100_000


def test_an_officer_who_becomes_recused_after_entering_leaves_the_payment_unapprovable(world):
    investment = invest(world)
    entered = enter(world, investment, 100_000, by=world.treasurer)
    project_id = by_id(Investment, investment).project_id
    ballots.declare_link(world.treasurer.id, world.club_id, project_id, "Associé du boulanger")
    refused(lambda: approve(world, entered, by=world.manager), RuleViolation, rule="R8")
    refused(lambda: approve(world, entered, by=world.secretary), RuleViolation, rule="R8")
    investments.cancel_payment(world.manager.id, world.club_id, entered, "Saisi par un membre lié")
    approve(world, enter(world, investment, 100_000, by=world.secretary), by=world.manager)
    assert disbursement_transactions(world.club_id) == 1


def test_a_plain_member_neither_enters_approves_nor_cancels_and_strangers_find_nothing(world, make_user):
    investment = invest(world)
    refused_entry(world, investment, 100_000, NotPermitted, rule=None, by=world.member)
    entered = enter(world, investment, 100_000)
    refused(lambda: approve(world, entered, by=world.member), NotPermitted, rule=None)
    refused(lambda: investments.cancel_payment(world.member.id, world.club_id, entered, "non"), NotPermitted, rule=None)
    stranger = make_user()
    refused(lambda: enter(world, investment, 100_000, by=stranger), NotFound)
    refused(lambda: approve(world, entered, by=stranger), NotFound)


def test_approving_twice_is_a_conflict(world):
    investment = invest(world)
    entered = enter(world, investment, 100_000)
    approve(world, entered)
    refused(lambda: approve(world, entered, by=world.secretary), Conflict)
    refused(lambda: investments.cancel_payment(world.manager.id, world.club_id, entered, "trop tard"), Conflict)
    assert disbursement_transactions(world.club_id) == 1 and bank(world) == FUND - 100_000


def test_two_officers_approving_at_once_post_once(app, world):
    investment = invest(world)
    entered = enter(world, investment, 100_000, by=world.treasurer)
    outcomes = at_once(app, lambda: approve(world, entered, by=world.manager),
                       lambda: approve(world, entered, by=world.secretary))
    assert outcomes == ["Conflict", "done"]
    assert disbursement_transactions(world.club_id) == 1
    assert bank(world) == FUND - 100_000 and held(world, investment) == 100_000
    assert payment(entered).approved_by_id in (world.mid(world.manager), world.mid(world.secretary))
    assert investments.check() == []


def test_two_entries_at_once_commit_no_more_than_the_cash(app, make_club):
    world = make_world(make_club, project_cap_percent=100)
    first = invest(world, name="Fournil de Die", amount_requested=FUND)
    second = invest(world, name="Scierie du Vercors", amount_requested=FUND)
    # each alone fits (700,000 <= 1,200,000), together they do not (1,400,000)
    outcomes = at_once(app, lambda: enter(world, first, 700_000, by=world.treasurer),
                       lambda: enter(world, second, 700_000, by=world.secretary))
    assert outcomes == ["LimitExceeded R10", "done"]
    assert fund.committed_amount(world.club_id) == 700_000


# --- Recording an investment -------------------------------------------------------------------


def test_only_an_officer_records_an_investment_and_only_once(world):
    project_id = approved(world)
    mentor = world.mid(world.member)
    refused(lambda: investments.record_investment(world.member.id, world.club_id, project_id,
                                                  mentor_id=mentor, form_key=key()), NotPermitted, rule=None)
    recorded = investments.record_investment(world.secretary.id, world.club_id, project_id, mentor_id=mentor,
                                             form_key=key())
    assert (recorded.amount, recorded.instrument, recorded.name, recorded.status) == (
        300_000, "loan", "Fournil de Die", "active")
    refused(lambda: investments.record_investment(world.manager.id, world.club_id, project_id,
                                                  mentor_id=mentor, form_key=key()), Conflict)


def test_only_a_project_members_approved_becomes_an_investment(world):
    draft = proposed(world, name="Brouillon")
    presented = proposed(world, name="Présenté")
    projects.present(world.setup.members[4].id, world.club_id, presented)
    rejected = proposed(world, name="Refusé")
    voted(world, rejected, tally.NO)
    for project_id in (draft, presented, rejected):
        refused(lambda p=project_id: investments.record_investment(
            world.treasurer.id, world.club_id, p, mentor_id=world.mid(world.member), form_key=key()), Conflict)
    refused(lambda: investments.record_investment(
        world.treasurer.id, world.club_id, 999_999, mentor_id=world.mid(world.member), form_key=key()), NotFound)


def test_mentors_are_active_members_of_the_club_and_two_of_them_differ(world, make_club):
    project_id = approved(world)
    elsewhere = make_club(5, name="Cigale Voisine")
    foreign = elsewhere.membership_id(elsewhere.members[1])
    ms.leave(world.setup.members[5].id, world.club_id)
    gone = world.mid(world.setup.members[5])
    mine = world.mid(world.member)

    def record(mentor_id, second=None):
        return investments.record_investment(world.treasurer.id, world.club_id, project_id, mentor_id=mentor_id,
                                             second_mentor_id=second, form_key=key())

    refused(lambda: record(foreign), InvalidInput, field="mentor_id")
    refused(lambda: record(gone), InvalidInput, field="mentor_id")
    refused(lambda: record("3"), InvalidInput, field="mentor_id")
    refused(lambda: record(mine, foreign), InvalidInput, field="second_mentor_id")
    refused(lambda: record(mine, mine), InvalidInput, field="second_mentor_id")
    recorded = record(mine, world.mid(world.secretary))
    assert (recorded.mentor_id, recorded.second_mentor_id) == (mine, world.mid(world.secretary))


def test_a_replayed_form_is_refused(world):
    first, second = approved(world, name="Fournil de Die"), approved(world, name="Scierie du Vercors")
    form = key()
    investments.record_investment(world.treasurer.id, world.club_id, first, mentor_id=world.mid(world.member),
                                  form_key=form)
    refused(lambda: investments.record_investment(world.treasurer.id, world.club_id, second,
                                                  mentor_id=world.mid(world.member), form_key=form), Conflict)
    investment = db.session.scalar(select(Investment.id).where(Investment.project_id == first))
    payment_form = key()
    investments.enter_payment(world.treasurer.id, world.club_id, investment, amount=1_000, paid_on=TODAY,
                              form_key=payment_form)
    refused(lambda: investments.enter_payment(world.treasurer.id, world.club_id, investment, amount=1_000,
                                              paid_on=TODAY, form_key=payment_form), Conflict)


def test_shares_may_be_sold_five_years_after_the_first_payment_and_loans_have_no_such_date(world):
    shares = invest(world, name="Scierie du Vercors", legal_form="sas", instrument="equity",
                    amount_requested=200_000, stake_hundredths=2000)
    loan = invest(world, name="Fournil de Die")

    def sellable(investment_id):
        db.session.rollback()
        return investments.sellable_from(by_id(Investment, investment_id))

    first = enter(world, shares, 100_000, paid_on=date(2023, 6, 12))
    assert sellable(shares) is None  # entered, not paid yet
    approve(world, first)
    assert sellable(shares) == date(2028, 6, 12)
    pay(world, shares, 100_000, paid_on=date(2023, 3, 1))  # an earlier transfer entered late
    assert sellable(shares) == date(2028, 3, 1)
    pay(world, loan, 100_000, paid_on=date(2023, 6, 12))
    assert sellable(loan) is None


# --- The portfolio against the ledger (invariant 9) ---------------------------------------------


def test_the_portfolio_reconciles_with_the_ledger_and_a_tampered_payment_is_reported(app, world):
    investment = invest(world)
    paid = pay(world, investment, 120_000)
    pay(world, investment, 80_000)
    enter(world, investment, 50_000)  # pending: not in the books, not a discrepancy
    assert investments.check() == []
    db.session.rollback()
    result = app.test_cli_runner().invoke(args=["coop", "check"])
    assert result.exit_code == 0, result.output

    db.session.execute(text("UPDATE disbursement SET amount = amount + 1 WHERE id = :id"), {"id": paid})
    db.session.commit()
    found = investments.check()
    assert [v.invariant for v in found] == [9]
    assert "200000" in found[0].detail and "200001" in found[0].detail
    result = app.test_cli_runner().invoke(args=["coop", "check"])
    assert result.exit_code == 1
    assert "invariant 9" in result.output


def test_an_approved_payment_without_its_posting_is_reported(app, world):
    investment = invest(world)
    paid = pay(world, investment, 100_000)
    db.session.execute(text("UPDATE disbursement SET transaction_id = NULL WHERE id = :id"), {"id": paid})
    db.session.commit()
    found = investments.check()
    assert [v.invariant for v in found] == [9]
    assert f"payment {paid}" in found[0].detail
    result = app.test_cli_runner().invoke(args=["coop", "check"])
    assert result.exit_code == 1
