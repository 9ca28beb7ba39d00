"""Five people start a club in their browsers, one pledges, the treasurer records the money, everyone sees it."""
import re

import pytest

from tests.e2e.conftest import register

pytestmark = pytest.mark.e2e


def test_a_club_starts_and_the_first_contribution_reaches_the_fund(live_server, new_page):
    base = live_server
    founder = new_page()
    register(founder, base, "Nadia Fondatrice", "nadia.journey@example.org")
    founder.get_by_role("link", name="Créer un club").click()
    founder.get_by_label("Nom du club").fill("Cigale du Diois")
    founder.get_by_label("Ville").fill("Die")
    founder.get_by_role("button", name="Créer le club").click()
    club_url = founder.url.rstrip("/")
    assert re.search(r"/clubs/\d+$", club_url)

    friends = []
    for n, name in enumerate(["Paul Trésorier", "Inès Membre", "Yves Membre", "Rose Membre"]):
        founder.goto(club_url + "/invitations")
        founder.get_by_role("button", name="Créer un code d’invitation").click()
        code = founder.locator(".code").inner_text().strip()
        page = new_page()
        register(page, base, name, f"friend{n}.journey@example.org")
        page.goto(base + "/join?code=" + code)
        page.get_by_role("button", name="Demander à adhérer").click()
        friends.append(page)

    founder.goto(club_url + "/members")
    for name in ["Paul Trésorier", "Inès Membre", "Yves Membre", "Rose Membre"]:
        founder.get_by_role("row", name=re.compile(name)).get_by_role("button", name="Admettre").click()
    paul_row = founder.get_by_role("row", name=re.compile("Paul Trésorier"))
    paul_row.get_by_role("combobox").select_option("treasurer")
    paul_row.get_by_role("button", name="Modifier le rôle").click()
    founder.goto(club_url + "/")
    founder.get_by_role("button", name="Activer le club").click()
    assert founder.get_by_text("est actif").first.is_visible()

    ines = friends[1]
    ines.goto(club_url + "/savings")
    ines.get_by_label("Montant par mois").fill("25,00")
    ines.get_by_role("button", name="Enregistrer mon engagement").click()
    assert ines.get_by_text("Votre engagement est enregistré").is_visible()

    paul = friends[0]
    paul.goto(club_url + "/contributions/new")
    paul.get_by_label("Membre", exact=True).select_option(label="Inès Membre")
    paul.get_by_label("Montant reçu").fill("25,00")
    paul.get_by_label("Référence bancaire").fill("VIR-INES-01")
    paul.get_by_role("button", name="Enregistrer", exact=True).click()
    assert paul.get_by_text("Versement enregistré.").is_visible()
    assert paul.get_by_role("cell", name="VIR-INES-01").is_visible()

    ines.goto(club_url + "/savings")
    capital = ines.locator("dt", has_text="Mon capital").locator("xpath=following-sibling::dd[1]")
    assert capital.inner_text().replace("\u202f", " ").replace("\u00a0", " ") == "25,00 €"
    ines.goto(club_url + "/fund")
    assert ines.get_by_text("100 %").first.is_visible()
    assert ines.locator("svg[role=img]").is_visible()
