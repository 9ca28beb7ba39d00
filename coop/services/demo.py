"""A realistic French-speaking demo club, for trying Entraide out."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from .. import notify
from ..extensions import db
from ..models import Club, Role, User
from ..models.base import utcnow
from . import access, auth, ballots, clubs, fund, investments, projects, timebank
from .charter import charter_of
from .errors import Conflict, _l

# bandit: the made-up demo club's password, printed by `flask coop demo` on purpose.
DEMO_PASSWORD = "entraide-demo"  # nosec B105

PEOPLE = [
    ("Camille Martin", "camille@demo.entraide.example", Role.MANAGER),
    ("Julien Moreau", "julien@demo.entraide.example", Role.TREASURER),
    ("Léa Dubois", "lea@demo.entraide.example", Role.SECRETARY),
    ("Mathieu Lefebvre", "mathieu@demo.entraide.example", Role.MEMBER),
    ("Sophie Girard", "sophie@demo.entraide.example", Role.MEMBER),
    ("Karim Benali", "karim@demo.entraide.example", Role.MEMBER),
    ("Élodie Roux", "elodie@demo.entraide.example", Role.MEMBER),
    ("Thomas Fournier", "thomas@demo.entraide.example", Role.MEMBER),
]


@dataclass(frozen=True)
class DemoLogin:
    name: str
    email: str
    role: str


def _key() -> str:
    return uuid.uuid4().hex


def load_demo(today: date | None = None) -> list[DemoLogin]:
    """Create the demo club through the services, as its members would. Refuses a non-empty database.
    Its people are made up: nobody is sent mail."""
    with notify.suppressed():
        return _load_demo(today)


def _load_demo(today: date | None) -> list[DemoLogin]:
    if db.session.scalar(select(func.count()).select_from(User)) or db.session.scalar(
        select(func.count()).select_from(Club)
    ):
        raise Conflict(_l("The database is not empty: the demo loads only into an empty one."))
    today = today or date.today()
    users = [auth.register(name, email, DEMO_PASSWORD, "fr") for name, email, _ in PEOPLE]
    manager = users[0]
    club = clubs.create_club(manager.id, name="Cigale du Vercors", town="Villard-de-Lans", country="FR",
                                  currency="EUR", time_zone="Europe/Paris", form_key=_key())
    values = clubs.charter_values(charter_of(club.id))
    clubs.amend_charter(manager.id, club.id, {**values, "min_monthly_contribution": 2000,
                                                   "max_proxies_per_holder": 1})
    members = {manager.id: access.membership_for(manager.id, club.id)}
    for user in users[1:]:
        _, code = clubs.invite(manager.id, club.id, form_key=_key())
        requested = clubs.join(user.id, code)
        members[user.id] = clubs.admit(manager.id, club.id, requested.id)
    for user, (_, _, role) in zip(users, PEOPLE, strict=True):
        if role not in (Role.MANAGER, Role.MEMBER):
            clubs.appoint(manager.id, club.id, members[user.id].id, role)
    clubs.activate(manager.id, club.id)

    treasurer = users[1]
    monthly = [3000, 5000, 2000, 2500, 4000, 2000, 3000, 2000]
    start = (today.replace(day=1) - timedelta(days=60)).replace(day=1)
    for user, amount in zip(users, monthly, strict=True):
        fund.set_pledge(user.id, club.id, monthly_amount=amount, rhythm="monthly", today=start)
    opening = start - timedelta(days=1)  # before the first pledge: it is not counted against the dues
    for user in users:  # each member's first contribution: the club starts with savings to invest
        fund.record_contribution(treasurer.id, club.id, membership_id=members[user.id].id, amount=100_000,
                                 received_on=opening, method="transfer",
                                 bank_reference=f"APPORT-{user.id}", idempotency_key=_key(), today=today)
    for months_ago in (2, 1, 0):
        day = (today.replace(day=1) - timedelta(days=28 * months_ago)).replace(day=5)
        day = min(day, today)
        for user, amount in zip(users, monthly, strict=True):
            if user is users[-1] and months_ago < 2:
                continue  # Thomas is behind: the arrears page has someone to show
            fund.record_contribution(treasurer.id, club.id, membership_id=members[user.id].id, amount=amount,
                                     received_on=day, method="transfer", bank_reference=f"VIR-{day:%Y%m}-{user.id}",
                                     idempotency_key=_key(), today=today)
    _time_credits(club.id, users, members, today)
    _projects_and_ballots(club.id, users, members)
    return [DemoLogin(name, email, role) for name, email, role in PEOPLE]


def _time_credits(club_id: int, users: list[User], members: dict, today: date) -> None:
    """Offers, requests and exchanges: some posted, one waiting for its receiver, one arranged."""
    ago = lambda days: today - timedelta(days=days)  # noqa: E731
    listings = []
    for author, kind, title, category, description, availability in [
        (3, "offer", "Taille de haies et petits travaux de jardin", "gardening",
         "J'ai un taille-haie et une débroussailleuse ; je peux aussi conseiller pour un potager.", "Le samedi matin"),
        (5, "offer", "Aide aux papiers administratifs et impôts", "paperwork",
         "Déclaration de revenus, dossiers CAF, courriers : je vous aide à y voir clair.", "En semaine après 18 h"),
        (2, "offer", "Cours de couture pour débutants", "sewing",
         "Ourlets, boutons, premiers vêtements. Machine fournie.", "Le mercredi après-midi"),
        (7, "offer", "Réparation de vélos", "diy", "Freins, dérailleurs, crevaisons. Pièces à votre charge.",
         "Le week-end"),
        (6, "request", "Cherche covoiturage pour Grenoble le jeudi", "transport",
         "Rendez-vous médical tous les jeudis à 10 h, retour vers midi.", ""),
        (4, "request", "Initiation à un tableur", "computing",
         "Pour tenir les comptes de l'association de parents d'élèves.", "Le soir"),
    ]:
        values = {"kind": kind, "title": title, "category": category, "description": description,
                  "availability": availability,
                  "expires_on": today + timedelta(days=45) if kind == "request" else None}
        listings.append(timebank.publish(users[author].id, club_id, values, form_key=_key(), today=today))
    # Recorded by the member who received the service: posted at once.
    for giver, receiver, minutes, days, what in [
            (3, 4, 120, 40, "Taille des haies"), (5, 0, 90, 30, "Aide à la déclaration d'impôts"),
            (2, 6, 60, 20, "Cours de couture"), (7, 3, 180, 12, "Réparation d'un vélo"),
            (0, 7, 60, 8, "Aide au déménagement d'une armoire")]:
        timebank.record_exchange(users[receiver].id, club_id, other_id=members[users[giver].id].id,
                                 direction="received", minutes=minutes, done_on=ago(days), description=what,
                                 form_key=_key(), today=today)
    # Recorded by the one who gave it: Camille has to confirm it.
    timebank.record_exchange(users[5].id, club_id, other_id=members[users[0].id].id, direction="given",
                             minutes=45, done_on=ago(2), description="Relecture du dossier de subvention",
                             form_key=_key(), today=today)
    # Élodie answered Léa's sewing lessons: arranged, not done yet.
    timebank.answer(users[6].id, club_id, listings[2].id, form_key=_key(), today=today)


def _projects_and_ballots(club_id: int, users: list[User], members: dict) -> None:
    """Two projects: one approved by a past vote, one in vote now (Thomas has declared a link to it)."""
    bakery = projects.propose(users[3].id, club_id, {
        "name": "Fournil du Plateau", "description": "Boulangerie bio au levain, four à bois, 3 emplois.\n"
        "Le prêt financerait le pétrin et la chambre de pousse.", "town": "Lans-en-Vercors", "legal_form": "scop",
        "instrument": "loan", "amount_requested": 200_000, "stake_hundredths": None,
        "holder_name": "Nadia Perrin", "holder_contact": "nadia@fournil.example"}, form_key=_key())
    projects.present(users[3].id, club_id, bakery.id)
    now = utcnow()
    ballot = ballots.open_ballot(users[0].id, club_id, kind="funding", method="yes_no",
                                 closes_at=now + timedelta(days=7), subject=ballots.Subject(project_ids=[bakery.id]),
                                 form_key=_key(), now=now)
    option = ballot.options[0].id
    for user, value in zip(users, (1, 1, 1, 1, -1, 1, 0, 1), strict=True):
        ballots.vote(user.id, club_id, ballot.id, choices={option: value}, now=now)
    ballots.close_early(users[0].id, club_id, ballot.id, now=now)
    loan = investments.record_investment(users[1].id, club_id, bakery.id, mentor_id=members[users[3].id].id,
                                         second_mentor_id=members[users[6].id].id, form_key=_key())
    payment = investments.enter_payment(users[1].id, club_id, loan.id, amount=loan.amount, paid_on=now.date(),
                                        bank_reference="VIR-FOURNIL", form_key=_key())
    investments.approve_payment(users[0].id, club_id, payment.id)
    first_due = (now.date().replace(day=1) + timedelta(days=32)).replace(day=10)
    investments.set_loan_terms(users[1].id, club_id, loan.id, rate_basis_points=200, term_periods=24,
                               frequency="monthly", first_due_on=first_due)
    investments.add_note(users[3].id, club_id, loan.id, written_on=now.date(),
                         text="Visite au fournil : le pétrin est livré, la première fournée est prévue ce mois-ci.")

    shop = projects.propose(users[4].id, club_id, {
        "name": "Épicerie Le Bocal", "description": "Épicerie vrac et circuits courts au centre du village.",
        "town": "Villard-de-Lans", "legal_form": "sas", "instrument": "equity", "amount_requested": 150_000,
        "stake_hundredths": 1000, "holder_name": "Paul Garnier", "holder_contact": "06 12 34 56 78"},
        form_key=_key())
    projects.present(users[4].id, club_id, shop.id)
    ballots.declare_link(users[7].id, club_id, shop.id, "Cousin du porteur de projet")
    ballot = ballots.open_ballot(users[0].id, club_id, kind="funding", method="yes_no",
                                 closes_at=now + timedelta(days=10), subject=ballots.Subject(project_ids=[shop.id]),
                                 form_key=_key(), now=now)
    ballots.vote(users[1].id, club_id, ballot.id, choices={ballot.options[0].id: 1}, now=now)
    ballots.give_proxy(users[5].id, club_id, ballot.id, members[users[2].id].id, now=now)



def demo_logins_present() -> list[DemoLogin]:
    """The demo people still in the database (for `make run` to remind them)."""
    emails = {email for _, email, _ in PEOPLE}
    found = set(db.session.scalars(select(User.email).where(User.email.in_(emails))))
    return [DemoLogin(name, email, role) for name, email, role in PEOPLE if email in found]
