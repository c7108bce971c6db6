"""RFC 9162 Merkle tree hashing, proofs and an append-only storage scheme (SHA-256).

Hashing (RFC 9162 §2.1.1): ``leaf_hash(d) = SHA-256(0x00 || d)``,
``node_hash(l, r) = SHA-256(0x01 || l || r)``, and the empty tree hashes to
``EMPTY_ROOT = SHA-256("")``. MTH(D[n]) splits at k, the largest power of two below n.

Storage scheme. The tree is kept as *perfect aligned subtrees*: node ``(level, i)`` is
MTH(D[i·2^level : (i+1)·2^level]); level 0 holds the leaf hashes. Once written a node never
changes, so a store may persist each node as it is completed:

* ``CompactTree`` (the frontier) holds one node per set bit of the size. ``append(leaf)``
  returns every node it completes (amortised two hashes per leaf, at most log2(n)+1 nodes);
  ``root()`` folds the frontier in O(log n); ``CompactTree.from_perfect(size, perfect)``
  rebuilds it after a restart from the nodes ``perfect_subtrees(0, size)``.
* Every range a root or a proof needs is *left-aligned* (its start is a multiple of the
  largest power of two not above its length). ``perfect_subtrees(start, end)`` splits any
  range into O(log n) maximal perfect nodes, left to right; ``range_hash`` combines them
  right to left, which is how the RFC's split at k nests (not a left fold).

Proofs. ``inclusion_proof_ranges(index, size)`` and ``consistency_proof_ranges(size1, size2)``
list the ranges whose MTH form the proof of RFC 9162 §2.1.3.1 / §2.1.4.1, in proof order.
A database-backed caller fetches ``nodes_needed(ranges)`` in one query, then calls
``range_hash(start, end, lookup)`` per range; ``inclusion_proof`` / ``consistency_proof`` do
the same through a ``subtree(start, end)`` callback. ``verify_inclusion`` and
``verify_consistency`` implement §2.1.3.2 / §2.1.4.2 and return False, never raise, on any
malformed argument; size1 = 0 (with root1 = EMPTY_ROOT) and size1 = size2 (equal roots) are
consistent with an empty proof.

Other helpers: ``root(leaf_hashes)`` (iterative MTH); ``entries_root(entries)``, the MTH
of raw entries streamed in chunks of 1024 (O(log n) memory beyond a chunk), for full log
verification; and ``MerkleTree``, an in-memory store of every perfect node (tests, benchmarks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from isegoria.algorithms.merkle_hashes import (
    _NODE_PREFIX,
    EMPTY_ROOT,
    HASH_SIZE,
    _sha256,
    _split,
    entries_root,
    leaf_hash,
    node_hash,
    root,
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactTree",
    "MerkleTree",
    "consistency_proof",
    "consistency_proof_ranges",
    "entries_root",
    "inclusion_proof",
    "inclusion_proof_ranges",
    "leaf_hash",
    "node_hash",
    "nodes_needed",
    "perfect_subtrees",
    "range_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]


PerfectLookup = Callable[[int, int], bytes]  # perfect(level, index) -> node hash
SubtreeLookup = Callable[[int, int], bytes]  # subtree(start, end) -> MTH(D[start:end])


def _check_range(start: int, end: int) -> None:
    if not 0 <= start <= end:
        raise ValueError(f"invalid range [{start}, {end}): need 0 <= start <= end")


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Split [start, end) into maximal perfect aligned nodes (level, index), left to right."""
    _check_range(start, end)
    nodes: list[tuple[int, int]] = []
    while start < end:
        # The node is bounded by start's alignment (its lowest set bit) and by the length.
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def range_hash(start: int, end: int, perfect: PerfectLookup) -> bytes:
    """Return MTH(D[start:end]) of a left-aligned range from its perfect nodes."""
    _check_range(start, end)
    if start == end:
        return EMPTY_ROOT
    if start % (1 << ((end - start).bit_length() - 1)):
        raise ValueError(
            f"range [{start}, {end}) is not left-aligned: RFC 9162 proofs and roots only use "
            "ranges whose start is a multiple of the largest power of two <= their length"
        )
    nodes = perfect_subtrees(start, end)
    # MTH splits off the largest power of two first, so the rightmost parts nest deepest.
    h = perfect(*nodes[-1])
    for level, index in reversed(nodes[:-1]):
        h = node_hash(perfect(level, index), h)
    return h


