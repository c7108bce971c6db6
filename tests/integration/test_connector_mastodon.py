"""A connected Mastodon server (the stand-in): webhook, case, verdict, action, appeal, undo."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from isegoria.clock import ManualClock
from isegoria.connectors import apply as connector_apply
from isegoria.connectors import intake as connector_intake
from isegoria.connectors import setup as connectors
from isegoria.log import read as log_read
from isegoria.log.signing import LogSigner
from isegoria.security import SecretBox
from isegoria.store.models_cases import Case
from isegoria.store.models_connectors import ConnectorAction, ConnectorReport
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, run_jobs
from tests.support.connectors_world import appeal, case, decide, decisions
from tests.support.mastodon_standin import Standin, running_standin
from tests.support.world import csrf_from, login

SECRET = "the-secret-mastodon-showed"


@dataclass
class Connected:
    """A world with a platform connected to the stand-in."""

    uow: UnitOfWork
    clock: ManualClock
    signer: LogSigner
    world: CasesWorld
    standin: Standin
    connector_id: int
    threats_rule: str  # the server rule mapped to MX-1


@pytest.fixture
def standin() -> Iterator[Standin]:
    with running_standin() as server:
        yield server


@pytest.fixture
def connected(app: FastAPI, clock: ManualClock, standin: Standin) -> Connected:
    uow: UnitOfWork = app.state.services.uow()
    signer = uow.signer
    assert signer is not None
    world = build(uow, clock, signer)
    threats = standin.add_rule("No threats")
    standin.add_rule("No spam")
    with uow.begin():
        connector = connectors.connect(
            uow,
            SecretBox(uow.secret),
            connectors.ConnectorRequest(
                platform=str(world.base.platform_id),
                kind="mastodon",
                base_url=standin.url,
                admin_token=standin.token,
                # MX-99 does not exist: reports mapped to it must wait for a citizen.
                rules={"platform_rules": {threats: "MX-1"}, "categories": {"spam": "MX-99"}},
                jurisdictions=["MX"],
                language="es",
                webhook_secret=SECRET,
            ),
            allow_private=True,  # the test server listens on loopback
        )
        connector_id = connector.id
    return Connected(uow, clock, signer, world, standin, connector_id, threats)


def _delivery(
    c: Connected, report_id: str, *, secret: str = SECRET, age: timedelta = timedelta()
) -> tuple[bytes, dict[str, str]]:
    """A report.created delivery signed as Mastodon signs it, sent at the instance's time."""
    sent = (c.clock.now() - age).isoformat().replace("+00:00", "Z")
    payload = {"event": "report.created", "created_at": sent, "object": {"id": report_id}}
    body = json.dumps(payload).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Hub-Signature": f"sha256={digest}"}


