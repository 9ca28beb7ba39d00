"""Time bank exchanges (R12): recording, confirming, arranged exchanges, refusals, races, withdrawal,
disputes and their settlement, expiry, a member's own limits and the time invariants (10, 11).

Sign convention: a member's time balance is time given minus time received, in minutes; posting an exchange
puts the provider up and the receiver down by its minutes. Charter defaults: floor −600 (−10 h), ceiling 2400
(+40 h), confirmation needed, 30 days to confirm.

Clubs come from ``make_club(5)``: the manager, the treasurer, then three plain members ``a``, ``b``, ``c``,
so that the manager can settle their disputes without being a party.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from coop.extensions import db
from coop.models import Account, AuditEntry, Exchange, JournalTransaction, TransactionKind, Unit
from coop.services import clubs as ms
from coop.services import ledger, timebank
from coop.services.charter import charter_of
from coop.services.errors import Conflict, InvalidInput, LimitExceeded, NotFound, NotPermitted, RuleViolation
from tests.conftest import SetupView, at_once, by_id, key, pause_after, refused

TODAY = date.today()


# --- Helpers ---------------------------------------------------------------------------------------------


@dataclass
class Club(SetupView):
    @property
    def id(self) -> int:
        return self.setup.club_id

    @property
    def a(self):
        return self.setup.members[2]

    @property
    def b(self):
        return self.setup.members[3]

    @property
    def c(self):
        return self.setup.members[4]

    def warm(self) -> None:
        """Load the people's ids in this thread: racing threads must not lazy-load through the test's session."""
        db.session.rollback()
        for user in self.setup.members:
            user.id  # noqa: B018

    def balance(self, user) -> int:
        db.session.rollback()
        return db.session.scalar(select(Account.balance).where(
            Account.club_id == self.id, Account.code == f"time:{self.mid(user)}"))

    def limits(self, user) -> tuple[int, int]:
        db.session.rollback()
        account = db.session.scalar(select(Account).where(
            Account.club_id == self.id, Account.code == f"time:{self.mid(user)}"))
        return account.floor, account.ceiling

    def record(self, by, other, direction: str, minutes: int, *, done_on: date = TODAY, today: date = TODAY,
               description: str = "Réparer un vélo", form_key: str | None = None) -> int:
        return timebank.record_exchange(by.id, self.id, other_id=self.mid(other), direction=direction,
                                        minutes=minutes, done_on=done_on, description=description,
                                        form_key=form_key or key(), today=today).id

    def give(self, provider, receiver, minutes: int, **kw) -> int:
        """The provider records; with the charter's confirmation this stays pending."""
        return self.record(provider, receiver, "given", minutes, **kw)

    def receive(self, receiver, provider, minutes: int, **kw) -> int:
        """The receiver records: posted at once."""
        return self.record(receiver, provider, "received", minutes, **kw)

    def confirm(self, user, exchange_id: int, today: date = TODAY) -> Exchange:
        return timebank.confirm(user.id, self.id, exchange_id, today=today)

    def posted(self, provider, receiver, minutes: int) -> int:
        exchange_id = self.give(provider, receiver, minutes)
        self.confirm(receiver, exchange_id)
        return exchange_id

    def settle(self, by, exchange_id: int, decision: str, reason: str = "Vu avec les deux membres") -> Exchange:
        return timebank.settle(by.id, self.id, exchange_id, decision=decision, reason=reason)

    def dispute(self, by, exchange_id: int, reason: str = "Ce n'était qu'une heure") -> Exchange:
        return timebank.dispute(by.id, self.id, exchange_id, reason=reason)


@pytest.fixture
def club(make_club) -> Club:
    return Club(make_club(5))


def fetch(exchange_id: int) -> Exchange:
    db.session.rollback()
    return by_id(Exchange, exchange_id)


def exchange_transactions(club_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(JournalTransaction).where(
        JournalTransaction.club_id == club_id, JournalTransaction.kind == TransactionKind.EXCHANGE))


