"""The public randomness of the jury lottery: a SHA-256 counter-mode stream.

Specification (version 1), so that anyone can re-implement a draw from public inputs:

* ``block_i = SHA-256(b"isegoria/sortition/stream/v1" || 0x00 || purpose || 0x00 || seed
  || uint64_be(i))`` for i = 0, 1, 2, ...; ``purpose`` is an ASCII tag such as ``draw`` or
  ``replace`` (so that one seed gives independent streams for different uses). The stream
  is ``block_0 || block_1 || ...``.
* ``next_u64`` reads the next 8 bytes of the stream as a big-endian unsigned integer.
* ``randbelow(n)`` for 1 <= n <= 2**64: let ``limit = 2**64 - (2**64 mod n)``; read
  ``x = next_u64`` until ``x < limit``; return ``x mod n``. Rejecting the top partial
  interval makes every result exactly equally likely (no modulo bias).

Python's ``random`` and numpy generators are avoided on purpose: their algorithms may change
between versions, which would make yesterday's published draw unverifiable tomorrow.
"""

from __future__ import annotations

import hashlib

from isegoria.algorithms.sortition_model import SortitionError

STREAM_DOMAIN = b"isegoria/sortition/stream/v1"
# A seed shorter than this cannot carry the 128 bits of public entropy a draw must rest on.
MIN_SEED_BYTES = 16
_U64_SPAN = 1 << 64
SEED_DOMAIN = b"isegoria/sortition/seed/v1"


def derive_seed(*parts: str | bytes) -> bytes:
    """A 32-byte seed from public parts, e.g. (signed checkpoint root hash, case id, round).

    ``SHA-256(b"isegoria/sortition/seed/v1" || for each part: kind || uint64_be(len) ||
    bytes)``, where kind is ``b"s"`` for text (UTF-8) and ``b"b"`` for bytes. Length
    prefixes keep ("ab", "c") and ("a", "bc") apart.
    """
    h = hashlib.sha256(SEED_DOMAIN)
    for part in parts:
        raw = part.encode() if isinstance(part, str) else bytes(part)
        h.update(b"s" if isinstance(part, str) else b"b")
        h.update(len(raw).to_bytes(8, "big"))
        h.update(raw)
    return h.digest()


BIND_DOMAIN = b"isegoria/sortition/bind/v1"


def check_seed(seed: bytes) -> None:
    """Reject seeds that are not bytes or too short to carry enough public entropy."""
    if not isinstance(seed, bytes | bytearray) or len(seed) < MIN_SEED_BYTES:
        raise SortitionError(
            f"the seed must be at least {MIN_SEED_BYTES} bytes of public randomness "
            "(use derive_seed(checkpoint_hash, case_id))"
        )


def bind_seed(seed: bytes, *digests: bytes) -> bytes:
    """``SHA-256(b"isegoria/sortition/bind/v1" || uint64_be(len(seed)) || seed || digests)``.

    A draw's stream is keyed by the caller's seed bound to the SHA-256 digests (32 bytes
    each) of every other input, so changing any input changes the whole stream.
    """
    check_seed(seed)
    h = hashlib.sha256(BIND_DOMAIN)
    h.update(len(seed).to_bytes(8, "big"))
    h.update(bytes(seed))
    for digest in digests:
        if len(digest) != hashlib.sha256().digest_size:
            raise SortitionError("bind_seed takes SHA-256 digests")
        h.update(digest)
    return h.digest()


class RandomStream:
    """Deterministic, unbiased integers from a public seed (see the module docstring)."""

    __slots__ = ("_block", "_counter", "_offset", "_prefix")

    def __init__(self, seed: bytes, purpose: str) -> None:
        """Start the stream of ``purpose`` for ``seed`` at block 0."""
        check_seed(seed)
        if not purpose.isascii() or "\x00" in purpose:
            raise SortitionError(f"purpose must be ASCII without NUL, got {purpose!r}")
        self._prefix = hashlib.sha256(
            STREAM_DOMAIN + b"\x00" + purpose.encode() + b"\x00" + bytes(seed)
        )
        self._counter = 0
        self._block = b""
        self._offset = 0

    def next_u64(self) -> int:
        """The next 8 bytes of the stream as a big-endian unsigned integer."""
        if self._offset >= len(self._block):
            h = self._prefix.copy()
            h.update(self._counter.to_bytes(8, "big"))
            self._block = h.digest()  # 32 bytes = 4 whole u64 values, no leftovers
            self._counter += 1
            self._offset = 0
        start = self._offset
        self._offset = start + 8
        return int.from_bytes(self._block[start : start + 8], "big")

    def randbelow(self, n: int) -> int:
        """A uniformly distributed integer in [0, n), by rejection (no modulo bias)."""
        if not 1 <= n <= _U64_SPAN:
            raise SortitionError(f"randbelow needs 1 <= n <= 2**64, got {n}")
        limit = _U64_SPAN - (_U64_SPAN % n)
        while True:
            x = self.next_u64()
            if x < limit:
                return x % n
