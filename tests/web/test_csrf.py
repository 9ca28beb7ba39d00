"""CSRF: every route that accepts POST refuses a request without a token (400), walking the URL map. The JSON
API (/api/v1) is the one exception: it knows nobody by the session cookie, only by a bearer token, so a forged
cross-site request carries nothing it accepts (401, nothing written)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from coop.models.base import utcnow
from coop.services import ballots, clubs, fund, projects
from tests.conftest import PASSWORD, hidden_fields, key, say, snapshot

#: What a person would otherwise send to each form, so that only the missing token is wrong.
PLAUSIBLE = {
    "language": "en", "next": "/", "role": "secretary", "code": "ABCD-EFGH-JKLM", "name": "Cigale",
    "town": "Die", "country": "FR", "currency": "EUR", "email": "x@example.org", "password": PASSWORD,
    "confirm": PASSWORD, "current_password": PASSWORD, "new_password": "un autre secret", "min_members": "6",
}
#: The smallest set of routes the walk must find, so that an empty or broken walk cannot pass.
KNOWN_POST_ENDPOINTS = {
    "main.switch_language", "auth.register", "auth.login", "auth.logout", "auth.change_password",
    "clubs.create_club", "clubs.join", "clubs.admit", "clubs.decline", "clubs.appoint", "clubs.leave",
    "clubs.activate", "clubs.edit_charter", "clubs.invitations", "clubs.revoke_invitation",
    "fund.my_savings", "fund.record_contribution", "fund.reverse_contribution", "fund.month_sheet", "fund.refund",
    "fund.distribute", "fund.close", "fund.value_exit", "fund.withdraw", "fund.hand_over",
    "projects.propose", "projects.edit_project", "projects.present", "projects.withdraw", "projects.declare_link",
    "ballots.open_ballot", "ballots.propose_amendment", "ballots.vote", "ballots.give_proxy", "ballots.withdraw_proxy",
    "ballots.close", "ballots.cancel",
    "investments.record", "investments.enter_payment", "investments.approve", "investments.cancel", "investments.loan_terms",
    "investments.repayment", "investments.investment_return", "investments.sale", "investments.write_off", "investments.note",
    "investments.revalue", "investments.approve_revaluation", "investments.cancel_revaluation",
    "timebank.privacy", "timebank.publish", "timebank.edit_listing", "timebank.listing_status", "timebank.answer",
    "timebank.record",
    "timebank.complete", "timebank.confirm", "timebank.dispute", "timebank.withdraw", "timebank.settle", "timebank.limits",
    "books.close_period", "books.assert_balance", "books.resolve_assertion", "books.bank_upload",
    "books.bank_columns", "books.bank_auto_match", "books.bank_match", "books.bank_unmatch", "books.bank_fee",
    "books.bank_contribution", "books.bank_reconcile", "auth.settings", "auth.request_reset", "auth.reset_password",
    "transfers.sell", "transfers.heirs", "transfers.claim", "transfers.withdraw_claim", "transfers.withdraw",
    "transfers.settle",
    "meetings.convene", "meetings.add_item", "meetings.propose_amendment", "meetings.prefill", "meetings.cancel",
    "meetings.give_proxy", "meetings.withdraw_proxy", "meetings.open_meeting", "meetings.record_attendance",
    "meetings.close_item", "meetings.close_meeting", "meetings.write_minutes", "meetings.sign_minutes",
    "tokens.token_list", "tokens.revoke",
}


def is_api(rule) -> bool:
    return rule.rule.startswith("/api/v1/")


@pytest.fixture
def club_with_everything(make_club, make_user):
    """A forming club seen by its manager, with a pending request, an open invitation and a project: real ids for
    every URL. A forming club holds no ballot: the ballot is one of an active club (the token is checked first)."""
    voting = make_club(5, name="Cigale Active")
    ballot = ballots.open_ballot(voting.manager.id, voting.club_id, kind="dissolution", method="yes_no",
                                 closes_at=utcnow() + timedelta(days=7), subject=ballots.Subject(), form_key=key())
    setup = make_club(5, activate=False)
    _, code = clubs.invite(setup.manager.id, setup.club_id, form_key=key())
    pending = clubs.join(make_user().id, code)
    invitation, _ = clubs.invite(setup.manager.id, setup.club_id, form_key=key())
    contribution = fund.record_contribution(setup.treasurer.id, setup.club_id,
                                            membership_id=setup.membership_id(setup.manager), amount=2000,
                                            received_on=date.today(), method="transfer", idempotency_key=key())
    project = projects.propose(setup.manager.id, setup.club_id, {
        "name": "Fournil", "description": "Un four.", "town": "Die", "legal_form": "scop", "instrument": "loan",
        "amount_requested": 100_000, "stake_hundredths": None, "holder_name": "Anne",
        "holder_contact": "anne@example.org"}, form_key=key())
    return setup, {"club_id": setup.club_id, "membership_id": pending.id, "invitation_id": invitation.id,
                   "contribution_id": contribution.id, "project_id": project.id, "ballot_id": ballot.id,
                   "kind": "funding",
                   # No investment or payment exists here: the token is refused before any lookup.
                   "investment_id": 999_999, "payment_id": 999_999, "listing_id": 999_999, "exchange_id": 999_999,
                   "assertion_id": 999_999, "line_id": 999_999, "payout_id": 999_999, "transfer_id": 999_999,
                   "revaluation_id": 999_999, "token": "x" * 43, "year": 2025, "meeting_id": 999_999,
                   "token_id": 999_999, "partnership_id": 999_999, "cross_id": 999_999, "region_id": 999_999}


def test_every_post_route_refuses_a_request_without_token(app, make_browser, club_with_everything):
    setup, ids = club_with_everything
    browser = make_browser(setup.manager)
    post_rules = [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods and not is_api(rule)]
    uncovered = [f"{rule.rule} needs {sorted(rule.arguments - ids.keys())}" for rule in post_rules
                 if rule.arguments - ids.keys()]
    assert not uncovered, "POST routes with URL parameters this test cannot fill: " + "; ".join(uncovered)
    assert {rule.endpoint for rule in post_rules} >= KNOWN_POST_ENDPOINTS
    before = snapshot()

    answers = {}
    for rule in post_rules:
        url = rule.build(ids, append_unknown=False)[1]
        response = browser.client.post(url, data={**PLAUSIBLE, "form_key": key()})
        answers[url] = (response.status_code, say(
            "This form has expired or was not sent from Entraide. Reload the page and try again.") in response.text)

    refused = {url: answer for url, answer in answers.items() if answer != (400, True)}
    assert not refused, f"answered without a CSRF refusal (status, message shown): {refused}"
    assert snapshot() == before
    assert browser.get("/account/").status_code == 200  # still logged in: the logout was refused too


def test_the_api_refuses_a_logged_in_browser_without_a_bearer_token(app, make_browser, club_with_everything):
    """The API's writes are exempt from the CSRF check because the session cookie is no key to them."""
    setup, ids = club_with_everything
    browser = make_browser(setup.manager)
    api_rules = [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods and is_api(rule)]
    assert len(api_rules) >= 5
    before = snapshot()
    for rule in api_rules:
        response = browser.client.post(rule.build(ids, append_unknown=False)[1], json={},
                                       headers={"Idempotency-Key": key()})
        assert response.status_code == 401 and response.content_type == "application/problem+json", rule.rule
    assert snapshot() == before


def test_a_token_from_another_session_is_refused(make_browser, make_user, club_with_everything):
    setup, ids = club_with_everything
    victim = make_browser(setup.manager)
    attacker = make_browser(make_user())
    stolen = hidden_fields(attacker.get("/").text)["csrf_token"]
    before = snapshot()

    response = victim.client.post(f"/clubs/{ids['club_id']}/members/{ids['membership_id']}/admit",
                                  data={"csrf_token": stolen})

    assert response.status_code == 400
    assert snapshot() == before


def test_the_same_post_with_its_token_goes_through(make_browser, club_with_everything):
    setup, ids = club_with_everything

    response = make_browser(setup.manager).action(f"/clubs/{ids['club_id']}/members/{ids['membership_id']}/admit")

    assert response.status_code == 302
