"""Load benchmark: real isegoria servers on loopback, driven by a bounded mixed load.

Run: ``.venv/bin/python benchmarks/load_bench.py [--quick] [--out PATH]``.

For each configuration (SQLite with one app process, with ``synchronous=FULL`` and then
``NORMAL``; PostgreSQL with one, then two app processes behind the same database) it seeds
a world into the database (``load_world.py``; one per database, each run casting its own
half of the ballots and votes), starts ``isegoria serve --workers N`` as a subprocess, and drives it
from this process (``load_driver.py``) with a fixed number of keep-alive connections for a
fixed time, in phases: platform report intake alone, juror ballots alone, citizen votes on
open law proposals alone, public reads alone (cases: list, one case; the log: latest
checkpoint, a page of entries, an inclusion proof), then all of them mixed. Every report is
about a new post, so it opens a case whose jury the job worker draws; after each phase the
bench waits for the worker to draw every pending jury and reports that rate too (juries
drawn per second), so a phase does not pay for the previous one's draws. It reports
requests per second, p50/p99 latency per endpoint, server CPU per request, errors by
status, and the 1 -> 2 process scaling on PostgreSQL per phase, and checks
afterwards that every report answered 201 is in the database.

Processes: ``--workers N`` (uvicorn's supervisor, one listening socket shared by N
processes), the deployment the operator guide describes; the job worker runs once, in the
supervisor. The servers use the throughput settings of docs/operations.md: checkpoints
coalesced every 200 ms, SQLite ``synchronous=FULL`` kept (every commit is durable).

The reference, measured in the same run against the same server, is ``GET /api/v1/log/key``:
the cost of one request through the HTTP stack with no database work. Every figure is also
printed as a fraction of it. All traffic comes from one loopback address, so the anonymous
per-address rate limit is raised for the run (per-person and per-platform limits stay).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support.* starts servers and PostgreSQL clusters

from benchmarks.case_bench import postgres_database  # noqa: E402
from benchmarks.load_driver import EXHAUSTED, Call, Exhausted, drive  # noqa: E402
from benchmarks.load_world import Person, Seeded, data_dir_settings, seed  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from tests.support.postgres import throwaway_cluster  # noqa: E402
from tests.support.server import live_server  # noqa: E402

from isegoria.cases.intake import JOB_DRAW_JURY  # noqa: E402
from isegoria.jobs.queue import JobStatus  # noqa: E402
from isegoria.store.db import Database  # noqa: E402
from isegoria.store.models import Job  # noqa: E402
from isegoria.store.models_cases import Report  # noqa: E402

CONNECTIONS = 32  # closed-loop clients; under the default in-flight cap of 40 per process
FULL = {"cases": 600, "proposals": 4, "seconds": 10.0, "reference_seconds": 4.0}
QUICK = {"cases": 12, "proposals": 1, "seconds": 2.0, "reference_seconds": 1.0}
#: Share of each operation in the mixed phase; an exhausted pool (ballots, votes) is skipped.
MIX = {
    "POST /reports": 20,
    "POST /cases/{id}/ballot": 10,
    "POST /proposals/{id}/vote": 15,
    "GET /cases": 10,
    "GET /cases/{id}": 15,
    "GET /log": 10,
    "GET /log/entries": 10,
    "GET /log/entries/{i}": 10,
}
SERVER_ENV = {
    "ISEGORIA_CHECKPOINT_INTERVAL_MS": "200",
    "ISEGORIA_LOG_LEVEL": "warning",  # one info line per request would be measured too
    "ISEGORIA_RATELIMIT_API_ADDRESS": "1000000/1m",  # every client here is 127.0.0.1
}
#: Phases run one after the other against each server: one kind of write at a time (so its
#: rate is not set by the slowest request of a mix), public reads alone, then the mix.
#: A phase whose pool runs out (ballot seats, votes) ends early; its rate is over its time.
READS = {k: v for k, v in MIX.items() if k.startswith("GET ")}
PHASES: dict[str, dict[str, int]] = {
    "reports": {"POST /reports": 1},
    "reports_joining": {"POST /reports (joining)": 1},
    "batches": {"POST /reports/batch": 1},
    "ballots": {"POST /cases/{id}/ballot": 1},
    "votes": {"POST /proposals/{id}/vote": 1},
    "reads": READS,
    "mixed": MIX,
}
#: Reports per call of the batch phase (the endpoint takes up to 100).
BATCH = 100
#: Share of the ballot seats and votes the single-kind phases may use; the mix gets the rest.
PHASE_SHARE = 0.5
#: How long to wait for the worker to draw the juries a phase's reports asked for.
DRAIN_LIMIT_SECONDS = 120.0
API = "/api/v1"
REFERENCE = f"{API}/log/key"  # an answer from memory: the HTTP stack alone
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "load_bench.json"
_posts = itertools.count(1)


class Workload:
    """Draws the next request of a mix, consuming ballot seats and votes as it goes."""

    def __init__(
        self, world: Seeded, seats: list[Any], votes: list[Any], mix: dict[str, int] = MIX
    ) -> None:
        self.world = world
        self.seats = list(seats)
        self.votes = list(votes)
        self.log_size = 1
        self.names = list(mix)
        self.weights = [mix[n] for n in self.names]

    def __call__(self, rng: random.Random) -> Call | Exhausted | None:
        """One request; None when the drawn pool is empty (the caller draws again), and
        EXHAUSTED when every pool of the mix is."""
        if self.names == ["POST /cases/{id}/ballot"] and not self.seats:
            return EXHAUSTED
        if self.names == ["POST /proposals/{id}/vote"] and not self.votes:
            return EXHAUSTED
        name = rng.choices(self.names, self.weights)[0]
        if name == "POST /reports":
            return self._report()
        if name == "POST /reports (joining)":
            body = self._report_body(rng.choice(self.world.post_ids), self.world.posted_at)
            return Call(name, "POST", f"{API}/reports", self._platform(), body)
        if name == "POST /reports/batch":
            posts = [rng.choice(self.world.post_ids) for _ in range(BATCH)]
            body = {"reports": [self._report_body(p, self.world.posted_at) for p in posts]}
            return Call(name, "POST", f"{API}/reports/batch", self._platform(), body)
        if name == "POST /cases/{id}/ballot":
            if not self.seats:
                return None
            case_id, person = self.seats.pop(rng.randrange(len(self.seats)))
            violation = rng.random() < 0.6
            body = {"violation": violation, "reason": "A threat." if violation else "Hyperbole."}
            if violation:
                body["sanction"] = "remove"
            return _as(person, Call(name, "POST", f"{API}/cases/{case_id}/ballot", body=body))
        if name == "POST /proposals/{id}/vote":
            if not self.votes:
                return None
            proposal_id, person = self.votes.pop(rng.randrange(len(self.votes)))
            body = {"choice": rng.choice(["yes", "no", "abstain"])}
            return _as(person, Call(name, "POST", f"{API}/proposals/{proposal_id}/vote", body=body))
        if name == "GET /cases":
            return Call(name, "GET", f"{API}/cases?limit=20")
        if name == "GET /cases/{id}":
            return Call(name, "GET", f"{API}/cases/{rng.choice(self.world.case_ids)}")
        if name == "GET /log":
            return Call(name, "GET", f"{API}/log")
        if name == "GET /log/entries":
            return Call(
                name, "GET", f"{API}/log/entries?start={rng.randrange(self.log_size)}&limit=20"
            )
        return Call(name, "GET", f"{API}/log/entries/{rng.randrange(self.log_size)}")

    def _report(self) -> Call:
        """A report about a new post: it opens a case, whose jury the worker then draws."""
        post = f"load-{os.getpid()}-{next(_posts)}"
        posted = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        body = self._report_body(post, posted)
        return Call("POST /reports", "POST", f"{API}/reports", self._platform(), body)

    def _platform(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.world.platform_key}"}

    @staticmethod
    def _report_body(post: str, posted_at: str) -> dict[str, Any]:
        return {
            "content": {
                "content_id": post,
                "url": f"https://forum.example/{post}",
                "text": "I know where you live.",
                "language": "es",
                "author": "@troll",
                "posted_at": posted_at,
                "jurisdictions": ["MX"],
            },
            "rule": "MX-1",
            "reason": "A threat against a named person.",
            "source": "user",
        }


def _as(person: Person, call: Call) -> Call:
    headers = {"Cookie": f"isegoria_session={person.cookie}", "X-CSRF-Token": person.csrf}
    return Call(call.endpoint, call.method, call.path, headers, call.body)


@contextmanager
def server(
    data_dir: Path, database_url: str | None, workers: int, extra: dict[str, str] | None = None
) -> Iterator[tuple[str, int, int]]:
    """``isegoria serve --workers N`` on a free port; yields (host, port, pid)."""
    env = {
        **SERVER_ENV,
        **(extra or {}),
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="isegoria-prom-"),
    }
    if database_url is not None:
        env["ISEGORIA_DATABASE_URL"] = database_url
    with live_server(data_dir, "serve", "--workers", str(workers), env=env) as live:
        host, port = live.url.removeprefix("http://").split(":")
        yield host, int(port), live.process.pid


def run_config(
    name: str,
    data_dir: Path,
    url: str | None,
    workers: int,
    world: Seeded,
    size: dict[str, Any],
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Drive one server configuration through every phase; return its figures."""
    split = round(len(world.seats) * PHASE_SHARE), round(len(world.votes) * PHASE_SHARE)
    pools = {
        "ballots": (world.seats[: split[0]], []),
        "votes": ([], world.votes[: split[1]]),
        "mixed": (world.seats[split[0] :], world.votes[split[1] :]),
    }
    acknowledged = [0]

    def on_answer(call: Call, status: int, body: bytes) -> None:
        if status == 201 and call.endpoint.startswith("POST /reports"):
            answer = json.loads(body)
            acknowledged[0] += len(answer["reports"]) if "reports" in answer else 1

    load_before = os.getloadavg()[0]
    phases: dict[str, Any] = {}
    database = Database(data_dir_settings(data_dir, url).effective_database_url)
    reports_before = _reports_stored(database)
    with server(data_dir, url, workers, extra) as (host, port, pid):
        log_size = _log_size(host, port)
        reference = asyncio.run(
            drive(
                host,
                port,
                lambda _r: Call(REFERENCE, "GET", REFERENCE),
                connections=CONNECTIONS,
                duration=size["reference_seconds"],
            )
        )
        for phase, mix in PHASES.items():
            seats, votes = pools.get(phase, ([], []))
            workload = Workload(world, seats, votes, mix)
            workload.log_size = log_size
            cpu_before = server_cpu_seconds(pid)
            figures = asyncio.run(
                drive(
                    host,
                    port,
                    workload,
                    connections=CONNECTIONS,
                    duration=size["seconds"],
                    on_answer=on_answer,
                )
            )
            # CPU the app processes spent on the phase: unlike wall time, it barely depends
            # on what else the shared machine runs, so it compares across runs.
            figures["server_cpu_seconds"] = server_cpu_seconds(pid) - cpu_before
            ok = sum(e["ok"] for e in figures["endpoints"].values())
            figures["server_cpu_ms_per_ok_request"] = (
                1000 * figures["server_cpu_seconds"] / ok if ok else None
            )
            figures["ok_per_server_cpu_second"] = ok / max(figures["server_cpu_seconds"], 1e-9)
            figures["draws"] = _drain_draws(database)
            reports = sum(
                e["ok"] * (BATCH if endpoint == "POST /reports/batch" else 1)
                for endpoint, e in figures["endpoints"].items()
                if endpoint.startswith("POST /reports")
            )
            figures["reports_per_s"] = reports / figures["seconds"]
            phases[phase] = figures
    stored = _reports_stored(database) - reports_before
    database.dispose()
    mixed = dict(phases["mixed"])
    mixed["phases"] = phases
    mixed["reference_per_s"] = reference["ok_per_s"]
    mixed["ratio_to_reference"] = mixed["ok_per_s"] / reference["ok_per_s"]
    mixed["reports_acknowledged"] = acknowledged[0]
    mixed["reports_stored"] = stored
    mixed["workers"] = workers
    mixed["server_env"] = extra or {}
    # The machine is shared: the 1-minute load average says how much else was running.
    mixed["load_average_before_after"] = [load_before, os.getloadavg()[0]]
    _print(name, mixed)
    return mixed


