"""Accessible SVG charts for transparency reports, rendered on the server as strings.

Every chart is a pure function of a frozen chart description and returns the same bytes
for the same input. Each SVG has ``role="img"`` with ``<title>`` and ``<desc>`` (WAI-ARIA
Graphics module, ``graphics-document`` guidance), labelled axes with rounded tick values,
a legend where there is more than one series, the Okabe-Ito colour-blind-safe palette
backed by patterns or dash styles so colour is never the only cue (WCAG 2.2 SC 1.4.1),
and a viewBox so it scales. There are no scripts and no external references, and every
piece of text is XML-escaped. Each chart has a ``*_table`` twin: the same data as an
HTML ``<table>`` with a caption, for screen readers and for anyone who wants the numbers.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from bisect import bisect_right
from collections.abc import Sequence

from isegoria.i18n import gettext
from isegoria.web import formatting
from isegoria.web.chart_data import BarChart as BarChart
from isegoria.web.chart_data import Histogram as Histogram
from isegoria.web.chart_data import Interval as Interval
from isegoria.web.chart_data import IntervalChart as IntervalChart
from isegoria.web.chart_data import Series as Series
from isegoria.web.chart_data import TimeSeries as TimeSeries
from isegoria.web.chart_style import (
    DASHES,
    FLAG_COLOUR,
    GRID,
    HEIGHT,
    INK,
    MAX_LABEL_CHARS,
    ROW_HEIGHT,
    TARGET_TICKS,
    TICK_DROP,
    WIDTH,
    patterns,
    rotated_height,
)
from isegoria.web.chart_style import LABEL_WIDTH as LABEL_WIDTH
from isegoria.web.chart_style import NO_DATA as NO_DATA
from isegoria.web.chart_style import PALETTE as PALETTE
from isegoria.web.chart_style import PLOT_BOTTOM as PLOT_BOTTOM
from isegoria.web.chart_style import PLOT_LEFT as PLOT_LEFT
from isegoria.web.chart_style import PLOT_RIGHT as PLOT_RIGHT
from isegoria.web.chart_style import PLOT_TOP as PLOT_TOP

# XML 1.0 §2.2: these code points may not appear in a document at all, even escaped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def escape(text: str) -> str:
    """Make text safe inside XML and HTML: drop forbidden characters, escape the rest."""
    return html.escape(_INVALID_XML.sub("", text), quote=True)


def _short(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _n(x: float) -> str:
    """A coordinate with at most two decimals, the same string on every platform."""
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def nice_ticks(low: float, high: float, target: int = TARGET_TICKS) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten) covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("tick bounds must be finite")
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(target, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(k * step, 12) for k in range(first, last + 1)]


def format_number(value: float, step: float | None = None) -> str:
    """A readable number in the reader's language: digit grouping, decimals as ``step`` needs."""
    if step is None:
        if float(value).is_integer():
            return formatting.number(int(value))
        decimals = 3
        pattern = "#,##0.###"
    else:
        decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    if round(value, decimals) == 0:
        value = 0.0  # never "-0"
    return formatting.pattern_number(value, pattern)


def _scale(v: float, d0: float, d1: float, r0: float, r1: float) -> float:
    return r0 + (v - d0) / (d1 - d0) * (r1 - r0)


def _chart_id(chart: object) -> str:
    # Derived from the content, so that two charts on one page do not share ids and the
    # same chart always renders to the same string.
    return "c" + hashlib.sha256(repr(chart).encode()).hexdigest()[:12]


def _open(cid: str, title: str, desc: str, height: int = HEIGHT) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-labelledby="{cid}-t {cid}-d" font-family="sans-serif" '
        f'font-size="12" fill="{INK}">',
        f'<title id="{cid}-t">{escape(title)}</title>',
        f'<desc id="{cid}-d">{escape(desc)}</desc>',
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="12" y="22" font-size="15" font-weight="bold">{escape(_short(title, 80))}</text>',
    ]


def _no_data(cid: str, title: str, desc: str) -> str:
    no_data = escape(gettext(NO_DATA))
    parts = _open(cid, title, f"{desc} {gettext(NO_DATA)}.".strip())
    parts.append(
        f'<text class="no-data" x="{WIDTH // 2}" y="{HEIGHT // 2}" text-anchor="middle" '
        f'font-size="16">{no_data}</text></svg>'
    )
    return "".join(parts)


