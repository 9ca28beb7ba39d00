"""Bank matching through the browser (issue 16): a hand match of dates far apart asks before it is made; a bank
line's page offers, besides a fee and a contribution, the refund of an overpayment; the reconciliation form
shows the bank's and the books' balances at the day and asks what explains a difference.

The ``club`` fixture: manager, treasurer, secretary, three plain members (members[3:]), all French."""
from __future__ import annotations

from datetime import date, timedelta

from markupsafe import escape
from sqlalchemy import select

from coop.amounts import money
from coop.extensions import db
from coop.models import BankLine, BankReconciliation, JournalTransaction
from coop.services import fund, reconcile
from tests.conftest import by_id, hidden_fields, key, say, snapshot

TODAY = date.today()


def eur(cents: int) -> str:
    return str(escape(money(cents, "EUR", "fr")))


def pay(setup, user, amount: int, on: date):
    return fund.record_contribution(setup.treasurer.id, setup.club_id, membership_id=setup.membership_id(user),
                                    amount=amount, received_on=on, method="transfer", bank_reference="",
                                    idempotency_key=key())


def upload(setup, *lines: str, columns=None) -> list[int]:
    data = ("\n".join([("Date;Libellé;Montant;Solde" if columns else "Date;Libellé;Montant"), *lines, ""])).encode()
    statement, _ = reconcile.upload(setup.treasurer.id, setup.club_id, data, columns or reconcile.Columns(0, 1, 2),
                                    window_days=0)
    found = list(db.session.scalars(select(BankLine.id).where(BankLine.statement_id == statement.id)
                                    .order_by(BankLine.line_no)))
    db.session.rollback()
    return found


def day(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def test_a_hand_match_of_dates_far_apart_asks_then_matches_once_confirmed(club, make_browser):
    s = club
    c = s.club_id
    txn = pay(s, s.members[3], 2_500, TODAY - timedelta(days=40)).transaction_id
    [line] = upload(s, f"{day(TODAY)};CHQ 1234;25,00")
    browser = make_browser(s.treasurer)
    page = browser.get(f"/clubs/{c}/books/bank/lines/{line}")
    assert f'name="transaction_id" value="{txn}"' in page.text
    csrf = hidden_fields(page.text)["csrf_token"]
    before = snapshot()
    asked = browser.client.post(f"/clubs/{c}/books/bank/lines/{line}/match",
                                data={"csrf_token": csrf, "transaction_id": str(txn)})
    assert asked.status_code == 409
    assert say("The bank line and this movement of the books are %(days)d days apart. Match them all the same?",
               days=40) in asked.text
    assert 'name="confirm" value="y"' in asked.text and say("Match all the same") in asked.text
    assert snapshot() == before
    done = browser.client.post(f"/clubs/{c}/books/bank/lines/{line}/match",
                               data={"csrf_token": csrf, "transaction_id": str(txn), "confirm": "y"})
    assert done.status_code == 302
    assert by_id(BankLine, line).transaction_id == txn


def test_a_bank_line_is_confirmed_as_the_refund_of_an_overpayment_from_its_page(club, make_browser):
    s = club
    c = s.club_id
    member = s.members[3]
    pay(s, member, 4_500, TODAY - timedelta(days=6))
    twice = pay(s, member, 4_500, TODAY - timedelta(days=5))
    [line, fee] = upload(s, f"{day(TODAY)};REMBOURSEMENT TROP PERCU;-45,00", f"{day(TODAY)};FRAIS;-1,00")
    browser = make_browser(s.treasurer)
    page = browser.get(f"/clubs/{c}/books/bank/lines/{line}").text
    assert say("The refund of an overpayment") in page and say("Post as a bank fee") in page
    assert f'name="contribution_id" value="{twice.id}"' in page and escape(member.name) in page
    assert say("No contribution of this amount to give back.") in browser.get(
        f"/clubs/{c}/books/bank/lines/{fee}").text
    csrf = hidden_fields(page)["csrf_token"]
    before = snapshot()
    for bad in ("", "abc", "-1", "99999999999999999999"):
        assert browser.client.post(f"/clubs/{c}/books/bank/lines/{line}/refund",
                                   data={"csrf_token": csrf, "contribution_id": bad}).status_code in (400, 404)
    assert browser.client.post(f"/clubs/{c}/books/bank/lines/{fee}/refund",
                               data={"csrf_token": csrf, "contribution_id": str(twice.id)}).status_code == 400
    assert snapshot() == before
    done = browser.client.post(f"/clubs/{c}/books/bank/lines/{line}/refund",
                               data={"csrf_token": csrf, "contribution_id": str(twice.id)})
    assert done.status_code == 302
    matched = by_id(BankLine, line)
    reversal = by_id(JournalTransaction, matched.transaction_id)
    assert (reversal.reverses_id, reversal.occurred_on) == (twice.transaction_id, TODAY)
    again = snapshot()
    assert browser.client.post(f"/clubs/{c}/books/bank/lines/{line}/refund",
                               data={"csrf_token": csrf, "contribution_id": str(twice.id)}).status_code == 409
    assert snapshot() == again
    # Someone else's club, or a plain member: nothing.
    plain = make_browser(s.members[4])
    assert plain.client.post(f"/clubs/{c}/books/bank/lines/{fee}/refund",
                             data={"csrf_token": hidden_fields(plain.get("/").text)["csrf_token"],
                                   "contribution_id": str(twice.id)}).status_code == 403
    assert snapshot() == again


def test_the_reconciliation_form_shows_a_difference_and_asks_what_explains_it(club, make_browser):
    """Books: 100,00 three days ago. The bank's file: the same line, its running balance 130,00 (30,00 the
    books do not know)."""
    s = club
    c = s.club_id
    on = TODAY - timedelta(days=3)
    pay(s, s.members[3], 10_000, on)
    upload(s, f"{day(on)};VIR;100,00;130,00", columns=reconcile.Columns(date=0, label=1, amount=2, balance=3))
    browser = make_browser(s.treasurer)
    page = browser.get(f"/clubs/{c}/books/bank").text
    form = page[page.index("/books/bank/reconcile"):]
    assert '<p class="warning" role="status">' in form and eur(13_000) in form and eur(3_000) in form
    assert 'name="explanation"' in page
    before = snapshot()
    refused = browser.submit(f"/clubs/{c}/books/bank/reconcile", {"through": TODAY.isoformat()},
                             page=f"/clubs/{c}/books/bank")
    assert refused.status_code == 400
    assert eur(3_000) in refused.text and 'id="explanation-error"' in refused.text
    assert snapshot() == before
    done = browser.submit(f"/clubs/{c}/books/bank/reconcile",
                          {"through": TODAY.isoformat(), "explanation": "Chèque 1234 pas encore encaissé"},
                          page=f"/clubs/{c}/books/bank")
    assert done.status_code == 302
    [rec] = db.session.scalars(select(BankReconciliation).where(BankReconciliation.club_id == c)).all()
    assert (rec.bank_balance, rec.book_balance, rec.explanation) == (13_000, 10_000, "Chèque 1234 pas encore encaissé")
    assert escape("Chèque 1234 pas encore encaissé") in browser.get(f"/clubs/{c}/books/bank").text
