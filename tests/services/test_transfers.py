"""A member's share passing on, against the database (C. civ. art. 815 ff.): a sale to someone outside the club
after the co-owners' month to buy first (art. 815-14), a sale to a member, heirs; the members' vote; the one
``transfer`` transaction that moves the capital; every refusal, with nothing written.

The club (``scene``): an active club of six — manager, treasurer, secretary, then ``a`` (100.00 of capital),
``b`` (200.00) and the ``seller`` (1,000.00); the manager, the treasurer and the secretary hold 500.00 each. A
newcomer has asked to join with an invitation (pending). Dates are the club's: ``scene.today`` is the day the
sale is proposed, and the month to buy first runs through ``scene.ends`` (one calendar month later)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from coop import amounts
from coop.amounts import add_months
from coop.extensions import db
from coop.models import (
    Account,
    AuditEntry,
    Ballot,
    BallotVoter,
    Charter,
    Club,
    ClubStatus,
    Contribution,
    JournalTransaction,
    Membership,
    MemberStatus,
    Posting,
    PreemptionClaim,
    ShareTransfer,
    TransactionKind,
    TransferStatus,
    Unit,
)
from coop.models.base import utcnow
from coop.services import access, auth, ballots, clubs, fund, ledger, transfers
from coop.services.ballots import Subject
from coop.services.errors import Conflict, InvalidInput, NotFound, NotPermitted, RuleViolation
from coop.services.tally import NO, YES
from tests.conftest import SetupView, admit_by_vote, by_id, english, key, refused, row_counts
from tests.services.test_mail import say_in
from tests.smtp import smtp_server

SELLER, A, B, OTHERS = 100_000, 10_000, 20_000, 50_000


@dataclass
class Scene(SetupView):
    newcomer: object
    newcomer_mid: int
    today: date

    @property
    def secretary(self):
        return self.setup.members[2]

    @property
    def a(self):
        return self.setup.members[3]

    @property
    def b(self):
        return self.setup.members[4]

    @property
    def seller(self):
        return self.setup.members[5]

    @property
    def ends(self) -> date:
        return add_months(self.today, 1)


def pay(setup, user, amount: int) -> None:
    fund.record_contribution(setup.treasurer.id, setup.club_id, membership_id=setup.membership_id(user),
                             amount=amount, received_on=access.today_of(setup.club_id), method="transfer",
                             idempotency_key=key())


def ask_to_join(setup, user) -> int:
    _, code = clubs.invite(setup.manager.id, setup.club_id, form_key=key())
    return clubs.join(user.id, code).id


@pytest.fixture
def scene(make_club, make_user) -> Scene:
    setup = make_club(6, secretary=True)
    for user, amount in zip(setup.members, [OTHERS, OTHERS, OTHERS, A, B, SELLER], strict=True):
        pay(setup, user, amount)
    newcomer = make_user("Nora Nouvelle")
    pending = ask_to_join(setup, newcomer)
    today = access.today_of(setup.club_id)
    db.session.rollback()
    return Scene(setup, newcomer, pending, today)


def capital(scene, membership_id: int) -> int:
    db.session.rollback()
    return transfers.capital_of(scene.club_id, membership_id)


def status_of(membership_id: int) -> str:
    db.session.rollback()
    return by_id(Membership, membership_id).status


def fresh(transfer_id: int) -> ShareTransfer:
    db.session.rollback()
    db.session.expire_all()
    return by_id(ShareTransfer, transfer_id)


def sell(scene, *, price: int | None = 150_000, to: int | None = None, by=None, seller=None, today=None,
         form_key=None) -> ShareTransfer:
    seller = seller or scene.seller
    return transfers.propose_transfer((by or seller).id, scene.club_id, from_membership_id=scene.mid(seller),
                                      to_membership_id=to or scene.newcomer_mid, reason="assignment", price=price,
                                      form_key=form_key or key(), today=today or scene.today)


def to_heirs(scene, member=None, *, to: int | None = None, by=None, price=None) -> ShareTransfer:
    member = member or scene.seller
    return transfers.propose_transfer((by or scene.secretary).id, scene.club_id,
                                      from_membership_id=scene.mid(member), to_membership_id=to or scene.newcomer_mid,
                                      reason="heir", price=price, form_key=key(), today=scene.today)


def open_vote(scene, transfer_id: int, *, days: int = 7) -> Ballot:
    return ballots.open_ballot(scene.manager.id, scene.club_id, kind="transfer", method="yes_no",
                               closes_at=utcnow() + timedelta(days=days), subject=Subject(transfer_id=transfer_id),
                               form_key=key())


def vote_all(scene, transfer_id: int, choice: int = YES) -> Ballot:
    """A ballot on the transfer that every eligible member answers ``choice``, closed early by the manager."""
    ballot = open_vote(scene, transfer_id)
    option = ballot.options[0].id
    voters = db.session.scalars(select(BallotVoter).where(BallotVoter.ballot_id == ballot.id,
                                                          BallotVoter.recused.is_(False))).all()
    users = {m.id: m.user_id for m in db.session.scalars(select(Membership).where(
        Membership.club_id == scene.club_id))}
    for voter in voters:
        ballots.vote(users[voter.membership_id], scene.club_id, ballot.id, choices={option: choice})
    ballots.close_early(scene.manager.id, scene.club_id, ballot.id)
    db.session.rollback()
    return by_id(Ballot, ballot.id)


def past_the_month(scene, transfer_id: int) -> ShareTransfer:
    """An officer settles the co-owners' month the day after it ends."""
    return transfers.settle_preemption(scene.secretary.id, scene.club_id, transfer_id,
                                       today=scene.ends + timedelta(days=1))


