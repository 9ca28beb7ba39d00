"""The journal's hash chain (tamper evidence), version 1.

Each transaction of a club carries ``seq`` (1, 2, 3 … within the club) and
``hash`` = SHA-256 of the previous transaction's hash and this one's content
in a canonical text form. Changing any posted amount, account, date, memo
or link breaks the chain from that transaction on, and ``flask coop check``
names it. Never change this function: hashes already stored were made with
it (a new form would be a version 2 with its own marker).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date

GENESIS = "0" * 64


def seal(prev_hash: str, *, club_id: int, seq: int, unit: str, kind: str, occurred_on: date, memo: str,
         author_id: int | None, idempotency_key: str, reverses_id: int | None,
         postings: Iterable[tuple[int, int]]) -> str:
    lines = ";".join(f"{account_id}:{amount}" for account_id, amount in sorted(postings))
    content = "\x1f".join([
        "v1", prev_hash, str(club_id), str(seq), str(unit), str(kind), occurred_on.isoformat(), memo or "",
        "" if author_id is None else str(author_id), idempotency_key, "" if reverses_id is None else str(reverses_id),
        lines,
    ])
    return hashlib.sha256(content.encode("utf-8")).hexdigest()
