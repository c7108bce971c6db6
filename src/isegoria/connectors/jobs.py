"""The connectors' periodic upkeep, added to the job worker of ``serve`` and ``worker``."""

from __future__ import annotations

from isegoria.clock import Clock
from isegoria.connectors import apply as connector_apply
from isegoria.connectors import sync as connector_sync
from isegoria.jobs.queue import Worker
from isegoria.log.signing import LogSigner
from isegoria.store.db import Database


def add_to(
    loop: Worker,
    database: Database,
    clock: Clock,
    signer: LogSigner | None,
    secret: bytes,
    *,
    public_url: str = "",
    allow_private: bool = False,
) -> None:
    """Poll Matrix homeservers for reports; apply decisions and lift expired measures."""
    loop.every(
        connector_sync.POLL_INTERVAL_SECONDS,
        lambda: connector_sync.poll_matrix(
            database, clock, signer, secret, allow_private=allow_private
        ),
    )
    loop.every(
        connector_apply.APPLY_INTERVAL_SECONDS,
        lambda: connector_apply.run_connectors(
            database, clock, signer, secret, public_url=public_url, allow_private=allow_private
        ),
    )


def run_once(
    database: Database,
    clock: Clock,
    signer: LogSigner | None,
    secret: bytes,
    *,
    public_url: str = "",
    allow_private: bool = False,
) -> None:
    """One pass of the same upkeep (``isegoria worker --once``)."""
    connector_sync.poll_matrix(database, clock, signer, secret, allow_private=allow_private)
    connector_apply.run_connectors(
        database, clock, signer, secret, public_url=public_url, allow_private=allow_private
    )
