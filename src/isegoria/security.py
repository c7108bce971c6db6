"""Secrets at rest: password hashes, API keys, session tokens, encrypted platform secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# argon2id with the library's defaults (RFC 9106 "second recommended option" family).
_hasher = PasswordHasher()
# A hash of a random password, verified when the login is unknown so that unknown and known
# logins take the same time (no account enumeration by timing).
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

API_KEY_PREFIX = "isg"
API_KEY_PREFIX_CHARS = 8  # public part, used to find the key row
API_KEY_SECRET_BYTES = 32
TOKEN_BYTES = 32


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; spends the same time when there is no hash."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A fresh random token for sessions and CSRF."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """The SHA-256 hex digest under which a high-entropy token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_key() -> tuple[str, str]:
    """A new API key as ``(prefix, full key)``; only the prefix and a digest are stored."""
    prefix = secrets.token_hex(API_KEY_PREFIX_CHARS // 2)
    return prefix, f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(API_KEY_SECRET_BYTES)}"


def split_api_key(key: str) -> str | None:
    """The prefix of a well-formed API key, or None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or len(parts[1]) != API_KEY_PREFIX_CHARS:
        return None
    return parts[1]


def same_digest(a: str, b: str) -> bool:
    """Constant-time comparison of two digests or tokens."""
    return hmac.compare_digest(a.encode(), b.encode())


class SecretBox:
    """Encrypts secrets that must be recoverable (webhook secrets) with the instance key."""

    def __init__(self, instance_secret: bytes) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"isegoria secret box v1"
        ).derive(instance_secret)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, plaintext: str) -> bytes:
        """Encrypt and authenticate ``plaintext``."""
        return self._fernet.encrypt(plaintext.encode())

    def open(self, sealed: bytes) -> str:
        """Decrypt a value sealed with the same instance secret."""
        try:
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken:
            raise ValueError("secret cannot be decrypted with this instance's key") from None
