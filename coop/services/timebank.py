"""Time credits (R12): offers and requests, exchanges, limits, reciprocity.

One hour of any service is one hour. A member's time account is an asset:
its balance is time given minus time received, in minutes. In the ledger's
debit-positive terms an exchange debits the provider's account (+minutes:
the credits they hold go up) and credits the receiver's (−minutes); the
club's time accounts always sum to zero (invariant 10).

Lifecycle of an exchange::

    answer an offer/request ─▶ arranged ─┐
                                         ├─▶ record it (minutes, date, what)
    record directly ─────────────────────┘        │
        recorded by the receiver, or the charter   │ recorded by the provider and the
        posts at once ─▶ confirmed (posted)        │ charter asks for confirmation
                                                   ▼
                        pending ─▶ confirmed (the receiver) · disputed · cancelled (the recorder)
                                   · expired (after the charter's days)
    disputed ─▶ the manager cancels (not posted), reverses (posted) or keeps it (posted)

Limits are checked when an exchange is recorded and again, under the
accounts' row locks, when it posts: two exchanges racing past one member's
floor cannot both pass.
"""
from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select

from .. import notify
from ..amounts import months_between
from ..extensions import db
from ..models import (
    Account,
    Category,
    ClubStatus,
    CrossExchange,
    Exchange,
    ExchangeStatus,
    JournalTransaction,
    Listing,
    ListingKind,
    ListingStatus,
    Membership,
    MemberStatus,
    Posting,
    Role,
    TransactionKind,
    Unit,
)
from ..models.base import utcnow
from . import access, ledger
from .access import membership_for
from .audit import record
from .charter import charter_of
from .clubs import use_form_key
from .errors import Conflict, InvalidInput, NotFound, NotPermitted, RuleViolation, _l
from .lookup import in_club
from .rows import insert_now, update_now
from .rules import LimitCheck, check_time_bound, check_time_limit
from .transitions import check_move, move, sources
from .uow import unit_of_work
from .validate import is_id, one_line, paragraphs

#: One exchange is at most a day's work; longer help is recorded day by day.
MAX_MINUTES = 24 * 60
#: An exchange is recorded within a year of the service.
MAX_AGE_DAYS = 366
#: A request is shown for at most a year.
MAX_REQUEST_DAYS = 366
DESCRIPTION_MAX = 2000
PER_PAGE = 20
MAX_PAGE = 10_000
MAX_QUERY = 100
#: Attention list: members who gave at least this much and received nothing.
GENEROUS_MINUTES = 5 * 60
#: Attention list: no exchange for this long.
QUIET_DAYS = 91
#: Clubs where members still trade time.
TRADING = (ClubStatus.FORMING, ClubStatus.ACTIVE, ClubStatus.IN_MANAGEMENT)
#: An exchange that still counts on the books.
POSTED = and_(Exchange.transaction_id.is_not(None), Exchange.reversal_id.is_(None))


