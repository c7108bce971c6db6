"""A full disk is told apart from a busy or unreachable database, on both backends."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import OperationalError

from isegoria.store.db import POSTGRES_DISK_FULL, is_disk_full


class _PostgresError(Exception):
    """Stands for a psycopg error: it carries the server's SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _sqlite_error(code: int, message: str) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    return error


def test_sqlite_full_is_a_full_disk_and_a_locked_database_is_not() -> None:
    full = _sqlite_error(sqlite3.SQLITE_FULL, "database or disk is full")
    locked = _sqlite_error(sqlite3.SQLITE_BUSY, "database is locked")
    assert is_disk_full(OperationalError("COMMIT", None, full))
    assert not is_disk_full(OperationalError("COMMIT", None, locked))


def test_postgres_disk_full_sqlstate_is_a_full_disk_and_a_shutdown_is_not() -> None:
    assert is_disk_full(OperationalError("INSERT", None, _PostgresError(POSTGRES_DISK_FULL)))
    # 57P01: the server is shutting down (a restart): busy, not full.
    assert not is_disk_full(OperationalError("INSERT", None, _PostgresError("57P01")))
