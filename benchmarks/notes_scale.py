"""Notes scoring at public-data scale: a full rescore and a warm-started daily rescore.

Used by ``notes_bench.py --ratings N``. Planted two-camp data in the compact form
(int32 indices, uint8 values), notes = raters = N / 100. "Yesterday" is the first
``1 - new_share`` of the ratings, "today" all N (a day's new ratings, some on notes and
by raters yesterday had not seen). Phases, each timed (wall and CPU) with its own peak
resident set:

1. draw the data;
2. the reference: one loss+gradient pass over today's ratings (median of 3);
3. score yesterday from scratch (its first fit is the warm start);
4. score today warm-started from yesterday's first fit;
5. score today from scratch;

then the share of notes whose status the warm and the full rescore agree on.

Memory: the peak resident set (``VmHWM`` of /proc/self/status, reset before each phase
by writing 5 to /proc/self/clear_refs) and the process's ``ru_maxrss`` over the whole
run. Resident set, not tracemalloc: tracemalloc sees numpy's buffers but not the
interpreter's or the allocator's own, and slows a 10^8 run by much.
"""

from __future__ import annotations

import math
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from isegoria.algorithms.bridging import DEFAULT_PARAMS, RatingsMatrix, ScoringResult, score
from isegoria.algorithms.bridging_fit import compact_objective
from isegoria.algorithms.bridging_synthetic import two_camp_ratings

MIB = 2**20
STATUS_FILE = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def _rss_mib(field: str) -> float:
    """A memory field of /proc/self/status in MiB (NaN where there is none)."""
    try:
        for line in STATUS_FILE.read_text(encoding="ascii").splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def _reset_peak() -> bool:
    """Reset the kernel's peak resident set (Linux >= 4.0); False where it cannot."""
    try:
        CLEAR_REFS.write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _phase(name: str, rows: list[dict[str, Any]], work: Callable[[], Any]) -> Any:
    """Run ``work``, record its wall and CPU time and peak resident set, print a line."""
    reset = _reset_peak()
    before = _rss_mib("VmRSS")
    cpu0, wall0 = _cpu_seconds(), time.perf_counter()
    result = work()
    wall, cpu = time.perf_counter() - wall0, _cpu_seconds() - cpu0
    row = {
        "phase": name,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "rss_before_mib": before,
        "peak_rss_mib": _rss_mib("VmHWM") if reset else math.nan,
        "rss_after_mib": _rss_mib("VmRSS"),
    }
    rows.append(row)
    print(
        f"{name:<34} {wall:>8.1f} s wall {cpu:>8.1f} s cpu  "
        f"peak {row['peak_rss_mib']:>7.0f} MiB (from {before:.0f})",
        flush=True,
    )
    return result


def _gradient_pass(ratings: RatingsMatrix) -> float:
    """Median time of one loss+gradient pass (the in-run reference)."""
    objective, _, _ = compact_objective(ratings, DEFAULT_PARAMS)
    x = np.random.default_rng(0).normal(0.0, 0.1, objective.size)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        objective(x)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _summary(result: ScoringResult, truth: np.ndarray[Any, Any]) -> dict[str, Any]:
    scored = result.rating_count >= DEFAULT_PARAMS.min_ratings_for_status
    return {
        "sweeps_first_fit": result.first_fit.iterations,
        "sweeps_final_fit": result.final_fit.iterations,
        "converged": bool(result.first_fit.converged and result.final_fit.converged),
        "notes_scored": int(scored.sum()),
        "share_status_correct": float(np.mean(result.status[scored] == truth[scored])),
        "status_counts[nmr,helpful,not_helpful]": np.bincount(result.status, minlength=3).tolist(),
        "ratings_after_filters": result.final_fit.n_ratings,
    }


def run_scale(n_ratings: int, new_share: float, seed: int) -> dict[str, Any]:
    """Run the phases at ``n_ratings`` and return the report (module docstring)."""
    n_people = max(n_ratings // 100, 100)
    rows: list[dict[str, Any]] = []
    print(f"{n_ratings:,} ratings, {n_people:,} notes and {n_people:,} raters", flush=True)
    data = _phase(
        "draw the data",
        rows,
        lambda: two_camp_ratings(n_people, n_people, n_ratings, seed=seed, compact=True),
    )
    today = data.ratings
    cut = int(n_ratings * (1.0 - new_share))
    yesterday = RatingsMatrix(
        today.rater[:cut], today.note[:cut], today.value[:cut], today.n_raters, today.n_notes
    )
    gradient = _phase("reference: one gradient pass", rows, lambda: _gradient_pass(today))
    old = _phase("score yesterday (full)", rows, lambda: score(yesterday))
    warm_start, truth = old.first_fit, data.expected_status()
    old_summary = _summary(old, truth)
    del old
    warm = _phase("score today (warm start)", rows, lambda: score(today, warm_start=warm_start))
    warm_summary = _summary(warm, truth)
    warm_status = warm.status
    del warm
    full = _phase("score today (full)", rows, lambda: score(today))
    full_summary = _summary(full, truth)
    statused = (warm_status != 0) | (full.status != 0)
    agreement = float(np.mean(warm_status == full.status))
    agreement_statused = float(np.mean(warm_status[statused] == full.status[statused]))
    times = {row["phase"]: row["wall_seconds"] for row in rows}
    full_s, warm_s = times["score today (full)"], times["score today (warm start)"]
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"reference gradient pass {gradient:.2f} s; full rescore = {full_s / gradient:.0f} passes"
    )
    print(f"warm / full rescore time: {warm_s / full_s:.2f}")
    print(
        f"status agreement warm vs full: {agreement:.5f} of all notes, "
        f"{agreement_statused:.5f} of notes with a status in either"
    )
    print(f"max resident set of the process (ru_maxrss): {max_rss:.0f} MiB")
    return {
        "benchmark": "notes_bench",
        "mode": "scale",
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "ratings": n_ratings,
        "notes": n_people,
        "raters": n_people,
        "new_share": new_share,
        "ratings_yesterday": cut,
        "reference": "one vectorised loss+gradient pass over today's ratings",
        "gradient_pass_seconds": gradient,
        "ratio_full_rescore_to_gradient_pass": full_s / gradient,
        "ratio_warm_to_full_rescore": warm_s / full_s,
        "status_agreement_warm_vs_full": agreement,
        "status_agreement_warm_vs_full_statused_notes": agreement_statused,
        "phases": rows,
        "yesterday_full": old_summary,
        "today_warm": warm_summary,
        "today_full": full_summary,
        "memory_measure": "peak RSS per phase (VmHWM after clear_refs) and ru_maxrss",
        "max_rss_mib": max_rss,
    }
