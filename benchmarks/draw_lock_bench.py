"""Benchmark: how long a jury draw holds the write lock, and how long other writes wait.

Run: ``.venv/bin/python benchmarks/draw_lock_bench.py [--sqlite-only] [--out PATH]``.

Each backend (SQLite in a temporary directory; PostgreSQL in a throwaway cluster) gets the
world of ``tests/support/cases_world.build`` plus 3,000 volunteers over 384 strata profiles
(32 regions x 4 age bands x 3 leanings), whose lottery takes seconds to prepare. Two reports
are filed, and each one's draw job runs with a cold lottery cache while 50 other writes run
one after another beside it:

* ``in_transaction``: the draw job without its preparer, so the lottery is prepared inside
  the draw's write transaction (what every draw did before issue 21);
* ``prepared_outside``: the job runner prepares the lottery in a read-only transaction and
  the draw's transaction finds it under the digest of the inputs it re-reads.

For each: the longest draw transaction, the longest write-lock hold of any write transaction
while the draw and the writes ran (from ``BEGIN IMMEDIATE`` to its commit or rollback on
SQLite; a write transaction's span on PostgreSQL, which locks rows instead), the longest
wait of the other writes, and how many of them failed for want of a turn (answered 503 by
the API). Results are printed, written as JSON (default
``benchmarks/results/draw_lock_bench.json``), and summed up in one JSON object on the last
line printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support.* builds the world and the PostgreSQL cluster

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import Connection  # noqa: E402
from sqlalchemy.exc import TimeoutError as PoolTimeout  # noqa: E402
from tests.support.cases_world import (  # noqa: E402
    AGES,
    LEANINGS,
    CasesWorld,
    build,
    report_request,  # noqa: E402
)
from tests.support.postgres import throwaway_cluster  # noqa: E402

from isegoria.cases import intake as cases_intake  # noqa: E402
from isegoria.cases import lottery as cases_lottery  # noqa: E402
from isegoria.cases.intake import JOB_DRAW_JURY  # noqa: E402
from isegoria.clock import ManualClock  # noqa: E402
from isegoria.domain.identity import Role  # noqa: E402
from isegoria.jobs import queue as jobs  # noqa: E402
from isegoria.log.signing import LogSigner  # noqa: E402
from isegoria.people import accounts as people  # noqa: E402
from isegoria.store import migrate  # noqa: E402
from isegoria.store.db import READONLY_OPTION, Database  # noqa: E402
from isegoria.unit_of_work import UnitOfWork  # noqa: E402

REGIONS = [f"region-{n:02d}" for n in range(32)]
VOLUNTEERS = 3000
OTHER_WRITES = 50
WRITE_SPACING_SECONDS = 0.02
INSTANCE_SECRET = b"bench-instance-secret-32-bytes!!"
START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "draw_lock_bench.json"


def add_volunteers(uow: UnitOfWork) -> None:
    """3,000 MX volunteers spread evenly over 384 strata profiles."""
    with uow.begin():
        for n in range(VOLUNTEERS):
            people.add_account(
                uow,
                login=f"dl{n:05d}",
                display_name=f"Volunteer {n}",
                role=Role.CITIZEN,
                password=None,
                residences=["MX"],
                strata=people.Strata(
                    region=REGIONS[n % len(REGIONS)],
                    age_band=AGES[(n // len(REGIONS)) % len(AGES)],
                    leaning=LEANINGS[(n // (len(REGIONS) * len(AGES))) % len(LEANINGS)],
                ),
                jury_opt_in=True,
            )


def file_report(uow: UnitOfWork, world: CasesWorld, post: str) -> None:
    """One report about a new post: it schedules a draw job."""
    with uow.begin():
        cases_intake.file_report(
            uow,
            platform_id=world.base.platform_id,
            request=report_request(uow.now() - timedelta(hours=1), content_id=post),
        )


class LockHolds:
    """Times every write transaction of a database, from its BEGIN to its end."""

    def __init__(self, database: Database) -> None:
        self.holds: list[float] = []
        # Registered after the database's own "begin" listener, which issues BEGIN IMMEDIATE
        # on SQLite: the clock starts once the lock is held, not while waiting for it.
        event.listen(database.engine, "begin", self._begin)
        event.listen(database.engine, "commit", self._end)
        event.listen(database.engine, "rollback", self._end)

    def _begin(self, connection: Connection) -> None:
        if not connection.get_execution_options().get(READONLY_OPTION):
            connection.info["write_began"] = time.perf_counter()

    def _end(self, connection: Connection) -> None:
        began = connection.info.pop("write_began", None)
        if began is not None:
            self.holds.append(time.perf_counter() - began)


def draw_beside_writes(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, locks: LockHolds
) -> dict[str, Any]:
    """Run the due draw job with a cold cache while other writes run; time both."""
    cases_lottery._PORTFOLIOS.clear()
    locks.holds.clear()
    holds: list[float] = []
    run_claimed = jobs._run_claimed

    def timed_run(*args: Any, **kwargs: Any) -> bool | None:
        started = time.perf_counter()
        try:
            return run_claimed(*args, **kwargs)
        finally:
            holds.append(time.perf_counter() - started)

    jobs._run_claimed = timed_run  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        drawer = threading.Thread(
            target=lambda: jobs.run_due(uow.database, clock, signer, secret=INSTANCE_SECRET)
        )
        drawer.start()
        writer = UnitOfWork(uow.database, clock, signer, INSTANCE_SECRET)
        waits: list[float] = []
        refused = 0
        for _ in range(OTHER_WRITES):
            begun = time.perf_counter()
            try:
                with writer.begin():
                    jobs.schedule(writer, "bench.later", clock.now() + timedelta(days=365), {})
            except PoolTimeout:
                refused += 1
            waits.append(time.perf_counter() - begun)
            time.sleep(WRITE_SPACING_SECONDS)
        drawer.join()
        elapsed = time.perf_counter() - started
    finally:
        jobs._run_claimed = run_claimed  # type: ignore[assignment]
    return {
        "longest_draw_transaction_ms": max(holds) * 1000,
        "longest_write_lock_hold_ms": max(locks.holds) * 1000,
        "write_transactions": len(locks.holds),
        "draw_transactions": len(holds),
        "draw_job_seconds": elapsed,
        "longest_write_wait_ms": max(waits) * 1000,
        "writes_refused": refused,
    }


def run_backend(url: str) -> dict[str, Any]:
    """Build the world, then draw once the old way and once the new way."""
    database = Database(url)
    migrate.upgrade(database)
    clock = ManualClock(START)
    signer = LogSigner("bench/drawlock", Ed25519PrivateKey.generate())
    uow = UnitOfWork(database, clock, signer, INSTANCE_SECRET)
    world = build(uow, clock, signer)
    add_volunteers(uow)
    locks = LockHolds(database)
    results: dict[str, Any] = {}
    file_report(uow, world, "bench-draw-old")
    preparer = jobs._PREPARERS.pop(JOB_DRAW_JURY)
    try:
        results["in_transaction"] = draw_beside_writes(uow, clock, signer, locks)
    finally:
        jobs._PREPARERS[JOB_DRAW_JURY] = preparer
    file_report(uow, world, "bench-draw-new")
    results["prepared_outside"] = draw_beside_writes(uow, clock, signer, locks)
    database.dispose()
    return results


def postgres_database(base: str, name: str) -> str:
    """Create an empty database in the cluster at ``base``; return its URL."""
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return f"{base}/{name}"


def report(backend: str, figures: dict[str, Any]) -> None:
    """Print one backend's figures."""
    for mode, f in figures.items():
        print(
            f"{backend:10} {mode:16} longest draw transaction "
            f"{f['longest_draw_transaction_ms']:8.1f} ms; longest write-lock hold "
            f"{f['longest_write_lock_hold_ms']:8.1f} ms; longest other write "
            f"{f['longest_write_wait_ms']:8.1f} ms; refused {f['writes_refused']}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the backends, print the figures and write them as JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results path")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    args = parser.parse_args(argv)
    print(
        f"draw_lock_bench: {VOLUNTEERS} volunteers, {OTHER_WRITES} writes, {os.cpu_count()} cores"
    )
    backends: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        backends["sqlite"] = run_backend(f"sqlite:///{tmp}/draw.db")
        report("sqlite", backends["sqlite"])
    if not args.sqlite_only:
        with throwaway_cluster(durable=True) as pg:
            backends["postgresql"] = run_backend(postgres_database(pg, "bench_draw"))
            report("postgresql", backends["postgresql"])
    results = {
        "benchmark": "draw_lock_bench",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "volunteers": VOLUNTEERS,
        "profiles": len(REGIONS) * len(AGES) * len(LEANINGS),
        "other_writes": OTHER_WRITES,
        "backends": backends,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    summary = {
        f"{backend}_{mode}_{measure}": round(figures[measure], 1)
        for backend, modes in backends.items()
        for mode, figures in modes.items()
        for measure in ("longest_write_lock_hold_ms", "longest_write_wait_ms")
    }
    print(json.dumps({"benchmark": "draw_lock_bench", **summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
