"""The tables: SQLAlchemy 2 typed mappings, the single source of the schema."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
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


class Platform(Base):
    """A forum or network that hands its moderation decisions to this instance."""

    __tablename__ = "platforms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    webhook_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    # Encrypted with the instance secret: needed in clear to sign webhooks, never stored so.
    webhook_secret: Mapped[bytes] = mapped_column(LargeBinary)
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
