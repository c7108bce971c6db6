"""ASVS 3.7.1: a person logged in by cookie confirms a key rotation with their password."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import select

from isegoria.app import create_app
from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.http import reauth
from isegoria.http.deps import Services, authenticate_key, platform_principal
from isegoria.security import hash_password
from isegoria.store.db import Database
from isegoria.store.models import Account
from tests.support.world import PASSWORD, World, csrf_from, login, seed

WRONG = "not the password at all"


@pytest.fixture
def world(app: FastAPI) -> World:
    services: Services = app.state.services
    return seed(services.uow(), services.box)


def _rotate(client: TestClient, world: World, token: str, body: Any) -> Any:
    return client.post(
        f"/api/v1/platforms/{world.platform_id}/keys/rotate",
        json=body,
        headers={"X-CSRF-Token": token},
    )


def _key_works(app: FastAPI, key: str) -> bool:
    with TestClient(app, raise_server_exceptions=False) as platform:
        answer = platform.get("/api/v1/platform", headers={"Authorization": f"Bearer {key}"})
    return answer.status_code == 200


def _live_keys(client: TestClient, world: World) -> int:
    platforms = client.get("/api/v1/platforms").json()
    count: int = next(p["live_keys"] for p in platforms if p["id"] == world.platform_id)
    return count


def test_the_right_password_rotates_the_key(app: FastAPI, world: World) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        token = login(client, world.operator)
        rotated = _rotate(client, world, token, {"current_password": PASSWORD})
        assert rotated.status_code == 200, rotated.text
        assert PASSWORD not in rotated.text
    assert _key_works(app, rotated.json()["key"])
    assert not _key_works(app, world.key_all)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (None, "needs your current password"),
        ({"scopes": ["reports:write"]}, "needs your current password"),
        ({"current_password": WRONG}, "current password is wrong"),
        ({"current_password": PASSWORD + " "}, "current password is wrong"),
    ],
)
def test_a_missing_or_wrong_password_is_refused_and_changes_nothing(
    app: FastAPI, world: World, body: Any, says: str
) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        token = login(client, world.operator)
        before = _live_keys(client, world)
        refused = _rotate(client, world, token, body)
        assert refused.status_code == 403, refused.text
        problem = refused.json()
        assert problem["field"] == "current_password" and says in problem["detail"]
        assert WRONG not in refused.text
        assert _live_keys(client, world) == before
        assert client.get("/api/v1/me").status_code == 200  # the session itself stays
    assert _key_works(app, world.key_all)


def test_a_password_too_long_to_be_one_is_refused_without_echo(app: FastAPI, world: World) -> None:
    long = "p" * 257  # past MAX_PASSWORD_LENGTH: refused before argon2 is asked
    with TestClient(app, raise_server_exceptions=False) as client:
        token = login(client, world.operator)
        refused = _rotate(client, world, token, {"current_password": long})
    assert refused.status_code == 422
    assert "current_password" in refused.json()["detail"] and long not in refused.text
    assert _key_works(app, world.key_all)


def test_only_the_callers_own_password_confirms(app: FastAPI, world: World) -> None:
    """Every seeded person shares the test password; give the operator one of their own."""
    services: Services = app.state.services
    own = "the operator's own passphrase"
    uow = services.uow()
    with uow.begin():
        by_login = select(Account).where(Account.login == world.operator)
        uow.session.scalars(by_login).one().password_hash = hash_password(own)
    with TestClient(app, raise_server_exceptions=False) as client:
        token = login(client, world.operator, own)
        assert _rotate(client, world, token, {"current_password": PASSWORD}).status_code == 403
        assert _rotate(client, world, token, {"current_password": own}).status_code == 200


def test_wrong_passwords_spend_the_login_failure_budget(
    settings: Settings, database: Database, clock: ManualClock
) -> None:
    app = create_app(
        settings.model_copy(update={"ratelimit_login_failures": "3/15m"}),
        database=database,
        clock=clock,
    )
    app.state.ratelimiter.now = lambda: 0.0  # buckets do not refill while argon2 runs
    services: Services = app.state.services
    world = seed(services.uow(), services.box)
    with TestClient(app, raise_server_exceptions=False) as client:
        token = login(client, world.operator)
        for _ in range(3):
            assert _rotate(client, world, token, {"current_password": WRONG}).status_code == 403
        limited = _rotate(client, world, token, {"current_password": PASSWORD})
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "300"  # 3 per 15 minutes
    assert _key_works(app, world.key_all)
    with TestClient(app, raise_server_exceptions=False) as browser:  # the same budget as logins
        page = browser.get("/login")
        form = {"login": world.operator, "password": PASSWORD, "csrf_token": csrf_from(page.text)}
        assert browser.post("/login", data=form, follow_redirects=False).status_code == 429


def test_a_platform_key_is_not_asked_for_a_password(app: FastAPI, world: World) -> None:
    services: Services = app.state.services
    found = authenticate_key(services, world.key_all)
    assert found is not None
    request = Request({"type": "http", "app": app, "headers": [], "client": ("127.0.0.1", 1)})
    # Returns without looking at a password, a rate limit or the database.
    reauth.confirm_password(request, services, platform_principal(found), None)
