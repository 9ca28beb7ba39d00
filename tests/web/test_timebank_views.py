"""The time bank's pages (R12), as members see them: overview, offers and requests, recording, confirming,
disputing and settling exchanges, statements and CSV, the officers' view and a member's own limits.

The club (``club`` fixture): members[0] manager, [1] treasurer, [2] secretary, [3] [4] [5] plain members.
Sign convention: a balance is time given minus time received, in minutes; shown as ``2 h 30`` / ``−1 h 30``.
Charter defaults: floor −10 h, ceiling +40 h, warning at 80 %, confirmation needed, 30 days to confirm.
"""
from __future__ import annotations

import csv
import html
import io
import re
from datetime import date, timedelta

from sqlalchemy import select

from coop.extensions import db
from coop.models import AuditEntry, Exchange, Listing, Membership
from coop.services import clubs, ledger, timebank
from tests.conftest import by_id, hidden_fields, key, say, snapshot

TODAY = date.today()



# --- Helpers ---------------------------------------------------------------------------------------------------


def base(club) -> str:
    return f"/clubs/{club.club_id}/time"


def mid(club, user) -> int:
    return club.membership_id(user)


def balance(club, user) -> int:
    db.session.rollback()
    return ledger.find_account(club.club_id, f"time:{mid(club, user)}").balance


def exchange_of(exchange_id: int) -> Exchange:
    db.session.rollback()
    return by_id(Exchange, exchange_id)


def record(club, by, other, direction: str, minutes: int, *, done_on: date = TODAY,
           description: str = "Réparer un vélo") -> int:
    """``by`` records an exchange with ``other``: "received" counts at once, "given" waits for ``other``."""
    done = timebank.record_exchange(by.id, club.club_id, other_id=mid(club, other), direction=direction,
                                    minutes=minutes, done_on=done_on, description=description, form_key=key())
    return done.id


def give(club, provider, receiver, minutes: int, **kw) -> int:
    """A posted exchange: the receiver records it, so it counts at once."""
    return record(club, receiver, provider, "received", minutes, **kw)


def publish(club, user, title: str, *, kind: str = "offer", category: str = "diy", description: str = "",
            expires_on: date | None = None) -> int:
    values = {"kind": kind, "title": title, "category": category, "description": description,
              "availability": "", "expires_on": expires_on}
    return timebank.publish(user.id, club.club_id, values, form_key=key()).id


def error_of(page: str, field: str) -> str | None:
    found = re.search(rf'<p class="error" id="{re.escape(field)}-error" role="alert">(.*?)</p>', page, re.S)
    return found.group(1) if found else None


def found_ids(page: str) -> set[int]:
    """The offers and requests listed on a search page."""
    return {int(i) for i in re.findall(r'<h2><a href="/clubs/\d+/time/offers/(\d+)">', page)}


def rows_of(page: str, start: str = "") -> dict[str, list[str]]:
    """A table's rows by the name in their header cell: the text of each ``td``."""
    if start:
        page = page.split(start, 1)[1].split("</table>", 1)[0]
    rows = {}
    for name, cells in re.findall(r'<tr>\s*<th scope="row">(.*?)</th>(.*?)</tr>', page, re.S):
        rows[html.unescape(name)] = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                                           cells, re.S)]
    return rows


def refused_without_writing(response, status: int, before) -> None:
    assert response.status_code == status, response.text
    assert snapshot() == before


# --- Overview and privacy ------------------------------------------------------------------------------------------


def test_the_overview_shows_my_figures_and_the_members_table(club, make_browser):
    """members[3] gave 3 h to [4] and received 1 h 15 from [5]: given 3 h, received 1 h 15, balance +1 h 45."""
    me, b, c = club.members[3], club.members[4], club.members[5]
    give(club, me, b, 180)
    give(club, c, me, 75)
    page = make_browser(me).get(base(club))
    assert page.status_code == 200
    mine = page.text.split('id="mine-title"', 1)[1].split("</dl>", 1)[0]
    assert f"<dt>{say('Balance')}</dt><dd><strong>1\u00a0h\u00a045</strong></dd>" in mine
    assert f"<dt>{say('Hours given')}</dt><dd>3\u00a0h</dd>" in mine
    assert f"<dt>{say('Hours received')}</dt><dd>1\u00a0h\u00a015</dd>" in mine
    # Members' table: given, received, balance, partners, last exchange.
    rows = rows_of(page.text, '<h2>' + say('Members') + '</h2>')
    assert rows[me.name][:4] == ["3\u00a0h", "1\u00a0h\u00a015", "1\u00a0h\u00a045", "2"]
    assert rows[b.name][:4] == ["0\u00a0h", "3\u00a0h", "−3\u00a0h", "1"]
    assert rows[c.name][:4] == ["1\u00a0h\u00a015", "0\u00a0h", "1\u00a0h\u00a015", "1"]
    assert set(rows) == {u.name for u in club.members}


def test_the_to_confirm_list_offers_a_confirm_button_that_counts_the_exchange(club, make_browser):
    provider, receiver = club.members[3], club.members[4]
    exchange_id = record(club, provider, receiver, "given", 150, description="Taille de la haie")
    assert balance(club, provider) == balance(club, receiver) == 0  # waiting: not counted yet
    browser = make_browser(receiver)
    page = browser.get(base(club)).text
    assert say("To confirm") in page
    assert "Taille de la haie" in page and "2\u00a0h\u00a030" in page
    confirm_url = f"{base(club)}/exchanges/{exchange_id}/confirm"
    assert f'action="{confirm_url}"' in page
    # The provider's overview has nothing to confirm.
    assert f'action="{confirm_url}"' not in make_browser(provider).get(base(club)).text

    done = browser.submit(confirm_url, page=base(club))
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"/time/exchanges/{exchange_id}")
    shown = browser.get(done.headers["Location"]).text
    assert say("Thank you: %(duration)s go to %(name)s.", duration="2\u00a0h\u00a030", name=provider.name) in shown
    assert (balance(club, provider), balance(club, receiver)) == (150, -150)
    assert exchange_of(exchange_id).status == "confirmed"
    assert f'action="{confirm_url}"' not in browser.get(base(club)).text


