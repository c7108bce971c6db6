"""What stops ballots scaling over processes: PostgreSQL's wait events and the CPU.

``observe(url, app_pid)`` wraps one ballots run of ``scale_bench.py``. While it runs, a
thread reads ``pg_stat_activity`` every ``SAMPLE_SECONDS`` and files each of the app's
backends (the database's client backends but the sampler's own and the processes' idle
``LISTEN`` connections) under one state:

* ``pool: idle`` - a connection resting in an app process's pool, used by no request;
* ``app: idle in transaction`` - checked out by a request that is running Python (or
  waiting for the GIL or the event loop) between two statements of its transaction;
* ``pg: on CPU`` - a statement running in PostgreSQL, waiting for nothing;
* ``Lock:<event> <statement>`` - a statement queued on a heavyweight lock, named by the
  statement that waits (a row lock shows as ``Lock:transactionid``: the holder's
  transaction, so the statement says which row);
* ``<type>:<event>`` - any other wait (``IO:WALSync`` is the commit's flush to disk,
  ``LWLock:WALWrite`` a queue for it, ``Client:ClientRead`` the app being slow to send).

It reports each state's share of all backend samples and its mean number of backends, the
most connections the app had checked out at once against its pools' capacity (SQLAlchemy's
own wait for a connection is in the app, out of ``pg_stat_activity``'s sight: a full pool
shows as every connection checked out), and the CPU, from ``/proc``, used over the run by
each app process, by the cluster's processes, by this benchmark's process (the load client
and the sampler) and by the whole machine (other people's work included).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks.load_world import Seeded
from sqlalchemy import create_engine, text

#: How often pg_stat_activity is read (the brief of issue 19 §2: every 50 ms).
SAMPLE_SECONDS = 0.05
#: Characters of a waiting statement kept to name the lock it waits for.
STATEMENT_CHARS = 120
#: PostgreSQL backends flush their statistics (pg_stat_wal) at most about once a second.
STATS_FLUSH_SECONDS = 1.2
#: Below this share of a core over a run, a child of the app is not counted as an app process.
IDLE_PROCESS_SHARE = 0.005
#: Connections an app process's pool may hand out: ``pool_size`` plus as many in overflow
#: (``isegoria.store.db.Database``, default ``ISEGORIA_DATABASE_POOL_SIZE=10``).
POOL_CAPACITY_PER_PROCESS = 20

_SAMPLE = text(
    """
    SELECT state, wait_event_type, wait_event, left(regexp_replace(query, '\\s+', ' ', 'g'), :n)
    FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND backend_type = 'client backend' AND query NOT LIKE 'LISTEN%'
    """
)


_COUNTERS = text(
    """
    SELECT pg_current_wal_lsn() - '0/0', pg_snapshot_xmax(pg_current_snapshot())::text::bigint,
           wal_write, wal_sync
    FROM pg_stat_wal
    """
)
_LARGEST = text(
    """
    SELECT relname, pg_total_relation_size(relid) FROM pg_stat_user_tables
    ORDER BY 2 DESC LIMIT :n
    """
)


def parts(world: Seeded, n: int) -> list[Seeded]:
    """The world ``n`` times, each with its own ``1/n`` of the unused ballot seats and votes
    (``load_bench.halves`` for any ``n``)."""
    seats, votes = len(world.seats) // n, len(world.votes) // n
    return [
        replace(
            world,
            seats=world.seats[i * seats : (i + 1) * seats],
            votes=world.votes[i * votes : (i + 1) * votes],
        )
        for i in range(n)
    ]


def state_of(state: str | None, wait_type: str | None, wait: str | None, query: str) -> str:
    """The name a backend sample is counted under (see the module's docstring)."""
    if state == "idle":
        return "pool: idle"
    if state == "idle in transaction":
        return "app: idle in transaction"
    if state != "active":
        return f"other: {state}"
    if wait_type is None:
        return "pg: on CPU"
    if wait_type == "Lock":
        return f"Lock:{wait} {_statement(query)}"
    return f"{wait_type}:{wait}"


def _statement(query: str) -> str:
    """The table a waiting statement locks, then its verb (``log_head (SELECT)``): a SELECT
    queued on a row lock is a ``FOR UPDATE``; a long column list may hide its FROM, so the
    first qualified column names the table then; a statement with neither (an advisory
    lock) is named by its first function (``pg_advisory_xact_lock (SELECT)``)."""
    verb = " ".join(query.split()[:1]).upper() or "?"
    table = re.search(r"\b(?:FROM|UPDATE|INTO)\s+([\w.]+)", query, re.IGNORECASE)
    table = table or re.search(r"\b(\w+)\.\w+", query) or re.search(r"\b(\w+)\(", query)
    return f"{table.group(1) if table else '?'} ({verb})"


def kind_of(state: str) -> str:
    """The broad class a state falls in: lock, WAL, app, pool or PostgreSQL's CPU."""
    if state.startswith("Lock:"):
        return f"waiting for a lock on {state.split(' ', 1)[1].split(' (')[0]}"
    if state.startswith(("IO:WAL", "LWLock:WAL")):
        return "waiting for the WAL (commit flush)"
    return {
        "pool: idle": "idle in the pool",
        "app: idle in transaction": "app running Python mid-transaction",
        "pg: on CPU": "PostgreSQL running a statement",
    }.get(state, "other waits")


@dataclass
class _Samples:
    """What the sampling thread gathered."""

    samples: int = 0
    backend_samples: int = 0
    states: Counter[str] = field(default_factory=Counter)
    checked_out_max: int = 0
    checked_out_sum: int = 0
    errors: int = 0


def _sample(url: str, stop: threading.Event, into: _Samples) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1)
    try:
        with engine.connect() as connection:
            while not stop.is_set():
                began = time.perf_counter()
                try:
                    rows = connection.execute(_SAMPLE, {"n": STATEMENT_CHARS}).all()
                except Exception:  # noqa: BLE001 - a lost sample is counted, not fatal
                    into.errors += 1
                    rows = []
                states = [state_of(*row) for row in rows]
                checked_out = sum(1 for s in states if s != "pool: idle")
                into.samples += 1
                into.backend_samples += len(states)
                into.states.update(states)
                into.checked_out_sum += checked_out
                into.checked_out_max = max(into.checked_out_max, checked_out)
                stop.wait(max(0.0, SAMPLE_SECONDS - (time.perf_counter() - began)))
    finally:
        engine.dispose()


