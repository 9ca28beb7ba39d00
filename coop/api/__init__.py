"""The JSON API, /api/v1: what members and treasurers do most, through the same services as the pages.

Built with flask-smorest (marshmallow-code): a plain Flask extension that lives beside the app's other
blueprints and generates the OpenAPI 3 document (through apispec) from the views' schemas, so the document
cannot drift from the code. Its own JSON error handler is left out: the app's handlers answer every error under
/api/v1 as application/problem+json (``problems``)."""
from __future__ import annotations

import http

from flask import Flask, g, request
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from ..extensions import csrf, limiter
from ..services import tokens
from ..services.validate import MAX_ID
from . import problems
from .schemas import Problem

#: Statuses an error of the API may have, each documented with the problem schema.
ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500)
#: The largest JSON body the API reads.
MAX_BODY = 64 * 1024


class EntraideApi(Api):
    ERROR_SCHEMA = Problem
    #: Each operation lists the statuses it can give; no catch-all "default" that would document everything.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        """The app's error handlers answer for the API (coop/web/__init__.py calls ``problems``)."""

    def _register_responses(self):
        for status in ERROR_STATUSES:
            response = {"description": http.HTTPStatus(status).phrase, "schema": self.ERROR_SCHEMA}
            if status == 401:
                response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
            if status == 429:
                response["headers"] = {"Retry-After": {"schema": {"type": "string"},
                                                       "description": "seconds to wait"}}
            prepare_response(response, self.spec, problems.CONTENT_TYPE)
            self.spec.components.response(http.HTTPStatus(status).name, response, lazy=True)


api = EntraideApi()


def current_token():
    """The working token of the request's ``Authorization: Bearer`` header, or None (looked up once)."""
    if "api_token" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _sep, secret = header.partition(" ")
        g.api_token = tokens.authenticate(secret.strip()) if scheme.lower() == "bearer" else None
    return g.api_token


def _per_token() -> str:
    return f"api-token:{current_token().club_id}:{current_token().id}"


def _per_address() -> str:
    return f"api-address:{get_remote_address()}"


def register_api(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "Entraide")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", problems.PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "Entraide's JSON API. Every call needs a personal access token "
                                "(Authorization: Bearer ent_…), made on the club's Tokens page. See docs/api.md."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "A personal access token: ent_<club>_<secret>"}}},
        "security": [{"bearer": []}],
    })
    api.init_app(app)
    from ..web import IdConverter
    api.register_converter(IdConverter, lambda _converter: {"type": "integer", "minimum": 1, "maximum": MAX_ID})

    from . import docs, views

    bp = views.bp
    csrf.exempt(bp)  # a bearer token, never the session cookie: nothing a forged form could use
    limiter.limit(lambda: app.config["RATELIMIT_API"], key_func=_per_token,
                  exempt_when=lambda: current_token() is None)(bp)
    limiter.limit(lambda: app.config["RATELIMIT_API_BAD"], key_func=_per_address,
                  exempt_when=lambda: current_token() is not None)(bp)
    bp.before_request(_authenticated)
    api.register_blueprint(bp)
    app.register_blueprint(docs.bp)


def _authenticated():
    """A working token of the club in the address, allowed to write if the request writes."""
    length = request.content_length
    if length is not None and length > MAX_BODY:
        return problems.problem(413)
    token = current_token()
    if token is None:
        return problems.problem(401, _("Send a working personal access token: Authorization: Bearer ent_…"))
    club_id = (request.view_args or {}).get("club_id")
    if club_id != token.club_id:
        return problems.problem(404, _("No such club."), kind="not-found")
    if request.method not in ("GET", "HEAD", "OPTIONS") and token.scope != "write":
        return problems.problem(403, _("This token may only read."), kind="read-only-token")
    if request.method not in ("GET", "HEAD") and b"\\u0000" in request.get_data(cache=True):
        return problems.problem(400, _("Text may not contain a NUL character."))
    g.api_user_id = tokens.owner_user_id(token)
    g.api_language = token.membership.user.language
    return None
