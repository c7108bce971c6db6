"""Proposals: a citizen proposes, citizens deliberate and comment, the proposer revises.

The life of a proposal: ``deliberation`` (comments, revisions) until ``voting_opens_at``,
then ``voting`` until ``voting_closes_at``, then ``adopted`` or ``rejected``. Both
deadlines are jobs (:mod:`isegoria.jobs.queue`) scheduled when the proposal is made, so
they happen on time by themselves, across restarts.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select

from isegoria.domain.constitution import ProposalKind
from isegoria.domain.events import ProposalOpened, ProposalRevised
from isegoria.domain.identity import Role
from isegoria.domain.states import ProposalStatus
from isegoria.errors import Conflict, Forbidden, InvalidInput, NotFound
from isegoria.jobs import queue as jobs
from isegoria.law.drafts import MAX_COMMENT_LENGTH as MAX_COMMENT_LENGTH
from isegoria.law.drafts import MAX_EXAMPLE_LENGTH as MAX_EXAMPLE_LENGTH
from isegoria.law.drafts import MAX_EXAMPLES as MAX_EXAMPLES
from isegoria.law.drafts import MAX_ID as MAX_ID
from isegoria.law.drafts import MAX_RATIONALE_LENGTH as MAX_RATIONALE_LENGTH
from isegoria.law.drafts import MAX_RULE_TEXT_LENGTH as MAX_RULE_TEXT_LENGTH
from isegoria.law.drafts import MAX_TITLE_LENGTH as MAX_TITLE_LENGTH
from isegoria.law.drafts import RuleDraft as RuleDraft
from isegoria.law.drafts import _require
from isegoria.law.drafts import check_constitution_changes as check_constitution_changes
from isegoria.law.drafts import check_draft as check_draft
from isegoria.law.drafts import content_sha256 as content_sha256
from isegoria.law.read import latest_constitution, open_version, rule_history
from isegoria.log.entries import format_instant
from isegoria.people.jurisdictions import descendants, get_jurisdiction
from isegoria.store.models import (
    Account,
    Proposal,
    ProposalComment,
    ProposalRevision,
    Residence,
)
from isegoria.unit_of_work import UnitOfWork

OPEN_VOTING_JOB = "law.open_voting"
CLOSE_VOTING_JOB = "law.close_voting"


def is_citizen_of(uow: UnitOfWork, account: Account, jurisdiction: str) -> bool:
    """A citizen residing in ``jurisdiction`` or any jurisdiction within it."""
    if account.role != Role.CITIZEN.value or account.disabled:
        return False
    codes = descendants(uow, jurisdiction)
    return any(r.jurisdiction_code in codes for r in account.residences)


def require_citizen(uow: UnitOfWork, account_id: int, jurisdiction: str) -> Account:
    """The account, if it is a citizen of ``jurisdiction``; Forbidden otherwise."""
    account = uow.session.get(Account, account_id)
    if account is None or not is_citizen_of(uow, account, jurisdiction):
        raise Forbidden(
            "only citizens of %(jurisdiction)s (residents of it or of a "
            "jurisdiction within it) may do this",
            jurisdiction=jurisdiction,
        )
    return account


def electorate_query(uow: UnitOfWork, jurisdiction: str) -> Any:
    """SELECT of the distinct account ids entitled to vote in ``jurisdiction`` now."""
    codes = descendants(uow, jurisdiction)
    return (
        select(Residence.account_id)
        .join(Account, Account.id == Residence.account_id)
        .where(
            Residence.jurisdiction_code.in_(codes),
            Account.role == Role.CITIZEN.value,
            Account.disabled.is_(False),
        )
        .distinct()
    )


# Read on every vote: built once with a bound value (its cache key is computed once).
_PROPOSAL = select(Proposal).where(Proposal.id == bindparam("proposal_id"))
_PROPOSAL_LOCKED = _PROPOSAL.with_for_update()


def get_proposal(uow: UnitOfWork, proposal_id: int, *, lock: bool = False) -> Proposal:
    """The proposal, or NotFound."""
    if not 1 <= proposal_id <= MAX_ID:
        raise NotFound("there is no proposal %(proposal_id)s", proposal_id=proposal_id)
    query = _PROPOSAL_LOCKED if lock else _PROPOSAL
    proposal = uow.session.scalars(query, {"proposal_id": proposal_id}).first()
    if proposal is None:
        raise NotFound("there is no proposal %(proposal_id)s", proposal_id=proposal_id)
    return proposal


def latest_revision(uow: UnitOfWork, proposal_id: int) -> ProposalRevision:
    """The newest text of a proposal (the one put to the vote)."""
    revision = uow.session.scalars(
        select(ProposalRevision)
        .where(ProposalRevision.proposal_id == proposal_id)
        .order_by(ProposalRevision.number.desc())
        .limit(1)
    ).first()
    if revision is None:  # pragma: no cover - every proposal is created with revision 1
        raise NotFound("proposal %(proposal_id)s has no text", proposal_id=proposal_id)
    return revision


def _content(
    uow: UnitOfWork,
    kind: ProposalKind,
    jurisdiction: str,
    draft: RuleDraft | None,
    changes: dict[str, Any] | None,
) -> dict[str, Any]:
    if kind in (ProposalKind.ENACT, ProposalKind.AMEND):
        if draft is None:
            raise InvalidInput(
                "a proposal to %(value)s a rule needs the rule's text", value=kind.value
            )
        check_draft(draft, jurisdiction)
        return {"rule": asdict(draft)}
    if draft is not None:
        raise InvalidInput(
            "a proposal to %(value)s carries no rule text", field="rule", value=kind.value
        )
    if kind is ProposalKind.CONSTITUTION:
        current = latest_constitution(uow, jurisdiction).constitution
        check_constitution_changes(current, changes or {})
        return {"changes": changes}
    return {}


def propose(
    uow: UnitOfWork,
    *,
    account_id: int,
    jurisdiction: str,
    kind: ProposalKind,
    title: str,
    rationale: str,
    rule_id: str | None = None,
    draft: RuleDraft | None = None,
    changes: dict[str, Any] | None = None,
    effective_at: datetime | None = None,
) -> Proposal:
    """Open a proposal for deliberation; any citizen of the jurisdiction may."""
    get_jurisdiction(uow, jurisdiction)
    require_citizen(uow, account_id, jurisdiction)
    _require(
        0 < len(title.strip()) <= MAX_TITLE_LENGTH,
        f"a proposal title is 1 to {MAX_TITLE_LENGTH} characters",
        "title",
    )
    _require(
        0 < len(rationale.strip()) <= MAX_RATIONALE_LENGTH,
        f"a rationale is 1 to {MAX_RATIONALE_LENGTH} characters: say why the change is needed",
        "rationale",
    )
    base_version = _check_target(uow, kind, jurisdiction, rule_id)
    content = _content(uow, kind, jurisdiction, draft, changes)
    now = uow.now()
    constitution = latest_constitution(uow, jurisdiction).constitution
    opens = now + constitution.deliberation_period
    closes = opens + constitution.voting_period
    if effective_at is not None:
        if effective_at.tzinfo is None:
            raise InvalidInput("effective_at needs a timezone", field="effective_at")
        if effective_at < closes:
            raise InvalidInput(
                "a change cannot take effect before the vote closes (%(value)s): "
                "law is never retroactive",
                field="effective_at",
                value=closes,
            )
    proposal = Proposal(
        jurisdiction_code=jurisdiction,
        kind=kind.value,
        rule_id=rule_id if kind in (ProposalKind.AMEND, ProposalKind.REPEAL) else None,
        base_version=base_version,
        proposer_id=account_id,
        status=ProposalStatus.DELIBERATION.value,
        created_at=now,
        voting_opens_at=opens,
        voting_closes_at=closes,
        effective_at=effective_at,
    )
    uow.session.add(proposal)
    uow.session.flush()
    uow.session.add(
        ProposalRevision(
            proposal_id=proposal.id,
            number=1,
            created_at=now,
            title=title.strip(),
            rationale=rationale.strip(),
            content=json.dumps(content, sort_keys=True),
        )
    )
    uow.log.append(
        ProposalOpened(
            proposal_id=proposal.id,
            jurisdiction=jurisdiction,
            proposal_kind=kind.value,
            rule_id=proposal.rule_id,
            title=title.strip(),
            content_sha256=content_sha256(content),
            voting_opens_at=format_instant(opens),
            voting_closes_at=format_instant(closes),
            effective_at=None if effective_at is None else format_instant(effective_at),
        )
    )
    jobs.schedule(uow, OPEN_VOTING_JOB, opens, {"proposal": proposal.id})
    jobs.schedule(uow, CLOSE_VOTING_JOB, closes, {"proposal": proposal.id})
    return proposal


def _check_target(
    uow: UnitOfWork, kind: ProposalKind, jurisdiction: str, rule_id: str | None
) -> int | None:
    """For amend/repeal: the rule exists here, is not repealed, and has no other open bill."""
    if kind not in (ProposalKind.AMEND, ProposalKind.REPEAL):
        if rule_id is not None:
            raise InvalidInput(
                "a proposal to %(value)s names no rule", field="rule_id", value=kind.value
            )
        return None
    if not rule_id:
        raise InvalidInput("say which rule to %(value)s", field="rule_id", value=kind.value)
    history = rule_history(uow, rule_id)
    if history[0].jurisdiction != jurisdiction:
        raise InvalidInput(
            "rule %(rule_id)s is law of %(jurisdiction)s; only its citizens "
            "can change it, by a proposal there",
            field="rule_id",
            rule_id=rule_id,
            jurisdiction=history[0].jurisdiction,
        )
    current = open_version(uow, rule_id)
    if current is None:
        raise Conflict(
            "rule %(rule_id)s was repealed; propose to enact a new rule instead", rule_id=rule_id
        )
    pending = uow.session.scalar(
        select(func.count())
        .select_from(Proposal)
        .where(
            Proposal.rule_id == rule_id,
            Proposal.status.in_([ProposalStatus.DELIBERATION, ProposalStatus.VOTING]),
        )
    )
    if pending:
        raise Conflict(
            "rule %(rule_id)s already has a proposal under way; comment on "
            "it, or propose after its vote closes",
            rule_id=rule_id,
        )
    return current.version


def revise(
    uow: UnitOfWork,
    *,
    account_id: int,
    proposal_id: int,
    title: str,
    rationale: str,
    draft: RuleDraft | None = None,
    changes: dict[str, Any] | None = None,
) -> ProposalRevision:
    """The proposer's new text, during deliberation only; earlier texts stay visible."""
    proposal = get_proposal(uow, proposal_id, lock=True)
    if proposal.proposer_id != account_id:
        raise Forbidden("only the citizen who made a proposal may revise it; comment instead")
    if proposal.status != ProposalStatus.DELIBERATION or uow.now() >= proposal.voting_opens_at:
        raise Conflict(
            "proposal %(proposal_id)s can no longer be revised: deliberation ended %(value)s",
            proposal_id=proposal_id,
            value=format_instant(proposal.voting_opens_at),
        )
    _require(0 < len(title.strip()) <= MAX_TITLE_LENGTH, "a title is 1 to 200 characters", "title")
    _require(
        0 < len(rationale.strip()) <= MAX_RATIONALE_LENGTH,
        f"a rationale is 1 to {MAX_RATIONALE_LENGTH} characters",
        "rationale",
    )
    kind = ProposalKind(proposal.kind)
    content = _content(uow, kind, proposal.jurisdiction_code, draft, changes)
    number = latest_revision(uow, proposal_id).number + 1
    revision = ProposalRevision(
        proposal_id=proposal_id,
        number=number,
        created_at=uow.now(),
        title=title.strip(),
        rationale=rationale.strip(),
        content=json.dumps(content, sort_keys=True),
    )
    uow.session.add(revision)
    uow.session.flush()
    uow.log.append(
        ProposalRevised(
            proposal_id=proposal_id,
            revision=number,
            title=revision.title,
            content_sha256=content_sha256(content),
        )
    )
    return revision


def comment(uow: UnitOfWork, *, account_id: int, proposal_id: int, body: str) -> ProposalComment:
    """A citizen's comment on a proposal, until its vote closes."""
    proposal = get_proposal(uow, proposal_id)
    require_citizen(uow, account_id, proposal.jurisdiction_code)
    if proposal.status in (ProposalStatus.ADOPTED, ProposalStatus.REJECTED):
        raise Conflict(
            "proposal %(proposal_id)s is closed; comments are no longer taken",
            proposal_id=proposal_id,
        )
    _require(
        0 < len(body.strip()) <= MAX_COMMENT_LENGTH,
        f"a comment is 1 to {MAX_COMMENT_LENGTH} characters",
        "body",
    )
    row = ProposalComment(
        proposal_id=proposal_id, author_id=account_id, created_at=uow.now(), body=body.strip()
    )
    uow.session.add(row)
    uow.session.flush()
    return row
