"""Numbers, shares and instants in the reader's language (Babel), for the audit pages."""

from __future__ import annotations

import math
from datetime import datetime

from babel.dates import format_datetime
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment

from isegoria.i18n import current_language


def number(value: float | int | None, digits: int = 0) -> str:
    """A count or a rate, grouped as the reader's language groups digits."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=current_language())


def percent(value: float | None) -> str:
    """A share (0.25) as a percentage (25 %), in the reader's language."""
    if value is None or not math.isfinite(value):
        return "–"
    return format_percent(value, locale=current_language())


def instant(value: datetime | str | None) -> str:
    """An instant, UTC, in the reader's language (an ISO string is parsed first)."""
    if value is None or value == "":
        return "–"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_datetime(moment, format="medium", tzinfo=None, locale=current_language()) + " UTC"


def install(env: Environment) -> None:
    """Make the formats available to templates as filters."""
    env.filters["audit_number"] = number
    env.filters["audit_percent"] = percent
    env.filters["audit_instant"] = instant
