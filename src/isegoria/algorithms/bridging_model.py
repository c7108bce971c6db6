"""The Community Notes matrix-factorisation model and its fit.

Each rating is predicted as ``mu + i_u + i_n + f_u * f_n`` with one latent dimension
([ranking] "Matrix Factorization"; [paper] §3), and the parameters minimise

    L = sum over ratings (r - prediction)^2
        + lambda_i (mu^2 + sum i_u^2 + sum i_n^2) + lambda_f (sum f_u^2 + sum f_n^2)

(constants and the ``penalty_scaling`` variant: :class:`ScoringParams`). The note
intercept ``i_n`` is the note's helpfulness score.

Optimiser: alternating least squares plus exact "gauge" steps. With the rater
parameters fixed, each note's ``(i_n, f_n)`` is a 2 x 2 ridge regression with a closed
form, and vice versa; ``mu`` is a scalar ridge mean. One sweep solves the note block,
the rater block and ``mu`` exactly, all vectorised (``np.bincount`` sums per note and per
rater; no Python loop over ratings). Each step minimises L exactly over its block, so L
never increases. Plain ALS, and full-batch L-BFGS (scipy) which we tried first, crawl
along directions where only the penalties decide, because the data term is invariant
under these "gauge" moves:

* ``mu += a + b, i_u -= a, i_n -= b`` (intercept offsets);
* ``f_u += t, i_n -= t f_n`` and ``f_n += t, i_u -= t f_u`` (factor shifts);
* ``f_u *= s, f_n /= s`` (factor scale).

The optimum along each is a closed form in the penalties alone and costs no pass over
the ratings. Measured on planted data with the literal penalties (the slower case):
40,000 ratings took 2,340 plain ALS sweeps but 55 with gauge steps; 400,000 ratings took
L-BFGS 1,769 iterations (212 s) but ALS with gauge steps 120 sweeps (1 s). With the
default penalties 10^6 ratings need about 15 sweeps (benchmarks/notes_bench.py). [code]
uses Adam on the same loss; exact block minimisation needs no learning rate.

Convergence: the fit stops when ``max |dL/dtheta| / (d2L/dtheta2)`` over all parameters,
the largest move a one-parameter Newton step would make, is below ``step_tolerance``.
The start is deterministic: ridge intercepts, then factors from the leading singular
pair of the residual matrix by a seeded power method (``f = 0`` is a saddle point where
ALS would stay).

Sign: ``(f_u, f_n) -> (-f_u, -f_n)`` leaves L unchanged. As in [code]
(``_flip_factors_for_identification``), factors are flipped so that the larger group of
raters has a negative factor; on an exact tie, so that rater factors sum to a negative
number; if that ties too, they stay as fitted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from isegoria.algorithms.bridging_data import FloatArray, IntArray, RatingsMatrix
from isegoria.algorithms.bridging_params import DEFAULT_PARAMS, ScoringParams

IndexArray = npt.NDArray[np.intp]


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


class Objective:
    """The loss L over compact indices (every rater and note present has a rating)."""

    def __init__(
        self,
        rater: IndexArray,
        note: IndexArray,
        value: FloatArray,
        n_raters: int,
        n_notes: int,
        params: ScoringParams = DEFAULT_PARAMS,
    ) -> None:
        """Precompute counts and penalty weights; indices must be dense in [0, n)."""
        self.rater, self.note, self.value = rater, note, value
        self.n_raters, self.n_notes = n_raters, n_notes
        self.rater_count = np.bincount(rater, minlength=n_raters).astype(np.float64)
        self.note_count = np.bincount(note, minlength=n_notes).astype(np.float64)
        n = float(len(value))
        if params.penalty_scaling == "documented":
            scale_mu = scale_rater = scale_note = 1.0
        else:  # [code]: lambda * mean(block^2); times N to sit beside a sum of errors
            scale_mu, scale_rater, scale_note = n, n / n_raters, n / n_notes
        li, lf = params.intercept_lambda, params.factor_lambda
        self.p_mu = li * scale_mu
        self.pi_u, self.pf_u = li * scale_rater, lf * scale_rater
        self.pi_n, self.pf_n = li * scale_note, lf * scale_note

    @property
    def size(self) -> int:
        """The number of parameters: mu, rater and note intercepts, rater and note factors."""
        return 1 + 2 * (self.n_raters + self.n_notes)

    def split(self, x: FloatArray) -> tuple[float, FloatArray, FloatArray, FloatArray, FloatArray]:
        """Views of ``x`` as (mu, i_u, i_n, f_u, f_n)."""
        u, m = self.n_raters, self.n_notes
        return (
            float(x[0]),
            x[1 : 1 + u],
            x[1 + u : 1 + u + m],
            x[1 + u + m : 1 + 2 * u + m],
            x[1 + 2 * u + m :],
        )

    def residuals(self, x: FloatArray) -> FloatArray:
        """Prediction minus rating, for every rating."""
        mu, iu, inn, fu, fn = self.split(x)
        return mu + iu[self.rater] + inn[self.note] + fu[self.rater] * fn[self.note] - self.value

    def __call__(self, x: FloatArray) -> tuple[float, FloatArray]:
        """L at ``x`` and its gradient, in one vectorised pass over the ratings."""
        mu, iu, inn, fu, fn = self.split(x)
        fu_r, fn_n = fu[self.rater], fn[self.note]
        e = mu + iu[self.rater] + inn[self.note] + fu_r * fn_n - self.value
        loss = float(
            e @ e
            + self.p_mu * mu * mu
            + self.pi_u * (iu @ iu)
            + self.pi_n * (inn @ inn)
            + self.pf_u * (fu @ fu)
            + self.pf_n * (fn @ fn)
        )
        grad = np.empty_like(x)
        _, g_iu, g_in, g_fu, g_fn = self.split(grad)
        grad[0] = 2.0 * (e.sum() + self.p_mu * mu)
        g_iu[:] = 2.0 * (self._per_rater(e) + self.pi_u * iu)
        g_in[:] = 2.0 * (self._per_note(e) + self.pi_n * inn)
        g_fu[:] = 2.0 * (self._per_rater(e * fn_n) + self.pf_u * fu)
        g_fn[:] = 2.0 * (self._per_note(e * fu_r) + self.pf_n * fn)
        return loss, grad

    def hessian_diagonal(self, x: FloatArray) -> FloatArray:
        """The exact second derivative of L in each parameter alone."""
        _, _, _, fu, fn = self.split(x)
        return 2.0 * np.concatenate(
            [
                [len(self.value) + self.p_mu],
                self.rater_count + self.pi_u,
                self.note_count + self.pi_n,
                self._per_rater(fn[self.note] ** 2) + self.pf_u,
                self._per_note(fu[self.rater] ** 2) + self.pf_n,
            ]
        )

    def max_newton_step(self, x: FloatArray) -> float:
        """The largest one-parameter Newton step at ``x``: the convergence measure."""
        _, grad = self(x)
        return float(np.max(np.abs(grad) / self.hessian_diagonal(x)))

    def starting_point(self, seed: int, power_iterations: int) -> FloatArray:
        """Ridge intercepts, then factors from the residuals' leading singular pair."""
        x = np.zeros(self.size)
        _, iu, inn, fu, fn = self.split(x)
        x[0] = mu = float(self.value.sum() / (len(self.value) + self.p_mu))
        y = self.value - mu
        inn[:] = self._per_note(y) / (self.note_count + self.pi_n)
        y = y - inn[self.note]
        iu[:] = self._per_rater(y) / (self.rater_count + self.pi_u)
        residual = y - iu[self.rater]
        v = np.random.default_rng(seed).standard_normal(self.n_notes)
        v /= np.linalg.norm(v)
        u = np.zeros(self.n_raters)
        sigma = 0.0
        for _ in range(power_iterations):  # power method on R^T R, R = residual matrix
            u = self._per_rater(residual * v[self.note])
            if not (norm_u := float(np.linalg.norm(u))) > 0:
                return x
            u /= norm_u
            v = self._per_note(residual * u[self.rater])
            if not (sigma := float(np.linalg.norm(v))) > 0:
                return x
            v /= sigma
        balance = (self.pf_n / self.pf_u) ** 0.25  # equal factor penalties, as at an optimum
        fu[:] = u * np.sqrt(sigma) * balance
        fn[:] = v * np.sqrt(sigma) / balance
        return x

    def sweep(self, x: FloatArray) -> None:
        """One ALS sweep then the gauge steps, in place; each step is an exact minimum."""
        mu, iu, inn, fu, fn = self.split(x)
        target = self.value - mu - iu[self.rater]
        inn[:], fn[:] = self._ridge_pairs(self.note, target, fu[self.rater], notes=True)
        target = self.value - mu - inn[self.note]
        iu[:], fu[:] = self._ridge_pairs(self.rater, target, fn[self.note], notes=False)
        rest = self.value - iu[self.rater] - inn[self.note] - fu[self.rater] * fn[self.note]
        x[0] = float(rest.sum() / (len(self.value) + self.p_mu))
        self._gauge(x)

    def _ridge_pairs(
        self,
        index: IndexArray,
        target: FloatArray,
        partner: FloatArray,
        *,
        notes: bool,
    ) -> tuple[FloatArray, FloatArray]:
        """Per note (or rater): argmin of sum (target - i - f partner)^2 + p_i i^2 + p_f f^2."""
        if notes:
            count, p_intercept, p_factor = self.note_count, self.pi_n, self.pf_n
        else:
            count, p_intercept, p_factor = self.rater_count, self.pi_u, self.pf_u
        size = len(count)
        s1 = np.bincount(index, weights=partner, minlength=size)
        s2 = np.bincount(index, weights=partner * partner, minlength=size)
        b0 = np.bincount(index, weights=target, minlength=size)
        b1 = np.bincount(index, weights=target * partner, minlength=size)
        a11, a22 = count + p_intercept, s2 + p_factor
        det = a11 * a22 - s1 * s1  # > 0: Cauchy-Schwarz gives s1^2 <= count * s2
        return (a22 * b0 - s1 * b1) / det, (a11 * b1 - s1 * b0) / det

    def _gauge(self, x: FloatArray) -> None:
        """Exact minimisation along the directions that leave every prediction unchanged."""
        mu, iu, inn, fu, fn = self.split(x)
        u, m = self.n_raters, self.n_notes
        # f_u += t, i_n -= t f_n: minimise pf_u sum (f_u + t)^2 + pi_n sum (i_n - t f_n)^2.
        t = (self.pi_n * (fn @ inn) - self.pf_u * fu.sum()) / (
            self.pf_u * u + self.pi_n * (fn @ fn)
        )
        fu += t
        inn -= t * fn
        t = (self.pi_u * (fu @ iu) - self.pf_n * fn.sum()) / (self.pf_n * m + self.pi_u * (fu @ fu))
        fn += t
        iu -= t * fu
        # mu += a + b, i_u -= a, i_n -= b: a 2 x 2 linear system in (a, b).
        pm = self.p_mu
        system = np.array([[pm + self.pi_u * u, pm], [pm, pm + self.pi_n * m]])
        rhs = np.array([self.pi_u * iu.sum() - pm * mu, self.pi_n * inn.sum() - pm * mu])
        a, b = np.linalg.solve(system, rhs)
        x[0] = mu + a + b
        iu -= a
        inn -= b
        # f_u *= s, f_n /= s: minimise pf_u s^2 |f_u|^2 + pf_n |f_n|^2 / s^2.
        fu_sq, fn_sq = float(fu @ fu), float(fn @ fn)
        if fu_sq > 0 and fn_sq > 0:
            s = (self.pf_n * fn_sq / (self.pf_u * fu_sq)) ** 0.25
            fu *= s
            fn /= s

    def _per_rater(self, weights: FloatArray) -> FloatArray:
        return np.bincount(self.rater, weights=weights, minlength=self.n_raters).astype(
            np.float64, copy=False
        )

    def _per_note(self, weights: FloatArray) -> FloatArray:
        return np.bincount(self.note, weights=weights, minlength=self.n_notes).astype(
            np.float64, copy=False
        )


