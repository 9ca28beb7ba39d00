"""Paying a leaver in shares on the web (R13, charter ``exit_in_kind``): the charter page says whether it is allowed;
the leavers page offers the treasurer a form per valued leaver (the shares the club holds, a stake in percent such as
``2,5``); the hand-over waits with the other payouts for a second officer, who approves it from the same page.
Whatever is sent, a refusal is a 4xx with nothing written. The scene is tests/services/test_in_kind.py's: the leaver
is owed 1,500.00; the club holds a 10 % stake valued at 3,000.00."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from coop.amounts import percent
from coop.models import Investment, Payout
from coop.services import clubs
from coop.services.charter import charter_of
from tests.conftest import form_values, hidden_fields, say, snapshot
from tests.services.test_in_kind import STAKE, Scene, scene
from tests.services.test_investment_flow import fund_club
from tests.services.test_investment_follow_up import recorded
from tests.web.test_fund_views import eur, fresh, main_of, owed


@pytest.fixture
def ready(make_club) -> Scene:
    return scene(make_club, loan=True)


def url(s: Scene, member_id: int | None = None) -> str:
    return f"/clubs/{s.club_id}/refunds/{member_id or s.mid(s.leaver)}/shares"


def form_fields(s: Scene, browser) -> dict:
    """The hidden fields of the leaver's hand-over form, as the refunds page shows it."""
    page = browser.get(f"/clubs/{s.club_id}/refunds").text
    form = page.split(f'action="{url(s)}"', 1)[1].split("</form>", 1)[0]
    return hidden_fields(form)


def payouts() -> list[Payout]:
    return list(fresh().scalars(select(Payout).order_by(Payout.id)))


def test_the_charter_page_says_whether_a_leaver_may_be_paid_in_shares(make_club, make_browser):
    setup = make_club(6, secretary=True)
    browser = make_browser(setup.members[4])
    page = main_of(browser.get(f"/clubs/{setup.club_id}/charter").text)
    assert say("Paying a leaver in shares (R13)") in page
    assert say("allowed when cash is short, at the value recorded, without a ballot each time") not in page
    clubs.adopt_charter(setup.club_id, {"exit_in_kind": True}, ballot_id=None, author_id=None)
    page = main_of(browser.get(f"/clubs/{setup.club_id}/charter").text)
    assert say("allowed when cash is short, at the value recorded, without a ballot each time") in page


def test_the_manager_of_a_forming_club_allows_it_in_the_charter(make_club, make_browser):
    setup = make_club(5, activate=False)
    browser = make_browser(setup.manager)
    edit = f"/clubs/{setup.club_id}/charter/edit"
    shown = form_values(browser.get(edit).text)
    assert "exit_in_kind" not in shown  # unticked by default
    assert browser.submit(edit, {**shown, "exit_in_kind": "y"}).status_code == 302
    fresh()
    assert charter_of(setup.club_id).exit_in_kind is True


def test_the_treasurer_hands_shares_over_and_a_second_officer_approves(ready, make_browser):
    s = ready
    treasurer = make_browser(s.treasurer)
    page = main_of(treasurer.get(f"/clubs/{s.club_id}/refunds").text)
    assert say("Paying in shares") in page
    assert f'<option value="{s.shares.id}">{s.shares.name}</option>' in page
    assert "Épicerie de Luc</option>" not in page  # a loan is not offered
    assert eur(300_000) in page  # the stake's value recorded

    response = treasurer.client.post(url(s), data={**form_fields(s, treasurer), "investment_id": str(s.shares.id),
                                                   "stake": "2,5"})

    assert response.status_code == 302 and response.headers["Location"] == f"/clubs/{s.club_id}/refunds"
    [payout] = payouts()
    assert (payout.kind, payout.stake_hundredths, payout.amount, payout.status) == ("in_kind", 250, 75_000, "pending")
    manager = make_browser(s.manager)
    waiting = main_of(manager.get(f"/clubs/{s.club_id}/refunds").text)
    assert say("in shares: %(stake)s of %(name)s", stake=percent(2.5, "fr"), name=s.shares.name) in waiting
    [approve] = re.findall(rf'action="(/clubs/{s.club_id}/payouts/\d+/approve)"', waiting)
    assert make_browser(s.treasurer).action(approve).status_code == 400  # not the officer who entered it (R11)
    assert manager.action(approve).status_code == 302
    assert owed(s.setup, s.leaver) == 75_000
    events = main_of(manager.get(f"/clubs/{s.club_id}/investments/{s.shares.id}").text)
    assert say("shares handed over to a leaver") in events


