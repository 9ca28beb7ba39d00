"""The investment pages: record an approved project, enter a payment, a second officer approves it."""
from __future__ import annotations

import re
from datetime import date

from coop.services import ledger
from tests.conftest import say, snapshot
from tests.services.test_investment_flow import approved, fund_club


def test_two_officers_pay_an_approved_project_out_through_the_pages(club, make_browser):
    fund_club(club, 300_000)
    project_id = approved(club)
    cid = club.club_id
    treasurer, manager, member = (make_browser(club.treasurer), make_browser(club.manager),
                                  make_browser(club.members[4]))

    page = member.get(f"/clubs/{cid}/projects/{project_id}")
    assert f"/clubs/{cid}/projects/{project_id}/invest" not in page.text  # not an officer
    assert member.get(f"/clubs/{cid}/projects/{project_id}/invest").status_code == 403

    mentor = club.membership_id(club.members[3])
    done = treasurer.submit(f"/clubs/{cid}/projects/{project_id}/invest",
                            {"mentor_id": str(mentor), "second_mentor_id": "0"})
    assert done.status_code == 302, done.text
    url = done.headers["Location"]
    investment_id = int(re.search(r"/investments/(\d+)$", url).group(1))

    entered = treasurer.submit(f"{url}/payments", {"amount": "3 000,00", "paid_on": date.today().isoformat(),
                                                    "bank_reference": "VIR-FOURNIL"}, page=url)
    assert entered.status_code == 302, entered.text
    shown = treasurer.get(url).text
    assert say("another officer approves") in shown  # the one who entered sees no approve button
    payment_id = int(re.search(r"/payments/(\d+)/approve", manager.get(url).text).group(1))

    before = snapshot()
    refused = treasurer.submit(f"/clubs/{cid}/payments/{payment_id}/approve", page=url)
    assert refused.status_code == 400
    assert say("A second officer approves a payment: not the one who entered it.") in refused.text
    assert snapshot() == before

    approved_now = manager.submit(f"/clubs/{cid}/payments/{payment_id}/approve", page=url)
    assert approved_now.status_code == 302
    assert ledger.find_account(cid, f"investment:{project_id}").balance == 300_000
    again = manager.submit(f"/clubs/{cid}/payments/{payment_id}/approve", page=url)
    assert again.status_code == 409
    assert member.get(f"/clubs/{cid}/investments").status_code == 200
    assert member.get(f"/clubs/{cid}/investments/{investment_id}").status_code == 200


def test_a_payment_above_the_cash_available_is_refused_with_its_rule(club, make_browser):
    fund_club(club, 300_000)
    project_id = approved(club)
    from coop.services import investments
    from tests.conftest import key

    investment = investments.record_investment(club.treasurer.id, club.club_id, project_id,
                                               mentor_id=club.membership_id(club.members[3]), form_key=key())
    url = f"/clubs/{club.club_id}/investments/{investment.id}"
    treasurer = make_browser(club.treasurer)
    before = snapshot()
    refused = treasurer.submit(f"{url}/payments", {"amount": "3 000,01", "paid_on": date.today().isoformat()},
                               page=url)
    assert refused.status_code == 400
    assert say("Rule %(rule)s of the charter.", rule="R10") in refused.text
    assert snapshot() == before


def test_another_clubs_member_sees_no_investment(club, neighbour, make_browser):
    fund_club(club, 300_000)
    project_id = approved(club)
    outsider = make_browser(neighbour.manager)
    assert outsider.get(f"/clubs/{club.club_id}/investments").status_code == 404
    assert outsider.get(f"/clubs/{club.club_id}/projects/{project_id}/invest").status_code == 404


def paid(club):
    from coop.services import investments
    from tests.conftest import key

    fund_club(club, 300_000)
    project_id = approved(club)
    investment = investments.record_investment(club.treasurer.id, club.club_id, project_id,
                                               mentor_id=club.membership_id(club.members[3]), form_key=key())
    payment = investments.enter_payment(club.treasurer.id, club.club_id, investment.id, amount=300_000,
                                        paid_on=date(2026, 1, 10), form_key=key())
    investments.approve_payment(club.manager.id, club.club_id, payment.id)
    return investment


def test_the_treasurer_follows_a_loan_through_its_page(club, make_browser):
    investment = paid(club)
    url = f"/clubs/{club.club_id}/investments/{investment.id}"
    treasurer = make_browser(club.treasurer)
    terms = treasurer.submit(f"{url}/terms", {"rate": "3", "term_periods": "3", "frequency": "quarterly",
                                              "first_due_on": "2026-04-10"}, page=url)
    assert terms.status_code == 302, terms.text
    page = treasurer.get(f"/clubs/{club.club_id}/investments").text
    assert 'class="late"' in page  # the April and July instalments are past and nothing came back
    assert say("late") in page
    repaid = treasurer.submit(f"{url}/repayments", {"principal": "1 000,00", "interest": "22,50",
                                                     "received_on": "2026-04-10"}, page=url)
    assert repaid.status_code == 302, repaid.text
    assert ledger.find_account(club.club_id, f"investment:{investment.project_id}").balance == 200_000

    before = snapshot()
    too_much = treasurer.submit(f"{url}/repayments", {"principal": "2 000,01", "interest": "",
                                                       "received_on": "2026-05-10"}, page=url)
    assert too_much.status_code == 400
    assert snapshot() == before


def test_only_the_mentors_write_notes(club, make_browser):
    investment = paid(club)
    url = f"/clubs/{club.club_id}/investments/{investment.id}"
    mentor, other = make_browser(club.members[3]), make_browser(club.members[4])
    written = mentor.submit(f"{url}/notes", {"text": "Le four tourne bien.", "written_on": date.today().isoformat()},
                            page=url)
    assert written.status_code == 302, written.text
    assert "Le four tourne bien." in other.get(url).text
    before = snapshot()
    refused = other.submit(f"{url}/notes", {"text": "Moi aussi.", "written_on": date.today().isoformat()}, page=url)
    assert refused.status_code == 403
    assert snapshot() == before
