"""Year end (issue 16, part 2): the year's result shared into members' capital pro rata to paid-in capital ×
days held, to the cent; the books closed through 31 December; reopening only by a reversal; each member's
yearly statement; and the refusals, which write nothing. On both databases.

The year 2025 of a six-member club (manager, treasurer, secretary, mentor, two plain members):

- the first four pay in 3,000.00 on 1 January (365 days held), the fifth on 2 July (183 days), the sixth on
  31 December (1 day): weights 365 : 365 : 365 : 365 : 183 : 1 of 1,644;
- a loan of 3,000.00 paid on 1 February, repaid 1,000.00 with 60.00 of interest on 1 August;
- shares bought 2,000.00 on 1 February, a dividend of 40.00 on 1 September, all sold for 2,500.00 on
  1 October after a unanimous vote (a gain of 500.00);
- shares bought 300.00 on 1 March, written off on 1 November (a loss of 300.00);
- a bank fee of 15.00 on 15 December.

Result: 60 + 40 + 500 − 300 − 15 = 285.00. Shared: 28,500 × 365 / 1,644 = 6,327.63 cents for each of the
first four, 28,500 × 183 / 1,644 = 3,172.45, 28,500 / 1,644 = 17.34; the floors add up to 28,497, and the
three cents left go to the largest remainders (0.63, the first three by number): 6,328, 6,328, 6,328, 6,327,
3,172 and 17."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text

from coop.extensions import db
from coop.models import Account, AccountType, JournalTransaction, PeriodClose, TransactionKind, Unit, YearEnd
from coop.services import books, fund, investments, ledger, rules, yearend
from coop.services import clubs as ms
from coop.services.errors import Conflict, InvalidInput, NotFound, NotPermitted, RuleViolation
from tests.conftest import by_id, key, refused
from tests.services.test_investment_flow import approved
from tests.services.test_investment_follow_up import agree_sale

YEAR = 2025
PARTS = [6328, 6328, 6328, 6327, 3172, 17]


def contribute(setup, user, amount: int, on: date):
    return fund.record_contribution(setup.treasurer.id, setup.club_id, membership_id=setup.membership_id(user),
                                    amount=amount, received_on=on, method="transfer", idempotency_key=key())


def invest(setup, name: str, amount: int, paid_on: date, **project):
    project_id = approved(setup, name=name, amount_requested=amount, **project)
    investment = investments.record_investment(setup.treasurer.id, setup.club_id, project_id,
                                               mentor_id=setup.membership_id(setup.members[3]), form_key=key())
    payment = investments.enter_payment(setup.treasurer.id, setup.club_id, investment.id, amount=amount,
                                        paid_on=paid_on, form_key=key())
    investments.approve_payment(setup.manager.id, setup.club_id, payment.id)
    return investment


def fee(setup, amount: int, on: date):
    club_id = setup.club_id
    try:
        account = ledger.find_account(club_id, "expense:fees")
    except NotFound:
        account = ledger.open_account(club_id, code="expense:fees", name="Frais bancaires", type=AccountType.EXPENSE,
                                      unit=Unit.MONEY)
    bank = ledger.find_account(club_id, "bank")
    ledger.post(club_id, unit=Unit.MONEY, kind=TransactionKind.FEE, lines=[(account.id, amount), (bank.id, -amount)],
                idempotency_key=f"fee:{key()}", occurred_on=on, memo="Frais", author_id=setup.treasurer.id)
    db.session.commit()


def contributions_only(make_club, year: int = YEAR):
    """Five members paying 1,000.00 on 1 January of ``year``, and a fee of 10.00 on 1 June."""
    setup = make_club(5)
    for user in setup.members:
        contribute(setup, user, 100_000, date(year, 1, 1))
    fee(setup, 1_000, date(year, 6, 1))
    return setup


@pytest.fixture
def year_2025(make_club):
    setup = make_club(6, secretary=True)
    m = setup.members
    for user in m[:4]:
        contribute(setup, user, 300_000, date(YEAR, 1, 1))
    contribute(setup, m[4], 300_000, date(YEAR, 7, 2))
    contribute(setup, m[5], 300_000, date(YEAR, 12, 31))
    loan = invest(setup, "Fournil de Die", 300_000, date(YEAR, 2, 1))
    investments.record_repayment(setup.treasurer.id, setup.club_id, loan.id, principal=100_000, interest=6_000,
                                 received_on=date(YEAR, 8, 1), form_key=key())
    shares = invest(setup, "Scierie du Vercors", 200_000, date(YEAR, 2, 1), instrument="equity", legal_form="sas",
                    stake_hundredths=3000)
    investments.record_return(setup.treasurer.id, setup.club_id, shares.id, amount=4_000,
                              received_on=date(YEAR, 9, 1), form_key=key())
    agree_sale(setup, shares)
    investments.record_sale(setup.treasurer.id, setup.club_id, shares.id, stake_sold_hundredths=3000, price=250_000,
                            received_on=date(YEAR, 10, 1), form_key=key())
    lost = invest(setup, "Atelier Vélo", 30_000, date(YEAR, 3, 1), instrument="equity", legal_form="sas",
                  stake_hundredths=1000)
    investments.write_off(setup.treasurer.id, setup.club_id, lost.id, reason="Liquidation", on=date(YEAR, 11, 1),
                          form_key=key())
    fee(setup, 1_500, date(YEAR, 12, 15))
    return setup


def capitals(setup) -> list[int]:
    db.session.rollback()
    return [-ledger.find_account(setup.club_id, f"capital:{setup.membership_id(u)}").balance for u in setup.members]


def result_accounts(club_id: int) -> dict[str, int]:
    return {a.code: a.balance for a in db.session.scalars(select(Account).where(
        Account.club_id == club_id, Account.type.in_(("income", "expense"))))}


def close(setup, year: int = YEAR, user=None, **kw):
    return yearend.close_year((user or setup.treasurer).id, setup.club_id, year, form_key=kw.pop("form_key", key()),
                              **kw)


# --- The rounding ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("total", "weights", "parts"), [
    (28_500, {1: 365, 2: 365, 3: 365, 4: 365, 5: 183, 6: 1}, {1: 6328, 2: 6328, 3: 6328, 4: 6327, 5: 3172, 6: 17}),
    (100, {1: 1, 2: 1, 3: 1}, {1: 34, 2: 33, 3: 33}),
    (-100, {1: 1, 2: 1, 3: 1}, {1: -34, 2: -33, 3: -33}),
    (1, {1: 0, 2: 5}, {1: 0, 2: 1}),
    (0, {1: 3}, {1: 0}),
])
def test_a_result_is_shared_to_the_cent_by_the_largest_remainders(total, weights, parts):
    shared = yearend.share(total, weights)
    assert shared == parts
    assert sum(shared.values()) == total


def test_weights_are_paid_in_capital_times_days_held_or_capital_on_31_december(year_2025):
    setup = year_2025
    mids = [setup.membership_id(u) for u in setup.members]
    by_days = yearend.weights(setup.club_id, YEAR)
    assert [by_days[m] for m in mids] == [300_000 * 365] * 4 + [300_000 * 183, 300_000]
    at_end = yearend.weights(setup.club_id, YEAR, yearend.AT_YEAR_END)
    assert [at_end[m] for m in mids] == [300_000] * 6
    # Before the year, nobody held anything.
    assert not any(yearend.weights(setup.club_id, YEAR - 1).values())


# --- Closing ----------------------------------------------------------------------------------------------


def test_closing_a_year_shares_its_result_into_capital_and_closes_the_books(year_2025):
    setup = year_2025
    assert yearend.year_result(setup.club_id, YEAR) == 28_500
    before = capitals(setup)
    assert before == [300_000] * 6

    done = close(setup)

    assert (done.year, done.result, done.basis, done.closed_on) == (YEAR, 28_500, "days", date(YEAR, 12, 31))
    assert [c - b for c, b in zip(capitals(setup), before, strict=True)] == PARTS
    assert sum(PARTS) == 28_500
    # Every income and expense account is back to zero; the journal holds the closing entry.
    assert set(result_accounts(setup.club_id).values()) == {0}
    txn = by_id(JournalTransaction, done.transaction_id)
    assert (txn.kind, txn.occurred_on) == (TransactionKind.CLOSING, date(YEAR, 12, 31))
    assert sum(p.amount for p in txn.postings) == 0
    # The books are closed through 31 December: nothing more can be dated in the year.
    assert books.closed_through(setup.club_id) == date(YEAR, 12, 31)
    with pytest.raises(RuleViolation):
        fee(setup, 100, date(YEAR, 12, 20))
    db.session.rollback()
    # Balanced, checked, and the balance sheet shows no result left to allocate.
    assert all(t.balanced for t in books.trial_balance(setup.treasurer.id, setup.club_id))
    sheet = books.balance_sheet(setup.treasurer.id, setup.club_id, on=date(YEAR, 12, 31))
    assert sheet.result == 0 and sheet.balanced and sheet.allocated_year == YEAR
    assert ledger.check() == [] and fund.check_contributions() == [] and investments.check() == []
    # The income statement of the year still shows the year's income and expenses.
    report = books.income_statement(setup.treasurer.id, setup.club_id, start=date(YEAR, 1, 1),
                                    end=date(YEAR, 12, 31))
    assert (report.income.total, report.expenses.total, report.result) == (60_000, 31_500, 28_500)


def test_the_yearly_statement_gives_each_member_their_share_of_each_line(year_2025):
    setup = year_2025
    close(setup)
    first = yearend.yearly_statement(setup.members[0].id, setup.club_id, YEAR)
    assert not first.provisional
    assert first.club == {"interest": 6_000, "dividends": 4_000, "gains": 50_000, "disposal_losses": 0,
                          "write_offs": 30_000, "fees": 1_500, "other": 0}
    # 6,000 × 365 / 1,644 = 1,332.1; 4,000 → 888.1; 50,000 → 11,100.97 (rounded up by its remainder);
    # 30,000 → 6,660.6 (the first three of four get the cents left); 1,500 → 333.0.
    assert first.mine == {"interest": 1_332, "dividends": 888, "gains": 11_101, "disposal_losses": 0,
                          "write_offs": 6_661, "fees": 333, "other": 0}
    assert first.allocated == 6_328
    assert (first.capital_start, first.contributed, first.paid_back, first.capital_end) == (0, 300_000, 0, 306_328)
    # The member who paid in on 31 December holds one day of the year.
    last = yearend.yearly_statement(setup.treasurer.id, setup.club_id, YEAR, setup.membership_id(setup.members[5]))
    assert last.mine["interest"] == 4 and last.mine["gains"] == 30 and last.allocated == 17
    assert last.capital_end == 300_017
    # The parts of the result add up to the result.
    total = sum(yearend.yearly_statement(setup.treasurer.id, setup.club_id, YEAR, setup.membership_id(u)).allocated
                for u in setup.members)
    assert total == 28_500


def test_a_member_reads_only_their_own_statement_and_only_for_a_year_that_is_over(year_2025):
    setup = year_2025
    plain = setup.members[4]
    other = setup.membership_id(setup.members[0])
    refused(lambda: yearend.yearly_statement(plain.id, setup.club_id, YEAR, other), NotFound)
    provisional = yearend.yearly_statement(plain.id, setup.club_id, YEAR)
    assert provisional.provisional and provisional.allocated == 3_172
    refused(lambda: yearend.yearly_statement(plain.id, setup.club_id, YEAR + 1, today=date(YEAR + 1, 6, 1)),
            RuleViolation, field="year")


def test_the_charter_may_share_by_capital_on_31_december(make_club):
    setup = make_club(5, activate=False)
    ms.amend_charter(setup.manager.id, setup.club_id, {"result_by_days": False})
    ms.activate(setup.manager.id, setup.club_id)
    for n, user in enumerate(setup.members):
        contribute(setup, user, 100_000, date(YEAR, 1 + n, 1))
    fee(setup, 1_000, date(YEAR, 6, 1))
    done = close(setup)
    assert done.basis == "year_end" and done.result == -1_000
    assert capitals(setup) == [99_800] * 5  # a loss of 10.00 shared equally: 2.00 each


def test_refusals_write_nothing(make_club):
    setup = contributions_only(make_club, YEAR - 1)
    contribute(setup, setup.members[0], 50_000, date(YEAR, 3, 1))
    t, m = setup.treasurer, setup.manager
    # Not the treasurer.
    refused(lambda: close(setup, YEAR - 1, user=m), NotPermitted)
    refused(lambda: close(setup, YEAR - 1, user=setup.members[3]), NotPermitted)
    # The year is not over.
    refused(lambda: close(setup, YEAR, today=date(YEAR, 12, 31)), RuleViolation, field="year")
    # An earlier year with activity is not closed.
    refused(lambda: close(setup, YEAR), RuleViolation, field="year")
    # A year without activity, a year that is not a year.
    refused(lambda: close(setup, YEAR - 5), RuleViolation, field="year")
    refused(lambda: close(setup, "2024"), InvalidInput, field="year")
    refused(lambda: close(setup, 10**9), InvalidInput, field="year")
    refused(lambda: yearend.close_year(t.id, setup.club_id, YEAR - 1, form_key="not-a-key"), InvalidInput)
    # Already closed; the same form sent again returns the first close and writes nothing.
    sent = key()
    first = close(setup, YEAR - 1, form_key=sent)
    refused(lambda: close(setup, YEAR - 1), Conflict, field="year")
    from tests.conftest import snapshot

    before = snapshot()
    assert close(setup, YEAR - 1, form_key=sent).id == first.id
    assert snapshot() == before
    refused(lambda: close(setup, YEAR, form_key=sent), Conflict)
    # Reopening: not the treasurer, not closed, no reason.
    refused(lambda: yearend.reopen_year(m.id, setup.club_id, YEAR - 1, "erreur", form_key=key()), NotPermitted)
    refused(lambda: yearend.reopen_year(t.id, setup.club_id, YEAR - 2, "erreur", form_key=key()), Conflict)
    refused(lambda: yearend.reopen_year(t.id, setup.club_id, YEAR - 1, "  ", form_key=key()), InvalidInput)


def test_a_year_closes_only_on_books_that_pass_their_checks_and_only_this_clubs_books_count(make_club):
    """The close checks the club's own books (flask coop check, that club's part): a cached balance that is not the
    sum of its postings refuses it; another club's broken books do not, nor are they read."""
    setup = contributions_only(make_club, YEAR - 1)
    other = contributions_only(make_club, YEAR - 1)
    bank = ledger.find_account(setup.club_id, "bank").id
    db.session.execute(text("UPDATE account SET balance = balance + 1 WHERE id = :id AND club_id = :club"),
                       {"id": bank, "club": setup.club_id})
    db.session.commit()
    assert {v.club_id for v in ledger.check()} == {setup.club_id}
    assert ledger.check(other.club_id) == []
    refused(lambda: close(setup, YEAR - 1), RuleViolation, rule="books")

    closed = close(other, YEAR - 1)  # the broken club is not this one
    assert closed.year == YEAR - 1


