"""The log's integrator on a timer: the tree extended and a checkpoint signed in batches.

Without a checkpoint policy every transaction that appends integrates its own entries and
signs a checkpoint (log/append.py). The worker still calls ``ensure_checkpoint`` every
minute: after a restore, a crash of an older version, or entries left by a writer of
another process, it integrates what is committed and signs it, so witnesses never wait
on a log whose newest entries have no signed tree head.

Under a ``CheckpointPolicy`` (log/coalesce.py) writers only sequence their entries, and each
app process runs a ``CheckpointTimer`` that integrates every ``policy.interval`` seconds, or
as soon as a writer leaves ``max_pending`` entries waiting. One integrator works at a time
(log/sequence.py), so the processes' timers take turns.
"""

from __future__ import annotations

import logging
import threading

from isegoria.clock import Clock
from isegoria.log.coalesce import LogMemory
from isegoria.log.signing import LogSigner
from isegoria.store.db import Database
from isegoria.unit_of_work import UnitOfWork

INTERVAL_SECONDS = 60.0

logger = logging.getLogger(__name__)


def ensure_checkpoint(
    database: Database, clock: Clock, signer: LogSigner, memory: LogMemory | None = None
) -> bool:
    """Integrate the committed entries and sign the new head; True when a checkpoint was
    issued. It stops before a writer still in flight; the next tick goes on from there."""
    uow = UnitOfWork(database, clock, signer, log_memory=memory)
    with uow.begin():
        done = uow.log.integrate()
    return done is not None and done.checkpoint is not None


class CheckpointTimer:
    """A daemon thread integrating and signing the log's tail every ``interval`` seconds."""

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
        """Integrate until stopped; a failure (database restarting, busy) is logged and
        retried at the next tick."""
        while not self.stopping.is_set():
            self.memory.wake.wait(self.interval)
            self.memory.wake.clear()
            if self.stopping.is_set():
                return
            try:
                ensure_checkpoint(self.database, self.clock, self.signer, self.memory)
            except Exception:  # noqa: BLE001 - the next tick retries; the thread must live
                logger.exception("integrating the log on the timer failed")

    def start_thread(self) -> threading.Thread:
        """Run the timer in a daemon thread."""
        thread = threading.Thread(target=self.run_forever, name="isegoria-checkpoints", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """End the loop at its next tick."""
        self.stopping.set()
        self.memory.wake.set()
