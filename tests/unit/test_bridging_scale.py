"""Tests of the notes scorer's large-scale parts: compact arrays, chunked passes, warm start."""

from __future__ import annotations

import numpy as np
import pytest

from isegoria.algorithms import bridging, bridging_data, bridging_model, bridging_rules
from isegoria.algorithms.bridging import RatingsMatrix, ScoringResult, score
from isegoria.algorithms.bridging_data import VALUE_STEP, as_float
from isegoria.algorithms.bridging_synthetic import TwoCampData, two_camp_ratings


def _population(n_ratings: int = 20_000, *, compact: bool = False) -> TwoCampData:
    return two_camp_ratings(800, 400, n_ratings, seed=11, compact=compact)


def _same(a: ScoringResult, b: ScoringResult) -> None:
    np.testing.assert_array_equal(a.status, b.status)
    np.testing.assert_array_equal(a.intercept, b.intercept)
    np.testing.assert_array_equal(a.factor, b.factor)
    np.testing.assert_array_equal(a.rater_agreement, b.rater_agreement)
    assert a.final_fit.loss == b.final_fit.loss


def test_compact_synthetic_data_is_int32_and_uint8_and_holds_the_same_ratings() -> None:
    wide, compact = _population().ratings, _population(compact=True).ratings
    assert (compact.rater.dtype, compact.note.dtype, compact.value.dtype) == (
        np.int32,
        np.int32,
        np.uint8,
    )
    assert (wide.rater.dtype, wide.value.dtype) == (np.int64, np.float64)
    np.testing.assert_array_equal(compact.rater, wide.rater)
    np.testing.assert_array_equal(as_float(compact.value), wide.value)
    assert compact.rater.nbytes + compact.note.nbytes + compact.value.nbytes == 9 * len(wide)


def test_the_compact_form_scores_exactly_as_the_wide_form() -> None:
    wide = _population().ratings
    assert wide.compact().value.max() == round(1.0 / VALUE_STEP)
    _same(score(wide), score(wide.compact()))
    _same(score(wide), score(_population(compact=True).ratings))


def test_compact_refuses_what_eight_bits_or_int32_cannot_hold() -> None:
    thirds = RatingsMatrix.from_triples([0, 1], [0, 0], [1 / 3, 1.0])
    with pytest.raises(ValueError, match="steps of 0.5"):
        thirds.compact()
    huge = RatingsMatrix.empty(n_raters=2**31, n_notes=1)
    with pytest.raises(ValueError, match="int64 indices"):
        huge.compact()
    with pytest.raises(ValueError, match="value codes"):
        RatingsMatrix(np.zeros(1, np.int32), np.zeros(1, np.int32), np.full(1, 3, np.uint8), 1, 1)
    with pytest.raises(ValueError, match="int64 or int32"):
        RatingsMatrix(np.zeros(1, np.int16), np.zeros(1, np.int32), np.ones(1), 1, 1)  # type: ignore[arg-type]


def test_value_is_reads_both_forms() -> None:
    wide = RatingsMatrix.from_triples([0, 1, 2], [0, 0, 0], [0.0, 0.5, 1.0])
    for ratings in (wide, wide.compact()):
        assert ratings.value_is(0.5).tolist() == [False, True, False]
        assert not ratings.value_is(0.25).any()


def test_chunked_passes_agree_with_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _population(30_000, compact=True)
    whole = score(data.ratings)
    for module in (bridging, bridging_data, bridging_model, bridging_rules):
        monkeypatch.setattr(module, "CHUNK_RATINGS", 4_096)
    chunked = score(data.ratings)
    np.testing.assert_array_equal(chunked.status, whole.status)
    np.testing.assert_allclose(chunked.intercept, whole.intercept, atol=1e-9, equal_nan=True)
    np.testing.assert_array_equal(chunked.rating_count, whole.rating_count)
    np.testing.assert_array_equal(chunked.rater_agreement, whole.rater_agreement)


def test_deduplication_keeps_the_last_rating_of_each_pair_in_input_order() -> None:
    rng = np.random.default_rng(5)
    rater, note = rng.integers(0, 30, 3_000), rng.integers(0, 20, 3_000)
    value = rng.integers(0, 3, 3_000) * VALUE_STEP
    ratings = RatingsMatrix.from_triples(rater, note, value, n_raters=30, n_notes=20)
    last = {}
    for position, pair in enumerate(zip(rater.tolist(), note.tolist(), strict=True)):
        last[pair] = position
    kept = sorted(last.values())
    for form in (ratings, ratings.compact()):
        unique, dropped = form.deduplicated()
        assert dropped == 3_000 - len(kept) and unique.unique_pairs
        np.testing.assert_array_equal(unique.rater, rater[kept])
        np.testing.assert_array_equal(as_float(unique.value), value[kept])
        assert unique.deduplicated() == (unique, 0)  # known unique: no second sort


def _days(new_share: float) -> tuple[RatingsMatrix, RatingsMatrix]:
    """Yesterday's ratings and today's, which add a day's ratings, raters and notes.

    The last 5% of the raters and notes only appear today, so yesterday's index spaces
    are smaller.
    """
    today = _population(40_000, compact=True).ratings
    old_raters, old_notes = int(today.n_raters * 0.95), int(today.n_notes * 0.95)
    keep = np.arange(len(today)) < int(len(today) * (1 - new_share))
    keep &= (today.rater < old_raters) & (today.note < old_notes)
    yesterday = RatingsMatrix(
        today.rater[keep], today.note[keep], today.value[keep], old_raters, old_notes
    )
    return yesterday, today


def test_a_warm_started_rescore_agrees_with_a_full_rescore() -> None:
    yesterday, today = _days(0.05)
    old = score(yesterday)
    assert old.first_fit.note_intercept.shape == (yesterday.n_notes,)
    warm = score(today, warm_start=old.first_fit)
    full = score(today)
    assert warm.first_fit.iterations < full.first_fit.iterations
    assert float(np.mean(warm.status == full.status)) >= 0.99
    fitted = np.isfinite(full.intercept)
    np.testing.assert_array_equal(np.isfinite(warm.intercept), fitted)
    assert np.max(np.abs(warm.intercept[fitted] - full.intercept[fitted])) < 0.01


def test_a_warm_start_from_a_larger_gap_still_converges_to_the_same_statuses() -> None:
    yesterday, today = _days(0.2)
    assert yesterday.n_notes < today.n_notes and yesterday.n_raters < today.n_raters
    old = score(yesterday)
    warm = score(today, warm_start=old.first_fit)
    assert warm.first_fit.converged and warm.final_fit.converged
    assert float(np.mean(warm.status == score(today).status)) >= 0.98
