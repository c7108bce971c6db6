"""Tests of the bridging (Community Notes) scorer on planted two-camp populations."""

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
    NoteStatus,
    Objective,
    RatingsMatrix,
    ScoringParams,
    classify,
    fit,
    rater_agreement,
    score,
    status_codes,
)
from isegoria.algorithms.bridging_params import PenaltyScaling
from isegoria.algorithms.bridging_synthetic import (
    BAD,
    BRIDGING,
    PARTISAN_A,
    PARTISAN_B,
    TwoCampData,
    two_camp_ratings,
)

SEEDS = (0, 1, 2, 3)


def _population(seed: int, n_ratings: int = 15_000) -> TwoCampData:
    return two_camp_ratings(600, 300, n_ratings, seed=seed)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def _with_extra(
    ratings: RatingsMatrix, rater: np.ndarray, note: np.ndarray, value: np.ndarray
) -> RatingsMatrix:
    """Append ratings, growing the rater index space to fit new raters."""
    return RatingsMatrix(
        rater=np.concatenate([ratings.rater, rater.astype(np.int64)]),
        note=np.concatenate([ratings.note, note.astype(np.int64)]),
        value=np.concatenate([ratings.value, value.astype(np.float64)]),
        n_raters=max(ratings.n_raters, int(rater.max()) + 1),
        n_notes=ratings.n_notes,
    )


# --- recovery of the planted structure -----------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_recovers_planted_intercepts_and_factors(seed: int) -> None:
    data = _population(seed)
    result = score(data.ratings)
    assert result.first_fit.converged and result.final_fit.converged
    notes = np.isfinite(result.intercept)
    assert notes.sum() > 250
    assert _corr(result.intercept[notes], data.note_intercept[notes]) >= 0.95
    assert abs(_corr(result.factor[notes], data.note_factor[notes])) >= 0.95
    raters = np.isfinite(result.final_fit.rater_factor)
    assert raters.sum() > 250
    fitted_rater_factor = result.final_fit.rater_factor[raters]
    assert abs(_corr(fitted_rater_factor, data.rater_factor[raters])) >= 0.95
    # Up to sign means one sign for everything: notes and raters flip together.
    note_sign = np.sign(_corr(result.factor[notes], data.note_factor[notes]))
    assert np.sign(_corr(fitted_rater_factor, data.rater_factor[raters])) == note_sign


@pytest.mark.parametrize("seed", SEEDS)
def test_only_bridging_notes_are_rated_helpful(seed: int) -> None:
    data = _population(seed)
    result = score(data.ratings)
    helpful = result.status == CODE_HELPFUL
    assert helpful.any()
    assert (data.note_kind[helpful] == BRIDGING).all()
    well_rated = result.rating_count >= 10
    bridging = well_rated & (data.note_kind == BRIDGING)
    assert helpful[bridging].mean() >= 0.9
    bad = well_rated & (data.note_kind == BAD)
    assert (result.status[bad] == CODE_NOT_HELPFUL).mean() >= 0.9
    partisan = np.isin(data.note_kind, [PARTISAN_A, PARTISAN_B])
    assert (result.status[partisan] == CODE_NEEDS_MORE_RATINGS).all()
    # Not a trivial win: raters seek out their camp's notes, so a plain average of
    # ratings would rate many partisan notes as highly as some bridging ones.
    r, _ = data.ratings.deduplicated()
    mean = np.bincount(r.note, weights=r.value, minlength=300) / np.maximum(r.ratings_per_note(), 1)
    assert (mean[partisan & well_rated] >= np.min(mean[bridging & helpful])).any()


def test_stronger_regularisation_on_intercepts_is_what_blocks_partisan_notes() -> None:
    data = _population(0)
    inverted = ScoringParams(intercept_lambda=0.03, factor_lambda=0.15)
    helpful = score(data.ratings, params=inverted).status == CODE_HELPFUL
    assert np.isin(data.note_kind[helpful], [PARTISAN_A, PARTISAN_B]).any()
    helpful = score(data.ratings).status == CODE_HELPFUL
    assert not np.isin(data.note_kind[helpful], [PARTISAN_A, PARTISAN_B]).any()


