"""A club's pages: creating and joining, members, charter, invitations, activation."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from ..forms.auth import EmptyForm
from ..forms.clubs import CharterForm, ClubForm, InviteForm, JoinForm, RoleForm, TimeZoneForm
from ..models import MemberStatus, Role
from ..services import access, ballots, clubs, timebank
from ..services.charter import charter_of
from .handling import attempt, enter_club, locale_name, members_only, post_on_page, render_form

bp = members_only(Blueprint("clubs", __name__))


# --- Creating and joining ---------------------------------------------------------------


@bp.route("/clubs/new", methods=["GET", "POST"])
def create_club():
    form = ClubForm()
    if form.validate_on_submit():
        club = attempt(form, lambda: clubs.create_club(
            current_user.id, name=form.name.data, town=form.town.data, country=form.country.data,
            currency=form.currency.data, time_zone=form.time_zone.data or None, form_key=form.form_key.data))
        if club is not None:
            flash(_("The club %(name)s is created. You are its manager.", name=club.name), "success")
            return redirect(url_for("clubs.club_home", club_id=club.id))
    return render_form("clubs/new.html", form)


@bp.route("/join", methods=["GET", "POST"])
def join():
    form = JoinForm(code=request.args.get("code", "")[:40] or None)
    club = None
    if form.code.data and not form.is_submitted():
        club = attempt(form, lambda: clubs.invitation_club(form.code.data))
    if form.validate_on_submit():
        joined = attempt(form, lambda: clubs.join(current_user.id, form.code.data))
        if joined is not None:
            flash(_("Your request to join %(name)s is sent. The manager will answer it.",
                    name=joined.club.name), "success")
            return redirect(url_for("main.index"))
    return render_form("clubs/join.html", form, invited_club=club)


# --- A club's pages ------------------------------------------------------------------------------


@bp.get("/clubs/<id:club_id>/")
def club_home(club_id: int):
    me = enter_club(club_id)
    if clubs.end_term_if_due(club_id):
        me = enter_club(club_id)
    accounts = clubs.my_accounts(current_user.id, club_id)
    check = clubs.activation_check(current_user.id, club_id)
    waiting = ballots.open_ballots_for(current_user.id, club_id)
    timebank.expire_due(club_id=club_id)
    return render_template("clubs/home.html", accounts=accounts, check=check, charter=charter_of(club_id),
                           action_form=EmptyForm(), waiting=waiting, months_left=clubs.months_left(g.club),
                           to_confirm=timebank.to_confirm(current_user.id, club_id),
                           time_limits=timebank.limits_of(current_user.id, club_id),
                           lapsed=clubs.lapsed_officers(current_user.id, club_id),
                           may_call_election=access.may_call_election(me))


@bp.get("/clubs/<id:club_id>/members")
def members(club_id: int):
    me = enter_club(club_id)
    statuses = (MemberStatus.ACTIVE, MemberStatus.PENDING) if access.is_manager(me) else (MemberStatus.ACTIVE,)
    people = clubs.members_of(current_user.id, club_id, statuses=statuses)
    return render_template("clubs/members.html", people=people, action_form=EmptyForm(), role_form=RoleForm())


@bp.post("/clubs/<id:club_id>/members/<id:membership_id>/admit")
def admit(club_id: int, membership_id: int):
    admitted = clubs.admit(current_user.id, club_id, membership_id)
    flash(_("%(name)s is now a member.", name=admitted.user.name), "success")
    return redirect(url_for("clubs.members", club_id=club_id))


@bp.post("/clubs/<id:club_id>/members/<id:membership_id>/decline")
def decline(club_id: int, membership_id: int):
    declined = clubs.decline(current_user.id, club_id, membership_id)
    flash(_("The request of %(name)s is declined.", name=declined.user.name), "info")
    return redirect(url_for("clubs.members", club_id=club_id))


@bp.post("/clubs/<id:club_id>/members/<id:membership_id>/role")
def appoint(club_id: int, membership_id: int):
    enter_club(club_id, roles={Role.MANAGER})
    form = RoleForm()
    if not form.validate_on_submit():
        flash(_("Choose a role from the list."), "error")
        return render_template("errors/http.html", status=400, message=_("Choose a role from the list.")), 400
    target = clubs.appoint(current_user.id, club_id, membership_id, form.role.data)
    flash(_("%(name)s's role is changed.", name=target.user.name), "success")
    return redirect(url_for("clubs.members", club_id=club_id))


@bp.post("/clubs/<id:club_id>/leave")
def leave(club_id: int):
    club_name = enter_club(club_id).club.name
    clubs.leave(current_user.id, club_id)
    flash(_("You have left %(name)s.", name=club_name), "info")
    return redirect(url_for("main.index"))


@bp.post("/clubs/<id:club_id>/activate")
def activate(club_id: int):
    club = clubs.activate(current_user.id, club_id)
    flash(_("%(name)s is active. Its term ends on %(date)s.", name=club.name, date=format_date(club.term_ends_on, "medium")),
          "success")
    return redirect(url_for("clubs.club_home", club_id=club_id))


# --- Charter ------------------------------------------------------------------------------------


@bp.get("/clubs/<id:club_id>/charter")
def charter(club_id: int):
    return _charter_page(club_id)


def _charter_page(club_id: int, zone_form: TimeZoneForm | None = None, status: int = 200):
    me = enter_club(club_id)
    history = clubs.charter_history(current_user.id, club_id)
    version = request.args.get("version", type=int)
    shown = next((c for c in history if c.version == version), history[0]) if history else None
    editable = access.is_manager(me) and me.club.status == "forming"
    if zone_form is None and access.is_manager(me):
        zone_form = TimeZoneForm(formdata=None, time_zone=me.club.time_zone)
    return render_template("clubs/charter.html", charter=shown, history=history, editable=editable,
                           zone_form=zone_form), status


@bp.post("/clubs/<id:club_id>/time-zone")
def time_zone(club_id: int):
    """The manager sets the club's time zone (shown on the charter page)."""
    enter_club(club_id, roles={Role.MANAGER})
    form = TimeZoneForm()
    return post_on_page(form, lambda f: clubs.set_time_zone(current_user.id, club_id, f.time_zone.data),
                        lambda club: _("Times are now shown on the clock of %(zone)s.", zone=club.time_zone),
                        url_for("clubs.charter", club_id=club_id), lambda status: _charter_page(club_id, form, status))


