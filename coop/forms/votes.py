"""Forms for projects and ballots. Choices come from the services; the
services check every rule again."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..amounts import AmountError, parse_money
from ..models.base import utcnow
from ..services import tally
from ..services.projects import DESCRIPTION_MAX
from .base import MoneyField, OneTimeForm
from .clubs import CharterForm

LEGAL_FORMS = [
    SelectChoice("sarl", _l("SARL (limited company)")),
    SelectChoice("sas", _l("SAS (simplified joint-stock company)")),
    SelectChoice("sa", _l("SA (public limited company)")),
    SelectChoice("scop", _l("SCOP (workers' cooperative)")),
    SelectChoice("scic", _l("SCIC (multi-stakeholder cooperative)")),
    SelectChoice("association", _l("Association")),
    SelectChoice("sole_trader", _l("Sole trader")),
    SelectChoice("quebec_coop", _l("Québec cooperative")),
    SelectChoice("obnl", _l("OBNL (Québec non-profit)")),
    SelectChoice("other", _l("Other")),
]
INSTRUMENTS = [
    SelectChoice("equity", _l("Equity shares")),
    SelectChoice("current_account", _l("Shareholder current-account loan")),
    SelectChoice("loan", _l("Loan")),
    SelectChoice("returnable", _l("Returnable contribution")),
]
OFFICES = [
    SelectChoice("manager", _l("Manager")),
    SelectChoice("treasurer", _l("Treasurer")),
    SelectChoice("secretary", _l("Secretary")),
]
GRADES = [
    SelectChoice(str(int(tally.Grade.EXCELLENT)), _l("Excellent")),
    SelectChoice(str(int(tally.Grade.VERY_GOOD)), _l("Very good")),
    SelectChoice(str(int(tally.Grade.GOOD)), _l("Good")),
    SelectChoice(str(int(tally.Grade.FAIR)), _l("Fair")),
    SelectChoice(str(int(tally.Grade.POOR)), _l("Poor")),
    SelectChoice(str(int(tally.Grade.TO_REJECT)), _l("To reject")),
]
YES_NO = [
    SelectChoice(str(tally.YES), _l("Yes")),
    SelectChoice(str(tally.NO), _l("No")),
    SelectChoice(str(tally.ABSTAIN), _l("Abstain")),
]
CONSENT = [
    SelectChoice(str(tally.YES), _l("I consent")),
    SelectChoice(str(tally.ABSTAIN), _l("I stand aside")),
    SelectChoice(str(tally.NO), _l("I object (give your reason)")),
]


class StakeField(StringField):
    """A percentage with up to two decimals (``12,5``), in hundredths of a percent."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.hundredths = None
        text = (self.data or "").replace("%", "").strip()
        if not text:
            return
        if len(text) > 12:
            raise ValueError(_l("Enter a percentage such as 12,5."))
        try:
            self.hundredths = parse_money(text)
        except AmountError:
            raise ValueError(_l("Enter a percentage such as 12,5.")) from None


class ProjectForm(OneTimeForm):
    name = StringField(_l("Name of the enterprise"), validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(_l("What it does and what the money is for"),
                                validators=[DataRequired(), Length(max=DESCRIPTION_MAX)])
    town = StringField(_l("Town"), validators=[DataRequired(), Length(max=120)])
    legal_form = SelectField(_l("Legal form"), choices=LEGAL_FORMS)
    instrument = SelectField(_l("How the club would invest"), choices=INSTRUMENTS, default="equity")
    amount_requested = MoneyField(_l("Amount requested"), validators=[DataRequired()])
    stake = StakeField(_l("Stake offered, in percent (shares only)"), validators=[Optional()])
    holder_name = StringField(_l("Project holder"), validators=[DataRequired(), Length(max=120)])
    holder_contact = StringField(_l("Holder's contact (email or phone)"), validators=[DataRequired(), Length(max=200)])

    def values(self) -> dict:
        return {"name": self.name.data, "description": self.description.data, "town": self.town.data,
                "legal_form": self.legal_form.data, "instrument": self.instrument.data,
                "amount_requested": self.amount_requested.cents, "stake_hundredths": self.stake.hundredths,
                "holder_name": self.holder_name.data, "holder_contact": self.holder_contact.data}

    @staticmethod
    def field_for(name: str) -> str:
        return "stake" if name == "stake_hundredths" else name


class LinkForm(FlaskForm):
    nature = StringField(_l("Your link to this project"), validators=[DataRequired(), Length(max=200)])


def default_deadline() -> datetime:
    """A week from now, on the hour, in the server's time (UTC)."""
    soon = utcnow() + timedelta(days=7)
    return soon.replace(minute=0, second=0, microsecond=0)


class BallotForm(OneTimeForm):
    """Opening a ballot; which subject fields show depends on its kind."""

    title = StringField(_l("Title (optional)"), validators=[Optional(), Length(max=200)])
    details = TextAreaField(_l("Details for members (optional)"), validators=[Optional(), Length(max=4000)])
    method = SelectField(_l("Voting method"))
    closes_at = DateTimeLocalField(_l("Voting closes on (UTC)"), validators=[InputRequired()],
                                   format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], default=default_deadline)
    secret = BooleanField(_l("Secret ballot"))
    project_ids = SelectMultipleField(_l("Projects"), coerce=int)
    membership_id = SelectField(_l("Member concerned"), coerce=int)
    investment_id = SelectField(_l("Shares to sell"), coerce=int)
    role = SelectField(_l("Office"), choices=OFFICES)
    candidate_ids = SelectMultipleField(_l("Candidates"), coerce=int)


