"""A demo citizen logs in and out in a real browser (Debian's Chromium via Playwright)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.support.server import LiveServer

pytestmark = pytest.mark.browser


def test_demo_citizen_logs_in_and_out(
    browser: Browser, demo_server: LiveServer, demo_logins: dict[str, str], artifacts: Path
) -> None:
    page = browser.new_page()
    page.goto(f"{demo_server.url}/")
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Login").fill("ana")
    page.get_by_label("Password").fill(demo_logins["ana"])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in as")).to_be_visible()
    expect(page.locator("header .who")).to_contain_text("Ana Morales")
    page.screenshot(path=str(artifacts / "home-logged-in.png"), full_page=True)
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("header .who")).to_contain_text("Log in")
    page.close()


def test_wrong_password_says_so_without_naming_which(
    browser: Browser, demo_server: LiveServer
) -> None:
    page = browser.new_page()
    page.goto(f"{demo_server.url}/login")
    page.get_by_label("Login").fill("ana")
    page.get_by_label("Password").fill("definitely wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong login or password.")
    page.get_by_label("Login").fill("nobody-here")
    page.get_by_label("Password").fill("definitely wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong login or password.")
    page.close()
