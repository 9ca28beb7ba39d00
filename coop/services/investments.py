"""Investments: from an approved project to money paid out (R5, R8, R10, R11).

An officer records the investment of an approved project with one or two
mentors. Payments go out in two steps: one officer enters a payment, a
second, different officer approves it; neither may be recused on the
project (R8, R11). Until approved, a payment is a commitment that lowers
the cash available. The caps (R10) are checked at entry and again at
approval; approval posts to the ledger exactly once.

An investment's account holds its value as last recorded: its cost (what was paid out and has not come back
or been lost) plus what revaluations added (``coop.services.valuation``), which its revaluation reserve
holds against it. Caps, repayments and gains or losses are measured at cost; when part of the investment
leaves the books, the part of the reserve that goes with it leaves too, so that the gain or loss on the
investment over its life is what came back less what was paid, as if it had never been revalued. What leaves
the books is posted through ``coop.services.disposals``, as shares handed over to a leaver are (``fund``)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import get_locale
from sqlalchemy import and_, case, func, select

from .. import clock
from ..amounts import add_months, money
from ..database import sum_of
from ..extensions import db
from ..models import (
    Account,
    AccountType,
    Ballot,
    BallotKind,
    BallotOption,
    BallotStatus,
    Club,
    ClubStatus,
    Disbursement,
    DisbursementStatus,
    EventKind,
    Frequency,
    Investment,
    InvestmentEvent,
    InvestmentNote,
    InvestmentStatus,
    Membership,
    MemberStatus,
    Outcome,
    Payout,
    PayoutKind,
    PayoutStatus,
    Project,
    ProjectStatus,
    Revaluation,
    RevaluationStatus,
    TransactionKind,
    Unit,
)
from . import access, fund, ledger, rules, signoff
from .access import membership_for
from .audit import record
from .charter import charter_of
from .clubs import active_count, use_form_key
from .disposals import (
    RESERVE,
    at_cost,
    close_if_settled,
    leaving,
    post_event,
    sell,
    stake_held,
    value_of,
)
from .disposals import shares_held as shares_held
from .errors import Conflict, InvalidInput, NotPermitted, RuleViolation, _l
from .lookup import in_club
from .projects import recused_member_ids
from .transitions import move
from .uow import is_postgresql, unit_of_work
from .validate import check_day, is_id, one_line, paragraphs

MAX_AMOUNT = 10**10
#: French IR-PME: shares kept five years keep the income-tax reduction.
IR_PME_YEARS = 5


# --- Figures -------------------------------------------------------------------------------


def _caps(club_id: int, enterprise: str, *, excluding: int | None = None) -> rules.Caps:
    charter = charter_of(club_id)
    fund_total = -db.session.scalar(select(func.coalesce(sum_of(Account.balance), 0)).where(
        Account.club_id == club_id, Account.code.like("capital:%"), Account.membership_id.is_not(None)))
    # Names compared in Python: SQL's lower() differs between databases beyond ASCII.
    owned = db.session.scalars(select(Investment.name).where(
        Investment.club_id == club_id, Investment.instrument == "equity", Investment.status == InvestmentStatus.ACTIVE,
        Investment.first_paid_on.is_not(None)))
    holds = any(" ".join(name.split()).casefold() == " ".join(enterprise.split()).casefold() for name in owned)
    return rules.Caps(available_cash=fund.available_cash(club_id, excluding=excluding), fund=fund_total,
                      project_cap_percent=charter.project_cap_percent,
                      minority_stake_percent=charter.minority_stake_percent, holds_shares=bool(holds))


def money_text(club_id: int):
    """Cents as the reader writes money, for refusals."""
    code = db.session.get(Club, club_id).currency
    return lambda cents: money(cents, code, str(get_locale() or "fr"))


def check_project(project: Project) -> None:
    """R5 and R10 for a project about to be put to the vote."""
    club = project.proposed_by.club
    if access.club_status(club) == ClubStatus.IN_MANAGEMENT:
        raise RuleViolation(_l("The club is past its term: it makes no new investments."), rule="R5")
    rules.check_investment(project.amount_requested, project.instrument, project.legal_form,
                           project.stake_hundredths, _caps(project.club_id, project.name),
                           money_text(project.club_id))


# --- Recording an investment ----------------------------------------------------------------


def _mentor(club_id: int, membership_id: object, field: str) -> Membership:
    if not is_id(membership_id):
        raise InvalidInput(_l("Choose a member from the list."), field=field)
    mentor = db.session.scalar(select(Membership).where(
        Membership.id == membership_id, Membership.club_id == club_id, Membership.status == MemberStatus.ACTIVE))
    if mentor is None:
        raise InvalidInput(_l("Choose a member from the list."), field=field)
    return mentor


def record_investment(user_id: int, club_id: int, project_id: int, *, mentor_id: int,
                      second_mentor_id: int | None = None, form_key: str) -> Investment:
    """An officer turns an approved project into an investment followed by one or two mentors."""
    with unit_of_work() as session:
        officer = access.officer(user_id, club_id)
        club = officer.club
        if access.club_status(club) not in (ClubStatus.ACTIVE, ClubStatus.IN_MANAGEMENT):
            raise RuleViolation(_l("Only an active club makes new investments."), rule="R5")
        project = in_club(Project, club_id, project_id, lock=True, missing=_l("No such project."))
        if project.status != ProjectStatus.APPROVED:
            raise Conflict(_l("Only a project members approved can become an investment."))
        if session.scalar(select(Investment.id).where(Investment.club_id == club_id, Investment.project_id == project.id)):
            raise Conflict(_l("This project is already an investment."))
        ballot_id = session.scalar(select(Ballot.id).join(BallotOption, (BallotOption.ballot_id == Ballot.id)
                                                          & (BallotOption.club_id == Ballot.club_id)).where(
            Ballot.club_id == club_id, BallotOption.project_id == project.id, Ballot.kind == BallotKind.FUNDING,
            Ballot.status == BallotStatus.CLOSED, Ballot.outcome == Outcome.ADOPTED)
            .order_by(Ballot.closed_at.desc()).limit(1))
        _decided_in_term(club, ballot_id)
        mentor = _mentor(club_id, mentor_id, "mentor_id")
        second = _mentor(club_id, second_mentor_id, "second_mentor_id") if second_mentor_id is not None else None
        if second is not None and second.id == mentor.id:
            raise InvalidInput(_l("Choose two different mentors, or only one."), field="second_mentor_id")
        use_form_key(user_id, form_key, club_id)
        # One asset account per investment, named after its project (unique per club).
        account = ledger.open_account(club_id, code=f"investment:{project.id}",
                                      name=f"Investissement — {project.name}"[:120], type=AccountType.ASSET,
                                      unit=Unit.MONEY, floor=0)
        investment = Investment(club_id=club_id, project_id=project.id, ballot_id=ballot_id, name=project.name,
                                legal_form=project.legal_form, instrument=project.instrument,
                                amount=project.amount_requested, stake_hundredths=project.stake_hundredths,
                                mentor_id=mentor.id, second_mentor_id=second.id if second else None,
                                created_by_id=user_id, account_id=account.id)
        session.add(investment)
        session.flush()
        record(user_id, club_id, "investment.record", investment, after={
            "project": project.id, "amount": investment.amount, "instrument": investment.instrument,
            "mentor": mentor.id, "second_mentor": investment.second_mentor_id, "ballot": ballot_id})
        return investment


def _decided_in_term(club: Club, ballot_id: int | None) -> None:
    """R5: past its term a club carries out what members decided before it ended (follow-up), nothing newer.
    Decided means the day the funding ballot closed; the term's last day still counts."""
    if access.club_status(club) != ClubStatus.IN_MANAGEMENT:
        return
    closed = (db.session.scalar(select(Ballot.closed_at).where(Ballot.id == ballot_id, Ballot.club_id == club.id))
              if ballot_id else None)
    if closed is None or clock.local_date(closed, club.time_zone) > club.term_ends_on:
        raise RuleViolation(_l("The club is past its term: it makes no new investments."), rule="R5")


