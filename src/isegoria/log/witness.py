"""A witness: remember the last verified checkpoint of a remote log and check each new one.

Run from cron by an outside auditor (``isegoria log witness --url URL --state FILE``). Each
run fetches the instance's latest signed checkpoint, verifies its signature with the pinned
verifier key, refuses a smaller tree, and checks the RFC 9162 §2.1.4 consistency proof from
the checkpoint it holds to the new one against both *signed* roots (never against roots the
server merely reports). Only then is the state file replaced, atomically. An operator who
rewrites history and re-signs fresh checkpoints with the instance key is caught: no
consistency proof can link the old signed root to the rewritten tree.

This module also holds the HTTP client of the public log API, shared with ``verify``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from isegoria.algorithms import merkle
from isegoria.algorithms.checkpoint import (
    Checkpoint,
    NoteError,
    open_signed_note,
    parse_verifier_key,
)
from isegoria.log.remote import RemoteLog, RemoteLogError, WitnessError
from isegoria.log.witness_keys import check_extends, follow_rotations

STATE_VERSION = 1


@dataclass(frozen=True)
class WitnessState:
    """The last checkpoint verified: what a witness (or ``log verify --state``) keeps."""

    url: str | None
    verifier_key: str
    size: int
    root_hash: bytes
    note: str
    updated_at: str

    def to_json(self) -> dict[str, Any]:
        """The state as the JSON object written to the state file."""
        return {
            "version": STATE_VERSION,
            "url": self.url,
            "verifier_key": self.verifier_key,
            "size": self.size,
            "root_hash": self.root_hash.hex(),
            "note": self.note,
            "updated_at": self.updated_at,
        }


def load_state(path: Path) -> WitnessState | None:
    """Read a state file; None if it does not exist yet; WitnessError if it is damaged."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WitnessError(f"state file {path} cannot be read: {error}") from None
    try:
        if data["version"] != STATE_VERSION:
            raise WitnessError(f"state file {path} has version {data['version']!r}")
        state = WitnessState(
            url=None if data["url"] is None else str(data["url"]),
            verifier_key=str(data["verifier_key"]),
            size=int(data["size"]),
            root_hash=bytes.fromhex(data["root_hash"]),
            note=str(data["note"]),
            updated_at=str(data["updated_at"]),
        )
        parse_verifier_key(state.verifier_key)
    except (KeyError, TypeError, ValueError) as error:
        raise WitnessError(f"state file {path} is damaged: {error}") from None
    if state.size < 0 or len(state.root_hash) != merkle.HASH_SIZE:
        raise WitnessError(f"state file {path} is damaged: bad size or root hash")
    return state


def save_state(path: Path, state: WitnessState) -> None:
    """Replace the state file atomically: a crash leaves the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state.to_json(), handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)  # POSIX rename(2) is atomic within one file system
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def now_text() -> str:
    """The current UTC time as RFC 3339, for the state file."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class WitnessResult:
    """What one witness run saw."""

    url: str
    previous_size: int | None
    size: int
    root_hash: bytes

    def summary(self) -> str:
        """One line for cron mail."""
        if self.previous_size is None:
            return (
                f"{self.url}: first checkpoint recorded, size {self.size}, "
                f"root {self.root_hash.hex()}"
            )
        grown = self.size - self.previous_size
        return (
            f"{self.url}: consistent, size {self.previous_size} -> {self.size} "
            f"(+{grown}), root {self.root_hash.hex()}"
        )


def run_witness(
    url: str,
    state_path: Path,
    *,
    key: str | None = None,
    client: httpx.Client | None = None,
    warn: Callable[[str], None] = lambda message: None,
) -> WitnessResult:
    """One witness run: verify the latest checkpoint against the state file, then save it."""
    remote = RemoteLog(url, client)
    try:
        return _witness(remote, state_path, key, warn)
    except RemoteLogError as error:
        raise WitnessError(str(error)) from None
    finally:
        remote.close()


def _pinned_key(
    remote: RemoteLog, state: WitnessState | None, key: str | None, warn: Callable[[str], None]
) -> str:
    if state is not None:
        if key is not None and key != state.verifier_key:
            raise WitnessError(
                f"--key {key} differs from the key pinned in the state file "
                f"({state.verifier_key}); a key change needs a new state file, made deliberately"
            )
        return state.verifier_key
    if key is not None:
        return key
    _origin, served = remote.key()
    warn(
        f"trusting the key {served} that {remote.url} serves (trust on first use); "
        "compare it with one published elsewhere, or pass --key"
    )
    return served


def _witness(
    remote: RemoteLog, state_path: Path, key: str | None, warn: Callable[[str], None]
) -> WitnessResult:
    state = load_state(state_path)
    if state is not None and state.url is not None and state.url != remote.url:
        raise WitnessError(f"state file {state_path} watches {state.url}, not {remote.url}")
    pinned = _pinned_key(remote, state, key, warn)
    try:
        verifier = parse_verifier_key(pinned)
    except NoteError as error:
        raise WitnessError(f"verifier key is malformed: {error}") from None
    note = remote.checkpoint_note()
    try:
        new = open_signed_note(note, [verifier], origin=verifier.name)
    except NoteError as error:
        rotated = _rotated_key(remote, pinned, note, warn)
        if rotated is None:
            raise WitnessError(f"latest checkpoint of {remote.url} rejected: {error}") from None
        pinned, new = rotated

    if state is not None:
        if new.size < state.size:
            raise WitnessError(
                f"{remote.url} now shows a checkpoint of size {new.size}, smaller than the "
                f"size {state.size} already verified: the log was truncated or rolled back"
            )
        if new.size == state.size:
            if new.root_hash != state.root_hash:
                raise WitnessError(
                    f"{remote.url} signed two different roots for size {new.size}: "
                    f"{state.root_hash.hex()} (held) and {new.root_hash.hex()} (now): a fork"
                )
        else:
            proof = remote.consistency_proof(state.size, new.size)
            # RFC 9162 §2.1.4.2 against the roots we hold signed, not the server's claims.
            if not merkle.verify_consistency(
                state.size, new.size, state.root_hash, new.root_hash, proof
            ):
                raise WitnessError(
                    f"consistency proof from size {state.size} (root {state.root_hash.hex()}) "
                    f"to size {new.size} (root {new.root_hash.hex()}) does not verify: the "
                    f"tree signed at size {new.size} does not extend the one held; the "
                    "log's history was rewritten"
                )
    save_state(
        state_path,
        WitnessState(remote.url, pinned, new.size, new.root_hash, note, now_text()),
    )
    return WitnessResult(remote.url, None if state is None else state.size, new.size, new.root_hash)


def _rotated_key(
    remote: RemoteLog, pinned: str, note: str, warn: Callable[[str], None]
) -> tuple[str, Checkpoint] | None:
    """The new pinned key and checkpoint, if a chain of rotations from ``pinned`` signs it."""
    chain = follow_rotations(remote, pinned)
    if not chain:
        return None
    key = parse_verifier_key(chain[-1].new_key)
    try:
        new = open_signed_note(note, [key], origin=key.name)
    except NoteError:
        return None
    for endorsement in chain:
        check_extends(remote, endorsement, new.size, new.root_hash)
        warn(
            f"the log key was rotated at entry {endorsement.index}; now pinning "
            f"{endorsement.new_key}, vouched for by the previous key"
        )
    return chain[-1].new_key, new
