"""The document repository in a real browser: marketing publishes, partners download
exactly what their region and tier allow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from docfiles import make_pdf
from tests.browser.pages import login_ok, logout

pytestmark = pytest.mark.browser

LOCALES = Path(__file__).resolve().parents[2] / "locales"
EN = json.loads((LOCALES / "en.json").read_text(encoding="utf-8"))
ID = json.loads((LOCALES / "id.json").read_text(encoding="utf-8"))
TITLE = "APAC Gold Launch Kit"


def _upload_new_document(page: Page, pdf: Path) -> None:
    page.goto("/studio")
    page.get_by_test_id("studio-new").click()
    page.locator("#studio-upload input[type=file]").set_input_files(str(pdf))
    page.get_by_test_id("new-title").fill(TITLE)
    page.get_by_test_id("aud-region-APAC").click()
    page.get_by_test_id("aud-min-tier").click()
    page.get_by_role("option", name=EN["tier.gold"], exact=True).click()
    page.get_by_test_id("new-submit").click()
    expect(page.get_by_test_id("document-title")).to_have_text(TITLE, timeout=60000)


def _upload_new_version(page: Page, pdf: Path, note: str) -> None:
    page.get_by_test_id("new-version").click()
    page.locator("#version-upload input[type=file]").set_input_files(str(pdf))
    page.get_by_test_id("version-note").fill(note)
    page.get_by_test_id("version-upload-submit").click()
    expect(page.get_by_test_id("version-row").filter(has_text=note)).to_be_visible(timeout=60000)


def test_marketing_publishes_v2_gold_apac_partner_downloads_it_silver_emea_cannot_find_it(page: Page, tmp_path):
    v1 = make_pdf(tmp_path / "launch-kit.pdf", ["Launch kit, first edition"])
    v2 = make_pdf(tmp_path / "launch-kit-v2.pdf", ["Launch kit, second edition with new pricing"])

    login_ok(page, "marketing@example.com")
    _upload_new_document(page, v1)
    _upload_new_version(page, v2, "New pricing for Q3")
    page.get_by_test_id("version-row").filter(has_text="New pricing for Q3").get_by_test_id("version-publish").click()
    expect(page.get_by_test_id("version-row").filter(has_text="New pricing for Q3")).to_contain_text(
        EN["status.published"])
    document_url = page.url
    logout(page)

    login_ok(page, "budi@nusantara.example.com")  # PT Nusantara: APAC, gold
    page.goto("/library")
    card = page.get_by_test_id("doc-card").filter(has_text=TITLE)
    expect(card).to_be_visible()
    expect(page.get_by_test_id("doc-card").filter(has_text=ID["status.published"])).to_have_count(0)  # staff-only
    card.click()
    expect(page.get_by_test_id("document-title")).to_have_text(TITLE)
    with page.expect_download() as download_info:
        page.get_by_test_id("download-original").click()
    download = download_info.value
    assert download.suggested_filename == "launch-kit-v2.pdf"
    assert Path(download.path()).read_bytes() == v2.read_bytes()
    logout(page)

    login_ok(page, "wei@dragongate.example.com")  # Dragon Gate: APAC, silver
    page.goto("/library")
    expect(page.get_by_test_id("doc-card").filter(has_text=TITLE)).to_have_count(0)
    page.goto(document_url)
    expect(page.get_by_test_id("not-found")).to_be_visible()
    logout(page)

    login_ok(page, "lars@nordic.example.com")  # Nordic Channel: EMEA, silver
    page.goto("/library")
    expect(page.get_by_test_id("doc-card").filter(has_text=TITLE)).to_have_count(0)
    response = page.request.get(document_url.replace("/documents/", "/api/documents/").rstrip("/") + "/download")
    assert response.status == 404


def test_partner_cannot_open_the_studio(page: Page):
    login_ok(page, "siti@nusantara.example.com")
    expect(page.get_by_test_id("nav-studio")).to_have_count(0)
    page.goto("/studio")
    expect(page.get_by_test_id("not-found")).to_be_visible()


def test_a_file_the_background_check_rejects_is_explained_in_the_upload_dialog(page: Page, tmp_path):
    from docfiles import make_encrypted_pdf

    locked = make_encrypted_pdf(tmp_path / "locked.pdf")
    login_ok(page, "marketing@example.com")
    page.goto("/studio")
    page.get_by_test_id("studio-new").click()
    page.locator("#studio-upload input[type=file]").set_input_files(str(locked))
    page.get_by_test_id("new-title").fill("Locked brochure")
    page.get_by_test_id("new-submit").click()

    expect(page.get_by_text(EN["doc.encrypted_pdf"])).to_be_visible(timeout=60000)
    page.goto("/studio")
    expect(page.get_by_test_id("doc-card").filter(has_text="Locked brochure")).to_have_count(0)  # nothing kept


def test_a_file_over_the_upload_limit_is_refused_by_the_browser_before_anything_is_sent(page: Page, tmp_path):
    from tests.browser.conftest import UPLOAD_LIMIT_MB

    big = tmp_path / "huge.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * ((UPLOAD_LIMIT_MB + 1) * 1024 * 1024))
    login_ok(page, "marketing@example.com")
    page.goto("/studio")
    page.get_by_test_id("studio-new").click()
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if "/_upload" in request.url else None)
    page.locator("#studio-upload input[type=file]").set_input_files(str(big))

    expect(page.get_by_test_id("upload-error")).to_have_text(
        EN["upload.too_large"].replace("{max_mb}", str(UPLOAD_LIMIT_MB)))
    expect(page.get_by_test_id("studio-upload").get_by_text("huge.pdf")).to_have_count(0)  # not kept as chosen
    assert sent == []


@pytest.mark.parametrize("announced", [True, False], ids=["declared-length", "chunked"])
def test_the_server_refuses_an_upload_over_the_limit_while_it_arrives(portal, announced):
    """Any client (not only the studio's drop zone): Reflex's upload endpoint never spools it."""
    import socket
    from urllib.parse import urlsplit

    from tests.browser.conftest import UPLOAD_LIMIT_MB

    from kbportal.ui.state.studio import StudioState

    handler = f"{StudioState.get_full_name()}.create"  # a real upload handler: the endpoint reads the body
    target = urlsplit(portal)
    size = (UPLOAD_LIMIT_MB + 2) * 1024 * 1024
    length = f"Content-Length: {size}" if announced else "Transfer-Encoding: chunked"
    head = (f"POST /_upload HTTP/1.1\r\nHost: {target.netloc}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            f"Accept-Language: id\r\nreflex-client-token: {'t' * 36}\r\nreflex-event-handler: {handler}\r\n"
            f"{length}\r\n\r\n").encode()
    part_head = b'--x\r\nContent-Disposition: form-data; name="files"; filename="big.pdf"\r\n' \
        b"Content-Type: application/pdf\r\n\r\n"
    chunk = b"0" * (256 * 1024)
    with socket.create_connection((target.hostname, target.port), timeout=30) as conn:
        conn.sendall(head)
        try:
            for n in range(0 if announced else size // len(chunk)):  # declared: the headers alone get the answer
                data = (part_head if n == 0 else b"") + chunk
                conn.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused while sending: the answer is already there
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            part = conn.recv(65536)
            if not part:
                break
            answer += part
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert f"{UPLOAD_LIMIT_MB} MB".encode() in answer