def test_a_hidden_balance_is_hidden_from_plain_members_but_not_from_officers(club, make_browser):
    hider, other, treasurer = club.members[3], club.members[4], club.treasurer
    give(club, hider, other, 90)  # hider +1 h 30
    hiding = make_browser(hider)
    done = hiding.submit(f"{base(club)}/privacy", {"hidden": "y"}, page=base(club))
    assert done.status_code == 302 and done.headers["Location"].endswith(base(club))
    assert say("Your time balance is now hidden from other members.") in hiding.get(base(club)).text
    db.session.rollback()
    assert by_id(Membership, mid(club, hider)).hides_time_balance is True

    seen_by_member = rows_of(make_browser(other).get(base(club)).text, '<h2>' + say('Members') + '</h2>')
    # Given and received are hidden too: their difference is the balance.
    assert seen_by_member[hider.name][:3] == [say("hidden")] * 3
    assert seen_by_member[hider.name][3] == "1"  # the number of partners stays public
    assert seen_by_member[other.name][2] == "−1\u00a0h\u00a030"
    seen_by_officer = rows_of(make_browser(treasurer).get(base(club)).text, '<h2>' + say('Members') + '</h2>')
    assert seen_by_officer[hider.name][2] == "1\u00a0h\u00a030"
    assert rows_of(hiding.get(base(club)).text, '<h2>' + say('Members') + '</h2>')[hider.name][2] == "1\u00a0h\u00a030"

    shown_again = hiding.submit(f"{base(club)}/privacy", {}, page=base(club))
    assert shown_again.status_code == 302
    assert say("Your time balance is now shown to other members.") in hiding.get(base(club)).text
    assert rows_of(make_browser(other).get(base(club)).text,
                   '<h2>' + say('Members') + '</h2>')[hider.name][2] == "1\u00a0h\u00a030"


# --- Offers and requests ---------------------------------------------------------------------------------------------


def test_the_search_filters_by_words_category_and_kind(club, neighbour, make_browser):
    a, b, c = club.members[3], club.members[4], club.members[5]
    bike = publish(club, a, "Réparer un Vélo", category="diy")
    english = publish(club, b, "Cours d'anglais", category="lessons")
    childcare = publish(club, c, "Garde d'enfants mercredi", kind="request", category="childcare",
                        expires_on=TODAY + timedelta(days=10))
    mowing = publish(club, a, "Tondre la pelouse", category="gardening",
                     description="Avec ma tondeuse ; je viens à vélo.")
    paused = publish(club, b, "Vélo électrique à prêter", category="transport")
    timebank.set_listing_status(b.id, club.club_id, paused, "paused")
    publish(neighbour, neighbour.members[3], "Réparer un vélo voisin", category="diy")
    browser = make_browser(club.members[5])
    offers = f"{base(club)}/offers"

    everything = browser.get(offers)
    assert everything.status_code == 200
    assert found_ids(everything.text) == {bike, english, childcare, mowing}  # not the paused one, not the neighbour's
    # Accents and case ignored, title or description.
    assert found_ids(browser.get(f"{offers}?q=VELO").text) == {bike, mowing}
    assert found_ids(browser.get(f"{offers}?q=velo&category=gardening").text) == {mowing}
    assert found_ids(browser.get(f"{offers}?category=lessons").text) == {english}
    assert found_ids(browser.get(f"{offers}?kind=request").text) == {childcare}
    assert found_ids(browser.get(f"{offers}?kind=offer").text) == {bike, english, mowing}
    none = browser.get(f"{offers}?q=plomberie")
    assert none.status_code == 200 and found_ids(none.text) == set()
    assert say("Nothing matches. Try other words or another category, or ask for the service yourself.") in none.text


def test_the_search_pages_through_its_results_keeping_the_words(club, make_browser):
    """21 workshops: 20 on the first page (newest first), the oldest alone on the second."""
    ids = [publish(club, club.members[3], f"Atelier numéro {n}") for n in range(1, 22)]
    publish(club, club.members[4], "Cours de cuisine", category="cooking")
    browser = make_browser(club.members[5])
    first = browser.get(f"{base(club)}/offers?q=atelier")
    assert found_ids(first.text) == set(ids[1:])
    nexts = re.findall(r'<a rel="next" href="([^"]+)"', first.text)
    assert len(nexts) == 1 and 'rel="prev"' not in first.text
    second_url = html.unescape(nexts[0])
    assert "page=2" in second_url and "q=atelier" in second_url
    second = browser.get(second_url)
    assert second.status_code == 200
    assert found_ids(second.text) == {ids[0]}
    assert 'rel="next"' not in second.text
    prev = html.unescape(re.search(r'<a rel="prev" href="([^"]+)"', second.text).group(1))
    assert "page=1" in prev and "q=atelier" in prev


