"""Authors and reporters: linking a platform account, answering a case, appealing.

Who may appeal and how far an appeal can go: see ``isegoria.domain.appeals``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select

from isegoria.cases.common import APPEAL, get_case
from isegoria.cases.intake import JOB_DRAW_JURY
from isegoria.domain.appeals import Appellant, limit_appeal
from isegoria.domain.case_events import AppealFiled
from isegoria.domain.constitution import Constitution
from isegoria.domain.sanctions import Sanction, SanctionStep
from isegoria.domain.states import CaseStatus
from isegoria.domain.verdict import Outcome, Verdict
from isegoria.errors import Conflict, Forbidden, InvalidInput
from isegoria.jobs import queue as jobs
from isegoria.security import token_digest
from isegoria.store.models_cases import (
    Appeal,
    AuthorStatement,
    Case,
    LinkCode,
    PlatformIdentity,
    Report,
)
from isegoria.unit_of_work import UnitOfWork

LINK_CODE_LIFETIME = timedelta(hours=1)
LINK_CODE_BYTES = 6  # 12 hex characters: typed by a person, valid for an hour, used once
MAX_STATEMENT = 8000


def issue_link_code(uow: UnitOfWork, *, platform_id: int, pseudonym: str) -> str:
    """A one-time code the platform shows its user so they can link their account here."""
    if not 0 < len(pseudonym) <= 256:
        raise InvalidInput("the pseudonym is 1 to 256 characters", field="pseudonym")
    code = secrets.token_hex(LINK_CODE_BYTES)
    uow.session.add(
        LinkCode(
            code_hash=token_digest(code),
            platform_id=platform_id,
            pseudonym=pseudonym,
            expires_at=uow.now() + LINK_CODE_LIFETIME,
        )
    )
    return code


def redeem_link_code(uow: UnitOfWork, *, account_id: int, code: str) -> PlatformIdentity:
    """Link the caller to the platform account the code was issued for."""
    row = uow.session.get(LinkCode, token_digest(code.strip().lower()))
    if row is None or row.expires_at <= uow.now():
        raise InvalidInput(
            "this code is unknown or has expired; ask the platform for a new one", field="code"
        )
    uow.session.execute(delete(LinkCode).where(LinkCode.code_hash == row.code_hash))
    existing = uow.session.get(PlatformIdentity, (row.platform_id, row.pseudonym))
    if existing is not None:
        if existing.account_id != account_id:
            raise Conflict("that platform account is linked to another person already")
        return existing
    identity = PlatformIdentity(
        platform_id=row.platform_id,
        pseudonym=row.pseudonym,
        account_id=account_id,
        linked_at=uow.now(),
    )
    uow.session.add(identity)
    uow.session.flush()
    return identity


def linked_pseudonyms(uow: UnitOfWork, account_id: int) -> list[tuple[int, str]]:
    """The (platform, pseudonym) accounts a citizen linked."""
    return [
        (p.platform_id, p.pseudonym)
        for p in uow.session.scalars(
            select(PlatformIdentity).where(PlatformIdentity.account_id == account_id)
        )
    ]


def is_author(uow: UnitOfWork, account_id: int, case: Case) -> bool:
    """Whether the caller linked the account that wrote the post."""
    return (case.platform_id, case.author) in linked_pseudonyms(uow, account_id)


def is_reporter(uow: UnitOfWork, account_id: int, case: Case) -> bool:
    """Whether the caller filed, or linked the account that filed, a report in the case."""
    linked = {
        p for platform, p in linked_pseudonyms(uow, account_id) if platform == case.platform_id
    }
    for report in uow.session.scalars(select(Report).where(Report.case_id == case.id)):
        if report.reporter_account_id == account_id or (report.reporter in linked):
            return True
    return False


def cases_about_me(uow: UnitOfWork, account_id: int) -> list[Case]:
    """Cases about posts written by the caller's linked accounts, newest first."""
    pairs = linked_pseudonyms(uow, account_id)
    found: list[Case] = []
    for platform_id, pseudonym in pairs:
        found.extend(
            uow.session.scalars(
                select(Case).where(Case.platform_id == platform_id, Case.author == pseudonym)
            )
        )
    return sorted(found, key=lambda c: c.id, reverse=True)


