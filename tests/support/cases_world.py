"""A world where cases can be tried: a rule enacted by vote, a small jury, volunteers."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from isegoria.cases import jobs as cases_jobs  # noqa: F401
from isegoria.clock import ManualClock
from isegoria.domain.constitution import ProposalKind
from isegoria.domain.content import ContentSnapshot, ReportRequest
from isegoria.domain.decisions import ReportSource
from isegoria.domain.identity import Role
from isegoria.jobs import queue as jobs  # noqa: F401
from isegoria.law import proposals as law_proposals  # noqa: F401
from isegoria.law import votes as law_votes  # noqa: F401
from isegoria.law.proposals import RuleDraft
from isegoria.log.signing import LogSigner
from isegoria.people import accounts as people  # noqa: F401
from isegoria.security import SecretBox
from isegoria.store.models import Proposal
from isegoria.unit_of_work import UnitOfWork
from tests.support.world import PASSWORD, World, account_id, seed

SECOND = timedelta(seconds=1)
THREATS = RuleDraft(
    title="No credible threats",
    text="Do not threaten a person with **violence**.",
    harm_category="violence",
    ground="legal",
    sanction_cap="suspend",
    max_suspension_days=30,
    covered_examples=["I know where you live and I will hurt you"],
    not_covered_examples=["I could kill for a coffee"],
)
REGIONS = ("Jalisco", "CDMX", "Nuevo León")
AGES = ("18-29", "30-44", "45-59", "60+")
LEANINGS = ("left", "centre", "right")
_posts = itertools.count(1)


@dataclass
class CasesWorld:
    """What a cases test needs."""

    base: World
    volunteers: list[int]
    voters: list[int]
    rule_effective: datetime


def run_jobs(uow: UnitOfWork, clock: ManualClock, signer: LogSigner) -> jobs.RunReport:
    """Run every job due now, with the unit of work's instance secret."""
    return jobs.run_due(uow.database, clock, signer, secret=uow.secret)


def pass_proposal(
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    *,
    voters: list[int],
    kind: ProposalKind,
    title: str,
    draft: RuleDraft | None = None,
    changes: dict[str, Any] | None = None,
) -> Proposal:
    """Propose, let every voter vote yes, close, and move past the effective time."""
    with uow.begin():
        proposal = law_proposals.propose(
            uow,
            account_id=voters[0],
            jurisdiction="MX",
            kind=kind,
            title=title,
            rationale="Needed for the tests.",
            draft=draft,
            changes=changes,
        )
    clock.set(proposal.voting_opens_at)
    run_jobs(uow, clock, signer)
    for voter in voters:
        with uow.begin():
            law_votes.cast_vote(uow, account_id=voter, proposal_id=proposal.id, choice="yes")
    clock.set(proposal.voting_closes_at)
    run_jobs(uow, clock, signer)
    with uow.begin(readonly=True):
        closed = law_proposals.get_proposal(uow, proposal.id)
    assert closed.status == "adopted", closed.status
    assert closed.tallied_at is not None
    effective = law_votes.effective_time(closed, closed.tallied_at)
    closed.effective_at = effective
    clock.set(max(clock.now(), effective) + SECOND)
    run_jobs(uow, clock, signer)
    return closed


def build(
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    *,
    volunteers: int = 24,
    box: SecretBox | None = None,
) -> CasesWorld:
    """Seed the base world, add MX volunteers, shrink the jury, enact MX's threats rule.

    ``box`` seals the staff's second factors and the platforms' secrets: the app's own box
    when the staff sign in through its pages.
    """
    base = seed(uow, box or SecretBox(b"k" * 32))
    ids = []
    with uow.begin():
        for n in range(volunteers):
            account = people.add_account(
                uow,
                login=f"v{n:03d}",
                display_name=f"Volunteer {n}",
                role=Role.CITIZEN,
                password=PASSWORD if n < 3 else None,
                residences=["MX"],
                strata=people.Strata(
                    region=REGIONS[n % 3], age_band=AGES[n % 4], leaning=LEANINGS[n % 3]
                ),
                jury_opt_in=True,
            )
            ids.append(account.id)
    voters = [account_id(uow, "ana"), *ids]
    pass_proposal(
        uow,
        clock,
        signer,
        voters=voters,
        kind=ProposalKind.CONSTITUTION,
        title="Small juries for a small community",
        changes={"jury_size": 5, "jury_quorum": 3, "ban_min_prior_violations": 1},
    )
    enacted = pass_proposal(
        uow,
        clock,
        signer,
        voters=voters,
        kind=ProposalKind.ENACT,
        title="Threats",
        draft=THREATS,
    )
    assert enacted.effective_at is not None
    clock.advance(timedelta(days=1))  # posts made "an hour ago" fall under the new rule
    return CasesWorld(base, ids, voters, enacted.effective_at)


def report_request(
    posted_at: datetime,
    *,
    author: str = "@troll",
    rule_id: str = "MX-1",
    text: str = "I know where you live.",
    interim: bool = False,
    reporter: str | None = "@victim",
    content_id: str | None = None,
) -> ReportRequest:
    """A platform's report of a post under MX's threats rule."""
    post = content_id or f"post-{next(_posts)}"
    return ReportRequest(
        snapshot=ContentSnapshot(
            platform_content_id=post,
            url=f"https://forum.example/{post}",
            text=text,
            language="es",
            author=author,
            posted_at=posted_at.astimezone(UTC),
            jurisdictions=("MX",),
        ),
        rule_id=rule_id,
        rule_version=None,
        reason="A threat against a named person.",
        source=ReportSource.USER,
        reporter=reporter,
        interim_restriction=interim,
    )
