"""Deadline jobs: due on time by the injected clock, atomic with their effect, run once."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from isegoria.clock import ManualClock
from isegoria.jobs import queue as jobs
from isegoria.log.signing import LogSigner
from isegoria.people import jurisdictions
from isegoria.store.db import Database
from isegoria.store.models import Job, Jurisdiction
from isegoria.unit_of_work import UnitOfWork

_runs: list[str] = []
_runs_lock = threading.Lock()


@jobs.handler("test.add_jurisdiction")
def _add(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    """Effect of a test job: a row that exists only if the job's transaction commits."""
    with _runs_lock:
        _runs.append(payload["code"])
    jurisdictions.add_jurisdiction(
        uow, code=payload["code"], name="Job-made", parent=None, languages=[]
    )
    if payload.get("fail"):
        raise RuntimeError("the handler failed after its effect")


def _codes(uow: UnitOfWork) -> set[str]:
    with uow.begin(readonly=True):
        return set(uow.session.scalars(select(Jurisdiction.code)))


def _job(uow: UnitOfWork, job_id: int) -> Job:
    with uow.begin(readonly=True):
        job = uow.session.get(Job, job_id)
        assert job is not None
        return job


def test_a_job_runs_when_due_and_not_before(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> None:
    due = clock.now() + timedelta(days=7)
    with uow.begin():
        job_id = jobs.schedule(uow, "test.add_jurisdiction", due, {"code": "A1"}).id
    clock.set(due - timedelta(seconds=1))
    assert jobs.run_due(uow.database, clock, signer) == jobs.RunReport(0, 0)
    assert "A1" not in _codes(uow)
    clock.set(due)
    assert jobs.run_due(uow.database, clock, signer) == jobs.RunReport(1, 0)
    assert "A1" in _codes(uow)
    job = _job(uow, job_id)
    assert (job.status, job.attempts, job.finished_at) == ("done", 1, due)
    assert jobs.run_due(uow.database, clock, signer) == jobs.RunReport(0, 0)


def test_a_failed_job_rolls_back_its_effect_and_retries_then_parks(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> None:
    with uow.begin():
        job_id = jobs.schedule(
            uow, "test.add_jurisdiction", clock.now(), {"code": "B1", "fail": 1}
        ).id
    assert jobs.run_due(uow.database, clock, signer) == jobs.RunReport(0, 1)
    assert "B1" not in _codes(uow)  # the effect rolled back with the failure
    job = _job(uow, job_id)
    assert (job.status, job.attempts) == ("pending", 1)
    assert job.due_at == clock.now() + jobs.RETRY_DELAY
    assert "handler failed" in (job.last_error or "")
    for _ in range(jobs.MAX_ATTEMPTS - 1):
        clock.advance(jobs.RETRY_DELAY * jobs.MAX_ATTEMPTS)
        jobs.run_due(uow.database, clock, signer)
    job = _job(uow, job_id)
    assert (job.status, job.attempts) == ("failed", jobs.MAX_ATTEMPTS)


def test_an_unknown_kind_fails_without_stopping_the_others(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> None:
    with uow.begin():
        jobs.schedule(uow, "test.nobody_handles_this", clock.now(), {})
        jobs.schedule(uow, "test.add_jurisdiction", clock.now(), {"code": "C1"})
    assert jobs.run_due(uow.database, clock, signer) == jobs.RunReport(1, 1)
    assert "C1" in _codes(uow)


def test_jobs_survive_a_restart(database_url: str, clock: ManualClock, signer: LogSigner) -> None:
    first = Database(database_url)
    uow = UnitOfWork(first, clock, signer)
    with uow.begin():
        jobs.schedule(
            uow, "test.add_jurisdiction", clock.now() + timedelta(hours=1), {"code": "D1"}
        )
    first.dispose()  # the process ends; nothing is kept in memory
    clock.advance(timedelta(hours=2))
    second = Database(database_url)
    try:
        assert jobs.run_due(second, clock, signer) == jobs.RunReport(1, 0)
        assert "D1" in _codes(UnitOfWork(second, clock, signer))
    finally:
        second.dispose()


def test_concurrent_workers_run_each_job_exactly_once(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> None:
    codes = [f"E{n}" for n in range(24)]
    with uow.begin():
        for code in codes:
            jobs.schedule(uow, "test.add_jurisdiction", clock.now(), {"code": code})
    _runs.clear()
    reports: list[jobs.RunReport] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        barrier.wait()
        reports.append(jobs.run_due(uow.database, clock, signer))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.done for r in reports) == len(codes)
    assert sum(r.failed for r in reports) == 0
    assert sorted(_runs) == sorted(codes)  # no job ran twice, not even once and rolled back
    with uow.begin(readonly=True):
        done = uow.session.scalar(select(func.count()).select_from(Job).where(Job.status == "done"))
    assert done == len(codes)


def test_the_worker_loop_stops_when_asked(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> None:
    with uow.begin():
        jobs.schedule(uow, "test.add_jurisdiction", clock.now(), {"code": "F1"})
    worker = jobs.Worker(uow.database, clock, signer, poll_seconds=0.05)
    thread = worker.start_thread()
    for _ in range(200):
        if "F1" in _codes(uow):
            break
        threading.Event().wait(0.05)
    worker.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert "F1" in _codes(uow)


def test_a_run_can_be_limited_to_some_kinds(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> None:
    with uow.begin():
        jobs.schedule(uow, "test.add_jurisdiction", clock.now(), {"code": "G1"})
    other = jobs.run_due(uow.database, clock, signer, kinds=["test.something_else"])
    assert other == jobs.RunReport(0, 0) and "G1" not in _codes(uow)
    mine = jobs.run_due(uow.database, clock, signer, kinds=["test.add_jurisdiction"])
    assert mine == jobs.RunReport(1, 0) and "G1" in _codes(uow)