def time_total(club_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.sum(Account.balance)).where(
        Account.club_id == club_id, Account.unit == Unit.TIME))


def no_confirmation(setup_maker) -> Club:
    """An active club whose charter posts an exchange the provider records, without confirmation."""
    setup = setup_maker(5, activate=False)
    values = ms.charter_values(charter_of(setup.club_id))
    ms.amend_charter(setup.manager.id, setup.club_id, {**values, "exchange_needs_confirmation": False})
    ms.activate(setup.manager.id, setup.club_id)
    return Club(setup)


# --- Recording and confirming ---------------------------------------------------------------------------------


def test_the_provider_records_and_the_receiver_confirms_once(club):
    exchange_id = club.give(club.a, club.b, 90)
    pending = fetch(exchange_id)
    assert pending.status == "pending"
    assert pending.expires_on == TODAY + timedelta(days=30)
    assert (pending.provider_id, pending.receiver_id, pending.minutes) == (club.mid(club.a), club.mid(club.b), 90)
    assert pending.recorded_by_id == club.mid(club.a)
    assert pending.transaction_id is None and pending.confirmed_at is None
    assert exchange_transactions(club.id) == 0
    assert (club.balance(club.a), club.balance(club.b)) == (0, 0)

    club.confirm(club.b, exchange_id)
    confirmed = fetch(exchange_id)
    assert confirmed.status == "confirmed"
    assert confirmed.confirmed_at is not None and confirmed.transaction_id is not None
    txn = by_id(JournalTransaction, confirmed.transaction_id)
    assert (txn.kind, txn.unit, txn.occurred_on) == ("exchange", "time", TODAY)
    assert exchange_transactions(club.id) == 1
    assert (club.balance(club.a), club.balance(club.b)) == (90, -90)

    # a second confirmation is refused and posts nothing more
    refused(lambda: club.confirm(club.b, exchange_id), Conflict)
    assert exchange_transactions(club.id) == 1
    assert (club.balance(club.a), club.balance(club.b)) == (90, -90)
    assert timebank.check() == []


def test_the_receiver_recording_posts_at_once(club):
    exchange_id = club.receive(club.b, club.a, 45)
    exchange = fetch(exchange_id)
    assert exchange.status == "confirmed" and exchange.transaction_id is not None
    assert (exchange.provider_id, exchange.receiver_id) == (club.mid(club.a), club.mid(club.b))
    assert exchange.confirmed_at is not None
    assert exchange_transactions(club.id) == 1
    assert (club.balance(club.a), club.balance(club.b)) == (45, -45)


def test_without_confirmation_in_the_charter_the_providers_record_posts(make_club):
    club = no_confirmation(make_club)
    exchange_id = club.give(club.a, club.b, 120)
    exchange = fetch(exchange_id)
    assert exchange.status == "confirmed" and exchange.transaction_id is not None
    assert exchange_transactions(club.id) == 1
    assert (club.balance(club.a), club.balance(club.b)) == (120, -120)


# --- Arranged exchanges ------------------------------------------------------------------------------------------


def publish(club: Club, author, kind: str, title: str) -> int:
    values = {"kind": kind, "title": title, "description": "", "category": "diy", "availability": ""}
    if kind == "request":
        values["expires_on"] = TODAY + timedelta(days=20)
    return timebank.publish(author.id, club.id, values, form_key=key()).id


def test_answering_an_offer_makes_its_author_the_provider(club):
    offer = publish(club, club.a, "offer", "Je répare les vélos")
    exchange_id = timebank.answer(club.b.id, club.id, offer, form_key=key()).id
    arranged = fetch(exchange_id)
    assert arranged.status == "arranged" and arranged.listing_id == offer
    assert (arranged.provider_id, arranged.receiver_id) == (club.mid(club.a), club.mid(club.b))
    assert arranged.expires_on == TODAY + timedelta(days=30)
    assert arranged.minutes is None and arranged.transaction_id is None

    # the provider records it: the receiver still confirms
    timebank.complete(club.a.id, club.id, exchange_id, minutes=75, done_on=TODAY, description="Roue voilée")
    assert fetch(exchange_id).status == "pending"
    assert (club.balance(club.a), club.balance(club.b)) == (0, 0)
    club.confirm(club.b, exchange_id)
    assert fetch(exchange_id).status == "confirmed"
    assert (club.balance(club.a), club.balance(club.b)) == (75, -75)
    assert exchange_transactions(club.id) == 1


