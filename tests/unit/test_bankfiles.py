"""Bank CSV exports read as the banks write them (coop/bankfiles): each preset's file of tests/data/banks read
line for line (physical line, day, cents, label, value day, bank reference, running balance), the balances it
states, its account and currency; the preset detected from the file; a malformed copy of each refused with a
message naming its physical line; the treasurer's own columns with the line of column names found under a
preamble, a trailer left out, a file without column names read by position.

The files were written from the layouts' descriptions with invented data: the same quarter in each bank's
words (a cheque deposit of 2 625,90 on 15 January; on 10 March a loan of 1 200,00 paid out and a
contribution of 45,00; a fee of 3,50 on 25 March; a contribution of 45,00 on 28 March; 1 512,40 at the end)."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from coop import bankfiles
from coop.bankfiles import Balance, Columns
from coop.bankfiles.csvbanks import detect, parse_cents
from coop.services.errors import InvalidInput

BANKS = Path(__file__).resolve().parents[1] / "data" / "banks"
D = date


def data(name: str) -> bytes:
    return (BANKS / name).read_bytes()


# (line, day, cents, label, value day, reference, balance after) of each file, in the file's order
EXPECTED = {
    "credit_agricole.csv": dict(
        layout="credit-agricole", account="12345678901", currency="EUR", encoding="cp1252", crlf=True,
        left_out=[(1, 8, "before"), (23, 25, "section")],
        balances=[Balance(D(2025, 3, 31), 151_240, "stated")],
        lines=[
            (11, D(2025, 3, 28), 4_500, "VIREMENT EN VOTRE FAVEUR COTISATION MARS M. DUPONT JEAN", D(2025, 3, 28), "",
             None),
            (14, D(2025, 3, 25), -350, "COTISATION TRIMESTRIELLE FRAIS TENUE DE COMPTE", D(2025, 3, 26), "", None),
            (16, D(2025, 3, 10), -120_000, "VIREMENT EMIS PRET CIGALE BOULANGERIE DU PONT", D(2025, 3, 10), "", None),
            (18, D(2025, 3, 10), 4_500, "VIREMENT EN VOTRE FAVEUR COTISATION MARS MME MARTIN", D(2025, 3, 10), "",
             None),
            (20, D(2025, 1, 15), 262_590, "REMISE CHEQUES N° 1234567", D(2025, 1, 16), "", None),
        ]),
    "la_banque_postale.csv": dict(
        layout="la-banque-postale", account="0123456X020", currency="EUR", encoding="cp1252", crlf=True,
        left_out=[(1, 5, "before")],
        balances=[Balance(D(2025, 3, 31), 151_240, "stated")],
        lines=[
            (8, D(2025, 3, 28), 4_500, "VIREMENT DE M. DUPONT JEAN COTISATION MARS", None, "", None),
            (9, D(2025, 3, 25), -350, "COTISATION ESSENTIEL ASSOCIATION", None, "", None),
            (10, D(2025, 3, 10), -120_000, "VIREMENT POUR CIGALE BOULANGERIE DU PONT PRET", None, "", None),
            (11, D(2025, 3, 10), 4_500, "VIREMENT DE MME MARTIN ÉLODIE COTISATION MARS", None, "", None),
            (12, D(2025, 1, 15), 262_590, "REMISE DE CHEQUES N° 1234567", None, "", None),
        ]),
    "credit_mutuel.csv": dict(
        layout="credit-mutuel", account="", currency="EUR", encoding="iso-8859-15", crlf=True, left_out=[],
        balances=[Balance(D(2025, 1, 15), 262_590, "running"), Balance(D(2025, 3, 10), 147_090, "running"),
                  Balance(D(2025, 3, 25), 146_740, "running"), Balance(D(2025, 3, 28), 151_240, "running")],
        lines=[
            (2, D(2025, 1, 15), 262_590, "REMISE CHEQUES 1234567", D(2025, 1, 16), "", 262_590),
            (3, D(2025, 3, 10), -120_000, "VIR PRET CIGALE BOULANGERIE 1 200 €", D(2025, 3, 10), "", 142_590),
            (4, D(2025, 3, 10), 4_500, "VIR SEPA MME MARTIN ÉLODIE COTISATION", D(2025, 3, 10), "", 147_090),
            (5, D(2025, 3, 25), -350, "FRAIS TENUE DE COMPTE", D(2025, 3, 26), "", 146_740),
            (6, D(2025, 3, 28), 4_500, "VIR SEPA M. DUPONT JEAN COTISATION", D(2025, 3, 28), "", 151_240),
        ]),
    "societe_generale.csv": dict(
        layout="societe-generale", account="000123456789", currency="EUR", encoding="cp1252", crlf=True,
        left_out=[(1, 1, "before")],
        balances=[Balance(D(2025, 4, 2), 151_240, "stated")],
        lines=[
            (4, D(2025, 3, 28), 4_500, "VIR RECU 2503281234 DE: M. DUPONT JEAN MOTIF: COTISATION MARS", None, "",
             None),
            (5, D(2025, 3, 25), -350, "COTISATION JAZZ ASSOCIATIONS FRAIS DE TENUE DE COMPTE", None, "", None),
            (6, D(2025, 3, 10), -120_000, "VIR EMIS 2503101111 POUR: CIGALE BOULANGERIE DU PONT PRET", None, "",
             None),
            (7, D(2025, 3, 10), 4_500, "VIR RECU 2503109999 DE: MME MARTIN ÉLODIE MOTIF: COTISATION MARS", None,
             "", None),
            (8, D(2025, 1, 15), 262_590, "REMISE CHEQUES 1234567 2 CHEQUES", None, "", None),
        ]),
    "desjardins.csv": dict(
        layout="desjardins", account="815-30001", currency="CAD", encoding="cp1252", crlf=True, left_out=[],
        balances=[Balance(D(2025, 1, 15), 262_590, "running"), Balance(D(2025, 3, 10), 147_090, "running"),
                  Balance(D(2025, 3, 25), 146_740, "running"), Balance(D(2025, 3, 28), 151_240, "running")],
        lines=[
            (1, D(2025, 1, 15), 262_590, "Dépôt au comptoir", None, "815-30001-2025/01/15-1", 262_590),
            (2, D(2025, 3, 10), -120_000, "Virement - Prêt Boulangerie du Pont", None, "815-30001-2025/03/10-1",
             142_590),
            (3, D(2025, 3, 10), 4_500, "Virement Interac reçu - Élodie Martin", None, "815-30001-2025/03/10-2",
             147_090),
            (4, D(2025, 3, 25), -350, "Frais mensuels d'utilisation", None, "815-30001-2025/03/25-1", 146_740),
            (5, D(2025, 3, 28), 4_500, "Virement Interac reçu - Jean Dupont", None, "815-30001-2025/03/28-1",
             151_240),
        ]),
    "bnp_paribas.csv": dict(
        layout="bnp-paribas", account="****6789", currency="EUR", encoding="utf-8", crlf=False,
        left_out=[(1, 1, "before")],
        balances=[Balance(D(2025, 4, 2), 151_240, "stated")],
        lines=[
            (4, D(2025, 3, 28), 4_500, "VIR SEPA RECU /DE M. DUPONT JEAN /MOTIF COTISATION MARS", None, "", None),
            (5, D(2025, 3, 25), -350, "COMMISSIONS ESPRIT LIBRE ASSOCIATION", None, "", None),
            (6, D(2025, 3, 10), -120_000, "VIR SEPA EMIS /MOTIF PRET /BEN CIGALE BOULANGERIE DU PONT", None, "",
             None),
            (7, D(2025, 3, 10), 4_500, "VIR SEPA RECU /DE MME MARTIN ÉLODIE /MOTIF COTISATION MARS", None, "", None),
            (8, D(2025, 1, 15), 262_590, "REMISE CHEQUES 1234567", None, "", None),
        ]),
    "caisse_epargne.csv": dict(
        layout="caisse-epargne", account="", currency="EUR", encoding="utf-8-sig", crlf=True, left_out=[],
        balances=[],
        lines=[
            (2, D(2025, 3, 28), 4_500, "VIR SEPA M. DUPONT JEAN", D(2025, 3, 28), "2503281234ABC", None),
            (3, D(2025, 3, 25), -350, "FRAIS TENUE DE COMPTE", D(2025, 3, 26), "", None),
            (4, D(2025, 3, 10), -120_000, "VIR SEPA CIGALE BOULANGERIE DU PONT", D(2025, 3, 10), "2503101111XYZ",
             None),
            (5, D(2025, 3, 10), 4_500, "VIR SEPA MME MARTIN ÉLODIE", D(2025, 3, 10), "2503109999DEF", None),
            (6, D(2025, 1, 15), 262_590, "REMISE CHEQUES 1234567", D(2025, 1, 16), "1234567", None),
        ]),
}

#: per file: a cell made unreadable, and the physical line the refusal must name
MALFORMED = {
    "credit_agricole.csv": ("1 200,00".encode("cp1252"), b"1 2OO,00", 16),
    "la_banque_postale.csv": (b"25/03/2025", b"25/13/2025", 9),
    "credit_mutuel.csv": (b"-3,50", b"-3;50", 5),  # a cell too many: the label becomes "50", the amount 3
    "societe_generale.csv": (b"-1200,00", b"-12OO,00", 6),
    "desjardins.csv": (b"3.50", b"3,50", 4),
    "bnp_paribas.csv": (b"2 625,90", b"2 625,9O", 8),
    "caisse_epargne.csv": (b"+2625,90", b"+2625,90;;", 6),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_bank_s_file_is_written_as_the_bank_writes_it(name):
    raw, expected = data(name), EXPECTED[name]
    assert (b"\r\n" in raw) == expected["crlf"]
    if expected["encoding"] in ("cp1252", "iso-8859-15"):
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        raw.decode(expected["encoding"])
    else:
        assert raw.startswith(b"\xef\xbb\xbf") == (expected["encoding"] == "utf-8-sig")
        raw.decode("utf-8")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_preset_is_detected_from_the_file(name):
    assert detect(data(name)) == EXPECTED[name]["layout"]
    assert bankfiles.detect_layout(data(name)) == EXPECTED[name]["layout"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_preset_reads_its_file_line_for_line(name):
    expected = EXPECTED[name]
    statement = bankfiles.read(data(name))  # detected
    assert statement == bankfiles.read(data(name), layout=expected["layout"])
    assert statement.layout == expected["layout"]
    assert [(x.line_no, x.booked_on, x.amount, x.label, x.value_on, x.reference, x.balance_after)
            for x in statement.lines] == expected["lines"]
    assert statement.balances == expected["balances"]
    assert (statement.account, statement.currency) == (expected["account"], expected["currency"])
    assert sum(x.amount for x in statement.lines) == 151_240  # every operation, nothing from the card section
    assert bankfiles.inspect(data(name)).left_out == expected["left_out"]


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_copy_of_each_file_is_refused_naming_its_physical_line(name):
    good, bad, line = MALFORMED[name]
    raw = data(name)
    assert raw.count(good) == 1
    with pytest.raises(InvalidInput) as err:
        bankfiles.read(raw.replace(good, bad))
    assert err.value.field == "file"
    assert re.match(rf"Line {line}\b", str(err.value.message)), str(err.value.message)


def test_a_file_is_not_read_with_another_bank_s_layout():
    with pytest.raises(InvalidInput) as err:
        bankfiles.read(data("credit_mutuel.csv"), layout="credit-agricole")
    assert "Crédit Agricole" in str(err.value.message)
    with pytest.raises(InvalidInput) as err:
        bankfiles.read(data("credit_mutuel.csv"), layout="nowhere")
    assert err.value.field == "layout"


def test_a_file_no_preset_fits_asks_for_its_columns():
    plain = b"Date;Montant;Libelle\n05/03/2025;12,00;x\n"
    assert detect(plain) is None
    with pytest.raises(InvalidInput) as err:
        bankfiles.read(plain)
    assert err.value.field == "layout"


def test_credit_agricole_s_card_section_is_left_out_not_read_and_said():
    reading = bankfiles.inspect(data("credit_agricole.csv"))
    assert all("LIBRAIRIE" not in op.label for op in reading.operations)
    assert (23, 25, "section") in reading.left_out


def test_societe_generale_s_count_of_operations_is_checked():
    raw = data("societe_generale.csv").replace(b";5;02/04/2025;", b";6;02/04/2025;")
    with pytest.raises(InvalidInput) as err:
        bankfiles.read(raw)
    assert re.match(r"Line 1 says the file holds 6 operations, but 5 were read", str(err.value.message))


def test_desjardins_lines_of_another_account_are_refused():
    raw = data("desjardins.csv")
    lines = raw.split(b"\r\n")
    lines[3] = lines[3].replace(b'"30001"', b'"30002"')
    with pytest.raises(InvalidInput) as err:
        bankfiles.read(b"\r\n".join(lines))
    assert re.match(r"Line 4 is of another account", str(err.value.message))


def test_a_running_balance_newest_first_gives_the_balance_after_the_day_s_last_line():
    """Newest first, the day's last operation is its first line in the file."""
    raw = data("credit_mutuel.csv").decode("iso-8859-15").split("\r\n")
    newest_first = "\r\n".join([raw[0], *reversed([x for x in raw[1:] if x])]) + "\r\n"
    statement = bankfiles.read(newest_first.encode("iso-8859-15"))
    assert statement.balances == EXPECTED["credit_mutuel.csv"]["balances"]


