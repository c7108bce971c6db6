"""The console's view of every link out of the instance: health, last sync, outboxes.

Read only. Matrix and Mastodon connectors poll and act on a platform's server; ActivityPub
delivers Flag outcomes; AT Protocol publishes labels that subscribers pull; and two outboxes
serve every platform: decisions by webhook, notifications by e-mail and Matrix. Each outbox
shows its depth, its rows being retried and its dead letters, which an operator may retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from isegoria.decisions.delivery import DEAD
from isegoria.store.models import Platform
from isegoria.store.models_cases import DecisionRow
from isegoria.store.models_connectors import ConnectorAction, PlatformConnector
from isegoria.store.models_federation import (
    ActivityDelivery,
    AtprotoLabel,
    FederatedFlag,
    LabelerIdentity,
)
from isegoria.store.models_notifications import NotificationDelivery
from isegoria.unit_of_work import UnitOfWork

#: A connector that has not polled for this long is stale: is a worker running?
STALE_AFTER = timedelta(hours=1)
DEAD_LIMIT = 50
#: The outboxes an operator can retry a dead letter of (the console's ``outbox`` field).
DECISIONS, ACTIVITYPUB, NOTIFICATIONS, CONNECTOR = (
    "decisions",
    "activitypub",
    "notifications",
    "connector",
)
OUTBOXES = (DECISIONS, ACTIVITYPUB, NOTIFICATIONS, CONNECTOR)
OK, FAILING, STALE, IDLE = "ok", "failing", "stale", "idle"


@dataclass(frozen=True)
class DeadLetter:
    """A row an outbox gave up on; ``row_id`` is what a retry names."""

    outbox: str
    row_id: int
    case_id: int | None
    attempts: int
    error: str | None


@dataclass(frozen=True)
class Outbox:
    """An outbox's state: rows waiting, rows being retried, dead letters."""

    outbox: str
    depth: int
    retrying: int
    dead: list[DeadLetter]


@dataclass(frozen=True)
class Link:
    """One link (a connector, a protocol) with its health and its outbox, if it has one."""

    kind: str  # matrix, mastodon, activitypub, atproto
    name: str
    health: str
    last_sync: datetime | None
    last_error: str | None
    outbox: Outbox | None
    detail: int = 0  # Flags received (ActivityPub), labels published (AT Protocol)


@dataclass(frozen=True)
class Connections:
    """The connectors page."""

    links: list[Link]
    decisions: Outbox
    notifications: Outbox


def _health(last_sync: datetime | None, error: str | None, now: datetime, outbox: Outbox) -> str:
    if error or outbox.dead:
        return FAILING
    if last_sync is None:
        return IDLE
    if now - last_sync > STALE_AFTER:
        return STALE
    return OK


def _connector_outbox(uow: UnitOfWork, connector_id: int) -> Outbox:
    rows = list(
        uow.session.execute(
            select(ConnectorAction, DecisionRow.case_id)
            .join(DecisionRow, DecisionRow.id == ConnectorAction.decision_id)
            .where(
                ConnectorAction.connector_id == connector_id, ConnectorAction.status != "applied"
            )
            .order_by(ConnectorAction.decision_id)
        ).tuples()
    )
    pending = [a for a, _ in rows if a.status == "pending"]
    dead = [
        DeadLetter(CONNECTOR, a.decision_id, case_id, a.attempts, a.last_error)
        for a, case_id in rows
        if a.status == DEAD
    ]
    return Outbox(CONNECTOR, len(pending), sum(1 for a in pending if a.attempts), dead[:DEAD_LIMIT])


def connector_links(uow: UnitOfWork) -> list[Link]:
    """The Matrix and Mastodon connectors, by platform name."""
    now = uow.now()
    links = []
    rows = uow.session.execute(
        select(PlatformConnector, Platform.name)
        .join(Platform, Platform.id == PlatformConnector.platform_id)
        .order_by(Platform.name)
    ).tuples()
    for connector, name in rows:
        outbox = _connector_outbox(uow, connector.id)
        health = _health(connector.last_polled_at, connector.last_error, now, outbox)
        links.append(
            Link(
                connector.kind, name, health, connector.last_polled_at, connector.last_error, outbox
            )
        )
    return links


