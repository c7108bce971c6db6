"""Checkpoints on a timer: a tree head for every size, even if one was somehow missed.

Without a checkpoint policy every transaction that appends issues its own checkpoint, so
the latest checkpoint always covers the whole log. The worker still calls
``ensure_checkpoint`` every minute: after a restore, a crash of an older version, or entries
written by a tool that bypasses the unit of work, it signs the current head so witnesses
never wait on a log whose newest entries have no signed tree head.

Under a ``CheckpointPolicy`` (``coalesce.py``) transactions skip signing when a recent
checkpoint exists, and each app process runs a ``CheckpointTimer`` that calls
``ensure_checkpoint`` every ``policy.interval`` seconds: that is what bounds how long a
committed entry waits for a signed tree head.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from isegoria.clock import Clock
from isegoria.log import read
from isegoria.log.coalesce import LogMemory
from isegoria.log.signing import LogSigner
from isegoria.store.db import Database
from isegoria.store.models import LogCheckpoint, LogHead
from isegoria.unit_of_work import UnitOfWork

INTERVAL_SECONDS = 60.0

logger = logging.getLogger(__name__)


def ensure_checkpoint(
    database: Database, clock: Clock, signer: LogSigner, memory: LogMemory | None = None
) -> bool:
    """Sign the current tree head if no checkpoint covers it; True when one was issued."""
    uow = UnitOfWork(database, clock, signer)
    with uow.begin():
        signed = sign_head(uow.session, clock, signer)
    if signed is None:
        return False
    if memory is not None:
        memory.signed(signed.size)
    return True


def sign_head(session: Session, clock: Clock, signer: LogSigner) -> LogCheckpoint | None:
    """In the caller's transaction, sign the committed head unless a checkpoint covers it.

    Returns the new checkpoint, or None when the log is empty or already covered. A jury
    draw under checkpoint coalescing calls this when no checkpoint covers the case's
    opening yet: the first checkpoint covering it is then the one it signs, as before.
    """
    size = session.execute(select(LogHead.size).with_for_update()).scalar_one()
    latest = read.latest_checkpoint(session)
    if size == 0 or (latest is not None and latest.size >= size):
        return None
    root = read.root_at(session, size)
    row = LogCheckpoint(
        size=size, root_hash=root, note=signer.sign(size, root), created_at=clock.now()
    )
    session.add(row)
    session.flush()
    return row


class CheckpointTimer:
    """A daemon thread signing the uncovered tail of the log every ``interval`` seconds."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        signer: LogSigner,
        memory: LogMemory,
        interval: float,
    ) -> None:
        self.database, self.clock, self.signer = database, clock, signer
        self.memory = memory
        self.interval = interval
        self.stopping = threading.Event()

    def run_forever(self) -> None:
        """Sign until stopped; a failure (database restarting, busy) is logged and retried."""
        while not self.stopping.wait(self.interval):
            try:
                ensure_checkpoint(self.database, self.clock, self.signer, self.memory)
            except Exception:  # noqa: BLE001 - the next tick retries; the thread must live
                logger.exception("signing a checkpoint on the timer failed")

    def start_thread(self) -> threading.Thread:
        """Run the timer in a daemon thread."""
        thread = threading.Thread(target=self.run_forever, name="isegoria-checkpoints", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """End the loop at its next tick."""
        self.stopping.set()
