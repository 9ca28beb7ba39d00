"""Who reaches what: every route of ``app.url_map`` × six kinds of visitor, with the status each must get.

The visitors: anonymous, an outsider (logged in, manager of a club of their own, not of this one), and the
``club`` fixture's plain member (members[3]), secretary (members[2]), treasurer (members[1]) and manager
(members[0]). Every URL is built with real ids from one world (``World`` below), so a refusal is the role's,
not a missing row's.

GET: the page as each visitor opens it. POST: what a request carrying a valid CSRF token and no other field
gets, so the role checks that come before the form's are what answers (the views check the form first in
some places: then a member with no right gets the form's 400, as the code does; its service refuses the
real request). A refusal (4xx) must leave every table as it was.

A new route without a rule here fails ``test_every_route_has_a_rule``: decide who may reach it, then add it.

The JSON API (/api/v1) knows nobody by the session cookie: in ``RULES`` every browser gets its 401. Who
reaches each API operation is in ``API_RULES``: the same visitors, each calling with a write token of their
own (the outsider's is for their own club; the anonymous visitor has none). A GET as it is; a POST with an
empty JSON object and a fresh Idempotency-Key, so the checks that come before the body's are what answers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from coop import clock, notify
from coop.extensions import db
from coop.models import BankLine, Contribution, CrossExchange, Membership
from coop.models.base import utcnow
from coop.services import (
    auth,
    ballots,
    books,
    clubs,
    fund,
    investments,
    ledger,
    meetings,
    partners,
    projects,
    reconcile,
    regions,
    tally,
    timebank,
    tokens,
    transfers,
    valuation,
)
from tests.conftest import hidden_fields, key, snapshot
from tests.services.test_investment_flow import PROJECT, approved, fund_club

ROLES = ("anonymous", "outsider", "coordinator", "member", "secretary", "treasurer", "manager")
LOGIN = "login"  # a 302 to the login page
TODAY = date.today()


# --- Shapes of access ---------------------------------------------------------------------------------------------


def public(status: int = 200) -> dict:
    return dict.fromkeys(ROLES, status)


def logged_in(status: int = 200, anonymous=LOGIN) -> dict:
    """Any logged-in person (the club's or not)."""
    return {"anonymous": anonymous, **dict.fromkeys(ROLES[1:], status)}


def in_club(member, secretary=None, treasurer=None, manager=None) -> dict:
    """Under /clubs/<id>: anonymous to the login page, outsiders 404; each role of the club as given."""
    secretary = member if secretary is None else secretary
    treasurer = secretary if treasurer is None else treasurer
    manager = treasurer if manager is None else manager
    return {"anonymous": LOGIN, "outsider": 404, "coordinator": 404, "member": member, "secretary": secretary,
            "treasurer": treasurer, "manager": manager}


def members(status: int = 200) -> dict:
    """Any member of the club."""
    return in_club(status)


def officers(status: int = 200, refused: int = 403) -> dict:
    return in_club(refused, status, status, status)


def bookkeepers(status: int = 200, refused: int = 403) -> dict:
    """The manager and the treasurer (services.access.BOOKKEEPERS)."""
    return in_club(refused, refused, status, status)


def treasurer_only(status: int = 200, refused: int = 403) -> dict:
    """The treasurer: the charter's default does not let the manager record money."""
    return in_club(refused, refused, status, refused)


def manager_only(status: int = 200, refused: int = 403) -> dict:
    return in_club(refused, refused, refused, status)


def api(member, secretary=None, treasurer=None, manager=None) -> dict:
    """An API operation called with each visitor's token: none is a 401, another club's a 404."""
    return {**in_club(member, secretary, treasurer, manager), "anonymous": 401, "coordinator": 401}


#: A browser's session cookie is no token: every API route answers it 401.
NO_COOKIE = public(401)


def coordinators(status: int = 200) -> dict:
    """The regional association's coordinators; anyone else, the club's officers too, 404."""
    return {**dict.fromkeys(ROLES, 404), "anonymous": LOGIN, "coordinator": status}


@dataclass(frozen=True)
class Rule:
    get: dict | None = None
    post: dict | None = None
    ids: dict = field(default_factory=dict)  # URL argument -> name of the world's id, where not the default
    acts: bool = False  # a POST with nothing but its token writes for some role (a button, or a form of defaults)


# --- The rules ------------------------------------------------------------------------------------------------------

RULES: dict[str, Rule] = {
    # Main and account pages.
    "main.index": Rule(get=public()),
    "main.health": Rule(get=public()),
    "main.switch_language": Rule(post=public(400)),  # no language chosen
    "auth.register": Rule(get=logged_in(302, anonymous=200), post=logged_in(302, anonymous=400)),
    "auth.finish_registration": Rule(get=logged_in(302, anonymous=200), post=logged_in(302, anonymous=400),
                                     ids={"token": "registration"}),  # a live link: the form asks for the rest
    "auth.login": Rule(get=logged_in(302, anonymous=200), post=logged_in(302, anonymous=400)),
    "auth.logout": Rule(post=logged_in(302), acts=True),
    "auth.change_password": Rule(get=logged_in(), post=logged_in(400)),
    "auth.settings": Rule(get=logged_in(), post=logged_in(302), acts=True),  # three unticked boxes are a valid answer
    "auth.request_reset": Rule(get=public(), post=public(400)),
    "auth.reset_password": Rule(get=public(), post=public(400)),  # a live link: the form asks for the password
    # Creating and joining a club.
    "clubs.create_club": Rule(get=logged_in(), post=logged_in(400)),
    # A regional association: its coordinators only (the club shares with it); naming a coordinator needs an email.
    "regions.region": Rule(get=coordinators()),
    "regions.export": Rule(get=coordinators()),
    "regions.add_coordinator": Rule(post=coordinators(400)),
    # The club's side: every member reads it; the manager stops sharing at once, without a vote.
    "regions.club_regions": Rule(get=members()),
    "regions.stop_sharing": Rule(post=manager_only(302), acts=True),
    "clubs.join": Rule(get=logged_in(), post=logged_in(400)),
    # A club's pages.
    "clubs.club_home": Rule(get=members()),
    "clubs.members": Rule(get=members()),
    "clubs.accounts": Rule(get=members()),
    "clubs.charter": Rule(get=members()),
    # An active club admits by ballot (R7) and elects its officers (R3); it is already active (409).
    "clubs.admit": Rule(post=manager_only(400), ids={"membership_id": "pending"}),
    "clubs.decline": Rule(post=manager_only(302), ids={"membership_id": "pending"}, acts=True),
    "clubs.appoint": Rule(post=manager_only(400), ids={"membership_id": "other"}),
    "clubs.activate": Rule(post=manager_only(409)),
    # Members may leave, officers who keep the money hand over first (R3).
    "clubs.leave": Rule(post=in_club(302, 302, 400, 400), acts=True),
    "clubs.edit_charter": Rule(get=manager_only(), post=manager_only(400)),
    "clubs.time_zone": Rule(post=manager_only(400)),  # no zone chosen
    "clubs.invitations": Rule(get=manager_only(), post=manager_only(302), acts=True),  # the button makes a code
    "clubs.revoke_invitation": Rule(post=manager_only(302), acts=True),
    # Pooled savings.
    "fund.my_savings": Rule(get=members(), post=members(400)),
    "fund.position": Rule(get=members()),
    # Members and the secretary are sent to their own savings.
    "fund.contributions": Rule(get=in_club(302, 302, 200, 200)),
    "fund.record_contribution": Rule(get=treasurer_only(), post=treasurer_only(400)),
    "fund.reverse_contribution": Rule(get=treasurer_only(), post=treasurer_only(400)),
    "fund.import_contributions": Rule(get=treasurer_only(), post=treasurer_only(400)),
    # The form is read before anyone's role: no payload is a 400 for every member (imports.confirm checks the role).
    "fund.confirm_import": Rule(post=members(400)),
    "fund.month_sheet": Rule(get=bookkeepers(), post=bookkeepers(400)),
    "fund.arrears": Rule(get=bookkeepers()),
    "fund.refunds": Rule(get=bookkeepers()),
    "fund.share_register": Rule(get=members()),  # a member reads their own lines, bookkeepers everyone's
    # The treasurer values a leaver's share once: the world's leaver is already valued (409).
    "fund.value_exit": Rule(post=in_club(403, 403, 409, 403), ids={"membership_id": "leaver"}),
    "fund.withdrawals": Rule(get=officers()),
    "fund.withdraw": Rule(post=members(400), ids={"membership_id": "other"}),  # no amount: refused before the role
    "fund.refund": Rule(get=bookkeepers(), post=bookkeepers(400), ids={"membership_id": "leaver"}),
    # Shares handed over to a leaver: whoever records money; without a stake the form is refused (400).
    "fund.hand_over": Rule(post=treasurer_only(400), ids={"membership_id": "leaver"}),
    "fund.dissolution": Rule(get=members()),  # everyone sees their own line of the plan
    "fund.distribute": Rule(post=members(400), ids={"membership_id": "other"}),  # no amount: refused before the role
    "fund.close": Rule(post=treasurer_only(400)),  # only a dissolving club closes (R13)
    # The leaver's refund the treasurer entered: another officer approves it, the treasurer may not (R11).
    "fund.approve_payout": Rule(post=in_club(403, 302, 400, 302), acts=True),
    "fund.cancel_payout": Rule(post=officers(400)),  # no reason given
    # Projects: the draft is the plain member's; its proposer and the manager steer it.
    "projects.project_list": Rule(get=members()),
    "projects.propose": Rule(get=members(), post=members(400)),
    "projects.project": Rule(get=members()),
    "projects.edit_project": Rule(get=in_club(200, 403, 403, 200), post=in_club(400, 403, 403, 400)),
    "projects.present": Rule(post=in_club(302, 403, 403, 302), acts=True),
    "projects.withdraw": Rule(post=in_club(302, 403, 403, 302), acts=True),
    "projects.declare_link": Rule(post=members(400)),
    # Ballots: an open dissolution ballot nobody has voted on yet.
    "ballots.ballot_list": Rule(get=members()),
    "ballots.ballot": Rule(get=members()),
    "ballots.vote": Rule(post=members(400)),
    "ballots.give_proxy": Rule(post=members(400)),
    "ballots.withdraw_proxy": Rule(post=members(409)),  # nobody gave a proxy
    "ballots.close": Rule(post=manager_only(400)),  # not everyone has voted (R9)
    "ballots.cancel": Rule(post=manager_only(400)),  # no reason given
    "ballots.open_ballot": Rule(get=manager_only(), post=manager_only(400)),
    "ballots.propose_amendment": Rule(get=manager_only(), post=manager_only(400)),
    "ballots.decisions": Rule(get=members()),
    "ballots.decisions_csv": Rule(get=members()),
    # General meetings: an ordinary meeting convened sixteen days ago for half an hour from now, with one item
    # (electing the secretary). Its agenda is closed (the notice has run); the manager may open it; nobody
    # chairs it yet; it has no minutes.
    "meetings.meeting_list": Rule(get=members()),
    "meetings.convene": Rule(get=manager_only(), post=manager_only(400)),
    "meetings.meeting": Rule(get=members()),
    "meetings.add_item": Rule(get=manager_only(), post=manager_only(400)),
    "meetings.propose_amendment": Rule(get=manager_only(), post=manager_only(400)),
    "meetings.prefill": Rule(post=manager_only(400)),  # too late: members have had the agenda (R14)
    "meetings.cancel": Rule(post=manager_only(400)),  # no reason given
    "meetings.give_proxy": Rule(post=members(400)),  # nobody chosen
    "meetings.withdraw_proxy": Rule(post=members(409)),  # nobody gave one
    "meetings.open_meeting": Rule(post=manager_only(302), acts=True),
    "meetings.record_attendance": Rule(post=members(400)),  # no attendance chosen
    "meetings.close_item": Rule(post=manager_only(409), ids={"ballot_id": "meeting_item"}),  # not in session
    "meetings.close_meeting": Rule(post=manager_only(409)),
    "meetings.minutes": Rule(get=members()),
    "meetings.write_minutes": Rule(post=members(403)),  # only the meeting's secretary, named when it opens
    "meetings.sign_minutes": Rule(post=members(403)),
    # Investments: the approved project, its investment (the plain member mentors it) and a payment the
    # treasurer entered: another officer approves it (R11).
    "investments.investment_list": Rule(get=members()),
    "investments.investment": Rule(get=members()),
    "investments.record": Rule(get=officers(), post=officers(400), ids={"project_id": "approved_project"}),
    "investments.enter_payment": Rule(post=officers(400)),
    "investments.approve": Rule(post=in_club(403, 302, 400, 302), acts=True),
    "investments.cancel": Rule(post=officers(400)),
    # Its revaluation the treasurer entered: another officer approves it, the treasurer may not (R11); a
    # cancellation without its reason is a 400; the entry form is read before the role (as the follow-up's).
    "investments.revalue": Rule(post=members(400)),
    "investments.approve_revaluation": Rule(post=in_club(403, 302, 400, 302), acts=True),
    "investments.cancel_revaluation": Rule(post=officers(400)),
    # The follow-up forms are read before the role (the service refuses the real request): 400 for every member.
    "investments.loan_terms": Rule(post=members(400)),
    "investments.repayment": Rule(post=members(400)),
    "investments.investment_return": Rule(post=members(400)),
    "investments.sale": Rule(post=members(400)),
    "investments.write_off": Rule(post=members(400)),
    "investments.note": Rule(post=members(400)),
    # Time bank: the offer is the plain member's; the exchange was recorded by members[4] as given to the
    # plain member, who must confirm it. Officers see every exchange but are not parties to this one.
    "timebank.overview": Rule(get=members()),
    "timebank.privacy": Rule(post=members(302)),  # an unticked box: shown, as it already is
    "timebank.offers": Rule(get=members()),
    "timebank.publish": Rule(get=members(), post=members(400)),
    "timebank.listing": Rule(get=members()),
    "timebank.edit_listing": Rule(get=in_club(200, 404, 404, 404), post=in_club(400, 404, 404, 404)),
    "timebank.listing_status": Rule(post=members(400)),
    "timebank.answer": Rule(post=in_club(400, 302, 302, 302), acts=True),  # the author cannot answer their own offer (R12)
    "timebank.record": Rule(get=members(), post=members(400)),
    "timebank.exchange": Rule(get=members()),
    "timebank.complete": Rule(post=members(400)),
    "timebank.confirm": Rule(post=in_club(302, 404, 404, 404), acts=True),
    "timebank.dispute": Rule(post=members(400)),
    "timebank.withdraw": Rule(post=in_club(403, 404, 404, 404)),  # the receiver disputes; only the recorder withdraws
    "timebank.settle": Rule(post=members(400)),
    "timebank.statement": Rule(get=members()),
    "timebank.statement_csv": Rule(get=members()),
    "timebank.club_view": Rule(get=officers()),
    "timebank.limits": Rule(get=manager_only(), post=manager_only(400), ids={"membership_id": "member"}),
    # The books: the bank account's statement is the bookkeepers'; a member reaches only their own accounts.
    "books.journal": Rule(get=bookkeepers()),
    "books.journal_csv": Rule(get=bookkeepers()),
    "books.transaction": Rule(get=bookkeepers()),
    "books.account_statement": Rule(get=bookkeepers(refused=404)),
    "books.account_statement_csv": Rule(get=bookkeepers(refused=404)),
    "books.trial_balance": Rule(get=bookkeepers()),
    "books.trial_balance_csv": Rule(get=bookkeepers()),
    "books.balance_sheet": Rule(get=bookkeepers()),
    "books.income": Rule(get=bookkeepers()),
    "books.capital_csv": Rule(get=bookkeepers()),
    "books.charts": Rule(get=bookkeepers()),
    "books.checks": Rule(get=bookkeepers()),
    # The FEC: a download without its year and SIREN is the page again with their errors; a post of no change.
    "books.fec_page": Rule(get=bookkeepers()),
    "books.fec_file": Rule(get=bookkeepers(400)),
    "books.fec_chart": Rule(post=treasurer_only(302)),
    # The year end: closing or reopening without the form's box or reason is the page again with its errors;
    # every member reads their own yearly statement (last year's: provisional, not closed).
    "books.years": Rule(get=bookkeepers()),
    "books.close_year": Rule(post=bookkeepers(400)),
    "books.reopen_year": Rule(post=bookkeepers(400)),
    "books.statements": Rule(get=members()),
    "books.yearly_statement": Rule(get=members()),
    "books.yearly_statement_csv": Rule(get=members()),
    "books.close_period": Rule(post=bookkeepers(400)),
    "books.assert_balance": Rule(post=bookkeepers(400)),
    "books.resolve_assertion": Rule(post=bookkeepers(400)),
    "books.bank": Rule(get=bookkeepers()),
    "books.bank_upload": Rule(get=treasurer_only(), post=treasurer_only(400)),
    "books.bank_columns": Rule(post=bookkeepers(400)),  # no sealed file
    "books.bank_auto_match": Rule(post=bookkeepers(400)),
    "books.bank_line": Rule(get=bookkeepers()),
    "books.bank_match": Rule(post=bookkeepers(400)),
    "books.bank_unmatch": Rule(post=treasurer_only(409)),  # the line is not matched
    "books.bank_fee": Rule(post=treasurer_only(302), acts=True),  # the fee's description has a default: the −1,00 line is posted
    "books.bank_contribution": Rule(post=bookkeepers(400)),
    "books.bank_refund": Rule(post=bookkeepers(400)),  # no contribution chosen
    "books.bank_reconcile": Rule(post=bookkeepers(400)),
    "books.audit": Rule(get=officers()),
    # Shares passing on: members[4] sells to the pending newcomer; the co-owners' month is open. Every member
    # but the seller may buy first; nobody has yet (409); only the seller withdraws it; the month is not over (409).
    "transfers.transfer_list": Rule(get=members()),
    "transfers.transfer": Rule(get=members()),
    "transfers.sell": Rule(get=members(), post=members(400)),
    "transfers.heirs": Rule(get=officers(), post=officers(400)),
    "transfers.claim": Rule(post=members(302), acts=True),
    "transfers.withdraw_claim": Rule(post=members(409)),
    "transfers.withdraw": Rule(post=members(403)),
    "transfers.settle": Rule(post=officers(409)),
    # Partner clubs: the manager proposes, puts to the vote, suspends; members trade.
    "partners.overview": Rule(get=members()),
    "partners.propose": Rule(post=manager_only(400)),
    "partners.put_to_vote": Rule(post=manager_only(400)),
    "partners.suspend": Rule(post=manager_only(302), acts=True),  # a button: the manager stops trading at once
    "partners.resume": Rule(post=manager_only(409)),  # this club has not suspended it
    "partners.partnership": Rule(get=members()),
    "partners.record": Rule(post=members(400)),
    # The member asked to confirm confirms; it is no one else's exchange.
    "partners.confirm": Rule(post=in_club(302, 404, 404, 404), acts=True),
    "partners.decline": Rule(post=members(400)),
    "partners.withdraw": Rule(post=in_club(403, 404, 404, 404)),  # only the member who recorded it withdraws
    # Personal access tokens: every member makes their own; the world's token is the plain member's, which
    # its owner and the manager may revoke (the others do not see it: 404).
    "tokens.token_list": Rule(get=members(), post=members(400)),
    "tokens.revoke": Rule(post=in_club(302, 404, 404, 302), acts=True),
    # The API's document and its page are public; every operation is refused to a browser's cookie.
    "api-docs.openapi_json": Rule(get=public()),
    "api_docs.reference": Rule(get=public()),
    **{f"api.{name}": Rule(get=NO_COOKIE) for name in (
        "club_position", "my_accounts", "time_statement", "savings_statement", "search_listings", "my_exchanges",
        "ballot_list", "ballot", "journal")},
    **{f"api.{name}": Rule(post=NO_COOKIE) for name in (
        "publish_listing", "record_exchange", "confirm_exchange", "dispute_exchange", "vote")},
}

#: Who reaches each API operation with a token of their own (the module's docstring).
API_RULES: dict[str, dict] = {
    "api.club_position": api(200),
    "api.my_accounts": api(200),
    "api.time_statement": api(200),
    "api.savings_statement": api(200),
    "api.search_listings": api(200),
    "api.my_exchanges": api(200),
    "api.ballot_list": api(200),
    "api.ballot": api(200),
    "api.journal": api(403, 403, 200, 200),  # the bookkeepers, as on the pages
    # An empty body is refused by its shape (422) for every member of the club.
    "api.publish_listing": api(422),
    "api.record_exchange": api(422),
    "api.dispute_exchange": api(422),
    "api.vote": api(422),
    # The world's exchange was recorded as given to the plain member: only they confirm it; others are no party.
    "api.confirm_exchange": api(200, 404, 404, 404),
}


# --- The world ------------------------------------------------------------------------------------------------------


@dataclass
class World:
    ids: dict
    browsers: dict  # role -> Browser (None: anonymous, a fresh client)
    api_tokens: dict = field(default_factory=dict)  # role -> the secret of a write token (anonymous: None)


def _bank_line(setup) -> int:
    data = "\n".join(["Date;Libellé;Montant", f"{TODAY.strftime('%d/%m/%Y')};FRAIS;-1,00", ""]).encode()
    statement, _ = reconcile.upload(setup.treasurer.id, setup.club_id, data, reconcile.Columns(0, 1, 2))
    line = db.session.scalar(select(BankLine.id).where(BankLine.statement_id == statement.id))
    db.session.rollback()
    return line


def _partner_club(setup, make_club) -> dict:
    """A partner club both clubs voted for, and an exchange its member recorded with the club's plain member."""
    from tests.services.test_partners import Side

    here, there = Side(setup), Side(make_club(5, name="Cigale Partenaire"))
    row = partners.propose(here.manager.id, here.id, partner_club_id=there.id, limit_minutes=600, form_key=key())
    here.vote(row.id)
    there.vote(there.row().id)
    cross = partners.record_exchange(there.a.id, there.id, there.row().id, partner_member_id=setup.membership_id(
        setup.members[3]), direction="given", minutes=60, done_on=TODAY, description="Jardinage", form_key=key())
    mine = db.session.scalar(select(CrossExchange).where(CrossExchange.club_id == here.id,
                                                         CrossExchange.uuid == cross.uuid))
    ids = {"partnership_id": row.id, "cross_id": mine.id}
    db.session.rollback()
    return ids


def build_world(make_user, make_club, make_browser, monkeypatch) -> World:
    """A club as the ``club`` fixture makes it, with one of everything a URL names."""
    setup = make_club(6, secretary=True)
    c = setup.club_id
    manager, treasurer, secretary, member, other, leaver = setup.members
    mid = setup.membership_id
    partner = _partner_club(setup, make_club)
    fund_club(setup, 300_000)  # 18,000 in the fund
    contribution = db.session.scalar(select(Contribution).where(Contribution.club_id == c).order_by(Contribution.id))
    approved_project = approved(setup)  # proposed by the secretary, voted by all six, approved
    investment = investments.record_investment(treasurer.id, c, approved_project, mentor_id=mid(member),
                                               form_key=key())
    paid = investments.enter_payment(treasurer.id, c, investment.id, amount=50_000, paid_on=TODAY, form_key=key())
    investments.approve_payment(manager.id, c, paid.id)  # 500.00 paid out: the treasurer values it at 600.00
    revaluation = valuation.enter_revaluation(treasurer.id, c, investment.id, new_value=60_000, valued_on=TODAY,
                                              reason="Bilan de l'année", form_key=key())
    payment = investments.enter_payment(treasurer.id, c, investment.id, amount=100_000, paid_on=TODAY,
                                        form_key=key())
    draft = projects.propose(member.id, c, {**PROJECT, "name": "Épicerie"}, form_key=key())
    coordinator = make_user("Coordinatrice")
    region = regions.create_region(f"Cigales du Sud-Est {c}", coordinator.email)  # a world per test: one name each
    joining = ballots.open_ballot(manager.id, c, kind="region", method="yes_no", closes_at=utcnow() + timedelta(days=7),
                                  subject=ballots.Subject(region_id=region.id), form_key=key())
    for person in setup.members:
        ballots.vote(person.id, c, joining.id, choices={joining.options[0].id: tally.YES})
    ballots.close_early(manager.id, c, joining.id)  # the club shares with the association
    clubs.leave(leaver.id, c)  # 3,000 paid in: their share is valued, then refunded
    fund.value_exit(treasurer.id, c, mid(leaver), form_key=key())
    payout = fund.refund(treasurer.id, c, mid(leaver), amount=1_000, idempotency_key=key())  # waits for approval
    ballot = ballots.open_ballot(manager.id, c, kind="dissolution", method="yes_no",
                                 closes_at=utcnow() + timedelta(days=7), subject=ballots.Subject(), form_key=key())
    _, code = clubs.invite(manager.id, c, form_key=key())
    pending = clubs.join(make_user().id, code)
    transfer = transfers.propose_transfer(other.id, c, from_membership_id=mid(other), to_membership_id=pending.id,
                                          reason="assignment", price=200_000, form_key=key())
    invitation, code = clubs.invite(manager.id, c, form_key=key())
    listing = timebank.publish(member.id, c, {"kind": "offer", "title": "Réparer un vélo", "category": "diy",
                                              "description": "", "availability": "", "expires_on": None},
                               form_key=key())
    exchange = timebank.record_exchange(other.id, c, other_id=mid(member), direction="given", minutes=90,
                                        done_on=TODAY, description="Jardinage", form_key=key())
    line = _bank_line(setup)
    moment = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=30)
    then = moment - timedelta(days=16)
    meeting = meetings.convene(manager.id, c, kind="ordinary", scheduled_at=clock.local(moment, "Europe/Paris")
                               .replace(tzinfo=None), place="Salle des fêtes", form_key=key(), now=then)
    meeting_item = meetings.add_item(manager.id, c, meeting.id, kind="election", method="yes_no",
                                     subject=ballots.Subject(role="secretary", candidate_ids=[mid(secretary)]),
                                     form_key=key(), now=then)
    assertion = books.assert_balance(treasurer.id, c, stated_on=TODAY, amount=1_234)
    sent = {}
    monkeypatch.setattr(notify, "password_reset", lambda user_id, token: sent.setdefault("token", token))
    auth.request_reset(make_user().email)
    monkeypatch.setattr(notify, "registration_link", lambda email, language, token: sent.setdefault("registration",
                                                                                                      token))
    auth.request_registration("nouvelle.venue@example.org", "fr")
    token = tokens.create_token(member.id, c, name="Tableur", scope="read", form_key=key()).token
    ids = {
        "club_id": c, "project_id": draft.id, "approved_project": approved_project, "ballot_id": ballot.id,
        "investment_id": investment.id, "payment_id": payment.id, "payout_id": payout.id, "revaluation_id": revaluation.id,
        "contribution_id": contribution.id,
        "transaction_id": contribution.transaction_id, "account_id": ledger.find_account(c, "bank").id,
        "membership_id": mid(member), "member": mid(member), "other": mid(other), "leaver": mid(leaver),
        "pending": pending.id, "invitation_id": invitation.id, "listing_id": listing.id,
        "exchange_id": exchange.id, "line_id": line, "assertion_id": assertion.id, "kind": "funding",
        "transfer_id": transfer.id,
        "token": sent["token"], "registration": sent["registration"], "code": code, "year": TODAY.year - 1,
        "meeting_id": meeting.id, "meeting_item": meeting_item.id, "token_id": token.id, "region_id": region.id,
        **partner,
    }
    db.session.rollback()
    outsider = make_club(1, treasurer=False, activate=False).manager  # a manager, of another club
    people = {"outsider": outsider, "coordinator": coordinator, "member": member, "secretary": secretary,
              "treasurer": treasurer, "manager": manager}
    browsers = {"anonymous": make_browser(), **{role: make_browser(user) for role, user in people.items()}}
    api_tokens = {"anonymous": None, "coordinator": None}  # a coordinator is no member: no token of the club
    for role, user in people.items():
        if role == "coordinator":
            continue
        club_id = c if role != "outsider" else db.session.scalar(
            select(Membership.club_id).where(Membership.user_id == user.id))
        api_tokens[role] = tokens.create_token(user.id, club_id, name=role, scope="write", form_key=key()).secret
        tokens.authenticate(api_tokens[role])  # its first use noted now: the calls that follow write nothing for it
    db.session.rollback()
    return World(ids, browsers, api_tokens)


