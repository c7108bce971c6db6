"""The application factory: one FastAPI app serving the JSON API and the pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from isegoria.api import metrics, problems, ratelimit
from isegoria.api.access import undeclared_routes
from isegoria.api.deps import Services
from isegoria.api.middleware import HttpMiddleware
from isegoria.api.problem_schema import PROBLEM_RESPONSES, add_problem_schema
from isegoria.api.routes import (
    cases,
    jurisdictions,
    law,
    log,
    log_keys,
    meta,
    people,
    platforms,
)
from isegoria.clock import Clock
from isegoria.clockfile import clock_from_environment
from isegoria.config import Settings
from isegoria.i18n import LanguageMiddleware
from isegoria.identity import IdentityVerifier, OidcVerifier
from isegoria.identity import pages as identity_pages
from isegoria.log.signing import load_signer
from isegoria.security import SecretBox
from isegoria.store.db import Database
from isegoria.web import pages, pages_cases, pages_law, pages_log

API_PREFIX = "/api/v1"
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
    database = database or Database(settings.effective_database_url)
    services = Services(
        settings=settings,
        database=database,
        clock=clock or clock_from_environment(),
        box=SecretBox(settings.secret_key),
        signer=load_signer(settings.origin, settings.signing_key_path),
    )
    app = FastAPI(
        title="isegoria",
        version="1",
        summary="Moderation by public law and citizen juries",
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services

    metrics.install(app, database, services.clock.now)
    ratelimit.install(app, settings)
    app.state.identity_verifier = identity_verifier(settings)

    api = APIRouter(prefix=API_PREFIX, responses=PROBLEM_RESPONSES)
    for module in (jurisdictions, people, platforms, log, law, cases, log_keys):
        api.include_router(module.router)
    app.include_router(meta.router, responses=PROBLEM_RESPONSES)
    app.include_router(api)
    app.include_router(pages.router)
    app.include_router(pages_law.router)
    app.include_router(pages_log.router)
    app.include_router(pages_cases.router)
    app.include_router(identity_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    problems.install(app)
    _document_problems(app)

    missing = undeclared_routes(app.routes)
    if missing:  # default deny: a route without a policy is a programming error
        raise RuntimeError(f"routes without an access policy: {', '.join(missing)}")
    app.add_middleware(HttpMiddleware)
    app.add_middleware(LanguageMiddleware)
    return app


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
