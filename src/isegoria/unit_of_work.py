"""The unit of work: each service call commits all of its changes in one transaction or none.

Log entries are part of the same transaction: a service appends through ``uow.log`` and
the entries, the tree nodes and the signed checkpoint commit with its state change or not
at all.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from isegoria.clock import Clock, SystemClock
from isegoria.log.append import LogAppender
from isegoria.store.db import SQLITE_BUSY_TIMEOUT_MS, Database

if TYPE_CHECKING:
    from isegoria.log.coalesce import LogMemory
    from isegoria.log.signing import LogSigner


#: How long a SQLite writer waits for its turn in this process: SQLite's own busy timeout.
WRITE_TURN_TIMEOUT_SECONDS = SQLITE_BUSY_TIMEOUT_MS / 1000
#: Random hex of n bytes: ``secrets.token_hex`` unless a caller injects a seeded stream.
Entropy = Callable[[int], str]


class UnitOfWork:
    """A transaction scope shared by one service call and the log entries it appends."""

    def __init__(
        self,
        database: Database,
        clock: Clock | None = None,
        signer: LogSigner | None = None,
        secret: bytes | None = None,
        log_memory: LogMemory | None = None,
        entropy: Entropy | None = None,
    ) -> None:
        self.database = database
        # Randomness that reaches the log or the tables (ballot ids, receipts' nonces, jury
        # pseudonym keys): the system's by default; the demo passes a stream of its seed so
        # that the same seed builds the same log, as it injects its clock.
        self.token_hex: Entropy = entropy or secrets.token_hex
        self.log_memory = log_memory
        self.clock: Clock = clock or SystemClock()
        self.signer = signer
        self._secret = secret
        self._session: Session | None = None
        self._log: LogAppender | None = None

    @property
    def session(self) -> Session:
        """The session of the transaction in progress."""
        if self._session is None:
            raise RuntimeError("no transaction in progress: use `with uow.begin():`")
        return self._session

    @property
    def log(self) -> LogAppender:
        """The transparency-log appender of the transaction in progress."""
        if self._log is None:
            self._log = LogAppender(self.session, self.clock, self.signer, self.log_memory)
        return self._log

    @property
    def secret(self) -> bytes:
        """The instance secret, for keyed pseudonyms (never logged, never shown)."""
        if self._secret is None:
            raise RuntimeError("this unit of work has no instance secret")
        return self._secret

    def now(self) -> datetime:
        """The current time from the injected clock."""
        return self.clock.now()

    @contextmanager
    def begin(self, *, readonly: bool = False) -> Iterator[Session]:
        """Open a transaction; commit when the block ends normally, roll back otherwise."""
        if self._session is not None:
            raise RuntimeError("a unit of work does not nest; pass it down instead")
        turn = None if readonly else self.database.write_turn
        if turn is not None and not turn.acquire(timeout=WRITE_TURN_TIMEOUT_SECONDS):
            # Answered 503 with Retry-After by the API (http/overload.py); nothing was done.
            raise PoolTimeout(f"no turn to write within {WRITE_TURN_TIMEOUT_SECONDS:g} s")
        try:
            with self._transaction(readonly) as session:
                yield session
        finally:
            if turn is not None:
                turn.release()

    @contextmanager
    def _transaction(self, readonly: bool) -> Iterator[Session]:
        session = self.database.session(readonly=readonly)
        self._session = session
        try:
            yield session
            if not readonly:
                if self._log is not None:
                    self._log.finish()
                session.commit()
                if self._log is not None:
                    self._log.committed()
            # A read-only transaction just ends with close(): loaded objects stay readable.
        except BaseException:
            session.rollback()
            raise
        finally:
            self._session = None
            self._log = None
            session.close()
