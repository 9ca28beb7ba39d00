"""Notifications by email, each in the recipient's language, sent after the change is committed:
a ballot opened, an exchange to confirm, a contribution recorded (each can be turned off in the
person's settings), and the password reset link (always).

Services call ``later(kind, id)``; the message is built and sent once their unit of work commits.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from . import mail
from .explain import subject_of
from .extensions import db
from .models import Ballot, BallotVoter, Club, Contribution, Exchange, ExchangeStatus, Membership, User
from .services.uow import after_commit

_suppressed: ContextVar[bool] = ContextVar("coop_notify_suppressed", default=False)


@contextmanager
def suppressed():
    """No mail while this runs (loading the demo club)."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def later(kind: str, object_id: int) -> None:
    """Send notification ``kind`` about ``object_id`` once the current unit of work has committed."""
    if _suppressed.get():
        return
    handler = HANDLERS[kind]
    after_commit(lambda: _safely(handler, object_id))


def _safely(handler, object_id: int) -> None:
    try:
        handler(object_id)
    except Exception:  # noqa: BLE001 - a notification never undoes what was recorded
        current_app.logger.exception("Notification %s for %s failed", handler.__name__, object_id)


def link(endpoint: str, **values) -> str:
    """An absolute link for a message: the request's own address, else BASE_URL (commands, jobs)."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        return url_for(endpoint, _external=True, **values)


def _send(user: User, subject, template: str, /, **context) -> bool:
    """``subject`` is a lazy string: it is translated here, in the recipient's language."""
    with force_locale(user.language or "fr"):
        return mail.send(user.email, str(subject), render_template(f"mail/{template}.txt", user=user, **context))


def ballot_opened(ballot_id: int) -> None:
    ballot = db.session.get(Ballot, ballot_id)
    club = db.session.get(Club, ballot.club_id)
    voters = db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                .join(BallotVoter, BallotVoter.membership_id == Membership.id)
                                .where(BallotVoter.ballot_id == ballot_id, BallotVoter.recused.is_(False),
                                       User.notify_ballots.is_(True)))
    for user in voters:
        with force_locale(user.language or "fr"):
            subject_text = subject_of(ballot)
        _send(user, _l("A vote is open: %(subject)s", subject=subject_text), "ballot_opened", ballot=ballot,
              club=club, subject=subject_text, url=link("ballots.ballot", club_id=ballot.club_id, ballot_id=ballot.id))


def exchange_to_confirm(exchange_id: int) -> None:
    exchange = db.session.get(Exchange, exchange_id)
    if exchange is None or exchange.status != ExchangeStatus.PENDING:
        return
    user = exchange.receiver.user
    if user.notify_exchanges:
        _send(user, _l("An exchange to confirm"), "exchange_to_confirm", exchange=exchange,
              url=link("timebank.exchange", club_id=exchange.club_id, exchange_id=exchange.id))


def contribution_recorded(contribution_id: int) -> None:
    contribution = db.session.get(Contribution, contribution_id)
    member = db.session.get(Membership, contribution.membership_id)
    if member.user.notify_contributions:
        _send(member.user, _l("Your contribution is recorded"), "contribution_recorded", contribution=contribution,
              club=member.club, url=link("fund.my_savings", club_id=member.club_id))


def password_reset(user_id: int, token: str) -> None:
    user = db.session.get(User, user_id)
    _send(user, _l("Choose a new password"), "password_reset", url=link("auth.reset_password", token=token),
          minutes=current_app.config["PASSWORD_RESET_MINUTES"])


HANDLERS = {
    "ballot_opened": ballot_opened,
    "exchange_to_confirm": exchange_to_confirm,
    "contribution_recorded": contribution_recorded,
}
