"""Every page of the demo on a desktop and a phone: axe-core finds nothing serious, nothing is
wider than the window, the navigation keeps to its rows, chart labels stay apart and readable.

The same walk takes the screenshots of docs/screenshots/, so the pictures in the docs are of
the pages as they are today.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from tests.support.demo_pages import (
    CITIZEN,
    JUROR,
    PUBLIC,
    SCREENSHOTS,
    STAFF,
    DemoPage,
    demo_tour,
    sign_in,
)
from tests.support.server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
#: axe-core's two highest impacts; "moderate" and "minor" are reported, not failed on.
FAILING_IMPACTS = {"serious", "critical"}
#: The smallest chart text a person should have to read, in CSS pixels as drawn.
MIN_CHART_FONT = 8.0
LANGUAGES = ("es", "fr", "de")

# Links of each header navigation that start below the first one's top: a wrapped row.
WRAPPED_NAV = """() => [...document.querySelectorAll('header.site nav')].flatMap(nav => {
  const tops = [...nav.querySelectorAll('a')].map(a => Math.round(a.getBoundingClientRect().top));
  return tops.some(top => Math.abs(top - tops[0]) > 4) ? [nav.getAttribute('aria-label')] : [];
})"""

# Every text of every chart as the quadrilateral it covers on screen (rotation included), then
# a separating-axis test for each pair; also text that leaves the chart or is drawn too small.
CHART_TEXT = """(minFont) => {
  const problems = [];
  const quad = (text) => {
    const b = text.getBBox(), m = text.getScreenCTM();
    const right = b.x + b.width, bottom = b.y + b.height;
    return [[b.x, b.y], [right, b.y], [right, bottom], [b.x, bottom]]
      .map(([x, y]) => [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f]);
  };
  const apart = (p, q) => [p, q].some(poly => poly.some((a, i) => {
    const b = poly[(i + 1) % 4], nx = a[1] - b[1], ny = b[0] - a[0];
    const span = (pts) => pts.map(([x, y]) => x * nx + y * ny);
    const len = Math.hypot(nx, ny) || 1, s = span(p), t = span(q);
    return Math.min(...s) >= Math.max(...t) - len || Math.min(...t) >= Math.max(...s) - len;
  }));
  for (const svg of document.querySelectorAll('svg[role=img]')) {
    const title = svg.querySelector('title').textContent;
    const frame = svg.getBoundingClientRect();
    const scale = frame.width / svg.viewBox.baseVal.width;
    const texts = [...svg.querySelectorAll('text')].filter(t => t.textContent.trim());
    const quads = texts.map(quad);
    texts.forEach((text, i) => {
      const drawn = parseFloat(getComputedStyle(text).fontSize) * scale;
      const label = `${title}: "${text.textContent}"`;
      if (drawn < minFont) problems.push(`${label} drawn at ${drawn.toFixed(1)}px`);
      const off = ([x, y]) =>
        x < frame.left - 1 || x > frame.right + 1 || y < frame.top - 1 || y > frame.bottom + 1;
      if (quads[i].some(off)) problems.push(`${label} runs off the chart`);
      for (let j = i + 1; j < texts.length; j++)
        if (!apart(quads[i], quads[j]))
          problems.push(`${label} overlaps "${texts[j].textContent}"`);
    });
  }
  return problems;
}"""


@pytest.fixture(scope="module")
def tour(demo_server: LiveServer) -> list[DemoPage]:
    return demo_tour(demo_server)


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()  # axe.min.js ships inside the package: nothing is fetched


@pytest.fixture(scope="module")
def shots() -> Iterator[Path]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield SHOTS


def _serious(results: dict[str, Any], where: str) -> list[str]:
    return [
        f"{where}: {v['id']} ({v['impact']}) {v['help']} at "
        + ", ".join(" ".join(n["target"]) for n in v["nodes"][:3])
        for v in results["violations"]
        if v["impact"] in FAILING_IMPACTS
    ]


def _check(page: Page, axe: Axe, demo: DemoPage, shots: Path) -> list[str]:
    """What is wrong with one page at both widths (an empty list when nothing is)."""
    problems: list[str] = []
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        where = f"{demo.name} ({demo.path}, {name}, {demo.login or 'anonymous'})"
        problems += _serious(axe.run(page).response, where)
        problems += [f"{where}: {p}" for p in page.evaluate(CHART_TEXT, MIN_CHART_FONT)]
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > size["width"]:
            problems.append(f"{where}: the page is {width}px wide")
        if name == "desktop":
            problems += [
                f"{where}: the {nav} navigation wraps" for nav in page.evaluate(WRAPPED_NAV)
            ]
        if demo.name in SCREENSHOTS:
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(shots / f"{SCREENSHOTS[demo.name]}-{name}.png"))
    return problems


def _headers_in_every_language(page: Page, server: LiveServer) -> list[str]:
    """The header's rows do not wrap, nor widen a phone, in the longer languages either."""
    problems = []
    for language in LANGUAGES:
        page.set_viewport_size(DESKTOP)
        page.goto(f"{server.url}/language/{language}?next=/")
        wrapped = page.evaluate(WRAPPED_NAV)
        problems += [f"home in {language}: the {nav} navigation wraps" for nav in wrapped]
        page.set_viewport_size(PHONE)
        if (width := page.evaluate("document.documentElement.scrollWidth")) > PHONE["width"]:
            problems.append(f"home in {language}: the page is {width}px wide on a phone")
    page.goto(f"{server.url}/language/en?next=/")
    return problems


@pytest.mark.parametrize("login", [PUBLIC, CITIZEN, JUROR, *STAFF])
def test_every_page_on_desktop_and_phone(
    browser: Browser,
    demo_server: LiveServer,
    tour: list[DemoPage],
    axe: Axe,
    shots: Path,
    login: str,
) -> None:
    pages = [demo for demo in tour if demo.login == login]
    assert pages, f"the tour has no page for {login or 'anonymous visitors'}"
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    if login:
        sign_in(page, demo_server, login)
    problems: list[str] = []
    for demo in pages:
        page.set_viewport_size(DESKTOP)
        answer = page.goto(f"{demo_server.url}{demo.path}")
        assert answer is not None
        if answer.status >= 500:
            problems.append(f"{demo.name} ({demo.path}): HTTP {answer.status}")
            continue
        problems += _check(page, axe, demo, shots)
    problems += _headers_in_every_language(page, demo_server)
    context.close()
    assert problems == [], "\n".join(problems)
