"""Which juries the quotas allow: the small integer programs behind the lottery.

A *composition* gives the seats of every strata profile. It is allowed when it seats exactly
the jury size, never more people of a profile than the pool holds, and every quota's
[minimum, maximum] holds for the seats of each stratum value. Everything here works on
compositions (one integer per profile), never on people: volunteers of a profile are
interchangeable for the quotas.

Seatability (issue 16): a profile can be seated when some allowed composition gives it at
least one seat. Profiles that cannot are left out of the lottery's optimisation, since no
lottery can give them any chance, and each is published with the quotas that block it: the
*closest* jury seating one of them, the one that misses the quotas by the fewest seats in
total, and the quotas it misses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from isegoria.algorithms.sortition_model import (
    InfeasibleQuotasError,
    Profile,
    QuotaMiss,
    Quotas,
    SeatRange,
    SortitionError,
    Unseatable,
    iter_value_rows,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# HiGHS's default relative gap (1e-4) could stop a pricing MILP short of the best
# composition and end column generation early; compositions are small, so ask for more.
MILP_OPTIONS = {"mip_rel_gap": 1e-9}
# An LP solution this close to integers is read as the integral vertex it is.
INTEGRAL_TOLERANCE = 1e-7


@dataclass(frozen=True)
class SeatProblem:
    """The allowed compositions of one pool shape, as linear constraints over profiles."""

    jury_size: int
    profiles: tuple[Profile, ...]
    upper: IntArray  # most seats a profile can take: min(n_p, k)
    rows: tuple[tuple[str, str, SeatRange], ...]
    incidence: FloatArray  # rows x profiles, 1 where the profile has the row's value
    low: FloatArray
    high: FloatArray

    def constraints(self) -> list[LinearConstraint]:
        """Jury size and quotas, over the profile seat counts."""
        n = self.upper.size
        k = float(self.jury_size)
        # Sparse matrices: for a dense one, LinearConstraint turns every warning into an error
        # for a moment with warnings.catch_warnings, which changes the filters of the whole
        # process, not of this thread; a warning raised meanwhile in another thread (the
        # server starting while the worker draws a jury) then became an exception.
        return [
            LinearConstraint(sparse.csr_array(np.ones((1, n))), k, k),
            LinearConstraint(sparse.csr_array(self.incidence), self.low, self.high),
        ]

    def index(self, profile: Profile) -> int:
        """The position of a profile of this problem."""
        return self.profiles.index(profile)

    @cached_property
    def quota_rows(self) -> sparse.csr_array:
        """The quotas as ``quota_rows @ c <= quota_bounds`` (maximums, then minimums)."""
        return sparse.csr_array(np.vstack([self.incidence, -self.incidence]))

    @cached_property
    def quota_bounds(self) -> FloatArray:
        """The right-hand side of ``quota_rows``."""
        return np.concatenate([self.high, -self.low])

    def allows(self, seats: FloatArray) -> bool:
        """Whether an integral seat vector is an allowed composition (exact check)."""
        taken = self.incidence @ seats
        return bool(
            seats.sum() == self.jury_size
            and np.all((seats >= 0) & (seats <= self.upper))
            and np.all((taken >= self.low) & (taken <= self.high))
        )


def build_problem(
    strata: Sequence[str],
    profiles: Sequence[Profile],
    sizes: Sequence[int],
    jury_size: int,
    quotas: Quotas,
) -> SeatProblem:
    """The constraints of the pool shape; names a quota no pool of this shape can meet."""
    counts = np.asarray(sizes, dtype=np.float64)
    rows: list[tuple[str, str, SeatRange]] = []
    incidence: list[FloatArray] = []
    for s_index, stratum, value, bounds in iter_value_rows(strata, quotas):
        mask = np.array([p[s_index] == value for p in profiles], dtype=np.float64)
        available = int(counts @ mask)
        if bounds.min_seats > available:
            raise InfeasibleQuotasError(
                f"quota {stratum}={value!r} needs at least {bounds.min_seats} seats but only "
                f"{available} eligible volunteers have {stratum}={value!r}; lower the minimum "
                "or recruit more volunteers"
            )
        if mask.any():
            rows.append((stratum, value, bounds))
            incidence.append(mask)
    for stratum in strata:
        reachable = sum(
            min(b.max_seats, int(counts @ m))
            for (s, _, b), m in zip(rows, incidence, strict=True)
            if s == stratum
        )
        if reachable < jury_size:
            raise InfeasibleQuotasError(
                f"stratum {stratum!r}: the maximum seats, capped by the volunteers available "
                f"for each value, allow only {reachable} jurors, fewer than the jury size "
                f"{jury_size}; raise maximums or recruit more volunteers"
            )
    return SeatProblem(
        jury_size=jury_size,
        profiles=tuple(profiles),
        upper=np.minimum(np.asarray(sizes, dtype=np.int64), jury_size),
        rows=tuple(rows),
        incidence=np.vstack(incidence),
        low=np.array([b.min_seats for _, _, b in rows], dtype=np.float64),
        high=np.array([b.max_seats for _, _, b in rows], dtype=np.float64),
    )


def closest_jury(
    problem: SeatProblem, *, seating: int | None = None
) -> tuple[IntArray, tuple[QuotaMiss, ...]]:
    """The composition missing the quotas by the fewest seats, and the quotas it misses.

    Elastic MILP: every quota row gets a shortfall and an excess variable, and their total
    is minimised. With ``seating`` the composition must give that profile a seat. No miss
    means the composition is allowed; misses prove that no allowed one exists, and show a
    smallest relaxation of the quotas that would admit one.
    """
    n, r = problem.upper.size, len(problem.rows)
    eye = np.eye(r)
    zeros = np.zeros((r, r))
    k = float(problem.jury_size)
    # One sparse constraint: scipy then leaves the process's warning filters alone (see
    # SeatProblem.constraints; a list of exactly three is first tried as one dense tuple).
    rows = sparse.vstack(
        [
            sparse.csr_array(np.hstack([np.ones((1, n)), np.zeros((1, 2 * r))])),
            sparse.csr_array(np.hstack([problem.incidence, eye, zeros])),
            sparse.csr_array(np.hstack([problem.incidence, zeros, -eye])),
        ],
        format="csr",
    )
    constraints = LinearConstraint(
        rows,
        np.concatenate([[k], problem.low, np.full(r, -np.inf)]),
        np.concatenate([[k], np.full(r, np.inf), problem.high]),
    )
    lower = np.zeros(n + 2 * r)
    if seating is not None:
        lower[seating] = 1.0
    result = milp(
        np.concatenate([np.zeros(n), np.ones(2 * r)]),
        integrality=np.concatenate([np.ones(n), np.zeros(2 * r)]),
        bounds=Bounds(lower, np.concatenate([problem.upper, np.full(2 * r, np.inf)])),
        constraints=constraints,
        options=MILP_OPTIONS,
    )
    if result.status != 0 or result.x is None:
        raise SortitionError(f"the feasibility MILP failed: {result.message}")
    misses: list[QuotaMiss] = []
    for i, (stratum, value, bounds) in enumerate(problem.rows):
        below, above = round(result.x[n + i]), round(result.x[n + r + i])
        if below:
            misses.append(QuotaMiss(stratum, value, "minimum", bounds.min_seats, below))
        if above:
            misses.append(QuotaMiss(stratum, value, "maximum", bounds.max_seats, above))
    composition: IntArray = np.rint(result.x[:n]).astype(np.int64)
    return composition, tuple(misses)


def feasible_composition(problem: SeatProblem) -> IntArray:
    """An allowed composition, or InfeasibleQuotasError naming the quotas to relax."""
    n = problem.upper.size
    result = milp(
        np.zeros(n),
        integrality=np.ones(n),
        bounds=Bounds(np.zeros(n), problem.upper),
        constraints=problem.constraints(),
    )
    if result.status == 0 and result.x is not None:
        found: IntArray = np.rint(result.x).astype(np.int64)
        return found
    # Infeasible (or failed): the slower elastic MILP says which quotas are to blame.
    composition, misses = closest_jury(problem)
    if misses:
        raise InfeasibleQuotasError(
            f"no jury of {problem.jury_size} from this pool meets all quotas together; the "
            f"closest possible jury misses {'; '.join(m.describe() for m in misses)}: relax "
            "these quotas or recruit more volunteers"
        )
    return composition


def best_composition(
    problem: SeatProblem, values: FloatArray, constraints: list[LinearConstraint]
) -> IntArray:
    """The allowed composition c maximising values . c (the pricing MILP)."""
    # Rescale so the largest |value| is 1: MILP gap tolerances are relative to that scale.
    top = float(np.abs(values).max())
    objective = -(values / top) if top > 0 else np.zeros_like(values)
    # The LP relaxation first: it is several times faster, and when its optimal vertex is
    # integral (most of the time with quotas like these) it is the MILP's optimum too.
    relaxed = linprog(
        objective,
        A_ub=problem.quota_rows,
        b_ub=problem.quota_bounds,
        A_eq=np.ones((1, values.size)),
        b_eq=[float(problem.jury_size)],
        bounds=np.column_stack([np.zeros(values.size), problem.upper]),
        method="highs-ds",
    )
    if relaxed.status == 0 and relaxed.x is not None:
        vertex = np.rint(relaxed.x)
        if np.abs(relaxed.x - vertex).max() <= INTEGRAL_TOLERANCE and problem.allows(vertex):
            integral: IntArray = vertex.astype(np.int64)
            return integral
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


def seat_profile(problem: SeatProblem, profile: int, prefer: FloatArray) -> IntArray | None:
    """An allowed composition giving ``profile`` a seat (most ``prefer`` weight), or None.

    None is the MILP's proof that no allowed composition seats anyone of the profile.
    """
    n = problem.upper.size
    lower = np.zeros(n)
    lower[profile] = 1.0
    result = milp(
        -prefer,
        integrality=np.ones(n),
        bounds=Bounds(lower, problem.upper),
        constraints=problem.constraints(),
    )
    if result.status == 2:  # infeasible
        return None
    if result.status != 0 or result.x is None:
        raise SortitionError(f"the seating MILP failed: {result.message}")
    composition: IntArray = np.rint(result.x).astype(np.int64)
    return composition


def explain_unseatable(problem: SeatProblem, indices: Sequence[int]) -> tuple[Unseatable, ...]:
    """Each unseatable profile with the quotas its closest jury misses."""
    found = []
    for i in indices:
        _, misses = closest_jury(problem, seating=i)
        if not misses:
            raise SortitionError(f"profile {problem.profiles[i]} can be seated after all")
        found.append(Unseatable(problem.profiles[i], misses))
    return tuple(found)
