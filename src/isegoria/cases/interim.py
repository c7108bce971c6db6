"""Interim measures: a post restricted at once, pending the verdict, until a deadline."""

from __future__ import annotations

from isegoria.cases.common import case_constitution
from isegoria.domain.case_events import InterimMeasureImposed
from isegoria.jobs import queue as jobs
from isegoria.log.entries import format_instant
from isegoria.notifications import hooks as notification_hooks
from isegoria.store.models_cases import Case
from isegoria.unit_of_work import UnitOfWork

JOB_INTERIM_LAPSE = "cases.interim_lapse"


def impose_interim(uow: UnitOfWork, case: Case) -> None:
    """Restrict the post at once, pending the verdict, until the constitution's deadline."""
    if case.interim_state is not None:
        return  # already restricted pending this verdict
    deadline = uow.now() + case_constitution(uow, case).interim_measure_deadline
    case.interim_state, case.interim_until = "active", deadline
    uow.log.append(InterimMeasureImposed(case_id=case.id, lapses_at=format_instant(deadline)))
    jobs.schedule(uow, JOB_INTERIM_LAPSE, deadline, {"case_id": case.id})
    notification_hooks.interim_imposed(uow, case)
