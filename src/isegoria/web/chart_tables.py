"""Every chart as an accessible table: the same figures for screen readers and copying."""

from __future__ import annotations

from collections.abc import Sequence

from isegoria.i18n import gettext
from isegoria.web import formatting
from isegoria.web.chart_data import BarChart, Histogram, IntervalChart, TimeSeries
from isegoria.web.charts import _check_series, escape, format_number, histogram_bins


def data_table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An HTML table with a caption; the first cell of each row is its header. All escaped."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<th scope="row">{escape(c)}</th>' if i == 0 else f"<td>{escape(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<table class="chart-data"><caption>{escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def time_series_table(chart: TimeSeries) -> str:
    """The data of a time-series chart as a table: one row per date."""
    _check_series(chart.series, len(chart.dates), "dates")
    rows = [
        [formatting.day(d), *(format_number(s.values[i]) for s in chart.series)]
        for i, d in enumerate(chart.dates)
    ]
    return data_table(chart.title, [chart.x_label, *(s.name for s in chart.series)], rows)


def bar_chart_table(chart: BarChart) -> str:
    """The data of a bar chart as a table: one row per category."""
    _check_series(chart.series, len(chart.categories), "categories")
    rows = [
        [c, *(format_number(s.values[j]) for s in chart.series)]
        for j, c in enumerate(chart.categories)
    ]
    return data_table(chart.title, [chart.x_label, *(s.name for s in chart.series)], rows)


def histogram_table(chart: Histogram) -> str:
    """The bins of a histogram as a table: range and count."""
    rows = [
        [
            gettext("%(low)s to %(high)s") % {"low": format_number(lo), "high": format_number(hi)},
            format_number(c),
        ]
        for lo, hi, c in histogram_bins(chart)
    ]
    return data_table(chart.title, [chart.x_label, chart.y_label], rows)


def interval_chart_table(chart: IntervalChart) -> str:
    """The rows of an interval chart as a table: estimate, interval, note."""

    def cell(v: float | None) -> str:
        return "" if v is None else format_number(v)

    rows = [
        [
            r.label,
            cell(r.value),
            cell(r.low),
            cell(r.high),
            "; ".join(t for t in (chart.flag_label if r.flagged else "", r.note) if t),
        ]
        for r in chart.rows
    ]
    headers = ["", chart.x_label, gettext("Lower bound"), gettext("Upper bound"), gettext("Note")]
    return data_table(chart.title, headers, rows)
