"""General meetings: convening one, its agenda, proxies, the session (attendance, closing items), the minutes."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from .. import clock
from ..explain import explain
from ..forms.auth import EmptyForm
from ..forms.meetings import (
    AgendaItemForm,
    AttendanceForm,
    CancelMeetingForm,
    CharterItemForm,
    ConveneForm,
    MeetingProxyForm,
    MinutesForm,
    OpenMeetingForm,
    PrefillForm,
)
from ..models import BallotKind, Role
from ..services import clubs, meetings
from ..services.ballots import Subject
from ..services.charter import charter_of
from .ballots import fill_subject, form_subject
from .handling import attempt, check_button, enter_club, locale_name, members_only, post_on_page, render_form

bp = members_only(Blueprint("meetings", __name__))

#: The kinds put on an agenda from the item form (a charter amendment has its own form).
ITEM_KINDS = {k.value for k in BallotKind} - {BallotKind.CHARTER}


def _here(club_id: int, meeting_id: int) -> str:
    return url_for("meetings.meeting", club_id=club_id, meeting_id=meeting_id)


@bp.get("/clubs/<id:club_id>/meetings")
def meeting_list(club_id: int):
    enter_club(club_id)
    return render_template("meetings/meetings.html", meetings=meetings.meetings_of(current_user.id, club_id))


@bp.route("/clubs/<id:club_id>/meetings/new", methods=["GET", "POST"])
def convene(club_id: int):
    enter_club(club_id, roles={Role.MANAGER})
    form = ConveneForm()
    notice = charter_of(club_id).meeting_notice_days
    if not form.is_submitted():
        day = clock.local_now(g.club.time_zone) + timedelta(days=notice + 1)
        form.scheduled_at.data = day.replace(hour=18, minute=30, second=0, microsecond=0)
    if form.validate_on_submit():
        made = attempt(form, lambda: meetings.convene(
            current_user.id, club_id, kind=form.kind.data, scheduled_at=form.scheduled_at.data,
            place=form.place.data or "", video_link=form.video_link.data or "", title=form.title.data or "",
            details=form.details.data or "", prefill=bool(form.prefill.data), report=form.report.data or "",
            form_key=form.form_key.data))
        if made is not None:
            flash(_("The meeting is convened: every member is sent the convocation."), "success")
            return redirect(_here(club_id, made.id))
    return render_form("meetings/convene.html", form, notice=notice)


# --- The meeting's page -------------------------------------------------------------------------------------


def _attendance_form(row, page, formdata=None):
    form = AttendanceForm(formdata=formdata, prefix=f"m{row.membership_id}-")
    form.holder_id.choices = [("", "—")] + [(m.id, m.user.name) for m in page.present if m.id != row.membership_id]
    if formdata is None:
        form.presence.data, form.holder_id.data = row.presence, row.holder_id
    return form


def _meeting_page(club_id: int, meeting_id: int, status: int = 200, **forms):
    me = enter_club(club_id)
    page = meetings.meeting_page(current_user.id, club_id, meeting_id)
    proxy_form = MeetingProxyForm(formdata=None)
    proxy_form.holder_id.choices = [(m.id, m.user.name) for m in page.holders]
    open_form = forms.get("open_form")
    if open_form is None and page.is_manager and page.meeting.status == "planned":
        open_form = OpenMeetingForm(formdata=None)
        people = clubs.members_of(current_user.id, club_id)
        open_form.chair_id.choices = [(m.id, m.user.name) for m in people]
        open_form.secretary_id.choices = [("", "—")] + [(m.id, m.user.name) for m in people]
        open_form.chair_id.data = me.id
        secretary = next((m for m in people if m.role == Role.SECRETARY and m.id != me.id), None)
        open_form.secretary_id.data = secretary.id if secretary else None
    attendance_forms = {}
    if page.runs and page.meeting.in_session:
        sent = forms.get("attendance_form")
        for row in page.rows:
            attendance_forms[row.membership_id] = (sent if sent is not None and sent._prefix == f"m{row.membership_id}-"
                                                   else _attendance_form(row, page))
    return render_template(
        "meetings/meeting.html", page=page, meeting=page.meeting, proxy_form=proxy_form, open_form=open_form,
        attendance_forms=attendance_forms, action_form=EmptyForm(),
        prefill_form=forms.get("prefill_form") or PrefillForm(formdata=None),
        cancel_form=forms.get("cancel_form") or CancelMeetingForm(formdata=None),
        item_kinds=sorted(ITEM_KINDS, key=_kind_order)), status


def _kind_order(kind: str) -> int:
    order = ["accounts", "election", "funding", "admission", "exclusion", "transfer", "stake_sale", "renewal",
             "dissolution"]
    return order.index(kind) if kind in order else len(order)


@bp.get("/clubs/<id:club_id>/meetings/<id:meeting_id>")
def meeting(club_id: int, meeting_id: int):
    return _meeting_page(club_id, meeting_id)


# --- The agenda ---------------------------------------------------------------------------------------------


@bp.route("/clubs/<id:club_id>/meetings/<id:meeting_id>/agenda/<kind>", methods=["GET", "POST"])
def add_item(club_id: int, meeting_id: int, kind: str):
    enter_club(club_id, roles={Role.MANAGER})
    if kind not in ITEM_KINDS:
        abort(404)
    page = meetings.meeting_page(current_user.id, club_id, meeting_id)
    form = AgendaItemForm()
    relevant = fill_subject(form, kind, meetings.item_choices(current_user.id, club_id, meeting_id, kind))
    if not form.is_submitted():
        form.secret.data = kind == BallotKind.ELECTION
    if form.validate_on_submit():
        added = attempt(form, lambda: meetings.add_item(
            current_user.id, club_id, meeting_id, kind=kind, method=form.method.data, subject=form_subject(form),
            secret=form.secret.data, title=form.title.data or "", details=form.details.data or "",
            form_key=form.form_key.data))
        if added is not None:
            flash(_("The item is on the agenda; members are sent the new agenda."), "success")
            return redirect(_here(club_id, meeting_id))
    return render_form("meetings/item_new.html", form, kind=kind, relevant=relevant, meeting=page.meeting)


@bp.route("/clubs/<id:club_id>/meetings/<id:meeting_id>/amendment", methods=["GET", "POST"])
def propose_amendment(club_id: int, meeting_id: int):
    """A charter amendment on an extraordinary meeting's agenda."""
    enter_club(club_id, roles={Role.MANAGER})
    page = meetings.meeting_page(current_user.id, club_id, meeting_id)
    form = CharterItemForm()
    current = clubs.charter_values(charter_of(club_id))
    if not form.is_submitted():
        form.fill(current, locale_name())
    if form.validate_on_submit():
        changes = {k: v for k, v in form.values().items() if current.get(k) != v}
        added = attempt(form, lambda: meetings.add_item(
            current_user.id, club_id, meeting_id, kind="charter", method="yes_no", subject=Subject(changes=changes),
            details=form.details.data or "", form_key=form.form_key.data), field_for=form.field_for)
        if added is not None:
            flash(_("The amendment is on the agenda; members are sent the new agenda."), "success")
            return redirect(_here(club_id, meeting_id))
    return render_form("clubs/charter_edit.html", form, ballot=True, meeting=page.meeting)