def transfer_transactions(club_id: int) -> list[JournalTransaction]:
    db.session.rollback()
    return list(db.session.scalars(select(JournalTransaction).where(
        JournalTransaction.club_id == club_id, JournalTransaction.kind == TransactionKind.TRANSFER)))


def lines_of(txn: JournalTransaction) -> dict[str, int]:
    return {by_id(Account, p.account_id).code: p.amount for p in txn.postings}


def books_hold() -> None:
    db.session.rollback()
    assert ledger.check() == []
    assert fund.check_contributions() == []
    assert transfers.check() == []
    assert ballots.check() == []


# --- A sale to someone outside the club: the month to buy first, then the vote ---------------------------------------------


def test_a_sale_to_a_newcomer_opens_the_co_owners_month(scene):
    transfer = sell(scene)

    t = fresh(transfer.id)
    assert (t.status, t.reason, t.price) == (TransferStatus.PREEMPTION, "assignment", 150_000)
    assert (t.notified_on, t.preemption_ends_on) == (scene.today, add_months(scene.today, 1))
    assert (t.from_membership_id, t.to_membership_id) == (scene.mid(scene.seller), scene.newcomer_mid)
    assert t.created_by_id == scene.mid(scene.seller)
    assert db.session.scalar(select(AuditEntry.after).where(AuditEntry.action == "transfer.propose"))["capital"] == SELLER


def test_the_co_owners_are_told_the_price_by_mail(app, scene):
    english_member = scene.b
    auth.set_language(english_member.id, "en")
    with smtp_server(app) as inbox:
        transfer = sell(scene)
        mail = inbox.mail

    co_owners = [u for u in scene.setup.members if u.id != scene.seller.id]
    assert sorted(m.rcpt_tos[0] for m in mail) == sorted(u.email for u in co_owners)  # not the seller, nor the buyer
    by_address = {m.rcpt_tos[0]: m for m in mail}
    club = db.session.get(Club, scene.club_id)
    for user in co_owners:
        language = "en" if user.id == english_member.id else "fr"
        sent = by_address[user.email]
        assert sent.subject == say_in(language, "%(club)s: a share is offered to you first", club=club.name)
        assert say_in(language, "Hello %(name)s,", name=user.name) in sent.body
        assert f"/clubs/{scene.club_id}/transfers/{transfer.id}" in sent.body
        assert "article 815-14" in sent.body
    body = by_address[scene.a.email].body
    assert "Nora Nouvelle" in body and scene.seller.name in body
    # the price, and the capital the share holds
    assert amounts.money(150_000, "EUR", "fr") in body and amounts.money(SELLER, "EUR", "fr") in body
    assert amounts.money(150_000, "EUR", "en") in by_address[scene.b.email].body


