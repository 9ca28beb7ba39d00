"""Revaluing an investment (coop/services/valuation.py): one officer who keeps the money enters a new value, a
second officer approves it (R11, neither recused: R8), and one ``revaluation`` transaction moves the investment's
account against its revaluation reserve. When the investment leaves the books (a sale, a repayment, a write-off),
the part of the reserve that goes with it leaves too, so the gains and losses over its life are what came back
less what was paid, as a treasurer computes them from the cost. Every refusal writes nothing. On both databases.

The club is test_investment_follow_up's: six members, 300,000 cents each in the fund and the bank (1,800,000;
one project may take 25 %, 450,000); payments go out on 15 January 2026, entered by the treasurer and approved
by the manager."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from coop import labels
from coop.extensions import db
from coop.models import AuditEntry, InvestmentEvent, JournalTransaction, Posting, Revaluation
from coop.services import ballots, books, fund, investments, ledger, valuation, yearend
from coop.services.errors import Conflict, InvalidInput, NotFound, NotPermitted, RuleViolation
from tests.conftest import at_once, by_id, key, refused, row_counts
from tests.services.test_investment_follow_up import (
    PAID_ON,
    SHARES,
    agree_sale,
    balance,
    fresh,
    make_world,
    paid,
    pay,
    recorded,
    repay,
    sell,
    terms,
)

TODAY = date.today()
VALUED_ON = date(2026, 6, 30)
REASON = "Bilan 2025 : chiffre d'affaires en hausse de 40 %"


@pytest.fixture
def world(make_club):
    return make_world(make_club)


def enter(setup, investment, new_value: int, on: date = VALUED_ON, *, user=None, reason: str = REASON,
          form_key: str | None = None, today: date | None = None):
    return valuation.enter_revaluation((user or setup.treasurer).id, setup.club_id, investment.id,
                                       new_value=new_value, valued_on=on, reason=reason, form_key=form_key or key(),
                                       today=today)


def approve(setup, revaluation, user=None):
    return valuation.approve_revaluation((user or setup.manager).id, setup.club_id, revaluation.id)


def revalue(setup, investment, new_value: int, on: date = VALUED_ON):
    return approve(setup, enter(setup, investment, new_value, on))


def reserve(setup, investment) -> int:
    return balance(setup.club_id, f"revaluation:{investment.project_id}")


def value(setup, investment) -> int:
    return balance(setup.club_id, f"investment:{investment.project_id}")


def clean() -> None:
    db.session.rollback()
    assert investments.check() == []
    assert ledger.check() == []


# --- Entering and approving ------------------------------------------------------------------------------


def test_a_revaluation_waits_for_a_second_officer_then_posts_once_against_the_reserve(world):
    """A loan of 3,000.00 valued at 3,600.00 on 30 June: nothing moves until the manager approves; then one
    transaction moves the investment's account up 600.00 and credits its reserve as much; the result does not
    move; the cost stays 3,000.00."""
    loan = paid(world)
    transactions = row_counts(JournalTransaction)

    entered = enter(world, loan, 360_000)

    assert (entered.status, entered.value_before, entered.new_value, entered.valued_on) == \
        ("pending", 300_000, 360_000, VALUED_ON)
    assert entered.entered_by_id == world.membership_id(world.treasurer)
    assert row_counts(JournalTransaction) == transactions
    assert value(world, loan) == 300_000
    assert [r.id for r in valuation.revaluations_waiting(world.manager.id, world.club_id)] == [entered.id]

    done = approve(world, entered)

    assert (done.status, done.approved_by_id) == ("approved", world.membership_id(world.manager))
    assert value(world, loan) == 360_000
    assert reserve(world, loan) == -60_000
    posted = by_id(JournalTransaction, done.transaction_id)
    assert (posted.kind, posted.occurred_on, posted.idempotency_key) == ("revaluation", VALUED_ON,
                                                                         f"revaluation:{done.id}")
    assert sorted(p.amount for p in posted.postings) == [-60_000, 60_000]
    assert balance(world.club_id, "income:gains") == 0 and balance(world.club_id, "expense:losses") == 0
    (line,) = investments.portfolio(world.members[5].id, world.club_id).lines
    assert (line.cost, line.outstanding, line.revalued) == (300_000, 360_000, 60_000)
    assert valuation.revaluations_waiting(world.manager.id, world.club_id) == []
    reserve_account = ledger.find_account(world.club_id, f"revaluation:{loan.project_id}")
    assert (reserve_account.type, reserve_account.name) == ("equity", "Écart de réévaluation — Fournil de Die")
    with force_locale("en"):
        assert labels.account_name(reserve_account) == "Revaluation reserve — Fournil de Die"
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.club_id == world.club_id,
                                                                 AuditEntry.action.like("revaluation.%"))).all()
    assert sorted(actions) == ["revaluation.approve", "revaluation.enter"]
    clean()


def test_the_fund_counts_the_value_recorded_but_the_caps_count_what_was_paid(world):
    """2,000.00 of a 3,000.00 loan paid, then valued at 4,000.00: the fund's invested figure says 4,000.00, the
    cash available does not move, and the last 1,000.00 the members approved may still be paid out (R10 counts
    what was paid, not the value)."""
    loan = recorded(world)
    pay(world, loan, 200_000)
    cash = fund.available_cash(world.club_id)
    revalue(world, loan, 400_000)

    assert fund.invested_amount(world.club_id) == 400_000
    assert fund.available_cash(world.club_id) == cash
    assert fund.position(world.manager.id, world.club_id).invested == 400_000
    pay(world, loan, 100_000)
    assert (value(world, loan), investments.at_cost(fresh(loan.id))) == (500_000, 300_000)
    refused(lambda: investments.enter_payment(world.treasurer.id, world.club_id, loan.id, amount=1, paid_on=PAID_ON,
                                              form_key=key()), RuleViolation, rule="R10")
    clean()


def test_a_second_revaluation_starts_from_the_value_the_first_recorded(world):
    """Up to 3,600.00, then down to 2,500.00 (an impairment): the reserve holds the net −500.00."""
    loan = paid(world)
    revalue(world, loan, 360_000)
    second = enter(world, loan, 250_000, date(2026, 9, 30))
    assert second.value_before == 360_000
    approve(world, second, user=world.members[2])  # the secretary is an officer: they may approve

    assert (value(world, loan), reserve(world, loan)) == (250_000, 50_000)
    assert [r.new_value for r in valuation.revaluations_of(world.members[5].id, world.club_id, loan.id)] == \
        [360_000, 250_000]
    clean()


def test_the_manager_enters_a_revaluation_when_the_charter_lets_them_record_money(make_club):
    setup = make_world(make_club, manager_records_money=True)
    loan = paid(setup)
    entered = enter(setup, loan, 310_000, user=setup.manager)
    approve(setup, entered, user=setup.treasurer)
    assert value(setup, loan) == 310_000


def test_a_replayed_form_enters_the_revaluation_once(world):
    loan = paid(world)
    form_key = key()
    first = enter(world, loan, 360_000, form_key=form_key)
    again = enter(world, loan, 360_000, form_key=form_key)

    assert again.id == first.id
    assert row_counts(Revaluation) == (1,)
    # The same key for other figures is not the same form.
    refused(lambda: enter(world, loan, 370_000, form_key=form_key), Conflict, field=None)


def test_two_officers_approving_at_once_post_once(app, world):
    loan = paid(world)
    entered_id = enter(world, loan, 360_000).id
    club_id, manager, secretary = world.club_id, world.manager.id, world.members[2].id
    db.session.commit()

    outcomes = at_once(app, lambda: valuation.approve_revaluation(manager, club_id, entered_id),
                       lambda: valuation.approve_revaluation(secretary, club_id, entered_id))

    assert outcomes == ["Conflict", "done"]
    assert value(world, loan) == 360_000
    assert db.session.scalar(select(db.func.count()).select_from(JournalTransaction).where(
        JournalTransaction.kind == "revaluation")) == 1
    clean()


# --- Refusals on entry ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [lambda s: s.members[2], lambda s: s.members[5], lambda s: s.manager])
def test_only_an_officer_who_keeps_the_money_enters_a_revaluation(world, who):
    """The secretary, a plain member, and the manager while the charter leaves money to the treasurer."""
    loan = paid(world)
    refused(lambda: enter(world, loan, 360_000, user=who(world)), NotPermitted, rule=None, field=None)


def test_a_closed_investment_is_not_revalued(world):
    loan = paid(world)
    repay(world, loan, 300_000)
    assert fresh(loan.id).status == "repaid"
    refused(lambda: enter(world, loan, 100_000), Conflict, field=None)


def test_an_investment_never_paid_out_is_not_revalued(world):
    unpaid = recorded(world)
    investments.enter_payment(world.treasurer.id, world.club_id, unpaid.id, amount=100_000, paid_on=PAID_ON,
                              form_key=key())  # entered, not approved: still nothing paid
    refused(lambda: enter(world, unpaid, 100_000), Conflict, field=None)


def test_one_revaluation_waits_at_a_time_on_an_investment(world):
    loan = paid(world)
    waiting = enter(world, loan, 360_000)
    refused(lambda: enter(world, loan, 370_000), Conflict, field=None)
    valuation.cancel_revaluation(world.manager.id, world.club_id, waiting.id, "Chiffres non audités")
    assert enter(world, loan, 370_000).status == "pending"


def test_an_officer_linked_to_the_project_enters_no_revaluation(world):
    loan = paid(world)
    ballots.declare_link(world.treasurer.id, world.club_id, loan.project_id, "Cousin du gérant")
    refused(lambda: enter(world, loan, 360_000), RuleViolation, rule="R8", field=None)


@pytest.mark.parametrize("new_value", [300_000, -1, True, "360000", 3600.5, None, 10**10 + 1])
def test_a_new_value_must_be_whole_cents_in_range_and_differ_from_the_value_recorded(world, new_value):
    loan = paid(world)
    refused(lambda: enter(world, loan, new_value), InvalidInput, field="new_value")


def test_the_highest_value_and_zero_are_accepted(world):
    loan = paid(world)
    assert enter(world, loan, 10**10).new_value == 10**10
    other = paid(world, name="Ferme du Vercors", amount_requested=50_000)
    assert enter(world, other, 0).new_value == 0


@pytest.mark.parametrize("on", [TODAY + timedelta(days=1), PAID_ON - timedelta(days=1), date(1999, 12, 31),
                                "2026-06-30", None])
def test_a_new_value_is_dated_between_the_first_payment_and_today(world, on):
    loan = paid(world)
    refused(lambda: enter(world, loan, 360_000, on, today=TODAY), InvalidInput, field="valued_on")


def test_a_new_value_is_not_dated_before_the_last_entry_on_the_investment(world):
    """Repaid 1,000.00 on 15 April: the value recorded dates from then."""
    loan = paid(world)
    repay(world, loan, 100_000, on=date(2026, 4, 15))
    refused(lambda: enter(world, loan, 150_000, date(2026, 4, 14)), InvalidInput, field="valued_on")
    assert enter(world, loan, 150_000, date(2026, 4, 15)).value_before == 200_000


def test_a_new_value_is_not_dated_in_a_closed_period(world):
    loan = paid(world)
    books.close_period(world.treasurer.id, world.club_id, through=date(2026, 5, 31))
    refused(lambda: enter(world, loan, 360_000, date(2026, 5, 31)), RuleViolation, rule="period", field="valued_on")
    assert enter(world, loan, 360_000, date(2026, 6, 1)).status == "pending"


@pytest.mark.parametrize("reason", ["", "   ", "x" * 301, "bip\x07", None])
def test_a_revaluation_says_why(world, reason):
    loan = paid(world)
    refused(lambda: enter(world, loan, 360_000, reason=reason), InvalidInput, field="reason")


def test_a_replayed_form_key_must_be_a_form_key(world):
    loan = paid(world)
    refused(lambda: enter(world, loan, 360_000, form_key="replayed-key"), InvalidInput)


def test_another_clubs_investment_is_not_found(world, make_club):
    loan = paid(world)
    other = make_club(5, name="Cigale Voisine")
    refused(lambda: enter(other, loan, 360_000), NotFound)  # their treasurer, their club: not their investment
    refused(lambda: valuation.enter_revaluation(other.treasurer.id, world.club_id, loan.id, new_value=1,
                                                valued_on=VALUED_ON, reason=REASON, form_key=key()), NotFound)
    refused(lambda: valuation.enter_revaluation(world.treasurer.id, world.club_id, 2**31, new_value=1,
                                                valued_on=VALUED_ON, reason=REASON, form_key=key()), NotFound)


# --- Refusals on approval, and cancelling -------------------------------------------------------------------


def test_the_officer_who_entered_a_revaluation_does_not_approve_it(world):
    loan = paid(world)
    entered = enter(world, loan, 360_000)
    refused(lambda: approve(world, entered, user=world.treasurer), RuleViolation, rule="R11", field=None)
    refused(lambda: approve(world, entered, user=world.members[5]), NotPermitted, rule=None, field=None)


def test_the_database_refuses_one_person_entering_and_approving(world):
    loan = paid(world)
    entered = enter(world, loan, 360_000)
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE revaluation SET approved_by_id = entered_by_id WHERE id = :id"),
                           {"id": entered.id})
        db.session.flush()
    db.session.rollback()


def test_a_recused_officer_does_not_approve_and_a_revaluation_entered_by_one_is_not_approved(world):
    loan = paid(world)
    entered = enter(world, loan, 360_000)
    ballots.declare_link(world.manager.id, world.club_id, loan.project_id, "Associée de l'entreprise")
    refused(lambda: approve(world, entered), RuleViolation, rule="R8", field=None)

    ballots.declare_link(world.treasurer.id, world.club_id, loan.project_id, "Prête-nom")
    refused(lambda: approve(world, entered, user=world.members[2]), RuleViolation, rule="R8", field=None)


def test_a_revaluation_is_not_approved_once_the_value_recorded_has_moved(world):
    """Entered at 3,000.00; 1,000.00 repaid since: enter it again."""
    loan = paid(world)
    entered = enter(world, loan, 360_000)
    repay(world, loan, 100_000, on=VALUED_ON)
    refused(lambda: approve(world, entered), Conflict, field=None)
    valuation.cancel_revaluation(world.manager.id, world.club_id, entered.id, "La valeur a changé")
    approve(world, enter(world, loan, 260_000))
    assert (value(world, loan), reserve(world, loan)) == (260_000, -60_000)
    clean()


def test_a_revaluation_of_an_investment_closed_since_is_not_approved(world):
    loan = paid(world)
    entered = enter(world, loan, 100_000)
    investments.write_off(world.treasurer.id, world.club_id, loan.id, reason="Liquidation", on=VALUED_ON,
                          form_key=key())
    refused(lambda: approve(world, entered), Conflict, field=None)


def test_a_revaluation_is_not_approved_into_a_period_closed_since(world):
    loan = paid(world)
    entered = enter(world, loan, 360_000, date(2026, 6, 30))
    books.close_period(world.treasurer.id, world.club_id, through=date(2026, 6, 30))
    refused(lambda: approve(world, entered), RuleViolation, rule="period")


def test_approved_or_cancelled_is_final(world):
    loan = paid(world)
    done = revalue(world, loan, 360_000)
    refused(lambda: approve(world, done, user=world.members[2]), Conflict, field=None)
    refused(lambda: valuation.cancel_revaluation(world.manager.id, world.club_id, done.id, "Trop tard"), Conflict,
            field=None)

    cancelled = enter(world, loan, 400_000, date(2026, 7, 1))
    valuation.cancel_revaluation(world.members[2].id, world.club_id, cancelled.id, "Offre de rachat retirée")
    assert (fresh_revaluation(cancelled.id).status, fresh_revaluation(cancelled.id).cancel_reason) == \
        ("cancelled", "Offre de rachat retirée")
    refused(lambda: approve(world, cancelled), Conflict, field=None)
    refused(lambda: valuation.cancel_revaluation(world.manager.id, world.club_id, cancelled.id, "Encore"), Conflict,
            field=None)
    assert value(world, loan) == 360_000


def fresh_revaluation(revaluation_id: int) -> Revaluation:
    db.session.rollback()
    return by_id(Revaluation, revaluation_id)


def test_cancelling_needs_an_officer_and_a_reason(world):
    loan = paid(world)
    entered = enter(world, loan, 360_000)
    refused(lambda: valuation.cancel_revaluation(world.members[5].id, world.club_id, entered.id, "Non"), NotPermitted)
    refused(lambda: valuation.cancel_revaluation(world.manager.id, world.club_id, entered.id, " "), InvalidInput,
            field="reason")


def test_unknown_or_other_clubs_revaluations_are_not_found(world, make_club):
    loan = paid(world)
    entered = enter(world, loan, 360_000)
    other = make_club(5, name="Cigale Voisine")
    for revaluation_id in (entered.id, 0, -3, 2**31, "1"):
        refused(lambda rid=revaluation_id: valuation.approve_revaluation(other.manager.id, other.club_id, rid),
                NotFound)
    refused(lambda: valuation.approve_revaluation(world.manager.id, world.club_id, 999_999), NotFound)
    refused(lambda: valuation.cancel_revaluation(other.manager.id, other.club_id, entered.id, "Non"), NotFound)


def test_the_waiting_list_is_for_officers_and_the_history_for_every_member(world, make_club):
    loan = paid(world)
    revalue(world, loan, 360_000)
    waiting = enter(world, loan, 380_000, date(2026, 7, 31))

    assert valuation.revaluations_waiting(world.members[5].id, world.club_id) == []
    assert [r.id for r in valuation.revaluations_waiting(world.members[2].id, world.club_id)] == [waiting.id]
    history = valuation.revaluations_of(world.members[5].id, world.club_id, loan.id)
    assert [(r.status, r.new_value) for r in history] == [("approved", 360_000), ("pending", 380_000)]
    other = make_club(5, name="Cigale Voisine")
    with pytest.raises(NotFound):
        valuation.revaluations_of(other.manager.id, world.club_id, loan.id)


# --- When the investment leaves the books: the reserve goes with it -------------------------------------------


def test_revalued_shares_half_sold_then_written_off_give_the_gains_and_losses_of_their_cost(make_club):
    """The treasurer's hand figures. Shares cost 10,000.00 (30 % of the enterprise), revalued to 15,000.00 on
    30 June: the reserve holds 5,000.00. Half the stake is sold for 9,000.00 on 1 September: half the cost,
    5,000.00, leaves the books; the gain is 9,000.00 − 5,000.00 = 4,000.00, of which 2,500.00 was the reserve's
    half. The rest is written off on 1 November: the other 5,000.00 of cost is lost, and the reserve's other
    2,500.00 goes with it. income:gains 4,000.00 and expense:losses 5,000.00: the result over the shares' life is
    9,000.00 received less 10,000.00 paid, as if they had never been revalued."""
    setup = make_world(make_club, project_cap_percent=60)  # 60 % of 18,000.00 allows a 10,000.00 project
    shares = recorded(setup, **SHARES, amount_requested=1_000_000)
    pay(setup, shares)
    revalue(setup, shares, 1_500_000)
    assert (value(setup, shares), reserve(setup, shares)) == (1_500_000, -500_000)

    agree_sale(setup, shares)
    sale = sell(setup, shares, 1500, 900_000, on=date(2026, 9, 1))
    assert (sale.book, sale.revalued, sale.income, sale.loss, sale.cash) == (500_000, 250_000, 400_000, 0, 900_000)
    assert (value(setup, shares), reserve(setup, shares)) == (750_000, -250_000)
    assert balance(setup.club_id, "income:gains") == -400_000

    lost = investments.write_off(setup.treasurer.id, setup.club_id, shares.id, reason="Liquidation judiciaire",
                                 on=date(2026, 11, 1), form_key=key())
    assert (lost.book, lost.revalued, lost.loss) == (500_000, 250_000, 500_000)
    assert (value(setup, shares), reserve(setup, shares)) == (0, 0)
    assert balance(setup.club_id, "income:gains") == -400_000
    assert balance(setup.club_id, "expense:losses") == 500_000
    (line,) = investments.portfolio(setup.manager.id, setup.club_id).lines
    assert (line.paid_out, line.returned, line.income, line.losses, line.result, line.cost, line.outstanding) == \
        (1_000_000, 500_000, 400_000, 500_000, -100_000, 0, 0)
    assert fresh(shares.id).status == "written_off"
    clean()


def test_a_revaluation_down_then_a_sale_of_everything_loses_against_the_cost(world):
    """Shares cost 3,000.00, written down to 1,000.00, all sold for 1,200.00: a loss of 1,800.00 against the cost
    (not a gain of 200.00 against the value); the reserve's −2,000.00 goes."""
    shares = paid(world, **SHARES)
    revalue(world, shares, 100_000)
    agree_sale(world, shares)
    event = sell(world, shares, 3000, 120_000)
    assert (event.book, event.revalued, event.income, event.loss) == (300_000, -200_000, 0, 180_000)
    assert (value(world, shares), reserve(world, shares)) == (0, 0)
    assert (balance(world.club_id, "expense:losses"), balance(world.club_id, "income:gains")) == (180_000, 0)
    assert fresh(shares.id).status == "exited"
    clean()


