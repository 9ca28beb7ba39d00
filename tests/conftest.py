"""Fixtures shared by every layer.

Database tests run twice, on SQLite and on PostgreSQL (``backend``). Each
backend has one database and one application for the whole run, its schema
built by the Alembic migrations; each test gets it empty (``Database.reset``).
Without a PostgreSQL server its tests skip, except under ``CI=true`` where
they fail. With ``TEST_BACKENDS=citus`` and ``CITUS_DATABASE_URL`` they run on a Citus coordinator instead,
every table distributed by club (coop/citus.py): the Citus lane of CI.
"""
from __future__ import annotations

import os
import re
import sqlite3
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dt_time
from html.parser import HTMLParser

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, func, select, text

from coop import create_app, mail
from coop.config import TestConfig
from coop.extensions import db

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# The whole run happens on one calendar day. The clock is moved back to one second past
# today's local midnight and keeps ticking from there: a suite that starts at 23:50 does not
# see "today" change under it (a date taken when a module was collected would then disagree
# with the one a service takes when the test runs). The live server of the browser journeys
# starts at the same moment (``TRAVEL``).
_DAY_START = datetime.combine(date.today(), dt_time(0, 0, 1)).astimezone()
_travel = time_machine.travel(_DAY_START, tick=True)
_travel.start()
#: The moment the clock was moved to, as a POSIX timestamp (for processes the tests start).
TRAVEL = _DAY_START.timestamp()


def pytest_unconfigure(config):
    _travel.stop()


PG_URL = os.environ.get("TEST_DATABASE_URL", "")
#: A Citus coordinator (distributed PostgreSQL, ``.ci/citus-setup``): its lane runs with TEST_BACKENDS=citus.
CITUS_URL = os.environ.get("CITUS_DATABASE_URL", "")
#: The backends every database test runs on: SQLite and PostgreSQL, unless TEST_BACKENDS names others.
BACKENDS = [b for b in os.environ.get("TEST_BACKENDS", "sqlite,postgresql").split(",") if b]
#: The backends that are a PostgreSQL server.
SERVERS = ("postgresql", "citus")


def _pg_url(url: str = PG_URL) -> str:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _unavailable(message: str):
    if CI:
        pytest.fail("CI=true but " + message)
    pytest.skip(message)


def _config(url: str) -> type[TestConfig]:
    options: dict = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        # The tests need no durability: a commit does not wait for the disk (what the database does on a
        # commit is otherwise the same). Production keeps synchronous_commit on.
        options["connect_args"] = {"options": "-c synchronous_commit=off"}
    return type("BoundTestConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url,
                                                   "SQLALCHEMY_ENGINE_OPTIONS": options})


def _migrate(app) -> None:
    import flask_migrate

    with app.app_context():
        flask_migrate.upgrade()
        db.session.remove()
        db.engine.dispose()