def fold(text: str) -> str:
    """Lower case without accents, white space folded: "Réparer  un Vélo" → "reparer un velo"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().split())


def _today(today: date | None) -> date:
    return today or date.today()


def _trading(member: Membership) -> None:
    if member.club.status not in TRADING:
        raise RuleViolation(_l("This club no longer records exchanges of time."), rule="R12")


# --- Offers and requests ---------------------------------------------------------------------


LISTING_FIELDS = ("kind", "title", "description", "category", "availability", "expires_on", "partners_see")


def clean_listing(values: dict[str, Any], *, today: date) -> dict[str, Any]:
    """An offer's or request's fields, checked whatever the entry point."""
    unknown = set(values) - set(LISTING_FIELDS)
    if unknown:
        raise InvalidInput(_l("Unknown field."), field=sorted(unknown)[0])
    out: dict[str, Any] = {}
    for name, choices in (("kind", ListingKind), ("category", Category)):
        try:
            out[name] = choices(values.get(name)).value
        except ValueError:
            raise InvalidInput(_l("Choose a value from the list."), field=name) from None
    out["title"] = one_line(values.get("title"), "title", maximum=120)
    out["description"] = paragraphs(values.get("description"), "description", maximum=DESCRIPTION_MAX,
                                    required=False)
    out["availability"] = one_line(values.get("availability"), "availability", maximum=200, required=False)
    expires = values.get("expires_on")
    if out["kind"] == ListingKind.REQUEST:
        if isinstance(expires, datetime) or not isinstance(expires, date):
            raise InvalidInput(_l("Say until when the request stands."), field="expires_on")
        if expires < today:
            raise InvalidInput(_l("Choose today or a later day."), field="expires_on")
        if expires > today + timedelta(days=MAX_REQUEST_DAYS):
            raise InvalidInput(_l("A request stands for a year at most."), field="expires_on")
        out["expires_on"] = expires
    else:
        if expires is not None:
            raise InvalidInput(_l("Only a request has an end date."), field="expires_on")
        out["expires_on"] = None
    shown = values.get("partners_see", False)
    if not isinstance(shown, bool):
        raise InvalidInput(_l("Choose yes or no."), field="partners_see")
    out["partners_see"] = shown  # the members of partner clubs see it too (services.partners)
    return out


def publish(user_id: int, club_id: int, values: dict[str, Any], *, form_key: str,
            today: date | None = None) -> Listing:
    """A member offers a service or asks for one."""
    with unit_of_work() as session:
        me = membership_for(user_id, club_id)
        _trading(me)
        data = clean_listing(values, today=_today(today))
        use_form_key(user_id, form_key, club_id)
        listing = Listing(club_id=club_id, author_id=me.id, status=ListingStatus.ACTIVE,
                          search_text=fold(f"{data['title']} {data['description']}"), **data)
        session.add(listing)
        session.flush()
        record(user_id, club_id, "listing.publish", listing, after={"kind": listing.kind, "title": listing.title})
        return listing


def _listing(club_id: int, listing_id: object, *, lock: bool = False) -> Listing:
    return in_club(Listing, club_id, listing_id, lock=lock, missing=_l("No such offer or request."))


def _own_listing(user_id: int, club_id: int, listing_id: object) -> tuple[Membership, Listing]:
    me = membership_for(user_id, club_id)
    listing = _listing(club_id, listing_id, lock=True)
    if listing.author_id != me.id:
        raise NotPermitted(_l("Only its author changes an offer or a request."))
    if listing.status == ListingStatus.CLOSED:
        raise Conflict(_l("This offer or request is closed."))
    return me, listing


def update_listing(user_id: int, club_id: int, listing_id: int, values: dict[str, Any], *,
                   today: date | None = None) -> Listing:
    with unit_of_work():
        me, listing = _own_listing(user_id, club_id, listing_id)
        data = clean_listing(values, today=_today(today))
        if data["kind"] != listing.kind:
            raise InvalidInput(_l("An offer stays an offer and a request a request."), field="kind")
        before = {k: getattr(listing, k) for k in data}
        for name, value in data.items():
            setattr(listing, name, value)
        listing.search_text = fold(f"{listing.title} {listing.description}")
        listing.updated_at = utcnow()
        record(user_id, club_id, "listing.update", listing, before=before, after=data)
        return listing


def set_listing_status(user_id: int, club_id: int, listing_id: int, status: str) -> Listing:
    """The author pauses, resumes or closes their offer or request (closing is final)."""
    try:
        status = ListingStatus(status)
    except ValueError:
        raise InvalidInput(_l("Choose a value from the list."), field="status") from None
    with unit_of_work():
        me, listing = _own_listing(user_id, club_id, listing_id)
        if listing.status == status:
            raise Conflict(_l("This offer or request is already in that state."))
        before = listing.status
        move(listing, status)
        listing.updated_at = utcnow()
        record(user_id, club_id, "listing.status", listing, before={"status": before}, after={"status": status})
        return listing


def listing_for(user_id: int, club_id: int, listing_id: int) -> Listing:
    membership_for(user_id, club_id)
    return _listing(club_id, listing_id)


def is_open(listing: Listing, today: date | None = None) -> bool:
    """Shown in the search and may be answered."""
    return listing.status == ListingStatus.ACTIVE and listing.author.status == MemberStatus.ACTIVE and (
        listing.expires_on is None or listing.expires_on >= _today(today))


@dataclass(frozen=True)
class SearchPage:
    items: list[Listing]
    page: int
    pages: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def search(user_id: int, club_id: int, *, words: str = "", category: str | None = None, kind: str | None = None,
           page: int = 1, per_page: int = PER_PAGE, today: date | None = None) -> SearchPage:
    """Open offers and requests of the club: every word found in the title or description
    (accents and case ignored), in the category, newest first, one page."""
    membership_for(user_id, club_id)
    if not isinstance(words, str) or len(words) > MAX_QUERY:
        raise InvalidInput(_l("Use at most %(n)d characters.", n=MAX_QUERY), field="q")
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_PAGE:
        raise InvalidInput(_l("No such page."), field="page")
    # A member who left takes their offers and requests with them.
    active_authors = select(Membership.id).where(Membership.club_id == club_id,
                                                 Membership.status == MemberStatus.ACTIVE)
    conditions = [Listing.club_id == club_id, Listing.status == ListingStatus.ACTIVE,
                  or_(Listing.expires_on.is_(None), Listing.expires_on >= _today(today)),
                  Listing.author_id.in_(active_authors)]
    for word in fold(words).split()[:10]:
        conditions.append(Listing.search_text.contains(word, autoescape=True))
    if category:
        try:
            conditions.append(Listing.category == Category(category).value)
        except ValueError:
            raise InvalidInput(_l("Choose a value from the list."), field="category") from None
    if kind:
        try:
            conditions.append(Listing.kind == ListingKind(kind).value)
        except ValueError:
            raise InvalidInput(_l("Choose a value from the list."), field="kind") from None
    total = db.session.scalar(select(func.count()).select_from(Listing).where(*conditions))
    items = list(db.session.scalars(select(Listing).where(*conditions).order_by(Listing.id.desc())
                                    .limit(per_page).offset((page - 1) * per_page)))
    return SearchPage(items=items, page=page, pages=max(1, -(-total // per_page)), total=total)


def listings_of(user_id: int, club_id: int) -> list[Listing]:
    """The acting member's own offers and requests, whatever their status."""
    me = membership_for(user_id, club_id)
    return list(db.session.scalars(select(Listing).where(Listing.club_id == club_id, Listing.author_id == me.id)
                                   .order_by(Listing.id.desc())))


# --- Exchanges: starting and recording -------------------------------------------------------------


def _partner(club_id: int, membership_id: object, me: Membership) -> Membership:
    """The other member of an exchange: someone else, active, in this club (R12)."""
    if not is_id(membership_id):
        raise InvalidInput(_l("Choose a member from the list."), field="other_id")
    if membership_id == me.id:
        raise RuleViolation(_l("You cannot exchange time with yourself."), rule="R12", field="other_id")
    other = db.session.scalar(select(Membership).where(Membership.id == membership_id, Membership.club_id == club_id))
    if other is None:
        raise RuleViolation(_l("This person is not a member of this club."), rule="R12", field="other_id")
    if other.status != MemberStatus.ACTIVE:
        raise RuleViolation(_l("%(name)s is not an active member of the club.", name=other.user.name),
                            rule="R12", field="other_id")
    return other


