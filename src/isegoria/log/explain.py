"""An inclusion proof as steps a person can redo by hand (RFC 9162 §2.1.3.2).

``trace_inclusion`` follows the RFC's verification algorithm literally and records, at each
step, which side the proof hash sits on, the two 32-byte inputs and the SHA-256 result. It
then asks ``merkle.verify_inclusion`` for its verdict and refuses to answer if the two
disagree, so the printed trace can never claim more than the library checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from isegoria.algorithms import merkle

LEFT = "left"
RIGHT = "right"


@dataclass(frozen=True)
class ProofStep:
    """One application of SHA-256(0x01 || left || right)."""

    number: int
    fn: int
    sn: int
    sibling_side: str  # where proof[number - 1] goes: LEFT or RIGHT of the running hash
    left: bytes
    right: bytes
    result: bytes
    skipped_levels: int  # levels climbed with no sibling (a right-edge node)


@dataclass(frozen=True)
class InclusionTrace:
    """Every step of one inclusion check, and its verdict."""

    index: int
    size: int
    leaf_hash: bytes
    steps: tuple[ProofStep, ...]
    computed_root: bytes
    expected_root: bytes
    ok: bool
    problem: str | None


def trace_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: list[bytes], root: bytes
) -> InclusionTrace:
    """Run RFC 9162 §2.1.3.2 step by step; the verdict agrees with ``merkle.verify_inclusion``."""
    steps: list[ProofStep] = []
    problem: str | None = None
    r = leaf_hash
    if not 0 <= index < size:  # step 1
        problem = f"index {index} is not below the tree size {size}"
    else:
        fn, sn = index, size - 1  # step 2; step 3: r = leaf_hash
        for number, p in enumerate(proof, start=1):  # step 4
            if sn == 0:  # 4a
                problem = f"the proof has {len(proof) - number + 1} hash(es) too many"
                break
            before_fn, before_sn = fn, sn
            skipped = 0
            if fn & 1 or fn == sn:  # 4b: the proof hash is the left sibling
                left, right = p, r
                r = merkle.node_hash(p, r)
                side = LEFT
                while not fn & 1 and fn:  # a right-edge node: climb until it is a right child
                    fn >>= 1
                    sn >>= 1
                    skipped += 1
            else:  # 4b, otherwise: the proof hash is the right sibling
                left, right = r, p
                r = merkle.node_hash(r, p)
                side = RIGHT
            fn >>= 1  # 4c
            sn >>= 1
            steps.append(ProofStep(number, before_fn, before_sn, side, left, right, r, skipped))
        else:
            if sn != 0:  # step 5: the proof must reach the root exactly
                problem = "the proof is too short to reach the root"
        if problem is None and r != root:
            problem = "the computed root differs from the expected root"
    ok = problem is None
    if ok != merkle.verify_inclusion(index, size, leaf_hash, proof, root):
        raise RuntimeError(
            f"the step-by-step trace and merkle.verify_inclusion disagree for index {index}, "
            f"size {size}: this is a bug, please report it"
        )
    return InclusionTrace(index, size, leaf_hash, tuple(steps), r, root, ok, problem)


def render_proof(
    trace: InclusionTrace,
    payload: bytes,
    *,
    root_source: str,
) -> str:
    """The trace as text: the entry, its leaf hash, each step, and the verdict."""
    lines = [
        f"Entry {trace.index} in the tree of size {trace.size}",
        "",
        "payload (the exact bytes hashed; UTF-8 canonical JSON, RFC 8785):",
        f"  {payload.decode('utf-8', errors='replace')}",
        "leaf hash = SHA-256(0x00 || payload)   (RFC 9162 §2.1.1)",
        f"  = {trace.leaf_hash.hex()}",
        "",
        f"Start with fn = {trace.index} (the index) and sn = {trace.size - 1} (size - 1).",
        "At each step: if fn is odd or fn = sn, the proof hash is the LEFT input;",
        "otherwise it is the RIGHT input. Then halve fn and sn (RFC 9162 §2.1.3.2).",
    ]
    for step in trace.steps:
        reason = "fn is odd" if step.fn & 1 else ("fn = sn" if step.fn == step.sn else "fn is even")
        lines += [
            "",
            f"step {step.number}: fn = {step.fn}, sn = {step.sn}; {reason}, so "
            f"proof[{step.number - 1}] is on the {step.sibling_side.upper()}",
            f"  left   = {step.left.hex()}",
            f"  right  = {step.right.hex()}",
            f"  SHA-256(0x01 || left || right) = {step.result.hex()}",
        ]
        if step.skipped_levels:
            lines.append(
                f"  (this node was the last of its level: fn and sn are halved "
                f"{step.skipped_levels} more time(s) until fn is odd or 0)"
            )
    lines += [
        "",
        f"computed root = {trace.computed_root.hex()}",
        f"{root_source} = {trace.expected_root.hex()}",
    ]
    if trace.ok:
        lines.append(f"MATCH: entry {trace.index} is in the tree of size {trace.size}.")
    else:
        lines.append(f"NO MATCH: {trace.problem}.")
    return "\n".join(lines)
