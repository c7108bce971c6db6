"""``/staff/people``: operators add and remove operators and auditors, reset a second factor.

Each form calls the same service as ``isegoria staff add`` (people/staff.py, identity/mfa.py),
which writes the staff audit trail in the same transaction.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from isegoria import i18n
from isegoria.domain.identity import Role
from isegoria.errors import Forbidden, IsegoriaError, Unauthenticated
from isegoria.http.deps import Principal, PrincipalDep, ServicesDep, UnitOfWorkDep, staff_actor
from isegoria.identity import mfa, passkeys
from isegoria.ops import staff_trail
from isegoria.ops.staff_trail import Actor
from isegoria.people import accounts as people
from isegoria.people import staff
from isegoria.web.pages import MAX_FORM_FIELD, check_form_csrf, render, see_other, templates
from isegoria.web.signin_limits import when

router = APIRouter(include_in_schema=False)
templates.env.filters["signin_when"] = when

PAGE = "/staff/people"
FormField = Annotated[str, Form(max_length=MAX_FORM_FIELD)]
MAX_ACCOUNT_ID = 2**31 - 1


def staff_member(principal: Principal, roles: frozenset[Role], forbidden: str) -> Principal:
    """The signed-in person if their role is one of ``roles``; 401 for nobody, else 403."""
    if not principal.is_person or principal.account_id is None:
        raise Unauthenticated(i18n.gettext("Sign in as staff to see this page."))
    if principal.role not in roles:
        raise Forbidden(forbidden)
    return principal


def _operator(principal: Principal) -> Actor:
    member = staff_member(
        principal,
        frozenset({Role.OPERATOR}),
        i18n.gettext("Only operators manage the staff."),
    )
    return staff_actor(member, staff_trail.CONSOLE)


def _page(
    request: Request, uow: UnitOfWorkDep, *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    with uow.begin(readonly=True):
        rows: list[dict[str, Any]] = [
            {
                "account": account,
                "totp": mfa.confirmed_factor(uow, account.id) is not None,
                "passkeys": len(passkeys.passkeys_of(uow, account.id)),
            }
            for account in staff.list_staff(uow)
        ]
    notices = {
        "added": i18n.gettext(
            "The staff member was added. They set up a second factor at their first sign-in."
        ),
        "removed": i18n.gettext("The staff member was removed; their sessions have ended."),
        "reset": i18n.gettext(
            "The second factor was reset; they set up a new one at their next sign-in."
        ),
    }
    context = {
        "rows": rows,
        "error": error,
        "notice": notices.get(request.query_params.get("done", "")),
        "roles": [Role.OPERATOR.value, Role.AUDITOR.value],
    }
    return render(request, "staff/staff_people.html", context, status=status)


@router.get(PAGE, response_class=HTMLResponse)
def staff_people(request: Request, uow: UnitOfWorkDep, principal: PrincipalDep) -> HTMLResponse:
    """The operators and auditors, with forms to add, remove and reset."""
    _operator(principal)
    return _page(request, uow)


@router.post(PAGE, response_model=None)
def add_staff(
    request: Request,
    uow: UnitOfWorkDep,
    principal: PrincipalDep,
    login: FormField = "",
    display_name: FormField = "",
    role: FormField = "",
    password: FormField = "",
    csrf_token: FormField = "",
) -> Response:
    """Add an operator or an auditor with a first password (they then enrol a factor)."""
    check_form_csrf(request, csrf_token)
    actor = _operator(principal)
    if role not in (Role.OPERATOR.value, Role.AUDITOR.value):
        return _page(request, uow, error=i18n.gettext("Choose operator or auditor."), status=400)
    try:
        with uow.begin():
            staff.add_staff(
                uow,
                login=login.strip(),
                display_name=display_name,
                role=Role(role),
                password=password,
                actor=actor,
            )
    except IsegoriaError as error:
        return _page(request, uow, error=i18n.error_text(error), status=error.status)
    return see_other(PAGE + "?done=added")


def _account_id(account_id: int) -> int:
    if not 1 <= account_id <= MAX_ACCOUNT_ID:
        raise Forbidden(i18n.gettext("No such staff member."))
    return account_id


@router.post(PAGE + "/{account_id}/remove", response_model=None)
def remove_staff(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    principal: PrincipalDep,
    account_id: int,
    csrf_token: FormField = "",
) -> Response:
    """Take a staff member's access away; their sessions end at once."""
    check_form_csrf(request, csrf_token)
    actor = _operator(principal)
    try:
        with uow.begin():
            account = people.get_account(uow, _account_id(account_id))
            staff.remove_staff(uow, account, actor=actor)
    except IsegoriaError as error:
        return _page(request, uow, error=i18n.error_text(error), status=error.status)
    services.session_cache.clear()  # after the commit: no process trusts the ended sessions
    return see_other(PAGE + "?done=removed")


@router.post(PAGE + "/{account_id}/reset-second-factor", response_model=None)
def reset_second_factor(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    principal: PrincipalDep,
    account_id: int,
    csrf_token: FormField = "",
) -> Response:
    """Reset a colleague's second factor (check who they are out of band first)."""
    check_form_csrf(request, csrf_token)
    actor = _operator(principal)
    try:
        with uow.begin():
            account = people.get_account(uow, _account_id(account_id))
            if not mfa.must_have_factor(account.role):
                raise Forbidden(i18n.gettext("Only a staff member's second factor is reset here."))
            mfa.reset_second_factor(uow, account, actor=actor)
    except IsegoriaError as error:
        return _page(request, uow, error=i18n.error_text(error), status=error.status)
    services.session_cache.clear()
    return see_other(PAGE + "?done=reset")
