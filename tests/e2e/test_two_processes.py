"""Two server processes on one PostgreSQL database, as two machines behind a load balancer:
no job runs twice, no read is stale after a write made through the other process, and a
rate limit holds across both (issue 19 §2).

Both processes run the job worker, as every ``isegoria serve`` does, and both cache public
answers in memory; the rate-limit buckets are rows they share (http/ratelimit_shared.py).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from isegoria.store.models import Job, LogCheckpoint
from isegoria.store.models_cases import Jury
from tests.conftest import fresh_postgres
from tests.support import crash
from tests.support.crash_world import WAIT_SECONDS, CrashWorld, check_database
from tests.support.faults import posted_at, report_body

pytestmark = pytest.mark.postgres

REPORTS = 24  # new posts, filed half through each process, each one a case and a draw
ADDRESS_BUDGET = 10  # anonymous API calls per address, shared by both processes
# A volunteer sits on at most three juries at once (juror_max_cases): the cases world's own
# volunteers seat 15 juries of five, so without more the later draws lapse for too few
# volunteers (their cases are decided without a jury) and those cases never get one.
EXTRA_VOLUNTEERS, EXTRA_REGIONS = 48, 3
FRESH_ADDRESS = "127.0.0.2"  # anonymous calls from an address nothing else has used


def _file(url: str, key: str, post: str, at: str) -> int:
    answer = httpx.post(
        f"{url}/api/v1/reports",
        json=report_body(post, at),
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["case_id"])


def _shown_size(url: str, key: str) -> int:
    """The size of the latest checkpoint a process shows (through its read cache)."""
    answer = httpx.get(f"{url}/api/v1/log", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["size"])


def _stored_size(made: CrashWorld) -> int:
    """The size of the latest checkpoint in the database.

    Read on a connection of its own: the reader thread calls this while the test's thread
    polls through ``made.uow``, and a unit of work belongs to one thread at a time.
    """
    with made.database.engine.connect() as connection:
        return int(connection.scalar(select(func.max(LogCheckpoint.size))) or 0)


def _jobs(made: CrashWorld) -> list[tuple[int, str, str, int, str | None]]:
    """Every job, for a failure message: (id, kind, status, attempts, last error)."""
    with made.database.engine.connect() as connection:
        rows = connection.execute(
            select(Job.id, Job.kind, Job.status, Job.attempts, Job.last_error).order_by(Job.id)
        )
        return [(r.id, r.kind, r.status, r.attempts, r.last_error) for r in rows]


def test_two_processes_run_each_job_once_read_fresh_and_share_rate_limits(
    pg_base_url: str, tmp_path: Path
) -> None:
    made = CrashWorld(tmp_path, database_url=fresh_postgres(pg_base_url))
    made.add_large_pool(EXTRA_VOLUNTEERS, EXTRA_REGIONS)
    env = {"ISEGORIA_RATELIMIT_API_ADDRESS": f"{ADDRESS_BUDGET}/1h"}
    servers: list[crash.Crashable] = []
    filing = threading.Event()
    threads: list[threading.Thread] = []
    try:
        first = made.start(env, tmp_path / "first.log")
        servers.append(first)
        second = made.start(env, tmp_path / "second.log")
        servers.append(second)
        key, at = made.world.base.key_all, posted_at(made)

        # Reports through both processes at once: both workers poll the same job queue,
        # and each write signs a checkpoint. Meanwhile a reader asks both processes for the
        # latest checkpoint: neither may show one older than the database held when the
        # request was sent (each process caches public answers, http/read_cache.py).
        cases: list[int] = []
        stale: list[str] = []
        failed: list[str] = []  # what went wrong in a thread, for the test's own thread
        reads = 0
        lock = threading.Lock()

        def file_through(url: str, start: int) -> None:
            try:
                for n in range(start, REPORTS, 2):
                    case = _file(url, key, f"two-{n}", at)
                    with lock:
                        cases.append(case)
            except Exception as error:  # reported by the test's thread
                failed.append(f"filing through {url}: {error!r}")

        def read_both() -> None:
            nonlocal reads
            try:
                while filing.is_set():
                    for server in (first, second):
                        stored = _stored_size(made)
                        shown = _shown_size(server.url, key)
                        reads += 1
                        if shown < stored:
                            stale.append(f"{server.url} showed {shown} after {stored} was stored")
            except Exception as error:  # reported by the test's thread
                failed.append(f"reading: {error!r}")

        senders = [
            threading.Thread(target=file_through, args=(server.url, start))
            for start, server in enumerate((first, second))
        ]
        reader = threading.Thread(target=read_both)
        filing.set()
        for thread in (reader, *senders):
            thread.start()
            threads.append(thread)
        for sender in senders:
            sender.join(120)
        assert not failed, failed
        deadline = time.monotonic() + WAIT_SECONDS * 2
        for case in cases:
            while not made.juries_of(case):
                assert time.monotonic() < deadline, f"case {case}: no jury drawn; {_jobs(made)}"
                time.sleep(0.1)
        filing.clear()
        reader.join(60)
        assert not reader.is_alive() and not failed, failed
        assert len(set(cases)) == REPORTS
        assert reads > 20 and not stale, (reads, stale[:3])
        final = _stored_size(made)
        assert [_shown_size(server.url, key) for server in (first, second)] == [final, final]

        # One budget for an address, whichever process answers. The calls come from an
        # address of their own: the start-up probes of /healthz, a public route, spent two
        # tokens of 127.0.0.1's budget (Linux routes all of 127.0.0.0/8 to the loopback).
        transport = httpx.HTTPTransport(local_address=FRESH_ADDRESS)
        with httpx.Client(transport=transport, timeout=30) as client:
            answers = [
                client.get(f"{server.url}/api/v1/log").status_code
                for _ in range(ADDRESS_BUDGET // 2 + 1)
                for server in (first, second)
            ]
        assert answers == [200] * ADDRESS_BUDGET + [429, 429], answers
        for log in ("first.log", "second.log"):
            assert "Traceback" not in (tmp_path / log).read_text(), log

        for server in servers:
            crash.kill(server.process)
        # Each draw ran once: one jury per case and stage, one JuryDrawn entry per jury, and
        # every finished job was claimed once and never failed.
        check_database(made, {})
        with made.uow.begin(readonly=True):
            session = made.uow.session
            juries = list(session.scalars(select(Jury.case_id).where(Jury.stage == "first")))
            assert sorted(juries) == sorted(cases)
            done = list(session.scalars(select(Job).where(Job.status == "done")))
            assert len(done) >= REPORTS
            assert [(j.kind, j.attempts, j.last_error) for j in done if j.attempts != 1] == []
    finally:
        filing.clear()  # the reader stops before the servers go
        for thread in threads:
            thread.join(60)
        for server in servers:
            crash.kill(server.process)
        made.database.dispose()
