"""Benchmark of the stratified jury lottery (issue 5; DESIGN.md "Targets: sortition").

(a) 1,000,000 eligible citizens over 5 regions x 4 age bands x 3 leanings, volunteering at
    skewed rates, jury of 12: pool indexing and portfolio preparation time, then the time
    per verifiable draw (median and p99), against the 50 ms target and against a plain
    unstratified, non-verifiable ``random.sample`` measured in the same run.
(b) small self-selected pools (200-2,000 volunteers): the minimum and maximum individual
    selection probability of the prepared lottery (exact) next to "uniform within quotas by
    rejection" (draw 12 volunteers uniformly, reject juries breaking a quota; probabilities
    estimated by simulation with a fixed seed, see ``rejection_probabilities``).
(c) preparation time against the number of distinct strata profiles (50, 150, 300: 25
    regions x 4 age bands x 6 leanings, about 5 volunteers a profile), CPU and wall seconds
    (issue 16: 300 profiles in under 2 s).
(d) issue 16: the smallest chance among the volunteers who can be seated, on the 25-volunteer
    pool with one unseatable volunteer and on a self-selected pool of 300 with three, next to
    the same pools without them.

Usage: .venv/bin/python benchmarks/sortition_bench.py [--quick]
Writes benchmarks/results/sortition_bench.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import statistics
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from isegoria.algorithms.sortition import (
    LEXIMIN,
    MAXIMIN,
    MAXIMIN_MINIMAX,
    JuryPool,
    Profile,
    Quotas,
    SeatRange,
    derive_seed,
    draw_jury,
    prepare_portfolio,
    quotas_from_shares,
    selection_report,
)

REJECTION_BATCH = 100_000
TARGET_SECONDS = 0.050  # DESIGN.md: a stratified jury of 12 from 1,000,000 in under 50 ms
JURY_SIZE = 12
STRATA = ("region", "age", "leaning")
# Shares of the whole citizenry (what the quotas follow).
SHARES: dict[str, dict[str, float]] = {
    "region": {"north": 0.30, "south": 0.25, "east": 0.20, "west": 0.15, "islands": 0.10},
    "age": {"18-29": 0.20, "30-44": 0.27, "45-64": 0.33, "65+": 0.20},
    "leaning": {"left": 0.35, "centre": 0.40, "right": 0.25},
}
# Relative propensity to volunteer: volunteers are NOT proportional to the citizenry.
PROPENSITY: dict[str, dict[str, float]] = {
    "region": {"north": 1.6, "south": 0.7, "east": 1.0, "west": 1.3, "islands": 0.4},
    "age": {"18-29": 1.8, "30-44": 1.2, "45-64": 0.8, "65+": 0.5},
    "leaning": {"left": 1.5, "centre": 0.7, "right": 1.0},
}
PROFILES: list[Profile] = list(itertools.product(*(SHARES[s] for s in STRATA)))


def volunteer_weights() -> np.ndarray:
    """Share of each profile among volunteers (citizen share x propensity, normalised)."""
    w = np.array(
        [
            np.prod([SHARES[s][v] * PROPENSITY[s][v] for s, v in zip(STRATA, p, strict=True)])
            for p in PROFILES
        ]
    )
    return w / w.sum()


def build_members(counts: np.ndarray) -> dict[Profile, list[str]]:
    """Ordered ids per profile (ids are sequential, as a registry might list them)."""
    members: dict[Profile, list[str]] = {}
    start = 0
    for profile, count in zip(PROFILES, counts.tolist(), strict=True):
        members[profile] = [f"c{i:07d}" for i in range(start, start + count)]
        start += count
    return members


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """(result, seconds) of one call of fn(*args, **kwargs)."""
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t0


def bench_large(citizens: int, draws: int, methods: list[str]) -> dict[str, Any]:
    """Part (a): preparation and per-draw time on a large pool."""
    counts = np.floor(volunteer_weights() * citizens).astype(np.int64)
    counts[0] += citizens - int(counts.sum())
    members, build_s = timed(build_members, counts)
    pool, pool_s = timed(JuryPool, STRATA, members)
    quotas = quotas_from_shares(SHARES, JURY_SIZE)
    prepared: dict[str, Any] = {}
    portfolio = None
    for method in methods:
        result, seconds = timed(prepare_portfolio, pool, JURY_SIZE, quotas, method=method)
        report = selection_report(result)
        prepared[method] = {
            "prepare_s": seconds,
            "compositions": len(result.compositions),
            "min_over_uniform": float(report.min_probability / report.uniform_probability),
            "max_over_uniform": float(report.max_probability / report.uniform_probability),
        }
        if method == MAXIMIN_MINIMAX:
            portfolio = result
    assert portfolio is not None
    excluded = {members[PROFILES[i]][j] for i in range(0, 60, 3) for j in (0, 7)}
    times, times_excl = [], []
    for i in range(draws):
        seed = derive_seed("benchmark-checkpoint", f"case-{i}")
        _, seconds = timed(draw_jury, portfolio, pool, seed)
        times.append(seconds)
        _, seconds = timed(draw_jury, portfolio, pool, seed, exclude=excluded)
        times_excl.append(seconds)
    flat = range(citizens)
    rng = random.Random(1)
    ref = [timed(rng.sample, flat, JURY_SIZE)[1] for _ in range(draws)]
    median, p99 = statistics.median(times), float(np.percentile(times, 99))
    ref_median = statistics.median(ref)
    return {
        "citizens": citizens,
        "profiles": len(pool.profiles),
        "smallest_profile": int(counts.min()),
        "build_ids_s": build_s,
        "pool_index_s": pool_s,
        "prepare": prepared,
        "draws": draws,
        "draw_median_ms": median * 1e3,
        "draw_p99_ms": p99 * 1e3,
        "draw_with_40_exclusions_median_ms": statistics.median(times_excl) * 1e3,
        "target_ms": TARGET_SECONDS * 1e3,
        "p99_over_target": p99 / TARGET_SECONDS,
        "reference_random_sample_median_ms": ref_median * 1e3,
        "median_over_reference": median / ref_median,
    }


def quota_rows(quotas: Quotas) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(incidence rows x profiles, low, high) of every (stratum, value) quota."""
    rows = [(s, v, b) for s in STRATA for v, b in quotas[s].items()]
    incidence = np.array(
        [[1 if p[STRATA.index(s)] == v else 0 for p in PROFILES] for s, v, _ in rows]
    )
    low = np.array([b.min_seats for _, _, b in rows])
    high = np.array([b.max_seats for _, _, b in rows])
    return incidence, low, high


