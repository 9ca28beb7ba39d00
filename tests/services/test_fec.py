"""The FEC (coop/services/fec.py), on both databases: a club's two years built through the services (contributions,
a loan paid out and repaid with interest, a bank fee, a reversed contribution, a write-off, a refund to a leaver,
a time exchange), the first year closed; each year exported and read back by a parser written here from article
A. 47 A-1 of the livre des procédures fiscales, not from the exporter: every rule of the format, the totals
against the trial balance, the carried-forward balances, the PCG numbers from the club's chart and a changed
chart; refusals (SIREN, year, separator, a year with nothing, a CAD club, who may read and change) write nothing."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from coop.extensions import db
from coop.models import Account, AuditEntry, BankLine, JournalTransaction, PcgMapping, Posting
from coop.services import books, clubs, fec, fund, investments, reconcile, timebank, valuation
from coop.services.errors import InvalidInput, NotFound, NotPermitted, RuleViolation
from coop.services.reconcile import Columns
from tests.conftest import by_id, english, key, refused, row_counts
from tests.services.test_investment_flow import approved

TODAY = date.today()
P, Y = TODAY.year - 1, TODAY.year  # P is closed; Y is this year, not closed
SIREN = "552100554"  # nine digits whose Luhn sum holds

# --- The rule, as article A. 47 A-1 and BOI-CF-IOR-60-40-20 state it ---------------------------------------------

RULE_COLUMNS = ["JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
                "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
                "ValidDate", "Montantdevise", "Idevise"]
RULE_DAY = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
RULE_AMOUNT = re.compile(r"^(\d+),(\d{2})$")  # decimal comma, no thousands separator, no sign
RULE_ACCOUNT = re.compile(r"^[1-7]\d{2}")  # the first three characters: a PCG account, class 1 to 7
PARIS = ZoneInfo("Europe/Paris")


def rule_day(text: str) -> date:
    found = RULE_DAY.match(text)
    assert found, f"not a YYYYMMDD date: {text!r}"
    return date(*map(int, found.groups()))


def rule_cents(text: str) -> int:
    found = RULE_AMOUNT.match(text)
    assert found, f"not an amount with a decimal comma: {text!r}"
    return int(found[1]) * 100 + int(found[2])


def read_fec(data: bytes, sep: str) -> list[dict]:
    """The lines of a FEC, each checked against the format, as dicts of the 18 columns; entries are checked too."""
    text = data.decode("iso-8859-15")  # one of the character sets the article allows
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # not UTF-8: the accents are single ISO 8859-15 bytes
    assert not data.startswith(b"\xef\xbb\xbf")
    assert text.endswith("\r\n")
    records = text[:-2].split("\r\n")  # records end with a carriage return and a line feed
    assert all("\r" not in r and "\n" not in r for r in records)
    other = "|" if sep == "\t" else "\t"
    assert other not in text  # one separator, the same through the file
    header = records[0].split(sep)
    assert header == RULE_COLUMNS  # the first line names the 18 columns, in order
    rows = []
    for record in records[1:]:
        cells = record.split(sep)
        assert len(cells) == 18, record
        row = dict(zip(RULE_COLUMNS, cells, strict=True))
        for name in ("EcritureDate", "PieceDate", "ValidDate"):
            rule_day(row[name])
        debit, credit = rule_cents(row["Debit"]), rule_cents(row["Credit"])
        assert (debit > 0) != (credit > 0), row  # one side on each line, the other zero
        assert row["Credit" if debit else "Debit"] == "0,00"
        assert RULE_ACCOUNT.match(row["CompteNum"]) and row["CompteNum"].isdigit(), row
        for name in ("JournalCode", "JournalLib", "EcritureNum", "CompteLib", "PieceRef", "EcritureLib"):
            assert row[name].strip() == row[name] and row[name], (name, row)
        assert (row["EcritureLet"], row["DateLet"], row["Montantdevise"], row["Idevise"]) == ("", "", "", "")
        assert bool(row["CompAuxNum"]) == bool(row["CompAuxLib"])
        rows.append(row)
    # One name per journal and per account number.
    for code, name in (("JournalCode", "JournalLib"), ("CompteNum", "CompteLib"), ("CompAuxNum", "CompAuxLib")):
        names = defaultdict(set)
        for row in rows:
            if row[code]:
                names[row[code]].add(row[name])
        assert all(len(v) == 1 for v in names.values()), names
    # Entries: numbered 1, 2, 3 … without a gap, their lines together, each balanced, one journal, date and
    # validation date each, in the chronological order of validation.
    numbers = [int(row["EcritureNum"]) for row in rows]
    seen = list(dict.fromkeys(numbers))
    assert seen == list(range(1, len(seen) + 1))
    assert numbers == sorted(numbers)
    valid_days = []
    for number in seen:
        lines = [row for row in rows if int(row["EcritureNum"]) == number]
        assert len(lines) >= 2
        assert sum(rule_cents(r["Debit"]) for r in lines) == sum(rule_cents(r["Credit"]) for r in lines)
        for name in ("JournalCode", "EcritureDate", "ValidDate", "PieceRef", "PieceDate", "EcritureLib"):
            assert len({r[name] for r in lines}) == 1, (name, lines)
        valid_days.append(rule_day(lines[0]["ValidDate"]))
    assert valid_days == sorted(valid_days)
    return rows


def entries_of(rows: list[dict]) -> dict[int, list[dict]]:
    found = defaultdict(list)
    for row in rows:
        found[int(row["EcritureNum"])].append(row)
    return dict(found)


# --- The club's two years --------------------------------------------------------------------------------------------


def build_years(setup) -> dict:
    """Year P: six members pay 3,000.00 each; a loan of 3,000.00 paid out; a bank fee of 4.50; 500.00 repaid with
    30.00 of interest; P closed. Year Y: 100.00 paid in (a reference with a bar, quotes and accents), 50.00 paid
    in and reversed, the loan written down from 2,500.00 to 2,000.00 (a revaluation approved by a second
    officer), 500.00 repaid with 25.00 of interest, the rest of the loan written off (its reserve with it), a
    time exchange, a leaver's share valued and paid."""
    c, treasurer, manager = setup.club_id, setup.treasurer, setup.manager
    ids = {}

    def pay(user, amount, on, reference):
        return fund.record_contribution(treasurer.id, c, membership_id=setup.membership_id(user), amount=amount,
                                        received_on=on, method="transfer", bank_reference=reference,
                                        idempotency_key=key())

    for user in setup.members:
        pay(user, 300_000, date(P, 1, 15), "Versement")
    project_id = approved(setup)
    investment = investments.record_investment(treasurer.id, c, project_id,
                                               mentor_id=setup.membership_id(setup.members[3]), form_key=key())
    payment = investments.enter_payment(treasurer.id, c, investment.id, amount=300_000, paid_on=date(P, 6, 1),
                                        form_key=key())
    investments.approve_payment(manager.id, c, payment.id)
    data = f"Date;Montant;Libellé\n{date(P, 9, 10):%d/%m/%Y};-4,50;FRAIS TENUE\n".encode()
    reconcile.upload(treasurer.id, c, data, Columns(date=0, amount=1, label=2))
    line = db.session.scalar(select(BankLine.id).where(BankLine.club_id == c))
    reconcile.record_fee(treasurer.id, c, line, memo="Frais de tenue de compte", form_key=key())
    investments.record_repayment(treasurer.id, c, investment.id, principal=50_000, interest=3_000,
                                 received_on=date(P, 12, 1), form_key=key())
    books.close_period(treasurer.id, c, through=date(P, 12, 31))

    first, mid = date(Y, 1, 1), min(TODAY, date(Y, 3, 1))
    ids["bar"] = pay(setup.members[3], 10_000, first, "VIR|A ’café’ — ok").transaction_id
    mistaken = pay(setup.members[4], 5_000, mid, "Erreur")
    fund.reverse_contribution(treasurer.id, c, mistaken.id, reason="Chèque rejeté", idempotency_key=key())
    written_down = valuation.enter_revaluation(treasurer.id, c, investment.id, new_value=200_000, valued_on=mid,
                                               reason="Dépréciation : retards de paiement", form_key=key())
    ids["revaluation"] = valuation.approve_revaluation(manager.id, c, written_down.id).transaction_id
    investments.record_repayment(treasurer.id, c, investment.id, principal=50_000, interest=2_500, received_on=mid,
                                 form_key=key())
    investments.write_off(treasurer.id, c, investment.id, reason="Liquidation", on=mid, form_key=key())
    timebank.record_exchange(setup.members[4].id, c, other_id=setup.membership_id(setup.members[3]),
                             direction="received", minutes=90, done_on=mid, description="Réparation vélo",
                             form_key=key())
    leaver = setup.members[5]
    clubs.leave(leaver.id, c)
    valued = fund.value_exit(treasurer.id, c, setup.membership_id(leaver), form_key=key())
    payout = fund.refund(treasurer.id, c, setup.membership_id(leaver), amount=valued.value, idempotency_key=key())
    fund.approve_payout(manager.id, c, payout.id)
    ids["investment_account"] = investment.account_id
    db.session.rollback()
    return ids


