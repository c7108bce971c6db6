"""Public answers from the read cache are never stale: each follows the log it is keyed by."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from isegoria.api.schemas_cases import CaseOut
from isegoria.cases import intake as cases_intake
from isegoria.cases import views as cases_views
from isegoria.clock import ManualClock
from isegoria.http.read_cache import LoopVersion, ReadCache, log_version, render_json
from isegoria.jobs.checkpoint_timer import ensure_checkpoint
from isegoria.log.coalesce import CheckpointPolicy, LogMemory
from isegoria.log.signing import LogSigner
from isegoria.store.db import Database
from isegoria.unit_of_work import UnitOfWork
from tests.integration.test_log_append import Noted
from tests.support.cases_world import CasesWorld, build, report_request

HOUR = timedelta(hours=1)
SECRET = b"test-instance-secret-32-bytes!!!"


@pytest.fixture
def world(uow: UnitOfWork, clock: ManualClock, signer: LogSigner) -> CasesWorld:
    return build(uow, clock, signer)


def cache(app: FastAPI) -> ReadCache:
    return app.state.services.read_cache  # type: ignore[no-any-return]


def report(uow: UnitOfWork, world: CasesWorld, reporter: str) -> int:
    """A report about the post "viral"; the first opens its case, later ones join it."""
    with uow.begin():
        case, _ = cases_intake.file_report(
            uow,
            platform_id=world.base.platform_id,
            request=report_request(uow.now() - HOUR, content_id="viral", reporter=reporter),
        )
    return case.id


def fresh_case(uow: UnitOfWork, case_id: int) -> object:
    """The case's answer computed now, without the cache."""
    with uow.begin(readonly=True):
        view = CaseOut(**cases_views.case_view(uow, case_id))
    return json.loads(render_json(view, CaseOut))


def test_a_write_makes_the_next_answer_new(
    app: FastAPI, uow: UnitOfWork, world: CasesWorld, client: TestClient
) -> None:
    case_id = report(uow, world, "@first")
    first = client.get(f"/api/v1/cases/{case_id}")
    again = client.get(f"/api/v1/cases/{case_id}")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    assert len(cache(app)) == 1  # the second answer came from the cache

    report(uow, world, "@second")  # joins the case: one more ReportFiled entry
    after = client.get(f"/api/v1/cases/{case_id}")
    assert after.status_code == 200
    assert after.headers["etag"] != first.headers["etag"]
    assert after.json() == fresh_case(uow, case_id)
    steps = after.json()["timeline"]
    assert len(steps) == len(first.json()["timeline"]) + 1
    assert steps[-1]["kind"] == "ReportFiled"


def test_log_answers_follow_every_entry(
    uow: UnitOfWork, world: CasesWorld, client: TestClient
) -> None:
    report(uow, world, "@first")
    head = client.get("/api/v1/log").json()
    page = client.get("/api/v1/log/entries?start=0&limit=1000").json()
    proof = client.get("/api/v1/log/entries/0").json()
    assert page["tree_size"] == head["size"] == proof["tree_size"]

    report(uow, world, "@second")
    head2 = client.get("/api/v1/log").json()
    page2 = client.get("/api/v1/log/entries?start=0&limit=1000").json()
    proof2 = client.get("/api/v1/log/entries/0").json()
    assert head2["size"] > head["size"]
    assert page2["tree_size"] == head2["size"] == proof2["tree_size"]
    assert len(page2["entries"]) == page2["tree_size"] > len(page["entries"])
    assert proof2["root_hash"] == head2["root_hash"] != head["root_hash"]


