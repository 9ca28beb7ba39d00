"""The API's operations: each reads its input, calls the service the page calls, and shapes the answer. The
acting person is the token's owner (``g.api_user_id``), so every role check and refusal is the service's."""
from __future__ import annotations

import http
from datetime import UTC, datetime
from decimal import Decimal

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_smorest import Blueprint

from ..extensions import csrf, limiter
from ..models import Unit
from ..services import access, ballots, books, fund, timebank
from ..services.books import Cursor, JournalFilter
from ..services.errors import InvalidInput
from . import auth
from . import schemas as s

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="Entraide's JSON API")
bp.before_request(auth.authenticated)
csrf.exempt(bp)  # a bearer token, never the session cookie: nothing a forged form could use
limiter.limit(lambda: current_app.config["RATELIMIT_API"], key_func=auth.per_token,
              exempt_when=lambda: auth.current_token() is None)(bp)
limiter.limit(lambda: current_app.config["RATELIMIT_API_BAD"], key_func=auth.per_address,
              exempt_when=lambda: auth.current_token() is not None)(bp)

#: What every operation can answer besides success: no or a dead token, another club, the rate limit, a crash.
ALWAYS = (401, 404, 429, 500)
#: What a write can answer too: a read-only token or a role the service refuses, a malformed body, a refusal,
#: a replayed Idempotency-Key.
WRITES = (400, 403, 409, 413, 422)


def errors(*statuses: int):
    """Document each status ``statuses`` and ``ALWAYS`` with the problem schema."""
    def decorate(view):
        for status in sorted({*ALWAYS, *statuses}):
            view = bp.alt_response(status, response=http.HTTPStatus(status).name)(view)
        return view
    return decorate


IDEMPOTENCY = {"parameters": [{"in": "header", "name": "Idempotency-Key", "required": True,
                               "schema": {"type": "string", "pattern": "^[0-9a-fA-F-]{32,36}$"},
                               "description": "A new random key per write (a UUID): the same key again is a 409 "
                                              "and writes nothing."}]}


def idempotency_key() -> str:
    """The client's one-time key, as the pages' form key: 32 hexadecimal digits (a UUID, dashes allowed)."""
    raw = request.headers.get("Idempotency-Key", "").strip()
    key = raw.replace("-", "").lower()
    if len(raw) > 36 or len(key) != 32 or any(c not in "0123456789abcdef" for c in key):
        raise InvalidInput(_("Send an Idempotency-Key header: a new UUID for each write."), field="Idempotency-Key")
    return key


def me() -> int:
    return g.api_user_id


def _club(club_id: int):
    """The club, as the acting member sees it (a refusal for anyone else)."""
    return access.membership_for(me(), club_id).club


# --- The club's position, my accounts and statements ---------------------------------------------------------


@bp.route("/clubs/<id:club_id>", methods=["GET"], endpoint="club_position")
@bp.response(200, s.PositionOut)
@errors()
def club_position(club_id: int):
    """The club's fund: cash, invested, committed, available, net assets, and members' shares (own line; every
    line for the treasurer and the manager)."""
    position = fund.position(me(), club_id)
    club = _club(club_id)
    return {
        "club": {"id": club.id, "name": club.name, "currency": club.currency, "status": club.status,
                 "time_zone": club.time_zone},
        "currency": position.currency, "cash": position.cash, "invested": position.invested,
        "committed": position.committed, "available": position.available, "net_assets": position.net_assets,
        "members": [{"membership_id": line.membership.id, "name": line.membership.user.name,
                     "contributed": line.contributed, "capital": line.capital, "value": line.value,
                     "share_percent": str(Decimal(line.share).quantize(Decimal("0.01")))}
                    for line in position.members],
    }


@bp.route("/clubs/<id:club_id>/accounts", methods=["GET"], endpoint="my_accounts")
@bp.response(200, s.AccountOut(many=True))
@errors()
def my_accounts(club_id: int):
    """My accounts in the club (capital in cents, time in minutes) with their balances."""
    accounts = books.my_accounts(me(), club_id)
    currency = _club(club_id).currency
    return [{"id": a.id, "code": a.code, "type": a.type, "unit": a.unit,
             "currency": currency if a.unit == Unit.MONEY else None, "balance": a.balance, "floor": a.floor,
             "ceiling": a.ceiling} for a in accounts]


