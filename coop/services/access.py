"""Who may do what in a club: the acting member, and one refusal per permission.

Every service asks here. Someone who is not an active member of a club gets
``NotFound`` for anything in it, so a club's existence does not leak; a member
without the permission gets ``NotPermitted``, always with the same message."""
from __future__ import annotations

from datetime import date
from functools import cache

from flask_babel import format_date
from sqlalchemy import bindparam, select

from .. import clock
from ..extensions import db
from ..models import OFFICER_ROLES, Club, ClubStatus, Membership, MemberStatus, Role
from . import rules
from .charter import charter_of
from .errors import NotFound, NotPermitted, _l
from .uow import is_postgresql
from .validate import is_id

#: The manager and the treasurer: they read every account and every member's figures, and settle disputes.
BOOKKEEPERS = frozenset({Role.MANAGER, Role.TREASURER})


# --- The acting member ---------------------------------------------------------------


def membership_for(user_id: int, club_id: int, *, roles: set[Role] | None = None, lock: bool = False) -> Membership:
    """The acting person's active membership of this club.

    Not a member (or a pending, former, declined one): NotFound, as if the
    club did not exist. A member without the role: NotPermitted. With
    ``lock``, a use case that changes the club's membership first takes the
    club's lock, so that two such changes never interleave."""
    if not isinstance(club_id, int) or isinstance(club_id, bool):
        raise NotFound(_l("No such club."))
    if lock:
        lock_club(club_id)
    membership = db.session.scalar(_active_member(), {"club": club_id, "user": user_id})
    if membership is None:
        raise NotFound(_l("No such club."))
    if roles and role_of(membership) not in roles:
        if membership.role in roles:  # the office, but not its powers any more (R3)
            raise NotPermitted(_l("Your term as %(role)s ended on %(end)s: until the club holds an election, you act "
                                  "as a member.", role=_role_names({membership.role}),
                                  end=format_date(membership.role_until, "medium")), rule="R3")
        raise NotPermitted(_l("Only the club's %(roles)s may do this.", roles=_role_names(roles)))
    return membership


@cache
def _active_member():
    # Built once: every use case starts with it.
    return select(Membership).where(Membership.club_id == bindparam("club"), Membership.user_id == bindparam("user"),
                                    Membership.status == MemberStatus.ACTIVE)


def _role_names(roles: set[Role]) -> str:
    names = {Role.MANAGER: _l("manager"), Role.TREASURER: _l("treasurer"), Role.SECRETARY: _l("secretary"),
             Role.MEMBER: _l("members")}
    return " / ".join(str(names[r]) for r in sorted(roles))


def lock_club(club_id: int) -> None:
    """Serialise the membership changes of one club (SQLite: the write lock is already held)."""
    if is_postgresql():
        db.session.execute(select(Club.id).where(Club.id == club_id).with_for_update())


# --- Dates: the club's term (R5) and an officer's (R3) -------------------------------------------


def today_of(club_id: object) -> date:
    """Today's date on the club's clock (its time zone); on the default zone's for an id that names no club."""
    zone = db.session.scalar(select(Club.time_zone).where(Club.id == club_id)) if is_id(club_id) else None
    return clock.local_today(zone or clock.DEFAULT_ZONE)


def club_status(club: Club, *, today: date | None = None) -> str:
    """The club's status today: past its term an active club is in management, recorded or not yet (R5).
    Every rule that depends on the term asks here rather than reading ``club.status``. Today is the club's:
    the date on its clock."""
    return rules.status_on(club.status, club.term_ends_on, today or clock.local_today(club.time_zone))


def in_office(member: Membership, *, today: date | None = None) -> bool:
    """An officer within their term (R3). Terms run once the club is active: a forming club elects nobody,
    and activation starts its officers' terms. Today is the club's."""
    if rules.in_office(member.role_until, today or clock.local_today(member.club.time_zone)):
        return True
    return member.club.status == ClubStatus.FORMING


def role_of(member: Membership, *, today: date | None = None) -> Role:
    """The role whose powers the member holds today: an officer past their term is a plain member (R3)."""
    if member.role == Role.MEMBER or in_office(member, today=today):
        return Role(member.role)
    return Role.MEMBER


def may_call_election(member: Membership, *, today: date | None = None) -> bool:
    """Who opens an election ballot: the manager, even past their term (the one power that outlives it, so the
    club can always elect), and, once the manager's term is over, any active member, so that a manager who
    does not call the election cannot keep the club from holding it (R3)."""
    if member.role == Role.MANAGER:
        return True
    holder = db.session.scalar(select(Membership).where(
        Membership.club_id == member.club_id, Membership.status == MemberStatus.ACTIVE,
        Membership.role == Role.MANAGER))
    return holder is None or not in_office(holder, today=today)


# --- Permissions: a predicate on a membership, and the acting member who has it --------------


def is_manager(member: Membership) -> bool:
    return role_of(member) == Role.MANAGER


def is_bookkeeper(member: Membership) -> bool:
    return role_of(member) in BOOKKEEPERS


def may_record_money(member: Membership) -> bool:
    """The treasurer; the manager too where the charter says so."""
    role = role_of(member)
    if role == Role.TREASURER:
        return True
    return role == Role.MANAGER and charter_of(member.club_id).manager_records_money


def manager(user_id: int, club_id: int, *, lock: bool = False) -> Membership:
    return membership_for(user_id, club_id, roles={Role.MANAGER}, lock=lock)


def officer(user_id: int, club_id: int) -> Membership:
    """The manager, the treasurer or the secretary."""
    return membership_for(user_id, club_id, roles=set(OFFICER_ROLES))


def bookkeeper(user_id: int, club_id: int) -> Membership:
    return membership_for(user_id, club_id, roles=set(BOOKKEEPERS))


def money_keeper(user_id: int, club_id: int, *, lock: bool = False) -> Membership:
    """The member who records money and keeps the books. A use case that writes money takes the
    club's lock (``lock``), so that caps are checked against settled figures."""
    me = membership_for(user_id, club_id, lock=lock)
    if may_record_money(me):
        return me
    if charter_of(club_id).manager_records_money:
        raise NotPermitted(_l("Only the treasurer records money (or the manager, if the charter says so)."))
    raise NotPermitted(_l("Only the treasurer records money."))