def test_answering_a_request_makes_the_answerer_the_provider(club):
    request = publish(club, club.a, "request", "Qui m'aide à déménager ?")
    exchange_id = timebank.answer(club.b.id, club.id, request, form_key=key()).id
    arranged = fetch(exchange_id)
    assert (arranged.provider_id, arranged.receiver_id) == (club.mid(club.b), club.mid(club.a))

    # the receiver (the request's author) records it: posted at once
    timebank.complete(club.a.id, club.id, exchange_id, minutes=180, done_on=TODAY, description="Déménagement")
    done = fetch(exchange_id)
    assert done.status == "confirmed" and done.transaction_id is not None
    assert (club.balance(club.b), club.balance(club.a)) == (180, -180)


# --- Refusals ------------------------------------------------------------------------------------------------------


def test_the_floor_refuses_and_names_the_floor_and_the_balance(club):
    club.receive(club.b, club.a, 570)  # b at −570 = −9 h 30
    err = refused(lambda: club.receive(club.b, club.c, 60), LimitExceeded, rule="R12", field="minutes")
    message = str(err.message)
    assert "−9\u00a0h\u00a030" in message and "−10\u00a0h" in message and club.b.name in message
    # recorded by the provider, to be confirmed later: refused as well
    refused(lambda: club.give(club.c, club.b, 60), LimitExceeded, rule="R12")
    # 30 minutes still fit, exactly down to the floor
    club.receive(club.b, club.c, 30)
    assert club.balance(club.b) == -600


def test_the_ceiling_refuses_and_names_it(club):
    timebank.set_member_limits(club.manager.id, club.id, club.mid(club.a), floor=-600, ceiling=120,
                               reason="Plafond bas le temps de faire connaissance")
    club.receive(club.b, club.a, 90)  # a at +1 h 30, ceiling +2 h
    err = refused(lambda: club.receive(club.c, club.a, 60), LimitExceeded, rule="R12", field="minutes")
    message = str(err.message)
    assert "1\u00a0h\u00a030" in message and "2\u00a0h" in message and club.a.name in message
    club.receive(club.c, club.a, 30)
    assert club.balance(club.a) == 120


def test_no_exchange_with_oneself_another_clubs_member_or_a_former_member(club, make_club):
    refused(lambda: club.give(club.a, club.a, 60), RuleViolation, rule="R12", field="other_id")
    other = make_club(5, name="Fourmi")
    stranger = other.membership_id(other.members[3])
    refused(lambda: timebank.record_exchange(
        club.a.id, club.id, other_id=stranger, direction="given", minutes=60, done_on=TODAY,
        description="Jardinage", form_key=key()), RuleViolation, rule="R12", field="other_id")
    ms.leave(club.c.id, club.id)
    refused(lambda: club.give(club.a, club.c, 60), RuleViolation, rule="R12", field="other_id")
    refused(lambda: club.receive(club.a, club.c, 60), RuleViolation, rule="R12", field="other_id")
    # the former member can record nothing either
    refused(lambda: club.give(club.c, club.a, 60), NotFound)


def test_an_exchange_with_a_member_who_left_is_not_confirmed(club):
    exchange_id = club.give(club.c, club.b, 60)
    ms.leave(club.c.id, club.id)
    refused(lambda: club.confirm(club.b, exchange_id), RuleViolation, rule="R12")
    assert fetch(exchange_id).status == "pending"


