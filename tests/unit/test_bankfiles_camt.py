"""Reading ISO 20022 camt.053 statements (coop/bankfiles/camt.py): a camt.053.001.02 file and a .08 file with
their balances, a batch, a pending entry, references and remittance information; variants; every refusal,
naming the entry, and the XML attacks (an external entity, the billion laughs) refused before anything is read."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from coop import csvfile
from coop.bankfiles import camt
from coop.bankfiles.common import MAX_ENTRIES
from coop.bankfiles.model import Balance, Line
from coop.services.errors import InvalidInput

BANKS = Path(__file__).resolve().parents[1] / "data" / "banks"
V02 = (BANKS / "camt.053.001.02.xml").read_bytes()
V08 = (BANKS / "camt.053.001.08.xml").read_bytes()
NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


def ntry(amount="10.00", indicator="DBIT", status="<Sts>BOOK</Sts>", booked="<BookgDt><Dt>2025-03-05</Dt></BookgDt>",
         ref="<AcctSvcrRef>R1</AcctSvcrRef>", ccy=' Ccy="EUR"', extra="") -> str:
    return (f"<Ntry>{'' if amount is None else f'<Amt{ccy}>{amount}</Amt>'}"
            f"{'' if indicator is None else f'<CdtDbtInd>{indicator}</CdtDbtInd>'}{status}{booked}{ref}{extra}</Ntry>")


def bal(code="CLBD", amount="100.00", indicator="CRDT", day="<Dt>2025-03-31</Dt>", ccy="EUR") -> str:
    return (f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"{ccy}\">{amount}</Amt>"
            f"<CdtDbtInd>{indicator}</CdtDbtInd><Dt>{day}</Dt></Bal>")


def stmt(*entries: str, iban="FR7630004001230001234567843", ccy="<Ccy>EUR</Ccy>", balances=None) -> str:
    return (f"<Stmt><Id>S</Id><Acct><Id><IBAN>{iban}</IBAN></Id>{ccy}</Acct>"
            f"{bal() if balances is None else balances}{''.join(entries)}</Stmt>")


def doc(*stmts: str, ns=NS, message="BkToCstmrStmt") -> bytes:
    body = "".join(stmts) if stmts else stmt(ntry())
    return (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{ns}"><{message}>'
            f"<GrpHdr><MsgId>M</MsgId></GrpHdr>{body}</{message}></Document>").encode()


def refusal(data: bytes) -> str:
    with pytest.raises(InvalidInput) as err:
        camt.read(data)
    assert err.value.field == "file"
    return str(err.value.message)


# --- The sample files --------------------------------------------------------------------------------------------------


def test_a_camt_053_001_02_statement():
    read, notes = camt.read_notes(V02)
    assert (read.layout, read.currency, read.account) == ("camt.053", "EUR", "FR7630004001230001234567843")
    assert read.lines == [
        # a credit; the debtor's name and the remittance information are in AddtlNtryInf, said once
        Line(1, date(2025, 3, 3), 25000, "VIR SEPA RECU /DE Léa Martin /MOTIF Cotisation mars 2025",
             value_on=date(2025, 3, 4), reference="2025030312345601"),
        # a debit: the creditor (not our own name as debtor: here AddtlNtryInf says it), every Ustrd, AddtlNtryInf
        Line(2, date(2025, 3, 10), -8990, "Facture 889123 · Échéance mars · PRLV SEPA EDF",
             value_on=date(2025, 3, 10), reference="2025031012345602"),
        # a batch of three transfers: one line of the entry's amount
        Line(3, date(2025, 3, 15), 30000, "Paul Durand · Inès Petit · Omar Benali · Versement avril · RF18539007547034"
                                          " · REMISE VIREMENTS 3 OPERATIONS",
             value_on=date(2025, 3, 15), reference="2025031512345603"),
        Line(4, date(2025, 3, 31), -1250, "FRAIS TENUE DE COMPTE MARS", value_on=date(2025, 3, 31),
             reference="2025033112345604"),
        # the fifth entry is pending: left out, and said
    ]
    assert [str(note) for note in notes] == ["Entries not booked (pending) left out: 1."]
    # OPBD of 1 March: the balance at the end of 28 February; CLBD at the end of 31 March; CLAV is not read
    assert read.balances == [Balance(date(2025, 2, 28), 100000, "opening"), Balance(date(2025, 3, 31), 144760, "closing")]
    opening, closing = read.balances
    assert opening.amount + 25000 - 8990 + 30000 - 1250 == closing.amount
    assert opening.amount + sum(line.amount for line in read.lines) == closing.amount


def test_a_camt_053_001_08_statement():
    read, notes = camt.read_notes(V08)
    assert (read.layout, read.currency, read.account) == ("camt.053", "CHF", "CH5604835012345678009")
    assert read.lines == [
        # a booking date given as a date and time: the date as written; the name (Dbtr/Pty/Nm) is in AddtlNtryInf
        Line(1, date(2025, 4, 2), 50000, "Einlage April · Gutschrift Anna Keller", value_on=date(2025, 4, 2),
             reference="ZKB-20250402-0001"),
        # no AcctSvcrRef nor NtryRef: the transaction's EndToEndId
        Line(2, date(2025, 4, 2), -3500, "Druckerei Müller AG · Rechnung 2025-117", value_on=date(2025, 4, 1),
             reference="E2E-PRINT-17"),
        # no AcctSvcrRef: NtryRef
        Line(3, date(2025, 4, 2), -1575, "Kontoführungsgebühr", value_on=date(2025, 4, 2), reference="20250402-3"),
    ]
    assert [str(note) for note in notes] == ["Entries not booked (pending) left out: 1."]
    # PRCD: closed at the end of 1 April, overdrawn (DBIT); CLBD given as a date and time
    assert read.balances == [Balance(date(2025, 4, 1), -12000, "opening"), Balance(date(2025, 4, 2), 32925, "closing")]
    assert -12000 + 50000 - 3500 - 1575 == 32925
    assert read.balances[0].amount + sum(line.amount for line in read.lines) == read.balances[1].amount


def test_read_gives_the_statement_alone():
    assert camt.read(V02) == camt.read_notes(V02)[0]
    assert camt.read_notes(doc())[1] == []


def test_the_banks_reference_is_the_key_of_an_entry_uploaded_twice():
    assert [line.reference for line in camt.read(V02).lines] == [line.reference for line in camt.read(V02).lines]
    twins = camt.read(doc(stmt(ntry(ref="<AcctSvcrRef>A</AcctSvcrRef>"), ntry(ref="<AcctSvcrRef>B</AcctSvcrRef>"))))
    assert [(line.amount, line.reference) for line in twins.lines] == [(-1000, "A"), (-1000, "B")]


@pytest.mark.parametrize(("refs", "expected"), [
    # AcctSvcrRef before NtryRef, NtryRef before EndToEndId
    ([("<NtryRef>N</NtryRef><AcctSvcrRef>A</AcctSvcrRef>", "")], ["A"]),
    ([("<NtryRef>N</NtryRef>", "<Refs><EndToEndId>E</EndToEndId></Refs>")], ["N"]),
    ([("", "<Refs><EndToEndId>E</EndToEndId></Refs>")], ["E"]),
    # an EndToEndId another entry of the file has, or "NOTPROVIDED", or two in a batch, is no reference
    ([("", "<Refs><EndToEndId>E</EndToEndId></Refs>"), ("", "<Refs><EndToEndId>E</EndToEndId></Refs>")], ["", ""]),
    ([("", "<Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>")], [""]),
    ([("", "<Refs><EndToEndId>E1</EndToEndId></Refs></TxDtls><TxDtls><Refs><EndToEndId>E2</EndToEndId></Refs>")], [""]),
    # a reference two entries share tells nothing apart
    ([("<AcctSvcrRef>A</AcctSvcrRef>", ""), ("<AcctSvcrRef>A</AcctSvcrRef>", ""), ("<AcctSvcrRef>B</AcctSvcrRef>", "")],
     ["", "", "B"]),
])
def test_references(refs, expected):
    entries = [ntry(ref=ref, extra=f"<NtryDtls><TxDtls>{tx}</TxDtls></NtryDtls>" if tx else "") for ref, tx in refs]
    assert [line.reference for line in camt.read(doc(stmt(*entries))).lines] == expected


@pytest.mark.parametrize("data", [V02, V08, doc(), doc(ns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.08",
                                                           message="BkToCstmrAcctRpt")])
def test_it_looks_like_camt(data):
    assert camt.looks_like(data)


@pytest.mark.parametrize("data", [b"", b"Date;Montant\r\n", b'<?xml version="1.0"?><Document/>',
                                  (BANKS / "ofx-211.ofx").read_bytes()])
def test_other_files_do_not(data):
    assert not camt.looks_like(data)


# --- Variants ----------------------------------------------------------------------------------------------------------


def test_a_prefixed_namespace_or_none_at_all():
    prefixed = V02.replace(b"<Document xmlns=", b"<c:Document xmlns:c=").replace(b"<", b"<c:").replace(
        b"<c:/", b"</c:").replace(b"<c:?xml", b"<?xml").replace(b"<c:!--", b"<!--").replace(b"<c:c:", b"<c:")
    assert b"<c:Ntry>" in prefixed
    bare = V02.replace(f' xmlns="{NS}"'.encode(), b"")
    assert camt.read(prefixed) == camt.read(bare) == camt.read(V02)


@pytest.mark.parametrize("version", ["02", "04", "06", "08", "10", "13"])
def test_versions(version):
    assert len(camt.read(doc(ns=f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}")).lines) == 1


def test_the_status_of_version_8():
    data = doc(stmt(ntry(status="<Sts><Cd>BOOK</Cd></Sts>"), ntry(status="<Sts><Cd>PDNG</Cd></Sts>"),
                    ntry(status="<Sts><Cd>INFO</Cd></Sts>"), ntry(status="<Sts><Cd>BOOK</Cd></Sts>", amount="3")))
    read, notes = camt.read_notes(data)
    assert [(line.line_no, line.amount) for line in read.lines] == [(1, -1000), (4, -300)]
    assert [str(note) for note in notes] == ["Entries not booked (pending) left out: 2."]


@pytest.mark.parametrize(("amount", "cents"), [("10", 1000), ("10.5", 1050), ("0.01", 1), ("1234567.89", 123456789),
                                               ("12.50000", 1250), (" 7.10 ", 710)])
def test_amounts_are_exact_to_the_cent(amount, cents):
    assert camt.read(doc(stmt(ntry(amount=amount, indicator="CRDT")))).lines[0].amount == cents


@pytest.mark.parametrize("booked", ["<Dt>2025-03-05</Dt>", "<DtTm>2025-03-05T00:10:00+01:00</DtTm>",
                                    "<DtTm>2025-03-05T23:59:59.999Z</DtTm>", "<DtTm>2025-03-05T12:00:00</DtTm>"])
def test_the_day_is_as_the_bank_wrote_it(booked):
    assert camt.read(doc(stmt(ntry(booked=f"<BookgDt>{booked}</BookgDt>")))).lines[0].booked_on == date(2025, 3, 5)


def test_a_value_date_that_cannot_be_read_is_left_out():
    data = doc(stmt(ntry(extra="<ValDt><Dt>1899-12-31</Dt></ValDt>"), ntry(extra="<ValDt><Dt>soon</Dt></ValDt>")))
    assert [line.value_on for line in camt.read(data).lines] == [None, None]


def test_statements_of_one_account_are_read_together():
    """Daily statements in one file: every entry counted through the file, every balance."""
    first = stmt(ntry(ref="<AcctSvcrRef>1</AcctSvcrRef>"), balances=bal("OPBD", "110.00", day="<Dt>2025-03-05</Dt>")
                 + bal("CLBD", "100.00", day="<Dt>2025-03-05</Dt>"))
    second = stmt(ntry(ref="<AcctSvcrRef>2</AcctSvcrRef>", amount="150.00", indicator="DBIT"),
                  balances=bal("PRCD", "100.00", day="<Dt>2025-03-05</Dt>")
                  + bal("CLBD", "50.00", "DBIT", day="<Dt>2025-03-06</Dt>"))
    read = camt.read(doc(first, second))
    assert [(line.line_no, line.amount, line.reference) for line in read.lines] == [(1, -1000, "1"), (2, -15000, "2")]
    assert read.balances == [Balance(date(2025, 3, 4), 11000, "opening"), Balance(date(2025, 3, 5), 10000, "closing"),
                             Balance(date(2025, 3, 5), 10000, "opening"), Balance(date(2025, 3, 6), -5000, "closing")]


def test_the_currency_is_the_accounts_or_else_the_amounts():
    assert camt.read(doc(stmt(ntry(ccy=' Ccy="CHF"'), ccy="", balances=""))).currency == "CHF"
    assert camt.read(doc(stmt(ntry(ccy=""), ccy="", balances=""))).currency is None
    assert camt.read(doc(stmt(ntry(), ccy=""))).currency == "EUR"


def test_the_account_may_be_other_than_an_iban():
    data = doc(stmt(ntry()).replace("<IBAN>FR7630004001230001234567843</IBAN>", "<Othr><Id>0012345678</Id></Othr>"))
    assert camt.read(data).account == "0012345678"


def test_the_counterparty_and_texts_are_said_once():
    details = ("<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>ACME SARL</Nm></Dbtr><Cdtr><Nm>Nous</Nm></Cdtr></RltdPties>"
               "<RmtInf><Ustrd>Facture  42\n</Ustrd><Ustrd>acme sarl</Ustrd></RmtInf></TxDtls></NtryDtls>"
               "<AddtlNtryInf>VIR ACME SARL Facture 42</AddtlNtryInf>")
    lines = camt.read(doc(stmt(ntry(indicator="CRDT", extra=details), ntry(indicator="DBIT", extra=details)))).lines
    assert [line.label for line in lines] == ["VIR ACME SARL Facture 42", "Nous · VIR ACME SARL Facture 42"]


# --- Refusals ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "message"), [
    (b"", "The file is empty."),
    (V02 + b" " * csvfile.MAX_BYTES, "The file is too large (2 MB at most)."),
    (V02[: len(V02) // 2], "The file is not well-formed XML (line 73): it may be cut short or damaged."),
    (V02[:-12], "The file is not well-formed XML (line 142): it may be cut short or damaged."),
    (b"Date;Montant\r\n05/03/2025;-10,00\r\n",
     "The file is not well-formed XML (line 1): it may be cut short or damaged."),
    (V02.replace("Léa".encode(), "Léa".encode("cp1252")),
     "The file is not well-formed XML (line 56): it may be cut short or damaged."),
    (V02.replace(b"UTF-8", b"klingon"), "The file's character set “KLINGON” is not known."),
    (b'<?xml version="1.0"?><Document/>', "This is not an ISO 20022 camt.053 statement."),
    (b"<html><body>Session expired</body></html>", "This is not an ISO 20022 camt.053 statement."),
    (doc(ns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.08", message="BkToCstmrAcctRpt"),
     "This is a camt.052 account report, not a statement: export the camt.053 statement."),
    (doc(ns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08", message="BkToCstmrDbtCdtNtfctn"),
     "This is a camt.054 notification, not a statement: export the camt.053 statement."),
    (doc(ns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.01"),
     "This version of camt.053 (053.001.01) cannot be read: versions 001.02 to 001.13 can."),
    (doc(ns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03", message="CstmrCdtTrfInitn"),
     "This is not an ISO 20022 camt.053 statement."),
    (doc(" "), "The file holds no statement."),
    (doc(stmt()), "The file has no booked entries."),
    (doc(stmt(ntry(status="<Sts>PDNG</Sts>"))), "The file has no booked entries."),
    (doc(stmt(ntry(), ntry(status=""))), "Entry 2: its status (booked or pending) cannot be read."),
    (doc(stmt(ntry(amount=None))), "Entry 1 has no amount."),
    (doc(stmt(ntry(), ntry(amount=""))), "Entry 2 has no amount."),
    (doc(stmt(ntry(), ntry(), ntry(amount="douze"))), "Entry 3: the amount cannot be read."),
    (doc(stmt(ntry(amount="-10.00"))), "Entry 1: the amount cannot be read."),
    (doc(stmt(ntry(amount="10,00"))), "Entry 1: the amount cannot be read."),
    (doc(stmt(ntry(amount="1e3"))), "Entry 1: the amount cannot be read."),
    (doc(stmt(ntry(amount="10.001"))), "Entry 1: the amount has a fraction of a cent."),
    (doc(stmt(ntry(indicator=None))), "Entry 1: whether it is a credit or a debit cannot be read."),
    (doc(stmt(ntry(indicator="CREDIT"))), "Entry 1: whether it is a credit or a debit cannot be read."),
    (doc(stmt(ntry(booked=""))), "Entry 1 has no date."),
    (doc(stmt(ntry(booked="<BookgDt><Dt>05/03/2025</Dt></BookgDt>"))), "Entry 1: the date cannot be read."),
    (doc(stmt(ntry(booked="<BookgDt><Dt>2025-02-30</Dt></BookgDt>"))), "Entry 1: the date cannot be read."),
    (doc(stmt(ntry(ccy=' Ccy="USD"'))), "Entry 1 is in USD, the statement in EUR."),
    (doc(stmt(ntry(), ccy="<Ccy>JPY</Ccy>", balances="")),
     "Amounts in JPY do not have two decimals: this file cannot be read."),
    (doc(stmt(ntry(), ccy="<Ccy>KWD</Ccy>", balances="")),
     "Amounts in KWD do not have two decimals: this file cannot be read."),
    (doc(stmt(ntry(), balances=bal(amount="abc"))), "A balance of the statement (CLBD) cannot be read."),
    (doc(stmt(ntry(), balances=bal(amount="-5.00"))), "A balance of the statement (CLBD) cannot be read."),
    (doc(stmt(ntry(), balances=bal(indicator=""))), "A balance of the statement (CLBD) cannot be read."),
    (doc(stmt(ntry(), balances=bal("OPBD", day=""))), "A balance of the statement (OPBD) cannot be read."),
    (doc(stmt(ntry(), balances=bal(ccy="USD"))), "A balance of the statement (CLBD) is in USD, the account in EUR."),
    (doc(stmt(ntry()), stmt(ntry(), iban="FR7610107001011234567890129")),
     "The file holds statements of 2 accounts (FR7630004001230001234567843 EUR, FR7610107001011234567890129 EUR): "
     "export one account at a time."),
], ids=lambda value: value[:40] if isinstance(value, str) else None)
def test_refusals(data, message):
    assert refusal(data) == message


def test_too_many_entries():
    many = [ntry(ref=f"<AcctSvcrRef>{i}</AcctSvcrRef>") for i in range(MAX_ENTRIES + 1)]
    assert refusal(doc(stmt(*many))) == f"The file has too many entries ({MAX_ENTRIES} at most)."
    assert len(camt.read(doc(stmt(*many[:-1]))).lines) == MAX_ENTRIES


EXTERNAL = (b'<?xml version="1.0"?>\n<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
            + V02.split(b"?>", 1)[1].replace(b"<Ustrd>Cotisation mars 2025</Ustrd>", b"<Ustrd>&xxe;</Ustrd>"))
LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE Document [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                     for i in range(1, 10))
          + b"]>\n" + V02.split(b"?>", 1)[1].replace(b"<Ustrd>Cotisation mars 2025</Ustrd>", b"<Ustrd>&lol9;</Ustrd>"))
PARAMETER = (b'<?xml version="1.0"?>\n<!DOCTYPE Document [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>\n'
             + V02.split(b"?>", 1)[1])
EXTERNAL_DTD = b'<?xml version="1.0"?>\n<!DOCTYPE Document SYSTEM "http://127.0.0.1:9/camt.dtd">\n' + V02.split(b"?>", 1)[1]


@pytest.mark.parametrize("data", [EXTERNAL, LAUGHS, PARAMETER, EXTERNAL_DTD],
                         ids=["an external entity", "the billion laughs", "a parameter entity", "an external DTD"])
def test_xml_attacks_are_refused_and_nothing_is_read(data, monkeypatch):
    import socket  # to see that nothing is fetched

    def no_network(*args, **kwargs):
        raise AssertionError("the reader reached for the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    opened = []
    monkeypatch.setattr("builtins.open", lambda *args, **kwargs: opened.append(args) or pytest.fail("a file was opened"))
    assert refusal(data) == "The file declares a document type or entities: it is not read."
    assert opened == []


@pytest.mark.parametrize("data", [
    b"<", b"<Document>", b"<Document><BkToCstmrStmt/></Document>", b"<Document><BkToCstmrStmt><Stmt/></BkToCstmrStmt></Document>",
    b"<Document><BkToCstmrStmt><Stmt><Ntry/></Stmt></BkToCstmrStmt></Document>",
    b"<Document><BkToCstmrStmt><Stmt><Bal/><Ntry><Sts>BOOK</Sts></Ntry></Stmt></BkToCstmrStmt></Document>",
    b"<Document><BkToCstmrStmt><Stmt><Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp></Bal></Stmt></BkToCstmrStmt></Document>",
    b"<Document><BkToCstmrStmt><Stmt><Acct><Ccy>eu</Ccy></Acct><Ntry/></Stmt></BkToCstmrStmt></Document>",
    b"\xff\xfe<\x00D\x00>\x00", V02.replace(b"<", b"<<"), V02.replace(b"Dt>", b"Dt >"), V02[::2], V02[1::3],
    V02.replace(b"UTF-8", b"UTF-16"), V02.replace(b"UTF-8", b"klingon"),
    V02.replace(b"<Dt>", b"<Dt><Dt>").replace(b"</Dt>", b"</Dt></Dt>"),
])
def test_nothing_crashes(data):
    """Damaged files are read as far as they make sense, or refused with a message: never an exception of
    another kind."""
    try:
        camt.read(data)
    except InvalidInput as err:
        assert err.field == "file" and str(err.message)


# --- Messages ----------------------------------------------------------------------------------------------------------


def test_a_date_outside_the_window_names_the_entry_or_the_balance(speak):
    assert refusal(doc(stmt(ntry(), ntry(booked="<BookgDt><Dt>1999-12-31</Dt></BookgDt>")))).startswith(
        "Entry 2: This date must be between 1 January 2000 and ")
    assert refusal(doc(stmt(ntry(), balances=bal(day="<Dt>1999-12-31</Dt>")))).startswith(
        "A balance of the statement (CLBD): This date must be between 1 January 2000 and ")
    speak("fr")
    assert refusal(doc(stmt(ntry(booked="<BookgDt><Dt>2999-01-01</Dt></BookgDt>")))).startswith(
        "Opération 1 : Cette date doit être comprise entre le 1 janvier 2000 et le ")


def test_messages_are_translated(speak):
    speak("fr")
    assert refusal(doc(stmt(ntry(), ntry(), ntry(amount="x")))) == "Opération 3 : le montant est illisible."
    assert [str(note) for note in camt.read_notes(V02)[1]] == ["Opérations non comptabilisées (en attente) laissées de côté : 1."]
