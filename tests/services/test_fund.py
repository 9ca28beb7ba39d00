"""Pooled savings against the database: pledges, contributions, the month sheet, arrears, the fund's
position, refunds to leavers, dissolution and the register's own invariant (R4, R13)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from coop.extensions import db
from coop.models import (
    Account,
    AccountType,
    AuditEntry,
    Club,
    Contribution,
    JournalTransaction,
    Membership,
    Pledge,
    Posting,
    TransactionKind,
    Unit,
)
from coop.services import clubs as ms
from coop.services import fund, ledger
from coop.services.errors import Conflict, InvalidInput, NotFound, NotPermitted, RuleViolation
from tests.conftest import DEFAULT_CHARTER, by_id, in_threads, key, refused, row_counts

MIN = DEFAULT_CHARTER["min_monthly_contribution"]  # 7.50 a month at least …
CAP = DEFAULT_CHARTER["max_yearly_contribution"]  # … and 5,500 a year at most (R4)


# --- Helpers ----------------------------------------------------------------------------


def mid(setup, user) -> int:
    return setup.memberships[user.id]


def people(setup):
    """manager, treasurer and the three plain members of a club of five."""
    return setup.members


def pay(setup, user, amount: int, on: date = date(2025, 3, 5), *, by=None, k: str | None = None, **extra):
    """The treasurer (or ``by``) records ``amount`` received from ``user``."""
    return fund.record_contribution((by or setup.treasurer).id, setup.club_id, membership_id=mid(setup, user),
                                    amount=amount, received_on=on, method=extra.pop("method", "transfer"),
                                    idempotency_key=k or key(), **extra)


def pledge(setup, user, amount: int, rhythm: str = "monthly", today: date = date(2025, 1, 10)):
    return fund.set_pledge(user.id, setup.club_id, monthly_amount=amount, rhythm=rhythm, today=today)


def account_balance(club_id: int, code: str) -> int:
    return db.session.scalar(select(Account.balance).where(Account.club_id == club_id, Account.code == code))


def cash(setup) -> int:
    return account_balance(setup.club_id, "bank")


def capital(setup, user) -> int:
    """The member's capital as a positive number (the equity account is credited)."""
    return -account_balance(setup.club_id, f"capital:{mid(setup, user)}")


COUNTED = (Contribution, JournalTransaction, Posting, Pledge, AuditEntry, Membership)


def state():
    """Row counts of what pooled savings writes, every account's balance, every club's status."""
    db.session.rollback()
    counts = {model.__name__: row_counts(model)[0] for model in COUNTED}
    balances = db.session.execute(select(Account.id, Account.balance).order_by(Account.id)).all()
    clubs = db.session.execute(select(Club.id, Club.status).order_by(Club.id)).all()
    return counts, balances, clubs


def refused_and_consistent(call, error, **expected):
    """Refused as ``refused`` checks, nothing written, and the ledger and the contributions still agree."""
    caught = refused(call, error, **expected)
    consistent()
    return caught


def consistent():
    assert ledger.check() == []
    assert fund.check_contributions() == []


def open_investment(setup, code: str = "stake:1") -> int:
    return ledger.open_account(setup.club_id, code=code, name="Participation", type=AccountType.ASSET,
                               unit=Unit.MONEY).id


def invest(setup, account_id: int, amount: int, on: date | None = None):
    """Money leaves the bank for an investment account (cash goes down, the fund's total stays)."""
    bank = ledger.find_account(setup.club_id, "bank").id
    return ledger.post(setup.club_id, unit=Unit.MONEY, kind=TransactionKind.DISBURSEMENT, occurred_on=on,
                       lines=[(bank, -amount), (account_id, amount)], idempotency_key=key())


@pytest.fixture
def club(make_club):
    return make_club(5)


@pytest.fixture
def other(make_club):
    return make_club(5, name="Autre club")


@pytest.fixture
def with_secretary(make_club):
    setup = make_club(5, secretary=True)
    return setup


@pytest.fixture
def manager_keeps_money(make_club):
    """A club whose charter lets the manager record money (amended while forming)."""
    setup = make_club(5, activate=False)
    ms.amend_charter(setup.manager.id, setup.club_id, {"manager_records_money": True})
    ms.activate(setup.manager.id, setup.club_id)
    return setup


# --- set_pledge --------------------------------------------------------------------------


def test_first_pledge_applies_from_this_month(club):
    _, _, a, _, _ = people(club)
    p = pledge(club, a, 2000, today=date(2025, 3, 15))
    stored = by_id(Pledge, p.id)
    assert (stored.club_id, stored.membership_id, stored.monthly_amount, stored.rhythm, stored.effective_from,
            stored.author_id) == (club.club_id, mid(club, a), 2000, "monthly", date(2025, 3, 1), a.id)
    assert fund.pledge_in_force(club.club_id, mid(club, a), date(2025, 3, 1)).id == p.id
    assert fund.pledge_in_force(club.club_id, mid(club, a), date(2025, 2, 28)) is None
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "pledge.set")).all()
    assert (entry.actor_id, entry.club_id, entry.before) == (a.id, club.club_id, None)


def test_a_change_applies_from_next_month_and_history_is_kept(club):
    _, _, a, _, _ = people(club)
    first = pledge(club, a, 2000, today=date(2025, 3, 15))
    second = pledge(club, a, 3000, "quarterly", today=date(2025, 5, 20))
    third = pledge(club, a, 1000, today=date(2025, 12, 31))

    assert second.effective_from == date(2025, 6, 1)
    assert third.effective_from == date(2026, 1, 1)  # across the year's end
    assert fund.pledge_in_force(club.club_id, mid(club, a), date(2025, 5, 31)).id == first.id
    assert fund.pledge_in_force(club.club_id, mid(club, a), date(2025, 6, 1)).id == second.id
    assert fund.pledge_in_force(club.club_id, mid(club, a), date(2026, 1, 1)).id == third.id
    assert [p.id for p in fund.pledge_history(a.id, club.club_id)] == [third.id, second.id, first.id]
    assert row_counts(Pledge) == (3,)
    assert fund.latest_pledge(club.club_id, mid(club, a)).id == third.id


@pytest.mark.parametrize("rhythm", ["monthly", "quarterly", "yearly"])
def test_every_rhythm_is_accepted(club, rhythm):
    _, _, a, _, _ = people(club)
    assert pledge(club, a, 1500, rhythm).rhythm == rhythm


@pytest.mark.parametrize("amount", [MIN, 45_833], ids=["exactly the minimum", "largest under the cap"])
def test_pledge_at_the_bounds_is_accepted(club, amount):
    _, _, a, _, _ = people(club)
    assert pledge(club, a, amount).monthly_amount == amount


@pytest.mark.parametrize("amount", [MIN - 1, 45_834], ids=["one cent below the minimum", "12x passes the cap"])
def test_pledge_outside_the_bounds_is_refused_r4(club, amount):
    _, _, a, _, _ = people(club)
    refused_and_consistent(lambda: pledge(club, a, amount), RuleViolation, rule="R4", field="monthly_amount")


def test_pledge_bounds_follow_the_charter(make_club):
    setup = make_club(5, activate=False)
    ms.amend_charter(setup.manager.id, setup.club_id,
                     {"min_monthly_contribution": 1_000, "max_yearly_contribution": 120_000})
    ms.activate(setup.manager.id, setup.club_id)
    _, _, a, b, c = people(setup)
    refused_and_consistent(lambda: pledge(setup, a, 999), RuleViolation, rule="R4", field="monthly_amount")
    refused_and_consistent(lambda: pledge(setup, a, 10_001), RuleViolation, rule="R4", field="monthly_amount")
    assert pledge(setup, b, 1_000).monthly_amount == 1_000
    assert pledge(setup, c, 10_000).monthly_amount == 10_000  # twelve months: the cap exactly


@pytest.mark.parametrize("amount", [0, -750, 7.5, "750", None, True, fund.MAX_CONTRIBUTION + 1], ids=repr)
def test_pledge_amount_must_be_a_positive_whole_number(club, amount):
    _, _, a, _, _ = people(club)
    refused_and_consistent(lambda: pledge(club, a, amount), InvalidInput, field="monthly_amount")


@pytest.mark.parametrize("rhythm", ["weekly", "", None, "Monthly"], ids=repr)
def test_pledge_rhythm_must_come_from_the_list(club, rhythm):
    _, _, a, _, _ = people(club)
    refused_and_consistent(lambda: pledge(club, a, 2000, rhythm), InvalidInput, field="rhythm")


def test_the_same_pledge_again_conflicts(club):
    _, _, a, _, _ = people(club)
    pledge(club, a, 2000, today=date(2025, 3, 15))
    refused_and_consistent(lambda: pledge(club, a, 2000, today=date(2025, 4, 2)), Conflict)
    pledge(club, a, 2000, "quarterly", today=date(2025, 4, 2))  # another rhythm is a change
    assert row_counts(Pledge) == (2,)


def test_pledge_by_someone_outside_the_club_not_found(club, other, make_user):
    stranger = make_user()
    refused_and_consistent(lambda: fund.set_pledge(stranger.id, club.club_id, monthly_amount=2000, rhythm="monthly"), NotFound)
    theirs = other.members[3]
    refused_and_consistent(lambda: fund.set_pledge(theirs.id, club.club_id, monthly_amount=2000, rhythm="monthly"), NotFound)
    _, _, a, _, _ = people(club)
    ms.leave(a.id, club.club_id)
    refused_and_consistent(lambda: pledge(club, a, 2000), NotFound)