def submit_statement(uow: UnitOfWork, *, account_id: int, case_id: int, text: str) -> None:
    """The author answers the report; jurors read it before they vote."""
    case = get_case(uow, case_id)
    if not is_author(uow, account_id, case):
        raise Forbidden("only the author of the post can answer for it")
    if case.status not in (CaseStatus.OPEN, CaseStatus.APPEALED):
        raise Conflict("the jury has decided; answer in an appeal instead")
    if not text.strip() or len(text) > MAX_STATEMENT:
        raise InvalidInput(
            "a statement is 1 to %(max)s characters", field="text", max=MAX_STATEMENT
        )
    uow.session.add(
        AuthorStatement(case_id=case_id, stage=case.stage, text=text, created_at=uow.now())
    )


def appellant(uow: UnitOfWork, account_id: int, case: Case) -> Appellant:
    """The party the caller may appeal as now, or the error saying why they may not."""
    if uow.session.get(Appeal, case.id) is not None:
        raise Conflict("case %(id)s has been appealed already; an appeal is heard once", id=case.id)
    if case.status != CaseStatus.DECIDED or case.appeal_until is None:
        raise Conflict("case %(id)s has no decision that can be appealed now", id=case.id)
    if uow.now() >= case.appeal_until:
        raise Conflict(
            "the appeal window closed on %(appeal_until)s", appeal_until=case.appeal_until
        )
    if is_author(uow, account_id, case):
        if first_sanction(case).step is SanctionStep.NONE:
            if case.interim_state == "lapsed":
                raise Conflict(
                    "there is nothing to appeal: the decision took no action against "
                    "the post or its author and its interim measure lapsed"
                )
            raise Conflict(
                "there is nothing to appeal: the decision took no action against "
                "the post or its author"
            )
        return Appellant.AUTHOR
    if is_reporter(uow, account_id, case):
        if case.outcome == Outcome.VIOLATION.value:
            raise Forbidden("a reporter may appeal only when no violation was found")
        return Appellant.REPORTER
    raise Forbidden("only the author, or a reporter when no violation was found, may appeal")


def may_appeal(uow: UnitOfWork, account_id: int, case: Case) -> Appellant | None:
    """The party the caller may appeal as now, or None when they may not (for pages)."""
    try:
        return appellant(uow, account_id, case)
    except (Conflict, Forbidden):
        return None


def first_sanction(case: Case) -> Sanction:
    """The first-instance decision's sanction, the one an appeal reviews."""
    step = SanctionStep(case.sanction or SanctionStep.NONE.value)
    if step is SanctionStep.SUSPEND:
        return Sanction.suspend(case.suspension_days or 1)
    return Sanction.of(step)


def limit_on_appeal(
    uow: UnitOfWork, case: Case, verdict: Verdict, constitution: Constitution
) -> Verdict:
    """The appeal jury's verdict within the limit its appellant allows (domain.appeals)."""
    filed = uow.session.get(Appeal, case.id)
    # An appeal stage exists only once an appeal was filed; were its row ever missing, the
    # most protective reading (the author's own appeal) applies: doubt favours speech.
    who = Appellant(filed.appellant) if filed is not None else Appellant.AUTHOR
    return limit_appeal(
        verdict,
        first_outcome=Outcome(case.outcome or Outcome.NO_VIOLATION.value),
        first_sanction=first_sanction(case),
        appellants={who},
        constitution=constitution,
    )


def file_appeal(uow: UnitOfWork, *, account_id: int, case_id: int, statement: str) -> Appeal:
    """Appeal once, within the window: the author against a measure, a reporter against none."""
    case = get_case(uow, case_id, lock=True)
    party = appellant(uow, account_id, case).value
    if not statement.strip() or len(statement) > MAX_STATEMENT:
        raise InvalidInput(
            "an appeal statement is 1 to %(max)s characters", field="statement", max=MAX_STATEMENT
        )
    appeal = Appeal(
        case_id=case_id,
        appellant=party,
        account_id=account_id,
        statement=statement,
        filed_at=uow.now(),
    )
    uow.session.add(appeal)
    if party == Appellant.AUTHOR.value:
        uow.session.add(
            AuthorStatement(case_id=case_id, stage=APPEAL, text=statement, created_at=uow.now())
        )
    case.status, case.stage = CaseStatus.APPEALED, APPEAL
    appended = uow.log.append(AppealFiled(case_id=case_id, appellant=party))
    jobs.schedule(
        uow,
        JOB_DRAW_JURY,
        uow.now(),
        {"case_id": case_id, "stage": APPEAL, "after_index": appended.index},
    )
    return appeal