# --- The treasurer's own columns ---------------------------------------------------------------------------------


def test_columns_by_hand_find_the_line_of_column_names_under_a_preamble_and_leave_a_trailer_out():
    raw = ("Relevé de compte;;\n"
           "Titulaire : CIGALE DES TESTS;;\n"
           "Solde au 28/02/2025 : 1 000,00 €;;\n"
           "\n"
           "Jour;Texte;Somme\n"
           '05/03/2025;"Cotisation\n   de mars  ";"1\u202f234,56"\n'
           "\n"
           "06/03/2025;Frais;-1.000,00\n"
           "Solde au 06/03/2025;;1 234,56\n"
           "Total des opérations;;234,56\n").encode()
    columns = Columns(date=0, label=1, amount=2)
    reading = bankfiles.inspect(raw, columns=columns)
    assert reading.header == ["Jour", "Texte", "Somme"]
    assert [(op.line_no, op.booked_on, op.amount, op.label) for op in reading.operations] == [
        (6, D(2025, 3, 5), 123_456, "Cotisation de mars"), (9, D(2025, 3, 6), -100_000, "Frais")]
    assert reading.left_out == [(1, 3, "before"), (10, 11, "after")]  # line 4, blank, is nobody's business
    assert reading.balances == [Balance(D(2025, 2, 28), 100_000, "stated"), Balance(D(2025, 3, 6), 123_456, "stated")]
    assert reading.errors == []


