"""Verify a whole transparency log: every entry, every stored node, every signed checkpoint.

The entries are streamed in index order (a page at a time: memory stays constant) and the
RFC 9162 tree is recomputed with a ``CompactTree``. Each entry must be the canonical JSON
its index says it is; at every checkpoint size the checkpoint's Ed25519 signature must
verify with the pinned key and its signed root must equal the recomputed root. Because every
checkpoint's root is recomputed from the same sequence of entries, all checkpoints that pass
are prefixes of one another: they are mutually consistent (RFC 9162 §2.1.4) without any
consistency proof being needed. A local database is also checked node by node, since the
proofs the API serves are built from the stored nodes (``_check_nodes``).

After a key rotation (``log.keyring``) each checkpoint must be signed by the key whose
range covers its size; the pinned key must be one of the log's keys, and the rotation
entries met while streaming must be exactly those the history was built from, so a history
served by a remote instance cannot claim a rotation its log does not hold.

A truncation that also deleted the later checkpoints leaves nothing inside the log to
contradict it; an optional ``WitnessState`` (the witness's state file) remembers a checkpoint
verified earlier, which the recomputed tree must still reproduce.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from isegoria.algorithms import merkle
from isegoria.algorithms.checkpoint import NoteError, NoteVerifier, open_signed_note
from isegoria.algorithms.checkpoint import parse_verifier_key as _parse_key
from isegoria.log.entries import MalformedEntry, decode_entry
from isegoria.log.keyring import (
    KEY_ROTATED,
    KeyHistory,
    KeyHistoryError,
    Rotation,
    build_history,
    local_rotations,
    rotation_of,
)
from isegoria.log.remote import RemoteLog, RemoteLogError
from isegoria.log.witness import WitnessState
from isegoria.store.db import READONLY_OPTION, Database
from isegoria.store.models import LogCheckpoint, LogEntry, LogHead, LogNode

PAGE_SIZE = 1000  # rows per query: keyset pagination keeps memory constant

ProgressFn = Callable[[int, int], None]  # (entries checked, entries in the log)


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


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of a successful verification."""

    source: str
    size: int
    root_hash: bytes
    checkpoints: int
    nodes: int
    latest: SourcedCheckpoint | None
    seconds: float

    def summary(self) -> str:
        """One line for people."""
        return (
            f"log verified ({self.source}): {self.size} entries, root {self.root_hash.hex()}, "
            f"{self.checkpoints} signed checkpoints checked, {self.nodes} stored nodes "
            f"checked, in {self.seconds:.2f} s"
        )


class _Checker:
    """The incremental recomputation shared by every source."""

    def __init__(self, keys: KeyHistory, state: WitnessState | None) -> None:
        self.keys = keys
        self.state = state
        self.tree = merkle.CompactTree()
        self.checked = 0
        self.last_good = 0  # size of the last checkpoint that matched
        self.latest: SourcedCheckpoint | None = None

    def checkpoint(self, cp: SourcedCheckpoint) -> None:
        size = self.tree.size
        verifiers = self.keys.verifiers_for(cp.size)
        try:
            signed = open_signed_note(cp.note, verifiers, origin=verifiers[0].name)
        except NoteError as error:
            valid = (
                f" (the key valid at this size: {', '.join(self.keys.keys_for(cp.size))})"
                if len(self.keys.periods) > 1
                else ""
            )
            raise LogVerificationError(f"checkpoint at size {cp.size}: {error}{valid}") from None
        if signed.size != cp.size:
            raise LogVerificationError(
                f"checkpoint at size {cp.size}: its signed note is for size {signed.size}"
            )
        if signed.root_hash != cp.root_hash:
            raise LogVerificationError(
                f"checkpoint at size {cp.size}: the stated root {cp.root_hash.hex()} differs "
                f"from the signed root {signed.root_hash.hex()}"
            )
        computed = self.tree.root()
        if signed.root_hash != computed:
            since = (
                f"since the previous good checkpoint (size {self.last_good})"
                if self.last_good
                else "(no earlier checkpoint matched)"
            )
            raise LogVerificationError(
                f"checkpoint at size {size} does not match the entries: it signs root "
                f"{signed.root_hash.hex()} but entries 0..{size - 1} hash to {computed.hex()}; "
                f"{since} one of entries {self.last_good}..{size - 1} was altered"
            )
        self.checked += 1
        self.last_good = size
        self.latest = cp

    def against_state(self) -> None:
        state = self.state
        if state is not None and self.tree.size == state.size:
            if self.tree.root() != state.root_hash:
                raise LogVerificationError(
                    f"the log no longer matches the checkpoint of size {state.size} verified "
                    f"on {state.updated_at} (root {state.root_hash.hex()}, now "
                    f"{self.tree.root().hex()}): its history was rewritten"
                )