def test_only_the_receiver_confirms(club):
    exchange_id = club.give(club.a, club.b, 60)
    refused(lambda: club.confirm(club.a, exchange_id), NotPermitted, rule="R12")
    refused(lambda: club.confirm(club.c, exchange_id), NotFound)
    refused(lambda: club.confirm(club.manager, exchange_id), NotFound)  # officers are no party either
    refused(lambda: club.confirm(club.b, exchange_id + 1000), NotFound)
    assert fetch(exchange_id).status == "pending"


def test_an_expired_exchange_is_not_confirmed(club):
    exchange_id = club.give(club.a, club.b, 60)  # expires on TODAY + 30
    refused(lambda: club.confirm(club.b, exchange_id, today=TODAY + timedelta(days=31)), RuleViolation,
            rule="R12")
    # the last day is still in time
    club.confirm(club.b, exchange_id, today=TODAY + timedelta(days=30))
    assert (club.balance(club.a), club.balance(club.b)) == (60, -60)


@pytest.mark.parametrize("minutes", [0, -30, 24 * 60 + 1, 10**9, True, "60", 1.5])
def test_minutes_out_of_range_are_refused(club, minutes):
    refused(lambda: club.receive(club.b, club.a, minutes), InvalidInput, field="minutes")


def test_a_whole_day_is_the_longest_exchange(club):
    timebank.set_member_limits(club.manager.id, club.id, club.mid(club.b), floor=-2000, ceiling=2400,
                               reason="Convalescence")
    club.receive(club.b, club.a, 24 * 60)
    assert club.balance(club.b) == -1440


def test_dates_and_description_are_checked(club):
    refused(lambda: club.give(club.a, club.b, 60, done_on=TODAY + timedelta(days=1)), InvalidInput,
            field="done_on")
    refused(lambda: club.give(club.a, club.b, 60, done_on=TODAY - timedelta(days=367)), InvalidInput,
            field="done_on")
    refused(lambda: club.give(club.a, club.b, 60, description="   "), InvalidInput, field="description")
    refused(lambda: club.give(club.a, club.b, 60, description=""), InvalidInput, field="description")
    refused(lambda: club.record(club.a, club.b, "lent", 60), InvalidInput, field="direction")
    # a year back (366 days) is still accepted, and yesterday's service posts on its own day
    old = club.receive(club.b, club.a, 30, done_on=TODAY - timedelta(days=366))
    assert fetch(old).done_on == TODAY - timedelta(days=366)


def test_a_replayed_form_is_refused(club):
    form = key()
    club.receive(club.b, club.a, 60, form_key=form)
    refused(lambda: club.receive(club.b, club.a, 60, form_key=form), Conflict)
    assert exchange_transactions(club.id) == 1
    assert club.balance(club.b) == -60


# --- Races ------------------------------------------------------------------------------------------------------


def test_two_confirmations_past_the_floor_at_once_post_one(app, club, monkeypatch):
    club.receive(club.c, club.manager, 480)  # c at −480 (−8 h)
    first = club.give(club.a, club.c, 90)  # each alone fits: −570 ≥ −600
    second = club.give(club.b, club.c, 90)  # together: −660 < −600
    club.warm()
    pause_after(monkeypatch, timebank, "_exchange")  # both have read their exchange before either posts
    outcomes = at_once(app, lambda: club.confirm(club.c, first), lambda: club.confirm(club.c, second))
    assert outcomes == ["LimitExceeded R12", "done"]
    assert club.balance(club.c) == -570
    assert club.balance(club.a) + club.balance(club.b) == 90
    assert sorted([fetch(first).status, fetch(second).status]) == ["confirmed", "pending"]
    assert exchange_transactions(club.id) == 2  # the 8 h and one of the 1 h 30
    assert timebank.check() == [] and time_total(club.id) == 0


def test_two_immediate_records_past_the_floor_at_once_post_one(app, club, monkeypatch):
    club.receive(club.c, club.manager, 480)
    club.warm()
    pause_after(monkeypatch, timebank, "_partner")
    outcomes = at_once(app, lambda: club.receive(club.c, club.a, 90), lambda: club.receive(club.c, club.b, 90))
    assert outcomes == ["LimitExceeded R12", "done"]
    assert club.balance(club.c) == -570
    assert club.balance(club.a) + club.balance(club.b) == 90
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Exchange)) == 2  # the refused one was not kept
    assert exchange_transactions(club.id) == 2
    assert timebank.check() == [] and time_total(club.id) == 0


