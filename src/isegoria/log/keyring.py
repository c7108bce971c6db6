"""The history of the log's signing keys: which key may sign a checkpoint of which size.

A log starts with one Ed25519 key. ``isegoria log rotate-key`` appends a ``LogKeyRotated``
entry at some index ``i`` naming the retiring and the new key, in a transaction signed by
the retiring key: its checkpoint of size ``i + 1`` covers the entry, so the old key vouches
for the new one, and every later checkpoint (signed by the new key) commits to the entry
that names the old one. The history is therefore read from the log itself:

* key 0 (the first ``previous_key``, or the only key) signs sizes ``0 .. i₁ + 1``;
* key k signs sizes ``iₖ + 1 .. iₖ₊₁ + 1``; the current key has no upper bound.

The overlap at ``iₖ + 1`` is deliberate: that checkpoint may carry either signature. A
checkpoint outside its signer's range (a retired key that kept signing, or was stolen) is
rejected by ``verify`` and by the witness.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from isegoria.algorithms.checkpoint import NoteError, NoteVerifier, parse_verifier_key
from isegoria.domain.events import LogKeyRotated
from isegoria.log.entries import MalformedEntry, decode_entry
from isegoria.store.models import LogEntry

KEY_ROTATED = LogKeyRotated.kind


class KeyHistoryError(ValueError):
    """The rotations do not form one chain of keys (or name a malformed key)."""


@dataclass(frozen=True)
class Rotation:
    """One ``LogKeyRotated`` entry: where it is, when, and the two keys."""

    index: int
    at: str
    previous_key: str
    new_key: str

    def to_json(self) -> dict[str, Any]:
        """The JSON form the API serves."""
        return {
            "index": self.index,
            "at": self.at,
            "previous_key": self.previous_key,
            "new_key": self.new_key,
        }


@dataclass(frozen=True)
class KeyPeriod:
    """One key and the checkpoint sizes it may sign (``last_size`` None: the current key)."""

    verifier_key: str
    first_size: int
    last_size: int | None
    since: str | None  # time of the rotation that introduced it (None: the first key)
    until: str | None  # time of the rotation that retired it

    @property
    def verifier(self) -> NoteVerifier:
        """The parsed key."""
        return parse_verifier_key(self.verifier_key)

    @property
    def key_id(self) -> str:
        """The key ID in hex (signed-note §Signatures)."""
        return self.verifier.key_id.hex()

    def covers(self, size: int) -> bool:
        """Whether this key may sign a checkpoint of ``size`` entries."""
        return self.first_size <= size and (self.last_size is None or size <= self.last_size)


@dataclass(frozen=True)
class KeyHistory:
    """Every key the log has been signed with, oldest first."""

    periods: tuple[KeyPeriod, ...]
    rotations: tuple[Rotation, ...]

    def verifiers_for(self, size: int) -> list[NoteVerifier]:
        """The keys allowed to sign a checkpoint of ``size``."""
        return [p.verifier for p in self.periods if p.covers(size)]

    def keys_for(self, size: int) -> list[str]:
        """The verifier strings allowed to sign a checkpoint of ``size``."""
        return [p.verifier_key for p in self.periods if p.covers(size)]

    def period_of(self, verifier_key: str) -> KeyPeriod | None:
        """The period of one key, or None when the log never used it."""
        return next((p for p in self.periods if p.verifier_key == verifier_key), None)

    @property
    def current(self) -> KeyPeriod:
        """The key that signs new checkpoints."""
        return self.periods[-1]


def build_history(rotations: Iterable[Rotation], first_key: str) -> KeyHistory:
    """Chain the rotations into periods; ``first_key`` is used only when there are none."""
    ordered = tuple(sorted(rotations, key=lambda r: r.index))
    try:
        for r in ordered:
            parse_verifier_key(r.previous_key)
            parse_verifier_key(r.new_key)
        parse_verifier_key(first_key)
    except NoteError as error:
        raise KeyHistoryError(f"a key in the history is malformed: {error}") from None
    if not ordered:
        return KeyHistory((KeyPeriod(first_key, 0, None, None, None),), ())
    periods = []
    key, first, since = ordered[0].previous_key, 0, None
    for r in ordered:
        if r.previous_key != key:
            raise KeyHistoryError(
                f"the key rotation at entry {r.index} retires {r.previous_key}, but the key "
                f"in use then was {key}: the chain of keys is broken"
            )
        periods.append(KeyPeriod(key, first, r.index + 1, since, r.at))
        key, first, since = r.new_key, r.index + 1, r.at
    periods.append(KeyPeriod(key, first, None, since, None))
    return KeyHistory(tuple(periods), ordered)


def rotation_of(index: int, payload: bytes) -> Rotation | None:
    """The rotation an entry records, or None if it records something else."""
    try:
        entry = decode_entry(payload)
    except MalformedEntry:
        return None
    if entry.kind != KEY_ROTATED:
        return None
    return Rotation(
        index,
        entry.at,
        str(entry.facts.get("previous_key")),
        str(entry.facts.get("new_key")),
    )


def local_rotations(session: Session) -> list[Rotation]:
    """Every rotation recorded in this instance's log, oldest first."""
    rows = session.execute(
        select(LogEntry.idx, LogEntry.payload)
        .where(LogEntry.kind == KEY_ROTATED)
        .order_by(LogEntry.idx)
    ).tuples()
    found = (rotation_of(idx, payload) for idx, payload in rows)
    return [r for r in found if r is not None]


def local_history(session: Session, current_key: str) -> KeyHistory:
    """This instance's key history (``current_key`` when the key was never rotated)."""
    return build_history(local_rotations(session), current_key)