def test_pledge_history_is_private(club):
    _, treasurer, a, b, _ = people(club)
    pledge(club, a, 2000)
    refused_and_consistent(lambda: fund.pledge_history(b.id, club.club_id, mid(club, a)), NotFound)
    assert [p.monthly_amount for p in fund.pledge_history(treasurer.id, club.club_id, mid(club, a))] == [2000]
    assert [p.monthly_amount for p in fund.pledge_history(club.manager.id, club.club_id, mid(club, a))] == [2000]
    assert fund.pledge_history(b.id, club.club_id) == []


# --- record_contribution -------------------------------------------------------------------


def test_contribution_posts_bank_debit_and_capital_credit(club):
    _, treasurer, a, _, _ = people(club)
    c = pay(club, a, 2500, date(2025, 3, 5), method="cheque", bank_reference="  CHQ   0042 ")

    stored = by_id(Contribution, c.id)
    assert (stored.club_id, stored.membership_id, stored.amount, stored.received_on, stored.method,
            stored.bank_reference, stored.source, stored.recorded_by_id) == (
        club.club_id, mid(club, a), 2500, date(2025, 3, 5), "cheque", "CHQ 0042", "form", treasurer.id)
    txn = by_id(JournalTransaction, stored.transaction_id)
    assert (txn.kind, txn.unit, txn.occurred_on, txn.author_id, txn.club_id) == (
        "contribution", "money", date(2025, 3, 5), treasurer.id, club.club_id)
    bank = ledger.find_account(club.club_id, "bank").id
    cap = ledger.find_account(club.club_id, f"capital:{mid(club, a)}").id
    assert sorted((p.account_id, p.amount) for p in txn.postings) == sorted([(bank, 2500), (cap, -2500)])
    assert (cash(club), capital(club, a)) == (2500, 2500)
    assert row_counts(Contribution, JournalTransaction, Posting) == (1, 1, 2)
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "contribution.record")) == 1
    consistent()


@pytest.mark.parametrize("method", ["transfer", "cheque", "cash"])
def test_every_payment_method(club, method):
    _, _, a, _, _ = people(club)
    assert pay(club, a, 1000, method=method).method == method


def test_the_same_form_twice_posts_once(club):
    _, _, a, _, _ = people(club)
    k = key()
    first = pay(club, a, 2500, k=k)
    before = state()
    again = pay(club, a, 2500, k=k)
    assert again.id == first.id
    assert state() == before
    assert (cash(club), capital(club, a)) == (2500, 2500)


def test_the_same_key_for_another_entry_conflicts(club):
    _, _, a, b, _ = people(club)
    k = key()
    pay(club, a, 2500, k=k)
    refused_and_consistent(lambda: pay(club, a, 2600, k=k), Conflict)
    refused_and_consistent(lambda: pay(club, b, 2500, k=k), Conflict)
    refused_and_consistent(lambda: pay(club, a, 2500, date(2025, 3, 6), k=k), Conflict)


def test_yearly_cap_reached_exactly_then_one_cent_over(club):
    _, _, a, _, _ = people(club)
    pay(club, a, 549_000, date(2025, 1, 10))
    pay(club, a, 1_000, date(2025, 12, 31))  # 5,500.00 exactly
    assert capital(club, a) == CAP
    refused_and_consistent(lambda: pay(club, a, 1, date(2025, 12, 31)), RuleViolation, rule="R4", field="amount")
    refused_and_consistent(lambda: pay(club, a, 1, date(2025, 6, 1)), RuleViolation, rule="R4", field="amount")


def test_yearly_cap_passed_by_one_cent_is_refused(club):
    _, _, a, _, _ = people(club)
    pay(club, a, 549_000, date(2025, 1, 10))
    refused_and_consistent(lambda: pay(club, a, 1_001, date(2025, 11, 30)), RuleViolation, rule="R4", field="amount")
    refused_and_consistent(lambda: pay(club, a, CAP + 1, date(2024, 5, 1)), RuleViolation, rule="R4", field="amount")


def test_yearly_cap_counts_only_the_same_calendar_year(club):
    _, _, a, b, _ = people(club)
    pay(club, a, CAP, date(2024, 12, 31))
    pay(club, a, CAP, date(2025, 1, 1))
    pay(club, a, CAP, date(2026, 1, 1))
    pay(club, b, CAP, date(2025, 6, 1))  # another member's payments are theirs
    assert capital(club, a) == 3 * CAP
    refused_and_consistent(lambda: pay(club, a, 1, date(2025, 12, 31)), RuleViolation, rule="R4")


def test_yearly_cap_follows_the_charter(make_club):
    setup = make_club(5, activate=False)
    ms.amend_charter(setup.manager.id, setup.club_id, {"max_yearly_contribution": 120_000})
    ms.activate(setup.manager.id, setup.club_id)
    _, _, a, _, _ = people(setup)
    pay(setup, a, 120_000)
    refused_and_consistent(lambda: pay(setup, a, 1), RuleViolation, rule="R4", field="amount")


def test_reversed_contributions_do_not_count_toward_the_cap(club):
    _, treasurer, a, _, _ = people(club)
    wrong = pay(club, a, CAP, date(2025, 2, 1))
    refused_and_consistent(lambda: pay(club, a, 1, date(2025, 2, 2)), RuleViolation, rule="R4")
    fund.reverse_contribution(treasurer.id, club.club_id, wrong.id, reason="Saisie en double", idempotency_key=key())
    assert fund.paid_in_year(club.club_id, mid(club, a), 2025) == 0
    pay(club, a, CAP, date(2025, 2, 2))
    assert capital(club, a) == CAP
    consistent()


def test_contribution_for_a_member_who_left_is_refused_r4(club):
    _, _, a, _, _ = people(club)
    pay(club, a, 1000)
    ms.leave(a.id, club.club_id)
    refused_and_consistent(lambda: pay(club, a, 1000), RuleViolation, rule="R4", field="membership_id")


def test_contribution_for_a_pending_member_is_refused_r4(club, make_user):
    newcomer = make_user()
    _, code = ms.invite(club.manager.id, club.club_id, form_key=key())
    asked = ms.join(newcomer.id, code)
    refused_and_consistent(lambda: fund.record_contribution(
        club.treasurer.id, club.club_id, membership_id=asked.id, amount=1000, received_on=date(2025, 3, 5),
        method="transfer", idempotency_key=key()), RuleViolation, rule="R4", field="membership_id")


@pytest.mark.parametrize("target", ["other club", "unknown", "text", "bool"])
def test_contribution_for_someone_not_of_this_club_not_found(club, other, target):
    membership_id = {
        "other club": mid(other, other.members[2]),
        "unknown": 10_000_000,
        "text": str(mid(club, club.members[2])),
        "bool": True,
    }[target]
    refused_and_consistent(lambda: fund.record_contribution(
        club.treasurer.id, club.club_id, membership_id=membership_id, amount=1000, received_on=date(2025, 3, 5),
        method="transfer", idempotency_key=key()), NotFound)
    assert cash(other) == 0


def test_a_plain_member_cannot_record_money(club):
    _, _, a, b, _ = people(club)
    refused_and_consistent(lambda: pay(club, b, 1000, by=a), NotPermitted)
    refused_and_consistent(lambda: pay(club, a, 1000, by=a), NotPermitted)


def test_a_secretary_cannot_record_money(with_secretary):
    secretary = with_secretary.members[2]
    refused_and_consistent(lambda: pay(with_secretary, with_secretary.members[3], 1000, by=secretary), NotPermitted)


def test_the_manager_records_money_only_where_the_charter_says_so(club, manager_keeps_money):
    refused_and_consistent(lambda: pay(club, club.members[2], 1000, by=club.manager), NotPermitted)
    c = pay(manager_keeps_money, manager_keeps_money.members[2], 1000, by=manager_keeps_money.manager)
    assert c.recorded_by_id == manager_keeps_money.manager.id
    assert cash(manager_keeps_money) == 1000
    # The treasurer still may.
    pay(manager_keeps_money, manager_keeps_money.members[3], 1000)
    assert cash(manager_keeps_money) == 2000


def test_someone_outside_the_club_cannot_record_money(club, other, make_user):
    stranger = make_user()
    refused_and_consistent(lambda: pay(club, club.members[2], 1000, by=stranger), NotFound)
    refused_and_consistent(lambda: pay(club, club.members[2], 1000, by=other.treasurer), NotFound)


@pytest.mark.parametrize(
    "received_on",
    [date.today() + timedelta(days=1), date(1999, 12, 31), "2025-03-05", None,
     datetime(2025, 3, 5, 12, 0)],
    ids=["tomorrow", "before 2000", "text", "None", "a datetime"],
)
def test_contribution_date_must_be_a_past_date(club, received_on):
    refused_and_consistent(lambda: pay(club, club.members[2], 1000, received_on), InvalidInput, field="received_on")


def test_contribution_today_is_accepted(club):
    assert pay(club, club.members[2], 1000, date.today()).received_on == date.today()