def test_a_search_it_cannot_understand_is_a_400_with_a_message(club, make_browser):
    publish(club, club.members[3], "Réparer un vélo")
    browser = make_browser(club.members[4])
    for query in ("page=abc", "page=-1", "page=1234567", "page=%C2%B2", "page=%D9%A3", "category=astrologie",
                  "kind=both"):
        answered = browser.get(f"{base(club)}/offers?{query}")
        assert answered.status_code == 400, query
        assert say("This search could not be understood.") in answered.text, query
        assert found_ids(answered.text) == set()
    for query in ("page=0", "page=10001"):  # digits the form lets through: the service refuses the page
        answered = browser.get(f"{base(club)}/offers?{query}")
        assert answered.status_code == 400, query
        assert say("No such page.") in answered.text, query


def test_a_member_publishes_an_offer_and_a_request(club, make_browser):
    author = club.members[3]
    browser = make_browser(author)
    done = browser.submit(f"{base(club)}/offers/new", {
        "kind": "offer", "title": "Réparer un vélo", "category": "diy", "description": "Freins, chaîne, rayons.",
        "availability": "le samedi matin", "expires_on": ""})
    assert done.status_code == 302, done.text
    offer_id = int(re.search(r"/time/offers/(\d+)$", done.headers["Location"]).group(1))
    page = browser.get(done.headers["Location"]).text
    assert say("Your offer is published.") in page
    assert "Réparer un vélo" in page and "le samedi matin" in page

    until = TODAY + timedelta(days=14)
    asked = browser.submit(f"{base(club)}/offers/new?kind=request", {
        "kind": "request", "title": "Aide pour la déclaration d'impôts", "category": "paperwork",
        "description": "", "availability": "", "expires_on": until.isoformat()})
    assert asked.status_code == 302, asked.text
    assert say("Your request is published.") in browser.get(asked.headers["Location"]).text
    request_id = int(re.search(r"/time/offers/(\d+)$", asked.headers["Location"]).group(1))
    db.session.rollback()
    offer, request_ = by_id(Listing, offer_id), by_id(Listing, request_id)
    assert (offer.kind, offer.category, offer.author_id, offer.expires_on) == ("offer", "diy", mid(club, author), None)
    assert (request_.kind, request_.expires_on, request_.status) == ("request", until, "active")
    assert found_ids(make_browser(club.members[4]).get(f"{base(club)}/offers").text) == {offer_id, request_id}


def test_a_request_without_an_end_date_comes_back_with_the_error_on_the_field(club, make_browser):
    browser = make_browser(club.members[3])
    before = snapshot()
    refused = browser.submit(f"{base(club)}/offers/new?kind=request", {
        "kind": "request", "title": "Garde d'enfants", "category": "childcare", "description": "",
        "availability": "", "expires_on": ""})
    refused_without_writing(refused, 400, before)
    assert error_of(refused.text, "expires_on") == say("Say until when the request stands.")
    assert 'value="Garde d&#39;enfants"' in refused.text  # what was typed is kept


def test_only_the_author_edits_an_offer(club, make_browser):
    author, other = club.members[3], club.members[4]
    listing_id = publish(club, author, "Réparer un vélo")
    url = f"{base(club)}/offers/{listing_id}"
    browser = make_browser(author)
    form = browser.get(f"{url}/edit")
    assert form.status_code == 200 and 'value="Réparer un vélo"' in form.text
    done = browser.submit(f"{url}/edit", {"kind": "offer", "title": "Réparer un vélo ou une trottinette",
                                          "category": "diy", "description": "", "availability": "le soir",
                                          "expires_on": ""})
    assert done.status_code == 302, done.text
    assert done.headers["Location"].endswith(url)
    page = browser.get(url).text
    assert say("Your changes are saved.") in page and "Réparer un vélo ou une trottinette" in page

    intruder = make_browser(other)
    assert "/edit" not in intruder.get(url).text
    assert intruder.get(f"{url}/edit").status_code == 404
    before = snapshot()
    forged = intruder.action(f"{url}/edit", {"kind": "offer", "title": "Volé", "category": "diy",
                                             "description": "", "availability": "", "expires_on": ""})
    refused_without_writing(forged, 404, before)


def test_pausing_an_offer_hides_it_from_the_search(club, make_browser):
    author = club.members[3]
    listing_id = publish(club, author, "Réparer un vélo")
    url = f"{base(club)}/offers/{listing_id}"
    browser, reader = make_browser(author), make_browser(club.members[4])
    assert found_ids(reader.get(f"{base(club)}/offers").text) == {listing_id}

    paused = browser.submit(f"{url}/status", {"status": "paused"}, page=url)
    assert paused.status_code == 302
    assert say("It is now %(status)s.", status=say("paused")) in browser.get(url).text
    assert found_ids(reader.get(f"{base(club)}/offers").text) == set()
    assert say("This offer or request is no longer open.") in reader.get(url).text

    before = snapshot()
    refused_without_writing(browser.submit(f"{url}/status", {"status": "paused"}, page=url), 409, before)
    refused_without_writing(reader.action(f"{url}/status", {"status": "active"}), 403, before)
    resumed = browser.submit(f"{url}/status", {"status": "active"}, page=url)
    assert resumed.status_code == 302
    assert found_ids(reader.get(f"{base(club)}/offers").text) == {listing_id}


