"""Investments: recording one from an approved project, paying it out and
revaluing it through two officers (R10, R11), and following it up."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from ..amounts import decimal_text
from ..forms.auth import EmptyForm
from ..forms.investments import (
    CancelPaymentForm,
    InvestmentForm,
    LoanTermsForm,
    NoteForm,
    PaymentForm,
    RepaymentForm,
    ReturnForm,
    RevaluationForm,
    SaleForm,
    WriteOffForm,
)
from ..models import OFFICER_ROLES, ProjectStatus
from ..services import access, clubs, investments, projects, valuation
from .charts import line_chart
from .handling import attempt, cancel_with_reason, check_button, enter_club, locale_name, members_only, post_on_page, render_form

bp = members_only(Blueprint("investments", __name__))


@bp.get("/clubs/<id:club_id>/investments")
def investment_list(club_id: int):
    enter_club(club_id)
    portfolio = investments.portfolio(current_user.id, club_id)
    chart = line_chart([format_date(month, "MMM yy") for month, _paid, _back in portfolio.chart],
                       [(_("Capital paid out (total)"), "invested", [p for _m, p, _b in portfolio.chart]),
                        (_("Money returned (total)"), "contributions", [b for _m, _p, b in portfolio.chart])])
    return render_template("investments/investments.html", portfolio=portfolio, chart=chart,
                           waiting=valuation.revaluations_waiting(current_user.id, club_id))


@bp.route("/clubs/<id:club_id>/projects/<id:project_id>/invest", methods=["GET", "POST"])
def record(club_id: int, project_id: int):
    enter_club(club_id, roles=set(OFFICER_ROLES))
    project = projects.project_for(current_user.id, club_id, project_id)
    if project.status != ProjectStatus.APPROVED:
        abort(404)
    form = InvestmentForm()
    people = [(m.id, m.user.name) for m in clubs.members_of(current_user.id, club_id)]
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
            return redirect(url_for("investments.investment", club_id=club_id, investment_id=done.id))
    return render_form("investments/record.html", form, project=project)


FOLLOW_UP_FORMS = {"form": PaymentForm, "terms_form": LoanTermsForm, "repayment_form": RepaymentForm,
                   "return_form": ReturnForm, "sale_form": SaleForm, "write_off_form": WriteOffForm,
                   "note_form": NoteForm, "revaluation_form": RevaluationForm}
DATED = {"form": "paid_on", "repayment_form": "received_on", "return_form": "received_on",
         "sale_form": "received_on", "write_off_form": "on", "note_form": "written_on",
         "revaluation_form": "valued_on"}


def _page(club_id: int, investment_id: int, status: int = 200, **submitted):
    """The investment with its payments, schedule, events and notes, and the forms its readers may use;
    ``submitted`` is a form coming back with its errors."""
    me = enter_club(club_id)
    shown = investments.investment_for(current_user.id, club_id, investment_id)
    forms = {}
    for name, cls in FOLLOW_UP_FORMS.items():
        forms[name] = submitted.get(name) or cls(formdata=None)
        if name in DATED and name not in submitted:
            forms[name][DATED[name]].data = date.today()
    for name, form in forms.items():  # several forms share the page: their fields need ids of their own
        if name != "form":
            for f in form:
                f.id = f"{name.removesuffix('_form')}-{f.id}"
                f.label.field_id = f.id
    if "terms_form" not in submitted and shown.term_periods:
        terms = forms["terms_form"]
        terms.rate.data = decimal_text(shown.rate_basis_points or 0, locale_name())
        terms.term_periods.data, terms.frequency.data = shown.term_periods, shown.frequency
        terms.first_due_on.data = shown.first_due_on
    (line,) = [x for x in investments.portfolio(current_user.id, club_id).lines if x.investment.id == shown.id]
    return render_template("investments/investment.html", investment=shown, line=line, me=me,
                           payments=investments.payments_of(current_user.id, club_id, investment_id),
                           events=investments.events_of(current_user.id, club_id, investment_id),
                           revaluations=valuation.revaluations_of(current_user.id, club_id, investment_id),
                           notes=investments.notes_of(current_user.id, club_id, investment_id),
                           schedule=investments.schedule(shown, line.paid_out or None),
                           stake_held=investments.stake_held(shown),
                           sale_agreed=investments.sale_ballot(club_id, shown.id) is not None,
                           action_form=EmptyForm(), cancel_form=CancelPaymentForm(), officer=me.is_officer,
                           keeps_money=access.may_record_money(me),
                           mentor=me.id in (shown.mentor_id, shown.second_mentor_id),
                           sellable_from=investments.sellable_from(shown), **forms), status


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
            return redirect(url_for("investments.investment", club_id=club_id, investment_id=investment_id))
    if not form.errors and not form.form_errors:
        abort(400)
    return _page(club_id, investment_id, getattr(form, "refusal_status", 400), form=form)


@bp.post("/clubs/<id:club_id>/payments/<id:payment_id>/approve")
def approve(club_id: int, payment_id: int):
    enter_club(club_id, roles=set(OFFICER_ROLES))
    check_button()
    payment = investments.approve_payment(current_user.id, club_id, payment_id)
    flash(_("The payment is approved and posted to the books."), "success")
    return redirect(url_for("investments.investment", club_id=club_id, investment_id=payment.investment_id))


@bp.post("/clubs/<id:club_id>/payments/<id:payment_id>/cancel")
def cancel(club_id: int, payment_id: int):
    payment = cancel_with_reason(club_id, lambda reason: investments.cancel_payment(current_user.id, club_id,
                                                                                     payment_id, reason))
    return redirect(url_for("investments.investment", club_id=club_id, investment_id=payment.investment_id))


@bp.post("/clubs/<id:club_id>/revaluations/<id:revaluation_id>/approve")
def approve_revaluation(club_id: int, revaluation_id: int):
    enter_club(club_id, roles=set(OFFICER_ROLES))
    check_button()
    revaluation = valuation.approve_revaluation(current_user.id, club_id, revaluation_id)
    flash(_("The revaluation is approved and posted to the books."), "success")
    return redirect(url_for("investments.investment", club_id=club_id, investment_id=revaluation.investment_id))


@bp.post("/clubs/<id:club_id>/revaluations/<id:revaluation_id>/cancel")
def cancel_revaluation(club_id: int, revaluation_id: int):
    revaluation = cancel_with_reason(
        club_id, lambda reason: valuation.cancel_revaluation(current_user.id, club_id, revaluation_id, reason),
        missing=_("Say why the revaluation is cancelled."), done=_("The revaluation is cancelled."))
    return redirect(url_for("investments.investment", club_id=club_id, investment_id=revaluation.investment_id))


def _follow_up(club_id: int, investment_id: int, name: str, action, success: str):
    """One follow-up form: run the service call, or show the page again with the form's errors."""
    enter_club(club_id)
    form = FOLLOW_UP_FORMS[name]()
    return post_on_page(form, action, success,
                        url_for("investments.investment", club_id=club_id, investment_id=investment_id),
                        lambda status: _page(club_id, investment_id, status, **{name: form}))


