"""Pages of the second factor: the code after the password, enrolment, recovery codes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from isegoria import i18n
from isegoria.domain.identity import Role
from isegoria.errors import Forbidden, RateLimited, Unauthenticated
from isegoria.http import cookies, ratelimit
from isegoria.http.deps import PrincipalDep, Services, ServicesDep, UnitOfWorkDep
from isegoria.identity import mfa, passkeys
from isegoria.people import accounts as people
from isegoria.people import sessions
from isegoria.store.models import Account
from isegoria.unit_of_work import UnitOfWork
from isegoria.web.pages import MAX_FORM_FIELD, check_form_csrf, render, safe_next
from isegoria.web.signin_limits import retry_headers, retry_message

router = APIRouter(include_in_schema=False)

CHALLENGE = "/login/second-factor"
ACCOUNT_PAGE = "/account/security"
FormField = Annotated[str, Form(max_length=MAX_FORM_FIELD)]


def _cookie_token(request: Request, services: Services) -> str:
    return request.cookies.get(cookies.session_cookie(services.settings)) or ""


def _hours(services: Services, account: Account) -> float:
    """Staff sessions are shorter (ISEGORIA_STAFF_SESSION_HOURS)."""
    if mfa.must_have_factor(account.role):
        return float(services.settings.staff_session_hours)
    return float(services.settings.session_hours)


def _challenge_page(
    request: Request, uow: UnitOfWork, services: Services, account: Account, next_: str
) -> dict[str, object]:
    """What the challenge page shows: a code form, a passkey button, or an enrolment."""
    enrolment = None
    has_passkey = passkeys.has_passkey(uow, account.id)
    has_totp = mfa.confirmed_factor(uow, account.id) is not None
    if not has_totp and not has_passkey:
        enrolment = mfa.begin_totp(uow, services.box, account)
    error = None
    if request.query_params.get("error") == "passkey":
        error = i18n.gettext("That passkey was not accepted. Try again.")
    return {
        "enrolment": enrolment,
        "next": next_,
        "action": CHALLENGE,
        "has_passkey": has_passkey,
        "has_totp": has_totp,
        "error": error,
    }


@router.get(CHALLENGE, response_class=HTMLResponse, response_model=None)
def challenge(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    next: str = "/",  # noqa: A002
) -> Response:
    """Ask for the second factor; staff without one enrol here first."""
    with uow.begin():
        pending = sessions.pending_session(uow, _cookie_token(request, services))
        if pending is None:
            return RedirectResponse("/login", status_code=303)
        account = people.get_account(uow, pending.account_id)
        context = _challenge_page(request, uow, services, account, safe_next(next))
    return render(request, "second_factor.html", context)


@router.post(CHALLENGE, response_model=None)
def answer_challenge(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    code: FormField = "",
    recovery_code: FormField = "",
    csrf_token: FormField = "",
    next: FormField = "/",  # noqa: A002
) -> Response:
    """Check the code (or a recovery code) and open the verified session."""
    check_form_csrf(request, csrf_token)
    token = _cookie_token(request, services)
    with uow.begin(readonly=True):
        pending = sessions.pending_session(uow, token)
        login = people.get_account(uow, pending.account_id).login if pending else None
    if pending is None or login is None:
        return RedirectResponse("/login", status_code=303)
    try:
        ratelimit.before_login(request, login)  # code guesses spend the login's failure bucket
    except RateLimited as error:
        with uow.begin():
            account = people.get_account(uow, pending.account_id)
            context = _challenge_page(request, uow, services, account, safe_next(next))
        context["error"] = retry_message(error.retry_after)
        headers = retry_headers(error.retry_after)
        return render(request, "second_factor.html", context, status=429, headers=headers)
    recovery: list[str] = []
    new_token = None
    with uow.begin():
        account = people.get_account(uow, pending.account_id)
        factor = mfa.confirmed_factor(uow, account.id)
        verified: tuple[str, int] | None = None
        if factor is None:
            confirmed = mfa.confirm_totp(uow, services.box, account, code)
            if confirmed is not None:
                verified, recovery = (mfa.TOTP, confirmed[0]), confirmed[1]
        elif code.strip() and mfa.check_totp(uow, services.box, factor.id, code):
            verified = (mfa.TOTP, factor.id)
        elif recovery_code.strip() and mfa.use_recovery_code(uow, account, recovery_code):
            verified = (mfa.RECOVERY, factor.id)
        if verified is not None:
            sessions.end_session(uow, token)  # a fresh token once verified (no fixation)
            new_token, _row = sessions.start_session(
                uow,
                account,
                hours=_hours(services, account),
                factor=verified[0],
                factor_id=verified[1],
            )
        else:
            context = _challenge_page(request, uow, services, account, safe_next(next))
    ratelimit.after_login(request, login, succeeded=new_token is not None)
    if new_token is None:
        context["error"] = i18n.gettext("That code is wrong or was already used.")
        return render(request, "second_factor.html", context, status=401)
    return _verified(request, services, new_token, recovery, safe_next(next))


def _verified(
    request: Request, services: Services, token: str, recovery: list[str], next_: str
) -> Response:
    """Set the verified session's cookie; show the recovery codes if there are new ones."""
    response: Response
    if recovery:
        response = render(request, "recovery_codes.html", {"codes": recovery, "next": next_})
    else:
        response = RedirectResponse(next_, status_code=303)
    cookies.set_session_cookie(response, services.settings, token)
    return response


