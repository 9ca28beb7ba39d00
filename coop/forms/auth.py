from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..services.auth import EMAIL_MAX, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN

LANGUAGE_CHOICES = [SelectChoice("fr", "Français"), SelectChoice("en", "English")]


class RegisterForm(FlaskForm):
    """The first step: the address, to which the link that finishes the registration is mailed."""

    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=EMAIL_MAX), Email()])


class FinishRegistrationForm(FlaskForm):
    """The second step, from the link in the mail."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)]
    )
    confirm = PasswordField(
        _l("Password again"), validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))]
    )
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="fr")


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=EMAIL_MAX)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)])
    remember = BooleanField(_l("Stay signed in on this device"))


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)])
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)]
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))],
    )


class LanguageForm(FlaskForm):
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)


class EmptyForm(FlaskForm):
    """A button: CSRF only."""


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=EMAIL_MAX)])


class ResetForm(FlaskForm):
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)]
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))],
    )


class NotificationsForm(FlaskForm):
    notify_ballots = BooleanField(_l("A vote opens in one of my clubs"))
    notify_exchanges = BooleanField(_l("A member says they gave me a service, to confirm"))
    notify_contributions = BooleanField(_l("The treasurer records a contribution of mine"))
