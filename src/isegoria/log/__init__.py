"""The transparency log: append in the caller's transaction, checkpoints, proofs, verification."""

__all__ = [
    "append",
    "audit",
    "checks",
    "coalesce",
    "demo_keys",
    "entries",
    "explain",
    "integrate",
    "keyring",
    "read",
    "remote",
    "rotation",
    "sequence",
    "signing",
    "verify",
    "witness",
]
