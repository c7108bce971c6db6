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

Duplicates: the public data holds one rating per (rater, note), the latest one, since a
contributor can change a rating. The scorer follows that: when a pair occurs more than
once, the *last* occurrence in input order wins and the others are dropped
(:meth:`RatingsMatrix.deduplicated`). Callers who want "the most recent" must order the
triples by time, as the TSV reader does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
TagArray = npt.NDArray[np.uint16]


@dataclass(frozen=True, slots=True, eq=False)
class RatingsMatrix:
    """Ratings as three aligned arrays plus the sizes of the index spaces."""

    rater: IntArray
    note: IntArray
    value: FloatArray
    n_raters: int
    n_notes: int
    valid: BoolArray | None = None
    """Per rating: may it count toward its rater's helpfulness? None: all may."""
    tags: TagArray | None = None
    """Per rating: bit mask of its not-helpful tags (module docstring). None: no tags."""

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
            if array.dtype != np.int64:
                raise ValueError(f"{name} must have dtype int64, got {array.dtype}")
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
        if self.value.dtype != np.float64:
            raise ValueError(f"value must have dtype float64, got {self.value.dtype}")
        if len(self.value) and not (
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

    def subset(self, keep: BoolArray) -> RatingsMatrix:
        """The ratings where ``keep`` is true, in the same index spaces."""
        return RatingsMatrix(
            rater=self.rater[keep],
            note=self.note[keep],
            value=self.value[keep],
            n_raters=self.n_raters,
            n_notes=self.n_notes,
            valid=None if self.valid is None else self.valid[keep],
            tags=None if self.tags is None else self.tags[keep],
        )

    def deduplicated(self) -> tuple[RatingsMatrix, int]:
        """Keep the last rating of each (rater, note) pair; return it and how many went."""
        if len(self) == 0:
            return self, 0
        key = self.rater * max(self.n_notes, 1) + self.note
        # np.unique on the reversed keys finds each key's first position from the end,
        # i.e. its last occurrence; sorting those positions restores input order.
        _, first_from_end = np.unique(key[::-1], return_index=True)
        last = np.sort(len(key) - 1 - first_from_end)
        dropped = len(key) - len(last)
        if dropped == 0:
            return self, 0
        keep = np.zeros(len(key), dtype=np.bool_)
        keep[last] = True
        return self.subset(keep), dropped

    def ratings_per_note(self) -> IntArray:
        """How many ratings each note has."""
        return np.bincount(self.note, minlength=self.n_notes).astype(np.int64)

    def ratings_per_rater(self) -> IntArray:
        """How many ratings each rater made."""
        return np.bincount(self.rater, minlength=self.n_raters).astype(np.int64)
