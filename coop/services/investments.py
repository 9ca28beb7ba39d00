"""Investments: from an approved project to money paid out (R5, R8, R10, R11).

An officer records the investment of an approved project with one or two
mentors. Payments go out in two steps: one officer enters a payment, a
second, different officer approves it; neither may be recused on the
project (R8, R11). Until approved, a payment is a commitment that lowers
the cash available. The caps (R10) are checked at entry and again at
approval; approval posts to the ledger exactly once."""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import get_locale
from sqlalchemy import func, select

from ..amounts import money
from ..extensions import db
from ..models import (
    OFFICER_ROLES,
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
    Investment,
    InvestmentStatus,
    Membership,
    MemberStatus,
    Outcome,
    Project,
    ProjectStatus,
    TransactionKind,
    Unit,
)
from ..models.base import utcnow
from . import fund, ledger, rules
from .audit import record
from .errors import Conflict, InvalidInput, NotFound, RuleViolation, _l
from .membership import charter_of, membership_for, use_form_key
from .projects import recused_member_ids
from .uow import is_postgresql, unit_of_work
from .validate import one_line

MAX_AMOUNT = 10**10
#: French IR-PME: shares kept five years keep the income-tax reduction.
IR_PME_YEARS = 5


# --- Figures -------------------------------------------------------------------------------


def committed(club_id: int, *, excluding: int | None = None) -> int:
    """Payments entered but not yet approved: money the club has promised."""
    stmt = select(func.coalesce(fund.sum_of(Disbursement.amount), 0)).where(
        Disbursement.club_id == club_id, Disbursement.status == DisbursementStatus.PENDING)
    if excluding is not None:
        stmt = stmt.where(Disbursement.id != excluding)
    return db.session.scalar(stmt)


def _caps(club_id: int, enterprise: str, *, excluding: int | None = None) -> rules.Caps:
    charter = charter_of(club_id)
    cash = ledger.find_account(club_id, "bank").balance
    fund_total = -db.session.scalar(select(func.coalesce(fund.sum_of(Account.balance), 0)).where(
        Account.club_id == club_id, Account.code.like("capital:%"), Account.membership_id.is_not(None)))
    # Names compared in Python: SQL's lower() differs between databases beyond ASCII.
    owned = db.session.scalars(select(Investment.name).where(
        Investment.club_id == club_id, Investment.instrument == "equity", Investment.status == InvestmentStatus.ACTIVE,
        Investment.first_paid_on.is_not(None)))
    holds = any(" ".join(name.split()).casefold() == " ".join(enterprise.split()).casefold() for name in owned)
    return rules.Caps(available_cash=cash - committed(club_id, excluding=excluding), fund=fund_total,
                      project_cap_percent=charter.project_cap_percent,
                      minority_stake_percent=charter.minority_stake_percent, holds_shares=bool(holds))


def _money_text(club_id: int):
    """Cents as the reader writes money, for refusals."""
    code = db.session.get(Club, club_id).currency
    return lambda cents: money(cents, code, str(get_locale() or "fr"))


def check_project(project: Project) -> None:
    """R5 and R10 for a project about to be put to the vote."""
    club = project.proposed_by.club
    if club.status == ClubStatus.IN_MANAGEMENT:
        raise RuleViolation(_l("The club is past its term: it makes no new investments."), rule="R5")
    rules.check_investment(project.amount_requested, project.instrument, project.legal_form,
                           project.stake_hundredths, _caps(project.club_id, project.name),
                           _money_text(project.club_id))


# --- Recording an investment ----------------------------------------------------------------


def _officer(user_id: int, club_id: int) -> Membership:
    return membership_for(user_id, club_id, roles=set(OFFICER_ROLES))


