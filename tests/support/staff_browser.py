"""Sign a demo staff member in through the real login pages: password, then a TOTP code."""

from __future__ import annotations

import json
import re
import time

import pyotp
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.support.server import LiveServer

#: A TOTP code is good once: a second sign-in in the same 30 s window waits for the next.
TOTP_STEP = 30


def demo_staff_secrets(server: LiveServer) -> tuple[dict[str, str], dict[str, str]]:
    """The demo's passwords and TOTP secrets, as ``isegoria demo`` saved them."""
    saved = json.loads((server.data_dir / "demo-logins.json").read_text())
    return saved["people"], saved["totp"]


def sign_in_staff(page: Page, server: LiveServer, login: str) -> None:
    """Sign ``login`` (``operator``, ``auditor``...) in with password and a fresh code."""
    passwords, secrets = demo_staff_secrets(server)
    page.goto(f"{server.url}/login")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(passwords[login])
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(re.compile(r"/login/second-factor"))
    totp = pyotp.TOTP(secrets[login])
    for _attempt in range(3):
        page.locator("input[name=code]").fill(totp.now())
        page.locator("input[name=code]").press("Enter")
        try:
            page.wait_for_url(lambda url: "/login/second-factor" not in url, timeout=3000)
            return
        except PlaywrightTimeout:
            # The code was already used by an earlier sign-in: wait for the next window.
            time.sleep(TOTP_STEP - time.time() % TOTP_STEP + 1)
    raise AssertionError(f"{login} could not sign in with a TOTP code")
