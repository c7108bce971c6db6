"""Errors in the XRPC shape: what an AT Protocol client reads, from a route or the middleware."""

from __future__ import annotations

from typing import Final

from fastapi.responses import JSONResponse

#: XRPC error names by HTTP status (atproto.com/specs/xrpc, "Summary of HTTP Status Codes").
XRPC_ERRORS: Final = {
    400: "InvalidRequest",
    401: "AuthenticationRequired",
    403: "Forbidden",
    404: "NotFound",
    409: "InvalidRequest",
    413: "PayloadTooLarge",
    415: "InvalidRequest",
    422: "InvalidRequest",
    429: "RateLimitExceeded",
}


def xrpc_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An XRPC error response (400 for unacceptable input, as XRPC has no 422)."""
    status = 400 if status in (409, 415, 422) else status
    name = XRPC_ERRORS.get(status, "InternalServerError")
    return JSONResponse({"error": name, "message": message}, status_code=status, headers=headers)
