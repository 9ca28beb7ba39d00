"""Forms for investments: recording one, its payments, loan terms, repayments, returns, sales, write-offs,
revaluations and news. The services check every rule again."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .base import MoneyField, OneTimeForm, StakeField, in_window


class InvestmentForm(OneTimeForm):
    mentor_id = SelectField(_l("Mentor (parrain or marraine)"), coerce=int, validators=[InputRequired()])
    second_mentor_id = SelectField(_l("Second mentor (optional)"), coerce=int, default=0)


class PaymentForm(OneTimeForm):
    amount = MoneyField(_l("Amount paid out"), validators=[DataRequired()])
    paid_on = DateField(_l("Transfer date"), validators=[InputRequired(), in_window])
    bank_reference = StringField(_l("Bank reference"), validators=[Optional(), Length(max=80)])


class CancelPaymentForm(FlaskForm):
    reason = StringField(_l("Why is it cancelled?"), validators=[DataRequired(), Length(max=300)])


class LoanTermsForm(FlaskForm):
    rate = StakeField(_l("Yearly interest rate, in percent"), validators=[InputRequired()])
    term_periods = IntegerField(_l("Number of instalments"), validators=[InputRequired(), NumberRange(1, 240)])
    frequency = SelectField(_l("Instalments"), choices=[SelectChoice("monthly", _l("every month")),
                                                        SelectChoice("quarterly", _l("every quarter"))])
    first_due_on = DateField(_l("First instalment due on"), validators=[InputRequired(), in_window])


class RepaymentForm(OneTimeForm):
    principal = MoneyField(_l("Principal repaid"), validators=[Optional()])
    interest = MoneyField(_l("Interest"), validators=[Optional()])
    received_on = DateField(_l("Received on"), validators=[InputRequired(), in_window])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=200)])


class ReturnForm(OneTimeForm):
    amount = MoneyField(_l("Dividends or interest received"), validators=[DataRequired()])
    received_on = DateField(_l("Received on"), validators=[InputRequired(), in_window])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=200)])


class SaleForm(OneTimeForm):
    stake = StakeField(_l("Stake sold, in percent of the enterprise"), validators=[InputRequired()])
    price = MoneyField(_l("Price received"), validators=[InputRequired()])
    received_on = DateField(_l("Received on"), validators=[InputRequired(), in_window])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=200)])


class WriteOffForm(OneTimeForm):
    reason = StringField(_l("Why is it lost?"), validators=[DataRequired(), Length(max=300)])
    on = DateField(_l("Date"), validators=[InputRequired(), in_window])


class RevaluationForm(OneTimeForm):
    new_value = MoneyField(_l("New value of the investment"), validators=[InputRequired()])
    valued_on = DateField(_l("Valued on"), validators=[InputRequired(), in_window])
    reason = StringField(_l("Why this value? (accounts, a recent offer, an impairment…)"),
                         validators=[DataRequired(), Length(max=300)])


class NoteForm(FlaskForm):
    text = TextAreaField(_l("News of the enterprise"), validators=[DataRequired(), Length(max=4000)])
    written_on = DateField(_l("Date"), validators=[InputRequired(), in_window])