def nodes_needed(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Return the distinct perfect nodes that ``range_hash`` reads for all the ranges."""
    needed: dict[tuple[int, int], None] = {}
    for start, end in ranges:
        needed.update(dict.fromkeys(perfect_subtrees(start, end)))
    return list(needed)


def inclusion_proof_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Return the ranges of PATH(index, D[size]) (RFC 9162 §2.1.3.1), leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        mid = start + _split(end - start)
        if index < mid:  # PATH(m, D[0:k]) : MTH(D[k:n])
            ranges.append((mid, end))
            end = mid
        else:  # PATH(m - k, D[k:n]) : MTH(D[0:k])
            ranges.append((start, mid))
            start = mid
    ranges.reverse()  # the recursion emits the deepest sibling first
    return ranges


def consistency_proof_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """Return the ranges of PROOF(size1, D[size2]) (RFC 9162 §2.1.4.1), in proof order."""
    if not 0 <= size1 <= size2:
        raise ValueError(f"invalid tree sizes {size1} -> {size2}: need 0 <= size1 <= size2")
    if size1 in (0, size2):
        return []  # nothing to prove: the empty tree, or the same tree
    ranges: list[tuple[int, int]] = []
    start, end, m, known = 0, size2, size1, True
    while True:
        n = end - start
        if m == n:
            # SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}
            if not known:
                ranges.append((start, end))
            break
        k = _split(n)
        if m <= k:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            ranges.append((start + k, end))
            end = start + k
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            ranges.append((start, start + k))
            start, m, known = start + k, m - k, False
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, size: int, subtree: SubtreeLookup) -> list[bytes]:
    """Return the RFC 9162 §2.1.3.1 inclusion proof of leaf ``index`` in a tree of ``size``."""
    return [subtree(start, end) for start, end in inclusion_proof_ranges(index, size)]


def consistency_proof(size1: int, size2: int, subtree: SubtreeLookup) -> list[bytes]:
    """Return the RFC 9162 §2.1.4.1 consistency proof between tree sizes size1 <= size2."""
    return [subtree(start, end) for start, end in consistency_proof_ranges(size1, size2)]


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_path(proof: object) -> bool:
    return (
        isinstance(proof, Sequence)
        and not isinstance(proof, str | bytes | bytearray)
        and len(proof) <= 2 * 64  # no honest proof is longer than ~2·log2(2^64)
        and all(_is_hash(p) for p in proof)
    )


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """Check an inclusion proof per RFC 9162 §2.1.3.2; False on any malformed input."""
    if not (_is_size(index) and _is_size(size) and index < size):
        return False  # step 1: leaf_index must be < tree_size
    if not (_is_hash(leaf_hash) and _is_hash(root) and _is_path(proof)):
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False  # proof longer than the path to the root
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # Skip levels where the node is the right edge with no sibling.
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> bool:
    """Check a consistency proof per RFC 9162 §2.1.4.2; False on any malformed input."""
    if not (_is_size(size1) and _is_size(size2) and size1 <= size2):
        return False
    if not (_is_hash(root1) and _is_hash(root2) and _is_path(proof)):
        return False
    if size1 == 0:  # every tree extends the empty tree; the proof is empty
        return not proof and root1 == EMPTY_ROOT and (size2 > 0 or root2 == EMPTY_ROOT)
    if size1 == size2:
        return not proof and root1 == root2
    if not proof:
        return False  # step 1
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)  # step 2: the old tree is a perfect node the proof omits
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root1 and sr == root2


class CompactTree:
    """The frontier of an append-only tree: one perfect node per set bit of its size."""

    __slots__ = ("_size", "_stack")

    def __init__(self, size: int = 0, frontier: Sequence[bytes] = ()) -> None:
        """Start from ``size`` and the hashes of ``perfect_subtrees(0, size)``, in order."""
        if not _is_size(size):
            raise ValueError(f"tree size must be a non-negative integer, got {size!r}")
        if len(frontier) != size.bit_count():
            raise ValueError(
                f"a tree of size {size} has {size.bit_count()} frontier nodes, got {len(frontier)}"
            )
        if not all(_is_hash(h) for h in frontier):
            raise ValueError(f"frontier hashes must be {HASH_SIZE}-byte values")
        self._size = size
        self._stack = list(frontier)

    @classmethod
    def from_perfect(cls, size: int, perfect: PerfectLookup) -> CompactTree:
        """Rebuild the frontier of [0, size) from stored perfect nodes (after a restart)."""
        return cls(size, [perfect(level, i) for level, i in perfect_subtrees(0, size)])

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def frontier(self) -> list[tuple[int, int, bytes]]:
        """The frontier nodes as (level, index, hash), left to right."""
        nodes = perfect_subtrees(0, self._size)
        return [(lvl, i, h) for (lvl, i), h in zip(nodes, self._stack, strict=True)]

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return every perfect node it completes, level 0 first."""
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf_hash)}")
        stack = self._stack
        index = self._size
        completed = [(0, index, leaf_hash)]
        h, level = leaf_hash, 0
        while index & 1:  # the left sibling at this level is complete: merge it
            h = _sha256(_NODE_PREFIX + stack.pop() + h).digest()
            level += 1
            index >>= 1
            completed.append((level, index, h))
        stack.append(h)
        self._size += 1
        return completed

    def root(self) -> bytes:
        """Return MTH of all leaves, folding the frontier right to left in O(log n)."""
        stack = self._stack
        if not stack:
            return EMPTY_ROOT
        h = stack[-1]
        for left in reversed(stack[:-1]):
            h = node_hash(left, h)
        return h