def _investment(club_id: int, investment_id: object, *, lock: bool = False) -> Investment:
    return in_club(Investment, club_id, investment_id, lock=lock, missing=_l("No such investment."))


# --- Paying out: two officers (R11) -----------------------------------------------------------


def _not_recused(member: Membership, investment: Investment) -> None:
    if member.id in recused_member_ids(investment.club_id, [investment.project_id]):
        raise RuleViolation(_l("You declared a link to this project: you cannot sign its payments."), rule="R8")


def _paid_and_promised(investment: Investment, *, excluding: int | None = None) -> int:
    stmt = select(func.coalesce(sum_of(Disbursement.amount), 0)).where(
        Disbursement.club_id == investment.club_id, Disbursement.investment_id == investment.id,
        Disbursement.status.in_((DisbursementStatus.PENDING, DisbursementStatus.APPROVED)))
    if excluding is not None:
        stmt = stmt.where(Disbursement.id != excluding)
    return db.session.scalar(stmt)


def _check_payment(investment: Investment, amount: int, *, excluding: int | None = None) -> None:
    club = investment.project.proposed_by.club
    if access.club_status(club) not in (ClubStatus.ACTIVE, ClubStatus.IN_MANAGEMENT):
        raise RuleViolation(_l("The club is past its term: it makes no new investments."), rule="R5")
    _decided_in_term(club, investment.ballot_id)
    if investment.status != InvestmentStatus.ACTIVE:
        raise Conflict(_l("This investment is closed."))
    # Below the charter's minimum of members, nothing is paid out until the club is back to it (R1).
    rules.check_enough_members(active_count(club.id), charter_of(club.id).min_members)
    left = investment.amount - _paid_and_promised(investment, excluding=excluding)
    if amount > left:
        text = money_text(investment.club_id)
        raise RuleViolation(_l("Members approved %(approved)s for this project; %(left)s of it remains to pay.",
                               approved=text(investment.amount), left=text(max(left, 0))), rule="R10")
    rules.check_investment(amount, investment.instrument, investment.legal_form, investment.stake_hundredths,
                           _caps(investment.club_id, investment.name, excluding=excluding),
                           money_text(investment.club_id),
                           project_total=_paid_and_promised(investment, excluding=excluding) + amount)