def _counters(url: str) -> dict[str, int]:
    """Cluster-wide WAL and transaction counters: exact WAL bytes and write transactions
    (xids handed out), and pg_stat_wal's writes and syncs (flushed by backends about every
    second: read them a second after the load stops)."""
    engine = create_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            row = connection.execute(_COUNTERS).one()
    finally:
        engine.dispose()
    return dict(zip(("wal_bytes", "xids", "wal_writes", "wal_syncs"), map(int, row), strict=True))


def storage(url: str, tables: int = 10) -> dict[str, Any]:
    """The database's size and its largest tables: exact rows and bytes (with indexes)."""
    engine = create_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            size = int(
                connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            )
            largest: dict[str, dict[str, Any]] = {}
            for name, total in connection.execute(_LARGEST, {"n": tables}).all():
                count = f'SELECT count(*) FROM "{name}"'  # noqa: S608 - a name from pg_catalog
                rows = int(connection.execute(text(count)).scalar_one())
                largest[name] = {"rows": rows, "bytes": int(total)}
    finally:
        engine.dispose()
    for table in largest.values():
        table["bytes_per_row"] = table["bytes"] / table["rows"] if table["rows"] else None
    return {"database_bytes": size, "tables": largest}


def _postmaster(url: str) -> int | None:
    """The cluster's postmaster: the parent of one of its backends (same machine)."""
    engine = create_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:  # the backend lives while it is connected
            backend = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
            try:
                return _stat(backend)[0]
            except OSError:
                return None  # a cluster on another host
    finally:
        engine.dispose()


def _stat(pid: int) -> tuple[int, float]:
    """(parent pid, user + system CPU seconds) of ``pid``, from /proc."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds of ``root`` and each of its descendants, by pid."""
    parents, cpu = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)], cpu[int(entry.name)] = _stat(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue  # the process ended while we looked
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent and p not in tree]
        tree.update(children)
        frontier.extend(children)
    return {p: cpu[p] for p in tree if p in cpu}


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of every core, from the first line of /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass
class Observation:
    """Filled in when the ``observe`` block ends."""

    figures: dict[str, Any] = field(default_factory=dict)


