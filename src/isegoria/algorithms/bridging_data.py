"""The scorer's input: a sparse rater x note matrix of helpfulness ratings.

A rating is a triple (rater index, note index, value). Indices are dense integers
``0 .. n_raters-1`` and ``0 .. n_notes-1`` assigned by the caller (see
``isegoria.integrations.community_notes_tsv.ratings_matrix`` for files keyed by the
public ids); values are the helpful scores of [ranking] "Helpful Rating Mapping" (1.0,
0.5, 0.0), though any number in [0, 1] is accepted.

Valid ratings: [contributors] "Valid Ratings" lets only some ratings count toward a
rater's helpfulness score: those made before the rater could have seen the note's status
(before its first status, within 48 hours of its creation). Rating a note that already
shows a status, to agree with it and earn standing, then counts for nothing. The
optional ``valid`` mask carries that per rating; the scorer's fits use every rating.

Tags: the optional ``tags`` array holds, per rating, a bit mask of the not-helpful
reason tags the rater chose (bit i: ``bridging_params.NOT_HELPFUL_TAGS[i]``); the tag
outlier and incorrect filters read it. Without it those filters see no tags.

Compact form: at public-data scale (10^8 ratings) the arrays dominate memory, so the
indices may also be int32 and the values uint8 codes, a code k standing for the rating
``k * VALUE_STEP`` (0, 1, 2 for 0, 0.5, 1): 9 bytes a rating instead of 24
(:meth:`RatingsMatrix.compact`). The scorer reads either form and gives the same
result; passes over the ratings decode values a chunk at a time (:func:`as_float`).

Duplicates: the public data holds one rating per (rater, note), the latest one, since a
contributor can change a rating. The scorer follows that: when a pair occurs more than
once, the *last* occurrence in input order wins and the others are dropped
(:meth:`RatingsMatrix.deduplicated`). Callers who want "the most recent" must order the
triples by time, as the TSV reader does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
TagArray = npt.NDArray[np.uint16]
Index32Array = npt.NDArray[np.int32]
CodeArray = npt.NDArray[np.uint8]
IndexLike = IntArray | Index32Array
ValueLike = FloatArray | CodeArray

VALUE_STEP: Final = 0.5
"""A uint8 value code k stands for the rating k * VALUE_STEP (module docstring)."""
MAX_VALUE_CODE: Final = 2
INDEX_DTYPES: Final = (np.dtype(np.int64), np.dtype(np.int32))
CHUNK_RATINGS: Final = 1 << 22
"""Ratings per chunk in passes over all ratings: each float64 temporary of a pass then
takes 32 MiB whatever the size, and data of up to this size is one chunk (so small
inputs are computed exactly as by one vectorised expression)."""


def as_float(value: ValueLike) -> FloatArray:
    """Rating values as float64: float64 arrays as they are, uint8 codes decoded."""
    if value.dtype == np.float64:
        return value  # type: ignore[return-value]
    decoded: FloatArray = value.astype(np.float64)
    decoded *= VALUE_STEP
    return decoded


@dataclass(frozen=True, slots=True, eq=False)
class RatingsMatrix:
    """Ratings as three aligned arrays plus the sizes of the index spaces."""

    rater: IndexLike
    note: IndexLike
    value: ValueLike
    n_raters: int
    n_notes: int
    valid: BoolArray | None = None
    """Per rating: may it count toward its rater's helpfulness? None: all may."""
    tags: TagArray | None = None
    """Per rating: bit mask of its not-helpful tags (module docstring). None: no tags."""
    unique_pairs: bool = False
    """Known to hold at most one rating per (rater, note): de-duplication is skipped."""

    def __post_init__(self) -> None:
        """Check shapes, index ranges and values; raise ValueError naming the problem."""
        if self.n_raters < 0 or self.n_notes < 0:
            raise ValueError("n_raters and n_notes must not be negative")
        arrays = {"rater": self.rater, "note": self.note, "value": self.value}
        for name, array in arrays.items():
            if not isinstance(array, np.ndarray) or array.ndim != 1:
                raise ValueError(f"{name} must be a one-dimensional numpy array")
        if not (len(self.rater) == len(self.note) == len(self.value)):
            raise ValueError(
                f"rater, note and value must have one entry per rating; got lengths "
                f"{len(self.rater)}, {len(self.note)} and {len(self.value)}"
            )
        for name, array, bound in (
            ("rater", self.rater, self.n_raters),
            ("note", self.note, self.n_notes),
        ):
            if array.dtype not in INDEX_DTYPES:
                raise ValueError(f"{name} must have dtype int64 or int32, got {array.dtype}")
            if len(array) and (array.min() < 0 or array.max() >= bound):
                raise ValueError(f"{name} indices must lie in [0, {bound}); got out-of-range ones")
        if self.valid is not None and (
            not isinstance(self.valid, np.ndarray)
            or self.valid.dtype != np.bool_
            or self.valid.shape != self.value.shape
        ):
            raise ValueError("valid must be a boolean numpy array with one entry per rating")
        if self.tags is not None and (
            not isinstance(self.tags, np.ndarray)
            or self.tags.dtype != np.uint16
            or self.tags.shape != self.value.shape
        ):
            raise ValueError("tags must be a uint16 numpy array with one entry per rating")
        if self.value.dtype == np.uint8:
            if len(self.value) and int(self.value.max()) > MAX_VALUE_CODE:
                raise ValueError(f"uint8 value codes must lie in [0, {MAX_VALUE_CODE}]")
        elif self.value.dtype != np.float64:
            raise ValueError(f"value must have dtype float64 or uint8, got {self.value.dtype}")
        elif len(self.value) and not (
            np.isfinite(self.value).all() and self.value.min() >= 0 and self.value.max() <= 1
        ):
            raise ValueError("rating values must be finite numbers in [0, 1] (1 / 0.5 / 0)")

    @classmethod
    def from_triples(
        cls,
        rater: npt.ArrayLike,
        note: npt.ArrayLike,
        value: npt.ArrayLike,
        *,
        n_raters: int | None = None,
        n_notes: int | None = None,
        valid: npt.ArrayLike | None = None,
        tags: npt.ArrayLike | None = None,
    ) -> RatingsMatrix:
        """Build from array-likes; sizes default to one more than the largest index."""
        r = np.asarray(rater)
        n = np.asarray(note)
        for name, array in (("rater", r), ("note", n)):
            if array.size and not np.issubdtype(array.dtype, np.integer):
                raise ValueError(f"{name} indices must be integers, got dtype {array.dtype}")
        r64 = r.astype(np.int64).reshape(-1)
        n64 = n.astype(np.int64).reshape(-1)
        v = np.asarray(value, dtype=np.float64).reshape(-1)
        if n_raters is None:
            n_raters = int(r64.max()) + 1 if len(r64) else 0
        if n_notes is None:
            n_notes = int(n64.max()) + 1 if len(n64) else 0
        mask = None if valid is None else np.asarray(valid, dtype=np.bool_).reshape(-1)
        tag_mask = None if tags is None else np.asarray(tags, dtype=np.uint16).reshape(-1)
        return cls(r64, n64, v, n_raters, n_notes, mask, tag_mask)

    @classmethod
    def empty(cls, n_raters: int = 0, n_notes: int = 0) -> RatingsMatrix:
        """A matrix with no ratings."""
        return cls(
            rater=np.zeros(0, np.int64),
            note=np.zeros(0, np.int64),
            value=np.zeros(0, np.float64),
            n_raters=n_raters,
            n_notes=n_notes,
        )

    def __len__(self) -> int:
        """The number of ratings."""
        return len(self.value)

    def subset(self, keep: BoolArray | slice) -> RatingsMatrix:
        """The ratings where ``keep`` is true (or in a slice: views), same index spaces."""
        return RatingsMatrix(
            rater=self.rater[keep],
            note=self.note[keep],
            value=self.value[keep],
            n_raters=self.n_raters,
            n_notes=self.n_notes,
            valid=None if self.valid is None else self.valid[keep],
            tags=None if self.tags is None else self.tags[keep],
            unique_pairs=self.unique_pairs,
        )

    def compact(self) -> RatingsMatrix:
        """The same ratings with int32 indices and uint8 value codes (module docstring).

        Raises ValueError when a value is not a multiple of ``VALUE_STEP`` or an index
        space is too large for int32; such data stays in the wide form.
        """
        limit = np.iinfo(np.int32).max
        if max(self.n_raters, self.n_notes) > limit:
            raise ValueError(f"index spaces above {limit} entries need int64 indices")
        if self.value.dtype == np.uint8:
            code: CodeArray = self.value  # type: ignore[assignment]
        else:
            scaled = self.value / VALUE_STEP
            code = scaled.astype(np.uint8)
            if not np.array_equal(code, scaled):
                raise ValueError(
                    f"only ratings in steps of {VALUE_STEP} have a uint8 code; "
                    "keep float64 values for other ratings"
                )
        return replace(
            self,
            rater=self.rater.astype(np.int32, copy=False),
            note=self.note.astype(np.int32, copy=False),
            value=code,
        )

    def value_is(self, rating: float) -> BoolArray:
        """Per rating, whether its value equals ``rating`` (either value form)."""
        if self.value.dtype == np.float64:
            equal: BoolArray = self.value == rating
            return equal
        code = rating / VALUE_STEP
        if code != int(code):
            return np.zeros(len(self.value), dtype=np.bool_)
        coded: BoolArray = self.value == int(code)
        return coded

    def deduplicated(self) -> tuple[RatingsMatrix, int]:
        """Keep the last rating of each (rater, note) pair; return it and how many went."""
        if len(self) == 0 or self.unique_pairs:
            return self, 0
        key = self.rater.astype(np.int64)
        key *= max(self.n_notes, 1)
        key += self.note
        # Sorting a copy of the keys finds repeated pairs; only their occurrences are then
        # looked at. Peak memory stays near two int64 arrays even at 10^8 ratings.
        ordered = np.sort(key)
        repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
        del ordered
        if len(repeated) == 0:
            return _replace_unique(self), 0
        involved = np.zeros(len(key), dtype=np.bool_)
        for start in range(0, len(key), CHUNK_RATINGS):
            part = key[start : start + CHUNK_RATINGS]
            at = np.minimum(np.searchsorted(repeated, part), len(repeated) - 1)
            involved[start : start + CHUNK_RATINGS] = repeated[at] == part
        candidates = np.flatnonzero(involved)
        candidate_key = key[candidates]
        del key, involved
        # np.unique on the reversed keys finds each key's first position from the end,
        # i.e. its last occurrence, which is the one kept.
        _, first_from_end = np.unique(candidate_key[::-1], return_index=True)
        last = candidates[len(candidates) - 1 - first_from_end]
        keep = np.ones(len(self), dtype=np.bool_)
        keep[candidates] = False
        keep[last] = True
        dropped = len(candidates) - len(last)
        return _replace_unique(self.subset(keep)), dropped

    def ratings_per_note(self) -> IntArray:
        """How many ratings each note has."""
        return index_counts(self.note, self.n_notes)

    def ratings_per_rater(self) -> IntArray:
        """How many ratings each rater made."""
        return index_counts(self.rater, self.n_raters)


