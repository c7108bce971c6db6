"""What one process remembers about the log between transactions, to append faster.

Two costs of an append do not depend on the event: rebuilding the tree's frontier from
stored nodes (O(log n) reads per transaction) and signing a checkpoint for the new size.

* **Frontier.** After a commit the process keeps the frontier of the tree it wrote, keyed by
  the tree size. The next transaction still locks and reads the head row; if the size is
  the one remembered, nobody else appended in between (entries are append-only and the
  head moves with them in one transaction), so the remembered frontier is the stored one
  and no node is read. Any other size (another process appended) falls back to reading the
  nodes. This assumes that only isegoria writes the log tables while the process runs:
  it is used only under a checkpoint policy (the throughput setting), and an operator who
  restores a backup restarts the app processes (docs/operations.md). Someone who edits
  stored nodes behind a running process does not make it sign the edit: its next
  checkpoint is still over the history it wrote, which ``log verify`` then flags.
* **Checkpoints.** With a ``CheckpointPolicy`` a transaction signs a checkpoint only when
  the newest one this process issued is older than ``interval`` seconds or more than
  ``max_pending`` entries behind; a ``CheckpointTimer`` thread signs whatever the
  transactions left uncovered every ``interval`` seconds. So every committed entry is
  covered by a signed checkpoint within about two intervals. Without a policy every
  transaction signs its own checkpoint, as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CheckpointPolicy:
    """Sign at most every ``interval`` seconds, or when ``max_pending`` entries are unsigned."""

    interval: float
    max_pending: int

    def __post_init__(self) -> None:
        """Refuse a policy that could leave entries unsigned for ever."""
        if self.interval <= 0 or self.max_pending < 1:
            raise ValueError("a checkpoint policy needs a positive interval and max_pending")


@dataclass
class LogMemory:
    """The frontier and the latest checkpoint this process committed (thread-safe)."""

    policy: CheckpointPolicy | None = None
    monotonic: Callable[[], float] = time.monotonic  # tests pass a clock they can move
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _frontier: tuple[int, tuple[bytes, ...]] | None = None
    _signed: tuple[int, float] | None = None  # (size, monotonic time) of our newest checkpoint

    def frontier(self, size: int) -> list[bytes] | None:
        """The remembered frontier of the tree of ``size`` entries, if it is that size."""
        if self.policy is None:  # the default: read the stored nodes every time
            return None
        with self._lock:
            if self._frontier is None or self._frontier[0] != size:
                return None
            return list(self._frontier[1])

    def should_sign(self, size: int) -> bool:
        """Whether a transaction reaching ``size`` entries must sign a checkpoint itself."""
        if self.policy is None:
            return True
        with self._lock:
            if self._signed is None:
                return True
            signed_size, signed_at = self._signed
        return (
            size - signed_size >= self.policy.max_pending
            or self.monotonic() - signed_at >= self.policy.interval
        )

    def committed(self, size: int, frontier: list[bytes], *, signed: bool) -> None:
        """Remember what a transaction that just committed left behind."""
        with self._lock:
            if self._frontier is None or size >= self._frontier[0]:
                self._frontier = (size, tuple(frontier))
            if signed:
                self._signed = (size, self.monotonic())

    def signed(self, size: int) -> None:
        """Remember a checkpoint for ``size`` entries that the timer just committed."""
        with self._lock:
            if self._signed is None or size >= self._signed[0]:
                self._signed = (size, self.monotonic())

    def forget(self) -> None:
        """Drop everything remembered (after a restore or any write outside the log code)."""
        with self._lock:
            self._frontier = None
            self._signed = None
