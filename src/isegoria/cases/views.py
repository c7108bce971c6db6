"""What people and platforms read about cases (no writes here)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from isegoria.algorithms import sortition
from isegoria.cases.common import (
    FIRST,
    RETRIAL,
    case_constitution,
    case_content,
    case_rule,
    get_case,
    get_jury,
    loads,
)
from isegoria.cases.jury import check_can_see, my_seat
from isegoria.cases.verdict import prior_upheld
from isegoria.domain.states import JurorStatus
from isegoria.errors import Forbidden
from isegoria.log import read as log_read
from isegoria.log.entries import MalformedEntry, decode_entry
from isegoria.store.models_cases import AuthorStatement, Case, Juror, Jury, Report
from isegoria.unit_of_work import UnitOfWork

MAX_LIST = 200


def list_cases(
    uow: UnitOfWork, *, status: str | None, limit: int, before: int | None
) -> list[Case]:
    """Cases newest first, optionally by status."""
    query = select(Case).order_by(Case.id.desc()).limit(max(1, min(limit, MAX_LIST)))
    if status:
        query = query.where(Case.status == status)
    if before:
        query = query.where(Case.id < before)
    return list(uow.session.scalars(query))


def recent_cases(uow: UnitOfWork, *, status: str | None, limit: int) -> list[Case]:
    """Cases by the time they opened, newest first (ties: the later one first)."""
    query = (
        select(Case)
        .order_by(Case.opened_at.desc(), Case.id.desc())
        .limit(max(1, min(limit, MAX_LIST)))
    )
    if status:
        query = query.where(Case.status == status)
    return list(uow.session.scalars(query))


#: Further reports a case's timeline lists; the others are counted (they stay in the log).
TIMELINE_REPORTS = 20
REPORT_FILED = "ReportFiled"


def timeline(uow: UnitOfWork, case_id: int) -> tuple[list[dict[str, Any]], int]:
    """The case's log entries, oldest first, in readable form, and how many were left out.

    Every step is listed, but only the first ``TIMELINE_REPORTS`` further reports: a post
    many people report gathers thousands, and listing them all would make the page of a
    viral post as long (and as slow) as its reports are many. The rest stay in the log.
    """
    subject = str(case_id)
    rows = log_read.entries_about(
        uow.session, "case", subject, except_kind=REPORT_FILED
    ) + log_read.entries_about(
        uow.session, "case", subject, kind=REPORT_FILED, limit=TIMELINE_REPORTS
    )
    rows.sort(key=lambda row: row.idx)
    reports = log_read.count_about(uow.session, "case", subject, kind=REPORT_FILED)
    items = []
    for row in rows:
        try:
            facts = decode_entry(row.payload).facts
        except MalformedEntry:
            facts = {"problem": "this entry's stored bytes no longer decode"}
        items.append({"index": row.idx, "kind": row.kind, "at": row.created_at, "facts": facts})
    return items, max(0, reports - TIMELINE_REPORTS)


def case_view(uow: UnitOfWork, case_id: int) -> dict[str, Any]:
    """Everything the public case page shows: the pseudonymised post, rule, steps, reasons."""
    case = get_case(uow, case_id)
    content = case_content(uow, case)
    rule = case_rule(uow, case)
    steps, not_listed = timeline(uow, case.id)
    return {
        "id": case.id,
        "status": case.status,
        "stage": case.stage,
        "rule": f"{case.rule_id} v{case.rule_version}",
        "rule_title": rule.title,
        "jurisdiction": case.jurisdiction,
        "platform_id": case.platform_id,
        "author": case.author,
        "content_text": content.text,
        "content_url": content.url,
        "content_language": content.language,
        "posted_at": content.posted_at,
        "opened_at": case.opened_at,
        "interim": case.interim_state,
        "outcome": case.outcome,
        "sanction": case.sanction,
        "suspension_days": case.suspension_days,
        "statement": loads(case.statement),
        "appeal_until": case.appeal_until,
        "appeal_outcome": case.appeal_outcome,
        "appeal_sanction": case.appeal_sanction,
        "appeal_statement": loads(case.appeal_statement),
        "timeline": steps,
        "reports_not_listed": not_listed,
    }


def draw_record(uow: UnitOfWork, case_id: int, stage: str) -> dict[str, Any] | None:
    """The public inputs and result of a jury draw."""
    jury = get_jury(uow, case_id, stage)
    if jury is None:
        return None
    seats = list(
        uow.session.execute(
            select(Juror.id, Juror.pseudonym, Juror.replaces)
            .where(Juror.jury_id == jury.id)
            .order_by(Juror.id)
        ).tuples()
    )
    portfolio = json.loads(jury.portfolio)
    name_of = {seat_id: name for seat_id, name, _ in seats}
    jurors = [name for _, name, replaces in seats if replaces is None]
    replacements = [
        {"juror": name, "replaces": name_of.get(replaces, "")}
        for _, name, replaces in seats
        if replaces is not None
    ]
    return {
        "case_id": case_id,
        "stage": stage,
        "size": jury.size,
        "seed_checkpoint_size": jury.seed_checkpoint_size,
        "seed": jury.seed,
        "quotas": json.loads(jury.quotas),
        "portfolio": portfolio,
        "pool": json.loads(jury.pool),
        "jurors": sorted(jurors),
        # Issue 16: the volunteers the quotas leave without any chance, and why.
        "cannot_be_seated": [u.describe() for u in sortition.unseatable_in_record(portfolio)],
        "replacements": replacements,
    }


def summons_for(uow: UnitOfWork, account_id: int) -> list[dict[str, Any]]:
    """The caller's jury seats, newest first."""
    rows = uow.session.execute(
        select(Juror, Jury, Case)
        .join(Jury, Jury.id == Juror.jury_id)
        .join(Case, Case.id == Jury.case_id)
        .where(Juror.account_id == account_id)
        .order_by(Juror.id.desc())
    ).tuples()
    seats = []
    for juror, jury, case in rows:
        window = case_constitution(uow, case).juror_reply_deadline
        seats.append(
            {
                "case_id": case.id,
                # Retrial jurors are not told: their seat reads as a first-instance one.
                "stage": FIRST if jury.stage == RETRIAL else jury.stage,
                "pseudonym": juror.pseudonym,
                "status": juror.status,
                "reply_by": min(juror.summoned_at + window, jury.ballot_deadline),
                "ballot_by": jury.ballot_deadline,
                "rule": f"{case.rule_id} v{case.rule_version}",
                "closed": jury.closed,
            }
        )
    return seats


