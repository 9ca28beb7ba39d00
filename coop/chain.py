"""The journal's hash chain (tamper evidence): version 2, keyed; version 1, plain, for chains sealed
before the key (``flask coop reseal`` seals them again under the key).

Each transaction of a club carries ``seq`` (1, 2, 3 … within the club) and
``hash`` = SHA-256 of the previous transaction's hash and this one's content
in a canonical text form. Changing any posted amount, account, date, memo
or link breaks the chain from that transaction on, and ``flask coop check``
names it. Never change this function: hashes already stored were made with
it (a new form would be a version 3 with its own marker).

Version 2 is the same text marked ``v2`` and sealed with HMAC-SHA256 under the
chain key, a secret kept outside the database (``CHAIN_KEY``, see
``coop/config.py``): someone who can write to the database but not read the
key cannot seal an edited transaction again.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import date

GENESIS = "0" * 64


def seal(prev_hash: str, *, club_id: int, seq: int, unit: str, kind: str, occurred_on: date, memo: str,
         author_id: int | None, idempotency_key: str, reverses_id: int | None,
         postings: Iterable[tuple[int, int]], key: bytes | None = None) -> str:
    """Version 2 (HMAC-SHA256 under ``key``) when a key is given, else version 1 (plain SHA-256)."""
    lines = ";".join(f"{account_id}:{amount}" for account_id, amount in sorted(postings))
    content = "\x1f".join([
        "v1" if key is None else "v2", prev_hash, str(club_id), str(seq), str(unit), str(kind), occurred_on.isoformat(),
        memo or "",
        "" if author_id is None else str(author_id), idempotency_key, "" if reverses_id is None else str(reverses_id),
        lines,
    ])
    if key is None:
        return hashlib.sha256(content.encode("utf-8")).hexdigest()
    return hmac.new(key, content.encode("utf-8"), hashlib.sha256).hexdigest()