def _legend(entries: Sequence[tuple[str, str]]) -> list[str]:
    """Legend items (swatch markup at 0,0, label) laid out in rows under the title."""
    parts, x, y = ['<g class="legend">'], 12.0, 44.0
    for swatch, label in entries:
        text = _short(label, MAX_LABEL_CHARS)
        width = 22 + 7 * len(text) + 14
        if x + width > WIDTH - 12 and x > 12:
            x, y = 12.0, y + 16
        parts.append(
            f'<g transform="translate({_n(x)} {_n(y)})">{swatch}'
            f'<text x="22" y="4">{escape(text)}</text></g>'
        )
        x += width
    parts.append("</g>")
    return parts


def _y_axis(ticks: Sequence[float], label: str) -> list[str]:
    step = ticks[1] - ticks[0]
    parts = ['<g class="y-axis">']
    for t in ticks:
        y = _n(_scale(t, ticks[0], ticks[-1], PLOT_BOTTOM, PLOT_TOP))
        parts.append(
            f'<line x1="{PLOT_LEFT}" x2="{PLOT_RIGHT}" y1="{y}" y2="{y}" stroke="{GRID}"/>'
            f'<text class="tick" x="{PLOT_LEFT - 6}" y="{y}" dy="4" text-anchor="end">'
            f"{format_number(t, step)}</text>"
        )
    middle = _n((PLOT_TOP + PLOT_BOTTOM) / 2)
    parts.append(
        f'<text class="axis-label" transform="translate(16 {middle}) rotate(-90)" '
        f'text-anchor="middle">{escape(_short(label, 40))}</text></g>'
    )
    return parts


def _x_axis(
    ticks: Sequence[tuple[float, str]], label: str, rotate: bool = False, height: int = HEIGHT
) -> list[str]:
    parts = [
        f'<g class="x-axis"><line x1="{PLOT_LEFT}" x2="{PLOT_RIGHT}" y1="{PLOT_BOTTOM}" '
        f'y2="{PLOT_BOTTOM}" stroke="{INK}"/>'
    ]
    for x, text in ticks:
        y = PLOT_BOTTOM + TICK_DROP
        turn = f' transform="rotate(-35 {_n(x)} {y})" text-anchor="end"' if rotate else ""
        anchor = "" if rotate else ' text-anchor="middle"'
        parts.append(
            f'<text class="tick" x="{_n(x)}" y="{y}"{anchor}{turn}>{escape(_short(text))}</text>'
        )
    parts.append(
        f'<text class="axis-label" x="{(PLOT_LEFT + PLOT_RIGHT) // 2}" y="{height - 8}" '
        f'text-anchor="middle">{escape(_short(label, 60))}</text></g>'
    )
    return parts


def _check_series(series: Sequence[Series], length: int, what: str) -> None:
    if len(series) > len(PALETTE):
        raise ValueError(f"at most {len(PALETTE)} series can be told apart; group the rest")
    for s in series:
        if len(s.values) != length:
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {length} {what}")
        if not all(math.isfinite(v) for v in s.values):
            raise ValueError(f"series {s.name!r} has a value that is not a finite number")


