"""The API's use cases: each operation's success and its refusals, the same as the services' (the rule code in
the problem), with nothing written on a refusal; authentication, scopes, clubs, idempotency, bad input."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from coop.extensions import db
from coop.models.base import utcnow
from coop.services import ballots, clubs, timebank, tokens
from tests.api.conftest import is_problem
from tests.conftest import fund_club, key, snapshot

TODAY = date.today()


def base(club_id: int) -> str:
    return f"/api/v1/clubs/{club_id}"


# --- Authentication, scope, club ---------------------------------------------------------------------------------


def test_without_a_token_every_call_is_401(club, caller):
    response = caller().get(base(club.club_id))
    assert is_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer", "Bearer nope", "Basic dXNlcjpwYXNz", "ent_1_x", "Bearer ent_1_" + "a" * 43])
def test_a_bad_authorization_header_is_401(club, app, header):
    response = app.test_client().get(base(club.club_id), headers={"Authorization": header})
    assert is_problem(response, 401)


def test_the_session_cookie_is_not_a_token(club, make_browser):
    browser = make_browser(club.members[3])
    assert browser.get(f"/clubs/{club.club_id}/time").status_code == 200
    assert is_problem(browser.get(base(club.club_id)), 401)
    assert is_problem(browser.client.post(f"{base(club.club_id)}/listings", json={}), 401)


def test_a_token_of_another_club_is_404(club, neighbour, caller):
    mine = caller(neighbour.manager, neighbour.club_id)
    assert is_problem(mine.get(base(club.club_id)), 404)
    assert mine.get(base(neighbour.club_id)).status_code == 200


def test_a_revoked_token_is_401(club, make_token, caller):
    secret = make_token(club.members[3], club.club_id)
    made = db.session.scalar(select(tokens.ApiToken).where(tokens.ApiToken.secret_hash == tokens.digest(secret)))
    tokens.revoke_token(club.members[3].id, club.club_id, made.id)
    assert is_problem(caller(secret=secret).get(base(club.club_id)), 401)


def test_a_token_of_a_member_who_left_is_401(club, caller, make_token):
    secret = make_token(club.members[5], club.club_id)
    clubs.leave(club.members[5].id, club.club_id)
    assert is_problem(caller(secret=secret).get(base(club.club_id)), 401)


def test_a_read_token_reads_and_may_not_write(club, caller):
    reader = caller(club.members[3], club.club_id, "read")
    assert reader.get(f"{base(club.club_id)}/listings").status_code == 200
    before = snapshot()
    response = reader.post(f"{base(club.club_id)}/listings", json=_offer())
    assert is_problem(response, 403)
    assert snapshot() == before


# --- The club's position, accounts, statements -------------------------------------------------------------------


def test_the_position_shows_the_fund_and_my_line(club, caller):
    fund_club(club, 10_000)
    body = caller(club.members[3], club.club_id, "read").get(base(club.club_id)).get_json()
    assert body["currency"] == "EUR" and body["cash"] == 60_000 and body["available"] == 60_000
    assert [m["membership_id"] for m in body["members"]] == [club.membership_id(club.members[3])]
    assert body["members"][0]["contributed"] == 10_000
    officers = caller(club.treasurer, club.club_id, "read").get(base(club.club_id)).get_json()
    assert len(officers["members"]) == 6


def test_my_accounts_and_statements(club, caller):
    fund_club(club, 10_000)
    me = caller(club.members[3], club.club_id, "read")
    accounts = me.get(f"{base(club.club_id)}/accounts").get_json()
    assert {a["unit"] for a in accounts} == {"money", "time"}
    money = next(a for a in accounts if a["unit"] == "money")
    assert money["currency"] == "EUR" and money["balance"] == -10_000
    savings = me.get(f"{base(club.club_id)}/statements/savings").get_json()
    assert savings["due"] == 0 and savings["arrears"] == 0  # no pledge yet
    assert [c["amount"] for c in savings["contributions"]] == [10_000]
    time = me.get(f"{base(club.club_id)}/statements/time").get_json()
    assert time["unit"] == "minutes" and time["lines"] == []


# --- Offers and requests -------------------------------------------------------------------------------------------


def _offer(**kwargs):
    return {"kind": "offer", "category": "diy", "title": "Réparer un vélo", **kwargs}


def test_publish_and_find_an_offer(club, caller):
    me = caller(club.members[3], club.club_id)
    response = me.post(f"{base(club.club_id)}/listings", json=_offer(description="Freins, chaîne"))
    assert response.status_code == 201, response.get_json()
    made = response.get_json()
    assert made["title"] == "Réparer un vélo" and made["author_id"] == club.membership_id(club.members[3])
    found = caller(club.members[4], club.club_id, "read").get(f"{base(club.club_id)}/listings?q=velo").get_json()
    assert [x["id"] for x in found["items"]] == [made["id"]] and found["total"] == 1


def test_a_replayed_idempotency_key_writes_nothing(club, caller):
    me = caller(club.members[3], club.club_id)
    same = {"Idempotency-Key": str(uuid.uuid4())}
    assert me.post(f"{base(club.club_id)}/listings", json=_offer(), headers=same).status_code == 201
    before = snapshot()
    assert is_problem(me.post(f"{base(club.club_id)}/listings", json=_offer(), headers=same), 409)
    assert snapshot() == before


@pytest.mark.parametrize("header", [None, "", "abc", "x" * 32, "0" * 33, "g" * 32])
def test_a_write_without_a_good_idempotency_key_is_refused(club, caller, header):
    me = caller(club.members[3], club.club_id)
    headers = {"Idempotency-Key": header} if header is not None else {}
    before = snapshot()
    response = me.post(f"{base(club.club_id)}/listings", json=_offer(), headers=headers, idempotent=False)
    assert is_problem(response, 400, field="Idempotency-Key")
    assert snapshot() == before


@pytest.mark.parametrize("body, status, field", [
    ({"kind": "offer", "category": "diy"}, 422, "title"),
    (_offer(kind="gift"), 400, "kind"),
    (_offer(category="nothing"), 400, "category"),
    (_offer(title=""), 400, "title"),
    (_offer(title="x" * 121), 400, "title"),
    (_offer(title=12), 422, "title"),
    (_offer(expires_on="2030-01-01"), 400, "expires_on"),
    (_offer(expires_on="not a date"), 422, "expires_on"),
    (_offer(extra=1), 422, "extra"),
    ({"kind": "request", "category": "diy", "title": "Aide"}, 400, "expires_on"),
    ([1, 2], 422, None),
])
def test_a_bad_listing_is_refused_with_its_field(club, caller, body, status, field):
    me = caller(club.members[3], club.club_id)
    before = snapshot()
    assert is_problem(me.post(f"{base(club.club_id)}/listings", json=body), status, field=field)
    assert snapshot() == before


def test_bad_json_a_nul_and_a_huge_body_are_4xx(club, caller):
    me = caller(club.members[3], club.club_id)
    url = f"{base(club.club_id)}/listings"
    before = snapshot()
    assert me.post(url, data="{not json", headers={"Content-Type": "application/json"}).status_code in (400, 422)
    assert is_problem(me.post(url, data='{"kind": "offer", "category": "diy", "title": "a\\u0000b"}',
                              headers={"Content-Type": "application/json"}), 400)
    assert is_problem(me.post(url, data="{" + " " * 100_000 + "}", headers={"Content-Type": "application/json"}), 413)
    assert snapshot() == before


@pytest.mark.parametrize("query", ["page=0", "page=-1", "page=x", "kind=gift", "category=x", "q=" + "a" * 201])
def test_a_bad_search_is_4xx(club, caller, query):
    response = caller(club.members[3], club.club_id, "read").get(f"{base(club.club_id)}/listings?{query}")
    assert response.status_code in (400, 422) and is_problem(response, response.status_code)


# --- Exchanges -----------------------------------------------------------------------------------------------------


def _given(club, **kwargs):
    return {"other_id": club.membership_id(club.members[3]), "direction": "given", "minutes": 90,
            "done_on": TODAY.isoformat(), "description": "Jardinage", **kwargs}


def test_record_confirm_an_exchange(club, caller):
    giver, receiver = caller(club.members[4], club.club_id), caller(club.members[3], club.club_id)
    response = giver.post(f"{base(club.club_id)}/exchanges", json=_given(club))
    assert response.status_code == 201, response.get_json()
    made = response.get_json()
    assert made["status"] == "pending" and made["minutes"] == 90
    assert [x["id"] for x in receiver.get(f"{base(club.club_id)}/exchanges").get_json()] == [made["id"]]
    # The giver may not confirm their own record (R12); the receiver does, once.
    assert is_problem(giver.post(f"{base(club.club_id)}/exchanges/{made['id']}/confirm", idempotent=False), 403,
                      rule="R12")
    confirmed = receiver.post(f"{base(club.club_id)}/exchanges/{made['id']}/confirm", idempotent=False)
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "confirmed"
    before = snapshot()
    assert is_problem(receiver.post(f"{base(club.club_id)}/exchanges/{made['id']}/confirm", idempotent=False), 409)
    assert snapshot() == before
    lines = receiver.get(f"{base(club.club_id)}/statements/time").get_json()["lines"]
    assert [line["minutes"] for line in lines] == [-90]


def test_dispute_an_exchange(club, caller):
    giver, receiver = caller(club.members[4], club.club_id), caller(club.members[3], club.club_id)
    made = giver.post(f"{base(club.club_id)}/exchanges", json=_given(club)).get_json()
    before = snapshot()
    assert is_problem(receiver.post(f"{base(club.club_id)}/exchanges/{made['id']}/dispute", json={"reason": ""}),
                      400, field="reason")
    assert snapshot() == before
    done = receiver.post(f"{base(club.club_id)}/exchanges/{made['id']}/dispute", json={"reason": "Pas fait"})
    assert done.status_code == 200 and done.get_json()["status"] == "disputed"


@pytest.mark.parametrize("change, status, field", [
    ({"minutes": 0}, 422, "minutes"),
    ({"minutes": -30}, 422, "minutes"),
    ({"minutes": "90"}, 422, "minutes"),
    ({"minutes": 90.5}, 422, "minutes"),
    ({"direction": "stolen"}, 400, "direction"),
    ({"done_on": (TODAY + timedelta(days=3)).isoformat()}, 400, "done_on"),
    ({"other_id": 2**31}, 422, "other_id"),
    ({"other_id": 0}, 422, "other_id"),
])
def test_a_bad_exchange_is_refused_and_nothing_is_written(club, caller, change, status, field):
    me = caller(club.members[4], club.club_id)
    before = snapshot()
    assert is_problem(me.post(f"{base(club.club_id)}/exchanges", json=_given(club, **change)), status, field=field)
    assert snapshot() == before


def test_an_exchange_with_someone_of_another_club_is_refused(club, neighbour, caller):
    me = caller(club.members[4], club.club_id)
    before = snapshot()
    response = me.post(f"{base(club.club_id)}/exchanges",
                       json=_given(club, other_id=neighbour.membership_id(neighbour.members[2])))
    assert response.status_code in (400, 404) and is_problem(response, response.status_code)
    assert snapshot() == before


def test_the_time_limit_refusal_names_rule_r12(club, caller):
    """Receiving 11 hours takes the receiver below the charter's floor of −10 hours."""
    me = caller(club.members[3], club.club_id)
    before = snapshot()
    response = me.post(f"{base(club.club_id)}/exchanges", json=_given(
        club, direction="received", other_id=club.membership_id(club.members[4]), minutes=11 * 60))
    assert is_problem(response, 400, rule="R12")
    assert snapshot() == before