def test_no_claim_then_the_vote_passes_the_share_to_the_newcomer_exactly(scene):
    transfer = sell(scene)
    before_cash = ledger.find_account(scene.club_id, "bank").balance

    assert past_the_month(scene, transfer.id).status == TransferStatus.AWAITING_VOTE
    ballot = vote_all(scene, transfer.id)

    assert ballot.outcome == "adopted" and ballot.effect_error is None
    assert ballot.threshold == "two_thirds"  # the charter's membership threshold (R7)
    assert ballot.eligible_count == 5  # the seller is recused
    t = fresh(transfer.id)
    assert (t.status, t.ballot_id) == (TransferStatus.DONE, ballot.id)
    assert t.decided_at is not None
    [txn] = transfer_transactions(scene.club_id)
    assert t.transaction_id == txn.id
    assert txn.idempotency_key == f"transfer:{t.id}"
    assert lines_of(txn) == {f"capital:{scene.mid(scene.seller)}": SELLER, f"capital:{scene.newcomer_mid}": -SELLER}
    assert scene.seller.name in txn.memo and "Nora Nouvelle" in txn.memo
    assert capital(scene, scene.mid(scene.seller)) == 0
    assert capital(scene, scene.newcomer_mid) == SELLER
    assert ledger.find_account(scene.club_id, "bank").balance == before_cash  # no money in or out
    newcomer, seller = by_id(Membership, scene.newcomer_mid), by_id(Membership, scene.mid(scene.seller))
    assert (newcomer.status, newcomer.joined_on) == (MemberStatus.ACTIVE, access.today_of(scene.club_id))
    assert (seller.status, seller.left_on) == (MemberStatus.LEFT, access.today_of(scene.club_id))
    books_hold()


def test_the_seller_does_not_vote_on_their_own_share(scene):
    transfer = to_heirs(scene, scene.a, to=scene.mid(scene.b))  # to a member: no month to buy first
    ballot = open_vote(scene, transfer.id)
    [recused] = db.session.scalars(select(BallotVoter).where(BallotVoter.ballot_id == ballot.id,
                                                             BallotVoter.recused.is_(True))).all()
    assert recused.membership_id == scene.mid(scene.a)

    err = refused(lambda: ballots.vote(scene.a.id, scene.club_id, ballot.id, choices={ballot.options[0].id: YES}),
                  RuleViolation, rule="R8")
    assert english(err) == "This ballot decides on your own share: you do not vote on it."


def test_a_refused_sale_simply_ends_and_the_member_stays(scene):
    transfer = sell(scene)
    past_the_month(scene, transfer.id)

    ballot = vote_all(scene, transfer.id, NO)

    assert ballot.outcome == "rejected"
    assert fresh(transfer.id).status == TransferStatus.REFUSED
    assert status_of(scene.mid(scene.seller)) == MemberStatus.ACTIVE
    assert capital(scene, scene.mid(scene.seller)) == SELLER
    assert status_of(scene.newcomer_mid) == MemberStatus.PENDING
    assert transfer_transactions(scene.club_id) == []
    books_hold()


def test_a_sale_to_a_member_goes_straight_to_the_vote(scene):
    transfer = sell(scene, to=scene.mid(scene.a))

    t = fresh(transfer.id)
    assert (t.status, t.notified_on, t.preemption_ends_on) == (TransferStatus.AWAITING_VOTE, None, None)
    vote_all(scene, transfer.id)
    assert capital(scene, scene.mid(scene.a)) == A + SELLER
    assert status_of(scene.mid(scene.seller)) == MemberStatus.LEFT


def test_a_sale_in_a_full_club_passes_one_out_one_in(scene, make_user):
    """R1 counts the members once the seller has left: the club stays at its maximum."""
    full = scene.setup.members  # six active: make the maximum six
    db.session.execute(update(Charter).where(Charter.club_id == scene.club_id).values(max_members=len(full)))
    db.session.commit()
    transfer = sell(scene)
    past_the_month(scene, transfer.id)

    ballot = vote_all(scene, transfer.id)

    assert ballot.effect_error is None
    assert fresh(transfer.id).status == TransferStatus.DONE
    assert clubs.active_count(scene.club_id) == len(full)


# --- Heirs: no month to buy first; their refusal leaves the share to be refunded ------------------------------------------


def test_heirs_go_straight_to_the_vote_and_receive_the_share(app, scene):
    with smtp_server(app) as inbox:
        transfer = to_heirs(scene)
        assert inbox.mail == []  # inheritance is not a sale: nobody buys first

    t = fresh(transfer.id)
    assert (t.status, t.price, t.notified_on, t.preemption_ends_on) == (TransferStatus.AWAITING_VOTE, None, None, None)
    assert t.created_by_id == scene.mid(scene.secretary)
    ballot = vote_all(scene, transfer.id)

    assert ballot.outcome == "adopted"
    assert fresh(transfer.id).status == TransferStatus.DONE
    assert capital(scene, scene.newcomer_mid) == SELLER
    assert status_of(scene.newcomer_mid) == MemberStatus.ACTIVE
    assert status_of(scene.mid(scene.seller)) == MemberStatus.LEFT
    books_hold()