@pytest.fixture
def years(database, make_club):
    setup = make_club(6)
    setup.ids = database.remembered(("fec-years", P, Y), lambda: build_years(setup), lambda kept: dict(kept))
    return setup


def export(setup, year=Y, separator="tab", user=None):
    done = fec.export((user or setup.treasurer).id, setup.club_id, year=year, siren=SIREN, separator=separator)
    db.session.rollback()
    return done


def movements(setup, year: int) -> dict[int, tuple[int, int]]:
    """Per account: debits and credits dated in the year, from the trial balance (end of year less end of the year
    before)."""
    def table(on):
        return {line.account.id: (line.debits, line.credits)
                for t in books.trial_balance(setup.treasurer.id, setup.club_id, on=on) for line in t.lines}

    end, before = table(date(year, 12, 31)), table(date(year - 1, 12, 31))
    return {a: (d - before.get(a, (0, 0))[0], c - before.get(a, (0, 0))[1]) for a, (d, c) in end.items()
            if (d, c) != before.get(a, (0, 0))}


# --- The format -------------------------------------------------------------------------------------------------------


def test_a_year_exported_follows_every_rule_of_the_format_and_matches_the_books(years):
    s = years
    c = s.club_id
    done = export(s)
    assert done.filename == f"{SIREN}FEC{Y}1231.txt"  # SIREN, FEC, the closing date of the fiscal year
    assert not done.closed
    rows = read_fec(done.data, "\t")
    entries = entries_of(rows)
    assert done.entries == len(entries) and done.lines == len(rows)
    for row in rows:
        assert date(Y, 1, 1) <= rule_day(row["EcritureDate"]) <= date(Y, 12, 31)
        assert row["PieceDate"] == row["EcritureDate"]

    # The carried-forward balances come first, in journal AN, on the year's first day.
    opening = entries[1]
    assert {r["JournalCode"] for r in opening} == {"AN"} and opening[0]["EcritureDate"] == f"{Y}0101"
    assert all(r["JournalCode"] != "AN" for n, lines in entries.items() if n > 1 for r in lines)

    accounts = {a.id: a for a in db.session.scalars(select(Account).where(Account.club_id == c))}
    capital = {a.id: a.membership_id for a in accounts.values() if a.code.startswith("capital:")}
    payable = {a.id: a.membership_id for a in accounts.values() if a.code.startswith("payable:")}
    number_of = {"bank": "512000", "income:returns": "762000", "expense:fees": "627000", "expense:losses": "667000",
                 "reserves": "106800"}
    number_of.update({accounts[s.ids["investment_account"]].code: "274000"})  # a loan
    number_of.update({a.code: "105000" for a in accounts.values() if a.code.startswith("revaluation:")})

    def place(account_id: int) -> tuple[str, str]:
        account = accounts[account_id]
        if account_id in capital:
            return "455100", f"M{capital[account_id]:05d}"
        if account_id in payable:  # the leaver's share, valued then paid
            return "467100", f"M{payable[account_id]:05d}"
        return number_of[account.code], ""

    # The opening entry: each balance-sheet account's balance at the end of P, the result of P to 110.
    carried = Counter()
    for account_id, balance in books.balances_on(c, date(P, 12, 31)).items():
        account = accounts[account_id]
        if account.unit != "money" or not balance:
            continue
        if account.type in ("income", "expense"):
            carried["110000", ""] += balance
        else:
            carried[place(account_id)] += balance
    assert carried["110000", ""] == -2_550  # 30.00 of interest less 4.50 of fees: a profit, credited
    shown = Counter()
    for r in opening:
        shown[r["CompteNum"], r["CompAuxNum"]] += rule_cents(r["Debit"]) - rule_cents(r["Credit"])
    assert shown == {k: v for k, v in carried.items() if v}

    # The other entries: the year's transactions in money, one line per posting, in the order they were recorded.
    txns = list(db.session.scalars(select(JournalTransaction).where(
        JournalTransaction.club_id == c, JournalTransaction.unit == "money",
        JournalTransaction.occurred_on >= date(Y, 1, 1)).order_by(JournalTransaction.seq)))
    assert [int(entries[n][0]["PieceRef"]) for n in sorted(entries) if n > 1] == [t.id for t in txns]
    kinds = {t.id: t.kind for t in db.session.scalars(select(JournalTransaction).where(JournalTransaction.club_id == c))}
    for t in txns:
        lines = next(lines for n, lines in entries.items() if lines[0]["PieceRef"] == str(t.id))
        assert [(r["CompteNum"], r["CompAuxNum"], rule_cents(r["Debit"]) - rule_cents(r["Credit"])) for r in lines] \
            == [(*place(p.account_id), p.amount) for p in t.postings]
        assert lines[0]["EcritureDate"] == t.occurred_on.strftime("%Y%m%d")
        recorded = t.created_at.replace(tzinfo=UTC).astimezone(PARIS).date()
        assert lines[0]["ValidDate"] == recorded.strftime("%Y%m%d")
        kind = kinds[t.reverses_id] if t.kind == "reversal" else t.kind
        assert lines[0]["JournalCode"] == ("OD" if kind in ("adjustment", "revaluation", "exit") else "BQ"), (
            t.kind, lines[0])
    first_recorded = min(t.created_at.replace(tzinfo=UTC).astimezone(PARIS).date() for t in txns)
    assert rule_day(opening[0]["ValidDate"]) == min(date(Y, 1, 1), first_recorded)
    assert {r["JournalLib"] for r in rows} == {"A nouveaux", "Banque", "Opérations diverses"}

    # Totals per account equal the trial balance's movements of the year.
    moved = defaultdict(lambda: [0, 0])
    for r in rows:
        if r["JournalCode"] != "AN":
            moved[r["CompteNum"], r["CompAuxNum"]][0] += rule_cents(r["Debit"])
            moved[r["CompteNum"], r["CompAuxNum"]][1] += rule_cents(r["Credit"])
    expected = defaultdict(lambda: [0, 0])
    for account_id, (debits, credits) in movements(s, Y).items():
        if accounts[account_id].unit == "money":
            expected[place(account_id)][0] += debits
            expected[place(account_id)][1] += credits
    assert dict(moved) == dict(expected)

    # Time credits are not money: neither the exchange nor a time account is in the file.
    assert "Réparation vélo" not in done.data.decode("iso-8859-15")
    time_postings = db.session.scalar(select(db.func.count()).select_from(Posting).join(Account).where(
        Account.club_id == c, Account.unit == "time"))
    assert time_postings == 2
    # A separator or a character ISO 8859-15 lacks never reaches a field.
    bar = next(lines for lines in entries.values() if lines[0]["PieceRef"] == str(s.ids["bar"]))
    assert bar[0]["EcritureLib"].endswith("VIR A 'café' - ok")
    # The write-down: the loan's account against the revaluation reserves' one account, 105000, in journal OD;
    # the repayment and the write-off take the reserve's −500.00 back out (−100.00, then −400.00).
    down = next(lines for lines in entries.values() if lines[0]["PieceRef"] == str(s.ids["revaluation"]))
    assert [(r["JournalCode"], r["CompteNum"], r["CompteLib"], r["Debit"], r["Credit"]) for r in down] == [
        ("OD", "274000", "Prêts", "0,00", "500,00"), ("OD", "105000", "Écarts de réévaluation", "500,00", "0,00")]
    on_reserve = [rule_cents(r["Debit"]) - rule_cents(r["Credit"]) for r in rows if r["CompteNum"] == "105000"]
    assert on_reserve == [50_000, -10_000, -40_000]


