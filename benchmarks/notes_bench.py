"""Benchmark of the bridging notes scorer on planted two-camp data.

Scores 10^4, 10^5 and 10^6 ratings (raters : notes : ratings = 100,000 : 50,000 :
1,000,000 at the top, DESIGN.md "Targets") and reports, per size: wall time, CPU time,
peak traced memory (tracemalloc, second run) and the process's maximum resident set,
ratings per second per core, ALS sweeps, the share of scored notes whose status matches
the planted truth, and the in-run reference: the time of one vectorised loss+gradient
pass over the same ratings, so ``ratio = scoring time / one gradient pass``.

Usage: ``.venv/bin/python benchmarks/notes_bench.py [--quick]`` (``--quick`` stops at
10^5 ratings and writes ``notes_bench.quick.json`` instead of ``notes_bench.json``).

``--ratings N`` runs one large size instead, in the compact form (int32 indices, uint8
values; notes = raters = N / 100, so 10^8 ratings have 10^6 of each): see
``notes_scale`` (benchmarks/notes_scale.py) for what it measures and why the peak is the
resident set, not tracemalloc. It writes ``notes_bench.ratings_N.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from isegoria.algorithms.bridging import DEFAULT_PARAMS, score
from isegoria.algorithms.bridging_fit import compact_objective
from isegoria.algorithms.bridging_synthetic import two_camp_ratings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notes_scale import run_scale  # noqa: E402  (a sibling script, not a package)

SIZES = ((1_000, 500, 10_000), (10_000, 5_000, 100_000), (100_000, 50_000, 1_000_000))
GRADIENT_REPEATS = 5
SEED = 20240601
RESULTS = Path(__file__).resolve().parent / "results"


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _gradient_pass_seconds(data: Any) -> float:
    """Median time of one loss+gradient evaluation over all (deduplicated) ratings."""
    ratings, _ = data.ratings.deduplicated()
    objective, _, _ = compact_objective(ratings, DEFAULT_PARAMS)
    x = objective.starting_point(seed=0, power_iterations=5)
    times = []
    for _ in range(GRADIENT_REPEATS):
        start = time.perf_counter()
        objective(x)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_size(n_raters: int, n_notes: int, n_ratings: int) -> dict[str, Any]:
    """Score one synthetic dataset and measure it."""
    data = two_camp_ratings(n_raters, n_notes, n_ratings, seed=SEED)
    gradient = _gradient_pass_seconds(data)
    cpu0, wall0 = _cpu_seconds(), time.perf_counter()
    result = score(data.ratings)
    wall, cpu = time.perf_counter() - wall0, _cpu_seconds() - cpu0
    tracemalloc.start()
    score(data.ratings)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    scored = result.rating_count >= DEFAULT_PARAMS.min_ratings_for_status
    truth = data.expected_status()
    correct = float(np.mean(result.status[scored] == truth[scored])) if scored.any() else math.nan
    confusion = {
        kind: np.bincount(result.status[scored & (data.note_kind == code)], minlength=3).tolist()
        for code, kind in enumerate(("bridging", "partisan_a", "partisan_b", "bad"))
    }
    return {
        "raters": n_raters,
        "notes": n_notes,
        "ratings": n_ratings,
        "ratings_after_filters": result.final_fit.n_ratings,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "cores_busy": cpu / wall if wall else math.nan,
        "ratings_per_second_per_core": n_ratings / cpu if cpu else math.nan,
        "peak_traced_mib": peak / 2**20,
        "gradient_pass_seconds": gradient,
        "ratio_scoring_to_gradient_pass": wall / gradient,
        "sweeps_first_fit": result.first_fit.iterations,
        "sweeps_final_fit": result.final_fit.iterations,
        "converged": bool(result.first_fit.converged and result.final_fit.converged),
        "notes_scored": int(scored.sum()),
        "share_status_correct": correct,
        "status_counts_by_kind[nmr,helpful,not_helpful]": confusion,
        "steps": [[s.name, s.ratings, s.raters, s.notes] for s in result.steps],
    }


def main() -> None:
    """Run the sizes, print a table and the growth curve, and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="stop at 10^5 ratings")
    parser.add_argument("--ratings", type=int, help="run one large size (e.g. 100000000)")
    parser.add_argument(
        "--new-share", type=float, default=0.01, help="with --ratings: the new day's share"
    )
    args = parser.parse_args()
    if args.ratings:
        report = run_scale(args.ratings, args.new_share, SEED)
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"notes_bench.ratings_{args.ratings}.json"
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")
        return
    sizes = SIZES[:2] if args.quick else SIZES
    rows = []
    print(
        f"{'ratings':>9} {'wall s':>8} {'cpu s':>8} {'rat/s/core':>11} {'peak MiB':>9} "
        f"{'grad s':>8} {'ratio':>7} {'sweeps':>9} {'correct':>8}"
    )
    for n_raters, n_notes, n_ratings in sizes:
        row = run_size(n_raters, n_notes, n_ratings)
        rows.append(row)
        print(
            f"{n_ratings:>9,} {row['wall_seconds']:>8.2f} {row['cpu_seconds']:>8.2f} "
            f"{row['ratings_per_second_per_core']:>11,.0f} {row['peak_traced_mib']:>9.1f} "
            f"{row['gradient_pass_seconds']:>8.4f} {row['ratio_scoring_to_gradient_pass']:>7.0f} "
            f"{row['sweeps_first_fit']:>4}+{row['sweeps_final_fit']:<4} "
            f"{row['share_status_correct']:>8.4f}",
            flush=True,
        )
    growth = [
        math.log(b["wall_seconds"] / a["wall_seconds"]) / math.log(b["ratings"] / a["ratings"])
        for a, b in zip(rows, rows[1:], strict=False)
    ]
    print("time growth exponent between sizes (1 = linear):", [round(g, 2) for g in growth])
    max_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"max resident set of the process: {max_rss_mib:.0f} MiB")
    report = {
        "benchmark": "notes_bench",
        "quick": args.quick,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "reference": "one vectorised loss+gradient pass over the same ratings",
        "sizes": rows,
        "time_growth_exponents": growth,
        "max_rss_mib": max_rss_mib,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("notes_bench.quick.json" if args.quick else "notes_bench.json")
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
