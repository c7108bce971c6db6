"""A preparation started from another pool's portfolio reaches the same optimum as a cold one.

When a case's conflicted volunteers leave a profile too small for the cached lottery, the
lottery of the pool without them starts column generation from the whole pool's portfolio
(``prepare_portfolio(..., start=...)``). The start only adds columns: the fairness levels
(the smallest and the largest probability, the leximin vector) must be the cold ones, and
every composition must be allowed in the smaller pool.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isegoria.algorithms.sortition import (
    LEXIMIN,
    MAXIMIN,
    MAXIMIN_MINIMAX,
    InfeasibleQuotasError,
    JuryPool,
    PoolTooSmallError,
    Portfolio,
    Profile,
    Quotas,
    prepare_portfolio,
    quotas_from_shares,
    selection_report,
)

REGIONS = ("north", "south", "east")
AGES = ("young", "middle", "old")
SHARES = {
    "region": {"north": 0.4, "south": 0.35, "east": 0.25},
    "age": {"young": 0.3, "middle": 0.4, "old": 0.3},
}


def pool_of(sizes: Mapping[Profile, int], strata: tuple[str, ...] = ("region", "age")) -> JuryPool:
    """A pool whose ids spell their profile."""
    return JuryPool(strata, {p: [f"{'/'.join(p)}/{i}" for i in range(n)] for p, n in sizes.items()})


def levels(portfolio: Portfolio) -> tuple[float, float, list[float]]:
    """The smallest and largest selection probability, and every profile's, sorted."""
    report = selection_report(portfolio)
    seated = sorted(float(q) for q in report.probabilities if q > 0)
    return float(report.min_probability), float(report.max_probability), seated


def assert_allowed(portfolio: Portfolio, pool: JuryPool, quotas: Quotas) -> None:
    """Every composition fits the pool's members and meets every quota."""
    for composition in portfolio.compositions:
        assert sum(composition) == portfolio.jury_size
        taken: dict[tuple[str, str], int] = {}
        for profile, seats, size in zip(pool.profiles, composition, pool.sizes, strict=True):
            assert seats <= size
            for stratum, value in zip(pool.strata, profile, strict=True):
                taken[stratum, value] = taken.get((stratum, value), 0) + seats
        for stratum, ranges in quotas.items():
            for value, bounds in ranges.items():
                assert bounds.min_seats <= taken.get((stratum, value), 0) <= bounds.max_seats


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 4), min_size=9, max_size=9),
    jury_size=st.integers(3, 6),
    dropped=st.integers(1, 6),
    method=st.sampled_from([MAXIMIN_MINIMAX, LEXIMIN, MAXIMIN]),
    seed=st.integers(0, 1000),
)
def test_a_warm_start_reaches_the_cold_optimum(
    sizes: list[int], jury_size: int, dropped: int, method: str, seed: int
) -> None:
    profiles = [(r, a) for r in REGIONS for a in AGES]
    pool = pool_of(dict(zip(profiles, sizes, strict=True)))
    quotas = quotas_from_shares(SHARES, jury_size)
    try:
        whole = prepare_portfolio(pool, jury_size, quotas, method=method)
    except (PoolTooSmallError, InfeasibleQuotasError):
        return
    members = [m for ids in pool.members for m in ids]
    smaller = pool.without(random.Random(seed).sample(members, min(dropped, len(members))))
    try:
        cold = prepare_portfolio(smaller, jury_size, quotas, method=method)
    except (PoolTooSmallError, InfeasibleQuotasError):
        with pytest.raises((PoolTooSmallError, InfeasibleQuotasError)):
            prepare_portfolio(smaller, jury_size, quotas, method=method, start=whole)
        return
    warm = prepare_portfolio(smaller, jury_size, quotas, method=method, start=whole)
    assert_allowed(warm, smaller, quotas)
    assert warm.unseatable == cold.unseatable
    warm_min, warm_max, warm_all = levels(warm)
    cold_min, cold_max, cold_all = levels(cold)
    assert warm_min == pytest.approx(cold_min, abs=1e-6)
    if method != MAXIMIN:  # maximin alone leaves the largest probability to chance
        assert warm_max == pytest.approx(cold_max, abs=1e-6)
    if method == LEXIMIN:  # the leximin vector is unique
        assert warm_all == pytest.approx(cold_all, abs=1e-6)


def test_a_start_with_other_strata_changes_nothing() -> None:
    pool = pool_of({(r, a): 3 for r in REGIONS for a in AGES})
    quotas = quotas_from_shares(SHARES, 6)
    other = pool_of({(r, a): 3 for r in REGIONS for a in AGES}, strata=("age", "region"))
    other_quotas = quotas_from_shares({"age": SHARES["region"], "region": SHARES["age"]}, 6)
    start = prepare_portfolio(other, 6, other_quotas)
    assert prepare_portfolio(pool, 6, quotas, start=start) == prepare_portfolio(pool, 6, quotas)


def test_a_start_from_a_pool_of_many_small_profiles_keeps_the_levels() -> None:
    """The demo's shape: most profiles hold one or two people, and a jury's worth leaves."""
    rng = random.Random(7)
    leanings = ("left", "centre", "right")
    sizes = {
        (r, a, lean): rng.choice((1, 1, 1, 2, 3))
        for r in (*REGIONS, "west", "centre")
        for a in AGES
        for lean in leanings
    }
    strata = ("region", "age", "leaning")
    pool = pool_of(sizes, strata)
    shares = {
        "region": {r: 0.2 for r in (*REGIONS, "west", "centre")},
        "age": SHARES["age"],
        "leaning": {"left": 0.35, "centre": 0.3, "right": 0.35},
    }
    quotas = quotas_from_shares(shares, 12)
    whole = prepare_portfolio(pool, 12, quotas)
    members = [m for ids in pool.members for m in ids]
    smaller = pool.without(rng.sample(members, 12))
    warm = prepare_portfolio(smaller, 12, quotas, start=whole)
    cold = prepare_portfolio(smaller, 12, quotas)
    assert_allowed(warm, smaller, quotas)
    assert levels(warm)[:2] == pytest.approx(levels(cold)[:2], abs=1e-6)
