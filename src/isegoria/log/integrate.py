"""Integration: extending the Merkle tree over sequenced entries and signing a checkpoint.

Writers commit their entries with their state changes (``append.py``); the tree grows here,
in the transaction of whoever integrates, one integrator at a time (``sequence.py``'s
``INTEGRATOR`` lock on PostgreSQL, the single writer on SQLite). A pass reads the entries
after the integrated size in index order, appends their leaf hashes to the tree, writes the
perfect nodes they complete, moves ``log_head`` and signs one checkpoint for the new size.

A missing index stops the pass while its writer may still commit it. Once the writer is
known to be gone (its index lock is free, and with the sequencing lock held no writer is
between taking an index and locking it) and the row is still absent, the writer rolled
back: the integrator writes an ``IndexVoided`` entry there, so the tree stays dense and every
index is accounted for in public. On SQLite no index is ever missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from isegoria.algorithms import merkle
from isegoria.clock import Clock
from isegoria.domain.events import IndexVoided
from isegoria.log import read, sequence
from isegoria.log.coalesce import LogMemory
from isegoria.log.entries import encode_entry
from isegoria.log.signing import LogSigner
from isegoria.store.models import LogCheckpoint, LogEntry, LogHead, LogNode

HEAD_ID = 1
#: Entries read per query of a pass; a pass goes on until it catches up or is stopped.
BATCH = 5_000
#: How long an index must be seen free of its writer and of any row, while other writers
#: keep the sequencing lock busy, before it is voided (see ``_rolled_back``).
GAP_GRACE_SECONDS = 2.0
_HEAD: Table = cast(Table, LogHead.__table__)
_ENTRIES: Table = cast(Table, LogEntry.__table__)
_NODES: Table = cast(Table, LogNode.__table__)
_CHECKPOINTS: Table = cast(Table, LogCheckpoint.__table__)
_LOCK_HEAD = select(_HEAD.c.size).where(_HEAD.c.id == HEAD_ID).with_for_update()
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(size=bindparam("new_size"))
_PENDING = (
    select(_ENTRIES.c.idx, _ENTRIES.c.payload)
    .where(_ENTRIES.c.idx >= bindparam("start"), _ENTRIES.c.idx < bindparam("stop"))
    .order_by(_ENTRIES.c.idx)
    .limit(BATCH)
)
_PRESENT = select(_ENTRIES.c.idx).where(_ENTRIES.c.idx == bindparam("idx"))
_NO_LIMIT = 2**62


@dataclass(frozen=True)
class Integration:
    """What one pass left: the tree's size and frontier, and the checkpoint it signed."""

    size: int
    frontier: tuple[bytes, ...]
    checkpoint: LogCheckpoint | None


