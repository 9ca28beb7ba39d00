"""Bank reconciliation, issue 16 (matching): lines that tie on amount and date paired by their label (the
member's name, the contribution's reference, the memo) before the date; a hand match of dates far apart only
once confirmed; a money-out line confirmed as the refund of an overpayment (the duplicate contribution
reversed on the line's day); and no reconciliation through a day while the bank's balance and the books'
differ that day, unless the treasurer explains the difference."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from coop.extensions import db
from coop.models import AccountType, AuditEntry, BankLine, BankReconciliation, JournalTransaction, TransactionKind, Unit, User
from coop.services import clubs as ms
from coop.services import fund, ledger, reconcile
from coop.services.errors import (
    Conflict,
    InvalidInput,
    NeedsConfirmation,
    NotFound,
    NotPermitted,
    RuleViolation,
)
from tests.conftest import by_id, english, key, refused
from tests.services.test_reconcile import COLS, bank_file, day, lines_of, pay, upload

NAMES = ("Aïcha Benali", "Bruno Lefèvre", "Chloé Martin")  # members[2], [3] and [4]


def named(setup) -> None:
    """The club's members 2 to 4 get names a bank label can tell apart."""
    for user, name in zip(setup.members[2:5], NAMES, strict=True):
        db.session.get(User, user.id).name = name
    db.session.commit()


def contribute(setup, index: int, amount: int, on, reference: str = ""):
    return fund.record_contribution(setup.treasurer.id, setup.club_id,
                                    membership_id=setup.memberships[setup.members[index].id], amount=amount,
                                    received_on=on, method="transfer", bank_reference=reference,
                                    idempotency_key=key())


def matched(club_id: int) -> dict[str, int | None]:
    return {line.label: line.transaction_id for line in lines_of(club_id)}


# --- Ties: the label first, then the date ------------------------------------------------------------------------


def test_three_members_paying_the_same_amount_the_same_day_are_told_apart_by_their_names(make_club):
    setup = make_club(5)
    named(setup)
    benali, lefevre, martin = (pay(setup, i, 4_500, day(0)) for i in (2, 3, 4))
    # The bank's order is not the books': the first line is the last member's.
    _, count = upload(setup, bank_file((day(0), "45,00", "VIR SEPA MME MARTIN CHLOE"),
                                       (day(0), "45,00", "VIR INST M. LEFEVRE BRUNO"),
                                       (day(0), "45,00", "VIREMENT DE AICHA BENALI")))
    assert count == 3
    assert matched(setup.club_id) == {"VIR SEPA MME MARTIN CHLOE": martin, "VIR INST M. LEFEVRE BRUNO": lefevre,
                                      "VIREMENT DE AICHA BENALI": benali}


def test_the_surname_alone_case_and_accents_folded_is_enough(make_club):
    setup = make_club(5)
    named(setup)
    benali, lefevre = (pay(setup, i, 4_500, day(0)) for i in (2, 3))
    upload(setup, bank_file((day(0), "45,00", "Virement lefèvre"), (day(0), "45,00", "VIR benali")))
    assert matched(setup.club_id) == {"Virement lefèvre": lefevre, "VIR benali": benali}


def test_the_contribution_s_bank_reference_tells_lines_apart(make_club):
    setup = make_club(5)  # the members' names ("Membre 3" …) tell nothing apart
    first = contribute(setup, 2, 3_000, day(0), "COT-MARS-017").transaction_id
    second = contribute(setup, 3, 3_000, day(0), "COT-MARS-018").transaction_id
    third = contribute(setup, 4, 3_000, day(0), "COT-MARS-019").transaction_id
    upload(setup, bank_file((day(0), "30,00", "VIR REF COT MARS 019"), (day(0), "30,00", "VIR COTMARS018"),
                            (day(0), "30,00", "VIR /REF/ COT-MARS-017")))
    assert matched(setup.club_id) == {"VIR REF COT MARS 019": third, "VIR COTMARS018": second,
                                      "VIR /REF/ COT-MARS-017": first}