def test_heirs_of_a_member_who_already_left_receive_the_share(scene):
    clubs.leave(scene.seller.id, scene.club_id)
    transfer = to_heirs(scene)

    vote_all(scene, transfer.id)

    assert capital(scene, scene.newcomer_mid) == SELLER
    assert status_of(scene.mid(scene.seller)) == MemberStatus.LEFT


def test_refused_heirs_leave_the_share_to_be_refunded_like_a_leavers(scene):
    transfer = to_heirs(scene)

    vote_all(scene, transfer.id, NO)

    assert fresh(transfer.id).status == TransferStatus.REFUSED
    assert status_of(scene.mid(scene.seller)) == MemberStatus.LEFT
    assert capital(scene, scene.mid(scene.seller)) == SELLER
    [waiting] = fund.leavers(scene.treasurer.id, scene.club_id)
    assert (waiting.membership.id, waiting.value_now, waiting.valuation) == (scene.mid(scene.seller), SELLER, None)
    fund.value_exit(scene.treasurer.id, scene.club_id, scene.mid(scene.seller), form_key=key(), today=scene.today)
    fund.refund(scene.treasurer.id, scene.club_id, scene.mid(scene.seller), amount=SELLER, idempotency_key=key())


# --- Co-owners who buy first: no vote, in proportion to their shares --------------------------------------------------------


def test_one_co_owner_who_buys_first_takes_the_whole_share_without_a_vote(scene):
    transfer = sell(scene)
    transfers.claim_preemption(scene.a.id, scene.club_id, transfer.id, today=scene.today)

    t = past_the_month(scene, transfer.id)

    assert t.status == TransferStatus.PREEMPTED
    [txn] = transfer_transactions(scene.club_id)
    assert lines_of(txn) == {f"capital:{scene.mid(scene.seller)}": SELLER, f"capital:{scene.mid(scene.a)}": -SELLER}
    assert capital(scene, scene.mid(scene.a)) == A + SELLER
    assert status_of(scene.mid(scene.seller)) == MemberStatus.LEFT
    assert status_of(scene.newcomer_mid) == MemberStatus.PENDING  # the buyer from outside does not join
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0
    books_hold()


def test_two_co_owners_share_it_in_proportion_to_their_own_shares_to_the_cent(scene):
    """1,000.00 shared 100 : 200 is 333.333… and 666.666…: the leftover cent goes to the larger remainder."""
    transfer = sell(scene)
    transfers.claim_preemption(scene.b.id, scene.club_id, transfer.id, today=scene.today)
    transfers.claim_preemption(scene.a.id, scene.club_id, transfer.id, today=scene.ends)  # the last day counts

    past_the_month(scene, transfer.id)

    [txn] = transfer_transactions(scene.club_id)
    assert lines_of(txn) == {f"capital:{scene.mid(scene.seller)}": 100_000, f"capital:{scene.mid(scene.a)}": -33_333,
                             f"capital:{scene.mid(scene.b)}": -66_667}
    assert capital(scene, scene.mid(scene.a)) == 10_000 + 33_333
    assert capital(scene, scene.mid(scene.b)) == 20_000 + 66_667
    books_hold()


def test_the_claimants_weights_are_their_capital(scene):
    assert transfers._claimant_weights(scene.club_id, [scene.mid(scene.a), scene.mid(scene.b)]) == {
        scene.mid(scene.a): A, scene.mid(scene.b): B}


def test_a_claim_after_the_month_is_refused(scene):
    transfer = sell(scene)

    err = refused(lambda: transfers.claim_preemption(scene.a.id, scene.club_id, transfer.id,
                                                     today=scene.ends + timedelta(days=1)), RuleViolation)
    assert "that month is over" in english(err)


def test_the_seller_cannot_buy_first(scene):
    transfer = sell(scene)
    refused(lambda: transfers.claim_preemption(scene.seller.id, scene.club_id, transfer.id, today=scene.today),
            NotPermitted)


def test_a_member_claims_once(scene):
    transfer = sell(scene)
    transfers.claim_preemption(scene.a.id, scene.club_id, transfer.id, today=scene.today)
    refused(lambda: transfers.claim_preemption(scene.a.id, scene.club_id, transfer.id, today=scene.today), Conflict)


def test_a_member_with_no_capital_does_not_buy_first(scene, make_user):
    joined = make_user()
    admit_by_vote(scene.setup, joined)  # an active member who has paid nothing in yet
    transfer = sell(scene)
    refused(lambda: transfers.claim_preemption(joined.id, scene.club_id, transfer.id, today=scene.today),
            RuleViolation, rule="R13")


