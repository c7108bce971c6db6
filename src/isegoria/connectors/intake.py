"""Reports from connected servers: filed as cases, or queued for a citizen to pick the rule.

Every item a connector brings in gets a ``connector_reports`` row keyed by the server's
report id and content id, written in the same transaction as the case it files (and, for
Matrix, as the advanced poll cursor): a repeated delivery or a poll after a crash files
nothing twice. A report the mapping cannot place, or that cites a rule which does not apply
(not in force when the post was made, another jurisdiction's), waits in the triage queue.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from isegoria.cases import intake as cases_intake
from isegoria.domain.connector_events import TriageDismissed
from isegoria.domain.content import ContentSnapshot, ReportRequest
from isegoria.domain.decisions import ReportSource
from isegoria.errors import Conflict, InvalidInput, NotFound
from isegoria.integrations.matrix_mapping import TriageItem
from isegoria.store.models_connectors import ConnectorReport, PlatformConnector
from isegoria.unit_of_work import UnitOfWork

FILED, TRIAGE, DISMISSED = "filed", "triage", "dismissed"
#: What a report says when the reporter gave no reason: the intake service requires one.
NO_REASON = "(reported on the platform without a reason)"
MAX_RULE_ID = 64


@dataclass(frozen=True)
class IntakeTally:
    """What one batch of platform reports became."""

    filed: int = 0
    triaged: int = 0
    repeated: int = 0


def item_to_json(item: ReportRequest | TriageItem, platform_report_id: str) -> str:
    """The stored form of an incoming item: enough to file it once a rule is picked."""
    snap = item.snapshot
    return json.dumps(
        {
            "platform_report_id": platform_report_id,
            "reason": item.reason,
            "reporter": item.reporter,
            "source": item.source.value,
            "snapshot": {
                "platform_content_id": snap.platform_content_id,
                "url": snap.url,
                "text": snap.text,
                "language": snap.language,
                "author": snap.author,
                "posted_at": snap.posted_at.isoformat(),
                "jurisdictions": list(snap.jurisdictions),
                "context": dict(snap.context),
            },
        },
        sort_keys=True,
        ensure_ascii=False,
    )


def request_from_json(text: str, rule_id: str) -> ReportRequest:
    """The report of a stored item once a rule is chosen for it."""
    data: dict[str, Any] = json.loads(text)
    snap = data["snapshot"]
    return ReportRequest(
        snapshot=ContentSnapshot(
            platform_content_id=snap["platform_content_id"],
            url=snap["url"],
            text=snap["text"],
            language=snap["language"],
            author=snap["author"],
            posted_at=datetime.fromisoformat(snap["posted_at"]),
            jurisdictions=tuple(snap["jurisdictions"]),
            context=dict(snap["context"]),
        ),
        rule_id=rule_id,
        rule_version=None,  # the version in force when the post was made
        reason=data["reason"] or NO_REASON,
        source=ReportSource(data["source"]),
        reporter=data["reporter"],
    )


def _report_id(item: ReportRequest | TriageItem) -> str:
    if isinstance(item, TriageItem):
        return item.platform_report_id
    return item.snapshot.context.get("platform_report", item.snapshot.platform_content_id)


def record_items(
    uow: UnitOfWork, connector: PlatformConnector, items: Iterable[ReportRequest | TriageItem]
) -> IntakeTally:
    """File mapped reports as cases and queue the rest, once each, in the caller's transaction."""
    filed = triaged = repeated = 0
    for item in items:
        report_id = _report_id(item)[:128]
        content_id = item.snapshot.platform_content_id
        seen = uow.session.scalar(
            select(ConnectorReport.id).where(
                ConnectorReport.connector_id == connector.id,
                ConnectorReport.platform_report_id == report_id,
                ConnectorReport.platform_content_id == content_id,
            )
        )
        if seen is not None:
            repeated += 1
            continue
        row = ConnectorReport(
            connector_id=connector.id,
            platform_report_id=report_id,
            platform_content_id=content_id,
            status=TRIAGE,
            item=item_to_json(item, report_id),
            why=item.why if isinstance(item, TriageItem) else "",
            candidates=",".join(item.candidates) if isinstance(item, TriageItem) else "",
            received_at=uow.now(),
        )
        if isinstance(item, ReportRequest):
            request = request_from_json(row.item, item.rule_id)
            try:
                # The intake service checks everything before it writes or logs anything,
                # so a refusal leaves nothing behind; the savepoint makes that certain.
                with uow.session.begin_nested():
                    case, _ = cases_intake.file_report(
                        uow, platform_id=connector.platform_id, request=request
                    )
            except (InvalidInput, NotFound) as error:
                row.why = f"rule {item.rule_id} cannot be cited: {error.detail}"
                row.candidates = item.rule_id
            else:
                row.status, row.case_id, row.filed_at = FILED, case.id, uow.now()
        uow.session.add(row)
        if row.status == FILED:
            filed += 1
        else:
            triaged += 1
    uow.session.flush()
    return IntakeTally(filed, triaged, repeated)