def verify_log(
    source: LogSource,
    verifier_key: str | NoteVerifier,
    *,
    state: WitnessState | None = None,
    progress: ProgressFn | None = None,
) -> VerifyReport:
    """Recompute the log from ``source`` and check it; raise LogVerificationError on failure."""
    started = time.perf_counter()
    try:
        verifier = _parse_key(verifier_key) if isinstance(verifier_key, str) else verifier_key
    except NoteError as error:
        raise LogVerificationError(f"the verifier key is malformed: {error}") from None
    try:
        head = source.head_size()
        keys = _history(source.rotations(), str(verifier))
        checker = _Checker(keys, state)
        rotations = iter(keys.rotations)
        pending_iter = source.checkpoints()
        pending = next(pending_iter, None)

        def settle() -> SourcedCheckpoint | None:
            cp = pending
            while cp is not None and cp.size <= checker.tree.size:
                if cp.size < checker.tree.size:
                    raise LogVerificationError(
                        f"checkpoint at size {cp.size} is listed out of order "
                        f"(after size {checker.last_good})"
                    )
                checker.checkpoint(cp)
                cp = next(pending_iter, None)
            return cp

        checker.against_state()
        pending = settle()
        for expected, entry in enumerate(source.entries(head)):
            if _check_entry(expected, entry, source.leaf_label) == KEY_ROTATED:
                _check_rotation(entry, next(rotations, None))
            checker.tree.append(merkle.leaf_hash(entry.payload))
            checker.against_state()
            pending = settle()
            if progress is not None and expected % PAGE_SIZE == PAGE_SIZE - 1:
                progress(expected + 1, head)
        size = checker.tree.size
        if progress is not None:
            progress(size, head)
        if pending is not None:
            later = source.head_size() if source.live else size
            if pending.size > later or not source.live:
                raise LogVerificationError(
                    f"log truncated: checkpoint at size {pending.size} but only {size} entries"
                )
        if head != size:
            raise LogVerificationError(
                f"{source.label} says the log holds {head} entries, but {size} are stored"
                + (f"; entry {size} is missing" if head > size else "")
            )
        if state is not None and state.size > size:
            raise LogVerificationError(
                f"log truncated: a checkpoint of size {state.size} was verified on "
                f"{state.updated_at}, but only {size} entries remain"
            )
        unseen = next(rotations, None)
        if unseen is not None:
            raise LogVerificationError(
                f"the key history names a rotation at entry {unseen.index}, which the log "
                "does not hold"
            )
        nodes = source.check_nodes(size)
    except RemoteLogError as error:
        raise LogVerificationError(str(error)) from None
    return VerifyReport(
        source=source.label,
        size=size,
        root_hash=checker.tree.root(),
        checkpoints=checker.checked,
        nodes=nodes,
        latest=checker.latest,
        seconds=time.perf_counter() - started,
    )


def _history(rotations: list[Rotation], pinned: str) -> KeyHistory:
    try:
        keys = build_history(rotations, pinned)
    except KeyHistoryError as error:
        raise LogVerificationError(str(error)) from None
    if keys.period_of(pinned) is None:
        raise LogVerificationError(
            f"the pinned key {pinned} is not one of the keys this log was signed with "
            f"({', '.join(p.verifier_key for p in keys.periods)})"
        )
    return keys


def _check_rotation(entry: SourcedEntry, expected: Rotation | None) -> None:
    found = rotation_of(entry.index, entry.payload)
    if found is None or expected is None or found != expected:
        raise LogVerificationError(
            f"entry {entry.index} rotates the log key, but the key history "
            + ("lists no such rotation" if expected is None else f"lists {expected}")
        )


def _check_entry(expected: int, entry: SourcedEntry, leaf_label: str) -> str:
    """Check one entry's place, form and stated leaf; return its kind."""
    if entry.index > expected:
        raise LogVerificationError(
            f"entry {expected} is missing (the next stored entry is {entry.index})"
        )
    if entry.index < expected:
        raise LogVerificationError(f"entry {entry.index} is listed twice or out of order")
    try:
        decoded = decode_entry(entry.payload)
    except MalformedEntry as error:
        raise LogVerificationError(f"entry {expected} is malformed: {error}") from None
    if decoded.index != expected:
        raise LogVerificationError(
            f"entry {expected} holds the payload of entry {decoded.index}: "
            "entries were swapped, reordered or copied"
        )
    stated = leaf_label.format(index=expected)
    if entry.stated_leaf is None:
        raise LogVerificationError(f"entry {expected}: {stated} is missing")
    leaf = merkle.leaf_hash(entry.payload)
    if leaf != entry.stated_leaf:
        raise LogVerificationError(
            f"entry {expected}: its payload hashes to leaf {leaf.hex()}, but {stated} "
            f"is {entry.stated_leaf.hex()}: the entry or the node was altered"
        )
    return decoded.kind


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
        """Every stored entry joined with its level-0 node, by keyset pages."""
        after = -1
        join = and_(LogNode.level == 0, LogNode.idx == LogEntry.idx)
        while True:
            rows = self.session.execute(
                select(LogEntry.idx, LogEntry.payload, LogNode.hash)
                .outerjoin(LogNode, join)
                .where(LogEntry.idx > after)
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


def verify_database(
    database: Database,
    verifier_key: str,
    *,
    state: WitnessState | None = None,
    progress: ProgressFn | None = None,
) -> VerifyReport:
    """Verify the log stored in ``database`` within one consistent snapshot."""
    if database.is_sqlite:
        # A read transaction in WAL mode already sees one snapshot for all its queries.
        session = database.session(readonly=True)
    else:
        # One snapshot for every page: concurrent appends must not shift the view.
        session = database.sessions()
        session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", READONLY_OPTION: True}  # type: ignore[misc]
        )
    try:
        return verify_log(LocalLog(session), verifier_key, state=state, progress=progress)
    finally:
        session.rollback()
        session.close()


def verify_remote(
    remote: RemoteLog,
    verifier_key: str,
    *,
    state: WitnessState | None = None,
    progress: ProgressFn | None = None,
) -> VerifyReport:
    """Verify a remote instance's log through its public API."""
    return verify_log(RemoteSource(remote), verifier_key, state=state, progress=progress)