def test_a_claim_taken_back_within_the_month_leaves_the_share_to_the_vote(scene):
    transfer = sell(scene)
    transfers.claim_preemption(scene.a.id, scene.club_id, transfer.id, today=scene.today)

    transfers.withdraw_claim(scene.a.id, scene.club_id, transfer.id, today=scene.today)

    assert row_counts(PreemptionClaim) == (0,)
    assert past_the_month(scene, transfer.id).status == TransferStatus.AWAITING_VOTE
    refused(lambda: transfers.withdraw_claim(scene.a.id, scene.club_id, transfer.id, today=scene.today), Conflict)


def test_a_claim_is_not_taken_back_after_the_month(scene):
    transfer = sell(scene)
    transfers.claim_preemption(scene.a.id, scene.club_id, transfer.id, today=scene.today)
    refused(lambda: transfers.withdraw_claim(scene.a.id, scene.club_id, transfer.id,
                                             today=scene.ends + timedelta(days=1)), RuleViolation)


def test_the_month_is_settled_only_once_it_is_over_and_by_an_officer(scene):
    transfer = sell(scene)
    refused(lambda: transfers.settle_preemption(scene.secretary.id, scene.club_id, transfer.id, today=scene.ends),
            Conflict)
    refused(lambda: transfers.settle_preemption(scene.a.id, scene.club_id, transfer.id,
                                                today=scene.ends + timedelta(days=1)), NotPermitted)
    past_the_month(scene, transfer.id)
    refused(lambda: past_the_month(scene, transfer.id), Conflict)


def test_the_tick_settles_every_month_that_is_over(scene, make_club):
    first = sell(scene)
    claimed = to_heirs(scene, scene.b, to=scene.mid(scene.a))  # no month: left alone
    transfers.claim_preemption(scene.a.id, scene.club_id, first.id, today=scene.today)

    assert transfers.settle_due(today=scene.ends) == 0
    assert transfers.settle_due(today=scene.ends + timedelta(days=1)) == 1
    assert fresh(first.id).status == TransferStatus.PREEMPTED
    assert fresh(claimed.id).status == TransferStatus.AWAITING_VOTE
    assert transfers.settle_due(today=scene.ends + timedelta(days=2)) == 0


def test_a_dissolving_club_passes_no_share_even_bought_first(scene):
    """Once the club dissolves its members' parts are being shared out: the tick leaves the transfer alone."""
    transfer = sell(scene)
    transfers.claim_preemption(scene.a.id, scene.club_id, transfer.id, today=scene.today)
    db.session.execute(update(Club).where(Club.id == scene.club_id).values(status=ClubStatus.DISSOLVING))
    db.session.commit()

    assert transfers.settle_due(today=scene.ends + timedelta(days=1)) == 0
    assert fresh(transfer.id).status == TransferStatus.PREEMPTION
    refused(lambda: past_the_month(scene, transfer.id), Conflict)
    assert transfer_transactions(scene.club_id) == []


def test_the_cli_tick_reports_the_months_settled(app, scene):
    result = app.test_cli_runner().invoke(args=["coop", "tick"])
    assert result.exit_code == 0
    assert "0 month(s) to buy a share first settled;" in result.output


# --- Withdrawing --------------------------------------------------------------------------------------------------------


def test_its_proposer_withdraws_a_transfer_before_a_decision(scene):
    transfer = sell(scene)
    refused(lambda: transfers.withdraw_transfer(scene.a.id, scene.club_id, transfer.id), NotPermitted)

    transfers.withdraw_transfer(scene.seller.id, scene.club_id, transfer.id)

    t = fresh(transfer.id)
    assert (t.status, t.decided_at is not None) == (TransferStatus.WITHDRAWN, True)
    refused(lambda: transfers.withdraw_transfer(scene.seller.id, scene.club_id, transfer.id), Conflict)
    sell(scene)  # a new one may be proposed


def test_a_sale_a_co_owner_has_accepted_is_not_withdrawn(scene):
    transfer = sell(scene)
    transfers.claim_preemption(scene.a.id, scene.club_id, transfer.id, today=scene.today)
    refused(lambda: transfers.withdraw_transfer(scene.seller.id, scene.club_id, transfer.id), RuleViolation)


def test_a_transfer_in_vote_is_not_withdrawn(scene):
    transfer = to_heirs(scene)
    open_vote(scene, transfer.id)
    refused(lambda: transfers.withdraw_transfer(scene.secretary.id, scene.club_id, transfer.id), Conflict)


