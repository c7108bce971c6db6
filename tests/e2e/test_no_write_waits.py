"""No write waits on a jury draw or a web call (issue 21 §1), on a real server over SQLite.

A large draw (its lottery takes seconds to prepare) and a webhook delivery to a receiver
that does not answer are both in flight while 50 other writes arrive over HTTP: reports,
the platform confirming the very decision being delivered, and the platform removing its
webhook. Each must be answered 2xx within 1 s: the draw prepares its lottery in a read-only
transaction and records in milliseconds, and the delivery makes its call with no
transaction open. ``benchmarks/draw_lock_bench.py`` measures the longest write-lock hold.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from isegoria.cases import intake as cases_intake
from isegoria.decisions import lifecycle, outbox
from isegoria.domain.decisions import DecisionKind
from isegoria.people import platforms
from isegoria.security import SecretBox
from isegoria.store.models import Platform
from isegoria.store.models_cases import DecisionRow
from tests.support import crash
from tests.support.cases_world import report_request
from tests.support.crash_world import WAIT_SECONDS, CrashWorld, check_database
from tests.support.faults import HeldReceiver, held_receiver, posted_at, report_body, wait_jury

# It measures how long writes wait: it runs alone, after the parallel part of the suite.
pytestmark = pytest.mark.serial

# 576 volunteers over 288 strata profiles: a lottery that takes seconds to prepare here.
POOL, POOL_REGIONS = 576, 24
WRITES = 50
LONGEST_WAIT_SECONDS = 1.0


@pytest.fixture
def receiver() -> Iterator[HeldReceiver]:
    with held_receiver() as held:
        yield held


def test_no_write_waits_behind_a_large_draw_and_a_slow_receiver(
    tmp_path: Path, receiver: HeldReceiver
) -> None:
    started = time.monotonic()
    made = CrashWorld(tmp_path)
    made.add_large_pool(POOL, POOL_REGIONS)
    platform_id = made.world.base.platform_id
    with made.uow.begin():
        platform = made.uow.session.get(Platform, platform_id)
        assert platform is not None
        platforms.set_webhook(made.uow, platform, receiver.url, allow_private=True)
        platform.webhook_secret = SecretBox(made.settings.secret_key).seal("hook-secret")
        decision_id = lifecycle.new_row(
            made.uow, platform_id, "post-in-flight", None, DecisionKind.NO_ACTION
        ).id
        request = report_request(made.uow.now() - timedelta(hours=1), content_id="large-draw")
        case, _ = cases_intake.file_report(made.uow, platform_id=platform_id, request=request)
        draw_case = case.id  # its draw job is due when the server starts
    server = made.start({"ISEGORIA_WEBHOOK_ALLOW_PRIVATE": "true"})
    waits: list[float] = []
    statuses: list[int] = []
    try:
        assert receiver.arrived.wait(WAIT_SECONDS), "the delivery never reached the receiver"
        assert not made.juries_of(draw_case), "the draw was over before the writes began"
        headers = {"Authorization": f"Bearer {made.world.base.key_all}"}
        at = posted_at(made)
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            writes = [
                *(
                    lambda n=n: client.post("/api/v1/reports", json=report_body(f"beside-{n}", at))
                    for n in range(WRITES - 2)
                ),
                lambda: client.post(
                    f"/api/v1/platform/decisions/{decision_id}/confirmation",
                    json={"status": "applied"},
                ),
                lambda: client.put("/api/v1/platform/webhook", json={"url": None}),
            ]
            for write in writes:
                begun = time.perf_counter()
                answer = write()
                waits.append(time.perf_counter() - begun)
                statuses.append(answer.status_code)
                assert answer.is_success, answer.text
        draw_in_flight_after = not made.juries_of(draw_case)
        with made.uow.begin(readonly=True):
            row = made.uow.session.get(DecisionRow, decision_id)
            assert row is not None
            assert row.delivery == outbox.PENDING, "the receiver let go before the writes ended"
        receiver.release.set()
        wait_jury(made, draw_case)
    finally:
        receiver.release.set()
        crash.kill(server.process)
    check_database(made, {})
    made.database.dispose()
    print(  # noqa: T201 - figures for the report, shown with -s
        f"longest of {len(waits)} writes beside a large draw and a held delivery: "
        f"{max(waits) * 1000:.0f} ms (median {sorted(waits)[len(waits) // 2] * 1000:.0f} ms); "
        f"draw still preparing after the last write: {draw_in_flight_after}; "
        f"seconds={time.monotonic() - started:.1f}"
    )
    assert len(statuses) == WRITES and all(200 <= s < 300 for s in statuses), statuses
    assert max(waits) < LONGEST_WAIT_SECONDS
