"""Partner clubs' pages: proposing, putting to the vote, suspending; recording, confirming, declining and
withdrawing an exchange across clubs; what each member sees and the refusals (4xx, nothing written)."""
from __future__ import annotations

from datetime import date

from coop import clock
from coop.extensions import db
from coop.models import CrossState, Listing, PartnershipStatus
from coop.services import partners, timebank
from tests.conftest import key, say, snapshot
from tests.services.test_partners import LIMIT, Side, record

TODAY = date.today()


def base(side: Side) -> str:
    return f"/clubs/{side.id}/partners"


def _pair(make_club) -> tuple[Side, Side]:
    one, two = Side(make_club(5, name="Cigale du Diois")), Side(make_club(5, name="Cigale du Vercors"))
    row = partners.propose(one.manager.id, one.id, partner_club_id=two.id, limit_minutes=LIMIT, form_key=key())
    one.vote(row.id)
    two.vote(two.row().id)
    return one, two


def test_the_manager_proposes_and_puts_it_to_the_vote_from_the_page(make_club, make_browser):
    one, two = Side(make_club(5, name="Cigale du Diois")), Side(make_club(5, name="Cigale du Vercors"))
    manager = make_browser(one.manager)
    page = manager.get(base(one))
    assert page.status_code == 200 and say("Propose a partnership") in page.text
    assert str(one.id) in page.text  # the club's number, to give to the other manager
    done = manager.submit(base(one), {"partner_club_id": str(two.id), "limit_hours": "12"}, follow=True)
    assert done.status_code == 200 and "Cigale du Vercors" in done.text
    row = one.row()
    assert (row.status, row.limit_minutes) == (PartnershipStatus.DRAFT, 12 * 60)
    voted = manager.submit(f"{base(one)}/{row.id}/vote", {"closes_at": "2099-01-01T10:00"}, page=base(one))
    assert voted.status_code == 400  # more than 90 days away: the ballot's own rule
    when = clock.deadline_in("Europe/Paris", days=7).strftime("%Y-%m-%dT%H:%M")
    voted = manager.submit(f"{base(one)}/{row.id}/vote", {"closes_at": when}, page=base(one))
    assert voted.status_code == 302
    ballot_page = manager.get(f"/clubs/{one.id}/ballots", follow_redirects=True)
    assert "Cigale du Vercors" in ballot_page.text


def test_a_plain_member_sees_partnerships_but_cannot_propose_or_suspend(make_club, make_browser):
    one, two = _pair(make_club)
    member = make_browser(one.a)
    page = member.get(base(one))
    assert page.status_code == 200 and "Cigale du Vercors" in page.text
    assert say("Propose a partnership") not in page.text
    before = snapshot()
    assert member.submit(base(one), {"partner_club_id": str(two.id), "limit_hours": "5"}).status_code == 403
    assert member.action(f"{base(one)}/{one.row().id}/suspend").status_code in (400, 403)
    assert snapshot() == before


def test_two_members_trade_across_clubs_through_the_pages(make_club, make_browser):
    one, two = _pair(make_club)
    listing = timebank.publish(two.b.id, two.id, {"kind": "offer", "title": "Cours de guitare", "category": "lessons",
                                                   "description": "", "availability": "", "expires_on": None,
                                                   "partners_see": True}, form_key=key())
    hidden = timebank.publish(two.b.id, two.id, {"kind": "offer", "title": "Garde de chat", "category": "other",
                                                  "description": "", "availability": "", "expires_on": None},
                              form_key=key())
    assert isinstance(listing, Listing) and not hidden.partners_see
    a = make_browser(one.a)
    url = f"{base(one)}/{one.row().id}"
    page = a.get(url)
    assert page.status_code == 200
    assert "Cours de guitare" in page.text and "Garde de chat" not in page.text
    assert two.b.name in page.text  # the partner club's members to choose from
    done = a.submit(f"{url}/exchanges", {"direction": "received", "partner_member_id": str(two.mid(two.b)),
                                         "hours": "1", "minutes": "30", "done_on": TODAY.isoformat(),
                                         "description": "Cours de guitare"}, page=url, follow=True)
    assert done.status_code == 200 and say("waiting for confirmation") in done.text
    b = make_browser(two.b)
    overview = b.get(base(two))
    assert "Cours de guitare" in overview.text and one.a.name in overview.text  # to confirm
    theirs = two.cross()
    assert b.action(f"{base(two)}/exchanges/{theirs.id}/confirm").status_code == 302
    assert (one.cross().state, two.cross().state) == (CrossState.COMPLETED, CrossState.COMPLETED)
    assert one.time(one.a) == -90 and two.time(two.b) == 90
    seen = make_browser(one.manager).get(base(one)).text
    assert "−1\u00a0h\u00a030" in seen  # they owe us −1 h 30: this club owes them an hour and a half
    # sent again: the state has moved on
    assert b.action(f"{base(two)}/exchanges/{theirs.id}/confirm").status_code == 409