def test_answering_an_offer_arranges_an_exchange(club, make_browser):
    author, answerer = club.members[3], club.members[4]
    listing_id = publish(club, author, "Réparer un vélo")
    url = f"{base(club)}/offers/{listing_id}"
    browser = make_browser(answerer)
    done = browser.submit(f"{url}/answer", page=url)
    assert done.status_code == 302, done.text
    exchange_id = int(re.search(r"/time/exchanges/(\d+)$", done.headers["Location"]).group(1))
    page = browser.get(done.headers["Location"]).text
    assert say("%(name)s will see your answer. Once the service is done, either of you records its duration.",
               name=author.name) in page
    assert say("arranged, not done yet") in page
    exchange = exchange_of(exchange_id)
    # An offer: its author gives the service, the one who answers receives it.
    assert (exchange.status, exchange.listing_id) == ("arranged", listing_id)
    assert (exchange.provider_id, exchange.receiver_id) == (mid(club, author), mid(club, answerer))
    assert balance(club, author) == balance(club, answerer) == 0


def test_answering_ones_own_listing_or_twice_is_refused(club, make_browser):
    author, answerer = club.members[3], club.members[4]
    listing_id = publish(club, author, "Réparer un vélo")
    url = f"{base(club)}/offers/{listing_id}"

    own = make_browser(author)
    assert f"{url}/answer" not in own.get(url).text  # no answer button on one's own offer
    before = snapshot()
    refused = own.submit(f"{url}/answer", {"form_key": key()}, page=url)
    refused_without_writing(refused, 400, before)
    assert say("You cannot exchange time with yourself.") in refused.text
    assert say("Rule %(rule)s of the charter.", rule="R12") in refused.text

    browser = make_browser(answerer)
    fields = hidden_fields(browser.get(url).text)
    assert fields.get("form_key")
    assert browser.client.post(f"{url}/answer", data=fields).status_code == 302
    before = snapshot()
    replay = browser.client.post(f"{url}/answer", data=fields)
    refused_without_writing(replay, 409, before)
    db.session.rollback()
    assert len(db.session.scalars(select(Exchange).where(Exchange.listing_id == listing_id)).all()) == 1


# --- Recording an exchange ---------------------------------------------------------------------------------------------


def exchange_form(other_id: int, *, direction: str = "given", hours: str = "2", minutes: str = "30",
                  done_on: date = TODAY, description: str = "Réparer un vélo") -> dict:
    return {"direction": direction, "other_id": str(other_id), "hours": hours, "minutes": minutes,
            "done_on": done_on.isoformat(), "description": description}


def test_recording_a_service_given_waits_for_the_receivers_confirmation(club, make_browser):
    me, other = club.members[3], club.members[4]
    browser = make_browser(me)
    done = browser.submit(f"{base(club)}/exchanges/new", exchange_form(mid(club, other)))
    assert done.status_code == 302, done.text
    exchange_id = int(re.search(r"/time/exchanges/(\d+)$", done.headers["Location"]).group(1))
    page = browser.get(done.headers["Location"]).text
    assert say("The exchange of %(duration)s is recorded. %(name)s will confirm it.", duration="2\u00a0h\u00a030",
               name=other.name) in page
    assert say("waiting for confirmation") in page
    exchange = exchange_of(exchange_id)
    assert (exchange.status, exchange.minutes, exchange.provider_id, exchange.receiver_id) == (
        "pending", 150, mid(club, me), mid(club, other))
    assert balance(club, me) == balance(club, other) == 0


def test_recording_a_service_received_counts_at_once(club, make_browser):
    me, other = club.members[3], club.members[4]
    browser = make_browser(me)
    done = browser.submit(f"{base(club)}/exchanges/new",
                          exchange_form(mid(club, other), direction="received", hours="1", minutes="30"))
    assert done.status_code == 302, done.text
    page = browser.get(done.headers["Location"]).text
    assert say("The exchange of %(duration)s is recorded and counted.", duration="1\u00a0h\u00a030") in page
    assert (balance(club, me), balance(club, other)) == (-90, 90)


def test_receiving_past_the_floor_is_refused_with_the_floor_and_balance(club, make_browser):
    """members[3] already received 9 h (balance −9 h); receiving 1 h 30 more would make −10 h 30, below −10 h."""
    me, helper, other = club.members[3], club.members[4], club.members[5]
    give(club, helper, me, 540)
    browser = make_browser(me)
    before = snapshot()
    refused = browser.submit(f"{base(club)}/exchanges/new",
                             exchange_form(mid(club, other), direction="received", hours="1", minutes="30"))
    refused_without_writing(refused, 400, before)
    assert error_of(refused.text, "hours") == say(
        "%(name)s's time balance is %(balance)s and their floor is %(floor)s: receiving %(minutes)s would take it "
        "below (at most %(room)s more).", name=me.name, balance="−9\u00a0h", floor="−10\u00a0h", minutes="1\u00a0h\u00a030",
        room="1\u00a0h")
    assert say("Rule %(rule)s of the charter.", rule="R12") in refused.text
    # Exactly one hour more still fits.
    assert browser.submit(f"{base(club)}/exchanges/new",
                          exchange_form(mid(club, other), direction="received", hours="1",
                                        minutes="0")).status_code == 302
    assert balance(club, me) == -600


def test_the_other_member_must_be_someone_else_active_in_this_club(club, neighbour, make_browser):
    me, leaver = club.members[3], club.members[5]
    clubs.leave(leaver.id, club.club_id)
    browser = make_browser(me)
    form = browser.get(f"{base(club)}/exchanges/new").text
    select_html = re.search(r'<select[^>]*name="other_id"[^>]*>(.*?)</select>', form, re.S).group(1)
    offered = {int(v) for v in re.findall(r'<option[^>]*value="(\d+)"', select_html)}
    assert offered == {mid(club, u) for u in club.members if u not in (me, leaver)}

    for forged in (mid(club, me), neighbour.membership_id(neighbour.members[3]), mid(club, leaver)):
        before = snapshot()
        refused = browser.submit(f"{base(club)}/exchanges/new", exchange_form(forged))
        refused_without_writing(refused, 400, before)
        assert error_of(refused.text, "other_id"), forged


