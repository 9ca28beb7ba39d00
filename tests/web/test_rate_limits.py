"""Rate limits hold across workers and per account (issue 15, point 6).

Counts live in the database (``coop/ratelimit.py``): workers that share it count together, where
``memory://`` gave each gunicorn worker its own allowance. Wrong passwords are also counted per account,
whatever the address they come from."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import PASSWORD, TRAVEL, Browser, say

#: One worker: its own application and engine on the test's database, three wrong passwords, the answers.
WORKER = """
import json, sys, time_machine
time_machine.travel(float(sys.argv[3]), tick=True).start()
from coop import create_app
from coop.config import TestConfig
config = type("Worker", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": sys.argv[1], "RATELIMIT_LOGIN": "3 per minute",
                                          "WTF_CSRF_ENABLED": False})
client = create_app(config).test_client()
codes = []
for _ in range(3):
    client.get("/account/login")
    codes.append(client.post("/account/login", data={"email": sys.argv[2], "password": "guessing"}).status_code)
print(json.dumps(codes))
"""


def worker(database_url: str, email: str) -> list[int]:
    """A process of its own, as a gunicorn worker is (the test's own app does not take part)."""
    done = subprocess.run([sys.executable, "-c", WORKER, database_url, email, str(TRAVEL)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "COOP_ENV": ""})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_workers_count_wrong_passwords_together(app, database, make_user):
    """Three a minute from one address: the second worker refuses what the first one already counted."""
    user = make_user()

    first = worker(database.url, user.email)
    second = worker(database.url, user.email)

    assert first == [401, 401, 401]
    assert second == [429, 429, 429]


def test_wrong_passwords_for_one_account_from_many_addresses_are_throttled(app, make_user):
    app.config["RATELIMIT_LOGIN_ACCOUNT"] = "3 per minute"
    target, other = make_user(), make_user()

    def login(user, password, address):
        browser = Browser(app.test_client())
        browser.client.environ_base["REMOTE_ADDR"] = address
        return browser.login(user, password=password)

    for n in range(3):
        assert login(target, "guessing", f"198.51.100.{n}").status_code == 401
    refused = login(target, PASSWORD, "203.0.113.9")  # a new address, even with the right password
    assert refused.status_code == 429
    assert say("Too many attempts. Wait a moment and try again.") in refused.text
    assert login(other, PASSWORD, "198.51.100.1").status_code == 302  # the other members are not locked out


def test_logging_in_rightly_is_not_counted_against_the_account(app, make_user):
    app.config["RATELIMIT_LOGIN_ACCOUNT"] = "2 per minute"
    user = make_user()
    for _ in range(4):
        browser = Browser(app.test_client())
        assert browser.login(user).status_code == 302
