"""Tests of the verifiable stratified jury lottery (issue 5)."""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from fractions import Fraction
from itertools import combinations

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from scipy.stats import chisquare

from isegoria.algorithms.sortition import (
    LEXIMIN,
    MAXIMIN,
    MAXIMIN_MINIMAX,
    InfeasibleQuotasError,
    InvalidPoolError,
    InvalidPortfolioError,
    JuryPool,
    PoolTooSmallError,
    Portfolio,
    Profile,
    Quotas,
    RandomStream,
    SeatRange,
    SortitionError,
    StalePortfolioError,
    derive_seed,
    draw_jury,
    draw_replacements,
    prepare_portfolio,
    quotas_from_shares,
    selection_report,
)
from isegoria.algorithms.sortition_draw import _nth_free

STRATA = ("region", "age")


def make_pool(sizes: Mapping[Profile, int], strata: Sequence[str] = STRATA) -> JuryPool:
    """A pool whose ids spell their profile, e.g. 'north/young/3'."""
    return JuryPool(strata, {p: [f"{'/'.join(p)}/{i}" for i in range(n)] for p, n in sizes.items()})


def seats_of(pool: JuryPool, jury: Sequence[str]) -> dict[tuple[str, str], int]:
    """Seats per (stratum, value) taken by a jury."""
    counts: Counter[tuple[str, str]] = Counter()
    for member in jury:
        for stratum, value in zip(pool.strata, pool.profile_of(member), strict=True):
            counts[stratum, value] += 1
    return dict(counts)


def assert_quotas_hold(pool: JuryPool, quotas: Quotas, jury: Sequence[str], size: int) -> None:
    """The jury has ``size`` distinct members and meets every quota."""
    assert len(jury) == size == len(set(jury))
    taken = seats_of(pool, jury)
    for stratum, ranges in quotas.items():
        for value, bounds in ranges.items():
            assert bounds.min_seats <= taken.get((stratum, value), 0) <= bounds.max_seats


# A skewed self-selected pool: the north's young volunteer a lot, the east's old hardly.
SMALL_SIZES: dict[Profile, int] = {
    ("north", "young"): 25,
    ("north", "old"): 4,
    ("south", "young"): 3,
    ("south", "old"): 10,
    ("east", "young"): 6,
    ("east", "old"): 2,
}
SMALL_SHARES = {
    "region": {"north": 0.4, "south": 0.35, "east": 0.25},
    "age": {"young": 0.45, "old": 0.55},
}
SMALL_JURY = 6


@pytest.fixture(scope="module")
def small() -> tuple[JuryPool, Quotas, Portfolio]:
    """The small skewed pool, its quotas and its default portfolio."""
    pool = make_pool(SMALL_SIZES)
    quotas = quotas_from_shares(SMALL_SHARES, SMALL_JURY)
    return pool, quotas, prepare_portfolio(pool, SMALL_JURY, quotas)


@pytest.fixture(scope="module")
def medium() -> tuple[JuryPool, Quotas, Portfolio]:
    """About 1,500 volunteers over 3 x 3 profiles, jury of 12."""
    sizes = {
        (r, a): 40 + 37 * i + 19 * j
        for i, r in enumerate(("north", "south", "east"))
        for j, a in enumerate(("young", "middle", "old"))
    }
    shares = {
        "region": {"north": 0.5, "south": 0.3, "east": 0.2},
        "age": {"young": 0.3, "middle": 0.4, "old": 0.3},
    }
    pool = make_pool(sizes)
    quotas = quotas_from_shares(shares, 12)
    return pool, quotas, prepare_portfolio(pool, 12, quotas)


# --- quotas_from_shares ---------------------------------------------------------------


def test_quotas_from_shares_rounds_each_share_down_and_up() -> None:
    quotas = quotas_from_shares(SMALL_SHARES, 6)
    assert quotas["region"] == {
        "north": SeatRange(2, 3),  # 2.4 seats
        "south": SeatRange(2, 3),  # 2.1 seats
        "east": SeatRange(1, 2),  # 1.5 seats
    }
    # 0.5 * 6 = 3 exactly: no slack either way.
    assert quotas_from_shares({"g": {"a": 0.5, "b": 0.5}}, 6)["g"]["a"] == SeatRange(3, 3)


