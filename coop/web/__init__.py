"""Blueprints, error pages, template helpers and response headers."""
from __future__ import annotations

from decimal import Decimal

from flask import Flask, abort, flash, g, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, SecurityError
from werkzeug.routing import BaseConverter, ValidationError

from .. import amounts, labels
from ..api import problems
from ..explain import ballot_name, meeting_name
from ..extensions import db
from ..services.errors import CoopError
from ..services.validate import MAX_ID
from .handling import locale_name, moment


class IdConverter(BaseConverter):
    """A database id: 1 to 2³¹−1, so a huge number is a 404, not a database error."""

    regex = r"[1-9][0-9]{0,9}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValidationError()
        return number

    def to_url(self, value) -> str:
        return str(int(value))


def register_web(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter

    # The blueprints import this package's helper modules: they are loaded once the package is.
    from . import (
        auth,
        ballots,
        books,
        clubs,
        fund,
        investments,
        main,
        meetings,
        partners,
        projects,
        regions,
        timebank,
        tokens,
        transfers,
    )

    for area in (main, auth, clubs, fund, transfers, projects, ballots, meetings, investments, timebank, partners,
                 books, tokens, regions):
        app.register_blueprint(area.bp)

    _register_errors(app)
    _register_templates(app)

    @app.before_request
    def refuse_nul_characters():
        """No text field of any form takes a NUL character (PostgreSQL cannot store one)."""
        for values in (request.args, request.form):
            for name, value in values.items(multi=True):
                if "\x00" in name or "\x00" in value:
                    abort(400)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if current_user.is_authenticated:
            headers.setdefault("Cache-Control", "no-store")
        return response


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CoopError)
    def refused(err: CoopError):
        db.session.rollback()
        if problems.is_api_request():
            return problems.from_refusal(err)
        flash(str(err.message), "error")
        return render_template("errors/refused.html", error=err, status=err.status_code), err.status_code

    @app.errorhandler(CSRFError)
    def csrf_error(err: CSRFError):
        db.session.rollback()
        message = _("This form has expired or was not sent from Entraide. Reload the page and try again.")
        return render_template("errors/http.html", status=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        db.session.rollback()
        if problems.is_api_request():
            return problems.from_http_error(err)
        if isinstance(err, SecurityError):  # a host not in TRUSTED_HOSTS: no page links can be built for it
            return _("The request could not be understood."), 400, {"Content-Type": "text/plain; charset=utf-8"}
        messages = {
            400: _("The request could not be understood."),
            403: _("You may not do this."),
            404: _("This page does not exist, or is not yours to see."),
            405: _("This address does not accept this kind of request."),
            413: _("What you sent is too large."),
            429: _("Too many attempts. Wait a moment and try again."),
        }
        status = err.code or 500
        message = messages.get(status, err.description)
        return render_template("errors/http.html", status=status, message=message), status

    @app.errorhandler(Exception)
    def crashed(err: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error")
        if problems.is_api_request():
            return problems.problem(500)
        return render_template("errors/http.html", status=500,
                               message=_("Something went wrong on our side. Nothing was saved.")), 500


def _register_templates(app: Flask) -> None:
    @app.template_filter("money")
    def money_filter(cents: int, currency: str) -> str:
        return amounts.money(cents, currency, locale_name())

    @app.template_filter("duration")
    def duration_filter(minutes: int) -> str:
        return amounts.duration(minutes)

    @app.template_filter("amount_input")
    def amount_input_filter(cents: int) -> str:
        return amounts.decimal_text(cents, locale_name())

    @app.template_filter("percent")
    def percent_filter(value) -> str:
        return amounts.percent(value, locale_name())

    @app.template_filter("month")
    def month_filter(value) -> str:
        from flask_babel import format_date

        return format_date(value, "MMMM y") if value else ""

    @app.template_filter("datetime")
    def datetime_filter(value, zone: str | None = None) -> str:
        """Stored in UTC, shown on the clock of the page's club (or of ``zone``: a mail, a list of several
        clubs), with the zone's name."""
        return moment(value, zone) if value else ""

    @app.template_filter("date")
    def date_filter(value) -> str:
        from flask_babel import format_date

        return format_date(value, "medium") if value else ""

    def units_text(millionths: int) -> str:
        """Valuation units, kept in millionths, with their six decimals in the reader's locale."""
        from flask_babel import format_decimal

        return format_decimal(Decimal(millionths) / 1_000_000, format="#,##0.000000")

    @app.context_processor
    def inject():
        return {
            "current_locale": locale_name(),
            "club": g.get("club"),
            "membership": g.get("membership"),
            "keeps_money": g.get("keeps_money", False),
            "role_label": lambda value: str(labels.ROLES.get(value, value)),
            "status_label": lambda value: str(labels.CLUB_STATUSES.get(value, value)),
            "threshold_label": lambda value: str(labels.THRESHOLDS.get(value, value)),
            "account_type_label": lambda value: str(labels.ACCOUNT_TYPES.get(value, value)),
            "rhythm_label": lambda value: str(labels.RHYTHMS.get(value, value)),
            "share_method_label": lambda value: str(labels.SHARE_METHODS.get(value, value)),
            "units": units_text,
            "method_label": lambda value: str(labels.METHODS.get(value, value)),
            "labels": labels,
            "account_name": labels.account_name,
            "ballot_name": ballot_name,
            "meeting_name": meeting_name,
        }
