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

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Generic, TypeVar

from isegoria.algorithms.intervals import DEFAULT_CONFIDENCE as DEFAULT_CONFIDENCE
from isegoria.algorithms.intervals import MIN_EXPECTED_COUNT as MIN_EXPECTED_COUNT
from isegoria.algorithms.intervals import ComparisonMethod as ComparisonMethod
from isegoria.algorithms.intervals import GroupCount as GroupCount
from isegoria.algorithms.intervals import ProportionTest as ProportionTest
from isegoria.algorithms.intervals import _Moments, _t_interval, _welch, _wilson, _z
from isegoria.algorithms.intervals import benjamini_hochberg as benjamini_hochberg
from isegoria.algorithms.intervals import holm as holm
from isegoria.algorithms.intervals import mean_interval as mean_interval
from isegoria.algorithms.intervals import two_proportion_test as two_proportion_test
from isegoria.algorithms.intervals import welch_test as welch_test
from isegoria.algorithms.intervals import wilson_interval as wilson_interval

DEFAULT_SIGNIFICANCE: Final = 0.05
"""Family-wise error rate (Holm) or false discovery rate (Benjamini-Hochberg)."""

# A group with fewer trials than this is not shown at all. Statistical agencies suppress
# small cells so that a figure cannot point at a person (e.g. the US CMS cell-size
# suppression policy hides counts of 1 to 10). Small groups say little anyway: at 9
# trials and a 50 % rate, the Wilson 95 % interval runs from 23 % to 77 %.
MIN_GROUP_SIZE: Final = 10


MAX_SEVERITY: Final = 5
"""Highest rung of the ladder none(0) < note < reduce_reach < remove < suspend < ban(5)."""

BASE_RATE_CAVEAT: Final = (
    "Groups may differ in what they post, which rules are cited against them and who "
    "reports them (different base rates). This difference is a reason to look closer, "
    "not proof of unequal treatment."
)


class Correction(StrEnum):
    """Multiple-comparison correction applied across the groups of one table."""

    HOLM = "holm"
    BENJAMINI_HOCHBERG = "benjamini_hochberg"


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
