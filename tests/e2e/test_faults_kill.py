"""Faults the suite survives (issue 21 §5): ``kill -9`` during a jury draw, a webhook delivery
and a batch of log writes, on a real server over SQLite (the log writes on PostgreSQL too).

Each test kills the server at a chosen moment, restarts it on the same data and checks what
a person relies on: nothing acknowledged is lost, nothing is half-written (``log verify``
and every case's entries against its rows, ``crash_world.check_database``), a draw happens
exactly once, and a delivery is made again with the same delivery id.

Where a kill must land inside a write transaction, the test watches SQLite's write lock from
outside (``crash_world.kill_inside_a_write``: a ``BEGIN IMMEDIATE`` that fails at once while
another connection holds the lock; on PostgreSQL, a server backend whose transaction has
written) and sends SIGKILL the moment it is held.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from isegoria.cases import intake as cases_intake
from isegoria.decisions import lifecycle, outbox
from isegoria.domain.decisions import DecisionKind
from isegoria.log import read as log_read
from isegoria.people import platforms
from isegoria.security import SecretBox
from isegoria.store.models import LogCheckpoint, LogEntry, Platform
from isegoria.store.models_cases import DecisionRow, Juror, Report
from tests.conftest import fresh_postgres
from tests.support import crash
from tests.support.cases_world import report_request, run_jobs
from tests.support.crash_world import (
    WAIT_SECONDS,
    CrashWorld,
    check_database,
    kill_inside_a_write,
)
from tests.support.faults import (
    HeldReceiver,
    file_report,
    held_receiver,
    posted_at,
    report_body,
    wait_jury,
)

# 480 volunteers over 240 strata profiles (20 regions): the draw's preparation takes a few
# seconds on a 2-core machine (it grows with the profiles, faster than linearly).
POOL, POOL_REGIONS = 480, 20
BATCH = 100  # reports per batch: the API's largest
BATCH_POSTS = 3  # the batches' reports join the open cases of these posts (no new draws)
BATCH_KILLS = 2


def test_kill_during_a_jury_draw_draws_it_exactly_once(tmp_path: Path) -> None:
    started = time.monotonic()
    made = CrashWorld(tmp_path)
    made.add_large_pool(POOL, POOL_REGIONS)
    running: list[crash.Crashable] = []
    try:
        # 1. Killed while the worker prepares the lottery (read-only, seconds long).
        server = made.start()
        running.append(server)
        case_id = file_report(made, server.url, "draw-kill")
        time.sleep(0.3)
        assert not made.juries_of(case_id), "the draw finished before the kill: pool too small"
        crash.kill(server.process)
        check_database(made, {})
        # 2. Killed inside the draw's write transaction: the first write after a restart with
        # nothing else due (the draw is the one due job, and the worker runs its periodic
        # upkeep only after its first pass over due jobs).
        server = made.start()
        running.append(server)
        assert kill_inside_a_write(server, made.sqlite_path), (
            "no write transaction was seen to kill"
        )
        assert not made.juries_of(case_id), "a draw killed mid-transaction left a jury"
        check_database(made, {})
        # 3. The restarted worker draws it, once.
        server = made.start()
        running.append(server)
        wait_jury(made, case_id)
        crash.kill(server.process)
        check_database(made, {})  # one jury per stage, one JuryDrawn entry per jury
        [jury] = made.juries_of(case_id)
        with made.uow.begin(readonly=True):
            seats = list(made.uow.session.scalars(select(Juror).where(Juror.jury_id == jury.id)))
        assert len(seats) == jury.size == len({s.account_id for s in seats})
    finally:
        for leftover in running:
            crash.kill(leftover.process)
        made.database.dispose()
    print(f"draw killed twice, drawn once; seconds={time.monotonic() - started:.1f}")  # noqa: T201


@pytest.fixture
def receiver() -> Iterator[HeldReceiver]:
    with held_receiver() as held:
        yield held


def test_kill_during_a_webhook_delivery_delivers_again_with_the_same_id(
    tmp_path: Path, receiver: HeldReceiver
) -> None:
    started = time.monotonic()
    made = CrashWorld(tmp_path)
    platform_id = made.world.base.platform_id
    with made.uow.begin():
        platform = made.uow.session.get(Platform, platform_id)
        assert platform is not None
        platforms.set_webhook(made.uow, platform, receiver.url, allow_private=True)
        # Sealed under the instance key the server opens it with.
        platform.webhook_secret = SecretBox(made.settings.secret_key).seal("hook-secret")
        decision_id = lifecycle.new_row(
            made.uow, platform_id, "post-webhook-kill", None, DecisionKind.NO_ACTION
        ).id
    env = {"ISEGORIA_WEBHOOK_ALLOW_PRIVATE": "true"}
    server = made.start(env)
    try:
        assert receiver.arrived.wait(WAIT_SECONDS), "the delivery never reached the receiver"
        crash.kill(server.process)  # the POST is in flight: sent, not yet answered
    finally:
        crash.kill(server.process)
        receiver.release.set()
    with made.uow.begin(readonly=True):
        row = made.uow.session.get(DecisionRow, decision_id)
        assert row is not None
        assert (row.delivery, row.delivery_attempts) == ("pending", 0)
        leased_until = row.next_delivery_at
    assert leased_until is not None
    # The claim's lease keeps a second worker off the row; once it runs out, it is sent again.
    made.clock.set(leased_until + timedelta(seconds=1))
    made.write_clock()
    server = made.start(env)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            with made.uow.begin(readonly=True):
                row = made.uow.session.get(DecisionRow, decision_id)
                assert row is not None
                if row.delivery == outbox.DELIVERED:
                    break
            assert time.monotonic() < deadline, "the delivery was not made after the restart"
            time.sleep(0.2)
    finally:
        crash.kill(server.process)
    assert row.delivery_attempts == 1
    # At least once, and both times under the same id: the receiver can drop the duplicate.
    assert [d for d, _ in receiver.deliveries] == [str(decision_id)] * 2, receiver.deliveries
    check_database(made, {})
    made.database.dispose()
    print(f"webhook delivered twice under one id; seconds={time.monotonic() - started:.1f}")  # noqa: T201


class BatchFiler:
    """Sends report batches until the server dies; remembers what each answer was."""

    def __init__(self, made: CrashWorld, url: str, first: int) -> None:
        self.made, self.url, self.next = made, url, first
        self.acknowledged: list[int] = []
        self.unanswered: int | None = None  # the batch in flight when the server died
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.made.world.base.key_all}"}
        at = posted_at(self.made)
        with httpx.Client(headers=headers, timeout=30) as client:
            while True:
                batch = self.next
                self.next += 1
                body = {
                    "reports": [
                        report_body(f"batch-post-{n % BATCH_POSTS}", at, f"batch {batch} #{n}")
                        for n in range(BATCH)
                    ]
                }
                try:
                    answer = client.post(f"{self.url}/api/v1/reports/batch", json=body)
                except httpx.HTTPError:
                    self.unanswered = batch
                    return
                assert answer.status_code == 201, answer.text
                self.acknowledged.append(batch)


def reports_of_batch(made: CrashWorld, batch: int) -> int:
    """How many of a batch's reports are stored."""
    with made.uow.begin(readonly=True):
        query = select(func.count()).where(Report.reason.like(f"batch {batch} #%"))
        return int(made.uow.session.scalar(query.select_from(Report)) or 0)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_kill_during_batches_of_log_writes_keeps_each_batch_whole(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    started = time.monotonic()
    made = (
        CrashWorld(tmp_path)
        if backend == "sqlite"
        else CrashWorld(
            tmp_path, database_url=fresh_postgres(request.getfixturevalue("pg_base_url"))
        )
    )
    # Batched integration: writers only sequence their entries and the timer integrates
    # and signs them, so a kill also lands between a commit and the tree that covers it.
    env = {"ISEGORIA_CHECKPOINT_INTERVAL_MS": "200"}
    with made.uow.begin():  # open the cases the batches join, and draw their juries
        for n in range(BATCH_POSTS):
            cases_intake.file_report(
                made.uow,
                platform_id=made.world.base.platform_id,
                request=report_request(
                    datetime.fromisoformat(posted_at(made)),
                    content_id=f"batch-post-{n}",
                    text="Sé dónde vives.",
                ),
            )
    run_jobs(made.uow, made.clock, made.uow.signer)
    running: list[crash.Crashable] = []
    checkpoints: dict[int, str] = {}
    acknowledged: list[int] = []
    killed_in_flight = 0
    next_batch = 0
    try:
        for _ in range(BATCH_KILLS):
            server = made.start(env)
            running.append(server)
            head = httpx.get(f"{server.url}/api/v1/log", timeout=10).json()
            checkpoints[head["size"]] = head["root_hash"]
            filer = BatchFiler(made, server.url, next_batch)
            filer.thread.start()
            deadline = time.monotonic() + WAIT_SECONDS
            while not filer.acknowledged:  # one batch commits first, then the kill is armed
                assert time.monotonic() < deadline, "no batch was acknowledged"
                time.sleep(0.01)
            assert made.kill_inside_a_write(server), "no write transaction was seen to kill"
            filer.thread.join(timeout=30)
            acknowledged.extend(filer.acknowledged)
            next_batch = filer.next
            for batch in filer.acknowledged:
                assert reports_of_batch(made, batch) == BATCH, f"acknowledged batch {batch}"
            if filer.unanswered is not None:
                stored = reports_of_batch(made, filer.unanswered)
                assert stored in (0, BATCH), f"batch {filer.unanswered}: {stored} of {BATCH}"
                killed_in_flight += stored == 0
            check_database(made, checkpoints)
        # After the last restart the timer signs the tail no checkpoint covered yet.
        server = made.start(env)
        running.append(server)
        deadline = time.monotonic() + WAIT_SECONDS
        while not covered(made):
            assert time.monotonic() < deadline, "no checkpoint covers the log after a restart"
            time.sleep(0.1)
        crash.kill(server.process)
        size = check_database(made, checkpoints)
    finally:
        for leftover in running:
            crash.kill(leftover.process)
        made.database.dispose()
    print(  # noqa: T201 - figures for the report, shown with -s
        f"batch kills={BATCH_KILLS} acknowledged batches={len(acknowledged)} "
        f"killed mid-transaction={killed_in_flight} log_size={size} "
        f"seconds={time.monotonic() - started:.1f}"
    )
    assert acknowledged, "no batch was acknowledged between kills"
    assert killed_in_flight >= 1, "no kill landed inside a batch's transaction"


def covered(made: CrashWorld) -> bool:
    """Whether every stored entry is integrated and the newest checkpoint covers the tree."""
    with made.uow.begin(readonly=True):
        session = made.uow.session
        latest = session.scalar(select(LogCheckpoint.size).order_by(LogCheckpoint.size.desc()))
        stored = session.scalar(select(func.count()).select_from(LogEntry))
        return latest is not None and latest == log_read.tree_size(session) == stored
