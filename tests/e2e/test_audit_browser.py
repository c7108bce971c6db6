"""Issue 18 §2 in a real browser: the demo auditor walks the audit console in English and French.

On a phone-sized screen (390 px), with the keyboard for every form: the overview and a full
verification of the log, an inclusion proof that verifies and a forged root that does not,
a consistency proof, a jury draw re-run, the audits with their charts, and the capacity page.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.server import LiveServer
from tests.support.staff_browser import sign_in_staff

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs"
# The screenshots shown in docs/auditors.md.
DOC_SHOTS = ("audit-console.png", "audit-proof.png", "audit-jury.png", "audit-capacity.png")


def _no_horizontal_scroll(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        " > window.innerWidth).slice(0, 5).map(e => e.tagName + '.' + e.className)"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow} px: {wide}"


def _case_with_a_jury(page: Page, server: LiveServer) -> int:
    """A demo case whose first jury was drawn."""
    cases = page.request.get(f"{server.url}/api/v1/cases?limit=50").json()
    for case in cases:
        if page.request.get(f"{server.url}/api/v1/cases/{case['id']}/juries/first").ok:
            return int(case["id"])
    raise AssertionError("the demo has no case with a jury")


def _check_inclusion(page: Page, index: str, root: str = "") -> None:
    """Fill the inclusion form with the keyboard and send it."""
    page.locator("#inclusion-form input[name=index]").fill(index)
    page.locator("#inclusion-form input[name=root]").fill(root)
    page.locator("#inclusion-form input[name=index]").press("Enter")


def _walk(page: Page, server: LiveServer, shots: Path, language: str) -> None:
    """Every page of the console, in the page's current language."""
    words = {
        "en": (
            "Audit console",
            "Verified: entry 5",
            "Does not verify: entry 5",
            "The draw matches",
        ),
        "fr": (
            "Console d'audit",
            "Vérifié : l'entrée 5",
            "Échec de la vérification",
            "Le tirage concorde",
        ),
    }[language]
    page.goto(f"{server.url}/audit")
    expect(page.get_by_role("heading", level=1)).to_have_text(words[0])
    _no_horizontal_scroll(page)
    page.screenshot(path=str(shots / f"audit-console-{language}.png"), full_page=True)

    page.goto(f"{server.url}/audit/log")
    _check_inclusion(page, "5")
    expect(page.locator("#inclusion-result .verdict")).to_contain_text(words[1])
    expected = page.locator("#inclusion-result dd.hex").nth(1).inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", expected)
    _no_horizontal_scroll(page)
    page.screenshot(path=str(shots / f"audit-proof-{language}.png"), full_page=True)
    forged = expected[:-1] + ("0" if expected[-1] != "0" else "1")
    _check_inclusion(page, "5", forged)
    expect(page.locator("#inclusion-result .verdict")).to_contain_text(words[2])
    _check_inclusion(page, "not a number")
    expect(page.locator("#inclusion-error")).to_be_visible()

    page.locator("#consistency-form input[name=first]").fill("10")
    page.locator("#consistency-form input[name=first]").press("Enter")
    expect(page.locator("#consistency-result .verdict.ok")).to_be_visible()

    case_id = _case_with_a_jury(page, server)
    page.goto(f"{server.url}/audit/juries")
    page.locator("#jury-form input[name=case]").fill(str(case_id))
    page.locator("#jury-form input[name=case]").press("Enter")
    expect(page.locator("#draw-result .verdict")).to_contain_text(words[3])
    _no_horizontal_scroll(page)
    page.screenshot(path=str(shots / f"audit-jury-{language}.png"), full_page=True)

    for audit in ("consistency", "disparity", "report"):
        page.goto(f"{server.url}/audit/{audit}")
        expect(page.locator("figure.report-chart svg").first).to_be_visible()
        _no_horizontal_scroll(page)
        page.screenshot(path=str(shots / f"audit-{audit}-{language}.png"), full_page=True)

    page.goto(f"{server.url}/staff/capacity")
    expect(page.locator("table tbody tr").first).to_be_visible()
    _no_horizontal_scroll(page)
    page.screenshot(path=str(shots / f"audit-capacity-{language}.png"), full_page=True)


def test_the_auditor_walks_the_console_in_two_languages(
    browser: Browser, demo_server: LiveServer, artifacts: Path
) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(20_000)
    sign_in_staff(page, demo_server, "auditor")
    page.goto(demo_server.url)
    page.get_by_role("link", name="Audit", exact=True).click()
    page.wait_for_url(re.compile(r"/audit$"))

    # A full verification of the demo's log, recorded with who ran it.
    page.get_by_role("button", name="Verify the whole log now").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/audit#checks$"), timeout=180_000)
    first_run = page.locator("#checks ~ div table tbody tr").first
    expect(first_run).to_contain_text("auditor")
    expect(first_run).to_contain_text("verified")

    _walk(page, demo_server, artifacts, "en")
    page.get_by_role("link", name="Français").click()
    _walk(page, demo_server, artifacts, "fr")
    page.close()

    for name in DOC_SHOTS:
        shutil.copyfile(artifacts / name.replace(".png", "-en.png"), DOCS / name)


def test_a_visitor_sees_the_public_console_and_what_needs_a_login(
    browser: Browser, demo_server: LiveServer
) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{demo_server.url}/audit")
    expect(page.locator(".login-note")).to_contain_text("need an auditor's or an operator's login")
    expect(page.get_by_role("button", name="Verify the whole log now")).to_have_count(0)
    page.goto(f"{demo_server.url}/audit/log?index=0")
    expect(page.locator("#inclusion-result .verdict.ok")).to_be_visible()
    response = page.goto(f"{demo_server.url}/staff/capacity")
    assert response is not None and response.status == 401
    page.close()