@settings(max_examples=60, deadline=None)
@given(
    weights=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=7).filter(lambda w: sum(w) > 0),
    jury_size=st.integers(1, 40),
)
def test_quotas_from_shares_are_within_one_seat_and_sum_feasible(
    weights: list[float], jury_size: int
) -> None:
    total = math.fsum(weights)
    shares = {f"v{i}": w / total for i, w in enumerate(weights)}
    ranges = quotas_from_shares({"s": shares}, jury_size)["s"]
    assert sum(r.min_seats for r in ranges.values()) <= jury_size
    assert sum(r.max_seats for r in ranges.values()) >= jury_size
    for value, share in shares.items():
        exact = share * jury_size
        assert ranges[value].min_seats <= exact + 1e-6 and ranges[value].max_seats >= exact - 1e-6
        assert ranges[value].max_seats - ranges[value].min_seats <= 1


def test_quotas_from_shares_rejects_shares_that_do_not_cover_the_citizenry() -> None:
    with pytest.raises(SortitionError, match="add up to 0.9"):
        quotas_from_shares({"age": {"young": 0.5, "old": 0.4}}, 12)
    with pytest.raises(SortitionError, match="jury size"):
        quotas_from_shares({"age": {"young": 1.0}}, 0)


# --- the random stream ------------------------------------------------------------------


def test_stream_follows_its_published_specification() -> None:
    seed = bytes(range(32))
    first = hashlib.sha256(b"isegoria/sortition/stream/v1\x00draw\x00" + seed + bytes(8))
    second = hashlib.sha256(
        b"isegoria/sortition/stream/v1\x00draw\x00" + seed + (1).to_bytes(8, "big")
    )
    expected = first.digest() + second.digest()
    stream = RandomStream(seed, "draw")
    words = [stream.next_u64() for _ in range(8)]
    assert words == [int.from_bytes(expected[i : i + 8], "big") for i in range(0, 64, 8)]
    # n = 2**64 accepts every word: randbelow returns the raw stream.
    assert RandomStream(seed, "draw").randbelow(1 << 64) == words[0]
    assert RandomStream(seed, "replace").next_u64() != words[0]


def test_randbelow_is_in_range_and_unbiased() -> None:
    stream = RandomStream(derive_seed("uniformity"), "test")
    counts = Counter(stream.randbelow(6) for _ in range(12_000))
    assert set(counts) == set(range(6))
    # Fixed seed: deterministic; a biased generator fails this at p < 1e-4.
    assert chisquare([counts[i] for i in range(6)]).pvalue > 1e-4
    big = (1 << 63) + 1  # rejects almost half of all words
    assert all(stream.randbelow(big) < big for _ in range(200))


def test_derive_seed_is_unambiguous_and_seeds_must_be_long() -> None:
    assert derive_seed("ab", "c") != derive_seed("a", "bc")
    assert derive_seed("x") != derive_seed(b"x")
    assert len(derive_seed("checkpoint", "case-1")) == 32
    with pytest.raises(SortitionError, match="at least 16 bytes"):
        RandomStream(b"short", "draw")


@settings(max_examples=80, deadline=None)
@given(
    blocked=st.sets(st.integers(0, 40), max_size=30),
    rank=st.integers(0, 40),
)
def test_nth_free_matches_a_materialised_list(blocked: set[int], rank: int) -> None:
    free = [i for i in range(41) if i not in blocked]
    if rank < len(free):
        assert _nth_free(rank, sorted(blocked)) == free[rank]


# --- drawing ----------------------------------------------------------------------------


def test_every_drawn_jury_meets_the_quotas(small: tuple[JuryPool, Quotas, Portfolio]) -> None:
    pool, quotas, portfolio = small
    for i in range(1500):
        jury = draw_jury(portfolio, pool, derive_seed("quota", str(i)))
        assert_quotas_hold(pool, quotas, jury.members, SMALL_JURY)
        assert jury.composition == portfolio.compositions[jury.composition_index]


