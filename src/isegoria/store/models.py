"""The tables: SQLAlchemy 2 typed mappings, the single source of the schema."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from isegoria.store.types import UTCDateTime

# Deterministic constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with the shared metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Jurisdiction(Base):
    """A rule-making community; its parent's rules also apply within it."""

    __tablename__ = "jurisdictions"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("jurisdictions.code"), default=None)
    languages: Mapped[str] = mapped_column(String(200), default="")  # comma-separated BCP 47
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Account(Base):
    """A person who logs in: a citizen, an operator or an auditor."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    # NULL: the account cannot log in (synthetic demo citizens, disabled people).
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    role: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Self-declared strata for stratified jury draws (citizens only, all optional).
    region: Mapped[str | None] = mapped_column(String(64), default=None)
    age_band: Mapped[str | None] = mapped_column(String(16), default=None)
    leaning: Mapped[str | None] = mapped_column(String(16), default=None)
    jury_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)

    residences: Mapped[list[Residence]] = relationship(
        back_populates="account", cascade="all, delete-orphan", lazy="selectin"
    )


class Residence(Base):
    """A citizen's membership of a jurisdiction: they vote there and may serve on its juries."""

    __tablename__ = "residences"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    jurisdiction_code: Mapped[str] = mapped_column(
        ForeignKey("jurisdictions.code"), primary_key=True, index=True
    )

    account: Mapped[Account] = relationship(back_populates="residences")


class WebSession(Base):
    """A logged-in browser; the cookie holds a token whose SHA-256 is the key here."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # How the session was verified: NULL while it awaits its second factor (it is then no
    # one's session), "password" where none is needed, "totp" or "recovery".
    factor: Mapped[str | None] = mapped_column(String(16), default=None)
    # The second factor it is bound to: removing or resetting that factor ends the session.
    factor_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    # The last request seen (to the minute): a staff session idle too long ends.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Platform(Base):
    """A forum or network that hands its moderation decisions to this instance."""

    __tablename__ = "platforms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    webhook_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    # Encrypted with the instance secret: needed in clear to sign webhooks, never stored so.
    webhook_secret: Mapped[bytes] = mapped_column(LargeBinary)
    # The secret before the last rotation (sealed too) and when it was replaced: deliveries
    # carry its signature as well for a grace period, so a platform can switch without loss.
    previous_webhook_secret: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    webhook_secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="platform", lazy="selectin")


class ApiKey(Base):
    """A platform's bearer key; only a hash is kept, and a public prefix to find it."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_prefix", "prefix", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(Text)  # comma-separated Scope values
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # When a request last authenticated with the key, to a few minutes (people/platforms.py).
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    platform: Mapped[Platform] = relationship(back_populates="api_keys")


class LogEntry(Base):
    """One event of the transparency log: the exact canonical bytes that were hashed."""

    __tablename__ = "log_entries"
    __table_args__ = (Index("ix_log_entries_subject", "subject_type", "subject_id"),)

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class LogNode(Base):
    """A perfect aligned subtree hash: node (level, idx) covers leaves [idx·2^level, ...)."""

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class LogHead(Base):
    """The single row that appenders lock: its size is the next entry's index (no gaps)."""

    __tablename__ = "log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)


class LogCheckpoint(Base):
    """A signed tree head, issued in the transaction that grew the tree to ``size``."""

    __tablename__ = "log_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


# -- The law (issue 4): constitutions, rules and versions, proposals, votes; deadline jobs --


