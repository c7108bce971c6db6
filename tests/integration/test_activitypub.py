"""ActivityPub end to end: a signed Flag from a live remote server becomes a case; bad ones
create nothing; after the verdict the remote inbox gets one signed outcome."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from isegoria.cases import ballots as cases_ballots
from isegoria.cases import jury as cases_jury
from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.federation import activitypub_delivery
from isegoria.integrations.federation_identity import actor_key, labeler_key
from isegoria.integrations.httpsig import verify_request
from isegoria.log.signing import LogSigner
from isegoria.store.models_cases import Case, Content, DecisionRow, Juror, Jury, Report
from isegoria.store.models_federation import ActivityDelivery, FederatedFlag
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, run_jobs
from tests.support.federation import RemoteServer, remote_server

HOUR = timedelta(hours=1)
INBOX = "http://testserver/ap/inbox"
PUBLIC_URL = "https://isegoria.test"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """An instance whose inbox files Flags against the seeded platform, by keyword."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,  # type: ignore[arg-type]
        public_url=PUBLIC_URL,
        activitypub_platform="Forum",
        activitypub_rules={"threat": "MX-1"},
        activitypub_deny=["blocked.example"],
        webhook_allow_private=True,  # the remote test server listens on 127.0.0.1
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


def _post(remote: RemoteServer, clock: ManualClock, text: str = "Sé dónde vives.") -> str:
    return remote.publish_note(
        f"/users/troll/statuses/{len(remote.documents)}",
        text,
        f"{remote.base}/users/troll",
        clock.now() - HOUR,
    )


def _send(
    client: TestClient, remote: RemoteServer, body: bytes, clock: ManualClock, **kw: object
) -> httpx.Response:
    headers = remote.signed(INBOX, body, clock.now(), **kw)  # type: ignore[arg-type]
    return client.post("/ap/inbox", content=body, headers=headers)


def _decide(uow: UnitOfWork, clock: ManualClock, signer: LogSigner, case_id: int) -> None:
    """Draw the jury and let every juror find a violation (remove)."""
    run_jobs(uow, clock, signer)
    with uow.begin(readonly=True):
        jury = uow.session.scalars(select(Jury).where(Jury.case_id == case_id)).one()
        jurors = list(uow.session.scalars(select(Juror).where(Juror.jury_id == jury.id)))
    for juror in jurors:
        with uow.begin():
            cases_jury.reply(uow, account_id=juror.account_id, case_id=case_id, accept=True)
        with uow.begin():
            cases_ballots.cast_ballot(
                uow,
                account_id=juror.account_id,
                case_id=case_id,
                violation=True,
                sanction="remove",
                suspension_days=None,
                reason="A threat against a person.",
            )


def test_actor_document_publishes_the_instance_key(app: FastAPI, settings: Settings) -> None:
    with TestClient(app) as client:
        response = client.get("/ap/actor")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/activity+json")
    actor = response.json()
    assert actor["id"] == f"{PUBLIC_URL}/ap/actor" and actor["inbox"] == f"{PUBLIC_URL}/ap/inbox"
    assert actor["publicKey"]["owner"] == actor["id"]
    published = serialization.load_pem_public_key(actor["publicKey"]["publicKeyPem"].encode())
    own = actor_key(settings.activitypub_key_path).public_key()
    assert isinstance(published, rsa.RSAPublicKey)
    assert published.public_numbers() == own.public_numbers()
    assert settings.activitypub_key_path.stat().st_mode & 0o077 == 0  # owner-only key file


