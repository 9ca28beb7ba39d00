"""Words shown for stored codes, in the reader's language."""
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

ROLES = {
    "manager": _l("manager"),
    "treasurer": _l("treasurer"),
    "secretary": _l("secretary"),
    "member": _l("member"),
}
CLUB_STATUSES = {
    "forming": _l("in formation"),
    "active": _l("active"),
    "in_management": _l("in management (term over)"),
    "dissolving": _l("being dissolved"),
    "closed": _l("closed"),
}
THRESHOLDS = {
    "majority": _l("majority of votes cast"),
    "two_thirds": _l("two thirds of votes cast"),
    "unanimity": _l("unanimity"),
}
ACCOUNT_TYPES = {
    "asset": _l("asset"),
    "liability": _l("liability"),
    "equity": _l("equity"),
    "income": _l("income"),
    "expense": _l("expense"),
}
SHARE_METHODS = {
    "pro_rata": _l("pro rata to contributions"),
    "units": _l("by valuation units"),
}
#: The share register's movements (coop/services/shares.py Movement.kind).
SHARE_MOVES = {
    "deposit": _l("paid in"),
    "undo": _l("payment undone"),
    "withdrawal": _l("taken out"),
    "exit": _l("share valued on leaving"),
    "transfer_out": _l("share passed on"),
    "transfer_in": _l("share received"),
}
RHYTHMS = {
    "monthly": _l("every month"),
    "quarterly": _l("every quarter"),
    "yearly": _l("every year"),
}
METHODS = {
    "transfer": _l("bank transfer"),
    "cheque": _l("cheque"),
    "cash": _l("cash"),
}
BALLOT_KINDS = {
    "funding": _l("Funding a project"),
    "admission": _l("Admitting a member"),
    "exclusion": _l("Excluding a member"),
    "election": _l("Electing an officer"),
    "charter": _l("Amending the charter"),
    "renewal": _l("Renewing the club's term"),
    "stake_sale": _l("Selling a stake"),
    "dissolution": _l("Dissolving the club"),
    "transfer": _l("Passing a member's share on"),
    "accounts": _l("Approving the accounts"),
    "partnership": _l("Trading time with another club"),
    "region": _l("Joining a regional association"),
}
PARTNERSHIP_STATUSES = {
    "draft": _l("proposed here, waiting for our vote"),
    "proposed": _l("agreed here, waiting for their vote"),
    "offered": _l("agreed by them, waiting for our vote"),
    "active": _l("active"),
    "refused": _l("refused"),
}
RELAY_STATUSES = {
    "pending": _l("waiting to be delivered"),
    "delivered": _l("delivered"),
}
#: Why an exchange with a partner club was cancelled, when no member wrote it (a decline gives its own words).
ERASE_REASONS = {
    "withdrawn": _l("withdrawn by the member who recorded it"),
    "expired": _l("not confirmed in time"),
    "not trading": _l("the clubs were not trading"),
    "not a member": _l("not a member of the other club any more"),
    "same person": _l("one cannot exchange time with oneself"),
    "unknown": _l("unknown to the other club"),
    "refused": _l("the other club could not count it (a limit, or the member left)"),
}
CROSS_STATES = {
    "pending": _l("waiting for confirmation"),
    "committed": _l("confirmed, on its way to the other club"),
    "completed": _l("counted in both clubs"),
    "undoing": _l("refused by the other club: to be cancelled here once the member's limits leave room"),
    "erased": _l("cancelled"),
}
MEETING_KINDS = {
    "ordinary": _l("Ordinary general meeting"),
    "extraordinary": _l("Extraordinary general meeting"),
}
MEETING_STATUSES = {
    "planned": _l("convened"),
    "in_session": _l("in session"),
    "closed": _l("closed"),
    "cancelled": _l("cancelled"),
}
PRESENCE = {
    "present": _l("present"),
    "represented": _l("represented"),
    "absent": _l("absent"),
}
VOTING_METHODS = {
    "yes_no": _l("Yes / no / abstain"),
    "consent": _l("Consent (passes unless someone objects)"),
    "judgment": _l("Majority judgment (grade every option)"),
    "approval": _l("Approval (tick every option you accept)"),
}
OUTCOMES = {
    "adopted": _l("adopted"),
    "rejected": _l("rejected"),
    "no_quorum": _l("no quorum"),
    "tie": _l("tie, no decision"),
    None: _l("pending"),
}
BALLOT_STATUSES = {
    "open": _l("open"),
    "closed": _l("closed"),
    "cancelled": _l("cancelled"),
}
PROJECT_STATUSES = {
    "draft": _l("draft"),
    "presented": _l("presented"),
    "in_vote": _l("in vote"),
    "approved": _l("approved"),
    "rejected": _l("rejected"),
    "withdrawn": _l("withdrawn"),
}
LEGAL_FORMS = {
    "sarl": "SARL",
    "sas": "SAS",
    "sa": "SA",
    "scop": "SCOP",
    "scic": "SCIC",
    "association": _l("association"),
    "sole_trader": _l("sole trader"),
    "quebec_coop": _l("Québec cooperative"),
    "obnl": "OBNL",
    "other": _l("other"),
}
INSTRUMENTS = {
    "equity": _l("equity shares"),
    "current_account": _l("shareholder current-account loan"),
    "loan": _l("loan"),
    "returnable": _l("returnable contribution"),
}
GRADES = {
    0: _l("to reject"),
    1: _l("poor"),
    2: _l("fair"),
    3: _l("good"),
    4: _l("very good"),
    5: _l("excellent"),
}
CHOICES = {
    "yes_no": {1: _l("yes"), -1: _l("no"), 0: _l("abstain")},
    "consent": {1: _l("consents"), -1: _l("objects"), 0: _l("stands aside")},
    "approval": {1: _l("approves"), 0: _l("does not approve")},
}
INVESTMENT_STATUSES = {
    "active": _l("active"),
    "repaid": _l("repaid"),
    "exited": _l("exited"),
    "written_off": _l("written off"),
}
PAYMENT_STATUSES = {
    "pending": _l("waiting for a second officer"),
    "approved": _l("approved and posted"),
    "cancelled": _l("cancelled"),
}
EVENT_KINDS = {
    "repayment": _l("repayment"),
    "return": _l("dividends or interest"),
    "sale": _l("sale of shares"),
    "write_off": _l("write-off"),
    "handover": _l("shares handed over to a leaver"),
}
CATEGORIES = {
    "gardening": _l("Gardening"),
    "diy": _l("DIY and repairs"),
    "computing": _l("Computing"),
    "lessons": _l("Lessons and languages"),
    "childcare": _l("Childcare"),
    "transport": _l("Transport"),
    "cooking": _l("Cooking"),
    "sewing": _l("Sewing"),
    "paperwork": _l("Paperwork and accounting"),
    "well_being": _l("Well-being"),
    "other": _l("Other"),
}
LISTING_KINDS = {
    "offer": _l("Offer"),
    "request": _l("Request"),
}
LISTING_STATUSES = {
    "active": _l("open"),
    "paused": _l("paused"),
    "closed": _l("closed"),
}
EXCHANGE_STATUSES = {
    "arranged": _l("arranged, not done yet"),
    "pending": _l("waiting for confirmation"),
    "confirmed": _l("confirmed"),
    "disputed": _l("disputed"),
    "cancelled": _l("cancelled"),
    "expired": _l("expired"),
    "reversed": _l("reversed"),
}
TRANSACTION_KINDS = {
    "opening": _l("opening"),
    "contribution": _l("contribution"),
    "disbursement": _l("disbursement"),
    "repayment": _l("repayment"),
    "return": _l("investment income"),
    "fee": _l("fee"),
    "refund": _l("refund"),
    "distribution": _l("distribution"),
    "exchange": _l("time exchange"),
    "adjustment": _l("adjustment"),
    "closing": _l("closing"),
    "revaluation": _l("revaluation"),
    "transfer": _l("share passed on"),
    "handover": _l("shares handed over to a leaver"),
    "reversal": _l("reversal"),
}
MEMBER_STATUSES = {
    "pending": _l("waiting for admission"),
    "active": _l("active"),
    "declined": _l("declined"),
    "left": _l("left the club"),
    "excluded": _l("excluded"),
}
TRANSFER_STATUSES = {
    "preemption": _l("the co-owners may buy first"),
    "awaiting_vote": _l("waiting for the members' vote"),
    "in_vote": _l("in vote"),
    "done": _l("passed on"),
    "refused": _l("refused by the members"),
    "withdrawn": _l("withdrawn"),
    "preempted": _l("bought by co-owners"),
}
TRANSFER_REASONS = {
    "heir": _l("inheritance"),
    "assignment": _l("sale"),
}
ASSERTION_STATUSES = {
    "open": _l("open"),
    "resolved": _l("explained"),
}


