"""Personal access tokens: made for one club with a scope and an optional expiry, the secret shown once and
kept only as its digest, listed and revoked by their owner (or the manager), dead once revoked, expired or
when their owner leaves; and the pages that make and revoke them."""
from __future__ import annotations

import hashlib
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from coop.extensions import db
from coop.models import ApiToken, AuditEntry
from coop.models.base import utcnow
from coop.services import clubs, tokens
from coop.services.errors import Conflict, InvalidInput, NotFound
from tests.conftest import hidden_fields, key, snapshot


def make(user, club_id, **kwargs):
    values = {"name": "Tableur", "scope": "read", "form_key": key(), **kwargs}
    made = tokens.create_token(user.id, club_id, **values)
    db.session.rollback()
    return made


def test_a_token_is_shown_once_and_kept_as_its_digest(club):
    member = club.members[3]
    made = make(member, club.club_id, scope="write")
    assert made.secret.startswith(f"ent_{club.club_id}_") and len(made.secret) >= 43 + 5
    row = db.session.scalar(select(ApiToken).where(ApiToken.id == made.token.id))
    assert row.secret_hash == hashlib.sha256(made.secret.encode()).hexdigest()
    assert made.secret not in {row.secret_hash, row.prefix, row.name}
    assert made.secret.startswith(row.prefix) and len(made.secret) - len(row.prefix) >= 36  # 216 bits unshown
    assert row.scope == "write" and row.membership_id == club.membership_id(member)
    assert tokens.authenticate(made.secret).id == row.id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "token.create",
                                                       AuditEntry.object_id == row.id))
    assert entry.actor_id == member.id and made.secret not in str(entry.after)


def test_two_tokens_never_share_a_secret(club):
    assert make(club.manager, club.club_id).secret != make(club.manager, club.club_id).secret


@pytest.mark.parametrize("values, field", [
    ({"name": ""}, "name"),
    ({"name": "x" * 81}, "name"),
    ({"name": "a\x00b"}, "name"),
    ({"scope": "admin"}, "scope"),
    ({"scope": None}, "scope"),
    ({"expires_on": date.today()}, "expires_on"),
    ({"expires_on": date.today() - timedelta(days=3)}, "expires_on"),
    ({"expires_on": date.today() + timedelta(days=400)}, "expires_on"),
    ({"expires_on": "2030-01-01"}, "expires_on"),
])
def test_a_token_with_bad_values_is_refused_and_nothing_is_written(club, values, field):
    before = snapshot()
    with pytest.raises(InvalidInput) as refused:
        make(club.members[3], club.club_id, **values)
    assert refused.value.field == field
    assert snapshot() == before


def test_a_replayed_form_makes_no_second_token(club):
    form_key = key()
    make(club.members[3], club.club_id, form_key=form_key)
    before = snapshot()
    with pytest.raises(Conflict):
        make(club.members[3], club.club_id, form_key=form_key)
    assert snapshot() == before


def test_only_a_member_of_the_club_makes_a_token_for_it(club, neighbour):
    with pytest.raises(NotFound):
        make(neighbour.manager, club.club_id)


def test_the_list_holds_the_owners_tokens_only(club):
    mine = make(club.members[3], club.club_id)
    make(club.members[4], club.club_id)
    listed = tokens.tokens_of(club.members[3].id, club.club_id)
    assert [t.id for t in listed] == [mine.token.id]


def test_a_revoked_token_stops_working(club):
    made = make(club.members[3], club.club_id)
    tokens.revoke_token(club.members[3].id, club.club_id, made.token.id)
    assert tokens.authenticate(made.secret) is None
    with pytest.raises(Conflict):
        tokens.revoke_token(club.members[3].id, club.club_id, made.token.id)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "token.revoke",
                                                      AuditEntry.object_id == made.token.id)) is not None


def test_another_member_may_not_revoke_a_token_but_the_manager_may(club):
    made = make(club.members[3], club.club_id)
    for other in (club.members[4], club.treasurer, club.members[2]):
        with pytest.raises(NotFound):
            tokens.revoke_token(other.id, club.club_id, made.token.id)
    assert tokens.authenticate(made.secret) is not None
    tokens.revoke_token(club.manager.id, club.club_id, made.token.id)
    assert tokens.authenticate(made.secret) is None


