"""A slow webhook receiver holds no lock: writes go on while a delivery is in flight."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from isegoria.cases import intake as cases_intake
from isegoria.clock import ManualClock
from isegoria.decisions import lifecycle, outbox
from isegoria.domain.decisions import DecisionKind
from isegoria.log.signing import LogSigner
from isegoria.people import platforms
from isegoria.security import SecretBox
from isegoria.store.models import Platform
from isegoria.store.models_cases import DecisionRow
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, report_request
from tests.support.postgres import free_port

BOX = SecretBox(b"k" * 32)  # the box tests/support/world.py seeds platforms with
WRITES = 50
LONGEST_WAIT_SECONDS = 1.0


class SlowReceiver:
    """Accepts a delivery, then answers only when the test lets it (or after 30 s)."""

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
                receiver.release.wait(30)
                self.send_response(200)
                self.end_headers()

        return Handler


@pytest.fixture
def slow(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> Iterator[tuple[CasesWorld, SlowReceiver]]:
    world = build(uow, clock, signer, volunteers=0)
    port = free_port()
    with uow.begin():
        platform = uow.session.get(Platform, world.base.platform_id)
        assert platform is not None
        platforms.set_webhook(uow, platform, f"http://127.0.0.1:{port}/hook", allow_private=True)
    receiver = SlowReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", port), receiver.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield world, receiver
    receiver.release.set()
    server.shutdown()
    server.server_close()


def test_writes_do_not_wait_for_a_slow_webhook_receiver(
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    slow: tuple[CasesWorld, SlowReceiver],
) -> None:
    world, receiver = slow
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

    writer = UnitOfWork(uow.database, clock, signer, uow.secret)
    waits: list[float] = []

    def timed(write: object) -> None:
        started = time.perf_counter()
        with writer.begin():
            write(writer)  # type: ignore[operator]
        waits.append(time.perf_counter() - started)

    for n in range(WRITES - 2):
        timed(
            lambda w, n=n: cases_intake.file_report(
                w, platform_id=platform_id, request=report_request(w.now(), content_id=f"p-{n}")
            )
        )
    # The platform confirms the very decision in flight, then removes its webhook.
    timed(
        lambda w: lifecycle.confirm(
            w, platform_id=platform_id, decision_id=decision_id, applied=True, reason=None
        )
    )

    def remove_webhook(w: UnitOfWork) -> None:
        platform = w.session.get(Platform, platform_id)
        assert platform is not None
        platforms.set_webhook(w, platform, None)

    timed(remove_webhook)
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
    uow: UnitOfWork, clock: ManualClock, slow: tuple[CasesWorld, SlowReceiver]
) -> None:
    world, receiver = slow
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
