"""ISO 20022 bank-to-customer statements, camt.053.001.02 to .13 (read by local names, whatever the namespace
or its prefix; other versions, camt.052 account reports and camt.054 notifications are refused by name).

Parsed here with ``defusedxml``'s ElementTree rather than with a camt library from PyPI: ``pycamt`` (one
author) gives back dictionaries of strings, goes through ``float`` for debit amounts, finds elements only in
the default namespace and fails with ``AttributeError`` when an element is missing; ``camt053`` is a 0.0.x
release pulling in a web server, ``fastapi``, ``pydantic``, ``xmlschema`` and a pinned ``cryptography``;
``ofxstatement-iso20022`` is a plug-in of a command-line converter. What the club needs is a dozen values.

Read safely: ``defusedxml`` refuses any document type declaration (``forbid_dtd``), so no external entity
(XXE) is fetched and no entity is expanded (billion laughs); the file is capped at ``csvfile.MAX_BYTES``
before it is parsed, and expat builds no tree deeper than the file.

What is read, for each ``Stmt`` (several are read into one statement when they are of the same account and
currency, and refused otherwise):

- ``Acct/Id/IBAN`` (or ``Acct/Id/Othr/Id``) the account; ``Acct/Ccy`` (else the balances' or the entries'
  ``Ccy``) the currency; an amount in another currency is refused, and so is a currency whose amounts do not
  have two decimals;
- ``Bal`` of type ``OPBD`` (opening booked: the balance at the start of its ``Dt``, so at the end of the day
  before), ``PRCD`` (previously closed booked: the balance at the end of its ``Dt``, the previous statement's
  day, as German banks write it) and ``CLBD`` (closing booked: at the end of its ``Dt``), the first two
  "opening", the last "closing"; ``CdtDbtInd`` ``DBIT`` makes it negative (an overdraft). Available and
  interim balances (``CLAV``, ``ITBD`` …) say nothing the books know, and are not read;
- each ``Ntry`` booked (``Sts`` ``BOOK``, or ``Sts/Cd`` ``BOOK`` from .08 on): ``Amt``, positive for
  ``CRDT`` and negative for ``DBIT`` (a reversal's indicator is already the way the money went);
  ``BookgDt`` the day (``Dt``, or the date of ``DtTm`` as written); ``ValDt`` the value date; the reference
  ``AcctSvcrRef``, else ``NtryRef``, else the ``EndToEndId`` of the entry's transactions when they have one
  and no other entry of the file has it; the label: the other party's name (``RltdPties/Dbtr`` of a credit,
  ``Cdtr`` of a debit), the unstructured remittance information (``RmtInf/Ustrd``) of its transactions, and
  ``AddtlNtryInf``, each once (a transaction with no ``Ustrd`` gives its structured ``Ref``). A batch (one
  ``Ntry``, several ``TxDtls``) is one line of the entry's amount.
  Entries not booked (``PDNG`` pending, ``INFO``) are left out, and :func:`read_notes` says how many.

Entries are counted from 1 through the whole file, those left out too: "Entry 3" is the third ``Ntry``."""
from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from ..services.errors import _l
from ..services.validate import in_window, window_message
from . import common
from .common import refuse
from .model import Balance, Line, Statement

if TYPE_CHECKING:  # the type of what defusedxml gives; nothing is parsed with the standard library
    from xml.etree.ElementTree import Element  # nosec B405

#: camt.053.001.NN versions read (the elements read here are the same in all of them)
VERSIONS = range(2, 14)

_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.(\d{3})\.001\.(\d{2})")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?(?:Z|[+-]\d{2}:\d{2})?")
_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']""")
_MESSAGES = {"BkToCstmrStmt": "053", "BkToCstmrAcctRpt": "052", "BkToCstmrDbtCdtNtfctn": "054"}
_OPENING = {"OPBD": 1, "PRCD": 0}  # days back from the balance's date to the day it closes
_CLOSING = {"CLBD"}


def looks_like(data: bytes) -> bool:
    """An ISO 20022 bank-to-customer message: a statement, or a report or notification read() refuses by name."""
    head = bytes(data[:4096])
    return bool(re.search(rb"urn:iso:std:iso:20022:tech:xsd:camt\.05[234]\.|<(\w+:)?BkToCstmr(Stmt|AcctRpt|DbtCdtNtfctn)>",
                          head))


def read(data: bytes) -> Statement:
    """The statement the file holds, or ``InvalidInput`` (field ``file``) saying what is wrong."""
    return read_notes(data)[0]


