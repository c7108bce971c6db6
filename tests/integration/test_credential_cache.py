"""Credentials remembered per process (http/credential_cache.py) are still revocable.

A key rotated or a session logged out through this process is refused at once; one revoked
elsewhere (the CLI, another worker) is refused at once on PostgreSQL, which tells every
process (http/credential_events.py), and within ``credential_cache_seconds`` where no one
tells it (SQLite's single process, or a PostgreSQL listener whose connection is down); an
expired session is refused the moment it expires.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from isegoria.app import create_app
from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.http.credential_events import CredentialEvents
from isegoria.http.deps import Services
from isegoria.people import platforms, sessions
from isegoria.security import token_digest
from isegoria.store.db import Database
from isegoria.unit_of_work import UnitOfWork
from tests.conftest import fresh_postgres
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


def _deaf(app: FastAPI) -> None:
    """Stop the process hearing of other processes' changes (PostgreSQL's listener)."""
    events: CredentialEvents | None = app.state.credential_events
    if events is not None:
        events.stop()


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
        _deaf(app)
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
        _deaf(app)
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


def _told(app: FastAPI) -> CredentialEvents:
    """The process's listener, once it listens (PostgreSQL only)."""
    events: CredentialEvents | None = app.state.credential_events
    assert events is not None
    assert events.listening.wait(10), "the credential listener did not start"
    return events


def _refused_within(seconds: float, call: Callable[[], int]) -> float:
    """How long until ``call`` answers 401; fails after ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if call() == 401:
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"still accepted after {seconds} s")


@pytest.mark.postgres
def test_on_postgresql_a_key_revoked_by_another_process_is_refused_at_once(
    settings: Settings, pg_base_url: str, clock: ManualClock
) -> None:
    url = fresh_postgres(pg_base_url)
    # A trust period far longer than the test: only the database's notice can end it.
    long = settings.model_copy(update={"database_url": url, "credential_cache_seconds": 60.0})
    here, there = Database(url), Database(url)
    try:
        app = create_app(long, database=here, clock=clock)
        services, world = _world(app)
        with TestClient(app, raise_server_exceptions=False) as client:
            _told(app)
            ask = lambda: client.get("/api/v1/platform", headers=_as_platform(world.key_all))  # noqa: E731
            assert ask().status_code == 200
            assert services.key_cache.get(token_digest(world.key_all)) is not None
            # Another process (the CLI) rotates the keys on its own connection.
            other = UnitOfWork(there, clock, services.signer, long.secret_key)
            with other.begin():
                platforms.rotate_key(other, platforms.get_platform(other, world.platform_id))
            waited = _refused_within(5.0, lambda: ask().status_code)
            assert waited < 5.0
    finally:
        here.dispose()
        there.dispose()


@pytest.mark.postgres
def test_on_postgresql_a_session_ended_by_another_process_is_refused_at_once(
    settings: Settings, pg_base_url: str, clock: ManualClock
) -> None:
    url = fresh_postgres(pg_base_url)
    long = settings.model_copy(update={"database_url": url, "credential_cache_seconds": 60.0})
    here, there = Database(url), Database(url)
    try:
        app = create_app(long, database=here, clock=clock)
        services, world = _world(app)
        with TestClient(app, raise_server_exceptions=False) as client:
            events = _told(app)
            login(client, world.citizen)
            assert client.get("/api/v1/me").status_code == 200
            cookie = client.cookies.get("isegoria_session") or ""
            assert services.session_cache.get(token_digest(cookie)) is not None
            other = UnitOfWork(there, clock, services.signer, long.secret_key)
            with other.begin():
                sessions.end_session(other, cookie)
            _refused_within(5.0, lambda: client.get("/api/v1/me").status_code)
            # A listener that stops hearing is no longer told: the trust period holds again.
            events.stop()
            assert not events.listening.is_set()
    finally:
        here.dispose()
        there.dispose()


@pytest.mark.postgres
def test_a_listener_whose_connection_drops_listens_again_and_forgets_what_it_missed(
    settings: Settings, pg_base_url: str, clock: ManualClock
) -> None:
    url = fresh_postgres(pg_base_url)
    long = settings.model_copy(update={"database_url": url, "credential_cache_seconds": 60.0})
    here = Database(url)
    try:
        app = create_app(long, database=here, clock=clock)
        services, world = _world(app)
        with TestClient(app, raise_server_exceptions=False) as client:
            events = _told(app)
            assert client.get("/api/v1/platform", headers=_as_platform(world.key_all)).is_success
            assert len(services.key_cache) == 1
            # The database ends the listener's connection (a restart, an operator's kill).
            admin = create_engine(f"{pg_base_url}/postgres", isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as connection:
                    ended = (
                        connection.execute(
                            text(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = :name AND query LIKE 'LISTEN%'"
                            ),
                            {"name": url.rsplit("/", 1)[1]},
                        )
                        .scalars()
                        .all()
                    )
            finally:
                admin.dispose()
            assert ended == [True]
            # It listens again, and forgets every credential: it cannot know what it missed.
            deadline = time.monotonic() + 10
            while len(services.key_cache) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(services.key_cache) == 0
            assert events.listening.wait(10)
    finally:
        here.dispose()