def test_literal_documented_penalty_scaling_also_recovers_the_camps() -> None:
    data = _population(5)
    result = score(data.ratings, params=ScoringParams(penalty_scaling="documented"))
    notes = np.isfinite(result.intercept)
    assert _corr(result.intercept[notes], data.note_intercept[notes]) >= 0.95
    assert abs(_corr(result.factor[notes], data.note_factor[notes])) >= 0.95


def test_reference_penalty_scaling_keeps_one_sided_notes_out_where_literal_sums_do_not() -> None:
    """Why ``per_rating_mean`` is the default (see ScoringParams.penalty_scaling)."""
    literal = ScoringParams(penalty_scaling="documented")
    shown = {"per_rating_mean": 0, "documented": 0}
    for seed in SEEDS:
        data = two_camp_ratings(3000, 1500, 30_000, seed=seed)
        partisan = np.isin(data.note_kind, [PARTISAN_A, PARTISAN_B])
        for name, params in (("per_rating_mean", DEFAULT_PARAMS), ("documented", literal)):
            status = score(data.ratings, params=params).status
            shown[name] += int(np.count_nonzero(status[partisan] == CODE_HELPFUL))
    assert shown["per_rating_mean"] == 0
    assert shown["documented"] >= 1


# --- the optimiser -----------------------------------------------------------------------------


def _small_objective(params: ScoringParams = DEFAULT_PARAMS) -> Objective:
    rng = np.random.default_rng(7)
    rater = rng.integers(0, 12, size=80).astype(np.intp)
    note = rng.integers(0, 9, size=80).astype(np.intp)
    rater[:12], note[:9] = np.arange(12), np.arange(9)  # every index present
    value = rng.choice([0.0, 0.5, 1.0], size=80)
    return Objective(rater, note, value, 12, 9, params)


@pytest.mark.parametrize("scaling", ["documented", "per_rating_mean"])
def test_gradient_matches_finite_differences(scaling: PenaltyScaling) -> None:
    objective = _small_objective(dataclasses.replace(DEFAULT_PARAMS, penalty_scaling=scaling))
    x = np.random.default_rng(1).normal(0, 0.5, size=objective.size)
    _, grad = objective(x)
    h = 1e-6
    numeric = np.array(
        [
            (objective(x + h * e)[0] - objective(x - h * e)[0]) / (2 * h)
            for e in np.eye(objective.size)
        ]
    )
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


def test_each_sweep_lowers_the_loss_until_the_gradient_vanishes() -> None:
    objective = _small_objective()
    x = objective.starting_point(seed=0, power_iterations=30)
    losses = [objective(x)[0]]
    for _ in range(300):
        objective.sweep(x)
        losses.append(objective(x)[0])
    assert all(b <= a + 1e-9 for a, b in zip(losses, losses[1:], strict=False))
    assert losses[-1] < losses[0]
    assert objective.max_newton_step(x) < 1e-6


def test_fit_is_deterministic_and_order_independent() -> None:
    data = _population(1)
    first, second = fit(data.ratings), fit(data.ratings)
    np.testing.assert_array_equal(first.note_intercept, second.note_intercept)
    np.testing.assert_array_equal(first.rater_factor, second.rater_factor)
    ratings, _ = data.ratings.deduplicated()
    order = np.random.default_rng(3).permutation(len(ratings))
    shuffled = RatingsMatrix(
        ratings.rater[order], ratings.note[order], ratings.value[order], 600, 300
    )
    other = fit(shuffled, dataclasses.replace(DEFAULT_PARAMS, seed=99))
    np.testing.assert_allclose(other.note_intercept, first.note_intercept, atol=1e-4)
    np.testing.assert_allclose(other.note_factor, first.note_factor, atol=1e-4)


