"""A member's share passing to someone else (French Code civil, art. 815 ff.: a club is an indivision).

A share passes only with the members' approval: a ballot of the kind ``transfer``, at the charter's membership
threshold (R7), the member whose share passes recused. A member who sells to a person outside the club first
tells the other co-owners the price (art. 815-14): each has one calendar month from that notice to say they buy
at that price; if some do, the share is theirs with no vote (they are co-owners already), shared in proportion
to their own shares, and the price is settled between members, outside the club's books. Heirs do not buy:
no month to buy first, but they join only with the members' approval.

Whatever the way, the share passes as one ledger transaction of kind ``transfer``: the member's capital account
is debited by its whole balance and the recipients' credited. No money enters or leaves the club; the member
whose share passed leaves it. A refused heirs' transfer leaves the share to be refunded (R13) like a leaver's."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import func, select

from .. import clock, notify
from ..amounts import add_months
from ..extensions import db
from ..models import (
    OFFICER_ROLES,
    OPEN_TRANSFER_STATUSES,
    Account,
    AccountType,
    Ballot,
    BallotStatus,
    Club,
    ClubStatus,
    JournalTransaction,
    Membership,
    MemberStatus,
    Payout,
    PayoutStatus,
    Posting,
    PreemptionClaim,
    Role,
    ShareTransfer,
    TransactionKind,
    TransferReason,
    TransferStatus,
    Unit,
    User,
)
from ..models.base import utcnow
from . import access, clubs, ledger, rules, shares
from .access import membership_for
from .audit import record
from .clubs import use_form_key
from .errors import Conflict, CoopError, InvalidInput, NotFound, NotPermitted, RuleViolation, _l
from .lookup import in_club
from .transitions import move
from .uow import unit_of_work
from .validate import LazyDay, is_id

#: A price above this (ten million in cents) is a typing mistake: a Cigales share is far below it.
MAX_PRICE = 10**9
#: The offices a member hands over before their share passes on (R3), as before leaving.
KEPT_OFFICES = (Role.MANAGER, Role.TREASURER)
#: Statuses of a transfer whose share has passed (posted to the ledger).
PASSED = (TransferStatus.DONE, TransferStatus.PREEMPTED)


# --- Figures --------------------------------------------------------------------------------------------------------


def capital_of(club_id: int, membership_id: int) -> int:
    """What the member holds in the club: minus their capital account's balance (0 without an account)."""
    balance = db.session.scalar(select(Account.balance).where(Account.club_id == club_id,
                                                               Account.code == f"capital:{membership_id}"))
    return -(balance or 0)


def _claimant_weights(club_id: int, membership_ids: list[int]) -> dict[int, int]:
    """Each claimant's share in the indivision, the weight of their part of a pre-empted share (art. 815-14:
    "in proportion to their respective shares"): their share of the net assets under the charter's method."""
    found = shares.club_shares(club_id)
    return {m: (line.value(found.method) if (line := found.line_of(m)) else 0) for m in membership_ids}


def _parts(whole: int, weights: dict[int, int]) -> dict[int, int]:
    """``whole`` cents shared by ``weights`` to the cent (largest remainders); equal parts if no one weighs."""
    if not any(w > 0 for w in weights.values()):
        weights = dict.fromkeys(weights, 1)
    return rules.pro_rata(whole, weights)


def _pending_payouts(club_id: int, membership_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Payout).where(
        Payout.club_id == club_id, Payout.membership_id == membership_id, Payout.status == PayoutStatus.PENDING))


def _check_no_payout(club_id: int, member: Membership) -> None:
    if _pending_payouts(club_id, member.id):
        raise RuleViolation(_l("A payment to %(name)s waits for approval: approve or cancel it first.",
                               name=member.user.name), rule="R13")


# --- Looking things up ------------------------------------------------------------------------------------------------


def _transfer(club_id: int, transfer_id: object, *, lock: bool = False) -> ShareTransfer:
    return in_club(ShareTransfer, club_id, transfer_id, lock=lock, missing=_l("No such transfer."))


