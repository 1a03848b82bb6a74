"""How the Reflex app is started: environment for an offline build, and ``serve()``.

Reflex would download bun from GitHub; ``make`` installs bun from the npm registry
into ``.tools/`` and this module puts it on PATH. Reflex's own state lives in
``.tools/reflex`` so nothing is written to the home directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TOOLS_DIR = PROJECT_ROOT / ".tools"


def reflex_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment ``reflex run`` needs here (bun on PATH, no network checks)."""
    env = dict(os.environ)
    bin_dirs = [str(TOOLS_DIR / "bin"), str(Path(sys.executable).parent)]
    env["PATH"] = os.pathsep.join(bin_dirs + [env.get("PATH", "")])
    env.setdefault("REFLEX_DIR", str(TOOLS_DIR / "reflex"))
    env.setdefault("BUN_INSTALL_CACHE_DIR", str(TOOLS_DIR / "bun-cache"))
    env.setdefault("REFLEX_CHECK_LATEST_VERSION", "0")
    env.setdefault("REFLEX_TELEMETRY_ENABLED", "0")
    env.setdefault("GRANIAN_WORKERS", "1")
    env.setdefault("PYTHONUNBUFFERED", "1")
    if extra:
        env.update(extra)
    return env


def serve_command(port: int, host: str | None = None) -> list[str]:
    reflex = str(Path(sys.executable).parent / "reflex")
    command = [reflex, "run", "--env", "prod", "--single-port", "--frontend-port", str(port),
               "--backend-port", str(port), "--loglevel", "warning"]
    if host:
        command += ["--backend-host", host]
    return command


def start(port: int, extra_env: dict[str, str] | None = None, host: str | None = None,
          **popen_kwargs) -> subprocess.Popen:
    """Start the app in prod mode on ``port`` (frontend and backend on one port)."""
    env = reflex_env({"KBPORTAL_PORT": str(port), **(extra_env or {})})
    return subprocess.Popen(serve_command(port, host), cwd=PROJECT_ROOT, env=env, **popen_kwargs)


def serve(port: int, host: str | None = None) -> int:
    """Run the app in the foreground until interrupted; returns its exit code.

    With the embedded S3 store (``KBPORTAL_STORAGE=s3``, no ``KBPORTAL_S3_ENDPOINT``) the
    SeaweedFS server is made to run first, so the app finds it; it is stopped at exit only
    if this call started it (a server that was already running keeps running)."""
    from kbportal.config import get_settings
    from kbportal.storage import seaweed, uses_embedded_server

    import signal

    def _terminate(signum, _frame):  # SIGTERM (service managers, kill) ends as cleanly as Ctrl+C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    settings = get_settings()
    data_dir = settings.resolved_data_dir
    started_store = uses_embedded_server() and seaweed.ensure_running(data_dir).started_here
    worker: subprocess.Popen | None = None
    try:
        proc = start(port, host=host, start_new_session=True)
        try:
            while True:
                if settings.jobs == "queue" and (worker is None or worker.poll() is not None):
                    if worker is not None:
                        print(f"kbportal: the job worker exited ({worker.returncode}); starting it again",
                              file=sys.stderr)
                    worker = start_worker(start_new_session=True)
                try:
                    return proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    continue
        except KeyboardInterrupt:
            _stop_group(proc)
            return proc.returncode if proc.returncode is not None else 0
    finally:
        if worker is not None:
            _stop_group(worker, first_signal=signal.SIGINT, timeout=30)  # huey: SIGINT lets running jobs finish
        if started_store:
            seaweed.stop(data_dir)


def start_worker(**popen_kwargs) -> subprocess.Popen:
    """``kbportal worker``: runs queued jobs (file checks, indexing, conversions)."""
    return subprocess.Popen([sys.executable, "-m", "kbportal.cli", "worker"], cwd=PROJECT_ROOT,
                            env=reflex_env(), **popen_kwargs)


def _stop_group(proc: subprocess.Popen, timeout: float = 20.0, first_signal: int | None = None) -> None:
    """Stop a process and everything it started (Reflex: its granian and bun children)."""
    import os
    import signal

    try:
        os.killpg(proc.pid, first_signal or signal.SIGTERM)
        proc.wait(timeout=timeout)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
