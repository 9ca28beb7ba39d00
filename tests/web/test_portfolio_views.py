"""The portfolio page and the follow-up forms of an investment: loan schedule, repayments, dividends, stake sales
after a unanimous ballot (R7), write-offs and mentors' notes, through the pages.

The club (``club`` fixture): manager, treasurer, secretary, three plain members (members[3] is the mentor), each
paying in 300,000 cents; payments go out on 10 January 2026."""
from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from coop.amounts import money
from coop.extensions import db
from coop.models import Ballot, Investment, InvestmentEvent, InvestmentNote
from coop.models.base import utcnow
from coop.services import ballots, investments, ledger, tally
from coop.services.ballots import Subject
from tests.conftest import by_id, key, say, say_window, snapshot
from tests.services.test_investment_flow import approved, fund_club

TODAY = date.today()
SHARES = dict(instrument="equity", legal_form="sas", stake_hundredths=3000)
FOLLOW_UP = ("terms", "repayments", "returns", "sale", "write-off")


def eur(cents: int) -> str:
    return money(cents, "EUR", "fr")


def error_of(html: str, field: str) -> str | None:
    """The message shown next to a field, if any (the follow-up forms prefix their ids: ``repayment-principal``)."""
    found = re.search(rf'<p class="error" id="(?:[a-z_]+-)?{re.escape(field)}-error" role="alert">(.*?)</p>', html,
                      re.S)
    return found.group(1) if found else None


def main_of(html: str) -> str:
    return html.split('<main id="main">', 1)[1]


def invest(club, *, pay: bool = True, **changes) -> Investment:
    """An approved project recorded (mentor: members[3]) and, unless ``pay`` is false, paid out in full."""
    if not ledger.find_account(club.club_id, "bank").balance:
        fund_club(club, 300_000)
    project_id = approved(club, **changes)
    investment = investments.record_investment(club.treasurer.id, club.club_id, project_id,
                                               mentor_id=club.membership_id(club.members[3]), form_key=key())
    if pay:
        payment = investments.enter_payment(club.treasurer.id, club.club_id, investment.id, amount=investment.amount,
                                            paid_on=date(2026, 1, 10), form_key=key())
        investments.approve_payment(club.manager.id, club.club_id, payment.id)
    return investment


def page_of(club, investment) -> str:
    return f"/clubs/{club.club_id}/investments/{investment.id}"


def agree_sale(club, investment) -> Ballot:
    ballot = ballots.open_ballot(club.manager.id, club.club_id, kind="stake_sale", method="yes_no",
                                 closes_at=utcnow() + timedelta(days=7), subject=Subject(investment_id=investment.id),
                                 form_key=key())
    for user in club.members:
        ballots.vote(user.id, club.club_id, ballot.id, choices={ballot.options[0].id: tally.YES})
    ballots.close_early(club.manager.id, club.club_id, ballot.id)
    return ballot


def balance(club, code: str) -> int:
    db.session.rollback()
    return ledger.find_account(club.club_id, code).balance


# --- The portfolio page -------------------------------------------------------------------------


def test_the_portfolio_lists_each_investment_with_its_figures_and_totals(club, make_browser):
    """A loan of 3,000.00 with 1,000.00 repaid and 22.50 of interest, late on its July instalment; shares of
    1,000.00 with 120.00 of dividends. Totals: 4,000.00 out, 1,000.00 back, 142.50 of income, 3,000.00 outstanding."""
    loan = invest(club)
    shares = invest(club, name="Scierie du Diois", amount_requested=100_000, **SHARES)
    investments.set_loan_terms(club.treasurer.id, club.club_id, loan.id, rate_basis_points=300, term_periods=3,
                               frequency="quarterly", first_due_on=date(2026, 4, 10))
    investments.record_repayment(club.treasurer.id, club.club_id, loan.id, principal=100_000, interest=2_250,
                                 received_on=date(2026, 4, 10), form_key=key())
    investments.record_return(club.treasurer.id, club.club_id, shares.id, amount=12_000,
                              received_on=date(2026, 6, 30), form_key=key())

    page = make_browser(club.members[5]).get(f"/clubs/{club.club_id}/investments")

    assert page.status_code == 200
    rows = {name: row for row in re.findall(r"<tr[^>]*>.*?</tr>", page.text, re.S)
            for name in ("Fournil de Die", "Scierie du Diois") if name in row}
    loan_row, shares_row = rows["Fournil de Die"], rows["Scierie du Diois"]
    assert 'class="late"' in loan_row and say("late") in loan_row
    assert 'class="late"' not in shares_row
    for figure in (eur(300_000), eur(100_000), eur(2_250), eur(200_000)):
        assert figure in loan_row
    for figure in (eur(100_000), eur(0), eur(12_000)):
        assert figure in shares_row
    foot = page.text.split("<tfoot>", 1)[1].split("</tfoot>", 1)[0]
    assert re.findall(r'<td class="num">(.*?)</td>', foot) == [eur(400_000), eur(100_000), eur(14_250),
                                                               eur(300_000), eur(14_250)]
    assert re.search(r'<svg[^>]*role="img"', page.text)


