"""Paying a leaver in shares (R13, charter ``exit_in_kind``): an officer who keeps the money enters a stake of an
enterprise's shares the club holds, worth the investment's value recorded pro rata to the stake; a second officer
approves it (R11, neither recused: R8) against the day's figures, and one ``handover`` transaction settles what the
club owes the leaver with the shares, which leave the books as a sale at that value would: their cost, the matching
part of the revaluation reserve, the gain or loss in the result. Every refusal writes nothing. On both databases.

The scene, worked out by hand: six members; the leaver (members[5]) paid 1,425.00, the five others 3,515.00 each:
19,000.00 in the fund. A 10 % stake in an SAS is bought for 2,000.00 and revalued to 3,000.00: net assets
20,000.00. Pro rata to contributions the leaver's share is 20,000.00 × 1,425 / 19,000 = 1,500.00 exactly, each
other member's 3,700.00 (20,000.00 × 3,515 / 19,000)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select, text

from coop.extensions import db
from coop.models import (
    AuditEntry,
    Investment,
    InvestmentEvent,
    JournalTransaction,
    Payout,
    Posting,
)
from coop.services import ballots, clubs, fund, investments, ledger, shares, valuation, yearend
from coop.services.errors import Conflict, InvalidInput, NotFound, NotPermitted, RuleViolation
from tests.conftest import by_id, english, key, refused, row_counts
from tests.services.test_investment_flow import fund_club
from tests.services.test_investment_follow_up import balance, pay, recorded

TODAY = date.today()
#: A 10 % stake in an SAS, 2,000.00.
STAKE = dict(instrument="equity", legal_form="sas", stake_hundredths=1000, amount_requested=200_000)


@dataclass
class Scene:
    setup: object
    shares: Investment

    @property
    def club_id(self) -> int:
        return self.setup.club_id

    @property
    def leaver(self):
        return self.setup.members[5]

    @property
    def treasurer(self):
        return self.setup.treasurer

    @property
    def manager(self):
        return self.setup.manager

    def mid(self, user) -> int:
        return self.setup.membership_id(user)


def revalue(setup, investment, new_value: int) -> None:
    entered = valuation.enter_revaluation(setup.treasurer.id, setup.club_id, investment.id, new_value=new_value,
                                         valued_on=TODAY, reason="Bilan de l'année", form_key=key())
    valuation.approve_revaluation(setup.manager.id, setup.club_id, entered.id)


def scene(make_club, *, leaver_pays: int = 142_500, others_pay: int = 351_500, value: int = 300_000,
          in_kind: bool = True, valued: bool = True, loan: bool = False) -> Scene:
    """The module's scene; ``loan``: a 3,000.00 loan is also paid out, before the leaver leaves."""
    setup = make_club(6, secretary=True)
    if in_kind:
        clubs.adopt_charter(setup.club_id, {"exit_in_kind": True}, ballot_id=None, author_id=None)
    leaver = setup.members[5]
    for user in setup.members:
        fund.record_contribution(setup.treasurer.id, setup.club_id, membership_id=setup.membership_id(user),
                                 amount=leaver_pays if user is leaver else others_pay, received_on=TODAY,
                                 method="transfer", idempotency_key=key())
    stake = recorded(setup, **STAKE)
    pay(setup, stake, paid_on=TODAY)
    revalue(setup, stake, value)
    if loan:
        pay(setup, recorded(setup, name="Épicerie de Luc"), paid_on=TODAY)
    clubs.leave(leaver.id, setup.club_id)
    if valued:
        fund.value_exit(setup.treasurer.id, setup.club_id, setup.membership_id(leaver), form_key=key())
    db.session.rollback()
    return Scene(setup, by_id(Investment, stake.id))


@pytest.fixture
def ready(make_club) -> Scene:
    return scene(make_club)


def hand_over(s: Scene, stake: object = 500, *, user=None, member=None, investment_id: object = None,
              form_key: str | None = None) -> Payout:
    return fund.hand_over((user or s.treasurer).id, s.club_id, s.mid(member or s.leaver),
                          investment_id=s.shares.id if investment_id is None else investment_id,
                          stake_hundredths=stake, idempotency_key=form_key or key())