def test_the_closed_year_has_no_carried_balances_before_the_first_and_says_it_is_closed(years):
    done = export(years, P)
    assert done.closed and done.filename == f"{SIREN}FEC{P}1231.txt"
    rows = read_fec(done.data, "\t")
    assert {r["JournalCode"] for r in rows} == {"BQ"}  # contributions, the payment, the fee, the repayment
    assert len(entries_of(rows)) == 6 + 3
    assert {r["CompteNum"] for r in rows} == {"512000", "455100", "274000", "627000", "762000"}
    assert {r["CompteLib"] for r in rows if r["CompteNum"] == "455100"} == {"Associés - Comptes courants"}
    assert len({r["CompAuxNum"] for r in rows if r["CompteNum"] == "455100"}) == 6


def test_a_pipe_between_fields_gives_the_same_file(years):
    tab, pipe = export(years), export(years, separator="pipe")
    assert pipe.filename == tab.filename
    read_fec(pipe.data, "|")
    assert pipe.data.replace(b"|", b"\t") == tab.data


# --- The chart of accounts -------------------------------------------------------------------------------------------


def test_the_chart_lists_each_money_account_once_members_capital_as_one_with_the_defaults(years):
    rows = {r.pattern: r for r in fec.chart(years.treasurer.id, years.club_id)}
    investment = by_id(Account, years.ids["investment_account"]).code
    assert {p: (r.number, r.label) for p, r in rows.items()} == {
        "bank": ("512000", "Banque"),
        "capital:*": ("455100", "Associés - Comptes courants"),
        investment: ("274000", "Prêts"),
        "revaluation:*": ("105000", "Écarts de réévaluation"),
        "income:returns": ("762000", "Produits des autres immobilisations financières"),
        "expense:fees": ("627000", "Services bancaires et assimilés"),
        "expense:losses": ("667000", "Charges nettes sur cessions de valeurs mobilières de placement"),
        "payable:*": ("467100", "Associés sortants - Parts à payer"),
        "reserves": ("106800", "Autres réserves"),
    }
    assert not any(r.changed for r in rows.values())
    # The manager reads it too.
    assert len(fec.chart(years.manager.id, years.club_id)) == 9


