"""Members' shares of the fund at its true value.

A club is an indivision: each member owns a share of what the club holds. Its *net assets* are everything
the books hold (cash, and each investment at the value the club last recorded: cost, repayments,
write-offs, revaluations) less what it owes (leavers' shares not yet paid). The charter chooses how the
net assets are shared (``share_method``):

- **pro rata to contributions** (the usual Cigales rule): each euro paid in counts the same, whenever it
  was paid. A member's *weight* is what they paid in, less what they took out (a withdrawal lowers the
  weight so that the others' shares do not move);
- **valuation units** (the investment-club method): a payment buys units at the unit value of the moment,
  net assets ÷ units; a withdrawal cashes units in at that value. Who paid in before a gain holds more of
  it than who paid in after.

Both registers are read from the ledger alone, replayed in the order transactions were recorded, so they
can never disagree with the books: a contribution buys (its reversal undoes exactly what it bought); a
leaver's share settled (``exit``) or a part taken out (``withdrawal``) sells; a share passed on
(``transfer``) moves; every other transaction only moves the net assets. The values of all members are
shared to the cent by largest remainder, so they add up to the net assets exactly."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from .. import labels
from ..database import sum_of
from ..extensions import db
from ..models import (
    Account,
    AccountType,
    Club,
    Contribution,
    JournalTransaction,
    Membership,
    Posting,
    ShareMethod,
    TransactionKind,
    Unit,
)
from . import access, ledger, rules
from .access import membership_for
from .charter import charter_of

#: A unit is kept in millionths, so that a payment buys units to six decimals.
UNIT_SCALE = 1_000_000
#: The unit value, in cents, of the first units a club issues (and of any issued while net assets are nil).
OPENING_UNIT_VALUE = 1_000


def _scaled_round(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, in whole numbers (denominator > 0)."""
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass
class Holding:
    weight: int = 0  # cents of contributions, net of what was taken out (pro rata)
    units: int = 0  # millionths of a unit


@dataclass(frozen=True)
class Movement:
    """One line of the share register."""

    transaction_id: int
    occurred_on: date
    kind: str  # deposit, undo, withdrawal, exit, transfer_out, transfer_in
    membership_id: int
    amount: int  # cents in (+) or out (−); 0 for a transfer
    net_assets: int  # before the movement
    weight: int  # change of the member's weight
    units: int  # change of the member's units

    @property
    def unit_value(self) -> Decimal | None:
        """Cents per unit this movement bought or sold at; None for a transfer or an undo."""
        if self.units == 0 or self.kind not in ("deposit", "withdrawal", "exit"):
            return None
        return (Decimal(abs(self.amount)) * UNIT_SCALE / abs(self.units)).quantize(Decimal("0.0001"))