@pytest.fixture
def world(make_user, make_club, make_browser, monkeypatch):
    return lambda: build_world(make_user, make_club, make_browser, monkeypatch)


def url_for_rule(rule, world: World) -> str:
    spec = RULES[rule.endpoint]
    values = {name: world.ids[spec.ids.get(name, name)] for name in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def outcome(response) -> int | str:
    if response.status_code == 302 and "/account/login" in response.headers["Location"]:
        return LOGIN
    return response.status_code


def token_of(browser) -> str:
    shown = browser.get("/")
    assert shown.status_code == 200
    return hidden_fields(shown.text)["csrf_token"]


def rules_of(app) -> dict:
    return {rule.endpoint: rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"}


# --- Tests ----------------------------------------------------------------------------------------------------------


def test_every_route_has_a_rule_and_every_rule_a_route(app):
    routes = rules_of(app)
    assert len(routes) > 100  # the walk found the app's routes
    assert sorted(set(routes) - set(RULES)) == [], "routes without a rule: decide who may reach them"
    assert sorted(set(RULES) - set(routes)) == [], "rules for routes that no longer exist"
    for endpoint, rule in routes.items():
        methods = rule.methods - {"HEAD", "OPTIONS"}
        spec = RULES[endpoint]
        assert ("GET" in methods) == (spec.get is not None), endpoint
        assert ("POST" in methods) == (spec.post is not None), endpoint
        assert set(spec.get or ROLES) == set(ROLES) and set(spec.post or ROLES) == set(ROLES), endpoint
        assert set(spec.ids.values()) <= {"pending", "other", "leaver", "member", "approved_project",
                                          "registration", "meeting_item"}, endpoint


def test_every_page_answers_each_visitor_as_its_rule_says(app, world):
    shown = world()
    expected, seen = {}, {}
    for endpoint, rule in sorted(rules_of(app).items()):
        if RULES[endpoint].get is None:
            continue
        url = url_for_rule(rule, shown)
        for role in ROLES:
            expected[(endpoint, role)] = RULES[endpoint].get[role]
            seen[(endpoint, role)] = outcome(shown.browsers[role].get(url))
    assert 500 not in seen.values(), [k for k, v in seen.items() if v == 500]
    assert {k: v for k, v in seen.items() if v != expected[k]} == {}


def post_as(world: World, role: str, url: str, tokens: dict) -> tuple[int | str, bool]:
    """POST a valid CSRF token and a form key (every form carries one), nothing else; the outcome, and whether
    anything was written."""
    browser = world.browsers[role]
    if role not in tokens:
        tokens[role] = token_of(browser)
    before = snapshot()
    response = browser.client.post(url, data={"csrf_token": tokens[role], "form_key": key()})
    return outcome(response), snapshot() != before


def test_every_form_that_may_not_act_answers_each_visitor_as_its_rule_says_and_writes_nothing(app, world):
    """One world for every POST route whose rule has nobody acting: each answer as its rule says, and no
    request writes anything (a refusal, a form sent back, or a redirect with nothing to do)."""
    shown = world()
    tokens, seen, wrote = {}, {}, []
    for endpoint, rule in sorted(rules_of(app).items()):
        spec = RULES[endpoint]
        if spec.post is None or spec.acts:
            continue
        url = url_for_rule(rule, shown)
        for role in ROLES:
            seen[(endpoint, role)], written = post_as(shown, role, url, tokens)
            if written:
                wrote.append((endpoint, role))
    assert 500 not in seen.values(), [k for k, v in seen.items() if v == 500]
    assert {k: v for k, v in seen.items() if v != RULES[k[0]].post[k[1]]} == {}
    assert wrote == []


ACTING = sorted(endpoint for endpoint, spec in RULES.items() if spec.acts)


@pytest.mark.parametrize("endpoint", ACTING)
def test_every_form_that_acts_answers_each_visitor_as_its_rule_says(app, world, endpoint):
    """A world of its own, and a fresh one for each role after another role's request wrote something: each
    role's answer is its own. A refusal writes nothing."""
    spec = RULES[endpoint]
    rule = rules_of(app)[endpoint]
    shown, tokens, dirty, seen = world(), {}, False, {}
    for role in ROLES:
        if dirty:
            shown, tokens, dirty = world(), {}, False
        seen[role], dirty = post_as(shown, role, url_for_rule(rule, shown), tokens)
        if seen[role] != 302:
            assert not dirty, f"{endpoint}: {role}'s refused request wrote something"
    assert 500 not in seen.values()
    assert seen == spec.post


def test_every_api_operation_answers_each_token_as_its_rule_says(app, world):
    """Each visitor calls every API operation with their own token: each answer as its rule says, a problem
    document whenever refused, and nothing written but by an answer of success."""
    import uuid

    shown = world()
    routes = {endpoint: rule for endpoint, rule in rules_of(app).items() if endpoint.startswith("api.")}
    assert sorted(routes) == sorted(API_RULES)
    client = app.test_client()
    seen, wrote = {}, []
    for endpoint, rule in sorted(routes.items()):
        url = url_for_rule(rule, shown)
        method = "GET" if "GET" in rule.methods else "POST"
        for role in ROLES:
            headers = {"Idempotency-Key": str(uuid.uuid4())}
            if shown.api_tokens[role]:
                headers["Authorization"] = f"Bearer {shown.api_tokens[role]}"
            before = snapshot()
            response = client.open(url, method=method, headers=headers, json={} if method == "POST" else None)
            seen[(endpoint, role)] = response.status_code
            if response.status_code >= 400:
                assert response.content_type == "application/problem+json", (endpoint, role)
            if method == "POST" and response.status_code >= 300 and snapshot() != before:
                wrote.append((endpoint, role))
    assert 500 not in seen.values(), [k for k, v in seen.items() if v == 500]
    assert {k: v for k, v in seen.items() if v != API_RULES[k[0]][k[1]]} == {}
    assert wrote == []
