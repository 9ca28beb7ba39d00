"""Fuzzing every form: whatever a person (or a script) sends to a POST route, the answer is never a 5xx.

For each POST route of ``app.url_map`` (``test_every_post_route_is_fuzzed`` fails for a new one without a
spec), Hypothesis fills each field its form class declares (``coop/forms/*.py``) with text holding control
characters, very long text, huge and negative numbers, malformed dates, values outside the lists, or leaves
it out, and posts it with a valid CSRF token as the member whose role lets them act. Files and the signed
payloads of the two-step imports are fuzzed too: a payload is sealed by the app's own code around random
CSV content, so the second step reads what Hypothesis wrote. After each group of routes the invariants
``flask coop check`` verifies must still hold.

The world is the one ``test_authorization`` builds: an active club of six with a draft project, an approved
one and its investment (a payment approved, one pending, a revaluation waiting), an open ballot, an offer, an
exchange to confirm, a bank line, a balance check, a leaver, a pending request, a share offered to the co-owners
first, an open invitation and a live password-reset link.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pytest
from flask_login import login_user
from flask_wtf.file import FileField
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
)
from wtforms.fields.core import UnboundField

from coop.extensions import db
from coop.forms import auth as auth_forms
from coop.forms import ballots as ballots_forms
from coop.forms import books as books_forms
from coop.forms import clubs as clubs_forms
from coop.forms import fund as fund_forms
from coop.forms import investments as investments_forms
from coop.forms import meetings as meetings_forms
from coop.forms import partners as partners_forms
from coop.forms import projects as projects_forms
from coop.forms import regions as regions_forms
from coop.forms import timebank as timebank_forms
from coop.forms import tokens as tokens_forms
from coop.forms import transfers as transfers_forms
from coop.forms.base import MoneyField
from coop.models import Membership, MemberStatus, User
from coop.services import ballots, fund, investments, ledger, meetings, partners, timebank, transfers
from coop.web import books as books_views
from coop.web import fund as fund_views
from coop.web import sealed
from coop.web.ballots import FORM_KINDS
from tests.conftest import PASSWORD, Browser, form_values, hidden_fields, snapshot
from tests.web.test_authorization import build_world

MAX_ID = 2**31 - 1  # PostgreSQL's integer: the ids' columns
EXAMPLES = 20  # per route: about 1,200 requests a backend (a route without fields needs fewer)


# --- Values -----------------------------------------------------------------------------------------------------

ODD = ["", " ", "0", "-0", "-1", "00", "1e309", "NaN", "-inf", "∞", "١٢٣", "½", "0x10", "1_000", "None", "null",
       "true", "[]", "{}", "%s", "%(x)s", "{0}", "<script>alert(1)</script>", "'; DROP TABLE users; --", "../../etc",
       "\u202etxt", "\ufeff", "\u00a0", "\r\n", "a\x00b", "\x1b[2J", "=SUM(A1)", "@x", "é" * 3]
CONTROL = st.text(st.characters(max_codepoint=0x1F), min_size=1, max_size=8)
TEXT = st.one_of(
    st.text(max_size=40),  # any character but surrogates, control characters included
    CONTROL,
    st.builds(lambda c, n: c * n, st.sampled_from("xé€\u200b;,\n"), st.integers(500, 30_000)),  # very long
    st.sampled_from(ODD),
)
INTEGER_TEXT = st.one_of(st.integers(-(10**30), 10**30).map(str), st.integers(-5, 2**31 + 5).map(str),
                         st.sampled_from(["2147483647", "2147483648", "9223372036854775808", "-2147483649"]))
NUMBER = st.one_of(
    INTEGER_TEXT,
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.builds(lambda a, b, sep, mark: f"{a:,}".replace(",", sep) + f"{mark}{b:02d}", st.integers(0, 10**15),
              st.integers(0, 999), st.sampled_from([" ", "\u202f", ".", ",", "'", ""]), st.sampled_from([",", "."])),
    st.integers(-(10**6), 10**6).map(lambda n: f"{n / 100:.2f}".replace(".", ",")),
)
MALFORMED_DAYS = ["2026-02-30", "2026-13-01", "0000-00-00", "0001-01-01", "9999-12-31", "10000-01-01", "-2026-01-01",
                  "2026-1-1", "31/12/2026", "2026/12/31", "2026-12-31T25:61", "2026-12-31 00:00", "today", "+2026-01-01"]
DAY = st.one_of(st.dates().map(date.isoformat), st.dates(date(2020, 1, 1), date(2030, 12, 31)).map(date.isoformat),
                st.sampled_from(MALFORMED_DAYS), st.dates().map(lambda d: d.strftime("%d/%m/%Y")))
MOMENT = st.one_of(st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
                   st.datetimes(datetime(2026, 1, 1), datetime(2030, 1, 1)).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S")),
                   st.sampled_from(["2026-02-30T10:00", "2026-01-01T24:00", "9999-12-31T23:59", "2026-01-01"]), DAY)
TICK = st.sampled_from(["y", "on", "1", "true", "", "false", "0", "n"])


def cells(extra: list[str]) -> st.SearchStrategy:
    """CSV content: a header and lines of plausible or hostile cells, or bytes."""
    cell = st.one_of(st.sampled_from(extra), NUMBER, DAY, TEXT.filter(lambda t: len(t) < 200))
    line = st.lists(cell, min_size=0, max_size=6)

    def joined(header, rows, sep, bom):
        text = "\n".join(sep.join(row) for row in [header, *rows])
        return ("\ufeff" if bom else "") + text

    structured = st.builds(joined, st.lists(st.sampled_from(extra), min_size=1, max_size=6), st.lists(line, max_size=8),
                           st.sampled_from([";", ",", "\t"]), st.booleans())
    return st.one_of(structured.map(lambda t: t.encode("utf-8", "surrogatepass")),
                     st.builds(lambda t, enc: t.encode(enc, "replace"), structured, st.sampled_from(["latin-1", "utf-16"])),
                     st.binary(max_size=300))


# --- What a person would send: most fields of an example hold one of these, so the hostile ones reach the services

TODAY = date.today()
SOON = (datetime.now() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
NEW_PASSWORD = "un tout nouveau secret"
PLAUSIBLE: dict[str, list[str]] = {
    "name": ["Fournil", "Cigale du Diois"], "description": ["Un four à pain bio.", "Réparer un vélo"],
    "town": ["Die"], "holder_name": ["Anne Martin"], "holder_contact": ["anne@example.org"],
    "amount_requested": ["3 000,00", "100"], "stake": ["", "10", "12,5"], "title": ["Réparer un vélo", ""],
    "email": ["dora@example.org"], "password": [PASSWORD, NEW_PASSWORD], "current_password": [PASSWORD],
    "new_password": [NEW_PASSWORD], "confirm": [NEW_PASSWORD, PASSWORD], "language": ["fr", "en"],
    "next": ["/", "/clubs/new", "//evil.example", "https://evil.example/"],
    "monthly_amount": ["30,00", "7,50", "5500"], "amount": ["12,50", "1 000,00", "-1,00", "30"],
    "bank_reference": ["VIR-123", ""], "reason": ["Une erreur de saisie."], "note": ["", "Relevé de mars"],
    "explanation": ["", "Chèque 1234 pas encore encaissé"],
    "nature": ["Ma sœur gère ce projet."], "details": ["", "Pourquoi ce vote"], "closes_at": [SOON],
    "hours": ["1", "0", "24"], "minutes": ["30", "0", "59"], "direction": ["given", "received"],
    "floor": ["-10", "0", "-100"], "ceiling": ["40", "0", "400"], "rate": ["3", "0", "2,5"],
    "term_periods": ["12", "1"], "frequency": ["monthly", "quarterly"], "principal": ["100,00", ""],
    "interest": ["1,00", ""], "price": ["100,00"],
    "new_value": ["600,00", "0", "500,00"], "text": ["Le four tourne bien."], "memo": ["Frais bancaires"],
    "window_days": ["3", "0", "15"], "date": ["0"], "label": ["1", ""], "debit": ["", "2"], "credit": ["", "3"],
    "transaction_id": ["1", "2"], "source": ["", "Relevé 12"], "filename": ["releve.csv"],
    "method": ["yes_no", "consent", "judgment", "approval", "transfer"], "second_mentor_id": ["0"],
    "through": [(TODAY.replace(day=1) - timedelta(days=1)).isoformat(), TODAY.isoformat()],
    "time_zone": ["America/Montreal", "Europe/Paris", "Pacific/Noumea", ""],
}
#: Fields whose value is a date: today, a little before, a little after.
DAYS = [TODAY.isoformat(), (TODAY - timedelta(days=40)).isoformat(), (TODAY + timedelta(days=3)).isoformat()]


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy) -> st.SearchStrategy:
    """Nine times in ten a plausible value; else left out or hostile."""
    return st.integers(0, 19).flatmap(lambda n: good if n < 18 else st.none() if n == 18 else bad)


# --- What each route is sent, and by whom -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fuzz:
    role: str
    forms: tuple = ()  # form classes whose fields are filled
    extra: dict = field(default_factory=dict)  # field name -> strategy name (see ``strategies``) for fields made at run time
    ids: dict = field(default_factory=dict)  # URL argument -> the world's id name
    args: dict = field(default_factory=dict)  # URL argument -> strategy name
    last: bool = False  # ends something the other routes of its group use: run after them


F = auth_forms
FUZZ: dict[str, Fuzz] = {
    "main.switch_language": Fuzz("anonymous", (F.LanguageForm,), {"next": "text"}),
    "auth.register": Fuzz("anonymous", (F.RegisterForm,)),
    "auth.finish_registration": Fuzz("anonymous", (F.FinishRegistrationForm,), ids={"token": "registration"}),
    "auth.login": Fuzz("anonymous", (F.LoginForm,)),
    "auth.logout": Fuzz("outsider", last=True),
    "auth.change_password": Fuzz("outsider", (F.PasswordForm,)),
    "auth.settings": Fuzz("outsider", (F.NotificationsForm,)),
    "auth.request_reset": Fuzz("anonymous", (F.ResetRequestForm,)),
    "auth.reset_password": Fuzz("anonymous", (F.ResetForm,)),
    "clubs.create_club": Fuzz("outsider", (clubs_forms.ClubForm,)),
    "clubs.join": Fuzz("outsider", (clubs_forms.JoinForm,)),
    "clubs.admit": Fuzz("manager", ids={"membership_id": "pending"}),
    "clubs.decline": Fuzz("manager", ids={"membership_id": "pending"}, last=True),
    "clubs.appoint": Fuzz("manager", (clubs_forms.RoleForm,), ids={"membership_id": "other"}),
    "clubs.leave": Fuzz("member", last=True),
    "clubs.activate": Fuzz("manager"),
    "clubs.edit_charter": Fuzz("manager", (clubs_forms.CharterForm,)),
    "clubs.time_zone": Fuzz("manager", (clubs_forms.TimeZoneForm,)),
    "clubs.invitations": Fuzz("manager", (clubs_forms.InviteForm,)),
    "clubs.revoke_invitation": Fuzz("manager", last=True),
    "fund.my_savings": Fuzz("member", (fund_forms.PledgeForm,)),
    "fund.record_contribution": Fuzz("treasurer", (fund_forms.ContributionForm,)),
    "fund.reverse_contribution": Fuzz("treasurer", (fund_forms.ReverseForm,), last=True),
    "fund.import_contributions": Fuzz("treasurer", (fund_forms.ImportForm,)),
    "fund.confirm_import": Fuzz("treasurer", (fund_forms.ConfirmImportForm,), {"payload": "import_payload"}),
    "fund.month_sheet": Fuzz("treasurer", (fund_forms.MonthForm,), {"amounts": "month_amounts"}),
    "fund.refund": Fuzz("treasurer", (fund_forms.AmountForm,), ids={"membership_id": "leaver"}),
    "fund.hand_over": Fuzz("treasurer", (fund_forms.HandOverForm,), ids={"membership_id": "leaver"}),
    "fund.value_exit": Fuzz("treasurer", (fund_forms.OneTimeButton,), ids={"membership_id": "leaver"}),
    "fund.withdraw": Fuzz("treasurer", (fund_forms.AmountForm,), ids={"membership_id": "other"}),
    "fund.distribute": Fuzz("treasurer", (fund_forms.AmountForm,), ids={"membership_id": "other"}),
    "fund.close": Fuzz("treasurer"),
    "fund.approve_payout": Fuzz("manager"),
    "fund.cancel_payout": Fuzz("treasurer", (investments_forms.CancelPaymentForm,), last=True),
    "regions.add_coordinator": Fuzz("coordinator", (regions_forms.CoordinatorForm,)),
    "regions.stop_sharing": Fuzz("manager", last=True),
    "projects.propose": Fuzz("member", (projects_forms.ProjectForm,)),
    "projects.edit_project": Fuzz("member", (projects_forms.ProjectForm,)),
    "projects.present": Fuzz("member"),
    "projects.withdraw": Fuzz("member", last=True),
    "projects.declare_link": Fuzz("member", (projects_forms.LinkForm,)),
    "ballots.open_ballot": Fuzz("manager", (ballots_forms.BallotForm,), args={"kind": "kind"}),
    "ballots.propose_amendment": Fuzz("manager", (ballots_forms.CharterBallotForm,)),
    "ballots.vote": Fuzz("member", extra={"choice": "vote", "reason": "text", "proxy_for": "proxy_for"}),
    "ballots.give_proxy": Fuzz("member", (ballots_forms.ProxyForm,)),
    "ballots.withdraw_proxy": Fuzz("member"),
    "ballots.close": Fuzz("manager"),
    "ballots.cancel": Fuzz("manager", (ballots_forms.CancelForm,), last=True),
    # The world's meeting is at hand: opened by the fuzzing of open_meeting, then its attendance is fuzzed in
    # session; cancelling it (refused in session) and closing it come last.
    "meetings.convene": Fuzz("manager", (meetings_forms.ConveneForm,)),
    "meetings.add_item": Fuzz("manager", (meetings_forms.AgendaItemForm,), args={"kind": "kind"}),
    "meetings.propose_amendment": Fuzz("manager", (meetings_forms.CharterItemForm,)),
    "meetings.prefill": Fuzz("manager", (meetings_forms.PrefillForm,)),
    "meetings.give_proxy": Fuzz("member", (meetings_forms.MeetingProxyForm,)),
    "meetings.withdraw_proxy": Fuzz("member"),
    "meetings.open_meeting": Fuzz("manager", (meetings_forms.OpenMeetingForm,)),
    "meetings.record_attendance": Fuzz("manager", extra={"m{member}-presence": "presence",
                                                         "m{member}-holder_id": "holder"}),
    "meetings.close_item": Fuzz("manager", ids={"ballot_id": "meeting_item"}),
    "meetings.write_minutes": Fuzz("secretary", (meetings_forms.MinutesForm,)),
    "meetings.sign_minutes": Fuzz("secretary"),
    "meetings.cancel": Fuzz("manager", (meetings_forms.CancelMeetingForm,), last=True),
    "meetings.close_meeting": Fuzz("manager", last=True),
    "investments.record": Fuzz("treasurer", (investments_forms.InvestmentForm,), ids={"project_id": "approved_project"}),
    "investments.enter_payment": Fuzz("treasurer", (investments_forms.PaymentForm,)),
    "investments.approve": Fuzz("manager"),
    "investments.cancel": Fuzz("treasurer", (investments_forms.CancelPaymentForm,), last=True),
    "investments.loan_terms": Fuzz("treasurer", (investments_forms.LoanTermsForm,)),
    "investments.repayment": Fuzz("treasurer", (investments_forms.RepaymentForm,)),
    "investments.investment_return": Fuzz("treasurer", (investments_forms.ReturnForm,)),
    "investments.sale": Fuzz("treasurer", (investments_forms.SaleForm,)),
    "investments.write_off": Fuzz("treasurer", (investments_forms.WriteOffForm,), last=True),
    "investments.note": Fuzz("member", (investments_forms.NoteForm,)),
    "investments.revalue": Fuzz("treasurer", (investments_forms.RevaluationForm,)),
    "investments.approve_revaluation": Fuzz("manager"),
    "investments.cancel_revaluation": Fuzz("treasurer", (investments_forms.CancelPaymentForm,), last=True),
    "timebank.privacy": Fuzz("member", (timebank_forms.PrivacyForm,)),
    "timebank.publish": Fuzz("member", (timebank_forms.ListingForm,)),
    "timebank.edit_listing": Fuzz("member", (timebank_forms.ListingForm,)),
    "timebank.listing_status": Fuzz("member", (timebank_forms.StatusForm,), last=True),
    "timebank.answer": Fuzz("secretary", (timebank_forms.AnswerForm,)),
    "timebank.record": Fuzz("member", (timebank_forms.ExchangeForm,)),
    "timebank.complete": Fuzz("member", (timebank_forms.CompleteForm,)),
    "timebank.confirm": Fuzz("member", last=True),
    "timebank.dispute": Fuzz("member", (timebank_forms.DisputeForm,)),
    "timebank.withdraw": Fuzz("member"),
    "timebank.settle": Fuzz("manager", (timebank_forms.SettleForm,)),
    "timebank.limits": Fuzz("manager", (timebank_forms.LimitsForm,), ids={"membership_id": "member"}),
    "books.close_period": Fuzz("treasurer", (books_forms.ClosePeriodForm,)),
    "books.reopen_year": Fuzz("treasurer", (books_forms.ReopenYearForm,)),
    "books.close_year": Fuzz("treasurer", (books_forms.CloseYearForm,), last=True),
    "books.assert_balance": Fuzz("treasurer", (books_forms.AssertionForm,)),
    "books.resolve_assertion": Fuzz("treasurer", (books_forms.ResolveForm,)),
    "books.bank_upload": Fuzz("treasurer", (books_forms.BankFileForm,)),
    "books.bank_columns": Fuzz("treasurer", (books_forms.BankColumnsForm,), {"payload": "bank_payload", "step": "step"}),
    "books.bank_auto_match": Fuzz("treasurer", (books_forms.WindowForm,)),
    "books.bank_match": Fuzz("treasurer", (books_forms.MatchForm,)),
    "books.bank_unmatch": Fuzz("treasurer"),
    "books.bank_fee": Fuzz("treasurer", (books_forms.FeeForm,), last=True),
    "books.bank_contribution": Fuzz("treasurer", (books_forms.LineContributionForm,), last=True),
    "books.bank_refund": Fuzz("treasurer", (books_forms.RefundLineForm,), last=True),
    "books.bank_reconcile": Fuzz("treasurer", (books_forms.ReconcileForm,)),
    "transfers.sell": Fuzz("member", (transfers_forms.SaleForm,)),
    "transfers.heirs": Fuzz("treasurer", (transfers_forms.HeirsForm,)),
    "transfers.claim": Fuzz("member"),
    "transfers.withdraw_claim": Fuzz("member"),
    "transfers.settle": Fuzz("manager"),
    # Personal access tokens: a member makes theirs; the world's token is theirs to revoke (once, then 409).
    "tokens.token_list": Fuzz("member", (tokens_forms.TokenForm,)),
    "tokens.revoke": Fuzz("member", last=True),
    "transfers.withdraw": Fuzz("member", last=True),
    # Partner clubs: the manager's forms, and the member asked to confirm the world's exchange across clubs.
    "partners.propose": Fuzz("manager", (partners_forms.ProposeForm,)),
    "partners.put_to_vote": Fuzz("manager", (partners_forms.PutToVoteForm,)),
    "partners.suspend": Fuzz("manager"),
    "partners.resume": Fuzz("manager"),
    "partners.record": Fuzz("member", (partners_forms.CrossExchangeForm,)),
    "partners.decline": Fuzz("member", (partners_forms.DeclineForm,), last=True),
    "partners.confirm": Fuzz("member", last=True),
    "partners.withdraw": Fuzz("member"),
    "books.fec_chart": Fuzz("treasurer", extra={"number-bank": "pcg_number", "label-bank": "pcg_label",
                                                "number-capital:*": "pcg_number", "label-capital:*": "pcg_label"}),
}


def fields_of(form_class) -> dict[str, UnboundField]:
    return {name: value for cls in reversed(form_class.__mro__) for name, value in vars(cls).items()
            if isinstance(value, UnboundField)}


def choices_of(unbound: UnboundField) -> list[str]:
    found = unbound.kwargs.get("choices") or (unbound.args[1] if len(unbound.args) > 1 else None) or []
    return [str(getattr(c, "value", c[0] if isinstance(c, tuple) else c)) for c in found]


@dataclass
class Place:
    """The world as the fuzzing sees it: its ids, its browsers and what the strategies draw from."""

    ids: dict
    browsers: dict
    app: object
    backend: str
    files: list = field(default_factory=list)  # CSV files a treasurer would send

    def known_ids(self) -> list[str]:
        return [str(v) for v in self.ids.values() if isinstance(v, int)]

    def sealed(self, salt: str, data: bytes) -> str:
        """A payload sealed by the app's own code for the treasurer and this club."""
        user = db.session.get(User, self.ids["treasurer_user"])
        with self.app.test_request_context():
            login_user(user)
            return sealed.seal(salt, self.ids["club_id"], data)


