"""Who calls the API: the working token of the ``Authorization: Bearer`` header, never the session cookie; its
club must be the address's, and a read token only reads."""
from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from ..services import tokens
from . import problems

#: The largest JSON body the API reads.
MAX_BODY = 64 * 1024


def current_token():
    """The working token of the request's ``Authorization: Bearer`` header, or None (looked up once)."""
    if "api_token" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _sep, secret = header.partition(" ")
        g.api_token = tokens.authenticate(secret.strip()) if scheme.lower() == "bearer" else None
    return g.api_token


def per_token() -> str:
    """The rate limit's key for a call with a working token."""
    token = current_token()
    return f"api-token:{token.club_id}:{token.id}"


def per_address() -> str:
    """The rate limit's key for a call without one: its address (someone guessing tokens)."""
    return f"api-address:{get_remote_address()}"


def authenticated():
    """Before each operation: a working token of the club in the address, allowed to write if the request
    writes; the acting person is then the token's owner (``g.api_user_id``)."""
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
