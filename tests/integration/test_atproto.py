"""The AT Protocol labeler end to end: decisions become signed labels, read and verified with
the `atproto` SDK against a live server; a retraction is a `neg` label; createReport files.

The SDK's ``Client.invoke_query`` reads ``queryLabels`` (its typed ``query_labels`` cannot
decode the ``{"$bytes"}`` form of ``sig``, see tests/unit/test_atproto_labels.py); its
``DidDocument`` parses our ``did:web`` document, ``get_did_key`` turns the
``#atproto_label`` Multikey into a ``did:key``, and ``verify_signature`` checks each label
over ``libipld.encode_dag_cbor`` of the label without ``sig``.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import libipld
import pytest
from atproto import Client, models
from atproto_client.models.utils import get_or_create
from atproto_core.did_doc import DidDocument
from atproto_crypto.did import get_did_key
from atproto_crypto.verify import verify_signature
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from isegoria.cases import appeal as cases_appeal
from isegoria.cases import ballots as cases_ballots
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.domain.content import ContentSnapshot, ReportRequest
from isegoria.domain.decisions import ReportSource
from isegoria.log.signing import LogSigner
from isegoria.store.models_cases import Juror, Jury, Report
from isegoria.store.models_federation import AtprotoLabel
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, run_jobs
from tests.support.federation import serve_app
from tests.support.postgres import free_port

HOUR = timedelta(hours=1)
TEST_SECRET = b"test-instance-secret-32-bytes!!!"  # the `uow` fixture's instance secret
AUTHOR = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
CID = "bafyreib2rxk3rh6kzwq3l6oveex3ii2l"
VIOLATION = "com.atproto.moderation.defs#reasonViolation"


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, port: int) -> Settings:
    """A labeler at http://127.0.0.1:<port> sharing the test unit of work's secret."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "secret.key").write_text(TEST_SECRET.hex())
    return Settings(
        data_dir=data_dir,
        database_url=database_url,  # type: ignore[arg-type]
        public_url=f"http://127.0.0.1:{port}",
        atproto_platform="Forum",
        atproto_reason_rules={VIOLATION: "MX-1"},
    )


@pytest.fixture
def world(app: FastAPI, uow: UnitOfWork, clock: ManualClock, signer: LogSigner) -> CasesWorld:
    return build(uow, clock, signer)  # after the app: it recorded the labeler identity


def _post(n: int) -> str:
    return f"at://{AUTHOR}/app.bsky.feed.post/3l6oveex3ii{n:02d}"


def _file(uow: UnitOfWork, world: CasesWorld, uri: str) -> int:
    snapshot = ContentSnapshot(
        platform_content_id=uri.rsplit("/", 1)[-1],
        url=uri,
        text="Sé dónde vives y te haré daño.",
        language="es",
        author=AUTHOR,
        posted_at=uow.now() - HOUR,
        jurisdictions=("MX",),
        context={"cid": CID},
    )
    with uow.begin():
        case, _ = cases_intake.file_report(
            uow,
            platform_id=world.base.platform_id,
            request=ReportRequest(
                snapshot=snapshot,
                rule_id="MX-1",
                rule_version=None,
                reason="A threat.",
                source=ReportSource.USER,
                reporter="did:plc:victim",
            ),
        )
        return case.id


def _jury_decides(
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    case_id: int,
    stage: str,
    *,
    sanction: str | None,
    days: int | None = None,
) -> None:
    run_jobs(uow, clock, signer)
    with uow.begin(readonly=True):
        jury = uow.session.scalars(
            select(Jury).where(Jury.case_id == case_id, Jury.stage == stage)
        ).one()
        jurors = list(uow.session.scalars(select(Juror).where(Juror.jury_id == jury.id)))
    for juror in jurors:
        with uow.begin():
            cases_jury.reply(uow, account_id=juror.account_id, case_id=case_id, accept=True)
        with uow.begin():
            cases_ballots.cast_ballot(
                uow,
                account_id=juror.account_id,
                case_id=case_id,
                violation=sanction is not None,
                sanction=sanction,
                suspension_days=days,
                reason="A threat." if sanction else "A quote, not a threat.",
            )


