"""What the API, the pages and the CLI show of proposals and votes (read-only views)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from isegoria.domain.constitution import ProposalKind
from isegoria.domain.rulebook import RuleVersion
from isegoria.domain.tally import TallyResult
from isegoria.law.proposals import RuleDraft, check_draft, get_proposal
from isegoria.law.read import (
    DiffLine,
    diff_lines,
    latest_constitution,
    rule_version,
    version_as_text,
)
from isegoria.law.votes import current_choice, result_of
from isegoria.store.models import (
    Account,
    Ballot,
    Elector,
    Proposal,
    ProposalComment,
    ProposalRevision,
)
from isegoria.unit_of_work import UnitOfWork

#: Most proposals listed at once.
MAX_PROPOSALS_LISTED = 200


@dataclass(frozen=True)
class CommentView:
    """A comment with its author's public display name."""

    author: str
    created_at: datetime
    body: str


@dataclass(frozen=True)
class ProposalView:
    """Everything public about one proposal."""

    proposal: Proposal
    revisions: list[ProposalRevision]
    comments: list[CommentView]
    content: dict[str, Any]
    base: RuleVersion | None
    draft: RuleVersion | None
    diff: list[DiffLine]
    result: TallyResult | None

    @property
    def title(self) -> str:
        """The newest title."""
        return self.revisions[-1].title

    @property
    def rationale(self) -> str:
        """The newest rationale."""
        return self.revisions[-1].rationale


def _constitution_diff(uow: UnitOfWork, code: str, changes: dict[str, Any]) -> list[DiffLine]:
    current = latest_constitution(uow, code).constitution.to_dict()
    old = "\n".join(f"{k}: {json.dumps(current[k])}" for k in sorted(current))
    new_params = {**current, **changes}
    new = "\n".join(f"{k}: {json.dumps(new_params[k])}" for k in sorted(new_params))
    return diff_lines(old, new, "constitution in force", "proposed")


def proposal_view(uow: UnitOfWork, proposal_id: int) -> ProposalView:
    """The proposal with its revisions, comments, diff against the base text and result."""
    proposal = get_proposal(uow, proposal_id)
    revisions = list(
        uow.session.scalars(
            select(ProposalRevision)
            .where(ProposalRevision.proposal_id == proposal_id)
            .order_by(ProposalRevision.number)
        )
    )
    comments = [
        CommentView(name, c.created_at, c.body)
        for c, name in uow.session.execute(
            select(ProposalComment, Account.display_name)
            .join(Account, Account.id == ProposalComment.author_id)
            .where(ProposalComment.proposal_id == proposal_id)
            .order_by(ProposalComment.id)
        ).all()
    ]
    content: dict[str, Any] = json.loads(revisions[-1].content)
    kind = ProposalKind(proposal.kind)
    base = None
    if proposal.rule_id and proposal.base_version:
        base = rule_version(uow, proposal.rule_id, proposal.base_version)
    draft = None
    if "rule" in content:
        draft = check_draft(RuleDraft(**content["rule"]), proposal.jurisdiction_code)
    if kind is ProposalKind.CONSTITUTION:
        diff = _constitution_diff(uow, proposal.jurisdiction_code, content["changes"])
    else:
        diff = diff_lines(version_as_text(base), version_as_text(draft), "in force", "proposed")
    return ProposalView(
        proposal, revisions, comments, content, base, draft, diff, result_of(proposal)
    )


def list_proposals(
    uow: UnitOfWork,
    *,
    jurisdiction: str | None = None,
    status: str | None = None,
    proposer: int | None = None,
) -> list[tuple[Proposal, str]]:
    """Proposals, newest first, with their newest title (``proposer``: one citizen's)."""
    query = select(Proposal).order_by(Proposal.id.desc()).limit(MAX_PROPOSALS_LISTED)
    if proposer is not None:
        query = query.where(Proposal.proposer_id == proposer)
    if jurisdiction is not None:
        query = query.where(Proposal.jurisdiction_code == jurisdiction)
    if status is not None:
        query = query.where(Proposal.status == status)
    proposals = list(uow.session.scalars(query))
    titles: dict[int, str] = {}
    if proposals:
        for pid, title in uow.session.execute(
            select(ProposalRevision.proposal_id, ProposalRevision.title)
            .where(ProposalRevision.proposal_id.in_([p.id for p in proposals]))
            .order_by(ProposalRevision.number)
        ).all():
            titles[pid] = title
    return [(p, titles.get(p.id, "")) for p in proposals]


@dataclass(frozen=True)
class MyVote:
    """A proposal I could vote on: whether I voted, and my choice while voting is open."""

    proposal: Proposal
    title: str
    has_voted: bool
    choice: str | None


def my_votes(uow: UnitOfWork, account_id: int) -> list[MyVote]:
    """The proposals I was an elector of, newest first (my choice only while open)."""
    rows = uow.session.execute(
        select(Elector, Proposal)
        .join(Proposal, Proposal.id == Elector.proposal_id)
        .where(Elector.account_id == account_id)
        .order_by(Proposal.id.desc())
        .limit(MAX_PROPOSALS_LISTED)
    ).all()
    out = []
    for elector, proposal in rows:
        title = uow.session.scalars(
            select(ProposalRevision.title)
            .where(ProposalRevision.proposal_id == proposal.id)
            .order_by(ProposalRevision.number.desc())
            .limit(1)
        ).first()
        choice = (
            current_choice(uow, account_id=account_id, proposal_id=proposal.id)
            if elector.ballot_id
            else None
        )
        out.append(MyVote(proposal, title or "", elector.has_voted, choice))
    return out


@dataclass(frozen=True)
class ReceiptCheck:
    """Where a receipt was found: its proposal, the choice counted, the tally's log entry."""

    proposal_id: int
    choice: str
    counted: bool
    tally_log_index: int | None


def check_receipt(uow: UnitOfWork, receipt: str) -> ReceiptCheck | None:
    """Find a ballot by its receipt hash (public: the pair is published at the tally)."""
    row = uow.session.execute(
        select(Ballot, Proposal)
        .join(Proposal, Proposal.id == Ballot.proposal_id)
        .where(Ballot.receipt == receipt.strip().lower())
    ).first()
    if row is None:
        return None
    ballot, proposal = row
    counted = proposal.tallied_at is not None
    # Before the count the choice stays private to whoever holds the receipt's inputs.
    return ReceiptCheck(
        proposal.id, ballot.choice if counted else "", counted, proposal.tally_log_index
    )
