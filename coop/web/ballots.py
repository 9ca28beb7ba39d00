"""Ballots: opening them (a charter amendment too), voting, proxies, closing or cancelling, results and
the register of decisions."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock, labels
from ..amounts import duration, money
from ..explain import explain, subject_of
from ..forms.auth import EmptyForm
from ..forms.ballots import BallotForm, CancelForm, CharterBallotForm, ProxyForm, choices_of, proxy_prefix, vote_form_class
from ..models import BallotKind, Role
from ..services import ballots, clubs, meetings, transfers
from ..services.ballots import Subject
from ..services.charter import charter_of
from .exports import csv_response, safe
from .handling import attempt, check_button, enter_club, locale_name, members_only, moment, render_form

bp = members_only(Blueprint("ballots", __name__))


# --- Ballots -------------------------------------------------------------------------------


@bp.get("/clubs/<id:club_id>/ballots")
def ballot_list(club_id: int):
    enter_club(club_id)
    rows = ballots.ballots_of(current_user.id, club_id)
    voted = ballots.my_participation(current_user.id, club_id)
    return render_template("ballots/ballots.html", ballots=rows, voted=voted)


#: The kinds opened from the ballot form (the charter has its own form; the accounts are approved by a general
#: meeting, on its agenda).
FORM_KINDS = {k.value for k in BallotKind} - {BallotKind.CHARTER, BallotKind.ACCOUNTS}


def method_choices(kind: str):
    single = [("yes_no", labels.VOTING_METHODS["yes_no"]), ("consent", labels.VOTING_METHODS["consent"])]
    if kind in ("funding", "election"):
        return [*single, ("judgment", labels.VOTING_METHODS["judgment"]),
                ("approval", labels.VOTING_METHODS["approval"])]
    return single


#: The subject fields of a ballot's form, and those each kind of decision uses (a meeting's agenda item adds the
#: year whose accounts it approves).
SUBJECT_FIELDS = ("project_ids", "membership_id", "role", "candidate_ids", "investment_id", "transfer_id", "year",
                  "region_id")
RELEVANT = {"funding": ("project_ids",), "admission": ("membership_id",), "exclusion": ("membership_id",),
            "election": ("role", "candidate_ids"), "stake_sale": ("investment_id",), "transfer": ("transfer_id",),
            "accounts": ("year",), "region": ("region_id",)}


def fill_subject(form, kind: str, choices: dict[str, list]) -> tuple[str, ...]:
    """A new ballot's (or agenda item's) form: the method and every subject list filled from ``choices``
    (``ballots.subject_choices``), the fields this kind does not use left unchecked; returns those it uses."""
    form.method.choices = method_choices(kind)
    form.project_ids.choices = [(p.id, p.name) for p in choices["projects"]]
    people = choices["pending"] if kind == "admission" else choices["members"]
    form.membership_id.choices = [(m.id, m.user.name) for m in people]
    form.candidate_ids.choices = [(m.id, m.user.name) for m in choices["members"]]
    form.investment_id.choices = [(i.id, i.name) for i in choices["shares"]]
    form.transfer_id.choices = [(t.id, transfers.ballot_label(t)) for t in choices["transfers"]]
    form.region_id.choices = [(r.id, r.name) for r in choices.get("regions", [])]
    if "year" in form:
        form.year.choices = [(y, str(y)) for y in choices["years"]]
    relevant = RELEVANT.get(kind, ())
    for name in SUBJECT_FIELDS:
        if name in form and name not in relevant:
            form[name].validators = []
            form[name].pre_validate = lambda _form: None
    return relevant


def form_subject(form) -> Subject:
    """What a new ballot's (or agenda item's) form says it decides."""
    return Subject(project_ids=list(form.project_ids.data or []), membership_id=form.membership_id.data,
                   role=form.role.data, candidate_ids=list(form.candidate_ids.data or []),
                   investment_id=form.investment_id.data, transfer_id=form.transfer_id.data,
                   year=form.year.data if "year" in form else None, region_id=form.region_id.data)


@bp.route("/clubs/<id:club_id>/ballots/new/<kind>", methods=["GET", "POST"])
def open_ballot(club_id: int, kind: str):
    # An election may be called by more than the manager in term (R3): the service decides who.
    enter_club(club_id, roles=None if kind == BallotKind.ELECTION else {Role.MANAGER})
    if kind not in FORM_KINDS:
        abort(404)
    form = BallotForm()
    relevant = fill_subject(form, kind, ballots.subject_choices(current_user.id, club_id, kind=kind))
    if not form.is_submitted():
        form.closes_at.data = clock.deadline_in(g.club.time_zone, days=7)
        form.secret.data = kind == BallotKind.ELECTION
        wanted = request.args.get("subject", type=int)
        if wanted is not None:
            form.project_ids.data = [wanted] if kind == "funding" else None
            form.membership_id.data = wanted
            form.investment_id.data = wanted
            form.transfer_id.data = wanted
            form.region_id.data = wanted
    if form.validate_on_submit():
        subject = form_subject(form)
        opened = attempt(form, lambda: ballots.open_ballot(
            current_user.id, club_id, kind=kind, method=form.method.data, closes_at=form.closes_at.data,
            subject=subject, secret=form.secret.data, title=form.title.data or "", details=form.details.data or "",
            form_key=form.form_key.data, local=True), field_for=_subject_field)
        if opened is not None:
            flash(_("The ballot is open until %(when)s.", when=moment(opened.closes_at)), "success")
            return redirect(url_for("ballots.ballot", club_id=club_id, ballot_id=opened.id))
    return render_form("ballots/ballot_new.html", form, kind=kind, relevant=relevant)


def _subject_field(name: str) -> str:
    return {"changes": "closes_at"}.get(name, name)


@bp.route("/clubs/<id:club_id>/charter/propose", methods=["GET", "POST"])
def propose_amendment(club_id: int):
    """The manager puts a new wording of the charter to a vote (active clubs)."""
    enter_club(club_id, roles={Role.MANAGER})
    form = CharterBallotForm()
    current = clubs.charter_values(charter_of(club_id))
    if not form.is_submitted():
        form.fill(current, locale_name())
        form.closes_at.data = clock.deadline_in(g.club.time_zone, days=7)
    if form.validate_on_submit():
        changes = {k: v for k, v in form.values().items() if current.get(k) != v}
        opened = attempt(form, lambda: ballots.open_ballot(
            current_user.id, club_id, kind="charter", method="yes_no", closes_at=form.closes_at.data,
            subject=Subject(changes=changes), details=form.details.data or "", form_key=form.form_key.data,
            local=True), field_for=form.field_for)
        if opened is not None:
            flash(_("The amendment is put to the vote until %(when)s.", when=moment(opened.closes_at)), "success")
            return redirect(url_for("ballots.ballot", club_id=club_id, ballot_id=opened.id))
    return render_form("clubs/charter_edit.html", form, ballot=True)


def _vote_forms(page):
    """My own vote form, and one per proxy I hold."""
    ballot = page.ballot
    option_ids = [o.id for o in ballot.options]
    cls = vote_form_class(ballot.method, option_ids)
    forms = []
    if page.may_vote:
        mine = cls(formdata=None)
        if page.my_choices:
            _fill(mine, ballot.method, page.my_choices, page.my_reason)
        forms.append((None, mine))
        for _proxy, voter in page.held:
            forms.append((voter, cls(formdata=None, prefix=proxy_prefix(voter.membership_id))))
    return forms


def _fill(form, method: str, choices: dict[int, int], reason: str | None) -> None:
    if method in ("yes_no", "consent"):
        form.choice.data = str(next(iter(choices.values())))
        if method == "consent":
            form.reason.data = reason
    elif method == "judgment":
        for option_id, value in choices.items():
            form[f"grade_{option_id}"].data = str(value)
    else:
        for option_id, value in choices.items():
            form[f"approve_{option_id}"].data = bool(value)


def _ballot_page(club_id: int, ballot_id: int, *, submitted=None, status: int = 200):
    me = enter_club(club_id)
    page = ballots.ballot_page(current_user.id, club_id, ballot_id)
    forms = _vote_forms(page)
    if submitted is not None:
        forms = [(voter, submitted if proxy_prefix(voter.membership_id if voter else None) == submitted._prefix
                  else form) for voter, form in forms]
        if not any(form is submitted for _voter, form in forms):  # no form left to show the refusal next to
            # ``errors`` holds the form's own errors too (under None): each message once
            for message in (m for ms in submitted.errors.values() for m in ms):
                flash(str(message), "error")
    proxy_form = ProxyForm()
    proxy_form.holder_id.choices = [(m.id, m.user.name) for m in page.proxy_holders]
    return render_template("ballots/ballot.html", page=page, ballot=page.ballot, forms=forms, proxy_form=proxy_form,
                           action_form=EmptyForm(), cancel_form=CancelForm(), explanation=explain(page.ballot),
                           subject=subject_of(page.ballot), me=me,
                           charter_changes=_changes(page.ballot),
                           transfer=transfers.of_ballot(current_user.id, club_id, ballot_id)), status


def _changes(ballot) -> list[tuple[str, str, str]]:
    """A charter amendment's settings: label, value in force when the ballot opened, value proposed."""
    if ballot.kind != BallotKind.CHARTER or not ballot.proposal:
        return []
    base = clubs.charter_values(charter_of(ballot.club_id, ballot.charter_version))
    hours = {v: k for k, v in CharterBallotForm.HOURS.items()}

    def shown(name: str, value) -> str:
        if name in CharterBallotForm.MONEY:
            return money(value, g.club.currency, locale_name())
        if name in hours:
            return duration(value)
        if name.startswith("threshold_"):
            return str(labels.THRESHOLDS.get(value, value))
        if name == "share_method":
            return str(labels.SHARE_METHODS.get(value, value))
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        return str(value)

    rows = []
    for name, value in sorted(ballot.proposal.items()):
        label = str(getattr(CharterBallotForm, hours.get(name, name)).args[0])
        rows.append((label, shown(name, base.get(name)), shown(name, value)))
    return rows


