"""Pooled savings through the browser: my savings and pledge, the fund, contributions, reversals, the month
sheet, arrears, refunds and dissolution, for every role; another club's members get 404; refusals write nothing."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from babel.dates import format_date
from sqlalchemy import func, select

from coop.amounts import money, month_start, next_month
from coop.extensions import db
from coop.models import Account, Club, Contribution, JournalTransaction, Membership, Payout, Pledge
from coop.services import access, clubs, fund
from tests.conftest import ATTR, form_values, hidden_fields, key, say, say_n, snapshot

ROLES = ["manager", "treasurer", "secretary", "member"]
NOT_KEEPERS = ["manager", "secretary", "member"]  # without the charter's manager_records_money


# --- Helpers --------------------------------------------------------------------------------------


def fresh():
    """End the test's own read snapshot, to see what the requests committed."""
    db.session.rollback()
    return db.session


def text(message: str, **values) -> str:
    """A message in French, not yet HTML-escaped (to be nested in another one)."""
    from flask_babel import force_locale, gettext

    with force_locale("fr"):
        return gettext(message, **values)


def eur(cents: int) -> str:
    return money(cents, "EUR", "fr")


def month_fr(day: date) -> str:
    return format_date(day, "MMMM y", locale="fr")


def months_ago(n: int) -> date:
    day = month_start(date.today())
    for _ in range(n):
        day = month_start(day - timedelta(days=1))
    return day


def shows(html: str, name: str) -> bool:
    """The name appears as itself ("Membre 1", not inside "Membre 12")."""
    return re.search(re.escape(name) + r"(?!\d)", html) is not None


def error_of(html: str, field: str) -> str | None:
    """The message shown next to a field, if any."""
    found = re.search(rf'<p class="error" id="{re.escape(field)}-error" role="alert">(.*?)</p>', html, re.S)
    return found.group(1) if found else None


def main_of(html: str) -> str:
    return html.split('<main id="main">', 1)[1]


def contributions_in(club_id: int) -> list[Contribution]:
    return list(fresh().scalars(select(Contribution).where(Contribution.club_id == club_id).order_by(Contribution.id)))


def balance(club_id: int, code: str) -> int:
    return fresh().scalar(select(Account.balance).where(Account.club_id == club_id, Account.code == code))


def capital(setup, user) -> int:
    return -balance(setup.club_id, f"capital:{setup.membership_id(user)}")


def owed(setup, user) -> int:
    """What the club owes a leaver whose share is valued."""
    return -balance(setup.club_id, f"payable:{setup.membership_id(user)}")


def transactions(club_id: int, kind: str) -> list[JournalTransaction]:
    return list(fresh().scalars(select(JournalTransaction).where(JournalTransaction.club_id == club_id,
                                                                 JournalTransaction.kind == kind)))


def pledge(setup, user, cents: int, *, rhythm: str = "monthly", today: date | None = None) -> Pledge:
    return fund.set_pledge(user.id, setup.club_id, monthly_amount=cents, rhythm=rhythm, today=today)


def contribute(setup, user, cents: int, on: date | None = None) -> Contribution:
    return fund.record_contribution(setup.treasurer.id, setup.club_id, membership_id=setup.membership_id(user),
                                    amount=cents, received_on=on or date.today(), method="transfer",
                                    idempotency_key=key())


def who(setup, role: str):
    """Manager, treasurer, secretary, a plain member: the first four members of ``club``."""
    return setup.members[ROLES.index(role)]


def contribution_form(member_id: int, amount: str = "25,00", *, on: date | None = None, method: str = "transfer",
                      reference: str = "") -> dict:
    return {"membership_id": str(member_id), "amount": amount, "received_on": (on or date.today()).isoformat(),
            "method": method, "bank_reference": reference}


def test_the_club_fixture_holds_every_role(club):
    """The memberships the other tests rely on: three officers and three plain members, all active."""
    rows = fresh().scalars(select(Membership).where(Membership.club_id == club.club_id)).all()
    assert sorted(m.role for m in rows) == sorted(["manager", "treasurer", "secretary", "member", "member", "member"])
    assert [access.membership_for(who(club, role).id, club.club_id).role for role in ROLES] == ROLES
    assert fresh().scalar(select(func.count()).select_from(Membership).where(
        Membership.club_id == club.club_id, Membership.status != "active")) == 0


# --- My savings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_member_sees_their_pledge_share_and_standing(club, make_browser, role):
    person = who(club, role)
    start = months_ago(3)
    pledge(club, person, 2500, today=start)
    contribute(club, person, 2500)
    contribute(club, club.members[4], 7500)

    page = make_browser(person).get(f"/clubs/{club.club_id}/savings")

    assert page.status_code == 200
    assert say("My savings in %(name)s", name="Cigale des Tests") in page.text
    assert say("%(amount)s a month, paid %(rhythm)s, since %(date)s.", amount=eur(2500), rhythm=text("every month"),
               date=month_fr(start)) in page.text
    # three months ended since the pledge: 75 € due, 25 € paid; the second month is the first not covered
    assert say("You are behind by %(amount)s since %(date)s.", amount=eur(5000),
               date=month_fr(next_month(start))) in page.text
    facts = main_of(page.text)
    assert f"<dd>{eur(2500)}</dd>" in facts  # my capital, and contributed in all
    assert "<dd>25\u00a0%</dd>" in facts  # my share of the fund
    assert f"<dd>{eur(10_000)}</dd>" in facts  # the club's capital
    assert form_values(page.text)["monthly_amount"] == "25,00"
    assert not shows(facts, club.members[4].name)


def test_a_member_without_pledge_is_invited_to_pledge(club, make_browser):
    page = make_browser(club.members[3]).get(f"/clubs/{club.club_id}/savings")

    assert page.status_code == 200
    assert say("You have not pledged yet.") in page.text
    assert say("No contribution recorded yet.") in page.text
    assert form_values(page.text)["monthly_amount"] == ""


@pytest.mark.parametrize(
    "typed, cents, rhythm",
    [
        ("25,00", 2500, "monthly"),
        ("25", 2500, "quarterly"),
        ("7,50", 750, "monthly"),  # the charter's minimum exactly
        ("458,33", 45_833, "yearly"),  # twelve months stay within the yearly cap of 5 500 €
        ("30,5 €", 3050, "monthly"),
    ],
)
def test_a_member_pledges_with_french_amounts(club, make_browser, typed, cents, rhythm):
    person = club.members[3]
    browser = make_browser(person)
    url = f"/clubs/{club.club_id}/savings"

    response = browser.submit(url, {"monthly_amount": typed, "rhythm": rhythm})

    assert response.status_code == 302
    assert response.headers["Location"] == url
    page = browser.get(url).text
    assert say("Your pledge is recorded; it applies from %(date)s.",
               date=month_fr(month_start(date.today()))) in page
    stored = fresh().scalars(select(Pledge).where(Pledge.membership_id == club.membership_id(person))).all()
    assert [(p.monthly_amount, p.rhythm, p.effective_from) for p in stored] == [
        (cents, rhythm, month_start(date.today()))]


def test_a_changed_pledge_applies_from_next_month_and_the_old_one_is_kept(club, make_browser):
    person = club.members[3]
    pledge(club, person, 2500)
    browser = make_browser(person)
    url = f"/clubs/{club.club_id}/savings"

    response = browser.submit(url, {"monthly_amount": "30,00", "rhythm": "monthly"})

    assert response.status_code == 302
    page = browser.get(url).text
    later = next_month(date.today())
    assert say("Your pledge is recorded; it applies from %(date)s.", date=month_fr(later)) in page
    assert say("Earlier pledges") in page
    stored = fresh().scalars(select(Pledge).where(Pledge.membership_id == club.membership_id(person))
                             .order_by(Pledge.id)).all()
    assert [(p.monthly_amount, p.effective_from) for p in stored] == [
        (2500, month_start(date.today())), (3000, later)]


def test_the_same_pledge_again_is_a_conflict_and_writes_nothing(club, make_browser):
    person = club.members[3]
    pledge(club, person, 2500)
    browser = make_browser(person)
    before = snapshot()

    response = browser.submit(f"/clubs/{club.club_id}/savings", {"monthly_amount": "25,00", "rhythm": "monthly"})

    assert response.status_code == 409
    assert say("This is already your pledge.") in response.text
    assert snapshot() == before


