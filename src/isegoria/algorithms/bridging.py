"""Bridging-based scoring of context notes: the published Community Notes algorithm.

A note is shown only when raters who usually disagree both find it helpful (DESIGN.md,
point 5). This package implements the matrix-factorisation scorer of Community Notes
from its public description ([paper], [ranking], [contributors]: see
:mod:`isegoria.algorithms.bridging_params` for the sources and every constant):

1. Pre-filter ([ranking] "Complete Algorithm Steps" 1): keep notes with at least 5
   ratings, then raters with at least 10 ratings on those notes (not repeated until
   stable, as published).
2. First fit of ``r = mu + i_u + i_n + f_u f_n`` (:mod:`.bridging_model`) and
   first-round statuses from the thresholds on ``i_n`` and ``f_n``.
3. Rater quality ([contributors]): a rater's helpfulness is the share of their helpful
   (1.0) and not-helpful (0.0) valid ratings (``RatingsMatrix.valid``) on notes with a
   first-round status that agree with it; raters below 0.66, or with no such rating,
   are dropped. When note authors are known, authors whose notes are mostly not
   helpful, or whose notes have a low mean intercept, are dropped too.
4. Final fit on the remaining ratings (warm-started from the first) and final statuses,
   with hysteresis against the previous statuses ([ranking] "CRH Inertia").
5. The public scorer's status rules, in its order (:mod:`.bridging_rules`): only notes
   that say the post is misleading can be helpful; a "not misleading" note with a low
   intercept is not helpful (``NmCRNH``); notes rated low by both sides are not helpful
   (``RatioCRNH``); and the tag outlier and "incorrect" filters hold back notes heading
   for helpful. ``ScoringResult.rules`` says which rule acted on which note.

The net helpful minimums are implemented but off by default (``ScoringParams``). Not
implemented (documented gaps, docs/notes.md "Published rules"): the pseudo-rater
confidence bounds, the low-diligence and harassment models, the re-fits without busy or
correlated raters, multi-model reconciliation, the stabilisation delays and the two-week
status lock. The
"valid rating" time windows are computed from the files by
``isegoria.integrations.community_notes_tsv.valid_ratings`` and passed in as a mask.

Typical use::

    result = score(RatingsMatrix.from_triples(raters, notes, values), previous_status=old)
    shown = result.status == CODE_HELPFUL
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from isegoria.algorithms.bridging_data import (
    CHUNK_RATINGS,
    BoolArray,
    FloatArray,
    IntArray,
    RatingsMatrix,
    gather,
)
from isegoria.algorithms.bridging_fit import ModelFit, fit
from isegoria.algorithms.bridging_model import Objective
from isegoria.algorithms.bridging_params import (
    CODE_HELPFUL,
    CODE_NEEDS_MORE_RATINGS,
    CODE_NOT_HELPFUL,
    DEFAULT_PARAMS,
    HELPFUL,
    NOT_HELPFUL,
    SOMEWHAT_HELPFUL,
    STATUS_BY_CODE,
    NoteStatus,
    ScoringParams,
)
from isegoria.algorithms.bridging_rules import RULES, classify, final_statuses

__all__ = [
    "CODE_HELPFUL",
    "CODE_NEEDS_MORE_RATINGS",
    "CODE_NOT_HELPFUL",
    "DEFAULT_PARAMS",
    "HELPFUL",
    "NOT_HELPFUL",
    "SOMEWHAT_HELPFUL",
    "RULES",
    "ModelFit",
    "NoteStatus",
    "Objective",
    "RatingsMatrix",
    "ScoringParams",
    "ScoringResult",
    "ScoringStep",
    "classify",
    "fit",
    "rater_agreement",
    "score",
    "status_codes",
]

StatusArray = npt.NDArray[np.int8]


@dataclass(frozen=True, slots=True)
class ScoringStep:
    """The data left after one step of the pipeline (for reports and audits)."""

    name: str
    ratings: int
    raters: int
    notes: int


@dataclass(frozen=True, slots=True, eq=False)
class ScoringResult:
    """Per-note statuses and scores, plus what each step of the pipeline did."""

    status: StatusArray
    """Final status code per note (``CODE_*``); notes without enough ratings: NMR."""
    intercept: FloatArray
    """Final-fit note intercept (helpfulness score); NaN if the note was not fitted."""
    factor: FloatArray
    """Final-fit note factor (viewpoint); NaN if the note was not fitted."""
    rating_count: IntArray
    """Ratings per note in the final fit (what ``min_ratings_for_status`` checks)."""
    first_round_status: StatusArray
    rater_agreement: FloatArray
    """Rater helpfulness: share of agreeing ratings; NaN when it is undefined."""
    rater_included: BoolArray
    """Whether the rater's ratings entered the final fit."""
    first_fit: ModelFit
    final_fit: ModelFit
    steps: tuple[ScoringStep, ...]
    duplicates_removed: int
    rules: dict[str, BoolArray]
    """Per published rule name (``RULES``), the notes whose final status it decided or
    changed: ``OnlyMisleadingCRH`` (met the helpful thresholds but says "not
    misleading"), ``RatioCRNH``, ``NmCRNH``, ``TagFilter``, ``FilterIncorrect`` and
    ``NetHelpfulMinimums``."""

    def labels(self) -> list[NoteStatus]:
        """The final statuses as :class:`NoteStatus` values, one per note."""
        return [STATUS_BY_CODE[code] for code in self.status.tolist()]


