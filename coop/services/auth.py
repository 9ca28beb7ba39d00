"""People: registration, login, logout, password and language.

Passwords are hashed with argon2id. The login cookie carries the user's
``session_token``, replaced at logout and at every password change, so an
old cookie stops working everywhere."""
from __future__ import annotations

import gzip
import hashlib
import secrets
from datetime import timedelta
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import notify
from ..extensions import db
from ..models import PasswordReset, User
from ..models.base import utcnow
from .audit import record
from .errors import Conflict, InvalidInput, NotFound, NotPermitted, _l
from .uow import unit_of_work
from .validate import one_line

NAME_MAX = 120
EMAIL_MAX = 254
PASSWORD_MIN = 10
PASSWORD_MAX = 200


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_COST"],
        parallelism=cfg["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def normalise_email(email: str) -> str:
    email = (email or "").strip()
    if not email or len(email) > EMAIL_MAX:
        raise InvalidInput(_l("Enter a valid email address."), field="email")
    try:
        checked = validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput(_l("Enter a valid email address."), field="email") from None
    return checked.normalized.lower()


COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"
#: Parts of a name or an email address shorter than this are too common to refuse a password for.
PERSONAL_MIN = 3


@cache
def _common_passwords() -> frozenset[str]:
    """The 20,000 most used passwords (coop/data/README.md says where the list comes from)."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip() for line in fh if line.strip())


def _letters(text: str) -> str:
    """Only the letters and digits, case folded: "Camille.Durand" and "camille durand" are one guess."""
    return "".join(c for c in text.casefold() if c.isalnum())


def _check_password(password: str, field: str = "password", *, name: str = "", email: str = "") -> None:
    """Long enough, not among the most used, and without the person's name or address: an attacker tries
    those first."""
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        raise InvalidInput(_l("Use at least %(n)d characters.", n=PASSWORD_MIN), field=field)
    if len(password) > PASSWORD_MAX:
        raise InvalidInput(_l("Use at most %(n)d characters.", n=PASSWORD_MAX), field=field)
    if password.strip().lower() in _common_passwords():
        raise InvalidInput(_l("The most used passwords are tried first: this one is among them. Choose another."),
                           field=field)
    personal = [_letters(email.rpartition("@")[0]), _letters(name), *(_letters(w) for w in name.split())]
    typed = _letters(password)
    if any(len(part) >= PERSONAL_MIN and part in typed for part in personal):
        raise InvalidInput(_l("A password must not contain your name or your email address: they are tried first. "
                              "Choose another."), field=field)


def _check_name(name: str) -> str:
    if not (name or "").strip():
        raise InvalidInput(_l("Enter your name."), field="name")
    return one_line(name, "name", maximum=NAME_MAX)


def _check_language(language: str) -> str:
    if language not in current_app.config["LANGUAGES"]:
        raise InvalidInput(_l("Choose a language from the list."), field="language")
    return language


def register(name: str, email: str, password: str, language: str) -> User:
    name = _check_name(name)
    email = normalise_email(email)
    _check_password(password, name=name, email=email)
    language = _check_language(language)
    password_hash = hash_password(password)  # slow: outside the write lock
    with unit_of_work() as session:
        if session.scalar(select(User.id).where(User.email == email)):
            raise Conflict(_l("An account already uses this email address."), field="email")
        user = User(name=name, email=email, password_hash=password_hash, language=language, session_token=_new_token())
        session.add(user)
        try:
            session.flush()
        except IntegrityError:  # the same email registered at the same moment
            raise Conflict(_l("An account already uses this email address."), field="email") from None
        record(user.id, None, "user.register", user, after={"email": email, "language": language})
        return user


# --- Registration through a link mailed to the address ----------------------------------------------------------


def _registration_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="coop.register")


def request_registration(email: str, language: str) -> None:
    """The first step of registering: mail the address. A new address gets a link to finish creating the
    account; the owner of an existing account is told that someone tried to register with it. The answer and
    the database are the same either way (nothing is written), so nobody learns who has an account."""
    email = normalise_email(email)
    language = _check_language(language)
    with unit_of_work() as session:
        owner = session.scalar(select(User.id).where(User.email == email))
        if owner is not None:
            notify.send_later(notify.registration_attempted, owner)
        else:
            notify.send_later(notify.registration_link, email, language, _registration_signer().dumps(email))


def registration_email(token: object) -> str:
    """The address a registration link was mailed to, while the link works: signed, not expired, and no
    account made with it yet."""
    invalid = NotFound(_l("This link is not valid any more: start again from the registration form."))
    if not isinstance(token, str) or not 20 <= len(token) <= 500:
        raise invalid
    hours = current_app.config["REGISTRATION_LINK_HOURS"]
    try:
        email = _registration_signer().loads(token, max_age=hours * 3600)
    except BadData:
        raise invalid from None
    if not isinstance(email, str) or db.session.scalar(select(User.id).where(User.email == email)):
        raise invalid
    return email


def finish_registration(token: str, name: str, password: str, language: str) -> User:
    """The second step: the address is proved by the link; create the account."""
    email = registration_email(token)
    try:
        return register(name, email, password, language)
    except Conflict:  # the same link used twice at the same moment
        raise NotFound(_l("This link is not valid any more: start again from the registration form.")) from None


# A real hash to verify against when the email is unknown, so that both
# cases take the same time.
_DUMMY: dict[tuple, str] = {}


def authenticate(email: str, password: str) -> User:
    """The user with this email and password, or a refusal that does not say which was wrong."""
    refusal = NotPermitted(_l("Wrong email or password."), field="password")
    try:
        email = normalise_email(email)
    except InvalidInput:
        raise refusal from None
    if not isinstance(password, str) or len(password) > PASSWORD_MAX:
        raise refusal
    hasher = _hasher()
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        params = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
        if params not in _DUMMY:
            _DUMMY[params] = hasher.hash(secrets.token_hex(8))
        try:
            hasher.verify(_DUMMY[params], password)
        except VerificationError:
            pass
        raise refusal
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise refusal from None
    if hasher.check_needs_rehash(user.password_hash):
        with unit_of_work() as session:
            user = session.get(User, user.id)
            user.password_hash = hasher.hash(password)
    return user


def load_by_session_token(token: str) -> User | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(User).where(User.session_token == token))


def end_sessions(user_id: int) -> None:
    """Log out everywhere: the token in every existing cookie stops working."""
    with unit_of_work() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(_l("No such person."))
        user.session_token = _new_token()
        record(user_id, None, "user.logout", user)


def change_password(user_id: int, current: str, new: str) -> User:
    if not isinstance(current, str) or len(current) > PASSWORD_MAX:
        raise NotPermitted(_l("Your current password is not right."), field="current_password")
    _check_password(new, field="new_password")
    with unit_of_work() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(_l("No such person."))
        try:
            _hasher().verify(user.password_hash, current or "")
        except (VerificationError, InvalidHashError):
            raise NotPermitted(_l("Your current password is not right."), field="current_password") from None
        if current == new:
            raise InvalidInput(_l("Choose a password different from the current one."), field="new_password")
        _check_password(new, field="new_password", name=user.name, email=user.email)
        user.password_hash = hash_password(new)
        user.password_changed_at = utcnow()
        user.session_token = _new_token()
        record(user_id, None, "user.change_password", user)
        return user


def set_language(user_id: int, language: str) -> User:
    language = _check_language(language)
    with unit_of_work() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(_l("No such person."))
        if user.language != language:
            record(user_id, None, "user.set_language", user, before={"language": user.language},
                   after={"language": language})
            user.language = language
        return user


# --- Forgotten password ------------------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_reset(email: str) -> None:
    """Mail a one-time link to choose a new password, when the address belongs to someone. The answer is the
    same either way: nobody learns from it who has an account. Earlier links of that person stop working."""
    email = normalise_email(email)
    with unit_of_work() as session:
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            return
        now = utcnow()
        for old in session.scalars(select(PasswordReset).where(PasswordReset.user_id == user.id,
                                                               PasswordReset.used_at.is_(None))):
            old.used_at = now  # spent: only the newest link works
        token = secrets.token_urlsafe(32)
        minutes = current_app.config["PASSWORD_RESET_MINUTES"]
        reset = PasswordReset(user_id=user.id, token_hash=_token_hash(token), created_at=now,
                              expires_at=now + timedelta(minutes=minutes))
        session.add(reset)
        session.flush()
        record(user.id, None, "user.request_reset", reset)
        notify.send_later(notify.password_reset, user.id, token)


def _reset(token: object, *, lock: bool = False) -> PasswordReset:
    invalid = NotFound(_l("This link is not valid any more: ask for a new one."))
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise invalid
    stmt = select(PasswordReset).where(PasswordReset.token_hash == _token_hash(token))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    reset = db.session.scalar(stmt)
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        raise invalid
    return reset


def check_reset(token: str) -> None:
    """The link still works (the page asks for the new password)."""
    _reset(token)


def reset_password(token: str, new: str) -> User:
    """Choose a new password through a link: once, before it expires. Every session ends."""
    _check_password(new, field="new_password")
    with unit_of_work() as session:
        reset = _reset(token, lock=True)
        user = session.get(User, reset.user_id)
        _check_password(new, field="new_password", name=user.name, email=user.email)
        reset.used_at = utcnow()
        user.password_hash = hash_password(new)
        user.password_changed_at = reset.used_at
        user.session_token = _new_token()
        record(user.id, None, "user.reset_password", user)
        return user


NOTIFICATIONS = ("notify_ballots", "notify_exchanges", "notify_contributions")


def set_notifications(user_id: int, **wanted: bool) -> User:
    """Which notifications the person receives by email."""
    if set(wanted) - set(NOTIFICATIONS) or any(not isinstance(v, bool) for v in wanted.values()):
        raise InvalidInput(_l("Choose yes or no."))
    with unit_of_work() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(_l("No such person."))
        before = {name: getattr(user, name) for name in wanted}
        for name, value in wanted.items():
            setattr(user, name, value)
        record(user_id, None, "user.set_notifications", user, before=before, after=wanted)
        return user
