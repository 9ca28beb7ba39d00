"""The club home tells members when an officer's term is over (R3) and what a club below its minimum may
still do (R1); an election is one link away."""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import force_locale, format_date
from sqlalchemy import update

from coop.extensions import db
from coop.models import Membership
from tests.conftest import say

LAPSED = ("The term of %(name)s as %(role)s ended on %(end)s: until the club elects its %(role)s, they hold the "
          "office without its powers (R3).")


def lapse(setup, user) -> date:
    ended = date.today() - timedelta(days=30)
    db.session.execute(update(Membership).where(Membership.id == setup.membership_id(user)).values(role_until=ended))
    db.session.commit()
    return ended


def test_the_club_home_says_the_managers_term_is_over_and_offers_the_election(make_club, make_browser):
    setup = make_club(5)
    home = f"/clubs/{setup.club_id}/"
    election = f"/clubs/{setup.club_id}/ballots/new/election"
    member = make_browser(setup.members[4])
    assert election not in member.get(home).text

    ended = lapse(setup, setup.manager)
    page = member.get(home).text

    with force_locale("fr"):
        when = format_date(ended, "medium")
    assert say(LAPSED, name=setup.manager.name, role=say("manager"), end=when) in page
    assert f'href="{election}"' in page
    assert member.get(election).status_code == 200  # any member may now call it
    assert make_browser(setup.manager).get(election).status_code == 200
    assert make_browser(setup.manager).get(f"/clubs/{setup.club_id}/ballots/new/funding").status_code == 403


def test_the_club_home_says_what_a_club_below_its_minimum_may_still_do(make_club, make_browser):
    setup = make_club(5)
    home = f"/clubs/{setup.club_id}/"
    limits = "Until then it opens no funding ballot and pays nothing out; it may still vote to admit members or to dissolve."
    manager = make_browser(setup.manager)
    assert say(limits) not in manager.get(home).text

    assert make_browser(setup.members[4]).action(f"/clubs/{setup.club_id}/leave").status_code == 302

    assert say(limits) in manager.get(home).text
