"""Decisions out through connectors: applied on the platform's server, then confirmed.

For a platform with a connector, isegoria itself plays the platform's part: each pending
decision is applied through the adapter and confirmed with the same service a platform
calls (``cases_decisions.confirm``), so the ``DecisionConfirmed`` log entry and the
compliance figures follow. Like the webhook outbox: at least once, ordered per subject (a
decision waits while an earlier one about the same content is unconfirmed), exponential
backoff with jitter between attempts, and after ``MAX_ATTEMPTS`` the decision is confirmed
as ``failed`` with the last reason. Each attempt is claimed in a short transaction (a lease
on the decision's ``connector_actions`` row), made with no transaction open, and recorded
in another. Suspensions that run out are lifted by ``lift_expired``.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from sqlalchemy import select

from isegoria.clock import Clock
from isegoria.connectors import setup as connectors
from isegoria.connectors.ledger import DEAD, PENDING, DatabaseLedger, action_row
from isegoria.connectors.sync import MastodonFactory, SynapseFactory
from isegoria.decisions import lifecycle as cases_decisions
from isegoria.domain.connector_events import MeasureExpired
from isegoria.domain.decisions import Decision
from isegoria.domain.states import DecisionStatus
from isegoria.integrations import webhooks
from isegoria.integrations.mastodon import MastodonAdapter, mastodon_client
from isegoria.integrations.matrix import MatrixAdapter
from isegoria.integrations.matrix_client import SynapseAdminClient
from isegoria.integrations.matrix_mapping import AppliedResult
from isegoria.log.signing import LogSigner
from isegoria.security import SecretBox
from isegoria.store.db import Database
from isegoria.store.models_cases import DecisionRow
from isegoria.store.models_connectors import ConnectorAction, PlatformConnector
from isegoria.unit_of_work import UnitOfWork

logger = logging.getLogger("isegoria.connectors")

#: The same patience as the webhook outbox (integrations/webhooks.py).
MAX_ATTEMPTS = webhooks.MAX_ATTEMPTS
BATCH = 50
MAX_REASON = cases_decisions.MAX_FAILURE_REASON
#: A claimed decision is not due again for this long (far more than one attempt takes), so
#: two workers never apply it at once; a worker that dies mid-call leaves it to the next.
LEASE = timedelta(minutes=5)
#: How often ``serve`` and ``worker`` apply due decisions and lift expired suspensions.
APPLY_INTERVAL_SECONDS = 5.0


class Adapter(Protocol):
    """What both adapters offer for decisions out."""

    def apply(self, decision: Decision) -> AppliedResult:
        """Perform a decision; idempotent."""
        ...

    def lift_expired(self, now: datetime) -> list[AppliedResult]:
        """Lift timed measures that ran out."""
        ...


@dataclass(frozen=True)
class ApplyRound:
    """What one pass over the connected platforms' decisions did."""

    applied: int = 0
    retried: int = 0
    failed: int = 0


@dataclass(frozen=True)
class _Target:
    connector_id: int
    kind: str
    base_url: str
    token: str


def _due(uow: UnitOfWork) -> list[tuple[int, int]]:
    """(decision id, connector id) of pending decisions that may be attempted now."""
    earlier = DecisionRow.__table__.alias("earlier")
    blocked = (
        select(earlier.c.id)
        .where(
            earlier.c.platform_id == DecisionRow.platform_id,
            earlier.c.platform_content_id == DecisionRow.platform_content_id,
            earlier.c.id < DecisionRow.id,
            earlier.c.status == DecisionStatus.PENDING,
        )
        .exists()
    )
    now = uow.now()
    query = (
        select(DecisionRow.id, PlatformConnector.id)
        .join(PlatformConnector, PlatformConnector.platform_id == DecisionRow.platform_id)
        .outerjoin(ConnectorAction, ConnectorAction.decision_id == DecisionRow.id)
        .where(
            DecisionRow.status == DecisionStatus.PENDING,
            ConnectorAction.decision_id.is_(None)
            | (
                (ConnectorAction.status == PENDING)
                & (
                    ConnectorAction.next_attempt_at.is_(None)
                    | (ConnectorAction.next_attempt_at <= now)
                )
            ),
            ~blocked,
        )
        .order_by(DecisionRow.id)
        .limit(BATCH)
    )
    return [(int(d), int(c)) for d, c in uow.session.execute(query).tuples()]


