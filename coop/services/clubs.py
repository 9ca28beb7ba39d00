"""Clubs, their charter, invitations, admission, roles and activation.

Every function takes the acting person's user id and plain values. A person
who is not a member of a club gets ``NotFound`` for anything in it, so a
club's existence does not leak."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..amounts import add_months
from ..extensions import db
from ..models import (
    Account,
    AccountType,
    Charter,
    Club,
    ClubStatus,
    Currency,
    Invitation,
    Membership,
    MemberStatus,
    Role,
    Unit,
    UsedFormKey,
    User,
)
from ..models.audit import OUTSIDE_CLUBS
from ..models.base import utcnow
from . import access, ledger, rules
from .access import lock_club, membership_for
from .audit import record
from .charter import charter_of
from .errors import Conflict, InvalidInput, NotFound, NotPermitted, RuleViolation, _l
from .lookup import in_club
from .transitions import move, sources
from .uow import unit_of_work
from .validate import form_key as check_form_key
from .validate import one_line

COUNTRIES = ("FR", "CA", "BE", "CH", "LU")
TEXT_MAX = 120
#: Unambiguous letters and digits for codes people type from a message.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12

CHARTER_FIELDS = (*rules.CHARTER_BOUNDS, *rules.THRESHOLD_FIELDS, *rules.CHARTER_FLAGS, *rules.CHARTER_CHOICES)


# --- Looking things up, scoped to the acting person ---------------------------


def my_memberships(user_id: int) -> list[Membership]:
    """Every club the person belongs to or has asked to join."""
    return list(
        db.session.scalars(
            select(Membership)
            .where(Membership.user_id == user_id, Membership.status.in_([MemberStatus.ACTIVE, MemberStatus.PENDING]))
            .order_by(Membership.requested_at)
        )
    )


def members_of(user_id: int, club_id: int, *, statuses: tuple[str, ...] = (MemberStatus.ACTIVE,)) -> list[Membership]:
    membership_for(user_id, club_id)
    return list(
        db.session.scalars(
            select(Membership)
            .join(User, User.id == Membership.user_id)
            .where(Membership.club_id == club_id, Membership.status.in_(statuses))
            .order_by(User.name)
        )
    )


def my_accounts(user_id: int, club_id: int) -> list[Account]:
    me = membership_for(user_id, club_id)
    return ledger.accounts_of(club_id, membership_id=me.id)


def accounts_visible_to(user_id: int, club_id: int) -> list[Account]:
    """Officers who keep the books see every account; a member sees their own."""
    me = membership_for(user_id, club_id)
    if access.is_bookkeeper(me):
        return ledger.accounts_of(club_id)
    return ledger.accounts_of(club_id, membership_id=me.id)


def charter_history(user_id: int, club_id: int) -> list[Charter]:
    membership_for(user_id, club_id)
    return list(db.session.scalars(select(Charter).where(Charter.club_id == club_id).order_by(Charter.version.desc())))


def charter_values(charter: Charter) -> dict[str, Any]:
    return {field: getattr(charter, field) for field in CHARTER_FIELDS}


def active_count(club_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Membership).where(
            Membership.club_id == club_id, Membership.status == MemberStatus.ACTIVE
        )
    )


@dataclass(frozen=True)
class ActivationCheck:
    """What stands between a forming club and activation, for the manager's page."""

    active_members: int
    min_members: int
    max_members: int
    has_treasurer: bool
    problems: list[Any]

    @property
    def ready(self) -> bool:
        return not self.problems


def activation_check(user_id: int, club_id: int) -> ActivationCheck:
    membership_for(user_id, club_id)
    return _activation_check(club_id)


def _activation_check(club_id: int) -> ActivationCheck:
    charter = charter_of(club_id)
    members = list(
        db.session.scalars(
            select(Membership).where(Membership.club_id == club_id, Membership.status == MemberStatus.ACTIVE)
        )
    )
    problems = []
    for check in (
        lambda: rules.check_member_count(len(members), charter.min_members, charter.max_members),
        lambda: rules.check_officers(
            [m.id for m in members if m.role == Role.MANAGER], [m.id for m in members if m.role == Role.TREASURER]
        ),
    ):
        try:
            check()
        except RuleViolation as refusal:
            problems.append(refusal)
    return ActivationCheck(
        active_members=len(members),
        min_members=charter.min_members,
        max_members=charter.max_members,
        has_treasurer=any(m.role == Role.TREASURER for m in members),
        problems=problems,
    )