def _hundredths(field) -> int | None:
    return field.hundredths


@bp.post("/clubs/<id:club_id>/investments/<id:investment_id>/terms")
def loan_terms(club_id: int, investment_id: int):
    return _follow_up(club_id, investment_id, "terms_form", lambda f: investments.set_loan_terms(
        current_user.id, club_id, investment_id, rate_basis_points=_hundredths(f.rate), term_periods=f.term_periods.data,
        frequency=f.frequency.data, first_due_on=f.first_due_on.data), _("The loan's schedule is saved."))


@bp.post("/clubs/<id:club_id>/investments/<id:investment_id>/repayments")
def repayment(club_id: int, investment_id: int):
    return _follow_up(club_id, investment_id, "repayment_form", lambda f: investments.record_repayment(
        current_user.id, club_id, investment_id, principal=f.principal.cents or 0, interest=f.interest.cents or 0,
        received_on=f.received_on.data, note=f.note.data or "", form_key=f.form_key.data),
        _("The repayment is recorded."))


@bp.post("/clubs/<id:club_id>/investments/<id:investment_id>/returns")
def investment_return(club_id: int, investment_id: int):
    return _follow_up(club_id, investment_id, "return_form", lambda f: investments.record_return(
        current_user.id, club_id, investment_id, amount=f.amount.cents, received_on=f.received_on.data,
        note=f.note.data or "", form_key=f.form_key.data), _("The income is recorded."))


@bp.post("/clubs/<id:club_id>/investments/<id:investment_id>/sale")
def sale(club_id: int, investment_id: int):
    return _follow_up(club_id, investment_id, "sale_form", lambda f: investments.record_sale(
        current_user.id, club_id, investment_id, stake_sold_hundredths=_hundredths(f.stake), price=f.price.cents,
        received_on=f.received_on.data, note=f.note.data or "", form_key=f.form_key.data),
        _("The sale is recorded."))


@bp.post("/clubs/<id:club_id>/investments/<id:investment_id>/write-off")
def write_off(club_id: int, investment_id: int):
    return _follow_up(club_id, investment_id, "write_off_form", lambda f: investments.write_off(
        current_user.id, club_id, investment_id, reason=f.reason.data, on=f.on.data, form_key=f.form_key.data),
        _("The investment is written off."))


@bp.post("/clubs/<id:club_id>/investments/<id:investment_id>/revaluations")
def revalue(club_id: int, investment_id: int):
    return _follow_up(club_id, investment_id, "revaluation_form", lambda f: valuation.enter_revaluation(
        current_user.id, club_id, investment_id, new_value=f.new_value.cents, valued_on=f.valued_on.data,
        reason=f.reason.data, form_key=f.form_key.data),
        _("The revaluation is entered. A second officer must approve it before it is posted (R11)."))


@bp.post("/clubs/<id:club_id>/investments/<id:investment_id>/notes")
def note(club_id: int, investment_id: int):
    return _follow_up(club_id, investment_id, "note_form", lambda f: investments.add_note(
        current_user.id, club_id, investment_id, text=f.text.data, written_on=f.written_on.data),
        _("Your note is saved."))
