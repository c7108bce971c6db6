"""Sealed ballots, the verdict, the statement of reasons and what the platform is told."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import bindparam, func, select

from isegoria.cases import appeal as cases_appeal
from isegoria.cases.common import (
    APPEAL,
    case_constitution,
    case_content,
    case_rule,
    dumps,
    get_case,
)
from isegoria.cases.reasons import build_statement
from isegoria.decisions import lifecycle as cases_decisions
from isegoria.domain.case_events import (
    CaseClosed,
    InterimMeasureLapsed,
    SanctionImposed,
    SanctionLifted,
    VerdictReached,
)
from isegoria.domain.constitution import Constitution
from isegoria.domain.decisions import DecisionKind
from isegoria.domain.rulebook import RuleVersion
from isegoria.domain.sanctions import Sanction, SanctionStep
from isegoria.domain.states import CaseStatus
from isegoria.domain.verdict import Ballot, Outcome, Verdict, decide
from isegoria.jobs import queue as jobs
from isegoria.notes import jury as notes_jury
from isegoria.notifications import hooks as notification_hooks
from isegoria.store.models_cases import Case, CaseBallot, DecisionRow, Jury, Report
from isegoria.unit_of_work import UnitOfWork

JOB_APPEAL_WINDOW = "cases.appeal_window"
# Run on every ballot or verdict: built once with bound values, so SQLAlchemy computes their
# cache keys once per process rather than once per call.
# A jury's ballots in receipt order: the order they are published in, unrelated to jurors.
_BALLOTS = (
    select(CaseBallot)
    .where(CaseBallot.jury_id == bindparam("jury_id"))
    .order_by(CaseBallot.receipt)
)
_PRIOR_UPHELD = (
    select(func.count())
    .select_from(Case)
    .where(
        Case.platform_id == bindparam("platform_id"),
        Case.author == bindparam("author"),
        Case.id != bindparam("case_id"),
        Case.status == CaseStatus.FINAL,
        func.coalesce(Case.appeal_outcome, Case.outcome) == Outcome.VIOLATION.value,
    )
)
_REPORTS = select(Report).where(Report.case_id == bindparam("case_id"))
#: Why a case lapsed when the pool could not seat a jury (``jury.draw_jury``).
TOO_FEW_VOLUNTEERS = "too few eligible volunteers"


def case_reports(uow: UnitOfWork, case: Case) -> list[Report]:
    """The reports filed about a case, as a verdict's statement counts them."""
    return list(uow.session.scalars(_REPORTS, {"case_id": case.id}))


def no_jury_reasons(reason: str) -> list[str]:
    """The reasons a statement quotes when no jury could be drawn, in place of jurors'."""
    return [f"No jury could be drawn: {reason}."]


def _ballots(uow: UnitOfWork, jury: Jury) -> list[CaseBallot]:
    return list(uow.session.scalars(_BALLOTS, {"jury_id": jury.id}))


def prior_upheld(uow: UnitOfWork, case: Case) -> int:
    """Earlier cases about the same author whose violation stands (for the ban policy)."""
    found = uow.session.scalar(
        _PRIOR_UPHELD,
        {"platform_id": case.platform_id, "author": case.author, "case_id": case.id},
    )
    return int(found or 0)


def jury_verdict(
    uow: UnitOfWork,
    case: Case,
    jury: Jury,
    *,
    rule: RuleVersion | None = None,
    constitution: Constitution | None = None,
) -> tuple[Verdict, list[str], list[dict[str, Any]]]:
    """One jury's verdict from its opened ballots, their reasons, and the ballots to publish.

    ``rule``, ``constitution``: the case's, if the caller loaded them already."""
    opened = _ballots(uow, jury)
    ballots = [
        Ballot(
            violation=b.violation,
            sanction=None
            if b.sanction is None
            else (
                Sanction.suspend(b.suspension_days or 1)
                if b.sanction == SanctionStep.SUSPEND.value
                else Sanction.of(SanctionStep(b.sanction))
            ),
            reason=b.reason,
        )
        for b in opened
    ]
    rule = rule or case_rule(uow, case)
    constitution = constitution or case_constitution(uow, case)
    appeal = jury.stage == APPEAL
    verdict = decide(ballots, constitution, rule, prior_upheld(uow, case), appeal=appeal)
    # Published by receipt, in receipt order: each juror finds their own, nobody else's.
    published = [
        {
            "receipt": b.receipt,
            "violation": b.violation,
            "sanction": b.sanction,
            "suspension_days": b.suspension_days,
            "reason": b.reason,
        }
        for b in opened
    ]
    return verdict, [b.reason for b in opened], published