def test_a_changed_chart_is_in_the_next_file_and_in_the_audit_log(years):
    s = years
    before = row_counts(AuditEntry)
    changed = fec.set_chart(s.treasurer.id, s.club_id, {"bank": ("512100", "Crédit Coopératif"),
                                                        "capital:*": (" 101300 ", "Capital souscrit - appelé, versé"),
                                                        "expense:fees": ("627000", "Services bancaires et assimilés")})
    assert changed == 2  # the fees' line did not change
    db.session.rollback()
    assert row_counts(AuditEntry) == (before[0] + 2,)
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "fec.chart")
                               .order_by(AuditEntry.id)).all()
    assert [(a.before["number"], a.after["number"], a.actor_id) for a in audit] == [
        ("512000", "512100", s.treasurer.id), ("455100", "101300", s.treasurer.id)]
    rows = read_fec(export(s).data, "\t")
    numbers = {r["CompteNum"]: r["CompteLib"] for r in rows}
    assert numbers["512100"] == "Crédit Coopératif" and numbers["101300"] == "Capital souscrit - appelé, versé"
    assert "512000" not in numbers and "455100" not in numbers
    assert all(r["CompAuxNum"] for r in rows if r["CompteNum"] == "101300")
    # Changed again, and back to the default: one row per account, each change logged.
    fec.set_chart(s.treasurer.id, s.club_id, {"bank": ("512000", "Banque")})
    assert db.session.scalar(select(db.func.count()).select_from(PcgMapping)) == 2
    assert "512000" in {r["CompteNum"] for r in read_fec(export(s).data, "\t")}
    assert not next(r for r in fec.chart(s.treasurer.id, s.club_id) if r.pattern == "bank").changed


