"""Fixtures for web tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def club(make_club):
    """An active club of six: manager, treasurer, secretary (appointed while forming), three plain members."""
    return make_club(6, secretary=True)


@pytest.fixture
def neighbour(make_club):
    """Another active club, whose members must never reach ``club``."""
    return make_club(5, name="Cigale Voisine")