def _planned_decisions(
    uow: UnitOfWork, case: Case, verdict: Verdict, appeal: bool
) -> list[tuple[DecisionKind, SanctionStep, int | None, int | None]]:
    """(kind, sanction, suspension days, restores) of each decision the verdict gives rise to."""
    step = verdict.sanction.step
    days = verdict.sanction.suspension_days if step is SanctionStep.SUSPEND else None
    if not appeal:
        kind = DecisionKind.SANCTION_IMPOSED if verdict.takes_action else DecisionKind.NO_ACTION
        return [(kind, step, days, None)]
    first_step = SanctionStep(case.sanction or SanctionStep.NONE.value)
    if step == first_step and days == case.suspension_days:
        return []  # upheld: what the platform applied stands
    planned: list[tuple[DecisionKind, SanctionStep, int | None, int | None]] = []
    imposed = _first_imposed(uow, case)
    if imposed is not None:
        planned.append((DecisionKind.SANCTION_LIFTED, SanctionStep.NONE, None, imposed.id))
    if verdict.takes_action:
        planned.append((DecisionKind.SANCTION_IMPOSED, step, days, None))
    return planned


def _record_verdict(
    uow: UnitOfWork,
    case: Case,
    stage: str,
    verdict: Verdict,
    reasons: list[str],
    published: list[dict[str, Any]],
    jury_size: int,
    *,
    rule: RuleVersion | None = None,
    constitution: Constitution | None = None,
) -> None:
    now = uow.now()
    content = case_content(uow, case)
    rule = rule or case_rule(uow, case)
    constitution = constitution or case_constitution(uow, case)
    reports = case_reports(uow, case)
    appeal = stage == APPEAL
    if appeal:  # no harsher outcome on the author's own appeal, unless the citizens voted so
        verdict = cases_appeal.limit_on_appeal(uow, case, verdict, constitution)
    planned = _planned_decisions(uow, case, verdict, appeal)
    # The statement quotes the decision it gives rise to (or, when an appeal upholds, the one
    # that stands), and every decision's body carries the statement: so the rows are numbered
    # first, then the statement is written, then each body (once).
    rows = [
        cases_decisions.new_row(uow, case.platform_id, case.platform_content_id, case.id, kind)
        for kind, _sanction, _days, _restores in planned
    ]
    if rows:
        quoted = rows[0].id
    else:
        standing = _first_imposed(uow, case)
        quoted = standing.id if standing is not None else 0
    statement = build_statement(
        case=case,
        content=content,
        rule=rule,
        constitution=constitution,
        verdict=verdict,
        reasons=reasons,
        reports=reports,
        decision_id=quoted,
        decided_at=now,
        appeal=appeal,
        jury_size=jury_size,
    )
    for row, (_kind, sanction, days, restores) in zip(rows, planned, strict=True):
        cases_decisions.complete(
            uow,
            row,
            case=case,
            content=content,
            sanction=sanction,
            suspension_days=days,
            statement=statement,
            restores=restores,
        )
    statement_json = dumps(statement.to_dict())
    step = verdict.sanction.step
    days = verdict.sanction.suspension_days if step is SanctionStep.SUSPEND else None
    if appeal:
        case.appeal_outcome, case.appeal_sanction = verdict.outcome.value, step.value
        case.appeal_suspension_days = days
        case.appeal_verdict, case.appeal_statement = dumps(verdict.to_dict()), statement_json
        case.status, case.final_at = CaseStatus.FINAL, now
    else:
        case.outcome, case.sanction, case.suspension_days = verdict.outcome.value, step.value, days
        case.verdict, case.statement = dumps(verdict.to_dict()), statement_json
        case.decided_at = now
        case.status = CaseStatus.DECIDED
        case.appeal_until = now + constitution.appeal_window
        jobs.enqueue(uow, JOB_APPEAL_WINDOW, case.appeal_until, {"case_id": case.id})
    uow.log.append(
        VerdictReached(
            case_id=case.id,
            stage=stage,
            outcome=verdict.outcome.value,
            sanction=step.value,
            suspension_days=days,
            tally=dict(statement.tally),
            ballots=published,
            statement_sha256=hashlib.sha256(statement_json.encode()).hexdigest(),
            final=appeal,
        )
    )
    for row, (_kind, _sanction, _days, restores) in zip(rows, planned, strict=True):
        if row.kind == DecisionKind.SANCTION_LIFTED.value:
            assert restores is not None  # noqa: S101 - _planned_decisions names what it restores
            uow.log.append(SanctionLifted(case_id=case.id, decision_id=row.id, restores=restores))
        elif row.kind == DecisionKind.SANCTION_IMPOSED.value:
            uow.log.append(
                SanctionImposed(
                    case_id=case.id, decision_id=row.id, sanction=step.value, suspension_days=days
                )
            )
    notes_jury.after_verdict(uow, case, content, stage, step, [row.kind for row in rows])
    if appeal:
        uow.log.append(
            CaseClosed(case_id=case.id, outcome=verdict.outcome.value, sanction=step.value)
        )
    else:
        _settle_interim(uow, case, step)
    notification_hooks.verdict_recorded(uow, case, appeal=appeal)


