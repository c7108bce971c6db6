"""Statements of reasons in the EU DSA Transparency Database submission format.

Field names, enumerations and rules are those of the database's statement API as of its
schema version 2 (in force since 1 July 2025), read from the database's own validation
(github.com/digital-services-act/transparency-database, ``StatementStoreRequest`` and
``Statement`` at commit 69e80a0b, June 2026): ``POST /api/v1/statement`` takes one record,
``POST /api/v1/statements`` takes ``{"statements": [...]}`` with 1 to 100 records.

Mapping decisions (docs/integrations/dsa.md explains them): ``note`` is
``DECISION_VISIBILITY_CONTENT_LABELLED`` (the post stays up with a context label);
``reduce_reach`` ``..._CONTENT_DEMOTED``; ``remove`` ``..._CONTENT_REMOVED``; ``suspend``
``DECISION_ACCOUNT_SUSPENDED`` with its end date; ``ban`` ``DECISION_ACCOUNT_TERMINATED``.
``none`` restricts nothing and is not a statement of reasons (DSA Art. 17(1)), so it is
never exported. Juries decide, so ``automated_decision`` is ``AUTOMATED_DECISION_NOT_AUTOMATED``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from isegoria.domain.decisions import Decision, ReportSource, StatementOfReasons
from isegoria.domain.sanctions import (
    DSA_ACCOUNT_DECISIONS,
    DSA_VISIBILITY_DECISIONS,
    GroundKind,
    SanctionStep,
)
from isegoria.integrations.dsa_schema import (
    ARRAY_FIELDS,
    FIELDS,
    ISO_639_1,
    MAX_BATCH,
    TERRITORIAL_SCOPE_CODES,
    validate_record,
)

__all__ = [
    "DsaExportError",
    "export_csv",
    "export_json_batches",
    "statement_record",
    "validate_record",
]

MAX_FACTS: Final = 5000  # decision_facts max:5000
MAX_GROUND: Final = 500  # illegal_content_legal_ground / incompatible_content_ground max:500
MAX_EXPLANATION: Final = 2000  # *_explanation max:2000
#: Where the DSA's territorial scope words expand to member-state codes.
EU_MEMBER_STATES: Final = tuple(sorted(set(TERRITORIAL_SCOPE_CODES) - {"IS", "LI", "NO"}))

_SOURCE_TYPES: Final = {
    ReportSource.USER: "SOURCE_ARTICLE_16",
    ReportSource.TRUSTED_FLAGGER: "SOURCE_TRUSTED_FLAGGER",
    ReportSource.PLATFORM: "SOURCE_VOLUNTARY",
    ReportSource.AUTOMATED: "SOURCE_VOLUNTARY",
}
_PUID_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_-]")


class DsaExportError(ValueError):
    """A statement cannot be exported (no restriction, outside the EEA, missing a date)."""


def _clip(text: str, limit: int, tail: str = "") -> str:
    """Fit ``text`` in ``limit`` characters, keeping ``tail`` (a link to the full text)."""
    if len(text) + len(tail) <= limit:
        return text + tail
    return text[: limit - len(tail) - 1] + "…" + tail


def _scope(codes: Sequence[str]) -> list[str]:
    out: set[str] = set()
    for code in codes:
        upper = code.upper()
        if upper == "EU":
            out.update(EU_MEMBER_STATES)
        elif upper == "EEA":
            out.update(TERRITORIAL_SCOPE_CODES)
        elif upper == "EL":  # the EU's code for Greece; the database uses ISO 3166 GR
            out.add("GR")
        elif upper in TERRITORIAL_SCOPE_CODES:
            out.add(upper)
    return sorted(out)


def _day(value: datetime | None) -> str | None:
    return value.date().isoformat() if value else None


def statement_record(
    statement: StatementOfReasons,
    decision: Decision,
    *,
    puid_prefix: str,
    statement_url: str | None = None,
    rule_url: str | None = None,
    content_types: Sequence[str] = ("CONTENT_TYPE_TEXT",),
    account_type: str | None = None,
) -> dict[str, Any]:
    """One submission record for ``statement``; raises :class:`DsaExportError` if none applies.

    ``puid_prefix`` makes the platform unique identifier unique across instances (the
    database refuses a reused PUID with 422); ``rule_url`` is the public page of the rule
    version (``decision_ground_reference_url``).
    """
    step = statement.sanction
    if step is SanctionStep.NONE:
        raise DsaExportError(f"statement {statement.decision_id}: 'none' restricts nothing")
    scope = _scope(statement.territorial_scope)
    if not scope:
        raise DsaExportError(
            f"statement {statement.decision_id}: territorial scope "
            f"{', '.join(statement.territorial_scope) or '(empty)'} has no EEA country"
        )
    posted = statement.content_posted_at
    if posted is None:
        raise DsaExportError(f"statement {statement.decision_id}: content_date is unknown")
    url = decision.statement_url if statement_url is None else statement_url
    link = f" Full statement: {url}" if url else ""
    ground = f"{statement.rule_id} v{statement.rule_version}: {statement.rule_title}"
    record: dict[str, Any] = {
        "puid": _PUID_UNSAFE.sub("-", f"{puid_prefix}-{statement.decision_id}")[:500],
        "decision_ground": statement.ground.dsa_decision_ground,
        "category": statement.harm_category.dsa_category,
        "content_type": list(content_types),
        "content_date": posted.date().isoformat(),
        "application_date": statement.decided_at.date().isoformat(),
        "decision_facts": _clip(statement.facts, MAX_FACTS, link),
        "source_type": _SOURCE_TYPES[statement.notice_source]
        if statement.notice_received and statement.notice_source
        else "SOURCE_VOLUNTARY",
        "automated_detection": "Yes" if statement.automated_detection else "No",
        "automated_decision": "AUTOMATED_DECISION_FULLY"
        if statement.automated_decision
        else "AUTOMATED_DECISION_NOT_AUTOMATED",
        "territorial_scope": scope,
    }
    if step in DSA_VISIBILITY_DECISIONS:
        record["decision_visibility"] = [DSA_VISIBILITY_DECISIONS[step]]
        if statement.measure_ends_at:
            record["end_date_visibility_restriction"] = _day(statement.measure_ends_at)
    else:
        record["decision_account"] = DSA_ACCOUNT_DECISIONS[step]
        if step is SanctionStep.SUSPEND and statement.measure_ends_at:
            record["end_date_account_restriction"] = _day(statement.measure_ends_at)
    if statement.ground is GroundKind.LEGAL:
        record["illegal_content_legal_ground"] = _clip(ground, MAX_GROUND)
        record["illegal_content_explanation"] = _clip(statement.explanation, MAX_EXPLANATION)
    else:
        record["incompatible_content_ground"] = _clip(ground, MAX_GROUND)
        record["incompatible_content_explanation"] = _clip(statement.explanation, MAX_EXPLANATION)
        record["incompatible_content_illegal"] = "No"
    if rule_url:
        record["decision_ground_reference_url"] = rule_url
    language = statement.content_language.split("-", 1)[0].upper()
    if language in ISO_639_1:
        record["content_language"] = language
    if account_type:
        record["account_type"] = account_type
    return record


def export_json_batches(
    records: Iterable[Mapping[str, Any]], batch_size: int = MAX_BATCH
) -> list[str]:
    """Request bodies for ``POST /api/v1/statements``: ``{"statements": [...]}`` each."""
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH} (the API's limit)")
    items = list(records)
    return [
        json.dumps({"statements": items[i : i + batch_size]}, ensure_ascii=False)
        for i in range(0, len(items), batch_size)
    ]


def export_csv(records: Iterable[Mapping[str, Any]]) -> str:
    """CSV with one column per field (database field order); arrays as JSON lists."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for record in records:
        row = []
        for name in FIELDS:
            value = record.get(name)
            if value is None:
                row.append("")
            elif name in ARRAY_FIELDS:
                row.append(json.dumps(list(value), ensure_ascii=False))
            else:
                row.append(str(value))
        writer.writerow(row)
    return out.getvalue()
