"""The staff audit trail: every action of an operator, recorded where the action happens.

The services that act for staff (platforms, their keys and webhooks, connectors, dead
letters, second-factor resets, staff accounts, the log's key) call ``record_staff_action``
in their own transaction, so the CLI, the API and the console all leave the same row. The
actions that change what the public deals with are also appended to the transparency log.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from isegoria.domain.staff_events import StaffActionTaken
from isegoria.errors import InvalidInput
from isegoria.store.models import Account
from isegoria.store.models_staff import StaffAction
from isegoria.unit_of_work import UnitOfWork

CONSOLE = "console"
API = "api"
CLI = "cli"
SYSTEM = "system"
MAX_DETAIL = 2000
PAGE = 100


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in staff account (console, API), or the instance's shell."""

    login: str
    via: str
    account_id: int | None = None
    role: str = "operator"


def cli_actor() -> Actor:
    """The person at the server's shell, named by their system user (no account signs in)."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no name for this uid (a container): still recorded
        user = "unknown"
    return Actor(login=f"cli:{user}"[:120], via=CLI, role="shell")


def account_actor(account: Account, via: str) -> Actor:
    """A staff account acting through ``via`` (the console, the API)."""
    return Actor(login=account.login, via=via, account_id=account.id, role=account.role)


#: The instance acting on its own behalf: the demo world's builder, tests of the services.
INSTANCE = Actor(login=SYSTEM, via=SYSTEM, role=SYSTEM)


def record_staff_action(
    uow: UnitOfWork,
    actor: Actor | None,
    action: str,
    subject: str,
    *,
    detail: Mapping[str, object] | None = None,
    public: bool = False,
) -> StaffAction:
    """Add one row to the trail; ``public`` also logs it (no login, only role and subject)."""
    who = actor or INSTANCE
    row = StaffAction(
        at=uow.now(),
        actor_account_id=who.account_id,
        actor=who.login[:120],
        via=who.via,
        action=action,
        subject=subject[:120],
        detail=json.dumps(dict(detail or {}), sort_keys=True, default=str)[:MAX_DETAIL],
    )
    uow.session.add(row)
    uow.session.flush()
    if public:
        appended = uow.log.append(
            StaffActionTaken(
                trail_id=row.id, action=action, subject=row.subject, actor_role=who.role
            )
        )
        row.log_index = appended.index
    return row


@dataclass(frozen=True)
class TrailEntry:
    """One row of the trail as auditors read it."""

    id: int
    at: datetime
    actor: str
    via: str
    action: str
    subject: str
    detail: dict[str, object]
    log_index: int | None


def _entry(row: StaffAction) -> TrailEntry:
    try:
        detail = json.loads(row.detail) if row.detail else {}
    except ValueError:  # cut at MAX_DETAIL: shown as text rather than lost
        detail = {"text": row.detail}
    return TrailEntry(
        row.id, row.at, row.actor, row.via, row.action, row.subject, detail, row.log_index
    )


def staff_trail(
    uow: UnitOfWork, *, before: int | None = None, action: str | None = None, limit: int = PAGE
) -> list[TrailEntry]:
    """The newest actions first, a page at a time (``before`` an id), optionally of one kind."""
    if not 1 <= limit <= PAGE:
        raise InvalidInput("a page holds 1 to %(page)s actions", field="limit", page=PAGE)
    query = select(StaffAction).order_by(StaffAction.id.desc()).limit(limit)
    if before is not None:
        query = query.where(StaffAction.id < before)
    if action:
        query = query.where(StaffAction.action == action)
    return [_entry(row) for row in uow.session.scalars(query)]
