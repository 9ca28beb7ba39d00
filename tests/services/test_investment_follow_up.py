"""Following an investment once it is paid out: loan schedules, repayments, returns, stake sales after a
unanimous ballot (R7), write-offs, mentors' notes, the club past its term (R5), and the portfolio against the
ledger (invariant 9), on both databases.

The club: six members — manager, treasurer, secretary (who proposes the projects), the mentor, two plain
members — each paying in 300,000 cents: 1,800,000 in the fund and the bank; one project may take 25 % of it,
450,000. Payments go out on 15 January 2026, entered by the treasurer and approved by the manager."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from coop.extensions import db
from coop.models import Ballot, BallotVoter, Investment, InvestmentEvent
from coop.models.base import utcnow
from coop.services import ballots, investments, ledger, tally
from coop.services import clubs as ms
from coop.services.ballots import Subject
from coop.services.errors import Conflict, InvalidInput, NotFound, NotPermitted, RuleViolation
from tests.conftest import by_id, key, refused
from tests.services.test_investment_flow import approved, fund_club

TODAY = date.today()
PAID_ON = date(2026, 1, 15)
SHARES = dict(instrument="equity", legal_form="sas", stake_hundredths=3000)


# --- Helpers -----------------------------------------------------------------------------------


def make_world(make_club, **charter):
    """Six members; the secretary (members[2]) is appointed while the club forms; 300,000 each paid in."""
    setup = make_club(6, secretary=True, activate=not charter)
    if charter:
        ms.amend_charter(setup.manager.id, setup.club_id, charter)
        ms.activate(setup.manager.id, setup.club_id)
    fund_club(setup, 300_000)
    return setup


@pytest.fixture
def world(make_club):
    return make_world(make_club)


def secretary(setup):
    return setup.members[2]


def mentor(setup):
    return setup.members[3]


def plain(setup):
    return setup.members[4]


def recorded(setup, *, second_mentor=None, **changes) -> Investment:
    """An approved project recorded as an investment, followed by members[3] (and ``second_mentor``)."""
    project_id = approved(setup, **changes)
    second = setup.membership_id(second_mentor) if second_mentor is not None else None
    return investments.record_investment(setup.treasurer.id, setup.club_id, project_id,
                                         mentor_id=setup.membership_id(mentor(setup)), second_mentor_id=second,
                                         form_key=key())


def pay(setup, investment, amount: int | None = None, paid_on: date = PAID_ON):
    payment = investments.enter_payment(setup.treasurer.id, setup.club_id, investment.id,
                                        amount=amount or investment.amount, paid_on=paid_on, form_key=key())
    return investments.approve_payment(setup.manager.id, setup.club_id, payment.id)


def paid(setup, **changes) -> Investment:
    investment = recorded(setup, **changes)
    pay(setup, investment)
    return investment


def fresh(investment_id: int) -> Investment:
    db.session.rollback()
    return by_id(Investment, investment_id)


def balance(club_id: int, code: str) -> int:
    """An account's balance; a result account not opened yet (nothing posted to it) holds zero."""
    try:
        return ledger.find_account(club_id, code).balance
    except NotFound:
        return 0


def terms(setup, investment, *, rate=300, periods=3, frequency="quarterly", first=date(2026, 4, 15), user=None):
    return investments.set_loan_terms((user or setup.treasurer).id, setup.club_id, investment.id,
                                      rate_basis_points=rate, term_periods=periods, frequency=frequency,
                                      first_due_on=first)


def repay(setup, investment, principal: int, interest: int = 0, on: date = date(2026, 4, 15), user=None, **kw):
    return investments.record_repayment((user or setup.treasurer).id, setup.club_id, investment.id,
                                        principal=principal, interest=interest, received_on=on,
                                        form_key=kw.pop("form_key", None) or key(), **kw)


def open_sale(setup, investment, **kw) -> Ballot:
    return ballots.open_ballot(setup.manager.id, setup.club_id, kind="stake_sale", method="yes_no",
                               closes_at=utcnow() + timedelta(days=7), subject=Subject(investment_id=investment.id),
                               form_key=key(), **kw)


def agree_sale(setup, investment, *, voters=None) -> Ballot:
    """A stake-sale ballot that every (non-recused) member answers yes, closed early."""
    ballot = open_sale(setup, investment)
    for user in voters if voters is not None else setup.members:
        ballots.vote(user.id, setup.club_id, ballot.id, choices={ballot.options[0].id: tally.YES})
    ballots.close_early(setup.manager.id, setup.club_id, ballot.id)
    return ballot


def sell(setup, investment, stake: int, price: int, on: date = date(2026, 6, 1), **kw):
    return investments.record_sale(setup.treasurer.id, setup.club_id, investment.id, stake_sold_hundredths=stake,
                                   price=price, received_on=on, form_key=key(), **kw)


# --- Loan schedules ------------------------------------------------------------------------------


def test_a_quarterly_schedule_puts_the_remainder_on_the_last_instalment_and_keeps_month_ends(world):
    """1,000.00 over 3 quarters at 2.5 %: principal 333.33, 333.33 and 333.34 (the remainder).
    Interest for a quarter is owed × 2.5 % / 4: 1,000.00 → 6.25; 666.67 → 4.1666… → 4.17;
    333.34 → 2.0833… → 2.08. A first instalment on 30 November falls on 28 February, then 30 May (not 28)."""
    investment = paid(world, amount_requested=100_000)
    terms(world, investment, rate=250, periods=3, frequency="quarterly", first=date(2026, 11, 30))

    assert investments.schedule(fresh(investment.id)) == [(date(2026, 11, 30), 33_333, 625),
                                                          (date(2027, 2, 28), 33_333, 417),
                                                          (date(2027, 5, 30), 33_334, 208)]


