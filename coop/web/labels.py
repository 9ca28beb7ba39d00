"""Words shown for stored codes, in the reader's language."""
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