def test_excluded_people_are_never_drawn(small: tuple[JuryPool, Quotas, Portfolio]) -> None:
    pool, quotas, portfolio = small
    excluded = {"north/young/0", "north/young/24", "south/old/3", "not-in-pool"}
    for i in range(1500):
        jury = draw_jury(portfolio, pool, derive_seed("excl", str(i)), exclude=excluded)
        assert excluded.isdisjoint(jury.members)
        assert_quotas_hold(pool, quotas, jury.members, SMALL_JURY)


def test_empirical_frequencies_match_reported_probabilities(
    small: tuple[JuryPool, Quotas, Portfolio],
) -> None:
    """Each person's count is Binomial(draws, p); allow 4.5 standard deviations.

    With 50 people the chance that a correct lottery leaves the band somewhere is ~3e-4;
    the seeds are fixed, so the test is deterministic. Exclusions are included so that the
    documented E[c_p] / (n_p - e_p) is what is checked for their profiles.
    """
    pool, _, portfolio = small
    excluded = {"north/young/5", "south/old/0"}
    report = selection_report(portfolio, pool, excluded)
    draws = 5000
    people: Counter[str] = Counter()
    compositions: Counter[int] = Counter()
    for i in range(draws):
        jury = draw_jury(portfolio, pool, derive_seed("freq", str(i)), exclude=excluded)
        people.update(jury.members)
        compositions[jury.composition_index] += 1
    for profile, ids, probability in zip(
        pool.profiles, pool.members, report.probabilities, strict=True
    ):
        p = float(probability)
        sigma = math.sqrt(draws * p * (1 - p))
        for member in ids:
            expected = 0.0 if member in excluded else draws * p
            assert abs(people[member] - expected) <= 4.5 * sigma + 1e-9, (profile, member)
    weights = np.array(portfolio.weights, dtype=float) / portfolio.weight_total
    observed = [compositions[i] for i in range(len(portfolio.weights))]
    assert chisquare(observed, weights * draws).pvalue > 1e-4


def test_reported_probabilities_are_exact_and_consistent(
    small: tuple[JuryPool, Quotas, Portfolio],
) -> None:
    pool, _, portfolio = small
    report = selection_report(portfolio)
    # Every seat is someone's: the probabilities of all volunteers add up to the jury size.
    assert sum(n * q for n, q in zip(pool.sizes, report.probabilities, strict=True)) == SMALL_JURY
    assert report.min_probability == min(report.probabilities)
    assert report.max_probability == max(report.probabilities)
    assert report.uniform_probability == Fraction(SMALL_JURY, pool.total)
    assert report.min_probability <= report.uniform_probability <= report.max_probability
    assert json.loads(json.dumps(report.to_json_dict()))["min_probability"] == str(
        report.min_probability
    )


def test_the_same_inputs_give_the_same_jury(medium: tuple[JuryPool, Quotas, Portfolio]) -> None:
    pool, _, portfolio = medium
    seed = derive_seed("checkpoint-root", "case-42")
    first = draw_jury(portfolio, pool, seed, exclude={"north/young/3"})
    # A verifier rebuilds everything from the published record.
    record = json.loads(json.dumps(portfolio.to_json_dict()))
    rebuilt_pool = JuryPool(
        pool.strata, dict(reversed(list(zip(pool.profiles, pool.members, strict=True))))
    )
    again = draw_jury(
        Portfolio.from_json_dict(record), rebuilt_pool, seed, exclude=["north/young/3"]
    )
    assert again == first
    assert rebuilt_pool.digest() == pool.digest()


