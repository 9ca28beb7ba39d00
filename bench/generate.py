"""A large install, built fast with bulk inserts: clubs of 20 members with a year of monthly
contributions, time exchanges, offers, and ballots with votes — rows as the services would have written
them (cached balances, the hash chain, counters), so that `flask coop check` holds afterwards.

    build(app, Size(clubs=1000))   # 20,000 members, about 1,000,000 postings

The measured club (club 1) also gets a ballot opened, voted and closed through the services, so its
results page is a real one.
"""
from __future__ import annotations

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import insert, text

from coop.chain import GENESIS, seal

PASSWORD = "ruche-tranquille-1984"  # not a common password, nor holding a name (the password rules)


@dataclass(frozen=True)
class Size:
    clubs: int = 1000
    members: int = 20
    months: int = 12
    #: exchanges each member gives (and receives) over the year
    exchanges_per_member: int = 13
    ballots_per_club: int = 2
    listings_per_club: int = 5
    #: club 1 has a long history, so that its journal has a page 10,000 rows deep (same in every size)
    first_club_exchanges_per_member: int = 525

    @property
    def postings(self) -> int:
        per_club = self.members * (self.months + self.exchanges_per_member) * 2
        extra = self.members * (self.first_club_exchanges_per_member - self.exchanges_per_member) * 2
        return self.clubs * per_club + max(extra, 0)


@dataclass
class Built:
    size: Size
    seconds: float
    rows: dict[str, int]
    #: people of club 1, for the page measurements: (email, role)
    people: list[tuple[str, str]]


def _ids():
    counters: dict[str, int] = defaultdict(int)

    def next_id(table: str) -> int:
        counters[table] += 1
        return counters[table]

    return next_id, counters


