"""The charts of a transparency report, built from the report's JSON (web/charts.py draws them).

Each chart comes with its data table, so a screen reader (or anyone who wants the numbers)
gets the same information as the picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from isegoria.algorithms import agreement
from isegoria.web import chart_tables, charts

STEPS = ("note", "reduce_reach", "remove", "suspend", "ban")
# Outcomes drawn as interval charts; severity (a mean rung) stays a table.
RATE_OUTCOMES = {
    "violation_found": "violation found",
    "appeal_overturned": "appeal overturned",
    "ballot_finds_violation": "ballots finding a violation",
}


@dataclass(frozen=True)
class ChartBlock:
    """One chart: an id for links, its title, the SVG and the table with the same data."""

    key: str
    title: str
    svg: str
    table: str


def _time_series(report: dict[str, Any]) -> ChartBlock:
    daily = report["daily"]
    chart = charts.TimeSeries(
        title="Reports and verdicts per day",
        description="Reports received and verdicts reached on each day of the period (UTC).",
        dates=tuple(date.fromisoformat(d) for d in daily["dates"]),
        series=(
            charts.Series("Reports", tuple(float(v) for v in daily["reports"])),
            charts.Series("Verdicts", tuple(float(v) for v in daily["verdicts"])),
        ),
        y_label="Count",
    )
    return ChartBlock(
        "daily", chart.title, charts.time_series_svg(chart), chart_tables.time_series_table(chart)
    )


def _sanction_mix(report: dict[str, Any]) -> ChartBlock:
    rules = sorted({row["rule"] for row in report["sanctions"]["rows"]})
    counts = {(row["rule"], row["sanction"]): 0 for row in report["sanctions"]["rows"]}
    for row in report["sanctions"]["rows"]:
        counts[(row["rule"], row["sanction"])] += row["count"]
    chart = charts.BarChart(
        title="Sanctions by rule",
        description="Sanctions imposed in the period, by rule and rung of the sanction ladder.",
        categories=tuple(rules),
        series=tuple(
            charts.Series(step, tuple(float(counts.get((r, step), 0)) for r in rules))
            for step in STEPS
        ),
        y_label="Sanctions",
        x_label="Rule",
    )
    return ChartBlock(
        "sanctions", chart.title, charts.bar_chart_svg(chart), chart_tables.bar_chart_table(chart)
    )


def _time_to_verdict(report: dict[str, Any]) -> ChartBlock:
    chart = charts.Histogram(
        title="Time from report to verdict",
        description="How many first-instance verdicts came after how many hours.",
        values=tuple(float(h) for h in report["time_to_verdict"]["hours"]),
        x_label="Hours from the first report to the verdict",
        y_label="Verdicts",
    )
    return ChartBlock(
        "time-to-verdict",
        chart.title,
        charts.histogram_svg(chart),
        chart_tables.histogram_table(chart),
    )


def _agreement(report: dict[str, Any]) -> ChartBlock:
    # A rule with too few pairs is not judged, so no estimate is drawn for it either.
    rows = tuple(
        charts.Interval(
            label=row["rule"],
            value=None if row["status"] == "not_enough_data" else row["alpha"],
            low=row["ci_low"],
            high=row["ci_high"],
            note=f"{row['explanation']} ({row['pairs']} pairs)",
            flagged=row["flagged"],
        )
        for row in report["consistency"]["violation"]
    )
    chart = charts.IntervalChart(
        title="Agreement between juries, per rule",
        description=(
            "Krippendorff's alpha on 'violation or not' between the two juries of consistency "
            "retrials, with its bootstrap interval; rules below 0.667 are too vague."
        ),
        rows=rows,
        x_label="Krippendorff's alpha",
        references=(
            (agreement.TENTATIVE_ALPHA, "tentative"),
            (agreement.RELIABLE_ALPHA, "reliable"),
        ),
        flag_label="too vague",
    )
    return ChartBlock(
        "agreement",
        chart.title,
        charts.interval_chart_svg(chart),
        chart_tables.interval_chart_table(chart),
    )


def _disparity(table: dict[str, Any]) -> ChartBlock:
    outcome = RATE_OUTCOMES[table["outcome"]]
    dimension = table["dimension"].replace("_", " ")
    rows = tuple(
        charts.Interval(
            label=g["group"],
            value=g["rate"],
            low=g["ci_low"],
            high=g["ci_high"],
            flagged=bool(g["comparison"] and g["comparison"]["flagged"]),
        )
        for g in table["groups"]
    )
    hidden = f"; {table['suppressed']} groups under {table['min_group_size']} cases are hidden"
    chart = charts.IntervalChart(
        title=f"Share with {outcome}, by {dimension}",
        description=(
            f"Share of cases with {outcome} for each {dimension}, with Wilson "
            f"{round(table['confidence'] * 100)} % intervals{hidden}."
        ),
        rows=rows,
        x_label=f"Share with {outcome}",
        flag_label="differs after correction",
    )
    key = f"disparity-{table['dimension']}-{table['outcome']}"
    return ChartBlock(
        key, chart.title, charts.interval_chart_svg(chart), chart_tables.interval_chart_table(chart)
    )


def report_charts(report: dict[str, Any]) -> list[ChartBlock]:
    """Every chart of the report, in reading order."""
    blocks = [_time_series(report), _sanction_mix(report), _time_to_verdict(report)]
    blocks.append(_agreement(report))
    tables = [*report["disparity"], *report.get("juror_strata", [])]
    tables += report.get("author_leaning", [])
    blocks += [_disparity(t) for t in tables if t["outcome"] in RATE_OUTCOMES]
    return blocks
