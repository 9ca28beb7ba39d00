"""The ledger core: open accounts, post balanced transactions, reverse them,
read balances and check every invariant.

``post`` is the only way rows reach ``journal_transaction`` and
``posting``. It is a primitive: domain services (contributions, exchanges,
disbursements) decide who may post what, then call it inside their own
unit of work. They use the names without a leading underscore only: the
speed work (statement caches, PostgreSQL's one-statement posting, the chain
head and accounts kept locked for the unit of work) stays in here.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache

from flask import current_app
from sqlalchemy import and_, bindparam, func, insert, select, text, true, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value

from .. import chain
from ..extensions import db
from ..models import Account, AccountType, JournalTransaction, LedgerHead, PeriodClose, Posting, TransactionKind, Unit
from ..models.base import utcnow
from . import rules
from .audit import record
from .errors import Conflict, InvalidInput, NotFound, RuleViolation, _l
from .lookup import in_club
from .rows import attach_written, held
from .uow import is_postgresql, unit_of_work
from .validate import is_id

_KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
_MAX_LINES = 200
#: far above any real club's amounts, far below the 64-bit limit
MAX_AMOUNT = 10**13


@dataclass(frozen=True)
class Line:
    account_id: int
    amount: int


def open_account(
    club_id: int,
    *,
    code: str,
    name: str,
    type: AccountType,
    unit: Unit,
    membership_id: int | None = None,
    floor: int | None = None,
    ceiling: int | None = None,
) -> Account:
    with unit_of_work() as session:
        if session.scalar(select(Account.id).where(Account.club_id == club_id, Account.code == code)):
            raise Conflict(_l("An account with this code already exists."), field="code")
        rules.check_new_limits(0, floor, ceiling)
        account = Account(
            club_id=club_id,
            code=code,
            name=name,
            type=AccountType(type),
            unit=Unit(unit),
            membership_id=membership_id,
            balance=0,
            floor=floor,
            ceiling=ceiling,
        )
        session.add(account)
        session.flush()
        return account


def lock_for_posting(club_id: int) -> LedgerHead:
    """Take the club's chain head (made on first use), locked until the unit of work ends.

    Every posting takes it before any account lock, so the club's
    transactions join the hash chain one at a time and two postings never
    wait on each other's account locks in opposite orders. A use case that
    locks accounts itself before posting calls this first."""
    from sqlalchemy.dialects import postgresql, sqlite

    locked = held()
    heads = locked.setdefault("heads", {}) if locked is not None else {}
    if club_id in heads:  # already locked by this unit of work: its in-memory state is the truth
        return heads[club_id]
    pg = is_postgresql()
    head = db.session.scalar(_head_stmt(pg), {"club": club_id})
    if head is None:
        dialect = postgresql if pg else sqlite
        db.session.execute(dialect.insert(LedgerHead).values(club_id=club_id, seq=0, hash=chain.GENESIS)
                           .on_conflict_do_nothing(index_elements=["club_id"]))
        head = db.session.scalar(_head_stmt(pg), {"club": club_id})
    heads[club_id] = head
    return head


@cache
def _head_stmt(pg: bool):
    # Built once (per database kind): every posting starts with it.
    stmt = select(LedgerHead).where(LedgerHead.club_id == bindparam("club")).execution_options(populate_existing=True)
    return stmt.with_for_update() if pg else stmt


@cache
def _accounts_stmt(by: str, pg: bool):
    """A club's accounts by code or by id (``keys``), read fresh, in id order, locked on PostgreSQL."""
    stmt = (select(Account).where(Account.club_id == bindparam("club"),
                                  getattr(Account, by).in_(bindparam("keys", expanding=True)))
            .order_by(Account.id).execution_options(populate_existing=True))
    return stmt.with_for_update() if pg else stmt


def _closed_message(through: date):
    return _l("The books are closed through %(day)s: date this entry after it (corrections go into the open "
              "period).", day=through.isoformat())


#: Postings joined to their transaction within the club. With the club's filter on the postings, the database
#: reaches the club's transactions through their club-led index instead of reading every club's.
POSTING_TRANSACTION = and_(JournalTransaction.id == Posting.transaction_id, JournalTransaction.club_id == Posting.club_id)


#: Transactions per statement of ``with_postings`` (the ORM's own "select IN" batch).
_POSTINGS_BATCH = 500


def with_postings(club_id: int, transactions: Sequence[JournalTransaction]) -> None:
    """Load the postings of many transactions of one club in id order, as ``JournalTransaction.postings``'s
    "select IN" load would, but as ``club_id = ? AND transaction_id IN (…)``. That load asks for
    ``(transaction_id, club_id) IN (VALUES (?, ?), …)``, which SQLite (3.40) answers by reading every club's
    postings when the list has more than one row; this reaches them through ``ix_posting_transaction``, and
    Citus sends it to the club's node. Read the transactions with ``lazyload(JournalTransaction.postings)``."""
    by_transaction: dict[int, list[Posting]] = {t.id: [] for t in transactions}
    ids = list(by_transaction)
    for first in range(0, len(ids), _POSTINGS_BATCH):
        for posting in db.session.scalars(select(Posting).where(
                Posting.club_id == club_id, Posting.transaction_id.in_(ids[first:first + _POSTINGS_BATCH]))
                .order_by(Posting.id)):
            by_transaction[posting.transaction_id].append(posting)
    for txn in transactions:
        set_committed_value(txn, "postings", by_transaction[txn.id])