def test_factor_sign_is_fixed_so_most_raters_are_negative() -> None:
    for seed in SEEDS:
        model = fit(_population(seed).ratings)
        fu = model.rater_factor[np.isfinite(model.rater_factor)]
        assert np.count_nonzero(fu < 0) >= np.count_nonzero(fu > 0)


def test_relabelling_raters_and_notes_permutes_the_result() -> None:
    data = _population(2)
    base = score(data.ratings)
    rng = np.random.default_rng(11)
    rater_map, note_map = rng.permutation(600), rng.permutation(300)
    r = data.ratings
    relabelled = RatingsMatrix(rater_map[r.rater], note_map[r.note], r.value, 600, 300)
    result = score(relabelled)
    np.testing.assert_array_equal(result.status[note_map], base.status)
    np.testing.assert_allclose(result.intercept[note_map], base.intercept, atol=1e-4)


# --- edge cases --------------------------------------------------------------------------------


@pytest.mark.parametrize(("n_raters", "n_notes"), [(0, 0), (4, 3)])
def test_empty_dataset_leaves_every_note_needing_ratings(n_raters: int, n_notes: int) -> None:
    result = score(RatingsMatrix.empty(n_raters, n_notes))
    assert result.status.tolist() == [CODE_NEEDS_MORE_RATINGS] * n_notes
    assert np.isnan(result.intercept).all() and result.rating_count.tolist() == [0] * n_notes
    assert result.final_fit.converged and result.final_fit.n_ratings == 0
    assert [step.ratings for step in result.steps] == [0] * len(result.steps)
    assert result.labels() == [NoteStatus.NEEDS_MORE_RATINGS] * n_notes


def test_notes_and_raters_with_too_few_ratings_are_left_out() -> None:
    data = _population(0)
    r = data.ratings
    lone_note, lone_rater = r.n_notes, r.n_raters  # a new note with 4 ratings; a new rater
    raters = np.array([0, 1, 2, 3] + [lone_rater] * 9)
    notes = np.array([lone_note] * 4 + list(range(9)))
    extra = RatingsMatrix(
        np.concatenate([r.rater, raters]),
        np.concatenate([r.note, notes]),
        np.concatenate([r.value, np.ones(13)]),
        r.n_raters + 1,
        r.n_notes + 1,
    )
    result = score(extra)
    assert result.status[lone_note] == CODE_NEEDS_MORE_RATINGS
    assert np.isnan(result.intercept[lone_note]) and result.rating_count[lone_note] == 0
    assert not result.rater_included[lone_rater]
    assert np.isnan(result.first_fit.rater_factor[lone_rater])


def test_rater_who_rates_everything_helpful_is_filtered_out() -> None:
    data = _population(3)
    base = score(data.ratings)
    sycophant = data.ratings.n_raters
    all_notes = np.arange(data.ratings.n_notes)
    ratings = _with_extra(
        data.ratings, np.full(len(all_notes), sycophant), all_notes, np.ones(len(all_notes))
    )
    result = score(ratings)
    assert result.rater_agreement[sycophant] < DEFAULT_PARAMS.min_rater_agreement
    assert not result.rater_included[sycophant]
    first_intercepts = result.first_fit.rater_intercept
    assert first_intercepts[sycophant] == np.nanmax(first_intercepts)  # leniency absorbed
    np.testing.assert_array_equal(result.status, base.status)


def test_duplicated_ratings_last_one_wins() -> None:
    pairs = RatingsMatrix.from_triples([0, 1, 0, 0], [2, 2, 2, 1], [0.0, 0.5, 1.0, 0.5])
    deduplicated, dropped = pairs.deduplicated()
    assert dropped == 1
    assert list(zip(deduplicated.rater, deduplicated.note, deduplicated.value, strict=True)) == [
        (1, 2, 0.5),
        (0, 2, 1.0),
        (0, 1, 0.5),
    ]
    data = _population(4)
    r = data.ratings
    earlier = slice(0, 2000)  # the same pairs rated the other way first
    duplicated = RatingsMatrix(
        np.concatenate([r.rater[earlier], r.rater]),
        np.concatenate([r.note[earlier], r.note]),
        np.concatenate([1.0 - r.value[earlier], r.value]),
        r.n_raters,
        r.n_notes,
    )
    base, result = score(r), score(duplicated)
    assert result.duplicates_removed == base.duplicates_removed + 2000
    np.testing.assert_array_equal(result.status, base.status)
    np.testing.assert_array_equal(result.intercept, base.intercept)


