"""Appending to the log inside the caller's transaction.

The unit of work creates one ``LogAppender`` per transaction. Each append *sequences* an
entry: it gets its index (``sequence.py``) and its row is written with the transaction, so
an entry commits or rolls back with the state change it records. The Merkle tree is then
extended by *integration* (``integrate.py``):

* **Inline** (the default, no checkpoint policy): the writer integrates in its own
  transaction before it commits and signs a checkpoint for the new size. On PostgreSQL
  inline writers take turns on the integrator lock from their first append, so each one
  finds the tree complete up to its own entries, as when one row serialised every write.
* **Batched** (a ``CheckpointPolicy``, ISEGORIA_CHECKPOINT_INTERVAL_MS > 0): the writer
  only sequences, takes no lock another writer waits on, and gets back a promise: its
  entry's index and the time by which a signed checkpoint will cover it. The process's
  timer integrates and signs in batches (jobs/checkpoint_timer.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Connection, Table, insert
from sqlalchemy.orm import Session

from isegoria.algorithms import merkle
from isegoria.clock import Clock
from isegoria.domain.events import Event
from isegoria.errors import Conflict
from isegoria.log import integrate as integration
from isegoria.log import sequence
from isegoria.log.coalesce import LogMemory
from isegoria.log.entries import encode_entry
from isegoria.log.signing import LogSigner
from isegoria.store.models import LogEntry

# The log's statements go to the transaction's connection as SQLAlchemy Core: nothing here
# needs the ORM's identity map, and its bulk-insert path costs several times more CPU per
# statement than the Core one on this, the hottest path of every write.
_ENTRIES: Table = cast(Table, LogEntry.__table__)
_INSERT_ENTRIES = insert(_ENTRIES)
#: A batched entry is promised to a signed checkpoint within this many timer intervals: one
#: for the tick after its commit, one for a writer before it still in flight at that tick.
PROMISE_INTERVALS = 2
#: How long a key rotation tries to integrate up to its own entry, and its pause between.
SETTLE_SECONDS = 10
SETTLE_PAUSE_SECONDS = 0.05


@dataclass(frozen=True)
class Appended:
    """Where an event landed in the log, and by when a signed checkpoint covers it."""

    index: int
    leaf_hash: bytes
    checkpoint_by: datetime


class LogAppender:
    """Appends events within one transaction; call ``finish`` before committing."""

    def __init__(
        self,
        session: Session,
        clock: Clock,
        signer: LogSigner | None,
        memory: LogMemory | None = None,
    ) -> None:
        self._session = session
        self._clock = clock
        self._signer = signer
        self._memory = memory
        self._sequencer: sequence.Sequencer | None = None
        self._reserved: int | None = None
        self._entries: list[dict[str, object]] = []
        self._own: list[tuple[int, bytes]] = []  # (index, payload) appended here, in order
        self._integration: integration.Integration | None = None
        #: Integrate exactly through this transaction's own entries, trying again while
        #: writers before them are in flight (a key rotation: the retiring key signs the
        #: checkpoint that ends there).
        self.settle = False
        self.appended: list[Appended] = []

    @property
    def batched(self) -> bool:
        """Whether integration is left to the timer (a checkpoint policy is set)."""
        return self._memory is not None and self._memory.batched

    @property
    def _core(self) -> Connection:
        """The connection of the caller's transaction."""
        return self._session.connection()

    def _start(self) -> sequence.Sequencer:
        if self._sequencer is None:
            core = self._core
            integrating = not self.batched or self.settle
            if integrating:
                # Inline writers take turns from their first append (see the module doc).
                sequence.hold_integrator(core)
            self._sequencer = sequence.Sequencer(core, integrating=integrating)
            self._sequencer.start()
        return self._sequencer

    def next_index(self) -> int:
        """The index the next ``append`` of this transaction gets (taken now): a row can
        then carry the index of its own entry without a second write."""
        if self._reserved is None:
            self._reserved = self._start().next()
        return self._reserved

    def append(self, event: Event) -> Appended:
        """Add ``event`` as the next entry; it commits or rolls back with the transaction."""
        if self._signer is None:
            raise RuntimeError("this unit of work has no log signer; it cannot append events")
        index = self.next_index()
        self._reserved = None
        now = self._clock.now()
        payload = encode_entry(index, event, now)
        self._entries.append(
            {
                "idx": index,
                "kind": event.kind,
                "subject_type": event.subject_type,
                "subject_id": event.subject_id,
                "created_at": now,
                "payload": payload,
            }
        )
        self._own.append((index, payload))
        appended = Appended(index, merkle.leaf_hash(payload), self._promise(now))
        self.appended.append(appended)
        return appended

    def _promise(self, now: datetime) -> datetime:
        if self._memory is None or self._memory.policy is None or self.settle:
            return now  # integrated and signed in this very transaction
        return now + timedelta(seconds=PROMISE_INTERVALS * self._memory.policy.interval)

    def finish(self) -> None:
        """Write this transaction's entries; inline, integrate them and sign a checkpoint."""
        if not self._entries:
            return
        self._core.execute(_INSERT_ENTRIES, self._entries)
        self._entries = []
        if self.settle:
            self._settle(max(a.index for a in self.appended))
        elif not self.batched:
            self.integrate()

    def _settle(self, last: int) -> None:
        """Integrate through ``last`` exactly, trying again while writers before it are in
        flight (never waiting on them: see integrate.py), for ``SETTLE_SECONDS`` at most."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            done = self.integrate(through=last)
            if done is not None and done.size > last:
                return
            if time.monotonic() >= deadline:
                raise Conflict(
                    "log entries before %(index)s were still being written after %(seconds)s "
                    "seconds, so the log could not be signed up to it; nothing was changed: "
                    "try again",
                    index=last,
                    seconds=SETTLE_SECONDS,
                )
            time.sleep(SETTLE_PAUSE_SECONDS)

    def integrate(self, *, through: int | None = None) -> integration.Integration | None:
        """Extend the tree over committed entries in this transaction and sign a checkpoint
        (``integrate.integrate``); None when another integrator is at work and this
        transaction, having sequenced entries, must not wait for it."""
        if self._signer is None:
            raise RuntimeError("this unit of work has no log signer; it cannot integrate")
        if self._entries:
            self._core.execute(_INSERT_ENTRIES, self._entries)
            self._entries = []
        # A batched writer holds the shared sequencing lock once it has sequenced; the timer
        # may hold the integrator lock and wait for that one: never wait the other way.
        turn_now = self.batched and self._sequencer is not None and not self.settle
        result = integration.integrate(
            self._session,
            self._clock,
            self._signer,
            self._memory,
            through=through,
            turn_now=turn_now,
            head=self._sequencer.tree_size if self._sequencer is not None else None,
            own=self._own,
        )
        if result is not None:
            self._integration = result
            # What the next pass of this transaction starts from: the tree now holds these.
            self._own = [(index, payload) for index, payload in self._own if index >= result.size]
            if self._sequencer is not None and self._sequencer.tree_size is not None:
                self._sequencer.tree_size = result.size
        return result

    def committed(self) -> None:
        """Tell the process's log memory what this transaction committed."""
        if self._memory is None:
            return
        if self._integration is not None:
            self._memory.integrated(self._integration.size, self._integration.frontier)
        if self.appended:
            self._memory.sequenced(max(a.index for a in self.appended))
