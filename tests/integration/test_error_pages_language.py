"""A refusal a service writes reaches a page in the reader's language; the API keeps English."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from isegoria import i18n
from isegoria.errors import NotFound

MISSING_CASE = 987654


def _detail(page: str) -> tuple[str, str | None]:
    """The error page's message and the language it is marked as, if any."""
    found = re.search(r'<p(?: lang="(\w+)")?>([^<]*987654[^<]*)</p>', page)
    assert found is not None, page[:2000]
    return html.unescape(found.group(2)), found.group(1)


@pytest.mark.parametrize("language", ["es", "fr", "de"])
def test_a_missing_case_is_said_in_the_readers_words(client: TestClient, language: str) -> None:
    error = NotFound("no case %(case_id)s", case_id=MISSING_CASE)
    token = i18n.set_language(language)
    try:
        expected = i18n.error_text(error)
    finally:
        i18n._current.reset(token)
    assert expected != error.detail  # the catalog has its own words for it

    client.cookies.set(i18n.LANGUAGE_COOKIE, language)
    page = client.get(f"/cases/{MISSING_CASE}")
    assert page.status_code == 404
    text, marked = _detail(page.text)
    assert text == expected
    assert marked is None  # in the page's language, not marked as English


def test_the_api_and_an_english_reader_keep_the_english_text(client: TestClient) -> None:
    client.cookies.set(i18n.LANGUAGE_COOKIE, "es")
    problem = client.get(f"/api/v1/cases/{MISSING_CASE}").json()
    assert problem["detail"] == f"no case {MISSING_CASE}"
    client.cookies.set(i18n.LANGUAGE_COOKIE, "en")
    assert _detail(client.get(f"/cases/{MISSING_CASE}").text) == (f"no case {MISSING_CASE}", None)