@pytest.mark.parametrize(
    "typed, message, values",
    [
        ("7,49", "The charter asks for at least %(min)s a month.", {"min": 750}),
        ("458,34", "Twelve months of this pledge pass the yearly cap of %(cap)s.", {"cap": 550_000}),
    ],
    ids=["below the minimum", "above the cap"],
)
def test_a_pledge_outside_the_charter_is_refused_by_r4_next_to_the_field(club, make_browser, typed, message,
                                                                            values):
    browser = make_browser(club.members[3])
    before = snapshot()

    response = browser.submit(f"/clubs/{club.club_id}/savings", {"monthly_amount": typed, "rhythm": "monthly"})

    assert response.status_code == 400
    assert say(message, **{k: eur(v) for k, v in values.items()}) in error_of(response.text, "monthly_amount")
    assert "(R4)" in response.text  # the hint names the rule
    assert snapshot() == before


@pytest.mark.parametrize(
    "typed, message",
    [
        ("", None),
        ("   ", None),
        ("abc", "Enter an amount such as 12,50 or 1 234,56."),
        ("-25,00", "The amount cannot be negative."),
        ("0", "Enter an amount more than zero."),
        ("0,00", "Enter an amount more than zero."),
        ("12,345", "Write thousands with a space, such as 12 345 or 12 345,00."),
        ("1.234", "Write thousands with a space, such as 12 345 or 12 345,00."),
        ("1.234.56", "Enter an amount such as 12,50 or 1 234,56."),
        ("25,001", "Write thousands with a space, such as 12 345 or 12 345,00."),
        ("1 234,567", "Enter an amount such as 12,50 or 1 234,56."),
        ("25,0,0", "Enter an amount such as 12,50 or 1 234,56."),
        ("1e3", "Enter an amount such as 12,50 or 1 234,56."),
        ("99999999999999", "This amount is too large."),
        ("10 000 000,01", "This amount is too large."),
        ("9" * 40, "This amount is too long."),
    ],
)
def test_a_malformed_pledge_amount_is_refused_next_to_the_field(club, make_browser, typed, message):
    browser = make_browser(club.members[3])
    before = snapshot()

    response = browser.submit(f"/clubs/{club.club_id}/savings", {"monthly_amount": typed, "rhythm": "monthly"})

    assert response.status_code == 400
    shown = error_of(response.text, "monthly_amount")
    assert shown, response.text
    if message:
        assert say(message) in shown
    assert snapshot() == before


def test_an_unknown_rhythm_is_refused(club, make_browser):
    browser = make_browser(club.members[3])
    before = snapshot()

    response = browser.submit(f"/clubs/{club.club_id}/savings", {"monthly_amount": "25,00", "rhythm": "weekly"})

    assert response.status_code == 400
    assert error_of(response.text, "rhythm")
    assert snapshot() == before


def test_an_english_speaking_member_reads_and_types_amounts_the_english_way(make_club, make_user, make_browser):
    setup = make_club(5, activate=False)
    english = make_user(language="en")
    _, code = clubs.invite(setup.manager.id, setup.club_id, form_key=key())
    clubs.admit(setup.manager.id, setup.club_id, clubs.join(english.id, code).id)
    setup.memberships[english.id] = access.membership_for(english.id, setup.club_id).id
    clubs.activate(setup.manager.id, setup.club_id)
    browser = make_browser(english)
    url = f"/clubs/{setup.club_id}/savings"

    response = browser.submit(url, {"monthly_amount": "1,000.00", "rhythm": "yearly"}, follow=False)
    assert response.status_code == 400  # twelve thousand a year: over the cap, refused in English
    assert money(550_000, "EUR", "en") in error_of(response.text, "monthly_amount")

    response = browser.submit(url, {"monthly_amount": "25.50", "rhythm": "monthly"})

    assert response.status_code == 302
    page = browser.get(url).text
    assert money(2550, "EUR", "en") in page
    assert form_values(page)["monthly_amount"] == "25.50"


# --- The fund ------------------------------------------------------------------------------------


@pytest.fixture
def funded(club):
    """Three plain members have paid in: 25 €, 35 € and 40 €."""
    contribute(club, club.members[3], 2500)
    contribute(club, club.members[4], 3500)
    contribute(club, club.members[5], 4000)
    return club


@pytest.mark.parametrize("role", ["member", "secretary"])
def test_a_member_sees_the_totals_and_only_their_own_line(funded, make_browser, role):
    person = who(funded, role)

    page = make_browser(person).get(f"/clubs/{funded.club_id}/fund")

    assert page.status_code == 200
    body = main_of(page.text)
    assert say("The fund of %(name)s", name="Cigale des Tests") in body
    assert body.count(eur(10_000)) >= 3  # cash, available, members' capital
    assert shows(body, person.name)
    for other in funded.members:
        if other is not person:
            assert not shows(page.text, other.name), other.name
    assert say("My share") in body and say("Members' shares") not in body


@pytest.mark.parametrize("role", ["treasurer", "manager"])
def test_the_officers_see_every_members_line(funded, make_browser, role):
    page = make_browser(who(funded, role)).get(f"/clubs/{funded.club_id}/fund")

    assert page.status_code == 200
    body = main_of(page.text)
    assert say("Members' shares") in body
    for person in funded.members:
        assert shows(body, person.name), person.name
    for cents, percent in ((2500, "25"), (3500, "35"), (4000, "40")):
        assert f'class="num">{eur(cents)}</td>' in body
        assert f'class="num">{percent}\u00a0%</td>' in body


def test_the_chart_appears_once_contributions_exist(club, make_browser):
    browser = make_browser(club.members[3])
    url = f"/clubs/{club.club_id}/fund"
    empty = browser.get(url)
    assert empty.status_code == 200
    assert "<svg" not in empty.text

    contribute(club, club.members[3], 2500, on=months_ago(2))
    contribute(club, club.members[4], 3000)
    page = browser.get(url).text

    assert page.count("<svg") == 1
    assert page.count("<polyline") == 3  # contributions, invested, cash
    assert say("Contributions, investments and cash, month by month") in page
    assert month_fr(months_ago(2)) in page  # the figures, month by month
    assert eur(5500) in page


# --- Contributions: the list ---------------------------------------------------------------------


def test_the_treasurer_lists_contributions_with_their_actions(funded, make_browser):
    page = make_browser(funded.treasurer).get(f"/clubs/{funded.club_id}/contributions")

    assert page.status_code == 200
    body = main_of(page.text)
    assert f'href="/clubs/{funded.club_id}/contributions/new"' in body
    assert f'href="/clubs/{funded.club_id}/contributions/month"' in body
    assert len(re.findall(rf'href="/clubs/{funded.club_id}/contributions/\d+/reverse"', body)) == 3
    for person in funded.members[3:]:
        assert shows(body, person.name)


def test_the_manager_reads_contributions_without_recording_them(funded, make_browser):
    page = make_browser(funded.manager).get(f"/clubs/{funded.club_id}/contributions")

    assert page.status_code == 200
    body = main_of(page.text)
    assert all(shows(body, person.name) for person in funded.members[3:])
    assert "/contributions/new" not in body and "/reverse" not in body and "/contributions/month" not in body


@pytest.mark.parametrize("role", ["member", "secretary"])
def test_a_member_asking_for_the_contributions_is_sent_to_their_savings(funded, make_browser, role):
    response = make_browser(who(funded, role)).get(f"/clubs/{funded.club_id}/contributions")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/clubs/{funded.club_id}/savings"


@pytest.mark.parametrize("before", ["0", "-1", "2147483648", "99999999999999999999"])
def test_impossible_pages_of_contributions_are_404(funded, make_browser, before):
    response = make_browser(funded.treasurer).get(f"/clubs/{funded.club_id}/contributions?before={before}")

    assert response.status_code == 404


# --- Contributions: recording --------------------------------------------------------------------


def test_the_treasurer_records_a_contribution_posted_once_to_the_ledger(club, make_browser):
    browser = make_browser(club.treasurer)
    payer = club.members[3]
    url = f"/clubs/{club.club_id}/contributions/new"
    form = browser.get(url)
    assert form.status_code == 200
    assert shows(form.text, payer.name)

    response = browser.submit(url, contribution_form(club.membership_id(payer), "1 234,56", method="cheque",
                                                     reference="CHQ 4242"))

    assert response.status_code == 302
    assert response.headers["Location"] == f"/clubs/{club.club_id}/contributions"
    listing = browser.get(response.headers["Location"]).text
    assert say("Contribution recorded.") in listing
    assert eur(123_456) in listing and "CHQ 4242" in listing
    [row] = contributions_in(club.club_id)
    assert (row.membership_id, row.amount, row.received_on, row.method, row.bank_reference, row.source) == (
        club.membership_id(payer), 123_456, date.today(), "cheque", "CHQ 4242", "form")
    [txn] = transactions(club.club_id, "contribution")
    assert txn.id == row.transaction_id
    assert balance(club.club_id, "bank") == 123_456
    assert capital(club, payer) == 123_456


