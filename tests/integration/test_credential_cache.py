"""Credentials remembered per process (http/credential_cache.py) are still revocable.

A key rotated or a session logged out through this process is refused at once; one revoked
elsewhere (the CLI, another worker) is refused within ``credential_cache_seconds``; an
expired session is refused the moment it expires.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from isegoria.app import create_app
from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.http.deps import Services
from isegoria.people import platforms, sessions
from isegoria.security import token_digest
from isegoria.store.db import Database
from tests.support.world import PASSWORD, World, csrf_from, login, seed


class Ticker:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def _world(app: FastAPI) -> tuple[Services, World]:
    services: Services = app.state.services
    return services, seed(services.uow(), services.box)


def _as_platform(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_key_rotated_through_the_api_is_refused_at_once(app: FastAPI) -> None:
    services, world = _world(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/v1/platform", headers=_as_platform(world.key_all)).is_success
        assert services.key_cache.get(token_digest(world.key_all)) is not None  # remembered
        token = login(client, world.operator)
        rotated = client.post(
            f"/api/v1/platforms/{world.platform_id}/keys/rotate",
            json={"current_password": PASSWORD},
            headers={"X-CSRF-Token": token},
        )
        assert rotated.status_code == 200
    with TestClient(app, raise_server_exceptions=False) as platform:
        old = platform.get("/api/v1/platform", headers=_as_platform(world.key_all))
        assert old.status_code == 401
        new = platform.get("/api/v1/platform", headers=_as_platform(rotated.json()["key"]))
        assert new.status_code == 200


def test_a_key_revoked_by_another_process_is_refused_within_the_bound(app: FastAPI) -> None:
    services, world = _world(app)
    ticker = Ticker()
    services.key_cache.now = ticker
    bound = services.settings.credential_cache_seconds
    assert bound == 5.0  # the documented default (docs/security.md)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/v1/platform", headers=_as_platform(world.key_all)).is_success
        # The CLI rotates the keys in its own process: this one is not told.
        uow = services.uow()
        with uow.begin():
            platforms.rotate_key(uow, platforms.get_platform(uow, world.platform_id))
        ticker.seconds += bound - 0.01
        stale = client.get("/api/v1/platform", headers=_as_platform(world.key_all))
        assert stale.status_code == 200  # still trusted: the bound is not yet over
        ticker.seconds += 0.01
        refused = client.get("/api/v1/platform", headers=_as_platform(world.key_all))
        assert refused.status_code == 401
        # And the refusal is not remembered: every later try asks the database again.
        assert services.key_cache.get(token_digest(world.key_all)) is None
        again = client.get("/api/v1/platform", headers=_as_platform(world.key_all))
        assert again.status_code == 401


def test_a_wrong_key_is_never_remembered(app: FastAPI) -> None:
    services, world = _world(app)
    wrong = world.key_all[:-4] + "AAAA"
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/v1/platform", headers=_as_platform(wrong)).status_code == 401
    assert len(services.key_cache) == 0


def test_with_the_cache_off_every_request_asks_the_database(
    settings: Settings, database: Database, clock: ManualClock
) -> None:
    off = settings.model_copy(update={"credential_cache_seconds": 0.0})
    app = create_app(off, database=database, clock=clock)  # ISEGORIA_CREDENTIAL_CACHE_SECONDS=0
    services, world = _world(app)
    assert not services.key_cache.enabled
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/v1/platform", headers=_as_platform(world.key_all)).is_success
        assert len(services.key_cache) == 0
        uow = services.uow()
        with uow.begin():
            platforms.rotate_key(uow, platforms.get_platform(uow, world.platform_id))
        old = client.get("/api/v1/platform", headers=_as_platform(world.key_all))
        assert old.status_code == 401


def test_a_logged_out_session_is_refused_at_once(app: FastAPI) -> None:
    services, world = _world(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        login(client, world.citizen)
        cookie = client.cookies.get("isegoria_session") or ""
        assert client.get("/api/v1/me").status_code == 200
        assert services.session_cache.get(token_digest(cookie)) is not None  # remembered
        client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)})
    with TestClient(app, raise_server_exceptions=False) as replay:
        replay.cookies.set("isegoria_session", cookie)
        assert replay.get("/api/v1/me").status_code == 401


def test_an_expired_session_is_refused_though_remembered(app: FastAPI, clock: ManualClock) -> None:
    services, world = _world(app)
    services.session_cache.now = Ticker()  # the cache's own clock stands still
    with TestClient(app, raise_server_exceptions=False) as client:
        login(client, world.citizen)
        assert client.get("/api/v1/me").status_code == 200
        assert len(services.session_cache) == 1
        clock.advance(timedelta(hours=services.settings.session_hours, seconds=1))
        assert client.get("/api/v1/me").status_code == 401
        assert client.get("/api/v1/me/notes/queue").status_code == 401


def test_a_session_ended_by_another_process_is_refused_within_the_bound(app: FastAPI) -> None:
    services, world = _world(app)
    ticker = Ticker()
    services.session_cache.now = ticker
    bound = services.settings.credential_cache_seconds
    with TestClient(app, raise_server_exceptions=False) as client:
        login(client, world.citizen)
        assert client.get("/api/v1/me").status_code == 200
        # Another worker logs the browser out: this process is not told.
        uow = services.uow()
        with uow.begin():
            sessions.end_session(uow, client.cookies.get("isegoria_session") or "")
        ticker.seconds += bound - 0.01
        assert client.get("/api/v1/me").status_code == 200  # the bound is not yet over
        ticker.seconds += 0.01
        assert client.get("/api/v1/me").status_code == 401


def test_a_new_display_name_shows_at_once(app: FastAPI) -> None:
    _services, world = _world(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        token = login(client, world.citizen)
        assert client.get("/api/v1/me").status_code == 200  # the session is remembered
        changed = client.patch(
            "/api/v1/me/profile",
            json={"display_name": "Renamed Citizen"},
            headers={"X-CSRF-Token": token},
        )
        assert changed.status_code == 200
        assert "Renamed Citizen" in client.get("/").text  # the header names the caller