def test_impossible_durations_dates_and_descriptions_are_refused_on_their_field(club, make_browser):
    me, other = club.members[3], club.members[4]
    browser = make_browser(me)
    cases = [
        ("hours", exchange_form(mid(club, other), hours="25", minutes="0"), None),
        ("minutes", exchange_form(mid(club, other), hours="1", minutes="60"), None),
        ("hours", exchange_form(mid(club, other), hours="0", minutes="0"),
         say("The time spent must be more than zero.")),
        ("description", exchange_form(mid(club, other), description=""), None),
        ("description", exchange_form(mid(club, other), description="   "), None),
        ("done_on", exchange_form(mid(club, other), done_on=TODAY + timedelta(days=1)),
         say("The service cannot be in the future.")),
    ]
    for field, data, message in cases:
        before = snapshot()
        refused = browser.submit(f"{base(club)}/exchanges/new", data)
        refused_without_writing(refused, 400, before)
        shown = error_of(refused.text, field)
        assert shown, (field, data)
        if message:
            assert shown == message
    assert balance(club, me) == balance(club, other) == 0


# --- The exchange page -------------------------------------------------------------------------------------------------


def test_who_sees_an_exchange(club, make_browser):
    provider, receiver, stranger = club.members[3], club.members[4], club.members[5]
    exchange_id = record(club, provider, receiver, "given", 60, description="Taille de la haie")
    url = f"{base(club)}/exchanges/{exchange_id}"
    for user in (provider, receiver, club.members[2], club.manager, club.treasurer):  # parties and officers
        page = make_browser(user).get(url)
        assert page.status_code == 200, user.name
        assert "Taille de la haie" in page.text
    assert make_browser(stranger).get(url).status_code == 404
    assert make_browser(stranger).get(f"{base(club)}/exchanges/999999").status_code == 404


def test_a_party_completes_an_arranged_exchange(club, make_browser):
    """The answerer of an offer receives the service: their word posts it at once (author +2 h, answerer −2 h)."""
    author, answerer = club.members[3], club.members[4]
    listing_id = publish(club, author, "Tailler la haie", category="gardening")
    exchange_id = timebank.answer(answerer.id, club.club_id, listing_id, form_key=key()).id
    url = f"{base(club)}/exchanges/{exchange_id}"
    browser = make_browser(answerer)
    page = browser.get(url).text
    assert f'action="{url}/complete"' in page

    before = snapshot()
    refused = browser.submit(f"{url}/complete", {"hours": "0", "minutes": "0", "done_on": TODAY.isoformat(),
                                                 "description": "Tailler la haie"}, page=url)
    refused_without_writing(refused, 400, before)
    assert error_of(refused.text, "hours") == say("The time spent must be more than zero.")

    done = browser.submit(f"{url}/complete", {"hours": "2", "minutes": "0", "done_on": TODAY.isoformat(),
                                              "description": "Tailler la haie du fond"}, page=url)
    assert done.status_code == 302, done.text
    assert say("The exchange of %(duration)s is recorded and counted.", duration="2\u00a0h") in browser.get(url).text
    assert exchange_of(exchange_id).status == "confirmed"
    assert (balance(club, author), balance(club, answerer)) == (120, -120)
    before = snapshot()
    again = browser.action(f"{url}/complete", {"hours": "1", "minutes": "0", "done_on": TODAY.isoformat(),
                                               "description": "Encore"})
    refused_without_writing(again, 409, before)


def test_the_receiver_confirms_and_the_provider_cannot(club, make_browser):
    provider, receiver = club.members[3], club.members[4]
    exchange_id = record(club, provider, receiver, "given", 45)
    url = f"{base(club)}/exchanges/{exchange_id}"
    giver = make_browser(provider)
    assert f'action="{url}/confirm"' not in giver.get(url).text
    before = snapshot()
    refused_without_writing(giver.action(f"{url}/confirm"), 403, before)

    taker = make_browser(receiver)
    assert f'action="{url}/confirm"' in taker.get(url).text
    assert taker.submit(f"{url}/confirm", page=url).status_code == 302
    assert (balance(club, provider), balance(club, receiver)) == (45, -45)
    before = snapshot()
    refused_without_writing(taker.action(f"{url}/confirm"), 409, before)


def test_the_receiver_disputes_with_a_reason(club, make_browser):
    provider, receiver = club.members[3], club.members[4]
    exchange_id = record(club, provider, receiver, "given", 240, description="Déménagement")
    url = f"{base(club)}/exchanges/{exchange_id}"
    browser = make_browser(receiver)

    before = snapshot()
    refused = browser.submit(f"{url}/dispute", {"reason": ""}, page=url)
    refused_without_writing(refused, 400, before)
    assert error_of(refused.text, "reason")

    # The recorder withdraws rather than disputes: no dispute form for them.
    assert f'action="{url}/dispute"' not in make_browser(provider).get(url).text
    done = browser.submit(f"{url}/dispute", {"reason": "Cela a pris deux heures, pas quatre."}, page=url)
    assert done.status_code == 302, done.text
    page = browser.get(url).text
    assert say("The exchange is disputed. The manager will look at it.") in page
    assert "Cela a pris deux heures, pas quatre." in page
    assert exchange_of(exchange_id).status == "disputed"
    assert balance(club, provider) == balance(club, receiver) == 0
    # The manager finds it on the overview.
    assert f'href="{url}"' in make_browser(club.manager).get(base(club)).text


