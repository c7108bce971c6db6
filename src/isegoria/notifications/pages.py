"""The citizen's side of notifications: inbox, preferences, and unsubscribe links, on pages
and in the API (``/api/v1/me/notifications``, ``/api/v1/me/notification-preferences``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from isegoria import i18n
from isegoria.api.access import access, people
from isegoria.api.deps import PrincipalDep, ServicesDep, UnitOfWorkDep
from isegoria.domain.identity import Role
from isegoria.errors import InvalidInput
from isegoria.notifications import inbox, messages, tokens
from isegoria.store.models_notifications import Notification, NotificationPreference
from isegoria.web.pages import check_form_csrf, citizen_id, render

router = APIRouter(include_in_schema=False)
api = APIRouter(tags=["notifications"])
CITIZEN = people(Role.CITIZEN)
LANGUAGES = tuple(i18n.LANGUAGES)
NotificationId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Notification number")]


class NotificationOut(BaseModel):
    """One notification, in the reader's language."""

    id: int
    kind: str
    subject: str
    body: str
    link: str
    created_at: str
    read: bool


class InboxOut(BaseModel):
    """My notifications, newest first, and how many are unread."""

    unread: int
    notifications: list[NotificationOut]


class PreferencesIn(BaseModel):
    """My channels and language."""

    language: str = Field(default="en", max_length=8)
    email: str | None = Field(default=None, max_length=320)
    email_on: bool = False
    matrix_id: str | None = Field(default=None, max_length=255)
    matrix_on: bool = False


class PreferencesOut(PreferencesIn):
    """My channels and language, as stored."""


def _out(note: Notification, language: str) -> NotificationOut:
    words = messages.render(note.kind, json.loads(note.params), language)
    return NotificationOut(
        id=note.id,
        kind=note.kind,
        subject=words.subject,
        body=words.body,
        link=note.link,
        created_at=messages.format_when(note.created_at, language),
        read=note.read_at is not None,
    )


def _prefs_out(row: NotificationPreference) -> PreferencesOut:
    return PreferencesOut(
        language=row.language,
        email=row.email,
        email_on=row.email_on,
        matrix_id=row.matrix_id,
        matrix_on=row.matrix_on,
    )


def _citizen(principal: Any) -> int:
    return citizen_id(principal, i18n.gettext("Only citizens receive notifications."))


@router.get("/notifications", response_class=HTMLResponse)
def inbox_page(request: Request, uow: UnitOfWorkDep, principal: PrincipalDep) -> HTMLResponse:
    """My notifications, newest first, unread ones marked."""
    account = _citizen(principal)
    language = i18n.current_language()
    with uow.begin(readonly=True):
        items = [_out(n, language) for n in inbox.inbox(uow, account)]
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
        prefs = _prefs_out(inbox.preferences(uow, account))
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


@api.get("/me/notifications", response_model=InboxOut, **access(CITIZEN))
def my_notifications(principal: PrincipalDep, uow: UnitOfWorkDep) -> InboxOut:
    """My notifications (newest 50) in my interface language, and the unread count."""
    assert principal.account_id is not None  # noqa: S101 - the policy admits people only
    language = i18n.current_language()
    with uow.begin(readonly=True):
        items = [_out(n, language) for n in inbox.inbox(uow, principal.account_id)]
        unread = inbox.unread_count(uow, principal.account_id)
    return InboxOut(unread=unread, notifications=items)


@api.post("/me/notifications/{notification_id}/read", status_code=204, **access(CITIZEN))
def mark_read(
    notification_id: NotificationId, principal: PrincipalDep, uow: UnitOfWorkDep
) -> Response:
    """Mark one of my notifications as read."""
    assert principal.account_id is not None  # noqa: S101 - the policy admits people only
    with uow.begin():
        inbox.mark_read(uow, principal.account_id, notification_id)
    return Response(status_code=204)


@api.get("/me/notification-preferences", response_model=PreferencesOut, **access(CITIZEN))
def my_preferences(principal: PrincipalDep, uow: UnitOfWorkDep) -> PreferencesOut:
    """My channels and language."""
    assert principal.account_id is not None  # noqa: S101 - the policy admits people only
    with uow.begin(readonly=True):
        return _prefs_out(inbox.preferences(uow, principal.account_id))


@api.put("/me/notification-preferences", response_model=PreferencesOut, **access(CITIZEN))
def put_preferences(
    body: PreferencesIn, principal: PrincipalDep, uow: UnitOfWorkDep
) -> PreferencesOut:
    """Choose my channels and language (a channel needs an address to be on)."""
    assert principal.account_id is not None  # noqa: S101 - the policy admits people only
    with uow.begin():
        row = inbox.save_preferences(
            uow, principal.account_id, languages=LANGUAGES, **body.model_dump()
        )
        return _prefs_out(row)
