"""Notes over HTTP: write, rate, read why a note is shown; bad input changes nothing."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from isegoria.http.deps import Services
from isegoria.notes import scoring as notes_scoring
from tests.support.notes_world import SOURCE, NotesWorld, build, planted
from tests.support.world import login

NOTE = {
    "classification": "misinformed_or_potentially_misleading",
    "reasons": ["outdated_information"],
    "text": SOURCE,
    "language": "es",
}


@pytest.fixture
def world(app: FastAPI) -> NotesWorld:
    services: Services = app.state.services
    return build(services.uow())


def _as(app: FastAPI, login_name: str) -> tuple[TestClient, dict[str, str]]:
    client = TestClient(app, raise_server_exceptions=False)
    return client, {"X-CSRF-Token": login(client, login_name)}


def test_write_rate_and_read_a_note(app: FastAPI, world: NotesWorld) -> None:
    writer, headers = _as(app, "writer")
    with writer:
        created = writer.post(
            f"/api/v1/contents/{world.content_id}/notes", json=NOTE, headers=headers
        )
        assert created.status_code == 201, created.text
        note = created.json()
        assert note["status"] == "needs_more_ratings" and note["by_jury"] is False
        assert "author" not in str(note.keys())
        own = writer.put(
            f"/api/v1/notes/{note['id']}/rating", json={"helpfulness": "helpful"}, headers=headers
        )
        assert own.status_code == 403 and "own note" in own.json()["detail"]
    rater, headers = _as(app, "left00")
    with rater:
        queue = rater.get("/api/v1/me/notes/queue", headers=headers).json()
        assert [n["id"] for n in queue] == [note["id"]]
        first = rater.put(
            f"/api/v1/notes/{note['id']}/rating",
            json={"helpfulness": "helpful", "tags": ["good_sources"]},
            headers=headers,
        )
        assert first.status_code == 200 and first.json()["tags"] == ["good_sources"]
        again = rater.put(
            f"/api/v1/notes/{note['id']}/rating",
            json={"helpfulness": "somewhat_helpful"},
            headers=headers,
        )
        assert again.json()["helpfulness"] == "somewhat_helpful"
        assert rater.get("/api/v1/me/notes/queue", headers=headers).json() == []
    with TestClient(app) as anyone:
        detail = anyone.get(f"/api/v1/notes/{note['id']}").json()
        assert detail["ratings"] == {"helpful": 0, "somewhat_helpful": 1, "not_helpful": 0}
        assert detail["unscored_raters"] == 1 and detail["helpful_intercept"] == 0.4
        listed = anyone.get(f"/api/v1/contents/{world.content_id}/notes").json()
        assert [n["id"] for n in listed] == [note["id"]]
        public = anyone.get(f"/api/v1/notes/{note['id']}").text
        assert "left00" not in public and "Left 0" not in public and "account" not in public


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"text": "No source at all in this long enough note text."}, "text"),
        ({"text": "See javascript:alert(1) for a long enough text."}, "text"),
        ({"classification": "fake"}, "classification"),
        ({"reasons": ["nope"]}, "reasons"),
        ({"extra": 1}, "extra"),
        ({"text": "x" * 5000}, "text"),
    ],
)
def test_bad_note_is_a_clear_4xx_and_changes_nothing(
    app: FastAPI, world: NotesWorld, change: dict[str, object], field: str
) -> None:
    writer, headers = _as(app, "writer")
    with writer:
        response = writer.post(
            f"/api/v1/contents/{world.content_id}/notes", json={**NOTE, **change}, headers=headers
        )
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in response.text
        assert writer.get(f"/api/v1/contents/{world.content_id}/notes").json() == []
        missing = writer.post("/api/v1/contents/999/notes", json=NOTE, headers=headers)
        assert missing.status_code == 404
        bad_rating = writer.put(
            "/api/v1/notes/1/rating", json={"helpfulness": "great"}, headers=headers
        )
        assert bad_rating.status_code == 422


def test_note_detail_explains_a_scored_note(app: FastAPI, world: NotesWorld) -> None:
    services: Services = app.state.services
    uow = services.uow()
    kinds = planted(uow, world)
    with uow.begin():
        notes_scoring.run_scoring(uow)
    bridging = min(i for i, k in kinds.items() if k == "bridging")
    with TestClient(app) as anyone:
        detail = anyone.get(f"/api/v1/notes/{bridging}").json()
        assert detail["status"] == "helpful" and detail["intercept"] >= 0.4
        assert abs(detail["factor"]) < 0.5
        assert sum(b["helpful"] for b in detail["raters_by_factor"]) == 16
        assert [h["status"] for h in detail["history"]] == ["helpful"]
        assert detail["held_by"] is None
        assert anyone.get("/api/v1/notes/99999").status_code == 404
        assert anyone.get("/api/v1/cases/1/notes").status_code == 404