def of_club(column, club_id: int | None):
    """The rows of ``club_id`` (None: of every club): how a check over every club is made one club's, a year's
    close checking that club's books only — one node's rows on Citus (docs/scaling.md)."""
    return true() if club_id is None else column == club_id


def _check_open(head: LedgerHead, occurred_on: date) -> None:
    if head.closed_through is not None and occurred_on <= head.closed_through:
        raise RuleViolation(_closed_message(head.closed_through), rule="period", field="occurred_on")


def chain_key() -> bytes:
    """The chain's HMAC key, kept outside the database (``CHAIN_KEY``: the environment, or instance/chain_key)."""
    return current_app.config["CHAIN_KEY"].encode("utf-8")


def _seal(head: LedgerHead, txn: JournalTransaction, lines: Sequence[Line]) -> None:
    """Give the new transaction its place in the club's chain, after the head, sealed under the key."""
    txn.seq = head.seq + 1
    txn.hash = chain.seal(head.hash, club_id=txn.club_id, seq=txn.seq, unit=str(txn.unit), kind=str(txn.kind),
                          occurred_on=txn.occurred_on, memo=txn.memo, author_id=txn.author_id,
                          idempotency_key=txn.idempotency_key, reverses_id=txn.reverses_id,
                          postings=[(l.account_id, l.amount) for l in lines], key=chain_key())


def _chain(head: LedgerHead, txn: JournalTransaction, lines: Sequence[Line]) -> None:
    """Give the new transaction its place in the club's chain and move the head."""
    _seal(head, txn, lines)
    head.seq, head.hash = txn.seq, txn.hash


def lock_codes(club_id: int, codes: Sequence[str]) -> dict[str, Account]:
    """The club's accounts with these codes, locked for posting (chain head first) and kept for the unit of
    work's postings; NotFound when one is missing."""
    lock_for_posting(club_id)
    found = {a.code: a for a in db.session.scalars(_accounts_stmt("code", is_postgresql()),
                                                   {"club": club_id, "keys": sorted(set(codes))})}
    if len(found) != len(set(codes)):
        raise NotFound(_l("No such account."))
    _remember_locked(found.values())
    return found


def _remember_locked(accounts) -> None:
    """Accounts a use case has just locked itself (and read fresh): postings in this unit of work reuse them."""
    locked = held()
    if locked is not None:
        cache = locked.setdefault("accounts", {})
        for account in accounts:
            cache[account.id] = account


def _lock_accounts(club_id: int, ids: Sequence[int]) -> dict[int, Account]:
    """Lock the accounts a transaction touches, in id order (no deadlocks),
    and read their balances as committed. On SQLite the unit of work already
    holds the write lock (BEGIN IMMEDIATE)."""
    wanted = set(ids)
    locked = held()
    cache = locked.setdefault("accounts", {}) if locked is not None else {}
    accounts = {i: cache[i] for i in wanted if i in cache and cache[i].club_id == club_id}
    missing = sorted(wanted - accounts.keys())
    if missing:
        for account in db.session.scalars(_accounts_stmt("id", is_postgresql()), {"club": club_id, "keys": missing}):
            accounts[account.id] = cache[account.id] = account
    if len(accounts) != len(wanted):
        raise NotFound(_l("One of the accounts does not exist in this club."))
    return accounts


def _normalise(lines: Sequence[Line | tuple[int, int]]) -> list[Line]:
    if not isinstance(lines, Sequence) or len(lines) > _MAX_LINES:
        raise InvalidInput(_l("A transaction has between 2 and %(max)d postings.", max=_MAX_LINES))
    result = []
    for line in lines:
        account_id, amount = (line.account_id, line.amount) if isinstance(line, Line) else line
        if not is_id(account_id):
            raise InvalidInput(_l("Unknown account."))
        if isinstance(amount, int) and not isinstance(amount, bool) and abs(amount) > MAX_AMOUNT:
            raise InvalidInput(_l("This amount is too large."))
        result.append(Line(account_id, amount))
    rules.check_balanced(line.amount for line in result)
    return result


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not _KEY_PATTERN.match(key):
        raise InvalidInput(_l("This form has expired; please reload the page and try again."))


#: a one-time key as the ledger takes it, for a use case that keeps the key on its own row first (a payout)
check_key = _check_key