class Database:
    """One database and one application per backend for the whole run.

    The app, its engine and the engine's statement cache are made once; each test starts from the
    migrated schema with no rows (``reset``): SQLite restores a copy of the empty database kept in
    memory, PostgreSQL deletes every row and restarts the sequences, both through the same engine.
    """

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self.app = create_app(_config(url))
        self.app.test_client_class = OwnContextClient
        self._config = dict(self.app.config)
        _migrate(self.app)
        if name == "citus":
            _distribute(self.app)
        with self.app.app_context():
            if name == "sqlite":
                self._empty = sqlite3.connect(":memory:")
                raw = db.engine.raw_connection()
                try:
                    raw.driver_connection.backup(self._empty)
                finally:
                    raw.close()
            else:
                tables = db.session.execute(text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )).scalars().all()
                db.session.remove()
                self._tables = tables
                # Replica mode silences the append-only triggers (and the foreign keys) for the clean-up only.
                self._wipe = "".join(f"DELETE FROM {t}; " for t in tables)
                self._restart = ("SELECT setval(c.oid, 1, false) FROM pg_class c "
                                 "JOIN pg_namespace n ON n.oid = c.relnamespace "
                                 "WHERE c.relkind = 'S' AND n.nspname = 'public'")
        #: Standard clubs already built in this run: the database as each left it (see ``remembered``).
        self._kept: dict[tuple, tuple[object, object]] = {}
        #: What the database holds since the last reset, as the list of remembered builds made on it;
        #: None once anything else ran a statement.
        self.trail: tuple | None = ()
        self._quiet = False
        with self.app.app_context():
            event.listen(db.engine, "before_cursor_execute", self._statement_seen)

    def _statement_seen(self, *_args) -> None:
        if not self._quiet:
            self.trail = None

    def _raw(self, work) -> object:
        with self.app.app_context():
            raw = db.engine.raw_connection()
            try:
                result = work(raw.driver_connection)
                if self.name in SERVERS:
                    raw.driver_connection.commit()
                return result
            finally:
                raw.close()

    def reset(self) -> None:
        """No rows (rate-limit counts included: they are kept in the database), the settings as made: what a
        test starts from."""
        self.app.config.clear()
        self.app.config.update(self._config)
        self._restore(None)
        self.trail = ()

    def _take(self) -> object:
        """Everything the database holds now."""
        def take(conn):
            if self.name == "sqlite":
                copy = sqlite3.connect(":memory:")
                conn.backup(copy)
                return copy
            rows = {}
            with conn.cursor() as cursor:
                for table in self._tables:
                    with cursor.copy(f"COPY {table} TO STDOUT") as copy:
                        data = b"".join(bytes(chunk) for chunk in copy)
                    if data:
                        rows[table] = data
                cursor.execute("SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences "
                               "WHERE schemaname = 'public' AND last_value IS NOT NULL")
                sequences = cursor.fetchall()
            return rows, sequences

        return self._raw(take)

    def _restore(self, kept: object | None) -> None:
        """Back to what ``_take`` saw (None: no rows at all)."""
        def restore(conn):
            if self.name == "sqlite":
                (kept or self._empty).backup(conn)
                return
            rows, sequences = kept or ({}, [])
            with conn.cursor() as cursor:
                if self.name == "citus":
                    # The shards' triggers and foreign keys run on the workers: the mode must reach them, over
                    # one connection per node. Each SET is a statement of its own (Citus sends a statement's whole
                    # text to the workers), and lasts until the commit.
                    for setting in ("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'",
                                    "SET LOCAL citus.propagate_set_commands TO 'local'",
                                    "SET LOCAL session_replication_role = replica"):
                        cursor.execute(setting)
                    cursor.execute(self._wipe)
                else:
                    cursor.execute("SET session_replication_role = replica; " + self._wipe)
                for table, data in rows.items():
                    with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                        copy.write(data)
                if self.name == "citus":
                    cursor.execute("SET LOCAL session_replication_role = DEFAULT")
                    cursor.execute(self._restart)
                else:
                    cursor.execute("SET session_replication_role = DEFAULT; " + self._restart)
                for name, value in sequences:
                    cursor.execute("SELECT setval(%s, %s, true)", (name, value))

        self._raw(restore)

    def remembered(self, key: tuple, build, hydrate):
        """``build()`` once per run for this state of the database: the next test that asks for the same
        build on the same state gets the database as the first build left it, and ``hydrate`` turns the
        kept result (plain values) into the test's objects. Anything else a test ran in between makes
        the state unknown, and then every build is made for real."""
        if self.trail is None:
            return hydrate(build())
        trail = (*self.trail, key)
        if trail in self._kept:
            kept, result = self._kept[trail]
            self._quiet = True
            try:
                self._restore(kept)
                return hydrate(result)
            finally:
                db.session.rollback()
                self._quiet = False
                self.trail = trail
        result = build()
        db.session.rollback()
        self._quiet = True
        try:
            self._kept[trail] = (self._take(), result)
            return hydrate(result)
        finally:
            db.session.rollback()
            self._quiet = False
            self.trail = trail

    def close(self) -> None:
        with self.app.app_context():
            db.engine.dispose()
        if self.name == "sqlite":
            self._empty.close()
            for kept, _ in self._kept.values():
                kept.close()


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory):
    path = tmp_path_factory.mktemp("database") / "test.sqlite"
    database = Database("sqlite", f"sqlite:///{path}")
    yield database
    database.close()


