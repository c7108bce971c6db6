"""Interface languages: gettext catalogs kept as ``.po`` files, chosen per request.

The catalogs in ``isegoria/locale/<lang>/LC_MESSAGES/messages.po`` are read with Babel at
start-up and compiled in memory, so no compile step or ``.mo`` file is needed. The language
comes from the ``isegoria_lang`` cookie (set by the switch in the page header), else from
the browser's ``Accept-Language`` header (RFC 9110 §12.5.4), else English.
"""

from __future__ import annotations

import contextvars
import functools
import gettext as gettext_module
import io
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

from isegoria.errors import Explained, fill, plain

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "en"
#: The interface languages, in the order the switch shows them.
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español", "fr": "Français", "de": "Deutsch"}
LANGUAGE_COOKIE = "isegoria_lang"
#: Longest Accept-Language header we parse (browsers send well under 200 characters).
MAX_ACCEPT_LANGUAGE = 512

_current: contextvars.ContextVar[str] = contextvars.ContextVar(
    "isegoria_language", default=DEFAULT_LANGUAGE
)


#: Catalogs that are not the interface's: the statements of reasons (legal text).
SEPARATE_DOMAINS = frozenset({"reasons"})


@functools.cache
def translations(language: str, domain: str = "messages") -> gettext_module.NullTranslations:
    """The compiled catalog of ``language`` (English is the source text itself).

    ``domain`` names the catalog: ``messages`` for the interface, ``reasons`` for the
    statements of reasons (legal text, kept apart from the pages' words). The interface's
    words may be split over several files (``messages.po``, ``staff.po``...), one per part of
    the site, so that parts written side by side do not edit one file; they are read as one.
    """
    if language == DEFAULT_LANGUAGE:
        return gettext_module.NullTranslations()
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    if domain in SEPARATE_DOMAINS:
        paths = [folder / f"{domain}.po"]
    else:
        paths = interface_catalogs(language)
    merged = gettext_module.NullTranslations()
    for path in reversed([p for p in paths if p.exists()]):
        catalog = _compile(path, language)
        catalog.add_fallback(merged)
        merged = catalog
    return merged


def interface_catalogs(language: str) -> list[Path]:
    """The ``.po`` files that hold the interface's words in ``language``, ``messages.po`` first."""
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    others = sorted(
        path
        for path in folder.glob("*.po")
        if path.stem != "messages" and path.stem not in SEPARATE_DOMAINS
    )
    return [folder / "messages.po", *others]


def _compile(path: Path, language: str) -> gettext_module.GNUTranslations:
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext_module.GNUTranslations(buffer)


def current_language() -> str:
    """The language of the request being served."""
    return _current.get()


def set_language(language: str) -> contextvars.Token[str]:
    """Use ``language`` for the rest of this context (a request, a test)."""
    return _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def gettext(message: str) -> str:
    """``message`` in the current language."""
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural of a message in the current language."""
    return translations(current_language()).ngettext(singular, plural, n)


def error_text(error: Explained) -> str:
    """``error``'s message in the current language, its values filled in (a moment written
    for the reader by Babel; other values as they are)."""
    return fill(gettext(error.template), error.params, _shown)


def _shown(value: object) -> str:
    if isinstance(value, datetime):
        moment = format_datetime(value, "medium", tzinfo=UTC, locale=current_language())
        return f"{moment} UTC"
    return plain(value)


def is_translated(error: Explained) -> bool:
    """Whether the current language has its own words for ``error``'s message."""
    return gettext(error.template) != error.template


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The language to use: the switch's cookie, else the best Accept-Language match."""
    if cookie in LANGUAGES:
        return cookie
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "")[:MAX_ACCEPT_LANGUAGE].split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


def install(env: Environment) -> None:
    """Make ``_()``, ``ngettext()`` and ``current_language()`` available in templates."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["current_language"] = current_language
    env.globals["languages"] = LANGUAGES


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _language_headers(headers: list[tuple[bytes, bytes]]) -> tuple[str | None, str | None]:
    """The Cookie and Accept-Language headers, found in one pass over the raw headers."""
    cookie = accept_language = None
    for name, value in headers:
        if name == b"cookie":
            cookie = value.decode("latin-1")
        elif name == b"accept-language":
            accept_language = value.decode("latin-1")
    return cookie, accept_language


class LanguageMiddleware:
    """Pure ASGI middleware that picks the request's language before anything renders."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Set the language for this request, then pass it on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw, accept_language = _language_headers(scope["headers"])
        cookie = None
        if raw and LANGUAGE_COOKIE in raw:  # parse cookies only when the switch set one
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(raw)
            except Exception:  # noqa: BLE001 - a malformed cookie header just means no choice
                jar = SimpleCookie()
            if LANGUAGE_COOKIE in jar:
                cookie = jar[LANGUAGE_COOKIE].value
        token = set_language(negotiate(cookie, accept_language))
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)
