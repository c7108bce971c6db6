"""Every (role, endpoint) pair: who gets through, who gets 401, who gets 403."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from isegoria.http.deps import Services
from tests.support.world import PASSWORD, LawWorld, World, law_world, login, seed

# The callers we try on every endpoint.
CALLERS = ("anonymous", "citizen", "operator", "auditor", "key_all", "key_reports", "bad_key")

# (method, path, json body, callers allowed). Everyone else must be refused.
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, set[str]]] = [
    ("GET", "/healthz", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/.well-known/isegoria-log-key", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/metrics", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/jurisdictions", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/jurisdictions/{code}", None, set(CALLERS) - {"bad_key"}),
    (
        "POST",
        "/api/v1/jurisdictions",
        {"code": "DE", "name": "Germany", "parent": "EU"},
        {"operator"},
    ),
    ("GET", "/api/v1/me", None, {"citizen", "operator", "auditor"}),
    ("PATCH", "/api/v1/me/profile", {"jury_opt_in": False}, {"citizen"}),
    ("GET", "/api/v1/citizens/stats", None, {"operator", "auditor"}),
    ("GET", "/api/v1/platforms", None, {"operator", "auditor"}),
    ("POST", "/api/v1/platforms", {"name": "New forum"}, {"operator"}),
    (
        "POST",
        "/api/v1/platforms/{platform_id}/keys/rotate",
        {"current_password": PASSWORD},
        {"operator"},
    ),
    ("GET", "/api/v1/platform", None, {"key_all", "key_reports"}),
    ("PUT", "/api/v1/platform/webhook", {"url": "https://forum.example/hook"}, {"key_all"}),
    ("GET", "/api/v1/log/key", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/log/keys", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/log/checkpoint", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/log", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/log/checkpoints", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/log/entries", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/log/entries/{index}", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/log/consistency?first=1&second=3", None, set(CALLERS) - {"bad_key"}),
    # The law: reading is public; proposing, revising, commenting and voting are for citizens.
    # No operation writes a rule: see tests/integration/test_law_operator.py.
    ("GET", "/api/v1/rulebook/{code}", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/rules/{rule_id}", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/rules/{rule_id}/diff?from=1&to=1", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/constitutions/{code}", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/proposals", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/proposals/{proposal_id}", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/receipts/{receipt}", None, set(CALLERS) - {"bad_key"}),
    (
        "POST",
        "/api/v1/proposals",
        {
            "jurisdiction": "MX",
            "kind": "enact",
            "title": "No doxxing",
            "rationale": "Privacy.",
            "rule": {
                "title": "Doxxing",
                "text": "Do not publish home addresses.",
                "harm_category": "data_protection_and_privacy",
                "ground": "legal",
                "sanction_cap": "remove",
            },
        },
        {"citizen"},
    ),
    (
        "POST",
        "/api/v1/proposals/{proposal_id}/revisions",
        {
            "title": "No spam at all",
            "rationale": "Clearer.",
            "rule": {
                "title": "Spam",
                "text": "Do not flood.",
                "harm_category": "other_terms_violation",
                "ground": "community_standard",
                "sanction_cap": "reduce_reach",
            },
        },
        {"citizen"},
    ),
    ("POST", "/api/v1/proposals/{proposal_id}/comments", {"body": "Agreed."}, {"citizen"}),
    ("POST", "/api/v1/proposals/{proposal_id}/vote", {"choice": "no", "change": True}, {"citizen"}),
    ("GET", "/api/v1/me/votes", None, {"citizen"}),
    # Cases: platforms report and confirm; citizens serve, answer and appeal; anyone reads.
    ("POST", "/api/v1/reports", {"rule": "XX-1"}, {"key_all", "key_reports"}),
    ("GET", "/api/v1/cases", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/cases/{case_id}", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/cases/{case_id}/juries/{stage}", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/jury/summons", None, {"citizen"}),
    ("POST", "/api/v1/cases/{case_id}/reply", {"accept": True}, {"citizen"}),
    ("GET", "/api/v1/cases/{case_id}/file", None, {"citizen"}),
    (
        "POST",
        "/api/v1/cases/{case_id}/ballot",
        {"violation": False, "reason": "Not a threat."},
        {"citizen"},
    ),
    ("POST", "/api/v1/cases/{case_id}/statement", {"text": "It was a joke."}, {"citizen"}),
    ("POST", "/api/v1/cases/{case_id}/appeal", {"text": "Please look again."}, {"citizen"}),
    ("POST", "/api/v1/me/links", {"code": "0123456789ab"}, {"citizen"}),
    ("POST", "/api/v1/platform/link-codes", {"pseudonym": "@ana"}, {"key_all", "key_reports"}),
    ("GET", "/api/v1/platform/decisions", None, {"key_all"}),
    (
        "POST",
        "/api/v1/platform/decisions/{decision_id}/confirmation",
        {"status": "applied"},
        {"key_all"},
    ),
    ("GET", "/api/v1/deliveries/dead", None, {"operator", "auditor"}),
    ("GET", "/api/v1/staff/trail", None, {"operator", "auditor"}),
    ("POST", "/api/v1/deliveries/{decision_id}/requeue", None, {"operator"}),
    # Mastodon signs its webhooks: no caller identity, authenticity by the connector's secret.
    (
        "POST",
        "/api/v1/connectors/{connector_id}/mastodon/webhook",
        {"event": "report.created"},
        set(CALLERS) - {"bad_key"},
    ),
    # Federation: the inbox authenticates senders by HTTP Signature, not by API key.
    ("GET", "/ap/actor", None, set(CALLERS) - {"bad_key"}),
    ("POST", "/ap/inbox", {"type": "Flag"}, set(CALLERS) - {"bad_key"}),
    ("GET", "/.well-known/did.json", None, set(CALLERS) - {"bad_key"}),
    (
        "GET",
        "/xrpc/com.atproto.label.queryLabels?uriPatterns=at%3A%2F%2F*",
        None,
        set(CALLERS) - {"bad_key"},
    ),
    (
        "POST",
        "/xrpc/com.atproto.moderation.createReport",
        {"reasonType": "com.atproto.moderation.defs#reasonSpam", "subject": {"did": "did:web:a"}},
        {"key_all", "key_reports"},
    ),
    # Notes: citizens write and rate; anyone reads notes and why they are (not) shown.
    (
        "POST",
        "/api/v1/contents/{content_id}/notes",
        {
            "classification": "not_misleading",
            "text": "Accurate: see https://example.org/source for the figures.",
            "language": "es",
        },
        {"citizen"},
    ),
    ("GET", "/api/v1/contents/{content_id}/notes", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/cases/{case_id}/notes", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/notes/{note_id}", None, set(CALLERS) - {"bad_key"}),
    ("PUT", "/api/v1/notes/{note_id}/rating", {"helpfulness": "helpful"}, {"citizen"}),
    ("GET", "/api/v1/me/notes/queue", None, {"citizen"}),
    ("GET", "/api/v1/me/notifications", None, {"citizen"}),
    ("POST", "/api/v1/me/notifications/{notification_id}/read", None, {"citizen"}),
    ("GET", "/api/v1/me/notification-preferences", None, {"citizen"}),
    ("PUT", "/api/v1/me/notification-preferences", {"language": "es"}, {"citizen"}),
    # Transparency reports (issue 8): public, like the log they are computed from.
    ("GET", "/api/v1/reports/transparency", None, set(CALLERS) - {"bad_key"}),
    ("GET", "/api/v1/reports/transparency.csv", None, set(CALLERS) - {"bad_key"}),
    # Batch report intake (issue 9): the same key scope as POST /api/v1/reports.
    ("POST", "/api/v1/reports/batch", {"reports": [{"rule": "XX-1"}]}, {"key_all", "key_reports"}),
]

# Operations whose answer for an allowed caller depends on state this table does not create
# (no case 1 exists here): for them "allowed" means the access check lets the caller through
# (no 401 or 403) and nothing breaks (no 5xx). Their full behaviour is tested in
# tests/integration/test_cases_api.py.
STATEFUL = {
    ("POST", "/api/v1/reports"),
    ("GET", "/api/v1/cases/{case_id}"),
    ("GET", "/api/v1/cases/{case_id}/juries/{stage}"),
    ("POST", "/api/v1/cases/{case_id}/reply"),
    ("GET", "/api/v1/cases/{case_id}/file"),
    ("POST", "/api/v1/cases/{case_id}/ballot"),
    ("POST", "/api/v1/cases/{case_id}/statement"),
    ("POST", "/api/v1/cases/{case_id}/appeal"),
    ("POST", "/api/v1/me/links"),
    ("POST", "/api/v1/platform/decisions/{decision_id}/confirmation"),
    ("POST", "/api/v1/deliveries/{decision_id}/requeue"),
    ("POST", "/api/v1/connectors/{connector_id}/mastodon/webhook"),
    ("POST", "/ap/inbox"),  # unsigned: refused by the inbox itself (test_activitypub.py)
    ("POST", "/xrpc/com.atproto.moderation.createReport"),  # tests/integration/test_atproto.py
    ("POST", "/api/v1/contents/{content_id}/notes"),
    ("GET", "/api/v1/contents/{content_id}/notes"),
    ("GET", "/api/v1/cases/{case_id}/notes"),
    ("GET", "/api/v1/notes/{note_id}"),
    ("PUT", "/api/v1/notes/{note_id}/rating"),
    ("POST", "/api/v1/reports/batch"),
    ("POST", "/api/v1/me/notifications/{notification_id}/read"),
}


def _client_for(app: FastAPI, world: World, caller: str) -> tuple[TestClient, dict[str, str]]:
    client = TestClient(app, raise_server_exceptions=False)
    headers: dict[str, str] = {}
    if caller in ("citizen", "operator", "auditor"):
        headers["X-CSRF-Token"] = login(client, getattr(world, caller))
    elif caller == "key_all":
        headers["Authorization"] = f"Bearer {world.key_all}"
    elif caller == "key_reports":
        headers["Authorization"] = f"Bearer {world.key_reports_only}"
    elif caller == "bad_key":
        headers["Authorization"] = "Bearer isg_00000000_not-a-real-key"
    return client, headers


@pytest.fixture
def world(app: FastAPI) -> World:
    services: Services = app.state.services
    return seed(services.uow(), services.box)


@pytest.fixture
def law(app: FastAPI, world: World) -> LawWorld:
    services: Services = app.state.services
    return law_world(services.uow(), services.clock)  # type: ignore[arg-type]


def test_table_covers_every_api_operation(app: FastAPI) -> None:
    operations = {
        (method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item
    }
    covered = {(method, path.split("?")[0]) for method, path, _, _ in ENDPOINTS}
    assert operations == covered, "add new endpoints to ENDPOINTS with who may call them"


def test_every_operation_documents_its_access(app: FastAPI) -> None:
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            assert operation.get("x-access"), f"{method} {path} declares no access"


@pytest.mark.parametrize("caller", CALLERS)
def test_role_endpoint_table(app: FastAPI, world: World, law: LawWorld, caller: str) -> None:
    client, headers = _client_for(app, world, caller)
    with client:
        for method, path, body, allowed in ENDPOINTS:
            url = path.format(
                platform_id=world.platform_id,
                code="FR",
                index=2,
                case_id=1,
                stage="first",
                decision_id=1,
                connector_id=1,
                content_id=1,
                note_id=1,
                notification_id=1,
                **law.ids_for(path),
            )
            response = client.request(method, url, json=body, headers=headers)
            where = f"{caller} {method} {url}: {response.status_code} {response.text[:200]}"
            if caller in allowed and (method, path) in STATEFUL:
                assert response.status_code not in (401, 403), where
                assert response.status_code < 500, where
            elif caller in allowed:
                assert response.status_code < 400, where
            elif path.startswith("/xrpc/"):  # XRPC errors: {"error", "message"} (atproto.py)
                expected = 401 if caller in ("anonymous", "bad_key") else 403
                assert response.status_code == expected, where
                assert response.headers["content-type"].startswith("application/json"), where
                name = "AuthenticationRequired" if expected == 401 else "Forbidden"
                assert response.json()["error"] == name and response.json()["message"], where
            elif caller in ("anonymous", "bad_key"):
                assert response.status_code == 401, where
                assert response.headers["content-type"].startswith("application/problem+json")
            else:
                assert response.status_code == 403, where
                assert response.json()["detail"], where


def test_cookie_write_without_csrf_header_is_refused(app: FastAPI, world: World) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        login(client, world.citizen)
        response = client.patch("/api/v1/me/profile", json={"jury_opt_in": False})
        assert response.status_code == 403
        assert "X-CSRF-Token" in response.json()["detail"]
        assert client.get("/api/v1/me").json()["jury_opt_in"] is True


def test_revoked_key_is_refused_after_rotation(app: FastAPI, world: World) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        token = login(client, world.operator)
        rotated = client.post(
            f"/api/v1/platforms/{world.platform_id}/keys/rotate",
            json={"current_password": PASSWORD},
            headers={"X-CSRF-Token": token},
        )
        assert rotated.status_code == 200
        new_key = rotated.json()["key"]
    with TestClient(app, raise_server_exceptions=False) as platform:
        old = platform.get("/api/v1/platform", headers={"Authorization": f"Bearer {world.key_all}"})
        assert old.status_code == 401
        new = platform.get("/api/v1/platform", headers={"Authorization": f"Bearer {new_key}"})
        assert new.status_code == 200
        assert new.json()["id"] == world.platform_id


def test_logout_ends_the_session_server_side(app: FastAPI, world: World) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        login(client, world.citizen)
        cookie = client.cookies.get("isegoria_session")
        home = client.get("/")
        from tests.support.world import csrf_from

        client.post("/logout", data={"csrf_token": csrf_from(home.text)})
        assert client.get("/api/v1/me").status_code == 401
    # Replaying the old cookie after logout gets nowhere.
    with TestClient(app, raise_server_exceptions=False) as replay:
        replay.cookies.set("isegoria_session", cookie or "")
        assert replay.get("/api/v1/me").status_code == 401
