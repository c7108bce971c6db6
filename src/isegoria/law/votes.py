"""Voting on proposals with secret ballots and verifiable receipts, and the tally.

The ballot secrecy scheme
-------------------------
* A ballot row holds a random ballot id, the choice and a receipt hash, and nothing else: no
  voter, no time. The public tally lists every ``(receipt, choice)`` pair, sorted by receipt,
  so anyone can recount and nobody learns the order in which ballots were cast; the tally
  also rewrites the proposal's rows in receipt order, so not even the order of the rows
  (SQLite's rowids, PostgreSQL's heap) tells it.
* The receipt is ``SHA-256("isegoria-ballot-v1\\n" proposal "\\n" ballot_id "\\n" choice
  "\\n" nonce)``. The voter is shown the ballot id, the nonce and the receipt once; the nonce
  is not stored, so the server could not recompute a receipt for someone else, and the voter
  can prove to themselves that the published receipt is theirs.
* While voting is open, an elector row links the voter to their ballot so that they can
  change their vote (the old ballot is deleted and a new one, with a new id and receipt,
  replaces it). The tally erases every link in the same transaction that publishes the
  count, keeping only "has voted". After the close, the database holds no link between a
  person and a ballot. (During the open window an operator with database access could read
  the links; the scheme protects the published record and the archive, not a compromised
  live server.)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, literal, select, update

from isegoria.domain.constitution import ProposalKind, required_threshold
from isegoria.domain.events import ProposalTallied, VotingOpened
from isegoria.domain.states import ProposalStatus
from isegoria.domain.tally import TallyResult, Threshold, Vote, exact_share, tally_counts
from isegoria.errors import Conflict, Forbidden, InvalidInput
from isegoria.jobs import queue as jobs
from isegoria.law.enact import apply_adopted
from isegoria.law.proposals import (
    CLOSE_VOTING_JOB,
    OPEN_VOTING_JOB,
    RuleDraft,
    check_draft,
    electorate_query,
    get_proposal,
    latest_revision,
)
from isegoria.law.read import latest_constitution, open_version
from isegoria.log.entries import format_instant
from isegoria.notifications import hooks as notification_hooks
from isegoria.store.models import Ballot, Elector, Proposal
from isegoria.unit_of_work import UnitOfWork

RECEIPT_DOMAIN = "isegoria-ballot-v1"
#: 128-bit ballot ids and nonces: unguessable, so a receipt cannot be brute-forced to a voter.
BALLOT_ID_BYTES = 16
NONCE_BYTES = 16


def receipt_for(proposal_id: int, ballot_id: str, choice: str, nonce: str) -> str:
    """The receipt hash a voter can recompute from what they were shown."""
    message = f"{RECEIPT_DOMAIN}\n{proposal_id}\n{ballot_id}\n{choice}\n{nonce}"
    return hashlib.sha256(message.encode()).hexdigest()


@dataclass(frozen=True)
class Receipt:
    """What a voter is shown once after voting: enough to find and check their ballot."""

    proposal_id: int
    ballot_id: str
    choice: str
    nonce: str
    receipt: str


def _threshold_for(uow: UnitOfWork, proposal: Proposal) -> Threshold:
    """The majority the domain requires for this proposal's newest text."""
    kind = ProposalKind(proposal.kind)
    constitution = latest_constitution(uow, proposal.jurisdiction_code).constitution
    content: dict[str, Any] = json.loads(latest_revision(uow, proposal.id).content)
    old = open_version(uow, proposal.rule_id) if proposal.rule_id else None
    new = None
    if kind in (ProposalKind.ENACT, ProposalKind.AMEND):
        new = check_draft(RuleDraft(**content["rule"]), proposal.jurisdiction_code)
        if old is not None:
            new = dataclasses.replace(new, rule_id=old.rule_id)
    return constitution.threshold(required_threshold(kind, old, new))


