"""Projects to fund, and the ballots that decide them and every other
collective decision (R2, R3, R6–R9).

A ballot keeps a copy of the rules in force when it opened (R9). Who took
part is in ``ballot_voter``. An open (not secret) ballot keeps each
member's choice (``ballot_vote``), so that a vote can be changed and the
minutes can say who voted what. A secret ballot puts each choice in its
ballot box (``ballot_choice``: no voter, no time, rows in the order of the
choices, all rewritten by each vote), and a proxy's vote in a sealed
envelope (``sealed_vote``) until the close. Choices are counted at the
close, into ``ballot_count``; then the box and the envelopes are emptied."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import ClubOwned, club_children, club_fk, club_parent, one_of, utcnow
from .club import Membership, Role, Threshold


class LegalForm(enum.StrEnum):
    SARL = "sarl"
    SAS = "sas"
    SA = "sa"
    SCOP = "scop"
    SCIC = "scic"
    ASSOCIATION = "association"
    SOLE_TRADER = "sole_trader"
    QUEBEC_COOP = "quebec_coop"
    OBNL = "obnl"
    OTHER = "other"


class Instrument(enum.StrEnum):
    EQUITY = "equity"  # shares in the enterprise
    CURRENT_ACCOUNT = "current_account"  # shareholder current-account loan
    LOAN = "loan"
    RETURNABLE = "returnable"  # returnable contribution (apport avec droit de reprise)


class ProjectStatus(enum.StrEnum):
    DRAFT = "draft"
    PRESENTED = "presented"
    IN_VOTE = "in_vote"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class BallotKind(enum.StrEnum):
    FUNDING = "funding"
    ADMISSION = "admission"
    EXCLUSION = "exclusion"
    ELECTION = "election"
    CHARTER = "charter"
    RENEWAL = "renewal"
    STAKE_SALE = "stake_sale"
    DISSOLUTION = "dissolution"
    ACCOUNTS = "accounts"  # approving a closed year's accounts and the treasurer's report (general meeting)
    TRANSFER = "transfer"  # a member's share passing to an assignee or heirs
    PARTNERSHIP = "partnership"  # trading time with another club (services.partners)
    REGION = "region"  # joining a regional association: the club shares its figures with it


class Method(enum.StrEnum):
    YES_NO = "yes_no"
    CONSENT = "consent"
    JUDGMENT = "judgment"  # majority judgment
    APPROVAL = "approval"


class BallotStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Outcome(enum.StrEnum):
    ADOPTED = "adopted"
    REJECTED = "rejected"
    NO_QUORUM = "no_quorum"
    TIE = "tie"  # several options share the first rank: no decision


class Project(ClubOwned, db.Model):
    __tablename__ = "project"
    __table_args__ = (
        one_of("legal_form", LegalForm),
        one_of("instrument", Instrument),
        one_of("status", ProjectStatus),
        CheckConstraint("amount_requested > 0", name="amount_positive"),
        CheckConstraint("stake_hundredths IS NULL OR (stake_hundredths > 0 AND stake_hundredths <= 10000)",
                        name="stake_range"),
        Index("ix_project_club_status", "club_id", "status"),
        club_fk("proposed_by_id", "membership"),
    )

    proposed_by_id: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    town: Mapped[str] = mapped_column(String(120))
    legal_form: Mapped[str] = mapped_column(String(16))
    instrument: Mapped[str] = mapped_column(String(16))
    #: cents of the club's currency
    amount_requested: Mapped[int] = mapped_column(BigInteger)
    #: for equity: the stake offered, in hundredths of a percent (12.5 % = 1250)
    stake_hundredths: Mapped[int | None]
    holder_name: Mapped[str] = mapped_column(String(120))
    holder_contact: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=ProjectStatus.DRAFT)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    presented_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]

    proposed_by: Mapped[Membership] = club_parent("Membership", "Project", "proposed_by_id", lazy="joined")


class ProjectLink(ClubOwned, db.Model):
    """A member's declared link to a project (R8): they are recused on it."""

    __tablename__ = "project_link"
    __table_args__ = (
        UniqueConstraint("project_id", "membership_id", "club_id"),
        club_fk("project_id", "project"),
        club_fk("membership_id", "membership"),
    )

    project_id: Mapped[int] = mapped_column()
    membership_id: Mapped[int] = mapped_column()
    nature: Mapped[str] = mapped_column(String(200))
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)

    membership: Mapped[Membership] = club_parent("Membership", "ProjectLink", "membership_id", lazy="joined")


