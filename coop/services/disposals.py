"""An investment leaving the books, in part or in whole: principal repaid, shares sold or handed over to a
leaver, what is written off. One ledger transaction and one ``investment_event`` row each.

An investment's account holds its value as last recorded: its cost (what was paid out and has not come back
or been lost) plus what revaluations added (``coop.services.valuation``), which its revaluation reserve
holds against it. What leaves is measured at cost; the part of the reserve that goes with it leaves too, so
that the gain or loss on the investment over its life is what came back less what was paid, as if it had
never been revalued.

The use cases are ``investments`` (repayments, returns, sales, write-offs) and ``fund`` (shares handed over to
a leaver in payment of their share, R13); both post through here, so a hand-over is recorded exactly as a
sale at the value handed over would be."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from ..database import sum_of
from ..extensions import db
from ..models import (
    Account,
    AccountType,
    Disbursement,
    DisbursementStatus,
    EventKind,
    Investment,
    InvestmentEvent,
    InvestmentStatus,
    TransactionKind,
    Unit,
)
from . import ledger
from .audit import record
from .transitions import move

#: An investment's revaluation reserve (equity) is coded like its own account (``investment:<project>``).
RESERVE = "revaluation:"
#: The events that take shares out of the club's hands, and the stake with them.
STAKE_LEAVES = (EventKind.SALE, EventKind.HANDOVER)


def reserve_code(investment: Investment) -> str:
    return f"{RESERVE}{investment.project_id}"


def value_of(investment: Investment) -> int:
    """The value recorded: what the investment's account holds, read from the database."""
    return db.session.scalar(select(Account.balance).where(Account.club_id == investment.club_id,
                                                           Account.id == investment.account_id))


def at_cost(investment: Investment) -> int:
    """What is outstanding at cost: approved payments less what came back or was lost (principal repaid, the
    cost of shares sold or handed over, write-offs), whatever the revaluations."""
    paid = db.session.scalar(select(func.coalesce(sum_of(Disbursement.amount), 0)).where(
        Disbursement.club_id == investment.club_id, Disbursement.investment_id == investment.id,
        Disbursement.status == DisbursementStatus.APPROVED))
    back = db.session.scalar(select(func.coalesce(sum_of(InvestmentEvent.book), 0)).where(
        InvestmentEvent.club_id == investment.club_id, InvestmentEvent.investment_id == investment.id))
    return int(paid) - int(back)


def stake_held(investment: Investment) -> int:
    """The stake the club still holds, in hundredths of a percent: bought, less what was sold or handed over."""
    gone = db.session.scalar(select(func.coalesce(func.sum(InvestmentEvent.stake_sold_hundredths), 0)).where(
        InvestmentEvent.club_id == investment.club_id, InvestmentEvent.investment_id == investment.id,
        InvestmentEvent.kind.in_(STAKE_LEAVES)))
    return (investment.stake_hundredths or 0) - int(gone)


def shares_held(club_id: int) -> list[Investment]:
    """Active equity investments, paid at least once, of which the club still holds a stake."""
    rows = db.session.scalars(select(Investment).where(
        Investment.club_id == club_id, Investment.instrument == "equity", Investment.status == InvestmentStatus.ACTIVE,
        Investment.first_paid_on.is_not(None)).order_by(Investment.name))
    return [i for i in rows if stake_held(i) > 0]


def leaving(investment: Investment, cost: int, part: int, whole: int) -> int:
    """What revaluations added to the ``part`` of ``whole`` leaving the books (the stake sold of the stake
    held, the principal repaid of the principal owed): the value recorded leaves pro rata, the cost too, and
    this is the difference. All of it leaves with the last part, so the reserve reaches zero with the
    account; a part never takes more than the account holds."""
    value = value_of(investment)
    if part == whole:
        return value - cost
    return value * part // whole - cost * part // whole


def stake_value(investment: Investment, stake: int, held: int) -> int:
    """What ``stake`` of the ``held`` stake is worth at the value recorded, to the cent below; all of it with
    the whole stake. The cost and the reserve then leave with it as ``leaving`` says: together, this."""
    value = value_of(investment)
    return value if stake == held else value * stake // held


def club_account(club_id: int, code: str, name: str, type_: AccountType) -> Account:
    found = db.session.scalar(select(Account).where(Account.club_id == club_id, Account.code == code))
    return found or ledger.open_account(club_id, code=code, name=name, type=type_, unit=Unit.MONEY)


