"""Projects and ballots through the browser: proposing, editing, presenting, withdrawing and declaring a link;
opening every kind of ballot and a charter amendment; voting (yes/no, consent, majority judgment, approval, by
proxy); closing, cancelling; results in words; the home pages, the register of decisions and its CSV export; the
members page of an active club. Another club's members get 404; refusals write nothing; no page answers 500."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape

import pytest
from flask import request_finished
from markupsafe import escape
from sqlalchemy import select

from coop import clock
from coop.extensions import db
from coop.models import Ballot, BallotVote, BallotVoter, Project, ProjectLink, Proxy
from coop.models.base import utcnow
from coop.services import ballots, clubs, projects, tally
from coop.services.ballots import Subject
from coop.services.charter import charter_of
from tests.conftest import by_id, form_values, fund_for_projects, hidden_fields, key, say, say_n, snapshot

LONG = "x" * 10_000
PROJECT = dict(name="Fournil de Die", description="Un four à pain.\nEt une boutique.", town="Die", legal_form="scop",
               instrument="equity", amount_requested=300_000, stake_hundredths=1250, holder_name="Anne Roux",
               holder_contact="anne@example.org")
PROJECT_FORM = {"name": "Fournil de Die", "description": "Un four à pain.", "town": "Die", "legal_form": "scop",
                "instrument": "equity", "amount_requested": "3 000,00", "stake": "12,5", "holder_name": "Anne Roux",
                "holder_contact": "anne@example.org"}


# --- Helpers --------------------------------------------------------------------------------------


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


def fresh():
    """End the test's own read snapshot, to see what the requests committed."""
    db.session.rollback()
    return db.session


def by_id_fresh(model, object_id):
    fresh()
    return by_id(model, object_id)


def wtf(message: str, **values) -> str:
    """A WTForms message (its own catalogue) as the French page shows it."""
    from markupsafe import escape
    from wtforms.i18n import get_translations

    return str(escape(get_translations(["fr"]).gettext(message) % values))


def too_long(n: int) -> str:
    """WTForms' Length message, as the French page shows it."""
    from markupsafe import escape
    from wtforms.i18n import get_translations

    return str(escape(get_translations(["fr"]).ngettext("Field cannot be longer than %(max)d character.",
                                                         "Field cannot be longer than %(max)d characters.", n)
                      % {"max": n}))


class Wtf(str):
    """A message from WTForms' own validators (not the app's catalogue)."""


def shown_as(message: str, **values) -> str:
    return wtf(message, **values) if isinstance(message, Wtf) else say(message, **values)


REQUIRED = Wtf("This field is required.")


def error_of(html: str, field: str) -> str | None:
    """The message shown next to a field, if any."""
    found = re.search(rf'<p class="error" id="{re.escape(field)}-error" role="alert">(.*?)</p>', html, re.S)
    return found.group(1) if found else None


def main_of(html: str) -> str:
    return html.split('<main id="main">', 1)[1]


