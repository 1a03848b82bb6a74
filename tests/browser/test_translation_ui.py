"""Translated documents in a real browser, with tiny real Argos packages installed by the
CLI (a word-by-word model: "The partner guide" is "Die partner anleitung").

A German-speaking partner reads an English document that has no German variant: she is
told so, translates it herself and watches the progress, then reads the German title
marked machine-translated. Marketing reviews it sentence by sentence; she then sees it as
reviewed and downloads the corrected file. A translation uploaded by people reaches her
marked as such; a translation that fails tells her so and offers to try again. Admins see
the installed packages and the pairs reachable through English."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from docfiles import make_docx
from tests.browser.pages import choose, login_ok, logout

pytestmark = pytest.mark.browser

LOCALES = Path(__file__).resolve().parents[2] / "locales"
EN = json.loads((LOCALES / "en.json").read_text(encoding="utf-8"))
DE = json.loads((LOCALES / "de.json").read_text(encoding="utf-8"))
TITLE = "The partner guide"
GERMAN_TITLE = "Die partner anleitung"
PARTNER = "anna@rheinland.example.com"  # Rheinland Distribution (EMEA), reads German


def _publish_english_docx(page: Page, path: Path) -> str:
    """Marketing publishes an English DOCX for EMEA; returns the document's address."""
    page.goto("/studio")
    page.get_by_test_id("studio-new").click()
    page.locator("#studio-upload input[type=file]").set_input_files(str(path))
    page.get_by_test_id("new-title").fill(TITLE)
    page.get_by_test_id("aud-region-EMEA").click()
    page.get_by_test_id("new-publish").click()
    page.get_by_test_id("new-submit").click()
    expect(page.get_by_test_id("document-title")).to_have_text(TITLE, timeout=60000)
    return page.url.split("?")[0].removeprefix(page.url.split("/documents/")[0])


def test_partner_translates_into_german_marketing_reviews_partner_sees_reviewed(page: Page, tmp_path):
    source = make_docx(tmp_path / "partner-guide.docx", ["The house is very small."])
    login_ok(page, "marketing@example.com")
    address = _publish_english_docx(page, source)
    expect(page.get_by_test_id("translations-card")).to_be_visible()
    expect(page.get_by_test_id("variants-empty")).to_be_visible()
    logout(page)

    login_ok(page, PARTNER)
    page.goto(address)
    expect(page.get_by_test_id("document-title")).to_have_text(TITLE)
    expect(page.get_by_test_id("variant-fallback")).to_contain_text(DE["variant.no_translation"])
    page.get_by_test_id("translate-mine").click()
    expect(page.get_by_test_id("translate-progress")).to_be_visible()
    expect(page.get_by_test_id("document-title")).to_have_text(GERMAN_TITLE, timeout=60000)
    expect(page.get_by_test_id("variant-kind-machine")).to_have_text(DE["variant.kind_machine"])
    expect(page.get_by_test_id("download-variant")).to_be_visible()
    expect(page.get_by_test_id("translations-card")).to_have_count(0)  # staff only
    # The original stays one click away.
    page.goto(address + "?lang=en")
    expect(page.get_by_test_id("document-title")).to_have_text(TITLE)
    logout(page)

    login_ok(page, "marketing@example.com")
    page.goto(address)
    row = page.get_by_test_id("variant-row-de")
    expect(row.get_by_test_id("variant-kind-machine")).to_be_visible()
    row.get_by_test_id("variant-review").click()
    expect(page.get_by_test_id("review-title")).to_have_value(GERMAN_TITLE)
    page.get_by_test_id("review-title").fill("Der Partner-Leitfaden")
    expect(page.get_by_test_id("segment-source")).to_have_text(["The house is very small."])
    page.get_by_test_id("segment-text").fill("Das Haus ist winzig.")
    page.get_by_test_id("review-title").click()  # leaving the sentence keeps the correction
    expect(page.get_by_test_id("segment-changed")).to_be_visible()
    page.get_by_test_id("segments-only-changed").click()
    expect(page.get_by_test_id("segment-source")).to_have_text(["The house is very small."])
    page.get_by_test_id("review-save").click()
    expect(row.get_by_test_id("variant-kind-reviewed")).to_be_visible()
    expect(page.get_by_test_id("translate-into")).to_be_enabled()  # making the file again is no new translation
    expect(row.get_by_test_id("variant-review")).to_be_visible(timeout=60000)  # the file is written again
    logout(page)

    login_ok(page, PARTNER)
    page.goto(address)
    expect(page.get_by_test_id("document-title")).to_have_text("Der Partner-Leitfaden")
    expect(page.get_by_test_id("variant-kind-reviewed")).to_have_text(DE["variant.kind_reviewed"])
    assert _docx_paragraphs(page, page.get_by_test_id("download-variant").get_attribute("href")) == [
        "Das Haus ist winzig."]
    # The library lists it under its German title, marked as a translation.
    page.goto("/library")
    card = page.get_by_test_id("doc-card").filter(has_text="Der Partner-Leitfaden")
    expect(card.get_by_test_id("doc-card-translated")).to_have_text("DE")


def _docx_paragraphs(page: Page, href: str) -> list[str]:
    import docx

    response = page.request.get(href)
    assert response.ok
    return [p.text for p in docx.Document(io.BytesIO(response.body())).paragraphs if p.text]


def _portal_env(data_dir: Path) -> dict[str, str]:
    """The environment of the CLI working on the running portal's data (``portal_data_dir``)."""
    return {k: v for k, v in os.environ.items() if k != "KBPORTAL_STORAGE"} | {
        "KBPORTAL_DATA_DIR": str(data_dir), "KBPORTAL_STORAGE": "s3"}


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


