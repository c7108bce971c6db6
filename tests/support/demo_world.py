"""One demo world per database engine for the whole suite, copied for each test that uses it.

`isegoria demo --no-serve --citizens 300` takes tens of seconds; the tests that only read or
extend its world share one build per engine and work on a copy of it (the data directory,
and the database: a copied file on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from isegoria.cli import app

#: Small enough for the suite, big enough for juries, retrials, appeals and notes.
CITIZENS = 300


@dataclass(frozen=True)
class BuiltDemo:
    """A demo world built once: its data directory, database and what the build printed."""

    data_dir: Path
    database_url: str
    output: str


@dataclass(frozen=True)
class DemoCopy:
    """A test's own copy of a built demo world."""

    data_dir: Path
    database_url: str
    built: BuiltDemo


def build_demo(folder: Path, database_url: str) -> BuiltDemo:
    """Run ``isegoria demo --no-serve`` into ``folder`` and ``database_url``; fail loudly."""
    data_dir = folder / "data"
    env = {"ISEGORIA_DATA_DIR": str(data_dir), "ISEGORIA_DATABASE_URL": database_url}
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--citizens", str(CITIZENS)], env=env)
    if result.exit_code != 0:
        raise RuntimeError(f"the demo build failed ({result.exit_code}): {result.output}")
    return BuiltDemo(data_dir=data_dir, database_url=database_url, output=result.output)


def copy_demo(built: BuiltDemo, folder: Path, pg_base: str | None, name: str) -> DemoCopy:
    """A copy of ``built`` in ``folder`` (a PostgreSQL copy is the database ``name``)."""
    data_dir = folder / "data"
    shutil.copytree(built.data_dir, data_dir)  # keys, logins, marker: modes kept (copy2)
    if pg_base is None:
        source = built.database_url.removeprefix("sqlite:///")
        target = folder / "isegoria.db"
        shutil.copy(source, target)
        return DemoCopy(data_dir=data_dir, database_url=f"sqlite:///{target}", built=built)
    template = built.database_url.rsplit("/", 1)[1]
    admin = create_engine(f"{pg_base}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    finally:
        admin.dispose()
    return DemoCopy(data_dir=data_dir, database_url=f"{pg_base}/{name}", built=built)
