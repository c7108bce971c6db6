"""Notes in a browser against the demo server: rate a note from the queue, read a note's page."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.support.server import LiveServer

pytestmark = pytest.mark.browser


def test_a_citizen_rates_a_note_and_reads_why_another_is_shown(
    browser: Browser, demo_server: LiveServer, demo_logins: dict[str, str], artifacts: Path
) -> None:
    page = browser.new_page(locale="en-US")
    page.goto(f"{demo_server.url}/login?next=/notes/rate")
    page.get_by_label("Login").fill("ana")
    page.get_by_label("Password").fill(demo_logins["ana"])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Rate notes", exact=True)).to_be_visible()
    first = page.locator("section.card").first
    heading = first.get_by_role("heading").inner_text()
    note_id = int(heading.split()[-1])
    first.get_by_label("Somewhat helpful").check()
    first.get_by_text("Reasons (optional)").click()
    first.get_by_label("Good sources").check()
    first.get_by_role("button", name="Rate this note").click()
    expect(page.get_by_role("heading", name="Rate notes", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name=f"Note {note_id}", exact=True)).to_have_count(0)

    # The rated note remembers ana's answer (only she sees it).
    page.goto(f"{demo_server.url}/notes/{note_id}")
    expect(page.get_by_label("Somewhat helpful")).to_be_checked()
    expect(page.get_by_role("button", name="Change my rating")).to_be_visible()

    # A note shown by the demo's raters explains itself, with its chart and the numbers.
    shown = next(
        n["id"]
        for content in range(1, 17)
        for n in httpx.get(f"{demo_server.url}/api/v1/contents/{content}/notes").json()
        if n["status"] == "helpful"
    )
    page.goto(f"{demo_server.url}/notes/{shown}")
    expect(page.get_by_text("Shown: rated helpful").first).to_be_visible()
    expect(page.get_by_text("It reaches the bar.")).to_be_visible()
    chart = page.get_by_role("img", name="Raters of this note by viewpoint")
    expect(chart).to_be_visible()
    assert chart.locator("rect.bar").count() > 0
    page.get_by_text("The numbers behind the chart").click()
    expect(page.locator("table.chart-data")).to_be_visible()
    page.screenshot(path=str(artifacts / "notes-shown.png"), full_page=True)