def check_minutes(minutes: object) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise InvalidInput(_l("Give the time spent in hours and minutes."), field="minutes")
    if minutes <= 0:
        raise InvalidInput(_l("The time spent must be more than zero."), field="minutes")
    if minutes > MAX_MINUTES:
        raise InvalidInput(_l("One exchange lasts %(hours)d hours at most; record longer help day by day.",
                              hours=MAX_MINUTES // 60), field="minutes")
    return minutes


def check_day(done_on: object, today: date) -> date:
    if isinstance(done_on, datetime) or not isinstance(done_on, date):
        raise InvalidInput(_l("Give the date of the service."), field="done_on")
    if done_on > today:
        raise InvalidInput(_l("The service cannot be in the future."), field="done_on")
    if done_on < today - timedelta(days=MAX_AGE_DAYS):
        raise InvalidInput(_l("Record a service within a year."), field="done_on")
    return done_on


def time_account(club_id: int, membership_id: int) -> Account:
    return ledger.find_account(club_id, f"time:{membership_id}")


@dataclass(frozen=True)
class Limits:
    """A member's time balance against their floor and ceiling (R12)."""

    balance: int
    floor: int | None
    ceiling: int | None
    warning_percent: int

    @property
    def near_floor(self) -> bool:
        return self.floor is not None and self.floor < 0 and self.balance * 100 <= self.floor * self.warning_percent

    @property
    def near_ceiling(self) -> bool:
        return (self.ceiling is not None and self.ceiling > 0
                and self.balance * 100 >= self.ceiling * self.warning_percent)

    @property
    def room_down(self) -> int | None:
        """Minutes the member can still receive."""
        return None if self.floor is None else max(0, self.balance - self.floor)

    @property
    def room_up(self) -> int | None:
        """Minutes the member can still give."""
        return None if self.ceiling is None else max(0, self.ceiling - self.balance)


def _limits(account: Account, warning_percent: int) -> Limits:
    return Limits(account.balance, account.floor, account.ceiling, warning_percent)


def _check_limits(check: LimitCheck, exchange: Exchange, accounts: dict[int, Account]) -> None:
    """R12 for both members of an exchange, or of its reversal: first the one whose balance goes down."""
    down, up = exchange.receiver, exchange.provider
    if check is LimitCheck.REVERSAL:
        down, up = up, down
    for member, minutes in ((down, -exchange.minutes), (up, exchange.minutes)):
        account = accounts[member.id]
        check_time_limit(check, account.balance, account.floor, account.ceiling, minutes=minutes, name=member.user.name)


def _accounts(club_id: int, exchange: Exchange, *, lock: bool) -> dict[int, Account]:
    """Both members' time accounts by membership id; locked (in id order) to post."""
    by_code = {f"time:{exchange.provider_id}": exchange.provider_id,
               f"time:{exchange.receiver_id}": exchange.receiver_id}
    if lock:
        return {by_code[code]: a for code, a in ledger.lock_codes(club_id, list(by_code)).items()}
    stmt = select(Account).where(Account.club_id == club_id, Account.code.in_(by_code)).order_by(Account.id)
    accounts = {by_code[a.code]: a for a in db.session.scalars(stmt)}
    if len(accounts) != 2:
        raise NotFound(_l("No such account."))
    return accounts


def _post(exchange: Exchange, author_id: int) -> None:
    """Post the exchange once: the provider's account up, the receiver's down, limits checked under lock."""
    accounts = _accounts(exchange.club_id, exchange, lock=True)
    _check_limits(LimitCheck.EXCHANGE, exchange, accounts)
    # A service done in a period the treasurer has closed is counted on the first open day.
    closed = ledger.lock_for_posting(exchange.club_id).closed_through
    on = exchange.done_on if closed is None or exchange.done_on > closed else closed + timedelta(days=1)
    txn = ledger.post(exchange.club_id, unit=Unit.TIME, kind=TransactionKind.EXCHANGE,
                      lines=[(accounts[exchange.provider_id].id, exchange.minutes),
                             (accounts[exchange.receiver_id].id, -exchange.minutes)],
                      idempotency_key=f"exchange:{exchange.id}", occurred_on=on,
                      memo=exchange.description, author_id=author_id)
    update_now(exchange, transaction_id=txn.id, status=check_move(exchange, ExchangeStatus.CONFIRMED), confirmed_at=utcnow())


def _both_active(exchange: Exchange) -> None:
    for member in (exchange.provider, exchange.receiver):
        if member.status != MemberStatus.ACTIVE:
            raise RuleViolation(_l("%(name)s is not an active member of the club.", name=member.user.name),
                                rule="R12")


def _submit(user_id: int, me: Membership, exchange: Exchange, minutes: object, done_on: object,
            description: object, today: date) -> Exchange:
    """Fill in what was done; post now or wait for the receiver's confirmation."""
    exchange.minutes = check_minutes(minutes)
    exchange.done_on = check_day(done_on, today)
    exchange.description = one_line(description, "description", maximum=500)
    _both_active(exchange)
    exchange.recorded_by_id = me.id
    exchange.recorded_at = utcnow()
    if exchange.id is None:
        insert_now(exchange)
    else:
        db.session.flush()
    # The receiver's own word is the confirmation; otherwise the charter decides.
    charter = None if me.id == exchange.receiver_id else charter_of(exchange.club_id)
    if charter is None or not charter.exchange_needs_confirmation:
        _post(exchange, user_id)
    else:
        _check_limits(LimitCheck.EXCHANGE, exchange, _accounts(exchange.club_id, exchange, lock=False))
        if exchange.status != ExchangeStatus.PENDING:  # one recorded anew is pending already
            move(exchange, ExchangeStatus.PENDING)
        exchange.expires_on = today + timedelta(days=charter.exchange_expiry_days)
        notify.later("exchange_to_confirm", exchange)
    record(user_id, exchange.club_id, "exchange.record", exchange, after={
        "provider": exchange.provider_id, "receiver": exchange.receiver_id, "minutes": exchange.minutes,
        "done_on": exchange.done_on, "status": exchange.status})
    return exchange


DIRECTIONS = ("given", "received")


def record_exchange(user_id: int, club_id: int, *, other_id: int, direction: str, minutes: int, done_on: date,
                    description: str, form_key: str, today: date | None = None) -> Exchange:
    """Either party records a service: "I gave" or "I received" so many minutes to or from another member."""
    today = _today(today)
    if direction not in DIRECTIONS:
        raise InvalidInput(_l("Say whether you gave or received the service."), field="direction")
    with unit_of_work():
        me = membership_for(user_id, club_id)
        _trading(me)
        other = _partner(club_id, other_id, me)
        provider, receiver = (me, other) if direction == "given" else (other, me)
        exchange = Exchange(club_id=club_id, provider_id=provider.id, receiver_id=receiver.id, started_by_id=me.id,
                            status=ExchangeStatus.PENDING, provider=provider, receiver=receiver)
        # Shape first, then the one-time key: a form refused for its values can be corrected and sent again.
        check_minutes(minutes)
        check_day(done_on, today)
        one_line(description, "description", maximum=500)
        use_form_key(user_id, form_key, club_id)
        return _submit(user_id, me, exchange, minutes, done_on, description, today)


def answer(user_id: int, club_id: int, listing_id: int, *, form_key: str, today: date | None = None) -> Exchange:
    """Answer an offer (I would like this service) or a request (I can do this): an exchange is arranged."""
    today = _today(today)
    with unit_of_work() as session:
        me = membership_for(user_id, club_id)
        _trading(me)
        listing = _listing(club_id, listing_id)
        if listing.author_id == me.id:
            raise RuleViolation(_l("You cannot exchange time with yourself."), rule="R12")
        author = _partner(club_id, listing.author_id, me)  # R12: an author who left is named as such
        if not is_open(listing, today):
            raise Conflict(_l("This offer or request is no longer open."))
        provider, receiver = (author, me) if listing.kind == ListingKind.OFFER else (me, author)
        already = session.scalar(select(Exchange.id).where(
            Exchange.club_id == club_id, Exchange.listing_id == listing.id, Exchange.started_by_id == me.id,
            Exchange.status == ExchangeStatus.ARRANGED))
        if already:
            raise Conflict(_l("You have already answered this; record the exchange once it is done."))
        use_form_key(user_id, form_key, club_id)
        charter = charter_of(club_id)
        exchange = Exchange(club_id=club_id, listing_id=listing.id, provider_id=provider.id,
                            receiver_id=receiver.id, started_by_id=me.id, status=ExchangeStatus.ARRANGED,
                            description=listing.title, expires_on=today + timedelta(days=charter.exchange_expiry_days))
        session.add(exchange)
        session.flush()
        record(user_id, club_id, "exchange.arrange", exchange, after={
            "listing": listing.id, "provider": provider.id, "receiver": receiver.id})
        return exchange


def _exchange(club_id: int, exchange_id: object, *, lock: bool = False) -> Exchange:
    return in_club(Exchange, club_id, exchange_id, lock=lock, missing=_l("No such exchange."))


def _party(me: Membership, exchange: Exchange) -> None:
    if not exchange.party(me.id):
        raise NotFound(_l("No such exchange."))


def _expired(exchange: Exchange, today: date) -> bool:
    return exchange.expires_on is not None and exchange.expires_on < today


def complete(user_id: int, club_id: int, exchange_id: int, *, minutes: int, done_on: date, description: str,
             today: date | None = None) -> Exchange:
    """Either party of an arranged exchange records it once the service is done."""
    today = _today(today)
    with unit_of_work():
        me = membership_for(user_id, club_id)
        _trading(me)
        exchange = _exchange(club_id, exchange_id, lock=True)
        _party(me, exchange)
        if exchange.status != ExchangeStatus.ARRANGED:
            raise Conflict(_l("This exchange is already recorded."))
        if _expired(exchange, today):
            raise Conflict(_l("This exchange expired on %(day)s; record it again.", day=exchange.expires_on))
        exchange.expires_on = None
        return _submit(user_id, me, exchange, minutes, done_on, description, today)


def confirm(user_id: int, club_id: int, exchange_id: int, *, today: date | None = None) -> Exchange:
    """The member who received the service confirms it: the time ledger posts, once."""
    today = _today(today)
    with unit_of_work():
        me = membership_for(user_id, club_id)
        exchange = _exchange(club_id, exchange_id, lock=True)
        _party(me, exchange)
        if exchange.receiver_id != me.id:
            raise NotPermitted(_l("Only the member who received the service confirms it."), rule="R12")
        if exchange.status == ExchangeStatus.CONFIRMED:
            raise Conflict(_l("This exchange is already confirmed."))
        if exchange.status != ExchangeStatus.PENDING:
            raise Conflict(_l("Only an exchange waiting for confirmation can be confirmed."))
        if _expired(exchange, today):
            raise RuleViolation(_l("This exchange expired on %(day)s without confirmation; record it again.",
                                   day=exchange.expires_on), rule="R12")
        _trading(me)
        _both_active(exchange)
        _post(exchange, user_id)
        record(user_id, club_id, "exchange.confirm", exchange, after={"transaction": exchange.transaction_id})
        return exchange


def dispute(user_id: int, club_id: int, exchange_id: int, *, reason: str, today: date | None = None) -> Exchange:
    """The party who did not record an exchange contests it; the manager settles it."""
    today = _today(today)
    with unit_of_work():
        me = membership_for(user_id, club_id)
        exchange = _exchange(club_id, exchange_id, lock=True)
        _party(me, exchange)
        reason = one_line(reason, "reason", maximum=500)
        if exchange.recorded_by_id == me.id:
            raise NotPermitted(_l("You recorded this exchange: withdraw it instead of disputing it."))
        if exchange.status == ExchangeStatus.DISPUTED:
            raise Conflict(_l("This exchange is already disputed."))
        if exchange.status not in (ExchangeStatus.PENDING, ExchangeStatus.CONFIRMED):
            raise Conflict(_l("Only a recorded exchange can be disputed."))
        if exchange.status == ExchangeStatus.PENDING and _expired(exchange, today):
            raise RuleViolation(_l("This exchange expired on %(day)s; it will never be posted.",
                                   day=exchange.expires_on), rule="R12")
        before = exchange.status
        move(exchange, ExchangeStatus.DISPUTED)
        exchange.dispute_reason, exchange.disputed_by_id, exchange.disputed_at = reason, me.id, utcnow()
        record(user_id, club_id, "exchange.dispute", exchange, before={"status": before},
               after={"status": exchange.status, "reason": reason})
        return exchange


def withdraw(user_id: int, club_id: int, exchange_id: int) -> Exchange:
    """The member who recorded an exchange takes it back before it is confirmed; either party calls off an
    arranged one."""
    with unit_of_work():
        me = membership_for(user_id, club_id)
        exchange = _exchange(club_id, exchange_id, lock=True)
        _party(me, exchange)
        if exchange.status == ExchangeStatus.PENDING:
            if exchange.recorded_by_id != me.id:
                raise NotPermitted(_l("Only the member who recorded it may withdraw it; dispute it instead."))
        elif exchange.status != ExchangeStatus.ARRANGED:
            raise Conflict(_l("Only an exchange not yet posted can be withdrawn."))
        before = exchange.status
        move(exchange, ExchangeStatus.CANCELLED)
        exchange.resolved_by_id, exchange.resolved_at = me.id, utcnow()
        record(user_id, club_id, "exchange.withdraw", exchange, before={"status": before},
               after={"status": exchange.status})
        return exchange


SETTLEMENTS = ("cancel", "reverse", "keep")


def may_settle(me: Membership, exchange: Exchange) -> bool:
    """The manager settles disputes; the treasurer does when the manager is a party; a party never does (R8)."""
    if exchange.party(me.id):
        return False
    role = access.role_of(me)  # an officer past their term settles nothing (R3)
    if role == Role.MANAGER:
        return True
    return role == Role.TREASURER and db.session.scalar(select(Membership.id).where(
        Membership.club_id == exchange.club_id, Membership.role == Role.MANAGER, Membership.status == MemberStatus.ACTIVE,
        Membership.id.in_((exchange.provider_id, exchange.receiver_id)))) is not None


def _settler(user_id: int, club_id: int, exchange: Exchange) -> Membership:
    me = access.bookkeeper(user_id, club_id)
    if exchange.party(me.id):
        raise NotPermitted(_l("You are a party to this exchange: another officer settles it."), rule="R8")
    if not may_settle(me, exchange):
        raise NotPermitted(_l("The manager settles disputes; the treasurer only when the manager is a party."))
    return me


def settle(user_id: int, club_id: int, exchange_id: int, *, decision: str, reason: str,
           today: date | None = None) -> Exchange:
    """Settle a dispute: cancel an exchange not yet posted, reverse a posted one, or keep a posted one."""
    if decision not in SETTLEMENTS:
        raise InvalidInput(_l("Choose a value from the list."), field="decision")
    with unit_of_work():
        exchange = _exchange(club_id, exchange_id, lock=True)
        me = _settler(user_id, club_id, exchange)
        reason = one_line(reason, "reason", maximum=500)
        if exchange.status != ExchangeStatus.DISPUTED:
            raise Conflict(_l("Only a disputed exchange is settled."))
        posted = exchange.transaction_id is not None
        if decision == "cancel" and posted:
            raise Conflict(_l("This exchange is posted: reverse it, or keep it."))
        if decision in ("reverse", "keep") and not posted:
            raise Conflict(_l("This exchange was never posted: cancel it."))
        if decision == "reverse":
            _check_limits(LimitCheck.REVERSAL, exchange, _accounts(club_id, exchange, lock=True))
            reversal = ledger.reverse(club_id, exchange.transaction_id, reason=reason, author_id=user_id,
                                      idempotency_key=f"exchange-reversal:{exchange.id}", occurred_on=_today(today))
            exchange.reversal_id = reversal.id
        move(exchange, {"cancel": ExchangeStatus.CANCELLED, "reverse": ExchangeStatus.REVERSED,
                        "keep": ExchangeStatus.CONFIRMED}[decision])
        exchange.resolution, exchange.resolved_by_id, exchange.resolved_at = reason, me.id, utcnow()
        record(user_id, club_id, f"exchange.{decision}", exchange, before={"status": ExchangeStatus.DISPUTED},
               after={"status": exchange.status, "reason": reason, "reversal": exchange.reversal_id})
        return exchange


def expire_due(*, club_id: int | None = None, today: date | None = None) -> int:
    """Arranged and pending exchanges past their day expire (charter: exchange_expiry_days). Returns how many."""
    today = _today(today)
    due = [Exchange.status.in_(sources(Exchange, ExchangeStatus.EXPIRED)), Exchange.expires_on < today]
    if club_id is None:  # club by club: a lock names one club
        clubs = list(db.session.scalars(select(Exchange.club_id).where(*due).distinct().order_by(Exchange.club_id)))
        return sum(expire_due(club_id=club, today=today) for club in clubs)
    due.append(Exchange.club_id == club_id)
    if not db.session.scalar(select(Exchange.id).where(*due).limit(1)):
        return 0
    with unit_of_work() as session:
        expired = list(session.scalars(select(Exchange).where(*due).with_for_update(of=Exchange)
                                       .execution_options(populate_existing=True)))
        for exchange in expired:
            before = exchange.status
            move(exchange, ExchangeStatus.EXPIRED)
            record(None, exchange.club_id, "exchange.expire", exchange, before={"status": before},
                   after={"status": exchange.status, "expires_on": exchange.expires_on})
        return len(expired)


# --- Reading exchanges ---------------------------------------------------------------------------


def exchange_for(user_id: int, club_id: int, exchange_id: int) -> Exchange:
    """A party sees their exchange; officers see every exchange of the club."""
    me = membership_for(user_id, club_id)
    exchange = _exchange(club_id, exchange_id)
    if not me.is_officer:
        _party(me, exchange)
    return exchange


def exchanges_of(user_id: int, club_id: int, *, limit: int = 200) -> list[Exchange]:
    me = membership_for(user_id, club_id)
    return list(db.session.scalars(select(Exchange).where(
        Exchange.club_id == club_id, or_(Exchange.provider_id == me.id, Exchange.receiver_id == me.id))
        .order_by(Exchange.id.desc()).limit(limit)))


def to_confirm(user_id: int, club_id: int, today: date | None = None) -> list[Exchange]:
    """Exchanges the acting member received and must confirm or dispute."""
    me = membership_for(user_id, club_id)
    return list(db.session.scalars(select(Exchange).where(
        Exchange.club_id == club_id, Exchange.receiver_id == me.id, Exchange.status == ExchangeStatus.PENDING,
        Exchange.expires_on >= _today(today)).order_by(Exchange.id)))


def disputes(user_id: int, club_id: int) -> list[Exchange]:
    access.bookkeeper(user_id, club_id)
    return list(db.session.scalars(select(Exchange).where(
        Exchange.club_id == club_id, Exchange.status == ExchangeStatus.DISPUTED).order_by(Exchange.id)))


# --- Limits --------------------------------------------------------------------------------------------


def limits_of(user_id: int, club_id: int, membership_id: int | None = None) -> Limits:
    """A member's balance and limits; officers may read anyone's."""
    target = _visible(user_id, club_id, membership_id)
    return _limits(time_account(club_id, target.id), charter_of(club_id).time_warning_percent)


def _visible(user_id: int, club_id: int, membership_id: int | None) -> Membership:
    me = membership_for(user_id, club_id)
    if membership_id is None or membership_id == me.id:
        return me
    if not access.is_bookkeeper(me):
        raise NotFound(_l("No such member."))
    return in_club(Membership, club_id, membership_id, missing=_l("No such member."))


def set_member_limits(user_id: int, club_id: int, membership_id: int, *, floor: int, ceiling: int,
                      reason: str) -> Account:
    """The manager gives one member limits of their own, saying why (logged)."""
    with unit_of_work():
        access.manager(user_id, club_id)
        target = _visible(user_id, club_id, membership_id)
        if target.status != MemberStatus.ACTIVE:
            raise RuleViolation(_l("%(name)s is not an active member of the club.", name=target.user.name),
                                rule="R12")
        check_time_bound("floor", floor)
        check_time_bound("ceiling", ceiling)
        reason = one_line(reason, "reason", maximum=300)
        account = time_account(club_id, target.id)
        if (account.floor, account.ceiling) == (floor, ceiling):
            raise Conflict(_l("These are already the member's limits."))
        check_time_limit(LimitCheck.MEMBER_LIMITS, account.balance, floor, ceiling, name=target.user.name)
        return ledger.set_limits(club_id, account.id, floor=floor, ceiling=ceiling, actor_id=user_id, reason=reason)


def has_own_limits(account: Account, charter) -> bool:
    return (account.floor, account.ceiling) != (charter.time_floor_minutes, charter.time_ceiling_minutes)


# --- Reciprocity --------------------------------------------------------------------------------------


@dataclass
class Standing:
    """What a member gave and received, with whom, and where their balance stands."""

    member: Membership
    limits: Limits
    own_limits: bool = False
    given: int = 0
    received: int = 0
    last_on: date | None = None
    partners: set[int] = field(default_factory=set)
    #: False when the member hides their balance from the reader; hours given and received are hidden
    #: with it (their difference is the balance)
    balance_shown: bool = True

    @property
    def balance(self) -> int:
        return self.limits.balance


def _pairs(club_id: int) -> list[tuple[int, int, int, date]]:
    """(provider, receiver, minutes, last day) over the club's posted exchanges."""
    return list(db.session.execute(
        select(Exchange.provider_id, Exchange.receiver_id, func.sum(Exchange.minutes), func.max(Exchange.done_on))
        .where(Exchange.club_id == club_id, POSTED).group_by(Exchange.provider_id, Exchange.receiver_id)).all())


def _cross_pairs(club_id: int) -> list[tuple[int | None, int | None, int, date]]:
    """The same over the services given to or received from partner clubs' members (counted in this club):
    (member, None, …) for given, (None, member, …) for received, so that given less received stays the balance."""
    posted = and_(CrossExchange.transaction_id.is_not(None), CrossExchange.reversal_id.is_(None))
    rows = db.session.execute(
        select(CrossExchange.member_id, CrossExchange.direction, func.sum(CrossExchange.minutes),
               func.max(CrossExchange.done_on))
        .where(CrossExchange.club_id == club_id, posted)
        .group_by(CrossExchange.member_id, CrossExchange.direction)).all()
    return [(m, None, minutes, last) if direction == "given" else (None, m, minutes, last)
            for m, direction, minutes, last in rows]


def _standings(club_id: int, members: list[Membership], pairs) -> dict[int, Standing]:
    charter = charter_of(club_id)
    accounts = {a.membership_id: a for a in db.session.scalars(select(Account).where(
        Account.club_id == club_id, Account.unit == Unit.TIME, Account.membership_id.in_([m.id for m in members])))}
    out = {m.id: Standing(m, _limits(accounts[m.id], charter.time_warning_percent),
                          own_limits=has_own_limits(accounts[m.id], charter)) for m in members}
    for provider, receiver, minutes, last in pairs:
        for who, other, side in ((provider, receiver, "given"), (receiver, provider, "received")):
            if who in out:
                s = out[who]
                setattr(s, side, getattr(s, side) + minutes)
                if other is not None:  # a partner club's member is not counted among the club's partners
                    s.partners.add(other)
                s.last_on = max(s.last_on, last) if s.last_on else last
    return out


def _active_members(club_id: int) -> list[Membership]:
    return list(db.session.scalars(select(Membership).where(
        Membership.club_id == club_id, Membership.status == MemberStatus.ACTIVE).order_by(Membership.id)))


def standing(user_id: int, club_id: int, membership_id: int | None = None) -> Standing:
    """The acting member's own figures (officers: any member's)."""
    target = _visible(user_id, club_id, membership_id)
    return _standings(club_id, [target], _pairs(club_id) + _cross_pairs(club_id))[target.id]


def reciprocity(user_id: int, club_id: int) -> list[Standing]:
    """Every active member's figures; a hidden balance is shown to its owner and the officers only."""
    me = membership_for(user_id, club_id)
    rows = list(_standings(club_id, _active_members(club_id), _pairs(club_id) + _cross_pairs(club_id)).values())
    for s in rows:
        s.balance_shown = not s.member.hides_time_balance or s.member.id == me.id or me.is_officer
    return sorted(rows, key=lambda s: s.member.user.name.casefold())


@dataclass(frozen=True)
class Flows:
    """Who helped whom: minutes from each provider (row) to each receiver (column)."""

    members: list[Membership]
    minutes: dict[tuple[int, int], int]

    def given_to(self, provider_id: int, receiver_id: int) -> int:
        return self.minutes.get((provider_id, receiver_id), 0)


def flows(user_id: int, club_id: int) -> Flows:
    access.officer(user_id, club_id)
    pairs = _pairs(club_id)
    involved = {p for p, _r, _m, _d in pairs} | {r for _p, r, _m, _d in pairs}
    members = [m for m in db.session.scalars(select(Membership).where(Membership.club_id == club_id))
               if m.status == MemberStatus.ACTIVE or m.id in involved]
    members.sort(key=lambda m: m.user.name.casefold())
    return Flows(members, {(p, r): minutes for p, r, minutes, _d in pairs})


@dataclass(frozen=True)
class Attention:
    standing: Standing
    near_floor: bool
    gives_only: bool
    quiet: bool


def attention(user_id: int, club_id: int, today: date | None = None) -> list[Attention]:
    """Officers only: members near their floor, generous members who received nothing, members with no
    exchange for three months (counted from their joining when they never exchanged)."""
    access.officer(user_id, club_id)
    today = _today(today)
    since = today - timedelta(days=QUIET_DAYS)
    out = []
    for s in reciprocity(user_id, club_id):
        started = s.last_on or s.member.joined_on or today
        item = Attention(s, near_floor=s.limits.near_floor,
                         gives_only=s.given >= GENEROUS_MINUTES and s.received == 0, quiet=started < since)
        if item.near_floor or item.gives_only or item.quiet:
            out.append(item)
    return out


def hide_balance(user_id: int, club_id: int, hidden: bool) -> Membership:
    """A member shows or hides their time balance from other members (officers still see it)."""
    if not isinstance(hidden, bool):
        raise InvalidInput(_l("Choose yes or no."), field="hidden")
    with unit_of_work():
        me = membership_for(user_id, club_id)
        if me.hides_time_balance != hidden:
            record(user_id, club_id, "membership.hide_time_balance", me, before={"hidden": me.hides_time_balance},
                   after={"hidden": hidden})
            me.hides_time_balance = hidden
        return me


def minutes_per_month(user_id: int, club_id: int) -> list[tuple[date, int]]:
    """Minutes exchanged (posted, not reversed) month by month, from the first exchange to this month."""
    membership_for(user_id, club_id)
    by_day = db.session.execute(select(Exchange.done_on, func.sum(Exchange.minutes)).where(
        Exchange.club_id == club_id, POSTED).group_by(Exchange.done_on)).all()
    if not by_day:
        return []
    months: dict[date, int] = defaultdict(int)
    for day, minutes in by_day:
        months[day.replace(day=1)] += minutes
    return [(m, months.get(m, 0)) for m in months_between(min(months), date.today())]


# --- Statement --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    transaction_id: int
    occurred_on: date
    kind: str
    description: str
    partner: str
    amount: int
    balance: int
    exchange_id: int | None


def statement(user_id: int, club_id: int, membership_id: int | None = None) -> tuple[Membership, list[StatementLine]]:
    """A member's time account, line by line, with the running balance (officers: any member's)."""
    target = _visible(user_id, club_id, membership_id)
    account = time_account(club_id, target.id)
    rows = db.session.execute(
        select(Posting.amount, JournalTransaction.id, JournalTransaction.occurred_on, JournalTransaction.kind,
               JournalTransaction.memo)
        .join(JournalTransaction, ledger.POSTING_TRANSACTION)
        .where(Posting.club_id == club_id, Posting.account_id == account.id)
        .order_by(JournalTransaction.occurred_on, JournalTransaction.id)).all()
    txn_ids = [r[1] for r in rows]
    by_txn: dict[int, Exchange] = {}
    across: dict[int, str] = {}  # exchanges with partner clubs' members
    for start in range(0, len(txn_ids), 500):
        chunk = txn_ids[start:start + 500]
        for exchange in db.session.scalars(select(Exchange).where(
                Exchange.club_id == club_id,
                or_(Exchange.transaction_id.in_(chunk), Exchange.reversal_id.in_(chunk)))):
            for txn_id in (exchange.transaction_id, exchange.reversal_id):
                if txn_id is not None:
                    by_txn[txn_id] = exchange
        for cross in db.session.scalars(select(CrossExchange).where(
                CrossExchange.club_id == club_id,
                or_(CrossExchange.transaction_id.in_(chunk), CrossExchange.reversal_id.in_(chunk)))):
            for txn_id in (cross.transaction_id, cross.reversal_id):
                if txn_id is not None:
                    across[txn_id] = f"{cross.partner_member_name} ({cross.partnership.partner_name})"
    lines, balance = [], 0
    for amount, txn_id, occurred_on, kind, memo in rows:
        balance += amount
        exchange = by_txn.get(txn_id)
        partner = exchange.other(target.id).user.name if exchange and exchange.party(target.id) else ""
        partner = partner or across.get(txn_id, "")
        lines.append(StatementLine(txn_id, occurred_on, kind, memo, partner, amount, balance,
                                   exchange.id if exchange else None))
    return target, lines


# --- Invariants ------------------------------------------------------------------------------------------


def check() -> list[ledger.Violation]:
    """Invariant 10: each club's time accounts sum to zero. Invariant 11: an exchange is on the books
    exactly when it says so, for its minutes, between its two members."""
    found = []
    for club_id, total in db.session.execute(
            select(Account.club_id, func.sum(Account.balance)).where(Account.unit == Unit.TIME)
            .group_by(Account.club_id).having(func.sum(Account.balance) != 0)):
        found.append(ledger.Violation(10, club_id, f"time accounts sum to {total} minutes, not zero"))
    codes = {a.id: a.code for a in db.session.scalars(select(Account).where(Account.unit == Unit.TIME))}
    postings: dict[int, dict[str, int]] = defaultdict(dict)
    for txn_id, account_id, amount in db.session.execute(
            select(Posting.transaction_id, Posting.account_id, Posting.amount)
            .join(Exchange, and_(Exchange.club_id == Posting.club_id,
                                 or_(Exchange.transaction_id == Posting.transaction_id,
                                     Exchange.reversal_id == Posting.transaction_id)))):
        postings[txn_id][codes.get(account_id, f"#{account_id}")] = amount
    posted_statuses = (ExchangeStatus.CONFIRMED, ExchangeStatus.REVERSED)
    for (exchange_id, club_id, status, transaction_id, reversal_id, provider_id, receiver_id,
         minutes) in db.session.execute(select(
            Exchange.id, Exchange.club_id, Exchange.status, Exchange.transaction_id, Exchange.reversal_id,
            Exchange.provider_id, Exchange.receiver_id, Exchange.minutes)):
        has_txn = transaction_id is not None
        if (status in posted_statuses and not has_txn) or (
                status not in posted_statuses + (ExchangeStatus.DISPUTED,) and has_txn):
            found.append(ledger.Violation(11, club_id, f"exchange {exchange_id} is {status} but transaction is "
                                                       f"{transaction_id}"))
        if (status == ExchangeStatus.REVERSED) != (reversal_id is not None):
            found.append(ledger.Violation(11, club_id, f"exchange {exchange_id} is {status} but reversal is "
                                                       f"{reversal_id}"))
        if has_txn:
            expected = {f"time:{provider_id}": minutes, f"time:{receiver_id}": -minutes}
            if postings.get(transaction_id) != expected:
                found.append(ledger.Violation(11, club_id, f"exchange {exchange_id} posts "
                                                           f"{postings.get(transaction_id)}, not {expected}"))
    return found
