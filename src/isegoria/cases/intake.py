"""Filing reports: a snapshot, a cited rule in force when the post was made, one case per rule."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, insert, select

from isegoria.cases.common import FIRST
from isegoria.cases.interim import impose_interim
from isegoria.domain.case_events import CaseOpened, ReportFiled
from isegoria.domain.content import (
    MAX_EXCLUDED_ACCOUNTS,
    MAX_REPORT_BATCH,
    MAX_REPORT_REASON,
    ContentSnapshot,
    ReportRequest,
    check_snapshot,
)
from isegoria.domain.rulebook import RulebookError, RuleVersion
from isegoria.domain.sanctions import HarmCategory, SanctionStep
from isegoria.domain.states import CaseStatus
from isegoria.errors import InvalidInput, InvalidItems, IsegoriaError, ItemProblem
from isegoria.jobs import queue as jobs
from isegoria.law import cache as law_cache
from isegoria.log.entries import format_instant
from isegoria.people.jurisdictions import unknown_jurisdiction
from isegoria.store.models_cases import Case, Content, Report
from isegoria.unit_of_work import UnitOfWork

# Harm categories for which a platform may restrict a post at once, pending the verdict:
# threats and incitement to imminent violence, and harm to children, cannot wait for a jury.
INTERIM_CATEGORIES = frozenset(
    {HarmCategory.VIOLENCE, HarmCategory.PROTECTION_OF_MINORS, HarmCategory.PUBLIC_SECURITY}
)
JOB_DRAW_JURY = "cases.draw_jury"


_CONTENTS: Table = cast(Table, Content.__table__)
_REPORTS: Table = cast(Table, Report.__table__)
# Statements built once, values bound at execution: SQLAlchemy then computes each one's cache
# key once per process instead of once per report (a sizeable share of a report's CPU).
_FIND_SNAPSHOT = (
    select(_CONTENTS.c.id)
    .where(
        _CONTENTS.c.platform_id == bindparam("platform"),
        _CONTENTS.c.platform_content_id == bindparam("post"),
        _CONTENTS.c.digest == bindparam("digest"),
    )
    .limit(1)
)
_INSERT_SNAPSHOT = insert(_CONTENTS)
_LIVE_CASE = select(Case).where(
    Case.platform_id == bindparam("platform"),
    Case.platform_content_id == bindparam("post"),
    Case.rule_id == bindparam("rule"),
    Case.status != CaseStatus.FINAL,
)
_INSERT_REPORT = insert(_REPORTS)


@dataclass(frozen=True)
class Snapshot:
    """A stored snapshot: its row's id, and the snapshot it holds (and its digest)."""

    content_id: int
    snapshot: ContentSnapshot
    digest: str


@dataclass(frozen=True)
class Known:
    """What a batch looked up at once: stored snapshots by (post, digest) and live cases by
    (post, rule) of every post it names, kept current as it files."""

    snapshots: dict[tuple[str, str], int]
    cases: dict[tuple[str, str], Case]


@dataclass(frozen=True)
class Filed:
    """Where one report went: its case, the report (its values and id; the row was inserted
    directly, so the object is not in the session), and whether the case is new."""

    case: Case
    report: Report
    opened: bool


def _cited_version(law: law_cache.Law, request: ReportRequest) -> RuleVersion:
    snapshot = request.snapshot
    for code in snapshot.jurisdictions:
        if code not in law.jurisdictions:
            raise unknown_jurisdiction(code)
    rulebook = law.rulebook
    try:
        version = request.rule_version
        if version is None:
            in_force = rulebook.version_in_force(request.rule_id, snapshot.posted_at)
            if in_force is None:
                history = rulebook.history(request.rule_id)
                version = history[0].version if history else 0
            else:
                version = in_force.version
        return rulebook.check_citable(
            request.rule_id, version, snapshot.jurisdictions, snapshot.posted_at
        )
    except RulebookError as error:
        raise InvalidInput.because(error, field="rule") from None


def _inserted_id(result: CursorResult[Any]) -> int:
    """The id of the row a single-row Core insert just wrote."""
    key = result.inserted_primary_key
    assert key is not None  # noqa: S101 - a single-row insert always has one
    return int(key[0])


