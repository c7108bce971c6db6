"""ASVS Level 1 claims of docs/security.md that no other test showed yet."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from isegoria.http.deps import Services
from tests.support.world import World, login, seed


@pytest.fixture
def world(app: FastAPI) -> World:
    services: Services = app.state.services
    return seed(services.uow(), services.box)


def test_authenticated_answers_are_not_cached(app: FastAPI, world: World) -> None:
    """ASVS 8.2.1: answers to a key or a session carry Cache-Control: no-store."""
    with TestClient(app) as client:
        key = {"Authorization": f"Bearer {world.key_all}"}
        assert client.get("/api/v1/platform", headers=key).headers["cache-control"] == "no-store"
        anonymous = client.get("/law")
        assert "cache-control" not in anonymous.headers  # public pages may be cached
        login(client, world.citizen)
        assert client.get("/me").headers["cache-control"] == "no-store"


def test_api_keys_are_only_read_from_the_authorization_header(
    client: TestClient, world: World
) -> None:
    """ASVS 13.1.3: a key in the URL is not a credential (it would end up in logs)."""
    for query in ({"api_key": world.key_all}, {"access_token": world.key_all}):
        assert client.get("/api/v1/platform", params=query).status_code == 401


def test_no_cross_origin_access_is_granted(client: TestClient, world: World) -> None:
    """ASVS 14.5.3: no CORS headers, so browsers keep other origins' scripts out."""
    origin = {"Origin": "https://evil.example"}
    answer = client.get("/api/v1/log", headers=origin)
    assert "access-control-allow-origin" not in answer.headers
    preflight = client.options(
        "/api/v1/reports",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code in (401, 405)


def test_no_debug_or_interactive_documentation_is_exposed(client: TestClient) -> None:
    """ASVS 14.3.2: FastAPI's script-driven /docs and /redoc are off."""
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert client.get(path).status_code == 404
    assert client.get("/api/v1/openapi.json").status_code == 200
