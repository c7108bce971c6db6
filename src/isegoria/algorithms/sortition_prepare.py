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
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from isegoria.algorithms.sortition_model import (
    InfeasibleQuotasError,
    JuryPool,
    PoolTooSmallError,
    Quotas,
    SeatRange,
    SortitionError,
    check_pool_against_quotas,
    check_quotas,
    iter_value_rows,
)
from isegoria.algorithms.sortition_portfolio import Portfolio

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
# HiGHS defaults (1e-7) are coarse next to probabilities of 1e-5; tighten them.
LP_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
MILP_OPTIONS = {"mip_rel_gap": 1e-9}
# Safety net on column generation rounds per leximin level (convergence takes far fewer).
MAX_PRICING_ROUNDS = 5_000


@dataclass(frozen=True)
class _Problem:
    jury_size: int
    upper: IntArray  # most seats a profile can take: min(n_p, k)
    scale: FloatArray  # a_p(c) = c_p * scale_p
    rows: tuple[tuple[str, str, SeatRange], ...]
    incidence: FloatArray  # rows x profiles, 1 where the profile has the row's value
    low: FloatArray
    high: FloatArray

    def milp_constraints(self) -> list[LinearConstraint]:
        n = self.upper.size
        k = float(self.jury_size)
        return [
            LinearConstraint(np.ones((1, n)), k, k),
            LinearConstraint(self.incidence, self.low, self.high),
        ]


def _build_problem(pool: JuryPool, jury_size: int, quotas: Quotas) -> _Problem:
    sizes = np.asarray(pool.sizes, dtype=np.float64)
    rows: list[tuple[str, str, SeatRange]] = []
    incidence: list[FloatArray] = []
    for s_index, stratum, value, bounds in iter_value_rows(pool.strata, quotas):
        mask = np.array([p[s_index] == value for p in pool.profiles], dtype=np.float64)
        available = int(sizes @ mask)
        if bounds.min_seats > available:
            raise InfeasibleQuotasError(
                f"quota {stratum}={value!r} needs at least {bounds.min_seats} seats but only "
                f"{available} eligible volunteers have {stratum}={value!r}; lower the minimum "
                "or recruit more volunteers"
            )
        if mask.any():
            rows.append((stratum, value, bounds))
            incidence.append(mask)
    for stratum in pool.strata:
        reachable = sum(
            min(b.max_seats, int(sizes @ m))
            for (s, _, b), m in zip(rows, incidence, strict=True)
            if s == stratum
        )
        if reachable < jury_size:
            raise InfeasibleQuotasError(
                f"stratum {stratum!r}: the maximum seats, capped by the volunteers available "
                f"for each value, allow only {reachable} jurors, fewer than the jury size "
                f"{jury_size}; raise maximums or recruit more volunteers"
            )
    return _Problem(
        jury_size=jury_size,
        upper=np.minimum(np.asarray(pool.sizes, dtype=np.int64), jury_size),
        scale=pool.total / (jury_size * sizes),
        rows=tuple(rows),
        incidence=np.vstack(incidence),
        low=np.array([b.min_seats for _, _, b in rows], dtype=np.float64),
        high=np.array([b.max_seats for _, _, b in rows], dtype=np.float64),
    )


def _feasible_composition(problem: _Problem) -> IntArray:
    """A quota-satisfying composition, or a clear error naming the quotas to relax.

    Elastic MILP: minimise the total seats by which quotas are missed; a positive optimum
    proves infeasibility and its slacks show one smallest relaxation that would fix it.
    """
    n, r = problem.upper.size, len(problem.rows)
    eye = np.eye(r)
    zeros = np.zeros((r, r))
    k = float(problem.jury_size)
    constraints = [
        LinearConstraint(np.hstack([np.ones((1, n)), np.zeros((1, 2 * r))]), k, k),
        LinearConstraint(np.hstack([problem.incidence, eye, zeros]), problem.low, np.inf),
        LinearConstraint(np.hstack([problem.incidence, zeros, -eye]), -np.inf, problem.high),
    ]
    result = milp(
        np.concatenate([np.zeros(n), np.ones(2 * r)]),
        integrality=np.concatenate([np.ones(n), np.zeros(2 * r)]),
        bounds=Bounds(np.zeros(n + 2 * r), np.concatenate([problem.upper, np.full(2 * r, np.inf)])),
        constraints=constraints,
        options=MILP_OPTIONS,
    )
    if result.status != 0 or result.x is None:
        raise SortitionError(f"the feasibility MILP failed: {result.message}")
    if result.fun > 0.5:
        misses = []
        for i, (stratum, value, bounds) in enumerate(problem.rows):
            below, above = round(result.x[n + i]), round(result.x[n + r + i])
            if below:
                misses.append(f"{stratum}={value!r} minimum {bounds.min_seats} by {below} seat(s)")
            if above:
                misses.append(f"{stratum}={value!r} maximum {bounds.max_seats} by {above} seat(s)")
        raise InfeasibleQuotasError(
            f"no jury of {problem.jury_size} from this pool meets all quotas together; the "
            f"closest possible jury misses {'; '.join(misses)}: relax these quotas or "
            "recruit more volunteers"
        )
    composition: IntArray = np.rint(result.x[:n]).astype(np.int64)
    return composition


