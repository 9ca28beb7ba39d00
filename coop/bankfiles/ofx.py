"""OFX statements: OFX 1.x (SGML: a header of ``NAME:VALUE`` lines, then tags whose values need no end
tag, in the character set the header names) and OFX 2.x (XML, UTF-8 unless the XML declaration says
otherwise), of a bank account (``BANKMSGSRSV1/STMTTRNRS/STMTRS``) or of a credit card
(``CREDITCARDMSGSRSV1/CCSTMTTRNRS/CCSTMTRS``).

Read here rather than with a library. ``ofxtools`` (kept up, and the reference parser on PyPI) lexes both
versions into an ElementTree, but an element left empty in SGML (``<MEMO>`` followed by the next tag, as
French banks write it) opens an aggregate there: the next entry and the ledger balance end up inside the
entry; entities (``&amp;``) are left as written; its typed models turn every date into UTC (an entry booked
on the 5th at midnight in Paris becomes the 4th), refuse or warn on a ``NAME`` over 32 characters, and its
header accepts only the character sets ``1252``, ``ISO-8859-1`` and ``NONE``. ``ofxparse`` has had no
release since 2021. What the club needs is a dozen values, so this module reads them itself, from a tree
built knowing which OFX elements hold a value (:data:`VALUES`): an empty one never swallows what follows,
and an end tag closes the aggregate it names (and any left open inside it).

Safe by construction: no XML parser runs (OFX 2 is read by the same tokenizer), no entity but the
character references of HTML is replaced, and a file declaring a document type or entities is refused.

What is read:

- each ``STMTTRN``: ``DTPOSTED`` the day the bank booked it, as the bank wrote it (``YYYYMMDD``, the time
  and time zone that may follow are ignored: no conversion moves the day); ``TRNAMT`` signed, with a decimal
  point or comma, exact to the cent; ``NAME`` (or ``PAYEE/NAME``) and ``MEMO`` the label, the one left out
  when the other says it; ``FITID`` the reference, the key that tells an entry uploaded twice; ``DTUSER``
  the value date when readable (it is only informative: an unreadable one is left out);
- ``LEDGERBAL``: the closing balance, at the end of the day ``DTASOF`` names. Banks write there the
  statement's last day (or the day of the export, at whose end the balance is the same when no entry follows
  it); a time after the date is ignored as for entries. ``AVAILBAL`` (the balance less what is held, or plus
  an overdraft allowance) says nothing the books know, and is not read;
- ``CURDEF`` the currency, ``BANKACCTFROM`` (``BANKID BRANCHID ACCTID``) or ``CCACCTFROM`` (``ACCTID``)
  the account.

A file holding several statements is read whole when they are of the same account (and currency), their
entries in the order of the file; statements of different accounts are refused, naming them. Entries are
counted from 1 through the whole file: "Entry 3" is the third ``STMTTRN``."""
from __future__ import annotations

import codecs
import html
import re
from dataclasses import dataclass, field
from datetime import date

from ..services.errors import _l
from ..services.validate import in_window, window_message
from . import common
from .common import refuse
from .model import Balance, Line, Statement

#: OFX elements that hold a value (as opposed to aggregates, which hold elements). An element of these left
#: empty in SGML (``<MEMO>`` then the next tag) is closed at once; any other tag with no value opens an
#: aggregate until its end tag.
VALUES = frozenset("""
    ACCESSKEY ACCTID ACCTKEY ACCTTYPE ADDR1 ADDR2 ADDR3 AVAILCASH AVAILCREDIT BALAMT BALCLOSED BALLIST BALOPEN
    BANKID BRANCHID CHECKNUM CITY CLTCOOKIE CODE CORRECTACTION CORRECTFITID COUNTRY CREDITLIMITAMT CURDEF CURRATE
    CURSYM DESC DTACCTUP DTASOF DTAVAIL DTCLOSE DTEND DTOPEN DTPMTDUE DTPOSTED DTPROFUP DTSERVER DTSTART DTUSER
    EXTDNAME FID FINALCOPY FITID INTRATE INV401KSOURCE LANGUAGE MARGINBALANCE MEMO MESSAGE MINPMTDUE MKTGINFO NAME
    ORG PAYEEID PAYEELSTID PHONE POSTALCODE REFNUM SESSCOOKIE SEVERITY SIC SRVRTID STATE TRNAMT TRNTYPE TRNUID
    TSKEYEXPIRE USERKEY VALUE
""".split())

