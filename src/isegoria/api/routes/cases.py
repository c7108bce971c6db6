"""Cases: platforms report and confirm; citizens serve, vote, answer and appeal; all can read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from isegoria.api.schemas_cases import (
    BallotIn,
    BallotReceiptOut,
    BatchReportFiledOut,
    CaseFileOut,
    CaseOut,
    CaseSummaryOut,
    ConfirmationIn,
    DecisionOut,
    JuryDrawOut,
    LinkCodeIn,
    LinkCodeOut,
    LinkedOut,
    RedeemIn,
    ReplyIn,
    ReportBatchFiledOut,
    ReportBatchIn,
    ReportFiledOut,
    ReportIn,
    SummonsOut,
    TextIn,
)
from isegoria.cases import appeal as cases_appeal
from isegoria.cases import ballots as cases_ballots
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.cases import views as cases_views
from isegoria.cases.common import get_case as get_case_row
from isegoria.decisions import lifecycle as cases_decisions
from isegoria.domain.content import ContentSnapshot, Media, ReportRequest
from isegoria.domain.identity import Role, Scope
from isegoria.errors import NotFound
from isegoria.http.access import PUBLIC, access, people, platform_key
from isegoria.http.deps import PrincipalDep, PublicAnswerDep, UnitOfWorkDep
from isegoria.http.ratelimit import Limiter, get_rules
from isegoria.store.models_cases import Case, DecisionRow
from isegoria.unit_of_work import UnitOfWork

router = APIRouter(tags=["cases"])

CaseId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Case number")]
CITIZEN = people(Role.CITIZEN)


def _summary(case: Case) -> CaseSummaryOut:
    return CaseSummaryOut(
        id=case.id,
        rule=f"{case.rule_id} v{case.rule_version}",
        jurisdiction=case.jurisdiction,
        status=case.status,
        stage=case.stage,
        opened_at=case.opened_at,
        outcome=case.appeal_outcome or case.outcome,
        sanction=case.appeal_sanction or case.sanction,
    )


def _person(principal: PrincipalDep) -> int:
    assert principal.account_id is not None  # noqa: S101 - guaranteed by the policy
    return principal.account_id


def _platform(principal: PrincipalDep) -> int:
    assert principal.platform is not None  # noqa: S101 - guaranteed by the policy
    return principal.platform.platform_id


def _report_request(body: ReportIn) -> ReportRequest:
    snapshot = body.content
    return ReportRequest(
        snapshot=ContentSnapshot(
            platform_content_id=snapshot.content_id,
            url=snapshot.url,
            text=snapshot.text,
            language=snapshot.language,
            author=snapshot.author,
            posted_at=snapshot.posted_at,
            jurisdictions=tuple(snapshot.jurisdictions),
            media=tuple(Media(m.sha256, m.media_type, m.description) for m in snapshot.media),
            context=dict(snapshot.context),
        ),
        rule_id=body.rule,
        rule_version=body.rule_version,
        reason=body.reason,
        source=body.source,
        reporter=body.reporter,
        excluded_accounts=tuple(body.excluded_accounts),
        interim_restriction=body.interim_restriction,
    )


@router.post(
    "/reports",
    response_model=ReportFiledOut,
    status_code=201,
    **access(platform_key(Scope.REPORTS_WRITE)),
)
def file_report(body: ReportIn, principal: PrincipalDep, uow: UnitOfWorkDep) -> ReportFiledOut:
    """Report a post under a rule; reports of the same post and rule join one case."""
    with uow.begin():
        case, report = cases_intake.file_report(
            uow, platform_id=_platform(principal), request=_report_request(body)
        )
        return ReportFiledOut(
            case_id=case.id,
            report_id=report.id,
            case_status=case.status,
            case_url=f"/cases/{case.id}",
        )


@router.post(
    "/reports/batch",
    response_model=ReportBatchFiledOut,
    status_code=201,
    **access(platform_key(Scope.REPORTS_WRITE)),
)
def file_report_batch(
    body: ReportBatchIn, request: Request, principal: PrincipalDep, uow: UnitOfWorkDep
) -> ReportBatchFiledOut:
    """File up to 100 reports at once, all or none, in one transaction; each as
    ``POST /reports`` would, in order (reports of the same post and rule join one case)."""
    platform_id = _platform(principal)
    limiter: Limiter | None = getattr(request.app.state, "ratelimiter", None)
    if limiter is not None and len(body.reports) > 1:
        # The batch counts as its number of reports: the access policy spent one call.
        rule = get_rules(request).api_platform
        limiter.limit(f"platform:{platform_id}", rule, cost=len(body.reports) - 1)
    requests = [_report_request(item) for item in body.reports]
    with uow.begin():
        filed = cases_intake.file_reports(uow, platform_id=platform_id, requests=requests)
        return ReportBatchFiledOut(
            reports=[
                BatchReportFiledOut(
                    case_id=f.case.id,
                    report_id=f.report.id,
                    case_status=f.case.status,
                    case_url=f"/cases/{f.case.id}",
                    case_opened=f.opened,
                )
                for f in filed
            ]
        )


@router.get("/cases", response_model=list[CaseSummaryOut], **access(PUBLIC))
async def list_cases(
    answer: PublicAnswerDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=cases_views.MAX_LIST)] = 50,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """Cases, newest first."""

    def build(uow: UnitOfWork) -> list[CaseSummaryOut]:
        cases = cases_views.list_cases(uow, status=status, limit=limit, before=before)
        return [_summary(c) for c in cases]

    return await answer(("cases", status, limit, before), build, list[CaseSummaryOut])


@router.get("/cases/{case_id}", response_model=CaseOut, **access(PUBLIC))
async def get_case(case_id: CaseId, answer: PublicAnswerDep) -> Response:
    """A case: the pseudonymised post, the rule, every logged step, the reasons."""
    return await answer(
        ("case", case_id), lambda uow: CaseOut(**cases_views.case_view(uow, case_id)), CaseOut
    )


@router.get("/cases/{case_id}/juries/{stage}", response_model=JuryDrawOut, **access(PUBLIC))
async def jury_draw(
    case_id: CaseId,
    stage: Annotated[str, Path(pattern="^(first|appeal|retrial)$")],
    answer: PublicAnswerDep,
) -> Response:
    """The public inputs and result of a jury draw, to re-run it (`isegoria jury verify`)."""

    def build(uow: UnitOfWork) -> JuryDrawOut:
        record = cases_views.draw_record(uow, case_id, stage)
        if record is None:
            raise NotFound(
                "case %(case_id)s has no %(stage)s jury yet",
                field="stage",
                case_id=case_id,
                stage=stage,
            )
        return JuryDrawOut(**record)

    return await answer(("draw", case_id, stage), build, JuryDrawOut)


@router.get("/jury/summons", response_model=list[SummonsOut], **access(CITIZEN))
def my_summons(principal: PrincipalDep, uow: UnitOfWorkDep) -> list[SummonsOut]:
    """My jury seats."""
    with uow.begin(readonly=True):
        return [SummonsOut(**s) for s in cases_views.summons_for(uow, _person(principal))]


@router.post("/cases/{case_id}/reply", response_model=SummonsOut, **access(CITIZEN))
def reply(
    case_id: CaseId, body: ReplyIn, principal: PrincipalDep, uow: UnitOfWorkDep
) -> SummonsOut:
    """Accept or decline my summons."""
    with uow.begin():
        cases_jury.reply(uow, account_id=_person(principal), case_id=case_id, accept=body.accept)
        seats = cases_views.summons_for(uow, _person(principal))
    return SummonsOut(**next(s for s in seats if s["case_id"] == case_id))


@router.get("/cases/{case_id}/file", response_model=CaseFileOut, **access(CITIZEN))
def case_file(case_id: CaseId, principal: PrincipalDep, uow: UnitOfWorkDep) -> CaseFileOut:
    """The case file, for a juror who accepted."""
    with uow.begin(readonly=True):
        return CaseFileOut(**cases_views.case_file(uow, _person(principal), case_id))


@router.post("/cases/{case_id}/ballot", response_model=BallotReceiptOut, **access(CITIZEN))
def cast_ballot(
    case_id: CaseId, body: BallotIn, principal: PrincipalDep, uow: UnitOfWorkDep
) -> BallotReceiptOut:
    """Cast my sealed ballot (once; nobody sees it before the jury closes); keep the receipt."""
    with uow.begin():
        receipt = cases_ballots.cast_ballot(
            uow,
            account_id=_person(principal),
            case_id=case_id,
            violation=body.violation,
            sanction=body.sanction.value if body.sanction else None,
            suspension_days=body.suspension_days,
            reason=body.reason,
            note_text=body.note_text,
        )
    return BallotReceiptOut(
        case_id=receipt.case_id,
        ballot_id=receipt.ballot_id,
        nonce=receipt.nonce,
        receipt=receipt.receipt,
        vote=receipt.vote,
    )


@router.post("/cases/{case_id}/statement", status_code=204, **access(CITIZEN))
def author_statement(
    case_id: CaseId, body: TextIn, principal: PrincipalDep, uow: UnitOfWorkDep
) -> None:
    """The author answers the report."""
    with uow.begin():
        cases_appeal.submit_statement(
            uow, account_id=_person(principal), case_id=case_id, text=body.text
        )


@router.post(
    "/cases/{case_id}/appeal", status_code=201, response_model=CaseSummaryOut, **access(CITIZEN)
)
def appeal(
    case_id: CaseId, body: TextIn, principal: PrincipalDep, uow: UnitOfWorkDep
) -> CaseSummaryOut:
    """Appeal a decision to a new, larger jury (once, within the window)."""
    with uow.begin():
        cases_appeal.file_appeal(
            uow, account_id=_person(principal), case_id=case_id, statement=body.text
        )
        return _summary(get_case_row(uow, case_id))


@router.post("/me/links", response_model=LinkedOut, status_code=201, **access(CITIZEN))
def link_account(body: RedeemIn, principal: PrincipalDep, uow: UnitOfWorkDep) -> LinkedOut:
    """Link my account on a platform, with the code it gave me."""
    with uow.begin():
        identity = cases_appeal.redeem_link_code(uow, account_id=_person(principal), code=body.code)
        return LinkedOut(platform_id=identity.platform_id, pseudonym=identity.pseudonym)


@router.post(
    "/platform/link-codes",
    response_model=LinkCodeOut,
    status_code=201,
    **access(platform_key(Scope.REPORTS_WRITE)),
)
def link_code(body: LinkCodeIn, principal: PrincipalDep, uow: UnitOfWorkDep) -> LinkCodeOut:
    """A one-time code for one of the platform's users to link their account here."""
    with uow.begin():
        code = cases_appeal.issue_link_code(
            uow, platform_id=_platform(principal), pseudonym=body.pseudonym
        )
    return LinkCodeOut(
        code=code, expires_in_seconds=int(cases_appeal.LINK_CODE_LIFETIME.total_seconds())
    )


