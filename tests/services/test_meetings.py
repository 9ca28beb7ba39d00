"""General meetings (R14) through the services: convening with the notice and the convocation mailed with the
agenda; the agenda (any kind of ballot, the yearly agenda prefilled, the accounts of a closed year); proxies for
the meeting; opening, attendance and the meeting's quorum; voting in the room (only members present, for
themselves and the members they represent); closing items and the meeting; the minutes, signed by two different
members, and the register. Every refusal writes nothing. On both databases.

Clubs come from ``make_club``: members[0] manager, [1] treasurer, [2] secretary (``secretary=True``), the others
plain members. A meeting "at hand" was convened sixteen days ago for a few minutes from now: its agenda was set
then (``then``), and the session runs on the real clock."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select, update

from coop import clock
from coop.explain import explain
from coop.extensions import db
from coop.models import AuditEntry, Ballot, BallotChoice, BallotVote, BallotVoter, Meeting, Membership, Proxy, YearEnd
from coop.models.base import utcnow
from coop.services import attendance, ballots, meetings, tally, yearend
from coop.services.ballots import Subject
from coop.services.errors import Conflict, InvalidInput, LimitExceeded, NotFound, NotPermitted, RuleViolation
from tests.conftest import by_id, key, refused
from tests.services.test_year_end import close as close_year
from tests.services.test_year_end import contributions_only
from tests.smtp import smtp_server

ZONE = "Europe/Paris"  # a club in euros
PLACE = "Salle des fêtes, Die"
LAST_YEAR = date.today().year - 1


# --- Helpers ---------------------------------------------------------------------------------------------


def wall(moment: datetime) -> datetime:
    """A stored moment (UTC) as a member types it, on the club's clock."""
    return clock.local(moment, ZONE).replace(tzinfo=None)


def ahead(days: int, *, now: datetime | None = None, hour: int = 18) -> datetime:
    """A time ``days`` days from today on the club's clock, as typed."""
    return (clock.local_now(ZONE, now=now) + timedelta(days=days)).replace(hour=hour, minute=30, second=0,
                                                                          microsecond=0)


def convene(setup, *, days: int = 20, user=None, **values) -> Meeting:
    values = {"kind": "ordinary", "scheduled_at": ahead(days, now=values.get("now")), "place": PLACE,
              "form_key": key(), **values}
    return meetings.convene((user or setup.manager).id, setup.club_id, **values)


@dataclass
class AtHand:
    setup: object
    meeting_id: int
    then: datetime  # when it was convened, and its agenda set

    @property
    def club_id(self) -> int:
        return self.setup.club_id

    def mid(self, user) -> int:
        return self.setup.membership_id(user)

    def meeting(self) -> Meeting:
        db.session.rollback()
        return by_id(Meeting, self.meeting_id)

    def add(self, kind="election", method="yes_no", subject=None, **values) -> Ballot:
        return meetings.add_item(self.setup.manager.id, self.club_id, self.meeting_id, kind=kind, method=method,
                                 subject=subject or Subject(), form_key=key(), now=self.then, **values)

    def open(self, **values) -> Meeting:
        return meetings.open_meeting(self.setup.manager.id, self.club_id, self.meeting_id, **values)

    def mark(self, user, presence="present", holder=None, by=None):
        return meetings.record_attendance((by or self.setup.manager).id, self.club_id, self.meeting_id,
                                          self.mid(user), presence,
                                          holder_id=self.mid(holder) if holder is not None else None)

    def vote(self, user, ballot_id: int, value=tally.YES, for_user=None):
        ballot = by_id(Ballot, ballot_id)
        option = ballot.options[0].id
        return ballots.vote(user.id, self.club_id, ballot_id, choices={option: value},
                            for_member=self.mid(for_user) if for_user is not None else None)


def at_hand(setup, *, kind: str = "ordinary", **values) -> AtHand:
    moment = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=5)
    then = moment - timedelta(days=16)
    meeting = meetings.convene(setup.manager.id, setup.club_id, kind=kind, scheduled_at=wall(moment),
                               place=values.pop("place", PLACE), form_key=key(), now=then, **values)
    return AtHand(setup, meeting.id, then)


def presence(hand: AtHand) -> dict[int, tuple[str, int | None]]:
    return {r.membership_id: (r.presence, r.holder_id) for r in attendance.rows(hand.meeting())}


def fresh(ballot_id: int) -> Ballot:
    db.session.rollback()
    return by_id(Ballot, ballot_id)


@pytest.fixture
def inbox(app):
    with smtp_server(app) as box:
        yield box


@pytest.fixture
def hand(make_club) -> AtHand:
    """A club of six and an ordinary meeting at hand with one item: re-electing the treasurer (secret, yes/no)."""
    hand = at_hand(make_club(6, secretary=True))
    hand.election = hand.add(subject=Subject(role="treasurer", candidate_ids=[hand.mid(hand.setup.treasurer)])).id
    return hand


