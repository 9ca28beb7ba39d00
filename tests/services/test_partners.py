"""Between clubs (services.partners): partnerships agreed by a ballot in each club, exchanges of time across
them posted by each club through a clearing account, the relays between the clubs (idempotent, ordered,
retried), a crash between the two sides, and invariants 15 and 16.

Two clubs from ``make_club(5)``: manager, treasurer, then plain members a, b, c.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from coop.extensions import db
from coop.models import (
    Account,
    Club,
    ClubStatus,
    CrossExchange,
    CrossState,
    JournalTransaction,
    Partnership,
    PartnershipStatus,
    Relay,
    RelayStatus,
)
from coop.models.base import utcnow
from coop.services import ballots, ledger, partners, tally, timebank
from coop.services.errors import Conflict, InvalidInput, LimitExceeded, NotFound, NotPermitted, RuleViolation
from coop.services.uow import unit_of_work
from tests.conftest import SetupView, admit_by_vote, key, refused

TODAY = date.today()
LIMIT = 10 * 60


@dataclass
class Side(SetupView):
    @property
    def id(self) -> int:
        return self.setup.club_id

    @property
    def a(self):
        return self.setup.members[2]

    @property
    def b(self):
        return self.setup.members[3]

    def row(self) -> Partnership:
        db.session.rollback()
        return db.session.scalar(select(Partnership).where(Partnership.club_id == self.id))

    def balance(self, code: str) -> int:
        db.session.rollback()
        return db.session.scalar(select(Account.balance).where(Account.club_id == self.id, Account.code == code))

    def time(self, user) -> int:
        return self.balance(f"time:{self.mid(user)}")

    def cross(self) -> CrossExchange:
        db.session.rollback()
        return db.session.scalar(select(CrossExchange).where(CrossExchange.club_id == self.id)
                                 .order_by(CrossExchange.id.desc()))

    def vote(self, partnership_id: int, choice: str = tally.YES) -> None:
        ballot = ballots.open_ballot(self.manager.id, self.id, kind="partnership", method="yes_no",
                                     closes_at=utcnow() + timedelta(days=7),
                                     subject=ballots.Subject(partnership_id=partnership_id), form_key=key())
        for member in self.setup.members:
            ballots.vote(member.id, self.id, ballot.id, choices={ballot.options[0].id: choice})
        ballots.close_early(self.manager.id, self.id, ballot.id)


@pytest.fixture
def clubs(make_club):
    return Side(make_club(5, name="Cigale du Diois")), Side(make_club(5, name="Cigale du Vercors"))


@pytest.fixture
def pair(clubs):
    """Two clubs that both agreed to trade, with a limit of 10 hours."""
    one, two = clubs
    row = partners.propose(one.manager.id, one.id, partner_club_id=two.id, limit_minutes=LIMIT, form_key=key())
    one.vote(row.id)
    two.vote(two.row().id)
    return one, two


def record(one: Side, two: Side, minutes: int = 90, *, by=None, to=None, direction: str = "given", **kw) -> int:
    by, to = by or one.a, to or two.b
    return partners.record_exchange(by.id, one.id, one.row().id, partner_member_id=two.mid(to), direction=direction,
                                    minutes=minutes, done_on=kw.pop("done_on", TODAY),
                                    description=kw.pop("description", "Aide au jardin"),
                                    form_key=kw.pop("form_key", None) or key(), **kw).id


def violations() -> list:
    db.session.rollback()
    return ledger.check() + timebank.check() + partners.check()


# --- Agreeing ---------------------------------------------------------------------------------------------------


def test_both_clubs_agree_by_ballot_and_each_opens_a_clearing_account(clubs):
    one, two = clubs
    row = partners.propose(one.manager.id, one.id, partner_club_id=two.id, limit_minutes=LIMIT, form_key=key())
    assert row.status == PartnershipStatus.DRAFT and two.row() is None  # nothing leaves before the vote
    one.vote(row.id)
    assert one.row().status == PartnershipStatus.PROPOSED
    offered = two.row()
    assert (offered.status, offered.limit_minutes, offered.uuid, offered.partner_name) == (
        PartnershipStatus.OFFERED, LIMIT, one.row().uuid, "Cigale du Diois")
    two.vote(offered.id)
    for side, other in ((one, two), (two, one)):
        mine = side.row()
        assert mine.status == PartnershipStatus.ACTIVE and mine.trading
        account = db.session.get(Account, (mine.account_id, side.id))
        assert (account.code, account.floor, account.ceiling, account.balance) == (
            f"clearing:{other.id}", -LIMIT, LIMIT, 0)
    assert violations() == []


def test_the_partner_club_voting_no_refuses_it_in_both(clubs):
    one, two = clubs
    row = partners.propose(one.manager.id, one.id, partner_club_id=two.id, limit_minutes=LIMIT, form_key=key())
    one.vote(row.id)
    two.vote(two.row().id, tally.NO)
    assert (one.row().status, two.row().status) == (PartnershipStatus.REFUSED, PartnershipStatus.REFUSED)
    assert one.row().account_id is None and two.row().account_id is None
    # refused, it may be proposed again
    again = partners.propose(one.manager.id, one.id, partner_club_id=two.id, limit_minutes=LIMIT, form_key=key())
    assert again.status == PartnershipStatus.DRAFT


def test_the_proposing_club_voting_no_tells_no_one(clubs):
    one, two = clubs
    row = partners.propose(one.manager.id, one.id, partner_club_id=two.id, limit_minutes=LIMIT, form_key=key())
    one.vote(row.id, tally.NO)
    assert one.row().status == PartnershipStatus.REFUSED and two.row() is None


@pytest.mark.parametrize("limit", [0, -60, partners.MAX_LIMIT + 1, "600", 1.5, True, None])
def test_a_limit_is_whole_positive_minutes(clubs, limit):
    one, two = clubs
    refused(lambda: partners.propose(one.manager.id, one.id, partner_club_id=two.id, limit_minutes=limit,
                                     form_key=key()), InvalidInput, field="limit_minutes")


def test_proposing_is_the_managers_to_a_real_other_club_once(clubs):
    one, two = clubs
    refused(lambda: partners.propose(one.a.id, one.id, partner_club_id=two.id, limit_minutes=LIMIT,
                                     form_key=key()), NotPermitted)
    for club_id, error in ((one.id, NotFound), (999_999, NotFound), ("x", InvalidInput), (-1, InvalidInput)):
        refused(lambda c=club_id: partners.propose(one.manager.id, one.id, partner_club_id=c, limit_minutes=LIMIT,
                                                   form_key=key()), error, field="partner_club_id")
    used = key()
    partners.propose(one.manager.id, one.id, partner_club_id=two.id, limit_minutes=LIMIT, form_key=used)
    refused(lambda: partners.propose(one.manager.id, one.id, partner_club_id=two.id, limit_minutes=LIMIT,
                                     form_key=key()), Conflict)


def test_a_ballot_on_a_partnership_needs_one_waiting_for_this_club(pair):
    one, _two = pair
    refused(lambda: one.vote(one.row().id), Conflict, field="partnership_id")
    refused(lambda: one.vote(987_654), NotFound)


# --- Trading ----------------------------------------------------------------------------------------------------


def test_an_exchange_across_clubs_posts_each_side_in_its_own_club(pair):
    one, two = pair
    record(one, two, 90)
    mine, theirs = one.cross(), two.cross()
    assert (mine.state, theirs.state) == (CrossState.PENDING, CrossState.PENDING)
    assert mine.uuid == theirs.uuid and (mine.direction, theirs.direction) == ("given", "received")
    assert theirs.partner_member_name == one.a.name and not theirs.recorded_here
    assert one.time(one.a) == 0 and two.time(two.b) == 0  # nothing posted before the confirmation
    assert partners.to_confirm(two.b.id, two.id)[0].uuid == mine.uuid
    partners.confirm(two.b.id, two.id, theirs.id)
    assert (one.cross().state, two.cross().state) == (CrossState.COMPLETED, CrossState.COMPLETED)
    assert (one.time(one.a), one.balance(f"clearing:{two.id}")) == (90, -90)
    assert (two.time(two.b), two.balance(f"clearing:{one.id}")) == (-90, 90)
    # the two clubs' chains end on the same link
    assert one.row().chain_head == two.row().chain_head == one.cross().chain_hash == two.cross().chain_hash
    assert one.row().chain_length == 1
    assert violations() == []
    line = next(p for p in partners.partnerships_of(one.a.id, one.id))
    assert (line.owed_to_us, line.waiting) == (90, 0)


def test_a_received_service_is_confirmed_by_the_giver_and_the_chain_follows_in_order(pair):
    one, two = pair
    record(one, two, 30, direction="received")
    partners.confirm(two.b.id, two.id, two.cross().id)
    record(two, one, 45, by=two.b, to=one.a)
    partners.confirm(one.a.id, one.id, one.cross().id)
    assert one.time(one.a) == -30 - 45 and two.time(two.b) == 30 + 45  # a received both times
    assert one.balance(f"clearing:{two.id}") == -two.balance(f"clearing:{one.id}") == 75
    assert one.row().chain_length == two.row().chain_length == 2
    assert one.row().chain_head == two.row().chain_head
    assert violations() == []


def test_declined_or_withdrawn_exchanges_are_erased_in_both_clubs_and_never_posted(pair):
    one, two = pair
    record(one, two, 60)
    partners.decline(two.b.id, two.id, two.cross().id, reason="Ce n'était qu'une heure")
    assert (one.cross().state, two.cross().state) == (CrossState.ERASED, CrossState.ERASED)
    assert one.cross().reason == "Ce n'était qu'une heure"
    record(one, two, 60)
    partners.withdraw(one.a.id, one.id, one.cross().id)
    assert (one.cross().state, two.cross().state) == (CrossState.ERASED, CrossState.ERASED)
    assert one.time(one.a) == two.time(two.b) == 0
    assert db.session.scalar(select(func.count()).select_from(JournalTransaction).where(
        JournalTransaction.idempotency_key.like("cross:%"))) == 0
    assert violations() == []


def test_who_may_confirm_decline_and_withdraw(pair):
    one, two = pair
    record(one, two, 60)
    theirs, mine = two.cross(), one.cross()
    refused(lambda: partners.confirm(one.a.id, one.id, mine.id), NotPermitted, rule="R12")
    refused(lambda: partners.withdraw(two.b.id, two.id, theirs.id), NotPermitted, rule="R12")
    refused(lambda: partners.decline(one.a.id, one.id, mine.id, reason="non"), NotPermitted, rule="R12")
    refused(lambda: partners.confirm(two.a.id, two.id, theirs.id), NotFound)  # another member's
    refused(lambda: partners.confirm(two.b.id, one.id, mine.id), NotFound)  # another club's
    refused(lambda: partners.confirm(two.b.id, two.id, "1 OR 1=1"), NotFound)
    refused(lambda: partners.decline(two.b.id, two.id, theirs.id, reason=""), InvalidInput, field="reason")
    partners.confirm(two.b.id, two.id, theirs.id)
    refused(lambda: partners.confirm(two.b.id, two.id, theirs.id), Conflict)
    refused(lambda: partners.withdraw(one.a.id, one.id, mine.id), Conflict)


@pytest.mark.parametrize(("field", "value", "error"), [
    ("minutes", 0, InvalidInput), ("minutes", -30, InvalidInput), ("minutes", 24 * 60 + 1, InvalidInput),
    ("minutes", "90", InvalidInput), ("done_on", TODAY + timedelta(days=1), InvalidInput),
    ("done_on", TODAY - timedelta(days=400), InvalidInput), ("done_on", "2026-01-01", InvalidInput),
    ("description", "x" * 501, InvalidInput), ("direction", "both", InvalidInput),
])
def test_recording_refuses_bad_values(pair, field, value, error):
    one, two = pair
    values = {"minutes": 60, "done_on": TODAY, "description": "Aide", "direction": "given", field: value}
    refused(lambda: partners.record_exchange(one.a.id, one.id, one.row().id, partner_member_id=two.mid(two.b),
                                             form_key=key(), **values), error)


def test_recording_names_a_member_of_the_partner_club_only(pair, make_club):
    one, two = pair
    for member_id in (one.mid(one.b), 999_999):  # a member of one's own club, or no one
        refused(lambda m=member_id: partners.record_exchange(
            one.a.id, one.id, one.row().id, partner_member_id=m, direction="given", minutes=60, done_on=TODAY,
            description="Aide", form_key=key()), NotFound, field="partner_member_id")
    used = key()
    record(one, two, 60, form_key=used)
    refused(lambda: record(one, two, 60, form_key=used), Conflict)


def test_the_limit_between_the_clubs_holds(pair):
    one, two = pair
    for _ in range(6):  # 6 × 1.5 h = 9 h of the 10
        record(one, two, 90)
        partners.confirm(two.b.id, two.id, two.cross().id)
    error = refused(lambda: record(one, two, 90), RuleViolation, rule="R12", field="minutes")
    assert "10" in str(error.message)
    record(one, two, 60)  # exactly to the limit
    partners.confirm(two.b.id, two.id, two.cross().id)
    assert one.balance(f"clearing:{two.id}") == -LIMIT
    assert violations() == []


def test_a_floor_holds_when_the_receiver_confirms(pair):
    one, two = pair
    timebank.set_member_limits(two.manager.id, two.id, two.mid(two.b), floor=-60, ceiling=600, reason="nouveau")
    record(one, two, 90)
    refused(lambda: partners.confirm(two.b.id, two.id, two.cross().id), LimitExceeded, rule="R12")
    assert two.cross().state == CrossState.PENDING


def test_a_suspended_partnership_trades_no_more_until_resumed(pair):
    one, two = pair
    record(one, two, 60)
    partners.suspend(two.manager.id, two.id, two.row().id, form_key=key())
    assert one.row().suspended_there_at is not None and not one.row().trading
    refused(lambda: record(one, two, 60), RuleViolation, rule="R12")
    refused(lambda: partners.confirm(two.b.id, two.id, two.cross().id), RuleViolation, rule="R12")
    refused(lambda: partners.suspend(two.manager.id, two.id, two.row().id, form_key=key()), Conflict)
    refused(lambda: partners.suspend(two.b.id, two.id, two.row().id, form_key=key()), NotPermitted)
    refused(lambda: partners.resume(one.manager.id, one.id, one.row().id, form_key=key()), Conflict)
    partners.resume(two.manager.id, two.id, two.row().id, form_key=key())
    assert one.row().trading and two.row().trading
    partners.confirm(two.b.id, two.id, two.cross().id)
    assert two.time(two.b) == -60


def test_an_exchange_not_confirmed_in_time_expires_in_both(pair):
    one, two = pair
    record(one, two, 60)
    later = TODAY + timedelta(days=31)
    refused(lambda: partners.confirm(two.b.id, two.id, two.cross().id, today=later), RuleViolation, rule="R12")
    assert partners.expire_due(today=later) == 1
    assert (one.cross().state, two.cross().state) == (CrossState.ERASED, CrossState.ERASED)


# --- The hand-off: crashes, retries, refusals ------------------------------------------------------------------


def _crash_on(monkeypatch, kind: str) -> list:
    """Delivering a relay of ``kind`` dies after the receiving club committed, before the sender marks it."""
    crashed = []

    def crash(relay):
        if relay.kind == kind and not crashed:
            crashed.append(relay.key)
            raise ConnectionError("the server went away")

    monkeypatch.setattr(partners, "_between_sides", crash)
    return crashed


def test_a_crash_between_the_two_sides_leaves_both_books_balanced_and_a_retry_completes(pair, monkeypatch):
    one, two = pair
    record(one, two, 90)
    monkeypatch.setattr(partners, "HANDLERS", {**partners.HANDLERS, "exchange.commit": _dies})
    partners.confirm(two.b.id, two.id, two.cross().id)  # B posts; the step to A fails
    assert (two.cross().state, one.cross().state) == (CrossState.COMMITTED, CrossState.PENDING)
    assert two.time(two.b) == -90 and one.time(one.a) == 0
    relay = db.session.scalar(select(Relay).where(Relay.club_id == two.id, Relay.kind == "exchange.commit"))
    assert relay.status == RelayStatus.PENDING and relay.attempts == 1 and "went away" in relay.last_error
    assert [v for v in violations() if v.invariant != 16] == []  # each club's books balance on their own
    monkeypatch.undo()
    assert partners.deliver_due(now=utcnow() + timedelta(hours=1)) >= 1
    assert (one.cross().state, two.cross().state) == (CrossState.COMPLETED, CrossState.COMPLETED)
    assert one.time(one.a) == 90 and one.balance(f"clearing:{two.id}") == -90
    assert violations() == []


def _dies(club_id, payload):
    raise ConnectionError("the server went away")


def test_a_step_applied_but_not_marked_is_applied_once_when_sent_again(pair, monkeypatch):
    one, two = pair
    record(one, two, 90)
    crashed = _crash_on(monkeypatch, "exchange.commit")
    partners.confirm(two.b.id, two.id, two.cross().id)
    assert crashed  # A posted its side, then the mark in B was lost
    assert one.cross().state == CrossState.COMPLETED
    relay = db.session.scalar(select(Relay).where(Relay.club_id == two.id, Relay.kind == "exchange.commit"))
    assert relay.status == RelayStatus.PENDING
    partners.deliver_due(now=utcnow() + timedelta(hours=1))
    db.session.rollback()
    assert db.session.get(Relay, (relay.id, two.id)).status == RelayStatus.DELIVERED
    assert one.time(one.a) == 90  # not twice
    assert db.session.scalar(select(func.count()).select_from(JournalTransaction).where(
        JournalTransaction.club_id == one.id, JournalTransaction.idempotency_key.like("cross:%"))) == 1
    assert violations() == []


def test_steps_between_two_clubs_arrive_in_order(pair, monkeypatch):
    one, two = pair
    monkeypatch.setattr(partners, "HANDLERS", {**partners.HANDLERS, "partnership.suspend": _dies})
    partners.suspend(one.manager.id, one.id, one.row().id, form_key=key())
    partners.resume(one.manager.id, one.id, one.row().id, form_key=key())
    # the resume waits behind the suspension that failed: the partner never sees them out of order
    assert two.row().suspended_there_at is None
    assert db.session.scalar(select(func.count()).select_from(Relay).where(
        Relay.club_id == one.id, Relay.status == RelayStatus.PENDING)) == 2
    monkeypatch.undo()
    partners.deliver_due(now=utcnow() + timedelta(hours=1))
    assert two.row().suspended_there_at is None and two.row().trading
    # the suspension arriving once more, late (two deliveries racing): seen as applied, skipped
    late = db.session.scalar(select(Relay).where(Relay.club_id == one.id, Relay.kind == "partnership.suspend"))
    with unit_of_work():
        partners._apply_once(two.id, one.id, late.id, late.kind, dict(late.payload))
    assert two.row().trading


def test_the_second_club_refusing_reverses_the_first_clubs_side(pair):
    one, two = pair
    record(one, two, 90)
    # a's ceiling is lowered before b confirms: A cannot post when the step arrives
    timebank.set_member_limits(one.manager.id, one.id, one.mid(one.a), floor=-600, ceiling=60, reason="plafond")
    partners.confirm(two.b.id, two.id, two.cross().id)
    mine, theirs = one.cross(), two.cross()
    assert (mine.state, theirs.state) == (CrossState.ERASED, CrossState.ERASED)
    assert theirs.transaction_id is not None and theirs.reversal_id is not None
    assert two.time(two.b) == 0 and two.balance(f"clearing:{one.id}") == 0
    assert one.time(one.a) == 0 and mine.transaction_id is None
    assert violations() == []


def test_a_withdrawal_crossing_a_confirmation_ends_erased_in_both(pair, monkeypatch):
    one, two = pair
    record(one, two, 90)
    monkeypatch.setattr(partners, "HANDLERS", {**partners.HANDLERS, "exchange.erase": _dies})
    partners.withdraw(one.a.id, one.id, one.cross().id)  # the withdrawal does not reach B yet
    monkeypatch.undo()
    partners.confirm(two.b.id, two.id, two.cross().id)  # B posts, A answers with an erase
    partners.deliver_due(now=utcnow() + timedelta(hours=1))
    assert (one.cross().state, two.cross().state) == (CrossState.ERASED, CrossState.ERASED)
    assert two.time(two.b) == 0 and one.time(one.a) == 0
    assert violations() == []


def test_invariant_16_sees_clearing_balances_that_disagree(pair):
    one, two = pair
    record(one, two, 90)
    partners.confirm(two.b.id, two.id, two.cross().id)
    # post to one club's clearing account by hand, as a faulty import would
    account = db.session.scalar(select(Account).where(Account.club_id == one.id,
                                                      Account.code == f"clearing:{two.id}"))
    ledger.post(one.id, unit="time", kind="adjustment", lines=[(account.id, 30), (
        ledger.find_account(one.id, f"time:{one.mid(one.a)}").id, -30)], idempotency_key=key(), author_id=None)
    found = [v for v in violations() if v.invariant == 16]
    assert len(found) == 1 and "-60" in found[0].detail


def test_flask_coop_tick_delivers_the_steps_that_wait_and_check_then_passes(pair, monkeypatch, app):
    one, two = pair
    record(one, two, 90)
    monkeypatch.setattr(partners, "HANDLERS", {**partners.HANDLERS, "exchange.commit": _dies})
    partners.confirm(two.b.id, two.id, two.cross().id)
    monkeypatch.undo()
    runner = app.test_cli_runner()
    early = runner.invoke(args=["coop", "tick"])  # the retry is not due yet: a minute or two of back-off
    assert early.exit_code == 0 and "0 step(s) delivered to partner clubs" in early.output
    with unit_of_work():
        db.session.execute(update(Relay).where(Relay.club_id == two.id).values(next_attempt_at=utcnow()))
    done = runner.invoke(args=["coop", "tick"])
    assert done.exit_code == 0 and "1 step(s) delivered to partner clubs" in done.output, done.output
    assert (one.cross().state, two.cross().state) == (CrossState.COMPLETED, CrossState.COMPLETED)
    check = runner.invoke(args=["coop", "check"])
    assert check.exit_code == 0, check.output


def test_a_members_figures_and_statement_count_the_partner_clubs_exchanges(pair):
    one, two = pair
    record(one, two, 90)  # a gave 1 h 30 to b
    partners.confirm(two.b.id, two.id, two.cross().id)
    record(two, one, 30, by=two.b, to=one.a)  # b gave 30 min to a
    partners.confirm(one.a.id, one.id, one.cross().id)
    mine = timebank.standing(one.a.id, one.id)
    assert (mine.given, mine.received, mine.balance) == (90, 30, 60)  # given less received is the balance
    assert mine.partners == set()  # no member of the club among them
    theirs = next(s for s in timebank.reciprocity(two.b.id, two.id) if s.member.id == two.mid(two.b))
    assert (theirs.given, theirs.received, theirs.balance) == (30, 90, -60)
    _member, lines = timebank.statement(one.a.id, one.id)
    assert [(line.amount, line.partner) for line in lines] == [
        (90, f"{two.b.name} (Cigale du Vercors)"), (-30, f"{two.b.name} (Cigale du Vercors)")]


def test_a_reversal_a_limit_refuses_waits_without_holding_up_the_steps_behind_it(pair, monkeypatch):
    one, two = pair
    record(one, two, 90)
    monkeypatch.setattr(partners, "HANDLERS", {**partners.HANDLERS, "exchange.commit": _dies})
    partners.confirm(two.b.id, two.id, two.cross().id)  # B posts its side; A has not heard yet
    timebank.set_member_limits(one.manager.id, one.id, one.mid(one.a), floor=-600, ceiling=60, reason="plafond")
    monkeypatch.undo()

    def refused_reversal(*args, **kwargs):
        raise LimitExceeded("no room", rule="R12")

    monkeypatch.setattr(partners.ledger, "reverse", refused_reversal)
    partners.deliver_due(now=utcnow() + timedelta(hours=1))  # A refuses; B cannot reverse yet
    assert (one.cross().state, two.cross().state) == (CrossState.ERASED, CrossState.UNDOING)
    assert two.cross().reason == "refused"  # a code, never A's words about its member's balance
    partners.suspend(one.manager.id, one.id, one.row().id, form_key=key())  # the next step still arrives
    assert two.row().suspended_there_at is not None
    assert violations() == []  # posted and not yet reversed, as its state says; the pair is still settling
    monkeypatch.undo()
    assert partners.undo_due() == 1
    assert two.cross().state == CrossState.ERASED and two.time(two.b) == 0
    assert two.balance(f"clearing:{one.id}") == 0
    assert violations() == []


def test_no_one_trades_with_themselves_across_clubs(pair):
    one, two = pair
    both = admit_by_vote(two.setup, one.a)  # a joins the partner club too
    refused(lambda: partners.record_exchange(one.a.id, one.id, one.row().id, partner_member_id=both,
                                             direction="given", minutes=60, done_on=TODAY, description="Aide",
                                             form_key=key()), RuleViolation, rule="R12", field="partner_member_id")


def test_an_offer_never_changes_the_terms_members_are_voting_on(clubs):
    one, two = clubs
    theirs = partners.propose(two.manager.id, two.id, partner_club_id=one.id, limit_minutes=LIMIT * 2,
                              form_key=key())
    ballots.open_ballot(two.manager.id, two.id, kind="partnership", method="yes_no",
                        closes_at=utcnow() + timedelta(days=7),
                        subject=ballots.Subject(partnership_id=theirs.id), form_key=key())
    row = partners.propose(one.manager.id, one.id, partner_club_id=two.id, limit_minutes=LIMIT, form_key=key())
    one.vote(row.id)  # one's offer reaches two while two votes on its own terms
    mine = db.session.get(Partnership, (theirs.id, two.id))
    assert (mine.status, mine.limit_minutes) == (PartnershipStatus.DRAFT, LIMIT * 2)
    assert one.row().status == PartnershipStatus.REFUSED  # crossed: it may be proposed again


def test_the_tick_waits_for_the_first_steps_back_off_before_the_pair_goes_on(pair, monkeypatch):
    one, two = pair
    monkeypatch.setattr(partners, "HANDLERS", {**partners.HANDLERS, "partnership.suspend": _dies})
    partners.suspend(one.manager.id, one.id, one.row().id, form_key=key())
    partners.resume(one.manager.id, one.id, one.row().id, form_key=key())  # waits behind the suspension
    monkeypatch.undo()
    assert partners.deliver_due() == 0  # the suspension's retry is not due yet, so neither is the resume
    assert partners.deliver_due(now=utcnow() + timedelta(hours=1)) == 2
    assert two.row().trading


def test_a_club_that_no_longer_trades_confirms_nothing(pair):
    one, two = pair
    record(one, two, 60)
    with unit_of_work():
        db.session.execute(update(Club).where(Club.id == two.id).values(status=ClubStatus.DISSOLVING))
    refused(lambda: partners.confirm(two.b.id, two.id, two.cross().id), RuleViolation, rule="R12")
