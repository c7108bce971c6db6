"""Tests of the Community Notes TSV readers, writers and the bridge to the scorer."""

from __future__ import annotations

import dataclasses
import io
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isegoria.algorithms.bridging import CODE_HELPFUL, CODE_NOT_HELPFUL, score
from isegoria.algorithms.bridging_synthetic import BRIDGING, two_camp_ratings
from isegoria.integrations.community_notes_tsv import (
    NOTE_STATUS_HISTORY_COLUMNS,
    RATINGS_COLUMNS,
    CommunityNotesFormatError,
    Enrollment,
    Note,
    NoteStatusRecord,
    Rating,
    previous_statuses,
    ratings_matrix,
    read_note_status_history,
    read_notes,
    read_ratings,
    read_user_enrollment,
    updated_status_history,
    valid_ratings,
    write_note_status_history,
    write_notes,
    write_ratings,
    write_user_enrollment,
)

CRH = "CURRENTLY_RATED_HELPFUL"
RATER_A = "5A3B" * 16  # the public ids are 64 hex digits
RATER_B = "C0FFEE" * 10 + "0000"
READERS: dict[str, Callable[[Any], Iterator[Any]]] = {
    "ratings": read_ratings,
    "notes": read_notes,
    "status history": read_note_status_history,
    "enrollment": read_user_enrollment,
}


