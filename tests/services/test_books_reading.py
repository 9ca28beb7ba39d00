"""The treasurer's books, read only (coop/services/books.py), on both databases: the trial balance and every
statement agree with the cached balances on random activity (Hypothesis), the journal's keyset pages cost the
same queries at any depth, its filters and pages, statements by period and page, the balance sheet and the
income statement after an investment return and a bank fee, and who may read what."""
from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from coop.extensions import db
from coop.models import JournalTransaction, TransactionKind, Unit
from coop.services import books, fund, investments, ledger, reconcile, timebank
from coop.services.books import Cursor, JournalFilter
from coop.services.errors import InvalidInput, NotFound, NotPermitted
from tests.conftest import by_id, fund_club, key, refused
from tests.services.test_investment_flow import approved

TODAY = date.today()


# --- Helpers --------------------------------------------------------------------------------------------


def contribute(setup, user, amount: int, on: date, reference: str = "") -> object:
    return fund.record_contribution(setup.treasurer.id, setup.club_id, membership_id=setup.membership_id(user),
                                    amount=amount, received_on=on, method="transfer", bank_reference=reference,
                                    idempotency_key=key())


def account_id(club_id: int, code: str) -> int:
    return ledger.find_account(club_id, code).id


@contextmanager
def counting(parameters: list | None = None):
    """Every SQL statement sent to the database while the block runs (and their parameters into ``parameters``)."""
    seen: list[str] = []

    def listen(conn, cursor, statement, params, context, executemany):
        seen.append(statement)
        if parameters is not None:
            parameters.append(params)

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)


def ids(page) -> list[int]:
    return [row.transaction.id for row in page.rows]


def walk(user_id: int, club_id: int, filters: JournalFilter | None = None, limit: int = 2) -> list[int]:
    """Every page of the journal in turn, following each page's cursor."""
    found, after, pages = [], None, 0
    while True:
        page = books.journal(user_id, club_id, filters, after=after, limit=limit)
        assert len(page.rows) <= limit
        found += ids(page)
        pages += 1
        assert pages < 100
        if page.next is None:
            return found
        assert len(page.rows) == limit
        assert page.next == Cursor(page.rows[-1].transaction.occurred_on, page.rows[-1].transaction.id)
        after = page.next


# --- Property: trial balance and statements agree with the cached balances ---------------------------------


contribution_step = st.tuples(st.just("contribute"), st.integers(0, 4), st.integers(1, 20_000),
                              st.integers(0, 500))
exchange_step = st.tuples(st.just("exchange"), st.integers(0, 4), st.integers(0, 4), st.integers(1, 240),
                          st.integers(0, 300))
reverse_step = st.tuples(st.just("reverse"), st.integers(0, 10_000), st.integers(0, 40))
steps = st.lists(st.one_of(contribution_step, exchange_step, reverse_step), min_size=1, max_size=6)

CAP = 550_000  # the charter's default yearly cap per member (R4)


