"""Backup and restore: SQLite and PostgreSQL in both directions, then the log verifies."""

from __future__ import annotations

import gzip
import io
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, select, text
from typer.testing import CliRunner

from isegoria.cli import app as cli
from isegoria.config import Settings
from isegoria.domain.identity import Scope
from isegoria.http.deps import Services
from isegoria.jobs import queue as jobs
from isegoria.log.signing import load_signer
from isegoria.log.verify import verify_database
from isegoria.ops.backup import BackupError, backup_to_file, restore_from_file, write_backup
from isegoria.people import platforms, sessions
from isegoria.store import migrate
from isegoria.store.db import Database
from isegoria.store.models import Account, LogCheckpoint
from tests.conftest import fresh_postgres
from tests.support.world import World, seed

runner = CliRunner()


@pytest.fixture
def world(app: FastAPI) -> World:
    services: Services = app.state.services
    world = seed(services.uow(), services.box)
    uow = services.uow()
    with uow.begin():  # rows of more kinds: a pending job, a live session, a webhook secret
        jobs.schedule(uow, "backup-test", uow.now() + timedelta(hours=1), {"x": [1, "é"]})
        account = uow.session.scalar(select(Account).where(Account.login == world.citizen))
        assert account is not None
        sessions.start_session(uow, account, hours=1)
    return world


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def target(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> tuple[Database, Settings]:
    """An empty, migrated database and an empty data directory to restore into."""
    if request.param == "sqlite":
        path = tmp_path / "restored.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        url = fresh_postgres(request.getfixturevalue("pg_base_url"))
    database = Database(url)
    request.addfinalizer(database.dispose)
    settings = Settings(data_dir=tmp_path / "restored-data", database_url=url)  # type: ignore[arg-type]
    return database, settings


def dump(database: Database, settings: Settings) -> list[str]:
    """The backup's lines without its header (which holds the time it was taken)."""
    out = io.StringIO()
    write_backup(database, settings, out)
    return out.getvalue().splitlines()[1:]


def test_round_trip_keeps_every_row_and_the_log_verifies(
    app: FastAPI,
    world: World,
    settings: Settings,
    target: tuple[Database, Settings],
    tmp_path: Path,
) -> None:
    services: Services = app.state.services
    source = services.database
    file = tmp_path / "instance.backup.gz"
    made = backup_to_file(source, settings, file)
    assert file.stat().st_mode & 0o077 == 0  # it holds the keys: owner only
    assert made.rows["log_entries"] > 0 and made.rows["accounts"] == 3 and made.rows["jobs"] == 1
    assert made.key_files == ["log-signing.key", "secret.key"]

    database, restored_settings = target
    summary = restore_from_file(database, restored_settings, file)
    assert summary.rows == made.rows
    assert sorted(summary.key_files) == ["log-signing.key", "secret.key"]
    assert dump(database, restored_settings) == dump(source, settings)

    key = load_signer(restored_settings.origin, restored_settings.signing_key_path).verifier_key
    assert key == services.signer.verifier_key
    report = verify_database(database, key)
    assert report.size == made.rows["log_entries"]
    with database.session(readonly=True) as session:
        latest = session.scalar(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()))
        assert latest is not None and latest.size == report.size

    # The restored instance secret still opens the sealed webhook secret; new ids follow on.
    from isegoria.security import SecretBox
    from isegoria.unit_of_work import UnitOfWork

    uow = UnitOfWork(
        database, signer=load_signer(restored_settings.origin, restored_settings.signing_key_path)
    )
    box = SecretBox(restored_settings.secret_key)
    with uow.begin():
        platform = platforms.find_platform(uow, str(world.platform_id))
        assert platforms.webhook_secret(box, platform)
        platforms.add_platform(uow, box, name="After restore", scopes=[Scope.REPORTS_WRITE])
    assert verify_database(database, key).size == report.size + 1


