"""Sending notifications by e-mail and Matrix: claim, send outside any transaction, record.

Each pass claims due outbox rows in one short transaction (status ``sending`` with a lease),
sends each with no transaction open, then records the outcome in another. A crash between
the call and the record leaves the row ``sending``; when the lease runs out it is claimed
again and sent with the same idempotency key: the Matrix transaction id makes the
homeserver drop the repeat, and the e-mail keeps its Message-ID (SMTP itself cannot refuse a
repeat, so that one window may show a copy; docs/operators.md says so). A server that is down
means a retry with exponential backoff and jitter; after ``MAX_ATTEMPTS`` the row is dead,
listed for the operator. The inbox never waits for any of this.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import and_, or_, select

from isegoria.clock import Clock
from isegoria.config import Settings
from isegoria.errors import Conflict, NotFound
from isegoria.integrations import webhooks
from isegoria.integrations.matrix_client import SynapseAdminClient
from isegoria.notifications import mail, messages, tokens
from isegoria.notifications.inbox import EMAIL, MATRIX, PENDING, enabled_channels
from isegoria.ops.staff_trail import CONSOLE, account_actor, record_staff_action
from isegoria.people.platforms import require_operator
from isegoria.store.db import Database
from isegoria.store.models import Account
from isegoria.store.models_notifications import (
    Notification,
    NotificationDelivery,
    NotificationPreference,
)
from isegoria.unit_of_work import UnitOfWork

logger = logging.getLogger("isegoria.notifications")

SENDING, SENT, DEAD, SKIPPED = "sending", "sent", "dead", "skipped"
#: With pauses growing to 6 hours (webhooks' schedule), 20 attempts span a day or more.
MAX_ATTEMPTS = 20
BATCH = 50
LEASE = timedelta(minutes=5)
MAX_ERROR = 1000


class MatrixNotices(Protocol):
    """What the delivery needs of a homeserver: a server notice with a transaction id."""

    def server_notice(self, user_id: str, txn_id: str, content: dict[str, Any]) -> str:
        """Send ``content`` to ``user_id``; the same ``txn_id`` twice sends once."""
        ...


@dataclass(frozen=True)
class Channels:
    """The external channels this instance can send on, and what links point at."""

    public_url: str
    secret: bytes
    smtp: mail.SmtpSettings | None = None
    matrix: MatrixNotices | None = None

    def configured(self) -> list[str]:
        """The channels with a server to send through."""
        return [c for c, on in ((EMAIL, self.smtp), (MATRIX, self.matrix)) if on is not None]


@dataclass(frozen=True)
class Outgoing:
    """One claimed row, with everything needed to send it and no database open."""

    delivery_id: int
    notification_id: int
    channel: str
    address: str | None
    language: str
    subject: str
    body: str
    unsubscribe_url: str


@dataclass(frozen=True)
class SendRound:
    """What one pass did."""

    sent: int
    retried: int
    dead: int
    skipped: int


def _claim(uow: UnitOfWork, channels: list[str]) -> list[int]:
    now = uow.now()
    query = (
        select(NotificationDelivery)
        .where(
            NotificationDelivery.channel.in_(channels),
            or_(
                and_(
                    NotificationDelivery.status == PENDING,
                    or_(
                        NotificationDelivery.next_attempt_at.is_(None),
                        NotificationDelivery.next_attempt_at <= now,
                    ),
                ),
                and_(
                    NotificationDelivery.status == SENDING,
                    NotificationDelivery.claimed_until < now,
                ),
            ),
        )
        .order_by(NotificationDelivery.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    claimed = []
    for row in uow.session.scalars(query):
        row.status, row.claimed_until = SENDING, now + LEASE
        claimed.append(row.id)
    return claimed


def _outgoing(uow: UnitOfWork, channels: Channels, delivery_id: int) -> Outgoing | None:
    row = uow.session.get(NotificationDelivery, delivery_id)
    if row is None:
        return None
    note = uow.session.get(Notification, row.notification_id)
    preference = uow.session.get(NotificationPreference, note.account_id) if note else None
    if note is None or preference is None:
        return None
    on = row.channel in enabled_channels(preference)
    address = preference.email if row.channel == EMAIL else preference.matrix_id
    language = preference.language
    words = messages.render(note.kind, json.loads(note.params), language)
    base = channels.public_url.rstrip("/")
    token = tokens.unsubscribe_token(channels.secret, note.account_id, row.channel)
    unsubscribe_url = f"{base}/notifications/unsubscribe?token={token}"
    body = "\n\n".join(
        [
            words.body,
            messages.translate(messages.FOOTER, language) % {"link": base + note.link},
            messages.translate(messages.UNSUBSCRIBE, language) % {"link": unsubscribe_url},
        ]
    )
    return Outgoing(
        row.id,
        note.id,
        row.channel,
        address if on else None,
        language,
        words.subject,
        body,
        unsubscribe_url,
    )


def _send(channels: Channels, out: Outgoing) -> None:
    """The network call: no transaction is open while it runs."""
    assert out.address is not None  # noqa: S101 - skipped rows never get here
    if out.channel == EMAIL:
        assert channels.smtp is not None  # noqa: S101 - claimed only when configured
        message = mail.compose(
            channels.smtp,
            notification_id=out.notification_id,
            to=out.address,
            subject=out.subject,
            body=out.body,
            language=out.language,
            unsubscribe_url=out.unsubscribe_url,
        )
        mail.send(channels.smtp, message)
    else:
        assert channels.matrix is not None  # noqa: S101 - claimed only when configured
        content = {"msgtype": "m.text", "body": f"{out.subject}\n\n{out.body}"}
        # The homeserver drops a repeat of a transaction id per access token: a resend of this
        # notice is dropped, and the digest keeps another instance's notice of the same number
        # (a second instance, a restored database, on the same admin token) from being dropped.
        digest = hashlib.sha256(
            f"{out.notification_id}\n{out.address}\n{content['body']}".encode()
        ).hexdigest()[:32]
        channels.matrix.server_notice(
            out.address, f"isegoria-notification-{out.notification_id}-{digest}", content
        )


def _record(
    uow: UnitOfWork, delivery_id: int, error: str | None, rng: random.Random, *, skipped: bool
) -> str:
    row = uow.session.get(NotificationDelivery, delivery_id)
    if row is None:
        return DEAD
    row.claimed_until = None
    if skipped:
        row.status = SKIPPED
    elif error is None:
        row.status, row.sent_at, row.error = SENT, uow.now(), None
        row.attempts += 1
    else:
        row.attempts += 1
        row.error = error[:MAX_ERROR]
        if row.attempts >= MAX_ATTEMPTS:
            row.status = DEAD
            logger.warning("notification delivery %s is a dead letter: %s", row.id, error)
        else:
            row.status = PENDING
            delay = webhooks.next_attempt_delay(row.attempts, jitter_rng=rng)
            row.next_attempt_at = uow.now() + timedelta(seconds=delay)
            return "retried"
    return row.status


def deliver_due(
    database: Database, clock: Clock, channels: Channels, *, rng: random.Random | None = None
) -> SendRound:
    """Send what is due on the configured channels; each outcome commits on its own."""
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    configured = channels.configured()
    if not configured:
        return SendRound(0, 0, 0, 0)
    uow = UnitOfWork(database, clock)
    with uow.begin():
        claimed = _claim(uow, configured)
    counts = {SENT: 0, "retried": 0, DEAD: 0, SKIPPED: 0}
    for delivery_id in claimed:
        with uow.begin(readonly=True):
            out = _outgoing(uow, channels, delivery_id)
        error: str | None = None
        skipped = out is None or out.address is None
        if out is not None and not skipped:
            try:
                _send(channels, out)
            except Exception as failure:  # noqa: BLE001 - any failure is a retry, recorded
                error = f"{type(failure).__name__}: {failure}"
        with uow.begin():
            outcome = _record(uow, delivery_id, error, rng, skipped=skipped)
        counts[outcome] = counts.get(outcome, 0) + 1
    return SendRound(counts[SENT], counts["retried"], counts[DEAD], counts[SKIPPED])


def dead_letters(uow: UnitOfWork) -> list[NotificationDelivery]:
    """Deliveries given up on, for the operator."""
    query = select(NotificationDelivery).where(NotificationDelivery.status == DEAD)
    return list(uow.session.scalars(query.order_by(NotificationDelivery.id)))


def retry_dead_letter(uow: UnitOfWork, delivery_id: int, *, staff: Account) -> NotificationDelivery:
    """An operator sends a dead notification again (after fixing the mail or Matrix set-up)."""
    require_operator(staff)
    row = uow.session.get(NotificationDelivery, delivery_id, with_for_update=True)
    if row is None:
        raise NotFound(
            "no notification delivery %(delivery_id)s", field="delivery_id", delivery_id=delivery_id
        )
    if row.status != DEAD:
        raise Conflict(
            "notification delivery %(delivery_id)s is not a dead letter (%(status)s)",
            delivery_id=delivery_id,
            status=row.status,
        )
    row.status, row.attempts, row.next_attempt_at, row.claimed_until = PENDING, 0, None, None
    record_staff_action(
        uow, account_actor(staff, CONSOLE), "dead_letter.retried", f"notification:{delivery_id}"
    )
    return row


class NotificationSender:
    """Sends due notifications every few seconds, in a thread of ``serve`` or ``worker``."""

    def __init__(
        self, database: Database, clock: Clock, channels: Channels, *, poll_seconds: float = 2.0
    ) -> None:
        self.database, self.clock, self.channels = database, clock, channels
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()

    def run_forever(self) -> None:
        """Send until stopped; a failed pass is logged, never fatal."""
        while not self.stopping.is_set():
            try:
                deliver_due(self.database, self.clock, self.channels)
            except Exception:  # noqa: BLE001 - the loop must outlive a bad pass
                logger.exception("sending notifications failed")
            self.stopping.wait(self.poll_seconds)

    def start_thread(self) -> threading.Thread:
        """Run the loop in a daemon thread."""
        thread = threading.Thread(target=self.run_forever, name="isegoria-notify", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Ask the loop to end after the current pass."""
        self.stopping.set()


def channels_from(settings: Settings) -> Channels:
    """The channels ``settings`` configure (none: the inbox alone)."""
    smtp_url = settings.smtp_url.get_secret_value() if settings.smtp_url else ""
    matrix: MatrixNotices | None = None
    if settings.matrix_notify_url and settings.matrix_notify_token:
        # Guarded like every outbound call: a private homeserver needs the operator's consent.
        matrix = SynapseAdminClient(
            settings.matrix_notify_url,
            settings.matrix_notify_token.get_secret_value(),
            allow_private=settings.webhook_allow_private,
        )
    return Channels(
        public_url=settings.effective_public_url,
        secret=settings.secret_key,
        smtp=mail.smtp_settings(smtp_url, settings.mail_from),
        matrix=matrix,
    )


def start_worker(database: Database, clock: Clock, settings: Settings) -> NotificationSender | None:
    """Start the sending thread when a channel is configured."""
    channels = channels_from(settings)
    if not channels.configured():
        return None
    sender = NotificationSender(database, clock, channels)
    sender.start_thread()
    return sender