def integrate(
    session: Session,
    clock: Clock,
    signer: LogSigner,
    memory: LogMemory | None = None,
    *,
    through: int | None = None,
    turn_now: bool = False,
    head: int | None = None,
    own: Sequence[tuple[int, bytes]] = (),
) -> Integration | None:
    """Integrate the committed entries after the tree in the caller's transaction, and sign
    a checkpoint for the new size unless one already covers it.

    Once it holds the integrator lock it waits for nothing: an integrator that waited on a
    writer (which may wait on a row an inline writer holds, which waits for the integrator)
    could close a cycle. It stops before a writer still in flight; the next pass goes on.

    ``through``: stop after this index (a key rotation's checkpoint must end at its entry).
    ``turn_now``: give up (None) rather than wait when another integrator is at work; for a
    transaction that has sequenced entries already, which that integrator may wait for.
    ``head``: the tree's size, when the caller read it under the lock it still holds.
    ``own``: (index, payload) of the caller's own entries: when they follow the tree at
    once, the inline writer's common case, they are integrated without reading them back.
    """
    core = session.connection()
    if not sequence.hold_integrator(core, wait=not turn_now):
        return None
    before = head if head is not None else int(core.execute(_LOCK_HEAD).scalar_one())
    known = memory.frontier(before) if memory is not None else None
    tree = (
        merkle.CompactTree(before, known)
        if known is not None
        else merkle.CompactTree.from_perfect(
            before, read.perfect_lookup(session, merkle.perfect_subtrees(0, before))
        )
    )
    stop = _NO_LIMIT if through is None else through + 1
    entries: list[dict[str, object]] = []
    nodes: list[dict[str, object]] = []

    def add(payload: bytes) -> None:
        for level, node_index, node in tree.append(merkle.leaf_hash(payload)):
            nodes.append({"level": level, "idx": node_index, "hash": node})

    if _follows(own, before, stop):
        for _, payload in own:
            add(payload)
        stop = tree.size  # the pass ends with the caller's entries
    while tree.size < stop:
        rows = core.execute(_PENDING, {"start": tree.size, "stop": stop}).all()
        missing = False
        for idx, payload in rows:
            if idx != tree.size:
                missing = True
                break
            add(payload)
        if not missing:
            if len(rows) == BATCH:
                continue  # a full page, all in order: read on
            break  # every stored entry is in the tree
        # The next index is missing below a stored one: is its writer gone?
        gap = tree.size
        outcome = _rolled_back(core, gap, memory)
        if outcome is None:
            break
        if outcome:  # gone without committing: account for the index in public
            row = _void_row(gap, clock)
            entries.append(row)
            add(cast(bytes, row["payload"]))
        # else: it committed meanwhile; the next query reads it
    if entries:
        core.execute(insert(_ENTRIES), entries)
    if nodes:
        core.execute(insert(_NODES), nodes)
    if tree.size != before:
        core.execute(_MOVE_HEAD, {"new_size": tree.size})
    checkpoint = _sign(session, clock, signer, tree, grew=tree.size > before)
    return Integration(tree.size, tuple(n for _, _, n in tree.frontier), checkpoint)


def _follows(own: Sequence[tuple[int, bytes]], size: int, stop: int) -> bool:
    """Whether ``own`` are the indexes ``size``, ``size + 1``, ... all before ``stop``."""
    return (
        bool(own)
        and [i for i, _ in own] == list(range(size, size + len(own)))
        and (size + len(own) <= stop)
    )


def _rolled_back(core: Connection, index: int, memory: LogMemory | None) -> bool | None:
    """Whether the writer given ``index``, missing below a stored entry, is gone without
    committing it (None: it may still commit it; stop before it).

    On SQLite no index is ever missing (one writer at a time, indexes given one past the
    highest row), unless a stored entry was deleted before integration: it is voided, in
    public, like a rolled-back one. On PostgreSQL, with the index's lock free, its writer is
    gone unless it is between ``nextval`` and taking that lock, inside one statement: ruled
    out at once when the sequencing lock is free, and otherwise once the index has been
    seen free and empty for ``GAP_GRACE_SECONDS`` (a process's memory).
    """
    if sequence.in_flight(core, index):
        return None
    if core.execute(_PRESENT, {"idx": index}).first() is not None:
        return False  # committed since the pass read the entries
    if sequence.quiesce_sequencing(core):
        return core.execute(_PRESENT, {"idx": index}).first() is None
    if memory is None or memory.gap_free_for(index) < GAP_GRACE_SECONDS:
        return None
    return True


def _void_row(index: int, clock: Clock) -> dict[str, object]:
    event, now = IndexVoided(index=index), clock.now()
    return {
        "idx": index,
        "kind": event.kind,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "created_at": now,
        "payload": encode_entry(index, event, now),
    }


def _sign(
    session: Session, clock: Clock, signer: LogSigner, tree: merkle.CompactTree, *, grew: bool
) -> LogCheckpoint | None:
    """Sign the tree unless it is empty or a checkpoint already covers its size (none can
    when this pass grew it: only integrators sign, at the size they integrated)."""
    if tree.size == 0:
        return None
    if not grew:
        latest = read.latest_checkpoint(session)
        if latest is not None and latest.size >= tree.size:
            return None
    row = LogCheckpoint(
        size=tree.size,
        root_hash=tree.root(),
        note=signer.sign(tree.size, tree.root()),
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row
