"""Batched integration: writers only sequence, one integrator extends the tree and signs.

Under a checkpoint policy (log/coalesce.py) a transaction writes its entries with its state
change and returns; the timer (jobs/checkpoint_timer.py) integrates them in batches. These
tests hold the guarantees that must not change: dense indexes, every checkpoint the root of
the entries below it, a log that ``verify`` accepts, and no entry lost or skipped while a
writer is in flight or after one rolls back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from isegoria.cases import intake as cases_intake
from isegoria.clock import ManualClock, SystemClock
from isegoria.jobs.checkpoint_timer import CheckpointTimer, ensure_checkpoint
from isegoria.log import read
from isegoria.log.append import PROMISE_INTERVALS, Appended
from isegoria.log.coalesce import CheckpointPolicy, LogMemory
from isegoria.log.entries import decode_entry
from isegoria.log.integrate import GAP_GRACE_SECONDS
from isegoria.log.signing import LogSigner
from isegoria.log.verify import verify_database
from isegoria.store.db import Database
from isegoria.store.models import LogCheckpoint, LogEntry
from isegoria.store.models_cases import Jury
from isegoria.unit_of_work import UnitOfWork
from tests.integration.test_log_append import Noted, assert_log_is_sound
from tests.support import cases_world

SECRET = b"test-instance-secret-32-bytes!!!"
HOUR = 3600.0
#: How long a test waits at most for the timer's integration before failing.
TIMER_PATIENCE_SECONDS = 10.0

# Only PostgreSQL hands out an index that a writer may then leave unused or commit late.
postgresql_only = pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


class Ticker:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def checkpoint_sizes(database: Database) -> list[int]:
    """Every checkpoint's size, smallest first."""
    with database.session(readonly=True) as session:
        return list(session.scalars(select(LogCheckpoint.size).order_by(LogCheckpoint.size)))


def tree_size(database: Database) -> int:
    """How many entries the tree holds (integrated)."""
    with database.session(readonly=True) as session:
        return read.tree_size(session)


def stored(database: Database) -> list[tuple[int, str]]:
    """(index, kind) of every stored entry, integrated or waiting."""
    with database.session(readonly=True) as session:
        return list(session.execute(select(LogEntry.idx, LogEntry.kind).order_by(LogEntry.idx)))


def append_each(uow: UnitOfWork, writer: str, count: int) -> list[Appended]:
    """``count`` transactions of one entry each; what each got back."""
    promises = []
    for n in range(count):
        with uow.begin():
            promises.append(uow.log.append(Noted(writer, n)))
    return promises


@contextmanager
def open_write(uow: UnitOfWork, writer: str) -> Iterator[Appended]:
    """A transaction that appends one entry and stays open for the block."""
    with uow.begin():
        yield uow.log.append(Noted(writer, 0))


def batched(
    database: Database, clock: ManualClock | SystemClock, signer: LogSigner, **policy: float
) -> UnitOfWork:
    """A unit of work of a process that runs under a checkpoint policy."""
    memory = LogMemory(
        CheckpointPolicy(float(policy.get("interval", HOUR)), int(policy.get("max_pending", 1000)))
    )
    return UnitOfWork(database, clock, signer, SECRET, log_memory=memory)


def test_writers_sequence_and_get_a_promise_then_the_integrator_signs_once(
    database: Database, clock: ManualClock, signer: LogSigner
) -> None:
    uow = batched(database, clock, signer, interval=0.2)
    promises = append_each(uow, "w", 10)
    assert [p.index for p in promises] == list(range(10))
    assert {p.checkpoint_by for p in promises} == {
        clock.now() + timedelta(seconds=PROMISE_INTERVALS * 0.2)
    }
    # Committed, each with its index in its bytes, but not in the tree yet.
    assert [idx for idx, _ in stored(database)] == list(range(10))
    assert tree_size(database) == 0 and checkpoint_sizes(database) == []

    assert ensure_checkpoint(database, clock, signer, uow.log_memory)
    assert checkpoint_sizes(database) == [10]
    assert_log_is_sound(database, signer, 10)
    assert verify_database(database, signer.verifier_key).size == 10
    assert not ensure_checkpoint(database, clock, signer, uow.log_memory)  # nothing new


def test_verify_and_the_public_listing_see_only_the_integrated_tree(
    database: Database, clock: ManualClock, signer: LogSigner
) -> None:
    uow = batched(database, clock, signer)
    append_each(uow, "a", 3)
    ensure_checkpoint(database, clock, signer, uow.log_memory)
    append_each(uow, "b", 2)  # waiting for the next integration
    assert verify_database(database, signer.verifier_key).size == 3
    with database.session(readonly=True) as session:
        assert [e.idx for e in read.entries(session, 0, 100)] == [0, 1, 2]
        assert read.is_sequenced(session, 4) and not read.is_sequenced(session, 5)


