"""Batch report intake (POST /api/v1/reports/batch): all or none, the same as one by one."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from isegoria.app import create_app
from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.domain.content import MAX_REPORT_BATCH
from isegoria.http.deps import Services
from isegoria.store.db import Database
from isegoria.store.models import Job, LogEntry
from isegoria.store.models_cases import Case, Content, Report
from tests.support.cases_world import CasesWorld, build

POST = {
    "content_id": "post-1",
    "url": "https://forum.example/post-1",
    "text": "I know where you live.",
    "language": "es",
    "author": "@troll",
    "posted_at": "2026-02-27T08:00:00Z",
    "jurisdictions": ["MX"],
}


def _report(content_id: str, **changes: Any) -> dict[str, Any]:
    """A report body about post ``content_id`` under MX's threats rule."""
    content = {**POST, "content_id": content_id, "url": f"https://forum.example/{content_id}"}
    body: dict[str, Any] = {
        "content": content,
        "rule": "MX-1",
        "reason": "A threat against a named person.",
        "source": "user",
        "reporter": "@victim",
    }
    body.update(changes)
    return body


@pytest.fixture
def world(app: FastAPI, clock: ManualClock) -> CasesWorld:
    services: Services = app.state.services
    return build(services.uow(), clock, services.signer, volunteers=10)


def _key(world: CasesWorld) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.base.key_all}"}


def _stored(app: FastAPI) -> dict[str, int]:
    """How many rows of each kind intake writes are stored, and the log's size."""
    services: Services = app.state.services
    uow = services.uow()
    with uow.begin(readonly=True):
        return {
            model.__name__: uow.session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Content, Case, Report, Job, LogEntry)
        }


def _kinds_since(app: FastAPI, size: int) -> list[str]:
    services: Services = app.state.services
    uow = services.uow()
    with uow.begin(readonly=True):
        return list(
            uow.session.scalars(select(LogEntry.kind).where(LogEntry.idx >= size).order_by("idx"))
        )


def test_a_batch_files_as_the_same_reports_one_by_one(app: FastAPI, world: CasesWorld) -> None:
    # Two posts, the first reported twice: the duplicate joins the first post's case.
    plan = ["a", "b", "a", "c"]
    with TestClient(app) as platform:
        before = _stored(app)
        single = [
            platform.post("/api/v1/reports", json=_report(f"one-{p}"), headers=_key(world))
            for p in plan
        ]
        assert all(r.status_code == 201 for r in single), [r.text for r in single]
        middle = _stored(app)
        batch = platform.post(
            "/api/v1/reports/batch",
            json={"reports": [_report(f"many-{p}") for p in plan]},
            headers=_key(world),
        )
        assert batch.status_code == 201, batch.text
    after = _stored(app)
    results = batch.json()["reports"]
    assert [r["case_opened"] for r in results] == [True, True, False, True]
    assert results[0]["case_id"] == results[2]["case_id"]
    assert len({results[0]["case_id"], results[1]["case_id"], results[3]["case_id"]}) == 3
    assert all(r["case_url"] == f"/cases/{r['case_id']}" for r in results)
    assert all(r["case_status"] == "open" for r in results)
    assert len({r["report_id"] for r in results}) == 4
    singles = [r.json() for r in single]
    assert singles[0]["case_id"] == singles[2]["case_id"]
    # The same rows and the same log entries, in the same order, as one by one.
    assert {k: middle[k] - before[k] for k in before} == {k: after[k] - middle[k] for k in after}
    one_by_one = _kinds_since(app, before["LogEntry"])[: middle["LogEntry"] - before["LogEntry"]]
    assert one_by_one == ["CaseOpened", "CaseOpened", "ReportFiled", "CaseOpened"]
    assert _kinds_since(app, middle["LogEntry"]) == one_by_one


def test_one_bad_report_refuses_the_whole_batch_and_names_each(
    app: FastAPI, world: CasesWorld
) -> None:
    reports = [
        _report("fine-1"),
        _report("bad-1", content={**POST, "content_id": "bad-1", "jurisdictions": ["ZZ"]}),
        _report("fine-2"),
        _report("bad-2", rule="MX-99"),
    ]
    with TestClient(app) as platform:
        before = _stored(app)
        answer = platform.post(
            "/api/v1/reports/batch", json={"reports": reports}, headers=_key(world)
        )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    errors = answer.json()["errors"]
    assert [e["field"] for e in errors] == ["reports.1.jurisdiction", "reports.3.rule"]
    assert "ZZ" in errors[0]["message"] and "MX-99" in errors[1]["message"]
    assert "2 of the reports" in answer.json()["detail"]
    assert _stored(app) == before  # nothing stored, nothing logged


