"""Verify a whole transparency log: every entry, every stored node, every signed checkpoint.

The entries are streamed in index order (a page at a time: memory stays constant) and the
RFC 9162 tree is recomputed with a ``CompactTree``. Each entry must be the canonical JSON
its index says it is; at every checkpoint size the checkpoint's Ed25519 signature must
verify with the pinned key and its signed root must equal the recomputed root. Because every
checkpoint's root is recomputed from the same sequence of entries, all checkpoints that pass
are prefixes of one another: they are mutually consistent (RFC 9162 §2.1.4) without any
consistency proof being needed. A local database is also checked node by node, since the
proofs the API serves are built from the stored nodes (``LocalLog.check_nodes`` in
``log.verify_sources``, with the remote source).

After a key rotation (``log.keyring``) each checkpoint must be signed by the key whose
range covers its size; the pinned key must be one of the log's keys, and the rotation
entries met while streaming must be exactly those the history was built from, so a history
served by a remote instance cannot claim a rotation its log does not hold.

A truncation that also deleted the later checkpoints leaves nothing inside the log to
contradict it; an optional ``WitnessState`` (the witness's state file) remembers a checkpoint
verified earlier, which the recomputed tree must still reproduce.

``verify_instance`` verifies the local log and then, in the same snapshot, audits the tables
against it (``log.audit``); its report gives the verdict first, then the details.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session

from isegoria.algorithms import merkle
from isegoria.algorithms.checkpoint import NoteError, NoteVerifier, open_signed_note
from isegoria.algorithms.checkpoint import parse_verifier_key as _parse_key
from isegoria.log.audit import Mismatch, SeatHolder, audit_state
from isegoria.log.entries import MalformedEntry, decode_entry
from isegoria.log.keyring import (
    KEY_ROTATED,
    KeyHistory,
    KeyHistoryError,
    Rotation,
    build_history,
    rotation_of,
)
from isegoria.log.remote import RemoteLog, RemoteLogError
from isegoria.log.verify_sources import (
    PAGE_SIZE,
    LocalLog,
    LogSource,
    LogVerificationError,
    RemoteSource,
    SourcedCheckpoint,
    SourcedEntry,
)
from isegoria.log.witness import WitnessState
from isegoria.store.db import READONLY_OPTION, Database

__all__ = [
    "PAGE_SIZE",
    "InstanceReport",
    "LocalLog",
    "LogSource",
    "LogVerificationError",
    "ProgressFn",
    "RemoteSource",
    "SourcedCheckpoint",
    "SourcedEntry",
    "VerifyReport",
    "verify_database",
    "verify_instance",
    "verify_log",
    "verify_remote",
]

ProgressFn = Callable[[int, int], None]  # (entries checked, entries in the log)


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


@contextmanager
def _snapshot(database: Database) -> Iterator[Session]:
    """A read-only session that sees one consistent snapshot for all its queries."""
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
        yield session
    finally:
        session.rollback()
        session.close()


def verify_database(
    database: Database,
    verifier_key: str,
    *,
    state: WitnessState | None = None,
    progress: ProgressFn | None = None,
) -> VerifyReport:
    """Verify the log stored in ``database`` within one consistent snapshot."""
    with _snapshot(database) as session:
        return verify_log(LocalLog(session), verifier_key, state=state, progress=progress)


@dataclass(frozen=True)
class InstanceReport:
    """A verified log and what the audited tables say against it."""

    log: VerifyReport
    mismatches: tuple[Mismatch, ...]

    @property
    def ok(self) -> bool:
        """True when the tables match the entries too."""
        return not self.mismatches

    def lines(self) -> list[str]:
        """For people: the verdict first, then the details."""
        if self.ok:
            return [
                self.log.summary(),
                "state audited: every rule version, tally, jury, jury seat, ballot, verdict "
                "and decision matches its log entry",
            ]
        log = self.log
        return [
            f"log verification failed: {len(self.mismatches)} field(s) of the database no "
            "longer match the log entries that recorded them: someone edited the tables "
            "behind the log's back",
            f"the entries themselves check out ({log.source}): {log.size} entries, root "
            f"{log.root_hash.hex()}, {log.checkpoints} signed checkpoints, {log.nodes} "
            "stored nodes; trust them over the tables",
            *(f"state mismatch: {m.describe()}" for m in self.mismatches),
        ]


def verify_instance(
    database: Database,
    verifier_key: str,
    *,
    state: WitnessState | None = None,
    progress: ProgressFn | None = None,
    holder: SeatHolder | None = None,
) -> InstanceReport:
    """Verify the local log, then audit the tables against it, in one snapshot.

    Raises LogVerificationError when the log itself fails; mismatches of the tables are in
    the report. ``holder``: with the instance secret, the keyed check of jury seats.
    """
    with _snapshot(database) as session:
        report = verify_log(LocalLog(session), verifier_key, state=state, progress=progress)
        mismatches = tuple(audit_state(session, holder=holder))
    return InstanceReport(report, mismatches)


def verify_remote(
    remote: RemoteLog,
    verifier_key: str,
    *,
    state: WitnessState | None = None,
    progress: ProgressFn | None = None,
) -> VerifyReport:
    """Verify a remote instance's log through its public API."""
    return verify_log(RemoteSource(remote), verifier_key, state=state, progress=progress)
