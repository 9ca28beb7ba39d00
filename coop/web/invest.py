"""Investments: recording one from an approved project, and paying it out
through two officers (R10, R11)."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..forms.auth import EmptyForm
from ..forms.votes import CancelPaymentForm, InvestmentForm, PaymentForm
from ..models import OFFICER_ROLES, ProjectStatus
from ..services import investments, membership, projects
from .forms import attempt, enter_club, render_form

bp = Blueprint("invest", __name__)


@bp.before_request
@login_required
def _logged_in():
    """Every page here needs a logged-in person."""


@bp.get("/clubs/<id:club_id>/investments")
def investment_list(club_id: int):
    enter_club(club_id)
    rows = investments.investments_of(current_user.id, club_id)
    figures = investments.paid_and_pending(club_id, [i.id for i in rows])
    return render_template("invest/investments.html", investments=rows, figures=figures)


@bp.route("/clubs/<id:club_id>/projects/<id:project_id>/invest", methods=["GET", "POST"])
def record(club_id: int, project_id: int):
    enter_club(club_id, roles=set(OFFICER_ROLES))
    project = projects.project_for(current_user.id, club_id, project_id)
    if project.status != ProjectStatus.APPROVED:
        abort(404)
    form = InvestmentForm()
    people = [(m.id, m.user.name) for m in membership.members_of(current_user.id, club_id)]
    form.mentor_id.choices = people
    form.second_mentor_id.choices = [(0, _("nobody"))] + people
    if form.validate_on_submit():
        second = form.second_mentor_id.data or None
        done = attempt(form, lambda: investments.record_investment(
            current_user.id, club_id, project_id, mentor_id=form.mentor_id.data, second_mentor_id=second,
            form_key=form.form_key.data))
        if done is not None:
            flash(_("The investment in %(name)s is recorded. An officer can now enter its payment.",
                    name=done.name), "success")
            return redirect(url_for("invest.investment", club_id=club_id, investment_id=done.id))
    return render_form("invest/record.html", form, project=project)


def _page(club_id: int, investment_id: int, payment_form: PaymentForm | None = None, status: int = 200):
    me = enter_club(club_id)
    shown = investments.investment_for(current_user.id, club_id, investment_id)
    payments = investments.payments_of(current_user.id, club_id, investment_id)
    if payment_form is None:
        payment_form = PaymentForm()
        payment_form.paid_on.data = date.today()
    figures = investments.paid_and_pending(club_id, [shown.id]).get(shown.id, (0, 0))
    return render_template("invest/investment.html", investment=shown, payments=payments, form=payment_form,
                           action_form=EmptyForm(), cancel_form=CancelPaymentForm(), officer=me.is_officer,
                           me=me, paid=figures[0], pending=figures[1],
                           sellable_from=investments.sellable_from(shown)), status


@bp.get("/clubs/<id:club_id>/investments/<id:investment_id>")
def investment(club_id: int, investment_id: int):
    return _page(club_id, investment_id)


@bp.post("/clubs/<id:club_id>/investments/<id:investment_id>/payments")
def enter_payment(club_id: int, investment_id: int):
    enter_club(club_id, roles=set(OFFICER_ROLES))
    form = PaymentForm()
    if form.validate_on_submit():
        done = attempt(form, lambda: investments.enter_payment(
            current_user.id, club_id, investment_id, amount=form.amount.cents, paid_on=form.paid_on.data,
            bank_reference=form.bank_reference.data or "", form_key=form.form_key.data))
        if done is not None:
            flash(_("The payment is entered. A second officer must approve it before it is posted (R11)."),
                  "success")
            return redirect(url_for("invest.investment", club_id=club_id, investment_id=investment_id))
    if not form.errors and not form.form_errors:
        abort(400)
    return _page(club_id, investment_id, form, getattr(form, "refusal_status", 400))


@bp.post("/clubs/<id:club_id>/payments/<id:payment_id>/approve")
def approve(club_id: int, payment_id: int):
    enter_club(club_id, roles=set(OFFICER_ROLES))
    if not EmptyForm().validate_on_submit():
        abort(400)
    payment = investments.approve_payment(current_user.id, club_id, payment_id)
    flash(_("The payment is approved and posted to the books."), "success")
    return redirect(url_for("invest.investment", club_id=club_id, investment_id=payment.investment_id))


@bp.post("/clubs/<id:club_id>/payments/<id:payment_id>/cancel")
def cancel(club_id: int, payment_id: int):
    enter_club(club_id, roles=set(OFFICER_ROLES))
    form = CancelPaymentForm()
    if not form.validate_on_submit():
        flash(_("Say why the payment is cancelled."), "error")
        abort(400)
    payment = investments.cancel_payment(current_user.id, club_id, payment_id, form.reason.data)
    flash(_("The payment is cancelled."), "info")
    return redirect(url_for("invest.investment", club_id=club_id, investment_id=payment.investment_id))
