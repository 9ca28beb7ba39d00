from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..services.fund import REFERENCE_MAX
from .base import MoneyField, OneTimeForm, StakeField, in_window

RHYTHM_CHOICES = [
    SelectChoice("monthly", _l("every month")),
    SelectChoice("quarterly", _l("every quarter (three months at once)")),
    SelectChoice("yearly", _l("every year (twelve months at once)")),
]
METHOD_CHOICES = [
    SelectChoice("transfer", _l("bank transfer")),
    SelectChoice("cheque", _l("cheque")),
    SelectChoice("cash", _l("cash")),
]


class PledgeForm(FlaskForm):
    monthly_amount = MoneyField(_l("Amount a month"), validators=[DataRequired()])
    rhythm = SelectField(_l("I pay"), choices=RHYTHM_CHOICES, default="monthly")


class ContributionForm(OneTimeForm):
    membership_id = SelectField(_l("Member"), coerce=int, validators=[InputRequired()])
    amount = MoneyField(_l("Amount received"), validators=[DataRequired()])
    received_on = DateField(_l("Received on"), validators=[InputRequired(), in_window])
    method = SelectField(_l("Method"), choices=METHOD_CHOICES, default="transfer")
    bank_reference = StringField(_l("Bank reference"), validators=[Optional(), Length(max=REFERENCE_MAX)])


class ReverseForm(OneTimeForm):
    reason = StringField(_l("Why is it reversed?"), validators=[DataRequired(), Length(max=300)])


class MonthForm(OneTimeForm):
    """The month sheet; one amount field per member is added at run time (``amount_<membership id>``)."""

    received_on = DateField(_l("Received on"), validators=[InputRequired(), in_window])
    method = SelectField(_l("Method"), choices=METHOD_CHOICES, default="transfer")


def month_form_class(member_ids: list[int]) -> type[MonthForm]:
    fields = {f"amount_{mid}": MoneyField(_l("Amount"), validators=[Optional()]) for mid in member_ids}
    return type("MonthSheetForm", (MonthForm,), fields)


class OneTimeButton(OneTimeForm):
    """A button that writes once however often it is pressed (its form key)."""


class AmountForm(OneTimeForm):
    amount = MoneyField(_l("Amount"), validators=[DataRequired()])


class HandOverForm(OneTimeForm):
    """Shares of an enterprise handed over to a leaver; the page lists the shares the club holds, the service
    checks the choice (another club's investment is not found)."""

    investment_id = SelectField(_l("Shares of"), coerce=int, choices=[], validate_choice=False,
                                validators=[InputRequired()])
    stake = StakeField(_l("Stake handed over, in percent of the enterprise"), validators=[InputRequired()])


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a file."))])


class ConfirmImportForm(FlaskForm):
    payload = HiddenField(validators=[DataRequired()])
