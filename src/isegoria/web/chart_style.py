"""How the charts look: the canvas, the plot area, the colour-blind-safe palette and patterns."""

from __future__ import annotations

import math
from typing import Final

WIDTH: Final = 640
HEIGHT: Final = 360
PLOT_LEFT: Final = 72
PLOT_RIGHT: Final = 600  # leaves half a date label of room at the right edge
PLOT_TOP: Final = 76  # below the visible title and up to two legend rows
PLOT_BOTTOM: Final = 284  # above tick labels (rotated ones too) and the axis label
ROW_HEIGHT: Final = 28  # interval charts: one row per item
LABEL_WIDTH: Final = 180  # interval charts: room for row labels left of the plot
MAX_LABEL_CHARS: Final = 24  # longer labels are cut with an ellipsis; tables keep them whole
TARGET_TICKS: Final = 5
TICK_DROP: Final = 20  # x tick labels hang this far below the axis, clear of the lowest y tick
CHAR_WIDTH: Final = 7  # a generous average advance of the 12-unit sans-serif, to plan room
# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour
# vision deficiency. Ordered for contrast on white; yellow, the weakest, comes last.
PALETTE: Final = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#F0E442",
)
DASHES: Final = ("", "6 3", "2 3", "8 3 2 3", "12 4", "1 2", "4 4", "10 2 2 2")
_PATTERNS: Final = (
    "",
    '<path d="M0 8L8 0" stroke="#fff" stroke-width="1.5"/>',
    '<circle cx="4" cy="4" r="1.5" fill="#fff"/>',
    '<path d="M0 8L8 0M0 0L8 8" stroke="#fff" stroke-width="1"/>',
    '<path d="M0 4H8" stroke="#fff" stroke-width="1.5"/>',
    '<path d="M0 0L8 8" stroke="#fff" stroke-width="1.5"/>',
    '<path d="M4 0V8" stroke="#fff" stroke-width="1.5"/>',
    '<path d="M0 4H8M4 0V8" stroke="#fff" stroke-width="1"/>',
)
FLAG_COLOUR: Final = "#D55E00"
INK: Final = "#222222"
GRID: Final = "#DDDDDD"


def _(message: str) -> str:
    """Mark ``message`` for the catalogs; the charts translate it when they draw."""
    return message


NO_DATA: Final = _("No data for this period")


def patterns(cid: str, count: int) -> str:
    """The fill patterns of ``count`` series, as SVG defs with ids unique to chart ``cid``."""
    defs = "".join(
        f'<pattern id="{cid}-p{i}" width="8" height="8" patternUnits="userSpaceOnUse">'
        f'<rect width="8" height="8" fill="{PALETTE[i]}"/>{_PATTERNS[i]}</pattern>'
        for i in range(count)
    )
    return f"<defs>{defs}</defs>"


def rotated_height(longest: int) -> int:
    """The height at which labels of ``longest`` characters, turned 35°, clear the axis label."""
    # sin 35° is 0.57: how far down a turned label reaches, per unit of its length.
    return max(HEIGHT, PLOT_BOTTOM + TICK_DROP + math.ceil(longest * CHAR_WIDTH * 0.58) + 30)
