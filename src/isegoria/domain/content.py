"""Content as a platform hands it over, and a report about it.

A platform sends an immutable *snapshot*: what the post said and showed when it was
reported, who wrote it (as a pseudonym stable per platform, never the real identity), when
it was posted and whose law applies. A *report* cites a rule version against it. Adapters
(Matrix, Mastodon, ActivityPub, AT Protocol) translate their platform's reports into these
two types; the cases service takes them from there.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from isegoria.domain.decisions import ReportSource
from isegoria.errors import N_, InvalidInput

MAX_CONTENT_TEXT = 1_048_576  # characters: a 1 MB post is stored whole, never truncated
MAX_PLATFORM_ID = 512
MAX_URL = 2000
MAX_MEDIA = 32
MAX_REPORT_REASON = 4000
#: The most reports one batch may carry: a few hundred kilobytes of typical posts, and one
#: transaction that holds the write turn for tens of milliseconds, not seconds.
MAX_REPORT_BATCH = 100
MAX_EXCLUDED_ACCOUNTS = 200


@dataclass(frozen=True)
class Media:
    """An image, video or file attached to the post: a hash and a description, not bytes."""

    sha256: str
    media_type: str
    description: str = ""


@dataclass(frozen=True)
class ContentSnapshot:
    """A post as it was when reported; immutable once stored."""

    platform_content_id: str  # the platform's own id
    url: str
    text: str
    language: str  # BCP 47, e.g. "es"
    author: str  # pseudonym, stable per platform
    posted_at: datetime
    jurisdictions: tuple[str, ...]  # whose law applies: the author's and the audience's
    media: tuple[Media, ...] = ()
    context: dict[str, str] = field(default_factory=dict)  # e.g. {"room": "!abc:server"}

    def digest(self) -> str:
        """SHA-256 over a canonical form, so a snapshot can be checked against the log."""
        canonical = json.dumps(
            {
                "platform_content_id": self.platform_content_id,
                "url": self.url,
                "text": self.text,
                "language": self.language,
                "author": self.author,
                "posted_at": self.posted_at.isoformat(),
                "jurisdictions": list(self.jurisdictions),
                "media": [[m.sha256, m.media_type, m.description] for m in self.media],
                "context": dict(sorted(self.context.items())),
            },
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode("utf-8", errors="surrogatepass")).hexdigest()


@dataclass(frozen=True)
class ReportRequest:
    """A report citing a rule version against a snapshot, as a platform or citizen files it."""

    snapshot: ContentSnapshot
    rule_id: str  # e.g. "MX-3"
    rule_version: int | None  # None: the version in force when the content was posted
    reason: str
    source: ReportSource
    reporter: str | None = None  # the reporter's pseudonym on the platform, if any
    excluded_accounts: tuple[str, ...] = ()  # platform pseudonyms with a conflict of interest
    interim_restriction: bool = False  # the platform restricted it at once, pending a verdict


def check_snapshot(snapshot: ContentSnapshot) -> None:
    """Refuse a snapshot a platform sent with a field out of bounds (``InvalidInput``)."""
    # (holds, field, message, its values): the messages are marked here, translated where shown
    checks: list[tuple[bool, str, str, dict[str, object]]] = [
        (
            0 < len(snapshot.platform_content_id) <= MAX_PLATFORM_ID,
            "content_id",
            N_("the platform's content id is 1 to %(max)s characters"),
            {"max": MAX_PLATFORM_ID},
        ),
        (
            len(snapshot.url) <= MAX_URL,
            "url",
            N_("a URL is at most %(max)s characters"),
            {"max": MAX_URL},
        ),
        (
            len(snapshot.text) <= MAX_CONTENT_TEXT,
            "text",
            N_("a post's text is at most %(max)s characters"),
            {"max": MAX_CONTENT_TEXT},
        ),
        (
            0 < len(snapshot.author) <= 256,
            "author",
            N_("the author pseudonym is 1 to 256 characters"),
            {},
        ),
        (0 < len(snapshot.language) <= 35, "language", N_("the language is a BCP 47 tag"), {}),
        (
            len(snapshot.media) <= MAX_MEDIA,
            "media",
            N_("at most %(max)s media items"),
            {"max": MAX_MEDIA},
        ),
        (snapshot.posted_at.tzinfo is not None, "posted_at", N_("posted_at needs a time zone"), {}),
        (
            0 < len(snapshot.jurisdictions) <= 20,
            "jurisdictions",
            N_("name 1 to 20 jurisdictions whose law applies to the post"),
            {},
        ),
    ]
    for ok, name, template, params in checks:
        if not ok:
            raise InvalidInput(template, field=name, **params)