@pytest.fixture(scope="session")
def postgresql_database():
    if not PG_URL:
        _unavailable("PostgreSQL tests need a server: set TEST_DATABASE_URL or run `make test` as root with "
                     "Debian's postgresql")
    url = _pg_url()
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:  # a configured but unreachable server
        _unavailable(f"PostgreSQL at {PG_URL} is not reachable: {exc}")
    finally:
        engine.dispose()
    database = Database("postgresql", url)
    yield database
    database.close()


def _distribute(app) -> None:
    """Every table distributed by club: `flask db upgrade` did it on the coordinator (migrations/env.py), with the
    cluster's shard count (8 from .ci/citus-setup); this checks it, as `flask coop check` would."""
    from coop import citus

    with app.app_context():
        with db.engine.begin() as connection:
            citus.distribute(connection)
            problems = citus.check(connection)
        assert problems == [], problems
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def citus_database():
    if not CITUS_URL:
        _unavailable("Citus tests need a coordinator: set CITUS_DATABASE_URL (`.ci/citus-setup` as root builds and "
                     "starts one with two workers)")
    from coop import citus

    url = _pg_url(CITUS_URL)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            citus.drop_tables(conn)
    except Exception as exc:  # a configured but unreachable server
        _unavailable(f"Citus at {CITUS_URL} is not reachable: {exc}")
    finally:
        engine.dispose()
    database = Database("citus", url)
    yield database
    database.close()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def database(request, backend) -> Database:
    """The run's database for this backend, emptied for the test."""
    database = request.getfixturevalue(f"{backend}_database")
    database.reset()
    return database


@pytest.fixture
def database_url(database) -> str:
    return database.url


class OwnContextClient(FlaskClient):
    """Each request in its own application context, as under a real server:
    a fresh ``g`` (Flask-Login caches the user there) and database session.
    Afterwards the test's own session starts a new transaction, so it reads
    what the request wrote. The body is read in full and the response closed before ``open`` returns, as a
    server does once it has sent the answer."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.rollback()
        return response


@pytest.fixture
def app(database):
    app = database.app
    with app.app_context():
        yield app
        # Mail posted by this test leaves (or fails) within it, not during the next one (coop/mail.py).
        mail.flush(app, timeout=30)
        db.session.remove()


# --- Factories ------------------------------------------------------------------------

PASSWORD = "correct horse battery"


def by_id(model, object_id):
    """A row by its id alone, or None: the ORM knows a club's rows by (id, club_id) (coop/models/base.py)."""
    return db.session.scalars(select(model).where(model.id == object_id)).one_or_none()


def key() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def make_user(app):
    from coop.services import auth

    def make(name: str | None = None, email: str | None = None, language: str = "fr", password: str = PASSWORD):
        make.count += 1
        n = make.count
        return auth.register(name or f"Membre {n}", email or f"membre{n}-{uuid.uuid4().hex[:6]}@example.org",
                             password, language)

    make.count = 0
    return make


@dataclass
class ClubSetup:
    club_id: int
    manager: object
    treasurer: object | None
    members: list = field(default_factory=list)  # users, manager first
    memberships: dict = field(default_factory=dict)  # user id -> membership id

    def membership_id(self, user) -> int:
        return self.memberships[user.id]