def approve(s: Scene, payout: Payout, user=None) -> Payout:
    return fund.approve_payout((user or s.manager).id, s.club_id, payout.id)


def code(s: Scene, prefix: str) -> str:
    return f"{prefix}:{s.shares.project_id}"


def others(s: Scene) -> dict[int, int]:
    """The remaining members' shares of the net assets (the charter's way)."""
    found = shares.club_shares(s.club_id)
    return {line.membership.id: line.value(found.method) for line in found.lines if line.value(found.method)}


def consistent() -> None:
    db.session.rollback()
    assert ledger.check() == []
    assert fund.check_contributions() == []
    assert investments.check() == []


# --- Success --------------------------------------------------------------------------------------------------------


def test_a_leaver_owed_1500_is_paid_with_5_percent_worth_1500(ready):
    """5 % of a 10 % stake valued at 3,000.00 is worth 1,500.00: all that is owed. Its cost is 1,000.00, so the
    gain is 500.00, realised out of the revaluation reserve; the investment keeps 1,500.00 (cost 1,000.00, reserve
    500.00) and a 5 % stake. No cash moves, and the other members' shares do not move."""
    s = ready
    assert balance(s.club_id, f"payable:{s.mid(s.leaver)}") == -150_000
    assert others(s) == {s.mid(u): 370_000 for u in s.setup.members[:5]}
    cash = fund.available_cash(s.club_id)

    entered = hand_over(s, 500)

    assert (entered.kind, entered.amount, entered.investment_id, entered.stake_hundredths, entered.status) == (
        "in_kind", 150_000, s.shares.id, 500, "pending")
    assert fund.available_cash(s.club_id) == cash  # shares handed over take no cash: no commitment
    [leaver] = fund.leavers(s.treasurer.id, s.club_id)
    assert (leaver.owed, leaver.pending, leaver.to_enter) == (150_000, 150_000, 0)
    assert balance(s.club_id, code(s, "investment")) == 300_000  # nothing posted before the second officer
    waiting = fund.payouts_waiting(s.manager.id, s.club_id, fund.LEAVER_PAYOUTS)
    assert [p.id for p in waiting] == [entered.id] and waiting[0].investment.name == s.shares.name

    done = approve(s, entered)

    assert (done.status, done.approved_by_id) == ("approved", s.mid(s.manager))
    assert balance(s.club_id, f"payable:{s.mid(s.leaver)}") == 0
    assert balance(s.club_id, code(s, "investment")) == 150_000
    assert balance(s.club_id, code(s, "revaluation")) == -50_000  # the reserve holds 500.00 against the rest
    assert balance(s.club_id, "income:gains") == -50_000
    assert balance(s.club_id, "bank") == 1_700_000 and fund.available_cash(s.club_id) == cash
    fresh = by_id(Investment, s.shares.id)
    assert (investments.stake_held(fresh), fresh.status) == (500, "active")
    assert others(s) == {s.mid(u): 370_000 for u in s.setup.members[:5]}
    assert shares.club_shares(s.club_id).net_assets == 1_850_000
    assert fund.leavers(s.treasurer.id, s.club_id) == []

    event = db.session.scalar(select(InvestmentEvent).where(InvestmentEvent.investment_id == s.shares.id,
                                                            InvestmentEvent.kind == "handover"))
    assert (event.book, event.income, event.loss, event.cash, event.revalued, event.stake_sold_hundredths) == (
        100_000, 50_000, 0, 150_000, 50_000, 500)
    assert event.transaction_id == done.transaction_id and event.ballot_id is None  # no ballot: the charter's
    posted = by_id(JournalTransaction, done.transaction_id)
    assert (posted.kind, posted.idempotency_key) == ("handover", f"payout:{done.id}")
    lines = dict(db.session.execute(select(Posting.account_id, Posting.amount)
                                    .where(Posting.transaction_id == posted.id)).all())
    assert lines == {ledger.find_account(s.club_id, f"payable:{s.mid(s.leaver)}").id: 150_000,
                     s.shares.account_id: -150_000,
                     ledger.find_account(s.club_id, code(s, "revaluation")).id: 50_000,
                     ledger.find_account(s.club_id, "income:gains").id: -50_000}
    [line] = [x for x in investments.portfolio(s.manager.id, s.club_id).lines if x.investment.id == s.shares.id]
    assert (line.cost, line.outstanding, line.income) == (100_000, 150_000, 50_000)
    statement = yearend.yearly_statement(s.manager.id, s.club_id, TODAY.year, today=date(TODAY.year + 1, 1, 1))
    assert (statement.club["gains"], statement.club["other"]) == (50_000, 0)  # counted as a sale
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.club_id == s.club_id,
                                                                 AuditEntry.action.in_(("payout.enter",
                                                                                        "capital.hand_over",
                                                                                        "investment.handover")))).all()
    assert sorted(actions) == ["capital.hand_over", "investment.handover", "payout.enter"]
    consistent()


