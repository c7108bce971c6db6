"""How a witness follows a key rotation without trusting the server's word for the new key.

A witness pins one verifier key. When the latest checkpoint is signed by another key, the
witness accepts it only through the rotation entries that chain the pinned key to it: for
each, the checkpoint of size ``index + 1`` must carry the retiring key's signature, the
entry must be included in that checkpoint's tree and name both keys, and that tree must be
a prefix of the latest one (an RFC 9162 consistency proof between the two signed roots).
"""

from __future__ import annotations

from dataclasses import dataclass

from isegoria.algorithms import merkle
from isegoria.algorithms.checkpoint import NoteError, open_signed_note, parse_verifier_key
from isegoria.log.keyring import KeyHistoryError, build_history, rotation_of
from isegoria.log.remote import RemoteLog, RemoteLogError, WitnessError, _hex


@dataclass(frozen=True)
class Endorsement:
    """A checkpoint signed by a retiring key that covers the rotation to the next key."""

    index: int
    size: int
    root_hash: bytes
    new_key: str


def follow_rotations(remote: RemoteLog, pinned: str) -> list[Endorsement]:
    """The chain of endorsed rotations from ``pinned`` to the key that signs now."""
    try:
        history = build_history(remote.rotations(), pinned)
    except KeyHistoryError as error:
        raise WitnessError(f"{remote.url} serves a broken key history: {error}") from None
    if history.period_of(pinned) is None:
        raise WitnessError(f"the pinned key {pinned} is not in {remote.url}'s key history")
    chain: list[Endorsement] = []
    key = pinned
    for rotation in history.rotations:
        if rotation.previous_key != key and not chain:
            continue  # a rotation before the pinned key's time
        chain.append(_endorsed(remote, key, rotation.index, rotation.new_key))
        key = rotation.new_key
    return chain


def _endorsed(remote: RemoteLog, key: str, index: int, new_key: str) -> Endorsement:
    size = index + 1
    found = remote.checkpoint_at(size)
    if found is None:
        raise WitnessError(
            f"{remote.url} has no checkpoint of size {size} to vouch for the key rotation "
            f"at entry {index}"
        )
    verifier = parse_verifier_key(key)
    try:
        signed = open_signed_note(found[2], [verifier], origin=verifier.name)
    except NoteError as error:
        raise WitnessError(
            f"the checkpoint of size {size} covering the key rotation at entry {index} is not "
            f"signed by the retiring key {key}: {error}"
        ) from None
    data = remote.inclusion(index, size)
    try:
        payload = str(data["entry"]["payload"]).encode("utf-8")
        proof = [_hex(h, "inclusion proof hash") for h in data["proof"]]
    except (KeyError, TypeError):
        raise RemoteLogError(f"{remote.url}: malformed inclusion proof answer") from None
    rotation = rotation_of(index, payload)
    if rotation is None or (rotation.previous_key, rotation.new_key) != (key, new_key):
        raise WitnessError(f"entry {index} of {remote.url} is not the rotation to {new_key}")
    leaf = merkle.leaf_hash(payload)
    if not merkle.verify_inclusion(index, size, leaf, proof, signed.root_hash):
        raise WitnessError(
            f"the key rotation at entry {index} is not included in the signed checkpoint of "
            f"size {size}"
        )
    return Endorsement(index, size, signed.root_hash, new_key)


def check_extends(remote: RemoteLog, endorsement: Endorsement, size: int, root: bytes) -> None:
    """The endorsing checkpoint's tree must be a prefix of the tree signed at ``size``."""
    proof = remote.consistency_proof(endorsement.size, size) if endorsement.size < size else []
    if not merkle.verify_consistency(endorsement.size, size, endorsement.root_hash, root, proof):
        raise WitnessError(
            f"the checkpoint of size {size} does not extend the one of size "
            f"{endorsement.size} that vouched for its key: the history was rewritten"
        )