def test_shares_revalued_then_sold_in_three_steps_take_the_reserve_out_pro_rata_and_the_last_takes_the_rest(world):
    """1,000.00 bought 30 %, revalued to 1,300.01 (reserve 300.01). Each sale takes its share of the cost and of
    the value recorded (rounded down); the difference is the reserve's part:
    1. 10 % of 30 % for 400.00: cost 33,333, value 130,001 × 1000 / 3000 = 43,333.67 → 43,333; reserve 10,000;
       gain 6,667. Left: cost 66,667, value 86,668, reserve 20,001.
    2. 6 % of 20 % for 150.00: cost 20,000 (20,000.1), value 86,668 × 600 / 2000 = 26,000.4 → 26,000; reserve
       6,000; loss 5,000. Left: cost 46,667, value 60,668, reserve 14,001.
    3. the 14 % left for 466.67: cost 46,667, value 60,668, reserve 14,001: no gain or loss.
    The gains and losses are those of the same sales without the revaluation (test_investment_follow_up)."""
    shares = paid(world, **SHARES, amount_requested=100_000)
    revalue(world, shares, 130_001)

    agree_sale(world, shares)
    first = sell(world, shares, 1000, 40_000, on=date(2026, 7, 1))
    assert (first.book, first.revalued, first.income, first.loss) == (33_333, 10_000, 6_667, 0)
    assert (value(world, shares), reserve(world, shares)) == (86_668, -20_001)

    agree_sale(world, shares)
    second = sell(world, shares, 600, 15_000, on=date(2026, 8, 1))
    assert (second.book, second.revalued, second.income, second.loss) == (20_000, 6_000, 0, 5_000)
    assert (value(world, shares), reserve(world, shares)) == (60_668, -14_001)

    agree_sale(world, shares)
    last = sell(world, shares, 1400, 46_667, on=date(2026, 9, 1))
    assert (last.book, last.revalued, last.income, last.loss) == (46_667, 14_001, 0, 0)
    assert (value(world, shares), reserve(world, shares)) == (0, 0)
    assert (balance(world.club_id, "income:gains"), balance(world.club_id, "expense:losses")) == (-6_667, 5_000)
    assert fresh(shares.id).status == "exited"
    clean()


