"""Cross-cutting HTTP behaviour: request ids, security headers, a cap on body size."""

from __future__ import annotations

import json
import logging
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from isegoria.api.deps import SESSION_COOKIE
from isegoria.api.metrics import observe
from isegoria.ops.logs import log_request

logger = logging.getLogger("isegoria.http")

# Large enough for a 1 MB post snapshot with its metadata; anything bigger is refused early.
MAX_BODY_BYTES = 4 * 1024 * 1024

# A strict policy: no inline scripts or styles, nothing from other origins.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SESSION_COOKIE_BYTES = f"{SESSION_COOKIE}=".encode()
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class TooLarge(Exception):
    """The request body exceeded MAX_BODY_BYTES."""


def _authenticated(scope: Scope) -> bool:
    """Whether the request carries credentials: a bearer key or a session cookie."""
    for name, value in scope.get("headers", []):
        if name == b"authorization" or (name == b"cookie" and SESSION_COOKIE_BYTES in value):
            return True
    return False


class HttpMiddleware:
    """Tags each request with an id, adds security headers, and caps body size."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder = {"status": 0}

        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await self._too_large(send, request_id)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise TooLarge
            return message

        private = _authenticated(scope)

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
            await self.app(scope, limited_receive, send_with_headers)
        except TooLarge:
            if status_holder["status"] == 0:
                await self._too_large(send, request_id)
        finally:
            seconds = time.perf_counter() - started
            status = status_holder["status"] or 500  # no answer started: the client saw none
            observe(scope, status, seconds)
            log_request(scope, status, seconds, request_id)

    async def _too_large(self, send: Send, request_id: str) -> None:
        body = json.dumps(
            {
                "type": "https://isegoria.invalid/problems/too-large",
                "title": "Request too large",
                "status": 413,
                "detail": f"the request body exceeds {self.max_body} bytes",
                "request_id": request_id,
            }
        ).encode()
        headers = [(b"content-type", b"application/problem+json"), *SECURITY_HEADERS]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
