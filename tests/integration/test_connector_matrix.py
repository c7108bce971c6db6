"""The issue's Matrix check, against a real Synapse: a user posts, another reports, the intake
job opens a case, a jury decides, the event is redacted and the user suspended; an appeal
overturns, the user is unsuspended and can post again."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from isegoria.clock import ManualClock
from isegoria.connectors import apply as connector_apply
from isegoria.connectors import intake as connector_intake
from isegoria.connectors import setup as connectors
from isegoria.connectors import sync as connector_sync
from isegoria.connectors.ledger import result_from_json
from isegoria.log.signing import LogSigner
from isegoria.security import SecretBox
from isegoria.store.models_connectors import ConnectorAction, ConnectorReport
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, run_jobs
from tests.support.connectors_world import appeal, case, decide, decisions
from tests.support.synapse import Homeserver, MatrixUser, running_homeserver
from tests.support.world import csrf_from, login

_names = itertools.count(1)
_txn = itertools.count(1)


@pytest.fixture(scope="module")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Homeserver]:
    """One Synapse for the module (both database backends use it); never skipped."""
    with running_homeserver(tmp_path_factory.mktemp("synapse-connector")) as server:
        yield server


@dataclass
class Connected:
    """A world with a platform connected to the homeserver, old reports already polled."""

    uow: UnitOfWork
    clock: ManualClock
    signer: LogSigner
    world: CasesWorld
    server: Homeserver
    connector_id: int

    def poll(self) -> connector_intake.IntakeTally:
        tallies = connector_sync.poll_matrix(
            self.uow.database, self.clock, self.signer, self.uow.secret, allow_private=True
        )
        return tallies[self.connector_id]

    def apply(self) -> connector_apply.ApplyRound:
        return connector_apply.apply_due(
            self.uow.database, self.clock, self.signer, self.uow.secret, allow_private=True
        )


@pytest.fixture
def connected(app: FastAPI, clock: ManualClock, synapse: Homeserver) -> Connected:
    uow: UnitOfWork = app.state.services.uow()
    assert uow.signer is not None and synapse.admin is not None
    world = build(uow, clock, uow.signer)
    with uow.begin():
        connector = connectors.connect(
            uow,
            SecretBox(uow.secret),
            connectors.ConnectorRequest(
                platform=str(world.base.platform_id),
                kind="matrix",
                base_url=synapse.url,
                admin_token=synapse.admin.access_token,
                rules={"keywords": {"threat": "MX-1"}, "known_rules": ["MX-1"]},
                jurisdictions=["MX"],
                language="es",
            ),
            allow_private=True,  # the test server listens on loopback
        )
        connector_id = connector.id
    c = Connected(uow, clock, uow.signer, world, synapse, connector_id)
    c.poll()  # reports of earlier tests on this homeserver are behind the cursor now
    return c


def _user(server: Homeserver, role: str) -> MatrixUser:
    return server.register(f"{role}{next(_names)}")


def _room(server: Homeserver, owner: MatrixUser, other: MatrixUser) -> str:
    with server.client(owner) as client:
        made = client.post(
            "/_matrix/client/v3/createRoom",
            json={"preset": "private_chat", "invite": [other.user_id]},
        ).raise_for_status()
    room_id = str(made.json()["room_id"])
    with server.client(other) as client:
        client.post(f"/_matrix/client/v3/join/{room_id}", json={}).raise_for_status()
    return room_id


def _send(server: Homeserver, user: MatrixUser, room_id: str, body: str) -> httpx.Response:
    with server.client(user) as client:
        return client.put(
            f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/c{next(_txn)}",
            json={"msgtype": "m.text", "body": body},
        )


def _report(server: Homeserver, user: MatrixUser, room_id: str, event_id: str, why: str) -> None:
    with server.client(user) as client:
        client.post(
            f"/_matrix/client/v3/rooms/{room_id}/report/{event_id}", json={"reason": why}
        ).raise_for_status()


def _report_row(uow: UnitOfWork, event_id: str) -> ConnectorReport:
    with uow.begin(readonly=True):
        return uow.session.scalars(
            select(ConnectorReport).where(ConnectorReport.platform_content_id == event_id)
        ).one()


def test_post_report_case_jury_redact_suspend_appeal_unsuspend(connected: Connected) -> None:
    c, server = connected, connected.server
    author, victim = _user(server, "author"), _user(server, "victim")
    room_id = _room(server, author, victim)
    event_id = _send(server, author, room_id, "sé dónde vives y te haré daño").json()["event_id"]
    _report(server, victim, room_id, event_id, "this is a threat against me")

    tally = c.poll()  # the intake job
    assert (tally.filed, tally.triaged) == (1, 0)
    assert c.poll() == connector_intake.IntakeTally()  # the cursor was stored with the case
    row = _report_row(c.uow, event_id)
    assert row.status == connector_intake.FILED and row.case_id is not None
    case_id = row.case_id
    opened = case(c.uow, case_id)
    assert opened.rule_id == "MX-1" and opened.status == "open"
    assert opened.author.startswith("matrix:") and author.user_id not in opened.author

    run_jobs(c.uow, c.clock, c.signer)  # the jury is drawn by lot
    decide(c.uow, case_id, "first", violation=True, days=7)
    (imposed,) = decisions(c.uow, case_id)
    assert imposed.kind == "sanction_imposed"
    assert c.apply().applied == 1
    with server.client(victim) as client:
        seen = client.get(f"/_matrix/client/v3/rooms/{room_id}/event/{event_id}").json()
    assert seen["content"] == {} and "redacted_because" in seen["unsigned"]
    refused = _send(server, author, room_id, "still here?")
    assert refused.status_code == 403 and refused.json()["errcode"] == "M_USER_SUSPENDED"
    assert server.admin is not None
    with server.client(server.admin) as admin:
        account = admin.get(f"/_synapse/admin/v2/users/{author.user_id}").json()
    assert account["suspended"] is True
    assert decisions(c.uow, case_id)[0].status == "applied"
    with c.uow.begin(readonly=True):
        action = c.uow.session.get(ConnectorAction, imposed.id)
        assert action is not None and action.result is not None
        done = result_from_json(action.result)
    assert {f"redact {event_id}", "set suspended", "notify"} <= set(done.actions)
    assert c.apply().applied == 0  # applied once, confirmed once

    appeal(c.uow, c.clock, c.signer, c.world, case_id)
    decide(c.uow, case_id, "appeal", violation=False)
    assert case(c.uow, case_id).appeal_outcome == "no_violation"
    assert [d.kind for d in decisions(c.uow, case_id)] == ["sanction_imposed", "sanction_lifted"]
    assert c.apply().applied == 1
    with server.client(server.admin) as admin:
        account = admin.get(f"/_synapse/admin/v2/users/{author.user_id}").json()
    assert account["suspended"] is False
    assert _send(server, author, room_id, "I can post again").status_code == 200
    lifted = decisions(c.uow, case_id)[1]
    assert lifted.status == "applied"
    with c.uow.begin(readonly=True):
        undo = c.uow.session.get(ConnectorAction, lifted.id)
        assert undo is not None and undo.result is not None
    assert result_from_json(undo.result).irreversible == (f"redaction of {event_id}",)


def test_unmapped_report_is_triaged_and_a_citizen_files_it_on_the_page(
    connected: Connected, app: FastAPI
) -> None:
    c, server = connected, connected.server
    author, other = _user(server, "odd"), _user(server, "upset")
    room_id = _room(server, author, other)
    event_id = _send(server, author, room_id, "algo raro pasa aquí").json()["event_id"]
    _report(server, other, room_id, event_id, "I just do not like it")
    tally = c.poll()
    assert (tally.filed, tally.triaged) == (0, 1)
    row = _report_row(c.uow, event_id)
    assert row.status == connector_intake.TRIAGE and row.case_id is None
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/triage").status_code == 401  # citizens only
        token = login(client, "v000")
        page = client.get("/triage")
        assert page.status_code == 200 and "algo raro pasa aquí" in page.text
        assert f'action="/triage/{row.id}"' in page.text and "MX-1" in page.text
        forged = client.post(f"/triage/{row.id}", data={"rule": "MX-1"}, follow_redirects=False)
        assert forged.status_code == 403
        assert _report_row(c.uow, event_id).status == connector_intake.TRIAGE
        unknown = client.post(
            f"/triage/{row.id}",
            data={"rule": "MX-99", "csrf_token": csrf_from(page.text)},
            follow_redirects=False,
        )
        assert unknown.status_code == 422
        assert _report_row(c.uow, event_id).status == connector_intake.TRIAGE
        filed = client.post(
            f"/triage/{row.id}",
            data={"rule": "MX-1", "csrf_token": token},
            follow_redirects=False,
        )
        assert filed.status_code == 303, filed.text
    after = _report_row(c.uow, event_id)
    assert after.status == connector_intake.FILED and after.case_id is not None
    assert filed.headers["location"] == f"/cases/{after.case_id}"
    assert case(c.uow, after.case_id).rule_id == "MX-1"


def test_a_suspension_ends_by_itself_when_its_days_run_out(connected: Connected) -> None:
    c, server = connected, connected.server
    author, victim = _user(server, "brief"), _user(server, "target")
    room_id = _room(server, author, victim)
    event_id = _send(server, author, room_id, "a threat: I will hurt you").json()["event_id"]
    _report(server, victim, room_id, event_id, "threat")
    assert c.poll().filed == 1
    case_id = _report_row(c.uow, event_id).case_id
    assert case_id is not None
    run_jobs(c.uow, c.clock, c.signer)
    decide(c.uow, case_id, "first", violation=True, days=2)
    assert c.apply().applied == 1
    assert _send(server, author, room_id, "hello?").status_code == 403

    def lift() -> list[int]:
        results = connector_apply.lift_expired(
            c.uow.database, c.clock, c.signer, c.uow.secret, allow_private=True
        )
        return [r.decision_id for r in results]

    c.clock.advance(timedelta(days=1))
    assert lift() == []
    assert _send(server, author, room_id, "hello??").status_code == 403
    c.clock.advance(timedelta(days=1, minutes=1))
    assert lift() == [decisions(c.uow, case_id)[0].id]
    assert _send(server, author, room_id, "back after two days").status_code == 200
    assert lift() == []