def _drain_draws(database: Database, limit: float = DRAIN_LIMIT_SECONDS) -> dict[str, Any]:
    """Wait until the worker has drawn every due jury; how many it drew and how fast."""
    started = time.perf_counter()
    pending = before = _pending_draws(database)
    while pending and time.perf_counter() - started < limit:
        time.sleep(0.25)
        pending = _pending_draws(database)
    seconds = time.perf_counter() - started
    drawn = before - pending
    return {
        "pending_at_end_of_phase": before,
        "drawn": drawn,
        "left_after_limit": pending,
        "seconds": seconds,
        "per_s": drawn / seconds if drawn else None,
    }


def _pending_draws(database: Database) -> int:
    with database.session(readonly=True) as session:
        count = session.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.kind == JOB_DRAW_JURY, Job.status == JobStatus.PENDING.value)
        )
    return int(count or 0)


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and every descendant (uvicorn's workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # the process ended while we looked
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent and p not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(cpu.get(p, 0.0) for p in tree)


def _log_size(host: str, port: int) -> int:
    import httpx

    return int(httpx.get(f"http://{host}:{port}{API}/log", timeout=10).json()["size"])


def _reports_stored(database: Database) -> int:
    """Reports in the database (each acknowledged one must be there)."""
    with database.session(readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(Report)) or 0)