def open_transfer_of(club_id: int, membership_id: int) -> ShareTransfer | None:
    """The transfer of this member's share under way (at most one), or None."""
    return db.session.scalar(select(ShareTransfer).where(
        ShareTransfer.club_id == club_id, ShareTransfer.from_membership_id == membership_id,
        ShareTransfer.status.in_(OPEN_TRANSFER_STATUSES)).limit(1))


def _live_claims(transfer: ShareTransfer) -> list[PreemptionClaim]:
    """The claims of members still active: a claimant who has left is no longer a co-owner buying first."""
    return [c for c in transfer.claims if c.membership.status == MemberStatus.ACTIVE]


# --- Proposing --------------------------------------------------------------------------------------------------------


def _check_price(reason: TransferReason, price: object) -> int | None:
    if reason == TransferReason.HEIR:
        if price is not None:
            raise InvalidInput(_l("Heirs pay no price: leave it empty."), field="price")
        return None
    if price is None:
        raise InvalidInput(_l("Give the price the buyer pays for the share."), field="price")
    if isinstance(price, bool) or not isinstance(price, int) or price <= 0:
        raise InvalidInput(_l("Enter an amount more than zero."), field="price")
    if price > MAX_PRICE:
        raise InvalidInput(_l("This amount is too large."), field="price")
    return price


def propose_transfer(user_id: int, club_id: int, *, from_membership_id: int, to_membership_id: int, reason: str,
                     price: int | None = None, form_key: str, today: date | None = None) -> ShareTransfer:
    """A share is proposed to pass on: sold by the member themself (``assignment``, at ``price``), or to the heirs
    of a member who died, recorded by an officer (``heir``). The recipient is a person who asked to join with an
    invitation (pending) or an active member.

    A sale to someone outside the club opens the co-owners' month to buy first: every other active member is
    told the price by mail (art. 815-14). Otherwise the transfer waits for the members' vote."""
    try:
        reason = TransferReason(reason)
    except ValueError:
        raise InvalidInput(_l("Choose a value from the list."), field="reason") from None
    price = _check_price(reason, price)
    if not is_id(from_membership_id):
        raise NotFound(_l("No such member."))
    if not is_id(to_membership_id):
        raise InvalidInput(_l("Choose who receives the share."), field="to_membership_id")
    if from_membership_id == to_membership_id:
        raise InvalidInput(_l("A share passes to someone else."), field="to_membership_id")
    with unit_of_work() as session:
        me = membership_for(user_id, club_id, lock=True)
        club = me.club
        today = today or clubs.local_today(club)
        status = _check_running(club, today)
        seller = in_club(Membership, club_id, from_membership_id, missing=_l("No such member."))
        if reason == TransferReason.ASSIGNMENT:
            if seller.id != me.id:
                raise NotPermitted(_l("Only the member themself sells their share."))
            if me.role in KEPT_OFFICES:
                raise RuleViolation(_l("Hand your office over to another member before selling your share."),
                                    rule="R3")
        else:
            access.officer(user_id, club_id)
            if seller.id == me.id:
                raise InvalidInput(_l("An officer records this for another member."), field="from_membership_id")
            if seller.status == MemberStatus.ACTIVE and seller.role in KEPT_OFFICES:
                raise RuleViolation(_l("Elect someone else to this office before passing on the share of the member "
                                       "who holds it."), rule="R3")
        _check_passable(club_id, seller)
        recipient = in_club(Membership, club_id, to_membership_id, missing=_l("No such member."))
        if recipient.status not in (MemberStatus.PENDING, MemberStatus.ACTIVE):
            raise InvalidInput(_l("The share passes to a member, or to a person who asked to join with an "
                                  "invitation."), field="to_membership_id")
        newcomer = recipient.status == MemberStatus.PENDING
        if newcomer and status != ClubStatus.ACTIVE:
            raise RuleViolation(_l("The club is past its term: it admits no new members. The share may pass to a "
                                   "member, or be refunded."), rule="R5")
        use_form_key(user_id, form_key, club_id)
        preemption = reason == TransferReason.ASSIGNMENT and newcomer
        transfer = ShareTransfer(
            club_id=club_id, from_membership_id=seller.id, to_membership_id=recipient.id, reason=reason, price=price,
            notified_on=today if preemption else None,
            preemption_ends_on=add_months(today, 1) if preemption else None,
            status=TransferStatus.PREEMPTION if preemption else TransferStatus.AWAITING_VOTE,
            created_by_id=me.id, form_key=form_key)
        session.add(transfer)
        session.flush()
        record(user_id, club_id, "transfer.propose", transfer, after={
            "from": seller.id, "to": recipient.id, "reason": reason, "price": price, "status": transfer.status,
            "capital": capital_of(club_id, seller.id), "preemption_ends_on": transfer.preemption_ends_on})
        if preemption:
            notify.later("preemption_notice", transfer)
        return transfer


