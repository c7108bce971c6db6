"""No write waits on a jury draw: the lottery is prepared before the draw's write transaction.

The job runner prepares a draw's lottery in a read-only transaction (``jobs.preparer``);
the transaction that records the draw re-reads the pool, finds the lottery under the digest
of exactly those inputs and records, in milliseconds. If the pool changed in between, the
digest differs, the transaction rolls back and the lottery is prepared again.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from isegoria.algorithms import sortition
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury_verify
from isegoria.cases import lottery as cases_lottery
from isegoria.cases import views as cases_views
from isegoria.cases.intake import JOB_DRAW_JURY
from isegoria.clock import ManualClock
from isegoria.domain.identity import Role
from isegoria.jobs import queue as jobs
from isegoria.log import read as log_read
from isegoria.log.entries import decode_entry
from isegoria.log.signing import LogSigner
from isegoria.people import accounts as people
from isegoria.store.models_cases import Jury
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import AGES, LEANINGS, CasesWorld, build, report_request, run_jobs

# It measures how long writes wait: it runs alone, after the parallel part of the suite.
pytestmark = pytest.mark.serial

HOUR = timedelta(hours=1)
# 32 regions x 4 age bands x 3 leanings: a pool of 384 profiles whose lottery takes seconds
# to prepare on this machine (the old draw held the write lock that long).
REGIONS = [f"region-{n:02d}" for n in range(32)]
LARGE_POOL = 3000
OTHER_WRITES = 50
MAX_WAIT_SECONDS = 1.0


def _add_volunteers(uow: UnitOfWork, count: int, prefix: str) -> None:
    with uow.begin():
        for n in range(count):
            people.add_account(
                uow,
                login=f"{prefix}{n:05d}",
                display_name=f"Volunteer {prefix}{n}",
                role=Role.CITIZEN,
                password=None,
                residences=["MX"],
                strata=people.Strata(
                    region=REGIONS[n % len(REGIONS)],
                    age_band=AGES[(n // len(REGIONS)) % len(AGES)],
                    leaning=LEANINGS[(n // (len(REGIONS) * len(AGES))) % len(LEANINGS)],
                ),
                jury_opt_in=True,
            )


@pytest.fixture
def world(uow: UnitOfWork, clock: ManualClock, signer: LogSigner) -> CasesWorld:
    built = build(uow, clock, signer)
    _add_volunteers(uow, LARGE_POOL, "lp")
    return built


@pytest.fixture(autouse=True)
def cold_cache() -> Iterator[None]:
    cases_lottery._PORTFOLIOS.clear()
    yield
    cases_lottery._PORTFOLIOS.clear()


class _Watch:
    """Where the lottery was prepared, and how long each draw transaction lasted."""

    def __init__(self) -> None:
        self.in_write = threading.local()
        self.prepared_in_write = 0
        self.prepared_outside = 0
        self.holds: list[float] = []


@pytest.fixture
def watch(monkeypatch: pytest.MonkeyPatch) -> _Watch:
    seen = _Watch()
    prepare = sortition.prepare_portfolio
    run_claimed = jobs._run_claimed

    def counted_prepare(*args: Any, **kwargs: Any) -> sortition.Portfolio:
        if getattr(seen.in_write, "on", False):
            seen.prepared_in_write += 1
        else:
            seen.prepared_outside += 1
        return prepare(*args, **kwargs)

    def timed_run(*args: Any, **kwargs: Any) -> bool | None:
        seen.in_write.on = True
        started = time.perf_counter()
        try:
            return run_claimed(*args, **kwargs)
        finally:
            seen.holds.append(time.perf_counter() - started)
            seen.in_write.on = False

    monkeypatch.setattr(sortition, "prepare_portfolio", counted_prepare)
    monkeypatch.setattr(jobs, "_run_claimed", timed_run)
    return seen


def _file(uow: UnitOfWork, world: CasesWorld, post: str) -> int:
    request = replace(report_request(uow.now() - HOUR, content_id=post))
    with uow.begin():
        case, _ = cases_intake.file_report(uow, platform_id=world.base.platform_id, request=request)
        return case.id


def _verify(uow: UnitOfWork, case_id: int, signer: LogSigner) -> jury_verify.VerifiedDraw:
    with uow.begin(readonly=True):
        record = cases_views.draw_record(uow, case_id, "first")
        assert record is not None
        entries = log_read.entries_about(uow.session, "case", str(case_id))
        drawn = next(decode_entry(e.payload).facts for e in entries if e.kind == "JuryDrawn")
        head = log_read.checkpoint_at(uow.session, record["seed_checkpoint_size"])
        assert head is not None
    evidence = jury_verify.DrawEvidence(case_id, "first", record, drawn, head.note)
    result = jury_verify.verify_draw(evidence, signer.verifier_key)
    assert sorted(result.jurors) == record["jurors"]
    return result


def test_no_write_waits_on_a_large_draw(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld, watch: _Watch
) -> None:
    case_id = _file(uow, world, "post-large-draw")
    waits: list[float] = []
    errors: list[BaseException] = []

    def draw() -> None:
        try:
            run_jobs(uow, clock, signer)
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            errors.append(error)

    drawer = threading.Thread(target=draw)
    drawer.start()
    writer = UnitOfWork(uow.database, clock, signer, uow.secret)
    for n in range(OTHER_WRITES):
        started = time.perf_counter()
        with writer.begin():  # any write: it needs the same write lock as the draw
            jobs.schedule(writer, "tests.later", clock.now() + timedelta(days=365), {"n": n})
        waits.append(time.perf_counter() - started)
        time.sleep(0.02)
    drawer.join()
    assert not errors, errors
    with uow.begin(readonly=True):
        assert uow.session.scalars(select(Jury).where(Jury.case_id == case_id)).one()
    longest = max(watch.holds)
    print(
        f"\nlargest write wait {max(waits) * 1000:.1f} ms over {OTHER_WRITES} writes; "
        f"longest draw transaction {longest * 1000:.1f} ms; "
        f"{watch.prepared_outside} preparation(s) outside, {watch.prepared_in_write} inside"
    )
    assert watch.prepared_outside >= 1
    assert watch.prepared_in_write == 0
    assert max(waits) < MAX_WAIT_SECONDS
    assert longest < MAX_WAIT_SECONDS
    _verify(uow, case_id, signer)


def test_a_pool_changed_after_preparation_is_prepared_again(
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    world: CasesWorld,
    watch: _Watch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case_id = _file(uow, world, "post-changed-pool")
    prepare_draw = jobs._PREPARERS[JOB_DRAW_JURY]
    rounds: list[int] = []

    def prepare_then_someone_opts_in(job_uow: UnitOfWork, payload: dict[str, Any]) -> None:
        prepare_draw(job_uow, payload)
        rounds.append(len(rounds))
        if len(rounds) == 1:  # between the preparation and the draw's transaction
            _add_volunteers(UnitOfWork(uow.database, clock, signer, uow.secret), 1, "late")

    monkeypatch.setitem(jobs._PREPARERS, JOB_DRAW_JURY, prepare_then_someone_opts_in)
    run_jobs(uow, clock, signer)
    assert rounds == [0, 1]  # the stale preparation was not used; the new pool's was
    assert watch.prepared_in_write == 0
    with uow.begin(readonly=True):
        jury = uow.session.scalars(select(Jury).where(Jury.case_id == case_id)).one()
    pool_size = sum(len(p["members"]) for p in json.loads(jury.pool)["profiles"])
    assert pool_size == len(world.volunteers) + LARGE_POOL + 2  # + the base citizen, + late
    _verify(uow, case_id, signer)


def test_a_job_prepared_in_vain_gets_slow_work_in_its_last_round(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    kind = "tests.always_stale"
    prepared: list[int] = []
    tries: list[bool] = []

    def prepare(_uow: UnitOfWork, payload: dict[str, Any]) -> None:
        prepared.append(int(payload["n"]))
        raise RuntimeError("a failing preparation is logged, never fatal")

    def run(_uow: UnitOfWork, _payload: dict[str, Any]) -> None:
        tries.append(jobs.slow_work_allowed())
        if not jobs.slow_work_allowed():
            raise jobs.PrepareAgain("the inputs moved")

    monkeypatch.setitem(jobs._PREPARERS, kind, prepare)
    monkeypatch.setitem(jobs._HANDLERS, kind, run)
    with uow.begin():
        jobs.schedule(uow, kind, clock.now(), {"n": 7})
    report = jobs.run_due(uow.database, clock, signer, kinds=[kind])
    assert report == jobs.RunReport(done=1, failed=0)
    assert prepared == [7] * jobs.MAX_PREPARE_ROUNDS
    assert tries == [False] * jobs.MAX_PREPARE_ROUNDS + [True]
    assert jobs.slow_work_allowed()  # outside the runner, as before
