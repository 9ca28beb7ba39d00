"""Forms of a regional association: a coordinator names another one. Shape only; the service checks the rest."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import DataRequired, Email, Length

from ..services.auth import EMAIL_MAX


class CoordinatorForm(FlaskForm):
    email = EmailField(_l("Email of the new coordinator"), validators=[DataRequired(), Length(max=EMAIL_MAX), Email()])