def _same_content(txn: JournalTransaction, unit: str, kind: str, lines: list[Line]) -> bool:
    existing = sorted((p.account_id, p.amount) for p in txn.postings)
    return txn.unit == unit and txn.kind == kind and existing == sorted((l.account_id, l.amount) for l in lines)


def post(
    club_id: int,
    *,
    unit: Unit,
    kind: TransactionKind,
    lines: Sequence[Line | tuple[int, int]],
    idempotency_key: str,
    occurred_on: date | None = None,
    memo: str = "",
    author_id: int | None = None,
    reverses_id: int | None = None,
) -> JournalTransaction:
    """Record one balanced transaction and move the cached balances.

    A replay of the same idempotency key with the same content returns the
    first transaction and writes nothing; with other content it is refused."""
    unit = Unit(unit)
    kind = TransactionKind(kind)
    norm = _normalise(lines)
    _check_key(idempotency_key)
    if len(memo) > 500:
        raise InvalidInput(_l("The description is too long (500 characters at most)."), field="memo")

    with unit_of_work() as session:
        head = lock_for_posting(club_id)
        accounts = _lock_accounts(club_id, [l.account_id for l in norm])
        session.flush()  # what the use case added before posting reaches the database before the rows below
        # Several lines may touch one account: each account's net change is what moves and what is checked.
        net: dict[int, int] = {}
        for line in norm:
            net[line.account_id] = net.get(line.account_id, 0) + line.amount
        occurred_on = occurred_on or date.today()
        try:
            for account in accounts.values():
                if account.unit != unit:
                    raise InvalidInput(_l("Time credits and money never mix in one transaction."), field="unit")
            for account_id, amount in net.items():
                if amount:
                    a = accounts[account_id]
                    rules.check_limits(a.code, a.balance, amount, a.floor, a.ceiling)
            _check_open(head, occurred_on)
        except (InvalidInput, RuleViolation):
            # A form sent again after its entry moved a balance to its limit (or the books were closed) finds
            # its entry rather than a refusal.
            replayed = _replayed(club_id, idempotency_key, unit, kind, norm)
            if replayed is not None:
                return replayed
            raise
        txn = JournalTransaction(club_id=club_id, unit=unit, kind=kind, memo=memo, occurred_on=occurred_on,
                                 author_id=author_id, idempotency_key=idempotency_key, reverses_id=reverses_id,
                                 created_at=utcnow())
        _seal(head, txn, norm)
        written = _write(session, head, txn, norm, {i: accounts[i] for i, amount in net.items() if amount}, net)
        if written is None:  # the key was taken: the same entry again (the chain head, locked, did not move)
            return _replayed(club_id, idempotency_key, unit, kind, norm)
        return written


def _replayed(club_id: int, key: str, unit: str, kind: str, lines: list[Line]) -> JournalTransaction | None:
    """The transaction already posted under this key, if any: returned when it is the same entry, refused
    (Conflict) when the key was used for another."""
    existing = db.session.scalar(select(JournalTransaction).where(JournalTransaction.club_id == club_id,
                                                                  JournalTransaction.idempotency_key == key))
    if existing is None or _same_content(existing, unit, kind, lines):
        return existing
    raise Conflict(_l("This form was already used for another entry."))


def _write(session, head: LedgerHead, txn: JournalTransaction, lines: list[Line], moved: dict[int, Account],
           net: dict[int, int]) -> JournalTransaction | None:
    """The rows of one checked, sealed transaction, written by prepared statements on the unit of work's
    connection (the hot path of every recording: the ORM's flush would cost as much again as the writes).
    On PostgreSQL they travel as one statement. None, and nothing written, if the key is already taken
    (the unique key decides, under the chain head's lock).

    The locked head and accounts held in the session are moved to their new committed values; the
    transaction comes back as a persistent object whose postings load on first use."""
    conn = session.connection()
    values = {c: getattr(txn, c) for c in _TXN_COLUMNS}
    balances = {i: a.balance + net[i] for i, a in moved.items()}
    if conn.dialect.name == "postgresql":
        params = {**values, **{f"a{n}": l.account_id for n, l in enumerate(lines)},
                  **{f"x{n}": l.amount for n, l in enumerate(lines)},
                  **{f"m{n}": i for n, i in enumerate(balances)}, **{f"b{n}": b for n, b in enumerate(balances.values())}}
        txn.id = conn.execute(_one_statement(len(lines), len(balances)), params).scalar()
        if txn.id is None:
            return None
    else:
        txn.id = conn.execute(_INSERT_TXN, values).scalar()
        if txn.id is None:
            return None
        conn.execute(_INSERT_POSTING, [
            {"club_id": txn.club_id, "transaction_id": txn.id, "account_id": l.account_id, "amount": l.amount}
            for l in lines])
        if balances:
            conn.execute(_MOVE_BALANCE, [{"moved_id": i, "moved_club": txn.club_id, "new": b} for i, b in balances.items()])
        conn.execute(_MOVE_HEAD, {"head_club": head.club_id, "new_seq": txn.seq, "new_hash": txn.hash})
    # The rows are locked and were read fresh: the new balances are exact.
    for i, account in moved.items():
        set_committed_value(account, "balance", balances[i])
    set_committed_value(head, "seq", txn.seq)
    set_committed_value(head, "hash", txn.hash)
    attach_written(txn)
    return txn