def test_a_loan_written_down_is_still_repaid_at_cost_and_its_reserve_goes_with_the_principal(world):
    """A loan of 3,000.00 written down to 2,400.00 (reserve −600.00). 1,000.00 of principal comes back with 22.50
    of interest: a third of what is owed, so a third of the value (800.00) leaves the account and a third of the
    reserve (−200.00) goes; no gain or loss, only the interest. 2,000.00 is still owed though the value is
    1,600.00: 2,000.01 is refused, 2,000.00 repays the loan and empties the reserve."""
    loan = paid(world)
    terms(world, loan)
    revalue(world, loan, 240_000)

    event = repay(world, loan, 100_000, 2_250, on=date(2026, 7, 15))
    assert (event.book, event.revalued, event.income, event.cash) == (100_000, -20_000, 2_250, 102_250)
    assert (value(world, loan), reserve(world, loan)) == (160_000, 40_000)
    assert investments.at_cost(fresh(loan.id)) == 200_000
    assert not investments.is_late(fresh(loan.id), date(2026, 5, 1))  # the schedule is counted at cost

    refused(lambda: repay(world, loan, 200_001, on=date(2026, 8, 1)), InvalidInput, field="principal")
    repay(world, loan, 200_000, on=date(2026, 8, 1))
    assert (value(world, loan), reserve(world, loan)) == (0, 0)
    assert fresh(loan.id).status == "repaid"
    assert balance(world.club_id, "expense:losses") == 0 and balance(world.club_id, "income:gains") == 0
    assert balance(world.club_id, "income:returns") == -2_250
    clean()


