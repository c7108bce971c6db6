"""/metrics and the request log: route templates, statuses, latencies, state gauges, JSON lines."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from isegoria.clock import ManualClock
from isegoria.domain.events import JurisdictionCreated
from isegoria.http.deps import Services
from isegoria.http.request_log import REQUEST_FIELDS, REQUEST_LOGGER, JsonFormatter, logging_config
from isegoria.jobs import queue as jobs
from isegoria.log import read
from isegoria.log.coalesce import CheckpointPolicy, LogMemory
from isegoria.unit_of_work import UnitOfWork
from tests.support.world import World, login, seed


@pytest.fixture
def world(app: FastAPI) -> World:
    services: Services = app.state.services
    return seed(services.uow(), services.box)


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text, or fail."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        metric, _, label_text = series.partition("{")
        got = ",".join(sorted(label_text.rstrip("}").split(","))) if label_text else ""
        if metric == name and got == wanted:
            return float(value)
    raise AssertionError(f"no sample {name}{{{wanted}}} in:\n{text}")


def test_requests_are_counted_by_route_template_and_status(app: FastAPI, world: World) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        for index in (0, 1, 2):
            assert client.get(f"/api/v1/log/entries/{index}").status_code == 200
        assert client.get("/api/v1/log/entries/999999").status_code == 422  # past the end
        assert client.get("/no/such/page/4711").status_code == 404
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    route = "/api/v1/log/entries/{index}"
    assert (
        sample(text, "isegoria_http_requests_total", method="GET", route=route, status="200") == 3
    )
    assert (
        sample(text, "isegoria_http_requests_total", method="GET", route=route, status="422") == 1
    )
    unmatched = dict(method="GET", route="unmatched", status="404")
    assert sample(text, "isegoria_http_requests_total", **unmatched) == 1
    # Templates, not paths (label values only: a timestamp may contain the digits 4711).
    assert "/api/v1/log/entries/2" not in text and "/no/such/page" not in text
    count = sample(text, "isegoria_http_request_duration_seconds_count", method="GET", route=route)
    assert count == 4
    inf = sample(
        text, "isegoria_http_request_duration_seconds_bucket", method="GET", route=route, le="+Inf"
    )
    assert inf == 4


def test_state_gauges_are_read_from_the_database(
    app: FastAPI, world: World, clock: ManualClock
) -> None:
    services: Services = app.state.services
    uow = services.uow()
    with uow.begin():
        jobs.schedule(uow, "metrics-test", clock.now() - timedelta(minutes=1), {})
        jobs.schedule(uow, "metrics-test", clock.now() + timedelta(days=1), {})
    with uow.begin(readonly=True):
        size = read.tree_size(uow.session)
    assert size > 0
    with TestClient(app, raise_server_exceptions=False) as client:
        text = client.get("/metrics").text
    assert sample(text, "isegoria_database_up") == 1
    assert sample(text, "isegoria_log_entries") == size
    assert sample(text, "isegoria_log_checkpoint_size") == size
    assert sample(text, "isegoria_citizens") == 1
    assert sample(text, "isegoria_platforms") == 2
    assert sample(text, "isegoria_jobs", status="pending") == 2
    assert sample(text, "isegoria_jobs_overdue") == 1
    assert sample(text, "isegoria_log_waiting") == 0
    clock.advance(timedelta(days=2))
    # A process under a checkpoint policy commits an entry the integrator has not reached.
    batched = UnitOfWork(
        services.database,
        clock,
        services.signer,
        log_memory=LogMemory(CheckpointPolicy(interval=3600.0, max_pending=1000)),
    )
    with batched.begin():
        batched.log.append(JurisdictionCreated(code="ZZ", name="Z", parent=None, languages=[]))
    with TestClient(app, raise_server_exceptions=False) as client:
        text = client.get("/metrics").text
    assert sample(text, "isegoria_jobs_overdue") == 2
    assert sample(text, "isegoria_log_entries") == size
    assert sample(text, "isegoria_log_waiting") == 1


def test_metrics_answer_when_the_database_is_down(app: FastAPI) -> None:
    services: Services = app.state.services
    with TestClient(app, raise_server_exceptions=False) as client:
        services.database.engine.dispose()
        original = services.database.sessions

        def broken() -> None:
            raise RuntimeError("database unreachable")

        services.database.sessions = broken  # type: ignore[assignment]
        try:
            response = client.get("/metrics")
        finally:
            services.database.sessions = original
    assert response.status_code == 200
    assert sample(response.text, "isegoria_database_up") == 0
    assert "isegoria_http_requests_total" in response.text


def test_one_json_line_per_request_without_personal_data(
    app: FastAPI, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    formatter = JsonFormatter()
    with TestClient(app, raise_server_exceptions=False) as client:
        login(client, world.citizen)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger=REQUEST_LOGGER):
            response = client.get("/api/v1/me")
    records = [r for r in caplog.records if r.name == REQUEST_LOGGER]
    assert len(records) == 1
    line = formatter.format(records[0])
    assert "\n" not in line
    data = json.loads(line)
    assert set(REQUEST_FIELDS) <= set(data)
    assert data["request_id"] == response.headers["x-request-id"]
    assert (data["method"], data["route"], data["status"]) == ("GET", "/api/v1/me", 200)
    assert data["principal"] == "person"
    assert data["duration_ms"] >= 0
    assert data["level"] == "info" and data["logger"] == REQUEST_LOGGER
    cookie = client.cookies.get("isegoria_session") or "no cookie"
    for secret in (world.citizen, cookie, "testclient"):
        assert secret not in line


def test_platform_and_anonymous_callers_are_named_by_kind_only(
    app: FastAPI, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        with caplog.at_level(logging.INFO, logger=REQUEST_LOGGER):
            client.get("/api/v1/platform", headers={"Authorization": f"Bearer {world.key_all}"})
            client.get("/api/v1/jurisdictions?secret=hunter2")
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == REQUEST_LOGGER]
    kinds = [json.loads(line)["principal"] for line in lines]
    assert kinds == ["platform", "anonymous"]
    assert not any(world.key_all in line or "hunter2" in line for line in lines)


def test_logging_config_selects_the_format() -> None:
    json_config = logging_config("json", "info")
    assert json_config["formatters"]["isegoria"]["()"].endswith("JsonFormatter")
    text_config = logging_config("text", "warning")
    assert re.search(r"%\(message\)s", text_config["formatters"]["isegoria"]["format"])
    assert text_config["root"]["level"] == "WARNING"
