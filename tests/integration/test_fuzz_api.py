"""Schema-driven fuzzing of the whole API with schemathesis, as every kind of caller.

For each operation of ``/api/v1/openapi.json`` and each caller (anonymous, citizen with
session cookie and CSRF header, operator, auditor, platform key), schemathesis generates
requests (valid and invalid) and checks: no 5xx; every status code, media type, header and
body is the one the OpenAPI document declares. Bounded and seeded: a fixed number of
examples per operation with derandomised generation, so a run is reproducible.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from isegoria.app import create_app
from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.http.cookies import SESSION_COOKIE
from isegoria.http.deps import Services
from isegoria.store.db import Database
from tests.conftest import START
from tests.support.world import login, seed

# Examples per (operation, caller): 5 callers × ~45 operations × 20 ≈ 4,500 requests.
EXAMPLES_PER_OPERATION = 20
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[FastAPI]:
    """One instance for the whole module (SQLite), with a seeded world; limits off."""
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copy(sqlite_template, root / "isegoria.db")
    url = f"sqlite:///{root / 'isegoria.db'}"
    database = Database(url)
    app_settings = Settings(
        data_dir=root / "data",
        database_url=url,  # type: ignore[arg-type]
        ratelimit_enabled=False,  # the fuzzer would otherwise mostly meet 429s
    )
    app = create_app(app_settings, database=database, clock=ManualClock(START))
    services: Services = app.state.services
    app.state.fuzz_world = seed(services.uow(), services.box)
    yield app
    database.dispose()


@pytest.fixture(scope="module")
def credentials(fuzz_app: FastAPI) -> dict[str, dict[str, str]]:
    """Request headers that authenticate each kind of caller."""
    world = fuzz_app.state.fuzz_world
    headers: dict[str, dict[str, str]] = {
        "anonymous": {},
        "platform": {"Authorization": f"Bearer {world.key_all}"},
    }
    for caller, name in (
        ("citizen", world.citizen),
        ("operator", world.operator),
        ("auditor", world.auditor),
    ):
        with TestClient(fuzz_app) as client:
            csrf = login(client, name)
            cookie = client.cookies.get(SESSION_COOKIE)
        headers[caller] = {"Cookie": f"{SESSION_COOKIE}={cookie}", "X-CSRF-Token": csrf}
    return headers


CALLERS = ("anonymous", "citizen", "operator", "auditor", "platform")


def _fuzz_operation(operation: schemathesis.APIOperation, headers: dict[str, str]) -> None:
    """Run hypothesis over one operation's generated requests."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers={**(case.headers or {}), **headers}, checks=CHECKS)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("caller", CALLERS)
def test_every_operation_answers_as_documented(
    fuzz_app: FastAPI, credentials: dict[str, dict[str, str]], caller: str
) -> None:
    """No 5xx and every answer as the OpenAPI declares it, for one kind of caller.

    schemathesis' own pytest plugin does not run under pytest 9 (it reads a removed
    internal), so the operations are driven here: one hypothesis run per operation.
    """
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20  # the whole API, not an empty document
    failures = []
    for operation in operations:
        try:
            _fuzz_operation(operation, credentials[caller])
        except Exception as error:  # noqa: BLE001 - collect every operation's failure
            first = str(error).strip().splitlines()[:3]
            failures.append(f"{operation.method.upper()} {operation.path}: {' '.join(first)}")
    assert not failures, f"as {caller}:\n" + "\n".join(failures)
