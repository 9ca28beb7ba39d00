"""Time credits in the browser (R12): an offer published, found without its accent, answered, recorded by the
provider and confirmed by the receiver, the balances and the statement CSV; and an exchange refused at the floor.

Each member has their own browser context; the club (five people, as R1 asks to activate it) is made through
the services against the live server's database."""
import csv
import io
import uuid
from datetime import date

import pytest

from tests.e2e.conftest import PASSWORD, log_in

pytestmark = pytest.mark.e2e

NAMES = ["Odile Gérante", "Marc Trésorier", "Anne Roux", "Bruno Martin", "Carla Membre"]
TITLE = "Réparation de vélos"


@pytest.fixture
def time_club(live_app):
    """An active club of five; returns (club id, {first name: email}, {first name: (user id, membership id)})."""
    from coop.extensions import db
    from coop.services import access, auth, clubs

    tag = uuid.uuid4().hex[:6]
    with live_app.app_context():
        users = [auth.register(name, f"{name.split()[0].lower()}.{tag}@example.org", PASSWORD, "fr")
                 for name in NAMES]
        club = clubs.create_club(users[0].id, name=f"Cigale du Temps {tag}", town="Die", country="FR",
                                      currency="EUR", form_key=uuid.uuid4().hex)
        ids = {users[0].id: access.membership_for(users[0].id, club.id).id}
        for user in users[1:]:
            _, code = clubs.invite(users[0].id, club.id, form_key=uuid.uuid4().hex)
            ids[user.id] = clubs.admit(users[0].id, club.id, clubs.join(user.id, code).id).id
        clubs.appoint(users[0].id, club.id, ids[users[1].id], "treasurer")
        clubs.activate(users[0].id, club.id)
        emails = {u.name.split()[0]: u.email for u in users}
        people = {u.name.split()[0]: (u.id, ids[u.id]) for u in users}
        club_id = club.id
        db.session.remove()
        db.engine.dispose()
    return club_id, emails, people




def my_balance(page) -> str:
    """The "Solde" of the "Mon temps" panel on the time page."""
    return page.locator("xpath=//section[@aria-labelledby='mine-title']"
                        "//dt[normalize-space()='Solde']/following-sibling::dd[1]").inner_text().strip().replace("\xa0", " ")


def section(page, heading: str):
    return page.locator("section").filter(has=page.get_by_role("heading", name=heading, exact=True))


def test_an_offer_is_found_answered_recorded_and_confirmed(live_server, new_page, time_club):
    base = live_server
    club_id, emails, _people = time_club
    club_url = f"{base}/clubs/{club_id}"
    anne, bruno = new_page(), new_page()
    log_in(anne, base, emails["Anne"])
    log_in(bruno, base, emails["Bruno"])

    # Anne offers a service from the time credits pages.
    anne.goto(club_url)
    anne.get_by_role("link", name="Crédits de temps").first.click()
    anne.get_by_role("link", name="Proposer ou demander un service").click()
    anne.get_by_label("propose un service").check()
    anne.get_by_label("Titre").fill(TITLE)
    anne.get_by_label("Catégorie").select_option(label="Bricolage et réparations")
    anne.get_by_label("Description", exact=True).fill("Freins, dérailleur, crevaisons ; j’apporte mes outils.")
    anne.get_by_label("Disponibilités").fill("le samedi matin")
    anne.get_by_role("button", name="Publier").click()
    assert anne.get_by_text("Votre offre est publiée.").is_visible()
    assert anne.get_by_role("heading", name=TITLE).is_visible()
    assert "Bricolage et réparations" in anne.locator("p.lead").inner_text()

    # Bruno searches without the accent, finds it, answers.
    bruno.goto(club_url + "/time")
    bruno.get_by_role("link", name="Offres et demandes").first.click()
    bruno.get_by_label("Mots").fill("velo")
    bruno.get_by_role("button", name="Rechercher").click()
    assert bruno.get_by_text("1 résultat, les plus récents d’abord.").is_visible()
    card = bruno.locator("li.card")
    assert card.count() == 1
    assert "Anne Roux" in card.inner_text()
    card.get_by_role("link", name=TITLE).click()
    bruno.get_by_role("button", name="Répondre").click()
    assert bruno.locator("p.lead").inner_text() == "convenu, pas encore fait"

    # Anne opens the arranged exchange from "Mes échanges" and records it: 2 h 30 today.
    anne.goto(club_url + "/time")
    mine = section(anne, "Mes échanges")
    assert "convenu, pas encore fait" in mine.inner_text()
    mine.get_by_role("link", name=TITLE).click()
    assert anne.get_by_label("Date du service").input_value() == date.today().isoformat()
    anne.get_by_label("Heures").fill("2")
    anne.get_by_label("Minutes").fill("30")
    anne.get_by_label("Date du service").fill(date.today().isoformat())
    anne.get_by_label("Ce qui a été fait").fill("Freins réglés et chaîne changée")
    anne.get_by_role("button", name="L’enregistrer").click()
    assert anne.get_by_text("L’échange de 2 h 30 est enregistré. Bruno Martin le confirmera.").is_visible()
    assert anne.locator("p.lead").inner_text() == "en attente de confirmation"
    anne.goto(club_url + "/time")
    assert my_balance(anne) == "0 h"  # nothing counts before Bruno confirms

    # Bruno sees it waiting on his club home and confirms it from his time page.
    bruno.goto(club_url)
    assert bruno.get_by_role("heading", name="1 échange à confirmer").is_visible()
    assert bruno.get_by_role("link", name="Anne Roux vous a donné 2 h 30 : Freins réglés et chaîne changée").is_visible()
    bruno.goto(club_url + "/time")
    waiting = section(bruno, "À confirmer")
    assert "Anne Roux indique vous avoir donné 2 h 30 le " in waiting.inner_text().replace("\xa0", " ")
    assert ": Freins réglés et chaîne changée" in waiting.inner_text()
    waiting.get_by_role("button", name="Confirmer", exact=True).click()
    assert bruno.get_by_text("Merci : 2 h 30 vont à Anne Roux.").is_visible()
    assert bruno.locator("p.lead").inner_text() == "confirmé"

    # Balances: provider +2 h 30, receiver −2 h 30 (U+2212 minus, as the app writes it).
    bruno.goto(club_url + "/time")
    assert my_balance(bruno) == "−2 h 30"
    assert section(bruno, "À confirmer").count() == 0
    anne.reload()
    assert my_balance(anne) == "2 h 30"

    # Bruno's statement as CSV: header, then one line per posting; the last carries the running balance.
    bruno.get_by_role("link", name="Mon relevé de temps").click()
    with bruno.expect_download() as info:
        bruno.get_by_role("link", name="Télécharger en CSV").click()
    text = info.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][6] == "Solde en minutes"
    assert len(rows) == 2
    last = rows[-1]
    assert last[0] == date.today().isoformat()
    assert last[3] == "Freins réglés et chaîne changée"
    assert last[4] == "Anne Roux"
    assert last[5:] == ["-150", "-150", "−2 h 30", "−2 h 30"]


