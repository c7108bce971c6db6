"""Decisions platforms apply: their rows, confirmations and webhook outbox."""
