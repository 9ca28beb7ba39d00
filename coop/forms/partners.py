"""Forms for trading time with partner clubs. The service checks every rule again."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, DateTimeLocalField, IntegerField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from ..services.partners import MAX_LIMIT, REASON_MAX
from .base import OneTimeForm, in_window
from .timebank import DurationMixin


class ProposeForm(OneTimeForm):
    partner_club_id = IntegerField(_l("The other club's number"), validators=[InputRequired(), NumberRange(1)])
    limit_hours = IntegerField(_l("Most hours either club may owe the other"), default=20,
                               validators=[InputRequired(), NumberRange(1, MAX_LIMIT // 60)])


class PutToVoteForm(OneTimeForm):
    closes_at = DateTimeLocalField(_l("Voting closes on"), validators=[InputRequired()],
                                   format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])


class CrossExchangeForm(DurationMixin, OneTimeForm):
    direction = RadioField(_l("I…"), choices=[SelectChoice("given", _l("gave this service")),
                                              SelectChoice("received", _l("received this service"))],
                           validators=[InputRequired()])
    partner_member_id = SelectField(_l("The member of the other club"), coerce=int, validators=[InputRequired()])
    done_on = DateField(_l("Date of the service"), validators=[InputRequired(), in_window])
    description = StringField(_l("What was done"), validators=[DataRequired(), Length(max=500)])


class DeclineForm(OneTimeForm):
    reason = StringField(_l("What is wrong with it?"), validators=[DataRequired(), Length(max=REASON_MAX)])
