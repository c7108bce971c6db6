"""What a citizen reads of their notifications: one notification in their language, and
their channels (shared by the pages and the API)."""

from __future__ import annotations

import json

from pydantic import BaseModel, Field

from isegoria.notifications import messages
from isegoria.store.models_notifications import Notification, NotificationPreference


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


def notification_out(note: Notification, language: str) -> NotificationOut:
    """One notification as its reader sees it."""
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


def preferences_out(row: NotificationPreference) -> PreferencesOut:
    """A citizen's channels and language, as stored."""
    return PreferencesOut(
        language=row.language,
        email=row.email,
        email_on=row.email_on,
        matrix_id=row.matrix_id,
        matrix_on=row.matrix_on,
    )
