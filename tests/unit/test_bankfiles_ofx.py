"""Reading OFX statements (coop/bankfiles/ofx.py): an OFX 1.02 file in Windows-1252 as a French bank writes
it, an OFX 2.1.1 XML file, the variants banks write, and every refusal, naming the entry."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from coop import csvfile
from coop.bankfiles import ofx
from coop.bankfiles.common import MAX_ENTRIES, MAX_LABEL
from coop.bankfiles.model import Balance, Line
from coop.services.errors import InvalidInput

BANKS = Path(__file__).resolve().parents[1] / "data" / "banks"
FRENCH = (BANKS / "ofx-102-fr-cp1252.ofx").read_bytes()
XML = (BANKS / "ofx-211.ofx").read_bytes()

HEADER = ("OFXHEADER:100\r\nDATA:OFXSGML\r\nVERSION:102\r\nSECURITY:NONE\r\nENCODING:USASCII\r\nCHARSET:1252\r\n"
          "COMPRESSION:NONE\r\nOLDFILEUID:NONE\r\nNEWFILEUID:NONE\r\n\r\n")


def entry(amount="-10.00", posted="20250305", fitid="F1", name="PAIEMENT CB", memo=None, extra="") -> str:
    return ("<STMTTRN><TRNTYPE>DEBIT"
            + (f"<DTPOSTED>{posted}" if posted is not None else "")
            + (f"<TRNAMT>{amount}" if amount is not None else "")
            + (f"<FITID>{fitid}" if fitid is not None else "")
            + (f"<NAME>{name}" if name is not None else "")
            + (f"<MEMO>{memo}" if memo is not None else "")
            + extra + "</STMTTRN>\r\n")


def statement(*entries: str, account="<BANKID>30004<BRANCHID>00123<ACCTID>111", currency="EUR",
              balance="<LEDGERBAL><BALAMT>100.00<DTASOF>20250331</LEDGERBAL>") -> str:
    return (f"<STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS><STMTRS><CURDEF>{currency}"
            f"<BANKACCTFROM>{account}<ACCTTYPE>CHECKING</BANKACCTFROM>"
            f"<BANKTRANLIST><DTSTART>20250301<DTEND>20250331\r\n{''.join(entries)}</BANKTRANLIST>"
            f"{balance}</STMTRS></STMTTRNRS>")


def sgml(*statements: str, header: str = HEADER, encoding="cp1252") -> bytes:
    body = "".join(statements) if statements else statement(entry())
    return (header + f"<OFX><BANKMSGSRSV1>{body}</BANKMSGSRSV1></OFX>\r\n").encode(encoding)


def refusal(data: bytes) -> str:
    with pytest.raises(InvalidInput) as err:
        ofx.read(data)
    assert err.value.field == "file"
    return str(err.value.message)


# --- The sample files --------------------------------------------------------------------------------------------------


def test_an_ofx_1_file_of_a_french_bank_in_windows_1252():
    read = ofx.read(FRENCH)
    assert (read.layout, read.currency, read.account) == ("ofx", "EUR", "30004 00123 00012345678")
    assert read.lines == [
        Line(1, date(2025, 3, 3), 15000, "VIR SEPA MME LÉA MARTIN · COTISATION MARS 2025", value_on=date(2025, 3, 2),
             reference="2025030300001"),
        # a time and zone after the date do not move it; a decimal comma; an empty <MEMO> swallows nothing
        Line(2, date(2025, 3, 5), -4580, "PRLV SEPA ÉLECTRICITÉ DE FRANCE", reference="2025030500002"),
        # one decimal; the memo repeating the name is said once
        Line(3, date(2025, 3, 10), -1250, "FRAIS TENUE DE COMPTE", reference="2025031000003"),
        # an entity and the euro sign of Windows-1252
        Line(4, date(2025, 3, 17), -32000, "CHEQUE 1234567 · ACHAT MATÉRIEL & FOURNITURES 20 €",
             reference="2025031700004"),
        # a plus sign
        Line(5, date(2025, 3, 28), 100000, "VIR SEPA SARL LES JARDINS D'ÉTÉ · REMBOURSEMENT PRÊT ÉCHÉANCE 3",
             reference="2025032800005"),
    ]
    # the ledger balance, at the end of DTASOF; the available balance (of the next day) is not read
    assert read.balances == [Balance(date(2025, 3, 31), 227170, "closing")]
    # the file's balance before these entries was 1 500,00
    assert 150000 + sum(line.amount for line in read.lines) == read.balances[0].amount


def test_an_ofx_2_xml_file():
    read = ofx.read(XML)
    assert (read.layout, read.currency, read.account) == ("ofx", "CAD", "000000815 30800 1234567")
    assert read.lines == [
        # 23:00 in New York is written as the 1st: the 1st it stays
        Line(1, date(2025, 4, 1), 20000, "Deposit - Café Coop", reference="90000010000001"),
        # the payee's name (not its address), the memo with its entities and character references
        Line(2, date(2025, 4, 15), -7525, "Hydro-Québec · Bill <April> – account 42", value_on=date(2025, 4, 14),
             reference="90000010000002"),
        # the memo saying more than the name is kept alone
        Line(3, date(2025, 4, 30), -495, "Monthly fee - April", reference="90000010000003"),
    ]
    assert read.balances == [Balance(date(2025, 4, 30), 111980, "closing")]
    assert 100000 + sum(line.amount for line in read.lines) == read.balances[0].amount


def test_the_fitid_is_the_key_of_an_entry_uploaded_twice():
    """The same file read twice gives the same references; two entries alike in all but their FITID are two."""
    assert [line.reference for line in ofx.read(FRENCH).lines] == [line.reference for line in ofx.read(FRENCH).lines]
    twins = ofx.read(sgml(statement(entry(fitid="A1"), entry(fitid="A2"))))
    assert [(line.booked_on, line.amount, line.label, line.reference) for line in twins.lines] == [
        (date(2025, 3, 5), -1000, "PAIEMENT CB", "A1"), (date(2025, 3, 5), -1000, "PAIEMENT CB", "A2")]


def test_a_fitid_the_file_gives_twice_tells_nothing_apart():
    read = ofx.read(sgml(statement(entry(fitid="X"), entry(fitid="X", amount="-3"), entry(fitid="Y"))))
    assert [line.reference for line in read.lines] == ["", "", "Y"]


@pytest.mark.parametrize("data", [FRENCH, XML, b"\xef\xbb\xbf" + XML, b"\r\n  " + FRENCH,
                                  b'<?xml version="1.0"?><OFX></OFX>'])
def test_it_looks_like_ofx(data):
    assert ofx.looks_like(data)


@pytest.mark.parametrize("data", [b"Date;Libell\xe9;Montant\r\n", b"", b'<?xml version="1.0"?><Document/>',
                                  (BANKS / "camt.053.001.02.xml").read_bytes()])
def test_other_files_do_not(data):
    assert not ofx.looks_like(data)


# --- Variants ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "cents"), [
    ("-10.00", -1000), ("-10,00", -1000), ("10", 1000), ("+10.5", 1050), ("-.5", -50), ("-0,05", -5),
    ("1234567.89", 123456789), ("-12.500", -1250), (" -7.10 ", -710),
])
def test_amounts_are_exact_to_the_cent(amount, cents):
    assert ofx.read(sgml(statement(entry(amount=amount)))).lines[0].amount == cents


@pytest.mark.parametrize("posted", ["20250305", "202503051200", "20250305120000", "20250305235959.999",
                                    "20250305000000[+1:CET]", "20250305233000.000[-5:EST]", "20250305[0:GMT]",
                                    "20250305120000.000[-3.30:NST]"])
def test_the_day_is_as_the_bank_wrote_it(posted):
    assert ofx.read(sgml(statement(entry(posted=posted)))).lines[0].booked_on == date(2025, 3, 5)


def test_element_end_tags_may_be_written_in_sgml_too():
    data = sgml(statement("<STMTTRN><TRNTYPE>DEBIT</TRNTYPE><DTPOSTED>20250305</DTPOSTED><TRNAMT>-1.00</TRNAMT>"
                          "<FITID>Z</FITID><NAME>A</NAME><MEMO></MEMO></STMTTRN>"))
    assert ofx.read(data).lines == [Line(1, date(2025, 3, 5), -100, "A", reference="Z")]


def test_an_empty_element_does_not_swallow_the_next_entry_or_the_balance():
    data = sgml(statement(entry(memo="", name=""), entry(fitid="F2", amount="5")))
    read = ofx.read(data)
    assert [(line.amount, line.label, line.reference) for line in read.lines] == [(-1000, "", "F1"), (500, "PAIEMENT CB", "F2")]
    assert read.balances == [Balance(date(2025, 3, 31), 10000, "closing")]


def test_an_unknown_empty_element_does_not_hide_the_entrys_values():
    data = sgml(statement("<STMTTRN><TRNTYPE>DEBIT<X.BANKSPECIFIC><DTPOSTED>20250305<TRNAMT>-1<FITID>Q<NAME>N</STMTTRN>",
                          entry(fitid="R")))
    assert [(line.amount, line.reference) for line in ofx.read(data).lines] == [(-100, "Q"), (-1000, "R")]


def test_names_and_memos_are_said_once_on_one_line():
    data = sgml(statement(entry(name="VIR  SEPA\tDUPONT", memo="vir sepa dupont"),
                          entry(fitid="2", name="CB", memo="CB CARREFOUR 04/03"),
                          entry(fitid="3", name=None, memo="SEUL MEMO"),
                          entry(fitid="4", name="X" * 400)))
    assert [line.label for line in ofx.read(data).lines] == [
        "VIR SEPA DUPONT", "CB CARREFOUR 04/03", "SEUL MEMO", "X" * (MAX_LABEL - 1) + "…"]


def test_a_value_date_is_read_when_it_can_be():
    data = sgml(statement(entry(extra="<DTUSER>20250301"), entry(fitid="2", extra="<DTUSER>00000000"),
                          entry(fitid="3", extra="<DTUSER>18991231")))
    assert [line.value_on for line in ofx.read(data).lines] == [date(2025, 3, 1), None, None]


def test_a_credit_card_statement():
    data = (HEADER + "<OFX><CREDITCARDMSGSRSV1><CCSTMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>"
            "<CCSTMTRS><CURDEF>EUR<CCACCTFROM><ACCTID>4970XXXXXXXX1234</CCACCTFROM><BANKTRANLIST>"
            + entry(amount="-23.40", name="SNCF") + "</BANKTRANLIST>"
            "<LEDGERBAL><BALAMT>-23.40<DTASOF>20250331</LEDGERBAL></CCSTMTRS></CCSTMTTRNRS></CREDITCARDMSGSRSV1></OFX>"
            ).encode()
    read = ofx.read(data)
    assert (read.account, read.currency, [line.amount for line in read.lines]) == ("4970XXXXXXXX1234", "EUR", [-2340])
    assert read.balances == [Balance(date(2025, 3, 31), -2340, "closing")]


def test_statements_of_one_account_are_read_together():
    data = sgml(statement(entry(fitid="1")),
                statement(entry(fitid="2", posted="20250405"),
                          balance="<LEDGERBAL><BALAMT>90.00<DTASOF>20250430</LEDGERBAL>"))
    read = ofx.read(data)
    assert [(line.line_no, line.reference) for line in read.lines] == [(1, "1"), (2, "2")]
    assert read.balances == [Balance(date(2025, 3, 31), 10000, "closing"), Balance(date(2025, 4, 30), 9000, "closing")]


def test_files_put_one_after_the_other_are_read_whole():
    second = sgml(statement(entry(fitid="2"), balance=""))
    read = ofx.read(sgml(statement(entry(fitid="1"))) + second)
    assert [(line.line_no, line.reference) for line in read.lines] == [(1, "1"), (2, "2")]
    assert refusal(sgml(statement(entry())) + second[:-10]) == "The file is cut short: its end is missing."


@pytest.mark.parametrize(("header", "encoding", "text"), [
    (HEADER, "cp1252", "Crédit – 5 €"),
    (HEADER.replace("CHARSET:1252", "CHARSET:ISO-8859-1"), "latin-1", "Crédit"),
    (HEADER.replace("CHARSET:1252", "CHARSET:NONE"), "cp1252", "Crédit"),  # a header that says nothing
    (HEADER.replace("CHARSET:1252", "CHARSET:NONE"), "utf-8", "Crédit – 5 €"),
    (HEADER.replace("ENCODING:USASCII", "ENCODING:UTF-8"), "utf-8", "Crédit – 5 €"),
    (HEADER.replace("\r\n", "\n"), "cp1252", "Crédit"),  # Unix line ends
    (HEADER.replace("\r\n", " "), "cp1252", "Crédit"),  # the whole header on one line
    ("", "utf-8", "Crédit"),  # no header at all
])
def test_character_sets(header, encoding, text):
    assert ofx.read(sgml(statement(entry(name=text)), header=header, encoding=encoding)).lines[0].label == text


# --- Refusals ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "message"), [
    (b"", "The file is empty."),
    (b" \r\n", "The file is empty."),
    (FRENCH + b" " * csvfile.MAX_BYTES, "The file is too large (2 MB at most)."),
    (b"Date;Montant\r\n05/03/2025;-10,00\r\n", "This is not an OFX file."),
    (FRENCH[: FRENCH.index(b"</BANKTRANLIST>")], "The file is cut short: its end is missing."),
    (FRENCH[:-20], "The file is cut short: its end is missing."),
    (XML[: len(XML) // 2], "The file is cut short: its end is missing."),
    (b"\x00\x01\x02OFXHEADER\xff\xfe" * 10, "This is not an OFX file."),
    (HEADER.encode() + b"<OFX><SIGNONMSGSRSV1></SIGNONMSGSRSV1></OFX>", "This OFX file holds no bank or card statement."),
    (sgml(statement()), "The file has no entries."),
    (sgml(statement(entry(amount=None))), "Entry 1 has no amount."),
    (sgml(statement(entry(), entry(amount=""))), "Entry 2 has no amount."),
    (sgml(statement(entry(), entry(), entry(amount="douze"))), "Entry 3: the amount cannot be read."),
    (sgml(statement(entry(amount="1 000,00"))), "Entry 1: the amount cannot be read."),
    (sgml(statement(entry(amount="1,000.00"))), "Entry 1: the amount cannot be read."),
    (sgml(statement(entry(amount="--1"))), "Entry 1: the amount cannot be read."),
    (sgml(statement(entry(amount="1e3"))), "Entry 1: the amount cannot be read."),
    (sgml(statement(entry(amount="-0.001"))), "Entry 1: the amount has a fraction of a cent."),
    (sgml(statement(entry(posted=None))), "Entry 1 has no date."),
    (sgml(statement(entry(), entry(posted="05/03/2025"))), "Entry 2: the date cannot be read."),
    (sgml(statement(entry(posted="20250230"))), "Entry 1: the date cannot be read."),
    (sgml(statement(entry(posted="2025"))), "Entry 1: the date cannot be read."),
    (sgml(statement(entry(extra="<CURRENCY><CURRATE>1.1<CURSYM>USD</CURRENCY>"))),
     "Entry 1 is in USD, the statement in EUR."),
    (sgml(statement(entry(), balance="<LEDGERBAL><BALAMT>abc<DTASOF>20250331</LEDGERBAL>")),
     "The statement's closing balance cannot be read."),
    (sgml(statement(entry(), balance="<LEDGERBAL><BALAMT>1.00</LEDGERBAL>")),
     "The statement's closing balance cannot be read."),
    (sgml(statement(entry(), currency="JPY")), "Amounts in JPY do not have two decimals: this file cannot be read."),
    (sgml(statement(entry(), currency="EURO")), "The currency “EURO” is not a currency code."),
    (sgml(statement(entry(fitid="1")), statement(entry(fitid="2"), account="<BANKID>30004<BRANCHID>00123<ACCTID>222")),
     "The file holds statements of 2 accounts (30004 00123 111 EUR, 30004 00123 222 EUR): export one account at a time."),
    (sgml(statement(entry(fitid="1")), statement(entry(fitid="2"), currency="USD")),
     "The file holds statements of 2 accounts (30004 00123 111 EUR, 30004 00123 111 USD): export one account at a time."),
    (sgml(header=HEADER.replace("ENCODING:USASCII", "ENCODING:UTF-8")).replace(b"PAIEMENT", b"PAIEMENT \xe9"),
     "The file is not written in the character set it declares (UTF-8)."),
    (XML.replace("Café".encode(), "Café".encode("cp1252")),
     "The file is not written in the character set it declares (UTF-8)."),
    (sgml(header=HEADER.replace("CHARSET:1252", "CHARSET:KLINGON")), "The file's character set “KLINGON” is not known."),
], ids=lambda value: value[:40] if isinstance(value, str) else None)
def test_refusals(data, message):
    assert refusal(data) == message


def test_too_many_entries():
    assert refusal(sgml(statement(*[entry(fitid=str(i)) for i in range(MAX_ENTRIES + 1)]))) == \
        f"The file has too many entries ({MAX_ENTRIES} at most)."
    assert len(ofx.read(sgml(statement(*[entry(fitid=str(i)) for i in range(MAX_ENTRIES)]))).lines) == MAX_ENTRIES


def test_an_xml_file_declaring_entities_is_not_read():
    """No XML parser reads OFX; a file declaring a document type or entities (an external one, or the
    billion laughs) is refused all the same, and nothing of it is read."""
    external = XML.replace(b"<?OFX", b'<!DOCTYPE OFX [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<?OFX', 1) \
        .replace(b"Monthly fee</NAME>", b"&xxe;</NAME>")
    laughs = XML.replace(b"<?OFX", b'<!DOCTYPE OFX [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>\n<?OFX', 1) \
        .replace(b"Monthly fee</NAME>", b"&b;</NAME>")
    for data in (external, laughs):
        assert refusal(data) == "The file declares a document type or entities: it is not read."


@pytest.mark.parametrize("data", [
    b"<OFX>", b"<OFX></OFX>", b"OFXHEADER:100\r\n<OFX><<<>>></OFX>", b"<OFX><STMTRS></OFX>",
    b"<OFX><STMTRS><STMTTRN></STMTRS></OFX>", b"<OFX><STMTRS><STMTTRN><TRNAMT>1</STMTTRN></STMTRS></OFX>",
    b"<OFX><STMTRS><STMTTRN><TRNAMT>1<DTPOSTED>99999999</STMTTRN></STMTRS></OFX>",
    b"<OFX><STMTRS><LEDGERBAL></LEDGERBAL></STMTRS></OFX>",
    b"<OFX></STMTRS></STMTTRN></OFX></OFX>", b"\xff\xfe<\x00O\x00F\x00X\x00>\x00", FRENCH.replace(b"<", b"<<"),
    FRENCH.replace(b">", b""), FRENCH.replace(b"\r\n", b"\r\n</BANKTRANLIST>"), FRENCH[::2], FRENCH[1::3],
])
def test_nothing_crashes(data):
    """Damaged files are read as far as they make sense, or refused with a message: never an exception of
    another kind."""
    try:
        ofx.read(data)
    except InvalidInput as err:
        assert err.field == "file" and str(err.message)


# --- Messages ----------------------------------------------------------------------------------------------------------


def test_a_date_outside_the_window_names_the_entry(speak):
    assert refusal(sgml(statement(entry(), entry(posted="19991231")))).startswith(
        "Entry 2: This date must be between 1 January 2000 and ")
    speak("fr")
    assert refusal(sgml(statement(entry(posted="19991231")))).startswith(
        "Opération 1 : ")
    assert refusal(sgml(statement(entry(), balance="<LEDGERBAL><BALAMT>1<DTASOF>19990101</LEDGERBAL>"))).startswith(
        "Le solde de clôture du relevé : ")


def test_messages_are_translated(speak):
    speak("fr")
    assert refusal(sgml(statement(entry(), entry(), entry(amount="x")))) == "Opération 3 : le montant est illisible."
