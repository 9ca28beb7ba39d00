"""Entraide's benchmarks: `make bench` (python -m bench).

    python -m bench [--clubs 1000] [--runs 50] [--n 2000] [--database-url URL]

For each database (SQLite in a temporary file; PostgreSQL when
BENCH_DATABASE_URL or TEST_DATABASE_URL is set, in a database of its own; Citus, a coordinator and its
workers, when CITUS_BENCH_URL or CITUS_DATABASE_URL is set, every table distributed by club):

- ledger posting through the service layer against a raw-SQL baseline
  doing the same row writes;
- the main pages' server time with one club (small) and inside a large
  install (``--clubs`` clubs of 20 members, about 1,000 postings per club,
  built by bench/generate.py), and the peak memory of the process that
  served them at large scale.

Prints a table and writes bench/results.json with the machine it ran on.
Figures live here, never in timed tests. ``--clubs 50`` makes a quick run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text

HERE = Path(__file__).resolve().parent


def _app(url: str):
    import flask_migrate

    from coop import create_app
    from coop.config import Config

    config = type("BenchConfig", (Config,), {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                                             "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8,
                                             "ARGON2_PARALLELISM": 1})
    app = create_app(config)
    citus = url in _CITUS
    with app.app_context():
        from coop.extensions import db

        if citus:
            from coop import citus as distributed

            with db.engine.begin() as conn:
                distributed.drop_tables(conn)
        elif url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        flask_migrate.upgrade()
        if citus:  # (flask db upgrade has distributed every table: with this many shards, the first time)
            with db.engine.connect() as conn:
                problems = distributed.check(conn)
            if problems:
                raise SystemExit(f"Citus: {problems}")
        db.engine.dispose()
    return app


#: The URLs that are Citus coordinators: their tables are distributed by club (with the cluster's
#: citus.shard_count shards, 8 from .ci/citus-setup: 4 on each of two workers).
_CITUS = set()


def _bench_database(url: str, tests: str) -> str:
    """``url`` through psycopg 3, and never the tests' own database ``tests``: its ``…_bench`` twin instead."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url + "_bench" if url.endswith(f"/{tests}") else url


def _clubs_per_worker(url: str) -> dict[str, int]:
    """How many clubs each worker holds (Citus): the install is spread over the cluster."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT p.nodename || ':' || p.nodeport, sum(r.result::int) "
            "FROM run_command_on_shards('club', $$SELECT count(*) FROM %s$$) r "
            "JOIN pg_dist_shard_placement p USING (shardid) GROUP BY 1 ORDER BY 1")).all()
    engine.dispose()
    return {node: int(count) for node, count in rows}


def _setup_club(app):
    from bench.generate import PASSWORD
    from coop.services import auth, clubs, ledger

    with app.app_context():
        user = auth.register("Bench", f"bench-{uuid.uuid4().hex[:8]}@example.org", PASSWORD, "fr")
        club = clubs.create_club(user.id, name="Bench", town="Die", country="FR", currency="EUR",
                                      form_key=uuid.uuid4().hex)
        a = ledger.open_account(club.id, code="bench:a", name="A", type="asset", unit="money")
        b = ledger.open_account(club.id, code="bench:b", name="B", type="asset", unit="money")
        from coop.services.uow import unit_of_work

        with unit_of_work():
            ledger.lock_for_posting(club.id)  # the chain head exists before the raw baseline reads it
        return club.id, a.id, b.id


def service_posts(app, club_id, a, b, n):
    from coop.services import ledger

    timings = []
    with app.app_context():
        for _ in range(n):
            start = time.perf_counter()
            ledger.post(club_id, unit="money", kind="adjustment", lines=[(a, 100), (b, -100)],
                        idempotency_key=uuid.uuid4().hex)
            timings.append(time.perf_counter() - start)
    return timings


def raw_posts(app, club_id, a, b, n):
    """The floor: the same row writes as the ledger in plain SQL — lock the club's chain head and the two
    accounts, insert a sealed transaction and two postings, move two balances and the head, commit."""
    from bench.recording import _raw_posting
    from coop.database import IMMEDIATE
    from coop.extensions import db

    timings = []
    with app.app_context():
        pg = db.engine.dialect.name == "postgresql"
        with db.engine.connect() as conn:
            conn = conn.execution_options(**{IMMEDIATE: True})
            for _ in range(n):
                start = time.perf_counter()
                with conn.begin():
                    _raw_posting(conn, club_id, "adjustment", "money", "", None, [(a, 100), (b, -100)], pg)
                timings.append(time.perf_counter() - start)
    return timings


def _summary(timings):
    from bench.stats import median_p95

    return {"runs": len(timings), **median_p95(timings), "per_second": round(len(timings) / sum(timings), 1)}


def pages(url: str, clubs: int, runs: int) -> dict:
    """Build an install of ``clubs`` clubs and time club 1's pages in a fresh process."""
    import subprocess
    import sys

    from bench.generate import Size, build, results_ballot

    app = _app(url)
    built = build(app, Size(clubs=clubs))
    results_ballot(app, built)
    out = subprocess.run([sys.executable, "-m", "bench.pages", url, str(runs)], capture_output=True, text=True,
                         cwd=HERE.parent, check=False)
    if out.returncode:
        raise SystemExit(f"page timings failed: {out.stderr[-2000:]}")
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    measured.update({"clubs": clubs, "postings": built.rows["posting"], "build_seconds": round(built.seconds, 1)})
    if url in _CITUS:
        measured["clubs_per_worker"] = _clubs_per_worker(url)
    return measured


