"""Tables of cases: content snapshots, reports, juries, sealed ballots, decisions, appeals."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from isegoria.store.models import Base
from isegoria.store.types import UTCDateTime


class Content(Base):
    """An immutable snapshot of a post as its platform sent it."""

    __tablename__ = "contents"
    __table_args__ = (
        UniqueConstraint("platform_id", "platform_content_id", "digest"),
        Index("ix_contents_author", "platform_id", "author"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    platform_content_id: Mapped[str] = mapped_column(String(512))
    url: Mapped[str] = mapped_column(String(2000))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(35))
    author: Mapped[str] = mapped_column(String(256))  # pseudonym, stable per platform
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    jurisdictions: Mapped[str] = mapped_column(String(400))  # comma-separated codes
    media: Mapped[str] = mapped_column(Text)  # JSON list of {sha256, media_type, description}
    context: Mapped[str] = mapped_column(Text)  # JSON object
    digest: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Case(Base):
    """The reports against one post under one rule, and what became of them."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_subject", "platform_id", "platform_content_id", "rule_id"),
        Index("ix_cases_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("contents.id"))
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    platform_content_id: Mapped[str] = mapped_column(String(512))
    author: Mapped[str] = mapped_column(String(256))
    rule_id: Mapped[str] = mapped_column(String(64))
    rule_version: Mapped[int] = mapped_column(Integer)
    jurisdiction: Mapped[str] = mapped_column(ForeignKey("jurisdictions.code"))
    # open -> jury (first instance) -> decided | lapsed -> appeal -> final
    status: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(8))  # "first" or "appeal"
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_log_index: Mapped[int] = mapped_column(BigInteger)
    interim_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    interim_state: Mapped[str | None] = mapped_column(String(16), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)
    sanction: Mapped[str | None] = mapped_column(String(16), default=None)
    suspension_days: Mapped[int | None] = mapped_column(Integer, default=None)
    verdict: Mapped[str | None] = mapped_column(Text, default=None)  # JSON of the verdict
    statement: Mapped[str | None] = mapped_column(Text, default=None)  # JSON statement of reasons
    appeal_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    appeal_outcome: Mapped[str | None] = mapped_column(String(16), default=None)
    appeal_sanction: Mapped[str | None] = mapped_column(String(16), default=None)
    appeal_suspension_days: Mapped[int | None] = mapped_column(Integer, default=None)
    appeal_verdict: Mapped[str | None] = mapped_column(Text, default=None)
    appeal_statement: Mapped[str | None] = mapped_column(Text, default=None)
    final_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Report(Base):
    """A notice citing the case's rule; several reports can join one case."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    source: Mapped[str] = mapped_column(String(24))
    reporter: Mapped[str | None] = mapped_column(String(256), default=None)  # pseudonym
    reporter_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), default=None)
    reason: Mapped[str] = mapped_column(Text)
    excluded_accounts: Mapped[str] = mapped_column(Text)  # JSON list of pseudonyms
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Jury(Base):
    """One jury of a case: first instance or appeal, with the public inputs of its draw."""

    __tablename__ = "juries"
    __table_args__ = (UniqueConstraint("case_id", "stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    stage: Mapped[str] = mapped_column(String(8))
    size: Mapped[int] = mapped_column(Integer)
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reply_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    ballot_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    seed_checkpoint_size: Mapped[int] = mapped_column(BigInteger)
    seed: Mapped[str] = mapped_column(String(64))  # hex
    quotas: Mapped[str] = mapped_column(Text)  # JSON
    portfolio: Mapped[str] = mapped_column(Text)  # JSON (sortition.Portfolio)
    pool: Mapped[str] = mapped_column(Text)  # JSON: strata and ordered pseudonyms per profile
    rounds: Mapped[int] = mapped_column(Integer, default=0)  # replacement rounds so far
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Hex key of the jurors' pseudonyms (HMAC), random per jury and erased when the jury
    # closes; None on juries drawn before it existed (their names used the instance secret).
    pseudonym_key: Mapped[str | None] = mapped_column(String(64), default=None)


class Juror(Base):
    """A citizen's seat on a jury; the public knows only the per-case pseudonym."""

    __tablename__ = "jurors"
    __table_args__ = (UniqueConstraint("jury_id", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jury_id: Mapped[int] = mapped_column(ForeignKey("juries.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    pseudonym: Mapped[str] = mapped_column(String(32))
    # summoned -> accepted -> voted | declined | no_show
    status: Mapped[str] = mapped_column(String(12))
    summoned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    replaces: Mapped[int | None] = mapped_column(ForeignKey("jurors.id"), default=None)


class CaseBallot(Base):
    """A sealed ballot: a random id, the receipt hash and the vote; no juror, no time.

    Nothing here names who cast it: the juror's seat only says "voted". While the jury is
    open the row also holds the juror's declared strata (for the stratum report); closing
    the jury folds them into ``juror_stratum_tallies``, erases them, and rewrites the
    jury's rows in receipt order so that not even their order tells who cast which
    (services.cases_secrecy).
    """

    __tablename__ = "case_ballots"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, 128 bits, hex
    jury_id: Mapped[int] = mapped_column(ForeignKey("juries.id"), index=True)
    receipt: Mapped[str] = mapped_column(String(64), unique=True)
    violation: Mapped[bool] = mapped_column(Boolean)
    sanction: Mapped[str | None] = mapped_column(String(16), default=None)
    suspension_days: Mapped[int | None] = mapped_column(Integer, default=None)
    reason: Mapped[str] = mapped_column(Text)
    # The note the juror proposes to publish if the jury's sanction is a note.
    note_text: Mapped[str | None] = mapped_column(Text, default=None)
    # The juror's declared strata, kept only until the jury closes.
    juror_region: Mapped[str | None] = mapped_column(String(64), default=None)
    juror_age_band: Mapped[str | None] = mapped_column(String(16), default=None)
    juror_leaning: Mapped[str | None] = mapped_column(String(32), default=None)


class JurorStratumTally(Base):
    """Ballots finding a violation, by a juror stratum, per jurisdiction and day of closing.

    What remains of the jurors' strata once their juries closed: counts over every jury of
    a jurisdiction that closed that day, never one ballot's strata.
    """

    __tablename__ = "juror_stratum_tallies"

    jurisdiction: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    ballots: Mapped[int] = mapped_column(Integer, default=0)
    violations: Mapped[int] = mapped_column(Integer, default=0)


class AuthorStatement(Base):
    """What the author says in their defence (or in their appeal)."""

    __tablename__ = "author_statements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    stage: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Appeal(Base):
    """A request for a fresh, larger jury; at most one per case."""

    __tablename__ = "appeals"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    appellant: Mapped[str] = mapped_column(String(16))  # "author" or "reporter"
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), default=None)
    statement: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DecisionRow(Base):
    """A decision a platform must apply and confirm (the outbox delivers it)."""

    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_platform_status", "platform_id", "status"),
        Index("ix_decisions_delivery", "delivery", "next_delivery_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), default=None, index=True)
    kind: Mapped[str] = mapped_column(String(24))
    platform_content_id: Mapped[str] = mapped_column(String(512))
    sequence: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)  # JSON of domain.decisions.Decision
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    apply_by: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(12))  # pending, applied, failed
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    failure_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # The transactional outbox: written with the decision, delivered by the worker.
    delivery: Mapped[str] = mapped_column(String(12), default="pending")  # delivered, dead
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    delivery_error: Mapped[str | None] = mapped_column(Text, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class PlatformIdentity(Base):
    """A citizen's account on a platform, linked by a code the platform gave them."""

    __tablename__ = "platform_identities"

    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(256), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LinkCode(Base):
    """A one-time code a platform issues so its user can link their account here."""

    __tablename__ = "link_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    pseudonym: Mapped[str] = mapped_column(String(256))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