def test_the_chart_appears_once_something_is_paid(club, make_browser):
    investment = invest(club, pay=False)
    browser = make_browser(club.manager)
    url = f"/clubs/{club.club_id}/investments"

    nothing_paid = browser.get(url).text
    assert "Fournil de Die" in nothing_paid
    assert "<svg" not in main_of(nothing_paid)

    payment = investments.enter_payment(club.treasurer.id, club.club_id, investment.id, amount=300_000,
                                        paid_on=date(2026, 1, 10), form_key=key())
    assert "<svg" not in main_of(browser.get(url).text)  # a payment waiting for approval is not paid out
    assert say("%(amount)s waiting for approval", amount=eur(300_000)) in browser.get(url).text
    investments.approve_payment(club.manager.id, club.club_id, payment.id)
    assert re.search(r'<svg[^>]*role="img"', browser.get(url).text)


def test_an_empty_portfolio_says_so(club, make_browser):
    page = make_browser(club.members[4]).get(f"/clubs/{club.club_id}/investments")
    assert page.status_code == 200
    assert say("No investment yet: once members approve a project, an officer records it here.") in page.text


# --- The follow-up forms --------------------------------------------------------------------------


def test_the_treasurer_follows_a_loan_through_its_forms(club, make_browser):
    loan = invest(club)
    url = page_of(club, loan)
    treasurer = make_browser(club.treasurer)

    saved = treasurer.submit(f"{url}/terms", {"rate": "2,5", "term_periods": "3", "frequency": "quarterly",
                                              "first_due_on": "2026-04-10"}, page=url)
    assert saved.status_code == 302 and saved.headers["Location"].endswith(url)
    db.session.rollback()
    assert (by_id(Investment, loan.id).rate_basis_points, by_id(Investment, loan.id).frequency) \
        == (250, "quarterly")
    shown = treasurer.get(url).text
    assert say("Repayment schedule") in shown
    assert eur(1_875) in shown  # the first quarter's interest: 3,000.00 × 2.5 % / 4 = 18.75

    repaid = treasurer.submit(f"{url}/repayments", {"principal": "1 000,00", "interest": "18,75",
                                                     "received_on": "2026-04-10", "note": "Avril"}, page=url)
    assert repaid.status_code == 302
    income = treasurer.submit(f"{url}/returns", {"amount": "5,00", "received_on": "2026-05-02"}, page=url)
    assert income.status_code == 302
    assert balance(club, f"investment:{loan.project_id}") == 200_000
    assert balance(club, "income:returns") == -2_375

    written = treasurer.submit(f"{url}/write-off", {"reason": "Liquidation judiciaire",
                                                     "on": TODAY.isoformat()}, page=url, follow=True)
    assert written.status_code == 200
    assert say("The investment is written off.") in written.text
    assert "Liquidation judiciaire" in written.text
    assert balance(club, "expense:losses") == 200_000
    assert f"{url}/repayments" not in written.text  # closed: no more follow-up forms


def test_a_loan_repaid_in_full_through_the_form_is_closed(club, make_browser):
    loan = invest(club)
    url = page_of(club, loan)
    treasurer = make_browser(club.treasurer)
    done = treasurer.submit(f"{url}/repayments", {"principal": "3 000,00", "interest": "",
                                                   "received_on": "2026-03-01"}, page=url, follow=True)
    assert say("The repayment is recorded.") in done.text
    db.session.rollback()
    assert by_id(Investment, loan.id).status == "repaid"
    assert f"{url}/repayments" not in done.text