def recording(url: str, n: int) -> dict:
    """Exchanges and contributions through the services against raw SQL, in eight clubs of twenty."""
    from bench.generate import Size, build
    from bench.recording import measure

    app = _app(url)
    build(app, Size(clubs=8, first_club_exchanges_per_member=13))
    figures = measure(app, n)
    with app.app_context():
        from coop.extensions import db
        from coop.services import fund, ledger, timebank

        problems = ledger.check() + fund.check_contributions() + timebank.check()
        db.engine.dispose()
    if problems:
        raise SystemExit(f"invariants broken after the recording benchmark: {problems[:3]}")
    return figures


def balance_reads(app, account_id: int, n: int) -> list[float]:
    """Reading one account's balance through the ledger, each read its own short transaction."""
    from coop.extensions import db
    from coop.services import ledger

    timings = []
    with app.app_context():
        for _ in range(n):
            start = time.perf_counter()
            ledger.balance_of(account_id)
            db.session.commit()
            timings.append(time.perf_counter() - start)
        db.session.remove()
    return timings


def run(url: str, n: int) -> dict:
    """Plain postings between two accounts, through the ledger and in raw SQL; then reading a balance."""
    app = _app(url)
    club_id, a, b = _setup_club(app)
    raw = _summary(raw_posts(app, club_id, a, b, n))
    service = _summary(service_posts(app, club_id, a, b, n))
    reads = _summary(balance_reads(app, a, n))
    with app.app_context():
        from coop.extensions import db
        from coop.services import ledger

        problems = ledger.check()
        db.engine.dispose()
    if problems:
        raise SystemExit(f"ledger check failed after the benchmark: {problems[:3]}")
    return {"posting": {"raw_sql": raw, "service": service,
                        "ratio_service_to_raw": round(service["per_second"] / raw["per_second"], 3)},
            "balance_read": reads}


def serving(url: str, seconds: int) -> dict:
    """Requests per second through gunicorn and wrk on the install at ``url`` (club 1's member)."""
    from bench import serving as http
    from bench.generate import member_email

    missing = http.available()
    if missing:
        print(f"No requests per second: {missing}.")
        return {"skipped": missing}
    return http.measure(url, member_email(url), seconds=seconds)


