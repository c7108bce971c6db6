"""C2SP signed notes with Ed25519, and C2SP tlog-checkpoint tree heads.

Signed note (c2sp.org/signed-note): UTF-8 text ending in a newline, a blank line, then one
or more lines ``"— <key name> <base64(4-byte key ID || signature)>\\n"`` (U+2014 EM DASH,
space). No control character other than newline may appear. For Ed25519 the signature is
over the note text (final newline included) and the key ID is the first four bytes of
SHA-256(key name || 0x0A || 0x01 || 32-byte public key).

Keys travel as strings: a verifier key is ``<name>+<8 hex digits of key ID>+<base64(0x01 ||
public key)>`` and a signer key ``PRIVATE+KEY+<name>+<key ID>+<base64(0x01 || seed)>``
(the encodings of the Go reference implementation, golang.org/x/mod/sumdb/note).

Checkpoint (c2sp.org/tlog-checkpoint): a note whose text is the origin line, the tree size
in decimal without leading zeros, the base64 RFC 9162 root hash, then optional non-empty
extension lines. ``sign_checkpoint`` produces the full signed note; ``open_signed_note``
accepts it only if at least one signature by a known key verifies (signatures by unknown
keys are ignored, a failing signature by a known key rejects the whole note).

Errors: ``MalformedNoteError`` (the text breaks the format) and ``UnverifiedNoteError``
(no valid signature by a known key), both subclasses of ``NoteError`` (a ``ValueError``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "Checkpoint",
    "MalformedNoteError",
    "NoteError",
    "NoteVerifier",
    "UnverifiedNoteError",
    "key_id",
    "open_note",
    "open_signed_note",
    "parse_checkpoint_body",
    "parse_signer_key",
    "parse_verifier_key",
    "sign_checkpoint",
    "sign_note",
    "signer_key",
    "verifier_key",
]

SIGNATURE_PREFIX = "\u2014 "  # signed-note §Format: em dash, space
ALG_ED25519 = 0x01  # signed-note §Signature types: Ed25519
KEY_ID_SIZE = 4  # signed-note §Signatures: uint32 key ID, big-endian
ED25519_KEY_SIZE = 32  # RFC 8032 public key / seed length
ED25519_SIGNATURE_SIZE = 64  # RFC 8032 signature length
MAX_SIGNATURES = 100  # signed-note: verifiers MUST accept at least 16 (Go's limit is 100)
ROOT_HASH_SIZE = 32  # RFC 9162 with SHA-256
MAX_TREE_SIZE = 2**64 - 1  # tree sizes are uint64 throughout RFC 9162 and C2SP tlog specs
SIGNER_KEY_PREFIX = "PRIVATE+KEY+"
_TREE_SIZE_RE = re.compile(r"0|[1-9][0-9]*")  # tlog-checkpoint: no leading zeroes
_KEY_ID_RE = re.compile(r"[0-9a-fA-F]{8}")
_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f]")  # signed-note: only newline allowed
_SURROGATE_RE = re.compile("[\ud800-\udfff]")  # a str that UTF-8 cannot encode


def _bad_characters(text: str) -> str | None:
    """Say why ``text`` cannot appear in a note (signed-note §Format), or return None."""
    if _CONTROL_RE.search(text):
        return "contains a control character other than newline"
    if _SURROGATE_RE.search(text):
        return "is not valid UTF-8 (it contains a lone surrogate)"
    return None


class NoteError(ValueError):
    """A signed note, checkpoint or key string was rejected."""


class MalformedNoteError(NoteError):
    """The text does not follow the C2SP signed-note / tlog-checkpoint / key format."""


class UnverifiedNoteError(NoteError):
    """The note carries no valid signature by a trusted key."""


def _check_key_name(name: str) -> None:
    # signed-note §Format: non-empty, no Unicode spaces, no '+'.
    if not isinstance(name, str) or not name:
        raise MalformedNoteError("key name must be a non-empty string")
    if "+" in name or any(ch.isspace() for ch in name) or _bad_characters(name):
        raise MalformedNoteError(
            f"key name {name!r} must not contain spaces, '+' or control characters, "
            "and must be valid UTF-8"
        )


def _b64decode(text: str, what: str) -> bytes:
    """Decode standard, padded, canonical base64 (RFC 4648 §4) or raise MalformedNoteError."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedNoteError(f"{what} is not valid base64: {text!r}") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise MalformedNoteError(f"{what} is not canonical padded base64: {text!r}")
    return raw


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public_key: bytes) -> bytes:
    """Return the 4-byte Ed25519 key ID: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    _check_key_name(name)
    material = name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key
    return hashlib.sha256(material).digest()[:KEY_ID_SIZE]


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted Ed25519 note key: its name, key ID and raw 32-byte public key."""

    name: str
    key_id: bytes
    public_key: bytes

    def __post_init__(self) -> None:
        """Check that the key ID is the one derived from the name and key."""
        if len(self.public_key) != ED25519_KEY_SIZE:
            raise MalformedNoteError(f"Ed25519 public key must be {ED25519_KEY_SIZE} bytes")
        if key_id(self.name, self.public_key) != self.key_id:
            raise MalformedNoteError(
                f"key ID {self.key_id.hex()} does not match the key of {self.name!r}"
            )

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` is this key's Ed25519 signature of ``message``."""
        if len(signature) != ED25519_SIGNATURE_SIZE:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def __str__(self) -> str:
        """Render as a verifier key string."""
        encoded = _b64(bytes([ALG_ED25519]) + self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{encoded}"


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """Return the verifier key string ``<name>+<key ID hex>+<base64(0x01 || key)>``."""
    raw = _raw_public_key(public_key)
    return str(NoteVerifier(name, key_id(name, raw), raw))


def _parse_key_parts(text: str, what: str) -> tuple[str, bytes, bytes]:
    # The name holds no '+', so the first two '+' delimit it; base64 may contain '+'.
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise MalformedNoteError(f"{what} must be <name>+<key ID>+<key>, got {text!r}")
    name, id_hex, encoded = parts
    _check_key_name(name)
    if not _KEY_ID_RE.fullmatch(id_hex):
        raise MalformedNoteError(f"{what} key ID must be 8 hex digits, got {id_hex!r}")
    raw = _b64decode(encoded, f"{what} key")
    if len(raw) != 1 + ED25519_KEY_SIZE or raw[0] != ALG_ED25519:
        raise MalformedNoteError(
            f"{what} key must be 0x01 (Ed25519) followed by {ED25519_KEY_SIZE} bytes"
        )
    return name, bytes.fromhex(id_hex), raw[1:]


def parse_verifier_key(text: str) -> NoteVerifier:
    """Parse a verifier key string, checking its key ID against its name and key."""
    name, kid, raw = _parse_key_parts(text, "verifier key")
    return NoteVerifier(name, kid, raw)


def signer_key(name: str, private_key: Ed25519PrivateKey) -> str:
    """Return the signer key string ``PRIVATE+KEY+<name>+<key ID>+<base64(0x01 || seed)>``."""
    seed = private_key.private_bytes_raw()
    kid = key_id(name, _raw_public_key(private_key.public_key()))
    return f"{SIGNER_KEY_PREFIX}{name}+{kid.hex()}+{_b64(bytes([ALG_ED25519]) + seed)}"


def parse_signer_key(text: str) -> tuple[str, Ed25519PrivateKey]:
    """Parse a signer key string into its key name and Ed25519 private key."""
    if not text.startswith(SIGNER_KEY_PREFIX):
        raise MalformedNoteError(f"signer key must start with {SIGNER_KEY_PREFIX!r}")
    name, kid, seed = _parse_key_parts(text[len(SIGNER_KEY_PREFIX) :], "signer key")
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    if key_id(name, _raw_public_key(private_key.public_key())) != kid:
        raise MalformedNoteError(f"signer key ID {kid.hex()} does not match its key")
    return name, private_key


def _check_text(text: str, what: str) -> None:
    if not isinstance(text, str):
        raise MalformedNoteError(f"{what} must be a str")
    problem = _bad_characters(text)
    if problem:
        raise MalformedNoteError(f"{what} {problem}")


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign ``text`` (ending in a newline) and return the complete signed note."""
    _check_text(text, "note text")
    if not text.endswith("\n"):
        raise MalformedNoteError("note text must end with a newline")
    kid = key_id(name, _raw_public_key(private_key.public_key()))
    signature = private_key.sign(text.encode())
    return f"{text}\n{SIGNATURE_PREFIX}{name} {_b64(kid + signature)}\n"


def _parse_signature_line(line: str) -> tuple[str, bytes, bytes]:
    if not line.startswith(SIGNATURE_PREFIX):
        raise MalformedNoteError(
            f"signature line must start with an em dash (U+2014) and a space: {line!r}"
        )
    fields = line[len(SIGNATURE_PREFIX) :].split(" ")
    if len(fields) != 2:
        raise MalformedNoteError(f"signature line must be '— <name> <base64>': {line!r}")
    name, encoded = fields
    _check_key_name(name)
    blob = _b64decode(encoded, f"signature by {name!r}")
    if len(blob) <= KEY_ID_SIZE:
        raise MalformedNoteError(f"signature by {name!r} is shorter than its key ID")
    return name, blob[:KEY_ID_SIZE], blob[KEY_ID_SIZE:]


def open_note(note: str | bytes, verifiers: Iterable[NoteVerifier | str]) -> str:
    """Verify a signed note against trusted keys and return its text."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedNoteError("signed note is not valid UTF-8") from None
    _check_text(note, "signed note")
    if not note.endswith("\n"):
        raise MalformedNoteError("signed note must end with a newline")
    # The text is separated from the signatures by the last empty line (signed-note §Format).
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("signed note has no blank line between text and signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block:
        raise MalformedNoteError("signed note has no signature lines after the blank line")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError(f"signed note has more than {MAX_SIGNATURES} signatures")
    signatures = [_parse_signature_line(line) for line in lines]

    trusted: dict[tuple[str, bytes], NoteVerifier] = {}
    for v in verifiers:
        verifier = parse_verifier_key(v) if isinstance(v, str) else v
        slot = (verifier.name, verifier.key_id)
        if slot in trusted and trusted[slot] != verifier:
            raise NoteError(f"two trusted keys share name {verifier.name!r} and key ID")
        trusted[slot] = verifier

    message = text.encode()
    verified = False
    for name, kid, signature in signatures:
        known_key = trusted.get((name, kid))
        if known_key is None:
            continue  # signed-note §Signatures: MUST ignore signatures from unknown keys
        if not known_key.verify(message, signature):
            # signed-note: a known key's failing signature SHOULD reject the whole note.
            raise UnverifiedNoteError(
                f"signature by {name}+{kid.hex()} does not verify: the note was altered "
                "or signed with another key"
            )
        verified = True
    if not verified:
        known = ", ".join(sorted(f"{n}+{k.hex()}" for n, k in trusted)) or "none"
        seen = ", ".join(f"{n}+{k.hex()}" for n, k, _ in signatures)
        raise UnverifiedNoteError(
            f"no signature by a trusted key (trusted: {known}; signed by: {seen})"
        )
    return text


@dataclass(frozen=True)
class Checkpoint:
    """A tlog-checkpoint tree head: origin, tree size, root hash, extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Validate every field against c2sp.org/tlog-checkpoint §Note text."""
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for what, line in [("origin", self.origin)] + [
            ("extension line", ext) for ext in self.extensions
        ]:
            if not isinstance(line, str) or not line:
                raise ValueError(f"checkpoint {what} must be a non-empty string")
            problem = "contains a newline" if "\n" in line else _bad_characters(line)
            if problem:
                raise ValueError(f"checkpoint {what} {line!r} {problem}")
        if not isinstance(self.size, int) or isinstance(self.size, bool):
            raise ValueError(f"tree size must be an integer, got {self.size!r}")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise ValueError(f"tree size {self.size} is outside [0, 2^64 - 1]")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != ROOT_HASH_SIZE:
            raise ValueError(f"root hash must be {ROOT_HASH_SIZE} bytes")

    def body(self) -> str:
        """Return the note text: origin, size, base64 root hash, extensions, each + newline."""
        lines = [self.origin, str(self.size), _b64(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Parse checkpoint note text strictly; raise MalformedNoteError saying what is wrong."""
    _check_text(text, "checkpoint")
    if not text.endswith("\n"):
        raise MalformedNoteError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedNoteError(
            f"checkpoint has {len(lines)} line(s); it needs origin, tree size and root hash"
        )
    for number, line in enumerate(lines, start=1):
        if not line:
            raise MalformedNoteError(f"checkpoint line {number} is empty")
    origin, size_text, root_text, *extensions = lines
    if not _TREE_SIZE_RE.fullmatch(size_text):
        raise MalformedNoteError(
            f"tree size {size_text!r} is not a decimal number without leading zeros"
        )
    size = int(size_text)
    if size > MAX_TREE_SIZE:
        raise MalformedNoteError(f"tree size {size_text} exceeds 2^64 - 1")
    root_hash = _b64decode(root_text, "root hash")
    if len(root_hash) != ROOT_HASH_SIZE:
        raise MalformedNoteError(
            f"root hash is {len(root_hash)} bytes; a SHA-256 root is {ROOT_HASH_SIZE}"
        )
    try:
        return Checkpoint(origin, size, root_hash, tuple(extensions))
    except ValueError as exc:
        raise MalformedNoteError(str(exc)) from None


def sign_checkpoint(checkpoint: Checkpoint, name: str, private_key: Ed25519PrivateKey) -> str:
    """Return the checkpoint as a signed note (the key name should equal the origin)."""
    return sign_note(checkpoint.body(), name, private_key)


def open_signed_note(
    note_text: str | bytes,
    verifier_keys: Iterable[NoteVerifier | str],
    *,
    origin: str | None = None,
) -> Checkpoint:
    """Verify a signed checkpoint against trusted keys and parse it; check its origin."""
    checkpoint = parse_checkpoint_body(open_note(note_text, verifier_keys))
    if origin is not None and checkpoint.origin != origin:
        raise UnverifiedNoteError(
            f"checkpoint origin {checkpoint.origin!r} is not the expected {origin!r}"
        )
    return checkpoint
