"""The law over HTTP: API and pages, receipts, languages and safe rendering."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from isegoria.clock import ManualClock
from isegoria.http.deps import Services
from isegoria.jobs import queue as jobs
from tests.support.world import LawWorld, World, csrf_from, law_world, login, seed

RULE = {
    "title": "Spam",
    "text": "Do not **flood**. <script>alert('x')</script> [click](javascript:alert(1))",
    "harm_category": "other_terms_violation",
    "ground": "community_standard",
    "sanction_cap": "reduce_reach",
}


@pytest.fixture
def world(app: FastAPI) -> World:
    services: Services = app.state.services
    return seed(services.uow(), services.box)


@pytest.fixture
def law(app: FastAPI, world: World) -> LawWorld:
    services: Services = app.state.services
    assert isinstance(services.clock, ManualClock)
    return law_world(services.uow(), services.clock)


def _run_jobs(app: FastAPI) -> None:
    services: Services = app.state.services
    jobs.run_due(services.database, services.clock, services.signer)


def test_propose_vote_change_and_read_the_count(
    app: FastAPI, client: TestClient, law: LawWorld, clock: ManualClock
) -> None:
    token = login(client, "ana")
    headers = {"X-CSRF-Token": token}
    created = client.post(
        "/api/v1/proposals",
        json={
            "jurisdiction": "MX",
            "kind": "enact",
            "title": "No spam",
            "rationale": "x",
            "rule": RULE,
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    proposal = created.json()
    assert proposal["status"] == "deliberation"
    assert "+# Spam" in proposal["diff"]
    early = client.post(
        f"/api/v1/proposals/{proposal['id']}/vote", json={"choice": "yes"}, headers=headers
    )
    assert early.status_code == 409 and "opens" in early.json()["detail"]
    # The open vote of the world: Ana voted yes; she changes to no.
    changed = client.post(
        f"/api/v1/proposals/{law.voting_id}/vote",
        json={"choice": "no", "change": True},
        headers=headers,
    )
    assert changed.status_code == 201, changed.text
    receipt = changed.json()
    mine = {v["proposal_id"]: v for v in client.get("/api/v1/me/votes").json()}
    assert mine[law.voting_id]["choice"] == "no"
    pending = client.get(f"/api/v1/receipts/{receipt['receipt']}").json()
    assert pending == {
        "proposal_id": law.voting_id,
        "counted": False,
        "choice": None,
        "tally_log_index": None,
    }
    clock.advance(timedelta(days=7))
    _run_jobs(app)
    token = login(client, "ana")  # the session expired while the week passed
    counted = client.get(f"/api/v1/receipts/{receipt['receipt']}").json()
    assert counted["counted"] is True and counted["choice"] == "no"
    done = client.get(f"/api/v1/proposals/{law.voting_id}").json()
    assert done["status"] == "rejected"  # one citizen, one "no"
    assert (done["tally"]["yes"], done["tally"]["no"]) == (0, 1)
    entry = client.get(f"/api/v1/log/entries/{done['tally']['log_index']}")
    assert entry.status_code == 200
    assert receipt["receipt"] in entry.text
    mine = {v["proposal_id"]: v for v in client.get("/api/v1/me/votes").json()}
    assert mine[law.voting_id]["has_voted"] is True and mine[law.voting_id]["choice"] is None


def test_rulebook_rule_diff_and_constitution(client: TestClient, law: LawWorld) -> None:
    book = client.get("/api/v1/rulebook/MX").json()
    assert [r["rule_id"] for r in book["rules"]] == ["MX-1"]
    assert book["rules"][0]["dsa_category"] == "STATEMENT_CATEGORY_VIOLENCE"
    before = client.get("/api/v1/rulebook/MX", params={"at": "2026-01-16T00:00:00Z"}).json()
    assert before["rules"] == []
    naive = client.get("/api/v1/rulebook/MX", params={"at": "2026-01-16T00:00:00"})
    assert naive.status_code == 422 and "timezone" in naive.json()["detail"]
    assert (
        client.get("/api/v1/rules/MX-1").json()["versions"][0]["enacted_by_proposal"]
        == law.adopted_id
    )
    assert client.get("/api/v1/rules/MX-9").status_code == 404
    assert client.get("/api/v1/rules/MX-1/diff", params={"from": 1, "to": 2}).status_code == 404
    constitution = client.get("/api/v1/constitutions/MX").json()
    assert constitution["version"] == 0
    assert constitution["constitution"]["voting_quorum"] == "1/10"
    assert client.get("/api/v1/rulebook/XX").status_code == 404


def test_pages_render_rules_safely_and_show_the_vote(
    app: FastAPI, client: TestClient, law: LawWorld
) -> None:
    token = login(client, "ana")
    created = client.post(
        "/api/v1/proposals",
        json={
            "jurisdiction": "MX",
            "kind": "enact",
            "title": "No spam",
            "rationale": "x",
            "rule": RULE,
        },
        headers={"X-CSRF-Token": token},
    ).json()
    page = client.get(f"/proposals/{created['id']}")
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;" in page.text
    assert 'href="javascript:' not in page.text
    assert "<strong>flood</strong>" in page.text
    vote_page = client.get(f"/proposals/{law.voting_id}")
    assert "Change my vote" in vote_page.text  # Ana already voted yes
    response = client.post(
        f"/proposals/{law.voting_id}/vote",
        data={"csrf_token": csrf_from(vote_page.text), "choice": "abstain", "change": "true"},
    )
    assert response.status_code == 200
    assert "Your vote was recorded" in response.text
    assert 'id="receipt"' in response.text
    comment = client.post(
        f"/proposals/{law.deliberation_id}/comment",
        data={"csrf_token": csrf_from(vote_page.text), "body": "I <3 this"},
        follow_redirects=True,
    )
    assert "I &lt;3 this" in comment.text
    for path in (
        "/law",
        "/law/MX",
        "/law/MX?at=2026-01-15",
        "/law/rules/MX-1",
        "/law/MX/constitution",
        "/proposals",
        "/me/votes",
        "/receipts?receipt=00",
    ):
        assert client.get(path).status_code == 200, path
    rulebook = client.get("/law/FR").text
    assert "Rules of intl, which also apply here" in rulebook


def test_forms_refuse_a_missing_csrf_token(client: TestClient, law: LawWorld) -> None:
    login(client, "ana")
    response = client.post(
        f"/proposals/{law.voting_id}/vote", data={"choice": "no", "change": "true"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("header", "cookie", "expected"),
    [
        ("fr-FR,fr;q=0.9", None, "La loi"),
        ("de", None, "Das Recht"),
        ("es-MX,es;q=0.8,en;q=0.5", None, "La ley"),
        ("pt-BR", None, "The law"),
        ("de", "es", "La ley"),
    ],
)
def test_interface_language_from_browser_or_switch(
    client: TestClient, world: World, header: str, cookie: str | None, expected: str
) -> None:
    if cookie:
        switched = client.get(f"/language/{cookie}?next=/law", follow_redirects=False)
        assert switched.status_code == 303 and switched.headers["location"] == "/law"
    page = client.get("/law", headers={"Accept-Language": header})
    assert f"<h1>{expected}</h1>" in page.text


def test_the_language_switch_refuses_open_redirects(client: TestClient) -> None:
    response = client.get("/language/fr?next=//evil.example/", follow_redirects=False)
    assert response.headers["location"] == "/"