def test_a_monthly_schedule_from_31_january_follows_the_month_ends_and_rounds_half_up(world):
    """1,000.00 over 4 months at 5 %: 250.00 of principal each month. Interest is owed × 5 % / 12:
    1,000.00 → 4.1666… → 4.17; 750.00 → 3.125 exactly → 3.13 (half up; half-even would give 3.12);
    500.00 → 2.0833… → 2.08; 250.00 → 1.0416… → 1.04. From 31 January 2028 (a leap year): 29 February,
    31 March, 30 April."""
    investment = paid(world, amount_requested=100_000)
    terms(world, investment, rate=500, periods=4, frequency="monthly", first=date(2028, 1, 31))

    assert investments.schedule(fresh(investment.id)) == [(date(2028, 1, 31), 25_000, 417),
                                                          (date(2028, 2, 29), 25_000, 313),
                                                          (date(2028, 3, 31), 25_000, 208),
                                                          (date(2028, 4, 30), 25_000, 104)]


def test_a_month_end_schedule_in_an_ordinary_year_and_across_the_new_year(world):
    """3,000.00 monthly over 3 months at 0 %, from 31 December 2026: 31 Dec, 31 Jan, 28 Feb; no interest."""
    investment = paid(world)
    terms(world, investment, rate=0, periods=3, frequency="monthly", first=date(2026, 12, 31))

    assert investments.schedule(fresh(investment.id)) == [(date(2026, 12, 31), 100_000, 0),
                                                          (date(2027, 1, 31), 100_000, 0),
                                                          (date(2027, 2, 28), 100_000, 0)]


def test_terms_are_saved_and_can_be_changed_and_an_unscheduled_loan_has_no_schedule(world):
    investment = paid(world)
    assert investments.schedule(investment) == []
    assert not investments.is_late(investment, date(2030, 1, 1))

    terms(world, investment)
    terms(world, investment, rate=450, periods=12, frequency="monthly", first=date(2026, 2, 15))

    saved = fresh(investment.id)
    assert (saved.rate_basis_points, saved.term_periods, saved.frequency, saved.first_due_on) == \
        (450, 12, "monthly", date(2026, 2, 15))
    assert len(investments.schedule(saved)) == 12
    assert sum(principal for _d, principal, _i in investments.schedule(saved)) == 300_000


def test_a_loan_is_late_after_a_due_date_until_enough_principal_came_back(world):
    """300,000 over 3 quarters: 100,000 due on 15 April, 15 July, 15 October 2026."""
    investment = paid(world)
    terms(world, investment)

    assert not investments.is_late(fresh(investment.id), date(2026, 4, 14))
    assert investments.is_late(fresh(investment.id), date(2026, 4, 16))

    repay(world, investment, 50_000, on=date(2026, 4, 15))  # half the first instalment
    assert investments.is_late(fresh(investment.id), date(2026, 4, 16))

    repay(world, investment, 50_000, on=date(2026, 4, 20))  # the first instalment is complete
    assert not investments.is_late(fresh(investment.id), date(2026, 4, 21))
    assert not investments.is_late(fresh(investment.id), date(2026, 7, 14))
    assert investments.is_late(fresh(investment.id), date(2026, 7, 16))

    repay(world, investment, 150_000, on=date(2026, 5, 1))  # ahead of the schedule
    assert not investments.is_late(fresh(investment.id), date(2026, 7, 16))
    assert investments.is_late(fresh(investment.id), date(2026, 10, 16))  # 300,000 due, 250,000 back


def test_a_repaid_loan_is_never_late(world):
    investment = paid(world)
    terms(world, investment)
    repay(world, investment, 300_000)
    assert fresh(investment.id).status == "repaid"
    assert not investments.is_late(fresh(investment.id), date(2030, 1, 1))


@pytest.mark.parametrize("changes, field", [
    (dict(rate=-1), "rate"),
    (dict(rate=5001), "rate"),
    (dict(rate=True), "rate"),
    (dict(rate="3"), "rate"),
    (dict(rate=2.5), "rate"),
    (dict(periods=0), "term_periods"),
    (dict(periods=241), "term_periods"),
    (dict(periods=None), "term_periods"),
    (dict(frequency="weekly"), "frequency"),
    (dict(frequency=None), "frequency"),
    (dict(first="2026-04-15"), "first_due_on"),
    (dict(first=date(1999, 12, 31)), "first_due_on"),
    (dict(first=date(9999, 12, 1)), "first_due_on"),  # issue 15: the investment pages were a 500 for everyone
])
def test_bad_loan_terms_are_refused_next_to_their_field(world, changes, field):
    investment = paid(world)
    refused(lambda: terms(world, investment, **changes), InvalidInput, field=field)


def test_the_widest_terms_allowed_are_accepted(world):
    investment = paid(world)
    terms(world, investment, rate=5000, periods=240, frequency="monthly", first=date(2026, 2, 1))
    assert len(investments.schedule(fresh(investment.id))) == 240


def test_shares_have_no_loan_terms(world):
    shares = paid(world, **SHARES)
    refused(lambda: terms(world, shares), Conflict, field=None)