@dataclass
class SetupView:
    """A test's names for the people of a ClubSetup: subclasses add their own (``a``, ``secretary`` …)."""

    setup: ClubSetup

    @property
    def club_id(self) -> int:
        return self.setup.club_id

    @property
    def manager(self):
        return self.setup.manager

    @property
    def treasurer(self):
        return self.setup.treasurer

    def mid(self, user) -> int:
        return self.setup.membership_id(user)


@pytest.fixture
def make_club(database, make_user):
    """A club with ``size`` active members (manager first), a treasurer, optionally a secretary (the third
    member, appointed while the club forms), optionally activated.

    Built through the services once per run for each set of arguments (and what was built before it in
    the test): later tests get the database as that first build left it (``Database.remembered``)."""
    from coop.models import User
    from coop.services import access, clubs

    def build(size, treasurer, secretary, activate, currency, name):
        manager = make_user()
        club = clubs.create_club(manager.id, name=name, town="Die", country="FR", currency=currency,
                                      form_key=key())
        members = [manager.id]
        memberships = {manager.id: access.membership_for(manager.id, club.id).id}
        for _ in range(size - 1):
            user = make_user()
            _, code = clubs.invite(manager.id, club.id, form_key=key())
            asked = clubs.join(user.id, code)
            clubs.admit(manager.id, club.id, asked.id)
            members.append(user.id)
            memberships[user.id] = asked.id
        treasurer_id = members[1] if treasurer and size > 1 else None
        if treasurer_id:
            clubs.appoint(manager.id, club.id, memberships[treasurer_id], "treasurer")
        if secretary:
            clubs.appoint(manager.id, club.id, memberships[members[2]], "secretary")
        if activate:
            clubs.activate(manager.id, club.id)
        return club.id, members, treasurer_id, memberships, make_user.count

    def hydrate(built) -> ClubSetup:
        club_id, members, treasurer_id, memberships, users_made = built
        make_user.count = users_made
        users = [db.session.get(User, user_id) for user_id in members]
        return ClubSetup(club_id, users[0], users[1] if treasurer_id else None, users, dict(memberships))

    def make(size: int = 5, *, treasurer: bool = True, secretary: bool = False, activate: bool = True,
             currency: str = "EUR", name: str = "Cigale des Tests"):
        args = (size, treasurer, secretary, activate, currency, name)
        return database.remembered(("club", make_user.count, *args), lambda: build(*args), hydrate)

    return make


def fund_for_projects(setup: ClubSetup, each: int = 250_000) -> None:
    """Savings enough for a project of a few thousand to pass R10 when it is put to the vote: if the club
    has no money yet, every member pays ``each`` (5 members × 2,500 = 12,500; 25 % of it is 3,125)."""
    from coop.services import ledger

    if ledger.find_account(setup.club_id, "bank").balance:
        return
    fund_club(setup, each)
    db.session.rollback()


def fund_club(setup: ClubSetup, each: int) -> None:
    """Every member pays ``each`` today, recorded by the treasurer."""
    from datetime import date

    from coop.services import fund

    for user in setup.members:
        fund.record_contribution(setup.treasurer.id, setup.club_id, membership_id=setup.membership_id(user),
                                 amount=each, received_on=date.today(), method="transfer", bank_reference="",
                                 idempotency_key=key())


def admit_by_vote(setup: ClubSetup, user) -> int:
    """``user`` joins ``setup``'s active club: invitation, request, a two-thirds
    ballot that every member answers yes, closed early by the manager."""
    from datetime import timedelta

    from coop.models.base import utcnow
    from coop.services import ballots, clubs, tally

    _, code = clubs.invite(setup.manager.id, setup.club_id, form_key=key())
    asked = clubs.join(user.id, code)
    ballot = ballots.open_ballot(setup.manager.id, setup.club_id, kind="admission", method="yes_no",
                                 closes_at=utcnow() + timedelta(days=7),
                                 subject=ballots.Subject(membership_id=asked.id), form_key=key())
    option = ballot.options[0].id
    for member in setup.members:
        ballots.vote(member.id, setup.club_id, ballot.id, choices={option: tally.YES})
    ballots.close_early(setup.manager.id, setup.club_id, ballot.id)
    setup.members.append(user)
    setup.memberships[user.id] = asked.id
    return asked.id