#: The ledger's kind of each event's transaction.
TRANSACTION_KINDS = {EventKind.REPAYMENT: TransactionKind.REPAYMENT, EventKind.RETURN: TransactionKind.RETURN,
                     EventKind.SALE: TransactionKind.REPAYMENT, EventKind.WRITE_OFF: TransactionKind.ADJUSTMENT,
                     EventKind.HANDOVER: TransactionKind.HANDOVER}


def post_event(user_id: int, investment: Investment, kind: EventKind, occurred_on: date, *, book: int = 0,
               income: int = 0, loss: int = 0, cash: int = 0, revalued: int = 0, note: str = "",
               ballot_id: int | None = None, stake_sold: int | None = None, key: str,
               received_in: Account | None = None, memo: str | None = None) -> InvestmentEvent:
    """One ledger transaction: the bank (or ``received_in``: what the club owes a leaver, settled by shares
    handed over instead of cash) and the investment's account, and the club's result accounts. What
    revaluations added to the part leaving the books (``revalued``) leaves the investment's account with it,
    and the revaluation reserve with it: book, income and loss are at cost, so the result takes the
    revaluation once it is realised. The transaction's memo is the enterprise and the note, unless given."""
    club_id = investment.club_id
    lines = []
    if cash:
        lines.append(((received_in or ledger.find_account(club_id, "bank")).id, cash))
    if book + revalued:
        lines.append((investment.account_id, -(book + revalued)))
    if revalued:
        lines.append((ledger.find_account(club_id, reserve_code(investment)).id, revalued))
    if income:
        code, name = (("income:gains", "Plus-values de cession") if kind in STAKE_LEAVES
                      else ("income:returns", "Intérêts et dividendes"))
        lines.append((club_account(club_id, code, name, AccountType.INCOME).id, -income))
    if loss:
        lines.append((club_account(club_id, "expense:losses", "Pertes sur investissements",
                                   AccountType.EXPENSE).id, loss))
    transaction = ledger.post(club_id, unit=Unit.MONEY, kind=TRANSACTION_KINDS[kind], lines=lines,
                              idempotency_key=key, occurred_on=occurred_on,
                              memo=(memo or f"{investment.name} {note}".strip())[:200], author_id=user_id)
    event = InvestmentEvent(club_id=club_id, investment_id=investment.id, kind=kind, occurred_on=occurred_on,
                            book=book, income=income, loss=loss, cash=cash, revalued=revalued, note=note,
                            ballot_id=ballot_id, stake_sold_hundredths=stake_sold, transaction_id=transaction.id,
                            recorded_by_id=user_id)
    db.session.add(event)
    db.session.flush()
    record(user_id, club_id, f"investment.{kind}", event, after={
        "investment": investment.id, "book": book, "income": income, "loss": loss, "cash": cash,
        "revalued": revalued})
    return event


def sell(user_id: int, investment: Investment, *, stake: int, price: int, on: date, key: str, note: str = "",
         ballot_id: int | None = None, received_in: Account | None = None, memo: str | None = None) -> InvestmentEvent:
    """``stake`` of the shares leaves the books for ``price``: its cost, pro rata to the stake held (all of it
    with the last), and the part of the revaluation reserve that goes with it; the price against the cost is
    a gain or a loss. The price reaches the bank (a sale), or settles what the club owes a leaver
    (``received_in``, their ``payable``: a hand-over). Everything gone, the investment is exited. The caller
    has checked 0 < stake <= the stake held."""
    held = stake_held(investment)
    cost = at_cost(investment)
    book = cost if stake == held else cost * stake // held
    gain, loss = max(price - book, 0), max(book - price, 0)  # against the cost, as if never revalued
    kind = EventKind.SALE if received_in is None else EventKind.HANDOVER
    event = post_event(user_id, investment, kind, on, book=book, income=gain, loss=loss, cash=price,
                       revalued=leaving(investment, cost, stake, held), note=note, ballot_id=ballot_id,
                       stake_sold=stake, key=key, received_in=received_in, memo=memo)
    if stake == held:
        close_if_settled(investment, InvestmentStatus.EXITED, on)
    return event


def close_if_settled(investment: Investment, status: InvestmentStatus, on: date, reason: str = "") -> None:
    pending = db.session.scalar(select(func.count()).select_from(Disbursement).where(
        Disbursement.club_id == investment.club_id, Disbursement.investment_id == investment.id,
        Disbursement.status == DisbursementStatus.PENDING))
    if at_cost(investment) == 0 and not pending:
        move(investment, status)
        investment.ended_on = on
        investment.end_reason = reason or None