def test_flag_becomes_a_case_and_its_outcome_goes_back_once(
    app: FastAPI,
    world: CasesWorld,
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    settings: Settings,
    remote: RemoteServer,
) -> None:
    account = f"{remote.base}/users/troll"
    post = _post(remote, clock)
    body = remote.flag([account, post], "This is a threat against my friend")
    flag_id = json.loads(body)["id"]
    with TestClient(app) as client:
        response = _send(client, remote, body, clock)
        assert response.status_code == 202, response.text
        [filed] = response.json()["reports"]
        assert filed["object"] == post and filed["new"] is True
        # The remote server retries its delivery: nothing new is filed.
        again = _send(client, remote, body, clock)
        assert again.status_code == 202 and again.json()["reports"][0]["new"] is False
        actor_doc = client.get("/ap/actor").json()
    case_id = filed["case_id"]
    with uow.begin(readonly=True):
        case = uow.session.get(Case, case_id)
        assert case is not None and case.rule_id == "MX-1" and case.jurisdiction == "MX"
        content = uow.session.get(Content, case.content_id)
        assert content is not None and content.text == "Sé dónde vives." and content.url == post
        assert content.author == account and content.language == "es"
        [report] = uow.session.scalars(select(Report).where(Report.case_id == case_id)).all()
        assert report.reporter == remote.actor and "threat" in report.reason
        [remembered] = uow.session.scalars(select(FederatedFlag)).all()
        assert remembered.inbox == f"{remote.base}/inbox"  # the shared inbox

    _decide(uow, clock, signer, case_id)
    with uow.begin(readonly=True):
        decision = uow.session.scalars(
            select(DecisionRow).where(DecisionRow.case_id == case_id)
        ).one()
        assert decision.kind == "sanction_imposed"
        [queued] = uow.session.scalars(select(ActivityDelivery)).all()
        assert queued.decision_id == decision.id and queued.delivery == "pending"

    key = actor_key(settings.activitypub_key_path)
    remote.inbox_statuses = [503]  # the reporting server is down at the first attempt
    with httpx.Client() as http:
        first = activitypub_delivery.deliver_due(
            uow.database, clock, public_url=PUBLIC_URL, key=key, client=http
        )
        assert (first.delivered, first.retried, remote.received) == (0, 1, [])
        clock.advance(timedelta(days=1))  # past any backoff
        second = activitypub_delivery.deliver_due(
            uow.database, clock, public_url=PUBLIC_URL, key=key, client=http
        )
        third = activitypub_delivery.deliver_due(
            uow.database, clock, public_url=PUBLIC_URL, key=key, client=http
        )
    assert (second.delivered, third.delivered) == (1, 0)
    [outcome] = remote.received  # exactly once
    assert outcome.path == "/inbox"
    public = serialization.load_pem_public_key(actor_doc["publicKey"]["publicKeyPem"].encode())
    assert isinstance(public, rsa.RSAPublicKey)
    params = verify_request(
        "POST",
        outcome.path,
        outcome.headers,
        outcome.body,
        public_key_for=lambda key_id, refresh: public,
        now=clock.now(),
    )
    assert params.key_id == actor_doc["publicKey"]["id"]
    activity = json.loads(outcome.body)
    assert activity["type"] == "Create" and activity["actor"] == actor_doc["id"]
    assert activity["to"] == [remote.actor]
    note = activity["object"]
    assert note["inReplyTo"] == flag_id
    assert note["isegoria:outcome"]["sanction"] == "remove"
    assert note["isegoria:outcome"]["subject"] == post
    assert note["url"] == f"{PUBLIC_URL}/cases/{case_id}"


# What each refusal must say (the reader is the remote server's operator).
PHRASES = {
    "bad_signature": "the signature does not verify",
    "tampered_body": "Digest header does not match",
    "unsigned": "not signed",
    "unknown_actor": "unknown actor",
    "denied_server": "deny list",
    "stale_date": "Date header is 7200 s old",
    "not_a_flag": "expected a Flag",
    "no_object": "needs an object",
    "actor_is_not_signer": "is not the signer",
    "only_an_account": "at least one post",
    "no_rule": "no rule applies",
    "not_json": "not valid JSON",
    "wrong_media_type": "not text/plain",
}


