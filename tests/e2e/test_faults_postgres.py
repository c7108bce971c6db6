"""PostgreSQL restarted under load (issue 21 §5): the server reconnects by itself, requests
in flight get 503 with Retry-After (never a 500), and clients that retry lose nothing.

The cluster is the test's own (the session's shared one must not restart under other
tests). ``pg_ctl restart -m fast`` ends every session, so each pooled connection of the
server is dead afterwards: the pool's pre-ping must notice and reconnect, and the job worker
must keep polling through the outage.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from isegoria.store.models_cases import Content, Jury
from tests.support import crash
from tests.support.crash_world import WAIT_SECONDS, CrashWorld, check_database
from tests.support.faults import posted_at, report_body
from tests.support.postgres import restartable_cluster

pytestmark = pytest.mark.postgres

CLIENTS = 4
LOAD_BEFORE, LOAD_AFTER = 1.0, 2.0  # seconds of load around the restart
RETRY_PAUSE = 0.2  # a client's wait after a 503 (the server asks for 1 s; tests are impatient)
GIVE_UP = 60.0  # seconds a client keeps retrying one report


def juries(made: CrashWorld) -> int:
    """How many juries are drawn."""
    with made.uow.begin(readonly=True):
        return int(made.uow.session.scalar(select(func.count()).select_from(Jury)) or 0)


class RetryingClient:
    """Files reports one after another, each retried after a 503 until it is acknowledged."""

    def __init__(self, number: int, url: str, key: str, at: str, stop: threading.Event) -> None:
        self.number, self.url, self.key, self.at, self.stop = number, url, key, at, stop
        self.statuses: Counter[int] = Counter()
        self.acknowledged: list[str] = []
        self.failures: list[str] = []  # anything but 201 and 503-with-Retry-After
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as client:
            sent = 0
            while not self.stop.is_set():
                post = f"pg-{self.number}-{sent}"
                sent += 1
                self._file(client, post)

    def _file(self, client: httpx.Client, post: str) -> None:
        give_up = time.monotonic() + GIVE_UP
        while time.monotonic() < give_up:
            try:
                answer = client.post("/api/v1/reports", json=report_body(post, self.at))
            except httpx.HTTPError as error:
                self.failures.append(f"{post}: {error!r}")
                return
            self.statuses[answer.status_code] += 1
            if answer.status_code == 201:
                self.acknowledged.append(post)
                return
            if answer.status_code != 503 or answer.headers.get("retry-after") != "1":
                self.failures.append(f"{post}: {answer.status_code} {answer.text[:300]}")
                return
            time.sleep(RETRY_PAUSE)
        self.failures.append(f"{post}: still refused after {GIVE_UP} s")


def test_postgresql_restart_under_load_is_answered_503_and_loses_nothing(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    with restartable_cluster() as cluster:
        admin = create_engine(f"{cluster.url}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE faults"))
        admin.dispose()
        made = CrashWorld(tmp_path, database_url=f"{cluster.url}/faults")
        server = made.start()
        try:
            stop = threading.Event()
            at = posted_at(made)
            clients = [
                RetryingClient(n, server.url, made.world.base.key_all, at, stop)
                for n in range(CLIENTS)
            ]
            for client in clients:
                client.thread.start()
            time.sleep(LOAD_BEFORE)
            before_restart = juries(made)
            made.database.dispose()  # the test's own connections would die too
            restart_began = time.monotonic()
            cluster.restart()
            restart_seconds = time.monotonic() - restart_began
            time.sleep(LOAD_AFTER)
            stop.set()
            for client in clients:
                client.thread.join(GIVE_UP + 10)
            # The same server process, never restarted, answers and its worker draws again.
            assert server.process.poll() is None
            assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
            # The worker polled through the outage: juries are drawn after the restart (counted
            # from before it: a fast worker may have drawn every pending jury by the time the
            # load stops, so a count taken then could wait for a draw that has no case left).
            deadline = time.monotonic() + WAIT_SECONDS
            while juries(made) <= before_restart:
                assert time.monotonic() < deadline, "the worker drew no jury after the restart"
                time.sleep(0.2)
        finally:
            crash.kill(server.process)
        statuses = sum((c.statuses for c in clients), Counter())
        failures = [f for c in clients for f in c.failures]
        acknowledged = {post for c in clients for post in c.acknowledged}
        with made.uow.begin(readonly=True):
            stored = set(
                made.uow.session.scalars(
                    select(Content.platform_content_id).where(
                        Content.platform_content_id.like("pg-%")
                    )
                )
            )
        size = check_database(made, {})
        made.database.dispose()
    print(  # noqa: T201 - figures for the report, shown with -s
        f"restart took {restart_seconds:.1f} s; answers {dict(statuses)}; "
        f"acknowledged {len(acknowledged)}; log_size={size}; "
        f"seconds={time.monotonic() - started:.1f}"
    )
    assert not failures, failures[:5]
    assert set(statuses) <= {201, 503}, statuses
    assert statuses[503] > 0, "no request was in flight during the restart"
    assert acknowledged <= stored, f"lost: {sorted(acknowledged - stored)[:5]}"
