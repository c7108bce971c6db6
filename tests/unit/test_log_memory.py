"""The process's log memory: how long a missing index has looked abandoned, and forgetting."""

from __future__ import annotations

from isegoria.log.coalesce import LogMemory


class Ticker:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_gap_ages_from_its_first_sighting_until_the_memory_is_forgotten() -> None:
    ticker = Ticker()
    memory = LogMemory(monotonic=ticker)
    assert memory.gap_free_for(7) == 0.0
    ticker.now += 1.5
    assert memory.gap_free_for(7) == 1.5
    # After a restore the index may be missing for another reason: it waits its grace again.
    memory.forget()
    ticker.now += 5.0
    assert memory.gap_free_for(7) == 0.0


def test_gaps_below_the_integrated_tree_are_dropped() -> None:
    ticker = Ticker()
    memory = LogMemory(monotonic=ticker)
    memory.gap_free_for(3)
    ticker.now += 2.0
    memory.integrated(10, ())
    assert memory.gap_free_for(3) == 0.0  # a fresh sighting: the old one was dropped
