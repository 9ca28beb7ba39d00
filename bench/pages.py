"""Server time of the main pages of club 1, in a process of its own (so its peak memory is the memory of
serving them): ``python -m bench.pages DATABASE_URL RUNS`` prints one JSON object.

Each page is requested through the application (Flask's test client: routing, views, services, database,
templates; no network), once to warm up, then RUNS times; median and 95th percentile in milliseconds.
"""
from __future__ import annotations

import json
import resource
import sys
import time

from bench.generate import PASSWORD
from bench.stats import median_p95


def _app(url: str):
    from coop import create_app
    from coop.config import Config

    config = type("BenchPagesConfig", (Config,), {
        "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False, "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8, "ARGON2_PARALLELISM": 1})
    return create_app(config)


def _log_in(client, email: str) -> None:
    response = client.post("/account/login", data={"email": email, "password": PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"could not log in as {email}: {response.status_code}")


def peak_memory_mb() -> float:
    """This process's peak resident memory. Linux keeps getrusage's maximum across exec (a child started by a
    big parent would report the parent's size), so /proc's VmHWM is read where it exists."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _summary(timings: list[float]) -> dict:
    return {"runs": len(timings), **median_p95(timings, digits=2)}


def measure(url: str, runs: int) -> dict:
    app = _app(url)
    with app.app_context():
        from sqlalchemy import select

        from coop.extensions import db
        from coop.models import Account, Ballot, JournalTransaction, Membership, User
        from coop.services.books import Cursor

        people = dict(db.session.execute(select(Membership.role, User.email).join(User, User.id == Membership.user_id)
                                         .where(Membership.club_id == 1, Membership.role.in_(("member", "treasurer"))))
                      .all())
        bank = db.session.scalar(select(Account.id).where(Account.club_id == 1, Account.code == "bank"))
        ballot = db.session.scalar(select(Ballot.id).where(Ballot.club_id == 1, Ballot.status == "closed")
                                   .order_by(Ballot.id.desc()))
        deep = db.session.execute(select(JournalTransaction.occurred_on, JournalTransaction.id)
                                  .where(JournalTransaction.club_id == 1)
                                  .order_by(JournalTransaction.occurred_on.desc(), JournalTransaction.id.desc())
                                  .offset(10_000).limit(1)).first()
        db.session.remove()
    if deep is None:
        raise SystemExit("club 1 has fewer than 10,000 transactions: no deep journal page to measure")
    pages = {
        "member home": ("member", "/clubs/1/"),
        "journal page 1": ("treasurer", "/clubs/1/books"),
        "journal 10,000 rows deep": ("treasurer", f"/clubs/1/books?after={Cursor(deep[0], deep[1])}"),
        "account statement": ("treasurer", f"/clubs/1/books/accounts/{bank}"),
        "trial balance": ("treasurer", "/clubs/1/books/trial-balance"),
        "fund position": ("member", "/clubs/1/fund"),
        "ballot results": ("member", f"/clubs/1/ballots/{ballot}"),
        "offers search": ("member", "/clubs/1/time/offers?q=velo"),
    }
    clients = {}
    for role in ("member", "treasurer"):
        clients[role] = app.test_client()
        _log_in(clients[role], people[role])
    results = {}
    for name, (role, path) in pages.items():
        client = clients[role]
        first = client.get(path)
        if first.status_code != 200:
            raise SystemExit(f"{name}: {path} answered {first.status_code}")
        timings = []
        for _ in range(runs):
            start = time.perf_counter()
            client.get(path)
            timings.append(time.perf_counter() - start)
        results[name] = _summary(timings)
    return {"pages": results, "peak_memory_mb": peak_memory_mb()}


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]))))