@pytest.mark.parametrize(
    "strategy", ["single_rating", "padded_with_camp_notes", "padded_with_bridging_notes"]
)
def test_coordinated_new_accounts_cannot_make_a_partisan_note_helpful(strategy: str) -> None:
    """30 fresh accounts rate a partisan note with about 10 organic ratings helpful."""
    data = _population(0)
    base = score(data.ratings)
    candidates = (data.note_kind == PARTISAN_A) & (base.rating_count >= 8)
    target = int(np.flatnonzero(candidates & (base.rating_count <= 15))[0])
    sockpuppets = np.arange(data.ratings.n_raters, data.ratings.n_raters + 30)
    padding: list[int] = []
    if strategy == "padded_with_camp_notes":
        padding = [int(n) for n in np.flatnonzero(candidates) if n != target][:12]
    elif strategy == "padded_with_bridging_notes":
        padding = [int(n) for n in np.flatnonzero(base.status == CODE_HELPFUL)][:12]
    notes = np.array([target, *padding])
    raters = np.repeat(sockpuppets, len(notes))
    ratings = _with_extra(data.ratings, raters, np.tile(notes, 30), np.ones(len(raters)))
    # The padding notes already showed their status when the accounts rated them, so those
    # ratings are not "valid" ([contributors]) and earn the accounts no standing.
    already_shown = base.status[ratings.note] != CODE_NEEDS_MORE_RATINGS
    is_new = ratings.rater >= data.ratings.n_raters
    ratings = dataclasses.replace(ratings, valid=~(is_new & already_shown))
    result = score(ratings)
    assert result.status[target] != CODE_HELPFUL
    assert result.intercept[target] < DEFAULT_PARAMS.helpful_intercept - 0.1
    assert not result.rater_included[sockpuppets].any()


def test_author_of_unhelpful_notes_is_filtered_out() -> None:
    data = _population(1)
    base = score(data.ratings)
    author = int(np.flatnonzero(base.rater_included)[0])
    note_author = np.full(data.ratings.n_notes, -1, dtype=np.int64)
    note_author[(base.status == CODE_NOT_HELPFUL)[:]] = author
    assert not score(data.ratings, note_author=note_author).rater_included[author]
    note_author[:] = -1
    note_author[base.status == CODE_HELPFUL] = author
    assert score(data.ratings, note_author=note_author).rater_included[author]


# --- hysteresis --------------------------------------------------------------------------------


def _fit_with(intercepts: list[float], factors: list[float]) -> ModelFit:
    n = len(intercepts)
    return ModelFit(
        mu=0.0,
        rater_intercept=np.zeros(0),
        rater_factor=np.zeros(0),
        note_intercept=np.array(intercepts),
        note_factor=np.array(factors),
        n_ratings=10 * n,
        iterations=1,
        converged=True,
        loss=0.0,
        mean_squared_error=0.0,
        max_newton_step=0.0,
    )


