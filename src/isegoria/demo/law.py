"""The demo's law: enacted through real proposals and simulated votes of synthetic citizens.

Back-dating, deliberately: the demo needs a history, so this module runs the real services
(propose, open voting, vote, tally) with a clock of its own that starts
``HISTORY_DAYS`` ago and moves forward through each deliberation and voting period. Every
timestamp of the state (proposals, ballots' counts, rule versions' effective dates) is
therefore in the past, and so are the transparency-log entries they write. Synthetic
ballots are bulk inserts with the same receipts as real ones, their ids and nonces drawn
from the demo's seed (they are published in the tally); nobody holds their secrets.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update

from isegoria.clock import Clock, ManualClock
from isegoria.demo.bills import (
    FAILED_BILL,
    INTERNATIONAL_BASELINE,
    NATIONAL,
    OPEN_MX_AMENDMENT,
    SPAM_AMENDMENT,
    Bill,
)
from isegoria.domain.constitution import ProposalKind
from isegoria.law import proposals as law_proposals
from isegoria.law import votes as law_votes
from isegoria.law.read import latest_constitution
from isegoria.log.demo_keys import rng as demo_rng
from isegoria.store.models import Account, Ballot, Elector, Rule
from isegoria.unit_of_work import UnitOfWork

#: How far back the demo's legislative history starts.
HISTORY_DAYS = 200


def _ids(uow: UnitOfWork) -> dict[str, int]:
    rows = uow.session.execute(
        select(Account.login, Account.id).where(Account.login.in_(["ana", "marie", "jonas", "sam"]))
    ).all()
    return {login: account_id for login, account_id in rows}


def _simulate_votes(
    uow: UnitOfWork, rng: random.Random, proposal_id: int, turnout: float, yes_share: float
) -> None:
    """Synthetic citizens vote, in two bulk statements (named demo people never vote here)."""
    electors = list(
        uow.session.scalars(
            select(Elector.account_id)
            .join(Account, Account.id == Elector.account_id)
            .where(Elector.proposal_id == proposal_id, Account.password_hash.is_(None))
            .order_by(Elector.account_id)
        )
    )
    voters = rng.sample(electors, round(len(electors) * turnout))
    ballots, links = [], []
    for account_id in voters:
        roll = rng.random()
        choice = "abstain" if roll < 0.08 else ("yes" if rng.random() < yes_share else "no")
        ballot_id = rng.randbytes(law_votes.BALLOT_ID_BYTES).hex()
        nonce = rng.randbytes(law_votes.NONCE_BYTES).hex()
        receipt = law_votes.receipt_for(proposal_id, ballot_id, choice, nonce)
        ballots.append(
            {"id": ballot_id, "proposal_id": proposal_id, "choice": choice, "receipt": receipt}
        )
        links.append(
            {
                "proposal_id": proposal_id,
                "account_id": account_id,
                "has_voted": True,
                "ballot_id": ballot_id,
            }
        )
    if ballots:
        uow.session.execute(insert(Ballot), ballots)
        uow.session.execute(update(Elector), links)


def _propose(uow: UnitOfWork, ids: dict[str, int], bill: Bill, **extra: object) -> int:
    return law_proposals.propose(
        uow,
        account_id=ids[bill.proposer],
        jurisdiction=bill.jurisdiction,
        kind=extra.pop("kind", ProposalKind.ENACT),  # type: ignore[arg-type]
        title=bill.title,
        rationale=bill.rationale,
        rule_id=extra.pop("rule_id", None),  # type: ignore[arg-type]
        draft=bill.draft,
    ).id


# Consistency retrials (docs/reports.md): the citizens vote to have one case in three tried
# by a second, independent jury, so that the demo's report shows jury pairs. A real
# jurisdiction would choose a smaller share, such as 1/50. The demo's cases cite
# international rules, so the international constitution is the one amended.
DEMO_RETRIAL_SHARE = "1/3"
RETRIAL_PROPOSERS = {"intl": "ana"}


def _propose_retrials(uow: UnitOfWork, ids: dict[str, int]) -> list[tuple[int, Bill]]:
    """The constitutional proposals; each Bill only carries the simulated turnout."""
    session = []
    for code, proposer in RETRIAL_PROPOSERS.items():
        if proposer not in ids:
            continue
        pid = law_proposals.propose(
            uow,
            account_id=ids[proposer],
            jurisdiction=code,
            kind=ProposalKind.CONSTITUTION,
            title="Try some cases twice to measure consistency",
            rationale="If two juries often disagree about a rule, the rule is too vague.",
            changes={"consistency_retrial_share": DEMO_RETRIAL_SHARE},
        ).id
        votes = dataclasses.replace(INTERNATIONAL_BASELINE[0], turnout=0.3, yes_share=0.9)
        session.append((pid, votes))
    return session


def _run_session(
    uow: UnitOfWork, clock: ManualClock, rng: random.Random, bills: list[tuple[int, Bill]]
) -> None:
    """Open voting on the bills, let the synthetic citizens vote, and count."""
    first = law_proposals.get_proposal(uow, bills[0][0])
    clock.set(first.voting_opens_at)
    for pid, bill in bills:
        law_votes.open_voting(uow, pid)
        _simulate_votes(uow, rng, pid, bill.turnout, bill.yes_share)
    clock.set(first.voting_closes_at)
    for pid, _ in bills:
        law_votes.close_voting(uow, pid)


def seed_law(uow: UnitOfWork, seed: int = 0) -> None:
    """Enact the demo's law through proposals and votes; leave one vote open and one failed."""
    real_clock: Clock = uow.clock
    now = real_clock.now()
    clock = ManualClock(now - timedelta(days=HISTORY_DAYS))
    rng = demo_rng(seed, "law")
    uow.clock = clock
    try:
        ids = _ids(uow)
        bills = INTERNATIONAL_BASELINE + NATIONAL
        session = [(_propose(uow, ids, bill), bill) for bill in bills]
        _run_session(uow, clock, rng, session)
        retrials = _propose_retrials(uow, ids)
        if retrials:
            _run_session(uow, clock, rng, retrials)
        clock.advance(timedelta(days=30))
        spam = Bill(
            "ana",
            "intl",
            "Spam: reduce reach instead of suspending",
            "Proportionality.",
            SPAM_AMENDMENT,
            turnout=0.15,
            yes_share=0.7,
        )
        spam_id = _propose(uow, ids, spam, kind=ProposalKind.AMEND, rule_id="intl-5")
        _run_session(uow, clock, rng, [(spam_id, spam)])
        clock.advance(timedelta(days=20))
        _run_session(uow, clock, rng, [(_propose(uow, ids, FAILED_BILL), FAILED_BILL)])
        _open_vote_now(uow, clock, rng, ids, now)
    finally:
        uow.clock = real_clock


def _open_vote_now(
    uow: UnitOfWork, clock: ManualClock, rng: random.Random, ids: dict[str, int], now: datetime
) -> None:
    """An amendment of MX-1 whose voting opened a day ago and closes in six days."""
    if uow.session.get(Rule, "MX-1") is None:  # a world too small to have enacted it
        return
    deliberation = latest_constitution(uow, "MX").constitution.deliberation_period
    clock.set(now - deliberation - timedelta(days=1))
    bill = Bill(
        "ana",
        "MX",
        "Incluir las amenazas de difusión",
        "Amenazar con publicar imágenes íntimas ya es violencia digital.",
        OPEN_MX_AMENDMENT,
        turnout=0.3,
        yes_share=0.9,
    )
    pid = _propose(uow, ids, bill, kind=ProposalKind.AMEND, rule_id="MX-1")
    law_proposals.comment(
        uow,
        account_id=ids["ana"],
        proposal_id=pid,
        body="La amenaza sola ya sirve para extorsionar; debe estar cubierta.",
    )
    clock.set(law_proposals.get_proposal(uow, pid).voting_opens_at)
    law_votes.open_voting(uow, pid)
    _simulate_votes(uow, rng, pid, bill.turnout, bill.yes_share)