def _person(principal: object) -> tuple[int, str]:
    account_id = getattr(principal, "account_id", None)
    role = getattr(principal, "role", None)
    if account_id is None or role is None:
        raise Unauthenticated(i18n.gettext("Log in to manage your second factor."))
    return int(account_id), str(role.value)


@router.get(ACCOUNT_PAGE, response_class=HTMLResponse)
def account_security(
    request: Request, uow: UnitOfWorkDep, services: ServicesDep, principal: PrincipalDep
) -> HTMLResponse:
    """A person's second factor: whether they have one, or how to add one (citizens opt in)."""
    account_id, role = _person(principal)
    with uow.begin():
        account = people.get_account(uow, account_id)
        factor = mfa.confirmed_factor(uow, account_id)
        enrolment = None if factor else mfa.begin_totp(uow, services.box, account)
        left = mfa.recovery_codes_left(uow, account_id)
    context = {
        "factor": factor,
        "enrolment": enrolment,
        "codes_left": left,
        "may_remove": role == Role.CITIZEN.value,
        "action": ACCOUNT_PAGE + "/enrol",
        "next": ACCOUNT_PAGE,
        "error": i18n.gettext("That code is wrong or was already used.")
        if request.query_params.get("error") == "code"
        else None,
    }
    return render(request, "account_security.html", context)


@router.post(ACCOUNT_PAGE + "/enrol", response_model=None)
def enrol(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    principal: PrincipalDep,
    code: FormField = "",
    csrf_token: FormField = "",
) -> Response:
    """Confirm a new authenticator with its first code; this session becomes bound to it."""
    check_form_csrf(request, csrf_token)
    account_id, _role = _person(principal)
    login = principal.login or ""
    ratelimit.before_login(request, login)
    with uow.begin():
        account = people.get_account(uow, account_id)
        confirmed = mfa.confirm_totp(uow, services.box, account, code)
        new_token = None
        if confirmed is not None:
            sessions.end_session(uow, _cookie_token(request, services))
            new_token, _row = sessions.start_session(
                uow,
                account,
                hours=_hours(services, account),
                factor=mfa.TOTP,
                factor_id=confirmed[0],
            )
    ratelimit.after_login(request, login, succeeded=confirmed is not None)
    services.session_cache.clear()  # the old cookie, or sessions of a replaced factor, end
    if confirmed is None or new_token is None:
        return RedirectResponse(ACCOUNT_PAGE + "?error=code", status_code=303)
    return _verified(request, services, new_token, confirmed[1], ACCOUNT_PAGE)


@router.post(ACCOUNT_PAGE + "/remove", response_model=None)
def remove(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    principal: PrincipalDep,
    code: FormField = "",
    csrf_token: FormField = "",
) -> Response:
    """A citizen turns their second factor off (with a current code); every session ends."""
    check_form_csrf(request, csrf_token)
    account_id, role = _person(principal)
    if mfa.must_have_factor(role):
        raise Forbidden(i18n.gettext("Operators and auditors must keep a second factor."))
    login = principal.login or ""
    ratelimit.before_login(request, login)
    with uow.begin():
        account = people.get_account(uow, account_id)
        factor = mfa.confirmed_factor(uow, account_id)
        ok = factor is not None and mfa.check_totp(uow, services.box, factor.id, code)
        if ok:
            mfa.remove_second_factor(uow, account)
    ratelimit.after_login(request, login, succeeded=ok)
    services.session_cache.clear()  # after the commit: no process trusts the ended sessions
    if not ok:
        return RedirectResponse(ACCOUNT_PAGE + "?error=code", status_code=303)
    response = RedirectResponse("/login", status_code=303)
    cookies.delete_cookie(response, services.settings, cookies.session_cookie(services.settings))
    return response