def test_sending_the_contribution_form_twice_records_one_contribution(club, make_browser):
    browser = make_browser(club.treasurer)
    url = f"/clubs/{club.club_id}/contributions/new"
    sent = {**hidden_fields(browser.get(url).text), **contribution_form(club.membership_id(club.members[3]))}
    assert sent.get("form_key")

    first = browser.client.post(url, data=sent)
    again = browser.client.post(url, data=sent)

    assert first.status_code == 302
    assert again.status_code in (302, 409)
    assert len(contributions_in(club.club_id)) == 1
    assert len(transactions(club.club_id, "contribution")) == 1
    assert balance(club.club_id, "bank") == 2500


def test_the_same_form_used_again_for_another_amount_is_a_conflict(club, make_browser):
    browser = make_browser(club.treasurer)
    url = f"/clubs/{club.club_id}/contributions/new"
    sent = {**hidden_fields(browser.get(url).text), **contribution_form(club.membership_id(club.members[3]))}
    assert browser.client.post(url, data=sent).status_code == 302
    before = snapshot()

    again = browser.client.post(url, data={**sent, "amount": "26,00"})

    assert again.status_code == 409
    assert say("This form was already used for another entry.") in again.text
    assert snapshot() == before


def test_the_arrears_link_preselects_the_member(club, make_browser):
    target = club.membership_id(club.members[4])

    page = make_browser(club.treasurer).get(f"/clubs/{club.club_id}/contributions/new?member={target}")

    assert page.status_code == 200
    assert form_values(page.text)["membership_id"] == str(target)


def test_up_to_the_yearly_cap_is_recorded_and_one_cent_more_is_refused_by_r4(club, make_browser):
    browser = make_browser(club.treasurer)
    url = f"/clubs/{club.club_id}/contributions/new"
    payer = club.membership_id(club.members[3])
    assert browser.submit(url, contribution_form(payer, "5 500,00")).status_code == 302
    before = snapshot()

    response = browser.submit(url, contribution_form(payer, "0,01"))

    assert response.status_code == 400
    assert say("This would pass the yearly cap of %(cap)s: %(paid)s already received this year, %(left)s left.",
               cap=eur(550_000), paid=eur(550_000), left=eur(0)) in error_of(response.text, "amount")
    assert "R4" in main_of(response.text)  # the refusal names its rule
    assert snapshot() == before


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"received_on": (date.today() + timedelta(days=1)).isoformat()}, "received_on",
         "Enter the date the money was received (not in the future)."),
        ({"received_on": "1999-12-31"}, "received_on", None),  # the window of dates: its message, test_bad_input
        ({"received_on": "0001-01-01"}, "received_on", None),
        ({"received_on": "31/01/2026"}, "received_on", None),
        ({"received_on": "2026-02-30"}, "received_on", None),
        ({"received_on": ""}, "received_on", None),
        ({"method": "bitcoin"}, "method", None),
        ({"method": ""}, "method", None),
        ({"amount": ""}, "amount", None),
        ({"amount": "-25,00"}, "amount", "The amount cannot be negative."),
        ({"amount": "0"}, "amount", "Enter an amount more than zero."),
        ({"amount": "12,345"}, "amount", "Write thousands with a space, such as 12 345 or 12 345,00."),
        ({"amount": "douze"}, "amount", "Enter an amount such as 12,50 or 1 234,56."),
        ({"amount": "99999999999999"}, "amount", "This amount is too large."),
        ({"amount": "10 000 000,01"}, "amount", "This amount is too large."),
        ({"amount": "5 500,01"}, "amount",
         "This would pass the yearly cap of %(cap)s: %(paid)s already received this year, %(left)s left."),
        ({"bank_reference": "x" * 81}, "bank_reference", None),
        ({"membership_id": "abc"}, "membership_id", None),
        ({"membership_id": "2147483647"}, "membership_id", None),
        ({"membership_id": ""}, "membership_id", None),
    ],
    ids=lambda v: ",".join(f"{k}={str(x)[:12]}" for k, x in v.items()) if isinstance(v, dict) else "",
)
def test_bad_contribution_input_is_refused_next_to_its_field(club, make_browser, changes, field, message):
    browser = make_browser(club.treasurer)
    data = {**contribution_form(club.membership_id(club.members[3])), **changes}
    before = snapshot()

    response = browser.submit(f"/clubs/{club.club_id}/contributions/new", data)

    assert response.status_code == 400
    shown = error_of(response.text, field)
    assert shown, response.text
    if message:
        assert say(message, cap=eur(550_000), paid=eur(0), left=eur(550_000)) in shown
    assert snapshot() == before


def test_a_member_of_another_club_cannot_be_credited(club, neighbour, make_browser):
    browser = make_browser(club.treasurer)
    before = snapshot()

    response = browser.submit(f"/clubs/{club.club_id}/contributions/new",
                              contribution_form(neighbour.membership_id(neighbour.members[3])))

    assert 400 <= response.status_code < 500
    assert error_of(response.text, "membership_id")
    assert snapshot() == before


def test_a_member_who_left_cannot_be_credited(club, make_browser):
    leaver = club.members[5]
    clubs.leave(leaver.id, club.club_id)
    browser = make_browser(club.treasurer)
    assert not shows(browser.get(f"/clubs/{club.club_id}/contributions/new").text, leaver.name)
    before = snapshot()

    response = browser.submit(f"/clubs/{club.club_id}/contributions/new",
                              contribution_form(club.membership_id(leaver)))

    assert response.status_code == 400
    assert snapshot() == before


@pytest.mark.parametrize("role", NOT_KEEPERS)
def test_only_the_treasurer_records_a_contribution(club, make_browser, role):
    browser = make_browser(who(club, role))
    before = snapshot()

    response = browser.action(f"/clubs/{club.club_id}/contributions/new",
                              {**contribution_form(club.membership_id(club.members[4])), "form_key": key()})

    assert response.status_code == 403
    assert say("Only the treasurer records money.") in response.text
    assert snapshot() == before


@pytest.mark.parametrize("role", ["member", "secretary"])
def test_the_contribution_form_is_not_offered_to_members(club, make_browser, role):
    response = make_browser(who(club, role)).get(f"/clubs/{club.club_id}/contributions/new")

    assert response.status_code == 403


def test_the_manager_records_money_where_the_charter_says_so(make_club, make_browser):
    setup = make_club(5, activate=False)
    clubs.amend_charter(setup.manager.id, setup.club_id, {"manager_records_money": True})
    clubs.activate(setup.manager.id, setup.club_id)
    browser = make_browser(setup.manager)
    assert f'href="/clubs/{setup.club_id}/contributions/new"' in browser.get(
        f"/clubs/{setup.club_id}/contributions").text

    response = browser.submit(f"/clubs/{setup.club_id}/contributions/new",
                              contribution_form(setup.membership_id(setup.members[3]), "40,00"))

    assert response.status_code == 302
    [row] = contributions_in(setup.club_id)
    assert (row.amount, row.recorded_by_id) == (4000, setup.manager.id)
    assert balance(setup.club_id, "bank") == 4000


# --- Reversals -----------------------------------------------------------------------------------


def test_the_treasurer_reverses_a_contribution_with_a_reason(club, make_browser):
    payer = club.members[3]
    row = contribute(club, payer, 2500)
    browser = make_browser(club.treasurer)
    url = f"/clubs/{club.club_id}/contributions/{row.id}/reverse"
    page = browser.get(url)
    assert page.status_code == 200
    assert eur(2500) in page.text

    response = browser.submit(url, {"reason": "Chèque sans provision"})

    assert response.status_code == 302
    assert response.headers["Location"] == f"/clubs/{club.club_id}/contributions"
    listing = browser.get(response.headers["Location"]).text
    assert say("The contribution is reversed.") in listing
    assert 'class="reversed"' in listing and url not in listing
    [reversal] = transactions(club.club_id, "reversal")
    assert (reversal.reverses_id, reversal.memo) == (row.transaction_id, "Chèque sans provision")
    assert len(contributions_in(club.club_id)) == 1  # the row stays
    assert balance(club.club_id, "bank") == 0 and capital(club, payer) == 0


@pytest.mark.parametrize("reason", ["", "   ", "x" * 301])
def test_a_reversal_needs_a_reason(club, make_browser, reason):
    row = contribute(club, club.members[3], 2500)
    browser = make_browser(club.treasurer)
    before = snapshot()

    response = browser.submit(f"/clubs/{club.club_id}/contributions/{row.id}/reverse", {"reason": reason})

    assert response.status_code == 400
    assert error_of(response.text, "reason")
    assert snapshot() == before