def rejection_acceptance(counts: np.ndarray, quotas: Quotas, samples: int, seed: int) -> float:
    """Share of uniformly drawn juries of 12 volunteers that meet every quota."""
    incidence, low, high = quota_rows(quotas)
    rng = np.random.default_rng(seed)
    accepted = 0
    for start in range(0, samples, REJECTION_BATCH):
        n = min(REJECTION_BATCH, samples - start)
        # Profile counts of 12 volunteers drawn uniformly without replacement.
        drawn = rng.multivariate_hypergeometric(counts, JURY_SIZE, size=n, method="count")
        taken = drawn @ incidence.T
        accepted += int(np.all((taken >= low) & (taken <= high), axis=1).sum())
    return accepted / samples


def rejection_probabilities(
    counts: np.ndarray, quotas: Quotas, samples: int, seed: int
) -> tuple[np.ndarray, int]:
    """Per-person probabilities of "uniform within quotas by rejection", by simulation.

    Plain rejection accepts a few juries in 100,000 here, too few to estimate anything, so
    the region quota is built into the proposal: draw the region seat counts from their
    exact distribution given that the region quota holds (weights prod C(N_r, t_r)), then
    the jurors of each region uniformly, and reject on the other quotas. Conditioning in
    two steps gives exactly the distribution of plain rejection (uniform over all
    quota-satisfying juries). Returns (E[c_p] / n_p for non-empty profiles, juries accepted).
    """
    incidence, low, high = quota_rows(quotas)
    rng = np.random.default_rng(seed)
    regions = list(quotas["region"])
    in_region = {r: [i for i, p in enumerate(PROFILES) if p[0] == r] for r in regions}
    sizes = [int(counts[in_region[r]].sum()) for r in regions]
    ranges = [
        range(quotas["region"][r].min_seats, quotas["region"][r].max_seats + 1) for r in regions
    ]
    totals = [t for t in itertools.product(*ranges) if sum(t) == JURY_SIZE]
    weights = [math.prod(math.comb(n, t) for n, t in zip(sizes, tt, strict=True)) for tt in totals]
    chance = np.array([Fraction(w, sum(weights)) for w in weights], dtype=float)
    seats = np.zeros(len(PROFILES))
    accepted = 0
    for start in range(0, samples, REJECTION_BATCH):
        n = min(REJECTION_BATCH, samples - start)
        which = rng.choice(len(totals), size=n, p=chance / chance.sum())
        drawn = np.zeros((n, len(PROFILES)), dtype=np.int64)
        for k, region_seats in enumerate(totals):
            rows = np.flatnonzero(which == k)
            for region, t in zip(regions, region_seats, strict=True):
                if t and rows.size:
                    cols = in_region[region]
                    drawn[np.ix_(rows, cols)] = rng.multivariate_hypergeometric(
                        counts[cols], t, size=rows.size, method="count"
                    )
        taken = drawn @ incidence.T
        ok = np.all((taken >= low) & (taken <= high), axis=1)
        accepted += int(ok.sum())
        seats += drawn[ok].sum(axis=0)
    present = counts > 0
    return seats[present] / max(accepted, 1) / counts[present], accepted


