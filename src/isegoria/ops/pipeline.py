"""What the operator console shows of the pipeline: reports, cases, juries, deadlines, jobs.

Read only: the console looks at the machine, it never steers a case.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from isegoria.domain.states import JurorStatus
from isegoria.jobs.queue import JobStatus
from isegoria.store.models import Job, Platform
from isegoria.store.models_cases import Case, Juror, Jury, Report
from isegoria.unit_of_work import UnitOfWork

#: A deadline closer than this, on a jury still short of what it needs, is at risk.
RISK_WINDOW = timedelta(hours=24)
#: A job this late has not merely waited for the worker's next poll: nobody is running it.
JOB_GRACE = timedelta(minutes=5)
LIST_LIMIT = 100


@dataclass(frozen=True)
class ReportCount:
    """Reports received from one platform about posts under one jurisdiction."""

    platform: str
    jurisdiction: str
    reports: int
    cases: int
    latest_case_id: int


@dataclass(frozen=True)
class FormingJury:
    """A jury not closed yet, with its seats by state."""

    case_id: int
    stage: str
    size: int
    summoned: int
    accepted: int
    declined: int
    voted: int
    replacements: int
    reply_deadline: datetime
    ballot_deadline: datetime


@dataclass(frozen=True)
class DeadlineAtRisk:
    """A jury deadline coming (or past) while the jury is short."""

    case_id: int
    stage: str
    deadline: str  # "reply" or "ballot"
    due_at: datetime
    have: int
    need: int


@dataclass(frozen=True)
class OverdueJob:
    """A job past its time by more than the worker's poll: is a worker running?"""

    job_id: int
    kind: str
    due_at: datetime
    attempts: int
    failed: bool
    last_error: str | None
    case_id: int | None


@dataclass(frozen=True)
class Pipeline:
    """Everything the pipeline page shows."""

    reports: list[ReportCount]
    cases_by_state: dict[str, int]
    juries: list[FormingJury]
    at_risk: list[DeadlineAtRisk]
    overdue_jobs: list[OverdueJob]


def report_counts(uow: UnitOfWork) -> list[ReportCount]:
    """Reports and cases per platform and jurisdiction, busiest first."""
    rows = uow.session.execute(
        select(
            Platform.name,
            Case.jurisdiction,
            func.count(Report.id),
            func.count(func.distinct(Case.id)),
            func.max(Case.id),
        )
        .join(Case, Case.id == Report.case_id)
        .join(Platform, Platform.id == Case.platform_id)
        .group_by(Platform.name, Case.jurisdiction)
    )
    counts = [ReportCount(p, j, int(r), int(c), int(last)) for p, j, r, c, last in rows]
    return sorted(counts, key=lambda c: (-c.reports, c.platform, c.jurisdiction))


def cases_by_state(uow: UnitOfWork) -> dict[str, int]:
    """How many cases are in each state."""
    rows = uow.session.execute(select(Case.status, func.count()).group_by(Case.status))
    return {status: int(n) for status, n in sorted(rows)}


def forming_juries(uow: UnitOfWork) -> list[FormingJury]:
    """Juries still open, soonest deadline first, with their seats counted by state."""
    juries = list(
        uow.session.scalars(
            select(Jury).where(Jury.closed.is_(False)).order_by(Jury.ballot_deadline, Jury.id)
        )
    )
    seats: dict[int, Counter[str]] = {j.id: Counter() for j in juries}
    if juries:
        rows = uow.session.execute(
            select(Juror.jury_id, Juror.status, Juror.replaces).where(
                Juror.jury_id.in_(list(seats))
            )
        )
        for jury_id, status, replaces in rows:
            seats[jury_id][status] += 1
            if replaces is not None:
                seats[jury_id]["replacement"] += 1
    return [
        FormingJury(
            case_id=j.case_id,
            stage=j.stage,
            size=j.size,
            summoned=seats[j.id][JurorStatus.SUMMONED],
            accepted=seats[j.id][JurorStatus.ACCEPTED],
            declined=seats[j.id][JurorStatus.DECLINED] + seats[j.id][JurorStatus.NO_SHOW],
            voted=seats[j.id][JurorStatus.VOTED],
            replacements=seats[j.id]["replacement"],
            reply_deadline=j.reply_deadline,
            ballot_deadline=j.ballot_deadline,
        )
        for j in juries
    ]


def deadlines_at_risk(juries: list[FormingJury], now: datetime) -> list[DeadlineAtRisk]:
    """Reply deadlines of juries short of jurors, ballot deadlines short of ballots."""
    risky = []
    for jury in juries:
        seated = jury.accepted + jury.voted
        if seated < jury.size and jury.reply_deadline - now <= RISK_WINDOW:
            risky.append(
                DeadlineAtRisk(
                    jury.case_id, jury.stage, "reply", jury.reply_deadline, seated, jury.size
                )
            )
        if jury.voted < seated and jury.ballot_deadline - now <= RISK_WINDOW:
            risky.append(
                DeadlineAtRisk(
                    jury.case_id, jury.stage, "ballot", jury.ballot_deadline, jury.voted, seated
                )
            )
    return sorted(risky, key=lambda r: r.due_at)


def _case_of(payload: str) -> int | None:
    try:
        found = json.loads(payload).get("case_id")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, int) else None


def overdue_jobs(uow: UnitOfWork) -> list[OverdueJob]:
    """Jobs waiting past their time (beyond a poll's grace), and jobs that failed for good."""
    late = uow.now() - JOB_GRACE
    query = (
        select(Job)
        .where(
            ((Job.status == JobStatus.PENDING.value) & (Job.due_at <= late))
            | (Job.status == JobStatus.FAILED.value)
        )
        .order_by(Job.due_at, Job.id)
        .limit(LIST_LIMIT)
    )
    return [
        OverdueJob(
            job_id=job.id,
            kind=job.kind,
            due_at=job.due_at,
            attempts=job.attempts,
            failed=job.status == JobStatus.FAILED.value,
            last_error=job.last_error,
            case_id=_case_of(job.payload),
        )
        for job in uow.session.scalars(query)
    ]


def pipeline(uow: UnitOfWork) -> Pipeline:
    """The whole pipeline page, read in the caller's (read-only) transaction."""
    juries = forming_juries(uow)
    return Pipeline(
        reports=report_counts(uow),
        cases_by_state=cases_by_state(uow),
        juries=juries,
        at_risk=deadlines_at_risk(juries, uow.now()),
        overdue_jobs=overdue_jobs(uow),
    )