def enter_payment(user_id: int, club_id: int, investment_id: int, *, amount: int, paid_on: date,
                  bank_reference: str = "", form_key: str, today: date | None = None) -> Disbursement:
    """One officer enters a payment to the enterprise: a commitment until a second officer approves it."""
    today = today or date.today()
    amount = _cents(amount, "amount", allow_zero=False)
    if not isinstance(paid_on, date) or paid_on > today + timedelta(days=31):
        raise InvalidInput(_l("Give the date of the transfer, at most a month ahead."), field="paid_on")
    check_day(paid_on, "paid_on", today=today)
    reference = one_line(bank_reference, "bank_reference", maximum=80, required=False)
    with unit_of_work() as session:
        officer = access.officer(user_id, club_id)
        _lock_club_money(club_id)
        investment = _investment(club_id, investment_id)
        _not_recused(officer, investment)
        _check_payment(investment, amount)
        use_form_key(user_id, form_key, club_id)
        payment = Disbursement(club_id=club_id, investment_id=investment.id, amount=amount, paid_on=paid_on,
                               bank_reference=reference, entered_by_id=officer.id)
        session.add(payment)
        session.flush()
        record(user_id, club_id, "disbursement.enter", payment,
               after={"investment": investment.id, "amount": amount, "paid_on": paid_on})
        return payment


def _lock_club_money(club_id: int) -> None:
    """Payments of one club are entered and approved one at a time (SQLite: the write lock is already held).
    The ledger's chain head comes first, as in every posting, so locks are always taken in one order."""
    ledger.lock_for_posting(club_id)
    if is_postgresql():
        db.session.execute(select(Account.id).where(Account.club_id == club_id, Account.code == "bank")
                           .with_for_update())


def _payment(club_id: int, payment_id: object) -> Disbursement:
    return in_club(Disbursement, club_id, payment_id, lock=True, missing=_l("No such payment."))


def approve_payment(user_id: int, club_id: int, payment_id: int) -> Disbursement:
    """A second officer approves: the payment posts to the ledger, once (R11)."""
    with unit_of_work():
        officer = access.officer(user_id, club_id)
        _lock_club_money(club_id)
        payment = _payment(club_id, payment_id)
        signoff.check_approvable(payment, officer)
        investment = payment.investment
        _not_recused(officer, investment)
        if payment.entered_by_id in recused_member_ids(investment.club_id, [investment.project_id]):
            raise RuleViolation(_l("The officer who entered this payment has declared a link to the project: "
                                   "cancel it and have another officer enter it."), rule="R8")
        _check_payment(investment, payment.amount, excluding=payment.id)
        bank = ledger.find_account(club_id, "bank")
        transaction = ledger.post(club_id, unit=Unit.MONEY, kind=TransactionKind.DISBURSEMENT,
                                  lines=[(investment.account_id, payment.amount), (bank.id, -payment.amount)],
                                  idempotency_key=f"disbursement:{payment.id}", occurred_on=payment.paid_on,
                                  memo=f"{investment.name} {payment.bank_reference}".strip()[:200],
                                  author_id=user_id)
        signoff.mark_approved(payment, officer, transaction.id)
        if investment.first_paid_on is None or payment.paid_on < investment.first_paid_on:
            investment.first_paid_on = payment.paid_on
        record(user_id, club_id, "disbursement.approve", payment,
               after={"transaction": transaction.id, "amount": payment.amount})
        return payment