@bp.get("/clubs/<id:club_id>/ballots/<id:ballot_id>")
def ballot(club_id: int, ballot_id: int):
    return _ballot_page(club_id, ballot_id)


@bp.post("/clubs/<id:club_id>/ballots/<id:ballot_id>")
def vote(club_id: int, ballot_id: int):
    enter_club(club_id)
    page = ballots.ballot_page(current_user.id, club_id, ballot_id)
    option_ids = [o.id for o in page.ballot.options]
    raw = request.form.get("proxy_for", "")
    if raw and (not raw.isdigit() or len(raw) > 12):
        abort(400)
    for_member = int(raw) if raw else None
    form = vote_form_class(page.ballot.method, option_ids)(prefix=proxy_prefix(for_member))
    if form.validate_on_submit():
        choices, reason = choices_of(form, page.ballot.method, option_ids)
        done = attempt(form, lambda: ballots.vote(current_user.id, club_id, ballot_id, choices=choices,
                                                  reason=reason, for_member=for_member))
        if done is not None:
            if for_member is None:
                flash(_("Your vote is recorded."), "success")
            else:
                flash(_("The vote of %(name)s is recorded.", name=done.membership.user.name), "success")
            return redirect(url_for("ballots.ballot", club_id=club_id, ballot_id=ballot_id))
    if not form.errors and not form.form_errors:
        abort(400)
    return _ballot_page(club_id, ballot_id, submitted=form, status=getattr(form, "refusal_status", 400))


