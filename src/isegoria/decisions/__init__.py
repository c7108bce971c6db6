"""Decisions platforms apply: their rows, confirmations and webhook outbox."""

__all__ = ["delivery", "lifecycle", "outbox"]