@pytest.mark.parametrize("token_id", [0, -1, 2**31, "1", None, True])
def test_revoking_no_such_token_is_not_found(club, token_id):
    with pytest.raises(NotFound):
        tokens.revoke_token(club.manager.id, club.club_id, token_id)


def test_an_expired_token_stops_working(club):
    made = make(club.members[3], club.club_id, expires_on=date.today() + timedelta(days=2))
    assert tokens.authenticate(made.secret) is not None
    assert tokens.authenticate(made.secret, now=utcnow() + timedelta(days=4)) is None


def test_a_token_stops_working_when_its_owner_leaves(club):
    made = make(club.members[4], club.club_id)
    clubs.leave(club.members[4].id, club.club_id)
    assert tokens.authenticate(made.secret) is None


@pytest.mark.parametrize("secret", ["", "ent_", "Bearer", "ent_1_short", "x" * 200, None, 12,
                                    "ent_99999999999_" + "a" * 43])
def test_a_malformed_secret_is_no_token(club, secret):
    assert tokens.authenticate(secret) is None


def test_a_secret_altered_by_one_character_is_no_token(club):
    made = make(club.members[3], club.club_id)
    altered = made.secret[:-1] + ("A" if made.secret[-1] != "A" else "B")
    assert tokens.authenticate(altered) is None


def test_use_is_noted_at_most_once_a_minute(club):
    made = make(club.members[3], club.club_id)
    first = tokens.authenticate(made.secret).last_used_at
    assert first is not None
    db.session.rollback()
    assert tokens.authenticate(made.secret).last_used_at == first
    later = tokens.authenticate(made.secret, now=utcnow() + timedelta(minutes=2)).last_used_at
    assert later > first


# --- Pages ----------------------------------------------------------------------------------------------------


def test_the_page_makes_a_token_and_shows_its_secret_once(club, make_browser):
    browser = make_browser(club.members[3])
    url = f"/clubs/{club.club_id}/tokens"
    shown = browser.get(url)
    assert shown.status_code == 200
    fields = hidden_fields(shown.text)
    made = browser.client.post(url, data={**fields, "name": "Mon tableur", "scope": "read", "expires_on": ""})
    assert made.status_code == 201
    secret = next(word for word in made.text.replace("<", " ").replace(">", " ").split()
                  if word.startswith(f"ent_{club.club_id}_") and len(word) > 40)
    assert tokens.authenticate(secret).name == "Mon tableur"
    again = browser.get(url)
    assert secret not in again.text and "Mon tableur" in again.text
    replayed = browser.client.post(url, data={**fields, "name": "Mon tableur", "scope": "read"})
    assert replayed.status_code == 409


def test_the_page_refuses_a_token_without_a_name(club, make_browser):
    browser = make_browser(club.members[3])
    url = f"/clubs/{club.club_id}/tokens"
    fields = hidden_fields(browser.get(url).text)
    before = snapshot()
    assert browser.client.post(url, data={**fields, "name": "", "scope": "read"}).status_code == 400
    assert snapshot() == before


def test_the_page_revokes_a_token(club, make_browser):
    made = make(club.members[3], club.club_id)
    browser = make_browser(club.members[3])
    url = f"/clubs/{club.club_id}/tokens"
    fields = hidden_fields(browser.get(url).text)
    done = browser.client.post(f"{url}/{made.token.id}/revoke", data={"csrf_token": fields["csrf_token"]})
    assert done.status_code == 302
    assert tokens.authenticate(made.secret) is None


def test_the_page_is_in_english_and_in_french(club, make_browser):
    member = club.members[3]
    browser = make_browser(member)
    assert "Jetons d’API" in browser.get(f"/clubs/{club.club_id}/tokens").text
    member.language = "en"
    db.session.commit()
    assert "API tokens" in make_browser(member).get(f"/clubs/{club.club_id}/tokens").text
