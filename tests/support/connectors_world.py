"""Helpers for the connector tests: a jury that decides, an author who appeals."""

from __future__ import annotations

from sqlalchemy import select

from isegoria.cases import appeal as cases_appeal
from isegoria.cases import ballots as cases_ballots
from isegoria.cases import jury as cases_jury
from isegoria.cases.common import get_case
from isegoria.clock import ManualClock
from isegoria.log.signing import LogSigner
from isegoria.store.models_cases import Case, DecisionRow, Juror, Jury
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, run_jobs


def jurors(uow: UnitOfWork, case_id: int, stage: str) -> list[Juror]:
    """The seats of a case's jury at ``stage``."""
    with uow.begin(readonly=True):
        jury = uow.session.scalars(
            select(Jury).where(Jury.case_id == case_id, Jury.stage == stage)
        ).one()
        return list(uow.session.scalars(select(Juror).where(Juror.jury_id == jury.id)))


def decide(
    uow: UnitOfWork, case_id: int, stage: str, *, violation: bool, days: int | None = None
) -> None:
    """Every juror accepts and votes alike: a violation punished by suspension, or none."""
    for juror in jurors(uow, case_id, stage):
        with uow.begin():
            cases_jury.reply(uow, account_id=juror.account_id, case_id=case_id, accept=True)
        with uow.begin():
            cases_ballots.cast_ballot(
                uow,
                account_id=juror.account_id,
                case_id=case_id,
                violation=violation,
                sanction="suspend" if violation else None,
                suspension_days=days if violation else None,
                reason="A credible threat." if violation else "A quote, not a threat.",
            )


def appeal(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld, case_id: int
) -> None:
    """The author links their platform account, appeals, and the appeal jury is drawn."""
    with uow.begin(readonly=True):
        case = get_case(uow, case_id)
        platform_id, author = case.platform_id, case.author
    with uow.begin():
        code = cases_appeal.issue_link_code(uow, platform_id=platform_id, pseudonym=author)
    account = world.volunteers[-1]
    with uow.begin():
        cases_appeal.redeem_link_code(uow, account_id=account, code=code)
    with uow.begin():
        cases_appeal.file_appeal(
            uow, account_id=account, case_id=case_id, statement="I was quoting a film."
        )
    run_jobs(uow, clock, signer)


def decisions(uow: UnitOfWork, case_id: int) -> list[DecisionRow]:
    """The case's decisions, oldest first."""
    with uow.begin(readonly=True):
        return list(
            uow.session.scalars(
                select(DecisionRow).where(DecisionRow.case_id == case_id).order_by(DecisionRow.id)
            )
        )


def case(uow: UnitOfWork, case_id: int) -> Case:
    """The case row as it is now."""
    with uow.begin(readonly=True):
        return get_case(uow, case_id)
