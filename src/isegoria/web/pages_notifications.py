"""The citizen's notification pages: inbox, preferences, and unsubscribe links."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from isegoria import i18n
from isegoria.errors import InvalidInput
from isegoria.http.deps import PrincipalDep, ServicesDep, UnitOfWorkDep
from isegoria.notifications import inbox, tokens
from isegoria.notifications.views import PreferencesOut, notification_out, preferences_out
from isegoria.web.pages import check_form_csrf, citizen_id, render

router = APIRouter(include_in_schema=False)
LANGUAGES = tuple(i18n.LANGUAGES)


def _citizen(principal: Any) -> int:
    return citizen_id(principal, i18n.gettext("Only citizens receive notifications."))


@router.get("/notifications", response_class=HTMLResponse)
def inbox_page(request: Request, uow: UnitOfWorkDep, principal: PrincipalDep) -> HTMLResponse:
    """My notifications, newest first, unread ones marked."""
    account = _citizen(principal)
    language = i18n.current_language()
    with uow.begin(readonly=True):
        items = [notification_out(n, language) for n in inbox.inbox(uow, account)]
        unread = inbox.unread_count(uow, account)
    return render(request, "notifications/inbox.html", {"items": items, "unread": unread})


@router.post("/notifications/read", response_model=None)
def read_page(
    request: Request,
    uow: UnitOfWorkDep,
    principal: PrincipalDep,
    csrf_token: Annotated[str, Form(max_length=256)] = "",
    notification: Annotated[str, Form(max_length=9)] = "",
) -> Response:
    """Mark one notification (or, without a number, all) as read."""
    check_form_csrf(request, csrf_token)
    account = _citizen(principal)
    if notification and not (notification.isascii() and notification.isdigit()):
        raise InvalidInput(i18n.gettext("Unknown notification."), field="notification")
    with uow.begin():
        inbox.mark_read(uow, account, int(notification) if notification else None)
    return RedirectResponse("/notifications", status_code=303)


@router.get("/notifications/preferences", response_class=HTMLResponse)
def preferences_page(
    request: Request, uow: UnitOfWorkDep, principal: PrincipalDep, saved: bool = False
) -> HTMLResponse:
    """Choose channels and language."""
    account = _citizen(principal)
    with uow.begin(readonly=True):
        prefs = preferences_out(inbox.preferences(uow, account))
    return render(request, "notifications/preferences.html", {"prefs": prefs, "saved": saved})


@router.post("/notifications/preferences", response_model=None)
def save_preferences_page(
    request: Request,
    uow: UnitOfWorkDep,
    principal: PrincipalDep,
    csrf_token: Annotated[str, Form(max_length=256)] = "",
    language: Annotated[str, Form(max_length=8)] = "en",
    email: Annotated[str, Form(max_length=320)] = "",
    email_on: Annotated[str, Form(max_length=8)] = "",
    matrix_id: Annotated[str, Form(max_length=255)] = "",
    matrix_on: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Store channels and language; a mistake re-renders the form with what was typed."""
    check_form_csrf(request, csrf_token)
    account = _citizen(principal)
    typed = PreferencesOut(
        language=language,
        email=email or None,
        email_on=bool(email_on),
        matrix_id=matrix_id or None,
        matrix_on=bool(matrix_on),
    )
    try:
        with uow.begin():
            inbox.save_preferences(uow, account, languages=LANGUAGES, **typed.model_dump())
    except InvalidInput as error:
        context = {"prefs": typed, "saved": False, "error": error}
        return render(request, "notifications/preferences.html", context, status=422)
    return RedirectResponse("/notifications/preferences?saved=true", status_code=303)


def _token_target(services: Any, token: str) -> tuple[int, str]:
    found = tokens.read_token(services.settings.secret_key, token)
    if found is None or found[1] not in inbox.CHANNELS:
        raise InvalidInput(i18n.gettext("This unsubscribe link is not valid."), field="token")
    return found


@router.get("/notifications/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(request: Request, services: ServicesDep, token: str = "") -> HTMLResponse:
    """Confirm turning one channel off (no login: the signed link is the permission)."""
    _account, channel = _token_target(services, token[:200])
    return render(
        request,
        "notifications/unsubscribe.html",
        {"token": token, "channel": channel, "done": False},
    )


@router.post("/notifications/unsubscribe", response_model=None)
def unsubscribe(
    request: Request,
    services: ServicesDep,
    uow: UnitOfWorkDep,
    token: str = "",
    form_token: Annotated[str, Form(alias="token", max_length=200)] = "",
) -> Response:
    """Turn the channel off: from the page's button, or a mail client's one-click POST."""
    account, channel = _token_target(services, (form_token or token)[:200])
    with uow.begin():
        inbox.unsubscribe(uow, account, channel)
    return render(
        request, "notifications/unsubscribe.html", {"token": "", "channel": channel, "done": True}
    )
