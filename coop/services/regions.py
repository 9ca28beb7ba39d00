"""Regional associations of clubs (issue 19): an association, its coordinators, the clubs that chose by a ballot
to share their figures with it, and what its coordinators see of them (docs/regions.md).

An association is created by the operator (``flask coop region create``), never from a page: it is an act of the
install's operator, who knows the association, not something any person with an account may claim. Its
coordinators add other coordinators. A club joins by a ballot of its members (``BallotKind.REGION``, the charter's
ordinary threshold): from the close of an adopted ballot it shares; its manager may stop sharing at once, without
a vote, since sharing less needs nobody's consent, and the stop is in the club's audit log.

What is shared is each club's totals only: active members, contributions received (in the club's currency), its
projects counted by status and the amount paid out to enterprises, the hours of time exchanged. Never a member's
name or a member's own figures.

The figures are read club by club, each statement naming its club (docs/scaling.md: one club's reads go to one
node); finding which clubs share with an association is the one read across clubs, like a person's home page."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from ..extensions import db
from ..models import (
    Club,
    Contribution,
    Disbursement,
    Exchange,
    Membership,
    MemberStatus,
    Project,
    ProjectStatus,
    Region,
    RegionCoordinator,
    RegionMember,
    User,
)
from ..models.audit import OUTSIDE_CLUBS
from ..models.base import utcnow
from ..models.invest import DisbursementStatus
from . import access
from .audit import record
from .errors import Conflict, InvalidInput, NotFound, _l
from .fund import not_reversed
from .timebank import POSTED
from .uow import unit_of_work
from .validate import is_id, one_line

NAME_MAX = 120
DESCRIPTION_MAX = 500
EMAIL_MAX = 254


# --- The association and its coordinators --------------------------------------------------------


def _user_by_email(email: object, field_name: str = "email") -> User:
    if not isinstance(email, str) or not email.strip() or len(email) > EMAIL_MAX:
        raise InvalidInput(_l("Give the email address of a person who has an account."), field=field_name)
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(_l("Nobody has an account with this email address."), field=field_name)
    return user


def create_region(name: object, coordinator_email: object, *, description: object = "") -> Region:
    """The operator creates an association with its first coordinator (a person who already has an account)."""
    name = one_line(name, "name", maximum=NAME_MAX)
    description = one_line(description, "description", maximum=DESCRIPTION_MAX, required=False)
    with unit_of_work() as session:
        coordinator = _user_by_email(coordinator_email)
        if session.scalar(select(Region.id).where(func.lower(Region.name) == name.lower())):
            raise Conflict(_l("An association of that name already exists."), field="name")
        region = Region(name=name, description=description, created_at=utcnow())
        session.add(region)
        session.flush()
        session.add(RegionCoordinator(region_id=region.id, user_id=coordinator.id, added_by_id=None,
                                      added_at=utcnow()))
        record(None, OUTSIDE_CLUBS, "region.create", region, after={"name": name, "coordinator": coordinator.id})
        return region


def coordinated_by(user_id: int, region_id: object) -> Region:
    """The association this person coordinates; NotFound for anyone else, as if it did not exist."""
    missing = _l("No such association.")
    if not is_id(region_id):
        raise NotFound(missing)
    region = db.session.scalar(select(Region).join(RegionCoordinator, RegionCoordinator.region_id == Region.id)
                               .where(Region.id == region_id, RegionCoordinator.user_id == user_id))
    if region is None:
        raise NotFound(missing)
    return region


def add_coordinator(user_id: int, region_id: object, email: object) -> RegionCoordinator:
    """A coordinator names another one (a person who already has an account)."""
    with unit_of_work() as session:
        region = coordinated_by(user_id, region_id)
        person = _user_by_email(email)
        if session.scalar(select(RegionCoordinator.id).where(RegionCoordinator.region_id == region.id,
                                                             RegionCoordinator.user_id == person.id)):
            raise Conflict(_l("This person already coordinates the association."), field="email")
        added = RegionCoordinator(region_id=region.id, user_id=person.id, added_by_id=user_id, added_at=utcnow())
        session.add(added)
        record(user_id, OUTSIDE_CLUBS, "region.add_coordinator", region, after={"coordinator": person.id})
        return added


def coordinators_of(region_id: int) -> list[RegionCoordinator]:
    return list(db.session.scalars(select(RegionCoordinator).where(RegionCoordinator.region_id == region_id)
                                   .order_by(RegionCoordinator.id)))


def my_regions(user_id: int) -> list[Region]:
    """The associations this person coordinates (their home page links to them)."""
    return list(db.session.scalars(select(Region).join(RegionCoordinator, RegionCoordinator.region_id == Region.id)
                                   .where(RegionCoordinator.user_id == user_id).order_by(Region.name)))


# --- A club's side: joining by ballot, stopping ----------------------------------------------------------


def _sharing(club_id: int, region_id: int) -> RegionMember | None:
    return db.session.scalar(select(RegionMember).where(RegionMember.club_id == club_id,
                                                        RegionMember.region_id == region_id,
                                                        RegionMember.left_at.is_(None)))


def check_joinable(club_id: int, region_id: object) -> Region:
    """An association the club may vote to join: it exists and the club does not already share with it."""
    if not is_id(region_id):
        raise InvalidInput(_l("Choose the association."), field="region_id")
    region = db.session.get(Region, region_id)
    if region is None:
        raise NotFound(_l("No such association."), field="region_id")
    if _sharing(club_id, region.id) is not None:
        raise Conflict(_l("The club already shares its figures with this association."), field="region_id")
    return region


def joinable(club_id: int) -> list[Region]:
    """The associations the club does not share with now: what a ballot may propose to join."""
    shared = select(RegionMember.region_id).where(RegionMember.club_id == club_id, RegionMember.left_at.is_(None))
    return list(db.session.scalars(select(Region).where(Region.id.not_in(shared)).order_by(Region.name)))


def join_by_vote(club_id: int, region_id: int, *, ballot_id: int, now: datetime | None = None) -> RegionMember:
    """The members adopted joining (the ballot's effect, inside its close): the club shares from now on."""
    check_joinable(club_id, region_id)
    joined = RegionMember(club_id=club_id, region_id=region_id, ballot_id=ballot_id, joined_at=now or utcnow())
    db.session.add(joined)
    record(None, club_id, "region.join", joined, after={"region": region_id, "ballot": ballot_id})
    return joined


def stop_sharing(user_id: int, club_id: int, region_id: object, *, now: datetime | None = None) -> RegionMember:
    """The manager stops sharing the club's figures with an association, at once: sharing less needs no vote."""
    with unit_of_work():
        access.manager(user_id, club_id, lock=True)
        if not is_id(region_id):
            raise NotFound(_l("No such association."))
        sharing = _sharing(club_id, region_id)
        if sharing is None:
            raise NotFound(_l("The club does not share its figures with this association."))
        sharing.left_at, sharing.left_by_id = now or utcnow(), user_id
        record(user_id, club_id, "region.stop_sharing", sharing, after={"region": sharing.region_id})
        return sharing


def sharing_of(user_id: int, club_id: int) -> list[RegionMember]:
    """The club's memberships of associations, current first, then past ones: every member may read them."""
    access.membership_for(user_id, club_id)
    return list(db.session.scalars(select(RegionMember).where(RegionMember.club_id == club_id)
                                   .order_by(RegionMember.left_at.is_not(None), RegionMember.joined_at.desc(),
                                             RegionMember.id.desc())))


# --- What the association sees --------------------------------------------------------------------------


@dataclass
class ClubFigures:
    """One sharing club's totals: nothing about any one member."""

    club_id: int
    name: str
    town: str
    currency: str
    since: datetime
    members: int
    #: contributions received, not reversed, in cents of the club's currency
    savings: int
    #: projects by status (every status, 0 when none)
    projects: dict[str, int]
    #: paid out to enterprises (approved disbursements), in cents of the club's currency
    invested: int
    #: time exchanged (posted, not reversed), in minutes
    minutes: int

    @property
    def funded(self) -> int:
        return self.projects.get(ProjectStatus.APPROVED, 0)


@dataclass
class Totals:
    """The sum over the sharing clubs; money per currency, never EUR and CAD added together."""

    clubs: int = 0
    members: int = 0
    minutes: int = 0
    projects: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ProjectStatus, 0))
    savings: dict[str, int] = field(default_factory=dict)
    invested: dict[str, int] = field(default_factory=dict)


