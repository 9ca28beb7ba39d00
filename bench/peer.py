"""Peer benchmark runner: django-hordak on the same PostgreSQL server as our ledger.

Importable from our main venv (no Django here): hordak runs in its own venv, bench/.peer-venv,
built from bench/peer-requirements.txt, and bench/peer_hordak.py does the measuring there.

    from bench.peer import run_peer
    run_peer("postgresql://coop:coop@127.0.0.1:5432/coop_test_peer", 2000)
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent
VENV = HERE / ".peer-venv"
REQUIREMENTS = HERE / "peer-requirements.txt"
SCRIPT = HERE / "peer_hordak.py"
MARKER = VENV / ".requirements.sha256"


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _run(cmd: list[str], what: str, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-30:])
        raise SystemExit(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc


def ensure_venv() -> Path:
    """Create bench/.peer-venv and install the pinned requirements, unless the marker says they are in."""
    python = _venv_python()
    if not python.exists():
        _run([sys.executable, "-m", "venv", str(VENV)], "creating bench/.peer-venv")
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not MARKER.exists() or MARKER.read_text().strip() != digest:
        _run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
            "pip install -r bench/peer-requirements.txt",
        )
        MARKER.write_text(digest + "\n")
    return python


def ensure_database(database_url: str) -> None:
    """CREATE DATABASE <name> on the URL's server if missing (via its `postgres` database, AUTOCOMMIT)."""
    url = make_url(database_url)
    name = url.database
    if not name:
        raise SystemExit(f"no database name in {url.render_as_string(hide_password=True)}")
    server = url.set(drivername="postgresql+psycopg", database="postgres")
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).scalar()
            if not exists:
                conn.execute(text(f"CREATE DATABASE {conn.dialect.identifier_preparer.quote(name)}"))
    finally:
        engine.dispose()


def django_url(database_url: str) -> str:
    """postgresql+psycopg://… (SQLAlchemy style) -> postgresql://… for the peer script."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise SystemExit(f"the peer benchmark needs PostgreSQL, got {url.drivername}")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def run_peer(database_url: str, n: int) -> dict:
    """Run bench/peer_hordak.py in the peer venv against database_url (recreated from scratch); return its JSON."""
    python = ensure_venv()
    ensure_database(database_url)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV")}
    proc = _run(
        [str(python), str(SCRIPT), "--database-url", django_url(database_url), "--n", str(n)],
        "bench/peer_hordak.py",
        env=env,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if not lines:
        raise SystemExit(f"bench/peer_hordak.py printed nothing; stderr:\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1])
