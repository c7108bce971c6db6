"""Telling a platform that a note is now shown, or no longer shown (the decisions outbox)."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from isegoria.decisions.lifecycle import new_row
from isegoria.domain.decisions import Decision, DecisionKind
from isegoria.domain.note_events import NoteDecisionIssued
from isegoria.domain.sanctions import SanctionStep
from isegoria.log.entries import format_instant
from isegoria.store.models_cases import Content, DecisionRow
from isegoria.store.models_notes import NoteRow
from isegoria.unit_of_work import UnitOfWork


def last_shown(uow: UnitOfWork, note: NoteRow, content: Content) -> DecisionRow | None:
    """The latest NOTE_SHOWN decision about ``note``, if any (what a NOTE_HIDDEN undoes)."""
    rows = uow.session.scalars(
        select(DecisionRow)
        .where(
            DecisionRow.platform_id == content.platform_id,
            DecisionRow.platform_content_id == content.platform_content_id,
            DecisionRow.kind == DecisionKind.NOTE_SHOWN.value,
        )
        .order_by(DecisionRow.id.desc())
    )
    for row in rows:
        if json.loads(row.body).get("extra", {}).get("note_id") == note.id:
            return row
    return None


def issue_note_decision(
    uow: UnitOfWork, note: NoteRow, content: Content, kind: DecisionKind
) -> DecisionRow:
    """Write NOTE_SHOWN or NOTE_HIDDEN for the platform, in the caller's transaction."""
    if kind not in (DecisionKind.NOTE_SHOWN, DecisionKind.NOTE_HIDDEN):
        raise ValueError(f"a note decision is NOTE_SHOWN or NOTE_HIDDEN, not {kind}")
    now = uow.now()
    restores = None
    if kind is DecisionKind.NOTE_HIDDEN:
        shown = last_shown(uow, note, content)
        restores = shown.id if shown is not None else None
    row = new_row(uow, content.platform_id, content.platform_content_id, note.case_id, kind)
    sequence = row.sequence
    decision = Decision(
        id=row.id,
        kind=kind,
        platform_id=content.platform_id,
        case_id=note.case_id,
        content_id=content.platform_content_id,
        content_url=content.url,
        author=content.author,
        # A jury's note is a sanction (the ladder's "note" step); a citizens' note is not.
        sanction=SanctionStep.NOTE if note.by_jury else SanctionStep.NONE,
        suspension_days=None,
        issued_at=now,
        sequence=sequence,
        statement_url=f"/notes/{note.id}",
        note_text=note.text if kind is DecisionKind.NOTE_SHOWN else None,
        restores=restores,
        extra={
            "note_id": note.id,
            "by_jury": note.by_jury,
            "language": note.language,
            "classification": note.classification,
        },
    )
    row.body = json.dumps(decision.to_dict(), sort_keys=True, ensure_ascii=False)
    # Logged so the platform's compliance with note decisions derives from the log too.
    uow.log.append(
        NoteDecisionIssued(
            decision_id=row.id,
            note_id=note.id,
            platform_id=content.platform_id,
            jurisdiction=note.jurisdiction,
            decision_kind=kind.value,
            apply_by=format_instant(row.apply_by),
            body_sha256=hashlib.sha256(row.body.encode()).hexdigest(),
        )
    )
    return row