def build(app, size: Size, *, today: date | None = None, batch: int = 20_000) -> Built:
    """Fill an empty, migrated database. Returns what was written and how long it took."""
    from coop.database import refresh_statistics
    from coop.extensions import db
    from coop.models import (
        Account,
        Ballot,
        BallotOption,
        BallotVote,
        BallotVoter,
        Charter,
        Club,
        Contribution,
        Exchange,
        JournalTransaction,
        LedgerHead,
        Listing,
        Membership,
        Pledge,
        Posting,
        Project,
        User,
    )
    from coop.services.auth import hash_password
    from coop.services.timebank import fold

    started = time.perf_counter()
    today = today or date.today()
    start = (today.replace(day=1) - timedelta(days=31 * size.months)).replace(day=1)
    now = datetime(today.year, today.month, today.day, 12, 0)
    next_id, counters = _ids()
    rows: dict[str, list[dict]] = defaultdict(list)
    with app.app_context():
        password_hash = hash_password(PASSWORD)
    chain_key = app.config["CHAIN_KEY"].encode("utf-8")  # the rows are sealed as the ledger seals them
    heads: dict[int, tuple[int, str]] = {}
    balances: dict[int, int] = defaultdict(int)

    def transaction(club_id: int, kind: str, unit: str, on: date, memo: str, author: int | None,
                    lines: list[tuple[int, int]]) -> int:
        txn_id = next_id("journal_transaction")
        seq, prev = heads.get(club_id, (0, GENESIS))
        key = f"bench:{txn_id}"
        digest = seal(prev, club_id=club_id, seq=seq + 1, unit=unit, kind=kind, occurred_on=on, memo=memo,
                      author_id=author, idempotency_key=key, reverses_id=None, postings=lines, key=chain_key)
        heads[club_id] = (seq + 1, digest)
        rows["journal_transaction"].append({
            "id": txn_id, "club_id": club_id, "unit": unit, "kind": kind, "memo": memo, "occurred_on": on,
            "author_id": author, "idempotency_key": key, "created_at": now, "seq": seq + 1, "hash": digest})
        for account_id, amount in lines:
            rows["posting"].append({"id": next_id("posting"), "club_id": club_id, "transaction_id": txn_id,
                                    "account_id": account_id, "amount": amount})
            balances[account_id] += amount
        return txn_id

    people: list[tuple[str, str]] = []
    for c in range(size.clubs):
        club_id = next_id("club")
        rows["club"].append({"id": club_id, "name": f"Cigale {club_id}", "town": "Die", "country": "FR",
                             "currency": "EUR", "status": "active", "activated_on": start,
                             "term_ends_on": start.replace(year=start.year + 5), "charter_version": 1,
                             "created_at": now})
        rows["charter"].append({"id": next_id("charter"), "club_id": club_id, "version": 1, "created_at": now})
        bank = next_id("account")
        rows["account"].append({"id": bank, "club_id": club_id, "code": "bank", "name": "Banque", "type": "asset",
                                "unit": "money", "floor": 0, "created_at": now})
        members, capital, clock = [], {}, {}
        for m in range(size.members):
            user_id = next_id("user_account")
            role = "manager" if m == 0 else "treasurer" if m == 1 else "secretary" if m == 2 else "member"
            email = f"m{user_id}@bench.example"
            rows["user_account"].append({"id": user_id, "email": email, "name": f"Membre {user_id}",
                                         "password_hash": password_hash, "language": "fr",
                                         "session_token": uuid.uuid4().hex, "created_at": now,
                                         "password_changed_at": now})
            membership_id = next_id("membership")
            rows["membership"].append({"id": membership_id, "club_id": club_id, "user_id": user_id, "status": "active",
                                       "role": role, "joined_on": start, "requested_at": now,
                                       # re-elected: the officers are still in office today (R3)
                                       "role_until": start.replace(year=start.year + 2) if role != "member" else None})
            capital[membership_id] = next_id("account")
            clock[membership_id] = next_id("account")
            rows["account"].append({"id": capital[membership_id], "club_id": club_id, "code": f"capital:{membership_id}",
                                    "name": f"Capital — Membre {user_id}", "type": "equity", "unit": "money",
                                    "membership_id": membership_id, "ceiling": 0, "created_at": now})
            rows["account"].append({"id": clock[membership_id], "club_id": club_id, "code": f"time:{membership_id}",
                                    "name": f"Temps — Membre {user_id}", "type": "asset", "unit": "time",
                                    "membership_id": membership_id, "floor": -600, "ceiling": 2400,
                                    "created_at": now})
            monthly = 2000 + 500 * (m % 7)
            rows["pledge"].append({"id": next_id("pledge"), "club_id": club_id, "membership_id": membership_id,
                                   "monthly_amount": monthly, "rhythm": "monthly", "effective_from": start,
                                   "author_id": user_id, "created_at": now})
            members.append((membership_id, user_id, monthly))
            if c == 0:
                people.append((email, role))
        treasurer_user = members[1][1]
        # A year of monthly contributions, recorded by the treasurer.
        for month in range(size.months):
            day = (start + timedelta(days=31 * month)).replace(day=5)
            for membership_id, user_id, monthly in members:
                txn = transaction(club_id, "contribution", "money", day, f"Membre {user_id} — VIR-{day:%Y%m}",
                                  treasurer_user, [(bank, monthly), (capital[membership_id], -monthly)])
                rows["contribution"].append({
                    "id": next_id("contribution"), "club_id": club_id, "membership_id": membership_id,
                    "amount": monthly, "received_on": day, "method": "transfer",
                    "bank_reference": f"VIR-{day:%Y%m}", "source": "form", "transaction_id": txn,
                    "recorded_by_id": treasurer_user, "created_at": now})
        # Time exchanges: in each round every member gives one hour and receives one (balances stay near zero).
        n = size.members
        total = n * (size.first_club_exchanges_per_member if c == 0 else size.exchanges_per_member)
        for k in range(total):
            provider, receiver = members[k % n], members[(k + 1 + (k // n) % (n - 1)) % n]
            on = start + timedelta(days=(k * 365) // max(total, 1))
            on = min(on, today)
            txn = transaction(club_id, "exchange", "time", on, "Aide au jardin", receiver[1],
                              [(clock[provider[0]], 60), (clock[receiver[0]], -60)])
            rows["exchange"].append({
                "id": next_id("exchange"), "club_id": club_id, "provider_id": provider[0], "receiver_id": receiver[0],
                "started_by_id": receiver[0], "recorded_by_id": receiver[0], "minutes": 60, "done_on": on,
                "description": "Aide au jardin", "status": "confirmed", "transaction_id": txn, "recorded_at": now,
                "confirmed_at": now, "created_at": now})
        for i in range(size.listings_per_club):
            author = members[(i * 3) % n]
            title = ["Réparation de vélos", "Cours d'anglais", "Garde d'enfants le mercredi", "Aide informatique",
                     "Covoiturage vers Grenoble"][i % 5]
            rows["listing"].append({
                "id": next_id("listing"), "club_id": club_id, "author_id": author[0], "kind": "offer",
                "title": title, "description": f"{title} — proposé par un membre.", "category": "other",
                "availability": "le samedi", "status": "active", "search_text": fold(f"{title} {title}"),
                "created_at": now, "updated_at": now})
        # Open ballots on projects, every member voted yes or no (open vote, counters kept).
        for b in range(size.ballots_per_club):
            project_id = next_id("project")
            rows["project"].append({
                "id": project_id, "club_id": club_id, "proposed_by_id": members[3 % n][0],
                "name": f"Projet {project_id}", "description": "Un projet local.", "town": "Die", "legal_form": "scop",
                "instrument": "loan", "amount_requested": 100_000, "holder_name": "Porteuse",
                "holder_contact": "porteuse@example.org", "status": "in_vote", "created_at": now})
            ballot_id = next_id("ballot")
            rows["ballot"].append({
                "id": ballot_id, "club_id": club_id, "kind": "funding", "method": "yes_no",
                "title": f"Financer le projet {project_id}", "secret": False, "status": "open",
                "opened_by_id": members[0][1], "opened_at": now, "closes_at": now + timedelta(days=7 + b),
                "charter_version": 1, "quorum_percent": 50, "threshold": "majority", "max_proxies": 1,
                "eligible_count": n})
            option_id = next_id("ballot_option")
            rows["ballot_option"].append({"id": option_id, "club_id": club_id, "ballot_id": ballot_id, "position": 1,
                                          "label": f"Projet {project_id}", "project_id": project_id})
            # Open: the named votes below are its choices; counts are written at the close.
            for i, (membership_id, _user_id, _monthly) in enumerate(members):
                rows["ballot_voter"].append({"id": next_id("ballot_voter"), "club_id": club_id, "ballot_id": ballot_id,
                                             "membership_id": membership_id, "recused": False, "voted": True,
                                             "cast_by_id": membership_id})
                rows["ballot_vote"].append({"id": next_id("ballot_vote"), "club_id": club_id, "ballot_id": ballot_id,
                                            "option_id": option_id, "voter_id": membership_id,
                                            "cast_by_id": membership_id, "value": 1 if i % 4 != 3 else -1,
                                            "cast_at": now})
        rows["ledger_head"].append({"club_id": club_id, "seq": heads[club_id][0], "hash": heads[club_id][1]})

    for account in rows["account"]:
        account["balance"] = balances.get(account["id"], 0)

    order = [("user_account", User), ("club", Club), ("charter", Charter), ("membership", Membership),
             ("account", Account), ("pledge", Pledge), ("journal_transaction", JournalTransaction),
             ("posting", Posting), ("contribution", Contribution), ("exchange", Exchange), ("listing", Listing),
             ("project", Project), ("ballot", Ballot), ("ballot_option", BallotOption),
             ("ballot_voter", BallotVoter), ("ballot_vote", BallotVote), ("ledger_head", LedgerHead)]
    with app.app_context():
        with db.engine.begin() as conn:
            for name, model in order:
                table_rows = rows[name]
                keys = set().union(*table_rows) if table_rows else set()
                for row in table_rows:  # one shape per statement (executemany)
                    for k in keys - row.keys():
                        row[k] = None
                for first in range(0, len(table_rows), batch):
                    conn.execute(insert(model.__table__), table_rows[first:first + batch])
            if conn.dialect.name == "postgresql":
                for name, _model in order:
                    if name != "ledger_head" and counters.get(name):
                        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), :n)"),
                                     {"n": counters[name]})
                conn.execute(text("ANALYZE"))
        refresh_statistics(db.engine)  # SQLite: what `flask coop tick` does on a real install
        db.engine.dispose()
    return Built(size, time.perf_counter() - started, {name: len(rows[name]) for name, _ in order}, people)


def results_ballot(app, built: Built) -> int:
    """A funding ballot of club 1 opened, voted by every member and closed early through the services."""
    from coop import notify
    from coop.extensions import db
    from coop.models import Membership
    from coop.models.base import utcnow
    from coop.services import ballots, projects
    from coop.services.tally import YES

    with app.app_context(), notify.suppressed():
        members = list(db.session.query(Membership).filter(Membership.club_id == 1).order_by(Membership.id))
        manager = members[0].user_id
        project = projects.propose(members[3].user_id, 1, {
            "name": "Fournil du Vercors", "description": "Un four à pain.", "town": "Die", "legal_form": "scop",
            "instrument": "loan", "amount_requested": 50_000, "stake_hundredths": None, "holder_name": "Anne",
            "holder_contact": "anne@example.org"}, form_key=uuid.uuid4().hex)
        projects.present(members[3].user_id, 1, project.id)
        ballot = ballots.open_ballot(manager, 1, kind="funding", method="yes_no",
                                     closes_at=utcnow() + timedelta(days=7),
                                     subject=ballots.Subject(project_ids=[project.id]), form_key=uuid.uuid4().hex)
        option = ballot.options[0].id
        ballot_id = ballot.id
        for member in members:
            ballots.vote(member.user_id, 1, ballot_id, choices={option: YES})
        ballots.close_early(manager, 1, ballot_id)
        db.session.remove()
        db.engine.dispose()
    return ballot_id


def member_email(url: str) -> str:
    """The e-mail of a plain member of club 1 (they log in with PASSWORD)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(
                "SELECT u.email FROM user_account u JOIN membership m ON m.user_id = u.id "
                "WHERE m.club_id = 1 AND m.role = 'member' ORDER BY m.id LIMIT 1")).scalar_one()
    finally:
        engine.dispose()