# --- Proposing: every refusal writes nothing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("price, field", [
    (None, "price"), (0, "price"), (-100, "price"), (True, "price"), ("1500", "price"), (10**12, "price"),
])
def test_a_sale_needs_a_good_price(scene, price, field):
    refused(lambda: sell(scene, price=price), InvalidInput, field=field)


def test_heirs_pay_no_price(scene):
    refused(lambda: to_heirs(scene, price=100), InvalidInput, field="price")


def test_an_unknown_reason_is_refused(scene):
    refused(lambda: transfers.propose_transfer(
        scene.seller.id, scene.club_id, from_membership_id=scene.mid(scene.seller), to_membership_id=scene.newcomer_mid,
        reason="gift", price=None, form_key=key()), InvalidInput, field="reason")


def test_another_clubs_ids_name_nobody(scene, make_club):
    other = make_club(5, name="Cigale Voisine")
    stranger = other.membership_id(other.members[3])
    refused(lambda: sell(scene, to=stranger), NotFound)
    refused(lambda: transfers.propose_transfer(scene.secretary.id, scene.club_id, from_membership_id=stranger,
                                               to_membership_id=scene.newcomer_mid, reason="heir", form_key=key()),
            NotFound)
    refused(lambda: sell(scene, to=2**31), InvalidInput, field="to_membership_id")


def test_a_share_passes_to_someone_else(scene):
    refused(lambda: sell(scene, to=scene.mid(scene.seller)), InvalidInput, field="to_membership_id")


def test_the_recipient_is_a_member_or_asks_to_join(scene):
    clubs.leave(scene.a.id, scene.club_id)
    refused(lambda: sell(scene, to=scene.mid(scene.a)), InvalidInput, field="to_membership_id")
    clubs.decline(scene.manager.id, scene.club_id, scene.newcomer_mid)
    refused(lambda: sell(scene), InvalidInput, field="to_membership_id")


def test_a_member_with_nothing_in_the_club_has_no_share_to_pass_on(scene, make_user):
    joined = make_user()
    mid = admit_by_vote(scene.setup, joined)  # an active member who has paid nothing in yet
    refused(lambda: transfers.propose_transfer(joined.id, scene.club_id, from_membership_id=mid,
                                               to_membership_id=scene.newcomer_mid, reason="assignment",
                                               price=100, form_key=key(), today=scene.today),
            RuleViolation, rule="R13")


def test_one_transfer_at_a_time_per_member(scene):
    sell(scene)
    refused(lambda: sell(scene, to=scene.mid(scene.a)), Conflict)
    refused(lambda: to_heirs(scene), Conflict)


def test_a_share_passed_on_does_not_pass_twice(scene):
    transfer = to_heirs(scene, to=scene.mid(scene.a))
    vote_all(scene, transfer.id)
    err = refused(lambda: to_heirs(scene, to=scene.mid(scene.b)), Conflict)
    assert english(err) == "This member's share has already passed on."


def test_a_payment_waiting_for_the_member_blocks_the_transfer(scene):
    clubs.adopt_charter(scene.club_id, {"partial_withdrawals": True}, ballot_id=None, author_id=None)
    fund.withdraw(scene.treasurer.id, scene.club_id, scene.mid(scene.seller), amount=1_000, idempotency_key=key())
    refused(lambda: to_heirs(scene), RuleViolation, rule="R13")


def test_only_the_member_sells_their_share_and_not_an_officer_in_office(scene):
    refused(lambda: sell(scene, by=scene.a), NotPermitted)
    refused(lambda: sell(scene, seller=scene.treasurer), RuleViolation, rule="R3")
    refused(lambda: sell(scene, seller=scene.manager, to=scene.mid(scene.a)), RuleViolation, rule="R3")


def test_heirs_are_recorded_by_an_officer_for_another_member(scene):
    refused(lambda: to_heirs(scene, by=scene.a), NotPermitted)
    refused(lambda: to_heirs(scene, scene.secretary, to=scene.mid(scene.a)), InvalidInput, field="from_membership_id")
    refused(lambda: to_heirs(scene, scene.treasurer, by=scene.secretary), RuleViolation, rule="R3")


def test_a_replayed_form_is_refused(scene):
    form_key = key()
    transfer = sell(scene, form_key=form_key)
    transfers.withdraw_transfer(scene.seller.id, scene.club_id, transfer.id)
    refused(lambda: sell(scene, form_key=form_key), Conflict)
    refused(lambda: sell(scene, form_key="not-a-key"), InvalidInput)


