"""Mail and notifications, at the service layer: messages go out through a real SMTP server (tests/smtp.py) once the
unit of work commits, in the recipient's language, only to the people who want them; a refused use case sends
nothing; a broken mail server never undoes what a member did. Also the forgotten-password link: one-time, expiring,
only its SHA-256 kept.

Clubs come from ``make_club``: members[0] manager, [1] treasurer, the others plain members; everyone speaks French
unless the test switches them to English.
"""
from __future__ import annotations

import email
import email.policy
import hashlib
import logging
import os
import re
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from flask_babel import force_locale, format_date, gettext
from sqlalchemy import func, select, text

from coop import amounts, mail, notify
from coop.extensions import db
from coop.models import AuditEntry, Ballot, Contribution, Exchange, PasswordReset, User
from coop.models.base import utcnow
from coop.services import auth, ballots, demo, fund, timebank
from coop.services.errors import InvalidInput, NotFound, NotPermitted, RuleViolation
from coop.services.uow import after_commit, unit_of_work
from tests.conftest import PASSWORD, by_id, key, snapshot
from tests.smtp import free_port, smtp_server

TODAY = date.today()
ROOT = Path(__file__).resolve().parents[2]
NEW_PASSWORD = "un tout nouveau mot de passe"


@pytest.fixture
def inbox(app):
    with smtp_server(app) as box:
        yield box


def say_in(language: str, message: str, **values) -> str:
    """A message as a mail in ``language`` says it (plain text: no HTML escaping)."""
    with force_locale(language):
        return gettext(message, **values)


def base_url(app) -> str:
    return app.config["BASE_URL"].rstrip("/")


def token_of(body: str) -> str:
    found = re.findall(r"/account/reset/([A-Za-z0-9_-]+)", body)
    assert len(found) == 1, body
    return found[0]


def fresh(user) -> User:
    db.session.rollback()
    return db.session.get(User, user.id)


def every_value() -> list[str]:
    """Every value of every row of every table, as text."""
    return [str(value) for rows in snapshot().values() for row in rows for value in row]


def set_language(user, language: str) -> None:
    auth.set_language(user.id, language)


# --- mail.send ------------------------------------------------------------------------------------------------------


def test_a_message_goes_through_smtp_with_its_sender_recipient_subject_and_body(app, inbox):
    body = "Bonjour Zoé,\n\nVotre épargne : 25,00 €\n" + "une longue ligne accentuée " * 6 + "\n"
    assert mail.send("zoe@example.org", "Votre versement est enregistré", body) is True

    [sent] = inbox.mail
    assert sent.rcpt_tos == ("zoe@example.org",)
    assert sent.to == "zoe@example.org"
    assert sent.sender == app.config["MAIL_FROM"]
    assert sent.subject == "Votre versement est enregistré"
    assert sent.body == body


def test_without_a_mail_server_the_message_is_written_to_the_log(app, caplog):
    app.config["MAIL_SERVER"] = ""
    with caplog.at_level(logging.WARNING):
        assert mail.send("zoe@example.org", "Un vote est ouvert", "Bonjour Zoé,\nVotez ici.\n") is True

    [logged] = [r for r in caplog.records if r.getMessage().startswith("Mail (no MAIL_SERVER")]
    assert logged.levelno == logging.WARNING
    message = email.message_from_string(logged.args[0], policy=email.policy.default)
    assert (message["To"], message["Subject"]) == ("zoe@example.org", "Un vote est ouvert")
    assert message.get_content() == "Bonjour Zoé,\nVotez ici.\n"


def test_a_mail_server_that_is_down_makes_send_answer_false_and_log_an_error(app, caplog):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)  # nobody listens there
    with caplog.at_level(logging.ERROR):
        assert mail.send("zoe@example.org", "Sujet", "Texte\n") is False
    assert any(r.levelno == logging.ERROR and r.getMessage().startswith("Mail to zoe@example.org could not be sent")
               for r in caplog.records)


# --- mail.post: the outbox -------------------------------------------------------------------------------------------
# Mail is posted within the request and delivered by the outbox's thread (coop/mail.py). ``inbox.mail`` waits for the
# outbox; ``inbox.arrived`` does not; ``inbox.hold()`` keeps every message unanswered at the server until released.