def _check_running(club: Club, today: date) -> str:
    """The club's status today, if shares may pass on in it: active, or in management (R5)."""
    status = access.club_status(club, today=today)
    if status not in (ClubStatus.ACTIVE, ClubStatus.IN_MANAGEMENT):
        raise Conflict(_l("A share passes on in an active club (or one in management), by the members' vote."))
    return status


def _check_passable(club_id: int, seller: Membership) -> None:
    """The member holds something, has no share passing already, and waits for no payment."""
    if seller.status in (MemberStatus.PENDING, MemberStatus.DECLINED):
        raise InvalidInput(_l("Choose a member of the club."), field="from_membership_id")
    if open_transfer_of(club_id, seller.id) is not None:
        raise Conflict(_l("A transfer of this member's share is already under way."))
    if db.session.scalar(select(ShareTransfer.id).where(ShareTransfer.club_id == club_id,
                                                        ShareTransfer.from_membership_id == seller.id,
                                                        ShareTransfer.status.in_(PASSED)).limit(1)):
        raise Conflict(_l("This member's share has already passed on."))
    if capital_of(club_id, seller.id) <= 0:
        raise RuleViolation(_l("%(name)s holds nothing in the club: there is no share to pass on.",
                               name=seller.user.name), rule="R13")
    _check_no_payout(club_id, seller)


# --- The co-owners' month to buy first (art. 815-14) ------------------------------------------------------------------


def _window_open(transfer: ShareTransfer, today: date) -> None:
    if transfer.status != TransferStatus.PREEMPTION:
        raise Conflict(_l("This share is not offered to the co-owners first."))
    if today > transfer.preemption_ends_on:
        raise RuleViolation(_l("The co-owners could say they buy it first until %(day)s: that month is over.",
                               day=_day(transfer.preemption_ends_on)))


def _day(day: date) -> LazyDay:
    return LazyDay(day)  # written out in the reader's language when the message is shown


def claim_preemption(user_id: int, club_id: int, transfer_id: int, *, today: date | None = None) -> PreemptionClaim:
    """An active member other than the seller says they buy the share first, at the notified price, within the
    month; once."""
    with unit_of_work() as session:
        me = membership_for(user_id, club_id)
        transfer = _transfer(club_id, transfer_id, lock=True)
        _window_open(transfer, today or clubs.local_today(me.club))
        if me.id == transfer.from_membership_id:
            raise NotPermitted(_l("You are selling this share: the other co-owners may buy it first."))
        if capital_of(club_id, me.id) <= 0:
            raise RuleViolation(_l("You hold no share in the club yet: buying first is the co-owners' right."),
                                rule="R13")
        if any(c.membership_id == me.id for c in transfer.claims):
            raise Conflict(_l("You have already said you buy this share."))
        claim = PreemptionClaim(club_id=transfer.club_id, transfer_id=transfer.id, membership_id=me.id,
                                claimed_at=utcnow())
        session.add(claim)
        session.flush()
        record(user_id, club_id, "transfer.claim", transfer, after={"member": me.id, "price": transfer.price})
        return claim


def withdraw_claim(user_id: int, club_id: int, transfer_id: int, *, today: date | None = None) -> ShareTransfer:
    """A co-owner takes their claim back, within the month."""
    with unit_of_work() as session:
        me = membership_for(user_id, club_id)
        transfer = _transfer(club_id, transfer_id, lock=True)
        mine = next((c for c in transfer.claims if c.membership_id == me.id), None)
        if mine is None:
            raise Conflict(_l("You have not said you buy this share."))
        _window_open(transfer, today or clubs.local_today(me.club))
        session.delete(mine)
        session.flush()
        session.expire(transfer, ["claims"])
        record(user_id, club_id, "transfer.claim_withdraw", transfer, after={"member": me.id})
        return transfer