# --- Creating a club ------------------------------------------------------------


def _clean_text(value: str, field: str, *, required: bool = True, maximum: int = TEXT_MAX) -> str:
    return one_line(value, field, maximum=maximum, required=required)


def use_form_key(user_id: int, key: str, club_id: int) -> None:
    """Spend a form's one-time key inside the current unit of work: a replayed form is refused. The key is kept
    with the club the form writes to (``OUTSIDE_CLUBS`` for a club being created), so that spending it stays
    among that club's rows."""
    check_form_key(key)
    try:
        db.session.connection().execute(_SPEND_KEY, {"key": key, "club_id": club_id, "user_id": user_id,
                                                     "used_at": utcnow()})
    except IntegrityError:  # sent before, or twice at the same moment: the key is taken
        raise Conflict(_l("This form has already been sent.")) from None


_SPEND_KEY = insert(UsedFormKey.__table__)


def _member_accounts(club_id: int, membership: Membership, charter: Charter) -> list[Account]:
    name = membership.user.name if membership.user else str(membership.user_id)
    return [
        # Equity: credited by contributions, so its balance is minus the member's capital.
        Account(club_id=club_id, code=f"capital:{membership.id}", name=f"Capital — {name}", type=AccountType.EQUITY,
                unit=Unit.MONEY, membership_id=membership.id, balance=0, ceiling=0),
        # Asset: credits held = time given − time received (R12 limits).
        Account(club_id=club_id, code=f"time:{membership.id}", name=f"Temps — {name}", type=AccountType.ASSET,
                unit=Unit.TIME, membership_id=membership.id, balance=0,
                floor=charter.time_floor_minutes, ceiling=charter.time_ceiling_minutes),
    ]


def _ensure_member_accounts(club_id: int, membership: Membership) -> None:
    exists = db.session.scalar(select(Account.id).where(Account.club_id == club_id,
                                                        Account.membership_id == membership.id))
    if not exists:
        db.session.add_all(_member_accounts(club_id, membership, charter_of(club_id)))


def check_time_zone(value: object) -> str:
    """An IANA time zone name the server knows ("Europe/Paris", "America/Montreal")."""
    if not clock.is_zone(value):
        raise InvalidInput(_l("Choose a time zone from the list, such as Europe/Paris or America/Montreal."),
                           field="time_zone")
    return value


def local_today(club: Club) -> date:
    """Today's date on the club's clock: the date its members live, whatever the server's."""
    return clock.local_today(club.time_zone)


def create_club(user_id: int, *, name: str, town: str, country: str, currency: str, form_key: str,
                time_zone: str | None = None) -> Club:
    """A new club in formation, with the default charter; its creator is its manager. Its time zone is the
    one chosen, else the usual one of its currency (euros: Europe/Paris; Canadian dollars: America/Montreal)."""
    name = _clean_text(name, "name")
    town = _clean_text(town, "town")
    if country not in COUNTRIES:
        raise InvalidInput(_l("Choose a country from the list."), field="country")
    if currency not in Currency.__members__:
        raise InvalidInput(_l("Choose EUR or CAD."), field="currency")
    time_zone = clock.default_zone(currency) if time_zone is None else check_time_zone(time_zone)
    with unit_of_work() as session:
        use_form_key(user_id, form_key, OUTSIDE_CLUBS)
        club = Club(name=name, town=town, country=country, currency=currency, time_zone=time_zone,
                    status=ClubStatus.FORMING, charter_version=1)
        session.add(club)
        session.flush()
        charter = Charter(club_id=club.id, version=1, author_id=user_id)
        session.add(charter)
        today = local_today(club)
        manager = Membership(club_id=club.id, user_id=user_id, status=MemberStatus.ACTIVE, role=Role.MANAGER,
                             joined_on=today)
        session.add(manager)
        session.flush()
        session.add(Account(club_id=club.id, code="bank", name="Banque", type=AccountType.ASSET, unit=Unit.MONEY,
                            balance=0, floor=0))
        _ensure_member_accounts(club.id, manager)
        manager.role_until = _term_end(today, charter.officer_term_months)
        record(user_id, club.id, "club.create", club,
               after={"name": name, "town": town, "country": country, "currency": currency, "time_zone": time_zone})
        return club


