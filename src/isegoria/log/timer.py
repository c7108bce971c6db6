"""Checkpoints on a timer: a tree head for every size, even if one was somehow missed.

Every transaction that appends issues its own checkpoint, so in normal operation the
latest checkpoint always covers the whole log. The worker still calls ``ensure_checkpoint``
every minute: after a restore, a crash of an older version, or entries written by a tool
that bypasses the unit of work, it signs the current head so witnesses never wait on a
log whose newest entries have no signed tree head.
"""

from __future__ import annotations

from sqlalchemy import insert, select

from isegoria.clock import Clock
from isegoria.log import read
from isegoria.log.signing import LogSigner
from isegoria.store.db import Database
from isegoria.store.models import LogCheckpoint, LogHead
from isegoria.store.uow import UnitOfWork

INTERVAL_SECONDS = 60.0


def ensure_checkpoint(database: Database, clock: Clock, signer: LogSigner) -> bool:
    """Sign the current tree head if no checkpoint covers it; True when one was issued."""
    uow = UnitOfWork(database, clock, signer)
    with uow.begin():
        size = uow.session.execute(select(LogHead.size).with_for_update()).scalar_one()
        latest = read.latest_checkpoint(uow.session)
        if size == 0 or (latest is not None and latest.size >= size):
            return False
        root = read.root_at(uow.session, size)
        uow.session.execute(
            insert(LogCheckpoint).values(
                size=size, root_hash=root, note=signer.sign(size, root), created_at=uow.now()
            )
        )
        return True
