"""A summons reaches a juror as a Matrix message from a real Synapse, once, in their language."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from isegoria.cases import intake as cases_intake
from isegoria.clock import ManualClock
from isegoria.integrations.matrix_client import SynapseAdminClient
from isegoria.log.signing import LogSigner
from isegoria.notifications import delivery, inbox
from isegoria.store.models_cases import Juror, Jury
from isegoria.store.models_notifications import NotificationDelivery
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import build, report_request, run_jobs
from tests.support.synapse import Homeserver, MatrixUser, running_homeserver

HOUR = timedelta(hours=1)


@pytest.fixture(scope="module")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Homeserver]:
    """One Synapse for the module; fails (never skips) when its venv is missing."""
    with running_homeserver(tmp_path_factory.mktemp("synapse-notify")) as server:
        yield server


NOTICE_WAIT_SECONDS = 60


def _notices(server: Homeserver, user: MatrixUser) -> list[str]:
    """The bodies of the server notices ``user`` received (joining the notices room)."""
    with server.client(user) as client:
        # Synapse sends server notices on its own time: up to a minute on a loaded machine.
        deadline = time.monotonic() + NOTICE_WAIT_SECONDS
        while True:
            # Synapse leaves "rooms" out of a sync that has nothing in any room yet.
            sync = client.get("/_matrix/client/v3/sync", params={"timeout": 0}).json()
            rooms = sync.get("rooms", {})
            invited = list(rooms.get("invite", {})) + list(rooms.get("join", {}))
            if invited or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        bodies = []
        for room_id in invited:
            client.post(f"/_matrix/client/v3/rooms/{room_id}/join", json={}).raise_for_status()
            events = client.get(
                f"/_matrix/client/v3/rooms/{room_id}/messages",
                params={"dir": "b", "limit": 50},
            ).json()["chunk"]
            bodies += [e["content"]["body"] for e in events if e["type"] == "m.room.message"]
        return bodies


def test_a_summons_arrives_as_a_matrix_message_once_in_the_jurors_language(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, synapse: Homeserver
) -> None:
    assert synapse.admin is not None
    world = build(uow, clock, signer)
    users = {
        account: synapse.register(f"juror{account}x{time.monotonic_ns() % 10**9}")
        for account in world.volunteers
    }
    with uow.begin():
        for account, user in users.items():
            inbox.save_preferences(
                uow,
                account,
                language="es",
                email=None,
                email_on=False,
                matrix_id=user.user_id,
                matrix_on=True,
                languages=("es",),
            )
        case, _ = cases_intake.file_report(
            uow, platform_id=world.base.platform_id, request=report_request(uow.now() - HOUR)
        )
        case_id = case.id
    run_jobs(uow, clock, signer)
    with uow.begin(readonly=True):
        jury = uow.session.scalars(select(Jury).where(Jury.case_id == case_id)).one()
        seats = [
            j.account_id
            for j in uow.session.scalars(select(Juror).where(Juror.jury_id == jury.id))
            if j.account_id in users
        ]
    assert seats
    # The test homeserver listens on loopback, which the outbound guard refuses by default.
    with SynapseAdminClient(synapse.url, synapse.admin.access_token, allow_private=True) as admin:
        channels = delivery.Channels(
            public_url="https://isegoria.example", secret=b"s" * 32, matrix=admin
        )
        with uow.begin():  # a sender claims and dies after its call, before recording it
            claimed = delivery._claim(uow, ["matrix"])
        with uow.begin(readonly=True):
            outgoing = [delivery._outgoing(uow, channels, d) for d in claimed]
        first = next(o for o in outgoing if o is not None and o.address is not None)
        delivery._send(channels, first)
        clock.advance(delivery.LEASE + timedelta(seconds=1))
        sent = delivery.deliver_due(uow.database, clock, channels)
    assert sent.sent == len(seats)
    with uow.begin(readonly=True):
        statuses = {r.status for r in uow.session.scalars(select(NotificationDelivery))}
    assert statuses == {"sent"}
    for account in seats:
        bodies = _notices(synapse, users[account])
        summons = [b for b in bodies if f"(caso {case_id})" in b]
        assert len(summons) == 1, bodies  # the resend after the crash was dropped by txn id
        assert "https://isegoria.example/jury" in summons[0]
        assert summons[0].startswith("Has sido convocado a un jurado ciudadano")
