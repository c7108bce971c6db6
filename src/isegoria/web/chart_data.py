"""What a chart shows: series, bars, histogram bins and intervals, before any drawing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Series:
    """One named sequence of values, aligned with a chart's dates or categories."""

    name: str
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class TimeSeries:
    """Lines over days, e.g. reports and decisions per day."""

    title: str
    description: str
    dates: tuple[date, ...]
    series: tuple[Series, ...]
    y_label: str
    x_label: str = "Date"


@dataclass(frozen=True, slots=True)
class BarChart:
    """Stacked or grouped bars per category, e.g. the sanction mix by rule."""

    title: str
    description: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    y_label: str
    x_label: str
    stacked: bool = True


@dataclass(frozen=True, slots=True)
class Histogram:
    """Counts of values in bins, e.g. hours from report to verdict."""

    title: str
    description: str
    values: tuple[float, ...]
    x_label: str
    y_label: str = "Count"
    bin_edges: tuple[float, ...] | None = None  # increasing; default: rounded bins


@dataclass(frozen=True, slots=True)
class Interval:
    """One row of an interval chart: a point estimate with its interval, or a note."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    note: str = ""  # shown instead of a dot when value is None, e.g. "not enough data"
    flagged: bool = False  # drawn as a vermillion diamond, and said so in the legend


@dataclass(frozen=True, slots=True)
class IntervalChart:
    """Dots with interval bars, e.g. agreement per rule or disparity with its CI."""

    title: str
    description: str
    rows: tuple[Interval, ...]
    x_label: str
    references: tuple[tuple[float, str], ...] = ()  # vertical lines, e.g. (0.8, "reliable")
    flag_label: str = "flagged"