def fit(
    ratings: RatingsMatrix,
    params: ScoringParams = DEFAULT_PARAMS,
    init: ModelFit | None = None,
) -> ModelFit:
    """Fit the model to ``ratings`` (duplicates: last wins); warm-start from ``init``."""
    ratings, _ = ratings.deduplicated()
    if len(ratings) == 0:
        return ModelFit.empty(ratings.n_raters, ratings.n_notes)
    raters, rater_c = np.unique(ratings.rater, return_inverse=True)
    notes, note_c = np.unique(ratings.note, return_inverse=True)
    objective = Objective(
        rater_c.astype(np.intp),
        note_c.astype(np.intp),
        ratings.value,
        len(raters),
        len(notes),
        params,
    )
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
    residual = objective.residuals(x)
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
        mean_squared_error=float(residual @ residual / len(residual)),
        max_newton_step=step,
    )


def _orient(objective: Objective, x: FloatArray) -> FloatArray:
    """Flip factor signs so that most raters have a negative factor (module docstring)."""
    _, _, _, fu, _ = objective.split(x)
    negative, positive = int(np.count_nonzero(fu < 0)), int(np.count_nonzero(fu > 0))
    if positive > negative or (positive == negative and float(fu.sum()) > 0):
        x = x.copy()
        x[1 + objective.n_raters + objective.n_notes :] *= -1.0
    return x


def _has_factors(init: ModelFit, raters: IntArray, notes: IntArray) -> bool:
    """Whether ``init`` has non-zero factors for some of these raters and notes."""
    fu, fn = init.rater_factor[raters], init.note_factor[notes]
    return bool(np.nan_to_num(fu).any() and np.nan_to_num(fn).any() and np.isfinite(init.mu))


def _pack(init: ModelFit, raters: IntArray, notes: IntArray) -> FloatArray:
    """A previous fit's parameters for the raters and notes present now (NaN -> 0)."""
    parts = [
        np.array([init.mu]),
        init.rater_intercept[raters],
        init.note_intercept[notes],
        init.rater_factor[raters],
        init.note_factor[notes],
    ]
    packed: FloatArray = np.nan_to_num(np.concatenate(parts), nan=0.0)
    return packed


def _scatter(values: FloatArray, index: IntArray, size: int) -> FloatArray:
    """Full-size array with ``values`` at ``index`` and NaN elsewhere."""
    full = np.full(size, np.nan)
    full[index] = values
    return full
