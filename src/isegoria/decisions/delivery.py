"""What the two outboxes share: the polling delivery thread and the dead-letter check.

Webhooks (decisions/outbox.py) and ActivityPub Flag outcomes (federation/
activitypub_delivery.py) are delivered the same way: a daemon thread runs a delivery pass
every few seconds through the guarded egress client, and a row that ran out of attempts is
a dead letter an operator can put back in the queue.
"""

from __future__ import annotations

import logging
import threading
from typing import ClassVar, Protocol, TypeVar

import httpx

from isegoria.errors import Conflict, NotFound
from isegoria.integrations import egress

DEAD = "dead"


class Deliverable(Protocol):
    """A row with a delivery state (``pending``, ``delivered`` or ``dead``)."""

    delivery: str


Row = TypeVar("Row", bound=Deliverable)


def dead_letter(row: Row | None, what: str, row_id: int, field: str) -> Row:
    """The row if it is a dead letter; NotFound or Conflict (naming ``what``) otherwise."""
    if row is None:
        raise NotFound("no %(what)s %(row_id)s", field=field, what=what, row_id=row_id)
    if row.delivery != DEAD:
        raise Conflict(
            "%(what)s %(row_id)s is not a dead letter (%(delivery)s)",
            what=what,
            row_id=row_id,
            delivery=row.delivery,
        )
    return row


class DeliveryWorker:
    """Runs ``deliver`` every few seconds in a daemon thread; a failed pass is logged."""

    thread_name: ClassVar[str]
    failure: ClassVar[str]  # what the log says when a pass fails
    logger: ClassVar[logging.Logger]

    def __init__(self, *, poll_seconds: float, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()

    def deliver(self, client: httpx.Client) -> object:
        """One delivery pass through ``client``."""
        raise NotImplementedError

    def run_forever(self) -> None:
        """Deliver until stopped; a failed pass is logged, never fatal."""
        with egress.guarded_client(allow_private=self.allow_private) as client:
            while not self.stopping.is_set():
                try:
                    self.deliver(client)
                except Exception:  # noqa: BLE001 - the loop must outlive a bad pass
                    self.logger.exception(self.failure)
                self.stopping.wait(self.poll_seconds)

    def start_thread(self) -> threading.Thread:
        """Run the loop in a daemon thread."""
        thread = threading.Thread(target=self.run_forever, name=self.thread_name, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Ask the loop to end after the current pass."""
        self.stopping.set()
