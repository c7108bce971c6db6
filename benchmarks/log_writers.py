"""Concurrent durable log appends through isegoria's unit of work, for ``scale_bench.py``.

``append_concurrently`` starts N writer threads on one ``Database``; each runs a loop of
transactions that append one small event through ``UnitOfWork``/``LogAppender`` and
commit (durably: SQLite ``synchronous=FULL``, PostgreSQL with fsync on), as request
handlers do. The writers share one ``LogMemory`` under a ``CheckpointPolicy`` and a
``CheckpointTimer`` signs the uncovered tail, as every app process does under
``ISEGORIA_CHECKPOINT_INTERVAL_MS=200`` (``isegoria.app.checkpoint_policy``).

Under that policy writers only sequence their entries (``log/sequence.py``) and the timer
integrates them in batches (``log/integrate.py``). What a writer still waits for: on
PostgreSQL the shared sequencing lock (taken by nobody exclusively unless an index must be
voided), on SQLite the ``Database.write_turn`` that a writer of this process queues on
before ``BEGIN IMMEDIATE`` (one writer at a time, whatever the log does).
``HeadLockClock`` times, per transaction, the wait for that lock, how long it is then held
until the commit returns, and the commit itself (the flush to disk): where the lock is
exclusive (SQLite), appends per second cannot pass one over the mean hold time.
"""

from __future__ import annotations

import cProfile
import pstats
import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any

from benchmarks.log_bench import Measured
from sqlalchemy import event

from isegoria.clock import SystemClock
from isegoria.jobs.checkpoint_timer import CheckpointTimer, ensure_checkpoint
from isegoria.log.coalesce import CheckpointPolicy, LogMemory
from isegoria.log.signing import LogSigner
from isegoria.store.db import Database
from isegoria.unit_of_work import UnitOfWork

#: As the servers run with ISEGORIA_CHECKPOINT_INTERVAL_MS=200 (load_bench.SERVER_ENV).
CHECKPOINT_INTERVAL_SECONDS = 0.2
#: ``Settings.checkpoint_max_pending``'s default.
CHECKPOINT_MAX_PENDING = 1000
#: How many profile entries ``profile_top`` returns.
PROFILE_TOP = 15


class _TimedTurn:
    """SQLite's in-process write turn, timing how long each writer waits for it."""

    def __init__(self, turn: Any, clock: HeadLockClock) -> None:
        self._turn = turn
        self._clock = clock

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Wait for the turn as the unit of work does; note the wait."""
        started = time.perf_counter()
        got = bool(self._turn.acquire(blocking, timeout))
        if got:
            self._clock.acquired(started)
        return got

    def release(self) -> None:
        """Give the turn to the next writer."""
        self._turn.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()


class HeadLockClock:
    """Times the wait for the log's lock, its hold until commit, and the commit, per writer.

    Only threads that called ``measure_this_thread`` are timed (not the checkpoint timer).
    """

    def __init__(self, database: Database) -> None:
        self.waits: list[float] = []
        self.holds: list[float] = []
        self.commits: list[float] = []
        self._guard = threading.Lock()
        self._local = threading.local()
        self._sqlite = database.is_sqlite
        if database.write_turn is not None:
            database.write_turn = _TimedTurn(database.write_turn, self)  # type: ignore[assignment]
        event.listen(database.engine, "before_cursor_execute", self._before)
        event.listen(database.engine, "after_cursor_execute", self._after)
        event.listen(database.engine, "commit", self._committing)
        event.listen(database.sessions, "after_commit", self._committed)

    def measure_this_thread(self) -> None:
        """Time the transactions of the calling thread."""
        self._local.on = True

    def _on(self) -> bool:
        return bool(getattr(self._local, "on", False))

    def acquired(self, started: float) -> None:
        """The calling thread got the lock it began waiting for at ``started``."""
        if self._on():
            now = time.perf_counter()
            self._local.held_since = now
            with self._guard:
                self.waits.append(now - started)

    @staticmethod
    def _is_head_lock(statement: str) -> bool:
        return "pg_advisory_xact_lock_shared" in statement

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not self._sqlite and self._on() and self._is_head_lock(statement):
            if getattr(self._local, "held_since", None) is None:
                self._local.lock_asked = time.perf_counter()

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        asked = getattr(self._local, "lock_asked", None)
        if asked is not None and self._is_head_lock(statement):
            self._local.lock_asked = None
            self.acquired(asked)

    def _committing(self, _conn: Any) -> None:
        if self._on():
            self._local.commit_started = time.perf_counter()

    def _committed(self, _session: Any) -> None:
        if not self._on():
            return
        now = time.perf_counter()
        held = getattr(self._local, "held_since", None)
        started = getattr(self._local, "commit_started", None)
        self._local.held_since = self._local.commit_started = None
        with self._guard:
            if held is not None:
                self.holds.append(now - held)
            if started is not None:
                self.commits.append(now - started)

    def summary(self, wall: float, writers: int) -> dict[str, Any]:
        """Means and p99 in milliseconds, and the ceiling one lock's mean hold allows."""

        def ms(values: list[float]) -> dict[str, float | None]:
            if not values:
                return {"mean_ms": None, "p99_ms": None}
            ordered = sorted(values)
            p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
            return {"mean_ms": 1000 * statistics.fmean(values), "p99_ms": 1000 * p99}

        hold = statistics.fmean(self.holds) if self.holds else None
        return {
            "lock": "write_turn + BEGIN IMMEDIATE" if self._sqlite else "shared sequencing lock",
            "transactions_timed": len(self.holds),
            "wait": ms(self.waits),
            "hold_until_commit": ms(self.holds),
            "commit": ms(self.commits),
            # The share of the writers' time spent queueing for the lock.
            "wait_share_of_writer_time": sum(self.waits) / (wall * writers) if wall else None,
            # SQLite: one holder at a time, so this bounds appends/s (PostgreSQL: shared).
            "ceiling_per_s_from_mean_hold": 1 / hold if hold and self._sqlite else None,
            "lock_busy_share": sum(self.holds) / wall if wall else None,
        }


