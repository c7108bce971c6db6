"""Outcome rates by author group, from the log: violation found, severity, appeal overturned.

The log knows two author groups: the post's language and the jurisdiction whose rule was
cited. Groups from personal data (an author's self-declared leaning, a juror's stratum)
are not in the log; the instance adds them from its database (services.reports).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from isegoria.algorithms import disparity
from isegoria.reports.figures import LAPSED, VIOLATION, Scope, rung
from isegoria.reports.ledger import APPEAL, FIRST, CaseRecord, Ledger

DIMENSIONS: dict[str, Callable[[CaseRecord], str]] = {
    "language": lambda case: case.language,
    "jurisdiction": lambda case: case.jurisdiction,
}


def finite(value: Any) -> Any:
    """The value with NaN and infinities replaced by None, so it is valid JSON."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def disparity_tables(
    observations: dict[str, list[tuple[str, str, str | None]]],
    *,
    min_group_size: int = disparity.MIN_GROUP_SIZE,
) -> list[dict[str, Any]]:
    """Tables per dimension from (group, first outcome and sanction, appeal outcome) rows.

    ``observations[dimension]`` holds one ``(group, "outcome:sanction", appeal outcome or
    None)`` per case decided in the period.
    """
    tables: list[dict[str, Any]] = []
    for dimension in sorted(observations):
        rows = observations[dimension]
        found = [(g, o.split(":")[0] == VIOLATION) for g, o, _a in rows]
        rungs: dict[str, list[int]] = defaultdict(list)
        for g, o, _a in rows:
            rungs[g].append(min(rung(o.split(":")[1]), disparity.MAX_SEVERITY))
        overturned = [(g, a != o.split(":")[0]) for g, o, a in rows if a is not None]
        results: list[disparity.Disparity[Any]] = [
            disparity.proportion_disparity(
                "violation_found", dimension, disparity.tally(found), min_group_size=min_group_size
            ),
            disparity.severity_disparity(dimension, rungs, min_group_size=min_group_size),
            disparity.proportion_disparity(
                "appeal_overturned",
                dimension,
                disparity.tally(overturned),
                min_group_size=min_group_size,
            ),
        ]
        tables.extend(finite(asdict(r)) for r in results)
    return tables


def log_observations(
    ledger: Ledger, scope: Scope, codes: set[str] | None
) -> dict[str, list[tuple[str, str, str | None]]]:
    """Per log dimension, one row per case whose first verdict (not lapsed) is in the period."""
    observations: dict[str, list[tuple[str, str, str | None]]] = {d: [] for d in DIMENSIONS}
    for case in sorted(ledger.cases.values(), key=lambda c: c.case_id):
        if codes is not None and case.jurisdiction not in codes:
            continue
        first = case.verdicts.get(FIRST)
        if first is None or first.outcome == LAPSED or not scope.holds(first.at):
            continue
        appeal = case.verdicts.get(APPEAL)
        for dimension, group_of in DIMENSIONS.items():
            observations[dimension].append(
                (
                    group_of(case),
                    f"{first.outcome}:{first.sanction}",
                    None if appeal is None else appeal.outcome,
                )
            )
    return observations
