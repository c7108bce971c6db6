"""A jury's "note" sanction: the note it writes is shown by decree, not by ratings.

A juror who proposes the "note" step may write the note's text with the ballot
(:func:`clean_draft`; it is kept on the ballot row, which names no juror). When the
verdict's sanction is a note, the text of the first such ballot (in receipt order, which
is random) is published as a note marked as
the jury's, helpful by decree, and the platform is told (NOTE_SHOWN). If an appeal lifts
the sanction, the jury's note is hidden again (NOTE_HIDDEN).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import select

from isegoria.domain.decisions import DecisionKind
from isegoria.domain.note_events import NoteStatusChanged, NoteWritten
from isegoria.domain.notes import Classification, NoteStatus
from isegoria.domain.sanctions import SanctionStep
from isegoria.errors import InvalidInput
from isegoria.notes.decisions import issue_note_decision
from isegoria.store.models_cases import Case, CaseBallot, Content, Jury
from isegoria.store.models_notes import NoteRow, NoteStatusHistoryRow
from isegoria.unit_of_work import UnitOfWork

#: The same bound as a citizen's note (isegoria.domain.notes.MAX_NOTE_LENGTH).
MAX_JURY_NOTE: Final = 1000
FALLBACK: Final = (
    "A citizen jury found that this post breaks rule {rule} (version {version}) of {where}. "
    "The statement of reasons is at /cases/{case}."
)


def clean_draft(sanction: str | None, text: str | None) -> str | None:
    """The note a juror wrote with a ballot proposing the "note" sanction, checked."""
    if text is None or not text.strip():
        return None
    if sanction != SanctionStep.NOTE.value:
        raise InvalidInput("a note text goes with the sanction 'note' only", field="note_text")
    if len(text.strip()) > MAX_JURY_NOTE:
        raise InvalidInput(
            "a note is at most %(max)s characters", field="note_text", max=MAX_JURY_NOTE
        )
    return text.strip()


def _jury_text(uow: UnitOfWork, case: Case, stage: str) -> str:
    text = uow.session.scalars(
        select(CaseBallot.note_text)
        .join(Jury, Jury.id == CaseBallot.jury_id)
        .where(
            Jury.case_id == case.id,
            Jury.stage == stage,
            CaseBallot.sanction == SanctionStep.NOTE.value,
            CaseBallot.note_text.is_not(None),
        )
        .order_by(CaseBallot.receipt)
    ).first()
    return text or FALLBACK.format(
        rule=case.rule_id, version=case.rule_version, where=case.jurisdiction, case=case.id
    )


def after_verdict(
    uow: UnitOfWork, case: Case, content: Content, stage: str, step: SanctionStep, kinds: list[str]
) -> NoteRow | None:
    """Publish the jury's note, or hide it after an appeal; ``kinds``: decisions issued."""
    if step is not SanctionStep.NOTE:
        # Only a lifted sanction can hide the jury's note: every other verdict (nearly all of
        # them) is done here without looking for one.
        if DecisionKind.SANCTION_LIFTED.value not in kinds:
            return None
        existing = uow.session.scalars(
            select(NoteRow).where(NoteRow.case_id == case.id, NoteRow.by_jury.is_(True))
        ).first()
        if existing is not None and existing.status == NoteStatus.HELPFUL.value:
            _set_status(uow, existing, NoteStatus.NEEDS_MORE_RATINGS)
            issue_note_decision(uow, existing, content, DecisionKind.NOTE_HIDDEN)
        return None
    if DecisionKind.SANCTION_IMPOSED.value not in kinds:
        return None
    note = NoteRow(
        content_id=content.id,
        author_account_id=None,
        case_id=case.id,
        by_jury=True,
        jurisdiction=case.jurisdiction,
        classification=Classification.MISLEADING.value,
        reasons="[]",
        text=_jury_text(uow, case, stage),
        language=content.language,
        created_at=uow.now(),
        status=NoteStatus.NEEDS_MORE_RATINGS.value,
        scored_ratings=0,
    )
    uow.session.add(note)
    uow.session.flush()
    uow.log.append(
        NoteWritten(
            note_id=note.id,
            content_id=content.id,
            jurisdiction=note.jurisdiction,
            classification=note.classification,
            language=note.language,
            by_jury=True,
            case_id=case.id,
        )
    )
    _set_status(uow, note, NoteStatus.HELPFUL)
    issue_note_decision(uow, note, content, DecisionKind.NOTE_SHOWN)
    return note


def _set_status(uow: UnitOfWork, note: NoteRow, status: NoteStatus) -> None:
    """Change a jury note's status by decree, with its history row and log entry."""
    previous, now = note.status, uow.now()
    note.status, note.status_changed_at = status.value, now
    uow.session.add(
        NoteStatusHistoryRow(
            note_id=note.id, previous=previous, status=status.value, changed_at=now, run_id=None
        )
    )
    uow.log.append(
        NoteStatusChanged(
            note_id=note.id,
            content_id=note.content_id,
            jurisdiction=note.jurisdiction,
            previous=previous,
            status=status.value,
            run=None,
        )
    )