def _print(name: str, f: dict[str, Any]) -> None:
    print(
        f"[{name}] reference {REFERENCE} {f['reference_per_s']:,.0f}/s; errors in the mix "
        f"{f['errors_by_status'] or 'none'}; reports acknowledged {f['reports_acknowledged']}, "
        f"stored {f['reports_stored']}; load average "
        f"{f['load_average_before_after'][0]:.1f} -> {f['load_average_before_after'][1]:.1f}"
    )
    for phase, figures in f["phases"].items():
        cpu = figures["server_cpu_ms_per_ok_request"]
        print(
            f"  {phase:8} {figures['ok_per_s']:8,.0f} ok/s in {figures['seconds']:.1f} s, "
            f"server CPU {cpu if cpu is None else f'{cpu:.2f}'} ms per request, "
            f"errors {figures['errors_by_status'] or 'none'}"
            + (f", {figures['reports_per_s']:,.0f} reports/s" if figures["reports_per_s"] else "")
        )
        draws = figures["draws"]
        if draws["drawn"]:
            print(
                f"    then {draws['drawn']} juries drawn in {draws['seconds']:.1f} s "
                f"({draws['per_s']:.1f}/s), {draws['left_after_limit']} left"
            )
        for endpoint, e in figures["endpoints"].items():
            p50 = f"{e['p50_ms']:.1f}" if e["p50_ms"] is not None else "-"
            p99 = f"{e['p99_ms']:.1f}" if e["p99_ms"] is not None else "-"
            print(
                f"    {endpoint:28} {e['ok_per_s']:8,.1f}/s  p50 {p50:>7} ms  p99 {p99:>7} ms  "
                f"{e['statuses']}"
            )


