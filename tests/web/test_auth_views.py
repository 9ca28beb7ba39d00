"""Accounts through the browser: register, log in and out, change password, rate limits, language."""
from __future__ import annotations

import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import func, select

from coop.extensions import db
from coop.models import User
from tests.conftest import PASSWORD, say


def user_count() -> int:
    db.session.rollback()  # end the test's own read snapshot: see what the requests committed
    return db.session.scalar(select(func.count()).select_from(User))


def stored_user(email: str) -> User | None:
    db.session.rollback()
    return db.session.scalar(select(User).where(User.email == email))


def is_logged_in(client) -> bool:
    """The account page answers only a logged-in person; others are sent to the login page."""
    response = client.get("/account/")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


GOOD = {"name": "Alice Martin", "email": "alice@example.org", "password": "un mot de passe sûr",
        "confirm": "un mot de passe sûr", "language": "fr"}


# --- Register ------------------------------------------------------------------------------


def test_register_logs_the_new_member_in(browser):
    response = browser.submit("/account/register", GOOD)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = browser.get("/")
    assert say("Welcome to Entraide, %(name)s.", name="Alice Martin") in home.text
    assert say("My clubs") in home.text
    assert is_logged_in(browser.client)
    user = stored_user("alice@example.org")
    assert user is not None and user.name == "Alice Martin" and user.language == "fr"


def test_register_stores_the_email_in_lower_case(browser):
    response = browser.submit("/account/register", {**GOOD, "email": "Alice.Martin@Example.ORG"})

    assert response.status_code == 302
    assert stored_user("alice.martin@example.org") is not None


def test_an_email_already_used_in_another_case_is_refused_next_to_the_email(browser, make_user):
    make_user(email="alice@example.org")
    before = user_count()

    response = browser.submit("/account/register", {**GOOD, "email": "ALICE@Example.org"})

    # A Conflict (409), the status the error hierarchy gives to "already there".
    assert response.status_code == 409
    assert 'id="email-error"' in response.text
    assert say("An account already uses this email address.") in response.text
    assert user_count() == before
    assert not is_logged_in(browser.client)


@pytest.mark.parametrize(
    "field, value, error_field, message",
    [
        ("name", "", "name", None),
        ("name", "   ", "name", None),
        ("name", "x" * 121, "name", None),
        ("email", "", "email", None),
        ("email", "not-an-email", "email", None),
        ("email", "alice@", "email", None),
        ("email", "alice@example", "email", None),
        ("password", "", "password", None),
        ("password", "short", "password", None),
        ("confirm", "", "confirm", None),
        ("confirm", "un autre mot de passe", "confirm", "The two passwords differ."),
        ("language", "de", "language", None),
        ("language", "", "language", None),
    ],
    ids=["empty name", "blank name", "name of 121 characters", "empty email", "malformed email",
         "email without domain", "email without dot", "empty password", "short password", "empty confirmation",
         "mismatched confirmation", "unknown language", "no language"],
)
def test_register_refuses_bad_input_next_to_the_field_and_writes_nothing(browser, field, value, error_field,
                                                                          message):
    before = user_count()

    response = browser.submit("/account/register", {**GOOD, field: value})

    assert response.status_code == 400
    assert f'id="{error_field}-error"' in response.text
    if message:
        assert say(message) in response.text
    assert user_count() == before
    assert not is_logged_in(browser.client)


def test_a_name_of_120_characters_is_accepted(browser):
    response = browser.submit("/account/register", {**GOOD, "name": "x" * 120})

    assert response.status_code == 302


# --- Log in --------------------------------------------------------------------------------------


def test_login_with_the_right_password_goes_home(browser, make_user):
    user = make_user()

    response = browser.login(user)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert is_logged_in(browser.client)


def test_login_accepts_the_email_in_another_case(browser, make_user):
    make_user(email="bruno@example.org")

    response = browser.login("Bruno@EXAMPLE.org")

    assert response.status_code == 302
    assert is_logged_in(browser.client)


@pytest.mark.parametrize("who", ["wrong password", "unknown email"])
def test_a_failed_login_answers_401_with_the_same_message_on_the_form(browser, make_user, who):
    user = make_user()
    email = user.email if who == "wrong password" else "nobody@example.org"

    response = browser.login(email, password="not the password")

    assert response.status_code == 401
    assert say("Wrong email or password.") in response.text
    assert 'name="password"' in response.text  # the login form, to try again
    assert not is_logged_in(browser.client)


