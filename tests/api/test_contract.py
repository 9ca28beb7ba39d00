"""The API against its OpenAPI document: the document is valid OpenAPI 3, it documents every route under
/api/v1 and no route that does not exist, and every documented operation, called with real data, answers with a
documented status and a body that matches its schema (openapi-core), successes and refusals alike."""
from __future__ import annotations

import json
import re
import uuid
from datetime import date, timedelta

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_spec_validator import validate

from coop.extensions import db
from coop.models.base import utcnow
from coop.services import ballots, timebank
from tests.conftest import fund_club, key

#: Routes under /api/v1 that serve the document itself, not operations of the API.
DOCUMENT_ROUTES = {"api-docs.openapi_json", "api_docs.reference"}


class _Sent(WerkzeugOpenAPIRequest):
    """The request an answer was for: its operation, not its body (a refused body may be left unread)."""

    @property
    def body(self) -> bytes:
        return b""


@pytest.fixture
def document(app):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.content_type.startswith("application/json")
    return response.get_json()


def test_the_document_is_valid_openapi_3(document):
    validate(document)
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": document["components"]["securitySchemes"]["bearer"][
            "description"]}
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "rule", "field"} <= set(problem["properties"])


def _operations(document) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item
            if method in ("get", "post", "put", "patch", "delete")}


def test_every_route_is_documented_and_every_operation_exists(app, document):
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.endpoint in DOCUMENT_ROUTES:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        routes |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert len(routes) >= 14
    assert routes == _operations(document)


def test_every_operation_documents_its_errors_as_problems(document):
    for method, path in _operations(document):
        responses = document["paths"][path][method.lower()]["responses"]
        assert {"401", "404", "429", "500"} <= set(responses), (method, path)
        if method == "POST":
            assert {"400", "403", "409", "413", "422"} <= set(responses), (method, path)
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                name = response["$ref"].rsplit("/", 1)[1]
                content = document["components"]["responses"][name]["content"]
                assert list(content) == ["application/problem+json"], (method, path, status)


# --- Every operation, called -----------------------------------------------------------------------------------------


def _calls(club, secrets, ids) -> list[tuple[str, str, str, dict | None, dict, int]]:
    """(role, method, url, json, headers, expected status): each documented operation's success, and refusals."""
    c = club.club_id
    base = f"/api/v1/clubs/{c}"
    write = {"Idempotency-Key": str(uuid.uuid4())}
    given = {"other_id": ids["member"], "direction": "given", "minutes": 45, "done_on": date.today().isoformat(),
             "description": "Courses"}
    return [
        ("member", "GET", base, None, {}, 200),
        ("treasurer", "GET", base, None, {}, 200),
        ("member", "GET", f"{base}/accounts", None, {}, 200),
        ("member", "GET", f"{base}/statements/time", None, {}, 200),
        ("member", "GET", f"{base}/statements/savings", None, {}, 200),
        ("member", "GET", f"{base}/listings?q=velo&page=1", None, {}, 200),
        ("member", "GET", f"{base}/listings?page=0", None, {}, 422),
        ("member", "POST", f"{base}/listings", {"kind": "offer", "category": "diy", "title": "Tondre"}, write, 201),
        ("member", "POST", f"{base}/listings", {"kind": "offer", "category": "diy", "title": "Tondre"}, write, 409),
        ("member", "POST", f"{base}/listings", {"kind": "gift", "category": "diy", "title": "x"},
         {"Idempotency-Key": key()}, 400),
        ("reader", "POST", f"{base}/listings", {"kind": "offer", "category": "diy", "title": "x"},
         {"Idempotency-Key": key()}, 403),
        ("member", "GET", f"{base}/exchanges", None, {}, 200),
        ("other", "POST", f"{base}/exchanges", given, {"Idempotency-Key": key()}, 201),
        ("other", "POST", f"{base}/exchanges", {**given, "minutes": -5}, {"Idempotency-Key": key()}, 422),
        ("other", "POST", f"{base}/exchanges/{ids['exchange']}/confirm", None, {}, 403),
        ("member", "POST", f"{base}/exchanges/{ids['exchange']}/confirm", None, {}, 200),
        ("member", "POST", f"{base}/exchanges/{ids['exchange']}/confirm", None, {}, 409),
        ("member", "POST", f"{base}/exchanges/{ids['disputed']}/dispute", {"reason": "Pas venu"}, {}, 200),
        ("member", "POST", f"{base}/exchanges/{ids['disputed']}/dispute", {"reason": 3}, {}, 422),
        ("member", "GET", f"{base}/ballots", None, {}, 200),
        ("member", "GET", f"{base}/ballots/{ids['ballot']}", None, {}, 200),
        ("member", "GET", f"{base}/ballots/999999", None, {}, 404),
        ("member", "POST", f"{base}/ballots/{ids['ballot']}/vote",
         {"choices": [{"option_id": ids["option"], "value": 1}]}, {}, 200),
        ("member", "POST", f"{base}/ballots/{ids['ballot']}/vote", {"choices": "yes"}, {}, 422),
        ("treasurer", "GET", f"{base}/journal", None, {}, 200),
        ("member", "GET", f"{base}/journal", None, {}, 403),
        ("treasurer", "GET", f"{base}/journal?after=x", None, {}, 400),
        ("outsider", "GET", f"{base}/accounts", None, {}, 404),
        ("nobody", "GET", f"{base}/ballots", None, {}, 401),
        ("nobody", "POST", f"{base}/exchanges/{ids['exchange']}/dispute", {"reason": "x"}, {}, 401),
        ("member", "DELETE", f"{base}/listings", None, {}, 405),
        ("member", "POST", f"{base}/listings", "{" + " " * 70_000 + "}", {"Idempotency-Key": key()}, 413),
    ]