@bp.post("/clubs/<id:club_id>/meetings/<id:meeting_id>/prefill")
def prefill(club_id: int, meeting_id: int):
    enter_club(club_id, roles={Role.MANAGER})
    form = PrefillForm()
    return post_on_page(form, lambda f: meetings.prefill_ordinary_agenda(current_user.id, club_id, meeting_id,
                                                                         report=f.report.data or "",
                                                                         form_key=f.form_key.data),
                        lambda added: ngettext("%(num)d item is put on the agenda; members are sent the new agenda.",
                                               "%(num)d items are put on the agenda; members are sent the new agenda.",
                                               len(added)),
                        _here(club_id, meeting_id),
                        lambda status: _meeting_page(club_id, meeting_id, status, prefill_form=form))


@bp.post("/clubs/<id:club_id>/meetings/<id:meeting_id>/cancel")
def cancel(club_id: int, meeting_id: int):
    enter_club(club_id, roles={Role.MANAGER})
    form = CancelMeetingForm()
    return post_on_page(form, lambda f: meetings.cancel(current_user.id, club_id, meeting_id, f.reason.data),
                        _("The meeting is cancelled; members are told."), _here(club_id, meeting_id),
                        lambda status: _meeting_page(club_id, meeting_id, status, cancel_form=form))


# --- Proxies ------------------------------------------------------------------------------------------------


@bp.post("/clubs/<id:club_id>/meetings/<id:meeting_id>/proxy")
def give_proxy(club_id: int, meeting_id: int):
    enter_club(club_id)
    form = MeetingProxyForm()
    form.holder_id.choices = None  # the service checks who may hold it
    form.holder_id.validate_choice = False
    if not form.validate_on_submit():
        abort(400)
    given = meetings.give_proxy(current_user.id, club_id, meeting_id, form.holder_id.data)
    flash(_("%(name)s holds your proxy for the meeting.", name=given.holder.user.name), "success")
    return redirect(_here(club_id, meeting_id))


@bp.post("/clubs/<id:club_id>/meetings/<id:meeting_id>/proxy/withdraw")
def withdraw_proxy(club_id: int, meeting_id: int):
    enter_club(club_id)
    check_button()
    meetings.withdraw_proxy(current_user.id, club_id, meeting_id)
    flash(_("Your proxy is withdrawn."), "info")
    return redirect(_here(club_id, meeting_id))


# --- The session --------------------------------------------------------------------------------------------


