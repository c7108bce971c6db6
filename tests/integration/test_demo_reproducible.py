"""The demo world is a pure function of its seed: same seed, same log, entry for entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from isegoria.config import Settings
from isegoria.demo import builder
from isegoria.log import demo_keys as keys
from isegoria.log import read
from isegoria.store import migrate
from isegoria.store.db import Database
from isegoria.store.models_cases import Case
from isegoria.unit_of_work import UnitOfWork
from tests.conftest import fresh_postgres

# Small enough for the suite, big enough for juries, retrials, appeals and notes.
CITIZENS = 300


def _cited(tmp_path: Path, name: str, url: str | None) -> list[tuple[str, str, str | None]]:
    """(jurisdiction, rule id, statement JSON) of every demo case."""
    database = Database(Settings(data_dir=tmp_path / name, database_url=url).effective_database_url)  # type: ignore[arg-type]
    try:
        uow = UnitOfWork(database)
        with uow.begin(readonly=True):
            rows = uow.session.execute(select(Case.jurisdiction, Case.rule_id, Case.statement))
            return [(j, r, s) for j, r, s in rows]
    finally:
        database.dispose()


def _build(
    tmp_path: Path, name: str, url: str | None, seed: int, *, cases: bool = True
) -> tuple[builder.BuildReport, list[bytes]]:
    data = tmp_path / name
    settings = Settings(data_dir=data, database_url=url)  # type: ignore[arg-type]
    database = Database(settings.effective_database_url)
    try:
        migrate.upgrade(database)
        report = builder.build(database, settings, seed=seed, citizens=CITIZENS, cases=cases)
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


@pytest.mark.timeout(1200)  # two whole (small) demo worlds: minutes on a busy machine
def test_the_same_seed_builds_the_same_log(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = _url(backend, request)
    first, first_entries = _build(tmp_path, "a", url, seed=0)
    second, second_entries = _build(tmp_path, "b", _url(backend, request), seed=0)
    assert first.cases == 19 and first.notes > 0  # the world has cases and notes, not just law
    assert (second.tree_size, second.root_hash) == (first.tree_size, first.root_hash)
    assert second_entries == first_entries  # entry for entry, timestamps included
    cited = _cited(tmp_path, "a", url)
    # Every national jurisdiction's own law is cited by some demo report, not only intl's.
    assert {"FR-1", "DE-1", "MX-1", "US-1"} <= {rule for _j, rule, _s in cited}
    for jurisdiction, rule, statement in cited:
        assert rule.startswith(("intl-", f"{jurisdiction}-")), (jurisdiction, rule)
        if statement:
            found = json.loads(statement)
            assert found["language"] == found["content_language"]
            assert "(s)" not in found["facts"] + found["explanation"]
    assert (tmp_path / "a" / "log-signing.key").read_bytes() == (
        tmp_path / "b" / "log-signing.key"
    ).read_bytes()


def test_another_seed_builds_another_world(tmp_path: Path) -> None:
    zero, _ = _build(tmp_path, "zero", None, seed=0, cases=False)
    one, _ = _build(tmp_path, "one", None, seed=1, cases=False)
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