def withdraw_transfer(user_id: int, club_id: int, transfer_id: int) -> ShareTransfer:
    """Its proposer takes the transfer back before a decision: not once a co-owner has said they buy it (the
    sale to them stands), nor while the members vote (the manager cancels the ballot first)."""
    with unit_of_work():
        me = membership_for(user_id, club_id, lock=True)
        transfer = _transfer(club_id, transfer_id, lock=True)
        if transfer.created_by_id != me.id:
            raise NotPermitted(_l("Only the member who proposed it withdraws it."))
        if transfer.status == TransferStatus.IN_VOTE:
            raise Conflict(_l("The members are voting on it: the manager cancels the ballot first."))
        if transfer.status == TransferStatus.PREEMPTION and _live_claims(transfer):
            raise RuleViolation(_l("A co-owner has said they buy it at the price offered: the sale to them stands."))
        before = transfer.status
        move(transfer, TransferStatus.WITHDRAWN)
        transfer.decided_at = utcnow()
        record(user_id, club_id, "transfer.withdraw", transfer, before={"status": before},
               after={"status": "withdrawn"})
        return transfer


def settle_preemption(user_id: int, club_id: int, transfer_id: int, *, today: date | None = None) -> ShareTransfer:
    """Once the month is over, an officer settles it (``flask coop tick`` does too): the share passes to the
    co-owners who said they buy it, with no vote; or, if none did, it waits for the members' vote."""
    with unit_of_work():
        officer = access.officer(user_id, club_id)
        access.lock_club(club_id)
        transfer = _transfer(club_id, transfer_id, lock=True)
        return _settle(transfer, user_id, today or clubs.local_today(officer.club))


def _settle(transfer: ShareTransfer, actor_id: int | None, today: date) -> ShareTransfer:
    if transfer.status != TransferStatus.PREEMPTION:
        raise Conflict(_l("The co-owners' month to buy first is already settled."))
    if today <= transfer.preemption_ends_on:
        raise Conflict(_l("The co-owners may say they buy it first until %(day)s.",
                          day=_day(transfer.preemption_ends_on)))
    claims = _live_claims(transfer)
    if not claims:
        move(transfer, TransferStatus.AWAITING_VOTE)
        record(actor_id, transfer.club_id, "transfer.no_preemption", transfer, before={"status": "preemption"},
               after={"status": "awaiting_vote"})
        return transfer
    ids = sorted(c.membership_id for c in claims)
    _pass(transfer, [c.membership for c in sorted(claims, key=lambda c: c.membership_id)],
          _claimant_weights(transfer.club_id, ids), actor_id, today, TransferStatus.PREEMPTED)
    return transfer


def settle_due(*, today: date | None = None) -> int:
    """Every month to buy first that is over, in every club (``flask coop tick``); returns how many were settled.
    A transfer that cannot pass yet (a payment waits) stays for an officer to settle once it is resolved. Without
    ``today``, each club's own."""
    latest = today or clock.local_today(clock.FURTHEST_AHEAD)
    due = list(db.session.execute(select(ShareTransfer.club_id, ShareTransfer.id).where(
        ShareTransfer.status == TransferStatus.PREEMPTION, ShareTransfer.preemption_ends_on < latest)
        .order_by(ShareTransfer.preemption_ends_on, ShareTransfer.id)))
    db.session.rollback()
    settled = 0
    for club_id, transfer_id in due:
        try:
            with unit_of_work():
                access.lock_club(club_id)
                transfer = _transfer(club_id, transfer_id, lock=True)
                club_today = today or clubs.local_today(db.session.get(Club, club_id))
                if transfer.status != TransferStatus.PREEMPTION or club_today <= transfer.preemption_ends_on:
                    continue
                _settle(transfer, None, club_today)
                settled += 1
        except CoopError as refusal:
            current_app.logger.warning("Transfer %s of club %s not settled: %s", transfer_id, club_id, refusal)
    return settled


# --- The members' vote (called by the ballots service, inside its unit of work) ------------------------------------------


