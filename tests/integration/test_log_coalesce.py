"""Checkpoint coalescing: fewer signatures, the same guarantees, a timer that signs the tail."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import select

from isegoria.cases import intake as cases_intake
from isegoria.clock import ManualClock, SystemClock
from isegoria.jobs.checkpoint_timer import CheckpointTimer, ensure_checkpoint
from isegoria.log import read
from isegoria.log.coalesce import CheckpointPolicy, LogMemory
from isegoria.log.signing import LogSigner
from isegoria.log.verify import verify_database
from isegoria.store.db import Database
from isegoria.store.models import LogCheckpoint
from isegoria.store.models_cases import Jury
from isegoria.unit_of_work import UnitOfWork
from tests.integration.test_log_append import Noted, assert_log_is_sound
from tests.support import cases_world

SECRET = b"test-instance-secret-32-bytes!!!"
HOUR = 3600.0
#: How long the timer test waits at most for the timer's checkpoint before failing.
TIMER_PATIENCE_SECONDS = 10.0


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


def append_each(uow: UnitOfWork, writer: str, count: int) -> None:
    """``count`` transactions of one entry each."""
    for n in range(count):
        with uow.begin():
            uow.log.append(Noted(writer, n))


def test_a_transaction_signs_only_when_max_pending_entries_are_unsigned(
    database: Database, clock: ManualClock, signer: LogSigner
) -> None:
    memory = LogMemory(CheckpointPolicy(interval=HOUR, max_pending=4))
    uow = UnitOfWork(database, clock, signer, SECRET, log_memory=memory)
    append_each(uow, "w", 10)
    # The first commit signs (nothing known yet); then every fourth entry past the last.
    assert checkpoint_sizes(database) == [1, 5, 9]
    assert ensure_checkpoint(database, clock, signer, memory)  # the timer covers the tail
    assert checkpoint_sizes(database) == [1, 5, 9, 10]
    assert_log_is_sound(database, signer, 10)
    assert verify_database(database, signer.verifier_key).size == 10


def test_a_transaction_signs_once_the_interval_has_passed(
    database: Database, clock: ManualClock, signer: LogSigner
) -> None:
    ticker = Ticker()
    memory = LogMemory(CheckpointPolicy(interval=0.5, max_pending=1000), monotonic=ticker)
    uow = UnitOfWork(database, clock, signer, SECRET, log_memory=memory)
    append_each(uow, "a", 3)
    ticker.now = 0.49
    append_each(uow, "b", 1)
    assert checkpoint_sizes(database) == [1]
    ticker.now = 0.5
    append_each(uow, "c", 1)
    assert checkpoint_sizes(database) == [1, 5]
    assert_log_is_sound(database, signer, 5)


def test_the_remembered_frontier_gives_way_to_another_writer(
    database: Database, clock: ManualClock, signer: LogSigner
) -> None:
    """A second process (here: a unit of work without the memory) appends in between."""
    memory = LogMemory(CheckpointPolicy(interval=HOUR, max_pending=1))
    fast = UnitOfWork(database, clock, signer, SECRET, log_memory=memory)
    other = UnitOfWork(database, clock, signer, SECRET)
    for n in range(7):
        append_each(fast, f"fast{n}", 2)
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
    memory = LogMemory(CheckpointPolicy(interval=HOUR, max_pending=7))
    errors: list[BaseException] = []

    def write(name: str) -> None:
        try:
            append_each(UnitOfWork(database, SystemClock(), signer, log_memory=memory), name, 12)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=write, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ensure_checkpoint(database, SystemClock(), signer, memory)
    assert_log_is_sound(database, signer, 48)


def test_the_timer_signs_what_transactions_left_unsigned(
    database: Database, clock: ManualClock, signer: LogSigner
) -> None:
    # The transactions see a clock that never moves, so only the timer can sign the tail.
    memory = LogMemory(CheckpointPolicy(interval=0.05, max_pending=1000), monotonic=Ticker())
    uow = UnitOfWork(database, clock, signer, SECRET, log_memory=memory)
    append_each(uow, "w", 4)
    size = read_size(database)
    assert checkpoint_sizes(database) == [1]
    timer = CheckpointTimer(database, clock, signer, memory, interval=0.05)
    timer.start_thread()
    try:
        deadline = time.monotonic() + TIMER_PATIENCE_SECONDS
        while checkpoint_sizes(database)[-1] < size and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        timer.stop()
    assert checkpoint_sizes(database)[-1] == size
    assert_log_is_sound(database, signer, size)


def read_size(database: Database) -> int:
    """The log's size."""
    with database.session(readonly=True) as session:
        return read.tree_size(session)


def test_a_jury_draw_signs_the_checkpoint_that_seeds_it_when_none_covers_the_case(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> None:
    world = cases_world.build(uow, clock, signer)
    memory = LogMemory(CheckpointPolicy(interval=HOUR, max_pending=1000))
    fast = UnitOfWork(uow.database, clock, signer, SECRET, log_memory=memory)
    append_each(fast, "warm", 1)  # signs: the memory now believes a checkpoint is fresh
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
