"""A scoring run: every rating into the bridging scorer, statuses back, the platform told.

The run reads all notes written by citizens and all their ratings, scores them in one
vectorised call (:func:`isegoria.algorithms.bridging.score`), and in the same transaction
stores each note's intercept, factor and status, each rater's factor (private: it feeds
the rating queue), one ``NoteStatusChanged`` entry per changed status, a NOTE_SHOWN or
NOTE_HIDDEN decision for the platform when a note starts or stops being shown, and one
``NotesScored`` entry with the run's parameters and counts. Jury notes are not scored:
their status is the verdict's.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

import numpy as np
from sqlalchemy import case, delete, func, insert, select, update

from isegoria.algorithms.bridging import (
    DEFAULT_PARAMS,
    RatingsMatrix,
    ScoringParams,
    ScoringResult,
    score,
    status_codes,
)
from isegoria.algorithms.bridging_params import HELPFUL, NOT_HELPFUL, SOMEWHAT_HELPFUL
from isegoria.domain.decisions import DecisionKind
from isegoria.domain.note_events import NotesScored, NoteStatusChanged
from isegoria.domain.notes import Classification, Helpfulness, NoteStatus, tag_mask
from isegoria.jobs import queue as jobs
from isegoria.notes.decisions import issue_note_decision
from isegoria.store.models import Job
from isegoria.store.models_cases import Content
from isegoria.store.models_notes import (
    NoteRaterRow,
    NoteRatingRow,
    NoteRow,
    NoteRunRow,
    NoteStatusHistoryRow,
)
from isegoria.store.types import UTCDateTime
from isegoria.unit_of_work import UnitOfWork

JOB_SCORE_NOTES = "notes.score"
#: How often the worker schedules a run. Ours: a note can appear within the hour, and a run
#: over 10^6 ratings takes seconds (docs/benchmarks.md), so hourly costs little.
SCORE_INTERVAL = timedelta(hours=1)
#: [contributors] "Valid Ratings": ratings made within 48 hours of the note's creation
#: (and before its first status) count toward their rater's helpfulness.
VALID_RATING_WINDOW = timedelta(hours=48)

Progress = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class RunSummary:
    """What one run did (for the CLI and the job's log)."""

    run_id: int
    ratings: int
    raters: int
    notes: int
    counts: dict[str, int]
    changed: int
    shown: int
    hidden: int
    rules: dict[str, int] = dataclasses.field(default_factory=dict)
    """Per published rule (``bridging.RULES``), how many notes it acted on."""


def _parameters(params: ScoringParams) -> dict[str, Any]:
    """The run's parameters as log-friendly values (numbers as text, as other entries do)."""
    return {
        k: (repr(v) if isinstance(v, float) else v) for k, v in dataclasses.asdict(params).items()
    }


def _load(uow: UnitOfWork) -> tuple[list[NoteRow], Any, Any, Any, Any]:
    """Citizens' notes (by id), and their ratings in rating order: (note id, rater id)
    pairs, values, when each rating was made (seconds since the epoch) and the bit mask
    of its not-helpful tags."""
    notes = list(
        uow.session.scalars(select(NoteRow).where(NoteRow.by_jury.is_(False)).order_by(NoteRow.id))
    )
    value = case(
        (NoteRatingRow.helpfulness == Helpfulness.HELPFUL.value, HELPFUL),
        (NoteRatingRow.helpfulness == Helpfulness.SOMEWHAT_HELPFUL.value, SOMEWHAT_HELPFUL),
        else_=NOT_HELPFUL,
    )
    rows = uow.session.execute(
        select(
            NoteRatingRow.note_id,
            NoteRatingRow.rater_account_id,
            value,
            NoteRatingRow.updated_at,
            NoteRatingRow.tags,
        )
        .join(NoteRow, NoteRow.id == NoteRatingRow.note_id)
        .where(NoteRow.by_jury.is_(False))
        .order_by(NoteRatingRow.updated_at, NoteRatingRow.note_id, NoteRatingRow.rater_account_id)
    ).all()
    # Rows become plain tuples first: numpy reads tuples in C but a Row ~50x slower. Ids are
    # below 2**31, so they are exact in float64.
    table = np.array(list(map(itemgetter(0, 1, 2), rows)), dtype=np.float64).reshape(-1, 3)
    made = np.fromiter(
        map(datetime.timestamp, map(itemgetter(3), rows)), dtype=np.float64, count=len(rows)
    )
    # Few distinct tag lists occur, so each JSON text is parsed once per run.
    mask_of = functools.cache(tag_mask)
    tags = np.fromiter(map(mask_of, map(itemgetter(4), rows)), dtype=np.uint16, count=len(rows))
    return notes, table[:, :2].astype(np.int64), table[:, 2].copy(), made, tags


def _valid(uow: UnitOfWork, notes: list[NoteRow], note: Any, made: Any) -> Any:
    """[contributors] "Valid Ratings": which ratings may earn their rater standing.

    Only ratings made before the note first got a status (helpful or not helpful) and
    within ``VALID_RATING_WINDOW`` of the note's creation count toward a rater's agreement:
    agreeing with a status already on show proves nothing. (The guide's later cut-off
    after a flip between the two statuses is not applied.)
    """
    earliest = func.min(NoteStatusHistoryRow.changed_at, type_=UTCDateTime())
    first_status: dict[int, datetime] = {
        note_id: at
        for note_id, at in uow.session.execute(
            select(NoteStatusHistoryRow.note_id, earliest)
            .where(NoteStatusHistoryRow.previous == NoteStatus.NEEDS_MORE_RATINGS.value)
            .group_by(NoteStatusHistoryRow.note_id)
        ).all()
    }
    never = np.inf
    cutoff = np.array(
        [first_status[n.id].timestamp() if n.id in first_status else never for n in notes]
    )
    window = VALID_RATING_WINDOW.total_seconds()
    deadline = np.array([n.created_at.timestamp() + window for n in notes])
    # ``<=``: a run stamps statuses after reading every rating, so a rating stamped at that
    # very instant was made before the status could be seen.
    mask = (made <= cutoff[note]) & (made <= deadline[note])
    return mask.astype(np.bool_)


def _contents(uow: UnitOfWork, ids: set[int]) -> dict[int, Content]:
    """The posts of the notes whose status changed, in a few queries rather than one each."""
    wanted, found = sorted(ids), {}
    for start in range(0, len(wanted), 1000):  # well under every backend's parameter limit
        chunk = wanted[start : start + 1000]
        found.update(
            {c.id: c for c in uow.session.scalars(select(Content).where(Content.id.in_(chunk)))}
        )
    return found


def _finite(value: float) -> float | None:
    """A score for storage: NaN (not fitted) becomes NULL."""
    return None if np.isnan(value) else value


def _index_of(sorted_ids: np.ndarray[Any, Any], wanted: np.ndarray[Any, Any]) -> Any:
    """Position of each wanted id in ``sorted_ids``, or -1 (an author who rated nothing)."""
    if not len(sorted_ids):
        return np.full(len(wanted), -1, dtype=np.int64)
    position = np.minimum(np.searchsorted(sorted_ids, wanted), len(sorted_ids) - 1)
    return np.where(sorted_ids[position] == wanted, position, -1).astype(np.int64)


def run_scoring(
    uow: UnitOfWork, params: ScoringParams = DEFAULT_PARAMS, progress: Progress | None = None
) -> RunSummary:
    """Score every note now; store statuses, tell platforms, log the run (one transaction)."""
    say = progress or (lambda _step: None)
    now = uow.now()
    run = NoteRunRow(started_at=now, parameters=json.dumps(_parameters(params), sort_keys=True))
    uow.session.add(run)
    uow.session.flush()
    say("loading ratings")
    notes, ids, values, made, tags = _load(uow)
    note_ids = np.array([n.id for n in notes], dtype=np.int64)
    rater_ids, rater_index = np.unique(ids[:, 1], return_inverse=True)
    note_index = np.searchsorted(note_ids, ids[:, 0]).astype(np.int64)
    matrix = RatingsMatrix(
        rater=rater_index.astype(np.int64).reshape(-1),
        note=note_index,
        value=values,
        n_raters=len(rater_ids),
        n_notes=len(notes),
        valid=_valid(uow, notes, note_index, made),
        tags=tags,
    )
    not_misleading = np.array(
        [n.classification == Classification.NOT_MISLEADING.value for n in notes], dtype=np.bool_
    )
    authors = np.array([n.author_account_id or -1 for n in notes], dtype=np.int64)
    note_author = _index_of(rater_ids, authors)
    previous = status_codes([n.status for n in notes]) if notes else np.zeros(0, np.int8)
    say("fitting the model")
    result = score(matrix, previous, params, note_author=note_author, not_misleading=not_misleading)
    say("storing statuses")
    summary = _store(uow, run, notes, rater_ids, previous, result)
    say("done")
    return summary


def _store(
    uow: UnitOfWork,
    run: NoteRunRow,
    notes: list[NoteRow],
    rater_ids: np.ndarray[Any, Any],
    previous: np.ndarray[Any, Any],
    result: ScoringResult,
) -> RunSummary:
    now = uow.now()
    intercept = result.intercept.tolist()
    factor = result.factor.tolist()
    counts = result.rating_count.tolist()
    if notes:
        uow.session.execute(
            update(NoteRow),
            [
                {
                    "id": note.id,
                    "intercept": _finite(i),
                    "factor": _finite(f),
                    "scored_ratings": c,
                    "last_run_id": run.id,
                }
                for note, i, f, c in zip(notes, intercept, factor, counts, strict=True)
            ],
        )
    uow.session.execute(delete(NoteRaterRow))
    if len(rater_ids):
        fit = result.final_fit
        uow.session.execute(
            insert(NoteRaterRow),
            [
                {
                    "account_id": a,
                    "factor": _finite(f),
                    "intercept": _finite(i),
                    "agreement": _finite(g),
                    "included": bool(inc),
                    "run_id": run.id,
                }
                for a, f, i, g, inc in zip(
                    rater_ids.tolist(),
                    fit.rater_factor.tolist(),
                    fit.rater_intercept.tolist(),
                    result.rater_agreement.tolist(),
                    result.rater_included.tolist(),
                    strict=True,
                )
            ],
        )
    changed_at = np.flatnonzero(result.status != previous).tolist()
    shown = hidden = 0
    contents = _contents(uow, {notes[i].content_id for i in changed_at})
    for index in changed_at:
        note = notes[index]
        new = NoteStatus.from_code(int(result.status[index]))
        old = NoteStatus.from_code(int(previous[index]))
        # The bulk update above already stored the scores; only the status changes here.
        note.status, note.status_changed_at = new.value, now
        uow.session.add(
            NoteStatusHistoryRow(
                note_id=note.id,
                previous=old.value,
                status=new.value,
                changed_at=now,
                run_id=run.id,
                intercept=_finite(intercept[index]),
                factor=_finite(factor[index]),
            )
        )
        uow.log.append(
            NoteStatusChanged(
                note_id=note.id,
                content_id=note.content_id,
                jurisdiction=note.jurisdiction,
                previous=old.value,
                status=new.value,
                run=run.id,
            )
        )
        kind = None
        if new is NoteStatus.HELPFUL:
            kind, shown = DecisionKind.NOTE_SHOWN, shown + 1
        elif old is NoteStatus.HELPFUL:
            kind, hidden = DecisionKind.NOTE_HIDDEN, hidden + 1
        if kind is not None:
            issue_note_decision(uow, note, contents[note.content_id], kind)
    by_status = {s.value: int(np.count_nonzero(result.status == s.code)) for s in NoteStatus}
    last = result.steps[-1]
    run.finished_at = now
    run.ratings, run.raters, run.notes = last.ratings, last.raters, len(notes)
    run.counts = json.dumps(by_status, sort_keys=True)
    run.changed = len(changed_at)
    run.steps = json.dumps([dataclasses.asdict(step) for step in result.steps])
    uow.log.append(
        NotesScored(
            run=run.id,
            parameters=json.loads(run.parameters),
            counts={
                "ratings": result.steps[0].ratings,
                "ratings_scored": last.ratings,
                "raters_scored": last.raters,
                "notes": len(notes),
                **by_status,
            },
            changed=len(changed_at),
        )
    )
    return RunSummary(
        run_id=run.id,
        ratings=result.steps[0].ratings,
        raters=last.raters,
        notes=len(notes),
        counts=by_status,
        changed=len(changed_at),
        shown=shown,
        hidden=hidden,
        rules={name: int(np.count_nonzero(mask)) for name, mask in result.rules.items()},
    )


@jobs.handler(JOB_SCORE_NOTES)
def _score_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    run_scoring(uow)


def ensure_scheduled(uow: UnitOfWork) -> bool:
    """Schedule a scoring run now unless one is already waiting (the worker's hourly tick)."""
    waiting = uow.session.scalar(
        select(Job.id).where(
            Job.kind == JOB_SCORE_NOTES, Job.status == jobs.JobStatus.PENDING.value
        )
    )
    if waiting is not None:
        return False
    jobs.schedule(uow, JOB_SCORE_NOTES, uow.now(), {})
    return True
