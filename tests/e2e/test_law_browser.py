"""A citizen reads a rule, opens a proposal, votes, changes the vote; the vote closes on time
and the rulebook shows the new version (Debian's Chromium via Playwright).

The live server reads its time from ``ISEGORIA_CLOCK_FILE`` (test-only, see
``isegoria.clockfile``): the test moves time past the close by writing that file, and the
server's own worker thread counts the vote, as it would after a real week.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from isegoria.clockfile import CLOCK_FILE_ENV
from tests.support.server import LiveServer, live_server

pytestmark = pytest.mark.browser

#: How long the worker thread may take to notice the moved clock (it polls every second).
TALLY_WAIT_SECONDS = 30


@pytest.fixture(scope="module")
def law_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Path]]:
    """A demo server whose clock the test can move."""
    data_dir = tmp_path_factory.mktemp("law-demo")
    clock_file = data_dir / "clock"
    env = {CLOCK_FILE_ENV: str(clock_file)}
    # --no-cases: the cases demo runs due jobs by a clock of its own that runs ahead of real
    # time; unless it limits itself to its own job kinds, it would count this vote early.
    with live_server(data_dir, "demo", "--citizens", "300", "--no-cases", env=env) as server:
        yield server, clock_file


def test_a_citizen_votes_and_the_law_changes_when_the_vote_closes(
    browser: Browser, law_server: tuple[LiveServer, Path], artifacts: Path
) -> None:
    server, clock_file = law_server
    password = json.loads((server.data_dir / "demo-logins.json").read_text())["people"]["ana"]
    page = browser.new_page(locale="en-US")

    # Read a rule.
    page.goto(f"{server.url}/law/MX")
    expect(page.get_by_role("heading", name="Rules of MX", exact=True)).to_be_visible()
    page.get_by_role("link", name="MX-1 v1").click()
    expect(page.locator(".rule-text").first).to_contain_text("imágenes o videos íntimos")

    # Log in and open the proposal that is open for voting.
    page.goto(f"{server.url}/login?next=/proposals")
    page.get_by_label("Login").fill("ana")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Incluir las amenazas de difusión").click()
    expect(page.locator("#countdown")).to_be_visible()
    expect(page.locator(".diff .add").first).to_contain_text("ni amenazar con difundir")
    proposal_url = page.url

    # Vote yes, then change to no.
    page.get_by_label("Yes").check()
    page.get_by_role("button", name="Cast my vote").click()
    expect(page.get_by_role("heading", name="Your vote was recorded")).to_be_visible()
    first_receipt = page.locator("#receipt").inner_text()
    page.goto(proposal_url)
    expect(page.get_by_text("You voted: Yes.")).to_be_visible()
    page.get_by_label("No", exact=True).check()
    page.get_by_role("button", name="Change my vote").click()
    receipt = page.locator("#receipt").inner_text()
    assert receipt != first_receipt and len(receipt) == 64
    page.goto(proposal_url)
    expect(page.get_by_text("You voted: No.")).to_be_visible()
    page.screenshot(path=str(artifacts / "law-proposal-voting.png"), full_page=True)

    # Time passes the close: the server's worker counts the vote by itself.
    proposal_id = int(proposal_url.rstrip("/").rsplit("/", 1)[1])
    api = f"{server.url}/api/v1/proposals/{proposal_id}"
    closes = datetime.fromisoformat(httpx.get(api).json()["voting_closes_at"])
    clock_file.write_text((closes + timedelta(seconds=1)).isoformat())
    deadline = time.monotonic() + TALLY_WAIT_SECONDS
    while httpx.get(api).json()["status"] == "voting":
        assert time.monotonic() < deadline, "the vote was not counted after its close"
        time.sleep(0.5)
    counted = httpx.get(api).json()
    assert counted["status"] == "adopted"
    assert counted["tally"]["no"] >= 1

    page.goto(proposal_url)
    expect(page.get_by_role("heading", name="Result: adopted")).to_be_visible()
    expect(page.locator("#countdown")).to_have_count(0)
    page.goto(f"{server.url}/receipts?receipt={receipt}")
    expect(page.get_by_role("status")).to_contain_text("counted as No")
    page.goto(f"{server.url}/law/MX")
    expect(page.get_by_role("link", name="MX-1 v2")).to_be_visible()
    page.get_by_role("link", name="MX-1 v2").click()
    expect(page.locator("#v2")).to_contain_text("in force")
    expect(page.locator("#v2 .rule-text")).to_contain_text("ni amenazar con difundir")
    page.screenshot(path=str(artifacts / "law-rule-amended.png"), full_page=True)
    page.close()