def check_votable(club_id: int, transfer_id: object) -> ShareTransfer:
    """A transfer waiting for the members' vote, with no ballot open on it: the subject of a new ballot."""
    if not is_id(transfer_id):
        raise InvalidInput(_l("Choose the share to vote on."), field="transfer_id")
    transfer = _transfer(club_id, transfer_id, lock=True)
    if transfer.ballot_id and db.session.scalar(select(Ballot.id).where(
            Ballot.club_id == club_id, Ballot.id == transfer.ballot_id, Ballot.status == BallotStatus.OPEN)):
        raise Conflict(_l("A ballot on this is already open."))
    if transfer.status != TransferStatus.AWAITING_VOTE:
        if transfer.status == TransferStatus.PREEMPTION:
            raise Conflict(_l("The co-owners may buy it first until %(day)s: the members vote after that.",
                              day=_day(transfer.preemption_ends_on)))
        raise Conflict(_l("This transfer is not waiting for a vote."))
    return transfer


def ballot_label(transfer: ShareTransfer) -> str:
    """What the ballot's one option says: whose share, to whom."""
    return f"{transfer.from_membership.user.name} → {transfer.to_membership.user.name}"[:200]


def put_to_vote(club_id: int, transfer_id: int, ballot_id: int, actor_id: int | None) -> ShareTransfer:
    transfer = _transfer(club_id, transfer_id, lock=True)
    move(transfer, TransferStatus.IN_VOTE)
    transfer.ballot_id = ballot_id
    record(actor_id, club_id, "transfer.in_vote", transfer, before={"status": "awaiting_vote"},
           after={"status": "in_vote", "ballot": ballot_id})
    return transfer


def _voted(club_id: int, ballot_id: int) -> ShareTransfer:
    transfer = db.session.scalar(select(ShareTransfer).where(
        ShareTransfer.club_id == club_id, ShareTransfer.ballot_id == ballot_id)
        .with_for_update(of=ShareTransfer).execution_options(populate_existing=True))
    if transfer is None:
        raise NotFound(_l("No such transfer."))
    return transfer


def apply(club_id: int, *, ballot_id: int, actor_id: int | None) -> ShareTransfer:
    """The members approved: the share passes to the recipient, who is admitted if they asked to join (R1: not
    past the maximum, counted once the member whose share passes has left)."""
    with unit_of_work():
        access.lock_club(club_id)
        transfer = _voted(club_id, ballot_id)
        if transfer.status != TransferStatus.IN_VOTE:
            raise Conflict(_l("This transfer is not waiting for a vote."))
        recipient = transfer.to_membership
        if recipient is None:
            raise Conflict(_l("This transfer names nobody to receive the share."))
        _pass(transfer, [recipient], {recipient.id: 1}, actor_id, clubs.local_today(recipient.club),
              TransferStatus.DONE, ballot_id=ballot_id)
        return transfer


def refuse(club_id: int, *, ballot_id: int, actor_id: int | None) -> ShareTransfer:
    """The members said no. A sale simply ends: the member stays. The heirs of a member who died do not join:
    the member has left, and their share is refunded like a leaver's (R13)."""
    with unit_of_work():
        access.lock_club(club_id)
        transfer = _voted(club_id, ballot_id)
        move(transfer, TransferStatus.REFUSED)
        transfer.decided_at = utcnow()
        member = transfer.from_membership
        if transfer.reason == TransferReason.HEIR and member.status == MemberStatus.ACTIVE:
            _check_offices(member)
            clubs.depart(actor_id, club_id, member, transfer=transfer.id)
        record(actor_id, club_id, "transfer.refuse", transfer, before={"status": "in_vote"},
               after={"status": "refused", "ballot": ballot_id})
        return transfer


def back_to_vote(club_id: int, *, ballot_id: int, actor_id: int | None) -> ShareTransfer | None:
    """A vote that decided nothing (no quorum, a cancelled ballot, a decision that could not apply): the transfer
    waits for another ballot."""
    with unit_of_work():
        transfer = _voted(club_id, ballot_id)
        if transfer.status != TransferStatus.IN_VOTE:
            return None
        move(transfer, TransferStatus.AWAITING_VOTE)
        record(actor_id, club_id, "transfer.no_decision", transfer, before={"status": "in_vote"},
               after={"status": "awaiting_vote", "ballot": ballot_id})
        return transfer


