"""Outgoing mail: through SMTP when ``MAIL_SERVER`` is set, to the console (the log) otherwise.

A message that cannot be sent is logged and dropped: mail never undoes or
blocks what a member did (it is sent after the unit of work commits)."""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from flask import current_app


def send(to: str, subject: str, body: str) -> bool:
    """Send one plain-text message; True when it left (or was printed)."""
    cfg = current_app.config
    message = EmailMessage()
    message["From"] = cfg["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    if not cfg.get("MAIL_SERVER"):
        current_app.logger.warning("Mail (no MAIL_SERVER, shown here instead):\n%s", message.as_string())
        return True
    try:
        with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"]) as smtp:
            if cfg.get("MAIL_STARTTLS"):
                smtp.starttls(context=ssl.create_default_context())
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
            smtp.send_message(message)
        return True
    except (OSError, smtplib.SMTPException) as exc:
        current_app.logger.error("Mail to %s could not be sent: %s", to, exc)
        return False
