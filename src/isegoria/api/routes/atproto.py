"""AT Protocol: the labeler's DID document, ``queryLabels`` and ``createReport`` (XRPC).

XRPC routes answer errors in the XRPC shape, ``{"error": <name>, "message": <text>}`` as
``application/json`` (atproto.com/specs/xrpc "Error Responses"), which is what atproto
clients parse; the status codes are the same as elsewhere in the API.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from isegoria.domain.identity import Scope
from isegoria.errors import InvalidInput, IsegoriaError
from isegoria.federation import atproto_labeler
from isegoria.http.access import PUBLIC, access, platform_key
from isegoria.http.deps import get_services
from isegoria.http.xrpc import XRPC_ERRORS, xrpc_error
from isegoria.integrations.atproto_labels import (
    QUERY_DEFAULT_LIMIT,
    QUERY_MAX_LIMIT,
    AtprotoError,
    create_report,
    create_report_output,
)
from isegoria.integrations.federation_identity import did_document, labeler_key

REPORTER_HEADER: Final = "X-Isegoria-Reporter"
MAX_REPORT_BODY: Final = 64 * 1024  # a report is a reason of 2,000 graphemes and a subject


class XrpcRoute(APIRoute):
    """A route whose errors, its access policy's included, take the XRPC shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap the handler so expected errors become XRPC errors."""
        handler = super().get_route_handler()

        async def xrpc_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except IsegoriaError as error:
                retry = getattr(error, "retry_after", None)
                extra = {"Retry-After": str(retry)} if retry is not None else None
                return xrpc_error(error.status, error.detail, extra)
            except RequestValidationError as error:
                problems = [
                    f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg')}"
                    for e in error.errors()
                ]
                return xrpc_error(400, "; ".join(problems) or "invalid request")
            except StarletteHTTPException as error:
                return xrpc_error(error.status_code, str(error.detail))

        return xrpc_handler


class XrpcError(BaseModel):
    """An XRPC error body."""

    error: str
    message: str


XRPC_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": XrpcError, "description": f"XRPC error {name}"}
    for status, name in XRPC_ERRORS.items()
    if status not in (409, 415, 422)  # answered as 400
}

router = APIRouter(tags=["atproto"])
xrpc = APIRouter(tags=["atproto"], route_class=XrpcRoute)


@router.get("/.well-known/did.json", **access(PUBLIC))
def did_json(request: Request) -> JSONResponse:
    """The labeler's ``did:web`` document: its ``#atproto_label`` key and labeler endpoint."""
    settings = get_services(request).settings
    did = settings.effective_labeler_did
    key = labeler_key(settings.secret_key)
    return JSONResponse(did_document(did, key, settings.effective_public_url))


@xrpc.get("/xrpc/com.atproto.label.queryLabels", responses=XRPC_RESPONSES, **access(PUBLIC))
def query_labels(
    request: Request,
    uri_patterns: Annotated[
        list[str],
        Query(
            alias="uriPatterns",
            description="AT URIs or DIDs; a pattern ending in '*' is a prefix",
        ),
    ],
    sources: Annotated[list[str] | None, Query(description="Only labels from these DIDs")] = None,
    limit: Annotated[int, Query(ge=1, le=QUERY_MAX_LIMIT)] = QUERY_DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=18, description="From a previous page")] = None,
) -> JSONResponse:
    """Labels on records and accounts matching ``uriPatterns`` (lexicon queryLabels)."""
    services = get_services(request)
    uow = services.uow()
    with uow.begin(readonly=True):
        body = atproto_labeler.query(
            uow, uri_patterns=uri_patterns, sources=sources or (), limit=limit, cursor=cursor
        )
    return JSONResponse(body)


@xrpc.post(
    "/xrpc/com.atproto.moderation.createReport",
    responses=XRPC_RESPONSES,
    **access(platform_key(Scope.REPORTS_WRITE)),
)
async def create_report_route(request: Request) -> JSONResponse:
    """File a report about a post; ``reasonType`` maps to a rule (lexicon createReport).

    The caller is a platform (API key, scope ``reports:write``) forwarding its user's report
    and naming that user's DID in ``X-Isegoria-Reporter``.
    """
    raw = await request.body()
    if len(raw) > MAX_REPORT_BODY:
        raise InvalidInput("a report is at most %(max)s bytes", max=MAX_REPORT_BODY)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object with reasonType and subject")
    reporter = request.headers.get(REPORTER_HEADER, "")
    if not reporter.startswith("did:") or len(reporter) > 256 or not reporter.isascii():
        raise InvalidInput(
            "name the reporting account's DID in the %(reporter_header)s header",
            reporter_header=REPORTER_HEADER,
        )
    services = get_services(request)
    settings = services.settings
    if not settings.atproto_platform:
        raise InvalidInput("this labeler accepts no reports (ISEGORIA_ATPROTO_PLATFORM)")
    try:
        report = create_report(
            data,
            reason_rules=settings.atproto_reason_rules,
            default_rule=settings.atproto_default_rule or None,
        )
    except AtprotoError as error:
        raise InvalidInput.because(error) from None

    def file() -> dict[str, Any]:
        uow = services.uow()
        with uow.begin():
            filed = atproto_labeler.file_atproto_report(
                uow, report, platform=settings.atproto_platform, reporter=reporter
            )
            created_at = uow.now()
        return create_report_output(
            report, report_id=filed.report_id, reported_by=reporter, created_at=created_at
        )

    return JSONResponse(await run_in_threadpool(file))  # the write must not block the loop