@lru_cache(maxsize=64)
def _one_statement(lines: int, moved: int):
    """PostgreSQL: the transaction, its postings (in the caller's order, which their ids keep for statements
    and reversals), the balances and the chain head in one statement; every part hangs on the inserted row,
    so a taken key writes nothing. Only whole numbers and fixed column names enter the text."""
    # The text is made of fixed names and numbered placeholders only; every value is a bound parameter
    # (hence the nosec marks for bandit's string-built SQL check).
    columns, placeholders = ", ".join(_TXN_COLUMNS), ", ".join(f":{c}" for c in _TXN_COLUMNS)
    postings = ", ".join(f"({n}, CAST(:a{n} AS INTEGER), CAST(:x{n} AS BIGINT))" for n in range(lines))
    balances = ", ".join(f"(CAST(:m{n} AS INTEGER), CAST(:b{n} AS BIGINT))" for n in range(moved))
    parts = [
        f"WITH t AS (INSERT INTO journal_transaction ({columns}) VALUES ({placeholders}) "  # nosec B608
        "ON CONFLICT (club_id, idempotency_key) DO NOTHING RETURNING id)",
        "p AS (INSERT INTO posting (club_id, transaction_id, account_id, amount) "  # nosec B608
        f"SELECT :club_id, t.id, v.account_id, v.amount FROM t, (VALUES {postings}) "
        "AS v(n, account_id, amount) ORDER BY v.n)",
        "h AS (UPDATE ledger_head SET seq = :seq, hash = :hash FROM t WHERE ledger_head.club_id = :club_id)",
    ]
    if moved:
        parts.append(f"b AS (UPDATE account SET balance = v.balance FROM t, (VALUES {balances}) "  # nosec B608
                     "AS v(id, balance) WHERE account.id = v.id AND account.club_id = :club_id)")
    return text(",\n".join(parts) + "\nSELECT id FROM t")  # nosec B608


_TXN_COLUMNS = ("club_id", "unit", "kind", "memo", "occurred_on", "author_id", "idempotency_key", "reverses_id",
                "created_at", "seq", "hash")
_TXN, _POSTING, _ACCOUNT, _HEAD = (JournalTransaction.__table__, Posting.__table__, Account.__table__,
                                   LedgerHead.__table__)
# Built once: the statements of every posting.
_INSERT_TXN = (sqlite_insert(_TXN).on_conflict_do_nothing(index_elements=["club_id", "idempotency_key"])
               .returning(_TXN.c.id))
_INSERT_POSTING = insert(_POSTING)
_MOVE_BALANCE = (update(_ACCOUNT).where(_ACCOUNT.c.id == bindparam("moved_id"), _ACCOUNT.c.club_id == bindparam("moved_club"))
                 .values(balance=bindparam("new")))
_MOVE_HEAD = (update(_HEAD).where(_HEAD.c.club_id == bindparam("head_club"))
              .values(seq=bindparam("new_seq"), hash=bindparam("new_hash")))


@dataclass(frozen=True)
class Entry:
    """One transaction of a batch for ``post_many``."""

    kind: TransactionKind
    lines: Sequence[Line | tuple[int, int]]
    idempotency_key: str
    occurred_on: date
    memo: str = ""


