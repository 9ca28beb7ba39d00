"""A file checked on one page travels, signed, with the form that confirms it: the server keeps no state
between the two steps, and nobody can swap the file, the club or the person in between."""
from __future__ import annotations

import base64
import zlib

from flask import abort, current_app
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer


def _signer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def seal(salt: str, club_id: int, data: bytes) -> str:
    packed = base64.urlsafe_b64encode(zlib.compress(data, 6)).decode()
    return _signer(salt).dumps({"club": club_id, "user": current_user.id, "file": packed})


def unseal(salt: str, club_id: int, payload: str, limit: int) -> bytes:
    """The file back, or 400 for anything altered, another club's or another person's."""
    try:
        sealed = _signer(salt).loads(payload)
        if sealed["club"] != club_id or sealed["user"] != current_user.id:
            raise BadSignature("another club or person")
        return zlib.decompress(base64.urlsafe_b64decode(sealed["file"]), bufsize=4096)[:limit + 1]
    except (BadSignature, KeyError, TypeError, ValueError, zlib.error):
        abort(400)
