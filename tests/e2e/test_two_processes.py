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
    with made.uow.begin(readonly=True):
        return int(made.uow.session.scalar(select(func.max(LogCheckpoint.size))) or 0)


def test_two_processes_run_each_job_once_read_fresh_and_share_rate_limits(
    pg_base_url: str, tmp_path: Path
) -> None:
    made = CrashWorld(tmp_path, database_url=fresh_postgres(pg_base_url))
    env = {"ISEGORIA_RATELIMIT_API_ADDRESS": f"{ADDRESS_BUDGET}/1h"}
    first = made.start(env, tmp_path / "first.log")
    second = made.start(env, tmp_path / "second.log")
    try:
        key, at = made.world.base.key_all, posted_at(made)

        # Reports through both processes at once: both workers poll the same job queue,
        # and each write signs a checkpoint. Meanwhile a reader asks both processes for the
        # latest checkpoint: neither may show one older than the database held when the
        # request was sent (each process caches public answers, http/read_cache.py).
        cases: list[int] = []
        stale: list[str] = []
        reads = 0
        lock = threading.Lock()
        filing = threading.Event()

        def file_through(url: str, start: int) -> None:
            for n in range(start, REPORTS, 2):
                case = _file(url, key, f"two-{n}", at)
                with lock:
                    cases.append(case)

        def read_both() -> None:
            nonlocal reads
            while filing.is_set():
                for server in (first, second):
                    stored = _stored_size(made)
                    shown = _shown_size(server.url, key)
                    reads += 1
                    if shown < stored:
                        stale.append(f"{server.url} showed {shown} after {stored} was stored")

        senders = [
            threading.Thread(target=file_through, args=(server.url, start))
            for start, server in enumerate((first, second))
        ]
        reader = threading.Thread(target=read_both)
        filing.set()
        reader.start()
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(120)
        deadline = time.monotonic() + WAIT_SECONDS * 2
        for case in cases:
            while not made.juries_of(case):
                assert time.monotonic() < deadline, f"case {case}: no jury drawn"
                time.sleep(0.1)
        filing.clear()
        reader.join(60)
        assert len(set(cases)) == REPORTS
        assert reads > 20 and not stale, (reads, stale[:3])
        final = _stored_size(made)
        assert [_shown_size(server.url, key) for server in (first, second)] == [final, final]

        # One budget for an address, whichever process answers.
        answers = [
            httpx.get(f"{server.url}/api/v1/log", timeout=30).status_code
            for _ in range(ADDRESS_BUDGET // 2 + 1)
            for server in (first, second)
        ]
        assert answers == [200] * ADDRESS_BUDGET + [429, 429], answers
        for log in ("first.log", "second.log"):
            assert "Traceback" not in (tmp_path / log).read_text(), log
    finally:
        crash.kill(first.process)
        crash.kill(second.process)

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
    made.database.dispose()