def record_verdict(
    uow: UnitOfWork,
    case: Case,
    stage: str,
    verdict: Verdict,
    reasons: list[str],
    published: list[dict[str, Any]],
    jury_size: int,
) -> None:
    """Record a verdict as the case's: decisions, statement of reasons, log entries."""
    _record_verdict(uow, case, stage, verdict, reasons, published, jury_size)


def _settle_interim(uow: UnitOfWork, case: Case, step: SanctionStep) -> None:
    """An interim restriction stands only if the verdict restricts at least as much."""
    if case.interim_state != "active":
        return
    if step >= SanctionStep.REMOVE:
        case.interim_state = "upheld"
        return
    lapse_interim(uow, case)


def lapse_interim(uow: UnitOfWork, case: Case) -> None:
    """End an interim restriction that no verdict upheld; the platform must restore."""
    if case.interim_state != "active":
        return
    case.interim_state = "lapsed"
    uow.log.append(InterimMeasureLapsed(case_id=case.id))
    cases_decisions.issue(
        uow,
        case=case,
        content=case_content(uow, case),
        kind=DecisionKind.INTERIM_LAPSED,
        sanction=SanctionStep.NONE,
    )


def _first_imposed(uow: UnitOfWork, case: Case) -> DecisionRow | None:
    return uow.session.scalars(
        select(DecisionRow)
        .where(
            DecisionRow.case_id == case.id,
            DecisionRow.kind == DecisionKind.SANCTION_IMPOSED.value,
        )
        .order_by(DecisionRow.id)
    ).first()


def lapse_without_jury(uow: UnitOfWork, case: Case, stage: str, *, reason: str) -> None:
    """No jury could be drawn: the case lapses with no action (doubt favours speech)."""
    constitution = case_constitution(uow, case)
    rule = case_rule(uow, case)
    verdict = decide([], constitution, rule, 0, appeal=stage == APPEAL)
    size = constitution.effective_appeal_jury_size if stage == APPEAL else constitution.jury_size
    reasons = no_jury_reasons(reason)
    _record_verdict(
        uow, case, stage, verdict, reasons, [], size, rule=rule, constitution=constitution
    )


def close_appeal_window(uow: UnitOfWork, case_id: int) -> bool:
    """Make a first-instance decision final when nobody appealed in time."""
    case = get_case(uow, case_id, lock=True)
    if case.status != CaseStatus.DECIDED or case.appeal_until is None:
        return False
    if uow.now() < case.appeal_until:
        return False
    case.status, case.final_at = CaseStatus.FINAL, uow.now()
    uow.log.append(
        CaseClosed(case_id=case.id, outcome=case.outcome or "", sanction=case.sanction or "none")
    )
    return True
