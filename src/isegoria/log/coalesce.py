"""What one process remembers about the log between integrations, and when to integrate.

Under a ``CheckpointPolicy`` (ISEGORIA_CHECKPOINT_INTERVAL_MS > 0) writers only sequence
their entries (``append.py``) and the tree is extended and signed in batches by the
process's ``CheckpointTimer`` (jobs/checkpoint_timer.py): at most every ``interval``
seconds, or sooner once a writer sees ``max_pending`` entries waiting. Without a policy
every writer integrates in its own transaction and signs a checkpoint for it, as before.

* **Frontier.** After an integration commits, the process keeps the frontier of the tree
  it wrote, keyed by the tree size. The next integration still locks and reads the head
  row; if the size is the one remembered, nobody else integrated in between, so the
  remembered frontier is the stored one and no node is read. Any other size falls back to
  reading the nodes. This assumes that only isegoria writes the log tables while the
  process runs: it is used only under a checkpoint policy (the throughput setting), and an
  operator who restores a backup restarts the app processes (docs/operations.md).
* **Gaps.** When other writers keep the sequencing lock busy, an index found without its
  writer and without a row is voided only once seen so for a grace period; the first
  sighting is remembered here (log/integrate.py).
* **Wake-up.** ``sequenced`` tells the timer when a writer left ``max_pending`` or more
  entries behind the last integrated size, so a burst waits less than an interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CheckpointPolicy:
    """Integrate and sign at most every ``interval`` seconds, or at ``max_pending`` entries."""

    interval: float
    max_pending: int

    def __post_init__(self) -> None:
        """Refuse a policy that could leave entries unsigned for ever."""
        if self.interval <= 0 or self.max_pending < 1:
            raise ValueError("a checkpoint policy needs a positive interval and max_pending")


@dataclass
class LogMemory:
    """The frontier this process last integrated, and the timer's wake-up (thread-safe)."""

    policy: CheckpointPolicy | None = None
    wake: threading.Event = field(default_factory=threading.Event, repr=False)
    monotonic: Callable[[], float] = time.monotonic  # tests pass a clock they can move
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _frontier: tuple[int, tuple[bytes, ...]] | None = None
    _gaps: dict[int, float] = field(default_factory=dict, repr=False)

    @property
    def batched(self) -> bool:
        """Whether writers leave integration to the timer (a checkpoint policy is set)."""
        return self.policy is not None

    def frontier(self, size: int) -> list[bytes] | None:
        """The remembered frontier of the tree of ``size`` entries, if it is that size."""
        if self.policy is None:  # the default: read the stored nodes every time
            return None
        with self._lock:
            if self._frontier is None or self._frontier[0] != size:
                return None
            return list(self._frontier[1])

    def integrated(self, size: int, frontier: tuple[bytes, ...]) -> None:
        """Remember the tree an integration just committed."""
        with self._lock:
            if self._frontier is None or size >= self._frontier[0]:
                self._frontier = (size, frontier)

    def integrated_size(self) -> int:
        """The tree size this process last saw integrated (0 before any)."""
        with self._lock:
            return 0 if self._frontier is None else self._frontier[0]

    def sequenced(self, last_index: int) -> None:
        """A writer committed entries up to ``last_index``: wake the timer if many wait."""
        if self.policy is not None and last_index + 1 - self.integrated_size() >= (
            self.policy.max_pending
        ):
            self.wake.set()

    def gap_free_for(self, index: int) -> float:
        """Seconds since an integration of this process first found ``index`` missing with
        no writer holding it (0 the first time); indexes below the tree are dropped."""
        now = self.monotonic()
        with self._lock:
            integrated = 0 if self._frontier is None else self._frontier[0]
            for old in [i for i in self._gaps if i < integrated]:
                del self._gaps[old]
            return now - self._gaps.setdefault(index, now)

    def forget(self) -> None:
        """Drop everything remembered (after a restore or any write outside the log code)."""
        with self._lock:
            self._frontier = None
            self._gaps.clear()
