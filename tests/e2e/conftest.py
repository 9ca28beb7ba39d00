"""The real server on 127.0.0.1 with a fresh database, and Debian's Chromium
driven by Playwright. Without Chromium or Playwright the journeys skip
(and fail under CI=true)."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.smtp import Inbox, free_port

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "e2e" / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


#: `flask …` with the clock set to the moment given as first argument, and ticking.
SERVE_FROM = (
    "import sys, time_machine; time_machine.travel(float(sys.argv[1]), tick=True).start(); "
    "from flask.cli import main; sys.argv = ['flask', *sys.argv[2:]]; main()"
)

#: The live server's outgoing mail.
INBOX = Inbox()

#: What the running server uses, for journeys that prepare their club through the services.
LIVE: dict[str, str] = {}


def _unavailable(message: str):
    if CI:
        pytest.fail("CI=true but " + message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """`flask db upgrade` then `flask run` on a free port, with its own instance folder."""
    instance = tmp_path_factory.mktemp("instance")
    port = _free_port()
    # Registration finishes from a link in a mail: the server's mail arrives here (``register``).
    mail = Controller(INBOX.handler, hostname="127.0.0.1", port=free_port())
    mail.start()
    env = {
        **os.environ,
        "FLASK_APP": "coop:create_app",
        "COOP_INSTANCE_PATH": str(instance),
        "DATABASE_URL": f"sqlite:///{instance / 'e2e.sqlite'}",
        "SECRET_KEY": "e2e-only",
        "BASE_URL": f"http://127.0.0.1:{port}",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(mail.port),
        # Every journey registers and logs its people in from 127.0.0.1: room for all of them (the limits
        # themselves are tested in tests/web).
        "RATELIMIT_REGISTER": "500 per hour",
        "RATELIMIT_LOGIN": "500 per minute",
    }
    env.pop("COOP_ENV", None)
    LIVE["database_url"] = env["DATABASE_URL"]
    flask = [sys.executable, "-m", "flask"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    log = open(instance / "server.log", "w")
    # The server keeps the tests' clock (tests/conftest.py moves it to the start of today), so
    # that the pages and the services the journeys call agree on the day even across midnight.
    server = subprocess.Popen([sys.executable, "-c", SERVE_FROM, str(time.time()),
                               "run", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT,
                              stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("the server did not start: " + (instance / "server.log").read_text()[-2000:])
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=10)
    log.close()
    mail.stop()


@pytest.fixture(scope="session")
def live_app(live_server):
    """The application bound to the live server's database, to set a scene through the services."""
    from coop import create_app
    from coop.config import TestConfig

    config = type("LiveConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": LIVE["database_url"]})
    return create_app(config)


@pytest.fixture(scope="session")
def chromium():
    if not os.path.exists(CHROMIUM):
        _unavailable(f"browser journeys need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("browser journeys need Playwright for Python (pip install playwright)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium, request):
    """Pages in fresh browser contexts (one per person); a screenshot of each is kept when the test fails."""
    contexts = []

    def make(locale: str = "fr-FR", width: int = 1280, height: int = 900, **options):
        context = chromium.new_context(locale=locale, viewport={"width": width, "height": height}, **options)
        contexts.append(context)
        return context.new_page()

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for n, context in enumerate(contexts):
        if failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            for m, page in enumerate(context.pages):
                page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{n}-{m}.png"), full_page=True)
        context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


PASSWORD = "un mot de passe solide"


def register(page, base: str, name: str, email: str, password: str = PASSWORD, language: str | None = None) -> None:
    """Create an account: the address on the registration form, then the rest on the page of the link mailed to
    it (the server's outbox sends it after the answer: wait for it). Fields by name, so in either language."""
    before = len(INBOX.to(email))
    page.goto(base + "/account/register")
    page.locator("input[name=email]").fill(email)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    mailed = INBOX.wait_for(before + 1, timeout=15, to=email)
    links = [link for mail in mailed for link in re.findall(r"^(http://\S+/account/register/\S+)$", mail.body, re.M)]
    assert links, f"no registration link was mailed to {email}"
    page.goto(links[-1])
    page.locator("input[name=name]").fill(name)
    page.locator("input[name=password]").fill(password)
    page.locator("input[name=confirm]").fill(password)
    if language:
        page.locator("select[name=language]").select_option(language)
    # Wait for the answer: a busy machine hashes slowly, and the next goto would cut the request short.
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()


def log_in(page, base: str, email: str, password: str = PASSWORD) -> None:
    """Log in (in the page's language), and wait until the server has answered."""
    page.goto(base + "/account/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert "/account/login" not in page.url, f"{email} could not log in"