def test_changing_any_input_changes_the_jury(medium: tuple[JuryPool, Quotas, Portfolio]) -> None:
    pool, quotas, portfolio = medium
    reordered = JuryPool(
        pool.strata,
        {
            p: (list(reversed(ids)) if p == ("south", "middle") else list(ids))
            for p, ids in zip(pool.profiles, pool.members, strict=True)
        },
    )
    tighter = {**quotas, "age": {**quotas["age"], "old": SeatRange(4, 4)}}
    other_portfolio = prepare_portfolio(pool, 12, tighter)
    other_order_portfolio = prepare_portfolio(reordered, 12, quotas)
    for i in range(10):
        seed = derive_seed("sensitivity", str(i))
        base = draw_jury(portfolio, pool, seed).members
        assert draw_jury(portfolio, pool, derive_seed("sensitivity*", str(i))).members != base
        assert draw_jury(other_order_portfolio, reordered, seed).members != base
        assert draw_jury(other_portfolio, pool, seed).members != base
        bystander = next(m for m in pool.members[0] if m not in base)
        assert draw_jury(portfolio, pool, seed, exclude={bystander}).members != base


def test_a_stale_portfolio_is_refused(medium: tuple[JuryPool, Quotas, Portfolio]) -> None:
    pool, _, portfolio = medium
    smaller = pool.without({pool.members[0][0]})
    with pytest.raises(StalePortfolioError, match="different number of volunteers"):
        draw_jury(portfolio, smaller, derive_seed("stale"))


def test_large_exclusions_require_a_new_portfolio(
    small: tuple[JuryPool, Quotas, Portfolio],
) -> None:
    pool, quotas, portfolio = small
    # Exclude so many old easterners that the most they are ever seated no longer fits.
    east_old = pool.profiles.index(("east", "old"))
    most = max(c[east_old] for c in portfolio.compositions)
    assert most >= 1
    excluded = set(pool.members[east_old][: pool.sizes[east_old] - most + 1])
    with pytest.raises(StalePortfolioError, match="pool.without"):
        draw_jury(portfolio, pool, derive_seed("large"), exclude=excluded)
    reduced = pool.without(excluded)
    fresh = prepare_portfolio(reduced, SMALL_JURY, quotas)
    jury = draw_jury(fresh, reduced, derive_seed("large"))
    assert_quotas_hold(reduced, quotas, jury.members, SMALL_JURY)


def test_replacements_keep_the_quotas_and_skip_everyone_already_involved(
    medium: tuple[JuryPool, Quotas, Portfolio],
) -> None:
    pool, quotas, portfolio = medium
    jury = draw_jury(portfolio, pool, derive_seed("case-7")).members
    declined = [jury[0], jury[5]]
    excluded = {"north/young/1", "north/young/2"}
    pairs = draw_replacements(
        pool, derive_seed("case-7", "round-1"), jury=jury, declined=declined, exclude=excluded
    )
    assert [d for d, _ in pairs] == declined
    for gone, new in pairs:
        assert pool.profile_of(new) == pool.profile_of(gone)
        assert new not in jury and new not in excluded
    seated = [m for m in jury if m not in declined] + [new for _, new in pairs]
    assert_quotas_hold(pool, quotas, seated, 12)
    again = draw_replacements(
        pool, derive_seed("case-7", "round-1"), jury=jury, declined=declined, exclude=excluded
    )
    assert again == pairs
    with pytest.raises(InvalidPoolError, match="not on the jury"):
        draw_replacements(pool, derive_seed("x"), jury=jury, declined=["nobody"])


def test_replacement_fails_clearly_when_a_profile_is_exhausted() -> None:
    pool = make_pool({("a", "x"): 2, ("b", "x"): 5})
    quotas = {"region": {"a": SeatRange(2, 2), "b": SeatRange(1, 1)}, "age": {"x": SeatRange(3, 3)}}
    portfolio = prepare_portfolio(pool, 3, quotas)
    jury = draw_jury(portfolio, pool, derive_seed("exhaust")).members
    with pytest.raises(PoolTooSmallError, match="no volunteer of profile"):
        draw_replacements(pool, derive_seed("r"), jury=jury, declined=["a/x/0"])


# --- optimality against brute force -----------------------------------------------------