def test_decline_and_withdraw_buttons(make_club, make_browser):
    one, two = _pair(make_club)
    record(one, two, 60)
    b = make_browser(two.b)
    assert b.submit(f"{base(two)}/exchanges/{two.cross().id}/decline", {"reason": ""},
                    page=f"{base(two)}/{two.row().id}").status_code == 400
    declined = two.cross().id
    assert b.submit(f"{base(two)}/exchanges/{declined}/decline", {"reason": "Pas fait"},
                    page=f"{base(two)}/{two.row().id}").status_code == 302
    assert b.submit(f"{base(two)}/exchanges/{declined}/decline", {"reason": "Encore"},
                    page=f"{base(two)}/{two.row().id}").status_code == 409  # already declined
    assert one.cross().state == CrossState.ERASED
    record(one, two, 60)
    assert make_browser(two.b).action(f"{base(two)}/exchanges/{two.cross().id}/withdraw").status_code == 403
    assert make_browser(one.a).action(f"{base(one)}/exchanges/{one.cross().id}/withdraw").status_code == 302
    assert two.cross().state == CrossState.ERASED


def test_refusals_answer_4xx_and_write_nothing(make_club, make_browser):
    one, two = _pair(make_club)
    a = make_browser(one.a)
    url = f"{base(one)}/{one.row().id}"
    before = snapshot()
    for data in ({"hours": "0", "minutes": "0"}, {"hours": "-1"}, {"hours": "25"}, {"minutes": "x"},
                 {"partner_member_id": str(one.mid(one.b))}, {"description": ""}, {"done_on": "2999-01-01"},
                 {"direction": "both"}):
        values = {"direction": "given", "partner_member_id": str(two.mid(two.b)), "hours": "1", "minutes": "0",
                  "done_on": TODAY.isoformat(), "description": "Aide", **data}
        answer = a.submit(f"{url}/exchanges", values, page=url)
        assert 400 <= answer.status_code < 500, (data, answer.status_code)
    # the limit between the clubs: 11 h is past the 10 agreed, refused with the rule
    answer = a.submit(f"{url}/exchanges", {"direction": "given", "partner_member_id": str(two.mid(two.b)),
                                           "hours": "11", "minutes": "0", "done_on": TODAY.isoformat(),
                                           "description": "Aide"}, page=url)
    assert answer.status_code == 400 and "R12" in answer.text
    # another club's partnership, exchange, or no such thing
    outsider = make_browser(two.a)
    assert outsider.get(url).status_code == 404
    assert a.get(f"{base(one)}/{two.row().id}").status_code == 404
    assert a.get(f"{base(one)}/999999").status_code == 404
    assert make_browser().get(url).status_code == 302  # to the login
    db.session.rollback()
    assert snapshot() == before


def test_a_suspended_partnership_shows_no_form(make_club, make_browser):
    one, two = _pair(make_club)
    manager = make_browser(two.manager)
    assert manager.submit(f"{base(two)}/{two.row().id}/suspend", page=base(two)).status_code == 302
    assert two.row().suspended_here_at is not None and one.row().suspended_there_at is not None
    page = make_browser(one.a).get(f"{base(one)}/{one.row().id}")
    assert page.status_code == 200 and 'name="partner_member_id"' not in page.text
    assert manager.submit(f"{base(two)}/{two.row().id}/resume", page=base(two)).status_code == 302
    assert one.row().trading