@contextmanager
def adapter_for(
    uow: UnitOfWork,
    connector_id: int,
    ledger: DatabaseLedger,
    *,
    synapse: SynapseFactory | None = None,
    mastodon: MastodonFactory | None = None,
    allow_private: bool = False,
) -> Iterator[Adapter]:
    """The connector's adapter, with its persistent ledger (reads in a short transaction).

    ``allow_private``: the operator lets connectors reach private addresses (the setting
    ISEGORIA_WEBHOOK_ALLOW_PRIVATE); otherwise the server's URL passes the outbound guard."""
    box = SecretBox(uow.secret)
    with uow.begin(readonly=True):
        connector = connectors.get_connector(uow, connector_id)
        names = connectors.pseudonyms(uow.secret, connector)
        token = connectors.admin_token(box, connector)
        base_url = connector.base_url
        kind = connector.kind
        if kind == connectors.MASTODON:
            config = connectors.mastodon_config(connector, box)
        else:
            matrix = connectors.matrix_config(connector)
    if kind == connectors.MASTODON:
        # Made after the transaction: the outbound guard resolves the server's name (DNS).
        api = (mastodon or partial(mastodon_client, allow_private=allow_private))(base_url, token)
        yield MastodonAdapter(api, config, names, ledger, clock=uow.now)
    elif synapse is not None:
        yield MatrixAdapter(synapse(base_url, token), matrix, names, ledger)
    else:
        with SynapseAdminClient(base_url, token, allow_private=allow_private) as client:
            yield MatrixAdapter(client, matrix, names, ledger)


def apply_due(
    database: Database,
    clock: Clock,
    signer: LogSigner | None,
    secret: bytes,
    *,
    synapse: SynapseFactory | None = None,
    mastodon: MastodonFactory | None = None,
    rng: random.Random | None = None,
    public_url: str = "",
    allow_private: bool = False,
) -> ApplyRound:
    """Apply what is due on the connected servers; each outcome commits on its own.

    ``public_url`` makes the statement's link absolute in what the user is sent.
    """
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    uow = UnitOfWork(database, clock, signer, secret)
    with uow.begin(readonly=True):
        due = _due(uow)
    applied = retried = failed = 0
    for decision_id, connector_id in due:
        with uow.begin():
            claimed = _claim(uow, decision_id, connector_id)
        if claimed is None:
            continue  # confirmed meanwhile, or another worker holds the lease
        decision = claimed
        if public_url and decision.statement_url.startswith("/"):
            # The user reads the statement on the platform: a path alone leads nowhere.
            decision = replace(
                decision, statement_url=public_url.rstrip("/") + decision.statement_url
            )
        ledger = DatabaseLedger(database, connector_id)
        try:
            with adapter_for(
                uow,
                connector_id,
                ledger,
                synapse=synapse,
                mastodon=mastodon,
                allow_private=allow_private,
            ) as adapter:
                result = adapter.apply(decision)
        except Exception as error:  # noqa: BLE001 - a network error is one failed attempt
            result = AppliedResult(decision_id, "failed", reason=f"{type(error).__name__}: {error}")
        outcome = _record(uow, connector_id, decision_id, result, ledger, rng)
        applied += outcome == "applied"
        retried += outcome == "retry"
        failed += outcome == "failed"
    return ApplyRound(applied, retried, failed)


