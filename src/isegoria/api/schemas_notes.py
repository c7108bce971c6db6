"""Request and response bodies of the notes API (no rater is ever named)."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel, Field

from isegoria.api.schemas import Strict
from isegoria.domain.notes import (
    MAX_NOTE_LENGTH,
    MAX_REASON_TAGS,
    Classification,
    Helpfulness,
    NoteReason,
    RatingTag,
)
from isegoria.notes.views import NoteExplanation
from isegoria.store.models_notes import NoteRatingRow, NoteRow


class NoteIn(Strict):
    """A new note on a content."""

    classification: Classification
    reasons: list[NoteReason] = Field(default_factory=list, max_length=len(NoteReason))
    text: str = Field(
        min_length=1,
        max_length=MAX_NOTE_LENGTH,
        description="The context, with at least one http(s) link to a source",
    )
    language: str = Field(min_length=1, max_length=35, description="BCP 47 tag")


class RatingIn(Strict):
    """A rating of a note; rating again replaces it."""

    helpfulness: Helpfulness
    tags: list[RatingTag] = Field(default_factory=list, max_length=MAX_REASON_TAGS)


class NoteOut(BaseModel):
    """A note as the public sees it (no author for citizens' notes)."""

    id: int
    content_id: int
    case_id: int | None
    by_jury: bool
    jurisdiction: str
    classification: str
    reasons: list[str]
    text: str
    language: str
    created_at: datetime
    status: str
    status_changed_at: datetime | None
    intercept: float | None = Field(description="Helpfulness score from the last run")
    factor: float | None = Field(description="Viewpoint factor from the last run")

    @classmethod
    def of(cls, note: NoteRow) -> NoteOut:
        """From a stored note."""
        return cls(
            id=note.id,
            content_id=note.content_id,
            case_id=note.case_id,
            by_jury=note.by_jury,
            jurisdiction=note.jurisdiction,
            classification=note.classification,
            reasons=json.loads(note.reasons),
            text=note.text,
            language=note.language,
            created_at=note.created_at,
            status=note.status,
            status_changed_at=note.status_changed_at,
            intercept=note.intercept,
            factor=note.factor,
        )


class FactorBinOut(BaseModel):
    """Raters of the note whose factor lies in [low, high), by answer."""

    low: float
    high: float
    helpful: int
    somewhat_helpful: int
    not_helpful: int


class StatusChangeOut(BaseModel):
    """One change of the note's status."""

    previous: str
    status: str
    changed_at: datetime
    run: int | None


class NoteDetailOut(NoteOut):
    """A note with why it is (not) shown: rating counts and raters by factor."""

    ratings: dict[str, int]
    raters_by_factor: list[FactorBinOut]
    unscored_raters: int
    helpful_intercept: float = Field(description="The bar the intercept must reach")
    helpful_max_abs_factor: float = Field(description="|factor| must stay below this")
    held_by: str | None = Field(
        description=(
            "The published rule that keeps the note off the post whatever its score: "
            "not_misleading (its writer says the post is not misleading), reason_filters "
            "(a not-helpful reason stands out, or 'incorrect' is surprisingly common), "
            "low_on_both_sides (raters on both sides rated it low); null when none does"
        )
    )
    history: list[StatusChangeOut]

    @classmethod
    def explained(cls, why: NoteExplanation) -> NoteDetailOut:
        """From a stored note and its explanation."""
        return cls(
            **NoteOut.of(why.note).model_dump(),
            ratings=why.ratings,
            raters_by_factor=[
                FactorBinOut(
                    low=b.low,
                    high=b.high,
                    helpful=b.helpful,
                    somewhat_helpful=b.somewhat,
                    not_helpful=b.not_helpful,
                )
                for b in why.bins
            ],
            unscored_raters=why.unscored_raters,
            helpful_intercept=why.params.helpful_intercept,
            helpful_max_abs_factor=why.params.helpful_max_abs_factor,
            held_by=why.held_by,
            history=[
                StatusChangeOut(
                    previous=h.previous, status=h.status, changed_at=h.changed_at, run=h.run_id
                )
                for h in why.history
            ],
        )


class RatingOut(BaseModel):
    """The caller's own rating."""

    note_id: int
    helpfulness: str
    tags: list[str]
    updated_at: datetime

    @classmethod
    def of(cls, row: NoteRatingRow) -> RatingOut:
        """From a stored rating."""
        return cls(
            note_id=row.note_id,
            helpfulness=row.helpfulness,
            tags=json.loads(row.tags),
            updated_at=row.updated_at,
        )