def test_hysteresis_keeps_a_note_near_the_threshold_from_flapping() -> None:
    jitter = [0.404, 0.396, 0.403, 0.392, 0.401, 0.395]  # hovering around 0.40
    counts = np.array([10])
    plain, sticky = [], []
    previous = np.array([CODE_NEEDS_MORE_RATINGS], dtype=np.int8)
    for intercept in jitter:
        model = _fit_with([intercept], [0.1])
        plain.append(int(classify(model, counts)[0]))
        previous = classify(model, counts, previous=previous)
        sticky.append(int(previous[0]))
    assert plain == [CODE_HELPFUL, CODE_NEEDS_MORE_RATINGS] * 3
    assert sticky == [CODE_HELPFUL] * len(jitter)
    # ... but a clear drop (below 0.39) or a one-sided factor still removes the status.
    was_helpful = np.array([CODE_HELPFUL, CODE_HELPFUL], dtype=np.int8)
    model = _fit_with([0.389, 0.45], [0.1, 0.52])
    assert classify(model, np.array([10, 10]), previous=was_helpful).tolist() == [0, 0]


def test_hysteresis_on_not_helpful_and_minimum_ratings() -> None:
    model = _fit_with([-0.045, -0.035, -0.5], [0.0, 0.0, 0.0])
    previous = np.array([CODE_NOT_HELPFUL] * 3, dtype=np.int8)
    assert classify(model, np.array([10, 10, 4]), previous=previous).tolist() == [2, 0, 0]
    assert classify(model, np.array([10, 10, 4])).tolist() == [0, 0, 0]


def test_score_passes_previous_statuses_to_the_hysteresis() -> None:
    data = _population(2)
    base = score(data.ratings)
    note = int(np.flatnonzero(base.status == CODE_HELPFUL)[0])
    # Move the threshold just above this note's score: it is now inside the margin.
    params = ScoringParams(helpful_intercept=float(base.intercept[note]) + 0.005)
    assert score(data.ratings, params=params).status[note] == CODE_NEEDS_MORE_RATINGS
    previous = [NoteStatus.HELPFUL.value] * data.ratings.n_notes
    assert score(data.ratings, previous, params).status[note] == CODE_HELPFUL


# --- validation and small helpers -------------------------------------------------------------


def test_rater_agreement_counts_only_binary_ratings_on_statused_notes() -> None:
    ratings = RatingsMatrix.from_triples(
        [0, 0, 0, 0, 1, 1], [0, 1, 2, 3, 2, 3], [1.0, 0.0, 0.5, 1.0, 1.0, 0.5]
    )
    status = np.array([CODE_HELPFUL, CODE_HELPFUL, CODE_NOT_HELPFUL, 0], dtype=np.int8)
    agreement = rater_agreement(ratings, status)
    assert agreement[0] == 0.5  # agrees on note 0, not on note 1; 0.5 and NMR ignored
    assert agreement[1] == 0.0


def test_invalid_inputs_are_refused_with_clear_errors() -> None:
    with pytest.raises(ValueError, match="indices must lie"):
        RatingsMatrix.from_triples([0, 5], [0, 1], [1.0, 0.0], n_raters=2)
    with pytest.raises(ValueError, match="finite numbers in"):
        RatingsMatrix.from_triples([0], [0], [1.5])
    with pytest.raises(ValueError, match="one entry per rating"):
        RatingsMatrix(np.zeros(2, np.int64), np.zeros(1, np.int64), np.zeros(2), 1, 1)
    with pytest.raises(ValueError, match="previous_status has 1 entries"):
        score(RatingsMatrix.empty(2, 3), previous_status=["helpful"])
    with pytest.raises(ValueError, match="unknown note status"):
        status_codes(["helpful", "shown"])
    with pytest.raises(ValueError, match="must be positive"):
        ScoringParams(intercept_lambda=0)
    with pytest.raises(ValueError, match="must not overlap"):
        ScoringParams(helpful_intercept=-0.1)
    with pytest.raises(ValueError, match="unknown note status code"):
        NoteStatus.from_code(3)


def test_status_codes_round_trip() -> None:
    for status in NoteStatus:
        assert NoteStatus.from_code(status.code) is status
    codes = status_codes([NoteStatus.HELPFUL, "not_helpful", "needs_more_ratings"])
    assert codes.tolist() == [CODE_HELPFUL, CODE_NOT_HELPFUL, CODE_NEEDS_MORE_RATINGS]
