"""Typed refusals. Each carries a message a member can read (translated
lazily, in the member's language), the rule it enforces and, where the
refusal is about one form field, that field's name."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

__all__ = [
    "CoopError",
    "Conflict",
    "InvalidInput",
    "LimitExceeded",
    "NeedsConfirmation",
    "NotFound",
    "NotPermitted",
    "RuleViolation",
    "_l",
]


class CoopError(Exception):
    status_code = 400

    def __init__(self, message, *, rule: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.field = field

    def __str__(self) -> str:
        text = str(self.message)
        return f"{self.rule}: {text}" if self.rule else text


class InvalidInput(CoopError):
    """The values do not have the right shape or range."""


class RuleViolation(CoopError):
    """A governance rule (R1–R14) or a ledger invariant refuses the action."""


class LimitExceeded(RuleViolation):
    """An account would pass its floor or ceiling."""


class NotPermitted(CoopError):
    """The acting person does not hold the role the action needs."""

    status_code = 403


class NotFound(CoopError):
    """No such thing, or not in a club the person belongs to."""

    status_code = 404


class Conflict(CoopError):
    """The state has moved on: already done, already used, already there."""

    status_code = 409


class NeedsConfirmation(Conflict):
    """The action is allowed but unusual: done only when asked again with ``confirm=True``."""

    def __init__(self, message, *, rule: str | None = None, field: str | None = None, **details):
        super().__init__(message, rule=rule, field=field)
        #: what made it unusual (``days`` apart …), for the page that asks
        self.details = details