def ahead(**delta) -> str:
    """A datetime-local value on the club's clock (Europe/Paris, the clubs' default), ``delta`` from now."""
    return (clock.local_now("Europe/Paris") + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M")


def after_deadline():
    """Every open ballot of a week is past its deadline: ``tick`` closes it."""
    return utcnow() + timedelta(days=8)


def member(setup, n: int):
    """0 manager, 1 treasurer, 2 secretary, 3–5 plain members."""
    return setup.members[n]


def mid(setup, n: int) -> int:
    return setup.membership_id(setup.members[n])


def new_project(setup, n: int = 3, *, present: bool = True, **values) -> Project:
    fund_for_projects(setup)
    project = projects.propose(member(setup, n).id, setup.club_id, {**PROJECT, **values}, form_key=key())
    if present:
        projects.present(member(setup, n).id, setup.club_id, project.id)
    return project


def open_ballot(setup, kind: str = "funding", method: str = "yes_no", *, subject: Subject | None = None,
                secret: bool | None = None, title: str = "") -> Ballot:
    if subject is None and kind == "funding":
        subject = Subject(project_ids=[new_project(setup).id])
    return ballots.open_ballot(setup.manager.id, setup.club_id, kind=kind, method=method,
                               closes_at=utcnow() + timedelta(days=7), subject=subject or Subject(), secret=secret,
                               title=title, form_key=key())


def cast(setup, n: int, ballot: Ballot, value: int, reason: str | None = None) -> None:
    ballots.vote(member(setup, n).id, setup.club_id, ballot.id, choices={ballot.options[0].id: value}, reason=reason)


def pending_request(setup, make_user) -> int:
    _, code = clubs.invite(setup.manager.id, setup.club_id, form_key=key())
    return clubs.join(make_user(name="Zoé Nouvelle").id, code).id


def votes_of(ballot_id: int) -> list[BallotVote]:
    return list(fresh().scalars(select(BallotVote).where(BallotVote.ballot_id == ballot_id)
                                .order_by(BallotVote.voter_id, BallotVote.option_id)))


def voter(ballot_id: int, membership_id: int) -> BallotVoter:
    return fresh().scalar(select(BallotVoter).where(BallotVoter.ballot_id == ballot_id,
                                                    BallotVoter.membership_id == membership_id))


def url(setup, path: str = "") -> str:
    return f"/clubs/{setup.club_id}{path}"


# --- Projects -------------------------------------------------------------------------------------


def test_a_member_proposes_a_project_as_a_draft(club, make_browser):
    browser = make_browser(member(club, 3))

    response = browser.submit(url(club, "/projects/new"), PROJECT_FORM)

    assert response.status_code == 302
    project = fresh().scalar(select(Project).where(Project.club_id == club.club_id))
    assert response.headers["Location"].endswith(url(club, f"/projects/{project.id}"))
    assert (project.amount_requested, project.stake_hundredths) == (300_000, 1250)  # "3 000,00" €, "12,5" %
    assert (project.status, project.proposed_by_id, project.name) == ("draft", mid(club, 3), "Fournil de Die")
    shown = browser.get(response.headers["Location"], follow_redirects=True)
    assert say("Your project is saved as a draft. Present it when it is ready.") in shown.text
    listed = make_browser(member(club, 4)).get(url(club, "/projects"))
    assert listed.status_code == 200 and "Fournil de Die" in main_of(listed.text)


BAD_PROJECTS = [
    pytest.param("name", "", REQUIRED, {}, id="empty name"),
    pytest.param("name", "   ", REQUIRED, {}, id="blank name"),
    pytest.param("amount_requested", "", REQUIRED, {}, id="empty amount"),
    pytest.param("amount_requested", "douze euros", "Enter an amount such as 12,50 or 1 234,56.", {},
                 id="amount in words"),
    pytest.param("amount_requested", LONG, "This amount is too long.", {}, id="huge amount"),
    pytest.param("amount_requested", "0", "Enter an amount above zero and below a hundred million.", {},
                 id="zero amount"),
    pytest.param("stake", "un quart", "Enter a percentage such as 12,5.", {}, id="stake in words"),
    pytest.param("stake", LONG, "Enter a percentage such as 12,5.", {}, id="huge stake"),
    pytest.param("stake", "150", "For shares, give the stake offered, between 0.01 % and 100 %.", {},
                 id="stake over 100"),
    pytest.param("stake", "", "For shares, give the stake offered, between 0.01 % and 100 %.", {},
                 id="shares without stake"),
    pytest.param("stake", "12,5", "A stake is only for shares; leave it empty for a loan or a contribution.",
                 {"instrument": "loan"}, id="stake on a loan"),
]


@pytest.mark.parametrize("field, value, message, also", BAD_PROJECTS)
def test_a_bad_project_is_refused_next_to_its_field(club, make_browser, field, value, message, also):
    browser = make_browser(member(club, 3))
    before = snapshot()

    response = browser.submit(url(club, "/projects/new"), {**PROJECT_FORM, field: value, **also})

    assert response.status_code == 400
    assert shown_as(message) in (error_of(response.text, field) or "")
    assert snapshot() == before


@pytest.mark.parametrize("field, limit", [("name", 120), ("description", 4000), ("holder_contact", 200)])
def test_a_huge_text_in_a_project_is_refused(club, make_browser, field, limit):
    browser = make_browser(member(club, 3))
    before = snapshot()

    response = browser.submit(url(club, "/projects/new"), {**PROJECT_FORM, field: "x" * (limit + 1)})

    assert response.status_code == 400
    assert too_long(limit) in (error_of(response.text, field) or "")
    assert snapshot() == before


def test_a_text_field_with_a_limit_says_its_limit_next_to_it(club, make_browser):
    """The browser cuts a pasted 10,000-character name to ``maxlength`` without a word: the page says the limit."""
    page = make_browser(member(club, 3)).get(url(club, "/projects/new")).text
    hint = re.search(r'<p class="hint" id="name-hint">(.*?)</p>', page)
    assert hint and say_n("At most %(num)d character.", "At most %(num)d characters.", 120) in hint.group(1)
    assert re.search(r'<input [^>]*aria-describedby="name-hint"[^>]*maxlength="120"', page) or \
        re.search(r'<input [^>]*maxlength="120"[^>]*aria-describedby="name-hint"', page)


def test_the_proposer_edits_the_project(club, make_browser):
    project = new_project(club, present=False)
    browser = make_browser(member(club, 3))
    page = browser.get(url(club, f"/projects/{project.id}/edit"))
    values = form_values(page.text)
    assert (values["amount_requested"], values["stake"]) == ("3 000,00", "12,50")  # the stored figures, shown back
    assert "Un four à pain.\nEt une boutique.</textarea>" in page.text

    response = browser.submit(url(club, f"/projects/{project.id}/edit"),
                              {**values, "description": PROJECT["description"], "amount_requested": "4 500,50",
                               "stake": "20"})

    assert response.status_code == 302
    changed = by_id_fresh(Project, project.id)
    assert (changed.amount_requested, changed.stake_hundredths) == (450_050, 2000)


def test_sending_the_edit_form_unchanged_is_refused(club, make_browser):
    project = new_project(club, present=False)
    browser = make_browser(member(club, 3))
    values = form_values(browser.get(url(club, f"/projects/{project.id}/edit")).text)
    before = snapshot()

    response = browser.submit(url(club, f"/projects/{project.id}/edit"),
                              {**values, "description": PROJECT["description"]})

    assert response.status_code == 409
    assert say("Nothing was changed.") in response.text
    assert snapshot() == before


def test_a_member_who_did_not_propose_may_not_edit_present_or_withdraw(club, make_browser):
    project = new_project(club, present=False)
    other = make_browser(member(club, 4))
    before = snapshot()

    edited = other.submit(url(club, f"/projects/{project.id}/edit"), {**PROJECT_FORM, "town": "Crest"},
                          page=url(club, f"/projects/{project.id}"))
    presented = other.action(url(club, f"/projects/{project.id}/present"))
    withdrawn = other.action(url(club, f"/projects/{project.id}/withdraw"))

    assert [edited.status_code, presented.status_code, withdrawn.status_code] == [403, 403, 403]
    assert say("Only the member who proposed this project, or the manager, may do this.") in edited.text
    assert snapshot() == before
    page = other.get(url(club, f"/projects/{project.id}"))
    assert url(club, f"/projects/{project.id}/edit") not in page.text  # no button they could not use


def test_the_edit_page_is_refused_to_a_member_who_did_not_propose(club, make_browser):
    project = new_project(club, present=False)

    assert make_browser(member(club, 4)).get(url(club, f"/projects/{project.id}/edit")).status_code == 403


def test_the_manager_may_edit_any_project(club, make_browser):
    project = new_project(club, present=False)

    response = make_browser(club.manager).submit(url(club, f"/projects/{project.id}/edit"),
                                                 {**PROJECT_FORM, "town": "Crest"})

    assert response.status_code == 302
    assert by_id_fresh(Project, project.id).town == "Crest"


def test_the_proposer_presents_then_withdraws_the_project(club, make_browser):
    project = new_project(club, present=False)
    browser = make_browser(member(club, 3))

    assert browser.action(url(club, f"/projects/{project.id}/present")).status_code == 302
    assert by_id_fresh(Project, project.id).status == "presented"
    before = snapshot()
    again = browser.action(url(club, f"/projects/{project.id}/present"))
    assert again.status_code == 409
    assert say("Only a draft can be presented.") in again.text
    assert snapshot() == before

    assert browser.action(url(club, f"/projects/{project.id}/withdraw")).status_code == 302
    assert by_id_fresh(Project, project.id).status == "withdrawn"


def test_a_project_in_vote_cannot_be_withdrawn_or_edited(club, make_browser):
    ballot = open_ballot(club)
    browser = make_browser(member(club, 3))
    before = snapshot()

    withdrawn = browser.action(url(club, f"/projects/{ballot.project_id}/withdraw"))
    edited = browser.submit(url(club, f"/projects/{ballot.project_id}/edit"), {**PROJECT_FORM, "town": "Crest"},
                            page=url(club, f"/projects/{ballot.project_id}"))

    assert withdrawn.status_code == 409
    assert say("A project in vote or decided cannot be withdrawn.") in withdrawn.text
    assert edited.status_code == 409
    assert say("A project cannot be changed once it is put to the vote.") in edited.text
    assert snapshot() == before


def test_a_member_declares_a_link_once(club, make_browser):
    project = new_project(club)
    browser = make_browser(member(club, 4))
    page = url(club, f"/projects/{project.id}")

    response = browser.submit(url(club, f"/projects/{project.id}/link"), {"nature": "Anne est ma sœur"}, page=page)

    assert response.status_code == 302
    links = fresh().scalars(select(ProjectLink).where(ProjectLink.project_id == project.id)).all()
    assert [(link.membership_id, link.nature) for link in links] == [(mid(club, 4), "Anne est ma sœur")]
    shown = browser.get(page)
    assert say("Your link is declared: you will not vote on this project (R8).") in shown.text
    assert "Anne est ma sœur" in shown.text
    before = snapshot()
    again = browser.client.post(url(club, f"/projects/{project.id}/link"),
                                data={**hidden_fields(shown.text), "nature": "encore"})
    assert again.status_code == 409  # its message: see test_a_refusal_on_a_hidden_form_is_still_shown
    assert snapshot() == before


@pytest.mark.parametrize("nature, message", [("", REQUIRED),
                                             ("x" * 201, None)], ids=["empty", "too long"])
def test_a_link_without_a_fitting_nature_is_refused(club, make_browser, nature, message):
    project = new_project(club)
    browser = make_browser(member(club, 4))
    before = snapshot()

    response = browser.submit(url(club, f"/projects/{project.id}/link"), {"nature": nature},
                              page=url(club, f"/projects/{project.id}"))

    assert response.status_code == 400
    shown = error_of(response.text, "nature")
    assert shown and (message is None or shown_as(message) in shown)
    if message is None:
        assert too_long(200) in shown
    assert snapshot() == before


# --- Another club's members ---------------------------------------------------------------------------


def _club_urls(setup, project_id: int, ballot_id: int) -> tuple[list[str], list[str]]:
    gets = [f"/projects/{project_id}", f"/projects/{project_id}/edit", f"/ballots/{ballot_id}"]
    posts = [f"/projects/{project_id}/edit", f"/projects/{project_id}/present", f"/projects/{project_id}/withdraw",
             f"/projects/{project_id}/link", f"/ballots/{ballot_id}", f"/ballots/{ballot_id}/proxy",
             f"/ballots/{ballot_id}/proxy/withdraw", f"/ballots/{ballot_id}/close", f"/ballots/{ballot_id}/cancel"]
    return [url(setup, p) for p in gets], [url(setup, p) for p in posts]


def test_another_clubs_member_gets_404_on_every_project_and_ballot_url(club, neighbour, make_browser):
    ballot = open_ballot(club)
    gets, posts = _club_urls(club, ballot.project_id, ballot.id)
    gets += [url(club, p) for p in ("/projects", "/projects/new", "/ballots", "/ballots/new/funding",
                                    "/charter/propose", "/decisions", "/decisions.csv")]
    posts += [url(club, p) for p in ("/projects/new", "/ballots/new/funding", "/charter/propose")]
    stranger = make_browser(neighbour.manager)
    before = snapshot()

    answers = {u: stranger.get(u).status_code for u in gets}
    answers |= {"POST " + u: stranger.action(u, {"choice": "1", "holder_id": str(mid(club, 3)), "reason": "non",
                                                 "nature": "lien", **PROJECT_FORM}).status_code for u in posts}

    assert {u: s for u, s in answers.items() if s != 404} == {}
    assert snapshot() == before


def test_the_neighbours_objects_are_not_found_from_inside_the_club(club, neighbour, make_browser):
    theirs = open_ballot(neighbour)
    gets, posts = _club_urls(club, theirs.project_id, theirs.id)
    browser = make_browser(club.manager)
    before = snapshot()

    answers = {u: browser.get(u).status_code for u in gets}
    answers |= {"POST " + u: browser.action(u, {"choice": "1", "holder_id": str(mid(club, 3)), "reason": "non",
                                                "nature": "lien", **PROJECT_FORM}).status_code for u in posts}

    assert {u: s for u, s in answers.items() if s != 404} == {}
    assert snapshot() == before


# --- Opening ballots ------------------------------------------------------------------------------


def _subject_fields(setup, kind: str, make_user) -> tuple[dict, str]:
    """What the form needs for each kind, and a name the ballot page must show."""
    if kind == "funding":
        return {"project_ids": str(new_project(setup).id)}, "Fournil de Die"
    if kind == "admission":
        return {"membership_id": str(pending_request(setup, make_user))}, say("Admitting %(name)s", name="Zoé Nouvelle")
    if kind == "exclusion":
        name = member(setup, 5).name
        return {"membership_id": str(mid(setup, 5))}, say("Excluding %(name)s", name=name)
    if kind == "election":
        return ({"role": "secretary", "candidate_ids": str(mid(setup, 2))},
                say("Electing the %(office)s: %(names)s", office=say("secretary"), names=member(setup, 2).name))
    return {}, say({"renewal": "Renewing the club's term", "dissolution": "Dissolving the club"}[kind])


@pytest.mark.parametrize("kind", ["funding", "admission", "exclusion", "election", "renewal", "dissolution"])
def test_the_manager_opens_each_kind_of_ballot(club, make_browser, make_user, kind):
    fields, shown = _subject_fields(club, kind, make_user)
    browser = make_browser(club.manager)
    closes = ahead(days=7)

    response = browser.submit(url(club, f"/ballots/new/{kind}"), {**fields, "method": "yes_no", "closes_at": closes})

    assert response.status_code == 302, error_of(response.text, "closes_at")
    ballot = fresh().scalar(select(Ballot).where(Ballot.club_id == club.club_id))
    assert response.headers["Location"].endswith(url(club, f"/ballots/{ballot.id}"))
    assert (ballot.kind, ballot.method, ballot.status) == (kind, "yes_no", "open")
    assert clock.local(ballot.closes_at, "Europe/Paris").strftime("%Y-%m-%dT%H:%M") == closes
    page = make_browser(member(club, 4)).get(url(club, f"/ballots/{ballot.id}"))
    assert page.status_code == 200
    assert shown in page.text
    assert say("You have not voted yet.") in page.text


def test_an_unknown_kind_of_ballot_is_not_found(club, make_browser):
    browser = make_browser(club.manager)
    before = snapshot()

    assert browser.get(url(club, "/ballots/new/coup")).status_code == 404
    assert browser.action(url(club, "/ballots/new/coup"), {"method": "yes_no", "closes_at": ahead(days=7)}
                          ).status_code == 404
    assert browser.get(url(club, "/ballots/new/charter")).status_code == 404  # the charter has its own form
    assert snapshot() == before


@pytest.mark.parametrize("path", ["/ballots/new/dissolution", "/charter/propose"])
def test_a_member_may_not_open_a_ballot(club, make_browser, path):
    browser = make_browser(member(club, 3))
    before = snapshot()

    assert browser.get(url(club, path)).status_code == 403
    assert browser.action(url(club, path), {"method": "yes_no", "closes_at": ahead(days=7)}).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("closes_at, message", [
    (None, "The vote must stay open at least %(n)d minutes.|n=10"),  # 5 minutes ahead
    ("", None),
    ("demain midi", None),
    (LONG, None),
    ("far", "The vote may stay open at most %(n)d days.|n=90"),  # 91 days ahead
], ids=["5 minutes", "empty", "words", "huge", "91 days"])
def test_a_deadline_out_of_bounds_is_refused(club, make_browser, closes_at, message):
    browser = make_browser(club.manager)
    value = {None: ahead(minutes=5), "far": ahead(days=91)}.get(closes_at, closes_at)
    before = snapshot()

    response = browser.submit(url(club, "/ballots/new/dissolution"), {"method": "yes_no", "closes_at": value})

    assert response.status_code == 400
    shown = error_of(response.text, "closes_at")
    assert shown
    if message:
        text, n = message.split("|n=")
        assert say(text, n=int(n)) in shown
    assert snapshot() == before


def test_a_deadline_just_inside_the_bounds_is_accepted(club, make_browser):
    browser = make_browser(club.manager)

    assert browser.submit(url(club, "/ballots/new/dissolution"), {"method": "yes_no",
                                                                  "closes_at": ahead(minutes=12)}).status_code == 302
    assert browser.submit(url(club, "/ballots/new/renewal"), {"method": "yes_no",
                                                              "closes_at": ahead(days=89)}).status_code == 302


def test_consent_is_refused_where_unanimity_is_needed(club, make_browser):
    """Dissolving needs unanimity (charter default): consent, where members may stand aside, is not enough (R7)."""
    browser = make_browser(club.manager)
    before = snapshot()

    response = browser.submit(url(club, "/ballots/new/dissolution"), {"method": "consent", "closes_at": ahead(days=7)})

    assert response.status_code == 400
    assert say("This decision needs every member's yes: consent, where members may stand aside, is not "
               "enough.") in (error_of(response.text, "method") or "")
    assert say("Rule %(rule)s of the charter.", rule="R7") in response.text
    assert snapshot() == before


def test_the_manager_proposes_a_charter_amendment(club, make_browser):
    browser = make_browser(club.manager)
    values = form_values(browser.get(url(club, "/charter/propose")).text)
    assert values["quorum_percent"] == "50"

    response = browser.submit(url(club, "/charter/propose"), {**values, "quorum_percent": "60"})

    assert response.status_code == 302
    ballot = fresh().scalar(select(Ballot).where(Ballot.club_id == club.club_id))
    assert (ballot.kind, ballot.proposal) == ("charter", {"quorum_percent": 60})
    page = browser.get(url(club, f"/ballots/{ballot.id}")).text
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", page)
    assert rows == [(say("Quorum, in percent of eligible members (R6)"), "50", "60")]
    assert charter_of(club.club_id).quorum_percent == 50  # in force until the vote adopts it


def test_an_amendment_that_changes_nothing_is_refused(club, make_browser):
    browser = make_browser(club.manager)
    values = form_values(browser.get(url(club, "/charter/propose")).text)
    before = snapshot()

    response = browser.submit(url(club, "/charter/propose"), values)

    assert response.status_code == 409
    assert say("Nothing was changed.") in response.text
    assert snapshot() == before


# --- Voting -----------------------------------------------------------------------------------------


def test_a_member_votes_yes_then_changes_to_no(club, make_browser):
    ballot = open_ballot(club)
    browser = make_browser(member(club, 3))
    page = url(club, f"/ballots/{ballot.id}")

    first = browser.submit(page, {"choice": str(tally.YES)})
    assert first.status_code == 302
    shown = browser.get(page).text
    assert say("Your vote is recorded.") in shown and say("You may change it until the close.") in shown
    assert re.search(r'<input checked [^>]*name="choice" [^>]*value="1">', shown)  # my vote, shown back

    assert browser.submit(page, {"choice": str(tally.NO)}).status_code == 302
    assert [(v.voter_id, v.value) for v in votes_of(ballot.id)] == [(mid(club, 3), tally.NO)]  # one vote, the last
    assert voter(ballot.id, mid(club, 3)).voted


@pytest.mark.parametrize("choice, message", [(None, "Make your choice."), ("7", None), (LONG, None)],
                         ids=["missing", "off the scale", "huge"])
def test_a_vote_without_a_valid_choice_is_refused(club, make_browser, choice, message):
    ballot = open_ballot(club)
    browser = make_browser(member(club, 3))
    before = snapshot()

    response = browser.submit(url(club, f"/ballots/{ballot.id}"), {} if choice is None else {"choice": choice})

    assert response.status_code == 400
    assert 'role="alert"' in main_of(response.text)
    if message:
        assert say(message) in response.text
    assert snapshot() == before


def test_a_consent_objection_needs_its_reason(club, make_browser):
    ballot = open_ballot(club, method="consent")
    browser = make_browser(member(club, 3))
    page = url(club, f"/ballots/{ballot.id}")
    before = snapshot()

    refused = browser.submit(page, {"choice": str(tally.NO), "reason": "  "})

    assert refused.status_code == 400
    assert say("An objection must give its reason.") in (error_of(refused.text, "reason") or "")
    assert snapshot() == before
    accepted = browser.submit(page, {"choice": str(tally.NO), "reason": "Le prêt est trop long"})
    assert accepted.status_code == 302
    assert [(v.value, v.reason) for v in votes_of(ballot.id)] == [(tally.NO, "Le prêt est trop long")]


def test_majority_judgment_needs_a_grade_for_every_option(club, make_browser):
    first, second = new_project(club), new_project(club, name="Épicerie de Crest")
    ballot = open_ballot(club, method="judgment", subject=Subject(project_ids=[first.id, second.id]))
    a, b = (o.id for o in ballot.options)
    browser = make_browser(member(club, 3))
    page = url(club, f"/ballots/{ballot.id}")
    shown = browser.get(page).text
    radios = re.findall(r'<input[^>]*name="(grade_\d+)"[^>]*type="radio" value="(\d)"', shown)
    assert sorted(radios) == sorted((f"grade_{o}", str(g)) for o in (a, b) for g in range(6))
    before = snapshot()

    refused = browser.submit(page, {f"grade_{a}": "5"})

    assert refused.status_code == 400
    assert say("Grade every option.") in refused.text
    assert snapshot() == before
    assert browser.submit(page, {f"grade_{a}": "5", f"grade_{b}": "0"}).status_code == 302
    assert [(v.option_id, v.value) for v in votes_of(ballot.id)] == [(a, 5), (b, 0)]


def test_approval_counts_the_boxes_ticked(club, make_browser):
    first, second = new_project(club), new_project(club, name="Épicerie de Crest")
    ballot = open_ballot(club, method="approval", subject=Subject(project_ids=[first.id, second.id]))
    a, b = (o.id for o in ballot.options)
    browser = make_browser(member(club, 3))

    response = browser.submit(url(club, f"/ballots/{ballot.id}"), {f"approve_{b}": "y"})

    assert response.status_code == 302
    assert [(v.option_id, v.value) for v in votes_of(ballot.id)] == [(a, tally.NOT_APPROVED), (b, tally.APPROVED)]


def test_a_replayed_vote_in_a_secret_ballot_is_refused(club, make_browser):
    ballot = open_ballot(club, "election", subject=Subject(role="secretary", candidate_ids=[mid(club, 2)]))
    assert ballot.secret  # elections are secret unless said otherwise
    browser = make_browser(member(club, 3))
    page = url(club, f"/ballots/{ballot.id}")
    sent = {**hidden_fields(browser.get(page).text), "choice": str(tally.YES)}
    assert browser.client.post(page, data=sent).status_code == 302
    assert votes_of(ballot.id) == []  # a secret ballot keeps no one's choice
    before = snapshot()

    replayed = browser.client.post(page, data=sent)

    assert replayed.status_code == 409  # its message: see test_a_refusal_on_a_hidden_form_is_still_shown
    assert snapshot() == before


@pytest.mark.parametrize("case", ["secret vote replayed", "link declared twice"])
def test_a_refusal_on_a_hidden_form_is_still_shown(club, make_browser, case):
    """After a secret vote (or a declared link) the page hides the form; a replay of it must still say why it is
    refused, not show the page as if nothing happened."""
    browser = make_browser(member(club, 3))
    if case == "secret vote replayed":
        ballot = open_ballot(club, "election", subject=Subject(role="secretary", candidate_ids=[mid(club, 2)]))
        post, sent = url(club, f"/ballots/{ballot.id}"), {"choice": str(tally.YES)}
        message = "You have already voted. In a secret ballot a vote cannot be changed."
    else:
        project = new_project(club)
        post, sent = url(club, f"/projects/{project.id}/link"), {"nature": "Anne est ma sœur"}
        message = "You have already declared a link to this project."
    sent |= hidden_fields(browser.get(url(club, "/")).text)
    assert browser.client.post(post, data=sent).status_code == 302

    replayed = browser.client.post(post, data=sent)

    assert replayed.status_code == 409
    assert say(message) in replayed.text


# --- Proxies ----------------------------------------------------------------------------------------


def test_a_proxy_holder_votes_for_the_giver(club, make_browser):
    ballot = open_ballot(club)
    giver, holder = make_browser(member(club, 3)), make_browser(member(club, 4))
    page = url(club, f"/ballots/{ballot.id}")
    g = mid(club, 3)

    given = giver.submit(url(club, f"/ballots/{ballot.id}/proxy"), {"holder_id": str(mid(club, 4))}, page=page)

    assert given.status_code == 302
    proxy = fresh().scalar(select(Proxy).where(Proxy.ballot_id == ballot.id))
    assert (proxy.giver_id, proxy.holder_id, proxy.ended_at) == (g, mid(club, 4), None)
    shown = holder.get(page).text
    assert f'<input type="hidden" name="proxy_for" value="{g}">' in shown
    assert f'name="for{g}-choice"' in shown
    voted = holder.submit(page, {"proxy_for": str(g), f"for{g}-choice": str(tally.YES)})
    assert voted.status_code == 302
    assert say("The vote of %(name)s is recorded.", name=member(club, 3).name) in holder.get(page).text
    cast_for = voter(ballot.id, g)
    assert (cast_for.voted, cast_for.cast_by_id) == (True, mid(club, 4))
    assert not voter(ballot.id, mid(club, 4)).voted  # the holder's own vote is still theirs to cast
    assert [(v.voter_id, v.cast_by_id, v.value) for v in votes_of(ballot.id)] == [(g, mid(club, 4), tally.YES)]


def test_in_a_secret_ballot_the_giver_still_votes_over_the_proxy(club, make_browser):
    ballot = open_ballot(club, secret=True)
    g, h = mid(club, 3), mid(club, 4)
    ballots.give_proxy(member(club, 3).id, club.club_id, ballot.id, h)
    ballots.vote(member(club, 4).id, club.club_id, ballot.id, choices={ballot.options[0].id: tally.YES}, for_member=g)
    giver = make_browser(member(club, 3))
    page = url(club, f"/ballots/{ballot.id}")

    shown = giver.get(page).text
    assert say("It was cast by the holder of your proxy.") in shown
    assert say("You may still vote yourself until the close: your vote then replaces theirs, which nobody "
               "reads.") in shown
    assert say("Choices are kept without names and counted at the close; then only the totals remain. Nobody, "
               "not even the database, can tell who chose what. Only a copy of the database taken while the vote "
               "is open could show what changed between two votes.") in shown
    voted = giver.submit(page, {"choice": str(tally.NO)})

    assert voted.status_code == 302
    assert (voter(ballot.id, g).voted, voter(ballot.id, g).cast_by_id) == (True, g)
    after = giver.get(page).text
    assert say("A secret vote cannot be changed.") in after and 'name="choice"' not in after
    ballots.tick(now=after_deadline())
    closed = by_id_fresh(Ballot, ballot.id)
    assert (closed.tally["yes"], closed.tally["no"]) == (0, 1)


def test_the_giver_withdraws_the_proxy_before_it_is_used(club, make_browser):
    ballot = open_ballot(club)
    ballots.give_proxy(member(club, 3).id, club.club_id, ballot.id, mid(club, 4))
    giver = make_browser(member(club, 3))

    response = giver.submit(url(club, f"/ballots/{ballot.id}/proxy/withdraw"), page=url(club, f"/ballots/{ballot.id}"))

    assert response.status_code == 302
    assert fresh().scalar(select(Proxy).where(Proxy.ballot_id == ballot.id)).ended_at is not None
    before = snapshot()
    again = giver.action(url(club, f"/ballots/{ballot.id}/proxy/withdraw"))
    assert again.status_code == 409
    assert say("You have not given your proxy on this ballot.") in again.text
    assert snapshot() == before


@pytest.mark.parametrize("case", ["not held", "not a number"])
def test_a_vote_for_someone_whose_proxy_one_does_not_hold_is_refused(club, make_browser, case):
    ballot = open_ballot(club)
    g = mid(club, 3)
    browser = make_browser(member(club, 4))
    before = snapshot()

    proxy_for = str(g) if case == "not held" else "trois"
    response = browser.submit(url(club, f"/ballots/{ballot.id}"),
                              {"proxy_for": proxy_for, f"for{proxy_for}-choice": str(tally.YES)})

    assert response.status_code == (403 if case == "not held" else 400)
    if case == "not held":
        assert say("You do not hold this member's proxy for this ballot.") in response.text
    assert snapshot() == before


@pytest.mark.parametrize("holder", ["myself", "stranger", "words"])
def test_a_proxy_to_someone_who_cannot_hold_it_is_refused(club, neighbour, make_browser, holder):
    ballot = open_ballot(club)
    browser = make_browser(member(club, 3))
    value = {"myself": str(mid(club, 3)), "stranger": str(neighbour.membership_id(neighbour.manager)),
             "words": "Anne"}[holder]
    before = snapshot()

    response = browser.submit(url(club, f"/ballots/{ballot.id}/proxy"), {"holder_id": value},
                              page=url(club, f"/ballots/{ballot.id}"))

    assert response.status_code == 400
    message = {"myself": "Choose another member.", "stranger": "This member does not vote on this ballot."}.get(holder)
    if message:
        assert say(message) in response.text
    assert snapshot() == before


# --- Closing and cancelling -------------------------------------------------------------------------


def test_the_manager_closes_early_only_once_everyone_has_voted(club, make_browser):
    ballot = open_ballot(club)
    for n in range(5):
        cast(club, n, ballot, tally.YES)
    manager = make_browser(club.manager)
    close = url(club, f"/ballots/{ballot.id}/close")
    before = snapshot()

    early = manager.action(close)

    assert early.status_code == 400
    assert say("%(n)d eligible members have not voted yet: the ballot closes at its deadline.", n=1) in early.text
    assert snapshot() == before
    cast(club, 5, ballot, tally.NO)
    assert manager.action(close).status_code == 302
    closed = by_id_fresh(Ballot, ballot.id)
    assert (closed.status, closed.outcome, closed.closed_by_id) == ("closed", "adopted", club.manager.id)


def test_a_member_may_not_close_or_cancel(club, make_browser):
    ballot = open_ballot(club)
    for n in range(6):
        cast(club, n, ballot, tally.YES)
    browser = make_browser(member(club, 3))
    before = snapshot()

    assert browser.action(url(club, f"/ballots/{ballot.id}/close")).status_code == 403
    assert browser.action(url(club, f"/ballots/{ballot.id}/cancel"), {"reason": "Je préfère"}).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("reason", ["", "   ", "x" * 301], ids=["empty", "blank", "too long"])
def test_a_cancellation_needs_a_reason(club, make_browser, reason):
    ballot = open_ballot(club)
    browser = make_browser(club.manager)
    before = snapshot()

    response = browser.submit(url(club, f"/ballots/{ballot.id}/cancel"), {"reason": reason},
                              page=url(club, f"/ballots/{ballot.id}"))

    assert response.status_code == 400
    if reason != "x" * 301:
        assert say("Say why the ballot is cancelled.") in response.text
    assert snapshot() == before


def test_the_manager_cancels_a_ballot_with_a_reason(club, make_browser):
    ballot = open_ballot(club)
    browser = make_browser(club.manager)

    response = browser.submit(url(club, f"/ballots/{ballot.id}/cancel"), {"reason": "Le projet a changé"},
                              page=url(club, f"/ballots/{ballot.id}"))

    assert response.status_code == 302
    cancelled = by_id_fresh(Ballot, ballot.id)
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "Le projet a changé")
    assert by_id_fresh(Project, ballot.project_id).status == "presented"  # no decision: it may be voted on again
    page = make_browser(member(club, 3)).get(url(club, f"/ballots/{ballot.id}"))
    assert say("Cancelled by the manager: %(reason)s", reason="Le projet a changé") in page.text