def open_voting(uow: UnitOfWork, proposal_id: int) -> bool:
    """End deliberation: fix the electorate, quorum and threshold; True if it opened now."""
    proposal = get_proposal(uow, proposal_id, lock=True)
    if proposal.status != ProposalStatus.DELIBERATION or uow.now() < proposal.voting_opens_at:
        return False
    constitution = latest_constitution(uow, proposal.jurisdiction_code).constitution
    threshold = _threshold_for(uow, proposal)
    voters = electorate_query(uow, proposal.jurisdiction_code).subquery()
    uow.session.execute(
        insert(Elector).from_select(
            ["proposal_id", "account_id", "has_voted"],
            select(literal(proposal.id), voters.c.account_id, literal(False)),
        )
    )
    size = int(
        uow.session.scalar(
            select(func.count()).select_from(Elector).where(Elector.proposal_id == proposal.id)
        )
        or 0
    )
    proposal.status = ProposalStatus.VOTING.value
    proposal.electorate_size = size
    proposal.quorum = str(constitution.voting_quorum)
    proposal.threshold = json.dumps(threshold.to_dict(), sort_keys=True)
    uow.session.flush()
    uow.log.append(
        VotingOpened(
            proposal_id=proposal.id,
            revision=latest_revision(uow, proposal.id).number,
            electorate_size=size,
            quorum=proposal.quorum,
            threshold=threshold.to_dict(),
            voting_closes_at=format_instant(proposal.voting_closes_at),
        )
    )
    notification_hooks.voting_opened(uow, proposal)
    return True


def parse_vote(choice: str) -> Vote:
    """yes, no or abstain, with an error naming them."""
    try:
        return Vote(choice)
    except ValueError:
        raise InvalidInput(
            "a vote is yes, no or abstain, got %(choice)s", field="choice", choice=repr(choice)
        ) from None


# Run on every vote: built once with bound values (its cache key is computed once).
_ELECTOR_LOCKED = (
    select(Elector)
    .where(
        Elector.proposal_id == bindparam("proposal_id"),
        Elector.account_id == bindparam("account_id"),
    )
    .with_for_update()
)


def cast_vote(
    uow: UnitOfWork, *, account_id: int, proposal_id: int, choice: str, change: bool = False
) -> Receipt:
    """Vote once, or (``change=True``) change one's vote, while voting is open."""
    vote = parse_vote(choice)
    proposal = get_proposal(uow, proposal_id)
    now = uow.now()
    if proposal.status == ProposalStatus.DELIBERATION and now >= proposal.voting_opens_at:
        open_voting(uow, proposal_id)  # the job may lag; the deadline is the law, not the job
    if proposal.status == ProposalStatus.DELIBERATION:
        raise Conflict(
            "voting on proposal %(proposal_id)s opens %(value)s; until then, read and comment",
            proposal_id=proposal_id,
            value=proposal.voting_opens_at,
        )
    if proposal.status != ProposalStatus.VOTING or now >= proposal.voting_closes_at:
        raise Conflict(
            "voting on proposal %(proposal_id)s closed %(value)s; your vote was not recorded",
            proposal_id=proposal_id,
            value=proposal.voting_closes_at,
        )
    elector = uow.session.scalars(
        _ELECTOR_LOCKED, {"proposal_id": proposal_id, "account_id": account_id}
    ).first()
    if elector is None:
        raise Forbidden(
            "you may not vote on proposal %(proposal_id)s: only citizens of "
            "%(jurisdiction_code)s when its vote opened may vote",
            proposal_id=proposal_id,
            jurisdiction_code=proposal.jurisdiction_code,
        )
    old_id = elector.ballot_id
    if elector.has_voted and not change:
        raise Conflict(
            "you have already voted on proposal %(proposal_id)s; each "
            "citizen votes once, but you may change your vote until it closes",
            proposal_id=proposal_id,
        )
    if change and not elector.has_voted:
        raise Conflict(
            "you have not voted on proposal %(proposal_id)s yet; cast a vote first",
            proposal_id=proposal_id,
        )
    if change and old_id is not None:
        old = uow.session.get(Ballot, old_id)
        if old is not None and old.choice == vote.value:
            raise Conflict(
                "your vote on proposal %(proposal_id)s is already %(value)s",
                proposal_id=proposal_id,
                value=vote.value,
            )
    ballot_id = uow.token_hex(BALLOT_ID_BYTES)
    nonce = uow.token_hex(NONCE_BYTES)
    receipt = receipt_for(proposal_id, ballot_id, vote.value, nonce)
    uow.session.add(
        Ballot(id=ballot_id, proposal_id=proposal_id, choice=vote.value, receipt=receipt)
    )
    uow.session.flush()
    elector.ballot_id = ballot_id
    elector.has_voted = True
    uow.session.flush()
    if old_id is not None:  # the changed vote counts once: the old ballot is gone
        uow.session.execute(delete(Ballot).where(Ballot.id == old_id))
    return Receipt(proposal_id, ballot_id, vote.value, nonce, receipt)