def cancel_payment(user_id: int, club_id: int, payment_id: int, reason: str) -> Disbursement:
    """An officer withdraws a payment not yet approved; the commitment goes."""
    return signoff.cancel(user_id, club_id, lambda: _payment(club_id, payment_id), reason,
                          action="disbursement.cancel")


# --- Reading --------------------------------------------------------------------------------


def sellable_from(investment: Investment) -> date | None:
    """For shares: from this day a sale keeps the IR-PME income-tax reduction (five years of holding)."""
    if investment.instrument != "equity" or investment.first_paid_on is None:
        return None
    start = investment.first_paid_on
    try:
        return start.replace(year=start.year + IR_PME_YEARS)
    except ValueError:  # 29 February
        return start.replace(year=start.year + IR_PME_YEARS, day=28)


def investments_of(user_id: int, club_id: int) -> list[Investment]:
    membership_for(user_id, club_id)
    return list(db.session.scalars(select(Investment).where(Investment.club_id == club_id)
                                   .order_by(Investment.created_at.desc(), Investment.id.desc())))


def investment_for(user_id: int, club_id: int, investment_id: int) -> Investment:
    membership_for(user_id, club_id)
    return _investment(club_id, investment_id)


def payments_of(user_id: int, club_id: int, investment_id: int) -> list[Disbursement]:
    membership_for(user_id, club_id)
    return list(db.session.scalars(select(Disbursement).where(Disbursement.club_id == club_id,
                                                              Disbursement.investment_id == investment_id)
                                   .order_by(Disbursement.entered_at, Disbursement.id)))


def paid_and_pending(club_id: int, investment_ids: list[int]) -> dict[int, tuple[int, int]]:
    """For each investment: (approved payments, payments waiting for approval)."""
    out = {i: (0, 0) for i in investment_ids}
    if not investment_ids:
        return out
    for investment_id, status, total in db.session.execute(
            select(Disbursement.investment_id, Disbursement.status, sum_of(Disbursement.amount))
            .where(Disbursement.club_id == club_id, Disbursement.investment_id.in_(investment_ids))
            .group_by(Disbursement.investment_id, Disbursement.status)):
        paid, pending = out[investment_id]
        if status == DisbursementStatus.APPROVED:
            paid = total
        elif status == DisbursementStatus.PENDING:
            pending = total
        out[investment_id] = (paid, pending)
    return out


def investment_of_project(club_id: int, project_id: int) -> Investment | None:
    return db.session.scalar(select(Investment).where(Investment.club_id == club_id,
                                                      Investment.project_id == project_id))


# --- Integrity ------------------------------------------------------------------------------


