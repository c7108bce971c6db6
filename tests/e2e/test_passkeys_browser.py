"""Passkeys in real Chromium: a DevTools virtual authenticator enrols, then signs in.

WebAuthn refuses an IP address as the relying party's id, so this test serves the demo
world's data a second time (``isegoria serve`` on the same directory, no new world) with a
public URL on ``localhost``, which Chromium treats as a secure context.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, CDPSession, Page, expect

from tests.support.postgres import free_port
from tests.support.server import LiveServer, isegoria_command
from tests.support.staff_browser import demo_staff_secrets, sign_in_staff

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def localhost_server(demo_server: LiveServer) -> Iterator[LiveServer]:
    """The demo world's data served again, its public URL on localhost (a valid RP ID)."""
    port = free_port()
    url = f"http://localhost:{port}"
    env = {
        **os.environ,
        "ISEGORIA_DATA_DIR": str(demo_server.data_dir),
        "ISEGORIA_HOST": "127.0.0.1",
        "ISEGORIA_PORT": str(port),
        "ISEGORIA_PUBLIC_URL": url,
    }
    log_path = demo_server.data_dir / "passkeys-server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own CLI
            isegoria_command("serve"), env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{log_path.read_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not come up:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield LiveServer(url, demo_server.data_dir, process, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _virtual_authenticator(page: Page) -> tuple[CDPSession, str]:
    """A platform authenticator with user verification, as a laptop's fingerprint reader."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, str(added["authenticatorId"])


def test_enrol_a_passkey_sign_out_and_sign_in_with_it(
    browser: Browser, localhost_server: LiveServer, artifacts: Path
) -> None:
    server = localhost_server
    page = browser.new_page()
    cdp, authenticator = _virtual_authenticator(page)
    sign_in_staff(page, server, "operator")
    page.goto(f"{server.url}/account/security")
    page.get_by_role("link", name="Manage your passkeys").click()
    expect(page.get_by_role("heading", name="Passkeys")).to_be_visible()
    page.get_by_label("A name for this passkey (e.g. the device)").fill("Test laptop")
    page.locator("#passkey-register").click()
    expect(page.get_by_role("status")).to_have_text("Your passkey was added.")
    expect(page.locator("table")).to_contain_text("Test laptop")
    page.screenshot(path=str(artifacts / "passkeys.png"), full_page=True)
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(credentials["credentials"]) == 1
    assert credentials["credentials"][0]["rpId"] == "localhost"

    page.get_by_role("button", name="Log out").click()
    assert page.request.get(f"{server.url}/api/v1/me").status == 401

    passwords, _secrets = demo_staff_secrets(server)
    page.goto(f"{server.url}/login")
    page.get_by_label("Login").fill("operator")
    page.get_by_label("Password").fill(passwords["operator"])
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(re.compile(r"/login/second-factor"))
    # The password alone opens nothing; the passkey does.
    assert page.request.get(f"{server.url}/api/v1/me").status == 401
    page.screenshot(path=str(artifacts / "second-factor-passkey.png"), full_page=True)
    page.get_by_role("button", name="Use a passkey").click()
    page.wait_for_url(lambda url: "/login/second-factor" not in url)
    expect(page.locator("header .who")).to_contain_text("Instance Operator")
    me = page.request.get(f"{server.url}/api/v1/me")
    assert me.status == 200 and me.json()["role"] == "operator"
    after = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert after["credentials"][0]["signCount"] >= 1

    # Removing the passkey ends the session it verified, and leaves the demo as it was.
    page.goto(f"{server.url}/account/security/passkeys")
    page.get_by_role("button", name="Remove").click()
    assert page.request.get(f"{server.url}/api/v1/me").status == 401
    page.close()