@pytest.mark.parametrize("changes, field, message", [
    ({"bank": ("51", "Banque")}, "number-bank",
     "A PCG account number has 3 to 12 digits and starts with its class, 1 to 7."),
    ({"bank": ("812000", "Banque")}, "number-bank",
     "A PCG account number has 3 to 12 digits and starts with its class, 1 to 7."),
    ({"bank": ("5120AB", "Banque")}, "number-bank",
     "A PCG account number has 3 to 12 digits and starts with its class, 1 to 7."),
    ({"bank": ("1234567890123", "Banque")}, "number-bank",
     "A PCG account number has 3 to 12 digits and starts with its class, 1 to 7."),
    ({"bank": ("612000", "Banque")}, "number-bank", "This account cannot go to class %(digit)s: use class %(classes)s."),
    ({"income:returns": ("662000", "Intérêts")}, "number-income:returns",
     "This account cannot go to class %(digit)s: use class %(classes)s."),
    ({"bank": ("512000", "")}, "label-bank", "This field is required."),
    ({"bank": ("455100", "Banque")}, "label-bank",
     "Account %(number)s has two names, “%(first)s” and “%(second)s”: give it one."),
    ({"time:1": ("512000", "Banque")}, None, "Choose a value from the list."),
    ({"bank": "512000"}, None, "Choose a value from the list."),
])
def test_a_chart_number_or_name_that_does_not_fit_is_refused_with_nothing_written(years, changes, field, message):
    err = refused(lambda: fec.set_chart(years.treasurer.id, years.club_id, changes), InvalidInput, field=field)
    assert english(err).startswith(english(message).split("%")[0])


