"""Disparity of outcomes between groups, with intervals, tests and small-group suppression.

For one outcome (a violation found, an appeal overturned, the sanction's severity) and
one way of grouping (the author's self-declared leaning, language, jurisdiction, the
juror stratum), each group's rate is compared with the rate of everyone else. The
results are frozen dataclasses that a transparency report renders as they are.

Two safeguards are built in. Groups too small to report are suppressed, so that no one
is identified by a figure. A flagged difference always carries :data:`BASE_RATE_CAVEAT`:
groups can differ in what they post and what gets reported, so a gap in outcomes is a
reason to look closer, not proof of unequal treatment.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Generic, TypeVar

from scipy import stats

DEFAULT_CONFIDENCE: Final = 0.95
DEFAULT_SIGNIFICANCE: Final = 0.05
"""Family-wise error rate (Holm) or false discovery rate (Benjamini-Hochberg)."""

# A group with fewer trials than this is not shown at all. Statistical agencies suppress
# small cells so that a figure cannot point at a person (e.g. the US CMS cell-size
# suppression policy hides counts of 1 to 10). Small groups say little anyway: at 9
# trials and a 50 % rate, the Wilson 95 % interval runs from 23 % to 77 %.
MIN_GROUP_SIZE: Final = 10

# Cochran (1954): the normal approximation behind the two-proportion z-test holds when
# every expected count of the 2x2 table is at least 5; below that, use Fisher's exact
# test, which is exact given the margins (and conservative).
MIN_EXPECTED_COUNT: Final = 5.0

MAX_SEVERITY: Final = 5
"""Highest rung of the ladder none(0) < note < reduce_reach < remove < suspend < ban(5)."""

BASE_RATE_CAVEAT: Final = (
    "Groups may differ in what they post, which rules are cited against them and who "
    "reports them (different base rates). This difference is a reason to look closer, "
    "not proof of unequal treatment."
)


class ComparisonMethod(StrEnum):
    """The test used to compare a group with the rest."""

    TWO_PROPORTION_Z = "two_proportion_z"
    FISHER_EXACT = "fisher_exact"
    WELCH_T = "welch_t"


class Correction(StrEnum):
    """Multiple-comparison correction applied across the groups of one table."""

    HOLM = "holm"
    BENJAMINI_HOCHBERG = "benjamini_hochberg"


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


@dataclass(frozen=True, slots=True)
class Comparison:
    """A group against everyone else: the gap, the test and the corrected p-values."""

    rest: float  # the rest's rate, or the rest's mean rung
    difference: float  # group minus rest
    method: ComparisonMethod | None  # None: no test applies (see the functions below)
    p_value: float | None
    p_holm: float | None
    p_bh: float | None
    flagged: bool
    caveat: str | None  # BASE_RATE_CAVEAT on every flagged difference


@dataclass(frozen=True, slots=True)
class GroupRate:
    """One group's outcome rate, its interval and its comparison with the rest."""

    group: str
    successes: int
    trials: int
    rate: float
    ci_low: float
    ci_high: float
    comparison: Comparison | None  # None when there is no one else to compare with


@dataclass(frozen=True, slots=True)
class GroupSeverity:
    """One group's mean sanction rung, its interval and its comparison with the rest."""

    group: str
    count: int
    mean: float
    ci_low: float | None
    ci_high: float | None
    comparison: Comparison | None


Row = TypeVar("Row", GroupRate, GroupSeverity)


@dataclass(frozen=True, slots=True)
class Disparity(Generic[Row]):
    """One outcome by one grouping, as a report shows it; ``groups`` are the shown ones."""

    outcome: str
    dimension: str
    total: int  # trials (or decided cases) over all groups, hidden ones included
    overall: float | None  # the rate or mean over all groups; None when total is 0
    groups: tuple[Row, ...]
    suppressed: int  # how many groups are hidden; their names are not given
    min_group_size: int
    confidence: float
    significance: float
    correction: Correction


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


def suppressed_groups(sizes: Mapping[str, int], min_size: int = MIN_GROUP_SIZE) -> frozenset[str]:
    """Groups to hide: those under ``min_size``, plus enough others to protect them.

    Totals are published, so a single hidden group could be recovered as the total minus
    the shown groups. Classic secondary suppression: while the hidden groups together
    hold fewer than ``min_size`` trials, also hide the smallest shown group.
    """
    if min_size < 1:
        raise ValueError(f"min_size must be at least 1, got {min_size}")
    hidden = {g for g, n in sizes.items() if n < min_size}
    hidden_total = sum(sizes[g] for g in hidden)
    shown = sorted((n, g) for g, n in sizes.items() if g not in hidden)
    while 0 < hidden_total < min_size and shown:
        n, g = shown.pop(0)
        hidden.add(g)
        hidden_total += n
    return frozenset(hidden)


def _adjust(p_values: list[float | None]) -> tuple[list[float | None], list[float | None]]:
    """Holm and BH adjustments over the defined p-values; None stays None."""
    index = [i for i, p in enumerate(p_values) if p is not None]
    defined = [p for p in p_values if p is not None]
    by_holm: list[float | None] = [None] * len(p_values)
    by_bh: list[float | None] = [None] * len(p_values)
    for i, ph, pb in zip(index, holm(defined), benjamini_hochberg(defined), strict=True):
        by_holm[i], by_bh[i] = ph, pb
    return by_holm, by_bh


def _check_level(significance: float) -> None:
    if not 0.0 < significance < 1.0:
        raise ValueError(f"significance must lie strictly between 0 and 1, got {significance}")