def test_a_forming_club_passes_no_share(make_club, make_user):
    setup = make_club(5, activate=False)
    pay(setup, setup.members[3], 10_000)
    target = ask_to_join(setup, make_user())
    refused(lambda: transfers.propose_transfer(
        setup.members[3].id, setup.club_id, from_membership_id=setup.membership_id(setup.members[3]),
        to_membership_id=target, reason="assignment", price=100, form_key=key()), Conflict)


def test_a_club_past_its_term_takes_no_newcomer_but_a_share_may_pass_to_a_member(scene):
    past_term = db.session.get(Club, scene.club_id).term_ends_on + timedelta(days=1)
    db.session.rollback()
    refused(lambda: sell(scene, today=past_term), RuleViolation, rule="R5")
    assert sell(scene, to=scene.mid(scene.a), today=past_term).status == TransferStatus.AWAITING_VOTE


def test_a_dissolving_club_passes_no_share(scene):
    db.session.execute(update(Club).where(Club.id == scene.club_id).values(status=ClubStatus.DISSOLVING))
    db.session.commit()
    refused(lambda: sell(scene), Conflict)


# --- The vote: what it takes, and what happens when it decides nothing or cannot apply --------------------------------------


def test_no_ballot_while_the_co_owners_may_buy_first_nor_two_at_once(scene):
    transfer = sell(scene)
    refused(lambda: open_vote(scene, transfer.id), Conflict)
    past_the_month(scene, transfer.id)
    open_vote(scene, transfer.id)
    assert fresh(transfer.id).status == TransferStatus.IN_VOTE
    refused(lambda: open_vote(scene, transfer.id), Conflict)
    refused(lambda: open_vote(scene, 2**31), InvalidInput, field="transfer_id")
    refused(lambda: open_vote(scene, 999_999), NotFound)


def test_a_cancelled_ballot_or_no_quorum_sends_the_transfer_back_to_wait(scene):
    transfer = to_heirs(scene)
    ballot = open_vote(scene, transfer.id)
    ballots.cancel(scene.manager.id, scene.club_id, ballot.id, "Erreur de date")
    assert fresh(transfer.id).status == TransferStatus.AWAITING_VOTE

    ballot = open_vote(scene, transfer.id, days=1)
    ballots.close_if_due(scene.club_id, ballot.id, now=utcnow() + timedelta(days=2))  # nobody voted

    assert by_id(Ballot, ballot.id).outcome == "no_quorum"
    t = fresh(transfer.id)
    assert (t.status, t.ballot_id) == (TransferStatus.AWAITING_VOTE, ballot.id)
    assert capital(scene, scene.mid(scene.seller)) == SELLER
    books_hold()


def test_an_approved_transfer_that_cannot_apply_waits_for_another_vote(scene):
    """The seller's only contribution is reversed while the members vote: nothing left to pass on."""
    transfer = to_heirs(scene)
    contribution = db.session.scalar(select(Contribution).where(
        Contribution.membership_id == scene.mid(scene.seller)))
    db.session.rollback()
    ballot = open_vote(scene, transfer.id)
    fund.reverse_contribution(scene.treasurer.id, scene.club_id, contribution.id, reason="Erreur",
                              idempotency_key=key())
    option = ballot.options[0].id
    for user in scene.setup.members[:5]:
        ballots.vote(user.id, scene.club_id, ballot.id, choices={option: YES})
    ballots.close_early(scene.manager.id, scene.club_id, ballot.id)

    closed = by_id(Ballot, ballot.id)
    assert closed.outcome == "adopted"
    assert closed.effect_error.startswith("R13:")
    assert fresh(transfer.id).status == TransferStatus.AWAITING_VOTE
    assert status_of(scene.newcomer_mid) == MemberStatus.PENDING
    assert transfer_transactions(scene.club_id) == []
    books_hold()


def test_heirs_are_not_admitted_into_a_full_club(scene, make_user):
    clubs.leave(scene.seller.id, scene.club_id)  # five active now
    db.session.execute(update(Charter).where(Charter.club_id == scene.club_id).values(max_members=5))
    db.session.commit()
    transfer = to_heirs(scene)

    ballot = vote_all(scene, transfer.id)

    assert ballot.effect_error.startswith("R1:")
    assert fresh(transfer.id).status == TransferStatus.AWAITING_VOTE
    assert capital(scene, scene.mid(scene.seller)) == SELLER
    assert status_of(scene.newcomer_mid) == MemberStatus.PENDING


# --- What else a transfer under way holds back, and the figures ---------------------------------------------------------