def test_shares_are_sold_through_the_form_once_members_agree(club, make_browser):
    """30 % bought for 1,000.00; 10 % sold for 400.00: cost 33,333.33 → 333.33, gain 66.67."""
    shares = invest(club, amount_requested=100_000, **SHARES)
    url = page_of(club, shares)
    treasurer = make_browser(club.treasurer)
    assert f"{url}/sale" not in treasurer.get(url).text  # no agreement yet: no form
    assert say("Selling shares needs every member’s agreement (R7): the manager opens a ballot first.") in \
        treasurer.get(url).text

    agree_sale(club, shares)
    assert f"{url}/sale" in treasurer.get(url).text
    sold = treasurer.submit(f"{url}/sale", {"stake": "10", "price": "400,00", "received_on": "2026-06-01"},
                            page=url)
    assert sold.status_code == 302
    assert balance(club, f"investment:{shares.project_id}") == 66_667
    assert balance(club, "income:gains") == -6_667
    page = treasurer.get(url).text
    assert f"{url}/sale" not in page  # one sale per ballot
    assert investments.stake_held(by_id(Investment, shares.id)) == 2000


def test_the_mentor_writes_a_note_through_the_form(club, make_browser):
    investment = invest(club)
    url = page_of(club, investment)
    mentor = make_browser(club.members[3])
    written = mentor.submit(f"{url}/notes", {"text": "Visite du fournil.\r\nTout va bien.",
                                             "written_on": "2026-02-01"}, page=url, follow=True)
    assert say("Your note is saved.") in written.text
    assert "<p>Visite du fournil.</p>" in written.text and "<p>Tout va bien.</p>" in written.text


# --- Refusals -----------------------------------------------------------------------------------


def refused_post(browser, url, data, page, status=400):
    before = snapshot()
    response = browser.submit(url, data, page=page)
    assert response.status_code == status, response.text[:300]
    assert snapshot() == before
    return response.text


def test_loan_terms_out_of_range_are_refused_next_to_their_field(club, make_browser):
    loan = invest(club)
    url = page_of(club, loan)
    treasurer = make_browser(club.treasurer)
    good = {"rate": "3", "term_periods": "3", "frequency": "quarterly", "first_due_on": "2026-04-10"}

    html = refused_post(treasurer, f"{url}/terms", {**good, "rate": "50,01"}, url)
    assert error_of(html, "rate") == say("Give a yearly rate from 0 to 50 percent.")
    html = refused_post(treasurer, f"{url}/terms", {**good, "term_periods": "241"}, url)
    assert error_of(html, "term_periods")
    html = refused_post(treasurer, f"{url}/terms", {**good, "frequency": "weekly"}, url)
    assert error_of(html, "frequency")
    for far in ("1999-12-31", "9999-12-01"):  # issue 15: 9999 made the investment pages a 500 for everyone
        html = refused_post(treasurer, f"{url}/terms", {**good, "first_due_on": far}, url)
        assert error_of(html, "first_due_on") == say_window()


def test_repayment_refusals_show_their_message(club, make_browser):
    loan = invest(club)
    url = page_of(club, loan)
    treasurer = make_browser(club.treasurer)
    tomorrow = (TODAY + timedelta(days=1)).isoformat()

    html = refused_post(treasurer, f"{url}/repayments", {"principal": "3 000,01", "interest": "",
                                                          "received_on": "2026-03-01"}, url)
    assert error_of(html, "principal") == say("Only %(owed)s is still owed to the club.", owed=eur(300_000))
    html = refused_post(treasurer, f"{url}/repayments", {"principal": "", "interest": "",
                                                          "received_on": "2026-03-01"}, url)
    assert error_of(html, "principal") == say("Enter an amount above zero.")
    html = refused_post(treasurer, f"{url}/repayments", {"principal": "10,00", "interest": "",
                                                          "received_on": tomorrow}, url)
    assert error_of(html, "received_on") == say("Give a date that is not in the future.")
    html = refused_post(treasurer, f"{url}/repayments", {"principal": "-10,00", "interest": "",
                                                          "received_on": "2026-03-01"}, url)
    assert error_of(html, "principal") == say("The amount cannot be negative.")


def test_a_replayed_repayment_form_is_refused(club, make_browser):
    loan = invest(club)
    url = page_of(club, loan)
    treasurer = make_browser(club.treasurer)
    from tests.conftest import hidden_fields

    fields = hidden_fields(treasurer.get(url).text)
    data = {**fields, "principal": "10,00", "interest": "", "received_on": "2026-03-01"}
    assert treasurer.client.post(f"{url}/repayments", data=data).status_code == 302
    before = snapshot()
    again = treasurer.client.post(f"{url}/repayments", data=data)
    assert again.status_code == 409
    assert say("This form has already been sent.") in again.text
    assert snapshot() == before