#: A club with fewer active members is left out of the figures: its totals would be one or two people's own.
MIN_MEMBERS_SHOWN = 3


@dataclass
class RegionView:
    region: Region
    coordinators: list[RegionCoordinator]
    clubs: list[ClubFigures]
    totals: Totals
    #: sharing clubs left out because they have fewer than MIN_MEMBERS_SHOWN active members
    withheld: int = 0


def _club_figures(club_id: int, since: datetime) -> ClubFigures:
    """One club's totals, each statement naming the club (one node on Citus)."""
    session = db.session
    club = session.get(Club, club_id)
    members = session.scalar(select(func.count()).select_from(Membership).where(
        Membership.club_id == club_id, Membership.status == MemberStatus.ACTIVE))
    savings = session.scalar(select(func.coalesce(func.sum(Contribution.amount), 0)).where(
        Contribution.club_id == club_id, not_reversed(Contribution.transaction_id, club_id)))
    projects = dict.fromkeys(ProjectStatus, 0)
    for status, count in session.execute(select(Project.status, func.count()).where(Project.club_id == club_id)
                                         .group_by(Project.status)):
        projects[ProjectStatus(status)] = count
    invested = session.scalar(select(func.coalesce(func.sum(Disbursement.amount), 0)).where(
        Disbursement.club_id == club_id, Disbursement.status == DisbursementStatus.APPROVED))
    minutes = session.scalar(select(func.coalesce(func.sum(Exchange.minutes), 0)).where(
        Exchange.club_id == club_id, POSTED))
    return ClubFigures(club_id=club.id, name=club.name, town=club.town, currency=club.currency, since=since,
                       members=members, savings=int(savings), projects=projects, invested=int(invested),
                       minutes=int(minutes))


def sharing_clubs(region_id: int) -> list[RegionMember]:
    """The clubs that share with the association now: the one read across clubs (by ``region_id``)."""
    return list(db.session.scalars(select(RegionMember).where(RegionMember.region_id == region_id,
                                                              RegionMember.left_at.is_(None))
                                   .order_by(RegionMember.club_id)))


def region_view(user_id: int, region_id: object) -> RegionView:
    """The association's figures, per sharing club and in total, for its coordinators only."""
    region = coordinated_by(user_id, region_id)
    every = [_club_figures(m.club_id, m.joined_at) for m in sharing_clubs(region.id)]
    figures = sorted((f for f in every if f.members >= MIN_MEMBERS_SHOWN), key=lambda f: (f.name.lower(), f.club_id))
    totals = Totals()
    for club in figures:
        totals.clubs += 1
        totals.members += club.members
        totals.minutes += club.minutes
        for status, count in club.projects.items():
            totals.projects[status] += count
        totals.savings[club.currency] = totals.savings.get(club.currency, 0) + club.savings
        totals.invested[club.currency] = totals.invested.get(club.currency, 0) + club.invested
    return RegionView(region, coordinators_of(region.id), figures, totals, withheld=len(every) - len(figures))
