"""Browser sessions: a random token in a cookie, its digest and a CSRF token in the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select

from isegoria.identity.mfa import must_have_factor
from isegoria.security import new_token, token_digest
from isegoria.store.models import Account, WebSession
from isegoria.unit_of_work import UnitOfWork

# A session waiting for its second factor is short-lived: the code is typed within minutes.
PENDING_HOURS = 0.25
# A staff session's last request is written at most this often (one write a minute, not one
# per request); the idle limit is therefore honoured to within a minute.
TOUCH_EVERY = timedelta(seconds=60)


def start_session(
    uow: UnitOfWork,
    account: Account,
    *,
    hours: float,
    factor: str | None = "password",
    factor_id: int | None = None,
) -> tuple[str, WebSession]:
    """Open a new session for ``account``; returns the cookie token and the row.

    ``factor`` says how it was verified; None opens a session that awaits its second factor
    and speaks for no one until then (identity/mfa.py).
    """
    token = new_token()
    now = uow.now()
    row = WebSession(
        token_hash=token_digest(token),
        account_id=account.id,
        csrf_token=new_token(),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
        factor=factor,
        factor_id=factor_id,
    )
    uow.session.add(row)
    # Expired sessions of anyone are swept here, so the table cannot grow without bound.
    uow.session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return token, row


@dataclass(frozen=True)
class SessionCaller:
    """Who a live session cookie speaks for: what a request needs to know of its caller."""

    account_id: int
    login: str
    display_name: str
    role: str
    csrf_token: str
    expires_at: datetime
    # Set for staff sessions whose last request should be written now (idle tracking).
    touch: bool = False


# The first request of every session (and every one after the credential cache forgets it)
# runs this: built once with a bound value, so its cache key is computed once per process.
_CALLER = (
    select(
        WebSession.csrf_token,
        WebSession.expires_at,
        Account.id,
        Account.login,
        Account.display_name,
        Account.role,
        Account.disabled,
        WebSession.factor,
        WebSession.created_at,
        WebSession.last_seen_at,
    )
    .join(Account, Account.id == WebSession.account_id)
    .where(WebSession.token_hash == bindparam("token_hash"))
)


def resolve_session(
    uow: UnitOfWork, token: str, *, staff_idle: timedelta | None = None
) -> SessionCaller | None:
    """The live session's enabled account for a cookie token, else None.

    One query for the columns a request needs: this runs on every cookie-authenticated
    request, so it loads neither ORM objects nor the account's residences. A staff session
    idle for ``staff_idle`` has ended.
    """
    if not token or len(token) > 128:
        return None
    found = uow.session.execute(_CALLER, {"token_hash": token_digest(token)}).first()
    if found is None:
        return None
    csrf_token, expires_at, account_id, login, display_name, role, disabled, factor = found[:8]
    created_at, last_seen_at = found[8], found[9]
    now = uow.now()
    if expires_at <= now or disabled:
        return None
    staff = must_have_factor(role)
    # Awaiting its second factor, or a staff session without one: it speaks for no one.
    if factor is None or (factor == "password" and staff):
        return None
    seen = last_seen_at or created_at
    if staff and staff_idle is not None and seen + staff_idle <= now:
        return None
    touch = staff and staff_idle is not None and seen + TOUCH_EVERY <= now
    return SessionCaller(account_id, login, display_name, role, csrf_token, expires_at, touch)


def touch_session(uow: UnitOfWork, token: str) -> None:
    """Write that a session was used now (a staff session's idle clock starts again)."""
    row = uow.session.get(WebSession, token_digest(token))
    if row is not None:
        row.last_seen_at = uow.now()


def pending_session(uow: UnitOfWork, token: str) -> WebSession | None:
    """The live session of a cookie token that still awaits its second factor, else None."""
    if not token or len(token) > 128:
        return None
    row = uow.session.get(WebSession, token_digest(token))
    if row is None or row.factor is not None or row.expires_at <= uow.now():
        return None
    return row


def end_session(uow: UnitOfWork, token: str) -> None:
    """Log out: forget the session so its cookie is worthless."""
    uow.session.execute(delete(WebSession).where(WebSession.token_hash == token_digest(token)))
