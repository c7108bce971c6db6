"""The transactional outbox: decisions written with their verdict, delivered by the worker.

A decision row is created in the same transaction as the verdict that causes it, so a
decision exists if and only if its cause committed. The worker delivers due rows to the
platform's webhook (signed; the decision id is the idempotency key), at least once, in three
steps per row: claim it in a short transaction (its next attempt moves ``LEASE`` ahead, so no
other pass takes it), POST with no transaction open (a slow receiver blocks no write), then
record the outcome in another short transaction. A crash after the POST but before the record
leaves the lease to run out: the row is sent again with the same id and the receiver drops
the duplicate. Decisions about the same post go out in order: a
row waits while an earlier one about the same content is undelivered (a dead letter blocks
its subject until an operator requeues it). Failures back off exponentially with jitter;
after ``MAX_ATTEMPTS`` the row is a dead letter, listed for the operator."""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import and_, select

from isegoria.clock import Clock
from isegoria.decisions.delivery import DEAD, DeliveryWorker, dead_letter
from isegoria.integrations import webhooks
from isegoria.ops.staff_trail import CONSOLE, Actor, account_actor, record_staff_action
from isegoria.people import platforms
from isegoria.security import SecretBox
from isegoria.store.db import Database
from isegoria.store.models import Account, Platform
from isegoria.store.models_cases import DecisionRow
from isegoria.unit_of_work import UnitOfWork

logger = logging.getLogger("isegoria.outbox")

PENDING, DELIVERED = "pending", "delivered"
MAX_ATTEMPTS = webhooks.MAX_ATTEMPTS
BATCH = 50
MAX_ERROR = 1000
#: A claimed row is not due again for this long: far more than one attempt's timeout, so a
#: row is retried by another pass only when the worker that claimed it died mid-call.
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class DeliveryRound:
    """What one pass over the outbox did."""

    delivered: int
    retried: int
    dead: int


def _due(uow: UnitOfWork) -> list[tuple[DecisionRow, Platform]]:
    """Deliverable rows: pending, due, with a webhook, and first undelivered of their subject."""
    now = uow.now()
    earlier = DecisionRow.__table__.alias("earlier")
    blocked = (
        select(earlier.c.id)
        .where(
            earlier.c.platform_id == DecisionRow.platform_id,
            earlier.c.platform_content_id == DecisionRow.platform_content_id,
            earlier.c.id < DecisionRow.id,
            earlier.c.delivery != DELIVERED,
        )
        .exists()
    )
    query = (
        select(DecisionRow, Platform)
        .join(Platform, Platform.id == DecisionRow.platform_id)
        .where(
            DecisionRow.delivery == PENDING,
            Platform.webhook_url.is_not(None),
            and_((DecisionRow.next_delivery_at.is_(None)) | (DecisionRow.next_delivery_at <= now)),
            ~blocked,
        )
        .order_by(DecisionRow.id)
        .limit(BATCH)
    )
    return list(uow.session.execute(query).tuples())


@dataclass(frozen=True)
class Claimed:
    """One decision claimed for delivery: all the call needs, read before the database closes."""

    decision_id: int
    url: str
    secrets: list[str]  # current first, then the previous one in its grace
    event: str
    body: bytes