def set_time_zone(user_id: int, club_id: int, time_zone: str) -> Club:
    """The manager changes the club's time zone. Stored times do not move: they are shown on the new clock,
    and deadlines typed from now on are read on it."""
    time_zone = check_time_zone(time_zone)
    with unit_of_work():
        club = access.manager(user_id, club_id, lock=True).club
        if club.time_zone == time_zone:
            raise Conflict(_l("Nothing was changed."))
        before = club.time_zone
        club.time_zone = time_zone
        record(user_id, club_id, "club.time_zone", club, before={"time_zone": before}, after={"time_zone": time_zone})
        return club


def _term_end(start: date, months: int) -> date:
    return add_months(start, months)


def club_for(user_id: int, club_id: int) -> Club:
    return membership_for(user_id, club_id).club


# --- Charter ----------------------------------------------------------------------


def amend_charter(user_id: int, club_id: int, values: dict[str, Any]) -> Charter:
    """A new charter version with these values; manager only, while the club is forming.

    Once the club is active the charter changes by a unanimous ballot."""
    _known_settings(values)
    with unit_of_work() as session:
        membership = access.manager(user_id, club_id, lock=True)
        club = membership.club
        if club.status != ClubStatus.FORMING:
            raise RuleViolation(_l("Once the club is active, the charter changes only by a unanimous vote."),
                                rule="R7")
        current = charter_of(club_id)
        old, new = _amended(club_id, values)
        charter = Charter(club_id=club_id, version=current.version + 1, author_id=user_id, **new)
        session.add(charter)
        club.charter_version = charter.version
        _apply_time_limits(club_id, old, new)
        session.flush()
        changed = {k: v for k, v in new.items() if old[k] != v}
        record(user_id, club_id, "charter.amend", charter, before={k: old[k] for k in changed}, after=changed)
        return charter


def _apply_time_limits(club_id: int, old: dict, new: dict) -> None:
    """Members' time accounts follow the charter's limits, except those the manager set for one member."""
    before = (old["time_floor_minutes"], old["time_ceiling_minutes"])
    if before == (new["time_floor_minutes"], new["time_ceiling_minutes"]):
        return
    for account in db.session.scalars(select(Account).where(Account.club_id == club_id, Account.unit == Unit.TIME,
                                                            Account.membership_id.is_not(None))):
        if (account.floor, account.ceiling) != before:
            continue
        rules.check_time_limit(rules.LimitCheck.CHARTER_LIMITS, account.balance, new["time_floor_minutes"],
                               new["time_ceiling_minutes"])
        account.floor, account.ceiling = new["time_floor_minutes"], new["time_ceiling_minutes"]


# --- Invitations, admission, leaving ----------------------------------------------------


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalise_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())[:64]


def format_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def invite(user_id: int, club_id: int, *, form_key: str) -> tuple[Invitation, str]:
    """A one-time invitation code. The code is returned once and stored only as a hash."""
    with unit_of_work() as session:
        membership = access.manager(user_id, club_id, lock=True)
        if access.club_status(membership.club) not in (ClubStatus.FORMING, ClubStatus.ACTIVE):
            raise RuleViolation(_l("This club no longer admits members."), rule="R5")
        use_form_key(user_id, form_key, club_id)
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        invitation = Invitation(
            club_id=club_id,
            code_hash=_hash_code(code),
            code_hint=code[-4:],
            created_by_id=user_id,
            expires_at=utcnow() + timedelta(days=current_app.config["INVITATION_DAYS"]),
        )
        session.add(invitation)
        session.flush()
        record(user_id, club_id, "invitation.create", invitation, after={"hint": invitation.code_hint})
        return invitation, code


def open_invitations(user_id: int, club_id: int) -> list[Invitation]:
    access.manager(user_id, club_id)
    return list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.club_id == club_id, Invitation.used_at.is_(None), Invitation.revoked_at.is_(None),
                   Invitation.expires_at > utcnow())
            .order_by(Invitation.created_at.desc())
        )
    )


def revoke_invitation(user_id: int, club_id: int, invitation_id: int) -> Invitation:
    with unit_of_work():
        access.manager(user_id, club_id, lock=True)
        invitation = in_club(Invitation, club_id, invitation_id, missing=_l("No such invitation."))
        if not invitation.is_open:
            raise Conflict(_l("This invitation is already used, revoked or expired."))
        invitation.revoked_at = utcnow()
        record(user_id, club_id, "invitation.revoke", invitation)
        return invitation