def test_every_operation_answers_as_documented(app, document, make_club, make_token):
    club = make_club(6, secretary=True)
    outsider = make_club(1, treasurer=False, activate=False, name="Autre club")
    fund_club(club, 10_000)
    member, other = club.members[3], club.members[4]
    c, mid = club.club_id, club.membership_id
    timebank.publish(member.id, c, {"kind": "offer", "title": "Réparer un vélo", "category": "diy"}, form_key=key())
    exchange = timebank.record_exchange(other.id, c, other_id=mid(member), direction="given", minutes=90,
                                        done_on=date.today(), description="Jardinage", form_key=key())
    disputed = timebank.record_exchange(other.id, c, other_id=mid(member), direction="given", minutes=30,
                                        done_on=date.today(), description="Bricolage", form_key=key())
    ballot = ballots.open_ballot(club.manager.id, c, kind="dissolution", method="yes_no",
                                 closes_at=utcnow() + timedelta(days=7), subject=ballots.Subject(), form_key=key())
    ids = {"member": mid(member), "exchange": exchange.id, "disputed": disputed.id, "ballot": ballot.id,
           "option": ballot.options[0].id}
    db.session.rollback()
    secrets = {"member": make_token(member, c), "other": make_token(other, c), "reader": make_token(member, c, "read"),
               "treasurer": make_token(club.treasurer, c), "outsider": make_token(outsider.manager, outsider.club_id),
               "nobody": None}
    # Strict: a body member the document does not name is an error too, and problems are JSON.
    openapi = OpenAPI.from_dict(document, config=Config(
        extra_media_type_deserializers={"application/problem+json": json.loads},
        additional_properties_default_policy="forbid"))
    client = app.test_client()
    called, seen = set(), {}
    for role, method, url, body, headers, expected in _calls(club, secrets, ids):
        headers = dict(headers)
        if secrets[role]:
            headers["Authorization"] = f"Bearer {secrets[role]}"
        if isinstance(body, str):
            response = client.open(url, method=method, data=body, headers={**headers, "Content-Type": "application/json"})
        else:
            response = client.open(url, method=method, json=body, headers=headers)
        seen[(role, method, url, expected)] = response.status_code
        if method == "DELETE":  # no such operation: nothing to validate against, but still a problem
            assert response.content_type == "application/problem+json"
            continue
        openapi.validate_response(_Sent(response.request), WerkzeugOpenAPIResponse(response))
        if 200 <= response.status_code < 300:
            path = re.sub(r"/\d+", lambda m: m.group(0), response.request.path)
            called.add((method, path))
    assert {k: v for k, v in seen.items() if v != k[3]} == {}
    # Every documented operation was called with success.
    succeeded = set()
    for method, path in _operations(document):
        pattern = "^" + re.sub(r"\{\w+\}", r"[0-9]+", path) + "$"
        if any(m == method and re.match(pattern, p) for m, p in called):
            succeeded.add((method, path))
    assert succeeded == _operations(document)