@pytest.mark.parametrize("who", [secretary, plain, lambda s: s.manager])
def test_only_the_treasurer_records_money_on_an_investment(world, who):
    """The manager too is refused while the charter leaves money to the treasurer."""
    loan = paid(world)
    shares = recorded(world, name="Scierie", **SHARES, amount_requested=100_000)
    pay(world, shares)
    agree_sale(world, shares)
    user = who(world)

    refused(lambda: terms(world, loan, user=user), NotPermitted, rule=None, field=None)
    refused(lambda: repay(world, loan, 1_000, user=user), NotPermitted, rule=None, field=None)
    refused(lambda: investments.record_return(user.id, world.club_id, loan.id, amount=1_000, received_on=TODAY,
                                              form_key=key()), NotPermitted, rule=None, field=None)
    refused(lambda: investments.record_sale(user.id, world.club_id, shares.id, stake_sold_hundredths=1000,
                                            price=10_000, received_on=TODAY, form_key=key()), NotPermitted, rule=None, field=None)
    refused(lambda: investments.write_off(user.id, world.club_id, loan.id, reason="Faillite", on=TODAY,
                                          form_key=key()), NotPermitted, rule=None, field=None)


def test_the_manager_records_money_when_the_charter_says_so(make_club):
    setup = make_world(make_club, manager_records_money=True)
    investment = paid(setup)
    manager = setup.manager

    terms(setup, investment, user=manager)
    repay(setup, investment, 100_000, 2_250, user=manager)
    investments.record_return(manager.id, setup.club_id, investment.id, amount=500, received_on=TODAY,
                              form_key=key())

    assert balance(setup.club_id, f"investment:{investment.project_id}") == 200_000
    assert balance(setup.club_id, "income:returns") == -2_750
    # the secretary still may not
    refused(lambda: repay(setup, investment, 1_000, user=secretary(setup)), NotPermitted, rule=None, field=None)


def test_another_club_cannot_reach_an_investment(world, make_club):
    investment = paid(world)
    other = make_club(5, name="Cigale Voisine")
    refused(lambda: investments.record_repayment(other.treasurer.id, world.club_id, investment.id, principal=1_000,
                                                 interest=0, received_on=TODAY, form_key=key()), NotFound)
    refused(lambda: investments.record_repayment(other.treasurer.id, other.club_id, investment.id, principal=1_000,
                                                 interest=0, received_on=TODAY, form_key=key()), NotFound)
    refused(lambda: investments.add_note(other.manager.id, world.club_id, investment.id, text="Bonjour",
                                         written_on=TODAY), NotFound)


# --- Repayments -----------------------------------------------------------------------------------


def test_a_repayment_posts_principal_and_interest(world):
    """Bank 1,800,000 − 300,000 paid out = 1,500,000; then 1,000.00 of principal and 22.50 of interest come in:
    the bank gains 102,250, the investment's account falls to 200,000, income:returns is credited 2,250."""
    investment = paid(world)
    assert balance(world.club_id, "bank") == 1_500_000

    event = repay(world, investment, 100_000, 2_250, note="Échéance d'avril")

    assert balance(world.club_id, "bank") == 1_602_250
    assert balance(world.club_id, f"investment:{investment.project_id}") == 200_000
    assert balance(world.club_id, "income:returns") == -2_250
    assert (event.kind, event.book, event.income, event.loss, event.cash) == ("repayment", 100_000, 2_250, 0, 102_250)
    assert fresh(investment.id).status == "active"
    assert investments.check() == []


def test_interest_alone_through_the_repayment_form(world):
    investment = paid(world)
    repay(world, investment, 0, 750)
    assert balance(world.club_id, f"investment:{investment.project_id}") == 300_000
    assert balance(world.club_id, "income:returns") == -750


def test_a_loan_repaid_in_full_is_closed_and_takes_no_more_events(world):
    investment = paid(world)
    repay(world, investment, 100_000, on=date(2026, 3, 1))
    repay(world, investment, 200_000, 1_000, on=date(2026, 5, 2))

    closed = fresh(investment.id)
    assert (closed.status, closed.ended_on) == ("repaid", date(2026, 5, 2))
    assert balance(world.club_id, f"investment:{investment.project_id}") == 0

    refused(lambda: repay(world, investment, 0, 100), Conflict, field=None)
    refused(lambda: investments.record_return(world.treasurer.id, world.club_id, investment.id, amount=100,
                                              received_on=TODAY, form_key=key()), Conflict, field=None)
    refused(lambda: terms(world, investment), Conflict, field=None)
    refused(lambda: investments.write_off(world.treasurer.id, world.club_id, investment.id, reason="Rien",
                                          on=TODAY, form_key=key()), Conflict, field=None)


def test_more_principal_than_is_owed_is_refused(world):
    investment = paid(world)
    repay(world, investment, 100_000)
    error = refused(lambda: repay(world, investment, 200_001), InvalidInput, field="principal")
    assert "2" in str(error.message) and "000" in str(error.message)  # says what is still owed: 2,000.00
    repay(world, investment, 200_000)  # exactly what is owed
    assert fresh(investment.id).status == "repaid"


@pytest.mark.parametrize("principal, interest, field", [
    (0, 0, "principal"),
    (-1, 100, "principal"),
    (100, -1, "interest"),
    (True, 0, "principal"),
    ("100", 0, "principal"),
    (1.5, 0, "principal"),
    (10**10 + 1, 0, "principal"),
])
def test_bad_repayment_amounts_are_refused(world, principal, interest, field):
    investment = paid(world)
    refused(lambda: repay(world, investment, principal, interest), InvalidInput, field=field)