@pytest.mark.parametrize("method", ["paypal", "", None, "Transfer"], ids=repr)
def test_contribution_method_must_come_from_the_list(club, method):
    refused_and_consistent(lambda: pay(club, club.members[2], 1000, method=method), InvalidInput, field="method")


@pytest.mark.parametrize("amount", [0, -100, 1.5, 100.0, "100", None, True, fund.MAX_CONTRIBUTION + 1], ids=repr)
def test_contribution_amount_must_be_a_positive_whole_number(club, amount):
    refused_and_consistent(lambda: pay(club, club.members[2], amount), InvalidInput, field="amount")


def test_bank_reference_at_most_80_characters(club):
    refused_and_consistent(lambda: pay(club, club.members[2], 1000, bank_reference="R" * 81), InvalidInput,
                           field="bank_reference")
    refused_and_consistent(lambda: pay(club, club.members[2], 1000, bank_reference="VIR\x00042"), InvalidInput,
                           field="bank_reference")
    assert pay(club, club.members[2], 1000, bank_reference="R" * 80).bank_reference == "R" * 80


def test_no_contribution_once_the_club_is_dissolving(club):
    begin_and_check(club)
    refused_and_consistent(lambda: pay(club, club.members[2], 1000), RuleViolation, rule="R5")


# --- reverse_contribution ------------------------------------------------------------------


def test_reversal_posts_the_mirror_and_keeps_the_row(club):
    _, treasurer, a, _, _ = people(club)
    c = pay(club, a, 2500)
    original = c.transaction_id
    rev = fund.reverse_contribution(treasurer.id, club.club_id, c.id, reason="Mauvais membre",
                                    idempotency_key=key())
    stored = by_id(JournalTransaction, rev.id)
    assert (stored.kind, stored.reverses_id, stored.memo, stored.author_id) == (
        "reversal", original, "Mauvais membre", treasurer.id)
    assert sorted((p.account_id, p.amount) for p in stored.postings) == sorted(
        (p.account_id, -p.amount) for p in by_id(JournalTransaction, original).postings)
    assert (cash(club), capital(club, a)) == (0, 0)
    assert by_id(Contribution, c.id) is not None  # the register keeps the row
    [row] = fund.contributions(treasurer.id, club.club_id)
    assert row.reversed_by == rev.id
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "contribution.reverse")) == 1
    consistent()


@pytest.mark.parametrize("reason", ["", "   ", None], ids=repr)
def test_reversal_needs_a_reason(club, reason):
    c = pay(club, club.members[2], 2500)
    refused_and_consistent(lambda: fund.reverse_contribution(club.treasurer.id, club.club_id, c.id, reason=reason,
                                                             idempotency_key=key()), InvalidInput, field="reason")


def test_reversing_twice_conflicts_but_a_replay_returns_the_reversal(club):
    c = pay(club, club.members[2], 2500)
    k = key()
    rev = fund.reverse_contribution(club.treasurer.id, club.club_id, c.id, reason="Erreur", idempotency_key=k)
    before = state()
    assert fund.reverse_contribution(club.treasurer.id, club.club_id, c.id, reason="Erreur",
                                     idempotency_key=k).id == rev.id
    assert state()[0]["JournalTransaction"] == before[0]["JournalTransaction"]
    refused_and_consistent(lambda: fund.reverse_contribution(club.treasurer.id, club.club_id, c.id, reason="Encore",
                                                             idempotency_key=key()), Conflict)


def test_reversing_another_clubs_contribution_not_found(club, other):
    theirs = pay(other, other.members[2], 2500)
    refused_and_consistent(lambda: fund.reverse_contribution(club.treasurer.id, club.club_id, theirs.id, reason="Erreur",
                                                             idempotency_key=key()), NotFound)
    refused_and_consistent(lambda: fund.reverse_contribution(club.treasurer.id, club.club_id, theirs.id + 1000,
                                                             reason="Erreur", idempotency_key=key()), NotFound)
    assert cash(other) == 2500


def test_only_the_treasurer_reverses(club):
    c = pay(club, club.members[2], 2500)
    refused_and_consistent(lambda: fund.reverse_contribution(club.members[2].id, club.club_id, c.id, reason="Erreur",
                                                             idempotency_key=key()), NotPermitted)
    refused_and_consistent(lambda: fund.reverse_contribution(club.manager.id, club.club_id, c.id, reason="Erreur",
                                                             idempotency_key=key()), NotPermitted)


# --- Listing contributions -------------------------------------------------------------------


def test_a_member_lists_only_their_own_contributions(club):
    manager, treasurer, a, b, _ = people(club)
    mine = pay(club, a, 1000)
    pay(club, b, 2000)
    assert [r.contribution.id for r in fund.contributions(a.id, club.club_id)] == [mine.id]
    refused_and_consistent(lambda: fund.contributions(a.id, club.club_id, membership_id=mid(club, b)), NotFound)
    assert len(fund.contributions(treasurer.id, club.club_id)) == 2
    assert len(fund.contributions(manager.id, club.club_id)) == 2
    assert [r.contribution.amount for r in fund.contributions(treasurer.id, club.club_id,
                                                              membership_id=mid(club, b))] == [2000]


# --- month_sheet and record_month ---------------------------------------------------------------

QUARTER_MONTHS = {1, 4, 7, 10}


@pytest.fixture
def pledged(club):
    """manager 20.00 monthly, treasurer 30.00 quarterly, a 10.00 yearly, b no pledge, c 7.50 monthly (from Jan 2025)."""
    manager, treasurer, a, _, c = people(club)
    pledge(club, manager, 2000, "monthly")
    pledge(club, treasurer, 3000, "quarterly")
    pledge(club, a, 1000, "yearly")
    pledge(club, c, MIN, "monthly")
    return club


def dues(lines) -> dict[int, int]:
    return {line.membership.id: line.due for line in lines}


@pytest.mark.parametrize("month", range(1, 13))
def test_month_sheet_prefills_dues_from_pledges_by_rhythm(pledged, month):
    manager, treasurer, a, b, c = people(pledged)
    sheet = fund.month_sheet(treasurer.id, pledged.club_id, date(2025, month, 17))
    assert dues(sheet) == {
        mid(pledged, manager): 2000,
        mid(pledged, treasurer): 9000 if month in QUARTER_MONTHS else 0,
        mid(pledged, a): 12_000 if month == 1 else 0,
        mid(pledged, b): 0,
        mid(pledged, c): MIN,
    }


def test_month_sheet_follows_pledge_changes_and_leavers(pledged):
    manager, treasurer, a, b, c = people(pledged)
    pledge(pledged, manager, 4000, today=date(2025, 2, 10))  # from March
    ms.leave(c.id, pledged.club_id)
    feb = dues(fund.month_sheet(treasurer.id, pledged.club_id, date(2025, 2, 1)))
    mar = dues(fund.month_sheet(treasurer.id, pledged.club_id, date(2025, 3, 1)))
    assert (feb[mid(pledged, manager)], mar[mid(pledged, manager)]) == (2000, 4000)
    assert mid(pledged, c) not in mar  # only active members are listed
    assert set(mar) == {mid(pledged, u) for u in (manager, treasurer, a, b)}
    # Before the first pledge nothing is due.
    assert set(dues(fund.month_sheet(treasurer.id, pledged.club_id, date(2024, 12, 1))).values()) == {0}


def test_month_sheet_shows_what_was_already_received_that_month(pledged):
    manager, treasurer, a, _, _ = people(pledged)
    pay(pledged, manager, 1200, date(2025, 3, 2))
    pay(pledged, manager, 800, date(2025, 3, 31))
    pay(pledged, manager, 5000, date(2025, 4, 1))
    undone = pay(pledged, a, 700, date(2025, 3, 10))
    fund.reverse_contribution(treasurer.id, pledged.club_id, undone.id, reason="Erreur", idempotency_key=key())
    paid = {line.membership.id: line.paid_in_month
            for line in fund.month_sheet(treasurer.id, pledged.club_id, date(2025, 3, 1))}
    assert paid[mid(pledged, manager)] == 2000
    assert paid[mid(pledged, a)] == 0


def test_month_sheet_is_for_officers(with_secretary, other):
    setup = with_secretary
    manager, treasurer, secretary, b, _ = people(setup)
    assert len(fund.month_sheet(manager.id, setup.club_id, date(2025, 1, 1))) == 5
    assert len(fund.month_sheet(treasurer.id, setup.club_id, date(2025, 1, 1))) == 5
    refused_and_consistent(lambda: fund.month_sheet(b.id, setup.club_id, date(2025, 1, 1)), NotPermitted)
    refused_and_consistent(lambda: fund.month_sheet(secretary.id, setup.club_id, date(2025, 1, 1)), NotPermitted)
    refused_and_consistent(lambda: fund.month_sheet(other.treasurer.id, setup.club_id, date(2025, 1, 1)), NotFound)



@pytest.mark.parametrize("month", [date(9999, 12, 1), date(1, 1, 1)])
def test_a_month_sheet_far_from_now_is_refused(club, month):
    """Issue 15: the service took any month (the page stopped at 2999 on its own)."""
    refused_and_consistent(lambda: fund.month_sheet(club.treasurer.id, club.club_id, month), InvalidInput,
                           field="month")