@pytest.mark.parametrize(
    "target, landing",
    [
        ("/clubs/new", "/clubs/new"),
        ("/account/?tab=1", "/account/?tab=1"),
        ("//evil.example", "/"),
        ("//evil.example/clubs/new", "/"),
        ("https://evil.example", "/"),
        ("https://evil.example/account/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_login_follows_next_only_to_a_path_of_this_site(browser, make_user, target, landing):
    from urllib.parse import quote

    user = make_user()

    response = browser.submit(f"/account/login?next={quote(target, safe='')}",
                              {"email": user.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response.headers["Location"] == landing


def test_anonymous_visitors_are_sent_to_login_and_back(browser, make_user):
    user = make_user()

    asked = browser.get("/account/password")
    assert asked.status_code == 302
    assert asked.headers["Location"].startswith("/account/login?next=")

    response = browser.submit(asked.headers["Location"], {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/password"


# --- Log out -----------------------------------------------------------------------------------


def test_logout_is_a_post_only(make_browser, make_user):
    browser = make_browser(make_user())

    assert browser.get("/account/logout").status_code == 405
    assert is_logged_in(browser.client)

    response = browser.logout()
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert say("You are logged out.") in browser.get("/").text
    assert not is_logged_in(browser.client)


def test_a_copy_of_the_session_cookie_stops_working_after_logout(app, make_browser, make_user):
    browser = make_browser(make_user())
    stolen = browser.client.get_cookie("session").value

    copy = app.test_client()
    copy.set_cookie("session", stolen)
    assert is_logged_in(copy)  # the copy works while the session lives

    browser.logout()

    later = app.test_client()
    later.set_cookie("session", stolen)
    assert not is_logged_in(later)


def test_a_remember_me_cookie_stops_working_after_logout(app, browser, make_user):
    user = make_user()
    response = browser.submit("/account/login", {"email": user.email, "password": PASSWORD, "remember": "y"})
    assert response.status_code == 302
    remembered = browser.client.get_cookie("remember_token")
    assert remembered is not None

    copy = app.test_client()
    copy.set_cookie("remember_token", remembered.value)
    assert is_logged_in(copy)

    browser.logout()

    later = app.test_client()
    later.set_cookie("remember_token", remembered.value)
    assert not is_logged_in(later)


# --- Password ------------------------------------------------------------------------------------

NEW_PASSWORD = "un tout nouveau secret"


def test_changing_the_password_logs_out_the_other_devices(make_browser, make_user):
    user = make_user()
    here = make_browser(user)
    elsewhere = make_browser(user)
    assert is_logged_in(elsewhere.client)

    response = here.submit("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD})

    assert response.status_code == 302
    assert say("Your password is changed. Other devices are logged out.") in here.get("/").text
    assert is_logged_in(here.client)
    assert not is_logged_in(elsewhere.client)
    assert make_browser().login(user, password=PASSWORD).status_code == 401
    assert make_browser().login(user, password=NEW_PASSWORD).status_code == 302


def test_a_wrong_current_password_is_refused_next_to_its_field(make_browser, make_user):
    user = make_user()
    browser = make_browser(user)
    stored = stored_user(user.email).password_hash

    response = browser.submit("/account/password", {"current_password": "not my password",
                                                     "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert 400 <= response.status_code < 500
    assert 'id="current_password-error"' in response.text
    assert say("Your current password is not right.") in response.text
    assert stored_user(user.email).password_hash == stored
    assert is_logged_in(browser.client)


# --- Rate limits ---------------------------------------------------------------------------------


def test_login_is_rate_limited(app, browser, make_user):
    app.config["RATELIMIT_LOGIN"] = "3 per minute"  # read at each request, before any request here
    user = make_user()

    for _ in range(3):
        assert browser.login(user, password="guessing again").status_code != 429

    response = browser.login(user)  # even the right password waits
    assert response.status_code == 429
    assert say("Too many attempts. Wait a moment and try again.") in response.text
    assert not is_logged_in(browser.client)
    assert browser.get("/account/login").status_code == 200  # reading the form is not limited


def test_registering_is_rate_limited(app, browser):
    app.config["RATELIMIT_REGISTER"] = "2 per minute"

    for n in range(2):
        assert browser.submit("/account/register", {**GOOD, "email": f"bad{n}"}).status_code == 400

    response = browser.submit("/account/register", GOOD)
    assert response.status_code == 429
    assert stored_user(GOOD["email"]) is None


# --- Language ------------------------------------------------------------------------------------


def test_a_visitor_switches_between_french_and_english(browser):
    assert '<html lang="fr">' in browser.get("/").text

    response = browser.action("/language", {"language": "en", "next": "/account/login"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/login"
    page = browser.get("/account/login").text
    assert '<html lang="en">' in page
    assert ">Log in</" in page
    assert 'value="fr"' in page  # the switch now offers French

    browser.action("/language", {"language": "fr"})
    page = browser.get("/account/login").text
    assert '<html lang="fr">' in page
    with force_locale("fr"):
        assert f">{escape(gettext('Log in'))}</" in page


def test_a_member_keeps_the_chosen_language_on_the_next_login(make_browser, make_user):
    user = make_user(language="fr")
    browser = make_browser(user)

    browser.action("/language", {"language": "en"})

    page = browser.get("/").text
    assert '<html lang="en">' in page
    assert ">Log out</" in page
    assert stored_user(user.email).language == "en"
    assert '<html lang="en">' in make_browser(user).get("/").text


@pytest.mark.parametrize("language", ["de", "", "x" * 10_000])
def test_an_unknown_language_is_refused(browser, language):
    response = browser.action("/language", {"language": language})

    assert response.status_code == 400
    assert '<html lang="fr">' in browser.get("/").text


def test_the_language_switch_never_redirects_off_site(browser):
    response = browser.action("/language", {"language": "en", "next": "https://evil.example/"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
