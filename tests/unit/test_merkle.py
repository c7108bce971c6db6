"""Tests of isegoria.algorithms.merkle against hand-built trees, the RFC's recursive
definitions (re-implemented naively here) and the published RFC 6962 test vectors."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isegoria.algorithms import merkle
from isegoria.algorithms.merkle import (
    EMPTY_ROOT,
    CompactTree,
    MerkleTree,
    consistency_proof_ranges,
    entries_root,
    inclusion_proof_ranges,
    leaf_hash,
    node_hash,
    nodes_needed,
    perfect_subtrees,
    range_hash,
    root,
    verify_consistency,
    verify_inclusion,
)


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def lh(data: bytes) -> bytes:
    return sha(b"\x00" + data)


def nh(left: bytes, right: bytes) -> bytes:
    return sha(b"\x01" + left + right)


# --- naive reference: RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1 written as recursions ---------


def ref_k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return sha(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = ref_k(len(leaves))
    return nh(ref_mth(leaves[:k]), ref_mth(leaves[k:]))


def ref_path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = ref_k(n)
    if m < k:
        return ref_path(m, leaves[:k]) + [ref_mth(leaves[k:])]
    return ref_path(m - k, leaves[k:]) + [ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [ref_mth(leaves)]
    k = ref_k(n)
    if m <= k:
        return ref_subproof(m, leaves[:k], b) + [ref_mth(leaves[k:])]
    return ref_subproof(m - k, leaves[k:], False) + [ref_mth(leaves[:k])]


def ref_proof(m: int, leaves: list[bytes]) -> list[bytes]:
    return ref_subproof(m, leaves, True)


# A fixed corpus: 2048 leaves, tree built once for the whole module.
CORPUS = [lh(b"entry %d" % i) for i in range(2048)]
TREE = MerkleTree(CORPUS)
SMALL = 64


def flip_bit(data: bytes, bit: int) -> bytes:
    b = bytearray(data)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


# --- hashing primitives and hand-built trees ---------------------------------------------


def test_primitives_match_rfc_definitions() -> None:
    assert EMPTY_ROOT == bytes.fromhex(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert leaf_hash(b"abc") == sha(b"\x00abc")
    assert node_hash(b"L" * 32, b"R" * 32) == sha(b"\x01" + b"L" * 32 + b"R" * 32)
    assert leaf_hash(b"") != EMPTY_ROOT  # the leaf prefix separates an empty leaf


def test_hand_computed_small_trees() -> None:
    d = [lh(bytes([i]) * (i + 1)) for i in range(8)]
    by_hand = {
        0: sha(b""),
        1: d[0],
        2: nh(d[0], d[1]),
        3: nh(nh(d[0], d[1]), d[2]),
        4: nh(nh(d[0], d[1]), nh(d[2], d[3])),
        5: nh(nh(nh(d[0], d[1]), nh(d[2], d[3])), d[4]),
        7: nh(nh(nh(d[0], d[1]), nh(d[2], d[3])), nh(nh(d[4], d[5]), d[6])),
        8: nh(nh(nh(d[0], d[1]), nh(d[2], d[3])), nh(nh(d[4], d[5]), nh(d[6], d[7]))),
    }
    tree = MerkleTree(d)
    for size, expected in by_hand.items():
        assert root(d[:size]) == expected, size
        assert tree.root(size) == expected, size
        assert MerkleTree(d[:size]).root() == expected, size
        assert entries_root(bytes([i]) * (i + 1) for i in range(size)) == expected, size


# RFC 6962 reference vectors (certificate-transparency merkle_tree_test.cc): inputs, roots
# of every prefix, and some published inclusion and consistency proofs.
CT_INPUTS = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
             "606162636465666768696a6b6c6d6e6f"]  # fmt: skip
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
}  # fmt: skip
CT_CONSISTENCY = {
    (1, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
}  # fmt: skip


def test_published_rfc6962_vectors() -> None:
    leaves = [leaf_hash(bytes.fromhex(x)) for x in CT_INPUTS]
    tree = MerkleTree(leaves)
    for size in range(1, 9):
        assert tree.root(size).hex() == CT_ROOTS[size - 1]
    for (index, size), proof in CT_INCLUSION.items():
        assert [p.hex() for p in tree.inclusion_proof(index, size)] == proof
        assert verify_inclusion(index, size, leaves[index], tree.inclusion_proof(index, size),
                                bytes.fromhex(CT_ROOTS[size - 1]))  # fmt: skip
    for (size1, size2), proof in CT_CONSISTENCY.items():
        assert [p.hex() for p in tree.consistency_proof(size1, size2)] == proof
        assert verify_consistency(size1, size2, bytes.fromhex(CT_ROOTS[size1 - 1]),
                                  bytes.fromhex(CT_ROOTS[size2 - 1]),
                                  [bytes.fromhex(p) for p in proof])  # fmt: skip


def test_entries_root_across_chunk_boundaries() -> None:
    entries = [b"entry %d" % i for i in range(len(CORPUS))]  # CORPUS holds their leaf hashes
    for size in (0, 1, 2, 1023, 1024, 1025, 1536, 2047, 2048):
        assert entries_root(entries[:size]) == TREE.root(size) == root(CORPUS[:size])
    assert entries_root(iter(entries)) == TREE.root()  # any iterable, consumed once


# --- storage scheme ------------------------------------------------------------------------


def test_perfect_subtrees_are_aligned_maximal_and_cover_the_range() -> None:
    for start in range(0, 70):
        for end in range(start, 70):
            nodes = perfect_subtrees(start, end)
            pos = start
            for level, index in nodes:
                assert index << level == pos  # contiguous, left to right, aligned
                pos += 1 << level
            assert pos == end
            # Maximal: no two neighbours of equal level could have formed their parent.
            for (l1, i1), (l2, _) in zip(nodes, nodes[1:], strict=False):
                assert not (l1 == l2 and i1 % 2 == 0)
            assert len(nodes) <= 2 * max(1, end.bit_length())


def test_range_hash_rejects_ranges_that_are_not_left_aligned() -> None:
    with pytest.raises(ValueError, match="not left-aligned"):
        range_hash(1, 3, TREE.perfect)
    with pytest.raises(ValueError, match="invalid range"):
        range_hash(5, 3, TREE.perfect)


def test_stored_nodes_are_the_mth_of_their_leaves() -> None:
    for level in range(0, 6):
        for index in range(0, min(40, len(CORPUS) >> level)):
            span = CORPUS[index << level : (index + 1) << level]
            assert TREE.perfect(level, index) == ref_mth(span)
    with pytest.raises(KeyError):
        TREE.perfect(0, len(CORPUS))


def test_compact_tree_roots_and_completed_nodes() -> None:
    compact = CompactTree()
    assert compact.root() == EMPTY_ROOT
    seen: dict[tuple[int, int], bytes] = {}
    for i, h in enumerate(CORPUS[:300]):
        completed = compact.append(h)
        assert completed[0] == (0, i, h)
        # Exactly the nodes whose range ends at leaf i: one per trailing 1 bit of i.
        assert [(lvl, idx) for lvl, idx, _ in completed] == [
            (lvl, (i + 1 >> lvl) - 1) for lvl in range(len(completed))
        ]
        assert len(completed) == (i ^ (i + 1)).bit_length()
        for lvl, idx, node in completed:
            assert node == ref_mth(CORPUS[idx << lvl : (idx + 1) << lvl])
            seen[(lvl, idx)] = node
        assert compact.size == i + 1
        assert compact.root() == root(CORPUS[: i + 1])
        rebuilt = CompactTree.from_perfect(compact.size, lambda lvl, idx: seen[(lvl, idx)])
        assert rebuilt.root() == compact.root()
        assert rebuilt.frontier == compact.frontier


def test_rebuilt_compact_tree_continues_like_the_original() -> None:
    for size in (0, 1, 5, 64, 100, 1023):
        rebuilt = TREE.compact(size)
        original = CompactTree()
        for h in CORPUS[:size]:
            original.append(h)
        for h in CORPUS[size : size + 40]:
            assert rebuilt.append(h) == original.append(h)
        assert rebuilt.root() == original.root() == root(CORPUS[: size + 40])


def test_compact_tree_rejects_inconsistent_state() -> None:
    with pytest.raises(ValueError, match="frontier nodes"):
        CompactTree(3, [b"x" * 32])
    with pytest.raises(ValueError, match="32-byte"):
        CompactTree(1, [b"short"])
    with pytest.raises(ValueError, match="leaf hash must be 32 bytes"):
        CompactTree().append(b"short")


def test_nodes_needed_suffices_for_a_batched_proof() -> None:
    ranges = inclusion_proof_ranges(700, 1500) + consistency_proof_ranges(999, 1500)
    needed = nodes_needed(ranges)
    assert len(needed) == len(set(needed))
    fetched = {node: TREE.perfect(*node) for node in needed}
    hashes = [range_hash(s, e, lambda lvl, i: fetched[(lvl, i)]) for s, e in ranges]
    assert hashes == TREE.inclusion_proof(700, 1500) + TREE.consistency_proof(999, 1500)


# --- proofs against the reference, exhaustively for small trees ----------------------------


def test_roots_match_reference_for_every_small_size() -> None:
    for size in range(0, SMALL + 1):
        expected = ref_mth(CORPUS[:size])
        assert root(CORPUS[:size]) == expected
        assert TREE.root(size) == expected
        assert MerkleTree(CORPUS[:size]).root() == expected


def test_inclusion_proofs_match_reference_for_every_small_size_and_index() -> None:
    for size in range(1, SMALL + 1):
        leaves = CORPUS[:size]
        tree_root = ref_mth(leaves)
        for index in range(size):
            proof = TREE.inclusion_proof(index, size)
            assert proof == ref_path(index, leaves), (index, size)
            assert verify_inclusion(index, size, leaves[index], proof, tree_root)
            assert not verify_inclusion(index, size, leaves[index], proof, flip_bit(tree_root, 0))
            assert not verify_inclusion(index, size, flip_bit(leaves[index], 1), proof, tree_root)
            for j in range(len(proof)):
                bad = proof[:j] + [flip_bit(proof[j], 255)] + proof[j + 1 :]
                assert not verify_inclusion(index, size, leaves[index], bad, tree_root)
            for other in range(size):
                if other != index:
                    assert not verify_inclusion(other, size, leaves[index], proof, tree_root)


def test_consistency_proofs_match_reference_for_every_small_pair() -> None:
    for size2 in range(1, SMALL + 1):
        leaves = CORPUS[:size2]
        root2 = ref_mth(leaves)
        for size1 in range(1, size2 + 1):
            root1 = ref_mth(leaves[:size1])
            proof = TREE.consistency_proof(size1, size2)
            assert proof == (ref_proof(size1, leaves) if size1 < size2 else [])
            assert verify_consistency(size1, size2, root1, root2, proof)
            assert not verify_consistency(size1, size2, flip_bit(root1, 3), root2, proof)
            assert not verify_consistency(size1, size2, root1, flip_bit(root2, 3), proof)
            for j in range(len(proof)):
                bad = proof[:j] + [flip_bit(proof[j], 7)] + proof[j + 1 :]
                assert not verify_consistency(size1, size2, root1, root2, bad)


def test_trivial_and_malformed_arguments_are_rejected_without_raising() -> None:
    r5, r8 = TREE.root(5), TREE.root(8)
    proof = TREE.inclusion_proof(3, 8)
    assert verify_consistency(0, 8, EMPTY_ROOT, r8, [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 8, r5, r8, [])
    assert not verify_consistency(8, 5, r8, r5, [])
    assert not verify_consistency(5, 8, r5, r8, [])  # step 1: empty path
    assert not verify_consistency(8, 8, r8, r8, [r5])
    bad_args: list[tuple[object, ...]] = [
        (-1, 8, CORPUS[3], proof, r8), (3, 8, CORPUS[3][:31], proof, r8),
        (3, 8, CORPUS[3], proof, r8.hex()), (3, 8, CORPUS[3], [*proof[:2], "x"], r8),
        (3, 8, CORPUS[3], None, r8), (True, 8, CORPUS[3], proof, r8),
        (3, 8.0, CORPUS[3], proof, r8), (8, 8, CORPUS[3], proof, r8),
        (3, 8, CORPUS[3], [proof[0]] * 1000, r8),
    ]  # fmt: skip
    assert verify_inclusion(3, 8, CORPUS[3], proof, r8)  # the unbroken arguments pass
    assert verify_inclusion(3, 8, CORPUS[3], tuple(proof), r8)  # any sequence will do
    assert not verify_inclusion(3, 8, CORPUS[3], b"".join(proof), r8)  # type: ignore[arg-type]
    assert not verify_inclusion(3, 8, CORPUS[3], iter(proof), r8)  # type: ignore[arg-type]
    for args in bad_args:
        assert verify_inclusion(*args) is False  # type: ignore[arg-type]
        assert verify_consistency(*args) is False  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="outside a tree of size 8"):
        inclusion_proof_ranges(8, 8)
    with pytest.raises(ValueError, match="need 0 <= size1 <= size2"):
        consistency_proof_ranges(9, 8)
    assert merkle.consistency_proof(0, 8, TREE.subtree) == []


# --- property tests on larger random trees --------------------------------------------------

sizes = st.integers(min_value=1, max_value=len(CORPUS))


@settings(max_examples=150, deadline=None)
@given(data=st.data(), size=sizes)
def test_inclusion_property(data: st.DataObject, size: int) -> None:
    index = data.draw(st.integers(0, size - 1), label="index")
    tree_root = TREE.root(size)
    leaf = CORPUS[index]
    proof = TREE.inclusion_proof(index, size)
    assert tree_root == root(CORPUS[:size])
    assert verify_inclusion(index, size, leaf, proof, tree_root)
    if len(proof) > 0:
        j = data.draw(st.integers(0, len(proof) - 1), label="element")
        bit = data.draw(st.integers(0, 255), label="bit")
        flipped = proof[:j] + [flip_bit(proof[j], bit)] + proof[j + 1 :]
        assert not verify_inclusion(index, size, leaf, flipped, tree_root)
        assert not verify_inclusion(index, size, leaf, proof[:-1], tree_root)
        assert not verify_inclusion(index, size, leaf, proof[:j] + proof[j + 1 :], tree_root)
    assert not verify_inclusion(index, size, leaf, [*proof, proof[0] if proof else leaf],
                                tree_root)  # fmt: skip
    assert not verify_inclusion(index, size, flip_bit(leaf, 100), proof, tree_root)
    assert not verify_inclusion(index, size, leaf, proof, flip_bit(tree_root, 9))
    other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index) if size > 1
                      else st.just(index + 1), label="wrong index")  # fmt: skip
    assert not verify_inclusion(other, size, leaf, proof, tree_root)
    # A proof for one size proves inclusion in the tree of another size only if the two
    # trees share the very same path, i.e. the proofs coincide.
    if index + 1 < len(CORPUS):
        wrong = data.draw(st.integers(index + 1, len(CORPUS) - 1), label="wrong size")
        wrong += wrong >= size  # any size that can hold the leaf, except the right one
        got = verify_inclusion(index, wrong, leaf, proof, TREE.root(wrong))
        assert got == (proof == TREE.inclusion_proof(index, wrong))


@settings(max_examples=150, deadline=None)
@given(data=st.data(), size2=sizes)
def test_consistency_property(data: st.DataObject, size2: int) -> None:
    size1 = data.draw(st.integers(1, size2), label="size1")
    root1, root2 = TREE.root(size1), TREE.root(size2)
    proof = TREE.consistency_proof(size1, size2)
    assert verify_consistency(size1, size2, root1, root2, proof)
    if size2 <= 300:
        assert proof == (ref_proof(size1, CORPUS[:size2]) if size1 < size2 else [])
    if proof:
        j = data.draw(st.integers(0, len(proof) - 1), label="element")
        bit = data.draw(st.integers(0, 255), label="bit")
        flipped = proof[:j] + [flip_bit(proof[j], bit)] + proof[j + 1 :]
        assert not verify_consistency(size1, size2, root1, root2, flipped)
        assert not verify_consistency(size1, size2, root1, root2, proof[:-1])
        assert not verify_consistency(size1, size2, root1, root2, proof[1:])
    assert not verify_consistency(size1, size2, root1, root2, [*proof, root1])
    assert not verify_consistency(size1, size2, flip_bit(root1, 0), root2, proof)
    assert not verify_consistency(size1, size2, root1, flip_bit(root2, 0), proof)
    # Other sizes, with their genuine roots: accepted only if their proof is identical.
    if size2 > 1:
        wrong1 = data.draw(st.integers(1, size2 - 1), label="size1'")
        wrong1 += wrong1 >= size1
        got = verify_consistency(wrong1, size2, TREE.root(wrong1), root2, proof)
        assert got == (proof == TREE.consistency_proof(wrong1, size2))
    if size1 < len(CORPUS):
        wrong2 = data.draw(st.integers(size1, len(CORPUS) - 1), label="size2'")
        wrong2 += wrong2 >= size2
        got = verify_consistency(size1, wrong2, root1, TREE.root(wrong2), proof)
        assert got == (proof == TREE.consistency_proof(size1, wrong2))


@settings(max_examples=40, deadline=None)
@given(size=st.integers(0, 3000), split=st.integers(0, 3000))
def test_compact_tree_resumes_from_stored_nodes(size: int, split: int) -> None:
    split = min(split, size)
    leaves = [lh(b"%d" % i) for i in range(size)]
    store: dict[tuple[int, int], bytes] = {}
    first = CompactTree()
    for h in leaves[:split]:
        store.update({(lvl, i): node for lvl, i, node in first.append(h)})
    resumed = CompactTree.from_perfect(split, lambda lvl, i: store[(lvl, i)])
    for h in leaves[split:]:
        store.update({(lvl, i): node for lvl, i, node in resumed.append(h)})
    assert resumed.size == size
    assert resumed.root() == root(leaves) == entries_root(b"%d" % i for i in range(size))
    assert range_hash(0, size, lambda lvl, i: store[(lvl, i)]) == resumed.root()
