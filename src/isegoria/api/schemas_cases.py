"""Request and response bodies of the cases API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from isegoria.api.schemas import Strict
from isegoria.domain.content import (
    MAX_CONTENT_TEXT,
    MAX_EXCLUDED_ACCOUNTS,
    MAX_MEDIA,
    MAX_PLATFORM_ID,
    MAX_REPORT_BATCH,
    MAX_REPORT_REASON,
    MAX_URL,
)
from isegoria.domain.decisions import ReportSource
from isegoria.domain.sanctions import SanctionStep
from isegoria.domain.verdict import MAX_REASON_LENGTH


class MediaIn(Strict):
    """An attachment, described rather than sent."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    media_type: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)


class SnapshotIn(Strict):
    """The post as it was when reported."""

    content_id: str = Field(min_length=1, max_length=MAX_PLATFORM_ID)
    url: str = Field(default="", max_length=MAX_URL)
    text: str = Field(max_length=MAX_CONTENT_TEXT)
    language: str = Field(min_length=1, max_length=35)
    author: str = Field(min_length=1, max_length=256, description="Pseudonym, stable per platform")
    posted_at: AwareDatetime
    jurisdictions: list[str] = Field(min_length=1, max_length=20)
    media: list[MediaIn] = Field(default_factory=list, max_length=MAX_MEDIA)
    context: dict[str, str] = Field(default_factory=dict, max_length=20)


class ReportIn(Strict):
    """A report citing a rule (and optionally its version) against a snapshot."""

    content: SnapshotIn
    rule: str = Field(min_length=1, max_length=64, description="Rule id, e.g. MX-3")
    rule_version: int | None = Field(default=None, ge=1, le=100_000)
    reason: str = Field(min_length=1, max_length=MAX_REPORT_REASON)
    source: ReportSource
    reporter: str | None = Field(default=None, max_length=256)
    excluded_accounts: list[str] = Field(default_factory=list, max_length=MAX_EXCLUDED_ACCOUNTS)
    interim_restriction: bool = False


class ReportFiledOut(BaseModel):
    """Where the report went."""

    case_id: int
    report_id: int
    case_status: str
    case_url: str


class ReportBatchIn(Strict):
    """Up to 100 reports, each exactly the body of ``POST /reports``, filed all or none."""

    reports: list[ReportIn] = Field(min_length=1, max_length=MAX_REPORT_BATCH)


class BatchReportFiledOut(ReportFiledOut):
    """Where one report of a batch went, and whether it opened its case."""

    case_opened: bool


class ReportBatchFiledOut(BaseModel):
    """One result per report of the batch, in the batch's order."""

    reports: list[BatchReportFiledOut]


class CaseSummaryOut(BaseModel):
    """A case in a list."""

    id: int
    rule: str
    jurisdiction: str
    status: str
    stage: str
    opened_at: datetime
    outcome: str | None
    sanction: str | None


class TimelineItem(BaseModel):
    """One logged step of a case."""

    index: int
    kind: str
    at: datetime
    facts: dict[str, Any]


class CaseOut(BaseModel):
    """A public case page's content."""

    id: int
    status: str
    stage: str
    rule: str
    rule_title: str
    jurisdiction: str
    platform_id: int
    author: str
    content_text: str
    content_url: str
    content_language: str
    posted_at: datetime
    opened_at: datetime
    interim: str | None
    outcome: str | None
    sanction: str | None
    suspension_days: int | None
    statement: dict[str, Any] | None
    appeal_until: datetime | None
    appeal_outcome: str | None
    appeal_sanction: str | None
    appeal_statement: dict[str, Any] | None
    timeline: list[TimelineItem]
    reports_not_listed: int = Field(
        0,
        description="Further reports of the post that the timeline leaves out (it lists the "
        "first 20); each is a ReportFiled entry in the log",
    )


class JuryDrawOut(BaseModel):
    """The public inputs of a draw: anyone can re-run it with them."""

    case_id: int
    stage: str
    size: int
    seed_checkpoint_size: int
    seed: str
    quotas: dict[str, Any]
    portfolio: dict[str, Any]
    pool: dict[str, Any]
    jurors: list[str]
    cannot_be_seated: list[str] = Field(
        default_factory=list,
        description="One sentence per strata profile that no jury meeting the quotas can "
        "seat: those volunteers have no chance in this lottery, and the sentence names the "
        "quotas that block them (the portfolio's `unseatable` list, which `isegoria jury "
        "verify` re-checks)",
    )
    # The seats filled later, each {"juror": pseudonym, "replaces": pseudonym}, in the
    # order they were filled (the log's JurorsReplaced entries must name the same pairs).
    replacements: list[dict[str, str]] = []


class SummonsOut(BaseModel):
    """A seat on a jury, as its holder sees it."""

    case_id: int
    stage: str
    pseudonym: str
    status: str
    reply_by: datetime
    ballot_by: datetime
    rule: str


class ReplyIn(Strict):
    """Accept or decline a summons."""

    accept: bool


class BallotReceiptOut(BaseModel):
    """The receipt of a sealed ballot, shown once: keep it to find your ballot later.

    ``receipt`` = SHA-256 of "isegoria-jury-ballot-v1", the case number, ``ballot_id``,
    ``vote`` and ``nonce``, one per line. When the jury closes, the verdict's log entry
    lists every ballot by its receipt; nothing stored links a ballot to its juror.
    """

    case_id: int
    ballot_id: str
    nonce: str
    receipt: str
    vote: str = Field(description="the canonical JSON of the ballot that the receipt hashes")


class BallotIn(Strict):
    """A sealed ballot."""

    violation: bool
    sanction: SanctionStep | None = None
    suspension_days: int | None = Field(default=None, ge=1, le=365)
    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)
    note_text: str | None = Field(
        default=None,
        max_length=1000,
        description="With the sanction 'note': the note to publish if the jury chooses a note",
    )


class TextIn(Strict):
    """A statement by the author, or an appeal."""

    text: str = Field(min_length=1, max_length=8000)


class LinkCodeIn(Strict):
    """A platform account to issue a link code for."""

    pseudonym: str = Field(min_length=1, max_length=256)


class LinkCodeOut(BaseModel):
    """A one-time code to show the platform's user."""

    code: str
    expires_in_seconds: int


class RedeemIn(Strict):
    """A code a platform gave the caller."""

    code: str = Field(min_length=4, max_length=64)


class LinkedOut(BaseModel):
    """A linked platform account."""

    platform_id: int
    pseudonym: str


class DecisionOut(BaseModel):
    """A decision the platform must apply."""

    id: int
    kind: str
    case_id: int | None
    content_id: str
    sequence: int
    issued_at: datetime
    apply_by: datetime
    status: str
    body: dict[str, Any]


class ConfirmationIn(Strict):
    """Whether the platform applied a decision."""

    status: Literal["applied", "failed"]
    reason: str | None = Field(default=None, max_length=2000)


class CaseFileOut(BaseModel):
    """What a juror reads before voting."""

    case_id: int
    stage: str
    content_text: str
    content_url: str
    content_language: str
    posted_at: datetime
    author: str
    rule: str
    rule_title: str
    rule_text: str
    sanction_cap: str
    max_suspension_days: int
    reports: list[dict[str, Any]]
    prior_upheld_violations: int
    author_statements: list[str]
    first_instance: dict[str, Any] | None
