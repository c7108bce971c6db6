"""Webhook delivery against a real local HTTP receiver that is down, drops, stalls and fails.

A small in-memory loop stands in for the outbox worker: per subject it sends only the head
decision, retries it with :func:`next_attempt_delay` on a virtual clock, and dead-letters
after ``MAX_ATTEMPTS``. The receiver verifies signatures and deduplicates by delivery id,
as the docs tell platforms to. Each decision must be applied exactly once, in order.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from isegoria.domain.decisions import Decision, DecisionKind
from isegoria.domain.sanctions import SanctionStep
from isegoria.integrations.webhooks import (
    DELIVERY_HEADER,
    MAX_ATTEMPTS,
    SIGNATURE_HEADER,
    DeliveryOutcome,
    WebhookVerificationError,
    deliver,
    next_attempt_delay,
    verify_signature,
)

SECRET = "whsec_integration"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CLIENT_TIMEOUT = 0.3  # seconds; the "stall" behaviour sleeps longer than this


@dataclass
class Receiver:
    """What the platform's endpoint did: applied effects, duplicates, refusals."""

    script: deque[str]
    applied: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    applied_ids: list[str] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    requests: int = 0
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    clock: list[datetime] = field(default_factory=lambda: [START])


def make_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet test output
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.requests += 1
                behaviour = receiver.script.popleft() if receiver.script else "ok"
            if behaviour == "drop":  # the connection closes without an answer
                self.close_connection = True
                return
            if behaviour == "500":
                self.send_response(500)
                self.end_headers()
                self.wfile.write(b"database is down")
                return
            headers = {k: v for k, v in self.headers.items()}
            with receiver.lock:
                delivery = headers.get(DELIVERY_HEADER, "")
                try:
                    verify_signature(
                        headers.get(SIGNATURE_HEADER, ""), body, SECRET, now=receiver.clock[0]
                    )
                except WebhookVerificationError as exc:
                    receiver.refused.append(str(exc))
                    status = 401
                else:
                    status = 200
                    if delivery in receiver.seen:
                        # A retry of a delivery already applied: acknowledge, do nothing.
                        receiver.duplicates += 1
                    else:
                        receiver.seen[delivery] = 1
                        event = json.loads(body)
                        receiver.applied[event["content_id"]].append(event["sequence"])
                        receiver.applied_ids.append(delivery)
            if behaviour == "stall":  # applied, but the answer comes after the client gave up
                time.sleep(CLIENT_TIMEOUT * 2)
            try:
                self.send_response(status)
                self.end_headers()
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def receiver_at() -> Iterator[tuple[Receiver, int, list[ThreadingHTTPServer]]]:
    receiver = Receiver(script=deque(["drop", "stall", "500", "500", "drop", "stall"]))
    servers: list[ThreadingHTTPServer] = []
    yield receiver, free_port(), servers
    for server in servers:
        server.shutdown()
        server.server_close()


def decisions() -> list[Decision]:
    """Two subjects, three and two decisions each, interleaved in issue order."""
    out = []
    plan = [("post-a", 1), ("post-b", 1), ("post-a", 2), ("post-b", 2), ("post-a", 3)]
    for number, (content, sequence) in enumerate(plan, start=100):
        out.append(
            Decision(
                id=number,
                kind=DecisionKind.SANCTION_IMPOSED if sequence != 2 else DecisionKind.NO_ACTION,
                platform_id=1,
                case_id=number,
                content_id=content,
                content_url=f"https://forum.example/{content}",
                author="someone",
                sanction=SanctionStep.REMOVE,
                suspension_days=None,
                issued_at=START,
                sequence=sequence,
            )
        )
    return out


def test_each_event_is_applied_once_and_in_order_despite_failures(
    receiver_at: tuple[Receiver, int, list[ThreadingHTTPServer]],
) -> None:
    receiver, port, servers = receiver_at
    url = f"http://127.0.0.1:{port}/isegoria-hook"
    queues: dict[str, deque[Decision]] = defaultdict(deque)
    for decision in decisions():
        queues[decision.content_id].append(decision)
    due: dict[str, datetime] = {subject: START for subject in queues}
    attempts: dict[int, int] = defaultdict(int)
    outcomes: list[DeliveryOutcome] = []
    dead: list[int] = []
    rng = random.Random(2026)
    with httpx.Client() as client:
        while any(queues.values()):
            subject = min((s for s in queues if queues[s]), key=lambda s: due[s])
            now = due[subject]
            receiver.clock[0] = now  # the receiver's clock agrees with the sender's
            head = queues[subject][0]
            attempts[head.id] += 1
            result = deliver(url, SECRET, head, client=client, timeout=CLIENT_TIMEOUT, now=now)
            outcomes.append(result.outcome)
            if not servers:  # the platform was down for the first attempt; now it starts
                server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(receiver))
                threading.Thread(target=server.serve_forever, daemon=True).start()
                servers.append(server)
            if result.delivered:
                queues[subject].popleft()
                due[subject] = now
            elif result.outcome is DeliveryOutcome.PERMANENT or attempts[head.id] >= MAX_ATTEMPTS:
                dead.append(head.id)
                queues[subject].popleft()
            else:
                delay = next_attempt_delay(
                    attempts[head.id],
                    base=1.0,
                    cap=60.0,
                    jitter_rng=rng,
                    retry_after=result.retry_after,
                )
                due[subject] = now + timedelta(seconds=delay)

    assert dead == []
    assert receiver.refused == []
    # Every failure mode happened: refused connection, dropped, timed out, 500.
    assert outcomes.count(DeliveryOutcome.RETRY) == 7
    assert outcomes.count(DeliveryOutcome.DELIVERED) == 5
    # The two stalls applied the event but the sender timed out and resent: deduplicated.
    assert receiver.duplicates == 2
    assert sorted(receiver.applied_ids) == ["100", "101", "102", "103", "104"]
    assert dict(receiver.applied) == {"post-a": [1, 2, 3], "post-b": [1, 2]}


def test_a_forged_or_replayed_request_to_the_receiver_is_refused(
    receiver_at: tuple[Receiver, int, list[ThreadingHTTPServer]],
) -> None:
    receiver, port, servers = receiver_at
    receiver.script.clear()
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(receiver))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    servers.append(server)
    url = f"http://127.0.0.1:{port}/hook"
    decision = decisions()[0]
    with httpx.Client() as client:
        forged = deliver(url, "not the secret", decision, client=client, now=START)
        assert forged.outcome is DeliveryOutcome.PERMANENT and forged.status_code == 401
        receiver.clock[0] = START + timedelta(minutes=10)
        stale = deliver(url, SECRET, decision, client=client, now=START)
        assert stale.status_code == 401
    assert "does not match" in receiver.refused[0]
    assert "600 s old" in receiver.refused[1]
    assert receiver.applied_ids == []
