"""A club's time zone: the clock its members read.

Times are stored as naive UTC (``models.base.utcnow``). Every time shown to a member is in the club's zone
(an IANA name, ``club.time_zone``); every deadline a member types is read in that zone and stored in UTC; a
club's "today" is the date on its own clock. Pure functions: no database, no request."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

#: The zone of clubs made before zones existed (migration 0014), and of a club in euros by default.
DEFAULT_ZONE = "Europe/Paris"
#: The zones offered first when a club is created, where the clubs are: France, Belgium, Luxembourg,
#: Switzerland, Québec and the rest of Canada, and France overseas. Any other IANA zone may be chosen.
COMMON_ZONES = (
    "Europe/Paris",
    "Europe/Brussels",
    "Europe/Luxembourg",
    "Europe/Zurich",
    "America/Montreal",
    "America/Moncton",
    "America/Halifax",
    "America/St_Johns",
    "America/Winnipeg",
    "America/Edmonton",
    "America/Vancouver",
    "America/Guadeloupe",
    "America/Martinique",
    "America/Cayenne",
    "America/Miquelon",
    "Indian/Reunion",
    "Indian/Mayotte",
    "Pacific/Noumea",
    "Pacific/Tahiti",
)
#: A club's default zone from its currency: euros in Paris, Canadian dollars in Montréal.
ZONE_OF_CURRENCY = {"EUR": "Europe/Paris", "CAD": "America/Montreal"}
#: Names the system's zone database lists that are not places.
NOT_PLACES = frozenset({"localtime", "Factory"})
ZONE_MAX = 64
#: The clock furthest ahead of UTC (+14 h): no club's date is later than its.
FURTHEST_AHEAD = "Etc/GMT-14"


@cache
def zones() -> frozenset[str]:
    """Every IANA zone name known here (the system's tz database, else the ``tzdata`` package)."""
    return frozenset(available_timezones()) - NOT_PLACES


def is_zone(name: object) -> bool:
    return isinstance(name, str) and len(name) <= ZONE_MAX and name in zones()


def all_zones() -> list[str]:
    """The common zones first, then every other one in alphabetical order."""
    return [*COMMON_ZONES, *sorted(zones() - set(COMMON_ZONES))]


def default_zone(currency: str | None) -> str:
    return ZONE_OF_CURRENCY.get(currency or "", DEFAULT_ZONE)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local(moment: datetime, zone: str) -> datetime:
    """A stored moment (naive UTC, or aware) as an aware datetime on the zone's clock."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(_zone(zone))


def local_now(zone: str, *, now: datetime | None = None) -> datetime:
    """The zone's wall clock now (naive), as a member types it."""
    return local(now or datetime.now(UTC), zone).replace(tzinfo=None)


def local_today(zone: str, *, now: datetime | None = None) -> date:
    """Today's date on the zone's clock."""
    return local_now(zone, now=now).date()


def local_date(moment: datetime, zone: str) -> date:
    """The date of a stored moment (naive UTC) on the zone's clock."""
    return local(moment, zone).date()


class NoSuchTime(ValueError):
    """A wall-clock time that the zone skips: the hour the clocks go forward."""


def to_utc(wall: datetime, zone: str) -> datetime:
    """A time typed on the zone's clock, as stored: naive UTC.

    When the clocks go forward, the skipped times (02:00–02:59 in Paris on the last Sunday of March) do not
    exist: ``NoSuchTime``, never a guess. When they go back, the repeated hour (02:00–02:59 in Paris on the
    last Sunday of October) is read as its first occurrence, still on summer time (``fold=0``): the earlier
    of the two instants."""
    if wall.tzinfo is not None:
        return wall.astimezone(UTC).replace(tzinfo=None)
    aware = wall.replace(tzinfo=_zone(zone), fold=0)
    moment = aware.astimezone(UTC)
    if moment.astimezone(_zone(zone)).replace(tzinfo=None) != wall:
        raise NoSuchTime(wall)
    return moment.replace(tzinfo=None)


def deadline_in(zone: str, days: int, *, now: datetime | None = None) -> datetime:
    """A deadline ``days`` from now, on the hour, on the zone's clock (a form's default)."""
    soon = (local_now(zone, now=now) + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    try:
        to_utc(soon, zone)
    except NoSuchTime:  # the hour the clocks skip: the next one
        soon += timedelta(hours=1)
    return soon