def test_reversing_twice_is_a_conflict(club, make_browser):
    row = contribute(club, club.members[3], 2500)
    browser = make_browser(club.treasurer)
    url = f"/clubs/{club.club_id}/contributions/{row.id}/reverse"
    assert browser.submit(url, {"reason": "Erreur"}).status_code == 302
    before = snapshot()

    response = browser.submit(url, {"reason": "Encore"})

    assert response.status_code == 409
    assert say("This transaction has already been reversed.") in response.text
    assert snapshot() == before


def test_sending_the_reversal_form_twice_reverses_once(club, make_browser):
    row = contribute(club, club.members[3], 2500)
    browser = make_browser(club.treasurer)
    url = f"/clubs/{club.club_id}/contributions/{row.id}/reverse"
    sent = {**hidden_fields(browser.get(url).text), "reason": "Erreur"}

    first = browser.client.post(url, data=sent)
    again = browser.client.post(url, data=sent)

    assert first.status_code == 302
    assert again.status_code in (302, 409)
    assert len(transactions(club.club_id, "reversal")) == 1
    assert balance(club.club_id, "bank") == 0


def test_a_reversed_contribution_frees_the_yearly_cap(club, make_browser):
    payer = club.membership_id(club.members[3])
    row = contribute(club, club.members[3], 550_000)
    browser = make_browser(club.treasurer)
    assert browser.submit(f"/clubs/{club.club_id}/contributions/{row.id}/reverse",
                          {"reason": "Montant faux"}).status_code == 302

    response = browser.submit(f"/clubs/{club.club_id}/contributions/new", contribution_form(payer, "5 500,00"))

    assert response.status_code == 302
    assert balance(club.club_id, "bank") == 550_000


@pytest.mark.parametrize("role", NOT_KEEPERS)
def test_only_the_treasurer_reverses(club, make_browser, role):
    row = contribute(club, club.members[4], 2500)
    browser = make_browser(who(club, role))
    before = snapshot()

    response = browser.action(f"/clubs/{club.club_id}/contributions/{row.id}/reverse",
                              {"reason": "Erreur", "form_key": key()})

    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("role", ["member", "secretary"])
def test_a_member_cannot_open_the_reversal_of_someone_elses_contribution(club, make_browser, role):
    row = contribute(club, club.members[4], 1234)

    response = make_browser(who(club, role)).get(f"/clubs/{club.club_id}/contributions/{row.id}/reverse")

    assert response.status_code == 403
    assert eur(1234) not in response.text  # another member's payment stays private


def test_a_contribution_of_another_club_is_404(club, neighbour, make_browser):
    theirs = contribute(neighbour, neighbour.members[3], 2500)
    contribute(club, club.members[3], 2500)
    browser = make_browser(club.treasurer)
    url = f"/clubs/{club.club_id}/contributions/{theirs.id}/reverse"
    before = snapshot()

    assert browser.get(url).status_code == 404
    response = browser.action(url, {"reason": "Erreur", "form_key": key()})

    assert response.status_code == 404
    assert snapshot() == before


# --- The month sheet -----------------------------------------------------------------------------


@pytest.fixture
def pledged(club):
    """Pledges in force this month: 25 € (members[3]), 30 € (members[4], of which 10 € already paid);
    members[5] has not pledged."""
    pledge(club, club.members[3], 2500)
    pledge(club, club.members[4], 3000)
    contribute(club, club.members[4], 1000)
    return club


def test_the_month_sheet_is_prefilled_from_the_pledges(pledged, make_browser):
    page = make_browser(pledged.treasurer).get(f"/clubs/{pledged.club_id}/contributions/month")

    assert page.status_code == 200
    assert say("Contributions of %(month)s", month=month_fr(date.today())) in page.text
    shown = form_values(page.text)
    assert shown[f"amount_{pledged.membership_id(pledged.members[3])}"] == "25,00"
    assert shown[f"amount_{pledged.membership_id(pledged.members[4])}"] == "20,00"  # 30 € less 10 € received
    assert shown[f"amount_{pledged.membership_id(pledged.members[5])}"] == ""
    assert shown[f"amount_{pledged.membership_id(pledged.manager)}"] == ""
    assert date.fromisoformat(shown["received_on"]) <= date.today()


def test_the_month_sheet_records_one_contribution_per_filled_line(pledged, make_browser):
    browser = make_browser(pledged.treasurer)
    url = f"/clubs/{pledged.club_id}/contributions/month"
    shown = form_values(browser.get(url).text)
    last = pledged.membership_id(pledged.members[5])
    before = len(contributions_in(pledged.club_id))

    response = browser.submit(url, {**shown, f"amount_{last}": "1 234,56", "method": "cash"})

    assert response.status_code == 302
    assert response.headers["Location"] == f"/clubs/{pledged.club_id}/contributions"
    assert say_n("%(num)d contribution recorded.", "%(num)d contributions recorded.", 3) in \
        browser.get(response.headers["Location"]).text
    new = contributions_in(pledged.club_id)[before:]
    assert sorted((c.membership_id, c.amount, c.method, c.source) for c in new) == sorted([
        (pledged.membership_id(pledged.members[3]), 2500, "cash", "month"),
        (pledged.membership_id(pledged.members[4]), 2000, "cash", "month"),
        (last, 123_456, "cash", "month"),
    ])
    assert balance(pledged.club_id, "bank") == 1000 + 2500 + 2000 + 123_456


def test_a_line_emptied_on_the_sheet_is_skipped(pledged, make_browser):
    browser = make_browser(pledged.treasurer)
    url = f"/clubs/{pledged.club_id}/contributions/month"
    shown = form_values(browser.get(url).text)
    before = len(contributions_in(pledged.club_id))

    response = browser.submit(url, {**shown, f"amount_{pledged.membership_id(pledged.members[3])}": "",
                                    f"amount_{pledged.membership_id(pledged.members[4])}": "12,50"})

    assert response.status_code == 302
    [new] = contributions_in(pledged.club_id)[before:]
    assert (new.membership_id, new.amount) == (pledged.membership_id(pledged.members[4]), 1250)


def test_one_line_over_the_cap_refuses_the_whole_sheet_and_names_the_member(pledged, make_browser):
    browser = make_browser(pledged.treasurer)
    url = f"/clubs/{pledged.club_id}/contributions/month"
    over = pledged.members[5]
    shown = form_values(browser.get(url).text)
    before = snapshot()

    response = browser.submit(url, {**shown, f"amount_{pledged.membership_id(over)}": "5 500,01"})

    assert response.status_code == 400
    reason = text("This would pass the yearly cap of %(cap)s: %(paid)s already received this year, %(left)s left.",
                  cap=eur(550_000), paid=eur(0), left=eur(550_000))
    assert say("%(name)s: %(reason)s", name=over.name, reason=reason) in error_of(
        response.text, f"amount_{pledged.membership_id(over)}")
    assert snapshot() == before


@pytest.mark.parametrize("amount, message", [
    ("-5", "The amount cannot be negative."),
    ("12,345", "Write thousands with a space, such as 12 345 or 12 345,00."),
    ("n'importe", "Enter an amount such as 12,50 or 1 234,56."),
])
def test_one_malformed_line_refuses_the_whole_sheet(pledged, make_browser, amount, message):
    browser = make_browser(pledged.treasurer)
    url = f"/clubs/{pledged.club_id}/contributions/month"
    field = f"amount_{pledged.membership_id(pledged.members[5])}"
    shown = form_values(browser.get(url).text)
    before = snapshot()

    response = browser.submit(url, {**shown, field: amount})

    assert response.status_code == 400
    assert say(message) in error_of(response.text, field)
    assert snapshot() == before


@pytest.mark.parametrize("changes", [
    {"received_on": (date.today() + timedelta(days=1)).isoformat()},
    {"received_on": "demain"},
    {"method": "troc"},
], ids=["future", "not a date", "unknown method"])
def test_a_bad_date_or_method_refuses_the_sheet(pledged, make_browser, changes):
    browser = make_browser(pledged.treasurer)
    url = f"/clubs/{pledged.club_id}/contributions/month"
    shown = form_values(browser.get(url).text)
    before = snapshot()

    response = browser.submit(url, {**shown, **changes})

    assert response.status_code == 400
    assert error_of(response.text, next(iter(changes)))
    assert snapshot() == before


