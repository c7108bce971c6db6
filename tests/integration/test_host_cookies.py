"""ASVS 3.4.4: behind HTTPS the session and CSRF cookies carry the ``__Host-`` prefix."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from isegoria.app import create_app
from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.http.deps import Services
from isegoria.store.db import Database
from tests.support.world import PASSWORD, World, csrf_from, seed

HOST_SESSION = "__Host-isegoria_session"
HOST_CSRF = "__Host-isegoria_csrf"


@pytest.fixture
def https_app(settings: Settings, database: Database, clock: ManualClock) -> FastAPI:
    """The app as deployed behind HTTPS (ISEGORIA_SECURE_COOKIES=true)."""
    return create_app(
        settings.model_copy(update={"secure_cookies": True}), database=database, clock=clock
    )


@pytest.fixture
def world(https_app: FastAPI) -> World:
    services: Services = https_app.state.services
    return seed(services.uow(), services.box)


@pytest.fixture
def https(https_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(
        https_app, base_url="https://testserver", raise_server_exceptions=False
    ) as client:
        yield client


def _attributes(set_cookie: str) -> tuple[str, set[str]]:
    """The cookie's name and its attributes, lower-cased (``path=/``, ``secure``, ...)."""
    first, *rest = (part.strip() for part in set_cookie.split(";"))
    return first.partition("=")[0], {part.lower() for part in rest}


def _host_rules_hold(set_cookie: str, name: str) -> set[str]:
    """Assert the browser rules of the prefix (RFC 6265bis §4.1.3.2); return the attributes."""
    found, attributes = _attributes(set_cookie)
    assert found == name
    assert "secure" in attributes and "httponly" in attributes and "path=/" in attributes
    assert not any(a.startswith("domain") for a in attributes)
    return attributes


def _log_in(client: TestClient, login_name: str) -> str:
    """Log in through the form; the Set-Cookie header of the answer."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"login": login_name, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return response.headers["set-cookie"]


def test_the_prefixed_cookies_are_set_by_the_browser_rules(https: TestClient, world: World) -> None:
    csrf = https.get("/login").headers["set-cookie"]
    assert "samesite=strict" in _host_rules_hold(csrf, HOST_CSRF)
    assert https.cookies.get(HOST_CSRF) and https.cookies.get("isegoria_csrf") is None

    session = _log_in(https, world.citizen)
    attributes = _host_rules_hold(session, HOST_SESSION)
    assert "samesite=lax" in attributes and "max-age=43200" in attributes
    assert https.cookies.get(HOST_SESSION) and https.cookies.get("isegoria_session") is None


def test_the_prefixed_session_authenticates_pages_and_the_api(
    https: TestClient, world: World
) -> None:
    _log_in(https, world.citizen)
    me = https.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["login"] == world.citizen
    assert https.get("/me/cases").status_code == 200
    home = https.get("/")
    assert 'action="/logout"' in home.text
    assert home.headers["cache-control"] == "no-store"  # the middleware saw a session cookie

    # The API's CSRF flow: a cookie-authenticated write needs the session's token.
    refused = https.patch("/api/v1/me/profile", json={"jury_opt_in": False})
    assert refused.status_code == 403
    token = me.json()["csrf_token"]
    changed = https.patch(
        "/api/v1/me/profile", json={"jury_opt_in": False}, headers={"X-CSRF-Token": token}
    )
    assert changed.status_code == 200
    assert https.get("/api/v1/me").json()["jury_opt_in"] is False


def test_the_form_csrf_check_reads_the_prefixed_cookie(https_app: FastAPI, world: World) -> None:
    with TestClient(
        https_app, base_url="https://testserver", raise_server_exceptions=False
    ) as client:
        page = client.get("/login")
        token = csrf_from(page.text)
        # The same token under the plain name is not the pre-login cookie here.
        client.cookies.clear()
        client.cookies.set("isegoria_csrf", token)
        form = {"login": world.citizen, "password": PASSWORD, "csrf_token": token}
        response = client.post("/login", data=form, follow_redirects=False)
        assert response.status_code == 403
        assert client.get("/api/v1/me").status_code == 401


def test_logout_deletes_the_prefixed_cookie(https: TestClient, world: World) -> None:
    _log_in(https, world.citizen)
    session = https.cookies.get(HOST_SESSION) or ""
    home = https.get("/")
    response = https.post(
        "/logout", data={"csrf_token": csrf_from(home.text)}, follow_redirects=False
    )
    assert response.status_code == 303
    # A browser drops a __Host- cookie only if the deletion itself obeys the prefix's rules.
    attributes = _host_rules_hold(response.headers["set-cookie"], HOST_SESSION)
    assert "max-age=0" in attributes
    assert https.get("/api/v1/me").status_code == 401
    https.cookies.set(HOST_SESSION, session)  # replaying it: the session ended server side
    assert https.get("/api/v1/me").status_code == 401


def test_the_plain_name_authenticates_nothing_behind_https(
    https_app: FastAPI, https: TestClient, world: World
) -> None:
    _log_in(https, world.citizen)
    session = https.cookies.get(HOST_SESSION) or ""
    with TestClient(
        https_app, base_url="https://testserver", raise_server_exceptions=False
    ) as other:
        other.cookies.set("isegoria_session", session)
        assert other.get("/api/v1/me").status_code == 401
        assert other.get("/me/cases").status_code == 401
        assert 'action="/logout"' not in other.get("/").text
        # The very same token under the configured name is a live session.
        other.cookies.set(HOST_SESSION, session)
        assert other.get("/api/v1/me").status_code == 200


def test_plain_http_keeps_the_plain_names(app: FastAPI, settings: Settings) -> None:
    services: Services = app.state.services
    world = seed(services.uow(), services.box)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert _attributes(client.get("/login").headers["set-cookie"])[0] == "isegoria_csrf"
        name, attributes = _attributes(_log_in(client, world.citizen))
        assert name == "isegoria_session" and "secure" not in attributes
        session = client.cookies.get("isegoria_session") or ""
        assert client.get("/api/v1/me").status_code == 200
    with TestClient(app, raise_server_exceptions=False) as prefixed:
        prefixed.cookies.set(HOST_SESSION, session)  # the prefix is no alias either
        assert prefixed.get("/api/v1/me").status_code == 401
