"""Staff sign in with a second factor in a real browser: enrolment at first login, then a code."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.server import LiveServer, isegoria_command, live_server

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a brand new operator passphrase"


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A demo world without cases: its staff are all the sign-in needs, and it starts fast."""
    data_dir = tmp_path_factory.mktemp("mfa-demo")
    with live_server(data_dir, "demo", "--citizens", "300", "--no-cases") as server:
        yield server


def _password_step(page: Page, base: str, login: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Password").press("Enter")  # the keyboard alone signs in
    page.wait_for_url(re.compile(r"/login/second-factor"))


def _no_horizontal_scroll(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        " > window.innerWidth).slice(0, 5).map(e => e.tagName + '.' + e.className)"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px: {wide}"


def test_a_new_operator_enrols_then_the_demo_operator_signs_in_with_a_code(
    browser: Browser, small_demo: LiveServer, artifacts: Path
) -> None:
    demo_server = small_demo
    saved = json.loads((demo_server.data_dir / "demo-logins.json").read_text())
    demo_logins: dict[str, str] = saved["people"]
    env = {**os.environ, "ISEGORIA_DATA_DIR": str(demo_server.data_dir), "TERM": "dumb"}
    subprocess.run(  # noqa: S603 - our own CLI
        isegoria_command(
            "staff", "add", "newop", "--role", "operator", "--name", "New Op", "--password-stdin"
        ),
        input=NEW_PASSWORD + "\n",
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    page = browser.new_page(viewport={"width": 390, "height": 844})
    _password_step(page, demo_server.url, "newop", NEW_PASSWORD)
    expect(page.locator("figure.qr svg")).to_be_visible()
    _no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts / "second-factor-enrol.png"), full_page=True)
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Six-digit code").fill(pyotp.TOTP(secret).now())
    page.get_by_label("Six-digit code").press("Enter")
    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
    expect(page.locator("ul.recovery-codes li")).to_have_count(10)
    _no_horizontal_scroll(page)
    page.get_by_role("link", name="I have kept them: continue").click()
    expect(page.locator("header .who")).to_contain_text("New Op")
    page.close()

    page = browser.new_page()
    _password_step(page, demo_server.url, "operator", demo_logins["operator"])
    # Before the code, the password alone opens nothing.
    assert page.request.get(f"{demo_server.url}/api/v1/me").status == 401
    page.get_by_label("Six-digit code").fill("000000")
    page.get_by_label("Six-digit code").press("Enter")
    expect(page.get_by_role("alert")).to_have_text("That code is wrong or was already used.")
    shown = subprocess.run(  # noqa: S603 - the demo's code, as its docs say to get it
        isegoria_command("staff", "totp", "operator"),
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert shown in {pyotp.TOTP(saved["totp"]["operator"]).at(time.time() - d) for d in (0, 30)}
    page.get_by_label("Six-digit code").fill(shown)
    page.get_by_label("Six-digit code").press("Enter")
    expect(page.locator("header .who")).to_contain_text("Instance Operator")
    assert page.request.get(f"{demo_server.url}/api/v1/me").json()["role"] == "operator"
    page.close()