def test_an_empty_sheet_records_nothing(club, make_browser):
    browser = make_browser(club.treasurer)
    url = f"/clubs/{club.club_id}/contributions/month"
    shown = form_values(browser.get(url).text)
    assert all(v == "" for k, v in shown.items() if k.startswith("amount_"))
    before = snapshot()

    response = browser.submit(url, shown)

    assert response.status_code == 400
    assert say("There is nothing to record.") in response.text
    assert snapshot() == before


def test_sending_the_month_sheet_twice_records_it_once(pledged, make_browser):
    browser = make_browser(pledged.treasurer)
    url = f"/clubs/{pledged.club_id}/contributions/month"
    page = browser.get(url).text
    sent = {**hidden_fields(page), **form_values(page)}
    before = len(contributions_in(pledged.club_id))

    first = browser.client.post(url, data=sent)
    again = browser.client.post(url, data=sent)

    assert first.status_code == 302
    assert again.status_code in (302, 409)
    assert len(contributions_in(pledged.club_id)) == before + 2
    assert balance(pledged.club_id, "bank") == 1000 + 2500 + 2000


def test_an_earlier_month_is_prefilled_and_recorded_on_its_date(club, make_browser):
    start = months_ago(2)
    pledge(club, club.members[3], 2500, today=start)
    browser = make_browser(club.treasurer)
    url = f"/clubs/{club.club_id}/contributions/month?month={start:%Y-%m}"
    shown = form_values(browser.get(url).text)
    assert shown[f"amount_{club.membership_id(club.members[3])}"] == "25,00"
    assert shown["received_on"] == start.replace(day=5).isoformat()

    response = browser.submit(url, shown)

    assert response.status_code == 302
    [row] = contributions_in(club.club_id)
    assert (row.amount, row.received_on) == (2500, start.replace(day=5))


@pytest.mark.parametrize("month", ["garbage", "2026-13", "2026-00", "2026", "2026-01-01", "-1-1", "99999-01",
                                   "9999-12", "0-1"])
def test_an_impossible_month_is_404_never_500(club, make_browser, month):
    response = make_browser(club.treasurer).get(f"/clubs/{club.club_id}/contributions/month?month={month}")

    assert response.status_code == 404


@pytest.mark.parametrize("role", ["member", "secretary"])
def test_the_month_sheet_is_for_officers(pledged, make_browser, role):
    response = make_browser(who(pledged, role)).get(f"/clubs/{pledged.club_id}/contributions/month")

    assert response.status_code == 403
    assert not shows(response.text, pledged.members[4].name)


@pytest.mark.parametrize("role", NOT_KEEPERS)
def test_only_the_treasurer_records_the_month_sheet(pledged, make_browser, role):
    browser = make_browser(who(pledged, role))
    data = {"received_on": date.today().isoformat(), "method": "transfer", "form_key": key(),
            f"amount_{pledged.membership_id(pledged.members[3])}": "25,00"}
    before = snapshot()

    response = browser.action(f"/clubs/{pledged.club_id}/contributions/month", data)

    assert response.status_code == 403
    assert snapshot() == before


# --- Importing a CSV file --------------------------------------------------------------------------


def csv_file(text: str, name: str = "versements.csv") -> tuple:
    return (io.BytesIO(text.encode()), name)


def payload_of(html: str) -> str:
    found = re.search(r'<input[^>]*name="payload"[^>]*value="([^"]+)"', html) or re.search(
        r'<input[^>]*value="([^"]+)"[^>]*name="payload"', html)
    assert found, html
    return found.group(1)


def good_csv(setup) -> str:
    day = date.today().strftime("%d/%m/%Y")
    return ("courriel;montant;date;moyen;référence\n"
            f"{setup.members[3].email};30,00;{day};virement;VIR-1\n"
            f"{setup.members[4].email};1 234,56;{date.today().isoformat()};chèque;CHQ-2\n")


def test_the_treasurer_imports_a_checked_file_once(club, make_browser):
    browser = make_browser(club.treasurer)
    url = f"/clubs/{club.club_id}/contributions/import"
    assert browser.get(url).status_code == 200
    before = snapshot()

    preview = browser.submit(url, {"file": csv_file(good_csv(club))})

    assert preview.status_code == 200
    assert snapshot() == before  # nothing is written before the treasurer confirms
    assert shows(preview.text, club.members[3].name) and eur(123_456) in preview.text
    confirm = {**hidden_fields(preview.text), "payload": payload_of(preview.text)}
    done = browser.client.post(f"/clubs/{club.club_id}/contributions/import/confirm", data=confirm)
    again = browser.client.post(f"/clubs/{club.club_id}/contributions/import/confirm", data=confirm)

    assert done.status_code == 302
    assert done.headers["Location"] == f"/clubs/{club.club_id}/contributions"
    assert again.status_code in (302, 409)
    rows = contributions_in(club.club_id)
    assert sorted((r.membership_id, r.amount, r.method, r.source) for r in rows) == sorted([
        (club.membership_id(club.members[3]), 3000, "transfer", "import"),
        (club.membership_id(club.members[4]), 123_456, "cheque", "import"),
    ])
    assert balance(club.club_id, "bank") == 126_456


def test_a_file_with_errors_shows_one_message_per_bad_line_and_writes_nothing(club, make_browser):
    browser = make_browser(club.treasurer)
    day = date.today().strftime("%d/%m/%Y")
    email = club.members[3].email
    text_ = ("courriel;montant;date\n"
             f"{email};30,00;{day}\n"
             f"inconnu@example.org;30,00;{day}\n"
             f"{email};-5,00;{day}\n"
             f"{email};30,00;{day}\n"
             f"{email};20,00;31/02/2026\n")
    before = snapshot()

    response = browser.submit(f"/clubs/{club.club_id}/contributions/import", {"file": csv_file(text_)})

    assert response.status_code == 400
    assert response.text.count('class="has-error"') == 4
    assert say("No member of the club has the email “%(email)s”.", email="inconnu@example.org") in response.text
    assert say("The amount is negative.") in response.text
    assert say("Duplicate of line %(n)d.", n=2) in response.text
    assert say("The date is not a date such as 31/01/2026.") in response.text
    assert 'name="payload"' not in response.text
    assert snapshot() == before


@pytest.mark.parametrize("role", NOT_KEEPERS)
def test_only_the_treasurer_imports(club, make_browser, role):
    treasurer = make_browser(club.treasurer)
    preview = treasurer.submit(f"/clubs/{club.club_id}/contributions/import", {"file": csv_file(good_csv(club))})
    sealed = payload_of(preview.text)
    browser = make_browser(who(club, role))
    before = snapshot()

    assert browser.get(f"/clubs/{club.club_id}/contributions/import").status_code == 403
    uploaded = browser.action(f"/clubs/{club.club_id}/contributions/import", {"file": csv_file(good_csv(club))})
    confirmed = browser.action(f"/clubs/{club.club_id}/contributions/import/confirm", {"payload": sealed})

    assert uploaded.status_code == 403
    assert 400 <= confirmed.status_code < 500  # the treasurer's file is not theirs to confirm
    assert snapshot() == before


@pytest.mark.parametrize("payload", ["", "garbage", "eyJjbHViIjoxfQ.forged"])
def test_a_forged_confirmation_is_refused(club, make_browser, payload):
    before = snapshot()

    response = make_browser(club.treasurer).action(f"/clubs/{club.club_id}/contributions/import/confirm",
                                                   {"payload": payload})

    assert response.status_code == 400
    assert snapshot() == before


# --- Arrears --------------------------------------------------------------------------------------


@pytest.fixture
def behind(club):
    """members[4] pledged 25 € a month three months ago and paid 10 €; members[5] pledged and is up to date."""
    start = months_ago(3)
    pledge(club, club.members[4], 2500, today=start)
    contribute(club, club.members[4], 1000, on=start)
    pledge(club, club.members[5], 2000, today=start)
    contribute(club, club.members[5], 6000, on=start)
    return club


@pytest.mark.parametrize("role", ["treasurer", "manager"])
def test_officers_see_who_is_behind(behind, make_browser, role):
    page = make_browser(who(behind, role)).get(f"/clubs/{behind.club_id}/arrears")

    assert page.status_code == 200
    body = main_of(page.text)
    assert shows(body, behind.members[4].name)
    assert eur(7500) in body and eur(1000) in body and eur(6500) in body  # due, paid, behind by
    assert month_fr(months_ago(3)) in body  # since
    assert not shows(body, behind.members[5].name)
    link = f'href="/clubs/{behind.club_id}/contributions/new?member={behind.membership_id(behind.members[4])}"'
    assert (link in body) == (role == "treasurer")


