"""The application factory: one FastAPI app serving the JSON API and the pages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError

from isegoria.api import operation_docs
from isegoria.api.routes import (
    activitypub,
    atproto,
    cases,
    connectors,
    jurisdictions,
    law,
    log,
    log_keys,
    meta,
    people,
    platforms,
    reports,
)
from isegoria.api.routes import notes as notes_api
from isegoria.api.routes import notifications as notification_routes
from isegoria.api.routes import staff as staff_routes
from isegoria.clock import Clock
from isegoria.clockfile import clock_from_environment
from isegoria.config import Settings
from isegoria.federation import atproto_labeler
from isegoria.http import cookies, metrics, overload, problems, ratelimit
from isegoria.http.access import undeclared_routes
from isegoria.http.credential_cache import CredentialCache
from isegoria.http.credential_events import CredentialEvents
from isegoria.http.deps import Services
from isegoria.http.middleware import HttpMiddleware
from isegoria.http.problem_schema import PROBLEM_RESPONSES, add_problem_schema
from isegoria.http.read_cache import ReadCache
from isegoria.i18n import LanguageMiddleware
from isegoria.identity import IdentityVerifier, OidcVerifier
from isegoria.jobs.checkpoint_timer import CheckpointTimer
from isegoria.log.coalesce import CheckpointPolicy, LogMemory
from isegoria.log.signing import load_signer
from isegoria.security import SecretBox
from isegoria.store.db import Database
from isegoria.web import (
    pages,
    pages_audit,
    pages_audit_juries,
    pages_audit_reports,
    pages_capacity,
    pages_cases,
    pages_law,
    pages_log,
    pages_mfa,
    pages_notifications,
    pages_passkeys,
    pages_portal,
    pages_reports,
    pages_staff,
    pages_staff_actions,
    pages_staff_people,
    pages_staff_trail,
    pages_triage,
)
from isegoria.web import pages_identity as identity_pages
from isegoria.web import pages_notes as notes_pages

API_PREFIX = "/api/v1"
logger = logging.getLogger("isegoria.app")
STATIC_DIR = Path(__file__).parent / "web" / "static"

DESCRIPTION = """\
isegoria hands content moderation to public, versioned law and to juries of citizens drawn
by lot. Every operation states who may call it in `x-access`; anything else is refused.
"""


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build the app for ``settings`` (default: from the environment)."""
    settings = settings or Settings()
    owns_database = database is None
    database = database or Database(
        settings.effective_database_url,
        pool_size=settings.database_pool_size,
        pool_timeout=settings.database_pool_timeout,
        sqlite_synchronous=settings.sqlite_synchronous,
    )
    services = Services(
        settings=settings,
        database=database,
        clock=clock or clock_from_environment(),
        box=SecretBox(settings.secret_key),
        signer=load_signer(settings.origin, settings.signing_key_path),
        log_memory=LogMemory(checkpoint_policy(settings)),
        key_cache=CredentialCache(settings.credential_cache_seconds),
        session_cache=CredentialCache(settings.credential_cache_seconds),
        read_cache=ReadCache(settings.read_cache_entries),
    )
    app = FastAPI(
        # FastAPI's own OpenTelemetry hooks look their providers up on every request (an
        # environment read each); isegoria exports Prometheus metrics and JSON logs instead,
        # so they stay off unless the operator asks (ISEGORIA_OPENTELEMETRY).
        telemetry={
            "tracing": settings.opentelemetry,
            "metrics": settings.opentelemetry,
            "logs": settings.opentelemetry,
        },
        lifespan=checkpoint_timer,
        title="isegoria",
        version="1",
        summary="Moderation by public law and citizen juries",
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    app.state.owns_database = owns_database
    app.state.credential_events = None  # started by the lifespan on PostgreSQL

    services.read_cache.record = metrics.install(app, database, services.clock.now).count_read_cache
    ratelimit.install(app, settings, database)
    app.state.identity_verifier = identity_verifier(settings)

    api = APIRouter(prefix=API_PREFIX, responses=PROBLEM_RESPONSES)
    modules = (
        jurisdictions,
        people,
        platforms,
        log,
        law,
        cases,
        connectors,
        notes_api,
        reports,
        log_keys,
        staff_routes,
    )
    documented = (notification_routes, meta, activitypub, atproto)
    for router in [*(m.router for m in modules + documented), atproto.xrpc]:
        operation_docs.summarize(router.routes)  # before FastAPI copies them
    for module in modules:
        api.include_router(module.router)
    api.include_router(notification_routes.router)
    app.include_router(meta.router, responses=PROBLEM_RESPONSES)
    app.include_router(api)
    app.include_router(activitypub.router, responses=PROBLEM_RESPONSES)
    app.include_router(atproto.router, responses=PROBLEM_RESPONSES)
    app.include_router(atproto.xrpc)
    app.include_router(pages.router)
    app.include_router(pages_law.router)
    app.include_router(pages_log.router)
    app.include_router(pages_cases.router)
    app.include_router(pages_triage.router)
    app.include_router(notes_pages.router)
    app.include_router(pages_reports.router)
    app.include_router(identity_pages.router)
    app.include_router(pages_notifications.router)
    app.include_router(pages_portal.router)
    app.include_router(pages_mfa.router)
    app.include_router(pages_staff.router)
    app.include_router(pages_staff_actions.router)
    app.include_router(pages_audit.router)
    app.include_router(pages_audit_juries.router)
    app.include_router(pages_audit_reports.router)
    app.include_router(pages_capacity.router)
    app.include_router(pages_passkeys.router)
    app.include_router(pages_staff_people.router)
    app.include_router(pages_staff_trail.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    problems.install(app, pages.render_error)
    overload.install(app)
    _document_problems(app)

    record_labeler_identity(services)
    missing = undeclared_routes(app.routes)
    if missing:  # default deny: a route without a policy is a programming error
        raise RuntimeError(f"routes without an access policy: {', '.join(missing)}")
    app.add_middleware(overload.InFlightCap, limit=settings.max_in_flight)
    app.add_middleware(HttpMiddleware, session_cookie=cookies.session_cookie(settings))
    app.add_middleware(LanguageMiddleware)
    return app


def record_labeler_identity(services: Services) -> None:
    """Record the labeler DID that decisions' labels are signed as (federation/atproto_labeler)."""

    uow = services.uow()
    try:
        with uow.begin():
            atproto_labeler.record_identity(uow, services.settings.effective_labeler_did)
    except SQLAlchemyError:  # not migrated yet: `isegoria db upgrade`, then restart
        logger.warning("could not record the labeler identity; is the database migrated?")


def checkpoint_policy(settings: Settings) -> CheckpointPolicy | None:
    """The checkpoint coalescing the settings ask for (None: every transaction signs)."""
    if settings.checkpoint_interval_ms == 0:
        return None
    return CheckpointPolicy(settings.checkpoint_interval_ms / 1000, settings.checkpoint_max_pending)


@asynccontextmanager
async def checkpoint_timer(app: FastAPI) -> AsyncIterator[None]:
    """While the app serves under a checkpoint policy, sign the log's tail on a timer; at
    shutdown, close the event loop's own database connection (http/read_cache.py) and the
    database itself when the app opened it."""
    services: Services = app.state.services
    policy = services.log_memory.policy
    timer = None
    if policy is not None:
        timer = CheckpointTimer(
            services.database,
            services.clock,
            services.signer,
            services.log_memory,
            policy.interval,
        )
        timer.start_thread()
    events = None
    if not services.database.is_sqlite and services.key_cache.enabled:
        # Other processes and the CLI revoke credentials too: hear of it at once.
        events = CredentialEvents(
            services.database,
            {"keys": services.key_cache.clear, "sessions": services.session_cache.clear},
        )
        events.start()
        # Serve once it listens: what it forgets on connecting is then nothing yet served.
        events.listening.wait(timeout=5)
    app.state.credential_events = events
    try:
        yield
    finally:
        if events is not None:
            events.stop()
        if timer is not None:
            timer.stop()
        services.loop_version.close()
        if app.state.owns_database:  # an app that opened its database closes it
            services.database.dispose()


def identity_verifier(settings: Settings) -> IdentityVerifier | None:
    """The proof-of-personhood hook this instance is configured with, if any."""
    if not settings.oidc_issuer:
        return None
    secret = settings.oidc_client_secret
    return OidcVerifier(
        settings.oidc_issuer,
        settings.oidc_client_id,
        secret.get_secret_value() if secret is not None else None,
    )


def _document_problems(app: FastAPI) -> None:
    """Add the problem-details schema that every operation's error answers refer to."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        return add_problem_schema(generate())

    app.openapi = openapi  # type: ignore[method-assign]
