"""The reader's language in account names and CSV exports (issue 16): a club's accounts are named in the
language of whoever reads them, and every CSV export names its columns in that language.

``EXPORTS`` lists every CSV route of the application with the column names it writes in English and in
French; a CSV route added without its line here fails ``test_every_csv_route_is_in_the_table``."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask_babel import force_locale

from coop.extensions import db
from coop.labels import account_name
from coop.models import Account, User
from coop.services import fund, ledger
from tests.conftest import key

BOM = "\ufeff"
TODAY = date.today()
LAST_YEAR = TODAY.year - 1


def read_csv(response, language: str) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    text = response.data.decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";" if language == "fr" else ","))


def set_language(user, language: str) -> None:
    db.session.rollback()
    db.session.get(User, user.id).language = language
    db.session.commit()


def code_id(club_id: int, code: str) -> int:
    found = ledger.find_account(club_id, code).id
    db.session.rollback()
    return found


# --- Every CSV export, in both languages -----------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    path: str  #: after /clubs/<id>/; ``{bank}`` is the bank account's id, ``{year}`` last year
    en: list[str]
    fr: list[str]


EXPORTS = {
    "books.journal_csv": Export(
        "books/journal.csv",
        ["Transaction", "Date", "Kind", "Unit", "Description", "Author", "Reverses", "Reversed by", "Account code",
         "Account name", "Amount"],
        ["Écriture", "Date", "Nature", "Unité", "Description", "Auteur·rice", "Extourne", "Extournée par",
         "Code du compte", "Nom du compte", "Montant"]),
    "books.account_statement_csv": Export(
        "books/accounts/{bank}.csv",
        ["Transaction", "Date", "Kind", "Description", "Amount", "Balance"],
        ["Écriture", "Date", "Nature", "Description", "Montant", "Solde"]),
    "books.trial_balance_csv": Export(
        "books/trial-balance.csv",
        ["Unit", "Account code", "Account name", "Type", "Debits", "Credits", "Balance"],
        ["Unité", "Code du compte", "Nom du compte", "Type", "Débits", "Crédits", "Solde"]),
    "books.capital_csv": Export(
        "books/capital.csv",
        ["Member number", "Name", "Status", "Contributed", "Refunded", "Capital", "Share (%)", "Share value"],
        ["Numéro de membre", "Nom", "État", "Versé", "Remboursé", "Capital", "Part (%)", "Valeur de la part"]),
    "books.yearly_statement_csv": Export(
        "statements/{year}.csv",
        ["Line", "Whole club", "Member's share"],
        ["Ligne", "Tout le club", "Part du membre"]),
    "timebank.statement_csv": Export(
        "time/statement.csv",
        ["Date", "Transaction", "Kind", "Description", "With", "Minutes", "Balance in minutes", "Hours", "Balance"],
        ["Date", "Écriture", "Nature", "Description", "Avec", "Minutes", "Solde en minutes", "Heures", "Solde"]),
    "ballots.decisions_csv": Export(
        "decisions.csv",
        ["Number", "Closed on (Europe/Paris)", "Decision", "Subject", "Voting method", "Secret", "Eligible",
         "Took part", "Yes", "No", "Abstentions", "Outcome", "Explanation", "Not applied because"],
        ["Numéro", "Clos le (heure de Europe/Paris)", "Décision", "Objet", "Mode de scrutin", "Secret",
         "Ayant droit de vote", "Votants", "Oui", "Non", "Abstentions", "Résultat", "Explication",
         "Non appliquée car"]),
}


#: CSV routes outside a club, whose column names are checked in both languages by their own module's tests.
ELSEWHERE = {"regions.export": "tests/web/test_regions_views.py"}


def csv_routes(app) -> set[str]:
    """The endpoints of every route that answers a CSV file: its address ends in .csv or its view in _csv."""
    return {rule.endpoint for rule in app.url_map.iter_rules()
            if rule.rule.endswith(".csv") or rule.endpoint.endswith("_csv")}


def test_every_csv_route_is_in_the_table(app):
    routes = csv_routes(app)
    assert routes, "no CSV route found: the walk over the url_map is broken"
    assert routes - EXPORTS.keys() - ELSEWHERE.keys() == set(), "a CSV export without its column names in EXPORTS"
    assert EXPORTS.keys() - routes == set(), "EXPORTS names a route that no longer exists"


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("endpoint", sorted(EXPORTS))
def test_every_csv_export_names_its_columns_in_the_readers_language(club, make_browser, endpoint, language):
    export = EXPORTS[endpoint]
    c = club.club_id
    fund.record_contribution(club.treasurer.id, c, membership_id=club.membership_id(club.treasurer), amount=2_500,
                             received_on=TODAY, method="transfer", bank_reference="VIR-1", idempotency_key=key())
    path = export.path.format(bank=code_id(c, "bank"), year=LAST_YEAR)
    set_language(club.treasurer, language)

    rows = read_csv(make_browser(club.treasurer).get(f"/clubs/{c}/{path}"), language)

    assert rows[0] == getattr(export, language)


# --- Account names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "stored", "en", "fr"), [
    ("bank", "Banque", "Bank", "Banque"),
    ("capital:7", "Capital — Ann Lee", "Capital — Ann Lee", "Capital — Ann Lee"),
    ("time:7", "Temps — Ann Lee", "Time credits — Ann Lee", "Temps — Ann Lee"),
    ("investment:3", "Investissement — Fournil — Die", "Investment — Fournil — Die",
     "Investissement — Fournil — Die"),
    ("income:returns", "Intérêts et dividendes", "Interest and dividends", "Intérêts et dividendes"),
    ("income:gains", "Plus-values de cession", "Gains on sales of shares", "Plus-values de cession de titres"),
    ("expense:losses", "Pertes sur investissements", "Losses on investments", "Pertes sur investissements"),
    ("expense:fees", "Frais bancaires", "Bank fees", "Frais bancaires"),
    # Any other account reads as stored, and so does one of Entraide's without its subject.
    ("expense:rent", "Loyer de la salle", "Loyer de la salle", "Loyer de la salle"),
    ("capital:8", "Capital", "Capital", "Capital"),
])
def test_an_account_is_named_from_its_code_in_the_readers_language(app, code, stored, en, fr):
    account = Account(code=code, name=stored)
    with app.test_request_context():
        with force_locale("en"):
            assert account_name(account) == en
        with force_locale("fr"):
            assert account_name(account) == fr


def cells(html: str) -> str:
    """The page's text with tags and repeated spaces out, to find an account's name in a table cell."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def test_a_club_made_by_an_english_speaker_reads_in_each_readers_language(make_browser, make_user):
    ann = make_user(name="Ann", language="en")
    bob = make_user(name="Bob", language="fr")
    manager, treasurer = make_browser(ann), make_browser(bob)
    created = manager.submit("/clubs/new", {"name": "Maple Circle", "town": "Montréal", "country": "CA",
                                            "currency": "CAD"})
    assert created.status_code == 302
    c = int(re.fullmatch(r"/clubs/(\d+)/", created.headers["Location"]).group(1))
    invited = manager.submit(f"/clubs/{c}/invitations")
    code = re.findall(r'<p class="code">([A-Z0-9-]+)</p>', manager.get(invited.headers["Location"]).text)[0]
    assert treasurer.submit("/join", {"code": code}).status_code == 302
    members = manager.get(f"/clubs/{c}/members").text
    admit = re.findall(r'<form method="post" action="(/clubs/\d+/members/(\d+)/admit)"', members)
    assert len(admit) == 1
    bob_membership = int(admit[0][1])
    assert manager.action(admit[0][0]).status_code == 302
    assert manager.action(f"/clubs/{c}/members/{bob_membership}/role", {"role": "treasurer"}).status_code == 302
    ann_membership = int(re.search(r"capital:(\d+)", manager.get(f"/clubs/{c}/accounts").text).group(1))

    # Ann reads in English: the accounts page, the trial balance and its CSV.
    english = cells(manager.get(f"/clubs/{c}/accounts").text)
    assert "Bank" in english and "Banque" not in english
    assert "Capital — Ann" in english and "Capital — Bob" in english and "Time credits — Ann" in english
    trial = cells(manager.get(f"/clubs/{c}/books/trial-balance").text)
    assert "bank — Bank" in trial and f"capital:{ann_membership} — Capital — Ann" in trial
    rows = read_csv(manager.get(f"/clubs/{c}/books/trial-balance.csv"), "en")
    assert rows[0] == EXPORTS["books.trial_balance_csv"].en
    names = {row[1]: row[2] for row in rows[1:]}
    assert names["bank"] == "Bank" and names[f"capital:{ann_membership}"] == "Capital — Ann"
    assert names[f"time:{ann_membership}"] == "Time credits — Ann"
    statement = cells(manager.get(f"/clubs/{c}/books/accounts/{code_id(c, 'bank')}").text)
    assert "Statement of Bank" in statement

    # Bob reads the same club in French.
    french = cells(treasurer.get(f"/clubs/{c}/accounts").text)
    assert "Banque" in french and "Capital — Ann" in french and "Temps — Ann" in french
    assert "Time credits" not in french
    trial = cells(treasurer.get(f"/clubs/{c}/books/trial-balance").text)
    assert "bank — Banque" in trial and f"time:{ann_membership} — Temps — Ann" in trial
    rows = read_csv(treasurer.get(f"/clubs/{c}/books/trial-balance.csv"), "fr")
    assert rows[0] == EXPORTS["books.trial_balance_csv"].fr
    names = {row[1]: row[2] for row in rows[1:]}
    assert names["bank"] == "Banque" and names[f"capital:{ann_membership}"] == "Capital — Ann"
    assert names[f"time:{bob_membership}"] == "Temps — Bob"
    assert "Relevé" in cells(treasurer.get(f"/clubs/{c}/books/accounts/{code_id(c, 'bank')}").text)

    # The same person switching language reads the other names at once (nothing stored changes).
    manager.action("/language", {"language": "fr"})
    assert "Banque" in cells(manager.get(f"/clubs/{c}/accounts").text)
    stored = {a.code: a.name for a in db.session.query(Account).filter_by(club_id=c)}
    db.session.rollback()
    assert stored["bank"] == "Banque"  # as stored before: old rows need no migration


def test_the_journal_csv_names_accounts_in_the_readers_language(club, make_browser):
    c = club.club_id
    member = club.members[3]
    fund.record_contribution(club.treasurer.id, c, membership_id=club.membership_id(member), amount=2_500,
                             received_on=TODAY - timedelta(days=1), method="transfer", bank_reference="VIR-A",
                             idempotency_key=key())
    db.session.rollback()
    browser = make_browser(club.treasurer)
    for language, bank in (("en", "Bank"), ("fr", "Banque")):
        set_language(club.treasurer, language)
        rows = read_csv(browser.get(f"/clubs/{c}/books/journal.csv"), language)
        assert {row[8]: row[9] for row in rows[1:]} == {"bank": bank,
                                                       f"capital:{club.membership_id(member)}": f"Capital — {member.name}"}
        choices = browser.get(f"/clubs/{c}/books").text  # the journal's filter names accounts too
        assert f"bank — {bank}" in choices
