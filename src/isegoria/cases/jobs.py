"""The deadlines of a case, as persisted jobs that fire by themselves after restarts."""

from __future__ import annotations

from typing import Any

from isegoria.cases import ballots as cases_ballots
from isegoria.cases import jury as cases_jury
from isegoria.cases import replacements as cases_replacements
from isegoria.cases import verdict as cases_verdict
from isegoria.cases.common import FIRST, get_case
from isegoria.cases.intake import JOB_DRAW_JURY
from isegoria.cases.interim import JOB_INTERIM_LAPSE
from isegoria.jobs import queue as jobs
from isegoria.unit_of_work import UnitOfWork


@jobs.handler(JOB_DRAW_JURY)
def _draw(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    case = get_case(uow, int(payload["case_id"]))
    stage = str(payload.get("stage", FIRST))
    after = int(payload.get("after_index", case.opened_log_index))
    cases_jury.draw_jury(uow, case.id, stage, after)


@jobs.preparer(JOB_DRAW_JURY)
def _prepare_draw(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    # The slow part of a draw, before its write transaction (jobs.queue.run_one).
    cases_jury.prepare_draw(uow, int(payload["case_id"]), str(payload.get("stage", FIRST)))


@jobs.handler(cases_jury.JOB_REPLY_DEADLINE)
def _reply_deadline(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    cases_jury.expire_replies(uow, int(payload["jury_id"]))


@jobs.handler(cases_jury.JOB_REPLACE)
def _replace(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    cases_replacements.replace_jurors(uow, int(payload["jury_id"]))


@jobs.handler(cases_jury.JOB_BALLOT_DEADLINE)
def _ballot_deadline(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    cases_ballots.ballot_deadline_passed(uow, int(payload["jury_id"]))


@jobs.handler(JOB_INTERIM_LAPSE)
def _interim(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    case = get_case(uow, int(payload["case_id"]), lock=True)
    cases_verdict.lapse_interim(uow, case)


@jobs.handler(cases_verdict.JOB_APPEAL_WINDOW)
def _appeal_window(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    cases_verdict.close_appeal_window(uow, int(payload["case_id"]))