def _post(client: TestClient, c: Connected, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(
        f"/api/v1/connectors/{c.connector_id}/mastodon/webhook", content=body, headers=headers
    )


def _report_threat(c: Connected) -> tuple[str, str, str]:
    author = c.standin.add_account("amenazador")
    reporter = c.standin.add_account("victima")
    status = c.standin.post(
        author, "<p>S&eacute; d&oacute;nde vives y te voy a hacer da&ntilde;o</p>"
    )
    report = c.standin.report(
        reporter, author, status_ids=(status,), rule_ids=(c.threats_rule,), comment="amenaza"
    )
    return author, status, report


def _cases(uow: UnitOfWork) -> int:
    with uow.begin(readonly=True):
        return int(uow.session.scalar(select(func.count()).select_from(Case)) or 0)


def test_full_path_webhook_verdict_suspension_appeal_undo(
    connected: Connected, client: TestClient
) -> None:
    c = connected
    author, status, report = _report_threat(c)
    answer = _post(client, c, *_delivery(c, report))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"filed": 1, "triaged": 0, "repeated": 0}
    with c.uow.begin(readonly=True):
        row = c.uow.session.scalars(select(ConnectorReport)).one()
        assert row.status == connector_intake.FILED and row.case_id is not None
        case_id = row.case_id
        filed = c.uow.session.get(Case, case_id)
        assert filed is not None and filed.rule_id == "MX-1"
        assert filed.platform_content_id == status
        assert author not in filed.author  # a pseudonym, not the Mastodon account id
    again = _post(client, c, *_delivery(c, report))  # Mastodon retries: nothing new
    assert again.json() == {"filed": 0, "triaged": 0, "repeated": 1}
    assert _cases(c.uow) == 1

    run_jobs(c.uow, c.clock, c.signer)  # the jury is drawn
    decide(c.uow, case_id, "first", violation=True, days=7)
    imposed = decisions(c.uow, case_id)
    assert [d.kind for d in imposed] == ["sanction_imposed"]
    done = connector_apply.apply_due(
        c.uow.database,
        c.clock,
        c.signer,
        c.uow.secret,
        public_url="https://isegoria.test/",
        allow_private=True,
    )
    assert done.applied == 1 and done.failed == 0
    assert c.standin.moderation() == [("suspend", author)]
    warning = c.standin.actions[0]
    assert "MX-1" in warning["text"] and warning["report_id"] == report
    assert f"https://isegoria.test/cases/{case_id}" in warning["text"]
    assert c.standin.reports[report]["action_taken"] is True
    assert c.standin.accounts[author]["suspended"] is True
    confirmed = decisions(c.uow, case_id)[0]
    assert confirmed.status == "applied" and confirmed.confirmed_at == c.clock.now()
    assert (
        connector_apply.apply_due(
            c.uow.database, c.clock, c.signer, c.uow.secret, allow_private=True
        ).applied
        == 0
    )

    appeal(c.uow, c.clock, c.signer, c.world, case_id)
    decide(c.uow, case_id, "appeal", violation=False)
    assert case(c.uow, case_id).appeal_outcome == "no_violation"
    rows = decisions(c.uow, case_id)
    assert [d.kind for d in rows] == ["sanction_imposed", "sanction_lifted"]
    assert (
        connector_apply.apply_due(
            c.uow.database, c.clock, c.signer, c.uow.secret, allow_private=True
        ).applied
        == 1
    )
    assert c.standin.moderation() == [("suspend", author), ("unsuspend", author)]
    assert c.standin.accounts[author]["suspended"] is False
    assert decisions(c.uow, case_id)[1].status == "applied"
    with c.uow.begin(readonly=True):
        lifted = c.uow.session.get(ConnectorAction, rows[0].id)
        assert lifted is not None and lifted.lifted_at is not None  # nothing left to expire
        confirmations = [
            e
            for d in rows
            for e in log_read.entries_about(c.uow.session, "decision", str(d.id))
            if e.kind == "DecisionConfirmed"
        ]
    assert len(confirmations) == 2


def test_suspension_is_lifted_when_its_days_run_out(
    connected: Connected, client: TestClient
) -> None:
    c = connected
    author, _, report = _report_threat(c)
    assert _post(client, c, *_delivery(c, report)).status_code == 200
    with c.uow.begin(readonly=True):
        case_id = c.uow.session.scalars(select(ConnectorReport.case_id)).one()
    assert case_id is not None
    run_jobs(c.uow, c.clock, c.signer)
    decide(c.uow, case_id, "first", violation=True, days=3)
    connector_apply.apply_due(c.uow.database, c.clock, c.signer, c.uow.secret, allow_private=True)
    assert c.standin.accounts[author]["suspended"] is True
    c.clock.advance(timedelta(days=2))
    assert (
        connector_apply.lift_expired(
            c.uow.database, c.clock, c.signer, c.uow.secret, allow_private=True
        )
        == []
    )
    assert c.standin.accounts[author]["suspended"] is True
    c.clock.advance(timedelta(days=1, minutes=1))
    lifted = connector_apply.lift_expired(
        c.uow.database, c.clock, c.signer, c.uow.secret, allow_private=True
    )
    imposed = decisions(c.uow, case_id)[0]
    assert [r.decision_id for r in lifted] == [imposed.id]
    assert c.standin.accounts[author]["suspended"] is False
    with c.uow.begin(readonly=True):
        logged = [
            e.kind for e in log_read.entries_about(c.uow.session, "decision", str(imposed.id))
        ]
    assert logged == ["DecisionConfirmed", "MeasureExpired"]
    assert (
        connector_apply.lift_expired(
            c.uow.database, c.clock, c.signer, c.uow.secret, allow_private=True
        )
        == []
    )