@bp.route("/clubs/<id:club_id>/statements/time", methods=["GET"], endpoint="time_statement")
@bp.response(200, s.TimeStatementOut)
@errors()
def time_statement(club_id: int):
    """My time account line by line, with the running balance (minutes)."""
    member, lines = timebank.statement(me(), club_id)
    return {"membership_id": member.id, "unit": "minutes", "lines": [
        {"transaction_id": line.transaction_id, "occurred_on": line.occurred_on, "kind": line.kind,
         "description": line.description, "partner": line.partner, "minutes": line.amount,
         "balance_minutes": line.balance, "exchange_id": line.exchange_id} for line in lines]}


@bp.route("/clubs/<id:club_id>/statements/savings", methods=["GET"], endpoint="savings_statement")
@bp.response(200, s.SavingsStatementOut)
@errors()
def savings_statement(club_id: int):
    """My savings: what my pledges made due, what I paid, my arrears, and my latest contributions (cents)."""
    standing = fund.my_standing(me(), club_id)
    rows = fund.contributions(me(), club_id, membership_id=standing.membership.id)
    return {"membership_id": standing.membership.id, "currency": standing.membership.club.currency,
            "due": standing.due, "paid": standing.paid, "arrears": standing.arrears,
            "contributions": [{"id": r.contribution.id, "amount": r.contribution.amount,
                               "received_on": r.contribution.received_on, "method": r.contribution.method,
                               "transaction_id": r.contribution.transaction_id, "reversed_by": r.reversed_by}
                              for r in rows]}


# --- Offers and requests --------------------------------------------------------------------------------------


def _listing(listing) -> dict:
    return {"id": listing.id, "kind": listing.kind, "title": listing.title, "description": listing.description,
            "category": listing.category, "availability": listing.availability, "status": listing.status,
            "expires_on": listing.expires_on, "author_id": listing.author_id, "author": listing.author.user.name}


@bp.route("/clubs/<id:club_id>/listings", methods=["GET"], endpoint="search_listings")
@bp.arguments(s.ListingQuery, location="query")
@bp.response(200, s.ListingPageOut)
@errors(400, 422)
def search_listings(query: dict, club_id: int):
    """Open offers and requests of the club, newest first: words, category, kind, one page of 20."""
    found = timebank.search(me(), club_id, words=query["q"], category=query["category"] or None,
                            kind=query["kind"] or None, page=query["page"])
    return {"items": [_listing(x) for x in found.items], "page": found.page, "pages": found.pages,
            "total": found.total}


@bp.route("/clubs/<id:club_id>/listings", methods=["POST"], endpoint="publish_listing")
@bp.arguments(s.ListingIn)
@bp.response(201, s.ListingOut)
@bp.doc(**IDEMPOTENCY)
@errors(*WRITES)
def publish_listing(values: dict, club_id: int):
    """Publish an offer or a request (R12)."""
    key = idempotency_key()
    return _listing(timebank.publish(me(), club_id, values, form_key=key))


# --- Exchanges -------------------------------------------------------------------------------------------------


def _exchange(exchange) -> dict:
    return {"id": exchange.id, "status": exchange.status, "provider_id": exchange.provider_id,
            "receiver_id": exchange.receiver_id, "minutes": exchange.minutes, "done_on": exchange.done_on,
            "description": exchange.description, "listing_id": exchange.listing_id,
            "transaction_id": exchange.transaction_id}


@bp.route("/clubs/<id:club_id>/exchanges", methods=["GET"], endpoint="my_exchanges")
@bp.response(200, s.ExchangeOut(many=True))
@errors()
def my_exchanges(club_id: int):
    """My exchanges, the latest 200 (exchanges past their day are marked expired first, as on the pages)."""
    timebank.expire_due(club_id=club_id)
    return [_exchange(x) for x in timebank.exchanges_of(me(), club_id)]


@bp.route("/clubs/<id:club_id>/exchanges", methods=["POST"], endpoint="record_exchange")
@bp.arguments(s.ExchangeIn)
@bp.response(201, s.ExchangeOut)
@bp.doc(**IDEMPOTENCY)
@errors(*WRITES)
def record_exchange(values: dict, club_id: int):
    """Record a service given to or received from another member, in minutes (R12)."""
    key = idempotency_key()
    return _exchange(timebank.record_exchange(me(), club_id, form_key=key, **values))


