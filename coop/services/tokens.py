"""Personal access tokens for the JSON API: a member makes one for a club, to read or to write, sees its secret
once, and revokes it. The API knows the member by the token, and every rule after that is the services' own.

The secret is ``ent_<club id>_<43 random characters>`` (``secrets.token_urlsafe(32)``: 256 random bits). Only
its SHA-256 digest is stored: a slow password hash guards secrets people choose, which can be guessed; nobody
can guess 256 random bits, so a fast digest loses nothing and lets every API call check its token at no cost.
The club's id in the secret lets the API find the token among its club's rows (one node on Citus)."""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, update

from .. import clock
from ..extensions import db
from ..models import ApiToken, Membership, MemberStatus, TokenScope
from ..models.base import utcnow
from . import access, audit
from .clubs import use_form_key
from .errors import Conflict, InvalidInput, NotFound, _l
from .uow import unit_of_work
from .validate import MAX_ID, one_line

PREFIX = "ent_"
NAME_MAX = 80
#: The longest life a token may be given (a token without expiry lives until revoked).
LONGEST = timedelta(days=366)
#: last_used_at is written at most this often.
TOUCH_EVERY = timedelta(minutes=1)
#: What a token looks like: the prefix, the club's id, 43 URL-safe characters.
SHAPE = re.compile(r"ent_([1-9][0-9]{0,9})_([A-Za-z0-9_-]{43})")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    #: shown once to its owner, never stored
    secret: str


def _expiry(expires_on: object, today: date) -> datetime | None:
    """The end of ``expires_on`` on the club's clock, in UTC; None for no expiry."""
    if expires_on in (None, ""):
        return None
    if not isinstance(expires_on, date) or isinstance(expires_on, datetime):
        raise InvalidInput(_l("Give the date as a date."), field="expires_on")
    if expires_on <= today:
        raise InvalidInput(_l("The expiry date must be after today."), field="expires_on")
    if expires_on > today + LONGEST:
        raise InvalidInput(_l("A token lasts a year at most."), field="expires_on")
    return datetime.combine(expires_on + timedelta(days=1), time())


def create_token(user_id: int, club_id: int, *, name: object, scope: object, expires_on: object = None,
                 form_key: str) -> NewToken:
    """A token of the acting member for this club, to read (``read``) or also to write (``write``)."""
    name = one_line(name, "name", maximum=NAME_MAX)
    if scope not in {s.value for s in TokenScope}:
        raise InvalidInput(_l("Choose read or write."), field="scope")
    with unit_of_work() as session:
        me = access.membership_for(user_id, club_id)
        today = clock.local_today(me.club.time_zone)
        ends = _expiry(expires_on, today)
        if ends is not None:
            ends = clock.to_utc(ends, me.club.time_zone)
        use_form_key(user_id, form_key, club_id)
        secret = f"{PREFIX}{club_id}_{secrets.token_urlsafe(32)}"
        token = ApiToken(club_id=club_id, membership_id=me.id, name=name, scope=scope,
                         prefix=secret[:len(PREFIX) + len(str(club_id)) + 7], secret_hash=digest(secret),
                         expires_at=ends)
        session.add(token)
        session.flush()
        audit.record(user_id, club_id, "token.create", token,
                     after={"name": name, "scope": scope, "prefix": token.prefix, "expires_at": ends})
    return NewToken(token, secret)


def tokens_of(user_id: int, club_id: int) -> list[ApiToken]:
    """The acting member's tokens for this club, the newest first (revoked ones too, marked)."""
    me = access.membership_for(user_id, club_id)
    return list(db.session.scalars(select(ApiToken).where(
        ApiToken.club_id == club_id, ApiToken.membership_id == me.id).order_by(ApiToken.id.desc())))


def revoke_token(user_id: int, club_id: int, token_id: object) -> ApiToken:
    """The owner stops their token; the club's manager may stop any token of the club."""
    with unit_of_work():
        me = access.membership_for(user_id, club_id)
        token = _token(club_id, token_id)
        if token is None or (token.membership_id != me.id and not access.is_manager(me)):
            raise NotFound(_l("No such token."))
        if token.revoked_at is not None:
            raise Conflict(_l("This token is already revoked."))
        token.revoked_at = utcnow()
        token.revoked_by_id = me.id
        audit.record(user_id, club_id, "token.revoke", token, after={"prefix": token.prefix})
    return token


def _token(club_id: int, token_id: object) -> ApiToken | None:
    if not isinstance(token_id, int) or isinstance(token_id, bool) or not 0 < token_id <= MAX_ID:
        return None
    return db.session.scalar(select(ApiToken).where(ApiToken.club_id == club_id, ApiToken.id == token_id))


def is_working(token: ApiToken, now: datetime | None = None) -> bool:
    """Not revoked, not expired, and its owner still an active member."""
    now = now or utcnow()
    return (token.revoked_at is None and (token.expires_at is None or token.expires_at > now)
            and token.membership.status == MemberStatus.ACTIVE)


def authenticate(secret: object, *, now: datetime | None = None) -> ApiToken | None:
    """The working token whose secret this is, or None (malformed, unknown, revoked, expired, its owner no longer
    an active member). Notes when it was used, at most once a minute, in a transaction of its own."""
    if not isinstance(secret, str) or len(secret) > 80:
        return None
    shape = SHAPE.fullmatch(secret)
    if shape is None or int(shape.group(1)) > MAX_ID:
        return None
    club_id = int(shape.group(1))
    token = db.session.scalar(select(ApiToken).where(ApiToken.club_id == club_id,
                                                     ApiToken.secret_hash == digest(secret)))
    now = now or utcnow()
    if token is None or not is_working(token, now):
        return None
    if token.last_used_at is None or token.last_used_at < now - TOUCH_EVERY:
        with unit_of_work():
            db.session.execute(update(ApiToken).where(ApiToken.club_id == club_id, ApiToken.id == token.id)
                               .values(last_used_at=now))
        token = db.session.scalar(select(ApiToken).where(ApiToken.club_id == club_id, ApiToken.id == token.id))
    return token


def owner_user_id(token: ApiToken) -> int:
    """The person the token acts as."""
    return db.session.scalar(select(Membership.user_id).where(Membership.club_id == token.club_id,
                                                              Membership.id == token.membership_id))
