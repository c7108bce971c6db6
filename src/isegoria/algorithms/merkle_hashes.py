"""RFC 9162 hashing: leaf and node hashes, the Merkle tree hash of a list and of a stream."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from itertools import islice

HASH_SIZE = 32  # SHA-256 digest length (RFC 9162 §2.1.1 with SHA-256)


_LEAF_PREFIX = b"\x00"  # RFC 9162 §2.1.1: domain separation of leaves ...


_NODE_PREFIX = b"\x01"  # ... and interior nodes (second-preimage resistance)


_sha256 = hashlib.sha256


EMPTY_ROOT = _sha256(b"").digest()  # RFC 9162 §2.1.1: MTH({}) = HASH()


_CHUNK_LEVEL = 10  # entries_root hashes perfect chunks of 2^10 leaves at a time


_CHUNK = 1 << _CHUNK_LEVEL


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 leaf hash SHA-256(0x00 || data)."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash SHA-256(0x01 || left || right)."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly below n (n >= 2): RFC 9162 §2.1.1's k."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return MTH over already-hashed leaves, level by level (no recursion)."""
    level = list(leaf_hashes)
    if not level:
        return EMPTY_ROOT
    sha, prefix = _sha256, _NODE_PREFIX
    while len(level) > 1:
        # Pair neighbours; an unpaired last node moves up unchanged, which yields exactly
        # the left-balanced tree of RFC 9162 §2.1.1.
        paired = [
            sha(prefix + a + b).digest() for a, b in zip(level[::2], level[1::2], strict=False)
        ]
        if len(level) & 1:
            paired.append(level[-1])
        level = paired
    return level[0]


def entries_root(entries: Iterable[bytes]) -> bytes:
    """Return MTH of raw entries, streaming: O(chunk + log n) memory, for full verification."""
    sha, lp, np_ = _sha256, _LEAF_PREFIX, _NODE_PREFIX
    stack: list[bytes] = []  # perfect nodes, one per set bit of ``count``
    count = 0
    iterator = iter(entries)

    def carry(h: bytes, n: int) -> None:
        # Each trailing 1 bit of n (the node count at this level) is a completed sibling.
        while n & 1:
            h = sha(np_ + stack.pop() + h).digest()
            n >>= 1
        stack.append(h)

    while True:
        # Whole aligned chunks are hashed with comprehensions, the fastest loop CPython has.
        chunk = list(islice(iterator, _CHUNK))
        if len(chunk) < _CHUNK:
            break
        level = [sha(lp + e).digest() for e in chunk]
        while len(level) > 1:
            level = [
                sha(np_ + a + b).digest() for a, b in zip(level[::2], level[1::2], strict=True)
            ]
        carry(level[0], count >> _CHUNK_LEVEL)
        count += _CHUNK
    for entry in chunk:
        carry(sha(lp + entry).digest(), count)
        count += 1
    if not stack:
        return EMPTY_ROOT
    h = stack[-1]
    for left in reversed(stack[:-1]):
        h = sha(np_ + left + h).digest()
    return h
