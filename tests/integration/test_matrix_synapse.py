"""The Matrix adapter against a real Synapse: report in, decision out, appeal undoes it."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from isegoria.domain.content import ReportRequest
from isegoria.domain.decisions import Decision, DecisionKind
from isegoria.domain.sanctions import SanctionStep
from isegoria.integrations.matrix import MatrixAdapter, MatrixConfig, MatrixCursor
from isegoria.integrations.matrix_client import SynapseAdminClient
from isegoria.integrations.matrix_ledger import MemoryLedger
from isegoria.integrations.matrix_mapping import Pseudonyms, RuleMapping, TriageItem
from tests.support.synapse import Homeserver, MatrixUser, running_homeserver

PSEUDONYMS = Pseudonyms(os.urandom(64), platform="matrix")
_txn = itertools.count()
_decision_ids = itertools.count(1000)
CONFIG = MatrixConfig(
    rules=RuleMapping(
        reasons={"spam": "intl-4"},
        keywords={"threat": "intl-1", "threatened": "intl-1"},
        known_rules=frozenset({"intl-1", "intl-4", "MX-3"}),
    ),
    jurisdictions=("intl", "MX"),
    language="es",
)


def _room_with(server: Homeserver, owner: MatrixUser, *others: MatrixUser) -> str:
    with server.client(owner) as client:
        room = client.post(
            "/_matrix/client/v3/createRoom",
            json={"preset": "private_chat", "invite": [u.user_id for u in others]},
        ).raise_for_status()
        room_id = str(room.json()["room_id"])
    for other in others:
        with server.client(other) as client:
            client.post(f"/_matrix/client/v3/join/{room_id}", json={}).raise_for_status()
    return room_id


def _send(server: Homeserver, user: MatrixUser, room_id: str, body: str) -> httpx.Response:
    with server.client(user) as client:
        return client.put(
            f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/t{next(_txn)}",
            json={"msgtype": "m.text", "body": body},
        )


def _report(
    server: Homeserver, reporter: MatrixUser, room_id: str, event_id: str, why: str
) -> None:
    with server.client(reporter) as client:
        client.post(
            f"/_matrix/client/v3/rooms/{room_id}/report/{event_id}", json={"reason": why}
        ).raise_for_status()


def _decision(
    kind: DecisionKind, request: ReportRequest, step: SanctionStep, **extra: Any
) -> Decision:
    return Decision(
        id=next(_decision_ids),
        kind=kind,
        platform_id=1,
        case_id=7,
        content_id=request.snapshot.platform_content_id,
        content_url=request.snapshot.url,
        author=request.snapshot.author,
        sanction=step,
        suspension_days=7 if step is SanctionStep.SUSPEND else None,
        issued_at=datetime.now(UTC),
        sequence=1,
        statement_url="https://isegoria.test/statements/7",
        **extra,
    )


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Homeserver]:
    """One Synapse for the module; fails (never skips) when its venv is missing."""
    # synapse_python() raises a RuntimeError naming scripts/synapse-venv when it is absent.
    with running_homeserver(tmp_path_factory.mktemp("synapse")) as server:
        yield server


@pytest.fixture
def adapter(synapse: Homeserver) -> Iterator[MatrixAdapter]:
    assert synapse.admin is not None
    with SynapseAdminClient(synapse.url, synapse.admin.access_token, allow_private=True) as client:
        yield MatrixAdapter(client, CONFIG, PSEUDONYMS)


def _poll_one(
    adapter: MatrixAdapter, cursor: MatrixCursor
) -> tuple[ReportRequest | TriageItem, MatrixCursor]:
    polled = adapter.poll_reports(cursor)
    assert len(polled.items) == 1, polled.items
    return polled.items[0], polled.cursor


def test_report_suspend_and_appeal_round_trip(synapse: Homeserver, adapter: MatrixAdapter) -> None:
    alice, bob = synapse.register("alice1"), synapse.register("bob1")
    room_id = _room_with(synapse, alice, bob)
    event_id = _send(synapse, alice, room_id, "te voy a encontrar, es una amenaza").json()[
        "event_id"
    ]
    _report(synapse, bob, room_id, event_id, "He threatened me, see MX-3")

    cursor = MatrixCursor.from_json(adapter.poll_reports().cursor.to_json())
    first = adapter.poll_reports(MatrixCursor())
    request = next(i for i in first.items if i.snapshot.platform_content_id == event_id)
    assert isinstance(request, ReportRequest)
    assert request.rule_id == "MX-3"  # a cited known rule beats the keyword
    snap = request.snapshot
    assert snap.text == "te voy a encontrar, es una amenaza"
    assert snap.context["room"] == room_id
    assert alice.user_id not in snap.author and snap.author.startswith("matrix:")
    assert abs(snap.posted_at - datetime.now(UTC)) < timedelta(minutes=5)
    assert request.reporter is not None and request.reporter != snap.author
    assert adapter.poll_reports(cursor).items == ()  # the cursor remembers what was handled

    imposed = _decision(DecisionKind.SANCTION_IMPOSED, request, SanctionStep.SUSPEND)
    result = adapter.apply(imposed)
    assert result.ok, result.reason
    assert f"redact {event_id}" in result.actions and "set suspended" in result.actions
    with synapse.client(bob) as client:
        seen = client.get(f"/_matrix/client/v3/rooms/{room_id}/event/{event_id}").json()
    assert seen["content"] == {} and "redacted_because" in seen["unsigned"]
    refused = _send(synapse, alice, room_id, "still here")
    assert refused.status_code == 403 and refused.json()["errcode"] == "M_USER_SUSPENDED"

    again = adapter.apply(imposed)  # a repeated delivery: nothing more happens
    assert again.ok and again.actions == ()
    assert synapse.admin is not None
    with SynapseAdminClient(synapse.url, synapse.admin.access_token, allow_private=True) as other:
        fresh = MatrixAdapter(other, CONFIG, PSEUDONYMS, MemoryLedger())
        forgetful = fresh.apply(imposed)  # even without the ledger, the state says it is done
    assert forgetful.ok, forgetful.reason
    assert {"set suspended", f"redact {event_id}"} <= set(forgetful.unchanged)

    lifted = _decision(
        DecisionKind.SANCTION_LIFTED, request, SanctionStep.SUSPEND, restores=imposed.id
    )
    undo = adapter.apply(lifted)
    assert undo.ok and "clear suspended" in undo.actions
    assert undo.irreversible == (f"redaction of {event_id}",)
    assert _send(synapse, alice, room_id, "I can post again").status_code == 200


def test_ban_deactivates_and_lifting_reactivates(
    synapse: Homeserver, adapter: MatrixAdapter
) -> None:
    carol, dave = synapse.register("carol1"), synapse.register("dave1")
    room_id = _room_with(synapse, carol, dave)
    event_id = _send(synapse, carol, room_id, "buy cheap pills").json()["event_id"]
    before = adapter.poll_reports().cursor
    _report(synapse, dave, room_id, event_id, "spam")
    request, _ = _poll_one(adapter, before)
    assert isinstance(request, ReportRequest) and request.rule_id == "intl-4"

    banned = _decision(DecisionKind.SANCTION_IMPOSED, request, SanctionStep.BAN)
    assert adapter.apply(banned).ok
    assert adapter.apply(banned).actions == ()
    with synapse.client(synapse.admin) as admin:  # type: ignore[arg-type]
        account = admin.get(f"/_synapse/admin/v2/users/{carol.user_id}").json()
        assert account["deactivated"] is True
        with synapse.client(carol) as client:
            assert client.get("/_matrix/client/v3/account/whoami").status_code == 401
        lifted = _decision(
            DecisionKind.SANCTION_LIFTED, request, SanctionStep.BAN, restores=banned.id
        )
        result = adapter.apply(lifted)
        assert result.ok and "clear deactivated" in result.actions
        assert admin.get(f"/_synapse/admin/v2/users/{carol.user_id}").json()["deactivated"] is False


def test_unmapped_report_goes_to_triage_and_user_reports_are_read(
    synapse: Homeserver,
    adapter: MatrixAdapter,
) -> None:
    erin, frank = synapse.register("erin1"), synapse.register("frank1")
    room_id = _room_with(synapse, erin, frank)
    event_id = _send(synapse, erin, room_id, "something odd").json()["event_id"]
    before = adapter.poll_reports().cursor
    _report(synapse, frank, room_id, event_id, "I just do not like it")
    with synapse.client(frank) as client:
        client.post(
            f"/_matrix/client/v3/users/{erin.user_id}/report", json={"reason": "spam bot"}
        ).raise_for_status()
    polled = adapter.poll_reports(before)
    assert len(polled.items) == 2
    triage = next(i for i in polled.items if isinstance(i, TriageItem))
    assert triage.snapshot.platform_content_id == event_id and triage.candidates == ()
    account = next(i for i in polled.items if i.snapshot.context.get("subject") == "account")
    assert account.snapshot.author == triage.snapshot.author  # same pseudonym for erin
    assert isinstance(account, TriageItem)  # "spam bot" is no exact reason, no keyword
    assert triage.to_report("intl-4").rule_id == "intl-4"
