"""Events of platform connectors: a platform's own server handed to isegoria's adapters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from isegoria.domain.events import Event


@dataclass(frozen=True)
class ConnectorAdded(Event):
    """A platform connected its Matrix homeserver or Mastodon server to this instance."""

    kind: ClassVar[str] = "ConnectorAdded"
    subject_type: ClassVar[str] = "platform"

    platform_id: int
    connector_id: int
    connector_kind: str  # "matrix" or "mastodon"
    jurisdictions: list[str]

    @property
    def subject_id(self) -> str:
        """The platform's id."""
        return str(self.platform_id)


@dataclass(frozen=True)
class MeasureExpired(Event):
    """A suspension ran its days, and isegoria lifted it on the connected server."""

    kind: ClassVar[str] = "MeasureExpired"
    subject_type: ClassVar[str] = "decision"

    decision_id: int
    case_id: int | None
    platform_id: int

    @property
    def subject_id(self) -> str:
        """The id of the decision that imposed the measure."""
        return str(self.decision_id)


@dataclass(frozen=True)
class TriageDismissed(Event):
    """A citizen found that no rule applies to a platform report waiting in triage.

    It names no citizen: like a report filed from triage, the choice is the community's.
    """

    kind: ClassVar[str] = "TriageDismissed"
    subject_type: ClassVar[str] = "platform"

    platform_id: int
    triage_id: int
    platform_content_id: str

    @property
    def subject_id(self) -> str:
        """The platform's id."""
        return str(self.platform_id)
