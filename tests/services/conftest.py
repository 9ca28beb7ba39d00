"""Fixtures for service tests."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from coop.extensions import db
from coop.services import ledger


@dataclass
class Books:
    club_id: int
    setup: object
    bank: int
    capital: list[int]  # account ids, in member order (manager first)
    time: list[int]


def books_of(setup) -> Books:
    def acc(code: str) -> int:
        return ledger.find_account(setup.club_id, code).id

    mids = [setup.memberships[u.id] for u in setup.members]
    books = Books(setup.club_id, setup, acc("bank"), [acc(f"capital:{m}") for m in mids],
                  [acc(f"time:{m}") for m in mids])
    db.session.rollback()
    return books


@pytest.fixture
def books(make_club) -> Books:
    return books_of(make_club(5))
