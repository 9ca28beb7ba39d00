"""Bank files as banks write them, uploaded (coop/services/reconcile.py over coop/bankfiles): each preset's file
kept as detected, with its value days, the bank's references and the balances it states; a malformed copy
refused with its line and nothing written; the bank's reference as the key of a line uploaded twice; the
layout a club used remembered for its next file; the balances the files state checked against the books."""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from coop import bankfiles
from coop.extensions import db
from coop.models import AuditEntry, BankBalance, BankLine, BankStatement
from coop.services import reconcile
from coop.services.errors import Conflict, InvalidInput
from coop.services.reconcile import Columns
from tests.conftest import english, key, refused, snapshot
from tests.unit.test_bankfiles import EXPECTED, MALFORMED, data

from .test_reconcile import lines_of, pay


def club_for(make_club, name: str):
    return make_club(5, currency=EXPECTED[name]["currency"])


def kept_balances(club_id: int) -> list[tuple]:
    return [(b.stated_on, b.amount, b.source) for b in db.session.scalars(
        select(BankBalance).where(BankBalance.club_id == club_id).order_by(BankBalance.stated_on))]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_bank_s_file_is_kept_as_the_bank_wrote_it(make_club, name):
    setup, expected = club_for(make_club, name), EXPECTED[name]
    statement, matched = reconcile.upload(setup.treasurer.id, setup.club_id, data(name), filename=name)
    assert matched == 0
    assert (statement.layout, statement.account, statement.currency, statement.mapping) == (
        expected["layout"], expected["account"], expected["currency"], "")
    assert (statement.first_on, statement.last_on) == (date(2025, 1, 15), date(2025, 3, 28))
    kept = sorted((x.line_no, x.booked_on, x.amount, x.label, x.value_on, x.reference)
                  for x in lines_of(setup.club_id))
    assert kept == sorted(line[:6] for line in expected["lines"])
    assert kept_balances(setup.club_id) == sorted((b.on, b.amount, b.source) for b in expected["balances"])
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "bank.upload",
                                                       AuditEntry.club_id == setup.club_id))
    assert entry is not None


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_file_is_refused_with_its_line_and_nothing_written(make_club, name):
    setup = club_for(make_club, name)
    good, bad, line = MALFORMED[name]
    err = refused(lambda: reconcile.upload(setup.treasurer.id, setup.club_id, data(name).replace(good, bad)),
                  InvalidInput, field="file")
    assert re.search(rf"\b([Ll]ine|[Ll]igne) {line}\b", english(err)), english(err)
    preview = reconcile.preview(setup.treasurer.id, setup.club_id, data(name).replace(good, bad))
    assert [x.line_no for x in preview.errors] == [line]


def test_a_file_in_another_currency_than_the_club_s_is_refused(make_club):
    setup = make_club(5)  # EUR
    err = refused(lambda: reconcile.upload(setup.treasurer.id, setup.club_id, data("desjardins.csv")), InvalidInput,
                  field="file")
    assert re.match(r"(This file is in CAD; the club's money is in EUR\.|Ce fichier est en CAD ; l’argent du club est "
                    r"en EUR\.)", english(err)), english(err)


def test_the_bank_s_reference_tells_a_line_uploaded_twice(make_club):
    """Caisse d'Épargne gives references: a line whose label the bank rewrote is still the same line; a line
    with a new reference is new even when its day, amount and label are another's."""
    setup = make_club(5)
    raw = data("caisse_epargne.csv")
    reconcile.upload(setup.treasurer.id, setup.club_id, raw)
    assert len(lines_of(setup.club_id)) == 5
    relabelled = raw.replace(b"VIR SEPA M. DUPONT JEAN;", b"VIREMENT SEPA DE M. DUPONT JEAN;")
    refused(lambda: reconcile.upload(setup.treasurer.id, setup.club_id, relabelled), Conflict, field="file")
    another = raw.replace(b"2503281234ABC", b"2503281234ABD")
    reconcile.upload(setup.treasurer.id, setup.club_id, another)
    dupont = [x for x in lines_of(setup.club_id) if x.label == "VIR SEPA M. DUPONT JEAN"]
    assert sorted(x.reference for x in dupont) == ["2503281234ABC", "2503281234ABD"]


def test_a_reference_twice_in_one_file_is_refused(make_club):
    setup = make_club(5)
    raw = data("caisse_epargne.csv").replace(b"2503109999DEF", b"2503281234ABC")
    err = refused(lambda: reconcile.upload(setup.treasurer.id, setup.club_id, raw), InvalidInput, field="file")
    assert re.match(r"(Line|Ligne) 5\b.*2503281234ABC", english(err)), english(err)


