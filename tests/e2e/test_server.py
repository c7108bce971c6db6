"""The README's run command brings up a server that answers over real HTTP."""

from __future__ import annotations

import httpx
from openapi_spec_validator import validate

from tests.support.server import LiveServer


def test_healthz_answers_200(demo_server: LiveServer) -> None:
    response = httpx.get(f"{demo_server.url}/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["schema_revision"] == body["schema_head"]


def test_openapi_is_valid_3_1(demo_server: LiveServer) -> None:
    spec = httpx.get(f"{demo_server.url}/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    validate(spec)  # raises on any violation of the OpenAPI 3.1 schema


def test_pages_carry_security_headers(demo_server: LiveServer) -> None:
    response = httpx.get(f"{demo_server.url}/")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "International baseline" in response.text


def test_api_docs_page_lists_every_operation(demo_server: LiveServer) -> None:
    spec = httpx.get(f"{demo_server.url}/api/v1/openapi.json").json()
    page = httpx.get(f"{demo_server.url}/api/v1/docs").text
    for path in spec["paths"]:
        assert f"<code>{path}</code>" in page


def test_platform_key_from_the_demo_works(demo_server: LiveServer) -> None:
    import json

    saved = json.loads((demo_server.data_dir / "demo-logins.json").read_text())
    response = httpx.get(
        f"{demo_server.url}/api/v1/platform",
        headers={"Authorization": f"Bearer {saved['platform_key']}"},
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Demo Forum"


def test_the_log_key_is_published_at_a_well_known_address(demo_server: LiveServer) -> None:
    text = httpx.get(f"{demo_server.url}/.well-known/isegoria-log-key").text.strip()
    api = httpx.get(f"{demo_server.url}/api/v1/log/key").json()
    assert text == api["verifier_key"]
    assert text.startswith(api["origin"] + "+")
