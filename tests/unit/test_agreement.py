"""Tests for inter-jury agreement: Krippendorff's alpha, raw agreement, bootstrap, flags."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isegoria.algorithms.agreement import (
    MIN_PAIRS,
    MISSING,
    RELIABLE_ALPHA,
    SANCTION_LADDER,
    TENTATIVE_ALPHA,
    VIOLATION_CATEGORIES,
    AgreementStatus,
    Level,
    agreement_by_rule,
    alpha_interval,
    assess_rule,
    bootstrap_alpha,
    classify,
    coincidence_matrix,
    encode,
    krippendorff_alpha,
    pair_counts,
    raw_agreement,
)


def reference_alpha(data: np.ndarray, k: int, level: Level) -> float | None:
    """Alpha from the `krippendorff` package, None where it refuses or gives NaN."""
    values = data.astype(np.float64)
    values[data == MISSING] = np.nan
    try:
        with np.errstate(all="ignore"):
            result = krippendorff.alpha(
                values, value_domain=list(range(k)), level_of_measurement=level.value
            )
    except (ValueError, ZeroDivisionError):
        return None
    return None if math.isnan(result) else float(result)


@st.composite
def reliability_data(draw: st.DrawFn) -> tuple[np.ndarray, int]:
    """Random (trials x cases) matrices with missing values and 1-6 categories."""
    coders = draw(st.integers(1, 6))
    units = draw(st.integers(0, 40))
    k = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    missing = draw(st.floats(0.0, 0.7))
    rng = np.random.default_rng(seed)
    # Skewed category probabilities make near-degenerate matrices common.
    probs = rng.dirichlet(np.full(k, 0.7))
    data = rng.choice(k, size=(coders, units), p=probs).astype(np.int64)
    data[rng.random((coders, units)) < missing] = MISSING
    return data, k


@settings(max_examples=250, deadline=None)
@given(reliability_data(), st.sampled_from(list(Level)))
def test_alpha_matches_krippendorff_package(case: tuple[np.ndarray, int], level: Level) -> None:
    data, k = case
    ours = krippendorff_alpha(data, k, level)
    theirs = reference_alpha(data, k, level)
    if theirs is None:
        assert ours is None
    else:
        assert ours == pytest.approx(theirs, abs=1e-9)


def test_published_example_with_missing_values() -> None:
    # Krippendorff (2011) "Computing Krippendorff's Alpha-Reliability", example C:
    # four observers, twelve units, missing values; nominal alpha = 0.743.
    m = MISSING
    data = np.array(
        [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, m, m, m],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, m, 3],
            [m, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, m],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, m],
        ]
    )
    data = np.where(data == m, m, data - 1)
    assert krippendorff_alpha(data, 5, Level.NOMINAL) == pytest.approx(0.743, abs=5e-4)


def test_hand_computed_nominal() -> None:
    # Units (0,0) (1,1) (0,1) (0,0): o = [[4,1],[1,2]], n0=5, n1=3, n=8.
    # alpha = 1 - (n-1) * (o01+o10) / (2 n0 n1) = 1 - 7*2/30 = 16/30.
    data = [[0, 1, 0, 0], [0, 1, 1, 0]]
    np.testing.assert_allclose(coincidence_matrix(data, 2), [[4.0, 1.0], [1.0, 2.0]])
    assert krippendorff_alpha(data, 2, Level.NOMINAL) == pytest.approx(16 / 30)
    assert raw_agreement(data, 2) == pytest.approx(3 / 4)


def test_hand_computed_ordinal() -> None:
    # Units (0,2) (1,1) (2,2): n = (1,2,3); delta^2_02 = (6 - 2)^2 = 16,
    # delta^2_01 = 1.5^2, delta^2_12 = 2.5^2. Observed 2*16 = 32; expected
    # 2*(1*2*2.25 + 1*3*16 + 2*3*6.25) = 180. alpha = 1 - 5*32/180 = 1/9.
    data = [[0, 1, 2], [2, 1, 2]]
    assert krippendorff_alpha(data, 3, Level.ORDINAL) == pytest.approx(1 / 9)
    # Nominal ignores the distance of the disagreement: 1 - 5*2/(2*(2+3+6)) = 6/11.
    assert krippendorff_alpha(data, 3, Level.NOMINAL) == pytest.approx(6 / 11)


def test_ordinal_penalises_far_disagreements_more() -> None:
    base = [0, 1, 2, 3, 4, 5] * 5
    near = [min(v + 1, 5) if i % 3 == 0 else v for i, v in enumerate(base)]
    far = [5 - v if i % 3 == 0 else v for i, v in enumerate(base)]
    alpha_near = krippendorff_alpha([base, near], 6, Level.ORDINAL)
    alpha_far = krippendorff_alpha([base, far], 6, Level.ORDINAL)
    assert alpha_near is not None and alpha_far is not None
    assert alpha_near > alpha_far


def test_binary_ordinal_equals_nominal() -> None:
    rng = np.random.default_rng(3)
    data = rng.integers(0, 2, size=(3, 25))
    assert krippendorff_alpha(data, 2, Level.ORDINAL) == pytest.approx(
        krippendorff_alpha(data, 2, Level.NOMINAL)
    )


def test_perfect_agreement_with_variation_is_one() -> None:
    data = [[0, 1, 2, 1], [0, 1, 2, 1]]
    assert krippendorff_alpha(data, 3, Level.NOMINAL) == pytest.approx(1.0)
    assert raw_agreement(data, 3) == 1.0


@pytest.mark.parametrize(
    "data",
    [
        np.empty((2, 0), dtype=np.int64),  # no cases at all
        [[0, MISSING, 1], [MISSING, 1, MISSING]],  # no case tried twice
        [[1, 1, 1], [1, 1, 1]],  # a single category: no variation
        [[2, 2, MISSING], [2, 2, 2], [MISSING, 2, 2]],
    ],
)
def test_alpha_undefined(data: npt.ArrayLike) -> None:
    assert krippendorff_alpha(data, 3, Level.NOMINAL) is None
    assert krippendorff_alpha(data, 3, Level.ORDINAL) is None
    assert alpha_interval(data, 3, Level.NOMINAL, np.random.default_rng(0)) is None


def test_raw_agreement_counts_pairs_within_cases() -> None:
    # Three trials of one case (0, 0, 1): pairs 01, 02, 12 -> one agrees.
    assert pair_counts([[0], [0], [1]], 2) == (1, 3)
    assert raw_agreement([[0, MISSING], [MISSING, 1]], 2) is None
    assert raw_agreement([[1, 1], [1, 1]], 2) == 1.0


def test_invalid_codes_rejected() -> None:
    with pytest.raises(ValueError, match="category codes"):
        krippendorff_alpha([[0, 3]], 3, Level.NOMINAL)
    with pytest.raises(ValueError, match="2-D"):
        krippendorff_alpha([0, 1], 2, Level.NOMINAL)


def test_encode_labels_and_missing() -> None:
    data = encode([("none", "remove"), ("ban", None, "ban")], SANCTION_LADDER)
    expected = [[0, 5], [3, MISSING], [MISSING, 5]]
    np.testing.assert_array_equal(data, expected)
    with pytest.raises(ValueError, match="'delete' is not one of"):
        encode([("delete", "none")], SANCTION_LADDER)
    with pytest.raises(ValueError, match="distinct"):
        encode([], ("a", "a"))


def _two_juries(n: int, flip: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    first = (rng.random(n) < 0.3).astype(np.int64)
    second = first.copy()
    flipped = rng.random(n) < flip
    second[flipped] = 1 - second[flipped]
    return np.vstack([first, second])


def test_bootstrap_interval_contains_estimate_and_is_seeded() -> None:
    data = _two_juries(200, 0.1, seed=5)
    point = krippendorff_alpha(data, 2, Level.NOMINAL)
    assert point is not None
    first = alpha_interval(data, 2, Level.NOMINAL, np.random.default_rng(42), n_resamples=500)
    again = alpha_interval(data, 2, Level.NOMINAL, np.random.default_rng(42), n_resamples=500)
    other = alpha_interval(data, 2, Level.NOMINAL, np.random.default_rng(43), n_resamples=500)
    assert first is not None and other is not None
    assert first == again
    assert first != other
    assert first[0] < point < first[1]
    assert -1.0 <= first[0] and first[1] <= 1.0


def test_bootstrap_replicates_resample_cases() -> None:
    # Two kinds of case in equal numbers: resampling cases varies their mix, so alpha varies.
    data = np.tile(np.array([[0, 1], [1, 1]]), (1, 20))
    point = krippendorff_alpha(data, 2, Level.NOMINAL)
    assert point is not None
    replicates = bootstrap_alpha(data, 2, Level.NOMINAL, np.random.default_rng(0), 50)
    assert np.all(np.isfinite(replicates))
    assert len(np.unique(np.round(replicates, 12))) > 1
    assert np.nanmin(replicates) <= point <= np.nanmax(replicates)


def test_interval_narrows_with_more_pairs() -> None:
    widths = []
    for n in (30, 300):
        interval = alpha_interval(
            _two_juries(n, 0.12, seed=n), 2, Level.NOMINAL, np.random.default_rng(1)
        )
        assert interval is not None
        widths.append(interval[1] - interval[0])
    assert widths[1] < widths[0] / 2


@pytest.mark.parametrize(
    ("alpha", "pairs", "status"),
    [
        (0.95, MIN_PAIRS, AgreementStatus.RELIABLE),
        (RELIABLE_ALPHA, MIN_PAIRS, AgreementStatus.RELIABLE),
        (0.79, MIN_PAIRS, AgreementStatus.TENTATIVE),
        (TENTATIVE_ALPHA, MIN_PAIRS, AgreementStatus.TENTATIVE),
        (0.66, MIN_PAIRS, AgreementStatus.VAGUE),
        (-0.2, MIN_PAIRS, AgreementStatus.VAGUE),
        (None, MIN_PAIRS, AgreementStatus.NO_VARIATION),
        (0.1, MIN_PAIRS - 1, AgreementStatus.NOT_ENOUGH_DATA),
        (None, 0, AgreementStatus.NOT_ENOUGH_DATA),
    ],
)
def test_classify(alpha: float | None, pairs: int, status: AgreementStatus) -> None:
    assert classify(alpha, pairs) is status


def test_agreement_by_rule_flags_vague_rules_only_with_enough_data() -> None:
    rng = np.random.default_rng(9)
    records: list[tuple[str, tuple[bool | None, ...]]] = []
    for _ in range(120):  # MX-1: juries nearly always agree.
        verdict = bool(rng.random() < 0.4)
        records.append(("MX-1", (verdict, verdict if rng.random() < 0.97 else not verdict)))
    for _ in range(120):  # MX-2: the second jury is a coin toss.
        records.append(("MX-2", (bool(rng.random() < 0.5), bool(rng.random() < 0.5))))
    for _ in range(10):  # MX-3: too few pairs to judge, however much they disagree.
        records.append(("MX-3", (True, False)))
    records.append(("MX-4", (True, None)))  # never tried twice
    results = agreement_by_rule(
        records, VIOLATION_CATEGORIES, Level.NOMINAL, rng=np.random.default_rng(0)
    )
    by_rule = {r.rule: r for r in results}
    assert [r.rule for r in results] == ["MX-1", "MX-2", "MX-3", "MX-4"]
    assert by_rule["MX-1"].status is AgreementStatus.RELIABLE and not by_rule["MX-1"].flagged
    assert by_rule["MX-2"].flagged
    assert by_rule["MX-2"].explanation == "too vague to be applied equally"
    assert by_rule["MX-3"].status is AgreementStatus.NOT_ENOUGH_DATA
    # o01 = o10 = 10, n0 = n1 = 10, n = 20: alpha = 1 - 19 * 20 / (2 * 10 * 10) = -0.9.
    assert by_rule["MX-3"].alpha == pytest.approx(-0.9)
    assert by_rule["MX-4"].pairs == 0 and by_rule["MX-4"].cases == 0
    assert by_rule["MX-4"].alpha is None and by_rule["MX-4"].raw_agreement is None
    mx2 = by_rule["MX-2"]
    assert mx2.ci_low is not None and mx2.ci_high is not None and mx2.alpha is not None
    assert mx2.ci_low <= mx2.alpha <= mx2.ci_high
    assert mx2.pairs == 120 and mx2.cases == 120


def test_assess_rule_ordinal_sanctions_reproducible() -> None:
    trials = [(SANCTION_LADDER[i % 6], SANCTION_LADDER[(i + i % 2) % 6]) for i in range(60)]
    first = assess_rule("EU-7", trials, SANCTION_LADDER, Level.ORDINAL, np.random.default_rng(4))
    second = assess_rule("EU-7", trials, SANCTION_LADDER, Level.ORDINAL, np.random.default_rng(4))
    assert first == second
    assert first.level is Level.ORDINAL and first.pairs == 60
    assert first.raw_agreement == pytest.approx(0.5)
    with pytest.raises(ValueError, match="min_pairs"):
        assess_rule(
            "EU-7", trials, SANCTION_LADDER, Level.ORDINAL, np.random.default_rng(4), min_pairs=0
        )