def post_many(club_id: int, *, unit: Unit, entries: Sequence[Entry], author_id: int | None) -> list[int]:
    """Post many transactions of one unit in one go (an imported file): the
    same checks as ``post``, with the accounts locked once and the rows
    written in bulk. Every key must be new; returns the transaction ids in order."""
    unit = Unit(unit)
    prepared = []
    for entry in entries:
        norm = _normalise(entry.lines)
        _check_key(entry.idempotency_key)
        if len(entry.memo) > 500:
            raise InvalidInput(_l("The description is too long (500 characters at most)."), field="memo")
        prepared.append((entry, norm))
    keys = [entry.idempotency_key for entry in entries]
    if len(set(keys)) != len(keys):
        raise Conflict(_l("The same entry appears twice."))
    if not prepared:
        return []
    with unit_of_work() as session:
        head = lock_for_posting(club_id)
        for entry, _ in prepared:
            _check_open(head, entry.occurred_on)
        accounts = _lock_accounts(club_id, sorted({l.account_id for _, norm in prepared for l in norm}))
        for account in accounts.values():
            if account.unit != unit:
                raise InvalidInput(_l("Time credits and money never mix in one transaction."), field="unit")
        for start in range(0, len(keys), 500):
            if session.scalar(select(JournalTransaction.id).where(
                    JournalTransaction.club_id == club_id,
                    JournalTransaction.idempotency_key.in_(keys[start:start + 500])).limit(1)):
                raise Conflict(_l("Some of these entries were already recorded."))
        balances = {a.id: a.balance for a in accounts.values()}
        for _, norm in prepared:  # in order, as if posted one by one
            net: dict[int, int] = {}
            for line in norm:
                net[line.account_id] = net.get(line.account_id, 0) + line.amount
            for account_id, amount in net.items():
                if amount:
                    a = accounts[account_id]
                    rules.check_limits(a.code, balances[account_id], amount, a.floor, a.ceiling)
                    balances[account_id] += amount
        rows = []
        for entry, norm in prepared:
            txn = JournalTransaction(club_id=club_id, unit=unit, kind=TransactionKind(entry.kind), memo=entry.memo,
                                     occurred_on=entry.occurred_on, author_id=author_id,
                                     idempotency_key=entry.idempotency_key, reverses_id=None)
            _chain(head, txn, norm)
            rows.append({"club_id": club_id, "unit": unit, "kind": txn.kind, "memo": entry.memo,
                         "occurred_on": entry.occurred_on, "author_id": author_id,
                         "idempotency_key": entry.idempotency_key, "seq": txn.seq, "hash": txn.hash})
        ids = list(session.scalars(
            insert(JournalTransaction).returning(JournalTransaction.id, sort_by_parameter_order=True), rows))
        session.execute(insert(Posting), [
            {"club_id": club_id, "transaction_id": txn_id, "account_id": l.account_id, "amount": l.amount}
            for txn_id, (_, norm) in zip(ids, prepared, strict=True) for l in norm
        ])
        for account_id, balance in balances.items():
            accounts[account_id].balance = balance
        session.flush()
        return ids


def reverse(
    club_id: int,
    transaction_id: int,
    *,
    reason: str,
    idempotency_key: str,
    author_id: int | None,
    occurred_on: date | None = None,
) -> JournalTransaction:
    """Undo a transaction by posting its mirror image, linked to it. Once only."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_l("Say why this entry is reversed."), field="reason")
    with unit_of_work() as session:
        original = in_club(JournalTransaction, club_id, transaction_id, missing=_l("No such transaction in this club."))
        already = session.scalar(
            select(JournalTransaction).where(JournalTransaction.club_id == club_id,
                                             JournalTransaction.reverses_id == original.id)
        )
        if already is not None:
            if already.idempotency_key == idempotency_key:
                return already
            raise Conflict(_l("This transaction has already been reversed."))
        if original.reverses_id is not None:
            raise Conflict(_l("A reversal cannot itself be reversed; record a new entry instead."))
        return post(
            club_id,
            unit=Unit(original.unit),
            kind=TransactionKind.REVERSAL,
            lines=[Line(p.account_id, -p.amount) for p in original.postings],
            idempotency_key=idempotency_key,
            occurred_on=occurred_on,
            memo=reason,
            author_id=author_id,
            reverses_id=original.id,
        )


def set_limits(club_id: int, account_id: int, *, floor: int | None, ceiling: int | None, actor_id: int | None,
               reason: str = "") -> Account:
    """Change an account's floor and ceiling; the balance must fit the new limits."""
    for name, value in (("floor", floor), ("ceiling", ceiling)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_AMOUNT):
            raise InvalidInput(_l("Limits are whole numbers."), field=name)
    with unit_of_work():
        account = _lock_accounts(club_id, [account_id])[account_id]
        rules.check_new_limits(account.balance, floor, ceiling)
        before = {"floor": account.floor, "ceiling": account.ceiling}
        account.floor, account.ceiling = floor, ceiling
        record(actor_id, club_id, "account.set_limits", account, before=before,
               after={"floor": floor, "ceiling": ceiling, "reason": reason})
        return account


def balance_of(account_id: int) -> int:
    """The cached balance: one row read, whatever the history's length."""
    balance = db.session.scalar(select(Account.balance).where(Account.id == account_id))
    if balance is None:
        raise NotFound(_l("No such account."))
    return balance


def accounts_of(club_id: int, membership_id: int | None = None) -> list[Account]:
    stmt = select(Account).where(Account.club_id == club_id)
    if membership_id is not None:
        stmt = stmt.where(Account.membership_id == membership_id)
    return list(db.session.scalars(stmt.order_by(Account.unit, Account.code)))


def find_account(club_id: int, code: str) -> Account:
    account = db.session.scalar(select(Account).where(Account.club_id == club_id, Account.code == code))
    if account is None:
        raise NotFound(_l("No such account."))
    return account


# --- Invariants -------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    invariant: int
    club_id: int | None
    detail: str

    def __str__(self) -> str:
        where = f"club {self.club_id}" if self.club_id is not None else "database"
        return f"invariant {self.invariant} ({where}): {self.detail}"


_APPEND_ONLY_TABLES = ("journal_transaction", "posting")


