"""The charts of a transparency report, built from the report's JSON (web/charts.py draws them).

Each chart comes with its data table, so a screen reader (or anyone who wants the numbers)
gets the same information as the picture. Texts are in the current language (isegoria.i18n):
the page's, or the one ``isegoria report --language`` chose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from isegoria.algorithms import agreement
from isegoria.i18n import gettext as _
from isegoria.web import chart_tables, charts, formatting

STEPS = ("note", "reduce_reach", "remove", "suspend", "ban")
# Outcomes drawn as interval charts; severity (a mean rung) stays a table.
RATE_OUTCOMES = ("violation_found", "appeal_overturned", "ballot_finds_violation")


def _outcome_name(outcome: str) -> str:
    names = {
        "violation_found": _("violation found"),
        "appeal_overturned": _("appeal overturned"),
        "ballot_finds_violation": _("ballots finding a violation"),
    }
    return names[outcome]


def _dimension_name(dimension: str) -> str:
    names = {
        "language": _("language"),
        "jurisdiction": _("jurisdiction"),
        "region": _("region"),
        "age_band": _("age band"),
        "leaning": _("leaning"),
        "author_leaning": _("author's leaning"),
        "juror_region": _("juror's region"),
        "juror_age_band": _("juror's age band"),
        "juror_leaning": _("juror's leaning"),
    }
    return names.get(dimension, dimension.replace("_", " "))


def _group_name(dimension: str, group: str) -> str:
    """A group as people name it: a language's name, a leaning in words; codes stay codes."""
    if dimension == "language":
        return formatting.language_name(group)
    leanings = {
        "left": _("left"),
        "centre-left": _("centre-left"),
        "centre": _("centre"),
        "centre-right": _("centre-right"),
        "right": _("right"),
        "none": _("no leaning given"),
    }
    return leanings.get(group, group)


def _agreement_text(status: str) -> str:
    texts = {
        "reliable": _("juries apply this rule consistently"),
        "tentative": _("juries mostly agree; conclusions are tentative"),
        "vague": _("too vague to be applied equally"),
        "no_variation": _("every jury reached the same outcome; alpha is undefined"),
        "not_enough_data": _("not enough data"),
    }
    return texts.get(status, status)


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
        title=_("Reports and verdicts per day"),
        description=_("Reports received and verdicts reached on each day of the period (UTC)."),
        dates=tuple(date.fromisoformat(d) for d in daily["dates"]),
        series=(
            charts.Series(_("Reports"), tuple(float(v) for v in daily["reports"])),
            charts.Series(_("Verdicts"), tuple(float(v) for v in daily["verdicts"])),
        ),
        x_label=_("Date"),
        y_label=_("Count"),
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
        title=_("Sanctions by rule"),
        description=_("Sanctions imposed in the period, by rule and rung of the sanction ladder."),
        categories=tuple(rules),
        series=tuple(
            charts.Series(
                formatting.label(step), tuple(float(counts.get((r, step), 0)) for r in rules)
            )
            for step in STEPS
        ),
        y_label=_("Sanctions"),
        x_label=_("Rule"),
    )
    return ChartBlock(
        "sanctions", chart.title, charts.bar_chart_svg(chart), chart_tables.bar_chart_table(chart)
    )


def _time_to_verdict(report: dict[str, Any]) -> ChartBlock:
    chart = charts.Histogram(
        title=_("Time from report to verdict"),
        description=_("How many first-instance verdicts came after how many hours."),
        values=tuple(float(h) for h in report["time_to_verdict"]["hours"]),
        x_label=_("Hours from the first report to the verdict"),
        y_label=_("Verdicts"),
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
            note=_("%(explanation)s (%(pairs)s pairs)")
            % {"explanation": _agreement_text(row["status"]), "pairs": row["pairs"]},
            flagged=row["flagged"],
        )
        for row in report["consistency"]["violation"]
    )
    chart = charts.IntervalChart(
        title=_("Agreement between juries, per rule"),
        description=_(
            "Krippendorff's alpha on 'violation or not' between the two juries of consistency "
            "retrials, with its bootstrap interval; rules below 0.667 are too vague."
        ),
        rows=rows,
        x_label=_("Krippendorff's alpha"),
        references=(
            (agreement.TENTATIVE_ALPHA, _("tentative")),
            (agreement.RELIABLE_ALPHA, _("reliable")),
        ),
        flag_label=_("too vague"),
    )
    return ChartBlock(
        "agreement",
        chart.title,
        charts.interval_chart_svg(chart),
        chart_tables.interval_chart_table(chart),
    )


def _disparity(table: dict[str, Any]) -> ChartBlock:
    outcome = _outcome_name(table["outcome"])
    dimension = _dimension_name(table["dimension"])
    names = {"outcome": outcome, "dimension": dimension}
    rows = tuple(
        charts.Interval(
            label=_group_name(table["dimension"].removeprefix("juror_"), g["group"]),
            value=g["rate"],
            low=g["ci_low"],
            high=g["ci_high"],
            flagged=bool(g["comparison"] and g["comparison"]["flagged"]),
        )
        for g in table["groups"]
    )
    hidden = _("%(suppressed)s groups under %(min)s cases are hidden") % {
        "suppressed": table["suppressed"],
        "min": table["min_group_size"],
    }
    description = _(
        "Share of cases with %(outcome)s for each %(dimension)s, with Wilson %(level)s %% "
        "intervals; %(hidden)s."
    ) % {**names, "level": round(table["confidence"] * 100), "hidden": hidden}
    chart = charts.IntervalChart(
        title=_("Share with %(outcome)s, by %(dimension)s") % names,
        description=description,
        rows=rows,
        x_label=_("Share with %(outcome)s") % names,
        flag_label=_("differs after correction"),
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