def test_a_loan_written_down_to_nothing_is_repaid_and_written_off_at_cost(world):
    """Valued at zero: a repayment of 1,000.00 moves nothing out of the account (it holds nothing) and takes
    −1,000.00 of the reserve; the write-off of the 2,000.00 left loses 2,000.00, not nothing."""
    loan = paid(world)
    revalue(world, loan, 0)
    event = repay(world, loan, 100_000, on=date(2026, 7, 15))
    assert (event.book, event.revalued) == (100_000, -100_000)
    assert (value(world, loan), reserve(world, loan)) == (0, 200_000)
    assert fresh(loan.id).status == "active"  # 2,000.00 is still owed

    lost = investments.write_off(world.treasurer.id, world.club_id, loan.id, reason="Faillite",
                                 on=date(2026, 8, 1), form_key=key())
    assert (lost.book, lost.revalued, lost.loss) == (200_000, -200_000, 200_000)
    assert (value(world, loan), reserve(world, loan), balance(world.club_id, "expense:losses")) == (0, 0, 200_000)
    clean()


def test_the_yearly_statement_counts_a_realised_revaluation_as_the_gain_or_loss_it_is(make_club):
    """2025: six members pay 3,000.00 on 1 January; shares cost 3,000.00 on 1 February, revalued to 4,500.00 on
    30 June, half sold for 2,700.00 on 1 September (a gain of 1,200.00 on the half's cost of 1,500.00), the rest
    written off on 1 November (1,500.00 lost). The statement's lines are those of the cost; nothing is left
    unexplained; closing the year shares −300.00."""
    setup = make_club(6, secretary=True)
    for user in setup.members:
        fund.record_contribution(setup.treasurer.id, setup.club_id, membership_id=setup.membership_id(user),
                                 amount=300_000, received_on=date(2025, 1, 1), method="transfer",
                                 idempotency_key=key())
    shares = recorded(setup, **SHARES)
    pay(setup, shares, paid_on=date(2025, 2, 1))
    revalue(setup, shares, 450_000, date(2025, 6, 30))
    agree_sale(setup, shares)
    sell(setup, shares, 1500, 270_000, on=date(2025, 9, 1))
    investments.write_off(setup.treasurer.id, setup.club_id, shares.id, reason="Cessation d'activité",
                          on=date(2025, 11, 1), form_key=key())

    statement = yearend.yearly_statement(setup.treasurer.id, setup.club_id, 2025)
    assert {k: v for k, v in statement.club.items() if v} == {"gains": 120_000, "write_offs": 150_000}
    assert statement.club["other"] == 0
    assert yearend.year_result(setup.club_id, 2025) == -30_000
    close = yearend.close_year(setup.treasurer.id, setup.club_id, 2025, form_key=key())
    assert close.result == -30_000
    clean()


