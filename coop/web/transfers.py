"""A member's share passing on: the club's transfers, selling one's share, a deceased member's share passing to
the heirs, a transfer's page with the co-owners' month to buy first (claim, take back, settle)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from ..forms.auth import EmptyForm
from ..forms.transfers import HeirsForm, SaleForm
from ..models import OFFICER_ROLES, MemberStatus, TransferStatus
from ..services import transfers
from .handling import attempt, check_button, enter_club, members_only, render_form

bp = members_only(Blueprint("transfers", __name__))


def _person(member) -> str:
    if member.status == MemberStatus.PENDING:
        return _("%(name)s (asked to join)", name=member.user.name)
    return member.user.name


@bp.get("/clubs/<id:club_id>/transfers")
def transfer_list(club_id: int):
    enter_club(club_id)
    return render_template("transfers/transfers.html", transfers=transfers.transfers_of(current_user.id, club_id))


def _proposed(transfer):
    if transfer.status == TransferStatus.PREEMPTION:
        flash(_("The other members are told the price by mail: they may buy the share first until %(day)s.",
                day=format_date(transfer.preemption_ends_on, "medium")), "success")
    else:
        flash(_("The transfer waits for the members' vote: the manager opens the ballot."), "success")
    return redirect(url_for("transfers.transfer", club_id=transfer.club_id, transfer_id=transfer.id))


@bp.route("/clubs/<id:club_id>/transfers/sell", methods=["GET", "POST"])
def sell(club_id: int):
    me = enter_club(club_id)
    page = transfers.sale_page(current_user.id, club_id)
    form = SaleForm()
    form.to_membership_id.choices = [(m.id, _person(m)) for m in page.people]
    if form.validate_on_submit():
        done = attempt(form, lambda: transfers.propose_transfer(
            current_user.id, club_id, from_membership_id=me.id, to_membership_id=form.to_membership_id.data,
            reason="assignment", price=form.price.cents, form_key=form.form_key.data))
        if done is not None:
            return _proposed(done)
    return render_form("transfers/sell.html", form, page=page)


@bp.route("/clubs/<id:club_id>/transfers/heirs", methods=["GET", "POST"])
def heirs(club_id: int):
    enter_club(club_id, roles=set(OFFICER_ROLES))
    holders, people = transfers.heirs_choices(current_user.id, club_id)
    form = HeirsForm()
    form.from_membership_id.choices = [(m.id, m.user.name) for m in holders]
    form.to_membership_id.choices = [(m.id, _person(m)) for m in people]
    if form.validate_on_submit():
        done = attempt(form, lambda: transfers.propose_transfer(
            current_user.id, club_id, from_membership_id=form.from_membership_id.data,
            to_membership_id=form.to_membership_id.data, reason="heir", form_key=form.form_key.data))
        if done is not None:
            return _proposed(done)
    return render_form("transfers/heirs.html", form)


@bp.get("/clubs/<id:club_id>/transfers/<id:transfer_id>")
def transfer(club_id: int, transfer_id: int):
    enter_club(club_id)
    page = transfers.transfer_page(current_user.id, club_id, transfer_id)
    return render_template("transfers/transfer.html", page=page, transfer=page.transfer, action_form=EmptyForm())


def _back(club_id: int, transfer_id: int):
    return redirect(url_for("transfers.transfer", club_id=club_id, transfer_id=transfer_id))


@bp.post("/clubs/<id:club_id>/transfers/<id:transfer_id>/claim")
def claim(club_id: int, transfer_id: int):
    enter_club(club_id)
    check_button()
    transfers.claim_preemption(current_user.id, club_id, transfer_id)
    flash(_("You buy this share first, at the price offered. Until the month is over you may still take it back."),
          "success")
    return _back(club_id, transfer_id)


@bp.post("/clubs/<id:club_id>/transfers/<id:transfer_id>/claim/withdraw")
def withdraw_claim(club_id: int, transfer_id: int):
    enter_club(club_id)
    check_button()
    transfers.withdraw_claim(current_user.id, club_id, transfer_id)
    flash(_("You no longer buy this share."), "info")
    return _back(club_id, transfer_id)


@bp.post("/clubs/<id:club_id>/transfers/<id:transfer_id>/withdraw")
def withdraw(club_id: int, transfer_id: int):
    enter_club(club_id)
    check_button()
    transfers.withdraw_transfer(current_user.id, club_id, transfer_id)
    flash(_("The transfer is withdrawn."), "info")
    return _back(club_id, transfer_id)


@bp.post("/clubs/<id:club_id>/transfers/<id:transfer_id>/settle")
def settle(club_id: int, transfer_id: int):
    enter_club(club_id, roles=set(OFFICER_ROLES))
    check_button()
    done = transfers.settle_preemption(current_user.id, club_id, transfer_id)
    if done.status == TransferStatus.PREEMPTED:
        flash(_("The share passed to the members who bought it first."), "success")
    else:
        flash(_("No member bought the share first: it waits for the members' vote."), "success")
    return _back(club_id, transfer_id)