def test_an_inline_writer_integrates_what_batched_writers_left(
    database: Database, clock: ManualClock, signer: LogSigner
) -> None:
    """Processes with and without a policy share one log (a CLI beside a server)."""
    fast = batched(database, clock, signer)
    inline = UnitOfWork(database, clock, signer, SECRET)
    append_each(fast, "fast", 3)
    (mine,) = append_each(inline, "inline", 1)
    assert mine.index == 3 and mine.checkpoint_by == clock.now()
    assert checkpoint_sizes(database) == [4]
    assert_log_is_sound(database, signer, 4)


def test_many_waiting_entries_wake_the_timer(
    database: Database, clock: ManualClock, signer: LogSigner
) -> None:
    uow = batched(database, clock, signer, max_pending=4)
    memory = uow.log_memory
    assert memory is not None
    append_each(uow, "w", 3)
    assert not memory.wake.is_set()
    append_each(uow, "w", 1)
    assert memory.wake.is_set()
    memory.wake.clear()
    ensure_checkpoint(database, clock, signer, memory)
    append_each(uow, "x", 3)  # 3 waiting behind the 4 integrated: not yet
    assert not memory.wake.is_set()


def test_the_timer_integrates_on_its_own(
    database: Database, clock: ManualClock, signer: LogSigner
) -> None:
    uow = batched(database, clock, signer, interval=0.05)
    assert uow.log_memory is not None
    append_each(uow, "w", 4)
    timer = CheckpointTimer(database, clock, signer, uow.log_memory, interval=0.05)
    thread = timer.start_thread()
    try:
        deadline = time.monotonic() + TIMER_PATIENCE_SECONDS
        while checkpoint_sizes(database)[-1:] != [4] and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        timer.stop()
        thread.join(timeout=TIMER_PATIENCE_SECONDS)
    assert not thread.is_alive()
    assert checkpoint_sizes(database)[-1] == 4
    assert_log_is_sound(database, signer, 4)


def test_the_remembered_frontier_gives_way_to_another_integrator(
    database: Database, clock: ManualClock, signer: LogSigner
) -> None:
    """A second process (here: an inline unit of work) integrates in between."""
    fast = batched(database, clock, signer)
    other = UnitOfWork(database, clock, signer, SECRET)
    for n in range(7):
        append_each(fast, f"fast{n}", 2)
        ensure_checkpoint(database, clock, signer, fast.log_memory)
        append_each(other, f"other{n}", n % 3)
    total = 7 * 2 + sum(n % 3 for n in range(7))
    assert_log_is_sound(database, signer, total)
    with database.session(readonly=True) as session:
        latest = read.latest_checkpoint(session)
        assert latest is not None and latest.size == total
        assert latest.root_hash == read.root_at(session, total)


def test_threads_sharing_one_memory_keep_the_log_sound(
    database: Database, signer: LogSigner
) -> None:
    memory = LogMemory(CheckpointPolicy(interval=0.01, max_pending=7))
    timer = CheckpointTimer(database, SystemClock(), signer, memory, interval=0.01)
    errors: list[BaseException] = []

    def write(name: str) -> None:
        try:
            append_each(UnitOfWork(database, SystemClock(), signer, log_memory=memory), name, 12)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=write, args=(f"t{i}",)) for i in range(4)]
    timer_thread = timer.start_thread()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timer.stop()
    timer_thread.join()
    assert errors == []
    ensure_checkpoint(database, SystemClock(), signer, memory)
    assert_log_is_sound(database, signer, 48)


@postgresql_only
def test_a_writer_in_flight_holds_back_integration_and_no_other_writer(
    database: Database, clock: ManualClock, signer: LogSigner
) -> None:
    slow = batched(database, clock, signer)
    quick = batched(database, clock, signer)
    with open_write(slow, "slow") as pending:
        (after,) = append_each(quick, "quick", 1)  # not blocked by the open transaction
        assert after.index == pending.index + 1
        probe = batched(database, clock, signer)
        with probe.begin():
            done = probe.log.integrate()  # does not wait: stops before the open index
        assert done is not None and done.size == pending.index
        assert tree_size(database) == pending.index
    assert ensure_checkpoint(database, clock, signer, slow.log_memory)
    assert_log_is_sound(database, signer, after.index + 1)


@postgresql_only
def test_the_timer_stops_before_a_writer_in_flight_and_goes_on_at_its_next_tick(
    database: Database, clock: ManualClock, signer: LogSigner
) -> None:
    slow = batched(database, clock, signer)
    append_each(slow, "first", 1)
    with open_write(slow, "slow") as pending:
        append_each(batched(database, clock, signer), "quick", 1)
        # It waits for nothing (a waiting integrator could close a cycle of waits).
        assert ensure_checkpoint(database, clock, signer, slow.log_memory)
        assert checkpoint_sizes(database) == [pending.index]
    assert ensure_checkpoint(database, clock, signer, slow.log_memory)
    assert checkpoint_sizes(database) == [pending.index, pending.index + 2]
    assert_log_is_sound(database, signer, pending.index + 2)


