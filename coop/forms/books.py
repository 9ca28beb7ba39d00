"""Forms of the treasurer's books: filters and export options, read from the query string."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .. import labels
from .base import MoneyField, OneTimeForm, in_window


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class QueryForm(FlaskForm):
    """A form read from the query string: nothing is written, so no CSRF token."""

    class Meta:
        csrf = False


class JournalFilterForm(QueryForm):
    start = DateField(_l("From"), validators=[Optional(), in_window])
    end = DateField(_l("To"), validators=[Optional(), in_window])
    kind = SelectField(_l("Kind"), validators=[Optional()])
    unit = SelectField(_l("Unit"), choices=[SelectChoice("", _l("Money and time")), SelectChoice("money", _l("Money")),
                                            SelectChoice("time", _l("Time"))], validators=[Optional()])
    member = SelectField(_l("Member"), coerce=lambda v: int(v) if v not in (None, "") else None,
                         validators=[Optional()])
    account = SelectField(_l("Account"), coerce=lambda v: int(v) if v not in (None, "") else None,
                          validators=[Optional()])
    text = StringField(_l("Words in the description"), validators=[Optional(), Length(max=100)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice("", _l("All kinds"))] + [
            SelectChoice(value, label) for value, label in labels.TRANSACTION_KINDS.items()]


class DayForm(QueryForm):
    on = DateField(_l("On"), validators=[Optional(), in_window])


class PeriodForm(QueryForm):
    start = DateField(_l("From"), validators=[Optional(), in_window])
    end = DateField(_l("To"), validators=[Optional(), in_window])


class ExportForm(QueryForm):
    sep = SelectField(_l("Separator"), choices=[SelectChoice("", _l("As my language")), SelectChoice("comma", _l("comma ( , )")),
                                                SelectChoice("semicolon", _l("semicolon ( ; )"))], validators=[Optional()])
    decimal = SelectField(_l("Decimals"), choices=[SelectChoice("", _l("As my language")),
                                                   SelectChoice("point", _l("point: 1234.56")),
                                                   SelectChoice("comma", _l("comma: 1234,56"))], validators=[Optional()])


class PageForm(QueryForm):
    limit = IntegerField(_l("Lines a page"), validators=[Optional(), NumberRange(1, 500)])


class ClosePeriodForm(FlaskForm):
    through = DateField(_l("Close the books through (the last day of a month)"), validators=[InputRequired(), in_window])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=300)])


class AssertionForm(FlaskForm):
    stated_on = DateField(_l("Day of the bank statement"), validators=[InputRequired(), in_window])
    amount = MoneyField(_l("Balance the statement shows"), allow_negative=True, validators=[InputRequired()])
    source = StringField(_l("Statement (optional)"), validators=[Optional(), Length(max=200)])


class ResolveForm(FlaskForm):
    note = StringField(_l("Why the books and the bank differ"), validators=[DataRequired(), Length(max=300)])


class BankFileForm(FlaskForm):
    file = FileField(_l("The bank's statement, as a CSV file"), validators=[FileRequired(_l("Choose a file."))])


class BankColumnsForm(FlaskForm):
    """How to read the file: a bank's layout, or the columns chosen by hand (the choices are set by the view)."""

    payload = HiddenField(validators=[DataRequired()])
    filename = HiddenField()
    layout = SelectField(_l("Layout of the file"), validators=[InputRequired()])
    no_header = BooleanField(_l("The file has no line of column names: choose the columns by position"))
    date = SelectField(_l("Date column"), coerce=_optional_int, validators=[Optional()])
    label = SelectField(_l("Label column"), coerce=_optional_int, validators=[Optional()])
    amount = SelectField(_l("Amount column (signed)"), coerce=_optional_int, validators=[Optional()])
    debit = SelectField(_l("Or: money-out column"), coerce=_optional_int, validators=[Optional()])
    credit = SelectField(_l("and money-in column"), coerce=_optional_int, validators=[Optional()])
    balance = SelectField(_l("Balance column (optional)"), coerce=_optional_int, validators=[Optional()])
    date_style = SelectField(_l("Dates are written"), default="dmy", choices=[SelectChoice("dmy", _l("day first: 31/01/2026")),
                                                               SelectChoice("mdy", _l("month first: 01/31/2026")),
                                                               SelectChoice("ymd", _l("year first: 2026-01-31"))])
    decimal = SelectField(_l("Amounts are written"), default="comma", choices=[SelectChoice("comma", _l("1 234,56 (comma)")),
                                                              SelectChoice("point", _l("1,234.56 (point)"))])
    window_days = IntegerField(_l("Match dates up to this many days apart"), default=3,
                               validators=[InputRequired(), NumberRange(0, 15)])


class WindowForm(FlaskForm):
    window_days = IntegerField(_l("Days apart at most"), default=3, validators=[InputRequired(), NumberRange(0, 15)])


class MatchForm(FlaskForm):
    transaction_id = IntegerField(_l("Transaction"), validators=[InputRequired(), NumberRange(1, 2**53)])
    #: sent by the button that answers "these dates are far apart: match all the same?"
    confirm = BooleanField(_l("Match all the same"), default=False)


class FeeForm(OneTimeForm):
    memo = StringField(_l("Description"), default=lambda: str(_l("Bank fees")), validators=[DataRequired(), Length(max=200)])


class LineContributionForm(FlaskForm):
    membership_id = SelectField(_l("From member"), coerce=int, validators=[InputRequired()])


class RefundLineForm(FlaskForm):
    """A money-out bank line confirmed as the refund of an overpayment: the contribution it gives back."""

    contribution_id = IntegerField(_l("Contribution"), validators=[InputRequired(), NumberRange(1, 2**53)])


class ReconcileForm(FlaskForm):
    through = DateField(_l("Reconciled through"), validators=[InputRequired(), in_window])
    explanation = StringField(_l("What explains a difference between the bank and the books"),
                              validators=[Optional(), Length(max=300)])


class AuditFilterForm(QueryForm):
    member = SelectField(_l("Person"), coerce=lambda v: int(v) if v not in (None, "") else None,
                         validators=[Optional()])
    object_type = SelectField(_l("Object"), validators=[Optional()])
    object_id = IntegerField(_l("Number"), validators=[Optional(), NumberRange(1, 2**53)])
    start = DateField(_l("From"), validators=[Optional(), in_window])
    end = DateField(_l("To"), validators=[Optional(), in_window])


class CloseYearForm(OneTimeForm):
    confirm = BooleanField(_l("I have checked the year's figures: share its result into members' capital and close "
                              "the books through 31 December"),
                           validators=[DataRequired(_l("Tick the box to confirm the year end."))])


class ReopenYearForm(OneTimeForm):
    reason = StringField(_l("Why the year is reopened"), validators=[DataRequired(), Length(max=300)])


class StatementMemberForm(QueryForm):
    member = IntegerField(_l("Member"), validators=[Optional(), NumberRange(min=1, max=2**31 - 1)])


class FecForm(QueryForm):
    """The FEC export: a fiscal year, the club's SIREN, the separator between fields."""

    year = IntegerField(_l("Fiscal year (1 January to 31 December)"), validators=[InputRequired()])
    siren = StringField(_l("The club's SIREN (nine digits)"), validators=[InputRequired(), Length(max=20)])
    sep = SelectField(_l("Between fields"), default="tab",
                      choices=[SelectChoice("tab", _l("a tab (most accounting software)")),
                               SelectChoice("pipe", _l("a vertical bar ( | )"))])