def test_columns_by_hand_without_column_names_go_by_position():
    raw = b"05/03/2025,Coffee,12.50,100.00\n06/03/2025,Rent,-50.00,50.00\n"
    table = bankfiles.csvbanks.table(raw)
    assert table.header is None and table.width == 4 and table.sample[0] == ["05/03/2025", "Coffee", "12.50", "100.00"]
    columns = Columns(date=0, label=1, amount=2, decimal="point", header=False, balance=3)
    statement = bankfiles.read(raw, columns=columns)
    assert [(x.line_no, x.amount, x.balance_after) for x in statement.lines] == [(1, 1_250, 10_000), (2, -5_000, 5_000)]
    assert statement.balances == [Balance(D(2025, 3, 5), 10_000, "running"), Balance(D(2025, 3, 6), 5_000, "running")]


def test_a_row_that_does_not_read_inside_the_operations_is_an_error_of_its_own_line():
    raw = b"Date;Montant;Libelle\n05/03/2025;12,00;a\nhier;13,00;b\n07/03/2025;14,00;c\n"
    with pytest.raises(InvalidInput) as err:
        bankfiles.read(raw, columns=Columns(date=0, amount=1, label=2))
    assert re.match(r"Line 3: the date “hier” cannot be read", str(err.value.message))


