"""The JSON API, /api/v1: what members and treasurers do most, through the same services as the pages.

Built with flask-smorest (marshmallow-code): a plain Flask extension that lives beside the app's other
blueprints and generates the OpenAPI 3 document (through apispec) from the views' schemas, so the document
cannot drift from the code. Its own JSON error handler is left out: the app's handlers answer every error under
/api/v1 as application/problem+json (``problems``)."""
from __future__ import annotations

import http

from flask import Flask
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from ..services.validate import MAX_ID
from . import problems
from .schemas import Problem

#: Statuses an error of the API may have, each documented with the problem schema.
ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500)


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


def register_api(app: Flask) -> None:
    """The API's blueprint, its OpenAPI document (one per app: tests make several) and its page."""
    app.config.setdefault("API_TITLE", "Entraide")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", problems.PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "Entraide's JSON API. Every call needs a personal access token "
                                "(Authorization: Bearer ent_…), made on the club's API tokens page. See docs/api.md."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "A personal access token: ent_<club>_<secret>"}}},
        "security": [{"bearer": []}],
    })
    from . import docs, views  # the views import the services: loaded once the app is being made

    api = EntraideApi(app)
    # The web layer's ``id`` converter (registered before): an id in a path is an integer from 1 to 2³¹−1.
    api.register_converter(app.url_map.converters["id"],
                           lambda _converter: {"type": "integer", "minimum": 1, "maximum": MAX_ID})
    api.register_blueprint(views.bp)
    app.extensions["entraide_api"] = api
    app.register_blueprint(docs.bp)
