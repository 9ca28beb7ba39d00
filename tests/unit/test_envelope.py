"""Sealed envelopes for proxy votes in secret ballots (coop/envelope.py)."""
from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag

from coop import envelope

KEY = envelope.derive_key(b"a chain key for the tests")


def test_an_envelope_opens_to_its_choices_under_the_key():
    sealed = envelope.seal(KEY, 7, 42, {3: 1, 4: -1})
    assert envelope.open_(KEY, 7, 42, sealed) == {3: 1, 4: -1}


def test_every_envelope_has_one_size_and_none_is_alike():
    small = envelope.seal(KEY, 7, 42, {3: 0})
    large = envelope.seal(KEY, 7, 42, {n: 5 for n in range(100_000, 100_010)})
    again = envelope.seal(KEY, 7, 42, {3: 0})
    assert len(small) == len(large) == envelope.NONCE + envelope.PADDED + 16
    assert small != again  # a fresh nonce each time: equal choices do not look equal


@pytest.mark.parametrize(("key", "ballot", "voter"), [
    (envelope.derive_key(b"another key"), 7, 42),  # sealed under another key
    (KEY, 8, 42),  # moved to another ballot
    (KEY, 7, 43),  # moved to another voter
])
def test_an_envelope_moved_or_under_another_key_does_not_open(key, ballot, voter):
    sealed = envelope.seal(KEY, 7, 42, {3: 1})
    with pytest.raises(InvalidTag):
        envelope.open_(key, ballot, voter, sealed)


def test_an_altered_envelope_does_not_open():
    sealed = bytearray(envelope.seal(KEY, 7, 42, {3: 1}))
    sealed[20] ^= 1
    with pytest.raises(InvalidTag):
        envelope.open_(KEY, 7, 42, bytes(sealed))