def test_return_sale_write_off_and_note_refusals_show_their_message(club, make_browser):
    shares = invest(club, amount_requested=100_000, **SHARES)
    url = page_of(club, shares)
    treasurer, mentor = make_browser(club.treasurer), make_browser(club.members[3])
    tomorrow = (TODAY + timedelta(days=1)).isoformat()

    html = refused_post(treasurer, f"{url}/returns", {"amount": "12,00", "received_on": tomorrow}, url)
    assert error_of(html, "received_on") == say("Give a date that is not in the future.")

    html = refused_post(treasurer, f"{url}/sale", {"stake": "10", "price": "400,00", "received_on": "2026-06-01"},
                        url)
    assert say("Selling a stake needs the unanimous agreement of the members: open a ballot first.") in html
    assert say("Rule %(rule)s of the charter.", rule="R7") in html

    agree_sale(club, shares)
    html = refused_post(treasurer, f"{url}/sale", {"stake": "30,01", "price": "400,00",
                                                   "received_on": "2026-06-01"}, url)
    assert error_of(html, "stake") == say("The club holds %(held)s of the enterprise: sell at most that.",
                                          held="30 %")

    pending = invest(club, name="Ferme du Vercors", pay=False)
    investments.enter_payment(club.treasurer.id, club.club_id, pending.id, amount=10_000, paid_on=TODAY,
                              form_key=key())
    html = refused_post(treasurer, f"{page_of(club, pending)}/write-off", {"reason": "Faillite",
                                                                           "on": TODAY.isoformat()},
                        page_of(club, pending), status=409)
    assert say("Cancel the payments waiting for approval first.") in html

    html = refused_post(mentor, f"{url}/notes", {"text": "x" * 4001, "written_on": TODAY.isoformat()}, url)
    assert error_of(html, "text")
    html = refused_post(mentor, f"{url}/notes", {"text": "Bonjour", "written_on": tomorrow}, url)
    assert error_of(html, "written_on") == say("Give a date that is not in the future.")


def test_a_plain_member_sees_no_follow_up_form_and_may_not_post_one(club, make_browser):
    loan = invest(club)
    url = page_of(club, loan)
    member = make_browser(club.members[4])  # neither an officer nor the mentor

    page = member.get(url)
    assert page.status_code == 200
    for path in (*FOLLOW_UP, "notes", "payments"):
        assert f'action="{url}/{path}"' not in page.text
    assert f'action="{url}/notes"' in make_browser(club.members[3]).get(url).text  # the mentor's form

    data = {"rate": "3", "term_periods": "3", "frequency": "quarterly", "first_due_on": "2026-04-10",
            "principal": "10,00", "interest": "", "amount": "10,00", "received_on": "2026-03-01",
            "stake": "1", "price": "1,00", "reason": "Faillite", "on": "2026-03-01", "text": "Bonjour",
            "written_on": "2026-03-01", "form_key": key()}  # the key a form would carry: the page shows none
    before = snapshot()
    answers = {path: member.submit(f"{url}/{path}", data, page=url).status_code for path in (*FOLLOW_UP, "notes")}
    assert answers == {path: 403 for path in (*FOLLOW_UP, "notes")}
    assert snapshot() == before


def test_the_secretary_sees_no_money_forms(club, make_browser):
    loan = invest(club)
    url = page_of(club, loan)
    page = make_browser(club.members[2]).get(url).text
    for path in FOLLOW_UP:
        assert f'action="{url}/{path}"' not in page