class CharterBallotForm(CharterForm, OneTimeForm):
    """An amendment put to the vote: the charter as it would read, and when the vote closes."""

    details = TextAreaField(_l("Why this change (optional)"), validators=[Optional(), Length(max=4000)])
    closes_at = DateTimeLocalField(_l("Voting closes on (UTC)"), validators=[InputRequired()],
                                   format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], default=default_deadline)

    def values(self) -> dict:
        values = super().values()
        for name in ("details", "closes_at", "form_key"):
            values.pop(name, None)
        return values


def vote_form_class(method: str, option_ids: list[int]) -> type[FlaskForm]:
    """The vote form for one ballot: a question, a grade per option, or a box per option."""
    fields: dict = {}
    if method in ("yes_no", "consent"):
        fields["choice"] = RadioField(_l("Your vote"), choices=YES_NO if method == "yes_no" else CONSENT,
                                      validators=[InputRequired(_l("Make your choice."))])
        if method == "consent":
            fields["reason"] = StringField(_l("Reason for your objection"), validators=[Optional(), Length(max=500)])
    elif method == "judgment":
        for option_id in option_ids:
            fields[f"grade_{option_id}"] = RadioField(_l("Your grade"), choices=GRADES,
                                                      validators=[InputRequired(_l("Grade every option."))])
    else:
        for option_id in option_ids:
            fields[f"approve_{option_id}"] = BooleanField(_l("I approve"))
    return type("VoteForm", (FlaskForm,), fields)


def choices_of(form: FlaskForm, method: str, option_ids: list[int]) -> tuple[dict[int, int], str | None]:
    """The form's answers as the service takes them: {option id: value}, and the reason."""
    if method in ("yes_no", "consent"):
        reason = form.reason.data if method == "consent" else None
        return {option_ids[0]: int(form.choice.data)}, reason
    if method == "judgment":
        return {o: int(form[f"grade_{o}"].data) for o in option_ids}, None
    return {o: tally.APPROVED if form[f"approve_{o}"].data else tally.NOT_APPROVED for o in option_ids}, None


def proxy_prefix(giver_id: int | None) -> str:
    """Field names of the form a proxy holder fills for one giver, so several forms share a page."""
    return f"for{giver_id}-" if giver_id else ""


class ProxyForm(FlaskForm):
    holder_id = SelectField(_l("Give my proxy to"), coerce=int, validators=[InputRequired()])


class CancelForm(FlaskForm):
    reason = StringField(_l("Why is the ballot cancelled?"), validators=[DataRequired(), Length(max=300)])


class InvestmentForm(OneTimeForm):
    mentor_id = SelectField(_l("Mentor (parrain or marraine)"), coerce=int, validators=[InputRequired()])
    second_mentor_id = SelectField(_l("Second mentor (optional)"), coerce=int, default=0)


class PaymentForm(OneTimeForm):
    amount = MoneyField(_l("Amount paid out"), validators=[DataRequired()])
    paid_on = DateField(_l("Transfer date"), validators=[InputRequired()])
    bank_reference = StringField(_l("Bank reference"), validators=[Optional(), Length(max=80)])


class CancelPaymentForm(FlaskForm):
    reason = StringField(_l("Why is it cancelled?"), validators=[DataRequired(), Length(max=300)])


class LoanTermsForm(FlaskForm):
    rate = StakeField(_l("Yearly interest rate, in percent"), validators=[InputRequired()])
    term_periods = IntegerField(_l("Number of instalments"), validators=[InputRequired(), NumberRange(1, 240)])
    frequency = SelectField(_l("Instalments"), choices=[SelectChoice("monthly", _l("every month")),
                                                        SelectChoice("quarterly", _l("every quarter"))])
    first_due_on = DateField(_l("First instalment due on"), validators=[InputRequired()])


class RepaymentForm(OneTimeForm):
    principal = MoneyField(_l("Principal repaid"), validators=[Optional()])
    interest = MoneyField(_l("Interest"), validators=[Optional()])
    received_on = DateField(_l("Received on"), validators=[InputRequired()])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=200)])


class ReturnForm(OneTimeForm):
    amount = MoneyField(_l("Dividends or interest received"), validators=[DataRequired()])
    received_on = DateField(_l("Received on"), validators=[InputRequired()])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=200)])


class SaleForm(OneTimeForm):
    stake = StakeField(_l("Stake sold, in percent of the enterprise"), validators=[InputRequired()])
    price = MoneyField(_l("Price received"), validators=[InputRequired()])
    received_on = DateField(_l("Received on"), validators=[InputRequired()])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=200)])


class WriteOffForm(OneTimeForm):
    reason = StringField(_l("Why is it lost?"), validators=[DataRequired(), Length(max=300)])
    on = DateField(_l("Date"), validators=[InputRequired()])


class NoteForm(FlaskForm):
    text = TextAreaField(_l("News of the enterprise"), validators=[DataRequired(), Length(max=4000)])
    written_on = DateField(_l("Date"), validators=[InputRequired()])