# --- Results ---------------------------------------------------------------------------------------


def _four_yes_one_no_one_abstain(setup) -> Ballot:
    ballot = open_ballot(setup)
    for n, value in enumerate([tally.YES] * 4 + [tally.NO, tally.ABSTAIN]):
        cast(setup, n, ballot, value)
    return ballot


#: 6 eligible, all took part; quorum 50 % of 6 = 3 needed; 4 yes of 4 + 1 cast = 80 % > half: adopted.
def result() -> list[str]:
    """The explanation's sentences, as the French page shows them (a count agrees with its number, a percentage
    is written the French way)."""
    return [say_n("Quorum reached: %(num)d of %(e)d eligible members took part (at least %(n)d needed, %(q)s).",
                  "Quorum reached: %(num)d of %(e)d eligible members took part (at least %(n)d needed, %(q)s).",
                  6, e=6, n=3, q="50\u00a0%"),
            say("%(yes)d yes of %(cast)d votes cast = %(pct)s: more than half is needed (abstentions left out).",
                yes=4, cast=5, pct="80\u00a0%"),
            say("Adopted.")]


def test_no_result_is_shown_before_the_close(club, make_browser):
    ballot = _four_yes_one_no_one_abstain(club)

    page = make_browser(member(club, 3)).get(url(club, f"/ballots/{ballot.id}")).text

    assert say_n("%(num)d of %(e)d eligible member has voted so far. Results stay hidden until the close.",
                 "%(num)d of %(e)d eligible members have voted so far. Results stay hidden until the close.",
                 6, e=6) in page
    assert not any(line in page for line in result())
    assert say("Result: %(outcome)s", outcome=say("adopted")) not in page
    assert say("adopted") not in main_of(page)


