"""The staff audit trail: who of the operators and auditors did what, when, to what."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from isegoria.store.models import Base
from isegoria.store.types import UTCDateTime


class StaffAction(Base):
    """One staff action; rows are only ever added (auditors read them)."""

    __tablename__ = "staff_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # The staff account that acted; NULL for the instance itself (a shell command, the demo).
    actor_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), default=None, index=True
    )
    # The actor's login then (an account may later be disabled) or "cli:<user>", "system".
    actor: Mapped[str] = mapped_column(String(120))
    # Where the action came from: "console", "api" or "cli".
    via: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64), index=True)
    # What was acted on, "platform:3", "account:7", "connector:2", "log-key".
    subject: Mapped[str] = mapped_column(String(120))
    detail: Mapped[str] = mapped_column(Text, default="")
    # The transparency log entry that made it public, for the actions that affect the public.
    log_index: Mapped[int | None] = mapped_column(Integer, default=None)