def test_another_clubs_exchange_is_404(club, neighbour, caller):
    theirs = timebank.record_exchange(neighbour.members[3].id, neighbour.club_id,
                                      other_id=neighbour.membership_id(neighbour.members[2]), direction="given",
                                      minutes=30, done_on=TODAY, description="x", form_key=key())
    db.session.rollback()
    me = caller(club.members[3], club.club_id)
    assert is_problem(me.post(f"{base(club.club_id)}/exchanges/{theirs.id}/confirm", idempotent=False), 404)


# --- Ballots -------------------------------------------------------------------------------------------------------


def _ballot(club):
    made = ballots.open_ballot(club.manager.id, club.club_id, kind="dissolution", method="yes_no",
                               closes_at=utcnow() + timedelta(days=7), subject=ballots.Subject(), form_key=key())
    option = made.options[0].id
    db.session.rollback()
    return made.id, option


def test_list_read_and_vote_on_a_ballot(club, caller):
    ballot_id, option = _ballot(club)
    me = caller(club.members[3], club.club_id)
    listed = me.get(f"{base(club.club_id)}/ballots").get_json()
    assert [b["id"] for b in listed] == [ballot_id] and listed[0]["may_vote"] and not listed[0]["voted"]
    voted = me.post(f"{base(club.club_id)}/ballots/{ballot_id}/vote",
                    json={"choices": [{"option_id": option, "value": 1}]}, idempotent=False)
    assert voted.status_code == 200 and voted.get_json() == {"ballot_id": ballot_id, "voted": True}
    shown = me.get(f"{base(club.club_id)}/ballots/{ballot_id}").get_json()
    assert shown["voted"] and shown["my_choices"] == {str(option): 1} and shown["participants"] == 1