def _tsv(tmp_path: Path, name: str, header: list[str], rows: list[list[str]]) -> Path:
    path = tmp_path / name
    lines = ["\t".join(header)] + ["\t".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _error(reader: Callable[[Any], Iterator[Any]], source: Any) -> CommunityNotesFormatError:
    with pytest.raises(CommunityNotesFormatError) as caught:
        list(reader(source))
    return caught.value


# --- reading -----------------------------------------------------------------------------------


def test_reads_ratings_in_the_published_layout_with_extra_columns(tmp_path: Path) -> None:
    header = [*RATINGS_COLUMNS, "someColumnAddedLater"]
    row = dict.fromkeys(header, "0")
    rows = []
    for note, rater, millis, level in [
        ("1", RATER_A, "1650000000000", "HELPFUL"),
        ("1", RATER_B, "1650000000001", "SOMEWHAT_HELPFUL"),
        ("2", RATER_A, "1650000000002", "NOT_HELPFUL"),
    ]:
        values = row | {
            "noteId": note,
            "raterParticipantId": rater,
            "createdAtMillis": millis,
            "helpfulnessLevel": level,
        }
        rows.append([values[c] for c in header])
    path = _tsv(tmp_path, "ratings-00000.tsv", header, rows)
    assert list(read_ratings(path)) == [
        Rating(1, RATER_A, 1650000000000, 1.0),
        Rating(1, RATER_B, 1650000000001, 0.5),
        Rating(2, RATER_A, 1650000000002, 0.0),
    ]


def test_reads_legacy_ratings_with_two_level_answers_and_old_column_name(tmp_path: Path) -> None:
    header = ["noteId", "participantId", "createdAtMillis", "helpful", "notHelpful"]
    rows = [["7", RATER_A, "1611000000000", "1", "0"], ["7", RATER_B, "1611000000001", "0", "1"]]
    path = _tsv(tmp_path, "ratings.tsv", header, rows)
    assert [r.value for r in read_ratings(path)] == [1.0, 0.0]
    assert [r.rater_participant_id for r in read_ratings(path)] == [RATER_A, RATER_B]


def test_byte_order_mark_crlf_and_blank_lines_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "ratings.tsv"
    text = "\ufeffnoteId\traterParticipantId\tcreatedAtMillis\thelpfulnessLevel\r\n\r\n"
    text += f"3\t{RATER_A}\t5\tHELPFUL\r\n"
    path.write_bytes(text.encode("utf-8"))
    assert list(read_ratings(path)) == [Rating(3, RATER_A, 5, 1.0)]


@pytest.mark.parametrize(
    ("row", "line", "column", "fragment"),
    [
        (["x1", RATER_A, "5", "HELPFUL"], 3, "noteId", "numeric id"),
        (["1", RATER_A, "5", "MAYBE"], 3, "helpfulnessLevel", "HELPFUL, SOMEWHAT_HELPFUL"),
        (["1", RATER_A, "soon", "HELPFUL"], 3, "createdAtMillis", "milliseconds"),
        (["1", "", "5", "HELPFUL"], 3, "raterParticipantId", "participant id"),
        (["1", "a\x01b", "5", "HELPFUL"], 3, "raterParticipantId", "printable"),
        (["1", RATER_A, "5", ""], 3, "helpfulnessLevel", "helpfulness answer"),
        (["1", RATER_A, "5"], 3, None, "expected 4 tab-separated fields"),
        (["1", RATER_A, "5", "HELPFUL", "extra"], 3, None, "found 5"),
        (["1" * 20, RATER_A, "5", "HELPFUL"], 3, "noteId", "numeric id"),
    ],
)
def test_malformed_rating_rows_name_file_line_and_column(
    tmp_path: Path, row: list[str], line: int, column: str | None, fragment: str
) -> None:
    header = ["noteId", "raterParticipantId", "createdAtMillis", "helpfulnessLevel"]
    good = ["1", RATER_B, "4", "HELPFUL"]
    path = _tsv(tmp_path, "ratings.tsv", header, [good, row])
    error = _error(read_ratings, path)
    assert (error.source, error.line, error.column) == (str(path), line, column)
    assert fragment in str(error) and "ratings.tsv, line 3" in str(error)


def test_header_problems_are_reported_on_line_one(tmp_path: Path) -> None:
    missing = _tsv(tmp_path, "a.tsv", ["noteId", "createdAtMillis", "helpfulnessLevel"], [])
    error = _error(read_ratings, missing)
    assert (error.line, error.column) == (1, "raterParticipantId")
    assert "required column is missing" in str(error)
    twice = _tsv(tmp_path, "b.tsv", ["noteId", "noteId", "raterParticipantId"], [])
    assert "appears twice" in str(_error(read_ratings, twice))
    empty = tmp_path / "c.tsv"
    empty.write_bytes(b"")
    assert "empty" in str(_error(read_ratings, empty))


def test_invalid_utf8_is_reported_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.tsv"
    header = "noteId\tnoteAuthorParticipantId\tcreatedAtMillis\ttweetId\tsummary\n"
    path.write_bytes(header.encode() + f"1\t{RATER_A}\t5\t9\tok\n".encode() + b"2\tx\t5\t9\t\xff\n")
    error = _error(read_notes, path)
    assert error.line == 3 and "UTF-8" in str(error)


def test_reading_streams_instead_of_loading_the_whole_file(tmp_path: Path) -> None:
    header = ["noteId", "raterParticipantId", "createdAtMillis", "helpfulnessLevel"]
    rows = [[str(i), RATER_A, "1", "HELPFUL"] for i in range(3)] + [["bad", "", "", ""]]
    ratings = read_ratings(_tsv(tmp_path, "r.tsv", header, rows))
    assert next(ratings).note_id == 0  # rows before the bad one come out first
    assert [r.note_id for r in (next(ratings), next(ratings))] == [1, 2]
    with pytest.raises(CommunityNotesFormatError):
        next(ratings)


def test_note_status_history_reads_missing_markers_and_status_labels(tmp_path: Path) -> None:
    header = list(NOTE_STATUS_HISTORY_COLUMNS[:9])
    rows = [
        ["4", RATER_A, "100", "-1", "", "150", "NEEDS_MORE_RATINGS", "-1", ""],
        ["5", RATER_B, "100", "200.0", CRH, "300", "NEEDS_MORE_RATINGS", "200", CRH],
    ]
    records = list(read_note_status_history(_tsv(tmp_path, "nsh.tsv", header, rows)))
    assert records[0] == NoteStatusRecord(
        4, RATER_A, 100, None, "", 150, "NEEDS_MORE_RATINGS", None, ""
    )
    assert (records[1].first_non_nmr_millis, records[1].latest_non_nmr_status) == (200, CRH)
    rows[1][6] = "SHOWN"
    error = _error(read_note_status_history, _tsv(tmp_path, "bad.tsv", header, rows))
    assert (error.line, error.column) == (3, "currentStatus")


HEADERS = {
    "ratings": "noteId\traterParticipantId\tcreatedAtMillis\thelpfulnessLevel\n",
    "notes": "noteId\tnoteAuthorParticipantId\tcreatedAtMillis\ttweetId\n",
    "status history": "noteId\tcurrentStatus\ttimestampMillisOfCurrentStatus\n",
    "enrollment": "participantId\tenrollmentState\tsuccessfulRatingNeededToEarnIn\n",
}
# Text rich in the format's own characters and values, so many inputs parse deeply.
VALUES = ["1", "0", "-1", "12.0", "1e3", RATER_A, "HELPFUL", "SOMEWHAT_HELPFUL", "earnedIn"]
VALUES += ["NEEDS_MORE_RATINGS", "CURRENTLY_RATED_HELPFUL", "", "\ufeff", "\x00", "\r"]
FIELD = st.lists(st.one_of(st.sampled_from(VALUES), st.characters(codec="utf-8")), max_size=3).map(
    "".join
)
TSV_LIKE = st.lists(st.one_of(FIELD, st.sampled_from(["\t", "\n"])), max_size=60).map("".join)
CELL = st.one_of(st.sampled_from(VALUES), FIELD)  # often a well-formed value, not always


@pytest.mark.parametrize("reader", sorted(READERS))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_arbitrary_text_only_ever_raises_the_format_error(reader: str, data: st.DataObject) -> None:
    header = HEADERS[reader]
    if data.draw(st.booleans(), label="free text"):
        text = data.draw(TSV_LIKE)
    else:  # the right number of fields per row, arbitrary contents
        width = header.count("\t") + 1
        rows = data.draw(st.lists(st.lists(CELL, min_size=width, max_size=width), max_size=4))
        text = header + "\n".join("\t".join(row) for row in rows)
    try:
        records = list(READERS[reader](io.StringIO(text)))
    except CommunityNotesFormatError as error:
        assert error.line >= 1 and str(error).startswith("<stream>, line ")
        return
    assert all(isinstance(record, tuple) for record in records)


@settings(max_examples=100, deadline=None)
@given(
    body=st.lists(
        st.lists(
            st.sampled_from(["1", "x", "", "-1", "HELPFUL", RATER_A, "\x00", "1.0", "\r"]),
            max_size=6,
        ),
        max_size=5,
    ),
    garbage=st.binary(max_size=40),
)
def test_almost_valid_files_and_raw_bytes_only_raise_the_format_error(
    body: list[list[str]], garbage: bytes
) -> None:
    header = "noteId\traterParticipantId\tcreatedAtMillis\thelpfulnessLevel\n"
    content = header.encode() + "\n".join("\t".join(row) for row in body).encode() + garbage
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "ratings.tsv"
        path.write_bytes(content)
        try:
            ratings = list(read_ratings(path))
        except CommunityNotesFormatError:
            return
    assert all(0 <= r.value <= 1 and r.rater_participant_id for r in ratings)


# --- writing and round trips -------------------------------------------------------------------


def test_every_file_round_trips_through_its_writer(tmp_path: Path) -> None:
    ratings = [Rating(1, RATER_A, 10, 1.0), Rating(2, RATER_B, 11, 0.5)]
    assert write_ratings(tmp_path / "r.tsv", ratings) == 2
    assert list(read_ratings(tmp_path / "r.tsv")) == ratings
    header = (tmp_path / "r.tsv").read_text().splitlines()[0].split("\t")
    assert header == list(RATINGS_COLUMNS)
    notes = [Note(1, RATER_A, 5, 99, "MISINFORMED_OR_POTENTIALLY_MISLEADING", "Source: x")]
    write_notes(tmp_path / "n.tsv", notes)
    assert list(read_notes(tmp_path / "n.tsv")) == notes
    enrollment = [
        Enrollment(RATER_A, "earnedIn", 5, 1000, "CORE"),
        Enrollment(RATER_B, "newUser", None, None, ""),
    ]
    write_user_enrollment(tmp_path / "e.tsv", enrollment)
    assert list(read_user_enrollment(tmp_path / "e.tsv")) == enrollment
    crh = "CURRENTLY_RATED_HELPFUL"
    history = [NoteStatusRecord(1, RATER_A, 5, 7, crh, 7, crh, 7, crh)]
    write_note_status_history(tmp_path / "h.tsv", history)
    assert list(read_note_status_history(tmp_path / "h.tsv")) == history


def test_writers_refuse_what_the_format_cannot_carry(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tabs and newlines"):
        write_notes(tmp_path / "n.tsv", [Note(1, RATER_A, 5, 9, "", "two\tcolumns")])
    with pytest.raises(ValueError, match="no helpfulness level"):
        write_ratings(tmp_path / "r.tsv", [Rating(1, RATER_A, 5, 0.7)])


# --- from files to statuses and back -----------------------------------------------------------


def test_ratings_matrix_maps_ids_and_keeps_the_latest_of_duplicate_ratings() -> None:
    ratings = [
        Rating(900, RATER_A, 30, 0.0),
        Rating(800, RATER_B, 10, 1.0),
        Rating(900, RATER_A, 20, 1.0),  # older than the first line: it must lose
    ]
    indexed = ratings_matrix(ratings, note_ids=[700])
    assert indexed.note_ids.tolist() == [700, 900, 800]
    assert indexed.rater_ids == (RATER_A, RATER_B)
    deduplicated, dropped = indexed.matrix.deduplicated()
    assert dropped == 1
    kept = dict(zip(deduplicated.note.tolist(), deduplicated.value.tolist(), strict=True))
    assert kept == {1: 0.0, 2: 1.0}
    assert indexed.matrix.n_notes == 3 and indexed.matrix.n_raters == 2


def test_valid_ratings_follow_the_status_times_and_the_48_hour_window() -> None:
    hour = 3_600_000
    ratings = [
        Rating(1, RATER_A, 5 * hour, 1.0),  # before note 1 got its status: valid
        Rating(1, RATER_B, 7 * hour, 1.0),  # after the status was public: not valid
        Rating(2, RATER_A, 30 * hour, 0.0),  # before the flip of note 2: valid
        Rating(2, RATER_B, 45 * hour, 0.0),  # after the flip: not valid
        Rating(3, RATER_A, 47 * hour, 1.0),  # no status yet, within 48 h of creation
        Rating(3, RATER_B, 49 * hour, 1.0),  # no status yet, but too late
        Rating(4, RATER_A, 900 * hour, 1.0),  # no history, no creation time: valid
    ]
    history = {
        1: NoteStatusRecord(1, RATER_B, 0, 6 * hour, CRH, 6 * hour, CRH, 6 * hour, CRH),
        2: NoteStatusRecord(
            2, RATER_B, 0, 10 * hour, CRH, 40 * hour, "CURRENTLY_RATED_NOT_HELPFUL",
            40 * hour, "CURRENTLY_RATED_NOT_HELPFUL",
        ),
    }  # fmt: skip
    notes = {3: Note(3, RATER_B, 0, 99, "", "")}
    indexed = ratings_matrix(ratings)
    mask = valid_ratings(indexed, history, notes)
    by_time = dict(zip(indexed.created_at_millis.tolist(), mask.tolist(), strict=True))
    assert [by_time[r.created_at_millis] for r in ratings] == [
        True, False, True, False, True, False, True,
    ]  # fmt: skip


def test_scored_statuses_are_written_as_note_status_history(tmp_path: Path) -> None:
    data = two_camp_ratings(400, 150, 9000, seed=4)
    r = data.ratings
    rows = [
        Rating(10_000 + int(n), f"rater{int(u):04d}", i, float(v))
        for i, (u, n, v) in enumerate(zip(r.rater, r.note, r.value, strict=True))
    ]
    write_ratings(tmp_path / "ratings.tsv", rows)
    indexed = ratings_matrix(read_ratings(tmp_path / "ratings.tsv"))
    result = score(indexed.matrix)
    original_index = indexed.note_ids - 10_000
    helpful = result.status == CODE_HELPFUL
    assert helpful.any() and (data.note_kind[original_index[helpful]] == BRIDGING).all()

    records = updated_status_history(indexed, result, now_millis=1_000)
    write_note_status_history(tmp_path / "nsh.tsv", records)
    history = {rec.note_id: rec for rec in read_note_status_history(tmp_path / "nsh.tsv")}
    assert len(history) == len(indexed.note_ids)
    first_helpful = int(indexed.note_ids[np.flatnonzero(helpful)[0]])
    assert history[first_helpful].current_status == "CURRENTLY_RATED_HELPFUL"
    assert history[first_helpful].first_non_nmr_millis == 1_000
    previous = previous_statuses(indexed, history)
    np.testing.assert_array_equal(previous, result.status)

    # A later run that finds the same statuses keeps the old timestamps ...
    again = updated_status_history(indexed, score(indexed.matrix, previous), 2_000, history)
    assert all(rec.current_status_millis == 1_000 for rec in again)
    # ... and a change moves the current and latest timestamps but not the first one.
    flipped = np.where(helpful, CODE_NOT_HELPFUL, result.status).astype(np.int8)
    changed = updated_status_history(indexed, _with_status(result, flipped), 3_000, history)[
        int(np.flatnonzero(helpful)[0])
    ]
    assert changed.current_status == "CURRENTLY_RATED_NOT_HELPFUL"
    assert (changed.current_status_millis, changed.latest_non_nmr_millis) == (3_000, 3_000)
    assert (changed.first_non_nmr_millis, changed.first_non_nmr_status) == (
        1_000,
        "CURRENTLY_RATED_HELPFUL",
    )


def _with_status(result: Any, status: np.ndarray) -> Any:
    return dataclasses.replace(result, status=status)
