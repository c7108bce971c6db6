"""The notification API: my notifications and my notification preferences."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from isegoria import i18n
from isegoria.domain.identity import Role
from isegoria.http.access import access, people
from isegoria.http.deps import PrincipalDep, UnitOfWorkDep
from isegoria.notifications import inbox
from isegoria.notifications.views import (
    InboxOut,
    PreferencesIn,
    PreferencesOut,
    notification_out,
    preferences_out,
)

router = APIRouter(tags=["notifications"])
CITIZEN = people(Role.CITIZEN)
LANGUAGES = tuple(i18n.LANGUAGES)
NotificationId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Notification number")]


@router.get("/me/notifications", response_model=InboxOut, **access(CITIZEN))
def my_notifications(principal: PrincipalDep, uow: UnitOfWorkDep) -> InboxOut:
    """My notifications (newest 50) in my interface language, and the unread count."""
    assert principal.account_id is not None  # noqa: S101 - the policy admits people only
    language = i18n.current_language()
    with uow.begin(readonly=True):
        items = [notification_out(n, language) for n in inbox.inbox(uow, principal.account_id)]
        unread = inbox.unread_count(uow, principal.account_id)
    return InboxOut(unread=unread, notifications=items)


@router.post("/me/notifications/{notification_id}/read", status_code=204, **access(CITIZEN))
def mark_read(
    notification_id: NotificationId, principal: PrincipalDep, uow: UnitOfWorkDep
) -> Response:
    """Mark one of my notifications as read."""
    assert principal.account_id is not None  # noqa: S101 - the policy admits people only
    with uow.begin():
        inbox.mark_read(uow, principal.account_id, notification_id)
    return Response(status_code=204)


@router.get("/me/notification-preferences", response_model=PreferencesOut, **access(CITIZEN))
def my_preferences(principal: PrincipalDep, uow: UnitOfWorkDep) -> PreferencesOut:
    """My channels and language."""
    assert principal.account_id is not None  # noqa: S101 - the policy admits people only
    with uow.begin(readonly=True):
        return preferences_out(inbox.preferences(uow, principal.account_id))


@router.put("/me/notification-preferences", response_model=PreferencesOut, **access(CITIZEN))
def put_preferences(
    body: PreferencesIn, principal: PrincipalDep, uow: UnitOfWorkDep
) -> PreferencesOut:
    """Choose my channels and language (a channel needs an address to be on)."""
    assert principal.account_id is not None  # noqa: S101 - the policy admits people only
    with uow.begin():
        row = inbox.save_preferences(
            uow, principal.account_id, languages=LANGUAGES, **body.model_dump()
        )
        return preferences_out(row)
