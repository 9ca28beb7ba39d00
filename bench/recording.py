"""Recording a time exchange and a contribution through the service layer, against a raw-SQL baseline
that writes the same rows (the ledger's chain head and accounts locked, a sealed transaction, its postings,
the balances and the head moved, the exchange or contribution row, the audit entry and, for an exchange,
the form's one-time key) after the reads the rules cannot do without: the acting member and the other
member, active, in this club (R12, R4); for a contribution, the replayed form (R4), the charter's yearly
cap and what the member paid this year. The baseline is what a careful hand-written implementation would
send; the ratio is what the service layer (validation, the ORM, the audit, the unit of work) costs on top
of it.

One thread works in club 1; eight threads work each in a club of its own (clubs 1–8), as members of many
clubs would. Throughput is operations per second of wall time.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import date

from sqlalchemy import select, text

from bench.stats import median_p95


def _people(app, club_id: int) -> dict:
    from coop.extensions import db
    from coop.models import Account, Membership

    with app.app_context():
        members = db.session.execute(select(Membership.id, Membership.user_id, Membership.role)
                                     .where(Membership.club_id == club_id).order_by(Membership.id)).all()
        accounts = dict(db.session.execute(select(Account.code, Account.id).where(Account.club_id == club_id)).all())
        db.session.remove()
    treasurer = next(user for _m, user, role in members if role == "treasurer")
    return {"club": club_id, "members": [(m, u) for m, u, _r in members], "treasurer": treasurer,
            "accounts": accounts}


def service_exchange(people: dict, i: int) -> None:
    from coop.services import timebank

    members = people["members"]
    provider, receiver = members[i % len(members)], members[(i + 1) % len(members)]
    timebank.record_exchange(receiver[1], people["club"], other_id=provider[0], direction="received", minutes=60,
                             done_on=date.today(), description="Aide au jardin", form_key=uuid.uuid4().hex)


def service_contribution(people: dict, i: int) -> None:
    from coop.services import fund

    member = people["members"][i % len(people["members"])]
    fund.record_contribution(people["treasurer"], people["club"], membership_id=member[0], amount=1000,
                             received_on=date.today(), method="transfer", bank_reference=f"VIR-{i}",
                             idempotency_key=uuid.uuid4().hex)


def _raw_posting(conn, club_id: int, kind: str, unit: str, memo: str, author: int | None, lines, pg: bool,
                 key: str | None = None) -> int:
    from coop.chain import seal
    from coop.services.ledger import chain_key

    for_update = " FOR UPDATE" if pg else ""
    seq, prev = conn.execute(text("SELECT seq, hash FROM ledger_head WHERE club_id = :c" + for_update),
                             {"c": club_id}).one()
    ids = sorted(a for a, _ in lines)
    conn.execute(text("SELECT id, balance, floor, ceiling FROM account WHERE club_id = :c AND id IN (:a, :b) "
                      "ORDER BY id" + for_update), {"c": club_id, "a": ids[0], "b": ids[1]})
    key, today = key or uuid.uuid4().hex, date.today()
    digest = seal(prev, club_id=club_id, seq=seq + 1, unit=unit, kind=kind, occurred_on=today, memo=memo,
                  author_id=author, idempotency_key=key, reverses_id=None, postings=lines, key=chain_key())
    txn = conn.execute(text(
        "INSERT INTO journal_transaction (club_id, unit, kind, memo, occurred_on, author_id, idempotency_key, "
        "created_at, seq, hash) VALUES (:c, :u, :k, :m, :d, :a, :key, CURRENT_TIMESTAMP, :s, :h) RETURNING id"),
        {"c": club_id, "u": unit, "k": kind, "m": memo, "d": today, "a": author, "key": key, "s": seq + 1,
         "h": digest}).scalar_one()
    (a, x), (b, y) = lines
    conn.execute(text("INSERT INTO posting (club_id, transaction_id, account_id, amount) VALUES "
                      "(:c, :t, :a, :x), (:c, :t, :b, :y)"), {"c": club_id, "t": txn, "a": a, "x": x, "b": b, "y": y})
    for account_id, amount in lines:
        conn.execute(text("UPDATE account SET balance = balance + :x WHERE id = :a AND club_id = :c"),
                     {"x": amount, "a": account_id, "c": club_id})
    conn.execute(text("UPDATE ledger_head SET seq = :s, hash = :h WHERE club_id = :c"),
                 {"s": seq + 1, "h": digest, "c": club_id})
    return txn


def _audit(conn, club_id: int, actor: int, action: str, object_type: str, object_id: int, after: dict) -> None:
    value = "CAST(:af AS JSON)" if conn.dialect.name == "postgresql" else ":af"
    conn.execute(text("INSERT INTO audit_entry (club_id, actor_id, action, object_type, object_id, after, created_at) "
                      f"VALUES (:c, :a, :ac, :t, :o, {value}, CURRENT_TIMESTAMP)"),
                 {"c": club_id, "a": actor, "ac": action, "t": object_type, "o": object_id, "af": json.dumps(after)})


_MEMBER = text("SELECT id, status, role FROM membership WHERE club_id = :c AND user_id = :u AND status = 'active'")
_PARTNER = text("SELECT id, club_id, status FROM membership WHERE id = :m AND club_id = :c")


def raw_exchange(conn, people: dict, i: int, pg: bool) -> None:
    members, accounts, club = people["members"], people["accounts"], people["club"]
    provider, receiver = members[i % len(members)], members[(i + 1) % len(members)]
    conn.execute(_MEMBER, {"c": club, "u": receiver[1]}).one()
    conn.execute(_PARTNER, {"m": provider[0], "c": club}).one()
    conn.execute(text("INSERT INTO used_form_key (key, club_id, user_id, used_at) "
                      "VALUES (:k, :c, :u, CURRENT_TIMESTAMP)"), {"k": uuid.uuid4().hex, "c": club, "u": receiver[1]})
    txn = _raw_posting(conn, club, "exchange", "time", "Aide au jardin", receiver[1],
                       [(accounts[f"time:{provider[0]}"], 60), (accounts[f"time:{receiver[0]}"], -60)], pg)
    exchange = conn.execute(text(
        "INSERT INTO exchange (club_id, provider_id, receiver_id, started_by_id, recorded_by_id, minutes, done_on, "
        "description, status, transaction_id, recorded_at, confirmed_at, created_at) VALUES (:c, :p, :r, :r, :r, 60, "
        ":d, 'Aide au jardin', 'confirmed', :t, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) "
        "RETURNING id"), {"c": club, "p": provider[0], "r": receiver[0], "d": date.today(), "t": txn}).scalar_one()
    _audit(conn, club, receiver[1], "exchange.record", "Exchange", exchange, {"minutes": 60})


def raw_contribution(conn, people: dict, i: int, pg: bool) -> None:
    members, accounts, club = people["members"], people["accounts"], people["club"]
    member = members[i % len(members)]
    if pg:  # the service locks the club's row first (money is recorded one entry at a time per club)
        conn.execute(text("SELECT id FROM club WHERE id = :c FOR UPDATE"), {"c": club})
    conn.execute(_MEMBER, {"c": club, "u": people["treasurer"]}).one()
    conn.execute(_PARTNER, {"m": member[0], "c": club}).one()
    key = uuid.uuid4().hex
    conn.execute(text("SELECT id FROM journal_transaction WHERE club_id = :c AND idempotency_key = :k"),
                 {"c": club, "k": key}).first()
    conn.execute(text("SELECT max_yearly_contribution FROM charter WHERE club_id = :c ORDER BY version DESC LIMIT 1"),
                 {"c": club}).one()
    conn.execute(text("SELECT coalesce(sum(amount), 0) FROM contribution WHERE club_id = :c AND membership_id = :m "
                      "AND received_on BETWEEN :a AND :b"),
                 {"c": club, "m": member[0], "a": date(date.today().year, 1, 1), "b": date(date.today().year, 12, 31)}).one()
    txn = _raw_posting(conn, club, "contribution", "money", f"Membre — VIR-{i}", people["treasurer"],
                       [(accounts["bank"], 1000), (accounts[f"capital:{member[0]}"], -1000)], pg, key)
    contribution = conn.execute(text(
        "INSERT INTO contribution (club_id, membership_id, amount, received_on, method, bank_reference, source, "
        "transaction_id, recorded_by_id, created_at) VALUES (:c, :m, 1000, :d, 'transfer', :ref, 'form', :t, :u, "
        "CURRENT_TIMESTAMP) RETURNING id"),
        {"c": club, "m": member[0], "d": date.today(), "ref": f"VIR-{i}", "t": txn, "u": people["treasurer"]}
    ).scalar_one()
    _audit(conn, club, people["treasurer"], "contribution.record", "Contribution", contribution, {"amount": 1000})


def _service_worker(app, people: dict, op, n: int, timings: list) -> None:
    from coop import notify
    from coop.extensions import db

    with app.app_context(), notify.suppressed():
        for i in range(n):
            start = time.perf_counter()
            op(people, i)
            timings.append(time.perf_counter() - start)
        db.session.remove()


def _raw_worker(app, people: dict, op, n: int, timings: list) -> None:
    from coop.database import IMMEDIATE
    from coop.extensions import db

    with app.app_context():
        pg = db.engine.dialect.name == "postgresql"
        with db.engine.connect() as conn:
            conn = conn.execution_options(**{IMMEDIATE: True})
            for i in range(n):
                start = time.perf_counter()
                with conn.begin():
                    op(conn, people, i, pg)
                timings.append(time.perf_counter() - start)


def _run(app, clubs: list[dict], worker, op, n: int) -> dict:
    timings: list[float] = []
    threads = [threading.Thread(target=worker, args=(app, people, op, n, timings)) for people in clubs]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {"operations": len(timings), "threads": len(clubs), **median_p95(timings),
            "per_second": round(len(timings) / wall, 1)}


def measure(app, n: int) -> dict:
    """Service and raw, exchange and contribution, 1 thread and 8 threads; and each ratio service / raw."""
    clubs = [_people(app, club_id) for club_id in range(1, 9)]
    out = {}
    for name, service_op, raw_op in (("exchange", service_exchange, raw_exchange),
                                     ("contribution", service_contribution, raw_contribution)):
        for threads in (1, 8):
            chosen, per_thread = clubs[:threads], max(1, n // threads)
            raw = _run(app, chosen, _raw_worker, raw_op, per_thread)
            service = _run(app, chosen, _service_worker, service_op, per_thread)
            out[f"{name}, {threads} thread{'s' if threads > 1 else ''}"] = {
                "raw_sql": raw, "service": service,
                "ratio_service_to_raw": round(service["per_second"] / raw["per_second"], 3)}
    return out
