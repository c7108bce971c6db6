"""The instance's own transparency report: read the local log, compute, add database-only groups.

Every figure comes from the public log (reports.report), so anyone can recompute it. Two
additions come from the database: disparity by juror stratum and by the self-declared
leaning of authors who linked their platform account. Strata are personal data that the
log never holds, so only the instance can tally them, and it shows only groups large
enough that nobody is identified (algorithms.disparity.MIN_GROUP_SIZE).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from isegoria.algorithms import disparity
from isegoria.errors import InvalidInput
from isegoria.log.entries import DecodedEntry, MalformedEntry, decode_entry
from isegoria.people.jurisdictions import get_jurisdiction
from isegoria.reports.figures import Scope
from isegoria.reports.ledger import build_ledger
from isegoria.reports.outcomes import disparity_tables, finite
from isegoria.reports.report import report_from_ledger
from isegoria.store.models import Account, LogEntry
from isegoria.store.models_cases import (
    Case,
    JurorStratumTally,
    PlatformIdentity,
)
from isegoria.unit_of_work import UnitOfWork

PAGE = 1000  # entries per query: keyset pagination keeps memory per page constant
JUROR_STRATA = ("region", "age_band", "leaning")
UNDECLARED = "undeclared"
# Sections built from personal data in the database; the log alone cannot reproduce them.
DATABASE_SECTIONS = ("juror_strata", "author_leaning")


def parse_bound(text: str | None, field: str) -> datetime | None:
    """A period bound: an ISO date (midnight UTC) or an ISO instant (UTC if no offset)."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    try:
        if len(value) == len("2026-03-01"):
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            "%(field_name)s must be a date (2026-03-01) or an instant "
            "(2026-03-01T12:00:00Z), not %(value)s",
            field=field,
            field_name=field,
            value=repr(value[:40]),
        ) from None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def make_scope(uow: UnitOfWork, start: str | None, end: str | None, code: str | None) -> Scope:
    """Check a report's period and jurisdiction as a person typed them."""
    scope = Scope(parse_bound(start, "from"), parse_bound(end, "to"), code or None)
    if scope.start is not None and scope.end is not None and scope.start >= scope.end:
        raise InvalidInput("the period must end ('to') after it starts ('from')", field="to")
    if scope.jurisdiction is not None:
        get_jurisdiction(uow, scope.jurisdiction)  # NotFound names an unknown code
    return scope


def local_entries(session: Session) -> Iterator[DecodedEntry]:
    """Every entry of the local log in index order, decoded."""
    start = 0
    while True:
        rows = list(
            session.scalars(
                select(LogEntry.payload)
                .where(LogEntry.idx >= start)
                .order_by(LogEntry.idx)
                .limit(PAGE)
            )
        )
        for payload in rows:
            try:
                yield decode_entry(payload)
            except MalformedEntry as error:  # `isegoria log verify` says which and why
                raise InvalidInput(
                    "the log holds a malformed entry: %(error)s", error=error
                ) from None
        if len(rows) < PAGE:
            return
        start += len(rows)


def juror_strata(uow: UnitOfWork, scope: Scope, codes: set[str] | None) -> list[dict[str, Any]]:
    """Share of ballots finding a violation, by the stratum jurors declared (small ones hidden).

    Counted from the per-day counters a jury's close leaves (services.cases_secrecy): a ballot
    keeps no juror strata once its jury has closed. The period selects juries by the day
    they closed.
    """
    query = select(
        JurorStratumTally.dimension,
        JurorStratumTally.value,
        func.sum(JurorStratumTally.ballots),
        func.sum(JurorStratumTally.violations),
    ).group_by(JurorStratumTally.dimension, JurorStratumTally.value)
    if scope.start is not None:
        query = query.where(JurorStratumTally.day >= scope.start.astimezone(UTC).date())
    if scope.end is not None:
        # A bound inside a day counts that day in (the counters are per day).
        end = scope.end.astimezone(UTC)
        last = end.date() if end.time() != time() else end.date() - timedelta(days=1)
        query = query.where(JurorStratumTally.day <= last)
    if codes is not None:
        query = query.where(JurorStratumTally.jurisdiction.in_(sorted(codes)))
    counts: dict[str, dict[str, tuple[int, int]]] = {s: {} for s in JUROR_STRATA}
    for dimension, value, ballots, violations in uow.session.execute(query).tuples():
        if dimension in counts:
            counts[dimension][str(value)] = (int(ballots or 0), int(violations or 0))
    tables = []
    for stratum in JUROR_STRATA:
        groups = {
            value: disparity.GroupCount(successes=violations, trials=ballots)
            for value, (ballots, violations) in sorted(counts[stratum].items())
        }
        result = disparity.proportion_disparity(
            "ballot_finds_violation", f"juror_{stratum}", groups
        )
        tables.append(finite(asdict(result)))
    return tables


def author_leaning(uow: UnitOfWork, scope: Scope, codes: set[str] | None) -> list[dict[str, Any]]:
    """Outcome rates by the self-declared leaning of authors who linked their account."""
    query = (
        select(Account.leaning, Case.outcome, Case.sanction, Case.appeal_outcome)
        .join(
            PlatformIdentity,
            (PlatformIdentity.platform_id == Case.platform_id)
            & (PlatformIdentity.pseudonym == Case.author),
        )
        .join(Account, Account.id == PlatformIdentity.account_id)
        .where(Case.decided_at.is_not(None), Case.outcome != "lapsed")
    )
    if scope.start is not None:
        query = query.where(Case.decided_at >= scope.start)
    if scope.end is not None:
        query = query.where(Case.decided_at < scope.end)
    if codes is not None:
        query = query.where(Case.jurisdiction.in_(sorted(codes)))
    rows = [
        (leaning or UNDECLARED, f"{outcome}:{sanction or 'none'}", appeal)
        for leaning, outcome, sanction, appeal in uow.session.execute(query).tuples()
    ]
    return disparity_tables({"author_leaning": rows})


def transparency_report(uow: UnitOfWork, scope: Scope) -> dict[str, Any]:
    """The report of this instance's log for the scope, with the juror-stratum tables."""
    ledger = build_ledger(local_entries(uow.session))
    report = report_from_ledger(ledger, scope)
    codes = ledger.within(scope.jurisdiction)
    report["juror_strata"] = juror_strata(uow, scope, codes)
    report["author_leaning"] = author_leaning(uow, scope, codes)
    return report
