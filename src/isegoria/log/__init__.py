"""The transparency log: append in the caller's transaction, checkpoints, proofs, verification."""