def test_the_recorder_withdraws_a_pending_exchange_and_the_other_cannot(club, make_browser):
    provider, receiver = club.members[3], club.members[4]
    exchange_id = record(club, provider, receiver, "given", 30)
    url = f"{base(club)}/exchanges/{exchange_id}"
    other, browser = make_browser(receiver), make_browser(provider)
    before = snapshot()
    refused_without_writing(other.action(f"{url}/withdraw"), 403, before)
    assert f'action="{url}/withdraw"' in browser.get(url).text
    done = browser.submit(f"{url}/withdraw", page=url)
    assert done.status_code == 302
    page = browser.get(url).text
    assert say("The exchange is withdrawn.") in page and say("cancelled") in page
    assert exchange_of(exchange_id).status == "cancelled"
    before = snapshot()
    refused_without_writing(browser.action(f"{url}/withdraw"), 409, before)


def disputed(club, *, posted: bool, minutes: int = 120) -> int:
    """A disputed exchange between members[3] (provider) and members[4] (receiver)."""
    provider, receiver = club.members[3], club.members[4]
    if posted:  # the receiver recorded it (counted), the provider contests it
        exchange_id = give(club, provider, receiver, minutes)
        timebank.dispute(provider.id, club.club_id, exchange_id, reason="Ce n'était pas moi.")
    else:  # the provider recorded it (pending), the receiver contests it
        exchange_id = record(club, provider, receiver, "given", minutes)
        timebank.dispute(receiver.id, club.club_id, exchange_id, reason="Jamais reçu.")
    return exchange_id


def test_the_manager_settles_disputes_by_cancelling_reversing_or_keeping(club, make_browser):
    provider, receiver = club.members[3], club.members[4]
    manager = make_browser(club.manager)

    never_posted = disputed(club, posted=False)
    url = f"{base(club)}/exchanges/{never_posted}"
    before = snapshot()
    refused = manager.submit(f"{url}/settle", {"decision": "cancel", "reason": ""}, page=url)
    refused_without_writing(refused, 400, before)
    assert error_of(refused.text, "reason")
    wrong = manager.submit(f"{url}/settle", {"decision": "reverse", "reason": "Erreur"}, page=url)
    refused_without_writing(wrong, 409, before)
    assert say("This exchange was never posted: cancel it.") in wrong.text
    done = manager.submit(f"{url}/settle", {"decision": "cancel", "reason": "Personne ne s'en souvient."}, page=url)
    assert done.status_code == 302, done.text
    page = manager.get(url).text
    assert say("The dispute is settled; both members can read your reason.") in page
    assert "Personne ne s&#39;en souvient." in page
    assert exchange_of(never_posted).status == "cancelled"
    assert balance(club, provider) == balance(club, receiver) == 0

    reversed_ = disputed(club, posted=True, minutes=120)
    assert (balance(club, provider), balance(club, receiver)) == (120, -120)
    url = f"{base(club)}/exchanges/{reversed_}"
    done = manager.submit(f"{url}/settle", {"decision": "reverse", "reason": "Saisi par erreur."}, page=url)
    assert done.status_code == 302, done.text
    assert exchange_of(reversed_).status == "reversed"
    assert balance(club, provider) == balance(club, receiver) == 0

    kept = disputed(club, posted=True, minutes=60)
    url = f"{base(club)}/exchanges/{kept}"
    done = manager.submit(f"{url}/settle", {"decision": "keep", "reason": "Vérifié avec les deux."}, page=url)
    assert done.status_code == 302, done.text
    assert exchange_of(kept).status == "confirmed"
    assert (balance(club, provider), balance(club, receiver)) == (60, -60)


def test_a_plain_member_cannot_settle_a_dispute(club, make_browser):
    exchange_id = disputed(club, posted=False)
    url = f"{base(club)}/exchanges/{exchange_id}"
    for user in (club.members[5], club.members[3]):  # a stranger to it, and a party
        browser = make_browser(user)
        before = snapshot()
        refused = browser.submit(f"{url}/settle", {"decision": "cancel", "reason": "Je tranche."}, page=base(club))
        refused_without_writing(refused, 403, before)
    assert f'action="{url}/settle"' not in make_browser(club.members[3]).get(url).text
    assert f'action="{url}/settle"' in make_browser(club.manager).get(url).text


# --- Statements --------------------------------------------------------------------------------------------------------


def test_the_statement_shows_each_line_with_the_running_balance(club, make_browser):
    """members[3]: received 2 h three days ago (−2 h), gave 30 min yesterday (−1 h 30), gave 3 h today (+1 h 30)."""
    me, b, c = club.members[3], club.members[4], club.members[5]
    give(club, b, me, 120, done_on=TODAY - timedelta(days=3), description="Cours de guitare")
    give(club, me, c, 30, done_on=TODAY - timedelta(days=1), description="Courses")
    give(club, me, b, 180, description="Peinture du portail")
    page = make_browser(me).get(f"{base(club)}/statement")
    assert page.status_code == 200
    assert say("Time statement of %(name)s", name=me.name) in page.text
    body = page.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    lines = re.findall(r'<a href="[^"]+">(.*?)</a>.*?<td>(.*?)</td>\s*<td class="num">(.*?)</td>\s*'
                       r'<td class="num">(.*?)</td>', body, re.S)
    assert lines == [  # newest first
        ("Peinture du portail", b.name, "3\u00a0h", "1\u00a0h\u00a030"),
        ("Courses", c.name, "0\u00a0h\u00a030", "−1\u00a0h\u00a030"),
        ("Cours de guitare", b.name, "−2\u00a0h", "−2\u00a0h"),
    ]
    assert say("Balance %(balance)s; limits from %(floor)s to %(ceiling)s.", balance="1\u00a0h\u00a030", floor="−10\u00a0h",
               ceiling="40\u00a0h") in page.text