# --- Races ------------------------------------------------------------------------------------


def pause_after(monkeypatch, owner, name: str) -> None:
    """Two threads both finish ``owner.name`` before either goes on: the race a double click causes.

    SQLite lets one writer in at a time, so there the first thread gives up
    waiting after two seconds and the second runs after it."""
    barrier = threading.Barrier(2)
    original = getattr(owner, name)

    def paused(*args, **kwargs):
        result = original(*args, **kwargs)
        try:
            barrier.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass
        return result

    monkeypatch.setattr(owner, name, paused)


def in_threads(app, *calls) -> list:
    """Run each call in its own thread, app context and session, released together by a barrier;
    what each call returned or raised, in the order of ``calls``."""
    barrier = threading.Barrier(len(calls), timeout=60)
    results: list = [None] * len(calls)

    def run(i: int) -> None:
        try:
            with app.app_context():
                try:
                    barrier.wait()
                    results[i] = calls[i]()
                finally:
                    db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    db.session.rollback()  # end the test's own read snapshot (SQLite WAL) before it counts
    return results


def at_once(app, *calls) -> list[str]:
    """Run each call in its own thread and session; sorted outcomes: "done", "Conflict", "RuleViolation R1" …"""

    def outcome(result) -> str:
        if not isinstance(result, BaseException):
            return "done"
        rule = getattr(result, "rule", None)
        return f"{type(result).__name__} {rule}" if rule else type(result).__name__

    return sorted(outcome(result) for result in in_threads(app, *calls))


def english(message, **values) -> str:
    """A message in English: a msgid with its values, a lazy string, or a refusal's message."""
    from flask_babel import force_locale, gettext

    message = getattr(message, "message", message)
    with force_locale("en"):
        return gettext(message, **values) if isinstance(message, str) else str(message)


def say(message: str, **values) -> str:
    """A message as a French page shows it: translated and HTML-escaped."""
    from flask_babel import force_locale, gettext
    from markupsafe import escape

    with force_locale("fr"):
        return str(escape(gettext(message, **values)))


def say_window() -> str:
    """The date window's refusal (validate.check_day) as a French page shows it."""
    from flask_babel import force_locale
    from markupsafe import escape

    from coop.services.validate import window_message

    with force_locale("fr"):
        return str(escape(str(window_message())))


def say_n(singular: str, plural: str, num: int, **values) -> str:
    """A message with a count (``ngettext``), as a French page shows it."""
    from flask_babel import force_locale, ngettext
    from markupsafe import escape

    with force_locale("fr"):
        return str(escape(ngettext(singular, plural, num, **values)))


# --- The default charter ---------------------------------------------------------------------

# The charter a new club starts with (the column defaults of ``Charter``), pinned once here:
# a changed default fails a test instead of passing silently.
DEFAULT_CHARTER = {
    "min_members": 5,
    "max_members": 20,
    "officer_term_months": 12,
    "min_monthly_contribution": 750,
    "max_yearly_contribution": 550_000,
    "term_years": 5,
    "max_renewals": 1,
    "quorum_percent": 50,
    "threshold_investment": "majority",
    "threshold_membership": "two_thirds",
    "threshold_officers": "majority",
    "threshold_charter": "unanimity",
    "threshold_stake_sale": "unanimity",
    "threshold_renewal": "unanimity",
    "threshold_dissolution": "unanimity",
    "max_proxies_per_holder": 1,
    "project_cap_percent": 25,
    "minority_stake_percent": 33,
    "time_floor_minutes": -600,
    "time_ceiling_minutes": 2400,
    "time_warning_percent": 80,
    "exchange_needs_confirmation": True,
    "manager_records_money": False,
    "result_by_days": True,
    "exchange_expiry_days": 30,
    "exit_notice_days": 0,
    "exit_pay_months": 12,
    "partial_withdrawals": False,
    "exit_at_meeting": False,
    "exit_in_kind": False,
    "share_method": "pro_rata",
    "meeting_notice_days": 15,
    "meeting_quorum_percent": 50,
}