def activitypub_link(uow: UnitOfWork) -> Link:
    """ActivityPub: Flags received, Flag outcomes delivered, retried and dead."""
    rows = list(
        uow.session.execute(
            select(ActivityDelivery, DecisionRow.case_id)
            .join(DecisionRow, DecisionRow.id == ActivityDelivery.decision_id)
            .where(ActivityDelivery.delivery != "delivered")
            .order_by(ActivityDelivery.id)
        ).tuples()
    )
    pending = [d for d, _ in rows if d.delivery == "pending"]
    dead = [
        DeadLetter(ACTIVITYPUB, d.id, case_id, d.attempts, d.error)
        for d, case_id in rows
        if d.delivery == DEAD
    ]
    outbox = Outbox(ACTIVITYPUB, len(pending), sum(1 for d in pending if d.attempts), dead)
    delivered = uow.session.scalar(select(func.max(ActivityDelivery.delivered_at)))
    received = uow.session.scalar(select(func.max(FederatedFlag.received_at)))
    flags = int(uow.session.scalar(select(func.count(FederatedFlag.id))) or 0)
    last = max((t for t in (delivered, received) if t is not None), default=None)
    health = FAILING if dead else (OK if last is not None else IDLE)
    error = next((d.error for d in pending if d.error), None)
    return Link("activitypub", "ActivityPub", health, last, error, outbox, flags)


def _label_time(cts: str | None) -> datetime | None:
    if cts is None:
        return None
    try:
        return datetime.fromisoformat(cts)
    except ValueError:
        return None


def atproto_link(uow: UnitOfWork) -> Link:
    """AT Protocol: the labeler's identity and the labels it serves (subscribers pull them)."""
    identity = uow.session.get(LabelerIdentity, 1)
    labels = int(uow.session.scalar(select(func.count(AtprotoLabel.id))) or 0)
    latest = uow.session.scalar(select(AtprotoLabel.cts).order_by(AtprotoLabel.id.desc()).limit(1))
    health = OK if identity is not None else IDLE
    return Link("atproto", "AT Protocol", health, _label_time(latest), None, None, labels)


def decision_outbox(uow: UnitOfWork) -> Outbox:
    """Decisions waiting for their webhook delivery, retried, or given up."""
    rows = list(
        uow.session.execute(
            select(
                DecisionRow.id,
                DecisionRow.case_id,
                DecisionRow.delivery,
                DecisionRow.delivery_attempts,
                DecisionRow.delivery_error,
            )
            .join(Platform, Platform.id == DecisionRow.platform_id)
            .where(
                (DecisionRow.delivery == DEAD)
                | ((DecisionRow.delivery == "pending") & Platform.webhook_url.is_not(None))
            )
            .order_by(DecisionRow.id)
        ).tuples()
    )
    pending = [r for r in rows if r[2] == "pending"]
    dead = [DeadLetter(DECISIONS, i, c, a, e) for i, c, state, a, e in rows if state == DEAD]
    return Outbox(DECISIONS, len(pending), sum(1 for r in pending if r[3]), dead[:DEAD_LIMIT])


def notification_outbox(uow: UnitOfWork) -> Outbox:
    """Notifications waiting to be sent by e-mail or Matrix, retried, or given up."""
    rows = list(
        uow.session.scalars(
            select(NotificationDelivery)
            .where(NotificationDelivery.status.in_(("pending", "sending", DEAD)))
            .order_by(NotificationDelivery.id)
        )
    )
    pending = [r for r in rows if r.status != DEAD]
    dead = [
        DeadLetter(NOTIFICATIONS, r.id, None, r.attempts, r.error) for r in rows if r.status == DEAD
    ]
    return Outbox(
        NOTIFICATIONS, len(pending), sum(1 for r in pending if r.attempts), dead[:DEAD_LIMIT]
    )


def connections(uow: UnitOfWork) -> Connections:
    """The whole connectors page, read in the caller's (read-only) transaction."""
    links = [*connector_links(uow), activitypub_link(uow), atproto_link(uow)]
    return Connections(links, decision_outbox(uow), notification_outbox(uow))