def test_a_malformed_report_is_named_by_its_position(app: FastAPI, world: CasesWorld) -> None:
    broken = _report("x")
    del broken["reason"]
    with TestClient(app) as platform:
        before = _stored(app)
        answer = platform.post(
            "/api/v1/reports/batch", json={"reports": [_report("y"), broken]}, headers=_key(world)
        )
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["reports.1.reason"]
    assert _stored(app) == before


@pytest.mark.parametrize("count", [0, MAX_REPORT_BATCH + 1])
def test_empty_and_oversized_batches_are_refused(
    app: FastAPI, world: CasesWorld, count: int
) -> None:
    reports = [_report(f"p-{n}") for n in range(count)]
    with TestClient(app) as platform:
        before = _stored(app)
        answer = platform.post(
            "/api/v1/reports/batch", json={"reports": reports}, headers=_key(world)
        )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "reports"
    expected = "at least 1 item" if count == 0 else f"at most {MAX_REPORT_BATCH} items"
    assert expected in answer.json()["errors"][0]["message"]
    assert _stored(app) == before


def test_a_batch_needs_a_platform_key_with_the_reports_scope(
    app: FastAPI, world: CasesWorld
) -> None:
    body = {"reports": [_report("p")]}
    with TestClient(app) as anonymous:
        before = _stored(app)
        assert anonymous.post("/api/v1/reports/batch", json=body).status_code == 401
        wrong = anonymous.post(
            "/api/v1/reports/batch", json=body, headers={"Authorization": "Bearer isg_0_nope"}
        )
        assert wrong.status_code == 401
    assert _stored(app) == before


def test_a_batch_counts_as_its_reports_against_the_platform_limit(
    settings: Settings, database: Database, clock: ManualClock
) -> None:
    app = create_app(
        settings.model_copy(update={"ratelimit_api_platform": "10/1h"}),
        database=database,
        clock=clock,
    )
    services: Services = app.state.services
    world = build(services.uow(), clock, services.signer, volunteers=10)
    with TestClient(app) as platform:
        eight = [_report(f"p-{n}") for n in range(8)]
        first = platform.post("/api/v1/reports/batch", json={"reports": eight}, headers=_key(world))
        assert first.status_code == 201, first.text
        before = _stored(app)
        three = [_report(f"q-{n}") for n in range(3)]
        over = platform.post("/api/v1/reports/batch", json={"reports": three}, headers=_key(world))
        assert over.status_code == 429, over.text
        assert int(over.headers["Retry-After"]) >= 1
        assert _stored(app) == before
        # The refused batch spent only the call the access check counts: one report is left.
        assert (
            platform.post("/api/v1/reports", json=three[0], headers=_key(world)).status_code == 201
        )
        assert (
            platform.post("/api/v1/reports", json=three[1], headers=_key(world)).status_code == 429
        )


def test_a_batch_joins_cases_and_snapshots_stored_before_it(
    app: FastAPI, world: CasesWorld
) -> None:
    edited = {**POST, "content_id": "old", "url": "https://forum.example/old", "text": "Edited."}
    with TestClient(app) as platform:
        first = platform.post("/api/v1/reports", json=_report("old"), headers=_key(world))
        assert first.status_code == 201, first.text
        before = _stored(app)
        batch = platform.post(
            "/api/v1/reports/batch",
            json={"reports": [_report("old"), _report("old", content=edited), _report("new")]},
            headers=_key(world),
        )
        assert batch.status_code == 201, batch.text
    results = batch.json()["reports"]
    assert [r["case_opened"] for r in results] == [False, False, True]
    assert results[0]["case_id"] == results[1]["case_id"] == first.json()["case_id"]
    after = _stored(app)
    # The identical snapshot is reused; the edited post and the new one are stored.
    assert after["Content"] - before["Content"] == 2
    assert after["Case"] - before["Case"] == 1 and after["Report"] - before["Report"] == 3
    assert _kinds_since(app, before["LogEntry"]) == ["ReportFiled", "ReportFiled", "CaseOpened"]
