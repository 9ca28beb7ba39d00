"""Two clubs trade time in the browser: each manager puts the partnership to the vote from the partner clubs'
page (the members' votes are cast through the services, as the ballot journey covers voting), then Anne of the
Diois records an hour and a half received from Bruno of the Vercors, Bruno confirms it in his club, and both
clubs show their balance with the other; then the Vercors suspends the partnership and Anne can record nothing.

The clubs (five people each, as R1 asks to activate a club) are made through the services against the live
server's database."""
import uuid
from datetime import date, timedelta

import pytest

from tests.e2e.conftest import PASSWORD, log_in

pytestmark = pytest.mark.e2e


def _club(name: str, people: list[str], tag: str) -> tuple[int, dict, dict]:
    from coop.services import access, auth, clubs

    users = [auth.register(p, f"{p.split()[0].lower()}.{tag}@example.org", PASSWORD, "fr") for p in people]
    club = clubs.create_club(users[0].id, name=f"{name} {tag}", town="Die", country="FR", currency="EUR",
                             form_key=uuid.uuid4().hex)
    ids = {users[0].id: access.membership_for(users[0].id, club.id).id}
    for user in users[1:]:
        _, code = clubs.invite(users[0].id, club.id, form_key=uuid.uuid4().hex)
        ids[user.id] = clubs.admit(users[0].id, club.id, clubs.join(user.id, code).id).id
    clubs.appoint(users[0].id, club.id, ids[users[1].id], "treasurer")
    clubs.activate(users[0].id, club.id)
    return club.id, {u.name.split()[0]: u.email for u in users}, {u.name.split()[0]: u.id for u in users}


@pytest.fixture
def two_clubs(live_app):
    from coop.extensions import db

    tag = uuid.uuid4().hex[:6]
    with live_app.app_context():
        diois = _club("Cigale du Diois", ["Odile Gérante", "Marc Trésorier", "Anne Roux", "Paul Blanc", "Lise Vert"], tag)
        vercors = _club("Cigale du Vercors", ["Hugo Gérant", "Inès Trésorière", "Bruno Martin", "Jade Noir",
                                              "Kim Gris"], tag)
        db.session.remove()
        db.engine.dispose()
    return diois, vercors


def _everyone_votes_yes(live_app, club_id: int, user_ids) -> None:
    from coop.extensions import db
    from coop.models import Ballot
    from coop.services import ballots, tally

    with live_app.app_context():
        ballot = db.session.query(Ballot).filter_by(club_id=club_id, kind="partnership", status="open").one()
        option = ballot.options[0].id
        ballot_id = ballot.id
        db.session.rollback()
        for user_id in user_ids:
            ballots.vote(user_id, club_id, ballot_id, choices={option: tally.YES})
        ballots.close_early(min(user_ids), club_id, ballot_id)
        db.session.remove()


def _put_to_vote(page, url: str) -> None:
    page.goto(url)
    closes = (date.today() + timedelta(days=7)).isoformat() + "T18:00"
    page.get_by_label("Clôture du vote").fill(closes)
    page.get_by_role("button", name="Soumettre au vote").click()
    assert page.get_by_text("Les membres sont appelés à voter.").is_visible()


def test_two_clubs_agree_and_trade_time(live_server, live_app, new_page, two_clubs):
    base = live_server
    (diois, diois_mail, diois_ids), (vercors, vercors_mail, vercors_ids) = two_clubs
    odile, hugo = new_page(), new_page()
    log_in(odile, base, diois_mail["Odile"])
    log_in(hugo, base, vercors_mail["Hugo"])

    # Hugo gives Odile the Vercors' number; Odile proposes 20 hours and puts it to the vote.
    hugo.goto(f"{base}/clubs/{vercors}/partners")
    assert hugo.get_by_text(f"Le numéro de ce club, à donner au gérant d’un autre club : {vercors}").is_visible()
    odile.goto(f"{base}/clubs/{diois}/time")
    odile.get_by_role("link", name="Clubs partenaires").click()
    odile.get_by_label("Numéro de l’autre club").fill(str(vercors))
    odile.get_by_label("Nombre d’heures qu’un club peut devoir à l’autre, au plus").fill("20")
    odile.get_by_role("button", name="Proposer", exact=True).click()
    assert odile.get_by_text("soumettez-le maintenant au vote de vos membres").is_visible()
    _put_to_vote(odile, f"{base}/clubs/{diois}/partners")
    _everyone_votes_yes(live_app, diois, list(diois_ids.values()))

    # The Vercors sees the offer and votes in turn.
    hugo.goto(f"{base}/clubs/{vercors}/partners")
    assert "accepté par eux, en attente de notre vote" in hugo.locator("table").inner_text()
    _put_to_vote(hugo, f"{base}/clubs/{vercors}/partners")
    _everyone_votes_yes(live_app, vercors, list(vercors_ids.values()))
    hugo.reload()
    assert "actif" in hugo.locator("table").inner_text()

    # Anne records 1 h 30 received from Bruno, on a phone.
    anne, bruno = new_page(width=375, height=800), new_page(width=375, height=800)
    log_in(anne, base, diois_mail["Anne"])
    log_in(bruno, base, vercors_mail["Bruno"])
    anne.goto(f"{base}/clubs/{diois}/partners")
    anne.get_by_role("link", name="Cigale du Vercors").first.click()
    anne.get_by_label("reçu ce service").check()
    anne.get_by_label("Le membre de l’autre club").select_option(label="Bruno Martin")
    anne.get_by_label("Heures").fill("1")
    anne.get_by_label("Minutes").fill("30")
    anne.get_by_label("Ce qui a été fait").fill("Cours de guitare")
    anne.get_by_role("button", name="Enregistrer", exact=True).click()
    assert anne.get_by_text("Bruno Martin le confirmera dans son club.").is_visible()
    assert "en attente de confirmation" in anne.locator("main").inner_text()

    # Bruno confirms in his own club.
    bruno.goto(f"{base}/clubs/{vercors}/partners")
    waiting = bruno.locator("section").filter(has=bruno.get_by_role("heading", name="À confirmer"))
    assert "Anne Roux" in waiting.inner_text() and "Cours de guitare" in waiting.inner_text()
    waiting.get_by_role("link", name="Confirmer ou refuser").click()
    bruno.get_by_role("button", name="Confirmer", exact=True).click()
    assert bruno.get_by_text("Merci : 1 h 30 sont comptées dans les deux clubs.").is_visible()
    assert "compté dans les deux clubs" in bruno.locator("main").inner_text()

    # Each club's balance with the other: the Diois owes 1 h 30, the Vercors is owed 1 h 30.
    odile.goto(f"{base}/clubs/{diois}/partners")
    assert "−1 h 30" in odile.locator("table").inner_text().replace("\xa0", " ")
    hugo.goto(f"{base}/clubs/{vercors}/partners")
    assert "1 h 30" in hugo.locator("table").inner_text().replace("\xa0", " ")
    anne.goto(f"{base}/clubs/{diois}/time")
    balance = anne.locator("xpath=//section[@aria-labelledby='mine-title']"
                           "//dt[normalize-space()='Solde']/following-sibling::dd[1]").inner_text()
    assert balance.replace("\xa0", " ").strip() == "−1 h 30"

    # Hugo suspends: Anne's page no longer offers to record anything.
    hugo.get_by_role("button", name="Suspendre").click()
    assert hugo.get_by_text("sont suspendus").is_visible()
    anne.goto(f"{base}/clubs/{diois}/partners")
    assert "suspendu par Cigale du Vercors" in anne.locator("table").inner_text()