@pytest.mark.parametrize("body, status", [
    ({"choices": []}, 422),
    ({"choices": [{"option_id": 1, "value": "yes"}]}, 422),
    ({"choices": [{"option_id": 2**31 - 1, "value": 1}]}, 400),
    ({"choices": [{"option_id": 1, "value": 99}]}, 422),
    ({}, 422),
])
def test_a_bad_vote_is_refused_and_nothing_is_written(club, caller, body, status):
    ballot_id, _ = _ballot(club)
    me = caller(club.members[3], club.club_id)
    before = snapshot()
    assert is_problem(me.post(f"{base(club.club_id)}/ballots/{ballot_id}/vote", json=body, idempotent=False), status)
    assert snapshot() == before


def test_no_such_ballot_is_404(club, caller):
    me = caller(club.members[3], club.club_id)
    assert is_problem(me.get(f"{base(club.club_id)}/ballots/999999"), 404)
    assert is_problem(me.get(f"{base(club.club_id)}/ballots/99999999999"), 404)


# --- The journal ---------------------------------------------------------------------------------------------------


def test_the_journal_is_the_bookkeepers(club, caller):
    fund_club(club, 10_000)
    page = caller(club.treasurer, club.club_id, "read").get(f"{base(club.club_id)}/journal").get_json()
    assert len(page["rows"]) == 6 and page["currency"] == "EUR"
    assert all(sum(p["amount"] for p in row["postings"]) == 0 for row in page["rows"])
    for someone in (club.members[3], club.members[2]):
        assert is_problem(caller(someone, club.club_id, "read").get(f"{base(club.club_id)}/journal"), 403)


