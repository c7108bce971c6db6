"""Replace the log signing key: the old key signs the entry that names the new one.

The new key is written beside the old one first, the ``LogKeyRotated`` entry commits in the
unit of work's transaction, and only then does the new key take the old one's file name.
A failure before the commit leaves the old key in place and no staged file behind.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from isegoria.config import write_private_file
from isegoria.domain.events import LogKeyRotated
from isegoria.errors import Conflict, NotFound
from isegoria.log.append import LogAppender
from isegoria.log.signing import LogSigner, load_signer


class UnitOfWork(Protocol):
    """What rotation needs of the unit of work (named by shape: the log sits below it)."""

    @property
    def log(self) -> LogAppender:
        """The appender of the transaction in progress."""

    def begin(self, *, readonly: bool = False) -> AbstractContextManager[Any]:
        """Open a transaction that commits when the block ends."""


@dataclass(frozen=True)
class KeyRotation:
    """A finished rotation: the entry that records it and the retired and current keys."""

    index: int
    retired: str
    current: str

    @property
    def boundary(self) -> int:
        """The largest checkpoint size the retired key signs, the smallest the new one does."""
        return self.index + 1


def staged_path(path: Path) -> Path:
    """Where the next key waits while its rotation entry commits."""
    return path.with_name(path.name + ".next")


def rotate_signing_key(
    uow: UnitOfWork, origin: str, path: Path, *, within: Callable[[int], object] | None = None
) -> KeyRotation:
    """Rotate the key at ``path`` in one transaction of ``uow`` (which must sign with it).

    ``within`` runs in that transaction with the entry's index: what must commit with the
    rotation (the staff trail's row, written by a context this layer cannot import).
    """
    if not path.exists():
        raise NotFound("no log signing key at %(path)s: there is nothing to rotate", path=path)
    old = load_signer(origin, path)
    new_key = Ed25519PrivateKey.generate()
    new = LogSigner(origin, new_key)
    staged = staged_path(path)
    try:
        write_private_file(
            staged,
            new_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
    except FileExistsError:
        raise Conflict(
            "%(staged)s exists: an earlier rotation did not finish; remove it", staged=staged
        ) from None
    try:
        with uow.begin():
            # The retiring key signs checkpoints up to the one that ends at this entry, no later.
            uow.log.settle = True
            appended = uow.log.append(
                LogKeyRotated(previous_key=old.verifier_key, new_key=new.verifier_key)
            )
            if within is not None:
                within(appended.index)
    except BaseException:
        staged.unlink()
        raise
    # The entry is committed: from now on only the new key may sign. Replacing the file
    # destroys the old private key; its public half stays in the log's key history.
    staged.replace(path)
    return KeyRotation(appended.index, old.verifier_key, new.verifier_key)
