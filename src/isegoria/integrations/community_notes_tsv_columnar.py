"""Columnar reading of the public ratings files, for the 10^8 ratings of the full data.

:func:`read_ratings_matrix` gives what ``ratings_matrix(read_ratings(path))`` gives
(:mod:`.community_notes_tsv_scoring`) without a Python object per rating: pyarrow's
CSV reader parses each file in blocks of columns, the checks of the row reader run as
vectorised expressions over a block, and the ids become dense indices by hash tables.
Notes and raters are numbered in order of first appearance, as the row reader does;
ratings are then ordered by ``createdAtMillis`` (stably).

A block that any check rejects (or that pyarrow cannot parse: wrong field count,
invalid UTF-8) is not guessed at: the file is read again with the row reader, which
either reads it the same way (it also accepts a few rarer spellings, such as
``1650000000000.0`` for a timestamp) or raises :class:`CommunityNotesFormatError`
naming the line and column. With ``compact=True`` the matrix has int32 indices and
uint8 value codes (:meth:`RatingsMatrix.compact`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from isegoria.algorithms.bridging import RatingsMatrix
from isegoria.algorithms.bridging_data import VALUE_STEP, IndexLike, as_float
from isegoria.algorithms.bridging_params import NOT_HELPFUL_TAGS, TAG_BIT
from isegoria.integrations.community_notes_tsv import read_ratings
from isegoria.integrations.community_notes_tsv_format import COLUMN_ALIASES, MAX_ID_LENGTH
from isegoria.integrations.community_notes_tsv_scoring import IndexedRatings, ratings_matrix

__all__ = ["BLOCK_BYTES", "read_ratings_matrix"]

BLOCK_BYTES: Final = 1 << 26
"""Bytes of a file parsed at a time: a block of 64 MiB holds about 300,000 ratings."""
# The row reader's patterns (community_notes_tsv_format), anchored for RE2.
_NOTE_ID: Final = r"^[0-9]{1,19}$"
_INTEGER: Final = r"^-?[0-9]{1,19}$"
_ID: Final = rf"^[^\x00-\x1f\x7f]{{1,{MAX_ID_LENGTH}}}$"
# helpfulnessLevel -> uint8 value code (value / VALUE_STEP): guide "Helpful Rating Mapping".
_LEVELS: Final = ("NOT_HELPFUL", "SOMEWHAT_HELPFUL", "HELPFUL")
_HELPFUL_CODE: Final = int(1.0 / VALUE_STEP)
_REQUIRED: Final = ("noteId", "raterParticipantId", "createdAtMillis")

Int64Array = npt.NDArray[np.int64]
# Per rating, as held between files: rater, note, createdAtMillis, value code, tags.
_PART_TYPES: Final = (np.int32, np.int32, np.int64, np.uint8, np.uint16)


class _Rejected(Exception):
    """A block the vectorised checks do not accept: the row reader takes the file."""


class _FirstSeen:
    """Dense indices for ids in order of first appearance, across blocks and files."""

    def __init__(self, known: pa.Array) -> None:
        """Start from ``known`` ids (duplicates keep their first index)."""
        self.known = known.dictionary_encode().dictionary

    def encode(self, ids: pa.Array) -> Int64Array:
        """The index of each id, numbering ids not seen before after the known ones."""
        encoded = ids.dictionary_encode()
        local = encoded.dictionary  # in order of first appearance in this block
        found = pc.index_in(local, value_set=self.known).to_numpy(zero_copy_only=False)
        position = np.nan_to_num(found, nan=-1).astype(np.int64)
        new = position < 0
        position[new] = len(self.known) + np.arange(int(new.sum()))
        if new.any():
            self.known = pa.concat_arrays([self.known, local.filter(pa.array(new))])
        indices = encoded.indices.to_numpy(zero_copy_only=False)
        index: Int64Array = position[indices]
        return index


def read_ratings_matrix(
    paths: Iterable[str | os.PathLike[str]],
    note_ids: Iterable[int] = (),
    *,
    compact: bool = False,
) -> IndexedRatings:
    """Read ratings files (in order) as ``ratings_matrix(read_ratings(...))`` would."""
    notes = _FirstSeen(pa.array(list(note_ids), type=pa.int64()))
    raters = _FirstSeen(pa.array([], type=pa.string()))
    columns: list[list[npt.NDArray[np.generic]]] = [[] for _ in _PART_TYPES]
    for path in paths:
        before = notes.known, raters.known
        try:
            blocks = _read_file(path, notes, raters)
        except _Rejected:
            notes.known, raters.known = before
            blocks = [_read_rows(path, notes, raters)]
        for block in blocks:
            for column, part, dtype in zip(columns, block, _PART_TYPES, strict=True):
                column.append(part.astype(dtype))
    rater, note, created, code, tags = (
        np.concatenate(column) if column else np.zeros(0, dtype)
        for column, dtype in zip(columns, _PART_TYPES, strict=True)
    )
    del columns
    order = np.argsort(created, kind="stable")
    wide = np.int32 if compact else np.int64
    rater_index: IndexLike = rater[order].astype(wide, copy=False)  # type: ignore[assignment]
    note_index: IndexLike = note[order].astype(wide, copy=False)  # type: ignore[assignment]
    matrix = RatingsMatrix(
        rater=rater_index,
        note=note_index,
        value=code[order],
        tags=tags[order],
        n_raters=len(raters.known),
        n_notes=len(notes.known),
    )
    if not compact:
        matrix = dataclasses.replace(matrix, value=as_float(matrix.value))
    return IndexedRatings(
        matrix=matrix,
        note_ids=notes.known.to_numpy(zero_copy_only=False).astype(np.int64),
        rater_ids=tuple(raters.known.to_pylist()),
        created_at_millis=created[order],
    )


def _read_file(
    path: str | os.PathLike[str], notes: _FirstSeen, raters: _FirstSeen
) -> list[tuple[Int64Array, ...]]:
    """Parse one file block by block; raise _Rejected where the row reader must decide."""
    header = _header(path)
    columns = _columns(header)
    if any(column not in columns for column in _REQUIRED):
        raise _Rejected
    wanted = sorted(set(columns.values()))
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=header, skip_rows=1, block_size=BLOCK_BYTES
            ),
            parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted,
                column_types=dict.fromkeys(wanted, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        return [_block(batch, columns, notes, raters) for batch in reader]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError) as error:
        raise _Rejected from error


def _header(path: str | os.PathLike[str]) -> list[str]:
    """The header's column names (a byte order mark dropped); _Rejected if unreadable."""
    with open(path, "rb") as binary:
        first = binary.readline()
    try:
        text = first.decode("utf-8").removeprefix("\ufeff").rstrip("\r\n")
    except UnicodeDecodeError as error:
        raise _Rejected from error
    names = text.split("\t")
    if not text or len(set(names)) != len(names):
        raise _Rejected
    return names


