"""Where ``log.verify`` reads a log from: this instance's database or a remote instance's API.

``LocalLog`` reads one snapshot transaction by keyset pages (memory stays constant) and also
checks the stored interior nodes the API builds its proofs from; ``RemoteSource`` reads the
public API, which exposes no raw nodes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from isegoria.algorithms import merkle
from isegoria.log.keyring import Rotation, local_rotations
from isegoria.log.remote import RemoteLog
from isegoria.store.models import LogCheckpoint, LogEntry, LogHead, LogNode

PAGE_SIZE = 1000  # rows per query: keyset pagination keeps memory constant


class LogVerificationError(Exception):
    """The log failed verification; the message names the entry or checkpoint."""


@dataclass(frozen=True)
class SourcedEntry:
    """One entry as a source holds it, with the leaf hash the source states for it."""

    index: int
    payload: bytes
    stated_leaf: bytes | None


@dataclass(frozen=True)
class SourcedCheckpoint:
    """One checkpoint as a source holds it: size, root hash column, signed note."""

    size: int
    root_hash: bytes
    note: str


class LogSource(Protocol):
    """Where a log is read from: a local database or a remote instance."""

    label: str
    leaf_label: str  # what ``stated_leaf`` is, for messages; may use {index}
    live: bool  # may grow while we read (then later checkpoints are not a truncation)

    def head_size(self) -> int:
        """The number of entries the source says it holds."""

    def entries(self, stop: int) -> Iterator[SourcedEntry]:
        """Entries in index order (a remote source stops before ``stop``)."""

    def checkpoints(self) -> Iterator[SourcedCheckpoint]:
        """Checkpoints in size order."""

    def check_nodes(self, size: int) -> int:
        """Check stored interior nodes, if the source has any; return how many."""

    def rotations(self) -> list[Rotation]:
        """The key rotations the source says its log records, oldest first."""


class LocalLog:
    """A log in this instance's database, read in one snapshot transaction."""

    live = False
    leaf_label = "the stored tree node (0, {index})"

    def __init__(self, session: Session, label: str = "local database") -> None:
        self.session = session
        self.label = label

    def head_size(self) -> int:
        """The size in the log_head row."""
        return int(self.session.execute(select(LogHead.size)).scalar_one())

    def entries(self, stop: int) -> Iterator[SourcedEntry]:
        """Every integrated entry (below ``stop``, the head's size) joined with its level-0
        node, by keyset pages; entries sequenced after it are integrated later."""
        after = -1
        join = and_(LogNode.level == 0, LogNode.idx == LogEntry.idx)
        while True:
            rows = self.session.execute(
                select(LogEntry.idx, LogEntry.payload, LogNode.hash)
                .outerjoin(LogNode, join)
                .where(LogEntry.idx > after, LogEntry.idx < stop)
                .order_by(LogEntry.idx)
                .limit(PAGE_SIZE)
            ).all()
            for idx, payload, node in rows:
                yield SourcedEntry(idx, payload, node)
            if len(rows) < PAGE_SIZE:
                return
            after = rows[-1][0]

    def checkpoints(self) -> Iterator[SourcedCheckpoint]:
        """Every checkpoint row, by keyset pages."""
        after = -1
        while True:
            rows = self.session.execute(
                select(LogCheckpoint.size, LogCheckpoint.root_hash, LogCheckpoint.note)
                .where(LogCheckpoint.size > after)
                .order_by(LogCheckpoint.size)
                .limit(PAGE_SIZE)
            ).all()
            for size, root_hash, note in rows:
                yield SourcedCheckpoint(size, root_hash, note)
            if len(rows) < PAGE_SIZE:
                return
            after = rows[-1][0]

    def _nodes(self, from_level: int) -> Iterator[tuple[int, int, bytes]]:
        # One level at a time, so every page is a range scan of the (level, idx) key.
        top = self.session.execute(select(func.max(LogNode.level))).scalar_one()
        for level in range(from_level, -1 if top is None else top + 1):
            after = -1
            while True:
                rows = self.session.execute(
                    select(LogNode.idx, LogNode.hash)
                    .where(LogNode.level == level, LogNode.idx > after)
                    .order_by(LogNode.idx)
                    .limit(PAGE_SIZE)
                ).all()
                yield from ((level, idx, node) for idx, node in rows)
                if len(rows) < PAGE_SIZE:
                    break
                after = rows[-1][0]

    def check_nodes(self, size: int) -> int:
        """Each stored node (L, i), L >= 1, must hash its children (L-1, 2i), (L-1, 2i+1).

        Level 0 was compared with the entries already, so by induction every stored node is
        the MTH of its leaves; nodes must exist exactly for i < size >> L (none missing,
        none extra). Two keyset-paged streams over the (level, idx) primary key, one a
        level behind the other, keep memory constant.
        """
        children, parents = self._nodes(0), self._nodes(1)

        def take(stream: Iterator[tuple[int, int, bytes]], level: int, idx: int) -> bytes:
            got = next(stream, None)
            if got is None or (got[0], got[1]) > (level, idx):
                raise LogVerificationError(
                    f"tree node ({level}, {idx}) is missing from a log of {size} entries"
                )
            if (got[0], got[1]) != (level, idx):
                raise LogVerificationError(
                    f"unexpected tree node ({got[0]}, {got[1]}) in a log of {size} entries"
                )
            return got[2]

        top = size.bit_length() - 1  # the highest level with a node; -1 for the empty log
        count = size  # the number of children at level - 1
        for level in range(1, top + 1):
            for idx in range(size >> level):
                left = take(children, level - 1, 2 * idx)
                right = take(children, level - 1, 2 * idx + 1)
                if take(parents, level, idx) != merkle.node_hash(left, right):
                    raise LogVerificationError(
                        f"tree node ({level}, {idx}) is not the hash of its children "
                        f"({level - 1}, {2 * idx}) and ({level - 1}, {2 * idx + 1}): "
                        "a stored node was altered"
                    )
            if count & 1:
                take(children, level - 1, count - 1)  # the unpaired last node of its level
            count >>= 1
        if top >= 0:
            take(children, top, 0)  # the top level holds exactly one node
        for stream in (children, parents):
            extra = next(stream, None)
            if extra is not None:
                raise LogVerificationError(
                    f"unexpected tree node ({extra[0]}, {extra[1]}) in a log of {size} entries"
                )
        return 2 * size - size.bit_count()  # sum over levels of size >> L

    def rotations(self) -> list[Rotation]:
        """The rotation entries, read in the same snapshot."""
        return local_rotations(self.session)


class RemoteSource:
    """A remote instance's public log API."""

    live = True
    leaf_label = "the leaf_hash the API states"

    def __init__(self, remote: RemoteLog) -> None:
        self.remote = remote
        self.label = remote.url

    def head_size(self) -> int:
        """The tree size the API reports."""
        return self.remote.tree_size()

    def entries(self, stop: int) -> Iterator[SourcedEntry]:
        """Entries below ``stop``, page by page."""
        for index, payload, leaf in self.remote.entries(stop):
            yield SourcedEntry(index, payload, leaf)

    def checkpoints(self) -> Iterator[SourcedCheckpoint]:
        """Checkpoints, page by page."""
        for size, root_hash, note in self.remote.checkpoints():
            yield SourcedCheckpoint(size, root_hash, note)

    def check_nodes(self, size: int) -> int:
        """The API exposes no raw nodes; its proofs are checked by the witness instead."""
        return 0

    def rotations(self) -> list[Rotation]:
        """The key history the instance serves; checked against the entries as they stream."""
        return self.remote.rotations()
