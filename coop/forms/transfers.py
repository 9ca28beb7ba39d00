"""Forms for a member's share passing on: sold by the member, or to a deceased member's heirs. Choices come from
the services; the services check every rule again."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.validators import DataRequired, InputRequired

from .base import MoneyField, OneTimeForm


class SaleForm(OneTimeForm):
    """A member sells their own share."""

    to_membership_id = SelectField(_l("Buyer"), coerce=int, validators=[InputRequired()])
    price = MoneyField(_l("Price the buyer pays you"), validators=[DataRequired()])


class HeirsForm(OneTimeForm):
    """An officer records that a member's share passes to their heirs."""

    from_membership_id = SelectField(_l("Member who died"), coerce=int, validators=[InputRequired()])
    to_membership_id = SelectField(_l("Heir"), coerce=int, validators=[InputRequired()])
