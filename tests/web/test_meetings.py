"""General meetings through the pages, on both databases: the manager convenes one (and the form refuses what
the service refuses, next to its field), puts items on the agenda and the yearly agenda; a member gives their
proxy; the meeting is opened, attendance taken, items voted by members present only and closed; the minutes
show the attendance and each decision in words, print without their forms, are written and signed by the
secretary then the chair, and appear in the register of decisions. Another club's ids are 404, replayed forms
409, and no page answers 500."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import request_finished
from markupsafe import escape
from sqlalchemy import select

from coop.explain import explain
from coop.extensions import db
from coop.models import Ballot, Meeting, MeetingAttendance
from coop.services import ballots, meetings, tally
from coop.services.ballots import Subject
from tests.conftest import by_id, form_values, hidden_fields, key, say, say_n, snapshot
from tests.services.test_meetings import PLACE, ahead, at_hand, wall


@pytest.fixture(autouse=True)
def no_server_error(app):
    """Whatever a test sends, no response is a 500."""
    statuses = []

    def seen(sender, response, **extra):
        statuses.append(response.status_code)

    request_finished.connect(seen, app)
    yield
    request_finished.disconnect(seen, app)
    assert 500 not in statuses


def url(club_id: int, path: str = "") -> str:
    return f"/clubs/{club_id}/meetings{path}"


def said(lines) -> list[str]:
    """Sentences of the minutes as the French page shows them."""
    from flask_babel import force_locale

    with force_locale("fr"):
        return [str(escape(line)) for line in lines]


def last_meeting(club_id: int) -> Meeting:
    db.session.rollback()
    return db.session.scalars(select(Meeting).where(Meeting.club_id == club_id).order_by(Meeting.id.desc())).first()


CONVENE = {"kind": "ordinary", "place": PLACE, "video_link": "", "title": "", "details": "Venez nombreux."}


# --- Convening and the agenda ----------------------------------------------------------------------------------


def test_the_manager_convenes_a_meeting_and_puts_items_on_its_agenda(club, make_browser):
    c = club.club_id
    browser = make_browser(club.manager)
    assert url(c) in browser.get(f"/clubs/{c}/").text  # in the club's navigation
    form = browser.get(url(c, "/new"))
    assert form.status_code == 200
    moment = ahead(20).strftime("%Y-%m-%dT%H:%M")

    done = browser.submit(url(c, "/new"), {**CONVENE, "scheduled_at": moment})

    assert done.status_code == 302
    meeting = last_meeting(c)
    assert done.headers["Location"] == url(c, f"/{meeting.id}")
    page = browser.get(done.headers["Location"]).text
    assert PLACE in page and "Venez nombreux." in page
    assert say("Nothing on the agenda yet.") in page

    item = browser.submit(url(c, f"/{meeting.id}/agenda/election"),
                          {"method": "yes_no", "role": "secretary", "candidate_ids": str(club.membership_id(club.members[2])),
                           "secret": "y", "title": "", "details": ""})
    assert item.status_code == 302
    [ballot] = ballots.meeting_items(meeting)
    assert (ballot.kind, ballot.role, ballot.secret) == ("election", "secretary", True)
    prefilled = browser.submit(url(c, f"/{meeting.id}/prefill"), {"report": "Une bonne année."}, page=url(c, f"/{meeting.id}"))
    assert prefilled.status_code == 302
    db.session.rollback()
    assert [b.role for b in ballots.meeting_items(meeting)] == ["secretary", "manager", "treasurer"]
    page = browser.get(url(c, f"/{meeting.id}")).text
    for b in ballots.meeting_items(meeting):
        assert f"/clubs/{c}/ballots/{b.id}" in page
    assert url(c, f"/{meeting.id}/agenda/dissolution") not in page  # an extraordinary meeting's
    assert browser.get(url(c)).status_code == 200


@pytest.mark.parametrize(("change", "message", "status"), [
    ({"place": ""}, "Give the place of the meeting, or a video link, or both.", 400),
    ({"video_link": "ftp://visio.example.org"}, "Give the video link in full, starting with https:// (or http://).", 400),
    ({"days": 3}, "Members must be convened at least %(n)d days before the meeting: choose %(n)d days from today or "
                  "later.", 400),
    ({"days": -2}, "This moment is past: choose a date ahead.", 400),
    ({"kind": "extraordinary", "prefill": "y"}, "Only the ordinary meeting's agenda is prefilled.", 400),
])
def test_convening_refusals_show_next_to_their_field_and_write_nothing(club, make_browser, change, message, status):
    c = club.club_id
    browser = make_browser(club.manager)
    change = dict(change)
    moment = ahead(change.pop("days", 20)).strftime("%Y-%m-%dT%H:%M")
    before = snapshot()
    refused = browser.submit(url(c, "/new"), {**CONVENE, "scheduled_at": moment, **change})
    assert refused.status_code == status
    assert say(message, n=15) in refused.text
    assert snapshot() == before


def test_a_convocation_sent_twice_convenes_once(club, make_browser):
    c = club.club_id
    browser = make_browser(club.manager)
    fields = hidden_fields(browser.get(url(c, "/new")).text)
    data = {**fields, **CONVENE, "scheduled_at": ahead(20).strftime("%Y-%m-%dT%H:%M")}
    assert browser.client.post(url(c, "/new"), data=data).status_code == 302
    before = snapshot()
    assert browser.client.post(url(c, "/new"), data=data).status_code == 409
    assert snapshot() == before


def test_only_the_manager_convenes_and_another_clubs_meetings_are_not_found(club, neighbour, make_browser):
    c = club.club_id
    meeting = meetings.convene(club.manager.id, c, kind="ordinary", scheduled_at=ahead(20), place=PLACE,
                               form_key=key())
    member = make_browser(club.members[3])
    assert member.get(url(c, "/new")).status_code == 403
    assert member.get(url(c, f"/{meeting.id}")).status_code == 200
    assert member.get(url(c, f"/{meeting.id}/agenda/funding")).status_code == 403
    stranger = make_browser(neighbour.manager)
    before = snapshot()
    assert stranger.get(url(c, f"/{meeting.id}")).status_code == 404
    assert stranger.get(url(neighbour.club_id, f"/{meeting.id}")).status_code == 404  # not in their club
    assert stranger.action(url(neighbour.club_id, f"/{meeting.id}/open")).status_code == 404
    assert stranger.action(url(neighbour.club_id, f"/{meeting.id}/cancel"), {"reason": "Non"}).status_code == 404
    assert stranger.get(url(neighbour.club_id, "/2147483648")).status_code == 404
    assert stranger.get(url(neighbour.club_id, "/99999999999/minutes")).status_code == 404
    assert snapshot() == before


def test_a_member_gives_and_withdraws_their_proxy_for_the_meeting(club, make_browser):
    c = club.club_id
    meeting = meetings.convene(club.manager.id, c, kind="ordinary", scheduled_at=ahead(20), place=PLACE,
                               form_key=key())
    m = club.members
    browser = make_browser(m[3])
    page = url(c, f"/{meeting.id}")
    given = browser.submit(f"{page}/proxy", {"holder_id": str(club.membership_id(m[4]))}, page=page)
    assert given.status_code == 302
    shown = browser.get(page).text
    assert say("%(name)s holds your proxy: they vote for you at the meeting, while they are present.",
               name=m[4].name) in shown
    before = snapshot()
    assert make_browser(m[5]).submit(f"{page}/proxy", {"holder_id": str(club.membership_id(m[4]))},
                                     page=page).status_code == 400  # one proxy per holder (R9)
    assert snapshot() == before
    assert browser.action(f"{page}/proxy/withdraw").status_code == 302
    assert db.session.scalar(select(MeetingAttendance.id)) is None


# --- The session and the minutes ----------------------------------------------------------------------------------


def test_a_meeting_is_held_through_the_pages_and_its_minutes_signed_into_the_register(club, make_browser):
    c = club.club_id
    m = club.members
    hand = at_hand(club)
    election = hand.add(subject=Subject(role="treasurer", candidate_ids=[hand.mid(m[1])]), secret=False).id
    meetings.give_proxy(m[5].id, c, hand.meeting_id, hand.mid(m[3]))
    page = url(c, f"/{hand.meeting_id}")
    manager, secretary, member, absent = make_browser(m[0]), make_browser(m[2]), make_browser(m[3]), make_browser(m[4])

    shown = form_values(manager.get(page).text)
    assert (shown["chair_id"], shown["secretary_id"]) == (str(hand.mid(m[0])), str(hand.mid(m[2])))
    opened = manager.submit(f"{page}/open", {"chair_id": shown["chair_id"], "secretary_id": shown["secretary_id"]},
                            page=page)
    assert opened.status_code == 302

    # Attendance: m[3] arrives late; a bad line is refused next to it.
    token = hidden_fields(manager.get(page).text)["csrf_token"]
    prefix = f"m{hand.mid(m[3])}-"
    bad = manager.client.post(f"{page}/attendance/{hand.mid(m[3])}",
                              data={"csrf_token": token, f"{prefix}presence": "represented",
                                    f"{prefix}holder_id": str(hand.mid(m[4]))})
    assert bad.status_code == 400
    assert say("The holder of a proxy must be present.") in bad.text
    arrived = manager.client.post(f"{page}/attendance/{hand.mid(m[3])}",
                                  data={"csrf_token": token, f"{prefix}presence": "present",
                                        f"{prefix}holder_id": ""})
    assert arrived.status_code == 302
    assert say("Present: %(present)d; represented: %(represented)d; of %(eligible)d active members", present=3,
               represented=1, eligible=6) in manager.get(page).text

    # Voting: present members, and m[3] for m[5]; the absent m[4] is refused.
    vote = f"/clubs/{c}/ballots/{election}"
    option = by_id(Ballot, election).options[0].id
    assert option
    for browser in (manager, secretary, member):
        assert browser.submit(vote, {"choice": str(tally.YES)}).status_code == 302
    proxy = member.submit(vote, {"proxy_for": str(hand.mid(m[5])), f"for{hand.mid(m[5])}-choice": str(tally.YES)})
    assert proxy.status_code == 302
    before = snapshot()
    refused = absent.client.post(vote, data={"csrf_token": hidden_fields(absent.get("/").text)["csrf_token"],
                                             "choice": str(tally.NO)})
    assert refused.status_code == 400
    assert say("Only members present at the meeting vote, for themselves and for the members whose proxy they "
               "hold.") in refused.text
    assert snapshot() == before
    assert say("Only members present at the meeting vote, while it has its quorum; the chair records who is "
               "present.") in absent.get(vote).text

    # The chair closes the item, then the meeting.
    assert member.action(f"{page}/items/{election}/close").status_code == 403
    assert manager.action(f"{page}/items/{election}/close").status_code == 302
    assert manager.action(f"{page}/close").status_code == 302

    # The minutes: the record, the decision in words, the secretary's text, two signatures.
    minutes = f"{page}/minutes"
    text = secretary.get(minutes).text
    decided = by_id(Ballot, election)
    for line in said(explain_fr(decided)):
        assert line in text
    for user in (m[0], m[2], m[3]):
        assert escape(user.name) in text
    assert say("%(member)s by %(holder)s", member=m[5].name, holder=m[3].name) in text
    assert say("Draft: the minutes are final once the secretary and the chair have signed them.") in text
    assert member.submit(minutes, {"text": "Moi aussi"}).status_code == 403
    assert secretary.submit(minutes, {"text": "Le trésorier présente le rapport.\nAdopté sans débat."}).status_code == 302
    assert manager.action(f"{minutes}/sign").status_code == 409  # the secretary signs first
    assert secretary.action(f"{minutes}/sign").status_code == 302
    before = snapshot()
    assert secretary.submit(minutes, {"text": "Changé après signature"}, page=page).status_code == 409
    assert snapshot() == before
    assert manager.action(f"{minutes}/sign").status_code == 302

    final = member.get(minutes).text
    assert "Le trésorier présente le rapport." in final
    assert say("Draft: the minutes are final once the secretary and the chair have signed them.") not in final
    printable = member.get(f"{minutes}?print=1").text
    assert "<form method=\"post\" action=\"" + minutes not in printable and "Adopté sans débat." in printable
    register = member.get(f"/clubs/{c}/decisions").text
    assert minutes in register
    assert say("Minutes of the general meetings") in register


def explain_fr(ballot) -> list[str]:
    from flask_babel import force_locale

    with force_locale("fr"):
        return explain(ballot)


def test_a_meeting_without_its_quorum_votes_nothing_and_its_minutes_say_so(club, make_browser):
    c = club.club_id
    hand = at_hand(club)
    item = hand.add(subject=Subject(role="treasurer", candidate_ids=[hand.mid(club.treasurer)])).id
    hand.open()
    manager = make_browser(club.manager)
    page = url(c, f"/{hand.meeting_id}")
    assert say("quorum not reached (at least %(n)d needed, %(p)s): the meeting cannot vote.", n=3,
               p="50\u00a0%") in manager.get(page).text
    assert manager.submit(f"/clubs/{c}/ballots/{item}", {"choice": "1"}).status_code == 400
    assert manager.action(f"{page}/close").status_code == 302
    minutes = manager.get(f"{page}/minutes").text
    not_reached = ("%(num)d of the %(e)d active members were present or represented, at least %(n)d being needed "
                   "(%(p)s): the quorum was not reached, and the meeting could not vote.")
    assert say_n(not_reached, not_reached, 2, e=6, n=3, p="50\u00a0%") in minutes
    assert by_id(Ballot, item).status == "cancelled"


def test_the_ballot_page_of_an_accounts_item_links_the_years_statements(make_club, make_browser):
    from tests.services.test_meetings import LAST_YEAR
    from tests.services.test_year_end import close as close_year
    from tests.services.test_year_end import contributions_only

    setup = contributions_only(make_club, LAST_YEAR)
    close_year(setup, LAST_YEAR)
    hand = at_hand(setup)
    item = hand.add(kind="accounts", subject=Subject(year=LAST_YEAR), details="Le rapport du trésorier.")
    page = make_browser(setup.members[3]).get(f"/clubs/{setup.club_id}/ballots/{item.id}").text
    assert f"/clubs/{setup.club_id}/statements/{LAST_YEAR}" in page
    assert "Le rapport du trésorier." in page
    assert say("This item is voted at the meeting, once it is in session. If you cannot come, give your proxy for "
               "the meeting on its page.") in page
    treasurer = make_browser(setup.treasurer).get(f"/clubs/{setup.club_id}/ballots/{item.id}").text
    assert f"/clubs/{setup.club_id}/books/income?start={LAST_YEAR}-01-01" in treasurer


def test_an_attendance_line_of_another_clubs_member_or_a_huge_number_is_not_found(club, neighbour, make_browser):
    c = club.club_id
    hand = at_hand(club)
    hand.open()
    manager = make_browser(club.manager)
    page = url(c, f"/{hand.meeting_id}")
    token = hidden_fields(manager.get(page).text)["csrf_token"]
    before = snapshot()
    for target in (neighbour.membership_id(neighbour.members[3]), 2**31 - 1):
        prefix = f"m{target}-"
        answer = manager.client.post(f"{page}/attendance/{target}", data={"csrf_token": token,
                                                                          f"{prefix}presence": "present"})
        assert answer.status_code == 404
    assert manager.client.post(f"{page}/attendance/2147483648", data={"csrf_token": token}).status_code == 404
    assert snapshot() == before


def test_the_charter_page_and_its_form_carry_the_meeting_settings(make_club, make_browser):
    setup = make_club(5, activate=False)
    browser = make_browser(setup.manager)
    shown = form_values(browser.get(f"/clubs/{setup.club_id}/charter/edit").text)
    assert (shown["meeting_notice_days"], shown["meeting_quorum_percent"]) == ("15", "50")
    done = browser.submit(f"/clubs/{setup.club_id}/charter/edit", {**shown, "meeting_notice_days": "21"})
    assert done.status_code == 302
    page = browser.get(f"/clubs/{setup.club_id}/charter").text
    assert say_n("convened at least %(num)d day ahead", "convened at least %(num)d days ahead", 21) in page
    refused = browser.submit(f"/clubs/{setup.club_id}/charter/edit", {**shown, "meeting_notice_days": "3"})
    assert refused.status_code == 400


def test_an_extraordinary_meeting_takes_a_charter_amendment_on_its_agenda(club, make_browser):
    c = club.club_id
    meeting = meetings.convene(club.manager.id, c, kind="extraordinary", scheduled_at=ahead(20), place=PLACE,
                               form_key=key())
    browser = make_browser(club.manager)
    form_url = url(c, f"/{meeting.id}/amendment")
    shown = form_values(browser.get(form_url).text)
    done = browser.submit(form_url, {**shown, "quorum_percent": "60", "details": "Plus de monde."})
    assert done.status_code == 302
    [item] = ballots.meeting_items(meeting)
    assert (item.kind, item.proposal, item.threshold) == ("charter", {"quorum_percent": 60}, "unanimity")
    ordinary = meetings.convene(club.manager.id, c, kind="ordinary", scheduled_at=ahead(21), place=PLACE,
                                form_key=key())
    before = snapshot()
    refused = browser.submit(url(c, f"/{ordinary.id}/amendment"), {**shown, "quorum_percent": "60"})
    assert refused.status_code == 400
    assert say("The charter, the club's term and its dissolution are decided by an extraordinary general "
               "meeting.") in refused.text
    assert snapshot() == before


def test_the_meeting_moment_is_typed_on_the_clubs_clock(club, make_browser):
    c = club.club_id
    browser = make_browser(club.manager)
    typed = ahead(20).replace(hour=9, minute=15)
    assert browser.submit(url(c, "/new"), {**CONVENE, "scheduled_at": typed.strftime("%Y-%m-%dT%H:%M")}).status_code == 302
    meeting = last_meeting(c)
    assert wall(meeting.scheduled_at) == typed
    assert meeting.scheduled_at - timedelta(hours=2) <= typed <= meeting.scheduled_at + timedelta(hours=2)