def check(club_only: int | None = None) -> list:
    """Invariant 9 (``club_only``: that club's investments only): each investment's account holds its approved
    payments less what came back or was lost (principal repaid, cost of shares sold, write-offs), plus what
    approved revaluations added and has not left the books with an event; its revaluation reserve holds that
    revaluation against it; every approved payment and revaluation is posted; shares handed over to a leaver
    are an approved payout in kind."""
    found = []
    paid = dict(db.session.execute(
        select(Disbursement.investment_id, sum_of(Disbursement.amount))
        .where(ledger.of_club(Disbursement.club_id, club_only), Disbursement.status == DisbursementStatus.APPROVED)
        .group_by(Disbursement.investment_id)).all())
    back = {investment_id: (int(book or 0), int(revalued or 0)) for investment_id, book, revalued in db.session.execute(
        select(InvestmentEvent.investment_id, sum_of(InvestmentEvent.book), sum_of(InvestmentEvent.revalued))
        .where(ledger.of_club(InvestmentEvent.club_id, club_only)).group_by(InvestmentEvent.investment_id))}
    revalued = dict(db.session.execute(
        select(Revaluation.investment_id, sum_of(Revaluation.new_value - Revaluation.value_before))
        .where(ledger.of_club(Revaluation.club_id, club_only), Revaluation.status == RevaluationStatus.APPROVED)
        .group_by(Revaluation.investment_id)).all())
    reserves = {(club_id, code): balance for club_id, code, balance in db.session.execute(
        select(Account.club_id, Account.code, Account.balance).where(ledger.of_club(Account.club_id, club_only),
                                                                     Account.code.like(f"{RESERVE}%")))}
    for investment_id, club_id, project_id, balance in db.session.execute(
            select(Investment.id, Investment.club_id, Investment.project_id, Account.balance)
            .join(Account, (Account.id == Investment.account_id) & (Account.club_id == Investment.club_id))
            .where(ledger.of_club(Investment.club_id, club_only))):
        book, gone = back.get(investment_id, (0, 0))
        held = int(revalued.get(investment_id) or 0) - gone
        expected = int(paid.get(investment_id) or 0) - book + held
        if balance != expected:
            found.append(ledger.Violation(9, club_id, f"investment {investment_id}: account holds {balance} but "
                                                      f"payments less what came back make {expected}"))
        reserve = reserves.get((club_id, f"{RESERVE}{project_id}"), 0)
        if reserve != -held:
            found.append(ledger.Violation(9, club_id, f"investment {investment_id}: revaluation reserve holds "
                                                      f"{-reserve} but its revaluations less what left make {held}"))
    unposted = db.session.execute(select(Disbursement.id, Disbursement.club_id).where(
        ledger.of_club(Disbursement.club_id, club_only), Disbursement.status == DisbursementStatus.APPROVED,
        Disbursement.transaction_id.is_(None)))
    for payment_id, club_id in unposted:
        found.append(ledger.Violation(9, club_id, f"payment {payment_id} is approved but not posted"))
    unposted = db.session.execute(select(Revaluation.id, Revaluation.club_id).where(
        ledger.of_club(Revaluation.club_id, club_only), Revaluation.status == RevaluationStatus.APPROVED,
        Revaluation.transaction_id.is_(None)))
    for revaluation_id, club_id in unposted:
        found.append(ledger.Violation(9, club_id, f"revaluation {revaluation_id} is approved but not posted"))
    # Shares handed over to a leaver: the event and the approved payout in kind share one transaction, the
    # investment, the stake and the value; neither is without the other.
    matched = and_(Payout.transaction_id == InvestmentEvent.transaction_id, Payout.club_id == InvestmentEvent.club_id,
                   Payout.kind == PayoutKind.IN_KIND,
                   Payout.status == PayoutStatus.APPROVED, Payout.investment_id == InvestmentEvent.investment_id,
                   Payout.stake_hundredths == InvestmentEvent.stake_sold_hundredths,
                   Payout.amount == InvestmentEvent.cash)
    for event_id, club_id in db.session.execute(
            select(InvestmentEvent.id, InvestmentEvent.club_id).outerjoin(Payout, matched)
            .where(ledger.of_club(InvestmentEvent.club_id, club_only), InvestmentEvent.kind == EventKind.HANDOVER,
                   Payout.id.is_(None))):
        found.append(ledger.Violation(9, club_id, f"hand-over {event_id} matches no approved payout in kind"))
    for payout_id, club_id in db.session.execute(
            select(Payout.id, Payout.club_id).outerjoin(InvestmentEvent, matched)
            .where(ledger.of_club(Payout.club_id, club_only), Payout.kind == PayoutKind.IN_KIND,
                   Payout.status == PayoutStatus.APPROVED, InvestmentEvent.id.is_(None))):
        found.append(ledger.Violation(9, club_id, f"payout in kind {payout_id} is approved but no shares left"))
    return found


@dataclass(frozen=True)
class Line:
    """One investment in the portfolio, in cents."""

    investment: Investment
    paid_out: int
    pending: int
    returned: int  # principal repaid and the cost of shares sold (not what was written off)
    income: int  # interest, dividends, gains on sales
    losses: int
    outstanding: int  # the value recorded: the investment's account
    late: bool
    cost: int = 0  # what is outstanding at cost: paid out less what came back or was lost

    @property
    def result(self) -> int:
        """Gain (positive) or loss so far: income less losses."""
        return self.income - self.losses

    @property
    def revalued(self) -> int:
        """What revaluations add to the cost of what is outstanding (negative: take from it)."""
        return self.outstanding - self.cost


@dataclass(frozen=True)
class Portfolio:
    lines: list[Line]
    chart: list[tuple[date, int, int]]  # month, cumulative paid out, cumulative returned (cash)

    def total(self, name: str) -> int:
        return sum(getattr(line, name) for line in self.lines)


def portfolio(user_id: int, club_id: int, *, today: date | None = None) -> Portfolio:
    """Every investment of the club with its figures, which reconcile with the ledger (invariant 9)."""
    membership_for(user_id, club_id)
    today = today or date.today()
    rows = investments_of(user_id, club_id)
    ids = [i.id for i in rows]
    figures = paid_and_pending(club_id, ids)
    sums = {i: (0, 0, 0, 0) for i in ids}
    for investment_id, book, income, loss, all_book in db.session.execute(
            select(InvestmentEvent.investment_id,
                   sum_of(case((InvestmentEvent.kind == EventKind.WRITE_OFF, 0), else_=InvestmentEvent.book)),
                   sum_of(InvestmentEvent.income), sum_of(InvestmentEvent.loss), sum_of(InvestmentEvent.book))
            .where(InvestmentEvent.club_id == club_id).group_by(InvestmentEvent.investment_id)):
        sums[investment_id] = (book or 0, income or 0, loss or 0, all_book or 0)
    balances = dict(db.session.execute(select(Account.id, Account.balance).where(
        Account.club_id == club_id, Account.id.in_([i.account_id for i in rows]))).all()) if rows else {}
    lines = [Line(investment=i, paid_out=figures[i.id][0], pending=figures[i.id][1], returned=sums[i.id][0],
                  income=sums[i.id][1], losses=sums[i.id][2], outstanding=balances.get(i.account_id, 0),
                  late=is_late(i, today), cost=figures[i.id][0] - sums[i.id][3]) for i in rows]
    return Portfolio(lines=lines, chart=_chart(club_id))


