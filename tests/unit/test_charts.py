"""Tests for the server-side SVG charts and their table fallbacks."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from isegoria.web.chart_tables import (
    bar_chart_table,
    histogram_table,
    interval_chart_table,
    time_series_table,
)
from isegoria.web.charts import (
    LABEL_WIDTH,
    NO_DATA,
    PALETTE,
    PLOT_BOTTOM,
    PLOT_LEFT,
    PLOT_RIGHT,
    PLOT_TOP,
    BarChart,
    Histogram,
    Interval,
    IntervalChart,
    Series,
    TimeSeries,
    bar_chart_svg,
    format_number,
    histogram_bins,
    histogram_svg,
    interval_chart_svg,
    nice_ticks,
    time_series_svg,
)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & \'quote\' " onload="evil()\x00]]>'
CLEAN = HOSTILE.replace("\x00", "")
DAYS = tuple(date(2025, 3, 1) + timedelta(days=i) for i in range(3))


def xml(text: str) -> ET.Element:
    """Parse markup this module produced (trusted: no entity tricks to defuse)."""
    return ET.fromstring(text)  # noqa: S314


def parse(svg: str) -> ET.Element:
    root = xml(svg)
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(e.itertext()) for e in root.iter(f"{SVG}text")]


def all_charts(label: str) -> list[tuple[str, str]]:
    """Every chart kind with ``label`` in every text slot, as (svg, table) pairs."""
    series = (Series(label, (1.0, 2.0, 3.0)), Series("other", (2.0, 0.0, 1.0)))
    ts = TimeSeries(label, label, DAYS, series, label, label)
    bars = BarChart(label, label, (label, "b", "c"), series, label, label)
    grouped = BarChart(label, label, (label, "b", "c"), series, label, label, stacked=False)
    hist = Histogram(label, label, (1.0, 2.0, 2.5, 9.0), label, label)
    rows = (
        Interval(label, 0.5, 0.4, 0.6, flagged=True),
        Interval("x", None, note=label),
    )
    intervals = IntervalChart(label, label, rows, label, ((0.8, label),), flag_label=label)
    return [
        (time_series_svg(ts), time_series_table(ts)),
        (bar_chart_svg(bars), bar_chart_table(bars)),
        (bar_chart_svg(grouped), bar_chart_table(grouped)),
        (histogram_svg(hist), histogram_table(hist)),
        (interval_chart_svg(intervals), interval_chart_table(intervals)),
    ]


@pytest.mark.parametrize("index", range(5))
def test_every_chart_is_accessible_well_formed_svg(index: int) -> None:
    svg, table = all_charts("Reports")[index]
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("viewBox", "").startswith("0 0 ")
    assert root.get("width") is None and root.get("height") is None
    title, desc = root[0], root[1]
    assert title.tag == f"{SVG}title" and title.text == "Reports"
    assert desc.tag == f"{SVG}desc" and desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    # No scripts, no external references: only in-document url(#...) fills.
    assert "<script" not in svg and "href" not in svg
    assert svg.count("http") == 1  # the SVG namespace itself
    assert svg.count("url(") == svg.count("url(#")
    assert any("Reports" in t for t in texts(root))
    table_root = xml(table)
    assert table_root.tag == "table" and table_root[0].tag == "caption"
    assert table_root[0].text == "Reports"


@pytest.mark.parametrize("index", range(5))
def test_hostile_labels_are_escaped(index: int) -> None:
    svg, table = all_charts(HOSTILE)[index]
    root = parse(svg)  # would raise if the label broke the markup
    tags = {e.tag for e in root.iter()}
    assert f"{SVG}script" not in tags
    assert not any(a.startswith("on") for e in root.iter() for a in e.attrib)
    assert root[0].text == CLEAN  # the title keeps the text, minus the NUL XML forbids
    assert root[1].text == CLEAN
    table_root = xml(table)
    assert "script" not in {e.tag for e in table_root.iter()}
    assert table_root[0].text == CLEAN
    cells = ["".join(c.itertext()) for c in table_root.iter() if c.tag in {"th", "td"}]
    assert CLEAN in cells


@pytest.mark.parametrize(
    "svg",
    [
        time_series_svg(TimeSeries("Reports", "Per day.", (), (), "Cases")),
        bar_chart_svg(BarChart("Mix", "By rule.", (), (), "Cases", "Rule")),
        histogram_svg(Histogram("Time to verdict", "Hours.", (), "Hours")),
        interval_chart_svg(IntervalChart("Agreement", "Alpha.", (), "alpha")),
    ],
)
def test_empty_data_renders_a_no_data_chart(svg: str) -> None:
    root = parse(svg)
    assert root.get("role") == "img" and root[0].text and root[1].text
    assert NO_DATA in texts(root)
    assert NO_DATA in (root[1].text or "")
    assert root.find(f".//{SVG}rect[@class='bar']") is None


def test_bar_geometry() -> None:
    chart = BarChart("t", "d", ("a", "b"), (Series("s", (5.0, 10.0)),), "y", "x")
    root = parse(bar_chart_svg(chart))
    bars = root.findall(f".//{SVG}rect[@class='bar']")
    assert len(bars) == 2
    band = (PLOT_RIGHT - PLOT_LEFT) / 2
    # The axis runs 0..10, so 10 fills the plot and 5 fills half of it.
    assert float(bars[1].get("y", "nan")) == pytest.approx(PLOT_TOP)
    assert float(bars[1].get("height", "nan")) == pytest.approx(PLOT_BOTTOM - PLOT_TOP)
    assert float(bars[0].get("height", "nan")) == pytest.approx((PLOT_BOTTOM - PLOT_TOP) / 2)
    assert float(bars[0].get("x", "nan")) == pytest.approx(PLOT_LEFT + band * 0.15, abs=0.01)
    assert float(bars[0].get("width", "nan")) == pytest.approx(band * 0.7, abs=0.01)
    assert [t for t in texts(root) if t in {"0", "10"}] == ["0", "10"]


def test_stacked_and_grouped_bars() -> None:
    series = (Series("s1", (2.0,)), Series("s2", (6.0,)))
    stacked = parse(bar_chart_svg(BarChart("t", "d", ("a",), series, "y", "x")))
    lower, upper = stacked.findall(f".//{SVG}rect[@class='bar']")
    # Axis 0..8: the second segment sits on top of the first.
    bottom_of_upper = float(upper.get("y", "nan")) + float(upper.get("height", "nan"))
    assert bottom_of_upper == pytest.approx(float(lower.get("y", "nan")), abs=0.02)
    assert float(upper.get("y", "nan")) == pytest.approx(PLOT_TOP)
    grouped = parse(bar_chart_svg(BarChart("t", "d", ("a",), series, "y", "x", stacked=False)))
    first, second = grouped.findall(f".//{SVG}rect[@class='bar']")
    for bar in (first, second):
        end = float(bar.get("y", "nan")) + float(bar.get("height", "nan"))
        assert end == pytest.approx(PLOT_BOTTOM, abs=0.02)
    assert float(second.get("x", "nan")) > float(first.get("x", "nan"))
    # Each series has its own pattern, and the legend shows both names.
    assert first.get("fill") != second.get("fill")
    assert {"s1", "s2"} <= set(texts(grouped))


def test_time_series_coordinates() -> None:
    chart = TimeSeries("t", "d", DAYS, (Series("s", (0.0, 5.0, 10.0)),), "y")
    root = parse(time_series_svg(chart))
    (line,) = root.findall(f".//{SVG}polyline[@class='series']")
    points = [float(v) for p in line.get("points", "").split() for v in p.split(",")]
    middle_x, middle_y = (PLOT_LEFT + PLOT_RIGHT) / 2, (PLOT_TOP + PLOT_BOTTOM) / 2
    expected = [PLOT_LEFT, PLOT_BOTTOM, middle_x, middle_y, PLOT_RIGHT, PLOT_TOP]
    assert points == pytest.approx(expected, abs=0.01)
    assert line.get("stroke") == PALETTE[0]
    assert "Mar 1" in texts(root) and "Mar 3" in texts(root)  # days as the reader writes them


def test_time_series_series_differ_by_dash_as_well_as_colour() -> None:
    series = (Series("a", (1.0, 2.0, 3.0)), Series("b", (3.0, 2.0, 1.0)))
    root = parse(time_series_svg(TimeSeries("t", "d", DAYS, series, "y")))
    first, second = root.findall(f".//{SVG}polyline[@class='series']")
    assert first.get("stroke-dasharray") != second.get("stroke-dasharray")
    assert first.get("stroke") != second.get("stroke")


def test_histogram_bins_and_geometry() -> None:
    chart = Histogram("t", "d", (1.0, 2.0, 15.0, 20.0, 99.0), "hours", bin_edges=(0, 10, 20))
    # Bins are [0, 10) and [10, 20]; 99 lies outside both.
    assert histogram_bins(chart) == [(0, 10, 2), (10, 20, 2)]
    root = parse(histogram_svg(chart))
    bars = root.findall(f".//{SVG}rect[@class='bar']")
    assert [float(b.get("x", "nan")) for b in bars] == pytest.approx(
        [PLOT_LEFT, (PLOT_LEFT + PLOT_RIGHT) / 2], abs=0.01
    )
    assert all(float(b.get("y", "nan")) == pytest.approx(PLOT_TOP) for b in bars)
    auto = histogram_bins(Histogram("t", "d", (3.0, 47.0, 12.0), "h"))
    assert auto[0][0] <= 3.0 and auto[-1][1] >= 47.0
    assert sum(c for _, _, c in auto) == 3
    with pytest.raises(ValueError, match="strictly increasing"):
        histogram_bins(Histogram("t", "d", (1.0,), "h", bin_edges=(5, 5)))


def test_interval_geometry_and_notes() -> None:
    rows = (Interval("MX-1", 0.5, 0.25, 0.75), Interval("MX-2", None, note="not enough data"))
    chart = IntervalChart("t", "d", rows, "alpha", ((1.0, "reliable"),))
    root = parse(interval_chart_svg(chart))
    # Values 0.25..1.0 give the axis 0.2..1.0, drawn from LABEL_WIDTH + 8 to PLOT_RIGHT.
    left = LABEL_WIDTH + 8

    def x(v: float) -> float:
        return left + (v - 0.2) / 0.8 * (PLOT_RIGHT - left)

    (bar,) = root.findall(f".//{SVG}line[@class='interval']")
    assert float(bar.get("x1", "nan")) == pytest.approx(x(0.25), abs=0.01)
    assert float(bar.get("x2", "nan")) == pytest.approx(x(0.75), abs=0.01)
    reference = root.find(f".//{SVG}g[@class='reference']/{SVG}line")
    assert reference is not None
    assert float(reference.get("x1", "nan")) == pytest.approx(PLOT_RIGHT, abs=0.01)
    (point,) = root.findall(f".//{SVG}g[@class='point']")
    # The marker is drawn 8 units right of its group's origin.
    origin = point.get("transform", "").removeprefix("translate(").split()[0]
    assert float(origin) + 8 == pytest.approx(x(0.5), abs=0.01)
    assert ["0.2", "0.4", "0.6", "0.8", "1.0"] == [t for t in texts(root) if t[:2] in {"0.", "1."}]
    assert "not enough data" in texts(root)


def test_flagged_rows_differ_in_shape_not_only_colour() -> None:
    rows = (Interval("a", 0.9, 0.8, 1.0), Interval("b", 0.3, 0.1, 0.5, flagged=True))
    root = parse(interval_chart_svg(IntervalChart("t", "d", rows, "alpha")))
    plain, flagged = root.findall(f".//{SVG}g[@class='point']")
    assert plain[0].tag == f"{SVG}circle" and flagged[0].tag == f"{SVG}path"
    assert "flagged" in texts(root)
    table = xml(interval_chart_table(IntervalChart("t", "d", rows, "alpha")))
    assert ["".join(td.itertext()) for td in table.iter("td")][-1] == "flagged"


def test_output_is_deterministic_and_ids_unique() -> None:
    first = all_charts("Same")
    assert first == all_charts("Same")
    ids = [parse(svg)[0].get("id") for svg, _ in first]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 97, [0, 20, 40, 60, 80, 100]),
        (0, 10, [0, 2, 4, 6, 8, 10]),
        (0.12, 0.93, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (-3, 4, [-4, -2, 0, 2, 4]),
        (5, 5, [5.0, 5.2, 5.4, 5.6, 5.8, 6.0]),
    ],
)
def test_nice_ticks(low: float, high: float, expected: list[float]) -> None:
    assert nice_ticks(low, high) == pytest.approx(expected)


def test_format_number() -> None:
    assert format_number(1234567) == "1,234,567"
    assert format_number(0.5, 0.1) == "0.5"
    assert format_number(0.5, 0.05) == "0.50"
    assert format_number(20000.0, 5000.0) == "20,000"
    assert format_number(2 / 3) == "0.667"
    assert format_number(-0.0001, 0.1) == "0.0"


def test_table_contents() -> None:
    series = (Series("Reports", (1200.0, 3.0)), Series("Decisions", (0.5, 2.0)))
    table = xml(time_series_table(TimeSeries("Daily", "d", DAYS[:2], series, "Cases")))
    assert [th.text for th in table.iter("th")][:3] == ["Date", "Reports", "Decisions"]
    rows = table.findall("./tbody/tr")
    assert ["".join(c.itertext()) for c in rows[0]] == ["Mar 1, 2025", "1,200", "0.5"]
    hist = xml(histogram_table(Histogram("h", "d", (1.0, 12.0), "Hours", "Cases", (0, 10, 20))))
    assert ["".join(c.itertext()) for c in hist.findall("./tbody/tr")[1]] == ["10 to 20", "1"]


def test_invalid_series_rejected() -> None:
    with pytest.raises(ValueError, match="has 2 values for 3 dates"):
        time_series_svg(TimeSeries("t", "d", DAYS, (Series("s", (1.0, 2.0)),), "y"))
    too_many = tuple(Series(str(i), (1.0,)) for i in range(len(PALETTE) + 1))
    with pytest.raises(ValueError, match="at most 8 series"):
        bar_chart_svg(BarChart("t", "d", ("a",), too_many, "y", "x"))
    with pytest.raises(ValueError, match="negative"):
        bar_chart_svg(BarChart("t", "d", ("a",), (Series("s", (-1.0,)),), "y", "x"))
    with pytest.raises(ValueError, match="finite"):
        time_series_svg(TimeSeries("t", "d", DAYS, (Series("s", (1.0, float("nan"), 2)),), "y"))
