"""The charter in force: a club's own settings of the rules (quorum, thresholds, caps, limits …), one version
per amendment. Read by the access checks and by every service; changed only by the club service."""
from __future__ import annotations

from functools import cache

from sqlalchemy import bindparam, select

from ..extensions import db
from ..models import Charter
from .errors import NotFound, _l


@cache
def _current_charter():
    return select(Charter).where(Charter.club_id == bindparam("club")).order_by(Charter.version.desc()).limit(1)


def charter_of(club_id: int, version: int | None = None) -> Charter:
    if version is None:
        charter = db.session.scalar(_current_charter(), {"club": club_id})
    else:
        charter = db.session.scalar(select(Charter).where(Charter.club_id == club_id, Charter.version == version))
    if charter is None:
        raise NotFound(_l("No such charter version."))
    return charter
