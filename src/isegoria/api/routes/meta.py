"""Health of the instance."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text

from isegoria.api.schemas import HealthOut
from isegoria.http.access import PUBLIC, access
from isegoria.http.deps import ServicesDep, UnitOfWorkDep
from isegoria.log import keyring
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
def log_key_well_known(services: ServicesDep, uow: UnitOfWorkDep) -> PlainTextResponse:
    """The log's verifier keys (C2SP signed-note format), one a line, the current one first.

    Keys retired by ``isegoria log rotate-key`` follow, newest first, so that checkpoints
    signed before a rotation stay verifiable; ``/api/v1/log/keys`` gives their size ranges.
    """
    with uow.begin(readonly=True):
        keys = keyring.local_history(uow.session, services.signer.verifier_key)
    current = services.signer.verifier_key
    retired = [p.verifier_key for p in reversed(keys.periods) if p.verifier_key != current]
    return PlainTextResponse("".join(f"{key}\n" for key in [current, *retired]))