def month_lines(setup, amounts) -> list[tuple[int, int | None]]:
    return [(mid(setup, user), amount) for user, amount in zip(people(setup)[:len(amounts)], amounts, strict=True)]


def record_month(setup, lines, *, form_key=None, received_on=date(2025, 1, 31), by=None, method="transfer"):
    return fund.record_month((by or setup.treasurer).id, setup.club_id, lines=lines, received_on=received_on,
                             method=method, form_key=form_key or key())


def test_record_month_posts_each_line_and_skips_empty_ones(pledged):
    manager, treasurer, a, b, c = people(pledged)
    sheet = fund.month_sheet(treasurer.id, pledged.club_id, date(2025, 1, 1))
    lines = [(line.membership.id, line.due) for line in sheet]  # as prefilled: b's line is 0
    lines = [(m, None if m == mid(pledged, a) else due) for m, due in lines]  # a's line left empty
    recorded = record_month(pledged, lines)

    assert sorted((r.membership_id, r.amount) for r in recorded) == sorted(
        [(mid(pledged, manager), 2000), (mid(pledged, treasurer), 9000), (mid(pledged, c), MIN)])
    assert {r.source for r in recorded} == {"month"}
    assert {r.received_on for r in recorded} == {date(2025, 1, 31)}
    assert cash(pledged) == 2000 + 9000 + MIN
    assert (capital(pledged, a), capital(pledged, b)) == (0, 0)
    assert row_counts(Contribution, JournalTransaction) == (3, 3)
    consistent()


def test_record_month_replayed_posts_nothing_new(pledged):
    lines = month_lines(pledged, [2000, 9000, 12_000, None, MIN])
    k = key()
    first = record_month(pledged, lines, form_key=k)
    before = state()
    again = record_month(pledged, lines, form_key=k)
    assert sorted(c.id for c in again) == sorted(c.id for c in first)
    assert state() == before
    assert cash(pledged) == 2000 + 9000 + 12_000 + MIN


def test_record_month_one_refused_line_refuses_the_sheet(pledged):
    _, _, a, _, c = people(pledged)
    pay(pledged, c, 549_000, date(2025, 1, 5))
    lines = month_lines(pledged, [2000, 9000, 12_000, None, 1_001])  # c would pass the cap by one cent
    err = refused_and_consistent(lambda: record_month(pledged, lines), RuleViolation, rule="R4",
                                 field=f"amount_{mid(pledged, c)}")
    assert c.name in str(err.message)
    # With c's line at the cap exactly, the sheet goes through.
    assert len(record_month(pledged, month_lines(pledged, [2000, 9000, 12_000, None, 1_000]))) == 4
    assert capital(pledged, c) == CAP


def test_record_month_with_a_leaver_refuses_the_sheet(pledged):
    _, _, a, _, _ = people(pledged)
    lines = month_lines(pledged, [2000, 9000, 12_000, None, MIN])
    ms.leave(a.id, pledged.club_id)
    refused_and_consistent(lambda: record_month(pledged, lines), RuleViolation, rule="R4", field=f"amount_{mid(pledged, a)}")


@pytest.mark.parametrize("bad", [-100, 1.5, "20", True], ids=repr)
def test_record_month_malformed_line_refuses_the_sheet(pledged, bad):
    _, _, a, _, _ = people(pledged)
    lines = month_lines(pledged, [2000, 9000, bad, None, MIN])
    refused_and_consistent(lambda: record_month(pledged, lines), InvalidInput, field=f"amount_{mid(pledged, a)}")


def test_record_month_with_another_clubs_member_writes_nothing(pledged, other):
    lines = [*month_lines(pledged, [2000, 9000]), (mid(other, other.members[2]), 1000)]
    refused_and_consistent(lambda: record_month(pledged, lines), NotFound)


def test_record_month_refusals(pledged):
    _, _, a, b, _ = people(pledged)
    refused_and_consistent(lambda: record_month(pledged, []), InvalidInput)
    refused_and_consistent(lambda: record_month(pledged, month_lines(pledged, [None, 0, None, 0, None])), InvalidInput)
    refused_and_consistent(lambda: record_month(pledged, [(mid(pledged, a), 1000), (mid(pledged, a), 1000)]), InvalidInput)
    refused_and_consistent(lambda: record_month(pledged, month_lines(pledged, [2000]),
                                                received_on=date.today() + timedelta(days=1)), InvalidInput, field="received_on")
    refused_and_consistent(lambda: record_month(pledged, month_lines(pledged, [2000]), method="paypal"), InvalidInput,
                           field="method")
    refused_and_consistent(lambda: record_month(pledged, month_lines(pledged, [2000]), by=b), NotPermitted)
    refused_and_consistent(lambda: record_month(pledged, month_lines(pledged, [2000]), by=pledged.manager), NotPermitted)


# --- Arrears and standing ---------------------------------------------------------------------

TODAY = date(2025, 5, 10)  # January to April have ended


@pytest.fixture
def behind(club):
    """Pledges from January 2025 and payments up to early May, seen on 10 May 2025.

    manager: 7.50 monthly, paid every month        → up to date
    a: 20.00 monthly, paid January and February   → 40.00 behind since March
    b: 10.00 monthly, 30.00 from March; paid 50.00 → 30.00 behind since April
    c: 10.00 quarterly from February; paid nothing → 30.00 behind since April
    treasurer: no pledge"""
    manager, _, a, b, c = people(club)
    pledge(club, manager, MIN, today=date(2025, 1, 3))
    pledge(club, a, 2000, today=date(2025, 1, 20))
    pledge(club, b, 1000, today=date(2025, 1, 5))
    pledge(club, b, 3000, today=date(2025, 2, 15))  # from March
    pledge(club, c, 1000, "quarterly", today=date(2025, 2, 3))
    for month in (1, 2, 3, 4):
        pay(club, manager, MIN, date(2025, month, 5))
    pay(club, a, 2000, date(2025, 1, 15))
    pay(club, a, 2000, date(2025, 2, 10))
    pay(club, b, 5000, date(2025, 2, 1))
    return club


def test_standing_counts_ended_months_only(behind):
    manager, _, a, b, c = people(behind)
    s = fund.my_standing(a.id, behind.club_id, today=TODAY)
    assert (s.due, s.paid, s.arrears, s.behind_since) == (8000, 4000, 4000, date(2025, 3, 1))
    assert s.membership.id == mid(behind, a) and s.pledge.monthly_amount == 2000
    s = fund.my_standing(b.id, behind.club_id, today=TODAY)
    assert (s.due, s.paid, s.arrears, s.behind_since) == (1000 + 1000 + 3000 + 3000, 5000, 3000, date(2025, 4, 1))
    assert s.pledge.monthly_amount == 3000
    s = fund.my_standing(c.id, behind.club_id, today=TODAY)
    assert (s.due, s.paid, s.arrears, s.behind_since) == (3000, 0, 3000, date(2025, 4, 1))
    s = fund.my_standing(manager.id, behind.club_id, today=TODAY)
    assert (s.due, s.paid, s.arrears, s.behind_since) == (4 * MIN, 4 * MIN, 0, None)


def test_standing_without_a_pledge(behind):
    s = fund.my_standing(behind.treasurer.id, behind.club_id, today=TODAY)
    assert (s.pledge, s.due, s.paid, s.arrears, s.behind_since) == (None, 0, 0, 0, None)


def test_standing_the_last_day_of_a_month_and_the_first_of_the_next(behind):
    _, _, a, _, _ = people(behind)
    assert fund.my_standing(a.id, behind.club_id, today=date(2025, 5, 31)).due == 8000
    assert fund.my_standing(a.id, behind.club_id, today=date(2025, 6, 1)).due == 10_000
    assert fund.my_standing(a.id, behind.club_id, today=date(2025, 1, 31)).due == 0


def test_catching_up_clears_arrears_and_a_reversal_brings_them_back(behind):
    _, treasurer, a, _, _ = people(behind)
    late = pay(behind, a, 4000, date(2025, 5, 6))
    s = fund.my_standing(a.id, behind.club_id, today=TODAY)
    assert (s.paid, s.arrears, s.behind_since) == (8000, 0, None)
    fund.reverse_contribution(treasurer.id, behind.club_id, late.id, reason="Chèque sans provision",
                              idempotency_key=key())
    s = fund.my_standing(a.id, behind.club_id, today=TODAY)
    assert (s.paid, s.arrears, s.behind_since) == (4000, 4000, date(2025, 3, 1))


def test_arrears_lists_who_is_behind_furthest_first(behind):
    _, treasurer, a, b, c = people(behind)
    found = fund.arrears(treasurer.id, behind.club_id, today=TODAY)
    assert [s.membership.id for s in found][0] == mid(behind, a)
    assert {s.membership.id: (s.arrears, s.behind_since) for s in found} == {
        mid(behind, a): (4000, date(2025, 3, 1)),
        mid(behind, b): (3000, date(2025, 4, 1)),
        mid(behind, c): (3000, date(2025, 4, 1)),
    }
    tied = [s.membership.user.name for s in found[1:]]
    assert tied == sorted(tied)
    assert [s.membership.id for s in fund.arrears(behind.manager.id, behind.club_id, today=TODAY)] == [
        s.membership.id for s in found]


