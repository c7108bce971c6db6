"""DSA Transparency Database export: sanction mapping, validation rules, JSON and CSV."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isegoria.domain.decisions import Decision, DecisionKind, ReportSource, StatementOfReasons
from isegoria.domain.sanctions import GroundKind, HarmCategory, SanctionStep
from isegoria.integrations.dsa import (
    DsaExportError,
    export_csv,
    export_json_batches,
    statement_record,
    validate_record,
)
from isegoria.integrations.dsa_schema import FIELDS

DECIDED = datetime(2026, 2, 10, 15, 30, tzinfo=UTC)
POSTED = datetime(2026, 1, 30, 8, 0, tzinfo=UTC)


def statement(
    step: SanctionStep = SanctionStep.REMOVE, days: int | None = None, **changes: Any
) -> StatementOfReasons:
    base = StatementOfReasons(
        case_id=3,
        decision_id=17,
        decided_at=DECIDED,
        jurisdiction="FR",
        territorial_scope=("FR",),
        rule_id="FR-4",
        rule_version=2,
        rule_title="Threats of violence",
        rule_text="No one may threaten another with violence.",
        ground=GroundKind.LEGAL,
        harm_category=HarmCategory.VIOLENCE,
        sanction=step,
        suspension_days=days,
        measure_ends_at=DECIDED + timedelta(days=days) if days else None,
        facts="A post told a named neighbour he would be hurt.",
        notice_received=True,
        notice_source=ReportSource.USER,
        automated_detection=False,
        automated_decision=False,
        explanation="9 of 11 jurors found a credible threat.",
        tally={"violation": 9, "no_violation": 2, "cast": 11, "jury": 12},
        redress="Appeal within 14 days.",
        content_id="p1",
        content_url="https://forum.example/p1",
        content_language="fr-FR",
        content_posted_at=POSTED,
    )
    return dataclasses.replace(base, **changes)


def decision(step: SanctionStep = SanctionStep.REMOVE) -> Decision:
    return Decision(
        id=17, kind=DecisionKind.SANCTION_IMPOSED, platform_id=2, case_id=3, content_id="p1",
        content_url="https://forum.example/p1", author="u1", sanction=step, suspension_days=None,
        issued_at=DECIDED, sequence=1, statement_url="https://isegoria.example/statements/17",
    )  # fmt: skip


def record(step: SanctionStep = SanctionStep.REMOVE, **changes: Any) -> dict[str, Any]:
    days = changes.pop("days", 7 if step is SanctionStep.SUSPEND else None)
    return statement_record(
        statement(step, days, **changes),
        decision(step),
        puid_prefix="isegoria.example",
        rule_url="https://isegoria.example/law/FR-4/v2",
    )


@pytest.mark.parametrize(
    ("step", "visibility", "account", "end_field"),
    [
        (SanctionStep.NOTE, ["DECISION_VISIBILITY_CONTENT_LABELLED"], None, None),
        (SanctionStep.REDUCE_REACH, ["DECISION_VISIBILITY_CONTENT_DEMOTED"], None, None),
        (SanctionStep.REMOVE, ["DECISION_VISIBILITY_CONTENT_REMOVED"], None, None),
        (SanctionStep.SUSPEND, None, "DECISION_ACCOUNT_SUSPENDED", "end_date_account_restriction"),
        (SanctionStep.BAN, None, "DECISION_ACCOUNT_TERMINATED", None),
    ],
)
def test_each_sanction_maps_to_its_decision_fields(
    step: SanctionStep, visibility: list[str] | None, account: str | None, end_field: str | None
) -> None:
    out = record(step)
    assert validate_record(out) == []
    assert out.get("decision_visibility") == visibility
    assert out.get("decision_account") == account
    assert "decision_monetary" not in out and "decision_provision" not in out
    ends = {k for k in out if k.startswith("end_date_")}
    assert ends == ({end_field} if end_field else set())
    if end_field:
        assert out[end_field] == "2026-02-17"  # decided 10 Feb + 7 days


def test_no_action_is_not_a_statement_of_reasons() -> None:
    with pytest.raises(DsaExportError, match="restricts nothing"):
        record(SanctionStep.NONE)


def test_fields_of_a_legal_ground_statement() -> None:
    out = record()
    assert out["puid"] == "isegoria-example-17"
    assert out["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert out["illegal_content_legal_ground"] == "FR-4 v2: Threats of violence"
    assert out["illegal_content_explanation"] == "9 of 11 jurors found a credible threat."
    assert not any(k.startswith("incompatible_") for k in out)
    assert out["category"] == "STATEMENT_CATEGORY_VIOLENCE"
    assert out["content_date"] == "2026-01-30" and out["application_date"] == "2026-02-10"
    assert out["content_language"] == "FR" and out["territorial_scope"] == ["FR"]
    assert out["source_type"] == "SOURCE_ARTICLE_16" and "source_identity" not in out
    assert out["automated_detection"] == "No"
    assert out["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert out["decision_facts"].endswith("Full statement: https://isegoria.example/statements/17")
    assert out["decision_ground_reference_url"] == "https://isegoria.example/law/FR-4/v2"


def test_fields_of_a_community_standard_statement() -> None:
    out = record(ground=GroundKind.COMMUNITY_STANDARD, harm_category=HarmCategory.SCAMS_AND_FRAUD)
    assert validate_record(out) == []
    assert out["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert out["incompatible_content_ground"] == "FR-4 v2: Threats of violence"
    assert out["incompatible_content_illegal"] == "No"
    assert not any(k.startswith("illegal_") for k in out)


def test_scope_sources_and_languages() -> None:
    eu = record(territorial_scope=("EU", "MX"))
    assert len(eu["territorial_scope"]) == 27 and "NO" not in eu["territorial_scope"]
    assert record(territorial_scope=("EL", "no"))["territorial_scope"] == ["GR", "NO"]
    with pytest.raises(DsaExportError, match="no EEA country"):
        record(territorial_scope=("MX", "US"))
    with pytest.raises(DsaExportError, match="content_date"):
        record(content_posted_at=None)
    flagged = record(notice_source=ReportSource.TRUSTED_FLAGGER)
    assert flagged["source_type"] == "SOURCE_TRUSTED_FLAGGER"
    own = record(notice_received=False, notice_source=None, automated_detection=True)
    assert own["source_type"] == "SOURCE_VOLUNTARY" and own["automated_detection"] == "Yes"
    assert "content_language" not in record(content_language="tlh")  # Klingon: no ISO 639-1


@settings(max_examples=150, deadline=None)
@given(
    step=st.sampled_from([s for s in SanctionStep if s is not SanctionStep.NONE]),
    ground=st.sampled_from(GroundKind),
    category=st.sampled_from(HarmCategory),
    source=st.sampled_from(ReportSource),
    facts=st.text(min_size=1, max_size=7000),
    explanation=st.text(min_size=1, max_size=3000),
    title=st.text(min_size=1, max_size=700),
    language=st.sampled_from(["", "en", "es-MX", "pt-BR", "xx", "de"]),
)
def test_every_exported_record_passes_validation(
    step: SanctionStep,
    ground: GroundKind,
    category: HarmCategory,
    source: ReportSource,
    facts: str,
    explanation: str,
    title: str,
    language: str,
) -> None:
    out = record(
        step, ground=ground, harm_category=category, notice_source=source, facts=facts,
        explanation=explanation, rule_title=title, content_language=language,
    )  # fmt: skip
    assert validate_record(out) == []


def broken(**changes: Any) -> dict[str, Any]:
    out = record()
    for key, value in changes.items():
        if value is ...:
            del out[key]
        else:
            out[key] = value
    return out


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"puid": ...}, "puid is required"),
        ({"puid": "a/b"}, "puid may contain only"),
        ({"puid": "a" * 501}, "puid must be text of at most 500"),
        ({"decision_visibility": ...}, "at least one of decision_visibility"),
        ({"decision_visibility": ["DECISION_VISIBILITY_HIDDEN"]}, "'DECISION_VISIBILITY_HIDDEN'"),
        ({"decision_visibility": "DECISION_VISIBILITY_CONTENT_REMOVED"}, "must be a list"),
        (
            {"decision_visibility": ["DECISION_VISIBILITY_OTHER"]},
            "decision_visibility_other is required",
        ),
        ({"decision_visibility_other": "x"}, "decision_visibility_other must be absent"),
        ({"illegal_content_legal_ground": ...}, "illegal_content_legal_ground is required"),
        ({"incompatible_content_ground": "T&C 3"}, "incompatible_content_ground must be absent"),
        ({"decision_ground": "DECISION_GROUND_BAD"}, "'DECISION_GROUND_BAD'"),
        ({"category": "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT"}, "category:"),
        ({"content_date": "30/01/2026"}, "format YYYY-MM-DD"),
        ({"content_date": "2026-02-30"}, "not a calendar date"),
        ({"content_date": "1999-12-31"}, "before 2000-01-01"),
        ({"application_date": "2039-01-01"}, "after 2038-01-01"),
        ({"end_date_account_restriction": "2026-3-1"}, "format YYYY-MM-DD"),
        ({"territorial_scope": ["FR", "US"]}, "territorial_scope: 'US'"),
        ({"territorial_scope": ["EL"]}, "territorial_scope: 'EL'"),
        ({"content_language": "fr"}, "content_language: 'fr'"),
        ({"source_type": "SOURCE_VOLUNTARY", "source_identity": "Alice"}, "source_identity"),
        ({"automated_detection": True}, "automated_detection: True"),
        ({"automated_decision": ...}, "automated_decision is required"),
        ({"decision_facts": "x" * 5001}, "decision_facts must be text of at most 5000"),
        ({"decision_facts": ""}, "decision_facts is required"),
        ({"decision_ground_reference_url": "ftp://x/y"}, "must be an http(s) URL"),
        ({"category_specification": ["KEYWORD_NOPE"]}, "'KEYWORD_NOPE'"),
        ({"content_id_ean": "123"}, "EAN-13"),
        ({"colour": "red"}, "unknown field 'colour'"),
    ],
)
def test_the_validator_catches_broken_records(changes: dict[str, Any], message: str) -> None:
    errors = validate_record(broken(**changes))
    assert any(message in error for error in errors), errors


def test_json_batches_hold_at_most_100_records() -> None:
    records = [{**record(), "puid": f"isegoria-{n}"} for n in range(250)]
    batches = export_json_batches(records)
    assert [len(json.loads(b)["statements"]) for b in batches] == [100, 100, 50]
    assert json.loads(batches[2])["statements"][-1]["puid"] == "isegoria-249"
    assert [len(json.loads(b)["statements"]) for b in export_json_batches(records[:3], 2)] == [2, 1]
    with pytest.raises(ValueError, match="between 1 and 100"):
        export_json_batches(records, batch_size=101)


def test_csv_has_every_field_and_arrays_as_json() -> None:
    rows = [record(SanctionStep.REMOVE), record(SanctionStep.SUSPEND, facts='a, "quoted"\nline')]
    table = list(csv.DictReader(io.StringIO(export_csv(rows))))
    assert list(table[0]) == list(FIELDS)
    assert json.loads(table[0]["decision_visibility"]) == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert table[0]["decision_account"] == ""
    assert table[1]["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert table[1]["decision_facts"].startswith('a, "quoted"\nline')
    assert json.loads(table[1]["territorial_scope"]) == ["FR"]