@contextmanager
def observe(url: str, app_pid: int, workers: int, *, sample: bool = True) -> Iterator[Observation]:
    """Measure the CPU while the block runs and, if ``sample``, sample the app's backends."""
    postmaster, counters_before = _postmaster(url), _counters(url)
    result, samples, stop = Observation(), _Samples(), threading.Event()
    app_before = tree_cpu(app_pid)
    pg_before = sum(tree_cpu(postmaster).values()) if postmaster else 0.0
    self_before = sum(os.times()[:2])
    machine_before = _machine_busy()
    started = time.perf_counter()
    sampler = threading.Thread(target=_sample, args=(url, stop, samples), daemon=True)
    if sample:
        sampler.start()
    try:
        yield result
    finally:
        stop.set()
        if sample:
            sampler.join()
    wall = time.perf_counter() - started
    app_after = tree_cpu(app_pid)
    pg_cpu = (sum(tree_cpu(postmaster).values()) - pg_before) if postmaster else None
    busy, total = (a - b for a, b in zip(_machine_busy(), machine_before, strict=True))
    # With one worker uvicorn serves in the supervisor itself; with N, in N children (the
    # supervisor then runs the deadline worker's threads and watches the children).
    # (A child that used no CPU, such as multiprocessing's resource tracker, is left out.)
    children = [p for p in app_after if p != app_pid] or [app_pid]
    shares = ((app_after[p] - app_before.get(p, 0.0)) / wall for p in children)
    per_process = sorted((s for s in shares if s >= IDLE_PROCESS_SHARE), reverse=True)
    time.sleep(STATS_FLUSH_SECONDS)
    counters = {k: v - counters_before[k] for k, v in _counters(url).items()}
    n = samples.backend_samples or 1
    kinds: dict[str, float] = {}
    for state, count in samples.states.items():
        kinds[kind_of(state)] = kinds.get(kind_of(state), 0.0) + count / n
    result.figures = {
        "seconds": wall,
        "samples": samples.samples,
        "sample_errors": samples.errors,
        "backends_mean": samples.backend_samples / (samples.samples or 1),
        "states": {
            state: {"share": count / n, "mean_backends": count / (samples.samples or 1)}
            for state, count in samples.states.most_common()
        },
        "kinds": dict(sorted(kinds.items(), key=lambda item: -item[1])),
        "checked_out_mean": samples.checked_out_sum / (samples.samples or 1),
        "checked_out_max": samples.checked_out_max,
        "pool_capacity": workers * POOL_CAPACITY_PER_PROCESS,
        "postgresql": counters,
        "cpu": {
            "app_processes_core_share": per_process,
            "app_supervisor_core_share": (app_after[app_pid] - app_before[app_pid]) / wall,
            "postgresql_core_share": None if pg_cpu is None else pg_cpu / wall,
            "benchmark_process_core_share": (sum(os.times()[:2]) - self_before) / wall,
            "machine_busy_share": busy / total if total else None,
            "cores": os.cpu_count(),
        },
    }


def print_observation(f: dict[str, Any], ballots: int, lines: int = 8) -> None:
    """The wait states that took most backend samples (if sampled), the CPU, the WAL."""
    if f["samples"]:
        print(
            f"    pg_stat_activity: {f['samples']} samples, {f['backends_mean']:.1f} app "
            f"backends on average, checked out {f['checked_out_mean']:.1f} (max "
            f"{f['checked_out_max']} of {f['pool_capacity']} the pools allow)"
        )
        for state, share in list(f["states"].items())[:lines]:
            print(f"      {share['share']:6.1%}  {share['mean_backends']:5.1f} backends  {state}")
        print("    by kind: " + ", ".join(f"{v:.0%} {k}" for k, v in f["kinds"].items()))
    cpu = f["cpu"]
    shares = ", ".join(f"{s:.0%}" for s in cpu["app_processes_core_share"])
    pg, client = cpu["postgresql_core_share"], cpu["benchmark_process_core_share"]
    print(
        f"    CPU (share of one core): app processes {shares}; PostgreSQL "
        f"{'-' if pg is None else f'{pg:.0%}'}; load client {client:.0%}; "
        f"machine busy {cpu['machine_busy_share'] or 0:.0%} of {cpu['cores']} cores"
    )
    pg, each = f["postgresql"], max(ballots, 1)
    print(
        f"    PostgreSQL: {pg['xids']} write transactions ({pg['xids'] / each:.2f} a ballot), "
        f"{pg['wal_bytes'] / each / 1024:.1f} KiB of WAL a ballot, {pg['wal_syncs']} WAL syncs "
        f"({pg['wal_syncs'] / f['seconds']:.0f}/s, {pg['wal_syncs'] / each:.2f} a ballot)"
    )


def print_storage(f: dict[str, Any]) -> None:
    """The database's size and its largest tables."""
    print(f"  PostgreSQL after the ballots: {f['database_bytes'] / 2**20:.1f} MiB")
    for name, table in f["tables"].items():
        per_row = table["bytes_per_row"]
        print(
            f"    {name:28} {table['rows']:8} rows {table['bytes'] / 2**20:7.2f} MiB "
            f"({'-' if per_row is None else f'{per_row:,.0f}'} B a row with indexes)"
        )
