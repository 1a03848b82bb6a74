"""The admin's System page in a real browser (real worker, real queue): index status,
a rebuild followed to its end, automatic refresh, and who sees the page and its link."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.pages import login_ok

pytestmark = pytest.mark.browser

EN = json.loads((Path(__file__).resolve().parents[2] / "locales" / "en.json").read_text(encoding="utf-8"))
ADMIN = "admin@example.com"
MARKETING = "marketing@example.com"
PARTNER_ADMIN = "budi@nusantara.example.com"
PARTNER_USER = "anna@rheinland.example.com"


def open_system_page(page: Page) -> None:
    login_ok(page, ADMIN)
    page.get_by_test_id("nav-system").click()
    expect(page.get_by_test_id("index-card")).to_be_visible(timeout=15000)


def test_admin_opens_the_system_page_from_the_sidebar_and_sees_the_search_index(page: Page):
    open_system_page(page)

    assert page.url.endswith("/admin/system")
    expect(page.get_by_test_id("index-health")).to_have_attribute("data-health", "ok", timeout=30000)
    expect(page.get_by_test_id("index-entries")).not_to_have_text("0", timeout=30000)  # the demo documents
    expect(page.get_by_test_id("storage-kind")).to_have_text(EN["system.storage_embedded"])
    expect(page.get_by_test_id("cache-usage")).to_be_visible()


def test_rebuilding_the_index_shows_progress_and_ends_healthy(page: Page):
    open_system_page(page)

    page.get_by_test_id("system-reindex").click()

    expect(page.get_by_test_id("rebuild-progress")).to_be_visible()
    expect(page.get_by_text(EN["system.rebuilt_toast"].split(":")[0])).to_be_visible(timeout=60000)
    expect(page.get_by_test_id("rebuild-progress")).to_have_count(0)
    expect(page.get_by_test_id("index-health")).to_have_attribute("data-health", "ok")
    expect(page.get_by_test_id("index-rebuilt")).not_to_have_text(EN["system.never"])


def test_the_page_refreshes_itself_while_it_is_open(page: Page):
    open_system_page(page)
    updated = page.get_by_test_id("system-updated")
    first = updated.inner_text()

    expect(updated).not_to_have_text(first, timeout=15000)


@pytest.mark.parametrize("email", [PARTNER_USER, PARTNER_ADMIN, MARKETING])
def test_anyone_but_an_admin_going_to_the_system_page_gets_the_not_found_page(page: Page, email: str):
    login_ok(page, email)
    page.goto("/admin/system")

    expect(page.get_by_test_id("not-found")).to_be_visible()
    expect(page.get_by_test_id("index-card")).to_have_count(0)


def test_a_partner_sees_search_in_the_sidebar_but_not_system(page: Page):
    login_ok(page, PARTNER_USER)

    expect(page.get_by_test_id("nav-search")).to_be_visible()
    expect(page.get_by_test_id("nav-system")).to_have_count(0)
    page.get_by_test_id("nav-search").click()
    expect(page).to_have_url(re.compile(r"/search$"))


def test_the_admin_sees_both_search_and_system_in_the_sidebar(page: Page):
    login_ok(page, ADMIN)

    expect(page.get_by_test_id("nav-search")).to_be_visible()
    expect(page.get_by_test_id("nav-system")).to_be_visible()
