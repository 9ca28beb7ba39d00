"""Bad input on every form: a 4xx with a message where the person looks, never a 500, and nothing written."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from coop import notify
from coop.services import auth, clubs
from tests.conftest import PASSWORD, form_values, key, say, snapshot

NEW_PASSWORD = "un tout nouveau secret"
LONG = "x" * 10_000


@dataclass
class OpenForm:
    browser: object
    url: str
    good: dict
    button: bool = False  # a button posted from another page, not a page of its own

    def send(self, data: dict):
        if self.button:
            return self.browser.action(self.url, data)
        return self.browser.submit(self.url, data)


@pytest.fixture
def open_form(make_browser, make_user, make_club, monkeypatch):
    def open_(name: str) -> OpenForm:
        if name == "register":
            return OpenForm(make_browser(), "/account/register", {"email": "alice@example.org"})
        if name == "finish":  # the page of the link mailed by the first step
            mailed = {}
            monkeypatch.setattr(notify, "registration_link", lambda email, language, token: mailed.update(token=token))
            auth.request_registration("alice@example.org", "fr")
            return OpenForm(make_browser(), f"/account/register/{mailed['token']}",
                            {"name": "Alice", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "language": "fr"})
        if name == "login":
            make_user(email="dora@example.org")
            return OpenForm(make_browser(), "/account/login", {"email": "dora@example.org", "password": PASSWORD})
        if name == "password":
            return OpenForm(make_browser(make_user()), "/account/password",
                            {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        if name == "club":
            return OpenForm(make_browser(make_user()), "/clubs/new",
                            {"name": "Cigale", "town": "Die", "country": "FR", "currency": "EUR"})
        if name == "join":
            setup = make_club(1, activate=False)
            _, code = clubs.invite(setup.manager.id, setup.club_id, form_key=key())
            return OpenForm(make_browser(make_user()), "/join", {"code": code})
        setup = make_club(2, treasurer=False, activate=False)  # a forming club: its manager and one member
        browser = make_browser(setup.manager)
        if name == "charter":
            url = f"/clubs/{setup.club_id}/charter/edit"
            return OpenForm(browser, url, form_values(browser.get(url).text))
        if name == "role":
            target = setup.membership_id(setup.members[1])
            return OpenForm(browser, f"/clubs/{setup.club_id}/members/{target}/role", {"role": "secretary"},
                            button=True)
        raise AssertionError(name)

    return open_


def case(form, field, value, *, error=None, message=None, status=400, label=None, also=None):
    """One bad value in an otherwise good form (``also``: other fields changed with it).

    ``error``: the field the message shows next to (default: ``field``; ``PAGE`` for a message on the page);
    ``message``: its text, with ``|name=value`` for the numbers in it."""
    return pytest.param(form, {field: value, **(also or {})}, field if error is None else error, message, status,
                        id=f"{form}-{field}-{label or value or 'empty'}")


PAGE = ""  # the message is on the page, not next to one field

CASES = [
    # Register
    case("register", "email", ""),
    case("register", "email", LONG, label="too long"),
    case("register", "email", "alice@@example.org"),
    case("register", "email", "alice.example.org"),
    case("finish", "name", ""),
    case("finish", "name", "   ", label="blank"),
    case("finish", "name", LONG, label="too long"),
    case("finish", "password", ""),
    case("finish", "password", "court"),
    case("finish", "password", LONG, label="too long"),
    case("finish", "confirm", ""),
    case("finish", "confirm", "autre chose", message="The two passwords differ."),
    case("finish", "language", "de"),
    case("finish", "language", LONG, label="too long"),
    # Log in
    case("login", "email", ""),
    case("login", "email", LONG, label="too long"),
    case("login", "password", ""),
    case("login", "password", LONG, label="too long"),
    case("login", "email", "dora-at-example.org", error=PAGE, message="Wrong email or password.", status=401),
    # Password change
    case("password", "current_password", ""),
    case("password", "current_password", LONG, label="too long"),
    case("password", "new_password", ""),
    case("password", "new_password", "court"),
    case("password", "new_password", LONG, label="too long"),
    case("password", "new_password", PASSWORD, label="same as current", also={"confirm": PASSWORD},
         message="Choose a password different from the current one."),
    case("password", "confirm", "autre chose", message="The two passwords differ."),
    # Creating a club
    case("club", "name", ""),
    case("club", "name", "   ", label="blank"),
    case("club", "name", "x" * 121, label="121 characters"),
    case("club", "name", LONG, label="too long"),
    case("club", "town", ""),
    case("club", "town", LONG, label="too long"),
    case("club", "country", "US"),
    case("club", "country", ""),
    case("club", "currency", "USD"),
    case("club", "currency", LONG, label="too long"),
    # Joining with a code
    case("join", "code", ""),
    case("join", "code", LONG, label="too long"),
    case("join", "code", "!!!!-????-####"),
    case("join", "code", "ABCD-EFGH-JKLM", label="unknown code",
         message="This invitation code is not valid, already used or expired."),
    # Charter: shape (the form) then rules (the service, shown next to the same field)
    case("charter", "min_members", ""),
    case("charter", "min_members", "-5"),
    case("charter", "min_members", "cinq"),
    case("charter", "min_members", "5.5"),
    case("charter", "min_members", "9" * 10_000, label="10000 digits"),
    case("charter", "min_members", "99999999999999999999"),
    case("charter", "min_members", "3", message="Allowed values are %(low)d to %(high)d.|low=5|high=20"),
    case("charter", "max_members", "21", message="Allowed values are %(low)d to %(high)d.|low=5|high=20"),
    case("charter", "max_renewals", "-1"),
    case("charter", "quorum_percent", "101"),
    case("charter", "quorum_percent", "-50"),
    case("charter", "min_monthly_contribution", ""),
    case("charter", "min_monthly_contribution", "-25,00", message="The amount cannot be negative."),
    case("charter", "min_monthly_contribution", "douze euros",
         message="Enter an amount such as 12,50 or 1 234,56."),
    case("charter", "min_monthly_contribution", "1.234.56"),
    case("charter", "min_monthly_contribution", "12,505"),
    case("charter", "min_monthly_contribution", LONG, label="too long", message="This amount is too long."),
    case("charter", "min_monthly_contribution", "0,50",
         message="Allowed values are %(low)d to %(high)d.|low=100|high=100000"),
    case("charter", "max_yearly_contribution", "9 999 999,00",
         message="Allowed values are %(low)d to %(high)d.|low=1000|high=550000"),
    case("charter", "time_floor_hours", "-101",
         message="Allowed values are %(low)d to %(high)d.|low=-6000|high=0"),
    case("charter", "time_floor_hours", "5", message="Allowed values are %(low)d to %(high)d.|low=-6000|high=0"),
    case("charter", "time_ceiling_hours", "-5"),
    case("charter", "time_warning_percent", "treize"),
    case("charter", "exchange_expiry_days", "0"),
    case("charter", "threshold_investment", "plurality"),
    case("charter", "threshold_investment", LONG, label="too long"),
    case("charter", "threshold_charter", "majority",
         message="Amending the charter, selling a stake and renewing the term need unanimity."),
    # Choosing a role
    case("role", "role", "", error=PAGE, message="Choose a role from the list."),
    case("role", "role", "emperor", error=PAGE, message="Choose a role from the list."),
    case("role", "role", "-1", error=PAGE, message="Choose a role from the list."),
    case("role", "role", LONG, label="too long", error=PAGE, message="Choose a role from the list."),
]


def _message(spec: str) -> str:
    text, *values = spec.split("|")
    return say(text, **{k: int(v) for k, v in (pair.split("=") for pair in values)})


@pytest.mark.parametrize("form, bad, error, message, status", CASES)
def test_bad_input_is_refused_with_a_message_and_writes_nothing(open_form, form, bad, error, message, status):
    opened = open_form(form)
    before = snapshot()

    response = opened.send({**opened.good, **bad})

    assert response.status_code == status
    if error:
        assert f'id="{error}-error"' in response.text, f"no message next to {error}"
    if message:
        assert _message(message) in response.text
    assert snapshot() == before


@pytest.mark.parametrize("form", ["register", "finish", "login", "password", "club", "join", "charter", "role"])
def test_the_same_forms_with_good_input_go_through(open_form, form):
    """The table above refuses for the bad value alone: the rest of each form is good."""
    opened = open_form(form)
    good = dict(opened.good)
    if form == "charter":
        good["min_members"] = "6"  # something to change

    response = opened.send(good)

    assert response.status_code == 302


@pytest.mark.parametrize("form", ["register", "finish", "login", "password", "club", "join", "charter"])
def test_a_form_sent_empty_is_refused_and_writes_nothing(open_form, form):
    opened = open_form(form)
    before = snapshot()

    response = opened.send({name: "" for name in opened.good})

    assert response.status_code in (400, 401)
    assert 'class="error"' in response.text or 'class="form-errors"' in response.text
    assert snapshot() == before


@pytest.mark.parametrize("sent", [None, "", "disbursement:10", "0" * 31], ids=["absent", "empty", "service key", "short"])
def test_a_money_form_without_its_key_is_refused_however_often_it_is_sent(make_club, make_browser, sent):
    """Issue 15: a form posted without its one-time key was given a fresh one each time (8 identical posts,
    8 contributions). It is refused with a message, and nothing is written."""
    from datetime import date

    from tests.conftest import hidden_fields

    setup = make_club(5)
    browser = make_browser(setup.treasurer)
    url = f"/clubs/{setup.club_id}/contributions/new"
    data = {**hidden_fields(browser.get(url).text), "membership_id": str(setup.membership_id(setup.members[2])),
            "amount": "25,00", "received_on": date.today().isoformat(), "method": "transfer"}
    if sent is None:
        del data["form_key"]
    else:
        data["form_key"] = sent
    before = snapshot()

    for _ in range(8):
        response = browser.client.post(url, data=data)
        assert response.status_code == 400
        assert say("This form has expired; please reload the page and try again.") in response.text

    assert snapshot() == before


@pytest.mark.parametrize("far", ["9999-12-31", "0001-01-01"])
def test_a_date_far_from_now_gets_its_message_not_a_500(make_club, make_browser, far):
    """Issue 15: ``end=9999-12-31`` on the audit log and ``through=9999-12-31`` on period close were 500s."""
    from tests.conftest import say_window

    setup = make_club(5)
    treasurer = make_browser(setup.treasurer)
    base = f"/clubs/{setup.club_id}"
    before = snapshot()

    audit = treasurer.get(f"{base}/audit?end={far}")
    closed = treasurer.submit(f"{base}/books/periods", {"through": far}, page=f"{base}/books/checks")

    for response in (audit, closed):
        assert response.status_code == 400
        assert say_window() in response.text
    assert snapshot() == before