def test_the_transaction_s_memo_tells_lines_apart(make_club):
    setup = make_club(5)
    pay(setup, 2, 10_000, day(-5))
    fees = ledger.open_account(setup.club_id, code="expense:fees", name="Frais bancaires", type=AccountType.EXPENSE,
                               unit=Unit.MONEY).id
    bank = ledger.find_account(setup.club_id, "bank").id
    db.session.commit()

    def fee(memo: str) -> int:
        return ledger.post(setup.club_id, unit=Unit.MONEY, kind=TransactionKind.FEE, lines=[(fees, 500), (bank, -500)],
                           idempotency_key=key(), occurred_on=day(0), memo=memo, author_id=setup.treasurer.id).id

    subscription, commission = fee("Abonnement Crédit Coopératif"), fee("Commission virement international")
    _, count = upload(setup, bank_file((day(0), "-5,00", "COMMISSION INTERNATIONAL"),
                                       (day(0), "-5,00", "ABONNEMENT CREDIT COOPERATIF")))
    assert count == 2
    assert matched(setup.club_id) == {"COMMISSION INTERNATIONAL": commission,
                                      "ABONNEMENT CREDIT COOPERATIF": subscription}


def test_a_line_naming_a_member_takes_their_movement_before_a_nearer_one(make_club):
    """Books: Benali's 45,00 on day 0, Lefèvre's on day 1. Lines: an unnamed 45,00 on day 0, Benali's on day 2.
    By date alone the unnamed line took Benali's movement and Benali's line Lefèvre's."""
    setup = make_club(5)
    named(setup)
    benali = pay(setup, 2, 4_500, day(0))
    lefevre = pay(setup, 3, 4_500, day(1))
    upload(setup, bank_file((day(0), "45,00", "VIR SEPA"), (day(2), "45,00", "VIR SEPA BENALI")))
    assert matched(setup.club_id) == {"VIR SEPA": lefevre, "VIR SEPA BENALI": benali}


def test_a_line_naming_another_member_is_never_paired_automatically(make_club):
    setup = make_club(5)
    named(setup)
    lefevre = pay(setup, 3, 4_500, day(0))
    _, count = upload(setup, bank_file((day(0), "45,00", "VIR AICHA BENALI")))
    assert count == 0
    line = lines_of(setup.club_id)[0]
    assert line.transaction_id is None
    # By hand it may still be matched: the movement is offered.
    assert [m.id for m in reconcile.candidates(setup.treasurer.id, setup.club_id, line.id)] == [lefevre]
    reconcile.match(setup.treasurer.id, setup.club_id, line.id, lefevre)


def test_a_label_naming_no_member_pairs_by_date_as_before(make_club):
    setup = make_club(5)
    named(setup)
    far, near = pay(setup, 2, 4_500, day(-3)), pay(setup, 3, 4_500, day(1))
    upload(setup, bank_file((day(0), "45,00", "VIR SEPA INCONNU")))
    assert lines_of(setup.club_id)[0].transaction_id == near
    assert far != near


def test_the_hand_match_page_offers_the_movement_the_label_names_first(make_club):
    setup = make_club(5)
    named(setup)
    lefevre = pay(setup, 3, 4_500, day(0))
    benali = pay(setup, 2, 4_500, day(-10))  # far in date, but named
    upload(setup, bank_file((day(0), "45,00", "VIR BENALI")), window=0)
    line = lines_of(setup.club_id)[0]
    assert line.transaction_id is None  # Lefèvre's is the only one within the window, and the label says otherwise
    assert [m.id for m in reconcile.candidates(setup.treasurer.id, setup.club_id, line.id)] == [benali, lefevre]


# --- A hand match far apart in time asks for confirmation ------------------------------------------------------