@bp.route("/clubs/<id:club_id>/exchanges/<id:exchange_id>/confirm", methods=["POST"], endpoint="confirm_exchange")
@bp.response(200, s.ExchangeOut)
@errors(*WRITES)
def confirm_exchange(club_id: int, exchange_id: int):
    """The other party confirms a recorded exchange: the minutes move."""
    return _exchange(timebank.confirm(me(), club_id, exchange_id))


@bp.route("/clubs/<id:club_id>/exchanges/<id:exchange_id>/dispute", methods=["POST"], endpoint="dispute_exchange")
@bp.arguments(s.DisputeIn)
@bp.response(200, s.ExchangeOut)
@errors(*WRITES)
def dispute_exchange(values: dict, club_id: int, exchange_id: int):
    """A party disputes an exchange, with a reason; the manager settles it."""
    return _exchange(timebank.dispute(me(), club_id, exchange_id, reason=values["reason"]))


# --- Ballots -------------------------------------------------------------------------------------------------


def _utc(moment: datetime | None) -> datetime | None:
    """A stored moment (naive UTC) with its offset."""
    return moment.replace(tzinfo=UTC) if moment is not None else None


def _ballot(ballot, voter) -> dict:
    return {"id": ballot.id, "kind": ballot.kind, "method": ballot.method, "title": ballot.title,
            "status": ballot.status, "secret": bool(ballot.secret), "opened_at": _utc(ballot.opened_at),
            "closes_at": _utc(ballot.closes_at), "closed_at": _utc(ballot.closed_at),
            "options": [{"id": o.id, "label": o.label} for o in ballot.options],
            "may_vote": voter is not None and not voter.recused, "voted": bool(voter and voter.voted)}


@bp.route("/clubs/<id:club_id>/ballots", methods=["GET"], endpoint="ballot_list")
@bp.response(200, s.BallotOut(many=True))
@errors()
def ballot_list(club_id: int):
    """Every ballot of the club, open ones first, with whether I may vote and have voted."""
    rows = ballots.ballots_of(me(), club_id)
    mine = ballots.my_participation(me(), club_id)
    return [_ballot(b, mine.get(b.id)) for b in rows]


@bp.route("/clubs/<id:club_id>/ballots/<id:ballot_id>", methods=["GET"], endpoint="ballot")
@bp.response(200, s.BallotDetailOut)
@errors()
def ballot(club_id: int, ballot_id: int):
    """One ballot: its options, how many took part, my choices (not for a secret ballot)."""
    page = ballots.ballot_page(me(), club_id, ballot_id)
    return {**_ballot(page.ballot, page.me), "details": page.ballot.details, "participants": page.participants,
            "my_choices": {str(k): v for k, v in page.my_choices.items()}}


@bp.route("/clubs/<id:club_id>/ballots/<id:ballot_id>/vote", methods=["POST"], endpoint="vote")
@bp.arguments(s.VoteIn)
@bp.response(200, s.VoteOut)
@errors(*WRITES)
def vote(values: dict, club_id: int, ballot_id: int):
    """Cast or change my vote: a value for each option (R1 one member one vote)."""
    choices = {c["option_id"]: c["value"] for c in values["choices"]}
    if len(choices) != len(values["choices"]):
        raise InvalidInput(_("Each option once."), field="choices")
    done = ballots.vote(me(), club_id, ballot_id, choices=choices, reason=values["reason"])
    return {"ballot_id": done.ballot_id, "voted": bool(done.voted)}


# --- The journal -----------------------------------------------------------------------------------------------


@bp.route("/clubs/<id:club_id>/journal", methods=["GET"], endpoint="journal")
@bp.arguments(s.JournalQuery, location="query")
@bp.response(200, s.JournalOut)
@errors(400, 403, 422)
def journal(query: dict, club_id: int):
    """The club's transactions, newest first, a page at a time (the treasurer and the manager)."""
    filters = JournalFilter(start=query["start"], end=query["end"], kind=query["kind"] or None)
    page = books.journal(me(), club_id, filters, after=Cursor.parse(query["after"]))
    return {"currency": _club(club_id).currency, "next": str(page.next) if page.next else None, "rows": [
        {"id": row.transaction.id, "occurred_on": row.transaction.occurred_on, "kind": row.transaction.kind,
         "unit": row.transaction.unit, "memo": row.transaction.memo, "author": row.author,
         "reverses_id": row.transaction.reverses_id, "reversed_by": row.reversed_by,
         "postings": [{"account_id": p.account_id, "account_code": page.accounts[p.account_id].code,
                       "amount": p.amount} for p in row.transaction.postings]}
        for row in page.rows]}