def test_nobody_behind_says_so(club, make_browser):
    page = make_browser(club.treasurer).get(f"/clubs/{club.club_id}/arrears")

    assert page.status_code == 200
    assert say("Everyone is up to date.") in page.text


@pytest.mark.parametrize("role", ["member", "secretary"])
def test_a_member_cannot_see_the_arrears_of_others(behind, make_browser, role):
    response = make_browser(who(behind, role)).get(f"/clubs/{behind.club_id}/arrears")

    assert response.status_code == 403
    assert not shows(response.text, behind.members[4].name)


def test_each_member_sees_their_own_standing(behind, make_browser):
    late = make_browser(behind.members[4]).get(f"/clubs/{behind.club_id}/savings").text
    on_time = make_browser(behind.members[5]).get(f"/clubs/{behind.club_id}/savings").text

    assert say("You are behind by %(amount)s since %(date)s.", amount=eur(6500), date=month_fr(months_ago(3))) in late
    assert say("You are up to date.") in on_time


# --- Refunds --------------------------------------------------------------------------------------


@pytest.fixture
def left(club):
    """members[5] paid 100 € and left; members[3] paid 50 € and stays."""
    contribute(club, club.members[5], 10_000)
    contribute(club, club.members[3], 5000)
    clubs.leave(club.members[5].id, club.club_id)
    fund.value_exit(club.treasurer.id, club.club_id, club.membership_id(club.members[5]), form_key=key())
    return club


APPROVE = re.compile(r'action="(/clubs/\d+/payouts/(\d+)/approve)"')


def waiting_payouts(club_id: int) -> list[Payout]:
    return list(fresh().scalars(select(Payout).where(Payout.club_id == club_id, Payout.status == "pending")))


def test_the_treasurer_enters_a_refund_and_the_manager_approves_it(left, make_browser):
    """Money leaves the fund only once a second officer approves it (R11): the refund entered by the treasurer
    is a commitment, the manager approves it on the refunds page, and only then it is posted."""
    leaver = left.members[5]
    browser = make_browser(left.treasurer)
    listing = browser.get(f"/clubs/{left.club_id}/refunds")
    assert listing.status_code == 200
    assert shows(main_of(listing.text), leaver.name) and eur(10_000) in listing.text
    url = f"/clubs/{left.club_id}/refunds/{left.membership_id(leaver)}"
    assert f'href="{url}"' in listing.text
    assert form_values(browser.get(url).text)["amount"] == "100,00"

    response = browser.submit(url, {"amount": "60,00"})

    assert response.status_code == 302
    assert response.headers["Location"] == f"/clubs/{left.club_id}/refunds"
    after = browser.get(response.headers["Location"]).text
    assert say("The refund is entered. A second officer must approve it before it is paid (R11).") in after
    assert say("Waiting for a second officer") in after
    assert APPROVE.findall(after) == []  # not by the one who entered it
    assert say("another officer approves") in after
    assert owed(left, leaver) == 10_000 and balance(left.club_id, "bank") == 15_000  # nothing paid yet
    [payout] = waiting_payouts(left.club_id)

    manager = make_browser(left.manager)
    [(approve, shown_id)] = APPROVE.findall(manager.get(f"/clubs/{left.club_id}/refunds").text)
    assert int(shown_id) == payout.id
    approved = manager.action(approve)

    assert approved.status_code == 302 and approved.headers["Location"] == f"/clubs/{left.club_id}/refunds"
    assert say("The payment is approved and posted to the books.") in manager.get(approved.headers["Location"]).text
    assert owed(left, leaver) == 4000 and balance(left.club_id, "bank") == 9000
    assert len(transactions(left.club_id, "refund")) == 1
    assert manager.action(approve).status_code == 409  # once


def test_the_treasurer_cannot_approve_their_own_refund(left, make_browser):
    browser = make_browser(left.treasurer)
    assert browser.submit(f"/clubs/{left.club_id}/refunds/{left.membership_id(left.members[5])}",
                          {"amount": "60,00"}).status_code == 302
    [payout] = waiting_payouts(left.club_id)
    before = snapshot()

    response = browser.action(f"/clubs/{left.club_id}/payouts/{payout.id}/approve")

    assert response.status_code == 400
    assert say("A second officer approves a payment: not the one who entered it.") in response.text
    assert snapshot() == before


def test_an_officer_cancels_a_refund_with_a_reason(left, make_browser):
    browser = make_browser(left.treasurer)
    assert browser.submit(f"/clubs/{left.club_id}/refunds/{left.membership_id(left.members[5])}",
                          {"amount": "60,00"}).status_code == 302
    [payout] = waiting_payouts(left.club_id)
    manager = make_browser(left.manager)
    url = f"/clubs/{left.club_id}/payouts/{payout.id}/cancel"
    before = snapshot()
    assert manager.action(url, {"reason": ""}).status_code == 400
    assert snapshot() == before
    assert make_browser(left.members[3]).action(url, {"reason": "Non"}).status_code == 403

    response = manager.action(url, {"reason": "Mauvais montant"})

    assert response.status_code == 302
    assert say("The payment is cancelled.") in manager.get(response.headers["Location"]).text
    assert waiting_payouts(left.club_id) == [] and transactions(left.club_id, "refund") == []
    assert owed(left, left.members[5]) == 10_000


def test_sending_the_refund_form_twice_refunds_once(left, make_browser):
    browser = make_browser(left.treasurer)
    url = f"/clubs/{left.club_id}/refunds/{left.membership_id(left.members[5])}"
    sent = {**hidden_fields(browser.get(url).text), "amount": "30,00"}

    first = browser.client.post(url, data=sent)
    again = browser.client.post(url, data=sent)

    assert first.status_code == 302
    assert again.status_code in (302, 409)
    assert [p.amount for p in waiting_payouts(left.club_id)] == [3000]
    assert transactions(left.club_id, "refund") == []


@pytest.mark.parametrize("amount, message, values", [
    ("100,01", "This is more than the member's capital of %(capital)s.", {"capital": 10_000}),
    ("0", "The amount must be more than zero.", {}),
    ("-10", "The amount cannot be negative.", {}),
    ("12,345", "Write thousands with a space, such as 12 345 or 12 345,00.", {}),
    ("", None, {}),
])
def test_a_bad_refund_is_refused_next_to_the_amount(left, make_browser, amount, message, values):
    browser = make_browser(left.treasurer)
    before = snapshot()

    response = browser.submit(f"/clubs/{left.club_id}/refunds/{left.membership_id(left.members[5])}",
                              {"amount": amount})

    assert response.status_code == 400
    shown = error_of(response.text, "amount")
    assert shown
    if message:
        assert say(message, **{k: eur(v) for k, v in values.items()}) in shown
    assert snapshot() == before


def test_a_refund_above_the_capital_names_rule_r13(left, make_browser):
    browser = make_browser(left.treasurer)

    response = browser.submit(f"/clubs/{left.club_id}/refunds/{left.membership_id(left.members[5])}",
                              {"amount": "150,00"})

    assert response.status_code == 400
    assert "R13" in main_of(response.text)  # the refusal names its rule


def test_the_refund_page_of_a_member_who_has_not_left_is_404(left, make_browser):
    browser = make_browser(left.treasurer)
    url = f"/clubs/{left.club_id}/refunds/{left.membership_id(left.members[3])}"
    before = snapshot()

    assert browser.get(url).status_code == 404
    response = browser.action(url, {"amount": "10,00", "form_key": key()})

    assert response.status_code == 404
    assert snapshot() == before


def test_the_manager_reads_the_refunds_without_paying_them(left, make_browser):
    browser = make_browser(left.manager)
    listing = browser.get(f"/clubs/{left.club_id}/refunds")
    assert listing.status_code == 200
    assert shows(main_of(listing.text), left.members[5].name)
    url = f"/clubs/{left.club_id}/refunds/{left.membership_id(left.members[5])}"
    assert f'href="{url}"' not in listing.text
    before = snapshot()

    response = browser.action(url, {"amount": "10,00", "form_key": key()})

    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("role", ["member", "secretary"])
def test_members_see_no_refunds(left, make_browser, role):
    browser = make_browser(who(left, role))
    url = f"/clubs/{left.club_id}/refunds/{left.membership_id(left.members[5])}"
    before = snapshot()

    assert browser.get(f"/clubs/{left.club_id}/refunds").status_code == 403
    assert browser.get(url).status_code == 403
    response = browser.action(url, {"amount": "10,00", "form_key": key()})

    assert response.status_code == 403
    assert snapshot() == before


def test_a_member_who_left_no_longer_opens_the_fund_pages(left, make_browser):
    browser = make_browser(left.members[5])

    for page in ("savings", "fund", "dissolution"):
        assert browser.get(f"/clubs/{left.club_id}/{page}").status_code == 404, page