# --- Convening ---------------------------------------------------------------------------------------------


def test_the_manager_convenes_a_meeting_and_every_member_is_mailed_the_convocation_with_the_agenda(app, inbox,
                                                                                                   make_club):
    setup = make_club(5)
    meeting = convene(setup, prefill=True)  # the officers' terms end within a year: their elections

    assert (meeting.status, meeting.kind, meeting.place) == ("planned", "ordinary", PLACE)
    assert clock.local(meeting.scheduled_at, ZONE).replace(tzinfo=None) == ahead(20)
    items = ballots.meeting_items(meeting)
    assert [(b.kind, b.role, b.status) for b in items] == [("election", "manager", "open"),
                                                           ("election", "treasurer", "open")]
    mail = inbox.mail
    assert sorted(m.rcpt_tos[0] for m in mail) == sorted(u.email for u in setup.members)
    first = next(m for m in mail if m.rcpt_tos == (setup.manager.email,))
    with force_locale("fr"):
        from coop.explain import ballot_name, meeting_name

        name = meeting_name(meeting, ZONE)
        assert first.subject == gettext("Convocation: %(meeting)s", meeting=name)
        assert f"1. {ballot_name(items[0])}\n2. {ballot_name(items[1])}\n" in first.body
        assert gettext("Where: %(place)s", place=PLACE) in first.body
    assert f"/clubs/{setup.club_id}/meetings/{meeting.id}" in first.body
    assert not any("vote" in m.subject.lower() for m in mail)  # the items' ballots send no "a vote is open"


def test_a_meeting_by_video_only_and_the_notice_counted_in_days_on_the_clubs_clock(make_club):
    setup = make_club(5)
    exactly = convene(setup, days=15, place="", video_link="https://visio.example.org/cigale")  # 15 days: enough
    assert (exactly.place, exactly.video_link) == ("", "https://visio.example.org/cigale")
    refused(lambda: convene(setup, days=14), RuleViolation, rule="R14", field="scheduled_at")


def test_an_extraordinary_meeting_needs_the_same_notice(make_club):
    setup = make_club(5)
    refused(lambda: convene(setup, days=14, kind="extraordinary"), RuleViolation, rule="R14", field="scheduled_at")
    assert convene(setup, days=15, kind="extraordinary").kind == "extraordinary"


@pytest.mark.parametrize(("change", "error", "field"), [
    ({"days": -1}, InvalidInput, "scheduled_at"),  # past
    ({"minutes_ago": 60}, InvalidInput, "scheduled_at"),  # an hour ago: past
    ({"days": 3}, RuleViolation, "scheduled_at"),  # too short notice
    ({"days": 200}, InvalidInput, "scheduled_at"),  # too far
    ({"scheduled_at": "2030-01-01T18:00"}, InvalidInput, "scheduled_at"),
    ({"place": ""}, InvalidInput, "place"),  # neither place nor link
    ({"place": "", "video_link": "ftp://visio.example.org"}, InvalidInput, "video_link"),
    ({"video_link": "javascript:alert(1)"}, InvalidInput, "video_link"),
    ({"video_link": "https://"}, InvalidInput, "video_link"),
    ({"video_link": "visio.example.org/cigale"}, InvalidInput, "video_link"),
    ({"video_link": "https://visio.example.org/a b"}, InvalidInput, "video_link"),
    ({"place": "x" * 201}, InvalidInput, "place"),
    ({"title": "a\x00b"}, InvalidInput, "title"),
    ({"kind": "annual"}, InvalidInput, "kind"),
    ({"kind": "extraordinary", "prefill": True}, InvalidInput, "prefill"),
    ({"form_key": "replayed"}, InvalidInput, None),
])
def test_convening_refusals_write_nothing(make_club, change, error, field):
    setup = make_club(5)
    change = dict(change)
    values = {"kind": "ordinary", "place": PLACE, "form_key": key()}
    if "days" in change:
        values["scheduled_at"] = ahead(change.pop("days"))
    elif "minutes_ago" in change:
        values["scheduled_at"] = wall(utcnow() - timedelta(minutes=change.pop("minutes_ago")))
    else:
        values["scheduled_at"] = ahead(20)
    values.update(change)
    refused(lambda: meetings.convene(setup.manager.id, setup.club_id, **values), error, field=field)


def test_only_the_manager_of_an_active_club_convenes_and_a_form_is_sent_once(make_club):
    setup = make_club(5)
    refused(lambda: convene(setup, user=setup.treasurer), NotPermitted)
    outsider = make_club(5, name="Cigale Voisine").manager
    refused(lambda: convene(setup, user=outsider), NotFound)
    sent = key()
    convene(setup, form_key=sent)
    refused(lambda: convene(setup, form_key=sent), Conflict)
    forming = make_club(5, activate=False, name="Cigale en formation")
    refused(lambda: convene(forming), Conflict)


