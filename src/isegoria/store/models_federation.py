"""Tables of federation: ActivityPub reporters and deliveries, AT Protocol labels."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from isegoria.store.models import Base
from isegoria.store.types import UTCDateTime


class FederatedFlag(Base):
    """A remote server's ``Flag`` of one post, remembered to tell it the outcome."""

    __tablename__ = "federated_flags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # SHA-256 hex of "<flag id>\n<post URI>": the same Flag delivered twice files nothing new.
    flag_key: Mapped[str] = mapped_column(String(64), unique=True)
    flag_id: Mapped[str] = mapped_column(String(2000))
    actor: Mapped[str] = mapped_column(String(2000))  # the reporting server's actor
    inbox: Mapped[str] = mapped_column(String(2000))  # where the outcome is delivered
    post_uri: Mapped[str] = mapped_column(String(2000))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ActivityDelivery(Base):
    """The outbox of ActivityPub: one Flag outcome to one remote inbox, with its retries."""

    __tablename__ = "activity_deliveries"
    __table_args__ = (Index("ix_activity_deliveries_due", "delivery", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "<federated flag id>:<decision id>": one notification per Flag and decision, ever.
    delivery_key: Mapped[str] = mapped_column(String(40), unique=True)
    flag_row_id: Mapped[int] = mapped_column(ForeignKey("federated_flags.id"))
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    inbox: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivery: Mapped[str] = mapped_column(String(12), default="pending")  # delivered, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class LabelerIdentity(Base):
    """The DID this instance labels as (recorded at start, read when labels are signed)."""

    __tablename__ = "labeler_identity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    did: Mapped[str] = mapped_column(String(2000))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AtprotoLabel(Base):
    """One signed ``com.atproto.label.defs#label``; never edited (a retraction is a new row)."""

    __tablename__ = "atproto_labels"
    __table_args__ = (Index("ix_atproto_labels_uri", "uri"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # publication order, the cursor
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), index=True)
    src: Mapped[str] = mapped_column(String(2000))
    uri: Mapped[str] = mapped_column(String(2000))
    cid: Mapped[str | None] = mapped_column(String(200), default=None)
    val: Mapped[str] = mapped_column(String(128))
    neg: Mapped[bool] = mapped_column(Boolean, default=False)
    cts: Mapped[str] = mapped_column(String(40))  # exactly as signed
    exp: Mapped[str | None] = mapped_column(String(40), default=None)
    sig: Mapped[bytes] = mapped_column(LargeBinary)