def test_the_same_exchange_confirmed_twice_at_once_posts_once(app, club, monkeypatch):
    exchange_id = club.give(club.a, club.b, 60)
    club.warm()
    pause_after(monkeypatch, timebank, "membership_for")
    outcomes = at_once(app, lambda: club.confirm(club.b, exchange_id), lambda: club.confirm(club.b, exchange_id))
    assert outcomes == ["Conflict", "done"]
    assert exchange_transactions(club.id) == 1
    assert (club.balance(club.a), club.balance(club.b)) == (60, -60)
    assert timebank.check() == []


# --- Withdrawing and disputing -------------------------------------------------------------------------------------


def test_the_recorder_withdraws_a_pending_exchange(club):
    exchange_id = club.give(club.a, club.b, 60)
    refused(lambda: timebank.withdraw(club.b.id, club.id, exchange_id), NotPermitted)
    refused(lambda: timebank.withdraw(club.c.id, club.id, exchange_id), NotFound)
    timebank.withdraw(club.a.id, club.id, exchange_id)
    withdrawn = fetch(exchange_id)
    assert withdrawn.status == "cancelled" and withdrawn.resolved_by_id == club.mid(club.a)
    assert withdrawn.transaction_id is None
    refused(lambda: club.confirm(club.b, exchange_id), Conflict)
    refused(lambda: timebank.withdraw(club.a.id, club.id, exchange_id), Conflict)
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "exchange.withdraw", AuditEntry.object_id == exchange_id)) == 1


def test_an_arranged_exchange_is_called_off_and_a_posted_one_is_not_withdrawn(club):
    offer = publish(club, club.a, "offer", "Cours de guitare")
    arranged = timebank.answer(club.b.id, club.id, offer, form_key=key()).id
    refused(lambda: timebank.withdraw(club.c.id, club.id, arranged), NotFound)
    timebank.withdraw(club.b.id, club.id, arranged)
    assert fetch(arranged).status == "cancelled"
    refused(lambda: timebank.complete(club.a.id, club.id, arranged, minutes=60, done_on=TODAY,
                                      description="Cours"), Conflict)

    posted = club.receive(club.b, club.a, 60)
    refused(lambda: timebank.withdraw(club.b.id, club.id, posted), Conflict)
    refused(lambda: timebank.withdraw(club.a.id, club.id, posted), Conflict)
    assert (club.balance(club.a), club.balance(club.b)) == (60, -60)


def test_only_the_other_party_disputes_and_says_why(club):
    exchange_id = club.give(club.a, club.b, 120)
    refused(lambda: club.dispute(club.a, exchange_id), NotPermitted)
    refused(lambda: club.dispute(club.c, exchange_id), NotFound)
    refused(lambda: club.dispute(club.b, exchange_id, reason=""), InvalidInput, field="reason")
    refused(lambda: club.dispute(club.b, exchange_id, reason="  \n "), InvalidInput, field="reason")
    club.dispute(club.b, exchange_id, reason="Une heure, pas deux")
    disputed = fetch(exchange_id)
    assert disputed.status == "disputed" and disputed.dispute_reason == "Une heure, pas deux"
    assert disputed.disputed_by_id == club.mid(club.b)
    refused(lambda: club.dispute(club.b, exchange_id), Conflict)
    refused(lambda: club.confirm(club.b, exchange_id), Conflict)
    assert (club.balance(club.a), club.balance(club.b)) == (0, 0)


# --- Settling disputes -------------------------------------------------------------------------------------------