def index_counts(index: IndexLike, size: int) -> IntArray:
    """How often each of ``0 .. size-1`` occurs, counted chunk by chunk.

    ``np.bincount`` copies int32 input to the platform index type first; chunking keeps
    that copy small.
    """
    counts = np.zeros(size, dtype=np.int64)
    for start in range(0, len(index), CHUNK_RATINGS):
        counts += np.bincount(index[start : start + CHUNK_RATINGS], minlength=size)
    return counts


def compact_index(index: IndexLike, size: int) -> tuple[IntArray, IndexLike]:
    """The ids present (ascending) and each entry's position among them.

    The same as ``np.unique(index, return_inverse=True)`` but in linear time and in
    the index's own width (int32 stays int32), with no sort of the ratings.
    """
    present = index_counts(index, size) > 0
    ids: IntArray = np.flatnonzero(present).astype(np.int64)
    dtype = np.int32 if index.dtype == np.int32 else np.int64
    position = (np.cumsum(present) - 1).astype(dtype)
    compact: IndexLike = gather(position, index)
    return ids, compact


def gather(table: npt.NDArray[Any], index: IndexLike) -> npt.NDArray[Any]:
    """``table[index]``, a chunk at a time.

    Fancy indexing copies an int32 index to intp first: over 10^8 ratings that is a
    transient 800 MB, which chunks keep at 32 MiB.
    """
    if len(index) <= CHUNK_RATINGS:
        whole: npt.NDArray[Any] = table[index]
        return whole
    out = np.empty(len(index), dtype=table.dtype)
    for start in range(0, len(index), CHUNK_RATINGS):
        out[start : start + CHUNK_RATINGS] = table[index[start : start + CHUNK_RATINGS]]
    return out


def _replace_unique(ratings: RatingsMatrix) -> RatingsMatrix:
    """The same ratings, marked as holding one rating per (rater, note)."""
    if ratings.unique_pairs:
        return ratings
    return replace(ratings, unique_pairs=True)