@pytest.mark.parametrize("on", [TODAY + timedelta(days=1), date(1999, 12, 31), "2026-04-15", None])
def test_a_repayment_needs_a_past_date(world, on):
    investment = paid(world)
    refused(lambda: repay(world, investment, 1_000, on=on), InvalidInput, field="received_on")


def test_a_repayment_of_today_is_accepted(world):
    investment = paid(world)
    repay(world, investment, 1_000, on=TODAY)
    assert balance(world.club_id, f"investment:{investment.project_id}") == 299_000


def test_shares_are_not_repaid(world):
    shares = paid(world, **SHARES)
    refused(lambda: repay(world, shares, 1_000), Conflict, field=None)


def test_a_replayed_repayment_form_is_refused(world):
    investment = paid(world)
    form_key = key()
    repay(world, investment, 1_000, form_key=form_key)
    refused(lambda: repay(world, investment, 1_000, form_key=form_key), Conflict, field=None)
    assert balance(world.club_id, f"investment:{investment.project_id}") == 299_000


def test_a_repayment_note_too_long_is_refused(world):
    investment = paid(world)
    refused(lambda: repay(world, investment, 1_000, note="x" * 201), InvalidInput, field="note")


def test_nothing_is_repaid_on_an_unknown_investment(world):
    refused(lambda: investments.record_repayment(world.treasurer.id, world.club_id, 999_999, principal=1, interest=0,
                                                 received_on=TODAY, form_key=key()), NotFound)


# --- Returns ------------------------------------------------------------------------------------


def test_dividends_and_interest_post_to_income_returns(world):
    """Dividends of 120.00 on shares and 35.50 of interest on a loan: 155.50 credited to income:returns, the
    bank gains as much, the investments' accounts do not move."""
    shares = paid(world, **SHARES, amount_requested=100_000)
    loan = paid(world, name="Ferme du Vercors")
    bank = balance(world.club_id, "bank")

    dividend = investments.record_return(world.treasurer.id, world.club_id, shares.id, amount=12_000,
                                         received_on=date(2026, 6, 30), note="Dividende 2025", form_key=key())
    investments.record_return(world.treasurer.id, world.club_id, loan.id, amount=3_550, received_on=date(2026, 7, 1),
                              form_key=key())

    assert (dividend.kind, dividend.book, dividend.income, dividend.cash) == ("return", 0, 12_000, 12_000)
    assert balance(world.club_id, "income:returns") == -15_550
    assert balance(world.club_id, "bank") == bank + 15_550
    assert balance(world.club_id, f"investment:{shares.project_id}") == 100_000
    assert balance(world.club_id, f"investment:{loan.project_id}") == 300_000
    assert investments.check() == []


@pytest.mark.parametrize("amount", [0, -5, True, "12", 10**10 + 1])
def test_a_return_needs_an_amount_above_zero(world, amount):
    investment = paid(world)
    refused(lambda: investments.record_return(world.treasurer.id, world.club_id, investment.id, amount=amount,
                                              received_on=TODAY, form_key=key()), InvalidInput, field="amount")


def test_a_return_in_the_future_or_replayed_is_refused(world):
    investment = paid(world)
    refused(lambda: investments.record_return(world.treasurer.id, world.club_id, investment.id, amount=100,
                                              received_on=TODAY + timedelta(days=1), form_key=key()),
            InvalidInput, field="received_on")
    form_key = key()
    investments.record_return(world.treasurer.id, world.club_id, investment.id, amount=100, received_on=TODAY,
                              form_key=form_key)
    refused(lambda: investments.record_return(world.treasurer.id, world.club_id, investment.id, amount=100,
                                              received_on=TODAY, form_key=form_key), Conflict, field=None)


# --- Stake sales (R7) ---------------------------------------------------------------------------


def test_a_sale_without_an_adopted_ballot_is_refused_with_r7(world):
    shares = paid(world, **SHARES)
    refused(lambda: sell(world, shares, 1000, 100_000), RuleViolation, rule="R7", field=None)

    ballot = open_sale(world, shares)  # open, not decided
    refused(lambda: sell(world, shares, 1000, 100_000), RuleViolation, rule="R7", field=None)

    for user in world.members[:-1]:
        ballots.vote(user.id, world.club_id, ballot.id, choices={ballot.options[0].id: tally.YES})
    ballots.vote(world.members[-1].id, world.club_id, ballot.id, choices={ballot.options[0].id: tally.NO})
    ballots.close_early(world.manager.id, world.club_id, ballot.id)
    assert by_id(Ballot, ballot.id).outcome == "rejected"  # one no: not unanimous
    refused(lambda: sell(world, shares, 1000, 100_000), RuleViolation, rule="R7", field=None)


def test_a_stake_sale_ballot_needs_shares_the_club_holds(world):
    loan = paid(world)
    unpaid = recorded(world, name="Scierie", **SHARES, amount_requested=100_000)

    refused(lambda: open_sale(world, loan), Conflict, field=None)
    refused(lambda: open_sale(world, unpaid), Conflict, field=None)
    refused(lambda: ballots.open_ballot(world.manager.id, world.club_id, kind="stake_sale", method="yes_no",
                                        closes_at=utcnow() + timedelta(days=7), subject=Subject(investment_id=None),
                                        form_key=key()), NotFound)
    refused(lambda: open_sale(world, type("Gone", (), {"id": 999_999})()), NotFound)


