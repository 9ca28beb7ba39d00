"""A founder's first steps in a real browser: register, create a club, invite; a friend joins."""
import re

import pytest

from tests.e2e.conftest import register

pytestmark = pytest.mark.e2e


def test_founder_creates_a_club_and_a_friend_joins(live_server, new_page):
    founder = new_page()
    register(founder, live_server, "Camille Founder", "camille.e2e@example.org")
    founder.get_by_role("link", name="Créer un club").click()
    founder.get_by_label("Nom du club").fill("Cigale du Trièves")
    founder.get_by_label("Ville").fill("Mens")
    founder.get_by_role("button", name="Créer le club").click()
    assert founder.get_by_role("heading", name="Cigale du Trièves").is_visible()

    founder.get_by_role("link", name="Inviter des membres").first.click()
    founder.get_by_role("button", name="Créer un code d’invitation").click()
    code = founder.locator(".code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code)

    friend = new_page(locale="en-GB", width=375, height=800)
    register(friend, live_server, "Sam Friend", "sam.e2e@example.org", "another strong one", language="en")
    friend.goto(live_server + "/join?code=" + code)
    assert friend.get_by_text("Cigale du Trièves").first.is_visible()
    friend.get_by_role("button", name="Ask to join").click()
    assert friend.get_by_text("The manager will answer it").is_visible()

    founder.goto(live_server + "/")
    founder.get_by_role("link", name="Cigale du Trièves").click()
    founder.get_by_role("link", name="Membres").first.click()
    row = founder.get_by_role("row", name=re.compile("Sam Friend"))
    row.get_by_role("button", name="Admettre").click()
    assert founder.get_by_text("Sam Friend est maintenant membre").is_visible()
