"""What every form shares: CSRF (Flask-WTF), a one-time key against replays,
and fields for amounts typed the French or the English way."""
from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import ValidationError

from ..amounts import AmountError, decimal_text, parse_money
from ..services.errors import InvalidInput
from ..services.validate import check_day, form_key


class OneTimeForm(FlaskForm):
    """A form that creates something carries a key that can be spent once."""

    form_key = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent_key = self.form_key.data if self.is_submitted() else None
        if not self.form_key.data:  # a form to show (also the other forms of a page shown again after a post)
            self.form_key.data = uuid.uuid4().hex

    def validate(self, extra_validators=None) -> bool:
        """A form sent without its key is refused, not posted under the fresh key it is shown again with (8
        identical posts would post 8 times). The services check the key too: the same function."""
        valid = super().validate(extra_validators)
        try:
            form_key(self.sent_key)
        except InvalidInput as refusal:
            self.form_errors.append(str(refusal.message))
            return False
        return valid


def in_window(form, field) -> None:
    """A date field's validator: the window of dates every service accepts (validate.check_day), with its
    message next to the field."""
    if field.data is None:
        return
    try:
        check_day(field.data, field.name)
    except InvalidInput as refusal:
        raise ValidationError(str(refusal.message)) from None


class MoneyField(StringField):
    """Text such as ``1 234,56`` or ``1,234.56`` in, integer cents out."""

    def __init__(self, label=None, validators=None, *, locale: str = "fr", allow_negative: bool = False, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.cents: int | None = None
        self.allow_negative = allow_negative

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.cents = None
        if not self.data:
            return
        if len(self.data) > 32:
            raise ValueError(_l("This amount is too long."))
        try:
            self.cents = parse_money(self.data, allow_negative=self.allow_negative)
        except AmountError as exc:
            messages = {
                "negative": _l("The amount cannot be negative."),
                "too large": _l("This amount is too large."),
                "ambiguous": _l("Write thousands with a space, such as 12 345 or 12 345,00."),
            }
            raise ValueError(messages.get(str(exc), _l("Enter an amount such as 12,50 or 1 234,56."))) from None

    def set_cents(self, cents: int, locale: str) -> None:
        self.cents = cents
        self.data = decimal_text(cents, locale)


class StakeField(StringField):
    """A percentage with up to two decimals (``12,5``), in hundredths of a percent."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.hundredths = None
        text = (self.data or "").replace("%", "").strip()
        if not text:
            return
        if len(text) > 12:
            raise ValueError(_l("Enter a percentage such as 12,5."))
        try:
            self.hundredths = parse_money(text)
        except AmountError:
            raise ValueError(_l("Enter a percentage such as 12,5.")) from None