def test_the_manager_cancels_an_unposted_dispute(club):
    exchange_id = club.give(club.a, club.b, 120)
    club.dispute(club.b, exchange_id)
    refused(lambda: club.settle(club.manager, exchange_id, "reverse"), Conflict)
    refused(lambda: club.settle(club.manager, exchange_id, "keep"), Conflict)
    refused(lambda: club.settle(club.manager, exchange_id, "cancel", reason=""), InvalidInput, field="reason")
    club.settle(club.manager, exchange_id, "cancel", reason="Pas fait")
    cancelled = fetch(exchange_id)
    assert cancelled.status == "cancelled" and cancelled.resolution == "Pas fait"
    assert cancelled.resolved_by_id == club.mid(club.manager) and cancelled.transaction_id is None
    assert exchange_transactions(club.id) == 0
    assert (club.balance(club.a), club.balance(club.b)) == (0, 0)
    refused(lambda: club.settle(club.manager, exchange_id, "cancel"), Conflict)


def test_the_manager_reverses_a_posted_dispute(club):
    exchange_id = club.posted(club.a, club.b, 120)
    club.receive(club.b, club.c, 30)  # other activity stays: b at −150, c at +30
    club.dispute(club.b, exchange_id)
    assert (club.balance(club.a), club.balance(club.b)) == (120, -150)  # disputed: still on the books
    refused(lambda: club.settle(club.manager, exchange_id, "cancel"), Conflict)
    club.settle(club.manager, exchange_id, "reverse", reason="Service non rendu")
    reversed_ = fetch(exchange_id)
    assert reversed_.status == "reversed" and reversed_.reversal_id is not None
    reversal = by_id(JournalTransaction, reversed_.reversal_id)
    assert reversal.kind == "reversal" and reversal.reverses_id == reversed_.transaction_id
    assert (club.balance(club.a), club.balance(club.b), club.balance(club.c)) == (0, -30, 30)
    refused(lambda: club.settle(club.manager, exchange_id, "reverse"), Conflict)
    assert timebank.check() == [] and ledger.check() == []


def test_the_manager_keeps_a_posted_dispute(club):
    exchange_id = club.posted(club.a, club.b, 120)
    club.dispute(club.b, exchange_id)
    club.settle(club.manager, exchange_id, "keep", reason="Deux heures, confirmé par un témoin")
    kept = fetch(exchange_id)
    assert kept.status == "confirmed" and kept.reversal_id is None
    assert kept.resolution == "Deux heures, confirmé par un témoin"
    assert (club.balance(club.a), club.balance(club.b)) == (120, -120)
    assert exchange_transactions(club.id) == 1


def test_who_settles_a_dispute(club):
    # the manager is not a party: the treasurer and plain members may not settle
    plain = club.posted(club.a, club.b, 60)
    club.dispute(club.b, plain)
    refused(lambda: club.settle(club.treasurer, plain, "keep"), NotPermitted)
    refused(lambda: club.settle(club.c, plain, "keep"), NotPermitted)
    # the manager is a party: not them (R8), the treasurer instead
    own = club.posted(club.manager, club.a, 60)
    club.dispute(club.a, own)
    refused(lambda: club.settle(club.manager, own, "reverse"), NotPermitted, rule="R8")
    club.settle(club.treasurer, own, "reverse", reason="Le gérant ne peut pas juger")
    assert fetch(own).status == "reversed"
    # a keeps the +60 given to b; the manager's 60 to a is undone
    assert (club.balance(club.manager), club.balance(club.a)) == (0, 60)
    # the treasurer is a party: not them either
    theirs = club.posted(club.treasurer, club.c, 30)
    club.dispute(club.c, theirs)
    refused(lambda: club.settle(club.treasurer, theirs, "reverse"), NotPermitted, rule="R8")


def test_a_reversal_that_would_pass_the_providers_floor_is_refused(club):
    exchange_id = club.posted(club.a, club.b, 600)  # a at +600
    club.dispute(club.b, exchange_id)
    club.receive(club.a, club.c, 700)  # a spent it: 600 − 700 = −100
    # reversing takes 600 off a: −700 < −600
    err = refused(lambda: club.settle(club.manager, exchange_id, "reverse"), LimitExceeded, rule="R12")
    assert club.a.name in str(err.message) and "−10\u00a0h" in str(err.message)
    assert fetch(exchange_id).status == "disputed"
    assert club.balance(club.a) == -100


