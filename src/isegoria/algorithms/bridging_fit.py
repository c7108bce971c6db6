"""Fitting the bridging model: warm or cold start, ALS sweeps to convergence, orientation.

:func:`fit` runs :class:`isegoria.algorithms.bridging_model.Objective` (the loss and its
exact block steps) over the raters and notes present and returns a :class:`ModelFit`
in the caller's index spaces. A warm start (``init``, e.g. yesterday's fit) may come
from smaller index spaces: raters and notes new since then start at zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from isegoria.algorithms.bridging_data import FloatArray, IntArray, RatingsMatrix, compact_index
from isegoria.algorithms.bridging_model import Objective
from isegoria.algorithms.bridging_params import DEFAULT_PARAMS, ScoringParams


@dataclass(frozen=True, slots=True, eq=False)
class ModelFit:
    """Fitted parameters, one entry per rater and note index (NaN where absent)."""

    mu: float
    rater_intercept: FloatArray
    rater_factor: FloatArray
    note_intercept: FloatArray
    note_factor: FloatArray
    n_ratings: int
    iterations: int
    """ALS sweeps run."""
    converged: bool
    loss: float
    """The regularised loss L at the end."""
    mean_squared_error: float
    """Mean squared error of the fitted predictions (0 when there are no ratings)."""
    max_newton_step: float
    """The convergence measure at the end (see module docstring)."""

    @classmethod
    def empty(cls, n_raters: int, n_notes: int) -> ModelFit:
        """The fit of a dataset with no ratings: nothing estimated, trivially converged."""
        nan_r = np.full(n_raters, np.nan)
        nan_n = np.full(n_notes, np.nan)
        return cls(0.0, nan_r, nan_r.copy(), nan_n, nan_n.copy(), 0, 0, True, 0.0, 0.0, 0.0)


def fit(
    ratings: RatingsMatrix,
    params: ScoringParams = DEFAULT_PARAMS,
    init: ModelFit | None = None,
) -> ModelFit:
    """Fit the model to ``ratings`` (duplicates: last wins); warm-start from ``init``."""
    ratings, _ = ratings.deduplicated()
    if len(ratings) == 0:
        return ModelFit.empty(ratings.n_raters, ratings.n_notes)
    objective, raters, notes = compact_objective(ratings, params)
    if init is not None and _has_factors(init, raters, notes):
        x = _pack(init, raters, notes)
    else:
        x = objective.starting_point(params.seed, params.power_iterations)
    step = objective.max_newton_step(x)
    sweeps = 0
    while step > params.step_tolerance and sweeps < params.max_iterations:
        objective.sweep(x)
        sweeps += 1
        step = objective.max_newton_step(x)
    x = _orient(objective, x)
    loss, _ = objective(x)
    squared_error = objective.squared_error(x)
    mu, iu, inn, fu, fn = objective.split(x)
    return ModelFit(
        mu=mu,
        rater_intercept=_scatter(iu, raters, ratings.n_raters),
        rater_factor=_scatter(fu, raters, ratings.n_raters),
        note_intercept=_scatter(inn, notes, ratings.n_notes),
        note_factor=_scatter(fn, notes, ratings.n_notes),
        n_ratings=len(ratings),
        iterations=sweeps,
        converged=step <= params.step_tolerance,
        loss=loss,
        mean_squared_error=squared_error / len(ratings),
        max_newton_step=step,
    )


def compact_objective(
    ratings: RatingsMatrix, params: ScoringParams = DEFAULT_PARAMS
) -> tuple[Objective, IntArray, IntArray]:
    """The objective over the raters and notes present, with their ids (ascending)."""
    raters, rater_c = compact_index(ratings.rater, ratings.n_raters)
    notes, note_c = compact_index(ratings.note, ratings.n_notes)
    objective = Objective(rater_c, note_c, ratings.value, len(raters), len(notes), params)
    return objective, raters, notes


def _orient(objective: Objective, x: FloatArray) -> FloatArray:
    """Flip factor signs so that most raters have a negative factor (module docstring)."""
    _, _, _, fu, _ = objective.split(x)
    negative, positive = int(np.count_nonzero(fu < 0)), int(np.count_nonzero(fu > 0))
    if positive > negative or (positive == negative and float(fu.sum()) > 0):
        x = x.copy()
        x[1 + objective.n_raters + objective.n_notes :] *= -1.0
    return x


def _take(values: FloatArray, index: IntArray) -> FloatArray:
    """``values[index]``, NaN where the index lies past the end (ids new since ``values``)."""
    if len(index) == 0 or index[-1] < len(values):  # ids are ascending
        taken: FloatArray = values[index]
        return taken
    out = np.full(len(index), np.nan)
    inside = index < len(values)
    out[inside] = values[index[inside]]
    return out


def _has_factors(init: ModelFit, raters: IntArray, notes: IntArray) -> bool:
    """Whether ``init`` has non-zero factors for some of these raters and notes."""
    fu, fn = _take(init.rater_factor, raters), _take(init.note_factor, notes)
    return bool(np.nan_to_num(fu).any() and np.nan_to_num(fn).any() and np.isfinite(init.mu))


def _pack(init: ModelFit, raters: IntArray, notes: IntArray) -> FloatArray:
    """A previous fit's parameters for the raters and notes present now (NaN -> 0)."""
    parts = [
        np.array([init.mu]),
        _take(init.rater_intercept, raters),
        _take(init.note_intercept, notes),
        _take(init.rater_factor, raters),
        _take(init.note_factor, notes),
    ]
    packed: FloatArray = np.nan_to_num(np.concatenate(parts), nan=0.0)
    return packed


def _scatter(values: FloatArray, index: IntArray, size: int) -> FloatArray:
    """Full-size array with ``values`` at ``index`` and NaN elsewhere."""
    full = np.full(size, np.nan)
    full[index] = values
    return full