def _claim(uow: UnitOfWork, box: SecretBox, decision_id: int, platform_id: int) -> Claimed | None:
    """Lease one due row (its next attempt moves ``LEASE`` ahead) and read what to send."""
    row = uow.session.get(DecisionRow, decision_id, with_for_update=True)
    platform = uow.session.get(Platform, platform_id)
    now = uow.now()
    if row is None or platform is None or row.delivery != PENDING:
        return None  # another worker got it
    if platform.webhook_url is None or (
        row.next_delivery_at is not None and row.next_delivery_at > now
    ):
        return None  # the webhook was removed, or another worker holds the lease
    row.next_delivery_at = now + LEASE
    body = json.dumps(
        json.loads(row.body), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode()
    secrets = platforms.webhook_signing_secrets(box, platform, now)
    return Claimed(row.id, platform.webhook_url, secrets, f"decision.{row.kind}", body)


def record_attempt(
    uow: UnitOfWork, decision_id: int, result: webhooks.DeliveryResult, rng: random.Random
) -> str:
    """Write one attempt's outcome: delivered, a dead letter, or the next try's time."""
    row = uow.session.get(DecisionRow, decision_id, with_for_update=True)
    if row is None or row.delivery != PENDING:
        return "skipped"  # recorded meanwhile by a worker that took over an expired lease
    row.delivery_attempts += 1
    if result.delivered:
        row.delivery, row.delivered_at, row.delivery_error = DELIVERED, uow.now(), None
        row.next_delivery_at = None
        return DELIVERED
    if (
        result.outcome is webhooks.DeliveryOutcome.PERMANENT
        or row.delivery_attempts >= MAX_ATTEMPTS
    ):
        row.delivery, row.delivery_error = DEAD, result.error[:MAX_ERROR]
        logger.warning("decision %s is a dead letter: %s", row.id, result.error)
        return DEAD
    delay = webhooks.next_attempt_delay(
        row.delivery_attempts, jitter_rng=rng, retry_after=result.retry_after
    )
    row.next_delivery_at = uow.now() + timedelta(seconds=delay)
    row.delivery_error = result.error[:MAX_ERROR]
    return "retry"


def deliver_due(
    database: Database,
    clock: Clock,
    box: SecretBox,
    *,
    client: httpx.Client,
    rng: random.Random | None = None,
    timeout: float = webhooks.DEFAULT_TIMEOUT_SECONDS,
) -> DeliveryRound:
    """Deliver what is due: per row, claim, POST with no transaction open, record."""
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    uow = UnitOfWork(database, clock)
    with uow.begin(readonly=True):
        due = [(row.id, platform.id) for row, platform in _due(uow)]
    outcomes: list[str] = []
    for decision_id, platform_id in due:
        with uow.begin():
            claimed = _claim(uow, box, decision_id, platform_id)
        if claimed is None:
            continue
        # No transaction is open here: a slow receiver holds no lock anyone else waits for.
        current, *previous = claimed.secrets
        result = webhooks.deliver_body(
            claimed.url,
            current,
            delivery_id=str(claimed.decision_id),
            event=claimed.event,
            body=claimed.body,
            client=client,
            timeout=timeout,
            now=clock.now(),
            also_signed_with=previous,
        )
        with uow.begin():
            outcomes.append(record_attempt(uow, claimed.decision_id, result, rng))
    return DeliveryRound(outcomes.count(DELIVERED), outcomes.count("retry"), outcomes.count(DEAD))


def dead_letters(uow: UnitOfWork, platform_id: int | None = None) -> list[DecisionRow]:
    """Decisions the worker gave up delivering, for the operator to look at."""
    query = select(DecisionRow).where(DecisionRow.delivery == DEAD).order_by(DecisionRow.id)
    if platform_id is not None:
        query = query.where(DecisionRow.platform_id == platform_id)
    return list(uow.session.scalars(query))


def requeue(uow: UnitOfWork, decision_id: int, *, actor: Actor | None = None) -> DecisionRow:
    """Put a dead letter back in the queue (after the platform fixed its receiver)."""
    row = dead_letter(
        uow.session.get(DecisionRow, decision_id), "decision", decision_id, "decision_id"
    )
    row.delivery, row.delivery_attempts, row.next_delivery_at = PENDING, 0, None
    detail = {"platform_id": row.platform_id}
    record_staff_action(uow, actor, "dead_letter.retried", f"decision:{row.id}", detail=detail)
    return row


def retry_dead_letter(uow: UnitOfWork, decision_id: int, *, staff: Account) -> DecisionRow:
    """An operator sends a dead letter again: it is queued afresh, with all its attempts."""
    platforms.require_operator(staff)
    return requeue(uow, decision_id, actor=account_actor(staff, CONSOLE))


class OutboxWorker(DeliveryWorker):
    """Delivers due decisions every few seconds, in a thread of ``serve`` or ``worker``."""

    thread_name = "isegoria-outbox"
    failure = "delivering decisions failed"
    logger = logger

    def __init__(
        self,
        database: Database,
        clock: Clock,
        box: SecretBox,
        *,
        poll_seconds: float = 2.0,
        allow_private: bool = False,
    ) -> None:
        super().__init__(poll_seconds=poll_seconds, allow_private=allow_private)
        self.database, self.clock, self.box = database, clock, box

    def deliver(self, client: httpx.Client) -> DeliveryRound:
        """One pass over the due decisions."""
        return deliver_due(self.database, self.clock, self.box, client=client)