def invitation_club(code: str) -> Club:
    """The club an open invitation code leads to (to show before joining)."""
    invitation = _open_invitation(code)
    return db.session.get(Club, invitation.club_id)


def _open_invitation(code: str, *, fresh: bool = False) -> Invitation:
    code = normalise_code(code)
    invitation = None
    if len(code) == CODE_LENGTH:
        stmt = select(Invitation).where(Invitation.code_hash == _hash_code(code))
        if fresh:
            stmt = stmt.execution_options(populate_existing=True)
        invitation = db.session.scalar(stmt)
    if invitation is None or not invitation.is_open:
        raise InvalidInput(_l("This invitation code is not valid, already used or expired."), field="code")
    return invitation


def join(user_id: int, code: str) -> Membership:
    """Ask to join the club of an invitation; the manager then admits or declines."""
    with unit_of_work() as session:
        lock_club(_open_invitation(code).club_id)
        invitation = _open_invitation(code, fresh=True)  # unused still, now that we hold the lock
        club = session.get(Club, invitation.club_id)
        if access.club_status(club) not in (ClubStatus.FORMING, ClubStatus.ACTIVE):
            raise RuleViolation(_l("This club no longer admits members."), rule="R5")
        membership = session.scalar(
            select(Membership).where(Membership.club_id == club.id, Membership.user_id == user_id)
        )
        if membership is not None and membership.status in (MemberStatus.ACTIVE, MemberStatus.PENDING):
            raise Conflict(_l("You are already a member of this club or have already asked to join."))
        if membership is not None and membership.status == MemberStatus.EXCLUDED:
            raise NotPermitted(_l("You were excluded from this club."))
        before = {"status": membership.status} if membership else None
        if membership is None:
            membership = Membership(club_id=club.id, user_id=user_id, status=MemberStatus.PENDING)
            session.add(membership)
        else:
            move(membership, MemberStatus.PENDING)
        membership.role = Role.MEMBER
        membership.requested_at = utcnow()
        membership.left_on = None
        invitation.used_at = utcnow()
        invitation.used_by_id = user_id
        session.flush()
        record(user_id, club.id, "membership.request", membership, before=before, after={"status": "pending"})
        return membership


def _pending_membership(club_id: int, membership_id: int) -> Membership:
    membership = in_club(Membership, club_id, membership_id, missing=_l("No such member."))
    if membership.status != MemberStatus.PENDING:
        raise Conflict(_l("This request has already been answered."))
    return membership


def admit(user_id: int, club_id: int, membership_id: int) -> Membership:
    """The manager admits a pending member while the club is forming (R1:
    not past the maximum). Once it is active, members vote (R7)."""
    with unit_of_work():
        manager = access.manager(user_id, club_id, lock=True)
        membership = _pending_membership(club_id, membership_id)
        if manager.club.status == ClubStatus.ACTIVE:
            raise RuleViolation(_l("In an active club, members are admitted by a vote: open a ballot."), rule="R7")
        if manager.club.status != ClubStatus.FORMING:
            raise RuleViolation(_l("This club no longer admits members."), rule="R5")
        return _admit(user_id, club_id, membership)


def check_admission(club_id: int, membership_id: int) -> Membership:
    """What must hold to admit this person: a pending request, room in the club (R1), a club that admits (R5)."""
    membership = _pending_membership(club_id, membership_id)
    club = membership.club
    if access.club_status(club) not in (ClubStatus.FORMING, ClubStatus.ACTIVE):
        raise RuleViolation(_l("This club no longer admits members."), rule="R5")
    rules.check_room_for_member(active_count(club_id), charter_of(club_id).max_members)
    return membership


def _admit(actor_id: int | None, club_id: int, membership: Membership, ballot_id: int | None = None) -> Membership:
    rules.check_room_for_member(active_count(club_id), charter_of(club_id).max_members)
    move(membership, MemberStatus.ACTIVE)
    membership.joined_on = local_today(membership.club)
    _ensure_member_accounts(club_id, membership)
    record(actor_id, club_id, "membership.admit", membership, before={"status": "pending"},
           after={"status": "active", "ballot": ballot_id})
    return membership


def decline(user_id: int, club_id: int, membership_id: int) -> Membership:
    """The manager turns a request down (a vote that fails does the same)."""
    with unit_of_work():
        access.manager(user_id, club_id, lock=True)
        membership = _pending_membership(club_id, membership_id)
        return _decline(user_id, club_id, membership)


