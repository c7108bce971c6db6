"""Tables of platform connectors: Matrix and Mastodon servers, their intake and their actions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from isegoria.store.models import Base
from isegoria.store.types import UTCDateTime


class PlatformConnector(Base):
    """A platform's server that isegoria reads reports from and applies decisions on."""

    __tablename__ = "platform_connectors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "matrix" or "mastodon"
    base_url: Mapped[str] = mapped_column(String(2000))
    # Sealed with the instance key (SecretBox), like webhook secrets: needed in clear to act.
    admin_token: Mapped[bytes] = mapped_column(LargeBinary)
    webhook_secret: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # Mastodon
    config: Mapped[str] = mapped_column(Text)  # JSON: rule mapping and adapter options
    jurisdictions: Mapped[str] = mapped_column(String(400))  # comma-separated codes
    language: Mapped[str] = mapped_column(String(35))
    cursor: Mapped[str] = mapped_column(Text)  # JSON: the Matrix report cursor
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class ConnectorReport(Base):
    """A platform report received through a connector: filed as a case, or waiting in triage."""

    __tablename__ = "connector_reports"
    __table_args__ = (
        # One row per reported item: a repeated delivery (a Mastodon retry, a replayed
        # webhook, a poll after a crash) finds it and files nothing twice.
        UniqueConstraint("connector_id", "platform_report_id", "platform_content_id"),
        Index("ix_connector_reports_status", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connector_id: Mapped[int] = mapped_column(ForeignKey("platform_connectors.id"))
    platform_report_id: Mapped[str] = mapped_column(String(128))
    platform_content_id: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(12))  # "filed", "triage" or "dismissed"
    item: Mapped[str] = mapped_column(Text)  # JSON: the snapshot, reason and reporter
    why: Mapped[str] = mapped_column(Text)  # why it needs a citizen, in words
    candidates: Mapped[str] = mapped_column(String(400))  # comma-separated rule ids
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), default=None)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    filed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    filed_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), default=None)


class ConnectorAction(Base):
    """Applying one decision through a connector: attempts, then what was done (the ledger)."""

    __tablename__ = "connector_actions"
    __table_args__ = (Index("ix_connector_actions_expiry", "connector_id", "ends_at"),)

    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), primary_key=True)
    connector_id: Mapped[int] = mapped_column(ForeignKey("platform_connectors.id"))
    status: Mapped[str] = mapped_column(String(12))  # pending, applied, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    result: Mapped[str | None] = mapped_column(Text, default=None)  # JSON of AppliedResult
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
