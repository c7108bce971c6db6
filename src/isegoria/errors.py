"""The errors a person or platform can cause, each with the HTTP status it maps to."""

from __future__ import annotations


class IsegoriaError(Exception):
    """Base of every expected error; its message is meant for the person who caused it."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(IsegoriaError):
    """The input is well formed but not acceptable."""

    status = 422
    title = "Invalid input"


class NotFound(IsegoriaError):
    """The thing asked for does not exist (or is not visible to the asker)."""

    status = 404
    title = "Not found"


class Conflict(IsegoriaError):
    """The request contradicts the current state (a duplicate, a closed period)."""

    status = 409
    title = "Conflict"


class Unauthenticated(IsegoriaError):
    """No valid credentials were presented."""

    status = 401
    title = "Authentication required"


class Forbidden(IsegoriaError):
    """The credentials are valid but do not allow this action."""

    status = 403
    title = "Forbidden"


class RateLimited(IsegoriaError):
    """Too many attempts; try again later."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
