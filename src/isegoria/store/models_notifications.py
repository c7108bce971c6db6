"""Tables of notifications: what a citizen is told, where it goes, and how they want it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from isegoria.store.models import Base
from isegoria.store.types import UTCDateTime


class Notification(Base):
    """One message to one citizen, shown in their inbox (always) and sent on their channels."""

    __tablename__ = "notifications"
    # The key names the event (e.g. "summons:juror:7"): a hook that runs twice adds nothing.
    __table_args__ = (UniqueConstraint("account_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(32))
    # JSON of public facts only (case and proposal numbers, deadlines): never who else.
    params: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class NotificationDelivery(Base):
    """The outbox row of one notification on one external channel (e-mail, Matrix)."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (UniqueConstraint("notification_id", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    # pending -> sending (claimed, lease until claimed_until) -> sent | dead | skipped
    status: Mapped[str] = mapped_column(String(8), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class NotificationPreference(Base):
    """A citizen's channels and language; no row means inbox only, in English."""

    __tablename__ = "notification_preferences"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), default="en")
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    email_on: Mapped[bool] = mapped_column(Boolean, default=False)
    matrix_id: Mapped[str | None] = mapped_column(String(255), default=None)
    matrix_on: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
