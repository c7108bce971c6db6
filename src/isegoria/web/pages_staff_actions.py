"""The operator console's forms: API keys, webhook secrets, dead letters.

Each form carries its CSRF token, spends the operator's API rate-limit bucket, and calls one
service of the context that owns what it changes, naming the acting operator. What touches a
platform's credentials also asks for the operator's current password (http/reauth.py). A new
key or secret is shown once, on the answer to the form: never in a URL, never stored in clear.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response

from isegoria.connectors import ledger
from isegoria.decisions import outbox as decision_outbox
from isegoria.domain.identity import MAX_PASSWORD_LENGTH, Scope
from isegoria.errors import Conflict, Forbidden, InvalidInput, IsegoriaError, NotFound
from isegoria.federation import activitypub_delivery
from isegoria.http import ratelimit, reauth
from isegoria.http.deps import PrincipalDep, ServicesDep, UnitOfWorkDep
from isegoria.notifications import delivery as notification_delivery
from isegoria.ops import connector_health
from isegoria.people import accounts as people
from isegoria.people import platforms
from isegoria.store.models import Account, Platform
from isegoria.unit_of_work import UnitOfWork
from isegoria.web.pages import MAX_FORM_FIELD, check_form_csrf, see_other
from isegoria.web.pages_staff import CONSOLE, console, operator_or_page

router = APIRouter(include_in_schema=False)
T = TypeVar("T")

FormField = Annotated[str, Form(max_length=MAX_FORM_FIELD)]
PasswordField = Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)]
PlatformId = Annotated[int, Path(ge=1, le=2**31 - 1)]
KeyId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PLATFORMS_PAGE = CONSOLE + "/platforms"
CONNECTORS_PAGE = CONSOLE + "/connectors"

#: The service that retries a dead letter of each outbox, in the context that owns the row.
RETRY: dict[str, Callable[..., object]] = {
    connector_health.DECISIONS: decision_outbox.retry_dead_letter,
    connector_health.ACTIVITYPUB: activitypub_delivery.retry_dead_letter,
    connector_health.NOTIFICATIONS: notification_delivery.retry_dead_letter,
    connector_health.CONNECTOR: ledger.retry_dead_action,
}


def _problem_code(error: IsegoriaError) -> str:
    if isinstance(error, InvalidInput) and error.field == "scopes":
        return "scopes"  # none ticked: the page says to tick one
    if isinstance(error, Forbidden):
        return "password"
    if isinstance(error, NotFound | Conflict):
        return "gone"
    return "input"


def _operator_form(request: Request, principal: Any, csrf_token: str) -> int | HTMLResponse:
    """Check the form's token, that an operator sent it, and the operator's rate limit."""
    check_form_csrf(request, csrf_token)
    operator = operator_or_page(request, principal)
    if not isinstance(operator, HTMLResponse):
        ratelimit.check_api_request(request)
    return operator


def _staff(uow: UnitOfWork, operator: int) -> Account:
    return people.get_account(uow, operator)


def _shown_once(request: Request, what: str, platform: str, secret: str) -> HTMLResponse:
    context = {"what": what, "platform": platform, "secret": secret}
    return console(request, "staff/shown_once.html", "platforms", context)


def _on_platform(
    request: Request,
    uow: UnitOfWork,
    services: Any,
    principal: Any,
    form: tuple[int, str, str],
    act: Callable[[Platform, Account], T],
) -> tuple[T, str] | Response:
    """Check the form and the operator's password, then ``act`` on the platform at once.

    ``form`` is (platform id, CSRF token, current password). Returns what ``act`` returned
    and the platform's name, or the page to answer with (not an operator, a refusal).
    """
    platform_id, csrf_token, current_password = form
    operator = _operator_form(request, principal, csrf_token)
    if isinstance(operator, HTMLResponse):
        return operator
    try:
        reauth.confirm_password(request, services, principal, current_password or None)
        with uow.begin():
            platform = platforms.get_platform(uow, platform_id)
            done = act(platform, _staff(uow, operator))
            name = platform.name
    except IsegoriaError as error:
        return see_other(PLATFORMS_PAGE + "?problem=" + _problem_code(error))
    return done, name


def _scopes(chosen: list[str] | None) -> list[Scope]:
    """The ticked scopes, each once; none is a mistake the form names."""
    try:
        scopes = [Scope(s) for s in dict.fromkeys(chosen or [])]
    except ValueError:
        raise InvalidInput("unknown scope", field="scope") from None
    if not scopes:
        raise InvalidInput("tick at least one scope", field="scopes")
    return scopes


@router.post(PLATFORMS_PAGE + "/{platform_id}/keys", response_model=None)
def create_key(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    principal: PrincipalDep,
    platform_id: PlatformId,
    csrf_token: FormField = "",
    current_password: PasswordField = "",
    scopes: Annotated[list[str] | None, Form(max_length=64)] = None,
) -> Response:
    """Issue the platform one more key with the chosen scopes; shown once."""
    done = _on_platform(
        request,
        uow,
        services,
        principal,
        (platform_id, csrf_token, current_password),
        lambda platform, staff: platforms.issue_key(
            uow, platform, scopes=_scopes(scopes), staff=staff
        ),
    )
    if isinstance(done, Response):
        return done
    issued, name = done
    return _shown_once(request, "key", name, issued.key)


@router.post(PLATFORMS_PAGE + "/{platform_id}/keys/rotate", response_model=None)
def rotate_key(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    principal: PrincipalDep,
    platform_id: PlatformId,
    csrf_token: FormField = "",
    current_password: PasswordField = "",
) -> Response:
    """Issue a new key with the newest key's scopes and revoke the others; shown once."""
    done = _on_platform(
        request,
        uow,
        services,
        principal,
        (platform_id, csrf_token, current_password),
        lambda platform, staff: platforms.rotate_key(uow, platform, staff=staff),
    )
    if isinstance(done, Response):
        return done
    issued, name = done
    # After the commit: this process asks the database again for every key (revocations).
    services.key_cache.clear()
    return _shown_once(request, "key", name, issued.key)


