"""Translated documents in a real browser, with tiny real Argos packages installed by the
CLI (a word-by-word model: "The partner guide" is "Die partner anleitung").

A German-speaking partner reads an English document that has no German variant: she is
told so, translates it herself and watches the progress, then reads the German title
marked machine-translated. Marketing reviews it; she then sees it as reviewed. Admins see
the installed packages and the pairs reachable through English."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from docfiles import make_docx
from tests.browser.pages import login_ok, logout

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
    page.get_by_test_id("review-save").click()
    expect(row.get_by_test_id("variant-kind-reviewed")).to_be_visible()
    logout(page)

    login_ok(page, PARTNER)
    page.goto(address)
    expect(page.get_by_test_id("document-title")).to_have_text("Der Partner-Leitfaden")
    expect(page.get_by_test_id("variant-kind-reviewed")).to_have_text(DE["variant.kind_reviewed"])


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