@postgresql_only
def test_under_load_a_rolled_back_index_is_voided_after_the_grace(
    database: Database, clock: ManualClock, signer: LogSigner
) -> None:
    """Another writer in flight keeps the sequencing lock busy: time rules out a writer
    caught between taking its index and locking it."""
    ticker = Ticker()
    memory = LogMemory(CheckpointPolicy(HOUR, 1000), monotonic=ticker)
    uow = UnitOfWork(database, clock, signer, SECRET, log_memory=memory)
    busy = batched(database, clock, signer)
    append_each(uow, "before", 1)
    with open_write(busy, "busy") as open_index:
        with pytest.raises(RuntimeError), open_write(uow, "undone"):
            raise RuntimeError("the service failed after appending")
        append_each(uow, "after", 1)
        ensure_checkpoint(database, clock, signer, memory)
        assert tree_size(database) == open_index.index  # stops before the open writer
        assert open_index.index == 1
    # The open writer committed at index 1; the rolled-back index 2 is now the gap, seen
    # free and empty, but the grace has not passed and another writer is in flight.
    with open_write(busy, "busy-again"):
        ensure_checkpoint(database, clock, signer, memory)
        assert tree_size(database) == 2
        ticker.now += GAP_GRACE_SECONDS
        ensure_checkpoint(database, clock, signer, memory)
        assert tree_size(database) == 4
    assert [kind for _, kind in stored(database)][:4] == [
        "Noted",
        "Noted",
        "IndexVoided",
        "Noted",
    ]
    ensure_checkpoint(database, clock, signer, memory)
    assert_log_is_sound(database, signer, 5)


@postgresql_only
def test_a_rolled_back_index_is_voided_in_public(
    database: Database, clock: ManualClock, signer: LogSigner
) -> None:
    uow = batched(database, clock, signer)
    append_each(uow, "before", 2)
    with pytest.raises(RuntimeError), open_write(uow, "undone") as undone:
        raise RuntimeError("the service failed after appending")
    append_each(uow, "after", 1)
    assert ensure_checkpoint(database, clock, signer, uow.log_memory)
    kinds = stored(database)
    assert kinds == [(0, "Noted"), (1, "Noted"), (2, "IndexVoided"), (3, "Noted")]
    assert undone.index == 2
    with database.session(readonly=True) as session:
        void = decode_entry(read.entry(session, 2).payload)
    assert void.index == 2 and void.facts == {"index": 2}
    assert_log_is_sound(database, signer, 4)
    assert verify_database(database, signer.verifier_key).size == 4


@postgresql_only
def test_an_index_taken_but_never_used_is_voided_only_once_something_follows(
    database: Database, clock: ManualClock, signer: LogSigner
) -> None:
    uow = batched(database, clock, signer)
    append_each(uow, "first", 1)
    with uow.begin():
        taken = uow.log.next_index()  # a row may carry it; then nothing was appended
    ensure_checkpoint(database, clock, signer, uow.log_memory)
    # Nothing follows the taken index: it is the end of the log, not a gap.
    assert tree_size(database) == 1 and taken == 1
    append_each(uow, "second", 1)
    ensure_checkpoint(database, clock, signer, uow.log_memory)
    assert stored(database) == [(0, "Noted"), (1, "IndexVoided"), (2, "Noted")]
    assert_log_is_sound(database, signer, 3)


def test_a_jury_draw_integrates_and_signs_the_checkpoint_that_seeds_it(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> None:
    world = cases_world.build(uow, clock, signer)
    fast = batched(uow.database, clock, signer)
    with fast.begin():
        case, _ = cases_intake.file_report(
            fast,
            platform_id=world.base.platform_id,
            request=cases_world.report_request(clock.now() - timedelta(hours=1)),
        )
    opened = case.opened_log_index
    assert checkpoint_sizes(uow.database)[-1] <= opened  # nothing covers the opening yet
    report = cases_world.run_jobs(uow, clock, signer)
    assert report.failed == 0 and report.done >= 1
    with uow.begin(readonly=True):
        jury = uow.session.scalars(select(Jury).where(Jury.case_id == case.id)).one()
        first_covering = uow.session.scalars(
            select(LogCheckpoint.size)
            .where(LogCheckpoint.size > opened)
            .order_by(LogCheckpoint.size)
            .limit(1)
        ).one()
    assert jury.seed_checkpoint_size == first_covering == opened + 1
    assert verify_database(uow.database, signer.verifier_key).size > opened


def test_the_api_says_an_entry_is_recorded_until_it_is_in_the_tree(
    database: Database, clock: ManualClock, signer: LogSigner, client: TestClient
) -> None:
    uow = batched(database, clock, signer)
    append_each(uow, "first", 1)
    ensure_checkpoint(database, clock, signer, uow.log_memory)
    (waiting,) = append_each(uow, "second", 1)
    answer = client.get(f"/api/v1/log/entries/{waiting.index}")
    assert answer.status_code == 409
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "recorded but not yet in the tree, which holds 1 entries" in answer.json()["detail"]
    beyond = client.get(f"/api/v1/log/entries/{waiting.index + 1}")
    assert beyond.status_code == 422  # never written: not "recorded"
    ensure_checkpoint(database, clock, signer, uow.log_memory)
    proved = client.get(f"/api/v1/log/entries/{waiting.index}")
    assert proved.status_code == 200
    assert proved.json()["tree_size"] == 2
