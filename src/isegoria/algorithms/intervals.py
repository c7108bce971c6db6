"""Proportions and means with their uncertainty: Wilson and t intervals, two-proportion and
Welch tests, and the Holm and Benjamini-Hochberg corrections for many comparisons."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from scipy import stats

DEFAULT_CONFIDENCE: Final = 0.95
# Cochran (1954): the normal approximation behind the two-proportion z-test holds when
# every expected count of the 2x2 table is at least 5; below that, use Fisher's exact
# test, which is exact given the margins (and conservative).
MIN_EXPECTED_COUNT: Final = 5.0


class ComparisonMethod(StrEnum):
    """The test used to compare a group with the rest."""

    TWO_PROPORTION_Z = "two_proportion_z"
    FISHER_EXACT = "fisher_exact"
    WELCH_T = "welch_t"


@dataclass(frozen=True, slots=True)
class GroupCount:
    """Successes (the outcome happened) out of trials for one group."""

    successes: int
    trials: int

    def __post_init__(self) -> None:
        if self.trials < 0 or not 0 <= self.successes <= self.trials:
            raise ValueError(
                f"successes must lie in 0..trials and trials must be >= 0, "
                f"got successes={self.successes}, trials={self.trials}"
            )


@dataclass(frozen=True, slots=True)
class ProportionTest:
    """Result of comparing two proportions."""

    method: ComparisonMethod
    statistic: float | None  # z for the z-test; None for Fisher's exact test
    p_value: float


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    return float(stats.norm.ppf(0.5 + confidence / 2.0))


def _wilson(successes: int, trials: int, z: float) -> tuple[float, float]:
    p = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    # At p = 0 or 1 the bound is exactly 0 or 1; rounding would leave 1e-19 off it.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def wilson_interval(
    successes: int, trials: int, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float] | None:
    """Wilson score interval for a proportion (Wilson 1927); None without trials."""
    GroupCount(successes, trials)  # validates
    z = _z(confidence)
    return _wilson(successes, trials, z) if trials else None


def two_proportion_test(first: GroupCount, second: GroupCount) -> ProportionTest:
    """Two-sided test of equal proportions: pooled z-test, or Fisher's if counts are small."""
    if first.trials == 0 or second.trials == 0:
        raise ValueError("both groups need at least one trial to be compared")
    total = first.trials + second.trials
    successes = first.successes + second.successes
    expected = [
        rows * column / total
        for rows in (first.trials, second.trials)
        for column in (successes, total - successes)
    ]
    if min(expected) < MIN_EXPECTED_COUNT:
        table = [
            [first.successes, first.trials - first.successes],
            [second.successes, second.trials - second.successes],
        ]
        result = stats.fisher_exact(table, alternative="two-sided")
        return ProportionTest(ComparisonMethod.FISHER_EXACT, None, min(1.0, float(result.pvalue)))
    pooled = successes / total
    se = math.sqrt(pooled * (1 - pooled) * (1 / first.trials + 1 / second.trials))
    z = (first.successes / first.trials - second.successes / second.trials) / se
    return ProportionTest(ComparisonMethod.TWO_PROPORTION_Z, z, float(2 * stats.norm.sf(abs(z))))


@dataclass(frozen=True, slots=True)
class _Moments:
    """Count, sum and sum of squares: enough for a mean, a variance and Welch's test."""

    n: int
    total: float
    squares: float

    @classmethod
    def of(cls, values: Sequence[float]) -> _Moments:
        return cls(len(values), math.fsum(values), math.fsum(v * v for v in values))

    def __sub__(self, other: _Moments) -> _Moments:
        return _Moments(self.n - other.n, self.total - other.total, self.squares - other.squares)

    @property
    def mean(self) -> float:
        return self.total / self.n

    @property
    def var(self) -> float:
        # Sample variance; clipped at 0 against rounding in squares - total^2 / n.
        return max(0.0, (self.squares - self.total * self.total / self.n) / (self.n - 1))


def mean_interval(
    values: Sequence[float], confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float] | None:
    """Student t interval for a mean; None with fewer than two values."""
    _z(confidence)
    return _t_interval(_Moments.of(values), confidence)


def _t_interval(m: _Moments, confidence: float) -> tuple[float, float] | None:
    if m.n < 2:
        return None
    half = float(stats.t.ppf(0.5 + confidence / 2, m.n - 1)) * math.sqrt(m.var / m.n)
    return m.mean - half, m.mean + half


def welch_test(first: Sequence[float], second: Sequence[float]) -> float | None:
    """Two-sided Welch t-test p-value; None if either side has < 2 values or no spread."""
    return _welch(_Moments.of(first), _Moments.of(second))


def _welch(first: _Moments, second: _Moments) -> float | None:
    if first.n < 2 or second.n < 2:
        return None
    a, b = first.var / first.n, second.var / second.n
    if a + b == 0.0:
        # Both samples constant: the t statistic is 0/0 or x/0; no honest p-value exists.
        return None
    # Welch-Satterthwaite degrees of freedom.
    df = (a + b) ** 2 / (a * a / (first.n - 1) + b * b / (second.n - 1))
    t = (first.mean - second.mean) / math.sqrt(a + b)
    return float(2 * stats.t.sf(abs(t), df))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm (1979) step-down adjusted p-values, in the input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg (1995) step-up adjusted p-values (q-values), in input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i], reverse=True)
    adjusted = [0.0] * m
    running = 1.0
    for position, i in enumerate(order):
        rank = m - position
        running = min(running, m / rank * p_values[i])
        adjusted[i] = running
    return adjusted