def bench_small(sizes: list[int], samples: int) -> list[dict[str, Any]]:
    """Part (b): fairness of the prepared lottery against rejection sampling."""
    quotas = quotas_from_shares(SHARES, JURY_SIZE)
    out = []
    for size in sizes:
        rng = np.random.default_rng(size)
        counts = rng.multinomial(size, volunteer_weights())
        pool = JuryPool(STRATA, build_members(counts))
        row: dict[str, Any] = {"volunteers": size, "uniform": JURY_SIZE / size}
        for method in (MAXIMIN_MINIMAX, LEXIMIN):
            portfolio, seconds = timed(prepare_portfolio, pool, JURY_SIZE, quotas, method=method)
            report = selection_report(portfolio)
            row[method] = {
                "prepare_s": seconds,
                "min_probability": float(report.min_probability),
                "max_probability": float(report.max_probability),
            }
        probabilities, accepted = rejection_probabilities(counts, quotas, samples, seed=size)
        row["rejection"] = {
            "plain_acceptance_rate": rejection_acceptance(counts, quotas, samples, seed=size),
            "samples": samples,
            "accepted_juries": accepted,
            "min_probability": float(probabilities.min()),
            "max_probability": float(probabilities.max()),
        }
        out.append(row)
    return out


def profile_world(profiles: int, seed: int = 0) -> tuple[JuryPool, Quotas]:
    """A self-selected pool with ``profiles`` distinct profiles (or just over).

    Values: up to 25 regions (fewer for small targets) x 4 age bands x 6 leanings, citizen
    shares and volunteering propensities drawn with a fixed seed; volunteers are added
    until the pool has the target number of distinct profiles.
    """
    rng = np.random.default_rng(seed)
    values = {
        "region": [f"r{i:02d}" for i in range(min(25, max(3, profiles // 12)))],
        "age": [f"a{i}" for i in range(4)],
        "leaning": [f"l{i}" for i in range(6)],
    }
    shares = {}
    for stratum, names in values.items():
        w = rng.gamma(2.0, size=len(names)) + 0.5
        shares[stratum] = dict(zip(names, (w / w.sum()).tolist(), strict=True))
    everyone = list(itertools.product(*values.values()))
    propensity = {v: rng.gamma(2.0) for names in values.values() for v in names}
    weight = np.array(
        [
            np.prod([shares[s][v] * propensity[v] for s, v in zip(STRATA, p, strict=True)])
            for p in everyone
        ]
    )
    weight /= weight.sum()
    counts = np.zeros(len(everyone), dtype=np.int64)
    while np.count_nonzero(counts) < min(profiles, len(everyone)):
        counts[rng.choice(len(everyone), p=weight)] += 1
    members = {
        p: [f"{'/'.join(p)}/{j}" for j in range(n)]
        for p, n in zip(everyone, counts.tolist(), strict=True)
    }
    return JuryPool(STRATA, members), quotas_from_shares(shares, JURY_SIZE)


def bench_profiles(counts: list[int], repeats: int) -> list[dict[str, Any]]:
    """Part (c): preparation (default method) against the number of distinct profiles."""
    out = []
    for count in counts:
        pool, quotas = profile_world(count)
        cpu, wall = [], []
        for _ in range(repeats):
            c0, w0 = time.process_time(), time.perf_counter()
            portfolio = prepare_portfolio(pool, JURY_SIZE, quotas)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        report = selection_report(portfolio)
        out.append(
            {
                "profiles": len(pool.profiles),
                "volunteers": pool.total,
                "prepare_cpu_s": min(cpu),
                "prepare_wall_s": min(wall),
                "prepare_wall_median_s": statistics.median(wall),
                "compositions": len(portfolio.compositions),
                "unseatable": len(getattr(portfolio, "unseatable", ())),
                "min_probability": float(report.min_probability),
                "max_probability": float(report.max_probability),
            }
        )
    return out


POOL25: dict[Profile, int] = {
    ("north", "young", "left"): 5,
    ("south", "young", "left"): 3,
    ("south", "young", "right"): 8,
    ("south", "old", "left"): 2,
    ("south", "old", "right"): 1,
    ("east", "young", "left"): 1,  # fits no jury meeting the quotas
    ("east", "old", "left"): 1,
    ("east", "old", "right"): 4,
}
SHARES25: dict[str, dict[str, float]] = {
    "region": {"north": 0.2284, "south": 0.4596, "east": 0.3120},
    "age": {"young": 0.4186, "old": 0.5814},
    "leaning": {"left": 0.3298, "right": 0.6702},
}


def smallest_other(
    pool: JuryPool, quotas: Quotas, size: int, method: str, blocked: set[str]
) -> float:
    """The smallest selection probability among the volunteers not in ``blocked``."""
    report = selection_report(prepare_portfolio(pool, size, quotas, method=method))
    return min(
        float(q)
        for ids, q in zip(pool.members, report.probabilities, strict=True)
        if not set(ids) <= blocked
    )


def bench_unseatable() -> list[dict[str, Any]]:
    """Part (d): the others' smallest chance with and without the unseatable volunteers."""
    pool25 = JuryPool(
        STRATA, {p: [f"{'/'.join(p)}/{i}" for i in range(n)] for p, n in POOL25.items()}
    )
    lone = {"east/young/left/0"}
    big, quotas = profile_world(100, seed=4)
    open_quotas = {s: dict(q) for s, q in quotas.items()}
    open_quotas["leaning"]["undeclared"] = SeatRange(0, 0)  # the citizenry gives it no seat
    extra = {p: list(m) for p, m in zip(big.profiles, big.members, strict=True)}
    extra[(big.profiles[0][0], big.profiles[0][1], "undeclared")] = ["u1", "u2", "u3"]
    with_three = JuryPool(STRATA, extra)
    cases = [
        ("25 volunteers, 1 unseatable", pool25, quotas_from_shares(SHARES25, 6), 6, lone),
        (
            f"{with_three.total} volunteers, 3 unseatable",
            with_three,
            open_quotas,
            JURY_SIZE,
            {"u1", "u2", "u3"},
        ),
    ]
    out = []
    for name, pool, q, size, blocked in cases:
        row: dict[str, Any] = {"pool": name}
        for method in (MAXIMIN, MAXIMIN_MINIMAX, LEXIMIN):
            row[method] = {
                "with": smallest_other(pool, q, size, method, blocked),
                "without": smallest_other(pool.without(blocked), q, size, method, set()),
            }
        out.append(row)
    return out


def main() -> None:
    """Run, print and save the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller, for a smoke run")
    parser.add_argument("--profiles-only", action="store_true", help="only parts (c) and (d)")
    args = parser.parse_args()
    profiles = bench_profiles([50, 150, 300], 1 if args.quick else 3)
    unseatable = bench_unseatable()
    print("(c) preparation (maximin-minimax) against distinct strata profiles, jury of 12")
    for row in profiles:
        print(
            f"    {row['profiles']:>4} profiles, {row['volunteers']:>5} volunteers: "
            f"{row['prepare_cpu_s']:.2f} s CPU, {row['prepare_wall_s']:.2f} s wall (best of "
            f"runs; median wall {row['prepare_wall_median_s']:.2f} s), "
            f"{row['compositions']} compositions, min {row['min_probability']:.4f}"
        )
    print("(d) smallest chance among the volunteers who can be seated: with them | without")
    for row in unseatable:
        figures = "; ".join(
            f"{m} {row[m]['with']:.4f} | {row[m]['without']:.4f}"
            for m in (MAXIMIN, MAXIMIN_MINIMAX, LEXIMIN)
        )
        print(f"    {row['pool']}: {figures}")
    out = Path(__file__).resolve().parent / "results" / "sortition_bench.json"
    if args.profiles_only:
        # Refresh parts (c) and (d) of the saved results, keeping the others as they were.
        saved = json.loads(out.read_text()) if out.exists() else {}
        saved.update({"profiles": profiles, "unseatable": unseatable})
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(saved, indent=2) + "\n")
        print(f"updated parts (c) and (d) of {out}")
        return
    if args.quick:
        large = bench_large(1_000_000, 50, [MAXIMIN_MINIMAX])
        small = bench_small([200, 1000], 300_000)
    else:
        large = bench_large(1_000_000, 200, [MAXIMIN_MINIMAX, LEXIMIN, "maximin"])
        small = bench_small([200, 500, 1000, 2000], 2_000_000)

    print(f"(a) {large['citizens']:,} eligible citizens, {large['profiles']} profiles, jury of 12")
    print(
        f"    pool index {large['pool_index_s']:.2f} s (ids built in {large['build_ids_s']:.2f} s)"
    )
    for method, figures in large["prepare"].items():
        print(
            f"    prepare {method:<16} {figures['prepare_s']:6.2f} s, "
            f"{figures['compositions']} compositions, min/uniform "
            f"{figures['min_over_uniform']:.3f}, max/uniform {figures['max_over_uniform']:.2f}"
        )
    print(
        f"    draw: median {large['draw_median_ms']:.3f} ms, p99 {large['draw_p99_ms']:.3f} ms "
        f"over {large['draws']} draws; p99 / 50 ms target = {large['p99_over_target']:.4f}"
    )
    print(
        f"    draw with 40 exclusions: median {large['draw_with_40_exclusions_median_ms']:.3f} ms"
    )
    print(
        f"    reference random.sample(range(N), 12): median "
        f"{large['reference_random_sample_median_ms']:.4f} ms; "
        f"verifiable stratified draw / reference = {large['median_over_reference']:.1f}x"
    )
    print("(b) self-selected pools, jury of 12: individual selection probability (min .. max)")
    for row in small:
        rej = row["rejection"]
        print(
            f"    {row['volunteers']:>5} volunteers (uniform {row['uniform']:.4f}): "
            f"maximin-minimax {row[MAXIMIN_MINIMAX]['min_probability']:.4f} .. "
            f"{row[MAXIMIN_MINIMAX]['max_probability']:.4f} | leximin "
            f"{row[LEXIMIN]['min_probability']:.4f} .. {row[LEXIMIN]['max_probability']:.4f} | "
            f"rejection {rej['min_probability']:.4f} .. {rej['max_probability']:.4f} "
            f"({rej['accepted_juries']} juries accepted; plain rejection accepts "
            f"{rej['plain_acceptance_rate']:.1e} of uniform draws)"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "quick": args.quick,
        "large": large,
        "small": small,
        "profiles": profiles,
        "unseatable": unseatable,
    }
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
