"""The master LP of the lottery's column generation, kept warm between pricing rounds.

Each pricing round adds a few compositions (columns) to the master LP and solves it again.
Solving from scratch every round (scipy's ``linprog``) was most of the preparation time at a
few hundred strata profiles (issue 16: 300 profiles in under 2 s). HiGHS's own Python
package keeps the model and its optimal basis between solves: new columns enter nonbasic at
zero, the old basis stays primal feasible, and the simplex needs only a few iterations to
take the improving columns in. The optimum is the same LP's, so the lottery's value is too.

The master over compositions c (variables pi_c >= 0 with sum pi_c = 1, and one free X)
minimises ``x_cost * X`` subject to one row per (profile, bound):
``sigma * sum_c pi_c * a_p(c) + t * X <= b``, where a_p(c) = c_p * scale_p.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt

from isegoria.algorithms.sortition_model import SortitionError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# HiGHS defaults (1e-7) are coarse next to probabilities of 1e-5; tighten them.
# Warm starts come from the kept basis, which presolve would discard. New columns leave the
# basis primal feasible, so the primal simplex (strategy 4) resumes from it; the default
# dual simplex took three times the iterations on the benchmark pools.
OPTIONS: dict[str, float | str | int] = {
    "primal_feasibility_tolerance": 1e-10,
    "dual_feasibility_tolerance": 1e-10,
    "presolve": "off",
    "simplex_strategy": 4,
}


class _QuietHighs(highspy.Highs):
    """HiGHS with its log off before it can print anything.

    ``highspy.Highs()`` enables its callbacks while constructing, which prints the solver's
    banner while ``output_flag`` still has its default (on); turning the option off first
    keeps a server's and a CLI's output clean.
    """

    def __init__(self) -> None:
        """A HiGHS instance that never logs."""
        super().__init__()  # type: ignore[no-untyped-call]  # highspy leaves it untyped

    def enableCallbacks(self) -> None:  # noqa: N802 (HiGHS's name)
        """Switch the log off, then enable the callbacks as HiGHS does."""
        self.setOptionValue("output_flag", False)
        super().enableCallbacks()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class MasterRows:
    """Master LP rows ``sigma * sum_c pi_c a_p(c) + t * X <= b``, one per (profile, bound)."""

    profile: IntArray
    sigma: FloatArray
    t: FloatArray
    b: FloatArray

    @classmethod
    def of(cls, rows: list[tuple[int, float, float, float]]) -> MasterRows:
        """Rows from (profile, sigma, t, b) tuples."""
        p, sigma, t, b = zip(*rows, strict=True)
        return cls(np.array(p), np.array(sigma), np.array(t), np.array(b))


class MasterLP:
    """One master LP (fixed rows and objective) that columns are added to between solves."""

    def __init__(self, rows: MasterRows, x_cost: float, scale: FloatArray) -> None:
        """Build the rows and the X column; add compositions with ``add``."""
        self.rows = rows
        self.x_cost = x_cost
        self.scale = scale
        self.columns = 0
        self._highs = _QuietHighs()
        for name, value in OPTIONS.items():
            self._highs.setOptionValue(name, value)
        inf = highspy.kHighsInf
        self._highs.addCol(x_cost, -inf, inf, 0, np.array([], np.int32), np.array([]))
        n = rows.profile.size
        with_x = np.flatnonzero(rows.t)
        starts = np.zeros(n + 1, dtype=np.int32)
        np.add.at(starts, with_x + 1, 1)
        starts = np.cumsum(starts)[:-1].astype(np.int32)
        self._highs.addRows(
            n + 1,
            np.concatenate([np.full(n, -inf), [1.0]]),
            np.concatenate([rows.b, [1.0]]),
            with_x.size,
            np.concatenate([starts, [with_x.size]]).astype(np.int32),
            np.zeros(with_x.size, dtype=np.int32),
            rows.t[with_x].astype(np.float64),
        )
        # The rows of each profile, to place a composition's coefficients.
        order = np.argsort(rows.profile, kind="stable")
        self._row_order = order
        self._row_profiles = rows.profile[order]

    def retarget(self, rows: MasterRows) -> bool:
        """Change the rows' X coefficients and bounds in place, keeping the basis.

        Leximin's levels only fix profiles (their X coefficient becomes 0 and their bound
        the level): the next level resumes from this one's basis. False, and nothing
        changed, when the rows are not the same profiles and signs.
        """
        if not (
            np.array_equal(rows.profile, self.rows.profile)
            and np.array_equal(rows.sigma, self.rows.sigma)
        ):
            return False
        inf = highspy.kHighsInf
        for r in np.flatnonzero((rows.t != self.rows.t) | (rows.b != self.rows.b)).tolist():
            self._highs.changeCoeff(r, 0, float(rows.t[r]))
            self._highs.changeRowBounds(r, -inf, float(rows.b[r]))
        self.rows = rows
        return True

    def add(self, compositions: Sequence[IntArray]) -> None:
        """Add compositions as new columns (each enters nonbasic at zero)."""
        if not compositions:
            return
        equality = self.rows.profile.size
        starts, indices, values = [], [], []
        count = 0
        for composition in compositions:
            starts.append(count)
            seated = np.flatnonzero(composition)
            lo = np.searchsorted(self._row_profiles, seated, side="left")
            hi = np.searchsorted(self._row_profiles, seated, side="right")
            for p, a, b in zip(seated.tolist(), lo.tolist(), hi.tolist(), strict=True):
                share = float(composition[p]) * float(self.scale[p])
                for r in self._row_order[a:b].tolist():
                    indices.append(r)
                    values.append(float(self.rows.sigma[r]) * share)
            indices.append(equality)
            values.append(1.0)
            count = len(indices)
        m = len(compositions)
        self._highs.addCols(
            m,
            np.zeros(m),
            np.zeros(m),
            np.full(m, highspy.kHighsInf),
            len(indices),
            np.array(starts, dtype=np.int32),
            np.array(indices, dtype=np.int32),
            np.array(values, dtype=np.float64),
        )
        self.columns += m

    def solve(self) -> tuple[float, FloatArray, FloatArray, float]:
        """(X, pi, row duals, equality dual), the duals signed as scipy's marginals."""
        self._highs.run()
        status = self._highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            message = self._highs.modelStatusToString(status)
            raise SortitionError(f"the master LP failed: {message}")
        solution = self._highs.getSolution()
        values = np.asarray(solution.col_value, dtype=np.float64)
        duals = np.asarray(solution.row_dual, dtype=np.float64)
        n = self.rows.profile.size
        return float(values[0]), values[1:], duals[:n], float(duals[n])
