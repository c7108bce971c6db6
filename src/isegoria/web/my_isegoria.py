"""What "My isegoria" shows a citizen: everything that concerns them, each with where to act.

Only reads, through the contexts' own views. A jury seat shows the citizen's own seat and
nothing of the other jurors; a law vote shows only whether the citizen voted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from isegoria.cases import appeal as cases_appeal
from isegoria.cases import views as cases_views
from isegoria.domain.states import JurorStatus
from isegoria.law import views as law_views
from isegoria.notifications import inbox
from isegoria.notifications.views import NotificationOut, notification_out
from isegoria.store.models_cases import Case, Report
from isegoria.unit_of_work import UnitOfWork

#: How many of the newest notifications the page lists (the inbox has the rest).
NOTIFICATIONS_SHOWN = 5
#: How many of my reports and proposals the page lists, newest first.
LISTED = 20


@dataclass(frozen=True)
class MyDecision:
    """A case about one of my posts: what was decided, and until when I may appeal."""

    case_id: int
    rule: str
    status: str
    sanction: str | None
    explanation: str | None
    appeal_until: datetime | None
    may_appeal: bool


@dataclass
class MyIsegoria:
    """Everything the dashboard lists for one citizen."""

    summons: list[dict[str, Any]] = field(default_factory=list)
    seats: list[dict[str, Any]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[MyDecision] = field(default_factory=list)
    votes: list[law_views.MyVote] = field(default_factory=list)
    proposals: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[NotificationOut] = field(default_factory=list)
    unread: int = 0
    now: datetime | None = None


def _seats(uow: UnitOfWork, account_id: int, found: MyIsegoria) -> None:
    """My summons to answer, and the juries I sit on with what is due from me."""
    for seat in cases_views.summons_for(uow, account_id):
        if seat["closed"]:
            continue
        if seat["status"] == JurorStatus.SUMMONED:
            found.summons.append(seat)
        elif seat["status"] in (JurorStatus.ACCEPTED, JurorStatus.VOTED):
            found.seats.append(seat)


def _reports(uow: UnitOfWork, account_id: int) -> list[dict[str, Any]]:
    """The reports I filed, with where their case stands."""
    rows = uow.session.execute(
        select(Report, Case)
        .join(Case, Case.id == Report.case_id)
        .where(Report.reporter_account_id == account_id)
        .order_by(Report.id.desc())
        .limit(LISTED)
    ).tuples()
    return [
        {
            "case_id": case.id,
            "rule": f"{case.rule_id} v{case.rule_version}",
            "status": case.status,
            "filed_at": report.created_at,
            "outcome": case.appeal_outcome or case.outcome,
        }
        for report, case in rows
    ]


def _decision(uow: UnitOfWork, account_id: int, case: Case) -> MyDecision:
    statement = json.loads(case.appeal_statement or case.statement or "null") or {}
    return MyDecision(
        case_id=case.id,
        rule=f"{case.rule_id} v{case.rule_version}",
        status=case.status,
        sanction=case.appeal_sanction or case.sanction,
        explanation=statement.get("explanation"),
        appeal_until=case.appeal_until,
        may_appeal=cases_appeal.may_appeal(uow, account_id, case) is not None,
    )


def my_isegoria(uow: UnitOfWork, account_id: int, language: str) -> MyIsegoria:
    """Gather the dashboard of ``account_id``, notifications in ``language``."""
    now = uow.now()
    found = MyIsegoria(now=now)
    _seats(uow, account_id, found)
    found.reports = _reports(uow, account_id)
    found.decisions = [
        _decision(uow, account_id, case) for case in cases_appeal.cases_about_me(uow, account_id)
    ]
    found.votes = [
        v
        for v in law_views.my_votes(uow, account_id)
        if v.proposal.status == "voting" and now < v.proposal.voting_closes_at
    ]
    found.proposals = [
        {"proposal": p, "title": title}
        for p, title in law_views.list_proposals(uow, proposer=account_id)[:LISTED]
    ]
    found.notifications = [
        notification_out(n, language)
        for n in inbox.inbox(uow, account_id, limit=NOTIFICATIONS_SHOWN)
    ]
    found.unread = inbox.unread_count(uow, account_id)
    return found
