"""Reading notes: the rating queue, a note's explanation and its raters-by-factor chart.

Nothing here returns who rated what: only counts, and a rater's own rating to them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import case, func, select

from isegoria.algorithms.bridging import DEFAULT_PARAMS, ScoringParams
from isegoria.domain.notes import Classification, Helpfulness, NoteStatus
from isegoria.store.models_cases import Case, Content
from isegoria.store.models_notes import NoteRaterRow, NoteRatingRow, NoteRow, NoteStatusHistoryRow
from isegoria.unit_of_work import UnitOfWork

#: Raters' factors are shown in bins of this width between -FACTOR_RANGE and +FACTOR_RANGE
#: (fitted factors of real raters rarely leave [-1.5, 1.5]; the ends collect the rest).
FACTOR_BIN_WIDTH: Final = 0.25
FACTOR_RANGE: Final = 1.5
QUEUE_LENGTH: Final = 20


@dataclass(frozen=True)
class FactorBin:
    """Raters of one note whose factor falls in [low, high), by their answer."""

    low: float
    high: float
    helpful: int
    somewhat: int
    not_helpful: int


@dataclass(frozen=True)
class NoteExplanation:
    """Why a note is (not) shown, as numbers a page can put in words."""

    note: NoteRow
    ratings: dict[str, int]
    bins: list[FactorBin]
    unscored_raters: int  # raters with no factor yet (too few ratings of their own)
    params: ScoringParams
    history: list[NoteStatusHistoryRow] = field(default_factory=list)

    @property
    def meets_intercept(self) -> bool:
        """Whether the helpfulness score reaches the bar for being shown."""
        return self.note.intercept is not None and (
            self.note.intercept >= self.params.helpful_intercept
        )

    @property
    def meets_factor(self) -> bool:
        """Whether the note is liked across viewpoints (small factor)."""
        return self.note.factor is not None and (
            abs(self.note.factor) < self.params.helpful_max_abs_factor
        )

    @property
    def says_not_misleading(self) -> bool:
        """Whether the writer says the post is not misleading: then it is never shown."""
        return self.note.classification == Classification.NOT_MISLEADING.value

    @property
    def held_back(self) -> bool:
        """Whether it meets both bars yet needs more ratings: a published rule on
        not-helpful reasons (tag outlier, "incorrect" filter) held it back."""
        return (
            not self.note.by_jury
            and not self.says_not_misleading
            and self.meets_intercept
            and self.meets_factor
            and self.note.scored_ratings >= self.params.min_ratings_for_status
            and self.note.status == NoteStatus.NEEDS_MORE_RATINGS.value
        )

    @property
    def rated_low_on_both_sides(self) -> bool:
        """Whether it is not helpful although its score is above the not-helpful line
        (and its margin): the rule on notes rated low by raters on both sides."""
        if self.note.intercept is None or self.note.factor is None or self.says_not_misleading:
            return False
        p = self.params
        line = p.not_helpful_intercept - p.not_helpful_factor_multiplier * abs(self.note.factor)
        return (
            self.note.status == NoteStatus.NOT_HELPFUL.value
            and self.note.intercept >= line + p.not_helpful_margin
        )

    @property
    def held_by(self) -> str | None:
        """Which published rule keeps the note off the post although its numbers would not:
        ``not_misleading``, ``reason_filters`` or ``low_on_both_sides`` (None: no such rule)."""
        if self.note.by_jury:
            return None
        if self.says_not_misleading:
            return "not_misleading"
        if self.held_back:
            return "reason_filters"
        if self.rated_low_on_both_sides:
            return "low_on_both_sides"
        return None

    @property
    def total(self) -> int:
        """Ratings of the note."""
        return sum(self.ratings.values())


def explain(
    uow: UnitOfWork, note: NoteRow, params: ScoringParams = DEFAULT_PARAMS
) -> NoteExplanation:
    """Counts of the note's ratings, its raters by factor bin, and its status history."""
    rows = uow.session.execute(
        select(NoteRatingRow.helpfulness, NoteRaterRow.factor)
        .outerjoin(NoteRaterRow, NoteRaterRow.account_id == NoteRatingRow.rater_account_id)
        .where(NoteRatingRow.note_id == note.id)
    ).all()
    ratings = {h.value: 0 for h in Helpfulness}
    edges = [
        -FACTOR_RANGE + i * FACTOR_BIN_WIDTH
        for i in range(int(round(2 * FACTOR_RANGE / FACTOR_BIN_WIDTH)) + 1)
    ]
    tallies = [[0, 0, 0] for _ in edges[:-1]]
    column = {Helpfulness.HELPFUL.value: 0, Helpfulness.SOMEWHAT_HELPFUL.value: 1}
    unscored = 0
    for helpfulness, factor in rows:
        ratings[helpfulness] = ratings.get(helpfulness, 0) + 1
        if factor is None:
            unscored += 1
            continue
        index = int(
            (min(max(factor, -FACTOR_RANGE), FACTOR_RANGE - 1e-9) + FACTOR_RANGE)
            // FACTOR_BIN_WIDTH
        )
        tallies[index][column.get(helpfulness, 2)] += 1
    bins = [
        FactorBin(low, high, *tally)
        for low, high, tally in zip(edges[:-1], edges[1:], tallies, strict=True)
    ]
    history = list(
        uow.session.scalars(
            select(NoteStatusHistoryRow)
            .where(NoteStatusHistoryRow.note_id == note.id)
            .order_by(NoteStatusHistoryRow.id)
        )
    )
    return NoteExplanation(note, ratings, bins, unscored, params, history)