# --- The agenda -----------------------------------------------------------------------------------------------


def test_an_item_is_a_ballot_of_the_meeting_not_voted_before_the_session(hand):
    item = fresh(hand.election)
    assert (item.meeting_id, item.kind, item.secret, item.year) == (hand.meeting_id, "election", True, None)
    refused(lambda: hand.vote(hand.setup.members[3], item.id), Conflict)
    refused(lambda: ballots.give_proxy(hand.setup.members[3].id, hand.club_id, item.id, hand.mid(hand.setup.members[4])),
            RuleViolation, rule="R14")
    refused(lambda: ballots.close_early(hand.setup.manager.id, hand.club_id, item.id), Conflict)
    assert ballots.open_ballots_for(hand.setup.members[3].id) == []  # voted in the room, not from the home page


@pytest.mark.parametrize(("kind", "subject", "error", "rule"), [
    ("renewal", Subject(), RuleViolation, "R14"),  # an ordinary meeting's
    ("dissolution", Subject(), RuleViolation, "R14"),
    ("charter", Subject(changes={"quorum_percent": 60}), RuleViolation, "R14"),
    ("accounts", Subject(year=LAST_YEAR), RuleViolation, "R14"),  # no closed year
    ("accounts", Subject(year=None), InvalidInput, None),
    ("referendum", Subject(), InvalidInput, None),
    ("election", Subject(role="treasurer", candidate_ids=[999_999]), NotFound, None),
])
def test_agenda_refusals_write_nothing(hand, kind, subject, error, rule):
    refused(lambda: hand.add(kind=kind, subject=subject), error, rule=rule)


def test_the_agenda_is_set_while_the_notice_runs_by_the_manager_of_this_club(hand, make_club):
    setup = hand.setup
    dissolution = Subject()
    refused(lambda: meetings.add_item(setup.manager.id, hand.club_id, hand.meeting_id, kind="election",
                                      method="yes_no", subject=Subject(role="secretary",
                                                                       candidate_ids=[hand.mid(setup.members[2])]),
                                      form_key=key()),
            RuleViolation, rule="R14")  # today: the meeting is in minutes
    refused(lambda: meetings.add_item(setup.treasurer.id, hand.club_id, hand.meeting_id, kind="dissolution",
                                      method="yes_no", subject=dissolution, form_key=key(), now=hand.then),
            NotPermitted)
    other = make_club(5, name="Cigale Voisine")
    refused(lambda: meetings.add_item(other.manager.id, other.club_id, hand.meeting_id, kind="election",
                                      method="yes_no", subject=Subject(role="secretary",
                                                                       candidate_ids=[other.membership_id(other.members[2])]),
                                      form_key=key(), now=hand.then), NotFound)
    meetings.cancel(setup.manager.id, hand.club_id, hand.meeting_id, "Salle indisponible")
    refused(lambda: hand.add(kind="election", subject=Subject(role="secretary",
                                                              candidate_ids=[hand.mid(setup.members[2])])), Conflict)


def test_the_accounts_are_approved_only_at_a_meeting_and_only_for_a_closed_year(make_club):
    setup = contributions_only(make_club, LAST_YEAR)
    refused(lambda: ballots.open_ballot(setup.manager.id, setup.club_id, kind="accounts", method="yes_no",
                                        closes_at=utcnow() + timedelta(days=7), subject=Subject(year=LAST_YEAR),
                                        form_key=key()), RuleViolation, rule="R14", field="kind")
    hand = at_hand(setup)
    refused(lambda: hand.add(kind="accounts", subject=Subject(year=LAST_YEAR)), RuleViolation, rule="R14",
            field="year")
    close_year(setup, LAST_YEAR)
    item = hand.add(kind="accounts", subject=Subject(year=LAST_YEAR), details="Le rapport du trésorier.")
    assert (item.year, item.threshold, item.details) == (LAST_YEAR, "majority", "Le rapport du trésorier.")
    refused(lambda: hand.add(kind="accounts", subject=Subject(year=LAST_YEAR)), Conflict)  # already on an agenda
    extraordinary = at_hand(setup, kind="extraordinary")
    refused(lambda: extraordinary.add(kind="accounts", subject=Subject(year=LAST_YEAR)), RuleViolation, rule="R14",
            field="kind")