def test_invariant_9_finds_an_event_whose_revaluation_was_tampered_with(world):
    shares = paid(world, **SHARES)
    revalue(world, shares, 360_000)
    agree_sale(world, shares)
    event = sell(world, shares, 1000, 100_000)
    clean()

    db.session.execute(text("UPDATE investment_event SET revalued = revalued + 1 WHERE id = :id"), {"id": event.id})
    db.session.commit()
    found = investments.check()
    assert [v.invariant for v in found] == [9, 9]  # the account, and the reserve
    assert all(f"investment {shares.id}:" in str(v) for v in found)


def test_invariant_9_finds_an_approved_revaluation_not_posted(world):
    loan = paid(world)
    entered = enter(world, loan, 360_000)
    db.session.execute(text("UPDATE revaluation SET status = 'approved', approved_by_id = :m WHERE id = :id"),
                       {"id": entered.id, "m": world.membership_id(world.manager)})
    db.session.commit()
    found = [str(v) for v in investments.check()]
    assert any(f"revaluation {entered.id} is approved but not posted" in v for v in found)


def test_the_balance_sheet_shows_the_reserves_apart_from_members_capital(world):
    loan = paid(world)
    revalue(world, loan, 360_000)
    sheet = books.balance_sheet(world.treasurer.id, world.club_id, on=TODAY)
    assert sheet.balanced
    assert [(a.code, amount) for a, amount in sheet.reserves.lines] == [(f"revaluation:{loan.project_id}", 60_000)]
    assert all(a.code.startswith("capital:") for a, _ in sheet.capital.lines)
    assert sheet.capital.total == 1_800_000