# --- Dissolution ----------------------------------------------------------------------------------


PAYOUT = re.compile(r'<form method="post" action="(/clubs/\d+/dissolution/(\d+))" class="inline">(.*?)</form>', re.S)
INPUT = re.compile(r"<input[^>]*>")


def payouts(html: str) -> list[tuple[str, int, dict]]:
    """(address, membership id, the values the form sends) for each pay-out form of the page."""
    found = []
    for url, membership_id, inner in PAYOUT.findall(html):
        values = {}
        for tag in INPUT.findall(inner):
            attrs = dict(ATTR.findall(tag))
            values[attrs["name"]] = attrs.get("value", "")
        found.append((url, int(membership_id), values))
    return found


@pytest.mark.parametrize("role", ["treasurer", "manager"])
def test_the_officers_read_the_whole_dissolution_plan(funded, make_browser, role):
    page = make_browser(who(funded, role)).get(f"/clubs/{funded.club_id}/dissolution")

    assert page.status_code == 200
    body = main_of(page.text)
    assert say("Sharing out the net assets") in body
    for person, cents in zip(funded.members[3:], (2500, 3500, 4000), strict=True):
        assert shows(body, person.name)
        assert body.count(eur(cents)) >= 2  # net contributions and part
    assert payouts(page.text) == []  # nothing is paid out before the vote
    assert f"/clubs/{funded.club_id}/close" not in body


@pytest.mark.parametrize("role", ["member", "secretary"])
def test_a_member_reads_only_their_own_part_of_the_dissolution_plan(funded, make_browser, role):
    person = who(funded, role)
    page = make_browser(person).get(f"/clubs/{funded.club_id}/dissolution")

    assert page.status_code == 200
    body = main_of(page.text)
    assert say("Sharing out the net assets") in body
    assert shows(body, person.name)
    for other in funded.members:
        if other is not person:
            assert not shows(page.text, other.name), other.name
    assert eur(3500) not in body and eur(4000) not in body
    assert (body.count(eur(2500)) >= 2) == (role == "member")  # members[3] paid 25 €: that is their part
    assert payouts(page.text) == []
    assert f"/clubs/{funded.club_id}/close" not in body


def test_nothing_is_shared_out_before_the_dissolution(funded, make_browser):
    browser = make_browser(funded.treasurer)
    before = snapshot()

    response = browser.action(f"/clubs/{funded.club_id}/dissolution/{funded.membership_id(funded.members[3])}",
                              {"amount": "25,00", "form_key": key()})

    assert response.status_code == 400
    assert say("Rule %(rule)s of the charter.", rule="R13") in response.text
    assert say("Net assets are shared only once the club has voted its dissolution.") in response.text
    assert snapshot() == before


def test_a_club_not_being_dissolved_is_not_closed(funded, make_browser):
    before = snapshot()

    response = make_browser(funded.treasurer).action(f"/clubs/{funded.club_id}/close")

    assert response.status_code == 400
    assert say("Only a club being dissolved can be closed.") in response.text
    assert snapshot() == before


@pytest.fixture
def dissolving(funded):
    fund.begin_dissolution(funded.club_id, decided_by=funded.manager.id)
    return funded


def test_the_treasurer_shares_out_the_assets_and_closes_the_club(dissolving, make_browser):
    browser = make_browser(dissolving.treasurer)
    url = f"/clubs/{dissolving.club_id}/dissolution"
    page = browser.get(url).text
    forms = payouts(page)
    assert sorted((m, v["amount"]) for _, m, v in forms) == sorted([
        (dissolving.membership_id(dissolving.members[3]), "25,00"),
        (dissolving.membership_id(dissolving.members[4]), "35,00"),
        (dissolving.membership_id(dissolving.members[5]), "40,00"),
    ])
    keys = {v["form_key"] for _, _, v in forms}
    assert len(keys) == 1  # the page's key: the service posts each line under it and the member's id

    for action, _, values in forms:
        response = browser.client.post(action, data=values)
        assert response.status_code == 302, response.text
        assert response.headers["Location"] == url
    entered = browser.get(url).text
    assert say("The payment is entered. A second officer must approve it before it is posted (R11).") in entered
    assert payouts(entered) == []  # every part is entered
    assert APPROVE.findall(entered) == [] and transactions(dissolving.club_id, "distribution") == []
    manager = make_browser(dissolving.manager)
    approvals = APPROVE.findall(manager.get(url).text)
    assert len(approvals) == 3
    for approve, _ in approvals:
        assert manager.action(approve).headers["Location"] == url
    assert len(transactions(dissolving.club_id, "distribution")) == 3
    assert balance(dissolving.club_id, "bank") == 0
    assert all(capital(dissolving, person) == 0 for person in dissolving.members)

    response = browser.action(f"/clubs/{dissolving.club_id}/close")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert say("%(name)s is closed.", name="Cigale des Tests") in browser.get("/").text
    assert fresh().get(Club, dissolving.club_id).status == "closed"


def test_sending_a_pay_out_form_twice_pays_once(dissolving, make_browser):
    browser = make_browser(dissolving.treasurer)
    action, _, values = payouts(browser.get(f"/clubs/{dissolving.club_id}/dissolution").text)[0]

    first = browser.client.post(action, data=values)
    again = browser.client.post(action, data=values)

    assert first.status_code == 302
    assert again.status_code in (302, 409)
    assert len(waiting_payouts(dissolving.club_id)) == 1


def test_closing_with_money_left_is_refused_by_r13(dissolving, make_browser):
    browser = make_browser(dissolving.treasurer)
    action, _, values = payouts(browser.get(f"/clubs/{dissolving.club_id}/dissolution").text)[0]
    assert browser.client.post(action, data=values).status_code == 302
    [payout] = waiting_payouts(dissolving.club_id)
    fund.approve_payout(dissolving.manager.id, dissolving.club_id, payout.id)
    before = snapshot()

    response = browser.action(f"/clubs/{dissolving.club_id}/close")

    assert response.status_code == 400
    assert say("Rule %(rule)s of the charter.", rule="R13") in response.text
    # The bank: the equity accounts are not counted, a last entry brings them to zero once nothing is held.
    assert say_n("%(num)d account still holds money: share everything out first.",
                 "%(num)d accounts still hold money: share everything out first.", 1) in response.text
    assert snapshot() == before
    assert fresh().get(Club, dissolving.club_id).status == "dissolving"


@pytest.mark.parametrize("amount", ["35,01", "abc", "", "-5", "0", "12,345"])
def test_a_bad_pay_out_is_refused(dissolving, make_browser, amount):
    browser = make_browser(dissolving.treasurer)
    target = dissolving.membership_id(dissolving.members[4])
    before = snapshot()

    response = browser.action(f"/clubs/{dissolving.club_id}/dissolution/{target}",
                              {"amount": amount, "form_key": key()})

    assert response.status_code == 400
    assert snapshot() == before


def test_paying_out_more_than_the_part_names_rule_r13(dissolving, make_browser):
    target = dissolving.membership_id(dissolving.members[4])

    response = make_browser(dissolving.treasurer).action(f"/clubs/{dissolving.club_id}/dissolution/{target}",
                                                         {"amount": "35,01", "form_key": key()})

    assert response.status_code == 400
    assert say("Rule %(rule)s of the charter.", rule="R13") in response.text
    assert say("This is more than the member's remaining part of %(left)s.", left=eur(3500)) in response.text


@pytest.mark.parametrize("role", ["member", "secretary", "manager"])
def test_only_the_treasurer_pays_out_and_closes(dissolving, make_browser, role):
    browser = make_browser(who(dissolving, role))
    page = browser.get(f"/clubs/{dissolving.club_id}/dissolution")
    assert page.status_code == 200 and payouts(page.text) == []
    before = snapshot()

    paid = browser.action(f"/clubs/{dissolving.club_id}/dissolution/{dissolving.membership_id(dissolving.members[3])}",
                          {"amount": "25,00", "form_key": key()})
    closed = browser.action(f"/clubs/{dissolving.club_id}/close")

    assert (paid.status_code, closed.status_code) == (403, 403)
    assert snapshot() == before


def test_a_dissolving_club_takes_no_more_pledges(dissolving, make_browser):
    browser = make_browser(dissolving.members[3])
    page = browser.get(f"/clubs/{dissolving.club_id}/savings")
    assert page.status_code == 200
    assert 'name="monthly_amount"' not in page.text
    before = snapshot()

    response = browser.action(f"/clubs/{dissolving.club_id}/savings",
                              {"monthly_amount": "25,00", "rhythm": "monthly"})

    assert response.status_code == 400
    assert say("This club no longer takes pledges.") in response.text
    assert snapshot() == before