def test_post_returns_while_the_server_still_holds_the_message_and_it_arrives_once_released(app, inbox):
    inbox.hold()

    assert mail.post("zoe@example.org", "Votre versement est enregistré", "Bonjour Zoé,\n") is True

    assert inbox.held.wait(10)  # the outbox's thread is at DATA, waiting for the server's answer
    assert (inbox.holding, inbox.arrived) == (1, [])
    inbox.release()
    [sent] = inbox.wait_for(1)
    assert (sent.rcpt_tos, sent.sender, sent.subject, sent.body) == (
        ("zoe@example.org",), app.config["MAIL_FROM"], "Votre versement est enregistré", "Bonjour Zoé,\n")


def test_the_outbox_delivers_in_order_from_one_thread(app, inbox):
    for n in range(5):
        mail.post(f"membre{n}@example.org", f"Message {n}", "Texte\n")
    assert [m.subject for m in inbox.mail] == [f"Message {n}" for n in range(5)]
    assert mail.outbox(app).pending() == 0


def test_a_message_refused_for_now_is_tried_again_and_arrives_once(app, inbox, caplog):
    inbox.answer_next("451 Try again later")
    with caplog.at_level(logging.WARNING):
        mail.post("zoe@example.org", "Sujet", "Texte\n")
        [sent] = inbox.mail
    assert sent.rcpt_tos == ("zoe@example.org",)
    assert [r.levelno for r in caplog.records if r.getMessage().startswith("Mail to zoe@example.org")] == [
        logging.WARNING]  # "trying again", and no error


def test_a_message_refused_for_good_is_logged_not_tried_again_and_the_next_one_leaves(app, inbox, caplog):
    inbox.answer_next("550 No such user here")
    with caplog.at_level(logging.WARNING):
        mail.post("personne@example.org", "Sujet", "Texte\n")
        assert inbox.mail == []  # a second attempt would have been accepted
        mail.post("zoe@example.org", "Sujet", "Texte\n")
        assert [m.rcpt_tos for m in inbox.mail] == [("zoe@example.org",)]
    [logged] = [r for r in caplog.records if r.getMessage().startswith("Mail to personne@example.org")]
    assert logged.levelno == logging.ERROR
    assert "could not be sent" in logged.getMessage() and "No such user here" in logged.getMessage()


def test_a_server_that_cannot_be_reached_is_logged_after_a_retry_and_breaks_nothing(app, inbox, caplog):
    """The message keeps the settings it was posted with: the next one, posted once the server is back, leaves."""
    port = app.config["MAIL_PORT"]
    app.config.update(MAIL_PORT=free_port(), MAIL_TIMEOUT=2)  # nobody listens there
    with caplog.at_level(logging.WARNING):
        assert mail.post("zoe@example.org", "Sujet", "Texte\n") is True
        app.config["MAIL_PORT"] = port
        mail.post("bruno@example.org", "Sujet", "Texte\n")
        assert [m.rcpt_tos for m in inbox.mail] == [("bruno@example.org",)]
    assert [r.levelno for r in caplog.records if r.getMessage().startswith("Mail to zoe@example.org")] == [
        logging.WARNING, logging.ERROR]
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert error.getMessage().startswith("Mail to zoe@example.org could not be sent: ")


def test_an_unexpected_error_in_the_outbox_is_logged_and_the_thread_carries_on(app, inbox, caplog, monkeypatch):
    real = mail._smtp

    def broken_once(message, transport):
        monkeypatch.setattr(mail, "_smtp", real)
        raise RuntimeError("a bug")

    monkeypatch.setattr(mail, "_smtp", broken_once)
    with caplog.at_level(logging.ERROR):
        mail.post("zoe@example.org", "Sujet", "Texte\n")
        assert inbox.mail == []
        mail.post("bruno@example.org", "Sujet", "Texte\n")
        assert [m.rcpt_tos for m in inbox.mail] == [("bruno@example.org",)]
    [logged] = [r for r in caplog.records if r.getMessage() == "Mail could not be handled"]
    assert logged.exc_info[0] is RuntimeError


def test_with_mail_background_off_the_message_leaves_within_the_call(app, inbox):
    app.config["MAIL_BACKGROUND"] = False
    assert mail.post("zoe@example.org", "Sujet", "Texte\n") is True
    assert [m.rcpt_tos for m in inbox.arrived] == [("zoe@example.org",)]  # no waiting for any outbox


def test_without_a_mail_server_post_writes_to_the_log_within_the_call(app, caplog):
    app.config["MAIL_SERVER"] = ""
    with caplog.at_level(logging.WARNING):
        assert mail.post("zoe@example.org", "Un vote est ouvert", "Bonjour Zoé,\n") is True
    assert [r for r in caplog.records if r.getMessage().startswith("Mail (no MAIL_SERVER")]


