"""The problem-details answers (RFC 9457) every API operation may give, for the OpenAPI.

Declaring them lets clients, and the schema-driven fuzzing in the test suite, check each
error answer against a documented schema and media type.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldProblem(BaseModel):
    """One invalid field of a request."""

    field: str
    message: str


class Problem(BaseModel):
    """An error answer: RFC 9457 problem details with the request id to quote."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    request_id: str | None = None
    field: str | None = None
    errors: list[FieldProblem] | None = None


_WHEN = {
    400: "Malformed request: a body that is not UTF-8 JSON, or a NUL character (U+0000)",
    401: "No valid credentials (log in, or send a valid platform key)",
    403: "The caller may not do this (role, scope, CSRF token, or the current password)",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "Request too large",
    422: "Invalid input; `errors` names each field",
    429: "Rate limited; retry after the `Retry-After` header's seconds",
    503: "Overloaded or the database is busy; nothing changed, retry after `Retry-After`",
}


def _response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: _response(text) for status, text in _WHEN.items()
}
for _status in (429, 503):
    PROBLEM_RESPONSES[_status]["headers"] = {
        "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
    }


def add_problem_schema(openapi: dict[str, Any]) -> dict[str, Any]:
    """Put the ``Problem`` schemas into an OpenAPI document's components."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, schema in problem.pop("$defs", {}).items():
        schemas.setdefault(name, schema)
    schemas["Problem"] = problem
    return openapi