def read_notes(data: bytes) -> tuple[Statement, list]:
    """The statement and what the reader should be told of what was left out (messages, lazily translated):
    entries not booked."""
    common.check_size(data)
    message = _message(_parse(bytes(data)))
    statements = _kids(message, "Stmt")
    if not statements:
        raise refuse(_l("The file holds no statement."))
    common.check_count(sum(len(_kids(s, "Ntry")) for s in statements))

    account, currency = common.one_account((_account(statement), _currency(statement)) for statement in statements)

    entries: list[tuple[int, Element]] = []
    balances: list[Balance] = []
    skipped = 0
    for statement in statements:
        balances.extend(b for b in (_balance(bal, currency) for bal in _kids(statement, "Bal")) if b)
        for entry in _kids(statement, "Ntry"):
            n = len(entries) + skipped + 1
            status = _text(entry, "Sts", "Cd") or _text(entry, "Sts")
            if (status or "").strip() != "BOOK":
                skipped += 1
                if status is None or not status.strip():
                    raise refuse(_l("Entry %(n)d: its status (booked or pending) cannot be read.", n=n))
                continue
            entries.append((n, entry))
    if not entries:
        raise refuse(_l("The file has no booked entries."))

    ends = [_end_to_end(entry) for _, entry in entries]
    lines = [_line(n, entry, currency, end if end and ends.count(end) == 1 else "")
             for (n, entry), end in zip(entries, ends, strict=True)]
    notes = [_l("Entries not booked (pending) left out: %(n)d.", n=skipped)] if skipped else []
    return Statement(lines=common.unique_references(lines), balances=balances, currency=currency, account=account,
                     layout="camt.053"), notes


# --- The document ----------------------------------------------------------------------------------------------------


def _parse(data: bytes) -> Element:
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise refuse(_l("The file declares a document type or entities: it is not read.")) from None
    except LookupError:  # an encoding Python does not know
        declared = _ENCODING.search(data[:200])
        raise refuse(_l("The file's character set “%(charset)s” is not known.",
                        charset=declared.group(1).decode("ascii", "replace")[:20].upper() if declared else "?")) from None
    except ParseError as err:
        raise refuse(_l("The file is not well-formed XML (line %(line)d): it may be cut short or damaged.",
                        line=err.position[0])) from None


def _message(root: Element) -> Element:
    """The bank-to-customer statement under ``Document``; another camt message or version is refused by name."""
    name = _local(root.tag)
    found = _NAMESPACE.fullmatch(_namespace(root.tag))
    body = next(iter(root), None) if name == "Document" else None
    kind = _MESSAGES.get(_local(body.tag)) if body is not None else None
    if kind is None and found:
        kind = found.group(1)
    if kind == "052":
        raise refuse(_l("This is a camt.052 account report, not a statement: export the camt.053 statement."))
    if kind == "054":
        raise refuse(_l("This is a camt.054 notification, not a statement: export the camt.053 statement."))
    if kind != "053" or body is None or _local(body.tag) != "BkToCstmrStmt":
        raise refuse(_l("This is not an ISO 20022 camt.053 statement."))
    if found and (found.group(1) != "053" or int(found.group(2)) not in VERSIONS):
        raise refuse(_l("This version of camt.053 (%(version)s) cannot be read: versions 001.02 to 001.13 can.",
                        version=f"{found.group(1)}.001.{found.group(2)}"))
    return body


def _local(tag) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _namespace(tag) -> str:
    return tag[1:].partition("}")[0] if isinstance(tag, str) and tag.startswith("{") else ""


def _kids(element: Element | None, name: str) -> list[Element]:
    return [] if element is None else [child for child in element if _local(child.tag) == name]


def _child(element: Element | None, *path: str) -> Element | None:
    for name in path:
        found = _kids(element, name)
        element = found[0] if found else None
    return element


def _text(element: Element | None, *path: str) -> str | None:
    found = _child(element, *path)
    return None if found is None else (found.text or "")


def _texts(element: Element | None, name: str) -> list[str]:
    """The text of every element ``name`` under ``element``, in the order of the file."""
    return [] if element is None else [e.text or "" for e in element.iter() if _local(e.tag) == name]


def _date(element: Element | None) -> tuple[date | None, bool]:
    """The date of a ``Dt`` or ``DtTm`` under ``element`` as written (a time and offset do not move it), and
    whether there was one."""
    text = _text(element, "Dt") if _child(element, "Dt") is not None else _text(element, "DtTm")
    if text is None or not text.strip():
        return None, False
    match = _DATE.fullmatch(text.strip())
    return (common.day(*match.groups()) if match else None), True