@bp.post("/clubs/<id:club_id>/meetings/<id:meeting_id>/open")
def open_meeting(club_id: int, meeting_id: int):
    enter_club(club_id)
    form = OpenMeetingForm()
    for name in ("chair_id", "secretary_id"):
        form[name].choices = None  # the service checks who may hold each part
        form[name].validate_choice = False
    return post_on_page(form, lambda f: meetings.open_meeting(current_user.id, club_id, meeting_id,
                                                              chair_id=f.chair_id.data, secretary_id=f.secretary_id.data),
                        _("The meeting is open: take the attendance, then vote on the agenda."),
                        _here(club_id, meeting_id), lambda status: _meeting_page(club_id, meeting_id, status,
                                                                                 open_form=_shown(form)))


def _shown(form: OpenMeetingForm) -> OpenMeetingForm:
    """The opening form sent back with its errors, and its lists to choose from again."""
    people = clubs.members_of(current_user.id, g.club.id)
    form.chair_id.choices = [(m.id, m.user.name) for m in people]
    form.secretary_id.choices = [("", "—")] + [(m.id, m.user.name) for m in people]
    return form


@bp.post("/clubs/<id:club_id>/meetings/<id:meeting_id>/attendance/<id:membership_id>")
def record_attendance(club_id: int, meeting_id: int, membership_id: int):
    enter_club(club_id)
    form = AttendanceForm(prefix=f"m{membership_id}-")
    form.holder_id.choices = None  # the service checks who may hold the proxy
    form.holder_id.validate_choice = False
    return post_on_page(form, lambda f: meetings.record_attendance(current_user.id, club_id, meeting_id, membership_id,
                                                                   f.presence.data, holder_id=f.holder_id.data),
                        lambda row: _("Attendance recorded: %(name)s.", name=row.membership.user.name),
                        _here(club_id, meeting_id) + f"#member-{membership_id}",
                        lambda status: _meeting_page(club_id, meeting_id, status, attendance_form=_refilled(form)))


def _refilled(form: AttendanceForm) -> AttendanceForm:
    form.holder_id.choices = [("", "—")] + [(m.id, m.user.name) for m in clubs.members_of(current_user.id, g.club.id)]
    return form


@bp.post("/clubs/<id:club_id>/meetings/<id:meeting_id>/items/<id:ballot_id>/close")
def close_item(club_id: int, meeting_id: int, ballot_id: int):
    enter_club(club_id)
    check_button()
    meetings.close_item(current_user.id, club_id, meeting_id, ballot_id)
    flash(_("The vote on this item is closed."), "success")
    return redirect(_here(club_id, meeting_id))


@bp.post("/clubs/<id:club_id>/meetings/<id:meeting_id>/close")
def close_meeting(club_id: int, meeting_id: int):
    enter_club(club_id)
    check_button()
    closed = meetings.close_meeting(current_user.id, club_id, meeting_id)
    if closed.quorum_met:
        flash(_("The meeting is closed; its secretary writes the minutes."), "success")
    else:
        flash(_("The meeting is closed without its quorum: nothing was voted. Its secretary writes the minutes."),
              "info")
    return redirect(_here(club_id, meeting_id))


# --- The minutes --------------------------------------------------------------------------------------------


def _minutes_page(club_id: int, meeting_id: int, status: int = 200, form: MinutesForm | None = None):
    enter_club(club_id)
    shown = meetings.minutes_of(current_user.id, club_id, meeting_id)
    if form is None:
        form = MinutesForm(formdata=None)
        form.text.data = shown.meeting.minutes
    return render_template("meetings/minutes.html", m=shown, meeting=shown.meeting, form=form,
                           decisions=[(b, explain(b)) for b in shown.items], action_form=EmptyForm(),
                           printing=request.args.get("print") == "1"), status


@bp.get("/clubs/<id:club_id>/meetings/<id:meeting_id>/minutes")
def minutes(club_id: int, meeting_id: int):
    return _minutes_page(club_id, meeting_id)


@bp.post("/clubs/<id:club_id>/meetings/<id:meeting_id>/minutes")
def write_minutes(club_id: int, meeting_id: int):
    enter_club(club_id)
    form = MinutesForm()
    return post_on_page(form, lambda f: meetings.write_minutes(current_user.id, club_id, meeting_id, f.text.data or ""),
                        _("The minutes are saved."),
                        url_for("meetings.minutes", club_id=club_id, meeting_id=meeting_id),
                        lambda status: _minutes_page(club_id, meeting_id, status, form))


@bp.post("/clubs/<id:club_id>/meetings/<id:meeting_id>/minutes/sign")
def sign_minutes(club_id: int, meeting_id: int):
    enter_club(club_id)
    check_button()
    signed = meetings.sign_minutes(current_user.id, club_id, meeting_id)
    if signed.minutes_signed:
        flash(_("The minutes are signed by the secretary and the chair: they are final, and in the register of "
                "decisions."), "success")
    else:
        flash(_("The minutes are signed: they wait for the chair's signature."), "success")
    return redirect(url_for("meetings.minutes", club_id=club_id, meeting_id=meeting_id))
