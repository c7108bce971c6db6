"""Context notes and their ratings: what a valid note and a valid rating are (no I/O)."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit

from isegoria.algorithms.bridging_params import (
    HELPFUL,
    NOT_HELPFUL,
    SOMEWHAT_HELPFUL,
    TAG_BIT,
    NoteStatus,
)
from isegoria.errors import Explained

__all__ = [
    "MAX_NOTE_LENGTH",
    "MAX_REASON_TAGS",
    "MIN_NOTE_LENGTH",
    "Classification",
    "Helpfulness",
    "ContextNoteError",
    "NoteReason",
    "NoteStatus",
    "RatingTag",
    "check_note_text",
    "check_tags",
    "source_links",
    "tag_mask",
]

# Community Notes caps a note at 280 characters, links counted; we allow more room
# because a note here may quote the law it relies on, but keep it short enough to read.
MAX_NOTE_LENGTH: Final = 1000
#: Below this a note cannot say what is wrong and link a source.
MIN_NOTE_LENGTH: Final = 20
#: No rating needs more tags than there are tags of one kind.
MAX_REASON_TAGS: Final = 10
MAX_LINK_LENGTH: Final = 2000
_LINK: Final = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


class ContextNoteError(Explained, ValueError):
    """A note or rating that breaks a rule; the message says which and what to do."""

    def __init__(self, template: str, field: str, /, **params: object) -> None:
        super().__init__(template, **params)
        self.field = field


class Classification(StrEnum):
    """The writer's view of the content ([ranking]'s notes file ``classification``)."""

    MISLEADING = "misinformed_or_potentially_misleading"
    NOT_MISLEADING = "not_misleading"


class NoteReason(StrEnum):
    """Why the writer thinks so (the public notes file's boolean reason columns)."""

    FACTUAL_ERROR = "factual_error"
    MANIPULATED_MEDIA = "manipulated_media"
    OUTDATED_INFORMATION = "outdated_information"
    MISSING_IMPORTANT_CONTEXT = "missing_important_context"
    UNVERIFIED_CLAIM_AS_FACT = "unverified_claim_as_fact"
    MISINTERPRETED_SATIRE = "misinterpreted_satire"
    OTHER = "other"


class Helpfulness(StrEnum):
    """A rater's answer ([ranking] "Helpful Rating Mapping": 1.0 / 0.5 / 0.0)."""

    HELPFUL = "helpful"
    SOMEWHAT_HELPFUL = "somewhat_helpful"
    NOT_HELPFUL = "not_helpful"

    @property
    def value_for_scoring(self) -> float:
        """The number the scorer models for this answer."""
        return _SCORE[self]


_SCORE: Final = {
    Helpfulness.HELPFUL: HELPFUL,
    Helpfulness.SOMEWHAT_HELPFUL: SOMEWHAT_HELPFUL,
    Helpfulness.NOT_HELPFUL: NOT_HELPFUL,
}


class RatingTag(StrEnum):
    """Optional reasons for a rating (a subset of the public ratings file's tag columns)."""

    CLEAR = "clear"
    GOOD_SOURCES = "good_sources"
    ADDRESSES_CLAIM = "addresses_claim"
    IMPORTANT_CONTEXT = "important_context"
    UNBIASED_LANGUAGE = "unbiased_language"
    INCORRECT = "incorrect"
    SOURCES_MISSING_OR_UNRELIABLE = "sources_missing_or_unreliable"
    OPINION_SPECULATION = "opinion_speculation"
    HARD_TO_UNDERSTAND = "hard_to_understand"
    ARGUMENTATIVE_OR_BIASED = "argumentative_or_biased"
    NOTE_NOT_NEEDED = "note_not_needed"


#: The public ratings file's column for each of our not-helpful tags (the helpful ones
#: play no part in the status rules). The scorer's tag filters read these.
PUBLIC_NOT_HELPFUL_TAG: Final = {
    RatingTag.INCORRECT: "notHelpfulIncorrect",
    RatingTag.SOURCES_MISSING_OR_UNRELIABLE: "notHelpfulSourcesMissingOrUnreliable",
    RatingTag.OPINION_SPECULATION: "notHelpfulOpinionSpeculation",
    RatingTag.HARD_TO_UNDERSTAND: "notHelpfulHardToUnderstand",
    RatingTag.ARGUMENTATIVE_OR_BIASED: "notHelpfulArgumentativeOrBiased",
    RatingTag.NOTE_NOT_NEEDED: "notHelpfulNoteNotNeeded",
}


def tag_mask(stored: str) -> int:
    """The scorer's not-helpful tag bit mask of a rating's stored tags (a JSON list)."""
    mask = 0
    for tag in json.loads(stored or "[]"):
        public = PUBLIC_NOT_HELPFUL_TAG.get(RatingTag(tag))
        if public is not None:
            mask |= TAG_BIT[public]
    return mask


def source_links(text: str) -> list[str]:
    """The http(s) links in a note's text, each checked to have a host."""
    links = []
    for match in _LINK.findall(text):
        link = match.rstrip(".,;:)]")
        parts = urlsplit(link)
        if parts.scheme.lower() in ("http", "https") and parts.hostname and "." in parts.hostname:
            links.append(link)
    return links


def check_note_text(text: str) -> list[str]:
    """Check a note's text; return its source links or raise :class:`ContextNoteError`."""
    stripped = text.strip()
    if len(stripped) < MIN_NOTE_LENGTH:
        raise ContextNoteError(
            "a note needs at least %(min_note_length)s characters",
            "text",
            min_note_length=MIN_NOTE_LENGTH,
        )
    if len(stripped) > MAX_NOTE_LENGTH:
        raise ContextNoteError("a note is at most %(max)s characters", "text", max=MAX_NOTE_LENGTH)
    links = source_links(stripped)
    if not links:
        raise ContextNoteError(
            "a note must cite at least one source as an http:// or https:// link "
            "(for example https://example.org/report)",
            "text",
        )
    if any(len(link) > MAX_LINK_LENGTH for link in links):
        raise ContextNoteError("a link is at most %(max)s characters", "text", max=MAX_LINK_LENGTH)
    return links


def check_tags(tags: list[str]) -> list[RatingTag]:
    """Parse a rating's reason tags (no duplicates), or raise :class:`ContextNoteError`."""
    if len(tags) > MAX_REASON_TAGS:
        raise ContextNoteError("at most %(max)s reason tags", "tags", max=MAX_REASON_TAGS)
    parsed: list[RatingTag] = []
    for tag in tags:
        try:
            value = RatingTag(tag)
        except ValueError:
            allowed = ", ".join(t.value for t in RatingTag)
            raise ContextNoteError(
                "unknown reason tag %(tag)s; use one of %(allowed)s",
                "tags",
                tag=repr(tag),
                allowed=allowed,
            ) from None
        if value not in parsed:
            parsed.append(value)
    return parsed
