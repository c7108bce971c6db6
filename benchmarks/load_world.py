"""The world ``load_bench.py`` drives: seeded straight into the database before the servers
start, so that the load measures serving, not seeding.

It is the test suite's cases world (``tests/support/cases_world.build``: MX, a threats rule
enacted by vote, juries of 5) built on a clock that starts weeks before the wall clock, then:
law proposals whose vote is open now, cases whose juries are drawn and have accepted now,
and a browser session (cookie and CSRF token) for every citizen. The servers then run on
the wall clock, so every deadline is days away while the load runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, timedelta
from pathlib import Path

from sqlalchemy import select
from tests.support.cases_world import THREATS, build, report_request, run_jobs

from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.clock import ManualClock, SystemClock
from isegoria.config import Settings
from isegoria.domain.constitution import DEFAULT_JUROR_MAX_CASES, ProposalKind
from isegoria.law import proposals as law_proposals
from isegoria.log.signing import load_signer
from isegoria.people import sessions
from isegoria.store import migrate
from isegoria.store.db import Database
from isegoria.store.models import Account
from isegoria.store.models_cases import Juror, Jury
from isegoria.unit_of_work import UnitOfWork

JURY_SIZE = 5  # what cases_world enacts in its constitution
#: Volunteers per seat the seeded cases need at the juror-load limit. A jurisdiction whose
#: volunteers are nearly all at their limit (a slack near 1) excludes so many from each draw
#: that the lottery must be prepared again for the smaller pool at most draws; a community
#: with four times the volunteers it needs is the ordinary case this benchmark measures.
VOLUNTEER_SLACK = 4.0
#: The world is built this long before the wall clock: two proposals of 14 + 7 days each.
HISTORY = timedelta(days=60)
#: Open proposals are proposed this long ago: 14 days of deliberation, then half a day of vote.
PROPOSED_AGO = timedelta(days=14, hours=12)
SESSION_HOURS = 24
POST_AGE = timedelta(hours=1)


@dataclass(frozen=True)
class Person:
    """A citizen's browser session: what the load sends as cookie and CSRF header."""

    account_id: int
    cookie: str
    csrf: str


@dataclass
class Seeded:
    """What the load needs to know about the world."""

    platform_key: str
    case_ids: list[int]
    proposal_ids: list[int]
    seats: list[tuple[int, Person]] = field(default_factory=list)  # (case, juror) to vote
    votes: list[tuple[int, Person]] = field(default_factory=list)  # (proposal, citizen)
    post_ids: list[str] = field(default_factory=list)  # the reported posts, one per case
    posted_at: str = ""  # when every seeded post was made (RFC 3339)


def volunteers_for(cases: int) -> int:
    """Enough volunteers that nobody exceeds the juror load limit of the constitution."""
    return max(60, round(cases * JURY_SIZE / DEFAULT_JUROR_MAX_CASES * VOLUNTEER_SLACK))


def seed(settings: Settings, *, cases: int, proposals: int) -> Seeded:
    """Migrate the database of ``settings`` and build the world in it."""
    database = Database(settings.effective_database_url)
    migrate.upgrade(database)
    signer = load_signer(settings.origin, settings.signing_key_path)
    wall = SystemClock()
    clock = ManualClock(wall.now() - HISTORY)
    uow = UnitOfWork(database, clock, signer, settings.secret_key)
    world = build(uow, clock, signer, volunteers=volunteers_for(cases))
    assert clock.now() < wall.now() - PROPOSED_AGO, "the world's history ran into the present"
    proposal_ids = _open_proposals(uow, clock, signer, world.voters[0], proposals)
    clock.set(wall.now())
    case_ids = []
    posted = clock.now() - POST_AGE
    post_ids = [f"seed-{n}" for n in range(cases)]
    for post in post_ids:
        with uow.begin():
            case, _report = cases_intake.file_report(
                uow,
                platform_id=world.base.platform_id,
                request=report_request(posted, content_id=post),
            )
            case_ids.append(case.id)
    drawn = run_jobs(uow, clock, signer)
    assert drawn.failed == 0, drawn
    people = _sessions(uow, world.voters)
    seeded = Seeded(
        world.base.key_all,
        case_ids,
        proposal_ids,
        post_ids=post_ids,
        posted_at=posted.astimezone(UTC).isoformat(),
    )
    with uow.begin(readonly=True):
        seats = list(
            uow.session.execute(
                select(Jury.case_id, Juror.account_id)
                .join(Juror, Juror.jury_id == Jury.id)
                .where(Jury.case_id.in_(case_ids))
            ).tuples()
        )
    for case_id, account in seats:
        with uow.begin():
            cases_jury.reply(uow, account_id=account, case_id=case_id, accept=True)
        seeded.seats.append((case_id, people[account]))
    seeded.votes = [(p, people[a]) for p in proposal_ids for a in world.voters]
    database.dispose()
    return seeded


def _open_proposals(
    uow: UnitOfWork, clock: ManualClock, signer: object, author: int, count: int
) -> list[int]:
    """``count`` bills to enact a rule, proposed so that their vote opened hours ago."""
    if count == 0:  # a world of cases only: no vote to open, the clock at the present
        clock.set(SystemClock().now())
        return []
    clock.set(SystemClock().now() - PROPOSED_AGO)
    ids = []
    for n in range(count):
        with uow.begin():
            draft = replace(THREATS, title=f"Threats, variant {n + 1}")
            proposal = law_proposals.propose(
                uow,
                account_id=author,
                jurisdiction="MX",
                kind=ProposalKind.ENACT,
                title=f"Load test bill {n + 1}",
                rationale="A bill for the load benchmark.",
                draft=draft,
            )
            ids.append(proposal.id)
            opens = proposal.voting_opens_at
    clock.set(opens)
    run_jobs(uow, clock, signer)  # type: ignore[arg-type]
    return ids


def _sessions(uow: UnitOfWork, accounts: list[int]) -> dict[int, Person]:
    """A browser session for each account, opened now."""
    people = {}
    with uow.begin():
        for account_id in accounts:
            account = uow.session.get(Account, account_id)
            assert account is not None
            token, row = sessions.start_session(uow, account, hours=SESSION_HOURS)
            people[account_id] = Person(account_id, token, row.csrf_token)
    return people


def data_dir_settings(data_dir: Path, database_url: str | None) -> Settings:
    """The settings a server on ``data_dir`` (and ``database_url``) will read."""
    if database_url is None:
        return Settings(data_dir=data_dir)
    return Settings(data_dir=data_dir, database_url=database_url)  # type: ignore[arg-type]
