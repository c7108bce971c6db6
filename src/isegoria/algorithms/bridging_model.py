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

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from isegoria.algorithms.bridging_data import (
    CHUNK_RATINGS,
    FloatArray,
    IndexLike,
    ValueLike,
    as_float,
    index_counts,
)
from isegoria.algorithms.bridging_params import DEFAULT_PARAMS, ScoringParams

IndexArray = npt.NDArray[np.intp]
ChunkTerms = Callable[[IndexLike, IndexLike, FloatArray], list[FloatArray]]
"""Per chunk of (rater, note, value): the sums a pass adds up over all chunks."""
ChunkTarget = Callable[[IndexLike, IndexLike, FloatArray], tuple[IndexLike, FloatArray, FloatArray]]


class Objective:
    """The loss L over compact indices (every rater and note present has a rating).

    Every pass over the ratings runs in chunks of ``CHUNK_RATINGS`` and adds up per-rater
    and per-note sums, so its float64 temporaries stay small at any scale; the indices
    may be int32 and the values uint8 codes (:mod:`.bridging_data`).
    """

    def __init__(
        self,
        rater: IndexLike,
        note: IndexLike,
        value: ValueLike,
        n_raters: int,
        n_notes: int,
        params: ScoringParams = DEFAULT_PARAMS,
    ) -> None:
        """Precompute counts and penalty weights; indices must be dense in [0, n)."""
        self.rater, self.note, self.value = rater, note, value
        self.n_raters, self.n_notes = n_raters, n_notes
        self.rater_count = index_counts(rater, n_raters).astype(np.float64)
        self.note_count = index_counts(note, n_notes).astype(np.float64)
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
        """Prediction minus rating, for every rating (one full-length array)."""
        mu, iu, inn, fu, fn = self.split(x)
        rater, note = self.rater, self.note
        return mu + iu[rater] + inn[note] + fu[rater] * fn[note] - as_float(self.value)

    def __call__(self, x: FloatArray) -> tuple[float, FloatArray]:
        """L at ``x`` and its gradient, in one chunked pass over the ratings."""
        loss, grad, _, _ = self._evaluate(x, curvature=False)
        return loss, grad

    def hessian_diagonal(self, x: FloatArray) -> FloatArray:
        """The exact second derivative of L in each parameter alone."""
        _, _, fu, fn = self.split(x)[1:]
        s = self._pass(lambda r, n, v: [self._rater(r, fn[n] ** 2), self._note(n, fu[r] ** 2)])
        return self._curvature(s[0], s[1])

    def max_newton_step(self, x: FloatArray) -> float:
        """The largest one-parameter Newton step at ``x``: the convergence measure."""
        _, grad, curvature, _ = self._evaluate(x, curvature=True)
        return float(np.max(np.abs(grad) / curvature))

    def squared_error(self, x: FloatArray) -> float:
        """The sum of squared residuals at ``x``."""
        return self._evaluate(x, curvature=False)[3]

    def starting_point(self, seed: int, power_iterations: int) -> FloatArray:
        """Ridge intercepts, then factors from the residuals' leading singular pair."""
        x = np.zeros(self.size)
        _, iu, inn, fu, fn = self.split(x)
        total = self._pass(lambda r, n, v: [np.array([v.sum()])])[0]
        x[0] = mu = float(total[0] / (len(self.value) + self.p_mu))
        inn[:] = self._pass(lambda r, n, v: [self._note(n, v - mu)])[0] / (
            self.note_count + self.pi_n
        )
        iu[:] = self._pass(lambda r, n, v: [self._rater(r, v - mu - inn[n])])[0] / (
            self.rater_count + self.pi_u
        )

        def residual(r: IndexLike, n: IndexLike, v: FloatArray) -> FloatArray:
            return v - mu - inn[n] - iu[r]

        def rater_side(w: FloatArray) -> ChunkTerms:  # R w, with w over notes
            return lambda r, n, v: [self._rater(r, residual(r, n, v) * w[n])]

        def note_side(w: FloatArray) -> ChunkTerms:  # R^T w, with w over raters
            return lambda r, n, v: [self._note(n, residual(r, n, v) * w[r])]

        vec = np.random.default_rng(seed).standard_normal(self.n_notes)
        vec /= np.linalg.norm(vec)
        u = np.zeros(self.n_raters)
        sigma = 0.0
        for _ in range(power_iterations):  # power method on R^T R, R = residual matrix
            u = self._pass(rater_side(vec))[0]
            if not (norm_u := float(np.linalg.norm(u))) > 0:
                return x
            u /= norm_u
            vec = self._pass(note_side(u))[0]
            if not (sigma := float(np.linalg.norm(vec))) > 0:
                return x
            vec /= sigma
        balance = (self.pf_n / self.pf_u) ** 0.25  # equal factor penalties, as at an optimum
        fu[:] = u * np.sqrt(sigma) * balance
        fn[:] = vec * np.sqrt(sigma) / balance
        return x

    def sweep(self, x: FloatArray) -> None:
        """One ALS sweep then the gauge steps, in place; each step is an exact minimum."""
        mu, iu, inn, fu, fn = self.split(x)
        inn[:], fn[:] = self._ridge_pairs(lambda r, n, v: (n, v - mu - iu[r], fu[r]), notes=True)
        iu[:], fu[:] = self._ridge_pairs(lambda r, n, v: (r, v - mu - inn[n], fn[n]), notes=False)
        rest = self._pass(lambda r, n, v: [np.array([(v - iu[r] - inn[n] - fu[r] * fn[n]).sum()])])[
            0
        ]
        x[0] = float(rest[0] / (len(self.value) + self.p_mu))
        self._gauge(x)

    def _evaluate(
        self, x: FloatArray, *, curvature: bool
    ) -> tuple[float, FloatArray, FloatArray, float]:
        """Loss, gradient, curvature (or an empty array) and squared error, in one pass."""
        mu, iu, inn, fu, fn = self.split(x)

        def terms(r: IndexLike, n: IndexLike, v: FloatArray) -> list[FloatArray]:
            fu_r, fn_n = fu[r], fn[n]
            e = mu + iu[r] + inn[n] + fu_r * fn_n - v
            sums = [np.array([e @ e, e.sum()]), self._rater(r, e), self._note(n, e)]
            sums += [self._rater(r, e * fn_n), self._note(n, e * fu_r)]
            if curvature:
                sums += [self._rater(r, fn_n**2), self._note(n, fu_r**2)]
            return sums

        s = self._pass(terms)
        squared = float(s[0][0])
        loss = float(
            s[0][0]
            + self.p_mu * mu * mu
            + self.pi_u * (iu @ iu)
            + self.pi_n * (inn @ inn)
            + self.pf_u * (fu @ fu)
            + self.pf_n * (fn @ fn)
        )
        grad = np.empty_like(x)
        _, g_iu, g_in, g_fu, g_fn = self.split(grad)
        grad[0] = 2.0 * (s[0][1] + self.p_mu * mu)
        g_iu[:] = 2.0 * (s[1] + self.pi_u * iu)
        g_in[:] = 2.0 * (s[2] + self.pi_n * inn)
        g_fu[:] = 2.0 * (s[3] + self.pf_u * fu)
        g_fn[:] = 2.0 * (s[4] + self.pf_n * fn)
        diagonal = self._curvature(s[5], s[6]) if curvature else np.zeros(0)
        return loss, grad, diagonal, squared

    def _curvature(self, rater_fn2: FloatArray, note_fu2: FloatArray) -> FloatArray:
        """The Hessian diagonal from the per-rater sum of f_n^2 and per-note sum of f_u^2."""
        return 2.0 * np.concatenate(
            [
                [len(self.value) + self.p_mu],
                self.rater_count + self.pi_u,
                self.note_count + self.pi_n,
                rater_fn2 + self.pf_u,
                note_fu2 + self.pf_n,
            ]
        )

    def _ridge_pairs(self, chunk: ChunkTarget, *, notes: bool) -> tuple[FloatArray, FloatArray]:
        """Per note (or rater): argmin of sum (target - i - f partner)^2 + p_i i^2 + p_f f^2.

        ``chunk`` maps a chunk of ratings to (note or rater index, target, partner).
        """
        if notes:
            count, p_intercept, p_factor = self.note_count, self.pi_n, self.pf_n
        else:
            count, p_intercept, p_factor = self.rater_count, self.pi_u, self.pf_u
        size = len(count)

        def terms(r: IndexLike, n: IndexLike, v: FloatArray) -> list[FloatArray]:
            index, target, partner = chunk(r, n, v)
            return [
                _sums(index, partner, size),
                _sums(index, partner * partner, size),
                _sums(index, target, size),
                _sums(index, target * partner, size),
            ]

        s1, s2, b0, b1 = self._pass(terms)
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

    def _pass(self, terms: ChunkTerms) -> list[FloatArray]:
        """Sum ``terms`` over the ratings, a chunk of ``CHUNK_RATINGS`` at a time."""
        totals: list[FloatArray] = []
        for start in range(0, max(len(self.value), 1), CHUNK_RATINGS):  # none: one empty
            stop = start + CHUNK_RATINGS
            value = as_float(self.value[start:stop])
            # np.bincount copies int32 indices to intp on every call: once per chunk here.
            rater = self.rater[start:stop].astype(np.intp, copy=False)
            parts = terms(rater, self.note[start:stop].astype(np.intp, copy=False), value)
            if not totals:
                totals = parts  # one chunk: the sums are exactly those of one expression
            else:
                for total, part in zip(totals, parts, strict=True):
                    total += part
        return totals

    def _rater(self, rater: IndexLike, weights: FloatArray) -> FloatArray:
        return _sums(rater, weights, self.n_raters)

    def _note(self, note: IndexLike, weights: FloatArray) -> FloatArray:
        return _sums(note, weights, self.n_notes)


def _sums(index: IndexLike, weights: FloatArray, size: int) -> FloatArray:
    """Per id in ``0 .. size-1``, the sum of the weights of its entries."""
    return np.bincount(index, weights=weights, minlength=size).astype(np.float64, copy=False)
