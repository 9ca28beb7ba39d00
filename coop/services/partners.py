"""Between clubs: trading time with partner clubs.

A partnership is agreed by a ballot in EACH club, with a limit on the balance between them. A member of one
club then records a service given to (or received from) a member of the partner club; the other member
confirms it; each club posts its own side through a clearing account for the other club:

    club A (the provider's)                        club B (the receiver's)
      time:<provider>   +minutes                      clearing:A  +minutes
      clearing:B        −minutes                      time:<receiver> −minutes

so each club's books stay single-club and balanced, its time accounts still sum to zero (invariant 10), and the
clearing account's floor and ceiling (∓ the agreed limit) hold the balance between the two clubs.

**No transaction ever writes both clubs.** Each step is written in one club with a ``Relay`` (that club's
outbox) in the same unit of work; delivering the relay applies the step in the other club in a unit of work of
its own, idempotently (each step finds what it already did by the exchange's ``uuid``), and a third unit marks
the relay delivered. A crash between any two leaves both books balanced and the relay pending; the next
delivery (at once after each commit, else ``flask coop tick``) completes the exchange. Relays between two
clubs are delivered in the order they were written, like the messages between two Credit Commons ledgers.

The exchange follows the Credit Commons transaction (docs/between-clubs.md): payer (who received the
service), payee (who gave it), quantity (minutes), description; states pending → completed or erased, with
"committed" for the club that posted first while the other's side is on its way; and a hash chain per
partnership that both clubs keep identical.

Lifecycle of one exchange (recorded in A, confirmed in B)::

    A: pending ──relay propose──▶ B: pending ──(B's member confirms: B posts)──▶ B: committed
    A: completed ◀──(A posts)── relay commit ◀──┘
    └──relay completed (+ hash)──▶ B: completed
    A refuses to post (a limit, the member left): A erased ──relay erase──▶ B reverses its side: erased
    withdrawn by the recorder, declined by the other member, or expired: erased on both sides, never posted
"""
from __future__ import annotations

import hashlib
import json
import logging
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from .. import notify
from ..extensions import db
from ..models import (
    AccountType,
    Ballot,
    BallotStatus,
    Club,
    ClubStatus,
    CrossExchange,
    CrossState,
    Listing,
    ListingStatus,
    Membership,
    MemberStatus,
    Partnership,
    PartnershipStatus,
    Relay,
    RelayStatus,
    TransactionKind,
    Unit,
)
from ..models.base import utcnow
from . import access, ledger
from .access import membership_for
from .audit import record
from .charter import charter_of
from .clubs import use_form_key
from .errors import Conflict, CoopError, InvalidInput, NotFound, NotPermitted, RuleViolation, _l
from .lookup import in_club
from .rules import LimitCheck, check_time_limit
from .timebank import check_day, check_minutes
from .transitions import move
from .uow import after_commit, unit_of_work
from .validate import is_id, one_line

log = logging.getLogger(__name__)

#: The most two clubs may owe each other, in minutes (1,000 hours).
MAX_LIMIT = 1000 * 60
REASON_MAX = 300
#: Clubs that trade time.
TRADING = (ClubStatus.FORMING, ClubStatus.ACTIVE, ClubStatus.IN_MANAGEMENT)
#: A relay that failed is tried again after this long, doubled at each failure, at most a day.
RETRY_AFTER = timedelta(minutes=1)
DIRECTIONS = ("given", "received")
#: Exchanges not settled yet in this club.
WAITING = (CrossState.PENDING, CrossState.COMMITTED, CrossState.UNDOING)


def _today(today: date | None) -> date:
    return today or date.today()


def clearing_code(partner_club_id: int) -> str:
    return f"clearing:{partner_club_id}"


# --- Partnerships ----------------------------------------------------------------------------------------------


