"""A club's clock (coop/clock.py): stored moments are naive UTC, members read and type their club's local time."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from coop import clock


@pytest.mark.parametrize(("wall", "zone", "utc"), [
    (datetime(2027, 1, 15, 10, 0), "Europe/Paris", datetime(2027, 1, 15, 9, 0)),  # winter: UTC+1
    (datetime(2027, 7, 15, 10, 0), "Europe/Paris", datetime(2027, 7, 15, 8, 0)),  # summer: UTC+2
    (datetime(2027, 1, 15, 10, 0), "America/Montreal", datetime(2027, 1, 15, 15, 0)),  # UTC−5
    (datetime(2027, 7, 15, 10, 0), "America/Montreal", datetime(2027, 7, 15, 14, 0)),  # UTC−4
    (datetime(2027, 3, 27, 10, 0), "Europe/Paris", datetime(2027, 3, 27, 9, 0)),  # the day before clocks go forward
    (datetime(2027, 3, 28, 10, 0), "Europe/Paris", datetime(2027, 3, 28, 8, 0)),  # the day they do
    (datetime(2027, 1, 15, 10, 0), "Pacific/Noumea", datetime(2027, 1, 14, 23, 0)),  # UTC+11: the day before
    (datetime(2027, 1, 15, 10, 0), "Indian/Reunion", datetime(2027, 1, 15, 6, 0)),
])
def test_a_time_typed_on_a_clubs_clock_is_stored_in_utc(wall, zone, utc):
    assert clock.to_utc(wall, zone) == utc
    assert clock.local(utc, zone).replace(tzinfo=None) == wall


@pytest.mark.parametrize(("wall", "zone"), [
    (datetime(2027, 3, 28, 2, 30), "Europe/Paris"),  # 02:00 → 03:00 on the last Sunday of March
    (datetime(2027, 3, 14, 2, 0), "America/Montreal"),  # 02:00 → 03:00 on the second Sunday of March
])
def test_a_time_the_clocks_skip_does_not_exist(wall, zone):
    with pytest.raises(clock.NoSuchTime):
        clock.to_utc(wall, zone)


def test_a_time_the_clocks_repeat_is_its_first_occurrence():
    """02:30 happens twice in Paris on 31 October 2027: the first, still on summer time (UTC+2)."""
    assert clock.to_utc(datetime(2027, 10, 31, 2, 30), "Europe/Paris") == datetime(2027, 10, 31, 0, 30)
    assert clock.to_utc(datetime(2027, 11, 7, 1, 30), "America/Montreal") == datetime(2027, 11, 7, 5, 30)


def test_todays_date_is_the_clubs():
    late_in_utc = datetime(2027, 1, 15, 23, 30)
    assert clock.local_today("Europe/Paris", now=late_in_utc) == date(2027, 1, 16)
    assert clock.local_today("America/Montreal", now=late_in_utc) == date(2027, 1, 15)
    early_in_utc = datetime(2027, 1, 15, 2, 0)
    assert clock.local_today("America/Montreal", now=early_in_utc) == date(2027, 1, 14)
    assert clock.local_date(early_in_utc, "Europe/Paris") == date(2027, 1, 15)


def test_a_default_deadline_is_on_the_hour_and_never_in_the_skipped_hour():
    assert clock.deadline_in("America/Montreal", 7, now=datetime(2027, 1, 8, 15, 42)) == datetime(2027, 1, 15, 10, 0)
    # A week before the clocks go forward, at 02:xx: 02:00 does not exist that Sunday, 03:00 does.
    assert clock.deadline_in("Europe/Paris", 7, now=datetime(2027, 3, 21, 1, 15)) == datetime(2027, 3, 28, 3, 0)


@pytest.mark.parametrize("name", ["Europe/Paris", "America/Montreal", "America/Toronto", "Pacific/Noumea", "UTC"])
def test_iana_names_are_zones(name):
    assert clock.is_zone(name)


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "europe/paris", "CET ", "", "localtime", "Factory", None, 3,
                                  "../../etc/passwd", "Europe/Paris" * 10])
def test_anything_else_is_not(name):
    assert not clock.is_zone(name)


def test_the_usual_zones_come_first_and_are_all_known():
    zones = clock.all_zones()
    assert zones[:len(clock.COMMON_ZONES)] == list(clock.COMMON_ZONES)
    assert all(clock.is_zone(z) for z in clock.COMMON_ZONES)
    assert len(zones) == len(set(zones)) > 300
    assert clock.default_zone("EUR") == "Europe/Paris" and clock.default_zone("CAD") == "America/Montreal"
