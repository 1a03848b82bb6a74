"""DOCX/PPTX -> PDF with LibreOffice: a pool of long-running listeners, and a one-shot fallback.

:class:`ConverterPool` keeps up to ``size`` listeners (one per core by default). A
listener is ``uno_listener.py`` run under a Python with the ``uno`` module (Debian's
``python3-uno`` for ``/usr/bin/python3``); it starts its own ``soffice`` with its own
profile directory (``-env:UserInstallation``; two soffice processes must never share a
profile) and talks to it over a private UNO pipe. Per job the pool:

* takes an idle listener (starting it if it is not running, restarting it if it died
  while idle: a job that never started is retried transparently),
* waits for the answer at most ``job_timeout`` seconds; on a timeout, or when soffice
  dies during the job, the listener's whole process group is killed and the job fails
  with :class:`KbError` (``cobrand.convert_timeout`` / ``cobrand.convert_failed``); the
  slot gets a fresh listener in the background, so the next job is served,
* recycles a listener after ``max_jobs`` jobs or when its processes use more than
  ``max_rss_mb`` (soffice's memory grows with every document).

When no listener can be started (no ``uno`` module, soffice fails to start) the pool
converts with a one-shot ``soffice --headless --convert-to pdf`` (:class:`OneShotConverter`)
and tries the listeners again after ``retry_after`` seconds.

Listeners are limited like every child that parses untrusted files: address space
(``memory_limit_mb``), file size, no core dumps, a minimal environment. They stop when
the pool is closed, at interpreter exit, and by themselves when the pool's process dies
(their stdin closes).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kbportal.services.errors import KbError

log = logging.getLogger(__name__)

LISTENER_SCRIPT = Path(__file__).with_name("uno_listener.py")
_CHILD_ENV = {"PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ"}
_uno_python_cache: dict[str, str | None] = {}


class Converter(Protocol):
    def convert(self, src: Path, dst: Path, *, timeout: float | None = None) -> None:
        """Write ``dst`` (a PDF) from the DOCX or PPTX ``src``; raise KbError on failure."""


# PDF export filter of the one-shot converter by the source's extension (the listener
# chooses by the loaded document's type): presentations need Impress's, everything else
# is converted as a text document, as DOCX always was.
_PRESENTATION_EXTENSIONS = frozenset({".pptx", ".ppt", ".odp", ".pps", ".ppsx"})


def pdf_export_filter(src: Path) -> str:
    """``impress_pdf_Export`` for a presentation file, ``writer_pdf_Export`` otherwise."""
    return "impress_pdf_Export" if Path(src).suffix.lower() in _PRESENTATION_EXTENSIONS else "writer_pdf_Export"


def find_soffice() -> str | None:
    """The soffice executable (``KBPORTAL_SOFFICE`` overrides), or None."""
    configured = os.environ.get("KBPORTAL_SOFFICE")
    if configured:
        return configured
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for path in ("/usr/lib/libreoffice/program/soffice", "/opt/libreoffice/program/soffice"):
        if os.access(path, os.X_OK):
            return path
    return None


def find_uno_python() -> str | None:
    """A Python that can ``import uno`` (``KBPORTAL_UNO_PYTHON`` overrides): Debian's
    /usr/bin/python3 with python3-uno, or the one bundled with LibreOffice."""
    configured = os.environ.get("KBPORTAL_UNO_PYTHON")
    candidates = [configured] if configured else [
        "/usr/bin/python3", "/usr/lib/libreoffice/program/python", "/opt/libreoffice/program/python"]
    for candidate in candidates:
        if candidate in _uno_python_cache:
            if _uno_python_cache[candidate]:
                return candidate
            continue
        ok = False
        if candidate and os.access(candidate, os.X_OK):
            try:
                ok = subprocess.run([candidate, "-c", "import uno"], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30).returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                ok = False
        _uno_python_cache[candidate] = candidate if ok else None
        if ok:
            return candidate
    return None


# LibreOffice fetches what a document links to while it loads and exports it (seen with
# 7.4: a DOCX or PPTX picture whose relationship is ``TargetMode="External"`` pointing at
# ``http://...`` is requested, OPTIONS then GET, by the listener and by --convert-to). A
# converted file must not make the server send requests (SSRF, "this document was opened"
# beacons, URLs steered by co-brand fields), so every profile the converters use sends
# HTTP(S) and FTP through a proxy that does not exist (connection refused at once, no
# DNS lookup): such links stay empty in the PDF. Written into the profile's user layer
# before soffice starts; soffice keeps the items when it rewrites the file.
BLOCKING_PROXY = ("127.0.0.1", 9)  # the "discard" port: nothing listens there
_REGISTRY = "registrymodifications.xcu"


def _blocking_proxy_items() -> list[str]:
    host, port = BLOCKING_PROXY
    values = {"ooInetProxyType": "2", "ooInetNoProxy": ""}  # 2: manual proxy settings, for every host
    for scheme in ("HTTP", "HTTPS", "FTP"):
        values[f"ooInet{scheme}ProxyName"] = host
        values[f"ooInet{scheme}ProxyPort"] = str(port)
    return [f'<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="{name}" oor:op="fuse">'
            f"<value>{value}</value></prop></item>" for name, value in values.items()]


def block_network(profile: Path) -> None:
    """Make the LibreOffice user profile ``profile`` (its ``-env:UserInstallation``) unable
    to fetch anything over the network (see ``BLOCKING_PROXY``); other settings in it stay."""
    user = Path(profile) / "user"
    user.mkdir(parents=True, exist_ok=True)
    path = user / _REGISTRY
    items = _blocking_proxy_items()
    try:
        current = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        current = ""
    if current and all(item in current for item in items):
        return
    names = [item.split('oor:name="', 1)[1].split('"', 1)[0] for item in items]
    kept = [line for line in current.splitlines() if "</oor:items>" not in line and not (
        "/org.openoffice.Inet/Settings" in line and any(f'oor:name="{name}"' in line for name in names))]
    if not any("<oor:items" in line for line in kept):
        kept = ['<?xml version="1.0" encoding="UTF-8"?>',
                '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
                'xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">']
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(kept + items + ["</oor:items>"]) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _child_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _CHILD_ENV}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    env["HOME"] = str(home)  # soffice writes nothing into the service account's home
    env["TMPDIR"] = str(home)
    env["SAL_USE_VCLPLUGIN"] = "svp"
    return env


_LIMIT_EXEC = (
    "import os, resource, sys\n"
    "mem, out = int(sys.argv[1]), int(sys.argv[2])\n"
    "if mem > 0: resource.setrlimit(resource.RLIMIT_AS, (mem, mem))\n"
    "if out > 0: resource.setrlimit(resource.RLIMIT_FSIZE, (out, out))\n"
    "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
    "os.execv(sys.argv[3], sys.argv[3:])\n"
)


def _limited(cmd: list[str], memory_limit_mb: int, max_output_mb: int) -> list[str]:
    """``cmd`` run with an address-space and file-size limit and no core dumps (set by a tiny
    exec wrapper: ``preexec_fn`` is not safe when threads are running)."""
    return [sys.executable, "-S", "-c", _LIMIT_EXEC, str(max(0, memory_limit_mb) * 1024 * 1024),
            str(max(0, max_output_mb) * 1024 * 1024), *cmd]


def _kill_group(proc: subprocess.Popen | None) -> None:
    """SIGKILL the process group of ``proc`` and wait until every member is gone (soffice.bin
    is a grandchild: waiting for ``proc`` alone would return before it has exited)."""
    if proc is None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not ignorable
        pass
    deadline = time.monotonic() + 5
    while group_pids(proc.pid) and time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            break
        time.sleep(0.02)


def group_pids(pgid: int) -> list[int]:
    """Processes whose process group is ``pgid`` (Linux /proc)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("latin-1")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(entry))
    return pids


