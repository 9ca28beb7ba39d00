"""Fixtures for web tests."""
from __future__ import annotations

import pytest

from coop.services import membership as clubs


@pytest.fixture
def club(make_club):
    """An active club of six: manager, treasurer, secretary (appointed while forming), three plain members."""
    setup = make_club(6, activate=False)
    clubs.appoint(setup.manager.id, setup.club_id, setup.membership_id(setup.members[2]), "secretary")
    clubs.activate(setup.manager.id, setup.club_id)
    return setup


@pytest.fixture
def neighbour(make_club):
    """Another active club, whose members must never reach ``club``."""
    return make_club(5, name="Cigale Voisine")