# --- The share passes --------------------------------------------------------------------------------------------------


def _check_offices(member: Membership) -> None:
    if member.status == MemberStatus.ACTIVE and member.role in KEPT_OFFICES:
        raise RuleViolation(_l("Elect someone else to this office before passing on the share of the member who "
                               "holds it."), rule="R3")


MEMOS = {
    TransferReason.ASSIGNMENT: "Cession de parts / Share sold",
    TransferReason.HEIR: "Transmission aux héritiers / Share passed to heirs",
}


def _pass(transfer: ShareTransfer, recipients: list[Membership], weights: dict[int, int], actor_id: int | None,
          today: date, to: TransferStatus, *, ballot_id: int | None = None) -> JournalTransaction:
    """One unit of work holding the club's lock: the member whose share passes leaves (if still active), the
    recipients who asked to join are admitted, and one ``transfer`` transaction moves the whole capital."""
    club_id = transfer.club_id
    seller = transfer.from_membership
    _check_running(seller.club, today)  # not once the club dissolves: its parts are being shared out (R13)
    _check_no_payout(club_id, seller)
    _check_offices(seller)
    if capital_of(club_id, seller.id) <= 0:
        raise RuleViolation(_l("%(name)s holds nothing in the club: there is no share to pass on.",
                               name=seller.user.name), rule="R13")
    if seller.status == MemberStatus.ACTIVE:  # first: one leaves, one joins, within the maximum (R1)
        clubs.depart(actor_id, club_id, seller, transfer=transfer.id)
    for recipient in recipients:
        if recipient.status == MemberStatus.PENDING:
            clubs.admit_by_vote(club_id, recipient.id, ballot_id=ballot_id, approved=True)
        elif recipient.status != MemberStatus.ACTIVE:
            raise RuleViolation(_l("%(name)s is no longer a member, nor asks to join.", name=recipient.user.name))
    codes = {m.id: f"capital:{m.id}" for m in [seller, *recipients]}
    accounts = ledger.lock_codes(club_id, sorted(set(codes.values())))
    whole = -accounts[codes[seller.id]].balance
    parts = _parts(whole, weights)
    lines = [(accounts[codes[seller.id]].id, whole)]
    lines += [(accounts[codes[m]].id, -part) for m, part in sorted(parts.items()) if part]
    names = ", ".join(r.user.name for r in recipients)
    memo = MEMOS[TransferReason(transfer.reason)] if to == TransferStatus.DONE else "Préemption / Pre-emption"
    txn = ledger.post(club_id, unit=Unit.MONEY, kind=TransactionKind.TRANSFER, lines=lines,
                      idempotency_key=f"transfer:{transfer.id}", occurred_on=today, author_id=actor_id,
                      memo=f"{memo} — {seller.user.name} → {names}"[:500])
    before = transfer.status
    move(transfer, to)
    transfer.transaction_id = txn.id
    transfer.decided_at = utcnow()
    record(actor_id, club_id, f"transfer.{to}", transfer, before={"status": before},
           after={"status": to, "amount": whole, "parts": {str(m): p for m, p in sorted(parts.items())},
                  "transaction": txn.id, "ballot": ballot_id})
    return txn


# --- Reading ------------------------------------------------------------------------------------------------------------


def transfers_of(user_id: int, club_id: int) -> list[ShareTransfer]:
    """Every transfer of the club, those under way first, newest first: the co-owners all see them."""
    membership_for(user_id, club_id)
    rows = list(db.session.scalars(select(ShareTransfer).where(ShareTransfer.club_id == club_id)
                                   .order_by(ShareTransfer.created_at.desc(), ShareTransfer.id.desc())))
    return sorted(rows, key=lambda t: not t.is_open)


def waiting_for_vote(club_id: int) -> list[ShareTransfer]:
    """The transfers a manager may put to the vote."""
    return list(db.session.scalars(select(ShareTransfer).where(
        ShareTransfer.club_id == club_id, ShareTransfer.status == TransferStatus.AWAITING_VOTE)
        .order_by(ShareTransfer.id)))