def test_only_the_manager_opens_a_stake_sale_ballot(world):
    shares = paid(world, **SHARES)
    refused(lambda: ballots.open_ballot(world.treasurer.id, world.club_id, kind="stake_sale", method="yes_no",
                                        closes_at=utcnow() + timedelta(days=7),
                                        subject=Subject(investment_id=shares.id), form_key=key()),
            NotPermitted, rule=None, field=None)


def test_one_stake_sale_ballot_at_a_time_and_none_while_an_agreed_sale_is_unrecorded(world):
    shares = paid(world, **SHARES)
    ballot = open_sale(world, shares)
    assert ballot.threshold == "unanimity"
    refused(lambda: open_sale(world, shares), Conflict, field=None)  # already open

    for user in world.members:
        ballots.vote(user.id, world.club_id, ballot.id, choices={ballot.options[0].id: tally.YES})
    ballots.close_early(world.manager.id, world.club_id, ballot.id)
    refused(lambda: open_sale(world, shares), Conflict, field=None)  # agreed, not recorded yet

    sell(world, shares, 1000, 100_000)
    assert open_sale(world, shares).status == "open"  # the sale is recorded: a new ballot may open


def test_members_linked_to_the_enterprise_are_recused_on_its_sale(world):
    shares = paid(world, **SHARES)
    linked = world.members[5]
    ballots.declare_link(linked.id, world.club_id, shares.project_id, "Frère de la gérante")

    ballot = open_sale(world, shares)
    voters = {v.membership_id: v.recused for v in db.session.scalars(
        select(BallotVoter).where(BallotVoter.ballot_id == ballot.id))}
    assert voters[world.membership_id(linked)] is True
    assert sum(1 for r in voters.values() if not r) == 5
    assert by_id(Ballot, ballot.id).eligible_count == 5

    with pytest.raises(RuleViolation) as caught:
        ballots.vote(linked.id, world.club_id, ballot.id, choices={ballot.options[0].id: tally.YES})
    assert caught.value.rule == "R8"

    for user in world.members[:5]:  # everyone else agrees: unanimity among those who may vote
        ballots.vote(user.id, world.club_id, ballot.id, choices={ballot.options[0].id: tally.YES})
    ballots.close_early(world.manager.id, world.club_id, ballot.id)
    assert by_id(Ballot, ballot.id).outcome == "adopted"
    sell(world, shares, 3000, 300_000)
    assert fresh(shares.id).status == "exited"


def test_one_sale_per_ballot(world):
    shares = paid(world, **SHARES)
    ballot = agree_sale(world, shares)
    first = sell(world, shares, 1000, 100_000)
    assert first.ballot_id == ballot.id
    refused(lambda: sell(world, shares, 1000, 100_000), RuleViolation, rule="R7", field=None)

    again = agree_sale(world, shares)
    second = sell(world, shares, 1000, 100_000)
    assert second.ballot_id == again.id
    assert investments.stake_held(fresh(shares.id)) == 1000


@pytest.mark.parametrize("stake", [0, -100, 3001, True, "1000", None])
def test_selling_more_than_is_held_or_nothing_is_refused(world, stake):
    shares = paid(world, **SHARES)
    agree_sale(world, shares)
    refused(lambda: sell(world, shares, stake, 100_000), InvalidInput, field="stake")


def test_after_a_partial_sale_only_what_is_left_may_be_sold(world):
    shares = paid(world, **SHARES)
    agree_sale(world, shares)
    sell(world, shares, 2000, 200_000)
    agree_sale(world, shares)
    refused(lambda: sell(world, shares, 1001, 100_000), InvalidInput, field="stake")


@pytest.mark.parametrize("price", [-1, True, "100", 10**10 + 1])
def test_a_sale_needs_a_price(world, price):
    shares = paid(world, **SHARES)
    agree_sale(world, shares)
    refused(lambda: sell(world, shares, 1000, price), InvalidInput, field="price")


def test_a_loan_is_not_sold(world):
    loan = paid(world)
    refused(lambda: sell(world, loan, 1000, 100_000), Conflict, field=None)