def test_after_the_close_the_page_explains_the_outcome_in_words(club, make_browser):
    ballot = _four_yes_one_no_one_abstain(club)

    assert ballots.tick(now=after_deadline()) == 1

    page = make_browser(member(club, 3)).get(url(club, f"/ballots/{ballot.id}")).text
    for line in result():
        assert line in page
    assert say("Result: %(outcome)s", outcome=say("adopted")) in page
    assert say("at the deadline") in page
    assert by_id_fresh(Project, ballot.project_id).status == "approved"
    voters = re.findall(r"<tr><td>(.*?)</td>", main_of(page).split(say("Who voted what (open ballot)"), 1)[1])
    assert len(voters) == 6  # an open ballot shows who chose what, after the close


def test_a_vote_sent_after_the_close_says_so_once(club, make_browser):
    ballot = open_ballot(club)
    browser = make_browser(member(club, 3))
    page = url(club, f"/ballots/{ballot.id}")
    sent = {**hidden_fields(browser.get(page).text), "choice": str(tally.YES)}
    ballots.tick(now=after_deadline())
    before = snapshot()

    response = browser.client.post(page, data=sent)

    assert response.status_code == 409
    assert response.text.count(say("This ballot is closed.")) == 1
    assert snapshot() == before


def test_single_project_results_have_no_empty_option_column(club, make_browser):
    ballot = _four_yes_one_no_one_abstain(club)
    ballots.tick(now=after_deadline())
    page = make_browser(member(club, 3)).get(url(club, f"/ballots/{ballot.id}")).text
    table = main_of(page).split(say("Who voted what (open ballot)"), 1)[1].split("</table>", 1)[0]
    assert say("Option") not in table and "<td></td>" not in table
    assert len(re.findall(r"<th scope=\"col\">", table)) == 2  # member, vote


