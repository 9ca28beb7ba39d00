"""How long a password-reset request takes to answer, for an address with an account and for an unknown one
(issue 15, point 7): `python -m bench.mail_timing [--runs 40] [--smtp-delay 0.2]`.

A local SMTP server (tests/smtp.py) that takes ``--smtp-delay`` seconds to accept each message stands for a
slow mail server. With the outbox (the default, ``MAIL_BACKGROUND``) both answers should take about the same
time, a few milliseconds apart (the reset row, the audit entry, rendering the message); sending within the
request (``MAIL_BACKGROUND = False``) adds the server's delay to the known address only. SQLite in a temporary
file, the test client: figures for comparing the two, not for a production server. Timing belongs here, never
in the tests.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path


def _app(url: str, background: bool):
    import flask_migrate

    from coop import create_app
    from coop.config import TestConfig

    config = type("MailBenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
                                                     "MAIL_BACKGROUND": background})
    app = create_app(config)
    with app.app_context():
        flask_migrate.upgrade()
    return app


def _measure(app, email: str, runs: int) -> list[float]:
    client = app.test_client()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.post("/account/reset", data={"email": email})
        times.append(time.perf_counter() - started)
        assert response.status_code == 302, response.status_code
    return times


def _slowed(receive, delay: float):
    async def slowly(envelope):
        await asyncio.sleep(delay)
        return await receive(envelope)

    return slowly


def run(runs: int, smtp_delay: float) -> dict:
    from coop import mail
    from coop.services import auth
    from tests.smtp import smtp_server

    results = {}
    for background in (True, False):
        with tempfile.TemporaryDirectory() as tmp:
            app = _app(f"sqlite:///{Path(tmp) / 'bench.sqlite'}", background)
            with app.app_context(), smtp_server(app) as inbox:
                inbox.receive = _slowed(inbox.receive, smtp_delay)
                known = auth.register("Camille Durand", f"camille-{uuid.uuid4().hex[:8]}@example.org",
                                      "un mot de passe solide", "fr")
                _measure(app, "personne@example.org", 3)  # warm up
                timings = {"known": _measure(app, known.email, runs),
                           "unknown": _measure(app, "personne@example.org", runs)}
                mail.flush(app, timeout=runs * (smtp_delay + 1) + 10)
                assert len(inbox.arrived) == runs
            results["outbox" if background else "within the request"] = {
                kind: {"median_ms": round(statistics.median(t) * 1000, 2),
                       "p90_ms": round(sorted(t)[int(len(t) * 0.9) - 1] * 1000, 2)} for kind, t in timings.items()}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--smtp-delay", type=float, default=0.2)
    args = parser.parse_args()
    results = run(args.runs, args.smtp_delay)
    print(f"POST /account/reset, {args.runs} requests each, mail server accepting in {args.smtp_delay * 1000:.0f} ms")
    for mode, kinds in results.items():
        for kind, figures in kinds.items():
            print(f"  {mode:<20} {kind:<8} median {figures['median_ms']:>8.2f} ms   p90 {figures['p90_ms']:>8.2f} ms")


if __name__ == "__main__":
    main()