def test_an_adopted_accounts_item_approves_the_years_accounts(make_club):
    setup = contributions_only(make_club, LAST_YEAR)
    close_year(setup, LAST_YEAR)
    hand = at_hand(setup)
    item = hand.add(kind="accounts", subject=Subject(year=LAST_YEAR))
    hand.open(secretary_id=hand.mid(setup.members[2]))
    for user in (setup.members[1], *setup.members[3:]):
        hand.mark(user)
    for user in setup.members:
        hand.vote(user, item.id)
    meetings.close_item(setup.manager.id, setup.club_id, hand.meeting_id, item.id)

    decided = fresh(item.id)
    assert (decided.outcome, decided.effect_error) == ("adopted", None)
    approved = db.session.scalar(select(YearEnd).where(YearEnd.club_id == setup.club_id, YearEnd.year == LAST_YEAR))
    assert (approved.approval_ballot_id, approved.approved_at is not None) == (item.id, True)
    assert yearend.approvable_years(setup.club_id) == []
    refused(lambda: yearend.approvable(setup.club_id, LAST_YEAR), Conflict, field="year")


def test_accounts_reopened_after_they_were_put_to_the_vote_are_not_approved(make_club):
    setup = contributions_only(make_club, LAST_YEAR)
    close_year(setup, LAST_YEAR)
    hand = at_hand(setup)
    item = hand.add(kind="accounts", subject=Subject(year=LAST_YEAR))
    hand.open(secretary_id=hand.mid(setup.members[2]))
    for user in (setup.members[1], *setup.members[3:]):
        hand.mark(user)
    for user in setup.members:
        hand.vote(user, item.id)
    yearend.reopen_year(setup.treasurer.id, setup.club_id, LAST_YEAR, "Une facture oubliée", form_key=key())
    close_year(setup, LAST_YEAR)
    meetings.close_meeting(setup.manager.id, setup.club_id, hand.meeting_id)

    decided = fresh(item.id)
    assert decided.outcome == "adopted"
    assert decided.effect_error.startswith("R14: The year")
    assert yearend.approvable_years(setup.club_id) == [LAST_YEAR]


def test_the_yearly_agenda_is_prefilled_with_the_accounts_and_the_elections_due(make_club):
    setup = contributions_only(make_club, LAST_YEAR)
    close_year(setup, LAST_YEAR)
    manager, treasurer = setup.members[0], setup.members[1]
    # The treasurer's term ends in two years: not due before the next yearly meeting.
    db.session.execute(update(Membership).where(Membership.id == setup.membership_id(treasurer))
                       .values(role_until=date.today() + timedelta(days=730)))
    db.session.commit()
    meeting = convene(setup)

    added = meetings.prefill_ordinary_agenda(setup.manager.id, setup.club_id, meeting.id, report="Tout va bien.",
                                             form_key=key())

    assert [(b.kind, b.year, b.role, [o.membership_id for o in b.options], b.secret) for b in added] == [
        ("accounts", LAST_YEAR, None, [None], False),
        ("election", None, "manager", [setup.membership_id(manager)], True)]
    assert added[0].details == "Tout va bien."
    refused(lambda: meetings.prefill_ordinary_agenda(setup.manager.id, setup.club_id, meeting.id, form_key=key()),
            Conflict)  # everything due is on the agenda
    extraordinary = convene(setup, kind="extraordinary")
    refused(lambda: meetings.prefill_ordinary_agenda(setup.manager.id, setup.club_id, extraordinary.id,
                                                     form_key=key()), RuleViolation, rule="R14")


def test_a_lapsed_officer_is_on_the_yearly_agenda_too(make_club):
    setup = make_club(5)
    db.session.execute(update(Membership).where(Membership.id == setup.membership_id(setup.treasurer))
                       .values(role_until=date.today() - timedelta(days=1)))
    db.session.commit()
    meeting = convene(setup)
    added = meetings.prefill_ordinary_agenda(setup.manager.id, setup.club_id, meeting.id, form_key=key())
    assert [b.role for b in added] == ["manager", "treasurer"]


# --- Proxies for the meeting ----------------------------------------------------------------------------------


def test_a_member_gives_their_proxy_for_the_meeting_within_the_charters_limit(hand):
    m = hand.setup.members
    given = meetings.give_proxy(m[3].id, hand.club_id, hand.meeting_id, hand.mid(m[4]))
    assert (given.presence, given.holder_id) == ("represented", hand.mid(m[4]))
    refused(lambda: meetings.give_proxy(m[5].id, hand.club_id, hand.meeting_id, hand.mid(m[4])), LimitExceeded,
            rule="R9")  # one per holder
    refused(lambda: meetings.give_proxy(m[4].id, hand.club_id, hand.meeting_id, hand.mid(m[5])), RuleViolation,
            rule="R9")  # holds one: no proxy on a proxy
    refused(lambda: meetings.give_proxy(m[5].id, hand.club_id, hand.meeting_id, hand.mid(m[3])), RuleViolation,
            rule="R9")  # gave theirs
    refused(lambda: meetings.give_proxy(m[3].id, hand.club_id, hand.meeting_id, hand.mid(m[5])), Conflict)
    refused(lambda: meetings.give_proxy(m[5].id, hand.club_id, hand.meeting_id, hand.mid(m[5])), InvalidInput,
            field="holder_id")
    refused(lambda: meetings.give_proxy(m[5].id, hand.club_id, hand.meeting_id, 2**40), InvalidInput,
            field="holder_id")
    meetings.withdraw_proxy(m[3].id, hand.club_id, hand.meeting_id)
    assert presence(hand) == {}
    refused(lambda: meetings.withdraw_proxy(m[3].id, hand.club_id, hand.meeting_id), Conflict)


