"""A club's pages through the browser: creating, charter, invitations, admission, activation, leaving, scoping."""
from __future__ import annotations

import re

import pytest
from babel.dates import format_date
from sqlalchemy import func, select

from coop.amounts import money
from coop.extensions import db
from coop.models import Charter, Club, Invitation, Membership
from coop.services import clubs
from tests.conftest import by_id, form_values, hidden_fields, key, say, say_n, snapshot


def fresh():
    """End the test's own read snapshot, to see what the requests committed."""
    db.session.rollback()
    return db.session


def by_id_fresh(model, object_id):
    fresh()
    return by_id(model, object_id)


def actions(html: str) -> list[str]:
    """The addresses of the buttons (POST forms) in the page's main content."""
    return re.findall(r'<form method="post" action="([^"]+)"', html.split('<main id="main">', 1)[1])


def club_id_from(location: str) -> int:
    match = re.fullmatch(r"/clubs/(\d+)/", location)
    assert match, location
    return int(match.group(1))


CLUB = {"name": "Cigale du Vercors", "town": "Villard-de-Lans", "country": "FR", "currency": "EUR"}


# --- Creating a club -------------------------------------------------------------------------------


def test_creating_a_club_makes_its_creator_the_manager(make_browser, make_user):
    browser = make_browser(make_user())

    response = browser.submit("/clubs/new", CLUB)

    assert response.status_code == 302
    club_id = club_id_from(response.headers["Location"])
    home = browser.get(f"/clubs/{club_id}/")
    assert home.status_code == 200
    assert say("The club %(name)s is created. You are its manager.", name="Cigale du Vercors") in home.text
    assert say("you are %(role)s", role=say("manager")) in home.text
    assert say("in formation") in home.text
    club = fresh().get(Club, club_id)
    assert (club.name, club.town, club.country, club.currency, club.status) == (
        "Cigale du Vercors", "Villard-de-Lans", "FR", "EUR", "forming")


def test_sending_the_same_club_form_twice_makes_one_club(make_browser, make_user):
    browser = make_browser(make_user())
    sent = {**hidden_fields(browser.get("/clubs/new").text), **CLUB}
    assert sent.get("form_key")

    first = browser.client.post("/clubs/new", data=sent)
    again = browser.client.post("/clubs/new", data=sent)

    assert first.status_code == 302
    assert again.status_code == 409
    assert say("This form has already been sent.") in again.text
    assert fresh().scalar(select(func.count()).select_from(Club).where(Club.name == CLUB["name"])) == 1


# --- Charter ----------------------------------------------------------------------------------------


def test_members_read_the_charter_with_its_defaults(make_club, make_browser):
    setup = make_club(5)
    browser = make_browser(setup.members[3])

    page = browser.get(f"/clubs/{setup.club_id}/charter")

    assert page.status_code == 200
    assert say("Charter of %(name)s", name="Cigale des Tests") in page.text
    assert money(750, "EUR", "fr") in page.text
    assert money(550_000, "EUR", "fr") in page.text
    assert say("%(min)d to %(max)d", min=5, max=20) in page.text
    assert f"/clubs/{setup.club_id}/charter/edit" not in page.text


def test_the_manager_amends_the_charter_of_a_forming_club_with_french_amounts(make_club, make_browser):
    setup = make_club(5, activate=False)
    browser = make_browser(setup.manager)
    url = f"/clubs/{setup.club_id}/charter/edit"
    assert url in browser.get(f"/clubs/{setup.club_id}/charter").text
    shown = form_values(browser.get(url).text)
    assert shown["min_monthly_contribution"] == "7,50"
    assert shown["max_yearly_contribution"] == "5 500,00"

    response = browser.submit(url, {**shown, "min_monthly_contribution": "25,00",
                                    "max_yearly_contribution": "1 200,50", "min_members": "6"})

    assert response.status_code == 302
    assert response.headers["Location"] == f"/clubs/{setup.club_id}/charter"
    page = browser.get(response.headers["Location"]).text
    assert say("The charter is now at version %(v)d.", v=2) in page
    assert money(2500, "EUR", "fr") in page
    assert money(120_050, "EUR", "fr") in page
    versions = fresh().scalars(select(Charter).where(Charter.club_id == setup.club_id)
                               .order_by(Charter.version)).all()
    assert [(c.version, c.min_monthly_contribution, c.max_yearly_contribution, c.min_members)
            for c in versions] == [(1, 750, 550_000, 5), (2, 2500, 120_050, 6)]
    assert f"/clubs/{setup.club_id}/charter?version=1" in page  # the old version is kept and shown


