from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from ..clock import COMMON_ZONES, all_zones
from ..services.clubs import TEXT_MAX
from .base import MoneyField, OneTimeForm

COUNTRY_CHOICES = [
    SelectChoice("FR", _l("France")),
    SelectChoice("CA", _l("Canada (Québec)")),
    SelectChoice("BE", _l("Belgium")),
    SelectChoice("CH", _l("Switzerland")),
    SelectChoice("LU", _l("Luxembourg")),
]
CURRENCY_CHOICES = [SelectChoice("EUR", _l("Euro (EUR)")), SelectChoice("CAD", _l("Canadian dollar (CAD)"))]
THRESHOLD_CHOICES = [
    SelectChoice("majority", _l("Majority of votes cast")),
    SelectChoice("two_thirds", _l("Two thirds of votes cast")),
    SelectChoice("unanimity", _l("Unanimity")),
]
SHARE_METHOD_CHOICES = [
    SelectChoice("pro_rata", _l("Pro rata to contributions (the usual Cigales rule)")),
    SelectChoice("units", _l("Valuation units (the investment-club method)")),
]
ROLE_CHOICES = [
    SelectChoice("member", _l("Member")),
    SelectChoice("treasurer", _l("Treasurer")),
    SelectChoice("secretary", _l("Secretary")),
    SelectChoice("manager", _l("Manager")),
]


def zone_choices(*, usual: bool = False) -> dict:
    """The time zones as a list grouped in two, the usual ones of clubs first, then every other; ``usual``
    adds a first choice that leaves the zone to the currency (Paris for euros, Montréal for dollars)."""
    first = [SelectChoice("", _l("The currency's: Europe/Paris for EUR, America/Montreal for CAD"))] if usual else []
    first += [SelectChoice(name, name.replace("_", " ")) for name in COMMON_ZONES]
    others = [SelectChoice(name, name.replace("_", " ")) for name in all_zones()[len(COMMON_ZONES):]]
    return {str(_l("Usual time zones")): first, str(_l("Every time zone")): others}


class ClubForm(OneTimeForm):
    name = StringField(_l("Club name"), validators=[DataRequired(), Length(max=TEXT_MAX)])
    town = StringField(_l("Town"), validators=[DataRequired(), Length(max=TEXT_MAX)])
    country = SelectField(_l("Country"), choices=COUNTRY_CHOICES, default="FR")
    currency = SelectField(_l("Currency"), choices=CURRENCY_CHOICES, default="EUR")
    time_zone = SelectField(_l("Time zone"), default="")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone.choices = zone_choices(usual=True)


