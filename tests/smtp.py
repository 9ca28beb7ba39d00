"""A real SMTP server on 127.0.0.1 for the mail tests: what the app sends arrives in an ``Inbox``.

Used by tests/services/test_mail.py, tests/web/test_reset_views.py, tests/web/test_auth_views.py and the
browser journeys (tests/e2e/conftest.py):

    @pytest.fixture
    def inbox(app):
        with smtp_server(app) as box:
            yield box

The app delivers mail from its outbox's thread, after the answer (coop/mail.py). ``inbox.mail`` first waits
until the app's outbox has nothing left to deliver (``smtp_server`` ties it to the app), so it is what has
arrived of everything posted so far; ``arrived`` does not wait; ``wait_for(count)`` waits until that many have
arrived (the browser journeys, whose server is another process, and messages held then released).
``hold()`` makes the server keep every message at DATA, unanswered, until ``release()``: what a request does
while its mail is stuck at the server.
"""
from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiosmtpd.controller import Controller

from coop import mail as coop_mail


@dataclass(frozen=True)
class Mail:
    """One message as it arrived: the envelope's recipients and the decoded headers and body."""

    rcpt_tos: tuple[str, ...]
    to: str
    sender: str
    subject: str
    body: str  # decoded (quoted-printable or base64 undone), with the wire's CRLF back to "\n"


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        return await self.inbox.receive(envelope)


class Inbox:
    """Every message the server accepted, in order (its handler: ``inbox.handler``)."""

    #: how long ``hold`` keeps a message at most: then it is refused (451), so that a sender that waits for the
    #: answer within a request fails a test instead of hanging it
    HOLD_LIMIT = 5.0

    def __init__(self, settle: Callable[[], object] | None = None) -> None:
        self._lock = threading.Condition()
        self._mail: list[Mail] = []
        self._settle = settle
        self._open = threading.Event()
        self._open.set()
        self.holding = 0  # messages at DATA, kept unanswered by ``hold`` right now
        self.held = threading.Event()  # set when a message was first kept
        self.refused = 0  # messages kept past HOLD_LIMIT, refused
        self._answers: list[str] = []  # replies for the next messages instead of accepting them (``answer_next``)

        self.handler = _Handler(self)  # for aiosmtpd's Controller (which reads every attribute of its handler)

    async def receive(self, envelope) -> str:
        if not self._open.is_set():
            with self._lock:
                self.holding += 1
                self.held.set()
            deadline = time.monotonic() + self.HOLD_LIMIT
            while not self._open.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            with self._lock:
                self.holding -= 1
                if not self._open.is_set():
                    self.refused += 1
                    return "451 Held too long by the test"
        with self._lock:
            if self._answers:
                return self._answers.pop(0)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        mail = Mail(rcpt_tos=tuple(envelope.rcpt_tos), to=str(message["To"]), sender=str(message["From"]),
                    subject=str(message["Subject"]), body=message.get_content().replace("\r\n", "\n"))
        with self._lock:
            self._mail.append(mail)
            self._lock.notify_all()
        return "250 Message accepted for delivery"

    @property
    def arrived(self) -> list[Mail]:
        """What has arrived so far, without waiting."""
        with self._lock:
            return list(self._mail)

    @property
    def mail(self) -> list[Mail]:
        """What has arrived once the app's outbox has delivered everything posted so far."""
        if self._settle is not None:
            self._settle()
        return self.arrived

    def wait_for(self, count: int, timeout: float = 10, to: str | None = None) -> list[Mail]:
        """Wait until at least ``count`` messages (to ``to``, if given) have arrived, and return them
        (AssertionError after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(found := [m for m in self._mail if to is None or to in m.rcpt_tos]) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(found)} of {count} messages arrived in {timeout} s"
                self._lock.wait(left)
            return found

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mail if address in m.rcpt_tos]

    def clear(self) -> None:
        with self._lock:
            self._mail.clear()

    def hold(self) -> None:
        """Keep every message that comes, unanswered at DATA, until ``release``."""
        self.held.clear()
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def answer_next(self, *replies: str) -> None:
        """Answer the next messages with these replies (``"451 Try again later"``), one each, instead of
        accepting them."""
        with self._lock:
            self._answers.extend(replies)


def free_port() -> int:
    """A port nobody listens on right now (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def smtp_server(app) -> Iterator[Inbox]:
    """Start a local SMTP server and point ``app`` at it for the duration. Reading ``inbox.mail`` waits for the
    app's outbox; at the end, what the outbox still holds is delivered before the server stops."""
    inbox = Inbox(settle=lambda: coop_mail.flush(app, timeout=Inbox.HOLD_LIMIT + 10))
    port = free_port()
    controller = Controller(inbox.handler, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config.get(k) for k in ("MAIL_SERVER", "MAIL_PORT", "MAIL_STARTTLS", "MAIL_USERNAME")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_STARTTLS=False, MAIL_USERNAME="")
    try:
        yield inbox
    finally:
        inbox.release()
        coop_mail.flush(app, timeout=Inbox.HOLD_LIMIT + 10)
        app.config.update(saved)
        controller.stop()