# --- Opening, attendance and the quorum --------------------------------------------------------------------------


def test_opening_takes_the_attendance_list_and_copies_the_charters_meeting_quorum(hand):
    m = hand.setup.members
    meetings.give_proxy(m[3].id, hand.club_id, hand.meeting_id, hand.mid(m[4]))
    meetings.give_proxy(m[2].id, hand.club_id, hand.meeting_id, hand.mid(m[5]))  # the secretary, who then comes

    opened = hand.open()

    assert (opened.status, opened.quorum_percent, opened.eligible_count, opened.max_proxies) == (
        "in_session", 50, 6, 1)
    assert (opened.chair_id, opened.secretary_id) == (hand.mid(m[0]), hand.mid(m[2]))
    assert presence(hand) == {hand.mid(m[0]): ("present", None), hand.mid(m[1]): ("absent", None),
                              hand.mid(m[2]): ("present", None), hand.mid(m[3]): ("represented", hand.mid(m[4])),
                              hand.mid(m[4]): ("absent", None), hand.mid(m[5]): ("absent", None)}
    item = fresh(hand.election)
    assert (item.opened_at >= opened.opened_at, item.eligible_count) == (True, 6)
    # The proxy follows on the item: m[4] holds m[3]'s vote.
    assert [(p.giver_id, p.holder_id) for p in db.session.scalars(
        select(Proxy).where(Proxy.ballot_id == item.id, Proxy.ended_at.is_(None)))] == [(hand.mid(m[3]), hand.mid(m[4]))]


@pytest.mark.parametrize(("values", "error", "rule", "field", "when"), [
    ({}, Conflict, None, None, -2),  # two hours early
    ({"secretary_id": "chair"}, RuleViolation, "R14", "secretary_id", 0),
    ({"chair_id": 999_999}, InvalidInput, None, "chair_id", 0),
])
def test_opening_refusals_write_nothing(hand, values, error, rule, field, when):
    if values.get("secretary_id") == "chair":
        values = {"secretary_id": hand.mid(hand.setup.manager)}
    moment = hand.meeting().scheduled_at + timedelta(hours=when)
    refused(lambda: meetings.open_meeting(hand.setup.manager.id, hand.club_id, hand.meeting_id, now=moment, **values),
            error, rule=rule, field=field)


def test_only_the_manager_opens_and_a_club_without_a_secretary_names_one(make_club):
    hand = at_hand(make_club(5))
    refused(lambda: meetings.open_meeting(hand.setup.treasurer.id, hand.club_id, hand.meeting_id), NotPermitted)
    refused(lambda: hand.open(), InvalidInput, field="secretary_id")
    assert hand.open(secretary_id=hand.mid(hand.setup.members[3])).secretary_id == hand.mid(hand.setup.members[3])
    refused(lambda: hand.open(secretary_id=hand.mid(hand.setup.members[3])), Conflict)  # already open
    late = at_hand(hand.setup)
    refused(lambda: meetings.open_meeting(hand.setup.manager.id, hand.club_id, late.meeting_id,
                                          secretary_id=hand.mid(hand.setup.members[3]),
                                          now=late.meeting().scheduled_at + timedelta(hours=25)), Conflict)


@pytest.mark.parametrize(("size", "present", "represented", "met"), [
    (6, 2, 0, False),
    (6, 3, 0, True),  # exactly half: the share is enough
    (6, 2, 1, True),  # a member represented by a present holder counts
    (5, 2, 0, False),  # half of five is 2.5: three are needed
    (5, 2, 1, True),
])
def test_the_meeting_quorum_counts_present_and_represented_members(make_club, size, present, represented, met):
    setup = make_club(size, secretary=True)
    hand = at_hand(setup)
    m = setup.members
    hand.open()
    for user in m[3:3 + present - 2]:
        hand.mark(user)
    for user in m[3 + present - 2:3 + present - 2 + represented]:
        hand.mark(user, "represented", holder=m[0])
    quorum = attendance.quorum(hand.meeting())
    assert (quorum.present, quorum.represented, quorum.eligible, quorum.met) == (present, represented, size, met)


def test_a_representation_counts_only_while_its_holder_is_present(hand):
    m = hand.setup.members
    meetings.give_proxy(m[3].id, hand.club_id, hand.meeting_id, hand.mid(m[4]))
    hand.open()
    assert attendance.quorum(hand.meeting()).taking_part == 2  # the chair and the secretary; m[4] is not there
    hand.mark(m[4])
    assert attendance.quorum(hand.meeting()).taking_part == 4
    hand.mark(m[4], "absent")  # gone: m[3]'s proxy no longer counts
    assert attendance.quorum(hand.meeting()).taking_part == 2