def test_the_whole_stake_handed_over_exits_the_investment(make_club):
    """The leaver paid 2,850.00 of 19,000.00: their share is 3,000.00, the whole stake's value. It leaves whole:
    the account and the reserve reach zero, the 1,000.00 above cost is a gain, the investment is exited."""
    s = scene(make_club, leaver_pays=285_000, others_pay=323_000)
    assert balance(s.club_id, f"payable:{s.mid(s.leaver)}") == -300_000

    done = approve(s, hand_over(s, 1000))

    refused(lambda: approve(s, done), Conflict)  # approved once
    assert balance(s.club_id, f"payable:{s.mid(s.leaver)}") == 0
    assert (balance(s.club_id, code(s, "investment")), balance(s.club_id, code(s, "revaluation"))) == (0, 0)
    assert balance(s.club_id, "income:gains") == -100_000
    fresh = by_id(Investment, s.shares.id)
    assert (investments.stake_held(fresh), fresh.status, fresh.ended_on) == (0, "exited", TODAY)
    assert investments.shares_held(s.club_id) == []
    assert others(s) == {s.mid(u): 340_000 for u in s.setup.members[:5]}
    consistent()


def test_shares_worth_less_than_their_cost_are_a_loss_and_the_rest_is_paid_in_cash(make_club):
    """Revalued down to 1,500.00 (net assets 18,500.00), the leaver's share is 18,500.00 × 1,425 / 19,000 =
    1,387.50. 5 % is worth 750.00 for a cost of 1,000.00: a 250.00 loss, and the reserve gives back its part of
    the fall. The 637.50 left is refunded in cash, entered and approved as usual."""
    s = scene(make_club, value=150_000)
    assert balance(s.club_id, f"payable:{s.mid(s.leaver)}") == -138_750

    approve(s, hand_over(s, 500))

    assert balance(s.club_id, f"payable:{s.mid(s.leaver)}") == -63_750
    assert balance(s.club_id, code(s, "investment")) == 75_000
    assert balance(s.club_id, code(s, "revaluation")) == 25_000  # half of the 500.00 fall is still unrealised
    assert balance(s.club_id, "expense:losses") == 25_000
    refused(lambda: fund.refund(s.treasurer.id, s.club_id, s.mid(s.leaver), amount=63_751, idempotency_key=key()),
            RuleViolation, rule="R13", field="amount")
    approve(s, fund.refund(s.treasurer.id, s.club_id, s.mid(s.leaver), amount=63_750, idempotency_key=key()))
    assert balance(s.club_id, f"payable:{s.mid(s.leaver)}") == 0
    statement = yearend.yearly_statement(s.manager.id, s.club_id, TODAY.year, today=date(TODAY.year + 1, 1, 1))
    assert (statement.club["disposal_losses"], statement.club["other"]) == (25_000, 0)
    consistent()