def test_operations_after_a_section_title_are_said_left_out():
    raw = b"Date;Montant;Libelle\n05/03/2025;12,00;a\nCarte 1234\n07/03/2025;14,00;c\n"
    reading = bankfiles.inspect(raw, columns=Columns(date=0, amount=1, label=2))
    assert [op.line_no for op in reading.operations] == [2]
    assert reading.left_out == [(3, 4, "section")]


def test_an_unclosed_quote_is_refused_with_its_line():
    """A quote never closed would swallow the next operations into a label: refused, not read short."""
    raw = b'Date;Montant;Libelle\n05/03/2025;12,00;a\n06/03/2025;1,00;"b\n07/03/2025;2,00;c\n'
    with pytest.raises(InvalidInput) as err:
        bankfiles.read(raw, columns=Columns(date=0, amount=1, label=2))
    assert err.value.field == "file"
    assert re.match(r"Line 3: a quoted cell is not closed", str(err.value.message))


@pytest.mark.parametrize(("text", "decimal", "cents"), [
    ("1\u202f234,56", "comma", 123_456), ("1\u00a0234,56", "comma", 123_456), ("1.234,56", "comma", 123_456),
    ("1 234,56 EUR", "comma", 123_456), ("1512,40 EUR", "comma", 151_240), ("1,234.56 CAD", "point", 123_456),
])
def test_amounts_with_thousands_marks_and_currencies(text, decimal, cents):
    assert parse_cents(text, decimal) == cents


def test_columns_remembered_as_data_come_back_only_when_sound():
    columns = Columns(date=0, label=1, amount=2, header=False, balance=3, decimal="point")
    assert Columns.from_dict(columns.as_dict()) == columns
    for bad in ({}, {"date": "0"}, {"date": -1}, {"date": 0, "decimal": "x"}, {"date": True},
                {"date": 0, "header": "no"}):
        assert Columns.from_dict(bad) is None, bad
    assert Columns.from_dict({"date": 0, "unknown": 1}) == Columns(date=0)


@pytest.mark.parametrize(("line", "cents"), [
    ("Solde au 31/03/2025 1 512,40 €;", 151_240),
    ("Solde au 31/03/2025 : 12,00 € débiteur;", -1_200),
    ("SOLDE AU 31/03/2025;-12,00 EUR", -1_200),
])
def test_solde_au_lines_state_a_balance(line, cents):
    raw = f"{line}\nDate;Montant;Libelle\n05/03/2025;12,00;a\n".encode("cp1252")
    reading = bankfiles.inspect(raw, columns=Columns(date=0, amount=1, label=2))
    assert reading.balances == [Balance(D(2025, 3, 31), cents, "stated")]
    assert reading.left_out == [(1, 1, "before")]