def _decline(actor_id: int | None, club_id: int, membership: Membership, ballot_id: int | None = None) -> Membership:
    move(membership, MemberStatus.DECLINED)
    record(actor_id, club_id, "membership.decline", membership, before={"status": "pending"},
           after={"status": "declined", "ballot": ballot_id})
    return membership


# --- Decisions of a ballot (called by the ballots service, inside its unit of work) -------------


def admit_by_vote(club_id: int, membership_id: int, *, ballot_id: int, approved: bool) -> Membership:
    with unit_of_work():
        lock_club(club_id)
        if approved:
            return _admit(None, club_id, check_admission(club_id, membership_id), ballot_id)
        return _decline(None, club_id, _pending_membership(club_id, membership_id), ballot_id)


def check_exclusion(club_id: int, membership_id: int) -> Membership:
    """An active member who holds no office that must stay filled (R3)."""
    target = db.session.scalar(select(Membership).where(
        Membership.id == membership_id, Membership.club_id == club_id, Membership.status == MemberStatus.ACTIVE))
    if target is None:
        raise NotFound(_l("No such member."))
    if target.role in (Role.MANAGER, Role.TREASURER):
        raise RuleViolation(_l("Elect someone else to this office before excluding the member who holds it."),
                            rule="R3")
    return target


def exclude_by_vote(club_id: int, membership_id: int, *, ballot_id: int) -> Membership:
    """The member leaves the club; the treasurer then refunds their capital (R13)."""
    with unit_of_work():
        lock_club(club_id)
        target = check_exclusion(club_id, membership_id)
        before = {"status": target.status, "role": target.role}
        move(target, MemberStatus.EXCLUDED)
        target.role = Role.MEMBER
        target.role_until = None
        target.left_on = local_today(target.club)
        record(None, club_id, "membership.exclude", target, before=before,
               after={"status": "excluded", "ballot": ballot_id})
        return target


def check_candidate(club_id: int, membership_id: int, role: str) -> Membership:
    """R3: manager and treasurer are two different members; one office each."""
    if role not in (Role.MANAGER, Role.TREASURER, Role.SECRETARY):
        raise InvalidInput(_l("Choose an office from the list."), field="role")
    candidate = db.session.scalar(select(Membership).where(
        Membership.id == membership_id, Membership.club_id == club_id, Membership.status == MemberStatus.ACTIVE))
    if candidate is None:
        raise NotFound(_l("No such member."))
    if candidate.role in (Role.MANAGER, Role.TREASURER) and candidate.role != role:
        raise RuleViolation(_l("%(name)s already holds another office: manager and treasurer are two different "
                               "members.", name=candidate.user.name), rule="R3")
    return candidate


def elect(club_id: int, membership_id: int, role: str, *, ballot_id: int) -> Membership:
    """The winner takes the office for the charter's term; the previous holder becomes a member."""
    with unit_of_work() as session:
        lock_club(club_id)
        target = check_candidate(club_id, membership_id, role)
        for holder in session.scalars(select(Membership).where(
                Membership.club_id == club_id, Membership.role == role, Membership.id != target.id)):
            record(None, club_id, "membership.role", holder, before={"role": role},
                   after={"role": "member", "ballot": ballot_id})
            holder.role = Role.MEMBER
            holder.role_until = None
        before = {"role": target.role, "until": target.role_until}
        target.role = role
        target.role_until = _term_end(local_today(target.club), charter_of(club_id).officer_term_months)
        record(None, club_id, "membership.role", target, before=before,
               after={"role": role, "until": target.role_until, "ballot": ballot_id})
        return target