#: The club's accounts Entraide opens itself under a fixed code, named in the reader's language.
SYSTEM_ACCOUNTS = {
    "bank": _l("Bank"),
    "income:returns": _l("Interest and dividends"),
    "income:gains": _l("Gains on sales of shares"),
    "expense:losses": _l("Losses on investments"),
    "expense:fees": _l("Bank fees"),
    "reserves": _l("Results and reserves shared on leaving"),
}
#: Where the accounts Entraide opens for a member or a project keep their subject: after this, in the stored name.
SUBJECT_MARK = " — "


def account_name(account) -> str:
    """An account's name as the reader reads it, everywhere a name is shown (pages, CSV exports, statements).

    The accounts Entraide opens are named from their code in the reader's language: the bank, the income
    and expense accounts, a member's capital and time accounts, an investment's account and its revaluation
    reserve (the member's or the project's name being the one stored after " — " when the account was opened). Any other account,
    and one whose stored name has no subject, reads as stored."""
    code = account.code or ""
    fixed = SYSTEM_ACCOUNTS.get(code)
    if fixed is not None:
        return str(fixed)
    kind = code.partition(":")[0]
    _stored_prefix, mark, subject = (account.name or "").partition(SUBJECT_MARK)
    if mark and subject:
        if kind == "capital":
            return gettext("Capital — %(member)s", member=subject)
        if kind == "time":
            return gettext("Time credits — %(member)s", member=subject)
        if kind == "investment":
            return gettext("Investment — %(project)s", project=subject)
        if kind == "payable":
            return gettext("Owed to — %(member)s", member=subject)
        if kind == "revaluation":
            return gettext("Revaluation reserve — %(project)s", project=subject)
    return account.name
