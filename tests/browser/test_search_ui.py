"""Search in a real browser: live suggestions in the top bar, results with facets, and
never a hit the user may not open."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.pages import login_ok

pytestmark = pytest.mark.browser

PRICE_LIST = "Price list 2027 (EMEA)"  # demo: EMEA, gold and above


def test_top_bar_suggests_titles_while_typing_and_opens_the_results(page: Page):
    login_ok(page, "anna@rheinland.example.com")  # EMEA platinum
    page.get_by_test_id("global-search").fill("Price")

    expect(page.get_by_test_id("suggestion").filter(has_text=PRICE_LIST)).to_be_visible(timeout=15000)
    page.get_by_test_id("suggestion").filter(has_text=PRICE_LIST).click()
    expect(page.get_by_test_id("search-hit").filter(has_text=PRICE_LIST)).to_be_visible(timeout=15000)


def test_results_show_highlighted_snippets_and_a_facet_narrows_them(page: Page):
    login_ok(page, "anna@rheinland.example.com")
    page.goto("/search?q=router")
    hits = page.get_by_test_id("search-hit")
    expect(hits.first).to_be_visible(timeout=15000)
    expect(hits.first.locator("mark").first).to_be_visible()

    page.get_by_test_id("facet-doc_type-price_list").click()
    expect(page.get_by_test_id("search-hit")).to_have_count(1)
    expect(page.get_by_test_id("search-hit")).to_contain_text(PRICE_LIST)


def test_a_silver_partner_never_finds_the_gold_price_list(page: Page):
    login_ok(page, "lars@nordic.example.com")  # EMEA silver
    page.goto("/search?q=router")
    expect(page.get_by_test_id("search-total")).to_be_visible(timeout=15000)
    expect(page.get_by_test_id("search-hit").filter(has_text=PRICE_LIST)).to_have_count(0)
    page.get_by_test_id("global-search").fill("Price")
    page.wait_for_timeout(1500)
    expect(page.get_by_test_id("suggestion").filter(has_text=PRICE_LIST)).to_have_count(0)


def test_a_search_without_hits_shows_a_friendly_empty_state(page: Page):
    login_ok(page, "lars@nordic.example.com")
    page.goto("/search?q=xylophonequartz")
    expect(page.get_by_text("No results")).to_be_visible(timeout=15000)