@dataclass
class _Run:
    """What the writer threads of one run share."""

    database: Database
    signer: LogSigner
    memory: LogMemory
    clock: HeadLockClock | None
    start: threading.Barrier
    stop: threading.Event
    appends: int | None
    counts: list[int]


def _writer(run: _Run, slot: int, profiler: cProfile.Profile | None) -> None:
    """One writer's loop: one event per transaction, until stopped or ``run.appends`` done."""
    uow = UnitOfWork(run.database, SystemClock(), run.signer, log_memory=run.memory)
    if run.clock is not None:
        run.clock.measure_this_thread()
    run.start.wait()
    if profiler is not None:
        profiler.enable()
    done = 0
    try:
        while not run.stop.is_set() and (run.appends is None or done < run.appends):
            with uow.begin():
                uow.log.append(Measured(f"w{slot}-{done:08d}", (7, 5)))
            done += 1
    finally:
        if profiler is not None:
            profiler.disable()
        run.counts[slot] = done


def append_concurrently(
    database: Database,
    signer: LogSigner,
    *,
    writers: int,
    seconds: float | None = None,
    appends_per_writer: int | None = None,
    profile: bool = False,
) -> dict[str, Any]:
    """Run ``writers`` threads appending one event per durable transaction; their figures.

    Stops after ``seconds`` or once each writer made ``appends_per_writer`` appends. With
    ``profile`` every writer thread runs under its own cProfile and the merged statistics
    are returned under ``"_stats"`` (the lock is then not timed).
    """
    if seconds is None and appends_per_writer is None:
        raise ValueError("give seconds or appends_per_writer")
    memory = LogMemory(CheckpointPolicy(CHECKPOINT_INTERVAL_SECONDS, CHECKPOINT_MAX_PENDING))
    timer = CheckpointTimer(database, SystemClock(), signer, memory, CHECKPOINT_INTERVAL_SECONDS)
    run = _Run(
        database,
        signer,
        memory,
        None if profile else HeadLockClock(database),
        threading.Barrier(writers + 1),
        threading.Event(),
        appends_per_writer,
        [0] * writers,
    )
    profilers = [cProfile.Profile() for _ in range(writers)] if profile else []
    threads = [
        threading.Thread(
            target=_writer,
            args=(run, n, profilers[n] if profile else None),
            name=f"log-writer-{n}",
        )
        for n in range(writers)
    ]
    for thread in threads:
        thread.start()
    timer_thread = timer.start_thread()
    run.start.wait()
    started = time.perf_counter()
    if seconds is not None:
        time.sleep(seconds)
        run.stop.set()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    timer.stop()
    timer_thread.join()
    # What the timer's next tick would do: sign the tail the last transactions left.
    ensure_checkpoint(database, SystemClock(), signer, memory)
    total = sum(run.counts)
    figures: dict[str, Any] = {
        "writers": writers,
        "appends": total,
        "seconds": wall,
        "appends_per_s": total / wall,
        "checkpoint_interval_ms": 1000 * CHECKPOINT_INTERVAL_SECONDS,
    }
    if run.clock is not None:
        figures["head_lock"] = run.clock.summary(wall, writers)
    if profile:
        stats = pstats.Stats(profilers[0])
        for profiler in profilers[1:]:
            stats.add(profiler)
        figures["_stats"] = stats
    return figures


def profile_top(
    stats: pstats.Stats, count: int = PROFILE_TOP, *, by: str = "cumulative"
) -> list[dict[str, Any]]:
    """The ``count`` functions with the most cumulative (or, ``by="own"``, own) time, summed
    over every writer thread, each with its share of the writers' total time."""
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt or 1e-9  # type: ignore[attr-defined]
    column = 3 if by == "cumulative" else 2
    rows = sorted(table.items(), key=lambda item: item[1][column], reverse=True)[:count]
    return [
        {
            "function": _where(key),
            "calls": calls,
            "tottime_s": tottime,
            "cumtime_s": cumtime,
            "cumulative_share": cumtime / total,
            "own_share": tottime / total,
        }
        for key, (_primitive, calls, tottime, cumtime, _callers) in rows
    ]


def _where(key: tuple[str, int, str]) -> str:
    """``path:line(function)`` with the path cut after site-packages or src/."""
    path, line, function = key
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{line}({function})" if line else function