def test_restore_refuses_a_database_that_is_not_empty(
    app: FastAPI, world: World, settings: Settings, tmp_path: Path
) -> None:
    services: Services = app.state.services
    file = tmp_path / "b.gz"
    backup_to_file(services.database, settings, file)
    with pytest.raises(BackupError, match="not empty"):
        restore_from_file(services.database, settings, file)


def test_a_truncated_backup_restores_nothing(
    app: FastAPI,
    world: World,
    settings: Settings,
    target: tuple[Database, Settings],
    tmp_path: Path,
) -> None:
    services: Services = app.state.services
    out = io.StringIO()
    write_backup(services.database, settings, out)
    lines = out.getvalue().splitlines(keepends=True)
    cut = tmp_path / "cut.gz"
    with gzip.open(cut, "wt", encoding="utf-8") as handle:
        handle.writelines(lines[:-5])
    database, restored_settings = target
    with pytest.raises(BackupError, match="truncated"):
        restore_from_file(database, restored_settings, cut)
    with database.session(readonly=True) as session:
        assert session.scalar(select(Account.id)) is None  # rolled back
    assert not restored_settings.secret_key_path.exists()


def test_restore_refuses_another_schema_revision_and_foreign_files(
    app: FastAPI, world: World, settings: Settings, tmp_path: Path
) -> None:
    services: Services = app.state.services
    file = tmp_path / "b.gz"
    backup_to_file(services.database, settings, file)
    empty = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(BackupError, match="db upgrade"):
            restore_from_file(empty, settings, file)
    finally:
        empty.dispose()
    junk = tmp_path / "junk.gz"
    with gzip.open(junk, "wt") as handle:
        handle.write('{"hello": "world"}\n')
    with pytest.raises(BackupError, match="not an isegoria backup"):
        restore_from_file(services.database, settings, junk)


def test_restore_keeps_existing_keys_only_when_identical(
    app: FastAPI,
    world: World,
    settings: Settings,
    target: tuple[Database, Settings],
    tmp_path: Path,
) -> None:
    services: Services = app.state.services
    file = tmp_path / "b.gz"
    backup_to_file(services.database, settings, file)
    database, restored_settings = target
    restored_settings.data_dir.mkdir(parents=True)
    restored_settings.secret_key_path.write_text("00" * 32)
    with pytest.raises(BackupError, match="differs"):
        restore_from_file(database, restored_settings, file)


def test_cli_backup_restore_then_log_verify(
    app: FastAPI,
    world: World,
    settings: Settings,
    database_url: str,
    target: tuple[Database, Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    file = tmp_path / "cli.backup.gz"
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", database_url)
    made = runner.invoke(cli, ["backup", "--out", str(file)])
    assert made.exit_code == 0, made.output
    assert "backup written" in made.output

    database, restored_settings = target
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(restored_settings.data_dir))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", str(database.url.render_as_string(False)))
    restored = runner.invoke(cli, ["restore", str(file)])
    assert restored.exit_code == 0, restored.output
    verified = runner.invoke(cli, ["log", "verify"])
    assert verified.exit_code == 0, verified.output
    again = runner.invoke(cli, ["restore", str(file)])
    assert again.exit_code == 1
    assert "not empty" in again.output
    assert migrate.current_revision(database) == migrate.head_revision()


def test_tampering_after_restore_is_caught_by_log_verify(
    app: FastAPI,
    world: World,
    settings: Settings,
    target: tuple[Database, Settings],
    tmp_path: Path,
) -> None:
    """The restored log is the real one: editing an entry afterwards fails verification."""
    services: Services = app.state.services
    file = tmp_path / "b.gz"
    backup_to_file(services.database, settings, file)
    database, restored_settings = target
    restore_from_file(database, restored_settings, file)
    engine = create_engine(database.url)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE log_entries SET payload = :p WHERE idx = 1"), {"p": b'{"forged":true}'}
        )
    engine.dispose()
    key = load_signer(restored_settings.origin, restored_settings.signing_key_path).verifier_key
    from isegoria.log.verify import LogVerificationError

    with pytest.raises(LogVerificationError):
        verify_database(database, key)