def _rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            pass
    return total


class _LineReader:
    """Reads newline-terminated JSON from a pipe with a deadline."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""

    def read(self, timeout: float) -> dict | None:
        """The next JSON line; None on EOF; raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
            if len(self.buffer) > 1024 * 1024:
                return None  # not our protocol
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            value = json.loads(line.decode("utf-8", errors="replace"))
        except ValueError:
            return {"ok": False, "error": "bad answer", "fatal": True}
        return value if isinstance(value, dict) else {"ok": False, "error": "bad answer", "fatal": True}


class _ListenerDied(Exception):
    """The listener was gone before the job reached soffice: safe to retry."""


class _Listener:
    def __init__(self, pool: "ConverterPool", slot: int) -> None:
        self.pool = pool
        self.slot = slot
        self.profile = pool.base_dir / f"profile-{slot}"
        self.proc: subprocess.Popen | None = None
        self.reader: _LineReader | None = None
        self.jobs = 0
        self.busy = False
        self.recycle = False  # stop and restart before the next job
        self.generation = 0

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def pids(self) -> list[int]:
        return group_pids(self.proc.pid) if self.running else []

    def soffice_pid(self) -> int | None:
        """The soffice.bin process of this listener (for tests and diagnostics)."""
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() == "soffice.bin":
                        return pid
            except OSError:
                pass
        return None

    def start(self) -> None:
        pool = self.pool
        self.stop()
        for attempt in range(2):
            if attempt:  # a profile damaged by a killed soffice: start over with a fresh one
                shutil.rmtree(self.profile, ignore_errors=True)
            self.profile.mkdir(parents=True, exist_ok=True)
            block_network(self.profile)
            pipe_name = f"kbportal-{os.getpid()}-{self.slot}-{uuid.uuid4().hex[:8]}"
            stderr = open(self.profile / "listener.log", "ab")
            try:
                self.proc = subprocess.Popen(
                    _limited([pool.uno_python, str(LISTENER_SCRIPT), pool.soffice, str(self.profile), pipe_name,
                              str(pool.start_timeout)], pool.memory_limit_mb, pool.max_output_mb),
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, cwd=self.profile,
                    env=_child_env(self.profile), start_new_session=True, close_fds=True)
            finally:
                stderr.close()
            self.reader = _LineReader(self.proc.stdout.fileno())
            try:
                hello = self.reader.read(pool.start_timeout + 5)
            except TimeoutError:
                hello = None
            if hello and hello.get("ready"):
                self.jobs = 0
                self.generation += 1
                pool._count("starts")
                return
            log.warning("LibreOffice listener %s did not start: %s", self.slot, (hello or {}).get("error"))
            self.kill()
        raise OSError("LibreOffice listener did not start")

    def convert(self, src: Path, dst: Path, timeout: float) -> None:
        if not self.running:
            raise _ListenerDied
        request = json.dumps({"src": str(src), "dst": str(dst)}) + "\n"
        try:
            self.proc.stdin.write(request.encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.kill()
            raise _ListenerDied from None
        self.busy = True
        try:
            answer = self.reader.read(timeout)
        except TimeoutError:
            self.kill()
            self.pool._count("timeouts")
            raise KbError("cobrand.convert_timeout", seconds=int(round(timeout))) from None
        finally:
            self.busy = False
        self.jobs += 1
        if answer is None:  # the listener died during the job (soffice killed, out of memory, ...)
            self.kill()
            self.pool._count("crashes")
            raise KbError("cobrand.convert_failed")
        if not answer.get("ok"):
            if answer.get("retry"):  # soffice was already gone: the job never started
                self.kill()
                raise _ListenerDied
            if answer.get("fatal"):
                self.kill()
                self.pool._count("crashes")
            log.warning("LibreOffice could not convert %s: %s", src.name, answer.get("error"))
            raise KbError("cobrand.convert_failed")
        if not dst.is_file() or dst.stat().st_size == 0:
            raise KbError("cobrand.convert_failed")

    def needs_recycling(self) -> bool:
        if self.jobs >= self.pool.max_jobs:
            return True
        if self.pool.max_rss_mb > 0 and self.running:
            return _rss_bytes(self.pids()) > self.pool.max_rss_mb * 1024 * 1024
        return False

    def stop(self) -> None:
        """Graceful: close stdin (the listener stops soffice), then kill what is left."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.stdin.close()
            except OSError:
                pass
            try:
                proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        _kill_group(proc)
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass
        self.reader = None


@dataclass
class PoolStats:
    jobs: int = 0
    starts: int = 0
    recycles: int = 0
    timeouts: int = 0
    crashes: int = 0
    fallbacks: int = 0
    start_failures: int = 0


class ConverterPool:
    """A pool of LibreOffice listeners; see the module doc. Thread-safe; use as a context
    manager or call :meth:`close`."""

    def __init__(self, size: int | None = None, *, max_jobs: int = 200, job_timeout: float = 60.0,
                 start_timeout: float = 60.0, max_rss_mb: int = 1200, memory_limit_mb: int = 4096,
                 max_output_mb: int = 512, base_dir: Path | None = None, soffice: str | None = None,
                 uno_python: str | None = None, fallback: bool = True, retry_after: float = 60.0) -> None:
        self.size = max(1, size or os.cpu_count() or 1)
        self.max_jobs = max(1, max_jobs)
        self.job_timeout = job_timeout
        self.start_timeout = start_timeout
        self.max_rss_mb = max_rss_mb
        self.memory_limit_mb = memory_limit_mb
        self.max_output_mb = max_output_mb
        self.retry_after = retry_after
        self.soffice = soffice or find_soffice() or "soffice"
        self.uno_python = uno_python if uno_python is not None else find_uno_python()
        self._own_base = base_dir is None
        self.base_dir = Path(tempfile.mkdtemp(prefix="kbportal-lo-")) if base_dir is None else Path(base_dir)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._closed = False
        self._unavailable_until = 0.0 if self.uno_python else float("inf")
        self._listeners = [_Listener(self, i) for i in range(self.size)]
        # Last in, first out: a job gets the listener used most recently (warm, started),
        # so sequential jobs never wait for a second soffice to start; the others start
        # only when jobs overlap.
        self._idle: queue.LifoQueue[_Listener] = queue.LifoQueue()
        for listener in reversed(self._listeners):
            self._idle.put(listener)
        self._threads: list[threading.Thread] = []
        self.stats = PoolStats()
        self._fallback = OneShotConverter(soffice=self.soffice, base_dir=self.base_dir / "oneshot",
                                          job_timeout=job_timeout, memory_limit_mb=memory_limit_mb,
                                          max_output_mb=max_output_mb, size=self.size) if fallback else None
        atexit.register(self.close)

    # ------------------------------------------------------------------ public

    def start(self) -> "ConverterPool":
        """Start every listener now (in parallel) instead of on first use."""
        taken = []
        try:
            while True:
                taken.append(self._idle.get_nowait())
        except queue.Empty:
            pass
        threads = [threading.Thread(target=self._safe_start, args=(lst,), daemon=True) for lst in taken]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for lst in taken:
            self._idle.put(lst)
        return self

    def convert(self, src: Path, dst: Path, *, timeout: float | None = None) -> None:
        src, dst = Path(src).resolve(), Path(dst).resolve()
        if self._closed:
            raise KbError("cobrand.converter_unavailable")
        timeout = timeout or self.job_timeout
        if time.monotonic() < self._unavailable_until:
            return self._one_shot(src, dst, timeout)
        listener = self._idle.get()
        try:
            for _ in range(2):  # a listener found dead before the job started: restart and retry once
                if self._closed:
                    raise KbError("cobrand.converter_unavailable")
                if not listener.running:
                    try:
                        listener.start()
                    except OSError:
                        self._unavailable_until = time.monotonic() + self.retry_after
                        self._count("start_failures")
                        return self._one_shot(src, dst, timeout)
                try:
                    listener.convert(src, dst, timeout)
                    self._count("jobs")
                    if listener.needs_recycling():  # stopped and restarted in the background
                        self._count("recycles")
                        listener.recycle = True
                    return None
                except _ListenerDied:
                    continue
            raise KbError("cobrand.convert_failed")
        finally:
            self._release(listener)

    def close(self) -> None:
        """Stop every listener (also those starting in the background) and remove the profiles."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.close)
        for thread in list(self._threads):
            thread.join(timeout=self.start_timeout + 10)
        for listener in self._listeners:
            listener.stop()
        if self._fallback is not None:
            self._fallback.close()
        if self._own_base:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> "ConverterPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def listeners(self) -> list[_Listener]:
        return list(self._listeners)

    def all_pids(self) -> list[int]:
        return [pid for listener in self._listeners for pid in listener.pids()]

    # ------------------------------------------------------------------ internals

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self.stats, name, getattr(self.stats, name) + 1)

    def _safe_start(self, listener: _Listener) -> None:
        if self._closed or listener.running:
            return
        try:
            listener.start()
        except OSError:
            self._unavailable_until = time.monotonic() + self.retry_after
            self._count("start_failures")
        if self._closed:
            listener.kill()

    def _release(self, listener: _Listener) -> None:
        """Back to the idle queue. A listener to recycle, or one that died, is stopped and
        restarted in the background first: the job that triggered it does not wait, and the
        next job does not wait for soffice to start when another listener is idle."""
        if self._closed or (listener.running and not listener.recycle) or \
                (not listener.running and time.monotonic() < self._unavailable_until):
            self._idle.put(listener)
            return

        def restart() -> None:
            try:
                listener.stop()
                listener.recycle = False
                self._safe_start(listener)
            finally:
                self._idle.put(listener)
                with self._lock:
                    if threading.current_thread() in self._threads:
                        self._threads.remove(threading.current_thread())

        thread = threading.Thread(target=restart, name=f"lo-restart-{listener.slot}", daemon=True)
        with self._lock:
            if self._closed:
                self._idle.put(listener)
                return
            self._threads.append(thread)
        thread.start()

    def _one_shot(self, src: Path, dst: Path, timeout: float) -> None:
        if self._fallback is None:
            raise KbError("cobrand.converter_unavailable")
        self._count("fallbacks")
        self._fallback.convert(src, dst, timeout=timeout)