def _chart(club_id: int) -> list[tuple[date, int, int]]:
    """Month by month: capital paid out and cash returned, both cumulative."""
    out_by_month: dict[date, int] = {}
    for paid_on, amount in db.session.execute(select(Disbursement.paid_on, Disbursement.amount).where(
            Disbursement.club_id == club_id, Disbursement.status == DisbursementStatus.APPROVED)):
        month = paid_on.replace(day=1)
        out_by_month[month] = out_by_month.get(month, 0) + amount
    back_by_month: dict[date, int] = {}
    for occurred_on, cash in db.session.execute(select(InvestmentEvent.occurred_on, InvestmentEvent.cash).where(
            InvestmentEvent.club_id == club_id)):
        month = occurred_on.replace(day=1)
        back_by_month[month] = back_by_month.get(month, 0) + cash
    months = sorted(set(out_by_month) | set(back_by_month))
    points, paid, back = [], 0, 0
    for month in months:
        paid += out_by_month.get(month, 0)
        back += back_by_month.get(month, 0)
        points.append((month, paid, back))
    return points


# --- Follow-up: loan terms, repayments, returns, sales, write-offs, notes ---------------------------

MONTHS_PER_PERIOD = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3}


def _followed(club_id: int, investment_id: object, *, lock: bool = True) -> Investment:
    investment = _investment(club_id, investment_id, lock=lock)
    if investment.status != InvestmentStatus.ACTIVE:
        raise Conflict(_l("This investment is closed."))
    return investment


def _cents(value: object, field: str, *, allow_zero: bool = True) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > MAX_AMOUNT \
            or (value == 0 and not allow_zero):
        raise InvalidInput(_l("Enter an amount of zero or more.") if allow_zero else _l("Enter an amount above zero."),
                           field=field)
    return value


def _day(value: object, field: str, today: date) -> date:
    if not isinstance(value, date) or value > today:
        raise InvalidInput(_l("Give a date that is not in the future."), field=field)
    return check_day(value, field, today=today)


def set_loan_terms(user_id: int, club_id: int, investment_id: int, *, rate_basis_points: int, term_periods: int,
                   frequency: str, first_due_on: date) -> Investment:
    """The schedule of a loan: equal principal each month or quarter, interest on what is still owed."""
    if isinstance(rate_basis_points, bool) or not isinstance(rate_basis_points, int) \
            or not 0 <= rate_basis_points <= 5000:
        raise InvalidInput(_l("Give a yearly rate from 0 to 50 percent."), field="rate")
    if isinstance(term_periods, bool) or not isinstance(term_periods, int) or not 1 <= term_periods <= 240:
        raise InvalidInput(_l("Give between 1 and 240 instalments."), field="term_periods")
    try:
        frequency = Frequency(frequency)
    except ValueError:
        raise InvalidInput(_l("Choose a value from the list."), field="frequency") from None
    check_day(first_due_on, "first_due_on")
    with unit_of_work():
        access.money_keeper(user_id, club_id)
        investment = _followed(club_id, investment_id)
        if investment.instrument == "equity":
            raise Conflict(_l("Shares have no repayment schedule."))
        before = {"rate": investment.rate_basis_points, "periods": investment.term_periods,
                  "frequency": investment.frequency, "first_due_on": investment.first_due_on}
        investment.rate_basis_points, investment.term_periods = rate_basis_points, term_periods
        investment.frequency, investment.first_due_on = frequency, first_due_on
        record(user_id, club_id, "investment.terms", investment, before=before,
               after={"rate": rate_basis_points, "periods": term_periods, "frequency": frequency,
                      "first_due_on": first_due_on})
        return investment


