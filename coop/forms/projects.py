"""Forms for projects: proposing and editing one, declaring a link to it. The services check every rule
again."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from ..services.projects import DESCRIPTION_MAX
from .base import MoneyField, OneTimeForm, StakeField

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
