"""Deadlines that survive restarts: a jobs table, handlers by kind, and a runner.

How to use it (issue 4 uses it for voting periods; juries can use it the same way):

* register a handler once, at import time::

      @handler("law.close_voting")
      def _close(uow: UnitOfWork, payload: dict[str, Any]) -> None: ...

* schedule in the same transaction as the state change that creates the deadline::

      jobs.schedule(uow, "law.close_voting", proposal.voting_closes_at, {"proposal": 7})

* run what is due: ``run_due(database, clock, signer)`` (the ``isegoria worker`` command and
  a thread of ``isegoria serve`` call it in a loop; tests call it after moving a ManualClock).

Each job runs in its own unit of work: its effect and its completion commit together, so a
crash leaves it pending and it runs again. Handlers must therefore be idempotent (check the
state they act on; a deadline already acted on is a no-op). Claiming uses ``SELECT ... FOR
UPDATE SKIP LOCKED`` on PostgreSQL, so several workers never run the same job; SQLite has a
single writer (``BEGIN IMMEDIATE``), which serialises workers by itself.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Collection
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, insert, select

from isegoria.clock import Clock
from isegoria.log.signing import LogSigner
from isegoria.store.db import Database
from isegoria.store.models import Job
from isegoria.unit_of_work import Entropy, UnitOfWork

logger = logging.getLogger("isegoria.jobs")

Handler = Callable[[UnitOfWork, dict[str, Any]], None]

#: A job that failed this many times is parked as ``failed`` for a person to look at.
MAX_ATTEMPTS = 5
#: Wait before retrying a failed job: attempt n waits n times this (linear back-off).
RETRY_DELAY = timedelta(seconds=30)
#: How often the worker loop looks for due jobs; deadlines are met within this delay.
DEFAULT_POLL_SECONDS = 1.0
#: Longest error text kept on a job row.
MAX_ERROR_LENGTH = 2000

_HANDLERS: dict[str, Handler] = {}
_PREPARERS: dict[str, Handler] = {}
#: Preparations a job gets outside its write transaction before it may do the slow work inside.
MAX_PREPARE_ROUNDS = 3
# False while a handler with a preparer runs a round that must not do slow work in its
# transaction (it raises PrepareAgain instead); True everywhere else.
_SLOW_WORK_ALLOWED: ContextVar[bool] = ContextVar("isegoria_slow_work_allowed", default=True)


class PrepareAgain(Exception):  # noqa: N818 - a request to the runner, not a failure
    """Raised in a job's transaction when its preparation is stale: roll back, prepare, retry."""


def slow_work_allowed() -> bool:
    """Whether the running code may do slow work inside its write transaction."""
    return _SLOW_WORK_ALLOWED.get()


# Built once, values bound at execution: its cache key is computed once per process.
_INSERT_JOB = insert(cast(Table, Job.__table__))


class JobStatus(StrEnum):
    """Where a job is in its life."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of ``kind`` (one per kind)."""

    def register(function: Handler) -> Handler:
        existing = _HANDLERS.get(kind)
        if existing is not None and existing is not function:
            raise RuntimeError(f"a handler for job kind {kind!r} is already registered")
        _HANDLERS[kind] = function
        return function

    return register


def preparer(kind: str) -> Callable[[Handler], Handler]:
    """Register slow read-only work run before each try of a ``kind`` job's transaction."""

    def register(function: Handler) -> Handler:
        _PREPARERS[kind] = function
        return function

    return register


def _job_row(
    uow: UnitOfWork, kind: str, due_at: datetime, payload: dict[str, Any]
) -> dict[str, Any]:
    if due_at.tzinfo is None:
        raise ValueError("a job's due time must be timezone-aware")
    return {
        "kind": kind,
        "due_at": due_at,
        "payload": json.dumps(payload, sort_keys=True),
        "status": JobStatus.PENDING.value,
        "attempts": 0,
        "created_at": uow.now(),
    }


def schedule(uow: UnitOfWork, kind: str, due_at: datetime, payload: dict[str, Any]) -> Job:
    """Persist a job in the caller's transaction: it exists only if the caller commits."""
    job = Job(**_job_row(uow, kind, due_at, payload))
    uow.session.add(job)
    uow.session.flush()
    return job


def enqueue(uow: UnitOfWork, kind: str, due_at: datetime, payload: dict[str, Any]) -> None:
    """``schedule`` for callers that do not need the row back: one Core insert, no ORM flush
    (report intake schedules a jury draw per case and is the hottest write path)."""
    uow.session.connection().execute(_INSERT_JOB, _job_row(uow, kind, due_at, payload))


@dataclass(frozen=True)
class RunReport:
    """What one ``run_due`` call did."""

    done: int
    failed: int


def _claim(
    uow: UnitOfWork, kinds: Collection[str] | None = None, *, lock: bool = True
) -> Job | None:
    """Lock the oldest due pending job (of ``kinds``), skipping those another worker holds."""
    query = (
        select(Job)
        .where(Job.status == JobStatus.PENDING.value, Job.due_at <= uow.now())
        .order_by(Job.due_at, Job.id)
        .limit(1)
    )
    if lock:
        query = query.with_for_update(skip_locked=True)  # rendered as nothing on SQLite
    if kinds is not None:
        query = query.where(Job.kind.in_(list(kinds)))
    return uow.session.scalars(query).first()