def brute_force_panels(pool: JuryPool, size: int, quotas: Quotas) -> tuple[list[str], np.ndarray]:
    """Every quota-satisfying panel of people, as a person x panel incidence matrix."""
    people = [m for ids in pool.members for m in ids]
    profile = {m: pool.profile_of(m) for m in people}
    panels = []
    for panel in combinations(range(len(people)), size):
        counts: Counter[tuple[str, str]] = Counter()
        for i in panel:
            counts.update(zip(pool.strata, profile[people[i]], strict=True))
        if all(
            b.min_seats <= counts[s, v] <= b.max_seats
            for s, ranges in quotas.items()
            for v, b in ranges.items()
        ):
            panels.append(panel)
    incidence = np.zeros((len(people), len(panels)))
    for j, panel in enumerate(panels):
        incidence[list(panel), j] = 1.0
    return people, incidence


def lp_extreme(
    incidence: np.ndarray,
    lower: np.ndarray,
    objective_row: int | None,
    maximise_floor: bool,
) -> float:
    """Over distributions of panels with person probabilities >= lower: either the largest
    common floor z (maximise_floor), the smallest ceiling M (objective_row None), or the
    largest probability of one person."""
    people, panels = incidence.shape
    eq = np.concatenate([np.ones(panels), [0.0]])[None, :]
    bounds = [(0.0, None)] * panels + [(None, None)]
    if maximise_floor:
        a_ub = np.hstack([-incidence, np.ones((people, 1))])
        b_ub = np.where(np.isnan(lower), 0.0, -np.nan_to_num(lower))
        a_ub[~np.isnan(lower), -1] = 0.0
        res = linprog(np.r_[np.zeros(panels), -1.0], a_ub, b_ub, eq, [1.0], bounds)
        return float(-res.fun)
    a_ub = np.vstack(
        [
            np.hstack([-incidence, np.zeros((people, 1))]),
            np.hstack([incidence, -np.ones((people, 1))]),
        ]
    )
    b_ub = np.r_[-lower, np.zeros(people)]
    if objective_row is None:
        res = linprog(np.r_[np.zeros(panels), 1.0], a_ub, b_ub, eq, [1.0], bounds)
        return float(res.fun)
    cost = np.r_[-incidence[objective_row], 0.0]
    res = linprog(cost, a_ub[:people], b_ub[:people], eq, [1.0], bounds)
    return float(-res.fun)


def person_probabilities(pool: JuryPool, portfolio: Portfolio) -> dict[str, float]:
    """Each person's selection probability according to the portfolio."""
    report = selection_report(portfolio)
    return {
        m: float(q) for ids, q in zip(pool.members, report.probabilities, strict=True) for m in ids
    }


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 4), min_size=4, max_size=4),
    jury_size=st.integers(2, 4),
    bounds=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=4, max_size=4),
)
def test_maximin_and_minimax_match_an_exhaustive_lp_over_all_panels(
    sizes: list[int], jury_size: int, bounds: list[tuple[int, int]]
) -> None:
    """Against an LP over every quota-satisfying panel of individual people (no profiles)."""
    profiles = [("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")]
    pool = make_pool(dict(zip(profiles, sizes, strict=True)))
    ranges = [SeatRange(min(lo, hi), max(lo, hi)) for lo, hi in bounds]
    quotas = {
        "region": {"a": ranges[0], "b": ranges[1]},
        "age": {"x": ranges[2], "y": ranges[3]},
    }
    if pool.total < jury_size:
        with pytest.raises(PoolTooSmallError):
            prepare_portfolio(pool, jury_size, quotas)
        return
    people, incidence = brute_force_panels(pool, jury_size, quotas)
    if incidence.shape[1] == 0:
        event("infeasible")
        with pytest.raises(InfeasibleQuotasError):
            prepare_portfolio(pool, jury_size, quotas)
        return
    event("feasible")
    # Issue 16: people on no allowed panel cannot be seated; the floor is over the others.
    never = incidence.sum(axis=1) == 0
    event(f"unseatable people: {int(never.sum())}")
    floor = lp_extreme(incidence, np.where(never, 0.0, np.nan), None, True)
    ceiling = lp_extreme(incidence, np.where(never, 0.0, floor - 1e-9), None, False)
    prepared = prepare_portfolio(pool, jury_size, quotas, method=MAXIMIN)
    maximin = selection_report(prepared)
    balanced = selection_report(prepare_portfolio(pool, jury_size, quotas))
    assert {u.profile for u in prepared.unseatable} == {
        pool.profile_of(person) for person, no in zip(people, never, strict=True) if no
    }
    assert float(maximin.min_probability) == pytest.approx(floor, abs=1e-6)
    assert float(balanced.min_probability) == pytest.approx(floor, abs=1e-6)
    assert float(balanced.max_probability) == pytest.approx(ceiling, abs=1e-6)


