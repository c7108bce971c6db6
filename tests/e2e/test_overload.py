"""Graceful overload on a live server: past saturation, 503 with Retry-After, never a 500,
and every request that was answered 2xx is in the database afterwards."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.log.signing import load_signer
from isegoria.log.verify import verify_database
from isegoria.store import migrate
from isegoria.store.db import Database
from isegoria.store.models import LogCheckpoint
from isegoria.store.models_cases import Case, Content
from isegoria.unit_of_work import UnitOfWork
from tests.conftest import START
from tests.support.cases_world import build
from tests.support.server import live_server

# A load test: it runs alone, after the parallel part of the suite, so it neither
# measures nor disturbs other tests.
pytestmark = pytest.mark.serial

CLIENTS = 24  # concurrent clients, each sending one request after another
MAX_IN_FLIGHT = 3  # the server's cap: far below the clients, so most bursts overflow it
SECONDS = 3.0  # how long the clients keep sending
CHECKPOINT_MS = 100  # coalesced checkpoints: the timer must cover the tail afterwards
WAIT_SECONDS = 20.0  # at most this long for the checkpoint timer after the load


def report_body(post: str, posted_at: str) -> dict[str, object]:
    """A platform report of one post under MX's threats rule."""
    return {
        "content": {
            "content_id": post,
            "text": "I know where you live.",
            "language": "es",
            "author": "@troll",
            "posted_at": posted_at,
            "jurisdictions": ["MX"],
        },
        "rule": "MX-1",
        "reason": "A threat against a named person.",
        "source": "user",
    }


def test_overload_is_answered_503_with_retry_after_and_nothing_acknowledged_is_lost(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir)
    database = Database(settings.effective_database_url)
    migrate.upgrade(database)
    clock = ManualClock(START)
    signer = load_signer(settings.origin, settings.signing_key_path)
    world = build(UnitOfWork(database, clock, signer, settings.secret_key), clock, signer)
    clock_file = data_dir / "clock.txt"
    clock_file.write_text(clock.now().isoformat())
    posted_at = (clock.now() - timedelta(hours=1)).isoformat()
    env = {
        "ISEGORIA_CLOCK_FILE": str(clock_file),
        "ISEGORIA_MAX_IN_FLIGHT": str(MAX_IN_FLIGHT),
        "ISEGORIA_CHECKPOINT_INTERVAL_MS": str(CHECKPOINT_MS),
        "ISEGORIA_RATELIMIT_API_ADDRESS": "1000000/1m",
    }
    answers: list[tuple[str, int, httpx.Headers, bytes]] = []
    lock = threading.Lock()

    def client(number: int, url: str) -> None:
        headers = {"Authorization": f"Bearer {world.base.key_all}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            sent = 0
            stop_at = time.monotonic() + SECONDS
            while time.monotonic() < stop_at:
                post = f"overload-{number}-{sent}"
                sent += 1
                if sent % 3 == 0:  # reads are refused the same way as writes
                    response = http.get("/api/v1/cases?limit=5")
                else:
                    response = http.post("/api/v1/reports", json=report_body(post, posted_at))
                with lock:
                    answers.append((post, response.status_code, response.headers, response.content))

    with live_server(data_dir, "serve", env=env) as server:
        threads = [threading.Thread(target=client, args=(n, server.url)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline and not _covered(database):
            time.sleep(0.1)

    statuses = Counter(status for _, status, _, _ in answers)
    assert set(statuses) <= {200, 201, 503}, statuses
    assert statuses[503] > 0, f"the load never exceeded the cap: {statuses}"
    assert statuses[201] > 0, f"nothing got through: {statuses}"
    for _, status, headers, body in answers:
        if status == 503:
            assert headers["retry-after"] == "1"
            assert headers["content-type"] == "application/problem+json"
            assert b"retry in 1 s" in body

    acknowledged = {post for post, status, _, _ in answers if status == 201}
    refused = {post for post, status, _, _ in answers if status == 503}
    with database.session(readonly=True) as session:
        stored = set(
            session.scalars(
                select(Content.platform_content_id).where(
                    Content.platform_content_id.like("overload-%")
                )
            )
        )
        cases = session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1))
    assert acknowledged <= stored, f"lost: {sorted(acknowledged - stored)[:5]}"
    assert not (refused & stored), "a refused request changed something"
    assert cases is not None
    assert _covered(database), "no checkpoint covers the log after the timer's interval"
    assert verify_database(database, signer.verifier_key).size > len(acknowledged)
    database.dispose()


def _covered(database: Database) -> bool:
    """Whether the newest checkpoint covers every entry."""
    from isegoria.log import read

    with database.session(readonly=True) as session:
        latest = session.scalar(select(LogCheckpoint.size).order_by(LogCheckpoint.size.desc()))
        return latest is not None and latest == read.tree_size(session)
