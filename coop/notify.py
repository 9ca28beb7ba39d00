"""Notifications by email, each in the recipient's language, sent after the change is committed:
a ballot opened, an exchange to confirm, a contribution recorded (each can be turned off in the
person's settings), and the password reset link, a share offered to the co-owners first and a general
meeting's convocation, new agenda or cancellation (always).

Services call ``later(kind, row)``; the message is built once their unit of work commits (within the request: it
reads the database, in the recipient's language, the row by its whole key (id, club), so that on Citus it asks the
club's node only) and handed to ``mail.post``, whose outbox delivers it after the answer, so no page waits for the
mail server (docs/security.md).
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from . import mail
from .explain import ballot_name, meeting_name, subject_of
from .extensions import db
from .models import (
    Account,
    Ballot,
    BallotStatus,
    BallotVoter,
    Club,
    Contribution,
    CrossExchange,
    CrossState,
    Exchange,
    ExchangeStatus,
    Meeting,
    Membership,
    MemberStatus,
    ShareTransfer,
    TransferStatus,
    User,
)
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


def later(kind: str, row) -> None:
    """Send notification ``kind`` about a club's ``row`` (a ballot, a meeting, an exchange...) once the current
    unit of work has committed: the handler is given its key, id and club."""
    send_later(HANDLERS[kind], row.id, row.club_id)


def send_later(handler: Callable[..., None], *args) -> None:
    """``handler(*args)`` once the current unit of work has committed (never if it rolls back): it builds the
    message and posts it (``mail.post``); the SMTP conversation happens in the outbox's thread."""
    if _suppressed.get():
        return
    after_commit(lambda: _safely(handler, *args))


def _safely(handler, *args) -> None:
    try:
        handler(*args)
    except Exception:  # noqa: BLE001 - a notification never undoes what was recorded
        # The first value only: what it is about (an id, an address), never a reset token.
        current_app.logger.exception("Notification %s for %s failed", handler.__name__, args[0] if args else "")


def link(endpoint: str, **values) -> str:
    """An absolute link for a message, always under BASE_URL: never the request's Host header, which whoever
    sends the request chooses (a reset link mailed to evil.example would hand over the account)."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path.rstrip("/") or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def _send(user: User, subject, template: str, /, **context) -> bool:
    """``subject`` is a lazy string: it is translated here, in the recipient's language."""
    return _send_to(user.email, user.language, subject, template, user=user, **context)


def _send_to(address: str, language: str | None, subject, template: str, /, **context) -> bool:
    """A message to an address that may have no account yet, in ``language``."""
    with force_locale(language or "fr"):
        return mail.post(address, str(subject), render_template(f"mail/{template}.txt", **context))


def ballot_opened(ballot_id: int, club_id: int) -> None:
    ballot = db.session.get(Ballot, (ballot_id, club_id))
    club = db.session.get(Club, club_id)
    voters = db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                .join(BallotVoter, (BallotVoter.membership_id == Membership.id)
                                      & (BallotVoter.club_id == Membership.club_id))
                                .where(BallotVoter.club_id == ballot.club_id, BallotVoter.ballot_id == ballot_id,
                                       BallotVoter.recused.is_(False),
                                       User.notify_ballots.is_(True)))
    for user in voters:
        with force_locale(user.language or "fr"):
            subject_text = subject_of(ballot)
        _send(user, _l("A vote is open: %(subject)s", subject=subject_text), "ballot_opened", ballot=ballot,
              club=club, subject=subject_text, url=link("ballots.ballot", club_id=ballot.club_id, ballot_id=ballot.id))


def _to_members(meeting_id: int, club_id: int, subject, template: str, **context) -> None:
    """A general meeting's notice to every active member of its club, in each one's language. Always sent: the
    convocation is how the charter's notice is given (R14), not a notification one may turn off."""
    meeting = db.session.get(Meeting, (meeting_id, club_id))
    club = db.session.get(Club, club_id)
    items = list(db.session.scalars(select(Ballot).where(Ballot.club_id == club.id, Ballot.meeting_id == meeting.id,
                                                         Ballot.status != BallotStatus.CANCELLED)
                                    .order_by(Ballot.id)))
    members = db.session.scalars(select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.club_id == club.id, Membership.status == MemberStatus.ACTIVE).order_by(User.id))
    url = link("meetings.meeting", club_id=club.id, meeting_id=meeting.id)
    for user in members:
        with force_locale(user.language or "fr"):
            name = meeting_name(meeting, club.time_zone)
            agenda = [ballot_name(item) for item in items]
        _send(user, subject(name), template, meeting=meeting, club=club, meeting_title=name, agenda=agenda, url=url,
              **context)


