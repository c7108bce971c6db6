"""A whole transparency report from log entries, and its CSV form.

``build_report`` is what the instance serves and what ``isegoria report --from-log``
recomputes from a remote instance's verified log: same entries in, same report out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from isegoria.algorithms import agreement, disparity
from isegoria.log.entries import DecodedEntry
from isegoria.reports.consistency import consistency_section
from isegoria.reports.figures import Figures, Scope
from isegoria.reports.ledger import Ledger, build_ledger
from isegoria.reports.outcomes import disparity_tables, log_observations

REPORT_FORMAT: Final = 1


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def report_from_ledger(
    ledger: Ledger,
    scope: Scope,
    *,
    min_group_size: int = disparity.MIN_GROUP_SIZE,
    min_pairs: int = agreement.MIN_PAIRS,
) -> dict[str, Any]:
    """Every figure of the report for one scope, as JSON-ready values."""
    figures = Figures(ledger, scope)
    return {
        "format": REPORT_FORMAT,
        "scope": {
            "from": _instant(scope.start),
            "to": _instant(scope.end),
            "jurisdiction": scope.jurisdiction,
            "jurisdictions": None if figures.codes is None else sorted(figures.codes),
        },
        "log": {"size": ledger.size, "last_entry_at": _instant(ledger.last_at)},
        "reports": figures.reports(),
        "cases": figures.cases_section(),
        "sanctions": figures.sanctions(),
        "interim_measures": figures.interim(),
        "time_to_verdict": figures.time_to_verdict(),
        "appeals": figures.appeals(),
        "jurors": figures.jurors(),
        "notes": figures.notes(),
        "compliance": figures.compliance(),
        "daily": figures.daily(),
        "consistency": consistency_section(ledger, scope, figures.codes, min_pairs=min_pairs),
        "disparity": disparity_tables(
            log_observations(ledger, scope, figures.codes), min_group_size=min_group_size
        ),
    }


def build_report(entries: Iterable[DecodedEntry], scope: Scope) -> dict[str, Any]:
    """The transparency report of the given log entries (index order) for one scope."""
    return report_from_ledger(build_ledger(entries), scope)


def _flatten(prefix: str, value: Any, out: list[tuple[str, str, str]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            _flatten(f"{prefix}[{n}]", item, out)
    else:
        section, _, name = prefix.partition(".")
        text = "" if value is None else str(value).lower() if isinstance(value, bool) else value
        out.append((section, name, str(text)))


def report_csv(report: dict[str, Any]) -> str:
    """The report as CSV rows ``section,figure,value`` (one row per number)."""
    rows: list[tuple[str, str, str]] = []
    for section, value in report.items():
        if section in ("daily",):
            continue  # the per-day series has its own columns below
        _flatten(section, value, rows)
    daily = report["daily"]
    for day, reports, verdicts in zip(
        daily["dates"], daily["reports"], daily["verdicts"], strict=True
    ):
        rows.append(("daily", f"{day}.reports", str(reports)))
        rows.append(("daily", f"{day}.verdicts", str(verdicts)))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("section", "figure", "value"))
    writer.writerows(rows)
    return buffer.getvalue()
