"""A jury's "note" sanction publishes the jury's note, shown by decree; an appeal hides it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from isegoria.cases import appeal as cases_appeal
from isegoria.cases import ballots as cases_ballots
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.clock import ManualClock
from isegoria.errors import InvalidInput
from isegoria.log import read as log_read
from isegoria.log.entries import decode_entry
from isegoria.log.signing import LogSigner
from isegoria.notes import writing as notes
from isegoria.store.models_cases import CaseBallot, DecisionRow, Juror, Jury
from isegoria.store.models_notes import NoteRow
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, report_request, run_jobs

JURY_NOTE = "This is a threat under MX-1; the jury chose to add context rather than remove it."


@pytest.fixture
def world(uow: UnitOfWork, clock: ManualClock, signer: LogSigner) -> CasesWorld:
    return build(uow, clock, signer)


def _case(uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld) -> int:
    with uow.begin():
        case, _ = cases_intake.file_report(
            uow,
            platform_id=world.base.platform_id,
            request=report_request(uow.now() - timedelta(hours=1)),
        )
    run_jobs(uow, clock, signer)
    return case.id


def _jurors(uow: UnitOfWork, case_id: int, stage: str) -> list[int]:
    with uow.begin(readonly=True):
        return list(
            uow.session.scalars(
                select(Juror.account_id)
                .join(Jury, Jury.id == Juror.jury_id)
                .where(Jury.case_id == case_id, Jury.stage == stage)
                .order_by(Juror.pseudonym)
            )
        )


def _vote(
    uow: UnitOfWork, case_id: int, juror: int, sanction: str | None, text: str | None
) -> None:
    with uow.begin(readonly=True):
        seat = cases_jury.my_seat(uow, juror, case_id)[1]
    if seat.status == "summoned":
        with uow.begin():
            cases_jury.reply(uow, account_id=juror, case_id=case_id, accept=True)
    with uow.begin():
        cases_ballots.cast_ballot(
            uow,
            account_id=juror,
            case_id=case_id,
            violation=sanction is not None,
            sanction=sanction,
            suspension_days=None,
            reason="Reasons.",
            note_text=text,
        )


def _kinds(uow: UnitOfWork) -> list[str]:
    with uow.begin(readonly=True):
        return [
            decode_entry(e.payload).kind
            for e in log_read.entries(uow.session, 0, log_read.tree_size(uow.session))
        ]


def test_note_sanction_publishes_the_jury_note_as_shown(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _case(uow, clock, signer, world)
    jurors = _jurors(uow, case_id, "first")
    with pytest.raises(InvalidInput, match="note"):
        _vote(uow, case_id, jurors[0], "remove", JURY_NOTE)  # a note text needs "note"
    for n, juror in enumerate(jurors):
        _vote(uow, case_id, juror, "note", f"{JURY_NOTE} ({n})" if n else None)
    with uow.begin(readonly=True):
        [note] = uow.session.scalars(select(NoteRow))
        assert note.by_jury and note.case_id == case_id and note.status == "helpful"
        assert note.author_account_id is None
        # The text of the first ballot in receipt order that has one (the jurors' order
        # would tell who wrote it); juror 0 wrote none.
        first = uow.session.scalars(
            select(CaseBallot.note_text)
            .where(CaseBallot.note_text.is_not(None))
            .order_by(CaseBallot.receipt)
        ).first()
        assert note.text == first and first != JURY_NOTE and first.startswith(JURY_NOTE)
        rows = list(
            uow.session.scalars(
                select(DecisionRow).where(DecisionRow.case_id == case_id).order_by(DecisionRow.id)
            )
        )
    assert [r.kind for r in rows] == ["sanction_imposed", "note_shown"]
    shown = json.loads(rows[1].body)
    assert shown["note_text"] == note.text and shown["sanction"] == "note"
    assert shown["extra"]["by_jury"] is True and shown["statement_url"] == f"/notes/{note.id}"
    kinds = _kinds(uow)
    assert (
        kinds.index("VerdictReached")
        < kinds.index("NoteWritten")
        < kinds.index("NoteStatusChanged")
    )
    # Nobody rates a jury's note: its status is the verdict's.
    with pytest.raises(Exception, match="jury"), uow.begin():
        notes.rate_note(uow, account_id=world.voters[0], note_id=note.id, helpfulness="helpful")


def test_appeal_that_lifts_the_note_hides_it(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _case(uow, clock, signer, world)
    for juror in _jurors(uow, case_id, "first"):
        _vote(uow, case_id, juror, "note", JURY_NOTE)
    with uow.begin():
        code = cases_appeal.issue_link_code(
            uow, platform_id=world.base.platform_id, pseudonym="@troll"
        )
    author = world.volunteers[-1]
    with uow.begin():
        cases_appeal.redeem_link_code(uow, account_id=author, code=code)
    with uow.begin():
        cases_appeal.file_appeal(uow, account_id=author, case_id=case_id, statement="A quote.")
    run_jobs(uow, clock, signer)
    for juror in _jurors(uow, case_id, "appeal"):
        _vote(uow, case_id, juror, None, None)
    with uow.begin(readonly=True):
        [note] = uow.session.scalars(select(NoteRow))
        assert note.status == "needs_more_ratings"
        kinds = [
            (r.kind, json.loads(r.body)["restores"])
            for r in uow.session.scalars(
                select(DecisionRow).where(DecisionRow.case_id == case_id).order_by(DecisionRow.id)
            )
        ]
    assert [k for k, _ in kinds] == [
        "sanction_imposed",
        "note_shown",
        "sanction_lifted",
        "note_hidden",
    ]
    assert kinds[3][1] is not None
