"""From an approved project to money paid out, through two officers (R10, R11)."""
from datetime import date, timedelta

from coop.models.base import utcnow
from coop.services import ballots, fund, investments, ledger, projects, tally
from coop.services.ballots import Subject
from tests.conftest import fund_club, key

PROJECT = dict(name="Fournil de Die", description="Un four à pain bio.", town="Die", legal_form="scop",
               instrument="loan", amount_requested=300_000, stake_hundredths=None, holder_name="Anne Martin",
               holder_contact="anne@example.org")


def approved(setup, **changes) -> int:
    proposer = setup.members[2]
    project = projects.propose(proposer.id, setup.club_id, {**PROJECT, **changes}, form_key=key())
    projects.present(proposer.id, setup.club_id, project.id)
    ballot = ballots.open_ballot(setup.manager.id, setup.club_id, kind="funding", method="yes_no",
                                 closes_at=utcnow() + timedelta(days=7), subject=Subject(project_ids=[project.id]),
                                 form_key=key())
    for user in setup.members:
        ballots.vote(user.id, setup.club_id, ballot.id, choices={ballot.options[0].id: tally.YES})
    ballots.close_early(setup.manager.id, setup.club_id, ballot.id)
    return project.id


def test_a_payment_entered_by_one_officer_and_approved_by_another_posts_once(make_club):
    setup = make_club(5)
    fund_club(setup, 300_000)  # 15,000 in the fund: 25 % is 3,750, the project asks 3,000
    project_id = approved(setup)
    investment = investments.record_investment(setup.treasurer.id, setup.club_id, project_id,
                                               mentor_id=setup.membership_id(setup.members[3]), form_key=key())
    payment = investments.enter_payment(setup.treasurer.id, setup.club_id, investment.id, amount=300_000,
                                        paid_on=date.today(), form_key=key())
    assert fund.committed_amount(setup.club_id) == 300_000
    investments.approve_payment(setup.manager.id, setup.club_id, payment.id)
    assert fund.committed_amount(setup.club_id) == 0
    assert ledger.find_account(setup.club_id, "bank").balance == 1_200_000
    assert ledger.find_account(setup.club_id, f"investment:{project_id}").balance == 300_000
    assert investments.check() == []


def test_a_project_above_the_caps_cannot_be_put_to_the_vote(make_club):
    """R10 is checked when the ballot opens: 5 × 3,000 = 15,000 in the fund, 25 % of it is 3,750."""
    import pytest

    from coop.services.errors import LimitExceeded
    from tests.conftest import snapshot

    setup = make_club(5)
    fund_club(setup, 300_000)
    proposer = setup.members[2]
    over = projects.propose(proposer.id, setup.club_id, {**PROJECT, "amount_requested": 375_001}, form_key=key())
    projects.present(proposer.id, setup.club_id, over.id)
    at_cap = projects.propose(proposer.id, setup.club_id, {**PROJECT, "name": "Ferme", "amount_requested": 375_000},
                              form_key=key())
    projects.present(proposer.id, setup.club_id, at_cap.id)
    before = snapshot()

    with pytest.raises(LimitExceeded) as refused:
        ballots.open_ballot(setup.manager.id, setup.club_id, kind="funding", method="yes_no",
                            closes_at=utcnow() + timedelta(days=7), subject=Subject(project_ids=[over.id]),
                            form_key=key())

    assert refused.value.rule == "R10"
    assert snapshot() == before
    opened = ballots.open_ballot(setup.manager.id, setup.club_id, kind="funding", method="yes_no",
                                 closes_at=utcnow() + timedelta(days=7), subject=Subject(project_ids=[at_cap.id]),
                                 form_key=key())
    assert opened.project_id == at_cap.id


def test_a_club_without_savings_cannot_vote_to_fund_anything(make_club):
    import pytest

    from coop.services.errors import LimitExceeded

    setup = make_club(5)
    proposer = setup.members[2]
    project = projects.propose(proposer.id, setup.club_id, {**PROJECT, "amount_requested": 100}, form_key=key())
    projects.present(proposer.id, setup.club_id, project.id)

    with pytest.raises(LimitExceeded) as refused:
        ballots.open_ballot(setup.manager.id, setup.club_id, kind="funding", method="yes_no",
                            closes_at=utcnow() + timedelta(days=7), subject=Subject(project_ids=[project.id]),
                            form_key=key())

    assert refused.value.rule == "R10"
    assert "0,00" in str(refused.value.message) or "0.00" in str(refused.value.message)


def paid_investment(setup, **changes):
    fund_club(setup, 300_000)
    project_id = approved(setup, **changes)
    investment = investments.record_investment(setup.treasurer.id, setup.club_id, project_id,
                                               mentor_id=setup.membership_id(setup.members[3]), form_key=key())
    payment = investments.enter_payment(setup.treasurer.id, setup.club_id, investment.id,
                                        amount=investment.amount, paid_on=date(2026, 1, 15), form_key=key())
    investments.approve_payment(setup.manager.id, setup.club_id, payment.id)
    return investment


