"""What an adapter has applied: the memory behind idempotent, undoable platform actions.

Platform state alone makes most actions idempotent (a suspended account stays suspended),
but not all: a message sent twice is two messages, and undoing a note needs the note's id.
The ledger remembers each decision's ``AppliedResult``. ``MemoryLedger`` keeps it in memory;
the caller may pass any object with the same methods (a table in isegoria's database).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from isegoria.integrations.matrix_mapping import AppliedResult

__all__ = ["AppliedLedger", "MemoryLedger"]


class AppliedLedger(Protocol):
    """Storage for applied decisions, keyed by decision id."""

    def get(self, decision_id: int) -> AppliedResult | None:
        """The result of a decision applied successfully before, if any."""
        ...

    def put(self, result: AppliedResult) -> None:
        """Remember a successful result."""
        ...

    def expiring(self, now: datetime) -> list[AppliedResult]:
        """Results of timed measures whose end has passed and which were not lifted yet."""
        ...

    def mark_lifted(self, decision_id: int) -> None:
        """Record that a timed measure was lifted (by expiry or by a later decision)."""
        ...


class MemoryLedger:
    """An in-memory ledger (tests, one-shot runs)."""

    def __init__(self) -> None:
        self._results: dict[int, AppliedResult] = {}
        self._lifted: set[int] = set()

    def get(self, decision_id: int) -> AppliedResult | None:
        """The result of a decision applied successfully before, if any."""
        return self._results.get(decision_id)

    def put(self, result: AppliedResult) -> None:
        """Remember a successful result."""
        self._results[result.decision_id] = result

    def expiring(self, now: datetime) -> list[AppliedResult]:
        """Timed measures past their end, not lifted yet, oldest first."""
        due = [
            r
            for r in self._results.values()
            if r.ends_at is not None and r.ends_at <= now and r.decision_id not in self._lifted
        ]
        return sorted(due, key=lambda r: (r.ends_at or now, r.decision_id))

    def mark_lifted(self, decision_id: int) -> None:
        """Record that a timed measure was lifted."""
        self._lifted.add(decision_id)
