"""The operator console (``/staff``): the pipeline, platforms and compliance, connectors.

Operators only: anyone else is told so on a page (anonymous visitors get a link to log
in), never a bare error. The pages only read; their forms (pages_staff_actions.py) manage
keys, secrets and dead letters, and nothing here or there reaches a verdict, a ballot, a
rule or a jury.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_datetime
from babel.numbers import format_decimal
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from isegoria import i18n
from isegoria.domain.identity import Role, Scope
from isegoria.domain.states import CaseStatus
from isegoria.http.deps import PrincipalDep, UnitOfWorkDep
from isegoria.ops import compliance, connector_health, pipeline
from isegoria.web.pages import render, templates

router = APIRouter(include_in_schema=False)

CONSOLE = "/staff"
SECTIONS = (
    (CONSOLE, "pipeline"),
    (CONSOLE + "/platforms", "platforms"),
    (CONSOLE + "/connectors", "connectors"),
    (CONSOLE + "/people", "people"),
    (CONSOLE + "/capacity", "capacity"),
)


def _when(moment: datetime | None) -> str:
    """A date and time in the reader's language (UTC, as the log keeps them)."""
    if moment is None:
        return "—"
    return format_datetime(moment, "medium", tzinfo=UTC, locale=i18n.current_language())


def _number(value: int | float) -> str:
    return format_decimal(value, locale=i18n.current_language())


templates.env.filters["console_when"] = _when
templates.env.filters["console_number"] = _number


def case_state_label(state: str) -> str:
    """A case state in words."""
    labels = {
        CaseStatus.OPEN: i18n.gettext("open: jury at work"),
        CaseStatus.DECIDED: i18n.gettext("decided: appeal window open"),
        CaseStatus.APPEALED: i18n.gettext("under appeal"),
        CaseStatus.FINAL: i18n.gettext("final"),
    }
    return labels.get(state, i18n.gettext("other"))


def stage_label(stage: str) -> str:
    """A jury's stage in words."""
    labels = {
        "first": i18n.gettext("first instance"),
        "appeal": i18n.gettext("appeal"),
        "retrial": i18n.gettext("consistency retrial"),
    }
    return labels.get(stage, i18n.gettext("other"))


def deadline_label(deadline: str) -> str:
    """Which deadline of a jury is at risk, in words."""
    if deadline == "reply":
        return i18n.gettext("jurors to accept")
    return i18n.gettext("ballots to cast")


def job_label(kind: str) -> str:
    """What a job does, in words (its kind stays visible for the logs)."""
    labels = {
        "cases.draw_jury": i18n.gettext("draw a jury"),
        "cases.reply_deadline": i18n.gettext("close the summons replies"),
        "cases.replace_jurors": i18n.gettext("replace jurors who declined"),
        "cases.ballot_deadline": i18n.gettext("close the ballots"),
        "cases.interim_lapse": i18n.gettext("end an interim measure"),
        "cases.appeal_window": i18n.gettext("close the appeal window"),
        "notes.score": i18n.gettext("score the notes"),
        "notifications.ballot_reminder": i18n.gettext("remind jurors to vote"),
        "law.open_voting": i18n.gettext("open a law vote"),
        "law.close_voting": i18n.gettext("close a law vote"),
    }
    return labels.get(kind, i18n.gettext("other"))


def health_label(health: str) -> str:
    """A link's health in words."""
    labels = {
        connector_health.OK: i18n.gettext("working"),
        connector_health.FAILING: i18n.gettext("failing"),
        connector_health.STALE: i18n.gettext("not synced lately"),
        connector_health.IDLE: i18n.gettext("not in use yet"),
    }
    return labels.get(health, i18n.gettext("other"))


def link_label(kind: str) -> str:
    """A kind of link in words."""
    labels = {
        "matrix": "Matrix",
        "mastodon": "Mastodon",
        "activitypub": "ActivityPub",
        "atproto": "AT Protocol",
    }
    return labels.get(kind, kind)


def outbox_label(outbox: str) -> str:
    """An outbox in words."""
    labels = {
        connector_health.DECISIONS: i18n.gettext("Decisions to platforms (webhooks)"),
        connector_health.NOTIFICATIONS: i18n.gettext("Notifications (e-mail, Matrix)"),
        connector_health.ACTIVITYPUB: i18n.gettext("Flag outcomes (ActivityPub)"),
        connector_health.CONNECTOR: i18n.gettext("Actions on the platform's server"),
    }
    return labels.get(outbox, outbox)