# --- The statement ---------------------------------------------------------------------------------------------------


def _account(statement: Element) -> str:
    identifier = _child(statement, "Acct", "Id")
    return common.one_line(_text(identifier, "IBAN") or _text(identifier, "Othr", "Id"))


def _currency(statement: Element) -> str | None:
    code = _text(statement, "Acct", "Ccy")
    if not code:
        for amount in [_child(b, "Amt") for b in _kids(statement, "Bal")] + [_child(e, "Amt") for e in
                                                                          _kids(statement, "Ntry")]:
            if amount is not None and amount.get("Ccy"):
                code = amount.get("Ccy")
                break
    return common.currency(code)


def _balance(element: Element, currency: str | None) -> Balance | None:
    code = (_text(element, "Tp", "CdOrPrtry", "Cd") or "").strip()
    if code not in _OPENING and code not in _CLOSING:
        return None
    amount = _child(element, "Amt")
    try:
        cents = common.cents(amount.text if amount is not None else None, signed=False, comma=False)
    except ValueError:
        cents = None
    sign = {"CRDT": 1, "DBIT": -1}.get((_text(element, "CdtDbtInd") or "").strip())
    day, _ = _date(_child(element, "Dt"))
    if cents is None or sign is None or day is None:
        raise refuse(_l("A balance of the statement (%(code)s) cannot be read.", code=code))
    _same_currency(amount, currency, _l("A balance of the statement (%(code)s) is in %(other)s, the account in "
                                        "%(currency)s.", code=code, other=amount.get("Ccy"), currency=currency))
    if not in_window(day):
        raise refuse(_l("A balance of the statement (%(code)s): %(reason)s", code=code, reason=window_message()))
    if code in _OPENING:
        return Balance(on=day - timedelta(days=_OPENING[code]), amount=sign * cents, source="opening")
    return Balance(on=day, amount=sign * cents, source="closing")


def _same_currency(amount: Element, currency: str | None, message) -> None:
    other = (amount.get("Ccy") or "").strip()
    if other and currency and other != currency:
        raise refuse(message)


# --- Entries ---------------------------------------------------------------------------------------------------------


def _transactions(entry: Element) -> list[Element]:
    return [tx for details in _kids(entry, "NtryDtls") for tx in _kids(details, "TxDtls")]


def _end_to_end(entry: Element) -> str:
    """The transactions' end-to-end reference, when they have one (and not the "NOTPROVIDED" of the rules)."""
    found = {common.one_line(_text(tx, "Refs", "EndToEndId")) for tx in _transactions(entry)}
    found.discard("")
    found.discard("NOTPROVIDED")
    return found.pop() if len(found) == 1 else ""


def _line(n: int, entry: Element, currency: str | None, end_to_end: str) -> Line:
    amount = _child(entry, "Amt")
    cents = common.entry_amount(n, amount.text if amount is not None else None, signed=False, comma=False)
    sign = {"CRDT": 1, "DBIT": -1}.get((_text(entry, "CdtDbtInd") or "").strip())
    if sign is None:
        raise refuse(_l("Entry %(n)d: whether it is a credit or a debit cannot be read.", n=n))
    _same_currency(amount, currency, _l("Entry %(n)d is in %(code)s, the statement in %(currency)s.", n=n,
                                        code=(amount.get("Ccy") or "")[:10], currency=currency))
    booked_on = common.entry_day(n, *_date(_child(entry, "BookgDt")))
    value_on, _ = _date(_child(entry, "ValDt"))
    if value_on is not None and not in_window(value_on):
        value_on = None
    reference = (common.one_line(_text(entry, "AcctSvcrRef")) or common.one_line(_text(entry, "NtryRef"))
                 or end_to_end)
    party = "Dbtr" if sign > 0 else "Cdtr"
    transactions = _transactions(entry)
    names = [name for tx in transactions for name in _texts(_child(tx, "RltdPties", party), "Nm")[:1]]
    remittance = [text for tx in transactions for text in (_texts(_child(tx, "RmtInf"), "Ustrd")
                                                           or _texts(_child(tx, "RmtInf"), "Ref"))]
    return Line(line_no=n, booked_on=booked_on, amount=sign * cents,
                label=common.label([*names, *remittance, _text(entry, "AddtlNtryInf")]),
                value_on=value_on, reference=reference[:255])