def test_shares_sold_in_three_steps_leave_the_books_at_their_cost(world):
    """1,000.00 bought 30 % of the enterprise.
    1. 10 % (a third) for 400.00: cost 100,000 × 1000 / 3000 = 33,333.33 → 33,333; gain 6,667.
    2. 6 % of the 20 % left for 150.00: cost 66,667 × 600 / 2000 = 20,000.1 → 20,000; loss 5,000.
    3. the 14 % left for 466.67: cost all that is left, 66,667 − 20,000 = 46,667; price equal: no gain or loss.
    Total cost out: 33,333 + 20,000 + 46,667 = 100,000: the account reaches exactly zero; the shares are exited."""
    shares = paid(world, **SHARES, amount_requested=100_000)
    bank = balance(world.club_id, "bank")
    account = f"investment:{shares.project_id}"

    agree_sale(world, shares)
    first = sell(world, shares, 1000, 40_000, on=date(2026, 3, 1))
    assert (first.book, first.income, first.loss, first.cash) == (33_333, 6_667, 0, 40_000)
    assert balance(world.club_id, account) == 66_667
    assert balance(world.club_id, "income:gains") == -6_667
    assert investments.stake_held(fresh(shares.id)) == 2000

    agree_sale(world, shares)
    second = sell(world, shares, 600, 15_000, on=date(2026, 4, 1))
    assert (second.book, second.income, second.loss, second.cash) == (20_000, 0, 5_000, 15_000)
    assert balance(world.club_id, account) == 46_667
    assert balance(world.club_id, "expense:losses") == 5_000
    assert fresh(shares.id).status == "active"

    agree_sale(world, shares)
    last = sell(world, shares, 1400, 46_667, on=date(2026, 5, 1), note="Rachat par les fondateurs")
    assert (last.book, last.income, last.loss, last.cash) == (46_667, 0, 0, 46_667)
    assert balance(world.club_id, account) == 0
    assert balance(world.club_id, "bank") == bank + 40_000 + 15_000 + 46_667
    exited = fresh(shares.id)
    assert (exited.status, exited.ended_on) == ("exited", date(2026, 5, 1))
    assert investments.stake_held(exited) == 0
    assert investments.shares_held(world.club_id) == []
    assert investments.check() == []
    refused(lambda: open_sale(world, shares), Conflict, field=None)  # nothing left to sell


def test_a_sale_at_a_loss_goes_to_expense_losses(world):
    """All of a 3,000.00 stake sold for 1,200.00: a loss of 1,800.00."""
    shares = paid(world, **SHARES)
    agree_sale(world, shares)
    event = sell(world, shares, 3000, 120_000)
    assert (event.book, event.income, event.loss, event.cash) == (300_000, 0, 180_000, 120_000)
    assert balance(world.club_id, "expense:losses") == 180_000
    assert balance(world.club_id, "income:gains") == 0
    assert fresh(shares.id).status == "exited"


def test_a_sale_for_nothing_loses_the_whole_cost(world):
    shares = paid(world, **SHARES)
    agree_sale(world, shares)
    event = sell(world, shares, 3000, 0)
    assert (event.book, event.loss, event.cash) == (300_000, 300_000, 0)
    assert balance(world.club_id, f"investment:{shares.project_id}") == 0


def test_a_sale_dated_in_the_future_or_replayed_is_refused(world):
    shares = paid(world, **SHARES)
    agree_sale(world, shares)
    refused(lambda: sell(world, shares, 1000, 100_000, on=TODAY + timedelta(days=1)), InvalidInput,
            field="received_on")
    form_key = key()
    investments.record_sale(world.treasurer.id, world.club_id, shares.id, stake_sold_hundredths=1000, price=100_000,
                            received_on=TODAY, form_key=form_key)
    agree_sale(world, shares)
    refused(lambda: investments.record_sale(world.treasurer.id, world.club_id, shares.id, stake_sold_hundredths=1000,
                                            price=100_000, received_on=TODAY, form_key=form_key), Conflict, field=None)


# --- Write-offs ---------------------------------------------------------------------------------


def test_a_write_off_moves_what_is_left_to_losses_and_keeps_the_reason(world):
    """3,000.00 lent, 1,000.00 repaid: the 2,000.00 left is lost."""
    investment = paid(world)
    repay(world, investment, 100_000)
    bank = balance(world.club_id, "bank")

    event = investments.write_off(world.treasurer.id, world.club_id, investment.id, reason="Liquidation judiciaire",
                                  on=date(2026, 9, 1), form_key=key())

    assert (event.kind, event.book, event.loss, event.cash, event.income) == ("write_off", 200_000, 200_000, 0, 0)
    assert balance(world.club_id, f"investment:{investment.project_id}") == 0
    assert balance(world.club_id, "expense:losses") == 200_000
    assert balance(world.club_id, "bank") == bank
    closed = fresh(investment.id)
    assert (closed.status, closed.ended_on, closed.end_reason) == ("written_off", date(2026, 9, 1),
                                                                   "Liquidation judiciaire")
    assert investments.check() == []
    refused(lambda: repay(world, investment, 0, 100), Conflict, field=None)


def test_a_write_off_waits_for_pending_payments(world):
    investment = recorded(world)
    pay(world, investment, 100_000)
    pending = investments.enter_payment(world.treasurer.id, world.club_id, investment.id, amount=50_000,
                                        paid_on=PAID_ON, form_key=key())
    refused(lambda: investments.write_off(world.treasurer.id, world.club_id, investment.id, reason="Faillite",
                                          on=TODAY, form_key=key()), Conflict, field=None)

    investments.cancel_payment(world.manager.id, world.club_id, pending.id, "Entreprise en faillite")
    investments.write_off(world.treasurer.id, world.club_id, investment.id, reason="Faillite", on=TODAY,
                          form_key=key())
    assert balance(world.club_id, "expense:losses") == 100_000


@pytest.mark.parametrize("reason, on, field", [
    ("", TODAY, "reason"),
    ("   ", TODAY, "reason"),
    ("x" * 301, TODAY, "reason"),
    ("Faillite", TODAY + timedelta(days=1), "on"),
    ("Faillite", None, "on"),
])
def test_a_write_off_needs_a_reason_and_a_past_date(world, reason, on, field):
    investment = paid(world)
    refused(lambda: investments.write_off(world.treasurer.id, world.club_id, investment.id, reason=reason, on=on,
                                          form_key=key()), InvalidInput, field=field)


