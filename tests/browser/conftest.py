"""Browser tests: the real app in prod mode, driven by Playwright in Debian Chromium.

One app process per test session (the prod build takes ~20 s), on a free loopback
port, with its own data directory seeded with the demo data. Each test gets a fresh
browser context (no cookies, no local storage).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kbportal import runtime

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cli(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "kbportal.cli", *args], env=env, check=True, capture_output=True,
                   timeout=120)


UPLOAD_LIMIT_MB = 5
ARGOS_PAIRS = ("en-de", "de-en", "en-id")  # de->id, id->de... reachable through English


def _install_tiny_argos(env: dict[str, str], out_dir: Path) -> None:
    """Tiny real language packages (word-by-word model, tests/argos_models.py), installed the
    way an operator does, with the CLI, before the app starts."""
    from argos_models import build_packages

    for path in build_packages(out_dir, ARGOS_PAIRS).values():
        _cli(env, "translate", "install", str(path))


@pytest.fixture(scope="session")
def portal_data_dir(tmp_path_factory) -> Path:
    """The data directory (``KBPORTAL_DATA_DIR``) of the portal the browser tests use: a test
    that needs the CLI on the same data points it here."""
    return tmp_path_factory.mktemp("portal-data")


@pytest.fixture(scope="session")
def portal(tmp_path_factory, portal_data_dir) -> str:
    """Base URL of a running portal with demo data."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian Chromium is missing: run `make test` (it installs chromium) or apt-get install chromium")
    data_dir = portal_data_dir
    # The real default storage: the app starts the embedded SeaweedFS S3 server itself.
    # A small upload limit, so a test can show the browser refusing a larger file before sending it.
    env = {k: v for k, v in os.environ.items() if k != "KBPORTAL_STORAGE"} | {
        "KBPORTAL_DATA_DIR": str(data_dir), "KBPORTAL_MAX_UPLOAD_MB": str(UPLOAD_LIMIT_MB)}
    _cli(env, "seed", "--demo")
    _install_tiny_argos(env, tmp_path_factory.mktemp("argos"))
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "browser-app.log", "w")
    # `kbportal run`, as in production: embedded S3, the job worker (real queue), Reflex in prod mode.
    proc = subprocess.Popen([sys.executable, "-m", "kbportal.cli", "run", "--port", str(port)],
                            env=runtime.reflex_env(env | {"KBPORTAL_STORAGE": "s3", "KBPORTAL_JOBS": "queue"}),
                            cwd=runtime.PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    try:
        while True:
            if proc.poll() is not None:
                log.flush()
                pytest.fail(f"the app exited with {proc.returncode}:\n{(ARTIFACTS / 'browser-app.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/health", timeout=2) as resp:
                    if resp.status == 200:
                        with urllib.request.urlopen(f"{base}/login", timeout=5):
                            break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the app did not answer within 300 s; see test-artifacts/browser-app.log")
            time.sleep(1)
        yield base
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        from kbportal.storage import seaweed

        seaweed.stop(data_dir)  # the app started the embedded S3 server in its own session


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, portal, request):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=portal)
    context.set_default_timeout(20000)
    page = context.new_page()
    yield page
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report
