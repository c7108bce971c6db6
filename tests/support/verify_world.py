"""The starting world of the verification state machine, built once and copied per example.

A rule enacted by vote, 30 volunteers, every case tried twice (consistency retrials), the
author's platform pseudonym linked to a citizen (so appeals can be filed), and two decided
cases: in one the retrial jury's milder verdict stands, in the other the first jury's.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from isegoria.cases import appeal as cases_appeal
from isegoria.cases import ballots as cases_ballots
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.clock import ManualClock
from isegoria.domain.constitution import ProposalKind
from isegoria.errors import IsegoriaError
from isegoria.log.signing import LogSigner
from isegoria.store.db import Database
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import build, pass_proposal, report_request, run_jobs
from tests.support.world import account_id

SECRET = b"test-instance-secret-32-bytes!!!"
AUTHOR = "@troll"
_names = itertools.count()


@dataclass(frozen=True)
class Template:
    """A migrated database holding a built world, copied afresh for every example."""

    copy: Callable[[], str]  # a new database URL holding the world
    drop: Callable[[str], None]
    now: datetime
    platform_id: int
    volunteers: tuple[int, ...]
    voters: tuple[int, ...]
    appellant: int  # the account linked to the author's platform pseudonym
    signer: LogSigner  # the key the world was signed with


def _build(url: str, clock: ManualClock, signer: LogSigner) -> dict[str, Any]:
    database = Database(url)
    uow = UnitOfWork(database, clock, signer, SECRET)
    world = build(uow, clock, signer, volunteers=30)
    pass_proposal(
        uow,
        clock,
        signer,
        voters=world.voters,
        kind=ProposalKind.CONSTITUTION,
        title="Try every case twice",
        changes={"consistency_retrial_share": "1"},
    )
    # Two cases tried twice to start: in the first the retrial's milder verdict stands (the
    # VerdictReached entry lists the retrial jury's ballots), in the second the first's does.
    for first_finds in (True, False):
        with uow.begin():
            case, _ = cases_intake.file_report(
                uow,
                platform_id=world.base.platform_id,
                request=report_request(clock.now() - timedelta(hours=1), author=AUTHOR),
            )
        run_jobs(uow, clock, signer)
        with database.engine.connect() as connection:
            seats = list(
                connection.execute(
                    text(
                        "SELECT j.account_id, y.stage FROM jurors j JOIN juries y"
                        " ON y.id = j.jury_id WHERE y.case_id = :c ORDER BY j.id"
                    ),
                    {"c": case.id},
                )
            )
        assert {stage for _, stage in seats} == {"first", "retrial"}
        for account, _stage in seats:
            with uow.begin():
                cases_jury.reply(uow, account_id=account, case_id=case.id, accept=True)
        for account, stage in seats:
            vote(uow, account, case.id, first_finds == (stage == "first"))
        clock.advance(timedelta(hours=1))
        run_jobs(uow, clock, signer)
    appellant = account_id(uow, "ana")
    with uow.begin():
        code = cases_appeal.issue_link_code(
            uow, platform_id=world.base.platform_id, pseudonym=AUTHOR
        )
        cases_appeal.redeem_link_code(uow, account_id=appellant, code=code)
    database.dispose()
    return {
        "now": clock.now(),
        "platform_id": world.base.platform_id,
        "volunteers": tuple(world.volunteers),
        "voters": tuple(world.voters),
        "appellant": appellant,
    }


def make_template(
    backend: str,
    database_url: str,
    clock: ManualClock,
    signer: LogSigner,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Template:
    """Build the world once in ``database_url``; each example starts from a copy of it."""
    built = _build(database_url, clock, signer)
    if backend == "sqlite":
        source = Path(make_url(database_url).database or "")

        def copy() -> str:
            path = tmp_path / f"example-{next(_names)}.db"
            shutil.copy(source, path)
            return f"sqlite:///{path}"

        def drop(url: str) -> None:
            Path(make_url(url).database or "").unlink()

    else:
        base: str = request.getfixturevalue("pg_base_url")
        world_name = make_url(database_url).database
        admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        request.addfinalizer(admin.dispose)

        def copy() -> str:
            name = f"example_{next(_names)}_{world_name}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{world_name}"'))
            return f"{base}/{name}"

        def drop(url: str) -> None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{make_url(url).database}"'))

    return Template(copy=copy, drop=drop, signer=signer, **built)


def vote(uow: UnitOfWork, account: int, case_id: int, violation: bool) -> None:
    """One juror's ballot, in its own transaction; a documented refusal is fine."""
    try:
        with uow.begin():
            cases_ballots.cast_ballot(
                uow,
                account_id=account,
                case_id=case_id,
                violation=violation,
                sanction="remove" if violation else None,
                suspension_days=None,
                reason=f"Ballot of account {account} on case {case_id}.",
            )
    except IsegoriaError:
        pass
