"""Statements of reasons, one per outcome and language, compared with golden files.

The golden files in ``tests/fixtures/reasons/<language>/<outcome>.txt`` are what a
sanctioned author reads. To rewrite them after a deliberate change of wording, run
``ISEGORIA_UPDATE_GOLDEN=1 pytest tests/unit/test_reasons_golden.py`` and read the diff.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from isegoria import i18n
from isegoria.cases.reasons import build_statement
from isegoria.domain.constitution import Constitution
from isegoria.domain.decisions import StatementOfReasons
from isegoria.domain.rulebook import RuleVersion
from isegoria.domain.sanctions import GroundKind, HarmCategory, Sanction, SanctionStep
from isegoria.domain.verdict import Ballot, decide
from isegoria.store.models_cases import Case, Content, Report

GOLDEN = Path(__file__).parents[1] / "fixtures" / "reasons"
UPDATE = os.environ.get("ISEGORIA_UPDATE_GOLDEN") == "1"
LANGUAGES = ("en", "es", "fr", "de")
DECIDED = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
MX = Constitution("MX")  # jury 12, quorum 9, two thirds, appeal jury 25
RULE = RuleVersion(
    jurisdiction="MX",
    rule_id="MX-2",
    version=3,
    title="Amenazas creíbles",
    text="No amenazar a una persona con muerte o lesiones de forma creíble.",
    harm_category=HarmCategory.CYBER_VIOLENCE,
    ground=GroundKind.LEGAL,
    sanction_cap=SanctionStep.SUSPEND,
    max_suspension_days=14,
    effective_from=datetime(2026, 5, 4, 9, 0, tzinfo=UTC),
)


@dataclass(frozen=True)
class Scenario:
    """One outcome: the ballots, and what the case looked like before the verdict."""

    ballots: tuple[Ballot, ...]
    appeal: bool = False
    interim: str | None = None
    first: tuple[str, int | None] | None = None  # first-instance sanction, for appeals
    reports: int = 1


def _ballots(yes: int, no: int, sanction: Sanction | None, *others: Sanction) -> tuple[Ballot, ...]:
    proposals = [*others, *([sanction] * (yes - len(others)))]
    found = [Ballot(True, s, "Es una amenaza real contra una persona.") for s in proposals]
    kept = [Ballot(False, None, "Leído en contexto, no es lo que la regla prohíbe.")] * no
    return tuple(found + kept)


REMOVE = Sanction.of(SanctionStep.REMOVE)
NOTE = Sanction.of(SanctionStep.NOTE)
SCENARIOS = {
    "kept": Scenario(_ballots(4, 7, NOTE)),
    "lapsed": Scenario(_ballots(5, 2, REMOVE), reports=2),
    "context_note": Scenario(_ballots(9, 2, NOTE, REMOVE, REMOVE)),
    "removal": Scenario(_ballots(10, 1, REMOVE, Sanction.suspend(7)), reports=3),
    "suspension": Scenario(
        _ballots(9, 3, Sanction.suspend(7), Sanction.suspend(3), Sanction.suspend(30), REMOVE)
    ),
    "interim_upheld": Scenario(_ballots(11, 1, REMOVE), interim="active"),
    "interim_lifted": Scenario(_ballots(9, 2, NOTE), interim="active"),
    "interim_lapsed": Scenario(_ballots(3, 8, REMOVE), interim="lapsed"),
    "appeal_upheld": Scenario(
        _ballots(20, 3, REMOVE), appeal=True, first=("remove", None), reports=1
    ),
    "appeal_lightened": Scenario(
        _ballots(19, 4, REMOVE), appeal=True, first=("suspend", 7), reports=1
    ),
    "appeal_overturned": Scenario(
        _ballots(8, 15, REMOVE), appeal=True, first=("remove", None), reports=1
    ),
}


def statement(outcome: str, language: str) -> StatementOfReasons:
    """The statement of reasons of ``outcome`` for a post written in ``language``."""
    scenario = SCENARIOS[outcome]
    verdict = decide(list(scenario.ballots), MX, RULE, 0, appeal=scenario.appeal)
    content = Content(
        platform_content_id="post-8812",
        url="https://forum.example/posts/8812",
        text="…",
        language=language,
        author="@user042",
        posted_at=datetime(2026, 11, 2, 21, 7, tzinfo=UTC),
        jurisdictions="MX",
    )
    case = Case(
        id=37,
        platform_id=1,
        platform_content_id="post-8812",
        author="@user042",
        rule_id=RULE.rule_id,
        rule_version=RULE.version,
        jurisdiction="MX",
        interim_state=scenario.interim,
        interim_until=datetime(2026, 11, 5, 10, 0, tzinfo=UTC) if scenario.interim else None,
    )
    if scenario.first is not None:
        case.sanction, case.suspension_days = scenario.first
    reports = [Report(source="user")] + [Report(source="trusted_flagger")] * (scenario.reports - 1)
    jury = MX.effective_appeal_jury_size if scenario.appeal else MX.jury_size
    return build_statement(
        case=case,
        content=content,
        rule=RULE,
        constitution=MX,
        verdict=verdict,
        reasons=[scenario.ballots[0].reason, scenario.ballots[-1].reason],
        reports=reports,
        decision_id=120,
        decided_at=DECIDED + (timedelta(days=9) if scenario.appeal else timedelta(0)),
        appeal=scenario.appeal,
        jury_size=jury,
    )


def render(found: StatementOfReasons) -> str:
    """The three texts a reader sees, as a golden file holds them."""
    return (
        f"language: {found.language}\nsanction: {found.sanction.value}\n\n"
        f"[facts]\n{found.facts}\n\n[explanation]\n{found.explanation}\n\n"
        f"[redress]\n{found.redress}\n"
    )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("outcome", sorted(SCENARIOS))
def test_statement_matches_its_golden_file(outcome: str, language: str) -> None:
    text = render(statement(outcome, language))
    path = GOLDEN / language / f"{outcome}.txt"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with ISEGORIA_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("outcome", sorted(SCENARIOS))
def test_statements_read_like_a_clerk_wrote_them(outcome: str, language: str) -> None:
    found = statement(outcome, language)
    for text in (found.facts, found.explanation, found.redress):
        assert "(s)" not in text and "(1)" not in text and "%(" not in text
        # Sentence case: every sentence starts with a capital letter or a figure.
        for sentence in re.split(r"(?<=[.!?])\s+(?=\S)", text):
            assert sentence[:1].isupper() or sentence[:1].isdigit() or sentence[:1] in "“@", (
                sentence
            )
    assert f"{RULE.rule_id}" in found.facts and "3" in found.facts  # the rule and its version
    if language != "en":
        assert found.language == language
        english = statement(outcome, "en")
        assert found.explanation != english.explanation  # translated, not English


@pytest.mark.parametrize(
    ("language", "once", "many"),
    [
        ("en", "reported once", "reported 3 times"),
        ("es", "denunciada una vez", "denunciada 3 veces"),
        ("fr", "signalée une fois", "signalée 3 fois"),
        ("de", "einmal gemeldet", "3-mal gemeldet"),
    ],
)
def test_report_counts_use_each_languages_plural(language: str, once: str, many: str) -> None:
    assert once in statement("kept", language).facts
    assert many in statement("removal", language).facts


def test_a_post_in_another_language_gets_an_english_statement() -> None:
    scenario = statement("removal", "ja")
    assert scenario.language == "en" and "reported 3 times" in scenario.facts


PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
SOURCES = ("cases/reasons_text.py", "cases/reasons.py")


@pytest.mark.parametrize("language", ["es", "fr", "de"])
def test_every_sentence_of_the_reasons_is_translated_in_every_plural_form(language: str) -> None:
    src = Path(i18n.__file__).parent
    wanted = [
        message
        for source in SOURCES
        for _line, message, _comments, _context in extract_from_file(
            "python", str(src / source), keywords={"gettext": None, "ngettext": (1, 2)}
        )
    ]
    with (src / "locale" / language / "LC_MESSAGES" / "reasons.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    assert len(wanted) > 40
    for message in wanted:
        key = message if isinstance(message, str) else message[0]
        entry = catalog.get(key)
        assert entry is not None and entry.string, f"{language}: {key!r} is not translated"
        if isinstance(message, str):
            assert set(PLACEHOLDER.findall(str(entry.string))) == set(PLACEHOLDER.findall(key))
            continue
        forms = entry.string
        assert isinstance(forms, tuple) and len(forms) == catalog.num_plurals and all(forms)
        allowed = set(PLACEHOLDER.findall(message[0] + message[1]))
        for form in forms:
            assert set(PLACEHOLDER.findall(form)) <= allowed, (language, form)
        # The plural forms say every figure the English plural says.
        assert set(PLACEHOLDER.findall(forms[-1])) == set(PLACEHOLDER.findall(message[1]))