def meeting_convened(meeting_id: int, club_id: int) -> None:
    _to_members(meeting_id, club_id, lambda name: _l("Convocation: %(meeting)s", meeting=name), "meeting_convened",
                changed=False)


def meeting_agenda(meeting_id: int, club_id: int) -> None:
    _to_members(meeting_id, club_id, lambda name: _l("New agenda: %(meeting)s", meeting=name), "meeting_convened",
                changed=True)


def meeting_cancelled(meeting_id: int, club_id: int) -> None:
    _to_members(meeting_id, club_id, lambda name: _l("Cancelled: %(meeting)s", meeting=name), "meeting_cancelled")


def exchange_to_confirm(exchange_id: int, club_id: int) -> None:
    exchange = db.session.get(Exchange, (exchange_id, club_id))
    if exchange is None or exchange.status != ExchangeStatus.PENDING:
        return
    user = exchange.receiver.user
    if user.notify_exchanges:
        _send(user, _l("An exchange to confirm"), "exchange_to_confirm", exchange=exchange,
              url=link("timebank.exchange", club_id=exchange.club_id, exchange_id=exchange.id))


def cross_to_confirm(cross_id: int, club_id: int) -> None:
    """A member of a partner club recorded an exchange with this member, who confirms it in their club."""
    cross = db.session.get(CrossExchange, (cross_id, club_id))
    if cross is None or cross.state != CrossState.PENDING:
        return
    user = cross.member.user
    if user.notify_exchanges:
        _send(user, _l("An exchange to confirm"), "cross_to_confirm", cross=cross,
              url=link("partners.partnership", club_id=cross.club_id, partnership_id=cross.partnership_id))


def contribution_recorded(contribution_id: int, club_id: int) -> None:
    contribution = db.session.get(Contribution, (contribution_id, club_id))
    member = db.session.scalar(select(Membership).where(Membership.id == contribution.membership_id,
                                                        Membership.club_id == contribution.club_id))
    if member.user.notify_contributions:
        _send(member.user, _l("Your contribution is recorded"), "contribution_recorded", contribution=contribution,
              club=member.club, url=link("fund.my_savings", club_id=member.club_id))


def preemption_notice(transfer_id: int, club_id: int) -> None:
    """A member sells their share to someone outside the club: every other active member is told the price and
    has a month to buy first (C. civ. art. 815-14). A legal notice: sent whatever the member's settings."""
    transfer = db.session.get(ShareTransfer, (transfer_id, club_id))
    if transfer is None or transfer.status != TransferStatus.PREEMPTION:
        return
    club = db.session.get(Club, transfer.club_id)
    capital = -(db.session.scalar(select(Account.balance).where(
        Account.club_id == club.id, Account.code == f"capital:{transfer.from_membership_id}")) or 0)
    co_owners = db.session.scalars(select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.club_id == club.id, Membership.status == MemberStatus.ACTIVE,
        Membership.id != transfer.from_membership_id).order_by(User.id))
    for user in co_owners:
        _send(user, _l("%(club)s: a share is offered to you first", club=club.name), "preemption_notice",
              transfer=transfer, club=club, seller=transfer.from_membership.user.name,
              buyer=transfer.to_membership.user.name, capital=capital,
              url=link("transfers.transfer", club_id=club.id, transfer_id=transfer.id))


def password_reset(user_id: int, token: str) -> None:
    user = db.session.get(User, user_id)
    _send(user, _l("Choose a new password"), "password_reset", url=link("auth.reset_password", token=token),
          minutes=current_app.config["PASSWORD_RESET_MINUTES"])


def registration_link(email: str, language: str, token: str) -> None:
    hours = current_app.config["REGISTRATION_LINK_HOURS"]
    _send_to(email, language, _l("Finish creating your Entraide account"), "registration_link",
             url=link("auth.finish_registration", token=token), hours=hours)


def registration_attempted(user_id: int) -> None:
    user = db.session.get(User, user_id)
    _send(user, _l("Someone tried to register with your address"), "registration_attempted",
          login_url=link("auth.login"), reset_url=link("auth.request_reset"))


HANDLERS = {
    "ballot_opened": ballot_opened,
    "exchange_to_confirm": exchange_to_confirm,
    "cross_to_confirm": cross_to_confirm,
    "contribution_recorded": contribution_recorded,
    "preemption_notice": preemption_notice,
    "meeting_convened": meeting_convened,
    "meeting_agenda": meeting_agenda,
    "meeting_cancelled": meeting_cancelled,
}