class TimeZoneForm(FlaskForm):
    """The manager sets the club's time zone."""

    time_zone = SelectField(_l("Time zone"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone.choices = zone_choices()


class JoinForm(FlaskForm):
    code = StringField(_l("Invitation code"), validators=[DataRequired(), Length(max=40)])


class InviteForm(OneTimeForm):
    """A button that makes a new invitation code."""


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


def _whole(label, low, high):
    return IntegerField(label, validators=[InputRequired(), NumberRange(min=low, max=high)])


class CharterForm(FlaskForm):
    """The charter's settings as people think of them: euros, hours, percents.

    Bounds here only keep input sane; the service checks the charter's rules."""

    min_members = _whole(_l("Fewest members (R1)"), 1, 100)
    max_members = _whole(_l("Most members (R1)"), 1, 100)
    officer_term_months = _whole(_l("Officers' term, in months (R3)"), 1, 120)
    min_monthly_contribution = MoneyField(_l("Smallest monthly contribution (R4)"), validators=[DataRequired()])
    max_yearly_contribution = MoneyField(_l("Largest yearly contribution per member (R4)"), validators=[DataRequired()])
    term_years = _whole(_l("Club term, in years (R5)"), 1, 99)
    max_renewals = _whole(_l("Renewals allowed (R5)"), 0, 9)
    quorum_percent = _whole(_l("Quorum, in percent of eligible members (R6)"), 0, 100)
    threshold_investment = SelectField(_l("Investing in a project (R7)"), choices=THRESHOLD_CHOICES)
    threshold_membership = SelectField(_l("Admitting or excluding a member (R7)"), choices=THRESHOLD_CHOICES)
    threshold_officers = SelectField(_l("Electing officers (R7)"), choices=THRESHOLD_CHOICES)
    threshold_charter = SelectField(_l("Amending the charter (R7)"), choices=THRESHOLD_CHOICES)
    threshold_stake_sale = SelectField(_l("Selling a stake (R7)"), choices=THRESHOLD_CHOICES)
    threshold_renewal = SelectField(_l("Renewing the term (R7)"), choices=THRESHOLD_CHOICES)
    threshold_dissolution = SelectField(_l("Dissolving the club (R7)"), choices=THRESHOLD_CHOICES)
    max_proxies_per_holder = _whole(_l("Proxies one member may hold (R9)"), 0, 20)
    project_cap_percent = _whole(_l("Largest share of the fund in one project, in percent (R10)"), 0, 100)
    minority_stake_percent = _whole(_l("Largest stake in an enterprise, in percent (R10)"), 0, 100)
    time_floor_hours = _whole(_l("Time credit floor, in hours (R12)"), -1000, 1000)
    time_ceiling_hours = _whole(_l("Time credit ceiling, in hours (R12)"), -1000, 1000)
    time_warning_percent = _whole(_l("Warning threshold, in percent of a limit (R12)"), 0, 100)
    exchange_needs_confirmation = BooleanField(_l("The member who received a service confirms it (R12)"))
    exchange_expiry_days = _whole(_l("Days before an unconfirmed exchange expires (R12)"), 0, 10_000)
    manager_records_money = BooleanField(_l("The manager may record money too, not only the treasurer"))
    meeting_notice_days = _whole(_l("Notice of a general meeting, in days (R14)"), 0, 365)
    meeting_quorum_percent = _whole(_l("Quorum of a general meeting, in percent of active members (R14)"), 0, 100)
    result_by_days = BooleanField(_l("At the year end, share the result by paid-in capital × days held "
                                     "(otherwise by paid-in capital on 31 December)"))
    share_method = SelectField(_l("How members' shares of the net assets are valued (R13)"),
                               choices=SHARE_METHOD_CHOICES)
    exit_notice_days = _whole(_l("Notice before a leaver's share is valued, in days (R13)"), 0, 10_000)
    exit_pay_months = _whole(_l("Months the club has to pay a leaver's share (R13)"), 0, 1_000)
    partial_withdrawals = BooleanField(_l("Members may take part of their share out while they stay (R13)"))
    exit_at_meeting = BooleanField(_l("A leaver's share is valued at the first general meeting held once the "
                                      "notice has run (R13)"))
    exit_in_kind = BooleanField(_l("When cash is short, a leaver may be paid with shares the club holds in an "
                                   "enterprise, at their value recorded (R13)"))

    MONEY = ("min_monthly_contribution", "max_yearly_contribution")
    HOURS = {"time_floor_hours": "time_floor_minutes", "time_ceiling_hours": "time_ceiling_minutes"}

    def fill(self, values: dict, locale: str) -> None:
        """Show a charter's values (cents, minutes) in the form's units."""
        for name, field in self._fields.items():
            if name in self.MONEY:
                field.set_cents(values[name], locale)
            elif name in self.HOURS:
                field.data = values[self.HOURS[name]] // 60
            elif name in values:
                field.data = values[name]

    def values(self) -> dict:
        """The charter's values (cents, minutes) from the form."""
        out = {}
        for name, field in self._fields.items():
            if name in ("csrf_token",):
                continue
            if name in self.MONEY:
                out[name] = field.cents
            elif name in self.HOURS:
                out[self.HOURS[name]] = field.data * 60
            else:
                out[name] = field.data
        return out

    def field_for(self, charter_field: str) -> str:
        """The form field that shows a charter setting, to put a refusal next to it."""
        reverse = {v: k for k, v in self.HOURS.items()}
        return reverse.get(charter_field, charter_field)