def run_one(
    database: Database,
    clock: Clock,
    signer: LogSigner | None,
    secret: bytes | None = None,
    *,
    kinds: Collection[str] | None = None,
    entropy: Entropy | None = None,
) -> bool | None:
    """Run the next due job (of ``kinds``, default any); True if done, False if it failed,
    None if nothing was due.

    ``entropy``: the randomness of the job's unit of work (default the system's; the demo's
    seeded stream).

    A caller that moves a clock of its own into the future (a back-dated demo) must pass
    ``kinds``: otherwise it would also run other people's deadlines before their time.
    """
    kind = _next_due_kind(database, clock, kinds)
    if kind is None:
        return None  # an idle poll reads; it never takes the write lock
    prepare = _PREPARERS.get(kind)
    rounds = MAX_PREPARE_ROUNDS if prepare is not None else 0
    for round_ in range(rounds + 1):
        if prepare is not None and round_ < rounds:
            _prepare(database, clock, secret, prepare, kinds)
        token = _SLOW_WORK_ALLOWED.set(round_ == rounds)
        try:
            return _run_claimed(database, clock, signer, secret, kinds, entropy=entropy)
        except PrepareAgain:
            continue  # rolled back: nothing was written; prepare with the new inputs
        finally:
            _SLOW_WORK_ALLOWED.reset(token)
    raise AssertionError("unreachable: the last round allows slow work")


def _next_due_kind(database: Database, clock: Clock, kinds: Collection[str] | None) -> str | None:
    """The kind of the job ``_claim`` would take now, read without taking the write lock."""
    uow = UnitOfWork(database, clock)
    with uow.begin(readonly=True):
        job = _claim(uow, kinds, lock=False)
        return None if job is None else job.kind


def _prepare(
    database: Database,
    clock: Clock,
    secret: bytes | None,
    prepare: Handler,
    kinds: Collection[str] | None,
) -> None:
    """Run the due job's preparer in a read-only transaction (no write lock held)."""
    uow = UnitOfWork(database, clock, secret=secret)
    try:
        with uow.begin(readonly=True):
            job = _claim(uow, kinds, lock=False)
            if job is not None and _PREPARERS.get(job.kind) is prepare:
                prepare(uow, json.loads(job.payload))
    except Exception:  # noqa: BLE001 - the job's own try reports what is wrong
        logger.exception("preparing a job failed; its transaction will do the work")


def _run_claimed(
    database: Database,
    clock: Clock,
    signer: LogSigner | None,
    secret: bytes | None,
    kinds: Collection[str] | None,
    *,
    entropy: Entropy | None = None,
) -> bool | None:
    uow = UnitOfWork(database, clock, signer, secret, entropy=entropy)
    job_id: int | None = None
    try:
        with uow.begin():
            job = _claim(uow, kinds)
            if job is None:
                return None
            job_id = job.id
            run = _HANDLERS.get(job.kind)
            if run is None:
                raise LookupError(f"no handler registered for job kind {job.kind!r}")
            run(uow, json.loads(job.payload))
            job.status = JobStatus.DONE.value
            job.attempts += 1
            job.finished_at = uow.now()
        return True
    except PrepareAgain:
        raise
    except Exception as error:  # noqa: BLE001 - any failure is recorded on the job
        logger.exception("job %s failed", job_id)
        if job_id is None:
            raise
        _record_failure(database, clock, job_id, error)
        return False


def _record_failure(database: Database, clock: Clock, job_id: int, error: Exception) -> None:
    """Count the failed attempt; retry later or park the job as failed."""
    uow = UnitOfWork(database, clock)
    with uow.begin():
        job = uow.session.get(Job, job_id)
        if job is None:
            return
        job.attempts += 1
        job.last_error = f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]
        if job.attempts >= MAX_ATTEMPTS:
            job.status = JobStatus.FAILED.value
            job.finished_at = uow.now()
        else:
            job.due_at = uow.now() + RETRY_DELAY * job.attempts


def run_due(
    database: Database,
    clock: Clock,
    signer: LogSigner | None,
    *,
    limit: int = 1000,
    secret: bytes | None = None,
    kinds: Collection[str] | None = None,
    entropy: Entropy | None = None,
) -> RunReport:
    """Run every job due by ``clock.now()`` (at most ``limit``, only ``kinds`` if given),
    each in its own transaction."""
    done = failed = 0
    for _ in range(limit):
        outcome = run_one(database, clock, signer, secret, kinds=kinds, entropy=entropy)
        if outcome is None:
            break
        if outcome:
            done += 1
        else:
            failed += 1
    return RunReport(done, failed)


class Worker:
    """A loop that runs due jobs until stopped (a thread of ``serve``, or ``isegoria worker``)."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        signer: LogSigner | None,
        *,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        secret: bytes | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.signer = signer
        self.secret = secret
        self.poll_seconds = poll_seconds
        # (interval seconds, task, next run on the monotonic clock): periodic upkeep.
        self.periodic: list[list[Any]] = []
        self.stopping = threading.Event()

    def run_forever(self) -> None:
        """Poll and run jobs until ``stop`` is called; an error is logged, never fatal."""
        while not self.stopping.is_set():
            try:
                run_due(self.database, self.clock, self.signer, secret=self.secret)
            except Exception:  # noqa: BLE001 - the loop must outlive a bad poll (db restart)
                logger.exception("polling for due jobs failed")
            for task in self.periodic:
                interval, run, due = task
                if time.monotonic() >= due:
                    task[2] = time.monotonic() + interval
                    try:
                        run()
                    except Exception:  # noqa: BLE001 - upkeep must not stop the worker
                        logger.exception("periodic task %s failed", run)
            self.stopping.wait(self.poll_seconds)

    def every(self, seconds: float, task: Callable[[], object]) -> None:
        """Also run ``task`` every ``seconds`` (first at the first poll)."""
        self.periodic.append([seconds, task, 0.0])

    def start_thread(self) -> threading.Thread:
        """Run the loop in a daemon thread."""
        thread = threading.Thread(target=self.run_forever, name="isegoria-worker", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Ask the loop to end after the current poll."""
        self.stopping.set()
