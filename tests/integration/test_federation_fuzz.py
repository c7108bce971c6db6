"""Fuzzing the federation endpoints with hypothesis: no input makes them answer 5xx, and a
refused request changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.log.signing import LogSigner
from isegoria.store.models_cases import Case, Content, Report
from isegoria.store.models_federation import FederatedFlag
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build
from tests.support.federation import RemoteServer, remote_server

INBOX = "http://testserver/ap/inbox"
FUZZ = hypothesis_settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,  # type: ignore[arg-type]
        activitypub_platform="Forum",
        activitypub_rules={"threat": "MX-1"},
        atproto_platform="Forum",
        atproto_reason_rules={"com.atproto.moderation.defs#reasonViolation": "MX-1"},
        ratelimit_enabled=False,
    )


@pytest.fixture
def world(app: FastAPI, uow: UnitOfWork, clock: ManualClock, signer: LogSigner) -> CasesWorld:
    return build(uow, clock, signer)


@pytest.fixture
def remote() -> Iterator[RemoteServer]:
    with remote_server() as server:
        yield server


def _counts(uow: UnitOfWork) -> tuple[int, ...]:
    with uow.begin(readonly=True):
        return tuple(
            int(uow.session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (Content, Case, Report, FederatedFlag)
        )


TEXT = st.text(max_size=40)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), TEXT)


def _activities(remote: RemoteServer, post: str) -> st.SearchStrategy[dict[str, Any]]:
    uris = st.sampled_from(
        [post, remote.actor, f"{remote.base}/users/troll", "https://x.invalid/a"]
    )
    values = st.one_of(SCALARS, uris, st.lists(st.one_of(uris, SCALARS), max_size=3))
    return st.fixed_dictionaries(
        {},
        optional={
            "type": st.one_of(st.just("Flag"), st.just(["Flag"]), SCALARS),
            "actor": st.one_of(st.just(remote.actor), values),
            "id": st.one_of(st.just(f"{remote.base}/flags/1"), values),
            "object": values,
            "content": st.one_of(st.just("a threat"), st.just("threat\x00"), TEXT, SCALARS),
        },
    )


def test_signed_fuzzed_activities_never_fail_the_server(
    app: FastAPI, world: CasesWorld, uow: UnitOfWork, clock: ManualClock, remote: RemoteServer
) -> None:
    post = remote.publish_note(
        "/users/troll/statuses/1",
        "Sé dónde vives.",
        f"{remote.base}/users/troll",
        clock.now() - timedelta(hours=1),
    )
    nul_post = remote.publish_note(
        "/users/troll/statuses/2",
        "Sé\x00dónde",
        f"{remote.base}/users/troll",
        clock.now() - timedelta(hours=1),
    )
    flag = {"type": "Flag", "actor": remote.actor, "id": f"{remote.base}/flags/9"}
    with TestClient(app) as client:

        @FUZZ
        @given(activity=_activities(remote, post))
        @example(activity={**flag, "object": post, "content": "a threat\x00"})  # NUL: PostgreSQL
        @example(activity={**flag, "object": [post, nul_post], "content": "a threat"})
        def run(activity: dict[str, Any]) -> None:
            before = _counts(uow)
            body = json.dumps(activity).encode()
            response = client.post(
                "/ap/inbox", content=body, headers=remote.signed(INBOX, body, clock.now())
            )
            assert response.status_code in (202, 400, 401, 422), response.text
            if response.status_code != 202:
                assert response.json()["detail"]
                assert _counts(uow) == before

        run()


def test_unsigned_fuzzed_requests_never_fail_the_server(
    app: FastAPI, world: CasesWorld, uow: UnitOfWork
) -> None:
    header_values = st.text(
        alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200
    )
    before = _counts(uow)
    with TestClient(app) as client:

        @FUZZ
        @given(
            body=st.binary(max_size=300),
            signature=header_values,
            digest=header_values,
            date=header_values,
        )
        def run(body: bytes, signature: str, digest: str, date: str) -> None:
            headers = {
                "Content-Type": "application/activity+json",
                "Signature": signature,
                "Digest": digest,
                "Date": date,
            }
            response = client.post("/ap/inbox", content=body, headers=headers)
            assert response.status_code in (400, 401), response.text

        run()
    assert _counts(uow) == before


def test_fuzzed_xrpc_calls_answer_xrpc_errors(
    app: FastAPI, world: CasesWorld, uow: UnitOfWork
) -> None:
    key = {"Authorization": f"Bearer {world.base.key_all}", "X-Isegoria-Reporter": "did:plc:r"}
    params = st.lists(
        st.tuples(st.sampled_from(["uriPatterns", "sources", "limit", "cursor", "x"]), TEXT),
        max_size=5,
    )
    reports = st.one_of(
        st.dictionaries(st.sampled_from(["reasonType", "reason", "subject"]), SCALARS),
        st.fixed_dictionaries(
            {
                "reasonType": st.sampled_from(
                    ["com.atproto.moderation.defs#reasonViolation", "x#y", "nohash"]
                ),
                "subject": st.dictionaries(
                    st.sampled_from(["$type", "uri", "cid", "did"]),
                    st.one_of(TEXT, st.just("at://did:plc:a/app.bsky.feed.post/1")),
                ),
            },
            optional={"reason": SCALARS},
        ),
    )
    before = _counts(uow)
    with TestClient(app) as client:

        @FUZZ
        @given(query=params, report=reports)
        @example(
            query=[("uriPatterns", "at://\x00*"), ("cursor", "\x00")],
            report={
                "reasonType": "com.atproto.moderation.defs#reasonViolation",
                "reason": "\x00",
                "subject": {"uri": "at://did:plc:a/app.bsky.feed.post/\x00", "cid": "b"},
            },
        )
        def run(query: list[tuple[str, str]], report: dict[str, Any]) -> None:
            listed = client.get("/xrpc/com.atproto.label.queryLabels", params=query)
            assert listed.status_code in (200, 400), listed.text
            assert "labels" in listed.json() or listed.json()["error"] == "InvalidRequest"
            filed = client.post(
                "/xrpc/com.atproto.moderation.createReport", json=report, headers=key
            )
            assert filed.status_code in (400, 404), filed.text
            assert filed.json()["error"] in ("InvalidRequest", "NotFound")
            assert filed.json()["message"]

        run()
    assert _counts(uow) == before
