"""Read and write the public Community Notes data files, and feed them to the scorer.

Sources: [guide] "Downloading data" and [contributors] "Contributor helpfulness scores"
in the Community Notes guide; [code] the public scorer's constants (see
:mod:`isegoria.algorithms.bridging_params` for the full references).

The four published files (notes, ratings, note status history, user enrollment) are
TSVs with a header row; the column names are in :mod:`.community_notes_tsv_format`.
Readers are generators that hold one line at a time, accept extra columns (the
publisher adds columns over time), accept the older names of renamed columns, and
raise :class:`CommunityNotesFormatError` (a ``ValueError``) naming the file, line and
column of the first malformed field. Blank lines are skipped.

From ratings to statuses::

    indexed = ratings_matrix(read_ratings("ratings-00000.tsv"))
    history = {r.note_id: r for r in read_note_status_history("noteStatusHistory-00000.tsv")}
    matrix = dataclasses.replace(indexed.matrix, valid=valid_ratings(indexed, history))
    result = score(matrix, previous_statuses(indexed, history))
    records = updated_status_history(indexed, result, now_millis, history)
    write_note_status_history("noteStatusHistory-new.tsv", records)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Final

from isegoria.algorithms.bridging import (
    HELPFUL,
    NOT_HELPFUL,
    SOMEWHAT_HELPFUL,
)
from isegoria.algorithms.bridging_params import NOT_HELPFUL_TAGS, TAG_BIT
from isegoria.integrations.community_notes_tsv_format import (
    NOTE_STATUS_HISTORY_COLUMNS,
    NOTES_COLUMNS,
    RATINGS_COLUMNS,
    STATUS_LABELS,
    USER_ENROLLMENT_COLUMNS,
    CommunityNotesFormatError,
    Enrollment,
    Note,
    NoteStatusRecord,
    Rating,
    Row,
    Source,
    read_rows,
    write_rows,
)
from isegoria.integrations.community_notes_tsv_scoring import (
    IndexedRatings,
    previous_statuses,
    ratings_matrix,
    updated_status_history,
    valid_ratings,
)

__all__ = [
    "NOTES_COLUMNS",
    "NOTE_STATUS_HISTORY_COLUMNS",
    "RATINGS_COLUMNS",
    "USER_ENROLLMENT_COLUMNS",
    "CommunityNotesFormatError",
    "Enrollment",
    "IndexedRatings",
    "Note",
    "NoteStatusRecord",
    "Rating",
    "previous_statuses",
    "ratings_matrix",
    "read_note_status_history",
    "read_notes",
    "read_ratings",
    "read_user_enrollment",
    "updated_status_history",
    "valid_ratings",
    "write_note_status_history",
    "write_notes",
    "write_ratings",
    "write_user_enrollment",
]

# Guide, "Helpful Rating Mapping": the three-level answer, and the 2021 two-level form.
HELPFULNESS_LEVELS: Final = {
    "HELPFUL": HELPFUL,
    "SOMEWHAT_HELPFUL": SOMEWHAT_HELPFUL,
    "NOT_HELPFUL": NOT_HELPFUL,
}
_LEVEL_BY_VALUE: Final = {value: level for level, value in HELPFULNESS_LEVELS.items()}


def read_ratings(source: Source) -> Iterator[Rating]:
    """Stream the ratings file: helpfulnessLevel, or the 2021 helpful/notHelpful flags,
    and the not-helpful tag columns (absent ones count as 0)."""
    for row in read_rows(source, ("noteId", "raterParticipantId", "createdAtMillis")):
        yield Rating(
            row.numeric_id(),
            row.participant_id("raterParticipantId"),
            row.millis("createdAtMillis"),
            _rating_value(row),
            sum(TAG_BIT[tag] for tag in NOT_HELPFUL_TAGS if row.flag(tag)),
        )


def read_notes(source: Source) -> Iterator[Note]:
    """Stream the notes file."""
    required = ("noteId", "noteAuthorParticipantId", "createdAtMillis", "tweetId")
    for row in read_rows(source, required):
        yield Note(
            row.numeric_id(),
            row.participant_id("noteAuthorParticipantId"),
            row.millis("createdAtMillis"),
            row.numeric_id("tweetId"),
            row.get("classification"),
            row.get("summary"),
        )


def read_note_status_history(source: Source) -> Iterator[NoteStatusRecord]:
    """Stream the note status history file."""
    for row in read_rows(source, ("noteId", "currentStatus")):
        author = row.get("noteAuthorParticipantId")
        yield NoteStatusRecord(
            row.numeric_id(),
            row.participant_id("noteAuthorParticipantId") if author else "",
            row.optional_millis("createdAtMillis"),
            row.optional_millis("timestampMillisOfFirstNonNMRStatus"),
            row.choice("firstNonNMRStatus", STATUS_LABELS, optional=True),
            row.optional_millis("timestampMillisOfCurrentStatus"),
            row.choice("currentStatus", STATUS_LABELS),
            row.optional_millis("timestampMillisOfLatestNonNMRStatus"),
            row.choice("mostRecentNonNMRStatus", STATUS_LABELS, optional=True),
        )


def read_user_enrollment(source: Source) -> Iterator[Enrollment]:
    """Stream the user enrollment file."""
    for row in read_rows(source, ("participantId", "enrollmentState")):
        state = row.get("enrollmentState")
        if not state:
            raise row.error("enrollmentState", "is empty")
        yield Enrollment(
            row.participant_id("participantId"),
            state,
            row.optional_count("successfulRatingNeededToEarnIn"),
            row.optional_millis("timestampOfLastStateChange"),
            row.get("modelingPopulation"),
        )


def write_ratings(path: str | os.PathLike[str], ratings: Iterable[Rating]) -> int:
    """Write a ratings file in the published layout (unknown columns left empty)."""
    return _write(
        path,
        RATINGS_COLUMNS,
        (
            {
                "noteId": str(r.note_id),
                "raterParticipantId": r.rater_participant_id,
                "createdAtMillis": str(r.created_at_millis),
                "helpfulnessLevel": _helpfulness_level(r.value),
                **{
                    tag: "1" if r.not_helpful_tags & TAG_BIT[tag] else "0"
                    for tag in NOT_HELPFUL_TAGS
                },
            }
            for r in ratings
        ),
    )


def write_notes(path: str | os.PathLike[str], notes: Iterable[Note]) -> int:
    """Write a notes file in the published layout (unknown columns left empty)."""
    return _write(
        path,
        NOTES_COLUMNS,
        (
            {
                "noteId": str(n.note_id),
                "noteAuthorParticipantId": n.author_participant_id,
                "createdAtMillis": str(n.created_at_millis),
                "tweetId": str(n.tweet_id),
                "classification": n.classification,
                "summary": n.summary,
            }
            for n in notes
        ),
    )


def write_note_status_history(
    path: str | os.PathLike[str], records: Iterable[NoteStatusRecord]
) -> int:
    """Write a note status history file in the published layout; "never" is -1."""
    return _write(
        path,
        NOTE_STATUS_HISTORY_COLUMNS,
        (
            {
                "noteId": str(r.note_id),
                "noteAuthorParticipantId": r.author_participant_id,
                "createdAtMillis": _millis_text(r.created_at_millis),
                "timestampMillisOfFirstNonNMRStatus": _millis_text(r.first_non_nmr_millis),
                "firstNonNMRStatus": r.first_non_nmr_status,
                "timestampMillisOfCurrentStatus": _millis_text(r.current_status_millis),
                "currentStatus": r.current_status,
                "timestampMillisOfLatestNonNMRStatus": _millis_text(r.latest_non_nmr_millis),
                "mostRecentNonNMRStatus": r.latest_non_nmr_status,
            }
            for r in records
        ),
    )


def write_user_enrollment(path: str | os.PathLike[str], rows: Iterable[Enrollment]) -> int:
    """Write a user enrollment file in the published layout."""
    return _write(
        path,
        USER_ENROLLMENT_COLUMNS,
        (
            {
                "participantId": e.participant_id,
                "enrollmentState": e.enrollment_state,
                "successfulRatingNeededToEarnIn": _optional_text(
                    e.successful_rating_needed_to_earn_in
                ),
                "timestampOfLastStateChange": _millis_text(e.timestamp_of_last_state_change),
                "modelingPopulation": e.modeling_population,
            }
            for e in rows
        ),
    )


def _rating_value(row: Row) -> float:
    level = row.get("helpfulnessLevel")
    if level:
        value = HELPFULNESS_LEVELS.get(level)
        if value is None:
            allowed = ", ".join(HELPFULNESS_LEVELS)
            raise row.error("helpfulnessLevel", f"expected one of {allowed}, got {level[:40]!r}")
        return value
    # Before 2021-06-30 the form had two answers, published as 0/1 flags.
    helpful, not_helpful = row.get("helpful"), row.get("notHelpful")
    if (helpful, not_helpful) == ("1", "0"):
        return HELPFUL
    if (helpful, not_helpful) == ("0", "1"):
        return NOT_HELPFUL
    raise row.error(
        "helpfulnessLevel",
        "is empty and the legacy helpful/notHelpful flags are not 1/0 or 0/1; "
        "every rating needs a helpfulness answer",
    )


def _helpfulness_level(value: float) -> str:
    level = _LEVEL_BY_VALUE.get(value)
    if level is None:
        raise ValueError(f"rating value {value} has no helpfulness level (use 1.0, 0.5 or 0.0)")
    return level


def _millis_text(value: int | None) -> str:
    return "-1" if value is None else str(value)


def _optional_text(value: int | None) -> str:
    return "" if value is None else str(value)


def _write(
    path: str | os.PathLike[str], columns: Sequence[str], rows: Iterable[Mapping[str, str]]
) -> int:
    known = set(columns)

    def ordered() -> Iterator[list[str]]:
        for row in rows:
            if not known.issuperset(row):
                raise ValueError(f"unknown columns {sorted(set(row) - known)}")
            yield [row.get(column, "") for column in columns]

    return write_rows(path, columns, ordered())