def test_a_member_whose_share_is_passing_on_is_not_refunded_meanwhile(scene):
    clubs.leave(scene.seller.id, scene.club_id)
    to_heirs(scene)
    refused(lambda: fund.refund(scene.treasurer.id, scene.club_id, scene.mid(scene.seller), amount=1_000,
                                idempotency_key=key()), RuleViolation, rule="R13")


def test_the_funds_position_shows_shares_passed_on_not_refunds(scene):
    transfer = sell(scene)
    transfers.claim_preemption(scene.a.id, scene.club_id, transfer.id, today=scene.today)
    past_the_month(scene, transfer.id)

    shares = {s.membership.id: s for s in fund.position(scene.manager.id, scene.club_id).members}
    seller, a = shares[scene.mid(scene.seller)], shares[scene.mid(scene.a)]
    assert (seller.contributed, seller.transferred, seller.refunded, seller.capital) == (SELLER, -SELLER, 0, 0)
    assert (a.contributed, a.transferred, a.refunded, a.capital) == (A, SELLER, 0, A + SELLER)


def test_the_transfer_page_shows_the_parts(scene):
    transfer = sell(scene)
    transfers.claim_preemption(scene.a.id, scene.club_id, transfer.id, today=scene.today)
    transfers.claim_preemption(scene.b.id, scene.club_id, transfer.id, today=scene.today)

    page = transfers.transfer_page(scene.manager.id, scene.club_id, transfer.id, today=scene.today)
    assert page.parts == {scene.mid(scene.a): 33_333, scene.mid(scene.b): 66_667}
    assert (page.window_open, page.may_claim, page.may_settle, page.capital) == (True, True, False, SELLER)
    seller_page = transfers.transfer_page(scene.seller.id, scene.club_id, transfer.id, today=scene.today)
    assert (seller_page.may_claim, seller_page.may_withdraw) == (False, False)  # a co-owner has accepted

    past_the_month(scene, transfer.id)
    done = transfers.transfer_page(scene.b.id, scene.club_id, transfer.id)
    assert (done.capital, done.parts) == (SELLER, {scene.mid(scene.a): 33_333, scene.mid(scene.b): 66_667})
    assert done.names[scene.mid(scene.a)] == scene.a.name


# --- The invariants -------------------------------------------------------------------------------------------------------


def test_check_finds_a_passed_transfer_without_its_transaction_and_two_open_ones(scene):
    first = to_heirs(scene)
    second = to_heirs(scene, scene.a, to=scene.mid(scene.b))
    db.session.execute(update(ShareTransfer).where(ShareTransfer.id == first.id).values(status="done"))
    db.session.execute(update(ShareTransfer).where(ShareTransfer.id == second.id)
                       .values(from_membership_id=scene.mid(scene.seller), status="in_vote"))
    db.session.commit()
    third = ShareTransfer(club_id=scene.club_id, from_membership_id=scene.mid(scene.seller),
                          to_membership_id=scene.newcomer_mid, reason="heir", status="awaiting_vote",
                          created_by_id=scene.mid(scene.secretary), form_key=key())
    db.session.add(third)
    db.session.commit()

    found = [v.detail for v in transfers.check()]
    assert f"transfer {first.id} is done but was never posted" in found
    assert f"member {scene.mid(scene.seller)} has 2 transfers under way" in found
    assert f"transfer {second.id} is in vote without an open ballot" in found


def test_check_finds_a_transfer_transaction_that_moves_cash(scene):
    bank = ledger.find_account(scene.club_id, "bank").id
    member = ledger.find_account(scene.club_id, f"capital:{scene.mid(scene.a)}").id
    db.session.rollback()
    ledger.post(scene.club_id, unit=Unit.MONEY, kind=TransactionKind.TRANSFER, lines=[(bank, 500), (member, -500)],
                idempotency_key="test:stray", author_id=None)

    assert any("moves money outside members' capital" in v.detail for v in fund.check_contributions())
    assert any("has no transfer record" in v.detail for v in transfers.check())


def test_every_posting_of_a_transfer_is_on_capital(scene):
    transfer = sell(scene, to=scene.mid(scene.b))
    vote_all(scene, transfer.id)
    [txn] = transfer_transactions(scene.club_id)
    codes = db.session.scalars(select(Account.code).join(Posting, (Posting.account_id == Account.id)
                                                         & (Posting.club_id == Account.club_id))
                               .where(Posting.transaction_id == txn.id)).all()
    assert sorted(codes) == sorted([f"capital:{scene.mid(scene.seller)}", f"capital:{scene.mid(scene.b)}"])
    assert sum(p.amount for p in txn.postings) == 0
    books_hold()
