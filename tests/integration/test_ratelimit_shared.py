"""Rate limits shared in PostgreSQL: the token bucket's rules, held across processes and threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from isegoria.config import Settings
from isegoria.errors import RateLimited
from isegoria.http import ratelimit_shared
from isegoria.http.ratelimit import RateLimiter, install
from isegoria.http.ratelimit_shared import SharedRateLimiter
from isegoria.rate_rules import Rule
from isegoria.store.db import Database
from isegoria.store.models import RateBucket
from tests.conftest import fresh_postgres


class FakeTime:
    """Seconds since the epoch, moved by the test (the shared limiter's clock is the
    database server's unless a test passes one)."""

    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def pg(pg_base_url: str) -> Iterator[Database]:
    database = Database(fresh_postgres(pg_base_url))
    yield database
    database.dispose()


@pytest.mark.postgres
def test_burst_then_refused_with_retry_after_until_refill(pg: Database) -> None:
    now = FakeTime()
    limiter = SharedRateLimiter(pg, now=now)
    rule = Rule("login_failures", 5, 900.0)  # then one every 180 s
    for _ in range(5):
        assert limiter.hit("login:ana", rule).allowed
    refused = limiter.hit("login:ana", rule)
    assert (refused.allowed, refused.retry_after) == (False, 180)
    now.t += 179
    assert limiter.hit("login:ana", rule).retry_after == 1
    now.t += 1
    assert limiter.hit("login:ana", rule).allowed  # exactly one token came back
    assert not limiter.hit("login:ana", rule).allowed


@pytest.mark.postgres
def test_same_answers_as_the_in_process_limiter(pg: Database) -> None:
    """Hit for hit, with costs and clock moves, both limiters decide alike."""
    shared_time, local_time = FakeTime(), FakeTime()
    shared, local = SharedRateLimiter(pg, now=shared_time), RateLimiter(now=local_time)
    rule = Rule("api_platform", 10, 60.0)
    steps = [(1, 0.0), (4, 0.0), (6, 0.5), (3, 3.0), (12, 0.0), (2, 7.0), (1, 0.1), (5, 30.0)]
    for cost, advance in steps * 3:
        shared_time.t += advance
        local_time.t += advance
        assert shared.hit("platform:1", rule, cost) == local.hit("platform:1", rule, cost), (
            cost,
            advance,
        )


@pytest.mark.postgres
def test_peek_reset_and_independent_keys(pg: Database) -> None:
    limiter = SharedRateLimiter(pg, now=FakeTime())
    rule, other = Rule("login_failures", 2, 60.0), Rule("votes", 2, 60.0)
    limiter.require("login:ana", rule)  # no bucket yet: full, nothing spent
    limiter.hit("login:ana", rule)
    limiter.hit("login:ana", rule)
    with pytest.raises(RateLimited, match="login_failures: at most 2 per 60 s") as caught:
        limiter.require("login:ana", rule)
    assert caught.value.retry_after == 30
    assert limiter.hit("login:bob", rule).allowed  # another key
    assert limiter.hit("login:ana", other).allowed  # another rule
    limiter.reset("login:ana", rule)
    limiter.limit("login:ana", rule)  # a full bucket again


@pytest.mark.postgres
def test_two_processes_share_one_budget(pg: Database) -> None:
    """Two limiters on two engines (as two server processes have) spend one bucket."""
    second = Database(str(pg.engine.url.render_as_string(hide_password=False)))
    try:
        first_limiter, second_limiter = SharedRateLimiter(pg), SharedRateLimiter(second)
        rule = Rule("api_address", 6, 3600.0)
        allowed = [
            (first_limiter if n % 2 else second_limiter).hit("address:10.0.0.1", rule).allowed
            for n in range(10)
        ]
        assert allowed == [True] * 6 + [False] * 4
    finally:
        second.dispose()


@pytest.mark.postgres
def test_concurrent_hits_never_exceed_the_count(pg: Database) -> None:
    """Row locks order the hits: 8 threads x 25 hits at a bucket of 50 allow exactly 50."""
    limiter = SharedRateLimiter(pg)
    rule = Rule("reports", 50, 3600.0)
    allowed: list[bool] = []
    lock = threading.Lock()

    def spend() -> None:
        for _ in range(25):
            decision = limiter.hit("person:7", rule)
            with lock:
                allowed.append(decision.allowed)

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(allowed) == 200
    assert allowed.count(True) == 50


@pytest.mark.postgres
def test_full_buckets_are_pruned(pg: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    now = FakeTime()
    limiter = SharedRateLimiter(pg, now=now)
    rule = Rule("api_address", 3, 60.0)
    for n in range(20):  # an attacker spraying addresses
        limiter.hit(f"address:10.0.1.{n}", rule)
    now.t += 61  # every one of those buckets is full again
    monkeypatch.setattr(ratelimit_shared, "PRUNE_EVERY", 1)
    limiter.hit("address:10.0.2.1", rule)
    with pg.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(RateBucket)) == 1


@pytest.mark.postgres
def test_the_table_is_unlogged(pg: Database) -> None:
    with pg.engine.connect() as connection:
        persistence = connection.scalar(
            text("SELECT relpersistence FROM pg_class WHERE relname = 'rate_buckets'")
        )
    assert persistence == "u"


@pytest.mark.postgres
def test_postgresql_shares_by_default_and_the_setting_decides(
    pg: Database, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = pg.engine.url.render_as_string(hide_password=False)
    for shared, kind in (
        (None, SharedRateLimiter),
        (False, RateLimiter),
        (True, SharedRateLimiter),
    ):
        settings = Settings(
            data_dir=tmp_path_factory.mktemp("data"), database_url=url, ratelimit_shared=shared
        )
        assert isinstance(install(FastAPI(), settings, pg), kind)


def test_sqlite_refuses_shared_buckets(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("data")
    database = Database(f"sqlite:///{folder / 'isegoria.db'}")
    try:
        settings = Settings(data_dir=folder, ratelimit_shared=True)
        with pytest.raises(ValueError, match="needs PostgreSQL"):
            install(FastAPI(), settings, database)
        assert isinstance(install(FastAPI(), Settings(data_dir=folder), database), RateLimiter)
    finally:
        database.dispose()
