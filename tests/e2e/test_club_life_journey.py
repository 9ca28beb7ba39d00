"""A club's life, every step in the browser and each person in their own browser context:

six people register; the founder creates the club, makes one invitation code per friend, admits the five who
ask to join, appoints the treasurer and activates the club; everyone pledges; the treasurer records 500 € from
each (3 000 € in the fund); a member proposes and presents a 600 € project (R10: at most 25 % of the fund,
750 €); the manager puts it to a yes/no vote, every member votes in their own browser, the manager closes it
early and it reads "Adopté"; the manager records the investment with a mentor and enters its payment, the
treasurer approves it (two officers, R11) and the portfolio shows it paid out; a member offers a service in
"Crédits de temps", another answers, 1 h 30 is recorded and confirmed (±1 h 30); finally the treasurer
downloads the journal as CSV and finds the contributions, the payment and the exchange in it."""
import csv
import io
import re
import uuid
from datetime import date

import pytest

from tests.e2e.conftest import register

pytestmark = pytest.mark.e2e

FOUNDER = "Claire Fondatrice"
TREASURER = "Bastien Trésorier"
PROPOSER = "Inès Porteuse"
MEMBERS = [TREASURER, PROPOSER, "Léo Membre", "Maya Membre", "Rémi Membre"]
EVERYONE = [FOUNDER, *MEMBERS]
ENTERPRISE = "Fournil du Vercors"
OFFER = "Cours de guitare"


def plain(text: str) -> str:
    """Page text with the narrow and ordinary no-break spaces of French numbers made plain."""
    return " ".join(text.replace("\u202f", " ").replace("\u00a0", " ").split())


def fact(page, term: str) -> str:
    """The <dd> after the <dt> `term` in the page's facts."""
    return plain(page.locator("dt", has_text=term).first.locator("xpath=following-sibling::dd[1]").inner_text())


def my_time_balance(page) -> str:
    return page.locator("xpath=//section[@aria-labelledby='mine-title']"
                        "//dt[normalize-space()='Solde']/following-sibling::dd[1]").inner_text().strip().replace("\xa0", " ")


