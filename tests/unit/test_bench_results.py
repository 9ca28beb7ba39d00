"""The benchmark's latest results are complete, and the README shows them (issue: figures live in bench/,
never in timed tests; the README's table agrees with bench/results.json)."""
from __future__ import annotations

import json
from pathlib import Path

from bench.__main__ import table

ROOT = Path(__file__).resolve().parents[2]
RESULTS = json.loads((ROOT / "bench" / "results.json").read_text())
PAGES = {"member home", "journal page 1", "journal 10,000 rows deep", "account statement", "trial balance",
         "fund position", "ballot results", "offers search"}


def test_the_readme_table_is_the_latest_results():
    readme = (ROOT / "README.md").read_text()
    shown = readme.split("<!-- bench:start -->", 1)[1].split("<!-- bench:end -->", 1)[0].strip()
    assert shown == table(RESULTS)


def test_the_results_hold_every_figure_on_both_databases_with_the_machine():
    assert {"python", "platform", "cpus", "sqlite", "postgresql"} <= RESULTS["machine"].keys()
    assert RESULTS["clubs"] == 1000 and RESULTS["runs"] >= 50 and RESULTS["n"] >= 50
    for backend in ("sqlite", "postgresql"):
        figures = RESULTS["backends"][backend]
        assert figures["posting"]["ratio_service_to_raw"] > 0
        assert set(figures["recording"]) == {"exchange, 1 thread", "exchange, 8 threads", "contribution, 1 thread",
                                             "contribution, 8 threads"}
        for measured in figures["recording"].values():
            assert measured["raw_sql"]["operations"] >= 50 and measured["service"]["operations"] >= 50
            assert {"median_ms", "p95_ms", "per_second"} <= measured["service"].keys()
        for scale in ("small", "large"):
            assert set(figures["pages"][scale]["pages"]) == PAGES
            assert all(page["runs"] >= 50 for page in figures["pages"][scale]["pages"].values())
        assert figures["pages"]["large"]["postings"] >= 1_000_000
        assert set(figures["pages"]["ratio_large_to_small"]) == PAGES
        assert figures["pages"]["large"]["peak_memory_mb"] > 0
        assert set(figures["serving"]["endpoints"]) == {"trivial", "member home", "exchange form"}
    peer = RESULTS["backends"]["postgresql"]["peer"]
    assert peer["peer"] == "django-hordak" and set(peer["ratio_ours_to_peer"]) == {"posting", "balance_read"}