def test_the_manager_lets_the_charter_allow_the_manager_to_record_money(make_club, make_browser):
    setup = make_club(5, activate=False)
    browser = make_browser(setup.manager)
    url = f"/clubs/{setup.club_id}/charter/edit"
    shown = form_values(browser.get(url).text)
    assert "manager_records_money" not in shown  # unticked by default

    response = browser.submit(url, {**shown, "manager_records_money": "y"})

    assert response.status_code == 302
    latest = fresh().scalars(select(Charter).where(Charter.club_id == setup.club_id)
                             .order_by(Charter.version.desc())).first()
    assert latest.manager_records_money is True
    assert say("the treasurer or the manager") in browser.get(f"/clubs/{setup.club_id}/charter").text


def test_sending_the_charter_unchanged_makes_no_version(make_club, make_browser):
    setup = make_club(5, activate=False)
    browser = make_browser(setup.manager)
    url = f"/clubs/{setup.club_id}/charter/edit"
    before = snapshot()

    response = browser.submit(url, form_values(browser.get(url).text))

    assert response.status_code == 409
    assert say("Nothing was changed.") in response.text
    assert snapshot() == before


def test_the_charter_of_an_active_club_changes_only_by_vote(make_club, make_browser):
    setup = make_club(5)
    browser = make_browser(setup.manager)
    url = f"/clubs/{setup.club_id}/charter/edit"
    before = snapshot()

    response = browser.submit(url, {**form_values(browser.get(url).text), "min_monthly_contribution": "25,00"})

    assert response.status_code == 400
    assert say("Once the club is active, the charter changes only by a unanimous vote.") in response.text
    assert snapshot() == before


@pytest.mark.parametrize("page", ["charter/edit", "invitations"])
@pytest.mark.parametrize("who", ["treasurer", "member"])
def test_only_the_manager_may_open_the_manager_pages(make_club, make_browser, page, who):
    setup = make_club(5, activate=False)
    person = setup.treasurer if who == "treasurer" else setup.members[3]
    browser = make_browser(person)

    response = browser.get(f"/clubs/{setup.club_id}/{page}")

    assert response.status_code == 403
    assert say("Only the club's %(roles)s may do this.", roles=say("manager")) in response.text


@pytest.mark.parametrize("page", ["charter/edit", "invitations"])
def test_a_member_cannot_post_to_the_manager_forms(make_club, make_browser, page):
    setup = make_club(5, activate=False)
    browser = make_browser(setup.members[3])
    before = snapshot()

    response = browser.action(f"/clubs/{setup.club_id}/{page}", {"form_key": key(), "min_members": "6"})

    assert response.status_code == 403
    assert snapshot() == before


# --- Invitations, joining, admission ---------------------------------------------------------------


def make_code(browser, club_id: int) -> str:
    response = browser.submit(f"/clubs/{club_id}/invitations")
    assert response.status_code == 302
    page = browser.get(response.headers["Location"]).text
    codes = re.findall(r'<p class="code">([A-Z0-9-]+)</p>', page)
    assert len(codes) == 1, page
    return codes[0]


def invitation_count(club_id: int) -> int:
    return fresh().scalar(select(func.count()).select_from(Invitation).where(Invitation.club_id == club_id))