# --- Scoping: club A's people never reach club B ------------------------------------------------------


@dataclass
class TwoClubs:
    a: object
    b: object
    b_contribution: int
    b_leaver: int
    b_member: int


@pytest.fixture
def two_clubs(make_club):
    """Club A and club B, both active; B has contributions and a leaver waiting for a refund."""
    a = make_club(5, name="Cigale A")
    b = make_club(6, name="Cigale B")
    row = contribute(b, b.members[3], 5000)
    contribute(b, b.members[5], 4000)
    clubs.leave(b.members[5].id, b.club_id)
    fund.value_exit(b.treasurer.id, b.club_id, b.membership_id(b.members[5]), form_key=key())
    contribute(a, a.members[3], 3000)
    return TwoClubs(a, b, row.id, b.membership_id(b.members[5]), b.membership_id(b.members[3]))


FUND_PAGES = ["savings", "fund", "contributions", "contributions/new", "contributions/{c}/reverse",
              "contributions/month", "contributions/month?month=2026-01", "contributions/import", "arrears", "refunds",
              "refunds/{leaver}", "dissolution"]


def pages_of(clubs_: TwoClubs, page: str) -> str:
    return "/clubs/{club}/" + page.format(c=clubs_.b_contribution, leaver=clubs_.b_leaver)


@pytest.mark.parametrize("role", ["treasurer", "member"])
@pytest.mark.parametrize("page", FUND_PAGES)
def test_a_member_of_club_a_gets_404_on_every_fund_page_of_club_b(two_clubs, make_browser, page, role):
    person = two_clubs.a.treasurer if role == "treasurer" else two_clubs.a.members[3]
    browser = make_browser(person)
    assert browser.get(f"/clubs/{two_clubs.a.club_id}/fund").status_code == 200  # their own club opens

    response = browser.get(pages_of(two_clubs, page).format(club=two_clubs.b.club_id))

    assert response.status_code == 404
    assert "Cigale B" not in response.text


def b_posts(t: TwoClubs) -> dict[str, tuple[str, dict]]:
    b = t.b.club_id
    today = date.today().isoformat()
    return {
        "pledge": (f"/clubs/{b}/savings", {"monthly_amount": "25,00", "rhythm": "monthly"}),
        "contribution": (f"/clubs/{b}/contributions/new",
                         {**contribution_form(t.b_member), "form_key": key()}),
        "reverse": (f"/clubs/{b}/contributions/{t.b_contribution}/reverse", {"reason": "Erreur", "form_key": key()}),
        "month": (f"/clubs/{b}/contributions/month",
                  {"received_on": today, "method": "transfer", "form_key": key(), f"amount_{t.b_member}": "25,00"}),
        "import": (f"/clubs/{b}/contributions/import", {"file": csv_file(good_csv(t.b))}),
        "confirm": (f"/clubs/{b}/contributions/import/confirm", {"payload": "garbage"}),
        "refund": (f"/clubs/{b}/refunds/{t.b_leaver}", {"amount": "10,00", "form_key": key()}),
        "distribute": (f"/clubs/{b}/dissolution/{t.b_member}", {"amount": "10,00", "form_key": key()}),
        "close": (f"/clubs/{b}/close", {}),
    }


B_ACTIONS = ["pledge", "contribution", "reverse", "month", "import", "confirm", "refund", "distribute", "close"]


@pytest.mark.parametrize("role", ["treasurer", "member"])
@pytest.mark.parametrize("action", B_ACTIONS)
def test_a_member_of_club_a_gets_404_on_every_fund_action_of_club_b(two_clubs, make_browser, action, role):
    person = two_clubs.a.treasurer if role == "treasurer" else two_clubs.a.members[3]
    url, data = b_posts(two_clubs)[action]
    browser = make_browser(person)
    before = snapshot()

    response = browser.action(url, data)

    assert response.status_code == 404
    assert "Cigale B" not in response.text
    assert snapshot() == before


@pytest.mark.parametrize("action", B_ACTIONS)
def test_club_b_dissolving_still_gives_404_to_club_a(two_clubs, make_browser, action):
    fund.begin_dissolution(two_clubs.b.club_id, decided_by=two_clubs.b.manager.id)
    url, data = b_posts(two_clubs)[action]
    browser = make_browser(two_clubs.a.treasurer)
    before = snapshot()

    response = browser.action(url, data)

    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("path", ["contributions/{c}/reverse", "refunds/{leaver}"])
def test_club_b_ids_under_club_a_addresses_are_404(two_clubs, make_browser, path):
    url = pages_of(two_clubs, path).format(club=two_clubs.a.club_id)
    browser = make_browser(two_clubs.a.treasurer)
    before = snapshot()

    assert browser.get(url).status_code == 404
    response = browser.action(url, {"reason": "Erreur", "amount": "10,00", "form_key": key()})

    assert response.status_code == 404
    assert snapshot() == before


def test_a_club_b_member_is_not_paid_out_by_dissolving_club_a(two_clubs, make_browser):
    fund.begin_dissolution(two_clubs.a.club_id, decided_by=two_clubs.a.manager.id)
    browser = make_browser(two_clubs.a.treasurer)
    before = snapshot()

    response = browser.action(f"/clubs/{two_clubs.a.club_id}/dissolution/{two_clubs.b_member}",
                              {"amount": "10,00", "form_key": key()})

    assert response.status_code == 404
    assert snapshot() == before


def test_club_b_members_are_neither_offered_nor_recorded_in_club_a_forms(two_clubs, make_browser):
    a, b = two_clubs.a, two_clubs.b
    browser = make_browser(a.treasurer)
    offered = browser.get(f"/clubs/{a.club_id}/contributions/new?member={two_clubs.b_member}")
    assert offered.status_code == 200
    assert not shows(offered.text, b.members[3].name)
    assert form_values(offered.text).get("membership_id", "") != str(two_clubs.b_member)
    shown = form_values(browser.get(f"/clubs/{a.club_id}/contributions/month").text)
    before = snapshot()

    credited = browser.submit(f"/clubs/{a.club_id}/contributions/new", contribution_form(two_clubs.b_member))
    sheet = browser.submit(f"/clubs/{a.club_id}/contributions/month",
                           {**shown, f"amount_{two_clubs.b_member}": "25,00"})

    assert 400 <= credited.status_code < 500
    assert sheet.status_code == 400  # B's line is not on A's sheet: nothing to record
    assert say("There is nothing to record.") in sheet.text
    assert snapshot() == before


# --- Impossible ids and anonymous visitors -------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "contributions/0/reverse", "contributions/2147483648/reverse", "contributions/2147483647/reverse",
    "contributions/99999999999999999999/reverse", "contributions/01/reverse", "contributions/abc/reverse",
    "refunds/0", "refunds/2147483648", "refunds/2147483647", "refunds/-1",
])
def test_impossible_ids_in_fund_pages_are_404_never_500(funded, make_browser, path):
    browser = make_browser(funded.treasurer)
    url = f"/clubs/{funded.club_id}/{path}"
    before = snapshot()

    assert browser.get(url).status_code == 404
    response = browser.action(url, {"reason": "Erreur", "amount": "10,00", "form_key": key()})

    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("membership_id", ["0", "2147483648", "2147483647", "99999999999999999999"])
def test_impossible_ids_in_pay_outs_are_404_never_500(dissolving, make_browser, membership_id):
    before = snapshot()

    response = make_browser(dissolving.treasurer).action(
        f"/clubs/{dissolving.club_id}/dissolution/{membership_id}", {"amount": "10,00", "form_key": key()})

    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("page", FUND_PAGES)
def test_anonymous_visitors_are_sent_to_login_from_fund_pages(two_clubs, browser, page):
    response = browser.get(pages_of(two_clubs, page).format(club=two_clubs.b.club_id))

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login?next=")


def test_anonymous_fund_actions_change_nothing(two_clubs, browser):
    before = snapshot()

    for action in B_ACTIONS:
        url, data = b_posts(two_clubs)[action]
        response = browser.action(url, data)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/account/login"), url

    assert snapshot() == before


def test_a_fund_form_without_csrf_token_is_refused(club, make_browser):
    browser = make_browser(club.treasurer)
    before = snapshot()

    response = browser.client.post(f"/clubs/{club.club_id}/contributions/new",
                                   data={**contribution_form(club.membership_id(club.members[3])), "form_key": key()})

    assert response.status_code == 400
    assert snapshot() == before
