"""Appending to the log inside the caller's transaction.

The unit of work creates one ``LogAppender`` per transaction. The first append locks the
single ``log_head`` row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite writers already
hold the database lock from ``BEGIN IMMEDIATE``), so concurrent writers take turns and the
indexes they assign are consecutive with no gaps: a transaction that rolls back leaves its
index to the next one. Each append costs one leaf hash plus, amortised, one node hash, and
writes the perfect nodes it completes; ``finish`` issues a signed checkpoint for the new
size in the same transaction, so no decision commits without its entry and its tree head.
With a ``LogMemory`` (``coalesce.py``) the frontier is reused from the previous commit of
this process when the size still matches, and under a ``CheckpointPolicy`` the checkpoint
may be left to the next transaction or the checkpoint timer, within the policy's bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from isegoria.algorithms import merkle
from isegoria.clock import Clock
from isegoria.domain.events import Event
from isegoria.log import read
from isegoria.log.coalesce import LogMemory
from isegoria.log.entries import encode_entry
from isegoria.log.signing import LogSigner
from isegoria.store.models import LogCheckpoint, LogEntry, LogHead, LogNode

HEAD_ID = 1
# The log's statements go to the transaction's connection as SQLAlchemy Core: nothing here
# needs the ORM's identity map, and its bulk-insert path costs several times more CPU per
# statement than the Core one on this, the hottest path of every write.
_HEAD: Table = cast(Table, LogHead.__table__)
_ENTRIES: Table = cast(Table, LogEntry.__table__)
_NODES: Table = cast(Table, LogNode.__table__)
_CHECKPOINTS: Table = cast(Table, LogCheckpoint.__table__)
# Built once, values bound at execution: SQLAlchemy computes each cache key once per process
# rather than once per transaction.
_LOCK_HEAD = select(_HEAD.c.size).where(_HEAD.c.id == HEAD_ID).with_for_update()
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(size=bindparam("new_size"))
_INSERT_ENTRIES = insert(_ENTRIES)
_INSERT_NODES = insert(_NODES)


@dataclass(frozen=True)
class Appended:
    """Where an event landed in the log."""

    index: int
    leaf_hash: bytes


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
        self._signed = False
        self._tree: merkle.CompactTree | None = None
        self._entries: list[dict[str, object]] = []
        self._nodes: list[dict[str, object]] = []
        self.appended: list[Appended] = []

    @property
    def _core(self) -> Connection:
        """The connection of the caller's transaction."""
        return self._session.connection()

    def _open(self) -> merkle.CompactTree:
        if self._tree is None:
            size = self._core.execute(_LOCK_HEAD).scalar_one()
            known = self._memory.frontier(size) if self._memory is not None else None
            if known is not None:
                self._tree = merkle.CompactTree(size, known)
            else:
                self._tree = merkle.CompactTree.from_perfect(
                    size, read.perfect_lookup(self._session, merkle.perfect_subtrees(0, size))
                )
        return self._tree

    def next_index(self) -> int:
        """The index the next ``append`` of this transaction gets (locks the head as it does):
        a row can then carry the index of its own entry without a second write."""
        return self._open().size

    def append(self, event: Event) -> Appended:
        """Add ``event`` as the next entry; it commits or rolls back with the transaction."""
        if self._signer is None:
            raise RuntimeError("this unit of work has no log signer; it cannot append events")
        tree = self._open()
        index = tree.size
        now = self._clock.now()
        payload = encode_entry(index, event, now)
        leaf = merkle.leaf_hash(payload)
        for level, node_index, node in tree.append(leaf):
            self._nodes.append({"level": level, "idx": node_index, "hash": node})
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
        appended = Appended(index, leaf)
        self.appended.append(appended)
        return appended

    def finish(self) -> None:
        """Write the batch, move the head and sign a checkpoint for the new size (unless the
        checkpoint policy leaves it to a later transaction or the timer)."""
        if self._tree is None or not self._entries:
            return
        assert self._signer is not None  # noqa: S101 - append() refused without one
        core = self._core
        core.execute(_INSERT_ENTRIES, self._entries)
        core.execute(_INSERT_NODES, self._nodes)
        size = self._tree.size
        core.execute(_MOVE_HEAD, {"new_size": size})
        self._entries, self._nodes = [], []
        if self._memory is not None and not self._memory.should_sign(size):
            return
        root = self._tree.root()
        core.execute(
            insert(_CHECKPOINTS).values(
                size=size,
                root_hash=root,
                note=self._signer.sign(size, root),
                created_at=self._clock.now(),
            )
        )
        self._signed = True

    def committed(self) -> None:
        """Tell the process's log memory what this transaction committed."""
        if self._memory is not None and self._tree is not None and self.appended:
            frontier = [node for _, _, node in self._tree.frontier]
            self._memory.committed(self._tree.size, frontier, signed=self._signed)