def time_series_svg(chart: TimeSeries) -> str:
    """Lines over dates, one dash style and colour per series."""
    cid = _chart_id(chart)
    if not chart.dates or not chart.series:
        return _no_data(cid, chart.title, chart.description)
    _check_series(chart.series, len(chart.dates), "dates")
    days = [d.toordinal() for d in chart.dates]
    d0, d1 = min(days), max(days)
    d0, d1 = (d0 - 1, d1 + 1) if d0 == d1 else (d0, d1)
    values = [v for s in chart.series for v in s.values]
    ticks = nice_ticks(min(0.0, *values), max(values))
    parts = _open(cid, chart.title, chart.description)
    parts += _legend(
        [
            (
                f'<line x1="0" x2="16" y1="0" y2="0" stroke="{PALETTE[i]}" stroke-width="3" '
                f'stroke-dasharray="{DASHES[i]}"/>',
                s.name,
            )
            for i, s in enumerate(chart.series)
        ]
    )
    parts += _y_axis(ticks, chart.y_label)
    count = min(len(days), 6)
    picks = sorted({round(i * (len(days) - 1) / max(count - 1, 1)) for i in range(count)})
    x_of = [_scale(d, d0, d1, PLOT_LEFT, PLOT_RIGHT) for d in days]
    parts += _x_axis(
        [(x_of[i], formatting.short_day(chart.dates[i])) for i in picks], chart.x_label
    )
    for i, s in enumerate(chart.series):
        points = " ".join(
            f"{_n(x)},{_n(_scale(v, ticks[0], ticks[-1], PLOT_BOTTOM, PLOT_TOP))}"
            for x, v in zip(x_of, s.values, strict=True)
        )
        parts.append(
            f'<polyline class="series" points="{points}" fill="none" stroke="{PALETTE[i]}" '
            f'stroke-width="2" stroke-dasharray="{DASHES[i]}"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart_svg(chart: BarChart) -> str:
    """Stacked or grouped bars, one colour and fill pattern per series."""
    cid = _chart_id(chart)
    if not chart.categories or not chart.series:
        return _no_data(cid, chart.title, chart.description)
    _check_series(chart.series, len(chart.categories), "categories")
    if any(v < 0 for s in chart.series for v in s.values):
        raise ValueError("bar values must not be negative")
    columns = list(zip(*(s.values for s in chart.series), strict=True))
    top = max(sum(c) for c in columns) if chart.stacked else max(max(c) for c in columns)
    ticks = nice_ticks(0.0, top)
    band = (PLOT_RIGHT - PLOT_LEFT) / len(chart.categories)
    turned = band < 70
    height = rotated_height(max(len(_short(c)) for c in chart.categories)) if turned else HEIGHT
    parts = _open(cid, chart.title, chart.description, height)
    parts.append(patterns(cid, len(chart.series)))
    if len(chart.series) > 1:
        swatch = '<rect x="0" y="-6" width="16" height="12" fill="url(#{}-p{})"/>'
        parts += _legend([(swatch.format(cid, i), s.name) for i, s in enumerate(chart.series)])
    parts += _y_axis(ticks, chart.y_label)
    centres = [PLOT_LEFT + band * (j + 0.5) for j in range(len(chart.categories))]
    # Turned labels stay apart while a band is wider than a line of text; past that, every
    # other (third...) category is named: the table beside the chart names them all.
    stride = math.ceil(24 / band)
    named = list(zip(centres, chart.categories, strict=True))[::stride]
    parts += _x_axis(named, chart.x_label, turned, height)

    def y(v: float) -> float:
        return _scale(v, ticks[0], ticks[-1], PLOT_BOTTOM, PLOT_TOP)

    width = band * 0.7 / (1 if chart.stacked else len(chart.series))
    for j, column in enumerate(columns):
        base = 0.0
        for i, v in enumerate(column):
            left = centres[j] - band * 0.35 + (0 if chart.stacked else i * width)
            bottom = base if chart.stacked else 0.0
            parts.append(
                f'<rect class="bar" x="{_n(left)}" y="{_n(y(bottom + v))}" width="{_n(width)}" '
                f'height="{_n(y(bottom) - y(bottom + v))}" fill="url(#{cid}-p{i})" '
                f'stroke="#ffffff" stroke-width="0.5"/>'
            )
            base += v
    parts.append("</svg>")
    return "".join(parts)


def histogram_svg(chart: Histogram) -> str:
    """Adjacent bars of counts per bin."""
    cid = _chart_id(chart)
    bins = histogram_bins(chart)
    if not chart.values or not bins:
        return _no_data(cid, chart.title, chart.description)
    lo, hi = bins[0][0], bins[-1][1]
    ticks = nice_ticks(0.0, max(c for _, _, c in bins))
    parts = _open(cid, chart.title, chart.description)
    parts += _y_axis(ticks, chart.y_label)
    edges = [b[0] for b in bins] + [hi]
    stride = math.ceil(len(edges) / 10)
    step = min(b - a for a, b in zip(edges, edges[1:], strict=False))
    parts += _x_axis(
        [
            (_scale(e, lo, hi, PLOT_LEFT, PLOT_RIGHT), format_number(e, step))
            for e in edges[::stride]
        ],
        chart.x_label,
    )
    for low, high, count in bins:
        x0, x1 = (
            _scale(low, lo, hi, PLOT_LEFT, PLOT_RIGHT),
            _scale(high, lo, hi, PLOT_LEFT, PLOT_RIGHT),
        )
        top = _scale(count, ticks[0], ticks[-1], PLOT_BOTTOM, PLOT_TOP)
        parts.append(
            f'<rect class="bar" x="{_n(x0)}" y="{_n(top)}" width="{_n(x1 - x0)}" '
            f'height="{_n(PLOT_BOTTOM - top)}" fill="{PALETTE[0]}" stroke="#ffffff"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def interval_chart_svg(chart: IntervalChart) -> str:
    """One row per item: a dot at the estimate and a bar across its interval."""
    cid = _chart_id(chart)
    shown = [r for r in chart.rows if r.value is not None]
    if not chart.rows:
        return _no_data(cid, chart.title, chart.description)
    numbers = [v for r in shown for v in (r.value, r.low, r.high) if v is not None]
    numbers += [value for value, _ in chart.references]
    if not all(math.isfinite(v) for v in numbers):
        raise ValueError("interval values must be finite numbers")
    ticks = nice_ticks(min(numbers, default=0.0), max(numbers, default=1.0))
    height = PLOT_TOP + ROW_HEIGHT * len(chart.rows) + 56
    bottom = PLOT_TOP + ROW_HEIGHT * len(chart.rows)
    left = LABEL_WIDTH + 8

    def x(v: float) -> str:
        return _n(_scale(v, ticks[0], ticks[-1], left, PLOT_RIGHT))

    parts = _open(cid, chart.title, chart.description, height)
    diamond = f'<path d="M8 -6L14 0L8 6L2 0Z" fill="{FLAG_COLOUR}"/>'
    dot = f'<circle cx="8" cy="0" r="5" fill="{PALETTE[0]}"/>'
    flags = [(diamond, chart.flag_label)] if any(r.flagged for r in shown) else []
    parts += _legend([(dot, gettext("estimate with interval")), *flags])
    step = ticks[1] - ticks[0]
    parts.append('<g class="x-axis">')
    for t in ticks:
        parts.append(
            f'<line x1="{x(t)}" x2="{x(t)}" y1="{PLOT_TOP}" y2="{bottom}" stroke="{GRID}"/>'
            f'<text class="tick" x="{x(t)}" y="{bottom + TICK_DROP}" text-anchor="middle">'
            f"{format_number(t, step)}</text>"
        )
    parts.append(
        f'<text class="axis-label" x="{(left + PLOT_RIGHT) // 2}" y="{height - 8}" '
        f'text-anchor="middle">{escape(_short(chart.x_label, 60))}</text></g>'
    )
    for value, label in chart.references:
        parts.append(
            f'<g class="reference"><line x1="{x(value)}" x2="{x(value)}" y1="{PLOT_TOP - 6}" '
            f'y2="{bottom}" stroke="{INK}" stroke-dasharray="4 3"/><text x="{x(value)}" '
            f'y="{PLOT_TOP - 8}" text-anchor="middle" font-size="10">'
            f"{escape(_short(label, 16))}</text></g>"
        )
    for k, r in enumerate(chart.rows):
        cy = _n(PLOT_TOP + ROW_HEIGHT * (k + 0.5))
        parts.append(
            f'<g class="row"><text x="{LABEL_WIDTH}" y="{cy}" dy="4" text-anchor="end">'
            f"{escape(_short(r.label))}</text>"
        )
        if r.value is None:
            parts.append(
                f'<text class="note" x="{left + 4}" y="{cy}" dy="4" font-style="italic">'
                f"{escape(_short(r.note or 'no estimate', 60))}</text></g>"
            )
            continue
        if r.low is not None and r.high is not None:
            parts.append(
                f'<line class="interval" x1="{x(r.low)}" x2="{x(r.high)}" y1="{cy}" y2="{cy}" '
                f'stroke="{INK}" stroke-width="2"/>'
            )
        mark = diamond if r.flagged else dot
        parts.append(f'<g class="point" transform="translate({_n(float(x(r.value)) - 8)} {cy})">')
        parts.append(f"{mark}</g></g>")
    parts.append("</svg>")
    return "".join(parts)


def histogram_bins(chart: Histogram) -> list[tuple[float, float, int]]:
    """(low, high, count) per bin; each bin holds low <= v < high, the last includes high."""
    if chart.bin_edges is not None:
        edges = list(chart.bin_edges)
        if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
            raise ValueError("bin_edges must hold at least two strictly increasing values")
    elif chart.values:
        edges = nice_ticks(min(chart.values), max(chart.values), target=10)
    else:
        return []
    counts = [0] * (len(edges) - 1)
    for v in chart.values:
        if edges[0] <= v <= edges[-1]:
            counts[min(bisect_right(edges, v) - 1, len(counts) - 1)] += 1
    return [(edges[i], edges[i + 1], c) for i, c in enumerate(counts)]
