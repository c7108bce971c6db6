"""The public scorer's status rules beyond the two thresholds (sources: [rules] and
[ranking] in :mod:`isegoria.algorithms.bridging_params`).

The public scorer sets a note's status by applying named rules in a fixed order, each
over the statuses the earlier ones left ([rules] ``compute_scored_notes``). With the
names the public scorer gives them, in its order, isegoria applies:

1. ``GeneralCRH``: helpful at intercept >= 0.40 and |factor| < 0.5, *only for notes that
   say the post is misleading* (``onlyApplyToNotesThatSayTweetIsMisleading``);
2. ``GeneralCRNH``: not helpful below -0.05 - 0.8 |factor|;
3. ``RatioCRNH`` (final round only): not helpful when raters of both factor signs rated
   it low (:func:`ratio_not_helpful`);
4. ``NmCRNH``: a note that says the post is *not* misleading is not helpful below an
   intercept of -0.15 (:func:`not_misleading_not_helpful`);
5. ``GeneralCRHInertia``: a note helpful before keeps the status down to 0.39, again only
   if it says the post is misleading;
6. ``TagFilter`` (final round only): a note heading for helpful goes back to needs more
   ratings when one not-helpful tag is an outlier (:func:`tag_outliers`);
7. ``FilterIncorrect`` (final round only): the same when raters close to the note tag it
   "incorrect" surprisingly often (:func:`incorrect_outliers`);
8. ``MinMinorityRaters`` and ``RaterBalance`` (final round only, the guide's "Net Helpful
   Minimums"; off unless ``ScoringParams.net_helpful_minimums``): the same when one side's
   net support is too thin (:func:`net_helpful_short`).

:func:`classify` applies steps 1 to 5 (steps 1, 2 and 4 in the first round too);
:func:`final_statuses` adds steps 3, 6, 7 and 8 from the ratings and the final fit.
Everything is vectorised over ratings with ``np.bincount``; no Python loop over ratings
or notes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from isegoria.algorithms.bridging_data import (
    CHUNK_RATINGS,
    BoolArray,
    FloatArray,
    IntArray,
    RatingsMatrix,
    as_float,
)
from isegoria.algorithms.bridging_fit import ModelFit
from isegoria.algorithms.bridging_params import (
    CODE_HELPFUL,
    CODE_NEEDS_MORE_RATINGS,
    CODE_NOT_HELPFUL,
    DEFAULT_PARAMS,
    HELPFUL,
    INCORRECT_TAG,
    NOT_HELPFUL,
    NOT_HELPFUL_TAGS,
    TAG_BIT,
    TAG_OUTLIER_IGNORED,
    ScoringParams,
)

StatusArray = npt.NDArray[np.int8]
TagMatrix = npt.NDArray[np.float64]
"""Per note (rows) and not-helpful tag (columns, ``NOT_HELPFUL_TAGS`` order)."""

#: The rules ``ScoringResult.rules`` reports on, by the public scorer's names.
RULES = (
    "OnlyMisleadingCRH",
    "RatioCRNH",
    "NmCRNH",
    "TagFilter",
    "FilterIncorrect",
    "NetHelpfulMinimums",
)


def classify(
    model: ModelFit,
    rating_count: IntArray,
    params: ScoringParams = DEFAULT_PARAMS,
    previous: StatusArray | None = None,
    *,
    not_misleading: BoolArray | None = None,
    ratio_not_helpful: BoolArray | None = None,
) -> StatusArray:
    """Statuses from intercepts and factors ([ranking] "Note Status"), with hysteresis.

    The public rules in their order ([rules]; :mod:`.bridging_rules`): helpful only for
    notes that say the post is misleading; not helpful below the line; not helpful by
    ``ratio_not_helpful`` (the final round's ``RatioCRNH``); not helpful for a "not
    misleading" note below -0.15 (``NmCRNH``); then the inertia of helpful notes.
    """
    intercept = np.nan_to_num(model.note_intercept, nan=0.0)
    abs_factor = np.abs(np.nan_to_num(model.note_factor, nan=0.0))  # NaN: not scored
    scored = (rating_count >= params.min_ratings_for_status) & np.isfinite(model.note_intercept)
    says_misleading = (
        np.ones(len(intercept), dtype=np.bool_) if not_misleading is None else ~not_misleading
    )
    helpful = (intercept >= params.helpful_intercept) & (abs_factor < params.helpful_max_abs_factor)
    not_helpful_line = (
        params.not_helpful_intercept - params.not_helpful_factor_multiplier * abs_factor
    )
    not_helpful = intercept < not_helpful_line
    if previous is not None:
        # The not-helpful margin is ours, by symmetry (params doc); [ranking] has none.
        not_helpful |= (previous == CODE_NOT_HELPFUL) & (
            intercept < not_helpful_line + params.not_helpful_margin
        )
    status = np.full(len(intercept), CODE_NEEDS_MORE_RATINGS, dtype=np.int8)
    status[scored & helpful & says_misleading] = CODE_HELPFUL
    status[scored & not_helpful] = CODE_NOT_HELPFUL  # the bands cannot overlap (ScoringParams)
    if ratio_not_helpful is not None:
        status[ratio_not_helpful] = CODE_NOT_HELPFUL
    if not_misleading is not None:
        status[not_misleading_not_helpful(model.note_intercept, not_misleading, params)] = (
            CODE_NOT_HELPFUL
        )
    if previous is not None:
        # [ranking] "CRH Inertia": a helpful note keeps its status until it falls clearly
        # below the threshold; the factor margin is ours (params doc). Like the public
        # rule it overrides RatioCRNH, and only notes that say "misleading" keep it.
        kept = (
            (previous == CODE_HELPFUL)
            & (intercept >= params.helpful_intercept - params.helpful_intercept_margin)
            & (abs_factor < params.helpful_max_abs_factor + params.helpful_factor_margin)
        )
        status[scored & kept & says_misleading] = CODE_HELPFUL
    return status


def final_statuses(
    ratings: RatingsMatrix,
    model: ModelFit,
    counts: IntArray,
    params: ScoringParams,
    previous: StatusArray | None,
    not_misleading: BoolArray,
) -> tuple[StatusArray, dict[str, BoolArray]]:
    """The final round's rules in the public order (:mod:`.bridging_rules`).

    ``ratings`` are every rating after the pre-filter: as in [rules], the side counts and
    the tag aggregates take every rating of a rater who has a factor in the final fit.
    """
    sides = rater_sides(ratings, model.rater_factor)
    ratio = ratio_not_helpful(sides, counts, params)
    status = classify(
        model, counts, params, previous, not_misleading=not_misleading, ratio_not_helpful=ratio
    )
    ignoring_classification = classify(model, counts, params, previous)
    weight = tag_weights(ratings, model.note_factor, model.rater_factor, params)
    totals, shares = tag_totals(ratings, weight)
    # [rules]: the thresholds come from the notes rated helpful before any hysteresis or filter.
    before_filters = classify(model, counts, params, not_misleading=not_misleading)
    thresholds = tag_thresholds(shares, before_filters == CODE_HELPFUL, params)
    tagged = tag_outliers(totals, shares, thresholds, params) & (status == CODE_HELPFUL)
    if params.tag_outlier_super_threshold is not None:
        # As the inertia rule does for the ordinary threshold, a note helpful before keeps
        # the status down to the super threshold minus the margin.
        bar = np.where(
            previous == CODE_HELPFUL if previous is not None else False,
            params.tag_outlier_super_threshold - params.helpful_intercept_margin,
            params.tag_outlier_super_threshold,
        )
        tagged &= ~(np.nan_to_num(model.note_intercept, nan=-np.inf) >= bar)
    status[tagged] = CODE_NEEDS_MORE_RATINGS
    incorrect = incorrect_outliers(ratings, model.note_factor, model.rater_factor, params)
    incorrect &= status == CODE_HELPFUL
    status[incorrect] = CODE_NEEDS_MORE_RATINGS
    short = net_helpful_short(sides, params) & (status == CODE_HELPFUL)
    short &= params.net_helpful_minimums  # off by default (ScoringParams)
    status[short] = CODE_NEEDS_MORE_RATINGS
    rules = {
        "OnlyMisleadingCRH": not_misleading & (ignoring_classification == CODE_HELPFUL),
        "RatioCRNH": ratio & (status == CODE_NOT_HELPFUL),
        "NmCRNH": not_misleading_not_helpful(model.note_intercept, not_misleading, params),
        "TagFilter": tagged,
        "FilterIncorrect": incorrect,
        "NetHelpfulMinimums": short,
    }
    return status, rules


@dataclass(frozen=True, slots=True, eq=False)
class Sides:
    """Per note, its ratings split by the sign of the rater's factor."""

    negative_raters: IntArray
    positive_raters: IntArray
    negative_mean: FloatArray
    """Mean rating from raters with a negative factor; NaN when there are none."""
    positive_mean: FloatArray
    """Mean rating from raters with a zero or positive factor; NaN when there are none."""
    net_helpful: IntArray
    """Helpful minus not-helpful ratings on the side where that is smaller, at least 0."""

    @property
    def net_helpful_ratio(self) -> FloatArray:
        """``net_helpful`` over the note's ratings from both sides (0 with none)."""
        total = self.negative_raters + self.positive_raters
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio: FloatArray = np.where(total > 0, self.net_helpful / total, 0.0)
        return ratio


def rater_sides(ratings: RatingsMatrix, rater_factor: FloatArray) -> Sides:
    """Split each note's ratings by rater factor sign; raters without a factor are left out."""
    # Per (note, side) pair, chunk by chunk: sums of halves and counts, exact in any order.
    side_of, n = np.where(np.isfinite(rater_factor), 1 * (rater_factor >= 0), -1), ratings.n_notes
    count, total, nets = np.zeros((3, 2 * n))  # pair 2 i + s: note i, side s
    for start in range(0, len(ratings), CHUNK_RATINGS):
        chunk = ratings.subset(slice(start, start + CHUNK_RATINGS))
        side = side_of[chunk.rater]
        pair = chunk.note[side >= 0].astype(np.int64) * 2 + side[side >= 0]
        value = as_float(chunk.value[side >= 0])
        for sums, weights in ((count, None), (total, value), (nets, 1.0 * (value == HELPFUL))):
            sums += np.bincount(pair, weights=weights, minlength=2 * n)
        nets -= np.bincount(pair, weights=1.0 * (value == NOT_HELPFUL), minlength=2 * n)
    count, total, nets = (array.reshape(n, 2).T for array in (count, total, nets))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = [np.where(count[side] > 0, total[side] / count[side], np.nan) for side in (0, 1)]
    counts = [count[side].astype(np.int64) for side in (0, 1)]
    net_helpful = np.maximum(np.minimum(nets[0], nets[1]), 0).astype(np.int64)
    return Sides(counts[0], counts[1], means[0], means[1], net_helpful)


def net_helpful_short(sides: Sides, params: ScoringParams) -> BoolArray:
    """``MinMinorityRaters`` and ``RaterBalance``: too little net support on some side.

    [ranking] "Net Helpful Minimums": a helpful note needs, from raters of *each* factor
    sign, at least 10 more helpful than not-helpful ratings, or at least 4 and a net
    helpful ratio (over all its ratings) of at least 0.05.
    """
    net = sides.net_helpful
    short: BoolArray = (net < params.min_net_helpful) | (
        (net < params.net_helpful_without_ratio)
        & (sides.net_helpful_ratio < params.min_net_helpful_ratio)
    )
    return short


def ratio_not_helpful(sides: Sides, rating_count: IntArray, params: ScoringParams) -> BoolArray:
    """``RatioCRNH``: raters of each factor sign found the note unhelpful on the whole.

    [ranking] "Additional Not Helpful Scoring": a mean rating of at most 0.4 from each
    side, at least 3 raters on each side, and the two means averaging at most 0.3.
    """
    negative, positive = sides.negative_mean, sides.positive_mean
    fewest = np.minimum(sides.negative_raters, sides.positive_raters)
    with np.errstate(invalid="ignore"):
        low: BoolArray = (
            (rating_count >= params.min_ratings_for_status)
            & (fewest >= params.ratio_min_raters_per_side)
            & (negative <= params.ratio_max_side_mean)
            & (positive <= params.ratio_max_side_mean)
            & ((negative + positive) / 2 <= params.ratio_max_mean_of_sides)
        )
    return low


def not_misleading_not_helpful(
    intercept: FloatArray, not_misleading: BoolArray, params: ScoringParams
) -> BoolArray:
    """``NmCRNH``: a "not misleading" note with an intercept below -0.15 (NaN: never)."""
    with np.errstate(invalid="ignore"):
        low: BoolArray = not_misleading & (intercept < params.not_misleading_not_helpful_intercept)
    return low


def _z_normalised(factor: FloatArray) -> FloatArray:
    """Factors minus their mean over the fitted entries, over their standard deviation."""
    fitted = factor[np.isfinite(factor)]
    if not len(fitted):
        return factor
    spread = float(np.std(fitted))
    centred = factor - float(np.mean(fitted))
    return centred / spread if spread > 0 else centred


def tag_weights(
    ratings: RatingsMatrix,
    note_factor: FloatArray,
    rater_factor: FloatArray,
    params: ScoringParams,
) -> FloatArray:
    """Each rating's tag weight, 1 / (1 + (d / d_40)^5); NaN when a factor is missing.

    [ranking] "Tag Outlier Filtering": d is the distance between the rater's and the
    note's z-normalised factors, d_40 its 40th percentile over the ratings; a rater as
    close to the note as that weighs 0.5, a rater at the same place 1.
    """
    # A chunk at a time: each float64 temporary over 10^8 ratings would take 800 MB.
    z_rater, z_note = _z_normalised(rater_factor), _z_normalised(note_factor)
    distance = np.empty(len(ratings))
    for start in range(0, len(ratings), CHUNK_RATINGS):
        chunk = slice(start, start + CHUNK_RATINGS)
        distance[chunk] = np.abs(z_rater[ratings.rater[chunk]] - z_note[ratings.note[chunk]])
    finite = np.isfinite(distance)
    if not finite.any():
        return np.full(len(distance), np.nan)
    percent = params.tag_weight_distance_percentile
    scale = float(np.percentile(distance[finite], percent, overwrite_input=True))
    if scale > 0:  # 1 / (1 + (d / scale)^p), NaN staying NaN
        weight = np.divide(distance, scale, out=distance)
        np.power(weight, params.tag_weight_exponent, out=weight)
        weight += 1.0
        np.divide(1.0, weight, out=weight)
    else:  # most ratings sit exactly on their note: only those count, fully
        weight = np.where(finite, (distance == 0).astype(np.float64), np.nan)
    return weight


def tag_totals(ratings: RatingsMatrix, weight: FloatArray) -> tuple[TagMatrix, TagMatrix]:
    """Per note and tag: the weighted number of ratings with the tag, and its share.

    The share divides by the note's total weight over all its weighted ratings (tagged
    or not); it is NaN for a note with no weighted rating.
    """
    n, tags = ratings.n_notes, len(NOT_HELPFUL_TAGS)
    totals = np.zeros((n, tags))
    counted = np.isfinite(weight)
    note, w = ratings.note[counted], weight[counted]
    if ratings.tags is not None:
        mask = ratings.tags[counted]
        tagged = mask != 0  # most ratings carry no tag: count over the others only
        mask, tagged_note, tagged_weight = mask[tagged], note[tagged], w[tagged]
        for column, name in enumerate(NOT_HELPFUL_TAGS):
            has = (mask & TAG_BIT[name]) != 0
            totals[:, column] = np.bincount(
                tagged_note[has], weights=tagged_weight[has], minlength=n
            )
    weight_sum = np.bincount(note, weights=w, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = totals / weight_sum[:, None]
    shares[weight_sum == 0] = np.nan
    return totals, shares


def tag_thresholds(shares: TagMatrix, helpful: BoolArray, params: ScoringParams) -> FloatArray:
    """Per tag, the percentile of the share over ``helpful`` notes (0 with none: [rules])."""
    rows = shares[helpful]
    rows = rows[np.isfinite(rows).all(axis=1)]
    if not len(rows):
        return np.zeros(shares.shape[1])
    thresholds: FloatArray = np.percentile(rows, params.tag_outlier_percentile, axis=0)
    return thresholds


def tag_outliers(
    totals: TagMatrix, shares: TagMatrix, thresholds: FloatArray, params: ScoringParams
) -> BoolArray:
    """``TagFilter``: some tag weighs more than 2.5 *and* its share beats the threshold."""
    considered = np.array([name not in TAG_OUTLIER_IGNORED for name in NOT_HELPFUL_TAGS])
    with np.errstate(invalid="ignore"):
        hit = (totals > params.tag_outlier_min_weight) & (shares > thresholds[None, :])
    flagged: BoolArray = (hit & considered[None, :]).any(axis=1)
    return flagged


def incorrect_outliers(
    ratings: RatingsMatrix,
    note_factor: FloatArray,
    rater_factor: FloatArray,
    params: ScoringParams,
) -> BoolArray:
    """``FilterIncorrect``: "incorrect" is surprisingly common among raters near the note.

    Over ratings with some not-helpful tag: each rater's propensity p_u is the share of
    their tagged ratings that say "incorrect" (over all their ratings). For a note, only
    raters whose factor, clipped to +/- 0.4 like the note's, lies within 0.3 of it count;
    the note is flagged when they tagged "incorrect" at least twice, there are at least 3
    of them, and incorrect tags / ln(1 + sum of their p_u) reaches 2.5 — the tag is
    surprising when it comes from raters who rarely use it.
    """
    n = ratings.n_notes
    if ratings.tags is None or not len(ratings):
        return np.zeros(n, dtype=np.bool_)
    tagged = ratings.tags != 0
    incorrect = (ratings.tags & TAG_BIT[INCORRECT_TAG]) != 0
    per_rater = np.bincount(ratings.rater[tagged], minlength=ratings.n_raters)
    incorrect_per_rater = np.bincount(ratings.rater[incorrect], minlength=ratings.n_raters)
    with np.errstate(invalid="ignore", divide="ignore"):
        propensity = np.where(per_rater > 0, incorrect_per_rater / per_rater, 0.0)
    clip = params.incorrect_factor_clip
    gap = np.abs(
        np.clip(rater_factor[ratings.rater], -clip, clip)
        - np.clip(note_factor[ratings.note], -clip, clip)
    )
    with np.errstate(invalid="ignore"):
        near = tagged & (gap < params.incorrect_interval_half_width)  # NaN: not near
    note = ratings.note[near]
    voters = np.bincount(note, minlength=n)
    count = np.bincount(note, weights=incorrect[near], minlength=n)
    expected = np.bincount(note, weights=propensity[ratings.rater[near]], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        surprise = count / np.log1p(expected)
    flagged: BoolArray = (
        (count >= params.incorrect_min_tags)
        & (voters >= params.incorrect_min_voters)
        & (surprise >= params.incorrect_min_score)
    )
    return flagged
