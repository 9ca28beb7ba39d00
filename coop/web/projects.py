"""Projects: proposing, editing, presenting, withdrawing, declaring links (R8)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..amounts import decimal_text
from ..forms.auth import EmptyForm
from ..forms.projects import LinkForm, ProjectForm
from ..services import ballots, investments, projects
from .handling import attempt, check_button, enter_club, locale_name, members_only, render_form

bp = members_only(Blueprint("projects", __name__))


# --- Projects ------------------------------------------------------------------------------


@bp.get("/clubs/<id:club_id>/projects")
def project_list(club_id: int):
    enter_club(club_id)
    rows = projects.projects_of(current_user.id, club_id)
    return render_template("projects/projects.html", projects=rows)


@bp.route("/clubs/<id:club_id>/projects/new", methods=["GET", "POST"])
def propose(club_id: int):
    enter_club(club_id)
    form = ProjectForm()
    if form.validate_on_submit():
        project = attempt(form, lambda: projects.propose(current_user.id, club_id, form.values(),
                                                         form_key=form.form_key.data), field_for=form.field_for)
        if project is not None:
            flash(_("Your project is saved as a draft. Present it when it is ready."), "success")
            return redirect(url_for("projects.project", club_id=club_id, project_id=project.id))
    return render_form("projects/project_form.html", form, project=None)


@bp.get("/clubs/<id:club_id>/projects/<id:project_id>")
def project(club_id: int, project_id: int):
    me = enter_club(club_id)
    shown = projects.project_for(current_user.id, club_id, project_id)
    return render_template("projects/project.html", **_project_page(me, shown, LinkForm()))


def _project_page(me, shown, link_form: LinkForm) -> dict:
    """What the project page shows: its links, its ballots, its investment, and the forms."""
    links = projects.links_of(shown.club_id, [shown.id])
    return dict(project=shown, links=links, linked=any(link.membership_id == me.id for link in links),
                may_steer=projects.may_steer(me, shown), link_form=link_form, action_form=EmptyForm(),
                project_ballots=ballots.ballots_on_project(current_user.id, shown.club_id, shown.id),
                investment=investments.investment_of_project(shown.club_id, shown.id))


@bp.route("/clubs/<id:club_id>/projects/<id:project_id>/edit", methods=["GET", "POST"])
def edit_project(club_id: int, project_id: int):
    enter_club(club_id)
    shown = projects.project_to_edit(current_user.id, club_id, project_id)
    form = ProjectForm()
    if not form.is_submitted():
        for name in ("name", "description", "town", "legal_form", "instrument", "holder_name", "holder_contact"):
            form[name].data = getattr(shown, name)
        form.amount_requested.set_cents(shown.amount_requested, locale_name())
        if shown.stake_hundredths:
            form.stake.data = _percent_text(shown.stake_hundredths)
    if form.validate_on_submit():
        changed = attempt(form, lambda: projects.update(current_user.id, club_id, project_id, form.values()),
                          field_for=form.field_for)
        if changed is not None:
            flash(_("The project is updated."), "success")
            return redirect(url_for("projects.project", club_id=club_id, project_id=project_id))
    return render_form("projects/project_form.html", form, project=shown)


def _percent_text(hundredths: int) -> str:
    return decimal_text(hundredths, locale_name())


@bp.post("/clubs/<id:club_id>/projects/<id:project_id>/present")
def present(club_id: int, project_id: int):
    enter_club(club_id)
    check_button()
    projects.present(current_user.id, club_id, project_id)
    flash(_("The project is presented to the club."), "success")
    return redirect(url_for("projects.project", club_id=club_id, project_id=project_id))


@bp.post("/clubs/<id:club_id>/projects/<id:project_id>/withdraw")
def withdraw(club_id: int, project_id: int):
    enter_club(club_id)
    check_button()
    projects.withdraw(current_user.id, club_id, project_id)
    flash(_("The project is withdrawn."), "info")
    return redirect(url_for("projects.project", club_id=club_id, project_id=project_id))


@bp.post("/clubs/<id:club_id>/projects/<id:project_id>/link")
def declare_link(club_id: int, project_id: int):
    me = enter_club(club_id)
    form = LinkForm()
    shown = projects.project_for(current_user.id, club_id, project_id)
    if form.validate_on_submit() and attempt(form, lambda: ballots.declare_link(
            current_user.id, club_id, project_id, form.nature.data)) is not None:
        flash(_("Your link is declared: you will not vote on this project (R8)."), "success")
        return redirect(url_for("projects.project", club_id=club_id, project_id=project_id))
    return render_form("projects/project.html", form, **_project_page(me, shown, form))