def test_an_invitation_code_is_shown_once(make_club, make_browser):
    setup = make_club(5, activate=False)
    manager = make_browser(setup.manager)

    code = make_code(manager, setup.club_id)

    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    again = manager.get(f"/clubs/{setup.club_id}/invitations").text
    assert code not in again
    assert "…" + code[-4:] in again  # only its last characters, to tell it apart
    stored = fresh().scalars(select(Invitation).where(Invitation.club_id == setup.club_id,
                                                      Invitation.used_at.is_(None))).all()
    assert len(stored) == 1 and stored[0].code_hint == code[-4:]
    assert code.replace("-", "") not in str(stored[0].code_hash)


def test_sending_the_invitation_form_twice_makes_one_code(make_club, make_browser):
    setup = make_club(5, activate=False)
    manager = make_browser(setup.manager)
    url = f"/clubs/{setup.club_id}/invitations"
    sent = hidden_fields(manager.get(url).text)
    before = invitation_count(setup.club_id)

    assert manager.client.post(url, data=sent).status_code == 302
    again = manager.client.post(url, data=sent)

    assert again.status_code == 409
    assert say("This form has already been sent.") in again.text
    assert invitation_count(setup.club_id) == before + 1


def test_a_person_joins_with_a_code_and_the_manager_admits_them(make_club, make_browser, make_user):
    setup = make_club(4, activate=False)
    manager = make_browser(setup.manager)
    code = make_code(manager, setup.club_id)
    newcomer = make_user(name="Chloé Newcomer")
    browser = make_browser(newcomer)

    invited = browser.get(f"/join?code={code}")
    assert say("This invitation is for %(name)s (%(town)s).", name="Cigale des Tests", town="Die") in invited.text
    response = browser.submit("/join", {"code": code})

    assert response.status_code == 302
    home = browser.get("/").text
    assert say("Your request to join %(name)s is sent. The manager will answer it.", name="Cigale des Tests") in home
    assert say("Your request to join is waiting for the manager.") in home
    assert browser.get(f"/clubs/{setup.club_id}/").status_code == 404  # not a member yet

    members = manager.get(f"/clubs/{setup.club_id}/members").text
    assert "Chloé Newcomer" in members and say("asks to join") in members
    admit = [url for url in actions(members) if url.endswith("/admit")]
    assert len(admit) == 1
    answered = manager.action(admit[0])

    assert answered.status_code == 302
    assert answered.headers["Location"] == f"/clubs/{setup.club_id}/members"
    assert say("%(name)s is now a member.", name="Chloé Newcomer") in manager.get(answered.headers["Location"]).text
    assert browser.get(f"/clubs/{setup.club_id}/").status_code == 200
    assert fresh().scalar(select(Membership.status).where(Membership.club_id == setup.club_id,
                                                          Membership.user_id == newcomer.id)) == "active"


def test_a_code_works_once(make_club, make_browser, make_user):
    setup = make_club(4, activate=False)
    code = make_code(make_browser(setup.manager), setup.club_id)
    assert make_browser(make_user()).submit("/join", {"code": code}).status_code == 302
    late = make_browser(make_user())
    before = snapshot()

    response = late.submit("/join", {"code": code})

    assert response.status_code == 400
    assert 'id="code-error"' in response.text
    assert say("This invitation code is not valid, already used or expired.") in response.text
    assert snapshot() == before


def test_the_manager_declines_a_request(make_club, make_browser, make_user):
    setup = make_club(5, activate=False)
    manager = make_browser(setup.manager)
    code = make_code(manager, setup.club_id)
    stranger = make_user(name="Denis Refusé")
    browser = make_browser(stranger)
    browser.submit("/join", {"code": code})

    members = manager.get(f"/clubs/{setup.club_id}/members").text
    decline = [url for url in actions(members) if url.endswith("/decline")]
    response = manager.action(decline[0])

    assert response.status_code == 302
    assert say("The request of %(name)s is declined.", name="Denis Refusé") in manager.get(
        f"/clubs/{setup.club_id}/members").text
    assert browser.get(f"/clubs/{setup.club_id}/").status_code == 404
    assert "Cigale des Tests" not in browser.get("/").text
    assert fresh().scalar(select(Membership.status).where(Membership.club_id == setup.club_id,
                                                          Membership.user_id == stranger.id)) == "declined"


