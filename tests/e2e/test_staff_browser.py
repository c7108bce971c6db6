"""Issue 18 §1 in a real browser: the demo operator signs in with TOTP and works the console."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.server import LiveServer, isegoria_command
from tests.support.staff_browser import sign_in_staff

pytestmark = pytest.mark.browser

PAGES = ("/staff", "/staff/platforms", "/staff/connectors")
#: The console's heading in the two languages walked.
HEADING = {"en": "Operator console", "es": "Consola de operación"}
#: The staff's other pages, each with its own heading in the two languages walked.
OTHER_PAGES = {
    "/staff/people": {"en": "Staff", "es": "Personal"},
    "/staff/capacity": {
        "en": "Capacity of the jury pools",
        "es": "Capacidad de las reservas de jurados",
    },
    "/audit/staff-trail": {"en": "Staff audit trail", "es": "Registro de auditoría del personal"},
}
PHONE = {"width": 390, "height": 844}


def _no_horizontal_scroll(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        " > window.innerWidth).slice(0, 5).map(e => e.tagName + '.' + e.className)"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px: {wide}"


def _figure(page: Page, label: str) -> int:
    """A figure of the Demo Forum's compliance card, e.g. "applied late"."""
    card = page.locator("section.card", has=page.get_by_role("heading", name="Demo Forum"))
    item = card.locator("ul.figures li", has_text=label).first
    return int(re.sub(r"\D", "", item.locator("strong").inner_text()))


def _second_platform(server: LiveServer) -> tuple[str, str]:
    """A platform of the test's own, so rotating its key leaves the demo's key alone."""
    env = {**os.environ, "ISEGORIA_DATA_DIR": str(server.data_dir), "TERM": "dumb"}
    done = subprocess.run(  # noqa: S603 - our own CLI
        isegoria_command("platforms", "add", "Console Test Forum"),
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    key = re.search(r"API key \(shown once\): (\S+)", done.stdout)
    assert key, done.stdout
    return "Console Test Forum", key.group(1)


def test_the_operator_walks_the_console_retries_a_dead_letter_and_rotates_a_key(
    browser: Browser, demo_server: LiveServer, artifacts: Path
) -> None:
    passwords = json.loads((demo_server.data_dir / "demo-logins.json").read_text())["people"]
    name, old_key = _second_platform(demo_server)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in_staff(page, demo_server, "operator")
    mine = page.get_by_role("navigation", name="Your pages")  # a person's own pages, row two
    mine.get_by_role("link", name="Staff", exact=True).click()
    expect(page.get_by_role("heading", name=HEADING["en"])).to_be_visible()
    expect(page.get_by_role("heading", name="Juries being formed")).to_be_visible()
    # Each row opens the case's public timeline.
    first_case = page.locator("main table a[href^='/cases/']").first
    href = first_case.get_attribute("href")
    page.screenshot(path=str(artifacts / "staff-console.png"), full_page=True)
    first_case.click()
    expect(page).to_have_url(re.compile(re.escape(str(href)) + "$"))

    # Platforms: the demo's platform applied most decisions on time, some late, a few never.
    # Of those it answered: other tests on this shared demo server (the citizen's walk) reach
    # verdicts whose decisions are sent and still within their time.
    page.goto(f"{demo_server.url}/staff/platforms")
    on_time, late = _figure(page, "applied on time"), _figure(page, "applied late")
    not_applied, sent = _figure(page, "not applied"), _figure(page, "decisions sent")
    assert on_time > late > 0 and not_applied > 0, (on_time, late, not_applied)
    assert on_time > late + not_applied and sent >= on_time + late + not_applied, (
        on_time,
        late,
        not_applied,
        sent,
    )
    page.screenshot(path=str(artifacts / "staff-platforms.png"), full_page=True)

    # Rotate the test platform's key, by keyboard: the password field's Enter submits.
    card = page.locator("section.card", has=page.get_by_role("heading", name=name))
    rotate = card.locator("form[action$='/keys/rotate']")
    rotate.get_by_label("Your current password").fill(passwords["operator"])
    rotate.get_by_label("Your current password").press("Enter")
    expect(page.get_by_text("shown this once")).to_be_visible()
    new_key = page.locator("#shown-once").inner_text().strip()
    page.screenshot(path=str(artifacts / "staff-key-shown-once.png"), full_page=True)
    api = f"{demo_server.url}/api/v1/platform"
    assert httpx.get(api, headers={"Authorization": f"Bearer {new_key}"}).status_code == 200
    assert httpx.get(api, headers={"Authorization": f"Bearer {old_key}"}).status_code == 401
    page.goto(f"{demo_server.url}/staff/platforms")
    assert new_key not in page.content()  # never shown twice

    # Connectors: the demo's dead letter (a receiver that answered 410 Gone), retried.
    page.goto(f"{demo_server.url}/staff/connectors")
    expect(page.get_by_text("HTTP 410 Gone").first).to_be_visible()
    page.screenshot(path=str(artifacts / "staff-connectors.png"), full_page=True)
    retry = page.get_by_role("button", name=re.compile(r"^Retry dead letter")).first
    retry.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("queued again")
    page.close()

    # Every page again at 390 px, in English and in Spanish: no sideways scroll.
    phone = browser.new_page(viewport=PHONE)
    sign_in_staff(phone, demo_server, "operator")
    for language in ("en", "es"):
        phone.goto(f"{demo_server.url}/language/{language}?next=/staff")
        for path in PAGES:
            phone.goto(f"{demo_server.url}{path}")
            expect(phone.get_by_role("heading", name=HEADING[language])).to_be_visible()
            _no_horizontal_scroll(phone)
            shot = f"staff-{path.strip('/').replace('/', '-')}-{language}-phone.png"
            phone.screenshot(path=str(artifacts / shot), full_page=True)
        for path, headings in OTHER_PAGES.items():
            phone.goto(f"{demo_server.url}{path}")
            heading = phone.get_by_role("heading", level=1, name=headings[language], exact=True)
            expect(heading).to_be_visible()
            _no_horizontal_scroll(phone)
    phone.goto(f"{demo_server.url}/language/en?next=/staff")
    phone.screenshot(path=str(artifacts / "staff-console-phone.png"), full_page=False)
    phone.close()


def test_citizens_and_visitors_are_shown_the_way_not_an_error(
    browser: Browser, demo_server: LiveServer, demo_logins: dict[str, str]
) -> None:
    page = browser.new_page(viewport=PHONE)
    answer = page.goto(f"{demo_server.url}/staff")
    assert answer is not None and answer.status == 401
    page.get_by_role("main").get_by_role("link", name="Log in").click()
    page.get_by_label("Login").fill("ana")
    page.get_by_label("Password").fill(demo_logins["ana"])
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(re.compile(r"/staff$"))
    expect(page.get_by_text("your account is not one")).to_be_visible()
    expect(page.get_by_role("link", name="Staff", exact=True)).to_have_count(0)
    _no_horizontal_scroll(page)
    page.close()
