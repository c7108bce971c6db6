"""Fast, inexact construction of quota-satisfying compositions, seat by seat.

Preparation needs many allowed compositions: enough to seat every seatable profile at least
once, then the ones column generation prices in. An exact MILP per composition costs about
10 ms; a greedy construction costs well under one. The greedy never decides anything on its
own: every composition it returns is checked against every quota, and whenever it finds
nothing (or nothing good enough) the exact MILP of ``sortition_problem`` takes over, so the
result stays optimal and a profile is only declared unseatable on the MILP's proof.

The construction fills seats one at a time with a profile that keeps the jury completable
as far as each stratum alone can tell (no value over its maximum; in every stratum, the
seats still missing to reach its values' minimums no more than the seats left), preferring
the profile that fills the most missing minimums, then the highest priority. Strata
interact, so it can still dead-end (then it returns None), but rarely.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from isegoria.algorithms.sortition_problem import (
    SeatProblem,
    feasible_composition,
    seat_profile,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class Builder:
    """Greedy composition builder for one problem (its index arrays are built once)."""

    def __init__(self, problem: SeatProblem) -> None:
        """Index every profile's quota rows, one per stratum."""
        self.problem = problem
        incidence = problem.incidence
        strata = list(dict.fromkeys(stratum for stratum, _, _ in problem.rows))
        self.row_stratum = np.array([strata.index(s) for s, _, _ in problem.rows])
        # profile_rows[p, s]: the quota row of profile p's value in stratum s.
        self.profile_rows = np.array(
            [np.flatnonzero(incidence[:, p]) for p in range(incidence.shape[1])], dtype=np.int64
        ).reshape(incidence.shape[1], len(strata))
        self.low = problem.low.astype(np.int64)
        self.high = problem.high.astype(np.int64)
        self.strata = len(strata)

    def build(
        self, priority: FloatArray, *, once: BoolArray | None = None, first: int | None = None
    ) -> IntArray | None:
        """A composition filled by ``priority`` (highest first), or None at a dead end.

        A profile marked in ``once`` drops to priority 0 after its first seat, so a cover
        spreads its seats over many profiles; ``first`` takes the first seat.
        """
        problem = self.problem
        priority = priority.astype(np.float64, copy=True)
        seats = np.zeros(problem.upper.size, dtype=np.int64)
        taken = np.zeros(self.low.size, dtype=np.int64)
        rows = self.profile_rows
        rank: FloatArray | None = None  # computed again only when a priority changes
        for left in range(problem.jury_size, 0, -1):
            short = taken < self.low
            short_rows = short[rows]
            missing = np.bincount(
                self.row_stratum, weights=np.maximum(self.low - taken, 0), minlength=self.strata
            )
            # Per quota row first, then per profile: the same test as on taken[rows], on
            # a few dozen rows instead of every profile's.
            fits = (seats < problem.upper) & (taken < self.high)[rows].all(axis=1)
            fits &= (missing[None, :] - short_rows <= left - 1).all(axis=1)
            if not fits.any():
                return None
            # Minimums first: a profile filling more of the still-missing values wins, and
            # priority only orders profiles that fill equally many (dead ends are then rare).
            if rank is None:
                spread = float(priority.max() - priority.min())
                rank = (priority - priority.min()) / spread if spread > 0 else priority * 0.0
            score = short_rows.sum(axis=1) + 0.5 * rank
            pick = int(np.argmax(np.where(fits, score, -np.inf)))
            if first is not None:
                pick, first = first, None
                if not fits[pick]:
                    return None
            seats[pick] += 1
            taken[rows[pick]] += 1
            if once is not None and once[pick] and priority[pick] != 0.0:
                priority[pick] = 0.0
                rank = None
        if np.any(taken < self.low) or np.any(taken > self.high):
            return None
        return seats

    def cover(self, unseated: BoolArray, *, first: int | None = None) -> IntArray | None:
        """A composition seating many of the ``unseated`` profiles (and ``first``)."""
        # Unseated profiles before seated ones, lower index first; seated ones only fill in.
        priority = np.where(unseated, np.linspace(2.0, 1.0, num=unseated.size), 0.0)
        return self.build(priority, once=unseated, first=first)


def cover_profiles(problem: SeatProblem) -> tuple[list[IntArray], list[int]]:
    """Allowed compositions that together seat every seatable profile, and the others.

    Raises InfeasibleQuotasError, naming the quotas to relax, when no jury is allowed.

    Greedy compositions first, each seating as many not-yet-seated profiles as it can;
    then, for each profile still unseated, a greedy try with that profile first and, if
    that fails, the exact seating MILP, whose infeasibility proves the profile unseatable.
    The compositions also start column generation with every seatable profile present.
    """
    builder = Builder(problem)
    n = problem.upper.size
    first = builder.build(np.zeros(n))
    if first is None:
        first = feasible_composition(problem)
    columns = [first]
    seated = first > 0

    def add(composition: IntArray | None) -> bool:
        if composition is None or not np.any((composition > 0) & ~seated):
            return False
        columns.append(composition)
        seated[composition > 0] = True
        return True

    while not seated.all() and add(builder.cover(~seated)):
        pass
    unseatable: list[int] = []
    for p in range(n):
        if not seated[p]:
            add(builder.cover(~seated, first=p))
        if not seated[p] and not add(seat_profile(problem, p, (~seated).astype(np.float64))):
            unseatable.append(p)
    return columns, unseatable