@bp.route("/clubs/<id:club_id>/charter/edit", methods=["GET", "POST"])
def edit_charter(club_id: int):
    enter_club(club_id, roles={Role.MANAGER})
    form = CharterForm()
    if not form.is_submitted():
        form.fill(clubs.charter_values(charter_of(club_id)), locale_name())
    if form.validate_on_submit():
        amended = attempt(form, lambda: clubs.amend_charter(current_user.id, club_id, form.values()),
                          field_for=form.field_for)
        if amended is not None:
            flash(_("The charter is now at version %(v)d.", v=amended.version), "success")
            return redirect(url_for("clubs.charter", club_id=club_id))
    return render_form("clubs/charter_edit.html", form)


# --- Invitations -----------------------------------------------------------------------------


@bp.route("/clubs/<id:club_id>/invitations", methods=["GET", "POST"])
def invitations(club_id: int):
    enter_club(club_id, roles={Role.MANAGER})
    form = InviteForm()
    if form.validate_on_submit():
        made = attempt(form, lambda: clubs.invite(current_user.id, club_id, form_key=form.form_key.data))
        if made is not None:
            # Shown once, on the next page, then gone: only its hash is stored.
            session["new_invitation"] = clubs.format_code(made[1])
            return redirect(url_for("clubs.invitations", club_id=club_id))
    new_code = session.pop("new_invitation", None)
    return render_form("clubs/invitations.html", form, new_code=new_code,
                       invitations=clubs.open_invitations(current_user.id, club_id), action_form=EmptyForm())


@bp.post("/clubs/<id:club_id>/invitations/<id:invitation_id>/revoke")
def revoke_invitation(club_id: int, invitation_id: int):
    clubs.revoke_invitation(current_user.id, club_id, invitation_id)
    flash(_("The invitation is revoked."), "info")
    return redirect(url_for("clubs.invitations", club_id=club_id))


# --- Accounts -------------------------------------------------------------------------------


@bp.get("/clubs/<id:club_id>/accounts")
def accounts(club_id: int):
    enter_club(club_id)
    return render_template("clubs/accounts.html", accounts=clubs.accounts_visible_to(current_user.id, club_id))
