"""The law: rulebooks, rules and their versions, constitutions, proposals and votes.

Reading the law is public. Proposing, revising, commenting and voting are for citizens of
the jurisdiction. No route creates, changes or deletes a rule: only the tally of a vote does.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from isegoria.api.law_schemas import (
    CommentIn,
    CommentOut,
    ConstitutionOut,
    DiffOut,
    MyVoteOut,
    ProposalIn,
    ProposalOut,
    ReceiptCheckOut,
    ReceiptOut,
    RevisionIn,
    RevisionOut,
    RulebookOut,
    RuleOut,
    RuleVersionOut,
    TallyOut,
    VoteIn,
)
from isegoria.domain.identity import Role
from isegoria.errors import InvalidInput, NotFound
from isegoria.http.access import PUBLIC, access, people
from isegoria.http.deps import PrincipalDep, UnitOfWorkDep
from isegoria.law import proposals as law_proposals
from isegoria.law import read as law_read
from isegoria.law import views as law_views
from isegoria.law import votes as law_votes
from isegoria.law.read import diff_lines, diff_text, version_as_text

router = APIRouter(tags=["law"])
CITIZEN = people(Role.CITIZEN)

CodePath = Path(min_length=1, max_length=32, description="Jurisdiction code, e.g. MX")
RulePath = Path(min_length=1, max_length=64, description="Rule id, e.g. MX-3")
#: Largest id a 32-bit INTEGER column holds (SQLite and PostgreSQL ``integer``).
MAX_ID = 2**31 - 1
ProposalId = Annotated[int, Path(ge=1, le=MAX_ID, description="Proposal number")]
AtQuery = Query(default=None, description="The instant (ISO 8601 with a timezone); default now")


def _aware(at: datetime | None, uow_now: datetime) -> datetime:
    if at is None:
        return uow_now
    if at.tzinfo is None:
        raise InvalidInput("`at` needs a timezone, e.g. 2026-03-01T00:00:00Z", field="at")
    return at


@router.get("/rulebook/{code}", response_model=RulebookOut, **access(PUBLIC))
def rulebook(
    uow: UnitOfWorkDep, code: str = CodePath, at: datetime | None = AtQuery
) -> RulebookOut:
    """The law as it stood in a jurisdiction at an instant: its rules, then its parents'."""
    with uow.begin(readonly=True):
        moment = _aware(at, uow.now())
        versions = law_read.in_force(uow, code, moment)
    return RulebookOut(jurisdiction=code, at=moment, rules=[RuleVersionOut.of(v) for v in versions])


@router.get("/rules/{rule_id}", response_model=RuleOut, **access(PUBLIC))
def rule(uow: UnitOfWorkDep, rule_id: str = RulePath) -> RuleOut:
    """A rule and all its versions."""
    with uow.begin(readonly=True):
        history = law_read.rule_history(uow, rule_id)
    return RuleOut(
        rule_id=rule_id,
        jurisdiction=history[0].jurisdiction,
        versions=[RuleVersionOut.of(v) for v in history],
    )


@router.get("/rules/{rule_id}/diff", response_model=DiffOut, **access(PUBLIC))
def rule_diff(
    uow: UnitOfWorkDep,
    rule_id: str = RulePath,
    from_version: Annotated[int, Query(alias="from", ge=1, le=MAX_ID)] = 1,
    to_version: Annotated[int, Query(alias="to", ge=1, le=MAX_ID)] = 2,
) -> DiffOut:
    """A unified diff between two versions of a rule."""
    with uow.begin(readonly=True):
        old = law_read.rule_version(uow, rule_id, from_version)
        new = law_read.rule_version(uow, rule_id, to_version)
    lines = diff_lines(version_as_text(old), version_as_text(new), old.label, new.label)
    return DiffOut(
        rule_id=rule_id, from_version=from_version, to_version=to_version, diff=diff_text(lines)
    )


