"""Sealed ballots, the verdict, the statement of reasons and what the platform is told."""

from __future__ import annotations

import hashlib
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from isegoria.domain.case_events import (
    BallotCast,
    CaseClosed,
    InterimMeasureLapsed,
    SanctionImposed,
    SanctionLifted,
    VerdictReached,
)
from isegoria.domain.constitution import Constitution
from isegoria.domain.decisions import DecisionKind
from isegoria.domain.rulebook import RuleVersion
from isegoria.domain.sanctions import Sanction, SanctionError, SanctionStep
from isegoria.domain.verdict import Ballot, Outcome, Verdict, VerdictError, check_ballot, decide
from isegoria.errors import Conflict, InvalidInput
from isegoria.notifications import hooks as notification_hooks
from isegoria.services import cases_appeal, cases_decisions, jobs, notes_jury
from isegoria.services.cases_ballot_seat import ballot_seat
from isegoria.services.cases_common import (
    APPEAL,
    CaseStatus,
    case_constitution,
    case_content,
    case_rule,
    dumps,
    get_case,
)
from isegoria.services.cases_jury import JurorStatus
from isegoria.services.cases_reasons import build_statement
from isegoria.store.models_cases import Case, CaseBallot, DecisionRow, Juror, Jury, Report
from isegoria.store.uow import UnitOfWork

JOB_APPEAL_WINDOW = "cases.appeal_window"
# Run on every ballot or verdict: built once with bound values, so SQLAlchemy computes their
# cache keys once per process rather than once per call.
_BALLOTS = (
    select(Juror, CaseBallot)
    .join(CaseBallot, CaseBallot.juror_id == Juror.id)
    .where(Juror.jury_id == bindparam("jury_id"))
    .order_by(Juror.pseudonym)
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
_INSERT_BALLOT = insert(cast(Table, CaseBallot.__table__))
_JURORS = cast(Table, Juror.__table__)
_MARK_VOTED = (
    update(_JURORS).where(_JURORS.c.id == bindparam("juror_id")).values(status=JurorStatus.VOTED)
)


def cast_ballot(
    uow: UnitOfWork,
    *,
    account_id: int,
    case_id: int,
    violation: bool,
    sanction: str | None,
    suspension_days: int | None,
    reason: str,
    note_text: str | None = None,
) -> None:
    """Cast the caller's sealed ballot, once, before the deadline; decide when all are in.

    ``note_text``: the note the juror proposes to publish if the jury's sanction is a note.
    """
    # Locked first: ballots on one case take turns, so exactly one of them sees the jury full.
    case = get_case(uow, case_id, lock=True)
    jury, juror, voted_before = ballot_seat(uow, account_id, case)
    if juror.status == JurorStatus.VOTED:
        raise Conflict("you have already voted on this case; a ballot cannot be changed")
    if juror.status != JurorStatus.ACCEPTED:
        raise Conflict("accept the summons before voting")
    if jury.closed or uow.now() >= jury.ballot_deadline:
        raise Conflict("the jury has closed; ballots are no longer accepted")
    rule: RuleVersion | None = None
    try:
        proposed = None
        if violation:
            if sanction is None:
                raise InvalidInput("propose a sanction when you find a violation", field="sanction")
            step = SanctionStep(sanction)
            proposed = (
                Sanction.suspend(suspension_days or 0)
                if step is SanctionStep.SUSPEND
                else Sanction.of(step)
            )
        elif sanction not in (None, SanctionStep.NONE.value):
            raise InvalidInput(
                "a ballot finding no violation proposes no sanction", field="sanction"
            )
        ballot = Ballot(violation=violation, sanction=proposed, reason=reason)
        if proposed is not None:  # the rule caps a proposed sanction; no sanction, no check
            rule = case_rule(uow, case)
            check_ballot(ballot, rule)
    except (ValueError, SanctionError, VerdictError) as error:
        if isinstance(error, InvalidInput):
            raise
        raise InvalidInput(str(error), field="ballot") from None
    sanction_cast = proposed.step.value if proposed else None
    # Two Core statements rather than an ORM flush: nothing here needs the ballot's row back,
    # and the juror already loaded is told its new status without a second write.
    connection = uow.session.connection()
    connection.execute(
        _INSERT_BALLOT,
        {
            "juror_id": juror.id,
            "jury_id": jury.id,
            "violation": violation,
            "sanction": sanction_cast,
            "suspension_days": proposed.suspension_days if proposed else None,
            "reason": reason,
            "cast_at": uow.now(),
        },
    )
    connection.execute(_MARK_VOTED, {"juror_id": juror.id})
    set_committed_value(juror, "status", JurorStatus.VOTED)
    notes_jury.keep_draft(uow, juror.id, sanction_cast, note_text)
    uow.log.append(BallotCast(case_id=case_id, stage=jury.stage, juror=juror.pseudonym))
    if voted_before + 1 == jury.size:  # this ballot is the jury's last
        close_jury(uow, jury, case=case, rule=rule)


def _ballots(uow: UnitOfWork, jury: Jury) -> list[tuple[Juror, CaseBallot]]:
    return list(uow.session.execute(_BALLOTS, {"jury_id": jury.id}).tuples())


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
    pairs = _ballots(uow, jury)
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
        for _, b in pairs
    ]
    rule = rule or case_rule(uow, case)
    constitution = constitution or case_constitution(uow, case)
    appeal = jury.stage == APPEAL
    verdict = decide(ballots, constitution, rule, prior_upheld(uow, case), appeal=appeal)
    published = [
        {
            "juror": j.pseudonym,
            "violation": b.violation,
            "sanction": b.sanction,
            "suspension_days": b.suspension_days,
            "reason": b.reason,
        }
        for j, b in pairs
    ]
    return verdict, [b.reason for _, b in pairs], published


def close_jury(
    uow: UnitOfWork, jury: Jury, *, case: Case | None = None, rule: RuleVersion | None = None
) -> Verdict | None:
    """Open the sealed ballots and decide (all in, or the deadline passed); idempotent.

    ``case``: the jury's case if the caller holds it locked already (the last ballot does);
    ``rule``: its rule version, if loaded. Each is read once per verdict, not once per use.
    """
    if jury.closed:
        return None
    jury.closed = True
    if case is None:
        case = get_case(uow, jury.case_id, lock=True)
    if jury.stage != APPEAL:
        from isegoria.services import cases_retrial  # it calls back into this module

        if cases_retrial.is_paired(uow, case.id):
            return cases_retrial.settle_pair(uow, case)  # waits for the other jury
    rule = rule or case_rule(uow, case)
    constitution = case_constitution(uow, case)
    verdict, reasons, published = jury_verdict(
        uow, case, jury, rule=rule, constitution=constitution
    )
    _record_verdict(
        uow,
        case,
        jury.stage,
        verdict,
        reasons,
        published,
        jury.size,
        rule=rule,
        constitution=constitution,
    )
    return verdict


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
    reports = list(uow.session.scalars(_REPORTS, {"case_id": case.id}))
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
    reasons = [f"No jury could be drawn: {reason}."]
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


def ballot_deadline_passed(uow: UnitOfWork, jury_id: int) -> None:
    """At the ballot deadline, the jury closes with the ballots that arrived."""
    jury = uow.session.get(Jury, jury_id)
    if jury is not None and not jury.closed:
        close_jury(uow, jury)