def _mentor(club_id: int, membership_id: object, field: str) -> Membership:
    if isinstance(membership_id, bool) or not isinstance(membership_id, int):
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
        officer = _officer(user_id, club_id)
        if officer.club.status not in (ClubStatus.ACTIVE,):
            raise RuleViolation(_l("Only an active club makes new investments."), rule="R5")
        if isinstance(project_id, bool) or not isinstance(project_id, int):
            raise NotFound(_l("No such project."))
        project = session.scalar(select(Project).where(Project.id == project_id, Project.club_id == club_id)
                                 .with_for_update(of=Project))
        if project is None:
            raise NotFound(_l("No such project."))
        if project.status != ProjectStatus.APPROVED:
            raise Conflict(_l("Only a project members approved can become an investment."))
        if session.scalar(select(Investment.id).where(Investment.project_id == project.id)):
            raise Conflict(_l("This project is already an investment."))
        mentor = _mentor(club_id, mentor_id, "mentor_id")
        second = _mentor(club_id, second_mentor_id, "second_mentor_id") if second_mentor_id is not None else None
        if second is not None and second.id == mentor.id:
            raise InvalidInput(_l("Choose two different mentors, or only one."), field="second_mentor_id")
        use_form_key(user_id, form_key)
        ballot_id = session.scalar(select(Ballot.id).join(BallotOption, BallotOption.ballot_id == Ballot.id).where(
            BallotOption.project_id == project.id, Ballot.kind == BallotKind.FUNDING,
            Ballot.status == BallotStatus.CLOSED, Ballot.outcome == Outcome.ADOPTED)
            .order_by(Ballot.closed_at.desc()).limit(1))
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


def _investment(club_id: int, investment_id: object) -> Investment:
    if isinstance(investment_id, bool) or not isinstance(investment_id, int):
        raise NotFound(_l("No such investment."))
    investment = db.session.scalar(select(Investment).where(Investment.id == investment_id,
                                                            Investment.club_id == club_id))
    if investment is None:
        raise NotFound(_l("No such investment."))
    return investment


# --- Paying out: two officers (R11) -----------------------------------------------------------


def _not_recused(member: Membership, investment: Investment) -> None:
    if member.id in recused_member_ids([investment.project_id]):
        raise RuleViolation(_l("You declared a link to this project: you cannot sign its payments."), rule="R8")


def _paid_and_promised(investment_id: int, *, excluding: int | None = None) -> int:
    stmt = select(func.coalesce(fund.sum_of(Disbursement.amount), 0)).where(
        Disbursement.investment_id == investment_id,
        Disbursement.status.in_((DisbursementStatus.PENDING, DisbursementStatus.APPROVED)))
    if excluding is not None:
        stmt = stmt.where(Disbursement.id != excluding)
    return db.session.scalar(stmt)


def _check_payment(investment: Investment, amount: int, *, excluding: int | None = None) -> None:
    club = investment.project.proposed_by.club
    if club.status != ClubStatus.ACTIVE:
        raise RuleViolation(_l("The club is past its term: it makes no new investments."), rule="R5")
    if investment.status != InvestmentStatus.ACTIVE:
        raise Conflict(_l("This investment is closed."))
    left = investment.amount - _paid_and_promised(investment.id, excluding=excluding)
    if amount > left:
        text = _money_text(investment.club_id)
        raise RuleViolation(_l("Members approved %(approved)s for this project; %(left)s of it remains to pay.",
                               approved=text(investment.amount), left=text(max(left, 0))), rule="R10")
    rules.check_investment(amount, investment.instrument, investment.legal_form, investment.stake_hundredths,
                           _caps(investment.club_id, investment.name, excluding=excluding),
                           _money_text(investment.club_id),
                           project_total=_paid_and_promised(investment.id, excluding=excluding) + amount)


def enter_payment(user_id: int, club_id: int, investment_id: int, *, amount: int, paid_on: date,
                  bank_reference: str = "", form_key: str, today: date | None = None) -> Disbursement:
    """One officer enters a payment to the enterprise: a commitment until a second officer approves it."""
    today = today or date.today()
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise InvalidInput(_l("Enter an amount above zero."), field="amount")
    if not isinstance(paid_on, date) or paid_on > today + timedelta(days=31) or paid_on.year < 2000:
        raise InvalidInput(_l("Give the date of the transfer, at most a month ahead."), field="paid_on")
    reference = one_line(bank_reference, "bank_reference", maximum=80, required=False)
    with unit_of_work() as session:
        officer = _officer(user_id, club_id)
        _lock_club_money(club_id)
        investment = _investment(club_id, investment_id)
        _not_recused(officer, investment)
        _check_payment(investment, amount)
        use_form_key(user_id, form_key)
        payment = Disbursement(club_id=club_id, investment_id=investment.id, amount=amount, paid_on=paid_on,
                               bank_reference=reference, entered_by_id=officer.id)
        session.add(payment)
        session.flush()
        record(user_id, club_id, "disbursement.enter", payment,
               after={"investment": investment.id, "amount": amount, "paid_on": paid_on})
        return payment


def _lock_club_money(club_id: int) -> None:
    """Payments of one club are entered and approved one at a time (SQLite: the write lock is already held)."""
    if is_postgresql():
        db.session.execute(select(Account.id).where(Account.club_id == club_id, Account.code == "bank")
                           .with_for_update())


