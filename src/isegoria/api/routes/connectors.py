"""Connectors: Mastodon servers deliver their ``report.created`` webhooks here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from isegoria.connectors import sync as connector_sync
from isegoria.http.access import PUBLIC, access
from isegoria.http.deps import ServicesDep

router = APIRouter(tags=["connectors"])


class WebhookReceivedOut(BaseModel):
    """What a delivered report became."""

    model_config = ConfigDict(extra="forbid")

    filed: int
    triaged: int
    repeated: int


@router.post(
    "/connectors/{connector_id}/mastodon/webhook",
    response_model=WebhookReceivedOut,
    **access(PUBLIC),
)
async def mastodon_webhook(
    connector_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    services: ServicesDep,
) -> WebhookReceivedOut:
    """Receive a Mastodon webhook; authentic only if signed with the connector's secret.

    Mastodon signs the body with HMAC-SHA256 (``X-Hub-Signature: sha256=<hex>``). A missing
    or wrong signature is refused with 401, a stale or malformed delivery with 400, and
    neither creates anything. A ``report.created`` delivery is read back from the server's
    admin API and filed (or queued for triage) once, however often it is delivered.
    """
    body = await request.body()
    # The service talks to the Mastodon server: run it off the event loop.
    tally = await run_in_threadpool(
        connector_sync.receive_mastodon_webhook,
        services.uow(),
        services.box,
        connector_id=connector_id,
        body=body,
        headers=dict(request.headers),
        allow_private=services.settings.webhook_allow_private,
    )
    return WebhookReceivedOut(filed=tally.filed, triaged=tally.triaged, repeated=tally.repeated)
