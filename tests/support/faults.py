"""What the fault tests share: reports over HTTP, and a webhook receiver that holds a call."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests.support.crash_world import WAIT_SECONDS, CrashWorld
from tests.support.postgres import free_port


def report_body(post: str, posted_at: str, reason: str = "A threat.") -> dict[str, Any]:
    """A platform report of one post under MX's threats rule."""
    return {
        "content": {
            "content_id": post,
            "text": "Sé dónde vives.",
            "language": "es",
            "author": "@troll",
            "posted_at": posted_at,
            "jurisdictions": ["MX"],
        },
        "rule": "MX-1",
        "reason": reason,
        "source": "user",
    }


def posted_at(made: CrashWorld) -> str:
    """An instant an hour before the world's clock: the posts fall under MX-1."""
    return (made.clock.now() - timedelta(hours=1)).replace(microsecond=0).isoformat()


def file_report(made: CrashWorld, url: str, post: str) -> int:
    """File one report over HTTP; the acknowledged case id."""
    answer = httpx.post(
        f"{url}/api/v1/reports",
        json=report_body(post, posted_at(made)),
        headers={"Authorization": f"Bearer {made.world.base.key_all}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["case_id"])


def wait_jury(made: CrashWorld, case_id: int) -> None:
    """Poll until the server's worker has drawn the case's first jury."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not made.juries_of(case_id):
        assert time.monotonic() < deadline, f"case {case_id}: no jury drawn after the restart"
        time.sleep(0.2)


class HeldReceiver:
    """A webhook receiver that records each delivery and holds the first one unanswered."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[str, str]] = []  # (delivery id, event)
        self.arrived = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.deliveries.append(
                    (self.headers["X-Isegoria-Delivery"], self.headers["X-Isegoria-Event"])
                )
                if len(receiver.deliveries) == 1:
                    receiver.arrived.set()
                    receiver.release.wait(30)
                self.send_response(200)
                self.end_headers()

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)

    @property
    def url(self) -> str:
        """Where the platform's webhook points."""
        return f"http://127.0.0.1:{self.port}/hook"


@contextmanager
def held_receiver() -> Iterator[HeldReceiver]:
    """Serve a ``HeldReceiver`` on loopback until the block ends."""
    held = HeldReceiver()
    threading.Thread(target=held.server.serve_forever, daemon=True).start()
    yield held
    held.release.set()
    held.server.shutdown()
    held.server.server_close()
