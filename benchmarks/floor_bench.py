"""Floor benchmark: what the stack itself allows, with none of isegoria's work in the way.

Run: ``.venv/bin/python benchmarks/floor_bench.py [--quick] [--out PATH]``.

``load_bench.py`` asks how fast isegoria answers; this asks how fast *any* request could
be answered on this machine by the same stack (uvicorn with httptools, FastAPI, pydantic,
SQLite in WAL mode with ``synchronous=FULL``), driven by the same closed-loop client
(``load_driver.py``, 32 connections) sharing the same cores. A bare app defined below
serves four endpoints, and each is driven alone for a few seconds:

* ``GET /ref``: an answer from memory (async; no database);
* ``GET /read/{id}``: one primary-key row read on a pooled connection (sync handler);
* ``POST /write/{id}``: the least a durable ballot could be: a pydantic body, and in one
  ``BEGIN IMMEDIATE`` transaction two reads, two inserts (the ballot and a log row), a
  node row and a counter update, then a commit flushed to disk (sync handler; writers
  take turns on one lock, as SQLite allows one writer);
* ``POST /write-async/{id}``: the same on the event loop, without the thread-pool hop.

There is no authentication, no CSRF check, no rate limit, no hashing or signing, no
verdict, no middleware, so these are upper bounds: isegoria's own figures
(``load_bench.py``) can approach them but not pass them. Every figure is printed with its
ratio to ``GET /ref`` measured in the same run; results go to
``benchmarks/results/floor_bench.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.load_bench import server_cpu_seconds  # noqa: E402
from benchmarks.load_driver import Call, drive  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from pydantic import BaseModel  # noqa: E402

CONNECTIONS = 32  # as in load_bench.py
CASES = 1000
FULL = {"seconds": 6.0}
QUICK = {"seconds": 1.5}
DB_ENV = "FLOOR_BENCH_DB"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "floor_bench.json"
SCHEMA = """
CREATE TABLE cases (id INTEGER PRIMARY KEY, ballots INTEGER NOT NULL DEFAULT 0);
CREATE TABLE ballots (id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL, violation INTEGER,
                      reason TEXT);