def hostile(unbound: UnboundField, place: Place) -> st.SearchStrategy:
    kind = unbound.field_class
    listed = st.sampled_from([*choices_of(unbound), *place.known_ids(), "0"])
    if issubclass(kind, FileField):
        return cells(["member", "amount", "date", "Date", "Libellé", "Montant", "montant", *place.ids["emails"]])
    if issubclass(kind, SelectMultipleField):
        return st.lists(st.one_of(listed, INTEGER_TEXT, TEXT), max_size=4)
    if issubclass(kind, (SelectField, RadioField)):
        return st.one_of(listed, INTEGER_TEXT, TEXT)
    if issubclass(kind, BooleanField):
        return st.one_of(TICK, TEXT)
    if issubclass(kind, DateTimeLocalField):
        return st.one_of(MOMENT, TEXT)
    if issubclass(kind, DateField):
        return st.one_of(DAY, TEXT)
    if issubclass(kind, (IntegerField, MoneyField)) or kind.__name__ == "StakeField":
        return st.one_of(NUMBER, TEXT)
    return st.one_of(TEXT, NUMBER)


def plausible(name: str, unbound: UnboundField, place: Place, page: dict) -> st.SearchStrategy:
    kind = unbound.field_class
    if issubclass(kind, FileField):
        return st.sampled_from(place.files)
    values = [page[name]] if page.get(name) else []
    values += PLAUSIBLE.get(name, [])
    if issubclass(kind, (SelectField, RadioField)):
        values += choices_of(unbound) or [str(i) for i in place.ids["active"]]
    elif issubclass(kind, BooleanField):
        values += ["y", ""]
    elif issubclass(kind, DateTimeLocalField):
        values += [SOON]
    elif issubclass(kind, DateField):
        values += DAYS
    elif not values:
        values = ["Un texte", "12"]
    if issubclass(kind, SelectMultipleField):
        return st.lists(st.sampled_from([*values, *place.known_ids()]), max_size=3, unique=True)
    return st.sampled_from(values)