def schedule(investment: Investment, principal: int | None = None) -> list[tuple[date, int, int]]:
    """(due on, principal, interest) for each instalment of a loan with terms; empty otherwise.

    Equal principal (the last instalment takes the remainder); interest on
    what is still owed for the period, rounded to the nearest cent."""
    if not investment.term_periods or investment.first_due_on is None or investment.frequency is None:
        return []
    owed = investment.amount if principal is None else principal
    n, months = investment.term_periods, MONTHS_PER_PERIOD[Frequency(investment.frequency)]
    share = owed // n
    rows = []
    for k in range(n):
        part = owed - share * (n - 1) if k == n - 1 else share
        outstanding = owed - share * k
        interest = (2 * outstanding * (investment.rate_basis_points or 0) * months + 12 * 10_000) // (2 * 12 * 10_000)
        rows.append((add_months(investment.first_due_on, k * months), part, interest))
    return rows


def _repaid(investment: Investment) -> int:
    return db.session.scalar(select(func.coalesce(sum_of(InvestmentEvent.book), 0)).where(
        InvestmentEvent.club_id == investment.club_id, InvestmentEvent.investment_id == investment.id,
        InvestmentEvent.kind == EventKind.REPAYMENT))


def is_late(investment: Investment, today: date | None = None) -> bool:
    """A loan is late when less principal came back than its schedule asked by today."""
    today = today or date.today()
    if investment.status != InvestmentStatus.ACTIVE:
        return False
    due = sum(principal for due_on, principal, _ in schedule(investment) if due_on < today)  # late the day after
    return due > _repaid(investment)


def record_repayment(user_id: int, club_id: int, investment_id: int, *, principal: int, interest: int,
                     received_on: date, note: str = "", form_key: str, today: date | None = None) -> InvestmentEvent:
    """The enterprise pays back principal (and interest); repaid in full, the loan is closed."""
    today = today or date.today()
    principal, interest = _cents(principal, "principal"), _cents(interest, "interest")
    if principal + interest == 0:
        raise InvalidInput(_l("Enter an amount above zero."), field="principal")
    received_on = _day(received_on, "received_on", today)
    note = one_line(note, "note", maximum=200, required=False)
    with unit_of_work():
        access.money_keeper(user_id, club_id)
        investment = _followed(club_id, investment_id)
        if investment.instrument == "equity":
            raise Conflict(_l("Shares are not repaid: record a dividend or a sale."))
        owed = at_cost(investment)  # principal is owed at cost, whatever the investment was revalued to
        if principal > owed:
            text = money_text(club_id)
            raise InvalidInput(_l("Only %(owed)s is still owed to the club.", owed=text(owed)),
                               field="principal")
        use_form_key(user_id, form_key, club_id)
        revalued = leaving(investment, owed, principal, owed) if principal else 0
        event = post_event(user_id, investment, EventKind.REPAYMENT, received_on, book=principal,
                           income=interest, cash=principal + interest, revalued=revalued, note=note,
                           key=f"event:{form_key}")
        close_if_settled(investment, InvestmentStatus.REPAID, received_on)
        return event


def record_return(user_id: int, club_id: int, investment_id: int, *, amount: int, received_on: date,
                  note: str = "", form_key: str, today: date | None = None) -> InvestmentEvent:
    """Dividends on shares, or interest paid on its own."""
    today = today or date.today()
    amount = _cents(amount, "amount", allow_zero=False)
    received_on = _day(received_on, "received_on", today)
    note = one_line(note, "note", maximum=200, required=False)
    with unit_of_work():
        access.money_keeper(user_id, club_id)
        investment = _followed(club_id, investment_id)
        use_form_key(user_id, form_key, club_id)
        return post_event(user_id, investment, EventKind.RETURN, received_on, income=amount, cash=amount,
                          note=note, key=f"event:{form_key}")


def check_sellable(club_id: int, investment_id: object) -> Investment:
    """Shares the club holds, to put their sale to a unanimous vote (R7)."""
    investment = _investment(club_id, investment_id)
    if investment.instrument != "equity" or investment.status != InvestmentStatus.ACTIVE \
            or investment.first_paid_on is None:
        raise Conflict(_l("Only shares the club holds can be sold."))
    if stake_held(investment) <= 0:
        raise Conflict(_l("The club holds no more shares of this enterprise."))
    if sale_ballot(club_id, investment.id) is not None:
        raise Conflict(_l("Members have already agreed to a sale that is not recorded yet."))
    return investment


def sale_ballot(club_id: int, investment_id: int) -> Ballot | None:
    """The adopted stake-sale ballot on this investment not yet used by a sale."""
    used = select(InvestmentEvent.ballot_id).where(InvestmentEvent.club_id == club_id,
                                                   InvestmentEvent.ballot_id.is_not(None))
    return db.session.scalar(select(Ballot).where(
        Ballot.club_id == club_id, Ballot.investment_id == investment_id, Ballot.kind == BallotKind.STAKE_SALE,
        Ballot.status == BallotStatus.CLOSED, Ballot.outcome == Outcome.ADOPTED, Ballot.effect_error.is_(None),
        Ballot.id.not_in(used)).order_by(Ballot.closed_at).limit(1))