def test_random_activity_keeps_the_trial_balance_even_and_every_statement_on_the_cached_balance(app, make_club):
    setup = make_club(5)
    club_id, treasurer = setup.club_id, setup.treasurer
    members = setup.members
    bank = account_id(club_id, "bank")
    capital = [account_id(club_id, f"capital:{setup.membership_id(u)}") for u in members]
    time = [account_id(club_id, f"time:{setup.membership_id(u)}") for u in members]
    every_account = [a.id for a in ledger.accounts_of(club_id)]
    db.session.rollback()
    # The model: every posting as (account, day, transaction id, amount), worked out by hand from each step.
    postings: list[tuple[int, date, int, int]] = []
    # Transactions that may still be reversed: (transaction id, contribution id or None, day, lines).
    reversible: list[tuple[int, int | None, date, list[tuple[int, int]]]] = []
    paid: dict[tuple[int, int], int] = defaultdict(int)  # (member, year) -> paid in, reversals aside

    def balance(account: int, *, before: date | None = None, through: date | None = None) -> int:
        return sum(amount for a, on, _, amount in postings if a == account
                   and (before is None or on < before) and (through is None or on <= through))

    def fits(lines) -> bool:
        for account, amount in lines:
            if account in time:  # R12 limits: floor -600, ceiling 2400
                if not -600 <= balance(account) + amount <= 2400:
                    return False
        return True

    def apply(step) -> None:
        if step[0] == "contribute":
            _, m, amount, days = step
            on = TODAY - timedelta(days=days)
            if paid[(m, on.year)] + amount > CAP:
                return
            c = contribute(setup, members[m], amount, on, "Versement")
            paid[(m, on.year)] += amount
            lines = [(bank, amount), (capital[m], -amount)]
            postings.extend((a, on, c.transaction_id, x) for a, x in lines)
            reversible.append((c.transaction_id, c.id, on, lines))
        elif step[0] == "exchange":
            _, receiver, provider, minutes, days = step
            lines = [(time[provider], minutes), (time[receiver], -minutes)]
            if receiver == provider or not fits(lines):
                return
            on = TODAY - timedelta(days=days)
            exchange = timebank.record_exchange(members[receiver].id, club_id,
                                                other_id=setup.membership_id(members[provider]),
                                                direction="received", minutes=minutes, done_on=on,
                                                description="Coup de main", form_key=key(), today=TODAY)
            assert exchange.transaction_id is not None  # the receiver's word posts at once
            postings.extend((a, on, exchange.transaction_id, x) for a, x in lines)
            reversible.append((exchange.transaction_id, None, on, lines))
        else:
            _, pick, later = step
            if not reversible:
                return
            txn_id, contribution_id, on, lines = reversible[pick % len(reversible)]
            mirror = [(a, -x) for a, x in lines]
            if not fits(mirror):
                return
            reversible.remove((txn_id, contribution_id, on, lines))
            if contribution_id is not None:
                reversal = fund.reverse_contribution(treasurer.id, club_id, contribution_id, reason="Erreur",
                                                     idempotency_key=key())
                txn = by_id(JournalTransaction, txn_id)
                member = next(i for i, c in enumerate(capital) if c == lines[1][0])
                paid[(member, txn.occurred_on.year)] -= lines[0][1]
            else:
                reversal = ledger.reverse(club_id, txn_id, reason="Erreur de saisie", idempotency_key=key(),
                                          author_id=treasurer.id, occurred_on=min(TODAY, on + timedelta(days=later)))
            postings.extend((a, reversal.occurred_on, reversal.id, x) for a, x in mirror)

    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(actions=steps, start_days=st.integers(0, 500), on_days=st.integers(0, 500))
    def check(actions, start_days, on_days):
        for step in actions:
            apply(step)
        db.session.rollback()
        # Trial balance, today and at a random day: debits equal credits per unit, each line as the model says.
        for on in (None, TODAY - timedelta(days=on_days)):
            tables = books.trial_balance(treasurer.id, club_id, on=on)
            assert [t.unit for t in tables] == [Unit.MONEY, Unit.TIME]
            for table in tables:
                assert table.debits == table.credits and table.balanced
                for line in table.lines:
                    mine = [x for a, d, _, x in postings if a == line.account.id and (on is None or d <= on)]
                    assert (line.debits, line.credits) == (sum(x for x in mine if x > 0),
                                                           -sum(x for x in mine if x < 0)), line.account.code
        start = TODAY - timedelta(days=start_days)
        for account in every_account:
            cached = ledger.balance_of(account)
            assert cached == balance(account)
            # Oldest first, the running balance after each line: worked out from the model.
            mine = sorted((on, txn, x) for a, on, txn, x in postings if a == account)
            running, expected = 0, []
            for on, txn, x in mine:
                running += x
                expected.append((txn, on, x, running))
            _, lines = books.statement_lines(treasurer.id, club_id, account)
            assert [(s.transaction_id, s.occurred_on, s.amount, s.balance) for s in lines] == expected
            if lines:
                assert lines[-1].balance == cached
                assert lines[0].balance - lines[0].amount == 0
            page = books.statement(treasurer.id, club_id, account)
            assert page.closing == cached
            assert [(s.transaction_id, s.balance) for s in page.lines] == \
                [(s.transaction_id, s.balance) for s in reversed(lines)][:books.PAGE]
            if page.lines:
                assert page.lines[0].balance == cached
                assert page.opening == page.lines[-1].balance - page.lines[-1].amount
            _, since = books.statement_lines(treasurer.id, club_id, account, start=start)
            assert [s.transaction_id for s in since] == [t for t, on, _, _ in expected if on >= start]
            if since:
                assert since[0].balance - since[0].amount == balance(account, before=start)
                assert since[-1].balance == cached

    check()
    db.session.rollback()
    assert ledger.check() == []
    # The steps reached the books with every kind of activity.
    kinds = set(db.session.scalars(select(JournalTransaction.kind).where(JournalTransaction.club_id == club_id)))
    assert kinds == {"contribution", "exchange", "reversal"}