def check_amendment(club_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """The settings that these changes really change, once ``_amended`` accepts them."""
    old, new = _amended(club_id, changes)
    return {k: v for k, v in new.items() if old[k] != v}


def _known_settings(values: dict[str, Any]) -> None:
    unknown = set(values) - set(CHARTER_FIELDS)
    if unknown:
        raise InvalidInput(_l("Unknown charter setting."), field=sorted(unknown)[0])


def _amended(club_id: int, changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The charter in force and the one with these changes: known settings, within bounds (R1–R12), room
    for the current members, and something really changed."""
    _known_settings(changes)
    old = charter_values(charter_of(club_id))
    new = {**old, **changes}
    rules.check_charter(new)
    active = active_count(club_id)
    if new["max_members"] < active:
        raise RuleViolation(
            _l("The club already has %(count)d active members: the maximum cannot be lower.", count=active),
            rule="R1", field="max_members")
    if new == old:
        raise Conflict(_l("Nothing was changed."))
    return old, new


def adopt_charter(club_id: int, changes: dict[str, Any], *, ballot_id: int, author_id: int | None) -> Charter:
    """A new charter version: the one in force with the changes members voted."""
    with unit_of_work() as session:
        lock_club(club_id)
        changed = check_amendment(club_id, changes)
        current = charter_of(club_id)
        old = charter_values(current)
        new = {**old, **changed}
        charter = Charter(club_id=club_id, version=current.version + 1, author_id=author_id, **new)
        session.add(charter)
        club = session.get(Club, club_id)
        club.charter_version = charter.version
        _apply_time_limits(club_id, old, new)
        session.flush()
        record(None, club_id, "charter.amend", charter, before={k: old[k] for k in changed},
               after={**changed, "ballot": ballot_id})
        return charter


def check_renewal(club: Club) -> None:
    """R5: the term can be extended the charter's number of times, and only for a club still running."""
    if club.status not in (ClubStatus.ACTIVE, ClubStatus.IN_MANAGEMENT):
        raise Conflict(_l("Only an active club or one in management can renew its term."))
    if club.renewals >= charter_of(club.id).max_renewals:
        raise RuleViolation(_l("The club's term has already been renewed as often as the charter allows."),
                            rule="R5")


def renew_term(club_id: int, *, ballot_id: int) -> Club:
    """The term runs the charter's number of years more; a club in management is active again."""
    with unit_of_work() as session:
        club = session.scalar(select(Club).where(Club.id == club_id).with_for_update())
        check_renewal(club)
        before = {"term_ends_on": club.term_ends_on, "status": club.status, "renewals": club.renewals}
        today = local_today(club)
        start = max(club.term_ends_on or today, today)
        club.term_ends_on = _term_end(start, 12 * charter_of(club_id).term_years)
        club.renewals += 1
        if club.status != ClubStatus.ACTIVE:  # an active club stays so
            move(club, ClubStatus.ACTIVE)
        record(None, club_id, "club.renew", club, before=before,
               after={"term_ends_on": club.term_ends_on, "status": club.status, "renewals": club.renewals,
                      "ballot": ballot_id})
        return club


def leave(user_id: int, club_id: int) -> Membership:
    """A member leaves. Officers hand their role over first (R3); the
    treasurer then refunds the leaver's capital (R13)."""
    with unit_of_work():
        membership = membership_for(user_id, club_id, lock=True)
        if membership.role in (Role.MANAGER, Role.TREASURER):
            raise RuleViolation(_l("Hand your office over to another member before leaving."), rule="R3")
        return depart(user_id, club_id, membership)


def depart(actor_id: int | None, club_id: int, membership: Membership, **why: Any) -> Membership:
    """An active member leaves today (on their own, or as their share passes to someone else: ``why`` says
    which for the audit): a secretary's office goes with them. The caller holds the club's lock and has checked
    R3 (a manager or a treasurer hands the office over first)."""
    before = {"status": membership.status, "role": membership.role}
    move(membership, MemberStatus.LEFT)
    membership.role = Role.MEMBER
    membership.role_until = None
    membership.left_on = local_today(membership.club)
    record(actor_id, club_id, "membership.leave", membership, before=before, after={"status": "left", **why})
    return membership


# --- Roles and activation -----------------------------------------------------------


def appoint(user_id: int, club_id: int, membership_id: int, role: str) -> Membership:
    """The manager appoints the officers while the club is forming (R3).

    One holder per office: the previous holder becomes a member. Appointing
    someone else manager hands the management over. Once the club is
    active, officers are elected by ballot."""
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput(_l("Choose a role from the list."), field="role") from None
    with unit_of_work() as session:
        manager = access.manager(user_id, club_id, lock=True)
        if manager.club.status != ClubStatus.FORMING:
            raise RuleViolation(_l("Officers of an active club are elected by ballot."), rule="R3")
        target = session.scalar(
            select(Membership).where(Membership.id == membership_id, Membership.club_id == club_id,
                                     Membership.status == MemberStatus.ACTIVE)
        )
        if target is None:
            raise NotFound(_l("No such member."))
        if target.role == role:
            raise Conflict(_l("This member already holds this role."))
        if target.id == manager.id:
            raise RuleViolation(_l("Appoint another member manager to hand the management over."), rule="R3")
        charter = charter_of(club_id)
        if role != Role.MEMBER:
            for holder in session.scalars(
                select(Membership).where(Membership.club_id == club_id, Membership.role == role,
                                         Membership.id != target.id)
            ):
                record(user_id, club_id, "membership.role", holder, before={"role": role}, after={"role": "member"})
                holder.role = Role.MEMBER
                holder.role_until = None
        before = {"role": target.role}
        target.role = role
        target.role_until = (_term_end(local_today(manager.club), charter.officer_term_months)
                             if role != Role.MEMBER else None)
        record(user_id, club_id, "membership.role", target, before=before, after={"role": role})
        return target


def activate(user_id: int, club_id: int) -> Club:
    """The manager activates a forming club: 5–20 members (R1) and a
    treasurer who is not the manager (R3). The term starts (R5)."""
    with unit_of_work():
        manager = access.manager(user_id, club_id, lock=True)
        club = manager.club
        if club.status != ClubStatus.FORMING:
            raise Conflict(_l("This club is already active."))
        check = _activation_check(club_id)
        if check.problems:
            raise check.problems[0]
        charter = charter_of(club_id)
        today = local_today(club)
        move(club, ClubStatus.ACTIVE)
        club.activated_on = today
        club.term_ends_on = _term_end(today, 12 * charter.term_years)
        for officer in db.session.scalars(select(Membership).where(  # their terms run from today (R3)
                Membership.club_id == club_id, Membership.status == MemberStatus.ACTIVE,
                Membership.role != Role.MEMBER)):
            officer.role_until = _term_end(today, charter.officer_term_months)
        record(user_id, club_id, "club.activate", club, before={"status": "forming"},
               after={"status": "active", "term_ends_on": club.term_ends_on})
        return club


def lapsed_officers(user_id: int, club_id: int, *, today: date | None = None) -> list[Membership]:
    """Officers past their term, who hold the office but no longer its powers until an election (R3)."""
    membership_for(user_id, club_id)
    return [m for m in db.session.scalars(select(Membership).where(
        Membership.club_id == club_id, Membership.status == MemberStatus.ACTIVE, Membership.role != Role.MEMBER,
        Membership.role_until.is_not(None)).order_by(Membership.role))
        if not access.in_office(m, today=today)]


# --- The club's term (R5) ----------------------------------------------------------------


def end_term_if_due(club_id: int, *, today: date | None = None) -> bool:
    """An active club past its term is *in management*: follow-up, exits and liquidation only (R5).
    Checked when the club's home is read and by ``flask coop tick``; today is the club's. True when it changed."""
    due = db.session.execute(select(Club.term_ends_on, Club.time_zone).where(
        Club.id == club_id, Club.status == ClubStatus.ACTIVE)).first()
    if due is None or due.term_ends_on is None or due.term_ends_on >= (today or clock.local_today(due.time_zone)):
        return False
    with unit_of_work():
        club = db.session.scalar(select(Club).where(Club.id == club_id).with_for_update())
        today = today or local_today(club)
        if club.status != ClubStatus.ACTIVE or club.term_ends_on is None or club.term_ends_on >= today:
            return False
        move(club, ClubStatus.IN_MANAGEMENT)
        record(None, club_id, "club.in_management", club, before={"status": "active"},
               after={"status": "in_management", "term_ended_on": club.term_ends_on})
        return True


def end_terms(*, today: date | None = None) -> int:
    """Every active club past its term goes into management; returns how many did. Without ``today``, each
    club's own (the clubs furthest east see the next day first)."""
    latest = today or clock.local_today(clock.FURTHEST_AHEAD) + timedelta(days=1)  # no club's date is later
    due = list(db.session.scalars(select(Club.id).where(Club.status.in_(sources(Club, ClubStatus.IN_MANAGEMENT)),
                                                        Club.term_ends_on < latest)))
    db.session.rollback()
    return sum(end_term_if_due(club_id, today=today) for club_id in due)


def months_left(club: Club, today: date | None = None) -> int | None:
    """Whole months until the term ends (0 in its last month), None without a term."""
    today = today or local_today(club)
    if club.term_ends_on is None:
        return None
    months = (club.term_ends_on.year - today.year) * 12 + club.term_ends_on.month - today.month
    if club.term_ends_on.day < today.day:
        months -= 1
    return max(months, 0)