def test_a_consent_result_counts_objections(club, make_browser):
    """Two consent, three stand aside, one objection: consent needs no objection, so it is rejected."""
    ballot = open_ballot(club, method="consent")
    for n, value in enumerate([tally.YES, tally.YES, tally.ABSTAIN, tally.ABSTAIN, tally.ABSTAIN, tally.NO]):
        cast(club, n, ballot, value, reason="Trop cher" if value == tally.NO else None)
    ballots.tick(now=after_deadline())

    page = make_browser(member(club, 3)).get(url(club, f"/ballots/{ballot.id}")).text

    assert say("%(yes)d consent, %(aside)d stand aside, %(num)d objection: consent needs at least one yes and no "
               "objection.", yes=2, aside=3, num=1) in page
    assert say("Rejected.") in page
    assert "« Trop cher »" in page


def test_the_ballot_list_shows_my_part_and_the_managers_choices(club, make_browser):
    ballot = open_ballot(club, title="Le fournil")
    page = make_browser(member(club, 3)).get(url(club, "/ballots")).text
    assert url(club, f"/ballots/{ballot.id}") in page and say("you have not voted yet") in page
    assert url(club, "/ballots/new/") not in page  # a member opens no ballot

    managers = make_browser(club.manager).get(url(club, "/ballots")).text
    for kind in ("funding", "admission", "exclusion", "election", "renewal", "dissolution"):
        assert f'href="{url(club, "/ballots/new/" + kind)}"' in managers
    assert f'href="{url(club, "/charter/propose")}"' in managers