# --- Keyset pages: the same queries at any depth ---------------------------------------------------------------


DEEP = 10_050
PER_DAY = 20


def test_a_page_ten_thousand_rows_deep_runs_the_same_queries_as_page_one(app, make_club):
    """10,050 contributions, 20 a day, posted in bulk; the page after the 10,000th newest transaction costs
    the queries page 1 costs (keyset, no OFFSET)."""
    setup = make_club(5)
    club_id, treasurer = setup.club_id, setup.treasurer.id  # an id: the session is emptied below
    bank = account_id(club_id, "bank")
    capital = account_id(club_id, f"capital:{setup.membership_id(setup.members[2])}")
    first_day = TODAY - timedelta(days=DEEP // PER_DAY + 5)
    entries = [ledger.Entry(TransactionKind.CONTRIBUTION, [(bank, 100 + i % 7), (capital, -(100 + i % 7))],
                            f"deep-{i:06d}", first_day + timedelta(days=i // PER_DAY), f"Versement {i}")
               for i in range(DEEP)]
    for start in range(0, DEEP, 500):
        ledger.post_many(club_id, unit=Unit.MONEY, entries=entries[start:start + 500], author_id=treasurer)
    db.session.rollback()
    newest = db.session.execute(select(JournalTransaction.occurred_on, JournalTransaction.id)
                                .where(JournalTransaction.club_id == club_id)
                                .order_by(JournalTransaction.occurred_on.desc(), JournalTransaction.id.desc())
                                ).all()
    assert len(newest) == DEEP
    deep = Cursor(*newest[9_999])  # the 10,000th newest
    books.journal(treasurer, club_id)  # warm up (first connection, compiled statements)
    db.session.rollback()
    db.session.expunge_all()

    with counting() as shallow:
        top = books.journal(treasurer, club_id, after=None)
    top_rows = [(r.transaction.occurred_on, r.transaction.id) for r in top.rows]
    db.session.rollback()
    db.session.expunge_all()
    far_parameters: list = []
    with counting(far_parameters) as far:
        down = books.journal(treasurer, club_id, after=deep)
    # The postings come with the rows' queries: reading them now costs nothing more.
    with counting() as more:
        assert all(len(r.transaction.postings) == 2 for r in down.rows)
    assert more == []

    assert top_rows == [tuple(r) for r in newest[:50]]
    assert [(r.transaction.occurred_on, r.transaction.id) for r in down.rows] == \
        [tuple(r) for r in newest[10_000:10_050]]
    assert down.next is None and top.next == Cursor(*newest[49])
    # The same statements (BEGIN aside): the membership check, the rows, their postings, the reversal links,
    # the club's accounts. The deep page finds its rows by the (date, number) key, never by skipping rows.
    assert len(far) == len(shallow)
    assert len([sql for sql in far if sql.strip().upper() != "BEGIN"]) == 5, far
    [rows_query] = [sql for sql in far if "FROM journal_transaction LEFT OUTER JOIN" in sql]
    assert "(journal_transaction.occurred_on, journal_transaction.id) <" in rows_query
    # The postings are found by transaction within the club: a "select IN" load by (transaction_id, club_id)
    # pairs made SQLite read every club's postings (it uses no index for a row value IN a list of VALUES).
    [postings_query] = [sql for sql in far if "FROM posting" in sql]
    assert "posting.club_id = " in postings_query and "posting.transaction_id IN (" in postings_query
    if db.engine.dialect.name == "sqlite":
        connection = db.session.connection()
        plans = {sql: [row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
                 for sql, params in zip(far, far_parameters, strict=True) if sql.strip().upper() != "BEGIN"}
        assert not {sql: plan for sql, plan in plans.items() if any(step.startswith("SCAN") for step in plan)}


# --- Journal: filters and pages -------------------------------------------------------------------------------------


@pytest.fixture
def journal_club(make_club):
    """Five members (manager, treasurer, three plain); activity on a few days, three transactions on one day."""
    setup = make_club(5)
    m2, m3, m4 = setup.members[2:5]
    d0, d1, d2, d3 = (TODAY - timedelta(days=n) for n in (40, 30, 20, 10))
    t = {}
    t["c0"] = contribute(setup, m4, 3_000, d0, "Ouverture").transaction_id
    t["c1"] = contribute(setup, m2, 10_000, d1, "Virement mars").transaction_id
    t["c2"] = contribute(setup, m3, 20_000, d1, "Remise 100% net").transaction_id
    c3 = contribute(setup, m2, 5_000, d3, "Chèque avril")
    t["c3"] = c3.transaction_id
    t["c4"] = contribute(setup, m3, 7_500, d1, "Virement_bis").transaction_id  # after c3, dated before it
    t["x"] = timebank.record_exchange(m2.id, setup.club_id, other_id=setup.membership_id(m3), direction="received",
                                      minutes=90, done_on=d2, description="Réparation vélo", form_key=key(),
                                      today=TODAY).transaction_id
    t["r"] = fund.reverse_contribution(setup.treasurer.id, setup.club_id, c3.id, reason="Chèque rejeté",
                                       idempotency_key=key()).id
    db.session.rollback()
    setup.t, setup.days = t, (d0, d1, d2, d3)
    return setup


def newest_first(setup, *names) -> list[int]:
    rows = db.session.execute(select(JournalTransaction.occurred_on, JournalTransaction.id)
                              .where(JournalTransaction.id.in_([setup.t[n] for n in names]))).all()
    return [i for _, i in sorted(rows, reverse=True)]


def test_the_journal_lists_every_transaction_newest_first_with_ties_by_number(journal_club):
    s, t = journal_club, journal_club.t
    page = books.journal(s.treasurer.id, s.club_id)
    # r (today), c3 (d3), x (d2), then three on d1 by number descending (c4 > c2 > c1), then c0 (d0).
    assert ids(page) == [t["r"], t["c3"], t["x"], t["c4"], t["c2"], t["c1"], t["c0"]]
    assert page.next is None
    rows = {row.transaction.id: row for row in page.rows}
    assert rows[t["c3"]].reversed_by == t["r"]
    assert rows[t["r"]].transaction.reverses_id == t["c3"]
    assert all(row.reversed_by is None for i, row in rows.items() if i != t["c3"])
    assert rows[t["c1"]].author == s.treasurer.name
    assert {a.code for a in page.accounts.values()} >= {"bank", f"time:{s.membership_id(s.members[2])}"}


@pytest.mark.parametrize("limit", [1, 2, 3, 4])
def test_keyset_pages_show_each_row_once_in_order(journal_club, limit):
    s = journal_club
    walked = walk(s.treasurer.id, s.club_id, limit=limit)
    assert walked == newest_first(s, *s.t)
    assert len(set(walked)) == len(walked) == 7
    # A filtered walk too: the three contributions of d1 and c0, two at a time.
    only = walk(s.treasurer.id, s.club_id, JournalFilter(end=s.days[1], kind="contribution"), limit=limit)
    assert only == [s.t["c4"], s.t["c2"], s.t["c1"], s.t["c0"]]


def test_journal_filters(journal_club):
    s, t = journal_club, journal_club.t
    d0, d1, d2, d3 = s.days
    m2, m3, m4 = s.members[2:5]

    def found(**filters) -> set[str]:
        page = books.journal(s.treasurer.id, s.club_id, JournalFilter(**filters), limit=50)
        names = {i: n for n, i in t.items()}
        return {names[i] for i in ids(page)}

    assert found(start=d1, end=d2) == {"c1", "c2", "c4", "x"}  # both ends included
    assert found(start=d3) == {"c3", "r"}
    assert found(end=d0) == {"c0"}
    assert found(kind="contribution") == {"c0", "c1", "c2", "c3", "c4"}
    assert found(kind="reversal") == {"r"}
    assert found(kind="exchange") == {"x"}
    assert found(kind="fee") == set()
    # A member: their capital (contributions and the reversal of one) and their time (the exchange).
    assert found(membership_id=s.membership_id(m2)) == {"c1", "c3", "r", "x"}
    assert found(membership_id=s.membership_id(m3)) == {"c2", "c4", "x"}
    assert found(membership_id=s.membership_id(m4)) == {"c0"}
    assert found(account_id=account_id(s.club_id, "bank")) == {"c0", "c1", "c2", "c3", "c4", "r"}
    assert found(account_id=account_id(s.club_id, f"time:{s.membership_id(m3)}")) == {"x"}
    assert found(unit="time") == {"x"}
    assert found(unit="money") == {"c0", "c1", "c2", "c3", "c4", "r"}
    # Words of the description, any case; % and _ are letters, not wildcards.
    assert found(text="virement") == {"c1", "c4"}
    assert found(text="%") == {"c2"}
    assert found(text="100%") == {"c2"}
    assert found(text="_") == {"c4"}
    assert found(text="  vélo ") == {"x"}
    assert found(text="rejeté") == {"r"}
    assert found(text="nulle part") == set()
    assert found(kind="contribution", membership_id=s.membership_id(m2), start=d2) == {"c3"}


@pytest.mark.parametrize("filters, field", [
    (dict(start=TODAY, end=TODAY - timedelta(days=1)), "start"),
    (dict(kind="gift"), "kind"),
    (dict(unit="gold"), "unit"),
    (dict(text="x" * 101), "text"),
    (dict(membership_id="3"), "membership_id"),
    (dict(account_id=True), "account_id"),
])
def test_bad_journal_filters_are_refused(journal_club, filters, field):
    s = journal_club
    refused(lambda: books.journal(s.treasurer.id, s.club_id, JournalFilter(**filters)), InvalidInput, field=field)


@pytest.mark.parametrize("limit", [0, 501, True, "50"])
def test_a_page_holds_1_to_500_lines(journal_club, limit):
    s = journal_club
    refused(lambda: books.journal(s.treasurer.id, s.club_id, limit=limit), InvalidInput, field="limit")
    refused(lambda: books.statement(s.treasurer.id, s.club_id, account_id(s.club_id, "bank"), limit=limit),
            InvalidInput, field="limit")


def test_cursors_read_back_what_they_write():
    assert Cursor.parse(None) is None and Cursor.parse("") is None
    cursor = Cursor.parse("2026-11-05.1234")
    assert cursor == Cursor(date(2026, 11, 5), 1234)
    assert str(cursor) == "2026-11-05.1234"
    assert Cursor.parse(str(Cursor(date(2001, 1, 31), 7))) == Cursor(date(2001, 1, 31), 7)


@pytest.mark.parametrize("text", ["garbage", "2026-11-05", "2026-11-05.", ".12", "2026-02-30.5", "2026-13-01.5",
                                  "05/11/2026.5", "2026-11-05.-5", "2026-11-05.+5", "2026-11-05.1e3",
                                  "2026-11-05.1.2", "2026-11-05. 5", "2026-11-05.١٢", "2026-11-05." + "9" * 19,
                                  "2026-11-05." + "1" * 30, 12345, 2026.5, ["2026-11-05.1"]])
def test_cursor_refusals(text):
    with pytest.raises(InvalidInput) as caught:
        Cursor.parse(text)
    assert caught.value.field == "after"


# --- Statements --------------------------------------------------------------------------------------------------


def test_a_statement_by_period_and_page_keeps_its_running_balances(journal_club):
    """The bank: c0 3,000 on d0; c1 10,000, c2 20,000, c4 7,500 on d1; c3 5,000 on d3; its reversal −5,000
    today. From d1 to d3, newest first: 45,500 after c3, 40,500 after c4, 33,000 after c2, 13,000 after c1,
    and 3,000 before the period (c0)."""
    s, t = journal_club, journal_club.t
    d0, d1, d2, d3 = s.days
    bank = account_id(s.club_id, "bank")
    pages, after = [], None
    while True:
        page = books.statement(s.treasurer.id, s.club_id, bank, after=after, start=d1, end=d3, limit=3)
        pages.append(page)
        if page.next is None:
            break
        after = page.next
    assert len(pages) == 2
    lines = [(line.transaction_id, line.amount, line.balance) for p in pages for line in p.lines]
    assert lines == [(t["c3"], 5_000, 45_500), (t["c4"], 7_500, 40_500), (t["c2"], 20_000, 33_000),
                     (t["c1"], 10_000, 13_000)]
    assert (pages[0].closing, pages[0].opening) == (45_500, 13_000)
    assert (pages[1].closing, pages[1].opening) == (13_000, 3_000)
    assert pages[0].next == Cursor(d1, t["c2"])
    # Without a period: the reversal first, on the cached balance 40,500.
    whole = books.statement(s.treasurer.id, s.club_id, bank)
    assert [(line.transaction_id, line.balance) for line in whole.lines][:2] == [(t["r"], 40_500), (t["c3"], 45_500)]
    assert whole.closing == ledger.balance_of(bank) == 40_500 and whole.opening == 0 and whole.next is None
    # The same period for an export, oldest first.
    _, old_first = books.statement_lines(s.treasurer.id, s.club_id, bank, start=d1, end=d3)
    assert [(line.transaction_id, line.balance) for line in old_first] == [(i, b) for i, _, b in reversed(lines)]
    assert old_first[0].balance - old_first[0].amount == 3_000
    # A period with nothing in it.
    empty = books.statement(s.treasurer.id, s.club_id, bank, start=d2, end=d2)
    assert empty.lines == [] and empty.next is None
    refused(lambda: books.statement(s.treasurer.id, s.club_id, bank, start=d3, end=d1), InvalidInput, field="start")
    refused(lambda: books.statement_lines(s.treasurer.id, s.club_id, bank, start=d3, end=d1), InvalidInput,
            field="start")


def test_a_time_statement_is_in_minutes(journal_club):
    s = journal_club
    giver = account_id(s.club_id, f"time:{s.membership_id(s.members[3])}")
    page = books.statement(s.treasurer.id, s.club_id, giver)
    assert [(line.transaction_id, line.amount, line.balance) for line in page.lines] == [(s.t["x"], 90, 90)]


# --- Balance sheet and income statement ----------------------------------------------------------------------


def test_balance_sheet_and_income_statement_after_a_return_and_a_bank_fee(make_club):
    """Six members pay 300,000 each today (1,800,000); a loan of 300,000 goes out today; it pays 35.50 of
    interest; the bank charges a 12.50 fee. Bank 1,800,000 − 300,000 + 3,550 − 1,250 = 1,502,300; with the
    loan, assets 1,802,300 = capital 1,800,000 + result 2,300 (income 3,550 − expenses 1,250)."""
    setup = make_club(6, secretary=True)
    fund_club(setup, 300_000)
    project_id = approved(setup)
    investment = investments.record_investment(setup.treasurer.id, setup.club_id, project_id,
                                               mentor_id=setup.membership_id(setup.members[3]), form_key=key())
    payment = investments.enter_payment(setup.treasurer.id, setup.club_id, investment.id, amount=300_000,
                                        paid_on=TODAY, form_key=key())
    investments.approve_payment(setup.manager.id, setup.club_id, payment.id)
    investments.record_return(setup.treasurer.id, setup.club_id, investment.id, amount=3_550, received_on=TODAY,
                              form_key=key())
    data = f"Date;Libellé;Montant\n{TODAY:%d/%m/%Y};FRAIS TENUE DE COMPTE;-12,50\n".encode()
    statement, matched = reconcile.upload(setup.treasurer.id, setup.club_id, data, reconcile.Columns(0, 1, 2))
    assert matched == 0
    db.session.rollback()
    from coop.models import BankLine

    line = db.session.scalar(select(BankLine).where(BankLine.statement_id == statement.id))
    reconcile.record_fee(setup.treasurer.id, setup.club_id, line.id, memo="Frais", form_key=key())
    db.session.rollback()

    sheet = books.balance_sheet(setup.treasurer.id, setup.club_id, on=TODAY)
    assets = {a.code: x for a, x in sheet.assets.lines}
    assert assets == {"bank": 1_502_300, f"investment:{project_id}": 300_000}
    assert sheet.assets.total == 1_802_300
    assert sheet.equity.total == 1_800_000
    assert all(x == 300_000 for _, x in sheet.equity.lines) and len(sheet.equity.lines) == 6
    assert sheet.liabilities.total == 0
    assert sheet.result == 2_300
    assert sheet.balanced
    before = books.balance_sheet(setup.treasurer.id, setup.club_id, on=TODAY - timedelta(days=1))
    assert (before.assets.total, before.equity.total, before.result, before.balanced) == (0, 0, 0, True)

    report = books.income_statement(setup.treasurer.id, setup.club_id, start=TODAY.replace(month=1, day=1),
                                    end=TODAY)
    assert {a.code: x for a, x in report.income.lines} == {"income:returns": 3_550}
    assert {a.code: x for a, x in report.expenses.lines} == {"expense:fees": 1_250}
    assert report.result == 2_300
    earlier = books.income_statement(setup.treasurer.id, setup.club_id, start=TODAY - timedelta(days=30),
                                     end=TODAY - timedelta(days=1))
    assert (earlier.income.total, earlier.expenses.total, earlier.result) == (0, 0, 0)
    refused(lambda: books.income_statement(setup.treasurer.id, setup.club_id, start=TODAY,
                                           end=TODAY - timedelta(days=1)), InvalidInput, field="start")
    money, time_table = books.trial_balance(setup.treasurer.id, setup.club_id)
    assert money.balanced and money.debits == 1_800_000 + 300_000 + 3_550 + 1_250 and time_table.debits == 0


# --- Who reads what --------------------------------------------------------------------------------------------


def test_only_the_bookkeepers_read_the_club_books(journal_club, make_club):
    s = journal_club
    other = make_club(5, name="Cigale Voisine")
    bank = account_id(s.club_id, "bank")
    for reader in (s.manager, s.treasurer):
        assert len(books.journal(reader.id, s.club_id).rows) == 7
        assert books.statement(reader.id, s.club_id, bank).closing == 40_500
    plain = s.members[3]
    for call in (lambda: books.journal(plain.id, s.club_id),
                 lambda: books.trial_balance(plain.id, s.club_id),
                 lambda: books.balance_sheet(plain.id, s.club_id, on=TODAY),
                 lambda: books.income_statement(plain.id, s.club_id, start=TODAY, end=TODAY),
                 lambda: books.transaction_for(plain.id, s.club_id, s.t["c1"]),
                 lambda: books.accounts_of(plain.id, s.club_id)):
        refused(call, NotPermitted, rule=None, field=None)
    for outsider in (other.treasurer, other.manager):
        refused(lambda who=outsider: books.journal(who.id, s.club_id), NotFound)
        refused(lambda who=outsider: books.statement(who.id, s.club_id, bank), NotFound)
    # The treasurer of this club reaches none of the other club's accounts or transactions.
    refused(lambda: books.statement(s.treasurer.id, s.club_id, account_id(other.club_id, "bank")), NotFound)
    refused(lambda: books.transaction_for(s.treasurer.id, s.club_id, 10**9), NotFound)


def test_a_member_reads_their_own_capital_statement_and_nothing_else(journal_club):
    s = journal_club
    member = s.members[3]
    mine = account_id(s.club_id, f"capital:{s.membership_id(member)}")
    page = books.statement(member.id, s.club_id, mine)
    # Capital is credited: c2 20,000 then c4 7,500 (both on d1, c4 the later number), read by the member as
    # money paid in, positive (the books keep the credits negative: see the treasurer's reading below).
    assert [(line.transaction_id, line.amount, line.balance) for line in page.lines] == [
        (s.t["c4"], 7_500, 27_500), (s.t["c2"], 20_000, 20_000)]
    assert page.paid_in
    _, lines = books.statement_lines(member.id, s.club_id, mine)
    assert [line.balance for line in lines] == [20_000, 27_500]
    as_kept = books.statement(s.treasurer.id, s.club_id, mine)
    assert [(line.amount, line.balance) for line in as_kept.lines] == [(-7_500, -27_500), (-20_000, -20_000)]
    mine_in_time = account_id(s.club_id, f"time:{s.membership_id(member)}")
    assert books.statement(member.id, s.club_id, mine_in_time).closing == 90
    for other in (account_id(s.club_id, "bank"), account_id(s.club_id, f"capital:{s.membership_id(s.members[2])}"),
                  10**9):
        refused(lambda a=other: books.statement(member.id, s.club_id, a), NotFound)
        refused(lambda a=other: books.statement_lines(member.id, s.club_id, a), NotFound)
