"""Every page of the demo in Spanish, French and German: no English left, no raw values.

Each page is read in a real Chromium as the person who sees it (anonymous, a citizen, a
staff member), first in English, then in each other language. A piece of text of a
translated page fails when it is the same as a piece of its English rendering (it was not
translated) or holds an English word, unless it is a proper name or what people wrote (the
demo's posts, rules, proposals and notes). On any page, English included, it fails on a raw
value: an enum's name, ``None``, an ISO timestamp, a Python dict or list, seconds.
"""

from __future__ import annotations

import ast
import enum
import importlib
import pkgutil
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright._impl._api_structures import SetCookieParam
from playwright.sync_api import Browser, BrowserContext, Page

import isegoria.demo
import isegoria.domain
from isegoria.domain import states
from isegoria.i18n import LANGUAGE_COOKIE
from isegoria.notifications.messages import Kind
from tests.e2e import test_citizen_walk_browser as walk
from tests.support.server import LiveServer
from tests.support.staff_browser import sign_in_staff

pytestmark = pytest.mark.browser

LANGUAGES = ("es", "fr", "de")

#: The pages of the demo, by who reads them. ``{case}`` and the like are filled from links.
PUBLIC_PAGES = [
    "/",
    "/law",
    "/law/intl",
    "/law/MX",
    "/law/intl/constitution",
    "/law/rules/intl-1",
    "/law/rules/intl-5",
    "/proposals",
    "/proposals/{proposal}",
    "/proposals/{adopted_proposal}",
    "/proposals/{constitution_proposal}",
    "/cases",
    "/cases/{open_case}",
    "/cases/{decided_case}",
    "/cases/{appealed_case}",
    "/contents/{content}",
    "/notes/{note}",
    "/reports",
    "/reports/print",
    "/log",
    "/log/1",
    "/log/{last_entry}",
    "/receipts",
    "/login",
    "/api/v1/docs",
    "/cases/999999",  # the error page: not found
    "/jury",  # the error page: log in first
]
CITIZEN_PAGES = [
    "/",
    "/jury",
    "/me/cases",
    "/me/votes",
    "/triage",
    "/notes/rate",
    "/notifications",
    "/notifications/preferences",
    "/proposals/new",
    "/proposals/{proposal}",
    "/account/security",
    "/cases/{juror_case}/file",
]
STAFF_PAGES = ["/", "/account/security", "/jury"]  # /jury: a staff member is told why not

#: Names nobody translates.
PROPER_NAMES = {
    "isegoria",
    "intl",
    "Mastodon",
    "Matrix",
    "Bluesky",
    "ActivityPub",
    "OpenAPI",
    "JSON",
    "CSV",
    "SVG",
    "PDF",
    "API",
    "UTC",
    "TOTP",
    "HTTP",
    "HTTPS",
    "URL",
    "RFC",
    "EU",
    "DSA",
    "Merkle",
    "SHA",
    "Ed25519",
    "Demo Forum",
    "Ley Olimpia",
    "English",
    "Español",
    "Français",
    "Deutsch",
}
#: Words a language shares with English, so a label may rightly read the same.
SAME_WORD = {
    "es": {"total", "error", "no", "sí", "plan", "hash", "log", "id", "original", "vote"},
    "fr": {
        "total",
        "jury",
        "notes",
        "note",
        "date",
        "description",
        "page",
        "instance",
        "minimum",
        "maximum",
        "sanction",
        "sanctions",
        "motif",
        "code",
        "hash",
        "id",
        "version",
        "versions",
        "transparence",
        "non",
        "verdict",
        "verdicts",
        "original",
        "vote",
        "votes",
        "violation",
        "violations",
        "suspension",
        "notification",
        "notifications",
        "centre",
        "constitution",
        "quotas",
        "quorum",
        "type",
        "public",
        "violence",
        "audit",
    },
    "de": {
        "status",
        "name",
        "total",
        "jury",
        "code",
        "hash",
        "id",
        "version",
        "versionen",
        "start",
        "login",
        "ende",
        "original",
        "quorum",
        "parameter",
        "body",
        "schemas",
        "passkeys",
    },
}
#: Words of English that none of es, fr, de uses: one of them is English left behind.
ENGLISH_WORDS = {
    "the", "and", "of", "with", "your", "you", "this", "that", "been", "which", "from", "for",
    "not", "yet", "case", "cases", "jury", "juror", "jurors", "vote", "votes", "voted",
    "rule", "rules", "report", "reports", "proposal", "proposals", "citizen", "citizens",
    "post", "posts", "decided", "open", "closed", "pending", "lapsed", "violation", "none",
    "remove", "removal", "suspend", "suspension", "reach", "reduce", "ban", "first",
    "appeal", "accepted", "declined", "deadline", "until", "since", "days", "day", "hours",
    "seconds", "minutes", "yes", "back", "home", "page", "sign", "log in", "read", "unread",
    "helpful", "needs", "more", "ratings", "rating", "show", "shown", "harm", "category",
    "ground", "legal", "highest", "covers", "enact", "amend", "repeal", "deliberation",
    "voting", "adopted", "rejected", "withdrawn", "operator", "auditor", "forbidden",
    "found", "summons", "ballot", "inbox", "settings", "language", "channels", "email",
    "notification", "notifications", "period", "share", "majority", "quorum", "threshold",
}  # fmt: skip

ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2})?")
PYTHON_REPR = re.compile(r"\{'[^']*': |\['[^']*'[,\]]|\bNone\b|\bTrue\b|\bFalse\b")
SECONDS = re.compile(r"\b\d+(\.\d+)?\s?(s|sec|secs|seconds)\b")
WORD = re.compile(r"[^\W\d_]{2,}")
PSEUDONYM = re.compile(r"https?://\S+|(?<!\w)/[\w/?=.-]+|@[\w.:-]+|\b[a-zA-Z]+-\d+( v\d+)?\b|#\d+")

