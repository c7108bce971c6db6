"""Engines for SQLite and PostgreSQL behind one code path."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from isegoria.config import make_private_dir

# How long a SQLite writer waits for another's lock before giving up (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 10_000
# How long a request waits for a pooled PostgreSQL connection before it is answered 503
# (SQLAlchemy's own default is 30 s: far past any client's patience under overload).
DEFAULT_POOL_TIMEOUT_SECONDS = 5.0
# SQLite's PRAGMA synchronous in WAL mode (https://www.sqlite.org/pragma.html#pragma_synchronous):
# FULL syncs the WAL at every commit; NORMAL syncs only at WAL checkpoints, so a commit
# survives a crash of the process (kill -9) but may be lost on power loss or an OS crash.
SqliteSync = Literal["full", "normal"]
# Execution option that marks a transaction as read-only (SQLite then takes no write lock).
READONLY_OPTION = "isegoria_readonly"


class Database:
    """One database: its engine and the sessions made from it."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_size: int = 10,
        pool_timeout: float = DEFAULT_POOL_TIMEOUT_SECONDS,
        sqlite_synchronous: SqliteSync = "full",
    ) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            if self.url.database and self.url.database != ":memory:":
                make_private_database(Path(self.url.database))
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if self.url.database and self.url.database != ":memory:":
                # Keep as many SQLite connections as requests in flight: with SQLAlchemy's
                # default (5) every request past the fifth opens and closes a connection,
                # paying the PRAGMAs below each time.
                kwargs.update(
                    pool_size=pool_size, max_overflow=pool_size, pool_timeout=pool_timeout
                )
        else:
            kwargs.update(
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                pool_timeout=pool_timeout,
            )
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine, sqlite_synchronous)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        # SQLite admits one writer at a time. Threads of this process that want to write wait
        # here, in turn, instead of in SQLite's busy handler, which sleeps and polls (up to
        # 100 ms a nap) and so leaves the lock idle while dozens of writers doze under load.
        self.write_turn: threading.RLock | None = threading.RLock() if self.is_sqlite else None

    def session(self, *, readonly: bool = False) -> Session:
        """A new ORM session; a read-only one never takes SQLite's write lock."""
        session = self.sessions()
        if readonly:
            session.connection(execution_options={READONLY_OPTION: True})  # type: ignore[misc]
        return session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


# PostgreSQL's SQLSTATE for "could not extend file: No space left on device"
# (https://www.postgresql.org/docs/current/errcodes-appendix.html, class 53).
POSTGRES_DISK_FULL = "53100"


def is_disk_full(error: DBAPIError) -> bool:
    """Whether the database refused a write because its disk (or its size cap) is full."""
    orig = error.orig
    if isinstance(orig, sqlite3.Error):
        # SQLITE_FULL: the unix VFS maps ENOSPC (and a reached max_page_count) to it.
        return getattr(orig, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return getattr(orig, "sqlstate", None) == POSTGRES_DISK_FULL


# SQLite's write-ahead log and its shared-memory index, next to the database file.
SQLITE_SIDE_FILES = ("-wal", "-shm")


def make_private_database(path: Path) -> None:
    """Create a SQLite database file (and its folder) readable by its owner only.

    SQLite gives the -wal and -shm files the permissions of the database file (its unix
    VFS copies them), so a 0600 database keeps them 0600 too. Files an older version left
    world-readable are tightened: they hold password hashes and sealed ballots.
    """
    make_private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for candidate in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_SIDE_FILES)):
        try:
            if candidate.stat().st_mode & 0o077:
                candidate.chmod(0o600)
        except FileNotFoundError:
            continue


def _configure_sqlite(engine: Engine, synchronous: SqliteSync) -> None:
    """WAL, foreign keys, a busy timeout, and BEGIN IMMEDIATE for writers.

    pysqlite's own transaction handling starts transactions lazily and as DEFERRED, so two
    writers can both read and then deadlock on upgrading their locks. Taking the write lock
    at BEGIN (IMMEDIATE) serialises writers up front; see the SQLAlchemy documentation,
    "Serializable isolation / Savepoints / Transactional DDL" for pysqlite.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # NORMAL is durable in WAL mode except on power loss before a checkpoint; FULL
        # (the default) syncs the WAL at every commit so an acknowledged write survives even
        # that. The operator may trade that for throughput (ISEGORIA_SQLITE_SYNCHRONOUS).
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(READONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
