"""The errors a person or platform can cause, each with the HTTP status it maps to."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Self


def fill(
    template: str, params: Mapping[str, object], show: Callable[[object], str] | None = None
) -> str:
    """``template`` with its ``%(name)s`` placeholders filled by ``show`` (else ``plain``)."""
    if not params:
        return template  # a message without values may hold a bare "%"
    return template % {name: (show or plain)(value) for name, value in params.items()}


def plain(value: object) -> str:
    """A value as the English message shows it: as an f-string would, a moment in UTC."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return format(value, "")


def N_(template: str) -> str:  # noqa: N802 - the name gettext's tools look for
    """Mark ``template`` as a message to translate where it is written; it is shown elsewhere."""
    return template


class Explained(Exception):
    """An error whose message a person reads: an English template and the values it names.

    The template has ``%(name)s`` placeholders and is the key of its translations, so a
    page can show the message in the reader's language (``i18n.error_text``); ``str()`` of
    the error is the English text, which the API, the logs and the CLI keep.
    """

    def __init__(self, template: str, /, **params: object) -> None:
        super().__init__(fill(template, params))
        self.template = template
        self.params = params


class IsegoriaError(Explained):
    """Base of every expected error; its message is meant for the person who caused it."""

    status = 400
    title = "Bad request"

    def __init__(self, template: str, /, *, field: str | None = None, **params: object) -> None:
        super().__init__(template, **params)
        self.detail = str(self)
        self.field = field

    @classmethod
    def because(cls, error: Exception, /, *, field: str | None = None) -> Self:
        """This kind of error with ``error``'s message (and its translations, if it has any)."""
        if isinstance(error, Explained):
            return cls(error.template, field=field, **error.params)
        return cls(str(error), field=field)


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

    def __init__(
        self, template: str, /, *, retry_after: int, field: str | None = None, **params: object
    ) -> None:
        super().__init__(template, field=field, **params)
        self.retry_after = retry_after


@dataclass(frozen=True)
class ItemProblem:
    """What is wrong with one item of a batch: its position, the field, the message."""

    position: int
    field: str | None
    message: str


class InvalidItems(InvalidInput):
    """Some items of a batch are not acceptable; the batch was refused whole."""

    def __init__(self, problems: list[ItemProblem], *, collection: str) -> None:
        self.problems = problems
        self.collection = collection
        first = problems[0]
        super().__init__(
            "%(count)s of the %(collection)s cannot be accepted, so none was; the first, "
            "%(where)s: %(message)s",
            field=collection,
            count=len(problems),
            collection=collection,
            where=self.errors[0]["field"],
            message=first.message,
        )

    @property
    def errors(self) -> list[dict[str, str]]:
        """Each problem as ``{"field": "reports.3.rule", "message": ...}``, as a 422 from
        request validation lists them."""
        return [
            {
                "field": ".".join(
                    str(part) for part in (self.collection, p.position, p.field) if part is not None
                ),
                "message": p.message,
            }
            for p in self.problems
        ]
