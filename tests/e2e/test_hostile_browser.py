"""Hostile posts in a real browser: shown as text, no script runs, nothing leaks out."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, expect

from tests.e2e.test_cases_browser import Instance
from tests.support.hostile import HOSTILE, MEGABYTE_TAIL, HostilePost, report_body
from tests.support.server import LiveServer, live_server

pytestmark = pytest.mark.browser

Served = tuple[LiveServer, dict[str, int]]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A live server holding one case per kind of hostile post."""
    data_dir = tmp_path_factory.mktemp("hostile-e2e")
    made = Instance(data_dir)
    env = {"ISEGORIA_CLOCK_FILE": str(made.clock_file)}
    key = {"Authorization": f"Bearer {made.world.base.key_all}"}
    with live_server(data_dir, "serve", env=env) as server:
        cases = {}
        for post in HOSTILE:
            body = report_body(post, f"hostile-{post.kind}", made.clock.now())
            filed = httpx.post(f"{server.url}/api/v1/reports", json=body, headers=key, timeout=60)
            assert filed.status_code == 201, filed.text
            cases[post.kind] = filed.json()["case_id"]
        yield server, cases
    made.database.dispose()


class Watched:
    """A page that records every dialog, console error and uncaught exception."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []

        def on_dialog(dialog: Dialog) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        def on_console(message: ConsoleMessage) -> None:
            # Every error counts, a missing icon's 404 too (the pages name /static/favicon.svg).
            where = str(message.location.get("url", ""))
            if message.type == "error":
                self.errors.append(f"{message.text} at {where}")

        page.on("dialog", on_dialog)
        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))


def _open(browser: Browser, served: Served, post: HostilePost) -> Watched:
    server, cases = served
    watched = Watched(browser.new_page())
    watched.page.goto(f"{server.url}/cases/{cases[post.kind]}", wait_until="load")
    expect(watched.page.locator("blockquote.post pre").first).to_contain_text(post.visible)
    # The snapshot's javascript: URL never becomes a link.
    assert watched.page.locator('a[href^="javascript:"]').count() == 0
    return watched


def _harmless(watched: Watched) -> None:
    watched.page.wait_for_timeout(300)  # let any injected handler (onerror, onload) fire
    assert watched.dialogs == [], watched.dialogs
    assert watched.errors == [], watched.errors
    watched.page.close()


def _post(kind: str) -> HostilePost:
    return next(p for p in HOSTILE if p.kind == kind)


def test_html_is_shown_as_text(browser: Browser, served: Served) -> None:
    watched = _open(browser, served, _post("html"))
    page = watched.page
    assert page.locator("#injected").count() == 0 and page.locator("#jslink").count() == 0
    assert page.locator("iframe").count() == 0
    expect(page.get_by_role("heading", level=1)).to_be_visible()  # the <style> did not apply
    _harmless(watched)


def test_scripts_never_run(browser: Browser, served: Served) -> None:
    post = _post("script")
    watched = _open(browser, served, post)
    page = watched.page
    expect(page.locator("blockquote.post")).to_contain_text("</pre></blockquote><script>")
    expect(page.locator("bdi", has_text=post.author).first).to_be_visible()
    assert page.locator("blockquote.post img, blockquote.post svg, script:not([src])").count() == 0
    _harmless(watched)


def test_right_to_left_overrides_stay_inside_the_post(browser: Browser, served: Served) -> None:
    post = _post("rtl")
    watched = _open(browser, served, post)
    page = watched.page
    assert page.locator("blockquote.post").first.get_attribute("dir") == "auto"
    author = page.locator("bdi", has_text="evil").first
    assert author.evaluate("e => getComputedStyle(e).unicodeBidi") == "isolate"
    # The words after the author's pseudonym still run left to right, after it.
    after, bdi_right = page.evaluate(
        """() => {
            const bdi = [...document.querySelectorAll('bdi')]
                .find(b => b.textContent.includes('evil'));
            const code = bdi.parentElement;
            const text = code.nextSibling;  // " (a pseudonym of platform 1), ..."
            const range = document.createRange();
            range.setStart(text, 2); range.setEnd(text, 12);
            return [range.getBoundingClientRect().left, bdi.getBoundingClientRect().right];
        }"""
    )
    assert after >= bdi_right, (after, bdi_right)
    expect(page.get_by_text("a pseudonym of platform")).to_be_visible()
    _harmless(watched)


def test_zero_width_characters_are_kept_exactly(browser: Browser, served: Served) -> None:
    post = _post("zero_width")
    watched = _open(browser, served, post)
    shown = watched.page.locator("blockquote.post pre").first.text_content()
    assert shown == post.text  # every invisible character, and the leading newline, kept
    _harmless(watched)


def test_a_megabyte_post_renders_and_folds(browser: Browser, served: Served) -> None:
    watched = _open(browser, served, _post("megabyte"))
    page = watched.page
    tail = page.get_by_text(MEGABYTE_TAIL.strip())
    expect(tail).to_be_hidden()
    page.get_by_text("Show all (1048576 characters)").click()
    expect(tail).to_be_visible()
    _harmless(watched)


def test_text_that_was_invalid_utf8_shows_its_replacement_characters(
    browser: Browser, served: Served
) -> None:
    post = _post("invalid_utf8")
    watched = _open(browser, served, post)
    assert watched.page.locator("blockquote.post pre").first.text_content() == post.text
    expect(watched.page.locator("blockquote.post")).to_contain_text("caf\ufffd \ufffd\ufffd")
    _harmless(watched)
