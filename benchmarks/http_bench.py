"""HTTP overhead benchmark: what one request costs the server around the handler's own work.

Run: ``.venv/bin/python benchmarks/http_bench.py [--quick] [--out PATH]``.

It seeds a small world into SQLite (``load_world.py``: a platform key, a case, citizens with
browser sessions), starts one ``isegoria serve`` process, and drives each endpoint alone in
turn with a few keep-alive connections (``load_driver.py``), measuring requests per second,
p50/p99 latency and the server's CPU time per request (user + system, from /proc). The
endpoints, from cheapest to most involved:

* ``GET /api/v1/log/key`` -- the reference: answered from memory, no database.
* ``GET /healthz`` -- one ``SELECT 1`` and a schema revision check.
* ``GET /api/v1/log`` -- one indexed select (the latest checkpoint).
* ``GET /api/v1/cases/{id}`` -- one case with its decisions.
* ``GET /api/v1/platform`` with a bearer key -- the cheapest platform read: the key is
  authenticated, then one row is read.
* ``GET /api/v1/me`` with a session cookie -- the cheapest citizen read.

CPU per request is the figure to compare across runs: on the shared 2-core machine the
request rate also depends on what else runs, the CPU a request costs the server does not.
All traffic comes from one loopback address and a few identities, so the per-address,
per-person and per-platform budgets are raised for the run (the limiter still runs).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.load_bench import server, server_cpu_seconds  # noqa: E402
from benchmarks.load_driver import Call, drive  # noqa: E402
from benchmarks.load_world import Seeded, data_dir_settings, seed  # noqa: E402

API = "/api/v1"
REFERENCE = "GET /log/key"
#: Few connections: enough to keep one process busy, few enough that the driver (on the
#: same 2 cores) does not starve it; the issue's figures were measured with 4.
CONNECTIONS = 4
FULL = {"seconds": 8.0, "warmup_seconds": 1.0}
QUICK = {"seconds": 2.0, "warmup_seconds": 0.5}
SERVER_ENV = {
    "ISEGORIA_LOG_LEVEL": "warning",  # an info line per request would be measured too
    "ISEGORIA_RATELIMIT_API_ADDRESS": "100000000/1m",
    "ISEGORIA_RATELIMIT_API_PERSON": "100000000/1m",
    "ISEGORIA_RATELIMIT_API_PLATFORM": "100000000/1m",
}
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "http_bench.json"


def endpoints(world: Seeded) -> dict[str, Any]:
    """Each measured endpoint's name and a function making its next request."""
    people = itertools.cycle(sorted({p for _, p in world.votes}, key=lambda p: p.account_id))
    case_id = world.case_ids[0]
    bearer = {"Authorization": f"Bearer {world.platform_key}"}

    def me(_rng: object) -> Call:
        person = next(people)
        return Call("GET /me", "GET", f"{API}/me", {"Cookie": f"isegoria_session={person.cookie}"})

    return {
        REFERENCE: lambda _r: Call(REFERENCE, "GET", f"{API}/log/key"),
        "GET /healthz": lambda _r: Call("GET /healthz", "GET", "/healthz"),
        "GET /log": lambda _r: Call("GET /log", "GET", f"{API}/log"),
        "GET /cases/{id}": lambda _r: Call("GET /cases/{id}", "GET", f"{API}/cases/{case_id}"),
        "GET /platform (key)": lambda _r: Call(
            "GET /platform (key)", "GET", f"{API}/platform", bearer
        ),
        "GET /me (cookie)": me,
    }


def measure(host: str, port: int, pid: int, make: Any, size: dict[str, float]) -> dict[str, Any]:
    """Drive one endpoint: a warm-up, then the measured run with the server's CPU time."""
    asyncio.run(drive(host, port, make, connections=CONNECTIONS, duration=size["warmup_seconds"]))
    cpu_before = server_cpu_seconds(pid)
    summary = asyncio.run(
        drive(host, port, make, connections=CONNECTIONS, duration=size["seconds"])
    )
    cpu = server_cpu_seconds(pid) - cpu_before
    (name, figures), *_ = summary["endpoints"].items()
    answered = sum(figures["statuses"].values())
    return {
        "endpoint": name,
        "ok_per_s": figures["ok_per_s"],
        "p50_ms": figures["p50_ms"],
        "p99_ms": figures["p99_ms"],
        "statuses": figures["statuses"],
        "server_cpu_seconds": cpu,
        "server_cpu_ms_per_request": 1000 * cpu / max(answered, 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Seed, serve, drive each endpoint; print and write the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 s per endpoint")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results path")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    print(
        f"http_bench: {os.cpu_count()} cores, {CONNECTIONS} connections, "
        f"{size['seconds']:.0f} s per endpoint"
    )
    started = time.perf_counter()
    results: dict[str, Any] = {}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "sqlite"
        world = seed(data_dir_settings(data_dir, None), cases=2, proposals=1)
        with server(data_dir, None, 1, SERVER_ENV) as (host, port, pid):
            for name, make in endpoints(world).items():
                results[name] = measure(host, port, pid, make, size)
    reference = results[REFERENCE]
    for name, figures in results.items():
        figures["ratio_to_reference"] = figures["ok_per_s"] / max(reference["ok_per_s"], 1e-9)
        figures["cpu_over_reference_ms"] = (
            figures["server_cpu_ms_per_request"] - reference["server_cpu_ms_per_request"]
        )
        print(
            f"  {name:22} {figures['ok_per_s']:8,.0f}/s ({figures['ratio_to_reference']:.2f}x)"
            f"  p50 {figures['p50_ms'] or 0:6.2f} ms  p99 {figures['p99_ms'] or 0:6.2f} ms  "
            f"server CPU {figures['server_cpu_ms_per_request']:.3f} ms/request  "
            f"{figures['statuses']}"
        )
    output = {
        "benchmark": "http_bench",
        "quick": args.quick,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "shared_machine": True,
        "connections": CONNECTIONS,
        "server_env": SERVER_ENV,
        "reference": REFERENCE,
        "endpoints": results,
        "load_average_before_after": [load_before, os.getloadavg()[0]],
        "wall_seconds": time.perf_counter() - started,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(output, indent=2) + "\n")
    print(f"wrote {args.out} in {output['wall_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
