"""Opening untrusted files safely: type, soundness, text, page count, thumbnail, light PDF.

Everything that parses an upload runs in a child process
(``kbportal.services.extract_worker``) limited in CPU time (RLIMIT_CPU), wall time
(killed with its whole process group), address space (RLIMIT_AS) and output size,
with zip bombs refused while inflating. A hostile file costs at most those limits
and ends as a :class:`ValidationFailed` whose message tells the uploader what to do;
the web process never loads the file's structure.

``extract()`` is all-or-nothing (a rejected file raises). ``make_light_pdf()`` and
``pdf_first_page()`` (the thumbnail of a PDF made from an upload, e.g. LibreOffice's
copy of a Word file) are best effort: any failure just means "no light variant" or
"no thumbnail".
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from kbportal.services import extract_worker as worker
from kbportal.services.errors import ValidationFailed
from kbportal.services.sniff import KINDS, Kind

MB = 1024 * 1024
_CHILD_ENV = {"PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "HOME"}


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 60
    wall_seconds: float = 120.0
    memory_bytes: int = 1024 * MB
    max_output_bytes: int = 1024 * MB  # largest file the child may write (light PDF, text)
    max_inflated_bytes: int = 100 * MB  # all members of an Office zip together, inflated
    max_zip_entries: int = 10_000
    max_image_pixels: int = 60_000_000
    max_text_chars: int = 1_000_000
    thumbnail_seconds: float = 30.0
    convert_seconds: float = 60.0  # LibreOffice's PDF of a Word file, for its thumbnail
    light_max_side: int = 1600  # longest side of images in the light PDF, in pixels
    light_quality: int = 60  # their JPEG quality

    def with_(self, **changes) -> "Limits":
        return replace(self, **changes)


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Extracted:
    kind: Kind
    page_count: int
    text: str
    thumbnail: Path | None  # a PNG inside the caller's work dir
    encrypted: bool = False  # opened without a password but carries (owner) encryption

    @property
    def mime_type(self) -> str:
        return self.kind.mime_type


@dataclass(frozen=True)
class FirstPage:
    thumbnail: Path  # a PNG inside the caller's work dir
    page_count: int  # 0 when the pages could not be counted


@contextmanager
def workdir(base: Path | None = None) -> Iterator[Path]:
    """A private temporary directory, removed afterwards with everything in it."""
    if base is not None:
        base.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="extract-", dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _run_worker(mode: str, path: Path, work: Path, filename: str, limits: Limits) -> dict:
    """Run the child; its result dict, or a failure dict when it was killed or crashed."""
    (work / worker.RESULT).unlink(missing_ok=True)  # (other outputs of earlier runs stay: a thumbnail, say)
    # A minimal environment: no settings, credentials or tokens reach the code that parses the file.
    env = {k: v for k, v in os.environ.items() if k in _CHILD_ENV}
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
    env["OMP_NUM_THREADS"] = "1"
    stderr_path = work / "stderr.txt"
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kbportal.services.extract_worker", mode, str(path), str(work), filename,
             json.dumps(asdict(limits))],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, cwd=work, env=env,
            start_new_session=True, close_fds=True)
        try:
            returncode = proc.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return {"ok": False, "code": "doc.processing_timeout", "params": {}}
        finally:
            _kill_group(proc)  # nothing the child started may outlive it
    result_path = work / worker.RESULT
    if result_path.is_file():
        try:
            return json.loads(result_path.read_text(encoding="utf-8"))
        except ValueError:
            pass
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return {"ok": False, "code": "doc.processing_timeout", "params": {}}
    return {"ok": False, "code": "doc.unreadable", "params": {}, "returncode": returncode,
            "detail": _tail(stderr_path)}


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not ignorable
        pass


def _tail(path: Path, size: int = 2000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-size:].decode("utf-8", errors="replace")


def extract(path: Path, filename: str, work: Path, limits: Limits | None = None) -> Extracted:
    """Check and read the upload at ``path`` in a limited child; raises ValidationFailed
    (field "file") with the reason when the file cannot be accepted."""
    limits = limits or DEFAULT_LIMITS
    result = _run_worker("extract", Path(path), work, filename, limits)
    if not result.get("ok"):
        raise ValidationFailed(result.get("code") or "doc.unreadable", field="file", **(result.get("params") or {}))
    text_path = work / worker.TEXT
    text = text_path.read_text(encoding="utf-8") if text_path.is_file() else ""
    thumb = work / result["thumbnail"] if result.get("thumbnail") else None
    return Extracted(kind=KINDS[result["kind"]], page_count=int(result.get("page_count") or 0), text=text,
                     thumbnail=thumb if thumb is not None and thumb.is_file() else None,
                     encrypted=bool(result.get("encrypted")))


def make_light_pdf(path: Path, work: Path, limits: Limits | None = None) -> Path | None:
    """A smaller copy of the PDF at ``path`` (in ``work``), or None when it cannot be made
    or would not be smaller."""
    limits = limits or DEFAULT_LIMITS
    result = _run_worker("light", Path(path), work, "", limits)
    if not result.get("ok") or not result.get("light"):
        return None
    light = work / result["light"]
    if not light.is_file() or light.stat().st_size >= Path(path).stat().st_size:
        return None
    return light


def pdf_first_page(path: Path, work: Path, limits: Limits | None = None) -> FirstPage | None:
    """The first-page thumbnail (same size and renderer as an uploaded PDF's) and page
    count of a PDF the portal made from an upload, rendered in the limited child; None
    when no thumbnail can be made. ``work`` should be a directory of its own."""
    limits = limits or DEFAULT_LIMITS
    result = _run_worker("thumbnail", Path(path), work, "", limits)
    if not result.get("ok") or not result.get("thumbnail"):
        return None
    thumb = work / result["thumbnail"]
    if not thumb.is_file():
        return None
    return FirstPage(thumbnail=thumb, page_count=int(result.get("page_count") or 0))