def test_late_arrivals_and_paper_proxies_are_recorded_and_audited(hand):
    m = hand.setup.members
    hand.open()
    hand.mark(m[3])  # late arrival
    hand.mark(m[5], "represented", holder=m[3])  # a proxy handed in on paper
    assert presence(hand)[hand.mid(m[5])] == ("represented", hand.mid(m[3]))
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.club_id == hand.club_id,
                                                                 AuditEntry.action == "meeting.attendance")).all()
    assert len(actions) == 2


@pytest.mark.parametrize(("who", "target", "presence_", "holder", "error", "rule", "field"), [
    (3, 4, "present", None, NotPermitted, None, None),  # not the chair
    (0, 4, "here", None, InvalidInput, None, "presence"),
    (0, 4, "represented", None, InvalidInput, None, "holder_id"),
    (0, 4, "represented", 5, InvalidInput, None, "holder_id"),  # the holder is absent
    (0, 4, "represented", 4, InvalidInput, None, "holder_id"),
    (0, 2, "absent", None, RuleViolation, "R14", "presence"),  # the secretary stays
    (0, 4, "absent", None, Conflict, None, None),  # nothing changes
    (0, 4, "represented", 3, LimitExceeded, "R9", None),  # m[3] holds the one proxy the charter allows
    (0, None, "present", None, NotFound, None, None),  # another club's member
])
def test_attendance_refusals_write_nothing(hand, make_club, who, target, presence_, holder, error, rule, field):
    m = hand.setup.members
    hand.open()
    hand.mark(m[3])
    hand.mark(m[1], "represented", holder=m[3])  # m[3] now holds one proxy
    if target is None:
        other = make_club(5, name="Cigale Voisine")
        target_id = other.membership_id(other.members[3])
    else:
        target_id = hand.mid(m[target])
    holder_id = hand.mid(m[holder]) if holder is not None else None
    refused(lambda: meetings.record_attendance(m[who].id, hand.club_id, hand.meeting_id, target_id, presence_,
                                               holder_id=holder_id), error, rule=rule, field=field)


def test_attendance_is_taken_only_in_session(hand):
    refused(lambda: hand.mark(hand.setup.members[3]), Conflict)


# --- Voting in the room ------------------------------------------------------------------------------------------


def test_only_present_members_vote_and_only_with_the_quorum(hand):
    m = hand.setup.members
    hand.open()
    refused(lambda: hand.vote(m[0], hand.election), RuleViolation, rule="R14")  # 2 of 6: no quorum
    hand.mark(m[3])
    hand.vote(m[0], hand.election)  # 3 of 6: the meeting votes
    refused(lambda: hand.vote(m[4], hand.election), RuleViolation, rule="R14")  # absent
    hand.mark(m[4])
    hand.vote(m[4], hand.election, tally.NO)
    assert sum(v.voted for v in db.session.scalars(select(BallotVoter).where(
        BallotVoter.ballot_id == hand.election))) == 2


def test_a_present_holder_votes_for_the_member_they_represent_and_the_giver_coming_in_person_replaces_it(make_club):
    setup = make_club(6, secretary=True)
    hand = at_hand(setup)
    m = setup.members
    target = hand.mid(m[5])
    exclusion = hand.add(kind="exclusion", subject=Subject(membership_id=target)).id  # open ballot, m[5] recused
    meetings.give_proxy(m[3].id, hand.club_id, hand.meeting_id, hand.mid(m[4]))
    hand.open()
    hand.mark(m[4])
    hand.vote(m[4], exclusion, tally.YES, for_user=m[3])
    hand.vote(m[4], exclusion, tally.NO)
    refused(lambda: hand.vote(m[0], exclusion, tally.YES, for_user=m[3]), NotPermitted)  # not their proxy
    hand.mark(m[3])  # arrives: the proxy ends, the vote the holder cast stands until m[3] votes
    refused(lambda: hand.vote(m[4], exclusion, tally.YES, for_user=m[3]), NotPermitted)
    hand.vote(m[3], exclusion, tally.NO)  # in person: replaces the holder's vote for them
    refused(lambda: hand.vote(m[5], exclusion), RuleViolation, rule="R14")  # absent (and recused)
    hand.mark(m[5])
    refused(lambda: hand.vote(m[5], exclusion), RuleViolation, rule="R8")
    hand.mark(m[1])
    for user in m[:3]:
        hand.vote(user, exclusion, tally.NO)
    meetings.close_item(setup.manager.id, hand.club_id, hand.meeting_id, exclusion)
    decided = fresh(exclusion)
    assert (decided.outcome, decided.tally["yes"], decided.tally["no"], decided.eligible_count) == ("rejected", 0, 5, 5)
    votes = {(v.voter_id, v.cast_by_id, v.value) for v in db.session.scalars(select(BallotVote).where(
        BallotVote.ballot_id == exclusion))}
    assert (hand.mid(m[3]), hand.mid(m[3]), tally.NO) in votes