def _appeal_overturns(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld, case_id: int
) -> None:
    with uow.begin():
        code = cases_appeal.issue_link_code(
            uow, platform_id=world.base.platform_id, pseudonym=AUTHOR
        )
    author = world.volunteers[-1]
    with uow.begin():
        cases_appeal.redeem_link_code(uow, account_id=author, code=code)
    with uow.begin():
        cases_appeal.file_appeal(uow, account_id=author, case_id=case_id, statement="A quote.")
    _jury_decides(uow, clock, signer, case_id, "appeal", sanction=None)


def _sdk_labels(url: str, **params: Any) -> dict[str, Any]:
    client = Client(base_url=f"{url}/xrpc")
    try:
        response = client.invoke_query(
            "com.atproto.label.queryLabels",
            params=models.ComAtprotoLabelQueryLabels.Params(**params),
            output_encoding="application/json",
        )
    finally:
        client.request.close()
    assert isinstance(response.content, dict)
    return response.content


def _labeler_did_key(url: str) -> tuple[str, str]:
    """The labeler's DID and its #atproto_label key as a did:key, read with the SDK."""
    document = DidDocument.from_dict(httpx.get(f"{url}/.well-known/did.json").json())
    assert document.get_service_endpoint("#atproto_labeler", "AtprotoLabeler") == url
    [method] = [m for m in document.verification_method or [] if m.id.endswith("#atproto_label")]
    assert method.public_key_multibase is not None
    did_key = get_did_key(method.type, method.public_key_multibase)
    assert did_key is not None
    return document.id, did_key


def _verified(raw: dict[str, Any], did_key: str) -> models.ComAtprotoLabelDefs.Label:
    sig = base64.b64decode(raw["sig"]["$bytes"] + "==")
    model = get_or_create({**raw, "sig": sig}, models.ComAtprotoLabelDefs.Label, strict=True)
    assert isinstance(model, models.ComAtprotoLabelDefs.Label)
    unsigned = {k: v for k, v in raw.items() if k != "sig"}
    assert verify_signature(did_key, libipld.encode_dag_cbor(unsigned), sig)
    tampered = {**unsigned, "val": "isegoria-reduced-reach" if raw["val"] != "x" else "y"}
    assert not verify_signature(did_key, libipld.encode_dag_cbor(tampered), sig)
    return model


