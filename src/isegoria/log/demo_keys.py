"""Demo-only keys and the demo's simulated present, all derived from the demo's seed.

A demo world must be the same on every run and machine, entry for entry: juror pseudonyms
are keyed with the instance secret and every checkpoint root seeds the next jury lottery,
so the instance secret and the log-signing key are derived from the seed as well. These
keys are public knowledge (anyone can derive them from the seed), so they are marked as
demo keys wherever they are shown, and a marker file in the data directory records it.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from isegoria.algorithms import checkpoint
from isegoria.config import SECRET_KEY_BYTES, Settings, write_private_file

#: The demo world's present: every demo build, whatever the day, is dated as of this instant.
DEMO_PRESENT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MARKER_FILE = "demo.json"
#: How a demo key is labelled wherever it is shown.
DEMO_KEY_LABEL = "DEMO KEY, derived from a public seed: never use it for a real instance"


@dataclass(frozen=True)
class DemoMarker:
    """What the data directory records about the demo keys it holds."""

    seed: int
    present: str
    verifier_key: str
    secret_sha256: str
    #: When the world was built, by the wall clock (kept here only, never in the log).
    built_at: str = ""


def derive(seed: int, purpose: str, length: int = 32) -> bytes:
    """Key material for ``purpose``, a pure function of the seed (SHAKE-256)."""
    return hashlib.shake_256(f"isegoria-demo/{purpose}/seed={seed}".encode()).digest(length)


def rng(seed: int, purpose: str) -> random.Random:
    """A random stream for one part of the demo, a pure function of the seed and ``purpose``."""
    # A str seed is hashed with SHA-512 by random.seed: the same stream on every machine.
    return random.Random(f"isegoria-demo/{purpose}/seed={seed}")  # noqa: S311 - synthetic


def entropy(seed: int, purpose: str) -> Callable[[int], str]:
    """Random hex for a demo unit of work (ballot ids, nonces, jury keys) from the seed."""
    stream = rng(seed, f"entropy/{purpose}")
    return lambda n: stream.randbytes(n).hex()


def instance_secret(seed: int) -> bytes:
    """The demo's instance secret (keys juror pseudonyms and platform secrets)."""
    return derive(seed, "instance-secret", SECRET_KEY_BYTES)


def log_key(seed: int) -> Ed25519PrivateKey:
    """The demo's Ed25519 log-signing key."""
    return Ed25519PrivateKey.from_private_bytes(derive(seed, "log-signing-key"))


class DemoKeyConflict(Exception):
    """The data directory already holds keys that are not this seed's demo keys."""


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def install(settings: Settings, seed: int) -> DemoMarker:
    """Write the seed's demo keys where ``settings`` looks for the instance's keys.

    Keys already there are kept only if they are this seed's demo keys: a world built
    with other keys would not be the seed's world, so that is refused with
    ``DemoKeyConflict`` rather than silently producing a different log.
    """
    secret_path, signing_path = settings.secret_key_path, settings.signing_key_path
    secret_text = instance_secret(seed).hex().encode()
    key = log_key(seed)
    for path, wanted in ((secret_path, secret_text), (signing_path, _pem(key))):
        if not path.exists():
            write_private_file(path, wanted)
        elif path.read_bytes().strip() != wanted.strip():
            raise DemoKeyConflict(
                f"{path} already holds a key that is not the demo key of seed {seed}; "
                "build the demo into an empty data directory (ISEGORIA_DATA_DIR)"
            )
    marker = DemoMarker(
        seed=seed,
        present=DEMO_PRESENT.isoformat(),
        verifier_key=checkpoint.verifier_key(settings.origin, key.public_key()),
        secret_sha256=hashlib.sha256(secret_text).hexdigest(),
        built_at=datetime.now(UTC).isoformat(),
    )
    path = settings.data_dir / MARKER_FILE
    path.unlink(missing_ok=True)
    write_private_file(path, json.dumps(asdict(marker), indent=2).encode())
    return marker


def marker(data_dir: Path) -> DemoMarker | None:
    """The demo marker of ``data_dir``, if a demo world was built there."""
    try:
        return DemoMarker(**json.loads((data_dir / MARKER_FILE).read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def is_demo_key(data_dir: Path, verifier_key: str) -> int | None:
    """The demo seed if ``verifier_key`` is the demo key recorded in ``data_dir``, else None."""
    found = marker(data_dir)
    return found.seed if found is not None and found.verifier_key == verifier_key else None


class DemoClock:
    """The demo's time when it is served: its present at the build, then the real pace.

    A served demo goes on from the instant it was built for, so its open vote is still
    open and its pending juries still deciding; the offset is fixed at the build, so the
    clock never goes back across restarts.
    """

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        """The demo's current instant."""
        return datetime.now(UTC) - self.offset


def demo_clock(data_dir: Path) -> DemoClock | None:
    """The clock to serve the demo world of ``data_dir`` on, if one was built there."""
    found = marker(data_dir)
    if found is None or not found.built_at:
        return None
    built, present = datetime.fromisoformat(found.built_at), datetime.fromisoformat(found.present)
    return DemoClock(max(built - present, timedelta(0)))
