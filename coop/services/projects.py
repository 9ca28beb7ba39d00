"""Local projects the club may fund: proposed by any member, presented to
the club, decided by a ballot. A member linked to a project declares it and
is recused on it (R8)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import (
    ClubStatus,
    Instrument,
    LegalForm,
    Membership,
    Project,
    ProjectLink,
    ProjectStatus,
)
from ..models.base import utcnow
from . import access
from .access import membership_for
from .audit import record
from .clubs import use_form_key
from .errors import Conflict, InvalidInput, NotPermitted, RuleViolation, _l
from .lookup import in_club
from .transitions import move
from .uow import unit_of_work
from .validate import one_line, paragraphs

MAX_AMOUNT = 10**10  # a hundred million in cents
DESCRIPTION_MAX = 4000
PROJECT_FIELDS = ("name", "description", "town", "legal_form", "instrument", "amount_requested",
                  "stake_hundredths", "holder_name", "holder_contact")
#: Statuses in which the proposal may still be edited or withdrawn.
EDITABLE = (ProjectStatus.DRAFT, ProjectStatus.PRESENTED)


def clean(values: dict[str, Any]) -> dict[str, Any]:
    """The project's fields, checked whatever the entry point."""
    unknown = set(values) - set(PROJECT_FIELDS)
    if unknown:
        raise InvalidInput(_l("Unknown project field."), field=sorted(unknown)[0])
    out = {
        "name": one_line(values.get("name"), "name", maximum=120),
        "description": paragraphs(values.get("description"), "description", maximum=DESCRIPTION_MAX),
        "town": one_line(values.get("town"), "town", maximum=120),
        "holder_name": one_line(values.get("holder_name"), "holder_name", maximum=120),
        "holder_contact": one_line(values.get("holder_contact"), "holder_contact", maximum=200),
    }
    for field, choices in (("legal_form", LegalForm), ("instrument", Instrument)):
        try:
            out[field] = choices(values.get(field)).value
        except ValueError:
            raise InvalidInput(_l("Choose a value from the list."), field=field) from None
    amount = values.get("amount_requested")
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput(_l("Enter an amount."), field="amount_requested")
    if not 0 < amount <= MAX_AMOUNT:
        raise InvalidInput(_l("Enter an amount above zero and below a hundred million."), field="amount_requested")
    out["amount_requested"] = amount
    stake = values.get("stake_hundredths")
    if out["instrument"] == Instrument.EQUITY:
        if isinstance(stake, bool) or not isinstance(stake, int) or not 0 < stake <= 10_000:
            raise InvalidInput(_l("For shares, give the stake offered, between 0.01 % and 100 %."),
                               field="stake_hundredths")
        out["stake_hundredths"] = stake
    else:
        if stake not in (None, 0):
            raise InvalidInput(_l("A stake is only for shares; leave it empty for a loan or a contribution."),
                               field="stake_hundredths")
        out["stake_hundredths"] = None
    return out


def _open_club(member: Membership) -> None:
    status = access.club_status(member.club)  # the term ends on its date (R5)
    if status == ClubStatus.IN_MANAGEMENT:
        raise RuleViolation(_l("The club is past its term: it makes no new investments."), rule="R5")
    if status not in (ClubStatus.FORMING, ClubStatus.ACTIVE):
        raise Conflict(_l("This club no longer takes projects."))


def propose(user_id: int, club_id: int, values: dict[str, Any], *, form_key: str) -> Project:
    """Any member proposes a project; it starts as a draft they can still edit."""
    fields = clean(values)
    with unit_of_work() as session:
        member = membership_for(user_id, club_id)
        _open_club(member)
        use_form_key(user_id, form_key, club_id)
        project = Project(club_id=club_id, proposed_by_id=member.id, **fields)
        session.add(project)
        session.flush()
        record(user_id, club_id, "project.propose", project, after={"name": project.name,
                                                                     "amount": project.amount_requested})
        return project


def _project(club_id: int, project_id: int, *, lock: bool = False) -> Project:
    return in_club(Project, club_id, project_id, lock=lock, missing=_l("No such project."))


def _steers(member: Membership, project: Project) -> bool:
    """The proposer and the manager edit, present and withdraw a proposal."""
    return member.id == project.proposed_by_id or access.is_manager(member)


