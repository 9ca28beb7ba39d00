"""Forms of the treasurer's books: filters and export options, read from the query string."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional

from ..web import labels


class QueryForm(FlaskForm):
    """A form read from the query string: nothing is written, so no CSRF token."""

    class Meta:
        csrf = False


class JournalFilterForm(QueryForm):
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    kind = SelectField(_l("Kind"), validators=[Optional()])
    unit = SelectField(_l("Unit"), choices=[("", _l("Money and time")), ("money", _l("Money")),
                                            ("time", _l("Time"))], validators=[Optional()])
    member = SelectField(_l("Member"), coerce=lambda v: int(v) if v not in (None, "") else None,
                         validators=[Optional()])
    account = SelectField(_l("Account"), coerce=lambda v: int(v) if v not in (None, "") else None,
                          validators=[Optional()])
    text = StringField(_l("Words in the description"), validators=[Optional(), Length(max=100)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [("", _l("All kinds"))] + list(labels.TRANSACTION_KINDS.items())


class DayForm(QueryForm):
    on = DateField(_l("On"), validators=[Optional()])


class PeriodForm(QueryForm):
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])


class ExportForm(QueryForm):
    sep = SelectField(_l("Separator"), choices=[("", _l("As my language")), ("comma", _l("comma ( , )")),
                                                ("semicolon", _l("semicolon ( ; )"))], validators=[Optional()])
    decimal = SelectField(_l("Decimals"), choices=[("", _l("As my language")), ("point", _l("point: 1234.56")),
                                                   ("comma", _l("comma: 1234,56"))], validators=[Optional()])


class PageForm(QueryForm):
    limit = IntegerField(_l("Lines a page"), validators=[Optional(), NumberRange(1, 500)])
