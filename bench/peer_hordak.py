"""Peer benchmark: django-hordak on PostgreSQL.

Standalone script, run with the peer's own interpreter (bench/.peer-venv, see bench/peer.py):

    bench/.peer-venv/bin/python bench/peer_hordak.py --database-url postgresql://coop:coop@127.0.0.1:5432/coop_test_peer --n 2000

The database is a throwaway: its `public` schema is dropped and rebuilt by hordak's own migrations
(which install hordak's PL/pgSQL triggers and balance functions). Prints one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from importlib.metadata import version
from urllib.parse import unquote, urlsplit

API_POSTING = "Account.transfer_to(other, Money(1, 'EUR')) — @transaction.atomic: 1 Transaction + 2 Legs (credit A, debit B)"
API_BALANCE = "Account.get_balance() on the already-loaded leaf Account instance (no re-fetch; get_descendants + leg sum)"


def django_database(url: str) -> dict:
    """DATABASES['default'] from a postgresql:// (or postgresql+driver://) URL."""
    parts = urlsplit(url)
    if parts.scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise SystemExit(f"unsupported database URL scheme: {parts.scheme}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


def configure(database_url: str) -> None:
    import django
    from django.conf import settings

    settings.configure(
        # contenttypes: hordak's migration 0018 depends on it; auth is not needed.
        INSTALLED_APPS=["django.contrib.contenttypes", "mptt", "hordak"],
        DATABASES={"default": django_database(database_url)},
        USE_TZ=True,
        TIME_ZONE="UTC",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        # hordak / django-money currency settings: everything in EUR
        DEFAULT_CURRENCY="EUR",
        HORDAK_INTERNAL_CURRENCY="EUR",
        CURRENCIES=["EUR"],
        HORDAK_CURRENCIES=["EUR"],
        SECRET_KEY="peer-bench",
    )
    django.setup()


def reset_schema() -> None:
    """Drop and recreate `public`, then let hordak's migrations build everything (tables, triggers, functions)."""
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cur:
        # Guard against pointing this at a real database: only hordak's/Django's own tables may be there.
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        foreign = sorted(t for (t,) in cur.fetchall() if not t.startswith(("hordak_", "django_")))
        if foreign:
            raise SystemExit(f"refusing to drop schema public of {connection.settings_dict['NAME']}: it holds {foreign[:5]}")
        cur.execute("DROP SCHEMA IF EXISTS public CASCADE")
        cur.execute("CREATE SCHEMA public")
    call_command("migrate", verbosity=0)


def summarise(timings: list[float]) -> dict:
    n = len(timings)
    ordered = sorted(timings)
    return {
        "runs": n,
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[max(int(n * 0.95) - 1, 0)] * 1000, 3),
        "per_second": round(n / sum(timings), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    n = args.n
    if n < 1:
        raise SystemExit("--n must be >= 1")

    configure(args.database_url)
    reset_schema()

    import django
    from hordak.models import Account, AccountType
    from hordak.utilities.currency import Balance
    from moneyed import Money

    # Accounts live in an MPTT tree; only roots carry a type. One asset root, two EUR leaf children.
    assets = Account.objects.create(name="Assets", code="1", type=AccountType.asset, currencies=["EUR"])
    a = Account.objects.create(name="Bench A", code="1", parent=assets, currencies=["EUR"])
    b = Account.objects.create(name="Bench B", code="2", parent=assets, currencies=["EUR"])

    # Workload A: n committed transfers of 1.00 EUR from A to B (autocommit outside; transfer_to is atomic).
    one = Money(1, "EUR")
    posting = []
    for _ in range(n):
        t0 = time.perf_counter()
        a.transfer_to(b, one)
        posting.append(time.perf_counter() - t0)

    # Workload B: n balance reads of A.
    balance_read = []
    for _ in range(n):
        t0 = time.perf_counter()
        a.get_balance()
        balance_read.append(time.perf_counter() - t0)

    # transfer_to credits the source and debits the destination; for asset accounts that is A -n, B +n.
    got_a, got_b = a.get_balance(), b.get_balance()
    want_a, want_b = Balance(-n, "EUR"), Balance(n, "EUR")
    if got_a != want_a or got_b != want_b:
        print(f"balance mismatch: A={got_a} (want {want_a}), B={got_b} (want {want_b})", file=sys.stderr)
        return 1

    result = {
        "peer": "django-hordak",
        "version": version("django-hordak"),
        "django": django.get_version(),
        "posting": summarise(posting),
        "balance_read": summarise(balance_read),
        "api": {"posting": API_POSTING, "balance_read": API_BALANCE},
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
