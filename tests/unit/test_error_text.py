"""Errors keep their English text for the API and give pages the reader's words."""

from __future__ import annotations

from datetime import date

from isegoria import i18n
from isegoria.errors import InvalidInput, InvalidItems, ItemProblem, NotFound, RateLimited


def test_the_english_detail_is_filled_as_an_f_string_would_fill_it() -> None:
    case_id, day = 7, date(2026, 1, 2)
    error = NotFound("no case %(case)s on %(day)s", case=case_id, day=day)
    assert error.detail == f"no case {case_id} on {day}" == str(error)
    assert error.template == "no case %(case)s on %(day)s"
    assert error.params == {"case": 7, "day": day}


def test_a_message_without_values_may_hold_a_bare_percent_sign() -> None:
    assert InvalidInput("at most 100% of the votes", field="share").detail == (
        "at most 100% of the votes"
    )


def test_a_rate_limit_and_a_batch_keep_their_english_text() -> None:
    assert RateLimited("wait %(s)s s", retry_after=3, s=3).detail == "wait 3 s"
    batch = InvalidItems([ItemProblem(3, "rule", "no rule x")], collection="reports")
    assert batch.detail == (
        "1 of the reports cannot be accepted, so none was; the first, reports.3.rule: no rule x"
    )


def test_error_text_is_the_message_in_the_readers_language() -> None:
    error = InvalidInput("Rulebook of %(name)s", name="MX")
    token = i18n.set_language("fr")
    try:
        assert i18n.error_text(error) == "Règles de MX"
        assert i18n.is_translated(error)
        untranslated = NotFound("no case %(case)s", case=7)
        assert i18n.error_text(untranslated) == "no case 7"
        assert not i18n.is_translated(untranslated)
    finally:
        i18n._current.reset(token)
    assert error.detail == "Rulebook of MX" == i18n.error_text(error)