def test_staff_upload_a_german_translation_the_partner_reads_it_as_made_by_people(page: Page, tmp_path):
    source = make_docx(tmp_path / "price-guide.docx", ["The price is new."])
    german = make_docx(tmp_path / "preisleitfaden.docx", ["Der Preis ist neu."])
    login_ok(page, "marketing@example.com")
    address = _publish_english_docx(page, source)
    page.get_by_test_id("upload-translation").click()
    choose(page, "human-language", "Deutsch")
    page.locator("#variant-upload input[type=file]").set_input_files(str(german))
    page.get_by_test_id("human-submit").click()
    expect(page.get_by_test_id("variant-row-de").get_by_test_id("variant-kind-human")).to_be_visible()
    logout(page)

    login_ok(page, PARTNER)
    page.goto(address)
    expect(page.get_by_test_id("variant-kind-human")).to_have_text(DE["variant.kind_human"])
    assert _docx_paragraphs(page, page.get_by_test_id("download-variant").get_attribute("href")) == [
        "Der Preis ist neu."]


def test_a_failed_translation_says_so_and_offers_a_retry(page: Page, tmp_path, portal_data_dir):
    source = make_docx(tmp_path / "lost-guide.docx", ["The dog is big."])
    login_ok(page, "marketing@example.com")
    address = _publish_english_docx(page, source)
    logout(page)
    # A real cause: the source file is gone from the store (as after a storage accident).
    subprocess.run([sys.executable, "-c", DELETE_FILES, address.rstrip("/").rsplit("/", 1)[-1]],
                   env=_portal_env(portal_data_dir), check=True, capture_output=True, timeout=60)

    login_ok(page, PARTNER)
    page.goto(address)
    page.get_by_test_id("translate-mine").click()

    expect(page.get_by_test_id("translate-failed")).to_have_text(DE["variant.failed"], timeout=60000)
    expect(page.get_by_test_id("translate-retry")).to_be_visible()


def test_staff_read_why_a_translation_failed_with_its_details(page: Page, tmp_path, portal_data_dir):
    source = make_docx(tmp_path / "lost-manual.docx", ["The cat is small."])
    login_ok(page, "marketing@example.com")
    address = _publish_english_docx(page, source)
    subprocess.run([sys.executable, "-c", DELETE_FILES, address.rstrip("/").rsplit("/", 1)[-1]],
                   env=_portal_env(portal_data_dir), check=True, capture_output=True, timeout=60)
    page.goto(address)
    choose(page, "translate-language", "Deutsch")
    page.get_by_test_id("translate-into").click()

    why = EN["storage.not_found"].split("{key}")[0].strip()  # "The stored file" ... the key ... "is missing"
    toast = page.locator("[data-sonner-toast]").filter(has_text=why)
    expect(toast).to_be_visible(timeout=60000)
    expect(toast).not_to_contain_text("{")
    page.get_by_test_id("variant-row-de").get_by_test_id("variant-failed-badge").hover()
    tooltip = page.get_by_role("tooltip").filter(has_text=why)
    expect(tooltip).to_contain_text("lost-manual.docx")
    expect(tooltip).not_to_contain_text("{")


def test_admin_sees_installed_packages_and_pairs_through_english(page: Page):
    login_ok(page, "admin@example.com")
    page.get_by_test_id("nav-translation").click()
    expect(page.get_by_test_id("page-title")).to_have_text(EN["translation_admin.title"])
    for pair in ("en-de", "de-en", "en-id"):
        expect(page.get_by_test_id(f"package-row-{pair}")).to_be_visible()
    expect(page.get_by_test_id("pair-row-de-id")).to_contain_text(EN["translation_admin.via_english"])
    expect(page.get_by_test_id("pair-row-en-de")).to_contain_text(EN["translation_admin.direct"])


def test_partner_cannot_open_the_translation_admin_page(page: Page):
    login_ok(page, PARTNER)
    page.goto("/admin/translation")
    expect(page.get_by_test_id("nav-translation")).to_have_count(0)
    expect(page.get_by_test_id("package-row-en-de")).to_have_count(0)


def test_a_partner_updates_a_machine_translation_older_than_the_original(page: Page, tmp_path, portal_data_dir):
    login_ok(page, "marketing@example.com")
    address = _publish_english_docx(page, make_docx(tmp_path / "city-guide.docx", ["The city is big."]))
    logout(page)
    login_ok(page, PARTNER)
    page.goto(address)
    page.get_by_test_id("translate-mine").click()
    expect(page.get_by_test_id("variant-kind-machine")).to_be_visible(timeout=60000)
    newer = make_docx(tmp_path / "city-guide-2.docx", ["The city is new."])
    subprocess.run([sys.executable, "-m", "kbportal.cli", "doc", "version", "add",
                    address.rstrip("/").rsplit("/", 1)[-1], str(newer), "--publish", "--as", "marketing@example.com"],
                   env=_portal_env(portal_data_dir), check=True, capture_output=True, timeout=120)

    page.goto(address)
    expect(page.get_by_test_id("variant-stale")).to_contain_text(DE["variant.stale_notice"])
    page.get_by_test_id("variant-update").click()

    expect(page.get_by_test_id("variant-stale")).to_have_count(0, timeout=60000)
    assert _docx_paragraphs(page, page.get_by_test_id("download-variant").get_attribute("href")) == [
        "Die stadt ist neu."]
