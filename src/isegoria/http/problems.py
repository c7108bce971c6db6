"""Errors as RFC 9457 problem details for the API and friendly pages for people.

No stack trace ever reaches a client: unexpected exceptions are logged with the request id
and answered with a generic 500 that names that id.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from isegoria import i18n
from isegoria.errors import Explained, InvalidItems, IsegoriaError, RateLimited

logger = logging.getLogger("isegoria.errors")

PROBLEM_TYPE_BASE = "https://isegoria.invalid/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
# Set on the request's state once an unexpected error has been logged (unexpected_error).
UNEXPECTED_ERROR_LOGGED = "unexpected_error_logged"


#: What FastAPI says when a JSON body cannot be decoded, and what we say instead.
FASTAPI_BODY_ERROR = "There was an error parsing the body"
BODY_ERROR = (
    "the request body is not valid JSON text in UTF-8 (RFC 8259 §8.1): check its syntax and "
    "encoding; text that was not valid UTF-8 on the platform must be decoded there first "
    "(invalid bytes replaced by U+FFFD)"
)


def wants_json(request: Request) -> bool:
    """API paths and clients that ask for JSON get problem details; browsers get a page."""
    path = request.url.path
    if path.startswith(("/api/", "/healthz", "/metrics", "/.well-known/", "/ap/", "/xrpc/")):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


class ErrorPage(Protocol):
    """Renders an error as a page for a browser (web.pages.render_error)."""

    def __call__(
        self,
        request: Request,
        status: int,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None,
        english: bool | None = None,
    ) -> Response:
        """The page for this error; ``english`` says whether ``detail`` is still in English."""
        ...


def problem(
    request: Request,
    status: int,
    title: str,
    detail: str,
    *,
    kind: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    explained: Explained | None = None,
) -> Response:
    """Render one error for whoever asked: the API's problem keeps the English ``detail``; a
    page shows ``explained``'s message in the reader's language when it has one."""
    if wants_json(request):
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + kind,
            "title": title,
            "status": status,
            "detail": detail,
        }
        if request_id := getattr(request.state, "request_id", None):
            body["request_id"] = request_id
        body.update(extra or {})
        return JSONResponse(
            body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
        )
    # The web layer owns the templates: create_app hands its page to install().
    state = getattr(request.scope.get("app"), "state", None)
    page: ErrorPage | None = getattr(state, "error_page", None)
    if page is None:
        return PlainTextResponse(f"{title}: {detail}", status_code=status, headers=headers)
    if explained is None:
        return page(request, status, title, detail, headers=headers)
    english = i18n.current_language() != i18n.DEFAULT_LANGUAGE and not i18n.is_translated(explained)
    return page(
        request, status, title, i18n.error_text(explained), headers=headers, english=english
    )


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in location]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:] or parts
    return ".".join(parts)


def install(app: FastAPI, error_page: ErrorPage) -> None:
    """Register the handlers that turn every error into a problem or a page."""
    app.state.error_page = error_page

    @app.exception_handler(IsegoriaError)
    async def _domain(request: Request, error: IsegoriaError) -> Response:
        extra: dict[str, Any] | None = {"field": error.field} if error.field else None
        if isinstance(error, InvalidItems):  # a batch: every bad item, as validation lists them
            extra = {"field": error.field, "errors": error.errors}
        headers = None
        if isinstance(error, RateLimited):
            headers = {"Retry-After": str(error.retry_after)}
        kind = type(error).__name__.lower()
        return problem(
            request,
            error.status,
            error.title,
            error.detail,
            kind=kind,
            extra=extra,
            headers=headers,
            explained=error,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> Response:
        errors = []
        for item in error.errors():
            field = _field_path(item.get("loc", ()))
            message = str(item.get("msg", "invalid"))
            if item.get("type") == "json_invalid":
                message = "the body is not valid JSON"
            errors.append({"field": field, "message": message})
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return problem(
            request, 422, "Invalid input", detail, kind="validation", extra={"errors": errors}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed", 413: "Request too large"}
        title = titles.get(error.status_code, "Error")
        detail = error.detail if isinstance(error.detail, str) else title
        explained = None
        if error.status_code == 404:
            explained = Explained("nothing at %(path)s", path=request.url.path)
            detail = str(explained)
        if error.status_code == 400 and detail == FASTAPI_BODY_ERROR:
            detail = BODY_ERROR
        return problem(
            request,
            error.status_code,
            title,
            detail,
            kind=f"http-{error.status_code}",
            headers=dict(error.headers) if error.headers else None,
            explained=explained,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        return unexpected_error(request, error)


def unexpected_error(request: Request, error: BaseException) -> Response:
    """The generic 500 for an error nothing else handled; logged once, with the request id.

    Two layers call this for one error: the security-header middleware answers it (so the
    500 carries the headers), then re-raises, and Starlette's outermost error middleware,
    where ``install`` registers the handler, calls it again; the flag keeps one log record.
    """
    request_id = getattr(request.state, "request_id", "-")
    if not getattr(request.state, UNEXPECTED_ERROR_LOGGED, False):
        setattr(request.state, UNEXPECTED_ERROR_LOGGED, True)
        logger.error("unhandled error in request %s", request_id, exc_info=error)
    return problem(
        request,
        500,
        "Internal error",
        f"something went wrong on our side; quote request id {request_id} to the operator",
        kind="internal",
    )