def peer(url: str, n: int, ours: dict) -> dict:
    """django-hordak on the same PostgreSQL server, in a database of its own; ratios ours / hordak."""
    from bench.peer import run_peer

    measured = run_peer(url.rsplit("/", 1)[0] + "/" + url.rsplit("/", 1)[1] + "_peer", n)
    measured["ratio_ours_to_peer"] = {
        "posting": round(ours["posting"]["service"]["per_second"] / measured["posting"]["per_second"], 2),
        "balance_read": round(ours["balance_read"]["per_second"] / measured["balance_read"]["per_second"], 2)}
    return measured


def _machine(urls: dict) -> dict:
    import sqlite3

    machine = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
               "sqlite": sqlite3.sqlite_version}
    try:
        with open("/proc/cpuinfo") as cpu:
            machine["cpu"] = next((line.split(":", 1)[1].strip() for line in cpu if line.startswith("model name")), "")
        with open("/proc/meminfo") as mem:
            machine["memory_mb"] = int(mem.readline().split()[1]) // 1024
    except OSError:
        pass
    if "postgresql" in urls:
        from sqlalchemy import create_engine

        engine = create_engine(urls["postgresql"]("version"))
        with engine.connect() as conn:
            machine["postgresql"] = conn.execute(text("SHOW server_version")).scalar()
        engine.dispose()
    if "citus" in urls:
        from sqlalchemy import create_engine

        engine = create_engine(urls["citus"]("version"))
        with engine.connect() as conn:
            machine["citus"] = conn.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'citus'")).scalar()
            machine["citus_workers"] = conn.execute(text("SELECT count(*) FROM pg_dist_node WHERE noderole = 'primary' "
                                                         "AND groupid <> 0")).scalar()
        engine.dispose()
    return machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="operations per recording measure (default 2000)")
    parser.add_argument("--clubs", type=int, default=1000, help="clubs in the large install (default 1000)")
    parser.add_argument("--runs", type=int, default=50, help="runs per page (default 50)")
    parser.add_argument("--seconds", type=int, default=10, help="seconds of wrk per endpoint (default 10)")
    parser.add_argument("--quick", action="store_true",
                        help="a reduced size for a quick run: 50 clubs, 500 operations, 5 s of wrk")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--citus-url", default=os.environ.get("CITUS_BENCH_URL") or os.environ.get("CITUS_DATABASE_URL"),
                        help="a Citus coordinator with its workers (default: CITUS_BENCH_URL, CITUS_DATABASE_URL)")
    args = parser.parse_args()
    if args.quick:
        args.clubs, args.n, args.seconds = min(args.clubs, 50), min(args.n, 500), min(args.seconds, 5)

    started = time.time()
    urls = {}
    with tempfile.TemporaryDirectory() as tmp:
        urls["sqlite"] = lambda name: f"sqlite:///{tmp}/{name}.sqlite"
        if args.database_url:
            url = _bench_database(args.database_url, "coop_test")
            urls["postgresql"] = lambda _name, url=url: url
        else:
            print("No PostgreSQL (set BENCH_DATABASE_URL or TEST_DATABASE_URL): SQLite only, no peer comparison.")
        if args.citus_url:
            url = _bench_database(args.citus_url, "coop_citus")
            _CITUS.add(url)
            urls["citus"] = lambda _name, url=url: url
        results = {"machine": _machine(urls), "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
                   "n": args.n, "clubs": args.clubs, "runs": args.runs, "backends": {}}
        for backend, url_for in urls.items():
            figures = run(url_for("posting"), args.n)
            figures["recording"] = recording(url_for("recording"), args.n)
            small = pages(url_for("small"), 1, args.runs)
            large = pages(url_for("large"), args.clubs, args.runs)
            figures["pages"] = {"small": small, "large": large, "ratio_large_to_small": {
                name: round(large["pages"][name]["median_ms"] / small["pages"][name]["median_ms"], 2)
                for name in small["pages"]}}
            figures["serving"] = serving(url_for("large"), args.seconds)
            if backend == "postgresql":
                figures["peer"] = peer(url_for("peer"), args.n, figures)
            results["backends"][backend] = figures
    results["seconds"] = round(time.time() - started)
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    show_in_readme(results)


