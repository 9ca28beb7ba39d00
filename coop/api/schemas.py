"""The shapes of the API's requests and answers (marshmallow), from which the OpenAPI document is generated.
Amounts are integers: money in cents with its ``currency``, time in minutes."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..services.validate import MAX_ID

#: A moment, RFC 3339 with its offset (UTC), as OpenAPI's date-time wants (the views give it aware).
Moment = fields.AwareDateTime
Id = lambda **kw: fields.Integer(strict=True, validate=validate.Range(1, MAX_ID), **kw)  # noqa: E731


class Problem(Schema):
    """RFC 9457 problem details, with the rule and the field a refusal names."""

    type = fields.String(required=True, metadata={"description": "about:blank, or the kind of refusal"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True, metadata={"description": "What went wrong, in the member's language"})
    rule = fields.String(metadata={"description": "The charter's rule that refuses it (R1–R14)"})
    field = fields.String(metadata={"description": "The member of the request the refusal is about"})


class ClubOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    currency = fields.String(required=True)
    status = fields.String(required=True)
    time_zone = fields.String(required=True)


class MemberShareOut(Schema):
    membership_id = fields.Integer(required=True)
    name = fields.String(required=True)
    contributed = fields.Integer(required=True, metadata={"description": "cents"})
    capital = fields.Integer(required=True, metadata={"description": "cents"})
    value = fields.Integer(required=True, metadata={"description": "cents: the member's share of the net assets"})
    share_percent = fields.String(required=True, metadata={"description": "decimal text, e.g. \"16.67\""})


class PositionOut(Schema):
    club = fields.Nested(ClubOut, required=True)
    currency = fields.String(required=True)
    cash = fields.Integer(required=True, metadata={"description": "cents"})
    invested = fields.Integer(required=True, metadata={"description": "cents"})
    committed = fields.Integer(required=True, metadata={"description": "cents"})
    available = fields.Integer(required=True, metadata={"description": "cents: cash less committed (R10)"})
    net_assets = fields.Integer(required=True, metadata={"description": "cents"})
    members = fields.List(fields.Nested(MemberShareOut), required=True,
                          metadata={"description": "the acting member's line; every line for the bookkeepers"})


class AccountOut(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    type = fields.String(required=True)
    unit = fields.String(required=True, metadata={"description": "money (cents) or time (minutes)"})
    currency = fields.String(allow_none=True, required=True, metadata={"description": "for money accounts"})
    balance = fields.Integer(required=True)
    floor = fields.Integer(allow_none=True, required=True)
    ceiling = fields.Integer(allow_none=True, required=True)


class TimeLineOut(Schema):
    transaction_id = fields.Integer(required=True)
    occurred_on = fields.Date(required=True)
    kind = fields.String(required=True)
    description = fields.String(required=True)
    partner = fields.String(required=True)
    minutes = fields.Integer(required=True)
    balance_minutes = fields.Integer(required=True)
    exchange_id = fields.Integer(allow_none=True, required=True)


class TimeStatementOut(Schema):
    membership_id = fields.Integer(required=True)
    unit = fields.String(required=True)
    lines = fields.List(fields.Nested(TimeLineOut), required=True)


class ContributionOut(Schema):
    id = fields.Integer(required=True)
    amount = fields.Integer(required=True, metadata={"description": "cents"})
    received_on = fields.Date(required=True)
    method = fields.String(required=True)
    transaction_id = fields.Integer(required=True)
    reversed_by = fields.Integer(allow_none=True, required=True)


class SavingsStatementOut(Schema):
    membership_id = fields.Integer(required=True)
    currency = fields.String(required=True)
    due = fields.Integer(required=True, metadata={"description": "cents due under the pledges so far"})
    paid = fields.Integer(required=True, metadata={"description": "cents paid"})
    arrears = fields.Integer(required=True, metadata={"description": "cents"})
    contributions = fields.List(fields.Nested(ContributionOut), required=True,
                                metadata={"description": "the latest 50, newest first"})


class ListingOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    category = fields.String(required=True)
    availability = fields.String(required=True)
    status = fields.String(required=True)
    expires_on = fields.Date(allow_none=True, required=True)
    author_id = fields.Integer(required=True)
    author = fields.String(required=True)


class ListingPageOut(Schema):
    items = fields.List(fields.Nested(ListingOut), required=True)
    page = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    total = fields.Integer(required=True)


class ListingQuery(Schema):
    q = fields.String(validate=validate.Length(max=200), load_default="")
    category = fields.String(validate=validate.Length(max=20), load_default=None)
    kind = fields.String(validate=validate.Length(max=10), load_default=None)
    page = fields.Integer(strict=False, validate=validate.Range(1, 10_000), load_default=1)


class ListingIn(Schema):
    kind = fields.String(required=True, metadata={"enum": ["offer", "request"]})
    category = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(load_default="")
    availability = fields.String(load_default="")
    expires_on = fields.Date(load_default=None, allow_none=True, metadata={"description": "requests only"})


class ExchangeOut(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True)
    provider_id = fields.Integer(required=True)
    receiver_id = fields.Integer(required=True)
    minutes = fields.Integer(allow_none=True, required=True)
    done_on = fields.Date(allow_none=True, required=True)
    description = fields.String(required=True)
    listing_id = fields.Integer(allow_none=True, required=True)
    transaction_id = fields.Integer(allow_none=True, required=True)


class ExchangeIn(Schema):
    other_id = Id(required=True, metadata={"description": "the other member's membership id"})
    direction = fields.String(required=True, metadata={"enum": ["given", "received"]})
    minutes = fields.Integer(strict=True, required=True, validate=validate.Range(1, 2**31 - 1))
    done_on = fields.Date(required=True)
    description = fields.String(required=True)


class DisputeIn(Schema):
    reason = fields.String(required=True)


class OptionOut(Schema):
    id = fields.Integer(required=True)
    label = fields.String(required=True)


class BallotOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    method = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True)
    secret = fields.Boolean(required=True)
    opened_at = Moment(required=True)
    closes_at = Moment(required=True)
    closed_at = Moment(allow_none=True, required=True)
    options = fields.List(fields.Nested(OptionOut), required=True)
    may_vote = fields.Boolean(required=True)
    voted = fields.Boolean(required=True)


class BallotDetailOut(BallotOut):
    details = fields.String(required=True)
    participants = fields.Integer(required=True)
    my_choices = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                             metadata={"description": "option id → value, when the ballot is not secret"})


class ChoiceIn(Schema):
    option_id = Id(required=True)
    value = fields.Integer(strict=True, required=True, validate=validate.Range(-10, 10),
                           metadata={"description": "yes/no and consent: 1 yes, -1 no, 0 abstain; approval: 1 or 0; "
                                                    "judgment: the grade"})


class VoteIn(Schema):
    choices = fields.List(fields.Nested(ChoiceIn), required=True, validate=validate.Length(1, 200))
    reason = fields.String(load_default=None, allow_none=True)


class VoteOut(Schema):
    ballot_id = fields.Integer(required=True)
    voted = fields.Boolean(required=True)


class PostingOut(Schema):
    account_id = fields.Integer(required=True)
    account_code = fields.String(required=True)
    amount = fields.Integer(required=True, metadata={"description": "cents or minutes, by the unit; debit > 0"})


class JournalRowOut(Schema):
    id = fields.Integer(required=True)
    occurred_on = fields.Date(required=True)
    kind = fields.String(required=True)
    unit = fields.String(required=True)
    memo = fields.String(required=True)
    author = fields.String(required=True)
    reverses_id = fields.Integer(allow_none=True, required=True)
    reversed_by = fields.Integer(allow_none=True, required=True)
    postings = fields.List(fields.Nested(PostingOut), required=True)


class JournalOut(Schema):
    currency = fields.String(required=True)
    rows = fields.List(fields.Nested(JournalRowOut), required=True)
    next = fields.String(allow_none=True, required=True, metadata={"description": "pass as ?after= for the next page"})


class JournalQuery(Schema):
    after = fields.String(validate=validate.Length(max=40), load_default=None)
    kind = fields.String(validate=validate.Length(max=20), load_default=None)
    start = fields.Date(load_default=None)
    end = fields.Date(load_default=None)