def test_only_the_treasurer_changes_the_chart_only_bookkeepers_read_it(years, make_club):
    s = years
    refused(lambda: fec.set_chart(s.manager.id, s.club_id, {"bank": ("512100", "Banque")}), NotPermitted)
    plain = s.members[3]
    refused(lambda: fec.set_chart(plain.id, s.club_id, {"bank": ("512100", "Banque")}), NotPermitted)
    refused(lambda: fec.chart(plain.id, s.club_id), NotPermitted)
    refused(lambda: fec.export(plain.id, s.club_id, year=Y, siren=SIREN), NotPermitted)
    other = make_club(5, name="Cigale Voisine")
    refused(lambda: fec.export(other.treasurer.id, s.club_id, year=Y, siren=SIREN), NotFound)
    refused(lambda: fec.set_chart(other.treasurer.id, s.club_id, {"bank": ("512100", "Banque")}), NotFound)
    # The manager, who keeps the books without recording money, exports.
    assert read_fec(export(s, user=s.manager).data, "\t")


# --- Refusals ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("siren, message", [
    ("552100555", "This SIREN is not valid: check its digits."),
    ("123456789", "This SIREN is not valid: check its digits."),
    ("55210055", "A SIREN has nine digits."),
    ("5521005544", "A SIREN has nine digits."),
    ("55210055A", "A SIREN has nine digits."),
    ("５５２１００５５４", "A SIREN has nine digits."),
    ("", "A SIREN has nine digits."),
    (None, "A SIREN has nine digits."),
    (552100554, "A SIREN has nine digits."),
])
def test_a_siren_that_is_not_nine_digits_with_a_valid_checksum_is_refused(years, siren, message):
    err = refused(lambda: fec.export(years.treasurer.id, years.club_id, year=Y, siren=siren), InvalidInput,
                  field="siren")
    assert english(err) == english(message)


