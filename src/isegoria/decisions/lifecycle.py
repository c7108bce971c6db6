"""Decisions a platform must apply, and its confirmation that it did."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from sqlalchemy import bindparam, func, select

from isegoria.domain.case_events import DecisionConfirmed, DecisionIssued
from isegoria.domain.decisions import Decision, DecisionKind, StatementOfReasons
from isegoria.domain.sanctions import SanctionStep
from isegoria.domain.states import DecisionStatus
from isegoria.errors import Conflict, InvalidInput, NotFound
from isegoria.federation import decisions as federation_decisions
from isegoria.log.entries import format_instant
from isegoria.store.models_cases import Case, Content, DecisionRow
from isegoria.unit_of_work import UnitOfWork

# How long a platform has to apply a decision and confirm it; later counts against it.
APPLY_WITHIN = timedelta(hours=24)
MAX_FAILURE_REASON = 2000
# Run for every decision: built once with bound values (its cache key is computed once).
_DECISIONS_ABOUT = (
    select(func.count())
    .select_from(DecisionRow)
    .where(
        DecisionRow.platform_id == bindparam("platform_id"),
        DecisionRow.platform_content_id == bindparam("platform_content_id"),
    )
)


def issue(
    uow: UnitOfWork,
    *,
    case: Case,
    content: Content,
    kind: DecisionKind,
    sanction: SanctionStep,
    suspension_days: int | None = None,
    statement: StatementOfReasons | None = None,
    restores: int | None = None,
) -> DecisionRow:
    """Record a decision for the platform (the outbox delivers it; the platform confirms)."""
    row = new_row(uow, case.platform_id, case.platform_content_id, case.id, kind)
    complete(
        uow,
        row,
        case=case,
        content=content,
        sanction=sanction,
        suspension_days=suspension_days,
        statement=statement,
        restores=restores,
    )
    return row


def complete(
    uow: UnitOfWork,
    row: DecisionRow,
    *,
    case: Case,
    content: Content,
    sanction: SanctionStep,
    suspension_days: int | None = None,
    statement: StatementOfReasons | None = None,
    restores: int | None = None,
) -> None:
    """Write the body of a row from :func:`new_row`, its labels and Flag outcomes, and log it.

    Apart from :func:`issue` so that a verdict can number its decisions first and quote the
    number in the statement of reasons that each body carries (one write of the body).
    """
    decision = Decision(
        id=row.id,
        kind=DecisionKind(row.kind),
        platform_id=case.platform_id,
        case_id=case.id,
        content_id=case.platform_content_id,
        content_url=content.url,
        author=case.author,
        sanction=sanction,
        suspension_days=suspension_days,
        issued_at=row.issued_at,
        sequence=row.sequence,
        statement=statement,
        statement_url=f"/cases/{case.id}",
        restores=restores,
    )
    row.body = json.dumps(decision.to_dict(), sort_keys=True, ensure_ascii=False)
    # Labels and Flag outcomes commit with the decision (federation/decisions.py).
    federation_decisions.publish_decision(uow, row, decision)
    # Logged so platform compliance (applied on time, late, never) derives from the log.
    uow.log.append(
        DecisionIssued(
            decision_id=row.id,
            case_id=case.id,
            platform_id=case.platform_id,
            decision_kind=row.kind,
            apply_by=format_instant(row.apply_by),
            body_sha256=hashlib.sha256(row.body.encode()).hexdigest(),
        )
    )


def new_row(
    uow: UnitOfWork,
    platform_id: int,
    platform_content_id: str,
    case_id: int | None,
    kind: DecisionKind,
) -> DecisionRow:
    """A pending outbox row, numbered after the earlier decisions about the same post."""
    now = uow.now()
    # The sequence orders deliveries per post (subject), so a platform applies them in turn.
    about = {"platform_id": platform_id, "platform_content_id": platform_content_id}
    sequence = 1 + int(uow.session.scalar(_DECISIONS_ABOUT, about) or 0)
    row = DecisionRow(
        platform_id=platform_id,
        case_id=case_id,
        kind=kind.value,
        platform_content_id=platform_content_id,
        sequence=sequence,
        body="{}",
        issued_at=now,
        apply_by=now + APPLY_WITHIN,
        status=DecisionStatus.PENDING,
    )
    uow.session.add(row)
    uow.session.flush()
    return row


def pending_for(uow: UnitOfWork, platform_id: int, limit: int = 100) -> list[DecisionRow]:
    """Decisions the platform has not confirmed yet, oldest first."""
    return list(
        uow.session.scalars(
            select(DecisionRow)
            .where(
                DecisionRow.platform_id == platform_id,
                DecisionRow.status == DecisionStatus.PENDING,
            )
            .order_by(DecisionRow.id)
            .limit(limit)
        )
    )


def confirm(
    uow: UnitOfWork, *, platform_id: int, decision_id: int, applied: bool, reason: str | None
) -> DecisionRow:
    """The platform says it applied (or could not apply) a decision; logged with its timing."""
    row = uow.session.get(DecisionRow, decision_id)
    if row is None or row.platform_id != platform_id:
        raise NotFound(
            "no decision %(decision_id)s for this platform",
            field="decision_id",
            decision_id=decision_id,
        )
    if row.status != DecisionStatus.PENDING:
        raise Conflict(
            "decision %(decision_id)s was already confirmed as %(status)s",
            decision_id=decision_id,
            status=row.status,
        )
    if not applied and not (reason and reason.strip()):
        raise InvalidInput("say why the decision could not be applied", field="reason")
    if reason is not None and len(reason) > MAX_FAILURE_REASON:
        raise InvalidInput(
            "a reason is at most %(max)s characters", field="reason", max=MAX_FAILURE_REASON
        )
    now = uow.now()
    row.status = DecisionStatus.APPLIED if applied else DecisionStatus.FAILED
    row.confirmed_at, row.failure_reason = now, None if applied else reason
    uow.log.append(
        DecisionConfirmed(
            decision_id=row.id,
            case_id=row.case_id,
            status=row.status,
            on_time=now <= row.apply_by,
            reason_sha256=""
            if row.failure_reason is None
            else hashlib.sha256(row.failure_reason.encode()).hexdigest(),
        )
    )
    return row