CREATE INDEX ballots_case ON ballots (case_id);
CREATE TABLE log (idx INTEGER PRIMARY KEY, kind TEXT, payload BLOB);
CREATE TABLE nodes (level INTEGER, idx INTEGER, hash BLOB, PRIMARY KEY (level, idx));
"""

app = FastAPI()
_local = threading.local()
_writer = threading.Lock()  # one SQLite writer at a time, as isegoria's write turn


class Ballot(BaseModel):
    """The body a juror sends."""

    violation: bool
    reason: str
    sanction: str | None = None


def _connection() -> sqlite3.Connection:
    connection: sqlite3.Connection | None = getattr(_local, "connection", None)
    if connection is None:
        connection = sqlite3.connect(os.environ[DB_ENV], isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA busy_timeout=5000")
        _local.connection = connection
    return connection


def _write(connection: sqlite3.Connection, case_id: int, ballot: Ballot) -> int:
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute("SELECT id FROM cases WHERE id = ?", (case_id,)).fetchone()
        connection.execute("SELECT count(*) FROM ballots WHERE case_id = ?", (case_id,))
        connection.execute(
            "INSERT INTO ballots (case_id, violation, reason) VALUES (?, ?, ?)",
            (case_id, ballot.violation, ballot.reason),
        )
        cursor = connection.execute(
            "INSERT INTO log (kind, payload) VALUES ('BallotCast', ?)", (b"x" * 300,)
        )
        connection.execute(
            "INSERT INTO nodes (level, idx, hash) VALUES (0, ?, ?)",
            (cursor.lastrowid, b"h" * 32),
        )
        connection.execute("UPDATE cases SET ballots = ballots + 1 WHERE id = ?", (case_id,))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return int(cursor.lastrowid or 0)


@app.get("/ref")
async def reference() -> dict[str, str]:
    """An answer from memory."""
    return {"algorithm": "Ed25519"}


@app.get("/read/{case_id}")
def read(case_id: int) -> dict[str, int]:
    """One row by primary key."""
    row = _connection().execute("SELECT id, ballots FROM cases WHERE id = ?", (case_id,))
    found = row.fetchone()
    return {"id": found[0], "ballots": found[1]}


@app.post("/write/{case_id}", status_code=201)
def write(case_id: int, ballot: Ballot) -> dict[str, int]:
    """A minimal durable ballot, in the thread pool."""
    with _writer:
        return {"entry": _write(_connection(), case_id, ballot)}


@app.post("/write-async/{case_id}", status_code=201)
async def write_async(case_id: int, ballot: Ballot) -> dict[str, int]:
    """The same minimal ballot on the event loop (one writer: the loop itself)."""
    return {"entry": _write(_connection(), case_id, ballot)}


def _seed(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.executescript("PRAGMA journal_mode=WAL;" + SCHEMA)
    connection.executemany("INSERT INTO cases (id) VALUES (?)", [(n,) for n in range(1, CASES)])
    connection.commit()
    connection.close()


def _workload(endpoint: str) -> Any:
    body = {"violation": True, "reason": "A threat.", "sanction": "remove"}

    def next_call(rng: Any) -> Call:
        case = rng.randrange(1, CASES)
        if endpoint == "GET /ref":
            return Call(endpoint, "GET", "/ref")
        if endpoint == "GET /read/{id}":
            return Call(endpoint, "GET", f"/read/{case}")
        path = "/write" if endpoint == "POST /write/{id}" else "/write-async"
        return Call(endpoint, "POST", f"{path}/{case}", {}, body)

    return next_call


ENDPOINTS = ["GET /ref", "GET /read/{id}", "POST /write/{id}", "POST /write-async/{id}"]


def _wait_for(port: int, limit: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ref", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the floor server did not start")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def measure(endpoints: list[str], seconds: float) -> dict[str, Any]:
    """Serve the bare app on a fresh database and drive each endpoint alone for ``seconds``."""
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "floor.db"
        _seed(database)
        port = _free_port()
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "uvicorn", "benchmarks.floor_bench:app", "--port", str(port)]
            + ["--http", "httptools", "--log-level", "warning", "--no-access-log"],
            cwd=ROOT,
            env={**os.environ, DB_ENV: str(database)},
        )
        try:
            _wait_for(port)
            for endpoint in endpoints:
                cpu_before = server_cpu_seconds(server.pid)
                result = asyncio.run(
                    drive(
                        "127.0.0.1",
                        port,
                        _workload(endpoint),
                        connections=CONNECTIONS,
                        duration=seconds,
                    )
                )
                cpu = server_cpu_seconds(server.pid) - cpu_before
                ok = sum(e["ok"] for e in result["endpoints"].values())
                errors = sum(result["errors_by_status"].values())
                figures[endpoint] = {
                    "ok_per_s": result["ok_per_s"],
                    "server_cpu_ms_per_ok_request": 1000 * cpu / ok if ok else None,
                    "errors": errors,
                    "latency_ms": result["endpoints"][endpoint],
                }
        finally:
            server.terminate()
            server.wait(timeout=30)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Serve the bare app, drive each endpoint alone, print and write the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1.5 s per endpoint")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results path")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    started = time.perf_counter()
    figures = measure(ENDPOINTS, size["seconds"])
    reference = figures["GET /ref"]["ok_per_s"]
    print(f"floor_bench: {os.cpu_count()} cores, {CONNECTIONS} connections")
    for endpoint, f in figures.items():
        f["ratio_to_reference"] = f["ok_per_s"] / reference
        cpu = f["server_cpu_ms_per_ok_request"]
        print(
            f"  {endpoint:24} {f['ok_per_s']:8.0f}/s  {cpu:.3f} ms CPU a request  "
            f"{f['ratio_to_reference']:.2f}x the reference  errors {f['errors']}"
        )
    results = {
        "benchmark": "floor_bench",
        "quick": args.quick,
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "connections": CONNECTIONS,
        "shared_machine": True,
        "load_average": os.getloadavg()[0],
        "endpoints": figures,
        "wall_seconds": time.perf_counter() - started,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
