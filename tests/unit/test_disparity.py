"""Tests for outcome disparity between groups: intervals, tests, corrections, suppression."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from isegoria.algorithms.disparity import (
    BASE_RATE_CAVEAT,
    MIN_GROUP_SIZE,
    ComparisonMethod,
    Correction,
    GroupCount,
    benjamini_hochberg,
    holm,
    mean_interval,
    proportion_disparity,
    severity_disparity,
    suppressed_groups,
    tally,
    two_proportion_test,
    welch_test,
    wilson_interval,
)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_wilson_matches_statsmodels(counts: tuple[int, int], confidence: float) -> None:
    successes, trials = counts
    ours = wilson_interval(successes, trials, confidence)
    if trials == 0:
        assert ours is None
        return
    theirs = proportion_confint(successes, trials, alpha=1 - confidence, method="wilson")
    assert ours is not None
    assert ours == pytest.approx(theirs, abs=1e-12)
    assert 0.0 <= ours[0] <= successes / trials <= ours[1] <= 1.0


def test_wilson_edges_and_validation() -> None:
    low, high = wilson_interval(0, 10) or (math.nan, math.nan)
    assert low == 0.0 and 0.2 < high < 0.35
    low, high = wilson_interval(10, 10) or (math.nan, math.nan)
    assert high == 1.0 and 0.65 < low < 0.8
    with pytest.raises(ValueError, match="successes must lie"):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 10, confidence=1.0)


def test_corrections_match_statsmodels() -> None:
    rng = np.random.default_rng(7)
    for size in [1, 2, 3, 5, 10, 30] * 4:
        # Rounding makes ties common; some exact zeros and ones too.
        p_values = np.round(rng.random(size) ** rng.uniform(0.3, 3.0), rng.integers(1, 4))
        _, by_holm, _, _ = multipletests(p_values, method="holm")
        _, by_bh, _, _ = multipletests(p_values, method="fdr_bh")
        assert holm(p_values.tolist()) == pytest.approx(list(by_holm), abs=1e-12)
        assert benjamini_hochberg(p_values.tolist()) == pytest.approx(list(by_bh), abs=1e-12)


def test_corrections_by_hand() -> None:
    p = [0.01, 0.04, 0.03, 0.5]
    # Holm: sorted 0.01*4, 0.03*3, 0.04*2, 0.5*1, made monotone -> .04 .09 .09 .5
    assert holm(p) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    # BH: 0.01*4/1, 0.03*4/2, 0.04*4/3, 0.5*4/4, min from the top -> .04 .0533 .0533 .5
    assert benjamini_hochberg(p) == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])
    assert holm([]) == [] and benjamini_hochberg([]) == []


def test_z_test_matches_hand_computation() -> None:
    # 60/100 vs 40/100: pooled 0.5, se = sqrt(.25 * .02) = 0.0707, z = 2.828.
    result = two_proportion_test(GroupCount(60, 100), GroupCount(40, 100))
    assert result.method is ComparisonMethod.TWO_PROPORTION_Z
    assert result.statistic == pytest.approx(0.2 / math.sqrt(0.25 * 0.02))
    assert result.p_value == pytest.approx(2 * stats.norm.sf(0.2 / math.sqrt(0.005)))


def test_small_counts_use_fisher() -> None:
    # Expected successes in the first row: 12 * 4 / 40 = 1.2 < 5.
    result = two_proportion_test(GroupCount(3, 12), GroupCount(1, 28))
    assert result.method is ComparisonMethod.FISHER_EXACT and result.statistic is None
    expected = stats.fisher_exact([[3, 9], [1, 27]]).pvalue
    assert result.p_value == pytest.approx(expected)
    # All successes: no variation, Fisher gives p = 1.
    assert two_proportion_test(GroupCount(20, 20), GroupCount(30, 30)).p_value == 1.0
    with pytest.raises(ValueError, match="at least one trial"):
        two_proportion_test(GroupCount(0, 0), GroupCount(1, 2))


def test_welch_and_t_interval_match_scipy() -> None:
    rng = np.random.default_rng(2)
    a = rng.integers(0, 6, 40).astype(float).tolist()
    b = rng.integers(0, 4, 70).astype(float).tolist()
    assert welch_test(a, b) == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
    interval = mean_interval(a, 0.9)
    expected = stats.t.interval(0.9, len(a) - 1, loc=np.mean(a), scale=stats.sem(a))
    assert interval == pytest.approx(expected)
    assert welch_test([1.0], [1.0, 2.0]) is None
    assert welch_test([2.0, 2.0], [3.0, 3.0]) is None
    assert mean_interval([4.0]) is None


def test_suppression_primary_and_secondary() -> None:
    assert suppressed_groups({"a": 50, "b": 40}) == frozenset()
    # 'c' alone is small; hiding it alone would let total - a - b reveal it.
    assert suppressed_groups({"a": 50, "b": 12, "c": 3}) == {"b", "c"}
    # Two small groups that together reach the threshold need no secondary suppression.
    assert suppressed_groups({"a": 50, "b": 6, "c": 5}) == {"b", "c"}
    assert suppressed_groups({"a": 50, "b": 0}) == {"b"}
    assert suppressed_groups({"a": 4}) == {"a"}
    assert suppressed_groups({}) == frozenset()
    with pytest.raises(ValueError, match="min_size"):
        suppressed_groups({"a": 4}, 0)


def test_proportion_disparity_flags_a_real_gap_with_caveat() -> None:
    counts = {
        "left": GroupCount(300, 1000),
        "centre": GroupCount(310, 1000),
        "right": GroupCount(450, 1000),
        "tiny": GroupCount(5, 6),
    }
    report = proportion_disparity("violation_found", "leaning", counts)
    names = [g.group for g in report.groups]
    # 'tiny' is hidden, and so is the smallest other group to protect it.
    assert "tiny" not in names and report.suppressed == 2 and len(names) == 2
    assert report.total == 3006 and report.overall == pytest.approx(1065 / 3006)
    right = next(g for g in report.groups if g.group == "right")
    vs = right.comparison
    assert vs is not None and vs.flagged and vs.caveat == BASE_RATE_CAVEAT
    assert vs.rest == pytest.approx((1065 - 450) / 2006)
    assert vs.difference == pytest.approx(0.45 - (1065 - 450) / 2006)
    assert right.ci_low < 0.45 < right.ci_high
    assert vs.method is ComparisonMethod.TWO_PROPORTION_Z
    # The adjusted p-values are the statsmodels ones over the shown groups.
    comparisons = [g.comparison for g in report.groups if g.comparison]
    raw = [c.p_value for c in comparisons]
    assert [c.p_holm for c in comparisons] == pytest.approx(
        list(multipletests(raw, method="holm")[1])
    )
    assert [c.p_bh for c in comparisons] == pytest.approx(
        list(multipletests(raw, method="fdr_bh")[1])
    )


def test_no_flag_without_a_difference() -> None:
    counts = {g: GroupCount(30, 100) for g in ("de", "fr", "it", "es")}
    report = proportion_disparity("appeal_overturned", "language", counts)
    comparisons = [g.comparison for g in report.groups if g.comparison]
    assert len(comparisons) == 4
    assert all(not c.flagged and c.caveat is None for c in comparisons)
    assert all(c.p_value == pytest.approx(1.0) for c in comparisons)


def test_benjamini_hochberg_flags_at_least_what_holm_flags() -> None:
    rng = np.random.default_rng(11)
    counts = {f"g{i}": GroupCount(int(rng.binomial(300, 0.2 + 0.03 * i)), 300) for i in range(8)}
    by_holm = proportion_disparity("x", "y", counts, correction=Correction.HOLM)
    by_bh = proportion_disparity("x", "y", counts, correction=Correction.BENJAMINI_HOCHBERG)
    holm_flags = {g.group for g in by_holm.groups if g.comparison and g.comparison.flagged}
    bh_flags = {g.group for g in by_bh.groups if g.comparison and g.comparison.flagged}
    assert holm_flags <= bh_flags and bh_flags


def test_degenerate_inputs() -> None:
    empty = proportion_disparity("violation_found", "leaning", {})
    assert empty.groups == () and empty.total == 0 and empty.suppressed == 0
    assert empty.overall is None
    one = proportion_disparity("violation_found", "leaning", {"only": GroupCount(4, 40)})
    (row,) = one.groups
    assert row.comparison is None and row.rate == 0.1
    zero = proportion_disparity("x", "y", {"a": GroupCount(0, 0), "b": GroupCount(3, 30)})
    assert [g.group for g in zero.groups] == ["b"] and zero.suppressed == 1
    every = proportion_disparity("x", "y", {"a": GroupCount(40, 40), "b": GroupCount(30, 30)})
    assert all(g.ci_high == 1.0 for g in every.groups)
    assert all(g.comparison and g.comparison.p_value == 1.0 for g in every.groups)
    with pytest.raises(ValueError, match="successes must lie"):
        GroupCount(5, 3)
    with pytest.raises(ValueError, match="significance"):
        proportion_disparity("x", "y", {}, significance=0.0)


def test_min_group_size_is_respected() -> None:
    counts = {"a": GroupCount(1, MIN_GROUP_SIZE - 1), "b": GroupCount(5, 100)}
    assert [g.group for g in proportion_disparity("x", "y", counts).groups] == []
    assert [g.group for g in proportion_disparity("x", "y", counts, min_group_size=5).groups] == [
        "a",
        "b",
    ]


def test_severity_disparity() -> None:
    rungs = {
        "MX": [0, 1, 3, 3, 2, 0, 1, 3, 2, 2] * 5,
        "FR": [3, 4, 5, 3, 4, 5, 3, 4, 5, 4] * 5,
        "DE": [0, 1, 2, 3, 2, 1, 0, 1, 2, 1] * 5,
        "small": [5, 5],
    }
    report = severity_disparity("jurisdiction", rungs)
    fr = next(g for g in report.groups if g.group == "FR")
    assert fr.mean == pytest.approx(4.0) and fr.count == 50
    assert fr.ci_low is not None and fr.ci_high is not None
    assert fr.ci_low < 4.0 < fr.ci_high
    rest = rungs["MX"] + rungs["DE"] + rungs["small"]
    vs = fr.comparison
    assert vs is not None and vs.rest == pytest.approx(np.mean(rest))
    assert vs.p_value == pytest.approx(stats.ttest_ind(rungs["FR"], rest, equal_var=False).pvalue)
    assert vs.flagged and vs.caveat == BASE_RATE_CAVEAT and vs.method is ComparisonMethod.WELCH_T
    assert report.total == 152 and report.overall == pytest.approx(np.mean(rest + rungs["FR"]))
    # 'small' is hidden, and DE too (the first of the smallest shown groups) to protect it.
    assert {g.group for g in report.groups} == {"FR", "MX"} and report.suppressed == 2
    with pytest.raises(ValueError, match="rungs must lie in 0..5"):
        severity_disparity("x", {"a": [6]})


def test_severity_constant_groups_are_not_testable() -> None:
    report = severity_disparity("x", {"a": [2] * 12, "b": [2] * 15})
    assert all(g.comparison and g.comparison.p_value is None for g in report.groups)
    assert all(g.comparison and not g.comparison.flagged for g in report.groups)
    assert all(g.comparison and g.comparison.method is None for g in report.groups)
    assert report.groups[0].ci_low == report.groups[0].ci_high == 2.0


def test_tally_counts_observations() -> None:
    counts = tally([("a", True), ("b", False), ("a", False), ("a", True)])
    assert counts == {"a": GroupCount(2, 3), "b": GroupCount(0, 1)}
    assert list(counts) == ["a", "b"]
