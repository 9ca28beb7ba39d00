"""Who may do what in a club: each permission for each role, with its one refusal; and the club-scoped lookup."""
from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from coop.extensions import db
from coop.models import Membership
from coop.services import access, lookup
from coop.services import clubs as ms
from coop.services.errors import NotFound, NotPermitted, _l
from coop.services.uow import unit_of_work
from tests.conftest import english

# --- The people: each role of one club, a manager whose charter lets them record money, outsiders ------------


@pytest.fixture
def people(make_club):
    """Role name → (user id, club id) of the club the person acts in."""
    club = make_club(6, secretary=True)
    charter = make_club(5, activate=False, name="Cigale Gérée")
    ms.amend_charter(charter.manager.id, charter.club_id, {"manager_records_money": True})
    ms.activate(charter.manager.id, charter.club_id)
    neighbour = make_club(5, name="Cigale Voisine")
    former = club.members[5]
    ms.leave(former.id, club.club_id)
    return {
        "member": (club.members[3].id, club.club_id),
        "secretary": (club.members[2].id, club.club_id),
        "treasurer": (club.treasurer.id, club.club_id),
        "manager": (club.manager.id, club.club_id),
        "manager, charter": (charter.manager.id, charter.club_id),
        "member, charter": (charter.members[3].id, charter.club_id),
        "former member": (former.id, club.club_id),
        "other club's member": (neighbour.members[3].id, club.club_id),
    }


OK = None
OUTSIDE = (NotFound, "No such club.")
TREASURER_ONLY = (NotPermitted, "Only the treasurer records money.")
MANAGER_TOO = (NotPermitted, "Only the treasurer records money (or the manager, if the charter says so).")


def only(*roles: str) -> tuple[type, str]:
    return NotPermitted, english("Only the club's %(roles)s may do this.", roles=" / ".join(roles))


NOT_MANAGER, NOT_OFFICER, NOT_BOOKKEEPER = only("manager"), only("manager", "secretary", "treasurer"), \
    only("manager", "treasurer")

#: role → what each "require" function answers: allowed, or the refusal with its message.
REQUIRED = {
    #                      membership_for  manager      officer      bookkeeper      money_keeper
    "member":              (OK,            NOT_MANAGER, NOT_OFFICER, NOT_BOOKKEEPER, TREASURER_ONLY),
    "secretary":           (OK,            NOT_MANAGER, OK,          NOT_BOOKKEEPER, TREASURER_ONLY),
    "treasurer":           (OK,            NOT_MANAGER, OK,          OK,             OK),
    "manager":             (OK,            OK,          OK,          OK,             TREASURER_ONLY),
    "manager, charter":    (OK,            OK,          OK,          OK,             OK),
    "member, charter":     (OK,            NOT_MANAGER, NOT_OFFICER, NOT_BOOKKEEPER, MANAGER_TOO),
    "former member":       (OUTSIDE,       OUTSIDE,     OUTSIDE,     OUTSIDE,        OUTSIDE),
    "other club's member": (OUTSIDE,       OUTSIDE,     OUTSIDE,     OUTSIDE,        OUTSIDE),
}
REQUIRES = (access.membership_for, access.manager, access.officer, access.bookkeeper, access.money_keeper)

CASES = [pytest.param(role, require, expected, id=f"{role}-{require.__name__}")
         for role, row in REQUIRED.items() for require, expected in zip(REQUIRES, row, strict=True)]


@pytest.mark.parametrize(("role", "require", "expected"), CASES)
def test_each_permission_for_each_role(people, role, require, expected):
    user_id, club_id = people[role]
    if expected is OK:
        member = require(user_id, club_id)
        assert (member.user_id, member.club_id) == (user_id, club_id)
        return
    refusal, message = expected
    with pytest.raises(refusal) as caught, force_locale("en"):  # the role names are read when refusing
        require(user_id, club_id)
    assert type(caught.value) is refusal
    assert english(caught.value.message) == message
    assert (caught.value.rule, caught.value.field) == (None, None)


@pytest.mark.parametrize("lock", [False, True], ids=["read", "locked"])
def test_the_lock_changes_no_answer(people, lock):
    with unit_of_work():
        assert access.money_keeper(*people["treasurer"], lock=lock).role == "treasurer"
        assert access.membership_for(*people["manager"], lock=lock).role == "manager"
        with pytest.raises(NotPermitted):
            access.money_keeper(*people["manager"], lock=lock)


#: role → (is_manager, is_bookkeeper, may_record_money)
PREDICATES = {
    "member": (False, False, False),
    "secretary": (False, False, False),
    "treasurer": (False, True, True),
    "manager": (True, True, False),
    "manager, charter": (True, True, True),
    "member, charter": (False, False, False),
}


@pytest.mark.parametrize(("role", "expected"), PREDICATES.items(), ids=PREDICATES.keys())
def test_each_predicate_for_each_role(people, role, expected):
    member = access.membership_for(*people[role])
    assert (access.is_manager(member), access.is_bookkeeper(member), access.may_record_money(member)) == expected


# --- The club-scoped lookup ---------------------------------------------------------------------------------


NO_SUCH = _l("No such member.")


@pytest.fixture
def two_clubs(make_club):
    return make_club(5), make_club(5, name="Cigale Voisine")


@pytest.mark.parametrize("lock", [False, True], ids=["read", "locked"])
def test_the_lookup_finds_the_object_in_its_club(two_clubs, lock):
    ours, _ = two_clubs
    wanted = ours.membership_id(ours.members[3])
    with unit_of_work():
        found = lookup.in_club(Membership, ours.club_id, wanted, lock=lock, missing=NO_SUCH)
    assert (found.id, found.club_id) == (wanted, ours.club_id)


def unknown(ours, theirs) -> int:
    return db.session.scalar(select(func.max(Membership.id))) + 1000


@pytest.mark.parametrize("object_id", [
    pytest.param(lambda ours, theirs: theirs.membership_id(theirs.members[3]), id="another club's"),
    pytest.param(unknown, id="unknown"),
    pytest.param(lambda ours, theirs: 2**31 - 1, id="largest id"),
    pytest.param(lambda ours, theirs: 2**31, id="past 2^31-1"),
    pytest.param(lambda ours, theirs: 10**30, id="far past"),
    pytest.param(lambda ours, theirs: 0, id="zero"),
    pytest.param(lambda ours, theirs: -1, id="negative"),
    pytest.param(lambda ours, theirs: True, id="True"),
    pytest.param(lambda ours, theirs: str(ours.membership_id(ours.members[3])), id="as text"),
    pytest.param(lambda ours, theirs: float(ours.membership_id(ours.members[3])), id="as float"),
    pytest.param(lambda ours, theirs: None, id="None"),
])
@pytest.mark.parametrize("lock", [False, True], ids=["read", "locked"])
def test_the_lookup_finds_nothing_else(two_clubs, object_id, lock):
    ours, theirs = two_clubs
    wanted = object_id(ours, theirs)
    with pytest.raises(NotFound) as caught:
        with unit_of_work():
            lookup.in_club(Membership, ours.club_id, wanted, lock=lock, missing=NO_SUCH)
    assert english(caught.value.message) == "No such member."


def test_the_locked_lookup_is_for_update_of_that_row_on_postgresql_only():
    locked = lookup._by_id(Membership, True)
    assert "FOR UPDATE OF membership" in str(locked.compile(dialect=postgresql.dialect()))
    assert "FOR UPDATE" not in str(locked.compile(dialect=sqlite.dialect()))
    assert "FOR UPDATE" not in str(lookup._by_id(Membership, False).compile(dialect=postgresql.dialect()))