def show_in_readme(results: dict, readme: Path = HERE.parent / "README.md") -> None:
    """Put the table between the README's bench markers, so that the README shows the latest run."""
    text_ = readme.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start in text_ and end in text_:
        before, rest = text_.split(start, 1)
        readme.write_text(before + start + "\n" + table(results) + "\n" + end + rest.split(end, 1)[1])


def table(results: dict) -> str:
    """The figures as the README shows them (markdown)."""
    lines = []
    backends = results["backends"]
    names = list(backends)
    lines.append("| measure | " + " | ".join(names) + " | target |")
    lines.append("|---|" + "---|" * len(names) + "---|")

    def row(label: str, values: list[str], target: str = "") -> None:
        lines.append(f"| {label} | " + " | ".join(values) + f" | {target} |")

    def each(get) -> list[str]:
        out = []
        for name in names:
            try:
                out.append(get(backends[name]))
            except KeyError:
                out.append("—")
        return out

    row("posting: raw SQL / service, per s", each(
        lambda f: f"{f['posting']['raw_sql']['per_second']:.0f} / {f['posting']['service']['per_second']:.0f}"))
    row("posting: service / raw", each(lambda f: f"{f['posting']['ratio_service_to_raw']:.2f}"), "≥ 0.5")
    for name in backends[names[0]]["recording"]:
        row(f"{name}: raw / service, per s", each(
            lambda f, name=name: f"{f['recording'][name]['raw_sql']['per_second']:.0f} / "
                                 f"{f['recording'][name]['service']['per_second']:.0f}"))
        row(f"{name}: service / raw", each(
            lambda f, name=name: f"{f['recording'][name]['ratio_service_to_raw']:.2f}"), "≥ 0.5")
    for page in backends[names[0]]["pages"]["small"]["pages"]:
        row(f"{page}: median ms small → large (p95 large)", each(
            lambda f, page=page: f"{f['pages']['small']['pages'][page]['median_ms']:.1f} → "
                                 f"{f['pages']['large']['pages'][page]['median_ms']:.1f} "
                                 f"({f['pages']['large']['pages'][page]['p95_ms']:.1f})"), "≤ 50")
        row(f"{page}: large / small", each(lambda f, page=page: f"{f['pages']['ratio_large_to_small'][page]:.2f}"),
            "≤ 1.5")
    row("peak memory serving the large install, MB", each(lambda f: f"{f['pages']['large']['peak_memory_mb']:.0f}"),
        "≤ 200")
    row("postings in the large install", each(lambda f: f"{f['pages']['large']['postings']:,}"))
    if any("clubs_per_worker" in f["pages"]["large"] for f in backends.values()):
        row("clubs per Citus worker (large install)", each(
            lambda f: " / ".join(f"{n:,}" for n in f["pages"]["large"]["clubs_per_worker"].values())))
    for endpoint in ("trivial", "member home", "exchange form"):
        row(f"wrk, {endpoint}: requests/s (ratio to trivial)", each(
            lambda f, e=endpoint: f"{f['serving']['endpoints'][e]['requests_per_second']:.0f} "
                                  f"({f['serving']['endpoints'][e]['ratio_to_trivial']:.2f})"))
    row("django-hordak: posting per s, ours / hordak", each(
        lambda f: f"{f['posting']['service']['per_second']:.0f} / {f['peer']['posting']['per_second']:.0f} "
                  f"= {f['peer']['ratio_ours_to_peer']['posting']:.1f}×"), "≥ 2×")
    row("django-hordak: balance reads per s, ours / hordak", each(
        lambda f: f"{f['balance_read']['per_second']:.0f} / {f['peer']['balance_read']['per_second']:.0f} "
                  f"= {f['peer']['ratio_ours_to_peer']['balance_read']:.1f}×"), "≥ 2×")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
