"""State audit of the decisions platforms apply (the ``decisions`` rows).

Every row must have the ``DecisionIssued`` (a verdict's) or ``NoteDecisionIssued`` (a
note's) entry that announced it, with the same kind, platform, case and deadline; entries
written since the entry carried ``body_sha256`` also fix the body the platform receives,
byte for byte. The row's own columns must agree with that body (its id, kind, platform,
case, content, sequence and issue time), a sanction's body with its ``SanctionImposed``
entry, a restoring decision's with its ``SanctionLifted`` entry, and the platform's answer
(status, timeliness, and since ``reason_sha256`` the reason it gave) with its
``DecisionConfirmed`` entry. The outbox columns (``delivery*``, ``next_delivery_at``) say
how delivery is going, not what was decided: nothing logs them and nothing checks them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from isegoria.log.audit_base import (
    ISSUED,
    MISSING,
    UNLOGGED,
    Entries,
    Logged,
    Mismatch,
    compare,
    loads,
)
from isegoria.log.entries import format_instant
from isegoria.store.models_cases import DecisionRow

TABLE = "decisions"
PENDING = "pending"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _body(out: list[Mismatch], entries: Entries, idx: int, row: DecisionRow) -> None:
    """The row's columns against its body, and the body against the sanction entries."""
    key = str(row.id)
    body = loads(row.body)
    compare(
        out,
        idx,
        TABLE,
        key,
        {
            "body.id": (row.id, body.get("id")),
            "body.kind": (row.kind, body.get("kind")),
            "body.platform_id": (row.platform_id, body.get("platform_id")),
            "body.case_id": (row.case_id, body.get("case_id")),
            "body.content_id": (row.platform_content_id, body.get("content_id")),
            "body.sequence": (row.sequence, body.get("sequence")),
            "body.issued_at": (row.issued_at.isoformat(), body.get("issued_at")),
        },
    )
    imposed = entries.imposed.get(row.id)
    if imposed is not None:
        compare(
            out,
            imposed.idx,
            TABLE,
            key,
            {
                "body.sanction": (imposed.facts.get("sanction"), body.get("sanction")),
                "body.suspension_days": (
                    imposed.facts.get("suspension_days"),
                    body.get("suspension_days"),
                ),
            },
        )
    lifted = entries.lifted.get(row.id)
    if lifted is not None:
        restores = lifted.facts.get("restores")
        compare(out, lifted.idx, TABLE, key, {"body.restores": (restores, body.get("restores"))})


def _answer(out: list[Mismatch], confirmed: Logged | None, row: DecisionRow) -> None:
    """The platform's confirmation (or its absence) against the row's status columns."""
    key = str(row.id)
    if confirmed is None:
        if row.status != PENDING or row.confirmed_at is not None:
            out.append(Mismatch(None, TABLE, key, "status", UNLOGGED, f'"{row.status}"'))
        return
    facts = confirmed.facts
    on_time = None if row.confirmed_at is None else row.confirmed_at <= row.apply_by
    pairs: dict[str, tuple[Any, Any]] = {
        "status": (facts.get("status"), row.status),
        "confirmed_at (on time)": (facts.get("on_time"), on_time),
    }
    if "reason_sha256" in facts:  # entries written before it carried the reason's digest
        reason = row.failure_reason
        pairs["failure_reason (SHA-256)"] = (
            facts["reason_sha256"],
            "" if reason is None else _sha256(reason),
        )
    compare(out, confirmed.idx, TABLE, key, pairs)


def _decision(out: list[Mismatch], entries: Entries, row: DecisionRow) -> None:
    key = str(row.id)
    found = entries.issued.get(row.id)
    if found is None:
        out.append(Mismatch(None, TABLE, key, "*", UNLOGGED, "a decision"))
        return
    kind, logged = found
    facts = logged.facts
    pairs: dict[str, tuple[Any, Any]] = {
        "kind": (facts.get("decision_kind"), row.kind),
        "platform_id": (facts.get("platform_id"), row.platform_id),
        "apply_by": (facts.get("apply_by"), format_instant(row.apply_by)),
    }
    if kind == ISSUED:  # a note's entry names the note; its case is in the body
        pairs["case_id"] = (facts.get("case_id"), row.case_id)
    if "body_sha256" in facts:  # entries written before it carried the body's digest
        pairs["body (SHA-256)"] = (facts["body_sha256"], _sha256(row.body))
    compare(out, logged.idx, TABLE, key, pairs)
    _body(out, entries, logged.idx, row)
    _answer(out, entries.confirmed.get(row.id), row)


def decision_mismatches(
    session: Session, entries: Entries, *, case_id: int | None = None
) -> list[Mismatch]:
    """Every difference between the decision rows (all, or one case's) and the log."""
    out: list[Mismatch] = []
    query = select(DecisionRow).order_by(DecisionRow.id)
    if case_id is not None:
        query = query.where(DecisionRow.case_id == case_id)
    ids = set()
    for row in session.scalars(query):
        ids.add(row.id)
        _decision(out, entries, row)
    for decision_id, (_kind, logged) in sorted(entries.issued.items()):
        if decision_id not in ids:
            out.append(Mismatch(logged.idx, TABLE, str(decision_id), "*", "a decision", MISSING))
    return out
