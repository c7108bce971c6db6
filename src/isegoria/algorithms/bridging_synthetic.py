"""Synthetic ratings from a planted two-camp population, for tests and benchmarks.

Raters belong to one of two camps with opposite viewpoints (rater factor about +1 or
-1) and have a small personal leniency (rater intercept). Notes are of four kinds:

* ``BRIDGING``: both camps find them helpful (high intercept, factor 0);
* ``PARTISAN_A`` / ``PARTISAN_B``: one camp finds them helpful, the other does not
  (intercept 0, factor +/- ``partisan_factor``);
* ``BAD``: neither camp finds them helpful (low intercept, factor 0).

Each rating is ``mu + i_u + i_n + f_u f_n`` plus Gaussian noise, rounded to the nearest
of 0, 0.5 and 1 (the values of [ranking] "Helpful Rating Mapping"). Who rates what is
drawn with heavy-tailed activity and popularity (log-normal weights), as in real rating
data where a minority of raters and notes carry most ratings. Two features make a plain
average fail, so that only a bridging scorer passes: the camps are unequal in size
(``camp_share``), and raters seek out notes their own camp likes (``selection_bias`` is
the share of ratings given to a partisan note of the rater's camp). A partisan note of
the larger camp is then rated mostly by its fans and has a high mean rating.

The scorer should call bridging notes helpful, bad notes not helpful and leave partisan
notes at needs-more-ratings: :func:`expected_status` gives that truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from isegoria.algorithms.bridging_data import (
    CHUNK_RATINGS,
    FloatArray,
    IndexLike,
    IntArray,
    RatingsMatrix,
    ValueLike,
)
from isegoria.algorithms.bridging_params import (
    CODE_HELPFUL,
    CODE_NEEDS_MORE_RATINGS,
    CODE_NOT_HELPFUL,
)

BRIDGING: Final = 0
PARTISAN_A: Final = 1
PARTISAN_B: Final = 2
BAD: Final = 3

_INTERCEPT_BY_KIND: Final = np.array([0.5, 0.0, 0.0, -0.5])
_STATUS_BY_KIND: Final = np.array(
    [CODE_HELPFUL, CODE_NEEDS_MORE_RATINGS, CODE_NEEDS_MORE_RATINGS, CODE_NOT_HELPFUL],
    dtype=np.int8,
)


@dataclass(frozen=True, slots=True, eq=False)
class TwoCampData:
    """Planted parameters and the ratings drawn from them."""

    ratings: RatingsMatrix
    mu: float
    rater_camp: IntArray
    """+1 or -1 per rater."""
    rater_intercept: FloatArray
    rater_factor: FloatArray
    note_kind: IntArray
    """One of BRIDGING, PARTISAN_A, PARTISAN_B, BAD per note."""
    note_intercept: FloatArray
    note_factor: FloatArray

    def expected_status(self) -> IntArray:
        """The status the scorer should give each note if it has enough ratings."""
        return _STATUS_BY_KIND[self.note_kind].astype(np.int64)


def two_camp_ratings(
    n_raters: int,
    n_notes: int,
    n_ratings: int,
    seed: int,
    *,
    kind_shares: tuple[float, float, float, float] = (0.2, 0.25, 0.25, 0.3),
    mu: float = 0.5,
    partisan_factor: float = 0.5,
    noise: float = 0.15,
    leniency: float = 0.05,
    activity_spread: float = 1.0,
    camp_share: float = 0.6,
    selection_bias: float = 0.4,
    compact: bool = False,
) -> TwoCampData:
    """Draw ``n_ratings`` ratings (before de-duplication) from a planted population.

    ``compact``: int32 indices and uint8 value codes (``RatingsMatrix.compact``).
    """
    if min(n_raters, n_notes) < 1 or n_ratings < 0:
        raise ValueError("need at least one rater and one note, and a non-negative count")
    rng = np.random.default_rng(seed)
    camp = np.where(rng.random(n_raters) < camp_share, 1, -1).astype(np.int64)
    rater_factor = camp * rng.uniform(0.8, 1.2, size=n_raters)
    rater_intercept = rng.normal(0.0, leniency, size=n_raters)
    kind = rng.choice(4, size=n_notes, p=np.asarray(kind_shares) / sum(kind_shares))
    note_intercept = _INTERCEPT_BY_KIND[kind] + rng.normal(0.0, 0.03, size=n_notes)
    note_factor = np.where(kind == PARTISAN_A, partisan_factor, 0.0)
    note_factor = np.where(kind == PARTISAN_B, -partisan_factor, note_factor)
    activity = rng.lognormal(0.0, activity_spread, size=n_raters)
    popularity = rng.lognormal(0.0, activity_spread, size=n_notes)
    pools = [np.flatnonzero(kind == kind_of_camp) for kind_of_camp in (PARTISAN_A, PARTISAN_B)]
    planted = (mu, rater_intercept, note_intercept, rater_factor, note_factor)
    index_type = np.int32 if compact else np.int64
    rater: IndexLike = np.empty(n_ratings, dtype=index_type)  # type: ignore[assignment]
    note: IndexLike = np.empty(n_ratings, dtype=index_type)  # type: ignore[assignment]
    value: ValueLike = np.empty(n_ratings, dtype=np.uint8 if compact else np.float64)  # type: ignore[assignment]
    # Drawn a chunk at a time so that 10^8 ratings fit in memory; data of up to one
    # chunk is drawn exactly as in one piece.
    for start in range(0, n_ratings, CHUNK_RATINGS):
        stop = min(start + CHUNK_RATINGS, n_ratings)
        r, n, v = _draw_chunk(
            rng, stop - start, camp, activity, popularity, pools, planted, noise, selection_bias
        )
        rater[start:stop], note[start:stop] = r, n
        value[start:stop] = v * 2.0 if compact else v
    ratings = RatingsMatrix(rater=rater, note=note, value=value, n_raters=n_raters, n_notes=n_notes)
    return TwoCampData(
        ratings=ratings,
        mu=mu,
        rater_camp=camp,
        rater_intercept=rater_intercept,
        rater_factor=rater_factor,
        note_kind=kind.astype(np.int64),
        note_intercept=note_intercept,
        note_factor=note_factor,
    )


def _draw_chunk(
    rng: np.random.Generator,
    size: int,
    camp: IntArray,
    activity: FloatArray,
    popularity: FloatArray,
    pools: list[IntArray],
    planted: tuple[float, FloatArray, FloatArray, FloatArray, FloatArray],
    noise: float,
    selection_bias: float,
) -> tuple[IntArray, IntArray, FloatArray]:
    """``size`` ratings: who rates what, then the rounded noisy model value."""
    mu, rater_intercept, note_intercept, rater_factor, note_factor = planted
    rater = rng.choice(len(activity), size=size, p=activity / activity.sum())
    note = rng.choice(len(popularity), size=size, p=popularity / popularity.sum())
    # Self-selection: some ratings go to a partisan note of the rater's own camp.
    seeking = rng.random(size) < selection_bias
    for pool, camp_sign in zip(pools, (1, -1), strict=True):
        chosen = seeking & (camp[rater] == camp_sign)
        if len(pool) and chosen.any():
            weights = popularity[pool] / popularity[pool].sum()
            note[chosen] = rng.choice(pool, size=int(chosen.sum()), p=weights)
    latent = (
        mu
        + rater_intercept[rater]
        + note_intercept[note]
        + rater_factor[rater] * note_factor[note]
        + rng.normal(0.0, noise, size=size)
    )
    value: FloatArray = np.clip(np.round(latent * 2.0), 0.0, 2.0) / 2.0
    return rater, note, value
