"""Each operation's summary and description, from its handler's docstring.

FastAPI names an operation without a summary after its function (``did_json`` becomes
"Did Json") and repeats the whole docstring as its description. The docstring's first line
is the summary a person should read; the rest, in CommonMark as OpenAPI asks (OpenAPI 3.1
§4.8.10), is the description.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from fastapi.routing import APIRoute


def summarize(routes: Iterable[Any]) -> None:
    """Give every API route without a summary its docstring's first paragraph as summary."""
    for route in routes:
        if not isinstance(route, APIRoute) or route.summary:
            continue
        doc = inspect.getdoc(route.endpoint)
        if not doc:
            continue
        first, _, rest = doc.partition("\n\n")
        route.summary = " ".join(first.split()).rstrip(".")
        route.description = rest.strip()