def named_strategy(name: str, place: Place) -> tuple[st.SearchStrategy, st.SearchStrategy]:
    """(plausible, hostile) for a field made at run time, or a URL argument."""
    if name == "text":
        return st.sampled_from(["", "Une raison."]), TEXT
    if name == "kind":
        return st.sampled_from(sorted(FORM_KINDS)), st.one_of(st.sampled_from(["charter", "x", "FUNDING"]), TEXT)
    if name == "vote":
        return st.sampled_from(["1", "0", "-1"]), st.one_of(st.sampled_from(["2", "99"]), INTEGER_TEXT, TEXT)
    if name == "proxy_for":
        return st.sampled_from(["", *map(str, place.ids["active"])]), st.one_of(INTEGER_TEXT, TEXT)
    if name == "presence":
        return st.sampled_from(["present", "absent", "represented"]), st.one_of(st.sampled_from(["", "x"]), TEXT)
    if name == "holder":
        return st.sampled_from(["", *map(str, place.ids["active"])]), st.one_of(INTEGER_TEXT, TEXT)
    if name == "pcg_number":
        return st.sampled_from(["512000", "512100", "455100", "101300", "612000", "51"]), st.one_of(INTEGER_TEXT, TEXT)
    if name == "pcg_label":
        return st.sampled_from(["Banque", "Crédit Coopératif", "Associés - Comptes courants", ""]), TEXT
    if name == "step":
        return st.sampled_from(["upload", "preview"]), st.one_of(st.just(""), TEXT)
    if name in ("import_payload", "bank_payload"):
        salt = fund_views.SALT if name == "import_payload" else books_views.BANK_SALT
        headers = (["member", "amount", "date", "method", "reference", *place.ids["emails"]] if name == "import_payload"
                   else ["Date", "Libellé", "Montant", "Débit", "Crédit"])
        return (st.sampled_from(place.files).map(lambda data: place.sealed(salt, data)),
                st.one_of(cells(headers).map(lambda data: place.sealed(salt, data)), TEXT))
    raise AssertionError(name)


