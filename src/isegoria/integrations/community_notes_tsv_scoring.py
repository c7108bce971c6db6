"""From Community Notes files to the bridging scorer and back to a status history.

:func:`ratings_matrix` turns streamed :class:`Rating` rows into the scorer's
:class:`~isegoria.algorithms.bridging.RatingsMatrix` (public ids -> dense indices);
:func:`valid_ratings` computes [contributors] "Valid Ratings" from the status history;
:func:`previous_statuses` feeds the hysteresis; :func:`updated_status_history` writes
the scored statuses back as note-status-history rows. Sources as in
:mod:`isegoria.integrations.community_notes_tsv`.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from isegoria.algorithms.bridging import (
    CODE_HELPFUL,
    CODE_NEEDS_MORE_RATINGS,
    CODE_NOT_HELPFUL,
    RatingsMatrix,
    ScoringResult,
)
from isegoria.algorithms.bridging_data import IntArray
from isegoria.integrations.community_notes_tsv_format import (
    CURRENTLY_RATED_HELPFUL,
    CURRENTLY_RATED_NOT_HELPFUL,
    NEEDS_MORE_RATINGS,
    NOT_MISLEADING,
    Note,
    NoteStatusRecord,
    Rating,
)

_LABEL_BY_CODE: Final = {
    CODE_NEEDS_MORE_RATINGS: NEEDS_MORE_RATINGS,
    CODE_HELPFUL: CURRENTLY_RATED_HELPFUL,
    CODE_NOT_HELPFUL: CURRENTLY_RATED_NOT_HELPFUL,
}
_CODE_BY_LABEL: Final = {label: code for code, label in _LABEL_BY_CODE.items()}
# [contributors] "Valid Ratings": ratings are published 48 hours after they are made, so
# later ones could copy the crowd ([code] constants.publicTSVTimeDelay = 172800000).
PUBLIC_RELEASE_DELAY_MILLIS: Final = 48 * 60 * 60 * 1000


@dataclass(frozen=True, slots=True, eq=False)
class IndexedRatings:
    """The scorer's input plus the public ids behind its dense indices."""

    matrix: RatingsMatrix
    note_ids: IntArray
    """``note_ids[i]`` is the public noteId of note index ``i``."""
    rater_ids: tuple[str, ...]
    """``rater_ids[j]`` is the participant id of rater index ``j``."""
    created_at_millis: IntArray
    """When each rating of ``matrix`` was made (same order)."""


def ratings_matrix(ratings: Iterable[Rating], note_ids: Iterable[int] = ()) -> IndexedRatings:
    """Index ratings for the scorer; ``note_ids`` lists notes to keep even if unrated.

    Ratings are ordered by ``createdAtMillis`` (stably), so that when a rater rated a
    note twice the scorer's "last one wins" keeps the most recent rating. Only four
    numbers per rating (and a 16-bit tag mask) are kept in memory, in compact arrays.
    """
    note_index: dict[int, int] = {}
    for note_id in note_ids:
        note_index.setdefault(note_id, len(note_index))
    rater_index: dict[str, int] = {}
    raters, notes, created = array("q"), array("q"), array("q")
    values = array("d")
    tags = array("H")
    for rating in ratings:
        notes.append(note_index.setdefault(rating.note_id, len(note_index)))
        raters.append(rater_index.setdefault(rating.rater_participant_id, len(rater_index)))
        created.append(rating.created_at_millis)
        values.append(rating.value)
        tags.append(rating.not_helpful_tags)
    created_at = np.frombuffer(created, dtype=np.int64)
    order = np.argsort(created_at, kind="stable")
    matrix = RatingsMatrix(
        rater=np.frombuffer(raters, dtype=np.int64)[order],
        note=np.frombuffer(notes, dtype=np.int64)[order],
        value=np.frombuffer(values, dtype=np.float64)[order],
        tags=np.frombuffer(tags, dtype=np.uint16)[order],
        n_raters=len(rater_index),
        n_notes=len(note_index),
    )
    return IndexedRatings(
        matrix=matrix,
        note_ids=np.fromiter(note_index, dtype=np.int64, count=len(note_index)),
        rater_ids=tuple(rater_index),
        created_at_millis=created_at[order],
    )


def not_misleading_notes(
    indexed: IndexedRatings, notes: Mapping[int, Note]
) -> npt.NDArray[np.bool_]:
    """Per indexed note: does its writer say the post is not misleading?

    As in the public scorer, a note missing from the notes file (a deleted note) counts
    as saying "misleading": it can be helpful but never falls under ``NmCRNH``.
    """
    return np.array(
        [
            (note := notes.get(note_id)) is not None and note.classification == NOT_MISLEADING
            for note_id in indexed.note_ids.tolist()
        ],
        dtype=np.bool_,
    )