class ConstitutionVersion(Base):
    """One version of a jurisdiction's constitution (the JSON of the domain Constitution)."""

    __tablename__ = "constitution_versions"

    jurisdiction_code: Mapped[str] = mapped_column(
        ForeignKey("jurisdictions.code"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    params: Mapped[str] = mapped_column(Text)  # JSON of Constitution.to_dict()
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime())
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"), default=None)


class Rule(Base):
    """A numbered norm of one jurisdiction (``MX-3``); its texts are its versions."""

    __tablename__ = "rules"

    rule_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdictions.code"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RuleVersionRow(Base):
    """One immutable text of a rule; only ``effective_until`` is set, once, by a later act."""

    __tablename__ = "rule_versions"

    rule_id: Mapped[str] = mapped_column(ForeignKey("rules.rule_id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    harm_category: Mapped[str] = mapped_column(String(64))
    ground: Mapped[str] = mapped_column(String(32))
    sanction_cap: Mapped[str] = mapped_column(String(16))
    max_suspension_days: Mapped[int] = mapped_column(Integer)
    covered_examples: Mapped[str] = mapped_column(Text)  # JSON list of strings
    not_covered_examples: Mapped[str] = mapped_column(Text)  # JSON list of strings
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime())
    effective_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"))


class Proposal(Base):
    """A bill: enact, amend or repeal a rule, or change the constitution."""

    __tablename__ = "proposals"
    __table_args__ = (Index("ix_proposals_jurisdiction_status", "jurisdiction_code", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdictions.code"))
    kind: Mapped[str] = mapped_column(String(16))
    # The rule amended or repealed; for an enactment, the rule created on adoption.
    rule_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    # The version in force when proposed: the base of the diff.
    base_version: Mapped[int | None] = mapped_column(Integer, default=None)
    proposer_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    voting_opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    voting_closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When an adopted change takes effect: never before the close (no retroactive law).
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Fixed when voting opens: the electorate's size, the quorum and the threshold (JSON).
    electorate_size: Mapped[int | None] = mapped_column(Integer, default=None)
    quorum: Mapped[str | None] = mapped_column(String(32), default=None)
    threshold: Mapped[str | None] = mapped_column(String(120), default=None)
    # Fixed at the tally.
    yes: Mapped[int | None] = mapped_column(Integer, default=None)
    no: Mapped[int | None] = mapped_column(Integer, default=None)
    abstain: Mapped[int | None] = mapped_column(Integer, default=None)
    tallied_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    tally_log_index: Mapped[int | None] = mapped_column(BigInteger, default=None)
    result_version: Mapped[int | None] = mapped_column(Integer, default=None)


class ProposalRevision(Base):
    """One text of a proposal; every revision is kept, the newest is put to the vote."""

    __tablename__ = "proposal_revisions"

    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    title: Mapped[str] = mapped_column(String(200))
    rationale: Mapped[str] = mapped_column(Text)
    # The proposed rule version (enact/amend) or constitution changes, as JSON.
    content: Mapped[str] = mapped_column(Text)


class ProposalComment(Base):
    """A citizen's comment during deliberation."""

    __tablename__ = "proposal_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    body: Mapped[str] = mapped_column(Text)


class Ballot(Base):
    """A secret ballot: a random id, the choice and the receipt hash; no voter, no time."""

    __tablename__ = "ballots"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    choice: Mapped[str] = mapped_column(String(8))
    receipt: Mapped[str] = mapped_column(String(64), unique=True)


class Elector(Base):
    """A citizen entitled to vote on a proposal (snapshot when voting opens).

    ``ballot_id`` links the voter to their ballot only while voting is open, so that they can
    change their vote; the tally erases it and keeps only ``has_voted``.
    """

    __tablename__ = "electors"

    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True, index=True)
    has_voted: Mapped[bool] = mapped_column(Boolean, default=False)
    ballot_id: Mapped[str | None] = mapped_column(
        ForeignKey("ballots.id"), default=None, index=True
    )


class Job(Base):
    """A persisted deadline: run handler ``kind`` with ``payload`` at or after ``due_at``."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    payload: Mapped[str] = mapped_column(Text)  # JSON object
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class RateBucket(Base):
    """One rate-limit bucket shared by every app process (http/ratelimit_shared.py).

    UNLOGGED on PostgreSQL (migration 0015): a crash empties it, which only hands out
    fresh bursts, and a hit writes no write-ahead log.
    """

    __tablename__ = "rate_buckets"

    rule: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    # Seconds since the epoch on the database server's clock, at the last hit.
    updated: Mapped[float] = mapped_column(Float)
    # Whether the last hit was allowed (read back by the statement that made it).
    allowed: Mapped[bool] = mapped_column(Boolean)
