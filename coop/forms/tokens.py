"""A member's personal access token for the JSON API."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from .base import OneTimeForm, in_window


class TokenForm(OneTimeForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    scope = RadioField(_l("It may"), choices=[SelectChoice("read", _l("read only")),
                                            SelectChoice("write", _l("read and write"))],
                       default="read", validators=[InputRequired()])
    expires_on = DateField(_l("Stops working after"), validators=[Optional(), in_window])