def _columns(header: Sequence[str]) -> dict[str, str]:
    """Each column the ratings need, mapped to its name in this file (older aliases too)."""
    present = set(header)
    wanted = (*_REQUIRED, "helpfulnessLevel", "helpful", "notHelpful", *NOT_HELPFUL_TAGS)
    found = {}
    for column in wanted:
        aliases = (column, *COLUMN_ALIASES.get(column, ()))
        name = next((alias for alias in aliases if alias in present), None)
        if name is not None:
            found[column] = name
    return found


def _block(
    batch: pa.RecordBatch, columns: dict[str, str], notes: _FirstSeen, raters: _FirstSeen
) -> tuple[Int64Array, ...]:
    """One block's (rater, note, created, value code, tags), checked as the row reader does."""

    def text(column: str) -> pa.Array:
        name = columns.get(column)
        if name is None:
            return pa.array([""] * batch.num_rows, type=pa.string())
        return batch.column(name)

    note_text, rater_text, created_text = (text(column) for column in _REQUIRED)
    _require(pc.match_substring_regex(note_text, _NOTE_ID))
    _require(pc.match_substring_regex(rater_text, _ID))
    _require(pc.match_substring_regex(created_text, _INTEGER))
    note_id = pc.cast(note_text, pa.int64())  # ArrowInvalid past 2^63: the rows decide
    created = pc.cast(created_text, pa.int64()).to_numpy(zero_copy_only=False)
    return (
        raters.encode(rater_text),
        notes.encode(note_id),
        created.astype(np.int64),
        _value_codes(text("helpfulnessLevel"), text("helpful"), text("notHelpful")),
        _tag_masks({tag: text(tag) for tag in NOT_HELPFUL_TAGS}),
    )


def _require(ok: pa.Array | npt.NDArray[np.bool_]) -> None:
    """Reject the block unless ``ok`` holds for every row."""
    if not bool(np.all(np.asarray(ok, dtype=np.bool_))):
        raise _Rejected


def _value_codes(level: pa.Array, helpful: pa.Array, not_helpful: pa.Array) -> Int64Array:
    """helpfulnessLevel as a value code; an empty one falls back on the 2021 0/1 flags."""
    code = pc.index_in(level, value_set=pa.array(_LEVELS)).to_numpy(zero_copy_only=False)
    empty = np.asarray(pc.equal(level, "").to_numpy(zero_copy_only=False), dtype=np.bool_)
    _require(~np.isnan(code) | empty)  # a non-empty level must be a known one
    legacy_helpful = _is(helpful, "1") & _is(not_helpful, "0")
    legacy_not_helpful = _is(helpful, "0") & _is(not_helpful, "1")
    _require(~empty | legacy_helpful | legacy_not_helpful)
    legacy = np.where(legacy_helpful, _HELPFUL_CODE, 0)
    values: Int64Array = np.where(empty, legacy, np.nan_to_num(code)).astype(np.int64)
    return values


def _is(column: pa.Array, text: str) -> npt.NDArray[np.bool_]:
    """Per row, whether the field is exactly ``text``."""
    return np.asarray(pc.equal(column, text).to_numpy(zero_copy_only=False), dtype=np.bool_)


def _tag_masks(tags: dict[str, pa.Array]) -> Int64Array:
    """The not-helpful tag bit mask (a 0/1 column; "" or absent counts as 0)."""
    mask = np.zeros(0, dtype=np.int64)
    for number, (tag, column) in enumerate(tags.items()):
        on = pc.is_in(column, value_set=pa.array(["1", "1.0"]))
        _require(pc.or_(on, pc.is_in(column, value_set=pa.array(["", "0", "0.0"]))))
        bits = np.asarray(on.to_numpy(zero_copy_only=False), dtype=np.int64) * TAG_BIT[tag]
        mask = bits if number == 0 else mask | bits
    return mask


def _read_rows(
    path: str | os.PathLike[str], notes: _FirstSeen, raters: _FirstSeen
) -> tuple[Int64Array, ...]:
    """The whole file through the row reader: its errors, or its reading of rarer forms."""
    from_rows = ratings_matrix(read_ratings(path))
    matrix = from_rows.matrix
    local_notes = pa.array(from_rows.note_ids, type=pa.int64())
    local_raters = pa.array(list(from_rows.rater_ids), type=pa.string())
    value = np.rint(as_float(matrix.value) / VALUE_STEP).astype(np.int64)
    return (
        raters.encode(local_raters)[matrix.rater],
        notes.encode(local_notes)[matrix.note],
        from_rows.created_at_millis,
        value,
        np.asarray(matrix.tags, dtype=np.int64),
    )