def test_arrears_leave_out_members_who_left(behind):
    _, treasurer, a, _, _ = people(behind)
    ms.leave(a.id, behind.club_id)
    assert mid(behind, a) not in {s.membership.id for s in fund.arrears(treasurer.id, behind.club_id, today=TODAY)}


def test_a_member_sees_only_their_own_standing(behind, other):
    manager, treasurer, a, b, _ = people(behind)
    refused_and_consistent(lambda: fund.my_standing(b.id, behind.club_id, mid(behind, a), today=TODAY), NotFound)
    assert fund.my_standing(a.id, behind.club_id, mid(behind, a), today=TODAY).arrears == 4000
    assert fund.my_standing(treasurer.id, behind.club_id, mid(behind, a), today=TODAY).arrears == 4000
    assert fund.my_standing(manager.id, behind.club_id, mid(behind, a), today=TODAY).arrears == 4000
    refused_and_consistent(lambda: fund.my_standing(treasurer.id, behind.club_id, mid(other, other.members[2]),
                                                    today=TODAY), NotFound)
    refused_and_consistent(lambda: fund.my_standing(other.members[2].id, behind.club_id, today=TODAY), NotFound)


def test_arrears_are_for_officers(behind, other):
    refused_and_consistent(lambda: fund.arrears(behind.members[2].id, behind.club_id, today=TODAY), NotPermitted)
    refused_and_consistent(lambda: fund.arrears(other.treasurer.id, behind.club_id, today=TODAY), NotFound)


# --- The fund's position and its history ------------------------------------------------------


def test_position_cash_capital_and_shares(club):
    manager, treasurer, a, b, c = people(club)
    pay(club, manager, 10_000)
    pay(club, treasurer, 20_000)
    pay(club, a, 30_000)
    pay(club, c, 40_000)
    undone = pay(club, b, 5_000)
    fund.reverse_contribution(treasurer.id, club.club_id, undone.id, reason="Erreur", idempotency_key=key())

    pos = fund.position(treasurer.id, club.club_id)
    assert (pos.currency, pos.cash, pos.invested, pos.committed, pos.available, pos.total_capital) == (
        "EUR", 100_000, 0, 0, 100_000, 100_000)
    lines = {s.membership.id: s for s in pos.members}
    assert set(lines) == {mid(club, u) for u in people(club)}
    assert {m: (s.contributed, s.capital, s.share) for m, s in lines.items()} == {
        mid(club, manager): (10_000, 10_000, Decimal("10.00")),
        mid(club, treasurer): (20_000, 20_000, Decimal("20.00")),
        mid(club, a): (30_000, 30_000, Decimal("30.00")),
        mid(club, b): (0, 0, Decimal("0.00")),
        mid(club, c): (40_000, 40_000, Decimal("40.00")),
    }
    assert sum(s.share for s in pos.members) == 100
    assert [s.capital for s in pos.members] == sorted((s.capital for s in pos.members), reverse=True)


def test_shares_add_up_to_a_hundred_within_rounding(club):
    manager, treasurer, a, b, c = people(club)
    for user in (manager, treasurer, a):
        pay(club, user, 1_000)  # thirds: 33.33 % each
    pos = fund.position(treasurer.id, club.club_id)
    assert {s.membership.id: s.share for s in pos.members if s.capital} == {
        mid(club, u): Decimal("33.33") for u in (manager, treasurer, a)}
    assert all(s.share == s.share.quantize(Decimal("0.01")) for s in pos.members)
    assert abs(sum(s.share for s in pos.members) - 100) <= Decimal("0.02")
    for user, amount in ((b, 3_333), (c, 77_777)):
        pay(club, user, amount)
    pos = fund.position(treasurer.id, club.club_id)
    assert abs(sum(s.share for s in pos.members) - 100) <= Decimal("0.02")
    assert pos.total_capital == cash(club) == 3_000 + 3_333 + 77_777


def test_position_with_money_invested(club):
    _, treasurer, a, b, _ = people(club)
    pay(club, a, 60_000)
    pay(club, b, 40_000)
    invest(club, open_investment(club), 30_000)
    pos = fund.position(treasurer.id, club.club_id)
    assert (pos.cash, pos.invested, pos.available, pos.total_capital) == (70_000, 30_000, 70_000, 100_000)
    assert {s.membership.id: s.share for s in pos.members}[mid(club, a)] == Decimal("60.00")


def test_a_member_sees_their_own_line_and_the_totals(club, other):
    manager, treasurer, a, b, _ = people(club)
    pay(club, a, 10_000)
    pay(club, b, 30_000)
    everyone = fund.position(treasurer.id, club.club_id)
    mine = fund.position(a.id, club.club_id)
    assert [s.membership.id for s in mine.members] == [mid(club, a)]
    assert mine.members[0].share == Decimal("25.00")
    assert (mine.cash, mine.invested, mine.total_capital) == (everyone.cash, everyone.invested,
                                                             everyone.total_capital) == (40_000, 0, 40_000)
    assert len(fund.position(manager.id, club.club_id).members) == 5
    refused_and_consistent(lambda: fund.position(other.members[2].id, club.club_id), NotFound)


def test_position_agrees_with_the_ledger(club):
    manager, treasurer, a, b, c = people(club)
    for i, user in enumerate(people(club)):
        pay(club, user, 1_000 * (i + 1))
    pos = fund.position(treasurer.id, club.club_id)
    assert pos.cash == ledger.balance_of(ledger.find_account(club.club_id, "bank").id)
    for s in pos.members:
        assert s.capital == -ledger.balance_of(ledger.find_account(club.club_id, f"capital:{s.membership.id}").id)
    assert pos.total_capital == sum(s.contributed - s.refunded for s in pos.members)


def test_fund_history_month_by_month(club, other):
    manager, treasurer, a, _, _ = people(club)
    assert fund.fund_history(a.id, club.club_id) == []
    pay(club, manager, 3_000, date(2025, 1, 12))
    pay(club, a, 2_000, date(2025, 3, 3))
    pay(club, a, 500, date(2025, 3, 28))
    invest(club, open_investment(club), 1_000, on=date(2025, 4, 2))

    points = fund.fund_history(a.id, club.club_id)
    assert points[0].month == date(2025, 1, 1)
    assert points[-1].month == date.today().replace(day=1)
    assert all(later.month > earlier.month for earlier, later in zip(points, points[1:], strict=False))
    by_month = {p.month: (p.contributions, p.invested, p.cash) for p in points}
    assert by_month[date(2025, 1, 1)] == (3_000, 0, 3_000)
    assert by_month[date(2025, 2, 1)] == (0, 0, 3_000)
    assert by_month[date(2025, 3, 1)] == (2_500, 0, 5_500)
    assert by_month[date(2025, 4, 1)] == (0, 1_000, 4_500)
    assert (points[-1].cash, points[-1].invested) == (cash(club), 1_000)
    assert sum(p.contributions for p in points) == 5_500
    assert fund.fund_history(treasurer.id, club.club_id) == points
    refused_and_consistent(lambda: fund.fund_history(other.members[2].id, club.club_id), NotFound)


def test_every_amount_read_back_is_a_whole_number(club):
    """Amounts are integers on both databases (PostgreSQL's SUM of a bigint is a numeric)."""
    manager, treasurer, a, b, _ = people(club)
    pledge(club, a, 2_000, today=date(2025, 1, 3))
    pay(club, a, 2_000, date(2025, 1, 5))
    pay(club, b, 3_000, date(2025, 1, 6))
    invest(club, open_investment(club), 1_000, on=date(2025, 2, 1))

    def whole(*values):
        return all(type(v) is int for v in values)

    pos = fund.position(treasurer.id, club.club_id)
    assert whole(pos.cash, pos.invested, pos.committed, pos.available, pos.total_capital)
    assert all(whole(s.contributed, s.refunded, s.capital) for s in pos.members)
    assert whole(fund.paid_in_year(club.club_id, mid(club, a), 2025))
    assert all(whole(line.due, line.paid_in_month)
               for line in fund.month_sheet(treasurer.id, club.club_id, date(2025, 1, 1)))
    s = fund.my_standing(a.id, club.club_id, today=date(2025, 4, 1))
    assert whole(s.due, s.paid, s.arrears)
    assert all(whole(p.contributions, p.invested, p.cash) for p in fund.fund_history(a.id, club.club_id))


# --- Refunds to leavers (R13) -----------------------------------------------------------------------


def approved(setup, payout, by=None) -> JournalTransaction:
    """A second officer (the manager unless ``by``) approves a payout entered: its posted transaction."""
    approver = by or (setup.manager if payout.entered_by_id != mid(setup, setup.manager) else setup.treasurer)
    payout = fund.approve_payout(approver.id, setup.club_id, payout.id)
    return by_id(JournalTransaction, payout.transaction_id)


def leave(setup, user):
    """``user`` leaves, and the treasurer values their share at once (the charter's notice is nil)."""
    ms.leave(user.id, setup.club_id)
    fund.value_exit(setup.treasurer.id, setup.club_id, mid(setup, user), form_key=key())


def owed(setup, user) -> int:
    """What the club owes ``user`` once their share is valued."""
    account = db.session.scalar(select(Account).where(Account.club_id == setup.club_id,
                                                      Account.code == f"payable:{mid(setup, user)}"))
    return -account.balance if account else 0