#: Collect every piece of text a person reads on the page, and the attributes read aloud.
TEXT_PIECES = """() => {
  const pieces = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest('script, style, template, code, pre, [data-raw]')) continue;
    // A part marked as written in another language (the language switch, a statement of
    // reasons written in the post's language, the API's English reference).
    const lang = parent.closest('[lang]');
    const marked = lang && lang !== document.documentElement ? lang.getAttribute('lang') : '';
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    if (text) pieces.push([text, marked]);
  }
  for (const el of document.querySelectorAll('[title], [aria-label], [alt], [placeholder]')) {
    for (const name of ['title', 'aria-label', 'alt', 'placeholder']) {
      const value = el.getAttribute(name);
      if (value) pieces.push([value.replace(/\\s+/g, ' ').trim(), '']);
    }
  }
  pieces.push([document.title, '']);
  return pieces;
}"""


def _demo_literals() -> set[str]:
    """Every string the demo's modules write: what its people posted, proposed and noted."""
    found: set[str] = set()
    for module in pkgutil.iter_modules(isegoria.demo.__path__):
        source = Path(isegoria.demo.__path__[0], f"{module.name}.py").read_text()
        tree = ast.parse(source)
        docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
        for node in ast.walk(tree):
            if id(node) in docstrings:
                continue
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = " ".join(node.value.replace("**", "").split())
                if " " in text or text[:1].isupper():
                    found.add(text)
    return found


def _raw_values() -> set[str]:
    """The values of the domain's enums, as the database and the code spell them."""
    values = {kind.value for kind in Kind}
    for module in pkgutil.walk_packages(isegoria.domain.__path__, "isegoria.domain."):
        for thing in vars(importlib.import_module(module.name)).values():
            if isinstance(thing, type) and issubclass(thing, enum.Enum):
                values |= {m.value for m in thing if isinstance(m.value, str)}
            elif isinstance(thing, type) and thing.__module__ == states.__name__:
                values |= {v for k, v in vars(thing).items() if k.isupper() and isinstance(v, str)}
    return {value for value in values if len(value) > 2}


#: People's words: the demo's, and those the citizen's walk writes into the same server.
USER_TEXT = _demo_literals() | set(walk.PEOPLES_WORDS)
#: A shorter piece of a rule's or a post's text is not taken for the people's words.
MIN_QUOTE = 12
#: How many problems the failure message lists.
MAX_SHOWN = 80
RAW_VALUES = _raw_values()


def _choose_language(context: BrowserContext, url: str, language: str) -> None:
    """What the language switch does: a cookie for the whole site."""
    host = urlsplit(url).hostname or ""
    cookie: SetCookieParam = {
        "name": LANGUAGE_COOKIE,
        "value": language,
        "domain": host,
        "path": "/",
    }
    context.add_cookies([cookie])


