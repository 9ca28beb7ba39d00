"""A club's five-year life, end to end (issue 17), under each way of valuing shares.

Five founders pay in; one project is lent money, another is bought into; two members join late, one leaves
early; the loan is partly written off, the shares are revalued and then sold above cost; the club dissolves and
shares everything out. Each year an ordinary general meeting approves the year's accounts, with minutes signed by
its secretary and its chair. Every member's payout is checked against figures worked out by hand below, the
books balance and every invariant of ``flask coop check`` holds.

The timeline (amounts in euros; the club runs on Paris time; officers serve three years, so the 2029 meeting
re-elects them):

    2027-01-15  M, T, A, B, C pay 1,000.00 each                      net assets 5,000.00
    2027-03-01  loan to X 2,000.00; 2027-04-01 10 % of Y for 2,000.00    (still 5,000.00)
    2027-12-01  interest from X 250.00                               5,250.00
    2028-01     2027 closed; the meeting approves its accounts
    2028-03-01  D (joined in February) pays 1,050.00                 6,300.00
    2028-06-01  X repays 1,400.00; 2028-09-01 the 600.00 left is written off   5,700.00
    2029-01     2028 closed; the meeting approves it and re-elects the manager and the treasurer
    2029-02-01  A leaves (30 days' notice); 2029-02-15 Y pays a 300.00 dividend   6,000.00
    2029-03-05  A's share valued, then paid in two instalments
    2029-05-01  E (joined in April) pays 1,000.00
    2030-01     2029 closed and approved; 2030-06-01 Y revalued 2,000.00 → 3,000.00 (+1,000.00)
    2031-01     2030 closed and approved; 2031-03 Y sold for 3,600.00 (a unanimous vote)   +600.00
    2031-04     dissolution voted unanimously; every part paid; the club closed

By valuation units (10.00 a unit to start): the founders buy 100 units each; at 10.50 (5,250.00 for 500 units)
D's 1,050.00 buys 100 units; at A's valuation 6,000.00 make 600 units, 10.00 each: A is paid 1,000.00; E's
1,000.00 then buys 100 units at 10.00 (5,000.00 for 500); at the end 7,600.00 for 600 units: 1,266.666… each,
the four leftover cents going to the lowest member numbers (M, T, B, C 1,266.67; D, E 1,266.66).

Pro rata to contributions: weights of 1,000.00 for each founder and E, 1,050.00 for D. At A's valuation
6,000.00 × 1,000 / 6,050 = 991.7355… for each founder and 1,041.3223… for D: the three leftover cents go to the
largest remainders (the founders', equal, so the lowest numbers M, T, A): A is paid 991.74. Then 5,008.26 is
left; E's 1,000.00, the revaluation and the sale bring it to 7,608.26, shared by 6,050 − 1,000 + 1,000 = 6,050:
1,257.5636… for M, T, B, C, E and 1,320.4418… for D; the two leftover cents go to M and T.

Both ways the club paid out 8,600.00: 7,050.00 paid in, plus 250.00 + 300.00 + 1,600.00 of income, less the
600.00 lost."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from coop.extensions import db
from coop.models import Account, Ballot, Club, ExitValuation, Membership, Posting, Unit, YearEnd
from coop.models.base import utcnow
from coop.services import (
    ballots,
    clubs,
    fund,
    investments,
    ledger,
    meetings,
    projects,
    shares,
    tally,
    timebank,
    transfers,
    valuation,
    yearend,
)
from coop.services.ballots import Subject
from tests.conftest import by_id, key

LOAN = dict(name="Fournil de Die", description="Un four à pain bio.", town="Die", legal_form="scop",
            instrument="loan", amount_requested=200_000, stake_hundredths=None, holder_name="Anne Martin",
            holder_contact="anne@example.org")
SHARES = dict(name="Épicerie du Diois", description="Une épicerie en vrac.", town="Die", legal_form="sas",
              instrument="equity", amount_requested=200_000, stake_hundredths=1000, holder_name="Paul Roux",
              holder_contact="paul@example.org")

#: What each member is paid out in all, by method: (M, T, A, B, C, D, E).
PAYOUTS = {
    "units": (126_667, 126_667, 100_000, 126_667, 126_667, 126_666, 126_666),
    "pro_rata": (125_757, 125_757, 99_174, 125_756, 125_756, 132_044, 125_756),
}


@contextmanager
def on(year: int, month: int, day: int, hour: int = 11, minute: int = 0):
    """Everything inside happens at this moment (UTC)."""
    with time_machine.travel(datetime(year, month, day, hour, minute, tzinfo=UTC), tick=False):
        yield
    db.session.rollback()


class Life:
    def __init__(self, setup, make_user):
        self.s = setup
        self.club_id = setup.club_id
        self.make_user = make_user
        self.m, self.t, self.a, self.b, self.c = setup.members
        self.d = self.e = None

    def mid(self, user) -> int:
        return self.s.memberships[user.id]

    def active(self) -> list:
        ids = set(db.session.scalars(select(Membership.user_id).where(
            Membership.club_id == self.club_id, Membership.status == "active")))
        return [u for u in self.s.members if u.id in ids]

    def everyone(self) -> list:
        return [self.m, self.t, self.a, self.b, self.c, self.d, self.e]

    # --- money ---

    def pay(self, user, amount: int) -> None:
        fund.record_contribution(self.t.id, self.club_id, membership_id=self.mid(user), amount=amount,
                                 received_on=date.today(), method="transfer", idempotency_key=key())

    def approve_payout(self, payout) -> None:
        fund.approve_payout(self.m.id, self.club_id, payout.id)

    # --- votes ---

    def vote_through(self, ballot) -> Ballot:
        """Every active member votes yes on every option; the manager closes it."""
        for user in self.active():
            ballots.vote(user.id, self.club_id, ballot.id, choices={o.id: tally.YES for o in ballot.options})
        ballots.close_early(self.m.id, self.club_id, ballot.id)
        db.session.rollback()
        decided = by_id(Ballot, ballot.id)
        assert (decided.outcome, decided.effect_error) == ("adopted", None), ballot.kind
        return decided

    def ballot(self, kind: str, subject: Subject) -> Ballot:
        opened = ballots.open_ballot(self.m.id, self.club_id, kind=kind, method="yes_no",
                                     closes_at=utcnow() + timedelta(days=7), subject=subject, form_key=key())
        return self.vote_through(opened)

    def admit(self):
        user = self.make_user()
        _, code = clubs.invite(self.m.id, self.club_id, form_key=key())
        asked = clubs.join(user.id, code)
        self.ballot("admission", Subject(membership_id=asked.id))
        self.s.members.append(user)
        self.s.memberships[user.id] = asked.id
        return user

    def invest(self, values: dict, amount: int):
        project = projects.propose(self.a.id, self.club_id, values, form_key=key())
        projects.present(self.a.id, self.club_id, project.id)
        self.ballot("funding", Subject(project_ids=[project.id]))
        investment = investments.record_investment(self.t.id, self.club_id, project.id, mentor_id=self.mid(self.b),
                                                   form_key=key())
        payment = investments.enter_payment(self.t.id, self.club_id, investment.id, amount=amount,
                                            paid_on=date.today(), form_key=key())
        investments.approve_payment(self.m.id, self.club_id, payment.id)
        return investment.id

    # --- the year's end and its meeting ---

    def close_and_approve(self, year: int) -> None:
        """The treasurer closes ``year`` on 3 January; the yearly meeting on the 20th (18:30 in Paris) approves
        its accounts and re-elects the officers whose term ends within the year; minutes written and signed."""
        with on(year + 1, 1, 3):
            yearend.close_year(self.t.id, self.club_id, year, form_key=key())
            meeting = meetings.convene(self.m.id, self.club_id, kind="ordinary",
                                       scheduled_at=datetime(year + 1, 1, 20, 18, 30), place="Salle des fêtes, Die",
                                       prefill=True, report=f"Rapport du trésorier sur {year}.", form_key=key())
        with on(year + 1, 1, 20, 17, 35):  # 18:35 in Paris
            meetings.open_meeting(self.m.id, self.club_id, meeting.id, secretary_id=self.mid(self.b))
            for user in self.active():
                if user not in (self.m, self.b):
                    meetings.record_attendance(self.m.id, self.club_id, meeting.id, self.mid(user), "present")
            items = list(db.session.scalars(select(Ballot).where(Ballot.meeting_id == meeting.id)))
            for item in items:
                for user in self.active():
                    ballots.vote(user.id, self.club_id, item.id, choices={o.id: tally.YES for o in item.options})
            meetings.close_meeting(self.m.id, self.club_id, meeting.id)
            meetings.write_minutes(self.b.id, self.club_id, meeting.id,
                                   f"Le trésorier présente les comptes de {year}. Questions et débat.")
            meetings.sign_minutes(self.b.id, self.club_id, meeting.id)
            meetings.sign_minutes(self.m.id, self.club_id, meeting.id)
        closed = db.session.scalar(select(YearEnd).where(YearEnd.club_id == self.club_id, YearEnd.year == year,
                                                         YearEnd.reopened_at.is_(None)))
        assert closed.approved_at is not None and closed.approval_ballot_id in {i.id for i in items}
        minutes = meetings.minutes_of(self.c.id, self.club_id, meeting.id)
        assert minutes.meeting.quorum_met and minutes.meeting.minutes_signed
        assert {b.kind for b in minutes.items} >= {"accounts"}
        assert all(b.outcome == "adopted" for b in minutes.items)

    def check(self) -> None:
        assert ledger.check() == []
        assert fund.check_contributions() == []
        assert ballots.check() == []
        assert investments.check() == []
        assert timebank.check() == []
        assert transfers.check() == []
        assert meetings.check() == []

    def values(self) -> dict[int, int]:
        found = shares.club_shares(self.club_id)
        return {line.membership.id: line.value(found.method) for line in found.lines}


@pytest.mark.parametrize("method", ["units", "pro_rata"])
def test_five_years_of_a_club_pay_every_member_their_share_under_each_method(make_club, make_user, method):
    setup = make_club(5, activate=False)
    life = Life(setup, make_user)
    club_id = life.club_id
    with on(2027, 1, 2):
        clubs.amend_charter(life.m.id, club_id, {"share_method": method, "officer_term_months": 36,
                                                 "project_cap_percent": 50, "exit_notice_days": 30})
        clubs.activate(life.m.id, club_id)

    # 2027: the founders pay in; a loan and a stake; interest.
    with on(2027, 1, 15):
        for user in (life.m, life.t, life.a, life.b, life.c):
            life.pay(user, 100_000)
    with on(2027, 3, 1):
        loan = life.invest(LOAN, 200_000)
    with on(2027, 4, 1):
        stake = life.invest(SHARES, 200_000)
    with on(2027, 12, 1):
        investments.record_return(life.t.id, club_id, loan, amount=25_000, received_on=date.today(), form_key=key())
    assert shares.club_shares(club_id).net_assets == 525_000
    life.close_and_approve(2027)

    # 2028: D joins; the loan is partly repaid, the rest lost.
    with on(2028, 2, 10):
        life.d = life.admit()
    with on(2028, 3, 1):
        life.pay(life.d, 105_000)
        # By units D's 100 units are worth what D paid; pro rata D already shares the 2027 interest:
        # 6,300.00 × 1,050 / 6,050 = 1,093.3884 (the larger remainder takes a leftover cent).
        assert life.values()[life.mid(life.d)] == {"units": 105_000, "pro_rata": 109_339}[method]
    with on(2028, 6, 1):
        investments.record_repayment(life.t.id, club_id, loan, principal=140_000, interest=0,
                                     received_on=date.today(), form_key=key())
    with on(2028, 9, 1):
        investments.write_off(life.t.id, club_id, loan, reason="Liquidation judiciaire", on=date.today(),
                              form_key=key())
    assert shares.club_shares(club_id).net_assets == 570_000
    life.close_and_approve(2028)
    with on(2029, 1, 21):
        officers = {m.role: m.role_until for m in db.session.scalars(select(Membership).where(
            Membership.club_id == club_id, Membership.role.in_(("manager", "treasurer"))))}
        assert officers == {"manager": date(2032, 1, 20), "treasurer": date(2032, 1, 20)}  # re-elected

    # 2029: A leaves; the dividend during the notice is shared with A; A's share valued, paid in two parts.
    with on(2029, 2, 1):
        clubs.leave(life.a.id, club_id)
    with on(2029, 2, 15):
        investments.record_return(life.t.id, club_id, stake, amount=30_000, received_on=date.today(), form_key=key())
    with on(2029, 3, 5):
        valued = fund.value_exit(life.t.id, club_id, life.mid(life.a), form_key=key())
        assert (valued.value, valued.net_assets) == (PAYOUTS[method][2], 600_000)
        first = fund.refund(life.t.id, club_id, life.mid(life.a), amount=60_000, idempotency_key=key())
        life.approve_payout(first)
    with on(2029, 4, 2):
        rest = fund.refund(life.t.id, club_id, life.mid(life.a), amount=valued.value - 60_000, idempotency_key=key())
        life.approve_payout(rest)
    with on(2029, 4, 10):
        life.e = life.admit()
    with on(2029, 5, 1):
        life.pay(life.e, 100_000)
    life.close_and_approve(2029)

    # 2030: the stake is revalued by two officers.
    with on(2030, 6, 1):
        entered = valuation.enter_revaluation(life.t.id, club_id, stake, new_value=300_000, valued_on=date.today(),
                                              reason="Comptes 2029 de l'épicerie et offre d'un repreneur",
                                              form_key=key())
        valuation.approve_revaluation(life.m.id, club_id, entered.id)
    life.close_and_approve(2030)

    # 2031: the stake sold above cost, after a unanimous vote; the club dissolves and shares everything out.
    with on(2031, 3, 2):
        life.ballot("stake_sale", Subject(investment_id=stake))
    with on(2031, 3, 16):
        investments.record_sale(life.t.id, club_id, stake, stake_sold_hundredths=1000, price=360_000,
                                received_on=date.today(), form_key=key())
    with on(2031, 4, 1):
        life.ballot("dissolution", Subject())
        assert db.session.get(Club, club_id).status == "dissolving"
        plan = {line.membership.id: line.due for line in fund.dissolution_plan(life.t.id, club_id)}
        for user in (life.m, life.t, life.b, life.c, life.d, life.e):
            payout = fund.distribute(life.t.id, club_id, life.mid(user), amount=plan[life.mid(user)],
                                     idempotency_key=key())
            life.approve_payout(payout)
        fund.close_club(life.t.id, club_id)

    # What each member was paid, in all: their share, to the cent, as worked out by hand above.
    paid = {}
    for user in life.everyone():
        account = ledger.find_account(club_id, f"payable:{life.mid(user)}")
        paid[user.id] = sum(_debits(account.id))
    assert tuple(paid[u.id] for u in life.everyone()) == PAYOUTS[method]
    assert sum(PAYOUTS[method]) == 860_000
    assert by_id(ExitValuation, valued.id).value == PAYOUTS[method][2]
    # The books balance, every account is at zero, and every invariant holds.
    assert db.session.scalar(select(Account.id).where(Account.club_id == club_id, Account.unit == Unit.MONEY,
                                                      Account.balance != 0)) is None
    assert db.session.get(Club, club_id).status == "closed"
    approved = db.session.scalars(select(YearEnd.year).where(YearEnd.club_id == club_id,
                                                              YearEnd.approved_at.is_not(None))).all()
    assert sorted(approved) == [2027, 2028, 2029, 2030]
    assert len(meetings.signed_minutes(life.c.id, club_id)) == 4
    life.check()


def _debits(account_id: int) -> list[int]:
    """What was paid out of a member's ``payable`` account: its debits (each payment to the member)."""
    return [amount for amount in db.session.scalars(select(Posting.amount).where(
        Posting.account_id == account_id, Posting.amount > 0))]
