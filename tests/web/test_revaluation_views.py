"""Revaluing an investment through its pages: the treasurer enters a new value on the investment's page, a second
officer approves it from the investments' waiting list (R11), every member reads the value, the cost and the
history; refusals show next to their field with nothing written."""
from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import func, select

from coop.extensions import db
from coop.models import Revaluation
from tests.conftest import by_id, hidden_fields, key, say, snapshot
from tests.web.test_portfolio_views import balance, error_of, eur, invest, main_of, page_of

TODAY = date.today()
GOOD = {"new_value": "3 600,00", "valued_on": "2026-06-30", "reason": "Bilan 2025 en forte hausse"}


def revaluations() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Revaluation))


def test_two_officers_revalue_an_investment_through_the_pages(club, make_browser):
    loan = invest(club)  # 3,000.00 paid out on 10 January 2026
    url = page_of(club, loan)
    treasurer, manager, member = (make_browser(club.treasurer), make_browser(club.manager),
                                  make_browser(club.members[5]))
    assert f"{url}/revaluations" in treasurer.get(url).text
    assert f"{url}/revaluations" not in member.get(url).text  # only those who keep the money enter one
    assert say("Never revalued: the investment is recorded at its cost.") in member.get(url).text

    entered = treasurer.submit(f"{url}/revaluations", GOOD, page=url, follow=True)
    assert entered.status_code == 200
    assert say("The revaluation is entered. A second officer must approve it before it is posted (R11).") in \
        entered.text
    assert balance(club, f"investment:{loan.project_id}") == 300_000  # nothing posted yet
    assert say("another officer approves") in treasurer.get(url).text

    listing = manager.get(f"/clubs/{club.club_id}/investments").text
    assert say("Revaluations waiting for a second officer") in listing
    revaluation_id = int(re.search(r"/revaluations/(\d+)/approve", listing).group(1))
    assert say("Revaluations waiting for a second officer") not in member.get(f"/clubs/{club.club_id}/investments").text

    before = snapshot()
    refused = treasurer.action(f"/clubs/{club.club_id}/revaluations/{revaluation_id}/approve")
    assert refused.status_code == 400
    assert say("A second officer approves a revaluation: not the one who entered it.") in refused.text
    assert snapshot() == before

    approved = manager.action(f"/clubs/{club.club_id}/revaluations/{revaluation_id}/approve", follow=True)
    assert approved.status_code == 200
    assert say("The revaluation is approved and posted to the books.") in approved.text
    assert balance(club, f"investment:{loan.project_id}") == 360_000
    assert balance(club, f"revaluation:{loan.project_id}") == -60_000
    assert manager.action(f"/clubs/{club.club_id}/revaluations/{revaluation_id}/approve").status_code == 409

    page = main_of(member.get(url).text)
    assert eur(360_000) in page and eur(300_000) in page  # the value recorded and the cost
    assert "Bilan 2025 en forte hausse" in page
    assert say("approved by %(name)s", name=club.manager.name) in page
    row = next(r for r in re.findall(r"<tr[^>]*>.*?</tr>", member.get(f"/clubs/{club.club_id}/investments").text, re.S)
               if "Fournil de Die" in r)
    assert eur(360_000) in row and eur(300_000) in row


def refused_post(browser, url, data, page, status=400) -> str:
    before = snapshot()
    response = browser.submit(url, data, page=page)
    assert response.status_code == status, response.text[:300]
    assert snapshot() == before
    return response.text