def test_a_revoked_invitation_no_longer_lets_anyone_join(make_club, make_browser, make_user):
    setup = make_club(5, activate=False)
    manager = make_browser(setup.manager)
    code = make_code(manager, setup.club_id)
    revoke = [url for url in actions(manager.get(f"/clubs/{setup.club_id}/invitations").text)
              if url.endswith("/revoke")]

    response = manager.action(revoke[0])

    assert response.status_code == 302
    assert say("The invitation is revoked.") in manager.get(response.headers["Location"]).text
    assert make_browser(make_user()).submit("/join", {"code": code}).status_code == 400


def test_the_manager_appoints_a_secretary(make_club, make_browser):
    setup = make_club(5, activate=False)
    target = setup.members[3]

    response = make_browser(setup.manager).action(
        f"/clubs/{setup.club_id}/members/{setup.membership_id(target)}/role", {"role": "secretary"})

    assert response.status_code == 302
    assert by_id_fresh(Membership, setup.membership_id(target)).role == "secretary"


# --- Activation -----------------------------------------------------------------------------------


def test_the_manager_activates_a_club_of_five_with_a_treasurer(make_club, make_browser):
    setup = make_club(5, activate=False)
    manager = make_browser(setup.manager)
    url = f"/clubs/{setup.club_id}/activate"
    assert url in actions(manager.get(f"/clubs/{setup.club_id}/").text)

    response = manager.action(url)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/clubs/{setup.club_id}/"
    home = manager.get(response.headers["Location"]).text
    assert "Cigale des Tests" in home and say("active") in home
    assert url not in actions(home)
    club = fresh().get(Club, setup.club_id)
    assert club.status == "active" and club.activated_on is not None and club.term_ends_on is not None
    # The date in the sentence as the reader's language writes it ("3 déc. 2031"), never "2031-12-03".
    assert club.term_ends_on.isoformat() not in home
    assert say("%(name)s is active. Its term ends on %(date)s.", name="Cigale des Tests",
               date=format_date(club.term_ends_on, "medium", locale="fr")) in home


def test_a_club_of_four_is_not_activated_and_the_refusal_names_rule_r1(make_club, make_browser):
    setup = make_club(4, activate=False)
    manager = make_browser(setup.manager)
    url = f"/clubs/{setup.club_id}/activate"
    assert url not in actions(manager.get(f"/clubs/{setup.club_id}/").text)  # no button yet
    before = snapshot()

    response = manager.action(url)

    assert response.status_code == 400
    assert say("Rule %(rule)s of the charter.", rule="R1") in response.text
    assert say("A club needs between %(min)d and %(max)d active members to be active; it has %(count)d.",
               min=5, max=20, count=4) in response.text
    assert snapshot() == before


def test_a_club_without_treasurer_is_not_activated_and_the_refusal_names_rule_r3(make_club, make_browser):
    setup = make_club(5, treasurer=False, activate=False)
    before = snapshot()

    response = make_browser(setup.manager).action(f"/clubs/{setup.club_id}/activate")

    assert response.status_code == 400
    assert say("Rule %(rule)s of the charter.", rule="R3") in response.text
    assert say("The club needs a treasurer.") in response.text
    assert snapshot() == before


def test_only_the_manager_activates(make_club, make_browser):
    setup = make_club(5, activate=False)
    before = snapshot()

    response = make_browser(setup.treasurer).action(f"/clubs/{setup.club_id}/activate")

    assert response.status_code == 403
    assert snapshot() == before


# --- Leaving --------------------------------------------------------------------------------------