def score(
    ratings: RatingsMatrix,
    previous_status: StatusArray | Sequence[NoteStatus | str] | None = None,
    params: ScoringParams = DEFAULT_PARAMS,
    *,
    note_author: IntArray | None = None,
    not_misleading: BoolArray | None = None,
    warm_start: ModelFit | None = None,
) -> ScoringResult:
    """Score every note: two fits with rater filtering in between, then statuses.

    ``previous_status`` (one entry per note) enables hysteresis; ``note_author`` (rater
    index of each note's author, -1 if unknown) enables the author helpfulness filter;
    ``not_misleading`` marks the notes whose writer says the post is not misleading
    (None: every note says it is misleading). ``warm_start``, a previous run's
    ``first_fit`` (e.g. yesterday's, with index spaces that have grown since), starts
    the first fit from those factors instead of the power method: a day's new ratings
    then rescore in a few sweeps (docs/notes.md "Scale").
    """
    previous = None if previous_status is None else status_codes(previous_status)
    if previous is not None and len(previous) != ratings.n_notes:
        raise ValueError(
            f"previous_status has {len(previous)} entries but there are {ratings.n_notes} notes"
        )
    if note_author is not None and (
        len(note_author) != ratings.n_notes
        or (len(note_author) and (note_author.min() < -1 or note_author.max() >= ratings.n_raters))
    ):
        raise ValueError("note_author needs one rater index (or -1) per note")
    if not_misleading is None:
        not_misleading = np.zeros(ratings.n_notes, dtype=np.bool_)
    elif not_misleading.dtype != np.bool_ or not_misleading.shape != (ratings.n_notes,):
        raise ValueError("not_misleading needs one boolean per note")
    steps = [_step("input", ratings)]
    data, duplicates = ratings.deduplicated()
    steps.append(_step("deduplicated (last rating of a rater on a note wins)", data))

    per_note = data.ratings_per_note()
    data = data.subset(gather(per_note >= params.min_ratings_per_note, data.note))
    steps.append(_step(f"notes with >= {params.min_ratings_per_note} ratings", data))
    per_rater = data.ratings_per_rater()
    data = data.subset(gather(per_rater >= params.min_ratings_per_rater, data.rater))
    steps.append(_step(f"raters with >= {params.min_ratings_per_rater} ratings", data))

    all_ratings = data
    first_fit = fit(data, params, init=warm_start)
    first_status = classify(
        first_fit, data.ratings_per_note(), params, not_misleading=not_misleading
    )
    agreement = rater_agreement(data, first_status)
    included = agreement >= params.min_rater_agreement  # NaN compares false: dropped
    if note_author is not None:
        included &= _authors_in_good_standing(note_author, first_fit, first_status, data, params)
    final_data = data.subset(gather(included, data.rater))
    steps.append(_step(f"raters with agreement >= {params.min_rater_agreement}", final_data))

    final_fit = fit(final_data, params, init=first_fit)
    counts = final_data.ratings_per_note()
    del final_data  # at 10^8 ratings every copy of the data counts
    status, rules = final_statuses(all_ratings, final_fit, counts, params, previous, not_misleading)
    return ScoringResult(
        status=status,
        intercept=final_fit.note_intercept,
        factor=final_fit.note_factor,
        rating_count=counts,
        first_round_status=first_status,
        rater_agreement=agreement,
        rater_included=included,
        first_fit=first_fit,
        final_fit=final_fit,
        steps=tuple(steps),
        duplicates_removed=duplicates,
        rules=rules,
    )


