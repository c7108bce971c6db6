"""Staff: adding and removing operators and auditors, each step in the staff audit trail."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from isegoria.domain.identity import Role
from isegoria.errors import Conflict, InvalidInput
from isegoria.ops.staff_trail import Actor, record_staff_action
from isegoria.people.accounts import add_account
from isegoria.store.models import Account, WebSession
from isegoria.unit_of_work import UnitOfWork

STAFF_ROLES = (Role.OPERATOR, Role.AUDITOR)


def add_staff(
    uow: UnitOfWork,
    *,
    login: str,
    display_name: str,
    role: Role,
    password: str | None,
    actor: Actor | None = None,
) -> Account:
    """Add an operator or an auditor; they enrol a second factor at their first login."""
    if role not in STAFF_ROLES:
        raise InvalidInput("staff are operators or auditors", field="role")
    account = add_account(uow, login=login, display_name=display_name, role=role, password=password)
    record_staff_action(
        uow,
        actor,
        "staff.added",
        f"account:{account.id}",
        detail={"login": account.login, "role": role.value},
        public=True,
    )
    return account


def list_staff(uow: UnitOfWork) -> list[Account]:
    """Operators and auditors, enabled first, then by login."""
    roles = [role.value for role in STAFF_ROLES]
    query = select(Account).where(Account.role.in_(roles))
    return list(uow.session.scalars(query.order_by(Account.disabled, Account.login)))


def _enabled_operators(uow: UnitOfWork) -> int:
    query = select(func.count()).where(
        Account.role == Role.OPERATOR.value, Account.disabled.is_(False)
    )
    return int(uow.session.scalar(query) or 0)


def remove_staff(uow: UnitOfWork, account: Account, *, actor: Actor | None = None) -> Account:
    """Take a staff member's access away: the account is disabled and its sessions end.

    The row stays (the trail and the log name it); nobody removes themselves, and the last
    operator stays, or no one could add staff again from the browser.
    """
    if account.role not in {role.value for role in STAFF_ROLES}:
        raise InvalidInput("only operators and auditors are removed here", field="account")
    if account.disabled:
        raise Conflict("%(login)s was removed already", field="account", login=account.login)
    if actor is not None and actor.account_id == account.id:
        raise Conflict("you cannot remove yourself; ask another operator", field="account")
    if account.role == Role.OPERATOR.value and _enabled_operators(uow) <= 1:
        raise Conflict("the last operator cannot be removed", field="account")
    account.disabled = True
    uow.session.execute(delete(WebSession).where(WebSession.account_id == account.id))
    record_staff_action(
        uow,
        actor,
        "staff.removed",
        f"account:{account.id}",
        detail={"login": account.login, "role": account.role},
        public=True,
    )
    uow.session.flush()
    return account
