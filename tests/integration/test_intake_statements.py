"""How many SQL statements each hot write issues: a check of the design, not of speed.

Report intake, jury ballots and citizen votes are the writes issue 9 asks for in the
thousands per second; most of their cost is per statement. These tests pin the number each
one sends (counted with SQLAlchemy's ``before_cursor_execute``; SQLite's ``BEGIN IMMEDIATE``
is left out so both backends give the same count), so a change that adds a query to the hot
path shows up here and is a decision, not an accident. The unit of work is the tests'
default one: every transaction reads the log's frontier and signs a checkpoint (two
statements that a server under ``ISEGORIA_CHECKPOINT_INTERVAL_MS`` mostly saves).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from isegoria.cases import ballots as cases_ballots
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.cases.common import get_case
from isegoria.clock import ManualClock
from isegoria.domain.constitution import ProposalKind
from isegoria.domain.states import CaseStatus
from isegoria.law import proposals as law_proposals
from isegoria.law import votes as law_votes
from isegoria.log.signing import LogSigner
from isegoria.store.models_cases import Juror, Jury
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import THREATS, CasesWorld, build, report_request, run_jobs

HOUR = timedelta(hours=1)
BATCH = 10
# The most statements each operation may send, as measured when they were set (issue 9).
# The log's share of a write: lock the head, read the frontier, insert the entries and the
# nodes, move the head, sign a checkpoint (6).
# A new post: the law's fingerprint, find and insert the snapshot, find and insert the case,
# the jury draw job, the report (7), and the log (6). It was 15 before issue 9.
NEW_POST = 13
# A report joining a live case: fingerprint, snapshot and case found, the report (4), and
# the log (6). It was 11.
JOINING = 10
# Each further report of a batch about a new post: insert the snapshot, the case, its job
# and the report; the law, the look-up of snapshots and cases and the log are paid once per
# batch.
BATCH_EXTRA = 4
# A ballot finding no violation: the case locked, the seat (jury, juror and the jury's earlier
# votes in one), the ballot, the juror (4), and the log (6); one proposing a sanction also
# reads the rule that caps it. It was 14 before the seat became one query, and 12 before the
# seat counted the votes and a ballot without a sanction stopped reading the rule. Secret
# ballots (issue 21) add one: the juror's strata, kept on the ballot only while the jury is
# open.
BALLOT = 11
# The jury's last ballot: the ballot's 4 and the jury closed; the rule, whether a retrial
# jury exists, the constitution, the opened ballots, the author's earlier upheld cases, the
# post, the reports; the decision numbered, inserted and its body written; the labeler
# identity, the Flags; the appeal-window job and the case (19), and the log (6). It was 33
# before the case, rule and constitution were read once and each decision's body once. Secret
# ballots add 5 whatever the jury's size (the ballots read, the stratum counters in one
# upsert, the ballots deleted and inserted again in receipt order in one statement, the key
# erased) and the verdict's notification 1 (the author's account).
CLOSING_BALLOT = 31
VOTE = 4  # the proposal, the elector (locked), the ballot, the elector; votes are not logged


def on_postgresql(uow: UnitOfWork, entries: int) -> int:
    """What PostgreSQL adds to a write that appends ``entries`` log entries (log/sequence.py):
    the integrator lock an inline writer takes, and per entry one ``nextval`` with its index
    lock (SQLite reads its next index with the tree's size, a statement the counts above
    already hold as "lock the head")."""
    return 0 if uow.database.is_sqlite else 1 + entries


@pytest.fixture
def world(uow: UnitOfWork, clock: ManualClock, signer: LogSigner) -> CasesWorld:
    return build(uow, clock, signer, volunteers=10)


def _statements(uow: UnitOfWork, act: Callable[[], object]) -> int:
    """The statements ``act`` sends in one write transaction (SQLite's BEGIN left out)."""
    sent: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if not statement.startswith("BEGIN"):
            sent.append(statement)

    event.listen(uow.database.engine, "before_cursor_execute", seen)
    try:
        with uow.begin():
            act()
    finally:
        event.remove(uow.database.engine, "before_cursor_execute", seen)
    return len(sent)


def _file(uow: UnitOfWork, world: CasesWorld, content_id: str) -> object:
    request = report_request(uow.now() - HOUR, content_id=content_id)
    return cases_intake.file_report(uow, platform_id=world.base.platform_id, request=request)


def test_a_report_sends_a_bounded_number_of_statements(uow: UnitOfWork, world: CasesWorld) -> None:
    _statements(uow, lambda: _file(uow, world, "warm-up"))  # the rulebook is cached now
    # Each appends two log entries.
    assert _statements(uow, lambda: _file(uow, world, "post-1")) <= NEW_POST + on_postgresql(uow, 2)
    assert _statements(uow, lambda: _file(uow, world, "post-1")) <= JOINING + on_postgresql(uow, 2)


def test_a_batch_costs_fewer_statements_per_report_than_single_reports(
    uow: UnitOfWork, world: CasesWorld
) -> None:
    _statements(uow, lambda: _file(uow, world, "warm-up"))
    requests = [report_request(uow.now() - HOUR, content_id=f"b-{n}") for n in range(BATCH)]
    sent = _statements(
        uow,
        lambda: cases_intake.file_reports(
            uow, platform_id=world.base.platform_id, requests=requests
        ),
    )
    # One entry for the case and one per report.
    assert sent <= NEW_POST + (BATCH - 1) * BATCH_EXTRA + on_postgresql(uow, 1 + BATCH)


def _seated(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> tuple[int, list[int]]:
    """A new case whose jury has been drawn and has accepted: its id and the jurors' accounts."""
    with uow.begin():
        case, _ = _file(uow, world, "post-1")  # type: ignore[misc]
        case_id = case.id
    run_jobs(uow, clock, signer)
    with uow.begin(readonly=True):
        jury_id = uow.session.scalars(select(Jury.id).where(Jury.case_id == case_id)).one()
        accounts = list(
            uow.session.scalars(select(Juror.account_id).where(Juror.jury_id == jury_id))
        )
    for account in accounts:
        with uow.begin():
            cases_jury.reply(uow, account_id=account, case_id=case_id, accept=True)
    return case_id, accounts


def _ballot(uow: UnitOfWork, case_id: int, account: int) -> None:
    cases_ballots.cast_ballot(
        uow,
        account_id=account,
        case_id=case_id,
        violation=False,
        sanction=None,
        suspension_days=None,
        reason="Heated, but not a threat.",
    )


def test_a_ballot_sends_a_bounded_number_of_statements(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id, accounts = _seated(uow, clock, signer, world)
    # Two log entries.
    assert _statements(uow, lambda: _ballot(uow, case_id, accounts[0])) <= BALLOT + (
        on_postgresql(uow, 2)
    )


def test_the_jurys_last_ballot_sends_a_bounded_number_of_statements(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id, accounts = _seated(uow, clock, signer, world)
    *first, last = accounts
    for account in first:
        with uow.begin():
            _ballot(uow, case_id, account)
    # Four log entries: the ballot's two, the verdict, the decision.
    assert _statements(uow, lambda: _ballot(uow, case_id, last)) <= CLOSING_BALLOT + (
        on_postgresql(uow, 4)
    )
    with uow.begin(readonly=True):
        assert get_case(uow, case_id).status == CaseStatus.DECIDED  # it did close the jury


def test_a_vote_sends_a_bounded_number_of_statements(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    with uow.begin():
        proposal = law_proposals.propose(
            uow,
            account_id=world.voters[0],
            jurisdiction="MX",
            kind=ProposalKind.ENACT,
            title="Threats again",
            rationale="A second reading.",
            draft=THREATS,
        )
    clock.set(proposal.voting_opens_at)
    run_jobs(uow, clock, signer)
    sent = _statements(
        uow,
        lambda: law_votes.cast_vote(
            uow, account_id=world.voters[1], proposal_id=proposal.id, choice="yes"
        ),
    )
    assert sent <= VOTE