class Ballot(ClubOwned, db.Model):
    __tablename__ = "ballot"
    __table_args__ = (
        one_of("kind", BallotKind),
        one_of("method", Method),
        one_of("status", BallotStatus),
        one_of("threshold", Threshold),
        one_of("outcome", Outcome),
        one_of("role", Role),
        CheckConstraint("quorum_percent BETWEEN 1 AND 100", name="quorum_range"),
        CheckConstraint("eligible_count >= 0", name="eligible_positive"),
        Index("ix_ballot_club_status", "club_id", "status", "closes_at"),
        Index("ix_ballot_open_deadline", "status", "closes_at"),
        Index("ix_ballot_meeting", "meeting_id"),
        club_fk("project_id", "project"),
        club_fk("membership_id", "membership"),
        club_fk("investment_id", "investment", use_alter=True),
        club_fk("meeting_id", "meeting"),
        club_fk("partnership_id", "partnership", use_alter=True),
        club_fk("winner_option_id", "ballot_option", use_alter=True),
    )

    kind: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    details: Mapped[str] = mapped_column(Text, default="")
    secret: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default=BallotStatus.OPEN)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closes_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    #: None when the deadline closed it
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    # The rules in force when it opened (R9): later charter versions do not apply.
    charter_version: Mapped[int]
    quorum_percent: Mapped[int]
    threshold: Mapped[str] = mapped_column(String(16))
    max_proxies: Mapped[int]
    #: active members when it opened, less the recused (R6, R8)
    eligible_count: Mapped[int]

    # What is decided
    project_id: Mapped[int | None] = mapped_column()
    membership_id: Mapped[int | None] = mapped_column()
    role: Mapped[str | None] = mapped_column(String(16))
    #: selling a stake: the investment whose shares may be sold
    investment_id: Mapped[int | None] = mapped_column()
    #: charter amendments: only the settings that change
    proposal: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: approving the accounts: the closed year
    year: Mapped[int | None]
    #: an item of a general meeting's agenda: voted in the room, while the meeting is in session (R14)
    meeting_id: Mapped[int | None] = mapped_column()
    #: trading time with another club: this club's side of the partnership
    partnership_id: Mapped[int | None] = mapped_column()
    #: joining a regional association: the association (a reference table, not the club's)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))

    # The decision
    outcome: Mapped[str | None] = mapped_column(String(16))
    #: the counts the outcome was decided on, for the minutes
    tally: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    winner_option_id: Mapped[int | None] = mapped_column()
    #: why a decision that passed could not be applied (rule and message), else None
    effect_error: Mapped[str | None] = mapped_column(String(300))
    cancel_reason: Mapped[str | None] = mapped_column(String(300))

    options: Mapped[list[BallotOption]] = club_children("BallotOption", "Ballot", "ballot_id", back_populates="ballot",
                                                        order_by="BallotOption.position", lazy="selectin")
    project: Mapped[Project | None] = club_parent("Project", "Ballot", "project_id", lazy="joined")
    membership: Mapped[Membership | None] = club_parent("Membership", "Ballot", "membership_id", lazy="joined")

    @property
    def is_open(self) -> bool:
        return self.status == BallotStatus.OPEN


class BallotOption(ClubOwned, db.Model):
    """What is voted on: the question itself for yes/no and consent; each
    project or candidate for majority judgment and approval."""

    __tablename__ = "ballot_option"
    __table_args__ = (
        UniqueConstraint("ballot_id", "position", "club_id"),
        club_fk("ballot_id", "ballot"),
        club_fk("project_id", "project"),
        club_fk("membership_id", "membership"),
    )

    ballot_id: Mapped[int] = mapped_column()
    position: Mapped[int]
    label: Mapped[str] = mapped_column(String(200))
    project_id: Mapped[int | None] = mapped_column()
    #: a candidate, in an election
    membership_id: Mapped[int | None] = mapped_column()

    ballot: Mapped[Ballot] = club_parent("Ballot", "BallotOption", "ballot_id", back_populates="options")


