"""How an event becomes the exact bytes that are hashed into the log (RFC 8785 JSON)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785

from isegoria.domain.events import Event

ENTRY_FORMAT_VERSION = 1


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def format_instant(instant: datetime) -> str:
    """An instant as RFC 3339 UTC with microseconds, the only time format in entries."""
    if instant.tzinfo is None:
        raise ValueError("log timestamps must be timezone-aware")
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode_entry(index: int, event: Event, at: datetime) -> bytes:
    """The canonical JSON of one entry; the same event always yields the same bytes."""
    envelope = {
        "v": ENTRY_FORMAT_VERSION,
        "index": index,
        "kind": event.kind,
        "at": format_instant(at),
        "subject": {"type": event.subject_type, "id": event.subject_id},
        "facts": _jsonable(event.facts()),
    }
    encoded: bytes = rfc8785.dumps(envelope)
    return encoded


@dataclass(frozen=True)
class DecodedEntry:
    """An entry read back: what it says, and whether its bytes are canonical."""

    index: int
    kind: str
    at: str
    subject_type: str
    subject_id: str
    facts: dict[str, Any]


class MalformedEntry(ValueError):
    """Stored bytes that are not a well-formed, canonical log entry."""


def decode_entry(payload: bytes) -> DecodedEntry:
    """Parse an entry and check that it is canonical JSON of the expected shape."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedEntry(f"not UTF-8 JSON: {error}") from None
    if not isinstance(data, dict):
        raise MalformedEntry("not a JSON object")
    try:
        canonical = rfc8785.dumps(data)
    except Exception as error:  # noqa: BLE001 - the library raises several types
        raise MalformedEntry(f"cannot be canonicalised: {error}") from None
    if canonical != payload:
        raise MalformedEntry("not in canonical (RFC 8785) form")
    try:
        subject = data["subject"]
        return DecodedEntry(
            index=int(data["index"]),
            kind=str(data["kind"]),
            at=str(data["at"]),
            subject_type=str(subject["type"]),
            subject_id=str(subject["id"]),
            facts=dict(data["facts"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedEntry(f"missing or wrong field: {error}") from None
