"""The LibreOffice listener pool: crashes, timeouts, recycling, fallback, clean shutdown."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cobrand_files import make_docx_with_linked_picture, make_long_docx, make_plain_docx_template
from kbportal.services.cobrand import ConverterPool, OneShotConverter
from kbportal.services.cobrand.converter import block_network, find_uno_python, group_pids
from kbportal.services.errors import KbError

import docfiles

pytest_plugins = ["cobrand_files"]


def _soffice_processes(marker: str) -> list[int]:
    """soffice processes whose command line mentions ``marker`` (a profile directory)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        if marker in cmd and ("soffice" in cmd or "uno_listener" in cmd):
            found.append(int(entry))
    return found


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("docs")
    return {"small": make_plain_docx_template(base / "small.docx", ["Hello {{partner_name}}"]),
            "long": make_long_docx(base / "long.docx", paragraphs=2500)}


@pytest.fixture(scope="module")
def fragile_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConverterPool]:
    """One listener of its own: these tests kill it."""
    pool = ConverterPool(1, base_dir=tmp_path_factory.mktemp("fragile"), job_timeout=60)
    pool.start()
    yield pool
    pool.close()


def test_pool_converts_in_parallel(cobrand_pool, docs, tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            cobrand_pool.convert(docs["small"], tmp_path / f"{i}.pdf")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert all((tmp_path / f"{i}.pdf").read_bytes().startswith(b"%PDF") for i in range(4))
    profiles = {lst.profile for lst in cobrand_pool.listeners()}
    assert len(profiles) == 2  # each listener has its own profile


def test_soffice_killed_mid_job_fails_clearly_and_pool_recovers(fragile_pool, docs, tmp_path: Path) -> None:
    listener = fragile_pool.listeners()[0]
    outcome: dict[str, BaseException | None] = {}

    def convert() -> None:
        try:
            fragile_pool.convert(docs["long"], tmp_path / "long.pdf")
            outcome["error"] = None
        except BaseException as exc:  # noqa: BLE001
            outcome["error"] = exc

    thread = threading.Thread(target=convert)
    thread.start()
    deadline = time.monotonic() + 20
    while not listener.busy and time.monotonic() < deadline:
        time.sleep(0.02)
    assert listener.busy
    time.sleep(0.5)
    pid = listener.soffice_pid()
    assert pid
    os.kill(pid, signal.SIGKILL)
    thread.join(60)
    error = outcome["error"]
    assert isinstance(error, KbError) and error.code == "cobrand.convert_failed"
    crashes = fragile_pool.stats.crashes
    assert crashes >= 1
    fragile_pool.convert(docs["small"], tmp_path / "after.pdf")  # the next job is served
    assert (tmp_path / "after.pdf").read_bytes().startswith(b"%PDF")
    assert listener.soffice_pid() not in (None, pid)


def test_timeout_kills_the_listener_and_pool_recovers(fragile_pool, docs, tmp_path: Path) -> None:
    listener = fragile_pool.listeners()[0]
    fragile_pool.convert(docs["small"], tmp_path / "warm.pdf")
    old = listener.soffice_pid()
    started = time.monotonic()
    with pytest.raises(KbError) as err:
        fragile_pool.convert(docs["long"], tmp_path / "long.pdf", timeout=1.0)
    assert time.monotonic() - started < 10
    assert err.value.code == "cobrand.convert_timeout" and err.value.params == {"seconds": 1}
    assert old is not None and not os.path.exists(f"/proc/{old}/stat") or _zombie(old)
    fragile_pool.convert(docs["small"], tmp_path / "after.pdf")
    assert (tmp_path / "after.pdf").read_bytes().startswith(b"%PDF")


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_listener_dead_while_idle_is_restarted_transparently(fragile_pool, docs, tmp_path: Path) -> None:
    listener = fragile_pool.listeners()[0]
    fragile_pool.convert(docs["small"], tmp_path / "a.pdf")
    starts = fragile_pool.stats.starts
    os.kill(listener.soffice_pid(), signal.SIGKILL)
    time.sleep(0.3)
    fragile_pool.convert(docs["small"], tmp_path / "b.pdf")  # no error: the job had not started
    assert (tmp_path / "b.pdf").read_bytes().startswith(b"%PDF")
    assert fragile_pool.stats.starts == starts + 1


def test_listener_recycled_after_n_jobs(tmp_path: Path, docs) -> None:
    with ConverterPool(1, max_jobs=2, base_dir=tmp_path / "lo") as pool:
        listener = pool.listeners()[0]
        seen = set()
        for i in range(5):
            pool.convert(docs["small"], tmp_path / f"{i}.pdf")
            seen.add(listener.generation)
        assert pool.stats.jobs == 5 and pool.stats.recycles == 2
        # jobs 1-2, 3-4 and 5 ran on three soffice processes, each started once
        assert seen == {1, 2, 3} and pool.stats.starts == 3
    assert _soffice_processes(str(tmp_path / "lo")) == []


def test_sequential_jobs_reuse_the_warm_listener_instead_of_starting_another(tmp_path: Path, docs) -> None:
    with ConverterPool(2, base_dir=tmp_path / "lo") as pool:
        for i in range(3):
            pool.convert(docs["small"], tmp_path / f"{i}.pdf")
        assert pool.stats.jobs == 3 and pool.stats.starts == 1
        assert [listener.running for listener in pool.listeners()].count(True) == 1


def test_close_leaves_no_process(tmp_path: Path, docs) -> None:
    pool = ConverterPool(2, base_dir=tmp_path / "lo2")
    pool.start()
    pool.convert(docs["small"], tmp_path / "x.pdf")
    groups = [lst.proc.pid for lst in pool.listeners()]
    assert _soffice_processes(str(tmp_path / "lo2"))
    pool.close()
    assert _soffice_processes(str(tmp_path / "lo2")) == []
    assert all(group_pids(g) == [] for g in groups)
    with pytest.raises(KbError) as err:
        pool.convert(docs["small"], tmp_path / "y.pdf")
    assert err.value.code == "cobrand.converter_unavailable"


def test_fallback_to_one_shot_when_no_listener_can_start(tmp_path: Path, docs) -> None:
    with ConverterPool(1, uno_python=str(tmp_path / "no-such-python"), base_dir=tmp_path / "lo3") as pool:
        pool.convert(docs["small"], tmp_path / "x.pdf")
        assert (tmp_path / "x.pdf").read_bytes().startswith(b"%PDF")
        assert pool.stats.fallbacks == 1
    assert _soffice_processes(str(tmp_path / "lo3")) == []


def test_one_shot_converter_timeout(tmp_path: Path, docs) -> None:
    converter = OneShotConverter(base_dir=tmp_path / "one")
    with pytest.raises(KbError) as err:
        converter.convert(docs["long"], tmp_path / "x.pdf", timeout=0.5)
    assert err.value.code == "cobrand.convert_timeout"
    assert _soffice_processes(str(tmp_path / "one")) == []
    converter.close()


def test_uno_python_found() -> None:
    assert find_uno_python() is not None  # Debian's python3-uno (scripts/system-packages.sh)


def test_document_libreoffice_cannot_open_fails_without_killing_the_listener(fragile_pool, docs,
                                                                              tmp_path: Path) -> None:
    bad = tmp_path / "bad.docx"
    bad.write_bytes(b"PK\x03\x04" + os.urandom(4000))
    fragile_pool.convert(docs["small"], tmp_path / "warm.pdf")
    pid = fragile_pool.listeners()[0].soffice_pid()
    with pytest.raises(KbError) as err:
        fragile_pool.convert(bad, tmp_path / "bad.pdf")
    assert err.value.code == "cobrand.convert_failed"
    fragile_pool.convert(docs["small"], tmp_path / "after.pdf")
    assert fragile_pool.listeners()[0].soffice_pid() == pid  # same soffice: a bad file is not a crash


# --------------------------------------------------------------------------- presentations


def _pdf_pages(pdf: Path) -> list[tuple[float, float]]:
    """(width, height) in points of every page of ``pdf``."""
    from pypdf import PdfReader

    return [(float(page.mediabox.width), float(page.mediabox.height)) for page in PdfReader(pdf).pages]


def test_a_presentation_through_the_pool_becomes_a_pdf_of_one_landscape_page_per_slide(cobrand_pool,
                                                                                      tmp_path: Path) -> None:
    deck = docfiles.make_slides_pptx(tmp_path / "deck.pptx", [f"Slide {i}" for i in range(1, 6)])

    cobrand_pool.convert(deck, tmp_path / "deck.pdf")

    pages = _pdf_pages(tmp_path / "deck.pdf")
    assert len(pages) == 5
    assert all(round(w) == 960 and round(h) == 540 for w, h in pages)  # 13.33 x 7.5 in: the slides, not A4/Letter


def test_the_one_shot_converter_exports_a_presentation_as_slides(tmp_path: Path) -> None:
    deck = docfiles.make_slides_pptx(tmp_path / "deck.pptx", ["One", "Two", "Three"])
    converter = OneShotConverter(base_dir=tmp_path / "one")
    try:
        converter.convert(deck, tmp_path / "deck.pdf")
    finally:
        converter.close()

    pages = _pdf_pages(tmp_path / "deck.pdf")
    assert len(pages) == 3 and all(w > h for w, h in pages)


def test_a_word_file_still_converts_to_its_pages(cobrand_pool, docs, tmp_path: Path) -> None:
    cobrand_pool.convert(docs["small"], tmp_path / "small.pdf")

    pages = _pdf_pages(tmp_path / "small.pdf")
    assert len(pages) == 1 and pages[0][0] < pages[0][1]  # a portrait text page


# --------------------------------------------------------------------------- linked content


class _Recorder:
    """A local HTTP server that answers every GET with a small PNG and records the paths asked for."""

    def __init__(self) -> None:
        import http.server
        import io

        from PIL import Image

        image = io.BytesIO()
        Image.new("RGB", (60, 40), (0, 0, 0)).save(image, "PNG")
        png, requests = image.getvalue(), []
        self.requests = requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                requests.append(f"{self.command} {self.path}")
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(png)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(png)

            do_GET = do_HEAD = do_OPTIONS = do_PROPFIND = _answer

            def log_message(self, *args) -> None:
                pass

        for port in range(3431, 3440):  # this suite's ports on the shared machine
            try:
                self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
                break
            except OSError:
                continue
        else:  # pragma: no cover - every port taken
            pytest.skip("no free port in 3431-3439")
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[_Recorder]:
    server = _Recorder()
    yield server
    server.close()


def test_the_recorder_sees_libreoffice_fetch_a_linked_picture_when_the_network_is_not_blocked(
        recorder, tmp_path: Path, monkeypatch) -> None:
    # The premise of the two tests below: LibreOffice 7.4 loads linked pictures over HTTP.
    from kbportal.services.cobrand import converter as lo

    monkeypatch.setattr(lo, "block_network", lambda profile: None)
    deck = docfiles.make_slides_pptx(tmp_path / "deck.pptx", ["Linked"], linked_image=f"{recorder.url}/open.png")
    converter = OneShotConverter(base_dir=tmp_path / "one")
    try:
        converter.convert(deck, tmp_path / "deck.pdf")
    finally:
        converter.close()

    assert "GET /open.png" in recorder.requests


def test_converting_through_the_pool_sends_no_request_for_linked_pictures(cobrand_pool, recorder,
                                                                          tmp_path: Path) -> None:
    docx = make_docx_with_linked_picture(tmp_path / "flyer.docx", f"{recorder.url}/word.png")
    deck = docfiles.make_slides_pptx(tmp_path / "deck.pptx", ["Linked"], linked_image=f"{recorder.url}/deck.png")

    cobrand_pool.convert(docx, tmp_path / "flyer.pdf")
    cobrand_pool.convert(deck, tmp_path / "deck.pdf")

    assert (tmp_path / "flyer.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "deck.pdf").read_bytes().startswith(b"%PDF")
    assert recorder.requests == []


def test_the_one_shot_converter_sends_no_request_for_linked_pictures(recorder, tmp_path: Path) -> None:
    deck = docfiles.make_slides_pptx(tmp_path / "deck.pptx", ["Linked"], linked_image=f"{recorder.url}/deck.png")
    converter = OneShotConverter(base_dir=tmp_path / "one")
    try:
        converter.convert(deck, tmp_path / "deck.pdf")
    finally:
        converter.close()

    assert (tmp_path / "deck.pdf").read_bytes().startswith(b"%PDF") and recorder.requests == []


def test_blocking_the_network_keeps_the_profiles_other_settings(tmp_path: Path) -> None:
    registry = tmp_path / "profile" / "user" / "registrymodifications.xcu"
    registry.parent.mkdir(parents=True)
    registry.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<oor:items xmlns:oor="http://openoffice.org/2001/registry">\n'
        '<item oor:path="/org.openoffice.Setup/Product"><prop oor:name="ooSetupLastVersion" oor:op="fuse">'
        '<value>7.4</value></prop></item>\n'
        '<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetProxyType" oor:op="fuse">'
        '<value>0</value></prop></item>\n</oor:items>\n')

    block_network(tmp_path / "profile")
    once = registry.read_text()
    block_network(tmp_path / "profile")

    assert registry.read_text() == once  # idempotent
    assert "ooSetupLastVersion" in once and once.count('oor:name="ooInetProxyType"') == 1
    assert '<prop oor:name="ooInetProxyType" oor:op="fuse"><value>2</value>' in once
    assert once.rstrip().endswith("</oor:items>")