@bp.post("/clubs/<id:club_id>/ballots/<id:ballot_id>/proxy")
def give_proxy(club_id: int, ballot_id: int):
    enter_club(club_id)
    form = ProxyForm()
    form.holder_id.choices = None  # the service checks who may hold it
    form.holder_id.validate_choice = False
    if not form.validate_on_submit():
        abort(400)
    proxy = ballots.give_proxy(current_user.id, club_id, ballot_id, form.holder_id.data)
    flash(_("%(name)s holds your proxy for this ballot.", name=proxy.holder.user.name), "success")
    return redirect(url_for("ballots.ballot", club_id=club_id, ballot_id=ballot_id))


@bp.post("/clubs/<id:club_id>/ballots/<id:ballot_id>/proxy/withdraw")
def withdraw_proxy(club_id: int, ballot_id: int):
    enter_club(club_id)
    check_button()
    ballots.withdraw_proxy(current_user.id, club_id, ballot_id)
    flash(_("Your proxy is withdrawn: you vote yourself."), "info")
    return redirect(url_for("ballots.ballot", club_id=club_id, ballot_id=ballot_id))


@bp.post("/clubs/<id:club_id>/ballots/<id:ballot_id>/close")
def close(club_id: int, ballot_id: int):
    enter_club(club_id, roles={Role.MANAGER})
    check_button()
    ballots.close_early(current_user.id, club_id, ballot_id)
    flash(_("The ballot is closed."), "success")
    return redirect(url_for("ballots.ballot", club_id=club_id, ballot_id=ballot_id))


