"""Governance rules that lapse with time or numbers (issue 15): the club's term (R5), an officer's term (R3),
the charter's minimum of members (R1). Every service decides from the date and the count, not from a status
someone must refresh."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import update

from coop.extensions import db
from coop.models import Ballot, Club, Membership
from coop.models.base import utcnow
from coop.services import ballots, clubs, fund, investments
from coop.services.ballots import Subject
from coop.services.errors import NotPermitted, RuleViolation
from tests.conftest import by_id, english, fund_club, key, refused
from tests.services.test_investment_flow import PROJECT, approved

WEEK = timedelta(days=7)


def end_term(setup, on: date) -> None:
    """The term ended on this day; nobody opened the club home and tick did not run."""
    db.session.execute(update(Club).where(Club.id == setup.club_id).values(term_ends_on=on))
    db.session.commit()


def presented(setup, **changes) -> int:
    from coop.services import projects

    proposer = setup.members[2]
    project = projects.propose(proposer.id, setup.club_id, {**PROJECT, **changes}, form_key=key())
    projects.present(proposer.id, setup.club_id, project.id)
    return project.id


def open_funding(setup, project_id: int, by=None):
    return ballots.open_ballot((by or setup.manager).id, setup.club_id, kind="funding", method="yes_no",
                               closes_at=utcnow() + WEEK, subject=Subject(project_ids=[project_id]), form_key=key())


def recorded(setup, project_id: int):
    return investments.record_investment(setup.treasurer.id, setup.club_id, project_id,
                                         mentor_id=setup.membership_id(setup.members[3]), form_key=key())


def enter(setup, investment_id: int, amount: int = 100_000):
    return investments.enter_payment(setup.treasurer.id, setup.club_id, investment_id, amount=amount,
                                     paid_on=date.today(), form_key=key())


def approved_on(setup, day: date) -> None:
    """The funding ballots of the club closed on this day."""
    db.session.execute(update(Ballot).where(Ballot.club_id == setup.club_id, Ballot.kind == "funding")
                       .values(closed_at=utcnow().replace(year=day.year, month=day.month, day=day.day)))
    db.session.commit()


def status(setup) -> str:
    db.session.rollback()
    return db.session.get(Club, setup.club_id).status


# --- R5: the club's term ends on its date, whoever reads the club ----------------------------------


def test_two_days_past_the_term_no_funding_ballot_opens_though_nobody_refreshed_the_status(make_club):
    setup = make_club(5)
    fund_club(setup, 300_000)
    project_id = presented(setup)
    end_term(setup, date.today() - timedelta(days=2))
    assert status(setup) == "active"  # not yet recorded: no home page, no tick

    error = refused(lambda: open_funding(setup, project_id), RuleViolation, rule="R5")

    assert "past its term" in english(error)


def test_past_the_term_an_investment_approved_after_it_pays_nothing_out(make_club):
    setup = make_club(5)
    fund_club(setup, 300_000)
    investment = recorded(setup, approved(setup))
    end_term(setup, date.today() - timedelta(days=2))  # the ballot closed today, after the term

    refused(lambda: enter(setup, investment.id), RuleViolation, rule="R5")


def test_past_the_term_a_payment_entered_before_it_is_not_approved_if_the_investment_came_after(make_club):
    setup = make_club(5)
    fund_club(setup, 300_000)
    investment = recorded(setup, approved(setup))
    payment = enter(setup, investment.id)
    end_term(setup, date.today() - timedelta(days=2))

    refused(lambda: investments.approve_payment(setup.manager.id, setup.club_id, payment.id), RuleViolation,
            rule="R5")


def test_in_management_an_investment_approved_before_the_term_is_still_recorded_and_paid(make_club):
    """Follow-up: what members decided while the club was active is carried out."""
    setup = make_club(5)
    fund_club(setup, 300_000)
    project_id = approved(setup)
    approved_on(setup, date.today() - timedelta(days=10))
    end_term(setup, date.today() - timedelta(days=2))
    clubs.end_terms()
    assert status(setup) == "in_management"

    investment = recorded(setup, project_id)
    payment = enter(setup, investment.id)
    investments.approve_payment(setup.manager.id, setup.club_id, payment.id)

    assert investments.check() == []


def test_past_the_term_no_member_is_invited_or_admitted_by_vote(make_club):
    setup = make_club(5)
    end_term(setup, date.today() - timedelta(days=2))

    refused(lambda: clubs.invite(setup.manager.id, setup.club_id, form_key=key()), RuleViolation, rule="R5")


# --- R3: an officer's powers end with their term ---------------------------------------------------


def lapse(setup, user, *, months: int = 13) -> None:
    """This officer was appointed ``months`` ago, for the charter's 12 months."""
    appointed = date.today() - timedelta(days=31 * months)
    db.session.execute(update(Membership).where(Membership.id == setup.membership_id(user))
                       .values(role_until=clubs._term_end(appointed, 12)))
    db.session.commit()


