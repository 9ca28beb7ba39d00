"""Shares on the web (issue 17): the fund page shows each member's share both ways, the share register, a leaver's
share valued with one button and paid, partial withdrawals where the charter allows them."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from coop.models import ExitValuation, Payout
from coop.services import clubs, fund
from tests.conftest import hidden_fields, say, snapshot
from tests.services.test_shares import earn
from tests.web.test_fund_views import balance, contribute, eur, fresh, main_of, owed


@pytest.fixture
def grown(club):
    """members[3] paid 1,000.00, members[4] 1,000.00, members[5] 2,000.00; the fund then earned 400.00."""
    contribute(club, club.members[3], 100_000)
    contribute(club, club.members[4], 100_000)
    contribute(club, club.members[5], 200_000)
    earn(club, 40_000)
    return club


def test_the_fund_page_shows_each_share_both_ways(grown, make_browser):
    page = main_of(make_browser(grown.treasurer).get(f"/clubs/{grown.club_id}/fund").text)
    assert say("Net assets") in page and eur(440_000) in page
    assert say("Share, pro rata to contributions") in page and say("Share, by valuation units") in page
    # Everyone paid before the gain: both ways give 1,100.00, 1,100.00 and 2,200.00.
    assert page.count(eur(110_000)) == 4 and page.count(eur(220_000)) == 2
    assert "100,000000" in page  # 100 units at 10.00 for 1,000.00


def test_a_member_sees_only_their_own_share(grown, make_browser):
    page = main_of(make_browser(grown.members[3]).get(f"/clubs/{grown.club_id}/fund").text)
    assert grown.members[3].name in page and grown.members[5].name not in page
    savings = main_of(make_browser(grown.members[3]).get(f"/clubs/{grown.club_id}/savings").text)
    assert say("What my share is worth") in savings and eur(110_000) in savings


def test_the_share_register_lists_each_payment_with_its_unit_value(grown, make_browser):
    page = main_of(make_browser(grown.treasurer).get(f"/clubs/{grown.club_id}/shares").text)
    assert page.count(f">{say('paid in')}</td>") == 3
    assert page.count(f">{eur(1_000)}</td>") == 3  # every payment bought at 10.00 a unit
    mine = main_of(make_browser(grown.members[3]).get(f"/clubs/{grown.club_id}/shares").text)
    assert mine.count(f">{say('paid in')}</td>") == 1 and grown.members[5].name not in mine
    # A member cannot read another's lines by asking for them.
    other = make_browser(grown.members[3]).get(
        f"/clubs/{grown.club_id}/shares?member={grown.membership_id(grown.members[5])}").text
    assert grown.members[5].name not in main_of(other)


def test_the_treasurer_values_a_leavers_share_then_pays_it(grown, make_browser):
    leaver = grown.members[3]
    clubs.leave(leaver.id, grown.club_id)
    browser = make_browser(grown.treasurer)
    listing = browser.get(f"/clubs/{grown.club_id}/refunds").text
    assert say("Value the share") in listing and eur(110_000) in listing
    url = f"/clubs/{grown.club_id}/leavers/{grown.membership_id(leaver)}/value"
    fields = hidden_fields(listing.split(f'action="{url}"', 1)[1].split("</form>", 1)[0])
    response = browser.client.post(url, data=fields)
    assert response.status_code == 302
    assert owed(grown, leaver) == 110_000
    again = browser.client.post(url, data=fields)  # the same button twice: valued once
    assert again.status_code == 302 and len(fresh().scalars(select(ExitValuation)).all()) == 1
    paying = browser.get(f"/clubs/{grown.club_id}/refunds/{grown.membership_id(leaver)}").text
    assert eur(110_000) in paying
    assert browser.submit(f"/clubs/{grown.club_id}/refunds/{grown.membership_id(leaver)}",
                          {"amount": "1100,00"}).status_code == 302
    [payout] = fresh().scalars(select(Payout)).all()
    fund.approve_payout(grown.manager.id, grown.club_id, payout.id)
    assert (owed(grown, leaver), balance(grown.club_id, "bank")) == (0, 330_000)


def test_valuing_before_the_notice_has_run_is_refused_and_writes_nothing(grown, make_browser):
    clubs.adopt_charter(grown.club_id, {"exit_notice_days": 30}, ballot_id=None, author_id=None)
    leaver = grown.members[3]
    clubs.leave(leaver.id, grown.club_id)
    browser = make_browser(grown.treasurer)
    listing = browser.get(f"/clubs/{grown.club_id}/refunds").text
    assert say("notice running") in listing
    before = snapshot()
    response = browser.action(f"/clubs/{grown.club_id}/leavers/{grown.membership_id(leaver)}/value",
                              {"form_key": "a" * 32})
    assert response.status_code == 400 and say("Rule %(rule)s of the charter.", rule="R13") in response.text
    assert snapshot() == before


def test_a_member_cannot_value_a_share(grown, make_browser):
    clubs.leave(grown.members[3].id, grown.club_id)
    before = snapshot()
    response = make_browser(grown.members[4]).action(
        f"/clubs/{grown.club_id}/leavers/{grown.membership_id(grown.members[3])}/value", {"form_key": "b" * 32})
    assert response.status_code == 403 and snapshot() == before


def test_withdrawals_page_says_when_the_charter_does_not_allow_them(grown, make_browser):
    page = main_of(make_browser(grown.treasurer).get(f"/clubs/{grown.club_id}/withdrawals").text)
    assert say("The charter does not allow members to take part of their share out while they stay. It can be "
               "changed by a unanimous vote.") in page
    assert make_browser(grown.members[3]).get(f"/clubs/{grown.club_id}/withdrawals").status_code == 403


def test_a_withdrawal_entered_on_the_page_waits_for_a_second_officer(grown, make_browser):
    clubs.adopt_charter(grown.club_id, {"partial_withdrawals": True}, ballot_id=None, author_id=None)
    member = grown.membership_id(grown.members[3])
    browser = make_browser(grown.treasurer)
    page = browser.get(f"/clubs/{grown.club_id}/withdrawals").text
    form = page.split(f'action="/clubs/{grown.club_id}/withdrawals/{member}"', 1)[1].split("</form>", 1)[0]
    fields = {**hidden_fields(form), "amount": "300,00"}
    response = browser.client.post(f"/clubs/{grown.club_id}/withdrawals/{member}", data=fields)
    assert response.status_code == 302
    [payout] = fresh().scalars(select(Payout)).all()
    assert (payout.kind, payout.amount, payout.status) == ("withdrawal", 30_000, "pending")
    assert balance(grown.club_id, "bank") == 440_000
    waiting = make_browser(grown.manager).get(f"/clubs/{grown.club_id}/withdrawals").text
    [approve] = re.findall(rf'action="(/clubs/{grown.club_id}/payouts/\d+/approve)"', waiting)
    assert make_browser(grown.manager).action(approve).status_code == 302
    assert balance(grown.club_id, "bank") == 410_000


def test_a_withdrawal_above_the_share_is_refused_with_nothing_written(grown, make_browser):
    clubs.adopt_charter(grown.club_id, {"partial_withdrawals": True}, ballot_id=None, author_id=None)
    member = grown.membership_id(grown.members[3])
    browser = make_browser(grown.treasurer)
    page = browser.get(f"/clubs/{grown.club_id}/withdrawals").text
    form = page.split(f'action="/clubs/{grown.club_id}/withdrawals/{member}"', 1)[1].split("</form>", 1)[0]
    before = snapshot()
    response = browser.client.post(f"/clubs/{grown.club_id}/withdrawals/{member}",
                                   data={**hidden_fields(form), "amount": "1100,01"})
    assert response.status_code == 400 and say("Rule %(rule)s of the charter.", rule="R13") in response.text
    assert snapshot() == before