def body_strategy(spec: Fuzz, place: Place, page: dict) -> st.SearchStrategy:
    """Every field mostly plausible, and one or two of them (most examples) hostile or left out: the hostile
    value then reaches the service behind a form that otherwise passes."""
    fields: dict[str, tuple] = {}
    for form_class in spec.forms:
        for name, unbound in fields_of(form_class).items():
            if name != "form_key":
                fields[name] = (plausible(name, unbound, place, page), hostile(unbound, place))
    for name, strategy_name in spec.extra.items():
        if strategy_name == "month_amounts":
            for membership_id in place.ids["active"]:
                fields[f"amount_{membership_id}"] = (st.sampled_from(["30,00", "", "7,50"]), st.one_of(NUMBER, TEXT))
        else:  # "{member}": the form's prefix names the member of the URL (an attendance line)
            fields[name.replace("{member}", str(place.ids["membership_id"]))] = named_strategy(strategy_name, place)
    # The one-time key: fresh (a new form), spent (a replay) or hostile.
    fields["form_key"] = (st.uuids().map(lambda u: u.hex), st.one_of(st.just("replayed-key"), TEXT))
    names = sorted(fields)

    @st.composite
    def body(draw):
        sent = {name: draw(mostly(*fields[name])) for name in names}
        for name in draw(st.lists(st.sampled_from(names), max_size=2, unique=True)):
            sent[name] = draw(st.one_of(fields[name][1], st.none()))
        return sent

    return body()