def test_the_same_form_sent_again_enters_one_hand_over(ready):
    s = ready
    form_key = key()
    first = hand_over(s, 500, form_key=form_key)
    assert hand_over(s, 500, form_key=form_key).id == first.id
    assert row_counts(Payout) == (1,)
    refused(lambda: hand_over(s, 400, form_key=form_key), Conflict)  # the key was spent on another stake
    consistent()


def test_a_hand_over_waiting_counts_against_refunds_and_further_hand_overs(ready):
    """1,500.00 owed, 5 % (1,500.00) entered: nothing is left to refund, and only the 5 % not promised may be
    handed over again, which is more than owed anyway."""
    s = ready
    hand_over(s, 250)  # 750.00, waiting
    refused(lambda: fund.refund(s.treasurer.id, s.club_id, s.mid(s.leaver), amount=75_001, idempotency_key=key()),
            RuleViolation, rule="R13", field="amount")
    refused(lambda: hand_over(s, 251), RuleViolation, rule="R13", field="stake")  # 753.00 > 750.00 left
    refused(lambda: hand_over(s, 751), InvalidInput, field="stake")  # 7.51 % of the 7.5 % not promised


def test_a_hand_over_cancelled_posts_nothing(ready):
    s = ready
    entered = hand_over(s)
    transactions = row_counts(JournalTransaction, InvestmentEvent)
    fund.cancel_payout(s.manager.id, s.club_id, entered.id, "La trésorerie suffit finalement.")
    assert row_counts(JournalTransaction, InvestmentEvent) == transactions
    assert by_id(Payout, entered.id).status == "cancelled"
    assert fund.leavers(s.treasurer.id, s.club_id)[0].to_enter == 150_000


# --- Refusals at entry: nothing written -------------------------------------------------------------------------


def test_the_charter_must_allow_it(make_club):
    s = scene(make_club, in_kind=False)
    refused(lambda: hand_over(s), RuleViolation, rule="R13")


def test_only_a_leaver_whose_share_is_valued(make_club):
    s = scene(make_club, valued=False)
    refused(lambda: hand_over(s), RuleViolation, rule="R13")
    refused(lambda: hand_over(s, member=s.setup.members[4]), RuleViolation, rule="R13")  # still active


def test_only_shares(make_club):
    s = scene(make_club, loan=True)
    loan = db.session.scalar(select(Investment).where(Investment.club_id == s.club_id,
                                                      Investment.instrument == "loan"))
    refused(lambda: hand_over(s, investment_id=loan.id), InvalidInput, field="investment_id")


@pytest.mark.parametrize("stake", [501, 1000])  # 1,503.00 and 3,000.00: more than the 1,500.00 owed
def test_no_more_than_what_is_owed(ready, stake):
    refused(lambda: hand_over(ready, stake), RuleViolation, rule="R13", field="stake")


@pytest.mark.parametrize("stake", [1001, 0, -500, 10_001, "5", "2,5", 2.5, True, None, 2**63])
def test_a_stake_above_zero_and_within_what_the_club_holds(ready, stake):
    refused(lambda: hand_over(ready, stake), InvalidInput, field="stake")


def test_a_stake_worth_nothing_at_the_value_recorded_pays_nothing(make_club):
    s = scene(make_club, value=0)
    refused(lambda: hand_over(s, 500), InvalidInput, field="stake")


def test_shares_no_longer_held_are_not_handed_over(ready):
    s = ready
    approve(s, hand_over(s, 500))
    held = by_id(Investment, s.shares.id)
    investments.write_off(s.treasurer.id, s.club_id, held.id, reason="Liquidation judiciaire", on=TODAY,
                          form_key=key())
    refused(lambda: hand_over(s, 100), InvalidInput, field="investment_id")


