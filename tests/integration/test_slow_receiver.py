"""Slow receivers hold no lock: writes go on while a webhook or ActivityPub call is in flight."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from isegoria.cases import intake as cases_intake
from isegoria.clock import ManualClock
from isegoria.decisions import lifecycle, outbox
from isegoria.domain.decisions import DecisionKind
from isegoria.domain.sanctions import SanctionStep
from isegoria.federation import activitypub_delivery
from isegoria.log.signing import LogSigner
from isegoria.people import platforms
from isegoria.security import SecretBox
from isegoria.store.models import Platform
from isegoria.store.models_cases import Content, DecisionRow
from isegoria.store.models_federation import ActivityDelivery, FederatedFlag
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, report_request
from tests.support.postgres import free_port

# It measures how long writes wait: it runs alone, after the parallel part of the suite.
pytestmark = pytest.mark.serial

BOX = SecretBox(b"k" * 32)  # the box tests/support/world.py seeds platforms with
WRITES = 50
#: The receiver answers only when released (after the writes), or after this long.
HOLD_SECONDS = 30.0
#: A write that waited on the delivery would take the whole hold; a loaded CI machine
#: has stalled one write for 1.8 s for reasons of its own (a PostgreSQL write usually
#: takes 10 to 20 ms), so the bound separates the two with room for such stalls.
LONGEST_WAIT_SECONDS = 5.0


class SlowReceiver:
    """Accepts a delivery, then answers only when the test lets it (or after the hold)."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.arrived.set()
                receiver.release.wait(HOLD_SECONDS)
                self.send_response(200)
                self.end_headers()

        return Handler


Write = Callable[[UnitOfWork], object]


def _confirm(platform_id: int, decision_id: int) -> Write:
    return lambda w: lifecycle.confirm(
        w, platform_id=platform_id, decision_id=decision_id, applied=True, reason=None
    )


def _timed_writes(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, platform_id: int, last: list[Write]
) -> list[float]:
    """Seconds each of ``WRITES`` writes took: reports filed, then ``last``."""
    writer = UnitOfWork(uow.database, clock, signer, uow.secret)
    reports: list[Write] = [
        lambda w, n=n: cases_intake.file_report(
            w, platform_id=platform_id, request=report_request(w.now(), content_id=f"p-{n}")
        )
        for n in range(WRITES - len(last))
    ]
    waits = []
    for write in [*reports, *last]:
        started = time.perf_counter()
        with writer.begin():
            write(writer)
        waits.append(time.perf_counter() - started)
    return waits