def test_revaluation_refusals_show_next_to_their_field(club, make_browser):
    loan = invest(club)
    url = page_of(club, loan)
    treasurer = make_browser(club.treasurer)
    tomorrow = (TODAY + timedelta(days=1)).isoformat()

    html = refused_post(treasurer, f"{url}/revaluations", {**GOOD, "new_value": "3 000,00"}, url)
    assert error_of(html, "new_value") == say("%(value)s is already the value recorded: enter another one.",
                                              value=eur(300_000))
    html = refused_post(treasurer, f"{url}/revaluations", {**GOOD, "new_value": "-1,00"}, url)
    assert error_of(html, "new_value") == say("The amount cannot be negative.")
    html = refused_post(treasurer, f"{url}/revaluations", {**GOOD, "valued_on": tomorrow}, url)
    assert error_of(html, "valued_on") == say("Give a date that is not in the future.")
    html = refused_post(treasurer, f"{url}/revaluations", {**GOOD, "valued_on": "2026-01-09"}, url)
    assert error_of(html, "valued_on")  # before the first payment
    html = refused_post(treasurer, f"{url}/revaluations", {**GOOD, "reason": ""}, url)
    assert error_of(html, "reason")
    html = refused_post(treasurer, f"{url}/revaluations", {**GOOD, "reason": "x" * 301}, url)
    assert error_of(html, "reason")


def test_a_plain_member_cannot_enter_a_revaluation(club, make_browser):
    loan = invest(club)
    url = page_of(club, loan)
    # The page shows a plain member no form (and so no form key): a key of their own, to reach the service.
    refused_post(make_browser(club.members[5]), f"{url}/revaluations", {**GOOD, "form_key": key()}, url, status=403)


def test_a_replayed_revaluation_form_enters_once(club, make_browser):
    loan = invest(club)
    url = page_of(club, loan)
    treasurer = make_browser(club.treasurer)
    data = {**hidden_fields(treasurer.get(url).text), **GOOD}

    assert treasurer.client.post(f"{url}/revaluations", data=data).status_code == 302
    before = snapshot()
    assert treasurer.client.post(f"{url}/revaluations", data=data).status_code == 302  # the same entry, shown again
    assert snapshot() == before
    assert revaluations() == 1
    other = treasurer.client.post(f"{url}/revaluations", data={**data, "new_value": "3 700,00"})
    assert other.status_code == 409
    assert revaluations() == 1


def test_a_revaluation_is_cancelled_with_its_reason_through_the_list(club, make_browser):
    loan = invest(club)
    url = page_of(club, loan)
    treasurer, secretary = make_browser(club.treasurer), make_browser(club.members[2])
    assert treasurer.submit(f"{url}/revaluations", GOOD, page=url).status_code == 302
    revaluation_id = db.session.scalar(select(Revaluation.id))
    cancel = f"/clubs/{club.club_id}/revaluations/{revaluation_id}/cancel"

    before = snapshot()
    assert secretary.action(cancel, {"reason": ""}).status_code == 400
    assert snapshot() == before
    done = secretary.action(cancel, {"reason": "Chiffres non audités"}, follow=True)
    assert say("The revaluation is cancelled.") in done.text
    db.session.rollback()
    assert by_id(Revaluation, revaluation_id).status == "cancelled"
    assert "Chiffres non audités" in treasurer.get(url).text
    assert balance(club, f"investment:{loan.project_id}") == 300_000


def test_bad_or_other_clubs_revaluation_ids_are_not_found(club, neighbour, make_browser):
    from coop.services import valuation

    loan = invest(club)
    revaluation = valuation.enter_revaluation(club.treasurer.id, club.club_id, loan.id, new_value=1, valued_on=TODAY,
                                              reason="Dépréciation", form_key=key())
    manager, outsider = make_browser(club.manager), make_browser(neighbour.manager)
    before = snapshot()
    assert manager.action(f"/clubs/{club.club_id}/revaluations/999999/approve").status_code == 404
    assert manager.action(f"/clubs/{club.club_id}/revaluations/2147483648/approve").status_code == 404
    assert outsider.action(f"/clubs/{neighbour.club_id}/revaluations/{revaluation.id}/approve").status_code == 404
    assert outsider.action(f"/clubs/{club.club_id}/revaluations/{revaluation.id}/approve").status_code == 404
    assert outsider.action(f"/clubs/{neighbour.club_id}/revaluations/{revaluation.id}/cancel",
                           {"reason": "Non"}).status_code == 404
    assert snapshot() == before