def refund(setup, user, amount, *, by=None, k=None, approve=True):
    """The treasurer (or ``by``) enters a refund and, unless ``approve`` is false, the manager approves it."""
    payout = fund.refund((by or setup.treasurer).id, setup.club_id, mid(setup, user), amount=amount,
                         idempotency_key=k or key())
    return approved(setup, payout) if approve else payout


@pytest.fixture
def leaver(club):
    """a has 100.00 of capital and has left; b has 200.00 and stays."""
    _, _, a, b, _ = people(club)
    pay(club, a, 10_000)
    pay(club, b, 20_000)
    leave(club, a)
    return club


def test_refund_exactly_the_capital(leaver):
    manager, treasurer, a, _, _ = people(leaver)
    assert [s.membership.id for s in fund.leavers_to_refund(treasurer.id, leaver.club_id)] == [mid(leaver, a)]
    txn = refund(leaver, a, 10_000)
    stored = by_id(JournalTransaction, txn.id)
    assert (stored.kind, stored.unit, stored.author_id) == ("refund", "money", manager.id)  # who approved it
    assert (cash(leaver), owed(leaver, a), capital(leaver, a)) == (20_000, 0, 0)
    assert fund.leavers_to_refund(treasurer.id, leaver.club_id) == []
    line = {s.membership.id: s for s in fund.position(treasurer.id, leaver.club_id).members}[mid(leaver, a)]
    assert (line.contributed, line.refunded, line.capital) == (10_000, 10_000, 0)
    consistent()


def test_refund_in_parts_up_to_the_capital(leaver):
    _, _, a, _, _ = people(leaver)
    refund(leaver, a, 4_000)
    refund(leaver, a, 6_000)
    assert owed(leaver, a) == 0
    refused_and_consistent(lambda: refund(leaver, a, 1), RuleViolation, rule="R13", field="amount")


def test_refund_above_the_capital_is_refused_r13(leaver):
    _, _, a, _, _ = people(leaver)
    refused_and_consistent(lambda: refund(leaver, a, 10_001), RuleViolation, rule="R13", field="amount")


def test_refund_above_the_cash_is_refused_r13(leaver):
    _, _, a, _, _ = people(leaver)
    invest(leaver, open_investment(leaver), 25_000)  # 50.00 left in the bank, a's capital is 100.00
    assert cash(leaver) == 5_000
    refused_and_consistent(lambda: refund(leaver, a, 5_001), RuleViolation, rule="R13", field="amount")
    refund(leaver, a, 5_000)  # exactly the cash
    assert (cash(leaver), owed(leaver, a)) == (0, 5_000)
    refused_and_consistent(lambda: refund(leaver, a, 1), RuleViolation, rule="R13", field="amount")


def test_refund_above_the_cash_left_by_another_refund(club):
    _, _, a, b, c = people(club)
    pay(club, a, 10_000)
    pay(club, b, 10_000)
    pay(club, c, 1_000)
    invest(club, open_investment(club), 6_000)  # cash 150.00
    leave(club, a)
    leave(club, b)
    refund(club, a, 10_000)  # cash 50.00, b's capital 100.00
    refused_and_consistent(lambda: refund(club, b, 5_001), RuleViolation, rule="R13", field="amount")
    refund(club, b, 5_000)
    assert cash(club) == 0


def test_only_a_member_who_left_is_refunded(leaver):
    _, _, _, b, _ = people(leaver)
    refused_and_consistent(lambda: refund(leaver, b, 1_000), RuleViolation, rule="R13")


# --- Two officers for money leaving the fund (R11) ------------------------------------------------


def test_a_refund_waits_for_a_second_officer_r11(leaver):
    """The treasurer enters a refund: nothing leaves the bank until another officer approves it."""
    manager, treasurer, a, _, _ = people(leaver)
    before = (cash(leaver), owed(leaver, a), row_counts(JournalTransaction)[0])
    payout = fund.refund(treasurer.id, leaver.club_id, mid(leaver, a), amount=10_000, idempotency_key=key())
    assert payout.status == "pending" and payout.transaction_id is None
    assert (cash(leaver), owed(leaver, a), row_counts(JournalTransaction)[0]) == before
    assert fund.available_cash(leaver.club_id) == 20_000  # a commitment, like a payment entered
    refused(lambda: fund.approve_payout(treasurer.id, leaver.club_id, payout.id), RuleViolation, rule="R11")
    approved = fund.approve_payout(manager.id, leaver.club_id, payout.id)
    assert (approved.status, approved.approved_by_id) == ("approved", mid(leaver, manager))
    stored = by_id(JournalTransaction, approved.transaction_id)
    assert (stored.kind, stored.author_id) == ("refund", manager.id)
    assert (cash(leaver), owed(leaver, a)) == (20_000, 0)
    refused(lambda: fund.approve_payout(manager.id, leaver.club_id, payout.id), Conflict)
    consistent()


def test_a_pending_refund_counts_against_the_capital_and_the_cash_r13(leaver):
    _, treasurer, a, _, _ = people(leaver)
    fund.refund(treasurer.id, leaver.club_id, mid(leaver, a), amount=6_000, idempotency_key=key())
    refused(lambda: fund.refund(treasurer.id, leaver.club_id, mid(leaver, a), amount=4_001, idempotency_key=key()),
            RuleViolation, rule="R13", field="amount")


def test_a_pending_refund_is_cancelled_with_a_reason(leaver):
    manager, treasurer, a, b, _ = people(leaver)
    payout = fund.refund(treasurer.id, leaver.club_id, mid(leaver, a), amount=10_000, idempotency_key=key())
    refused(lambda: fund.cancel_payout(b.id, leaver.club_id, payout.id, "Non"), NotPermitted)
    refused(lambda: fund.cancel_payout(manager.id, leaver.club_id, payout.id, "  "), InvalidInput, field="reason")
    cancelled = fund.cancel_payout(manager.id, leaver.club_id, payout.id, "Mauvais montant")
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "Mauvais montant")
    refused(lambda: fund.approve_payout(manager.id, leaver.club_id, payout.id), Conflict)
    assert (cash(leaver), owed(leaver, a)) == (30_000, 10_000)
    refund(leaver, a, 10_000)  # the commitment is gone
    assert owed(leaver, a) == 0


@pytest.mark.parametrize("form_key", ["k" * 65, "short", "clé accentuée", None], ids=repr)
def test_a_payout_with_a_malformed_form_key_is_refused(leaver, form_key):
    _, treasurer, a, _, _ = people(leaver)
    refused_and_consistent(lambda: fund.refund(treasurer.id, leaver.club_id, mid(leaver, a), amount=1_000,
                                               idempotency_key=form_key), InvalidInput)


def test_a_payout_of_another_club_is_not_found(leaver, other):
    payout = fund.refund(leaver.treasurer.id, leaver.club_id, mid(leaver, leaver.members[2]), amount=1_000,
                         idempotency_key=key())
    refused(lambda: fund.approve_payout(other.manager.id, other.club_id, payout.id), NotFound)
    refused(lambda: fund.approve_payout(other.manager.id, leaver.club_id, payout.id), NotFound)
    refused(lambda: fund.cancel_payout(other.manager.id, other.club_id, payout.id, "x"), NotFound)


def test_a_distribution_waits_for_a_second_officer_r11(funded):
    manager, treasurer, a, _, _ = people(funded)
    begin_and_check(funded)
    payout = fund.distribute(treasurer.id, funded.club_id, mid(funded, a), amount=10_000, idempotency_key=key())
    assert payout.status == "pending" and (cash(funded), capital(funded, a)) == (60_001, 10_000)
    refused(lambda: fund.distribute(treasurer.id, funded.club_id, mid(funded, a), amount=1, idempotency_key=key()),
            RuleViolation, rule="R13", field="amount")  # the pending payout already takes a's whole part
    refused(lambda: fund.approve_payout(treasurer.id, funded.club_id, payout.id), RuleViolation, rule="R11")
    fund.approve_payout(manager.id, funded.club_id, payout.id)
    assert (cash(funded), capital(funded, a)) == (50_001, 0)
    assert plan_of(funded)[mid(funded, a)] == (10_000, 10_000, 10_000)


def test_a_refund_replayed_returns_the_same_transaction(leaver):
    _, _, a, _, _ = people(leaver)
    k = key()
    first = refund(leaver, a, 3_000, k=k, approve=False)
    before = state()
    assert refund(leaver, a, 3_000, k=k, approve=False).id == first.id
    assert state() == before
    refused_and_consistent(lambda: refund(leaver, a, 3_001, k=k, approve=False), Conflict)
    approved(leaver, first)
    assert refund(leaver, a, 3_000, k=k, approve=False).id == first.id  # still the same, once posted
    assert owed(leaver, a) == 7_000


@pytest.mark.parametrize("amount", [0, -100, 1.5, "100", None, True], ids=repr)
def test_refund_amount_must_be_a_positive_whole_number(leaver, amount):
    _, _, a, _, _ = people(leaver)
    refused_and_consistent(lambda: refund(leaver, a, amount), InvalidInput, field="amount")