def current_choice(uow: UnitOfWork, *, account_id: int, proposal_id: int) -> str | None:
    """The voter's own current choice while voting is open (None after the close)."""
    ballot_id = uow.session.scalar(
        select(Elector.ballot_id).where(
            Elector.proposal_id == proposal_id, Elector.account_id == account_id
        )
    )
    if ballot_id is None:
        return None
    return uow.session.scalar(select(Ballot.choice).where(Ballot.id == ballot_id))


def stored_ballots(uow: UnitOfWork, proposal_id: int) -> list[tuple[str, str]]:
    """Every ``(receipt, choice)`` of a proposal, sorted by receipt."""
    rows = uow.session.execute(
        select(Ballot.receipt, Ballot.choice)
        .where(Ballot.proposal_id == proposal_id)
        .order_by(Ballot.receipt)
    ).all()
    return [(r, c) for r, c in rows]


def _store_in_receipt_order(uow: UnitOfWork, proposal_id: int) -> None:
    """Rewrite a proposal's ballots in receipt order, so the order of the rows (SQLite's
    rowids, PostgreSQL's heap) no longer tells in what order they were cast."""
    table = cast(Table, Ballot.__table__)
    rows = [
        dict(row._mapping)
        for row in uow.session.execute(
            select(table).where(table.c.proposal_id == proposal_id).order_by(table.c.receipt)
        )
    ]
    uow.session.execute(delete(table).where(table.c.proposal_id == proposal_id))
    if rows:
        # One executemany: the driver inserts the rows in list order, so receipt order is
        # still the new rows' physical order, without a statement round trip per ballot.
        uow.session.execute(insert(table), rows)


def result_of(proposal: Proposal) -> TallyResult | None:
    """The published result of a counted proposal."""
    if proposal.tallied_at is None or proposal.electorate_size is None:
        return None
    assert proposal.quorum is not None and proposal.threshold is not None  # noqa: S101
    return tally_counts(
        proposal.yes or 0,
        proposal.no or 0,
        proposal.abstain or 0,
        proposal.electorate_size,
        exact_share(proposal.quorum, "quorum"),
        Threshold.from_dict(json.loads(proposal.threshold)),
    )


def close_voting(uow: UnitOfWork, proposal_id: int) -> TallyResult | None:
    """Count, publish the tally, erase voter links, and apply the change if adopted."""
    proposal = get_proposal(uow, proposal_id, lock=True)
    now = uow.now()
    if proposal.status == ProposalStatus.DELIBERATION and now >= proposal.voting_opens_at:
        open_voting(uow, proposal_id)  # a server down for the whole window still opens first
    if proposal.status != ProposalStatus.VOTING or now < proposal.voting_closes_at:
        return None
    assert proposal.electorate_size is not None and proposal.quorum is not None  # noqa: S101
    assert proposal.threshold is not None  # noqa: S101
    ballots = stored_ballots(uow, proposal_id)
    counts = {v.value: 0 for v in Vote}
    for _, choice in ballots:
        counts[choice] += 1
    result = tally_counts(
        counts["yes"],
        counts["no"],
        counts["abstain"],
        proposal.electorate_size,
        exact_share(proposal.quorum, "quorum"),
        Threshold.from_dict(json.loads(proposal.threshold)),
    )
    uow.session.execute(
        update(Elector).where(Elector.proposal_id == proposal_id).values(ballot_id=None)
    )
    _store_in_receipt_order(uow, proposal_id)
    proposal.yes, proposal.no, proposal.abstain = counts["yes"], counts["no"], counts["abstain"]
    proposal.tallied_at = now
    proposal.status = (ProposalStatus.ADOPTED if result.adopted else ProposalStatus.REJECTED).value
    uow.session.flush()
    appended = uow.log.append(
        ProposalTallied(
            proposal_id=proposal_id,
            jurisdiction=proposal.jurisdiction_code,
            result=result.to_dict(),
            ballots=[[r, c] for r, c in ballots],
        )
    )
    proposal.tally_log_index = appended.index
    notification_hooks.voting_closed(uow, proposal, adopted=result.adopted)
    if result.adopted:
        apply_adopted(uow, proposal, effective_time(proposal, now))
    return result


def effective_time(proposal: Proposal, tallied_at: datetime) -> datetime:
    """When an adopted proposal takes effect: its stated time, never before the count."""
    return max(proposal.effective_at or tallied_at, tallied_at)


@jobs.handler(OPEN_VOTING_JOB)
def _open_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    open_voting(uow, int(payload["proposal"]))


@jobs.handler(CLOSE_VOTING_JOB)
def _close_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    close_voting(uow, int(payload["proposal"]))
