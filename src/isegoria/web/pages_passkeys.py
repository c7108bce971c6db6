"""Pages of passkeys: add and remove them under account security; sign in with one."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from isegoria import i18n
from isegoria.errors import InvalidInput, NotFound, RateLimited, Unauthenticated
from isegoria.http import cookies, ratelimit
from isegoria.http.deps import PrincipalDep, Services, ServicesDep, UnitOfWorkDep
from isegoria.identity import mfa, passkeys
from isegoria.people import accounts as people
from isegoria.people import sessions
from isegoria.web.pages import MAX_FORM_FIELD, check_form_csrf, render, safe_next, templates
from isegoria.web.signin_limits import retry_message, when

router = APIRouter(include_in_schema=False)
templates.env.filters["signin_when"] = when

PAGE = "/account/security/passkeys"
SIGN_IN = "/login/second-factor/passkey"
FormField = Annotated[str, Form(max_length=MAX_FORM_FIELD)]
ResponseField = Annotated[str, Form(max_length=passkeys.MAX_RESPONSE)]


def _token(request: Request, services: Services) -> str:
    return request.cookies.get(cookies.session_cookie(services.settings)) or ""


def _relying_party(services: Services) -> passkeys.RelyingParty:
    return passkeys.RelyingParty.from_public_url(services.settings.effective_public_url)


def _account_id(principal: object) -> int:
    account_id = getattr(principal, "account_id", None)
    if account_id is None:
        raise Unauthenticated(i18n.gettext("Log in to manage your passkeys."))
    return int(account_id)


def _options(body: str) -> Response:
    # The options carry a challenge: never cached by the browser or a proxy.
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


@router.get(PAGE, response_class=HTMLResponse)
def passkeys_page(request: Request, uow: UnitOfWorkDep, principal: PrincipalDep) -> HTMLResponse:
    """The person's passkeys, and a button to add one."""
    account_id = _account_id(principal)
    with uow.begin(readonly=True):
        keys = passkeys.passkeys_of(uow, account_id)
    messages = {
        "added": i18n.gettext("Your passkey was added."),
        "removed": i18n.gettext("The passkey was removed."),
    }
    context = {
        "passkeys": keys,
        "notice": messages.get(request.query_params.get("done", "")),
        "error": i18n.gettext("That passkey was not accepted. Try again.")
        if request.query_params.get("error") == "passkey"
        else None,
    }
    return render(request, "passkeys.html", context)


@router.post(PAGE + "/options", response_model=None)
def registration_options(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    principal: PrincipalDep,
    csrf_token: FormField = "",
) -> Response:
    """Options for the browser to create a passkey; the challenge is kept for this session."""
    check_form_csrf(request, csrf_token)
    account_id = _account_id(principal)
    with uow.begin():
        account = people.get_account(uow, account_id)
        body = passkeys.begin_registration(
            uow, _relying_party(services), account, _token(request, services)
        )
    return _options(body)


@router.post(PAGE, response_model=None)
def add_passkey(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    principal: PrincipalDep,
    response: ResponseField = "",
    name: FormField = "",
    csrf_token: FormField = "",
) -> Response:
    """Check the browser's new credential against the challenge and keep it."""
    check_form_csrf(request, csrf_token)
    account_id = _account_id(principal)
    token = _token(request, services)
    with uow.begin():
        account = people.get_account(uow, account_id)
        challenge = passkeys.take_challenge(uow, token, passkeys.REGISTER, account)
    try:
        with uow.begin():
            account = people.get_account(uow, account_id)
            passkeys.finish_registration(
                uow, _relying_party(services), account, challenge, response, name
            )
    except InvalidInput:
        return RedirectResponse(PAGE + "?error=passkey", status_code=303)
    return RedirectResponse(PAGE + "?done=added", status_code=303)