def test_leximin_matches_a_brute_force_leximin() -> None:
    """Brute force: fix, level by level, every person who cannot rise above the level
    (found by maximising each person's probability separately, not from LP duals)."""
    pool = make_pool({("a", "x"): 4, ("a", "y"): 1, ("b", "x"): 2, ("b", "y"): 5})
    quotas = {
        "region": {"a": SeatRange(1, 3), "b": SeatRange(1, 3)},
        "age": {"x": SeatRange(1, 2), "y": SeatRange(2, 3)},
    }
    people, incidence = brute_force_panels(pool, 4, quotas)
    lower = np.full(len(people), np.nan)
    while np.isnan(lower).any():
        level = lp_extreme(incidence, lower, None, True)
        probe = np.where(np.isnan(lower), level - 1e-9, lower - 1e-9)
        stuck = [
            i
            for i in np.flatnonzero(np.isnan(lower))
            if lp_extreme(incidence, probe, int(i), False) <= level + 1e-7
        ]
        assert stuck
        lower[stuck] = level
    mine = person_probabilities(pool, prepare_portfolio(pool, 4, quotas, method=LEXIMIN))
    assert sorted(mine[p] for p in people) == pytest.approx(sorted(lower), abs=1e-6)


def test_the_default_bounds_the_largest_probability_below_maximin_alone(
    medium: tuple[JuryPool, Quotas, Portfolio],
) -> None:
    pool, quotas, balanced = medium
    assert balanced.method == MAXIMIN_MINIMAX
    plain = selection_report(prepare_portfolio(pool, 12, quotas, method=MAXIMIN))
    report = selection_report(balanced)
    assert float(report.min_probability) == pytest.approx(float(plain.min_probability), rel=1e-6)
    assert report.max_probability <= plain.max_probability * (1 + Fraction(1, 10**6))


# --- errors -----------------------------------------------------------------------------


def test_a_quota_beyond_the_volunteers_is_named() -> None:
    pool = make_pool({("north", "young"): 10, ("south", "young"): 1, ("south", "old"): 1})
    quotas = {
        "region": {"north": SeatRange(0, 4), "south": SeatRange(3, 4)},
        "age": {"young": SeatRange(0, 4), "old": SeatRange(0, 4)},
    }
    with pytest.raises(InfeasibleQuotasError, match="region='south' needs at least 3 seats"):
        prepare_portfolio(pool, 4, quotas)


def test_jointly_infeasible_quotas_name_the_quotas_to_relax() -> None:
    pool = make_pool({("a", "x"): 5, ("b", "y"): 5})
    quotas = {
        "region": {"a": SeatRange(2, 2), "b": SeatRange(0, 0)},
        "age": {"x": SeatRange(0, 2), "y": SeatRange(1, 2)},
    }
    with pytest.raises(InfeasibleQuotasError, match="meets all quotas together") as info:
        prepare_portfolio(pool, 2, quotas)
    assert "by 1" in str(info.value)
    assert any(q in str(info.value) for q in ("region='a'", "region='b'", "age='y'", "age='x'"))


