"""Prometheus metrics: requests and latencies per route template, and state read at scrape.

Request counters live in the process that served the request. With several app processes
(``isegoria serve --workers N``) set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory
shared by the workers: prometheus-client then keeps the counters in memory-mapped files and
any worker's ``/metrics`` adds them up (its "multiprocess mode"). The state gauges (log size,
jobs waiting, accounts) are read from the database at each scrape and so agree everywhere.

``/metrics`` is public: it holds counts and latencies, no personal data and nothing the
public log does not already reveal; deployments that prefer to hide it restrict the path at
the reverse proxy (docs/deploy.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from datetime import datetime

from fastapi import APIRouter, FastAPI, Request
from fastapi import routing as fastapi_routing
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session
from starlette.types import Scope

from isegoria.domain.identity import Role
from isegoria.http.access import PUBLIC, access
from isegoria.http.problem_schema import PROBLEM_RESPONSES
from isegoria.store.db import Database
from isegoria.store.models import (
    Account,
    Job,
    LogCheckpoint,
    LogEntry,
    LogHead,
    Platform,
    WebSession,
)

logger = logging.getLogger("isegoria.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Latency buckets (seconds): dense between 1 ms and 1 s where API calls should fall.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Requests that matched no route share one label so scanners cannot blow up the series count.
UNMATCHED = "unmatched"
#: Label pairs whose series objects are kept at hand (routes x methods x statuses in use).
MAX_REMEMBERED_SERIES = 4096

router = APIRouter(tags=["meta"])


def _templates(app: object) -> dict[int, str]:
    """Full path templates by route object, for routes reached through included routers.

    FastAPI ≥ 0.16x keeps included routers nested: ``scope["route"]`` is then the original
    route, whose ``path`` lacks the prefixes (``/me`` for ``/api/v1/me``). Its public
    ``iter_route_contexts`` yields each route with its effective, prefixed path.
    """
    state = getattr(app, "state", None)
    cached: dict[int, str] | None = getattr(state, "route_templates", None)
    if cached is not None:
        return cached
    templates: dict[int, str] = {}
    iterate = getattr(fastapi_routing, "iter_route_contexts", None)
    routes = getattr(app, "routes", None)
    if iterate is not None and routes is not None:
        for context in iterate(routes):
            path = context.path_format or context.path
            if isinstance(path, str):
                templates.setdefault(id(context.original_route), path)
    if state is not None:
        state.route_templates = templates
    return templates


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/api/v1/log/entries/{index}``), not the raw path."""
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    template = _templates(scope.get("app")).get(id(route))
    if template is not None:
        return template
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class StateCollector(Collector):
    """Gauges computed from the database at each scrape (a few indexed counts)."""

    def __init__(self, database: Database, now: Callable[[], datetime]) -> None:
        self.database = database
        self.now = now

    def collect(self) -> Iterator[Metric]:
        """Yield the state gauges; ``isegoria_database_up`` is 0 when they cannot be read."""
        up = GaugeMetricFamily("isegoria_database_up", "1 when the database answered the scrape")
        try:
            families = list(self._state())
        except Exception:  # noqa: BLE001 - a scrape must answer even when the database is down
            logger.warning("metrics: the database did not answer", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _state(self) -> Iterator[Metric]:
        with self.database.session(readonly=True) as session:
            tables = set(inspect(session.connection()).get_table_names())

            def gauge(name: str, doc: str, value: object) -> GaugeMetricFamily:
                family = GaugeMetricFamily(name, doc)
                family.add_metric([], float(value or 0))  # type: ignore[arg-type]
                return family

            size = session.scalar(select(LogHead.size).where(LogHead.id == 1)) or 0
            yield gauge("isegoria_log_entries", "entries in the transparency log's tree", size)
            yield gauge(
                "isegoria_log_waiting",
                "entries committed but not yet integrated into the tree (batched integration)",
                session.scalar(
                    select(func.count()).select_from(LogEntry).where(LogEntry.idx >= size)
                ),
            )
            yield gauge(
                "isegoria_log_checkpoint_size",
                "tree size of the newest signed checkpoint",
                session.scalar(select(func.max(LogCheckpoint.size))),
            )
            yield gauge(
                "isegoria_citizens",
                "citizen accounts",
                session.scalar(
                    select(func.count())
                    .select_from(Account)
                    .where(Account.role == Role.CITIZEN.value)
                ),
            )
            yield gauge(
                "isegoria_platforms",
                "registered platforms",
                session.scalar(select(func.count()).select_from(Platform)),
            )
            yield gauge(
                "isegoria_web_sessions_live",
                "browser sessions not yet expired",
                session.scalar(
                    select(func.count())
                    .select_from(WebSession)
                    .where(WebSession.expires_at > self.now())
                ),
            )
            if "jobs" in tables:  # the deadlines table arrived with the law (issue 4)
                yield from self._jobs(session)

    def _jobs(self, session: object) -> Iterator[Metric]:

        assert isinstance(session, Session)  # noqa: S101 - narrowing for the type checker
        pending = GaugeMetricFamily(
            "isegoria_jobs", "jobs (deadlines, deliveries) by status", labels=["status"]
        )
        for status, count in session.execute(select(Job.status, func.count()).group_by(Job.status)):
            pending.add_metric([str(status)], float(count))
        yield pending
        overdue = GaugeMetricFamily(
            "isegoria_jobs_overdue", "pending jobs whose due time has passed (queue depth)"
        )
        overdue.add_metric(
            [],
            float(
                session.scalar(
                    select(func.count())
                    .select_from(Job)
                    .where(Job.status == "pending", Job.due_at <= self.now())
                )
                or 0
            ),
        )
        yield overdue


class Metrics:
    """The metrics of one app: request counters, latency histogram, rate-limit refusals."""

    def __init__(self, database: Database, now: Callable[[], datetime]) -> None:
        self.registry = CollectorRegistry()
        # In multiprocess mode the live metrics are read back from the shared files, so they
        # must not also be registered directly (they would be counted twice).
        target: CollectorRegistry | None = self.registry
        if os.environ.get(MULTIPROC_ENV):
            MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]
            target = None
        self.requests = Counter(
            "isegoria_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=target,
        )
        self.latency = Histogram(
            "isegoria_http_request_duration_seconds",
            "time to answer a request, by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=target,
        )
        self.limited = Counter(
            "isegoria_rate_limited",
            "requests refused by a rate limit, by rule",
            ["rule"],
            registry=target,
        )
        self.read_cache = Counter(
            "isegoria_read_cache",
            "public answers of the read cache: hit, miss (built), not_modified (304)",
            ["outcome"],
            registry=target,
        )
        self.registry.register(StateCollector(database, now))
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        """Count one answered request."""
        method = str(scope.get("method", ""))
        route = route_template(scope)
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            # ``labels()`` validates and looks the series up under a lock: keep the pair.
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            if len(self._children) < MAX_REMEMBERED_SERIES:
                self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def count_read_cache(self, outcome: str) -> None:
        """Count one answer of the read cache by its outcome."""
        self.read_cache.labels(outcome).inc()

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)


def install(app: FastAPI, database: Database, now: Callable[[], datetime]) -> Metrics:
    """Give ``app`` its metrics and the ``/metrics`` route."""
    app.state.metrics = Metrics(database, now)

    app.include_router(router, responses=PROBLEM_RESPONSES)
    return app.state.metrics  # type: ignore[no-any-return]


def observe(scope: Scope, status: int, seconds: float) -> None:
    """Count a request in its app's metrics, if the app has any."""
    app = scope.get("app")
    metrics: Metrics | None = getattr(getattr(app, "state", None), "metrics", None)
    if metrics is not None:
        metrics.observe(scope, status, seconds)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    **access(PUBLIC),
)
def metrics(request: Request) -> Response:
    """Prometheus metrics in the text exposition format."""
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type=CONTENT_TYPE_LATEST)
