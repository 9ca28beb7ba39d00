"""Settings, read from the environment.

Local use needs nothing: SQLite in ``instance/`` and a secret key and a chain
key generated there on first run. Production (``COOP_ENV=production``)
refuses to start without ``SECRET_KEY``, ``COOP_CHAIN_KEY``, ``DATABASE_URL``
and ``BASE_URL``.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("COOP_INSTANCE_PATH", ROOT / "instance"))


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return f"sqlite:///{INSTANCE / 'entraide.sqlite'}"
    # Heroku-style URLs and plain postgresql:// both go through psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _hosts(text: str) -> list[str] | None:
    hosts = [host.strip() for host in text.split(",") if host.strip()]
    return hosts or None


def local_secret_key(name: str = "secret_key") -> str:
    """The key kept in ``instance/<name>``, made on first use."""
    path = INSTANCE / name
    if not path.exists():
        INSTANCE.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


class Config:
    PRODUCTION = False
    SECRET_KEY = os.environ.get("SECRET_KEY")  # filled by create_app when absent locally
    #: the hash chain's HMAC key (coop/chain.py): outside the database, so that whoever can write to the
    #: database cannot seal an edit again; filled from instance/chain_key by create_app when absent locally
    CHAIN_KEY = os.environ.get("COOP_CHAIN_KEY")
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}

    # Sessions and cookies
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 12

    # Forms
    WTF_CSRF_TIME_LIMIT = 60 * 60 * 4
    MAX_CONTENT_LENGTH = 3 * 1024 * 1024  # a 2 MB CSV file and its form
    MAX_FORM_MEMORY_SIZE = 3 * 1024 * 1024  # the import's confirmation carries the checked file

    # Password hashing (argon2id). RFC 9106's second recommended setting.
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 64 * 1024  # KiB
    ARGON2_PARALLELISM = 2

    # Rate limits
    #: Counted in the application's database, so that every worker and machine count together (coop/ratelimit.py);
    #: a Redis or Memcached URL works too.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "entraide+db://")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_LOGIN = os.environ.get("RATELIMIT_LOGIN", "10 per minute;50 per hour")
    #: wrong passwords for one account, from any address (a botnet guessing one member's password)
    RATELIMIT_LOGIN_ACCOUNT = os.environ.get("RATELIMIT_LOGIN_ACCOUNT", "10 per minute;50 per hour")
    RATELIMIT_REGISTER = os.environ.get("RATELIMIT_REGISTER", "20 per hour")
    RATELIMIT_RESET = os.environ.get("RATELIMIT_RESET", "5 per minute;20 per hour")
    RATELIMIT_EXCHANGE = os.environ.get("RATELIMIT_EXCHANGE", "30 per minute;300 per day")
    #: JSON API calls per token; and per address for calls without a working token (guessing)
    RATELIMIT_API = os.environ.get("RATELIMIT_API", "120 per minute;5000 per day")
    RATELIMIT_API_BAD = os.environ.get("RATELIMIT_API_BAD", "20 per minute;100 per hour")

    # Languages
    LANGUAGES = ("fr", "en")
    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    BABEL_TRANSLATION_DIRECTORIES = str(Path(__file__).resolve().parent / "translations")

    INVITATION_DAYS = 14

    # Mail: SMTP when MAIL_SERVER is set, the console otherwise.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25") or 25)
    MAIL_STARTTLS = os.environ.get("MAIL_STARTTLS", "").lower() in ("1", "true", "yes")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_FROM = os.environ.get("MAIL_FROM", "Entraide <entraide@localhost>")
    MAIL_TIMEOUT = 10
    #: SMTP in the outbox's thread, after the answer (coop/mail.py); false: within the request, which tells who
    #: has an account by the time a reset or registration request takes (docs/security.md)
    MAIL_BACKGROUND = os.environ.get("MAIL_BACKGROUND", "true").lower() not in ("0", "false", "no")
    #: seconds before each new attempt when the mail server cannot be reached or answers 4xx
    MAIL_RETRY_DELAYS = (1, 5)
    #: how long a process that ends waits for its waiting mail to leave
    MAIL_FLUSH_SECONDS = 10
    #: where every link in mail points (the address members use to reach Entraide), never the request's
    #: Host header; required in production, http://127.0.0.1:5000 locally (create_app)
    BASE_URL = os.environ.get("BASE_URL", "")
    PASSWORD_RESET_MINUTES = 60
    REGISTRATION_LINK_HOURS = 24

    #: Reverse proxies in front of the app (TLS terminator, load balancer):
    #: their X-Forwarded-* headers are trusted, so HTTPS and client addresses
    #: (rate limits) are seen right.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0") or 0)
    #: Flask's own setting: a request for any other host is refused (400). Comma-separated in the environment;
    #: unset, it is 127.0.0.1 and localhost locally, BASE_URL's host in production (create_app).
    TRUSTED_HOSTS = _hosts(os.environ.get("TRUSTED_HOSTS", ""))


class ProductionConfig(Config):
    PRODUCTION = True
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


class TestConfig(Config):
    TESTING = True
    # bandit: a key for the test configuration only.
    SECRET_KEY = "test-only-not-secret"  # nosec B105
    CHAIN_KEY = "test-only-chain-key"  # nosec B105
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    BASE_URL = "http://localhost"  # the test client's host
    TRUSTED_HOSTS = ["localhost", "127.0.0.1"]
    # Cheap hashes keep the suite fast; production parameters are tested separately.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8
    ARGON2_PARALLELISM = 1
    RATELIMIT_LOGIN = "1000 per minute"
    RATELIMIT_LOGIN_ACCOUNT = "1000 per minute"
    RATELIMIT_REGISTER = "1000 per minute"
    RATELIMIT_RESET = "1000 per minute"
    RATELIMIT_EXCHANGE = "1000 per minute"
    RATELIMIT_API = "1000 per minute"
    RATELIMIT_API_BAD = "1000 per minute"
    MAIL_RETRY_DELAYS = (0.01,)  # one retry, at once