#: Aggregates a value is never looked for in (a value of the entry is not the payee's or the other account's).
_OWN = frozenset({"STMTTRN", "PAYEE", "BANKACCTTO", "CCACCTTO", "CURRENCY", "ORIGCURRENCY", "IMAGEDATA",
                  "STMTRS", "CCSTMTRS", "LEDGERBAL", "AVAILBAL", "BANKACCTFROM", "CCACCTFROM", "BANKTRANLIST"})

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9._]*)\s*(/?)>([^<]*)")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_DATETIME = re.compile(r"(\d{4})(\d{2})(\d{2})(?:\d{2}(?:\d{2}(?:\d{2}(?:[.,]\d{1,6})?)?)?)?\s*(?:\[[^\]]*\])?")
_ROOT = re.compile(rb"<OFX>", re.I)
_HEADER_FIELD = re.compile(rb"([A-Za-z]+)[ \t]*:[ \t]*([^\s<]*)")
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def looks_like(data: bytes) -> bool:
    """The file starts as an OFX file does: an OFX 1 header, or an OFX 2 processing instruction or root."""
    head = bytes(data[:4096]).lstrip(b"\xef\xbb\xbf \t\r\n").upper()
    return head.startswith(b"OFXHEADER") or b"<?OFX" in head or b"<OFX>" in head


def read_notes(data: bytes) -> tuple[Statement, list]:
    """The statement and what was left out of it: nothing (an OFX statement lists booked entries only)."""
    return read(data), []


def read(data: bytes) -> Statement:
    """The statement the file holds, or ``InvalidInput`` (field ``file``) saying what is wrong."""
    common.check_size(data)
    if not _ROOT.search(data):
        raise refuse(_l("This is not an OFX file."))
    text = _decode(bytes(data))
    root = _tree(text)
    statements = [node for node in root.walk() if node.tag in ("STMTRS", "CCSTMTRS")]
    if not statements:
        raise refuse(_l("This OFX file holds no bank or card statement."))
    common.check_count(sum(1 for s in statements for node in s.walk() if node.tag == "STMTTRN"))

    account, currency = common.one_account((_account(statement), common.currency(statement.value("CURDEF")))
                                           for statement in statements)

    lines: list[Line] = []
    balances: list[Balance] = []
    n = 0
    for statement in statements:
        for node in statement.walk():
            if node.tag == "STMTTRN":
                n += 1
                lines.append(_line(n, node, currency))
            elif node.tag == "LEDGERBAL":
                balances.append(_balance(node))
    if not lines:
        raise refuse(_l("The file has no entries."))
    return Statement(lines=common.unique_references(lines), balances=balances, currency=currency,
                     account=account, layout="ofx")


