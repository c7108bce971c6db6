"""The public scorer's status rules, each on hand-built ratings or fits (bridging_rules)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from isegoria.algorithms.bridging import (
    CODE_HELPFUL,
    CODE_NEEDS_MORE_RATINGS,
    CODE_NOT_HELPFUL,
    DEFAULT_PARAMS,
    ModelFit,
    RatingsMatrix,
    ScoringParams,
    classify,
    score,
)
from isegoria.algorithms.bridging_params import NOT_HELPFUL_TAGS, TAG_BIT
from isegoria.algorithms.bridging_rules import (
    incorrect_outliers,
    net_helpful_short,
    rater_sides,
    ratio_not_helpful,
    tag_outliers,
    tag_thresholds,
    tag_totals,
    tag_weights,
)
from isegoria.algorithms.bridging_synthetic import BRIDGING, two_camp_ratings

INCORRECT = TAG_BIT["notHelpfulIncorrect"]
MISSING_KEY_POINTS = TAG_BIT["notHelpfulMissingKeyPoints"]
HARD_TO_UNDERSTAND = TAG_BIT["notHelpfulHardToUnderstand"]
OPINION = TAG_BIT["notHelpfulOpinionSpeculation"]


def _fit_with(intercepts: list[float], factors: list[float]) -> ModelFit:
    """A fit with the given note parameters (the rules read nothing else)."""
    return ModelFit(
        mu=0.0,
        rater_intercept=np.zeros(0),
        rater_factor=np.zeros(0),
        note_intercept=np.array(intercepts, dtype=np.float64),
        note_factor=np.array(factors, dtype=np.float64),
        n_ratings=0,
        iterations=0,
        converged=True,
        loss=0.0,
        mean_squared_error=0.0,
        max_newton_step=0.0,
    )


def _column(name: str) -> int:
    return NOT_HELPFUL_TAGS.index(name)


# --- only notes that say the post is misleading can be helpful ----------------------------


def test_a_note_saying_not_misleading_is_never_helpful() -> None:
    model = _fit_with([0.6, 0.6], [0.0, 0.0])
    counts = np.array([20, 20])
    not_misleading = np.array([False, True])
    assert classify(model, counts).tolist() == [CODE_HELPFUL, CODE_HELPFUL]
    status = classify(model, counts, not_misleading=not_misleading)
    assert status.tolist() == [CODE_HELPFUL, CODE_NEEDS_MORE_RATINGS]
    # The inertia rule keeps only misleading notes helpful, too.
    was_helpful = np.array([CODE_HELPFUL, CODE_HELPFUL], dtype=np.int8)
    sticky = _fit_with([0.395, 0.395], [0.0, 0.0])
    kept = classify(sticky, counts, previous=was_helpful, not_misleading=not_misleading)
    assert kept.tolist() == [CODE_HELPFUL, CODE_NEEDS_MORE_RATINGS]


# --- NmCRNH ---------------------------------------------------------------------------------


def test_a_low_scoring_not_misleading_note_is_not_helpful() -> None:
    # Intercept -0.2 with |factor| 0.3 stays above the general line (-0.05 - 0.24 = -0.29).
    model = _fit_with([-0.2, -0.2, -0.1, np.nan], [0.3, 0.3, 0.3, np.nan])
    counts = np.array([20, 20, 20, 0])
    not_misleading = np.array([False, True, True, True])
    status = classify(model, counts, not_misleading=not_misleading)
    assert status.tolist() == [
        CODE_NEEDS_MORE_RATINGS,  # says misleading: only the general line applies
        CODE_NOT_HELPFUL,  # NmCRNH: below -0.15
        CODE_NEEDS_MORE_RATINGS,  # above -0.15
        CODE_NEEDS_MORE_RATINGS,  # never fitted
    ]
    threshold = DEFAULT_PARAMS.not_misleading_not_helpful_intercept
    assert threshold == -0.15


# --- RatioCRNH ------------------------------------------------------------------------------


def _side_ratings() -> tuple[RatingsMatrix, np.ndarray]:
    """Raters 0-2 have negative factors, 3-5 positive ones, rater 6 none."""
    rows = [
        # note 0: low on both sides (means 1/6 and 1/6) -> not helpful by ratio
        *[(r, 0, v) for r, v in zip(range(6), [0.0, 0.0, 0.5, 0.0, 0.5, 0.0], strict=True)],
        # note 1: low on one side only
        *[(r, 1, v) for r, v in zip(range(6), [0.0, 0.0, 0.0, 1.0, 0.5, 1.0], strict=True)],
        # note 2: low on both sides but only two negative raters
        *[(r, 2, 0.0) for r in (1, 2, 3, 4, 5)],
        # note 3: each side at 0.4 or below, but the two average above 0.3
        *[(r, 3, v) for r, v in zip(range(6), [0.5, 0.5, 0.0, 0.5, 0.5, 0.0], strict=True)],
        # note 4: like note 0, plus a helpful rating from a rater without a factor
        *[(r, 4, 0.0) for r in range(6)],
        (6, 4, 1.0),
    ]
    rater, note, value = zip(*rows, strict=True)
    ratings = RatingsMatrix.from_triples(rater, note, value)
    factors = np.array([-0.8, -0.5, -0.1, 0.0, 0.4, 0.9, np.nan])
    return ratings, factors


def test_notes_rated_low_by_both_sides_are_not_helpful() -> None:
    ratings, factors = _side_ratings()
    sides = rater_sides(ratings, factors)
    assert sides.negative_raters.tolist() == [3, 3, 2, 3, 3]
    assert sides.positive_raters.tolist() == [3, 3, 3, 3, 3]  # a zero factor is "positive"
    assert sides.negative_mean[0] == pytest.approx(1 / 6)
    counts = ratings.ratings_per_note()
    flagged = ratio_not_helpful(sides, counts, DEFAULT_PARAMS)
    assert flagged.tolist() == [True, False, False, False, True]
    # Below the rating minimum nothing is flagged.
    assert not ratio_not_helpful(sides, np.full(5, 4), DEFAULT_PARAMS).any()


def test_ratio_rule_overrides_the_helpful_threshold_but_not_the_inertia() -> None:
    model = _fit_with([0.45, 0.45], [0.0, 0.0])
    counts = np.array([10, 10])
    ratio = np.array([True, True])
    previous = np.array([CODE_NEEDS_MORE_RATINGS, CODE_HELPFUL], dtype=np.int8)
    status = classify(model, counts, previous=previous, ratio_not_helpful=ratio)
    assert status.tolist() == [CODE_NOT_HELPFUL, CODE_HELPFUL]


# --- net helpful minimums ------------------------------------------------------------------


def test_net_helpful_minimums_need_support_from_both_sides() -> None:
    # Raters 0-11 have negative factors, 12-23 positive ones.
    factors = np.array([-1.0] * 12 + [1.0] * 12)
    rows = [
        # note 0: 4 helpful on the small side, 8 on the other: 4 >= 4, ratio 4/12 >= 0.05
        *[(r, 0, 1.0) for r in range(4)],
        *[(r, 0, 1.0) for r in range(12, 20)],
        # note 1: 5 helpful and 2 not helpful on one side: net 3 < 4
        *[(r, 1, 1.0) for r in range(5)],
        *[(r, 1, 0.0) for r in range(5, 7)],
        *[(r, 1, 1.0) for r in range(12, 24)],
        # note 2: net 4 on each side among 24 ratings (somewhat-helpful ones dilute it)
        *[(r, 2, 1.0) for r in range(4)],
        *[(r, 2, 0.5) for r in range(4, 12)],
        *[(r, 2, 1.0) for r in range(12, 16)],
        *[(r, 2, 0.5) for r in range(16, 24)],
    ]
    rater, note, value = zip(*rows, strict=True)
    ratings = RatingsMatrix.from_triples(rater, note, value)
    sides = rater_sides(ratings, factors)
    assert sides.net_helpful.tolist() == [4, 3, 4]
    short = net_helpful_short(sides, DEFAULT_PARAMS)
    assert short.tolist() == [False, True, False]  # note 2: 4 / 24 = 0.17 >= 0.05
    # Below 10 net helpful ratings the ratio counts: at 0.2, note 2 falls short too.
    thin = ScoringParams(min_net_helpful_ratio=0.2)
    assert net_helpful_short(sides, thin).tolist() == [False, True, True]
    assert not DEFAULT_PARAMS.net_helpful_minimums  # off unless switched on (params doc)


# --- tag outlier filter ---------------------------------------------------------------------


def test_tag_weight_falls_with_the_distance_between_rater_and_note() -> None:
    # Factors of +/-1 stay +/-1 after z-normalisation, for notes and raters alike.
    note_factor = np.array([-1.0, 1.0])
    rater_factor = np.array([-1.0, 1.0, -1.0, 1.0])
    ratings = RatingsMatrix.from_triples([0, 1, 2, 3, 0], [0, 1, 1, 0, 1], [1.0] * 5)
    weight = tag_weights(ratings, note_factor, rater_factor, DEFAULT_PARAMS)
    # Distances 0, 0, 2, 2, 2; their 40th percentile is 1.2: a rater that far weighs 0.5.
    far = 1 / (1 + (2 / 1.2) ** 5)
    assert weight == pytest.approx([1.0, 1.0, far, far, far])
    # When most ratings sit on their note the percentile is 0: only those count.
    ratings = RatingsMatrix.from_triples([0, 1, 2, 3], [0, 1, 0, 0], [1.0] * 4)
    weight = tag_weights(ratings, note_factor, rater_factor, DEFAULT_PARAMS)
    assert weight.tolist() == [1.0, 1.0, 1.0, 0.0]
    # A rater without a factor gives no weight at all.
    rater_factor[3] = np.nan
    assert np.isnan(tag_weights(ratings, note_factor, rater_factor, DEFAULT_PARAMS)[3])


def _tagged(note_tags: list[list[int]]) -> RatingsMatrix:
    """One rating per entry, rater i rating note n with the given tag mask."""
    rows = [(i, n, mask) for n, masks in enumerate(note_tags) for i, mask in enumerate(masks)]
    rater, note, tags = zip(*rows, strict=True)
    return RatingsMatrix.from_triples(rater, note, [0.0] * len(rows), tags=tags)


def test_tag_outlier_needs_both_a_weight_above_2_5_and_a_share_above_the_percentile() -> None:
    ratings = _tagged(
        [
            [0] * 10,  # helpful notes with no or few tags set the percentile
            [0] * 9 + [MISSING_KEY_POINTS],
            [0] * 10,
            [MISSING_KEY_POINTS] * 3 + [0] * 7,  # weight 3 > 2.5, share 0.3: outlier
            [MISSING_KEY_POINTS] * 2 + [0] * 2,  # share 0.5 but weight only 2
            [HARD_TO_UNDERSTAND] * 10,  # the ignored tag
        ]
    )
    weight = np.ones(len(ratings))
    totals, shares = tag_totals(ratings, weight)
    column = _column("notHelpfulMissingKeyPoints")
    assert totals[:, column].tolist() == [0, 1, 0, 3, 2, 0]
    assert shares[3, column] == pytest.approx(0.3)
    helpful = np.array([True, True, True, False, False, False])
    thresholds = tag_thresholds(shares, helpful, DEFAULT_PARAMS)
    assert thresholds[column] == pytest.approx(np.percentile([0.0, 0.1, 0.0], 95))
    flagged = tag_outliers(totals, shares, thresholds, DEFAULT_PARAMS)
    assert flagged.tolist() == [False, False, False, True, False, False]
    # With no helpful note the thresholds are 0, as in the public scorer.
    assert tag_thresholds(shares, np.zeros(6, dtype=np.bool_), DEFAULT_PARAMS).max() == 0


def test_ratings_without_tags_flag_nothing() -> None:
    ratings = RatingsMatrix.from_triples([0, 1, 2], [0, 0, 0], [0.0, 0.0, 0.0])
    totals, shares = tag_totals(ratings, np.ones(3))
    assert not totals.any()
    assert not tag_outliers(totals, shares, np.zeros(len(NOT_HELPFUL_TAGS)), DEFAULT_PARAMS).any()


# --- incorrect filter -----------------------------------------------------------------------


def _incorrect_case(other_tag: int) -> tuple[RatingsMatrix, np.ndarray, np.ndarray]:
    """Raters 0-2 sit near note 0 and tag it "incorrect"; each also rated notes 1-10
    with ``other_tag``. Rater 3, far from note 0, tags it "incorrect" too."""
    rows = [(r, 0, INCORRECT) for r in range(4)]
    rows += [(r, n, other_tag) for r in range(3) for n in range(1, 11)]
    rater, note, tags = zip(*rows, strict=True)
    ratings = RatingsMatrix.from_triples(rater, note, [0.0] * len(rows), tags=tags)
    note_factor = np.zeros(11)
    rater_factor = np.array([0.1, -0.2, 0.25, 0.9])
    return ratings, note_factor, rater_factor


def test_incorrect_tags_from_raters_who_rarely_use_them_block_a_note() -> None:
    # p_u = 1/11 for raters 0-2: 3 / ln(1 + 3/11) = 12.4 >= 2.5.
    ratings, note_factor, rater_factor = _incorrect_case(OPINION)
    flagged = incorrect_outliers(ratings, note_factor, rater_factor, DEFAULT_PARAMS)
    assert flagged.tolist() == [True] + [False] * 10


def test_incorrect_tags_from_raters_who_always_use_them_do_not() -> None:
    # p_u = 1 for raters 0-2: 3 / ln(1 + 3) = 2.16 < 2.5.
    ratings, note_factor, rater_factor = _incorrect_case(INCORRECT)
    assert not incorrect_outliers(ratings, note_factor, rater_factor, DEFAULT_PARAMS)[0]


def test_incorrect_filter_counts_only_raters_near_the_note() -> None:
    ratings, note_factor, rater_factor = _incorrect_case(OPINION)
    rater_factor[1] = -0.35  # clipped gap 0.35 >= 0.3: no longer near; 2 voters left
    assert not incorrect_outliers(ratings, note_factor, rater_factor, DEFAULT_PARAMS)[0]
    # Clipping: a rater at 5.0 and a note at 0.45 are both 0.4 and so near each other.
    ratings, note_factor, rater_factor = _incorrect_case(OPINION)
    note_factor[0], rater_factor[:3] = 0.45, [5.0, 0.3, 0.2]
    assert incorrect_outliers(ratings, note_factor, rater_factor, DEFAULT_PARAMS)[0]


# --- the rules inside score() ---------------------------------------------------------------


def _population() -> tuple[RatingsMatrix, int]:
    data = two_camp_ratings(600, 300, 15_000, seed=1)
    result = score(data.ratings)
    helpful = np.flatnonzero((result.status == CODE_HELPFUL) & (data.note_kind == BRIDGING))
    note = int(helpful[np.argmax(result.rating_count[helpful])])
    return data.ratings, note


def test_score_hides_a_helpful_note_that_says_not_misleading() -> None:
    ratings, note = _population()
    not_misleading = np.zeros(ratings.n_notes, dtype=np.bool_)
    not_misleading[note] = True
    result = score(ratings, not_misleading=not_misleading)
    assert result.status[note] == CODE_NEEDS_MORE_RATINGS
    assert result.rules["OnlyMisleadingCRH"].tolist() == not_misleading.tolist()
    with pytest.raises(ValueError, match="one boolean per note"):
        score(ratings, not_misleading=not_misleading[:-1])


def test_score_holds_back_a_helpful_note_with_a_tag_outlier() -> None:
    ratings, note = _population()
    tags = np.zeros(len(ratings), dtype=np.uint16)
    tags[ratings.note == note] = MISSING_KEY_POINTS
    tagged = dataclasses.replace(ratings, tags=tags)
    result = score(tagged)
    assert result.status[note] == CODE_NEEDS_MORE_RATINGS
    assert np.flatnonzero(result.rules["TagFilter"]).tolist() == [note]
    # The guide's older super threshold lets it through when its score is high enough.
    lenient = ScoringParams(tag_outlier_super_threshold=float(result.intercept[note]) - 0.01)
    assert score(tagged, params=lenient).status[note] == CODE_HELPFUL
    # The ignored tag changes nothing.
    tags[ratings.note == note] = HARD_TO_UNDERSTAND
    assert score(dataclasses.replace(ratings, tags=tags)).status[note] == CODE_HELPFUL


def test_score_applies_the_net_helpful_minimums_when_switched_on() -> None:
    ratings, note = _population()
    on = ScoringParams(
        net_helpful_minimums=True, min_net_helpful=1000, net_helpful_without_ratio=1000
    )
    result = score(ratings, params=on)
    assert result.status[note] == CODE_NEEDS_MORE_RATINGS
    assert not (result.status == CODE_HELPFUL).any()
    assert result.rules["NetHelpfulMinimums"][note]
    assert not score(ratings).rules["NetHelpfulMinimums"].any()


def test_new_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="ratio_max_side_mean"):
        ScoringParams(ratio_max_side_mean=1.5)
    with pytest.raises(ValueError, match="tag_outlier_percentile"):
        ScoringParams(tag_outlier_percentile=0)
    with pytest.raises(ValueError, match="min_net_helpful"):
        ScoringParams(min_net_helpful=11)
    with pytest.raises(ValueError, match="incorrect_min_voters"):
        ScoringParams(incorrect_min_voters=0)
    with pytest.raises(ValueError, match="uint16"):
        RatingsMatrix(
            np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1), 1, 1, tags=np.zeros(1)
        )