def test_another_clubs_member_gets_404_on_every_investment_url(club, neighbour, make_browser):
    loan = invest(club)
    shares = invest(club, name="Scierie", amount_requested=100_000, **SHARES)
    cid = club.club_id
    data = {"rate": "3", "term_periods": "3", "frequency": "quarterly", "first_due_on": "2026-04-10",
            "principal": "10,00", "interest": "", "amount": "10,00", "received_on": "2026-03-01", "paid_on": "2026-03-01",
            "stake": "1", "price": "1,00", "reason": "Faillite", "on": "2026-03-01", "text": "Bonjour",
            "written_on": "2026-03-01", "method": "yes_no",
            "closes_at": (utcnow() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"), "investment_id": str(shares.id)}
    gets = [f"/clubs/{cid}/investments", page_of(club, loan), page_of(club, shares),
            f"/clubs/{cid}/ballots/new/stake_sale?subject={shares.id}"]
    posts = [f"{page_of(club, i)}/{path}" for i in (loan, shares) for path in (*FOLLOW_UP, "notes", "payments")]
    posts.append(f"/clubs/{cid}/ballots/new/stake_sale")
    before = snapshot()

    for user in (neighbour.manager, neighbour.treasurer):
        stranger = make_browser(user)
        answers = {u: stranger.get(u).status_code for u in gets}
        answers |= {"POST " + u: stranger.action(u, data).status_code for u in posts}
        assert {u: s for u, s in answers.items() if s != 404} == {}
    assert snapshot() == before


def test_an_investment_of_another_club_is_not_found_from_inside_this_one(club, neighbour, make_browser):
    theirs = invest(neighbour)
    url = f"/clubs/{club.club_id}/investments/{theirs.id}"
    treasurer = make_browser(club.treasurer)
    assert treasurer.get(url).status_code == 404
    before = snapshot()
    assert treasurer.action(f"{url}/repayments", {"principal": "10,00", "received_on": "2026-03-01"}).status_code == 404
    assert snapshot() == before


# --- The stake-sale ballot form -----------------------------------------------------------------


def test_the_manager_opens_a_stake_sale_ballot_from_the_investment(club, make_browser):
    shares = invest(club, amount_requested=100_000, **SHARES)
    manager = make_browser(club.manager)
    form_url = f"/clubs/{club.club_id}/ballots/new/stake_sale?subject={shares.id}"

    shown = manager.get(form_url)
    assert shown.status_code == 200
    assert re.search(rf'<option[^>]*selected[^>]*value="{shares.id}"|<option[^>]*value="{shares.id}"[^>]*selected',
                     shown.text)
    closes = (utcnow() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    opened = manager.submit(form_url, {"investment_id": str(shares.id), "method": "yes_no", "closes_at": closes})

    assert opened.status_code == 302, error_of(opened.text, "investment_id")
    db.session.rollback()
    ballot = db.session.scalar(select(Ballot).where(Ballot.club_id == club.club_id, Ballot.kind == "stake_sale"))
    assert opened.headers["Location"].endswith(f"/clubs/{club.club_id}/ballots/{ballot.id}")
    assert (ballot.investment_id, ballot.threshold, ballot.status) == (shares.id, "unanimity", "open")


def test_the_manager_finds_the_link_to_open_a_stake_sale_ballot(club, make_browser):
    shares = invest(club, amount_requested=100_000, **SHARES)
    page = make_browser(club.manager).get(page_of(club, shares)).text
    assert f"/clubs/{club.club_id}/ballots/new/stake_sale?subject={shares.id}" in page


def test_no_stake_sale_ballot_on_a_loan_or_for_a_plain_member(club, make_browser):
    loan = invest(club)
    shares = invest(club, name="Scierie", amount_requested=100_000, **SHARES)
    closes = (utcnow() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    form_url = f"/clubs/{club.club_id}/ballots/new/stake_sale"
    manager, member = make_browser(club.manager), make_browser(club.members[4])

    before = snapshot()
    on_loan = manager.submit(form_url, {"investment_id": str(loan.id), "method": "yes_no", "closes_at": closes})
    assert on_loan.status_code == 400  # a loan is not among the shares to choose from
    assert snapshot() == before
    assert member.get(f"{form_url}?subject={shares.id}").status_code == 403
    assert member.action(form_url, {"investment_id": str(shares.id), "method": "yes_no",
                                    "closes_at": closes}).status_code == 403
    assert "/ballots/new/stake_sale" not in member.get(page_of(club, shares)).text
    assert snapshot() == before


# --- The page itself ------------------------------------------------------------------------------


def test_the_investment_page_has_unique_ids(club, make_browser):
    loan = invest(club)
    page = make_browser(club.treasurer).get(page_of(club, loan)).text
    ids = re.findall(r'\sid="([^"]+)"', main_of(page))
    assert sorted({i for i in ids if ids.count(i) > 1}) == []


def test_events_and_notes_are_listed_on_the_investment_page(club, make_browser):
    loan = invest(club)
    investments.record_repayment(club.treasurer.id, club.club_id, loan.id, principal=50_000, interest=1_234,
                                 received_on=date(2026, 4, 1), note="Échéance anticipée", form_key=key())
    investments.add_note(club.members[3].id, club.club_id, loan.id, text="Bonne saison.", written_on=TODAY)
    page = make_browser(club.members[5]).get(page_of(club, loan)).text
    assert "Échéance anticipée" in page
    assert eur(51_234) in page and eur(1_234) in page
    assert "Bonne saison." in page
    db.session.rollback()
    assert db.session.scalar(select(InvestmentEvent.cash).where(InvestmentEvent.investment_id == loan.id)) == 51_234
    assert db.session.scalar(select(InvestmentNote.text).where(InvestmentNote.investment_id == loan.id)) == \
        "Bonne saison."
