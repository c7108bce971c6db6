"""Headers and cookies that protect browsers: CSP, framing, sniffing, cookie flags, fixation."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from isegoria.app import create_app
from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.http.deps import Services
from isegoria.http.middleware import CONTENT_SECURITY_POLICY
from isegoria.store.db import Database
from tests.support.world import PASSWORD, World, csrf_from, seed


@pytest.fixture
def world(app: FastAPI) -> World:
    services: Services = app.state.services
    return seed(services.uow(), services.box)


@pytest.mark.parametrize("path", ["/", "/login", "/api/v1/jurisdictions", "/metrics", "/nowhere"])
def test_every_answer_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    csp = response.headers["content-security-policy"]
    assert csp == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert len(response.headers["x-request-id"]) == 16


def _login(client: TestClient, name: str) -> str:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"login": name, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return response.headers["set-cookie"]


def test_session_cookie_flags_and_no_fixation(app: FastAPI, world: World) -> None:
    planted = "attacker-chosen-session-id"
    with TestClient(app, raise_server_exceptions=False) as client:
        page = client.get("/login")
        csrf_cookie = client.cookies["isegoria_csrf"]
        response = client.post(
            "/login",
            data={"login": world.citizen, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
            headers={"Cookie": f"isegoria_session={planted}; isegoria_csrf={csrf_cookie}"},
            follow_redirects=False,
        )
        assert response.status_code == 303
        set_cookie = response.headers["set-cookie"]
        assert "httponly" in set_cookie.lower()
        assert "samesite=lax" in set_cookie.lower()
        assert "secure" not in set_cookie.lower()  # plain HTTP in this test instance
        issued = response.cookies.get("isegoria_session")
        assert issued and issued != planted and len(issued) >= 40
    with TestClient(app, raise_server_exceptions=False) as again:
        _login(again, world.citizen)
        assert again.cookies.get("isegoria_session") != issued  # a fresh token at every login


def test_cookies_are_secure_behind_https(
    settings: Settings, database: Database, clock: ManualClock
) -> None:
    app = create_app(
        settings.model_copy(update={"secure_cookies": True}), database=database, clock=clock
    )
    services: Services = app.state.services
    world = seed(services.uow(), services.box)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        assert "secure" in client.get("/login").headers["set-cookie"].lower()  # the CSRF cookie
        assert "secure" in _login(client, world.citizen).lower()


def test_session_expires_server_side(app: FastAPI, world: World, clock: ManualClock) -> None:
    services: Services = app.state.services
    with TestClient(app, raise_server_exceptions=False) as client:
        _login(client, world.citizen)
        assert client.get("/api/v1/me").status_code == 200
        from datetime import timedelta

        clock.advance(timedelta(hours=services.settings.session_hours, seconds=1))
        assert client.get("/api/v1/me").status_code == 401


def test_an_unexpected_error_shows_no_stack_trace(app: FastAPI) -> None:
    @app.get("/api/v1/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("secret internals at /srv/isegoria/db.py line 42")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/boom")
    assert response.status_code == 500
    body = response.json()
    assert len(body["request_id"]) == 16  # the id to quote to the operator
    assert "secret internals" not in response.text and "Traceback" not in response.text


def _assert_security_headers(response: Response) -> None:
    """The headers every answer carries (http/middleware.py, SECURITY_HEADERS)."""
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cross-origin-opener-policy"] == "same-origin"


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_an_unexpected_error_carries_the_security_headers(
    app: FastAPI, accept: str, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("secret internals at /srv/isegoria/db.py line 42")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"Accept": accept})
    assert response.status_code == 500
    _assert_security_headers(response)
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 16 and request_id in response.text  # the id to quote
    assert "secret internals" not in response.text and "Traceback" not in response.text
    if accept == "application/json":
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["title"] == "Internal error"
    else:
        assert response.headers["content-type"].startswith("text/html")
    # Answered in the middleware and seen again by Starlette's error layer: logged once.
    logged = [r for r in caplog.records if r.name == "isegoria.errors"]
    assert len(logged) == 1 and request_id in logged[0].getMessage()
    assert logged[0].exc_info is not None  # the operator's log keeps the traceback


def test_an_unexpected_error_still_reaches_the_server(app: FastAPI) -> None:
    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("for the server's own log")

    with TestClient(app) as client, pytest.raises(RuntimeError, match="server's own log"):
        client.get("/boom")
