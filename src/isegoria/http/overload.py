"""Graceful overload: past saturation, answer 503 with Retry-After at once, never 500.

Two sources of overload, one answer:

* **Too many requests in flight.** ``InFlightCap`` counts the requests one process is
  serving; past ``max_in_flight`` a new request is answered 503 before any work is done,
  so the requests already admitted keep their latency instead of everyone queueing for the
  thread pool and the database. Liveness and metrics stay reachable.
* **The database cannot take more.** A PostgreSQL pool that has no free connection within
  ``database_pool_timeout`` (SQLAlchemy ``TimeoutError``), a SQLite writer that waited out
  the busy timeout (``database is locked``), a dropped connection or a serialisation
  failure (all ``OperationalError``) roll the transaction back, change nothing, and are
  answered 503 with Retry-After: the client may safely try again.
* **The database's disk is full.** SQLite's ``SQLITE_FULL`` or PostgreSQL's ``disk_full``:
  the transaction is rolled back as well, so the answer is the same 503, saying so, with a
  longer Retry-After (only an operator freeing space ends it), logged as an error.

A per-identity excess is a different case: the rate limiter answers it with 429.
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Receive, Scope, Send

from isegoria.http.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE, problem
from isegoria.store.db import is_disk_full

logger = logging.getLogger("isegoria.overload")

#: Seconds a client is asked to wait; short, since overload here lasts as long as a burst.
RETRY_AFTER_SECONDS = 1
#: Seconds a client is asked to wait when the database's disk is full.
DISK_FULL_RETRY_AFTER_SECONDS = 60
#: Paths that are never refused for load: probes must tell "busy" from "down".
EXEMPT_PATHS = ("/healthz", "/metrics")


class InFlightCap:
    """ASGI middleware answering 503 when ``limit`` requests are already being served."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Admit or refuse one ASGI call; the counter lives on the event loop, no lock."""
        if scope["type"] != "http" or self.limit <= 0 or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            self.refused += 1
            await _busy(send, f"the server is serving {self.limit} requests already")
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


async def _busy(send: Send, why: str) -> None:
    body = json.dumps(
        {
            "type": PROBLEM_TYPE_BASE + "overloaded",
            "title": "Service unavailable",
            "status": 503,
            "detail": f"{why}; nothing was changed, retry in {RETRY_AFTER_SECONDS} s",
        }
    ).encode()
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def install(app: FastAPI) -> None:
    """Answer database saturation with 503 and Retry-After instead of a 500."""

    @app.exception_handler(PoolTimeout)
    async def _pool(request: Request, error: PoolTimeout) -> Response:
        logger.warning("no database connection free: %s", error)
        return _unavailable(request, "every database connection is busy")

    @app.exception_handler(OperationalError)
    async def _database(request: Request, error: OperationalError) -> Response:
        if is_disk_full(error):
            logger.error("the database's disk is full; free space: %s", error.orig)
            return _unavailable(
                request, "the database's disk is full", DISK_FULL_RETRY_AFTER_SECONDS
            )
        logger.warning("database refused the transaction: %s", error.orig)
        return _unavailable(request, "the database is busy or unreachable")


def _unavailable(request: Request, why: str, retry_after: int = RETRY_AFTER_SECONDS) -> Response:
    return problem(
        request,
        503,
        "Service unavailable",
        f"{why}; nothing was changed, retry in {retry_after} s",
        kind="overloaded",
        headers={"Retry-After": str(retry_after)},
    )