NO_HEADER = (b"05/03/2025,VIR COTISATION,250.00,250.00\n"
             b"07/03/2025,FRAIS,-1.50,248.50\n")


def test_the_columns_chosen_by_hand_are_remembered_for_the_club_s_next_file(make_club):
    setup = make_club(5)
    fresh = reconcile.layout_for(setup.treasurer.id, setup.club_id, NO_HEADER)
    assert (fresh.layout, fresh.remembered, fresh.columns, fresh.table.header) == ("columns", False, None, None)
    columns = Columns(date=0, label=1, amount=2, balance=3, decimal="point", header=False)
    statement, _ = reconcile.upload(setup.treasurer.id, setup.club_id, NO_HEADER, columns)
    assert (statement.layout, Columns.from_dict(json.loads(statement.mapping))) == ("columns", columns)
    assert reconcile.remembered(setup.treasurer.id, setup.club_id) == ("columns", columns)
    later = (b"01/04/2025,VIR COTISATION AVRIL,250.00,498.50\n")
    found = reconcile.layout_for(setup.treasurer.id, setup.club_id, later)
    assert (found.layout, found.remembered, found.columns) == ("columns", True, columns)
    # A bank's file is still read by its preset: detection first.
    found = reconcile.layout_for(setup.treasurer.id, setup.club_id, data("credit_mutuel.csv"))
    assert (found.layout, found.detected, found.remembered) == ("credit-mutuel", True, False)
    # Columns that do not fit the next file are not offered.
    narrow = b"05/04/2025,1.00\n06/04/2025,2.00\n"
    assert reconcile.layout_for(setup.treasurer.id, setup.club_id, narrow).columns is None
    # Other clubs remember their own.
    other = make_club(5, name="Autre Cigale")
    assert reconcile.remembered(other.treasurer.id, other.club_id) == ("", None)


def test_the_balances_a_file_states_are_checked_against_the_books(make_club):
    """Crédit Mutuel's running balance, end of each day: with only the contributions in the books, the bank
    holds 1 200,00 less from 10 March (the loan) and 3,50 less from 25 March (the fee); once both are in the
    books, every balance agrees."""
    setup = make_club(5)
    pay(setup, 2, 262_590, date(2025, 1, 15))
    pay(setup, 3, 4_500, date(2025, 3, 10))
    pay(setup, 4, 4_500, date(2025, 3, 28))
    statement, matched = reconcile.upload(setup.treasurer.id, setup.club_id, data("credit_mutuel.csv"))
    assert matched == 3
    checks = reconcile.balance_checks(setup.treasurer.id, setup.club_id)
    assert [(c.on, c.bank, c.books, c.difference, c.lines_gap, c.statement_id) for c in checks] == [
        (date(2025, 3, 28), 151_240, 271_590, -120_350, 0, statement.id),
        (date(2025, 3, 25), 146_740, 267_090, -120_350, 0, statement.id),
        (date(2025, 3, 10), 147_090, 267_090, -120_000, 0, statement.id),
        (date(2025, 1, 15), 262_590, 262_590, 0, 0, statement.id)]
    assert [c.agrees for c in checks] == [False, False, False, True]
    loan, fee = (x for x in lines_of(setup.club_id) if x.amount < 0)
    for line in (loan, fee):
        reconcile.record_fee(setup.treasurer.id, setup.club_id, line.id, memo="Sortie", form_key=key())
    checks = reconcile.balance_checks(setup.treasurer.id, setup.club_id)
    assert all(c.agrees for c in checks) and len(checks) == 4


def test_a_line_missing_between_two_stated_balances_is_reported(make_club):
    """The running balance moves by 45,00 on 28 March but the line of that day is not in the file."""
    setup = make_club(5)
    raw = data("credit_mutuel.csv").replace(b"28/03/2025;28/03/2025;;45,00;VIR SEPA M. DUPONT JEAN COTISATION;"
                                            b"1512,40", b"28/03/2025;28/03/2025;;0,10;VIR SEPA M. DUPONT JEAN "
                                            b"COTISATION;1512,40")
    reconcile.upload(setup.treasurer.id, setup.club_id, raw)
    latest = reconcile.balance_checks(setup.treasurer.id, setup.club_id)[0]
    assert (latest.on, latest.previous_on, latest.moved, latest.lines_total, latest.lines_gap) == (
        date(2025, 3, 28), date(2025, 3, 25), 4_500, 10, 4_490)


