"""A member's share passing on, through the browser: selling one's share, an officer recording heirs, the transfer's
page with the co-owners' month to buy first (claim, take back, settle), the ballot that decides it; another club's
members get 404; refusals are 4xx and write nothing.

The club is the ``club`` fixture (manager, treasurer, secretary, three plain members); each member has paid in, the
seller (members[5]) 1,000.00, members[3] 100.00, members[4] 200.00; a newcomer has asked to join."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
import time_machine
from flask_babel import force_locale, format_date
from sqlalchemy import select

from coop.amounts import add_months, money
from coop.extensions import db
from coop.models import Ballot, Membership, MemberStatus, ShareTransfer, TransferStatus
from coop.services import access, clubs, fund, transfers
from tests.conftest import SetupView, by_id, hidden_fields, key, say, snapshot

SELLER = 100_000


@dataclass
class Scene(SetupView):
    newcomer: object
    newcomer_mid: int

    @property
    def seller(self):
        return self.setup.members[5]


@pytest.fixture
def scene(club, make_user) -> Scene:
    for user, amount in zip(club.members, [50_000, 50_000, 50_000, 10_000, 20_000, SELLER], strict=True):
        fund.record_contribution(club.treasurer.id, club.club_id, membership_id=club.membership_id(user), amount=amount,
                                 received_on=access.today_of(club.club_id), method="transfer", idempotency_key=key())
    newcomer = make_user("Nora Nouvelle")
    _, code = clubs.invite(club.manager.id, club.club_id, form_key=key())
    pending = clubs.join(newcomer.id, code).id
    db.session.rollback()
    return Scene(club, newcomer, pending)


def eur(cents: int) -> str:
    return money(cents, "EUR", "fr")


def main_of(html: str) -> str:
    return html.split('<main id="main">', 1)[1]


def only_transfer() -> ShareTransfer:
    db.session.rollback()
    [transfer] = db.session.scalars(select(ShareTransfer)).all()
    return transfer


def sold(scene, *, to: int | None = None) -> ShareTransfer:
    return transfers.propose_transfer(scene.seller.id, scene.club_id, from_membership_id=scene.mid(scene.seller),
                                      to_membership_id=to or scene.newcomer_mid, reason="assignment", price=150_000,
                                      form_key=key())


def url(scene, transfer_id: int | None = None, tail: str = "") -> str:
    base = f"/clubs/{scene.club_id}/transfers"
    return f"{base}/{transfer_id}{tail}" if transfer_id else f"{base}{tail}"


def day_fr(day: date) -> str:
    with force_locale("fr"):
        return format_date(day, "medium")


# --- Selling one's share ------------------------------------------------------------------------------------------------


def test_a_member_sells_their_share_to_a_newcomer_through_the_form(scene, make_browser):
    browser = make_browser(scene.seller)

    page = browser.get(url(scene, tail="/sell"))
    assert page.status_code == 200
    assert say("Your share holds %(amount)s today: it passes whole to the buyer, and you leave the club.",
               amount=eur(SELLER)) in page.text
    assert say("%(name)s (asked to join)", name="Nora Nouvelle") in page.text

    response = browser.submit(url(scene, tail="/sell"), {"to_membership_id": str(scene.newcomer_mid),
                                                         "price": "1 500,00"})

    transfer = only_transfer()
    assert response.status_code == 302
    assert response.headers["Location"].endswith(url(scene, transfer.id))
    assert (transfer.status, transfer.price, transfer.reason) == (TransferStatus.PREEMPTION, 150_000, "assignment")
    shown = browser.get(response.headers["Location"])
    ends = add_months(access.today_of(scene.club_id), 1)
    assert say("The other members are told the price by mail: they may buy the share first until %(day)s.",
               day=day_fr(ends)) in shown.text
    assert say("You are selling this share: the other members may buy it first.") in shown.text


@pytest.mark.parametrize("fields, status", [
    ({"price": "-5"}, 400),
    ({"price": ""}, 400),
    ({"price": "abc"}, 400),
    ({"to_membership_id": "999999"}, 400),  # not in the list
    ({"to_membership_id": ""}, 400),
])
def test_the_sale_form_refuses_bad_input_and_writes_nothing(scene, make_browser, fields, status):
    browser = make_browser(scene.seller)
    before = snapshot()

    response = browser.submit(url(scene, tail="/sell"), {"to_membership_id": str(scene.newcomer_mid),
                                                         "price": "1 500,00", **fields})

    assert response.status_code == status
    assert snapshot() == before


def test_a_sale_to_oneself_is_refused_next_to_the_field(scene, make_browser):
    """The list leaves the seller out; a crafted post is refused by the service, next to the buyer field."""
    browser = make_browser(scene.seller)
    shown = browser.get(url(scene, tail="/sell"))
    before = snapshot()

    response = browser.client.post(url(scene, tail="/sell"), data={
        **hidden_fields(shown.text), "to_membership_id": str(scene.mid(scene.seller)), "price": "10"})

    assert response.status_code == 400
    assert snapshot() == before


def test_a_treasurer_hands_the_office_over_before_selling(scene, make_browser):
    browser = make_browser(scene.treasurer)
    page = browser.get(url(scene, tail="/sell"))
    assert say("Hand your office over to another member before selling your share.") in page.text
    assert 'name="price"' not in page.text
    before = snapshot()

    response = browser.client.post(url(scene, tail="/sell"), data={
        **hidden_fields(page.text), "form_key": key(), "to_membership_id": str(scene.newcomer_mid), "price": "10"})

    assert response.status_code == 400
    assert say("Hand your office over to another member before selling your share.") in response.text
    assert "R3" in main_of(response.text)
    assert snapshot() == before


def test_the_sale_page_points_to_a_transfer_already_under_way(scene, make_browser):
    transfer = sold(scene)
    page = make_browser(scene.seller).get(url(scene, tail="/sell"))
    assert say("A transfer of your share is already under way.") in page.text
    assert url(scene, transfer.id) in page.text


# --- Heirs ---------------------------------------------------------------------------------------------------------------


def test_an_officer_records_a_share_passing_to_an_heir(scene, make_browser):
    browser = make_browser(scene.setup.members[2])  # the secretary

    response = browser.submit(url(scene, tail="/heirs"), {"from_membership_id": str(scene.mid(scene.seller)),
                                                          "to_membership_id": str(scene.newcomer_mid)})

    transfer = only_transfer()
    assert response.status_code == 302
    assert (transfer.status, transfer.reason, transfer.price) == (TransferStatus.AWAITING_VOTE, "heir", None)
    page = browser.get(url(scene, transfer.id))
    assert say("It waits for the members’ vote (R7); %(name)s does not vote on it.", name=scene.seller.name) in page.text


def test_a_plain_member_does_not_record_heirs(scene, make_browser):
    browser = make_browser(scene.setup.members[3])
    assert browser.get(url(scene, tail="/heirs")).status_code == 403


# --- The transfer's page: the month to buy first ------------------------------------------------------------------------------


def test_a_co_owner_buys_first_then_takes_it_back(scene, make_browser):
    transfer = sold(scene)
    buyer = make_browser(scene.setup.members[3])
    page = buyer.get(url(scene, transfer.id))
    assert say("I buy this share first, at this price") in page.text

    response = buyer.action(url(scene, transfer.id, "/claim"))

    assert response.status_code == 302
    page = buyer.get(url(scene, transfer.id))
    assert say("You buy this share first.") in page.text
    assert eur(SELLER) in main_of(page.text)  # the whole share would be theirs
    assert buyer.action(url(scene, transfer.id, "/claim")).status_code == 409

    assert buyer.action(url(scene, transfer.id, "/claim/withdraw")).status_code == 302
    assert only_transfer().claims == []


def test_the_seller_does_not_buy_first_and_nothing_is_written(scene, make_browser):
    transfer = sold(scene)
    before = snapshot()
    assert make_browser(scene.seller).action(url(scene, transfer.id, "/claim")).status_code == 403
    assert snapshot() == before


def test_after_the_month_an_officer_settles_and_the_manager_opens_the_ballot(scene, make_browser):
    transfer = sold(scene)
    assert make_browser(scene.setup.members[2]).action(url(scene, transfer.id, "/settle")).status_code == 409
    db.session.rollback()

    with time_machine.travel(datetime.now() + timedelta(days=33), tick=True):  # the month is over
        secretary, manager = make_browser(scene.setup.members[2]), make_browser(scene.manager)
        assert say("Settle the month to buy first") in secretary.get(url(scene, transfer.id)).text
        response = secretary.action(url(scene, transfer.id, "/settle"), follow=True)
        assert say("No member bought the share first: it waits for the members' vote.") in response.text
        assert only_transfer().status == TransferStatus.AWAITING_VOTE

        page = manager.get(url(scene, transfer.id))
        opening = f"/clubs/{scene.club_id}/ballots/new/transfer?subject={transfer.id}"
        assert opening in page.text.replace("&amp;", "&")
        form = manager.get(opening)
        assert f'<option selected value="{transfer.id}">' in form.text
        response = manager.submit(opening, {"transfer_id": str(transfer.id), "method": "yes_no",
                                            "closes_at": (datetime.now() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")})
        assert response.status_code == 302, main_of(response.text)
        [ballot] = db.session.scalars(select(Ballot)).all()
        assert ballot.kind == "transfer"

        shown = make_browser(scene.seller).get(f"/clubs/{scene.club_id}/ballots/{ballot.id}")
        assert say("The share passing on") in shown.text
        assert say("This ballot decides on your own share: you do not vote on it (R8).") in shown.text
        assert url(scene, transfer.id) in shown.text


def test_the_proposer_withdraws_and_another_member_may_not(scene, make_browser):
    transfer = sold(scene)
    before = snapshot()
    assert make_browser(scene.setup.members[3]).action(url(scene, transfer.id, "/withdraw")).status_code == 403
    assert snapshot() == before

    seller = make_browser(scene.seller)
    assert say("Withdraw this transfer") in seller.get(url(scene, transfer.id)).text
    assert seller.action(url(scene, transfer.id, "/withdraw")).status_code == 302
    assert only_transfer().status == TransferStatus.WITHDRAWN


def test_the_list_shows_the_transfers_to_every_member(scene, make_browser):
    sold(scene)
    page = make_browser(scene.setup.members[4]).get(url(scene))
    assert page.status_code == 200
    assert say("the co-owners may buy first") in page.text
    assert scene.seller.name in page.text and "Nora Nouvelle" in page.text


# --- Another club, bad ids ---------------------------------------------------------------------------------------------------


def test_another_clubs_members_and_bad_ids_get_404(scene, neighbour, make_browser):
    transfer = sold(scene)
    seller = neighbour.members[3]
    fund.record_contribution(neighbour.treasurer.id, neighbour.club_id, membership_id=neighbour.membership_id(seller),
                             amount=1_000, received_on=access.today_of(neighbour.club_id), method="transfer",
                             idempotency_key=key())
    theirs = transfers.propose_transfer(seller.id, neighbour.club_id, from_membership_id=neighbour.membership_id(seller),
                                        to_membership_id=neighbour.membership_id(neighbour.members[4]),
                                        reason="assignment", price=100, form_key=key())
    stranger = make_browser(neighbour.members[3])
    member = make_browser(scene.setup.members[3])
    before = snapshot()

    for path in (url(scene), url(scene, transfer.id), url(scene, tail="/sell")):
        assert stranger.get(path).status_code == 404
    assert stranger.action(url(scene, transfer.id, "/claim")).status_code == 404
    assert member.get(url(scene, theirs.id)).status_code == 404  # another club's transfer, seen from this one
    assert member.action(url(scene, theirs.id, "/claim")).status_code == 404
    assert member.get(url(scene, 999_999)).status_code == 404
    assert member.get(f"/clubs/{scene.club_id}/transfers/99999999999").status_code == 404
    assert member.action(url(scene, 999_999, "/claim")).status_code == 404
    assert snapshot() == before


def test_the_savings_page_links_to_the_sale(scene, make_browser):
    page = make_browser(scene.setup.members[3]).get(f"/clubs/{scene.club_id}/savings")
    assert url(scene, tail="/sell") in page.text


def test_a_share_bought_first_shows_on_the_fund_page(scene, make_browser):
    transfer = sold(scene)
    transfers.claim_preemption(scene.setup.members[3].id, scene.club_id, transfer.id)
    transfers.settle_preemption(scene.manager.id, scene.club_id, transfer.id,
                                today=add_months(access.today_of(scene.club_id), 1) + timedelta(days=1))
    db.session.rollback()
    assert by_id(Membership, scene.mid(scene.seller)).status == MemberStatus.LEFT

    page = make_browser(scene.manager).get(f"/clubs/{scene.club_id}/fund")
    assert say("Shares passed on") in page.text
    shown = make_browser(scene.setup.members[3]).get(url(scene, transfer.id))
    assert say("Bought first by members, with no vote") in shown.text
    assert eur(SELLER) in main_of(shown.text)
