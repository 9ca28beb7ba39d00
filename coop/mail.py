"""Outgoing mail: through SMTP when ``MAIL_SERVER`` is set, to the console (the log) otherwise.

A message that cannot be sent is logged and dropped: mail never undoes or blocks what a member did (it is
handed over after the unit of work commits: ``notify.send_later``).

``post`` hands a message to the outbox: a single daemon thread per process and application that delivers it
through SMTP, so the answer to a request never waits for the mail server. A reset or registration request for
an address with an account is then answered as soon as one for an unknown address (docs/security.md, "Mail
after the answer"). The message is built, with the SMTP settings of that moment, in the request; only the
conversation with the server happens in the outbox's thread. A failure worth trying again (the server cannot
be reached, a 4xx answer) is tried again after ``MAIL_RETRY_DELAYS``; then it is logged, as a refusal (5xx)
is at once. When the process ends, what is still waiting is given ``MAIL_FLUSH_SECONDS`` to leave (atexit).

``send`` is one attempt within the caller: the console path (no ``MAIL_SERVER``), ``MAIL_BACKGROUND = False``.
"""
from __future__ import annotations

import atexit
import os
import queue
import smtplib
import ssl
import threading
import time
import weakref
from dataclasses import dataclass
from email.message import EmailMessage

from flask import Flask, current_app


@dataclass(frozen=True)
class Transport:
    """How to reach the mail server, as configured when the message was posted."""

    server: str
    port: int
    starttls: bool
    username: str
    password: str
    timeout: float

    @classmethod
    def of(cls, config) -> Transport:
        return cls(config["MAIL_SERVER"], int(config["MAIL_PORT"]), bool(config.get("MAIL_STARTTLS")),
                   config.get("MAIL_USERNAME") or "", config.get("MAIL_PASSWORD") or "", config["MAIL_TIMEOUT"])


def _message(to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def _smtp(message: EmailMessage, transport: Transport) -> None:
    """One SMTP conversation; raises what smtplib raises (every SMTPException is an OSError), except once the
    server has accepted the message (a failed QUIT must not have it sent twice)."""
    accepted = False
    try:
        with smtplib.SMTP(transport.server, transport.port, timeout=transport.timeout) as smtp:
            if transport.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if transport.username:
                smtp.login(transport.username, transport.password)
            smtp.send_message(message)
            accepted = True
    except OSError:
        if accepted:
            return
        raise


def _worth_retrying(exc: OSError) -> bool:
    """Not reached, cut off, timed out, or a 4xx answer: yes. A 5xx refusal (a bad address, a wrong password)
    would be refused again: no."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code < 500
    return not isinstance(exc, smtplib.SMTPNotSupportedError)


def send(to: str, subject: str, body: str) -> bool:
    """Send one plain-text message now, within the caller, in one attempt; True when it left (or was printed)."""
    cfg = current_app.config
    message = _message(to, subject, body)
    if not cfg.get("MAIL_SERVER"):
        current_app.logger.warning("Mail (no MAIL_SERVER, shown here instead):\n%s", message.as_string())
        return True
    try:
        _smtp(message, Transport.of(cfg))
        return True
    except OSError as exc:
        current_app.logger.error("Mail to %s could not be sent: %s", to, exc)
        return False


def post(to: str, subject: str, body: str) -> bool:
    """Hand one plain-text message over for delivery: to the outbox's thread when ``MAIL_SERVER`` is set (and
    ``MAIL_BACKGROUND``, the default), so this returns before any SMTP conversation; otherwise ``send`` now.
    True when it was handed over (or left)."""
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER") or not cfg.get("MAIL_BACKGROUND", True):
        # The console path stays in the request: writing to the log does not wait for anyone, and keeps the
        # messages in order with the request's own lines.
        return send(to, subject, body)
    outbox(current_app._get_current_object()).put(_message(to, subject, body), Transport.of(cfg))
    return True


# --- The outbox -----------------------------------------------------------------------------------------------------

_lock = threading.Lock()
_outboxes: weakref.WeakSet[Outbox] = weakref.WeakSet()
_atexit_registered = False


class Outbox:
    """One application's outgoing mail in this process: a queue and the daemon thread that empties it, started
    with the first message (and again in a forked child, whose copy of the parent's thread does not run)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def put(self, message: EmailMessage, transport: Transport) -> None:
        self._running().put((message, transport))

    def _running(self) -> queue.Queue:
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._queue = queue.Queue()
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._work, args=(self._queue,), name="coop-mail",
                                                daemon=True)
                self._thread.start()
            return self._queue

    def _work(self, messages: queue.Queue) -> None:
        with self.app.app_context():
            while True:
                message, transport = messages.get()
                try:
                    self._deliver(message, transport)
                except Exception:  # noqa: BLE001 - the thread carries on with the next message
                    self.app.logger.exception("Mail could not be handled")
                finally:
                    messages.task_done()

    def _deliver(self, message: EmailMessage, transport: Transport) -> None:
        to = message["To"]
        delays = list(self.app.config.get("MAIL_RETRY_DELAYS", ()))
        while True:
            try:
                _smtp(message, transport)
                return
            except OSError as exc:
                if not delays or not _worth_retrying(exc):
                    self.app.logger.error("Mail to %s could not be sent: %s", to, exc)
                    return
                delay = delays.pop(0)
                self.app.logger.warning("Mail to %s could not be sent (%s): trying again in %s s", to, exc, delay)
                time.sleep(delay)

    def pending(self) -> int:
        """Messages posted in this process and not yet delivered or given up."""
        q = self._queue
        return q.unfinished_tasks if q is not None and self._pid == os.getpid() else 0

    def flush(self, timeout: float) -> bool:
        """Wait until every message posted so far is delivered or given up, at most ``timeout`` seconds; True
        when none is left."""
        q = self._queue
        if q is None or self._pid != os.getpid():
            return True
        deadline = time.monotonic() + timeout
        with q.all_tasks_done:
            while q.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                q.all_tasks_done.wait(left)
        return True


def _after_fork_in_child() -> None:
    """A child process (a gunicorn worker forked after mail was posted) starts with empty outboxes: the
    parent's thread does not run in it, and a lock it held at the fork would never be released."""
    global _lock
    _lock = threading.Lock()
    for box in list(_outboxes):
        box._lock = threading.Lock()
        box._queue = box._thread = box._pid = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def outbox(app: Flask) -> Outbox:
    """``app``'s outbox (made on first use)."""
    global _atexit_registered
    with _lock:
        box = app.extensions.get("coop.outbox")
        if box is None:
            box = app.extensions["coop.outbox"] = Outbox(app)
            _outboxes.add(box)
            if not _atexit_registered:
                atexit.register(_flush_at_exit)
                _atexit_registered = True
        return box


def flush(app: Flask | None = None, timeout: float = 30) -> bool:
    """Wait until the mail posted so far by ``app`` (the current one) has left or been given up."""
    box = (app or current_app._get_current_object()).extensions.get("coop.outbox")
    return box is None or box.flush(timeout)


def _flush_at_exit() -> None:
    """The process ends (a worker stopped, a command done): give waiting mail a bounded time to leave; the
    outbox's thread is a daemon and would be cut off with it."""
    for box in list(_outboxes):
        seconds = box.app.config.get("MAIL_FLUSH_SECONDS", 10)
        if not box.flush(seconds):
            box.app.logger.error("%d mail(s) still waiting after %s s at exit: not sent", box.pending(), seconds)
