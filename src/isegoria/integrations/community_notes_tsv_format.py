"""Low-level format of the public Community Notes data files: columns, parsing, errors.

The files are tab-separated with a header row, one record per line, no quoting (the
publisher turns tabs in free text into spaces) — see "Downloading data", section "File
structure", in the Community Notes guide (documentation/under-the-hood/download-data.md
in github.com/twitter/communitynotes). Column names and their order are those of the
published files as the public scorer reads them (``noteTSVColumns``,
``publicRatingTSVColumns``, ``noteStatusHistoryTSVColumns`` and
``userEnrollmentTSVColumns`` in scoring/src/scoring/constants.py of that repository).

Readers stream: one line is decoded and split at a time, and every problem is reported
as :class:`CommunityNotesFormatError` naming the file, line and column. The record types
(:class:`Rating`, :class:`Note`, :class:`NoteStatusRecord`, :class:`Enrollment`) hold
the columns the rest of isegoria uses.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Final, NamedTuple

NOTES_COLUMNS: Final = (
    "noteId", "noteAuthorParticipantId", "createdAtMillis", "tweetId", "classification",
    "believable", "harmful", "validationDifficulty", "misleadingOther",
    "misleadingFactualError", "misleadingManipulatedMedia", "misleadingOutdatedInformation",
    "misleadingMissingImportantContext", "misleadingUnverifiedClaimAsFact", "misleadingSatire",
    "notMisleadingOther", "notMisleadingFactuallyCorrect",
    "notMisleadingOutdatedButNotWhenWritten", "notMisleadingClearlySatire",
    "notMisleadingPersonalOpinion", "trustworthySources", "summary", "isMediaNote",
    "isCollaborativeNote",
)  # fmt: skip
RATINGS_COLUMNS: Final = (
    "noteId", "raterParticipantId", "createdAtMillis", "version", "agree", "disagree",
    "helpful", "notHelpful", "helpfulnessLevel", "helpfulOther", "helpfulInformative",
    "helpfulClear", "helpfulEmpathetic", "helpfulGoodSources", "helpfulUniqueContext",
    "helpfulAddressesClaim", "helpfulImportantContext", "helpfulUnbiasedLanguage",
    "notHelpfulOther", "notHelpfulIncorrect", "notHelpfulSourcesMissingOrUnreliable",
    "notHelpfulOpinionSpeculationOrBias", "notHelpfulMissingKeyPoints", "notHelpfulOutdated",
    "notHelpfulHardToUnderstand", "notHelpfulArgumentativeOrBiased", "notHelpfulOffTopic",
    "notHelpfulSpamHarassmentOrAbuse", "notHelpfulIrrelevantSources",
    "notHelpfulOpinionSpeculation", "notHelpfulNoteNotNeeded", "ratedOnTweetId",
    "ratingSourceBucketed", "suggestion",
)  # fmt: skip
NOTE_STATUS_HISTORY_COLUMNS: Final = (
    "noteId", "noteAuthorParticipantId", "createdAtMillis",
    "timestampMillisOfFirstNonNMRStatus", "firstNonNMRStatus",
    "timestampMillisOfCurrentStatus", "currentStatus",
    "timestampMillisOfLatestNonNMRStatus", "mostRecentNonNMRStatus",
    "timestampMillisOfStatusLock", "lockedStatus", "timestampMillisOfRetroLock",
    "currentCoreStatus", "currentExpansionStatus", "currentGroupStatus", "currentDecidedBy",
    "currentModelingGroup", "timestampMillisOfMostRecentStatusChange",
    "timestampMillisOfNmrDueToMinStableCrhTime", "currentMultiGroupStatus",
    "currentModelingMultiGroup", "timestampMinuteOfFinalScoringOutput",
    "timestampMillisOfFirstNmrDueToMinStableCrhTime",
)  # fmt: skip
USER_ENROLLMENT_COLUMNS: Final = (
    "participantId", "enrollmentState", "successfulRatingNeededToEarnIn",
    "timestampOfLastStateChange", "timestampOfLastEarnOut", "modelingPopulation",
    "modelingGroup", "numberOfTimesEarnedOut",
)  # fmt: skip

# Older files use other names for the same column: the author and rater ids were both
# "participantId" before the split, and the guide's table names the ninth status-history
# column "latestNonNMRStatus". Readers accept either name.
COLUMN_ALIASES: Final[Mapping[str, tuple[str, ...]]] = {
    "raterParticipantId": ("participantId",),
    "noteAuthorParticipantId": ("participantId",),
    "mostRecentNonNMRStatus": ("latestNonNMRStatus",),
}

# Status labels of the note status history ("Note Status History" table of the guide).
NEEDS_MORE_RATINGS: Final = "NEEDS_MORE_RATINGS"
CURRENTLY_RATED_HELPFUL: Final = "CURRENTLY_RATED_HELPFUL"
CURRENTLY_RATED_NOT_HELPFUL: Final = "CURRENTLY_RATED_NOT_HELPFUL"
STATUS_LABELS: Final = (NEEDS_MORE_RATINGS, CURRENTLY_RATED_HELPFUL, CURRENTLY_RATED_NOT_HELPFUL)
# The notes file's ``classification`` values ([code] constants.py).
MISLEADING: Final = "MISINFORMED_OR_POTENTIALLY_MISLEADING"
NOT_MISLEADING: Final = "NOT_MISLEADING"

# The public participant ids are 64 hex digits; this bound only stops absurd input.
MAX_ID_LENGTH: Final = 256
_NOTE_ID = re.compile(r"[0-9]{1,19}")  # a Long: at most 19 digits
_INTEGER = re.compile(r"-?[0-9]{1,19}")
_DECIMAL_INTEGER = re.compile(r"-?[0-9]{1,19}\.0*")
_ID = re.compile(rf"[^\x00-\x1f\x7f]{{1,{MAX_ID_LENGTH}}}")
_MISSING = frozenset({"", "-1", "nan", "NaN"})  # "never happened" in the status history

Source = str | os.PathLike[str] | IO[str]


class CommunityNotesFormatError(ValueError):
    """A data file that does not follow the published format; says where and why."""

    def __init__(self, source: str, line: int, column: str | None, problem: str) -> None:
        """Record the place of the problem and build a message a person can act on."""
        self.source, self.line, self.column, self.problem = source, line, column, problem
        where = f"{source}, line {line}" + (f", column {column!r}" if column else "")
        super().__init__(f"{where}: {problem}")


class Rating(NamedTuple):
    """One row of the ratings file, reduced to what scoring needs."""

    note_id: int
    rater_participant_id: str
    created_at_millis: int
    value: float
    not_helpful_tags: int = 0
    """Bit mask of the not-helpful tag columns set to 1 (``bridging_params.TAG_BIT``)."""


class Note(NamedTuple):
    """One row of the notes file, reduced to its identity and text."""

    note_id: int
    author_participant_id: str
    created_at_millis: int
    tweet_id: int
    classification: str
    summary: str


class NoteStatusRecord(NamedTuple):
    """One row of the note status history; None marks "never"."""

    note_id: int
    author_participant_id: str
    created_at_millis: int | None
    first_non_nmr_millis: int | None
    first_non_nmr_status: str
    current_status_millis: int | None
    current_status: str
    latest_non_nmr_millis: int | None
    latest_non_nmr_status: str


class Enrollment(NamedTuple):
    """One row of the user enrollment file."""

    participant_id: str
    enrollment_state: str
    successful_rating_needed_to_earn_in: int | None
    timestamp_of_last_state_change: int | None
    modeling_population: str


@dataclass(frozen=True, slots=True)
class Row:
    """One data line: its fields and where it came from, for parsing with clear errors."""

    fields: Sequence[str]
    line: int
    source: str
    positions: Mapping[str, int]

    def get(self, column: str) -> str:
        """The raw text of ``column`` ("" if the file has no such column)."""
        position = self.positions.get(column)
        return "" if position is None else self.fields[position]

    def error(self, column: str | None, problem: str) -> CommunityNotesFormatError:
        """An error about ``column`` of this row."""
        return CommunityNotesFormatError(self.source, self.line, column, problem)

    def numeric_id(self, column: str = "noteId") -> int:
        """A note or post id: a non-negative Long."""
        text = self.get(column)
        if not _NOTE_ID.fullmatch(text):
            raise self.error(column, f"expected a numeric id (digits only), got {_show(text)}")
        return int(text)

    def participant_id(self, column: str) -> str:
        """A participant id: 1 to 256 characters, no control characters."""
        text = self.get(column)
        if not _ID.fullmatch(text):
            raise self.error(
                column,
                f"expected a participant id of 1 to {MAX_ID_LENGTH} printable characters, "
                f"got {_show(text)}",
            )
        return text

    def millis(self, column: str) -> int:
        """A timestamp in milliseconds since the epoch (integer, or a double like 1.0)."""
        return self._integer(column, "milliseconds since the epoch")

    def optional_millis(self, column: str) -> int | None:
        """A timestamp, or None for the "never" markers ("", -1, nan)."""
        return None if self.get(column) in _MISSING else self.millis(column)

    def optional_count(self, column: str) -> int | None:
        """A whole number, or None when the field is empty."""
        return None if self.get(column) == "" else self._integer(column, "a whole number")

    def _integer(self, column: str, what: str) -> int:
        text = self.get(column)
        if _INTEGER.fullmatch(text):
            return int(text)
        if _DECIMAL_INTEGER.fullmatch(text):  # pandas writes nullable integers as doubles
            return int(float(text))
        raise self.error(column, f"expected {what}, got {_show(text)}")

    def flag(self, column: str) -> bool:
        """A 0/1 column ("" or absent: 0)."""
        text = self.get(column)
        if text in ("", "0", "0.0"):
            return False
        if text in ("1", "1.0"):
            return True
        raise self.error(column, f"expected 0 or 1, got {_show(text)}")

    def choice(self, column: str, allowed: Sequence[str], *, optional: bool = False) -> str:
        """One of ``allowed`` ("" accepted when ``optional``)."""
        text = self.get(column)
        if text in allowed or (optional and text in _MISSING):
            return text if text in allowed else ""
        raise self.error(column, f"expected one of {', '.join(allowed)}, got {_show(text)}")


def read_rows(source: Source, required: Sequence[str]) -> Iterator[Row]:
    """Stream the data rows of a TSV file whose header has the ``required`` columns."""
    name = _source_name(source)
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as binary:
            yield from _rows(_decoded(binary, name), name, required)
    else:
        yield from _rows(source, name, required)


def write_rows(
    path: str | os.PathLike[str], columns: Sequence[str], rows: Iterable[Sequence[str]]
) -> int:
    """Write a header and rows as TSV; refuse fields that would break the format."""
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("\t".join(columns) + "\n")
        for row in rows:
            if len(row) != len(columns):
                raise ValueError(f"row {count + 1} has {len(row)} fields, expected {len(columns)}")
            for column, field in zip(columns, row, strict=True):
                if "\t" in field or "\n" in field or "\r" in field:
                    raise ValueError(
                        f"row {count + 1}, {column}: tabs and newlines are not allowed"
                    )
            out.write("\t".join(row) + "\n")
            count += 1
    return count


def _rows(lines: Iterable[str], name: str, required: Sequence[str]) -> Iterator[Row]:
    reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE, strict=True)
    try:
        header = next(reader, None)
        if not header or header == [""]:
            raise CommunityNotesFormatError(name, 1, None, "the file is empty; expected a header")
        header[0] = header[0].removeprefix("\ufeff")
        positions = _positions(header, name, required)
        for fields in reader:
            if not fields:
                continue  # a blank line carries no record
            if len(fields) != len(header):
                raise CommunityNotesFormatError(
                    name,
                    reader.line_num,
                    None,
                    f"expected {len(header)} tab-separated fields as in the header, "
                    f"found {len(fields)}",
                )
            yield Row(fields, reader.line_num, name, positions)
    except csv.Error as exc:
        raise CommunityNotesFormatError(name, reader.line_num, None, f"unreadable: {exc}") from None


def _positions(header: list[str], name: str, required: Sequence[str]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for index, column in enumerate(header):
        if column in positions:
            raise CommunityNotesFormatError(name, 1, column, "column appears twice in the header")
        positions[column] = index
    for column in required:
        if column not in positions:
            alias = next((a for a in COLUMN_ALIASES.get(column, ()) if a in positions), None)
            if alias is None:
                raise CommunityNotesFormatError(
                    name, 1, column, "required column is missing from the header"
                )
            positions[column] = positions[alias]
    for column, aliases in COLUMN_ALIASES.items():  # optional columns under an old name
        if column not in positions and (alias := next((a for a in aliases if a in positions), "")):
            positions[column] = positions[alias]
    return positions


def _decoded(binary: IO[bytes], name: str) -> Iterator[str]:
    """Decode UTF-8 line by line so a bad byte is reported on its own line.

    A multi-byte UTF-8 sequence never contains the byte 0x0A, so splitting the raw bytes
    at newlines never cuts a valid character in two.
    """
    for number, raw in enumerate(binary, start=1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CommunityNotesFormatError(
                name, number, None, f"not valid UTF-8 (byte {exc.start + 1} of the line)"
            ) from None


def _source_name(source: Source) -> str:
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    return str(getattr(source, "name", "<stream>"))


def _show(text: str, limit: int = 40) -> str:
    """A short, safe rendering of untrusted text for an error message."""
    return repr(text if len(text) <= limit else text[:limit] + "...")
