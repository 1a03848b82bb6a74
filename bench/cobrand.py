"""Co-branding engine: DOCX -> PDF through the LibreOffice listener pool, PDF stamping, cache hits.

    .venv/bin/python bench/cobrand.py --json [--rounds 20]

Builds the test suite's templates (tests/cobrand_files.py) in a temp dir and measures, in
one run:
  docx_cold_s        a new pool (no listener running) to the first co-branded PDF: soffice
                     start + fill + convert + sanitise/metadata
  docx_warm_p50/p95  the same with warm listeners (pool of one listener per core)
  pdf1/pdf10_p50_ms  PDF template (1 page / 10 pages): fill, flatten, logo + footer stamp on
                     every page, sanitise, write
  cached_p50_ms      a cache hit: cache key from the inputs + read the stored PDF
                     (:func:`serve_cached`, local directory standing in for the blob store)
  pool_vs_oneshot_speedup  conversions per second, listener pool vs one-shot
                     ``soffice --headless --convert-to pdf`` (same concurrency, same documents)
Prints one JSON object with the figures, the raw samples, targets and pass booleans.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

TARGETS = {"docx_warm_p50_s": 0.5, "pdf10_p50_ms": 100.0, "cached_p50_ms": 50.0}


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def serve_cached(cache_dir: Path, template_sha256: str, values: dict, logo_sha256: str | None) -> bytes | None:
    """A cache hit as the portal serves it: key from the inputs, then the stored bytes (here a
    local directory; the portal reads the same key from its blob store)."""
    from kbportal.services.cobrand import cache_key

    path = cache_dir / (cache_key(template_sha256, values, logo_sha256) + ".pdf")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def throughput(convert, jobs: list[tuple[Path, Path]], workers: int) -> float:
    """Conversions per second with ``workers`` threads sharing ``jobs``."""
    queue = list(jobs)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def run() -> None:
        while True:
            with lock:
                if not queue:
                    return
                src, dst = queue.pop()
            try:
                convert(src, dst)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return len(jobs) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    parser.add_argument("--rounds", type=int, default=20, help="samples per measurement")
    args = parser.parse_args()
    rounds = max(2, args.rounds)

    import cobrand_files as files
    from kbportal.services.cobrand import ConverterPool, OneShotConverter, generate
    from kbportal.services.cobrand.docx_fill import fill_docx
    from kbportal.services.cobrand.images import load_logo

    work = Path(tempfile.mkdtemp(prefix="kbportal-bench-cobrand-"))
    cpus = os.cpu_count() or 1
    try:
        logo = files.make_logo((600, 300))
        values = dict(files.PARTNER)
        docx_template = files.make_docx_template(work / "brochure.docx")
        pdf1 = files.make_pdf_template(work / "one.pdf", pages=1)
        pdf10 = files.make_pdf_template(work / "ten.pdf", pages=10, logo_field=None)
        meta = {"title": "Partner brochure \u2013 Acme", "author": values["partner_name"]}

        # ---------------------------------------------------------------- DOCX cold
        with ConverterPool(1, base_dir=work / "cold") as cold_pool:
            started = time.perf_counter()
            generate(docx_template, "docx", values, logo, work / "cold.pdf", converter=cold_pool, **meta)
            docx_cold = time.perf_counter() - started

        # ---------------------------------------------------------------- DOCX warm
        warm: list[float] = []
        with ConverterPool(cpus, base_dir=work / "warm") as pool:
            pool.start()
            for i in range(cpus):  # every listener has converted once
                generate(docx_template, "docx", values, logo, work / f"w{i}.pdf", converter=pool, **meta)
            for i in range(rounds):
                started = time.perf_counter()
                generate(docx_template, "docx", values, logo, work / "warm.pdf", converter=pool, **meta)
                warm.append(time.perf_counter() - started)

            # ------------------------------------------------------------ pool vs one-shot
            filled = work / "filled.docx"
            fill_docx(docx_template, values, load_logo(logo), filled)
            n = max(2, rounds // 2)
            jobs_pool = [(filled, work / f"pool-{i}.pdf") for i in range(n)]
            pool_rate = throughput(lambda s, d: pool.convert(s, d), jobs_pool, cpus)
        oneshot = OneShotConverter(base_dir=work / "oneshot", size=cpus)
        try:
            oneshot.convert(filled, work / "oneshot-warmup.pdf")  # profiles created, files cached
            jobs_one = [(filled, work / f"one-{i}.pdf") for i in range(n)]
            oneshot_rate = throughput(lambda s, d: oneshot.convert(s, d), jobs_one, cpus)
        finally:
            oneshot.close()

        # ---------------------------------------------------------------- PDF stamping
        def pdf_samples(template: Path) -> list[float]:
            generate(template, "pdf", values, logo, work / "pdf-warmup.pdf", **meta)
            samples = []
            for _ in range(rounds):
                started = time.perf_counter()
                generate(template, "pdf", values, logo, work / "pdf.pdf", **meta)
                samples.append((time.perf_counter() - started) * 1000)
            return samples

        pdf1_ms = pdf_samples(pdf1)
        pdf10_ms = pdf_samples(pdf10)

        # ---------------------------------------------------------------- cache hit
        from kbportal.services.cobrand import cache_key

        cache_dir = work / "cache"
        cache_dir.mkdir()
        template_sha = hashlib.sha256(docx_template.read_bytes()).hexdigest()
        logo_sha = hashlib.sha256(logo).hexdigest()
        shutil.copy(work / "warm.pdf", cache_dir / (cache_key(template_sha, values, logo_sha) + ".pdf"))
        cached_ms = []
        for _ in range(max(rounds, 20)):
            started = time.perf_counter()
            data = serve_cached(cache_dir, template_sha, values, logo_sha)
            cached_ms.append((time.perf_counter() - started) * 1000)
            assert data and data.startswith(b"%PDF")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    try:
        lo_version = subprocess.run(["soffice", "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        lo_version = ""
    result = {
        "docx_cold_s": round(docx_cold, 3),
        "docx_warm_p50_s": round(percentile(warm, 0.5), 3),
        "docx_warm_p95_s": round(percentile(warm, 0.95), 3),
        "pdf1_p50_ms": round(percentile(pdf1_ms, 0.5), 2),
        "pdf10_p50_ms": round(percentile(pdf10_ms, 0.5), 2),
        "cached_p50_ms": round(percentile(cached_ms, 0.5), 3),
        "pool_vs_oneshot_speedup": round(pool_rate / oneshot_rate, 2),
        "pool_docs_per_s": round(pool_rate, 2),
        "oneshot_docs_per_s": round(oneshot_rate, 2),
        "raw": {
            "docx_warm_s": [round(x, 4) for x in warm],
            "pdf1_ms": [round(x, 2) for x in pdf1_ms],
            "pdf10_ms": [round(x, 2) for x in pdf10_ms],
            "cached_ms": [round(x, 3) for x in cached_ms],
        },
        "targets": TARGETS,
        "pass": {
            "docx_warm_p50_s": percentile(warm, 0.5) <= TARGETS["docx_warm_p50_s"],
            "pdf10_p50_ms": percentile(pdf10_ms, 0.5) <= TARGETS["pdf10_p50_ms"],
            "cached_p50_ms": percentile(cached_ms, 0.5) <= TARGETS["cached_p50_ms"],
        },
        "rounds": rounds,
        "cpus": cpus,
        "libreoffice": lo_version,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))
        print("mean warm DOCX: %.3f s" % statistics.mean(warm))


if __name__ == "__main__":
    main()
