"""Accounts: registration, login, password change and logout rotate the session token, language, audit."""
from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from coop.config import Config
from coop.extensions import db
from coop.models import AuditEntry, User
from coop.models.audit import OUTSIDE_CLUBS
from coop.services import auth
from coop.services.errors import Conflict, InvalidInput, NotFound, NotPermitted
from tests.conftest import PASSWORD, at_once, english, pause_after, refused, row_counts


def audit_actions(user_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_type == "User", AuditEntry.object_id == user_id)
            .order_by(AuditEntry.id)
        )
    )


def reload(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


# --- Registration ----------------------------------------------------------------------


def test_register_creates_a_user_who_can_log_in(app):
    user = auth.register("  Camille   Durand ", "camille@example.org", PASSWORD, "fr")

    assert user.id is not None
    assert user.name == "Camille Durand"
    assert user.email == "camille@example.org"
    assert user.language == "fr"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert auth.authenticate("camille@example.org", PASSWORD).id == user.id
    assert auth.load_by_session_token(user.session_token).id == user.id


def test_register_stores_the_email_lower_cased(app):
    user = auth.register("Camille", "  Camille.Durand@Example.ORG ", PASSWORD, "en")
    assert user.email == "camille.durand@example.org"


@pytest.mark.parametrize(
    "second",
    ["camille@example.org", "CAMILLE@EXAMPLE.ORG", "Camille@Example.org", " camille@example.org "],
)
def test_an_email_is_used_once_whatever_its_case(app, second):
    auth.register("Camille", "Camille@Example.org", PASSWORD, "fr")
    users, entries = row_counts(User, AuditEntry)

    with pytest.raises(Conflict) as refusal:
        auth.register("Other", second, PASSWORD, "en")

    assert refusal.value.field == "email"
    assert row_counts(User, AuditEntry) == (users, entries)


@pytest.mark.parametrize(
    ("name", "email", "password", "language", "field"),
    [
        pytest.param("", "a@example.org", PASSWORD, "fr", "name", id="empty name"),
        pytest.param("   \t ", "a@example.org", PASSWORD, "fr", "name", id="blank name"),
        pytest.param(None, "a@example.org", PASSWORD, "fr", "name", id="no name"),
        pytest.param("x" * 121, "a@example.org", PASSWORD, "fr", "name", id="name of 121 characters"),
        pytest.param("Ca\x00mille", "a@example.org", PASSWORD, "fr", "name", id="NUL in name"),
        pytest.param("Camille", "", PASSWORD, "fr", "email", id="empty email"),
        pytest.param("Camille", None, PASSWORD, "fr", "email", id="no email"),
        pytest.param("Camille", "camille", PASSWORD, "fr", "email", id="no at sign"),
        pytest.param("Camille", "camille@", PASSWORD, "fr", "email", id="no domain"),
        pytest.param("Camille", "@example.org", PASSWORD, "fr", "email", id="no local part"),
        pytest.param("Camille", "camille@example", PASSWORD, "fr", "email", id="domain without a dot"),
        pytest.param("Camille", "ca mille@example.org", PASSWORD, "fr", "email", id="space inside"),
        pytest.param("Camille", "a@@example.org", PASSWORD, "fr", "email", id="two at signs"),
        pytest.param("Camille", "Camille <c@example.org>", PASSWORD, "fr", "email", id="display name"),
        pytest.param("Camille", "c" * 250 + "@example.org", PASSWORD, "fr", "email", id="too long email"),
        pytest.param("Camille", "a@example.org", "", "fr", "password", id="empty password"),
        pytest.param("Camille", "a@example.org", "x" * 9, "fr", "password", id="password of 9"),
        pytest.param("Camille", "a@example.org", "x" * 201, "fr", "password", id="password of 201"),
        pytest.param("Camille", "a@example.org", None, "fr", "password", id="no password"),
        pytest.param("Camille", "a@example.org", PASSWORD, "de", "language", id="unknown language"),
        pytest.param("Camille", "a@example.org", PASSWORD, "", "language", id="empty language"),
        pytest.param("Camille", "a@example.org", PASSWORD, None, "language", id="no language"),
    ],
)
def test_register_refuses_bad_input_and_writes_nothing(app, name, email, password, language, field):
    users, entries = row_counts(User, AuditEntry)

    with pytest.raises(InvalidInput) as refusal:
        auth.register(name, email, password, language)

    assert refusal.value.field == field
    assert row_counts(User, AuditEntry) == (users, entries)


@pytest.mark.parametrize(
    ("name", "password"),
    [
        pytest.param("x" * 120, PASSWORD, id="name of 120 characters"),
        pytest.param("Camille", "kq7#vw2!zp", id="password of 10"),  # "x" * 10 is a common password
        pytest.param("Camille", "x" * 200, id="password of 200"),
    ],
)
def test_register_accepts_values_at_their_limits(app, name, password):
    user = auth.register(name, "limits@example.org", password, "en")
    assert auth.authenticate("limits@example.org", password).id == user.id


# --- Weak passwords (issue 15) ------------------------------------------------------------------------------------

COMMON = "The most used passwords are tried first: this one is among them. Choose another."
PERSONAL = "A password must not contain your name or your email address: they are tried first. Choose another."


@pytest.mark.parametrize("password", ["1234567890", "qwertyuiop", "Password123", " iloveyou12 ", "1q2w3e4r5t"])
def test_register_refuses_a_password_among_the_most_used_and_says_why(app, password):
    error = refused(lambda: auth.register("Camille", "camille@example.org", password, "fr"), InvalidInput,
                    field="password")
    assert english(error) == english(COMMON)


@pytest.mark.parametrize(("name", "email", "password"), [
    ("Camille Durand", "cd@example.org", "camille2024!!"),
    ("Camille Durand", "cd@example.org", "mon nom est DURAND"),
    ("Camille Durand", "cd@example.org", "camilledurand"),
    ("Zoé", "camille.durand@example.org", "Camille.Durand-1985"),
    ("Zoé", "kiwi@example.org", "j'aime le kiwi vert"),
], ids=["first name", "last name", "whole name", "email's name", "short email's name"])
def test_register_refuses_a_password_with_the_persons_name_or_email_in_it(app, name, email, password):
    error = refused(lambda: auth.register(name, email, password, "fr"), InvalidInput, field="password")
    assert english(error) == english(PERSONAL)


def test_a_name_too_short_to_guess_from_does_not_refuse_a_password(app):
    user = auth.register("Al Bo", "al@example.org", "albatros du bocage", "fr")
    assert auth.authenticate("al@example.org", "albatros du bocage").id == user.id


def test_a_new_password_is_checked_the_same_way_when_changed_or_reset(app, make_user):
    user = make_user(name="Camille Durand")
    refused(lambda: auth.change_password(user.id, PASSWORD, "qwertyuiop"), InvalidInput, field="new_password")
    refused(lambda: auth.change_password(user.id, PASSWORD, "durand durand"), InvalidInput, field="new_password")


def test_register_is_audited(app):
    user = auth.register("Camille", "camille@example.org", PASSWORD, "fr")

    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.register"))
    assert entry.actor_id == user.id
    assert entry.club_id == OUTSIDE_CLUBS
    assert (entry.object_type, entry.object_id) == ("User", user.id)
    assert entry.after == {"email": "camille@example.org", "language": "fr"}
    assert PASSWORD not in str(entry.after)


# --- Logging in ------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["camille@example.org", "CAMILLE@example.org", "  camille@example.org  "])
def test_authenticate_with_the_right_password(app, make_user, typed):
    user = make_user(email="camille@example.org")
    assert auth.authenticate(typed, PASSWORD).id == user.id


def test_wrong_password_and_unknown_email_get_the_same_answer(app, make_user):
    make_user(email="camille@example.org")

    with pytest.raises(NotPermitted) as wrong_password:
        auth.authenticate("camille@example.org", PASSWORD + "!")
    with pytest.raises(NotPermitted) as unknown_email:
        auth.authenticate("nobody@example.org", PASSWORD)

    assert str(wrong_password.value) == str(unknown_email.value)
    assert wrong_password.value.field == unknown_email.value.field


@pytest.mark.parametrize(
    ("email", "password"),
    [
        pytest.param("camille@example.org", "", id="empty password"),
        pytest.param("camille@example.org", None, id="no password"),
        pytest.param("camille@example.org", PASSWORD.upper(), id="wrong case"),
        pytest.param("camille@example.org", "x" * 10_000, id="huge password"),
        pytest.param("", PASSWORD, id="empty email"),
        pytest.param("not an email", PASSWORD, id="malformed email"),
        pytest.param(None, PASSWORD, id="no email"),
    ],
)
def test_authenticate_refuses_anything_else(app, make_user, email, password):
    make_user(email="camille@example.org")
    with pytest.raises(NotPermitted):
        auth.authenticate(email, password)


# --- Sessions and passwords ------------------------------------------------------------


@pytest.mark.parametrize("token", ["", None, "x" * 65, "not-a-token"])
def test_no_user_loads_from_a_bad_token(app, make_user, token):
    make_user()
    assert auth.load_by_session_token(token) is None


def test_change_password_rotates_the_session_token(app, make_user):
    user = make_user()
    old_token = user.session_token

    auth.change_password(user.id, PASSWORD, "a brand new passphrase")

    user = reload(user)
    assert user.session_token != old_token
    assert auth.load_by_session_token(old_token) is None
    assert auth.load_by_session_token(user.session_token).id == user.id
    assert auth.authenticate(user.email, "a brand new passphrase").id == user.id
    with pytest.raises(NotPermitted):
        auth.authenticate(user.email, PASSWORD)


def test_change_password_is_audited_without_the_password(app, make_user):
    user = make_user()
    auth.change_password(user.id, PASSWORD, "a brand new passphrase")

    assert audit_actions(user.id) == ["user.register", "user.change_password"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.change_password"))
    assert entry.actor_id == user.id
    assert "passphrase" not in f"{entry.before} {entry.after}"


@pytest.mark.parametrize(
    ("current", "new", "error", "field"),
    [
        pytest.param("wrong password!", "a brand new passphrase", NotPermitted, "current_password",
                     id="wrong current password"),
        pytest.param("", "a brand new passphrase", NotPermitted, "current_password", id="empty current password"),
        pytest.param(None, "a brand new passphrase", NotPermitted, "current_password", id="no current password"),
        pytest.param(PASSWORD, PASSWORD, InvalidInput, "new_password", id="same password"),
        pytest.param(PASSWORD, "short", InvalidInput, "new_password", id="new password too short"),
        pytest.param(PASSWORD, "x" * 201, InvalidInput, "new_password", id="new password too long"),
        pytest.param(PASSWORD, None, InvalidInput, "new_password", id="no new password"),
    ],
)
def test_change_password_refusals_change_nothing(app, make_user, current, new, error, field):
    user = make_user()
    token, password_hash, entries = user.session_token, user.password_hash, row_counts(AuditEntry)[0]

    with pytest.raises(error) as refusal:
        auth.change_password(user.id, current, new)

    assert type(refusal.value) is error
    assert refusal.value.field == field
    user = reload(user)
    assert (user.session_token, user.password_hash) == (token, password_hash)
    assert row_counts(AuditEntry)[0] == entries
    assert auth.authenticate(user.email, PASSWORD).id == user.id


def test_change_password_of_nobody(app):
    with pytest.raises(NotFound):
        auth.change_password(9999, PASSWORD, "a brand new passphrase")


def test_end_sessions_rotates_the_token(app, make_user):
    user = make_user()
    other = make_user()
    old_token, other_token = user.session_token, other.session_token

    auth.end_sessions(user.id)

    user = reload(user)
    assert user.session_token != old_token
    assert auth.load_by_session_token(old_token) is None
    assert auth.load_by_session_token(user.session_token).id == user.id
    assert auth.load_by_session_token(other_token).id == other.id  # others stay logged in
    assert audit_actions(user.id)[-1] == "user.logout"


def test_end_sessions_of_nobody(app):
    with pytest.raises(NotFound):
        auth.end_sessions(9999)


# --- Language --------------------------------------------------------------------------


def test_set_language(app, make_user):
    user = make_user(language="fr")

    auth.set_language(user.id, "en")

    assert reload(user).language == "en"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.set_language"))
    assert (entry.before, entry.after) == ({"language": "fr"}, {"language": "en"})


def test_set_language_to_the_same_one_records_nothing(app, make_user):
    user = make_user(language="fr")
    entries = row_counts(AuditEntry)[0]

    auth.set_language(user.id, "fr")

    assert reload(user).language == "fr"
    assert row_counts(AuditEntry)[0] == entries


@pytest.mark.parametrize("language", ["de", "", None, "FR", "fr-FR"])
def test_set_language_refuses_unknown_languages(app, make_user, language):
    user = make_user(language="fr")

    with pytest.raises(InvalidInput) as refusal:
        auth.set_language(user.id, language)

    assert refusal.value.field == "language"
    assert reload(user).language == "fr"


def test_set_language_of_nobody(app):
    with pytest.raises(NotFound):
        auth.set_language(9999, "en")


# --- Hashing parameters ----------------------------------------------------------------


def test_an_outdated_hash_is_upgraded_at_login(app, make_user):
    user = make_user()
    old_hash = user.password_hash
    app.config["ARGON2_TIME_COST"] += 1

    auth.authenticate(user.email, PASSWORD)

    new_hash = reload(user).password_hash
    assert new_hash != old_hash
    assert f"t={app.config['ARGON2_TIME_COST']}" in new_hash
    assert auth.authenticate(user.email, PASSWORD).id == user.id


def test_production_hashes_with_argon2id_at_owasp_strength():
    # OWASP's minimum for argon2id: 19 MiB of memory, two passes.
    assert Config.ARGON2_MEMORY_COST >= 19_456
    assert Config.ARGON2_TIME_COST >= 2
    assert Config.ARGON2_PARALLELISM >= 1
    hasher = PasswordHasher(
        time_cost=Config.ARGON2_TIME_COST,
        memory_cost=Config.ARGON2_MEMORY_COST,
        parallelism=Config.ARGON2_PARALLELISM,
    )
    hashed = hasher.hash(PASSWORD)
    assert hashed.startswith("$argon2id$")
    assert f"m={Config.ARGON2_MEMORY_COST},t={Config.ARGON2_TIME_COST},p={Config.ARGON2_PARALLELISM}" in hashed
    assert hasher.verify(hashed, PASSWORD)


# --- Two registrations at once ---------------------------------------------------------


def test_two_simultaneous_registrations_of_one_email_give_one_account_and_a_conflict(app, monkeypatch):
    """A double click on the form: both requests pass the uniqueness check before either commits."""
    pause_after(monkeypatch, auth, "_new_token")

    def register():
        auth.register("Camille", "camille@example.org", PASSWORD, "fr")

    assert at_once(app, register, register) == ["Conflict", "done"]
    assert row_counts(User) == (1,)
