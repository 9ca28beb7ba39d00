"""Pages every visitor meets: the home page, error pages, refusals turned into messages, security headers."""
from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from coop.extensions import db
from coop.models import User
from coop.services import clubs
from tests.conftest import admit_by_vote, key, say, snapshot


def flash(category: str, message: str) -> str:
    return f'<p class="flash {category}" role="{"alert" if category == "error" else "status"}">{message}</p>'


# --- Home page ------------------------------------------------------------------------------------


def test_an_anonymous_visitor_is_welcomed_and_invited_to_register_or_log_in(browser):
    page = browser.get("/")

    assert page.status_code == 200
    assert say("Save together, decide together, help one another.") in page.text
    assert 'href="/account/register"' in page.text
    assert 'href="/account/login"' in page.text
    assert say("My clubs") not in page.text


def test_a_member_sees_their_clubs_and_their_pending_requests(make_club, make_browser, make_user):
    mine = make_club(5, name="Cigale des Monts")
    other = make_club(5, name="Cigale des Prés")
    asked = make_club(5, name="Cigale des Bois")
    unrelated = make_club(5, name="Cigale Inconnue")
    person = mine.members[2]
    admit_by_vote(other, person)
    _, code = clubs.invite(asked.manager.id, asked.club_id, form_key=key())
    clubs.join(person.id, code)

    page = make_browser(person).get("/").text

    assert say("My clubs") in page
    assert f'href="/clubs/{mine.club_id}/">Cigale des Monts</a>' in page
    assert f'href="/clubs/{other.club_id}/">Cigale des Prés</a>' in page
    assert "Cigale des Bois" in page and f'href="/clubs/{asked.club_id}/"' not in page
    assert say("Your request to join is waiting for the manager.") in page
    assert "Cigale Inconnue" not in page and f"/clubs/{unrelated.club_id}/" not in page


def test_a_person_without_club_is_offered_to_create_or_join_one(make_browser, make_user):
    page = make_browser(make_user()).get("/").text

    assert say("You do not belong to any club yet.") in page
    assert 'href="/clubs/new"' in page and 'href="/join"' in page


def test_the_health_check_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json["status"] == "ok"


# --- Error pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "member"])
def test_an_unknown_address_gives_the_404_page(make_browser, make_user, logged_in):
    browser = make_browser(make_user() if logged_in else None)

    response = browser.get("/no/such/page")

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "<h1>404</h1>" in response.text
    assert say("This page does not exist, or is not yours to see.") in response.text
    assert 'href="/"' in response.text


def test_a_get_on_a_button_address_gives_the_405_page(make_club, make_browser):
    setup = make_club(5, activate=False)

    response = make_browser(setup.manager).get(f"/clubs/{setup.club_id}/activate")

    assert response.status_code == 405
    assert say("This address does not accept this kind of request.") in response.text


def test_a_request_too_large_gives_the_413_page(browser):
    response = browser.client.post("/account/login", data={"email": "x" * (3 * 1024 * 1024)})

    assert response.status_code == 413
    assert say("What you sent is too large.") in response.text


@pytest.fixture
def crash_route(app, monkeypatch):
    """The health page, for this test only, writes in the request's session, then fails."""

    def crash():
        db.session.add(User(name="Fantôme", email="ghost@example.org", password_hash="x", session_token="ghost"))
        db.session.flush()  # sent to the database, inside the request's transaction
        raise RuntimeError("a bug")

    # The run's application has served requests already: a view is swapped, not a route added.
    monkeypatch.setitem(app.view_functions, "main.health", crash)
    return "/healthz"


def test_a_crash_gives_the_500_page(crash_route, client):
    response = client.get(crash_route)

    assert response.status_code == 500
    assert "<h1>500</h1>" in response.text
    assert say("Something went wrong on our side. Nothing was saved.") in response.text
    assert "a bug" not in response.text and "Traceback" not in response.text
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_a_crash_rolls_the_session_back(app, crash_route):
    # This client shares the test's application context, hence its database session: what the
    # failed request left in that session is visible here, unless the 500 handler rolled it back.
    client = FlaskClient(app, app.response_class, use_cookies=True)

    assert client.get(crash_route).status_code == 500

    assert not db.session.new
    assert db.session.scalar(select(User).where(User.email == "ghost@example.org")) is None


def test_a_crash_inside_a_use_case_saves_nothing(make_browser, make_user, monkeypatch):
    browser = make_browser(make_user())

    def broken_audit(*args, **kwargs):
        raise RuntimeError("the audit log is down")

    monkeypatch.setattr(clubs, "record", broken_audit)  # fails after the club is flushed
    before = snapshot()

    response = browser.submit("/clubs/new", {"name": "Cigale", "town": "Die", "country": "FR", "currency": "EUR"})

    assert response.status_code == 500
    assert say("Something went wrong on our side. Nothing was saved.") in response.text
    assert snapshot() == before


# --- Refusals from the services: a message and the right status -------------------------------------


def test_a_rule_violation_is_a_400_with_its_message(make_club, make_browser):
    setup = make_club(4, activate=False)
    browser = make_browser(setup.manager)

    response = browser.action(f"/clubs/{setup.club_id}/activate")

    assert response.status_code == 400
    text = say("A club needs between %(min)d and %(max)d active members to be active; it has %(count)d.",
               min=5, max=20, count=4)
    assert flash("error", text) in response.text
    assert say("Rule %(rule)s of the charter.", rule="R1") in response.text
    assert say("Nothing was changed.") in response.text
    assert text not in browser.get("/").text  # shown once


def test_a_conflict_is_a_409_with_its_message(make_club, make_browser):
    setup = make_club(5)  # already active

    response = make_browser(setup.manager).action(f"/clubs/{setup.club_id}/activate")

    assert response.status_code == 409
    assert flash("error", say("This club is already active.")) in response.text


def test_a_refusal_for_lack_of_role_is_a_403_with_its_message(make_club, make_browser):
    setup = make_club(5, activate=False)

    response = make_browser(setup.members[3]).action(f"/clubs/{setup.club_id}/activate")

    assert response.status_code == 403
    assert flash("error", say("Only the club's %(roles)s may do this.", roles=say("manager"))) in response.text


def test_a_success_flashes_once(make_club, make_browser):
    setup = make_club(5, activate=False)
    browser = make_browser(setup.manager)

    response = browser.action(f"/clubs/{setup.club_id}/activate", follow=True)

    assert response.status_code == 200
    assert '<p class="flash success" role="status">' in response.text
    assert '<p class="flash success"' not in browser.get(f"/clubs/{setup.club_id}/").text


# --- Security headers -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/account/login", "/account/register", "/no/such/page"])
def test_every_page_carries_the_security_headers(client, url):
    headers = client.get(url).headers

    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin",
                                          "strict-origin-when-cross-origin")
    assert headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in headers  # plain HTTP: HSTS would be ignored


def test_https_pages_ask_for_https_from_now_on(app):
    response = app.test_client().get("/", base_url="https://localhost")

    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_pages_of_a_logged_in_person_are_not_cached(make_club, make_browser):
    setup = make_club(5)
    browser = make_browser(setup.manager)

    for url in ("/", f"/clubs/{setup.club_id}/", f"/clubs/{setup.club_id}/accounts"):
        assert "no-store" in browser.get(url).headers.get("Cache-Control", ""), url


def test_the_session_cookie_is_http_only_and_same_site(make_browser, make_user):
    browser = make_browser(make_user())

    cookie = browser.client.get_cookie("session")

    assert cookie.http_only
    assert cookie.same_site == "Lax"
