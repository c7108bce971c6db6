"""The transparency log: append in the caller's transaction, checkpoints, proofs, verification."""

__all__ = [
    "append",
    "audit",
    "checks",
    "coalesce",
    "demo_keys",
    "entries",
    "explain",
    "keyring",
    "read",
    "remote",
    "rotation",
    "signing",
    "verify",
    "witness",
]