def decision_kind_label(kind: str) -> str:
    """A kind of decision in words."""
    labels = {
        "sanction_imposed": i18n.gettext("sanction imposed"),
        "no_action": i18n.gettext("no action"),
        "interim_imposed": i18n.gettext("interim measure"),
        "interim_lapsed": i18n.gettext("interim measure lapsed"),
        "sanction_lifted": i18n.gettext("sanction lifted"),
        "note_shown": i18n.gettext("note shown"),
        "note_hidden": i18n.gettext("note hidden"),
    }
    return labels.get(kind, i18n.gettext("other"))


def scope_label(scope: str) -> str:
    """What a key's scope lets the platform do, in words."""
    labels: dict[str, str] = {
        Scope.PLATFORM_CONFIGURE: i18n.gettext("set its webhook"),
        Scope.REPORTS_WRITE: i18n.gettext("file reports"),
        Scope.CASES_READ: i18n.gettext("read cases and decisions"),
        Scope.DECISIONS_CONFIRM: i18n.gettext("confirm decisions"),
    }
    return labels.get(scope, scope)


def problem_text(code: str) -> str | None:
    """The message of a console action that did not happen (named in the redirect)."""
    texts = {
        "password": i18n.gettext("Your current password was missing or wrong: nothing changed."),
        "gone": i18n.gettext("That was already done or no longer exists: nothing changed."),
        "input": i18n.gettext("The form was not filled in right: nothing changed."),
        "scopes": i18n.gettext("Choose at least one thing the key may do."),
    }
    return texts.get(code)


def done_text(code: str) -> str | None:
    """The message of a console action that happened."""
    texts = {
        "retried": i18n.gettext("The dead letter is queued again."),
        "revoked": i18n.gettext("The key is revoked: the platform can no longer use it."),
    }
    return texts.get(code)


def operator_or_page(request: Request, principal: Any) -> int | HTMLResponse:
    """The operator's account id, or the page telling anyone else the console is not theirs."""
    if principal is None or not principal.is_person:
        query = urlencode({"next": request.url.path})
        context = {"login_url": f"/login?{query}", "anonymous": True}
        return render(request, "staff/denied.html", context, status=401)
    if principal.role is not Role.OPERATOR:
        return render(request, "staff/denied.html", {"anonymous": False}, status=403)
    account_id: int = principal.account_id
    return account_id


def console(request: Request, template: str, section: str, context: dict[str, Any]) -> HTMLResponse:
    """Render a console page with its section tabs and the outcome of the last action."""
    query = request.query_params
    data = {
        "sections": SECTIONS,
        "section": section,
        "problem": problem_text(query.get("problem", "")[:16]),
        "done": done_text(query.get("done", "")[:16]),
        "labels": {
            "case_state": case_state_label,
            "stage": stage_label,
            "deadline": deadline_label,
            "health": health_label,
            "job": job_label,
            "link": link_label,
            "outbox": outbox_label,
            "decision_kind": decision_kind_label,
            "scope": scope_label,
        },
        **context,
    }
    return render(request, template, data, headers={"Cache-Control": "no-store"})


@router.get(CONSOLE, response_class=HTMLResponse)
def pipeline_page(request: Request, uow: UnitOfWorkDep, principal: PrincipalDep) -> HTMLResponse:
    """Reports, cases by state, juries being formed, deadlines at risk, overdue jobs."""
    operator = operator_or_page(request, principal)
    if isinstance(operator, HTMLResponse):
        return operator
    with uow.begin(readonly=True):
        seen = pipeline.pipeline(uow)
    return console(request, "staff/pipeline.html", "pipeline", {"pipeline": seen})


@router.get(CONSOLE + "/platforms", response_class=HTMLResponse)
def platforms_page(request: Request, uow: UnitOfWorkDep, principal: PrincipalDep) -> HTMLResponse:
    """Each platform's compliance, its overdue decisions, keys and webhook secret."""
    operator = operator_or_page(request, principal)
    if isinstance(operator, HTMLResponse):
        return operator
    with uow.begin(readonly=True):
        records = compliance.compliance(uow)
    context = {"platforms": records, "scopes": list(Scope)}
    return console(request, "staff/platforms.html", "platforms", context)


@router.get(CONSOLE + "/connectors", response_class=HTMLResponse)
def connectors_page(request: Request, uow: UnitOfWorkDep, principal: PrincipalDep) -> HTMLResponse:
    """Matrix, Mastodon, ActivityPub and AT Protocol links, and the outboxes' dead letters."""
    operator = operator_or_page(request, principal)
    if isinstance(operator, HTMLResponse):
        return operator
    with uow.begin(readonly=True):
        seen = connector_health.connections(uow)
    return console(request, "staff/connectors.html", "connectors", {"seen": seen})
