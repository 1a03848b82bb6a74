"""The app shell in a real browser: sign-in, greeting, admin pages, language, 404."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.pages import choose, login, login_ok, logout

pytestmark = pytest.mark.browser

LOCALES = Path(__file__).resolve().parents[2] / "locales"
ID = json.loads((LOCALES / "id.json").read_text(encoding="utf-8")) if (LOCALES / "id.json").exists() else {}
EN = json.loads((LOCALES / "en.json").read_text(encoding="utf-8"))


def test_partner_signs_in_and_is_greeted_with_organisation_region_and_tier(page: Page):
    login_ok(page, "mike@greatlakes.example.com")
    expect(page.get_by_test_id("greeting")).to_contain_text("Mike Johnson")
    expect(page.get_by_test_id("greeting-org")).to_contain_text("Great Lakes IT Solutions Inc.")
    expect(page.get_by_test_id("home-region")).to_have_text("NA")
    expect(page.get_by_test_id("home-tier")).to_have_text(EN["tier.gold"])


def test_wrong_password_shows_an_error_and_stays_on_the_login_page(page: Page):
    login(page, "mike@greatlakes.example.com", "not-the-password")
    expect(page.get_by_test_id("login-error")).to_have_text(EN["auth.invalid_credentials"])
    assert "/login" in page.url


def test_signed_out_visitor_is_sent_to_the_login_page(page: Page):
    page.goto("/admin/users")
    expect(page.get_by_test_id("login-submit")).to_be_visible()
    assert "/login" in page.url


def test_admin_creates_an_organisation_and_a_user_who_then_signs_in(page: Page):
    login_ok(page, "admin@example.com")
    page.goto("/admin/orgs")
    page.get_by_test_id("org-add").click()
    page.get_by_test_id("org-name").fill("Borneo Cloud Partners")
    choose(page, "org-region", "APAC")
    choose(page, "org-tier", EN["tier.platinum"])
    page.get_by_test_id("org-save").click()
    expect(page.get_by_test_id("org-row").filter(has_text="Borneo Cloud Partners")).to_be_visible()

    page.goto("/admin/users")
    page.get_by_test_id("user-add").click()
    page.get_by_test_id("user-email").fill("rina@borneo.example.com")
    page.get_by_test_id("user-name").fill("Rina Wijaya")
    choose(page, "user-role", EN["role.partner_user"])
    choose(page, "user-org", "Borneo Cloud Partners")
    page.get_by_test_id("user-password").fill("rina-password-1")
    page.get_by_test_id("user-save").click()
    expect(page.get_by_test_id("user-row").filter(has_text="rina@borneo.example.com")).to_be_visible()

    logout(page)
    login_ok(page, "rina@borneo.example.com", "rina-password-1")
    expect(page.get_by_test_id("greeting-org")).to_contain_text("Borneo Cloud Partners")
    expect(page.get_by_test_id("home-region")).to_have_text("APAC")


def test_admin_sees_a_clear_error_for_a_duplicate_organisation_name(page: Page):
    login_ok(page, "admin@example.com")
    page.goto("/admin/orgs")
    page.get_by_test_id("org-add").click()
    page.get_by_test_id("org-name").fill("Sakura Systems K.K.")
    choose(page, "org-region", "APAC")
    choose(page, "org-tier", EN["tier.gold"])
    page.get_by_test_id("org-save").click()
    expect(page.get_by_role("alert").filter(has_text="already exists")).to_be_visible()


def test_switching_to_bahasa_indonesia_changes_the_ui_and_is_remembered(page: Page):
    assert ID, "locales/id.json is missing"
    login_ok(page, "mike@greatlakes.example.com")
    expect(page.get_by_test_id("nav-home")).to_have_text(EN["nav.home"])
    choose(page, "language-select", "Bahasa Indonesia")
    expect(page.get_by_test_id("nav-home")).to_have_text(ID["nav.home"])
    expect(page.get_by_test_id("greeting")).to_contain_text(ID["home.greeting_prefix"])
    logout(page)
    page.context.clear_cookies()
    page.evaluate("localStorage.clear()")
    login_ok(page, "mike@greatlakes.example.com")
    expect(page.get_by_test_id("nav-home")).to_have_text(ID["nav.home"])
    choose(page, "language-select", "English")  # leave the demo user as it was
    expect(page.get_by_test_id("nav-home")).to_have_text(EN["nav.home"])


def test_partner_admin_cannot_open_the_organisations_page(page: Page):
    login_ok(page, "budi@nusantara.example.com")
    page.goto("/admin/orgs")
    expect(page.get_by_test_id("not-found")).to_be_visible()
    expect(page.get_by_test_id("org-row")).to_have_count(0)


def test_partner_admin_sees_only_users_of_their_own_organisation(page: Page):
    login_ok(page, "klaus@rheinland.example.com")
    page.goto("/admin/users")
    rows = page.get_by_test_id("user-row")
    expect(rows.first).to_be_visible()
    emails = rows.all_inner_texts()
    assert emails and all("@rheinland.example.com" in text for text in emails), emails


def test_partner_user_sees_no_administration_links(page: Page):
    login_ok(page, "anna@rheinland.example.com")
    expect(page.get_by_test_id("nav-users")).to_have_count(0)
    page.goto("/admin/users")
    expect(page.get_by_test_id("not-found")).to_be_visible()


def test_unknown_address_shows_the_404_page(page: Page):
    page.goto("/no/such/page")
    expect(page.get_by_test_id("not-found")).to_be_visible()


def test_sign_out_ends_the_session(page: Page):
    login_ok(page, "anna@rheinland.example.com")
    logout(page)
    page.goto("/")
    expect(page.get_by_test_id("login-submit")).to_be_visible()


def test_home_fits_a_phone_screen_without_horizontal_scrolling(page: Page):
    page.set_viewport_size({"width": 375, "height": 812})
    login_ok(page, "admin@example.com")
    expect(page.get_by_test_id("menu-button")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the phone screen"


def test_a_partners_home_shows_the_newest_documents_of_their_audience_only(page: Page):
    login_ok(page, "budi@nusantara.example.com")

    recent = page.get_by_test_id("home-recent")
    expect(recent.get_by_test_id("doc-card").filter(has_text="Nusantara joint campaign kit")).to_be_visible()
    expect(recent.get_by_test_id("doc-card").filter(has_text="Price list 2027 (EMEA)")).to_have_count(0)
    expect(page.get_by_test_id("home-usage")).to_have_count(0)  # collateral usage is for staff
    expect(page.get_by_test_id("home-make-cobrand")).to_be_visible()


def test_marketing_home_shows_collateral_usage(page: Page):
    login_ok(page, "marketing@example.com")

    expect(page.get_by_test_id("home-usage")).to_be_visible()
    expect(page.get_by_test_id("stat-published")).not_to_have_text("0")
    expect(page.get_by_test_id("home-recent").get_by_test_id("doc-card").first).to_be_visible()


def test_the_bell_lists_whats_new_for_the_partner_and_opening_it_marks_it_read(page: Page, browser, portal):
    login_ok(page, "siti@nusantara.example.com")
    expect(page.get_by_test_id("feed-unread")).to_be_visible()  # demo documents published lately, never looked

    page.get_by_test_id("feed-bell").click()
    panel = page.get_by_test_id("feed-panel")
    expect(panel.get_by_test_id("feed-item").filter(has_text="Nusantara joint campaign kit")).to_be_visible()
    expect(panel.get_by_test_id("feed-item").filter(has_text="Price list 2027 (EMEA)")).to_have_count(0)
    expect(page.get_by_test_id("feed-unread")).to_have_count(0)

    # Another browser, fresh state: the count comes from the server and is zero now.
    elsewhere = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=portal)
    try:
        other = elsewhere.new_page()
        login_ok(other, "siti@nusantara.example.com")
        expect(other.get_by_test_id("feed")).to_have_attribute("data-counted", "yes")
        expect(other.get_by_test_id("feed-unread")).to_have_count(0)
    finally:
        elsewhere.close()


def test_admin_adds_a_tier_and_renames_a_region_on_the_organisations_page(page: Page):
    login_ok(page, "admin@example.com")
    page.goto("/admin/orgs")
    page.get_by_test_id("tier-code").fill("diamond")
    page.get_by_test_id("tier-name").fill("Diamond")
    page.get_by_test_id("tier-rank").fill("50")
    page.get_by_test_id("tier-add").click()
    expect(page.get_by_test_id("tier-row").filter(has_text="Diamond")).to_be_visible()

    page.get_by_test_id("tier-rank").fill("50")
    page.get_by_test_id("tier-code").fill("onyx")
    page.get_by_test_id("tier-name").fill("Onyx")
    page.get_by_test_id("tier-add").click()
    expect(page.get_by_role("alert").filter(has_text="50")).to_be_visible()  # that rank is taken: said so

    page.get_by_test_id("region-row").filter(has_text="LATAM").get_by_test_id("region-rename").click()
    page.get_by_test_id("rename-name").fill("Latin America and the Caribbean")
    page.get_by_test_id("rename-save").click()
    expect(page.get_by_test_id("region-row").filter(has_text="Latin America and the Caribbean")).to_be_visible()

    page.get_by_test_id("org-add").click()
    page.get_by_test_id("org-tier").click()
    expect(page.get_by_role("option", name="Diamond", exact=True)).to_be_visible()