def rater_agreement(ratings: RatingsMatrix, status: StatusArray) -> FloatArray:
    """Per rater, the share of binary ratings on statused notes that match the status.

    [contributors] "Rater Helpfulness Score": a helpful rating (1.0) on a helpful note or
    a not-helpful rating (0.0) on a not-helpful note agrees; somewhat-helpful ratings and
    ratings on notes still needing ratings do not count, nor do ratings outside the
    ``valid`` mask when there is one. NaN when nothing counts.
    """
    total, agreed = np.zeros((2, ratings.n_raters))
    for start in range(0, len(ratings), CHUNK_RATINGS):  # counts: exact in any order
        chunk = ratings.subset(slice(start, start + CHUNK_RATINGS))
        note_status = status[chunk.note]
        is_helpful, is_not_helpful = chunk.value_is(HELPFUL), chunk.value_is(NOT_HELPFUL)
        binary = is_helpful | is_not_helpful
        if chunk.valid is not None:
            binary &= chunk.valid
        counted = binary & (note_status != CODE_NEEDS_MORE_RATINGS)
        agrees = counted & (
            (is_helpful & (note_status == CODE_HELPFUL))
            | (is_not_helpful & (note_status == CODE_NOT_HELPFUL))
        )
        total += np.bincount(chunk.rater, weights=counted, minlength=ratings.n_raters)
        agreed += np.bincount(chunk.rater, weights=agrees, minlength=ratings.n_raters)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, agreed / total, np.nan)


def status_codes(statuses: StatusArray | Sequence[NoteStatus | str]) -> StatusArray:
    """Status codes from an int8 code array or a sequence of statuses (or their names)."""
    if isinstance(statuses, np.ndarray):
        if statuses.ndim != 1 or not np.isin(statuses, [0, 1, 2]).all():
            raise ValueError("status codes must be a 1-d array of 0, 1 and 2")
        return statuses.astype(np.int8)
    try:
        return np.array([NoteStatus(s).code for s in statuses], dtype=np.int8)
    except ValueError:
        allowed = ", ".join(s.value for s in NoteStatus)
        raise ValueError(f"unknown note status in previous_status; expected {allowed}") from None


def _authors_in_good_standing(
    note_author: IntArray,
    model: ModelFit,
    status: StatusArray,
    ratings: RatingsMatrix,
    params: ScoringParams,
) -> BoolArray:
    """[contributors] "Author Helpfulness Scores", over authored notes with a score."""
    counts = ratings.ratings_per_note()
    scored = (note_author >= 0) & (counts >= params.min_ratings_for_status)
    author = note_author[scored]
    n = ratings.n_raters
    written = np.bincount(author, minlength=n).astype(np.float64)
    crh = np.bincount(author, weights=status[scored] == CODE_HELPFUL, minlength=n)
    crnh = np.bincount(author, weights=status[scored] == CODE_NOT_HELPFUL, minlength=n)
    intercept_sum = np.bincount(author, weights=model.note_intercept[scored], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (crh - params.author_crnh_multiplier * crnh) / written
        mean_score = intercept_sum / written
    good = (ratio >= params.min_author_crh_vs_crnh) & (
        mean_score >= params.min_author_mean_note_score
    )
    in_good_standing: BoolArray = (written == 0) | good  # no scored note: not judged
    return in_good_standing


def _step(name: str, ratings: RatingsMatrix) -> ScoringStep:
    """Summarise the data after a step."""
    return ScoringStep(
        name=name,
        ratings=len(ratings),
        raters=int(np.count_nonzero(ratings.ratings_per_rater())),
        notes=int(np.count_nonzero(ratings.ratings_per_note())),
    )