@pytest.mark.parametrize("query, status", [("after=nope", 400), ("kind=x", 400), ("start=2026-13-01", 422),
                                           ("start=2030-01-02&end=2030-01-01", 400)])
def test_a_bad_journal_query_is_4xx(club, caller, query, status):
    assert is_problem(caller(club.treasurer, club.club_id, "read").get(f"{base(club.club_id)}/journal?{query}"),
                      status)


# --- Errors of the protocol ----------------------------------------------------------------------------------------


def test_unknown_address_and_wrong_method_are_problems(club, caller):
    me = caller(club.members[3], club.club_id)
    assert is_problem(me.get("/api/v1/nothing"), 404)
    assert is_problem(me.client.delete(f"{base(club.club_id)}/listings",
                                       headers={"Authorization": f"Bearer {me.secret}"}), 405)


def test_the_rate_limit_is_a_429_problem_with_retry_after(club, caller, app, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_API", "3 per minute")
    me = caller(club.members[3], club.club_id, "read")
    answers = [me.get(f"{base(club.club_id)}/accounts") for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    assert is_problem(answers[3], 429) and int(answers[3].headers["Retry-After"]) > 0
    # Another token of the same member has its own count.
    assert caller(club.members[3], club.club_id, "read").get(f"{base(club.club_id)}/accounts").status_code == 200


def test_guessing_tokens_is_limited_per_address(club, app, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_API_BAD", "2 per minute")
    client = app.test_client()
    answers = [client.get(base(club.club_id), headers={"Authorization": "Bearer ent_1_" + "b" * 43})
               for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 429]
    assert is_problem(answers[2], 429)


def test_a_crash_is_a_500_problem(club, caller, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(timebank, "search", boom)
    me = caller(club.members[3], club.club_id, "read")
    assert is_problem(me.get(f"{base(club.club_id)}/listings"), 500)


def test_problems_speak_the_owners_language(club, caller):
    """The detail is in the token owner's language, whatever the client's Accept-Language."""
    me = caller(club.members[3], club.club_id, "read")
    url = f"{base(club.club_id)}/journal"
    assert "réservée" in me.get(url, headers={"Accept-Language": "en"}).get_json()["detail"]
    club.members[3].language = "en"
    db.session.commit()
    assert "Only the club" in me.get(url, headers={"Accept-Language": "fr"}).get_json()["detail"]