def _store_snapshot(
    uow: UnitOfWork, platform_id: int, snapshot: ContentSnapshot, known: Known | None = None
) -> Snapshot:
    """The stored snapshot identical to this one, or a new row (Core statements: the row is
    never used as an ORM object, and this runs once per report)."""
    digest = snapshot.digest()
    core = uow.session.connection()
    key = (snapshot.platform_content_id, digest)
    if known is not None:
        existing = known.snapshots.get(key)
    else:
        existing = core.execute(
            _FIND_SNAPSHOT,
            {"platform": platform_id, "post": snapshot.platform_content_id, "digest": digest},
        ).scalar()
    if existing is None:
        media = [
            {"sha256": m.sha256, "media_type": m.media_type, "description": m.description}
            for m in snapshot.media
        ]
        row = {
            "platform_id": platform_id,
            "platform_content_id": snapshot.platform_content_id,
            "url": snapshot.url,
            "text": snapshot.text,
            "language": snapshot.language,
            "author": snapshot.author,
            "posted_at": snapshot.posted_at,
            "jurisdictions": ",".join(snapshot.jurisdictions),
            "media": json.dumps(media),
            "context": json.dumps(snapshot.context, sort_keys=True),
            "digest": digest,
            "received_at": uow.now(),
        }
        existing = _inserted_id(core.execute(_INSERT_SNAPSHOT, row))
        if known is not None:
            known.snapshots[key] = existing
    return Snapshot(int(existing), snapshot, digest)


def open_case_for(
    uow: UnitOfWork,
    platform_id: int,
    content: Snapshot,
    rule: RuleVersion,
    *,
    source: str = "",
    known: Known | None = None,
) -> tuple[Case, bool]:
    """The live case about this post under this rule, or a new one; True when new."""
    post = content.snapshot
    key = (post.platform_content_id, rule.rule_id)
    if known is not None:
        existing = known.cases.get(key)
    else:
        existing = uow.session.scalars(
            _LIVE_CASE,
            {"platform": platform_id, "post": post.platform_content_id, "rule": rule.rule_id},
        ).first()
    if existing is not None:
        return existing, False
    now = uow.now()
    case = Case(
        content_id=content.content_id,
        platform_id=platform_id,
        platform_content_id=post.platform_content_id,
        author=post.author,
        rule_id=rule.rule_id,
        rule_version=rule.version,
        jurisdiction=rule.jurisdiction,
        status=CaseStatus.OPEN,
        stage=FIRST,
        opened_at=now,
        # The CaseOpened entry below gets this index: known now, it needs no second write.
        opened_log_index=uow.log.next_index(),
    )
    uow.session.add(case)
    uow.session.flush()
    if known is not None:
        known.cases[key] = case
    appended = uow.log.append(
        CaseOpened(
            case_id=case.id,
            platform_id=platform_id,
            content_digest=content.digest,
            author=post.author,
            rule=f"{rule.rule_id}@v{rule.version}",
            jurisdiction=rule.jurisdiction,
            posted_at=format_instant(post.posted_at),
            source=source,
            language=post.language,
        )
    )
    assert appended.index == case.opened_log_index  # noqa: S101 - nothing appended between
    # The draw waits for the checkpoint this transaction issues: its root seeds the lottery.
    jobs.enqueue(uow, JOB_DRAW_JURY, now, {"case_id": case.id, "stage": FIRST})
    return case, True


def _check_request(law: law_cache.Law, request: ReportRequest) -> RuleVersion:
    """Every check of a report, before anything is stored; the rule version it cites."""
    check_snapshot(request.snapshot)
    if not request.reason.strip() or len(request.reason) > MAX_REPORT_REASON:
        raise InvalidInput(
            "say why the post breaks the rule, in 1 to %(max)s characters",
            field="reason",
            max=MAX_REPORT_REASON,
        )
    if len(request.excluded_accounts) > MAX_EXCLUDED_ACCOUNTS:
        raise InvalidInput(
            "at most %(max)s excluded accounts",
            field="excluded_accounts",
            max=MAX_EXCLUDED_ACCOUNTS,
        )
    rule = _cited_version(law, request)
    if request.interim_restriction and (
        rule.harm_category not in INTERIM_CATEGORIES or rule.ceiling.step < SanctionStep.REMOVE
    ):
        allowed = ", ".join(sorted(c.value for c in INTERIM_CATEGORIES))
        raise InvalidInput(
            "rule %(rule_id)s (%(value)s) does not allow an interim "
            "restriction; only rules about %(allowed)s that allow removal do",
            field="interim_restriction",
            rule_id=rule.rule_id,
            value=rule.harm_category.value,
            allowed=allowed,
        )
    return rule


