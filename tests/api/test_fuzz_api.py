"""Fuzzing the API: whatever JSON (or not JSON) a program sends to an operation, with whatever query and
Idempotency-Key, the answer is never a 5xx, every refusal is a problem document, and the books still check."""
from __future__ import annotations

import json
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coop.extensions import db
from coop.models.base import utcnow
from coop.services import ballots, fund, ledger, timebank
from tests.conftest import key

EXAMPLES = 25
TEXT = st.one_of(st.text(max_size=40), st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=5),
                 st.just("x" * 10_000), st.just("a\x00b"))
NUMBER = st.one_of(st.integers(-(2**70), 2**70), st.integers(-3, 3), st.floats(allow_nan=False), st.just(2**31))
SCALAR = st.one_of(st.none(), st.booleans(), NUMBER, TEXT)
VALUE = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                     max_leaves=6)
DAY = st.one_of(st.sampled_from([date.today().isoformat(), (date.today() + timedelta(days=400)).isoformat(),
                                 "2026-02-30", "0001-01-01", ""]), TEXT)


def maybe(plausible, hostile=VALUE):
    return st.one_of(plausible, plausible, plausible, hostile)


def body(fields: dict) -> st.SearchStrategy:
    """A JSON object with each member plausible, hostile or left out, sometimes an unknown one; sometimes not an
    object at all."""
    members = st.fixed_dictionaries({}, optional={name: maybe(strategy) for name, strategy in fields.items()})
    extra = st.dictionaries(st.text(max_size=8), VALUE, max_size=1)
    return st.one_of(st.builds(lambda a, b: {**b, **a}, members, extra), members, VALUE)


def test_no_api_operation_answers_a_server_error_whatever_it_is_sent(app, club, neighbour, make_token):
    c, mid = club.club_id, club.membership_id
    fund.record_contribution(club.treasurer.id, c, membership_id=mid(club.members[3]), amount=5_000,
                             received_on=date.today(), method="transfer", idempotency_key=key())
    exchange = timebank.record_exchange(club.members[4].id, c, other_id=mid(club.members[3]), direction="given",
                                        minutes=60, done_on=date.today(), description="Courses", form_key=key())
    ballot = ballots.open_ballot(club.manager.id, c, kind="dissolution", method="yes_no",
                                 closes_at=utcnow() + timedelta(days=7), subject=ballots.Subject(), form_key=key())
    ids = {"exchange": exchange.id, "ballot": ballot.id, "option": ballot.options[0].id,
           "theirs": neighbour.membership_id(neighbour.members[2])}
    db.session.rollback()
    secrets = {"member": make_token(club.members[3], c), "treasurer": make_token(club.treasurer, c)}
    base = f"/api/v1/clubs/{c}"
    member_ids = st.sampled_from([mid(u) for u in club.members] + [ids["theirs"], 0, -1, 2**31])
    operations = [
        ("POST", f"{base}/listings", body({"kind": st.sampled_from(["offer", "request", "x"]),
                                           "category": st.sampled_from(["diy", "lessons", "?"]),
                                           "title": TEXT, "description": TEXT, "availability": TEXT,
                                           "expires_on": DAY})),
        ("POST", f"{base}/exchanges", body({"other_id": member_ids, "direction": st.sampled_from(["given", "received"]),
                                            "minutes": NUMBER, "done_on": DAY, "description": TEXT})),
        ("POST", f"{base}/exchanges/{ids['exchange']}/confirm", body({})),
        ("POST", f"{base}/exchanges/{ids['exchange']}/dispute", body({"reason": TEXT})),
        ("POST", f"{base}/ballots/{ids['ballot']}/vote", body({
            "choices": st.lists(st.fixed_dictionaries({"option_id": maybe(st.just(ids["option"]), NUMBER),
                                                       "value": maybe(st.sampled_from([1, 0, -1]), NUMBER)}),
                                max_size=3),
            "reason": TEXT})),
    ]
    client = app.test_client()
    queries = st.dictionaries(st.sampled_from(["q", "kind", "category", "page", "after", "start", "end"]),
                              st.one_of(TEXT.filter(lambda t: "\x00" not in t), NUMBER.map(str)), max_size=3)
    keys = st.one_of(st.uuids().map(str), st.just("replayed-key-0000000000000000000000"), TEXT.filter(
        lambda t: t.isascii() and t.isprintable()), st.none())

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(operation=st.sampled_from(operations), data=st.data(), idempotency=keys,
           role=st.sampled_from(["member", "treasurer"]), raw=st.booleans())
    def call(operation, data, idempotency, role, raw):
        method, url, strategy = operation
        sent = data.draw(strategy)
        headers = {"Authorization": f"Bearer {secrets[role]}"}
        if idempotency is not None:
            headers["Idempotency-Key"] = idempotency
        if raw:  # not JSON, or JSON sent as something else
            response = client.open(url, method=method, data=json.dumps(sent)[:-1] or "{", headers={
                **headers, "Content-Type": data.draw(st.sampled_from(["application/json", "text/plain"]))})
        else:
            response = client.open(url, method=method, json=sent, headers=headers)
        assert response.status_code < 500, (url, sent, response.get_data(as_text=True)[:300])
        if response.status_code >= 400:
            assert response.content_type == "application/problem+json"

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(path=st.sampled_from(["listings", "journal", "exchanges", "ballots", f"ballots/{ids['ballot']}"]),
           query=queries)
    def read(path, query):
        response = client.get(f"{base}/{path}", query_string=query,
                              headers={"Authorization": f"Bearer {secrets['treasurer']}"})
        assert response.status_code < 500, (path, query)

    call()
    read()
    db.session.rollback()
    assert ledger.check() == [] and timebank.check() == [] and ballots.check() == []