def of_ballot(user_id: int, club_id: int, ballot_id: int) -> ShareTransfer | None:
    """The transfer a ballot decides (its latest ballot), for the ballot's page."""
    membership_for(user_id, club_id)
    return db.session.scalar(select(ShareTransfer).where(ShareTransfer.club_id == club_id,
                                                         ShareTransfer.ballot_id == ballot_id))


@dataclass(frozen=True)
class TransferPage:
    transfer: ShareTransfer
    capital: int  # what the share holds now (the capital it moved, once passed)
    claims: list[PreemptionClaim]
    #: membership id → cents: what each recipient received, or each claimant would receive were the month over today
    parts: dict[int, int]
    names: dict[int, str]  # the names of the members in ``parts``
    today: date
    window_open: bool
    my_claim: PreemptionClaim | None
    may_claim: bool
    may_withdraw: bool
    may_settle: bool
    may_put_to_vote: bool
    ballot: Ballot | None


def transfer_page(user_id: int, club_id: int, transfer_id: int, *, today: date | None = None) -> TransferPage:
    me = membership_for(user_id, club_id)
    transfer = _transfer(club_id, transfer_id)
    today = today or clubs.local_today(me.club)
    claims = _live_claims(transfer)
    if transfer.transaction_id is not None:  # what passed, to whom: the transaction's debit and credits
        moved = db.session.execute(select(Account.membership_id, Posting.amount)
                                   .join(Account, (Account.id == Posting.account_id)
                                         & (Account.club_id == Posting.club_id))
                                   .where(Posting.club_id == club_id,
                                          Posting.transaction_id == transfer.transaction_id)).all()
        capital = sum(amount for _, amount in moved if amount > 0)
        parts = {membership_id: -amount for membership_id, amount in moved if amount < 0}
    else:
        capital = capital_of(club_id, transfer.from_membership_id)
        parts = _parts(capital, _claimant_weights(club_id, [c.membership_id for c in claims])) if claims else {}
    names = {m.id: m.user.name for m in db.session.scalars(select(Membership).where(
        Membership.club_id == club_id, Membership.id.in_(sorted(parts))))} if parts else {}
    window = transfer.status == TransferStatus.PREEMPTION and today <= transfer.preemption_ends_on
    mine = next((c for c in transfer.claims if c.membership_id == me.id), None)
    ballot = in_club(Ballot, club_id, transfer.ballot_id, missing=_l("No such ballot.")) if transfer.ballot_id else None
    return TransferPage(
        transfer=transfer, capital=capital, claims=claims, parts=parts, names=names, today=today, window_open=window,
        my_claim=mine,
        may_claim=window and mine is None and me.id != transfer.from_membership_id and capital_of(club_id, me.id) > 0,
        may_withdraw=(transfer.created_by_id == me.id and transfer.status in (TransferStatus.PREEMPTION,
                                                                               TransferStatus.AWAITING_VOTE)
                      and not (transfer.status == TransferStatus.PREEMPTION and claims)),
        may_settle=(transfer.status == TransferStatus.PREEMPTION and not window
                    and access.role_of(me) in OFFICER_ROLES),
        may_put_to_vote=transfer.status == TransferStatus.AWAITING_VOTE and access.is_manager(me),
        ballot=ballot)


@dataclass(frozen=True)
class SalePage:
    people: list[Membership]  # whom the member may sell to: another active member, or a person who asked to join
    capital: int  # what the member's share holds
    under_way: ShareTransfer | None  # the transfer of their share already under way
    officer: bool  # a manager or a treasurer hands the office over first (R3)


def sale_page(user_id: int, club_id: int) -> SalePage:
    me = membership_for(user_id, club_id)
    return SalePage(people=_people(club_id, exclude=me.id), capital=capital_of(club_id, me.id),
                    under_way=open_transfer_of(club_id, me.id), officer=me.role in KEPT_OFFICES)