@router.get("/constitutions/{code}", response_model=ConstitutionOut, **access(PUBLIC))
def constitution(
    uow: UnitOfWorkDep, code: str = CodePath, at: datetime | None = AtQuery
) -> ConstitutionOut:
    """A jurisdiction's constitution in force at an instant (default now)."""
    with uow.begin(readonly=True):
        found = law_read.constitution_at(uow, code, _aware(at, uow.now()))
    return ConstitutionOut(
        jurisdiction=code,
        version=found.version,
        effective_from=found.effective_from,
        proposal_id=found.proposal_id,
        constitution=found.constitution.to_dict(),
    )


def _proposal_out(view: law_views.ProposalView) -> ProposalOut:
    p, result = view.proposal, view.result
    tally = None
    if result is not None:
        tally = TallyOut(
            yes=result.yes,
            no=result.no,
            abstain=result.abstain,
            electorate_size=result.electorate_size,
            quorum=str(result.quorum),
            quorum_met=result.quorum_met,
            threshold=result.threshold.to_dict(),
            threshold_met=result.threshold_met,
            adopted=result.adopted,
            log_index=p.tally_log_index,
        )
    return ProposalOut(
        id=p.id,
        jurisdiction=p.jurisdiction_code,
        kind=p.kind,
        status=p.status,
        title=view.title,
        rule_id=p.rule_id,
        base_version=p.base_version,
        created_at=p.created_at,
        voting_opens_at=p.voting_opens_at,
        voting_closes_at=p.voting_closes_at,
        effective_at=p.effective_at,
        result_version=p.result_version,
        diff=diff_text(view.diff),
        revisions=[
            RevisionOut(
                number=r.number,
                created_at=r.created_at,
                title=r.title,
                rationale=r.rationale,
                content=json.loads(r.content),
            )
            for r in view.revisions
        ],
        comments=[
            CommentOut(author=c.author, created_at=c.created_at, body=c.body) for c in view.comments
        ],
        tally=tally,
    )


