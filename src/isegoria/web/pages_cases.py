"""Pages of cases: the public case page, the juror's inbox and ballot, the author's appeal."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from isegoria import i18n
from isegoria.cases import appeal as cases_appeal
from isegoria.cases import ballots as cases_ballots
from isegoria.cases import jury as cases_jury
from isegoria.cases import reasons_view
from isegoria.cases import views as cases_views
from isegoria.cases.common import case_constitution
from isegoria.cases.common import get_case as get_case_row
from isegoria.domain.identity import Role
from isegoria.domain.sanctions import SanctionStep
from isegoria.domain.states import CaseStatus
from isegoria.errors import InvalidInput
from isegoria.http.deps import PrincipalDep, UnitOfWorkDep
from isegoria.log import audit
from isegoria.notes import views as notes_views
from isegoria.web import forms
from isegoria.web.pages import (
    CsrfField,
    citizen_form,
    citizen_id,
    render,
    see_other,
)

router = APIRouter(include_in_schema=False)

CaseId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MAX_FIELD = 8000
#: A written answer or appeal is read up to twice its limit, so that "too long" is told in place.
LONG_TEXT = 2 * MAX_FIELD


def _forbidden() -> str:
    return i18n.gettext("Only citizens serve on juries and appeal.")


def _citizen(principal: Any) -> int:
    return citizen_id(principal, _forbidden())


#: The states /cases can be narrowed to.
CASE_STATES = (CaseStatus.OPEN, CaseStatus.DECIDED, CaseStatus.APPEALED, CaseStatus.FINAL)


@router.get("/cases", response_class=HTMLResponse)
def cases_page(request: Request, uow: UnitOfWorkDep, status: str = "") -> HTMLResponse:
    """Every case (or those in one state), the most recently opened first."""
    status = status[:16]
    if status and status not in CASE_STATES:
        # Said, not ignored: an unknown filter would otherwise look like "every case".
        problem = i18n.gettext("There is no case state called “%(value)s”; choose one below.")
        context: dict[str, Any] = {"cases": [], "status": status, "states": CASE_STATES}
        context["filter_error"] = problem % {"value": status}
        return render(request, "cases/list.html", context, status=422)
    with uow.begin(readonly=True):
        cases = cases_views.recent_cases(uow, status=status or None, limit=100)
    context = {"cases": cases, "status": status, "states": CASE_STATES} | {"filter_error": None}
    return render(request, "cases/list.html", context)


def _case_context(
    uow: UnitOfWorkDep, principal: PrincipalDep, case_id: int, *, original: bool = False
) -> dict[str, Any]:
    view = cases_views.case_view(uow, case_id)
    seat = None
    appellant = None
    is_author = False
    case_row = get_case_row(uow, case_id)
    if principal.is_person and principal.role is Role.CITIZEN:
        account = principal.account_id
        assert account is not None  # noqa: S101
        seats = [s for s in cases_views.summons_for(uow, account) if s["case_id"] == case_id]
        seat = seats[0] if seats else None
        is_author = cases_appeal.is_author(uow, account, case_row)
        # Offered only to who may appeal now: a decision that took no action (an interim
        # measure that lapsed, no violation) leaves the author nothing to appeal.
        appellant = cases_appeal.may_appeal(uow, account, case_row)
    # Said before anyone files: how far this jurisdiction lets an author's appeal go.
    no_harsher = appellant is not None and case_constitution(uow, case_row).no_harsher_on_own_appeal
    # The statements in the reader's language, unless they asked for the one the author got.
    shown = reasons_view.case_page_statements(
        uow, case_row, i18n.current_language(), original=original
    )
    view |= {"statement": shown["statement"], "appeal_statement": shown["appeal_statement"]}
    return (
        {"case": view, "shown": shown, "seat": seat, "is_author": is_author, "now": uow.now()}
        | {"can_appeal": appellant is not None, "no_harsher": no_harsher}
        | {"appellant": None if appellant is None else appellant.value}
        | {"mismatches": audit.case_mismatches(uow.session, case_id)}
        | {"notes": notes_views.notes_of_case(uow, case_row), "content_id": case_row.content_id}
        | {"errors": {}, "typed": {}}
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request,
    case_id: CaseId,
    uow: UnitOfWorkDep,
    principal: PrincipalDep,
    statement: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    """The public page of a case, with what the viewer may do about it.

    ``?statement=original``: the statement of reasons as sent, in the post's language."""
    with uow.begin(readonly=True):
        context = _case_context(uow, principal, case_id, original=statement == "original")
    return render(request, "cases/case.html", context)


