"""Small page helpers shared by the browser tests (by test id, not wording)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from kbportal.services.demo import DEMO_PASSWORD


def login(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()


def login_ok(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    login(page, email, password)
    expect(page.get_by_test_id("greeting")).to_be_visible()


def choose(page: Page, trigger_testid: str, option_text: str) -> None:
    """Pick an option of a Radix select."""
    page.get_by_test_id(trigger_testid).click()
    page.get_by_role("option", name=option_text, exact=True).click()


def logout(page: Page) -> None:
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-submit")).to_be_visible()
