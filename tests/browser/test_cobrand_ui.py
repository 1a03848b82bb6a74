"""Co-branding in a real browser: a partner admin brands the organisation, a partner user
turns the demo template into a PDF, sees it made and downloads it; another organisation
cannot open it. The live preview follows the form, or says it cannot be made."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cobrand_files import make_logo, make_plain_docx_template
from tests.browser.pages import choose, login_ok, logout

pytestmark = pytest.mark.browser

LOCALES = Path(__file__).resolve().parents[2] / "locales"
EN = json.loads((LOCALES / "en.json").read_text(encoding="utf-8"))
ID = json.loads((LOCALES / "id.json").read_text(encoding="utf-8"))  # Budi reads Indonesian
COMPANY = "Nusantara Digital Partner Co"
TEMPLATE = "X200 launch flyer (co-brand template)"  # seeded by demo_documents


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def _brand(page: Page, logo: Path) -> None:
    """Budi (partner admin of PT Nusantara) sets the company name and uploads a logo."""
    login_ok(page, "budi@nusantara.example.com")
    page.goto("/branding")
    name = page.get_by_test_id("branding-partner_name")
    expect(name).to_be_editable()
    name.fill(COMPANY)
    page.locator("#logo-upload input[type=file]").set_input_files(str(logo))
    seeded_logo = page.get_by_test_id("branding-logo").get_attribute("src")  # the demo seeds a logo
    page.get_by_test_id("branding-save").click()
    expect(page.get_by_test_id("branding-logo")).not_to_have_attribute("src", seeded_logo or "", timeout=30000)
    page.reload()
    expect(page.get_by_test_id("branding-partner_name")).to_have_value(COMPANY)
    expect(page.get_by_test_id("branding-logo")).to_be_visible()
    logout(page)


def test_partner_brands_generates_previews_and_downloads_another_org_gets_404(page: Page, tmp_path):
    logo = tmp_path / "logo.png"
    logo.write_bytes(make_logo((320, 160)))
    _brand(page, logo)

    login_ok(page, "siti@nusantara.example.com")  # partner user of PT Nusantara
    page.goto("/branding")
    expect(page.get_by_test_id("branding-read-only")).to_be_visible()
    expect(page.get_by_test_id("branding-save")).to_have_count(0)

    page.goto("/cobrand")
    page.get_by_test_id("template-card").filter(has_text=TEMPLATE).get_by_test_id("template-use").click()
    expect(page.get_by_test_id("field-partner_name")).to_have_value(COMPANY)  # from the profile
    page.get_by_test_id("field-event_date").fill("12 March 2027")
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("generate-progress")).to_be_visible()
    expect(page.get_by_test_id("result-card")).to_be_visible(timeout=120000)
    preview = page.get_by_test_id("result-preview")
    expect(preview).to_be_visible()
    page.wait_for_function("el => el.complete && el.naturalWidth > 100", arg=preview.element_handle(), timeout=30000)

    with page.expect_download() as caught:
        page.get_by_test_id("result-download").click()
    data = Path(caught.value.path()).read_bytes()
    assert data.startswith(b"%PDF")
    text = _pdf_text(data)
    assert COMPANY in text and "12 March 2027" in text and "{{" not in text

    expect(page.get_by_test_id("history-row").filter(has_text=COMPANY)).to_be_visible()
    href = page.get_by_test_id("history-download").first.get_attribute("href")
    generated_url = re.sub(r"^https?://[^/]+", "", href or "")
    assert re.fullmatch(r"/api/cobrand/\d+/download", generated_url)
    assert page.request.get(generated_url).status == 200
    logout(page)

    login_ok(page, "mike@greatlakes.example.com")  # another organisation
    assert page.request.get(generated_url).status == 404
    assert page.request.get(generated_url.replace("/download", "/preview.png")).status == 404
    page.goto("/cobrand")
    expect(page.get_by_test_id("history-row")).to_have_count(0)
    expect(page.get_by_test_id("empty-state").filter(has_text=EN["cobrand.no_history_title"])).to_be_visible()


def test_staff_pick_the_organisation_whose_branding_to_try(page: Page):
    login_ok(page, "marketing@example.com")
    page.goto("/cobrand")
    expect(page.get_by_test_id("cobrand-no-org")).to_be_visible()
    page.get_by_test_id("template-card").filter(has_text=TEMPLATE).get_by_test_id("template-use").click()
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("form-error")).to_have_text(EN["cobrand.no_organisation"])

    choose(page, "cobrand-org", "Nordic Channel AB")
    expect(page.get_by_test_id("field-partner_name")).to_have_value("Nordic Channel AB")
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("result-card")).to_be_visible(timeout=120000)
    expect(page.get_by_test_id("result-title")).to_contain_text("Nordic Channel AB")

    page.goto("/branding")
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    choose(page, "branding-org", "Nordic Channel AB")
    expect(page.get_by_test_id("branding-partner_name")).to_have_value("Nordic Channel AB")
    expect(page.get_by_test_id("branding-save")).to_have_count(0)  # marketing reads, admins edit


def test_typing_in_the_form_updates_the_live_preview_of_page_one(page: Page):
    login_ok(page, "budi@nusantara.example.com")
    page.goto("/cobrand")
    page.get_by_test_id("template-card").filter(has_text=TEMPLATE).get_by_test_id("template-use").click()
    preview = page.get_by_test_id("live-preview")  # rendered at once for the picked template
    expect(preview).to_be_visible(timeout=60000)
    page.wait_for_function("el => el.complete && el.naturalWidth > 100", arg=preview.element_handle(), timeout=30000)
    before = preview.get_attribute("src")

    page.get_by_test_id("field-event_date").press_sequentially("12 March", delay=40)

    expect(preview).not_to_have_attribute("src", before or "", timeout=60000)
    expect(page.get_by_test_id("preview-updating")).to_have_count(0, timeout=30000)
    page.wait_for_function("el => el.complete && el.naturalWidth > 100", arg=preview.element_handle(), timeout=30000)
    assert page.request.get(preview.get_attribute("src") or "").status == 200  # this session's own draft


LOST_TEMPLATE = "Lost flyer (co-brand template)"


def _publish_docx_template(page: Page, path: Path) -> str:
    """Marketing publishes a Word co-brand template for every region; returns its document id."""
    login_ok(page, "marketing@example.com")
    page.goto("/studio")
    page.get_by_test_id("studio-new").click()
    page.locator("#studio-upload input[type=file]").set_input_files(str(path))
    page.get_by_test_id("new-title").fill(LOST_TEMPLATE)
    choose(page, "new-type", EN["doctype.template"])
    page.get_by_test_id("aud-all-regions").click()
    page.get_by_test_id("new-publish").click()
    page.get_by_test_id("new-submit").click()
    expect(page.get_by_test_id("document-title")).to_have_text(LOST_TEMPLATE, timeout=60000)
    doc_id = page.url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    logout(page)
    return doc_id


DELETE_FILES = """
import sys
from sqlmodel import select
from kbportal.db import session_scope
from kbportal.models import DocumentVersion
from kbportal.storage import get_blob_store
with session_scope() as session:
    for v in session.exec(select(DocumentVersion).where(DocumentVersion.document_id == int(sys.argv[1]))):
        get_blob_store().delete_version(v.storage_key, v.storage_version_id)