def _best_composition(
    problem: _Problem, values: FloatArray, constraints: list[LinearConstraint]
) -> IntArray:
    """The quota-satisfying composition c maximising values . c (the pricing MILP)."""
    # Rescale so the largest |value| is 1: MILP gap tolerances are relative to that scale.
    top = float(np.abs(values).max())
    objective = -(values / top) if top > 0 else np.zeros_like(values)
    result = milp(
        objective,
        integrality=np.ones(values.size),
        bounds=Bounds(np.zeros(values.size), problem.upper),
        constraints=constraints,
        options=MILP_OPTIONS,
    )
    if result.status != 0 or result.x is None:
        raise SortitionError(f"the pricing MILP failed: {result.message}")
    composition: IntArray = np.rint(result.x).astype(np.int64)
    return composition


@dataclass(frozen=True)
class _Rows:
    """Master LP rows ``sigma * sum_c pi_c a_p(c) + t * X <= b``, one per (profile, bound)."""

    profile: IntArray
    sigma: FloatArray
    t: FloatArray
    b: FloatArray

    @classmethod
    def of(cls, rows: list[tuple[int, float, float, float]]) -> _Rows:
        p, sigma, t, b = zip(*rows, strict=True)
        return cls(np.array(p), np.array(sigma), np.array(t), np.array(b))


@dataclass
class _Master:
    problem: _Problem
    columns: list[IntArray]

    def solve(self, rows: _Rows, x_cost: float) -> tuple[float, FloatArray, FloatArray, float]:
        """(X, pi, row marginals, equality marginal) minimising x_cost * X over the columns."""
        m = len(self.columns)
        shares = np.column_stack(self.columns) * self.problem.scale[:, None]  # a_p(c)
        result = linprog(
            np.concatenate([np.zeros(m), [x_cost]]),
            A_ub=np.hstack([rows.sigma[:, None] * shares[rows.profile], rows.t[:, None]]),
            b_ub=rows.b,
            A_eq=np.concatenate([np.ones(m), [0.0]])[None, :],
            b_eq=[1.0],
            bounds=[(0.0, None)] * m + [(None, None)],
            method="highs-ds",
            options=LP_OPTIONS,
        )
        if result.status != 0:
            raise SortitionError(f"the master LP failed: {result.message}")
        marginals = np.asarray(result.ineqlin.marginals, dtype=np.float64)
        eq_marginal = float(result.eqlin.marginals[0])
        return float(result.x[-1]), np.asarray(result.x[:-1]), marginals, eq_marginal

    def optimise(self, rows: _Rows, x_cost: float) -> tuple[float, FloatArray, FloatArray]:
        """Column generation to convergence; returns (X, pi, row marginals).

        A column c has reduced cost -(G^T lambda) . c - lambda_eq, where G maps seats to the
        rows' coefficients; it improves the LP iff v . c > -lambda_eq with v = G^T lambda.
        """
        constraints = self.problem.milp_constraints()
        known = {tuple(c.tolist()) for c in self.columns}
        for _ in range(MAX_PRICING_ROUNDS):
            x, pi, marginals, eq_marginal = self.solve(rows, x_cost)
            values = np.zeros(self.problem.scale.size)
            np.add.at(values, rows.profile, rows.sigma * marginals)
            values *= self.problem.scale
            best = _best_composition(self.problem, values, constraints)
            gain = float(values @ best) + eq_marginal
            key = tuple(best.tolist())
            if gain <= PRICING_TOLERANCE * max(1.0, abs(eq_marginal)) or key in known:
                return x, pi, marginals
            known.add(key)
            self.columns.append(best)
        raise SortitionError("column generation did not converge; report this pool")


def prepare_portfolio(
    pool: JuryPool,
    jury_size: int,
    quotas: Quotas,
    *,
    method: str = MAXIMIN_MINIMAX,
) -> Portfolio:
    """The fairest portfolio for the pool: maximin first, then ``method``'s tie-break.

    ``maximin-minimax`` (default) then minimises the largest probability, ``leximin`` the
    paper's lexicographic refinement, ``maximin`` stops after the minimum. Raises
    PoolTooSmallError for an empty or too small pool and InfeasibleQuotasError (naming the
    quotas that cannot be met) when no jury satisfies the quotas.
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
    problem = _build_problem(pool, jury_size, quotas)
    master = _Master(problem, [_feasible_composition(problem)])
    n = problem.upper.size
    fixed: dict[int, float] = {}
    while True:
        # Maximise z with every open profile >= z and every fixed one >= its level.
        rows = _Rows.of(
            [
                (p, -1.0, 0.0, FIX_SLACK - fixed[p]) if p in fixed else (p, -1.0, 1.0, 0.0)
                for p in range(n)
            ]
        )
        level, pi, marginals = master.optimise(rows, -1.0)
        if method != LEXIMIN:
            break
        open_profiles = [p for p in range(n) if p not in fixed]
        duals = -marginals
        tight = [p for p in open_profiles if duals[p] > FIX_DUAL_THRESHOLD]
        for p in tight or [max(open_profiles, key=lambda q: duals[q])]:
            fixed[p] = level
        if len(fixed) == n:
            break
    if method == MAXIMIN_MINIMAX:
        # Minimise the largest probability M with every profile still >= the maximin level.
        rows = _Rows.of(
            [(p, -1.0, 0.0, FIX_SLACK - level) for p in range(n)]
            + [(p, 1.0, -1.0, 0.0) for p in range(n)]
        )
        _, pi, _ = master.optimise(rows, 1.0)
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
    )


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
