"""Writing notifications (in the caller's transaction) and reading a citizen's inbox.

``notify`` adds the inbox row and one outbox row per external channel the citizen turned on,
in the transaction of the event that caused it: the notification exists if and only if the
event committed, and nothing is sent from here (the delivery loop sends, outside any
transaction). ``notify_electors`` does the same for a whole electorate in two statements.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, literal, select, update

from isegoria.errors import InvalidInput, NotFound
from isegoria.store.models import Elector
from isegoria.store.models_notifications import (
    Notification,
    NotificationDelivery,
    NotificationPreference,
)
from isegoria.unit_of_work import UnitOfWork

EMAIL, MATRIX = "email", "matrix"
CHANNELS = (EMAIL, MATRIX)
PENDING = "pending"
PAGE = 50
MAX_EMAIL = 320
MAX_MATRIX_ID = 255


def _params(params: dict[str, Any]) -> str:
    return json.dumps(
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in params.items()},
        sort_keys=True,
    )


def notify(
    uow: UnitOfWork, account_id: int, kind: str, key: str, params: dict[str, Any], link: str
) -> Notification | None:
    """Tell one citizen about an event; None if they were already told (same key)."""
    found = uow.session.scalar(
        select(Notification.id).where(
            Notification.account_id == account_id, Notification.key == key
        )
    )
    if found is not None:
        return None
    row = Notification(
        account_id=account_id,
        key=key,
        kind=kind,
        params=_params(params),
        link=link,
        created_at=uow.now(),
    )
    uow.session.add(row)
    uow.session.flush()
    preference = uow.session.get(NotificationPreference, account_id)
    if preference is not None:
        for channel in enabled_channels(preference):
            uow.session.add(
                NotificationDelivery(notification_id=row.id, channel=channel, status=PENDING)
            )
    return row


def enabled_channels(preference: NotificationPreference) -> list[str]:
    """The external channels a citizen turned on and gave an address for."""
    channels = []
    if preference.email_on and preference.email:
        channels.append(EMAIL)
    if preference.matrix_on and preference.matrix_id:
        channels.append(MATRIX)
    return channels


def notify_electors(
    uow: UnitOfWork, proposal_id: int, kind: str, key: str, params: dict[str, Any], link: str
) -> None:
    """Tell every elector of a proposal, in two statements whatever the electorate's size."""
    already = select(Notification.account_id).where(Notification.key == key)
    table = cast(Table, Notification.__table__)
    uow.session.execute(
        insert(table).from_select(
            ["account_id", "key", "kind", "params", "link", "created_at"],
            select(
                Elector.account_id,
                literal(key),
                literal(kind),
                literal(_params(params)),
                literal(link),
                literal(uow.now(), Notification.created_at.type),
            ).where(Elector.proposal_id == proposal_id, Elector.account_id.not_in(already)),
        )
    )
    for channel, on, address in (
        (EMAIL, NotificationPreference.email_on, NotificationPreference.email),
        (MATRIX, NotificationPreference.matrix_on, NotificationPreference.matrix_id),
    ):
        uow.session.execute(
            insert(cast(Table, NotificationDelivery.__table__)).from_select(
                ["notification_id", "channel", "status", "attempts"],
                select(Notification.id, literal(channel), literal(PENDING), literal(0))
                .join(
                    NotificationPreference,
                    NotificationPreference.account_id == Notification.account_id,
                )
                .where(Notification.key == key, on.is_(True), address.is_not(None)),
            )
        )


def inbox(uow: UnitOfWork, account_id: int, *, limit: int = PAGE) -> list[Notification]:
    """A citizen's notifications, newest first."""
    query = (
        select(Notification)
        .where(Notification.account_id == account_id)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    return list(uow.session.scalars(query))


def unread_count(uow: UnitOfWork, account_id: int) -> int:
    """How many of a citizen's notifications they have not read."""
    query = select(func.count()).where(
        Notification.account_id == account_id, Notification.read_at.is_(None)
    )
    return int(uow.session.scalar(query) or 0)


def mark_read(uow: UnitOfWork, account_id: int, notification_id: int | None = None) -> int:
    """Mark one notification (or all) as read; only the citizen's own."""
    query = update(Notification).where(
        Notification.account_id == account_id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        mine = uow.session.scalar(
            select(Notification.id).where(
                Notification.id == notification_id, Notification.account_id == account_id
            )
        )
        if mine is None:
            raise NotFound(
                "no notification %(notification_id)s",
                field="notification_id",
                notification_id=notification_id,
            )
        query = query.where(Notification.id == notification_id)
    result = uow.session.execute(query.values(read_at=uow.now()))
    return int(getattr(result, "rowcount", 0) or 0)


def preferences(uow: UnitOfWork, account_id: int) -> NotificationPreference:
    """A citizen's preferences (defaults, unsaved, if they never chose)."""
    found = uow.session.get(NotificationPreference, account_id)
    if found is not None:
        return found
    return NotificationPreference(
        account_id=account_id,
        language="en",
        email=None,
        email_on=False,
        matrix_id=None,
        matrix_on=False,
        updated_at=uow.now(),
    )


def _checked_email(email: str | None) -> str | None:
    email = (email or "").strip() or None
    if email is not None and (
        len(email) > MAX_EMAIL or email.count("@") != 1 or any(c in email for c in " \r\n<>,;")
    ):
        raise InvalidInput("give an e-mail address like name@example.org", field="email")
    return email


def _checked_matrix(matrix_id: str | None) -> str | None:
    matrix_id = (matrix_id or "").strip() or None
    if matrix_id is not None and (
        len(matrix_id) > MAX_MATRIX_ID
        or not matrix_id.startswith("@")
        or ":" not in matrix_id
        or any(c.isspace() for c in matrix_id)
    ):
        raise InvalidInput("give a Matrix ID like @name:example.org", field="matrix_id")
    return matrix_id


def save_preferences(
    uow: UnitOfWork,
    account_id: int,
    *,
    language: str,
    email: str | None,
    email_on: bool,
    matrix_id: str | None,
    matrix_on: bool,
    languages: tuple[str, ...],
) -> NotificationPreference:
    """Store a citizen's channels and language (a channel needs an address to be on)."""
    if language not in languages:
        raise InvalidInput(
            "language must be one of %(values)s", field="language", values=", ".join(languages)
        )
    email, matrix_id = _checked_email(email), _checked_matrix(matrix_id)
    if email_on and email is None:
        raise InvalidInput("give an e-mail address to receive e-mail", field="email")
    if matrix_on and matrix_id is None:
        raise InvalidInput("give a Matrix ID to receive Matrix messages", field="matrix_id")
    row = uow.session.get(NotificationPreference, account_id)
    if row is None:
        row = NotificationPreference(account_id=account_id)
        uow.session.add(row)
    row.language, row.email, row.email_on = language, email, email_on
    row.matrix_id, row.matrix_on, row.updated_at = matrix_id, matrix_on, uow.now()
    return row


def unsubscribe(uow: UnitOfWork, account_id: int, channel: str) -> None:
    """Turn one channel off (from a signed link; no login needed)."""
    row = uow.session.get(NotificationPreference, account_id)
    if row is None:
        return
    if channel == EMAIL:
        row.email_on = False
    elif channel == MATRIX:
        row.matrix_on = False
    row.updated_at = uow.now()