def test_sum_wise_infeasible_quotas_are_named() -> None:
    pool = make_pool({("a", "x"): 5, ("b", "y"): 5})
    quotas = {
        "region": {"a": SeatRange(2, 3), "b": SeatRange(2, 3)},
        "age": {"x": SeatRange(0, 3), "y": SeatRange(0, 3)},
    }
    with pytest.raises(InfeasibleQuotasError, match="'region': the minimum seats add up to 4"):
        prepare_portfolio(pool, 3, quotas)
    quotas["region"] = {"a": SeatRange(0, 1), "b": SeatRange(0, 1)}
    with pytest.raises(InfeasibleQuotasError, match="maximum seats add up to 2"):
        prepare_portfolio(pool, 3, quotas)
    capped = make_pool({("a", "x"): 1, ("b", "y"): 5})
    quotas["region"] = {"a": SeatRange(0, 3), "b": SeatRange(0, 1)}
    with pytest.raises(InfeasibleQuotasError, match="allow only 2 jurors"):
        prepare_portfolio(capped, 3, quotas)


def test_degenerate_pools_are_refused_clearly() -> None:
    quotas = quotas_from_shares({"region": {"a": 1.0}, "age": {"x": 1.0}}, 3)
    with pytest.raises(PoolTooSmallError, match="empty"):
        prepare_portfolio(make_pool({}), 3, quotas)
    with pytest.raises(PoolTooSmallError, match="holds 2 eligible volunteers, fewer than the 3"):
        prepare_portfolio(make_pool({("a", "x"): 2}), 3, quotas)
    with pytest.raises(SortitionError, match="at least 1"):
        prepare_portfolio(make_pool({("a", "x"): 2}), 0, quotas)
    with pytest.raises(InvalidPoolError, match="appears twice"):
        JuryPool(STRATA, {("a", "x"): ["p1", "p2"], ("a", "y"): ["p2"]})
    with pytest.raises(InvalidPoolError, match="has 1 values but there are 2 strata"):
        JuryPool(STRATA, {("a",): ["p1"]})
    with pytest.raises(InvalidPoolError, match="not a str"):
        JuryPool(STRATA, {("a", "x"): "p1"})
    with pytest.raises(InvalidPoolError, match="NUL"):
        JuryPool(STRATA, {("a", "x"): ["p\x001"]})
    with pytest.raises(InvalidPoolError, match="no seat range"):
        prepare_portfolio(make_pool({("a", "z"): 4}), 3, quotas)
    with pytest.raises(SortitionError, match="method"):
        prepare_portfolio(make_pool({("a", "x"): 4}), 3, quotas, method="random")


def test_a_tampered_portfolio_record_is_rejected(
    small: tuple[JuryPool, Quotas, Portfolio],
) -> None:
    _, _, portfolio = small
    record = portfolio.to_json_dict()
    broken = json.loads(json.dumps(record))
    broken["compositions"][0] = [SMALL_JURY, 0, 0, 0, 0, 0]  # all seats to one profile
    with pytest.raises(InvalidPortfolioError, match="outside its quota|more than a profile"):
        Portfolio.from_json_dict(broken)
    broken = json.loads(json.dumps(record))
    broken["weights"][0] = 0
    with pytest.raises(InvalidPortfolioError, match="positive integers"):
        Portfolio.from_json_dict(broken)
    broken = json.loads(json.dumps(record))
    del broken["quotas"]
    with pytest.raises(InvalidPortfolioError, match="malformed"):
        Portfolio.from_json_dict(broken)
    assert Portfolio.from_json_dict(record) == portfolio


def test_pool_pseudonyms_in_bulk_are_the_ones_named_one_by_one() -> None:
    from isegoria.cases.common import juror_pseudonym, juror_pseudonyms

    secret = b"s" * 32
    accounts = [1, 7, 42, 1000, 123456]
    bulk = juror_pseudonyms(secret, 12, "appeal", accounts)
    assert bulk == [juror_pseudonym(secret, 12, "appeal", a) for a in accounts]
    assert len(set(bulk)) == len(accounts)
    assert juror_pseudonyms(secret, 13, "appeal", accounts) != bulk  # per case