def test_the_events_record_the_reserve_in_the_same_transaction(world):
    """A sale posts one transaction: bank, the investment's account, the reserve and the gain together."""
    shares = paid(world, **SHARES)
    revalue(world, shares, 360_000)
    agree_sale(world, shares)
    event = sell(world, shares, 3000, 400_000)
    accounts = {ledger.find_account(world.club_id, code).id: code for code in
                ("bank", f"investment:{shares.project_id}", f"revaluation:{shares.project_id}", "income:gains")}
    postings = {accounts[p.account_id]: p.amount for p in db.session.scalars(
        select(Posting).where(Posting.transaction_id == event.transaction_id))}
    assert postings == {"bank": 400_000, f"investment:{shares.project_id}": -360_000,
                        f"revaluation:{shares.project_id}": 60_000, "income:gains": -100_000}
    assert by_id(InvestmentEvent, event.id).revalued == 60_000


def test_each_investment_has_its_own_reserve(world):
    """Two investments, one revalued: the other's sale takes nothing from its reserve, and opens none."""
    loan = paid(world)
    shares = paid(world, name="Scierie", **SHARES, amount_requested=100_000)
    revalue(world, loan, 330_000)
    agree_sale(world, shares)
    sell(world, shares, 3000, 100_000)
    assert (reserve(world, loan), value(world, loan)) == (-30_000, 330_000)
    with pytest.raises(NotFound):
        ledger.find_account(world.club_id, f"revaluation:{shares.project_id}")
    clean()
