"""Median and 95th percentile of timings in seconds, as milliseconds: the figures every measure reports."""
from __future__ import annotations

import statistics


def median_p95(timings: list[float], digits: int = 3) -> dict:
    ordered = sorted(timings)
    return {"median_ms": round(statistics.median(ordered) * 1000, digits),
            "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, digits)}
