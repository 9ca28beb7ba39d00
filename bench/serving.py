"""Requests per second through the real server: gunicorn with two workers on 127.0.0.1, driven by `wrk`
(Debian's package), for the member home and the exchange form against a trivial endpoint of the same
application (/healthz: routing and the response, no database). The ratio says what a page costs over the
server's own floor.

    measure(database_url, seconds) -> {"member home": {...}, "exchange form": {...}, "trivial": {...}}
"""
from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench.generate import PASSWORD

ROOT = Path(__file__).resolve().parents[1]
#: Flask-Login ties a session to the browser that opened it: every request here says it comes from the same one.
AGENT = "entraide-bench"
PATHS = {"trivial": "/healthz", "member home": "/clubs/1/", "exchange form": "/clubs/1/time/exchanges/new"}


def available() -> str | None:
    """Why the measure cannot run here, or None."""
    if shutil.which("wrk") is None:
        return "wrk is not installed (apt-get install wrk)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=2)
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise SystemExit("gunicorn did not start: " + log.read_text()[-2000:]) from None
            time.sleep(0.3)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _member_cookie(url: str, email: str) -> str:
    """Log in through the login form (its CSRF token included) and return the Cookie header of the session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    opener.addheaders = [("User-Agent", AGENT)]
    page = opener.open(url + "/account/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if token is None:
        raise SystemExit("no CSRF token on the login page")
    form = urllib.parse.urlencode({"csrf_token": token.group(1), "email": email, "password": PASSWORD}).encode()
    try:
        opener.open(url + "/account/login", data=form)
    except urllib.error.HTTPError as answer:  # the redirect after a successful login
        if answer.code != 302:
            raise SystemExit(f"could not log in as {email}: {answer.code}") from None
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    for path in PATHS.values():  # each page answers 200 to what wrk will send (not a redirect to the login page)
        request = urllib.request.Request(url + path, headers={"Cookie": cookie, "User-Agent": AGENT})
        try:
            status = opener.open(request).status
        except urllib.error.HTTPError as answer:
            status = answer.code
        if status != 200:
            raise SystemExit(f"{path} answered {status} to the logged-in member")
    return cookie


def _wrk(url: str, cookie: str, seconds: int, connections: int) -> dict:
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency",
               "-H", f"Cookie: {cookie}", "-H", f"User-Agent: {AGENT}", url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx responses" in out or "Socket errors" in out:
        raise SystemExit(f"wrk met errors on {url}:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def latency(percent: str) -> float:
        value, unit = re.search(rf"\s{percent}%\s+([\d.]+)(us|ms|s)\b", out).groups()
        return round(float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit], 2)

    return {"requests_per_second": round(rate, 1), "latency_median_ms": latency("50"),
            "latency_p99_ms": latency("99")}


def measure(database_url: str, email: str, seconds: int = 10, connections: int = 8) -> dict:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as instance:
        log = Path(instance) / "gunicorn.log"
        env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "bench-http",
               "COOP_INSTANCE_PATH": instance}
        env.pop("COOP_ENV", None)
        gunicorn = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                    "coop:create_app()"]
        with open(log, "w") as sink:
            server = subprocess.Popen(gunicorn, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
            try:
                _wait(url, server, log)
                cookie = _member_cookie(url, email)
                _wrk(url + PATHS["trivial"], cookie, 2, connections)  # warm both workers
                results = {name: _wrk(url + path, cookie, seconds, connections) for name, path in PATHS.items()}
            finally:
                server.terminate()
                server.wait(timeout=20)
    trivial = results["trivial"]["requests_per_second"]
    for figures in results.values():
        figures["ratio_to_trivial"] = round(figures["requests_per_second"] / trivial, 3)
    return {"server": "gunicorn -w 2", "wrk": f"-t 2 -c {connections} -d {seconds}s", "endpoints": results}
