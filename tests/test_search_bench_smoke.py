"""The search benchmark runs end to end on a tiny corpus and prints the agreed JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUERY_KINDS = ("term", "and2", "phrase", "prefix", "fuzzy", "filtered_highlight", "facet")


def test_bench_prints_one_json_object_with_both_engines_and_the_targets():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "search.py"), "--docs", "300", "--queries", "10", "--adds", "5",
         "--json"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["docs"] == 300 and result["seed"] == 7
    for engine in ("kbportal", "fts5"):
        stats = result[engine]
        for kind in QUERY_KINDS:
            assert stats[f"{kind}_p50_ms"] >= 0 and stats[f"{kind}_p95_ms"] >= stats[f"{kind}_p50_ms"]
        for key in ("build_s", "size_mb", "add_visible_p95_ms"):
            assert stats[key] >= 0
        assert stats["term_avg_results"] > 0  # the queries find something
    assert set(result["targets"]) == {"filtered_highlight_p95_le_50ms", "add_visible_p95_le_100ms",
                                      "filtered_highlight_p95_within_2x_fts5"}
    assert all(isinstance(v, bool) for v in result["targets"].values())