# --- The text --------------------------------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    """The file's text, in the character set its header (OFX 1) or XML declaration (OFX 2) names.

    OFX 1 files from French banks say ``CHARSET:1252`` or ``ISO-8859-1`` and write Windows-1252 (read so in
    both cases: ISO-8859-1's own characters there are control codes no bank writes); ``CHARSET:NONE`` with
    ``ENCODING:USASCII`` is UTF-8 when it decodes so, else Windows-1252. A file saying UTF-8 that is not,
    or naming an unknown character set, is refused."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    start = data.find(b"<")
    head = data if start < 0 else data[:start]
    fields = {name.decode().upper(): value.decode("ascii", "replace").upper()
              for name, value in _HEADER_FIELD.findall(head)}
    if "OFXHEADER" in fields:
        charset, encoding = fields.get("CHARSET", "NONE"), fields.get("ENCODING", "USASCII")
        if encoding in ("UTF-8", "UNICODE") or charset in ("UTF-8", "UTF8", "65001"):
            return _strict(data, "utf-8")
        if charset in ("NONE", ""):
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                return data.decode("cp1252", errors="replace")
        if charset in ("1252", "WINDOWS-1252", "CP1252", "ISO-8859-1", "8859-1", "ISO8859-1", "LATIN-1", "LATIN1"):
            return data.decode("cp1252", errors="replace")
        return _strict(data, charset)
    declared = _XML_ENCODING.search(data[:200])
    return _strict(data, declared.group(1).decode("ascii") if declared else "utf-8")


def _strict(data: bytes, encoding: str) -> str:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise refuse(_l("The file's character set “%(charset)s” is not known.", charset=encoding[:20].upper())) from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise refuse(_l("The file is not written in the character set it declares (%(charset)s).",
                        charset=encoding[:20].upper())) from None


# --- The tree --------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Node:
    tag: str
    text: str = ""
    children: list[_Node] = field(default_factory=list)
    closed: bool = False  #: an aggregate whose end tag was met

    def walk(self):
        """Every node under this one, in the order of the file."""
        stack = list(reversed(self.children))
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def find(self, tag: str) -> _Node | None:
        """The first node ``tag`` of this aggregate, not looking into aggregates of its own (the payee's
        name is not the entry's), but into a tag left open by mistake."""
        stack = list(reversed(self.children))
        while stack:
            node = stack.pop()
            if node.tag == tag:
                return node
            if node.tag not in _OWN:
                stack.extend(reversed(node.children))
        return None

    def value(self, tag: str) -> str | None:
        """The value of element ``tag`` (entities replaced), None when the aggregate does not have it."""
        node = self.find(tag)
        return None if node is None else node.text


def _tree(text: str) -> _Node:
    """The tree of the file's OFX aggregates (a file made of several, one after the other, is read whole):
    SGML (end tags of values optional) or XML alike."""
    upper = text.upper()
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        raise refuse(_l("The file declares a document type or entities: it is not read."))
    start = upper.find("<OFX>")
    if start < 0:
        raise refuse(_l("This is not an OFX file."))
    body = _COMMENT.sub("", text[start:])
    body = _CDATA.sub(lambda m: html.escape(m.group(1), quote=False), body)
    root = _Node("")
    stack = [root]
    for match in _TAG.finditer(body):
        end, tag, empty, value = match.group(1), match.group(2).upper(), match.group(3), match.group(4)
        if end:
            # Closes the aggregate it names, and any left open inside it; the end tag of a value (XML, or
            # SGML that writes them) or a stray one closes nothing.
            for i in range(len(stack) - 1, 0, -1):
                if stack[i].tag == tag:
                    stack[i].closed = True
                    del stack[i:]
                    break
            continue
        value = value.strip()
        node = _Node(tag, html.unescape(value) if value else "")
        stack[-1].children.append(node)
        if not value and not empty and tag not in VALUES:
            stack.append(node)
    documents = [node for node in root.children if node.tag == "OFX"]
    if not documents or not all(document.closed for document in documents):
        raise refuse(_l("The file is cut short: its end is missing."))
    return root


# --- Values ---------------------------------------------------------------------------------------------------------


def _account(statement: _Node) -> str:
    node = statement.find("BANKACCTFROM") or statement.find("CCACCTFROM")
    if node is None:
        return ""
    return " ".join(common.one_line(node.value(tag)) for tag in ("BANKID", "BRANCHID", "ACCTID")
                    if common.one_line(node.value(tag)))


def _date(text: str | None) -> date | None:
    match = _DATETIME.fullmatch((text or "").strip())
    return common.day(*match.groups()) if match else None


def _line(n: int, node: _Node, currency: str | None) -> Line:
    amount = common.entry_amount(n, node.value("TRNAMT"), signed=True, comma=True)
    posted = node.value("DTPOSTED")
    booked_on = common.entry_day(n, _date(posted), present=bool(posted and posted.strip()))
    value_on = _date(node.value("DTUSER"))
    if value_on is not None and not in_window(value_on):
        value_on = None
    other = node.find("CURRENCY")
    code = common.one_line(other.value("CURSYM")).upper() if other is not None else ""
    if code and currency and code != currency:
        raise refuse(_l("Entry %(n)d is in %(code)s, the statement in %(currency)s.", n=n, code=code[:10],
                        currency=currency))
    payee = node.find("PAYEE")
    name = node.value("NAME") or (payee.value("NAME") if payee is not None else None)
    return Line(line_no=n, booked_on=booked_on, amount=amount, label=common.label([name, node.value("MEMO")]),
                value_on=value_on, reference=common.one_line(node.value("FITID"))[:255])


def _balance(node: _Node) -> Balance:
    try:
        amount = common.cents(node.value("BALAMT"), signed=True, comma=True)
    except ValueError:
        amount = None
    on = _date(node.value("DTASOF"))
    if amount is None or on is None:
        raise refuse(_l("The statement's closing balance cannot be read."))
    if not in_window(on):
        raise refuse(_l("The statement's closing balance: %(reason)s", reason=window_message()))
    return Balance(on=on, amount=amount, source="closing")