def test_a_hand_match_more_than_15_days_apart_asks_to_be_confirmed(make_club):
    setup = make_club(5)
    txn = pay(setup, 2, 10_000, day(0))
    upload(setup, bank_file((day(20), "100,00", "CHQ 1234")))
    line = lines_of(setup.club_id)[0]
    assert line.transaction_id is None
    err = refused(lambda: reconcile.match(setup.treasurer.id, setup.club_id, line.id, txn), NeedsConfirmation,
                  field="confirm")
    assert err.details == {"days": 20}
    assert "are 20 days apart" in english(err)
    assert isinstance(err, Conflict) and err.status_code == 409
    reconcile.match(setup.treasurer.id, setup.club_id, line.id, txn, confirm=True)
    line = lines_of(setup.club_id)[0]
    assert (line.transaction_id, line.by_hand) == (txn, True)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.club_id == setup.club_id,
                                                       AuditEntry.action == "bank.match"))
    assert entry is not None and "20" in str(entry.after)


def test_a_hand_match_15_days_apart_needs_no_confirmation(make_club):
    setup = make_club(5)
    txn = pay(setup, 2, 10_000, day(0))
    upload(setup, bank_file((day(-15), "100,00", "VIR")), window=0)
    line = lines_of(setup.club_id)[0]
    reconcile.match(setup.treasurer.id, setup.club_id, line.id, txn)
    assert lines_of(setup.club_id)[0].transaction_id == txn


def test_confirming_does_not_lift_the_other_refusals(make_club):
    setup = make_club(5)
    txn = pay(setup, 2, 10_000, day(0))
    upload(setup, bank_file((day(30), "100,01", "VIR")))
    line = lines_of(setup.club_id)[0]
    refused(lambda: reconcile.match(setup.treasurer.id, setup.club_id, line.id, txn, confirm=True), RuleViolation,
            rule="reconciliation")
    refused(lambda: reconcile.match(setup.manager.id, setup.club_id, line.id, txn, confirm=True), NotPermitted)


# --- The refund of an overpayment --------------------------------------------------------------------------------


@pytest.fixture
def paid_twice(make_club):
    """Benali paid 45,00 on day 0 and again on day 1 by mistake; the bank paid 45,00 back on day 10. Lefèvre
    paid 45,00 on day 2, Martin 30,00 on day 3."""
    setup = make_club(5)
    named(setup)
    setup.first = contribute(setup, 2, 4_500, day(0), "COT-1")
    setup.twice = contribute(setup, 2, 4_500, day(1), "COT-1")
    setup.lefevre = contribute(setup, 3, 4_500, day(2))
    setup.martin = contribute(setup, 4, 3_000, day(3))
    upload(setup, bank_file((day(10), "-45,00", "REMBOURSEMENT TROP PERCU BENALI"), (day(11), "-30,00", "RBT"),
                            (day(11), "20,00", "VIR")), window=0)
    setup.line, setup.other_line, setup.money_in = (line.id for line in lines_of(setup.club_id))
    db.session.rollback()
    return setup


def test_a_refund_of_an_overpayment_reverses_the_duplicate_on_the_line_s_day_and_matches(paid_twice):
    s = paid_twice
    member = s.memberships[s.members[2].id]
    choices = reconcile.refund_candidates(s.treasurer.id, s.club_id, s.line)
    # The member the label names first (the latest of theirs first), then the others of that amount.
    assert [c.contribution.id for c in choices] == [s.twice.id, s.first.id, s.lefevre.id]
    assert choices[0].member_name == "Aïcha Benali"
    reconcile.record_refund(s.treasurer.id, s.club_id, s.line, contribution_id=s.twice.id)
    line = by_id(BankLine, s.line)
    reversal = by_id(JournalTransaction, line.transaction_id)
    assert (reversal.kind, reversal.reverses_id, reversal.occurred_on) == (
        TransactionKind.REVERSAL, s.twice.transaction_id, day(10))
    assert (line.by_hand, line.matched_by_id) == (True, s.treasurer.id)
    bank = ledger.find_account(s.club_id, "bank").id
    assert sorted(p.amount for p in reversal.postings if p.account_id == bank) == [-4_500]
    assert ledger.find_account(s.club_id, f"capital:{member}").balance == -4_500
    assert fund.paid_in_year(s.club_id, member, day(0).year) == 4_500  # R4 counts what was kept
    assert [c.contribution.id for c in fund.contributions(s.treasurer.id, s.club_id, membership_id=member)
            if c.reversed_by] == [s.twice.id]
    actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.club_id == s.club_id)))
    assert {"bank.record_refund", "contribution.reverse"} <= actions
    db.session.rollback()
    assert ledger.check() == [] and fund.check_contributions() == []
    assert reconcile.refund_candidates(s.treasurer.id, s.club_id, s.line) == []  # matched now


