"""People who may not sit on a case stay in its published pool and are excluded inside it.

The lottery is prepared for every volunteer of the jurisdiction, so consecutive cases reuse
it; the author's and reporters' linked accounts, accounts the platform names as conflicted
and citizens over their service load are excluded from the draw itself, published, and
committed to by the log, so anyone re-running the draw gets the same jury.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from isegoria.algorithms import sortition
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.cases import jury_verify
from isegoria.cases import lottery as cases_lottery
from isegoria.cases import views as cases_views
from isegoria.cases.common import juror_pseudonym, jury_pseudonym_key
from isegoria.clock import ManualClock
from isegoria.log import read as log_read
from isegoria.log.entries import decode_entry
from isegoria.log.signing import LogSigner
from isegoria.store.models_cases import Juror, Jury, PlatformIdentity
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, report_request, run_jobs

HOUR = timedelta(hours=1)
# Eight volunteers per strata profile (the world cycles 12 profiles), so excluding one person
# from each of four profiles never leaves a profile smaller than a jury of five could seat.
VOLUNTEERS = 96
POOL = VOLUNTEERS + 1  # and the base world's citizen, who volunteers too
LINKED = {"@troll": 0, "@victim": 1, "@cousin": 2, "@boss": 3}  # pseudonym -> volunteer


@pytest.fixture
def world(uow: UnitOfWork, clock: ManualClock, signer: LogSigner) -> CasesWorld:
    built = build(uow, clock, signer, volunteers=VOLUNTEERS)
    with uow.begin():
        for pseudonym, volunteer in LINKED.items():
            uow.session.add(
                PlatformIdentity(
                    platform_id=built.base.platform_id,
                    pseudonym=pseudonym,
                    account_id=built.volunteers[volunteer],
                    linked_at=uow.now(),
                )
            )
    return built


def _file(uow: UnitOfWork, world: CasesWorld, post: str) -> int:
    request = replace(
        report_request(uow.now() - HOUR, content_id=post),
        excluded_accounts=("@cousin", "@boss"),
    )
    with uow.begin():
        case, _ = cases_intake.file_report(uow, platform_id=world.base.platform_id, request=request)
        return case.id


def _drawn(uow: UnitOfWork, case_id: int) -> dict[str, Any]:
    with uow.begin(readonly=True):
        entries = log_read.entries_about(uow.session, "case", str(case_id))
        return next(decode_entry(e.payload).facts for e in entries if e.kind == "JuryDrawn")


def _evidence(uow: UnitOfWork, case_id: int) -> jury_verify.DrawEvidence:
    with uow.begin(readonly=True):
        record = cases_views.draw_record(uow, case_id, "first")
        assert record is not None
        head = log_read.checkpoint_at(uow.session, record["seed_checkpoint_size"])
        assert head is not None
        note = head.note
    return jury_verify.DrawEvidence(case_id, "first", record, _drawn(uow, case_id), note)


def test_conflicted_volunteers_are_published_as_excluded_and_never_drawn(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _file(uow, world, "post-excl-1")
    run_jobs(uow, clock, signer)
    conflicted = {world.volunteers[v] for v in LINKED.values()}
    with uow.begin(readonly=True):  # the open jury's own pseudonym key names its pool
        key = jury_pseudonym_key(
            uow, uow.session.scalars(select(Jury).where(Jury.case_id == case_id)).one()
        )
    names = {juror_pseudonym(key, case_id, "first", a) for a in conflicted}
    evidence = _evidence(uow, case_id)
    pool = evidence.record["pool"]
    assert sorted(names) == pool["excluded"]
    assert sum(len(p["members"]) for p in pool["profiles"]) == POOL  # all stay in
    assert evidence.drawn["excluded"] == 4
    assert evidence.drawn["exclusions_digest"] == sortition.list_digest(names).hex()
    with uow.begin(readonly=True):
        jury = uow.session.scalars(select(Jury).where(Jury.case_id == case_id)).one()
        seated = set(uow.session.scalars(select(Juror.account_id).where(Juror.jury_id == jury.id)))
    assert len(seated) == 5
    assert not seated & conflicted
    result = jury_verify.verify_draw(evidence, signer.verifier_key)
    assert sorted(result.jurors) == evidence.record["jurors"]


def test_a_draw_with_its_exclusions_edited_does_not_verify(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _file(uow, world, "post-excl-2")
    run_jobs(uow, clock, signer)
    evidence = _evidence(uow, case_id)
    pool = dict(evidence.record["pool"])
    pool["excluded"] = pool["excluded"][1:]  # an operator "forgets" one exclusion
    edited = replace(evidence, record={**evidence.record, "pool": pool})
    with pytest.raises(jury_verify.JuryVerificationError, match="exclusions differ"):
        jury_verify.verify_draw(edited, signer.verifier_key)


def test_consecutive_cases_reuse_the_jurisdictions_lottery(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    first = _file(uow, world, "post-excl-3")
    run_jobs(uow, clock, signer)
    second = _file(uow, world, "post-excl-4")
    run_jobs(uow, clock, signer)
    # The second case's pool holds the first jury too (five summoned volunteers); the
    # lottery is the same one, which is what lets a process reuse it from its cache.
    assert _drawn(uow, first)["portfolio_digest"] == _drawn(uow, second)["portfolio_digest"]
    assert _drawn(uow, second)["pool_size"] == POOL


def test_replacements_skip_the_excluded(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _file(uow, world, "post-excl-5")
    run_jobs(uow, clock, signer)
    with uow.begin(readonly=True):
        jury = uow.session.scalars(select(Jury).where(Jury.case_id == case_id)).one()
        excluded = set(json.loads(jury.pool)["excluded"])
        jurors = list(uow.session.scalars(select(Juror).where(Juror.jury_id == jury.id)))
    for juror in jurors:
        with uow.begin():
            cases_jury.reply(uow, account_id=juror.account_id, case_id=case_id, accept=False)
    run_jobs(uow, clock, signer)
    with uow.begin(readonly=True):
        added = list(
            uow.session.scalars(
                select(Juror).where(Juror.jury_id == jury.id, Juror.replaces.is_not(None))
            )
        )
    assert len(added) == 5
    assert not {j.pseudonym for j in added} & excluded


def test_exclusions_that_empty_a_profile_fall_back_to_the_smaller_pool() -> None:
    pool = sortition.JuryPool(["region"], {("north",): ["n1", "n2"], ("south",): ["s1", "s2"]})
    shares = {"region": {"north": 0.5, "south": 0.5}}
    lottery = cases_lottery._draw_with_fallback(
        pool, ["n1", "n2"], ["region"], shares, 2, b"\x01" * 32
    )
    # No jury of one northerner and one southerner is left: the quotas are dropped and the
    # lottery is prepared for the pool without the excluded, which is what gets published.
    assert lottery.pool.digest() == pool.without(["n1", "n2"]).digest()
    assert lottery.excluded == []
    assert lottery.strata_used == []
    assert sorted(lottery.drawn.members) == ["s1", "s2"]


def test_the_smaller_pools_lottery_depends_on_its_inputs_not_on_the_cache() -> None:
    """It starts from the whole pool's lottery; a cold one of the same pool is another key."""
    regions, ages, leanings = ("n", "s", "e", "w"), ("y", "m", "o"), ("l", "c", "r")
    sizes = iter([1, 1, 2, 3] * 9)
    members: dict[tuple[str, ...], list[str]] = {}
    for profile in ((r, a, v) for r in regions for a in ages for v in leanings):
        members[profile] = [f"{''.join(profile)}{i}" for i in range(next(sizes))]
    strata = ["region", "age", "leaning"]
    shares = {
        "region": {r: 0.25 for r in regions},
        "age": {a: 1 / 3 for a in ages},
        "leaning": {v: 1 / 3 for v in leanings},
    }
    pool = sortition.JuryPool(strata, members)
    excluded = ["nyl0", "nyc0", "nyr0", "nyr1", "nmc0", "nol0"]  # empties four profiles
    seed = b"\x02" * 32
    cases_lottery._PORTFOLIOS.clear()
    first = cases_lottery._draw_with_fallback(pool, excluded, strata, shares, 8, seed)
    assert first.pool.digest() == pool.without(excluded).digest()
    quotas: dict[str, Any] = {s: {v: sortition.SeatRange(0, 8) for v in shares[s]} for s in strata}
    quotas.update(sortition.quotas_from_shares(shares, 8))
    cases_lottery._PORTFOLIOS.clear()
    cold = cases_lottery.prepare_cached(pool.without(excluded), 8, quotas)
    assert cold != first.portfolio  # another optimal lottery: a key without the start...
    again = cases_lottery._draw_with_fallback(pool, excluded, strata, shares, 8, seed)
    # ...would have served it here
    assert again.portfolio == first.portfolio
    assert again.drawn.members == first.drawn.members


def test_strata_profiles_name_undeclared_values() -> None:
    rows = [(1, "north", None, "left", True), (2, "south", "30-44", "", True)]
    assert cases_lottery._profiles(rows, [1, 2, 3]) == [
        ("north", "undeclared", "left"),
        ("south", "30-44", "undeclared"),
    ]
    assert cases_lottery._profiles(rows, [2]) == [("undeclared",), ("30-44",)]
    assert cases_lottery._profiles(rows, []) == [(), ()]