# --- Home pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["/", "club"])
def test_the_home_pages_list_open_ballots_until_one_votes(club, make_browser, where):
    ballot = open_ballot(club, title="Le fournil")
    browser = make_browser(member(club, 3))
    home = "/" if where == "/" else url(club, "/")

    waiting = browser.get(home).text
    assert url(club, f"/ballots/{ballot.id}") in waiting
    assert say("you have not voted yet") in waiting and say("you have voted") not in waiting

    cast(club, 3, ballot, tally.YES)
    voted = browser.get(home).text
    assert say("you have voted") in voted and say("you have not voted yet") not in voted

    ballots.tick(now=after_deadline())
    assert url(club, f"/ballots/{ballot.id}") not in browser.get(home).text


def test_untitled_funding_ballots_are_listed_with_their_projects_names(club, make_browser):
    """Two open funding ballots without a title must not look the same: each list names the project."""
    bakery = open_ballot(club)
    grocery = open_ballot(club, subject=Subject(project_ids=[new_project(club, name="Épicerie de Crest").id]))
    browser = make_browser(member(club, 3))
    for page in (url(club, "/ballots"), url(club, "/"), "/"):
        shown = browser.get(page).text
        for ballot, name in ((bakery, "Fournil de Die"), (grocery, "Épicerie de Crest")):
            link = re.search(rf'href="{re.escape(url(club, f"/ballots/{ballot.id}"))}">(.*?)</a>', shown).group(1)
            assert str(escape(name)) in link, (page, link)
    project = browser.get(url(club, f"/projects/{grocery.project_id}")).text
    assert re.search(rf'/ballots/{grocery.id}">[^<]*{re.escape(str(escape("Épicerie de Crest")))}', project)


