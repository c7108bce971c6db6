"""Logged events of context notes: written, status changed, scored.

No event names the author of a note or any rater: a note is public, who rated it how is
not (DESIGN.md, "Everything is published", within the limits of events.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from isegoria.domain.events import Event


@dataclass(frozen=True)
class NoteWritten(Event):
    """A citizen (or a jury, by its verdict) attached a context note to content."""

    kind: ClassVar[str] = "NoteWritten"
    subject_type: ClassVar[str] = "note"
    note_id: int
    content_id: int
    jurisdiction: str
    classification: str
    language: str
    by_jury: bool = False
    case_id: int | None = None

    @property
    def subject_id(self) -> str:
        """The note's id."""
        return str(self.note_id)


@dataclass(frozen=True)
class NoteStatusChanged(Event):
    """A scoring run (or a jury's decree, ``run`` None) changed a note's status."""

    kind: ClassVar[str] = "NoteStatusChanged"
    subject_type: ClassVar[str] = "note"
    note_id: int
    content_id: int
    jurisdiction: str
    previous: str
    status: str  # needs_more_ratings | helpful | not_helpful
    run: int | None

    @property
    def subject_id(self) -> str:
        """The note's id."""
        return str(self.note_id)


@dataclass(frozen=True)
class NotesScored(Event):
    """A scoring run finished: its parameters, what it saw, and how many statuses changed."""

    kind: ClassVar[str] = "NotesScored"
    subject_type: ClassVar[str] = "notes_run"
    run: int
    parameters: dict[str, Any]
    counts: dict[str, int]
    changed: int

    @property
    def subject_id(self) -> str:
        """The run's number."""
        return str(self.run)


@dataclass(frozen=True)
class NoteDecisionIssued(Event):
    """A platform was told to show or hide a note, and must confirm it by ``apply_by``.

    The counterpart of a case's ``DecisionIssued``, so a platform's compliance with note
    decisions is recomputed from the log like its compliance with verdicts.
    """

    kind: ClassVar[str] = "NoteDecisionIssued"
    subject_type: ClassVar[str] = "decision"
    decision_id: int
    note_id: int
    platform_id: int
    jurisdiction: str
    decision_kind: str
    apply_by: str
    # SHA-256 of the decision's body as stored and delivered; absent from older entries.
    body_sha256: str = ""

    @property
    def subject_id(self) -> str:
        """The decision's id."""
        return str(self.decision_id)