def _file_checked(
    uow: UnitOfWork,
    platform_id: int,
    request: ReportRequest,
    rule: RuleVersion,
    reporter_account_id: int | None,
    known: Known | None = None,
) -> Filed:
    """Store a report that passed ``_check_request``."""
    content = _store_snapshot(uow, platform_id, request.snapshot, known)
    case, is_new = open_case_for(
        uow, platform_id, content, rule, source=request.source.value, known=known
    )
    report = Report(
        case_id=case.id,
        source=request.source.value,
        reporter=request.reporter,
        reporter_account_id=reporter_account_id,
        reason=request.reason,
        excluded_accounts=json.dumps(list(request.excluded_accounts)),
        created_at=uow.now(),
    )
    # Inserted by Core: the caller reads the row's fields and id, never changes it, and an
    # ORM flush per report cost more than the insert itself.
    row = {c.key: getattr(report, c.key) for c in _REPORTS.columns if c.key != "id"}
    report.id = _inserted_id(uow.session.connection().execute(_INSERT_REPORT, row))
    if not is_new:
        uow.log.append(ReportFiled(case_id=case.id, report_id=report.id, source=report.source))
    if request.interim_restriction:
        impose_interim(uow, case)
    return Filed(case, report, is_new)


def file_report(
    uow: UnitOfWork,
    *,
    platform_id: int,
    request: ReportRequest,
    reporter_account_id: int | None = None,
) -> tuple[Case, Report]:
    """File a report; open a case unless one about this post and rule is live already.

    The report comes back with its id and values but outside the session (it was inserted
    directly): read it, do not add or change it.
    """
    rule = _check_request(law_cache.current_law(uow), request)
    filed = _file_checked(uow, platform_id, request, rule, reporter_account_id)
    return filed.case, filed.report


def file_reports(
    uow: UnitOfWork, *, platform_id: int, requests: Sequence[ReportRequest]
) -> list[Filed]:
    """File a platform's batch of reports, all or none, in the caller's one transaction.

    Every report is checked first, exactly as ``file_report`` checks one; if any fails,
    ``InvalidItems`` lists each failure by its position and nothing is stored. Then they are
    filed in order, as the same reports filed one by one would be: reports in the batch
    about the same post and rule join one case.
    """
    if not 0 < len(requests) <= MAX_REPORT_BATCH:
        raise InvalidInput(
            "send 1 to %(max)s reports in a batch", field="reports", max=MAX_REPORT_BATCH
        )
    law = law_cache.current_law(uow)
    rules: list[RuleVersion] = []
    problems: list[ItemProblem] = []
    for position, request in enumerate(requests):
        try:
            rules.append(_check_request(law, request))
        except IsegoriaError as error:
            problems.append(ItemProblem(position, error.field, error.detail))
    if problems:
        raise InvalidItems(problems, collection="reports")
    known = _look_up(uow, platform_id, requests)
    return [
        _file_checked(uow, platform_id, request, rule, None, known)
        for request, rule in zip(requests, rules, strict=True)
    ]


def _look_up(uow: UnitOfWork, platform_id: int, requests: Sequence[ReportRequest]) -> Known:
    """The stored snapshots and live cases of every post in a batch: two queries instead of
    two per report. Filing keeps them current as it inserts, so each report finds what it
    would have found by asking the database."""
    posts = sorted({r.snapshot.platform_content_id for r in requests})
    known = Known({}, {})
    rows = uow.session.connection().execute(
        select(_CONTENTS.c.id, _CONTENTS.c.platform_content_id, _CONTENTS.c.digest)
        .where(_CONTENTS.c.platform_id == platform_id, _CONTENTS.c.platform_content_id.in_(posts))
        .order_by(_CONTENTS.c.id)
    )
    for content_id, post, digest in rows:
        known.snapshots.setdefault((post, digest), content_id)
    cases = uow.session.scalars(
        select(Case)
        .where(
            Case.platform_id == platform_id,
            Case.platform_content_id.in_(posts),
            Case.status != CaseStatus.FINAL,
        )
        .order_by(Case.id)
    )
    for case in cases:
        known.cases.setdefault((case.platform_content_id, case.rule_id), case)
    return known


__all__ = [
    "JOB_DRAW_JURY",
    "Filed",
    "file_report",
    "file_reports",
    "open_case_for",
]
