"""Bad input gets a 4xx problem naming the field, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from isegoria.http.deps import Services
from isegoria.store.models import Account, Jurisdiction, Platform
from tests.support.world import PASSWORD, World, login, seed


@pytest.fixture
def world(app: FastAPI) -> World:
    services: Services = app.state.services
    return seed(services.uow(), services.box)


def _snapshot(app: FastAPI) -> dict[str, Any]:
    services: Services = app.state.services
    uow = services.uow()
    with uow.begin(readonly=True):
        s = uow.session
        return {
            "jurisdictions": s.scalar(select(func.count()).select_from(Jurisdiction)),
            "platforms": s.scalar(select(func.count()).select_from(Platform)),
            "profiles": [
                (a.display_name, a.region, a.age_band, a.leaning, a.jury_opt_in)
                for a in s.scalars(select(Account).order_by(Account.id))
            ],
        }


# (who, method, path, raw body or json, expected status, field the answer must name)
CASES: list[tuple[str, str, str, Any, int, str]] = [
    ("operator", "POST", "/api/v1/jurisdictions", b"{not json", 422, "body"),
    ("operator", "POST", "/api/v1/jurisdictions", {"code": 7, "name": "X"}, 422, "code"),
    ("operator", "POST", "/api/v1/jurisdictions", {"code": "ZZ"}, 422, "name"),
    ("operator", "POST", "/api/v1/jurisdictions", {"code": "ZZ", "name": "x" * 500}, 422, "name"),
    (
        "operator",
        "POST",
        "/api/v1/jurisdictions",
        {"code": "ZZ", "name": "Z", "parent": "nowhere"},
        404,
        "parent",
    ),
    ("operator", "POST", "/api/v1/jurisdictions", {"code": "FR", "name": "Again"}, 409, "code"),
    (
        "operator",
        "POST",
        "/api/v1/jurisdictions",
        {"code": "ZZ", "name": "Z", "colour": "red"},
        422,
        "colour",
    ),
    ("operator", "POST", "/api/v1/platforms", {"name": ""}, 422, "name"),
    ("operator", "POST", "/api/v1/platforms", {"name": "X", "scopes": ["root"]}, 422, "scopes"),
    ("operator", "POST", "/api/v1/platforms", {"name": "Forum"}, 409, "name"),
    (
        "operator",
        "POST",
        "/api/v1/platforms/999/keys/rotate",
        {"current_password": PASSWORD},
        404,
        "platform_id",
    ),
    ("operator", "POST", "/api/v1/platforms/-1/keys/rotate", None, 422, "platform_id"),
    ("operator", "POST", "/api/v1/platforms/abc/keys/rotate", None, 422, "platform_id"),
    (
        "operator",
        "POST",
        "/api/v1/platforms/99999999999999999999/keys/rotate",
        None,
        422,
        "platform_id",
    ),
    ("citizen", "PATCH", "/api/v1/me/profile", {"age_band": "ancient"}, 422, "age_band"),
    ("citizen", "PATCH", "/api/v1/me/profile", {"leaning": "sideways"}, 422, "leaning"),
    ("citizen", "PATCH", "/api/v1/me/profile", {"jury_opt_in": "perhaps"}, 422, "jury_opt_in"),
    ("citizen", "PATCH", "/api/v1/me/profile", {"display_name": "n" * 10_000}, 422, "display_name"),
    ("citizen", "PATCH", "/api/v1/me/profile", ["a", "list"], 422, "body"),
    ("anyone", "GET", "/api/v1/jurisdictions/" + "X" * 40, None, 422, "code"),
    ("anyone", "GET", "/api/v1/jurisdictions/NOPE", None, 404, "jurisdiction"),
]


@pytest.mark.parametrize(("who", "method", "path", "body", "status", "field"), CASES)
def test_bad_input_is_refused_and_changes_nothing(
    app: FastAPI, world: World, who: str, method: str, path: str, body: Any, status: int, field: str
) -> None:
    before = _snapshot(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        headers = {"content-type": "application/json"}
        if who in ("operator", "citizen"):
            headers["X-CSRF-Token"] = login(client, getattr(world, who))
        kwargs: dict[str, Any] = {"headers": headers}
        if isinstance(body, bytes):
            kwargs["content"] = body
        elif body is not None:
            kwargs["json"] = body
        response = client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= set(problem)
    assert problem["status"] == status
    named = problem.get("field", "") + " " + problem["detail"]
    assert field in named, problem
    assert "Traceback" not in response.text
    assert _snapshot(app) == before


def test_oversized_body_is_refused_before_parsing(app: FastAPI, world: World) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        token = login(client, world.operator)
        response = client.post(
            "/api/v1/jurisdictions",
            content=b'{"code": "ZZ", "name": "' + b"x" * (5 * 1024 * 1024) + b'"}',
            headers={"content-type": "application/json", "X-CSRF-Token": token},
        )
    assert response.status_code == 413
    assert "exceeds" in response.json()["detail"]


def test_unknown_page_is_a_friendly_html_page(client: TestClient) -> None:
    response = client.get("/no/such/page", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Not found" in response.text and "Back to the home page" in response.text


def test_unknown_api_path_is_a_problem(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["title"] == "Not found"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "where"),
    [
        ("POST", "/api/v1/jurisdictions", {"json": {"code": "ZZ", "name": "a\x00b"}}, "body"),
        ("POST", "/login", {"data": {"login": "ana\x00", "password": "x"}}, "body"),
        ("GET", "/api/v1/cases?rule=%00", {}, "address"),
    ],
)
def test_a_nul_character_is_refused_at_the_door(
    app: FastAPI, world: World, method: str, path: str, kwargs: dict[str, Any], where: str
) -> None:
    """U+0000 cannot be stored in PostgreSQL text: a clear 400 on both databases, not a 500."""
    before = _snapshot(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        token = login(client, world.operator)
        response = client.request(method, path, headers={"X-CSRF-Token": token}, **kwargs)
    assert response.status_code == 400, response.text
    assert f"the request {where} contains a NUL character" in response.text  # JSON or a page
    assert _snapshot(app) == before


def test_an_escaped_backslash_before_u0000_is_text_not_nul(app: FastAPI, world: World) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        token = login(client, world.operator)
        name = "literally \\u0000"
        response = client.post(
            "/api/v1/jurisdictions",
            json={"code": "ZZ", "name": name},
            headers={"X-CSRF-Token": token},
        )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == name