def valid_ratings(
    indexed: IndexedRatings,
    history: Mapping[int, NoteStatusRecord],
    notes: Mapping[int, Note] | None = None,
) -> npt.NDArray[np.bool_]:
    """Which ratings may count toward rater helpfulness ([contributors] "Valid Ratings").

    A rating is valid when it was made before the note first left needs-more-ratings
    (or, if the note later flipped between helpful and not helpful, before that flip)
    and within 48 hours of the note's creation, when that time is known from the status
    history or the notes file. Notes with no status yet set no time limit. (The guide's
    extra rule for notes created before 2022-05-18, only their first 5 ratings, is not
    applied.) Pass the result as ``RatingsMatrix.valid``.
    """
    never = np.iinfo(np.int64).max
    cutoff = np.full(len(indexed.note_ids), never, dtype=np.int64)
    deadline = np.full(len(indexed.note_ids), never, dtype=np.int64)
    notes = notes or {}
    for index, note_id in enumerate(indexed.note_ids.tolist()):
        record = history.get(note_id)
        note = notes.get(note_id)
        created = record.created_at_millis if record else None
        if created is None and note is not None:
            created = note.created_at_millis
        if created is not None:
            deadline[index] = created + PUBLIC_RELEASE_DELAY_MILLIS
        if record is None or record.first_non_nmr_millis is None:
            continue
        flipped = record.latest_non_nmr_status not in ("", record.first_non_nmr_status)
        if flipped and record.latest_non_nmr_millis is not None:
            cutoff[index] = record.latest_non_nmr_millis
        else:
            cutoff[index] = record.first_non_nmr_millis
    rated = indexed.matrix.note
    made = indexed.created_at_millis
    mask: npt.NDArray[np.bool_] = (made < cutoff[rated]) & (made <= deadline[rated])
    return mask


def previous_statuses(
    indexed: IndexedRatings, history: Mapping[int, NoteStatusRecord]
) -> npt.NDArray[np.int8]:
    """Each indexed note's current status in ``history`` (needs-more-ratings if absent)."""
    codes = np.full(len(indexed.note_ids), CODE_NEEDS_MORE_RATINGS, dtype=np.int8)
    for index, note_id in enumerate(indexed.note_ids.tolist()):
        record = history.get(note_id)
        if record is not None:
            codes[index] = _CODE_BY_LABEL[record.current_status]
    return codes


def updated_status_history(
    indexed: IndexedRatings,
    result: ScoringResult,
    now_millis: int,
    history: Mapping[int, NoteStatusRecord] | None = None,
    notes: Mapping[int, Note] | None = None,
) -> list[NoteStatusRecord]:
    """New status-history rows for every indexed note after a scoring run at ``now``.

    Timestamps follow the guide's column definitions: the current-status time changes
    only when the status does; the first non-NMR status is set once; the latest non-NMR
    status moves when the note gets a helpful or not-helpful status it did not have.
    """
    if len(result.status) != len(indexed.note_ids):
        raise ValueError("the scoring result does not belong to these indexed ratings")
    history, notes = history or {}, notes or {}
    return [
        _next_record(note_id, _LABEL_BY_CODE[code], now_millis, history.get(note_id), notes)
        for note_id, code in zip(indexed.note_ids.tolist(), result.status.tolist(), strict=True)
    ]


def _next_record(
    note_id: int,
    label: str,
    now: int,
    before: NoteStatusRecord | None,
    notes: Mapping[int, Note],
) -> NoteStatusRecord:
    """The status-history row of one note after a run that gave it ``label``."""
    if before is None:
        note = notes.get(note_id)
        before = NoteStatusRecord(
            note_id=note_id,
            author_participant_id=note.author_participant_id if note else "",
            created_at_millis=note.created_at_millis if note else None,
            first_non_nmr_millis=None,
            first_non_nmr_status="",
            current_status_millis=None,
            current_status="",  # no status yet: any label is a change
            latest_non_nmr_millis=None,
            latest_non_nmr_status="",
        )
    record = before
    if before.current_status != label:
        record = record._replace(current_status=label, current_status_millis=now)
    if label != NEEDS_MORE_RATINGS:
        if not before.first_non_nmr_status:
            record = record._replace(first_non_nmr_status=label, first_non_nmr_millis=now)
        if before.latest_non_nmr_status != label:
            record = record._replace(latest_non_nmr_status=label, latest_non_nmr_millis=now)
    return record