def note_reasons(note: NoteRow) -> list[str]:
    """The writer's reasons, as stored."""
    reasons: list[str] = json.loads(note.reasons)
    return reasons


def notes_of_case(uow: UnitOfWork, case: Case) -> list[NoteRow]:
    """Notes on the case's content (the jury's first, then shown ones, then the newest)."""
    notes = list(
        uow.session.scalars(
            select(NoteRow).where(NoteRow.content_id == case.content_id).order_by(NoteRow.id.desc())
        )
    )
    return sorted(notes, key=lambda n: (not n.by_jury, n.status != NoteStatus.HELPFUL.value))


def rating_queue(uow: UnitOfWork, account_id: int, limit: int = QUEUE_LENGTH) -> list[NoteRow]:
    """Notes for a citizen to rate: those needing ratings, from their side first.

    A note needs raters from both sides (factor signs) to be shown; so among notes still
    needing ratings, those the citizen's side has rated least (relative to the other side)
    come first, then those with the fewest ratings, then the oldest. A citizen with no
    factor yet gets the least-rated notes first. Their own notes, jury notes and notes
    they already rated are left out.
    """
    mine = uow.session.scalar(
        select(NoteRaterRow.factor).where(NoteRaterRow.account_id == account_id)
    )
    side = 0 if mine is None or mine == 0 else (1 if mine > 0 else -1)
    rated = select(NoteRatingRow.note_id).where(NoteRatingRow.rater_account_id == account_id)
    candidates = list(
        uow.session.scalars(
            select(NoteRow)
            .where(
                NoteRow.status == NoteStatus.NEEDS_MORE_RATINGS.value,
                NoteRow.by_jury.is_(False),
                (NoteRow.author_account_id != account_id) | NoteRow.author_account_id.is_(None),
                NoteRow.id.not_in(rated),
            )
            .order_by(NoteRow.id)
            .limit(limit * 10)
        )
    )
    if not candidates:
        return []
    ids = [n.id for n in candidates]
    sign = case((NoteRaterRow.factor > 0, 1), (NoteRaterRow.factor < 0, -1), else_=0)
    counts = {
        (note_id, int(side_of_rater)): n
        for note_id, side_of_rater, n in uow.session.execute(
            select(
                NoteRatingRow.note_id,
                sign,
                func.count(),
            )
            .outerjoin(NoteRaterRow, NoteRaterRow.account_id == NoteRatingRow.rater_account_id)
            .where(NoteRatingRow.note_id.in_(ids))
            .group_by(NoteRatingRow.note_id, sign)
        ).tuples()
    }

    def priority(note: NoteRow) -> tuple[int, int, int]:
        total = sum(n for (note_id, _), n in counts.items() if note_id == note.id)
        if side == 0:
            return (0, total, note.id)
        mine_side = counts.get((note.id, side), 0)
        other_side = counts.get((note.id, -side), 0)
        return (mine_side - other_side, total, note.id)

    return sorted(candidates, key=priority)[:limit]


def content_of(uow: UnitOfWork, note: NoteRow) -> Content:
    """The content a note is about."""
    content = uow.session.get(Content, note.content_id)
    assert content is not None  # noqa: S101 - a foreign key guarantees it
    return content
