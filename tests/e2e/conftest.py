"""End-to-end fixtures: the demo server over real HTTP, and Debian's Chromium."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.support.server import LiveServer, live_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",  # we run as root in CI; the browser only visits our loopback server
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``isegoria demo`` serving a small demo world on the embedded SQLite default."""
    data_dir = tmp_path_factory.mktemp("demo")
    with live_server(data_dir, "demo", "--citizens", "500") as server:
        yield server


@pytest.fixture(scope="session")
def demo_logins(demo_server: LiveServer) -> dict[str, str]:
    """The demo people's passwords, as the demo printed and saved them."""
    saved = json.loads((demo_server.data_dir / "demo-logins.json").read_text())
    people: dict[str, str] = saved["people"]
    return people


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """The Playwright driver (it never downloads a browser here)."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        raise RuntimeError(
            "Debian's Chromium is needed for the browser tests: "
            "sudo apt-get install chromium (./scripts/test installs it when run as root)"
        )
    instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
    yield instance
    instance.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots are kept for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