@bp.post("/clubs/<id:club_id>/ballots/<id:ballot_id>/cancel")
def cancel(club_id: int, ballot_id: int):
    enter_club(club_id, roles={Role.MANAGER})
    form = CancelForm()
    if not form.validate_on_submit():
        flash(_("Say why the ballot is cancelled."), "error")
        return _ballot_page(club_id, ballot_id, status=400)
    ballots.cancel(current_user.id, club_id, ballot_id, form.reason.data)
    flash(_("The ballot is cancelled."), "info")
    return redirect(url_for("ballots.ballot", club_id=club_id, ballot_id=ballot_id))


# --- The register of decisions ------------------------------------------------------------------


@bp.get("/clubs/<id:club_id>/decisions")
def decisions(club_id: int):
    enter_club(club_id)
    rows = ballots.decisions(current_user.id, club_id)
    return render_template("ballots/decisions.html", rows=[(b, subject_of(b), explain(b)) for b in rows],
                           minutes=meetings.signed_minutes(current_user.id, club_id))


@bp.get("/clubs/<id:club_id>/decisions.csv")
def decisions_csv(club_id: int):
    enter_club(club_id)
    rows = []
    for b in ballots.decisions(current_user.id, club_id):
        t = b.tally or {}
        closed = clock.local(b.closed_at, g.club.time_zone)  # on the club's clock, as on the pages
        rows.append([b.id, closed.strftime("%Y-%m-%d %H:%M"), str(labels.BALLOT_KINDS[b.kind]),
                     safe(subject_of(b)), str(labels.VOTING_METHODS[b.method]), _("yes") if b.secret else _("no"),
                     t.get("eligible", ""), t.get("participants", ""), t.get("yes", ""), t.get("no", ""),
                     t.get("abstain", ""), str(labels.OUTCOMES[b.outcome]), safe(" ".join(explain(b))),
                     safe(b.effect_error or "")])
    return csv_response(f"decisions-{g.club.id}.csv", [
        _("Number"), _("Closed on (%(zone)s)", zone=g.club.time_zone), _("Decision"), _("Subject"),
        _("Voting method"), _("Secret"), _("Eligible"), _("Took part"), _("Yes"), _("No"), _("Abstentions"),
        _("Outcome"), _("Explanation"), _("Not applied because")], rows)