@router.post(PAGE + "/{passkey_id}/remove", response_model=None)
def remove_passkey(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    principal: PrincipalDep,
    passkey_id: int,
    csrf_token: FormField = "",
) -> Response:
    """Remove a passkey; sessions it verified end (this one too, if it was one of them)."""
    check_form_csrf(request, csrf_token)
    account_id = _account_id(principal)
    if not 1 <= passkey_id <= 2**31 - 1:
        raise NotFound(
            "you have no passkey %(passkey_id)s", field="passkey_id", passkey_id=passkey_id
        )
    with uow.begin():
        passkeys.remove_passkey(uow, people.get_account(uow, account_id), passkey_id)
    services.session_cache.clear()  # after the commit: no process trusts the ended sessions
    return RedirectResponse(PAGE + "?done=removed", status_code=303)


def _pending_account_id(request: Request, uow: UnitOfWorkDep, services: Services) -> int | None:
    with uow.begin(readonly=True):
        pending = sessions.pending_session(uow, _token(request, services))
        return pending.account_id if pending is not None else None


@router.post(SIGN_IN + "/options", response_model=None)
def authentication_options(
    request: Request, uow: UnitOfWorkDep, services: ServicesDep, csrf_token: FormField = ""
) -> Response:
    """Options for the browser to sign the challenge with one of the account's passkeys."""
    check_form_csrf(request, csrf_token)
    token = _token(request, services)
    with uow.begin():
        pending = sessions.pending_session(uow, token)
        if pending is None:
            raise Unauthenticated(i18n.gettext("Sign in with your password first."))
        account = people.get_account(uow, pending.account_id)
        body = passkeys.begin_authentication(uow, _relying_party(services), account, token)
    return _options(body)


@router.post(SIGN_IN, response_model=None)
def sign_in_with_passkey(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    response: ResponseField = "",
    csrf_token: FormField = "",
    next: FormField = "/",  # noqa: A002
) -> Response:
    """Check the signed challenge; the verified session is bound to that passkey."""
    check_form_csrf(request, csrf_token)
    token = _token(request, services)
    account_id = _pending_account_id(request, uow, services)
    if account_id is None:
        return RedirectResponse("/login", status_code=303)
    with uow.begin(readonly=True):
        account = people.get_account(uow, account_id)
        login, hours = account.login, _hours(services, account.role)
    target = "/login/second-factor?" + urlencode({"next": safe_next(next), "error": "passkey"})
    try:
        ratelimit.before_login(request, login)  # a passkey attempt spends the login's bucket
    except RateLimited as error:
        return _challenge_error(request, target, retry_message(error.retry_after))
    with uow.begin():
        challenge = passkeys.take_challenge(
            uow, token, passkeys.AUTHENTICATE, people.get_account(uow, account_id)
        )
    new_token = None
    try:
        with uow.begin():
            account = people.get_account(uow, account_id)
            passkey = passkeys.finish_authentication(
                uow, _relying_party(services), account, challenge, response
            )
            sessions.end_session(uow, token)  # a fresh token once verified (no fixation)
            new_token, _row = sessions.start_session(
                uow, account, hours=hours, factor=passkeys.PASSKEY, factor_id=passkey.id
            )
    except InvalidInput:
        new_token = None
    ratelimit.after_login(request, login, succeeded=new_token is not None)
    if new_token is None:
        return _challenge_error(request, target, "")
    redirect = RedirectResponse(safe_next(next), status_code=303)
    cookies.set_session_cookie(redirect, services.settings, new_token)
    return redirect


def _hours(services: Services, role: str) -> float:
    if mfa.must_have_factor(role):
        return float(services.settings.staff_session_hours)
    return float(services.settings.session_hours)


def _challenge_error(request: Request, target: str, message: str) -> Response:
    """Back to the second-factor page, which says the passkey was refused (or when to retry)."""
    if message:
        return render(
            request,
            "error.html",
            {"title": i18n.gettext("Second factor"), "detail": message},
            status=429,
        )
    return RedirectResponse(target, status_code=303)