def test_a_refund_of_an_overpayment_refusals(paid_twice, make_club):
    s = paid_twice
    other = make_club(5, name="Autre Cigale")
    theirs = contribute(other, 2, 4_500, day(0))
    treasurer, c = s.treasurer.id, s.club_id
    refused(lambda: reconcile.record_refund(treasurer, c, s.line, contribution_id=s.martin.id), RuleViolation,
            rule="reconciliation", field="contribution_id")  # 30,00 is not 45,00
    refused(lambda: reconcile.record_refund(treasurer, c, s.money_in, contribution_id=s.twice.id), InvalidInput)
    refused(lambda: reconcile.record_refund(treasurer, c, s.line, contribution_id=theirs.id), NotFound)
    refused(lambda: reconcile.record_refund(treasurer, c, s.line, contribution_id=999_999), NotFound)
    refused(lambda: reconcile.record_refund(treasurer, c, s.line, contribution_id="x"), NotFound)
    refused(lambda: reconcile.record_refund(other.treasurer.id, c, s.line, contribution_id=s.twice.id), NotFound)
    refused(lambda: reconcile.record_refund(s.manager.id, c, s.line, contribution_id=s.twice.id), NotPermitted)
    refused(lambda: reconcile.record_refund(s.members[3].id, c, s.line, contribution_id=s.twice.id), NotPermitted)
    # Received after the bank paid it back: not what this line gives back.
    later = contribute(s, 3, 3_000, day(12))
    refused(lambda: reconcile.record_refund(treasurer, c, s.other_line, contribution_id=later.id), RuleViolation,
            rule="reconciliation")
    # Already reversed (by the savings register): refused; the line stays to match.
    fund.reverse_contribution(treasurer, c, s.martin.id, reason="Saisie en double", idempotency_key=key())
    refused(lambda: reconcile.record_refund(treasurer, c, s.other_line, contribution_id=s.martin.id), Conflict)
    # Once matched, a line takes no second refund.
    reconcile.record_refund(treasurer, c, s.line, contribution_id=s.twice.id)
    refused(lambda: reconcile.record_refund(treasurer, c, s.line, contribution_id=s.first.id), Conflict)


def test_a_refund_cannot_give_back_more_than_the_member_s_capital(paid_twice):
    """Benali left, her share was valued and she was paid her 90,00: reversing one of her contributions now
    would take back money her share was paid for (R13)."""
    s = paid_twice
    member = s.memberships[s.members[2].id]
    ms.leave(s.members[2].id, s.club_id)
    fund.value_exit(s.treasurer.id, s.club_id, member, form_key=key())
    payout = fund.refund(s.treasurer.id, s.club_id, member, amount=9_000, idempotency_key=key())
    fund.approve_payout(s.manager.id, s.club_id, payout.id)
    refused(lambda: reconcile.record_refund(s.treasurer.id, s.club_id, s.line, contribution_id=s.twice.id),
            RuleViolation, rule="R13")


def test_after_an_overpayment_is_refunded_the_yearly_cap_counts_what_was_kept(make_club):
    """R4: 5 400,00 then a duplicate 100,00 fill the 5 500,00 cap; once the duplicate is refunded 100,00 fits
    again, and no more."""
    setup = make_club(5)
    member = setup.memberships[setup.members[2].id]
    contribute(setup, 2, 540_000, day(-30))
    duplicate = contribute(setup, 2, 10_000, day(0))
    upload(setup, bank_file((day(5), "-100,00", "RBT TROP PERCU")))
    line = lines_of(setup.club_id)[0].id
    refused(lambda: contribute(setup, 2, 10_000, day(6)), RuleViolation, rule="R4")
    reconcile.record_refund(setup.treasurer.id, setup.club_id, line, contribution_id=duplicate.id)
    assert fund.paid_in_year(setup.club_id, member, day(0).year) == 540_000
    refused(lambda: contribute(setup, 2, 10_001, day(6)), RuleViolation, rule="R4")
    contribute(setup, 2, 10_000, day(6))


