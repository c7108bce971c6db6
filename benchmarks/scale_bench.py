"""Scale benchmark (issue 19 §3): the write path against the stack's floor, in one run.

Run: ``.venv/bin/python benchmarks/scale_bench.py [--quick] [--out PATH]``.

Side by side, on the same machine in the same minute:

* the floor: durable ballot-shaped writes per second of a bare FastAPI + SQLite app
  (``floor_bench.measure``, ``POST /write/{id}``, 32 connections): what the stack allows;
* juror ballots per second through real isegoria servers (``load_bench``'s ballots-only
  phase on a ``load_world`` seeded world, 32 connections, checkpoints coalesced every
  200 ms): SQLite with one process, PostgreSQL with one, two and (not with ``--quick``)
  four processes, each count's rate also as a ratio over one process;
* what stops the scaling (``scale_limits.py``): during the runs of two and more processes,
  PostgreSQL's ``pg_stat_activity`` read every 50 ms (the share of the app's backend samples
  idle in the pool, idle in a transaction while the app runs Python, running, or waiting on
  a lock - which statement waits - or on the WAL), and for every run the CPU of each app
  process, of PostgreSQL, of the load client and of the machine;
* durable log appends per second with 1, 8 and 64 writer threads on SQLite and on
  PostgreSQL, each writer a loop of unit-of-work transactions appending one event
  (``log_writers.py``), with the wait for the log's single lock, its hold time and the
  commit timed per transaction;
* where a target is missed: a short cProfile of the worst log-append case (every writer
  thread profiled, merged), top functions by cumulative and by own time.

Targets (issue 19): ballots >= 1,000/s on SQLite and >= 600/s on PostgreSQL with two
processes, two processes >= 1.6x one, durable log appends with 64 writers >= 5,000/s on
both databases. Each is printed as met or missed with its figure and its ratio to the
floor measured in the same run (the machine is shared: absolute figures move with its
load, the ratios much less). The last line printed is one JSON object with the headline
figures; everything goes to ``benchmarks/results/scale_bench[.quick].json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmarks.* and tests.support.* as packages

from benchmarks import floor_bench  # noqa: E402
from benchmarks.case_bench import postgres_database  # noqa: E402
from benchmarks.load_bench import (  # noqa: E402
    CONNECTIONS,
    PHASES,
    REFERENCE,
    Workload,
    server,
    server_cpu_seconds,
)
from benchmarks.load_driver import Call, drive  # noqa: E402
from benchmarks.load_world import Seeded, data_dir_settings, seed  # noqa: E402
from benchmarks.log_writers import append_concurrently, profile_top  # noqa: E402
from benchmarks.scale_limits import (  # noqa: E402
    observe,
    parts,
    print_observation,
    print_storage,
    storage,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from tests.support.postgres import throwaway_cluster  # noqa: E402

from isegoria.log.signing import LogSigner  # noqa: E402
from isegoria.store import migrate  # noqa: E402
from isegoria.store.db import Database  # noqa: E402

#: Seeded cases (juries of 5: five ballot seats each; PostgreSQL's are split between its
#: runs, one per process count) and seconds per phase. A ballots phase ends early when its
#: seats run out.
QUICK = {
    "floor_seconds": 1.5,
    "ballot_seconds": 2.0,
    "sqlite_cases": 80,
    "pg_cases": 120,
    "pg_workers": (1, 2),
    "append_seconds": 1.5,
    "profile_seconds": 1.5,
}
FULL = {
    "floor_seconds": 6.0,
    "ballot_seconds": 8.0,
    "sqlite_cases": 500,
    "pg_cases": 1200,
    "pg_workers": (1, 2, 4),
    "append_seconds": 6.0,
    "profile_seconds": 4.0,
}
WRITERS = (1, 8, 64)
FLOOR_WRITE = "POST /write/{id}"  # the floor's durable ballot-shaped write, sync handler
TARGETS = {  # issue 19 §3
    "ballots_per_s_sqlite": 1000.0,
    "ballots_per_s_pg_2proc": 600.0,
    "pg_2proc_over_1proc": 1.6,
    "log_appends_per_s_64_writers_sqlite": 5000.0,
    "log_appends_per_s_64_writers_pg": 5000.0,
}
PROFILE_LINES = 12
#: Requests to the HTTP stack alone (load_bench's reference) before each ballots phase.
WARM_UP_SECONDS = 0.5


def ballots(
    data_dir: Path, url: str | None, workers: int, world: Seeded, seconds: float
) -> dict[str, Any]:
    """Serve ``data_dir`` with ``workers`` processes and cast the world's ballots for
    ``seconds`` (load_bench's ballots-only phase); on PostgreSQL, watch what limits them
    (``scale_limits.observe``: CPU always, wait events with two processes or more)."""
    workload = Workload(world, world.seats, [], PHASES["ballots"])
    with server(data_dir, url, workers) as (host, port, pid):
        # Warm the processes up (and measure the HTTP stack alone) before the ballots.
        warm = asyncio.run(
            drive(
                host,
                port,
                lambda _rng: Call(REFERENCE, "GET", REFERENCE),
                connections=CONNECTIONS,
                duration=WARM_UP_SECONDS,
            )
        )
        cpu_before = server_cpu_seconds(pid)
        with observe(url, pid, workers, sample=workers > 1) if url else nullcontext() as seen:
            result = asyncio.run(
                drive(host, port, workload, connections=CONNECTIONS, duration=seconds)
            )
        cpu = server_cpu_seconds(pid) - cpu_before
    endpoint = result["endpoints"].get("POST /cases/{id}/ballot", {})
    ok = int(endpoint.get("ok", 0))
    return {
        "workers": workers,
        "seats": len(world.seats),
        "ballots": ok,
        "seconds": result["seconds"],
        "ballots_per_s": result["ok_per_s"],
        "reference_per_s": warm["ok_per_s"],
        "server_cpu_ms_per_ballot": 1000 * cpu / ok if ok else None,
        "errors_by_status": result["errors_by_status"],
        "latency_ms": {k: endpoint.get(k) for k in ("p50_ms", "p99_ms")},
        "limits": seen.figures if seen is not None else None,
    }


def appends(url: str, signer: LogSigner, seconds: float) -> dict[str, Any]:
    """Durable log appends with 1, 8 and 64 writers on one (migrated) database."""
    figures: dict[str, Any] = {}
    for writers in WRITERS:
        # One pooled connection per writer: the lock is measured, not the pool.
        database = Database(url, pool_size=writers)
        try:
            figures[str(writers)] = append_concurrently(
                database, signer, writers=writers, seconds=seconds
            )
        finally:
            database.dispose()
    return figures


def profile_appends(url: str, signer: LogSigner, writers: int, seconds: float) -> dict[str, Any]:
    """A short run of ``writers`` appenders, each thread under cProfile."""
    database = Database(url, pool_size=writers)
    try:
        figures = append_concurrently(
            database, signer, writers=writers, seconds=seconds, profile=True
        )
    finally:
        database.dispose()
    stats = figures.pop("_stats")
    figures["top_cumulative"] = profile_top(stats, PROFILE_LINES, by="cumulative")
    figures["top_own_time"] = profile_top(stats, PROFILE_LINES, by="own")
    return figures


def ballot_runs(base: Path, pg: str, size: dict[str, Any], floor_rate: float) -> dict[str, Any]:
    """Ballots on SQLite with one process, then PostgreSQL with each count of processes of
    ``size["pg_workers"]`` (each casting its own share of one seeded world's seats)."""
    runs: dict[str, Any] = {}
    seconds = size["ballot_seconds"]
    world = seed(data_dir_settings(base / "sqlite", None), cases=size["sqlite_cases"], proposals=1)
    runs["sqlite_1"] = ballots(base / "sqlite", None, 1, world, seconds)
    _print_ballots("sqlite, 1 process", runs["sqlite_1"], floor_rate)
    url = postgres_database(pg, "scale_ballots")
    world = seed(data_dir_settings(base / "pg", url), cases=size["pg_cases"], proposals=1)
    counts = size["pg_workers"]
    for workers, share in zip(counts, parts(world, len(counts)), strict=True):
        run = runs[f"postgresql_{workers}"] = ballots(base / "pg", url, workers, share, seconds)
        one = runs["postgresql_1"]["ballots_per_s"]
        run["over_1proc"] = run["ballots_per_s"] / one if one else 0.0
        _print_ballots(f"postgresql, {workers} process(es)", run, floor_rate)
        print_observation(run["limits"], run["ballots"])
    runs["postgresql_storage"] = storage(url)
    print_storage(runs["postgresql_storage"])
    return runs


def target_checks(figures: dict[str, float]) -> dict[str, dict[str, Any]]:
    """Each target: the figure, the target and whether it was met."""
    return {
        name: {"figure": figures[name], "target": target, "met": figures[name] >= target}
        for name, target in TARGETS.items()
    }


def migrated(url: str) -> str:
    """Migrate the database at ``url``; return the URL."""
    database = Database(url)
    migrate.upgrade(database)
    database.dispose()
    return url


def main(argv: list[str] | None = None) -> int:
    """Measure the floor, ballots and log appends; print the targets met or missed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short phases (under 3 minutes)")
    parser.add_argument("--out", type=Path, default=None, help="JSON results path")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    out = args.out or ROOT / "benchmarks" / "results" / (
        "scale_bench.quick.json" if args.quick else "scale_bench.json"
    )
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    print(f"scale_bench: {os.cpu_count()} cores, {CONNECTIONS} connections, load {load_before:.1f}")
    floor = floor_bench.measure([FLOOR_WRITE], size["floor_seconds"])[FLOOR_WRITE]
    floor_rate = floor["ok_per_s"]
    print(
        f"  floor {FLOOR_WRITE}: {floor_rate:,.0f}/s, server CPU "
        f"{floor['server_cpu_ms_per_ok_request']:.2f} ms a write"
    )
    signer = LogSigner("bench/log", Ed25519PrivateKey.generate())
    results: dict[str, Any] = {"floor": floor, "ballots": {}, "appends": {}}
    with tempfile.TemporaryDirectory() as tmp, throwaway_cluster(durable=True) as pg:
        base = Path(tmp)
        results["ballots"] = ballot_runs(base, pg, size, floor_rate)
        urls = {
            "sqlite": migrated(f"sqlite:///{base}/appends.db"),
            "pg": migrated(postgres_database(pg, "scale_appends")),
        }
        for backend, backend_url in urls.items():
            results["appends"][backend] = appends(backend_url, signer, size["append_seconds"])
            for writers, figures in results["appends"][backend].items():
                _print_appends(backend, writers, figures, floor_rate)
        headline = _headline(results, floor_rate)
        checks = target_checks(headline)
        worst = _worst(checks)
        if worst is not None:
            backend, seconds = worst["backend"], size["profile_seconds"]
            print(f"  profiling {WRITERS[-1]} writers on {backend} ({worst['why']}), {seconds} s")
            results["profile"] = {
                "case": f"log appends, {WRITERS[-1]} writers, {backend}",
                "why": worst["why"],
                **profile_appends(urls[backend], signer, WRITERS[-1], seconds),
            }
            _print_profile(results["profile"])
    results.update(
        benchmark="scale_bench",
        quick=args.quick,
        python=platform.python_version(),
        cores=os.cpu_count(),
        shared_machine=True,
        load_average_before_after=[load_before, os.getloadavg()[0]],
        targets=checks,
        headline=headline,
        wall_seconds=time.perf_counter() - started,
    )
    print("targets (issue 19 §3):")
    for name, check in checks.items():
        print(
            f"  {name:38} {check['figure']:10,.2f}  target >= {check['target']:,.1f}  "
            + ("met" if check["met"] else "MISSED")
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"wrote {out} in {results['wall_seconds']:.0f} s")
    print(json.dumps(headline))
    return 0


def _headline(results: dict[str, Any], floor_rate: float) -> dict[str, float]:
    """The figures of the last line, and their ratios to the floor."""
    b, a = results["ballots"], results["appends"]
    pg1, pg2 = b["postgresql_1"]["ballots_per_s"], b["postgresql_2"]["ballots_per_s"]
    headline = {
        "floor_writes_per_s": floor_rate,
        "ballots_per_s_sqlite": b["sqlite_1"]["ballots_per_s"],
        "ballots_per_s_pg_1proc": pg1,
        "ballots_per_s_pg_2proc": pg2,
        "pg_2proc_over_1proc": pg2 / pg1 if pg1 else 0.0,
    }
    if "postgresql_4" in b:  # the full run only
        headline["ballots_per_s_pg_4proc"] = b["postgresql_4"]["ballots_per_s"]
        headline["pg_4proc_over_1proc"] = b["postgresql_4"]["over_1proc"]
    for backend in ("sqlite", "pg"):
        for writers in WRITERS:
            key = f"log_appends_per_s_{writers}_writers_{backend}"
            headline[key] = a[backend][str(writers)]["appends_per_s"]
    for key in list(headline):
        if key.endswith("_per_s") and key != "floor_writes_per_s":
            headline[f"{key.removesuffix('_per_s')}_over_floor"] = headline[key] / floor_rate
    return headline


def _worst(checks: dict[str, dict[str, Any]]) -> dict[str, str] | None:
    """The log-append case to profile: the backend whose 64-writer target is missed by
    most (ballot servers run in other processes, out of this cProfile's reach)."""
    missed = [
        (check["figure"] / check["target"], name)
        for name, check in checks.items()
        if not check["met"] and name.startswith("log_appends")
    ]
    if not missed:
        return None
    share, name = min(missed)
    backend = name.rsplit("_", 1)[1]
    return {"backend": backend, "why": f"{name} at {share:.0%} of its target"}


def _print_ballots(name: str, f: dict[str, Any], floor_rate: float) -> None:
    cpu, p50 = f["server_cpu_ms_per_ballot"], f["latency_ms"]["p50_ms"]
    over = f" {f['over_1proc']:.2f}x one process," if "over_1proc" in f else ""
    print(
        f"  ballots, {name}: {f['ballots_per_s']:,.0f}/s ({f['ballots_per_s'] / floor_rate:.2f}x "
        f"the floor),{over} {f['ballots']} of {f['seats']} seats in {f['seconds']:.1f} s, "
        "server CPU "
        f"{'-' if cpu is None else f'{cpu:.2f}'} ms a ballot, p50 "
        f"{'-' if p50 is None else f'{p50:.0f}'} ms, errors {f['errors_by_status'] or 'none'}"
    )


def _print_appends(backend: str, writers: str, f: dict[str, Any], floor_rate: float) -> None:
    lock = f["head_lock"]

    def ms(part: str) -> str:
        value = lock[part]["mean_ms"]
        return "-" if value is None else f"{value:.2f}"

    ceiling = lock["ceiling_per_s_from_mean_hold"]  # None where the lock is shared
    bound = "" if ceiling is None else f" (ceiling {ceiling:,.0f}/s)"
    print(
        f"  log appends, {backend}, {writers:>2} writers: {f['appends_per_s']:7,.0f}/s "
        f"({f['appends_per_s'] / floor_rate:.2f}x the floor); {lock['lock']}: wait {ms('wait')} "
        f"ms, held {ms('hold_until_commit')} ms of which commit {ms('commit')} ms"
        f"{bound}, waiting {lock['wait_share_of_writer_time']:.0%} "
        f"of writer time"
    )


def _print_profile(profile: dict[str, Any]) -> None:
    print(
        f"  profile ({profile['appends']} appends, {profile['appends_per_s']:,.0f}/s under "
        f"cProfile), top by cumulative time over all writer threads:"
    )
    for row in profile["top_cumulative"]:
        print(f"    {row['cumulative_share']:6.1%} {row['cumtime_s']:8.2f} s  {row['function']}")
    print("  top by own time:")
    for row in profile["top_own_time"]:
        print(f"    {row['tottime_s']:8.2f} s {row['calls']:8} calls  {row['function']}")


if __name__ == "__main__":
    sys.exit(main())