# --- Refusals -------------------------------------------------------------------------------

UNCHECKED = object()  # ``refused`` leaves the error's rule or field unchecked


def refused(call, error: type[Exception], *, rule=UNCHECKED, field=UNCHECKED, unchanged: bool = True):
    """``call`` raises exactly ``error``, with this ``rule`` and ``field`` when given (``None`` included),
    and, unless ``unchanged=False``, no row of any table changes. Returns the error for further asserts."""
    before = snapshot() if unchanged else None
    with pytest.raises(error) as caught:
        call()
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    if rule is not UNCHECKED:
        assert caught.value.rule == rule, caught.value
    if field is not UNCHECKED:
        assert caught.value.field == field, caught.value
    if unchanged:
        assert snapshot() == before
    return caught.value


def row_counts(*models) -> tuple[int, ...]:
    """How many rows each of ``models`` holds, in order."""
    return tuple(db.session.scalar(select(func.count()).select_from(model)) for model in models)


# --- Web helpers ---------------------------------------------------------------------------

#: The rate limiter's own counts: written by every limited request, refused or not; not the club's data.
NOT_DATA = {"rate_count"}


def snapshot() -> dict:
    """Every row of every table of data: equal before and after means nothing was written."""
    db.session.rollback()
    return {t.name: db.session.execute(select(t).order_by(*t.primary_key.columns)).all()
            for t in db.metadata.sorted_tables if t.name not in NOT_DATA}


class _MainForm(HTMLParser):
    """The values a person would send from the form in the page's main content (the tokens aside)."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind == "checkbox":
                if "checked" in a:
                    self.values[a["name"]] = a.get("value") or "y"
            elif kind not in ("submit", "button") and a["name"] not in ("csrf_token", "form_key"):
                self.values[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def form_values(html: str) -> dict[str, str]:
    parser = _MainForm()
    parser.feed(html.split('<main id="main">', 1)[1])
    return parser.values



HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>')
ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    fields = {}
    for tag in HIDDEN.findall(html):
        attrs = dict(ATTR.findall(tag))
        if attrs.get("name") in ("csrf_token", "form_key"):
            fields[attrs["name"]] = attrs.get("value", "")
    return fields


class Browser:
    """The test client used as a person would: forms are fetched before they are sent."""

    def __init__(self, client):
        self.client = client

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def submit(self, url, data=None, *, page=None, follow=False):
        """GET the page holding the form (``page``, default ``url``), then POST with its hidden fields."""
        shown = self.client.get(page or url)
        assert shown.status_code == 200, f"{page or url} answered {shown.status_code}"
        fields = hidden_fields(shown.text)
        fields.update(data or {})
        return self.client.post(url, data=fields, follow_redirects=follow)

    def action(self, url, data=None, *, follow=False):
        """POST a button (no page of its own), with a CSRF token from the home page."""
        return self.submit(url, data, page="/", follow=follow)

    def login(self, user_or_email, password=PASSWORD):
        email = getattr(user_or_email, "email", user_or_email)
        return self.submit("/account/login", {"email": email, "password": password})

    def logout(self):
        return self.action("/account/logout")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def browser(client):
    return Browser(client)


@pytest.fixture
def make_browser(app):
    def make(user=None):
        b = Browser(app.test_client())
        if user is not None:
            response = b.login(user)
            assert response.status_code == 302, response.text
        return b

    return make
