"""Forms of the time bank (R12). The service checks every rule again."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .. import labels
from ..services.timebank import DESCRIPTION_MAX, MAX_QUERY
from .base import OneTimeForm, in_window


def _choices(mapping: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in mapping.items()]


class ListingForm(OneTimeForm):
    kind = RadioField(_l("I…"), choices=[SelectChoice("offer", _l("offer a service")),
                                         SelectChoice("request", _l("ask for a service"))],
                      default="offer", validators=[InputRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    category = SelectField(_l("Category"), choices=_choices(labels.CATEGORIES), validators=[InputRequired()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=DESCRIPTION_MAX)])
    availability = StringField(_l("Availability"), validators=[Optional(), Length(max=200)])
    expires_on = DateField(_l("For a request: stands until"), validators=[Optional(), in_window])
    partners_see = BooleanField(_l("Show it to the members of partner clubs too"))

    def values(self) -> dict:
        return {"kind": self.kind.data, "title": self.title.data, "category": self.category.data,
                "description": self.description.data or "", "availability": self.availability.data or "",
                "expires_on": self.expires_on.data if self.kind.data == "request" else None,
                "partners_see": bool(self.partners_see.data)}


class AnswerForm(OneTimeForm):
    """A button that starts an exchange: its one-time key stops a double click from answering twice."""


class SearchForm(FlaskForm):
    """Read from the query string: no CSRF for a search."""

    class Meta:
        csrf = False

    q = StringField(_l("Words"), validators=[Optional(), Length(max=MAX_QUERY)])
    category = SelectField(_l("Category"), choices=[SelectChoice("", _l("All categories"))] + _choices(labels.CATEGORIES),
                           validators=[Optional()])
    kind = SelectField(_l("Show"), choices=[SelectChoice("", _l("Offers and requests")), SelectChoice("offer", _l("Offers only")),
                                            SelectChoice("request", _l("Requests only"))], validators=[Optional()])


class StatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=[SelectChoice("active", _l("open")), SelectChoice("paused", _l("paused")),
                                                SelectChoice("closed", _l("closed"))], validators=[InputRequired()])


class DurationMixin:
    hours = IntegerField(_l("Hours"), validators=[InputRequired(), NumberRange(0, 24)])
    minutes = IntegerField(_l("Minutes"), default=0, validators=[InputRequired(), NumberRange(0, 59)])

    @property
    def total_minutes(self) -> int:
        return (self.hours.data or 0) * 60 + (self.minutes.data or 0)


class ExchangeForm(DurationMixin, OneTimeForm):
    direction = RadioField(_l("I…"), choices=[SelectChoice("given", _l("gave this service")),
                                              SelectChoice("received", _l("received this service"))],
                           validators=[InputRequired()])
    other_id = SelectField(_l("The other member"), coerce=int, validators=[InputRequired()])
    done_on = DateField(_l("Date of the service"), validators=[InputRequired(), in_window])
    description = StringField(_l("What was done"), validators=[DataRequired(), Length(max=500)])


class CompleteForm(DurationMixin, FlaskForm):
    done_on = DateField(_l("Date of the service"), validators=[InputRequired(), in_window])
    description = StringField(_l("What was done"), validators=[DataRequired(), Length(max=500)])


class DisputeForm(FlaskForm):
    reason = StringField(_l("What is wrong with it?"), validators=[DataRequired(), Length(max=500)])


class SettleForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=[SelectChoice("cancel", _l("Cancel it (never posted)")),
                                                   SelectChoice("reverse", _l("Reverse it (undo the posting)")),
                                                   SelectChoice("keep", _l("Keep it as recorded"))],
                          validators=[InputRequired()])
    reason = StringField(_l("Reason, for both members and the log"), validators=[DataRequired(), Length(max=500)])


class LimitsForm(FlaskForm):
    floor = IntegerField(_l("Floor, in hours (zero or below)"), validators=[InputRequired(), NumberRange(-100, 0)])
    ceiling = IntegerField(_l("Ceiling, in hours"), validators=[InputRequired(), NumberRange(0, 400)])
    reason = StringField(_l("Why this member has limits of their own"),
                         validators=[DataRequired(), Length(max=300)])


class PrivacyForm(FlaskForm):
    hidden = BooleanField(_l("Hide my time balance from other members (officers still see it)"))
