"""ActivityPub: the instance actor, and the inbox that turns signed ``Flag``s into reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from isegoria.errors import IsegoriaError, NotFound, Unauthenticated
from isegoria.federation import activitypub_inbox
from isegoria.http.access import PUBLIC, access
from isegoria.http.deps import Services, get_services
from isegoria.http.problems import PROBLEM_MEDIA_TYPE
from isegoria.integrations.activitypub import ActivityPubError, ActorKeyCache, receive_flag
from isegoria.integrations.ap_fetch import DocumentFetcher
from isegoria.integrations.federation_identity import (
    ACTOR_PATH,
    INBOX_PATH,
    actor_document,
    actor_key,
)

router = APIRouter(tags=["activitypub"])

ACTIVITY_JSON: Final = "application/activity+json"
#: ActivityPub §7: servers POST with either media type (the ld+json one with its profile).
INBOX_MEDIA_TYPES: Final = ("application/activity+json", "application/ld+json")
#: Refusals that concern who signed the request, not what it says: answered with 401.
_AUTHENTICATION_ERRORS: Final = (
    "bad HTTP signature",
    "unknown actor",
    "no public key",
    "the key ",
    "key document",
    "keyId",
)


class MalformedActivity(IsegoriaError):
    """The activity is not a well-formed Flag (400)."""

    title = "Malformed activity"


class UnsupportedMediaType(IsegoriaError):
    """The inbox was sent something other than ActivityStreams JSON (415)."""

    status = 415
    title = "Unsupported media type"


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


@dataclass
class Federation:
    """Per-app state of the inbox: the document fetcher and the actor-key cache."""

    fetcher: DocumentFetcher
    keys: ActorKeyCache


def _federation(request: Request, services: Services) -> Federation:
    state = getattr(request.app.state, "activitypub", None)
    if state is None:
        settings = services.settings
        fetcher = DocumentFetcher(
            clock=services.clock.now,
            allow=settings.activitypub_allow,
            deny=settings.activitypub_deny,
            allow_private=settings.webhook_allow_private,
        )

        def fresh(url: str) -> dict[str, Any]:
            # The key cache keeps keys for a day and refetches on a failed verification; that
            # refetch must reach the server, so key fetches bypass the document cache.
            fetcher.forget(url)
            return fetcher(url)

        state = Federation(fetcher, ActorKeyCache(fresh, clock=services.clock.now))
        request.app.state.activitypub = state
    return state


@router.get(
    ACTOR_PATH,
    responses={200: {"content": {ACTIVITY_JSON: {}}}},
    **access(PUBLIC),
)
def instance_actor(request: Request) -> JSONResponse:
    """The instance actor with its public key: what remote servers fetch to verify us."""
    services = get_services(request)
    settings = services.settings
    document = actor_document(
        settings.effective_public_url, actor_key(settings.activitypub_key_path)
    )
    return JSONResponse(document, media_type=ACTIVITY_JSON)


def _receive(request: Request, services: Services, body: bytes) -> list[dict[str, Any]]:
    settings = services.settings
    if not settings.activitypub_platform:
        raise NotFound("this instance has no ActivityPub inbox (ISEGORIA_ACTIVITYPUB_PLATFORM)")
    federation = _federation(request, services)
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    try:
        flag = receive_flag(
            request.method,
            path,
            dict(request.headers),
            body,
            keys=federation.keys,
            now=services.clock.now(),
        )
    except ActivityPubError as error:
        message = str(error)
        if message.startswith(_AUTHENTICATION_ERRORS):
            raise Unauthenticated(message) from None
        raise MalformedActivity(message) from None
    filed = activitypub_inbox.receive_flag_report(
        services.uow(),
        flag,
        rules=activitypub_inbox.InboxRules(
            platform=settings.activitypub_platform,
            keywords=settings.activitypub_rules,
            default_rule=settings.activitypub_default_rule,
        ),
        fetch=federation.fetcher,
    )
    return [
        {"object": r.post_uri, "case_id": r.case_id, "report_id": r.report_id, "new": r.new}
        for r in filed
    ]


@router.post(
    INBOX_PATH,
    status_code=202,
    responses={
        202: {"content": {"application/json": {}}, "description": "Filed: one report per post"},
        400: _problem("A malformed activity (not JSON, not a Flag, no object, ...)"),
        415: _problem("Not ActivityStreams JSON"),
    },
    **access(PUBLIC),
)
async def inbox(request: Request) -> JSONResponse:
    """Accept a ``Flag`` signed by its server (HTTP Signatures); file one report per post.

    Authentication is the HTTP signature, checked against the sender's published key, not
    an isegoria API key; unknown actors and bad signatures get 401, malformed Flags 400,
    Flags no rule maps 422. Nothing is created unless every check passes.
    """
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in INBOX_MEDIA_TYPES:
        raise UnsupportedMediaType(
            "the inbox accepts %(values)s, not %(value)s",
            values=" or ".join(INBOX_MEDIA_TYPES),
            value=media_type or "nothing",
        )
    body = await request.body()
    services = get_services(request)
    filed = await run_in_threadpool(_receive, request, services, body)
    return JSONResponse({"reports": filed}, status_code=202)
