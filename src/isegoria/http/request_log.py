"""Structured logs: one line per request, as JSON (``ISEGORIA_LOG_FORMAT=json``) or text.

A request line carries the request id, method, route template, status, duration and the kind
of caller (anonymous, person, platform). It never carries secrets, logins, addresses, query
strings or bodies: the route template (``/api/v1/log/entries/{index}``) stands for the path.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from starlette.types import Scope

from isegoria.http.metrics import route_template

REQUEST_LOGGER = "isegoria.http"
# The fields a request line adds to a log record (see ``log_request``).
REQUEST_FIELDS = ("request_id", "method", "route", "status", "duration_ms", "principal")
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

logger = logging.getLogger(REQUEST_LOGGER)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one line of JSON."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary (uvicorn applies it in every worker)."""
    formatter: dict[str, Any] = (
        {"()": "isegoria.http.request_log.JsonFormatter"}
        if log_format == "json"
        else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"isegoria": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "isegoria",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            # Our own request line replaces uvicorn's access log (which logs the raw path).
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
        },
    }


def log_request(scope: Scope, status: int, seconds: float, request_id: str) -> None:
    """Log one answered request with its structured fields."""
    if not logger.isEnabledFor(logging.INFO):  # e.g. ISEGORIA_LOG_LEVEL=warning: build nothing
        return

    principal = scope.get("state", {}).get("principal")
    kind = str(getattr(principal, "kind", "anonymous"))
    fields = {
        "request_id": request_id,
        "method": str(scope.get("method", "")),
        "route": route_template(scope),
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "principal": kind,
    }
    logger.info(
        "%s %s %s %.1fms id=%s",
        fields["method"],
        fields["route"],
        status,
        fields["duration_ms"],
        request_id,
        extra=fields,
    )