def test_a_loan_is_repaid_on_schedule_with_its_interest_and_closes(make_club):
    """3,000 at 3 % a year over 3 quarters: principal 1,000 each quarter; interest 3,000 × 3 % / 4 = 22.50,
    then 2,000 × 3 % / 4 = 15.00, then 7.50."""
    setup = make_club(5)
    investment = paid_investment(setup)
    investments.set_loan_terms(setup.treasurer.id, setup.club_id, investment.id, rate_basis_points=300,
                               term_periods=3, frequency="quarterly", first_due_on=date(2026, 4, 15))
    assert investments.schedule(investment) == [(date(2026, 4, 15), 100_000, 2_250),
                                                (date(2026, 7, 15), 100_000, 1_500),
                                                (date(2026, 10, 15), 100_000, 750)]
    assert investments.is_late(investment, date(2026, 4, 16))
    for day, interest in ((date(2026, 4, 15), 2_250), (date(2026, 7, 15), 1_500), (date(2026, 10, 15), 750)):
        investments.record_repayment(setup.treasurer.id, setup.club_id, investment.id, principal=100_000,
                                     interest=interest, received_on=day, form_key=key())
    portfolio = investments.portfolio(setup.manager.id, setup.club_id, today=date(2026, 11, 1))
    (line,) = portfolio.lines
    assert (line.paid_out, line.returned, line.income, line.outstanding, line.late) == (300_000, 300_000, 4_500, 0,
                                                                                         False)
    assert line.investment.status == "repaid"
    assert ledger.find_account(setup.club_id, "income:returns").balance == -4_500
    assert investments.check() == []


def test_shares_sold_after_a_unanimous_vote_leave_the_books_with_their_gain(make_club):
    setup = make_club(5)
    investment = paid_investment(setup, instrument="equity", stake_hundredths=2000, legal_form="sas")
    sale = ballots.open_ballot(setup.manager.id, setup.club_id, kind="stake_sale", method="yes_no",
                               closes_at=utcnow() + timedelta(days=7), subject=Subject(investment_id=investment.id),
                               form_key=key())
    assert sale.threshold == "unanimity"
    for user in setup.members:
        ballots.vote(user.id, setup.club_id, sale.id, choices={sale.options[0].id: tally.YES})
    ballots.close_early(setup.manager.id, setup.club_id, sale.id)
    # half the stake (10 of 20 %) for 2,000: its cost is 1,500, so a gain of 500
    investments.record_sale(setup.treasurer.id, setup.club_id, investment.id, stake_sold_hundredths=1000,
                            price=200_000, received_on=date.today(), form_key=key())
    (line,) = investments.portfolio(setup.manager.id, setup.club_id).lines
    assert (line.returned, line.income, line.outstanding) == (150_000, 50_000, 150_000)
    assert investments.stake_held(investment) == 1000
    assert investments.check() == []


def test_a_write_off_loses_what_is_left(make_club):
    setup = make_club(5)
    investment = paid_investment(setup)
    investments.write_off(setup.treasurer.id, setup.club_id, investment.id, reason="Liquidation judiciaire",
                          on=date.today(), form_key=key())
    (line,) = investments.portfolio(setup.manager.id, setup.club_id).lines
    assert (line.losses, line.outstanding, line.result) == (300_000, 0, -300_000)
    assert line.investment.status == "written_off"
    assert investments.check() == []


def test_a_contribution_cannot_take_the_ledger_key_of_a_payment_to_come(make_club):
    """Issue 15: a form's key once became the ledger key as sent, so ``disbursement:<id>`` posted as a
    contribution blocked that payment's approval for ever. Form keys are 32 hex digits, posted as ``form:<key>``."""
    from coop.services.errors import InvalidInput
    from tests.conftest import refused

    setup = make_club(5)
    fund_club(setup, 300_000)
    project_id = approved(setup)
    investment = investments.record_investment(setup.treasurer.id, setup.club_id, project_id,
                                               mentor_id=setup.membership_id(setup.members[3]), form_key=key())
    payment = investments.enter_payment(setup.treasurer.id, setup.club_id, investment.id, amount=300_000,
                                        paid_on=date.today(), form_key=key())
    refused(lambda: fund.record_contribution(
        setup.treasurer.id, setup.club_id, membership_id=setup.membership_id(setup.members[2]), amount=1_000,
        received_on=date.today(), method="transfer", idempotency_key=f"disbursement:{payment.id}"), InvalidInput)
    investments.approve_payment(setup.manager.id, setup.club_id, payment.id)
    assert ledger.find_account(setup.club_id, f"investment:{project_id}").balance == 300_000
