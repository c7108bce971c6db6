"""The transparency report on a real server: recomputed from its remote log, and in Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Browser

from isegoria.algorithms.checkpoint import verifier_key
from isegoria.reports.instance import DATABASE_SECTIONS
from tests.support.server import LiveServer, isegoria_command

API = "/api/v1/reports/transparency"


def log_report(report: dict[str, Any]) -> dict[str, Any]:
    """The part of a report anyone can recompute from the public log (no database groups)."""
    return {k: v for k, v in report.items() if k not in DATABASE_SECTIONS}


def _isegoria(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The auditor's machine has no instance of its own.
    env = {**os.environ, "ISEGORIA_DATA_DIR": str(tmp_path / "auditor"), "TERM": "dumb"}
    return subprocess.run(  # noqa: S603 - our own CLI
        isegoria_command(*args), env=env, capture_output=True, text=True, timeout=300
    )


def _recompute(
    server: LiveServer, tmp_path: Path, *scope: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    key = httpx.get(f"{server.url}/api/v1/log/key").json()["verifier_key"]
    params = dict(zip(scope[::2], scope[1::2], strict=True))
    api_params = {k.removeprefix("--"): v for k, v in params.items()}
    # The demo's worker may still append (a deadline passing): retry until both saw one log.
    for _attempt in range(5):
        served = httpx.get(f"{server.url}{API}", params=api_params, timeout=60).json()
        done = _isegoria(tmp_path, "report", "--from-log", server.url, "--key", key, *scope)
        assert done.returncode == 0, done.stderr
        recomputed = json.loads(done.stdout)
        if recomputed["log"]["size"] == served["log"]["size"]:
            return served, recomputed
    raise AssertionError("the log kept growing between the two reports")


def test_report_recomputed_from_the_remote_log_equals_the_instances(
    demo_server: LiveServer, tmp_path: Path
) -> None:
    served, recomputed = _recompute(demo_server, tmp_path)
    assert recomputed == log_report(served)
    assert recomputed["reports"]["total"] > 0 and recomputed["cases"]["opened"] > 0
    assert recomputed["log"]["size"] > 100
    assert not (tmp_path / "auditor").exists()  # nothing local was read or written


def test_a_scoped_report_recomputes_too(demo_server: LiveServer, tmp_path: Path) -> None:
    code = httpx.get(f"{demo_server.url}/api/v1/jurisdictions").json()[0]["code"]
    scope = ("--from", "2000-01-01", "--to", "2100-01-01", "--jurisdiction", code)
    served, recomputed = _recompute(demo_server, tmp_path, *scope)
    assert recomputed == log_report(served)
    assert recomputed["scope"]["jurisdiction"] == code


def test_a_forged_key_stops_the_recompute(demo_server: LiveServer, tmp_path: Path) -> None:
    origin = httpx.get(f"{demo_server.url}/api/v1/log/key").json()["origin"]
    impostor = verifier_key(origin, Ed25519PrivateKey.generate().public_key())
    done = _isegoria(tmp_path, "report", "--from-log", demo_server.url, "--key", impostor)
    assert done.returncode == 1
    assert "the remote log did not verify" in done.stderr
    assert "no signature by a trusted key" in done.stderr
    assert done.stdout == ""  # no figures from a log that did not verify


@pytest.mark.browser
def test_report_page_renders_its_charts(
    demo_server: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(f"{demo_server.url}/reports")
    charts = page.locator('figure.report-chart svg[role="img"]')
    assert charts.count() >= 8
    for n in range(charts.count()):
        box = charts.nth(n).bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100
    # The time series draws one line per series; the histogram draws bars.
    assert page.locator("#chart-daily svg path, #chart-daily svg polyline").count() >= 2
    assert page.locator("#chart-time-to-verdict svg rect.bar").count() >= 1
    page.locator("#chart-sanctions summary").click()
    assert page.locator("#chart-sanctions table.chart-data").is_visible()
    shot = tmp_path / "reports-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    target = os.environ.get("ISEGORIA_ARTEFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(target) / shot.name)
    page.goto(f"{demo_server.url}/reports/print")
    page.emulate_media(media="print")
    assert page.locator('svg[role="img"]').count() == charts.count()
    assert not page.locator("header.site").count()
    page.close()
