"""The application factory: one FastAPI app serving the JSON API and the pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from isegoria.api import problems
from isegoria.api.access import undeclared_routes
from isegoria.api.deps import Services
from isegoria.api.middleware import HttpMiddleware
from isegoria.api.routes import jurisdictions, log, meta, people, platforms
from isegoria.clock import Clock, SystemClock
from isegoria.config import Settings
from isegoria.log.signing import load_signer
from isegoria.security import SecretBox
from isegoria.store.db import Database
from isegoria.web import pages, pages_log

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
        clock=clock or SystemClock(),
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

    api = APIRouter(prefix=API_PREFIX)
    for module in (jurisdictions, people, platforms, log):
        api.include_router(module.router)
    app.include_router(meta.router)
    app.include_router(api)
    app.include_router(pages.router)
    app.include_router(pages_log.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    problems.install(app)

    missing = undeclared_routes(app.routes)
    if missing:  # default deny: a route without a policy is a programming error
        raise RuntimeError(f"routes without an access policy: {', '.join(missing)}")
    app.add_middleware(HttpMiddleware)
    return app
