"""Preparation: the fairest portfolio over profile compositions, by LP column generation.

Following Flanigan, Gölz, Gupta, Hennig and Procaccia, "Fair algorithms for selecting
citizens' assemblies" (Nature 596, 2021): among all lotteries over quota-satisfying juries,
choose one that maximises the smallest individual selection probability (maximin). Because
volunteers with the same profile are interchangeable, the LP runs over *compositions* (seats
per profile) and one constraint per profile, not per person: a person of profile p has
probability E[c_p]/n_p.

Master LP over the known compositions c (variables pi_c >= 0, sum pi_c = 1, free z):
maximise z subject to sum_c pi_c * a_p(c) >= z for every profile p, where
a_p(c) = c_p / n_p / u and u = k / N is the probability under plain random sampling
(scaling keeps z near 1, where HiGHS tolerances are meaningful). Pricing (paper, Methods,
column generation): with the duals of the master, the composition with the most negative
reduced cost is found by a small MILP over the profiles' seat counts under the quotas.
The master stays in one HiGHS model between rounds (``sortition_lp``): new compositions
enter as columns and the simplex resumes from the last basis instead of starting over.

Before that, a greedy cover (``sortition_greedy.cover_profiles``) finds compositions that
together seat every profile that any quota-satisfying jury can seat. They start column
generation (without them it would spend most of its rounds adding one profile at a time),
and the profiles they leave out cannot be seated at all: the LP runs over the others only,
so one such volunteer no longer drags the smallest probability to zero and leaves everybody
else unprotected (issue 16). Each is published in the portfolio with the quotas that block it.
A ``start`` portfolio (the same quotas and jury size over a pool that differs by a few
members, as when a case's conflicted volunteers are excluded) adds its compositions that this
pool still allows: column generation then starts near the optimum and needs a few rounds
instead of dozens. The optimum is the same (pricing is exact, so it ends only when no column
improves the LP); only which of several optimal portfolios comes out may differ.

Maximin leaves the other probabilities to chance, so a second stage breaks the tie:

* ``maximin-minimax`` (default): keep every probability >= the maximin level and minimise
  the largest one. Strata such as political leaning are self-declared; leximin may give a
  rare profile many times the uniform chance (37x on the benchmark pool), which rewards
  misdeclaring. Flanigan, Liang, Procaccia and Wang ("Manipulation-robust selection of
  citizens' assemblies", AAAI 2024) show maximin/leximin invite such manipulation and bound
  the largest probability too; minimising it after the minimum is the lexicographic form.
* ``leximin`` (the Nature paper's choice): repeatedly fix the profiles with a positive dual
  (tight in every optimum, by complementary slackness) at the current level and raise the
  rest.
* ``maximin``: stop after the first stage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from isegoria.algorithms.sortition_greedy import Builder, cover_profiles
from isegoria.algorithms.sortition_lp import MasterLP, MasterRows
from isegoria.algorithms.sortition_model import (
    JuryPool,
    PoolTooSmallError,
    Quotas,
    SortitionError,
    check_pool_against_quotas,
    check_quotas,
)
from isegoria.algorithms.sortition_portfolio import Portfolio
from isegoria.algorithms.sortition_problem import (
    SeatProblem,
    best_composition,
    build_problem,
    explain_unseatable,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

LEXIMIN = "leximin"
MAXIMIN = "maximin"
MAXIMIN_MINIMAX = "maximin-minimax"
METHODS = (MAXIMIN_MINIMAX, LEXIMIN, MAXIMIN)
# Integer weights of a portfolio sum to 2**32: a composition's probability is quantised to
# 2.3e-10, far below anything a jury lottery can notice, and the total fits randbelow.
WEIGHT_TOTAL = 1 << 32
# A new composition must beat the dual bound by this much (in units of the uniform
# probability) to enter the master LP; below it column generation has converged.
PRICING_TOLERANCE = 1e-9
# Profiles whose dual weight exceeds this are fixed at the current leximin level.
FIX_DUAL_THRESHOLD = 1e-7
# Fixed levels are relaxed by this much so that solver round-off cannot make them infeasible.
FIX_SLACK = 1e-9
# Safety net on column generation rounds per leximin level (convergence takes far fewer).
MAX_PRICING_ROUNDS = 5_000
EXTRA_COLUMNS = 8


@dataclass
class _Master:
    problem: SeatProblem
    builder: Builder
    scale: FloatArray  # a_p(c) = c_p * scale_p; 0 for profiles that cannot be seated
    columns: list[IntArray]
    lp: MasterLP | None = None  # the last master LP, reused when only its rows' levels change

    def optimise(self, rows: MasterRows, x_cost: float) -> tuple[float, FloatArray, FloatArray]:
        """Column generation to convergence; returns (X, pi, row marginals).

        A column c has reduced cost -(G^T lambda) . c - lambda_eq, where G maps seats to the
        rows' coefficients; it improves the LP iff v . c > -lambda_eq with v = G^T lambda.
        """
        constraints = self.problem.constraints()
        known = {tuple(c.tolist()) for c in self.columns}
        lp = self.lp
        if lp is None or lp.x_cost != x_cost or not lp.retarget(rows):
            lp = self.lp = MasterLP(rows, x_cost, self.scale)
        for _ in range(MAX_PRICING_ROUNDS):
            lp.add(self.columns[lp.columns :])
            x, pi, marginals, eq_marginal = lp.solve()
            values = np.zeros(self.scale.size)
            np.add.at(values, rows.profile, rows.sigma * marginals)
            values *= self.scale
            best = best_composition(self.problem, values, constraints)
            gain = float(values @ best) + eq_marginal
            key = tuple(best.tolist())
            if gain <= PRICING_TOLERANCE * max(1.0, abs(eq_marginal)) or key in known:
                return x, pi, marginals
            known.add(key)
            self.columns.append(best)
            # More improving columns from cheap greedy variants cut the number of rounds.
            noise = np.random.default_rng(len(self.columns))
            top = float(np.abs(values).max())
            for _ in range(EXTRA_COLUMNS):
                extra = self.builder.build(values + noise.random(values.size) * 1.0 * top)
                if extra is None or values @ extra + eq_marginal <= 0:
                    continue
                key = tuple(extra.tolist())
                if key not in known:
                    known.add(key)
                    self.columns.append(extra)
        raise SortitionError("column generation did not converge; report this pool")


def prepare_portfolio(
    pool: JuryPool,
    jury_size: int,
    quotas: Quotas,
    *,
    method: str = MAXIMIN_MINIMAX,
    start: Portfolio | None = None,
) -> Portfolio:
    """The fairest portfolio for the pool: maximin first, then ``method``'s tie-break.

    ``maximin-minimax`` (default) then minimises the largest probability, ``leximin`` the
    paper's lexicographic refinement, ``maximin`` stops after the minimum. Probabilities are
    optimised over the volunteers who can be seated at all; the others are listed in the
    portfolio's ``unseatable`` with the quotas that block them. Raises PoolTooSmallError
    for an empty or too small pool and InfeasibleQuotasError (naming the quotas that cannot
    be met) when no jury satisfies the quotas. ``start`` (an earlier portfolio for the same
    quotas and jury size) only speeds column generation up.
    """
    if method not in METHODS:
        raise SortitionError(f"method must be one of {METHODS}, got {method!r}")
    if jury_size < 1:
        raise SortitionError(f"jury size must be at least 1, got {jury_size}")
    if pool.total == 0:
        raise PoolTooSmallError("the pool is empty: no eligible volunteer to draw a jury from")
    if pool.total < jury_size:
        raise PoolTooSmallError(
            f"the pool holds {pool.total} eligible volunteers, fewer than the {jury_size} seats "
            "of the jury"
        )
    check_quotas(pool.strata, quotas, jury_size)
    check_pool_against_quotas(pool, quotas)
    problem = build_problem(pool.strata, pool.profiles, pool.sizes, jury_size, quotas)
    columns, unseatable = cover_profiles(problem)
    if start is not None:
        columns += _allowed_here(problem, pool, start, columns)
    seatable = [p for p in range(len(pool.profiles)) if p not in set(unseatable)]
    sizes = np.asarray(pool.sizes, dtype=np.float64)
    # Scaled by the plain random-sampling probability among those who can be seated, so the
    # LP is the one the pool without the others would give.
    scale = np.zeros(sizes.size)
    scale[seatable] = float(sizes[seatable].sum()) / (jury_size * sizes[seatable])
    master = _Master(problem, Builder(problem), scale, columns)
    pi = _optimise(master, seatable, method)
    compositions, weights = _quantise(master.columns, pi)
    return Portfolio(
        strata=pool.strata,
        profiles=pool.profiles,
        pool_sizes=pool.sizes,
        jury_size=jury_size,
        quotas={s: dict(quotas[s]) for s in pool.strata},
        compositions=compositions,
        weights=weights,
        method=method,
        unseatable=explain_unseatable(problem, unseatable),
    )


def _allowed_here(
    problem: SeatProblem, pool: JuryPool, start: Portfolio, known: list[IntArray]
) -> list[IntArray]:
    """The start portfolio's compositions that this pool and these quotas still allow."""
    if start.strata != pool.strata:
        return []  # profiles of other strata mean other people
    index = {profile: i for i, profile in enumerate(pool.profiles)}
    seen = {tuple(c.tolist()) for c in known}
    found: list[IntArray] = []
    for composition in start.compositions:
        seats = np.zeros(len(pool.profiles), dtype=np.int64)
        for profile, count in zip(start.profiles, composition, strict=True):
            if count and (i := index.get(profile)) is not None:
                seats[i] = count
        # Seats of a profile that is gone leave the jury short, and more seats than members
        # left exceed ``upper``: ``allows`` refuses both, and any quota this pool's differ on.
        key = tuple(seats.tolist())
        if key not in seen and problem.allows(seats.astype(np.float64)):
            seen.add(key)
            found.append(seats)
    return found


