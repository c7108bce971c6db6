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
from collections.abc import Callable, Iterator
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
from isegoria.log.keyring import Rotation

STATE_VERSION = 1
API_PREFIX = "/api/v1/log"
PAGE_SIZE = 1000  # the API's largest page (log.read.MAX_PAGE)
HTTP_TIMEOUT_SECONDS = 30.0


class RemoteLogError(Exception):
    """The remote instance could not be reached or answered something unusable."""


class WitnessError(Exception):
    """The new checkpoint failed a check; the message says which and why."""


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


def _hex(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise RemoteLogError(f"{what} is not a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise RemoteLogError(f"{what} is not valid hex: {value[:80]!r}") from None


class RemoteLog:
    """The public log API of one instance, read over HTTP."""

    def __init__(self, url: str, client: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        self._client = client or httpx.Client(timeout=HTTP_TIMEOUT_SECONDS)
        self._owns_client = client is None

    def close(self) -> None:
        """Close the HTTP connections this object opened."""
        if self._owns_client:
            self._client.close()

    def _get(self, path: str, params: dict[str, int] | None = None) -> httpx.Response:
        target = f"{self.url}{API_PREFIX}{path}"
        try:
            response = self._client.get(target, params=params)
        except httpx.HTTPError as error:
            raise RemoteLogError(f"cannot reach {target}: {error}") from None
        if response.status_code != httpx.codes.OK:
            detail = response.text[:300]
            try:
                detail = str(response.json().get("detail", detail))
            except (ValueError, AttributeError):
                pass
            raise RemoteLogError(f"{target} answered HTTP {response.status_code}: {detail}")
        return response

    def _json(self, path: str, params: dict[str, int] | None = None) -> dict[str, Any]:
        try:
            data = self._get(path, params).json()
        except ValueError:
            raise RemoteLogError(f"{self.url}{API_PREFIX}{path} did not answer JSON") from None
        if not isinstance(data, dict):
            raise RemoteLogError(f"{self.url}{API_PREFIX}{path} did not answer a JSON object")
        return data

    def key(self) -> tuple[str, str]:
        """The origin and verifier key the instance publishes."""
        data = self._json("/key")
        return str(data.get("origin")), str(data.get("verifier_key"))

    def rotations(self) -> list[Rotation]:
        """The key rotations the instance publishes (none from an instance that predates them)."""
        target = f"{self.url}{API_PREFIX}/keys"
        try:
            if self._client.get(target).status_code == httpx.codes.NOT_FOUND:
                return []
        except httpx.HTTPError as error:
            raise RemoteLogError(f"cannot reach {target}: {error}") from None
        rows = self._json("/keys").get("rotations")
        try:
            return [
                Rotation(int(r["index"]), str(r["at"]), str(r["previous_key"]), str(r["new_key"]))
                for r in rows or []
            ]
        except (KeyError, TypeError, ValueError):
            raise RemoteLogError(f"{self.url}: malformed key history") from None

    def checkpoint_at(self, size: int) -> tuple[int, bytes, str] | None:
        """(size, root hash, signed note) of the checkpoint of exactly ``size``, if any."""
        page = self._json("/checkpoints", {"start_size": size, "limit": 1})
        try:
            rows = page["checkpoints"]
            if not rows or int(rows[0]["size"]) != size:
                return None
            return size, _hex(rows[0]["root_hash"], "root hash"), str(rows[0]["note"])
        except (KeyError, TypeError, ValueError):
            raise RemoteLogError(f"{self.url}: malformed checkpoints page") from None

    def checkpoint_note(self) -> str:
        """The latest signed checkpoint, as text."""
        return self._get("/checkpoint").text

    def tree_size(self) -> int:
        """How many entries the instance says its log holds."""
        try:
            return int(self._json("/entries", {"start": 0, "limit": 1})["tree_size"])
        except (KeyError, TypeError, ValueError):
            raise RemoteLogError(f"{self.url}: the entries page has no tree_size") from None

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """The RFC 9162 consistency proof between two sizes, as the server gives it."""
        data = self._json("/consistency", {"first": first, "second": second})
        proof = data.get("proof")
        if not isinstance(proof, list):
            raise RemoteLogError(f"{self.url}: the consistency answer has no proof list")
        return [_hex(p, f"consistency proof hash {n}") for n, p in enumerate(proof)]

    def inclusion(self, index: int, size: int | None) -> dict[str, Any]:
        """An entry with its inclusion proof (the API's JSON, unchecked)."""
        return self._json(f"/entries/{index}", None if size is None else {"tree_size": size})

    def entries(self, stop: int) -> Iterator[tuple[int, bytes, bytes]]:
        """(index, payload bytes, the leaf hash the API states) for indexes below ``stop``."""
        start = 0
        while start < stop:
            page = self._json("/entries", {"start": start, "limit": PAGE_SIZE})
            rows = page.get("entries")
            if not isinstance(rows, list) or not rows:
                return
            for row in rows:
                try:
                    index, payload = int(row["index"]), str(row["payload"]).encode("utf-8")
                    leaf = _hex(row["leaf_hash"], f"leaf hash of entry {index}")
                except (KeyError, TypeError, ValueError):
                    raise RemoteLogError(f"{self.url}: malformed entry after {start}") from None
                if index >= stop:
                    return
                yield index, payload, leaf
            following = page.get("next_start")
            if following is None:
                return
            start = int(following)

    def checkpoints(self) -> Iterator[tuple[int, bytes, str]]:
        """(size, root hash, signed note) of every checkpoint, smallest first."""
        start: int | None = 0
        while start is not None:
            page = self._json("/checkpoints", {"start_size": start, "limit": PAGE_SIZE})
            try:
                for row in page["checkpoints"]:
                    yield int(row["size"]), _hex(row["root_hash"], "root hash"), str(row["note"])
                following = page.get("next_start")
            except (KeyError, TypeError, ValueError):
                raise RemoteLogError(f"{self.url}: malformed checkpoints page") from None
            start = None if following is None else int(following)


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
    from isegoria.log.witness_keys import check_extends, follow_rotations

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
