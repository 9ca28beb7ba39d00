"""Fixtures for the JSON API's tests: a club of six (manager, treasurer, secretary, three members), tokens of its
people, and a client that calls the API with one."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from coop.extensions import db
from tests.conftest import key


@pytest.fixture
def club(make_club):
    """An active club of six: manager, treasurer, secretary, three plain members."""
    return make_club(6, secretary=True)


@pytest.fixture
def neighbour(make_club):
    return make_club(5, name="Cigale Voisine")


@pytest.fixture
def make_token(app):
    """A working token of ``user`` for ``club_id``: its secret."""
    from coop.services import tokens

    def make(user, club_id: int, scope: str = "write", **kwargs) -> str:
        made = tokens.create_token(user.id, club_id, name=kwargs.pop("name", "Tableur"), scope=scope,
                                   form_key=key(), **kwargs)
        db.session.rollback()
        tokens.authenticate(made.secret)  # its first use noted now: a test's later calls write nothing for it
        db.session.rollback()
        return made.secret

    return make


@dataclass
class Caller:
    """The test client with a bearer token."""

    client: object
    secret: str | None

    def _headers(self, headers, idempotent):
        out = dict(headers or {})
        if self.secret is not None:
            out.setdefault("Authorization", f"Bearer {self.secret}")
        if idempotent:
            out.setdefault("Idempotency-Key", str(uuid.uuid4()))
        return out

    def get(self, url, headers=None, **kwargs):
        return self.client.get(url, headers=self._headers(headers, False), **kwargs)

    def post(self, url, json=None, headers=None, idempotent=True, **kwargs):
        return self.client.post(url, json=json, headers=self._headers(headers, idempotent), **kwargs)


@pytest.fixture
def caller(app, make_token):
    """``caller(user, club_id, scope)`` or ``caller(secret=…)``: a client acting with that token."""

    def make(user=None, club_id: int | None = None, scope: str = "write", *, secret: str | None = None) -> Caller:
        if secret is None and user is not None:
            secret = make_token(user, club_id, scope)
        return Caller(app.test_client(), secret)

    return make


def is_problem(response, status: int, rule: str | None = None, field: str | None = None) -> bool:
    """The answer is an RFC 9457 problem of ``status``, naming ``rule`` and ``field`` where given."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.content_type == "application/problem+json", response.content_type
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    if rule is not None:
        assert body.get("rule") == rule, body
    if field is not None:
        assert body.get("field") == field, body
    return True
