"""Listen for credential changes on PostgreSQL, so every app process forgets them at once.

The credential cache (credential_cache.py) lets a process trust an API key or a session it
has checked for a few seconds. A key revoked or a session ended through another process,
or by the CLI, used to keep working here until those seconds ran out. Migration 0012 makes
the database itself send ``NOTIFY isegoria_credentials`` ('keys' or 'sessions') in the
transaction that changes one; this listener, one thread per app process on a connection of
its own, clears the named cache as soon as that transaction commits.

When the connection drops, nothing tells the process what it missed: it clears both caches
on every (re)connection, and the cache's own expiry still bounds what it trusts meanwhile.
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Callable

import psycopg

from isegoria.store.db import Database

CHANNEL = "isegoria_credentials"
#: First wait before reconnecting; it doubles up to the longest.
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 10.0

_log = logging.getLogger(__name__)


class CredentialEvents:
    """A thread that clears a process's credential caches when the database says so."""

    def __init__(self, database: Database, clear: dict[str, Callable[[], None]]) -> None:
        self._conninfo = database.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._clear = clear  # payload ('keys', 'sessions') -> what to forget
        self._stop = threading.Event()
        # Writing to this pipe wakes the thread from its wait on the socket at once, so an
        # app (a test's, say) shuts down without waiting out a polling interval.
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(target=self._run, name="credential-events", daemon=True)
        self.listening = threading.Event()  # set while LISTEN is in force (tests wait on it)

    def start(self) -> None:
        """Start listening in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and close the connection."""
        if self._stop.is_set():
            return
        self._stop.set()
        os.write(self._wake_write, b"x")
        self._thread.join(timeout=5)
        os.close(self._wake_read)
        os.close(self._wake_write)

    def _forget_everything(self) -> None:
        for clear in self._clear.values():
            clear()

    def _run(self) -> None:
        backoff = FIRST_BACKOFF_SECONDS
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    # Whatever changed while no one listened is not known: forget it all.
                    self._forget_everything()
                    self.listening.set()
                    backoff = FIRST_BACKOFF_SECONDS
                    self._listen(connection)
            except psycopg.Error as error:
                self.listening.clear()
                if self._stop.is_set():
                    break
                _log.warning("credential events: %s; listening again in %.1f s", error, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        self.listening.clear()

    def _listen(self, connection: psycopg.Connection[tuple[object, ...]]) -> None:
        """Clear caches as notices arrive, until told to stop; raises when the link drops."""
        pgconn = connection.pgconn
        while not self._stop.is_set():
            ready, _, _ = select.select([pgconn.socket, self._wake_read], [], [])
            if self._wake_read in ready:
                return
            pgconn.consume_input()  # raises OperationalError when the server has gone
            while (notice := pgconn.notifies()) is not None:
                self._clear.get(notice.extra.decode(), self._forget_everything)()