def test_mail_of_a_unit_of_work_that_rolls_back_is_never_posted(app, inbox, make_club, monkeypatch):
    """The first line is posted (its mail planned) before the second is refused: nothing reaches the outbox."""
    setup = make_club(5)
    first, second = setup.members[2], setup.members[3]
    posted = []
    put = mail.Outbox.put
    monkeypatch.setattr(mail.Outbox, "put", lambda self, message, transport: posted.append(message["To"]) or
                        put(self, message, transport))
    with pytest.raises(InvalidInput):
        fund.record_month(setup.treasurer.id, setup.club_id,
                          lines=[(setup.membership_id(first), 2500),
                                 (setup.membership_id(second), fund.MAX_CONTRIBUTION + 1)],
                          received_on=TODAY, method="transfer", form_key=key())
    assert posted == []
    assert mail.outbox(app).pending() == 0

    fund.record_month(setup.treasurer.id, setup.club_id,
                      lines=[(setup.membership_id(first), 2500), (setup.membership_id(second), 3000)],
                      received_on=TODAY, method="transfer", form_key=key())
    assert sorted(posted) == sorted([first.email, second.email])


EXITING = """
import sys
from coop import create_app, mail
from coop.config import TestConfig

class Config(TestConfig):
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = int(sys.argv[1])
    MAIL_FLUSH_SECONDS = float(sys.argv[2])

app = create_app(Config)
with app.app_context():
    mail.post("zoe@example.org", "Au revoir", "Le processus se termine.\\n")
print("posted", flush=True)
"""


