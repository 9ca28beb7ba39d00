"""Sealed envelopes: a proxy holder's vote in a secret ballot, kept until the close.

A vote cast by proxy must stay undoable until the close: if the member who gave
the proxy votes in person, or declares a link to the project (R8), the proxy's
vote is void. So it cannot go into the ballot box with the others, where no
choice names its voter. It is kept apart, named by the member it counts for,
and sealed: AES-256-GCM under a key derived from the chain key, which lives
outside the database (``CHAIN_KEY``). A reader of the database sees that an
envelope exists, never what is in it. At the close, envelopes are opened,
counted and deleted; a voided envelope is deleted unopened.

The plaintext is padded to one length, so the envelope's size says nothing of
the choice; the ballot and the voter are bound to it (associated data), so an
envelope cannot be moved to another voter or ballot.
"""
from __future__ import annotations

import json
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE = 12
#: Every plaintext is padded to this many bytes (ten options of "id:value" fit well within it).
PADDED = 512


def derive_key(chain_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"entraide ballot envelope v1").derive(chain_key)


def _bound_to(ballot_id: int, voter_id: int) -> bytes:
    return f"ballot {ballot_id} voter {voter_id}".encode("ascii")


def seal(key: bytes, ballot_id: int, voter_id: int, choices: dict[int, int]) -> bytes:
    text = json.dumps(sorted(choices.items()), separators=(",", ":")).encode("ascii")
    if len(text) >= PADDED:
        raise ValueError("too many choices for one envelope")
    padded = text + b" " * (PADDED - len(text))
    nonce = os.urandom(NONCE)
    return nonce + AESGCM(key).encrypt(nonce, padded, _bound_to(ballot_id, voter_id))


def open_(key: bytes, ballot_id: int, voter_id: int, sealed: bytes) -> dict[int, int]:
    """The choices inside; raises ``cryptography.exceptions.InvalidTag`` if the envelope was altered,
    moved, or sealed under another key."""
    padded = AESGCM(key).decrypt(sealed[:NONCE], sealed[NONCE:], _bound_to(ballot_id, voter_id))
    return {int(option): int(value) for option, value in json.loads(padded.rstrip(b" "))}
