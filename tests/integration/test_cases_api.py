"""Cases over HTTP: a platform reports, jurors serve and vote, the platform confirms."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from isegoria.clock import ManualClock
from isegoria.http.deps import Services
from isegoria.people import accounts as people
from isegoria.security import hash_password
from isegoria.store.models_cases import Juror
from tests.support.cases_world import CasesWorld, build, run_jobs
from tests.support.world import PASSWORD, login

REPORT = {
    "content": {
        "content_id": "post-77",
        "url": "https://forum.example/post-77",
        "text": "<b>I know where you live</b> <script>alert(1)</script>",
        "language": "es",
        "author": "@troll",
        "posted_at": "2026-02-27T08:00:00Z",
        "jurisdictions": ["MX"],
    },
    "rule": "MX-1",
    "reason": "A threat against a named person.",
    "source": "user",
    "reporter": "@victim",
}


@pytest.fixture
def world(app: FastAPI, clock: ManualClock) -> CasesWorld:
    services: Services = app.state.services
    return build(services.uow(), clock, services.signer, volunteers=10)


def _key(world: CasesWorld) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.base.key_all}"}


def _drawn(app: FastAPI, clock: ManualClock, case_id: int) -> list[tuple[int, str]]:
    services: Services = app.state.services
    uow = services.uow()
    run_jobs(uow, clock, services.signer)
    with uow.begin():
        jurors = list(uow.session.scalars(select(Juror).order_by(Juror.id)))
        logins = []
        for juror in jurors:
            account = people.get_account(uow, juror.account_id)
            account.password_hash = hash_password(PASSWORD)
            logins.append((juror.account_id, account.login))
    return logins


def test_report_serve_vote_confirm_over_http(
    app: FastAPI, clock: ManualClock, world: CasesWorld, tmp_path: Path
) -> None:
    with TestClient(app, raise_server_exceptions=False) as platform:
        filed = platform.post("/api/v1/reports", json=REPORT, headers=_key(world))
        assert filed.status_code == 201, filed.text
        case_id = filed.json()["case_id"]
    jurors = _drawn(app, clock, case_id)
    assert len(jurors) == 5
    for n, (_, login_name) in enumerate(jurors):
        with TestClient(app, raise_server_exceptions=False) as juror:
            token = login(juror, login_name)
            headers = {"X-CSRF-Token": token}
            summons = juror.get("/api/v1/jury/summons").json()
            assert summons[0]["case_id"] == case_id and summons[0]["status"] == "summoned"
            assert juror.get(f"/api/v1/cases/{case_id}/file").status_code == 403
            assert (
                juror.post(
                    f"/api/v1/cases/{case_id}/reply", json={"accept": True}, headers=headers
                ).status_code
                == 200
            )
            file = juror.get(f"/api/v1/cases/{case_id}/file").json()
            assert file["content_text"] == REPORT["content"]["text"]  # stored faithfully
            assert file["rule_title"] == "No credible threats"
            ballot = {"violation": True, "sanction": "remove", "reason": f"Threat ({n})."}
            cast = juror.post(f"/api/v1/cases/{case_id}/ballot", json=ballot, headers=headers)
            assert cast.status_code == 200, cast.text
            assert len(cast.json()["receipt"]) == 64  # the juror keeps it
            again = juror.post(f"/api/v1/cases/{case_id}/ballot", json=ballot, headers=headers)
            assert again.status_code == 409
        if n < len(jurors) - 1:  # sealed: nobody reads a ballot before the jury closes
            public = TestClient(app).get(f"/api/v1/cases/{case_id}").json()
            assert "Threat (" not in str(public)
            assert public["statement"] is None
            page = TestClient(app).get(f"/cases/{case_id}").text  # the public page too
            assert "Threat (" not in page and "Statement of reasons" not in page
    public = TestClient(app).get(f"/api/v1/cases/{case_id}").json()
    assert public["outcome"] == "violation" and public["sanction"] == "remove"
    assert "Threat (0)" in TestClient(app).get(f"/cases/{case_id}").text  # reasons published
    assert public["statement"]["tally"]["violation"] == 5
    assert [t["kind"] for t in public["timeline"]].count("BallotCast") == 5
    with TestClient(app, raise_server_exceptions=False) as platform:
        pending = platform.get("/api/v1/platform/decisions", headers=_key(world)).json()
        assert [d["kind"] for d in pending] == ["sanction_imposed"]
        assert pending[0]["body"]["statement"]["rule_id"] == "MX-1"
        confirmed = platform.post(
            f"/api/v1/platform/decisions/{pending[0]['id']}/confirmation",
            json={"status": "applied"},
            headers=_key(world),
        )
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "applied"
        assert platform.get("/api/v1/platform/decisions", headers=_key(world)).json() == []


def test_a_non_juror_cannot_see_the_file_or_vote(
    app: FastAPI, clock: ManualClock, world: CasesWorld
) -> None:
    with TestClient(app, raise_server_exceptions=False) as platform:
        case_id = platform.post("/api/v1/reports", json=REPORT, headers=_key(world)).json()[
            "case_id"
        ]
    drawn = {account for account, _ in _drawn(app, clock, case_id)}
    services: Services = app.state.services
    uow = services.uow()
    with uow.begin():
        outsider = next(people.get_account(uow, v) for v in world.volunteers if v not in drawn)
        outsider.password_hash = hash_password(PASSWORD)
        name = outsider.login
    with TestClient(app, raise_server_exceptions=False) as client:
        headers = {"X-CSRF-Token": login(client, name)}
        assert client.get(f"/api/v1/cases/{case_id}/file").status_code == 404
        vote = client.post(
            f"/api/v1/cases/{case_id}/ballot",
            json={"violation": False, "reason": "no"},
            headers=headers,
        )
        assert vote.status_code == 404


def test_report_citing_a_rule_not_in_force_names_it(app: FastAPI, world: CasesWorld) -> None:
    early = {**REPORT, "content": {**REPORT["content"], "posted_at": "2020-01-01T00:00:00Z"}}
    with TestClient(app, raise_server_exceptions=False) as platform:
        response = platform.post("/api/v1/reports", json=early, headers=_key(world))
    assert response.status_code == 422
    assert "MX-1 was not in force on 2020-01-01" in response.json()["detail"]
    assert response.json()["field"] == "rule"


def test_jury_verify_reproduces_the_draw(
    app: FastAPI,
    clock: ManualClock,
    world: CasesWorld,
    monkeypatch: pytest.MonkeyPatch,
    settings: object,
) -> None:
    from isegoria.cli import app as cli

    with TestClient(app, raise_server_exceptions=False) as platform:
        case_id = platform.post("/api/v1/reports", json=REPORT, headers=_key(world)).json()[
            "case_id"
        ]
    jurors = _drawn(app, clock, case_id)
    services: Services = app.state.services
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", services.settings.effective_database_url)
    result = CliRunner().invoke(cli, ["jury", "verify", str(case_id)])
    assert result.exit_code == 0, result.output
    assert "jury verified: 5 jurors" in result.output
    listed = CliRunner().invoke(cli, ["cases", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "MX-1 v1" in listed.output and "open" in listed.output
    shown = CliRunner().invoke(cli, ["cases", "show", str(case_id)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "JuryDrawn" in shown.output
    assert "<script>alert(1)</script>" in shown.output  # the snapshot, printed as text
    missing = CliRunner().invoke(cli, ["cases", "show", "999"])
    assert missing.exit_code == 1 and "no case 999" in missing.output
    record = TestClient(app).get(f"/api/v1/cases/{case_id}/juries/first").json()
    assert len(record["jurors"]) == len(jurors)