def triage_queue(uow: UnitOfWork, limit: int = 100) -> list[ConnectorReport]:
    """Reports waiting for a citizen to pick the rule, oldest first."""
    return list(
        uow.session.scalars(
            select(ConnectorReport)
            .where(ConnectorReport.status == TRIAGE)
            .order_by(ConnectorReport.received_at, ConnectorReport.id)
            .limit(limit)
        )
    )


def get_triage(uow: UnitOfWork, triage_id: int, *, lock: bool = False) -> ConnectorReport:
    """One report of the triage queue (or already filed from it)."""
    row = uow.session.get(ConnectorReport, triage_id, with_for_update=lock)
    if row is None:
        raise NotFound(
            "no platform report %(triage_id)s in the triage queue",
            field="triage_id",
            triage_id=triage_id,
        )
    return row


def file_from_triage(
    uow: UnitOfWork, *, account_id: int, triage_id: int, rule_id: str
) -> ConnectorReport:
    """A citizen picks the rule for a queued report, which files it (a case opens or joins)."""
    row = get_triage(uow, triage_id, lock=True)
    if row.status != TRIAGE:
        raise Conflict(
            "platform report %(triage_id)s was already filed (case %(case_id)s)",
            triage_id=triage_id,
            case_id=row.case_id,
        )
    rule_id = rule_id.strip()
    if not 0 < len(rule_id) <= MAX_RULE_ID:
        raise InvalidInput("pick the rule the post may break, e.g. MX-1", field="rule")
    connector = uow.session.get(PlatformConnector, row.connector_id)
    assert connector is not None  # noqa: S101 - a foreign key
    # A rule that does not apply is refused with the reason, before anything is written.
    case, _ = cases_intake.file_report(
        uow, platform_id=connector.platform_id, request=request_from_json(row.item, rule_id)
    )
    row.status, row.case_id = FILED, case.id
    row.filed_at, row.filed_by = uow.now(), account_id
    return row


def dismiss_from_triage(uow: UnitOfWork, *, account_id: int, triage_id: int) -> ConnectorReport:
    """A citizen finds that no rule applies: the report leaves the queue and opens no case."""
    row = get_triage(uow, triage_id, lock=True)
    if row.status != TRIAGE:
        raise Conflict(
            "platform report %(triage_id)s was already sorted (%(status)s)",
            triage_id=triage_id,
            status=row.status,
        )
    connector = uow.session.get(PlatformConnector, row.connector_id)
    assert connector is not None  # noqa: S101 - a foreign key
    row.status, row.filed_at, row.filed_by = DISMISSED, uow.now(), account_id
    uow.log.append(
        TriageDismissed(
            platform_id=connector.platform_id,
            triage_id=row.id,
            platform_content_id=row.platform_content_id,
        )
    )
    return row


def stored_snapshot(row: ConnectorReport) -> dict[str, Any]:
    """What the triage form shows of a queued report."""
    data: dict[str, Any] = json.loads(row.item)
    return {
        "id": row.id,
        "text": data["snapshot"]["text"],
        "url": data["snapshot"]["url"],
        "posted_at": datetime.fromisoformat(data["snapshot"]["posted_at"]),
        "jurisdictions": data["snapshot"]["jurisdictions"],
        "subject": data["snapshot"]["context"].get("subject", "post"),
        "reason": data["reason"] or NO_REASON,
        "why": row.why,
        "candidates": [c for c in row.candidates.split(",") if c],
        "received_at": row.received_at,
        "status": row.status,
        "case_id": row.case_id,
    }


__all__ = [
    "DISMISSED",
    "FILED",
    "TRIAGE",
    "IntakeTally",
    "dismiss_from_triage",
    "file_from_triage",
    "get_triage",
    "item_to_json",
    "record_items",
    "request_from_json",
    "stored_snapshot",
    "triage_queue",
]