def _case_again(
    request: Request,
    uow: UnitOfWorkDep,
    principal: PrincipalDep,
    case_id: int,
    typed: dict[str, str],
) -> HTMLResponse:
    """The case page again after a mistake in one of its forms, what was typed kept."""
    form, text, message = typed["form"], typed["text"], typed["error"]
    with uow.begin(readonly=True):
        context = _case_context(uow, principal, case_id)
    context |= {"errors": {form: message}, "typed": {form: text}}
    return render(request, "cases/case.html", context, status=422)


@router.get("/jury", response_class=HTMLResponse)
def jury_inbox(request: Request, uow: UnitOfWorkDep, principal: PrincipalDep) -> HTMLResponse:
    """The juror's inbox: summons to answer, cases to judge."""
    account = _citizen(principal)
    with uow.begin(readonly=True):
        seats = cases_views.summons_for(uow, account)
        now = uow.now()
    return render(request, "cases/inbox.html", {"seats": seats, "now": now})


@router.post("/cases/{case_id}/reply", response_model=None)
def reply(
    request: Request,
    case_id: CaseId,
    uow: UnitOfWorkDep,
    principal: PrincipalDep,
    csrf_token: CsrfField = "",
    answer: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Accept or decline a summons."""
    account = citizen_form(request, csrf_token, principal, _forbidden())
    if answer not in ("accept", "decline"):
        raise InvalidInput(i18n.gettext("Choose to accept or to decline."), field="answer")
    with uow.begin():
        cases_jury.reply(uow, account_id=account, case_id=case_id, accept=answer == "accept")
    target = f"/cases/{case_id}/file" if answer == "accept" else "/jury"
    return see_other(target)


def _file_context(uow: UnitOfWorkDep, account: int, case_id: int) -> dict[str, Any]:
    file = cases_views.case_file(uow, account, case_id)
    voted = cases_views.my_ballot(uow, account, case_id)
    ladder = [
        s for s in SanctionStep if SanctionStep.NONE < s <= SanctionStep(file["sanction_cap"])
    ]
    return {"file": file, "voted": voted, "ladder": ladder, "typed": {}, "errors": {}}


@router.get("/cases/{case_id}/file", response_class=HTMLResponse)
def case_file_page(
    request: Request, case_id: CaseId, uow: UnitOfWorkDep, principal: PrincipalDep
) -> HTMLResponse:
    """The case file and the ballot form, for a juror who accepted."""
    account = _citizen(principal)
    with uow.begin(readonly=True):
        context = _file_context(uow, account, case_id)
    return render(request, "cases/file.html", context)


@router.post("/cases/{case_id}/ballot", response_model=None)
def ballot(
    request: Request,
    case_id: CaseId,
    uow: UnitOfWorkDep,
    principal: PrincipalDep,
    csrf_token: CsrfField = "",
    violation: Annotated[str, Form(max_length=8)] = "",
    sanction: Annotated[str, Form(max_length=16)] = "",
    suspension_days: Annotated[str, Form(max_length=4)] = "",
    reason: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    note_text: Annotated[str, Form(max_length=MAX_FIELD)] = "",
) -> Response:
    """Cast a sealed ballot; a mistake shows the form again with what was typed kept."""
    account = citizen_form(request, csrf_token, principal, _forbidden())
    typed = {"violation": violation, "sanction": sanction, "suspension_days": suspension_days}
    typed |= {"reason": reason, "note_text": note_text}
    with uow.begin(readonly=True):
        context = _file_context(uow, account, case_id)
    errors = forms.ballot_errors(typed, context["ladder"], context["file"]["max_suspension_days"])
    if not errors:
        try:
            with uow.begin():
                receipt = cases_ballots.cast_ballot(
                    uow,
                    account_id=account,
                    case_id=case_id,
                    violation=violation == "yes",
                    sanction=(sanction or None) if violation == "yes" else None,
                    suspension_days=int(suspension_days) if suspension_days else None,
                    reason=reason,
                    note_text=(note_text or None) if sanction == "note" else None,
                )
        except InvalidInput as error:
            errors = forms.field_error(error, forms.BALLOT_FIELDS, "reason")
        else:
            # Shown this once: the nonce is not stored, so nobody can show it again.
            return render(request, "cases/receipt.html", {"r": receipt})
    context |= {"typed": typed, "errors": errors}
    return render(request, "cases/file.html", context, status=422)


@router.get("/me/cases", response_class=HTMLResponse)
def my_cases(request: Request, uow: UnitOfWorkDep, principal: PrincipalDep) -> HTMLResponse:
    """Cases about my posts, and the form to link a platform account."""
    account = _citizen(principal)
    with uow.begin(readonly=True):
        cases = cases_appeal.cases_about_me(uow, account)
        linked = cases_appeal.linked_pseudonyms(uow, account)
    return render(request, "cases/mine.html", {"cases": cases, "linked": linked})


@router.post("/me/links", response_model=None)
def link(
    request: Request,
    uow: UnitOfWorkDep,
    principal: PrincipalDep,
    csrf_token: CsrfField = "",
    code: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Link a platform account with the code the platform gave."""
    account = citizen_form(request, csrf_token, principal, _forbidden())
    with uow.begin():
        cases_appeal.redeem_link_code(uow, account_id=account, code=code)
    return see_other("/me/cases")


@router.post("/cases/{case_id}/statement", response_model=None)
def statement(
    request: Request,
    case_id: CaseId,
    uow: UnitOfWorkDep,
    principal: PrincipalDep,
    csrf_token: CsrfField = "",
    text: Annotated[str, Form(max_length=LONG_TEXT)] = "",
) -> Response:
    """The author answers the report; a mistake shows the page again, the text kept."""
    account = citizen_form(request, csrf_token, principal, _forbidden())
    errors = forms.text_errors(text, cases_appeal.MAX_STATEMENT)
    try:
        if not errors:
            with uow.begin():
                cases_appeal.submit_statement(uow, account_id=account, case_id=case_id, text=text)
    except InvalidInput as error:
        errors = forms.field_error(error, ("text",), "text")
    if errors:
        typed = {"form": "statement", "text": text, "error": errors["text"]}
        return _case_again(request, uow, principal, case_id, typed)
    return see_other(f"/cases/{case_id}")


@router.post("/cases/{case_id}/appeal", response_model=None)
def appeal(
    request: Request,
    case_id: CaseId,
    uow: UnitOfWorkDep,
    principal: PrincipalDep,
    csrf_token: CsrfField = "",
    text: Annotated[str, Form(max_length=LONG_TEXT)] = "",
) -> Response:
    """Appeal to a new, larger jury; a mistake shows the page again, the reasons kept."""
    account = citizen_form(request, csrf_token, principal, _forbidden())
    errors = forms.text_errors(text, cases_appeal.MAX_STATEMENT)
    try:
        if not errors:
            with uow.begin():
                cases_appeal.file_appeal(uow, account_id=account, case_id=case_id, statement=text)
    except InvalidInput as error:
        errors = forms.field_error(error, ("text",), "text")
    if errors:
        typed = {"form": "appeal", "text": text, "error": errors["text"]}
        return _case_again(request, uow, principal, case_id, typed)
    return see_other(f"/cases/{case_id}")