def test_receiving_past_the_floor_is_refused_in_the_form(live_server, live_app, new_page, time_club):
    from coop.extensions import db
    from coop.models import Exchange
    from coop.services import timebank

    base = live_server
    club_id, emails, people = time_club
    club_url = f"{base}/clubs/{club_id}"
    bruno_user, _ = people["Bruno"]
    with live_app.app_context():
        # Bruno received 5 h from Carla and 4 h from Anne, recorded by himself so they count at once: −9 h.
        for name, minutes in (("Carla", 300), ("Anne", 240)):
            timebank.record_exchange(bruno_user, club_id, other_id=people[name][1], direction="received",
                                     minutes=minutes, done_on=date.today(), description=f"Aide de {name}",
                                     form_key=uuid.uuid4().hex)
        assert timebank.limits_of(bruno_user, club_id).balance == -540
        db.session.remove()
        db.engine.dispose()

    bruno = new_page()
    log_in(bruno, base, emails["Bruno"])
    bruno.goto(club_url + "/time")
    assert my_balance(bruno) == "−9 h"
    # Floor −10 h: 1 h of room left, and −9 h is past 80 % of the floor, so the page warns him.
    assert bruno.get_by_text("Le solde approche du plancher : au plus 1 h peuvent encore être reçues.").is_visible()

    bruno.get_by_role("link", name="Enregistrer un échange").click()
    form_url = bruno.url
    bruno.get_by_label("ai reçu ce service").check()
    bruno.get_by_label("L’autre membre").select_option(label="Anne Roux")
    bruno.get_by_label("Heures").fill("2")
    bruno.get_by_label("Minutes").fill("0")
    bruno.get_by_label("Ce qui a été fait").fill("Taille de la haie")
    with bruno.expect_response(form_url) as answer:
        bruno.locator("form.stacked").get_by_role("button", name="Enregistrer", exact=True).click()
    assert answer.value.status == 400  # LimitExceeded is a RuleViolation: 400, the form comes back
    assert bruno.url == form_url
    # −9 h − 2 h = −11 h, below −10 h: at most 1 h more can be received.
    error = bruno.locator("#hours-error").inner_text().replace("\xa0", " ")  # durations never break
    assert "plancher" in error
    assert error == ("Le solde de temps de Bruno Martin est de −9 h et son plancher de −10 h : recevoir 2 h "
                     "le ferait passer dessous (au plus 1 h de plus).")
    assert "Règle R12 de la charte." in bruno.locator(".form-errors").inner_text()
    # What he typed is still there to correct.
    assert bruno.get_by_label("Ce qui a été fait").input_value() == "Taille de la haie"

    bruno.goto(club_url + "/time")
    assert my_balance(bruno) == "−9 h"
    assert "Taille de la haie" not in section(bruno, "Mes échanges").inner_text()
    with live_app.app_context():
        assert db.session.query(Exchange).filter_by(club_id=club_id).count() == 2
        assert timebank.limits_of(bruno_user, club_id).balance == -540
        db.session.remove()
        db.engine.dispose()