def test_the_statement_downloads_as_a_french_csv_without_formulas(club, make_browser):
    me, other = club.members[3], club.members[4]
    give(club, other, me, 90, done_on=TODAY - timedelta(days=1), description="=HYPERLINK(\"http://x\")")
    give(club, me, other, 30, description="Arrosage")
    answered = make_browser(me).get(f"{base(club)}/statement.csv")
    assert answered.status_code == 200
    assert answered.mimetype == "text/csv"
    assert "attachment" in answered.headers["Content-Disposition"]
    text = answered.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert len(rows) == 3 and len(rows[0]) == 9
    first, second = rows[1], rows[2]  # oldest first
    assert first[0] == (TODAY - timedelta(days=1)).isoformat()
    assert first[3] == "'=HYPERLINK(\"http://x\")"  # neutralised: a spreadsheet shows it as text
    assert (first[4], first[5], first[6], first[7]) == (other.name, "-90", "-90", "−1 h 30")  # plain spaces in a cell
    assert (second[3], second[5], second[6], second[8]) == ("Arrosage", "30", "-60", "−1 h")


def test_officers_read_any_members_statement_plain_members_only_their_own(club, make_browser):
    target, reader = club.members[3], club.members[4]
    give(club, target, reader, 60, description="Jardinage")
    treasurer = make_browser(club.treasurer)
    shown = treasurer.get(f"{base(club)}/statement?member={mid(club, target)}")
    assert shown.status_code == 200
    assert say("Time statement of %(name)s", name=target.name) in shown.text and "Jardinage" in shown.text
    csv_text = treasurer.get(f"{base(club)}/statement.csv?member={mid(club, target)}").data.decode("utf-8")
    assert "Jardinage" in csv_text and ";60;60;" in csv_text

    plain = make_browser(reader)
    assert plain.get(f"{base(club)}/statement?member={mid(club, target)}").status_code == 404
    assert plain.get(f"{base(club)}/statement.csv?member={mid(club, target)}").status_code == 404
    own = plain.get(f"{base(club)}/statement?member={mid(club, reader)}")
    assert own.status_code == 200 and say("Time statement of %(name)s", name=reader.name) in own.text
    for browser in (treasurer, plain):
        for bad in ("abc", "-1", "1e3", "9" * 13):
            assert browser.get(f"{base(club)}/statement?member={bad}").status_code == 404, bad
            assert browser.get(f"{base(club)}/statement.csv?member={bad}").status_code == 404, bad


# --- The officers' view and limits ---------------------------------------------------------------------------------


def matrix_of(page: str) -> dict[tuple[str, str], str]:
    """The flow matrix: (giver, receiver) -> cell text."""
    table = page.split('<table class="matrix">', 1)[1].split("</table>", 1)[0]
    head = table.split("</thead>", 1)[0]
    columns = [html.unescape(n) for n in re.findall(r'<th scope="col">(.*?)</th>', head)][1:]
    cells = {}
    for giver, values in rows_of(table).items():
        assert len(values) == len(columns)
        for receiver, value in zip(columns, values, strict=True):
            cells[giver, receiver] = value
    return cells


def test_the_club_view_is_for_officers_and_shows_who_helped_whom(club, make_browser):
    """[3] gave [4] 2 h then 1 h (3 h in all); [4] gave [5] 45 min; nothing else."""
    a, b, c = club.members[3], club.members[4], club.members[5]
    give(club, a, b, 120)
    give(club, a, b, 60)
    give(club, b, c, 45)
    url = f"{base(club)}/club"
    plain = make_browser(a)
    before = snapshot()
    refused_without_writing(plain.get(url), 403, before)
    assert 'href="' + url + '"' not in plain.get(base(club)).text

    for officer in (club.manager, club.treasurer, club.members[2]):
        page = make_browser(officer).get(url)
        assert page.status_code == 200, officer.name
        cells = matrix_of(page.text)
        assert cells[a.name, b.name] == "3\u00a0h"
        assert cells[b.name, c.name] == "0\u00a0h\u00a045"
        assert cells[b.name, a.name] == "" and cells[c.name, b.name] == ""
        assert cells[a.name, a.name] == "—"
        assert {v for (g, r), v in cells.items() if g != r and (g, r) not in {(a.name, b.name), (b.name, c.name)}} \
            == {""}


def test_the_attention_list_names_a_member_near_their_floor(club, make_browser):
    """[4] received 8 h from [3]: −8 h is 80 % of the −10 h floor (warning at 80 %)."""
    giver, near, calm = club.members[3], club.members[4], club.members[5]
    give(club, giver, near, 480)
    page = make_browser(club.treasurer).get(f"{base(club)}/club").text
    section = page.split('id="attention-title"', 1)[1].split("</section>", 1)[0]
    items = dict(re.findall(r"<li><strong>(.*?)</strong> —(.*?)</li>", section, re.S))
    floor = say("close to their floor (balance %(balance)s)", balance="−8\u00a0h")
    assert " ".join(items[near.name].split()) == " ".join(floor.split())
    # The one who gave 8 h and received nothing is named too, for another reason; nobody else.
    nothing = say("has given %(given)s and received nothing yet", given="8\u00a0h")
    assert " ".join(items[giver.name].split()) == " ".join(nothing.split())
    assert set(items) == {near.name, giver.name} and calm.name not in items