def test_refund_by_others_than_the_treasurer(leaver, other):
    manager, _, a, b, _ = people(leaver)
    refused_and_consistent(lambda: refund(leaver, a, 1_000, by=b), NotPermitted)
    refused_and_consistent(lambda: refund(leaver, a, 1_000, by=manager), NotPermitted)
    refused_and_consistent(lambda: refund(leaver, a, 1_000, by=other.treasurer), NotFound)
    refused_and_consistent(lambda: fund.leavers_to_refund(b.id, leaver.club_id), NotPermitted)


def test_refund_of_another_clubs_member_not_found(leaver, other):
    leaving = other.members[2]
    pay(other, leaving, 1_000)
    leave(other, leaving)
    refused_and_consistent(lambda: fund.refund(leaver.treasurer.id, leaver.club_id, mid(other, leaving), amount=1_000,
                                               idempotency_key=key()), NotFound)


# --- Dissolution (R13) ------------------------------------------------------------------------------


def begin_and_check(setup):
    club_row = fund.begin_dissolution(setup.club_id, decided_by=setup.manager.id, ballot_id=None)
    assert club_row.status == "dissolving"
    db.session.expire_all()
    assert db.session.get(Club, setup.club_id).status == "dissolving"


def distribute(setup, user, amount, *, by=None, k=None, approve=True):
    payout = fund.distribute((by or setup.treasurer).id, setup.club_id, mid(setup, user), amount=amount,
                             idempotency_key=k or key())
    return approved(setup, payout) if approve else payout


def plan_of(setup, user=None) -> dict[int, tuple[int, int, int]]:
    """membership id → (contributed, due, distributed)."""
    return {line.membership.id: (line.contributed, line.due, line.distributed)
            for line in fund.dissolution_plan((user or setup.treasurer).id, setup.club_id)}


@pytest.fixture
def funded(club):
    """a 100.00, b 200.00, c 300.01; the officers nothing."""
    _, _, a, b, c = people(club)
    pay(club, a, 10_000)
    pay(club, b, 20_000)
    pay(club, c, 30_001)
    return club


def test_begin_dissolution(funded):
    begin_and_check(funded)
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "club.dissolve")).all()
    assert (entry.actor_id, entry.before, entry.after) == (
        funded.manager.id, {"status": "active"}, {"status": "dissolving", "ballot": None, "closing_entry": None})
    refused_and_consistent(lambda: fund.begin_dissolution(funded.club_id, decided_by=funded.manager.id), Conflict)


def test_begin_dissolution_refusals(make_club):
    forming = make_club(5, activate=False)
    refused_and_consistent(lambda: fund.begin_dissolution(forming.club_id, decided_by=forming.manager.id), Conflict)
    refused_and_consistent(lambda: fund.begin_dissolution(forming.club_id + 1000, decided_by=None), NotFound)


def test_the_plan_is_pro_rata_to_net_contributions_and_sums_to_cash(funded):
    manager, treasurer, a, b, c = people(funded)
    begin_and_check(funded)
    plan = plan_of(funded)
    assert plan == {
        mid(funded, manager): (0, 0, 0),
        mid(funded, treasurer): (0, 0, 0),
        mid(funded, a): (10_000, 10_000, 0),
        mid(funded, b): (20_000, 20_000, 0),
        mid(funded, c): (30_001, 30_001, 0),
    }
    assert sum(due for _, due, _ in plan.values()) == cash(funded)
    assert plan_of(funded, funded.manager) == plan  # officers see every line …
    assert plan_of(funded, b) == {mid(funded, b): (20_000, 20_000, 0)}  # … a member their own


def test_the_plan_shares_a_loss_pro_rata(funded):
    _, _, a, b, c = people(funded)
    expense = ledger.open_account(funded.club_id, code="frais", name="Frais", type=AccountType.EXPENSE,
                                  unit=Unit.MONEY).id
    bank = ledger.find_account(funded.club_id, "bank").id
    ledger.post(funded.club_id, unit=Unit.MONEY, kind=TransactionKind.FEE, idempotency_key=key(),
                lines=[(bank, -6_001), (expense, 6_001)])  # 540.00 left of 600.01
    begin_and_check(funded)
    plan = plan_of(funded)
    assert [plan[mid(funded, u)][1] for u in (a, b, c)] == [9_000, 18_000, 27_000]
    assert sum(due for _, due, _ in plan.values()) == cash(funded) == 54_000


def test_the_plan_leaves_out_refunded_leavers(funded):
    _, _, a, b, c = people(funded)
    leave(funded, a)
    refund(funded, a, 10_000)
    begin_and_check(funded)
    plan = plan_of(funded)
    assert mid(funded, a) not in plan
    assert [plan[mid(funded, u)][1] for u in (b, c)] == [20_000, 30_001]


def test_distribute_everything_then_close(funded):
    _, treasurer, a, b, c = people(funded)
    begin_and_check(funded)
    refused_and_consistent(lambda: fund.close_club(treasurer.id, funded.club_id), RuleViolation, rule="R13")
    for user, amount in ((a, 10_000), (b, 20_000), (c, 30_001)):
        txn = distribute(funded, user, amount)
        assert by_id(JournalTransaction, txn.id).kind == "distribution"
    assert cash(funded) == 0
    assert all(capital(funded, u) == 0 for u in people(funded))
    assert {m: d for m, (_, _, d) in plan_of(funded).items() if d} == {
        mid(funded, a): 10_000, mid(funded, b): 20_000, mid(funded, c): 30_001}
    closed = fund.close_club(treasurer.id, funded.club_id)
    assert closed.status == "closed"
    db.session.expire_all()
    assert db.session.get(Club, funded.club_id).status == "closed"
    consistent()


def test_the_plan_stays_the_same_as_distributions_are_paid(funded):
    """Each member's part is fixed by the net contributions when the club dissolves; paying one
    member does not move the others' parts."""
    _, _, a, b, c = people(funded)
    begin_and_check(funded)
    distribute(funded, a, 10_000)
    plan = plan_of(funded)
    assert plan[mid(funded, a)] == (10_000, 10_000, 10_000)
    assert plan[mid(funded, b)] == (20_000, 20_000, 0)
    assert plan[mid(funded, c)] == (30_001, 30_001, 0)
    # b's part is 200.00: one cent more is refused by R13, not by the ledger.
    refused_and_consistent(lambda: distribute(funded, b, 20_001), RuleViolation, rule="R13", field="amount")


def test_a_gain_is_shared_out_and_the_club_closes(funded):
    """Net assets above the capital (a gain) are shared pro rata too, and the club can still close."""
    _, treasurer, a, b, c = people(funded)
    income = ledger.open_account(funded.club_id, code="produits", name="Produits", type=AccountType.INCOME,
                                 unit=Unit.MONEY).id
    bank = ledger.find_account(funded.club_id, "bank").id
    ledger.post(funded.club_id, unit=Unit.MONEY, kind=TransactionKind.RETURN, idempotency_key=key(),
                lines=[(bank, 5_999), (income, -5_999)])  # 660.00 in the bank for 600.01 of capital
    begin_and_check(funded)
    plan = plan_of(funded)
    dues = {u: plan[mid(funded, u)][1] for u in (a, b, c)}
    assert list(dues.values()) == [11_000, 22_000, 33_000]
    for user, due in dues.items():
        distribute(funded, user, due)
    assert cash(funded) == 0
    assert fund.close_club(treasurer.id, funded.club_id).status == "closed"


def test_a_loss_is_shared_out_and_the_club_closes(funded):
    """Net assets below the capital (a loss) are shared pro rata, and once the bank is empty the club closes."""
    _, treasurer, a, b, c = people(funded)
    expense = ledger.open_account(funded.club_id, code="frais", name="Frais", type=AccountType.EXPENSE,
                                  unit=Unit.MONEY).id
    bank = ledger.find_account(funded.club_id, "bank").id
    ledger.post(funded.club_id, unit=Unit.MONEY, kind=TransactionKind.FEE, idempotency_key=key(),
                lines=[(bank, -6_001), (expense, 6_001)])  # 540.00 in the bank for 600.01 of capital
    begin_and_check(funded)
    for user, due in ((a, 9_000), (b, 18_000), (c, 27_000)):
        distribute(funded, user, due)
    assert cash(funded) == 0
    assert fund.close_club(treasurer.id, funded.club_id).status == "closed"


def test_distribute_more_than_the_remaining_part_is_refused_r13(funded):
    _, _, a, _, _ = people(funded)
    begin_and_check(funded)
    refused_and_consistent(lambda: distribute(funded, a, 10_001), RuleViolation, rule="R13", field="amount")
    distribute(funded, a, 10_000)
    refused_and_consistent(lambda: distribute(funded, a, 1), RuleViolation, rule="R13", field="amount")
    refused_and_consistent(lambda: distribute(funded, funded.manager, 1), RuleViolation, rule="R13", field="amount")


def test_distribute_before_dissolution_is_refused_r13(funded):
    refused_and_consistent(lambda: distribute(funded, funded.members[2], 1_000), RuleViolation, rule="R13")


def test_distribute_replayed_posts_once(funded):
    _, _, a, _, _ = people(funded)
    begin_and_check(funded)
    k = key()
    first = distribute(funded, a, 10_000, k=k, approve=False)
    before = state()
    assert distribute(funded, a, 10_000, k=k, approve=False).id == first.id
    assert state() == before
    refused_and_consistent(lambda: distribute(funded, a, 9_000, k=k, approve=False), Conflict)