@dataclass
class Reader:
    """One person's browser, signed in once and switched between languages."""

    context: BrowserContext
    page: Page

    def read(self, url: str, language: str) -> list[tuple[str, str]]:
        """The pieces of text of ``url`` in ``language``."""
        _choose_language(self.context, url, language)
        response = self.page.goto(url)
        assert response is not None and response.status < 500, f"{url} failed"
        pieces: list[list[str]] = self.page.evaluate(TEXT_PIECES)
        return [(text, lang) for text, lang in pieces]


def _is_user_text(piece: str) -> bool:
    """Whether ``piece`` is what the demo's people wrote (or, when long enough, part of it)."""
    piece = piece.replace("**", "")  # a rule's text as written, in a diff
    if piece in USER_TEXT:
        return True
    return len(piece) >= MIN_QUOTE and any(piece in text for text in USER_TEXT)


def _leftover_words(piece: str, language: str) -> list[str]:
    """The words of ``piece`` once names, ids and what people wrote are taken out."""
    text = PSEUDONYM.sub(" ", piece)
    for name in sorted(PROPER_NAMES | {t for t in USER_TEXT if len(t) > 3}, key=len, reverse=True):
        text = text.replace(name, " ")
    return [w for w in WORD.findall(text) if w.lower() not in SAME_WORD[language]]


def raw_values_in(pieces: list[tuple[str, str]], language: str) -> list[str]:
    """The pieces that show a value as the code stores it instead of as words."""
    bad = []
    for piece, lang in pieces:
        if _is_user_text(piece):
            continue
        if ISO_TIME.search(piece) or PYTHON_REPR.search(piece) or SECONDS.search(piece):
            bad.append(piece)
        elif lang:
            continue  # the API's reference names its own values
        elif any("_" in v and v in piece for v in RAW_VALUES):
            bad.append(piece)
        elif language != "en" and (word := piece.strip(" ()·:")) in RAW_VALUES:
            if word.lower() not in SAME_WORD[language]:  # French writes "violence" as the code
                bad.append(piece)
    return bad


def english_in(pieces: list[tuple[str, str]], english: set[str], language: str) -> list[str]:
    """The pieces of a translated page that are still English."""
    bad = []
    for piece, lang in pieces:
        if (lang and lang != language) or _is_user_text(piece):
            continue  # marked as another language (the language switch), or people's words
        words = _leftover_words(piece, language)
        if not words:
            continue
        if piece in english or any(w.lower() in ENGLISH_WORDS for w in words):
            bad.append(piece)
    return bad


def _first_link(page: Page, url: str, pattern: str, nth: int = 0) -> str:
    page.goto(url)
    hrefs: list[str] = page.eval_on_selector_all(
        "a[href]", "els => els.map(e => e.getAttribute('href'))"
    )
    matching = [h for h in (h.split("#")[0] for h in hrefs) if re.fullmatch(pattern, h)]
    assert len(matching) > nth, f"no link like {pattern} on {url}"
    return matching[nth].rsplit("/", 1)[-1]


def _ids(page: Page, server: LiveServer) -> dict[str, str]:
    """The ids the page list needs, found by following the demo's links like a reader."""
    _choose_language(page.context, server.url, "en")
    ids = {
        "proposal": _first_link(page, f"{server.url}/proposals", r"/proposals/\d+"),
        "open_case": _first_link(page, f"{server.url}/cases", r"/cases/\d+"),
        "content": "1",  # the demo's first post, which has notes
        "note": _first_link(page, f"{server.url}/contents/1", r"/notes/\d+"),
        "last_entry": _first_link(page, f"{server.url}/log", r"/log/\d+"),
    }
    page.goto(f"{server.url}/cases")
    rows = page.locator("tbody tr")
    for row in rows.all():
        text = row.inner_text()
        case = row.locator("a").first.get_attribute("href") or ""
        if "appeal" in text and "appealed_case" not in ids:
            ids["appealed_case"] = case.rsplit("/", 1)[-1]
        elif "violation" in text.lower() and "decided_case" not in ids:
            ids["decided_case"] = case.rsplit("/", 1)[-1]
    page.goto(f"{server.url}/proposals")
    for row in page.locator("tbody tr").all():
        text = row.inner_text().lower()
        link = (row.locator("a").first.get_attribute("href") or "").rsplit("/", 1)[-1]
        if "adopted" in text and "constitution" in text:
            ids.setdefault("constitution_proposal", link)
        elif "adopted" in text:
            ids.setdefault("adopted_proposal", link)
    page.goto(f"{server.url}/jury")
    ids["juror_case"] = _first_link(page, f"{server.url}/jury", r"/cases/\d+")
    return ids