def send(place: Place, spec: Fuzz, url: str, body: dict):
    if spec.role == "anonymous":  # a visitor of their own each time: a registration logs its browser in
        browser = Browser(place.app.test_client())
        token = hidden_fields(browser.get("/").text)["csrf_token"]
    else:  # a fresh token: a password change or a logout starts a new session
        browser = place.browsers[spec.role]
        token = hidden_fields(browser.get("/").text).get("csrf_token", "")
    data = {"csrf_token": token}
    for name, value in body.items():
        if value is None:
            continue
        if isinstance(value, bytes):
            data[name] = (io.BytesIO(value), "fichier.csv")
        else:
            data[name] = value
    return browser.client.post(url, data=data)


def shown(body: dict) -> str:
    """The input, readable in a report (long values cut)."""
    def cut(value):
        text = repr(value)
        return text if len(text) < 160 else f"{text[:150]}… ({len(value)} long)"

    return "{" + ", ".join(f"{k!r}: {cut(v)}" for k, v in body.items() if v is not None) + "}"


def fuzz(place: Place, endpoint: str, rule) -> None:
    spec = FUZZ[endpoint]
    args = {name: mostly(*named_strategy(spec.args[name], place)).filter(lambda v: v is not None)
            if name in spec.args else st.just(place.ids[spec.ids.get(name, name)]) for name in rule.arguments}

    page = {}
    if "GET" in rule.methods and spec.role != "anonymous":
        url = rule.build({name: place.ids[spec.ids.get(name, name)] for name in rule.arguments
                          if name not in spec.args} | ({"kind": "funding"} if "kind" in spec.args else {}),
                         append_unknown=False)[1]
        shown_page = place.browsers[spec.role].get(url)
        if shown_page.status_code == 200 and '<main id="main">' in shown_page.text:
            page = form_values(shown_page.text)

    @settings(max_examples=EXAMPLES, deadline=None, database=None, report_multiple_bugs=False,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(values=st.fixed_dictionaries(args), body=body_strategy(spec, place, page))
    def post(values, body):
        url = rule.build(values, append_unknown=False)[1]
        response = send(place, spec, url, body)
        assert response.status_code < 500, f"{endpoint}: POST {url} {shown(body)} answered {response.status_code}"

    post()


# --- The world ------------------------------------------------------------------------------------------------------


@pytest.fixture
def place(app, backend, make_user, make_club, make_browser, monkeypatch):
    world = build_world(make_user, make_club, make_browser, monkeypatch)
    c = world.ids["club_id"]
    active = db.session.scalars(select(Membership).where(Membership.club_id == c, Membership.status == MemberStatus.ACTIVE)
                                .order_by(Membership.id)).all()
    ids = {**world.ids, "active": [m.id for m in active], "emails": [m.user.email for m in active],
           "treasurer_user": next(m.user_id for m in active if m.role == "treasurer")}
    day = TODAY.strftime("%d/%m/%Y")
    files = [f"member;amount;date\n{ids['emails'][-1]};30,00;{day}\n".encode(),
             f"Date;Libellé;Montant\n{day};VIR COTISATION;30,00\n{day};FRAIS;-2,50\n".encode()]
    db.session.rollback()
    return Place(ids, world.browsers, app, backend, files)


def post_rules(app) -> dict:
    """The forms' routes: the JSON API takes no form and is fuzzed with JSON in tests/api/test_fuzz_api.py."""
    return {rule.endpoint: rule for rule in app.url_map.iter_rules()
            if "POST" in rule.methods and not rule.rule.startswith("/api/")}


GROUPS = sorted({endpoint.split(".")[0] for endpoint in FUZZ})


def described(err: BaseException) -> list[str]:
    """A failure's first lines: Hypothesis wraps a failure it could not replay (the world moved on) in a group."""
    if isinstance(err, BaseExceptionGroup):
        return [line for inner in err.exceptions for line in described(inner)]
    return [f"{type(err).__name__}: {(str(err).splitlines() or [''])[0]}"]


def invariants() -> list:
    db.session.rollback()
    return (ledger.check() + fund.check_contributions() + ballots.check() + meetings.check() + investments.check()
            + timebank.check() + transfers.check() + partners.check())


# --- Tests ----------------------------------------------------------------------------------------------------------


def test_every_post_route_is_fuzzed(app):
    routes = post_rules(app)
    assert len(routes) > 60
    assert sorted(set(routes) - set(FUZZ)) == [], "POST routes nobody fuzzes: add them to FUZZ"
    assert sorted(set(FUZZ) - set(routes)) == [], "FUZZ names routes that no longer take POST"
    for endpoint, spec in FUZZ.items():
        assert set(spec.ids) | set(spec.args) <= routes[endpoint].arguments, endpoint


@pytest.mark.parametrize("group", GROUPS)
def test_no_form_answers_a_server_error_whatever_it_is_sent(app, place, group):
    routes = post_rules(app)
    endpoints = sorted((e for e in FUZZ if e.split(".")[0] == group), key=lambda e: (FUZZ[e].last, e))
    failures = []
    for endpoint in endpoints:
        try:
            fuzz(place, endpoint, routes[endpoint])
        except Exception as err:  # noqa: BLE001 - every route of the group is fuzzed; failures reported together
            failures.extend(described(err))
    assert failures == []
    assert invariants() == []


# --- Numbers past PostgreSQL's integer never reach a query -----------------------------------------------------------
#
# Ids outside 1..2**31-1 name nothing (services.validate.is_id): on PostgreSQL such a number in a query would fail
# with "integer out of range" (a 500). Each request is sent a few times: psycopg prepares a statement after a few
# runs, with the type of the values it saw.

BIG = ["2147483648", "99999999999", "-99999999999"]


def big_answers(browser, send) -> list[int]:
    return [send(browser, value).status_code for value in BIG * 3]


def test_a_proxy_given_to_a_member_number_past_the_integer_range_is_refused(request, backend, place):
    url = f"/clubs/{place.ids['club_id']}/ballots/{place.ids['ballot_id']}/proxy"
    before = snapshot()

    def send(browser, value):
        return browser.client.post(url, data={"csrf_token": hidden_fields(browser.get("/").text)["csrf_token"],
                                              "holder_id": value})

    assert big_answers(place.browsers["member"], send) == [400] * 9  # "This member does not vote on this ballot."
    assert snapshot() == before


def test_a_vote_for_a_proxy_giver_number_past_the_integer_range_is_refused(request, backend, place):
    url = f"/clubs/{place.ids['club_id']}/ballots/{place.ids['ballot_id']}"
    before = snapshot()

    def send(browser, value):
        return browser.client.post(url, data={"csrf_token": hidden_fields(browser.get("/").text)["csrf_token"],
                                              "proxy_for": value, f"for{value}-choice": "1"})

    answers = big_answers(place.browsers["member"], send)
    # Refused: a negative number is not a member number (400); a number past the ids names no member (404).
    assert answers == [404, 404, 400] * 3
    assert snapshot() == before


def test_a_time_statement_of_a_member_number_past_the_integer_range_is_not_found(request, backend, place):
    base = f"/clubs/{place.ids['club_id']}/time/statement"

    def send(browser, value):
        return browser.get(f"{base}?member={value}" if int(value) > 0 else f"{base}.csv?member={value[1:]}")

    assert big_answers(place.browsers["manager"], send) == [404] * 9


def test_the_audit_log_filtered_past_the_integer_range_is_refused_or_empty(request, backend, place):
    base = f"/clubs/{place.ids['club_id']}/audit"

    def send(browser, value):
        return browser.get(f"{base}?object_id={value}" if int(value) > 0 else f"{base}?before={value[1:]}")

    answers = big_answers(place.browsers["secretary"], send)
    assert 500 not in answers
    assert all(status in (200, 400) for status in answers)
