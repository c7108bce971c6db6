"""Every page of the demo, by who sees it: a tour that browser tests walk (a11y, widths, shots).

The demo is built from a fixed seed, but its case and proposal numbers depend on what it
simulates; the tour finds them through the public API so that it follows the demo as it grows.
A helper that adds a page adds it here, and every test that walks the tour covers it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from playwright.sync_api import Page

from tests.support.server import LiveServer
from tests.support.staff_browser import sign_in_staff

#: Who walks a part of the tour: nobody signed in, a citizen, a juror, staff (each a demo login).
PUBLIC = ""
CITIZEN = "ana"  # proposes, votes, reports and sat on a jury in the demo (MX)
JUROR = "jonas"  # sat on a first and an appeal jury (DE)
STAFF = ("operator", "auditor")
#: The main citizen pages that docs/screenshots/ shows: tour page -> file name (before -phone.png).
SCREENSHOTS = {
    "citizen-home": "home",
    "law": "law",
    "rule": "rule",
    "case": "case",
    "jury": "jury",
    "notifications": "notifications",
    "report": "report",
}


@dataclass(frozen=True)
class DemoPage:
    """One page of the tour: a short name (for files and messages), its path, who opens it."""

    name: str
    path: str
    login: str = PUBLIC


def _get(server: LiveServer, path: str) -> Any:
    answer = httpx.get(f"{server.url}{path}", timeout=30)
    answer.raise_for_status()
    return answer.json()


def _first(items: list[dict[str, Any]], **wanted: Any) -> dict[str, Any]:
    for item in items:
        if all(item.get(key) == value for key, value in wanted.items()):
            return item
    raise AssertionError(f"the demo has nothing with {wanted}")


def demo_tour(server: LiveServer) -> list[DemoPage]:
    """The demo's pages: public ones, then a citizen's, a juror's and the staff's."""
    cases = _get(server, "/api/v1/cases")
    decided = _first(cases, status="decided", outcome="violation")["id"]
    appealed = _first(cases, status="final")["id"]
    open_case = _first(cases, status="open")["id"]
    proposals = _get(server, "/api/v1/proposals")
    voting = _first(proposals, status="voting")["id"]
    adopted = _first(proposals, status="adopted", kind="amend")["id"]
    notes = _get(server, "/api/v1/contents/1/notes")
    log_size = _get(server, "/api/v1/log")["size"]
    public = [
        DemoPage("home", "/"),
        DemoPage("login", "/login"),
        DemoPage("law", "/law"),
        DemoPage("rulebook", "/law/intl"),
        DemoPage("constitution", "/law/intl/constitution"),
        DemoPage("rule", "/law/rules/intl-1"),
        DemoPage("proposals", "/proposals"),
        DemoPage("proposal-voting", f"/proposals/{voting}"),
        DemoPage("proposal-adopted", f"/proposals/{adopted}"),
        DemoPage("receipts", "/receipts"),
        DemoPage("cases", "/cases"),
        DemoPage("case", f"/cases/{decided}"),
        DemoPage("case-appealed", f"/cases/{appealed}"),
        DemoPage("case-open", f"/cases/{open_case}"),
        DemoPage("content", "/contents/1"),
        DemoPage("note", f"/notes/{notes[0]['id']}"),
        DemoPage("log", "/log"),
        DemoPage("log-entry", f"/log/{log_size - 1}"),
        DemoPage("report", "/reports"),
        DemoPage("report-print", "/reports/print"),
        DemoPage("api-docs", "/api/v1/docs"),
        DemoPage("unsubscribe", "/notifications/unsubscribe?token=not-a-token"),
        DemoPage("not-found", "/cases/999999"),
    ]
    citizen = [
        DemoPage("citizen-home", "/", CITIZEN),
        DemoPage("my-votes", "/me/votes", CITIZEN),
        DemoPage("vote", f"/proposals/{voting}", CITIZEN),
        DemoPage("new-proposal", "/proposals/new", CITIZEN),
        DemoPage("my-posts", "/me/cases", CITIZEN),
        DemoPage("file-report", f"/cases/{decided}/file", CITIZEN),
        DemoPage("triage", "/triage", CITIZEN),
        DemoPage("rate-notes", "/notes/rate", CITIZEN),
        DemoPage("notifications", "/notifications", CITIZEN),
        DemoPage("notification-preferences", "/notifications/preferences", CITIZEN),
        DemoPage("account-security", "/account/security", CITIZEN),
    ]
    juror = [
        DemoPage("jury", "/jury", JUROR),
        DemoPage("juror-case", f"/cases/{appealed}", JUROR),
        DemoPage("juror-notifications", "/notifications", JUROR),
    ]
    staff = [
        page
        for login in STAFF
        for page in (
            DemoPage(f"{login}-home", "/", login),
            DemoPage(f"{login}-security", "/account/security", login),
            DemoPage(f"{login}-case", f"/cases/{decided}", login),
        )
    ]
    return public + citizen + juror + staff


def demo_passwords(server: LiveServer) -> dict[str, str]:
    """The demo people's passwords, as ``isegoria demo`` saved them."""
    people: dict[str, str] = json.loads((server.data_dir / "demo-logins.json").read_text())[
        "people"
    ]
    return people


def sign_in(page: Page, server: LiveServer, login: str) -> None:
    """Sign ``login`` in through the login page (staff with their second factor)."""
    if login in STAFF:
        sign_in_staff(page, server, login)
        return
    page.goto(f"{server.url}/login")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(demo_passwords(server)[login])
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