def _sign_in_citizen(context: BrowserContext, server: LiveServer, login: str, pw: str) -> Page:
    page = context.new_page()
    page.goto(f"{server.url}/login")
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill(pw)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


@pytest.fixture(scope="module")
def readers(
    browser: Browser, demo_server: LiveServer, demo_logins: dict[str, str]
) -> Iterator[dict[str, Reader]]:
    """Three browsers: nobody signed in, the citizen ana, the staff operator."""
    contexts = [browser.new_context(locale="en-US") for _ in range(3)]
    anonymous = contexts[0].new_page()
    citizen = _sign_in_citizen(contexts[1], demo_server, "ana", demo_logins["ana"])
    staff = contexts[2].new_page()
    sign_in_staff(staff, demo_server, "operator")
    yield {
        "anonymous": Reader(contexts[0], anonymous),
        "citizen": Reader(contexts[1], citizen),
        "staff": Reader(contexts[2], staff),
    }
    for context in contexts:
        context.close()


def test_every_page_reads_in_every_language(
    readers: dict[str, Reader], demo_server: LiveServer
) -> None:
    ids = _ids(readers["citizen"].page, demo_server)
    plan = [
        ("anonymous", PUBLIC_PAGES),
        ("citizen", CITIZEN_PAGES),
        ("staff", STAFF_PAGES),
    ]
    problems: list[str] = []
    visited = 0
    for who, paths in plan:
        reader = readers[who]
        for path in paths:
            url = demo_server.url + path.format(**ids)
            english_pieces = reader.read(url, "en")
            english = {piece for piece, _lang in english_pieces}
            problems += [f"{who} {path} en: raw {p!r}" for p in raw_values_in(english_pieces, "en")]
            for language in LANGUAGES:
                pieces = reader.read(url, language)
                visited += 1
                assert reader.page.locator("html").get_attribute("lang") == language
                problems += [
                    f"{who} {path} {language}: raw {p!r}" for p in raw_values_in(pieces, language)
                ]
                problems += [
                    f"{who} {path} {language}: English {p!r}"
                    for p in english_in(pieces, english, language)
                ]
    assert visited >= 3 * (len(PUBLIC_PAGES) + len(CITIZEN_PAGES) + len(STAFF_PAGES))
    unique = list(dict.fromkeys(problems))
    assert unique == [], f"{len(unique)} problems, e.g.:\n" + "\n".join(unique[:MAX_SHOWN])


def test_the_checks_catch_english_and_raw_values() -> None:
    english = {"Case status", "Your summons"}
    pieces = [
        ("Estado del caso", ""),
        ("Your summons", ""),
        ("Sanción: removal of the post", ""),
        ("English", "en"),
        ("Sé dónde vives y esta noche vamos a ir por ti.", ""),
    ]
    assert english_in(pieces, english, "es") == ["Your summons", "Sanción: removal of the post"]
    raw = [
        ("no_show", ""),
        ("remove", ""),
        ("{'quorum': 3}", ""),
        ("None", ""),
        ("2026-12-01T12:00:00", ""),
        ("86400 s", ""),
        ("1 de diciembre de 2026", ""),
    ]
    assert raw_values_in(raw, "es") == [p for p, _ in raw[:6]]


def test_the_api_reference_reads_cleanly(demo_server: LiveServer) -> None:
    spec = httpx.get(f"{demo_server.url}/api/v1/openapi.json").json()
    summaries = [op["summary"] for item in spec["paths"].values() for op in item.values()]
    # Each summary is its handler's docstring, not a name made up from the function.
    assert "Did Json" not in summaries and "Transparency Json" not in summaries
    assert any(s.startswith("The labeler's ``did:web`` document") for s in summaries)
    page = httpx.get(f"{demo_server.url}/api/v1/docs").text
    text = re.sub(r"<[^>]+>", " ", page)
    assert "`" not in text and "&#96;" not in text, "reStructuredText or Markdown quotes left"
    assert "Did Json" not in text
    assert "<code>did:web</code>" in page  # a code span, rendered
