"""Events: facts that happened, named in the past tense, each written to the public log.

An event holds only what a member of the public may see: codes, ids, pseudonyms, counts.
Never a login, an e-mail address or which citizen cast which ballot.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    """Base of every logged event."""

    kind: ClassVar[str]
    subject_type: ClassVar[str]

    @property
    def subject_id(self) -> str:
        """The id of the thing this event is about."""
        raise NotImplementedError

    def facts(self) -> dict[str, Any]:
        """The public facts of the event, as JSON-ready values."""
        return asdict(self)


@dataclass(frozen=True)
class JurisdictionCreated(Event):
    """A new rule-making community was set up."""

    kind: ClassVar[str] = "JurisdictionCreated"
    subject_type: ClassVar[str] = "jurisdiction"

    code: str
    name: str
    parent: str | None
    languages: list[str]

    @property
    def subject_id(self) -> str:
        """The jurisdiction's code."""
        return self.code


@dataclass(frozen=True)
class PlatformRegistered(Event):
    """A platform started handing its moderation to this instance."""

    kind: ClassVar[str] = "PlatformRegistered"
    subject_type: ClassVar[str] = "platform"

    platform_id: int
    name: str

    @property
    def subject_id(self) -> str:
        """The platform's id."""
        return str(self.platform_id)
