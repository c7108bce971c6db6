"""Browser sessions: a random token in a cookie, its digest and a CSRF token in the database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from isegoria.security import new_token, token_digest
from isegoria.store.models import Account, WebSession
from isegoria.store.uow import UnitOfWork


def start_session(uow: UnitOfWork, account: Account, *, hours: int) -> tuple[str, WebSession]:
    """Open a new session for ``account``; returns the cookie token and the row."""
    token = new_token()
    now = uow.now()
    row = WebSession(
        token_hash=token_digest(token),
        account_id=account.id,
        csrf_token=new_token(),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    uow.session.add(row)
    # Expired sessions of anyone are swept here, so the table cannot grow without bound.
    uow.session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return token, row


def resolve_session(uow: UnitOfWork, token: str) -> tuple[WebSession, Account] | None:
    """The live session and its enabled account for a cookie token, else None."""
    if not token or len(token) > 128:
        return None
    row = uow.session.get(WebSession, token_digest(token))
    if row is None or row.expires_at <= uow.now():
        return None
    account = uow.session.get(Account, row.account_id)
    if account is None or account.disabled:
        return None
    return row, account


def end_session(uow: UnitOfWork, token: str) -> None:
    """Log out: forget the session so its cookie is worthless."""
    uow.session.execute(delete(WebSession).where(WebSession.token_hash == token_digest(token)))
