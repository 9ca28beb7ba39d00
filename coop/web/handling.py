"""What the views share: a blueprint of members-only pages, entering a club, the page's language, and the
glue between a form and one service call."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TypeVar

from babel import dates
from flask import Blueprint, abort, current_app, flash, g, render_template
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from .. import clock
from ..forms.auth import EmptyForm
from ..forms.investments import CancelPaymentForm
from ..models import OFFICER_ROLES
from ..services import access
from ..services.errors import CoopError, NotFound, NotPermitted

T = TypeVar("T")


def enter_club(club_id: int, roles=None):
    """The acting member of this club (404 for anyone else), made available to the templates."""
    g.membership = access.membership_for(current_user.id, club_id, roles=roles)
    g.club = g.membership.club
    g.keeps_money = access.may_record_money(g.membership)
    babel_cache = g.get("_flask_babel")
    if babel_cache is not None:  # a zone chosen before the club was known: Flask-Babel asks again
        vars(babel_cache).pop("babel_tzinfo", None)
    return g.membership


def page_zone() -> str:
    """The time zone of the page: its club's, else the default (BABEL_DEFAULT_TIMEZONE, UTC)."""
    club = g.get("club")
    if club is not None:
        return club.time_zone
    return current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC"


def club_today() -> date:
    """Today on the clock of the page's club (a form's default date)."""
    return clock.local_today(page_zone())


def moment(value: datetime, zone: str | None = None) -> str:
    """A stored moment (naive UTC) as a member reads it: date and time on the club's clock (or ``zone``'s),
    and the zone's name — "13 déc. 2026, 02:54 (Europe/Paris)", never UTC on a club's page."""
    zone = zone or page_zone()
    shown = clock.local(value, zone)
    locale = get_locale() or "fr"
    pattern = dates.get_datetime_format("medium", locale=locale).replace("'", "")
    text = pattern.format(dates.format_time(shown, "short", locale=locale),
                          dates.format_date(shown, "medium", locale=locale))
    return f"{text} ({zone})"


def attempt(form: FlaskForm, action: Callable[[], T], field_for: Callable[[str], str] | None = None) -> T | None:
    """Run the service call; a refusal goes next to its field (or atop the form).

    Not found and not permitted, unless about one field, go to the error page."""
    try:
        return action()
    except CoopError as err:
        if isinstance(err, (NotFound, NotPermitted)) and not err.field:
            raise
        name = field_for(err.field) if (field_for and err.field) else err.field
        if name and name in form:
            form[name].errors = [*form[name].errors, str(err.message)]
        else:
            form.form_errors.append(str(err.message))
        if err.rule and err.rule.startswith("R"):
            form.form_errors.append(_("Rule %(rule)s of the charter.", rule=err.rule))
        form.refusal_status = err.status_code
        return None


def render_form(template: str, form: FlaskForm, **context):
    """200 for a fresh form; 4xx when it comes back with errors."""
    status = 200
    if form.is_submitted() and (form.errors or form.form_errors):
        status = getattr(form, "refusal_status", 400)
    return render_template(template, form=form, **context), status


def check_button() -> None:
    """A bare button: only its CSRF token to check (a missing one is a 400 from the CSRF guard)."""
    if not EmptyForm().validate_on_submit():
        abort(400)


def post_on_page(form: FlaskForm, action: Callable[[FlaskForm], object], success, done_url: str,
                 show: Callable[[int], object], field_for: Callable[[str], str] | None = None):
    """A form posted from a page that carries several: run the service call and go back to the page with
    ``success`` (text, or a function of the result), or show the page again (``show(status)``) with the
    form's errors. A post without any field error is malformed: 400."""
    from flask import abort, flash, redirect

    if form.validate_on_submit():
        done = attempt(form, lambda: action(form), field_for=field_for)
        if done is not None:
            flash(success(done) if callable(success) else success, "success")
            return redirect(done_url)
    if not form.errors and not form.form_errors:
        abort(400)
    return show(getattr(form, "refusal_status", 400))


def members_only(bp: Blueprint) -> Blueprint:
    """``bp`` with every page behind the login."""

    @bp.before_request
    @login_required
    def _logged_in():
        """Every page here needs a logged-in person."""

    return bp


def locale_name() -> str:
    """The page's language ("fr" or "en"), as the amount formatters take it."""
    return str(get_locale() or "fr")


def cancel_with_reason(club_id: int, cancel: Callable[[str], T], *, missing: str | None = None,
                       done: str | None = None) -> T:
    """An officer's form withdrawing what waits for a second officer's approval (a payment to an enterprise
    or to a member, a revaluation): without its reason it is a 400 (``missing`` says so); ``cancel(reason)``
    is the service's, ``done`` what the officer reads then."""
    enter_club(club_id, roles=set(OFFICER_ROLES))
    form = CancelPaymentForm()
    if not form.validate_on_submit():
        flash(missing or _("Say why the payment is cancelled."), "error")
        abort(400)
    cancelled = cancel(form.reason.data)
    flash(done or _("The payment is cancelled."), "info")
    return cancelled
