"""Errors of the JSON API as ``application/problem+json`` (RFC 9457): ``type``, ``title``, ``status``,
``detail``, and the extension members ``rule`` (the charter's rule a refusal enforces, "R12") and ``field`` (the
member of the request it is about), when the service's refusal names them."""
from __future__ import annotations

import time
from http import HTTPStatus

from flask import jsonify, request
from flask_babel import gettext as _

from ..extensions import limiter

PREFIX = "/api/v1"
CONTENT_TYPE = "application/problem+json"


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def _titles() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("A valid access token is needed."),
        403: _("You may not do this."),
        404: _("No such thing, or not yours to see."),
        405: _("This address does not accept this kind of request."),
        409: _("This was already done, or the state has moved on."),
        413: _("What you sent is too large."),
        415: _("Send JSON."),
        422: _("Some values are not valid."),
        429: _("Too many requests. Wait a moment and try again."),
        500: _("Something went wrong on our side. Nothing was saved."),
    }


def problem(status: int, detail: str | None = None, *, rule: str | None = None, field: str | None = None,
            kind: str | None = None, headers: dict | None = None):
    """The response: a problem document with ``status``; ``kind`` names the refusal's type (a page anchor of the
    API's documentation), else the type is ``about:blank`` and the title the status's."""
    title = _titles().get(status) or HTTPStatus(status).phrase
    body = {
        "type": f"{PREFIX}/docs#problem-{kind}" if kind else "about:blank",
        "title": title,
        "status": status,
        "detail": detail or title,
    }
    if rule:
        body["rule"] = rule
    if field:
        body["field"] = field
    response = jsonify(body)
    response.status_code = status
    response.content_type = CONTENT_TYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="entraide"'
    return response


def retry_after() -> str:
    """Seconds until the exhausted limit opens again, for a 429's Retry-After."""
    current = limiter.current_limit
    if current is None:
        return "60"
    return str(max(1, int(current.reset_at - time.time()) + 1))


def from_http_error(err) -> object:
    """A werkzeug HTTP error (from routing, the body parser, the limiter, a view's abort) as a problem."""
    status = err.code or 500
    data = getattr(err, "data", None) or {}
    field, detail = None, None
    messages = data.get("messages") or data.get("errors")
    if messages:  # webargs' validation errors: {"json": {"minutes": ["..."]}}
        field, detail = _first_message(messages)
    headers = {}
    if status == 429:
        headers["Retry-After"] = retry_after()
    if status == 405 and getattr(err, "valid_methods", None):
        headers["Allow"] = ", ".join(err.valid_methods)
    return problem(status, detail, field=field, headers=headers)


def _first_message(messages, path: tuple = ()) -> tuple[str | None, str | None]:
    if isinstance(messages, dict):
        for key in sorted(messages, key=str):
            field, detail = _first_message(messages[key], (*path, key))
            if detail:
                return field, detail
        return None, None
    if isinstance(messages, list | tuple) and messages:
        if all(isinstance(m, str) for m in messages):
            names = [str(p) for p in path if p not in ("json", "query", "headers", "_schema")]
            return (".".join(names) or None), " ".join(messages)
        return _first_message(messages[0], path)
    if isinstance(messages, str):
        names = [str(p) for p in path if p not in ("json", "query", "headers", "_schema")]
        return (".".join(names) or None), messages
    return None, None


def from_refusal(err) -> object:
    """A service's typed refusal (coop/services/errors.py) with its rule and field."""
    kind = type(err).__name__
    kind = "".join(f"-{c.lower()}" if c.isupper() else c for c in kind).lstrip("-")
    return problem(err.status_code, str(err.message), rule=err.rule, field=err.field, kind=kind)
