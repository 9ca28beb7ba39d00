"""Regional associations: the association's view of the clubs that share with it (its coordinators only), its
CSV export, naming another coordinator; and a club's side: which associations it shares with, and stopping."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import labels
from ..amounts import duration, money
from ..forms.auth import EmptyForm
from ..forms.regions import CoordinatorForm
from ..models import ProjectStatus
from ..services import access, regions
from .charts import bar_chart
from .exports import cents_text, csv_response, safe
from .handling import attempt, check_button, enter_club, locale_name, members_only

bp = members_only(Blueprint("regions", __name__))


def _charts(view) -> list[tuple[str, object]]:
    """A bar per club: members, hours exchanged, and savings (one chart per currency: never added together)."""
    clubs = view.clubs
    charts = [(_("Active members per club"), bar_chart([(c.name, c.members, str(c.members)) for c in clubs])),
              (_("Hours exchanged per club"), bar_chart([(c.name, c.minutes, duration(c.minutes)) for c in clubs]))]
    for currency in sorted(view.totals.savings):
        rows = [(c.name, c.savings, money(c.savings, currency, locale_name())) for c in clubs if c.currency == currency]
        charts.append((_("Savings collected per club (%(currency)s)", currency=currency), bar_chart(rows)))
    return charts


def _page(region_id: int, form: CoordinatorForm, status: int = 200):
    view = regions.region_view(current_user.id, region_id)
    return render_template("regions/region.html", view=view, charts=_charts(view), form=form,
                           statuses=list(ProjectStatus), min_shown=regions.MIN_MEMBERS_SHOWN), status


@bp.get("/regions/<id:region_id>")
def region(region_id: int):
    return _page(region_id, CoordinatorForm(formdata=None))


@bp.post("/regions/<id:region_id>/coordinators")
def add_coordinator(region_id: int):
    regions.coordinated_by(current_user.id, region_id)  # 404 for anyone else, before the form is read
    form = CoordinatorForm()
    if form.validate_on_submit():
        added = attempt(form, lambda: regions.add_coordinator(current_user.id, region_id, form.email.data))
        if added is not None:
            flash(_("%(name)s now coordinates the association.", name=added.user.name), "success")
            return redirect(url_for("regions.region", region_id=region_id))
    return _page(region_id, form, getattr(form, "refusal_status", 400))


#: The CSV's columns, in the reader's language; one row per sharing club, then one total row per currency.
CSV_HEADER = (_l("Club"), _l("Town"), _l("Sharing since"), _l("Active members"), _l("Currency"),
              _l("Savings collected"), *(labels.PROJECT_STATUSES[s] for s in ProjectStatus), _l("Amount invested"),
              _l("Hours exchanged"))


@bp.get("/regions/<id:region_id>/figures.csv")
def export(region_id: int):
    view = regions.region_view(current_user.id, region_id)
    rows = [[safe(c.name), safe(c.town), c.since.date().isoformat(), c.members, c.currency, cents_text(c.savings),
             *(c.projects[s] for s in ProjectStatus), cents_text(c.invested), _hours(c.minutes)] for c in view.clubs]
    totals = view.totals
    for currency in sorted(totals.savings):
        clubs = [c for c in view.clubs if c.currency == currency]
        rows.append([str(_("Total (%(currency)s)", currency=currency)), "", "", sum(c.members for c in clubs),
                     currency, cents_text(totals.savings[currency]),
                     *(sum(c.projects[s] for c in clubs) for s in ProjectStatus),
                     cents_text(totals.invested[currency]), _hours(sum(c.minutes for c in clubs))])
    return csv_response(f"association-{view.region.id}.csv", CSV_HEADER, rows)


def _hours(minutes: int) -> str:
    """Hours with two decimals, in the CSV's decimal style (90 minutes: 1.50)."""
    return cents_text(minutes * 100 // 60)


# --- A club's side ---------------------------------------------------------------------------------------


@bp.get("/clubs/<id:club_id>/regions")
def club_regions(club_id: int):
    me = enter_club(club_id)
    return render_template("regions/club.html", sharing=regions.sharing_of(current_user.id, club_id),
                           is_manager=access.is_manager(me), action_form=EmptyForm())


@bp.post("/clubs/<id:club_id>/regions/<id:region_id>/stop")
def stop_sharing(club_id: int, region_id: int):
    enter_club(club_id)
    check_button()
    stopped = regions.stop_sharing(current_user.id, club_id, region_id)
    flash(_("The club no longer shares its figures with %(name)s.", name=stopped.region.name), "success")
    return redirect(url_for("regions.club_regions", club_id=club_id))
