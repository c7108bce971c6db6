"""Ballots: a juror casts one, sealed; the last ballot or the deadline closes the jury."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm.attributes import set_committed_value

from isegoria.cases import retrial as cases_retrial
from isegoria.cases import secrecy as cases_secrecy
from isegoria.cases.ballot_seat import ballot_seat
from isegoria.cases.common import (
    APPEAL,
    case_constitution,
    case_rule,
    get_case,
)
from isegoria.cases.secrecy import JuryReceipt
from isegoria.cases.verdict import _record_verdict, jury_verdict
from isegoria.domain.case_events import (
    BallotCast,
)
from isegoria.domain.rulebook import RuleVersion
from isegoria.domain.sanctions import Sanction, SanctionError, SanctionStep
from isegoria.domain.states import JurorStatus
from isegoria.domain.verdict import Ballot, Verdict, VerdictError, check_ballot
from isegoria.errors import Conflict, InvalidInput
from isegoria.notes import jury as notes_jury
from isegoria.store.models_cases import Case, Juror, Jury
from isegoria.unit_of_work import UnitOfWork

_JURORS = cast(Table, Juror.__table__)


_MARK_VOTED = (
    update(_JURORS).where(_JURORS.c.id == bindparam("juror_id")).values(status=JurorStatus.VOTED)
)


def cast_ballot(
    uow: UnitOfWork,
    *,
    account_id: int,
    case_id: int,
    violation: bool,
    sanction: str | None,
    suspension_days: int | None,
    reason: str,
    note_text: str | None = None,
) -> JuryReceipt:
    """Cast the caller's sealed ballot, once, before the deadline; decide when all are in.

    ``note_text``: the note the juror proposes to publish if the jury's sanction is a note.
    Returns the receipt the juror keeps to find their ballot once the jury has closed.
    """
    # Locked first: ballots on one case take turns, so exactly one of them sees the jury full.
    case = get_case(uow, case_id, lock=True)
    jury, juror, voted_before = ballot_seat(uow, account_id, case)
    if juror.status == JurorStatus.VOTED:
        raise Conflict("you have already voted on this case; a ballot cannot be changed")
    if juror.status != JurorStatus.ACCEPTED:
        raise Conflict("accept the summons before voting")
    if jury.closed or uow.now() >= jury.ballot_deadline:
        raise Conflict("the jury has closed; ballots are no longer accepted")
    rule: RuleVersion | None = None
    try:
        proposed = None
        if violation:
            if sanction is None:
                raise InvalidInput("propose a sanction when you find a violation", field="sanction")
            step = SanctionStep(sanction)
            proposed = (
                Sanction.suspend(suspension_days or 0)
                if step is SanctionStep.SUSPEND
                else Sanction.of(step)
            )
        elif sanction not in (None, SanctionStep.NONE.value):
            raise InvalidInput(
                "a ballot finding no violation proposes no sanction", field="sanction"
            )
        ballot = Ballot(violation=violation, sanction=proposed, reason=reason)
        if proposed is not None:  # the rule caps a proposed sanction; no sanction, no check
            rule = case_rule(uow, case)
            check_ballot(ballot, rule)
    except (ValueError, SanctionError, VerdictError) as error:
        if isinstance(error, InvalidInput):
            raise
        raise InvalidInput.because(error, field="ballot") from None
    sanction_cast = proposed.step.value if proposed else None
    # Core statements rather than an ORM flush: nothing here needs the ballot's row back,
    # and the juror already loaded is told its new status without a second write. The
    # ballot row names no juror: the seat says "voted", the ballot says how (cases_secrecy).
    receipt = cases_secrecy.seal_ballot(
        uow,
        account_id=account_id,
        case_id=case_id,
        jury_id=jury.id,
        violation=violation,
        sanction=sanction_cast,
        suspension_days=proposed.suspension_days if proposed else None,
        reason=reason,
        note_text=notes_jury.clean_draft(sanction_cast, note_text),
    )
    uow.session.connection().execute(_MARK_VOTED, {"juror_id": juror.id})
    set_committed_value(juror, "status", JurorStatus.VOTED)
    uow.log.append(BallotCast(case_id=case_id, stage=jury.stage, juror=juror.pseudonym))
    if voted_before + 1 == jury.size:  # this ballot is the jury's last
        close_jury(uow, jury, case=case, rule=rule)
    return receipt


def close_jury(
    uow: UnitOfWork, jury: Jury, *, case: Case | None = None, rule: RuleVersion | None = None
) -> Verdict | None:
    """Open the sealed ballots and decide (all in, or the deadline passed); idempotent.

    ``case``: the jury's case if the caller holds it locked already (the last ballot does);
    ``rule``: its rule version, if loaded. Each is read once per verdict, not once per use.
    """
    if jury.closed:
        return None
    jury.closed = True
    if case is None:
        case = get_case(uow, jury.case_id, lock=True)
    cases_secrecy.seal_jury(uow, jury, case)  # from here on no ballot leads to a juror
    if jury.stage != APPEAL:
        if cases_retrial.is_paired(uow, case.id):
            return cases_retrial.settle_pair(uow, case)  # waits for the other jury
    rule = rule or case_rule(uow, case)
    constitution = case_constitution(uow, case)
    verdict, reasons, published = jury_verdict(
        uow, case, jury, rule=rule, constitution=constitution
    )
    _record_verdict(
        uow,
        case,
        jury.stage,
        verdict,
        reasons,
        published,
        jury.size,
        rule=rule,
        constitution=constitution,
    )
    return verdict


def ballot_deadline_passed(uow: UnitOfWork, jury_id: int) -> None:
    """At the ballot deadline, the jury closes with the ballots that arrived."""
    jury = uow.session.get(Jury, jury_id)
    if jury is not None and not jury.closed:
        close_jury(uow, jury)
