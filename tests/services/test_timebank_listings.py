"""Time bank (R12) through the services, on both databases: offers and requests, their search,
answering them, and what members and officers read of the club's exchanges.

The club: six members — manager, treasurer, secretary (appointed while forming) and three plain
members A, B, C. Default charter: floor −600 min (−10 h), ceiling 2400 min (+40 h), warning at 80 %,
an exchange expires after 30 days. A member's balance = minutes given − minutes received."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from coop.extensions import db
from coop.models import Exchange, ExchangeStatus, Listing
from coop.services import clubs as ms
from coop.services import timebank as tb
from coop.services.errors import Conflict, InvalidInput, NotFound, NotPermitted, RuleViolation
from tests.conftest import ClubSetup, SetupView, by_id, key, refused, snapshot

TODAY = date.today()


@dataclass
class World(SetupView):
    other: ClubSetup | None = None  # a second club

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
    def c(self):
        return self.setup.members[5]


def make_world(make_club, size: int = 6) -> World:
    return World(make_club(size, secretary=True))


@pytest.fixture
def world(make_club) -> World:
    w = make_world(make_club)
    w.other = make_club(5, name="Fourmi Voisine")
    return w


def offer(**changes) -> dict:
    return {"kind": "offer", "title": "Réparation de vélos", "category": "diy", **changes}


def asking(**changes) -> dict:
    return {"kind": "request", "title": "Garde de chat", "category": "other",
            "expires_on": TODAY + timedelta(days=30), **changes}


def publish(world: World, user, values: dict, **kw) -> int:
    return tb.publish(user.id, world.club_id, values, form_key=key(), **kw).id


def fresh(listing_id: int) -> Listing:
    db.session.rollback()
    return by_id(Listing, listing_id)


# --- publish -----------------------------------------------------------------------------------------


def test_publish_an_offer_with_every_field(world):
    lid = publish(world, world.a, {"kind": "offer", "title": "  Réparation   de vélos ",
                                   "description": "Atelier le samedi.\nOutils fournis.", "category": "diy",
                                   "availability": " Samedi   matin "})
    listing = fresh(lid)
    assert (listing.club_id, listing.author_id, listing.kind, listing.status) == (
        world.club_id, world.mid(world.a), "offer", "active")
    assert listing.title == "Réparation de vélos"  # white space folded
    assert listing.description == "Atelier le samedi.\nOutils fournis."  # line break kept
    assert listing.availability == "Samedi matin"
    assert listing.category == "diy"
    assert listing.expires_on is None
    assert listing.search_text == "reparation de velos atelier le samedi. outils fournis."
    assert [item.id for item in tb.listings_of(world.a.id, world.club_id)] == [lid]


def test_publish_a_request_standing_from_today_to_a_year_and_a_day(world):
    first = publish(world, world.a, asking(expires_on=TODAY, description="Une semaine en août.",
                                            availability="Août", category="well_being"), today=TODAY)
    last = publish(world, world.a, asking(expires_on=TODAY + timedelta(days=366)), today=TODAY)
    assert (fresh(first).kind, fresh(first).expires_on, fresh(first).category) == ("request", TODAY, "well_being")
    assert fresh(last).expires_on == TODAY + timedelta(days=366)


@pytest.mark.parametrize("values, field", [
    (asking(expires_on=None), "expires_on"),
    (asking(expires_on="2030-01-01"), "expires_on"),
    (asking(expires_on=TODAY - timedelta(days=1)), "expires_on"),
    (asking(expires_on=TODAY + timedelta(days=367)), "expires_on"),
    (offer(expires_on=TODAY + timedelta(days=5)), "expires_on"),
    (offer(category="plumbing"), "category"),
    (offer(category=None), "category"),
    (offer(kind="gift"), "kind"),
    (offer(title=None), "title"),
    (offer(title="   "), "title"),
    (offer(title="x" * 121), "title"),
    (offer(title="Vélo\x00"), "title"),
    (offer(description="d" * 2001), "description"),
    (offer(description="Ligne\x07sonnerie"), "description"),
    (offer(availability="a" * 201), "availability"),
    (offer(availability="Soir\x1b"), "availability"),
    (offer(price=10), "price"),
])
def test_publish_refuses_bad_values_and_the_key_stays_usable(world, values, field):
    form_key = key()
    refused(lambda: tb.publish(world.a.id, world.club_id, values, form_key=form_key, today=TODAY), InvalidInput,
            field=field)
    # The refused form is corrected and sent again with the same key.
    assert tb.publish(world.a.id, world.club_id, offer(), form_key=form_key).id


def test_publish_refuses_a_datetime_as_end_date(world):
    from datetime import datetime

    refused(lambda: tb.publish(world.a.id, world.club_id,
                               asking(expires_on=datetime.combine(TODAY, datetime.min.time())),
                               form_key=key(), today=TODAY), InvalidInput, field="expires_on")


def test_publish_accepts_the_longest_values(world):
    lid = publish(world, world.a, offer(title="é" * 120, description="d" * 2000, availability="a" * 200))
    listing = fresh(lid)
    assert (len(listing.title), len(listing.description), len(listing.availability)) == (120, 2000, 200)


def test_publish_refuses_a_replayed_form(world):
    form_key = key()
    tb.publish(world.a.id, world.club_id, offer(), form_key=form_key)
    refused(lambda: tb.publish(world.a.id, world.club_id, offer(title="Autre"), form_key=form_key), Conflict)


def test_a_member_of_another_club_cannot_publish_here(world):
    outsider = world.other.members[1]
    refused(lambda: tb.publish(outsider.id, world.club_id, offer(), form_key=key()), NotFound)


# --- update_listing / set_listing_status ----------------------------------------------------------------


def test_the_author_updates_every_field(world):
    lid = publish(world, world.a, asking(description="Vieux texte", availability="Lundi"), today=TODAY)
    tb.update_listing(world.a.id, world.club_id, lid, {
        "kind": "request", "title": "Garde de lapin", "description": "Dix jours.\nNourriture fournie.",
        "category": "childcare", "availability": "Vacances", "expires_on": TODAY + timedelta(days=60)},
        today=TODAY)
    listing = fresh(lid)
    assert (listing.title, listing.description, listing.category, listing.availability, listing.expires_on) == (
        "Garde de lapin", "Dix jours.\nNourriture fournie.", "childcare", "Vacances", TODAY + timedelta(days=60))
    assert listing.search_text == "garde de lapin dix jours. nourriture fournie."
    # The search follows the new words and no longer finds the old ones.
    assert [i.id for i in tb.search(world.b.id, world.club_id, words="lapin").items] == [lid]
    assert tb.search(world.b.id, world.club_id, words="vieux").total == 0


def test_update_refusals_write_nothing(world):
    lid = publish(world, world.a, offer())
    other_club_lid = tb.publish(world.other.members[2].id, world.other.club_id, offer(), form_key=key()).id

    refused(lambda: tb.update_listing(world.b.id, world.club_id, lid, offer(title="Volé")), NotPermitted, rule=None)
    refused(lambda: tb.update_listing(world.manager.id, world.club_id, lid, offer(title="Chef")), NotPermitted, rule=None)
    refused(lambda: tb.update_listing(world.a.id, world.club_id, lid, asking()), InvalidInput, field="kind")
    refused(lambda: tb.update_listing(world.a.id, world.club_id, lid, offer(title="")), InvalidInput,
            field="title")
    refused(lambda: tb.update_listing(world.a.id, world.club_id, lid, offer(category="x")), InvalidInput,
            field="category")
    refused(lambda: tb.update_listing(world.a.id, world.club_id, other_club_lid, offer(title="Ici")), NotFound)
    refused(lambda: tb.update_listing(world.a.id, world.club_id, str(lid), offer(title="Texte")), NotFound)
    refused(lambda: tb.update_listing(world.other.members[2].id, world.club_id, lid, offer(title="X")), NotFound)
    assert fresh(lid).title == "Réparation de vélos"


def test_status_pause_resume_close_and_closed_is_final(world):
    lid = publish(world, world.a, offer())
    assert tb.set_listing_status(world.a.id, world.club_id, lid, "paused").status == "paused"
    refused(lambda: tb.set_listing_status(world.a.id, world.club_id, lid, "paused"), Conflict)
    assert tb.set_listing_status(world.a.id, world.club_id, lid, "active").status == "active"
    assert tb.set_listing_status(world.a.id, world.club_id, lid, "closed").status == "closed"
    assert fresh(lid).status == "closed"
    refused(lambda: tb.set_listing_status(world.a.id, world.club_id, lid, "active"), Conflict)
    refused(lambda: tb.set_listing_status(world.a.id, world.club_id, lid, "paused"), Conflict)
    refused(lambda: tb.update_listing(world.a.id, world.club_id, lid, offer(title="Encore")), Conflict)
    assert fresh(lid).status == "closed"


def test_status_refusals_write_nothing(world):
    lid = publish(world, world.a, offer())
    other_club_lid = tb.publish(world.other.members[2].id, world.other.club_id, offer(), form_key=key()).id
    refused(lambda: tb.set_listing_status(world.a.id, world.club_id, lid, "deleted"), InvalidInput, field="status")
    refused(lambda: tb.set_listing_status(world.b.id, world.club_id, lid, "closed"), NotPermitted, rule=None)
    refused(lambda: tb.set_listing_status(world.manager.id, world.club_id, lid, "paused"), NotPermitted, rule=None)
    refused(lambda: tb.set_listing_status(world.a.id, world.club_id, other_club_lid, "closed"), NotFound)
    refused(lambda: tb.set_listing_status(world.other.members[2].id, world.club_id, lid, "closed"), NotFound)
    refused(lambda: tb.listing_for(world.a.id, world.club_id, other_club_lid), NotFound)
    assert fresh(lid).status == "active"


# --- search ------------------------------------------------------------------------------------------------


@pytest.fixture
def shelf(world):
    """Five open listings by A, in this order (ids ascending)."""
    ids = {
        "velos": publish(world, world.a, offer(title="Réparation de vélos", description="Atelier le samedi")),
        "meubles": publish(world, world.a, offer(title="Réparation de meubles")),
        "creole": publish(world, world.a, asking(title="Cours de cuisine creole", category="cooking",
                                                  expires_on=TODAY + timedelta(days=10)), today=TODAY),
        "remise": publish(world, world.a, offer(title="Remise 50% sur le pain", category="cooking")),
        "jardin": publish(world, world.a, offer(title="Jardin_partagé", category="gardening")),
    }
    # The other club has the same words: never shown here.
    tb.publish(world.other.members[1].id, world.other.club_id, offer(title="Réparation de vélos et jardin_"),
               form_key=key())
    return ids


def found(world, user=None, **kw) -> list[int]:
    return [item.id for item in tb.search((user or world.b).id, world.club_id, **kw).items]


@pytest.mark.parametrize("words, expected", [
    ("reparation VELO", ["velos"]),  # no accents, upper case → "Réparation de vélos"
    ("vélo", ["velos"]),
    ("VÉLOS", ["velos"]),
    ("répar", ["meubles", "velos"]),  # the start of a word, newest first
    ("paration", ["meubles", "velos"]),  # inside a word
    ("réparation samedi", ["velos"]),  # title and description
    ("réparation cuisine", []),  # every word is needed
    ("Créole", ["creole"]),  # accent in the query, none in the listing
    ("%", ["remise"]),
    ("50%", ["remise"]),
    ("5%", []),  # as a wildcard it would match "50% …"
    ("_", ["jardin"]),
    ("jardin_", ["jardin"]),
    ("jardi_", []),  # as a wildcard it would match "jardin…"
    ("r_paration", []),
    ("", ["jardin", "remise", "creole", "meubles", "velos"]),
    ("   ", ["jardin", "remise", "creole", "meubles", "velos"]),
])
def test_search_words(world, shelf, words, expected):
    assert found(world, words=words) == [shelf[name] for name in expected]


def test_search_filters_by_category_and_kind(world, shelf):
    assert found(world, category="diy") == [shelf["meubles"], shelf["velos"]]
    assert found(world, category="cooking") == [shelf["remise"], shelf["creole"]]
    assert found(world, kind="request") == [shelf["creole"]]
    assert found(world, kind="offer", category="cooking") == [shelf["remise"]]
    assert found(world, kind="request", category="diy") == []
    assert found(world, words="réparation", kind="offer", category="diy") == [shelf["meubles"], shelf["velos"]]
    refused(lambda: tb.search(world.b.id, world.club_id, category="plumbing"), InvalidInput, field="category")
    refused(lambda: tb.search(world.b.id, world.club_id, kind="gift"), InvalidInput, field="kind")


def test_search_hides_paused_closed_and_expired(world, shelf):
    tb.set_listing_status(world.a.id, world.club_id, shelf["meubles"], "paused")
    tb.set_listing_status(world.a.id, world.club_id, shelf["velos"], "closed")
    assert found(world, words="réparation") == []
    tb.set_listing_status(world.a.id, world.club_id, shelf["meubles"], "active")
    assert found(world, words="réparation") == [shelf["meubles"]]
    # The request stands until its last day (TODAY + 10) included.
    assert found(world, kind="request", today=TODAY + timedelta(days=10)) == [shelf["creole"]]
    assert found(world, kind="request", today=TODAY + timedelta(days=11)) == []
    assert tb.search(world.b.id, world.club_id, today=TODAY + timedelta(days=11)).total == 3


def test_search_never_shows_another_club(world, shelf):
    assert found(world, words="vélos jardin") == []
    other_ids = [i.id for i in tb.search(world.other.members[0].id, world.other.club_id).items]
    assert not set(other_ids) & set(shelf.values())
    assert len(other_ids) == 1
    # A member of the other club cannot search this one.
    refused(lambda: tb.search(world.other.members[0].id, world.club_id, words="vélos"), NotFound)


def test_search_pages_newest_first(world):
    ids = [publish(world, world.a if n % 2 else world.b, offer(title=f"Coup de main {n}")) for n in range(45)]
    newest_first = ids[::-1]
    first = tb.search(world.c.id, world.club_id, per_page=20)
    assert (first.page, first.pages, first.total, first.has_next) == (1, 3, 45, True)
    assert [i.id for i in first.items] == newest_first[:20]
    second = tb.search(world.c.id, world.club_id, per_page=20, page=2)
    assert [i.id for i in second.items] == newest_first[20:40]
    third = tb.search(world.c.id, world.club_id, per_page=20, page=3)
    assert (third.page, third.pages, third.total, third.has_next) == (3, 3, 45, False)
    assert [i.id for i in third.items] == newest_first[40:]
    assert len(third.items) == 5
    beyond = tb.search(world.c.id, world.club_id, per_page=20, page=tb.MAX_PAGE)
    assert (beyond.items, beyond.total, beyond.pages) == ([], 45, 3)
    # "1" matches "Coup de main 1", 10–19, 21, 31, 41: 14 listings.
    assert tb.search(world.c.id, world.club_id, words="1").total == 14


@pytest.mark.parametrize("page", [0, -1, 10_001, "2", 2.0, None, True])
def test_search_refuses_a_page_out_of_range(world, page):
    refused(lambda: tb.search(world.a.id, world.club_id, page=page), InvalidInput, field="page")


def test_search_query_is_at_most_100_characters(world):
    lid = publish(world, world.a, offer(title="v" * 100))
    assert found(world, words="v" * 100) == [lid]
    refused(lambda: tb.search(world.b.id, world.club_id, words="v" * 101), InvalidInput, field="q")
    refused(lambda: tb.search(world.b.id, world.club_id, words=None), InvalidInput, field="q")


# --- answer --------------------------------------------------------------------------------------------------


def test_answering_an_offer_arranges_an_exchange_the_author_provides(world):
    lid = publish(world, world.a, offer())
    exchange = tb.answer(world.b.id, world.club_id, lid, form_key=key(), today=TODAY)
    db.session.rollback()
    row = by_id(Exchange, exchange.id)
    assert row.status == ExchangeStatus.ARRANGED
    assert (row.provider_id, row.receiver_id, row.started_by_id) == (world.mid(world.a), world.mid(world.b),
                                                                     world.mid(world.b))
    assert (row.listing_id, row.description, row.expires_on) == (lid, "Réparation de vélos",
                                                                 TODAY + timedelta(days=30))
    assert (row.minutes, row.transaction_id) == (None, None)
    # Nothing posted yet.
    assert tb.limits_of(world.a.id, world.club_id).balance == 0
    assert tb.limits_of(world.b.id, world.club_id).balance == 0


def test_answering_a_request_arranges_an_exchange_the_answerer_provides(world):
    lid = publish(world, world.a, asking(), today=TODAY)
    exchange = tb.answer(world.c.id, world.club_id, lid, form_key=key(), today=TODAY)
    row = by_id(Exchange, exchange.id)
    assert row.status == ExchangeStatus.ARRANGED
    assert (row.provider_id, row.receiver_id, row.started_by_id) == (world.mid(world.c), world.mid(world.a),
                                                                     world.mid(world.c))


def test_answer_refusals_write_nothing(world):
    lid = publish(world, world.a, offer())
    req = publish(world, world.a, asking(expires_on=TODAY + timedelta(days=3)), today=TODAY)
    other_club_lid = tb.publish(world.other.members[2].id, world.other.club_id, offer(), form_key=key()).id

    refused(lambda: tb.answer(world.a.id, world.club_id, lid, form_key=key()), RuleViolation, rule="R12")
    # The request is open on its last day, closed the day after.
    refused(lambda: tb.answer(world.b.id, world.club_id, req, form_key=key(),
                              today=TODAY + timedelta(days=4)), Conflict)
    refused(lambda: tb.answer(world.b.id, world.club_id, other_club_lid, form_key=key()), NotFound)
    refused(lambda: tb.answer(world.other.members[2].id, world.club_id, lid, form_key=key()), NotFound)

    tb.set_listing_status(world.a.id, world.club_id, lid, "paused")
    refused(lambda: tb.answer(world.b.id, world.club_id, lid, form_key=key()), Conflict)
    tb.set_listing_status(world.a.id, world.club_id, lid, "closed")
    refused(lambda: tb.answer(world.b.id, world.club_id, lid, form_key=key()), Conflict)

    assert tb.answer(world.b.id, world.club_id, req, form_key=key(), today=TODAY + timedelta(days=3))


def test_answering_twice_while_arranged_is_refused(world):
    lid = publish(world, world.a, offer())
    form_key = key()
    first = tb.answer(world.b.id, world.club_id, lid, form_key=form_key)
    refused(lambda: tb.answer(world.b.id, world.club_id, lid, form_key=form_key), Conflict)  # replayed form
    refused(lambda: tb.answer(world.b.id, world.club_id, lid, form_key=key()), Conflict)  # a second answer
    # Another member may answer the same offer.
    assert tb.answer(world.c.id, world.club_id, lid, form_key=key()).id != first.id
    # Once the first is called off, B may answer again.
    tb.withdraw(world.b.id, world.club_id, first.id)
    assert tb.answer(world.b.id, world.club_id, lid, form_key=key()).status == ExchangeStatus.ARRANGED


def test_answering_a_member_who_left_is_refused(world):
    lid = publish(world, world.a, offer())
    ms.leave(world.a.id, world.club_id)
    refused(lambda: tb.answer(world.b.id, world.club_id, lid, form_key=key()), RuleViolation, rule="R12")
    assert db.session.scalar(select(Exchange.id)) is None


# --- reciprocity, standing, flows, statement ------------------------------------------------------------------


def received(world: World, receiver, provider, minutes: int, days_ago: int, what: str):
    """The receiver records the service: posted at once."""
    exchange = tb.record_exchange(receiver.id, world.club_id, other_id=world.mid(provider), direction="received",
                                  minutes=minutes, done_on=TODAY - timedelta(days=days_ago), description=what,
                                  form_key=key())
    assert exchange.status == ExchangeStatus.CONFIRMED
    return exchange.id


@pytest.fixture
def history(world):
    """Recorded out of date order:
    A→C 90 min (10 days ago), A→B 120 (30 days ago), B→A 60 (20 days ago), C→A 45 (2 days ago), the last one
    disputed by C and reversed today by the manager.
    A: given 120 + 90 = 210, received 60 → balance 150; B: given 60, received 120 → −60;
    C: given 0 (the reversed one does not count), received 90 → −90."""
    ids = {
        "a_c": received(world, world.c, world.a, 90, 10, "Déménagement"),
        "a_b": received(world, world.b, world.a, 120, 30, "Réparation vélo"),
        "b_a": received(world, world.a, world.b, 60, 20, "Cours d'anglais"),
        "c_a": received(world, world.a, world.c, 45, 2, "Repassage"),
    }
    tb.dispute(world.c.id, world.club_id, ids["c_a"], reason="Je ne l'ai jamais fait")
    tb.settle(world.manager.id, world.club_id, ids["c_a"], decision="reverse", reason="Erreur de saisie")
    db.session.rollback()
    assert tb.check() == []
    return ids


def figures(s) -> tuple:
    return s.given, s.received, s.balance, s.last_on, s.partners


def test_standing_counts_posted_exchanges_only(world, history):
    a, b, c = world.mid(world.a), world.mid(world.b), world.mid(world.c)
    assert figures(tb.standing(world.a.id, world.club_id)) == (210, 60, 150, TODAY - timedelta(days=10), {b, c})
    assert figures(tb.standing(world.b.id, world.club_id)) == (60, 120, -60, TODAY - timedelta(days=20), {a})
    assert figures(tb.standing(world.c.id, world.club_id)) == (0, 90, -90, TODAY - timedelta(days=10), {a})
    assert figures(tb.standing(world.manager.id, world.club_id)) == (0, 0, 0, None, set())
    # Officers read anyone's; a plain member does not.
    assert figures(tb.standing(world.treasurer.id, world.club_id, a)) == (
        210, 60, 150, TODAY - timedelta(days=10), {b, c})
    refused(lambda: tb.standing(world.b.id, world.club_id, a), NotFound)


def test_reciprocity_lists_every_active_member(world, history):
    rows = {s.member.id: s for s in tb.reciprocity(world.c.id, world.club_id)}
    assert set(rows) == set(world.setup.memberships.values())
    a, b, c = world.mid(world.a), world.mid(world.b), world.mid(world.c)
    assert (rows[a].given, rows[a].received, rows[a].balance, len(rows[a].partners)) == (210, 60, 150, 2)
    assert (rows[b].given, rows[b].received, rows[b].balance, len(rows[b].partners)) == (60, 120, -60, 1)
    assert (rows[c].given, rows[c].received, rows[c].balance, len(rows[c].partners)) == (0, 90, -90, 1)
    assert all(s.balance_shown for s in rows.values())


def test_a_hidden_balance_is_shown_to_its_owner_and_officers_only(world, history):
    b = world.mid(world.b)
    tb.hide_balance(world.b.id, world.club_id, True)

    def shown(reader) -> dict[int, bool]:
        return {s.member.id: s.balance_shown for s in tb.reciprocity(reader.id, world.club_id)}

    for_c = shown(world.c)
    assert for_c[b] is False
    assert all(for_c[m] for m in for_c if m != b)
    assert shown(world.a)[b] is False
    assert shown(world.b)[b] is True
    for officer in (world.manager, world.treasurer, world.secretary):
        assert shown(officer)[b] is True
    # Hiding twice writes nothing; a non-boolean is refused.
    before = snapshot()
    tb.hide_balance(world.b.id, world.club_id, True)
    assert snapshot() == before
    refused(lambda: tb.hide_balance(world.b.id, world.club_id, "yes"), InvalidInput, field="hidden")
    tb.hide_balance(world.b.id, world.club_id, False)
    assert shown(world.c)[b] is True


def test_flows_matrix_for_officers_only(world, history):
    a, b, c = world.mid(world.a), world.mid(world.b), world.mid(world.c)
    for officer in (world.manager, world.treasurer, world.secretary):
        result = tb.flows(officer.id, world.club_id)
        assert result.minutes == {(a, b): 120, (b, a): 60, (a, c): 90}  # the reversed C→A is not there
        assert (result.given_to(a, b), result.given_to(b, a), result.given_to(c, a), result.given_to(b, c)) == (
            120, 60, 0, 0)
        assert {m.id for m in result.members} == set(world.setup.memberships.values())
    refused(lambda: tb.flows(world.a.id, world.club_id), NotPermitted, rule=None)


def test_statement_runs_the_balance_in_date_order(world, history):
    a_name, b_name, c_name = world.a.name, world.b.name, world.c.name
    target, lines = tb.statement(world.a.id, world.club_id)
    assert target.id == world.mid(world.a)
    assert [(line.occurred_on, line.amount, line.balance, line.partner) for line in lines] == [
        (TODAY - timedelta(days=30), 120, 120, b_name),
        (TODAY - timedelta(days=20), -60, 60, b_name),
        (TODAY - timedelta(days=10), 90, 150, c_name),
        (TODAY - timedelta(days=2), -45, 105, c_name),
        (TODAY, 45, 150, c_name),  # the reversal, posted today
    ]
    assert [line.exchange_id for line in lines] == [history["a_b"], history["b_a"], history["a_c"], history["c_a"],
                                                    history["c_a"]]
    assert [line.description for line in lines[:4]] == ["Réparation vélo", "Cours d'anglais", "Déménagement",
                                                        "Repassage"]
    assert lines[-1].kind == "reversal" and lines[0].kind == "exchange"
    assert lines[-1].balance == tb.limits_of(world.a.id, world.club_id).balance

    _, of_b = tb.statement(world.b.id, world.club_id)
    assert [(line.amount, line.balance, line.partner) for line in of_b] == [(-120, -120, a_name), (60, -60, a_name)]

    for officer in (world.manager, world.treasurer):
        seen_target, seen = tb.statement(officer.id, world.club_id, world.mid(world.a))
        assert seen_target.id == world.mid(world.a)
        assert seen == lines
    refused(lambda: tb.statement(world.b.id, world.club_id, world.mid(world.a)), NotFound)
    refused(lambda: tb.statement(world.manager.id, world.club_id, world.other.memberships[
        world.other.members[1].id]), NotFound)


# --- attention ------------------------------------------------------------------------------------------------


def test_attention_finds_near_floor_generous_and_quiet_members(make_club):
    w = make_world(make_club, size=7)
    m, t, s, a, b, c, e = w.setup.members
    received(w, a, b, 300, 10, "Jardin")  # B gives exactly 5 h and receives nothing
    received(w, a, t, 180, 10, "Couture")  # A: −480, exactly 80 % of the −600 floor
    received(w, e, t, 479, 10, "Devoirs")  # E: −479, one minute above the warning
    received(w, t, m, 60, 5, "Courses")  # T gave 659, received 60
    received(w, m, s, 299, 91, "Papiers")  # S gave 4 h 59 only; last exchange 91 days ago: not quiet yet
    received(w, m, c, 60, 100, "Cuisine")  # C's only exchange: 100 days ago
    expected = {w.mid(a): (True, False, False), w.mid(b): (False, True, False), w.mid(c): (False, False, True)}
    for officer in (m, t, s):
        got = {item.standing.member.id: (item.near_floor, item.gives_only, item.quiet)
               for item in tb.attention(officer.id, w.club_id, today=TODAY)}
        assert got == expected
    refused(lambda: tb.attention(a.id, w.club_id), NotPermitted, rule=None)


def test_attention_counts_quiet_days_from_joining(make_club):
    w = make_world(make_club, size=5)
    # Everyone joined today and never exchanged: quiet once more than 91 days have passed.
    assert tb.attention(w.manager.id, w.club_id, today=TODAY + timedelta(days=91)) == []
    late = tb.attention(w.manager.id, w.club_id, today=TODAY + timedelta(days=92))
    assert {item.standing.member.id for item in late} == set(w.setup.memberships.values())
    assert all(item.quiet and not item.near_floor and not item.gives_only for item in late)


# --- limits_of -------------------------------------------------------------------------------------------------


def test_limits_warn_at_exactly_80_percent(make_club):
    w = make_world(make_club, size=6)
    p = w.a
    q1, q2, q3, q4 = w.manager, w.treasurer, w.secretary, w.b
    for q in (q1, q2, q3):
        received(w, q, p, 480, 1, "Bricolage")
    received(w, q4, p, 479, 1, "Bricolage")
    # P: 3 × 480 + 479 = 1919, one minute under 80 % of the 2400 ceiling (1920); Q4: −479.
    lim = tb.limits_of(p.id, w.club_id)
    assert (lim.balance, lim.floor, lim.ceiling, lim.near_ceiling, lim.near_floor) == (1919, -600, 2400, False, False)
    assert (lim.room_up, lim.room_down) == (481, 2519)
    lim = tb.limits_of(q4.id, w.club_id)
    assert (lim.balance, lim.near_floor, lim.near_ceiling) == (-479, False, False)
    lim = tb.limits_of(q1.id, w.club_id)
    assert (lim.balance, lim.near_floor, lim.room_down) == (-480, True, 120)

    received(w, q4, p, 1, 0, "Une minute")
    assert (tb.limits_of(p.id, w.club_id).balance, tb.limits_of(p.id, w.club_id).near_ceiling) == (1920, True)
    assert (tb.limits_of(q4.id, w.club_id).balance, tb.limits_of(q4.id, w.club_id).near_floor) == (-480, True)
    # Officers (manager, treasurer) read anyone's limits; a plain member does not.
    assert tb.limits_of(w.manager.id, w.club_id, w.mid(p)).balance == 1920
    assert tb.limits_of(w.treasurer.id, w.club_id, w.mid(q4)).near_floor is True
    refused(lambda: tb.limits_of(w.c.id, w.club_id, w.mid(p)), NotFound)
