"""Forms for general meetings: convening one, its agenda, proxies, opening it, attendance, the minutes.
Choices come from the services; the services check every rule again."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..services.meetings import DETAILS_MAX, LINK_MAX, MINUTES_MAX, PLACE_MAX, TITLE_MAX
from .ballots import BallotForm
from .base import OneTimeForm
from .clubs import CharterForm

KINDS = [
    SelectChoice("ordinary", _l("Ordinary general meeting")),
    SelectChoice("extraordinary", _l("Extraordinary general meeting")),
]
PRESENCE = [
    SelectChoice("present", _l("Present")),
    SelectChoice("represented", _l("Represented by")),
    SelectChoice("absent", _l("Absent")),
]


def _maybe_id(value):
    """A chosen member's number, or None for the empty choice."""
    if value in (None, ""):
        return None
    return int(value)


class ConveneForm(OneTimeForm):
    kind = SelectField(_l("Kind of meeting"), choices=KINDS, default="ordinary")
    scheduled_at = DateTimeLocalField(_l("Date and time"), validators=[InputRequired()],
                                      format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=PLACE_MAX)])
    video_link = StringField(_l("Video link"), validators=[Optional(), Length(max=LINK_MAX)])
    title = StringField(_l("Title (optional)"), validators=[Optional(), Length(max=TITLE_MAX)])
    details = TextAreaField(_l("Words for the convocation (optional)"),
                            validators=[Optional(), Length(max=DETAILS_MAX)])
    prefill = BooleanField(_l("Put the yearly agenda on it: the last closed year's accounts and the elections due"),
                           default=True)
    report = TextAreaField(_l("Treasurer's report (optional)"), validators=[Optional(), Length(max=DETAILS_MAX)])


class AgendaItemForm(BallotForm):
    """An item of the agenda: a ballot of any kind, voted at the meeting (no deadline to choose)."""

    closes_at = None
    year = SelectField(_l("Year"), coerce=int)
    details = TextAreaField(_l("Details for members (optional)"), validators=[Optional(), Length(max=DETAILS_MAX)])


class CharterItemForm(CharterForm, OneTimeForm):
    """A charter amendment on an extraordinary meeting's agenda: the charter as it would read."""

    details = TextAreaField(_l("Why this change (optional)"), validators=[Optional(), Length(max=DETAILS_MAX)])

    def values(self) -> dict:
        values = super().values()
        for name in ("details", "form_key"):
            values.pop(name, None)
        return values


class PrefillForm(OneTimeForm):
    report = TextAreaField(_l("Treasurer's report (optional)"), validators=[Optional(), Length(max=DETAILS_MAX)])


class MeetingProxyForm(FlaskForm):
    holder_id = SelectField(_l("Give my proxy for the meeting to"), coerce=int, validators=[InputRequired()])


class OpenMeetingForm(FlaskForm):
    chair_id = SelectField(_l("Chair"), coerce=_maybe_id, validators=[Optional()])
    secretary_id = SelectField(_l("Secretary of the meeting"), coerce=_maybe_id, validators=[Optional()])


class AttendanceForm(FlaskForm):
    presence = SelectField(_l("Attendance"), choices=PRESENCE)
    holder_id = SelectField(_l("Proxy held by"), coerce=_maybe_id, validators=[Optional()])


class CancelMeetingForm(FlaskForm):
    reason = StringField(_l("Why is the meeting cancelled?"), validators=[DataRequired(), Length(max=300)])


class MinutesForm(FlaskForm):
    text = TextAreaField(_l("The secretary's text"), validators=[Optional(), Length(max=MINUTES_MAX)])
