"""Platform compliance for the operator console: decisions sent, applied, late, not applied.

Read only. "Applied late" is a confirmation after the decision's ``apply_by``; "not applied"
is a platform saying it could not apply it, or no confirmation at all once ``apply_by`` passed
(the overdue list).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import defer

from isegoria.decisions.delivery import DEAD
from isegoria.domain.states import DecisionStatus
from isegoria.store.models import ApiKey, Platform
from isegoria.store.models_cases import DecisionRow
from isegoria.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class KeyView:
    """One API key as the console shows it: never the key, only its public prefix."""

    key_id: int
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class OverdueDecision:
    """A decision the platform has not confirmed although its time is up."""

    decision_id: int
    case_id: int | None
    kind: str
    issued_at: datetime
    apply_by: datetime


@dataclass(frozen=True)
class DeadDelivery:
    """A decision whose webhook delivery was given up."""

    decision_id: int
    case_id: int | None
    attempts: int
    error: str | None


@dataclass(frozen=True)
class PlatformCompliance:
    """One platform's record and its credentials' state."""

    platform_id: int
    name: str
    webhook_url: str | None
    secret_rotated_at: datetime | None
    sent: int
    applied: int
    applied_late: int
    not_applied: int
    waiting: int
    overdue: list[OverdueDecision]
    dead: list[DeadDelivery]
    keys: list[KeyView]

    @property
    def on_time(self) -> int:
        """Decisions applied within their time."""
        return self.applied - self.applied_late


def _keys(keys: list[ApiKey]) -> list[KeyView]:
    ordered = sorted(keys, key=lambda k: (k.revoked_at is not None, -k.id))
    return [
        KeyView(
            k.id,
            k.prefix,
            tuple(k.scopes.split(",")),
            k.created_at,
            k.revoked_at,
            k.last_used_at,
        )
        for k in ordered
    ]


def _one(platform: Platform, rows: list[DecisionRow], now: datetime) -> PlatformCompliance:
    applied = [r for r in rows if r.status == DecisionStatus.APPLIED]
    late = [r for r in applied if r.confirmed_at is not None and r.confirmed_at > r.apply_by]
    failed = [r for r in rows if r.status == DecisionStatus.FAILED]
    pending = [r for r in rows if r.status == DecisionStatus.PENDING]
    overdue = [r for r in pending if r.apply_by < now]
    return PlatformCompliance(
        platform_id=platform.id,
        name=platform.name,
        webhook_url=platform.webhook_url,
        secret_rotated_at=platform.webhook_secret_rotated_at,
        sent=len(rows),
        applied=len(applied),
        applied_late=len(late),
        not_applied=len(failed) + len(overdue),
        waiting=len(pending) - len(overdue),
        overdue=[
            OverdueDecision(r.id, r.case_id, r.kind, r.issued_at, r.apply_by) for r in overdue
        ],
        dead=[
            DeadDelivery(r.id, r.case_id, r.delivery_attempts, r.delivery_error)
            for r in rows
            if r.delivery == DEAD
        ],
        keys=_keys(list(platform.api_keys)),
    )


def compliance(uow: UnitOfWork) -> list[PlatformCompliance]:
    """Every platform's compliance record, by name."""
    now = uow.now()
    by_platform: dict[int, list[DecisionRow]] = {}
    query = select(DecisionRow).options(defer(DecisionRow.body)).order_by(DecisionRow.id)
    for row in uow.session.scalars(query):
        by_platform.setdefault(row.platform_id, []).append(row)
    return [
        _one(platform, by_platform.get(platform.id, []), now)
        for platform in uow.session.scalars(select(Platform).order_by(Platform.name))
    ]
