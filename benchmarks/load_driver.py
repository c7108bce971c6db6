"""The load generator of ``load_bench.py``: a fixed number of keep-alive connections, each
sending one request after another for a fixed time, and what every answer took.

A general-purpose HTTP client costs more CPU per request than the server's own handling of
a small read, and on a 2-core machine the generator shares the cores with the servers. So
this speaks just enough HTTP/1.1 (keep-alive, ``Content-Length`` or chunked answers) over
asyncio streams to keep the generator's share small. The load is bounded: it stops after
``duration`` seconds, and each connection waits for its answer before the next request
(closed-loop), so at most ``connections`` requests are ever in flight.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: An answer that takes longer than this is counted as a timeout (status 0).
REQUEST_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Call:
    """One request: the endpoint's name for the report, and what to send."""

    endpoint: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass
class Tally:
    """Latencies and statuses of every answer, by endpoint."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    retry_after_missing: int = 0  # 503 or 429 answers without a Retry-After header

    def record(self, endpoint: str, status: int, seconds: float, headers: dict[str, str]) -> None:
        """Count one answer."""
        self.statuses[endpoint][status] += 1
        if 200 <= status < 300:
            self.latencies[endpoint].append(seconds)
        elif status in (429, 503) and "retry-after" not in headers:
            self.retry_after_missing += 1

    def summary(self, duration: float) -> dict[str, Any]:
        """Requests per second, p50/p99 latency (ms, successful answers) and errors."""
        endpoints: dict[str, Any] = {}
        for endpoint in sorted(self.statuses):
            ok = sorted(self.latencies.get(endpoint, []))
            endpoints[endpoint] = {
                "ok": len(ok),
                "ok_per_s": len(ok) / duration,
                "p50_ms": 1000 * percentile(ok, 0.50) if ok else None,
                "p99_ms": 1000 * percentile(ok, 0.99) if ok else None,
                "statuses": {str(k): v for k, v in sorted(self.statuses[endpoint].items())},
            }
        errors: Counter[int] = Counter()
        for counts in self.statuses.values():
            errors.update({s: n for s, n in counts.items() if not 200 <= s < 300})
        total_ok = sum(len(v) for v in self.latencies.values())
        return {
            "seconds": duration,
            "ok_per_s": total_ok / duration,
            "errors_by_status": {str(k): v for k, v in sorted(errors.items())},
            "retry_after_missing": self.retry_after_missing,
            "endpoints": endpoints,
        }


def percentile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile of a sorted, non-empty list (nearest rank)."""
    index = min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))
    return ordered[index] if len(ordered) > 1 else statistics.fmean(ordered)


class Connection:
    """One keep-alive HTTP/1.1 connection to ``host:port``."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, call: Call) -> tuple[int, dict[str, str], bytes]:
        """Send ``call`` and read the whole answer; reconnects when the server closed."""
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        payload = b"" if call.body is None else json.dumps(call.body).encode()
        lines = [f"{call.method} {call.path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in call.headers.items()]
        if call.body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("the server closed the connection")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while (size := int((await self.reader.readline()).strip(), 16)) > 0:
                body += await self.reader.readexactly(size + 2)
            await self.reader.readline()
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, headers, body

    async def close(self) -> None:
        """Close the socket (the next request reconnects)."""
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None


class Exhausted:
    """What a workload returns when it has nothing left to send: the connection stops."""


EXHAUSTED = Exhausted()
#: The next call; None to draw again (one pool of the mix is empty), or EXHAUSTED.
Workload = Callable[[random.Random], Call | Exhausted | None]


async def drive(
    host: str,
    port: int,
    workload: Workload,
    *,
    connections: int,
    duration: float,
    seed: int = 9,
    on_answer: Callable[[Call, int, bytes], None] | None = None,
) -> dict[str, Any]:
    """Run ``connections`` closed loops for ``duration`` seconds; return the summary."""
    tally = Tally()
    stop_at = time.perf_counter() + duration

    async def user(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        connection = Connection(host, port)
        while time.perf_counter() < stop_at:
            call = workload(rng)
            if call is None:
                continue
            if isinstance(call, Exhausted):
                break
            started = time.perf_counter()
            try:
                status, headers, body = await asyncio.wait_for(
                    connection.send(call), REQUEST_TIMEOUT_SECONDS
                )
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                await connection.close()
                status, headers, body = 0, {}, b""
            tally.record(call.endpoint, status, time.perf_counter() - started, headers)
            if on_answer is not None:
                on_answer(call, status, body)
        await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(user(n) for n in range(connections)))
    return tally.summary(time.perf_counter() - started)