def test_shares_partly_sold_then_written_off_lose_only_what_is_left(world):
    shares = paid(world, **SHARES)
    agree_sale(world, shares)
    sell(world, shares, 1000, 100_000)  # cost 100,000: no gain or loss
    investments.write_off(world.treasurer.id, world.club_id, shares.id, reason="Redressement judiciaire", on=TODAY,
                          form_key=key())
    assert balance(world.club_id, "expense:losses") == 200_000
    assert fresh(shares.id).status == "written_off"


def test_an_investment_with_nothing_paid_out_has_nothing_to_write_off(world):
    investment = recorded(world)
    refused(lambda: investments.write_off(world.treasurer.id, world.club_id, investment.id, reason="Abandon",
                                          on=TODAY, form_key=key()), Conflict, field=None)


# --- Notes --------------------------------------------------------------------------------------


def test_the_mentors_write_dated_notes(world):
    investment = recorded(world, second_mentor=plain(world))
    first = investments.add_note(mentor(world).id, world.club_id, investment.id,
                                 text="Visite du fournil.\r\n\r\nLe four tourne.", written_on=date(2026, 2, 1))
    investments.add_note(plain(world).id, world.club_id, investment.id, text="Bilan reçu.", written_on=TODAY)

    assert first.text == "Visite du fournil.\n\nLe four tourne."
    notes = investments.notes_of(world.members[5].id, world.club_id, investment.id)
    assert [n.text for n in notes] == ["Bilan reçu.", "Visite du fournil.\n\nLe four tourne."]  # newest first
    assert notes[0].author_id == world.membership_id(plain(world))


@pytest.mark.parametrize("who", [lambda s: s.manager, lambda s: s.treasurer, lambda s: s.members[5]])
def test_only_the_mentors_write_notes(world, who):
    investment = recorded(world)
    refused(lambda: investments.add_note(who(world).id, world.club_id, investment.id, text="Bonjour",
                                         written_on=TODAY), NotPermitted, rule=None, field=None)


@pytest.mark.parametrize("text_, on, field", [
    ("", TODAY, "text"),
    ("  \n\t ", TODAY, "text"),
    ("x" * 4001, TODAY, "text"),
    ("bip\x07", TODAY, "text"),
    (None, TODAY, "text"),
    ("Bonjour", TODAY + timedelta(days=1), "written_on"),
    ("Bonjour", date(1999, 1, 1), "written_on"),
])
def test_a_note_needs_text_and_a_past_date(world, text_, on, field):
    investment = recorded(world)
    refused(lambda: investments.add_note(mentor(world).id, world.club_id, investment.id, text=text_, written_on=on),
            InvalidInput, field=field)


def test_a_note_of_4000_characters_is_accepted(world):
    investment = recorded(world)
    note = investments.add_note(mentor(world).id, world.club_id, investment.id, text="x" * 4000, written_on=TODAY)
    assert len(note.text) == 4000


# --- R5: a club past its term follows up its investments ---------------------------------------


def past_term(setup) -> None:
    """The term ended yesterday: what members approved today came after it, and is not paid out (R5). (An
    investment approved before the term is: tests/services/test_lapse.py.)"""
    db.session.execute(text("UPDATE club SET status = 'in_management', term_ends_on = :end WHERE id = :id"),
                       {"id": setup.club_id, "end": date.today() - timedelta(days=1)})
    db.session.commit()


def test_past_its_term_a_club_pays_nothing_out_but_follows_up(world):
    loan = recorded(world)
    pay(world, loan, 200_000)
    other = paid(world, name="Ferme du Vercors", amount_requested=50_000)
    shares = paid(world, name="Scierie", **SHARES, amount_requested=100_000)
    past_term(world)

    error = refused(lambda: investments.enter_payment(world.treasurer.id, world.club_id, loan.id, amount=1_000,
                                                      paid_on=TODAY, form_key=key()), RuleViolation, rule="R5", field=None)
    assert error.field is None

    terms(world, loan, first=date(2026, 4, 15))
    repay(world, loan, 50_000, 1_500)
    investments.record_return(world.treasurer.id, world.club_id, shares.id, amount=2_000, received_on=TODAY,
                              form_key=key())
    investments.write_off(world.treasurer.id, world.club_id, other.id, reason="Cessation d'activité", on=TODAY,
                          form_key=key())
    agree_sale(world, shares)  # exits are follow-up too
    sell(world, shares, 3000, 120_000)

    assert balance(world.club_id, f"investment:{loan.project_id}") == 150_000
    assert balance(world.club_id, "income:returns") == -3_500
    assert balance(world.club_id, "income:gains") == -20_000
    assert balance(world.club_id, "expense:losses") == 50_000
    assert (fresh(other.id).status, fresh(shares.id).status) == ("written_off", "exited")
    assert investments.check() == []


def test_past_its_term_a_pending_payment_is_not_approved(world):
    loan = recorded(world)
    pending = investments.enter_payment(world.treasurer.id, world.club_id, loan.id, amount=100_000, paid_on=PAID_ON,
                                        form_key=key())
    past_term(world)
    refused(lambda: investments.approve_payment(world.manager.id, world.club_id, pending.id), RuleViolation,
            rule="R5", field=None)


# --- The portfolio against the ledger (invariant 9) -------------------------------------------


