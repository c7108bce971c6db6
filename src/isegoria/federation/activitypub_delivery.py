"""The ActivityPub outbox: Flag outcomes signed and POSTed to the reporting servers' inboxes.

Rows are written with the decision (federation/decisions.py); this worker sends
them at least once: each row is claimed in a short transaction (a lease on its next
attempt), POSTed with no transaction open, and its outcome recorded in another, so a slow
inbox blocks no write; a crash between the POST and the record sends it again when the lease
runs out. Each attempt is signed afresh (HTTP Signatures carry a Date that the
receiver checks against its clock), but the activity is the same every time: its ``id`` is
derived from the row, so a receiver that sees it twice can drop the duplicate. Outcomes
for the same Flag go out in order. Failures back off exponentially with jitter, as the
webhook outbox does, and after ``MAX_ATTEMPTS`` the row is a dead letter.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, replace
from datetime import timedelta

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from isegoria.clock import Clock
from isegoria.config import Settings
from isegoria.decisions.delivery import DEAD, DeliveryWorker, dead_letter
from isegoria.decisions.outbox import DELIVERED, LEASE, MAX_ERROR, PENDING, DeliveryRound
from isegoria.domain.decisions import Decision
from isegoria.errors import InvalidInput
from isegoria.integrations import egress, webhooks
from isegoria.integrations.activitypub import FlagReport, build_flag_outcome, signed_delivery
from isegoria.integrations.federation_identity import actor_key, actor_urls
from isegoria.ops.staff_trail import CONSOLE, Actor, account_actor, record_staff_action
from isegoria.people.platforms import require_operator
from isegoria.store.db import Database
from isegoria.store.models import Account
from isegoria.store.models_cases import DecisionRow
from isegoria.store.models_federation import ActivityDelivery, FederatedFlag
from isegoria.unit_of_work import UnitOfWork

__all__ = [
    "ActivityDeliveryWorker",
    "activity_for",
    "deliver_due",
    "outcomes",
    "requeue",
    "retry_dead_letter",
    "start_worker",
]

logger = logging.getLogger("isegoria.activitypub")

MAX_ATTEMPTS = webhooks.MAX_ATTEMPTS
BATCH = 50
TIMEOUT_SECONDS = webhooks.DEFAULT_TIMEOUT_SECONDS


def activity_for(
    delivery: ActivityDelivery, flag: FederatedFlag, decision_row: DecisionRow, public_url: str
) -> dict[str, object]:
    """The ``Create``/``Note`` for one delivery row (the same on every attempt)."""
    base = public_url.rstrip("/")
    decision = Decision.from_dict(json.loads(decision_row.body))
    if decision.statement_url.startswith("/"):  # stored relative to the instance
        decision = replace(decision, statement_url=base + decision.statement_url)
    report = FlagReport(
        flag_id=flag.flag_id, actor=flag.actor, account=None, posts=(flag.post_uri,), content=""
    )
    actor, _, _ = actor_urls(base)
    return build_flag_outcome(
        report,
        decision,
        instance_actor=actor,
        activity_id=f"{base}/ap/outcomes/{delivery.id}",
        published=delivery.created_at,
    )


def _due(uow: UnitOfWork) -> list[int]:
    now = uow.now()
    earlier = ActivityDelivery.__table__.alias("earlier")
    blocked = (
        select(earlier.c.id)
        .where(
            earlier.c.flag_row_id == ActivityDelivery.flag_row_id,
            earlier.c.id < ActivityDelivery.id,
            earlier.c.delivery != DELIVERED,
        )
        .exists()
    )
    return list(
        uow.session.scalars(
            select(ActivityDelivery.id)
            .where(
                ActivityDelivery.delivery == PENDING,
                (ActivityDelivery.next_attempt_at.is_(None))
                | (ActivityDelivery.next_attempt_at <= now),
                ~blocked,
            )
            .order_by(ActivityDelivery.id)
            .limit(BATCH)
        )
    )


def _attempt(
    client: httpx.Client, inbox: str, body: bytes, headers: dict[str, str], timeout: float
) -> webhooks.DeliveryResult:
    try:
        response = client.post(inbox, content=body, headers=headers, timeout=timeout)
    except egress.EgressRefused as exc:  # a forbidden address stays forbidden: dead letter
        return webhooks.DeliveryResult(webhooks.DeliveryOutcome.PERMANENT, error=str(exc))
    except httpx.TimeoutException:
        return webhooks.DeliveryResult(webhooks.DeliveryOutcome.RETRY, error="timed out")
    except httpx.TransportError as exc:
        return webhooks.DeliveryResult(
            webhooks.DeliveryOutcome.RETRY, error=f"connection failed: {type(exc).__name__}"
        )
    status = response.status_code
    if 200 <= status < 300:
        return webhooks.DeliveryResult(webhooks.DeliveryOutcome.DELIVERED, status_code=status)
    excerpt = f"HTTP {status}: {response.text[: webhooks.MAX_ERROR_EXCERPT]}"
    if status in (401, 429) or status >= 500:
        # 401 is retried too: the receiver may still hold a stale copy of our key.
        return webhooks.DeliveryResult(webhooks.DeliveryOutcome.RETRY, status, excerpt)
    return webhooks.DeliveryResult(webhooks.DeliveryOutcome.PERMANENT, status, excerpt)


@dataclass(frozen=True)
class _Claimed:
    """One Flag outcome claimed for delivery, read before the database closes."""

    delivery_id: int
    inbox: str
    activity: dict[str, object]


def _claim(uow: UnitOfWork, delivery_id: int, public_url: str) -> _Claimed | None:
    """Lease one due row (its next attempt moves ``LEASE`` ahead) and build its activity."""
    row = uow.session.get(ActivityDelivery, delivery_id, with_for_update=True)
    now = uow.now()
    if row is None or row.delivery != PENDING:
        return None  # another worker got it
    if row.next_attempt_at is not None and row.next_attempt_at > now:
        return None  # another worker holds the lease
    flag = uow.session.get(FederatedFlag, row.flag_row_id)
    decision = uow.session.get(DecisionRow, row.decision_id)
    assert flag is not None and decision is not None  # noqa: S101 - foreign keys
    row.next_attempt_at = now + LEASE
    return _Claimed(row.id, row.inbox, activity_for(row, flag, decision, public_url))


def _record(
    uow: UnitOfWork, delivery_id: int, result: webhooks.DeliveryResult, rng: random.Random
) -> str:
    """Write one attempt's outcome: delivered, a dead letter, or the next try's time."""
    row = uow.session.get(ActivityDelivery, delivery_id, with_for_update=True)
    if row is None or row.delivery != PENDING:
        return "skipped"  # recorded meanwhile by a worker that took over an expired lease
    row.attempts += 1
    if result.delivered:
        row.delivery, row.delivered_at, row.error = DELIVERED, uow.now(), None
        row.next_attempt_at = None
        return DELIVERED
    if result.outcome is webhooks.DeliveryOutcome.PERMANENT or row.attempts >= MAX_ATTEMPTS:
        row.delivery, row.error = DEAD, result.error[:MAX_ERROR]
        logger.warning("Flag outcome %s is a dead letter: %s", row.id, result.error)
        return DEAD
    delay = webhooks.next_attempt_delay(row.attempts, jitter_rng=rng)
    row.next_attempt_at = uow.now() + timedelta(seconds=delay)
    row.error = result.error[:MAX_ERROR]
    return "retry"


def deliver_due(
    database: Database,
    clock: Clock,
    *,
    public_url: str,
    key: rsa.RSAPrivateKey,
    client: httpx.Client,
    rng: random.Random | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> DeliveryRound:
    """Send the Flag outcomes that are due: per row, claim, POST with no transaction, record."""
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    _, key_id, _ = actor_urls(public_url)
    uow = UnitOfWork(database, clock)
    with uow.begin(readonly=True):
        due = _due(uow)
    outcomes: list[str] = []
    for delivery_id in due:
        with uow.begin():
            claimed = _claim(uow, delivery_id, public_url)
        if claimed is None:
            continue
        # Signed at the moment of sending (the receiver checks the Date), with no
        # transaction open: a slow inbox holds no lock anyone else waits for.
        body, headers = signed_delivery(
            claimed.activity, claimed.inbox, key_id=key_id, private_key=key, now=clock.now()
        )
        result = _attempt(client, claimed.inbox, body, headers, timeout)
        with uow.begin():
            outcomes.append(_record(uow, claimed.delivery_id, result, rng))
    return DeliveryRound(outcomes.count(DELIVERED), outcomes.count("retry"), outcomes.count(DEAD))


def outcomes(
    uow: UnitOfWork, *, state: str | None = None, limit: int = 100
) -> list[ActivityDelivery]:
    """Flag-outcome deliveries, newest first (``state``: pending, delivered or dead)."""
    query = select(ActivityDelivery).order_by(ActivityDelivery.id.desc()).limit(limit)
    if state is not None:
        if state not in (PENDING, DELIVERED, DEAD):
            raise InvalidInput(
                "state is pending, delivered or dead, not %(state)s",
                field="state",
                state=repr(state),
            )
        query = query.where(ActivityDelivery.delivery == state)
    return list(uow.session.scalars(query))


def requeue(uow: UnitOfWork, delivery_id: int, *, actor: Actor | None = None) -> ActivityDelivery:
    """Put a dead Flag outcome back in the queue (after the remote server was fixed)."""
    row = dead_letter(
        uow.session.get(ActivityDelivery, delivery_id),
        "Flag-outcome delivery",
        delivery_id,
        "delivery_id",
    )
    row.delivery, row.attempts, row.next_attempt_at = PENDING, 0, None
    record_staff_action(uow, actor, "dead_letter.retried", f"flag_outcome:{row.id}")
    return row


def retry_dead_letter(uow: UnitOfWork, delivery_id: int, *, staff: Account) -> ActivityDelivery:
    """An operator sends a dead Flag outcome again, with all its attempts."""
    require_operator(staff)
    return requeue(uow, delivery_id, actor=account_actor(staff, CONSOLE))


class ActivityDeliveryWorker(DeliveryWorker):
    """Sends due Flag outcomes every few seconds, in a thread of ``serve`` or ``worker``."""

    thread_name = "isegoria-activitypub"
    failure = "delivering Flag outcomes failed"
    logger = logger

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        public_url: str,
        key: rsa.RSAPrivateKey,
        poll_seconds: float = 2.0,
        allow_private: bool = False,
    ) -> None:
        super().__init__(poll_seconds=poll_seconds, allow_private=allow_private)
        self.database, self.clock = database, clock
        self.public_url, self.key = public_url, key

    def deliver(self, client: httpx.Client) -> DeliveryRound:
        """One pass over the due Flag outcomes."""
        return deliver_due(
            self.database, self.clock, public_url=self.public_url, key=self.key, client=client
        )


def start_worker(database: Database, clock: Clock, settings: Settings) -> ActivityDeliveryWorker:
    """Start delivering Flag outcomes in a thread, with the instance actor's key."""
    worker = ActivityDeliveryWorker(
        database,
        clock,
        public_url=settings.effective_public_url,
        key=actor_key(settings.activitypub_key_path),
        allow_private=settings.webhook_allow_private,
    )
    worker.start_thread()
    return worker
