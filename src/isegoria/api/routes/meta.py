"""Health of the instance."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text

from isegoria.api.access import PUBLIC, access
from isegoria.api.deps import ServicesDep
from isegoria.api.schemas import HealthOut
from isegoria.store import migrate

router = APIRouter(tags=["meta"])


@router.get(
    "/healthz",
    response_model=HealthOut,
    responses={503: {"model": HealthOut}},
    **access(PUBLIC),
)
def healthz(services: ServicesDep) -> JSONResponse:
    """200 when the database answers and its schema is at head, else 503."""
    head = migrate.head_revision()
    try:
        with services.database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        revision = migrate.current_revision(services.database)
        database = "ok"
    except Exception:  # noqa: BLE001 - any failure to reach the database means "unhealthy"
        revision, database = None, "unreachable"
    healthy = database == "ok" and revision == head
    body = HealthOut(
        status="ok" if healthy else "unavailable",
        database=database,
        schema_revision=revision,
        schema_head=head,
    )
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)


@router.get(
    "/.well-known/isegoria-log-key",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}},
    **access(PUBLIC),
)
def log_key_well_known(services: ServicesDep) -> PlainTextResponse:
    """The log's verifier key (C2SP signed-note format), at a well-known address for witnesses."""
    return PlainTextResponse(services.signer.verifier_key + "\n")