# --- The register of decisions ------------------------------------------------------------------------


def test_the_register_lists_closed_ballots_with_their_explanation(club, make_browser):
    adopted = _four_yes_one_no_one_abstain(club)
    unanswered = open_ballot(club, "dissolution")
    browser = make_browser(member(club, 4))
    assert say("No decision yet.") in browser.get(url(club, "/decisions")).text

    ballots.tick(now=utcnow() + timedelta(days=7, minutes=1))  # both were opened for a week
    fresh()

    page = browser.get(url(club, "/decisions")).text
    assert url(club, f"/ballots/{adopted.id}") in page
    assert " ".join(result()) in page
    assert url(club, f"/ballots/{unanswered.id}") in page  # closed too: nobody voted, no quorum
    assert say("Nothing is decided.") in page


def test_the_register_exports_as_csv(club, make_browser):
    adopted = _four_yes_one_no_one_abstain(club)
    formula = open_ballot(club, "dissolution", title="=HYPERLINK(\"http://x\")")
    ballots.tick(now=after_deadline())
    open_ballot(club, "renewal")  # still open: not in the register

    response = make_browser(member(club, 4)).get(url(club, "/decisions.csv"))

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    header, *lines = rows
    assert len(header) == 14 and header[0] == unescape(say("Number"))
    assert [int(line[0]) for line in lines] == [adopted.id, formula.id]
    first, second = lines
    assert first[6:11] == ["6", "6", "4", "1", "1"]  # eligible, took part, yes, no, abstentions
    assert first[12] == unescape(" ".join(result())).replace("\xa0", " ").replace("\u202f", " ")  # plain spaces in a cell
    assert second[3].startswith("'=HYPERLINK(")  # a spreadsheet reads it as text, not as a formula


# --- The members page of an active club ------------------------------------------------------------------


def test_a_pending_request_in_an_active_club_is_put_to_a_vote(club, make_browser, make_user):
    asked = pending_request(club, make_user)
    browser = make_browser(club.manager)

    page = browser.get(url(club, "/members")).text

    assert say("Put to a vote") in page
    form = url(club, f"/ballots/new/admission?subject={asked}")
    assert f'href="{form}"' in page
    assert form_values(browser.get(form).text)["membership_id"] == str(asked)
    before = snapshot()
    admitted = browser.action(url(club, f"/members/{asked}/admit"))
    assert admitted.status_code == 400
    assert say("In an active club, members are admitted by a vote: open a ballot.") in admitted.text
    assert say("Rule %(rule)s of the charter.", rule="R7") in admitted.text or "R7" in admitted.text
    assert snapshot() == before