def _triggers_present() -> set[str]:
    if is_postgresql():
        rows = db.session.execute(
            text(
                "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D'"
            )
        )
    else:
        rows = db.session.execute(text("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"))
    return {f"{table}.{name}" for table, name in rows}


def check(club_only: int | None = None) -> list[Violation]:
    """Verify invariants 1–6 of the ledger, then the hash chain (12), over every club (``club_only``: that club's
    books, and the guards every club relies on). Read only."""
    return (_check_balanced(club_only) + _check_append_only(club_only) + _check_balances(club_only)
            + _check_limits_respected(club_only) + _check_replay_keys(club_only) + check_chain(club_id=club_only))


def _check_balanced(club_only: int | None = None) -> list[Violation]:
    """Invariant 1: two postings at least, summing to zero, within the transaction's club; and 6: in its unit."""
    s = db.session
    found: list[Violation] = []
    unbalanced = s.execute(
        select(Posting.transaction_id, JournalTransaction.club_id, func.sum(Posting.amount), func.count())
        .join(JournalTransaction, POSTING_TRANSACTION)
        .where(of_club(Posting.club_id, club_only))
        .group_by(Posting.transaction_id, JournalTransaction.club_id)
        .having((func.sum(Posting.amount) != 0) | (func.count() < 2))
    )
    for txn_id, club_id, total, count in unbalanced:
        found.append(Violation(1, club_id, f"transaction {txn_id} has {count} postings summing to {total}"))
    empty = s.execute(
        select(JournalTransaction.id, JournalTransaction.club_id)
        .outerjoin(Posting, POSTING_TRANSACTION)
        .where(of_club(JournalTransaction.club_id, club_only), Posting.id.is_(None))
    )
    for txn_id, club_id in empty:
        found.append(Violation(1, club_id, f"transaction {txn_id} has no postings"))
    mixed = s.execute(
        select(Posting.id, JournalTransaction.club_id, JournalTransaction.id, Account.unit, JournalTransaction.unit,
               Account.club_id, Posting.club_id)
        .join(JournalTransaction, POSTING_TRANSACTION)
        .join(Account, (Account.id == Posting.account_id) & (Account.club_id == Posting.club_id))
        .where(
            of_club(Posting.club_id, club_only),
            (Account.unit != JournalTransaction.unit)
            | (Account.club_id != JournalTransaction.club_id)
            | (Posting.club_id != JournalTransaction.club_id)
        )
    )
    for posting_id, club_id, txn_id, account_unit, txn_unit, account_club, posting_club in mixed:
        if account_unit != txn_unit:
            found.append(Violation(6, club_id, f"posting {posting_id} puts {account_unit} into {txn_unit} transaction {txn_id}"))
        if account_club != club_id or posting_club != club_id:
            found.append(Violation(1, club_id, f"posting {posting_id} of transaction {txn_id} crosses clubs"))
    return found


def _check_append_only(club_only: int | None = None) -> list[Violation]:
    """Invariant 2: the append-only guards are in place, and a reversal nets to zero with its original on every
    account they touch."""
    found: list[Violation] = []
    present = _triggers_present()
    for table in _APPEND_ONLY_TABLES:
        for action in ("update", "delete"):
            name = f"{table}.{table}_no_{action}"
            if name not in present:
                found.append(Violation(2, None, f"trigger {table}_no_{action} is missing or disabled"))
    unmirrored = db.session.execute(
        select(JournalTransaction.id, JournalTransaction.club_id, JournalTransaction.reverses_id)
        .join(
            Posting,
            ((Posting.transaction_id == JournalTransaction.id)
             | (Posting.transaction_id == JournalTransaction.reverses_id))
            & (Posting.club_id == JournalTransaction.club_id),
        )
        .where(of_club(JournalTransaction.club_id, club_only), JournalTransaction.reverses_id.is_not(None))
        .group_by(JournalTransaction.id, JournalTransaction.club_id, JournalTransaction.reverses_id, Posting.account_id)
        .having(func.sum(Posting.amount) != 0)
        .distinct()
    )
    for rev_id, club_id, orig_id in unmirrored:
        found.append(Violation(2, club_id, f"reversal {rev_id} does not mirror transaction {orig_id}"))
    return found


def _check_balances(club_only: int | None = None) -> list[Violation]:
    """Invariant 3: each account's cached balance is the sum of its postings."""
    sums = (
        select(Posting.account_id, Posting.club_id, func.sum(Posting.amount).label("total"))
        .where(of_club(Posting.club_id, club_only))
        .group_by(Posting.account_id, Posting.club_id)
        .subquery()
    )
    drift = db.session.execute(
        select(Account.id, Account.club_id, Account.code, Account.balance, func.coalesce(sums.c.total, 0))
        .outerjoin(sums, (sums.c.account_id == Account.id) & (sums.c.club_id == Account.club_id))
        .where(of_club(Account.club_id, club_only), Account.balance != func.coalesce(sums.c.total, 0))
    )
    return [Violation(3, club_id, f"account {code} (#{account_id}) caches {cached} but its postings sum to {actual}")
            for account_id, club_id, code, cached, actual in drift]


