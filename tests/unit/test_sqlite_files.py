"""The embedded database: its folder and files are private to the instance's user."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import text

from isegoria.store.db import Database


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_database_folder_and_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which would give 0755 folders and 0644 files
    try:
        folder = tmp_path / "data"
        database = Database(f"sqlite:///{folder / 'isegoria.db'}")
        with database.engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        with database.engine.connect() as reader:  # keeps the -wal and -shm files open
            reader.execute(text("SELECT x FROM t")).all()
            assert _mode(folder) == 0o700
            for name in ("isegoria.db", "isegoria.db-wal", "isegoria.db-shm"):
                assert _mode(folder / name) == 0o600, name
        database.dispose()
    finally:
        os.umask(old)


def test_world_readable_files_of_an_older_version_are_tightened(tmp_path: Path) -> None:
    path = tmp_path / "isegoria.db"
    Database(f"sqlite:///{path}").dispose()
    path.chmod(0o644)
    wal = tmp_path / "isegoria.db-wal"
    wal.write_bytes(b"")
    wal.chmod(0o644)
    Database(f"sqlite:///{path}").dispose()
    assert (_mode(path), _mode(wal)) == (0o600, 0o600)