def open_election(setup, by, role: str = "manager"):
    return ballots.open_ballot(by.id, setup.club_id, kind="election", method="yes_no", closes_at=utcnow() + WEEK,
                               subject=Subject(role=role, candidate_ids=[setup.membership_id(setup.members[3])]),
                               form_key=key())


def test_thirteen_months_after_appointment_the_manager_opens_no_ballot_but_the_election(make_club):
    setup = make_club(5)
    fund_club(setup, 300_000)
    project_id = presented(setup)
    lapse(setup, setup.manager)

    error = refused(lambda: open_funding(setup, project_id), NotPermitted)
    refused(lambda: ballots.open_ballot(setup.manager.id, setup.club_id, kind="dissolution", method="yes_no",
                                        closes_at=utcnow() + WEEK, subject=Subject(), form_key=key()), NotPermitted)

    assert "ended on" in english(error)
    assert open_election(setup, setup.manager).kind == "election"


def test_once_the_managers_term_is_over_any_member_may_call_the_election(make_club):
    setup = make_club(5)
    refused(lambda: open_election(setup, setup.members[4]), NotPermitted)  # in term: the manager's call
    lapse(setup, setup.manager)

    ballot = open_election(setup, setup.members[4])

    assert ballot.kind == "election" and ballot.role == "manager"


def test_a_treasurer_past_their_term_records_no_money(make_club):
    setup = make_club(5)
    lapse(setup, setup.treasurer)

    refused(lambda: fund.record_contribution(setup.treasurer.id, setup.club_id,
                                             membership_id=setup.membership_id(setup.members[2]), amount=10_000,
                                             received_on=date.today(), method="transfer", idempotency_key=key()),
            NotPermitted)


def test_an_elected_officer_has_the_powers_again(make_club):
    setup = make_club(5)
    fund_club(setup, 300_000)
    lapse(setup, setup.manager)
    election = ballots.open_ballot(setup.manager.id, setup.club_id, kind="election", method="yes_no",
                                   closes_at=utcnow() + WEEK,
                                   subject=Subject(role="manager", candidate_ids=[setup.membership_id(setup.manager)]),
                                   form_key=key())
    from coop.services import tally

    for user in setup.members:
        ballots.vote(user.id, setup.club_id, election.id, choices={election.options[0].id: tally.YES})
    ballots.close_if_due(setup.club_id, election.id, now=utcnow() + 2 * WEEK)

    assert clubs.lapsed_officers(setup.manager.id, setup.club_id) == []
    assert open_funding(setup, presented(setup)).kind == "funding"


def test_officers_terms_do_not_lapse_while_the_club_forms_and_start_at_activation(make_club):
    setup = make_club(5, activate=False)
    lapse(setup, setup.manager)
    lapse(setup, setup.treasurer)

    clubs.activate(setup.manager.id, setup.club_id)  # a forming club elects nobody: the manager still acts

    db.session.rollback()
    terms = {by_id(Membership, setup.membership_id(u)).role_until for u in (setup.manager, setup.treasurer)}
    assert terms == {clubs._term_end(date.today(), 12)}
    assert clubs.lapsed_officers(setup.manager.id, setup.club_id) == []