def test_only_the_manager_sets_a_members_limits_with_a_reason(club, make_browser):
    target = club.members[3]
    url = f"{base(club)}/limits/{mid(club, target)}"
    for user in (club.treasurer, club.members[2], club.members[4]):
        browser = make_browser(user)
        before = snapshot()
        refused_without_writing(browser.get(url), 403, before)
        refused_without_writing(browser.action(url, {"floor": "-20", "ceiling": "40", "reason": "Moi"}), 403, before)
    manager = make_browser(club.manager)
    form = manager.get(url)
    assert form.status_code == 200
    assert 'value="-10"' in form.text and 'value="40"' in form.text  # the charter's limits, in hours

    before = snapshot()
    refused = manager.submit(url, {"floor": "-20", "ceiling": "40", "reason": ""})
    refused_without_writing(refused, 400, before)
    assert error_of(refused.text, "reason")

    done = manager.submit(url, {"floor": "-20", "ceiling": "60", "reason": "Convalescence après une opération"})
    assert done.status_code == 302, done.text
    assert done.headers["Location"].endswith(f"{base(club)}/club")
    page = manager.get(done.headers["Location"]).text
    assert say("%(name)s's limits are now %(floor)s and %(ceiling)s.", name=target.name, floor="−20\u00a0h",
               ceiling="60\u00a0h") in page
    assert rows_of(page, '<h2>' + say('Members') + '</h2>')[target.name][3].endswith("*")
    db.session.rollback()
    account = ledger.find_account(club.club_id, f"time:{mid(club, target)}")
    assert (account.floor, account.ceiling) == (-1200, 3600)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "account.set_limits",
                                                        AuditEntry.object_id == account.id)).one()
    assert entry.actor_id == club.manager.id
    assert entry.after["reason"] == "Convalescence après une opération"
    assert (entry.before["floor"], entry.after["floor"]) == (-600, -1200)


def test_limits_that_leave_the_balance_outside_are_refused(club, make_browser):
    """[3] received 5 h: balance −5 h, so a floor of −4 h cannot hold it; [4] gave 5 h: a ceiling of 4 h neither."""
    low, high = club.members[3], club.members[4]
    give(club, high, low, 300)
    manager = make_browser(club.manager)
    for user, data, field in ((low, {"floor": "-4", "ceiling": "40"}, "floor"),
                              (high, {"floor": "-10", "ceiling": "4"}, "ceiling")):
        url = f"{base(club)}/limits/{mid(club, user)}"
        before = snapshot()
        refused = manager.submit(url, {**data, "reason": "Essai"})
        refused_without_writing(refused, 400, before)
        assert error_of(refused.text, field), field
    assert manager.get(f"{base(club)}/limits/999999").status_code == 404


# --- Another club's member ---------------------------------------------------------------------------------------


def test_a_member_of_another_club_reaches_no_time_page_of_this_club(club, neighbour, make_browser):
    listing_id = publish(club, club.members[3], "Réparer un vélo")
    exchange_id = record(club, club.members[3], club.members[4], "given", 60)
    target = mid(club, club.members[3])
    t = base(club)
    outsider = make_browser(neighbour.manager)
    before = snapshot()
    for url in (t, f"{t}/offers", f"{t}/offers?q=velo", f"{t}/offers/new", f"{t}/offers/{listing_id}",
                f"{t}/offers/{listing_id}/edit", f"{t}/exchanges/new", f"{t}/exchanges/{exchange_id}",
                f"{t}/statement", f"{t}/statement.csv", f"{t}/statement?member={target}", f"{t}/club",
                f"{t}/limits/{target}"):
        answered = outsider.get(url)
        assert answered.status_code == 404, url
        assert "Réparer un vélo" not in answered.text
    exchange = f"{t}/exchanges/{exchange_id}"
    for url, data in ((f"{t}/privacy", {"hidden": "y"}),
                      (f"{t}/offers/new", {"kind": "offer", "title": "Intrus", "category": "diy"}),
                      (f"{t}/offers/{listing_id}/edit", {"kind": "offer", "title": "Intrus", "category": "diy"}),
                      (f"{t}/offers/{listing_id}/status", {"status": "paused"}),
                      (f"{t}/offers/{listing_id}/answer", {"form_key": key()}),
                      (f"{t}/exchanges/new", exchange_form(target)),
                      (f"{exchange}/complete", {"hours": "1", "minutes": "0", "done_on": TODAY.isoformat(),
                                                "description": "x"}),
                      (f"{exchange}/confirm", {}), (f"{exchange}/dispute", {"reason": "x"}),
                      (f"{exchange}/withdraw", {}), (f"{exchange}/settle", {"decision": "cancel", "reason": "x"}),
                      (f"{t}/limits/{target}", {"floor": "-20", "ceiling": "40", "reason": "x"})):
        assert outsider.action(url, data).status_code == 404, url
    assert snapshot() == before


def test_a_chart_of_one_month_draws_its_point(club, make_browser):
    """One exchange, one month: a line of one point draws nothing, so the point is drawn as a dot."""
    give(club, club.members[3], club.members[4], 120)
    page = make_browser(club.treasurer).get(f"/clubs/{club.club_id}/books/charts").text
    chart = page.split('aria-labelledby="chart-3-title"', 1)[1].split("</svg>", 1)[0]
    assert len(re.findall(r'<polyline class="series time" points="[\d.]+,[\d.]+"/>', chart)) == 1
    assert len(re.findall(r'<circle class="series time" cx="[\d.]+" cy="[\d.]+" r="\d+"/>', chart)) == 1
