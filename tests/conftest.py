"""Fixtures shared by every tier: databases (SQLite and PostgreSQL), clock, app, client."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from isegoria import security
from isegoria.app import create_app
from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.log.signing import LogSigner
from isegoria.store import migrate
from isegoria.store.db import Database
from isegoria.unit_of_work import UnitOfWork
from tests.support.demo_world import BuiltDemo, DemoCopy, build_demo, copy_demo
from tests.support.postgres import throwaway_cluster

START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
TEST_ORIGIN = "isegoria.test/log"
_counter = itertools.count()

# The files that take longest (summed test times of a full run on 2026-12-07, in seconds,
# before the suite hashed passwords cheaply, which shortened the password-heavy ones):
# they are collected first, so that the two workers of scripts/test (which hand out whole
# files in collection order) start them early instead of finishing on one of them while the
# other worker idles. Only the order changes; a file missing here simply keeps its place.
LONGEST_FIRST = (
    "tests/e2e/test_crash_safety.py",  # 211
    "tests/integration/test_tamper_coverage.py",  # 184
    "tests/integration/test_audit_console.py",  # 135
    "tests/integration/test_bad_input.py",  # 101
    "tests/integration/test_activitypub.py",  # 101
    "tests/integration/test_demo_reproducible.py",  # 100
    "tests/integration/test_log_witness.py",  # 92
    "tests/e2e/test_faults_kill.py",  # 90
    "tests/integration/test_staff_console.py",  # 88
    "tests/e2e/test_any_screen_browser.py",  # 86
    "tests/integration/test_law_operator.py",  # 74
    "tests/integration/test_notes_flow.py",  # 73
    "tests/integration/test_reports.py",  # 69
    "tests/integration/test_mfa.py",  # 69
    "tests/integration/test_retrial_flow.py",  # 66
    "tests/integration/test_staff_trail.py",  # 65
    "tests/integration/test_cli.py",  # 61
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the longest files first (a stable sort: each file's tests keep their order)."""
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    root = config.rootpath
    items.sort(key=lambda item: rank.get(item.path.relative_to(root).as_posix(), len(rank)))


@pytest.fixture(scope="session", autouse=True)
def production_hasher() -> Iterator[PasswordHasher]:
    """argon2id at its lowest cost in the test processes; yields the instance's own hasher.

    At the instance's cost (64 MiB, 3 passes) a hash or a check takes 125-140 ms, and the
    suite's worlds hash and check passwords thousands of times. The hashes stay argon2id
    through the same code; only the cost is lower, and the unknown-login dummy hash with it,
    so known and unknown logins still take the same time. Servers the suite starts as
    processes (tests/support/server.py) hash at full cost; test_security checks that cost.
    """
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        original = security._hasher
        patch.setattr(security, "_hasher", cheap)
        patch.setattr(security, "_DUMMY_HASH", cheap.hash("a password nobody has"))
        yield original


@pytest.fixture(scope="session")
def pg_base_url() -> Iterator[str]:
    """The throwaway PostgreSQL cluster, with a migrated template database."""
    with throwaway_cluster() as base:
        admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE isegoria_template"))
        admin.dispose()
        template = Database(f"{base}/isegoria_template")
        migrate.upgrade(template)
        template.dispose()
        yield base


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    database.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


def fresh_postgres(base: str, *, migrated: bool = True) -> str:
    """A new, empty or migrated, PostgreSQL database; returns its URL."""
    name = f"t{next(_counter)}_{datetime.now(UTC).strftime('%H%M%S%f')}"
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        template = " TEMPLATE isegoria_template" if migrated else ""
        connection.execute(text(f'CREATE DATABASE "{name}"{template}'))
    admin.dispose()
    return f"{base}/{name}"


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def backend(request: pytest.FixtureRequest) -> str:
    """Which database engine the test runs on."""
    return str(request.param)


@pytest.fixture
def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> str:
    """A fresh migrated database on the chosen backend."""
    if backend == "sqlite":
        path = tmp_path / "isegoria.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    base: str = request.getfixturevalue("pg_base_url")
    return fresh_postgres(base)


@pytest.fixture(scope="session")
def built_demos() -> dict[str, BuiltDemo]:
    """The demo worlds built so far in this run, one per engine (see demo_copy)."""
    return {}


@pytest.fixture
def demo_copy(
    backend: str,
    built_demos: dict[str, BuiltDemo],
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> DemoCopy:
    """This test's copy of the suite's one demo world on its engine (built on first use)."""
    pg_base: str | None = None
    if backend == "postgresql":
        pg_base = request.getfixturevalue("pg_base_url")
    if backend not in built_demos:
        folder = tmp_path_factory.mktemp(f"demo-{backend}")
        if pg_base is None:
            url = f"sqlite:///{folder / 'demo.db'}"
        else:
            url = fresh_postgres(pg_base, migrated=False)
        built_demos[backend] = build_demo(folder, url)
    name = f"t{next(_counter)}_{datetime.now(UTC).strftime('%H%M%S%f')}"
    return copy_demo(built_demos[backend], tmp_path, pg_base, name)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """The test's database."""
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves only when the test moves it."""
    return ManualClock(START)


@pytest.fixture(scope="session")
def signer() -> LogSigner:
    """A log signing key for the tests."""
    return LogSigner(TEST_ORIGIN, Ed25519PrivateKey.generate())


@pytest.fixture
def uow(database: Database, clock: ManualClock, signer: LogSigner) -> UnitOfWork:
    """A unit of work on the test database."""
    return UnitOfWork(database, clock, signer, b"test-instance-secret-32-bytes!!!")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings pointing at the test's data directory and database."""
    # Test receivers (webhooks, ActivityPub servers) listen on 127.0.0.1: allow loopback.
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,  # type: ignore[arg-type]
        webhook_allow_private=True,
    )


@pytest.fixture
def app(settings: Settings, database: Database, clock: ManualClock) -> FastAPI:
    """The application under test."""
    return create_app(settings, database=database, clock=clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client talking to the app in-process."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