def run_exiting(app, flush_seconds: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", EXITING, str(app.config["MAIL_PORT"]), str(flush_seconds)],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=120)


def test_a_process_that_ends_waits_for_its_mail_to_leave(app, inbox):
    """The outbox's thread is a daemon: at exit, what it still holds is given MAIL_FLUSH_SECONDS to leave. The
    server holds the message a moment: the process ends only once it has been accepted."""
    inbox.hold()
    releaser = threading.Thread(target=lambda: inbox.held.wait(60) and time.sleep(0.5) or inbox.release())
    releaser.start()
    done = run_exiting(app, 30)
    assert done.returncode == 0, done.stderr
    assert [m.subject for m in inbox.arrived] == ["Au revoir"]  # arrived before the process ended
    releaser.join()


FORKING = EXITING.replace('print("posted", flush=True)', """
import os
pid = os.fork()  # as gunicorn forks its workers from a master that may have mailed already
if pid == 0:
    with app.app_context():
        mail.post("bruno@example.org", "Du fils", "Texte\\n")
    sys.exit(0)  # the child's own exit waits for its own mail
os.waitpid(pid, 0)
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_process_starts_its_own_outbox(app, inbox):
    done = subprocess.run([sys.executable, "-c", FORKING, str(app.config["MAIL_PORT"]), "30"], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(m.subject for m in inbox.arrived) == ["Au revoir", "Du fils"]


def test_a_process_that_ends_waits_for_its_mail_no_longer_than_mail_flush_seconds(app, inbox):
    inbox.hold()
    done = run_exiting(app, 0.2)
    assert done.returncode == 0, done.stderr
    assert inbox.held.is_set()
    assert "1 mail(s) still waiting after 0.2 s at exit: not sent" in done.stderr


# --- after_commit ---------------------------------------------------------------------------------------------------


def test_after_commit_runs_once_the_outer_unit_commits_and_sees_what_was_committed(app, make_user):
    user = make_user()
    seen = []
    with unit_of_work() as session:
        session.get(User, user.id).name = "Nouveau Nom"
        with unit_of_work():  # a nested use case joins the outer unit: nothing runs when it ends
            after_commit(lambda: seen.append(db.session.get(User, user.id).name))
        assert seen == []
    assert seen == ["Nouveau Nom"]


def test_after_commit_never_runs_when_the_unit_rolls_back(app, make_user):
    user = make_user()
    seen = []
    before = snapshot()
    with pytest.raises(InvalidInput), unit_of_work() as session:
        session.get(User, user.id).name = "Jamais"
        after_commit(lambda: seen.append("sent"))
        raise InvalidInput("refused")
    assert seen == []
    assert snapshot() == before
    # The next unit starts with no leftover callback.
    with unit_of_work():
        pass
    assert seen == []


def test_after_commit_outside_a_unit_of_work_is_a_programming_error(app):
    with pytest.raises(RuntimeError):
        after_commit(lambda: None)


# --- Password reset -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_reset_request_mails_one_link_in_the_persons_language(app, inbox, make_user, language):
    user = make_user(language=language)
    other = make_user()

    auth.request_reset("  " + user.email.upper() + " ")  # as typed: spaces and capitals

    [sent] = inbox.mail
    assert sent.rcpt_tos == (user.email,)
    assert sent.subject == say_in(language, "Choose a new password")
    assert sent.body.startswith(say_in(language, "Hello %(name)s,", name=user.name))
    assert say_in(language, "Someone asked to choose a new password for your Entraide account. If it was you, open "
                            "this link within %(minutes)d minutes; it works once:", minutes=60) in sent.body
    assert say_in(language, "If it was not you, do nothing: your password stays as it is.") in sent.body
    token = token_of(sent.body)
    assert f"{base_url(app)}/account/reset/{token}\n" in sent.body
    assert inbox.to(other.email) == []

    [reset] = db.session.scalars(select(PasswordReset)).all()
    assert reset.user_id == user.id
    assert reset.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert reset.used_at is None
    assert reset.expires_at - reset.created_at == timedelta(minutes=60)
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.request_reset")).all()
    assert [a.actor_id for a in audit] == [user.id]


def test_the_reset_token_itself_is_stored_nowhere(app, inbox, make_user):
    user = make_user()
    auth.request_reset(user.email)
    token = token_of(inbox.mail[0].body)

    values = every_value()
    assert not [v for v in values if token in v]
    assert hashlib.sha256(token.encode()).hexdigest() in values


def test_an_unknown_address_sends_nothing_and_writes_nothing(app, inbox, make_user):
    make_user(email="alice@example.org")
    before = snapshot()
    assert auth.request_reset("nobody@example.org") is None
    assert snapshot() == before
    assert inbox.mail == []


@pytest.mark.parametrize("email_address", ["", "not-an-email", "x" * 250 + "@example.org", None])
def test_a_malformed_address_is_refused_next_to_the_email(app, inbox, email_address):
    before = snapshot()
    with pytest.raises(InvalidInput) as refused:
        auth.request_reset(email_address)
    assert refused.value.field == "email"
    assert snapshot() == before
    assert inbox.mail == []


def test_the_link_sets_a_new_password_once_and_ends_every_session(app, inbox, make_user):
    user = make_user()
    old_session = user.session_token
    auth.request_reset(user.email)
    token = token_of(inbox.mail[0].body)
    auth.check_reset(token)  # the page opens

    changed = auth.reset_password(token, NEW_PASSWORD)

    assert changed.id == user.id
    stored = fresh(user)
    assert stored.session_token != old_session
    assert auth.load_by_session_token(old_session) is None
    with pytest.raises(NotPermitted):
        auth.authenticate(user.email, PASSWORD)
    assert auth.authenticate(user.email, NEW_PASSWORD).id == user.id
    reset = db.session.scalars(select(PasswordReset)).one()
    assert reset.used_at is not None
    assert stored.password_changed_at == reset.used_at
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "user.reset_password", AuditEntry.actor_id == user.id)) == 1

    # Used: the link is dead, for the page and for the form.
    before = snapshot()
    with pytest.raises(NotFound):
        auth.check_reset(token)
    with pytest.raises(NotFound):
        auth.reset_password(token, "encore un autre mot de passe")
    assert snapshot() == before
    assert auth.authenticate(user.email, NEW_PASSWORD).id == user.id


def test_the_link_works_until_just_before_it_expires(app, inbox, make_user, monkeypatch):
    user = make_user()
    auth.request_reset(user.email)
    token = token_of(inbox.mail[0].body)
    reset = db.session.scalars(select(PasswordReset)).one()
    created, expires = reset.created_at, reset.expires_at
    db.session.rollback()

    monkeypatch.setattr(auth, "utcnow", lambda: created + timedelta(minutes=59, seconds=59))
    auth.check_reset(token)

    monkeypatch.setattr(auth, "utcnow", lambda: expires)  # sixty minutes on: expired
    before = snapshot()
    with pytest.raises(NotFound):
        auth.check_reset(token)
    with pytest.raises(NotFound):
        auth.reset_password(token, NEW_PASSWORD)
    assert snapshot() == before


def test_an_expired_link_is_refused(app, inbox, make_user):
    """The row's expiry moved into the past, as if an hour had gone by."""
    user = make_user()
    auth.request_reset(user.email)
    token = token_of(inbox.mail[0].body)
    db.session.execute(text("UPDATE password_reset SET expires_at = :t"), {"t": utcnow() - timedelta(seconds=1)})
    db.session.commit()

    before = snapshot()
    with pytest.raises(NotFound) as refused:
        auth.reset_password(token, NEW_PASSWORD)
    assert str(refused.value.message) == say_in("fr", "This link is not valid any more: ask for a new one.")
    assert snapshot() == before
    assert auth.authenticate(user.email, PASSWORD).id == user.id


def test_a_newer_request_spends_the_older_link(app, inbox, make_user):
    user = make_user()
    auth.request_reset(user.email)
    auth.request_reset(user.email)
    first, second = (token_of(m.body) for m in inbox.to(user.email))
    assert first != second

    with pytest.raises(NotFound):
        auth.check_reset(first)
    with pytest.raises(NotFound):
        auth.reset_password(first, NEW_PASSWORD)
    auth.reset_password(second, NEW_PASSWORD)
    assert auth.authenticate(user.email, NEW_PASSWORD).id == user.id


def test_one_persons_request_leaves_anothers_link_working(app, inbox, make_user):
    alice, bruno = make_user(), make_user()
    auth.request_reset(alice.email)
    auth.request_reset(bruno.email)
    [alice_mail], [bruno_mail] = inbox.to(alice.email), inbox.to(bruno.email)

    auth.check_reset(token_of(alice_mail.body))
    auth.reset_password(token_of(bruno_mail.body), NEW_PASSWORD)
    auth.reset_password(token_of(alice_mail.body), "le mot de passe d'Alice")
    assert auth.authenticate(alice.email, "le mot de passe d'Alice").id == alice.id
    assert auth.authenticate(bruno.email, NEW_PASSWORD).id == bruno.id


@pytest.mark.parametrize("password", ["", "court", "123456789", "x" * 201, None, "qwertyuiop", "camille durand"])
def test_a_password_too_short_or_too_long_is_refused_and_the_link_still_works(app, inbox, make_user, password):
    """Also one of the most used, and one with the person's name (issue 15)."""
    user = make_user(name="Camille Durand")
    auth.request_reset(user.email)
    token = token_of(inbox.mail[0].body)

    before = snapshot()
    with pytest.raises(InvalidInput) as refused:
        auth.reset_password(token, password)
    assert refused.value.field == "new_password"
    assert snapshot() == before
    auth.check_reset(token)


@pytest.mark.parametrize("token", ["", "short", "a" * 43, "a" * 101, None, 12345678901234567890123])
def test_a_made_up_token_is_not_found(app, make_user, token):
    user = make_user()
    auth.request_reset(user.email)
    before = snapshot()
    with pytest.raises(NotFound):
        auth.check_reset(token)
    with pytest.raises(NotFound):
        auth.reset_password(token, NEW_PASSWORD)
    assert snapshot() == before


# --- Registration (issue 15) ------------------------------------------------------------------------------------


def registration_token_of(body: str) -> str:
    found = re.findall(r"/account/register/([A-Za-z0-9_.-]+)$", body, re.M)
    assert len(found) == 1, body
    return found[0]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_new_address_is_mailed_a_link_that_finishes_the_registration(app, inbox, language):
    before = snapshot()
    assert auth.request_registration(" Zoe@Example.ORG ", language) is None
    assert snapshot() == before

    [sent] = inbox.mail
    assert sent.rcpt_tos == ("zoe@example.org",)
    assert sent.subject == say_in(language, "Finish creating your Entraide account")
    token = registration_token_of(sent.body)
    assert f"{base_url(app)}/account/register/{token}\n" in sent.body
    assert say_in(language, "To finish creating your Entraide account, open this link within %(hours)d hours and "
                            "choose your name and password:", hours=24) in sent.body
    assert auth.registration_email(token) == "zoe@example.org"

    user = auth.finish_registration(token, "Zoé", NEW_PASSWORD, "en")
    assert (user.email, user.name, user.language) == ("zoe@example.org", "Zoé", "en")
    with pytest.raises(NotFound):  # one account per link
        auth.finish_registration(token, "Zoé encore", NEW_PASSWORD, "en")


def test_an_address_with_an_account_writes_nothing_and_mails_its_owner_a_warning(app, inbox, make_user):
    owner = make_user(language="en")
    before = snapshot()
    assert auth.request_registration(owner.email.upper(), "fr") is None
    assert snapshot() == before

    [sent] = inbox.mail
    assert sent.rcpt_tos == (owner.email,)
    assert sent.subject == say_in("en", "Someone tried to register with your address")
    assert sent.body.startswith(say_in("en", "Hello %(name)s,", name=owner.name))
    assert f"{base_url(app)}/account/reset\n" in sent.body
    assert "/account/register/" not in sent.body


def test_a_registration_link_is_refused_when_forged_or_expired(app, inbox, monkeypatch):
    auth.request_registration("zoe@example.org", "fr")
    token = registration_token_of(inbox.mail[0].body)
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    for bad in (forged, "", None, "x" * 501):
        with pytest.raises(NotFound):
            auth.registration_email(bad)
    with time_machine.travel(datetime.now() + timedelta(hours=24, seconds=1)):
        with pytest.raises(NotFound):
            auth.registration_email(token)
    assert auth.registration_email(token) == "zoe@example.org"


def test_registration_refuses_a_malformed_address_or_language_and_mails_nothing(app, inbox):
    for address, language, field in (("not-an-email", "fr", "email"), ("zoe@example.org", "de", "language")):
        with pytest.raises(InvalidInput) as refusal:
            auth.request_registration(address, language)
        assert refusal.value.field == field
    assert inbox.mail == []


# --- Notification settings ------------------------------------------------------------------------------------------


def test_everyone_receives_every_notification_until_they_choose(app, make_user):
    user = fresh(make_user())
    assert (user.notify_ballots, user.notify_exchanges, user.notify_contributions) == (True, True, True)


def test_set_notifications_saves_the_choices_and_audits_them(app, make_user):
    user = make_user()
    auth.set_notifications(user.id, notify_ballots=False, notify_exchanges=True, notify_contributions=False)

    stored = fresh(user)
    assert (stored.notify_ballots, stored.notify_exchanges, stored.notify_contributions) == (False, True, False)
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.set_notifications")).all()
    assert entry.actor_id == user.id
    assert entry.before == {"notify_ballots": True, "notify_exchanges": True, "notify_contributions": True}
    assert entry.after == {"notify_ballots": False, "notify_exchanges": True, "notify_contributions": False}


@pytest.mark.parametrize("wanted", [{"notify_everything": True}, {"notify_ballots": "no"},
                                    {"notify_ballots": 0}, {"is_admin": True}])
def test_set_notifications_refuses_anything_but_the_three_yes_or_no(app, make_user, wanted):
    user = make_user()
    before = snapshot()
    with pytest.raises(InvalidInput):
        auth.set_notifications(user.id, **wanted)
    assert snapshot() == before


def test_set_notifications_for_nobody_is_not_found(app):
    before = snapshot()
    with pytest.raises(NotFound):
        auth.set_notifications(999, notify_ballots=False)
    assert snapshot() == before


# --- Notifications --------------------------------------------------------------------------------------------------


def open_exclusion(setup, target) -> Ballot:
    """The manager puts ``target``'s exclusion to the vote: ``target`` is recused (R8)."""
    return ballots.open_ballot(setup.manager.id, setup.club_id, kind="exclusion", method="yes_no",
                               closes_at=utcnow() + timedelta(days=7),
                               subject=ballots.Subject(membership_id=setup.membership_id(target)), form_key=key())


def test_opening_a_ballot_mails_each_voter_who_wants_it_in_their_language(app, inbox, make_club):
    """Club of 5: [4] is the member to exclude (recused), [3] turned ballot mail off, [2] reads English."""
    setup = make_club(5)
    target, quiet, english = setup.members[4], setup.members[3], setup.members[2]
    auth.set_notifications(quiet.id, notify_ballots=False)
    set_language(english, "en")

    ballot = open_exclusion(setup, target)

    recipients = sorted(r for m in inbox.mail for r in m.rcpt_tos)
    assert recipients == sorted([setup.manager.email, setup.treasurer.email, english.email])
    url = f"{base_url(app)}/clubs/{setup.club_id}/ballots/{ballot.id}"
    [fr_mail] = inbox.to(setup.manager.email)
    assert fr_mail.subject == "Un vote est ouvert : " + say_in("fr", "Excluding %(name)s", name=target.name)
    assert say_in("fr", "A vote is open in %(club)s: %(subject)s.", club="Cigale des Tests",
                  subject=say_in("fr", "Excluding %(name)s", name=target.name)) in fr_mail.body
    assert f"{say_in('fr', 'Vote here:')} {url}\n" in fr_mail.body
    [en_mail] = inbox.to(english.email)
    assert en_mail.subject == f"A vote is open: Excluding {target.name}"
    assert en_mail.body.startswith(f"Hello {english.name},")
    assert f"A vote is open in Cigale des Tests: Excluding {target.name}." in en_mail.body
    assert f"Vote here: {url}\n" in en_mail.body


def test_a_ballot_that_cannot_be_opened_mails_nobody(app, inbox, make_club):
    """The treasurer cannot be excluded while in office (R3): refused, no ballot, no mail."""
    setup = make_club(5)
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        open_exclusion(setup, setup.treasurer)
    assert refused.value.rule == "R3"
    assert snapshot() == before
    assert inbox.mail == []


def test_an_exchange_to_confirm_mails_its_receiver_only(app, inbox, make_club):
    setup = make_club(5)
    provider, receiver = setup.members[2], setup.members[3]

    done = timebank.record_exchange(provider.id, setup.club_id, other_id=setup.membership_id(receiver),
                                    direction="given", minutes=150, done_on=TODAY, description="Taille de la haie",
                                    form_key=key())

    [sent] = inbox.mail
    assert sent.rcpt_tos == (receiver.email,)
    assert sent.subject == "Un échange à confirmer"
    with force_locale("fr"):
        day = format_date(TODAY)
        until = format_date(by_id(Exchange, done.id).expires_on)
    assert say_in("fr", "%(provider)s says they gave you %(duration)s on %(day)s: %(what)s", provider=provider.name,
                  duration="2\u00a0h\u00a030", day=day, what="Taille de la haie") in sent.body
    url = f"{base_url(app)}/clubs/{setup.club_id}/time/exchanges/{done.id}"
    assert f"{say_in('fr', 'Confirm it, or dispute it, before %(day)s:', day=until)} {url}\n" in sent.body


def test_an_exchange_recorded_by_its_receiver_counts_at_once_and_mails_nobody(app, inbox, make_club):
    setup = make_club(5)
    done = timebank.record_exchange(setup.members[3].id, setup.club_id,
                                    other_id=setup.membership_id(setup.members[2]), direction="received",
                                    minutes=60, done_on=TODAY, description="Cours de guitare", form_key=key())
    assert done.status == "confirmed"
    assert inbox.mail == []


def test_a_receiver_who_turned_exchange_mail_off_gets_none(app, inbox, make_club):
    setup = make_club(5)
    receiver = setup.members[3]
    auth.set_notifications(receiver.id, notify_exchanges=False)
    done = timebank.record_exchange(setup.members[2].id, setup.club_id, other_id=setup.membership_id(receiver),
                                    direction="given", minutes=60, done_on=TODAY, description="Cours de guitare",
                                    form_key=key())
    assert done.status == "pending"
    assert inbox.mail == []


def record_contribution(setup, user, amount: int = 2500):
    return fund.record_contribution(setup.treasurer.id, setup.club_id, membership_id=setup.membership_id(user),
                                    amount=amount, received_on=TODAY, method="transfer", bank_reference="",
                                    idempotency_key=key())


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_contribution_mails_its_member(app, inbox, make_club, language):
    setup = make_club(5)
    member = setup.members[3]
    set_language(member, language)

    record_contribution(setup, member, 2500)

    [sent] = inbox.mail
    assert sent.rcpt_tos == (member.email,)
    assert sent.subject == say_in(language, "Your contribution is recorded")
    with force_locale(language):
        day = format_date(TODAY)
    assert say_in(language, "The treasurer of %(club)s recorded your contribution of %(amount)s received on %(day)s.",
                  club="Cigale des Tests", amount=amounts.money(2500, "EUR", language), day=day) in sent.body
    url = f"{base_url(app)}/clubs/{setup.club_id}/savings"
    assert f"{say_in(language, 'Your savings:')} {url}\n" in sent.body


def test_a_member_who_turned_contribution_mail_off_gets_none(app, inbox, make_club):
    setup = make_club(5)
    member = setup.members[3]
    auth.set_notifications(member.id, notify_contributions=False)
    record_contribution(setup, member)
    record_contribution(setup, setup.members[2])
    assert [m.rcpt_tos for m in inbox.mail] == [(setup.members[2].email,)]


def test_a_refused_month_sheet_mails_nobody_even_for_the_lines_before_the_refusal(app, inbox, make_club):
    """The first line is posted (and its mail queued) before the second is refused: all of it rolls back."""
    setup = make_club(5)
    first, second = setup.members[2], setup.members[3]
    before = snapshot()
    with pytest.raises(InvalidInput):
        fund.record_month(setup.treasurer.id, setup.club_id,
                          lines=[(setup.membership_id(first), 2500),
                                 (setup.membership_id(second), fund.MAX_CONTRIBUTION + 1)],
                          received_on=TODAY, method="transfer", form_key=key())
    assert snapshot() == before
    assert inbox.mail == []

    # The same sheet, corrected, mails both.
    fund.record_month(setup.treasurer.id, setup.club_id,
                      lines=[(setup.membership_id(first), 2500), (setup.membership_id(second), 3000)],
                      received_on=TODAY, method="transfer", form_key=key())
    assert sorted(r for m in inbox.mail for r in m.rcpt_tos) == sorted([first.email, second.email])


def test_a_mail_server_that_is_down_does_not_undo_the_contribution(app, make_club, caplog):
    setup = make_club(5)
    member = setup.members[3]
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)

    with caplog.at_level(logging.ERROR):
        done = record_contribution(setup, member, 4200)
        assert mail.flush(app)  # the outbox tried, and tried again

    db.session.rollback()
    stored = by_id(Contribution, done.id)
    assert (stored.membership_id, stored.amount) == (setup.membership_id(member), 4200)
    assert any(r.levelno == logging.ERROR and r.getMessage().startswith(f"Mail to {member.email} could not be sent")
               for r in caplog.records)


def test_a_notification_that_fails_is_logged_and_the_use_case_stands(app, inbox, make_club, caplog, monkeypatch):
    setup = make_club(5)
    member = setup.members[3]

    def broken(contribution_id):
        raise RuntimeError("template missing")

    monkeypatch.setitem(notify.HANDLERS, "contribution_recorded", broken)
    with caplog.at_level(logging.ERROR):
        done = record_contribution(setup, member)

    db.session.rollback()
    assert by_id(Contribution, done.id) is not None
    assert any(r.getMessage() == f"Notification broken for {done.id} failed" for r in caplog.records)
    assert inbox.mail == []


def test_without_a_mail_server_notifications_go_to_the_log(app, make_club, caplog):
    setup = make_club(5)
    member = setup.members[3]
    app.config["MAIL_SERVER"] = ""
    with caplog.at_level(logging.WARNING):
        record_contribution(setup, member)
    [logged] = [r for r in caplog.records if r.getMessage().startswith("Mail (no MAIL_SERVER")]
    message = email.message_from_string(logged.args[0], policy=email.policy.default)
    assert message["To"] == member.email
    assert message["Subject"] == "Votre versement est enregistré"
    assert f"/clubs/{setup.club_id}/savings" in message.get_content()


# --- The demo -------------------------------------------------------------------------------------------------------


def test_loading_the_demo_sends_no_mail_and_mail_works_again_afterwards(app, inbox):
    logins = demo.load_demo()

    assert len(logins) == 8
    db.session.rollback()
    # The demo did what would mail people: contributions, exchanges waiting for confirmation, ballots.
    assert db.session.scalar(select(func.count()).select_from(Contribution)) > 0
    assert db.session.scalar(select(func.count()).select_from(Ballot)) > 0
    assert inbox.mail == []

    # Outside the loader, mail is sent again.
    camille = db.session.scalar(select(User).where(User.email == "camille@demo.entraide.example"))
    auth.request_reset(camille.email)
    assert [m.rcpt_tos for m in inbox.mail] == [(camille.email,)]


def test_suppressed_sends_nothing_inside_and_again_after(app, inbox, make_club):
    setup = make_club(5)
    member = setup.members[3]
    with notify.suppressed():
        record_contribution(setup, member)
    assert inbox.mail == []
    record_contribution(setup, member)
    assert [m.rcpt_tos for m in inbox.mail] == [(member.email,)]


def test_an_exchange_recorded_by_a_partner_clubs_member_mails_the_member_who_confirms(app, inbox, make_club):
    from coop.models import CrossExchange
    from coop.services import partners
    from tests.services.test_partners import LIMIT, Side, record

    one, two = Side(make_club(5, name="Cigale du Diois")), Side(make_club(5, name="Cigale du Vercors"))
    row = partners.propose(one.manager.id, one.id, partner_club_id=two.id, limit_minutes=LIMIT, form_key=key())
    one.vote(row.id)
    two.vote(two.row().id)
    before = len(inbox.mail)  # the ballots' mail

    record(one, two, 90, description="Cours de guitare")

    [sent] = inbox.mail[before:]
    assert sent.rcpt_tos == (two.b.email,)
    assert sent.subject == "Un échange à confirmer"
    cross = db.session.scalar(select(CrossExchange).where(CrossExchange.club_id == two.id))
    with force_locale("fr"):
        day = format_date(TODAY)
    assert say_in("fr", "%(name)s (%(club)s) says they gave you %(duration)s on %(day)s: %(what)s",
                  name=one.a.name, club="Cigale du Diois", duration="1\u00a0h\u00a030", day=day,
                  what="Cours de guitare") in sent.body
    assert f"{base_url(app)}/clubs/{two.id}/partners/{cross.partnership_id}\n" in sent.body