def _decision_out(row: DecisionRow) -> DecisionOut:
    import json

    return DecisionOut(
        id=row.id,
        kind=row.kind,
        case_id=row.case_id,
        content_id=row.platform_content_id,
        sequence=row.sequence,
        issued_at=row.issued_at,
        apply_by=row.apply_by,
        status=row.status,
        body=json.loads(row.body),
    )


@router.get(
    "/platform/decisions",
    response_model=list[DecisionOut],
    **access(platform_key(Scope.CASES_READ)),
)
def pending_decisions(
    principal: PrincipalDep,
    uow: UnitOfWorkDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DecisionOut]:
    """Decisions this platform has not confirmed yet, oldest first."""
    with uow.begin(readonly=True):
        return [
            _decision_out(r) for r in cases_decisions.pending_for(uow, _platform(principal), limit)
        ]


@router.post(
    "/platform/decisions/{decision_id}/confirmation",
    response_model=DecisionOut,
    **access(platform_key(Scope.DECISIONS_CONFIRM)),
)
def confirm_decision(
    decision_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: ConfirmationIn,
    principal: PrincipalDep,
    uow: UnitOfWorkDep,
) -> DecisionOut:
    """Tell the citizens whether the platform applied a decision."""
    with uow.begin():
        row = cases_decisions.confirm(
            uow,
            platform_id=_platform(principal),
            decision_id=decision_id,
            applied=body.status == "applied",
            reason=body.reason,
        )
        return _decision_out(row)
