"""Errors keep their English text for the API and give pages the reader's words."""

from __future__ import annotations

import ast
from datetime import date

from isegoria import i18n
from isegoria.domain.sanctions import SanctionError
from isegoria.errors import InvalidInput, InvalidItems, ItemProblem, NotFound, RateLimited
from tests.support.error_sources import constructions, error_classes


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


#: Messages built elsewhere and passed on: each names why it is still a translatable one.
PASSED_ON = {
    # The page translates it where it is written (i18n.gettext), in the reader's language.
    "i18n.gettext": "translated where written",
    # A template marked for the extractor where it is chosen (one of two, for instance).
    "N_": "marked with N_",
    # A template marked with N_ where it is written (intake's checks, a draft's checks, a
    # rule not in force), filled with its values where it is raised.
    "template": "marked with N_",
    # A page's own 403 text, translated by the caller (pages.citizen_id).
    "forbidden": "translated by the caller",
    # A signed ActivityPub delivery refused: a machine's protocol error, for its operator.
    "message": "a federation protocol's own error",
    # A batch: its items' problems, each with its own message (InvalidItems).
    "problems": "a batch's problems",
    # Another explained error's template, handed on with its values (already a literal).
    ".template": "another error's template",
}


def _passed_on(message: ast.expr) -> str | None:
    if isinstance(message, ast.BinOp):  # gettext("...%(n)s") % {...}
        message = message.left
    if isinstance(message, ast.IfExp):  # one of two messages: both must be fit
        both = (_passed_on(message.body), _passed_on(message.orelse))
        return None if None in both else both[0]
    if isinstance(message, ast.Call):
        return ast.unparse(message.func) if ast.unparse(message.func) in PASSED_ON else None
    if isinstance(message, ast.Attribute) and message.attr == "template":
        return ".template"
    return message.id if isinstance(message, ast.Name) and message.id in PASSED_ON else None


def test_every_error_message_is_a_template_the_catalogs_can_hold() -> None:
    """A message is a literal (so the catalog test finds it) or one of the vetted passings-on."""
    seen = 0
    unfit = []
    for built in constructions():
        seen += 1
        message = built.message
        if isinstance(message, ast.Constant) and isinstance(message.value, str):
            continue
        if isinstance(message, ast.JoinedStr):
            unfit.append(f"{built.where}: an f-string (use %(name)s and keywords)")
        elif _passed_on(message) is None:
            unfit.append(f"{built.where}: {ast.unparse(message)[:60]}")
    assert seen > 300
    assert unfit == []


def test_the_scan_finds_errors_of_every_layer() -> None:
    classes = error_classes()
    assert {"InvalidInput", "NotFound", "RuleNotInForceError", "SanctionError"} <= classes
    assert {"ContextNoteError", "ConstitutionError", "TallyError"} <= classes
    # The signed-note parser's errors are a log format's, not a person's: outside the set.
    assert "MalformedNoteError" not in classes


def test_a_wrapped_domain_error_keeps_its_template_and_its_translation() -> None:
    domain = SanctionError("a suspension is 1 to %(max)s days", max=90)
    error = InvalidInput.because(domain, field="sanction")
    assert (error.template, error.params, error.field) == (domain.template, {"max": 90}, "sanction")
    assert error.detail == "a suspension is 1 to 90 days"
    plain = InvalidInput.because(ValueError("100% wrong"))
    assert plain.detail == "100% wrong" == i18n.error_text(plain)