def test_the_columns_layout_finds_the_header_under_a_preamble(make_club):
    setup = make_club(5)
    raw = ("Export du compte;\n;\nDate;Montant;Libellé\n05/03/2025;10,00;a\n06/03/2025;-2,00;b\n"
           "Solde au 06/03/2025;8,00\n").encode("cp1252")
    preview = reconcile.preview(setup.treasurer.id, setup.club_id, raw, Columns(date=0, amount=1, label=2))
    assert preview.header == ["Date", "Montant", "Libellé"]
    assert [(x.line_no, x.amount) for x in preview.lines] == [(4, 1_000), (5, -200)]
    assert preview.left_out == [(1, 1, "before"), (6, 6, "after")]
    reconcile.upload(setup.treasurer.id, setup.club_id, raw, Columns(date=0, amount=1, label=2))
    assert kept_balances(setup.club_id) == [(date(2025, 3, 6), 800, "stated")]
    assert db.session.scalar(select(BankStatement.layout).where(BankStatement.club_id == setup.club_id)) == "columns"
    assert {x.line_no for x in db.session.scalars(select(BankLine).where(BankLine.club_id == setup.club_id))} == {4, 5}
    before = snapshot()
    refused(lambda: reconcile.upload(setup.treasurer.id, setup.club_id, raw, Columns(date=0, amount=1, label=2)),
            Conflict)
    assert snapshot() == before


# --- OFX and CAMT.053, read whole by their readers ------------------------------------------------------------------


STANDARD_FILES = {"ofx": "ofx-102-fr-cp1252.ofx", "camt.053": "camt.053.001.02.xml"}


def standard_file(name: str) -> bytes:
    return (Path(__file__).parent.parent / "data" / "banks" / STANDARD_FILES[name]).read_bytes()


@pytest.mark.parametrize("layout", sorted(STANDARD_FILES))
def test_an_ofx_or_camt_file_is_detected_kept_with_its_references_and_balances(make_club, layout):
    setup = make_club(5)
    raw = standard_file(layout)
    read = bankfiles.read(raw)
    assert read.layout == layout
    found = reconcile.layout_for(setup.treasurer.id, setup.club_id, raw)
    assert (found.layout, found.detected, found.table.width) == (layout, True, 0)  # no columns to choose

    statement, _ = reconcile.upload(setup.treasurer.id, setup.club_id, raw, filename=STANDARD_FILES[layout])

    assert (statement.layout, statement.currency, statement.account) == (layout, "EUR", read.account)
    kept = sorted((x.booked_on, x.amount, x.label, x.value_on, x.reference) for x in lines_of(setup.club_id))
    assert kept == sorted((x.booked_on, x.amount, x.label, x.value_on, x.reference) for x in read.lines)
    assert all(x.reference for x in read.lines) or layout == "camt.053"
    assert kept_balances(setup.club_id) == sorted((b.on, b.amount, b.source) for b in read.balances)
    assert reconcile.remembered(setup.treasurer.id, setup.club_id)[0] == layout
    before = snapshot()
    refused(lambda: reconcile.upload(setup.treasurer.id, setup.club_id, raw), Conflict, field="file")
    assert snapshot() == before


def test_a_camt_file_says_which_pending_entries_it_left_out(make_club):
    setup = make_club(5)
    preview = reconcile.preview(setup.treasurer.id, setup.club_id, standard_file("camt.053"))
    assert preview.layout == "camt.053" and preview.bank == "ISO 20022 CAMT.053"
    assert preview.notes and not preview.messages


def test_a_reference_the_bank_reuses_in_its_next_statement_is_not_a_duplicate(make_club):
    """Some banks number a statement's entries 1, 2, 3…: the same reference with another amount (or day) is
    another line, not one uploaded before."""
    setup = make_club(5)
    raw = standard_file("ofx")
    reconcile.upload(setup.treasurer.id, setup.club_id, raw)
    next_statement = raw.replace(b"<TRNAMT>150.00", b"<TRNAMT>151.00", 1)
    reused = next(x.reference for x in bankfiles.read(next_statement).lines if x.amount == 15_100)

    preview = reconcile.preview(setup.treasurer.id, setup.club_id, next_statement)

    assert [(x.reference, x.amount) for x in preview.new_lines] == [(reused, 15_100)]
    assert reused in {x.reference for x in lines_of(setup.club_id)}  # the same reference, kept before