"""


def _delete_stored_files(data_dir: Path, doc_id: str) -> None:
    """Remove a document's files from the running portal's store (its S3 server and read cache)."""
    env = {k: v for k, v in os.environ.items() if k != "KBPORTAL_STORAGE"} | {
        "KBPORTAL_DATA_DIR": str(data_dir), "KBPORTAL_STORAGE": "s3"}
    done = subprocess.run([sys.executable, "-c", DELETE_FILES, doc_id], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]


def _wait_until_usable(page: Page, title: str) -> None:
    """The co-brand page lists the template once its upload check has found the fields (a job)."""
    cards = page.get_by_test_id("template-card")
    deadline = time.monotonic() + 90
    page.goto("/cobrand")
    while True:
        expect(cards.first).to_be_visible()  # the page is there (the demo templates)
        if cards.filter(has_text=title).count():
            return
        assert time.monotonic() < deadline, f"{title} did not become usable"
        time.sleep(1)
        page.reload()


def test_a_preview_that_cannot_be_made_says_so_instead_of_an_image(page: Page, tmp_path, portal_data_dir):
    template = make_plain_docx_template(tmp_path / "lost-flyer.docx",
                                        ["Welcome, {{partner_name}}!", "Launch event on {{event_date}}"])
    doc_id = _publish_docx_template(page, template)
    login_ok(page, "budi@nusantara.example.com")
    _wait_until_usable(page, LOST_TEMPLATE)  # not opened yet: no preview of it is cached
    # A real cause: the template's file is gone from the store (as after a storage accident).
    _delete_stored_files(portal_data_dir, doc_id)

    page.get_by_test_id("template-card").filter(has_text=LOST_TEMPLATE).get_by_test_id("template-use").click()

    expect(page.get_by_test_id("preview-error")).to_have_text(ID["cobrand.draft_preview_failed"], timeout=60000)
    expect(page.get_by_test_id("live-preview")).to_have_count(0)
    expect(page.get_by_test_id("preview-updating")).to_have_count(0)
    expect(page.get_by_test_id("field-event_date")).to_be_editable()  # the form keeps working
    expect(page.get_by_test_id("generate")).to_be_enabled()