def _claim(uow: UnitOfWork, decision_id: int, connector_id: int) -> Decision | None:
    """Lease one due decision (its next attempt moves ``LEASE`` ahead) and read it."""
    row = uow.session.get(DecisionRow, decision_id, with_for_update=True)
    if row is None or row.status != DecisionStatus.PENDING:
        return None
    action = action_row(uow, decision_id, connector_id)
    now = uow.now()
    if action.status != PENDING or (
        action.next_attempt_at is not None and action.next_attempt_at > now
    ):
        return None
    action.next_attempt_at = now + LEASE
    return Decision.from_dict(json.loads(row.body))


def _record(
    uow: UnitOfWork,
    connector_id: int,
    decision_id: int,
    result: AppliedResult,
    ledger: DatabaseLedger,
    rng: random.Random,
) -> str:
    with uow.begin():
        row = uow.session.get(DecisionRow, decision_id, with_for_update=True)
        if row is None or row.status != DecisionStatus.PENDING:
            return "skipped"  # confirmed meanwhile (by the platform or another worker)
        action = action_row(uow, decision_id, connector_id)
        action.attempts += 1
        if result.ok:
            ledger.flush(uow)
            cases_decisions.confirm(
                uow, platform_id=row.platform_id, decision_id=row.id, applied=True, reason=None
            )
            return "applied"
        reason = (result.reason or "the adapter could not apply the decision")[:MAX_REASON]
        action.last_error = reason
        if action.attempts >= MAX_ATTEMPTS:
            action.status, action.next_attempt_at = DEAD, None
            cases_decisions.confirm(
                uow, platform_id=row.platform_id, decision_id=row.id, applied=False, reason=reason
            )
            logger.warning("decision %s could not be applied: %s", decision_id, reason)
            return "failed"
        delay = webhooks.next_attempt_delay(action.attempts, jitter_rng=rng)
        action.next_attempt_at = uow.now() + timedelta(seconds=delay)
        return "retry"


def lift_expired(
    database: Database,
    clock: Clock,
    signer: LogSigner | None,
    secret: bytes,
    *,
    synapse: SynapseFactory | None = None,
    mastodon: MastodonFactory | None = None,
    allow_private: bool = False,
) -> list[AppliedResult]:
    """Lift suspensions whose days have run out on every connected server, and log it."""
    uow = UnitOfWork(database, clock, signer, secret)
    with uow.begin(readonly=True):
        ids = [c.id for c in connectors.list_connectors(uow)]
    lifted: list[AppliedResult] = []
    for connector_id in ids:
        ledger = DatabaseLedger(database, connector_id)
        try:
            with adapter_for(
                uow,
                connector_id,
                ledger,
                synapse=synapse,
                mastodon=mastodon,
                allow_private=allow_private,
            ) as adapter:
                lifted.extend(r for r in adapter.lift_expired(uow.now()) if r.ok)
        except Exception as error:  # noqa: BLE001 - retried at the next pass
            logger.warning(
                "lifting expired measures on connector %s failed: %s", connector_id, error
            )
        done = ledger.lifted
        if done:
            with uow.begin():
                ledger.flush(uow)  # what was lifted before an error stays lifted
                for decision_id in sorted(done):
                    row = uow.session.get(DecisionRow, decision_id)
                    assert row is not None  # noqa: S101 - the ledger's foreign key
                    uow.log.append(
                        MeasureExpired(
                            decision_id=row.id, case_id=row.case_id, platform_id=row.platform_id
                        )
                    )
    return lifted


def run_connectors(
    database: Database,
    clock: Clock,
    signer: LogSigner | None,
    secret: bytes,
    *,
    public_url: str = "",
    allow_private: bool = False,
) -> None:
    """One pass of the periodic upkeep: apply due decisions, then lift expired measures."""
    apply_due(database, clock, signer, secret, public_url=public_url, allow_private=allow_private)
    lift_expired(database, clock, signer, secret, allow_private=allow_private)


__all__ = [
    "APPLY_INTERVAL_SECONDS",
    "MAX_ATTEMPTS",
    "ApplyRound",
    "adapter_for",
    "apply_due",
    "lift_expired",
    "run_connectors",
]
