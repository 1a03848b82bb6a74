"""bench/cobrand.py runs end to end (tiny rounds) and prints the documented JSON keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"docx_cold_s", "docx_warm_p50_s", "docx_warm_p95_s", "pdf1_p50_ms", "pdf10_p50_ms", "cached_p50_ms",
        "pool_vs_oneshot_speedup", "raw", "targets", "pass"}


def test_bench_smoke() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "cobrand.py"), "--json", "--rounds", "2"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stdout  # one JSON object, nothing else
    result = json.loads(lines[0])
    assert KEYS <= set(result)
    for key in ("docx_cold_s", "docx_warm_p50_s", "docx_warm_p95_s", "pdf1_p50_ms", "pdf10_p50_ms", "cached_p50_ms",
                "pool_vs_oneshot_speedup"):
        assert isinstance(result[key], (int, float)) and result[key] > 0, key
    assert set(result["pass"]) == set(result["targets"]) == {"docx_warm_p50_s", "pdf10_p50_ms", "cached_p50_ms"}
    assert all(isinstance(v, bool) for v in result["pass"].values())
    assert len(result["raw"]["docx_warm_s"]) == 2
