"""The public files' classification and tag columns reach the published status rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from isegoria.algorithms.bridging_params import TAG_BIT
from isegoria.algorithms.bridging_synthetic import BRIDGING, two_camp_ratings
from isegoria.integrations.community_notes_run import score_directory
from isegoria.integrations.community_notes_tsv import (
    RATINGS_COLUMNS,
    CommunityNotesFormatError,
    Note,
    Rating,
    ratings_matrix,
    read_ratings,
    write_notes,
    write_ratings,
)
from isegoria.integrations.community_notes_tsv_scoring import not_misleading_notes

RATER = "5A3B" * 16
START = 1_700_000_000_000
INCORRECT = TAG_BIT["notHelpfulIncorrect"]
OUTDATED = TAG_BIT["notHelpfulOutdated"]


def test_not_helpful_tag_columns_are_read_and_written(tmp_path: Path) -> None:
    path = tmp_path / "ratings-00000.tsv"
    ratings = [
        Rating(1, RATER, START, 0.0, INCORRECT | OUTDATED),
        Rating(2, RATER, START + 1, 1.0),
    ]
    write_ratings(path, ratings)
    header, first, second = path.read_text().splitlines()[:3]
    row = dict(zip(header.split("\t"), first.split("\t"), strict=True))
    assert row["notHelpfulIncorrect"] == row["notHelpfulOutdated"] == "1"
    assert row["notHelpfulOther"] == "0"
    assert list(read_ratings(path)) == ratings
    indexed = ratings_matrix(read_ratings(path))
    assert indexed.matrix.tags is not None
    assert indexed.matrix.tags.tolist() == [INCORRECT | OUTDATED, 0]


def test_a_tag_column_that_is_not_0_or_1_is_named(tmp_path: Path) -> None:
    path = tmp_path / "ratings-00000.tsv"
    row = dict.fromkeys(RATINGS_COLUMNS, "")
    row |= {
        "noteId": "1",
        "raterParticipantId": RATER,
        "createdAtMillis": str(START),
        "helpfulnessLevel": "NOT_HELPFUL",
        "notHelpfulIncorrect": "yes",
    }
    path.write_text("\t".join(RATINGS_COLUMNS) + "\n" + "\t".join(row.values()) + "\n")
    with pytest.raises(CommunityNotesFormatError) as caught:
        list(read_ratings(path))
    assert caught.value.line == 2 and caught.value.column == "notHelpfulIncorrect"


def test_classification_marks_not_misleading_notes_and_deleted_ones_count_as_misleading() -> None:
    indexed = ratings_matrix([Rating(n, RATER, START, 1.0) for n in (1, 2, 3)])
    notes = {
        1: Note(1, RATER, START, 9, "MISINFORMED_OR_POTENTIALLY_MISLEADING", "x"),
        2: Note(2, RATER, START, 9, "NOT_MISLEADING", "x"),
    }  # note 3 was deleted: it is missing from the notes file
    assert not_misleading_notes(indexed, notes).tolist() == [False, True, False]


def test_scoring_a_directory_never_shows_a_note_that_says_not_misleading(tmp_path: Path) -> None:
    data = two_camp_ratings(80, 40, 2400, seed=3)
    r = data.ratings
    write_ratings(
        tmp_path / "ratings-00000.tsv",
        (
            Rating(1000 + int(r.note[i]), f"P{int(r.rater[i]):03d}", START + i, r.value[i])
            for i in range(len(r))
        ),
    )
    bridging = [n for n in range(r.n_notes) if data.note_kind[n] == BRIDGING]

    def scored(not_misleading: set[int]) -> dict[int, str]:
        write_notes(
            tmp_path / "notes-00000.tsv",
            (
                Note(
                    1000 + n,
                    "AUTHOR",
                    START,
                    1,
                    "NOT_MISLEADING"
                    if n in not_misleading
                    else "MISINFORMED_OR_POTENTIALLY_MISLEADING",
                    "x",
                )
                for n in range(r.n_notes)
            ),
        )
        out = tmp_path / "out"
        score_directory(tmp_path, out, now_millis=START + 10**9)
        lines = (out / "scored_notes.tsv").read_text().splitlines()[1:]
        return {int(f[0]) - 1000: f[-1] for f in (line.split("\t") for line in lines)}

    before = scored(set())
    shown = [n for n in bridging if before[n] == "CURRENTLY_RATED_HELPFUL"]
    assert shown
    after = scored({shown[0]})
    assert after[shown[0]] == "NEEDS_MORE_RATINGS"
    assert {n: s for n, s in after.items() if n != shown[0]} == {
        n: s for n, s in before.items() if n != shown[0]
    }
    assert json.loads((tmp_path / "out" / "comparison.json").read_text())["notes"] == 40