@dataclass
class Register:
    """Both registers of one club, replayed: ``apply`` each transaction in the order it was recorded."""

    net_assets: int = 0
    holdings: dict[int, Holding] = field(default_factory=dict)
    movements: list[Movement] = field(default_factory=list)
    #: what each contribution bought, to undo it exactly if it is reversed
    _bought: dict[int, tuple[int, int, int]] = field(default_factory=dict)

    # --- totals and values ---

    @property
    def total_units(self) -> int:
        return sum(h.units for h in self.holdings.values())

    @property
    def total_weight(self) -> int:
        return sum(h.weight for h in self.holdings.values())

    def unit_value(self) -> Decimal:
        """Net assets ÷ units, in cents per unit (the opening value before any unit is issued)."""
        units = self.total_units
        if units <= 0:
            return Decimal(OPENING_UNIT_VALUE)
        return (Decimal(self.net_assets) * UNIT_SCALE / units).quantize(Decimal("0.0001"))

    def values(self, method: str, net_assets: int | None = None) -> dict[int, int]:
        """Each holder's share of the net assets under ``method``, to the cent; they add up to the net assets."""
        total = self.net_assets if net_assets is None else net_assets
        key = "units" if method == ShareMethod.UNITS else "weight"
        return rules.pro_rata(max(total, 0), {m: getattr(h, key) for m, h in self.holdings.items()})

    def value_of(self, membership_id: int, method: str) -> int:
        return self.values(method).get(membership_id, 0)

    # --- what transactions do ---

    def _holding(self, membership_id: int) -> Holding:
        return self.holdings.setdefault(membership_id, Holding())

    def _move(self, txn: int, on: date, kind: str, member: int, amount: int, weight: int, units: int) -> None:
        holding = self._holding(member)
        holding.weight += weight
        holding.units += units
        self.movements.append(Movement(txn, on, kind, member, amount, self.net_assets, weight, units))

    def deposit(self, txn: int, on: date, member: int, amount: int) -> None:
        """A payment in buys units at the unit value before it (the opening value while there is none)."""
        total_units = self.total_units
        if total_units <= 0 or self.net_assets <= 0:
            units = amount * UNIT_SCALE // OPENING_UNIT_VALUE
        else:
            units = amount * total_units // self.net_assets
        self._bought[txn] = (member, amount, units)
        self._move(txn, on, "deposit", member, amount, amount, units)

    def undo(self, txn: int, on: date, reversed_txn: int) -> bool:
        """A reversed contribution gives back exactly what it bought; False if ``reversed_txn`` bought nothing."""
        bought = self._bought.pop(reversed_txn, None)
        if bought is None:
            return False
        member, amount, units = bought
        holding = self._holding(member)
        self._move(txn, on, "undo", member, -amount, -min(amount, holding.weight), -min(units, holding.units))
        return True

    def withdraw(self, txn: int, on: date, member: int, amount: int) -> None:
        """``amount`` of the member's share taken out at the values before it: the weight and the units go down
        in proportion, so that the others' shares do not move. Taking out the whole value takes out all."""
        holding = self._holding(member)
        weight_value = self.values(ShareMethod.PRO_RATA).get(member, 0)
        units_value = self.values(ShareMethod.UNITS).get(member, 0)
        weight = holding.weight if amount >= weight_value or self.net_assets <= 0 else min(
            holding.weight, _scaled_round(amount * self.total_weight, self.net_assets))
        units = holding.units if amount >= units_value or self.net_assets <= 0 else min(
            holding.units, _scaled_round(amount * self.total_units, self.net_assets))
        self._move(txn, on, "withdrawal", member, -amount, -weight, -units)

    def exit(self, txn: int, on: date, member: int, amount: int) -> None:
        """A leaver's whole share settled for ``amount``: their weight and units go."""
        holding = self._holding(member)
        self._move(txn, on, "exit", member, -amount, -holding.weight, -holding.units)

    def transfer(self, txn: int, on: date, giver: int, parts: dict[int, int]) -> None:
        """The giver's whole share passes to others, split as ``parts`` (the capital each received)."""
        holding = self._holding(giver)
        weight, units = holding.weight, holding.units
        self._move(txn, on, "transfer_out", giver, 0, -weight, -units)
        weights = rules.pro_rata(weight, parts)
        unit_parts = rules.pro_rata(units, parts)
        for member in sorted(parts):
            self._move(txn, on, "transfer_in", member, 0, weights[member], unit_parts[member])


# --- Reading the ledger ---------------------------------------------------------------------------------

#: Accounts whose balances make the net assets: what the club holds, less what it owes.
NET_ASSET_TYPES = (AccountType.ASSET, AccountType.LIABILITY)
#: The transactions that move shares (every other one moves only the net assets).
SHARE_KINDS = (TransactionKind.CONTRIBUTION, TransactionKind.EXIT, TransactionKind.WITHDRAWAL,
               TransactionKind.TRANSFER, TransactionKind.REFUND, TransactionKind.DISTRIBUTION)


@dataclass
class _Entry:
    id: int
    kind: str
    on: date
    reverses_id: int | None
    change: int = 0  # net assets moved
    capital: dict[int, int] = field(default_factory=dict)  # member -> posting on their capital
    payable: dict[int, int] = field(default_factory=dict)  # member -> posting on what the club owes them