def test_a_closed_year_is_reopened_only_by_a_reversal_and_closed_again(make_club):
    setup = contributions_only(make_club)
    t = setup.treasurer
    first = close(setup)
    assert capitals(setup) == [99_800] * 5
    assert books.closed_through(setup.club_id) == date(YEAR, 12, 31)
    periods = db.session.query(PeriodClose).filter_by(club_id=setup.club_id).count()

    sent = key()
    reopened = yearend.reopen_year(t.id, setup.club_id, YEAR, "Frais mal imputés", form_key=sent)
    assert reopened.id == first.id and reopened.reason == "Frais mal imputés"
    reversal = by_id(JournalTransaction, reopened.reopen_transaction_id)
    # Dated on the first day after the closed period; the closing entry and the period close stay.
    assert (reversal.kind, reversal.reverses_id, reversal.occurred_on) == (
        TransactionKind.REVERSAL, first.transaction_id, date(YEAR + 1, 1, 1))
    assert capitals(setup) == [100_000] * 5
    assert result_accounts(setup.club_id) == {"expense:fees": 1_000}
    assert books.closed_through(setup.club_id) == date(YEAR, 12, 31)
    assert db.session.query(PeriodClose).filter_by(club_id=setup.club_id).count() == periods
    # The same reopening form again changes nothing; the year is no longer closed.
    assert yearend.reopen_year(t.id, setup.club_id, YEAR, "Frais mal imputés", form_key=sent).id == first.id
    refused(lambda: yearend.reopen_year(t.id, setup.club_id, YEAR, "encore", form_key=key()), Conflict)
    assert YEAR not in yearend.closed_years(setup.club_id)
    # The reopened result is not income of the next year.
    report = books.income_statement(t.id, setup.club_id, start=date(YEAR + 1, 1, 1), end=date(YEAR + 1, 12, 31))
    assert report.result == 0

    again = close(setup)
    assert again.id != first.id and again.result == -1_000
    assert again.closed_on == date(YEAR + 1, 1, 1)  # 31 December is closed: the first open day
    assert capitals(setup) == [99_800] * 5
    assert set(result_accounts(setup.club_id).values()) == {0}
    assert ledger.check() == [] and fund.check_contributions() == []
    rows = db.session.scalars(select(YearEnd).where(YearEnd.club_id == setup.club_id)).all()
    assert [(r.year, r.reopened_at is not None) for r in rows] == [(YEAR, True), (YEAR, False)]
    statement = yearend.yearly_statement(setup.members[2].id, setup.club_id, YEAR)
    assert (statement.allocated, statement.capital_end, statement.mine["fees"]) == (-200, 99_800, 200)