# --- R1: below the charter's minimum of members ----------------------------------------------------


def test_a_club_below_its_minimum_opens_no_funding_ballot(make_club):
    setup = make_club(5)
    fund_club(setup, 300_000)
    project_id = presented(setup)
    clubs.leave(setup.members[4].id, setup.club_id)

    error = refused(lambda: open_funding(setup, project_id), RuleViolation, rule="R1")

    assert "4 active members" in english(error)


def test_a_club_below_its_minimum_may_still_vote_to_admit_or_to_dissolve(make_club, make_user):
    setup = make_club(5)
    clubs.leave(setup.members[4].id, setup.club_id)
    newcomer = make_user()
    _, code = clubs.invite(setup.manager.id, setup.club_id, form_key=key())
    asked = clubs.join(newcomer.id, code)

    admission = ballots.open_ballot(setup.manager.id, setup.club_id, kind="admission", method="yes_no",
                                    closes_at=utcnow() + WEEK, subject=Subject(membership_id=asked.id), form_key=key())
    dissolution = ballots.open_ballot(setup.manager.id, setup.club_id, kind="dissolution", method="yes_no",
                                      closes_at=utcnow() + WEEK, subject=Subject(), form_key=key())

    assert (admission.kind, dissolution.kind) == ("admission", "dissolution")


def test_a_club_below_its_minimum_pays_nothing_out_until_it_is_back(make_club, make_user):
    setup = make_club(6)
    fund_club(setup, 300_000)
    investment = recorded(setup, approved(setup))
    payment = enter(setup, investment.id)
    clubs.leave(setup.members[5].id, setup.club_id)  # 5: still the minimum
    clubs.leave(setup.members[4].id, setup.club_id)  # 4: below it

    refused(lambda: investments.approve_payment(setup.manager.id, setup.club_id, payment.id), RuleViolation,
            rule="R1")
    refused(lambda: enter(setup, investment.id, 1_000), RuleViolation, rule="R1")


def test_a_funding_ballot_that_closes_after_the_term_approves_nothing(make_club):
    """Opened in term, adopted after it: the decision comes too late (R5); the project goes back to presented
    and the ballot says why, as any effect that could not apply."""
    from coop.models import Project
    from coop.services import tally

    setup = make_club(5)
    fund_club(setup, 300_000)
    project_id = presented(setup)
    ballot = open_funding(setup, project_id)
    for user in setup.members:
        ballots.vote(user.id, setup.club_id, ballot.id, choices={ballot.options[0].id: tally.YES})
    end_term(setup, date.today() - timedelta(days=1))

    ballots.close_early(setup.manager.id, setup.club_id, ballot.id)

    db.session.rollback()
    closed = by_id(Ballot, ballot.id)
    assert closed.outcome == "adopted" and closed.effect_error.startswith("R5:")
    assert by_id(Project, project_id).status == "presented"


def test_past_the_term_no_pledge_is_taken_though_nobody_refreshed_the_status(make_club):
    setup = make_club(5)
    end_term(setup, date.today() - timedelta(days=2))
    refused(lambda: fund.set_pledge(setup.members[3].id, setup.club_id, monthly_amount=3_000, rhythm="monthly"),
            RuleViolation, rule="R5")


def test_a_treasurer_past_their_term_settles_no_dispute(make_club):
    from coop.models import Exchange, ExchangeStatus
    from coop.services import timebank

    setup = make_club(5)
    exchange = Exchange(club_id=setup.club_id, provider_id=setup.membership_id(setup.manager),
                        receiver_id=setup.membership_id(setup.members[3]), status=ExchangeStatus.DISPUTED)
    treasurer = by_id(Membership, setup.membership_id(setup.treasurer))
    assert timebank.may_settle(treasurer, exchange)  # the manager is a party: the treasurer settles
    treasurer.role_until = date.today() - timedelta(days=1)
    assert not timebank.may_settle(treasurer, exchange)
    db.session.rollback()
