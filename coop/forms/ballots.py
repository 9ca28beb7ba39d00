"""Forms for ballots: opening one, a charter amendment put to the vote, voting, proxies, cancelling.
Choices come from the services; the services check every rule again."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..services import tally
from .base import OneTimeForm
from .clubs import CharterForm

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


class BallotForm(OneTimeForm):
    """Opening a ballot; which subject fields show depends on its kind."""

    title = StringField(_l("Title (optional)"), validators=[Optional(), Length(max=200)])
    details = TextAreaField(_l("Details for members (optional)"), validators=[Optional(), Length(max=4000)])
    method = SelectField(_l("Voting method"))
    closes_at = DateTimeLocalField(_l("Voting closes on"), validators=[InputRequired()],
                                   format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
    secret = BooleanField(_l("Secret ballot"))
    project_ids = SelectMultipleField(_l("Projects"), coerce=int)
    membership_id = SelectField(_l("Member concerned"), coerce=int)
    investment_id = SelectField(_l("Shares to sell"), coerce=int)
    role = SelectField(_l("Office"), choices=OFFICES)
    candidate_ids = SelectMultipleField(_l("Candidates"), coerce=int)
    transfer_id = SelectField(_l("Share passing on"), coerce=int)
    region_id = SelectField(_l("Regional association"), coerce=int)


class CharterBallotForm(CharterForm, OneTimeForm):
    """An amendment put to the vote: the charter as it would read, and when the vote closes."""

    details = TextAreaField(_l("Why this change (optional)"), validators=[Optional(), Length(max=4000)])
    closes_at = DateTimeLocalField(_l("Voting closes on"), validators=[InputRequired()],
                                   format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])

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
