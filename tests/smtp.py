"""A real SMTP server on 127.0.0.1 for the mail tests: what the app sends arrives in an ``Inbox``.

Used by tests/services/test_mail.py and tests/web/test_reset_views.py only:

    @pytest.fixture
    def inbox(app):
        with smtp_server(app) as box:
            yield box
"""
from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Mail:
    """One message as it arrived: the envelope's recipients and the decoded headers and body."""

    rcpt_tos: tuple[str, ...]
    to: str
    sender: str
    subject: str
    body: str  # decoded (quoted-printable or base64 undone), with the wire's CRLF back to "\n"


class Inbox:
    """The aiosmtpd handler: every message accepted is kept, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mail: list[Mail] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        mail = Mail(rcpt_tos=tuple(envelope.rcpt_tos), to=str(message["To"]), sender=str(message["From"]),
                    subject=str(message["Subject"]), body=message.get_content().replace("\r\n", "\n"))
        with self._lock:
            self._mail.append(mail)
        return "250 Message accepted for delivery"

    @property
    def mail(self) -> list[Mail]:
        with self._lock:
            return list(self._mail)

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mail if address in m.rcpt_tos]

    def clear(self) -> None:
        with self._lock:
            self._mail.clear()


def free_port() -> int:
    """A port nobody listens on right now (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def smtp_server(app) -> Iterator[Inbox]:
    """Start a local SMTP server and point ``app`` at it for the duration."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config.get(k) for k in ("MAIL_SERVER", "MAIL_PORT", "MAIL_STARTTLS", "MAIL_USERNAME")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_STARTTLS=False, MAIL_USERNAME="")
    try:
        yield inbox
    finally:
        app.config.update(saved)
        controller.stop()