class BallotVoter(ClubOwned, db.Model):
    """Who may take part, fixed when the ballot opens, and whether they did.

    Says nothing of the choice."""

    __tablename__ = "ballot_voter"
    __table_args__ = (
        UniqueConstraint("ballot_id", "membership_id", "club_id"),
        # A person's open ballots across their clubs (the home page) start from their memberships.
        Index("ix_ballot_voter_member", "membership_id"),
        club_fk("ballot_id", "ballot"),
        club_fk("membership_id", "membership"),
        club_fk("cast_by_id", "membership"),
    )

    ballot_id: Mapped[int] = mapped_column()
    membership_id: Mapped[int] = mapped_column()
    recused: Mapped[bool] = mapped_column(default=False)
    voted: Mapped[bool] = mapped_column(default=False)
    #: the member who cast it: themself, or the holder of their proxy
    cast_by_id: Mapped[int | None] = mapped_column()

    membership: Mapped[Membership] = club_parent("Membership", "BallotVoter", "membership_id", lazy="joined")


class BallotCount(ClubOwned, db.Model):
    """How many chose ``value`` for one option: written by the close, one row
    per value of the method's scale, in the scale's order."""

    __tablename__ = "ballot_count"
    __table_args__ = (
        UniqueConstraint("option_id", "value", "club_id"),
        CheckConstraint("count >= 0", name="count_positive"),
        club_fk("ballot_id", "ballot"),
        club_fk("option_id", "ballot_option"),
    )

    ballot_id: Mapped[int] = mapped_column()
    option_id: Mapped[int] = mapped_column()
    value: Mapped[int]
    count: Mapped[int] = mapped_column(default=0)


class BallotChoice(ClubOwned, db.Model):
    """One choice on one option of an open secret ballot: who made it, when, and
    in which order are nowhere (each vote rewrites the ballot's rows, sorted)."""

    __tablename__ = "ballot_choice"
    __table_args__ = (
        Index("ix_ballot_choice_ballot", "ballot_id"),
        club_fk("ballot_id", "ballot"),
        club_fk("option_id", "ballot_option"),
    )

    ballot_id: Mapped[int] = mapped_column()
    option_id: Mapped[int] = mapped_column()
    value: Mapped[int]


class SealedVote(ClubOwned, db.Model):
    """A proxy holder's vote for ``voter_id`` in a secret ballot, sealed
    (coop/envelope.py) until the close: void if the voter votes in person."""

    __tablename__ = "sealed_vote"
    __table_args__ = (
        UniqueConstraint("ballot_id", "voter_id", "club_id"),
        club_fk("ballot_id", "ballot"),
        club_fk("voter_id", "membership"),
    )

    ballot_id: Mapped[int] = mapped_column()
    voter_id: Mapped[int] = mapped_column()
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class BallotVote(ClubOwned, db.Model):
    """One member's choice on one option, in an open (not secret) ballot only."""

    __tablename__ = "ballot_vote"
    __table_args__ = (
        UniqueConstraint("option_id", "voter_id", "club_id"),
        Index("ix_ballot_vote_ballot", "ballot_id"),
        club_fk("ballot_id", "ballot"),
        club_fk("option_id", "ballot_option"),
        club_fk("voter_id", "membership"),
        club_fk("cast_by_id", "membership"),
    )

    ballot_id: Mapped[int] = mapped_column()
    option_id: Mapped[int] = mapped_column()
    voter_id: Mapped[int] = mapped_column()
    cast_by_id: Mapped[int] = mapped_column()
    value: Mapped[int]
    #: an objection's reason (consent)
    reason: Mapped[str | None] = mapped_column(String(500))
    cast_at: Mapped[datetime] = mapped_column(default=utcnow)


class Proxy(ClubOwned, db.Model):
    """A member lets another vote for them on one ballot."""

    __tablename__ = "proxy"
    __table_args__ = (
        Index("ix_proxy_ballot", "ballot_id", "holder_id"),
        club_fk("ballot_id", "ballot"),
        club_fk("giver_id", "membership"),
        club_fk("holder_id", "membership"),
    )

    ballot_id: Mapped[int] = mapped_column()
    giver_id: Mapped[int] = mapped_column()
    holder_id: Mapped[int] = mapped_column()
    given_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: withdrawn by the giver, or void because the giver voted in person
    ended_at: Mapped[datetime | None]

    giver: Mapped[Membership] = club_parent("Membership", "Proxy", "giver_id", lazy="joined")
    holder: Mapped[Membership] = club_parent("Membership", "Proxy", "holder_id", lazy="joined")