def _revoke_once(uow: UnitOfWork, platform: Platform, key_id: int, staff: Account) -> None:
    """Revoke the key; a second press of the button is told it was already done."""
    if any(k.id == key_id and k.revoked_at is not None for k in platform.api_keys):
        # The service is idempotent (the API, the CLI); a person is told.
        raise Conflict("key %(key_id)s was already revoked", field="key_id", key_id=key_id)
    platforms.revoke_key(uow, platform, key_id, staff=staff)


@router.post(PLATFORMS_PAGE + "/{platform_id}/keys/{key_id}/revoke", response_model=None)
def revoke_key(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    principal: PrincipalDep,
    platform_id: PlatformId,
    key_id: KeyId,
    csrf_token: FormField = "",
    current_password: PasswordField = "",
) -> Response:
    """Revoke one of the platform's keys."""
    done = _on_platform(
        request,
        uow,
        services,
        principal,
        (platform_id, csrf_token, current_password),
        lambda platform, staff: _revoke_once(uow, platform, key_id, staff),
    )
    if isinstance(done, Response):
        return done
    services.key_cache.clear()
    return see_other(PLATFORMS_PAGE + "?done=revoked")


@router.post(PLATFORMS_PAGE + "/{platform_id}/webhook-secret", response_model=None)
def rotate_webhook_secret(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    principal: PrincipalDep,
    platform_id: PlatformId,
    csrf_token: FormField = "",
    current_password: PasswordField = "",
) -> Response:
    """Seal a new webhook signing secret for the platform; shown once, on this answer only."""
    done = _on_platform(
        request,
        uow,
        services,
        principal,
        (platform_id, csrf_token, current_password),
        lambda platform, staff: platforms.rotate_webhook_secret(
            uow, services.box, platform, staff=staff
        ),
    )
    if isinstance(done, Response):
        return done
    secret, name = done
    return _shown_once(request, "webhook", name, secret)


@router.post(CONNECTORS_PAGE + "/retry", response_model=None)
def retry_dead_letter(
    request: Request,
    uow: UnitOfWorkDep,
    principal: PrincipalDep,
    csrf_token: FormField = "",
    outbox: Annotated[str, Form(max_length=16)] = "",
    row: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Queue a dead letter of one of the outboxes again."""
    operator = _operator_form(request, principal, csrf_token)
    if isinstance(operator, HTMLResponse):
        return operator
    retry = RETRY.get(outbox)
    if retry is None or not (row.isascii() and row.isdigit()) or int(row) > 2**31 - 1:
        return see_other(CONNECTORS_PAGE + "?problem=input")
    try:
        with uow.begin():
            retry(uow, int(row), staff=_staff(uow, operator))
    except (InvalidInput, NotFound, Conflict, Forbidden) as error:
        return see_other(CONNECTORS_PAGE + "?problem=" + _problem_code(error))
    return see_other(CONNECTORS_PAGE + "?done=retried")
