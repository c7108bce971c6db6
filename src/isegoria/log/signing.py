"""The instance's Ed25519 log key: created on first start, kept in the data directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from isegoria.algorithms import checkpoint
from isegoria.config import write_private_file


@dataclass(frozen=True)
class LogSigner:
    """Signs checkpoints under the log's origin name."""

    origin: str
    private_key: Ed25519PrivateKey

    @property
    def verifier_key(self) -> str:
        """The public verifier key string (name+keyid+base64) witnesses pin."""
        return checkpoint.verifier_key(self.origin, self.private_key.public_key())

    def sign(self, size: int, root_hash: bytes) -> str:
        """A signed checkpoint note for a tree of ``size`` with ``root_hash``."""
        return checkpoint.sign_checkpoint(
            checkpoint.Checkpoint(self.origin, size, root_hash), self.origin, self.private_key
        )


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """Read the PEM private key at ``path``, generating it (mode 0600) if absent."""
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            write_private_file(path, pem)
        except FileExistsError:
            pass  # another process made it first
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def load_signer(origin: str, path: Path) -> LogSigner:
    """The signer for ``origin`` with the key at ``path``."""
    return LogSigner(origin, load_or_create_key(path))