def test_a_secret_election_at_the_meeting_elects_and_is_counted_like_any_ballot(hand):
    m = hand.setup.members
    meetings.give_proxy(m[5].id, hand.club_id, hand.meeting_id, hand.mid(m[3]))
    hand.open()
    hand.mark(m[3])
    hand.mark(m[1])
    for user in m[:4]:
        hand.vote(user, hand.election)
    hand.vote(m[3], hand.election, for_user=m[5])
    refused(lambda: hand.vote(m[3], hand.election), Conflict)  # secret: no change
    refused(lambda: meetings.close_item(m[3].id, hand.club_id, hand.meeting_id, hand.election), NotPermitted)
    meetings.close_item(hand.setup.manager.id, hand.club_id, hand.meeting_id, hand.election)
    decided = fresh(hand.election)
    assert (decided.outcome, decided.tally["yes"], decided.tally["participants"]) == ("adopted", 5, 5)
    assert db.session.scalar(select(BallotChoice).where(BallotChoice.ballot_id == hand.election)) is None
    assert by_id(Membership, hand.mid(hand.setup.treasurer)).role_until > date.today() + timedelta(days=300)
    refused(lambda: meetings.close_item(hand.setup.manager.id, hand.club_id, hand.meeting_id, hand.election), Conflict)


def test_closing_the_meeting_closes_its_open_items_and_without_a_quorum_cancels_them(make_club):
    setup = make_club(6, secretary=True)
    voted = at_hand(setup)
    item = voted.add(subject=Subject(role="treasurer", candidate_ids=[voted.mid(setup.treasurer)])).id
    voted.open()
    voted.mark(setup.members[3])
    for user in (setup.members[0], setup.members[2], setup.members[3]):
        voted.vote(user, item)
    closed = meetings.close_meeting(setup.manager.id, setup.club_id, voted.meeting_id)
    assert (closed.status, closed.quorum_met, fresh(item).outcome) == ("closed", True, "adopted")

    empty = at_hand(setup)
    second = empty.add(subject=Subject(role="secretary", candidate_ids=[empty.mid(setup.members[2])])).id
    meetings.give_proxy(setup.members[4].id, setup.club_id, empty.meeting_id, empty.mid(setup.members[5]))
    empty.open()
    closed = meetings.close_meeting(setup.manager.id, setup.club_id, empty.meeting_id)
    assert (closed.quorum_met, fresh(second).status, fresh(second).cancel_reason) == (
        False, "cancelled", meetings.NO_QUORUM)
    # m[4] was represented by an absent holder: recorded absent.
    assert presence(empty)[empty.mid(setup.members[4])] == ("absent", None)
    refused(lambda: meetings.close_meeting(setup.manager.id, setup.club_id, empty.meeting_id), Conflict)
    assert meetings.check() == []


def test_a_meeting_is_cancelled_before_it_opens_with_its_items_and_members_are_told(app, inbox, hand):
    assert len(inbox.mail) == 12  # the convocation, then the new agenda; waits for the outbox
    inbox.clear()
    cancelled = meetings.cancel(hand.setup.manager.id, hand.club_id, hand.meeting_id, "Salle indisponible")
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "Salle indisponible")
    item = fresh(hand.election)
    assert (item.status, item.cancel_reason) == ("cancelled", meetings.CANCELLED + "Salle indisponible")
    assert {m.rcpt_tos[0] for m in inbox.mail} == {u.email for u in hand.setup.members}
    assert len(inbox.mail) == 6
    refused(lambda: meetings.cancel(hand.setup.manager.id, hand.club_id, hand.meeting_id, "Encore"), Conflict)
    refused(lambda: hand.open(), Conflict)
    refused(lambda: meetings.give_proxy(hand.setup.members[3].id, hand.club_id, hand.meeting_id,
                                        hand.mid(hand.setup.members[4])), Conflict)


def test_a_meeting_in_session_is_not_cancelled_and_the_cancellation_needs_its_reason(hand):
    refused(lambda: meetings.cancel(hand.setup.manager.id, hand.club_id, hand.meeting_id, " "), InvalidInput,
            field="reason")
    refused(lambda: meetings.cancel(hand.setup.treasurer.id, hand.club_id, hand.meeting_id, "Non"), NotPermitted)
    hand.open()
    refused(lambda: meetings.cancel(hand.setup.manager.id, hand.club_id, hand.meeting_id, "Trop tard"), Conflict)