@router.get("/proposals", response_model=list[ProposalOut], **access(PUBLIC))
def list_proposals(
    uow: UnitOfWorkDep,
    jurisdiction: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> list[ProposalOut]:
    """Proposals, newest first, optionally of one jurisdiction or status."""
    with uow.begin(readonly=True):
        rows = law_views.list_proposals(uow, jurisdiction=jurisdiction, status=status)
        return [
            ProposalOut(
                id=p.id,
                jurisdiction=p.jurisdiction_code,
                kind=p.kind,
                status=p.status,
                title=title,
                rule_id=p.rule_id,
                base_version=p.base_version,
                created_at=p.created_at,
                voting_opens_at=p.voting_opens_at,
                voting_closes_at=p.voting_closes_at,
                effective_at=p.effective_at,
                result_version=p.result_version,
            )
            for p, title in rows
        ]


@router.get("/proposals/{proposal_id}", response_model=ProposalOut, **access(PUBLIC))
def get_proposal(uow: UnitOfWorkDep, proposal_id: ProposalId) -> ProposalOut:
    """A proposal with its diff, revisions, comments and, after the close, its tally."""
    with uow.begin(readonly=True):
        return _proposal_out(law_views.proposal_view(uow, proposal_id))


@router.post("/proposals", response_model=ProposalOut, status_code=201, **access(CITIZEN))
def propose(body: ProposalIn, principal: PrincipalDep, uow: UnitOfWorkDep) -> ProposalOut:
    """Propose to enact, amend or repeal a rule, or to change the constitution."""
    assert principal.account_id is not None  # noqa: S101 - the policy admits citizens only
    with uow.begin():
        created = law_proposals.propose(
            uow,
            account_id=principal.account_id,
            jurisdiction=body.jurisdiction,
            kind=body.kind,
            title=body.title,
            rationale=body.rationale,
            rule_id=body.rule_id,
            draft=body.rule.draft() if body.rule else None,
            changes=body.changes,
            effective_at=body.effective_at,
        )
        return _proposal_out(law_views.proposal_view(uow, created.id))


@router.post(
    "/proposals/{proposal_id}/revisions",
    response_model=ProposalOut,
    status_code=201,
    **access(CITIZEN),
)
def revise(
    proposal_id: ProposalId, body: RevisionIn, principal: PrincipalDep, uow: UnitOfWorkDep
) -> ProposalOut:
    """The proposer's new text, during deliberation (every revision is kept)."""
    assert principal.account_id is not None  # noqa: S101
    with uow.begin():
        law_proposals.revise(
            uow,
            account_id=principal.account_id,
            proposal_id=proposal_id,
            title=body.title,
            rationale=body.rationale,
            draft=body.rule.draft() if body.rule else None,
            changes=body.changes,
        )
        return _proposal_out(law_views.proposal_view(uow, proposal_id))


@router.post(
    "/proposals/{proposal_id}/comments",
    response_model=CommentOut,
    status_code=201,
    **access(CITIZEN),
)
def comment(
    proposal_id: ProposalId, body: CommentIn, principal: PrincipalDep, uow: UnitOfWorkDep
) -> CommentOut:
    """Comment on a proposal (citizens of its jurisdiction)."""
    assert principal.account_id is not None  # noqa: S101
    with uow.begin():
        row = law_proposals.comment(
            uow, account_id=principal.account_id, proposal_id=proposal_id, body=body.body
        )
        return CommentOut(
            author=principal.display_name or "", created_at=row.created_at, body=row.body
        )


@router.post(
    "/proposals/{proposal_id}/vote", response_model=ReceiptOut, status_code=201, **access(CITIZEN)
)
def vote(
    proposal_id: ProposalId, body: VoteIn, principal: PrincipalDep, uow: UnitOfWorkDep
) -> ReceiptOut:
    """Vote yes, no or abstain, or change your vote; the receipt is shown only this once."""
    assert principal.account_id is not None  # noqa: S101
    with uow.begin():
        receipt = law_votes.cast_vote(
            uow,
            account_id=principal.account_id,
            proposal_id=proposal_id,
            choice=body.choice,
            change=body.change,
        )
    return ReceiptOut(
        proposal_id=receipt.proposal_id,
        ballot_id=receipt.ballot_id,
        choice=receipt.choice,
        nonce=receipt.nonce,
        receipt=receipt.receipt,
    )


@router.get("/me/votes", response_model=list[MyVoteOut], **access(CITIZEN))
def my_votes(principal: PrincipalDep, uow: UnitOfWorkDep) -> list[MyVoteOut]:
    """The votes I may cast or have cast; my choice is shown only while voting is open."""
    assert principal.account_id is not None  # noqa: S101
    with uow.begin(readonly=True):
        return [
            MyVoteOut(
                proposal_id=v.proposal.id,
                title=v.title,
                status=v.proposal.status,
                has_voted=v.has_voted,
                choice=v.choice,
            )
            for v in law_views.my_votes(uow, principal.account_id)
        ]


@router.get("/receipts/{receipt}", response_model=ReceiptCheckOut, **access(PUBLIC))
def check_receipt(
    uow: UnitOfWorkDep,
    receipt: Annotated[str, Path(min_length=64, max_length=64, pattern="^[0-9a-fA-F]{64}$")],
) -> ReceiptCheckOut:
    """Find a ballot by its receipt: whether it was counted, and as what."""
    with uow.begin(readonly=True):
        found = law_views.check_receipt(uow, receipt)
    if found is None:
        raise NotFound("no ballot has this receipt; check that you copied all 64 characters")
    return ReceiptCheckOut(
        proposal_id=found.proposal_id,
        counted=found.counted,
        choice=found.choice or None,
        tally_log_index=found.tally_log_index,
    )