def record_sale(user_id: int, club_id: int, investment_id: int, *, stake_sold_hundredths: int, price: int,
                received_on: date, note: str = "", form_key: str, today: date | None = None) -> InvestmentEvent:
    """Shares sold after a unanimous ballot (R7): the cost of what is sold leaves the books; the
    difference with the price is a gain or a loss. Everything sold, the investment is exited."""
    today = today or date.today()
    price = _cents(price, "price")
    received_on = _day(received_on, "received_on", today)
    note = one_line(note, "note", maximum=200, required=False)
    with unit_of_work():
        access.money_keeper(user_id, club_id)
        investment = _followed(club_id, investment_id)
        if investment.instrument != "equity":
            raise Conflict(_l("Only shares are sold."))
        ballot = sale_ballot(club_id, investment.id)
        if ballot is None:
            raise RuleViolation(_l("Selling a stake needs the unanimous agreement of the members: open a ballot "
                                   "first."), rule="R7")
        held = stake_held(investment)
        if isinstance(stake_sold_hundredths, bool) or not isinstance(stake_sold_hundredths, int) \
                or not 0 < stake_sold_hundredths <= held:
            raise InvalidInput(_l("The club holds %(held)s of the enterprise: sell at most that.",
                                  held=f"{held / 100:g} %"), field="stake")
        use_form_key(user_id, form_key, club_id)
        return sell(user_id, investment, stake=stake_sold_hundredths, price=price, on=received_on, note=note,
                    ballot_id=ballot.id, key=f"event:{form_key}")


def write_off(user_id: int, club_id: int, investment_id: int, *, reason: str, on: date, form_key: str,
              today: date | None = None) -> InvestmentEvent:
    """What the enterprise still owes, or the shares' cost, is lost (bankruptcy, closure)."""
    today = today or date.today()
    reason = one_line(reason, "reason", maximum=300)
    on = _day(on, "on", today)
    with unit_of_work():
        access.money_keeper(user_id, club_id)
        investment = _followed(club_id, investment_id)
        if db.session.scalar(select(func.count()).select_from(Disbursement).where(
                Disbursement.club_id == club_id, Disbursement.investment_id == investment.id,
                Disbursement.status == DisbursementStatus.PENDING)):
            raise Conflict(_l("Cancel the payments waiting for approval first."))
        cost = at_cost(investment)
        if cost == 0:
            raise Conflict(_l("Nothing paid out is left on this investment: there is nothing to write off."))
        use_form_key(user_id, form_key, club_id)
        event = post_event(user_id, investment, EventKind.WRITE_OFF, on, book=cost, loss=cost,
                           revalued=value_of(investment) - cost, note=reason, key=f"event:{form_key}")
        move(investment, InvestmentStatus.WRITTEN_OFF)
        investment.ended_on, investment.end_reason = on, reason
        return event


def add_note(user_id: int, club_id: int, investment_id: int, *, text: str, written_on: date,
             today: date | None = None) -> InvestmentNote:
    """A mentor's news of the enterprise, dated."""
    today = today or date.today()
    text = paragraphs(text, "text", maximum=4000)
    written_on = _day(written_on, "written_on", today)
    with unit_of_work() as session:
        member = membership_for(user_id, club_id)
        investment = _investment(club_id, investment_id)
        if member.id not in (investment.mentor_id, investment.second_mentor_id):
            raise NotPermitted(_l("Only the investment's mentors write its notes."))
        note = InvestmentNote(club_id=club_id, investment_id=investment.id, author_id=member.id,
                              written_on=written_on, text=text)
        session.add(note)
        session.flush()
        record(user_id, club_id, "investment.note", note, after={"investment": investment.id})
        return note


def events_of(user_id: int, club_id: int, investment_id: int) -> list[InvestmentEvent]:
    membership_for(user_id, club_id)
    return list(db.session.scalars(select(InvestmentEvent).where(
        InvestmentEvent.club_id == club_id, InvestmentEvent.investment_id == investment_id)
        .order_by(InvestmentEvent.occurred_on, InvestmentEvent.id)))


def notes_of(user_id: int, club_id: int, investment_id: int) -> list[InvestmentNote]:
    membership_for(user_id, club_id)
    return list(db.session.scalars(select(InvestmentNote).where(
        InvestmentNote.club_id == club_id, InvestmentNote.investment_id == investment_id)
        .order_by(InvestmentNote.written_on.desc(), InvestmentNote.id.desc())))