def test_forged_stale_and_unknown_deliveries_create_nothing(
    connected: Connected, client: TestClient
) -> None:
    c = connected
    _, _, report = _report_threat(c)
    forged = _post(client, c, *_delivery(c, report, secret="guessed"))
    assert forged.status_code == 401
    assert "signature" in forged.json()["detail"]
    body, headers = _delivery(c, report)
    unsigned = _post(client, c, body, {"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    stale = _post(client, c, *_delivery(c, report, age=timedelta(hours=2)))
    assert stale.status_code == 400 and "stale" in stale.json()["detail"]
    tampered = _post(client, c, body.replace(report.encode(), b"1"), headers)
    assert tampered.status_code == 401
    elsewhere = client.post(
        f"/api/v1/connectors/{c.connector_id + 1}/mastodon/webhook", content=body, headers=headers
    )
    assert elsewhere.status_code == 404
    assert _cases(c.uow) == 0
    with c.uow.begin(readonly=True):
        assert c.uow.session.scalars(select(ConnectorReport)).all() == []


def test_unmapped_report_waits_in_triage_until_a_citizen_picks_the_rule(
    connected: Connected, client: TestClient
) -> None:
    c = connected
    author = c.standin.add_account("raro")
    reporter = c.standin.add_account("molesto")
    status = c.standin.post(author, "<p>algo raro</p>")
    report = c.standin.report(reporter, author, status_ids=(status,), comment="no me gusta")
    answer = _post(client, c, *_delivery(c, report))
    assert answer.json() == {"filed": 0, "triaged": 1, "repeated": 0}
    assert _cases(c.uow) == 0
    with c.uow.begin(readonly=True):
        (queued,) = connector_intake.triage_queue(c.uow)
    with c.uow.begin():
        filed = connector_intake.file_from_triage(
            c.uow, account_id=c.world.volunteers[0], triage_id=queued.id, rule_id="MX-1"
        )
        assert filed.status == connector_intake.FILED and filed.filed_by == c.world.volunteers[0]
    assert _cases(c.uow) == 1
    with c.uow.begin(readonly=True):
        assert connector_intake.triage_queue(c.uow) == []


def test_a_report_mapped_to_a_rule_that_cannot_be_cited_goes_to_triage(
    connected: Connected, client: TestClient
) -> None:
    c = connected
    author = c.standin.add_account("vendedor")
    reporter = c.standin.add_account("harto")
    status = c.standin.post(author, "<p>compra barato</p>")
    report = c.standin.report(reporter, author, status_ids=(status,), category="spam")
    answer = _post(client, c, *_delivery(c, report))
    assert answer.json() == {"filed": 0, "triaged": 1, "repeated": 0}
    assert _cases(c.uow) == 0
    with c.uow.begin(readonly=True):
        (queued,) = connector_intake.triage_queue(c.uow)
        assert queued.why.startswith("rule MX-99 cannot be cited") and queued.candidates == "MX-99"
        assert log_read.entries_about(c.uow.session, "case", "1") == []


def test_a_citizen_says_no_rule_applies_on_the_triage_page(
    connected: Connected, client: TestClient
) -> None:
    c = connected
    author = c.standin.add_account("rarito")
    reporter = c.standin.add_account("quejoso")
    status = c.standin.post(author, "<p>una opinión impopular</p>")
    report = c.standin.report(reporter, author, status_ids=(status,), comment="no me gusta")
    assert _post(client, c, *_delivery(c, report)).json()["triaged"] == 1
    with c.uow.begin(readonly=True):
        (queued,) = connector_intake.triage_queue(c.uow)
    login(client, "v000")
    page = client.get("/triage", headers={"accept-language": "es"})
    # No rule is chosen for the citizen: the empty choice is selected, "no rule" is offered.
    assert '<option value="" selected>' in page.text and 'value="none"' in page.text
    csrf = csrf_from(page.text)
    unchosen = client.post(
        f"/triage/{queued.id}",
        data={"csrf_token": csrf, "rule": "", "action": "file"},
        headers={"accept-language": "es"},
    )
    assert unchosen.status_code == 422 and f'id="error-rule-{queued.id}"' in unchosen.text
    assert "ninguna norma" in unchosen.text  # the message, in Spanish, beside the field
    typo = client.post(
        f"/triage/{queued.id}", data={"csrf_token": csrf, "rule": "MX-99", "action": "file"}
    )
    assert typo.status_code == 422 and f'id="error-rule-{queued.id}"' in typo.text
    with c.uow.begin(readonly=True):
        assert connector_intake.get_triage(c.uow, queued.id).status == connector_intake.TRIAGE
    dismissed = client.post(
        f"/triage/{queued.id}",
        data={"csrf_token": csrf, "action": "none"},
        follow_redirects=False,
    )
    assert dismissed.status_code == 303 and dismissed.headers["location"] == "/triage"
    with c.uow.begin(readonly=True):
        row = connector_intake.get_triage(c.uow, queued.id)
        assert row.status == connector_intake.DISMISSED and row.case_id is None
        assert row.filed_by == c.world.volunteers[0]
        assert connector_intake.triage_queue(c.uow) == []
        logged = log_read.entries_about(c.uow.session, "platform", str(c.world.base.platform_id))
        assert "TriageDismissed" in [e.kind for e in logged]
    assert _cases(c.uow) == 0
    again = client.post(
        f"/triage/{queued.id}", data={"csrf_token": csrf, "action": "none"}, follow_redirects=False
    )
    assert again.status_code == 409