def test_a_member_leaves_the_club(make_club, make_browser):
    setup = make_club(6)
    leaver = setup.members[4]
    browser = make_browser(leaver)
    url = f"/clubs/{setup.club_id}/leave"
    assert url in actions(browser.get(f"/clubs/{setup.club_id}/members").text)

    response = browser.action(url)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert say("You have left %(name)s.", name="Cigale des Tests") in browser.get("/").text
    assert browser.get(f"/clubs/{setup.club_id}/").status_code == 404
    assert by_id_fresh(Membership, setup.membership_id(leaver)).status == "left"


def test_counts_in_sentences_agree_with_their_number(make_club, make_browser):
    """"1 membres actifs": a count of one (or none) reads in the singular, as French writes it."""
    setup = make_club(1, activate=False)
    home = make_browser(setup.manager).get(f"/clubs/{setup.club_id}/").text
    assert "1 membre actif " in home and "1 membres" not in home


def test_the_club_home_warns_when_members_leave_below_the_charters_minimum(make_club, make_browser):
    setup = make_club(5)
    home = f"/clubs/{setup.club_id}/"
    warning = ("The club has %(num)d active member; its charter asks for at least %(min)d (R1). Invite new members.",
               "The club has %(num)d active members; its charter asks for at least %(min)d (R1). Invite new members.")
    manager = make_browser(setup.manager)
    assert say_n(*warning, 5, min=5) not in manager.get(home).text

    assert make_browser(setup.members[4]).action(f"/clubs/{setup.club_id}/leave").status_code == 302

    assert say_n(*warning, 4, min=5) in manager.get(home).text


def test_the_treasurer_hands_the_office_over_before_leaving(make_club, make_browser):
    setup = make_club(5)
    before = snapshot()

    response = make_browser(setup.treasurer).action(f"/clubs/{setup.club_id}/leave")

    assert response.status_code == 400
    assert say("Rule %(rule)s of the charter.", rule="R3") in response.text
    assert say("Hand your office over to another member before leaving.") in response.text
    assert snapshot() == before


# --- Scoping: club A's people never reach club B ------------------------------------------------------


@pytest.fixture
def two_clubs(make_club, make_user):
    """Club A (forming) seen by its manager; club B (forming, ready to activate) with a pending
    request and an open invitation."""
    a = make_club(5, activate=False, name="Cigale A")
    b = make_club(5, activate=False, name="Cigale B")
    _, code = clubs.invite(b.manager.id, b.club_id, form_key=key())
    pending = clubs.join(make_user().id, code)
    invitation, _ = clubs.invite(b.manager.id, b.club_id, form_key=key())
    return a, b, pending.id, invitation.id


CLUB_PAGES = ["", "members", "charter", "charter/edit", "invitations", "accounts"]


@pytest.mark.parametrize("page", CLUB_PAGES)
def test_a_manager_of_club_a_gets_404_on_every_page_of_club_b(two_clubs, make_browser, page):
    a, b, _, _ = two_clubs
    browser = make_browser(a.manager)
    assert browser.get(f"/clubs/{a.club_id}/{page}").status_code == 200  # their own club opens

    response = browser.get(f"/clubs/{b.club_id}/{page}")

    assert response.status_code == 404
    assert "Cigale B" not in response.text


@pytest.mark.parametrize("page", CLUB_PAGES)
def test_a_former_member_gets_404_on_every_page(make_club, make_browser, page):
    setup = make_club(6)
    browser = make_browser(setup.members[4])
    assert browser.action(f"/clubs/{setup.club_id}/leave").status_code == 302

    assert browser.get(f"/clubs/{setup.club_id}/{page}").status_code == 404


def b_posts(b, pending_id, invitation_id):
    member = b.membership_id(b.members[3])
    return [
        (f"/clubs/{b.club_id}/members/{pending_id}/admit", {}),
        (f"/clubs/{b.club_id}/members/{pending_id}/decline", {}),
        (f"/clubs/{b.club_id}/members/{member}/role", {"role": "secretary"}),
        (f"/clubs/{b.club_id}/invitations/{invitation_id}/revoke", {}),
        (f"/clubs/{b.club_id}/invitations", {"form_key": key()}),
        (f"/clubs/{b.club_id}/activate", {}),
        (f"/clubs/{b.club_id}/leave", {}),
    ]


