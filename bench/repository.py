"""Repository throughput: kbportal's upload and download paths vs raw S3 on the same server.

    .venv/bin/python bench/repository.py --json [--rounds 5]

Starts a private SeaweedFS (the embedded store) in a temp data dir. For 1 MB and 20 MB
files it measures, in the same run:
  raw:      minio fput_object / get_object (read to the end) on the same bucket
  kbportal: repository.create_document as the upload request runs it (size limit, sha256,
            type sniffing, blob put, version row + check job, DB commit); then a real
            `kbportal worker` checks the files (text, thumbnail, light variant for PDFs
            > 5 MB; reported as check_s: the burst's wall time / files, not part of the
            upload). The upload ratio is measured with the worker idle (a marketing user's
            upload); ``upload_ratio_1mb_during_checks`` repeats the 1 MB uploads while the
            worker checks a burst of earlier ones (on 2 cores they compete for CPU); and the
            authenticated HTTP download route (session, policy, audit; the bytes come from
            the node's read cache, which the worker's check fills, else stream from S3),
            served by granian (the server Reflex runs on) on loopback, read with urllib3
            (the HTTP library inside the minio client, so both sides read alike)
Prints one JSON object; ratios are kbportal / raw throughput (higher is better).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MB = 1024 * 1024
DOWNLOAD_REPEATS = 3


def make_pdf(path: Path, target_bytes: int, salt: str) -> Path:
    """A text PDF of about ``target_bytes`` (uncompressed content streams), unique per ``salt``."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    line = f"({salt} partner collateral benchmark text line for throughput measurement) Tj T* "
    per_page = 200_000
    pages = max(1, target_bytes // per_page)
    for index in range(pages):
        page = writer.add_blank_page(612, 792)
        body = f"BT /F1 9 Tf 36 760 Td 11 TL ({salt} page {index}) Tj T* ".encode()
        body += (line * (per_page // len(line))).encode() + b"ET"
        stream = DecodedStreamObject()
        stream.set_data(body)
        page[NameObject("/Contents")] = writer._add_object(stream)
        font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                                 NameObject("/BaseFont"): NameObject("/Helvetica")})
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject(
            {NameObject("/F1"): writer._add_object(font)})})
    with open(path, "wb") as out:
        writer.write(out)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    parser.add_argument("--rounds", type=int, default=5, help="files per size and path")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="kbportal-bench-"))
    os.environ.update({"KBPORTAL_DATA_DIR": str(work / "data"), "KBPORTAL_STORAGE": "s3",
                       "KBPORTAL_MAX_UPLOAD_MB": "200", "KBPORTAL_JOBS": "queue"})
    for name in ("KBPORTAL_DATABASE_URL", "KBPORTAL_S3_ENDPOINT"):
        os.environ.pop(name, None)

    import socket
    import subprocess
    import urllib.request

    import urllib3
    from kbportal.db import migrate, session_scope
    from kbportal.models import Role
    from kbportal.services import access, auth, jobs, orgs, repository, users
    from kbportal.services.access import AudienceRule
    from kbportal.services.audit import Actor
    from kbportal.storage import get_blob_store, seaweed

    system = access.Principal(user_id=None, role=Role.ADMIN)
    try:
        migrate()
        store = get_blob_store()  # starts the embedded SeaweedFS
        with session_scope() as session:
            org = orgs.create_org(session, system, Actor(), "Bench Partner", "APAC", "gold")
            users.create_user(session, system, Actor(), email="mk@bench.example", name="Marketing", role="marketing",
                              password="bench-password-1")
            users.create_user(session, system, Actor(), email="p@bench.example", name="Partner", role="partner_user",
                              password="bench-password-1", org_id=org.id)
        def serve_api(extra_env: dict[str, str]) -> tuple[subprocess.Popen, str]:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            granian = Path(sys.executable).parent / "granian"
            proc = subprocess.Popen(
                [str(granian), "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                 "--no-log", "--factory", "kbportal.api.routes:build_api"],
                cwd=ROOT, env=dict(os.environ) | extra_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            url = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"{url}/api/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            return proc, url

        # Default: kbportal streams the bytes. Redirect mode: S3 reachable by clients
        # (KBPORTAL_S3_PUBLIC_ENDPOINT), kbportal checks + audits, then 307 to a signed link.
        server, base = serve_api({})
        redirect_server, redirect_base = serve_api({"KBPORTAL_S3_PUBLIC_ENDPOINT": f"http://{store.endpoint}"})

        def start_worker() -> subprocess.Popen:
            return subprocess.Popen([sys.executable, "-m", "kbportal.cli", "worker"], cwd=ROOT, env=dict(os.environ),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

        def stop_worker(proc: subprocess.Popen) -> None:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=60)

        def raw_key(label: str, name: str, path: Path) -> str:
            """The raw baseline writes keys shaped like kbportal's (``documents/<id>/<file>``):
            one new folder per object, which costs SeaweedFS's filer the same work on both sides."""
            return f"raw/{label}/{name}/{path.name}"

        def upload_pair(path: Path, key: str, kb_first: bool) -> tuple[float, float, object]:
            """One raw put and one kbportal upload of the same file, back to back; callers
            alternate which goes first (the second may meet the server still busy with the first)."""
            def raw_put() -> float:
                start = time.perf_counter()
                minio.fput_object(bucket, key, str(path), content_type="application/pdf", part_size=16 * MB)
                return time.perf_counter() - start

            def kb_upload() -> tuple[float, object]:
                start = time.perf_counter()
                with session_scope() as session:  # as the studio's upload event: the principal from the session
                    ref = repository.create_document(
                        session, auth.resolve_principal(session, marketing_token).principal, Actor(email="bench"),
                        repository.Upload(path=path, filename=path.name), title=path.stem,
                        audience=AudienceRule(regions=frozenset({"APAC"})), publish=True)
                return time.perf_counter() - start, ref

            if kb_first:
                kb, ref = kb_upload()
                return raw_put(), kb, ref
            raw = raw_put()
            kb, ref = kb_upload()
            return raw, kb, ref

        # urllib3, the HTTP library the minio client uses: both sides read with the same client code.
        http = urllib3.PoolManager()
        cookie = {"Cookie": f"kbp_session={auth.authenticate('p@bench.example', 'bench-password-1').token}"}
        marketing_token = auth.authenticate("mk@bench.example", "bench-password-1").token
        minio = store._client  # the same client and bucket kbportal uses: a fair raw baseline
        bucket = store.bucket

        # 1 MB files are cheap: three times as many, for steadier medians of millisecond timings.
        rounds = {"1mb": args.rounds * 3, "20mb": args.rounds}
        result: dict[str, object] = {"rounds": rounds, "file_kind": "text PDF", "server": "SeaweedFS (weed mini)",
                                     "raw_keys": "raw/<size>/<n>/<file name>, shaped like documents/<id>/<file name>"}
        for label, size in (("1mb", 1 * MB), ("20mb", 20 * MB)):
            files = [make_pdf(work / f"{label}-{i}.pdf", size, f"{label}-{i}") for i in range(rounds[label])]
            actual = statistics.mean(f.stat().st_size for f in files)

            raw_put, raw_get, kb_put, kb_get, kb_redirect_get = [], [], [], [], []
            doc_ids, job_ids = [], []
            for i, path in enumerate(files):  # the worker is idle (stopped): uploads alone
                raw, kb, ref = upload_pair(path, raw_key(label, str(i), path), kb_first=i % 2 == 1)
                raw_put.append(raw)
                kb_put.append(kb)
                doc_ids.append(ref.document_id)
                job_ids.append(ref.job_id)
            worker = start_worker()
            checks_started = time.perf_counter()
            if label == "1mb":  # the same uploads again while the worker checks the burst above
                raw_busy, kb_busy = [], []
                for i, path in enumerate(files):
                    busy_copy = path.with_name(f"busy-{path.name}")
                    busy_copy.write_bytes(path.read_bytes() + b"\n%busy\n")  # other bytes: a new document
                    raw, kb, ref = upload_pair(busy_copy, raw_key(label, f"busy-{i}", busy_copy), kb_first=i % 2 == 1)
                    raw_busy.append(raw)
                    kb_busy.append(kb)
                    job_ids.append(ref.job_id)
                    busy_copy.unlink()
                result["upload_ratio_1mb_during_checks"] = round(statistics.median(raw_busy) /
                                                                 statistics.median(kb_busy), 3)
            for job_id in job_ids:  # downloads need the checked, published version
                outcome = jobs.wait(job_id, timeout=900)
                assert outcome.state == "done", outcome
            check_s = [(time.perf_counter() - checks_started) / len(job_ids)]

            for server_base in (base, redirect_base):  # warm both servers (imports, DB pool, compiled queries)
                for _ in range(3):
                    http.request("GET", f"{server_base}/api/documents/0/download", headers=cookie).data
            stop_worker(worker)
            # The worker kept the checked copies in the node's read cache: downloads come from there.
            result[f"cached_files_before_download_{label}"] = store.cache.usage()[0] if store.cache else 0
            # Downloads interleave raw and kbportal (each file DOWNLOAD_REPEATS times), so drift
            # on a busy machine hits both sides alike.
            for i, doc_id in [(i, d) for _ in range(DOWNLOAD_REPEATS) for i, d in enumerate(doc_ids)]:
                start = time.perf_counter()
                response = minio.get_object(bucket, raw_key(label, str(i), files[i]))
                try:
                    for _ in response.stream(1 * MB):
                        pass
                finally:
                    response.close()
                    response.release_conn()
                raw_get.append(time.perf_counter() - start)

                start = time.perf_counter()
                response = http.request("GET", f"{base}/api/documents/{doc_id}/download", headers=cookie,
                                        preload_content=False)
                assert response.status == 200, response.status
                for _ in response.stream(1 * MB):
                    pass
                response.release_conn()
                kb_get.append(time.perf_counter() - start)

                start = time.perf_counter()
                response = http.request("GET", f"{redirect_base}/api/documents/{doc_id}/download", headers=cookie,
                                        preload_content=False, redirect=True)
                assert response.status == 200, response.status
                for _ in response.stream(1 * MB):
                    pass
                response.release_conn()
                kb_redirect_get.append(time.perf_counter() - start)

            def mbps(times: list[float]) -> float:
                return round(actual / MB / statistics.median(times), 2)

            result.update({
                f"file_size_{label}_bytes": int(actual),
                f"raw_upload_mb_s_{label}": mbps(raw_put), f"raw_download_mb_s_{label}": mbps(raw_get),
                f"kbportal_upload_mb_s_{label}": mbps(kb_put), f"kbportal_download_mb_s_{label}": mbps(kb_get),
                f"upload_ratio_{label}": round(statistics.median(raw_put) / statistics.median(kb_put), 3),
                f"check_s_{label}": round(statistics.median(check_s), 3),
                f"download_ratio_{label}": round(statistics.median(raw_get) / statistics.median(kb_get), 3),
                f"kbportal_redirect_download_mb_s_{label}": mbps(kb_redirect_get),
                f"download_redirect_ratio_{label}": round(statistics.median(raw_get) / statistics.median(kb_redirect_get),
                                                          3),
            })
            for path in files:
                path.unlink()
        # The target covers the four default-path ratios; the redirect mode (an option for
        # S3 that browsers reach) is reported beside them: it costs a second round trip by design.
        required = ("upload_ratio_1mb", "download_ratio_1mb", "upload_ratio_20mb", "download_ratio_20mb")
        result["target"] = "upload/download ratio >= 0.7 for 1 MB and 20 MB"
        result["meets_target"] = all(result[k] >= 0.7 for k in required)
        result["redirect_meets_target"] = all(result[f"download_redirect_ratio_{s}"] >= 0.7 for s in ("1mb", "20mb"))
        print(json.dumps(result, indent=None if args.json else 2))
        for proc in (server, redirect_server):
            proc.terminate()
            proc.wait(timeout=20)
    finally:
        seaweed.stop_all_started_here()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