# --- Reconciling through a day: the bank's balance and the books' -------------------------------------------------

BALANCED = COLS.__class__(date=0, amount=1, label=2, balance=3)


def file_with_balances(*lines: tuple) -> bytes:
    """(day, amount, label, balance after) lines: the running balance gives the bank's balance each day."""
    rows = ["Date;Montant;Libellé;Solde"] + [f"{on.strftime('%d/%m/%Y')};{amount};{label};{after}"
                                             for on, amount, label, after in lines]
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture
def cheque(make_club):
    """Books: 100,00 on day 0, 200,00 on day 1, and a 30,00 cheque paid out on day 1 the bank has not cashed.
    The bank: 100,00 on day 0 (balance 100,00), 200,00 on day 1 (balance 300,00). Every line is matched; at the
    end of day 1 the bank says 300,00, the books 270,00."""
    setup = make_club(5)
    pay(setup, 2, 10_000, day(0))
    pay(setup, 3, 20_000, day(1))
    expense = ledger.open_account(setup.club_id, code="expense:other", name="Divers", type=AccountType.EXPENSE,
                                  unit=Unit.MONEY).id
    bank = ledger.find_account(setup.club_id, "bank").id
    db.session.commit()
    ledger.post(setup.club_id, unit=Unit.MONEY, kind=TransactionKind.FEE, lines=[(expense, 3_000), (bank, -3_000)],
                idempotency_key=key(), occurred_on=day(1), memo="Chèque 1234", author_id=setup.treasurer.id)
    reconcile.upload(setup.treasurer.id, setup.club_id, file_with_balances(
        (day(0), "100,00", "VIR A", "100,00"), (day(1), "200,00", "VIR B", "300,00")), BALANCED,
        filename="releve.csv", window_days=0)
    db.session.rollback()
    return setup


def test_a_cheque_not_yet_cashed_is_first_a_movement_without_its_line(cheque):
    s = cheque
    # The cheque is not on the statement: its movement of day 1 has no line, which the matching check says.
    err = refused(lambda: reconcile.reconcile(s.treasurer.id, s.club_id, through=day(1), today=day(30)),
                  RuleViolation, rule="reconciliation", field="through")
    assert "0 bank line(s) and 1 movement(s)" in english(err)
    # Through day 0 the bank and the books agree: 100,00.
    first = reconcile.reconcile(s.treasurer.id, s.club_id, through=day(0), today=day(30))
    assert (first.bank_balance, first.book_balance, first.explanation) == (10_000, 10_000, "")


@pytest.fixture
def uncashed(make_club):
    """Books: 100,00 on day 0 and 200,00 on day 1. The bank: opening balance 50,00 the books never had (a
    cheque the club wrote before its books began, not yet cashed), then the same two lines: 150,00 at the end
    of day 0, 350,00 at the end of day 1. Every line and movement is matched."""
    setup = make_club(5)
    pay(setup, 2, 10_000, day(0))
    pay(setup, 3, 20_000, day(1))
    reconcile.upload(setup.treasurer.id, setup.club_id, file_with_balances(
        (day(0), "100,00", "VIR A", "150,00"), (day(1), "200,00", "VIR B", "350,00")), BALANCED,
        filename="releve.csv", window_days=0)
    db.session.rollback()
    return setup