def _steered(user_id: int, club_id: int, project_id: int, *, lock: bool = True) -> tuple[Membership, Project]:
    """The acting member and the project they steer: its proposer or the manager (locked to change it)."""
    member = membership_for(user_id, club_id)
    project = _project(club_id, project_id, lock=lock)
    if not _steers(member, project):
        raise NotPermitted(_l("Only the member who proposed this project, or the manager, may do this."))
    return member, project


def update(user_id: int, club_id: int, project_id: int, values: dict[str, Any]) -> Project:
    fields = clean(values)
    with unit_of_work():
        member, project = _steered(user_id, club_id, project_id)
        if project.status not in EDITABLE:
            raise Conflict(_l("A project cannot be changed once it is put to the vote."))
        before = {k: getattr(project, k) for k in fields}
        changed = {k: v for k, v in fields.items() if before[k] != v}
        if not changed:
            raise Conflict(_l("Nothing was changed."))
        for key, value in changed.items():
            setattr(project, key, value)
        record(user_id, club_id, "project.update", project, before={k: before[k] for k in changed}, after=changed)
        return project


def present(user_id: int, club_id: int, project_id: int) -> Project:
    """The proposal is ready: the club can discuss it and the manager can put it to the vote."""
    with unit_of_work():
        member, project = _steered(user_id, club_id, project_id)
        if project.status != ProjectStatus.DRAFT:
            raise Conflict(_l("Only a draft can be presented."))
        _open_club(member)
        move(project, ProjectStatus.PRESENTED)
        project.presented_at = utcnow()
        record(user_id, club_id, "project.present", project, before={"status": "draft"}, after={"status": "presented"})
        return project


def withdraw(user_id: int, club_id: int, project_id: int) -> Project:
    with unit_of_work():
        member, project = _steered(user_id, club_id, project_id)
        if project.status not in EDITABLE:
            raise Conflict(_l("A project in vote or decided cannot be withdrawn."))
        before = project.status
        move(project, ProjectStatus.WITHDRAWN)
        record(user_id, club_id, "project.withdraw", project, before={"status": before}, after={"status": "withdrawn"})
        return project


# --- Reading ----------------------------------------------------------------------


def projects_of(user_id: int, club_id: int, *, statuses: tuple[str, ...] | None = None) -> list[Project]:
    membership_for(user_id, club_id)
    stmt = select(Project).where(Project.club_id == club_id)
    if statuses:
        stmt = stmt.where(Project.status.in_(statuses))
    return list(db.session.scalars(stmt.order_by(Project.created_at.desc(), Project.id.desc())))


def project_for(user_id: int, club_id: int, project_id: int) -> Project:
    membership_for(user_id, club_id)
    return _project(club_id, project_id)


def project_to_edit(user_id: int, club_id: int, project_id: int) -> Project:
    """The project, for its proposer or the manager, while it may still change."""
    _member, project = _steered(user_id, club_id, project_id, lock=False)
    if project.status not in EDITABLE:
        raise Conflict(_l("A project cannot be changed once it is put to the vote."))
    return project


def links_of(club_id: int, project_ids: list[int]) -> list[ProjectLink]:
    """The links declared to these projects of the club."""
    if not project_ids:
        return []
    return list(db.session.scalars(select(ProjectLink).where(
        ProjectLink.club_id == club_id, ProjectLink.project_id.in_(project_ids))
        .order_by(ProjectLink.declared_at, ProjectLink.id)))


def recused_member_ids(club_id: int, project_ids: list[int]) -> set[int]:
    return {link.membership_id for link in links_of(club_id, project_ids)}


def may_steer(member: Membership, project: Project) -> bool:
    return project.status in EDITABLE and _steers(member, project)


# --- Called by the ballots service -----------------------------------------------------


def put_to_vote(project: Project) -> None:
    if project.status != ProjectStatus.PRESENTED:
        raise Conflict(_l("Only a presented project can be put to the vote."))
    move(project, ProjectStatus.IN_VOTE)


def decide(project: Project, *, approved: bool | None, actor_id: int | None, ballot_id: int) -> None:
    """The ballot's effect: approved, rejected, or (None: no decision) back to presented."""
    before = project.status
    if approved is None:
        move(project, ProjectStatus.PRESENTED)
    else:
        move(project, ProjectStatus.APPROVED if approved else ProjectStatus.REJECTED)
        project.decided_at = utcnow()
    record(actor_id, project.club_id, "project.decide", project, before={"status": before},
           after={"status": project.status, "ballot": ballot_id})