class MerkleTree:
    """An in-memory log keeping every perfect node: roots and proofs for any past size."""

    __slots__ = ("_compact", "_levels")

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        """Create a tree, optionally appending ``leaf_hashes``."""
        self._compact = CompactTree()
        # levels[L] concatenates the hashes of nodes (L, 0), (L, 1), ...: compact in memory.
        self._levels: list[bytearray] = [bytearray()]
        for h in leaf_hashes:
            self.append(h)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return self._compact.size

    def append(self, leaf_hash: bytes) -> int:
        """Append a leaf hash, storing the nodes it completes; return the leaf's index."""
        levels = self._levels
        for level, _index, h in self._compact.append(leaf_hash):
            if level == len(levels):
                levels.append(bytearray())
            levels[level] += h
        return self._compact.size - 1

    def perfect(self, level: int, index: int) -> bytes:
        """Return the stored hash of perfect node (level, index)."""
        if level < 0 or level >= len(self._levels) or not 0 <= index < (self.size >> level):
            raise KeyError(f"no perfect node ({level}, {index}) in a tree of size {self.size}")
        offset = index * HASH_SIZE
        return bytes(self._levels[level][offset : offset + HASH_SIZE])

    def _size_arg(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size} is outside [0, {self.size}]")
        return size

    def subtree(self, start: int, end: int) -> bytes:
        """Return MTH(D[start:end]) of a left-aligned range from stored nodes."""
        self._size_arg(end)
        return range_hash(start, end, self.perfect)

    def root(self, size: int | None = None) -> bytes:
        """Return the root of the first ``size`` leaves (default: all)."""
        size = self._size_arg(size)
        if size == self.size:
            return self._compact.root()
        return range_hash(0, size, self.perfect)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Return the inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
        return inclusion_proof(index, self._size_arg(size), self.subtree)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """Return the consistency proof from tree size ``size1`` to ``size2``."""
        return consistency_proof(size1, self._size_arg(size2), self.subtree)

    def compact(self, size: int | None = None) -> CompactTree:
        """Return the frontier of the first ``size`` leaves, rebuilt from stored nodes."""
        return CompactTree.from_perfect(self._size_arg(size), self.perfect)