def test_a_difference_at_the_day_refuses_the_reconciliation_until_explained(uncashed):
    s = uncashed
    assert all(line.transaction_id for line in lines_of(s.club_id))
    err = refused(lambda: reconcile.reconcile(s.treasurer.id, s.club_id, through=day(1), today=day(30)),
                  RuleViolation, rule="reconciliation", field="explanation")
    assert "the bank's balance is €350.00 and the books' €300.00: a difference of €50.00" in english(err)
    refused(lambda: reconcile.reconcile(s.treasurer.id, s.club_id, through=day(1), explanation="   ",
                                        today=day(30)), RuleViolation, field="explanation")
    refused(lambda: reconcile.reconcile(s.treasurer.id, s.club_id, through=day(1), explanation="x" * 301,
                                        today=day(30)), InvalidInput, field="explanation")
    refused(lambda: reconcile.reconcile(s.treasurer.id, s.club_id, through=day(1), explanation="a\x00b",
                                        today=day(30)), InvalidInput, field="explanation")
    done = reconcile.reconcile(s.treasurer.id, s.club_id, through=day(1), today=day(30),
                               explanation="Chèque 1234 pas encore encaissé")
    assert (done.bank_balance, done.book_balance, done.explanation) == (
        35_000, 30_000, "Chèque 1234 pas encore encaissé")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.club_id == s.club_id,
                                                       AuditEntry.action == "bank.reconcile"))
    assert "Chèque 1234" in str(entry.after) and "5000" in str(entry.after).replace(" ", "")
    assert db.session.scalar(select(BankReconciliation.explanation).where(
        BankReconciliation.club_id == s.club_id)) == "Chèque 1234 pas encore encaissé"


def test_the_bank_s_balance_at_a_day_from_the_balances_stated_and_the_lines_between(uncashed, make_club):
    s = uncashed
    t = s.treasurer.id
    at = reconcile.day_balances(t, s.club_id, day(1))  # stated that day
    assert (at.bank, at.books, at.difference, at.source, at.stated_on) == (35_000, 30_000, 5_000, "stated", day(1))
    at = reconcile.day_balances(t, s.club_id, day(5))  # the last stated, plus no line since
    assert (at.bank, at.books, at.source, at.stated_on) == (35_000, 30_000, "from", day(1))
    at = reconcile.day_balances(t, s.club_id, day(-1))  # the first stated, less the lines up to it
    assert (at.bank, at.books, at.difference, at.source, at.stated_on) == (5_000, 0, 5_000, "from", day(0))
    # A later file states day 3 only, after a 20,00 line on day 3: day 2 is 350,00 (370,00 less 20,00).
    reconcile.upload(t, s.club_id, file_with_balances((day(3), "20,00", "VIR C", "370,00")), BALANCED,
                     filename="releve2.csv")
    assert reconcile.day_balances(t, s.club_id, day(2)).bank == 35_000
    # No file states a balance: unknown, nothing compared.
    bare = make_club(5, name="Sans solde")
    pay(bare, 2, 10_000, day(0))
    upload(bare, bank_file((day(0), "120,00", "VIR")))
    at = reconcile.day_balances(bare.treasurer.id, bare.club_id, day(0))
    assert (at.known, at.bank, at.books, at.difference) == (False, None, 10_000, 0)
    refused(lambda: reconcile.day_balances(s.members[3].id, s.club_id, day(0)), NotPermitted, unchanged=False)


def test_through_a_day_the_balances_agree_no_explanation_is_asked(uncashed):
    """The same statement, once the books hold the 50,00 too (an opening entry dated before the file)."""
    s = uncashed
    pay(s, 4, 5_000, day(-40))  # before the file's first line: not asked to be matched
    done = reconcile.reconcile(s.treasurer.id, s.club_id, through=day(1), today=day(30))
    assert (done.bank_balance, done.book_balance, done.explanation) == (35_000, 35_000, "")


def test_without_a_stated_balance_only_the_matching_is_checked(make_club):
    setup = make_club(5)
    pay(setup, 2, 10_000, day(-40))  # the books hold more than the lines: no balance says what the bank holds
    pay(setup, 3, 10_000, day(0))
    upload(setup, bank_file((day(0), "100,00", "VIR")))
    done = reconcile.reconcile(setup.treasurer.id, setup.club_id, through=day(0), today=day(30))
    assert (done.bank_balance, done.book_balance, done.explanation) == (None, 20_000, "")
