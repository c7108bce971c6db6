"""The law through the services: propose, deliberate, vote, tally, enact; on both databases."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from isegoria.clock import ManualClock
from isegoria.domain.constitution import ProposalKind
from isegoria.errors import Conflict, Forbidden, InvalidInput
from isegoria.jobs import queue as jobs
from isegoria.law import proposals as law_proposals
from isegoria.law import read as law_read
from isegoria.law import votes as law_votes
from isegoria.law.proposals import RuleDraft
from isegoria.log.entries import decode_entry
from isegoria.log.read import entries_about
from isegoria.log.signing import LogSigner
from isegoria.security import SecretBox
from isegoria.store.db import Database
from isegoria.store.models import Ballot, Elector, Proposal, RuleVersionRow
from isegoria.unit_of_work import UnitOfWork
from tests.support.world import World, account_id, add_citizens, seed

DRAFT = RuleDraft(
    title="No credible threats",
    text="Do not threaten a person with **violence**.",
    harm_category="violence",
    ground="legal",
    sanction_cap="suspend",
    max_suspension_days=30,
    covered_examples=["I know where you live and I will hurt you"],
    not_covered_examples=["I could kill for a coffee"],
)
DAY = timedelta(days=1)


@pytest.fixture
def world(uow: UnitOfWork) -> World:
    return seed(uow, SecretBox(b"k" * 32))


@pytest.fixture
def mx(uow: UnitOfWork, world: World) -> list[int]:
    """Nine more MX citizens: with Ana, an electorate of ten (quorum 1/10: one vote)."""
    return add_citizens(uow, "MX", 9)


def run_jobs(database: Database, clock: ManualClock, signer: LogSigner) -> jobs.RunReport:
    return jobs.run_due(database, clock, signer)


def propose_enact(uow: UnitOfWork, proposer: int, draft: RuleDraft = DRAFT) -> int:
    with uow.begin():
        return law_proposals.propose(
            uow,
            account_id=proposer,
            jurisdiction="MX",
            kind=ProposalKind.ENACT,
            title="Protect people from threats",
            rationale="Threats silence people.",
            draft=draft,
        ).id


def vote(
    uow: UnitOfWork, who: int, proposal: int, choice: str, change: bool = False
) -> law_votes.Receipt:
    with uow.begin():
        return law_votes.cast_vote(
            uow, account_id=who, proposal_id=proposal, choice=choice, change=change
        )


def to_voting(uow: UnitOfWork, clock: ManualClock, signer: LogSigner, pid: int) -> Proposal:
    with uow.begin(readonly=True):
        proposal = law_proposals.get_proposal(uow, pid)
    clock.set(proposal.voting_opens_at)
    assert run_jobs(uow.database, clock, signer).done == 1
    return proposal


def test_enactment_through_a_vote(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, mx: list[int]
) -> None:
    ana = account_id(uow, "ana")
    pid = propose_enact(uow, ana)
    proposal = to_voting(uow, clock, signer, pid)
    receipts = [vote(uow, who, pid, "yes") for who in [ana, *mx[:6]]]
    vote(uow, mx[6], pid, "no")
    clock.set(proposal.voting_closes_at)
    assert run_jobs(uow.database, clock, signer).done == 1
    with uow.begin(readonly=True):
        done = law_proposals.get_proposal(uow, pid)
        assert (done.status, done.yes, done.no, done.abstain) == ("adopted", 7, 1, 0)
        assert done.rule_id == "MX-1"
        rules = law_read.in_force(uow, "MX", proposal.voting_closes_at)
        assert [v.label for v in rules] == ["MX-1 v1"]
        assert rules[0].effective_from == proposal.voting_closes_at
        assert law_read.in_force(uow, "MX", proposal.voting_closes_at - timedelta(seconds=1)) == []
        # Every voter link is gone; only "has voted" remains.
        links = uow.session.scalar(
            select(func.count()).select_from(Elector).where(Elector.ballot_id.is_not(None))
        )
        assert links == 0
        tally = [
            decode_entry(e.payload)
            for e in entries_about(uow.session, "proposal", str(pid))
            if e.kind == "ProposalTallied"
        ][0]
        published = {r: c for r, c in tally.facts["ballots"]}
        for receipt in receipts:
            assert published[receipt.receipt] == "yes"
            assert (
                law_votes.receipt_for(pid, receipt.ballot_id, "yes", receipt.nonce)
                == receipt.receipt
            )
        recount = {"yes": 0, "no": 0, "abstain": 0}
        for choice in uow.session.scalars(select(Ballot.choice).where(Ballot.proposal_id == pid)):
            recount[choice] += 1
        assert recount == {k: tally.facts["result"][k] for k in recount}
        kinds = [e.kind for e in entries_about(uow.session, "proposal", str(pid))]
        assert kinds == ["ProposalOpened", "VotingOpened", "ProposalTallied"]
        assert [e.kind for e in entries_about(uow.session, "rule", "MX-1")] == [
            "RuleVersionEnacted"
        ]


def _snapshot(uow: UnitOfWork, pid: int) -> tuple[object, ...]:
    with uow.begin(readonly=True):
        ballots = sorted(law_votes.stored_ballots(uow, pid))
        electors = sorted(
            (e.account_id, e.has_voted, e.ballot_id)
            for e in uow.session.scalars(select(Elector).where(Elector.proposal_id == pid))
        )
        size = uow.session.scalar(select(func.count()).select_from(RuleVersionRow))
    return ballots, electors, size


def test_a_changed_vote_counts_once(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, mx: list[int]
) -> None:
    ana = account_id(uow, "ana")
    pid = propose_enact(uow, ana)
    proposal = to_voting(uow, clock, signer, pid)
    first = vote(uow, ana, pid, "no")
    second = vote(uow, ana, pid, "yes", change=True)
    assert first.receipt != second.receipt
    with uow.begin(readonly=True):
        assert law_votes.stored_ballots(uow, pid) == [(second.receipt, "yes")]
        assert law_votes.current_choice(uow, account_id=ana, proposal_id=pid) == "yes"
    clock.set(proposal.voting_closes_at)
    run_jobs(uow.database, clock, signer)
    with uow.begin(readonly=True):
        done = law_proposals.get_proposal(uow, pid)
        assert (done.yes, done.no, done.abstain) == (1, 0, 0)
        assert law_votes.current_choice(uow, account_id=ana, proposal_id=pid) is None


@pytest.mark.parametrize("case", ["twice", "same-choice", "after-close", "non-citizen", "early"])
def test_refused_votes_change_nothing(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, mx: list[int], case: str
) -> None:
    ana = account_id(uow, "ana")
    pid = propose_enact(uow, ana)
    if case == "early":
        before = _snapshot(uow, pid)
        with pytest.raises(Conflict, match="opens"):
            vote(uow, ana, pid, "yes")
        assert _snapshot(uow, pid) == before
        return
    proposal = to_voting(uow, clock, signer, pid)
    vote(uow, ana, pid, "yes")
    who, choice, change, error, message = {
        "twice": (ana, "no", False, Conflict, "already voted"),
        "same-choice": (ana, "yes", True, Conflict, "already yes"),
        "after-close": (mx[0], "yes", False, Conflict, "closed"),
        "non-citizen": (account_id(uow, "olga"), "yes", False, Forbidden, "only citizens of MX"),
    }[case]
    if case == "after-close":
        clock.set(proposal.voting_closes_at)  # the close job has not run yet: still refused
    before = _snapshot(uow, pid)
    with pytest.raises(error, match=message):
        vote(uow, who, pid, choice, change)
    assert _snapshot(uow, pid) == before


def test_a_citizen_of_another_jurisdiction_cannot_vote(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, mx: list[int]
) -> None:
    (french,) = add_citizens(uow, "FR", 1, prefix="fr")
    pid = propose_enact(uow, account_id(uow, "ana"))
    to_voting(uow, clock, signer, pid)
    with pytest.raises(Forbidden, match="only citizens of MX"):
        vote(uow, french, pid, "yes")
    with pytest.raises(Forbidden, match="citizens of MX"):
        propose_enact(uow, french)


def _enact_with(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, yes: int, no: int, abstain: int
) -> tuple[Proposal, list[int]]:
    """A vote of 20 MX citizens with the given counts (quorum 1/10 = 2, enact needs 2/3)."""
    voters = add_citizens(uow, "MX", 19, prefix="v")
    ana = account_id(uow, "ana")
    pid = propose_enact(uow, ana)
    proposal = to_voting(uow, clock, signer, pid)
    choices = ["yes"] * yes + ["no"] * no + ["abstain"] * abstain
    for who, choice in zip([ana, *voters], choices, strict=False):
        vote(uow, who, pid, choice)
    clock.set(proposal.voting_closes_at)
    run_jobs(uow.database, clock, signer)
    with uow.begin(readonly=True):
        return law_proposals.get_proposal(uow, pid), voters


@pytest.mark.parametrize(
    ("yes", "no", "abstain", "status"),
    [
        (1, 0, 0, "rejected"),  # turnout 1/20 < quorum 1/10
        (2, 0, 0, "adopted"),  # exactly the quorum
        (1, 0, 1, "adopted"),  # abstentions count for the quorum, not the majority
        (2, 1, 0, "adopted"),  # exactly two thirds: an enactment needs at least 2/3
        (3, 2, 0, "rejected"),  # 3/5 < 2/3, just below
        (5, 2, 0, "adopted"),  # 5/7 > 2/3, just above
        (0, 0, 2, "rejected"),  # quorum met but nobody said yes
    ],
)
def test_tally_boundaries(
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    world: World,
    yes: int,
    no: int,
    abstain: int,
    status: str,
) -> None:
    done, _ = _enact_with(uow, clock, signer, yes, no, abstain)
    assert (done.yes, done.no, done.abstain, done.electorate_size) == (yes, no, abstain, 20)
    assert done.status == status
    assert (done.rule_id is not None) == (status == "adopted")


def test_amendment_and_repeal_are_never_retroactive(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: World
) -> None:
    ana = account_id(uow, "ana")
    enacted, voters = _enact_with(uow, clock, signer, 3, 0, 0)
    second = timedelta(seconds=1)
    start = enacted.voting_closes_at
    with uow.begin():
        amend = law_proposals.propose(
            uow,
            account_id=ana,
            jurisdiction="MX",
            kind=ProposalKind.AMEND,
            title="Narrower",
            rationale="Lower the cap.",
            rule_id="MX-1",
            draft=RuleDraft(
                **{**DRAFT.__dict__, "sanction_cap": "remove", "max_suspension_days": 0}
            ),
            effective_at=clock.now() + timedelta(days=30),
        )
    assert amend.effective_at is not None
    to_voting(uow, clock, signer, amend.id)
    vote(uow, ana, amend.id, "yes")
    vote(uow, voters[0], amend.id, "yes")
    with uow.begin(readonly=True):  # lowering the cap with the same text: a simple majority
        assert json.loads(law_proposals.get_proposal(uow, amend.id).threshold or "") == {
            "share": "1/2",
            "inclusive": False,
        }
    clock.set(amend.voting_closes_at)
    run_jobs(uow.database, clock, signer)
    amended_at = amend.effective_at
    with uow.begin(readonly=True):
        assert law_read.in_force(uow, "MX", start - second) == []
        assert [v.label for v in law_read.in_force(uow, "MX", start)] == ["MX-1 v1"]
        assert [v.label for v in law_read.in_force(uow, "MX", amended_at - second)] == ["MX-1 v1"]
        assert [v.label for v in law_read.in_force(uow, "MX", amended_at)] == ["MX-1 v2"]
        assert [v.label for v in law_read.in_force(uow, "MX", amended_at + second)] == ["MX-1 v2"]
    clock.set(amended_at)
    with uow.begin():
        repeal = law_proposals.propose(
            uow,
            account_id=ana,
            jurisdiction="MX",
            kind=ProposalKind.REPEAL,
            title="Repeal",
            rationale="Not needed.",
            rule_id="MX-1",
        )
    to_voting(uow, clock, signer, repeal.id)
    vote(uow, ana, repeal.id, "yes")
    vote(uow, voters[0], repeal.id, "yes")
    clock.set(repeal.voting_closes_at + timedelta(hours=1))  # the worker runs an hour late
    run_jobs(uow.database, clock, signer)
    ended = clock.now()  # never before the count is published
    with uow.begin(readonly=True):
        assert [v.label for v in law_read.in_force(uow, "MX", ended - second)] == ["MX-1 v2"]
        assert law_read.in_force(uow, "MX", ended) == []
        kinds = [e.kind for e in entries_about(uow.session, "rule", "MX-1")]
    assert kinds == ["RuleVersionEnacted", "RuleVersionEnacted", "RuleRepealed"]


def test_effective_time_cannot_precede_the_close(
    uow: UnitOfWork, clock: ManualClock, mx: list[int]
) -> None:
    ana = account_id(uow, "ana")
    with pytest.raises(InvalidInput, match="never retroactive"), uow.begin():
        law_proposals.propose(
            uow,
            account_id=ana,
            jurisdiction="MX",
            kind=ProposalKind.ENACT,
            title="Backdated",
            rationale="Try.",
            draft=DRAFT,
            effective_at=clock.now() + timedelta(days=1),
        )


def test_revisions_are_kept_and_close_with_deliberation(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, mx: list[int]
) -> None:
    ana = account_id(uow, "ana")
    pid = propose_enact(uow, ana)
    revised = RuleDraft(**{**DRAFT.__dict__, "text": "Do not threaten anyone."})
    with uow.begin():
        law_proposals.revise(
            uow,
            account_id=ana,
            proposal_id=pid,
            title="Better",
            rationale="Clearer.",
            draft=revised,
        )
        law_proposals.comment(uow, account_id=mx[0], proposal_id=pid, body="Good idea.")
    with pytest.raises(Forbidden, match="only the citizen who made"), uow.begin():
        law_proposals.revise(
            uow, account_id=mx[0], proposal_id=pid, title="Mine", rationale="x", draft=revised
        )
    to_voting(uow, clock, signer, pid)
    with pytest.raises(Conflict, match="no longer be revised"), uow.begin():
        law_proposals.revise(
            uow, account_id=ana, proposal_id=pid, title="Late", rationale="x", draft=revised
        )
    with uow.begin(readonly=True):
        from isegoria.law.views import proposal_view

        view = proposal_view(uow, pid)
        assert [r.title for r in view.revisions] == ["Protect people from threats", "Better"]
        assert view.draft is not None and view.draft.text == "Do not threaten anyone."
        assert [c.body for c in view.comments] == ["Good idea."]
        kinds = [e.kind for e in entries_about(uow.session, "proposal", str(pid))]
    assert kinds == ["ProposalOpened", "ProposalRevised", "VotingOpened"]


def test_constitution_change_needs_three_quarters(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, mx: list[int]
) -> None:
    ana = account_id(uow, "ana")
    with uow.begin():
        pid = law_proposals.propose(
            uow,
            account_id=ana,
            jurisdiction="MX",
            kind=ProposalKind.CONSTITUTION,
            title="Longer debates",
            rationale="Two weeks is short.",
            changes={"deliberation_period_seconds": 21 * 86400},
        ).id
    with pytest.raises(InvalidInput, match="constitution"), uow.begin():
        law_proposals.propose(
            uow,
            account_id=ana,
            jurisdiction="MX",
            kind=ProposalKind.CONSTITUTION,
            title="Bad",
            rationale="x",
            changes={"voting_quorum": "3/2"},
        )
    proposal = to_voting(uow, clock, signer, pid)
    for who, choice in zip([ana, *mx[:3]], ["yes", "yes", "yes", "no"], strict=True):
        vote(uow, who, pid, choice)  # exactly 3/4
    clock.set(proposal.voting_closes_at)
    run_jobs(uow.database, clock, signer)
    with uow.begin(readonly=True):
        assert law_proposals.get_proposal(uow, pid).status == "adopted"
        found = law_read.constitution_at(uow, "MX", clock.now())
        assert found.version == 1
        assert found.constitution.deliberation_period == timedelta(days=21)
        kinds = [e.kind for e in entries_about(uow.session, "jurisdiction", "MX")]
    assert kinds[-1] == "ConstitutionChanged"
    later = propose_enact(uow, ana)
    with uow.begin(readonly=True):
        opened = law_proposals.get_proposal(uow, later)
        assert opened.voting_opens_at - opened.created_at == timedelta(days=21)


def test_a_late_worker_does_not_delay_the_vote(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, mx: list[int]
) -> None:
    ana = account_id(uow, "ana")
    pid = propose_enact(uow, ana)
    with uow.begin(readonly=True):
        opens = law_proposals.get_proposal(uow, pid).voting_opens_at
    clock.set(opens)  # deliberation is over but no worker has run
    receipt = vote(uow, mx[0], pid, "yes")
    with uow.begin(readonly=True):
        assert law_proposals.get_proposal(uow, pid).status == "voting"
        assert law_votes.stored_ballots(uow, pid) == [(receipt.receipt, "yes")]
    assert run_jobs(uow.database, clock, signer) == jobs.RunReport(1, 0)  # a no-op now


def test_the_log_names_no_voter_and_no_proposer(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, mx: list[int]
) -> None:
    ana = account_id(uow, "ana")
    pid = propose_enact(uow, ana)
    proposal = to_voting(uow, clock, signer, pid)
    vote(uow, mx[0], pid, "yes")
    clock.set(proposal.voting_closes_at)
    run_jobs(uow.database, clock, signer)
    with uow.begin(readonly=True):
        payloads = [e.payload.decode() for e in entries_about(uow.session, "proposal", str(pid))]
    for payload in payloads:
        for personal in ('"ana"', '"Ana"', '"c0000-mx"', '"account_id"', '"proposer'):
            assert personal not in payload
