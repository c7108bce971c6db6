"""The triage queue: platform reports no rule could be mapped to, and the form to pick one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from isegoria import i18n
from isegoria.connectors import intake as connector_intake
from isegoria.domain.rulebook import Rulebook
from isegoria.errors import InvalidInput
from isegoria.http.deps import PrincipalDep, UnitOfWorkDep
from isegoria.law import read as law_read
from isegoria.web.pages import check_form_csrf, citizen_id, render

router = APIRouter(include_in_schema=False)

TriageId = Annotated[int, Path(ge=1, le=2**31 - 1)]
#: How many queued reports one page shows.
PAGE = 50


def _citizen(principal: Any) -> int:
    return citizen_id(principal, i18n.gettext("Only citizens pick the rule of a platform report."))


def _rules_for(rulebook: Rulebook, item: dict[str, Any]) -> list[dict[str, str]]:
    """Rules in force where and when the post was made: the only ones a report may cite."""
    seen: dict[str, dict[str, str]] = {}
    for code in item["jurisdictions"]:
        if code not in rulebook.jurisdictions:
            continue
        for version in rulebook.in_force(code, item["posted_at"]):
            seen.setdefault(version.rule_id, {"id": version.rule_id, "title": version.title})
    return list(seen.values())


def _queue(uow: UnitOfWorkDep) -> list[dict[str, Any]]:
    rulebook = law_read.load_rulebook(uow)
    items = []
    for row in connector_intake.triage_queue(uow, limit=PAGE):
        item = connector_intake.stored_snapshot(row)
        item["rules"] = _rules_for(rulebook, item)
        items.append(item)
    return items


@router.get("/triage", response_class=HTMLResponse)
def triage_page(request: Request, uow: UnitOfWorkDep, principal: PrincipalDep) -> HTMLResponse:
    """Platform reports waiting for a citizen to pick the rule they may break."""
    _citizen(principal)
    with uow.begin(readonly=True):
        items = _queue(uow)
    return render(request, "cases/triage.html", {"items": items, "errors": {}, "typed": {}})


@router.post("/triage/{triage_id}", response_model=None)
def pick_rule(
    request: Request,
    triage_id: TriageId,
    uow: UnitOfWorkDep,
    principal: PrincipalDep,
    csrf_token: Annotated[str, Form(max_length=256)] = "",
    rule: Annotated[str, Form(max_length=64)] = "",
    action: Annotated[str, Form(max_length=8)] = "file",
) -> Response:
    """File a queued report under the rule the citizen picked, or say that no rule applies."""
    check_form_csrf(request, csrf_token)
    account = _citizen(principal)
    if action == "none":
        with uow.begin():
            connector_intake.dismiss_from_triage(uow, account_id=account, triage_id=triage_id)
        return RedirectResponse("/triage", status_code=303)
    try:
        if not rule.strip():
            raise InvalidInput(
                i18n.gettext("Pick the rule the post may break, or say that no rule applies."),
                field="rule",
            )
        with uow.begin():
            row = connector_intake.file_from_triage(
                uow, account_id=account, triage_id=triage_id, rule_id=rule
            )
            case_id = row.case_id
    except InvalidInput as error:
        # The same queue again, the rule the citizen chose kept and the reason beside it.
        with uow.begin(readonly=True):
            items = _queue(uow)
        context = {
            "items": items,
            "errors": {triage_id: i18n.error_text(error)},
            "typed": {triage_id: rule},
        }
        return render(request, "cases/triage.html", context, status=422)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)
