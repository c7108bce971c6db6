"""The columnar ratings reader reads what the row reader reads, and fails where it fails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from isegoria.algorithms.bridging_synthetic import two_camp_ratings
from isegoria.integrations.community_notes_tsv import (
    RATINGS_COLUMNS,
    CommunityNotesFormatError,
    IndexedRatings,
    Rating,
    ratings_matrix,
    read_ratings,
    write_ratings,
)
from isegoria.integrations.community_notes_tsv_columnar import read_ratings_matrix

RATER_A = "5A3B" * 16
RATER_B = "C0FFEE" * 10 + "0000"


def _tsv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.write_text("\n".join("\t".join(row) for row in [header, *rows]) + "\n", encoding="utf-8")
    return path


def _row_reader(paths: list[Path], note_ids: tuple[int, ...] = ()) -> IndexedRatings:
    return ratings_matrix((r for path in paths for r in read_ratings(path)), note_ids)


def _assert_same(old: IndexedRatings, new: IndexedRatings) -> None:
    for field in ("rater", "note", "value", "tags"):
        a, b = getattr(old.matrix, field), getattr(new.matrix, field)
        assert a.dtype == b.dtype, field
        np.testing.assert_array_equal(a, b)
    assert (old.matrix.n_raters, old.matrix.n_notes) == (new.matrix.n_raters, new.matrix.n_notes)
    np.testing.assert_array_equal(old.note_ids, new.note_ids)
    assert old.rater_ids == new.rater_ids
    np.testing.assert_array_equal(old.created_at_millis, new.created_at_millis)


def _synthetic_files(tmp_path: Path, files: int = 3) -> list[Path]:
    """Planted ratings with tags, repeated ratings and shared timestamps, over files."""
    ratings = two_camp_ratings(300, 150, 6_000, seed=2).ratings
    rng = np.random.default_rng(4)
    created = 1_650_000_000_000 + rng.integers(0, 500, len(ratings))  # many ties
    tags = rng.integers(0, 2**14, len(ratings)) * (rng.random(len(ratings)) < 0.2)
    rows = [
        Rating(int(n) * 13 + 7, f"{int(u):064X}", int(t), float(v), int(tag))
        for n, u, v, t, tag in zip(
            ratings.note, ratings.rater, ratings.value, created, tags, strict=True
        )
    ]
    paths = []
    for k in range(files):
        path = tmp_path / f"ratings-{k:05d}.tsv"
        write_ratings(path, rows[k::files])
        paths.append(path)
    return paths


def test_reads_the_synthetic_files_exactly_as_the_row_reader(tmp_path: Path) -> None:
    paths = _synthetic_files(tmp_path)
    _assert_same(_row_reader(paths), read_ratings_matrix(paths))
    listed = (99, 7, 99, 20)  # notes to keep even if unrated, one twice
    _assert_same(_row_reader(paths, listed), read_ratings_matrix(paths, listed))


def test_the_compact_form_holds_the_same_ratings_in_nine_bytes(tmp_path: Path) -> None:
    paths = _synthetic_files(tmp_path, files=1)
    wide, compact = read_ratings_matrix(paths), read_ratings_matrix(paths, compact=True)
    assert (compact.matrix.rater.dtype, compact.matrix.value.dtype) == (np.int32, np.uint8)
    np.testing.assert_array_equal(compact.matrix.note, wide.matrix.note)
    np.testing.assert_array_equal(compact.matrix.value * 0.5, wide.matrix.value)


def test_published_legacy_and_windows_layouts_read_as_the_row_reader(tmp_path: Path) -> None:
    header = [*RATINGS_COLUMNS, "someColumnAddedLater"]
    row = dict.fromkeys(header, "0") | {"helpfulnessLevel": "SOMEWHAT_HELPFUL"}
    published = [
        list((row | {"noteId": "1", "raterParticipantId": r, "createdAtMillis": t}).values())
        for r, t in ((RATER_A, "1650000000002"), (RATER_B, "1650000000001"))
    ]
    legacy_header = ["noteId", "participantId", "createdAtMillis", "helpful", "notHelpful"]
    legacy = [["7", RATER_A, "1611000000000", "1", "0"], ["7", RATER_B, "1611000000001", "0", "1"]]
    windows = tmp_path / "c.tsv"
    text = "\ufeffnoteId\traterParticipantId\tcreatedAtMillis\thelpfulnessLevel\r\n\r\n"
    windows.write_bytes((text + f"3\t{RATER_A}\t5\tHELPFUL\r\n").encode("utf-8"))
    decimal = _tsv(  # a timestamp written as a double: only the row reader takes it
        tmp_path / "d.tsv",
        ["noteId", "raterParticipantId", "createdAtMillis", "helpfulnessLevel"],
        [["4", RATER_B, "1650000000000.0", "NOT_HELPFUL"]],
    )
    paths = [
        _tsv(tmp_path / "a.tsv", header, published),
        _tsv(tmp_path / "b.tsv", legacy_header, legacy),
        windows,
        decimal,
    ]
    for chosen in ([p] for p in paths):
        _assert_same(_row_reader(chosen), read_ratings_matrix(chosen))
    _assert_same(_row_reader(paths), read_ratings_matrix(paths))


@pytest.mark.parametrize(
    "bad",
    [
        ["x1", RATER_A, "5", "HELPFUL"],
        ["1", RATER_A, "5", "MAYBE"],
        ["1", RATER_A, "soon", "HELPFUL"],
        ["1", "a\x01b", "5", "HELPFUL"],
        ["1", RATER_A, "5", ""],
        ["1", RATER_A, "5"],
        ["1" * 20, RATER_A, "5", "HELPFUL"],
    ],
)
def test_malformed_files_raise_the_row_readers_error(tmp_path: Path, bad: list[str]) -> None:
    header = ["noteId", "raterParticipantId", "createdAtMillis", "helpfulnessLevel"]
    good = _tsv(tmp_path / "good.tsv", header, [["1", RATER_B, "4", "HELPFUL"]])
    path = _tsv(tmp_path / "bad.tsv", header, [["1", RATER_B, "4", "HELPFUL"], bad])
    with pytest.raises(CommunityNotesFormatError) as expected:
        _row_reader([path])
    with pytest.raises(CommunityNotesFormatError) as caught:
        read_ratings_matrix([good, path])
    assert str(caught.value) == str(expected.value)
