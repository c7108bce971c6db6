"""The demo's cases: a stream of reports run through the whole path by simulated jurors.

Like the demo's law, this is back-dated on purpose: a clock of its own starts
``HISTORY_DAYS`` ago, and every case is reported, drawn, judged and (sometimes) appealed
through the real services, so the demo shows decided, appealed, overturned and lapsed
cases, an interim measure that lapsed, and a few cases whose juries are still deciding.
Simulated jurors accept most summons and vote with a propensity set by the kind of post.
The named demo people (ana, marie, ...) serve in the history like anyone the lottery draws;
on the juries still deciding nobody is made to act.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from isegoria import worker as handlers  # noqa: F401 - registers the job handlers the demo runs
from isegoria.cases import appeal as cases_appeal
from isegoria.cases import ballots as cases_ballots
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.cases import replacements as cases_replacements
from isegoria.cases import verdict as cases_verdict
from isegoria.cases.common import RETRIAL, get_case, get_jury
from isegoria.clock import ManualClock
from isegoria.demo.compliance import platform_applies, webhook_gone
from isegoria.demo.posts import POSTS, Post
from isegoria.domain.content import ContentSnapshot, ReportRequest
from isegoria.domain.decisions import ReportSource
from isegoria.domain.sanctions import SanctionStep
from isegoria.jobs import queue as jobs
from isegoria.law import read as law_read
from isegoria.log import demo_keys
from isegoria.log.demo_keys import rng as demo_rng
from isegoria.log.signing import LogSigner
from isegoria.store.db import Database
from isegoria.store.models import Account
from isegoria.store.models_cases import Juror
from isegoria.unit_of_work import UnitOfWork

HISTORY_DAYS = 150
ACCEPT_RATE = 0.85
# Only the draws run as jobs here; the demo drives the rest itself. Running every due job on
# the demo's back-dated clock would also close the law's vote that is meant to be open now.
DEMO_JOBS = frozenset({cases_intake.JOB_DRAW_JURY})


def _rule_for(uow: UnitOfWork, post: Post, at: datetime) -> str | None:
    """The rule the post cites if it is in force where the post was published, else None.

    A small demo world (a few hundred citizens, as the browser tests build) may not have
    passed every national rule: its posts under a rule it lacks are not reported at all,
    rather than cite a rule that is not law there.
    """
    in_force = {v.rule_id for v in law_read.in_force(uow, post.jurisdiction, at)}
    return post.rule if post.rule in in_force else None


def _jurors(uow: UnitOfWork, case_id: int, stage: str) -> list[Juror]:
    jury = get_jury(uow, case_id, stage)
    if jury is None:
        return []
    return list(uow.session.scalars(select(Juror).where(Juror.jury_id == jury.id)))


def _serve(
    uow: UnitOfWork,
    clock: ManualClock,
    rng: random.Random,
    case_id: int,
    stages: tuple[str, ...],
    propensity: float,
    reasons: tuple[str, str],
    *,
    vote: bool,
) -> None:
    """Simulated jurors answer their summons (decliners are replaced) and vote.

    ``stages`` are the juries serving side by side: the first jury and, for a case picked
    for a consistency retrial, the second one, which keeps the same deadlines.
    """
    for _ in range(4):  # a few replacement rounds at most
        with uow.begin():
            summoned = [
                j for st in stages for j in _jurors(uow, case_id, st) if j.status == "summoned"
            ]
        if not summoned:
            break
        clock.advance(timedelta(hours=2))
        for juror in summoned:
            with uow.begin():
                cases_jury.reply(
                    uow,
                    account_id=juror.account_id,
                    case_id=case_id,
                    accept=rng.random() < ACCEPT_RATE,
                )
        for stage in stages:
            with uow.begin():
                jury = get_jury(uow, case_id, stage)
                if jury is not None:  # a stage may have lapsed for want of volunteers
                    cases_replacements.replace_jurors(uow, jury.id)
    if not vote:
        return
    with uow.begin():
        accepted = [j for st in stages for j in _jurors(uow, case_id, st) if j.status == "accepted"]
        rule = law_read.rule_version(uow, *_case_rule(uow, case_id))
    cap = rule.sanction_cap
    for juror in accepted:
        # Two juries at once vote as fast in all as one: each keeps within the deadline.
        clock.advance(timedelta(minutes=rng.randint(20, 600) // len(stages)))
        violation = rng.random() < propensity
        step = None
        days = None
        if violation:
            options = [
                s for s in SanctionStep if SanctionStep.NOTE <= s <= min(cap, SanctionStep.SUSPEND)
            ]
            step = rng.choice(options[-2:] if len(options) > 1 else options)
            days = min(7, rule.max_suspension_days or 1) if step is SanctionStep.SUSPEND else None
        with uow.begin():
            cases_ballots.cast_ballot(
                uow,
                account_id=juror.account_id,
                case_id=case_id,
                violation=violation,
                sanction=step.value if step else None,
                suspension_days=days,
                reason=reasons[0] if violation else reasons[1],
            )


def _case_rule(uow: UnitOfWork, case_id: int) -> tuple[str, int]:
    case = get_case(uow, case_id)
    return case.rule_id, case.rule_version


def _close(uow: UnitOfWork, clock: ManualClock, case_id: int, stage: str) -> None:
    """Pass the ballot deadline so the jury closes with what arrived."""
    with uow.begin():
        jury = get_jury(uow, case_id, stage)
        # No jury: too few volunteers were free (a small demo population, juries serving in
        # pairs), so the stage lapsed without one, as the case's timeline says.
        if jury is None or jury.closed:
            return
        clock.set(max(clock.now(), jury.ballot_deadline) + timedelta(minutes=1))
        cases_ballots.ballot_deadline_passed(uow, jury.id)


def seed_cases(
    database: Database,
    signer: LogSigner,
    secret: bytes,
    platform_id: int,
    now: datetime,
    seed: int = 0,
    on_step: Callable[[], None] = lambda: None,
) -> int:
    """Run the demo's reports through the whole path; returns how many cases were opened."""
    rng = demo_rng(seed, "cases")
    compliance_rng = demo_rng(seed, "compliance")
    clock = ManualClock(now - timedelta(days=HISTORY_DAYS))
    uow = UnitOfWork(database, clock, signer, secret, entropy=demo_keys.entropy(seed, "cases"))
    with uow.begin(readonly=True):
        authors = list(
            uow.session.scalars(
                select(Account.id)
                .where(Account.password_hash.is_(None), Account.role == "citizen")
                .order_by(Account.id)
                .limit(40)
            )
        )
    opened = 0
    for number, post in enumerate(POSTS, start=1):
        on_step()
        if post.pending:
            if clock.now() > now:
                raise RuntimeError("the demo's case history ran past the present; shorten it")
            # The pending posts come last, reported two hours apart before the present.
            waiting = sum(1 for later in POSTS[number - 1 :] if later.pending)
            clock = ManualClock(now - timedelta(hours=2 * waiting))
            uow.clock = clock
        else:
            clock.advance(timedelta(days=rng.randint(1, 3)))
        with uow.begin():
            rule_id = _rule_for(uow, post, clock.now())
            if rule_id is None:
                continue
            author = f"@user{number:03d}"
            case, _ = cases_intake.file_report(
                uow,
                platform_id=platform_id,
                request=ReportRequest(
                    snapshot=ContentSnapshot(
                        platform_content_id=f"demo-post-{number}",
                        url=f"https://forum.example/posts/{number}",
                        text=post.text,
                        language=post.language,
                        author=author,
                        posted_at=clock.now() - timedelta(hours=rng.randint(1, 30)),
                        jurisdictions=(post.jurisdiction,),
                    ),
                    rule_id=rule_id,
                    rule_version=None,
                    reason=post.report,
                    source=rng.choice(
                        [ReportSource.USER, ReportSource.USER, ReportSource.TRUSTED_FLAGGER]
                    ),
                    reporter=f"@reporter{number:03d}",
                    interim_restriction=post.interim,
                ),
            )
            case_id, opened_index = case.id, case.opened_log_index
        opened += 1
        del opened_index  # the draw job waits for the checkpoint of the opening entry
        jobs.run_due(database, clock, signer, secret=secret, kinds=DEMO_JOBS, entropy=uow.token_hex)
        if post.pending:
            continue
        if post.interim:  # the jury is slow: the interim measure lapses before the verdict
            with uow.begin():
                c = get_case(uow, case_id)
                assert c.interim_until is not None  # noqa: S101
                clock.set(c.interim_until + timedelta(minutes=1))
                cases_verdict.lapse_interim(uow, c)
        with uow.begin(readonly=True):
            # Picked for a consistency retrial: a second jury serves alongside the first.
            retried = get_jury(uow, case_id, RETRIAL) is not None
        stages = ("first", RETRIAL) if retried else ("first",)
        _serve(uow, clock, rng, case_id, stages, post.propensity, post.reasons, vote=not post.lapse)
        for stage in stages:
            _close(uow, clock, case_id, stage)
        platform_applies(uow, clock, compliance_rng, platform_id, case_id)
        if post.appeal:
            account = authors[number % len(authors)]
            with uow.begin():
                code = cases_appeal.issue_link_code(uow, platform_id=platform_id, pseudonym=author)
            with uow.begin():
                cases_appeal.redeem_link_code(uow, account_id=account, code=code)
            clock.advance(timedelta(days=2))
            with uow.begin():
                if cases_appeal.may_appeal(uow, account, get_case(uow, case_id)) is None:
                    continue  # the jury took no action: the author has nothing to appeal
                cases_appeal.file_appeal(
                    uow,
                    account_id=account,
                    case_id=case_id,
                    statement="The jury misread my post; please look again.",
                )
            jobs.run_due(
                database, clock, signer, secret=secret, kinds=DEMO_JOBS, entropy=uow.token_hex
            )
            propensity = post.propensity if post.appeal == "upheld" else 1 - post.propensity
            _serve(uow, clock, rng, case_id, ("appeal",), propensity, post.reasons, vote=True)
            _close(uow, clock, case_id, "appeal")
            platform_applies(uow, clock, compliance_rng, platform_id, case_id)
    webhook_gone(uow, platform_id)
    return opened
