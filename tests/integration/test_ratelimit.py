"""Rate limits over HTTP: login (per login, per address, no enumeration), API, per identity."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from isegoria.app import create_app
from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.domain.identity import Role
from isegoria.http.access import access, people
from isegoria.http.deps import Services
from isegoria.http.ratelimit import VotesLimit
from isegoria.store.db import Database
from tests.support.world import PASSWORD, World, csrf_from, login, seed


def _app(settings: Settings, database: Database, clock: ManualClock, **limits: str) -> FastAPI:
    return create_app(settings.model_copy(update=limits), database=database, clock=clock)


@pytest.fixture
def limited(settings: Settings, database: Database, clock: ManualClock) -> Iterator[FastAPI]:
    app = _app(
        settings,
        database,
        clock,
        ratelimit_login_failures="3/15m",
        ratelimit_login_address="8/1m",
        ratelimit_api_address="4/1m",
        ratelimit_votes="2/1h",
    )
    # Time stands still for the buckets, so Retry-After is exact however slow argon2 runs
    # on a loaded machine (otherwise refilling during the logins can make 300 s read 299).
    app.state.ratelimiter.now = lambda: 0.0
    yield app


@pytest.fixture
def world(limited: FastAPI) -> World:
    services: Services = limited.state.services
    return seed(services.uow(), services.box)


def _try_login(client: TestClient, name: str, password: str) -> tuple[int, str, str | None]:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"login": name, "password": password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    return response.status_code, response.text, response.headers.get("retry-after")


def test_failed_logins_slow_down_that_login_even_with_the_right_password(
    limited: FastAPI, world: World
) -> None:
    with TestClient(limited, raise_server_exceptions=False) as client:
        for _ in range(3):
            assert _try_login(client, world.citizen, "wrong password!")[0] == 401
        status, _, retry_after = _try_login(client, world.citizen, PASSWORD)
        assert status == 429
        assert retry_after == "300"  # 3 per 15 minutes: one more every 5 minutes
        assert client.get("/api/v1/me").status_code == 401  # no session was opened


def test_unknown_and_known_logins_are_limited_alike(limited: FastAPI, world: World) -> None:
    """Same statuses, same Retry-After, same message: a 429 reveals no account."""
    outcomes = []
    for name in (world.citizen, "nobody-here"):
        with TestClient(limited, raise_server_exceptions=False) as client:
            attempts = [_try_login(client, name, "wrong password!") for _ in range(4)]
        outcomes.append([(status, retry) for status, _, retry in attempts])
        assert "Wrong login or password." in attempts[0][1]
    assert outcomes[0] == outcomes[1] == [(401, None)] * 3 + [(429, "300")]


def test_a_success_forgets_earlier_failures(limited: FastAPI, world: World) -> None:
    for _round in range(2):  # 2 failures + 1 success, twice: never reaches the 3-failure limit
        with TestClient(limited, raise_server_exceptions=False) as client:
            for _ in range(2):
                assert _try_login(client, world.citizen, "wrong password!")[0] == 401
            assert _try_login(client, world.citizen, PASSWORD)[0] == 303


def test_one_address_spraying_many_logins_is_stopped(limited: FastAPI, world: World) -> None:
    with TestClient(limited, raise_server_exceptions=False) as client:
        statuses = [_try_login(client, f"user-{n}", "guess guess")[0] for n in range(10)]
    assert statuses == [401] * 8 + [429, 429]


def test_anonymous_api_calls_are_limited_per_address_with_problem_details(
    limited: FastAPI, world: World
) -> None:
    with TestClient(limited, raise_server_exceptions=False) as client:
        statuses = [client.get("/api/v1/jurisdictions").status_code for _ in range(4)]
        assert statuses == [200] * 4
        refused = client.get("/api/v1/log/checkpoint")
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert int(refused.headers["retry-after"]) == 15  # 4 per minute
        assert refused.json()["status"] == 429
        # A platform's key has its own budget.
        keyed = client.get("/api/v1/platform", headers={"Authorization": f"Bearer {world.key_all}"})
        assert keyed.status_code == 200
        metrics = client.get("/metrics", headers={"Authorization": f"Bearer {world.key_all}"})
        assert 'isegoria_rate_limited_total{rule="api_address"} 1.0' in metrics.text


def test_per_identity_dependency_limits_each_person_separately(
    limited: FastAPI, world: World
) -> None:
    """What the cases and law code use for reports and votes: ``per_identity(rule)``."""

    @limited.post("/api/v1/test-vote", **access(people(Role.CITIZEN, Role.OPERATOR)))
    def vote(_: VotesLimit) -> dict[str, bool]:
        return {"ok": True}

    with TestClient(limited, raise_server_exceptions=False) as citizen:
        token = login(citizen, world.citizen)
        answers = [
            citizen.post("/api/v1/test-vote", headers={"X-CSRF-Token": token}).status_code
            for _ in range(3)
        ]
        assert answers == [200, 200, 429]
    with TestClient(limited, raise_server_exceptions=False) as operator:
        token = login(operator, world.operator)
        assert (
            operator.post("/api/v1/test-vote", headers={"X-CSRF-Token": token}).status_code == 200
        )


def test_health_probes_do_not_spend_the_address_budget(limited: FastAPI) -> None:
    with TestClient(limited, raise_server_exceptions=False) as client:
        assert {client.get("/healthz").status_code for _ in range(10)} == {200}
        # The address's 4 calls a minute are still all there for the API.
        assert [client.get("/api/v1/jurisdictions").status_code for _ in range(5)] == [
            200,
            200,
            200,
            200,
            429,
        ]


def test_limits_can_be_switched_off(
    settings: Settings, database: Database, clock: ManualClock
) -> None:
    app = create_app(
        settings.model_copy(update={"ratelimit_enabled": False, "ratelimit_api_address": "1/1h"}),
        database=database,
        clock=clock,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        assert {client.get("/api/v1/jurisdictions").status_code for _ in range(5)} == {200}


def test_bad_rule_setting_is_refused_at_startup(tmp_path: object) -> None:
    with pytest.raises(ValueError, match="COUNT"):
        Settings(ratelimit_votes="lots")
