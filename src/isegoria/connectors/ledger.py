"""The adapters' ledger of applied decisions, kept in the ``connector_actions`` table.

An adapter talks to its server outside any database transaction (a slow homeserver must not
hold isegoria's write lock), so this ledger reads committed rows on demand and buffers what
the adapter records; ``flush`` writes the buffer in the caller's transaction, together with
the decision's confirmation. A crash between the server call and that commit loses the
buffer: the next attempt applies again, and the adapters' state checks make that a no-op.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from isegoria.errors import Conflict, NotFound
from isegoria.integrations.matrix_mapping import AppliedResult
from isegoria.ops.staff_trail import CONSOLE, account_actor, record_staff_action
from isegoria.people.platforms import require_operator
from isegoria.store.db import Database
from isegoria.store.models import Account
from isegoria.store.models_connectors import ConnectorAction
from isegoria.unit_of_work import UnitOfWork

APPLIED, PENDING, DEAD = "applied", "pending", "dead"


def result_to_json(result: AppliedResult) -> str:
    """An ``AppliedResult`` as stored JSON."""
    return json.dumps(
        {
            "decision_id": result.decision_id,
            "status": result.status,
            "actions": list(result.actions),
            "unchanged": list(result.unchanged),
            "irreversible": list(result.irreversible),
            "reason": result.reason,
            "subject": result.subject,
            "ends_at": result.ends_at.isoformat() if result.ends_at else None,
            "created": dict(result.created),
            "manual": list(result.manual),
            "sanction": result.sanction,
        },
        sort_keys=True,
        ensure_ascii=False,
    )


def result_from_json(text: str) -> AppliedResult:
    """Inverse of ``result_to_json``."""
    data: dict[str, Any] = json.loads(text)
    ends = data.get("ends_at")
    return AppliedResult(
        decision_id=int(data["decision_id"]),
        status=data["status"],
        actions=tuple(data.get("actions", ())),
        unchanged=tuple(data.get("unchanged", ())),
        irreversible=tuple(data.get("irreversible", ())),
        reason=str(data.get("reason", "")),
        subject=str(data.get("subject", "")),
        ends_at=datetime.fromisoformat(ends) if ends else None,
        created=dict(data.get("created", {})),
        manual=tuple(data.get("manual", ())),
        sanction=str(data.get("sanction", "")),
    )


class DatabaseLedger:
    """An ``AppliedLedger`` over ``connector_actions`` for one connector."""

    def __init__(self, database: Database, connector_id: int) -> None:
        self._database = database
        self._connector_id = connector_id
        self._put: dict[int, AppliedResult] = {}
        self._lifted: set[int] = set()

    def _read(self, decision_id: int) -> ConnectorAction | None:
        with self._database.session(readonly=True) as session:
            return session.get(ConnectorAction, decision_id)

    def get(self, decision_id: int) -> AppliedResult | None:
        """The result of a decision applied successfully before, if any."""
        if decision_id in self._put:
            return self._put[decision_id]
        row = self._read(decision_id)
        if row is None or row.status != APPLIED or row.result is None:
            return None
        if row.connector_id != self._connector_id:
            return None
        return result_from_json(row.result)

    def put(self, result: AppliedResult) -> None:
        """Remember a successful result (written by ``flush``)."""
        self._put[result.decision_id] = result

    def expiring(self, now: datetime) -> list[AppliedResult]:
        """Timed measures past their end and not lifted yet, soonest first."""
        with self._database.session(readonly=True) as session:
            rows = session.scalars(
                select(ConnectorAction)
                .where(
                    ConnectorAction.connector_id == self._connector_id,
                    ConnectorAction.status == APPLIED,
                    ConnectorAction.ends_at.is_not(None),
                    ConnectorAction.ends_at <= now,
                    ConnectorAction.lifted_at.is_(None),
                )
                .order_by(ConnectorAction.ends_at, ConnectorAction.decision_id)
            ).all()
            results = [result_from_json(r.result) for r in rows if r.result is not None]
        return [r for r in results if r.decision_id not in self._lifted]

    def mark_lifted(self, decision_id: int) -> None:
        """Record that a timed measure was lifted (written by ``flush``)."""
        self._lifted.add(decision_id)

    @property
    def lifted(self) -> frozenset[int]:
        """Decisions marked lifted since the last flush."""
        return frozenset(self._lifted)

    def flush(self, uow: UnitOfWork) -> None:
        """Write what the adapter recorded, in the caller's transaction, and clear the buffer."""
        now = uow.now()
        for decision_id, result in self._put.items():
            row = action_row(uow, decision_id, self._connector_id)
            row.status, row.result = APPLIED, result_to_json(result)
            row.ends_at, row.last_error, row.next_attempt_at = result.ends_at, None, None
        for decision_id in self._lifted:
            lifted = uow.session.get(ConnectorAction, decision_id)
            if lifted is not None and lifted.lifted_at is None:
                lifted.lifted_at = now
        self._put.clear()
        self._lifted.clear()


def action_row(uow: UnitOfWork, decision_id: int, connector_id: int) -> ConnectorAction:
    """The decision's row in ``connector_actions``, locked; created pending if missing."""
    row = uow.session.get(ConnectorAction, decision_id, with_for_update=True)
    if row is None:
        row = ConnectorAction(
            decision_id=decision_id, connector_id=connector_id, status=PENDING, attempts=0
        )
        uow.session.add(row)
        uow.session.flush()
    return row


def dead_actions(uow: UnitOfWork, connector_id: int | None = None) -> list[ConnectorAction]:
    """Decisions a connector gave up applying, for the operator."""
    query = select(ConnectorAction).where(ConnectorAction.status == DEAD)
    if connector_id is not None:
        query = query.where(ConnectorAction.connector_id == connector_id)
    return list(uow.session.scalars(query.order_by(ConnectorAction.decision_id)))


def retry_dead_action(uow: UnitOfWork, decision_id: int, *, staff: Account) -> ConnectorAction:
    """An operator has a connector try a dead action again, with all its attempts."""
    require_operator(staff)
    row = uow.session.get(ConnectorAction, decision_id, with_for_update=True)
    if row is None:
        raise NotFound(
            "no connector action for decision %(decision_id)s",
            field="decision_id",
            decision_id=decision_id,
        )
    if row.status != DEAD:
        raise Conflict(
            "the action on decision %(decision_id)s is not a dead letter (%(status)s)",
            decision_id=decision_id,
            status=row.status,
        )
    row.status, row.attempts, row.next_attempt_at = PENDING, 0, None
    record_staff_action(
        uow, account_actor(staff, CONSOLE), "dead_letter.retried", f"connector_action:{decision_id}"
    )
    return row


__all__ = [
    "APPLIED",
    "DEAD",
    "PENDING",
    "DatabaseLedger",
    "action_row",
    "dead_actions",
    "result_from_json",
    "result_to_json",
    "retry_dead_action",
]
