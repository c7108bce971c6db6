"""A case's statement of reasons said again in a reader's language, from what was stored.

The statement sent to the author is written once, at the verdict, in the post's language
and never changes. A reader of another language gets the same statement rebuilt with
``build_statement`` from the same facts (the stored verdict, the jurors' reasons as the log
published them, the reports filed by then, the stored decision, date and jury size): only
the clerk's language differs. Rebuilt in the post's language it is the stored one exactly.
"""

from __future__ import annotations

from typing import Any

from isegoria.cases.common import (
    APPEAL,
    FIRST,
    case_constitution,
    case_content,
    case_rule,
    dumps,
    get_jury,
    loads,
)
from isegoria.cases.reasons import build_statement
from isegoria.cases.verdict import TOO_FEW_VOLUNTEERS, case_reports, no_jury_reasons
from isegoria.domain.decisions import StatementOfReasons
from isegoria.domain.verdict import Verdict
from isegoria.log import read as log_read
from isegoria.log.entries import MalformedEntry, decode_entry
from isegoria.store.models_cases import Case
from isegoria.unit_of_work import UnitOfWork

VERDICT_REACHED = "VerdictReached"
INTERIM_IMPOSED = "InterimMeasureImposed"
INTERIM_LAPSED = "InterimMeasureLapsed"


def _verdict_entry(uow: UnitOfWork, case: Case, stage: str) -> tuple[int, dict[str, Any]]:
    """The log index and facts of the stage's ``VerdictReached`` entry."""
    for row in log_read.entries_about(uow.session, "case", str(case.id), kind=VERDICT_REACHED):
        facts = decode_entry(row.payload).facts
        if facts.get("stage") == stage:
            return row.idx, dict(facts)
    raise LookupError(f"case {case.id} has no logged verdict at stage {stage}")


def _first_index(uow: UnitOfWork, case: Case, kind: str) -> int | None:
    rows = log_read.entries_about(uow.session, "case", str(case.id), kind=kind, limit=1)
    return rows[0].idx if rows else None


def _interim_at_verdict(uow: UnitOfWork, case: Case, verdict_index: int) -> str | None:
    """The interim measure's state just before the verdict (the verdict settles it after)."""
    imposed = _first_index(uow, case, INTERIM_IMPOSED)
    if imposed is None or imposed > verdict_index:
        return None
    lapsed = _first_index(uow, case, INTERIM_LAPSED)
    return "lapsed" if lapsed is not None and lapsed < verdict_index else "active"


def _reasons(uow: UnitOfWork, case: Case, stage: str, facts: dict[str, Any]) -> list[str]:
    """The reasons as the verdict passed them: the published ballots' (receipt order), or
    the lapse's own sentence when no jury was ever seated."""
    ballots = facts.get("ballots") or []
    if ballots or get_jury(uow, case.id, stage) is not None:
        return [str(b["reason"]) for b in ballots]
    return no_jury_reasons(TOO_FEW_VOLUNTEERS)


def jurors_reasons(uow: UnitOfWork, case: Case, *, appeal: bool) -> list[str]:
    """The reasons the stage's statement quotes, as their authors wrote them."""
    stage = APPEAL if appeal else FIRST
    return _reasons(uow, case, stage, _verdict_entry(uow, case, stage)[1])


def explanation_parts(explanation: str, reasons: list[str]) -> list[tuple[str, bool]]:
    """The explanation cut into (text, True when it is a juror's own words) pieces."""
    parts: list[tuple[str, bool]] = []
    rest = explanation
    for reason in reasons:
        quoted = reason.strip()
        at = rest.find(f"“{quoted}”") if quoted else -1
        if at < 0:
            continue
        parts += [(rest[: at + 1], False), (quoted, True)]
        rest = rest[at + 1 + len(quoted) :]
    parts.append((rest, False))
    return [p for p in parts if p[0]]


def statement_for_reader(
    uow: UnitOfWork, case: Case, language: str, *, appeal: bool
) -> StatementOfReasons | None:
    """The stage's statement of reasons written in ``language``; None before its verdict."""
    stored = loads(case.appeal_statement if appeal else case.statement)
    verdict_json = loads(case.appeal_verdict if appeal else case.verdict)
    if stored is None or verdict_json is None:
        return None
    original = StatementOfReasons.from_dict(stored)
    stage = APPEAL if appeal else FIRST
    verdict_index, facts = _verdict_entry(uow, case, stage)
    reasons = _reasons(uow, case, stage, facts)
    # A decided case stays open to reports until final: count only those the verdict saw.
    reports = [r for r in case_reports(uow, case) if r.created_at <= original.decided_at]
    return build_statement(
        case=case,
        content=case_content(uow, case),
        rule=case_rule(uow, case),
        constitution=case_constitution(uow, case),
        verdict=Verdict.from_dict(verdict_json),
        reasons=reasons,
        reports=reports,
        decision_id=original.decision_id,
        decided_at=original.decided_at,
        appeal=appeal,
        jury_size=int(original.tally["jury"]),
        language=language,
        interim_state=None if appeal else _interim_at_verdict(uow, case, verdict_index),
    )


def case_page_statements(
    uow: UnitOfWork, case: Case, language: str, *, original: bool
) -> dict[str, Any]:
    """The statements a case page shows a reader of ``language``: theirs, or the original.

    ``translated_from``: the post's language when the statements were said again in the
    reader's; ``parts``: each explanation cut so that jurors' own words keep their language."""
    shown: dict[str, Any] = {"translated_from": None, "original_language": None}
    for key, appeal in (("statement", False), ("appeal_statement", True)):
        stored = loads(case.appeal_statement if appeal else case.statement)
        shown[key], shown[f"{key}_parts"] = stored, None
        if stored is None or stored.get("language") == language:
            continue
        shown["original_language"] = stored.get("language")
        if original:
            continue
        try:
            again = statement_for_reader(uow, case, language, appeal=appeal)
            reasons = jurors_reasons(uow, case, appeal=appeal)
        except (LookupError, MalformedEntry):
            # Its log entry missing or damaged (the audit page says so): show what was sent.
            continue
        if again is None:
            continue
        shown[key] = loads(dumps(again.to_dict()))
        shown[f"{key}_parts"] = explanation_parts(again.explanation, reasons)
        shown["translated_from"] = stored.get("language")
    return shown