def _check_limits_respected(club_only: int | None = None) -> list[Violation]:
    """Invariant 4: no balance beyond its account's floor or ceiling."""
    outside = db.session.execute(
        select(Account.id, Account.club_id, Account.code, Account.balance, Account.floor, Account.ceiling).where(
            of_club(Account.club_id, club_only),
            ((Account.floor.is_not(None)) & (Account.balance < Account.floor))
            | ((Account.ceiling.is_not(None)) & (Account.balance > Account.ceiling))
        )
    )
    return [Violation(4, club_id, f"account {code} (#{account_id}) at {balance} is outside [{floor}, {ceiling}]")
            for account_id, club_id, code, balance, floor, ceiling in outside]


def _check_replay_keys(club_only: int | None = None) -> list[Violation]:
    """Invariant 5: one transaction per idempotency key (the unique key guards it; a database without it is
    reported here)."""
    dupes = db.session.execute(
        select(JournalTransaction.club_id, JournalTransaction.idempotency_key, func.count())
        .where(of_club(JournalTransaction.club_id, club_only))
        .group_by(JournalTransaction.club_id, JournalTransaction.idempotency_key)
        .having(func.count() > 1)
    )
    return [Violation(5, club_id, f"idempotency key {key!r} used by {count} transactions")
            for club_id, key, count in dupes]


def _chain_rows(club_id: int, chunk: int):
    """The club's transactions in chain order with their postings, a chunk at a time."""
    s, after = db.session, 0
    while True:
        txns = s.execute(select(
            JournalTransaction.id, JournalTransaction.seq, JournalTransaction.hash, JournalTransaction.unit,
            JournalTransaction.kind, JournalTransaction.occurred_on, JournalTransaction.memo,
            JournalTransaction.author_id, JournalTransaction.idempotency_key, JournalTransaction.reverses_id)
            .where(JournalTransaction.club_id == club_id, JournalTransaction.seq > after)
            .order_by(JournalTransaction.seq).limit(chunk)).all()
        if not txns:
            return
        lines: dict[int, list[tuple[int, int]]] = {}
        for txn_id, account_id, amount in s.execute(select(
                Posting.transaction_id, Posting.account_id, Posting.amount)
                .where(Posting.club_id == club_id, Posting.transaction_id.in_([t.id for t in txns]))):
            lines.setdefault(txn_id, []).append((account_id, amount))
        for t in txns:
            yield t, lines.get(t.id, [])
        after = txns[-1].seq


def _digest(prev: str, club_id: int, t, lines, key: bytes | None) -> str:
    return chain.seal(prev, club_id=club_id, seq=t.seq, unit=t.unit, kind=t.kind, occurred_on=t.occurred_on,
                      memo=t.memo, author_id=t.author_id, idempotency_key=t.idempotency_key,
                      reverses_id=t.reverses_id, postings=lines, key=key)


