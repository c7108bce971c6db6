"""The AT Protocol labeler: its identity, the labels it published, and reports it receives."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import or_, select

from isegoria.cases import intake as cases_intake
from isegoria.domain.content import ContentSnapshot, ReportRequest
from isegoria.domain.decisions import ReportSource
from isegoria.errors import InvalidInput, NotFound
from isegoria.integrations.atproto_labels import (
    QUERY_DEFAULT_LIMIT,
    QUERY_MAX_LIMIT,
    AtprotoReport,
    Label,
)
from isegoria.people import platforms
from isegoria.store.models_cases import Content
from isegoria.store.models_federation import AtprotoLabel, LabelerIdentity
from isegoria.unit_of_work import UnitOfWork

__all__ = [
    "MAX_PATTERNS",
    "FiledAtprotoReport",
    "file_atproto_report",
    "query",
    "record_identity",
]

MAX_PATTERNS: Final = 50  # our limit: the lexicon sets none, a query is not a scan
MAX_PATTERN_LENGTH: Final = 2000


def record_identity(uow: UnitOfWork, did: str) -> LabelerIdentity:
    """Record the DID labels are signed as (the latest start's setting wins)."""
    if not did.startswith("did:") or len(did) > MAX_PATTERN_LENGTH:
        raise InvalidInput(
            "the labeler DID %(did)s is not a DID", field="labeler_did", did=repr(did[:80])
        )
    identity = uow.session.get(LabelerIdentity, 1)
    if identity is None:
        identity = LabelerIdentity(id=1, did=did, recorded_at=uow.now())
        uow.session.add(identity)
    elif identity.did != did:
        identity.did, identity.recorded_at = did, uow.now()
    return identity


def _label(row: AtprotoLabel) -> Label:
    return Label(
        src=row.src,
        uri=row.uri,
        val=row.val,
        cts=row.cts,
        neg=row.neg,
        cid=row.cid,
        exp=row.exp,
        sig=row.sig,
    )


def _escape_like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def query(
    uow: UnitOfWork,
    *,
    uri_patterns: Sequence[str],
    sources: Sequence[str] = (),
    limit: int = QUERY_DEFAULT_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """``com.atproto.label.queryLabels``: labels in publication order, paged by a cursor.

    Lexicon: each pattern is a full URI or a prefix ending in ``*``; ``limit`` 1-250,
    default 50. The cursor is the id of the last label returned.
    """
    if not uri_patterns:
        raise InvalidInput(
            "uriPatterns is required: one or more AT URI patterns", field="uriPatterns"
        )
    if len(uri_patterns) > MAX_PATTERNS:
        raise InvalidInput("at most %(max)s uriPatterns", field="uriPatterns", max=MAX_PATTERNS)
    if any(len(p) > MAX_PATTERN_LENGTH for p in [*uri_patterns, *sources]):
        raise InvalidInput(
            "a pattern is at most %(max)s characters", field="uriPatterns", max=MAX_PATTERN_LENGTH
        )
    if any("\x00" in p for p in [*uri_patterns, *sources, cursor or ""]):
        raise InvalidInput("patterns, sources and cursor cannot contain NUL", field="uriPatterns")
    if not 1 <= limit <= QUERY_MAX_LIMIT:
        raise InvalidInput(
            "limit must be between 1 and %(query_max_limit)s",
            field="limit",
            query_max_limit=QUERY_MAX_LIMIT,
        )
    after = 0
    if cursor:
        if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
            raise InvalidInput(
                "cursor %(cursor)s was not issued by this labeler",
                field="cursor",
                cursor=repr(cursor[:40]),
            )
        after = int(cursor)
    matches = [
        AtprotoLabel.uri.like(_escape_like(p[:-1]) + "%", escape="\\")
        if p.endswith("*")
        else AtprotoLabel.uri == p
        for p in uri_patterns
    ]
    statement = (
        select(AtprotoLabel)
        .where(AtprotoLabel.id > after, or_(*matches))
        .order_by(AtprotoLabel.id)
        .limit(limit)
    )
    if sources:
        statement = statement.where(AtprotoLabel.src.in_(list(sources)))
    rows = list(uow.session.scalars(statement))
    body: dict[str, Any] = {"labels": [_label(row).to_json() for row in rows]}
    if len(rows) == limit:
        body["cursor"] = str(rows[-1].id)
    return body


@dataclass(frozen=True)
class FiledAtprotoReport:
    """The report a ``createReport`` filed."""

    report_id: int
    case_id: int


def file_atproto_report(
    uow: UnitOfWork, report: AtprotoReport, *, platform: str, reporter: str
) -> FiledAtprotoReport:
    """File a ``createReport`` about a post isegoria holds a snapshot of."""
    if any("\x00" in value for value in (report.reason, *report.subject.values())):
        raise InvalidInput("reason and subject cannot contain NUL characters", field="reason")
    if report.rule_id is None:
        raise InvalidInput(
            "no rule is mapped to reasonType %(reason_type)s on this labeler "
            "and there is no default rule",
            field="reasonType",
            reason_type=report.reason_type,
        )
    if report.is_appeal:
        raise InvalidInput(
            "appeals are filed by the author on isegoria itself (POST /api/v1/cases/{id}/appeal)",
            field="reasonType",
        )
    if not report.subject_uri.startswith("at://"):
        raise InvalidInput(
            "isegoria's juries judge posts: report a record (strongRef), not an account",
            field="subject",
        )
    platform_id = platforms.find_platform(uow, platform).id
    content = uow.session.scalars(
        select(Content)
        .where(Content.platform_id == platform_id, Content.url == report.subject_uri)
        .order_by(Content.id.desc())
        .limit(1)
    ).first()
    if content is None:
        raise NotFound(
            "isegoria holds no snapshot of %(subject_uri)s; the platform "
            "must send the post first (POST /api/v1/reports carries a "
            "snapshot)",
            field="subject",
            subject_uri=report.subject_uri,
        )
    context = json.loads(content.context or "{}")
    if report.subject_cid and context.get("cid") not in (None, report.subject_cid):
        raise InvalidInput(
            "the record %(subject_uri)s changed: isegoria holds CID %(cid)s, "
            "the report names %(subject_cid)s",
            field="subject.cid",
            subject_uri=report.subject_uri,
            cid=context["cid"],
            subject_cid=report.subject_cid,
        )
    snapshot = ContentSnapshot(
        platform_content_id=content.platform_content_id,
        url=content.url,
        text=content.text,
        language=content.language,
        author=content.author,
        posted_at=content.posted_at,
        jurisdictions=tuple(content.jurisdictions.split(",")),
        context=context,
    )
    case, filed = cases_intake.file_report(
        uow,
        platform_id=platform_id,
        request=ReportRequest(
            snapshot=snapshot,
            rule_id=report.rule_id,
            rule_version=None,
            reason=report.reason.strip() or f"reported as {report.reason_type.split('#')[-1]}",
            source=ReportSource.USER,
            reporter=reporter[:256],
        ),
    )
    return FiledAtprotoReport(report_id=filed.id, case_id=case.id)