def test_a_checkpoint_alone_changes_the_answer(
    database: Database, clock: ManualClock, signer: LogSigner, client: TestClient
) -> None:
    # Under batched integration, entries commit before the tree covers them; the timer
    # integrates and signs later in a transaction of its own, which appends nothing.
    memory = LogMemory(CheckpointPolicy(interval=3600.0, max_pending=1000))
    writer = UnitOfWork(database, clock, signer, SECRET, log_memory=memory)
    with writer.begin():
        writer.log.append(Noted("w", 0))
    assert log_version(database) == (0, 0, 1)
    assert ensure_checkpoint(database, clock, signer, memory)
    assert log_version(database) == (1, 1, 0)
    for n in range(1, 3):
        with writer.begin():
            writer.log.append(Noted("w", n))
    before = client.get("/api/v1/log").json()
    assert log_version(database) == (1, 1, 2)
    assert before["size"] == 1

    assert ensure_checkpoint(database, clock, signer, memory)
    assert log_version(database) == (3, 3, 0)
    after = client.get("/api/v1/log").json()
    assert after["size"] == 3


def test_conditional_requests_are_answered_304(
    uow: UnitOfWork, world: CasesWorld, client: TestClient
) -> None:
    case_id = report(uow, world, "@first")
    first = client.get(f"/api/v1/cases/{case_id}")
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert first.headers["cache-control"] == "no-cache"
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        same = client.get(f"/api/v1/cases/{case_id}", headers={"If-None-Match": header})
        assert same.status_code == 304, header
        assert same.content == b""
        assert same.headers["etag"] == etag
    other = client.get(f"/api/v1/cases/{case_id}", headers={"If-None-Match": '"other"'})
    assert other.status_code == 200
    assert other.content == first.content

    report(uow, world, "@second")
    changed = client.get(f"/api/v1/cases/{case_id}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


def test_errors_are_not_kept(app: FastAPI, world: CasesWorld, client: TestClient) -> None:
    for _ in range(2):
        assert client.get("/api/v1/cases/999999").status_code == 404
        assert client.get("/api/v1/log/entries/999999").status_code == 422
        assert client.get("/api/v1/cases/1/juries/first").status_code == 404
    assert len(cache(app)) == 0


def test_with_the_cache_off_the_answers_are_the_same(
    app: FastAPI, uow: UnitOfWork, world: CasesWorld, client: TestClient
) -> None:
    case_id = report(uow, world, "@first")
    cached = client.get(f"/api/v1/cases/{case_id}")
    cache(app).max_entries = 0
    uncached = client.get(f"/api/v1/cases/{case_id}")
    assert uncached.content == cached.content
    assert uncached.headers["etag"] == cached.headers["etag"]
    assert uncached.json() == fresh_case(uow, case_id)


def test_hits_and_misses_are_counted_in_the_metrics(
    uow: UnitOfWork, world: CasesWorld, client: TestClient
) -> None:
    case_id = report(uow, world, "@first")
    first = client.get(f"/api/v1/cases/{case_id}")
    client.get(f"/api/v1/cases/{case_id}")
    client.get(f"/api/v1/cases/{case_id}", headers={"If-None-Match": first.headers["etag"]})
    metrics = client.get("/metrics").text
    for outcome in ("miss", "hit", "not_modified"):
        assert f'isegoria_read_cache_total{{outcome="{outcome}"}} 1.0' in metrics


def test_the_event_loop_reads_the_version_itself_on_sqlite_only(
    database: Database, uow: UnitOfWork, world: CasesWorld
) -> None:
    loop = LoopVersion(database)
    try:
        if database.is_sqlite:
            assert loop.read() == log_version(database)
            report(uow, world, "@first")  # committed by another connection: seen at once
            assert loop.read() == log_version(database)
        else:  # a network round trip: asked from the thread pool instead
            assert loop.read() is None
    finally:
        loop.close()


def test_an_unreadable_database_sends_the_loop_to_the_thread_pool(tmp_path: Path) -> None:
    broken = tmp_path / "not-a-database.db"
    broken.write_bytes(b"this is not SQLite" * 100)
    loop = LoopVersion(Database(f"sqlite:///{broken}"))
    assert loop.read() is None
    loop.close()