def case_file(uow: UnitOfWork, account_id: int, case_id: int) -> dict[str, Any]:
    """What an accepted juror reads: the post, the rule, the reports, the author's answer."""
    check_can_see(uow, account_id, case_id)
    case = get_case(uow, case_id)
    content = case_content(uow, case)
    rule = case_rule(uow, case)
    reports = [
        {"source": r.source, "reason": r.reason, "filed_at": r.created_at.isoformat()}
        for r in uow.session.scalars(select(Report).where(Report.case_id == case_id))
    ]
    statements = [
        s.text
        for s in uow.session.scalars(
            select(AuthorStatement)
            .where(AuthorStatement.case_id == case_id)
            .order_by(AuthorStatement.id)
        )
    ]
    first = None
    if case.stage != FIRST:
        first = {
            "outcome": case.outcome,
            "sanction": case.sanction,
            "statement": loads(case.statement),
        }
    return {
        "case_id": case.id,
        "stage": case.stage,
        "content_text": content.text,
        "content_url": content.url,
        "content_language": content.language,
        "posted_at": content.posted_at,
        "author": case.author,
        "rule": f"{rule.rule_id} v{rule.version}",
        "rule_title": rule.title,
        "rule_text": rule.text,
        "sanction_cap": rule.sanction_cap.value,
        "max_suspension_days": rule.max_suspension_days,
        "reports": reports,
        "prior_upheld_violations": prior_upheld(uow, case),
        "author_statements": statements,
        "first_instance": first,
    }


def my_ballot(uow: UnitOfWork, account_id: int, case_id: int) -> bool:
    """Whether the caller has voted on the case's current jury."""
    try:
        check_can_see(uow, account_id, case_id)
    except Forbidden:
        return False
    _jury, juror = my_seat(uow, account_id, case_id)
    return juror.status == JurorStatus.VOTED
