"""The proofs an auditor asks for from the page: an entry's inclusion, two sizes' consistency.

The proof comes from the stored nodes (``log.read``, RFC 9162) and is checked with the
project's own ``merkle.verify_inclusion`` and ``merkle.verify_consistency`` against a root
the auditor can trust: the one they paste (from their own witness or an earlier visit), else
the signed checkpoint of that size with its signature checked, else (no checkpoint at that
size) the root of the stored nodes, said to be unsigned. Bad input raises ``ProofInput``
with a sentence in the reader's language; nothing here writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from isegoria.algorithms import merkle
from isegoria.algorithms.checkpoint import NoteError, open_signed_note
from isegoria.i18n import gettext as _
from isegoria.log import keyring, read
from isegoria.log.explain import InclusionTrace, trace_inclusion

MAX_SIZE = 2**63 - 1  # sizes and indexes are BIGINT columns
_HEX_ROOT = re.compile(r"[0-9a-fA-F]{64}")
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only: str.isdigit() accepts "٣" and "²" too


class ProofInput(ValueError):
    """The form asked for a proof that cannot exist; the message says why."""


class RootOrigin(StrEnum):
    """Where the root a proof is checked against came from."""

    HELD = "held"  # pasted by the auditor
    SIGNED = "signed"  # a checkpoint of that size whose signature verified
    BAD_SIGNATURE = "bad_signature"  # a checkpoint of that size whose signature did not
    STORED = "stored"  # no checkpoint at that size: the stored nodes' root, unsigned


@dataclass(frozen=True)
class TrustedRoot:
    """A tree size, its root hash, and why (or whether) it can be trusted."""

    size: int
    root: bytes
    origin: RootOrigin


@dataclass(frozen=True)
class InclusionCheck:
    """An entry's inclusion proof, the root it was checked against, and the verdict."""

    index: int
    root: TrustedRoot
    proof: tuple[bytes, ...]
    trace: InclusionTrace

    @property
    def ok(self) -> bool:
        """The proof verifies, against a root that is signed or held."""
        return self.trace.ok and self.root.origin is not RootOrigin.BAD_SIGNATURE


@dataclass(frozen=True)
class ConsistencyCheck:
    """A consistency proof between two sizes, with both roots and the verdict."""

    first: TrustedRoot
    second: TrustedRoot
    proof: tuple[bytes, ...]
    verified: bool

    @property
    def ok(self) -> bool:
        """The proof verifies and neither root's checkpoint has a bad signature."""
        bad = RootOrigin.BAD_SIGNATURE
        return self.verified and bad not in (self.first.origin, self.second.origin)


def parse_count(text: str | None, field: str) -> int | None:
    """A whole number typed in the form (None when left empty)."""
    value = (text or "").strip()
    if not value:
        return None
    if not _DIGITS.fullmatch(value) or int(value) > MAX_SIZE:
        raise ProofInput(
            _("%(field)s must be a whole number from 0 up, not “%(value)s”.")
            % {"field": field, "value": value[:40]}
        )
    return int(value)


def parse_root(text: str | None) -> bytes | None:
    """A root hash the auditor holds: 64 hexadecimal digits (None when left empty)."""
    value = (text or "").strip()
    if not value:
        return None
    if not _HEX_ROOT.fullmatch(value):
        raise ProofInput(
            _("A root hash is 64 hexadecimal digits (0-9, a-f); “%(value)s” is not one.")
            % {"value": value[:80]}
        )
    return bytes.fromhex(value)


def trusted_root(session: Session, key: str, size: int, held: bytes | None) -> TrustedRoot:
    """The root of ``size``: the auditor's, else the signed checkpoint's, else the stored one."""
    if held is not None:
        return TrustedRoot(size, held, RootOrigin.HELD)
    row = read.checkpoint_at(session, size)
    if row is None:
        return TrustedRoot(size, read.root_at(session, size), RootOrigin.STORED)
    keys = keyring.local_history(session, key).keys_for(size) or [key]
    try:
        signed = open_signed_note(row.note, keys)
    except NoteError:
        return TrustedRoot(size, bytes(row.root_hash), RootOrigin.BAD_SIGNATURE)
    if signed.size != size:
        return TrustedRoot(size, signed.root_hash, RootOrigin.BAD_SIGNATURE)
    return TrustedRoot(size, signed.root_hash, RootOrigin.SIGNED)


def _tree_size(session: Session, size: int | None) -> tuple[int, int]:
    """(the size asked for, or the latest checkpoint's; the log's size), checked."""
    log_size = read.tree_size(session)
    if size is None:
        latest = read.latest_checkpoint(session)
        size = latest.size if latest is not None else log_size
    if size > log_size:
        raise ProofInput(
            _("The log holds %(size)s entries: a tree of %(asked)s entries does not exist yet.")
            % {"size": log_size, "asked": size}
        )
    return size, log_size


def check_inclusion(
    session: Session, key: str, index: int, size: int | None, held: bytes | None
) -> InclusionCheck:
    """Prove entry ``index`` is in the tree of ``size`` (default: the latest checkpoint)."""
    size, _log_size = _tree_size(session, size)
    if index >= size:
        raise ProofInput(
            _(
                "Entry %(index)s is not in a tree of %(size)s entries: "
                "the index must be below the size."
            )
            % {"index": index, "size": size}
        )
    proof = read.inclusion_proof(session, index, size)
    leaf = merkle.leaf_hash(read.entry(session, index).payload)
    root = trusted_root(session, key, size, held)
    trace = trace_inclusion(index, size, leaf, proof, root.root)
    return InclusionCheck(index, root, tuple(proof), trace)


def check_consistency(
    session: Session, key: str, first: int, second: int | None, held: bytes | None
) -> ConsistencyCheck:
    """Prove the tree of ``first`` entries is a prefix of that of ``second`` (default: latest)."""
    second, _log_size = _tree_size(session, second)
    if first > second:
        raise ProofInput(
            _("The first size (%(first)s) must not be larger than the second (%(second)s).")
            % {"first": first, "second": second}
        )
    proof = read.consistency_proof(session, first, second)
    old = trusted_root(session, key, first, held)
    new = trusted_root(session, key, second, None)
    verified = merkle.verify_consistency(first, second, old.root, new.root, proof)
    return ConsistencyCheck(old, new, tuple(proof), verified)
