"""Accounts through the browser: register, log in and out, change password, rate limits, language."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import time_machine
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import func, select

from coop.extensions import db
from coop.models import User
from tests.conftest import PASSWORD, Browser, form_values, say, snapshot
from tests.smtp import smtp_server


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


GOOD = {"name": "Alice Martin", "password": "un mot de passe sûr", "confirm": "un mot de passe sûr", "language": "fr"}
EMAIL = "alice@example.org"
SENT = ("We have sent a message to this address to finish creating your account. Open the link in it within "
        "%(hours)d hours.")


@pytest.fixture
def inbox(app):
    with smtp_server(app) as box:
        yield box


def flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash [a-z]+" role="[a-z]+">(.*?)</p>', page, re.S)


def link_to_finish(inbox, email: str) -> str:
    """The path of the one registration link mailed to ``email``."""
    [sent] = inbox.to(email)
    found = re.findall(r"^http://localhost(/account/register/[A-Za-z0-9_.-]+)$", sent.body, re.M)
    assert len(found) == 1, sent.body
    return found[0]


def register(browser, inbox, email: str = EMAIL, **values):
    """Both steps: the address, then the rest from the link in the mail."""
    assert browser.submit("/account/register", {"email": email}).status_code == 302
    return browser.submit(link_to_finish(inbox, email.strip().lower()), {**GOOD, **values})


# --- Register ------------------------------------------------------------------------------


def test_registering_mails_a_link_and_the_link_creates_the_account_and_logs_in(browser, inbox):
    before = snapshot()
    response = browser.submit("/account/register", {"email": EMAIL})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert flashes(browser.get("/").text) == [say(SENT, hours=24)]
    assert snapshot() == before  # nothing yet: the address is not proved
    [sent] = inbox.mail
    assert sent.rcpt_tos == (EMAIL,)
    assert sent.subject == say("Finish creating your Entraide account")
    path = link_to_finish(inbox, EMAIL)
    page = browser.get(path)
    assert page.status_code == 200
    assert EMAIL in page.text
    assert set(form_values(page.text)) == {"name", "password", "confirm", "language"}

    response = browser.submit(path, GOOD)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = browser.get("/")
    assert say("Welcome to Entraide, %(name)s.", name="Alice Martin") in home.text
    assert say("My clubs") in home.text
    assert is_logged_in(browser.client)
    user = stored_user(EMAIL)
    assert user is not None and user.name == "Alice Martin" and user.language == "fr"
    # The link made one account: used again, it is dead.
    assert browser.client.get(path).status_code == 302  # logged in: sent home
    assert Browser(browser.client.application.test_client()).get(path).status_code == 404


def test_register_stores_the_email_in_lower_case(browser, inbox):
    response = register(browser, inbox, "Alice.Martin@Example.ORG")

    assert response.status_code == 302
    assert stored_user("alice.martin@example.org") is not None


def test_an_address_already_used_gets_the_same_answer_and_its_owner_a_warning(app, inbox, make_user):
    """Issue 15: the page said "An account already uses this email address" (who has an account leaked)."""
    owner = make_user(email=EMAIL, language="en")

    def answer(email):
        browser = Browser(app.test_client())
        response = browser.submit("/account/register", {"email": email})
        return browser, (response.status_code, response.headers.get("Location"), flashes(browser.get("/").text))

    _, fresh = answer("nouvelle@example.org")
    before = snapshot()
    browser, used = answer("ALICE@Example.org")

    assert used == fresh == (302, "/", [say(SENT, hours=24)])
    assert snapshot() == before
    assert not is_logged_in(browser.client)
    [warning] = inbox.to(EMAIL)
    with force_locale("en"):
        assert warning.subject == gettext("Someone tried to register with your address")
        assert warning.body.startswith(gettext("Hello %(name)s,", name=owner.name))
    assert "http://localhost/account/login\n" in warning.body
    assert "http://localhost/account/reset\n" in warning.body
    assert "/account/register/" not in warning.body


@pytest.mark.parametrize("known", [True, False], ids=["address-with-an-account", "new-address"])
def test_the_answer_does_not_wait_for_the_mail_server(app, inbox, make_user, known):
    """Issue 15, point 7: the mail was sent within the request, so its SMTP round trip made the answer tell which
    addresses have an account. Now the mail server keeps the message unanswered (``inbox.hold``) and the answer
    comes all the same, the answer every address gets; the mail arrives once the server lets it through. For
    either kind of address, as each is mailed: the owner a warning, a new address its link (no timing here: the
    server holds the message until the test releases it, and would refuse it after HOLD_LIMIT)."""
    make_user(email=EMAIL)
    email = EMAIL if known else "nouvelle@example.org"
    browser = Browser(app.test_client())
    inbox.hold()

    response = browser.submit("/account/register", {"email": email})

    assert (response.status_code, response.headers["Location"]) == (302, "/")
    assert flashes(browser.get("/").text) == [say(SENT, hours=24)]
    assert inbox.held.wait(10)  # the message is at the server, unanswered, after the answer came
    assert (inbox.holding, inbox.arrived) == (1, [])
    inbox.release()
    [sent] = inbox.wait_for(1)
    assert sent.rcpt_tos == (email,)
    assert ("/account/register/" in sent.body) is not known
    assert inbox.refused == 0


@pytest.mark.parametrize("email", ["", "not-an-email", "alice@", "alice@example"])
def test_register_refuses_a_bad_address_next_to_it_and_mails_nothing(browser, inbox, email):
    before = snapshot()

    response = browser.submit("/account/register", {"email": email})

    assert response.status_code == 400
    assert 'id="email-error"' in response.text
    assert snapshot() == before
    assert inbox.mail == []


@pytest.mark.parametrize(
    "field, value, error_field, message",
    [
        ("name", "", "name", None),
        ("name", "   ", "name", None),
        ("name", "x" * 121, "name", None),
        ("password", "", "password", None),
        ("password", "short", "password", None),
        ("password", "qwertyuiop", "password",
         "The most used passwords are tried first: this one is among them. Choose another."),
        ("password", "alice la grande", "password",
         "A password must not contain your name or your email address: they are tried first. Choose another."),
        ("confirm", "", "confirm", None),
        ("confirm", "un autre mot de passe", "confirm", "The two passwords differ."),
        ("language", "de", "language", None),
        ("language", "", "language", None),
    ],
    ids=["empty name", "blank name", "name of 121 characters", "empty password", "short password",
         "common password", "password with the name", "empty confirmation", "mismatched confirmation",
         "unknown language", "no language"],
)
def test_finishing_refuses_bad_input_next_to_the_field_and_writes_nothing(browser, inbox, field, value, error_field,
                                                                         message):
    browser.submit("/account/register", {"email": EMAIL})
    path = link_to_finish(inbox, EMAIL)
    values = {**GOOD, field: value}
    if field == "password":
        values["confirm"] = value
    before = snapshot()

    response = browser.submit(path, values)

    assert response.status_code == 400
    assert f'id="{error_field}-error"' in response.text
    if message:
        assert say(message) in response.text
    assert snapshot() == before
    assert not is_logged_in(browser.client)
    assert browser.get(path).status_code == 200  # the link still works


@pytest.mark.parametrize("token", ["abc", "x" * 60, "x" * 600])
def test_a_made_up_registration_link_is_not_found(browser, token):
    page = browser.get(f"/account/register/{token}")
    assert page.status_code == 404
    assert say("This link is not valid any more: start again from the registration form.") in page.text


def test_a_registration_link_expires_after_the_hours_set(app, browser, inbox):
    browser.submit("/account/register", {"email": EMAIL})
    path = link_to_finish(inbox, EMAIL)
    with time_machine.travel(datetime.now() + timedelta(hours=24, seconds=1)):
        assert browser.get(path).status_code == 404
    assert browser.get(path).status_code == 200


def test_a_name_of_120_characters_is_accepted(browser, inbox):
    response = register(browser, inbox, name="x" * 120)

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


@pytest.mark.parametrize("target", ["/x%0D%0ASet-Cookie:%20a=b", "/x%0AX:1", "/x%09y", "/x%7F", "/x%E2%80%A8y"],
                         ids=["CRLF", "LF", "tab", "DEL", "line separator"])
def test_a_next_with_control_characters_logs_in_and_goes_home(browser, make_user, target):
    """Issue 15: a CR LF in ``next`` was a 500 ("Nothing was saved") after logging the person in."""
    user = make_user()

    response = browser.submit(f"/account/login?next={target}", {"email": user.email, "password": PASSWORD},
                              page="/account/login")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Set-Cookie" not in response.headers.get("Location", "")
    assert is_logged_in(browser.client)


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
        assert browser.submit("/account/register", {"email": f"bad{n}"}).status_code == 400

    response = browser.submit("/account/register", {"email": EMAIL})
    assert response.status_code == 429


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