def _check_limit(limit_minutes: object) -> int:
    if isinstance(limit_minutes, bool) or not isinstance(limit_minutes, int):
        raise InvalidInput(_l("Give the limit in hours."), field="limit_minutes")
    if limit_minutes <= 0:
        raise InvalidInput(_l("The limit must be more than zero."), field="limit_minutes")
    if limit_minutes > MAX_LIMIT:
        raise InvalidInput(_l("The limit is %(hours)d hours at most.", hours=MAX_LIMIT // 60), field="limit_minutes")
    return limit_minutes


def propose(user_id: int, club_id: int, *, partner_club_id: object, limit_minutes: object, form_key: str) -> Partnership:
    """The manager proposes trading time with another club, named by its number (which its manager gives:
    there is no directory of clubs to browse); this club's members then vote on it (a ballot of kind
    "partnership"), and, if they agree, the other club's members."""
    limit_minutes = _check_limit(limit_minutes)
    if not is_id(partner_club_id):
        raise InvalidInput(_l("Choose the club."), field="partner_club_id")
    with unit_of_work() as session:
        me = access.manager(user_id, club_id, lock=True)
        if me.club.status not in TRADING:
            raise RuleViolation(_l("This club no longer records exchanges of time."), rule="R12")
        partner = session.get(Club, partner_club_id)
        if partner is None or partner.id == club_id or partner.status not in TRADING:
            raise NotFound(_l("No such club."), field="partner_club_id")
        row = session.scalar(select(Partnership).where(Partnership.club_id == club_id,
                                                       Partnership.partner_club_id == partner.id))
        if row is not None and row.status != PartnershipStatus.REFUSED:
            raise Conflict(_l("This club already has a partnership with %(club)s.", club=row.partner_name))
        use_form_key(user_id, form_key, club_id)
        if row is None:
            row = Partnership(club_id=club_id, partner_club_id=partner.id, status=PartnershipStatus.DRAFT)
            session.add(row)
        else:  # refused before: proposed again
            move(row, PartnershipStatus.DRAFT)
        row.partner_name = partner.name[:120]
        row.uuid = str(uuidlib.uuid4())
        row.limit_minutes = limit_minutes
        row.proposed_here = True
        row.ballot_id = None
        row.created_by_id = user_id
        row.created_at = utcnow()
        session.flush()
        record(user_id, club_id, "partnership.propose", row, after={
            "partner": partner.id, "limit_minutes": limit_minutes})
        return row


def _partnership(club_id: int, partnership_id: object, *, lock: bool = False) -> Partnership:
    return in_club(Partnership, club_id, partnership_id, lock=lock, missing=_l("No such partnership."))


def check_votable(club_id: int, partnership_id: object) -> Partnership:
    """The partnership a new ballot decides: proposed here, or agreed by the partner club, and not yet
    decided here."""
    row = _partnership(club_id, partnership_id, lock=True)
    if row.status not in (PartnershipStatus.DRAFT, PartnershipStatus.OFFERED):
        raise Conflict(_l("This partnership is not waiting for the members' decision."), field="partnership_id")
    if _in_vote(row):
        raise Conflict(_l("A ballot on this is already open."))
    return row


def _in_vote(row: Partnership) -> bool:
    return db.session.scalar(select(Ballot.id).where(Ballot.club_id == row.club_id, Ballot.status == BallotStatus.OPEN,
                                                     Ballot.partnership_id == row.id).limit(1)) is not None


def ballot_label(row: Partnership) -> str:
    """What the members vote on: the club and the limit."""
    return f"{row.partner_name} ({_hours(row.limit_minutes)} h)"


def decided(club_id: int, partnership_id: int, *, adopted: bool, ballot_id: int, actor_id: int | None) -> None:
    """This club's members decided (``ballots._apply``): the partner club hears of it."""
    row = _partnership(club_id, partnership_id, lock=True)
    if row.status not in (PartnershipStatus.DRAFT, PartnershipStatus.OFFERED):
        return
    before = row.status
    row.ballot_id = ballot_id
    if not adopted:
        move(row, PartnershipStatus.REFUSED)
        if before == PartnershipStatus.OFFERED:
            _send(row.club_id, row.partner_club_id, "partnership.refuse", row.uuid, {"reason": "vote"})
    elif before == PartnershipStatus.DRAFT:
        move(row, PartnershipStatus.PROPOSED)
        club = db.session.get(Club, club_id)
        _send(club_id, row.partner_club_id, "partnership.offer", row.uuid,
              {"name": club.name[:120], "limit_minutes": row.limit_minutes})
    else:
        _activate(row)
        _send(club_id, row.partner_club_id, "partnership.accept", row.uuid, {})
    record(actor_id, club_id, "partnership.decide", row, before={"status": before},
           after={"status": row.status, "ballot": ballot_id})


def _activate(row: Partnership) -> None:
    """Both clubs agreed: open the clearing account, its floor and ceiling the agreed limit."""
    move(row, PartnershipStatus.ACTIVE)
    row.active_since = utcnow()
    code = clearing_code(row.partner_club_id)
    account = db.session.scalar(select(ledger.Account).where(ledger.Account.club_id == row.club_id,
                                                             ledger.Account.code == code))
    if account is None:
        account = ledger.open_account(row.club_id, code=code, name=f"Clearing: {row.partner_name}"[:120],
                                      type=AccountType.ASSET, unit=Unit.TIME, floor=-row.limit_minutes,
                                      ceiling=row.limit_minutes)
    else:  # a partnership refused, then agreed again: the same account, with the new limit
        ledger.set_limits(row.club_id, account.id, floor=-row.limit_minutes, ceiling=row.limit_minutes,
                          actor_id=None, reason="partnership agreed")
    row.account_id = account.id


def suspend(user_id: int, club_id: int, partnership_id: int, *, form_key: str) -> Partnership:
    """The manager stops trading with the partner at once (no vote: trading less needs none). Exchanges
    already confirmed still complete; pending ones can no longer be confirmed."""
    with unit_of_work():
        access.manager(user_id, club_id)
        row = _partnership(club_id, partnership_id, lock=True)
        if row.status != PartnershipStatus.ACTIVE:
            raise Conflict(_l("Only an active partnership can be suspended."))
        if row.suspended_here_at is not None:
            raise Conflict(_l("This partnership is already suspended."))
        use_form_key(user_id, form_key, club_id)
        row.suspended_here_at = utcnow()
        _send(club_id, row.partner_club_id, "partnership.suspend", row.uuid, {}, unique=True)
        record(user_id, club_id, "partnership.suspend", row, after={"partner": row.partner_club_id})
        return row


def resume(user_id: int, club_id: int, partnership_id: int, *, form_key: str) -> Partnership:
    """The manager lifts this club's suspension (the partner's own, if any, stays until it lifts it)."""
    with unit_of_work():
        access.manager(user_id, club_id)
        row = _partnership(club_id, partnership_id, lock=True)
        if row.suspended_here_at is None:
            raise Conflict(_l("This club has not suspended this partnership."))
        use_form_key(user_id, form_key, club_id)
        row.suspended_here_at = None
        _send(club_id, row.partner_club_id, "partnership.resume", row.uuid, {}, unique=True)
        record(user_id, club_id, "partnership.resume", row, after={"partner": row.partner_club_id})
        return row


@dataclass(frozen=True)
class PartnerLine:
    partnership: Partnership
    #: this club's clearing account for the partner (debit-positive): negative when this club's members have
    #: given more to the partner's members than they received
    balance: int
    waiting: int  # exchanges not yet completed

    @property
    def owed_to_us(self) -> int:
        """Minutes the partner club owes this club (negative: this club owes the partner)."""
        return -self.balance


def partnerships_of(user_id: int, club_id: int) -> list[PartnerLine]:
    membership_for(user_id, club_id)
    rows = list(db.session.scalars(select(Partnership).where(Partnership.club_id == club_id)
                                   .order_by(Partnership.partner_name)))
    balances = dict(db.session.execute(select(ledger.Account.id, ledger.Account.balance).where(
        ledger.Account.club_id == club_id, ledger.Account.code.like("clearing:%"))).all())
    waiting = dict(db.session.execute(select(CrossExchange.partnership_id, func.count()).where(
        CrossExchange.club_id == club_id,
        CrossExchange.state.in_(WAITING)).group_by(CrossExchange.partnership_id)).all())
    return [PartnerLine(r, balances.get(r.account_id, 0), waiting.get(r.id, 0)) for r in rows]


def partnership_for(user_id: int, club_id: int, partnership_id: object) -> PartnerLine:
    membership_for(user_id, club_id)
    row = _partnership(club_id, partnership_id)
    balance = 0
    if row.account_id is not None:
        balance = db.session.scalar(select(ledger.Account.balance).where(ledger.Account.club_id == club_id,
                                                                         ledger.Account.id == row.account_id))
    waiting = db.session.scalar(select(func.count()).select_from(CrossExchange).where(
        CrossExchange.club_id == club_id, CrossExchange.partnership_id == row.id,
        CrossExchange.state.in_(WAITING)))
    return PartnerLine(row, balance, waiting)


def _trading_partnership(club_id: int, partnership_id: object, *, lock: bool = False) -> Partnership:
    row = _partnership(club_id, partnership_id, lock=lock)
    if row.status != PartnershipStatus.ACTIVE:
        raise RuleViolation(_l("The two clubs have not both agreed to trade time."), rule="R12")
    if not row.trading:
        raise RuleViolation(_l("Trading with %(club)s is suspended.", club=row.partner_name), rule="R12")
    return row


def partner_members(user_id: int, club_id: int, partnership_id: object) -> list[tuple[int, str]]:
    """The partner club's active members a member may trade with: (membership id there, name). Read from
    the partner club alone."""
    me = membership_for(user_id, club_id)
    row = _trading_partnership(club_id, partnership_id)
    del me
    members = db.session.scalars(select(Membership).where(Membership.club_id == row.partner_club_id,
                                                          Membership.status == MemberStatus.ACTIVE))
    return sorted(((m.id, m.user.name) for m in members), key=lambda p: p[1].casefold())


def partner_listings(user_id: int, club_id: int, partnership_id: object, *, today: date | None = None) -> list[Listing]:
    """The offers and requests the partner club shows to its partners (read from the partner club alone)."""
    membership_for(user_id, club_id)
    row = _trading_partnership(club_id, partnership_id)
    today = _today(today)
    listings = db.session.scalars(select(Listing).where(
        Listing.club_id == row.partner_club_id, Listing.partners_see.is_(True),
        Listing.status == ListingStatus.ACTIVE).order_by(Listing.id.desc()).limit(100))
    return [x for x in listings if x.expires_on is None or x.expires_on >= today]


# --- Exchanges across clubs ------------------------------------------------------------------------------------


def _accounts(row: Partnership, member_id: int) -> tuple[ledger.Account, ledger.Account]:
    """This club's member's time account and the clearing account for the partner, locked."""
    member_code, clearing = f"time:{member_id}", clearing_code(row.partner_club_id)
    found = ledger.lock_codes(row.club_id, [member_code, clearing])
    if len(found) != 2:
        raise NotFound(_l("No such account."))
    return found[member_code], found[clearing]


def _check_room(row: Partnership, member: Membership, direction: str, minutes: int, *, lock: bool) -> None:
    """The member's floor or ceiling (R12) and the limit between the clubs, for this club's side."""
    if lock:
        mine, clearing = _accounts(row, member.id)
    else:
        codes = {f"time:{member.id}", clearing_code(row.partner_club_id)}
        by_code = {a.code: a for a in db.session.scalars(select(ledger.Account).where(
            ledger.Account.club_id == row.club_id, ledger.Account.code.in_(codes)))}
        if len(by_code) != 2:
            raise NotFound(_l("No such account."))
        mine, clearing = by_code[f"time:{member.id}"], by_code[clearing_code(row.partner_club_id)]
    moved = minutes if direction == "given" else -minutes
    check_time_limit(LimitCheck.EXCHANGE, mine.balance, mine.floor, mine.ceiling, minutes=moved, name=member.user.name)
    after = clearing.balance - moved
    if not -row.limit_minutes <= after <= row.limit_minutes:
        raise RuleViolation(_l("This exchange would take the balance between this club and %(club)s past the "
                               "%(hours)s hours the two clubs agreed.", club=row.partner_name,
                               hours=_hours(row.limit_minutes)), rule="R12", field="minutes")


def _hours(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours}" if not rest else f"{hours}:{rest:02d}"


def record_exchange(user_id: int, club_id: int, partnership_id: object, *, partner_member_id: object,
                    direction: str, minutes: object, done_on: object, description: object, form_key: str,
                    today: date | None = None) -> CrossExchange:
    """A member records a service given to, or received from, a member of a partner club; that member
    confirms it in their own club."""
    today = _today(today)
    if direction not in DIRECTIONS:
        raise InvalidInput(_l("Say whether you gave or received the service."), field="direction")
    minutes = check_minutes(minutes)
    done_on = check_day(done_on, today)
    description = one_line(description, "description", maximum=500)
    if not is_id(partner_member_id):
        raise InvalidInput(_l("Choose the member of the other club."), field="partner_member_id")
    row = _trading_partnership(club_id, partnership_id)
    other = db.session.scalar(select(Membership).where(Membership.club_id == row.partner_club_id,
                                                       Membership.id == partner_member_id))
    if other is None or other.status != MemberStatus.ACTIVE:
        raise NotFound(_l("No such member in %(club)s.", club=row.partner_name), field="partner_member_id")
    other_id, other_user, other_name = other.id, other.user_id, other.user.name[:120]
    db.session.rollback()  # the partner club was read in a transaction of its own; the write below is this club's
    with unit_of_work() as session:
        me = membership_for(user_id, club_id)
        if me.club.status not in TRADING:
            raise RuleViolation(_l("This club no longer records exchanges of time."), rule="R12")
        if other_user == me.user_id:  # a person in both clubs moving time between their own two accounts
            raise RuleViolation(_l("You cannot exchange time with yourself."), rule="R12", field="partner_member_id")
        row = _trading_partnership(club_id, partnership_id, lock=True)
        _check_room(row, me, direction, minutes, lock=False)
        use_form_key(user_id, form_key, club_id)
        expiry = charter_of(club_id).exchange_expiry_days
        cross = CrossExchange(club_id=club_id, uuid=str(uuidlib.uuid4()), partnership_id=row.id, member_id=me.id,
                              direction=direction, partner_member_id=other_id, partner_member_name=other_name,
                              minutes=minutes, done_on=done_on, description=description, state=CrossState.PENDING,
                              recorded_here=True, expires_on=today + timedelta(days=expiry))
        session.add(cross)
        session.flush()
        _send(club_id, row.partner_club_id, "exchange.propose", cross.uuid, {
            "partnership": row.uuid, "member": other_id, "partner_member": me.id, "partner_user": me.user_id,
            "partner_member_name": me.user.name[:120],
            "direction": "received" if direction == "given" else "given", "minutes": minutes,
            "done_on": done_on.isoformat(), "description": description,
            "expires_on": cross.expires_on.isoformat()})
        record(user_id, club_id, "cross_exchange.record", cross, after={
            "partner_club": row.partner_club_id, "partner_member": other_id, "direction": direction,
            "minutes": minutes, "done_on": done_on})
        return cross


def _cross(club_id: int, cross_id: object, *, lock: bool = False) -> CrossExchange:
    return in_club(CrossExchange, club_id, cross_id, lock=lock, missing=_l("No such exchange."))


def _locked(club_id: int, cross_id: object) -> CrossExchange:
    """The exchange, locked after its partnership: every unit of work locks a partnership before its
    exchanges (the deliveries do), so two never wait on each other."""
    cross = _cross(club_id, cross_id)
    _partnership(club_id, cross.partnership_id, lock=True)
    return _cross(club_id, cross.id, lock=True)


def _mine(user_id: int, club_id: int, cross_id: object) -> tuple[Membership, CrossExchange]:
    me = membership_for(user_id, club_id)
    cross = _locked(club_id, cross_id)
    if cross.member_id != me.id:
        raise NotFound(_l("No such exchange."))
    return me, cross


def confirm(user_id: int, club_id: int, cross_id: object, *, today: date | None = None) -> CrossExchange:
    """The member who did not record it confirms: this club posts its side at once; the partner club posts
    its own when the step reaches it."""
    today = _today(today)
    with unit_of_work():
        me, cross = _mine(user_id, club_id, cross_id)
        if cross.recorded_here:
            raise NotPermitted(_l("The member of the other club confirms what you recorded."), rule="R12")
        if cross.state != CrossState.PENDING:
            raise Conflict(_l("This exchange is no longer waiting for confirmation."))
        if cross.expires_on is not None and cross.expires_on < today:
            raise RuleViolation(_l("This exchange expired on %(day)s without confirmation; record it again.",
                                   day=cross.expires_on), rule="R12")
        if me.status != MemberStatus.ACTIVE:
            raise RuleViolation(_l("%(name)s is not an active member of the club.", name=me.user.name), rule="R12")
        if me.club.status not in TRADING:
            raise RuleViolation(_l("This club no longer records exchanges of time."), rule="R12")
        row = _trading_partnership(club_id, cross.partnership_id, lock=True)
        _post(row, cross, me, user_id)
        cross.state = CrossState.COMMITTED
        cross.updated_at = utcnow()
        _send(club_id, row.partner_club_id, "exchange.commit", cross.uuid, {})
        record(user_id, club_id, "cross_exchange.confirm", cross, after={"transaction": cross.transaction_id})
        return cross


def _post(row: Partnership, cross: CrossExchange, member: Membership, author_id: int | None) -> None:
    """This club's side, once: the member's time account and the clearing account, limits checked under lock."""
    _check_room(row, member, cross.direction, cross.minutes, lock=True)
    mine, clearing = _accounts(row, member.id)
    moved = cross.minutes if cross.direction == "given" else -cross.minutes
    closed = ledger.lock_for_posting(row.club_id).closed_through
    on = cross.done_on if closed is None or cross.done_on > closed else closed + timedelta(days=1)
    memo = f"{cross.description} ({row.partner_name}: {cross.partner_member_name})"[:500]
    txn = ledger.post(row.club_id, unit=Unit.TIME, kind=TransactionKind.EXCHANGE,
                      lines=[(mine.id, moved), (clearing.id, -moved)], idempotency_key=f"cross:{cross.uuid}",
                      occurred_on=on, memo=memo, author_id=author_id)
    cross.transaction_id = txn.id


def decline(user_id: int, club_id: int, cross_id: object, *, reason: object) -> CrossExchange:
    """The member asked to confirm says it did not happen so: erased in both clubs, never posted."""
    reason = one_line(reason, "reason", maximum=REASON_MAX)
    with unit_of_work():
        _me, cross = _mine(user_id, club_id, cross_id)
        if cross.recorded_here:
            raise NotPermitted(_l("You recorded this exchange: withdraw it instead."), rule="R12")
        if cross.state != CrossState.PENDING:
            raise Conflict(_l("This exchange is no longer waiting for confirmation."))
        _erase(cross, reason)
        record(user_id, club_id, "cross_exchange.decline", cross, after={"reason": reason})
        return cross


def withdraw(user_id: int, club_id: int, cross_id: object) -> CrossExchange:
    """Whoever recorded it takes it back while it waits for confirmation."""
    with unit_of_work():
        _me, cross = _mine(user_id, club_id, cross_id)
        if not cross.recorded_here:
            raise NotPermitted(_l("Only the member who recorded this exchange can withdraw it."), rule="R12")
        if cross.state != CrossState.PENDING:
            raise Conflict(_l("This exchange is no longer waiting for confirmation."))
        _erase(cross, "withdrawn")
        record(user_id, club_id, "cross_exchange.withdraw", cross)
        return cross


def _erase(cross: CrossExchange, reason: str) -> None:
    """Erased here, and the partner club told (it reverses its side if it had posted it)."""
    cross.state = CrossState.ERASED
    cross.reason = reason[:REASON_MAX]
    cross.updated_at = utcnow()
    partner = db.session.scalar(select(Partnership.partner_club_id).where(
        Partnership.club_id == cross.club_id, Partnership.id == cross.partnership_id))
    _send(cross.club_id, partner, "exchange.erase", cross.uuid, {"reason": cross.reason})


def expire_due(*, club_id: int | None = None, today: date | None = None) -> int:
    """Exchanges no one confirmed in time are erased in the club that recorded them (the partner hears)."""
    today = _today(today)
    stmt = select(CrossExchange.club_id, CrossExchange.id).where(
        CrossExchange.state == CrossState.PENDING, CrossExchange.recorded_here.is_(True),
        CrossExchange.expires_on < today)
    if club_id is not None:
        stmt = stmt.where(CrossExchange.club_id == club_id)
    done = 0
    for cid, xid in db.session.execute(stmt).all():
        with unit_of_work():
            cross = _locked(cid, xid)
            if cross.state == CrossState.PENDING:
                _erase(cross, "expired")
                record(None, cid, "cross_exchange.expire", cross)
                done += 1
    return done


def exchanges_with(user_id: int, club_id: int, partnership_id: object, *, limit: int = 200) -> list[CrossExchange]:
    """A member's own exchanges with the partner club; an officer sees every member's."""
    me = membership_for(user_id, club_id)
    row = _partnership(club_id, partnership_id)
    stmt = select(CrossExchange).where(CrossExchange.club_id == club_id, CrossExchange.partnership_id == row.id)
    if not access.is_manager(me) and not access.is_bookkeeper(me):
        stmt = stmt.where(CrossExchange.member_id == me.id)
    return list(db.session.scalars(stmt.order_by(CrossExchange.id.desc()).limit(limit)))


def to_confirm(user_id: int, club_id: int) -> list[CrossExchange]:
    me = membership_for(user_id, club_id)
    return list(db.session.scalars(select(CrossExchange).where(
        CrossExchange.club_id == club_id, CrossExchange.member_id == me.id, CrossExchange.recorded_here.is_(False),
        CrossExchange.state == CrossState.PENDING).order_by(CrossExchange.id)))


# --- The hash chain --------------------------------------------------------------------------------------------


def entry_text(cross: CrossExchange, *, here_club: int, partner_club: int) -> str:
    """The exchange as both clubs write it for the chain: payer and payee as ``club/member`` paths (as a
    Credit Commons node names accounts), quantity, date and description."""
    mine, theirs = f"{here_club}/{cross.member_id}", f"{partner_club}/{cross.partner_member_id}"
    payee, payer = (mine, theirs) if cross.direction == "given" else (theirs, mine)
    return json.dumps({"uuid": cross.uuid, "payer": payer, "payee": payee, "quant": cross.minutes,
                       "done_on": cross.done_on.isoformat(), "description": cross.description},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def link(previous: str, text: str) -> str:
    return hashlib.sha256(f"{previous}|{text}".encode()).hexdigest()


def _keeps_chain(row: Partnership) -> bool:
    """The club with the lower id writes the chain's order; the other copies each link as it arrives."""
    return row.club_id < row.partner_club_id


def _complete(row: Partnership, cross: CrossExchange, received_hash: str | None) -> dict[str, Any]:
    """Completed here: the chain moves on. Returns what the partner needs to follow the chain."""
    cross.state = CrossState.COMPLETED
    cross.updated_at = utcnow()
    if _keeps_chain(row):
        cross.chain_hash = link(row.chain_head, entry_text(cross, here_club=row.club_id,
                                                           partner_club=row.partner_club_id))
        row.chain_head, row.chain_length = cross.chain_hash, row.chain_length + 1
        return {"hash": cross.chain_hash}
    if received_hash:
        _copy_link(row, cross, received_hash)
    return {}


def _copy_link(row: Partnership, cross: CrossExchange, received: str) -> None:
    """This club computes the link itself, in the order the keeper's links arrive, from its own copy of the
    exchange: the same data gives the same link. A link that differs is logged and kept as computed here, so
    the two chains' heads differ and invariant 16 reports it."""
    own = link(row.chain_head, entry_text(cross, here_club=row.club_id, partner_club=row.partner_club_id))
    if own != received:
        log.error("partnership %s/%s: chain link for %s differs (partner %s, here %s)", row.club_id, row.id,
                  cross.uuid, received, own)
    cross.chain_hash = own
    row.chain_head, row.chain_length = own, row.chain_length + 1


# --- Relays: each club's outbox --------------------------------------------------------------------------------


def _send(club_id: int, to_club_id: int, kind: str, subject: str, payload: dict[str, Any], *,
          unique: bool = False) -> Relay:
    """Write a step for the partner club, in this unit of work; delivered once it commits.

    The partnership row is locked first (if the use case has not already): the steps to one partner are then
    numbered in the order they commit, which the partner relies on to skip a step it has applied
    (``_apply_once``)."""
    _partnership_with(club_id, to_club_id)
    key = f"{kind}:{subject}" + (f":{uuidlib.uuid4().hex[:8]}" if unique else "")
    existing = db.session.scalar(select(Relay).where(Relay.club_id == club_id, Relay.key == key))
    if existing is not None:
        return existing
    relay = Relay(club_id=club_id, to_club_id=to_club_id, kind=kind, key=key,
                  payload={"uuid": subject, "from": club_id, **payload})
    db.session.add(relay)
    db.session.flush()
    if current_app.config.get("COOP_RELAY_AT_ONCE", True):
        ids = (club_id, relay.id)
        after_commit(lambda: _deliver_quietly(*ids))
    return relay


def _deliver_quietly(club_id: int, relay_id: int) -> None:
    try:
        deliver(club_id, relay_id)
    except Exception:  # noqa: BLE001 - the relay stays pending; the tick tries again
        log.exception("relay %s of club %s not delivered", relay_id, club_id)
        db.session.rollback()


#: Kept for tests: runs between applying a step in the receiving club and marking it delivered in the sender.
_between_sides: Callable[[Relay], None] | None = None


def deliver(club_id: int, relay_id: int, *, now: datetime | None = None) -> bool:
    """Deliver this relay, after any earlier one still pending between the same two clubs (in order).
    True once it is delivered; False if it (or an earlier one) failed and waits for a retry."""
    now = now or utcnow()
    relay = db.session.scalar(select(Relay).where(Relay.club_id == club_id, Relay.id == relay_id))
    if relay is None:
        raise NotFound(_l("No such relay."))
    if relay.status == RelayStatus.DELIVERED:
        return True
    earlier = list(db.session.scalars(select(Relay.id).where(
        Relay.club_id == club_id, Relay.to_club_id == relay.to_club_id, Relay.status == RelayStatus.PENDING,
        Relay.id <= relay_id).order_by(Relay.id)))
    db.session.rollback()
    for rid in earlier:
        if not _deliver_one(club_id, rid, now):
            return False
    return True


def _deliver_one(club_id: int, relay_id: int, now: datetime) -> bool:
    relay = db.session.scalar(select(Relay).where(Relay.club_id == club_id, Relay.id == relay_id))
    if relay is None or relay.status == RelayStatus.DELIVERED:
        db.session.rollback()
        return True
    kind, to_club, payload = relay.kind, relay.to_club_id, dict(relay.payload)
    db.session.rollback()
    try:
        with unit_of_work():  # the receiving club, in a unit of work of its own
            _apply_once(to_club, club_id, relay_id, kind, payload)
        if _between_sides is not None:
            _between_sides(relay)
    except Exception as exc:  # noqa: BLE001 - anything: the step is tried again later
        db.session.rollback()
        with unit_of_work():
            row = db.session.scalar(select(Relay).where(Relay.club_id == club_id, Relay.id == relay_id)
                                    .with_for_update())
            if row is not None and row.status == RelayStatus.PENDING:
                row.attempts += 1
                row.last_error = f"{type(exc).__name__}: {exc}"[:300]
                row.next_attempt_at = now + min(RETRY_AFTER * 2 ** min(row.attempts, 12), timedelta(days=1))
        log.warning("relay %s of club %s (%s) failed: %s", relay_id, club_id, kind, exc)
        return False
    with unit_of_work():  # the sending club, in a unit of work of its own
        row = db.session.scalar(select(Relay).where(Relay.club_id == club_id, Relay.id == relay_id).with_for_update())
        if row is not None and row.status == RelayStatus.PENDING:
            move(row, RelayStatus.DELIVERED)
            row.attempts += 1
            row.delivered_at = now
            row.last_error = None
    return True


def _apply_once(club_id: int, sender: int, relay_id: int, kind: str, payload: dict[str, Any]) -> None:
    """Apply a step from ``sender`` unless a step written after it (or itself) was already applied here."""
    row = _partnership_with(club_id, sender)
    if row is not None and relay_id <= row.last_relay_in:
        return
    HANDLERS[kind](club_id, payload)
    row = row or _partnership_with(club_id, sender)
    if row is not None:
        row.last_relay_in = max(row.last_relay_in, relay_id)


def deliver_due(*, now: datetime | None = None, club_id: int | None = None) -> int:
    """``flask coop tick``: deliver the relays waiting for a retry, in order between each pair of clubs."""
    now = now or utcnow()
    stmt = select(Relay.club_id, Relay.to_club_id, func.min(Relay.id)).where(
        Relay.status == RelayStatus.PENDING).group_by(Relay.club_id, Relay.to_club_id)
    if club_id is not None:
        stmt = stmt.where(Relay.club_id == club_id)
    pairs = db.session.execute(stmt).all()
    db.session.rollback()
    delivered = 0
    for sender, receiver, first in pairs:
        # The first step waiting between two clubs goes first: while its back-off runs, the pair waits.
        ids = list(db.session.scalars(select(Relay.id).where(
            Relay.club_id == sender, Relay.to_club_id == receiver, Relay.status == RelayStatus.PENDING)
            .order_by(Relay.id)))
        due = db.session.scalar(select(Relay.next_attempt_at).where(Relay.club_id == sender, Relay.id == first))
        db.session.rollback()
        if ids and due is not None and due <= now and deliver(sender, ids[-1], now=now):
            delivered += len(ids)
    return delivered


# --- Applying a step in the receiving club (each idempotent) --------------------------------------------------


def _by_uuid(model, club_id: int, uuid: str, *, lock: bool = True):
    stmt = select(model).where(model.club_id == club_id, model.uuid == uuid)
    return db.session.scalar(stmt.with_for_update(of=model) if lock else stmt)


def _partnership_with(club_id: int, partner_club_id: int) -> Partnership | None:
    return db.session.scalar(select(Partnership).where(Partnership.club_id == club_id,
                                                       Partnership.partner_club_id == partner_club_id)
                             .with_for_update())


def _on_offer(club_id: int, p: dict[str, Any]) -> None:
    """The partner club's members agreed: this club's members decide."""
    sender, limit_minutes = p["from"], p["limit_minutes"]
    club = db.session.get(Club, club_id)
    row = _partnership_with(club_id, sender)
    if row is not None and row.uuid == p["uuid"]:
        return  # delivered before
    if row is not None and (row.status not in (PartnershipStatus.REFUSED, PartnershipStatus.DRAFT)
                            or _in_vote(row)):  # never change the terms the members are voting on
        _send(club_id, sender, "partnership.refuse", p["uuid"], {"reason": "crossed"})
        return
    if club is None or club.status not in TRADING:
        _send(club_id, sender, "partnership.refuse", p["uuid"], {"reason": "closed"})
        return
    if row is None:
        row = Partnership(club_id=club_id, partner_club_id=sender, status=PartnershipStatus.OFFERED)
        db.session.add(row)
    else:  # refused before, or proposed here but not yet voted on: the partner's agreed terms stand
        move(row, PartnershipStatus.OFFERED)
    row.partner_name, row.uuid, row.limit_minutes = p["name"][:120], p["uuid"], limit_minutes
    row.proposed_here, row.ballot_id, row.created_at = False, None, utcnow()
    db.session.flush()
    record(None, club_id, "partnership.offered", row, after={"partner": sender, "limit_minutes": limit_minutes})


def _on_accept(club_id: int, p: dict[str, Any]) -> None:
    row = _by_uuid(Partnership, club_id, p["uuid"])
    if row is not None and row.status == PartnershipStatus.PROPOSED:
        _activate(row)
        record(None, club_id, "partnership.accepted", row, after={"partner": row.partner_club_id})


def _on_refuse(club_id: int, p: dict[str, Any]) -> None:
    row = _by_uuid(Partnership, club_id, p["uuid"])
    if row is not None and row.status == PartnershipStatus.PROPOSED:
        move(row, PartnershipStatus.REFUSED)
        record(None, club_id, "partnership.refused", row, after={"reason": p.get("reason")})


def _on_suspend(club_id: int, p: dict[str, Any]) -> None:
    row = _by_uuid(Partnership, club_id, p["uuid"])
    if row is not None and row.suspended_there_at is None:
        row.suspended_there_at = utcnow()


def _on_resume(club_id: int, p: dict[str, Any]) -> None:
    row = _by_uuid(Partnership, club_id, p["uuid"])
    if row is not None:
        row.suspended_there_at = None


def _on_propose(club_id: int, p: dict[str, Any]) -> None:
    """A member of the partner club recorded an exchange with one of ours: it waits for our member."""
    if _by_uuid(CrossExchange, club_id, p["uuid"], lock=False) is not None:
        return
    row = _by_uuid(Partnership, club_id, p["partnership"])
    member = db.session.scalar(select(Membership).where(Membership.club_id == club_id, Membership.id == p["member"]))
    refusal = None
    if row is None or not row.trading:
        refusal = "not trading"
    elif member is None or member.status != MemberStatus.ACTIVE:
        refusal = "not a member"
    elif member.user_id == p.get("partner_user"):
        refusal = "same person"
    if refusal:
        _send(club_id, p["from"], "exchange.erase", p["uuid"], {"reason": refusal})
        return
    cross = CrossExchange(club_id=club_id, uuid=p["uuid"], partnership_id=row.id, member_id=member.id,
                          direction=p["direction"], partner_member_id=p["partner_member"],
                          partner_member_name=p["partner_member_name"][:120], minutes=p["minutes"],
                          done_on=date.fromisoformat(p["done_on"]), description=p["description"][:500],
                          state=CrossState.PENDING, recorded_here=False,
                          expires_on=date.fromisoformat(p["expires_on"]))
    db.session.add(cross)
    db.session.flush()
    notify.later("cross_to_confirm", cross)
    record(None, club_id, "cross_exchange.received", cross, after={"partner_club": p["from"]})


def _on_commit(club_id: int, p: dict[str, Any]) -> None:
    """The partner club posted its side: post ours, or refuse (the partner then reverses its side)."""
    cross = _by_uuid(CrossExchange, club_id, p["uuid"])
    if cross is None:
        _send(club_id, p["from"], "exchange.erase", p["uuid"], {"reason": "unknown"})
        return
    if cross.state == CrossState.ERASED:
        _send(club_id, p["from"], "exchange.erase", p["uuid"], {"reason": cross.reason or "erased"})
        return
    if cross.state != CrossState.PENDING:
        return  # completed before
    row = _partnership(club_id, cross.partnership_id, lock=True)
    member = cross.member
    try:
        if member.status != MemberStatus.ACTIVE:
            raise RuleViolation(_l("%(name)s is not an active member of the club.", name=member.user.name),
                                rule="R12")
        _post(row, cross, member, None)  # a refusal comes before anything is written
    except CoopError as refusal:
        # The partner club is told why by a code, never by this club's words (a member's balance, their floor).
        cross.transaction_id = None
        _erase(cross, "refused")
        record(None, club_id, "cross_exchange.refuse", cross, after={"reason": str(refusal)[:REASON_MAX]})
        return
    hashed = _complete(row, cross, None)
    _send(club_id, p["from"], "exchange.completed", p["uuid"], hashed)
    record(None, club_id, "cross_exchange.complete", cross, after={"transaction": cross.transaction_id})


def _on_completed(club_id: int, p: dict[str, Any]) -> None:
    cross = _by_uuid(CrossExchange, club_id, p["uuid"])
    if cross is None or cross.state != CrossState.COMMITTED:
        return
    row = _partnership(club_id, cross.partnership_id, lock=True)
    hashed = _complete(row, cross, p.get("hash"))
    if hashed:  # this club keeps the chain: the partner copies the link
        _send(club_id, row.partner_club_id, "exchange.sealed", p["uuid"], hashed)
    record(None, club_id, "cross_exchange.complete", cross, after={"transaction": cross.transaction_id})


def _on_sealed(club_id: int, p: dict[str, Any]) -> None:
    cross = _by_uuid(CrossExchange, club_id, p["uuid"])
    if cross is None or cross.chain_hash is not None or cross.state != CrossState.COMPLETED:
        return
    _copy_link(_partnership(club_id, cross.partnership_id, lock=True), cross, p["hash"])


def _on_erase(club_id: int, p: dict[str, Any]) -> None:
    """The partner club erased it (withdrawn, declined, expired or refused): erase ours, reversing our side if
    we had posted it."""
    cross = _by_uuid(CrossExchange, club_id, p["uuid"])
    if cross is None or cross.state in (CrossState.ERASED, CrossState.COMPLETED):
        if cross is not None and cross.state == CrossState.COMPLETED:
            log.error("club %s: erase of completed exchange %s refused", club_id, cross.uuid)
        return
    cross.reason = (p.get("reason") or "")[:REASON_MAX]
    cross.updated_at = utcnow()
    if cross.state == CrossState.COMMITTED and not _undo(cross):
        # Reversing our side would pass a limit (the member's balance moved since): the step is taken all the
        # same, so that the steps behind it between the two clubs go on; the reversal waits (``undo_due``).
        cross.state = CrossState.UNDOING
        record(None, club_id, "cross_exchange.undoing", cross, after={"reason": cross.reason})
        return
    cross.state = CrossState.ERASED
    record(None, club_id, "cross_exchange.erased", cross, after={"reason": cross.reason})


def _undo(cross: CrossExchange) -> bool:
    """Reverse this club's side of an exchange the partner club could not count; False if a limit refuses."""
    try:
        txn = ledger.reverse(cross.club_id, cross.transaction_id, reason=f"{cross.partnership.partner_name}: "
                             f"{cross.reason or 'refused'}"[:500], idempotency_key=f"cross-rev:{cross.uuid}",
                             author_id=None)
    except CoopError as refusal:
        log.warning("club %s: exchange %s waits to be reversed: %s", cross.club_id, cross.uuid, refusal)
        return False
    cross.reversal_id = txn.id
    return True


def undo_due(*, club_id: int | None = None) -> int:
    """``flask coop tick``: reverse the sides still waiting, once the member's limits leave room (the manager
    may change them); each in a unit of work of its own."""
    stmt = select(CrossExchange.club_id, CrossExchange.id).where(CrossExchange.state == CrossState.UNDOING)
    if club_id is not None:
        stmt = stmt.where(CrossExchange.club_id == club_id)
    done = 0
    for cid, xid in db.session.execute(stmt).all():
        with unit_of_work():
            cross = _locked(cid, xid)
            if cross.state == CrossState.UNDOING and _undo(cross):
                cross.state = CrossState.ERASED
                cross.updated_at = utcnow()
                record(None, cid, "cross_exchange.erased", cross, after={"reason": cross.reason})
                done += 1
    return done


HANDLERS: dict[str, Callable[[int, dict[str, Any]], None]] = {
    "partnership.offer": _on_offer,
    "partnership.accept": _on_accept,
    "partnership.refuse": _on_refuse,
    "partnership.suspend": _on_suspend,
    "partnership.resume": _on_resume,
    "exchange.propose": _on_propose,
    "exchange.commit": _on_commit,
    "exchange.completed": _on_completed,
    "exchange.sealed": _on_sealed,
    "exchange.erase": _on_erase,
}


# --- Invariants ------------------------------------------------------------------------------------------------


def check() -> list[ledger.Violation]:
    """Invariant 15: a cross-club exchange is on this club's books exactly when its state says so (committed
    or completed: posted; erased: never posted, or posted and reversed), for its minutes, between its member
    and the clearing account. Invariant 16: two partner clubs' clearing balances are opposite once nothing
    is on its way between them, and each completed exchange carries the same chain link in both clubs."""
    found = []
    accounts = {(a.club_id, a.id): a.code for a in db.session.scalars(
        select(ledger.Account).where(ledger.Account.unit == Unit.TIME))}
    partners = {(r.club_id, r.id): r for r in db.session.scalars(select(Partnership))}
    for cross in db.session.scalars(select(CrossExchange)):
        posted = cross.transaction_id is not None
        reversed_ = cross.reversal_id is not None
        ok = {CrossState.PENDING: not posted, CrossState.COMMITTED: posted and not reversed_,
              CrossState.UNDOING: posted and not reversed_, CrossState.COMPLETED: posted and not reversed_,
              CrossState.ERASED: posted == reversed_}[cross.state]
        if not ok:
            found.append(ledger.Violation(15, cross.club_id, f"cross exchange {cross.id} is {cross.state} with "
                                                             f"transaction {cross.transaction_id}, reversal "
                                                             f"{cross.reversal_id}"))
        if posted:
            row = partners[(cross.club_id, cross.partnership_id)]
            moved = cross.minutes if cross.direction == "given" else -cross.minutes
            expected = {f"time:{cross.member_id}": moved, clearing_code(row.partner_club_id): -moved}
            got = {accounts.get((cross.club_id, a), f"#{a}"): amount for a, amount in db.session.execute(
                select(ledger.Posting.account_id, ledger.Posting.amount).where(
                    ledger.Posting.club_id == cross.club_id, ledger.Posting.transaction_id == cross.transaction_id))}
            if got != expected:
                found.append(ledger.Violation(15, cross.club_id, f"cross exchange {cross.id} posts {got}, "
                                                                 f"not {expected}"))
    busy = {(r.club_id, r.to_club_id) for r in db.session.scalars(
        select(Relay).where(Relay.status == RelayStatus.PENDING))}
    busy |= {(cross.club_id, partners[(cross.club_id, cross.partnership_id)].partner_club_id)
             for cross in db.session.scalars(select(CrossExchange).where(CrossExchange.state == CrossState.UNDOING))}
    balances = {(a.club_id, a.id): a.balance for a in db.session.scalars(
        select(ledger.Account).where(ledger.Account.code.like("clearing:%")))}
    by_pair = {(r.club_id, r.partner_club_id): r for r in partners.values()}
    for (here, there), row in by_pair.items():
        other = by_pair.get((there, here))
        if other is None or here > there or (here, there) in busy or (there, here) in busy:
            continue
        mine = balances.get((here, row.account_id), 0)
        theirs = balances.get((there, other.account_id), 0)
        if mine != -theirs:
            found.append(ledger.Violation(16, here, f"clearing with club {there} is {mine}, theirs {theirs}"))
        if row.chain_head != other.chain_head:
            found.append(ledger.Violation(16, here, f"hash chain with club {there} ends {row.chain_head[:12]}, "
                                                    f"theirs {other.chain_head[:12]}"))
    return found