def main(argv: list[str] | None = None) -> int:
    """Seed, serve and drive each configuration; print and write the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small world, 3 s per run")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results path")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    print(
        f"load_bench: {os.cpu_count()} cores, {CONNECTIONS} connections, "
        f"{size['seconds']:.0f} s per configuration"
    )
    started = time.perf_counter()
    configs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        world = seed(data_dir_settings(base / "sqlite", None), **_world(size))
        first, second = halves(world)
        configs["sqlite_1"] = run_config("sqlite, 1 process", base / "sqlite", None, 1, first, size)
        if not args.quick:  # --quick keeps to the three configurations the issue names
            configs["sqlite_1_normal"] = run_config(
                "sqlite synchronous=normal, 1 process",
                base / "sqlite",
                None,
                1,
                second,
                size,
                {"ISEGORIA_SQLITE_SYNCHRONOUS": "normal"},
            )
        with throwaway_cluster(durable=True) as pg:
            url = postgres_database(pg, "load_bench")
            world = seed(data_dir_settings(base / "pg", url), **_world(size))
            first, second = halves(world)  # each run casts ballots and votes of its own
            configs["postgresql_1"] = run_config(
                "postgresql, 1 process", base / "pg", url, 1, first, size
            )
            configs["postgresql_2"] = run_config(
                "postgresql, 2 processes", base / "pg", url, 2, second, size
            )
    scaling = configs["postgresql_2"]["ok_per_s"] / configs["postgresql_1"]["ok_per_s"]
    by_phase = {
        phase: configs["postgresql_2"]["phases"][phase]["ok_per_s"]
        / max(configs["postgresql_1"]["phases"][phase]["ok_per_s"], 1e-9)
        for phase in PHASES
    }
    print(
        f"PostgreSQL 1 -> 2 processes: {scaling:.2f}x requests per second in the mix; "
        + ", ".join(f"{p} {x:.2f}x" for p, x in by_phase.items())
    )
    results = {
        "benchmark": "load_bench",
        "quick": args.quick,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "shared_machine": True,
        "connections": CONNECTIONS,
        "mix": MIX,
        "phases": PHASES,
        "server_env": SERVER_ENV,
        "configs": configs,
        "postgresql_scaling_1_to_2": scaling,
        "postgresql_scaling_1_to_2_by_phase": by_phase,
        "wall_seconds": time.perf_counter() - started,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out} in {results['wall_seconds']:.0f} s")
    return 0


def halves(world: Seeded) -> tuple[Seeded, Seeded]:
    """The world twice, each with half of the unused ballot seats and votes."""
    seats, votes = len(world.seats) // 2, len(world.votes) // 2
    return (
        replace(world, seats=world.seats[:seats], votes=world.votes[:votes]),
        replace(world, seats=world.seats[seats:], votes=world.votes[votes:]),
    )


def _world(size: dict[str, Any]) -> dict[str, int]:
    return {"cases": size["cases"], "proposals": size["proposals"]}


if __name__ == "__main__":
    sys.exit(main())