def test_distribute_refusals(funded, other):
    manager, _, a, b, _ = people(funded)
    begin_and_check(funded)
    refused_and_consistent(lambda: distribute(funded, a, 1_000, by=b), NotPermitted)
    refused_and_consistent(lambda: distribute(funded, a, 1_000, by=manager), NotPermitted)
    refused_and_consistent(lambda: distribute(funded, a, 1_000, by=other.treasurer), NotFound)
    refused_and_consistent(lambda: fund.distribute(funded.treasurer.id, funded.club_id, mid(other, other.members[2]),
                                                   amount=1_000, idempotency_key=key()), NotFound)
    for amount in (0, -1, 1.5, "10", True):
        refused_and_consistent(lambda amount=amount: distribute(funded, a, amount), InvalidInput, field="amount")


def test_close_refusals(funded):
    _, treasurer, a, b, c = people(funded)
    refused_and_consistent(lambda: fund.close_club(treasurer.id, funded.club_id), RuleViolation, rule="R13")  # not dissolving
    begin_and_check(funded)
    distribute(funded, a, 10_000)
    distribute(funded, b, 20_000)
    refused_and_consistent(lambda: fund.close_club(treasurer.id, funded.club_id), RuleViolation, rule="R13")  # c's part is left
    refused_and_consistent(lambda: fund.close_club(b.id, funded.club_id), NotPermitted)
    distribute(funded, c, 30_001)
    fund.close_club(treasurer.id, funded.club_id)
    refused_and_consistent(lambda: fund.close_club(treasurer.id, funded.club_id), RuleViolation, rule="R13")
    refused_and_consistent(lambda: pay(funded, a, 1_000), RuleViolation, rule="R5")


def test_the_plan_is_for_members_only(funded, other):
    begin_and_check(funded)
    refused_and_consistent(lambda: fund.dissolution_plan(other.members[2].id, funded.club_id), NotFound)


# --- check_contributions ---------------------------------------------------------------------------


def test_check_is_clean_after_normal_activity(funded, other):
    manager, treasurer, a, b, c = people(funded)
    undone = pay(funded, a, 700)
    fund.reverse_contribution(treasurer.id, funded.club_id, undone.id, reason="Erreur", idempotency_key=key())
    pledge(funded, manager, 2000)
    record_month(funded, month_lines(funded, [2000, None, 1000]))
    pay(other, other.members[2], 5_000)
    leave(funded, b)
    refund(funded, b, 5_000)
    begin_and_check(funded)
    distribute(funded, c, 1_000)
    assert fund.check_contributions() == []
    assert ledger.check() == []


def test_check_reports_a_contribution_posting_without_a_record(funded):
    _, _, a, _, _ = people(funded)
    bank = ledger.find_account(funded.club_id, "bank").id
    cap = ledger.find_account(funded.club_id, f"capital:{mid(funded, a)}").id
    txn = ledger.post(funded.club_id, unit=Unit.MONEY, kind=TransactionKind.CONTRIBUTION, idempotency_key=key(),
                      lines=[(bank, 500), (cap, -500)])
    [violation] = fund.check_contributions()
    assert (violation.invariant, violation.club_id) == (7, funded.club_id)
    assert f"transaction {txn.id}" in violation.detail
    assert "no contribution record" in violation.detail
    assert ledger.check() == []


def test_check_reports_a_record_that_disagrees_with_its_posting(funded):
    _, treasurer, a, _, _ = people(funded)
    bank = ledger.find_account(funded.club_id, "bank").id
    cap = ledger.find_account(funded.club_id, f"capital:{mid(funded, a)}").id
    txn = ledger.post(funded.club_id, unit=Unit.MONEY, kind=TransactionKind.CONTRIBUTION, idempotency_key=key(),
                      lines=[(bank, 500), (cap, -500)])
    row = Contribution(club_id=funded.club_id, membership_id=mid(funded, a), amount=600,
                       received_on=date(2025, 3, 5), method="transfer", bank_reference="", source="form",
                       transaction_id=txn.id, recorded_by_id=treasurer.id)
    db.session.add(row)
    db.session.commit()
    [violation] = fund.check_contributions()
    assert violation.club_id == funded.club_id
    assert f"contribution {row.id} of 600 credited 500" in violation.detail


def test_check_reports_a_record_for_the_wrong_member(funded):
    _, treasurer, a, b, _ = people(funded)
    bank = ledger.find_account(funded.club_id, "bank").id
    cap = ledger.find_account(funded.club_id, f"capital:{mid(funded, a)}").id
    txn = ledger.post(funded.club_id, unit=Unit.MONEY, kind=TransactionKind.CONTRIBUTION, idempotency_key=key(),
                      lines=[(bank, 500), (cap, -500)])
    db.session.add(Contribution(club_id=funded.club_id, membership_id=mid(funded, b), amount=500,
                                received_on=date(2025, 3, 5), method="transfer", bank_reference="", source="form",
                                transaction_id=txn.id, recorded_by_id=treasurer.id))
    db.session.commit()
    [violation] = fund.check_contributions()
    assert "of 500 credited 0" in violation.detail


def test_check_reports_capital_moved_by_another_kind(funded):
    _, _, a, _, _ = people(funded)
    bank = ledger.find_account(funded.club_id, "bank").id
    cap = ledger.find_account(funded.club_id, f"capital:{mid(funded, a)}").id
    txn = ledger.post(funded.club_id, unit=Unit.MONEY, kind=TransactionKind.FEE, idempotency_key=key(),
                      lines=[(bank, 100), (cap, -100)])
    [violation] = fund.check_contributions()
    assert f"transaction {txn.id} (fee) moves a member's capital" in violation.detail


# --- Concurrency --------------------------------------------------------------------------------------


def test_concurrent_contributions_never_pass_the_yearly_cap(app, club):
    _, _, a, _, _ = people(club)
    pay(club, a, 500_000, date(2025, 2, 1))
    treasurer_id, club_id, member = club.treasurer.id, club.club_id, mid(club, a)

    def record(amount: int):
        return lambda: fund.record_contribution(treasurer_id, club_id, membership_id=member, amount=amount,
                                                received_on=date(2025, 6, 1), method="transfer",
                                                idempotency_key=key()).id

    results = in_threads(app, record(30_000), record(30_000))  # either alone fits, both pass the cap
    ok = [r for r in results if isinstance(r, int)]
    refusals = [r for r in results if isinstance(r, RuleViolation)]
    assert len(ok) == 1, results
    assert len(refusals) == 1 and type(refusals[0]) is RuleViolation and refusals[0].rule == "R4", results
    assert fund.paid_in_year(club_id, member, 2025) == 530_000
    assert -account_balance(club_id, f"capital:{member}") == 530_000 == account_balance(club_id, "bank")
    assert row_counts(Contribution) == (2,)
    consistent()


def test_concurrent_replays_of_one_form_post_once(app, club):
    _, _, a, _, _ = people(club)
    treasurer_id, club_id, member = club.treasurer.id, club.club_id, mid(club, a)
    k = key()

    def send():
        return fund.record_contribution(treasurer_id, club_id, membership_id=member, amount=2_500,
                                        received_on=date(2025, 6, 1), method="transfer", idempotency_key=k).id

    results = in_threads(app, send, send)
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    assert row_counts(Contribution, JournalTransaction) == (1, 1)
    assert -account_balance(club_id, f"capital:{member}") == 2_500
    consistent()


# --- Form keys (issue 15) ---------------------------------------------------------------------------


SERVICE_SHAPED_KEYS = ["disbursement:10", "exchange:5", "bank-line:3", "closing:1", "csv:" + "0" * 56,
                       "", None, 12, "0" * 31, "0" * 33, "A" * 32, "g" * 32, "form:" + "0" * 32]


@pytest.mark.parametrize("bad", SERVICE_SHAPED_KEYS)
def test_a_money_form_without_a_key_of_32_hex_digits_is_refused(club, bad):
    """The form key is what forms/base.py makes (32 hex digits): nothing else, so no form can take a ledger
    key that a service makes itself, and a form sent without its key is refused rather than given a new one."""
    _, treasurer, a, _, _ = people(club)
    done = pay(club, a, 1_000)
    calls = [
        lambda: pay(club, a, 1_000, k=bad) if bad else fund.record_contribution(
            treasurer.id, club.club_id, membership_id=mid(club, a), amount=1_000, received_on=date(2025, 3, 5),
            method="transfer", idempotency_key=bad),
        lambda: fund.reverse_contribution(treasurer.id, club.club_id, done.id, reason="Erreur", idempotency_key=bad),
        lambda: fund.record_month(treasurer.id, club.club_id, lines=[(mid(club, a), 1_000)],
                                  received_on=date(2025, 3, 5), method="transfer", form_key=bad),
    ]
    for call in calls:
        refused(call, InvalidInput)


def test_a_contribution_is_posted_under_its_form_key_in_the_forms_own_namespace(club):
    _, _, a, _, _ = people(club)
    k = key()
    contribution = pay(club, a, 1_000, k=k)
    assert by_id(JournalTransaction, contribution.transaction_id).idempotency_key == f"form:{k}"
    assert pay(club, a, 1_000, k=k).id == contribution.id  # the same form again: posted once