@pytest.fixture
def slow(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> Iterator[tuple[CasesWorld, SlowReceiver, str]]:
    world = build(uow, clock, signer, volunteers=0)
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    with uow.begin():
        platform = uow.session.get(Platform, world.base.platform_id)
        assert platform is not None
        platforms.set_webhook(uow, platform, url, allow_private=True)
    receiver = SlowReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", port), receiver.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield world, receiver, url
    receiver.release.set()
    server.shutdown()
    server.server_close()


def test_writes_do_not_wait_for_a_slow_webhook_receiver(
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    slow: tuple[CasesWorld, SlowReceiver, str],
) -> None:
    world, receiver, _ = slow
    platform_id = world.base.platform_id
    with uow.begin():
        decision = lifecycle.new_row(uow, platform_id, "post-slow", None, DecisionKind.NO_ACTION)
        decision_id = decision.id
    rounds: list[outbox.DeliveryRound] = []

    def deliver() -> None:
        with httpx.Client() as client:
            rounds.append(outbox.deliver_due(uow.database, clock, BOX, client=client, timeout=60))

    worker = threading.Thread(target=deliver, daemon=True)
    worker.start()
    assert receiver.arrived.wait(10), "the delivery never reached the receiver"

    # The platform confirms the very decision in flight, then removes its webhook.
    def remove_webhook(w: UnitOfWork) -> None:
        platform = w.session.get(Platform, platform_id)
        assert platform is not None
        platforms.set_webhook(w, platform, None)

    waits = _timed_writes(
        uow,
        clock,
        signer,
        platform_id,
        [_confirm(platform_id, decision_id), remove_webhook],
    )
    assert worker.is_alive(), "the delivery must still be in flight while the writes run"
    receiver.release.set()
    worker.join(30)
    assert len(waits) == WRITES
    print(f"longest of {WRITES} writes behind a slow receiver: {max(waits) * 1000:.0f} ms")
    assert max(waits) < LONGEST_WAIT_SECONDS
    assert rounds == [outbox.DeliveryRound(delivered=1, retried=0, dead=0)]
    with uow.begin(readonly=True):
        row = uow.session.get(DecisionRow, decision_id)
        assert row is not None
        assert (row.delivery, row.status, row.delivery_attempts) == ("delivered", "applied", 1)


def test_a_crash_between_the_call_and_the_record_sends_again_after_the_lease(
    uow: UnitOfWork, clock: ManualClock, slow: tuple[CasesWorld, SlowReceiver, str]
) -> None:
    world, receiver, _ = slow
    receiver.release.set()
    with uow.begin():
        decision = lifecycle.new_row(
            uow, world.base.platform_id, "post-crash", None, DecisionKind.NO_ACTION
        )
        decision_id = decision.id
    seen: list[str] = []

    def crash(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["X-Isegoria-Delivery"])
        raise KeyboardInterrupt  # the process dies after the POST, before the record

    with (
        httpx.Client(transport=httpx.MockTransport(crash)) as client,
        pytest.raises(KeyboardInterrupt),
    ):
        outbox.deliver_due(uow.database, clock, BOX, client=client)
    with httpx.Client() as client:
        # Leased: another pass right away leaves it alone.
        assert outbox.deliver_due(uow.database, clock, BOX, client=client).delivered == 0
        clock.advance(outbox.LEASE)
        assert outbox.deliver_due(uow.database, clock, BOX, client=client).delivered == 1
    assert seen == [str(decision_id)]  # the retry carries the same id (the receiver dedupes)
    with uow.begin(readonly=True):
        row = uow.session.get(DecisionRow, decision_id)
        assert row is not None and row.delivery == "delivered"


def test_writes_do_not_wait_for_a_slow_activitypub_inbox(
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    slow: tuple[CasesWorld, SlowReceiver, str],
) -> None:
    world, receiver, url = slow
    platform_id = world.base.platform_id
    with uow.begin():
        case, report = cases_intake.file_report(
            uow, platform_id=platform_id, request=report_request(uow.now(), content_id="ap-post")
        )
        uow.session.add(
            FederatedFlag(
                flag_key="remote-flag-1",
                flag_id="https://remote.example/flags/1",
                actor="https://remote.example/actor",
                inbox=url,
                post_uri="https://remote.example/notes/1",
                case_id=case.id,
                report_id=report.id,
                received_at=uow.now(),
            )
        )
        uow.session.flush()
        content = uow.session.get(Content, case.content_id)
        assert content is not None
        decision = lifecycle.issue(
            uow, case=case, content=content, kind=DecisionKind.NO_ACTION, sanction=SanctionStep.NONE
        )
        decision_id = decision.id
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rounds: list[outbox.DeliveryRound] = []

    def deliver() -> None:
        with httpx.Client() as client:
            rounds.append(
                activitypub_delivery.deliver_due(
                    uow.database,
                    clock,
                    public_url="https://isegoria.test",
                    key=key,
                    client=client,
                    timeout=60,
                )
            )

    worker = threading.Thread(target=deliver, daemon=True)
    worker.start()
    assert receiver.arrived.wait(10), "the outcome never reached the inbox"
    waits = _timed_writes(uow, clock, signer, platform_id, [_confirm(platform_id, decision_id)])
    assert worker.is_alive(), "the delivery must still be in flight while the writes run"
    receiver.release.set()
    worker.join(30)
    print(f"longest of {WRITES} writes behind a slow inbox: {max(waits) * 1000:.0f} ms")
    assert max(waits) < LONGEST_WAIT_SECONDS
    assert rounds == [outbox.DeliveryRound(delivered=1, retried=0, dead=0)]
    with uow.begin(readonly=True):
        [row] = uow.session.scalars(select(ActivityDelivery)).all()
        assert (row.delivery, row.attempts) == ("delivered", 1)