def _optimise(master: _Master, seatable: list[int], method: str) -> FloatArray:
    """The master's composition probabilities: maximin over ``seatable``, then the method's."""
    fixed: dict[int, float] = {}
    while True:
        # Maximise z with every open profile >= z and every fixed one >= its level.
        rows = MasterRows.of(
            [
                (p, -1.0, 0.0, FIX_SLACK - fixed[p]) if p in fixed else (p, -1.0, 1.0, 0.0)
                for p in seatable
            ]
        )
        level, pi, marginals = master.optimise(rows, -1.0)
        if method != LEXIMIN:
            break
        duals = dict(zip(seatable, (-marginals).tolist(), strict=True))
        open_profiles = [p for p in seatable if p not in fixed]
        tight = [p for p in open_profiles if duals[p] > FIX_DUAL_THRESHOLD]
        for p in tight or [max(open_profiles, key=lambda q: duals[q])]:
            fixed[p] = level
        if len(fixed) == len(seatable):
            break
    if method == MAXIMIN_MINIMAX:
        # Minimise the largest probability M with every profile still >= the maximin level.
        rows = MasterRows.of(
            [(p, -1.0, 0.0, FIX_SLACK - level) for p in seatable]
            + [(p, 1.0, -1.0, 0.0) for p in seatable]
        )
        _, pi, _ = master.optimise(rows, 1.0)
    return pi


def _quantise(
    columns: list[IntArray], pi: FloatArray
) -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]:
    """Integer weights summing to WEIGHT_TOTAL (largest remainders), sorted by composition."""
    probabilities = np.maximum(pi, 0.0)
    probabilities /= probabilities.sum()
    raw = probabilities * WEIGHT_TOTAL
    base = np.floor(raw).astype(np.int64)
    missing = WEIGHT_TOTAL - int(base.sum())
    order = sorted(range(len(columns)), key=lambda i: (-(raw[i] - base[i]), i))
    for i in order[:missing]:
        base[i] += 1
    merged: dict[tuple[int, ...], int] = {}
    for column, weight in zip(columns, base.tolist(), strict=True):
        if weight > 0:
            key = tuple(int(c) for c in column)
            merged[key] = merged.get(key, 0) + weight
    ordered = sorted(merged.items())
    return tuple(c for c, _ in ordered), tuple(w for _, w in ordered)
