"""A project goes to the vote: proposed and presented by a member, put to the vote by the manager, voted on
by every member in their own browser (one by proxy), closed early, and the decision reads in words."""
import re
import uuid
from datetime import date

import pytest

from tests.e2e.conftest import PASSWORD, log_in

pytestmark = pytest.mark.e2e

NAMES = ["Odile Gérante", "Marc Trésorier", "Lina Membre", "Hugo Membre", "Zoé Membre"]


@pytest.fixture
def active_club(live_app):
    """Five people in an active club, made through the services; returns (club id, their emails)."""
    from coop.extensions import db
    from coop.services import access, auth, clubs, fund

    tag = uuid.uuid4().hex[:6]
    with live_app.app_context():
        users = [auth.register(name, f"{name.split()[0].lower()}.{tag}@example.org", PASSWORD, "fr")
                 for name in NAMES]
        club = clubs.create_club(users[0].id, name=f"Cigale des Urnes {tag}", town="Crest", country="FR",
                                      currency="EUR", form_key=uuid.uuid4().hex)
        ids = {}
        for user in users[1:]:
            _, code = clubs.invite(users[0].id, club.id, form_key=uuid.uuid4().hex)
            ids[user.id] = clubs.admit(users[0].id, club.id, clubs.join(user.id, code).id).id
        clubs.appoint(users[0].id, club.id, ids[users[1].id], "treasurer")
        clubs.activate(users[0].id, club.id)
        for user in users:  # savings enough for R10: 12,500 in the fund, a project may take 25 % of it
            fund.record_contribution(users[1].id, club.id, membership_id=access.membership_for(user.id, club.id).id,
                                     amount=250_000, received_on=date.today(), method="transfer",
                                     idempotency_key=uuid.uuid4().hex)
        emails = [u.email for u in users]
        club_id = club.id
        db.session.remove()
        db.engine.dispose()
    return club_id, emails




def test_members_approve_a_project_by_vote(live_server, new_page, active_club):
    base = live_server
    club_id, emails = active_club
    club_url = f"{base}/clubs/{club_id}"
    pages = []
    for email in emails:
        page = new_page()
        log_in(page, base, email)
        pages.append(page)
    manager, _treasurer, lina, hugo, zoe = pages

    lina.goto(club_url + "/projects")
    lina.get_by_role("link", name="Proposer un projet").click()
    lina.get_by_label("Nom de l’entreprise").fill("Fournil du Plateau")
    lina.get_by_label("Ce qu’elle fait et à quoi servira l’argent").fill("Boulangerie bio au levain.")
    lina.get_by_label("Ville").fill("Crest")
    lina.get_by_label("Forme juridique").select_option("scop")
    lina.get_by_label("Comment le club investirait").select_option("loan")
    lina.get_by_label("Montant demandé").fill("3 000,00")
    lina.get_by_label("Porteur·euse du projet").fill("Nadia Perrin")
    lina.get_by_label("Coordonnées du porteur ou de la porteuse (courriel ou téléphone)").fill("nadia@example.org")
    lina.get_by_role("button", name="Enregistrer comme brouillon").click()
    lina.get_by_role("button", name="Le présenter au club").click()
    project_url = lina.url

    manager.goto(project_url)
    manager.get_by_role("link", name="Le soumettre au vote").click()
    manager.get_by_role("button", name="Ouvrir le scrutin").click()
    assert re.search(r"/ballots/\d+$", manager.url)
    ballot_url = manager.url

    zoe.goto(base + "/")
    assert zoe.get_by_text("vous n’avez pas encore voté").is_visible()
    zoe.goto(ballot_url)
    zoe.get_by_text("Vous ne pouvez pas voter ? Donnez votre procuration").click()
    zoe.get_by_label("Donner ma procuration à").select_option(label="Hugo Membre")
    zoe.get_by_role("button", name="Donner ma procuration").click()

    for page, choice in ((manager, "Oui"), (pages[1], "Oui"), (lina, "Non"), (hugo, "Oui")):
        page.goto(ballot_url)
        page.locator("form.vote").first.get_by_label(choice, exact=True).check()
        page.locator("form.vote").first.get_by_role("button", name="Enregistrer ce vote").click()
        assert page.get_by_text("Votre vote est enregistré.").first.is_visible()
    hugo.locator("form.vote").nth(1).get_by_label("Abstention", exact=True).check()
    hugo.locator("form.vote").nth(1).get_by_role("button", name="Enregistrer ce vote").click()

    manager.goto(ballot_url)
    manager.get_by_role("button", name=re.compile("clore maintenant")).click()
    result = manager.locator("section.highlight").inner_text().replace("\xa0", " ")  # figures never break
    assert "Quorum atteint : 5 membres sur 5" in result
    assert "3 oui sur 4 voix exprimées = 75 %" in result
    assert "Adopté." in result
    lina.goto(project_url)
    assert lina.get_by_text("approuvé").first.is_visible()