# --- The minutes -----------------------------------------------------------------------------------------------


def held(hand) -> Meeting:
    """The meeting at hand held: m[3] present, m[5] represented by m[3], m[1] and m[4] absent; the treasurer
    re-elected; closed."""
    m = hand.setup.members
    hand.open()
    hand.mark(m[3])
    hand.mark(m[5], "represented", holder=m[3])
    for user in (m[0], m[2], m[3]):
        hand.vote(user, hand.election)
    hand.vote(m[3], hand.election, for_user=m[5])
    return meetings.close_meeting(hand.setup.manager.id, hand.club_id, hand.meeting_id)


def test_the_minutes_draft_holds_the_attendance_the_quorum_and_each_decision(hand):
    m = hand.setup.members
    held(hand)
    minutes = meetings.minutes_of(m[4].id, hand.club_id, hand.meeting_id)
    assert [x.id for x in minutes.present] == sorted([hand.mid(u) for u in (m[0], m[2], m[3])],
                                                     key=lambda i: by_id(Membership, i).user.name.casefold())
    assert [(g.id, h.id) for g, h in minutes.represented] == [(hand.mid(m[5]), hand.mid(m[3]))]
    assert {x.id for x in minutes.absent} == {hand.mid(m[1]), hand.mid(m[4])}
    assert (minutes.quorum.taking_part, minutes.quorum.needed, minutes.meeting.quorum_met) == (4, 3, True)
    assert [b.id for b in minutes.items] == [hand.election]
    with force_locale("en"):
        assert explain(minutes.items[0])[-1] == "Adopted."
    assert (minutes.may_write, minutes.may_sign) == (False, False)  # a plain member reads them


def test_the_secretary_writes_and_signs_then_the_chair_and_the_minutes_are_frozen_and_registered(hand):
    m = hand.setup.members
    secretary, chair = m[2], m[0]
    refused(lambda: meetings.write_minutes(secretary.id, hand.club_id, hand.meeting_id, "Trop tôt"), NotPermitted)
    held(hand)
    refused(lambda: meetings.sign_minutes(chair.id, hand.club_id, hand.meeting_id), Conflict)  # the secretary first
    refused(lambda: meetings.write_minutes(m[3].id, hand.club_id, hand.meeting_id, "Moi"), NotPermitted)
    refused(lambda: meetings.sign_minutes(m[3].id, hand.club_id, hand.meeting_id), NotPermitted)
    meetings.write_minutes(secretary.id, hand.club_id, hand.meeting_id, "Le trésorier présente son rapport.\nDébat.")
    refused(lambda: meetings.write_minutes(secretary.id, hand.club_id, hand.meeting_id,
                                           "Le trésorier présente son rapport.\nDébat."), Conflict)
    assert meetings.signed_minutes(m[4].id, hand.club_id) == []

    meetings.sign_minutes(secretary.id, hand.club_id, hand.meeting_id)
    refused(lambda: meetings.write_minutes(secretary.id, hand.club_id, hand.meeting_id, "Autre chose"), Conflict)
    refused(lambda: meetings.sign_minutes(secretary.id, hand.club_id, hand.meeting_id), Conflict)
    assert meetings.signed_minutes(m[4].id, hand.club_id) == []
    signed = meetings.sign_minutes(chair.id, hand.club_id, hand.meeting_id)

    assert signed.minutes_signed and signed.chair_id != signed.secretary_id
    assert [x.id for x in meetings.signed_minutes(m[4].id, hand.club_id)] == [hand.meeting_id]
    refused(lambda: meetings.sign_minutes(chair.id, hand.club_id, hand.meeting_id), Conflict)
    assert hand.meeting().minutes == "Le trésorier présente son rapport.\nDébat."


def test_the_database_refuses_minutes_signed_twice_by_one_member(hand):
    """The opening refuses a chair who is the secretary; the table refuses it too."""
    from sqlalchemy.exc import IntegrityError

    held(hand)
    with pytest.raises(IntegrityError):
        db.session.execute(update(Meeting).where(Meeting.id == hand.meeting_id)
                           .values(secretary_id=hand.mid(hand.setup.manager)))
        db.session.flush()
    db.session.rollback()


# --- Integrity -------------------------------------------------------------------------------------------------


def test_the_check_finds_an_item_left_open_by_a_closed_meeting_and_votes_before_a_session(hand):
    assert meetings.check() == []
    db.session.execute(update(Meeting).where(Meeting.id == hand.meeting_id).values(status="closed"))
    db.session.execute(update(BallotVoter).where(BallotVoter.ballot_id == hand.election,
                                                 BallotVoter.membership_id == hand.mid(hand.setup.manager))
                       .values(voted=True))
    db.session.commit()
    found = [str(v) for v in meetings.check()]
    assert len(found) == 2
    assert any("never opened" in text for text in found) and any("of its items are open" in text for text in found)