@pytest.mark.parametrize(
    "case",
    [
        "bad_signature",
        "tampered_body",
        "unsigned",
        "unknown_actor",
        "denied_server",
        "stale_date",
        "not_a_flag",
        "no_object",
        "actor_is_not_signer",
        "only_an_account",
        "no_rule",
        "not_json",
        "wrong_media_type",
    ],
)
def test_bad_flags_are_refused_and_create_nothing(
    app: FastAPI,
    world: CasesWorld,
    uow: UnitOfWork,
    clock: ManualClock,
    remote: RemoteServer,
    case: str,
) -> None:
    post = _post(remote, clock)
    body = remote.flag([post], "a threat")
    headers = remote.signed(INBOX, body, clock.now())
    expected = 401
    if case == "bad_signature":  # signed with a key the actor does not publish
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        headers = remote.signed(INBOX, body, clock.now(), key=other)
    elif case == "tampered_body":
        body = remote.flag([post], "a threat!", flag_id=json.loads(body)["id"])
    elif case == "unsigned":
        del headers["Signature"]
    elif case == "unknown_actor":
        headers = remote.signed(INBOX, body, clock.now(), key_id=f"{remote.base}/nobody#main-key")
    elif case == "denied_server":
        headers = remote.signed(INBOX, body, clock.now(), key_id="https://blocked.example/actor#k")
    elif case == "stale_date":
        headers = remote.signed(INBOX, body, clock.now() - 2 * HOUR)
    else:
        expected = 400
        activity = json.loads(body)
        if case == "not_a_flag":
            activity["type"] = "Like"
        elif case == "no_object":
            del activity["object"]
        elif case == "actor_is_not_signer":
            activity["actor"] = f"{remote.base}/users/someone-else"
        elif case == "only_an_account":
            activity["object"] = f"{remote.base}/users/troll"
            expected = 422
        elif case == "no_rule":
            activity["content"] = "I just do not like it"
            expected = 422
        body = json.dumps(activity).encode()
        if case == "not_json":
            body = b"{not json"
        headers = remote.signed(INBOX, body, clock.now())
        if case == "wrong_media_type":
            headers["Content-Type"] = "text/plain"
            expected = 415
    before = _counts(uow)
    with TestClient(app) as client:
        response = client.post("/ap/inbox", content=body, headers=headers)
    assert response.status_code == expected, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert PHRASES[case] in response.json()["detail"]
    assert _counts(uow) == before


def test_inbox_is_closed_without_a_platform(
    database_url: str, tmp_path: Path, uow: UnitOfWork, clock: ManualClock, remote: RemoteServer
) -> None:
    from isegoria.app import create_app
    from isegoria.store.db import Database

    closed = Settings(data_dir=tmp_path / "closed", database_url=database_url)  # type: ignore[arg-type]
    database = Database(database_url)
    try:
        app = create_app(closed, database=database, clock=clock)
        body = remote.flag([_post(remote, clock)], "a threat")
        with TestClient(app) as client:
            response = client.post(
                "/ap/inbox", content=body, headers=remote.signed(INBOX, body, clock.now())
            )
        assert response.status_code == 404 and "ACTIVITYPUB_PLATFORM" in response.json()["detail"]
    finally:
        database.dispose()


def test_a_refused_outcome_is_a_dead_letter_the_operator_requeues(
    app: FastAPI,
    world: CasesWorld,
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    settings: Settings,
    remote: RemoteServer,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from isegoria.cli import app as cli

    body = remote.flag([_post(remote, clock)], "a threat")
    with TestClient(app) as client:
        case_id = _send(client, remote, body, clock).json()["reports"][0]["case_id"]
    _decide(uow, clock, signer, case_id)
    key = actor_key(settings.activitypub_key_path)
    remote.inbox_statuses = [410]  # "Gone": retrying cannot help
    with httpx.Client() as http:
        round_ = activitypub_delivery.deliver_due(
            uow.database, clock, public_url=PUBLIC_URL, key=key, client=http
        )
    assert (round_.delivered, round_.dead) == (0, 1)
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", database_url)
    runner = CliRunner()
    shown = runner.invoke(cli, ["federation", "identity"])
    assert shown.exit_code == 0, shown.output
    assert labeler_key(settings.secret_key).did_key in shown.output
    listed = runner.invoke(cli, ["federation", "outcomes", "--state", "dead"])
    assert listed.exit_code == 0, listed.output
    assert "HTTP 410" in listed.output and "dead" in listed.output
    with uow.begin(readonly=True):
        [dead] = activitypub_delivery.outcomes(uow, state="dead")
        dead_id = dead.id
    requeued = runner.invoke(cli, ["federation", "requeue", str(dead_id)])
    assert requeued.exit_code == 0, requeued.output
    again = runner.invoke(cli, ["federation", "requeue", str(dead_id)])
    assert again.exit_code == 1 and "not a dead letter" in again.output
    with httpx.Client() as http:
        round_ = activitypub_delivery.deliver_due(
            uow.database, clock, public_url=PUBLIC_URL, key=key, client=http
        )
    assert round_.delivered == 1 and len(remote.received) == 1