def _entries(club_id: int) -> Iterable[_Entry]:
    rows = db.session.execute(
        select(JournalTransaction.id, JournalTransaction.kind, JournalTransaction.occurred_on,
               JournalTransaction.reverses_id, Account.type, Account.code, Account.membership_id, Posting.amount)
        .join(Posting, ledger.POSTING_TRANSACTION)
        .join(Account, (Account.id == Posting.account_id) & (Account.club_id == Posting.club_id))
        # From the club's money accounts down: its time postings (most of a busy club's rows) are never read.
        .where(Account.club_id == club_id, Account.unit == Unit.MONEY, Posting.club_id == club_id,
               JournalTransaction.club_id == club_id, JournalTransaction.unit == Unit.MONEY)
        .order_by(JournalTransaction.id, Posting.id)
    )
    entry = None
    for txn_id, kind, on, reverses_id, type_, code, member, amount in rows:
        if entry is None or entry.id != txn_id:
            if entry is not None:
                yield entry
            entry = _Entry(txn_id, kind, on, reverses_id)
        if type_ in NET_ASSET_TYPES:
            entry.change += amount
        if member is not None and code.startswith("capital:"):
            entry.capital[member] = entry.capital.get(member, 0) + amount
        elif member is not None and code.startswith("payable:"):
            entry.payable[member] = entry.payable.get(member, 0) + amount
    if entry is not None:
        yield entry


def _apply(register: Register, entry: _Entry) -> None:
    kind, txn, on = entry.kind, entry.id, entry.on
    if kind == TransactionKind.CONTRIBUTION:
        for member, amount in entry.capital.items():
            if amount < 0:
                register.deposit(txn, on, member, -amount)
    elif kind == TransactionKind.REVERSAL and entry.reverses_id is not None:
        register.undo(txn, on, entry.reverses_id)
    elif kind == TransactionKind.EXIT:
        for member in sorted({*entry.capital, *entry.payable}):
            register.exit(txn, on, member, -entry.payable.get(member, 0))
    elif kind == TransactionKind.WITHDRAWAL:
        for member, amount in entry.payable.items():
            register.withdraw(txn, on, member, -amount)
    elif kind == TransactionKind.TRANSFER:
        givers = [m for m, amount in entry.capital.items() if amount > 0]
        parts = {m: -amount for m, amount in entry.capital.items() if amount < 0}
        for giver in givers:
            register.transfer(txn, on, giver, parts)
    elif kind in (TransactionKind.REFUND, TransactionKind.DISTRIBUTION) and not entry.payable:
        # Before shares were valued, a leaver's refund and a part at dissolution came straight off capital.
        for member, amount in entry.capital.items():
            if amount > 0:
                register.withdraw(txn, on, member, amount)
    register.net_assets += entry.change


def register_of(club_id: int) -> Register:
    """The club's share registers, replayed from its ledger."""
    register = Register()
    for entry in _entries(club_id):
        _apply(register, entry)
    return register


# --- The club's shares, for pages and for the services that pay them -------------------------------------


@dataclass(frozen=True)
class ShareLine:
    membership: Membership
    paid_in: int  # contributions less their reversals
    capital: int  # the member's capital in the books (paid in, results shared into it, less what was paid out)
    weight: int
    units: int
    pro_rata: int  # value, pro rata to contributions
    by_units: int  # value, by valuation units
    owed: int  # a leaver's share once valued, not yet paid

    def value(self, method: str) -> int:
        return self.by_units if method == ShareMethod.UNITS else self.pro_rata


@dataclass(frozen=True)
class Shares:
    currency: str
    method: str  # the charter's
    net_assets: int
    owed: int  # leavers' shares valued, not yet paid: already out of the net assets
    total_units: int
    unit_value: Decimal  # cents per unit
    lines: list[ShareLine]

    def line_of(self, membership_id: int) -> ShareLine | None:
        return next((line for line in self.lines if line.membership.id == membership_id), None)


def _paid_in(club_id: int) -> dict[int, int]:
    reversed_ids = select(JournalTransaction.reverses_id).where(JournalTransaction.club_id == club_id,
                                                                JournalTransaction.reverses_id.is_not(None))
    return dict(db.session.execute(
        select(Contribution.membership_id, sum_of(Contribution.amount))
        .where(Contribution.club_id == club_id, Contribution.transaction_id.not_in(reversed_ids))
        .group_by(Contribution.membership_id)).all())


