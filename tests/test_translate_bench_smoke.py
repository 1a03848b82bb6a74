"""The translation benchmark runs end to end on a tiny input and prints the agreed JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_prints_one_json_object_with_cold_cached_and_docx_figures():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "translate.py"), "--segments", "40", "--pages", "2", "--json"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert (result["seed"], result["segments"], result["docx_pages"]) == (11, 40, 2)
    assert result["cold_segments_per_s"] > 0 and result["cached_segments_per_s"] > 0
    assert result["docx_cold_s"] > 0 and result["docx_cached_s"] > 0 and result["docx_segments"] > 0
    assert "real Argos models" in result["note"]