def mixed_portfolio(setup):
    """A loan partly repaid with interest and some interest alone; shares with a dividend, a sale of a third at a
    gain, then part of the rest at a loss; a loan written off; a project waiting for its payment's approval."""
    loan = paid(setup)  # 300,000
    terms(setup, loan)  # 100,000 due on 15 April, 15 July, 15 October 2026
    repay(setup, loan, 100_000, 2_250)
    investments.record_return(setup.treasurer.id, setup.club_id, loan.id, amount=500, received_on=TODAY,
                              form_key=key())
    shares = paid(setup, name="Scierie", **SHARES, amount_requested=100_000)  # 30 %
    investments.record_return(setup.treasurer.id, setup.club_id, shares.id, amount=1_000, received_on=TODAY,
                              form_key=key())
    agree_sale(setup, shares)
    sell(setup, shares, 1000, 40_000)  # a third: cost 33,333.33 → 33,333; gain 6,667
    agree_sale(setup, shares)
    sell(setup, shares, 600, 12_000)  # cost 66,667 × 600 / 2000 = 20,000.1 → 20,000; loss 8,000
    lost = paid(setup, name="Ferme du Vercors", amount_requested=50_000)
    investments.write_off(setup.treasurer.id, setup.club_id, lost.id, reason="Faillite", on=TODAY, form_key=key())
    waiting = recorded(setup, name="Épicerie", amount_requested=20_000)
    investments.enter_payment(setup.treasurer.id, setup.club_id, waiting.id, amount=20_000, paid_on=TODAY,
                              form_key=key())
    return loan, shares, lost, waiting


def test_the_portfolio_reconciles_with_the_ledger(world):
    loan, shares, lost, waiting = mixed_portfolio(world)
    cid = world.club_id
    portfolio = investments.portfolio(world.manager.id, cid, today=date(2026, 11, 1))
    lines = {line.investment.id: line for line in portfolio.lines}
    assert set(lines) == {loan.id, shares.id, lost.id, waiting.id}

    for line in portfolio.lines:
        assert line.outstanding == balance(cid, f"investment:{line.investment.project_id}")

    def figures(investment):
        line = lines[investment.id]
        return line.paid_out, line.pending, line.income, line.losses, line.outstanding

    assert figures(loan) == (300_000, 0, 2_750, 0, 200_000)
    assert lines[loan.id].returned == 100_000
    assert lines[loan.id].late  # 15 July's instalment is due and only 100,000 came back
    assert figures(shares) == (100_000, 0, 7_667, 8_000, 46_667)
    assert lines[shares.id].returned == 53_333
    assert lines[shares.id].result == -333
    assert figures(lost) == (50_000, 0, 0, 50_000, 0)
    assert figures(waiting) == (0, 20_000, 0, 0, 0)

    income = portfolio.total("income")
    assert income == 2_250 + 500 + 1_000 + 6_667
    assert income == -(balance(cid, "income:returns") + balance(cid, "income:gains"))
    assert portfolio.total("losses") == balance(cid, "expense:losses") == 58_000
    assert portfolio.total("outstanding") == 246_667
    assert portfolio.total("paid_out") == 450_000
    assert portfolio.total("pending") == 20_000
    assert investments.check() == []
    assert ledger.check() == []


def test_the_chart_adds_up_money_out_and_back_month_by_month(world):
    """January: 300,000 out. April: 102,250 back. June: 1,500 of interest alone."""
    loan = paid(world)
    repay(world, loan, 100_000, 2_250, on=date(2026, 4, 15))
    investments.record_return(world.treasurer.id, world.club_id, loan.id, amount=1_500, received_on=date(2026, 6, 3),
                              form_key=key())
    chart = investments.portfolio(world.manager.id, world.club_id).chart
    assert chart == [(date(2026, 1, 1), 300_000, 0), (date(2026, 4, 1), 300_000, 102_250),
                     (date(2026, 6, 1), 300_000, 103_750)]


def test_a_written_off_loan_shows_nothing_repaid(world):
    loan = paid(world)
    repay(world, loan, 100_000)
    investments.write_off(world.treasurer.id, world.club_id, loan.id, reason="Faillite", on=TODAY, form_key=key())
    (line,) = investments.portfolio(world.manager.id, world.club_id).lines
    assert (line.paid_out, line.returned, line.losses, line.outstanding) == (300_000, 100_000, 200_000, 0)


def run(app, *args):
    db.session.remove()  # the command sees what is committed, as from a shell
    return app.test_cli_runner().invoke(args=["coop", *args])


def test_the_check_finds_an_event_whose_book_was_tampered_with(app, world):
    loan_id, shares_id = (i.id for i in mixed_portfolio(world)[:2])
    assert investments.check() == []
    assert run(app, "check").exit_code == 0

    event_id = db.session.scalar(select(InvestmentEvent.id).where(InvestmentEvent.investment_id == shares_id,
                                                                  InvestmentEvent.kind == "sale").limit(1))
    # book and cash together, so that the row stays balanced (cash + loss = book + income)
    db.session.execute(text("UPDATE investment_event SET book = book + 1, cash = cash + 1 WHERE id = :id"),
                       {"id": event_id})
    db.session.commit()

    found = investments.check()
    assert [(v.invariant, v.club_id) for v in found] == [(9, world.club_id)]
    assert f"investment {shares_id}:" in str(found[0])
    assert "46667" in str(found[0]) and "46666" in str(found[0])  # holds 46,667; the events make 46,666
    result = run(app, "check")
    assert result.exit_code == 1
    assert f"invariant 9 (club {world.club_id}): investment {shares_id}:" in result.stderr
    assert f"investment {loan_id}:" not in result.stderr