@pytest.mark.parametrize("action", ["admit", "decline", "role", "revoke", "invite", "activate", "leave"])
def test_a_manager_of_club_a_gets_404_on_every_action_in_club_b(two_clubs, make_browser, action):
    a, b, pending_id, invitation_id = two_clubs
    index = ["admit", "decline", "role", "revoke", "invite", "activate", "leave"].index(action)
    url, data = b_posts(b, pending_id, invitation_id)[index]
    browser = make_browser(a.manager)
    before = snapshot()

    response = browser.action(url, data)

    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("action", ["admit", "decline", "role", "revoke"])
def test_club_b_ids_under_club_a_addresses_are_404(two_clubs, make_browser, action):
    a, b, pending_id, invitation_id = two_clubs
    url = {
        "admit": f"/clubs/{a.club_id}/members/{pending_id}/admit",
        "decline": f"/clubs/{a.club_id}/members/{pending_id}/decline",
        "role": f"/clubs/{a.club_id}/members/{b.membership_id(b.members[3])}/role",
        "revoke": f"/clubs/{a.club_id}/invitations/{invitation_id}/revoke",
    }[action]
    browser = make_browser(a.manager)
    before = snapshot()

    response = browser.action(url, {"role": "secretary"} if action == "role" else {})

    assert response.status_code == 404
    assert snapshot() == before


def test_the_charter_form_of_club_b_is_404_for_club_a(two_clubs, make_browser):
    a, b, _, _ = two_clubs
    browser = make_browser(a.manager)
    shown = form_values(browser.get(f"/clubs/{a.club_id}/charter/edit").text)
    before = snapshot()

    response = browser.action(f"/clubs/{b.club_id}/charter/edit", {**shown, "min_members": "6"})

    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(
    "url",
    [
        "/clubs/99999999999999999999/",
        "/clubs/99999999999999999999/members",
        "/clubs/2147483648/",
        "/clubs/9999999999/charter",
        "/clubs/2147483647/",
        "/clubs/0/",
        "/clubs/-1/",
        "/clubs/01/",
        "/clubs/1e3/",
        "/clubs/abc/",
    ],
)
def test_impossible_club_ids_are_404_never_500(make_user, make_browser, url):
    response = make_browser(make_user()).get(url)

    assert response.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "members/99999999999999999999/admit",
        "members/2147483648/decline",
        "members/9999999999/role",
        "invitations/99999999999999999999/revoke",
        "members/0/admit",
    ],
)
def test_impossible_ids_in_actions_are_404_never_500(make_club, make_browser, path):
    setup = make_club(1, activate=False)  # a club of its manager alone
    browser = make_browser(setup.manager)
    before = snapshot()

    response = browser.action(f"/clubs/{setup.club_id}/{path}", {"role": "secretary"})

    assert response.status_code == 404
    assert snapshot() == before


# --- Anonymous visitors ---------------------------------------------------------------------------


@pytest.mark.parametrize("page", CLUB_PAGES)
def test_anonymous_visitors_are_sent_to_login_from_club_pages(make_club, browser, page):
    setup = make_club(1, activate=False)

    response = browser.get(f"/clubs/{setup.club_id}/{page}")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login?next=")


@pytest.mark.parametrize("url", ["/clubs/new", "/join", "/join?code=ABCD-EFGH-JKLM"])
def test_anonymous_visitors_are_sent_to_login_before_creating_or_joining(browser, url):
    response = browser.get(url)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login?next=")


def test_anonymous_actions_change_nothing(make_club, browser):
    setup = make_club(1, activate=False)
    member = setup.membership_id(setup.manager)
    before = snapshot()

    for url in (f"/clubs/{setup.club_id}/activate", f"/clubs/{setup.club_id}/leave",
                f"/clubs/{setup.club_id}/members/{member}/role", "/clubs/new"):
        response = browser.action(url, {"role": "secretary", **CLUB, "form_key": key()})
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/account/login"), url

    assert snapshot() == before