def _compare(
    gaps: Sequence[tuple[float | None, float, ComparisonMethod | None, float | None]],
    correction: Correction,
    significance: float,
) -> list[Comparison | None]:
    """Build comparisons from (rest, value, method, p) and correct over the family."""
    p_holm, p_bh = _adjust([p for _, _, _, p in gaps])
    result: list[Comparison | None] = []
    for (rest, value, method, p), ph, pb in zip(gaps, p_holm, p_bh, strict=True):
        if rest is None:
            result.append(None)
            continue
        chosen = ph if correction is Correction.HOLM else pb
        flagged = chosen is not None and chosen < significance
        caveat = BASE_RATE_CAVEAT if flagged else None
        result.append(Comparison(rest, value - rest, method, p, ph, pb, flagged, caveat))
    return result


def proportion_disparity(
    outcome: str,
    dimension: str,
    counts: Mapping[str, GroupCount],
    *,
    min_group_size: int = MIN_GROUP_SIZE,
    confidence: float = DEFAULT_CONFIDENCE,
    significance: float = DEFAULT_SIGNIFICANCE,
    correction: Correction = Correction.HOLM,
) -> Disparity[GroupRate]:
    """Compare each shown group's rate of ``outcome`` with the rate of all other trials.

    The correction family is the shown groups of this one table. Holm is the default:
    naming a group as treated differently is a public claim, so the family-wise error
    rate is controlled; Benjamini-Hochberg q-values are reported alongside.
    """
    _check_level(significance)
    z = _z(confidence)
    hidden = suppressed_groups({g: c.trials for g, c in counts.items()}, min_group_size)
    successes = sum(c.successes for c in counts.values())
    trials = sum(c.trials for c in counts.values())
    shown = sorted(g for g in counts if g not in hidden)
    gaps: list[tuple[float | None, float, ComparisonMethod | None, float | None]] = []
    for g in shown:
        c = counts[g]
        rest = GroupCount(successes - c.successes, trials - c.trials)
        if rest.trials == 0:
            gaps.append((None, c.successes / c.trials, None, None))
            continue
        test = two_proportion_test(c, rest)
        gaps.append(
            (rest.successes / rest.trials, c.successes / c.trials, test.method, test.p_value)
        )
    rows = []
    for g, comparison in zip(shown, _compare(gaps, correction, significance), strict=True):
        c = counts[g]
        # Shown groups hold at least min_group_size >= 1 trials.
        low, high = _wilson(c.successes, c.trials, z)
        rows.append(
            GroupRate(g, c.successes, c.trials, c.successes / c.trials, low, high, comparison)
        )
    return Disparity(
        outcome=outcome,
        dimension=dimension,
        total=trials,
        overall=successes / trials if trials else None,
        groups=tuple(rows),
        suppressed=len(hidden),
        min_group_size=min_group_size,
        confidence=confidence,
        significance=significance,
        correction=correction,
    )


def severity_disparity(
    dimension: str,
    rungs: Mapping[str, Sequence[int]],
    *,
    min_group_size: int = MIN_GROUP_SIZE,
    confidence: float = DEFAULT_CONFIDENCE,
    significance: float = DEFAULT_SIGNIFICANCE,
    correction: Correction = Correction.HOLM,
) -> Disparity[GroupSeverity]:
    """Compare each shown group's mean sanction rung (0-5) with that of everyone else.

    Pass one rung per decided case (0 when no action was taken). Means get a Student t
    interval and a Welch t-test against the rest: with the group sizes shown here
    (>= ``min_group_size``) and a bounded 0-5 scale, the t approximation is adequate, and
    it reports the quantity people read, the mean step. A group whose rungs are all equal
    has a zero-width interval; two constant samples get no test (p-value None).
    """
    _check_level(significance)
    _z(confidence)
    for g, values in rungs.items():
        if any(not 0 <= v <= MAX_SEVERITY for v in values):
            raise ValueError(f"group {g!r}: sanction rungs must lie in 0..{MAX_SEVERITY}")
    hidden = suppressed_groups({g: len(v) for g, v in rungs.items()}, min_group_size)
    shown = sorted(g for g in rungs if g not in hidden)
    moments = {g: _Moments.of([float(v) for v in rungs[g]]) for g in shown}
    everyone = _Moments.of([float(v) for g in sorted(rungs) for v in rungs[g]])
    gaps: list[tuple[float | None, float, ComparisonMethod | None, float | None]] = []
    for g in shown:
        rest = everyone - moments[g]
        p = _welch(moments[g], rest)
        method = ComparisonMethod.WELCH_T if p is not None else None
        gaps.append((rest.mean if rest.n else None, moments[g].mean, method, p))
    rows = []
    for g, comparison in zip(shown, _compare(gaps, correction, significance), strict=True):
        m = moments[g]
        interval = _t_interval(m, confidence)
        low, high = interval if interval else (None, None)
        rows.append(GroupSeverity(g, m.n, m.mean, low, high, comparison))
    return Disparity(
        outcome="sanction_severity",
        dimension=dimension,
        total=everyone.n,
        overall=everyone.mean if everyone.n else None,
        groups=tuple(rows),
        suppressed=len(hidden),
        min_group_size=min_group_size,
        confidence=confidence,
        significance=significance,
        correction=correction,
    )


def tally(observations: Iterable[tuple[str, bool]]) -> dict[str, GroupCount]:
    """Count ``(group, outcome happened)`` observations into per-group counts."""
    trials: Counter[str] = Counter()
    successes: Counter[str] = Counter()
    for group, happened in observations:
        trials[group] += 1
        successes[group] += int(happened)
    return {g: GroupCount(successes[g], trials[g]) for g in sorted(trials)}