def check_chain(chunk: int = 1000, *, club_id: int | None = None) -> list[Violation]:
    """Invariant 12: each club's transactions, in ``seq`` order 1, 2, 3 …, each hash the keyed seal of the
    previous one and of the transaction's content as stored now; the head holds the last; and every period
    close's recorded head is still in the chain, with the same hash.

    Transactions sealed plain (version 1, before the key) are accepted only as the chain's beginning, and
    reported once until ``flask coop reseal`` seals them under the key: a plain seal after a keyed one is an
    edit sealed again by someone without the key. ``club_id``: that club only."""
    s = db.session
    found: list[Violation] = []
    key = chain_key()
    only = (lambda column: column == club_id) if club_id is not None else (lambda column: True)
    heads = {h.club_id: h for h in s.scalars(select(LedgerHead).where(only(LedgerHead.club_id)))}
    closes: dict[int, list[PeriodClose]] = {}
    for close in s.scalars(select(PeriodClose).where(PeriodClose.head_seq.is_not(None), only(PeriodClose.club_id))
                           .order_by(PeriodClose.through)):
        closes.setdefault(close.club_id, []).append(close)
    clubs = [c for (c,) in s.execute(select(JournalTransaction.club_id).where(only(JournalTransaction.club_id))
                                     .distinct())]
    for club_id in sorted(set(clubs) | set(heads) | set(closes)):
        prev, expected_seq, last_seq, plain, keyed_seen = chain.GENESIS, 1, 0, 0, False
        recorded = {c.head_seq for c in closes.get(club_id, [])}
        at_seq: dict[int, tuple[int, str]] = {}
        unsealed = s.scalar(select(func.count()).select_from(JournalTransaction).where(
            JournalTransaction.club_id == club_id, JournalTransaction.seq.is_(None)))
        if unsealed:
            found.append(Violation(12, club_id, f"{unsealed} transaction(s) have no place in the hash chain"))
        for t, lines in _chain_rows(club_id, chunk):
            if t.seq != expected_seq:
                found.append(Violation(12, club_id, f"transaction {t.id} is number {t.seq} in the chain, "
                                                    f"{expected_seq} was expected"))
            if _digest(prev, club_id, t, lines, key) == t.hash:
                keyed_seen = True
            elif not keyed_seen and _digest(prev, club_id, t, lines, None) == t.hash:
                plain += 1
            else:
                found.append(Violation(12, club_id, f"transaction {t.id} (number {t.seq}) does not match its "
                                                    "hash: it or an earlier one was changed"))
            if t.seq in recorded:
                at_seq[t.seq] = (t.id, t.hash or "")
            prev, expected_seq, last_seq = t.hash or "", t.seq + 1, t.seq
        if plain:
            found.append(Violation(12, club_id, f"numbers 1 to {plain} {_UNKEYED}: "
                                                "run `flask coop reseal` once after the upgrade (docs/security.md); "
                                                "on books already resealed, this means they were rewritten"))
        head = heads.get(club_id)
        if last_seq and (head is None or head.seq != last_seq or head.hash != prev):
            found.append(Violation(12, club_id, "the chain's head does not point at its last transaction"))
        for close in closes.get(club_id, []):
            through = close.through.isoformat()
            if close.head_seq > last_seq:
                found.append(Violation(12, club_id, f"the close through {through} recorded the chain's head at "
                                                    f"number {close.head_seq}, but the chain ends at number "
                                                    f"{last_seq}: transactions were deleted"))
            elif close.head_seq and at_seq.get(close.head_seq, (None, ""))[1] != close.head_hash:
                txn_id = at_seq.get(close.head_seq, ("?",))[0]
                found.append(Violation(12, club_id, f"the close through {through} recorded the chain's head at "
                                                    f"number {close.head_seq} with another hash than transaction "
                                                    f"{txn_id} holds: the books were changed since"))
    return found


def chained_clubs() -> list[int]:
    return list(db.session.scalars(select(LedgerHead.club_id).order_by(LedgerHead.club_id)))


_UNKEYED = "of the chain are sealed without the key"


def reseal(club_id: int) -> int:
    """Seal a club's chain again under the key (version 2), once, after the upgrade that keyed the chain.

    Only a chain that checks whole is resealed: its beginning sealed plain (version 1), the rest keyed, the
    head on the last one; any other violation and nothing is sealed (resealing could only hide an edit). A
    chain keyed whole is left as it is. Closes whose recorded head was plain get the new hash of the same
    transaction. Returns how many transactions were sealed again."""
    key = chain_key()
    with unit_of_work() as session:
        head = lock_for_posting(club_id)
        if any(_UNKEYED not in v.detail for v in check_chain(club_id=club_id)):
            raise Conflict(_l("This club's chain does not check: it is not sealed again."))
        prev, updates, renamed = chain.GENESIS, [], {}
        for t, lines in list(_chain_rows(club_id, 1000)):
            new = _digest(prev, club_id, t, lines, key)
            if new != t.hash:
                renamed[t.hash] = new
                updates.append({"h": new, "t": t.id})
            prev = new
        if not updates:
            return 0
        guard = _lift_update_guard(session)  # PostgreSQL: the table is locked until the commit
        session.execute(text("UPDATE journal_transaction SET hash = :h WHERE id = :t"), updates)
        _restore_update_guard(session, guard)
        changed = len(updates)
        for close in session.scalars(select(PeriodClose).where(PeriodClose.club_id == club_id,
                                                               PeriodClose.head_hash.is_not(None))):
            close.head_hash = renamed.get(close.head_hash, close.head_hash)
        session.execute(text("UPDATE ledger_head SET hash = :h WHERE club_id = :c"), {"h": prev, "c": club_id})
        set_committed_value(head, "hash", prev)
        record(None, club_id, "ledger.reseal", None, after={"resealed": changed, "head": prev})
        return changed


def _lift_update_guard(session) -> str | None:
    """The one sanctioned update of ledger rows (their hash, by ``reseal``): the append-only guard on
    ``journal_transaction`` is lifted inside this transaction only, and put back before it commits.
    Returns what ``_restore_update_guard`` needs (SQLite: the trigger's own text)."""
    if is_postgresql():
        session.execute(text("ALTER TABLE journal_transaction DISABLE TRIGGER journal_transaction_no_update"))
        return None
    sql = session.scalar(text("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                              "AND name = 'journal_transaction_no_update'"))
    if sql:
        session.execute(text("DROP TRIGGER journal_transaction_no_update"))
    return sql


def _restore_update_guard(session, sql: str | None) -> None:
    if is_postgresql():
        session.execute(text("ALTER TABLE journal_transaction ENABLE TRIGGER journal_transaction_no_update"))
    elif sql:
        session.execute(text(sql))