def test_a_club_lives_from_registration_to_the_books(live_server, new_page):
    from playwright.sync_api import expect  # here: without Playwright the `chromium` fixture skips (fails under CI)

    base = live_server
    tag = uuid.uuid4().hex[:6]
    club_name = f"Cigale du Vercors {tag}"
    pages = {}

    # --- Six people register; the founder creates the club. ------------------------------------------------
    founder = pages[FOUNDER] = new_page()
    register(founder, base, FOUNDER, f"claire.{tag}@example.org")
    founder.get_by_role("link", name="Créer un club").click()
    founder.get_by_label("Nom du club").fill(club_name)
    founder.get_by_label("Ville").fill("Villard-de-Lans")
    founder.get_by_role("button", name="Créer le club").click()
    expect(founder.get_by_role("heading", name=club_name)).to_be_visible()
    club_url = founder.url.rstrip("/")
    assert re.search(r"/clubs/\d+$", club_url)

    # --- One invitation code per friend; each registers and asks to join with it. ------------------------------
    codes = set()
    for name in MEMBERS:
        founder.goto(club_url + "/invitations")
        founder.get_by_role("button", name="Créer un code d’invitation").click()
        code = founder.locator(".code").inner_text().strip()
        assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code)
        codes.add(code)
        page = pages[name] = new_page()
        register(page, base, name, f"{name.split()[0].lower()}.{tag}@example.org")
        page.goto(base + "/join?code=" + code)
        expect(page.get_by_text(club_name).first).to_be_visible()
        page.get_by_role("button", name="Demander à adhérer").click()
    assert len(codes) == 5  # a fresh code each time

    treasurer, proposer = pages[TREASURER], pages[PROPOSER]
    leo, maya, remi = pages["Léo Membre"], pages["Maya Membre"], pages["Rémi Membre"]

    # --- The founder admits the five, appoints the treasurer and activates the club. ----------------------------
    founder.goto(club_url)
    founder.get_by_role("link", name="Membres").first.click()
    for name in MEMBERS:
        founder.get_by_role("row", name=re.compile(name)).get_by_role("button", name="Admettre").click()
        expect(founder.get_by_text(f"{name} est maintenant membre")).to_be_visible()
    founder.get_by_label(f"Rôle de {TREASURER}").select_option("treasurer")
    founder.get_by_role("row", name=re.compile(TREASURER)).get_by_role("button", name="Modifier le rôle").click()
    assert "trésorier" in founder.get_by_role("row", name=re.compile(TREASURER)).inner_text().lower()
    founder.goto(club_url)
    founder.get_by_role("button", name="Activer le club").click()
    expect(founder.get_by_text("est actif").first).to_be_visible()

    # --- Every member pledges 50 € a month. ---------------------------------------------------------------------
    for name in EVERYONE:
        page = pages[name]
        page.goto(club_url)
        page.get_by_role("link", name="Mon épargne").first.click()
        page.get_by_label("Montant par mois").fill("50,00")
        page.get_by_role("button", name="Enregistrer mon engagement").click()
        expect(page.get_by_text("Votre engagement est enregistré")).to_be_visible()

    # --- The treasurer records 500 € from each of the six: 3 000 € in the fund. --------------------------------
    for name in EVERYONE:
        treasurer.goto(club_url + "/contributions/new")
        treasurer.get_by_label("Membre", exact=True).select_option(label=name)
        treasurer.get_by_label("Montant reçu").fill("500,00")
        treasurer.get_by_label("Référence bancaire").fill(f"VIR-{name.split()[0].upper()}")
        treasurer.get_by_role("button", name="Enregistrer", exact=True).click()
        expect(treasurer.get_by_text("Versement enregistré.")).to_be_visible()
    maya.goto(club_url + "/savings")
    assert fact(maya, "Mon capital") == "500,00 €"
    assert fact(maya, "Le capital du club") == "3 000,00 €"

    # --- Inès proposes a 600 € project (20 % of the fund, under R10's 25 %) and presents it. -------------------
    proposer.goto(club_url)
    proposer.get_by_role("link", name="Projets").first.click()
    proposer.get_by_role("link", name="Proposer un projet").click()
    proposer.get_by_label("Nom de l’entreprise").fill(ENTERPRISE)
    proposer.get_by_label("Ce qu’elle fait et à quoi servira l’argent").fill("Boulangerie bio : un four à bois.")
    proposer.get_by_label("Ville").fill("Lans-en-Vercors")
    proposer.get_by_label("Forme juridique").select_option("scop")
    proposer.get_by_label("Comment le club investirait").select_option("loan")
    proposer.get_by_label("Montant demandé").fill("600,00")
    proposer.get_by_label("Porteur·euse du projet").fill("Nadia Perrin")
    proposer.get_by_label("Coordonnées du porteur ou de la porteuse (courriel ou téléphone)").fill("nadia@example.org")
    proposer.get_by_role("button", name="Enregistrer comme brouillon").click()
    proposer.get_by_role("button", name="Le présenter au club").click()
    project_url = proposer.url
    assert fact(proposer, "Montant demandé") == "600,00 €"

    # --- The manager opens a yes/no funding ballot; all six vote in their own browsers. -------------------------
    founder.goto(project_url)
    founder.get_by_role("link", name="Le soumettre au vote").click()
    founder.get_by_role("button", name="Ouvrir le scrutin").click()
    assert re.search(r"/ballots/\d+$", founder.url)
    ballot_url = founder.url
    votes = {FOUNDER: "Oui", TREASURER: "Oui", PROPOSER: "Oui", "Léo Membre": "Oui", "Maya Membre": "Non",
             "Rémi Membre": "Abstention"}
    for name, choice in votes.items():
        page = pages[name]
        page.goto(ballot_url)
        page.locator("form.vote").first.get_by_label(choice, exact=True).check()
        page.locator("form.vote").first.get_by_role("button", name="Enregistrer ce vote").click()
        expect(page.get_by_text("Votre vote est enregistré.").first).to_be_visible()
    founder.goto(ballot_url)
    founder.get_by_role("button", name="Tout le monde a voté : clore maintenant").click()
    expect(founder.locator("section.highlight")).to_contain_text("Adopté.")
    result = plain(founder.locator("section.highlight").inner_text())
    assert "Quorum atteint : 6 membres sur 6" in result
    assert "4 oui sur 5 voix exprimées = 80 %" in result
    assert "Adopté." in result
    proposer.goto(project_url)
    expect(proposer.locator("p.lead")).to_contain_text("approuvé")

    # --- The manager records the investment with Léo as mentor and enters the payment. --------------------------
    founder.goto(project_url)
    founder.get_by_role("link", name="Enregistrer l’investissement").click()
    founder.get_by_label("Parrain ou marraine", exact=True).select_option(label="Léo Membre")
    founder.get_by_role("button", name="Enregistrer l’investissement").click()
    expect(founder.get_by_text(f"L’investissement dans {ENTERPRISE} est enregistré.")).to_be_visible()
    investment_url = founder.url
    assert fact(founder, "Parrains et marraines") == "Léo Membre"
    founder.get_by_label("Montant versé").fill("600,00")
    assert founder.get_by_label("Date du virement").input_value() == date.today().isoformat()
    founder.get_by_label("Référence bancaire").fill("VIR-FOURNIL")
    founder.get_by_role("button", name="Saisir le versement").click()
    expect(founder.get_by_text("Le versement est saisi.")).to_be_visible()
    payment_row = founder.get_by_role("row", name=re.compile("VIR-FOURNIL"))
    assert "en attente d’un second responsable" in payment_row.inner_text()
    # R11: the officer who entered it cannot approve it himself.
    assert payment_row.get_by_role("button", name="Approuver").count() == 0
    assert "un autre responsable approuve" in payment_row.inner_text()
    assert fact(founder, "Versé") == "0,00 €"
    assert fact(founder, "En attente d’approbation") == "600,00 €"

    # --- The treasurer, a second officer, approves it from the portfolio. ---------------------------------------
    treasurer.goto(club_url)
    treasurer.get_by_role("link", name="Investissements").first.click()
    treasurer.get_by_role("link", name=ENTERPRISE).click()
    assert treasurer.url == investment_url
    treasurer.get_by_role("row", name=re.compile("VIR-FOURNIL")).get_by_role("button", name="Approuver").click()
    expect(treasurer.get_by_text("Le versement est approuvé et comptabilisé.")).to_be_visible()
    status = plain(treasurer.get_by_role("row", name=re.compile("VIR-FOURNIL")).inner_text())
    assert f"approuvé et comptabilisé (approuvé par {TREASURER})" in status
    assert fact(treasurer, "Versé") == "600,00 €"
    assert fact(treasurer, "En attente d’approbation") == "0,00 €"

    # A plain member sees it paid out in the portfolio.
    remi.goto(club_url)
    remi.get_by_role("link", name="Investissements").first.click()
    line = remi.get_by_role("row", name=re.compile(ENTERPRISE))
    cells = [plain(c) for c in line.get_by_role("cell").all_inner_texts()]
    assert cells[0] == ENTERPRISE  # no "waiting for approval" left under the name
    assert cells[2] == "600,00 €"  # Versé
    assert plain(remi.locator("tfoot").inner_text()).startswith("Total 600,00 €")

    # --- Time credits: Léo offers guitar lessons, Maya answers, 1 h 30 recorded and confirmed. ------------------
    leo.goto(club_url)
    leo.get_by_role("link", name="Crédits de temps").first.click()
    leo.get_by_role("link", name="Proposer ou demander un service").click()
    leo.get_by_label("propose un service").check()
    leo.get_by_label("Titre").fill(OFFER)
    leo.get_by_label("Catégorie").select_option(label="Cours et langues")
    leo.get_by_label("Description", exact=True).fill("Accords de base et rythmes, guitare prêtée.")
    leo.get_by_label("Disponibilités").fill("le mercredi soir")
    leo.get_by_role("button", name="Publier").click()
    expect(leo.get_by_text("Votre offre est publiée.")).to_be_visible()
    offer_url = leo.url

    maya.goto(club_url)
    maya.get_by_role("link", name="Crédits de temps").first.click()
    maya.get_by_role("link", name="Offres et demandes").first.click()
    maya.get_by_role("link", name=OFFER).click()
    assert maya.url == offer_url
    maya.get_by_role("button", name="Répondre").click()
    assert maya.locator("p.lead").inner_text() == "convenu, pas encore fait"

    leo.goto(club_url + "/time")
    leo.locator("section").filter(has=leo.get_by_role("heading", name="Mes échanges", exact=True)) \
        .get_by_role("link", name=OFFER).click()
    leo.get_by_label("Heures").fill("1")
    leo.get_by_label("Minutes").fill("30")
    leo.get_by_label("Ce qui a été fait").fill("Premier cours de guitare")
    leo.get_by_role("button", name="L’enregistrer").click()
    expect(leo.get_by_text("L’échange de 1 h 30 est enregistré. Maya Membre le confirmera.")).to_be_visible()

    maya.goto(club_url + "/time")
    waiting = maya.locator("section").filter(has=maya.get_by_role("heading", name="À confirmer", exact=True))
    assert "Léo Membre indique vous avoir donné 1 h 30 le " in plain(waiting.inner_text())
    waiting.get_by_role("button", name="Confirmer", exact=True).click()
    expect(maya.get_by_text("Merci : 1 h 30 vont à Léo Membre.")).to_be_visible()
    maya.goto(club_url + "/time")
    assert my_time_balance(maya) == "−1 h 30"
    leo.goto(club_url + "/time")
    assert my_time_balance(leo) == "1 h 30"

    # --- The treasurer downloads the journal as CSV from "Comptabilité". ---------------------------------------
    treasurer.goto(club_url)
    treasurer.get_by_role("link", name="Comptabilité").click()
    expect(treasurer.get_by_role("heading", name="Journal")).to_be_visible()
    with treasurer.expect_download() as info:
        treasurer.get_by_role("button", name="Télécharger en CSV").click()
    download = info.value
    assert download.suggested_filename == f"journal-{club_url.rsplit('/', 1)[1]}.csv"
    text = download.path().read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["Écriture", "Date", "Nature", "Unité", "Description", "Auteur·rice", "Extourne", "Extournée par",
                       "Code du compte", "Nom du compte", "Montant"]  # the column names in the treasurer's French
    today = date.today().isoformat()
    lines = rows[1:]
    assert all(len(row) == 11 and row[1] == today for row in lines)

    # Six contributions of 500,00, each bank +500,00 and the member's capital −500,00, written by the treasurer.
    contributions = [row for row in lines if row[2] == "contribution"]
    assert len({row[0] for row in contributions}) == 6
    assert sorted(row[10] for row in contributions) == ["-500,00"] * 6 + ["500,00"] * 6
    assert {row[5] for row in contributions} == {TREASURER}
    assert sorted({row[4] for row in contributions}) == sorted(
        f"{name} — VIR-{name.split()[0].upper()}" for name in EVERYONE)

    # The payment, posted once on approval: the investment +600,00, the bank −600,00, by the approver.
    (disbursement,) = {row[0] for row in lines if row[2] == "disbursement"}
    paid = sorted((row[8], row[10]) for row in lines if row[0] == disbursement)
    assert [amount for _account, amount in paid] == ["-600,00", "600,00"]
    assert ("bank", "-600,00") in paid
    assert {row[4] for row in lines if row[0] == disbursement} == {f"{ENTERPRISE} VIR-FOURNIL"}
    assert {row[5] for row in lines if row[0] == disbursement} == {TREASURER}

    # The exchange in minutes: Léo +90, Maya −90.
    exchange = [row for row in lines if row[2] == "exchange"]
    assert {row[3] for row in exchange} == {"time"}
    assert sorted(row[10] for row in exchange) == ["-90", "90"]
    assert {row[4] for row in exchange} == {"Premier cours de guitare"}

    # Nothing else moved money: bank = 6 × 500 − 600.
    bank = sum(int(row[10].replace(",", "")) for row in lines if row[8] == "bank")
    assert bank == 240_000
