"""Tables of context notes: notes, ratings, status history, scoring runs, rater scores."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from isegoria.store.models import Base
from isegoria.store.types import UTCDateTime


class NoteRow(Base):
    """A context note on one content; its status is the last scoring run's (or a jury's)."""

    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("contents.id"), index=True)
    # NULL for a jury's note; private: never shown or logged.
    author_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), default=None, index=True
    )
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), default=None)
    by_jury: Mapped[bool] = mapped_column(Boolean, default=False)
    jurisdiction: Mapped[str] = mapped_column(String(32))
    classification: Mapped[str] = mapped_column(String(48))
    reasons: Mapped[str] = mapped_column(Text)  # JSON list of NoteReason values
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(35))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(24))
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    intercept: Mapped[float | None] = mapped_column(Float, default=None)
    factor: Mapped[float | None] = mapped_column(Float, default=None)
    scored_ratings: Mapped[int] = mapped_column(Integer, default=0)
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("note_runs.id"), default=None)


class NoteRatingRow(Base):
    """A citizen's rating of a note; re-rating replaces it. Never published with the rater."""

    __tablename__ = "note_ratings"

    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id"), primary_key=True)
    rater_account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id"), primary_key=True, index=True
    )
    helpfulness: Mapped[str] = mapped_column(String(24))
    tags: Mapped[str] = mapped_column(Text)  # JSON list of RatingTag values
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NoteStatusHistoryRow(Base):
    """One change of a note's status."""

    __tablename__ = "note_status_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id"), index=True)
    previous: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(24))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    run_id: Mapped[int | None] = mapped_column(ForeignKey("note_runs.id"), default=None)
    intercept: Mapped[float | None] = mapped_column(Float, default=None)
    factor: Mapped[float | None] = mapped_column(Float, default=None)


class NoteRunRow(Base):
    """One scoring run: its parameters, what it saw and how many statuses it changed."""

    __tablename__ = "note_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    parameters: Mapped[str] = mapped_column(Text)  # JSON of ScoringParams
    ratings: Mapped[int] = mapped_column(Integer, default=0)
    raters: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[str] = mapped_column(Text, default="{}")  # JSON: status -> notes
    changed: Mapped[int] = mapped_column(Integer, default=0)
    steps: Mapped[str] = mapped_column(Text, default="[]")  # JSON of the scorer's steps


class NoteRaterRow(Base):
    """A rater's factor and standing from the last run (private; feeds the rating queue)."""

    __tablename__ = "note_raters"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    factor: Mapped[float | None] = mapped_column(Float, default=None)
    intercept: Mapped[float | None] = mapped_column(Float, default=None)
    agreement: Mapped[float | None] = mapped_column(Float, default=None)
    included: Mapped[bool] = mapped_column(Boolean, default=False)
    run_id: Mapped[int] = mapped_column(ForeignKey("note_runs.id"))