def heirs_choices(user_id: int, club_id: int) -> tuple[list[Membership], list[Membership]]:
    """For an officer: the members (present or gone) who hold a share, and who may receive it."""
    me = access.officer(user_id, club_id)
    holders = list(db.session.scalars(
        select(Membership).join(Account, (Account.membership_id == Membership.id) & (Account.club_id == Membership.club_id))
        .join(User, User.id == Membership.user_id)
        .where(Membership.club_id == club_id, Membership.id != me.id, Account.club_id == club_id,
               Account.type == AccountType.EQUITY, Account.code.like("capital:%"), Account.balance < 0,
               Membership.status.in_((MemberStatus.ACTIVE, MemberStatus.LEFT, MemberStatus.EXCLUDED)))
        .order_by(User.name)))
    return holders, _people(club_id)


def _people(club_id: int, *, exclude: int | None = None) -> list[Membership]:
    stmt = (select(Membership).join(User, User.id == Membership.user_id)
            .where(Membership.club_id == club_id,
                   Membership.status.in_((MemberStatus.ACTIVE, MemberStatus.PENDING)))
            .order_by(Membership.status, User.name))
    if exclude is not None:
        stmt = stmt.where(Membership.id != exclude)
    return list(db.session.scalars(stmt))


# --- Invariant for `flask coop check` ----------------------------------------------------------------------------------


def check() -> list[ledger.Violation]:
    """Invariant 13: a share that passed has its one ``transfer`` transaction, which took the member's whole
    capital at the time (the account debited, the recipients credited) and no other; a transfer in vote has its
    ballot open; no member has two transfers under way."""
    found = []
    for transfer_id, club_id, status, txn_id in db.session.execute(
            select(ShareTransfer.id, ShareTransfer.club_id, ShareTransfer.status, ShareTransfer.transaction_id)):
        passed = status in PASSED
        if passed and txn_id is None:
            found.append(ledger.Violation(13, club_id, f"transfer {transfer_id} is {status} but was never posted"))
        if not passed and txn_id is not None:
            found.append(ledger.Violation(13, club_id, f"transfer {transfer_id} is {status} but was posted"))
    posted = db.session.execute(
        select(JournalTransaction.id, JournalTransaction.club_id, ShareTransfer.id, ShareTransfer.club_id,
               ShareTransfer.from_membership_id)
        .outerjoin(ShareTransfer, (ShareTransfer.transaction_id == JournalTransaction.id)
                   & (ShareTransfer.club_id == JournalTransaction.club_id))
        .where(JournalTransaction.kind == TransactionKind.TRANSFER))
    for txn_id, club_id, transfer_id, transfer_club, seller in posted:
        if transfer_id is None:
            found.append(ledger.Violation(13, club_id, f"transfer transaction {txn_id} has no transfer record"))
            continue
        if transfer_club != club_id:
            found.append(ledger.Violation(13, club_id, f"transfer transaction {txn_id} belongs to another club's "
                                                       f"transfer {transfer_id}"))
            continue
        debited = db.session.execute(
            select(Account.code).join(Posting, (Posting.account_id == Account.id) & (Posting.club_id == Account.club_id))
            .where(Posting.club_id == club_id, Posting.transaction_id == txn_id, Posting.amount > 0)).scalars().all()
        if debited != [f"capital:{seller}"]:
            found.append(ledger.Violation(13, club_id, f"transfer {transfer_id} debited {debited}, not the capital "
                                                       f"of member {seller}"))
    for club_id, seller, count in db.session.execute(
            select(ShareTransfer.club_id, ShareTransfer.from_membership_id, func.count())
            .where(ShareTransfer.status.in_(OPEN_TRANSFER_STATUSES))
            .group_by(ShareTransfer.club_id, ShareTransfer.from_membership_id).having(func.count() > 1)):
        found.append(ledger.Violation(13, club_id, f"member {seller} has {count} transfers under way"))
    for transfer_id, club_id, ballot_status in db.session.execute(
            select(ShareTransfer.id, ShareTransfer.club_id, Ballot.status)
            .outerjoin(Ballot, (Ballot.id == ShareTransfer.ballot_id) & (Ballot.club_id == ShareTransfer.club_id))
            .where(ShareTransfer.status == TransferStatus.IN_VOTE)):
        if ballot_status != BallotStatus.OPEN:
            found.append(ledger.Violation(13, club_id, f"transfer {transfer_id} is in vote without an open ballot"))
    return found

