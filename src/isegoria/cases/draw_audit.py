"""A jury draw re-run on the instance itself, for the auditors' page: ``isegoria jury verify``.

The evidence is gathered from the local tables and log exactly as the public API would
serve it (``views.draw_record``, the case's ``JuryDrawn`` and ``JurorsReplaced`` entries,
the signed checkpoint that seeded the lottery), then ``jury_verify.verify_draw`` re-runs
the lottery on it. A draw that does not check out is an answer, not an error: the page
shows what differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from isegoria.cases import views
from isegoria.cases.common import get_case
from isegoria.cases.jury_verify import (
    DrawEvidence,
    JuryVerificationError,
    VerifiedDraw,
    check_seat_holders,
    verify_draw,
)
from isegoria.errors import NotFound
from isegoria.log import keyring
from isegoria.log import read as log_read
from isegoria.log.entries import decode_entry
from isegoria.store.models_cases import Jury
from isegoria.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class DrawAudit:
    """A draw re-run: its public record and either what it gave or what differs."""

    case_id: int
    stage: str
    record: dict[str, Any]
    verified: VerifiedDraw | None
    problem: str | None
    seats_checked: int | None  # None: the jury closed and its pseudonym key is erased


def jury_stages(uow: UnitOfWork, case_id: int) -> list[str]:
    """The stages (first, appeal, retrial) at which this case had a jury drawn."""
    get_case(uow, case_id)
    return list(
        uow.session.scalars(select(Jury.stage).where(Jury.case_id == case_id).order_by(Jury.id))
    )


def local_evidence(uow: UnitOfWork, case_id: int, stage: str) -> DrawEvidence:
    """The public evidence of one draw, read from this instance's tables and log."""
    get_case(uow, case_id)  # "no case N" before "no jury"
    record = views.draw_record(uow, case_id, stage)
    if record is None:
        raise NotFound(
            "case %(case_id)s has no %(stage)s jury", field="stage", case_id=case_id, stage=stage
        )
    facts = [
        (e.kind, decode_entry(e.payload).facts)
        for e in log_read.entries_about(uow.session, "case", str(case_id))
        if e.kind in ("JuryDrawn", "JurorsReplaced")
    ]
    drawn = next((f for k, f in facts if k == "JuryDrawn" and f.get("stage") == stage), None)
    replaced = tuple(f for k, f in facts if k == "JurorsReplaced" and f.get("stage") == stage)
    head = log_read.checkpoint_at(uow.session, record["seed_checkpoint_size"])
    if drawn is None or head is None:
        raise JuryVerificationError("the draw's log entry or its seed checkpoint is missing")
    return DrawEvidence(case_id, stage, record, drawn, head.note, replaced)


def audit_draw(uow: UnitOfWork, case_id: int, stage: str, current_key: str) -> DrawAudit:
    """Re-run one draw from its public inputs; NotFound for a case or jury that is not there."""
    try:
        evidence = local_evidence(uow, case_id, stage)
    except JuryVerificationError as error:
        record = views.draw_record(uow, case_id, stage) or {}
        return DrawAudit(case_id, stage, record, None, str(error), None)
    # After a key rotation the seed checkpoint is signed by the key of its time.
    history = keyring.local_history(uow.session, current_key)
    keys = history.keys_for(evidence.record["seed_checkpoint_size"]) or [current_key]
    try:
        verified = verify_draw(evidence, keys[0])
        seats = check_seat_holders(uow, case_id, stage)
    except JuryVerificationError as error:
        return DrawAudit(case_id, stage, evidence.record, None, str(error), None)
    return DrawAudit(case_id, stage, evidence.record, verified, None, seats)