def test_labels_verify_with_the_sdk_and_a_retraction_is_neg(
    app: FastAPI,
    world: CasesWorld,
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    port: int,
) -> None:
    post = _post(1)
    case_id = _file(uow, world, post)
    _jury_decides(uow, clock, signer, case_id, "first", sanction="remove")
    decided_at = clock.now()
    clock.advance(HOUR)
    _appeal_overturns(uow, clock, signer, world, case_id)
    with serve_app(app, port) as url:
        did, did_key = _labeler_did_key(url)
        output = _sdk_labels(url, uri_patterns=[f"at://{AUTHOR}/*"], sources=[did])
    assert did == f"did:web:127.0.0.1%3A{port}"
    labels = [_verified(raw, did_key) for raw in output["labels"]]
    assert [(m.val, m.uri, m.cid, bool(m.neg)) for m in labels] == [
        ("isegoria-removed", post, CID, False),
        ("isegoria-removed", post, CID, True),  # the overturned appeal retracted it
    ]
    assert all(m.src == did and m.ver == 1 and m.exp is None for m in labels)
    assert labels[0].cts == decided_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert labels[1].cts == (decided_at + HOUR).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_a_suspension_labels_the_account_until_it_ends(
    app: FastAPI, world: CasesWorld, uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> None:
    case_id = _file(uow, world, _post(2))
    _jury_decides(uow, clock, signer, case_id, "first", sanction="suspend", days=7)
    with TestClient(app) as client:
        response = client.get("/xrpc/com.atproto.label.queryLabels", params={"uriPatterns": AUTHOR})
    assert response.status_code == 200, response.text
    [label] = response.json()["labels"]
    assert (label["uri"], label["val"], label.get("neg")) == (AUTHOR, "isegoria-suspended", None)
    assert "cid" not in label  # an account label names no record
    expected = (clock.now() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert label["exp"] == expected


def test_query_paging_and_xrpc_errors(
    app: FastAPI, world: CasesWorld, uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> None:
    for n in (3, 4, 5):
        _jury_decides(uow, clock, signer, _file(uow, world, _post(n)), "first", sanction="remove")
    query = "/xrpc/com.atproto.label.queryLabels"
    with TestClient(app) as client:
        first = client.get(query, params={"uriPatterns": "at://*", "limit": "2"}).json()
        rest = client.get(
            query, params={"uriPatterns": "at://*", "limit": "2", "cursor": first["cursor"]}
        ).json()
        exact = client.get(query, params={"uriPatterns": [_post(4), _post(9)]}).json()
        other = client.get(query, params={"uriPatterns": "at://*", "sources": "did:web:x"}).json()
        errors = [
            client.get(query),
            client.get(query, params={"uriPatterns": "at://*", "limit": "0"}),
            client.get(query, params={"uriPatterns": "at://*", "limit": "many"}),
            client.get(query, params={"uriPatterns": "at://*", "cursor": "abc"}),
        ]
    assert [label["uri"] for label in first["labels"]] == [_post(3), _post(4)]
    assert [label["uri"] for label in rest["labels"]] == [_post(5)] and "cursor" not in rest
    assert [label["uri"] for label in exact["labels"]] == [_post(4)]
    assert other == {"labels": []}
    for response in errors:
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert body["error"] == "InvalidRequest" and body["message"]
    assert "uriPatterns" in errors[0].json()["message"]
    assert "limit" in errors[2].json()["message"]


def _report_count(uow: UnitOfWork) -> int:
    with uow.begin(readonly=True):
        return int(uow.session.scalar(select(func.count()).select_from(Report)) or 0)


def test_create_report_files_against_the_mapped_rule(
    app: FastAPI, world: CasesWorld, uow: UnitOfWork, clock: ManualClock
) -> None:
    post = _post(6)
    case_id = _file(uow, world, post)  # the platform handed the post in first
    key = {"Authorization": f"Bearer {world.base.key_reports_only}"}
    reporter = {**key, "X-Isegoria-Reporter": "did:plc:reporter"}
    report = {
        "reasonType": VIOLATION,
        "reason": "Threatens me.",
        "subject": {"$type": "com.atproto.repo.strongRef", "uri": post, "cid": CID},
    }
    url = "/xrpc/com.atproto.moderation.createReport"
    with TestClient(app) as client:
        before = _report_count(uow)
        refusals = [
            (client.post(url, json=report), 401, "AuthenticationRequired"),
            (client.post(url, json=report, headers=key), 400, "X-Isegoria-Reporter"),
            (
                client.post(
                    url,
                    json={**report, "reasonType": "com.atproto.moderation.defs#reasonSpam"},
                    headers=reporter,
                ),
                400,
                "no rule is mapped",
            ),
            (
                client.post(url, json={**report, "subject": {"did": AUTHOR}}, headers=reporter),
                400,
                "not an account",
            ),
            (
                client.post(
                    url,
                    json={**report, "subject": {"uri": _post(99), "cid": CID}},
                    headers=reporter,
                ),
                404,
                "holds no snapshot",
            ),
            (
                client.post(
                    url,
                    json={**report, "subject": {"uri": post, "cid": "bafyother"}},
                    headers=reporter,
                ),
                400,
                "changed",
            ),
            (client.post(url, content=b"{", headers=reporter), 400, "not valid JSON"),
        ]
        for response, status, phrase in refusals:
            assert response.status_code == status, response.text
            assert phrase in response.json()["message"] or phrase == response.json()["error"]
        assert _report_count(uow) == before  # every refusal created nothing
        accepted = client.post(url, json=report, headers=reporter)
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["reportedBy"] == "did:plc:reporter" and body["reasonType"] == VIOLATION
    assert body["subject"]["uri"] == post and body["createdAt"].endswith("Z")
    with uow.begin(readonly=True):
        filed = uow.session.get(Report, body["id"])
        assert filed is not None and filed.case_id == case_id  # joined the live case
        assert filed.reporter == "did:plc:reporter" and filed.reason == "Threatens me."
    models.ComAtprotoModerationCreateReport.Response.model_validate(body)


def test_no_label_without_an_atproto_subject(
    app: FastAPI, world: CasesWorld, uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> None:
    from tests.support.cases_world import report_request

    with uow.begin():
        case, _ = cases_intake.file_report(
            uow, platform_id=world.base.platform_id, request=report_request(uow.now() - HOUR)
        )
    _jury_decides(uow, clock, signer, case.id, "first", sanction="remove")
    with uow.begin(readonly=True):
        assert uow.session.scalar(select(func.count()).select_from(AtprotoLabel)) == 0