# --- Expiry ---------------------------------------------------------------------------------------------------


def test_expire_due_expires_late_exchanges_only(club):
    pending = club.give(club.a, club.b, 60)  # expires on TODAY + 30
    offer = publish(club, club.a, "offer", "Tricot")
    arranged = timebank.answer(club.c.id, club.id, offer, form_key=key()).id  # expires on TODAY + 30
    later = club.give(club.b, club.c, 45, today=TODAY + timedelta(days=5))  # expires on TODAY + 35
    posted = club.receive(club.b, club.c, 30)

    assert timebank.expire_due(today=TODAY + timedelta(days=30)) == 0  # the last day is still in time
    assert fetch(pending).status == "pending"

    assert timebank.expire_due(today=TODAY + timedelta(days=31)) == 2
    assert [fetch(i).status for i in (pending, arranged, later, posted)] == [
        "expired", "expired", "pending", "confirmed"]
    entries = db.session.execute(select(AuditEntry.object_id, AuditEntry.actor_id, AuditEntry.before).where(
        AuditEntry.action == "exchange.expire").order_by(AuditEntry.object_id)).all()
    assert [(e[0], e[1], e[2]) for e in entries] == [
        (pending, None, {"status": "pending"}), (arranged, None, {"status": "arranged"})]
    assert timebank.expire_due(today=TODAY + timedelta(days=31)) == 0
    refused(lambda: club.confirm(club.b, pending, today=TODAY + timedelta(days=31)), Conflict)
    assert (club.balance(club.a), club.balance(club.b), club.balance(club.c)) == (0, -30, 30)


# --- A member's own limits ---------------------------------------------------------------------------------------


def test_only_the_manager_sets_a_members_limits_within_bounds(club):
    target = club.mid(club.b)

    def set_limits(by, floor=-120, ceiling=600, reason="Nouvelle venue"):
        return lambda: timebank.set_member_limits(by.id, club.id, target, floor=floor, ceiling=ceiling,
                                                  reason=reason)

    refused(set_limits(club.treasurer), NotPermitted)
    refused(set_limits(club.b), NotPermitted)
    refused(set_limits(club.manager, floor=-6_001), RuleViolation, rule="R12", field="floor")
    refused(set_limits(club.manager, floor=1), RuleViolation, rule="R12", field="floor")
    refused(set_limits(club.manager, ceiling=-1), RuleViolation, rule="R12", field="ceiling")
    refused(set_limits(club.manager, ceiling=24_001), RuleViolation, rule="R12", field="ceiling")
    refused(set_limits(club.manager, reason=" "), InvalidInput, field="reason")
    refused(set_limits(club.manager, floor=-600, ceiling=2400), Conflict)  # the charter's: nothing changes

    set_limits(club.manager)()
    assert club.limits(club.b) == (-120, 600)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "account.set_limits"))
    assert entry.actor_id == club.manager.id and entry.club_id == club.id
    assert entry.before == {"floor": -600, "ceiling": 2400}
    assert entry.after == {"floor": -120, "ceiling": 600, "reason": "Nouvelle venue"}

    # the new floor applies to the next exchange: 2 h 30 no longer fits, 2 h does
    refused(lambda: club.receive(club.b, club.a, 150), LimitExceeded, rule="R12")
    club.receive(club.b, club.a, 120)
    assert club.balance(club.b) == -120


def test_the_extreme_bounds_are_allowed(club):
    timebank.set_member_limits(club.manager.id, club.id, club.mid(club.b), floor=-6_000, ceiling=24_000,
                               reason="Aidant familial")
    assert club.limits(club.b) == (-6_000, 24_000)
    timebank.set_member_limits(club.manager.id, club.id, club.mid(club.b), floor=0, ceiling=0,
                               reason="En pause")
    assert club.limits(club.b) == (0, 0)
    refused(lambda: club.receive(club.b, club.a, 1), LimitExceeded, rule="R12")


