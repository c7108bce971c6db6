"""The statement of reasons: every field of EU DSA Art. 17(3), from a verdict."""

from __future__ import annotations

from datetime import datetime, timedelta

from isegoria.domain.appeals import appeal_limit_of
from isegoria.domain.constitution import Constitution
from isegoria.domain.decisions import ReportSource, StatementOfReasons
from isegoria.domain.rulebook import RuleVersion
from isegoria.domain.sanctions import SanctionStep
from isegoria.domain.verdict import Outcome, Verdict
from isegoria.store.models_cases import Case, Content, Report

MAX_REASONS_QUOTED = 5


def _explanation(verdict: Verdict, reasons: list[str]) -> str:
    arithmetic = " ".join(
        a.detail if a.detail.endswith(".") else f"{a.detail}." for a in verdict.applied
    )
    if not reasons:
        return arithmetic
    quoted = "; ".join(f"“{r.strip()}”" for r in reasons[:MAX_REASONS_QUOTED])
    return f"{arithmetic} Jurors' reasons: {quoted}."


def _redress(
    verdict: Verdict, appeal: bool, constitution: Constitution, decided_at: datetime, case_id: int
) -> str:
    if appeal:
        return (
            "This decision on appeal is final within isegoria. You may still go to court or, "
            "in the EU, to a certified out-of-court dispute settlement body (DSA Art. 21)."
        )
    until = decided_at + constitution.appeal_window
    jury = (
        f"a new, larger jury of {constitution.effective_appeal_jury_size} citizens until "
        f"{until:%Y-%m-%d %H:%M} UTC from the page of case {case_id}"
    )
    if verdict.takes_action:
        limit = (
            "an appeal by the author alone can uphold, lighten or overturn this decision, "
            "never make it harsher"
            if constitution.no_harsher_on_own_appeal
            else "under this jurisdiction's constitution, the new jury may also decide a "
            "harsher outcome"
        )
        who = f"The author may appeal to {jury}; {limit}."
    else:
        who = (
            f"A reporter may appeal to {jury}; the author has nothing to appeal, as no action "
            "was taken."
        )
    return (
        f"{who} Courts and, in the EU, certified out-of-court dispute settlement bodies "
        "(DSA Art. 21) remain open."
    )


def build_statement(
    *,
    case: Case,
    content: Content,
    rule: RuleVersion,
    constitution: Constitution,
    verdict: Verdict,
    reasons: list[str],
    reports: list[Report],
    decision_id: int,
    decided_at: datetime,
    appeal: bool,
    jury_size: int,
) -> StatementOfReasons:
    """Fill every Art. 17(3) field from the verdict and the case file."""
    step = verdict.sanction.step
    days = verdict.sanction.suspension_days if step is SanctionStep.SUSPEND else None
    ends = decided_at + timedelta(days=days) if days else None
    first = reports[0] if reports else None
    source = ReportSource(first.source) if first else None
    facts = (
        f"A post by {content.author} on platform {case.platform_id} "
        f"({content.url or content.platform_content_id}), written in {content.language} and "
        f"posted on {content.posted_at:%Y-%m-%d %H:%M} UTC, was reported {len(reports)} "
        f"time(s) under rule {rule.rule_id} version {rule.version} ({rule.title}). "
        f"A jury of {jury_size} citizens drawn by lot examined it; "
        f"{verdict.ballots_cast} cast a ballot."
    )
    if verdict.outcome is Outcome.LAPSED:
        facts += " Too few ballots arrived, so the case lapsed with no action."
    jurisdictions = tuple(j for j in content.jurisdictions.split(",") if j)
    limit = appeal_limit_of(verdict)
    return StatementOfReasons(
        case_id=case.id,
        decision_id=decision_id,
        decided_at=decided_at,
        jurisdiction=rule.jurisdiction,
        territorial_scope=jurisdictions,
        rule_id=rule.rule_id,
        rule_version=rule.version,
        rule_title=rule.title,
        rule_text=rule.text,
        ground=rule.ground,
        harm_category=rule.harm_category,
        sanction=step,
        suspension_days=days,
        measure_ends_at=ends,
        facts=facts,
        notice_received=bool(reports),
        notice_source=source,
        automated_detection=any(r.source == ReportSource.AUTOMATED.value for r in reports),
        automated_decision=False,
        explanation=_explanation(verdict, reasons),
        tally={
            "jury": jury_size,
            "cast": verdict.ballots_cast,
            "violation": verdict.violation_votes,
            "no_violation": verdict.no_violation_votes,
            "quorum": verdict.jury_quorum,
        },
        redress=_redress(verdict, appeal, constitution, decided_at, case.id),
        appeal=appeal,
        content_id=content.platform_content_id,
        content_url=content.url,
        content_language=content.language,
        content_posted_at=content.posted_at,
        appeal_limit=None if limit is None else limit.value,
    )
