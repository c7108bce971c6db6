"""Matrix adapter configuration, its report cursor, and event snapshots (pure, no I/O)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from isegoria.domain.content import ContentSnapshot, ReportRequest
from isegoria.integrations.matrix_mapping import Pseudonyms, RuleMapping, TriageItem

__all__ = ["MatrixConfig", "MatrixCursor", "Polled", "instant", "snapshot_of_event"]


@dataclass(frozen=True)
class MatrixConfig:
    """What the operator configures for one homeserver."""

    rules: RuleMapping
    jurisdictions: tuple[str, ...]
    language: str = "und"  # BCP 47 "undetermined": Matrix events carry no language
    reduce_reach: Literal["shadow_ban", "none"] = "shadow_ban"
    ban: Literal["deactivate", "lock"] = "deactivate"
    notify: Literal["server_notice", "none"] = "server_notice"
    user_reports: bool = True

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MatrixConfig:
        """Read the operator's JSON (``rules`` as in ``RuleMapping.from_json``)."""
        jurisdictions = data.get("jurisdictions")
        if not isinstance(jurisdictions, list) or not jurisdictions:
            raise ValueError('jurisdictions must be a non-empty list, e.g. ["intl", "MX"]')
        choices = {
            "reduce_reach": ("shadow_ban", "none"),
            "ban": ("deactivate", "lock"),
            "notify": ("server_notice", "none"),
        }
        for key, allowed in choices.items():
            if key in data and data[key] not in allowed:
                raise ValueError(f"{key} must be one of {allowed}, got {data[key]!r}")
        return cls(
            rules=RuleMapping.from_json(data.get("rules", {})),
            jurisdictions=tuple(str(j) for j in jurisdictions),
            language=str(data.get("language", "und")),
            reduce_reach=data.get("reduce_reach", "shadow_ban"),
            ban=data.get("ban", "deactivate"),
            notify=data.get("notify", "server_notice"),
            user_reports=bool(data.get("user_reports", True)),
        )


@dataclass(frozen=True)
class MatrixCursor:
    """The highest event and user report ids already handled; the caller stores it."""

    event_reports: int = 0
    user_reports: int = 0

    def to_json(self) -> str:
        """Serialized form for the caller's storage."""
        return json.dumps({"event_reports": self.event_reports, "user_reports": self.user_reports})

    @classmethod
    def from_json(cls, text: str) -> MatrixCursor:
        """Inverse of ``to_json``."""
        data = json.loads(text)
        return cls(int(data.get("event_reports", 0)), int(data.get("user_reports", 0)))


@dataclass(frozen=True)
class Polled:
    """New reports (mapped or for triage) and the cursor to store once they are filed."""

    items: tuple[ReportRequest | TriageItem, ...]
    cursor: MatrixCursor


def instant(milliseconds: Any) -> datetime:
    """A Matrix timestamp (milliseconds since the epoch) as an aware instant; else ValueError."""
    if isinstance(milliseconds, bool) or not isinstance(milliseconds, int | str):
        raise ValueError(f"a Matrix timestamp is an integer, not {type(milliseconds).__name__}")
    try:
        return datetime.fromtimestamp(int(milliseconds) / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{str(milliseconds)[:40]!r} is not a Matrix timestamp") from None


def snapshot_of_event(
    event: Mapping[str, Any],
    *,
    pseudonyms: Pseudonyms,
    config: MatrixConfig,
    room_name: str | None = None,
    extra_context: Mapping[str, str] | None = None,
) -> ContentSnapshot:
    """A content snapshot of a Matrix event as the server stored it; ValueError if malformed."""
    content = event.get("content") or {}
    if not isinstance(content, Mapping):
        raise ValueError("the event's content is not a JSON object")
    if not isinstance(event.get("sender"), str):
        raise ValueError("the event has no sender")
    room_id = str(event.get("room_id", ""))
    event_id = str(event.get("event_id", ""))
    context = {"room": room_id, "event_type": str(event.get("type", ""))}
    if room_name:
        context["room_name"] = room_name
    context.update(extra_context or {})
    if isinstance(content.get("url"), str):
        context["media"] = content["url"]  # an mxc:// URI; the bytes are not fetched
    body = content.get("body")
    return ContentSnapshot(
        platform_content_id=event_id,
        url=f"https://matrix.to/#/{room_id}/{event_id}",
        text=body if isinstance(body, str) else "",
        language=config.language,
        author=pseudonyms.of(str(event["sender"])),
        posted_at=instant(event.get("origin_server_ts", 0)),
        jurisdictions=config.jurisdictions,
        context=context,
    )
