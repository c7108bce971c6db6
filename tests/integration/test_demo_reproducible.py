"""The demo world is a pure function of its seed: same seed, same log, entry for entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from isegoria.config import Settings
from isegoria.demo import builder, keys
from isegoria.log import read
from isegoria.store import migrate
from isegoria.store.db import Database
from isegoria.store.uow import UnitOfWork
from tests.conftest import fresh_postgres

# Small enough for the suite, big enough for juries, retrials, appeals and notes.
CITIZENS = 300


def _build(
    tmp_path: Path, name: str, url: str | None, seed: int
) -> tuple[builder.BuildReport, list[bytes]]:
    data = tmp_path / name
    settings = Settings(data_dir=data, database_url=url)  # type: ignore[arg-type]
    database = Database(settings.effective_database_url)
    try:
        migrate.upgrade(database)
        report = builder.build(database, settings, seed=seed, citizens=CITIZENS)
        uow = UnitOfWork(database)
        with uow.begin(readonly=True):
            payloads = [e.payload for e in read.entries(uow.session, 0, report.tree_size)]
    finally:
        database.dispose()
    return report, payloads


def _url(backend: str, request: pytest.FixtureRequest) -> str | None:
    if backend == "sqlite":
        return None  # the embedded default in the data directory
    return fresh_postgres(request.getfixturevalue("pg_base_url"))


def test_the_same_seed_builds_the_same_log(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    first, first_entries = _build(tmp_path, "a", _url(backend, request), seed=0)
    second, second_entries = _build(tmp_path, "b", _url(backend, request), seed=0)
    assert first.cases > 0 and first.notes > 0  # the world has cases and notes, not just law
    assert (second.tree_size, second.root_hash) == (first.tree_size, first.root_hash)
    assert second_entries == first_entries  # entry for entry, timestamps included
    assert (tmp_path / "a" / "log-signing.key").read_bytes() == (
        tmp_path / "b" / "log-signing.key"
    ).read_bytes()


def test_another_seed_builds_another_world(tmp_path: Path) -> None:
    zero, _ = _build(tmp_path, "zero", None, seed=0)
    one, _ = _build(tmp_path, "one", None, seed=1)
    assert one.root_hash != zero.root_hash
    assert keys.marker(tmp_path / "one") is not None
    assert keys.marker(tmp_path / "one").seed == 1  # type: ignore[union-attr]


def test_existing_keys_of_another_instance_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret.key").write_text("ab" * 32)
    settings = Settings(data_dir=data)
    with pytest.raises(keys.DemoKeyConflict, match="not the demo key of seed 0"):
        keys.install(settings, 0)