def test_without_the_charters_clause_no_shares_are_offered(make_club, make_browser):
    s = scene(make_club, in_kind=False)
    page = main_of(make_browser(s.treasurer).get(f"/clubs/{s.club_id}/refunds").text)
    assert say("Paying in shares") not in page and url(s) not in page
    before = snapshot()
    response = make_browser(s.treasurer).action(url(s), {"form_key": "c" * 32, "investment_id": str(s.shares.id),
                                                         "stake": "5"})
    assert response.status_code == 400 and say("Rule %(rule)s of the charter.", rule="R13") in response.text
    assert snapshot() == before


@pytest.mark.parametrize("stake, investment, status", [
    ("", "shares", 400),  # no stake
    ("abc", "shares", 400),
    ("-1", "shares", 400),
    ("0", "shares", 400),
    ("1e309", "shares", 400),
    ("99999999999999999999", "shares", 400),
    ("10,01", "shares", 400),  # more than the 10 % held
    ("6", "shares", 400),  # 1,800.00: more than the 1,500.00 owed (R13)
    ("5", "loan", 400),  # not shares
    ("5", "abc", 400),
    ("5", "", 400),
    ("5", "2147483648", 404),
    ("5", "theirs", 404),  # another club's investment
])
def test_a_bad_hand_over_is_refused_with_nothing_written(ready, make_club, make_browser, stake, investment, status):
    s = ready
    ids = {"shares": str(s.shares.id),
           "loan": str(fresh().scalar(select(Investment.id).where(Investment.club_id == s.club_id,
                                                                  Investment.instrument == "loan")))}
    if investment == "theirs":
        neighbour = make_club(5, name="Cigale Voisine")
        fund_club(neighbour, 300_000)
        ids["theirs"] = str(recorded(neighbour, **STAKE).id)
    browser = make_browser(s.treasurer)
    fields = form_fields(s, browser)
    before = snapshot()
    response = browser.client.post(url(s), data={**fields, "investment_id": ids.get(investment, investment),
                                                 "stake": stake})
    assert response.status_code == status
    assert snapshot() == before


def test_another_clubs_member_is_not_found(ready, make_club, make_browser):
    s = ready
    neighbour = make_club(5, name="Cigale Voisine")
    browser = make_browser(s.treasurer)
    fields = form_fields(s, browser)
    before = snapshot()
    response = browser.client.post(url(s, neighbour.membership_id(neighbour.members[4])),
                                   data={**fields, "investment_id": str(s.shares.id), "stake": "5"})
    assert response.status_code == 404 and snapshot() == before


def test_the_same_form_sent_twice_enters_one_hand_over(ready, make_browser):
    s = ready
    browser = make_browser(s.treasurer)
    data = {**form_fields(s, browser), "investment_id": str(s.shares.id), "stake": "5"}
    assert browser.client.post(url(s), data=data).status_code == 302
    assert browser.client.post(url(s), data=data).status_code == 302
    assert [(p.kind, p.amount) for p in payouts()] == [("in_kind", 150_000)]
    before = snapshot()
    response = browser.client.post(url(s), data={**data, "stake": "4"})  # the key spent on another stake
    assert response.status_code == 409 and snapshot() == before


@pytest.mark.parametrize("role", [2, 4, 0])  # the secretary, a plain member, the manager (the charter's default)
def test_only_the_officer_who_keeps_the_money_enters_it(ready, make_browser, role):
    s = ready
    before = snapshot()
    response = make_browser(s.setup.members[role]).action(url(s), {"form_key": "d" * 32, "stake": "5",
                                                                   "investment_id": str(s.shares.id)})
    assert response.status_code == 403 and snapshot() == before