class OneShotConverter:
    """``soffice --headless --convert-to pdf`` per document: slow (1-2 s warm) but needs no
    UNO. Each concurrent conversion gets its own profile directory. The PDF export filter
    follows the source's extension (:func:`pdf_export_filter`)."""

    def __init__(self, *, soffice: str | None = None, base_dir: Path | None = None, job_timeout: float = 120.0,
                 memory_limit_mb: int = 4096, max_output_mb: int = 512, size: int | None = None) -> None:
        self.soffice = soffice or find_soffice() or "soffice"
        self._own_base = base_dir is None
        self.base_dir = Path(tempfile.mkdtemp(prefix="kbportal-lo1-")) if base_dir is None else Path(base_dir)
        self.job_timeout = job_timeout
        self.memory_limit_mb = memory_limit_mb
        self.max_output_mb = max_output_mb
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._profiles: queue.Queue[Path] = queue.Queue()
        for i in range(max(1, size or os.cpu_count() or 1)):
            self._profiles.put(self.base_dir / f"profile-{i}")

    def convert(self, src: Path, dst: Path, *, timeout: float | None = None) -> None:
        src, dst = Path(src).resolve(), Path(dst).resolve()
        timeout = timeout or self.job_timeout
        if not (shutil.which(self.soffice) or os.access(self.soffice, os.X_OK)):
            raise KbError("cobrand.converter_unavailable")
        profile = self._profiles.get()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        out_dir = Path(tempfile.mkdtemp(prefix="out-", dir=self.base_dir))
        try:
            profile.mkdir(parents=True, exist_ok=True)
            block_network(profile)
            with open(profile / "oneshot.log", "ab") as logf:
                proc = subprocess.Popen(
                    _limited([shutil.which(self.soffice) or self.soffice, "--headless", "--invisible",
                              "--nocrashreport", "--nodefault", "--nologo", "--nofirststartwizard", "--norestore",
                              "--nolockcheck", f"-env:UserInstallation={profile.resolve().as_uri()}",
                              "--convert-to", f"pdf:{pdf_export_filter(src)}", "--outdir", str(out_dir), str(src)],
                             self.memory_limit_mb, self.max_output_mb),
                    stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, cwd=out_dir, env=_child_env(profile),
                    start_new_session=True, close_fds=True)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    raise KbError("cobrand.convert_timeout", seconds=int(round(timeout))) from None
                finally:
                    _kill_group(proc)
            produced = out_dir / (src.stem + ".pdf")
            if proc.returncode != 0 or not produced.is_file() or produced.stat().st_size == 0:
                raise KbError("cobrand.convert_failed")
            shutil.move(str(produced), str(dst))
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)
            self._profiles.put(profile)

    def close(self) -> None:
        if self._own_base:
            shutil.rmtree(self.base_dir, ignore_errors=True)


_default_pool: ConverterPool | None = None
_default_lock = threading.Lock()


def default_pool() -> ConverterPool:
    """The process-wide pool (created on first use, closed at exit)."""
    global _default_pool
    with _default_lock:
        if _default_pool is None or _default_pool.closed:
            _default_pool = ConverterPool()
        return _default_pool
