"""Score a directory of public Community Notes files and compare with the published statuses.

Input (the file names the publisher uses, any numbered part): ``notes-*.tsv``,
``ratings-*.tsv``, ``noteStatusHistory-*.tsv`` and ``userEnrollment-*.tsv``. Output, in
``out``: ``noteStatusHistory-00000.tsv`` (the published layout, statuses as this scorer
gives them), ``scored_notes.tsv`` and ``helpfulness_scores.tsv`` (the column names of the
public scorer's outputs for the core model), and ``comparison.json`` (our status against
the published one, note by note, as counts).

Each note's ``classification`` and each rating's not-helpful tag columns feed the
published status rules (docs/notes.md, "Published rules").

The comparison scores *without* hysteresis: feeding the published statuses into the
inertia rule would pull ours towards them and inflate the agreement. Valid-rating masks
and the author filter use the status history and the notes file, as the guide describes.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import numpy as np

from isegoria.algorithms.bridging import DEFAULT_PARAMS, ScoringParams, ScoringResult, score
from isegoria.integrations.community_notes_tsv import (
    NoteStatusRecord,
    read_note_status_history,
    read_notes,
    read_user_enrollment,
    updated_status_history,
    valid_ratings,
    write_note_status_history,
)
from isegoria.integrations.community_notes_tsv_columnar import read_ratings_matrix
from isegoria.integrations.community_notes_tsv_format import STATUS_LABELS, write_rows
from isegoria.integrations.community_notes_tsv_scoring import not_misleading_notes

FILES: Final = {
    "notes": "notes-*.tsv",
    "ratings": "ratings-*.tsv",
    "noteStatusHistory": "noteStatusHistory-*.tsv",
    "userEnrollment": "userEnrollment-*.tsv",
}
SCORED_NOTES_COLUMNS: Final = (
    "noteId", "coreNoteIntercept", "coreNoteFactor1", "numRatings", "coreRatingStatus",
    "finalRatingStatus",
)  # fmt: skip
HELPFULNESS_COLUMNS: Final = (
    "raterParticipantId", "coreRaterIntercept", "coreRaterFactor1",
    "raterAgreeRatio", "aboveHelpfulnessThreshold",
)  # fmt: skip
_LABEL: Final = dict(enumerate(STATUS_LABELS))  # status code -> published label

Progress = Callable[[str], None]


class MissingDataFile(FileNotFoundError):
    """The directory lacks a file the scorer needs."""


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Our statuses against the published ones, over notes present in both."""

    notes: int
    ratings: int
    raters: int
    compared: int
    agreed: int
    matrix: dict[str, dict[str, int]]  # published label -> our label -> notes
    enrolled: int

    @property
    def agreement(self) -> float:
        """Share of compared notes with the same status (0 when none were compared)."""
        return self.agreed / self.compared if self.compared else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {**dataclasses.asdict(self), "agreement": round(self.agreement, 6)}


def _parts(directory: Path, key: str, *, required: bool = True) -> list[Path]:
    found = sorted(directory.glob(FILES[key]))
    if required and not found:
        raise MissingDataFile(f"no {FILES[key]} file in {directory}")
    return found


def _chain(paths: list[Path], reader: Callable[[Path], Iterator[Any]]) -> Iterator[Any]:
    for path in paths:
        yield from reader(path)


def score_directory(
    source: Path,
    out: Path,
    *,
    now_millis: int,
    params: ScoringParams = DEFAULT_PARAMS,
    progress: Progress | None = None,
) -> Comparison:
    """Read the four files from ``source``, score, write the outputs into ``out``."""
    say = progress or (lambda _step: None)
    say("reading notes")
    notes = {n.note_id: n for n in _chain(_parts(source, "notes"), read_notes)}
    say("reading the status history")
    history: dict[int, NoteStatusRecord] = {
        r.note_id: r
        for r in _chain(
            _parts(source, "noteStatusHistory", required=False), read_note_status_history
        )
    }
    enrolled = sum(
        1 for _ in _chain(_parts(source, "userEnrollment", required=False), read_user_enrollment)
    )
    say("reading ratings")
    # Columnar: the full public data holds about 10^8 ratings (docs/notes.md "Scale").
    indexed = read_ratings_matrix(_parts(source, "ratings"), note_ids=notes, compact=True)
    matrix = dataclasses.replace(indexed.matrix, valid=valid_ratings(indexed, history, notes))
    rater_of = {rater: index for index, rater in enumerate(indexed.rater_ids)}
    note_author = np.array(
        [
            rater_of.get(notes[n].author_participant_id, -1) if n in notes else -1
            for n in indexed.note_ids.tolist()
        ],
        dtype=np.int64,
    )
    say("fitting the model")
    result = score(
        matrix,
        None,
        params,
        note_author=note_author,
        not_misleading=not_misleading_notes(indexed, notes),
    )
    say("writing the outputs")
    out.mkdir(parents=True, exist_ok=True)
    records = updated_status_history(indexed, result, now_millis, history, notes)
    write_note_status_history(out / "noteStatusHistory-00000.tsv", records)
    _write_scores(out, indexed.note_ids.tolist(), indexed.rater_ids, result)
    comparison = _compare(indexed.note_ids.tolist(), result, history, enrolled)
    (out / "comparison.json").write_text(
        json.dumps(comparison.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return comparison


def _number(value: float) -> str:
    return "" if np.isnan(value) else f"{value:.6f}"


def _write_scores(
    out: Path, note_ids: list[int], rater_ids: tuple[str, ...], result: ScoringResult
) -> None:
    first = result.first_round_status.tolist()
    write_rows(
        out / "scored_notes.tsv",
        SCORED_NOTES_COLUMNS,
        (
            [str(n), _number(i), _number(f), str(c), _LABEL[s0], _LABEL[s]]
            for n, i, f, c, s0, s in zip(
                note_ids,
                result.intercept.tolist(),
                result.factor.tolist(),
                result.rating_count.tolist(),
                first,
                result.status.tolist(),
                strict=True,
            )
        ),
    )
    fit = result.final_fit
    write_rows(
        out / "helpfulness_scores.tsv",
        HELPFULNESS_COLUMNS,
        (
            [r, _number(i), _number(f), _number(a), str(bool(inc)).upper()]
            for r, i, f, a, inc in zip(
                rater_ids,
                fit.rater_intercept.tolist(),
                fit.rater_factor.tolist(),
                result.rater_agreement.tolist(),
                result.rater_included.tolist(),
                strict=True,
            )
        ),
    )


def _compare(
    note_ids: list[int],
    result: ScoringResult,
    history: dict[int, NoteStatusRecord],
    enrolled: int,
) -> Comparison:
    matrix = {a: dict.fromkeys(STATUS_LABELS, 0) for a in STATUS_LABELS}
    for note_id, code in zip(note_ids, result.status.tolist(), strict=True):
        record = history.get(note_id)
        if record is not None and record.current_status in matrix:
            matrix[record.current_status][_LABEL[code]] += 1
    compared = sum(sum(row.values()) for row in matrix.values())
    agreed = sum(matrix[label][label] for label in STATUS_LABELS)
    return Comparison(
        notes=len(note_ids),
        ratings=result.steps[0].ratings,
        raters=result.steps[0].raters,
        compared=compared,
        agreed=agreed,
        matrix=matrix,
        enrolled=enrolled,
    )