def test_another_clubs_ids_are_not_found(ready, make_club):
    s = ready
    neighbour = make_club(5, name="Cigale Voisine")
    fund_club(neighbour, 300_000)
    theirs = recorded(neighbour, **STAKE)
    refused(lambda: hand_over(s, investment_id=theirs.id), NotFound)
    refused(lambda: hand_over(s, investment_id=2**31), NotFound)
    refused(lambda: hand_over(s, investment_id="1; --"), NotFound)
    refused(lambda: fund.hand_over(s.treasurer.id, s.club_id, neighbour.membership_id(neighbour.members[4]),
                                   investment_id=s.shares.id, stake_hundredths=500, idempotency_key=key()), NotFound)
    refused(lambda: fund.hand_over(neighbour.treasurer.id, neighbour.club_id, s.mid(s.leaver),
                                   investment_id=s.shares.id, stake_hundredths=500, idempotency_key=key()), NotFound)


def test_only_an_officer_who_keeps_the_money_enters_it(ready):
    s = ready
    refused(lambda: hand_over(s, user=s.setup.members[2]), NotPermitted)  # the secretary
    refused(lambda: hand_over(s, user=s.manager), NotPermitted)  # the charter does not let the manager
    refused(lambda: hand_over(s, user=s.setup.members[4]), NotPermitted)


def test_an_officer_linked_to_the_project_does_not_enter_it(ready):
    s = ready
    ballots.declare_link(s.treasurer.id, s.club_id, s.shares.project_id, "Associé du fondateur")
    refused(lambda: hand_over(s), RuleViolation, rule="R8")


def test_a_malformed_form_key_is_refused(ready):
    refused(lambda: hand_over(ready, form_key="not-a-key"), InvalidInput)


# --- Refusals at approval: nothing written --------------------------------------------------------------------------


def test_the_officer_who_entered_it_does_not_approve_it(ready):
    s = ready
    entered = hand_over(s)
    refused(lambda: approve(s, entered, user=s.treasurer), RuleViolation, rule="R11")


def test_an_approver_linked_to_the_project_is_refused(ready):
    s = ready
    entered = hand_over(s)
    ballots.declare_link(s.manager.id, s.club_id, s.shares.project_id, "Associée de l'entreprise")
    refused(lambda: approve(s, entered), RuleViolation, rule="R8")


def test_a_hand_over_entered_by_an_officer_now_linked_to_the_project_is_refused(ready):
    s = ready
    entered = hand_over(s)
    ballots.declare_link(s.treasurer.id, s.club_id, s.shares.project_id, "Prête-nom")
    refused(lambda: approve(s, entered), RuleViolation, rule="R8")


def test_shares_whose_value_changed_since_entry_are_entered_again(ready):
    """Revalued to 3,200.00 after the entry, 5 % is worth 1,600.00, no longer 1,500.00: refused, to be entered
    again (and 1,600.00 is more than owed: 4.68 % is what pays it, 1,497.60)."""
    s = ready
    entered = hand_over(s, 500)
    revalue(s.setup, s.shares, 320_000)
    error = refused(lambda: approve(s, entered), Conflict)
    assert "enter it again" in english(error)
    fund.cancel_payout(s.manager.id, s.club_id, entered.id, "Valeur changée")
    approve(s, hand_over(s, 468))
    assert balance(s.club_id, f"payable:{s.mid(s.leaver)}") == -240
    consistent()


def test_the_charter_changed_since_entry_is_refused_at_approval(ready):
    s = ready
    entered = hand_over(s)
    clubs.adopt_charter(s.club_id, {"exit_in_kind": False}, ballot_id=None, author_id=None)
    refused(lambda: approve(s, entered), RuleViolation, rule="R13")


# --- The invariant ------------------------------------------------------------------------------------------------


def test_invariant_9_finds_a_hand_over_that_matches_no_payout(ready):
    s = ready
    done = approve(s, hand_over(s))
    consistent()
    db.session.execute(text("UPDATE payout SET stake_hundredths = 400 WHERE id = :id"), {"id": done.id})
    db.session.commit()
    found = investments.check()
    assert [v.invariant for v in found] == [9, 9]
    assert "matches no approved payout in kind" in str(found[0]) and "no shares left" in str(found[1])
