"""Cross-cutting HTTP behaviour: request ids, security headers, a cap on body size."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from isegoria.http.metrics import observe
from isegoria.http.problems import problem, unexpected_error
from isegoria.http.request_log import log_request
from isegoria.http.xrpc import xrpc_error

logger = logging.getLogger("isegoria.http")

# Large enough for a 1 MB post snapshot with its metadata; anything bigger is refused early.
MAX_BODY_BYTES = 4 * 1024 * 1024

# A strict policy: no inline scripts or styles, nothing from other origins.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


# No text isegoria keeps may hold U+0000: PostgreSQL's text type refuses it, and no post,
# name or note needs it. JSON spells it \u0000 (an escape, unless its backslash is itself
# escaped), forms and query strings %00; refusing it at the door keeps it from reaching a
# query, where it would fail as a 500 on PostgreSQL and be stored as-is on SQLite.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_URL_NUL = b"%00"


async def _read_body(receive: Receive, limit: int) -> tuple[list[Message], int]:
    """The request's body messages, read until the last one or until past ``limit`` bytes."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":  # the client went away
            return messages, size
        size += len(message.get("body", b""))
        if size > limit or not message.get("more_body", False):
            return messages, size


def _has_nul(data: bytes, form: bool) -> bool:
    """Whether ``data`` (a body chunk or a query string) holds a NUL in any spelling."""
    return b"\x00" in data or _JSON_NUL.search(data) is not None or (form and _URL_NUL in data)


def _nul_refusal(scope: Scope, where: str) -> Response:
    """A 400 in the shape the caller reads: XRPC error, problem details, or a page."""
    detail = f"the request {where} contains a NUL character (U+0000), which no text here may hold"
    if scope["path"].startswith("/xrpc/"):
        return xrpc_error(400, detail)
    return problem(Request(scope), 400, "NUL character", detail, kind="nul")


def _header_facts(scope: Scope, session_marker: bytes) -> tuple[bytes | None, bytes, bool]:
    """Content-Length, Content-Type and whether credentials (a key, a session) were sent.

    ``session_marker`` is ``NAME=`` of this instance's session cookie (http/cookies.py).

    One pass over the raw headers: this runs on every request, so no dict is built.
    """
    length: bytes | None = None
    content_type = b""
    authenticated = False
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            length = value
        elif name == b"content-type":
            content_type = value
        elif name == b"authorization" or (name == b"cookie" and session_marker in value):
            authenticated = True
    return length, content_type, authenticated


class HttpMiddleware:
    """Tags each request with an id, adds security headers, and caps body size."""

    def __init__(
        self, app: ASGIApp, *, session_cookie: str, max_body: int = MAX_BODY_BYTES
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.session_marker = f"{session_cookie}=".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder = {"status": 0}

        declared, content_type, private = _header_facts(scope, self.session_marker)
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await self._too_large(send, request_id)
            return

        # Bodies are small (MAX_BODY_BYTES), so read them whole first: the cap and the NUL
        # check then answer before any application code, and nothing is half-parsed.
        messages, size = await _read_body(receive, self.max_body)
        if size > self.max_body:
            await self._too_large(send, request_id)
            return
        form = content_type.startswith(b"application/x-www-form-urlencoded")
        refusal: Response | None = None
        query = scope.get("query_string", b"")
        if (query and _has_nul(query, form=True)) or "\x00" in scope["path"]:
            refusal = _nul_refusal(scope, "address")
        elif size and _has_nul(b"".join(m.get("body", b"") for m in messages), form):
            refusal = _nul_refusal(scope, "body")

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                # ASVS 8.2.1: what a signed-in caller sees stays out of shared and browser
                # caches, unless the route chose a cache policy itself.
                if private and not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            if refusal is not None:
                await refusal(scope, replay, send_with_headers)
            else:
                await self.app(scope, replay, send_with_headers)
        except Exception as error:
            # Starlette answers an unhandled error in its outermost layer, outside this one,
            # so its 500 would carry none of the headers above; answer it here instead. The
            # error still goes up, to be logged by the server as before and raised by tests'
            # clients; the outer layer sees the answer started and sends nothing more.
            if not status_holder["status"]:
                answer = unexpected_error(Request(scope), error)
                await answer(scope, replay, send_with_headers)
            raise
        finally:
            seconds = time.perf_counter() - started
            status = status_holder["status"] or 500  # no answer started: the client saw none
            observe(scope, status, seconds)
            log_request(scope, status, seconds, request_id)

    async def _too_large(self, send: Send, request_id: str) -> None:
        detail = f"the request body exceeds {self.max_body} bytes"
        await self._problem(send, request_id, 413, "too-large", "Request too large", detail)

    async def _problem(
        self, send: Send, request_id: str, status: int, slug: str, title: str, detail: str
    ) -> None:
        """Answer a problem before the application saw the request."""
        body = json.dumps(
            {
                "type": f"https://isegoria.invalid/problems/{slug}",
                "title": title,
                "status": status,
                "detail": detail,
                "request_id": request_id,
            }
        ).encode()
        headers = [(b"content-type", b"application/problem+json"), *SECURITY_HEADERS]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