def test_a_year_is_reopened_only_while_no_later_year_is_closed(make_club):
    setup = contributions_only(make_club, YEAR - 1)
    contribute(setup, setup.members[0], 50_000, date(YEAR, 3, 1))
    close(setup, YEAR - 1)
    close(setup, YEAR)
    t = setup.treasurer
    refused(lambda: yearend.reopen_year(t.id, setup.club_id, YEAR - 1, "erreur", form_key=key()), Conflict,
            field="year")
    yearend.reopen_year(t.id, setup.club_id, YEAR, "erreur", form_key=key())
    yearend.reopen_year(t.id, setup.club_id, YEAR - 1, "erreur", form_key=key())
    assert yearend.closed_years(setup.club_id) == set()
    # A year without income nor expense closes without an entry.
    done = close(setup, YEAR - 1)
    assert done.result == -1_000
    quiet = close(setup, YEAR)
    assert quiet.result == 0 and quiet.transaction_id is None
    assert rules.pro_rata(0, {1: 1}) == {1: 0}


def test_the_year_end_pages_list_years_with_their_result(make_club):
    setup = contributions_only(make_club)
    shown = yearend.years(setup.manager.id, setup.club_id)
    assert [(v.year, v.result, v.closed, v.over) for v in shown] == [(YEAR, -1_000, False, True)]
    refused(lambda: yearend.years(setup.members[3].id, setup.club_id), NotPermitted)