def test_a_siren_may_be_written_in_groups(years):
    done = fec.export(years.treasurer.id, years.club_id, year=Y, siren="552 100 554")
    assert done.filename == f"{SIREN}FEC{Y}1231.txt"


@pytest.mark.parametrize("year", [1999, TODAY.year + 2, str(Y), True, None, 2024.0])
def test_a_year_outside_the_window_or_not_a_year_is_refused(years, year):
    err = refused(lambda: fec.export(years.treasurer.id, years.club_id, year=year, siren=SIREN), InvalidInput,
                  field="year")
    assert english(err) == english("Choose a year from 2000 to %(last)d.", last=TODAY.year + 1)


def test_a_year_with_nothing_to_write_is_refused(years):
    err = refused(lambda: fec.export(years.treasurer.id, years.club_id, year=P - 1, siren=SIREN), InvalidInput,
                  field="year")
    assert str(P - 1) in english(err)


def test_a_separator_other_than_tab_or_bar_is_refused(years):
    refused(lambda: fec.export(years.treasurer.id, years.club_id, year=Y, siren=SIREN, separator=";"), InvalidInput,
            field="sep")


def test_a_club_keeping_its_books_in_cad_gets_no_fec(make_club):
    setup = make_club(5, currency="CAD", name="Cercle de Québec")
    # Yesterday: the club's day (Montréal) may still be yesterday in UTC's small hours.
    fund.record_contribution(setup.treasurer.id, setup.club_id, membership_id=setup.membership_id(setup.members[2]),
                             amount=10_000, received_on=TODAY - timedelta(days=1), method="transfer",
                             idempotency_key=key())
    db.session.rollback()
    err = refused(lambda: fec.export(setup.treasurer.id, setup.club_id, year=Y, siren=SIREN), RuleViolation,
                  rule="fec")
    assert "CAD" in english(err)
    refused(lambda: fec.set_chart(setup.treasurer.id, setup.club_id, {"bank": ("512100", "Banque")}), RuleViolation)
    refused(lambda: fec.chart(setup.treasurer.id, setup.club_id), RuleViolation)


def test_years_lists_each_year_from_the_first_entry_with_whether_it_is_closed(years):
    assert [(y.year, y.closed) for y in fec.years(years.treasurer.id, years.club_id)] == [(Y, False), (P, True)]


# --- Rules without the database ----------------------------------------------------------------------------------


@pytest.mark.parametrize("digits, valid", [("552100554", True), ("732829320", True), ("443061841", True),
                                            ("552100555", False), ("123456789", False), ("000000000", True)])
def test_the_luhn_checksum(digits, valid):
    assert fec.luhn_valid(digits) is valid


def test_a_field_never_holds_a_separator_a_line_break_or_a_character_iso_8859_15_lacks():
    assert fec._text("a|b\tc\r\nd  e") == "a b c d e"
    assert fec._text("“Œuvre” – 5 € … ✓ ǅ") == '"Œuvre" - 5 € ... ? Dz'
    assert fec._text("Ĉu") == "Cu"
    fec._text("ÀÉÎÕÜŸœšž€").encode("iso-8859-15")