def test_a_charter_amendment_keeps_a_members_own_limits(make_club):
    setup = make_club(5, activate=False)
    club = Club(setup)
    timebank.set_member_limits(club.manager.id, club.id, club.mid(club.a), floor=-300, ceiling=300,
                               reason="Limites prudentes")
    values = ms.charter_values(charter_of(club.id))
    ms.amend_charter(club.manager.id, club.id, {**values, "time_floor_minutes": -1200,
                                                "time_ceiling_minutes": 4800})
    assert club.limits(club.a) == (-300, 300)
    assert club.limits(club.b) == (-1200, 4800)
    ms.activate(club.manager.id, club.id)
    # each limit holds: b may receive 11 h (beyond the old −10 h), a not 6 h
    club.receive(club.b, club.c, 660)
    refused(lambda: club.receive(club.a, club.c, 360), LimitExceeded, rule="R12")
    assert (club.balance(club.b), club.balance(club.c)) == (-660, 660)


# --- Invariants --------------------------------------------------------------------------------------------------


def busy_club(club: Club) -> dict[str, int]:
    """A bit of everything; returns some exchange ids."""
    ids = {"confirmed": club.posted(club.a, club.b, 90), "immediate": club.receive(club.c, club.a, 60),
           "pending": club.give(club.b, club.c, 30)}
    ids["reversed"] = club.posted(club.c, club.b, 45)
    club.dispute(club.b, ids["reversed"])
    club.settle(club.manager, ids["reversed"], "reverse")
    ids["cancelled"] = club.give(club.a, club.c, 15)
    club.dispute(club.c, ids["cancelled"])
    club.settle(club.manager, ids["cancelled"], "cancel")
    ids["kept"] = club.posted(club.manager, club.c, 20)
    club.dispute(club.c, ids["kept"])
    club.settle(club.treasurer, ids["kept"], "keep")
    ids["expired"] = club.give(club.c, club.a, 10)
    timebank.expire_due(club_id=club.id, today=TODAY + timedelta(days=31))
    return ids


def test_the_invariants_hold_after_activity(club):
    busy_club(club)
    # a gave 90 to b and 60 to c; c's 45 to b was reversed; c received 20 from the manager (kept)
    assert [club.balance(u) for u in (club.manager, club.treasurer, club.a, club.b, club.c)] == [
        20, 0, 150, -90, -80]
    assert time_total(club.id) == 0
    assert timebank.check() == []
    assert ledger.check() == []


def test_a_tampered_balance_breaks_invariant_10(club):
    busy_club(club)
    db.session.execute(text("UPDATE account SET balance = balance + 60 WHERE code = :code AND club_id = :club"),
                       {"code": f"time:{club.mid(club.a)}", "club": club.id})
    db.session.commit()
    found = timebank.check()
    assert [(v.invariant, v.club_id) for v in found] == [(10, club.id)]
    assert "60" in found[0].detail


def test_a_confirmed_exchange_without_its_transaction_breaks_invariant_11(club):
    ids = busy_club(club)
    db.session.execute(text("UPDATE exchange SET status = 'confirmed' WHERE id = :id"), {"id": ids["pending"]})
    db.session.commit()
    found = timebank.check()
    assert [(v.invariant, v.club_id) for v in found] == [(11, club.id)]
    assert f"exchange {ids['pending']}" in found[0].detail


def test_an_exchange_whose_minutes_differ_from_its_postings_breaks_invariant_11(club, app):
    ids = busy_club(club)
    db.session.execute(text("UPDATE exchange SET minutes = 91 WHERE id = :id"), {"id": ids["confirmed"]})
    db.session.commit()
    found = timebank.check()
    assert [(v.invariant, v.club_id) for v in found] == [(11, club.id)]
    result = app.test_cli_runner().invoke(args=["coop", "check"])
    assert result.exit_code == 1
    assert f"invariant 11 (club {club.id}): exchange {ids['confirmed']}" in result.stderr