def club_shares(club_id: int, register: Register | None = None) -> Shares:
    """Every member's share of the net assets both ways, with what the books say of them. No access check:
    for the services; pages go through ``shares_for``."""
    register = register or register_of(club_id)
    club = db.session.get(Club, club_id)
    method = charter_of(club_id).share_method
    accounts = db.session.execute(
        select(Account.membership_id, Account.code, Account.balance).where(
            Account.club_id == club_id, Account.unit == Unit.MONEY, Account.membership_id.is_not(None))).all()
    capital = {m: -b for m, code, b in accounts if code.startswith("capital:")}
    owed = {m: -b for m, code, b in accounts if code.startswith("payable:")}
    paid = _paid_in(club_id)
    pro_rata, by_units = register.values(ShareMethod.PRO_RATA), register.values(ShareMethod.UNITS)
    ids = {*capital, *register.holdings}
    members = {m.id: m for m in db.session.scalars(select(Membership).where(
        Membership.club_id == club_id, Membership.id.in_(ids)))} if ids else {}
    lines = []
    for member_id in ids:
        holding = register.holdings.get(member_id, Holding())
        lines.append(ShareLine(members[member_id], paid.get(member_id, 0), capital.get(member_id, 0), holding.weight,
                               holding.units, pro_rata.get(member_id, 0), by_units.get(member_id, 0),
                               owed.get(member_id, 0)))
    lines.sort(key=lambda line: (-line.value(method), -line.owed, line.membership.user.name, line.membership.id))
    return Shares(club.currency, method, register.net_assets, sum(owed.values()), register.total_units,
                  register.unit_value(), lines)


def shares_for(user_id: int, club_id: int) -> Shares:
    """The club's shares: officers see every member's line, a member the totals and their own line."""
    me = membership_for(user_id, club_id)
    shares = club_shares(club_id)
    if access.is_bookkeeper(me):
        return shares
    return replace(shares, lines=[line for line in shares.lines if line.membership.id == me.id])


def movements_for(user_id: int, club_id: int, membership_id: int | None = None) -> list[Movement]:
    """The share register's lines, newest first: a member's own, or (officers) anyone's or everyone's."""
    me = membership_for(user_id, club_id)
    if membership_id is None and not access.is_bookkeeper(me):
        membership_id = me.id
    if membership_id is not None and membership_id != me.id:
        access.bookkeeper(user_id, club_id)
    moves = register_of(club_id).movements
    if membership_id is not None:
        moves = [m for m in moves if m.membership_id == membership_id]
    return moves[::-1]


# --- Posting a share out: from capital to what the club owes ---------------------------------------------


def reserves_account(club_id: int) -> Account:
    """Equity: the part of leavers' shares that is not their capital in the books (results not yet shared into
    capital, revaluations, and the difference between the share method and the year-end sharing)."""
    found = db.session.scalar(select(Account).where(Account.club_id == club_id, Account.code == "reserves"))
    return found or ledger.open_account(club_id, code="reserves", name="Réserves et résultats partagés à la sortie",
                                        type=AccountType.EQUITY, unit=Unit.MONEY)


def payable_account(club_id: int, member: Membership) -> Account:
    """Liability: what the club owes a member whose share (or part of it) has been valued; never overpaid."""
    code = f"payable:{member.id}"
    found = db.session.scalar(select(Account).where(Account.club_id == club_id, Account.code == code))
    return found or ledger.open_account(club_id, code=code, name=f"Dû à{labels.SUBJECT_MARK}{member.user.name}",
                                        type=AccountType.LIABILITY, unit=Unit.MONEY, membership_id=member.id,
                                        ceiling=0)


def capital_account(club_id: int, membership_id: int) -> Account:
    return db.session.scalar(select(Account).where(Account.club_id == club_id, Account.membership_id == membership_id,
                                                   Account.code == f"capital:{membership_id}"))


def post_out(club_id: int, member: Membership, value: int, *, kind: str, whole: int, key: str, memo: str,
             author_id: int | None, on: date | None = None) -> JournalTransaction:
    """``value`` of the member's share moves out of the equity into what the club owes them (``payable``): their
    capital goes down by the same part of it (all of it for an exit: ``value == whole``), the reserves take
    the difference. ``whole`` is the member's whole share just before."""
    capital = capital_account(club_id, member.id)
    held = -capital.balance
    part = held if value >= whole else _scaled_round(held * value, whole) if whole > 0 else 0
    part = min(part, held)
    lines = [(capital.id, part), (reserves_account(club_id).id, value - part)]
    if value:
        lines.append((payable_account(club_id, member).id, -value))
    return ledger.post(club_id, unit=Unit.MONEY, kind=kind, lines=[(a, x) for a, x in lines if x],
                       idempotency_key=key, memo=memo, author_id=author_id, occurred_on=on)
