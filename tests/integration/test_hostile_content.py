"""Hostile posts are stored as sent and come back byte for byte; bad encodings are refused."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from isegoria.clock import ManualClock
from isegoria.http.deps import Services
from isegoria.store.models_cases import Content
from tests.support.cases_world import CasesWorld, build
from tests.support.hostile import HOSTILE, HostilePost, report_body


@pytest.fixture
def world(app: FastAPI, clock: ManualClock) -> CasesWorld:
    services: Services = app.state.services
    return build(services.uow(), clock, services.signer, volunteers=6)


def _key(world: CasesWorld) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.base.key_all}"}


def _contents(app: FastAPI) -> int:
    uow = app.state.services.uow()
    with uow.begin(readonly=True):
        return int(uow.session.scalar(select(func.count()).select_from(Content)) or 0)


@pytest.mark.parametrize("post", HOSTILE, ids=[p.kind for p in HOSTILE])
def test_a_hostile_post_round_trips_and_renders_as_text(
    post: HostilePost, world: CasesWorld, client: TestClient, clock: ManualClock
) -> None:
    body = report_body(post, f"hostile-{post.kind}", clock.now())
    filed = client.post("/api/v1/reports", json=body, headers=_key(world))
    assert filed.status_code == 201, filed.text
    case_id = filed.json()["case_id"]
    shown = client.get(f"/api/v1/cases/{case_id}", headers=_key(world)).json()
    assert shown["content_text"].encode("utf-8") == post.text.encode("utf-8")
    assert shown["author"].encode("utf-8") == post.author.encode("utf-8")
    html = client.get(f"/cases/{case_id}").text
    assert "<script>alert" not in html and '<h1 id="injected">' not in html
    assert 'href="javascript:' not in html  # the snapshot's javascript: URL is not a link
    assert f"<bdi>{post.author.replace('<', '&lt;').replace('>', '&gt;')}" in html.replace(
        "&#34;", '"'
    )


def test_a_megabyte_post_is_folded_but_whole(
    world: CasesWorld, client: TestClient, clock: ManualClock
) -> None:
    post = next(p for p in HOSTILE if p.kind == "megabyte")
    filed = client.post(
        "/api/v1/reports", json=report_body(post, "big", clock.now()), headers=_key(world)
    )
    html = client.get(f"/cases/{filed.json()['case_id']}").text
    assert "Show all (1048576 characters)" in html
    assert "BEGIN-OF-POST" in html and "END-OF-POST" in html


def test_bytes_that_are_not_utf8_are_refused_and_nothing_is_stored(
    app: FastAPI, world: CasesWorld, client: TestClient, clock: ManualClock
) -> None:
    before = _contents(app)
    body = report_body(HOSTILE[0], "bad-bytes", clock.now())
    body["content"]["text"] = "PLACEHOLDER"
    raw = json.dumps(body).encode("utf-8").replace(b"PLACEHOLDER", b"caf\xe9 \xff\xfe")
    headers = {**_key(world), "Content-Type": "application/json"}
    answer = client.post("/api/v1/reports", content=raw, headers=headers)
    assert answer.status_code == 400
    assert "not valid JSON text in UTF-8" in answer.json()["detail"]
    # A lone surrogate escape is JSON syntax but no Unicode character (RFC 8259 §8.2).
    lone = json.dumps(body).encode("utf-8").replace(b"PLACEHOLDER", b"a\\ud800b")
    answer = client.post("/api/v1/reports", content=lone, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "content.text"
    assert _contents(app) == before