def _payment(club_id: int, payment_id: object) -> Disbursement:
    if isinstance(payment_id, bool) or not isinstance(payment_id, int):
        raise NotFound(_l("No such payment."))
    stmt = select(Disbursement).where(Disbursement.id == payment_id, Disbursement.club_id == club_id)
    if is_postgresql():
        stmt = stmt.with_for_update(of=Disbursement)
    payment = db.session.scalar(stmt)
    if payment is None:
        raise NotFound(_l("No such payment."))
    return payment


def approve_payment(user_id: int, club_id: int, payment_id: int) -> Disbursement:
    """A second officer approves: the payment posts to the ledger, once (R11)."""
    with unit_of_work():
        officer = _officer(user_id, club_id)
        _lock_club_money(club_id)
        payment = _payment(club_id, payment_id)
        if payment.status == DisbursementStatus.APPROVED:
            raise Conflict(_l("This payment is already approved."))
        if payment.status != DisbursementStatus.PENDING:
            raise Conflict(_l("This payment was cancelled."))
        if payment.entered_by_id == officer.id:
            raise RuleViolation(_l("A second officer approves a payment: not the one who entered it."), rule="R11")
        investment = payment.investment
        _not_recused(officer, investment)
        if payment.entered_by_id in recused_member_ids([investment.project_id]):
            raise RuleViolation(_l("The officer who entered this payment has declared a link to the project: "
                                   "cancel it and have another officer enter it."), rule="R8")
        _check_payment(investment, payment.amount, excluding=payment.id)
        bank = ledger.find_account(club_id, "bank")
        transaction = ledger.post(club_id, unit=Unit.MONEY, kind=TransactionKind.DISBURSEMENT,
                                  lines=[(investment.account_id, payment.amount), (bank.id, -payment.amount)],
                                  idempotency_key=f"disbursement:{payment.id}", occurred_on=payment.paid_on,
                                  memo=f"{investment.name} {payment.bank_reference}".strip()[:200],
                                  author_id=user_id)
        payment.status = DisbursementStatus.APPROVED
        payment.approved_by_id = officer.id
        payment.approved_at = utcnow()
        payment.transaction_id = transaction.id
        if investment.first_paid_on is None or payment.paid_on < investment.first_paid_on:
            investment.first_paid_on = payment.paid_on
        record(user_id, club_id, "disbursement.approve", payment,
               after={"transaction": transaction.id, "amount": payment.amount})
        return payment


def cancel_payment(user_id: int, club_id: int, payment_id: int, reason: str) -> Disbursement:
    """An officer withdraws a payment not yet approved; the commitment goes."""
    reason = one_line(reason, "reason", maximum=300)
    with unit_of_work():
        _officer(user_id, club_id)
        payment = _payment(club_id, payment_id)
        if payment.status != DisbursementStatus.PENDING:
            raise Conflict(_l("Only a payment waiting for approval can be cancelled."))
        payment.status = DisbursementStatus.CANCELLED
        payment.cancelled_at = utcnow()
        payment.cancel_reason = reason
        record(user_id, club_id, "disbursement.cancel", payment, after={"reason": reason})
        return payment


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
            select(Disbursement.investment_id, Disbursement.status, fund.sum_of(Disbursement.amount))
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


def check() -> list:
    """Invariant 9: each investment's account holds exactly its approved payments, each posted once."""
    found = []
    rows = db.session.execute(
        select(Investment.id, Investment.club_id, Account.balance,
               func.coalesce(fund.sum_of(Disbursement.amount), 0))
        .join(Account, Account.id == Investment.account_id)
        .outerjoin(Disbursement, (Disbursement.investment_id == Investment.id)
                   & (Disbursement.status == DisbursementStatus.APPROVED))
        .group_by(Investment.id, Investment.club_id, Account.balance))
    for investment_id, club_id, balance, paid in rows:
        if balance != paid:
            found.append(ledger.Violation(9, club_id, f"investment {investment_id}: account holds {balance} "
                                                      f"but approved payments total {paid}"))
    unposted = db.session.execute(select(Disbursement.id, Disbursement.club_id).where(
        Disbursement.status == DisbursementStatus.APPROVED, Disbursement.transaction_id.is_(None)))
    for payment_id, club_id in unposted:
        found.append(ledger.Violation(9, club_id, f"payment {payment_id} is approved but not posted"))
    return found
