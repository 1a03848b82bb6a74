"""The repository benchmark runs end to end (SeaweedFS, worker, HTTP route) and prints the agreed JSON.

No timing thresholds here: the figures are for the benchmark's reader, this only checks
that every ratio the issue names is measured and reported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_prints_upload_and_download_ratios_for_both_sizes_against_raw_s3():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "repository.py"), "--rounds", "1", "--json"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["rounds"] == {"1mb": 3, "20mb": 1}
    for label in ("1mb", "20mb"):
        for side in ("raw", "kbportal"):
            assert result[f"{side}_upload_mb_s_{label}"] > 0
            assert result[f"{side}_download_mb_s_{label}"] > 0
        assert result[f"upload_ratio_{label}"] > 0 and result[f"download_ratio_{label}"] > 0
        assert result[f"check_s_{label}"] > 0
    assert result["upload_ratio_1mb_during_checks"] > 0
    assert isinstance(result["meets_target"], bool)
